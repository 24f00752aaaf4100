// meanwhile-exectrace reads one Go execution trace (runtime/trace, the flight
// recorder, /debug/pprof/trace; Go 1.11 and later) on stdin and writes one
// meanwhile.exectrace.v1.Records protobuf message on stdout
// (schema/meanwhile/exectrace/v1/records.proto). meanwhiled runs it as a child
// process for each trace pushed to POST /api/v1/ingest/exectrace.
//
// Exit status: 0 done; 2 the trace cannot be read (one line on stderr says why;
// stdout is then not a usable message: it lacks the summary); 1 other failures
// (writing stdout, bad flags).
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
)

func main() {
	// Bad flags exit 1, not the flag package's 2: 2 says the trace is unreadable.
	fs := flag.NewFlagSet("meanwhile-exectrace", flag.ContinueOnError)
	captureTime := fs.Int64("capture-time", 0,
		"unix ns at which the capture began; aligns traces without clock snapshots (Go < 1.25)")
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: meanwhile-exectrace [-capture-time NS] < trace.out > records.pb\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(1)
	}
	if fs.NArg() != 0 {
		fs.Usage()
		os.Exit(1)
	}
	err := convert(os.Stdin, os.Stdout, options{captureTime: *captureTime})
	var te *traceError
	switch {
	case err == nil:
	case errors.As(err, &te):
		fmt.Fprintf(os.Stderr, "%s\n", te.msg)
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "meanwhile-exectrace: writing the records: %v\n", err)
		os.Exit(1)
	}
}

// The output against records.proto itself: protoc decodes what the converter
// writes with the schema, and every field must be one the schema names (an
// unknown field shows as a bare number). Catches a field written under a
// number the schema lacks, or a schema edit that lost one.
package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

func TestOutputMatchesSchema(t *testing.T) {
	protoc, err := exec.LookPath("protoc")
	if err != nil {
		t.Skip("no protoc on PATH (Debian: protobuf-compiler) to decode with the schema")
	}
	unknown := regexp.MustCompile(`(?m)^\s*[0-9]+:`)
	var all []byte
	for _, name := range []string{"go1.26/spans", "go1.26/gc", "go1.27/preblocked", "go1.24/io"} {
		in, err := os.ReadFile(filepath.Join(dataDir(), name+".trace"))
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := convert(bytes.NewReader(in), &out, options{captureTime: 1}); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(protoc, "-I", filepath.Join("..", "schema"), "--decode", "meanwhile.exectrace.v1.Records",
			"meanwhile/exectrace/v1/records.proto")
		cmd.Stdin = &out
		text, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: protoc --decode: %v", name, err)
		}
		if m := unknown.Find(text); m != nil {
			t.Errorf("%s: a field records.proto does not name: %q", name, m)
		}
		all = append(all, text...)
	}
	// every field of the schema shows up in one of them
	for _, field := range []string{"frames", "func", "file", "line", "trace_id", "span_id", "name", "task_id",
		"goroutine", "state", "reason", "raw_reason", "start_ns", "end_ns", "stack", "span", "clipped_start", "clipped_end",
		"waker", "time_ns", "waker_stack", "waker_span", "kind", "gomaxprocs",
		"alignment", "clock_error_ns", "events", "generations", "goroutines"} {
		if !regexp.MustCompile(`(?m)^\s*` + field + `[:{ ]`).Match(all) {
			t.Errorf("no field %s in the decoded outputs", field)
		}
	}
}

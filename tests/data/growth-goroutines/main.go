// A Go 1.26 program that leaks goroutines at a known stack, and captures
// what meanwhile needs to see it: for each of -rounds "requests" (one
// pprof.Do with the labels span_name, span_id and trace_id that a traced
// span carries), -k goroutines start in leakyWorker and block for good on a
// channel nobody closes; after each request it writes a goroutine profile
// (debug=0) and a goroutine dump (debug=2); at the end the goroutine leak
// profile (GOEXPERIMENT=goroutineleakprofile on Go 1.26, standard on 1.27).
// A steady pool of workers blocked on a channel that stays reachable is
// there too: it must not be a suspect. expected.json says what was done:
// the capture times, the leaked goroutines at each, the function, the
// operation and the spans. Standard library only.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"time"
)

// reachable keeps the steady pool's channel alive: its workers are not leaked.
var reachable = make(chan int)

//go:noinline
func leakyWorker(ch chan int) {
	<-ch // nobody sends or closes: blocked for good
}

//go:noinline
func poolWorker() {
	for range reachable {
	}
}

// handle is the "request": it leaks k goroutines, which inherit its labels.
func handle(k int) {
	ch := make(chan int)
	for i := 0; i < k; i++ {
		go leakyWorker(ch)
	}
}

type capture struct {
	File   string `json:"file"`
	Kind   string `json:"kind"`
	TimeNs int64  `json:"time_ns"`
	Leaked int    `json:"leaked"`
}

type span struct {
	TraceID string `json:"trace_id"`
	SpanID  string `json:"span_id"`
}

type expected struct {
	GoVersion string    `json:"go_version"`
	Function  string    `json:"function"`
	Steady    string    `json:"steady_function"`
	Operation string    `json:"operation"`
	PerRound  int       `json:"per_request"`
	Captures  []capture `json:"captures"`
	Spans     []span    `json:"spans"`
	LeakFile  string    `json:"leak_profile"`
}

func write(dir, name string, debug int, profile string) error {
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		return err
	}
	defer f.Close()
	p := pprof.Lookup(profile)
	if p == nil {
		return fmt.Errorf("no %s profile (GOEXPERIMENT=goroutineleakprofile on Go 1.26)", profile)
	}
	return p.WriteTo(f, debug)
}

// blockedAt matches a leaked goroutine parked on its channel in a traceback
// (one just started may still be runnable, at the function's first line).
var blockedAt = regexp.MustCompile(`\[chan receive\][^\n]*:\nmain\.leakyWorker\([^)]*\)\n\t[^\n]*main\.go:\d+ `)

// wait returns once n leaked goroutines are parked on their channels, so
// that every capture finds them all at the same stack.
func wait(n int) error {
	buf := make([]byte, 1<<20)
	for i := 0; i < 5000; i++ {
		m := runtime.Stack(buf, true)
		if len(blockedAt.FindAll(buf[:m], -1)) == n {
			return nil
		}
		time.Sleep(time.Millisecond)
	}
	return fmt.Errorf("%d leaked goroutines never all blocked", n)
}

func main() {
	dir := flag.String("out", ".", "where to write the captures and expected.json")
	rounds := flag.Int("rounds", 6, "requests")
	k := flag.Int("k", 3, "goroutines leaked per request")
	every := flag.Duration("every", 200*time.Millisecond, "time between requests")
	flag.Parse()
	for i := 0; i < 4; i++ {
		go poolWorker()
	}
	exp := expected{GoVersion: runtime.Version(), Function: "main.leakyWorker", Steady: "main.poolWorker",
		Operation: "GET /leak", PerRound: *k, LeakFile: "goroutineleak.pb.gz"}
	for r := 1; r <= *rounds; r++ {
		s := span{TraceID: fmt.Sprintf("%032x", 0xa11ce000+r), SpanID: fmt.Sprintf("%016x", 0xb0b000+r)}
		exp.Spans = append(exp.Spans, s)
		labels := pprof.Labels("span_name", exp.Operation, "span_id", s.SpanID, "trace_id", s.TraceID)
		pprof.Do(context.Background(), labels, func(context.Context) { handle(*k) })
		if err := wait(r * *k); err != nil {
			fmt.Fprintln(os.Stderr, "growth:", err)
			os.Exit(1)
		}
		for _, c := range []capture{{fmt.Sprintf("goroutine-%d.pb.gz", r), "pprof", 0, r * *k},
			{fmt.Sprintf("goroutine-%d.debug2.txt", r), "debug=2", 0, r * *k}} {
			c.TimeNs = time.Now().UnixNano()
			debug := 0
			if c.Kind == "debug=2" {
				debug = 2
			}
			if err := write(*dir, c.File, debug, "goroutine"); err != nil {
				fmt.Fprintln(os.Stderr, "growth:", err)
				os.Exit(1)
			}
			exp.Captures = append(exp.Captures, c)
		}
		time.Sleep(*every)
	}
	if err := write(*dir, exp.LeakFile, 0, "goroutineleak"); err != nil {
		fmt.Fprintln(os.Stderr, "growth:", err)
		os.Exit(1)
	}
	b, _ := json.MarshalIndent(exp, "", "  ")
	if err := os.WriteFile(filepath.Join(*dir, "expected.json"), append(b, '\n'), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "growth:", err)
		os.Exit(1)
	}
}

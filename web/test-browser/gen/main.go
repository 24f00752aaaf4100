// gen writes the viewer's goroutine-lanes fixture (web/test-browser/data/): a real
// Go execution trace of a small "service" whose request spans wait on each other,
// and the OTLP spans of those requests, with the times the program took itself.
//
//	cd web/test-browser/gen && go run . -out ../data
//
// The request "GET /checkout" (trace 1) starts 8 ms before the trace does, so the
// viewer has a part of the span that no trace covers. Inside it, goroutine
// "handler" (span checkout) locks a mutex that "refresher" holds while it runs span
// cache.refresh of another request (trace 2), then waits on a channel for
// "flusher", which runs the child span db.flush of trace 1 for 10 ms; a runtime.GC() in the
// handler gives stop-the-world windows, and four "cruncher" goroutines of span
// checkout burn CPU so that several Ps run at once. expected.json names the
// goroutines (runtime.Stack's ids), the spans and time.Now() windows; nothing in it
// comes from reading the trace.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"runtime/trace"
	"strconv"
	"sync"
	"time"
)

type span struct {
	TraceID, SpanID, Parent, Name, Service string
	Start, End                             int64
}

type facts struct {
	Go         string              `json:"go"`
	Goroutines map[string]uint64   `json:"goroutines"`
	Windows    map[string][2]int64 `json:"windows"`
	Spans      map[string]string   `json:"spans"`
	Notes      string              `json:"notes"`
	mu         sync.Mutex
}

func (f *facts) g(name string) { f.mu.Lock(); f.Goroutines[name] = goid(); f.mu.Unlock() }
func (f *facts) window(name string, a, b time.Time) {
	f.mu.Lock()
	f.Windows[name] = [2]int64{a.UnixNano(), b.UnixNano()}
	f.mu.Unlock()
}

func goid() uint64 {
	var buf [64]byte
	b := bytes.TrimPrefix(buf[:runtime.Stack(buf[:], false)], []byte("goroutine "))
	n, err := strconv.ParseUint(string(b[:bytes.IndexByte(b, ' ')]), 10, 64)
	if err != nil {
		panic(err)
	}
	return n
}

func ids(n int) (string, string) {
	return fmt.Sprintf("5ca1ab1e00000000000000000000%04x", n), fmt.Sprintf("00000000c0de%04x", n)
}

// spanTask ties the calling goroutine to a span as client/go does (docs/EXECTRACE.md).
func spanTask(name, tid, sid string) (context.Context, *trace.Task) {
	ctx, task := trace.NewTask(context.Background(), name)
	trace.Log(ctx, "meanwhile.span", tid+"/"+sid)
	return ctx, task
}

var sink uint64

func crunch(d time.Duration) {
	end := time.Now().Add(d)
	x := uint64(1)
	for time.Now().Before(end) {
		for i := 0; i < 2000; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	sink += x
}

func main() {
	out := flag.String("out", "../data", "directory for lanes.trace, spans.otlp.json, expected.json")
	flag.Parse()
	runtime.GOMAXPROCS(4)
	f := &facts{Go: runtime.Version(), Goroutines: map[string]uint64{}, Windows: map[string][2]int64{}, Spans: map[string]string{},
		Notes: "handler: span checkout; blocked on a mutex in window lock_wait, released by refresher (span refresh of trace 2); " +
			"then blocked on a channel in window chan_wait, woken by flusher (span flush, a child of checkout); a runtime.GC() in window gc; " +
			"crunchers burn CPU under span checkout in window crunch. The span checkout starts before the trace (window trace_start)."}
	t1, checkout := ids(1)
	t2, refresh := ids(2)
	_, flush := ids(3)
	f.Spans["checkout"] = t1 + "/" + checkout
	f.Spans["refresh"] = t2 + "/" + refresh
	f.Spans["flush"] = t1 + "/" + flush
	var spans []span
	var smu sync.Mutex
	add := func(s span) { smu.Lock(); spans = append(spans, s); smu.Unlock() }

	var buf bytes.Buffer
	reqStart := time.Now()
	time.Sleep(8 * time.Millisecond) // the request began before the trace
	ts0 := time.Now()
	if err := trace.Start(&buf); err != nil {
		log.Fatal(err)
	}
	f.window("trace_start", ts0, time.Now())

	var mu sync.Mutex
	locked := make(chan struct{})
	ch := make(chan int)
	waiting := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { // refresher: another request's span holds the lock for 20 ms
		defer wg.Done()
		f.g("refresher")
		s0 := time.Now()
		ctx, task := spanTask("cache.refresh", t2, refresh)
		_ = ctx
		mu.Lock()
		close(locked)
		h0 := time.Now()
		time.Sleep(20 * time.Millisecond)
		crunch(2 * time.Millisecond)
		mu.Unlock()
		f.window("held", h0, time.Now())
		task.End()
		add(span{t2, refresh, "", "cache.refresh", "shop", s0.UnixNano(), time.Now().UnixNano()})
	}()
	<-locked
	go func() { // handler: the request's own goroutine
		defer wg.Done()
		f.g("handler")
		_, task := spanTask("GET /checkout", t1, checkout)
		crunch(1 * time.Millisecond)
		l0 := time.Now()
		mu.Lock()
		f.window("lock_wait", l0, time.Now())
		mu.Unlock()
		var cw sync.WaitGroup
		cw.Add(4)
		c0 := time.Now()
		for i := 0; i < 4; i++ {
			go func(i int) {
				defer cw.Done()
				f.g(fmt.Sprintf("cruncher%d", i))
				_, t := spanTask("GET /checkout", t1, checkout)
				crunch(6 * time.Millisecond)
				t.End()
			}(i)
		}
		cw.Wait()
		f.window("crunch", c0, time.Now())
		g0 := time.Now()
		runtime.GC()
		f.window("gc", g0, time.Now())
		w0 := time.Now()
		close(waiting)
		<-ch
		f.window("chan_wait", w0, time.Now())
		crunch(1 * time.Millisecond)
		task.End()
		add(span{t1, checkout, "", "GET /checkout", "shop", reqStart.UnixNano(), time.Now().UnixNano()})
	}()
	go func() { // flusher: the child span db.flush, which ends the handler's wait
		defer wg.Done()
		f.g("flusher")
		<-waiting
		s0 := time.Now()
		_, task := spanTask("db.flush", t1, flush)
		time.Sleep(10 * time.Millisecond)
		crunch(1 * time.Millisecond)
		ch <- 1
		task.End()
		add(span{t1, flush, checkout, "db.flush", "shop", s0.UnixNano(), time.Now().UnixNano()})
	}()
	wg.Wait()
	time.Sleep(2 * time.Millisecond)
	trace.Stop()

	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	must := func(err error) {
		if err != nil {
			log.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(*out, "lanes.trace"), buf.Bytes(), 0o644))
	b, err := json.MarshalIndent(f, "", "  ")
	must(err)
	must(os.WriteFile(filepath.Join(*out, "expected.json"), append(b, '\n'), 0o644))
	// OTLP/JSON, one request per service
	by := map[string][]map[string]any{}
	for _, s := range spans {
		m := map[string]any{"traceId": s.TraceID, "spanId": s.SpanID, "name": s.Name, "kind": 2,
			"startTimeUnixNano": strconv.FormatInt(s.Start, 10), "endTimeUnixNano": strconv.FormatInt(s.End, 10), "status": map[string]any{}}
		if s.Parent != "" {
			m["parentSpanId"] = s.Parent
			m["kind"] = 3
		}
		by[s.Service] = append(by[s.Service], m)
	}
	var rs []map[string]any
	for _, svc := range []string{"shop"} {
		rs = append(rs, map[string]any{
			"resource":   map[string]any{"attributes": []map[string]any{{"key": "service.name", "value": map[string]any{"stringValue": svc}}}},
			"scopeSpans": []map[string]any{{"scope": map[string]any{"name": "gen"}, "spans": by[svc]}},
		})
	}
	b, err = json.MarshalIndent(map[string]any{"resourceSpans": rs}, "", " ")
	must(err)
	must(os.WriteFile(filepath.Join(*out, "spans.otlp.json"), append(b, '\n'), 0o644))
	fmt.Printf("%s: %d bytes of trace, %d spans\n", *out, buf.Len(), len(spans))
}

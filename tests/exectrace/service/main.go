// The exectrace service: a net/http server traced with the official
// OpenTelemetry Go SDK (otelhttp server spans, a child span per request,
// otlptracehttp to OTEL_EXPORTER_OTLP_ENDPOINT) through the repository's
// client/go, whose flight recorder (recorder.go) pushes an execution trace to
// meanwhiled when a span is slow. Each request does one thing whose runtime
// history is known, and answers what the service itself saw of it: its
// goroutine, the unix ns of the moments that matter, the spans involved. The
// test (../exectrace.test.mjs) compares that with what meanwhiled read from the
// pushed traces.
//
//	GET /work?kind=K&ms=M   root span "GET /work" (otelhttp) with one child span:
//	    chan     queue.wait     hands the producer goroutine a reply channel and
//	                            receives from it; the producer, in a span of its
//	                            own (queue.produce, the root of a trace of its
//	                            own linked to queue.wait, on the producer's
//	                            goroutine), sends M ms after the receiver asked
//	                            (M=0: at once; it sleeps until 2 ms before, then
//	                            spins until the moment)
//	    holder   ledger.write   takes ledgerMu and holds it M ms (sleeping); with
//	                            M > 0 the M ms begin once a waiter is at its Lock
//	    mutex    ledger.read    Lock of ledgerMu (M > 0: once a holder request
//	                            holds it, so that it waits for that request);
//	                            says which holder let it in
//	    sleep    backoff        time.Sleep(M ms)
//	    cpu      price.compute  M ms of computation (on a locked thread, whose
//	                            schedstat tells waiting for a P from waiting
//	                            for a CPU: computeMeasured)
//	    io       db.query       a read from the upstream (a TCP peer in this
//	                            process) that answers M ms after it was asked
//	    runnable report.build   starts 8×GOMAXPROCS goroutines (in no span) that
//	                            compute for M ms, and computes as long itself,
//	                            yielding between rounds: more busy goroutines
//	                            than Ps, so it mostly waits for one
//	  then (M > 0) 2 ms of computation in the root span after the child's end; it
//	  answers {"trace_id","span_id","child_span_id","child","kind","goroutine",
//	  "start_ns","end_ns" (the child span's, as the service read the clock),
//	  ...the kind's own facts: see the handler}.
//	/flush   ForceFlush of the SDK's batch processor: {"exported","failed"}
//
// Flags: -listen (127.0.0.1:0; the address is printed on stdout as
// "listening addr=HOST:PORT ..."), -meanwhile (meanwhiled's base URL, the
// recorder's endpoint). Spans go where OTEL_EXPORTER_OTLP_ENDPOINT says.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// goid is the calling goroutine's id, read from its own stack header
// ("goroutine 57 [running]:"): the id the execution trace names it by.
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		log.Fatalf("exectrace-service: goroutine id from %q: %v", buf[:], err)
	}
	return id
}

func unixNs() int64 { return time.Now().UnixNano() }

var tracer trace.Tracer

// ---------------------------------------------------------------- chan

// ask is what a queue.wait span hands the producer: its context (the producer's
// span is its child), when it asked, how long to wait, and where to reply.
type ask struct {
	ctx     context.Context
	askedAt time.Time
	delay   time.Duration
	reply   chan reply
}

// reply carries the item and what the producer saw: its goroutine, its span
// (trace and span id), and the unix ns just before its send.
type reply struct {
	goroutine uint64
	traceID   string
	spanID    string
	sentNs    int64
}

var queue = make(chan ask)

// produce is the producer goroutine: one queue.produce span per ask, started on
// this goroutine, that sleeps until delay after the ask and then sends. The span
// is the root of a trace of its own, linked to the asking span, as a queue's
// worker traces its items: were it queue.wait's child, queue.wait's time would
// be its child's, not a wait on a channel.
func produce() {
	g := goid()
	for a := range queue {
		_, sp := tracer.Start(context.Background(), "queue.produce", trace.WithNewRoot(),
			trace.WithLinks(trace.LinkFromContext(a.ctx)))
		waitUntil(a.askedAt.Add(a.delay))
		sc := sp.SpanContext()
		r := reply{goroutine: g, traceID: sc.TraceID().String(), spanID: sc.SpanID().String()}
		r.sentNs = unixNs()
		a.reply <- r
		sp.End()
	}
}

// waitUntil returns at t. It sleeps until 2 ms before, then spins on the clock:
// woken by its timer, a goroutine may wait for a P behind the load's requests
// (measured: 1.4-3 ms late at load 4 on 2 CPUs), while a spinning one holds its P.
func waitUntil(t time.Time) {
	if d := time.Until(t) - 2*time.Millisecond; d > 0 {
		time.Sleep(d)
	}
	for time.Now().Before(t) {
	}
}

// waitQueue asks the producer and blocks on the receive until it sends.
//
//go:noinline
func waitQueue(ctx context.Context, delay time.Duration) map[string]any {
	a := ask{ctx: ctx, askedAt: time.Now(), delay: delay, reply: make(chan reply)}
	queue <- a // the producer takes it at once: it waits on queue between items
	blockNs := unixNs()
	r := <-a.reply
	return map[string]any{"block_ns": blockNs, "sent_ns": r.sentNs, "producer_goroutine": r.goroutine,
		"producer_trace_id": r.traceID, "producer_span_id": r.spanID, "delay_ms": delay.Milliseconds()}
}

// ---------------------------------------------------------------- mutex

// ledgerMu is held by holder requests and waited for by mutex requests. Under
// it, lastHolder names the request that holds it (and, once released, the one
// that released it last): a waiter reads it as soon as it has the lock.
var (
	ledgerMu   sync.Mutex
	ledgerHeld atomic.Bool // set by a holder request while it holds ledgerMu
	// set by a contending waiter just before its Lock; a slow holder starts its hold then
	waiterComing atomic.Bool
	lastHolder   struct {
		goroutine uint64
		traceID   string
		spanID    string
		unlockNs  int64
	}
)

//go:noinline
func writeLedger(traceID, spanID string, hold time.Duration) map[string]any {
	ledgerMu.Lock()
	ledgerHeld.Store(true)
	lockedNs := unixNs()
	if hold > 0 { // a slow holder has a waiter: its hold begins when the waiter is at Lock
		for deadline := time.Now().Add(2 * time.Second); !waiterComing.Load() && time.Now().Before(deadline); {
			time.Sleep(100 * time.Microsecond)
		}
		waiterComing.Store(false)
	}
	time.Sleep(hold)
	lastHolder.goroutine, lastHolder.traceID, lastHolder.spanID = goid(), traceID, spanID
	lastHolder.unlockNs = unixNs()
	unlockNs := lastHolder.unlockNs
	ledgerHeld.Store(false)
	ledgerMu.Unlock()
	return map[string]any{"locked_ns": lockedNs, "unlock_ns": unlockNs, "hold_ms": hold.Milliseconds()}
}

// readLedger takes ledgerMu; with contend, once a holder request holds it (so
// that it waits for that request whatever the order the two arrived in).
//
//go:noinline
func readLedger(contend bool) map[string]any {
	for deadline := time.Now().Add(2 * time.Second); contend && !ledgerHeld.Load() && time.Now().Before(deadline); {
		time.Sleep(100 * time.Microsecond)
	}
	if contend {
		waiterComing.Store(true)
	}
	callNs := unixNs()
	ledgerMu.Lock()
	lockedNs := unixNs()
	h := lastHolder
	ledgerMu.Unlock()
	return map[string]any{"call_ns": callNs, "locked_ns": lockedNs, "waited_ms": float64(lockedNs-callNs) / 1e6,
		"holder_goroutine": h.goroutine, "holder_trace_id": h.traceID, "holder_span_id": h.spanID,
		"holder_unlock_ns": h.unlockNs}
}

// ---------------------------------------------------------------- cpu, runnable, sleep

var sink atomic.Uint64

// computeUntil computes in rounds of ~9 µs until the deadline (at least one
// round), reading the clock after each round; with yield it yields
// (runtime.Gosched) after every tenth round.
//
//go:noinline
func computeUntil(deadline time.Time, yield bool) (rounds, yields int) {
	x, y := 1.0, 0.5
	for {
		for i := 0; i < 5000; i++ {
			x = x*1.0000001 + y
			y = y*0.9999999 - float64(i&7)*1e-9
			if x > 1e9 {
				x = 1
			}
		}
		rounds++
		if yield && rounds%10 == 0 {
			runtime.Gosched()
			yields++
		}
		if !time.Now().Before(deadline) {
			break
		}
	}
	sink.Add(uint64(x+y) & 1)
	return rounds, yields
}

// threadSched is what the kernel counted of the calling thread: the ns it
// waited on the kernel's run queue, runnable while another thread had the CPU
// (the second field of /proc/thread-self/schedstat, counted when the thread
// gets a CPU: up to date while it runs), then the ns it ran on a CPU
// (CLOCK_THREAD_CPUTIME_ID, exact to the call).
func threadSched() (waited, oncpu int64, err error) {
	b, err := os.ReadFile("/proc/thread-self/schedstat")
	if err != nil {
		return 0, 0, err
	}
	var ran int64
	if _, err := fmt.Sscan(string(b), &ran, &waited); err != nil {
		return 0, 0, fmt.Errorf("/proc/thread-self/schedstat %q: %v", b, err)
	}
	var ts syscall.Timespec
	const clockThreadCPUTime = 3 // CLOCK_THREAD_CPUTIME_ID
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0, 0, fmt.Errorf("clock_gettime(CLOCK_THREAD_CPUTIME_ID): %v", e)
	}
	return waited, ts.Nano(), nil
}

// computeMeasured runs work (computeUntil) on a thread of its own
// (runtime.LockOSThread), whose clocks then tell the runtime's view of the
// goroutine from the kernel's: while the goroutine has a P its thread is on a
// CPU (oncpu_ns) or waits for one (kernel_wait_ns: the trace shows it running
// all the same); while it waits for a P its thread sleeps. So go_runnable_ns,
// the measured time (measured_ns, the work's: the clocks' own reads, syscalls
// that may sleep, lie outside it) less both, is the time it waited for a P:
// what the execution trace calls runnable. (Less the runtime's own work on
// that thread at each yield, a few µs, counted as its CPU time; and unless
// the collector stopped or scanned the goroutine: gc_events.)
func computeMeasured(work func() (rounds, yields int)) (map[string]any, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	p0 := gcEvents()
	w0, c0, err := threadSched()
	if err != nil {
		return nil, err
	}
	t0 := unixNs()
	rounds, yields := work()
	t1 := unixNs()
	w1, c1, err := threadSched()
	if err != nil {
		return nil, err
	}
	return map[string]any{"rounds": rounds, "yields": yields, "measured_ns": t1 - t0, "oncpu_ns": c1 - c0,
		"kernel_wait_ns": w1 - w0, "go_runnable_ns": (t1 - t0) - (c1 - c0) - (w1 - w0), "gc_events": gcEvents() - p0}, nil
}

// gcMetrics are the collector's stop-the-world pauses and its completed cycles.
var gcMetrics = []metrics.Sample{{Name: "/sched/pauses/total/gc:seconds"}, {Name: "/gc/cycles/total:gc-cycles"}}

// gcEvents counts the collector's pauses and cycles so far: a change across the
// work means the collector stopped or scanned the goroutine meanwhile (its
// thread slept then too, and the trace says stopped or blocked, not runnable).
func gcEvents() uint64 {
	s := make([]metrics.Sample, len(gcMetrics))
	copy(s, gcMetrics)
	metrics.Read(s)
	var n uint64
	if s[0].Value.Kind() == metrics.KindFloat64Histogram {
		for _, c := range s[0].Value.Float64Histogram().Counts {
			n += c
		}
	}
	if s[1].Value.Kind() == metrics.KindUint64 {
		n += s[1].Value.Uint64()
	}
	return n
}

//go:noinline
func compute(d time.Duration) (map[string]any, error) {
	deadline := time.Now().Add(d)
	return computeMeasured(func() (int, int) { return computeUntil(deadline, false) })
}

// buildReport computes for d while, for the same d, 8×GOMAXPROCS other
// goroutines (started here, in no span: a burst of background work) compute
// too: more busy goroutines than Ps. It yields (runtime.Gosched) every ~90 µs
// of its own computation, as code that yields or blocks briefly does, so
// that each time it is ready to run it waits behind the busy goroutines for a
// P (they run in the scheduler's 10 ms slices): its span is mostly runnable.
// Computing without yielding, its share of a P was measured anywhere from 0 to
// 90% of the span: the scheduler takes from the global run queue before it
// steals, so the order the goroutines reach it decides. It reports how many
// were busy on how many Ps and what computeMeasured measured.
//
//go:noinline
func buildReport(d time.Duration) (map[string]any, error) {
	procs := runtime.GOMAXPROCS(0)
	busy := 0
	if d > 0 {
		busy = 8 * procs
	}
	deadline := time.Now().Add(d)
	facts, err := computeMeasured(func() (int, int) {
		for i := 0; i < busy; i++ { // measured too: the span's time from its start
			go computeUntil(deadline, false)
		}
		return computeUntil(deadline, true)
	})
	if err != nil {
		return nil, err
	}
	facts["busy_goroutines"], facts["gomaxprocs"] = busy+1, procs
	return facts, nil
}

// ---------------------------------------------------------------- io

// upstreamAddr is a TCP peer in this process that reads a line "M" and answers
// a line M ms after it read it (sleeping: the test holds the wait to the
// moment of the write, which the answer is, not to M): a slow upstream.
var upstreamAddr string

func startUpstream() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatalf("exectrace-service: upstream: %v", err)
	}
	upstreamAddr = ln.Addr().String()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				log.Fatalf("exectrace-service: upstream: %v", err)
			}
			go func() {
				defer c.Close()
				line, err := bufio.NewReader(c).ReadString('\n')
				if err != nil {
					return
				}
				ms, _ := strconv.Atoi(strings.TrimSpace(line))
				time.Sleep(time.Duration(ms) * time.Millisecond)
				fmt.Fprintf(c, "%d\n", unixNs())
			}()
		}
	}()
}

// queryUpstream asks the upstream for an answer in d and reads it: the read
// blocks on the socket until the answer comes.
//
//go:noinline
func queryUpstream(d time.Duration) (map[string]any, error) {
	c, err := net.Dial("tcp", upstreamAddr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if _, err := fmt.Fprintf(c, "%d\n", d.Milliseconds()); err != nil {
		return nil, err
	}
	readNs := unixNs()
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return nil, err
	}
	endNs := unixNs()
	sentNs, err := strconv.ParseInt(strings.TrimSpace(line), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("upstream answered %q: %v", line, err)
	}
	return map[string]any{"read_start_ns": readNs, "read_end_ns": endNs, "upstream_sent_ns": sentNs}, nil
}

//go:noinline
func backoff(d time.Duration) map[string]any {
	t0 := unixNs()
	time.Sleep(d)
	return map[string]any{"sleep_start_ns": t0, "sleep_end_ns": unixNs()}
}

// ---------------------------------------------------------------- the handler

var children = map[string]string{"chan": "queue.wait", "holder": "ledger.write", "mutex": "ledger.read",
	"sleep": "backoff", "cpu": "price.compute", "io": "db.query", "runnable": "report.build"}

func work(w http.ResponseWriter, r *http.Request) {
	kind := r.URL.Query().Get("kind")
	child, ok := children[kind]
	ms, err := strconv.Atoi(r.URL.Query().Get("ms"))
	if !ok || err != nil || ms < 0 || ms > 10000 {
		http.Error(w, "kind: chan|holder|mutex|sleep|cpu|io|runnable; ms: 0..10000", http.StatusBadRequest)
		return
	}
	d := time.Duration(ms) * time.Millisecond
	root := trace.SpanFromContext(r.Context())
	root.SetAttributes(attribute.String("work.kind", kind))
	ctx, span := tracer.Start(r.Context(), child, trace.WithAttributes(attribute.String("work.kind", kind)))
	childID := span.SpanContext().SpanID().String()
	// the child span's times on the SDK's clock: its end is its start plus the
	// monotonic time since (so a wall clock stepped meanwhile moves neither)
	startT := time.Now()
	startNs := startT.UnixNano()
	var facts map[string]any
	switch kind {
	case "chan":
		facts = waitQueue(ctx, d)
	case "holder":
		facts = writeLedger(span.SpanContext().TraceID().String(), childID, d)
	case "mutex":
		facts = readLedger(ms > 0)
	case "sleep":
		facts = backoff(d)
	case "cpu":
		facts, err = compute(d)
	case "io":
		facts, err = queryUpstream(d)
	case "runnable":
		facts, err = buildReport(d)
	}
	if err != nil {
		span.End()
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	endNs := startT.Add(time.Since(startT)).UnixNano()
	span.End()
	if ms > 0 { // the root span goes on running on this goroutine: its time is not the child's
		computeUntil(time.Now().Add(2*time.Millisecond), false)
	}
	facts["trace_id"] = root.SpanContext().TraceID().String()
	facts["span_id"] = root.SpanContext().SpanID().String()
	facts["child_span_id"] = childID
	facts["child"], facts["kind"], facts["goroutine"] = child, kind, goid()
	facts["start_ns"], facts["end_ns"] = startNs, endNs
	answer, _ := json.Marshal(facts)
	w.Header().Set("Content-Type", "application/json")
	w.Write(answer)
}

// countingExporter counts what the SDK's batch processor hands to the exporter.
type countingExporter struct {
	sdktrace.SpanExporter
	exported, failed atomic.Int64
}

func (e *countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.SpanExporter.ExportSpans(ctx, spans)
	if err != nil {
		e.failed.Add(int64(len(spans)))
		log.Printf("exectrace-service: export of %d spans failed: %v", len(spans), err)
	} else {
		e.exported.Add(int64(len(spans)))
	}
	return err
}

func main() {
	addr := flag.String("listen", "127.0.0.1:0", "address to serve /work and /flush on")
	endpoint := flag.String("meanwhile", "", "meanwhiled's base URL: where the flight recorder pushes")
	flag.Parse()
	if *endpoint == "" {
		log.Fatal("exectrace-service: -meanwhile URL is required")
	}

	ctx := context.Background()
	otlp, err := otlptracehttp.New(ctx)
	if err != nil {
		log.Fatalf("exectrace-service: exporter: %v", err)
	}
	exp := &countingExporter{SpanExporter: otlp}
	res, err := resource.New(ctx, resource.WithFromEnv(), resource.WithTelemetrySDK(), resource.WithProcessPID())
	if err != nil {
		log.Fatalf("exectrace-service: resource: %v", err)
	}
	sdk := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	tp, stopRecorder := wrap(sdk, *endpoint)
	otel.SetTracerProvider(tp)
	tracer = tp.Tracer("meanwhile.exectrace/service")
	go produce()
	startUpstream()

	mux := http.NewServeMux()
	mux.Handle("/work", otelhttp.NewHandler(http.HandlerFunc(work), "GET /work", otelhttp.WithTracerProvider(tp)))
	mux.HandleFunc("/flush", func(w http.ResponseWriter, r *http.Request) {
		if err := sdk.ForceFlush(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"exported":%d,"failed":%d}`, exp.exported.Load(), exp.failed.Load())
	})
	mux.HandleFunc("/recorder", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(recorderStats())
	})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("exectrace-service: %v", err)
	}
	fmt.Printf("listening addr=%s pid=%d gomaxprocs=%d go=%s\n", ln.Addr(), os.Getpid(), runtime.GOMAXPROCS(0), runtime.Version())
	go func() {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
		<-ch
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		stopRecorder(sctx)
		if err := sdk.Shutdown(sctx); err != nil {
			log.Printf("exectrace-service: shutdown: %v", err)
		}
		os.Exit(0)
	}()
	log.Fatal(http.Serve(ln, mux))
}

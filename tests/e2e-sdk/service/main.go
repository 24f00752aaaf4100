// The e2e-sdk service: a net/http server whose requests are slow for known
// reasons, traced with the official OpenTelemetry Go SDK (otelhttp server spans,
// a child span per request, the otlptracehttp exporter configured by the
// standard OTEL_* variables) and profiled from outside by meanwhile-agent
// through net/http/pprof on a listener of its own. Which library ties pprof
// samples to spans is chosen with -labels (see labels.go).
//
//	GET /work?kind=K   root span "GET /work" (otelhttp, server) with one child span:
//	    mutex          inventory.reserve  Lock a sync.Mutex that a background goroutine
//	                                      holds ~100 ms at a time, in a loop
//	    chan           queue.wait         receive from a channel that a slow producer
//	                                      feeds ~100 ms after being asked
//	    cpu            price.compute      ~100 ms of pure computation
//	    alloc          render             ~100 ms of allocation at GOGC=50 over a live
//	                                      heap that is one long chain: GC assists
//	    io             db.query           read from a local TCP peer that answers after
//	                                      ~100 ms (netpoll: IO wait)
//	    sleep          backoff            time.Sleep(100 ms)
//	    fast           cache.get          a couple of milliseconds
//	    contend-holder ledger.write       Lock the ledger's sync.Mutex and hold it
//	                                      ~100 ms, sleeping (a call made under a lock)
//	    contend        ledger.read        Lock the same mutex: waits for whichever
//	                                      request holds it (cross-request contention);
//	                                      the answer's waited_ms says how long
//	    leak           notify.subscribe   time.Sleep(100 ms), then start -leak-goroutines
//	                                      goroutines that wait forever on a channel
//	                                      nothing else references (a goroutine leak);
//	                                      they keep the span's pprof labels
//	  answers {"trace_id","span_id","child_span_id","child","kind","waited_ms"}.
//	/flush             ForceFlush of the SDK's batch processor; answers
//	                   {"exported","failed"} (spans, since the start)
//
// The pprof listener (-pprof) serves only net/http/pprof, untraced, as services
// usually keep it: the agent's scrapes make no spans.
//
// Flags: -listen and -pprof (default 127.0.0.1:0; the chosen addresses are printed
// on stdout as "listening addr=HOST:PORT pprof=HOST:PORT ..."), -labels
// (meanwhile|otelprof|none), -gc-percent (50, unless $GOGC is set), -ballast,
// -alloc-objects, -alloc-size, -leak-goroutines. The exporter's endpoint and the
// resource (service.name, service.instance.id) come from OTEL_EXPORTER_OTLP_ENDPOINT,
// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, as the SDK reads them.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

const slow = 100 * time.Millisecond

// ---------------------------------------------------------------- the slow things

// mutex: a background goroutine holds invMu ~100 ms at a time, letting go for 2 ms.
var (
	invMu     sync.Mutex
	inventory int
)

func holdInventory() {
	for {
		invMu.Lock()
		time.Sleep(slow)
		invMu.Unlock()
		time.Sleep(2 * time.Millisecond)
	}
}

//go:noinline
func reserve() {
	invMu.Lock()
	inventory++
	invMu.Unlock()
}

// chan: a slow producer. A consumer hands it a reply channel and waits for the
// item, which the producer delivers ~100 ms later.
var queueAsk = make(chan chan int)

func produce() {
	n := 0
	for reply := range queueAsk {
		n++
		go func(reply chan int, n int) {
			time.Sleep(slow)
			reply <- n
		}(reply, n)
	}
}

//go:noinline
func waitQueue() int {
	reply := make(chan int, 1)
	queueAsk <- reply
	return <-reply
}

// cpu: pure computation, no allocation; cpuIters is calibrated at start to ~100 ms.
var cpuIters = 1 << 24

//go:noinline
func computePrices(n int) float64 {
	x, y := 1.0, 0.5
	for i := 0; i < n; i++ {
		x = x*1.0000001 + y
		y = y*0.9999999 - float64(i&7)*1e-9
		if x > 1e9 {
			x = 1
		}
	}
	return x + y
}

var sink atomic.Uint64 // results kept, so that the work is not optimised away

func keep(f float64) { sink.Add(uint64(f) & 1) }

func calibrateCPU() {
	// the fastest of a few runs: the machine may be busy
	n := 1 << 20
	for {
		t0 := time.Now()
		keep(computePrices(n))
		if time.Since(t0) > 10*time.Millisecond || n >= 1<<30 {
			break
		}
		n *= 2
	}
	best := time.Duration(1 << 62)
	for i := 0; i < 5; i++ {
		t0 := time.Now()
		keep(computePrices(n))
		if d := time.Since(t0); d < best {
			best = d
		}
	}
	cpuIters = int(float64(n) * float64(slow) / float64(best))
}

// alloc: as in tests/e2e/service (its README says why): pointer-free 64 KiB
// blocks at GOGC=50 while the collector marks one long chain, so that the
// request's time is the collector's (assist CPU, or an assist wait).
type leaf struct {
	next  *leaf
	other *leaf
	pad   [4]int64
}

var ballast *leaf

// buildBallast links n objects into one chain reachable only from its head.
func buildBallast(n int) {
	var head *leaf
	for i := 0; i < n; i++ {
		l := &leaf{next: head}
		if head != nil {
			head.other = l
		}
		head = l
	}
	ballast = head
}

var (
	allocObjects = 1500
	allocSize    = 64 << 10
)

//go:noinline
func renderBlocks(n, size int) int {
	var ring [64][]byte
	sum := 0
	for i := 0; i < n; i++ {
		b := make([]byte, size)
		b[i%size] = byte(i)
		ring[i&63] = b
		if old := ring[(i*7)&63]; old != nil {
			sum += int(old[0])
		}
	}
	return sum
}

// io: a local TCP peer that answers each line ~100 ms after reading it.
var peerAddr string

func startPeer() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatalf("e2e-sdk-service: peer: %v", err)
	}
	peerAddr = ln.Addr().String()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					if _, err := r.ReadString('\n'); err != nil {
						return
					}
					time.Sleep(slow)
					if _, err := c.Write([]byte("row 1\n")); err != nil {
						return
					}
				}
			}(c)
		}
	}()
}

//go:noinline
func query() error {
	c, err := net.Dial("tcp", peerAddr)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Write([]byte("SELECT 1\n")); err != nil {
		return err
	}
	_, err = bufio.NewReader(c).ReadString('\n')
	return err
}

// contend: requests share ledgerMu. A contend-holder request holds it ~100 ms
// (sleeping under the lock, as a call made while holding it would); contend
// requests that arrive meanwhile wait for that other request.
var (
	ledgerMu      sync.Mutex
	ledgerBalance int
)

//go:noinline
func writeLedger() {
	ledgerMu.Lock()
	time.Sleep(slow)
	ledgerBalance++
	ledgerMu.Unlock()
}

//go:noinline
func readLedger() time.Duration {
	t0 := time.Now()
	ledgerMu.Lock()
	waited := time.Since(t0)
	_ = ledgerBalance
	ledgerMu.Unlock()
	return waited
}

// leak: the request's own time is a 100 ms wait; then it starts watchers on a
// channel that only they hold, so nothing ever sends to or closes it: each
// watcher stays parked in a channel receive for the life of the process, with
// the pprof labels of the span that started it.
var leakGoroutines = 3

//go:noinline
func subscribe() {
	time.Sleep(slow)
	events := make(chan string)
	for i := 0; i < leakGoroutines; i++ {
		go watchEvents(events)
	}
}

//go:noinline
func watchEvents(events <-chan string) {
	for e := range events {
		_ = e
	}
}

// ---------------------------------------------------------------- the handler

var children = map[string]string{
	"mutex": "inventory.reserve", "chan": "queue.wait", "cpu": "price.compute", "alloc": "render",
	"io": "db.query", "sleep": "backoff", "fast": "cache.get",
	"contend-holder": "ledger.write", "contend": "ledger.read", "leak": "notify.subscribe",
}

// runKind does the child span's work; waited is the ledger wait of a contend request.
func runKind(kind string) (waited time.Duration, err error) {
	switch kind {
	case "mutex":
		reserve()
	case "chan":
		waitQueue()
	case "cpu":
		keep(computePrices(cpuIters))
	case "alloc":
		keep(float64(renderBlocks(allocObjects, allocSize)))
	case "io":
		err = query()
	case "sleep":
		time.Sleep(slow)
	case "fast":
		keep(computePrices(cpuIters / 100))
		time.Sleep(time.Millisecond)
	case "contend-holder":
		writeLedger()
	case "contend":
		waited = readLedger()
	case "leak":
		subscribe()
	}
	return waited, err
}

type server struct{ tracer trace.Tracer }

func (s *server) work(w http.ResponseWriter, r *http.Request) {
	kind := r.URL.Query().Get("kind")
	child, ok := children[kind]
	if !ok {
		http.Error(w, "unknown kind", http.StatusBadRequest)
		return
	}
	root := trace.SpanFromContext(r.Context())
	root.SetAttributes(attribute.String("work.kind", kind))
	_, span := s.tracer.Start(r.Context(), child, trace.WithAttributes(attribute.String("work.kind", kind)))
	waited, err := runKind(kind)
	span.End()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	answer, _ := json.Marshal(map[string]any{"trace_id": root.SpanContext().TraceID().String(),
		"span_id": root.SpanContext().SpanID().String(), "child_span_id": span.SpanContext().SpanID().String(),
		"child": child, "kind": kind, "waited_ms": float64(waited) / 1e6})
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
		log.Printf("e2e-sdk-service: export of %d spans failed: %v", len(spans), err)
	} else {
		e.exported.Add(int64(len(spans)))
	}
	return err
}

func listen(addr string) net.Listener {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatalf("e2e-sdk-service: %v", err)
	}
	return ln
}

func main() {
	addr := flag.String("listen", "127.0.0.1:0", "address to serve /work and /flush on")
	pprofAddr := flag.String("pprof", "127.0.0.1:0", "address to serve net/http/pprof on")
	labelsWith := flag.String("labels", "meanwhile", "what gives spans their pprof labels: "+strings.Join(wrapperNames(), "|"))
	ballastN := flag.Int("ballast", 400_000, "objects in the pointer-rich live heap")
	gcPercent := flag.Int("gc-percent", 50, "GC percent (debug.SetGCPercent) unless $GOGC is set")
	flag.IntVar(&allocObjects, "alloc-objects", allocObjects, "64 KiB blocks a render request allocates")
	flag.IntVar(&allocSize, "alloc-size", allocSize, "bytes per block a render request allocates")
	flag.IntVar(&leakGoroutines, "leak-goroutines", leakGoroutines, "goroutines a leak request leaves behind")
	flag.Parse()
	wrap, ok := wrappers[*labelsWith]
	if !ok {
		log.Fatalf("e2e-sdk-service: -labels %q: one of %s", *labelsWith, strings.Join(wrapperNames(), ", "))
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(*gcPercent)
	}

	ctx := context.Background()
	otlp, err := otlptracehttp.New(ctx)
	if err != nil {
		log.Fatalf("e2e-sdk-service: exporter: %v", err)
	}
	exp := &countingExporter{SpanExporter: otlp}
	res, err := resource.New(ctx, resource.WithFromEnv(), resource.WithTelemetrySDK(), resource.WithHost(),
		resource.WithProcessPID(), resource.WithProcessRuntimeName(), resource.WithProcessRuntimeVersion())
	if err != nil {
		log.Fatalf("e2e-sdk-service: resource: %v", err)
	}
	sdk := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	tp := wrap(sdk)
	otel.SetTracerProvider(tp)

	calibrateCPU()
	buildBallast(*ballastN)
	startPeer()
	go holdInventory()
	go produce()

	s := &server{tracer: tp.Tracer("meanwhile.e2e-sdk/service")}
	mux := http.NewServeMux()
	mux.Handle("/work", otelhttp.NewHandler(http.HandlerFunc(s.work), "GET /work", otelhttp.WithTracerProvider(tp)))
	mux.HandleFunc("/flush", func(w http.ResponseWriter, r *http.Request) {
		if err := sdk.ForceFlush(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"exported":%d,"failed":%d}`, exp.exported.Load(), exp.failed.Load())
	})
	pmux := http.NewServeMux()
	pmux.HandleFunc("/debug/pprof/", pprof.Index)
	pmux.HandleFunc("/debug/pprof/profile", pprof.Profile)

	ln, pln := listen(*addr), listen(*pprofAddr)
	fmt.Printf("listening addr=%s pprof=%s pid=%d labels=%s cpu_iters=%d gomaxprocs=%d go=%s resource=%q\n", ln.Addr(),
		pln.Addr(), os.Getpid(), *labelsWith, cpuIters, runtime.GOMAXPROCS(0), runtime.Version(), res.String())
	go func() {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
		<-ch
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := sdk.Shutdown(sctx); err != nil {
			log.Printf("e2e-sdk-service: shutdown: %v", err)
		}
		os.Exit(0)
	}()
	go func() { log.Fatal(http.Serve(pln, pmux)) }()
	log.Fatal(http.Serve(ln, mux))
}

func wrapperNames() []string {
	names := make([]string, 0, len(wrappers))
	for n := range wrappers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

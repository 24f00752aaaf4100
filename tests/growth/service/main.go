// The growth service: a net/http server whose every request does the same three
// pieces of work, traced with the official OpenTelemetry Go SDK (otelhttp server
// span "GET /work", one child span per piece, the otlptracehttp exporter configured
// by the standard OTEL_* variables) and labelled by the repository's client/go
// (span_id, trace_id, span_name, inherited by the goroutines a span starts). One
// kind of growth is injected with -mode; the service measures what it retains
// itself and says so on /truth, the ground truth of tests/growth (never read from
// meanwhiled).
//
//	GET /work?n=N   root span "GET /work" with three child spans, in this order:
//	    orders.notify  starts a goroutine (main.notifyWaiter) that receives from a
//	                   channel only it holds. -mode leak: nobody ever closes it, so
//	                   every request leaks one goroutine blocked on a channel
//	                   receive; other modes close it before the span ends.
//	    catalog.put    main.(*Cache).Put(key, -cache-bytes): allocates the value in
//	                   Put and keeps it. -mode cache: the key is N, so every request
//	                   adds -cache-bytes to the cache; other modes: the key is N mod
//	                   8, so the cache holds 8 values at most.
//	    render.page    main.renderPage: a -page-bytes buffer from a sync.Pool (its
//	                   New is main.newPageBuffer), filled, put back. -mode pool: the
//	                   buffer is also appended to a global slice before it is put
//	                   back (the misuse: "keep the last pages for debugging"), so
//	                   every buffer the pool ever made stays alive although the pool
//	                   drops its own references at each GC; other modes keep none.
//	    plus a transient -scratch-bytes allocation per request (main.scratch), the
//	    same in every mode, so that the collector runs (and empties the pool).
//	/truth           {"mode","go","mem_profile_rate","time_ns","requests",
//	                 "notify":{"started","waiting"},"cache":{"entries","bytes",
//	                 "bytes_per_request"},"pool":{"created","buffer_bytes",
//	                 "retained_buffers","retained_bytes"},"goroutines","heap_alloc"}
//	/gc              runtime.GC() twice, then /truth's answer: after it the heap
//	                 profile's in-use figures are the retained memory of that moment
//	/flush           ForceFlush of the SDK; {"exported","failed"} spans
//
// runtime.MemProfileRate is set to -mem-profile-rate before anything is allocated,
// so that the heap profile's estimates of the injected stacks have a known error
// (tests/growth/README.md). The pprof listener (-pprof) serves net/http/pprof only,
// untraced, for meanwhile-agent. Flags: -listen, -pprof (the chosen addresses are
// printed as "listening addr=HOST:PORT pprof=HOST:PORT ..."), -mode
// (leak|cache|pool|steady), -cache-bytes, -page-bytes, -scratch-bytes.
package main

import (
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
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	meanwhile "github.com/meanwhile-dev/meanwhile/client/go"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// memProfileRate is the heap profile's sampling period: set in init, before main
// allocates, because the runtime samples with the rate in force at each allocation.
var memProfileRate = 64 << 10

func init() {
	if v, err := strconv.Atoi(os.Getenv("GROWTH_MEM_PROFILE_RATE")); err == nil && v > 0 {
		memProfileRate = v
	}
	runtime.MemProfileRate = memProfileRate
}

var (
	mode         = "steady"
	cacheBytes   = 64 << 10
	pageBytes    = 256 << 10
	scratchBytes = 128 << 10

	requests       atomic.Int64
	notifyStarted  atomic.Int64
	notifyWaiting  atomic.Int64
	poolCreated    atomic.Int64
	scratchSink    atomic.Int64
	renderedMu     sync.Mutex
	rendered       []*[]byte // -mode pool: every buffer renderPage used, still referenced
	renderedUnique = map[*[]byte]bool{}
)

// notifyWaiter waits for its request's notification; in -mode leak it never comes.
//
//go:noinline
func notifyWaiter(ch <-chan struct{}) {
	notifyWaiting.Add(1)
	<-ch
	notifyWaiting.Add(-1)
}

// notify starts the waiter of one request; the goroutine inherits the span's labels.
func notify() {
	ch := make(chan struct{})
	notifyStarted.Add(1)
	go notifyWaiter(ch)
	if mode != "leak" {
		close(ch)
	}
}

// Cache keeps values by key; Put allocates each value itself, so that the heap
// profile's stack of the retained bytes ends in main.(*Cache).Put.
type Cache struct {
	mu    sync.Mutex
	m     map[int64][]byte
	bytes int64
}

// Put stores n fresh bytes under key, replacing what was there.
//
//go:noinline
func (c *Cache) Put(key int64, n int) {
	v := make([]byte, n)
	v[0], v[n-1] = 1, 1
	c.mu.Lock()
	c.bytes += int64(n - len(c.m[key]))
	c.m[key] = v
	c.mu.Unlock()
}

func (c *Cache) stats() (entries int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m), c.bytes
}

var cache = &Cache{m: map[int64][]byte{}}

var pagePool = sync.Pool{New: func() any { return newPageBuffer() }}

// newPageBuffer is the pool's New: every buffer the pool ever hands out comes from here.
//
//go:noinline
func newPageBuffer() *[]byte {
	poolCreated.Add(1)
	b := make([]byte, pageBytes)
	return &b
}

// renderPage renders into a pooled buffer; in -mode pool it keeps a reference to the
// buffer in a global slice and still puts it back (the misuse).
//
//go:noinline
func renderPage(n int64) {
	buf := pagePool.Get().(*[]byte)
	b := *buf
	for i := 0; i < len(b); i += 4096 {
		b[i] = byte(n)
	}
	if mode == "pool" {
		renderedMu.Lock()
		rendered = append(rendered, buf)
		renderedUnique[buf] = true
		renderedMu.Unlock()
	}
	pagePool.Put(buf)
}

// scratch is the per-request garbage every mode makes alike.
//
//go:noinline
func scratch(n int64) {
	b := make([]byte, scratchBytes)
	b[int(n)%len(b)] = 1
	scratchSink.Add(int64(b[len(b)/2]))
}

type server struct{ tracer trace.Tracer }

func (s *server) work(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
	if err != nil {
		http.Error(w, "n: "+err.Error(), http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	_, sp := s.tracer.Start(ctx, "orders.notify")
	notify()
	sp.End()
	_, sp = s.tracer.Start(ctx, "catalog.put")
	key := n
	if mode != "cache" {
		key = n % 8
	}
	cache.Put(key, cacheBytes)
	sp.End()
	_, sp = s.tracer.Start(ctx, "render.page")
	renderPage(n)
	sp.End()
	scratch(n)
	requests.Add(1)
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"n":%d}`, n)
}

func truth() map[string]any {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	entries, bytes := cache.stats()
	renderedMu.Lock()
	retained := len(renderedUnique)
	renderedMu.Unlock()
	return map[string]any{
		"mode": mode, "go": runtime.Version(), "mem_profile_rate": memProfileRate,
		"time_ns": time.Now().UnixNano(), "requests": requests.Load(),
		"notify": map[string]any{"started": notifyStarted.Load(), "waiting": notifyWaiting.Load()},
		"cache":  map[string]any{"entries": entries, "bytes": bytes, "bytes_per_request": cacheBytes},
		"pool": map[string]any{"created": poolCreated.Load(), "buffer_bytes": pageBytes,
			"retained_buffers": retained, "retained_bytes": int64(retained) * int64(pageBytes)},
		"goroutines": runtime.NumGoroutine(), "heap_alloc": ms.HeapAlloc,
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		log.Printf("growth-service: %v", err)
	}
}

func listen(addr string) net.Listener {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatalf("growth-service: listen %s: %v", addr, err)
	}
	return ln
}

func main() {
	addr := flag.String("listen", "127.0.0.1:0", "address to serve /work, /truth, /gc and /flush on")
	pprofAddr := flag.String("pprof", "127.0.0.1:0", "address to serve net/http/pprof on")
	flag.StringVar(&mode, "mode", mode, "the growth injected: leak|cache|pool|steady")
	flag.IntVar(&cacheBytes, "cache-bytes", cacheBytes, "bytes main.(*Cache).Put allocates per request")
	flag.IntVar(&pageBytes, "page-bytes", pageBytes, "bytes of a pooled page buffer")
	flag.IntVar(&scratchBytes, "scratch-bytes", scratchBytes, "transient bytes per request")
	flag.Parse()
	switch mode {
	case "leak", "cache", "pool", "steady":
	default:
		log.Fatalf("growth-service: -mode %q: one of leak, cache, pool, steady", mode)
	}
	if cacheBytes < 1 || pageBytes < 4096 || scratchBytes < 1 {
		log.Fatalf("growth-service: -cache-bytes and -scratch-bytes must be positive, -page-bytes at least 4096")
	}

	ctx := context.Background()
	otlp, err := otlptracehttp.New(ctx)
	if err != nil {
		log.Fatalf("growth-service: exporter: %v", err)
	}
	exp := &countingExporter{SpanExporter: otlp}
	res, err := resource.New(ctx, resource.WithFromEnv(), resource.WithTelemetrySDK(), resource.WithProcessPID())
	if err != nil {
		log.Fatalf("growth-service: resource: %v", err)
	}
	sdk := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	tp := meanwhile.WrapTracerProvider(sdk)
	otel.SetTracerProvider(tp)

	s := &server{tracer: tp.Tracer("meanwhile.growth/service")}
	mux := http.NewServeMux()
	mux.Handle("/work", otelhttp.NewHandler(http.HandlerFunc(s.work), "GET /work", otelhttp.WithTracerProvider(tp)))
	mux.HandleFunc("/truth", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, truth()) })
	mux.HandleFunc("/gc", func(w http.ResponseWriter, r *http.Request) {
		runtime.GC()
		runtime.GC()
		writeJSON(w, truth())
	})
	mux.HandleFunc("/flush", func(w http.ResponseWriter, r *http.Request) {
		if err := sdk.ForceFlush(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeJSON(w, map[string]int64{"exported": exp.exported.Load(), "failed": exp.failed.Load()})
	})
	pmux := http.NewServeMux()
	pmux.HandleFunc("/debug/pprof/", pprof.Index)
	pmux.HandleFunc("/debug/pprof/profile", pprof.Profile)

	ln, pln := listen(*addr), listen(*pprofAddr)
	fmt.Printf("listening addr=%s pprof=%s pid=%d mode=%s go=%s mem_profile_rate=%d resource=%q\n", ln.Addr(),
		pln.Addr(), os.Getpid(), mode, runtime.Version(), memProfileRate, res.String())
	go func() {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
		<-ch
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := sdk.Shutdown(sctx); err != nil {
			log.Printf("growth-service: shutdown: %v", err)
		}
		os.Exit(0)
	}()
	go func() { log.Fatal(http.Serve(pln, pmux)) }()
	log.Fatal(http.Serve(ln, mux))
}

// countingExporter counts the spans handed to the exporter, exported or failed.
type countingExporter struct {
	sdktrace.SpanExporter
	exported, failed atomic.Int64
}

func (e *countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.SpanExporter.ExportSpans(ctx, spans)
	if err != nil {
		e.failed.Add(int64(len(spans)))
	} else {
		e.exported.Add(int64(len(spans)))
	}
	return err
}

// The demo service of deploy/demo.sh: a small "shop" that is slow for known
// reasons, traced with the official OpenTelemetry Go SDK and client/go (every
// span runs with pprof labels), and a load generator that calls it — so that a
// newcomer sees slow traces and their explanations within a minute.
//
//	GET /checkout   a server span (otelhttp would make the same) with one child
//	                per step, one of which is slow for a reason picked at random:
//	  inventory.reserve  waits for a sync.Mutex a stock-keeping goroutine holds
//	  queue.wait         waits on a channel a slow worker answers
//	  price.compute      computes (CPU)
//	  render             allocates a lot (GC assists)
//	  db.query           reads from a peer that answers late (network wait)
//	  backoff            sleeps
//	  cache.get          is fast
//
// Flags: -listen (127.0.0.1:8080), -pprof (127.0.0.1:6060, net/http/pprof,
// which meanwhile-agent scrapes), -rate (requests/s of the load generator, 10;
// 0: none), -seconds (stop after; 0: run until SIGINT/SIGTERM). Spans go to
// $OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (default http://127.0.0.1:4318/v1/traces).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	meanwhile "github.com/meanwhile-dev/meanwhile/client/go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

const slow = 120 * time.Millisecond

var tracer trace.Tracer

// ---------------------------------------------------------------- the causes

var stock sync.Mutex // held by restock for most of each period

func restock() {
	for {
		stock.Lock()
		time.Sleep(slow)
		stock.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
}

var asks = make(chan chan struct{})

func slowWorker() {
	for reply := range asks {
		time.Sleep(slow)
		close(reply)
	}
}

var sink []byte

func compute(d time.Duration) uint64 {
	var x uint64 = 1
	for end := time.Now().Add(d); time.Now().Before(end); {
		for i := 0; i < 10000; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	return x
}

func allocate() {
	keep := make([][]byte, 0, 64)
	for i := 0; i < 3000; i++ {
		b := make([]byte, 64<<10)
		if len(keep) == cap(keep) {
			keep = keep[1:]
		}
		keep = append(keep, b)
	}
	sink = keep[len(keep)-1]
}

// latePeer answers each line after `slow`: the client waits in netpoll.
func latePeer() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 1)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
					time.Sleep(slow)
					c.Write(buf)
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// ---------------------------------------------------------------- the handler

type step struct {
	name string
	do   func(ctx context.Context)
}

func steps(peer string) []step {
	return []step{
		{"inventory.reserve", func(context.Context) { stock.Lock(); stock.Unlock() }},
		{"queue.wait", func(context.Context) { r := make(chan struct{}); asks <- r; <-r }},
		{"price.compute", func(context.Context) { compute(slow) }},
		{"render", func(context.Context) { allocate() }},
		{"db.query", func(context.Context) {
			c, err := net.Dial("tcp", peer)
			if err != nil {
				return
			}
			defer c.Close()
			c.Write([]byte{1})
			io.ReadFull(c, make([]byte, 1))
		}},
		{"backoff", func(context.Context) { time.Sleep(slow) }},
	}
}

func checkout(all []step) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := otel.GetTextMapPropagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tracer.Start(ctx, "GET /checkout", trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", "GET"), attribute.String("url.path", "/checkout")))
		defer span.End()
		_, fast := tracer.Start(ctx, "cache.get")
		compute(time.Millisecond)
		fast.End()
		s := all[rand.IntN(len(all))]
		cctx, child := tracer.Start(ctx, s.name)
		s.do(cctx)
		child.End()
		fmt.Fprintf(w, "{\"trace_id\":%q,\"slow_step\":%q}\n", span.SpanContext().TraceID(), s.name)
	}
}

// ---------------------------------------------------------------- load

func load(addr string, rate float64, stop <-chan struct{}) {
	if rate <= 0 {
		return
	}
	client := &http.Client{Timeout: 10 * time.Second}
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			go func() {
				resp, err := client.Get("http://" + addr + "/checkout")
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
		}
	}
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "the shop's address")
	pprofAddr := flag.String("pprof", "127.0.0.1:6060", "net/http/pprof's address (meanwhile-agent scrapes it)")
	rate := flag.Float64("rate", 10, "requests per second of the built-in load generator; 0: none")
	seconds := flag.Int("seconds", 0, "stop after this many seconds; 0: at SIGINT or SIGTERM")
	flag.Parse()

	ctx := context.Background()
	exp, err := otlptracehttp.New(ctx) // OTEL_EXPORTER_OTLP_* from the environment
	if err != nil {
		log.Fatal(err)
	}
	res, _ := resource.Merge(resource.Default(), resource.NewWithAttributes(semconv.SchemaURL,
		semconv.ServiceName(envOr("OTEL_SERVICE_NAME", "demo-shop"))))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(time.Second)),
		sdktrace.WithResource(res))
	otel.SetTracerProvider(meanwhile.WrapTracerProvider(tp))
	otel.SetTextMapPropagator(propagation.TraceContext{})
	tracer = otel.Tracer("meanwhile.demo")

	go restock()
	go slowWorker()
	mux := http.NewServeMux()
	mux.HandleFunc("/checkout", checkout(steps(latePeer())))
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	go http.Serve(ln, mux)
	go func() { log.Println(http.ListenAndServe(*pprofAddr, nil)) }() // http.DefaultServeMux: net/http/pprof
	log.Printf("demo shop on http://%s/checkout, pprof on %s, %g requests/s", ln.Addr(), *pprofAddr, *rate)

	stop := make(chan struct{})
	go load(ln.Addr().String(), *rate, stop)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	var after <-chan time.Time
	if *seconds > 0 {
		after = time.After(time.Duration(*seconds) * time.Second)
	}
	select {
	case <-sig:
	case <-after:
	}
	close(stop)
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := tp.Shutdown(sctx); err != nil {
		log.Printf("flushing spans: %v", err)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

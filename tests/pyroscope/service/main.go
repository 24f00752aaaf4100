// A Go program instrumented the way Pyroscope's documentation sets one up: the
// Pyroscope Go client (github.com/grafana/pyroscope-go) pushes its profiles to
// meanwhiled's Pyroscope-compatible POST /ingest, and the OpenTelemetry SDK,
// wrapped by github.com/grafana/otel-profiling-go, exports its spans to
// meanwhiled's /v1/traces while labelling the CPU samples of each local root
// span with span_id, span_name and trace_id.
//
// It runs -spans root spans one after another, alternating "compute" spans
// (-cpu of CPU on this goroutine, measured with the thread's own CPU clock)
// and "wait" spans (time.Sleep(-cpu)), then flushes both clients and exits.
//
// Everything the test needs to judge meanwhiled comes from here, one JSON
// object per line on stdout:
//
//	{"event":"span","kind":"compute"|"wait","name","trace_id","span_id","start_ns","end_ns","thread_cpu_ns"}
//	{"event":"upload","name","status","response","content_type","query":{...},
//	 "parts":[{"name","filename","bytes","gzip","text" (sample_type_config's)}]}
//	{"event":"done","uploads","failed_uploads"}
//
// "upload" lines are written by an http.Client wrapper given to pyroscope-go
// (its Config.HTTPClient): they show what the client really sent and what
// meanwhiled answered. The Pyroscope client's own errors go to stderr as
// "pyroscope: ERROR ...".
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"

	otelpyroscope "github.com/grafana/otel-profiling-go"
	"github.com/grafana/pyroscope-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

var (
	outMu sync.Mutex
	out   = json.NewEncoder(os.Stdout)
)

func emit(v map[string]any) {
	outMu.Lock()
	defer outMu.Unlock()
	if err := out.Encode(v); err != nil {
		log.Fatalf("stdout: %v", err)
	}
}

// recorder is the pyroscope-go HTTP client: it sends each upload unchanged
// and writes one "upload" line with what was sent and what came back.
type recorder struct {
	next   *http.Client
	mu     sync.Mutex
	n      int
	failed int
}

func (rc *recorder) Do(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	ev := map[string]any{"event": "upload", "name": req.URL.Query().Get("name"),
		"content_type": req.Header.Get("Content-Type"), "query": req.URL.Query(), "parts": parts(req, body)}
	resp, err := rc.next.Do(req)
	rc.mu.Lock()
	rc.n++
	if err != nil || resp.StatusCode != http.StatusOK {
		rc.failed++
	}
	rc.mu.Unlock()
	if err != nil {
		ev["error"] = err.Error()
		emit(ev)
		return nil, err
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(answer))
	ev["status"] = resp.StatusCode
	ev["response"] = string(answer)
	emit(ev)
	return resp, nil
}

// parts lists the multipart body's parts as the Go standard library reads them.
func parts(req *http.Request, body []byte) []map[string]any {
	_, params, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		return nil
	}
	var list []map[string]any
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			return list
		}
		b, _ := io.ReadAll(p)
		part := map[string]any{"name": p.FormName(), "filename": p.FileName(), "bytes": len(b),
			"gzip": len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b}
		if p.FormName() == "sample_type_config" {
			part["text"] = string(b)
		}
		list = append(list, part)
	}
}

type stderrLogger struct{ debug bool }

func (l stderrLogger) Infof(f string, a ...any) {
	fmt.Fprintf(os.Stderr, "pyroscope: INFO "+f+"\n", a...)
}
func (l stderrLogger) Debugf(f string, a ...any) {
	if l.debug {
		fmt.Fprintf(os.Stderr, "pyroscope: DEBUG "+f+"\n", a...)
	}
}
func (l stderrLogger) Errorf(f string, a ...any) {
	fmt.Fprintf(os.Stderr, "pyroscope: ERROR "+f+"\n", a...)
}

// threadCPU is the CPU time of the calling thread (the goroutine is locked to it).
func threadCPU() time.Duration {
	var ru syscall.Rusage
	const rusageThread = 1 // RUSAGE_THREAD (Linux)
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		log.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var sink float64

// compute spins on arithmetic until this thread has used d of CPU.
func compute(d time.Duration) {
	start := threadCPU()
	x := 1.0
	for threadCPU()-start < d {
		for i := 0; i < 20000; i++ {
			x = math.Sqrt(x*x+float64(i)) + 1e-9
		}
	}
	sink += x
}

func main() {
	meanwhile := flag.String("meanwhile", "http://127.0.0.1:4318", "meanwhiled's base URL")
	app := flag.String("app", "pyro-svc", "Pyroscope ApplicationName, and the spans' service.name")
	instance := flag.String("instance", "", "the spans' service.instance.id")
	tagInstance := flag.Bool("tag-instance", true, "give Pyroscope the tag instance=<-instance>")
	uploadRate := flag.Duration("upload-rate", 2*time.Second, "Pyroscope's UploadRate")
	spans := flag.Int("spans", 8, "root spans, alternately compute and wait")
	work := flag.Duration("cpu", 300*time.Millisecond, "CPU time of a compute span; sleep of a wait span")
	syncSpans := flag.Bool("sync-spans", false, "export each span as it ends (WithSyncer) instead of in batches")
	debug := flag.Bool("debug", false, "print pyroscope-go's debug lines")
	flag.Parse()

	// the program's mutexes and channels show in the mutex and block profiles
	runtime.SetMutexProfileFraction(5)
	runtime.SetBlockProfileRate(int(time.Millisecond))

	res, err := resource.New(context.Background(), resource.WithAttributes(
		attribute.String("service.name", *app), attribute.String("service.instance.id", *instance)))
	if err != nil {
		log.Fatalf("resource: %v", err)
	}
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(*meanwhile+"/v1/traces"))
	if err != nil {
		log.Fatalf("otlptracehttp: %v", err)
	}
	export := sdktrace.WithBatcher(exp)
	if *syncSpans {
		export = sdktrace.WithSyncer(exp)
	}
	sdk := sdktrace.NewTracerProvider(sdktrace.WithResource(res), export)
	tracer := otelpyroscope.NewTracerProvider(sdk).Tracer("meanwhile.tests/pyroscope")

	tags := map[string]string{}
	if *tagInstance {
		tags["instance"] = *instance
	}
	rec := &recorder{next: &http.Client{Timeout: 30 * time.Second}}
	prof, err := pyroscope.Start(pyroscope.Config{
		ApplicationName: *app,
		ServerAddress:   *meanwhile,
		Tags:            tags,
		UploadRate:      *uploadRate,
		Logger:          stderrLogger{debug: *debug},
		HTTPClient:      rec,
		ProfileTypes: []pyroscope.ProfileType{
			pyroscope.ProfileCPU, pyroscope.ProfileGoroutines,
			pyroscope.ProfileAllocObjects, pyroscope.ProfileAllocSpace,
			pyroscope.ProfileInuseObjects, pyroscope.ProfileInuseSpace,
			pyroscope.ProfileMutexCount, pyroscope.ProfileMutexDuration,
			pyroscope.ProfileBlockCount, pyroscope.ProfileBlockDuration,
		},
	})
	if err != nil {
		log.Fatalf("pyroscope.Start: %v", err)
	}

	contend() // something for the mutex and block profiles

	runtime.LockOSThread() // threadCPU measures this goroutine
	for i := 0; i < *spans; i++ {
		kind, name := "compute", "compute"
		if i%2 == 1 {
			kind, name = "wait", "wait"
		}
		_, span := tracer.Start(context.Background(), name, trace.WithSpanKind(trace.SpanKindServer))
		start := time.Now()
		cpu0 := threadCPU()
		if kind == "compute" {
			compute(*work)
		} else {
			time.Sleep(*work)
		}
		cpu := threadCPU() - cpu0
		end := time.Now()
		span.End(trace.WithTimestamp(end))
		sc := span.SpanContext()
		emit(map[string]any{"event": "span", "kind": kind, "name": name, "trace_id": sc.TraceID().String(),
			"span_id": sc.SpanID().String(), "start_ns": start.UnixNano(), "end_ns": end.UnixNano(),
			"thread_cpu_ns": cpu.Nanoseconds()})
	}
	runtime.UnlockOSThread()

	// Flush(true) uploads what every profiler holds and waits for the uploads;
	// Stop alone hands the last CPU profile to an uploader it stops at once.
	prof.Flush(true)
	if err := prof.Stop(); err != nil {
		log.Fatalf("pyroscope Stop: %v", err)
	}
	if err := sdk.Shutdown(context.Background()); err != nil {
		log.Fatalf("tracer provider shutdown: %v", err)
	}
	rec.mu.Lock()
	emit(map[string]any{"event": "done", "uploads": rec.n, "failed_uploads": rec.failed})
	rec.mu.Unlock()
}

// contend makes a few goroutines wait on one mutex and on a channel.
func contend() {
	var mu sync.Mutex
	var wg sync.WaitGroup
	ch := make(chan int)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				mu.Lock()
				time.Sleep(100 * time.Microsecond)
				mu.Unlock()
			}
		}()
	}
	go func() {
		time.Sleep(5 * time.Millisecond)
		close(ch)
	}()
	<-ch
	wg.Wait()
}

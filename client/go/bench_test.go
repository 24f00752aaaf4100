// Benchmarks: what WrapTracerProvider adds to the SDK's own cost of a span.
//
//	go test -run '^$' -bench . -benchmem -count 10 -cpu 1
//
// Besides ns/op (wall time) each reports cpu-ns/op, the CPU time the process
// spent (all threads, the GC's included) per operation, which waiting for a
// CPU on a busy machine does not inflate.
//
// Each benchmark starts and ends one root span (Span) or a root span and a
// child (RootChild) with the SDK sampling every span and a synchronous
// processor that discards them, then:
//
//	sdk          the SDK alone
//	pprof        the SDK plus the labels set by hand with constant values,
//	             as pprof.Do would: what runtime/pprof itself costs
//	wrapped      through WrapTracerProvider
//	roots-only   through WrapTracerProvider with LocalRootsOnly
//
// BenchmarkSpanTracing and BenchmarkRootChildTracing do the same with the
// runtime's execution tracer on (writing to io.Discard), where each span gets
// its task and log event; bench_recorder_test.go has the flight recorder.

//go:build unix

package meanwhile_test

import (
	"context"
	"io"
	"runtime/pprof"
	rtrace "runtime/trace"
	"syscall"
	"testing"
	"time"

	meanwhile "github.com/meanwhile-dev/meanwhile/client/go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// handLabelled labels each span with constant values through runtime/pprof
// alone, and restores the context's labels at End.
type handLabelled struct{ trace.Tracer }

type handSpan struct {
	trace.Span
	restore context.Context
}

func (t handLabelled) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	sctx, sp := t.Tracer.Start(ctx, name, opts...)
	sctx = pprof.WithLabels(sctx, pprof.Labels("span_id", "00f067aa0ba902b7", "span_name", name,
		"trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"))
	pprof.SetGoroutineLabels(sctx)
	return sctx, handSpan{sp, ctx}
}

func (s handSpan) End(opts ...trace.SpanEndOption) {
	s.Span.End(opts...)
	pprof.SetGoroutineLabels(s.restore)
}

func tracers(b *testing.B) map[string]trace.Tracer {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSyncer(discard{}))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return map[string]trace.Tracer{
		"sdk":        tp.Tracer("bench"),
		"pprof":      handLabelled{tp.Tracer("bench")},
		"wrapped":    meanwhile.WrapTracerProvider(tp).Tracer("bench"),
		"roots-only": meanwhile.WrapTracerProvider(tp, meanwhile.LocalRootsOnly()).Tracer("bench"),
	}
}

var order = []string{"sdk", "pprof", "wrapped", "roots-only"}

// cpuTime is the CPU time the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loop runs op as the benchmark's loop and reports its CPU time per operation.
func loop(b *testing.B, op func()) {
	b.ReportAllocs()
	start := cpuTime(b)
	for b.Loop() {
		op()
	}
	b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
}

func BenchmarkSpan(b *testing.B) {
	trs := tracers(b)
	for _, name := range order {
		tr := trs[name]
		b.Run(name, func(b *testing.B) {
			loop(b, func() {
				_, root := tr.Start(context.Background(), "root")
				root.End()
			})
		})
	}
}

func BenchmarkRootChild(b *testing.B) {
	trs := tracers(b)
	for _, name := range order {
		tr := trs[name]
		b.Run(name, func(b *testing.B) {
			loop(b, func() {
				ctx, root := tr.Start(context.Background(), "root")
				_, child := tr.Start(ctx, "child")
				child.End()
				root.End()
			})
		})
	}
}

// tracing runs the runtime's execution tracer for the rest of the benchmark.
func tracing(b *testing.B) {
	if err := rtrace.Start(io.Discard); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(rtrace.Stop)
}

func BenchmarkSpanTracing(b *testing.B) {
	tracing(b)
	BenchmarkSpan(b)
}

func BenchmarkRootChildTracing(b *testing.B) {
	tracing(b)
	BenchmarkRootChild(b)
}

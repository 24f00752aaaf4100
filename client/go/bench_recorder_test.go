// Benchmarks of spans judged by a running flight recorder (the runtime's
// tracer is then on): what the timing and the per-name p99 add to a span of
// "wrapped" with tracing on (bench_test.go). The spans are fast: no window is
// written. Parallel runs the spans of one name on every P at once, where the
// p99 rings of that name are shared.
//
//	go test -run '^$' -bench 'Recorder' -benchmem -count 10 -cpu 1,2

//go:build go1.25 && unix

package meanwhile_test

import (
	"context"
	"testing"
	"time"

	meanwhile "github.com/meanwhile-dev/meanwhile/client/go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

func recorderTracer(b *testing.B, cfg meanwhile.FlightRecorderConfig) trace.Tracer {
	cfg.Endpoint = "http://127.0.0.1:1"
	r, err := meanwhile.StartFlightRecorder(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(r.Stop)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSyncer(discard{}))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return meanwhile.WrapTracerProvider(tp, meanwhile.WithFlightRecorder(r)).Tracer("bench")
}

var recorderModes = []struct {
	name string
	cfg  meanwhile.FlightRecorderConfig
}{
	{"p99", meanwhile.FlightRecorderConfig{}},
	{"threshold", meanwhile.FlightRecorderConfig{Threshold: time.Second}},
}

func BenchmarkSpanRecorder(b *testing.B) {
	for _, m := range recorderModes {
		b.Run(m.name, func(b *testing.B) {
			tr := recorderTracer(b, m.cfg)
			loop(b, func() {
				_, root := tr.Start(context.Background(), "root")
				root.End()
			})
		})
	}
}

func BenchmarkRootChildRecorder(b *testing.B) {
	for _, m := range recorderModes {
		b.Run(m.name, func(b *testing.B) {
			tr := recorderTracer(b, m.cfg)
			loop(b, func() {
				ctx, root := tr.Start(context.Background(), "root")
				_, child := tr.Start(ctx, "child")
				child.End()
				root.End()
			})
		})
	}
}

func BenchmarkSpanRecorderParallel(b *testing.B) {
	tr := recorderTracer(b, meanwhile.FlightRecorderConfig{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, root := tr.Start(context.Background(), "root")
			root.End()
		}
	})
}

func BenchmarkSpanTracingParallel(b *testing.B) {
	tracing(b)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSyncer(discard{}))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tr := meanwhile.WrapTracerProvider(tp).Tracer("bench")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, root := tr.Start(context.Background(), "root")
			root.End()
		}
	})
}

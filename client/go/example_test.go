// The example godoc shows: the lines a service adds, and the labels a span
// then runs with.
package meanwhile_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"runtime/pprof"

	meanwhile "github.com/meanwhile-dev/meanwhile/client/go"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// A service wraps its TracerProvider once, at start-up; every span its code and
// its instrumentation libraries start then runs with the labels.
func Example() {
	tp := sdktrace.NewTracerProvider( /* sdktrace.WithBatcher(exporter), ... */ )
	defer func() { _ = tp.Shutdown(context.Background()) }()
	otel.SetTracerProvider(meanwhile.WrapTracerProvider(tp))

	ctx, span := otel.Tracer("checkout").Start(context.Background(), "GET /cart")
	defer span.End()
	name, _ := pprof.Label(ctx, meanwhile.LabelSpanName)
	id, _ := pprof.Label(ctx, meanwhile.LabelSpanID)
	fmt.Println(name, id == span.SpanContext().SpanID().String())
	// Output: GET /cart true
}

// A service that sends the execution trace around its slow spans to
// meanwhiled starts the flight recorder and wraps its provider with it.
func ExampleStartFlightRecorder() {
	rec, err := meanwhile.StartFlightRecorder(meanwhile.FlightRecorderConfig{
		Endpoint: "http://127.0.0.1:4318", // meanwhiled
		Logger:   slog.Default(),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer rec.Stop()
	tp := sdktrace.NewTracerProvider( /* sdktrace.WithBatcher(exporter), sdktrace.WithResource(res) */ )
	defer func() { _ = tp.Shutdown(context.Background()) }()
	otel.SetTracerProvider(meanwhile.WrapTracerProvider(tp, meanwhile.WithFlightRecorder(rec)))
	// ... serve; rec.Stats() counts the windows sent, skipped and dropped.
}

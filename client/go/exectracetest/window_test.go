// The window the flight recorder sends is an execution trace that holds the
// slow span: its task and its meanwhile.span log event.
package exectracetest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	meanwhile "github.com/meanwhile-dev/meanwhile/client/go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func TestWindowHoldsSlowSpan(t *testing.T) {
	var mu sync.Mutex
	var bodies [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, b)
		mu.Unlock()
	}))
	defer srv.Close()
	rec, err := meanwhile.StartFlightRecorder(meanwhile.FlightRecorderConfig{
		Endpoint: srv.URL, Threshold: 20 * time.Millisecond, Delay: 50 * time.Millisecond, MinAge: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Stop()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	tr := meanwhile.WrapTracerProvider(tp, meanwhile.WithFlightRecorder(rec)).Tracer("exectracetest")

	ctx, root := tr.Start(context.Background(), "slow")
	_, child := tr.Start(ctx, "query")
	time.Sleep(25 * time.Millisecond)
	child.End()
	root.End()

	deadline := time.Now().Add(20 * time.Second)
	for rec.Stats().Sent == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no window sent: %+v", rec.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	body := bodies[0]
	mu.Unlock()
	tasks := readTasks(t, body)
	r := checkTask(t, tasks, "slow", root, nil)
	checkTask(t, tasks, "query", child, r)
}

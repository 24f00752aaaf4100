// Before Go 1.25: StartFlightRecorder says once that it cannot run, and the
// recorder it returns does nothing.

//go:build !go1.25

package meanwhile_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	meanwhile "github.com/meanwhile-dev/meanwhile/client/go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func TestFlightRecorderNeedsGo125(t *testing.T) {
	var log bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&log, nil))
	for range 2 {
		r, err := meanwhile.StartFlightRecorder(meanwhile.FlightRecorderConfig{
			Endpoint: "http://127.0.0.1:1", Threshold: time.Nanosecond, Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		tp := sdktrace.NewTracerProvider()
		_, sp := meanwhile.WrapTracerProvider(tp, meanwhile.WithFlightRecorder(r)).Tracer("t").Start(context.Background(), "s")
		sp.End()
		if s := r.Stats(); s != (meanwhile.FlightRecorderStats{}) {
			t.Errorf("stats %+v", s)
		}
		r.Stop()
	}
	if n := strings.Count(log.String(), "needs Go 1.25"); n != 1 {
		t.Errorf("%d lines saying so, want 1: %q", n, log.String())
	}
}

// The lines a service adds to use client/go: the wrapped provider, with the
// flight recorder at its defaults except the endpoint it pushes to.
package main

import (
	"context"
	"log"

	meanwhile "github.com/meanwhile-dev/meanwhile/client/go"
	"go.opentelemetry.io/otel/trace"
)

var recorder *meanwhile.FlightRecorder

// wrap returns the provider every span is started through, and a function that
// stops the recorder before the SDK shuts down.
func wrap(tp trace.TracerProvider, endpoint string) (trace.TracerProvider, func(context.Context)) {
	rec, err := meanwhile.StartFlightRecorder(meanwhile.FlightRecorderConfig{Endpoint: endpoint})
	if err != nil {
		log.Fatalf("exectrace-service: %v", err)
	}
	recorder = rec
	return meanwhile.WrapTracerProvider(tp, meanwhile.WithFlightRecorder(rec)), func(context.Context) { rec.Stop() }
}

// recorderStats is what the recorder counted, for the test.
func recorderStats() any { return recorder.Stats() }

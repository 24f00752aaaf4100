// The lines a service adds to use client/go: the wrapped provider, with the
// flight recorder at its defaults except the endpoint it pushes to.
package main

import (
	"context"

	meanwhile "github.com/meanwhile-dev/meanwhile/client/go"
	"go.opentelemetry.io/otel/trace"
)

// wrap returns the provider every span is started through, and a function that
// stops the recorder (pushing what it must) before the SDK shuts down.
func wrap(tp trace.TracerProvider, endpoint string) (trace.TracerProvider, func(context.Context)) {
	_ = endpoint // TODO: client/go's flight recorder option (h-xclient)
	return meanwhile.WrapTracerProvider(tp), func(context.Context) {}
}

// recorderStats is what the recorder counted (pushes, drops), for the test.
func recorderStats() any { return map[string]any{} }

// -labels meanwhile: the repository's client/go (module
// github.com/meanwhile-dev/meanwhile/client/go, replaced in go.mod by ../../../client/go),
// which labels every span with span_id, trace_id and span_name.
package main

import (
	meanwhile "github.com/meanwhile-dev/meanwhile/client/go"
	"go.opentelemetry.io/otel/trace"
)

func init() {
	wrappers["meanwhile"] = func(tp trace.TracerProvider) trace.TracerProvider { return meanwhile.WrapTracerProvider(tp) }
}

// What gives spans their pprof labels (-labels). Each entry wraps the SDK's
// TracerProvider; the service starts every span through the wrapped one.
//
//	meanwhile  the repository's client/go (labels_meanwhile.go): span_id, trace_id and
//	           span_name on every span.
//	otelprof   github.com/grafana/otel-profiling-go with span_id and span_name on
//	           every span (ScopeAllSpans). Its default labels the local root span
//	           only: child spans would run with the root's span_id, and their
//	           samples would be counted as the root's.
//	none       no labels: meanwhiled has only the spans and unlabelled runtime data.
package main

import (
	otelpyroscope "github.com/grafana/otel-profiling-go"
	"go.opentelemetry.io/otel/trace"
)

var wrappers = map[string]func(trace.TracerProvider) trace.TracerProvider{
	"otelprof": func(tp trace.TracerProvider) trace.TracerProvider {
		return otelpyroscope.NewTracerProvider(tp, otelpyroscope.WithSpanIDLabelScope(otelpyroscope.ScopeAllSpans),
			otelpyroscope.WithSpanNameLabelScope(otelpyroscope.ScopeAllSpans))
	},
	"none": func(tp trace.TracerProvider) trace.TracerProvider { return tp },
}

// Package meanwhile ties a Go service's CPU and goroutine samples to the
// OpenTelemetry spans they were taken in, so that meanwhiled can say where a
// slow span's time went.
//
// [WrapTracerProvider] wraps the service's TracerProvider. Every span that a
// tracer of the wrapped provider starts, and that the sampler keeps, runs with
// the pprof labels
//
//	span_id    the span's ID, 16 lowercase hex digits
//	trace_id   its trace's ID, 32 lowercase hex digits
//	span_name  the name given to Start
//
// — the names Grafana's otel-profiling-go and Pyroscope use. CPU profiles and
// goroutine profiles (runtime/pprof, net/http/pprof) carry them on every
// sample, and meanwhiled matches samples to spans by span_id and trace_id.
//
// Start sets the labels on the goroutine that calls it and on the context it
// returns, so goroutines started inside the span inherit them (the runtime
// copies a goroutine's labels to the goroutines it starts), and so does any
// goroutine that takes that context into pprof.Do or pprof.SetGoroutineLabels.
// End puts back the labels of the context that was given to Start — the
// parent span's labels for a nested span, none for a root span started from
// context.Background() — on the goroutine that calls End, as pprof.Do does
// when its function returns.
package meanwhile

import (
	"context"
	"encoding/hex"
	"runtime/pprof"
	"sync/atomic"

	"go.opentelemetry.io/otel/trace"
)

// The pprof labels a span runs with.
const (
	// LabelSpanID carries the span's ID, 16 lowercase hex digits.
	LabelSpanID = "span_id"
	// LabelSpanName carries the name the span was started with.
	LabelSpanName = "span_name"
	// LabelTraceID carries the span's trace ID, 32 lowercase hex digits.
	LabelTraceID = "trace_id"
)

// An Option changes which spans WrapTracerProvider labels, or with what.
type Option func(*config)

type config struct {
	localRootsOnly bool
	noSpanName     bool
}

// LocalRootsOnly labels only the first span of each trace in this process (a
// local root: a span with no parent here, or whose parent came from another
// process); the spans under it keep its labels, so their samples are counted
// as the root's. This is what otel-profiling-go does by default. It costs
// nothing for spans that are not local roots, but meanwhiled can then tie a
// sample only to the root, not to the span that was running.
func LocalRootsOnly() Option {
	return func(c *config) { c.localRootsOnly = true }
}

// WithoutSpanName leaves out the span_name label: span_id and trace_id are
// all meanwhiled needs. Use it when span names are not a small set of fixed
// strings, for profile stores that index every label value (Pyroscope makes a
// series of each span_name). A span_name label that something else set around
// a span is then left as it is.
func WithoutSpanName() Option {
	return func(c *config) { c.noSpanName = true }
}

// WrapTracerProvider returns a TracerProvider whose tracers start spans
// through tp's tracers and run every span tp records and samples with the
// labels span_id, trace_id and span_name (see the package documentation).
// Spans that are not sampled, or not recording, or that have an invalid span
// context get no labels: the goroutine keeps the labels it had, so their time
// is counted for the nearest labelled span around them.
//
// A span is labelled on the goroutine that calls Start and restored on the one
// that calls End: end a span on the goroutine that started it. A span ended on
// another goroutine sets that goroutine's labels to those of the context
// given to Start, and the goroutine that started it keeps the span's labels
// until its own enclosing span ends. End restores once; ending a span again
// leaves the labels alone.
//
// The context Start returns holds the wrapping span, so that ending the span
// found by trace.SpanFromContext restores the labels too, and the span's
// TracerProvider method returns the wrapping provider, so instrumentation that
// takes its tracer from the current span labels its spans as well. The SDK
// then does not see the parent of a span as its own: sdktrace.ReadOnlySpan's
// ChildSpanCount stays 0 for wrapped parents, and a type assertion of a
// wrapped span to an SDK span type fails.
//
// tp must not be nil. Methods that later versions of the trace API add to
// TracerProvider, Tracer and Span go straight to tp's.
func WrapTracerProvider(tp trace.TracerProvider, opts ...Option) trace.TracerProvider {
	if tp == nil {
		panic("meanwhile: WrapTracerProvider(nil)")
	}
	p := &tracerProvider{TracerProvider: tp}
	for _, o := range opts {
		o(&p.cfg)
	}
	return p
}

// tracerProvider embeds the wrapped provider, so that methods the API adds
// later default to it.
type tracerProvider struct {
	trace.TracerProvider
	cfg config
}

// Tracer returns a tracer whose spans are labelled.
func (p *tracerProvider) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return &tracer{Tracer: p.TracerProvider.Tracer(name, opts...), p: p}
}

type tracer struct {
	trace.Tracer
	p *tracerProvider
}

// Start starts a span with the wrapped tracer and labels it.
func (t *tracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if ctx == nil {
		ctx = context.Background() // as the SDK does; pprof would panic on nil
	}
	sctx, sp := t.Tracer.Start(ctx, name, opts...)
	sc := sp.SpanContext()
	if !sc.IsSampled() || !sc.IsValid() || !sp.IsRecording() {
		return sctx, sp
	}
	tid := sc.TraceID()
	traceID, inTrace := traceLabel(ctx, tid)
	if inTrace && t.p.cfg.localRootsOnly {
		return sctx, sp
	}

	// Both IDs in one string: one allocation. A span inside a labelled span of
	// the same trace takes that span's trace_id string instead; it still
	// passes all three labels, so that pprof's merge with the parent's labels
	// fills one list of the right size rather than growing it.
	var hexIDs [48]byte
	sid := sc.SpanID()
	hex.Encode(hexIDs[:16], sid[:])
	n := 16
	if !inTrace {
		hex.Encode(hexIDs[16:], tid[:])
		n = 48
	}
	ids := string(hexIDs[:n])
	if !inTrace {
		traceID = ids[16:]
	}

	// Keys in sorted order: pprof.Labels then takes them as they are.
	var kv [6]string
	kv[0], kv[1] = LabelSpanID, ids[:16]
	k := 2
	if !t.p.cfg.noSpanName {
		kv[k], kv[k+1] = LabelSpanName, name
		k += 2
	}
	kv[k], kv[k+1] = LabelTraceID, traceID
	k += 2

	s := &span{Span: sp, p: t.p, restore: ctx}
	lctx := trace.ContextWithSpan(pprof.WithLabels(sctx, pprof.Labels(kv[:k]...)), s)
	pprof.SetGoroutineLabels(lctx)
	return lctx, s
}

// traceLabel returns the trace_id label of ctx if it is that of trace id: set
// by a labelled span around it (or by hand).
func traceLabel(ctx context.Context, id trace.TraceID) (string, bool) {
	v, ok := pprof.Label(ctx, LabelTraceID)
	if !ok || len(v) != 32 {
		return "", false
	}
	var h [32]byte
	hex.Encode(h[:], id[:])
	if v != string(h[:]) {
		return "", false
	}
	return v, true
}

// span is a labelled span: it puts the labels of restore back when it ends.
type span struct {
	trace.Span
	p       *tracerProvider
	restore context.Context
	ended   atomic.Bool
}

// End ends the span, then gives the calling goroutine the labels of the
// context the span was started with, the first time it is called.
func (s *span) End(opts ...trace.SpanEndOption) {
	s.Span.End(opts...)
	if s.ended.CompareAndSwap(false, true) {
		pprof.SetGoroutineLabels(s.restore)
	}
}

// TracerProvider returns the wrapping provider, so that spans started from it
// are labelled too.
func (s *span) TracerProvider() trace.TracerProvider { return s.p }

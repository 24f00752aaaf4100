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
//
// While the runtime's execution tracer runs (runtime/trace.Start, a
// runtime/trace.FlightRecorder, /debug/pprof/trace), every such span also runs
// inside an execution-trace task named after the span, with a log event that
// names it (category "meanwhile.span", value "<trace id>/<span id>"), so that
// meanwhiled can tell which goroutine ran which span (docs/EXECTRACE.md).
// [StartFlightRecorder] keeps the last seconds of execution trace in memory and
// sends them to meanwhiled when a span is slow.
package meanwhile

import (
	"context"
	"encoding/hex"
	"reflect"
	"runtime/pprof"
	rtrace "runtime/trace"
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

// LogCategory is the category of the execution-trace log event that names the
// span a task runs: its value is "<32 hex trace id>/<16 hex span id>".
const LogCategory = "meanwhile.span"

// An Option changes which spans WrapTracerProvider labels, or with what.
type Option func(*config)

type config struct {
	localRootsOnly bool
	noSpanName     bool
	recorder       *FlightRecorder
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
	sid := sc.SpanID()
	traceID, inTrace := traceLabel(ctx, tid)
	labelled := !inTrace || !t.p.cfg.localRootsOnly
	tracing := rtrace.IsEnabled()
	fr := t.p.cfg.recorder
	if !labelled && !tracing && fr == nil {
		return sctx, sp
	}

	lctx := sctx
	var task *rtrace.Task
	// The span's IDs as text, in one string: one allocation. With the tracer
	// on, that is the log's value "<trace id>/<span id>", and the labels are
	// slices of it. Otherwise it holds the span ID, then the trace ID unless
	// the span is inside a labelled span of the same trace: it takes that
	// span's trace_id string instead (it still passes all three labels, so
	// that pprof's merge with the parent's labels fills one list of the right
	// size rather than growing it).
	var spanID string
	if tracing {
		var v [49]byte
		hex.Encode(v[:32], tid[:])
		v[32] = '/'
		hex.Encode(v[33:], sid[:])
		ids := string(v[:])
		spanID = ids[33:]
		if !inTrace {
			traceID = ids[:32]
		}
		// The task's context is the parent of the labels' and the span's, so
		// that a child span's task nests in this one. The SDK's spans have a
		// task of the same name already, in sctx: the log goes into it.
		if !hasTask(sp) {
			lctx, task = rtrace.NewTask(lctx, name)
		}
		rtrace.Log(lctx, LogCategory, ids)
	}
	judged := fr != nil && fr.judges(ctx)
	if !labelled && task == nil && !judged {
		return lctx, sp // nothing to do at End
	}

	// ret is s, or the timedSpan that holds it.
	var s *span
	var ret trace.Span
	if judged {
		ts := &timedSpan{fr: fr, name: name, start: now()}
		s, ret = &ts.span, ts
	} else {
		s = &span{}
		ret = s
	}
	s.Span, s.p, s.restore, s.labelled, s.task = sp, t.p, ctx, labelled, task
	if !labelled {
		return trace.ContextWithSpan(lctx, ret), ret
	}
	if !tracing {
		var v [48]byte
		hex.Encode(v[:16], sid[:])
		n := 16
		if !inTrace {
			hex.Encode(v[16:], tid[:])
			n = 48
		}
		ids := string(v[:n])
		spanID = ids[:16]
		if !inTrace {
			traceID = ids[16:]
		}
	}

	// Keys in sorted order: pprof.Labels then takes them as they are.
	var kv [6]string
	kv[0], kv[1] = LabelSpanID, spanID
	k := 2
	if !t.p.cfg.noSpanName {
		kv[k], kv[k+1] = LabelSpanName, name
		k += 2
	}
	kv[k], kv[k+1] = LabelTraceID, traceID
	k += 2

	lctx = trace.ContextWithSpan(pprof.WithLabels(lctx, pprof.Labels(kv[:k]...)), ret)
	pprof.SetGoroutineLabels(lctx)
	return lctx, ret
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

// sdkSpan is the type of the OpenTelemetry SDK's recording spans once seen.
var sdkSpan atomic.Value

// hasTask reports whether sp is a span of the OpenTelemetry SDK, which starts
// an execution-trace task named after the span while the tracer runs (and
// ends it at End) and returns its context from Start. The type is compared by
// name, so that this package need not import the SDK; an SDK that renames it
// gets a task of this package's inside its own.
func hasTask(sp trace.Span) bool {
	t := reflect.TypeOf(sp)
	if k, _ := sdkSpan.Load().(reflect.Type); k == t {
		return true
	}
	if t.Kind() != reflect.Pointer || t.Elem().Name() != "recordingSpan" ||
		t.Elem().PkgPath() != "go.opentelemetry.io/otel/sdk/trace" {
		return false
	}
	sdkSpan.Store(t)
	return true
}

// span is a labelled span, or one that runs in an execution-trace task: it
// ends the task and puts the labels of restore back when it ends.
type span struct {
	trace.Span
	p        *tracerProvider
	restore  context.Context
	task     *rtrace.Task // nil when the tracer was off at Start, or the SDK's span has one
	ended    atomic.Bool
	labelled bool
}

// End ends the span, then, the first time it is called, ends its task and
// gives the calling goroutine the labels of the context the span was started
// with.
func (s *span) End(opts ...trace.SpanEndOption) {
	s.Span.End(opts...)
	s.end()
}

// end does End's work after the wrapped span's End; it reports whether this
// was the first call.
func (s *span) end() bool {
	if !s.ended.CompareAndSwap(false, true) {
		return false
	}
	if s.task != nil {
		s.task.End()
	}
	if s.labelled {
		pprof.SetGoroutineLabels(s.restore)
	}
	return true
}

// TracerProvider returns the wrapping provider, so that spans started from it
// are labelled too.
func (s *span) TracerProvider() trace.TracerProvider { return s.p }

// timedSpan is a span whose duration a flight recorder judges when it ends.
type timedSpan struct {
	span
	fr    *FlightRecorder
	name  string
	start int64 // now() at Start
}

// End ends the span as span.End does, then hands its duration to the flight
// recorder, which may decide to keep the execution trace around it.
func (s *timedSpan) End(opts ...trace.SpanEndOption) {
	s.Span.End(opts...)
	if s.end() {
		t := now()
		s.fr.observe(s.name, t-s.start, t, s.Span)
	}
}

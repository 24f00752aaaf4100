// Tests of the labels WrapTracerProvider sets: read back from the context with
// runtime/pprof, and from the goroutine itself through a goroutine profile
// (what meanwhiled and Pyroscope read). Expected values are the IDs of the
// span contexts the OpenTelemetry SDK hands out.
package meanwhile_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"regexp"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	meanwhile "github.com/meanwhile-dev/meanwhile/client/go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// newTracer returns a tracer of a wrapped SDK provider that samples every
// span, and a recorder of the spans it ends.
func newTracer(t testing.TB, opts ...meanwhile.Option) (trace.Tracer, *tracetest.SpanRecorder) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return meanwhile.WrapTracerProvider(tp, opts...).Tracer("meanwhile_test"), rec
}

// want is the label set of a span the SDK started under name.
func want(sp trace.Span, name string) map[string]string {
	sc := sp.SpanContext()
	return map[string]string{"span_id": sc.SpanID().String(), "trace_id": sc.TraceID().String(), "span_name": name}
}

// none is the empty label set.
var none = map[string]string{}

func ctxLabels(ctx context.Context) map[string]string {
	m := map[string]string{}
	pprof.ForLabels(ctx, func(k, v string) bool { m[k] = v; return true })
	return m
}

var (
	profileMu   sync.Mutex
	labelsLine  = regexp.MustCompile(`(?m)^# labels: \{(.*)\}$`)
	labelPair   = regexp.MustCompile(`("(?:[^"\\]|\\.)*"):("(?:[^"\\]|\\.)*")`)
	ownFrame    = "\truntime/pprof.writeGoroutine+"
	parkedFrame = "/client/go_test.parkInSpan+"
)

// profileRecords returns the records of a goroutine profile (debug=1) whose
// stacks contain frame: their counts and labels.
func profileRecords(frame string) (counts []int, labels []map[string]string, err error) {
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
		return nil, nil, err
	}
	_, body, _ := strings.Cut(buf.String(), "\n") // after "goroutine profile: total N"
	for _, rec := range strings.Split(body, "\n\n") {
		if !strings.Contains(rec, frame) {
			continue
		}
		n, err := strconv.Atoi(rec[:strings.IndexByte(rec, ' ')])
		if err != nil {
			return nil, nil, fmt.Errorf("record %q: %v", rec, err)
		}
		m := map[string]string{}
		if l := labelsLine.FindStringSubmatch(rec); l != nil {
			for _, kv := range labelPair.FindAllStringSubmatch(l[1], -1) {
				k, err1 := strconv.Unquote(kv[1])
				v, err2 := strconv.Unquote(kv[2])
				if err1 != nil || err2 != nil {
					return nil, nil, fmt.Errorf("labels %q: %v %v", l[1], err1, err2)
				}
				m[k] = v
			}
		}
		counts = append(counts, n)
		labels = append(labels, m)
	}
	return counts, labels, nil
}

// ownLabels returns the labels of the calling goroutine as a goroutine profile
// shows them: the profile includes the goroutine that writes it, and only one
// goroutine at a time writes one here.
func ownLabels() (map[string]string, error) {
	profileMu.Lock()
	defer profileMu.Unlock()
	counts, labels, err := profileRecords(ownFrame)
	if err != nil {
		return nil, err
	}
	if len(counts) != 1 || counts[0] != 1 {
		return nil, fmt.Errorf("%d records with %q (counts %v), want one of one goroutine", len(counts), ownFrame, counts)
	}
	return labels[0], nil
}

// checkLabels fails t unless ctx and the calling goroutine both carry exactly
// w. It and checkGoroutine may be called from any goroutine.
func checkLabels(t *testing.T, where string, ctx context.Context, w map[string]string) {
	t.Helper()
	if got := ctxLabels(ctx); !maps.Equal(got, w) {
		t.Errorf("%s: context labels %v, want %v", where, got, w)
	}
	checkGoroutine(t, where, w)
}

func checkGoroutine(t *testing.T, where string, w map[string]string) {
	t.Helper()
	got, err := ownLabels()
	if err != nil {
		t.Errorf("%s: %v", where, err)
	} else if !maps.Equal(got, w) {
		t.Errorf("%s: goroutine labels %v, want %v", where, got, w)
	}
}

func TestRootSpanLabels(t *testing.T) {
	tr, _ := newTracer(t)
	checkGoroutine(t, "before", none)
	ctx, root := tr.Start(context.Background(), "GET /cart")
	w := want(root, "GET /cart")
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(w["span_id"]) ||
		!regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(w["trace_id"]) {
		t.Fatalf("the SDK's IDs are not lowercase hex of 16 and 32 digits: %v", w)
	}
	checkLabels(t, "in root", ctx, w)
	root.End()
	checkGoroutine(t, "after root.End", none)
}

func TestNestedSpans(t *testing.T) {
	tr, _ := newTracer(t)
	ctx, root := tr.Start(context.Background(), "root")
	cctx, child := tr.Start(ctx, "child")
	gctx, grand := tr.Start(cctx, "grandchild")
	if child.SpanContext().TraceID() != root.SpanContext().TraceID() ||
		grand.SpanContext().TraceID() != root.SpanContext().TraceID() {
		t.Fatal("the SDK did not start the spans in one trace")
	}
	checkLabels(t, "in grandchild", gctx, want(grand, "grandchild"))
	grand.End()
	checkLabels(t, "after grandchild.End", cctx, want(child, "child"))
	child.End()
	checkLabels(t, "after child.End", ctx, want(root, "root"))
	// a second child after the first ended: its own labels, then the root's again
	c2ctx, child2 := tr.Start(ctx, "child2")
	checkLabels(t, "in child2", c2ctx, want(child2, "child2"))
	child2.End()
	checkGoroutine(t, "after child2.End", want(root, "root"))
	root.End()
	checkGoroutine(t, "after root.End", none)
}

// Labels set around the span by other code stay, and come back after End.
func TestOtherLabelsKept(t *testing.T) {
	tr, _ := newTracer(t)
	pprof.Do(context.Background(), pprof.Labels("handler", "cart"), func(ctx context.Context) {
		sctx, sp := tr.Start(ctx, "op")
		w := want(sp, "op")
		w["handler"] = "cart"
		checkLabels(t, "in span", sctx, w)
		sp.End()
		checkGoroutine(t, "after End", map[string]string{"handler": "cart"})
	})
}

func TestGoroutinesInherit(t *testing.T) {
	tr, _ := newTracer(t)
	ctx, root := tr.Start(context.Background(), "root")
	defer root.End()

	// a goroutine started before the span, that takes the span's context
	ctxc := make(chan context.Context)
	type result struct {
		in, after map[string]string
		err       error
	}
	resc := make(chan result)
	go func() {
		var r result
		pprof.Do(<-ctxc, pprof.Labels("worker", "1"), func(context.Context) {
			r.in, r.err = ownLabels()
		})
		if r.err == nil {
			r.after, r.err = ownLabels()
		}
		resc <- r
	}()

	cctx, child := tr.Start(ctx, "child")
	// a goroutine started inside the span
	inherited := make(chan result)
	go func() {
		var r result
		r.in, r.err = ownLabels()
		inherited <- r
	}()
	r := <-inherited
	if r.err != nil {
		t.Fatal(r.err)
	}
	if w := want(child, "child"); !maps.Equal(r.in, w) {
		t.Errorf("goroutine started in the span: labels %v, want %v", r.in, w)
	}

	ctxc <- cctx
	r = <-resc
	if r.err != nil {
		t.Fatal(r.err)
	}
	w := want(child, "child")
	w["worker"] = "1"
	if !maps.Equal(r.in, w) {
		t.Errorf("pprof.Do with the span's context: labels %v, want %v", r.in, w)
	}
	// pprof.Do gives back the labels of the context it was given: the span's
	if w := want(child, "child"); !maps.Equal(r.after, w) {
		t.Errorf("after pprof.Do: labels %v, want %v", r.after, w)
	}
	child.End()
}

// parkInSpan holds its goroutine until release is closed, so that a goroutine
// profile finds it by this frame.
//
//go:noinline
func parkInSpan(ready chan<- struct{}, release <-chan struct{}) {
	ready <- struct{}{}
	<-release
}

// Spans on many goroutines at once: each goroutine carries its own span's
// labels, seen both while they all run and while they all stand still.
func TestConcurrentSpans(t *testing.T) {
	tr, _ := newTracer(t)
	const workers, rounds = 16, 20
	var wg sync.WaitGroup
	wants := make(chan map[string]string, workers)
	ready := make(chan struct{})
	release := make(chan struct{})
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				ctx, root := tr.Start(context.Background(), fmt.Sprintf("root-%d", i))
				cctx, child := tr.Start(ctx, "child")
				checkLabels(t, "in child", cctx, want(child, "child"))
				if r == rounds-1 {
					wants <- want(child, "child")
					parkInSpan(ready, release)
				}
				child.End()
				checkLabels(t, "after child.End", ctx, want(root, fmt.Sprintf("root-%d", i)))
				root.End()
				checkGoroutine(t, "after root.End", none)
			}
		}()
	}
	for range workers {
		<-ready
	}
	counts, labels, err := profileRecords(parkedFrame)
	close(release)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	close(wants)
	var w []map[string]string
	for m := range wants {
		w = append(w, m)
	}
	key := func(m map[string]string) string { return m["span_id"] }
	slices.SortFunc(w, func(a, b map[string]string) int { return strings.Compare(key(a), key(b)) })
	slices.SortFunc(labels, func(a, b map[string]string) int { return strings.Compare(key(a), key(b)) })
	if !slices.Equal(counts, slices.Repeat([]int{1}, workers)) {
		t.Fatalf("parked goroutines in records of %v, want %d records of one", counts, workers)
	}
	for i := range w {
		if !maps.Equal(labels[i], w[i]) {
			t.Errorf("parked goroutine labels %v, want %v", labels[i], w[i])
		}
	}
}

// byName samples every span but those named "dropped", which it drops, and
// those named "record-only", which it records without sampling.
type byName struct{}

func (byName) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	switch p.Name {
	case "dropped":
		return sdktrace.SamplingResult{Decision: sdktrace.Drop}
	case "record-only":
		return sdktrace.SamplingResult{Decision: sdktrace.RecordOnly}
	}
	return sdktrace.AlwaysSample().ShouldSample(p)
}
func (byName) Description() string { return "byName" }

func TestUnsampledSpansNotLabelled(t *testing.T) {
	t.Run("never sampled", func(t *testing.T) {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
		tr := meanwhile.WrapTracerProvider(tp).Tracer("t")
		ctx, sp := tr.Start(context.Background(), "root")
		if sp.SpanContext().IsSampled() {
			t.Fatal("the SDK sampled the span")
		}
		checkLabels(t, "in unsampled root", ctx, none)
		sp.End()
		checkGoroutine(t, "after End", none)
	})
	// a child the sampler drops, or records without sampling (so that it is
	// not exported): its time is counted for the root
	for _, name := range []string{"dropped", "record-only"} {
		t.Run(name+" child", func(t *testing.T) {
			tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(byName{}))
			tr := meanwhile.WrapTracerProvider(tp).Tracer("t")
			ctx, root := tr.Start(context.Background(), "root")
			cctx, child := tr.Start(ctx, name)
			sc := child.SpanContext()
			if !sc.IsValid() || sc.IsSampled() || child.IsRecording() != (name == "record-only") {
				t.Fatalf("the SDK's child: valid %v, sampled %v, recording %v", sc.IsValid(), sc.IsSampled(), child.IsRecording())
			}
			checkLabels(t, "in child", cctx, want(root, "root"))
			child.End()
			checkGoroutine(t, "after the child's End", want(root, "root"))
			root.End()
			checkGoroutine(t, "after root.End", none)
		})
	}
	// a provider whose spans do not record: the no-op one, whose span carries
	// the (sampled) span context of its parent
	t.Run("not recording", func(t *testing.T) {
		tr := meanwhile.WrapTracerProvider(noop.NewTracerProvider()).Tracer("t")
		ctx, sp := tr.Start(trace.ContextWithRemoteSpanContext(context.Background(), remote), "op")
		if sc := sp.SpanContext(); !sc.IsValid() || !sc.IsSampled() || sp.IsRecording() {
			t.Fatalf("the no-op span: valid %v, sampled %v, recording %v", sc.IsValid(), sc.IsSampled(), sp.IsRecording())
		}
		checkLabels(t, "in no-op span", ctx, none)
		sp.End()
	})
	t.Run("invalid span context", func(t *testing.T) {
		tr := meanwhile.WrapTracerProvider(invalidProvider{}).Tracer("t")
		ctx, sp := tr.Start(context.Background(), "op")
		checkLabels(t, "in span", ctx, none)
		sp.End()
	})
}

// invalidProvider's spans record and are sampled, but have no IDs.
type invalidProvider struct{ noop.TracerProvider }
type invalidTracer struct{ noop.Tracer }
type invalidSpan struct{ noop.Span }

func (invalidProvider) Tracer(string, ...trace.TracerOption) trace.Tracer { return invalidTracer{} }
func (invalidTracer) Start(ctx context.Context, _ string, _ ...trace.SpanStartOption) (context.Context, trace.Span) {
	sp := invalidSpan{}
	return trace.ContextWithSpan(ctx, sp), sp
}
func (invalidSpan) IsRecording() bool { return true }
func (invalidSpan) SpanContext() trace.SpanContext {
	return trace.NewSpanContext(trace.SpanContextConfig{TraceFlags: trace.FlagsSampled})
}

// The span in the returned context is the wrapper: ending it restores, and its
// TracerProvider labels the spans it starts.
func TestSpanFromContext(t *testing.T) {
	tr, rec := newTracer(t)
	ctx, root := tr.Start(context.Background(), "root")
	cctx, _ := tr.Start(ctx, "child")
	gctx, grand := trace.SpanFromContext(cctx).TracerProvider().Tracer("other").Start(cctx, "grandchild")
	checkLabels(t, "in a span from the context's provider", gctx, want(grand, "grandchild"))
	trace.SpanFromContext(gctx).End()
	trace.SpanFromContext(cctx).End()
	checkGoroutine(t, "after ending the child found in its context", want(root, "root"))
	root.End()
	if n := len(rec.Ended()); n != 3 {
		t.Errorf("%d spans ended, want 3", n)
	}
}

// End restores once: ending a span a second time, after another span started
// on the goroutine, leaves that span's labels.
func TestEndTwice(t *testing.T) {
	tr, _ := newTracer(t)
	ctx, root := tr.Start(context.Background(), "root")
	defer root.End()
	_, first := tr.Start(ctx, "first")
	first.End()
	sctx, second := tr.Start(ctx, "second")
	first.End()
	checkLabels(t, "after the first child's second End", sctx, want(second, "second"))
	second.End()
}

// A span ended on another goroutine: that goroutine gets the labels of the
// context the span started from, and the goroutine that started the span keeps
// the span's labels (there is no way to tell goroutines apart).
func TestEndOnAnotherGoroutine(t *testing.T) {
	tr, _ := newTracer(t)
	ctx, root := tr.Start(context.Background(), "root")
	defer root.End()
	_, child := tr.Start(ctx, "async")
	type result struct {
		labels map[string]string
		err    error
	}
	done := make(chan result)
	go func() {
		var r result
		pprof.Do(context.Background(), pprof.Labels("worker", "1"), func(context.Context) {
			child.End()
			r.labels, r.err = ownLabels()
		})
		done <- r
	}()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if w := want(root, "root"); !maps.Equal(r.labels, w) {
		t.Errorf("the goroutine that ended the span: labels %v, want the root's %v", r.labels, w)
	}
	checkGoroutine(t, "the goroutine that started the span", want(child, "async"))
}

func TestLocalRootsOnly(t *testing.T) {
	tr, _ := newTracer(t, meanwhile.LocalRootsOnly())
	ctx, root := tr.Start(context.Background(), "root")
	checkLabels(t, "in root", ctx, want(root, "root"))
	cctx, child := tr.Start(ctx, "child")
	if child.SpanContext().SpanID() == root.SpanContext().SpanID() {
		t.Fatal("the SDK gave the child the root's span ID")
	}
	checkLabels(t, "in child", cctx, want(root, "root"))
	child.End()
	checkGoroutine(t, "after child.End", want(root, "root"))
	root.End()
	checkGoroutine(t, "after root.End", none)
}

// remote is a sampled span context from another process.
var remote = trace.NewSpanContext(trace.SpanContextConfig{
	TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
	SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
	TraceFlags: trace.FlagsSampled,
	Remote:     true,
})

// A span whose parent is in another process is a local root: its own span_id,
// and the remote trace's ID.
func TestRemoteParent(t *testing.T) {
	for _, opts := range [][]meanwhile.Option{nil, {meanwhile.LocalRootsOnly()}} {
		tr, _ := newTracer(t, opts...)
		ctx, sp := tr.Start(trace.ContextWithRemoteSpanContext(context.Background(), remote), "server")
		w := want(sp, "server")
		if w["trace_id"] != "4bf92f3577b34da6a3ce929d0e0e4736" || w["span_id"] == "00f067aa0ba902b7" {
			t.Fatalf("the SDK did not continue the remote trace with a new span: %v", w)
		}
		checkLabels(t, fmt.Sprintf("options %d: in server span", len(opts)), ctx, w)
		sp.End()
	}
}

// A new root inside a span gets its own trace's ID.
func TestNewRootInsideSpan(t *testing.T) {
	tr, _ := newTracer(t)
	ctx, outer := tr.Start(context.Background(), "outer")
	defer outer.End()
	nctx, inner := tr.Start(ctx, "inner", trace.WithNewRoot())
	if inner.SpanContext().TraceID() == outer.SpanContext().TraceID() {
		t.Fatal("the SDK kept the trace for WithNewRoot")
	}
	checkLabels(t, "in new root", nctx, want(inner, "inner"))
	inner.End()
	checkGoroutine(t, "after the new root's End", want(outer, "outer"))
}

func TestWithoutSpanName(t *testing.T) {
	tr, _ := newTracer(t, meanwhile.WithoutSpanName())
	ctx, root := tr.Start(context.Background(), "root")
	cctx, child := tr.Start(ctx, "child")
	w := want(child, "child")
	delete(w, "span_name")
	checkLabels(t, "in child", cctx, w)
	child.End()
	root.End()
}

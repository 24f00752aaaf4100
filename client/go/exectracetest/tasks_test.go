// Every sampled span runs in an execution-trace task named after it, with a
// "meanwhile.span" log event "<trace id>/<span id>" on the goroutine that
// started it; child spans' tasks nest in their parents'. The expected values
// are the IDs the OpenTelemetry SDK gives the spans.
package exectracetest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"runtime/trace"
	"sync/atomic"
	"testing"

	meanwhile "github.com/meanwhile-dev/meanwhile/client/go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	oteltrace "go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	xtrace "golang.org/x/exp/trace"
)

// taskInfo is what the trace says of one task.
type taskInfo struct {
	id, parent xtrace.TaskID
	name       string
	logs       []string // "meanwhile.span" log messages in the task
	logG       []xtrace.GoID
	beginG     xtrace.GoID
	ended      bool
	count      int // tasks of this name in the trace
}

// readTasks reads the tasks of a trace, by name.
func readTasks(t *testing.T, data []byte) map[string]*taskInfo {
	t.Helper()
	r, err := xtrace.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("reading the trace: %v", err)
	}
	byID := map[xtrace.TaskID]*taskInfo{}
	byName := map[string]*taskInfo{}
	for {
		ev, err := r.ReadEvent()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading the trace: %v", err)
		}
		switch ev.Kind() {
		case xtrace.EventTaskBegin:
			tk := ev.Task()
			ti := &taskInfo{id: tk.ID, parent: tk.Parent, name: tk.Type, beginG: ev.Goroutine()}
			if old := byName[tk.Type]; old != nil {
				ti.count = old.count
			}
			ti.count++
			byID[tk.ID] = ti
			byName[tk.Type] = ti
		case xtrace.EventTaskEnd:
			if ti := byID[ev.Task().ID]; ti != nil {
				ti.ended = true
			}
		case xtrace.EventLog:
			l := ev.Log()
			if ti := byID[l.Task]; ti != nil && l.Category == meanwhile.LogCategory {
				ti.logs = append(ti.logs, l.Message)
				ti.logG = append(ti.logG, ev.Goroutine())
			}
		}
	}
	return byName
}

func newTracer(t *testing.T, opts ...meanwhile.Option) oteltrace.Tracer {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return meanwhile.WrapTracerProvider(tp, opts...).Tracer("exectracetest")
}

func ids(sp oteltrace.Span) string {
	sc := sp.SpanContext()
	return sc.TraceID().String() + "/" + sc.SpanID().String()
}

// traced runs f with the execution tracer on and returns the trace.
func traced(t *testing.T, f func()) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Fatal(err)
	}
	f()
	trace.Stop()
	return buf.Bytes()
}

func checkTask(t *testing.T, tasks map[string]*taskInfo, name string, sp oteltrace.Span, parent *taskInfo) *taskInfo {
	t.Helper()
	ti := tasks[name]
	if ti == nil {
		t.Fatalf("no task %q in the trace", name)
	}
	if ti.count != 1 {
		t.Errorf("%d tasks named %q, want 1", ti.count, name)
	}
	if len(ti.logs) != 1 || ti.logs[0] != ids(sp) {
		t.Errorf("task %q: meanwhile.span logs %q, want [%q]", name, ti.logs, ids(sp))
	}
	if len(ti.logG) == 1 && ti.logG[0] != ti.beginG {
		t.Errorf("task %q: log on goroutine %d, task begun on %d", name, ti.logG[0], ti.beginG)
	}
	if !ti.ended {
		t.Errorf("task %q did not end", name)
	}
	if parent == nil && ti.parent != xtrace.BackgroundTask && ti.parent != xtrace.NoTask {
		t.Errorf("task %q: parent %d, want none", name, ti.parent)
	}
	if parent != nil && ti.parent != parent.id {
		t.Errorf("task %q: parent %d, want %q's %d", name, ti.parent, parent.name, parent.id)
	}
	return ti
}

// plainTracer makes recording, sampled spans with their own IDs, without the
// SDK (which starts a task of its own for each span): the spans of a provider
// that is not the SDK.
type plainTracer struct {
	noop.Tracer
	next atomic.Uint64
}

type plainSpan struct {
	noop.Span
	sc oteltrace.SpanContext
}

func (s plainSpan) SpanContext() oteltrace.SpanContext { return s.sc }
func (s plainSpan) IsRecording() bool                  { return true }

func (p *plainTracer) Start(ctx context.Context, _ string, _ ...oteltrace.SpanStartOption) (context.Context, oteltrace.Span) {
	n := p.next.Add(1)
	tid := oteltrace.SpanContextFromContext(ctx).TraceID()
	if !tid.IsValid() {
		binary.BigEndian.PutUint64(tid[8:], n)
	}
	var sid oteltrace.SpanID
	binary.BigEndian.PutUint64(sid[:], n)
	sp := plainSpan{sc: oteltrace.NewSpanContext(oteltrace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: oteltrace.FlagsSampled})}
	return oteltrace.ContextWithSpan(ctx, sp), sp
}

type plainProvider struct{ noop.TracerProvider }

func (plainProvider) Tracer(string, ...oteltrace.TracerOption) oteltrace.Tracer {
	return &plainTracer{}
}

// providers are the two kinds of provider wrapped: the SDK's and another.
var providers = map[string]func(*testing.T) oteltrace.TracerProvider{
	"sdk": func(t *testing.T) oteltrace.TracerProvider {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
		t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
		return tp
	},
	"plain": func(*testing.T) oteltrace.TracerProvider { return plainProvider{} },
}

func TestSpanTaskAndLog(t *testing.T) {
	for pname, provider := range providers {
		for _, tc := range []struct {
			name string
			opts []meanwhile.Option
		}{{"labels", nil}, {"local-roots-only", []meanwhile.Option{meanwhile.LocalRootsOnly()}}} {
			t.Run(pname+"/"+tc.name, func(t *testing.T) {
				tr := meanwhile.WrapTracerProvider(provider(t), tc.opts...).Tracer("exectracetest")
				var root, child, grandchild oteltrace.Span
				data := traced(t, func() {
					ctx, sp := tr.Start(context.Background(), "root")
					root = sp
					cctx, sp := tr.Start(ctx, "child")
					child = sp
					_, grandchild = tr.Start(cctx, "grandchild")
					grandchild.End()
					child.End()
					root.End()
				})
				tasks := readTasks(t, data)
				r := checkTask(t, tasks, "root", root, nil)
				c := checkTask(t, tasks, "child", child, r)
				checkTask(t, tasks, "grandchild", grandchild, c)
				if r.beginG != c.beginG {
					t.Errorf("root on goroutine %d, child on %d", r.beginG, c.beginG)
				}
			})
		}
	}
}

// A span started on another goroutine with the span's context nests there too,
// and its log event is on that goroutine.
func TestTaskOnOtherGoroutine(t *testing.T) {
	for pname, provider := range providers {
		t.Run(pname, func(t *testing.T) {
			tr := meanwhile.WrapTracerProvider(provider(t)).Tracer("exectracetest")
			var root, worker oteltrace.Span
			data := traced(t, func() {
				ctx, sp := tr.Start(context.Background(), "root")
				root = sp
				done := make(chan struct{})
				go func() {
					defer close(done)
					_, worker = tr.Start(ctx, "worker")
					worker.End()
				}()
				<-done
				root.End()
			})
			tasks := readTasks(t, data)
			r := checkTask(t, tasks, "root", root, nil)
			w := checkTask(t, tasks, "worker", worker, r)
			if w.beginG == r.beginG {
				t.Errorf("worker's task begun on the root's goroutine %d", r.beginG)
			}
		})
	}
}

// Spans that started while the tracer was off get no task: the trace holds
// tasks only of the spans that started while it ran.
func TestNoTaskWhenTracingOff(t *testing.T) {
	for pname, provider := range providers {
		t.Run(pname, func(t *testing.T) {
			tr := meanwhile.WrapTracerProvider(provider(t)).Tracer("exectracetest")
			ctx, before := tr.Start(context.Background(), "before")
			var during oteltrace.Span
			data := traced(t, func() {
				_, during = tr.Start(ctx, "during")
				during.End()
				before.End()
			})
			tasks := readTasks(t, data)
			if tasks["before"] != nil {
				t.Errorf("a task for a span started before the tracer: %+v", tasks["before"])
			}
			checkTask(t, tasks, "during", during, nil)
		})
	}
}

// Spans the sampler drops get no task.
func TestUnsampledNoTask(t *testing.T) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tr := meanwhile.WrapTracerProvider(tp).Tracer("exectracetest")
	data := traced(t, func() {
		_, sp := tr.Start(context.Background(), "dropped")
		sp.End()
	})
	if ti := readTasks(t, data)["dropped"]; ti != nil {
		t.Errorf("a task for a span not sampled: %+v", ti)
	}
}

// The converter against real traces (tests/data/exectrace/go1.N/, written by
// internal/capture): each check compares the records with what the traced
// program recorded of itself in expected.json — its goroutine ids, time.Now()
// pairs around each wait, the span ids it logged.
package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// go1.24 traces have no clock snapshots: they are aligned by the capture's
// start (the program's time.Now() just before trace.Start).
var fixtureDirs = []string{"go1.24", "go1.26", "go1.27"}

func hasClockSnapshots(dir string) bool { return dir != "go1.24" }

type expected struct {
	Go         string              `json:"go"`
	Goroutines map[string]uint64   `json:"goroutines"`
	Windows    map[string][2]int64 `json:"windows"`
	Spans      map[string]string   `json:"spans"`
	Values     map[string]int64    `json:"values"`
}

func dataDir() string { return filepath.Join("..", "tests", "data", "exectrace") }

func loadExpected(t *testing.T, dir string) map[string]expected {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir(), dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]expected
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func convertFile(t *testing.T, path string, opt options) *records {
	t.Helper()
	in, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := convert(bytes.NewReader(in), &out, opt); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	r, err := decodeRecords(out.Bytes())
	if err != nil {
		t.Fatalf("%s: decoding the output: %v", path, err)
	}
	if r.Summary == nil {
		t.Fatalf("%s: no summary", path)
	}
	return r
}

// fixture is one scenario's records with what its program recorded.
type fixture struct {
	t     *testing.T
	r     *records
	e     expected
	slack int64 // the alignment's stated error + 1 ms
}

func load(t *testing.T, dir, name string) *fixture {
	e, ok := loadExpected(t, dir)[name]
	if !ok {
		t.Fatalf("expected.json of %s has no %s", dir, name)
	}
	var opt options
	want := int(alignClockSnapshot)
	if !hasClockSnapshots(dir) {
		opt.captureTime = e.Windows["capture"][0]
		want = alignCaptureTime
	}
	r := convertFile(t, filepath.Join(dataDir(), dir, name+".trace"), opt)
	if r.Summary.Alignment != want {
		t.Fatalf("alignment %d, want %d (%s)", r.Summary.Alignment, want, e.Go)
	}
	if want == alignCaptureTime && (r.Summary.Start != opt.captureTime || r.Summary.ClockError != captureTimeError) {
		t.Fatalf("summary %+v: want the first event at the capture time %d, clock error %d", r.Summary, opt.captureTime, captureTimeError)
	}
	return &fixture{t: t, r: r, e: e, slack: r.Summary.ClockError + int64(time.Millisecond)}
}

func (f *fixture) g(name string) uint64 {
	id, ok := f.e.Goroutines[name]
	if !ok {
		f.t.Fatalf("no goroutine %q in expected.json", name)
	}
	return id
}

func (f *fixture) window(name string) [2]int64 {
	w, ok := f.e.Windows[name]
	if !ok {
		f.t.Fatalf("no window %q in expected.json", name)
	}
	return w
}

// inside says whether [a, b] lies in window w widened by the slack.
func (f *fixture) inside(a, b int64, w [2]int64) bool {
	return a >= w[0]-f.slack && b <= w[1]+f.slack
}

// the one interval of goroutine g in state (longer than 1 ms) that lies mostly
// in window w (fatal unless exactly one), checked to lie inside w ± slack.
func (f *fixture) only(g uint64, state State, w [2]int64) dInterval {
	f.t.Helper()
	var found []dInterval
	for _, iv := range f.r.Intervals {
		overlap := min(iv.End, w[1]) - max(iv.Start, w[0])
		if iv.G == g && iv.State == int(state) && iv.End-iv.Start > int64(time.Millisecond) && overlap > (iv.End-iv.Start)/2 {
			found = append(found, iv)
		}
	}
	if len(found) != 1 {
		f.t.Fatalf("goroutine %d: %d intervals of state %d longer than 1 ms overlapping %v, want 1: %+v", g, len(found), state, w, found)
	}
	iv := found[0]
	if !f.inside(iv.Start, iv.End, w) {
		f.t.Errorf("goroutine %d: interval [%d, %d] not inside the program's window %v ± %d ns", g, iv.Start, iv.End, w, f.slack)
	}
	return iv
}

// wakeAt is the wake edge of g at time t (fatal if none).
func (f *fixture) wakeAt(g uint64, t int64) dWake {
	f.t.Helper()
	for _, w := range f.r.Wakes {
		if w.G == g && w.Time == t {
			return w
		}
	}
	f.t.Fatalf("no wake of goroutine %d at %d", g, t)
	return dWake{}
}

func (f *fixture) stackHas(id uint32, fn string) bool {
	for _, fr := range f.r.Stacks[id] {
		if strings.Contains(fr.Func, fn) {
			return true
		}
	}
	return false
}

func (f *fixture) spanRef(name string) uint32 {
	f.t.Helper()
	want := f.e.Spans[name]
	for i, s := range f.r.Spans {
		if hex.EncodeToString(s.TraceID)+"/"+hex.EncodeToString(s.SpanID) == want ||
			(len(s.TraceID) == 0 && hex.EncodeToString(s.SpanID) == want) {
			return uint32(i + 1)
		}
	}
	f.t.Fatalf("span %s (%s) not in the records: %+v", name, want, f.r.Spans)
	return 0
}

func forEachGo(t *testing.T, fn func(t *testing.T, dir string)) {
	for _, dir := range fixtureDirs {
		t.Run(dir, func(t *testing.T) { fn(t, dir) })
	}
}

func checkChan(f *fixture) {
	t := f.t
	recv, send := f.g("receiver"), f.g("sender")
	wait, sent := f.window("wait"), f.window("send")
	iv := f.only(recv, stateBlocked, wait)
	if iv.Reason != "chan" || iv.Raw != "chan receive" {
		t.Errorf("reason %q raw %q, want chan / chan receive", iv.Reason, iv.Raw)
	}
	d := time.Duration(iv.End - iv.Start)
	if d < 39*time.Millisecond || d > 41*time.Millisecond+time.Duration(wait[1]-wait[0])-40*time.Millisecond {
		t.Errorf("blocked %v, want 40 ms ± 1 ms (the program waited %v)", d, time.Duration(wait[1]-wait[0]))
	}
	if !f.inside(iv.End, iv.End, sent) {
		t.Errorf("blocked interval ends at %d, outside the send window %v", iv.End, sent)
	}
	if !f.stackHas(iv.Stack, "runtime.chanrecv") {
		t.Errorf("blocked stack %v lacks runtime.chanrecv", f.r.Stacks[iv.Stack])
	}
	w := f.wakeAt(recv, iv.End)
	if w.Waker != send {
		t.Errorf("woken by goroutine %d, want the sender %d", w.Waker, send)
	}
	if !f.stackHas(w.WakerStack, "runtime.chansend") {
		t.Errorf("waker stack %v lacks runtime.chansend", f.r.Stacks[w.WakerStack])
	}
}

func TestChanWait(t *testing.T) {
	forEachGo(t, func(t *testing.T, dir string) { checkChan(load(t, dir, "chan")) })
}

func TestFlightRecorder(t *testing.T) {
	forEachGo(t, func(t *testing.T, dir string) {
		if !hasClockSnapshots(dir) {
			t.Skip("runtime/trace has no flight recorder before Go 1.25")
		}
		checkChan(load(t, dir, "flight"))
	})
}

// A trace without clock snapshots and without -capture-time: times stay the
// trace clock's, and the summary says so.
func TestAlignmentNone(t *testing.T) {
	r := convertFile(t, filepath.Join(dataDir(), "go1.24", "chan.trace"), options{})
	e := loadExpected(t, "go1.24")["chan"]
	if r.Summary.Alignment != alignNone || r.Summary.ClockError != 0 {
		t.Fatalf("summary %+v, want alignment NONE", r.Summary)
	}
	if r.Summary.Start >= e.Windows["capture"][0]/2 {
		t.Errorf("start %d looks like unix time; want the trace clock", r.Summary.Start)
	}
}

func TestMutexWait(t *testing.T) {
	forEachGo(t, func(t *testing.T, dir string) {
		f := load(t, dir, "mutex")
		iv := f.only(f.g("waiter"), stateBlocked, f.window("wait"))
		if iv.Reason != "mutex" || iv.Raw != "sync" {
			t.Errorf("reason %q raw %q, want mutex / sync", iv.Reason, iv.Raw)
		}
		if d := time.Duration(iv.End - iv.Start); d < 29*time.Millisecond {
			t.Errorf("blocked %v, want about 30 ms", d)
		}
		w := f.wakeAt(f.g("waiter"), iv.End)
		if w.Waker != f.g("holder") {
			t.Errorf("woken by goroutine %d, want the holder %d", w.Waker, f.g("holder"))
		}
		if !f.inside(w.Time, w.Time, f.window("unlock")) {
			t.Errorf("wake at %d outside the unlock window %v", w.Time, f.window("unlock"))
		}
		if !f.stackHas(w.WakerStack, "Unlock") {
			t.Errorf("waker stack %v lacks Unlock", f.r.Stacks[w.WakerStack])
		}
	})
}

func TestSleep(t *testing.T) {
	forEachGo(t, func(t *testing.T, dir string) {
		f := load(t, dir, "sleep")
		iv := f.only(f.g("sleeper"), stateBlocked, f.window("wait"))
		if iv.Reason != "sleep" {
			t.Errorf("reason %q raw %q, want sleep", iv.Reason, iv.Raw)
		}
		if d := time.Duration(iv.End - iv.Start); d < 19*time.Millisecond {
			t.Errorf("blocked %v, want about 20 ms", d)
		}
		if w := f.wakeAt(f.g("sleeper"), iv.End); w.Waker == f.g("sleeper") {
			t.Errorf("woken by itself")
		}
		// GOMAXPROCS: the value at the start, 1 in procs1, back in procs_back
		n := int32(f.e.Values["gomaxprocs"])
		var got []dProcs
		for _, p := range f.r.Procs {
			got = append(got, p)
		}
		if len(got) != 3 || got[0].N != n || got[0].Time != f.r.Summary.Start ||
			got[1].N != 1 || !f.inside(got[1].Time, got[1].Time, f.window("procs1")) ||
			got[2].N != n || !f.inside(got[2].Time, got[2].Time, f.window("procs_back")) {
			t.Errorf("procs %+v: want %d at the start %d, 1 in %v, %d in %v", got, n, f.r.Summary.Start,
				f.window("procs1"), n, f.window("procs_back"))
		}
	})
}

func TestIOAndSyscall(t *testing.T) {
	forEachGo(t, func(t *testing.T, dir string) {
		f := load(t, dir, "io")
		iv := f.only(f.g("reader"), stateBlocked, f.window("wait"))
		if iv.Reason != "io" || iv.Raw != "network" {
			t.Errorf("reason %q raw %q, want io / network", iv.Reason, iv.Raw)
		}
		if d := time.Duration(iv.End - iv.Start); d < 29*time.Millisecond {
			t.Errorf("blocked %v, want about 30 ms", d)
		}
		sc := f.only(f.g("sysreader"), stateSyscall, f.window("syswait"))
		if d := time.Duration(sc.End - sc.Start); d < 29*time.Millisecond {
			t.Errorf("syscall %v, want about 30 ms", d)
		}
		if !f.stackHas(sc.Stack, "syscall.Read") {
			t.Errorf("syscall stack %v lacks syscall.Read", f.r.Stacks[sc.Stack])
		}
	})
}

func TestGC(t *testing.T) {
	forEachGo(t, func(t *testing.T, dir string) {
		f := load(t, dir, "gc")
		forced := f.window("forced")
		var gcIn, stwIn int
		for _, w := range f.r.Windows {
			if w.End < w.Start {
				t.Errorf("window %+v ends before it starts", w)
			}
			if !f.inside(w.Start, w.End, forced) {
				continue
			}
			switch w.Kind {
			case windowGC:
				gcIn++
			case windowSTW:
				stwIn++
				if w.Reason == "" {
					t.Errorf("STW window without a reason")
				}
			}
		}
		if gcIn < 1 || stwIn < 2 {
			t.Errorf("inside runtime.GC()'s window: %d GC windows (want ≥ 1), %d STW windows (want ≥ 2)", gcIn, stwIn)
		}
		allocators := map[uint64]bool{}
		for name, id := range f.e.Goroutines {
			if strings.HasPrefix(name, "allocator") {
				allocators[id] = true
			}
		}
		var assists int
		for _, iv := range f.r.Intervals {
			if iv.State == int(stateGCAssist) && allocators[iv.G] {
				assists++
			}
		}
		if assists == 0 {
			t.Errorf("no GC_ASSIST interval on the allocators %v", allocators)
		}
		// Four allocators on at most the machine's two Ps: whenever the world
		// stops while they run, some are runnable or running, so STOPPED.
		var stopped int
		for _, iv := range f.r.Intervals {
			if iv.State != int(stateStopped) {
				continue
			}
			if allocators[iv.G] {
				stopped++
			}
			in := false
			for _, w := range f.r.Windows {
				if w.Kind == windowSTW && iv.Start >= w.Start && iv.End <= w.End && iv.Raw == w.Reason {
					in = true
				}
			}
			if !in {
				t.Errorf("STOPPED interval %+v is not inside an STW window of its reason", iv)
			}
		}
		if stopped == 0 {
			t.Errorf("no STOPPED interval on the allocators")
		}
		if len(f.r.Procs) == 0 || f.r.Procs[0].N < 1 {
			t.Errorf("procs %+v, want GOMAXPROCS at the start", f.r.Procs)
		}
	})
}

func TestSpans(t *testing.T) {
	forEachGo(t, func(t *testing.T, dir string) {
		f := load(t, dir, "spans")
		outer, inner, ended, dd := f.spanRef("outer"), f.spanRef("inner"), f.spanRef("ended"), f.spanRef("dd")
		names := map[uint32]string{outer: "GET /outer", inner: "db.query", ended: "async", dd: "dd.op"}
		for ref, name := range names {
			if got := f.r.Spans[ref-1].Name; got != name {
				t.Errorf("span %d named %q, want %q", ref, got, name)
			}
		}
		if len(f.r.Spans[dd-1].TraceID) != 0 {
			t.Errorf("the Datadog span has a trace id")
		}
		check := func(g, window string, state State, reason string, span uint32) {
			t.Helper()
			iv := f.only(f.g(g), state, f.window(window))
			if iv.Reason != reason || iv.Span != span {
				t.Errorf("%s in %s: reason %q span %d, want %q span %d", g, window, iv.Reason, iv.Span, reason, span)
			}
		}
		check("worker", "outer_wait", stateBlocked, "chan", outer)
		check("worker", "inner_sleep", stateBlocked, "sleep", inner)
		check("worker", "outer_after", stateBlocked, "sleep", outer)
		check("dd", "dd_sleep", stateBlocked, "sleep", dd)
		check("ended", "ended_before", stateBlocked, "sleep", ended)
		check("ended", "ended_after", stateBlocked, "sleep", 0)
		// the sender's wake of the worker carries both spans: the worker's
		iv := f.only(f.g("worker"), stateBlocked, f.window("outer_wait"))
		if w := f.wakeAt(f.g("worker"), iv.End); w.Span != outer || w.Waker != f.g("sender") || w.WakerSpan != 0 {
			t.Errorf("wake %+v: want span %d, waker %d without a span", w, outer, f.g("sender"))
		}
		// a waker inside a span: the wake carries the waker's span
		notify := f.spanRef("notify")
		li := f.only(f.g("listener"), stateBlocked, f.window("listen"))
		if w := f.wakeAt(f.g("listener"), li.End); w.Waker != f.g("notifier") || w.WakerSpan != notify || w.Span != 0 || li.Span != 0 {
			t.Errorf("listener's wake %+v (interval span %d): want waker %d with span %d, no span of its own", w, li.Span, f.g("notifier"), notify)
		}
		// no interval of the worker outside the outer window carries a span
		for _, iv := range f.r.Intervals {
			if iv.G == f.g("worker") && iv.Span != 0 && !f.inside(iv.Start, iv.End, f.window("outer")) {
				t.Errorf("interval %+v outside the span's window carries span %d", iv, iv.Span)
			}
		}
	})
}

// States already on at the trace's start or still on at its end are clipped
// to the trace's bounds and say so; the reason of a wait that began before
// the trace comes from the goroutine's stack.
func TestClippedAtTheBounds(t *testing.T) {
	forEachGo(t, func(t *testing.T, dir string) {
		f := load(t, dir, "preblocked")
		sum := f.r.Summary
		var recv *dInterval
		for i, iv := range f.r.Intervals {
			if iv.G == f.g("receiver") && iv.State == int(stateBlocked) {
				if recv != nil {
					t.Fatalf("receiver: two BLOCKED intervals %+v %+v", *recv, iv)
				}
				recv = &f.r.Intervals[i]
			}
		}
		if recv == nil {
			t.Fatalf("receiver %d: no BLOCKED interval", f.g("receiver"))
		}
		if !recv.ClippedStart || recv.Start != sum.Start || recv.ClippedEnd {
			t.Errorf("receiver %+v: want clipped at the trace's start %d only", *recv, sum.Start)
		}
		if recv.Reason != "chan" {
			t.Errorf("receiver blocked for %q (raw %q), want chan (from its stack)", recv.Reason, recv.Raw)
		}
		if !f.inside(recv.End, recv.End, f.window("send")) {
			t.Errorf("receiver's wait ends at %d, outside the send window %v", recv.End, f.window("send"))
		}
		if w := f.wakeAt(f.g("receiver"), recv.End); w.Waker != f.g("sender") {
			t.Errorf("receiver woken by %d, want sender %d", w.Waker, f.g("sender"))
		}
		var stuck *dInterval
		for i, iv := range f.r.Intervals {
			if iv.G == f.g("stuck") && iv.State == int(stateBlocked) {
				stuck = &f.r.Intervals[i]
			}
		}
		if stuck == nil || !stuck.ClippedEnd || stuck.End != sum.End || stuck.ClippedStart || stuck.Reason != "chan" {
			t.Fatalf("stuck: %+v, want a BLOCKED chan interval clipped at the trace's end %d", stuck, sum.End)
		}
		if !f.inside(stuck.Start, stuck.Start, f.window("stuck_from")) {
			t.Errorf("stuck's wait starts at %d, outside its window %v", stuck.Start, f.window("stuck_from"))
		}
		// a task begun before the trace: its span is known from the log, but
		// not its name (the trace has the task's type only in its begin)
		pre := f.spanRef("pre")
		if name := f.r.Spans[pre-1].Name; name != "" {
			t.Errorf("span pre named %q, want no name", name)
		}
		if iv := f.only(f.g("main"), stateBlocked, f.window("pre_sleep")); iv.Span != pre || iv.Reason != "sleep" {
			t.Errorf("main's sleep %+v: want span %d", iv, pre)
		}
	})
}

// A 1.3 s wait spans generations (each with its own clock snapshot): still one
// interval, aligned at both ends.
func TestAcrossGenerations(t *testing.T) {
	forEachGo(t, func(t *testing.T, dir string) {
		f := load(t, dir, "long")
		if f.r.Summary.Generations < 2 {
			t.Fatalf("%d generations, want ≥ 2", f.r.Summary.Generations)
		}
		wait := f.window("wait")
		iv := f.only(f.g("receiver"), stateBlocked, wait)
		d := time.Duration(iv.End - iv.Start)
		if d < 1299*time.Millisecond || d > time.Duration(wait[1]-wait[0])+time.Millisecond {
			t.Errorf("blocked %v, want 1.3 s (the program waited %v)", d, time.Duration(wait[1]-wait[0]))
		}
		if w := f.wakeAt(f.g("receiver"), iv.End); w.Waker != f.g("sender") {
			t.Errorf("woken by %d, want sender %d", w.Waker, f.g("sender"))
		}
		if !f.inside(iv.End, iv.End, f.window("send")) {
			t.Errorf("wait ends at %d, outside the send window %v", iv.End, f.window("send"))
		}
	})
}

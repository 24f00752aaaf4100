// The conversion itself: reads one Go execution trace with golang.org/x/exp/trace
// and turns its event stream into the records of records.proto — per goroutine
// the intervals of its states, the wake edges between goroutines, GC and
// stop-the-world windows, GOMAXPROCS changes and the spans (Meanwhile's and
// Datadog's trace.Log conventions, docs/EXECTRACE.md) that goroutines ran.
//
// The reader delivers events in time order, one generation at a time; this
// file keeps only what is open (each goroutine's current state, its stack of
// spans, the open windows) and writes each record as soon as it closes, so
// memory follows the number of live goroutines, not the length of the trace.
package main

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/exp/trace"
)

// options of one conversion (main.go's flags).
type options struct {
	// captureTime is the unix ns at which the capture began, 0 if unknown.
	// It aligns traces without clock snapshots (Go < 1.25).
	captureTime int64
}

// captureTimeError is the clock error stated for CAPTURE_TIME alignment: the
// first event is put at the capture's start, which the caller reads before
// starting the trace, and trace.Start takes its time before the first event
// (0.1 to 5 ms measured on a busy 2-core machine, go1.24 fixtures; a
// /debug/pprof/trace request adds its round trip). 10 ms bounds that.
const captureTimeError = int64(10_000_000)

// traceError is a trace that cannot be read; its message is the one line
// main prints (exit 2).
type traceError struct{ msg string }

func (e *traceError) Error() string { return e.msg }

type spanRef struct {
	task trace.TaskID
	idx  uint32 // Records.spans index + 1
}

// gstate is what is known of one live goroutine.
type gstate struct {
	id   uint64
	base State // the state the trace says (RUNNING, RUNNABLE, BLOCKED, SYSCALL); 0 unknown
	// reason and raw reason of base, and the stack where it entered base
	reason, raw string
	stack       uint32
	cur         interval // the interval being written (cur.state 0: none)
	assist      interval // the open GC assist range (assist.state 0: none)
	spans       []spanRef
	live        int // index in converter.live
}

func (g *gstate) span() uint32 {
	if len(g.spans) == 0 {
		return 0
	}
	return g.spans[len(g.spans)-1].idx
}

type window struct {
	open         bool
	start        int64
	reason       string
	clippedStart bool
	g            trace.GoID // for STW: the goroutine that stopped the world
}

type converter struct {
	w   writer
	opt options

	// time alignment
	alignment  int32
	snapTrace  int64
	snapWall   int64
	snapRate   float64 // wall ns per trace ns after the snapshot (0: 1, not measured)
	haveSnap   bool
	clockError int64
	firstTime  int64
	haveFirst  bool

	sum     summary
	lastNS  int64
	gs      map[trace.GoID]*gstate
	live    []*gstate // the same, in an order that depends only on the trace (output is reproducible)
	seen    map[trace.GoID]struct{}
	gc, stw window

	procs int64

	// stacks: by handle within a generation, by program counters across them
	byHandle  map[trace.Stack]uint32
	byPCs     map[string]uint32
	stackKind []string // per stack id: the block reason its frames suggest ("" none)
	pcKey     []byte
	frames    []frame

	tasks  map[trace.TaskID]string    // active task -> type
	taskGs map[trace.TaskID][]*gstate // task -> goroutines with it on their span stack
	spans  map[string]uint32          // trace id + span id + task -> span ref
	syncs  int
	format int        // N of the header's "go 1.N trace"
	input  *eofReader // the trace's bytes
}

// convert reads a trace from r and writes Records to out. Errors are
// *traceError (the trace is unreadable) or the output's write error.
func convert(r io.Reader, out io.Writer, opt options) error {
	br := bufio.NewWriterSize(out, 64<<10)
	c := &converter{
		w:         writer{out: br},
		opt:       opt,
		gs:        make(map[trace.GoID]*gstate),
		seen:      make(map[trace.GoID]struct{}),
		byHandle:  make(map[trace.Stack]uint32),
		byPCs:     make(map[string]uint32),
		stackKind: []string{""},
		tasks:     make(map[trace.TaskID]string),
		taskGs:    make(map[trace.TaskID][]*gstate),
		spans:     make(map[string]uint32),
	}
	if err := c.run(r); err != nil {
		return err
	}
	return br.Flush()
}

// eofReader remembers whether its reader has reached the end.
type eofReader struct {
	r   io.Reader
	eof bool
}

func (e *eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		e.eof = true
	}
	return n, err
}

// libraryPanic turns a panic of golang.org/x/exp/trace into an error: the
// reader trusts some fields of the trace it has not validated (e.g. a P's
// status indexes a table; found by FuzzConvert, testdata/fuzz/FuzzConvert/),
// so a corrupt trace can make it panic in an accessor such as
// Event.StateTransition. Only panics raised inside that package are
// recovered, and each becomes this trace's error; any other panic is a bug of
// this program and goes on.
func (c *converter) libraryPanic(err *error) {
	p := recover()
	if p == nil {
		return
	}
	if !panickedIn("golang.org/x/exp/trace.") {
		panic(p)
	}
	gen := max(c.syncs, 1)
	*err = &traceError{fmt.Sprintf("malformed trace in generation %d: golang.org/x/exp/trace cannot decode an event (%s)", gen, oneLine(fmt.Sprint(p)))}
}

// panickedIn says whether the function that panicked (the first frame under
// the runtime's panic machinery) has the prefix. Called from a deferred
// function while panicking, when the panicking frames are still on the stack.
func panickedIn(prefix string) bool {
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs)])
	inPanic := false
	for {
		f, more := frames.Next()
		switch {
		case f.Function == "runtime.gopanic":
			inPanic = true
		case inPanic && !strings.HasPrefix(f.Function, "runtime."):
			return strings.HasPrefix(f.Function, prefix)
		}
		if !more {
			return false
		}
	}
}

func (c *converter) run(in io.Reader) (err error) {
	defer c.libraryPanic(&err)
	br := bufio.NewReaderSize(in, 64<<10)
	c.format = formatVersion(br)
	r := &eofReader{r: br}
	c.input = r
	tr, err := trace.NewReader(r)
	if err != nil {
		return headerError(err, c.format)
	}
	for {
		ev, err := tr.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			return c.readError(err)
		}
		c.event(&ev)
	}
	if c.sum.events <= 2 { // the reader's opening and closing Sync only
		return &traceError{"truncated: the trace has a header but no events"}
	}
	c.finish()
	return nil
}

// formatVersion is N of the trace's "go 1.N trace" header (0 if it has none);
// the reader reads the header itself.
func formatVersion(br *bufio.Reader) int {
	b, _ := br.Peek(16)
	var n int
	if _, err := fmt.Sscanf(string(b), "go 1.%d trace", &n); err != nil {
		return 0
	}
	return n
}

func headerError(err error, format int) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "not a Go execution trace"):
		return &traceError{"not a Go execution trace (no \"go 1.N trace\" header)"}
	case strings.Contains(msg, "unsupported"):
		return &traceError{fmt.Sprintf("unsupported trace version go 1.%d (meanwhile-exectrace reads the traces of Go 1.11 to 1.27; a newer Go needs a newer golang.org/x/exp in exectrace/)", format)}
	}
	return &traceError{"not a Go execution trace: " + oneLine(msg)}
}

func (c *converter) readError(err error) error {
	gen := c.syncs
	if gen < 1 {
		gen = 1
	}
	msg := oneLine(err.Error())
	// The reader says "truncated" in several ways: an EOF (wrapped) inside a
	// batch's header, a batch shorter than its size, a generation without its
	// end. Traces before Go 1.26 do not mark a generation's end: cut there,
	// the last generation misses the strings and stacks its events name, and
	// the reader finds those missing once it has read to the input's end.
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		strings.Contains(msg, "failed to read full") || strings.Contains(msg, "truncated") ||
		(c.format < 26 && c.input.eof) {
		return &traceError{fmt.Sprintf("truncated in generation %d: %s", gen, msg)}
	}
	return &traceError{fmt.Sprintf("malformed trace in generation %d: %s", gen, msg)}
}

// oneLine keeps an error's first line, bounded and printable: the reader's
// messages can carry multi-line dumps of its state, and strings of the trace
// (any bytes).
func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError || !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// ns converts a trace time to the output's time (see Summary.alignment).
func (c *converter) ns(t trace.Time) int64 {
	switch c.alignment {
	case alignClockSnapshot:
		return c.snapWall + c.wallSince(int64(t)-c.snapTrace)
	case alignCaptureTime:
		return c.opt.captureTime + (int64(t) - c.firstTime)
	}
	return int64(t)
}

// minRateSpan is the shortest time between two clock snapshots that the wall
// clock's rate is measured over; maxWallRate the largest departure from 1 it
// may have.
const (
	minRateSpan = int64(100_000_000)
	maxWallRate = 0.01
)

// wallSince is how much the wall clock advances in d ns of the trace clock
// after the last snapshot.
func (c *converter) wallSince(d int64) int64 {
	if c.snapRate == 0 {
		return d
	}
	return int64(math.Round(float64(d) * c.snapRate))
}

func (c *converter) sync(ev *trace.Event) {
	c.syncs++
	clear(c.byHandle) // stack handles are the generation's
	snap := ev.Sync().ClockSnapshot
	if !c.haveFirst {
		c.haveFirst = true
		c.firstTime = int64(ev.Time())
		switch {
		case snap != nil:
			c.alignment = alignClockSnapshot
		case c.opt.captureTime != 0:
			c.alignment = alignCaptureTime
			c.clockError = captureTimeError
		default:
			c.alignment = alignNone
		}
	}
	if snap == nil || c.alignment != alignClockSnapshot {
		return
	}
	c.clockSnapshot(int64(snap.Trace), snap.Wall.UnixNano())
}

// clockSnapshot takes the pair of clock readings a generation starts with:
// from here on, trace times map to wall times through it.
func (c *converter) clockSnapshot(traceNs, wall int64) {
	if c.haveSnap {
		// What the previous snapshot predicts for this one against what the
		// wall clock says: the drift (or a step) of the wall clock against the
		// trace clock inside one generation bounds the alignment's error.
		dt := traceNs - c.snapTrace
		d := c.snapWall + c.wallSince(dt) - wall
		if d < 0 {
			d = -d
		}
		c.clockError = max(c.clockError, d)
		// The wall clock's rate against the trace clock over the last
		// generation carries on into the next: a wall clock that NTP slews
		// (up to 500 ppm) or a VM catching up (seen: 5,000 ppm) would
		// otherwise put the events of a one-second generation milliseconds
		// off. A rate past maxWallRate is a step of the clock, not a rate.
		c.snapRate = 0
		if dt >= minRateSpan {
			if r := float64(wall-c.snapWall) / float64(dt); r > 1-maxWallRate && r < 1+maxWallRate {
				c.snapRate = r
			}
		}
	}
	c.haveSnap = true
	c.snapTrace = traceNs
	c.snapWall = wall
}

func (c *converter) event(ev *trace.Event) {
	kind := ev.Kind()
	if kind == trace.EventSync {
		c.sync(ev)
	}
	t := c.ns(ev.Time())
	if c.sum.events == 0 {
		c.sum.start = t
	}
	c.sum.events++
	if t > c.lastNS || c.sum.events == 1 {
		c.lastNS = t
	}
	switch kind {
	case trace.EventStateTransition:
		st := ev.StateTransition()
		if st.Resource.Kind == trace.ResourceGoroutine {
			c.goTransition(ev, &st, t)
		}
	case trace.EventRangeBegin, trace.EventRangeActive, trace.EventRangeEnd:
		c.rangeEvent(ev, kind, t)
	case trace.EventMetric:
		m := ev.Metric()
		if m.Name == "/sched/gomaxprocs:threads" && m.Value.Kind() == trace.ValueUint64 {
			if n := int64(m.Value.Uint64()); n != c.procs {
				if c.procs == 0 {
					t = c.sum.start // the first is a status: the value since the start
				}
				c.procs = n
				c.w.procs(t, int32(n))
			}
		}
	case trace.EventTaskBegin:
		task := ev.Task()
		c.tasks[task.ID] = task.Type
	case trace.EventTaskEnd:
		c.taskEnd(ev.Task().ID, t)
	case trace.EventLog:
		c.log(ev, t)
	}
}

func (c *converter) g(id trace.GoID) *gstate {
	g := c.gs[id]
	if g == nil {
		g = &gstate{id: uint64(id)}
		c.gs[id] = g
		g.live = len(c.live)
		c.live = append(c.live, g)
		c.seen[id] = struct{}{}
	}
	return g
}

func (c *converter) goTransition(ev *trace.Event, st *trace.StateTransition, t int64) {
	id := st.Resource.Goroutine()
	from, to := st.Goroutine()
	if to == trace.GoNotExist {
		if g := c.gs[id]; g != nil {
			c.close(g, t)
			if g.assist.state != 0 {
				c.endInterval(&g.assist, t)
			}
			for _, s := range g.spans {
				c.dropTaskG(s.task, g)
			}
			delete(c.gs, id)
			last := c.live[len(c.live)-1]
			c.live[g.live], last.live = last, g.live
			c.live = c.live[:len(c.live)-1]
		}
		return
	}
	g := c.g(id)
	stack := g.stack
	if st.Stack != trace.NoStack {
		stack = c.stackID(st.Stack)
	}
	var state State
	reason, raw := "", st.Reason
	switch to {
	case trace.GoRunnable:
		state = stateRunnable
	case trace.GoRunning:
		state = stateRunning
	case trace.GoWaiting:
		state = stateBlocked
		reason = c.blockReason(raw, stack)
	case trace.GoSyscall:
		state = stateSyscall
	default:
		return
	}
	if from == trace.GoUndetermined || (from == to && g.cur.state != 0) {
		// A status: the runtime states a goroutine's state in each
		// generation when it first touches it. A goroutine not yet known
		// was not created inside the trace (that would have shown), and
		// nothing happened to it until now: it has been so since before the
		// trace's start. Of one already known the status says nothing new.
		if g.base == 0 {
			c.set(g, state, reason, raw, stack, c.sum.start, true)
		}
		return
	}
	if from == trace.GoWaiting && to == trace.GoRunnable {
		waker := ev.Goroutine()
		wk := wake{g: g.id, time: t, span: g.span()}
		if waker != trace.NoGoroutine && waker != id {
			wk.waker = uint64(waker)
			wk.wakerStack = c.stackID(ev.Stack())
			if wg := c.gs[waker]; wg != nil {
				wk.wakerSpan = wg.span()
			}
			// A wait the trace gave no reason for (it began before the
			// trace, and the runtime recorded no stack for it): what the
			// waker was doing says what it waited for (a channel send, an
			// Unlock, a WaitGroup's Done).
			if g.cur.state == stateBlocked && g.cur.rawReason == "" && g.cur.reason == "other" {
				if k := c.stackKind[wk.wakerStack]; k != "" {
					g.cur.reason = k
				}
			}
		}
		c.w.wake(&wk)
	}
	c.set(g, state, reason, raw, stack, t, false)
}

// set puts g in base state at t, writing the interval that ends.
func (c *converter) set(g *gstate, state State, reason, raw string, stack uint32, t int64, clipped bool) {
	g.base, g.reason, g.raw, g.stack = state, reason, raw, stack
	if c.stopped(g) && g.cur.state == stateStopped {
		return // still stopped by the world's stop: one STOPPED interval
	}
	c.close(g, t)
	c.open(g, t, clipped)
}

// stopped says whether g's time now is STOPPED: runnable or running inside
// a stop-the-world window it did not start.
func (c *converter) stopped(g *gstate) bool {
	return c.stw.open && uint64(c.stw.g) != g.id && (g.base == stateRunning || g.base == stateRunnable)
}

func (c *converter) open(g *gstate, t int64, clipped bool) {
	iv := interval{g: g.id, state: g.base, reason: g.reason, rawReason: g.raw,
		start: t, stack: g.stack, span: g.span(), clippedStart: clipped}
	if c.stopped(g) {
		iv.state, iv.reason, iv.rawReason = stateStopped, "", c.stw.reason
	}
	g.cur = iv
}

func (c *converter) close(g *gstate, t int64) {
	if g.cur.state != 0 {
		c.endInterval(&g.cur, t)
	}
}

func (c *converter) endInterval(iv *interval, t int64) {
	iv.end = max(t, iv.start) // the clock snapshots of two generations may disagree
	c.w.interval(iv)
	iv.state = 0
}

// spanChanged splits g's open interval where the span it runs changes, so that
// every interval carries one span.
func (c *converter) spanChanged(g *gstate, t int64) {
	if g.cur.state == 0 || g.cur.span == g.span() {
		return
	}
	c.close(g, t)
	c.open(g, t, false)
}

func (c *converter) rangeEvent(ev *trace.Event, kind trace.EventKind, t int64) {
	r := ev.Range()
	begin := kind != trace.EventRangeEnd
	switch {
	case r.Name == "GC concurrent mark phase":
		if begin && !c.gc.open {
			c.gc = window{open: true, start: t, clippedStart: kind == trace.EventRangeActive}
			if c.gc.clippedStart {
				c.gc.start = c.sum.start // see the assist's
			}
		} else if !begin && c.gc.open {
			c.w.window(windowGC, c.gc.start, max(t, c.gc.start), "", c.gc.clippedStart, false)
			c.gc.open = false
		}
	case strings.HasPrefix(r.Name, "stop-the-world ("):
		reason := strings.TrimSuffix(strings.TrimPrefix(r.Name, "stop-the-world ("), ")")
		if begin {
			c.stwBegin(ev.Goroutine(), reason, t, kind == trace.EventRangeActive)
		} else {
			c.stwEnd(t, false)
		}
	case r.Name == "GC mark assist":
		if r.Scope.Kind != trace.ResourceGoroutine {
			return
		}
		id := r.Scope.Goroutine()
		if begin {
			g := c.g(id)
			if g.assist.state == 0 {
				g.assist = interval{g: g.id, state: stateGCAssist, start: t,
					stack: c.stackID(ev.Stack()), span: g.span(), clippedStart: kind == trace.EventRangeActive}
				if g.assist.clippedStart {
					// "Active": the runtime states a range that is on when it
					// first touches its goroutine in a generation, as it does
					// a goroutine's status; one not yet known has been on
					// since before the trace.
					g.assist.start = c.sum.start
				}
			}
		} else if g := c.gs[id]; g != nil && g.assist.state != 0 {
			c.endInterval(&g.assist, t)
		}
	}
}

func (c *converter) stwBegin(by trace.GoID, reason string, t int64, clipped bool) {
	if c.stw.open {
		return
	}
	c.stw = window{open: true, start: t, reason: reason, g: by, clippedStart: clipped}
	for _, g := range c.live {
		if g.cur.state != 0 && c.stopped(g) {
			c.close(g, t)
			c.open(g, t, false)
		}
	}
}

func (c *converter) stwEnd(t int64, clipped bool) {
	if !c.stw.open {
		return
	}
	c.w.window(windowSTW, c.stw.start, max(t, c.stw.start), c.stw.reason, c.stw.clippedStart, clipped)
	c.stw.open = false
	for _, g := range c.live {
		if g.cur.state == stateStopped {
			c.close(g, t)
			c.open(g, t, false)
		}
	}
}

// log reads the span conventions of docs/EXECTRACE.md.
func (c *converter) log(ev *trace.Event, t int64) {
	l := ev.Log()
	var traceID, spanID []byte
	switch l.Category {
	case "meanwhile.span":
		tid, sid, ok := strings.Cut(l.Message, "/")
		if !ok || len(tid) != 32 || len(sid) != 16 {
			return
		}
		var err1, err2 error
		traceID, err1 = hex.DecodeString(tid)
		spanID, err2 = hex.DecodeString(sid)
		if err1 != nil || err2 != nil {
			return
		}
	case "datadog.uint64_span_id":
		if len(l.Message) != 8 {
			return
		}
		spanID = binary.BigEndian.AppendUint64(nil, binary.LittleEndian.Uint64([]byte(l.Message)))
	default:
		return
	}
	id := ev.Goroutine()
	if id == trace.NoGoroutine {
		return
	}
	key := string(traceID) + string(spanID) + string(binary.LittleEndian.AppendUint64(nil, uint64(l.Task)))
	idx, ok := c.spans[key]
	if !ok {
		idx = uint32(len(c.spans) + 1)
		c.spans[key] = idx
		c.w.span(traceID, spanID, c.tasks[l.Task], uint64(l.Task))
	}
	g := c.g(id)
	g.spans = append(g.spans, spanRef{task: l.Task, idx: idx})
	c.taskGs[l.Task] = append(c.taskGs[l.Task], g)
	c.spanChanged(g, t)
}

// taskEnd ends the spans of a task on every goroutine that runs it, wherever
// the task ends.
func (c *converter) taskEnd(task trace.TaskID, t int64) {
	for _, g := range c.taskGs[task] {
		kept := g.spans[:0]
		for _, s := range g.spans {
			if s.task != task {
				kept = append(kept, s)
			}
		}
		clear(g.spans[len(kept):])
		g.spans = kept
		c.spanChanged(g, t)
	}
	delete(c.taskGs, task)
	delete(c.tasks, task)
}

func (c *converter) dropTaskG(task trace.TaskID, g *gstate) {
	gs := c.taskGs[task]
	for i, x := range gs {
		if x == g {
			gs = append(gs[:i], gs[i+1:]...)
			break
		}
	}
	if len(gs) == 0 {
		delete(c.taskGs, task)
	} else {
		c.taskGs[task] = gs
	}
}

// finish closes what is still open at the trace's end (clipped there) and
// writes the summary.
func (c *converter) finish() {
	end := c.lastNS
	if c.stw.open {
		c.stwEnd(end, true)
	}
	if c.gc.open {
		c.w.window(windowGC, c.gc.start, max(end, c.gc.start), "", c.gc.clippedStart, true)
	}
	for _, g := range c.live {
		if g.cur.state != 0 {
			g.cur.clippedEnd = true
			c.endInterval(&g.cur, end)
		}
		if g.assist.state != 0 {
			g.assist.clippedEnd = true
			c.endInterval(&g.assist, end)
		}
	}
	c.sum.end = end
	c.sum.alignment = c.alignment
	c.sum.clockError = c.clockError
	c.sum.generations = uint32(max(c.syncs-1, 0))
	c.sum.goroutines = uint32(len(c.seen))
	c.w.summary(&c.sum)
}

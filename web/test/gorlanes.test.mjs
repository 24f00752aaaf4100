// The goroutine lanes' model (app/lib/gorlanes.js), on answers shaped as
// /api/v1/exectrace/spans/{trace}/{span} gives them (docs/EXECTRACE.md "Reads"); every
// expected value is worked out by hand from the answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  gorModel, classOf, CLASSES, procSteps, procsAt, visibleRange, pixelRuns, runBuffer, runsOf, intervalAt, wakesInRange, wakeAt, wakeSpan, classTotals,
} from '../app/lib/gorlanes.js';
import { makeScale } from '../app/lib/scale.js';

const B = 1e12;
const iv = (state, s, e, extra = {}) => ({ state, start_ns: B + s, end_ns: B + e, ...extra });
const cls = (key) => CLASSES.findIndex((c) => c[0] === key);

// goroutine 7 runs the span: runs, blocks on a channel until 57 wakes it at 400, runs;
// 57 (a waker, running span w of trace T2) runs and blocks on a mutex; 9 runs the span too
const ANSWER = {
  trace_id: 'a'.repeat(32), span_id: '1'.repeat(16), start_ns: B + 50, end_ns: B + 600,
  exectraces: [{ id: 3, start_ns: B + 100, end_ns: B + 1000, alignment: 'clock_snapshot', clock_error_ns: 0 }],
  covered: { start_ns: B + 100, end_ns: B + 600 },
  goroutines: [
    { goroutine: 57, exectrace_id: 3, role: 'waker', intervals: [iv('blocked', 400, 600, { reason: 'mutex', stack_id: 4 }), iv('running', 100, 400, { stack_id: 5, span_id: 'b'.repeat(16), trace_id: 'c'.repeat(32) })], wakes: [] },
    { goroutine: 7, exectrace_id: 3, role: 'span', intervals: [iv('running', 100, 200), iv('blocked', 200, 400, { reason: 'chan', stack_id: 2 }), iv('running', 400, 600)],
      wakes: [{ time_ns: B + 400, waker: 57, waker_stack_id: 6 }, { time_ns: B + 150, waker: 0 }, { time_ns: B + 300, waker: 99, waker_span_id: 'd'.repeat(16), waker_trace_id: 'e'.repeat(32) }] },
    { goroutine: 9, exectrace_id: 3, role: 'span', intervals: [iv('running', 150, 300), iv('syscall', 300, 350), iv('blocked', 350, 600, { reason: 'weird' })], wakes: [] },
  ],
  windows: [{ kind: 'stw', start_ns: B + 500, end_ns: B + 510, reason: 'GC mark termination' }, { kind: 'gc', start_ns: B + 450, end_ns: B + 520 }],
  stacks: { 2: [{ func: 'runtime.chanrecv1', file: 'chan.go', line: 1 }] },
};

test('classes: states, blocked by reason, an unknown reason is "other"', () => {
  assert.equal(classOf({ state: 'running' }), cls('running'));
  assert.equal(classOf({ state: 'blocked', reason: 'chan' }), cls('blocked:chan'));
  assert.equal(classOf({ state: 'blocked', reason: 'weird' }), cls('blocked:other'));
  assert.equal(classOf({ state: 'blocked' }), cls('blocked:other'));
  assert.equal(classOf({ state: 'gc_assist' }), cls('gc_assist'));
  assert.equal(classOf({ state: 'stopped' }), cls('stopped'));
  assert.equal(new Set(CLASSES.map((c) => c[2])).size, CLASSES.length, 'every class its own colour');
});

test('the model: span goroutines first, intervals sorted, wakes mapped to lanes, windows split', () => {
  const m = gorModel(ANSWER, B);
  assert.deepEqual(m.lanes.map((l) => [l.goroutine, l.role]), [[7, 'span'], [9, 'span'], [57, 'waker']]);
  assert.deepEqual([...m.lanes[2].s], [100, 400], 'sorted by start');
  assert.deepEqual([...m.lanes[2].cls], [cls('running'), cls('blocked:mutex')]);
  assert.equal(m.intervals, 8);
  assert.deepEqual(m.span, { s: 50, e: 600 });
  assert.deepEqual(m.covered, { s: 100, e: 600 });
  // the wake by 0 is left out; 99 is no lane (from -1)
  assert.deepEqual(m.wakes.map((w) => [w.t, w.waker, w.from, w.to]), [[300, 99, -1, 0], [400, 57, 2, 0]]);
  assert.deepEqual(m.lanes[2].woke, [7]);
  assert.deepEqual(m.stw, [{ s: 500, e: 510, reason: 'GC mark termination' }]);
  assert.deepEqual(m.gc, [{ s: 450, e: 520, reason: '' }]);
});

test('Ps: how many of the goroutines run at each moment (a hand-over is not two)', () => {
  const m = gorModel(ANSWER, B);
  // running: 7 [100,200) [400,600); 9 [150,300); 57 [100,400)
  assert.deepEqual([...m.procs.t], [100, 150, 200, 300, 400, 600]);
  assert.deepEqual([...m.procs.n], [2, 3, 2, 1, 1, 0]);
  assert.equal(m.procs.max, 3);
  assert.equal(procsAt(m.procs, 99), 0);
  assert.equal(procsAt(m.procs, 175), 3);
  assert.equal(procsAt(m.procs, 400), 1, '57 stops as 7 starts');
  assert.equal(procSteps([]).max, 0);
});

test('what is in view: a binary search on ends and starts', () => {
  const lane = gorModel(ANSWER, B).lanes[0]; // [100,200) [200,400) [400,600)
  assert.deepEqual(visibleRange(lane, 0, 100), [0, 0]);
  assert.deepEqual(visibleRange(lane, 150, 250), [0, 2]);
  assert.deepEqual(visibleRange(lane, 200, 400), [1, 2]);
  assert.deepEqual(visibleRange(lane, 599, 1000), [2, 3]);
  assert.deepEqual(visibleRange(lane, 600, 1000), [3, 3]);
  assert.equal(intervalAt(lane, 250), 1);
  assert.equal(intervalAt(lane, 650), -1);
  assert.equal(intervalAt(lane, 650, 60), 2);
});

test('pixel runs: wide intervals drawn as they are, sub-pixel ones merged per column by the most time', () => {
  // 100 px for 1000 ns: 10 ns a pixel
  const sc = makeScale({ t0: 0, t1: 1000 }, 0, 100);
  const lane = { s: Float64Array.from([0, 100, 103, 106, 200]), e: Float64Array.from([100, 103, 106, 109, 300]),
    cls: Uint8Array.from([cls('running'), cls('runnable'), cls('blocked:chan'), cls('blocked:chan'), cls('running')]) };
  const runs = runsOf(pixelRuns(lane, 0, 5, sc, 0, 1000));
  // [0,100) → x 0..10; 100..109 are three intervals inside column 10 (chan 6 ns, runnable 3 ns) → chan; 200..300 → x 20..30
  assert.deepEqual(runs.map((r) => [r.x, r.w, r.cls]), [[0, 10, cls('running')], [10, 1, cls('blocked:chan')], [20, 10, cls('running')]]);
  // clipped to the covered part: nothing before 250
  const buf = runBuffer(1); // grows as needed, and is emptied by each call
  const clipped = runsOf(pixelRuns(lane, 0, 5, sc, 250, 1000, buf));
  assert.deepEqual(clipped.map((r) => [r.x, r.w, r.cls]), [[25, 5, cls('running')]]);
  // nothing covered in view: no runs
  assert.deepEqual(runsOf(pixelRuns(lane, 0, 5, sc, 2000, 3000, buf)), []);
  assert.equal(runsOf(pixelRuns(lane, 0, 5, sc, 0, 1000, buf)).length, 3);
  // 10,000 one-ns intervals alternating over 100 px: at most one run a column
  const n = 10000;
  const many = { s: new Float64Array(n), e: new Float64Array(n), cls: new Uint8Array(n) };
  for (let i = 0; i < n; i++) { many.s[i] = i / 10; many.e[i] = (i + 1) / 10; many.cls[i] = i % 3 ? cls('running') : cls('runnable'); }
  const merged = runsOf(pixelRuns(many, 0, n, makeScale({ t0: 0, t1: 1000 }, 0, 100), 0, 1000));
  assert.ok(merged.length <= 100, `${merged.length} runs`);
  assert.ok(merged.every((r) => r.cls === cls('running')), 'running holds two thirds of every column');
});

test('wake arrows under the pointer, and where a waker leads', () => {
  const m = gorModel(ANSWER, B);
  assert.deepEqual(wakesInRange(m, 0, 400), [0, 1]);
  assert.deepEqual(wakesInRange(m, 0, 401), [0, 2]);
  // the arrow 57 → 7 runs from lane 2 to lane 0: positions 0 .. 3
  const w = wakeAt(m, 402, 5, 1.5);
  assert.equal(w && w.waker, 57);
  assert.equal(wakeAt(m, 420, 5, 1.5), null, 'too far in time');
  assert.equal(wakeAt(m, 402, 5, 3.6), null, 'below the waker\'s lane');
  // 57 carries no span on the wake: the span its lane shows at the wake time (its running interval ends at 400)
  assert.deepEqual(wakeSpan(m, { ...w, t: 399 }), { span_id: 'b'.repeat(16), trace_id: 'c'.repeat(32) });
  // the wake's own span comes first
  assert.deepEqual(wakeSpan(m, m.wakes[0]), { span_id: 'd'.repeat(16), trace_id: 'e'.repeat(32) });
  const tot = classTotals(m, 0, 1000);
  assert.equal(tot[cls('blocked:chan')], 200);
  assert.equal(tot[cls('running')], 100 + 200 + 150 + 300);
  const own = classTotals(m, 100, 600, 'span'); // goroutines 7 and 9 only, inside the covered part
  assert.equal(own[cls('running')], 100 + 200 + 150);
  assert.equal(own[cls('blocked:mutex')], 0, '57 is a waker');
  assert.equal(own[cls('blocked:other')], 250);
});

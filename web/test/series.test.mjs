// The source page's series model (app/lib/series.js), on answers shaped as
// GET /api/v1/sources/{id}/series documents them (SERIES.md / docs/API.md): times as
// strings or numbers, steps without data left out, alloc_bytes_per_s -1 for unknown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seriesModel, mergeSeries, pointAt, pointsIn, cyclesIn, maxIn, seriesParams, covers, fits, planView, gcBars, capturesText, bigNs, MAX_POINTS } from '../app/lib/series.js';

const BASE = 1700000000000000000n; // unix ns, beyond 2^53: only BigInt keeps it exact
const MIN = 60000000000;
const at = (ns) => String(BASE + BigInt(ns));
const point = (ns, o = {}) => ({
  time_ns: at(ns), gc_cycles: 60, gc_cpu: 0.02, pause_p50_ns: 40000, pause_p99_ns: 90000, pause_max_ns: 120000,
  heap_live: 100 << 20, heap_live_max: 120 << 20, heap_goal: 200 << 20, alloc_bytes_per_s: 5e6, assist_share: 0.1,
  goroutines: 40, goroutines_max: 44, snapshots: 60, captures: { goroutine: 60, cpu: 6 }, triggered: 0, ...o,
});
// 10 minutes at minute steps; minute 3 left out (no data), minute 7 with a heap capture
// and a triggered goroutine capture, minute 9 with no GC and an unknown allocation rate
const MINUTES = {
  source: 7, start_ns: at(0), end_ns: at(10 * MIN), step_ns: MIN, resolution: 'minute',
  points: [0, 1, 2, 4, 5, 6, 7, 8, 9].map((m) => point(m * MIN, m === 7 ? { captures: { goroutine: 61, cpu: 6, heap: 1 }, triggered: 1 }
    : m === 9 ? { gc_cycles: 0, gc_cpu: 0, alloc_bytes_per_s: -1, heap_live: null } : {})),
};

test('an answer becomes points with times relative to the base, exact for unix ns', () => {
  const m = seriesModel(MINUTES, BASE);
  assert.equal(m.s, 0);
  assert.equal(m.e, 10 * MIN);
  assert.equal(m.step, MIN);
  assert.equal(m.resolution, 'minute');
  assert.equal(m.points.length, 9);
  assert.deepEqual(m.points.map((p) => p.s / MIN), [0, 1, 2, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual([m.points[3].s, m.points[3].e], [4 * MIN, 5 * MIN]);
  // totals: 8 minutes of 60 cycles; 9 × 60 goroutine snapshots; 60+6 captures a minute, +1 heap, +1 goroutine
  assert.equal(m.totals.cycles, 480);
  assert.equal(m.totals.snaps, 540);
  assert.equal(m.totals.captures, 9 * 66 + 2);
  assert.equal(m.totals.triggered, 1);
  assert.deepEqual(m.totals.byKind, { goroutine: 541, cpu: 54, heap: 1 });
  const p9 = m.points[8];
  assert.equal(p9.alloc, null, '-1 is unknown');
  assert.equal(p9.live, null);
  assert.equal(p9.goal, 200 << 20);
  assert.equal(m.points[0].alloc, 5e6);
  assert.equal(m.points[6].capN, 68);
});

test('times as JSON numbers and a last step cut at the window end', () => {
  const m = seriesModel({ start_ns: 1e12, end_ns: 1e12 + 2500, step_ns: 1000, resolution: 'raw',
    points: [{ time_ns: 1e12 + 2000, gc_cycles: 1 }, { time_ns: 1e12, gc_cycles: 2 }] }, 1000000000000n);
  assert.deepEqual(m.points.map((p) => [p.s, p.e, p.cycles]), [[0, 1000, 2], [2000, 2500, 1]]);
  assert.equal(m.resolution, 'raw');
  assert.equal(m.points[0].gor, null);
  assert.deepEqual(m.points[0].captures, {});
});

test('the point under a time, and the points of a window', () => {
  const { points } = seriesModel(MINUTES, BASE);
  assert.equal(pointAt(points, 0).s, 0);
  assert.equal(pointAt(points, MIN - 1).s, 0);
  assert.equal(pointAt(points, MIN).s, MIN);
  assert.equal(pointAt(points, 3.5 * MIN), null, 'minute 3 has no data');
  assert.equal(pointAt(points, -1), null);
  assert.equal(pointAt(points, 10 * MIN), null);
  assert.deepEqual(pointsIn(points, 1.5 * MIN, 4.5 * MIN), [1, 4]); // minutes 1, 2, 4
  assert.deepEqual(pointsIn(points, 3.1 * MIN, 3.9 * MIN), [3, 3]);
  assert.deepEqual(pointsIn(points, -5, 20 * MIN), [0, 9]);
});

test('the cycles in view: whole steps, and parts of steps in proportion', () => {
  const { points } = seriesModel(MINUTES, BASE);
  assert.equal(cyclesIn(points, 0, 10 * MIN), 480);
  assert.equal(cyclesIn(points, 0, 3 * MIN), 180);
  assert.equal(cyclesIn(points, 0.5 * MIN, 1.5 * MIN), 60); // half of minute 0, half of 1
  assert.equal(cyclesIn(points, 0.1 * MIN, 0.2 * MIN), 6);
  assert.equal(cyclesIn(points, 3 * MIN, 4 * MIN), 0);
  assert.equal(maxIn(points, 0, points.length, (p) => p.triggered), 1);
  assert.equal(maxIn(points, 0, points.length, (p) => p.live), 100 << 20);
});

test('the detailed answer replaces the whole one inside its window', () => {
  const whole = seriesModel(MINUTES, BASE);
  // raw seconds from 2:00 to 2:03
  const detail = seriesModel({ start_ns: at(2 * MIN), end_ns: at(2 * MIN + 3e9), step_ns: 1e9, resolution: 'raw',
    points: [0, 1, 2].map((s) => ({ time_ns: at(2 * MIN + s * 1e9), gc_cycles: 1 })) }, BASE);
  const m = mergeSeries(whole, detail);
  // minutes 0 and 1 before, the three seconds, then minutes 4.. (minute 2 overlaps the detail: left out)
  assert.deepEqual(m.map((p) => p.s), [0, MIN, 2 * MIN, 2 * MIN + 1e9, 2 * MIN + 2e9, 4 * MIN, 5 * MIN, 6 * MIN, 7 * MIN, 8 * MIN, 9 * MIN]);
  assert.equal(mergeSeries(whole, null), whole.points);
  assert.equal(mergeSeries(null, detail), detail.points);
  assert.deepEqual(mergeSeries(null, null), []);
  assert.ok(covers(detail, { t0: 2 * MIN, t1: 2 * MIN + 3e9 }));
  assert.ok(!covers(detail, { t0: 2 * MIN - 1, t1: 2 * MIN + 3e9 }));
  assert.ok(!covers(null, { t0: 0, t1: 1 }));
});

test('the request for a view: unix ns strings widened outwards, one point per pixel', () => {
  assert.deepEqual(seriesParams({ t0: 1.5, t1: 1000.2 }, BASE, 1234.4), { start: '1700000000000000001', end: '1700000000000001001', points: 1234 });
  assert.equal(seriesParams({ t0: 0, t1: 1 }, BASE, 100000).points, MAX_POINTS);
  assert.equal(seriesParams({ t0: 0, t1: 1 }, BASE, 0).points, 1);
  assert.equal(seriesParams({ t0: -50, t1: 1 }, 10n, 10).start, '0');
});

test('GC cycles as bars, with their stop-the-world phases', () => {
  const b = gcBars({ cycles: [
    { n: 2, start_ns: at(5000), end_ns: at(6150), phases: { stw_sweep_termination: [at(5000), at(5100)], concurrent_mark: [at(5100), at(6100)], stw_mark_termination: [at(6100), at(6150)] }, stw_ns: 150, heap_live_bytes: 8, goal_bytes: 12 },
    { n: 1, start_ns: 1700000000000001000, end_ns: 1700000000000002000, heap_after_bytes: 5, goal_bytes: 9 },
  ] }, BASE);
  assert.deepEqual(b.map((c) => c.n), [1, 2]);
  assert.deepEqual([b[1].s, b[1].e, b[1].stwNs, b[1].live, b[1].goal], [5000, 6150, 150, 8, 12]);
  assert.deepEqual(b[1].stw, [[5000, 5100], [6100, 6150]]);
  assert.deepEqual(b[0].stw, []);
  assert.equal(b[0].live, 5, 'heap after when no live figure');
  // a JSON number near 1.7e18 is exact to 256 ns only
  assert.ok(Math.abs(b[0].s - 1000) <= 256);
});

test('capture kinds as text, most first', () => {
  assert.equal(capturesText({ heap: 1, cpu: 6, goroutine: 60, allocs: 0 }), '60 goroutine, 6 cpu, 1 heap');
  assert.equal(capturesText({}), '');
  assert.equal(capturesText(undefined), '');
  assert.equal(bigNs(12.4), 12n);
  assert.equal(bigNs('1700000000000000001'), 1700000000000000001n);
});

test('what a view needs: the whole answer, the detailed one, or a request', () => {
  const limits = { t0: -0.2 * MIN, t1: 10.2 * MIN };
  const whole = seriesModel(MINUTES, BASE); // minute steps over 10 minutes
  const W = 1000;
  assert.equal(planView(limits, limits, whole, null, W), 'whole');
  // 5 minutes over 1000 px want 0.3 s steps: minute ones do not resolve them
  const five = { t0: 2 * MIN, t1: 7 * MIN };
  assert.equal(planView(five, limits, whole, null, W), 'fetch');
  // a raw answer of those 5 minutes at 1 s steps (the finest) resolves them and any view inside
  const raw = seriesModel({ start_ns: at(2 * MIN), end_ns: at(7 * MIN), step_ns: 1e9, resolution: 'raw', points: [] }, BASE);
  assert.equal(planView(five, limits, whole, raw, W), 'keep');
  assert.equal(planView({ t0: 3 * MIN, t1: 3 * MIN + 1e9 }, limits, whole, raw, W), 'keep');
  // a view reaching out of it, or wider, asks again
  assert.equal(planView({ t0: 6 * MIN, t1: 8 * MIN }, limits, whole, raw, W), 'fetch');
  // a whole answer at 1 s steps resolves every view of a short source
  const short = seriesModel({ start_ns: at(0), end_ns: at(6e9), step_ns: 1e9, resolution: 'raw', points: [] }, BASE);
  assert.equal(planView({ t0: 1e9, t1: 2e9 }, { t0: -1e8, t1: 6.1e9 }, short, null, W), 'whole');
  // a minute answer of a 100-minute window over 1000 px (6 s a pixel): 60 s steps are too coarse
  const hundred = seriesModel({ start_ns: at(0), end_ns: at(100 * MIN), step_ns: MIN, resolution: 'minute', points: [] }, BASE);
  assert.ok(!fits(hundred, { t0: 0, t1: 100 * MIN }, W));
  assert.ok(fits(hundred, { t0: 0, t1: 100 * MIN }, 100));
});

test('the window asked for stands for the answer, whose window is cut to the data', () => {
  // asked 0..10 min, the source's data spans 1..9 min: the answer covers the asked window
  const ans = { ...MINUTES, start_ns: 1700000000000000000 + MIN, end_ns: 1700000000000000000 + 9 * MIN };
  const m = seriesModel(ans, BASE, { start: at(0), end: at(10 * MIN) });
  assert.deepEqual([m.s, m.e], [0, 10 * MIN]);
  assert.ok(covers(m, { t0: 0, t1: 10 * MIN }));
  const cut = seriesModel(ans, BASE);
  assert.ok(!covers(cut, { t0: 0, t1: 10 * MIN }));
});

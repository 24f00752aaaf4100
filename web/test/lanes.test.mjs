// The runtime lanes' model (app/lib/lanes.js), on a timeline shaped as
// /api/v1/traces/{id}/timeline answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sourceModel, timelineModel, laneCounts, layoutLanes, laneAt, gcInRange, gcCount, hasData, pointsInRange, gcAt, valuesAt, lanesExtent, snapshotNear, LANE_KINDS } from '../app/lib/lanes.js';

// a base whose neighbours are exact doubles (real unix ns are rounded to 256 ns by JSON.parse)
const B = 1e12;
const cycle = (n, s, a, b, c) => ({
  n, start_ns: B + s, end_ns: B + s + a + b + c,
  phases: { stw_sweep_termination: [B + s, B + s + a], concurrent_mark: [B + s + a, B + s + a + b], stw_mark_termination: [B + s + a + b, B + s + a + b + c] },
  stw_ns: a + c, heap_before_bytes: 10, heap_after_bytes: 8, goal_bytes: 12, forced: false,
});
const SRC = {
  id: 1, service: 'checkout', instance: 'shop-1-12707', host: 'shop-1',
  gc: [cycle(2, 5000, 100, 1000, 50), cycle(1, 1000, 100, 10000, 50), cycle(3, 9000, 10, 20, 30)],
  gc_more: false,
  heap: [{ time_ns: B + 1000, heap_bytes: 100, goal_bytes: 200 }, { time_ns: B + 2000, heap_bytes: 150, goal_bytes: 210 }],
  runqueue: [{ time_ns: B + 3000, global: 2, local: 3, threads: 7, idleprocs: 0, gomaxprocs: 2 }],
  goroutines: [{ time_ns: B + 4000, count: 11, snapshot_id: 5 }],
  snapshots: [{ id: 7, kind: 'cpu', format: 'pprof', time_ns: B + 500, duration_ns: 9000, total: 118 }, { id: 5, kind: 'goroutine', format: 'pprof', time_ns: B + 4000, duration_ns: 0, total: 11, by_state: { chan: 3 } }],
  cpu_profiles: [{ snapshot_id: 7, start_ns: B + 500, end_ns: B + 9500, samples: 118 }],
};

test('a source becomes lanes with times relative to the base, sorted', () => {
  const m = sourceModel(SRC, B);
  assert.equal(m.label, 'checkout · shop-1-12707 @ shop-1');
  assert.deepEqual(m.gc.map((c) => c.n), [1, 2, 3]);
  const c1 = m.gc[0];
  assert.deepEqual([c1.s, c1.e], [1000, 11150]);
  assert.deepEqual(c1.stw1, [1000, 1100]);
  assert.deepEqual(c1.mark, [1100, 11100]);
  assert.deepEqual(c1.stw2, [11100, 11150]);
  assert.equal(m.maxHeap, 210);
  assert.equal(m.maxG, 11);
  assert.equal(m.maxQ, 5);
  assert.deepEqual(m.snapshots.map((s) => s.id), [7, 5]);
  assert.deepEqual(laneCounts(m), { gc: 3, stw: 6, heap: 2, goroutines: 1, runqueue: 1, snapshots: 2, cpuProfiles: 1 });
});

test('GC cycles overlapping a range, including a long one that started before it', () => {
  const m = sourceModel(SRC, B);
  const names = (r) => m.gc.slice(r[0], r[1]).map((c) => c.n);
  assert.deepEqual(names(gcInRange(m, 6200, 8000)), [1, 2], 'cycle 1 runs 1000..11150 and covers it; cycle 2 (ended) is a candidate');
  assert.equal(gcCount(m, 6200, 8000), 1, 'counted exactly');
  assert.equal(gcCount(m, 0, 1e9), 3);
  assert.deepEqual(names(gcInRange(m, 0, 999)), []);
  assert.deepEqual(names(gcInRange(m, 0, 1e9)), [1, 2, 3]);
  assert.deepEqual(names(gcInRange(m, 5500, 5600)), [1, 2]);
});

test('the GC phase and the lanes\' values under the cursor', () => {
  const m = sourceModel(SRC, B);
  assert.equal(gcAt(m, 1050).phase, 'stw_sweep_termination');
  assert.equal(gcAt(m, 3000).phase, 'concurrent_mark');
  assert.equal(gcAt(m, 11120).phase, 'stw_mark_termination');
  assert.equal(gcAt(m, 999), null);
  const v = valuesAt(m, 3500);
  assert.equal(v.heap.heap, 150);
  assert.equal(v.runq.global, 2);
  assert.equal(v.goroutines, null, 'no goroutine count before its first sample');
  assert.equal(v.cpu.snapshot_id, 7);
  assert.equal(valuesAt(m, 0).heap, null);
});

test('points in a range are widened by one for lines', () => {
  const arr = [{ t: 0 }, { t: 10 }, { t: 20 }, { t: 30 }];
  assert.deepEqual(pointsInRange(arr, 12, 25), [1, 4]);
  assert.deepEqual(pointsInRange(arr, 12, 25, false), [2, 3]);
  assert.deepEqual(pointsInRange(arr, 100, 200), [3, 4]);
});

test('lane layout: every source gets every lane kind, with a gap between sources', () => {
  const ms = timelineModel({ sources: [SRC, { ...SRC, id: 2, service: 'b', instance: '', host: '' }] }, B);
  const L = layoutLanes(ms, 8);
  const per = LANE_KINDS.reduce((s, k) => s + k.h, 0);
  assert.equal(L.lanes.length, LANE_KINDS.length * 2);
  assert.equal(L.height, per * 2 + 8);
  assert.equal(L.lanes[LANE_KINDS.length].y, per + 8);
  assert.equal(L.lanes[LANE_KINDS.length].label, 'b');
  assert.equal(laneAt(L, 0).kind, 'header');
  assert.equal(laneAt(L, LANE_KINDS[0].h + 1).kind, 'gc');
  assert.equal(laneAt(L, per + 2), null, 'the gap is no lane');
  assert.equal(laneAt(L, 1e6), null);
});

test('a source without runtime data gets one line, not empty lanes', () => {
  const ms = timelineModel({ sources: [{ id: 3, service: 'quiet', gc: [], heap: [], runqueue: [], goroutines: [], snapshots: [], cpu_profiles: [] }, SRC] }, B);
  assert.equal(hasData(ms[0]), false);
  assert.equal(hasData(ms[1]), true);
  const L = layoutLanes(ms, 8);
  assert.deepEqual(L.lanes.filter((l) => l.source === 0).map((l) => l.kind), ['header', 'none']);
  assert.equal(L.lanes.filter((l) => l.source === 1).length, LANE_KINDS.length);
});

test('extent and the snapshot marker nearest a click', () => {
  const m = sourceModel(SRC, B);
  assert.deepEqual(lanesExtent([m]), { t0: 500, t1: 11150 });
  assert.equal(lanesExtent([]), null);
  assert.equal(snapshotNear(m, 4100, 200).id, 5);
  assert.equal(snapshotNear(m, 2000, 200), null);
});

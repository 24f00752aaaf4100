// The explanation's components, goroutine grouping, evidence lookups and the scatter
// (app/lib/breakdown.js, goroutines.js, explain.js, scatter.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flattenBreakdown, segments, stateSegments, COMPONENTS, kindLabel } from '../app/lib/breakdown.js';
import { groupSnapshot, matchesFilter, samplesByState, waitText, snapshotView } from '../app/lib/goroutines.js';
import { cpuSnapshotIds, scopeLabel, confidenceWord, evidenceSnapshots, explainIndex, spanSource, isSpanSource } from '../app/lib/explain.js';
import { searchPoints, scatterLayout, hitPoint, durationTicks } from '../app/lib/scatter.js';

const BD = { cpu_ns: 40000000, gc_stw_ns: 0, gc_assist_ns: 1000, runnable_ns: 0,
  blocked_ns: { mutex: 0, chan: 5000, select: 0, io: 0, sleep: 0, syscall: 0, cond: 0, other: 0 }, unknown_ns: 14134, children_ns: 0 };

test('breakdown segments: bar order, shares of the duration, zero parts left out', () => {
  const flat = flattenBreakdown(BD);
  assert.equal(Object.keys(flat).length, COMPONENTS.length);
  const segs = segments(flat, 40020134);
  assert.deepEqual(segs.map((s) => s.key), ['cpu', 'gc_assist', 'chan', 'unknown']);
  const total = segs.reduce((s, x) => s + x.share, 0);
  assert.ok(Math.abs(total - 1) < 1e-9);
  assert.ok(Math.abs(segs[1].x - segs[0].share) < 1e-12, 'segments are laid end to end');
  assert.equal(segments({}, 10).length, 0);
  // compare's shares: fractions with keys as they are
  assert.deepEqual(segments({ children: 0.9998, unknown: 0.0002 }, 1).map((s) => s.key), ['children', 'unknown']);
  assert.equal(kindLabel('chan'), 'blocked: channel');
  assert.equal(kindLabel('weird'), 'weird');
});

test('state segments follow the fixed state order', () => {
  assert.deepEqual(stateSegments({ sleep: 3, running: 1, chan: 3, io: 3, select: 1 }).map((s) => s.key), ['running', 'io', 'chan', 'select', 'sleep']);
});

const GROUPS = [
  { state: 'io', count: 2, frames: [{ func: 'net.(*netFD).Read', file: 'net/fd_posix.go', line: 55 }] },
  { state: 'chan', count: 1, span_id: 's1', trace_id: 'T', labels: { span_name: 'queue.wait' }, frames: [{ func: 'main.handle.func1.5', file: 'main.go', line: 94 }] },
  { state: 'chan', count: 2, frames: [{ func: 'main.main', file: 'main.go', line: 193 }], wait_min_ns: 60e9, wait_max_ns: 120e9 },
  { state: 'running', count: 1, frames: [{ func: 'runtime.goroutineProfileWithLabels' }] },
];

test('snapshot groups by state, the trace\'s own first, filtered by words', () => {
  const g = groupSnapshot(GROUPS, { traceId: 'T' });
  assert.deepEqual(g.states.map((s) => [s.state, s.count]), [['running', 1], ['io', 2], ['chan', 3]]);
  assert.equal(g.states[2].groups[0].span_id, 's1', 'mine first although smaller');
  assert.equal(g.states[2].groups[0].mine, true);
  assert.equal(g.total, 6);
  assert.equal(g.mine, 1);
  const f = groupSnapshot(GROUPS, { traceId: 'T', filter: 'MAIN.go chan' });
  assert.equal(f.shown, 3);
  assert.deepEqual(f.states.map((s) => s.state), ['chan']);
  assert.ok(matchesFilter(GROUPS[1], 'span_name=queue'));
  assert.ok(!matchesFilter(GROUPS[0], 'mutex'));
  assert.equal(groupSnapshot(GROUPS, { filter: 'nothing-like-this' }).states.length, 0);
  assert.equal(waitText(GROUPS[2]), 'waiting 1–2 min');
  assert.equal(waitText(GROUPS[0]), '');
});

test('goroutine and goroutine leak snapshots show groups, the others samples', () => {
  assert.deepEqual(snapshotView('goroutine'), { groups: true, title: 'Goroutine snapshot' });
  assert.deepEqual(snapshotView('goroutineleak'), { groups: true, title: 'Goroutine leak profile' });
  assert.deepEqual(snapshotView('cpu'), { groups: false, title: 'CPU profile' });
  assert.deepEqual(snapshotView('heap'), { groups: false, title: 'HEAP profile' });
});

test('a span\'s goroutine samples by state', () => {
  const s = samplesByState([
    { snapshot_id: 1, state: 'chan', count: 1 }, { snapshot_id: 2, state: 'chan', count: 2 }, { snapshot_id: 2, state: 'running', count: 1 },
  ]);
  assert.deepEqual(s.map((x) => [x.state, x.snapshots, x.goroutines]), [['chan', 2, 3], ['running', 1, 1]]);
  assert.deepEqual(samplesByState(undefined), []);
});

test('the CPU profiles behind a span: its evidence, else the timeline\'s windows', () => {
  const ex = { causes: [{ kind: 'cpu', evidence: [{ type: 'cpu_samples' }, { type: 'cpu_profile', snapshot_id: 7 }] }, { kind: 'unknown', evidence: [{ type: 'reason' }] }] };
  assert.deepEqual(cpuSnapshotIds(ex, null, []), [7]);
  const tlSpan = { source_id: 1, start_ns: 100, end_ns: 200, cpu_sample_rows: 2 };
  const sources = [{ id: 1, cpu_profiles: [{ snapshot_id: 3, start_ns: 0, end_ns: 150 }, { snapshot_id: 4, start_ns: 300, end_ns: 400 }] }, { id: 2, cpu_profiles: [{ snapshot_id: 9, start_ns: 0, end_ns: 1000 }] }];
  assert.deepEqual(cpuSnapshotIds({ causes: [] }, tlSpan, sources), [3]);
  assert.deepEqual(cpuSnapshotIds({ causes: [] }, { ...tlSpan, cpu_sample_rows: 0 }, sources), []);
  assert.deepEqual(evidenceSnapshots(ex.causes[0]), [7]);
  assert.equal(explainIndex({ spans: [{ span_id: 'a' }] }).get('a').span_id, 'a');
});

// a federated timeline (docs/FEDERATION.md): source ids are each shard's own, so two
// shards' sources may share an id; a span's source is the one of its shard
const A = 'http://10.0.0.1:4318', B = 'http://10.0.0.2:4318';
const fedSources = [
  { shard: A, id: 1, service: 'alpha', cpu_profiles: [{ snapshot_id: 5, start_ns: 0, end_ns: 1000 }] },
  { shard: B, id: 1, service: 'beta', cpu_profiles: [{ snapshot_id: 6, start_ns: 0, end_ns: 1000 }] },
  { shard: B, id: 2, service: 'gamma', cpu_profiles: [{ snapshot_id: 8, start_ns: 0, end_ns: 1000 }] },
];

test('a span\'s source across shards: joined on (shard, source_id), never on the id alone', () => {
  assert.equal(spanSource(fedSources, { shard: A, source_id: 1 }).service, 'alpha');
  assert.equal(spanSource(fedSources, { shard: B, source_id: 1 }).service, 'beta');
  assert.equal(spanSource(fedSources, { shard: B, source_id: 2 }).service, 'gamma');
  assert.equal(spanSource(fedSources, { shard: A, source_id: 2 }), null, 'source 2 is B\'s, not A\'s');
  assert.equal(spanSource(fedSources, { source_id: 1 }), null, 'a span without a shard is not a federated source\'s');
  assert.equal(spanSource(fedSources, { shard: A }), null, 'no source_id: no source');
  // one server: no shard on either side, the id decides
  assert.equal(spanSource([{ id: 1, service: 'solo' }], { source_id: 1 }).service, 'solo');
  assert.equal(isSpanSource({ id: 1 }, { source_id: 1 }), true);
  assert.equal(isSpanSource({ id: 1, shard: A }, { source_id: 1, shard: B }), false);
});

test('the CPU profiles behind a span on a shard: only its own source\'s, whatever ids other shards use', () => {
  const span = { shard: B, source_id: 1, start_ns: 100, end_ns: 200, cpu_sample_rows: 3 };
  assert.deepEqual(cpuSnapshotIds({ causes: [] }, span, fedSources), [6]);
  assert.deepEqual(cpuSnapshotIds({ causes: [] }, { ...span, shard: A }, fedSources), [5]);
  // a span that names no source: the profiles of its shard's sources only
  assert.deepEqual(cpuSnapshotIds({ causes: [] }, { ...span, source_id: null }, fedSources).sort(), [6, 8]);
});

test('operation-scope causes are labelled as borrowed; confidence words', () => {
  assert.equal(scopeLabel({ scope: 'operation' }), 'from similar spans');
  assert.equal(scopeLabel({ scope: 'span' }), "this span's own evidence");
  assert.equal(scopeLabel({ scope: 'trace' }), 'exact: execution trace');
  assert.equal(confidenceWord(0.69), 'medium');
  assert.equal(confidenceWord(0.7), 'high');
  assert.equal(confidenceWord(0.36), 'low');
  assert.equal(confidenceWord(0), 'none');
});

test('scatter points, layout, hits and duration ticks', () => {
  const pts = searchPoints({ traces: [
    { traceID: 'b', startTimeUnixNano: '2000000000', durationMs: 5, matchedSpanDurationMs: 4 },
    { traceID: 'a', startTimeUnixNano: '1000000000', durationMs: 150 },
  ] });
  assert.deepEqual(pts.map((p) => [p.traceID, p.ms]), [['a', 150], ['b', 4]]);
  const L = scatterLayout(pts, { x0: 0, x1: 1000, y0: 0, y1: 300 });
  assert.equal(L.log, true, 'a factor of 37 between durations: log axis');
  const a = L.pts[0], b = L.pts[1];
  assert.ok(a.x < b.x && a.y < b.y, 'later to the right, slower higher up');
  assert.equal(hitPoint(L, a.x + 2, a.y - 2).p.traceID, 'a');
  assert.equal(hitPoint(L, a.x + 50, a.y), null);
  assert.equal(scatterLayout(pts, { x0: 0, x1: 1, y0: 0, y1: 1 }, { log: false }).log, false);
  assert.deepEqual(durationTicks(0, 10, false), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(durationTicks(1.5, 150, true), [2, 5, 10, 20, 50, 100]);
  assert.deepEqual(searchPoints(null), []);
});

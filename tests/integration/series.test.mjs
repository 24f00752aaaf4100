// GET /api/v1/sources/{id}/series (the source page's lanes) and /gc/pressure from the
// per-minute rollups, on real gctrace lines and real goroutine profiles and dumps
// (tests/data/growth-goroutines), pushed as an agent pushes them. Every GC figure is
// worked out by hand in the comments; goroutine totals come from this suite's own readers
// of the files (lib/runtime.mjs), not from the server.
//
// Source sersvc/i1, process start T0 (a whole minute, two hours ago):
//   gc 1 @1s:  0.020+2.0+0.030 ms clock, 0.080+1.0/3.0/0.50+0.12 ms cpu, 13->12->8 MB, 16 MB goal, 4 P
//   gc 2 @31s: 0.050+3.0+0.040 ms clock, 0.20+2.0/4.0/0.70+0.16 ms cpu, 21->20->10 MB, 20 MB goal, 4 P
//   gc 3 @61s: 0.010+1.0+0.060 ms clock, 0.040+0/1.0/0+0.24 ms cpu, 15->14->9 MB, 18 MB goal, 8 P
//   gc 4 @6000s, far off (for a window too wide for 1 s steps)
//   (gc 1 and 2 in one push, gc 3 in the next, gc 2 again in a third: stored once)
//   goroutine profile goroutine-1.pb.gz at T0+10s, dump goroutine-2.debug2.txt at T0+50s
//   (trigger=goroutines), goroutine profile goroutine-3.pb.gz at T0+70s.

import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {startServer, readData, request} from './lib/server.mjs';
import {
  getJ,
  ingestOk,
  big,
  jstr,
  assertJsonError,
  countGoroutineHeaders,
  decodeProfile,
  sumValues
} from './lib/runtime.mjs';

const S = 1000000000n, MS = 1000000n, MIB = 1048576;
const MIN = 60n * S;
const T0 = ((BigInt(Date.now()) * MS - 7200n * S) / MIN) * MIN;
const DIR = 'growth-goroutines';
const gcLine = (n, at, clock, cpu, heap, goal, p) => `gc ${n} @${at}s 1%: ${clock} ms clock, ${cpu} ms cpu, ${
    heap} MB, ${goal} MB goal, 0 MB stacks, 0 MB globals, ${p} P\n`;
const GC1 = gcLine(1, '1.000', '0.020+2.0+0.030', '0.080+1.0/3.0/0.50+0.12', '13->12->8', 16, 4);
const GC2 = gcLine(2, '31.000', '0.050+3.0+0.040', '0.20+2.0/4.0/0.70+0.16', '21->20->10', 20, 4);
const GC3 = gcLine(3, '61.000', '0.010+1.0+0.060', '0.040+0/1.0/0+0.24', '15->14->9', 18, 8);
const GC4 = gcLine(4, '6000.000', '0.010+1.0+0.010', '0.040+0/1.0/0+0.04', '15->14->9', 18, 8); // far off

let srv, id;
const total = {};
before(async () => {
  srv = await startServer();
  const ps = {service : 'sersvc', instance : 'i1', process_start : T0.toString()};
  const a = await ingestOk(srv, 'gctrace', ps, Buffer.from(GC1 + GC2));
  assert.equal(a.accepted, 2);
  id = a.source_id;
  assert.equal((await ingestOk(srv, 'gctrace', ps, Buffer.from(GC3))).accepted, 1);
  await ingestOk(srv, 'gctrace', ps, Buffer.from(GC2)); // re-sent
  await ingestOk(srv, 'gctrace', ps, Buffer.from(GC4));
  const push = async (file, at, extra = {}) => {
    const body = readData(DIR, file);
    const j = await ingestOk(srv, 'goroutine',
                             {service : 'sersvc', instance : 'i1', time : (T0 + at).toString(), ...extra}, body);
    assert.equal(j.source_id, id);
    total[file] = file.endsWith('.txt') ? countGoroutineHeaders(body.toString('utf8'))
                                        : sumValues(decodeProfile(body).samples, 1)[0];
  };
  await push('goroutine-1.pb.gz', 10n * S);
  await push('goroutine-2.debug2.txt', 50n * S, {trigger : 'goroutines'});
  await push('goroutine-3.pb.gz', 70n * S);
  assert.ok(total['goroutine-1.pb.gz'] > 0 && total['goroutine-2.debug2.txt'] > 0 && total['goroutine-3.pb.gz'] > 0);
});
after(async () => {
  if (srv) await srv.cleanup();
});

const near = (got, want, what) =>
    assert.ok(Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want)), `${what}: ${got}, want ${want}`);

// The two minutes, by hand (both resolutions must give them).
function checkMinutes(j, step) {
  assert.equal(j.points.length, 2, jstr(j.points));
  const [m0, m1] = j.points;
  assert.equal(big(m0.time_ns), T0);
  assert.equal(big(m1.time_ns), T0 + MIN);
  assert.equal(m0.gc_cycles, 2);
  // GC CPU (0.08+1+3+0.12) + (0.2+2+4+0.16) = 10.56 ms over a minute x 4 P
  near(m0.gc_cpu, 10.56e6 / (Number(step) * 4), 'gc_cpu');
  // pauses 20, 30, 50, 40 µs: p50 = 2nd of 4 = 30 µs, p99 = 4th = 50 µs, max 50 µs
  assert.equal(m0.pause_p50_ns, 30000);
  assert.equal(m0.pause_p99_ns, 50000);
  assert.equal(m0.pause_max_ns, 50000);
  assert.equal(m0.heap_live, 10 * MIB);
  assert.equal(m0.heap_live_max, 10 * MIB);
  assert.equal(m0.heap_goal, 20 * MIB);
  // gc 2: 20 MB - 8 MB over end(2) - end(1) = (31 s + 3.09 ms) - (1 s + 2.05 ms) = 30.00104 s
  near(m0.alloc_bytes_per_s, 12 * MIB / 30.00104, 'alloc_bytes_per_s');
  near(m0.assist_share, 3 / 10.56, 'assist_share');
  // a profile at 10 s and a dump at 50 s: the last is the dump's
  assert.equal(m0.snapshots, 2);
  assert.equal(m0.goroutines, total['goroutine-2.debug2.txt']);
  assert.equal(m0.goroutines_max, Math.max(total['goroutine-1.pb.gz'], total['goroutine-2.debug2.txt']));
  assert.deepEqual(m0.captures, {goroutine : 1, dump : 1});
  assert.equal(m0.triggered, 1);

  assert.equal(m1.gc_cycles, 1);
  // (0.04 + 0 + 1 + 0.24) ms over a minute x 8 P
  near(m1.gc_cpu, 1.28e6 / (Number(step) * 8), 'gc_cpu 2');
  // pauses 10 and 60 µs
  assert.equal(m1.pause_p50_ns, 10000);
  assert.equal(m1.pause_p99_ns, 60000);
  assert.equal(m1.heap_live, 9 * MIB);
  // gc 3 follows gc 2 (pushed before it): 14 MB - 10 MB over (61 s + 1.07 ms) - (31 s + 3.09 ms) = 29.99798 s
  near(m1.alloc_bytes_per_s, 4 * MIB / 29.99798, 'alloc_bytes_per_s 2');
  near(m1.assist_share, 0, 'assist_share 2');
  assert.equal(m1.snapshots, 1);
  assert.equal(m1.goroutines, total['goroutine-3.pb.gz']);
  assert.deepEqual(m1.captures, {goroutine : 1});
  assert.equal(m1.triggered, 0);
}

test('series: minute resolution, by hand', async () => {
  const j = await getJ(srv, `/api/v1/sources/${id}/series?start=${T0}&end=${T0 + 3n * MIN}&step=1m`);
  assert.equal(j.resolution, 'minute');
  assert.equal(big(j.step_ns), MIN);
  assert.equal(j.source, id);
  checkMinutes(j, MIN);
});

test('series: raw resolution gives the same minutes from the rows', async () => {
  // a step under a minute over a window of few rows is read raw; 30 s steps hold gc 1 and gc 2 apart
  const r = await getJ(srv, `/api/v1/sources/${id}/series?start=${T0}&end=${T0 + 3n * MIN}&step=30s`);
  assert.equal(r.resolution, 'raw');
  assert.equal(big(r.step_ns), 30n * S);
  assert.deepEqual(r.points.map((p) => big(p.time_ns) - T0), [ 0n, 30n * S, 60n * S ]);
  assert.deepEqual(r.points.map((p) => p.gc_cycles), [ 1, 1, 1 ]);
  // gc 1: pauses 20 and 30 µs; 4.2 ms of GC CPU over 30 s x 4 P
  assert.equal(r.points[0].pause_p50_ns, 20000);
  near(r.points[0].gc_cpu, 4.2e6 / (30e9 * 4), 'raw gc_cpu');
  assert.equal(r.points[0].alloc_bytes_per_s, -1); // no predecessor
  // the dump at 50 s and the profile at 10 s fall in different steps
  assert.deepEqual(r.points.map((p) => p.snapshots), [ 1, 1, 1 ]);
  assert.deepEqual(r.points[1].captures, {dump : 1});
  // the allocation rates as the rollups have them: gc 2 after gc 1, gc 3 after gc 2
  near(r.points[1].alloc_bytes_per_s, 12 * MIB / 30.00104, 'raw alloc 2');
  near(r.points[2].alloc_bytes_per_s, 4 * MIB / 29.99798, 'raw alloc 3');
  assert.equal(r.points[2].heap_live, 9 * MIB);
});

test('gc/pressure at steps of a minute answers from the rollups, as series', async () => {
  const g = await getJ(srv, `/api/v1/sources/${id}/gc/pressure?start=${T0}&end=${T0 + 3n * MIN}&step=1m`);
  const s = await getJ(srv, `/api/v1/sources/${id}/series?start=${T0}&end=${T0 + 3n * MIN}&step=1m`);
  assert.equal(g.points.length, 2);
  for (let i = 0; i < 2; i++) {
    const a = g.points[i], b = s.points[i];
    assert.equal(big(a.time_ns), big(b.time_ns));
    assert.equal(a.cycles, b.gc_cycles);
    for (const k of ['gc_cpu', 'pause_p50_ns', 'pause_p99_ns', 'heap_live', 'heap_goal', 'alloc_bytes_per_s',
                     'assist_share'])
      assert.equal(a[k], b[k], `${k} of point ${i}`);
  }
  // and the same as the raw path at 1 s steps summed by hand: both minutes' cycles
  const two = await getJ(srv, `/api/v1/sources/${id}/gc/pressure?start=${T0}&end=${T0 + 3n * MIN}&step=2m`);
  assert.equal(two.points.length, 1);
  assert.equal(two.points[0].cycles, 3);
  // pauses 10, 20, 30, 40, 50, 60 µs: p50 = 3rd = 30 µs; procs of the last cycle (8)
  assert.equal(two.points[0].pause_p50_ns, 30000);
  near(two.points[0].gc_cpu, (10.56e6 + 1.28e6) / (120e9 * 8), 'gc_cpu over 2 m');
});

test('series: an empty window, and steps left out', async () => {
  const j = await getJ(srv, `/api/v1/sources/${id}/series?start=${T0 + 10n * MIN}&end=${T0 + 20n * MIN}&step=1m`);
  assert.deepEqual(j.points, []);
  const d = await getJ(srv, `/api/v1/sources/${id}/series?start=${T0 - 60n * MIN}&end=${T0 + 60n * MIN}`);
  // the window is cut to the source's data; a few steps hold all of it
  assert.ok(big(d.start_ns) >= T0 - 60n * MIN);
  assert.equal(d.points.reduce((n, p) => n + p.gc_cycles, 0), 3);
  assert.equal(d.points.reduce((n, p) => n + p.snapshots, 0), 3);
});

test('series: bad parameters are 400s naming them', async () => {
  const base = `/api/v1/sources/${id}/series`;
  assert.match(assertJsonError(await request(srv, 'GET', `${base}?points=0`), 400, 'points'), /points/);
  assert.match(assertJsonError(await request(srv, 'GET', `${base}?points=5001`), 400, 'points'), /points/);
  assert.match(assertJsonError(await request(srv, 'GET', `${base}?step=5x`), 400, 'step'), /step/);
  assert.match(assertJsonError(await request(srv, 'GET', `${base}?step=0`), 400, 'step'), /step/);
  assert.match(assertJsonError(await request(srv, 'GET', `${base}?step=1m&points=10`), 400, 'points'),
               /points or step/);
  assert.match(
      assertJsonError(await request(srv, 'GET', `${base}?start=${T0}&end=${T0 + 10000n * S}&step=1s`), 400, 'step'),
      /step is too small/);
  assert.match(assertJsonError(await request(srv, 'GET', `${base}?start=x`), 400, 'start'), /start/);
  assert.match(assertJsonError(await request(srv, 'GET', `${base}?nosuch=1`), 400, 'nosuch'), /nosuch/);
  assert.match(assertJsonError(await request(srv, 'GET', '/api/v1/sources/424242/series'), 404, 'source'),
               /source 424242 not found/);
});

// Reading runtime data back, checked against what this file reads from the fixtures
// (tests/data/go1.19-checkout/): GC cycles field by field and their times on the unix
// clock (process_start + @offset; receive stamp - phases; a late process_start moved back
// by the stamps), scheduler samples, goroutine snapshots (states per normalised wait
// reason, debug=1 labels, pprof labels and counts), profile samples (types, values,
// labels, stacks), snapshot times, /raw bytes, and the read endpoints' parameters.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import zlib from 'node:zlib';
import { startServer, dataFile, request } from './lib/server.mjs';
import {
  FIXTURE_DIR, fixture, LAUNCH_NS, MiB, parseStderr, gcDuration, effectiveProcessStart, parseDebug2, parseDebug1,
  countGoroutineHeaders, countBy, decodeProfile, sumValues, labelKey, weigh, sortedEntries, getJ, ingestOk, big, jstr,
} from './lib/runtime.mjs';

const FILES = readdirSync(dataFile(FIXTURE_DIR)).sort();
const DEBUG2 = FILES.filter((f) => /^goroutines-debug2-\d+\.txt$/.test(f));
const DEBUG1 = FILES.filter((f) => /^goroutines-debug1-\d+\.txt$/.test(f));
const GPROF = FILES.filter((f) => /^goroutines-\d+\.pb\.gz$/.test(f));
const PROFILES = FILES.filter((f) => /^(cpu|heap|allocs|mutex|block)-\d+\.pb\.gz$/.test(f));
const kindOfProfile = (f) => /^([a-z]+)-/.exec(f)[1];
/** The capture time in a fixture's file name (unix ns). */
const fileTime = (f) => BigInt(/-(\d{19})\./.exec(f)[1]);

const STDERR = parseStderr(fixture('runtime-stderr.log').toString('utf8'));
const STAMPED = parseStderr(fixture('runtime-stderr.stamped.log').toString('utf8'));
const nowNs = () => BigInt(Date.now()) * 1000000n;

let srv;
before(async () => { srv = await startServer(); });
after(async () => { if (srv) await srv.cleanup(); });

// The tests below loop over these lists, and one makes a test per profile: a list
// that came out empty (a renamed fixture, a parser that no longer matches) would let
// them pass while checking nothing. The counts are the fixture directory's, by hand.
test('fixture sanity: the files and lines this suite reads are there', () => {
  assert.equal(DEBUG2.length, 6, `debug=2 dumps: ${DEBUG2}`);     // ls | grep -c debug2
  assert.equal(DEBUG1.length, 1, `debug=1 dumps: ${DEBUG1}`);
  assert.equal(GPROF.length, 6, `goroutine profiles: ${GPROF}`);  // ls goroutines-<ns>.pb.gz
  assert.deepEqual(PROFILES.map(kindOfProfile).sort(), ['allocs', 'block', 'cpu', 'heap', 'mutex'], `profiles: ${PROFILES}`);
  assert.equal(STDERR.gc.length, 59, 'grep -c "^gc " runtime-stderr.log');
  assert.equal(STDERR.sched.length, 17, 'grep -c "^SCHED " runtime-stderr.log');
  assert.equal(STAMPED.gc.length, 59, 'gc lines of runtime-stderr.stamped.log');
  assert.equal(STAMPED.sched.length, 17, 'SCHED lines of runtime-stderr.stamped.log');
});

// ------------------------------------------------------------------ GC and sched

/** Asserts one /gc cycle against the parsed line, with the expected start. */
function checkCycle(c, g, start, what) {
  const m = `${what} gc ${g.n} (${g.line})`;
  assert.equal(c.n, g.n, `${m}: n`);
  assert.equal(big(c.start_ns), start, `${m}: start_ns`);
  const [a, b, d] = g.clock;
  assert.equal(big(c.end_ns), start + a + b + d, `${m}: end_ns = start + the three clock phases`);
  assert.deepEqual(Object.keys(c.phases).sort(), ['concurrent_mark', 'stw_mark_termination', 'stw_sweep_termination'], `${m}: phases`);
  assert.deepEqual(c.phases.stw_sweep_termination.map(big), [start, start + a], `${m}: phases.stw_sweep_termination`);
  assert.deepEqual(c.phases.concurrent_mark.map(big), [start + a, start + a + b], `${m}: phases.concurrent_mark`);
  assert.deepEqual(c.phases.stw_mark_termination.map(big), [start + a + b, start + a + b + d], `${m}: phases.stw_mark_termination`);
  assert.equal(big(c.stw_ns), a + d, `${m}: stw_ns = sweep termination + mark termination`);
  const [c1, c2, c3, c4, c5] = g.cpu;
  assert.equal(big(c.cpu_ns.stw_sweep_termination), c1, `${m}: cpu_ns.stw_sweep_termination`);
  assert.equal(big(c.cpu_ns.assist), c2, `${m}: cpu_ns.assist`);
  assert.equal(big(c.cpu_ns.background), c3, `${m}: cpu_ns.background`);
  assert.equal(big(c.cpu_ns.idle), c4, `${m}: cpu_ns.idle`);
  assert.equal(big(c.cpu_ns.stw_mark_termination), c5, `${m}: cpu_ns.stw_mark_termination`);
  assert.equal(c.gc_cpu_percent, g.pct, `${m}: gc_cpu_percent`);
  assert.equal(big(c.heap_before_bytes), g.heapBefore, `${m}: heap_before_bytes`);
  assert.equal(big(c.heap_after_bytes), g.heapAfter, `${m}: heap_after_bytes`);
  assert.equal(big(c.heap_live_bytes), g.heapLive, `${m}: heap_live_bytes`);
  assert.equal(big(c.goal_bytes), g.goal, `${m}: goal_bytes`);
  assert.ok('stacks_bytes' in c, `${m}: Go 1.19 lines have stacks`);
  assert.equal(big(c.stacks_bytes), g.stacks, `${m}: stacks_bytes`);
  assert.ok('globals_bytes' in c, `${m}: Go 1.19 lines have globals`);
  assert.equal(big(c.globals_bytes), g.globals, `${m}: globals_bytes`);
  assert.equal(c.procs, g.procs, `${m}: procs`);
  assert.equal(c.forced, g.forced, `${m}: forced`);
}

function checkSched(x, s, time, what) {
  const m = `${what} (${s.line})`;
  assert.equal(big(x.time_ns), time, `${m}: time_ns`);
  for (const k of ['gomaxprocs', 'idleprocs', 'threads', 'spinningthreads', 'idlethreads', 'runqueue']) {
    assert.equal(x[k], s[k], `${m}: ${k}`);
  }
  assert.equal(x.local_runqueue, s.localSum, `${m}: local_runqueue = sum of the bracket list`);
}

async function allCycles(sid, qs = '') {
  const j = await getJ(srv, `/api/v1/sources/${sid}/gc?limit=10000${qs}`);
  assert.equal(j.more, false);
  assert.equal(j.source.id, sid, '/gc names its source');
  return j.cycles;
}
async function allSched(sid, qs = '') {
  const j = await getJ(srv, `/api/v1/sources/${sid}/sched?limit=10000${qs}`);
  assert.equal(j.more, false);
  return j.samples;
}
const byN = (cycles) => new Map(cycles.map((c) => [c.n, c]));

describe('GC cycles and scheduler samples', () => {
  let plain, stamped;
  before(async () => {
    plain = (await ingestOk(srv, 'gctrace', { service: 'rt-read', instance: 'plain', process_start: String(LAUNCH_NS) },
      fixture('runtime-stderr.log'))).source_id;
    stamped = (await ingestOk(srv, 'gctrace', { service: 'rt-read', instance: 'stamped' },
      fixture('runtime-stderr.stamped.log'))).source_id;
  });

  test('with process_start = meta.json launch_unix_ns: the first and the last gc line, field by field', async () => {
    const got = byN(await allCycles(plain));
    assert.equal(got.size, STDERR.gc.length);
    for (const g of [STDERR.gc[0], STDERR.gc[STDERR.gc.length - 1]]) {
      assert.ok(got.has(g.n), `gc ${g.n} missing`);
      checkCycle(got.get(g.n), g, LAUNCH_NS + g.offset, 'process_start');
    }
  });

  test('with process_start: every cycle starts at launch + @offset exactly, in time order', async () => {
    const cycles = await allCycles(plain);
    const got = byN(cycles);
    for (const g of STDERR.gc) checkCycle(got.get(g.n), g, LAUNCH_NS + g.offset, 'process_start');
    const starts = cycles.map((c) => big(c.start_ns));
    assert.deepEqual(starts, [...starts].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)), 'cycles ordered by start');
  });

  test('with process_start: sched samples = SCHED lines, time = launch + offset', async () => {
    const samples = await allSched(plain);
    assert.equal(samples.length, STDERR.sched.length);
    // one sample checked field by field (the 4th), then all of them
    checkSched(samples[3], STDERR.sched[3], LAUNCH_NS + STDERR.sched[3].offset, 'SCHED #4');
    for (const [i, s] of STDERR.sched.entries()) checkSched(samples[i], s, LAUNCH_NS + s.offset, `SCHED #${i + 1}`);
  });

  test('stamped log without process_start: gc start = stamp - phases; sched time = stamp', async () => {
    const got = byN(await allCycles(stamped));
    assert.equal(got.size, STAMPED.gc.length);
    for (const g of STAMPED.gc) checkCycle(got.get(g.n), g, g.stamp - gcDuration(g), 'stamped');
    const samples = await allSched(stamped);
    assert.equal(samples.length, STAMPED.sched.length);
    for (const [i, s] of STAMPED.sched.entries()) checkSched(samples[i], s, s.stamp, `stamped SCHED #${i + 1}`);
  });

  test('stamped log with process_start: the offsets win; a late process_start is moved back by the largest lag', async () => {
    for (const [name, ps] of [['exact', LAUNCH_NS], ['late by 1 s', LAUNCH_NS + 1000000000n]]) {
      const eff = effectiveProcessStart(ps, STAMPED);
      if (name === 'late by 1 s') assert.ok(eff < ps, 'the fixture\'s stamps prove a 1 s late start wrong');
      const j = await ingestOk(srv, 'schedtrace', { service: 'rt-read', instance: `stamped-ps-${name}`, process_start: String(ps) },
        fixture('runtime-stderr.stamped.log'));
      assert.equal(j.accepted, STAMPED.gc.length + STAMPED.sched.length);
      const got = byN(await allCycles(j.source_id));
      for (const g of STAMPED.gc) checkCycle(got.get(g.n), g, eff + g.offset, `process_start ${name}`);
      const samples = await allSched(j.source_id);
      for (const [i, s] of STAMPED.sched.entries()) checkSched(samples[i], s, eff + s.offset, `process_start ${name} SCHED #${i + 1}`);
    }
  });

  test('start/end as unix seconds, unix ns and RFC 3339 select [start, end); limit and more', async () => {
    const starts = STDERR.gc.map((g) => ({ n: g.n, start: LAUNCH_NS + g.offset }));
    const want = (lo, hi) => starts.filter((x) => x.start >= lo && x.start < hi).map((x) => x.n);
    const sec0 = LAUNCH_NS / 1000000000n + 3n, sec1 = sec0 + 6n;
    const got = async (qs) => (await getJ(srv, `/api/v1/sources/${plain}/gc?${qs}`)).cycles.map((c) => c.n);
    const wantSec = want(sec0 * 1000000000n, sec1 * 1000000000n);
    assert.ok(wantSec.length > 3 && wantSec.length < starts.length, `window of ${wantSec.length} cycles`);
    assert.deepEqual(await got(`start=${sec0}&end=${sec1}`), wantSec, 'unix seconds');
    const rfc = (sec) => new Date(Number(sec) * 1000).toISOString().replace(/\.000Z$/, 'Z');
    assert.deepEqual(await got(`start=${encodeURIComponent(rfc(sec0))}&end=${encodeURIComponent(rfc(sec1))}`), wantSec, 'RFC 3339');
    // ns boundaries exactly at cycle starts: the start is included, the end excluded
    const lo = starts[10].start, hi = starts[20].start;
    assert.deepEqual(await got(`start=${lo}&end=${hi}`), starts.slice(10, 20).map((x) => x.n), 'unix ns [start, end)');
    assert.deepEqual(await got(`start=${lo + 1n}&end=${hi + 1n}`), starts.slice(11, 21).map((x) => x.n), 'unix ns, one ns later');
    // RFC 3339 with nanoseconds
    const rfcNs = (ns) => `${new Date(Number(ns / 1000000000n) * 1000).toISOString().slice(0, 19)}.${String(ns % 1000000000n).padStart(9, '0')}Z`;
    assert.deepEqual(await got(`start=${encodeURIComponent(rfcNs(lo))}&end=${encodeURIComponent(rfcNs(hi))}`),
      starts.slice(10, 20).map((x) => x.n), 'RFC 3339 with 9 decimals');
    const lim = await getJ(srv, `/api/v1/sources/${plain}/gc?limit=5`);
    assert.deepEqual(lim.cycles.map((c) => c.n), starts.slice(0, 5).map((x) => x.n), 'limit=5 keeps the first five');
    assert.equal(lim.more, true, 'more when the limit cut the answer');
    const sl = await getJ(srv, `/api/v1/sources/${plain}/sched?limit=3`);
    assert.equal(sl.samples.length, 3);
    assert.equal(sl.more, true);
    const sw = await getJ(srv, `/api/v1/sources/${plain}/sched?start=${sec0}&end=${sec1}`);
    const wantSched = STDERR.sched.filter((s) => LAUNCH_NS + s.offset >= sec0 * 1000000000n && LAUNCH_NS + s.offset < sec1 * 1000000000n);
    assert.deepEqual(sw.samples.map((s) => big(s.time_ns)), wantSched.map((s) => LAUNCH_NS + s.offset), 'sched window');
  });

  test('the source spans the data: first_ns / last_ns', async () => {
    const j = await getJ(srv, `/api/v1/sources/${plain}/gc?limit=1`);
    const first = [...STDERR.gc.map((g) => LAUNCH_NS + g.offset), ...STDERR.sched.map((s) => LAUNCH_NS + s.offset)];
    const lo = first.reduce((a, b) => (a < b ? a : b)), hi = first.reduce((a, b) => (a > b ? a : b));
    assert.ok(big(j.source.first_ns) <= lo, `first_ns ${j.source.first_ns} <= ${lo}`);
    assert.ok(big(j.source.last_ns) >= hi, `last_ns ${j.source.last_ns} >= ${hi}`);
  });

  test('unknown source -> 404; bad parameters -> 400', async () => {
    for (const p of ['gc', 'sched', 'snapshots']) await getJ(srv, `/api/v1/sources/999999/${p}`, 404);
    await getJ(srv, `/api/v1/sources/${plain}/gc?start=yesterday`, 400);
    await getJ(srv, `/api/v1/sources/${plain}/gc?limit=0`, 400);
  });
});

// ------------------------------------------------------------------ other Go versions (synthetic lines)

describe('stderr lines of other Go versions and modes (synthetic, per go-gctrace.md / go-schedtrace.md)', () => {
  const PS = 1795340000000000000n;
  const lines = [
    'GC forced',
    'gc 7 @120.016s 1%: 0.041+2.3+0.019 ms clock, 0.33+0.52/4.1/9.6+0.15 ms cpu, 38->39->21 MB, 40 MB goal, 0 MB stacks, 1 MB globals, 8 P (forced)',
    'gc 8 @121.500s 2%: 0.052+12+0.030 ms clock, 0.41+1.1/23/40+0.24 ms cpu, 1->1->0 MB, 8532210231531 MB goal, 0 MB stacks, 0 MB globals, 8 P (forced)',
    'scav 12 KiB work, 3456 KiB total, 97% util',
    'SCHED 122004ms: gomaxprocs=4 idleprocs=2 threads=9 spinningthreads=1 needspinning=0 idlethreads=4 runqueue=5 [1 0 3 0]',
    'SCHED 123004ms: gomaxprocs=4 idleprocs=1 threads=9 spinningthreads=0 idlethreads=4 runqueue=2 gcwaiting=0 nmidlelocked=0 stopwait=0 sysmonwait=0',
    '  P0: status=1 schedtick=10 syscalltick=2 m=3 runqsize=0 gfreecnt=0 timerslen=1',
    '  M3: p=0 curg=17 mallocing=0 throwing=0 preemptoff= locks=0 dying=0 spinning=false blocked=false lockedg=-1',
    '  G17: status=2() m=3 lockedm=-1',
  ];
  const go117 = 'gc 9 @130.250s 0%: 0.010+1.0+0.005 ms clock, 0.040+0/0.5/1.2+0.020 ms cpu, 4->4->2 MB, 5 MB goal, 4 P';

  test('forced cycles, a GOGC=off goal, needspinning= and scheddetail SCHED lines', async () => {
    const j = await ingestOk(srv, 'schedtrace', { service: 'rt-read', instance: 'synthetic', process_start: String(PS) }, lines.join('\n') + '\n');
    assert.equal(j.accepted, 4, '2 gc + 2 SCHED lines');
    const cycles = await allCycles(j.source_id);
    assert.deepEqual(cycles.map((c) => [c.n, big(c.start_ns), c.forced, c.procs]),
      [[7, PS + 120016000000n, true, 8], [8, PS + 121500000000n, true, 8]]);
    assert.equal(big(cycles[0].cpu_ns.idle), 9600000n);
    assert.equal(big(cycles[0].globals_bytes), 1n << 20n);
    assert.equal(big(cycles[1].phases.concurrent_mark[1]) - big(cycles[1].phases.concurrent_mark[0]), 12000000n, '"12" ms = 12 ms');
    assert.equal(big(cycles[1].goal_bytes), 8532210231531n << 20n, 'a huge goal survives exactly');
    const samples = await allSched(j.source_id);
    assert.equal(samples.length, 2);
    assert.deepEqual([big(samples[0].time_ns), samples[0].gomaxprocs, samples[0].spinningthreads, samples[0].runqueue, samples[0].local_runqueue],
      [PS + 122004000000n, 4, 1, 5, 4], 'needspinning= line, local queues [1 0 3 0]');
    assert.deepEqual([big(samples[1].time_ns), samples[1].idleprocs, samples[1].runqueue], [PS + 123004000000n, 1, 2]);
    assert.equal(samples[1].local_runqueue, undefined, 'scheddetail lines have no local queue list');
  });

  test('a Go 1.17 gc line (no stacks/globals) leaves them out', async () => {
    const j = await ingestOk(srv, 'gctrace', { service: 'rt-read', instance: 'go117', process_start: String(PS) }, go117 + '\n');
    assert.equal(j.accepted, 1);
    const [c] = await allCycles(j.source_id);
    assert.equal(c.n, 9);
    assert.equal(big(c.start_ns), PS + 130250000000n);
    assert.equal(big(c.goal_bytes), 5n << 20n);
    assert.equal(c.procs, 4);
    assert.ok(!('stacks_bytes' in c) && !('globals_bytes' in c), `no stacks/globals: ${jstr(c)}`);
  });

  test('no process_start and no stamps: the last line is placed at time + duration, the others by their offsets', async () => {
    const T = 1795334474000000000n, D = 16500000000n;
    const j = await ingestOk(srv, 'gctrace', { service: 'rt-read', instance: 'anchored', time: String(T), duration: String(D) },
      fixture('runtime-stderr.log'));
    let lastEnd = 0n;
    for (const g of STDERR.gc) if (g.offset + gcDuration(g) > lastEnd) lastEnd = g.offset + gcDuration(g);
    for (const s of STDERR.sched) if (s.offset > lastEnd) lastEnd = s.offset;
    const base = T + D - lastEnd; // = the implied process start
    const got = byN(await allCycles(j.source_id));
    for (const g of STDERR.gc) checkCycle(got.get(g.n), g, base + g.offset, 'anchored');
    const samples = await allSched(j.source_id);
    for (const [i, s] of STDERR.sched.entries()) checkSched(samples[i], s, base + s.offset, `anchored SCHED #${i + 1}`);
  });
});

// ------------------------------------------------------------------ goroutines

describe('goroutine snapshots', () => {
  test('debug=2: total = goroutine headers; meta.by_state = the dump\'s normalised wait reasons', async () => {
    for (const f of DEBUG2) {
      const text = fixture(f).toString('utf8');
      const gs = parseDebug2(text);
      assert.equal(gs.length, countGoroutineHeaders(text), `${f}: every header parsed`);
      for (const g of gs) assert.ok(g.state, `${f}: goroutine ${g.id} [${g.reason}] has no mapping in this test`);
      const t = fileTime(f);
      const j = await ingestOk(srv, 'goroutine', { service: 'rt-read', instance: 'debug2', time: String(t) }, fixture(f));
      assert.equal(j.accepted, gs.length, `${f}: accepted`);
      const snap = await getJ(srv, `/api/v1/snapshots/${j.snapshot_id}?limit=10000`);
      assert.equal(snap.id, j.snapshot_id);
      assert.equal(snap.source_id, j.source_id);
      assert.equal(snap.kind, 'goroutine');
      assert.equal(snap.format, 'debug=2');
      assert.equal(snap.meta.format, 'debug=2');
      assert.equal(big(snap.time_ns), t, `${f}: time_ns = the time parameter`);
      assert.equal(snap.total, countGoroutineHeaders(text), `${f}: total = number of "goroutine N [" headers`);
      assert.deepEqual(snap.meta.by_state, countBy(gs, (g) => g.state), `${f}: meta.by_state`);
      assert.equal(snap.raw_bytes, fixture(f).length, `${f}: raw_bytes`);
      assert.equal(snap.more, false);
      // the groups add up, per state and per wait reason as printed
      assert.equal(snap.groups.reduce((n, g) => n + g.count, 0), gs.length, `${f}: group counts sum to the total`);
      const byState = {};
      const byReason = {};
      for (const g of snap.groups) {
        byState[g.state] = (byState[g.state] || 0) + g.count;
        byReason[g.wait_reason] = (byReason[g.wait_reason] || 0) + g.count;
      }
      assert.deepEqual(byState, countBy(gs, (g) => g.state), `${f}: groups by state`);
      assert.deepEqual(byReason, countBy(gs, (g) => g.reason), `${f}: groups by wait_reason`);
      // the goroutine ids a group lists are goroutines of the dump with that state and stack
      const byId = new Map(gs.map((g) => [g.id, g]));
      for (const grp of snap.groups) {
        assert.ok(Array.isArray(grp.frames) && grp.frames.length > 0, `${f}: group without frames`);
        if (!grp.goroutine_ids) continue;
        for (const id of String(grp.goroutine_ids).split(',').map(Number)) {
          const g = byId.get(id);
          assert.ok(g, `${f}: group lists goroutine ${id}, which is not in the dump`);
          assert.equal(grp.state, g.state, `${f}: goroutine ${id} state`);
          assert.equal(grp.wait_reason, g.reason, `${f}: goroutine ${id} wait_reason`);
          assert.deepEqual(grp.frames.slice(0, g.frames.length), g.frames, `${f}: goroutine ${id} frames (leaf first)`);
        }
      }
    }
  });

  test('debug=2 header details: minutes, locked to thread, (scan), Go 1.21 "in goroutine N", semacquire in Mutex.Lock', async () => {
    const dump = [
      'goroutine 5 [chan receive, 3 minutes, locked to thread]:',
      'main.worker(0xc000010000)',
      '\t/srv/main.go:10 +0x1d',
      'created by main.main in goroutine 1',
      '\t/srv/main.go:5 +0x2b',
      '',
      'goroutine 6 [semacquire, 1 minutes]:',
      'sync.runtime_SemacquireMutex(0x1?, 0x0?, 0x1?)',
      '\truntime/sema.go:77 +0x25',
      'sync.(*Mutex).lockSlow(0xc000)',
      '\tsync/mutex.go:171 +0x165',
      'sync.(*Mutex).Lock(...)',
      '\tsync/mutex.go:90',
      'main.g()',
      '\t/srv/main.go:20 +0x1',
      'created by main.main in goroutine 1',
      '\t/srv/main.go:6 +0x2b',
      '',
      'goroutine 7 [select (scan)]:',
      'main.loop()',
      '\t/srv/main.go:30 +0x1',
      '',
      'goroutine 8 [chan receive, 12 minutes]:',
      'main.worker(0xc000010008)',
      '\t/srv/main.go:10 +0x1d',
      'created by main.main in goroutine 1',
      '\t/srv/main.go:5 +0x2b',
      '',
    ].join('\n');
    const parsed = parseDebug2(dump);
    const j = await ingestOk(srv, 'goroutine', { service: 'rt-read', instance: 'synthetic-debug2' }, dump);
    assert.equal(j.accepted, 4);
    const snap = await getJ(srv, `/api/v1/snapshots/${j.snapshot_id}`);
    assert.deepEqual(snap.meta.by_state, countBy(parsed, (g) => g.state));
    assert.deepEqual(snap.meta.by_state, { chan: 2, mutex: 1, select: 1 });
    const find = (id) => snap.groups.find((g) => String(g.goroutine_ids || '').split(',').includes(String(id)));
    const g5 = find(5), g8 = find(8);
    assert.ok(g5 && g8, `groups: ${jstr(snap.groups)}`);
    if (g5 === g8) { // same stack and state: one group of two
      assert.equal(g5.count, 2);
      assert.equal(big(g5.wait_min_ns), 3n * 60000000000n);
      assert.equal(big(g5.wait_max_ns), 12n * 60000000000n);
    } else {
      assert.equal(big(g5.wait_min_ns), 3n * 60000000000n);
      assert.equal(big(g8.wait_max_ns), 12n * 60000000000n);
    }
    assert.equal(g5.wait_reason, 'chan receive');
    assert.deepEqual(g5.frames[0], { func: 'main.worker', file: '/srv/main.go', line: 10 });
    const locked = snap.groups.filter((g) => g.locked_to_thread);
    assert.equal(locked.length, 1, 'one group locked to a thread');
    assert.ok(String(locked[0].goroutine_ids).split(',').includes('5'));
    const g6 = find(6);
    assert.equal(g6.state, 'mutex');
    assert.equal(g6.wait_reason, 'semacquire');
    assert.equal(big(g6.wait_min_ns), 60000000000n);
    assert.deepEqual(g6.frames.slice(0, 4).map((f) => f.func), ['sync.runtime_SemacquireMutex', 'sync.(*Mutex).lockSlow', 'sync.(*Mutex).Lock', 'main.g']);
    assert.deepEqual(g6.frames[2], { func: 'sync.(*Mutex).Lock', file: 'sync/mutex.go', line: 90 });
    const g7 = find(7);
    assert.equal(g7.state, 'select');
    assert.equal(g7.wait_reason, 'select', 'the (scan) flag is not part of the reason');
    assert.equal(g7.wait_min_ns, undefined, 'no minutes printed: no wait_min_ns');
  });

  test('debug=1: total = header total; the labels of a record equal its "# labels:" line', async () => {
    for (const f of DEBUG1) {
      const d = parseDebug1(fixture(f).toString('utf8'));
      const labelled = d.records.filter((r) => r.labels);
      assert.ok(labelled.length > 0, `${f}: the fixture has labelled records`);
      const j = await ingestOk(srv, 'goroutine', { service: 'rt-read', instance: 'debug1' }, fixture(f));
      const snap = await getJ(srv, `/api/v1/snapshots/${j.snapshot_id}?limit=10000`);
      assert.equal(snap.format, 'debug=1');
      assert.equal(snap.total, d.claimedTotal, `${f}: total = "goroutine profile: total N"`);
      assert.equal(snap.total, d.records.reduce((n, r) => n + r.count, 0), `${f}: total = sum of record counts`);
      assert.equal(snap.meta.claimed_total, d.claimedTotal, `${f}: meta.claimed_total`);
      assert.equal(Object.values(snap.meta.by_state).reduce((a, b) => a + b, 0), d.claimedTotal, `${f}: by_state sums to total`);
      const want = weigh(d.records, (r) => labelKey(r.labels), (r) => r.count);
      const got = weigh(snap.groups, (g) => labelKey(g.labels), (g) => g.count);
      assert.deepEqual(sortedEntries(got), sortedEntries(want), `${f}: labels of the records (weighted by count)`);
      for (const r of labelled) {
        const g = snap.groups.find((x) => labelKey(x.labels) === labelKey(r.labels));
        assert.equal(g.span_id, r.labels.span_id, `${f}: span_id of ${jstr(r.labels)}`);
        assert.equal(g.trace_id, r.labels.trace_id, `${f}: trace_id of ${jstr(r.labels)}`);
      }
      for (const g of snap.groups) if (!g.labels) assert.equal(g.span_id, undefined, `${f}: span_id only with labels`);
    }
  });

  test('debug=1 labels with Go %q escapes are unquoted; span_id/trace_id taken from them', async () => {
    const labels = { span_id: '00f067aa0ba902b7', span_name: 'GET /a "b" \\ c\td', trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', 'k\u00e9y': 'v\u00e9' };
    const text = 'goroutine profile: total 1\n1 @ 0x43b5d6 0x46f941\n' +
      `# labels: {${Object.keys(labels).sort().map((k) => `${JSON.stringify(k)}:${JSON.stringify(labels[k])}`).join(', ')}}\n` +
      '#\t0x43b5d5\tmain.handler+0x7c\t/srv/main.go:91\n\n';
    assert.deepEqual(parseDebug1(text).records[0].labels, labels, 'the test\'s own reading');
    const j = await ingestOk(srv, 'goroutine', { service: 'rt-read', instance: 'escapes' }, text);
    const snap = await getJ(srv, `/api/v1/snapshots/${j.snapshot_id}`);
    assert.equal(snap.groups.length, 1);
    assert.deepEqual(snap.groups[0].labels, labels);
    assert.equal(snap.groups[0].span_id, labels.span_id);
    assert.equal(snap.groups[0].trace_id, labels.trace_id);
    assert.deepEqual(snap.groups[0].frames, [{ func: 'main.handler', file: '/srv/main.go', line: 91 }]);
  });

  test('pprof goroutine profiles: total = sum of sample values; span/trace labels as in the protobuf', async () => {
    for (const f of GPROF) {
      const p = decodeProfile(fixture(f));
      const sum = sumValues(p.samples, 1)[0];
      const j = await ingestOk(srv, 'goroutine', { service: 'rt-read', instance: 'gprof' }, fixture(f));
      assert.equal(j.accepted, sum, `${f}: accepted`);
      const snap = await getJ(srv, `/api/v1/snapshots/${j.snapshot_id}?limit=10000`);
      assert.equal(snap.format, 'pprof');
      assert.equal(snap.total, sum, `${f}: total = sum of sample values`);
      assert.equal(big(snap.time_ns), p.timeNanos, `${f}: time_ns = the profile's time_nanos`);
      assert.deepEqual(snap.meta.sample_types, p.sampleTypes, `${f}: sample_types`);
      assert.equal(snap.groups.reduce((n, g) => n + g.count, 0), sum, `${f}: group counts`);
      assert.equal(Object.values(snap.meta.by_state).reduce((a, b) => a + b, 0), sum, `${f}: by_state sums to total`);
      const ids = (trace, span) => `${trace ?? '-'}/${span ?? '-'}`;
      const want = weigh(p.samples, (s) => ids(s.labels?.trace_id, s.labels?.span_id), (s) => s.values[0]);
      const got = weigh(snap.groups, (g) => ids(g.trace_id, g.span_id), (g) => g.count);
      assert.deepEqual(sortedEntries(got), sortedEntries(want), `${f}: trace_id/span_id of groups (weighted by count)`);
      assert.ok([...want.keys()].some((k) => k !== '-/-'), `${f}: the fixture has span labels`);
      const wl = weigh(p.samples, (s) => labelKey(s.labels), (s) => s.values[0]);
      const gl = weigh(snap.groups, (g) => labelKey(g.labels), (g) => g.count);
      assert.deepEqual(sortedEntries(gl), sortedEntries(wl), `${f}: labels of groups`);
      // stacks: each group's frames are a sample's frames
      const wf = weigh(p.samples, (s) => jstr(s.frames), (s) => s.values[0]);
      const gf = weigh(snap.groups, (g) => jstr(g.frames), (g) => g.count);
      assert.deepEqual(sortedEntries(gf), sortedEntries(wf), `${f}: frames of groups`);
    }
  });
});

// ------------------------------------------------------------------ profiles

describe('profile snapshots', () => {
  for (const f of PROFILES) {
    test(`${f}: meta, values, labels and stacks as in the protobuf`, async () => {
      const kind = kindOfProfile(f);
      const p = decodeProfile(fixture(f));
      const n = p.sampleTypes.length;
      const j = await ingestOk(srv, kind, { service: 'rt-read', instance: 'profiles' }, fixture(f));
      assert.equal(j.accepted, p.samples.length);
      const snap = await getJ(srv, `/api/v1/snapshots/${j.snapshot_id}?limit=10000`);
      assert.equal(snap.kind, kind);
      assert.equal(snap.format, 'pprof');
      assert.equal(snap.total, p.samples.length, 'total = number of samples');
      assert.equal(big(snap.time_ns), p.timeNanos, 'time_ns = time_nanos');
      assert.equal(big(snap.duration_ns), p.durationNanos, 'duration_ns = duration_nanos');
      assert.deepEqual(snap.meta.sample_types, p.sampleTypes, 'meta.sample_types');
      assert.deepEqual(snap.meta.period_type, p.periodType, 'meta.period_type');
      assert.equal(snap.meta.period, p.period, 'meta.period');
      if (p.defaultSampleType) assert.equal(snap.meta.default_sample_type, p.defaultSampleType, 'meta.default_sample_type');
      assert.equal(snap.more, false);
      for (const s of snap.samples) assert.equal(s.values.length, n, 'one value per sample type');
      assert.deepEqual(sumValues(snap.samples.map((s) => ({ values: s.values.map(Number) })), n), sumValues(p.samples, n), 'value sums per type');
      // per (stack, labels): summed values (independent of whether the server merges samples)
      const key = (frames, labels) => `${jstr(frames)} ${labelKey(labels)}`;
      const agg = (items, k, v) => {
        const m = new Map();
        for (const x of items) {
          const kk = k(x);
          const cur = m.get(kk) || new Array(n).fill(0);
          v(x).forEach((val, i) => { cur[i] += Number(val); });
          m.set(kk, cur);
        }
        return sortedEntries(m);
      };
      assert.deepEqual(agg(snap.samples, (s) => key(s.frames, s.labels), (s) => s.values),
        agg(p.samples, (s) => key(s.frames, s.labels), (s) => s.values), 'values per (stack, labels)');
      for (const s of snap.samples) {
        assert.equal(s.span_id, s.labels?.span_id, 'span_id = the span_id label');
        assert.equal(s.trace_id, s.labels?.trace_id, 'trace_id = the trace_id label');
      }
    });
  }

  test('time and duration parameters override the profile\'s own', async () => {
    const f = PROFILES.find((x) => x.startsWith('cpu-'));
    const T = 1795334400123456789n, D = 7000000001n;
    const j = await ingestOk(srv, 'cpu', { service: 'rt-read', instance: 'override', time: String(T), duration: String(D) }, fixture(f));
    const snap = await getJ(srv, `/api/v1/snapshots/${j.snapshot_id}?limit=1`);
    assert.equal(big(snap.time_ns), T);
    assert.equal(big(snap.duration_ns), D);
    const list = await getJ(srv, `/api/v1/sources/${j.source_id}/snapshots?start=${T}&end=${T + 1n}`);
    assert.deepEqual(list.snapshots.map((s) => s.id), [j.snapshot_id], 'listed at the given time');
    assert.equal(big(list.snapshots[0].time_ns), T);
    assert.equal(big(list.snapshots[0].duration_ns), D);
  });

  test('a text dump without time gets the receive time', async () => {
    const t0 = nowNs();
    const j = await ingestOk(srv, 'goroutine', { service: 'rt-read', instance: 'receive-time' }, fixture(DEBUG2[0]));
    const t1 = nowNs();
    const snap = await getJ(srv, `/api/v1/snapshots/${j.snapshot_id}?limit=1`);
    const t = big(snap.time_ns);
    assert.ok(t >= t0 - 1000000000n && t <= t1 + 1000000000n, `time_ns ${t} within the request [${t0}, ${t1}] (1 s slack)`);
  });

  test('?limit on a snapshot cuts groups and says more', async () => {
    const j = await ingestOk(srv, 'goroutine', { service: 'rt-read', instance: 'limit' }, fixture(DEBUG2[0]));
    const snap = await getJ(srv, `/api/v1/snapshots/${j.snapshot_id}?limit=2`);
    assert.equal(snap.groups.length, 2);
    assert.equal(snap.more, true);
  });
});

// ------------------------------------------------------------------ span profiles

describe('GET /api/v1/spans/{id}/profile', () => {
  test('a span\'s CPU profile holds exactly the fixture\'s samples labelled with it', async () => {
    const f = PROFILES.find((x) => x.startsWith('cpu-'));
    const raw = decodeProfile(fixture(f));
    // the span with the most labelled samples in the fixture, read by this test's decoder
    const bySpan = weigh(raw.samples.filter((x) => x.labels?.span_id), (x) => `${x.labels.span_id} ${x.labels.trace_id}`, () => 1);
    assert.ok(bySpan.size > 0, 'the fixture has samples labelled with spans');
    const [key] = [...bySpan.entries()].sort((a, b) => b[1] - a[1])[0];
    const [span, trace] = key.split(' ');
    // a server of its own: the other tests ingest this profile too, and a span's
    // profile gathers its samples from every snapshot that has them
    const own = await startServer();
    try {
    await ingestOk(own, 'cpu', { service: 'rt-read', instance: 'span-profile' }, fixture(f));
    for (const q of [`?type=cpu&trace=${trace}`, '?type=cpu']) {
      const r = await request(own, 'GET', `/api/v1/spans/${span}/profile${q}`);
      assert.equal(r.status, 200, `${q}: ${r.body.toString().slice(0, 300)}`);
      const got = decodeProfile(r.body);
      assert.deepEqual(got.sampleTypes, raw.sampleTypes, `${q}: sample types`);
      assert.deepEqual(got.periodType, raw.periodType, `${q}: period type`);
      assert.equal(got.period, raw.period, `${q}: period`);
      const mine = raw.samples.filter((x) => x.labels?.span_id === span);
      const stacks = (xs) => sortedEntries(weigh(xs, (x) => x.frames.map((fr) => `${fr.func}:${fr.line}`).join(';'), (x) => x.values[1]));
      assert.deepEqual(stacks(got.samples), stacks(mine), `${q}: cpu/nanoseconds per stack`);
      assert.deepEqual(sumValues(got.samples, 2), sumValues(mine, 2), `${q}: totals`);
      for (const x of got.samples) {
        assert.equal(x.labels.span_id, span, `${q}: span_id label`);
        assert.equal(x.labels.trace_id, q.includes('trace=') ? trace : undefined, `${q}: trace_id label, when asked by trace`);
      }
    }
    const none = await request(own, 'GET', '/api/v1/spans/00000000000000aa/profile?type=cpu');
    assert.equal(none.status, 404);
    } finally {
      await own.stop();
    }
  });
});

// ------------------------------------------------------------------ /raw

describe('GET /api/v1/snapshots/{id}/raw', () => {
  const cases = [
    ['gzip\'d pprof (cpu)', 'cpu', PROFILES.find((x) => x.startsWith('cpu-')), (b) => b],
    ['plain protobuf (heap)', 'heap', PROFILES.find((x) => x.startsWith('heap-')), (b) => zlib.gunzipSync(b)],
    ['debug=2 text', 'goroutine', DEBUG2[0], (b) => b],
    ['debug=1 text', 'goroutine', DEBUG1[0], (b) => b],
  ];
  for (const [what, kind, f, prep] of cases) {
    test(`${what}: the exact bytes received`, async () => {
      const body = prep(fixture(f));
      const j = await ingestOk(srv, kind, { service: 'rt-read', instance: 'raw' }, body);
      const r = await request(srv, 'GET', `/api/v1/snapshots/${j.snapshot_id}/raw`);
      assert.equal(r.status, 200, r.body.toString().slice(0, 200));
      assert.equal(r.body.length, body.length, `${f}: length`);
      assert.ok(r.body.equals(body), `${f}: bytes differ`);
      const snap = await getJ(srv, `/api/v1/snapshots/${j.snapshot_id}?limit=1`);
      assert.equal(snap.raw_bytes, body.length);
      assert.ok(snap.stored_payload_bytes > 0 && snap.stored_payload_bytes <= body.length + 64, `stored_payload_bytes ${snap.stored_payload_bytes}`);
    });
  }

  // a goroutine profile (pprof) keeps no payload: /raw writes it again from its groups
  test('gzip\'d goroutine profile: no payload stored, /raw is gzip\'d pprof written again', async () => {
    const body = fixture(GPROF[0]);
    const j = await ingestOk(srv, 'goroutine', { service: 'rt-read', instance: 'raw' }, body);
    const snap = await getJ(srv, `/api/v1/snapshots/${j.snapshot_id}?limit=1`);
    assert.equal(snap.raw_bytes, body.length);
    assert.equal(snap.stored_payload_bytes, 0);
    const r = await request(srv, 'GET', `/api/v1/snapshots/${j.snapshot_id}/raw`);
    assert.equal(r.status, 200, r.body.toString().slice(0, 200));
    assert.ok(r.body[0] === 0x1f && r.body[1] === 0x8b, 'gzip\'d');
    // what it holds, against go tool pprof on the posted file: goroutine_raw.test.mjs
  });

  test('unknown snapshot -> 404 (JSON and raw)', async () => {
    await getJ(srv, '/api/v1/snapshots/999999', 404);
    const r = await request(srv, 'GET', '/api/v1/snapshots/999999/raw');
    assert.equal(r.status, 404);
  });
});

test('the server stops cleanly (exit 0) after all of the above', async () => {
  await srv.stop();
});

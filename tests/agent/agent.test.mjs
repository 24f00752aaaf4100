// meanwhile-agent with a real Go service (service/) and a real meanwhiled:
// `meanwhile-agent run -- service`, then check that every kind of data arrives
// under the right source and at the right times, that the service's output
// passes through byte for byte (compared with the copies the service keeps
// itself), that inflating the heap fires a trigger (an extra debug=2 dump and a
// marked CPU profile), and that SIGTERM is forwarded and the service's exit
// status comes back.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { startServer } from '../integration/lib/server.mjs';
import {
  SERVICE, startAgent, agentExit, agentArgs, tempDir, freePort, waitFor, nowNs, getJson, svcGet,
  collected, cleanup,
} from './lib/agent.mjs';

const SVC = 'agent-test';
const INSTANCE = 'inst-1';
// what the tests below count on having arrived: the run lasts until it has
const MIN_PROFILES = 20, MIN_CPU = 2, MIN_SCHED = 5, MIN_SIDE_BYTES = 1000;
let mw, dir, agent, port, t0, t1, exit, stats, data, source;

/** What of the above has not arrived yet (at the collector, and in the service's own copies). */
async function missing() {
  const { sources } = await getJson(mw, '/api/v1/sources');
  const src = sources.find((s) => s.service === SVC);
  if (!src) return ['a source'];
  const d = await collected(mw, src.id);
  const n = (kind, format) => d.snapshots.filter((s) => s.kind === kind && (!format || s.format === format)).length;
  const side = (f) => (existsSync(path.join(dir, f)) ? readFileSync(path.join(dir, f), 'utf8') : '');
  const err = side('side.err');
  return [
    [n('goroutine', 'pprof') >= MIN_PROFILES, `${MIN_PROFILES} goroutine profiles`],
    [n('goroutine', 'debug=2') >= 1, 'the triggered dump'],
    [n('cpu') >= MIN_CPU, `${MIN_CPU} CPU profiles`],
    [n('heap') >= 1, 'a heap profile'],
    [d.gc.length >= 1, 'a GC cycle'],
    [d.sched.length >= MIN_SCHED, `${MIN_SCHED} sched samples`],
    [side('side.out').length > MIN_SIDE_BYTES && err.length > MIN_SIDE_BYTES, 'the service\'s own copies'],
    [/\ngc \d+ @/.test(err) && /\nSCHED \d+ms/.test(err), 'gc and SCHED lines in side.err'],
  ].filter(([ok]) => !ok).map(([, what]) => what);
}

before(async () => {
  mw = await startServer();
  dir = tempDir();
  port = await freePort();
  t0 = nowNs();
  agent = startAgent([
    'run', ...agentArgs(dir, mw.base, port, [
      '--service', SVC, '--instance', INSTANCE, '--cpu-seconds', '2', '--goroutine-rate', '5', '--goroutine-budget', '0',
      '--dump-interval', '0', '--heap-interval', '2s', '--trigger-factor', '3', '--trigger-window', '60s',
      '--trigger-warmup', '0', // the heap is grown right after the start (startup.test.mjs has the warm-up)
      '--trigger-heap-min', '64MiB', '--trigger-gc-cpu', '0', '--trigger-cooldown', '10m']),
    '--', SERVICE, '-listen', `127.0.0.1:${port}`, '-goroutines', '20', '-chatty', '100ms',
    '-side-stdout', path.join(dir, 'side.out'), '-side-stderr', path.join(dir, 'side.err'),
  ], { dir, env: { GOMAXPROCS: '2', GODEBUG: '' } });

  await waitFor('the service to listen', () => agent.stdout.toString().includes('listening addr='));
  await svcGet(port, '/gc'); // a small live heap on record
  await waitFor('the gc line of /gc to reach the agent', () => agent.stats()?.lines?.gc >= 1);
  await svcGet(port, '/say?n=40');
  await svcGet(port, '/grow?mb=200'); // the heap trigger
  await svcGet(port, '/gc');
  await waitFor('the heap trigger', () => agent.stats()?.triggers?.heap >= 1, { timeoutMs: 20000 });
  // the triggered dump, the marked CPU window, and all the tests below count on
  await waitFor('a triggered CPU profile', () => agent.stats()?.kinds?.cpu?.triggered >= 1, { timeoutMs: 20000 });
  await waitFor('everything the tests count on', async () => {
    const m = await missing();
    if (m.length) throw new Error(`missing: ${m.join(', ')}`); // waitFor reports the last one
    return true;
  }, { timeoutMs: 30000 });
  agent.proc.kill('SIGTERM'); // forwarded: the service writes its last partial lines and exits 3
  exit = await agentExit(agent);
  t1 = nowNs();
  stats = agent.stats();
  const { sources } = await getJson(mw, '/api/v1/sources');
  source = sources.find((s) => s.service === SVC);
  assert.ok(source, `no source for ${SVC}: ${JSON.stringify(sources)}`);
  data = await collected(mw, source.id);
});

after(async () => {
  if (agent && !agent.exit) agent.proc.kill('SIGKILL');
  if (mw) await mw.cleanup();
  cleanup(dir);
});

test('the agent exits with the service status after forwarding SIGTERM', () => {
  assert.deepEqual(exit, { code: 3, signal: null }, `agent log:\n${agent.log().slice(-3000)}`);
  assert.match(agent.stdout.toString(), /got terminated\n/);
});

test("the service's stdout and stderr pass through byte for byte, partial last lines included", () => {
  const sideOut = readFileSync(path.join(dir, 'side.out'));
  const sideErr = readFileSync(path.join(dir, 'side.err'));
  assert.ok(sideOut.length > MIN_SIDE_BYTES && sideErr.length > MIN_SIDE_BYTES, 'the service wrote too little');
  assert.ok(agent.stdout.equals(sideOut), `stdout differs: ${agent.stdout.length} vs ${sideOut.length} bytes`);
  // the runtime may print its first SCHED line before main() points fd 2 at the copying pipe
  const err = agent.stderr, before = err.subarray(0, err.length - sideErr.length);
  assert.ok(err.subarray(before.length).equals(sideErr), `stderr differs: ${err.length} vs ${sideErr.length} bytes`);
  assert.match(before.toString(), /^(SCHED [^\n]*\n)*$/, 'only runtime lines come before the copy starts');
  assert.ok(sideOut.toString().endsWith('bye from stdout, no newline'));
  assert.ok(sideErr.toString().endsWith('bye from stderr, no newline'));
  assert.match(sideErr.toString(), /\ngc \d+ @/, 'the runtime wrote gctrace to stderr');
  assert.match(sideErr.toString(), /\nSCHED \d+ms/, 'the runtime wrote schedtrace to stderr');
});

test('all data joined one source, named as the agent was told', async () => {
  const { sources } = await getJson(mw, '/api/v1/sources');
  const mine = sources.filter((s) => s.service === SVC);
  assert.equal(mine.length, 1, JSON.stringify(sources));
  assert.equal(mine[0].instance, INSTANCE);
});

test('every kind arrived, as many as the agent says it delivered, nothing dropped', () => {
  const k = stats.kinds;
  for (const kind of ['gctrace', 'goroutine', 'cpu', 'heap']) {
    assert.ok(k[kind].captured > 0, `no ${kind} captured: ${JSON.stringify(k[kind])}`);
    assert.equal(k[kind].delivered, k[kind].captured, `${kind}: ${JSON.stringify(k[kind])}`);
    for (const bad of ['rejected', 'dropped', 'failed', 'queue_dropped']) assert.equal(k[kind][bad], 0, `${kind}.${bad}`);
  }
  const by = (kind, format) => data.snapshots.filter((s) => s.kind === kind && (!format || s.format === format));
  assert.equal(by('goroutine').length, k.goroutine.delivered);
  assert.equal(by('cpu').length, k.cpu.delivered);
  assert.equal(by('heap').length, k.heap.delivered);
  assert.ok(by('goroutine', 'pprof').length >= MIN_PROFILES, `goroutine profiles: ${by('goroutine', 'pprof').length}`);
  assert.equal(data.gc.length, stats.lines.gc, 'every gctrace line became a GC cycle');
  assert.equal(data.sched.length, stats.lines.sched, 'every SCHED line became a sample');
  assert.ok(data.sched.length >= MIN_SCHED, `sched samples: ${data.sched.length}`);
  assert.equal(stats.client.spool_files, 0);
});

test('the heap trigger took a debug=2 dump and marked a CPU profile', () => {
  assert.ok(stats.triggers.heap >= 1, JSON.stringify(stats.triggers));
  const dumps = data.snapshots.filter((s) => s.kind === 'goroutine' && s.format === 'debug=2');
  assert.equal(dumps.length, 1, '--dump-interval 0: the only debug=2 dump is the triggered one');
  assert.equal(stats.kinds.goroutine.triggered, 1);
  assert.equal(stats.kinds.cpu.triggered, 1);
  assert.match(agent.log(), /msg="trigger: an extra goroutine dump and CPU profile" reason=heap/);
  assert.ok(dumps[0].total >= 20, `the dump holds the goroutines: ${dumps[0].total}`);
});

test('times: captures within the run, CPU windows back to back, GC cycles at process start + offset', () => {
  const lo = t0, hi = t1;
  for (const s of data.snapshots) {
    const t = BigInt(Math.round(s.time_ns / 1e6)) * 1000000n; // JSON numbers are rounded to ~256 ns
    assert.ok(t >= lo - 1000000n && t <= hi, `${s.kind} snapshot at ${s.time_ns} outside the run [${lo}, ${hi}]`);
  }
  const cpus = data.snapshots.filter((s) => s.kind === 'cpu').sort((a, b) => a.time_ns - b.time_ns);
  assert.ok(cpus.length >= MIN_CPU, `CPU profiles: ${cpus.length}`);
  for (const c of cpus) assert.equal(c.duration_ns, 2e9);
  for (let i = 1; i < cpus.length; i++) {
    const gap = (cpus[i].time_ns - cpus[i - 1].time_ns) / 1e6;
    assert.ok(gap >= 1900 && gap < 2600, `CPU windows ${i - 1} and ${i} are ${gap} ms apart`);
  }
  const gor = data.snapshots.filter((s) => s.kind === 'goroutine' && s.format === 'pprof').sort((a, b) => a.time_ns - b.time_ns);
  const gaps = gor.slice(1).map((s, i) => (s.time_ns - gor[i].time_ns) / 1e6).sort((a, b) => a - b);
  const median = gaps[Math.floor(gaps.length / 2)];
  assert.ok(median > 150 && median < 300, `goroutine profiles every ${median} ms (5 per second expected)`);

  // gc N @S.SSSs: the cycle starts at process_start + S, to the millisecond
  const ps = BigInt(/process_start=(\d+)/.exec(agent.log())[1]);
  assert.ok(ps >= t0 && ps <= t1);
  const offsets = new Map();
  for (const m of readFileSync(path.join(dir, 'side.err'), 'utf8').matchAll(/^gc (\d+) @(\d+)\.(\d{3})s/gm))
    offsets.set(Number(m[1]), BigInt(m[2]) * 1000000000n + BigInt(m[3]) * 1000000n);
  assert.equal(offsets.size, data.gc.length);
  for (const c of data.gc) {
    const want = ps + offsets.get(c.n);
    const got = BigInt(Math.round(c.start_ns / 1e3)) * 1000n;
    const diff = got > want ? got - want : want - got;
    assert.ok(diff < 10000n, `gc ${c.n} starts at ${c.start_ns}, expected ${want}`);
  }
  const sched = data.sched.map((s) => s.time_ns).sort((a, b) => a - b);
  assert.ok(sched[0] >= Number(ps) - 1e6 && sched[sched.length - 1] <= Number(t1) + 1e6);
});

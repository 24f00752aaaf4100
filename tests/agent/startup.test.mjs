// meanwhile-agent while the service starts: a service that takes its time to
// listen gets its first CPU profile as soon as it does (the agent keeps trying
// often until the service first answers, not once a second, let alone once a
// window); a service whose heap grows from nothing to 100 MiB as it starts
// fires no heap trigger (--trigger-warmup), and growth past 3 times its
// settled heap still does.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../integration/lib/server.mjs';
import {
  SERVICE, startAgent, agentExit, agentArgs, tempDir, freePort, waitFor, nowNs, getJson, svcGet, collected, cleanup,
} from './lib/agent.mjs';

let mw;
const dirs = [];

before(async () => { mw = await startServer(); });
after(async () => {
  if (mw) await mw.stop();
  for (const d of dirs) cleanup(d);
});

async function sourceOf(service) {
  const { sources } = await getJson(mw, '/api/v1/sources');
  return sources.find((s) => s.service === service) || null;
}

test('a service that listens only after 1.2 s: its first CPU window starts as soon as it listens', async () => {
  const dir = tempDir();
  dirs.push(dir);
  const port = await freePort();
  const a = startAgent(['run', ...agentArgs(dir, mw.base, port, [
    '--service', 'slow-start', '--cpu-seconds', '2', '--goroutine-rate', '0', '--heap-interval', '0',
    '--dump-interval', '0', '--trigger-factor', '0', '--trigger-gc-cpu', '0']),
  '--', SERVICE, '-listen', `127.0.0.1:${port}`, '-listen-after', '1200ms'], { dir, env: { GODEBUG: '' } });
  let listening = null; // a little after it does: the agent passes stdout through as it comes
  a.proc.stdout.on('data', () => { if (!listening && a.stdout.toString().includes('listening addr=')) listening = nowNs(); });
  await waitFor('the service to listen', () => listening !== null, { timeoutMs: 20000 });
  let cpu;
  await waitFor('the first CPU profile', async () => {
    const src = await sourceOf('slow-start');
    cpu = src && (await collected(mw, src.id)).snapshots.filter((s) => s.kind === 'cpu');
    return cpu && cpu.length >= 1;
  }, { timeoutMs: 20000 });
  a.proc.kill('SIGTERM');
  assert.deepEqual(await agentExit(a), { code: 3, signal: null });
  assert.match(a.log(), /msg="scrape failed" what=cpu/, 'the first tries, before the service listened, failed');
  // Before the service listened the tries failed; the window that worked began at
  // most one short retry pause (100 ms) after it listened. One try a second would
  // have begun it ~0.8 s after.
  const lateMs = (cpu[0].time_ns - Number(listening)) / 1e6;
  console.log(`# the first CPU window began ${lateMs.toFixed(0)} ms after the service said it listens`);
  assert.ok(lateMs < 400, `the first CPU window began ${lateMs.toFixed(0)} ms after the service listened`);
});

test('a heap loaded at start fires nothing; growth against the settled heap after --trigger-warmup does', async () => {
  const dir = tempDir();
  dirs.push(dir);
  const port = await freePort();
  const WARMUP_NS = 3_000_000_000n;
  // the default trigger settings (3x within 60 s, heaps from 32 MiB), GC CPU aside
  const a = startAgent(['run', ...agentArgs(dir, mw.base, port, [
    '--service', 'cache-at-start', '--cpu-seconds', '0', '--goroutine-rate', '0', '--heap-interval', '0',
    '--dump-interval', '0', '--trigger-gc-cpu', '0', '--trigger-warmup', '3s']),
  '--', SERVICE, '-listen', `127.0.0.1:${port}`, '-start-mb', '100'], { dir, env: { GODEBUG: '' } });
  await waitFor('the service to listen', () => a.stdout.toString().includes('listening addr='), { timeoutMs: 20000 });
  const ps = BigInt(/process_start=(\d+)/.exec(a.log())[1]);
  await waitFor('the warm-up to pass', () => nowNs() - ps > WARMUP_NS + 200_000_000n, { timeoutMs: 20000 });
  // gc N @S.SSSs P%: ... A->B->LIVE MB: the cycles of the start, live heaps in MB
  const start = [...a.stderr.toString().matchAll(/^gc \d+ @([\d.]+)s \d+%: .* \d+->\d+->(\d+) MB/gm)]
    .filter((m) => Number(m[1]) < 3).map((m) => Number(m[2]));
  assert.ok(start.length >= 3 && start[start.length - 1] >= 64 && start[0] * 3 < start[start.length - 1],
    `the start grew the heap more than 3 times through several cycles: ${start.join(', ')} MB`);
  const seen = a.stats().lines.gc;
  await svcGet(port, '/gc'); // the settled heap: the baseline
  await waitFor('the agent to read the gc line of /gc', () => a.stats().lines.gc > seen);
  assert.equal(a.stats().triggers.heap ?? 0, 0,
    `the heap's growth at start (${start.join(' -> ')} MB) fired a trigger:\n${a.log().slice(-2000)}`);

  await svcGet(port, '/grow?mb=250'); // 100 -> 350 MiB: more than 3 times the settled heap
  await svcGet(port, '/gc');
  await waitFor('the heap trigger', () => a.stats().triggers.heap >= 1, { timeoutMs: 20000 });
  assert.match(a.log(), /msg="trigger: an extra goroutine dump and CPU profile" reason=heap/);
  a.proc.kill('SIGTERM');
  assert.deepEqual(await agentExit(a), { code: 3, signal: null });
  assert.equal(a.stats().triggers.heap, 1);
});

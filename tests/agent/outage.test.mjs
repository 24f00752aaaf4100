// A collector that is down for 30 s loses nothing: meanwhile-agent runs the Go
// test service (which churns garbage, so GC cycles keep coming) against a
// meanwhiled that is stopped after a few seconds and started again, on the
// same port and data directory, 30 s later. Meanwhile the agent spools; when
// the collector is back it sends the spool in order. At the end every payload
// the agent captured was delivered, none was dropped, and meanwhiled holds as
// many snapshots of each kind as the agent delivered, a GC cycle for every gc
// line and a sample for every SCHED line.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { Server } from '../integration/lib/server.mjs';
import {
  SERVICE, startAgent, agentExit, agentArgs, tempDir, freePort, waitFor, sleep, getJson, svcGet, collected, cleanup,
} from './lib/agent.mjs';

const SVC = 'agent-outage';
const OUTAGE_MS = Number(process.env.MW_AGENT_OUTAGE_MS || 30000);
const SPOOLED = 100, RETRIES = 3, GC_LINES = 20; // what the outage must have made the agent do
let mw, dir, agent, exit, stats, data, during;

before(async () => {
  dir = tempDir();
  const mwPort = await freePort();
  const port = await freePort();
  mw = new Server({ args: ['--listen', `127.0.0.1:${mwPort}`] });
  await mw.start();
  agent = startAgent([
    'run', ...agentArgs(dir, mw.base, port, [
      '--service', SVC, '--instance', 'outage-1', '--cpu-seconds', '2', '--goroutine-rate', '5',
      '--dump-interval', '3s', '--heap-interval', '2s', '--backoff-max', '3s', '--trigger-factor', '0',
      '--trigger-gc-cpu', '0']),
    '--', SERVICE, '-listen', `127.0.0.1:${port}`, '-goroutines', '50', '-churn', '20',
  ], { dir, env: { GOMAXPROCS: '2' } });
  await waitFor('the service to listen', () => agent.stdout.toString().includes('listening addr='));
  // the outage interrupts a running flow: every kind has been delivered once
  await waitFor('a first delivery of every kind', () => {
    const k = agent.stats()?.kinds;
    return k && ['gctrace', 'goroutine', 'cpu', 'heap'].every((kind) => k[kind].delivered >= 1);
  });

  await mw.stop(); // the collector goes away...
  await sleep(OUTAGE_MS); // the outage itself (not a stand-in for a condition)
  // ...and stays away until the agent has done what the first test checks
  await waitFor(`${SPOOLED} payloads spooled, ${RETRIES} retries, more than ${GC_LINES} gc lines`, () => {
    const s = agent.stats();
    const files = readdirSync(path.join(dir, 'spool')).filter((f) => f.endsWith('.mwp')).length;
    if (!s || s.client.spooled < SPOOLED || files < SPOOLED || s.client.retries < RETRIES || s.lines.gc <= GC_LINES)
      throw new Error(`spooled=${s?.client.spooled} files=${files} retries=${s?.client.retries} gc_lines=${s?.lines.gc}`);
    during = { ...s, spool_files_on_disk: files };
    return true;
  });
  await mw.start(); // ...and comes back on the same port, with the same data
  await waitFor('the spool to drain', () => {
    const s = agent.stats();
    return s && s.client.spool_files === 0 && s.client.backoff_ms === 0 ? s : null;
  }, { timeoutMs: 60000 });
  await waitFor('the agent to log that the collector is back',
    () => /msg="the collector is back: spool delivered"/.test(agent.log()));
  await svcGet(port, '/quit?code=0');
  exit = await agentExit(agent);
  stats = agent.stats();
  const { sources } = await getJson(mw, '/api/v1/sources');
  const source = sources.find((s) => s.service === SVC);
  assert.ok(source, JSON.stringify(sources));
  data = await collected(mw, source.id);
});

after(async () => {
  if (agent && !agent.exit) agent.proc.kill('SIGKILL');
  if (mw) await mw.cleanup();
  cleanup(dir);
});

test('the agent spooled while the collector was down', () => {
  assert.ok(during.client.spooled >= SPOOLED, `spooled during a ${OUTAGE_MS} ms outage: ${during.client.spooled}`);
  assert.ok(during.spool_files_on_disk >= SPOOLED, `files in the spool: ${during.spool_files_on_disk}`);
  assert.ok(during.client.retries >= RETRIES, 'the agent kept trying');
  assert.match(agent.log(), /msg="the collector is unreachable: spooling"/);
  assert.match(agent.log(), /msg="the collector is back: spool delivered"/);
});

test('nothing was lost: every capture delivered, and the collector has them all', () => {
  assert.deepEqual(exit, { code: 0, signal: null });
  const k = stats.kinds;
  let total = 0;
  for (const kind of ['gctrace', 'goroutine', 'cpu', 'heap']) {
    assert.ok(k[kind].captured > 0, `no ${kind} captured`);
    assert.equal(k[kind].delivered, k[kind].captured, `${kind}: ${JSON.stringify(k[kind])}`);
    for (const bad of ['rejected', 'dropped', 'failed', 'queue_dropped']) assert.equal(k[kind][bad], 0, `${kind}.${bad}`);
    total += k[kind].delivered;
  }
  assert.equal(stats.client.delivered, total);
  assert.equal(stats.client.pushed, total);
  assert.equal(stats.client.spool_files, 0);
  const count = (kind) => data.snapshots.filter((s) => s.kind === kind).length;
  assert.equal(count('goroutine'), k.goroutine.delivered);
  assert.equal(count('cpu'), k.cpu.delivered);
  assert.equal(count('heap'), k.heap.delivered);
  assert.equal(data.gc.length, stats.lines.gc, 'a GC cycle for every gc line');
  assert.equal(data.sched.length, stats.lines.sched, 'a sample for every SCHED line');
  // the outage is covered: snapshots exist from inside it
  assert.ok(data.gc.length > GC_LINES, `gc cycles: ${data.gc.length}`);
  console.log(`[outage] delivered ${total} payloads (${JSON.stringify(Object.fromEntries(Object.entries(k).map(([n, v]) => [n, v.delivered])))}), ` +
    `${data.gc.length} GC cycles, ${data.sched.length} SCHED samples; ${during.client.spooled} spooled during the outage`);
});

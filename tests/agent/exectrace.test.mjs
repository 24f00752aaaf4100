// meanwhile-agent's execution traces (--trace-seconds), with a real Go service and a
// real meanwhiled that reads them with meanwhile-exectrace: traces taken on schedule and
// on a trigger arrive as stored execution traces of the service's source, aligned to
// unix time by the runtime's clock snapshots (Go >= 1.25), their raw bytes served back,
// their goroutines' states and the GC windows readable; and --trace-budget holds: past
// it, traces are skipped and counted, not taken.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../integration/lib/server.mjs';
import { request } from '../integration/lib/server.mjs';
import {
  SERVICE, startAgent, agentExit, agentArgs, tempDir, freePort, waitFor, getJson, svcGet, cleanup, nowNs,
} from './lib/agent.mjs';

const QUIET = ['--cpu-seconds', '0', '--goroutine-rate', '0', '--dump-interval', '0', '--heap-interval', '0',
  '--leak-interval', '0'];
const dirs = [], agents = [];
let mw;

after(async () => {
  for (const a of agents) if (!a.exit) a.proc.kill('SIGKILL');
  if (mw) await mw.cleanup();
  for (const d of dirs) cleanup(d);
});

async function run(name, extra, svcArgs = []) {
  const dir = tempDir();
  dirs.push(dir);
  const port = await freePort();
  const agent = startAgent(['run', ...agentArgs(dir, mw.base, port, ['--service', name, '--instance', 'i', ...extra]),
    '--', SERVICE, '-listen', `127.0.0.1:${port}`, ...svcArgs], { dir, env: { GODEBUG: '' } });
  agents.push(agent);
  await waitFor('the service to listen', () => agent.stdout.toString().includes('listening addr='));
  return { agent, port, dir };
}

async function traces(name) {
  const { sources } = await getJson(mw, '/api/v1/sources');
  const src = sources.find((s) => s.service === name);
  if (!src) return { src: null, list: [] };
  const { exectraces } = await getJson(mw, `/api/v1/exectraces?source=${src.id}&from=0&to=4102444800000000000`);
  return { src, list: exectraces };
}

test('traces on schedule and on a trigger: stored, aligned, raw kept, goroutines and GC readable', async () => {
  mw = await startServer();
  const name = 'traced';
  const t0 = nowNs();
  const { agent, port } = await run(name, [...QUIET, '--trace-seconds', '1', '--trace-interval', '3s',
    '--trace-budget', '50', '--trigger-factor', '3', '--trigger-window', '60s', '--trigger-heap-min', '64MiB',
    '--trigger-gc-cpu', '0', '--trigger-cooldown', '10m', '--trigger-warmup', '0'], ['-churn', '20']);
  const load = setInterval(() => svcGet(port, '/work').catch(() => {}), 20);
  try {
    let first;
    await waitFor('a scheduled trace', async () => {
      first = (await traces(name)).list[0];
      return first;
    }, { timeoutMs: 30000 });
    assert.equal(first.alignment, 'clock_snapshot', 'Go >= 1.25 carries clock snapshots');
    assert.equal(first.trigger ?? '', '', 'scheduled, not triggered');
    const len = Number(BigInt(first.end_ns) - BigInt(first.start_ns)) / 1e6;
    assert.ok(len > 500 && len < 1600, `a 1 s trace spans ${len} ms`);
    assert.ok(BigInt(first.start_ns) > t0 && BigInt(first.end_ns) < nowNs(), 'in the test\'s own time');

    const raw = await request(mw, 'GET', `/api/v1/exectraces/${first.id}/raw`, { timeoutMs: 30000 });
    assert.equal(raw.status, 200);
    assert.equal(raw.body.length, Number(first.raw_bytes));
    assert.match(raw.body.subarray(0, 16).toString('latin1'), /^go 1\.\d+ trace\0/, 'a Go execution trace');

    const win = await getJson(mw, `/api/v1/exectrace/window?source=${first.source_id}&from=${first.start_ns}` +
      `&to=${first.end_ns}&limit=10000`);
    const states = new Set(win.goroutines.flatMap((g) => g.intervals.map((i) => i.state)));
    assert.ok(states.has('running') && states.has('blocked'), `states seen: ${[...states]}`);
    // the churn goroutine sleeps 10 ms between its rounds; the HTTP server's connections wait for requests
    const blocked = (reason, func) => win.goroutines.some((g) => g.intervals.some((i) => i.state === 'blocked' &&
      i.reason === reason && (win.stacks[i.stack_id] || []).some((f) => f.func.includes(func))));
    assert.ok(blocked('sleep', 'main.main.func'), 'the churn goroutine\'s sleeps');
    assert.ok(blocked('io', 'net/http.(*conn)'), 'the HTTP connections\' reads');
    assert.ok(win.windows.some((w) => w.kind === 'gc'), 'the churn\'s GC cycles are in the trace');
    for (const g of win.goroutines)
      for (const i of g.intervals) assert.ok(BigInt(i.end_ns) >= BigInt(i.start_ns), JSON.stringify(i));

    // the heap grows past 3x: a trigger takes a trace at once, marked with its reason
    await svcGet(port, '/gc');
    await waitFor('the gc line of /gc to reach the agent', () => agent.stats()?.lines?.gc >= 1);
    await svcGet(port, '/grow?mb=200');
    await svcGet(port, '/gc');
    await waitFor('the heap trigger', () => agent.stats()?.triggers?.heap >= 1, { timeoutMs: 20000 });
    await waitFor('a triggered trace', async () => (await traces(name)).list.some((t) => t.trigger === 'heap'),
      { timeoutMs: 20000 });
  } finally {
    clearInterval(load);
  }
  agent.proc.kill('SIGTERM');
  await agentExit(agent);
  const k = agent.stats().kinds.exectrace;
  assert.ok(k.captured >= 2, JSON.stringify(k));
  assert.equal(k.delivered, k.captured, JSON.stringify(k));
  assert.ok(k.triggered >= 1, JSON.stringify(k));
  assert.equal(k.scrape_errors, 0, JSON.stringify(k));
  assert.equal((await traces(name)).list.length, k.delivered, 'every delivered trace is stored');
});

test('--trace-budget: past the share of ten minutes, traces are skipped and counted', async () => {
  mw ||= await startServer();
  const name = 'budget';
  // 0.5% of ten minutes is 3 s: three traces of 1 s, then none
  const { agent } = await run(name, [...QUIET, '--trace-seconds', '1', '--trace-interval', '1200ms',
    '--trace-budget', '0.5']);
  await waitFor('a trace over the budget', () => /execution trace skipped: over its budget/.test(agent.log()),
    { timeoutMs: 30000 });
  await waitFor('the three traces stored', async () => (await traces(name)).list.length === 3, { timeoutMs: 20000 });
  agent.proc.kill('SIGTERM');
  await agentExit(agent);
  const k = agent.stats().kinds.exectrace;
  assert.equal(k.captured, 3, JSON.stringify(k));
  assert.ok(k.scrape_skipped >= 1, JSON.stringify(k));
  assert.equal((await traces(name)).list.length, 3);
});

test('SIGTERM during a trace: the service exits, the cut-short scrape is skipped, not an error', async () => {
  mw ||= await startServer();
  // a 5 s trace starts 300 ms in; the service exits at once on SIGTERM and resets its connection
  const { agent } = await run('cut', [...QUIET, '--trace-seconds', '5', '--trace-interval', '300ms']);
  await new Promise((r) => setTimeout(r, 1500));
  agent.proc.kill('SIGTERM');
  await agentExit(agent);
  const k = agent.stats().kinds.exectrace;
  assert.equal(k.captured, 0, JSON.stringify(k));
  assert.equal(k.scrape_errors, 0, JSON.stringify(k) + agent.log());
  assert.ok(k.scrape_skipped >= 1, JSON.stringify(k));
  assert.doesNotMatch(agent.log(), /scrape failed/, 'a scrape cut short by the stop is not a failure');
  await mw.stop();
});

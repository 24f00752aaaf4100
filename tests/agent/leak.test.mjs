// meanwhile-agent and the goroutine leak profile, with a real Go service and a real
// meanwhiled. The service built with GOEXPERIMENT=goroutineleakprofile (Go 1.26; standard in
// 1.27) leaks goroutines on demand (/leak?n=N): the agent's scheduled scrapes of
// /debug/pprof/goroutineleak (--leak-interval) arrive as snapshots of kind goroutineleak
// with the leaked goroutines grouped by stack, and a trigger takes one at once. The same
// service built without the experiment answers 404 "Unknown profile": the agent says so
// once in its log, at info, and never asks again.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startServer } from '../integration/lib/server.mjs';
import {
  AGENT, SERVICE, startAgent, agentExit, agentArgs, tempDir, freePort, waitFor, getJson, svcGet, collected, cleanup,
} from './lib/agent.mjs';

const LEAKY = process.env.AGENT_TEST_SERVICE_LEAK;
const QUIET = ['--cpu-seconds', '0', '--goroutine-rate', '0', '--dump-interval', '0', '--heap-interval', '0'];
const LEAKS = 3;
const dirs = [], agents = [];
let mw;

after(async () => {
  for (const a of agents) if (!a.exit) a.proc.kill('SIGKILL');
  if (mw) await mw.cleanup();
  for (const d of dirs) cleanup(d);
});

/** Starts `meanwhile-agent run -- service` for service svc; resolves when it listens. */
async function run(service, name, extra) {
  const dir = tempDir();
  dirs.push(dir);
  const port = await freePort();
  const agent = startAgent(['run', ...agentArgs(dir, mw.base, port, ['--service', name, '--instance', 'i', ...extra]),
    '--', service, '-listen', `127.0.0.1:${port}`], { dir, env: { GODEBUG: '' } });
  agents.push(agent);
  await waitFor('the service to listen', () => agent.stdout.toString().includes('listening addr='));
  return { agent, port, dir };
}

async function sourceOf(name) {
  const { sources } = await getJson(mw, '/api/v1/sources');
  return sources.find((s) => s.service === name);
}

async function leakSnapshots(name) {
  const src = await sourceOf(name);
  if (!src) return [];
  return (await collected(mw, src.id)).snapshots.filter((s) => s.kind === 'goroutineleak');
}

test('leak profiles arrive on schedule and on a trigger, the leaked goroutines grouped by stack', async () => {
  assert.ok(LEAKY, 'AGENT_TEST_SERVICE_LEAK must be set (run through ctest)');
  mw = await startServer();
  const name = 'leaky';
  const { agent, port } = await run(LEAKY, name, [...QUIET, '--leak-interval', '1s', '--trigger-factor', '3',
    '--trigger-window', '60s', '--trigger-heap-min', '64MiB', '--trigger-gc-cpu', '0', '--trigger-cooldown', '10m',
    '--trigger-warmup', '0']); // the heap grows right after start here
  await svcGet(port, `/leak?n=${LEAKS}`);

  // a scheduled one that found the leaks (one taken before /leak finds none: total 0)
  let found;
  await waitFor('a scheduled leak profile with the leaks', async () => {
    const snaps = await leakSnapshots(name);
    found = snaps.find((s) => Number(s.total) >= LEAKS);
    return found;
  }, { timeoutMs: 30000 });
  const snap = await getJson(mw, `/api/v1/snapshots/${found.id}`);
  assert.equal(snap.format, 'pprof', 'the agent takes debug=0');
  assert.equal(snap.meta.trigger, undefined, 'scheduled, not triggered');
  const leaked = snap.groups.filter((g) => g.frames.some((f) => f.func === 'main.leak'));
  assert.equal(leaked.length, 1, `one group for the one stack: ${JSON.stringify(snap.groups)}`);
  assert.equal(leaked[0].count, LEAKS);
  assert.equal(leaked[0].state, 'chan', 'blocked on a channel receive');

  // a trigger (the live heap grows past 3x) takes one at once, marked with its reason
  await svcGet(port, '/gc');
  await waitFor('the gc line of /gc to reach the agent', () => agent.stats()?.lines?.gc >= 1);
  await svcGet(port, '/grow?mb=200');
  await svcGet(port, '/gc');
  await waitFor('the heap trigger', () => agent.stats()?.triggers?.heap >= 1, { timeoutMs: 20000 });
  await waitFor('a triggered leak profile', async () => {
    for (const s of await leakSnapshots(name)) {
      const full = await getJson(mw, `/api/v1/snapshots/${s.id}`);
      if (full.meta.trigger === 'heap') return true;
    }
    return false;
  }, { timeoutMs: 20000 });

  agent.proc.kill('SIGTERM');
  await agentExit(agent);
  const k = agent.stats().kinds.goroutineleak;
  assert.ok(k.captured >= 2, JSON.stringify(k));
  assert.equal(k.delivered, k.captured, JSON.stringify(k));
  assert.equal(k.triggered >= 1, true, JSON.stringify(k));
  assert.equal(k.scrape_errors, 0, JSON.stringify(k));
  assert.equal((await leakSnapshots(name)).length, k.delivered, 'every delivered one is stored');
  assert.doesNotMatch(agent.log(), /no goroutine leak profile/);
});

test('a service without the leak profile: said once at info, never asked again', async () => {
  mw ||= await startServer();
  const name = 'no-leak-profile';
  // goroutine dumps every 300 ms show that time passes; the leak profile is asked for every 300 ms too
  const { agent, port } = await run(SERVICE, name, [...QUIET, '--dump-interval', '300ms', '--leak-interval', '300ms']);
  await svcGet(port, `/leak?n=${LEAKS}`);
  await waitFor('the agent to say the service has none', () => /no goroutine leak profile/.test(agent.log()),
    { timeoutMs: 20000 });
  const dumpsThen = agent.stats()?.kinds?.goroutine?.captured ?? 0;
  await waitFor('ten more dumps (3 s: ten leak intervals)',
    () => (agent.stats()?.kinds?.goroutine?.captured ?? 0) >= dumpsThen + 10, { timeoutMs: 30000 });
  agent.proc.kill('SIGTERM');
  await agentExit(agent);
  const lines = agent.log().split('\n').filter((l) => /pprof\/goroutineleak|leak profile/.test(l));
  assert.equal(lines.length, 1, `one line about it:\n${lines.join('\n')}`);
  assert.match(lines[0], /level=info/);
  assert.match(lines[0], /answer="HTTP 404: Unknown profile/);
  const k = agent.stats().kinds.goroutineleak;
  assert.equal(k.captured, 0, JSON.stringify(k));
  assert.equal(k.scrape_errors, 0, JSON.stringify(k));
  assert.deepEqual(await leakSnapshots(name), []);
  await mw.stop();
});

test('--leak-interval is in --help, and MEANWHILE_LEAK_INTERVAL is read like the flag', () => {
  const agent = (args, env = {}) => spawnSync(AGENT, args, { env: { ...process.env, ...env }, timeout: 30000 });
  const help = agent(['--help']).stdout.toString();
  assert.match(help, /^  --leak-interval D +goroutine leak profiles \(\/goroutineleak/m);
  assert.match(help, /\[5m\]/);
  for (const [args, env] of [[['--leak-interval', '5 minutes'], {}], [[], { MEANWHILE_LEAK_INTERVAL: '5 minutes' }]]) {
    const r = agent(['--service', 's', ...args], env);
    assert.equal(r.status, 2, r.stderr.toString());
    assert.match(r.stderr.toString(), /leak-interval/);
  }
});

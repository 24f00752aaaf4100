// The collector's early-warning rules reach the agent (docs/API.md, "Early warning"): a real
// Go service run by meanwhile-agent grows its heap past twice what it was; meanwhiled's
// heap_growth rule fires on the gctrace lines the agent pushes, stores an event, and the
// answer to the agent's next push asks for a dump and a heap profile. The agent, whose own
// triggers are off here, takes both at once: they are stored with trigger rule:heap_growth.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../integration/lib/server.mjs';
import {
  SERVICE, startAgent, agentExit, agentArgs, tempDir, freePort, waitFor, getJson, svcGet, collected, cleanup,
} from './lib/agent.mjs';

// nothing scheduled: whatever dump or heap profile arrives came from the rule
const QUIET = ['--cpu-seconds', '0', '--goroutine-rate', '0', '--dump-interval', '0', '--heap-interval', '0',
  '--trigger-factor', '0', '--trigger-gc-cpu', '0'];
const dirs = [], agents = [];
let mw;

after(async () => {
  for (const a of agents) if (!a.exit) a.proc.kill('SIGKILL');
  if (mw) await mw.cleanup();
  for (const d of dirs) cleanup(d);
});

test('a rule that fires in meanwhiled gets a dump and a heap profile from the agent, marked rule:heap_growth', async () => {
  assert.ok(SERVICE, 'AGENT_TEST_SERVICE must be set (run through ctest)');
  // the heap grows right after start here: no warm-up
  mw = await startServer({ args: ['--rule-warmup', '0', '--rule-heap-min', '64MiB', '--rule-gc-cpu', '0',
    '--rule-pause-p99', '0'] });
  const dir = tempDir();
  dirs.push(dir);
  const port = await freePort();
  const name = 'rules-agent';
  const agent = startAgent(['run', ...agentArgs(dir, mw.base, port, ['--service', name, '--instance', 'i', ...QUIET]),
    '--', SERVICE, '-listen', `127.0.0.1:${port}`], { dir, env: { GODEBUG: '' } });
  agents.push(agent);
  await waitFor('the service to listen', () => agent.stdout.toString().includes('listening addr='));

  await svcGet(port, '/gc');
  await waitFor('the gc line of /gc to reach the agent', () => agent.stats()?.lines?.gc >= 1);
  await svcGet(port, '/grow?mb=200');
  await svcGet(port, '/gc');

  let src;
  await waitFor('the heap_growth event', async () => {
    const { sources } = await getJson(mw, '/api/v1/sources');
    src = sources.find((s) => s.service === name);
    if (!src) return false;
    const { events } = await getJson(mw, `/api/v1/sources/${src.id}/events?start=0&end=4102444800`);
    return events.some((e) => e.rule === 'heap_growth');
  }, { timeoutMs: 30000 });

  const triggered = async () => {
    const out = {};
    for (const s of (await collected(mw, src.id)).snapshots) {
      const full = await getJson(mw, `/api/v1/snapshots/${s.id}?limit=1`);
      if (full.meta.trigger === 'rule:heap_growth') out[`${s.kind}/${s.format}`] = full;
    }
    return out;
  };
  let got;
  await waitFor('a debug=2 dump and a heap profile marked rule:heap_growth', async () => {
    got = await triggered();
    return got['goroutine/debug=2'] && got['heap/pprof'];
  }, { timeoutMs: 30000 });
  assert.match(agent.log(), /reason=rule:heap_growth from=collector/);

  agent.proc.kill('SIGTERM');
  await agentExit(agent);
  // one event, one request: one dump and one heap profile, nothing else asked for
  const { events } = await getJson(mw, `/api/v1/sources/${src.id}/events?start=0&end=4102444800`);
  assert.equal(events.filter((e) => e.rule === 'heap_growth').length, 1, JSON.stringify(events));
  const snaps = (await collected(mw, src.id)).snapshots;
  assert.equal(snaps.filter((s) => s.kind === 'heap').length, 1, JSON.stringify(snaps));
  assert.equal(snaps.filter((s) => s.kind === 'goroutine').length, 1, JSON.stringify(snaps));
  await mw.stop();
});

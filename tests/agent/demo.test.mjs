// deploy/demo.sh as a newcomer runs it: against a running meanwhiled, it builds the demo
// shop (the official OpenTelemetry Go SDK and client/go), runs it under meanwhile-agent
// at the agent's default schedule with its own load, and within the first half minute
// meanwhiled has slow traces of demo-shop whose explanations name a cause — and for the
// steps made slow on purpose, mostly the right one. The shop picks each request's slow
// step at random; the test reads which from the trace (the child span's name).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, request, mapLimit } from '../integration/lib/server.mjs';
import { freePort, tempDir } from './lib/agent.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SECONDS = 30;
/** The shop's slow steps and the causes that are the injected one (as in tests/e2e). */
const EXPECT = {
  'inventory.reserve': ['mutex'], 'queue.wait': ['chan'], 'price.compute': ['cpu', 'runnable'],
  render: ['gc_assist', 'gc_stw', 'cpu'], 'db.query': ['io'], backoff: ['sleep'],
};

const getJson = async (s, url) => {
  const r = await request(s, 'GET', url);
  assert.equal(r.status, 200, `${url}: ${r.body.toString().slice(0, 300)}`);
  return JSON.parse(r.body.toString());
};

test('deploy/demo.sh: slow traces of demo-shop with explanations within half a minute', { timeout: 300000 }, async () => {
  const srv = await startServer();
  try {
    const pprof = `127.0.0.1:${await freePort()}`;
    const env = { ...process.env, MEANWHILE_URL: srv.base, MEANWHILE_DEMO_PPROF: pprof,
      MEANWHILE_DEMO_OUT: tempDir('mw-demo-'), PATH: `${path.dirname(process.env.GO || 'go')}:${process.env.PATH}` };
    const demo = spawn(path.join(ROOT, 'deploy', 'demo.sh'), ['-listen', '127.0.0.1:0', '-seconds', String(SECONDS)],
      { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    demo.stdout.on('data', () => {});
    demo.stderr.on('data', (d) => { err += d; });
    const code = await new Promise((resolve) => demo.on('exit', resolve));
    assert.equal(code, 0, `deploy/demo.sh exited ${code}:\n${err.slice(-3000)}`);

    // per slow step, its slowest requests (a search by span name) and their explanations
    const byStep = {};
    const judged = [];
    for (const step of Object.keys(EXPECT)) {
      const found = await getJson(srv, `/api/search?service=demo-shop&name=${encodeURIComponent(step)}&limit=30`);
      const verdicts = await mapLimit(found.traces, 4, async (t) => {
        const e = await getJson(srv, `/api/v1/traces/${t.traceID}/explain`);
        const child = e.spans.find((s) => s.name === step);
        assert.ok(child, `trace ${t.traceID} found by name=${step} has no such span in its explanation`);
        const top = child.causes[0];
        return { top: top?.kind ?? 'none', right: Boolean(top && EXPECT[step].includes(top.kind)) };
      });
      const explained = verdicts.filter((v) => v.top !== 'unknown' && v.top !== 'none');
      byStep[step] = { n: verdicts.length, explained: explained.length, right: explained.filter((v) => v.right).length };
      judged.push(...explained);
    }
    console.log(`# per slow step (requests, explained, right): ${JSON.stringify(byStep)}`);
    for (const [step, b] of Object.entries(byStep)) assert.ok(b.n >= 5, `${step}: only ${b.n} requests in ${SECONDS} s`);
    const requests = Object.values(byStep).reduce((n, b) => n + b.n, 0);
    const right = judged.filter((v) => v.right).length;
    // In any build the explained steps must mostly name the injected cause; how many get explained at
    // all depends on how many goroutine profiles the agent's 1% budget allows, which it measures
    // in wall time: an ASan-built agent and meanwhiled on a loaded machine gave 81 of 180, release
    // builds 83-140 (2026-12-06: 83 in a fresh-clone CI run with the test alone on the machine,
    // 97, 124 and 135 on a quiet one), so the share is a property of the run, not only of the
    // code. It is judged at 40% in release builds (below every run seen; the mean is about 60%)
    // and 20% under the sanitizers: the demo works and what it explains is right.
    const share = process.env.MW_SANITIZE === '1' ? 0.2 : 0.4;
    assert.ok(judged.length >= share * requests, `only ${judged.length} of ${requests} slow steps got a cause other than unknown`);
    assert.ok(right >= 0.7 * judged.length, `${right} of ${judged.length} explained slow steps name the injected cause`);
    // 6 of 6 in every quiet run; a loaded machine starves the agent's goroutine profiles (docs/CORRELATION.md)
    assert.ok(Object.values(byStep).filter((b) => b.right > 0).length >= 4, 'at least four of the six causes are named');
  } finally {
    await srv.stop();
  }
});

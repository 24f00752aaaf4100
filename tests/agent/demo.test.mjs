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

    const found = await getJson(srv, '/api/search?service=demo-shop&minDuration=100ms&limit=200');
    console.log(`# ${found.traces.length} traces of demo-shop over 100 ms`);
    assert.ok(found.traces.length >= 40, `only ${found.traces.length} slow traces in ${SECONDS} s at 10 requests/s`);

    const verdicts = await mapLimit(found.traces, 4, async (t) => {
      const e = await getJson(srv, `/api/v1/traces/${t.traceID}/explain`);
      const child = e.spans.find((s) => EXPECT[s.name]);
      if (!child) return null;
      const top = child.causes[0];
      return { step: child.name, top: top?.kind ?? 'none', scope: top?.scope ?? null,
        right: Boolean(top && EXPECT[child.name].includes(top.kind)) };
    });
    const judged = verdicts.filter((v) => v && v.top !== 'unknown' && v.top !== 'none');
    const right = judged.filter((v) => v.right);
    const byStep = {};
    for (const v of verdicts.filter(Boolean)) {
      const b = (byStep[v.step] ||= { n: 0, explained: 0, right: 0 });
      b.n++;
      if (v.top !== 'unknown' && v.top !== 'none') b.explained++;
      if (v.right) b.right++;
    }
    console.log(`# per slow step (requests, explained, right): ${JSON.stringify(byStep)}`);
    assert.ok(Object.keys(byStep).length >= 5, `slow steps seen: ${Object.keys(byStep)}`);
    assert.ok(judged.length >= 20, `only ${judged.length} of ${verdicts.length} slow steps got a cause other than unknown`);
    assert.ok(right.length >= 0.7 * judged.length,
      `${right.length} of ${judged.length} explained slow steps name the injected cause: ${JSON.stringify(byStep)}`);
  } finally {
    await srv.stop();
  }
});

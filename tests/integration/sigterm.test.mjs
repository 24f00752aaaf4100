// Process lifecycle: SIGTERM under load loses nothing that was acknowledged (200), exits 0,
// and the data is there after a restart on the same data directory; requests in flight at
// SIGTERM are answered; SIGINT exits 0; --help / --version; configuration by environment.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { MEANWHILED, startServer, postTraces, postJsonOk, getJson, get, mapLimit, sleep } from './lib/server.mjs';
import { makeRequest, flattenSpans, assertTraceMatches } from './lib/otlp.mjs';
import { waitFor } from './lib/wait.mjs';

const servers = [];
after(async () => { for (const s of servers) await s.cleanup(); });

async function start(opts) {
  const s = await startServer(opts);
  servers.push(s);
  return s;
}

async function checkAllPresent(srv, acked) {
  const expected = new Map();
  for (const body of acked) flattenSpans(body, expected);
  assert.ok(expected.size > 0, 'no acknowledged trace to look for: the check would check nothing');
  await mapLimit([...expected.keys()], 8, async (tid) => {
    assertTraceMatches(await getJson(srv, `/api/traces/${tid}`), expected.get(tid), tid);
  });
  return expected.size;
}

test('SIGTERM under load: every acknowledged span survives, exit code 0', async () => {
  const srv = await start();
  const acked = [];
  const stats = { ok: 0, refused: 0, errors: 0, other: 0 };
  let stopping = false;
  const sender = async (id) => {
    let n = 0;
    while (!stopping) {
      const r = makeRequest({ traces: 2, spansPerTrace: 5, service: 'sigterm', tag: `-${id}-${n++}` });
      try {
        const a = await postTraces(srv, Buffer.from(JSON.stringify(r.body)), { contentType: 'application/json' });
        if (a.status === 200) { acked.push(r.body); stats.ok++; } else if (a.status === 503) stats.refused++; else stats.other++;
        if (a.status !== 200 && a.status !== 503) assert.fail(`unexpected status ${a.status}: ${a.body.toString().slice(0, 200)}`);
      } catch (e) {
        if (e.code === 'ERR_ASSERTION') throw e;
        stats.errors++; // connection refused/reset: not acknowledged, allowed
        await sleep(5);
      }
    }
  };
  const senders = Array.from({ length: 8 }, (_, i) => sender(i));
  const ACKED = 100; // under load: SIGTERM once this many requests were acknowledged
  await waitFor(`${ACKED} acknowledged requests`, () => stats.ok >= ACKED || stats.other > 0, { everyMs: 10 });
  const t0 = performance.now();
  try {
    await srv.stop({ signal: 'SIGTERM' });
  } finally {
    stopping = true;
    await Promise.all(senders);
  }
  console.log(`# sigterm: ${stats.ok} acknowledged, ${stats.refused} x 503, ${stats.errors} connection errors; exit after ${(performance.now() - t0).toFixed(0)} ms`);
  assert.ok(stats.ok >= ACKED, `${ACKED} requests acknowledged before SIGTERM (${stats.ok})`);
  await srv.start(); // same data dir
  const n = await checkAllPresent(srv, acked);
  const svc = (await getJson(srv, '/api/v1/services')).services.find((s) => s.name === 'sigterm');
  assert.ok(svc.span_count >= acked.length * 10, `span_count ${svc.span_count} < ${acked.length * 10} acknowledged spans`);
  console.log(`# sigterm: ${n} acknowledged traces all present after restart`);
  await srv.stop();
});

test('requests in flight at SIGTERM are answered and stored', async () => {
  const srv = await start({ env: { MEANWHILE_FAULT_COMMIT_DELAY_MS: '800' } });
  const reqs = Array.from({ length: 5 }, (_, i) => makeRequest({ traces: 3, spansPerTrace: 4, service: 'inflight', tag: `-${i}` }));
  const pending = reqs.map((r) => postTraces(srv, Buffer.from(JSON.stringify(r.body)), { contentType: 'application/json' })
    .catch((e) => ({ status: 'error', error: e })));
  // SIGTERM once the server has received all of them: the writer's first commit sleeps,
  // so their spans queue up (those of a request already answered count as received)
  const spansOf = (b) => b.resourceSpans.reduce((n, rs) => n + rs.scopeSpans.reduce((m, ss) => m + ss.spans.length, 0), 0);
  const total = reqs.reduce((n, r) => n + spansOf(r.body), 0);
  let answered = 0;
  pending.forEach((p, i) => p.then(() => { answered += spansOf(reqs[i].body); }));
  const { queued } = await waitFor(`the server to have received all ${total} spans`, async () => {
    const m = /^meanwhile_write_queue_spans(?:\{[^}]*\})?\s+([0-9.eE+]+)/m.exec((await get(srv, '/metrics')).body.toString());
    const q = m ? Number(m[1]) : 0;
    return q + answered >= total && { queued: q };
  }, { timeoutMs: 10000, everyMs: 25 });
  // answered only after their commit, which sleeps: if every request had its answer
  // already, none was in flight and this test would check nothing
  const unanswered = total - answered;
  console.log(`# in-flight: meanwhile_write_queue_spans=${queued} of ${total}, ${unanswered} spans unanswered when SIGTERM was sent`);
  assert.ok(unanswered > 0, 'every request was answered before SIGTERM: none was in flight');
  const stopped = srv.stop({ signal: 'SIGTERM' });
  const answers = await Promise.all(pending);
  await stopped;
  for (const [i, a] of answers.entries()) {
    assert.equal(a.status, 200, `in-flight request ${i} was not answered 200: ${a.error || a.body}\n${srv.log(1500)}`);
  }
  await srv.start();
  await checkAllPresent(srv, reqs.map((r) => r.body));
  await srv.stop();
});

test('SIGINT exits 0 and keeps the data', async () => {
  const srv = await start();
  const r = makeRequest({ traces: 4, spansPerTrace: 3, service: 'sigint' });
  await postJsonOk(srv, r.body);
  await srv.stop({ signal: 'SIGINT' });
  await srv.start();
  await checkAllPresent(srv, [r.body]);
  await srv.stop({ signal: 'SIGINT' });
});

test('SIGTERM / SIGINT right after the "listening" line still exit 0 (no window without signal handling)', async () => {
  for (let i = 0; i < 6; i++) {
    const srv = await start();
    await srv.stop({ signal: i % 2 ? 'SIGINT' : 'SIGTERM' });
  }
});

test('--help prints usage on stdout and exits 0; --version exits 0', () => {
  const h = spawnSync(MEANWHILED, ['--help'], { encoding: 'utf8', timeout: 10000 });
  assert.equal(h.status, 0, `--help exit ${h.status}: ${h.stderr}`);
  for (const opt of ['--listen', '--data', '--log-level', '--max-body-bytes', '--max-queue-spans']) {
    assert.ok(h.stdout.includes(opt), `usage should mention ${opt}:\n${h.stdout}`);
  }
  const v = spawnSync(MEANWHILED, ['--version'], { encoding: 'utf8', timeout: 10000 });
  assert.equal(v.status, 0, `--version exit ${v.status}: ${v.stderr}`);
  assert.match(v.stdout + v.stderr, /\d+\.\d+\.\d+/, 'version output should carry a version number');
});

test('configuration through MEANWHILE_LISTEN / MEANWHILE_DATA / MEANWHILE_LOG_LEVEL', async () => {
  const srv = await start({ useEnv: true });
  const r = makeRequest({ traces: 2, spansPerTrace: 2, service: 'env-config' });
  await postJsonOk(srv, r.body);
  assert.equal((await get(srv, '/healthz')).status, 200);
  await srv.restart();
  await checkAllPresent(srv, [r.body]);
  await srv.stop();
  assert.ok(existsSync(srv.dataDir) && readdirSync(srv.dataDir).length > 0, 'MEANWHILE_DATA directory holds the database');
});

/** Runs meanwhiled on a fixed port, configured by MEANWHILE_LISTEN, MEANWHILE_DATA and
 * MEANWHILE_LOG_LEVEL=level only, until it answers /healthz; then SIGTERM. Returns its
 * stderr. */
async function runConfiguredByEnv(level) {
  const port = await new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
  const dir = mkdtempSync(path.join(tmpdir(), 'mw-it-env-'));
  const proc = spawn(MEANWHILED, [], {
    env: { ...process.env, MEANWHILE_LISTEN: `127.0.0.1:${port}`, MEANWHILE_DATA: dir, MEANWHILE_LOG_LEVEL: level },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  try {
    await waitFor(`the server with MEANWHILE_LISTEN=127.0.0.1:${port} to answer /healthz (stderr: ${stderr})`,
      () => get({ port }, '/healthz').then((r) => r.status === 200, () => false), { timeoutMs: 10000, everyMs: 100 });
    proc.kill('SIGTERM');
    assert.deepEqual(await exited, { code: 0, signal: null });
    return stderr;
  } finally {
    proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

test('MEANWHILE_LOG_LEVEL=error silences info lines; MEANWHILE_LISTEN with a fixed port', async () => {
  // the same run at info logs info lines: what the run at error must leave out
  assert.match(await runConfiguredByEnv('info'), /level=info msg="listening"/, 'MEANWHILE_LOG_LEVEL=info logs info lines');
  const stderr = await runConfiguredByEnv('error');
  assert.doesNotMatch(stderr, /level=(info|debug)/, `MEANWHILE_LOG_LEVEL=error still logged:\n${stderr}`);
});

test('log lines are logfmt: <RFC3339> level=<lvl> msg="..."', async () => {
  const srv = await start();
  await postJsonOk(srv, makeRequest({ traces: 1, spansPerTrace: 2, service: 'logfmt' }).body);
  assert.equal((await get(srv, '/healthz')).status, 200);
  await srv.stop();
  const lines = srv.stderr.split('\n').filter((l) => l.trim());
  assert.ok(lines.length > 0);
  for (const l of lines) {
    assert.match(l, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) level=[a-z]+ msg=/,
      `not a logfmt log line: ${l}`);
  }
});

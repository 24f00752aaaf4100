// bench/retention: ingest latency while retention deletes, against the same
// ingest with nothing to delete, in one run.
//
// Round A: a fresh meanwhiled (--retention 1h), paced ingest at --rate spans/s
// for --seconds; request latency p50/p99 (each answer waits for its commit).
// Round B: the same server started over a backlog of --backlog spans two
// hours old, so that retention deletes them in batches between commits while
// the same paced ingest runs. Prints both, the ratio of the p99s (target at
// most 2), and how many rows retention deleted during round B.
//
//   node bench/retention/bench-retention.mjs --server build-bench/meanwhiled [--rate 5000] [--seconds 20] [--backlog 400000]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]?.startsWith('--') || all[i + 1] === undefined ? '1' : all[i + 1]]);
  return acc;
}, []));
const SERVER = args.server || process.env.MEANWHILED;
const RATE = Number(args.rate || 5000), SECONDS = Number(args.seconds || 20), BACKLOG = Number(args.backlog || 400000);
const BATCH = 100, HOUR = 3600n * 1000000000n;
if (!SERVER) { console.error('usage: bench-retention.mjs --server PATH [--rate R] [--seconds S] [--backlog N]'); process.exit(2); }

const hex = (n, bytes) => n.toString(16).padStart(bytes * 2, '0');
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
let idSeq = 1n;

function batch(t0) {
  const spans = [];
  for (let i = 0; i < BATCH; i++) {
    const id = idSeq++;
    spans.push({ traceId: hex(id, 16), spanId: hex(id, 8), name: `op${i % 7}`, kind: 2,
      startTimeUnixNano: String(t0 + BigInt(i) * 1000n), endTimeUnixNano: String(t0 + BigInt(i) * 1000n + 3000000n),
      attributes: [{ key: 'http.route', value: { stringValue: '/api/v1/items/{id}' } }, { key: 'user', value: { stringValue: 'u' + (Number(id) % 997) } }] });
  }
  return Buffer.from(JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'retention-bench' } }] }, scopeSpans: [{ spans }] }] }));
}

function post(port, p, body) {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: p, method: body ? 'POST' : 'GET', agent,
      headers: body ? { 'content-type': 'application/json', 'content-length': body.length } : {} }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(parts).toString(), ms: performance.now() - t0 }));
    });
    req.on('error', reject);
    req.end(body || undefined);
  });
}

async function start(dir, extra) {
  const proc = spawn(SERVER, ['--listen', '127.0.0.1:0', '--data', dir, ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const port = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`meanwhiled did not start: ${err}`)), 15000);
    proc.stderr.on('data', (d) => {
      err += d;
      const m = /msg="listening" addr=127\.0\.0\.1:(\d+)/.exec(err);
      if (m) { clearTimeout(t); resolve(Number(m[1])); }
    });
  });
  return { proc, port, stop: () => new Promise((r) => { proc.on('exit', r); proc.kill('SIGTERM'); }) };
}

const metric = async (port, name) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec((await post(port, '/metrics')).body)?.[1] || 0);

async function paced(port) {
  const lat = [];
  const per = 1000 / (RATE / BATCH), end = performance.now() + SECONDS * 1000;
  const inflight = [];
  for (let k = 0; performance.now() < end; k++) {
    const due = k * per, wait = due - (performance.now() - (end - SECONDS * 1000));
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    inflight.push(post(port, '/v1/traces', batch(BigInt(Date.now()) * 1000000n)).then((r) => {
      if (r.status !== 200) throw new Error(`ingest answered ${r.status}: ${r.body}`);
      lat.push(r.ms);
    }));
  }
  await Promise.all(inflight);
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
  return { n: lat.length, p50: q(0.5), p99: q(0.99), max: lat[lat.length - 1] };
}

const fig = (k, v) => console.log(`retention.${k} ${v}`);
const dirA = mkdtempSync(path.join(os.tmpdir(), 'mw-ret-a-')), dirB = mkdtempSync(path.join(os.tmpdir(), 'mw-ret-b-'));
try {
  // round B's backlog first, written while retention is off
  let s = await start(dirB, ['--retention', '0']);
  const old = BigInt(Date.now()) * 1000000n - 2n * HOUR;
  const t0 = performance.now();
  for (let i = 0; i < BACKLOG / BATCH; i += 8) {
    await Promise.all(Array.from({ length: Math.min(8, BACKLOG / BATCH - i) }, (_, k) => post(s.port, '/v1/traces', batch(old + BigInt(i + k) * 1000000n))));
  }
  fig('backlog_spans', BACKLOG);
  fig('backlog_fill_s', ((performance.now() - t0) / 1000).toFixed(1));
  await s.stop();

  s = await start(dirA, ['--retention', '1h', '--retention-interval', '1s']);
  const a = await paced(s.port);
  await s.stop();
  s = await start(dirB, ['--retention', '1h', '--retention-interval', '1s']);
  const b = await paced(s.port);
  const deleted = await metric(s.port, 'meanwhile_retention_deleted_rows_total');
  await s.stop();

  fig('rate_spans_per_s', RATE);
  fig('normal_requests', a.n);
  fig('normal_p50_ms', a.p50.toFixed(2));
  fig('normal_p99_ms', a.p99.toFixed(2));
  fig('during_retention_p50_ms', b.p50.toFixed(2));
  fig('during_retention_p99_ms', b.p99.toFixed(2));
  fig('during_retention_max_ms', b.max.toFixed(2));
  fig('deleted_rows_during', deleted);
  fig('p99_ratio', (b.p99 / a.p99).toFixed(2));
  fig('target_p99_ratio', 2);
  if (!deleted) { console.error('bench-retention: retention deleted nothing during round B'); process.exitCode = 1; }
} finally {
  agent.destroy();
  rmSync(dirA, { recursive: true, force: true });
  rmSync(dirB, { recursive: true, force: true });
}

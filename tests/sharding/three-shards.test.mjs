// docs/SCALING.md, "Run three shards on one machine", followed as the doc says: run
// deploy/local/three-shards.sh DIR (three meanwhiled shards, a relay beside each, the
// Collector tier routing by process with deploy/sharded/otelcol-tier.yaml, a query front),
// send spans of several services (several instances each) to the OTLP address it prints,
// and check:
//   - each process's traces are whole on exactly one shard, the one the loadbalancing
//     exporter's ring names for its relay (tests/sharding/ring.mjs), and on no other;
//   - each shard's services listing counts exactly the processes and spans routed to it;
//   - the query front finds every trace whole, and lists every service with all its
//     instances and spans, from all three shards, nothing missing;
//   - SIGTERM stops the script cleanly: every process exits 0, the script exits 0, and no
//     log holds a warn or error line (meanwhiled's logfmt; the Collector's level column).
//
// Environment (set by ctest): MEANWHILED, GO, MW_BUILD_DIR, MW_COLLECTOR_BUILD.
// MW_THREE_SHARDS_VERBOSE=1 prints the script's output.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ring, endpointFor, processKey } from './ring.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const SCRIPT = path.join(REPO, 'deploy', 'local', 'three-shards.sh');
const GO = process.env.GO || 'go';
const MEANWHILED = process.env.MEANWHILED;
const BUILD_DIR = process.env.MW_BUILD_DIR || path.join(REPO, 'build');
const COLLECTOR_BUILD = process.env.MW_COLLECTOR_BUILD || path.join(REPO, 'tests', 'collector', 'build.sh');
const VERBOSE = Boolean(process.env.MW_THREE_SHARDS_VERBOSE);
if (!MEANWHILED) throw new Error('MEANWHILED must be set (run through ctest)');

const log = (...a) => console.log('[three-shards]', ...a);
const SERVICES = ['checkout', 'cart', 'payments', 'search'];
const INSTANCES = 3;
const TRACES = 15; // per process, 3 spans each

let dir, run, ready, processes;

function portFree(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A port base whose twelve ports (the script's comment) are all free now. */
async function freeBase() {
  const offsets = [17, 18, 80, 81, 82, 83, 88, 91, 92, 93];
  for (let tries = 0; tries < 50; tries++) {
    const base = 20000 + 100 * Math.floor(Math.random() * 400);
    let ok = true;
    for (const o of offsets) if (!(await portFree(base + o))) { ok = false; break; }
    if (ok) return base;
  }
  throw new Error('no free port base');
}

async function fetchJson(url, { expect = [200], headers = {} } = {}) {
  const r = await fetch(url, { headers });
  const body = await r.text();
  assert.ok(expect.includes(r.status), `${url}: ${r.status} ${body.slice(0, 300)}`);
  return { status: r.status, headers: r.headers, json: r.status === 200 ? JSON.parse(body) : null };
}

const spanCount = (trace) => (trace.batches || []).reduce((n, b) =>
  n + (b.scopeSpans || b.instrumentationLibrarySpans || []).reduce((m, s) => m + s.spans.length, 0), 0);

/** One OTLP/JSON export request of one process: `traces` traces of a server span and two
 * children, as an SDK would send them. */
function exportRequest(p, traces) {
  const now = BigInt(Date.now()) * 1000000n;
  const spans = [];
  for (const t of traces) {
    const root = randomBytes(8).toString('hex');
    const start = now - 50000000n;
    spans.push({ traceId: t, spanId: root, name: 'GET /api', kind: 2,
      startTimeUnixNano: String(start), endTimeUnixNano: String(start + 20000000n) });
    for (const [i, name] of ['db.query', 'cache.get'].entries()) {
      spans.push({ traceId: t, spanId: randomBytes(8).toString('hex'), parentSpanId: root, name, kind: 3,
        startTimeUnixNano: String(start + BigInt(i + 1) * 2000000n), endTimeUnixNano: String(start + BigInt(i + 1) * 2000000n + 5000000n) });
    }
  }
  return { resourceSpans: [{
    resource: { attributes: [
      { key: 'service.name', value: { stringValue: p.service } },
      { key: 'service.instance.id', value: { stringValue: p.instance } }] },
    scopeSpans: [{ scope: { name: 'three-shards.test' }, spans }] }] };
}

before(async () => {
  const t0 = performance.now();
  const out = execFileSync('bash', [COLLECTOR_BUILD, GO, path.join(BUILD_DIR, 'collector')],
    { stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 }).toString().trim().split('\n');
  const otelcol = out[out.length - 1];
  log(`Collector: ${otelcol} (${Math.round(performance.now() - t0)} ms)`);

  const base = await freeBase();
  dir = mkdtempSync(path.join(os.tmpdir(), 'mw-three-shards-'));
  // as docs/SCALING.md says: the script, a directory; here with this build's binaries
  log(`MW_PORT_BASE=${base} ${SCRIPT} ${dir}`);
  const proc = spawn('bash', [SCRIPT, dir], {
    env: { ...process.env, MEANWHILED, OTELCOL: otelcol, MW_PORT_BASE: String(base) },
    stdio: ['ignore', 'pipe', 'pipe'] });
  run = { proc, out: '', err: '', exit: null };
  proc.stdout.on('data', (d) => { run.out += d; if (VERBOSE) process.stdout.write(d); });
  proc.stderr.on('data', (d) => { run.err += d; if (VERBOSE) process.stderr.write(d); });
  run.exited = new Promise((resolve) => proc.on('exit', (code, signal) => { run.exit = { code, signal }; resolve(run.exit); }));

  const deadline = Date.now() + 60000;
  while (!/^ready .*$/m.test(run.out)) {
    if (run.exit) throw new Error(`the script exited ${JSON.stringify(run.exit)}:\n${run.out}\n${run.err}`);
    if (Date.now() > deadline) throw new Error(`the script printed no ready line in 60 s:\n${run.out}\n${run.err}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const line = /^ready (.*)$/m.exec(run.out)[1];
  ready = Object.fromEntries(line.split(' ').map((kv) => kv.split('=')));
  ready.shards = ready.shards.split(',');
  ready.relays = ready.relays.split(',');
  log(`ready in ${Math.round(performance.now() - t0)} ms: ${line}`);
  assert.equal(ready.shards.length, 3);
  assert.equal(ready.relays.length, 3);

  // where the ring puts each process: relay i is beside shard i
  const items = ring(ready.relays);
  processes = [];
  for (const service of SERVICES) {
    for (let i = 0; i < INSTANCES; i++) {
      const instance = `${service}-${i}`;
      const shard = ready.relays.indexOf(endpointFor(items, processKey(service, instance)));
      processes.push({ service, instance, shard, traces: Array.from({ length: TRACES }, () => randomBytes(16).toString('hex')) });
    }
  }
  log('placement by the ring:', processes.map((p) => `${p.instance}→${p.shard}`).join(' '));
});

after(async () => {
  if (run && !run.exit) {
    run.proc.kill('SIGTERM');
    await Promise.race([run.exited, new Promise((r) => setTimeout(r, 60000).unref())]);
    if (!run.exit) run.proc.kill('SIGKILL');
  }
  if (dir && !process.env.MW_KEEP) rmSync(dir, { recursive: true, force: true });
});

test('each process lands whole on the shard the ring names, and the front finds it all', async () => {
  assert.ok(new Set(processes.map((p) => p.shard)).size >= 2,
    'the ring put every process on one shard: the test would show nothing (change SERVICES)');

  // send: each process in three export requests of 5 traces, through the Collector tier
  const sends = [];
  for (const p of processes) {
    for (let k = 0; k < TRACES; k += 5) {
      sends.push(fetch(`${ready.otlp_http}/v1/traces`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(exportRequest(p, p.traces.slice(k, k + 5))) }).then(async (r) => {
        assert.equal(r.status, 200, `the Collector refused ${p.instance}'s spans: ${await r.text()}`);
      }));
    }
  }
  await Promise.all(sends);
  const spansSent = processes.length * TRACES * 3;
  log(`${spansSent} spans of ${processes.length} processes (${SERVICES.length} services) sent to ${ready.otlp_http}`);

  // the Collector acknowledged them into its queue: wait until the shards hold them all
  const deadline = Date.now() + 30000;
  for (;;) {
    const { json } = await fetchJson(`${ready.query}/api/v1/services`);
    const n = json.services.reduce((a, s) => a + s.span_count, 0);
    if (n === spansSent) break;
    assert.ok(n < spansSent, `the front counts ${n} spans, more than the ${spansSent} sent`);
    assert.ok(Date.now() < deadline, `after 30 s the shards hold ${n} of ${spansSent} spans`);
    await new Promise((r) => setTimeout(r, 200));
  }

  // each trace: whole on its process's shard (the ring's), absent from the others
  for (const p of processes) {
    for (const t of p.traces) {
      for (const [i, shard] of ready.shards.entries()) {
        const r = await fetchJson(`${shard}/api/traces/${t}`, { expect: [200, 404] });
        if (i === p.shard) {
          assert.equal(r.status, 200, `${p.instance}'s trace ${t} is not on shard ${i}, where the ring puts it`);
          assert.equal(spanCount(r.json), 3, `${p.instance}'s trace ${t} on shard ${i}`);
        } else {
          assert.equal(r.status, 404, `${p.instance}'s trace ${t} is also on shard ${i} (its shard is ${p.shard})`);
        }
      }
    }
  }

  // each shard's listing: exactly the processes routed to it
  for (const [i, shard] of ready.shards.entries()) {
    const { json } = await fetchJson(`${shard}/api/v1/services`);
    const want = {};
    for (const p of processes.filter((q) => q.shard === i)) {
      want[p.service] ??= { instances: 0, spans: 0 };
      want[p.service].instances++;
      want[p.service].spans += TRACES * 3;
    }
    const got = Object.fromEntries(json.services.map((s) => [s.name, { instances: s.instance_count, spans: s.span_count }]));
    assert.deepEqual(got, want, `shard ${i}'s services`);
    log(`shard ${i} (${shard}): ${Object.entries(got).map(([s, v]) => `${s} ${v.instances} instance(s) ${v.spans} spans`).join(', ') || 'nothing'}`);
  }

  // the front: every trace whole, every service with all its instances, nothing missing
  for (const p of processes) {
    for (const t of p.traces) {
      const r = await fetchJson(`${ready.query}/api/traces/${t}`);
      assert.equal(spanCount(r.json), 3, `the front's trace ${t} of ${p.instance}`);
      assert.equal(r.headers.get('meanwhile-missing-shards'), null, 'a shard is missing');
    }
  }
  const { json, headers } = await fetchJson(`${ready.query}/api/v1/services`);
  assert.equal(headers.get('meanwhile-missing-shards'), null);
  assert.deepEqual(json.federation, { shards: 3, answered: 3, missing: [] });
  assert.deepEqual(json.services.map((s) => [s.name, s.instance_count, s.span_count]).sort(),
    SERVICES.map((s) => [s, INSTANCES, INSTANCES * TRACES * 3]).sort());
});

test('SIGTERM stops the script: every process exits 0, no warn or error in any log', async () => {
  run.proc.kill('SIGTERM');
  const exit = await Promise.race([run.exited, new Promise((r) => setTimeout(() => r(null), 60000).unref())]);
  assert.ok(exit, `the script did not stop within 60 s of SIGTERM:\n${run.out}`);
  assert.deepEqual(exit, { code: 0, signal: null }, `the script:\n${run.out}\n${run.err}`);
  const stopped = run.out.match(/^stopped \S+: exit \d+$/mg) || [];
  assert.equal(stopped.length, 8, `three shards, three relays, the tier and the front:\n${run.out}`);
  for (const s of stopped) assert.match(s, /exit 0$/);
  assert.match(run.out, /^all stopped, every exit status 0$/m);
  assert.equal(run.err, '', 'the script wrote to stderr');

  const logs = readdirSync(path.join(dir, 'logs'));
  assert.deepEqual(logs.sort(), ['collector.log', 'query.log', 'relay-0.log', 'relay-1.log', 'relay-2.log',
    'shard-0.log', 'shard-1.log', 'shard-2.log']);
  const bad = [];
  for (const f of logs) {
    const text = readFileSync(path.join(dir, 'logs', f), 'utf8');
    assert.ok(text.length > 0, `${f} is empty`);
    for (const line of text.split('\n').filter(Boolean)) {
      const ok = f.startsWith('shard') || f.startsWith('query')
        ? /\blevel=(debug|info)\b/.test(line) && !/\s[a-z_]+=-\d/.test(line) // meanwhiled: logfmt
        : /^\S+\t(debug|info)\t/.test(line); // the Collector: time, level, ...
      if (!ok) bad.push(`${f}: ${line.slice(0, 300)}`);
    }
  }
  assert.deepEqual(bad, [], 'unexpected log lines');
});

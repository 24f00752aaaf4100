// Shards by process, and one shard killed under load (issue 18, points 1 and 3;
// docs/SHARDING.md).
//
// Three meanwhiled shards on loopback; the OpenTelemetry Collector built by
// tests/collector/build.sh (ocb and the contrib loadbalancing exporter v0.148.0 from the Go
// module proxy) routing OTLP traces by process (routing_key: attributes, service.name +
// service.instance.id) over three relay pipelines (OTLP/gRPC in, OTLP/HTTP out to a shard:
// the exporter speaks gRPC only), with a retrying queue per shard; two Go services
// (tests/e2e-sdk/service: the real OpenTelemetry SDK exporting to the Collector) each under
// `meanwhile-agent run --otlp-runtime`, which sends its runtime data through the Collector
// as OTLP traces on the same key. The instance ids are chosen (ring.mjs) so that the two
// processes live on two different shards. Under load the shard of the first is killed
// (SIGKILL) and restarted on its port and data directory.
//
// Then: each process is on the shard the v0.148 ring names and on no other; every span
// the SDKs were told was exported (and every request's two spans) is on its process's
// shard; the agents' runtime data (goroutine profiles, GC cycles) is there too, some of it
// taken while the shard was down; no agent payload was refused, dropped or spooled past
// the end; the Collector dropped nothing on its way to a shard; and no server logged a
// warn or error line the test did not expect.
//
// Queries across shards (docs/FEDERATION.md): every shard is started with --peers naming
// the three (itself included), and a fourth meanwhiled in the query role (--role query)
// fronts them. While the shard is down, the front and the surviving shards answer: a trace
// of the dead shard's process is a 503 naming it; a trace of the other process is whole,
// with the dead shard named as missing; services, operations and search are partial 200s
// naming it (header Meanwhile-Missing-Shards and the "federation" object); explain and
// timeline of a live trace answer. After the restart and the drains the same queries are
// complete, every acknowledged trace is found whole through the front, the services'
// span counts are what the SDKs exported, and a slow span of each service is explained
// from goroutine profiles of its own shard (the services label their spans: -labels
// meanwhile). Last, the shard that holds neither process is stopped (SIGSTOP): answers
// come after --peer-timeout naming it. The per-shard checks read each shard alone (header
// Meanwhile-Federated).
//
// Environment (set by ctest): MEANWHILED, MEANWHILE_AGENT, GO, MW_BUILD_DIR,
// MW_COLLECTOR_BUILD (tests/collector/build.sh). Knobs: MW_SHARD_SECONDS (load, 24; the
// shard is down from a quarter to a half of it), MW_SHARD_VERBOSE=1.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Server, request, mapLimit, sleep } from '../integration/lib/server.mjs';
import { waitFor } from '../integration/lib/wait.mjs';
import { buildGoService } from '../e2e/lib/gobuild.mjs';
import { freePort } from '../integration/lib/ports.mjs';
import { ring, endpointFor, processKey } from './ring.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const GO = process.env.GO || 'go';
const AGENT = process.env.MEANWHILE_AGENT;
const BUILD_DIR = process.env.MW_BUILD_DIR || path.resolve(HERE, '..', '..', 'build');
const COLLECTOR_BUILD = process.env.MW_COLLECTOR_BUILD || path.resolve(HERE, '..', 'collector', 'build.sh');
const SECONDS = Number(process.env.MW_SHARD_SECONDS || 24);
const VERBOSE = Boolean(process.env.MW_SHARD_VERBOSE);
const OUT_DIR = path.join(BUILD_DIR, 'sharding');
const SERVICE_BIN = path.join(OUT_DIR, 'sdkservice');
if (!AGENT) throw new Error('MEANWHILE_AGENT must be set (run through ctest)');

const log = (...a) => console.log('[sharding]', ...a);

// What a killed and restarted shard may say: nothing yet (add a pattern here only with
// the reason it is expected).
const SHARD_ALLOW = [];
// What the query front may say while a shard is down: nothing yet (same rule).
const FRONT_ALLOW = [];
// Each shard's wait for another: a refused connection is at once; a short timeout keeps
// a hung one from slowing the test.
const PEER_TIMEOUT = '2s';
// Slow requests per service: the searches for them must list them all on one page.
const SLOW_MAX = 900;
// A sub-request's header: the shard answers from its own data alone (FEDERATION.md).
const LOCAL = { 'meanwhile-federated': '1' };

const shards = [];   // {server, relayPort, name}
let shardPorts = []; // the shards' ports, chosen before they start (each names all in --peers)
let peers = '';
let front = null;    // meanwhiled --role query --peers <the three>
let collector = null; // {proc, err, exited, exit, dir}
const agents = [];   // {service, instance, proc, dir, port, ...}
let outage = null;   // {fromNs, toNs, shard, before, answers, restarted}: askAll() before, during, at once after

const nowNs = () => BigInt(Date.now()) * 1000000n;
const shardUrl = (i) => `http://127.0.0.1:${shardPorts[i]}`;
const shardArgs = (i) => ['--listen', `127.0.0.1:${shardPorts[i]}`, '--peers', peers, '--peer-timeout', PEER_TIMEOUT];

/** GET from one shard alone (no fan-out); asserts a 200 JSON answer. */
async function getLocal(server, p) {
  const r = await request(server, 'GET', p, { headers: LOCAL });
  assert.equal(r.status, 200, `GET ${p} (one shard alone): ${r.status} ${r.body.toString().slice(0, 300)}`);
  assert.match(String(r.headers['content-type'] || ''), /^application\/json/);
  return JSON.parse(r.body.toString());
}

/** GET, recorded as it came: judged by the tests, not where it was asked. */
async function ask(server, p) {
  const r = await request(server, 'GET', p);
  let j = null;
  try { j = JSON.parse(r.body.toString()); } catch { /* judged by the test */ }
  return { path: p, status: r.status, missing: r.headers['meanwhile-missing-shards'], j, body: r.body.toString().slice(0, 1500) };
}

/** Span ids of a v1 trace answer (OTLP/JSON batches), with their services. */
function spansOf(j) {
  const out = new Map();
  for (const b of j?.batches || []) {
    const svc = b.resource?.attributes?.find((x) => x.key === 'service.name')?.value?.stringValue;
    for (const ss of b.scopeSpans || []) for (const sp of ss.spans || []) out.set(sp.spanId, svc);
  }
  return out;
}

// ---------------------------------------------------------------- the Collector

function collectorConfig({ inPort, runtimePort }) {
  const relays = shards.map((s, i) => `127.0.0.1:${s.relayPort}`);
  const lines = [
    'receivers:',
    '  otlp/in:', // the services' SDKs
    '    protocols:',
    '      http:',
    `        endpoint: 127.0.0.1:${inPort}`,
    '  otlp/runtime:', // the agents' carriers: a pipeline of their own into the same exporter
    '    protocols:',
    '      http:',
    `        endpoint: 127.0.0.1:${runtimePort}`,
    '        max_request_body_size: 67108864',
  ];
  shards.forEach((s, i) => lines.push(
    `  otlp/relay${i}:`,
    '    protocols:',
    '      grpc:',
    `        endpoint: 127.0.0.1:${s.relayPort}`,
    '        max_recv_msg_size_mib: 64'));
  lines.push(
    'exporters:',
    '  loadbalancing:',
    '    routing_key: attributes',
    '    routing_attributes: [service.name, service.instance.id]',
    '    protocol:',
    '      otlp:',
    '        tls:',
    '          insecure: true',
    '        timeout: 10s',
    '        sending_queue:', // per shard: holds what a shard that is down has not taken
    '          enabled: true',
    '          queue_size: 5000',
    '          num_consumers: 4',
    '        retry_on_failure:',
    '          enabled: true',
    '          initial_interval: 100ms',
    '          max_interval: 1s',
    '          max_elapsed_time: 0', // never give up on a shard
    '    resolver:',
    '      static:',
    `        hostnames: [${relays.join(', ')}]`);
  shards.forEach((s, i) => lines.push(
    `  otlphttp/shard${i}:`, // the relay holds nothing: its answer is the shard's
    `    endpoint: http://127.0.0.1:${s.server.port}`,
    '    compression: gzip',
    '    sending_queue:',
    '      enabled: false',
    '    retry_on_failure:',
    '      enabled: false'));
  lines.push(
    'service:',
    '  telemetry:',
    '    logs:',
    '      level: info',
    '    metrics:',
    '      level: none',
    '  pipelines:',
    '    traces/in:',
    '      receivers: [otlp/in]',
    '      exporters: [loadbalancing]',
    '    traces/runtime:',
    '      receivers: [otlp/runtime]',
    '      exporters: [loadbalancing]');
  shards.forEach((s, i) => lines.push(
    `    traces/shard${i}:`,
    `      receivers: [otlp/relay${i}]`,
    `      exporters: [otlphttp/shard${i}]`));
  return lines.join('\n') + '\n';
}

async function startCollector(bin, ports) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mw-shard-col-'));
  const cfg = path.join(dir, 'config.yaml');
  writeFileSync(cfg, collectorConfig(ports));
  if (VERBOSE) log(readFileSync(cfg, 'utf8'));
  const proc = spawn(bin, ['--config', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  const c = { proc, dir, cfg, err: [], exit: null, get stderr() { return Buffer.concat(this.err).toString(); } };
  proc.stdout.on('data', (d) => c.err.push(d));
  proc.stderr.on('data', (d) => { c.err.push(d); if (VERBOSE) process.stderr.write(d); });
  c.exited = new Promise((resolve) => proc.on('exit', (code, signal) => { c.exit = { code, signal }; resolve(c.exit); }));
  collector = c;
  await waitFor('the Collector to be ready', () => {
    if (c.exit) throw new Error(`the Collector exited ${JSON.stringify(c.exit)}:\n${c.stderr.slice(-3000)}`);
    return c.stderr.includes('Everything is ready');
  }, { timeoutMs: 30000, everyMs: 100 });
  return c;
}

// ---------------------------------------------------------------- services under agents

async function startAgent({ service, instance, runtimePort, inPort }) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mw-shard-agent-'));
  const port = await freePort(), pprofPort = await freePort();
  const args = ['run', '--collector', `http://127.0.0.1:${runtimePort}`, '--otlp-runtime',
    '--pprof', `http://127.0.0.1:${pprofPort}/debug/pprof`,
    '--cpu-seconds', '2', '--goroutine-rate', '2', '--heap-interval', '3s', '--dump-interval', '5s',
    '--spool-dir', path.join(dir, 'spool'), '--log-file', path.join(dir, 'agent.log'),
    '--stats-file', path.join(dir, 'stats.json'), '--stats-interval', '1s', '--drain-timeout', '20s',
    '--', SERVICE_BIN, '-listen', `127.0.0.1:${port}`, '-pprof', `127.0.0.1:${pprofPort}`, '-labels', 'meanwhile',
    '-ballast', '20000'];
  const env = { ...process.env, OTEL_SERVICE_NAME: service, OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${inPort}`,
    OTEL_RESOURCE_ATTRIBUTES: `service.instance.id=${instance}`, OTEL_BSP_SCHEDULE_DELAY: '500' };
  for (const k of ['GODEBUG', 'GOMAXPROCS', 'GOGC']) delete env[k];
  for (const k of Object.keys(env)) if (k.startsWith('MEANWHILE_')) delete env[k];
  log(`${AGENT} ${args.join(' ')}`);
  const proc = spawn(AGENT, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const a = { service, instance, proc, dir, port, out: [], err: [], exit: null, requests: [],
    get stdout() { return Buffer.concat(this.out).toString(); },
    get stderr() { return Buffer.concat(this.err).toString(); },
    log() { const f = path.join(dir, 'agent.log'); return existsSync(f) ? readFileSync(f, 'utf8') : ''; },
    stats() { const f = path.join(dir, 'stats.json'); return existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) : null; } };
  proc.stdout.on('data', (d) => a.out.push(d));
  proc.stderr.on('data', (d) => a.err.push(d));
  a.exited = new Promise((resolve) => proc.on('exit', (code, signal) => { a.exit = { code, signal }; resolve(a.exit); }));
  agents.push(a);
  const line = await waitFor(`${service} to listen`, () => {
    if (a.exit) throw new Error(`the agent exited ${JSON.stringify(a.exit)}: ${a.stderr.slice(-2000)}`);
    return /^listening addr=.*$/m.exec(a.stdout)?.[0];
  }, { timeoutMs: 30000, everyMs: 50 });
  log(`${service}: ${line}`);
  assert.match(line, new RegExp(`service\\.instance\\.id=${instance}\\b`), 'the service took the instance id the test gave it');
  return a;
}

async function stopAgent(a) {
  if (a.exit) return a.exit;
  a.proc.kill('SIGTERM'); // to the service, which flushes its spans; the agent then drains its spool
  let timer;
  const r = await Promise.race([a.exited, new Promise((res) => { timer = setTimeout(() => res(null), 60000); })]);
  clearTimeout(timer);
  if (!r) {
    a.proc.kill('SIGKILL');
    await a.exited;
    assert.fail(`the agent of ${a.service} did not exit within 60 s of SIGTERM; its log:\n${a.log().slice(-3000)}`);
  }
  return r;
}

/** Requests /work?kind=<kind> from `workers` clients until stop() says so, or `max`
 * were made; records each answer's trace and span ids, its child span's name and the
 * time it was made. */
function load(a, workers, kind = 'fast', max = Infinity) {
  let stopping = false, errors = 0, made = 0;
  const one = async () => {
    while (!stopping && made++ < max) {
      const t = nowNs();
      try {
        const r = await request({ port: a.port }, 'GET', `/work?kind=${kind}`);
        if (r.status !== 200) { errors++; continue; }
        const j = JSON.parse(r.body.toString());
        a.requests.push({ t, tEnd: nowNs(), kind, child: j.child, trace: j.trace_id, spans: [j.span_id, j.child_span_id] });
      } catch {
        errors++;
      }
      await sleep(30);
    }
  };
  const done = Promise.all(Array.from({ length: workers }, one));
  return { stop: async () => { stopping = true; await done; a.errors = (a.errors || 0) + errors; return errors; } };
}

// ---------------------------------------------------------------- shards

async function killShard(i) {
  const s = shards[i].server;
  s.proc.kill('SIGKILL');
  await s.exited;
  // what it said before it was killed is judged like any server's log
  const bad = s.unexpectedLog();
  assert.deepEqual(bad, [], `shard ${i} logged, before it was killed:\n${bad.slice(0, 20).join('\n')}`);
}

async function restartShard(i) {
  const old = shards[i].server;
  const s = new Server({ dataDir: old.dataDir, args: shardArgs(i), allowLog: SHARD_ALLOW });
  s.ownsDataDir = true; // removed at the end like the others
  await s.start();
  assert.equal(s.port, old.port, 'the restarted shard listens where the Collector expects it');
  shards[i].server = s;
}

async function sourcesOf(server, service) {
  const j = await getLocal(server, '/api/v1/sources?limit=1000');
  return j.sources.filter((x) => x.service === service);
}

async function spanCount(server, service) {
  const j = await getLocal(server, `/api/v1/services?name=${encodeURIComponent(service)}`);
  return j.services.find((x) => x.name === service)?.span_count ?? 0;
}

// ---------------------------------------------------------------- federated queries

/** True when q's two spans are on a's shard (asked alone). */
async function storedOnShard(a, q) {
  const r = await request(shards[a.expected].server, 'GET', `/api/traces/${q.trace}`, { headers: LOCAL });
  if (r.status !== 200) return false;
  const ids = spansOf(JSON.parse(r.body.toString()));
  return q.spans.every((id) => ids.has(id));
}

/** One of a's first requests of this kind whose spans are on its shard. */
function storedRequest(a, kind) {
  return waitFor(`a ${kind} trace of ${a.service} on shard ${a.expected}`, async () => {
    for (const q of a.requests.filter((x) => x.kind === kind).slice(0, 5)) if (await storedOnShard(a, q)) return q;
    return null;
  }, { timeoutMs: 20000, everyMs: 250 });
}

let probe = null; // the traces the queries ask for: {a, b, dead, deadSlow, live, liveSlow}

/** The queries asked while the shard is down and again after: through the front, and
 * through the two other shards (any shard fronts). Answers recorded as they came. */
async function askAll() {
  const { a, b, dead, deadSlow, live, liveSlow } = probe;
  const other = [0, 1, 2].find((i) => i !== a.expected && i !== b.expected); // holds neither process
  const viaB = shards[b.expected].server, viaOther = shards[other].server;
  const qs = {
    deadTrace: [front, `/api/traces/${dead.trace}`],
    deadTraceViaB: [viaB, `/api/traces/${dead.trace}`],
    liveTrace: [front, `/api/traces/${live.trace}`],
    liveTraceViaOther: [viaOther, `/api/traces/${live.trace}`],
    liveTraceV2: [front, `/api/v2/traces/${live.trace}`],
    services: [front, '/api/v1/services'],
    servicesViaB: [viaB, '/api/v1/services'],
    servicesViaOther: [viaOther, '/api/v1/services'],
    opsA: [front, `/api/v1/services/${a.service}/operations`],
    opsB: [front, `/api/v1/services/${b.service}/operations`],
    searchA: [front, `/api/search?service=${a.service}&name=backoff&limit=1000`],
    searchB: [front, `/api/search?service=${b.service}&name=backoff&limit=1000`],
    searchBViaOther: [viaOther, `/api/search?service=${b.service}&name=backoff&limit=1000`],
    explainB: [front, `/api/v1/traces/${liveSlow.trace}/explain`],
    explainBViaOther: [viaOther, `/api/v1/traces/${liveSlow.trace}/explain`],
    timelineB: [front, `/api/v1/traces/${liveSlow.trace}/timeline`],
    explainA: [front, `/api/v1/traces/${deadSlow.trace}/explain`],
    timelineA: [front, `/api/v1/traces/${deadSlow.trace}/timeline`],
    compareA: [front, `/api/v1/compare?service=${a.service}&name=backoff`],
    compareB: [front, `/api/v1/compare?service=${b.service}&name=backoff`],
    tagValues: [front, '/api/search/tag/service.name/values'],
  };
  const out = {};
  for (const [k, [server, p]] of Object.entries(qs)) {
    out[k] = await ask(server, p);
    out[k].via = server === front ? 'the front' : `shard ${shards.findIndex((x) => x.server === server)}`;
  }
  return out;
}

const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const show = (x) => `${x.via} GET ${x.path}: ${x.status} missing=${x.missing} ${x.body.slice(0, 600)}`;

/** The traces of a's requests of this kind made by now. */
const tracesOf = (a, kind) => new Set(a.requests.filter((q) => q.kind === kind).map((q) => q.trace));

// ---------------------------------------------------------------- the run

before(async () => {
  mkdirSync(OUT_DIR, { recursive: true });
  const t0 = performance.now();
  const out = execFileSync('bash', [COLLECTOR_BUILD, GO, path.join(BUILD_DIR, 'collector')],
    { stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 }).toString().trim().split('\n');
  const collectorBin = out[out.length - 1];
  log(`Collector: ${collectorBin} (${Math.round(performance.now() - t0)} ms)`);
  buildGoService({ go: GO, toolchain: 'local', moduleDir: path.join(HERE, '..', 'e2e-sdk', 'service'),
    bin: SERVICE_BIN, outDir: OUT_DIR, log });

  shardPorts = [await freePort(), await freePort(), await freePort()];
  peers = shardPorts.map((p) => `http://127.0.0.1:${p}`).join(',');
  for (let i = 0; i < 3; i++) {
    const server = new Server({ args: shardArgs(i), allowLog: SHARD_ALLOW });
    await server.start();
    shards.push({ server, relayPort: await freePort() });
  }
  front = new Server({ args: ['--role', 'query', '--peers', peers, '--peer-timeout', PEER_TIMEOUT], allowLog: FRONT_ALLOW });
  await front.start();
  const ports = { inPort: await freePort(), runtimePort: await freePort() };
  await startCollector(collectorBin, ports);

  // instance ids that put the two processes on two different shards, by the exporter's ring
  const items = ring(shards.map((s) => `127.0.0.1:${s.relayPort}`));
  const owner = (svc, inst) => shards.findIndex((s) => `127.0.0.1:${s.relayPort}` === endpointFor(items, processKey(svc, inst)));
  const pick = (svc, prefix, not) => {
    for (let k = 0; k < 1000; k++) if (owner(svc, `${prefix}-${k}`) !== not) return `${prefix}-${k}`;
    throw new Error('no instance id found');
  };
  const instA = pick('shard-a', 'a', -1), instB = pick('shard-b', 'b', owner('shard-a', instA));
  const expected = { 'shard-a': owner('shard-a', instA), 'shard-b': owner('shard-b', instB) };
  log(`ring: shard-a/${instA} -> shard ${expected['shard-a']}, shard-b/${instB} -> shard ${expected['shard-b']}`);

  const a = await startAgent({ service: 'shard-a', instance: instA, ...ports });
  const b = await startAgent({ service: 'shard-b', instance: instB, ...ports });
  a.expected = expected['shard-a'];
  b.expected = expected['shard-b'];

  // load (fast requests, and slow ones to explain); the first process's shard goes down
  // from 1/4 to 1/2 of it
  // (slow ones at most SLOW_MAX: a federated search lists at most 1,000 traces)
  const loads = [load(a, 2), load(b, 2), load(a, 1, 'sleep', SLOW_MAX), load(b, 1, 'sleep', SLOW_MAX)];
  const victim = a.expected;
  await sleep(SECONDS * 250);
  // the traces the queries ask for, on their shards before the outage
  probe = { a, b, dead: await storedRequest(a, 'fast'), deadSlow: await storedRequest(a, 'sleep'),
    live: await storedRequest(b, 'fast'), liveSlow: await storedRequest(b, 'sleep') };
  const before = await askAll();
  outage = { shard: victim, fromNs: nowNs(), before };
  await killShard(victim);
  const tKill = performance.now();
  log(`shard ${victim} killed`);
  outage.answers = await askAll();
  log(`${Object.keys(outage.answers).length} queries while shard ${victim} is down: ${Math.round(performance.now() - tKill)} ms`);
  await sleep(Math.max(0, SECONDS * 250 - (performance.now() - tKill)));
  await restartShard(victim);
  outage.toNs = nowNs();
  outage.restarted = await askAll();
  log(`shard ${victim} restarted after ${Number(outage.toNs - outage.fromNs) / 1e6} ms`);
  await sleep(SECONDS * 500);
  for (const l of loads) await l.stop();
  for (const ag of agents) {
    const slow = ag.requests.filter((q) => q.kind === 'sleep').length;
    log(`${ag.service}: ${ag.requests.length} requests (${slow} slow), ${ag.errors} errors`);
  }
  for (const ag of agents) {
    const r = await request({ port: ag.port }, 'GET', '/flush', { timeoutMs: 60000 });
    assert.equal(r.status, 200, `${ag.service} /flush: ${r.body}`);
    ag.flush = JSON.parse(r.body.toString());
    log(`${ag.service}: SDK ${JSON.stringify(ag.flush)}`);
  }
  for (const ag of agents) ag.stopped = await stopAgent(ag);
});

after(async () => {
  for (const a of agents) if (!a.exit) { a.proc.kill('SIGKILL'); await a.exited; }
  if (collector && !collector.exit) { collector.proc.kill('SIGTERM'); await collector.exited; }
  if (front) await front.cleanup();
  for (const s of shards) await s.server.cleanup();
  if (!process.env.MW_SHARD_KEEP) {
    for (const a of agents) rmSync(a.dir, { recursive: true, force: true });
    if (collector) rmSync(collector.dir, { recursive: true, force: true });
  }
});

test('the SDKs and the agents lost nothing on their side', () => {
  for (const a of agents) {
    assert.deepEqual(a.stopped, { code: 0, signal: null }, `${a.service}'s agent exit; its log:\n${a.log().slice(-3000)}`);
    assert.ok(a.requests.length > 50, `${a.service} answered ${a.requests.length} requests`);
    assert.equal(a.flush.failed, 0, `${a.service}: the SDK saw failed exports (the Collector refused them)`);
    assert.ok(a.flush.exported >= 2 * a.requests.length,
      `${a.service}: ${a.flush.exported} spans exported for ${a.requests.length} requests of 2 spans`);
    const st = a.stats();
    assert.ok(st, `${a.service}: the agent wrote no stats`);
    const lost = JSON.stringify(st).match(/"(rejected|dropped|failed|queue_dropped)":[1-9]/g);
    assert.equal(lost, null, `${a.service}: the agent lost payloads: ${JSON.stringify(st)}`);
    assert.doesNotMatch(a.log(), /payloads are left in the spool/, `${a.service}: the agent's spool was not drained`);
  }
});

test('each process lives on the shard the loadbalancing ring names, and on no other', async () => {
  for (const a of agents) {
    const counts = [];
    for (const s of shards) counts.push(await spanCount(s.server, a.service));
    const where = counts.map((n, i) => (n ? i : -1)).filter((i) => i >= 0);
    assert.deepEqual(where, [a.expected],
      `${a.service}/${a.instance}: spans per shard ${JSON.stringify(counts)}; the v0.148 ring puts it on shard ${a.expected}`);
    for (const [i, s] of shards.entries()) {
      const src = await sourcesOf(s.server, a.service);
      if (i === a.expected) {
        assert.equal(src.length, 1, `${a.service}: one source on its shard ${i}: ${JSON.stringify(src)}`);
        assert.equal(src[0].instance, a.instance);
      } else {
        assert.deepEqual(src, [], `${a.service}: runtime data on shard ${i}, which does not own it`);
      }
    }
  }
});

test('every acknowledged span is on its process\'s shard, those of the outage included', async () => {
  for (const a of agents) {
    const s = shards[a.expected].server;
    const missing = [];
    await waitFor(`${a.service}'s ${a.requests.length} traces on shard ${a.expected}`, async () => {
      missing.length = 0;
      await mapLimit(a.requests, 8, async (q) => {
        const r = await request(s, 'GET', `/api/traces/${q.trace}`, { headers: LOCAL });
        if (r.status !== 200) { missing.push(`${q.trace}: ${r.status}`); return; }
        const ids = new Set();
        for (const b of JSON.parse(r.body.toString()).batches || [])
          for (const ss of b.scopeSpans || []) for (const sp of ss.spans || []) ids.add(sp.spanId);
        for (const id of q.spans) if (!ids.has(id)) missing.push(`${q.trace}/${id}`);
      });
      return missing.length === 0;
    }, { timeoutMs: 60000, everyMs: 2000 }).catch((e) => {
      assert.fail(`${a.service}: ${missing.length} spans missing on shard ${a.expected}, e.g. ${missing.slice(0, 5)}: ${e.message}`);
    });
    const during = a.requests.filter((q) => q.t >= outage.fromNs && q.t <= outage.toNs).length;
    if (a.expected === outage.shard) assert.ok(during > 10, `${a.service}: only ${during} requests while its shard was down`);
    log(`${a.service}: ${a.requests.length} traces complete on shard ${a.expected} (${during} made during the outage)`);
  }
});

test('the agents\' runtime data is on the same shard, what was taken during the outage too', async () => {
  for (const a of agents) {
    const s = shards[a.expected].server;
    const [src] = await sourcesOf(s, a.service);
    const snaps = (await getLocal(s, `/api/v1/sources/${src.id}/snapshots?kind=goroutine&limit=10000`)).snapshots;
    assert.ok(snaps.length > 5, `${a.service}: ${snaps.length} goroutine profiles on shard ${a.expected}`);
    // schedtrace lines come every second (the agent sets GODEBUG=schedtrace=1000); GC cycles
    // as the service's small heap needs them
    const sched = (await getLocal(s, `/api/v1/sources/${src.id}/sched?limit=10000`)).samples;
    assert.ok(sched.length > SECONDS / 2, `${a.service}: ${sched.length} scheduler samples on shard ${a.expected}`);
    const cycles = (await getLocal(s, `/api/v1/sources/${src.id}/gc?limit=10000`)).cycles;
    if (a.expected === outage.shard) {
      const during = snaps.filter((x) => BigInt(x.time_ns) >= outage.fromNs && BigInt(x.time_ns) <= outage.toNs);
      assert.ok(during.length > 0, `${a.service}: no goroutine profile taken during the outage reached shard ${a.expected}`);
    }
    log(`${a.service}: ${snaps.length} goroutine profiles, ${sched.length} scheduler samples, ${cycles.length} GC cycles on shard ${a.expected}`);
  }
});

test('while the shard was down: its process\'s trace a 503 naming it, the rest partial answers naming it', () => {
  const { a, b, dead, live, liveSlow } = probe;
  const gone = shardUrl(outage.shard), bShard = shardUrl(b.expected);
  const x = outage.answers;
  const isPartial = (k) => {
    assert.equal(x[k].status, 200, show(x[k]));
    assert.equal(x[k].missing, gone, `${show(x[k])}: Meanwhile-Missing-Shards`);
  };
  const fedPartial = (k) => {
    isPartial(k);
    assert.equal(x[k].j.federation?.shards, 3, show(x[k]));
    assert.equal(x[k].j.federation.answered, 2, show(x[k]));
    assert.deepEqual(x[k].j.federation.missing.map((m) => m.shard), [gone], show(x[k]));
  };
  // a trace of the process whose shard is down: not a 404 (it is there), a 503 naming the shard
  for (const k of ['deadTrace', 'deadTraceViaB', 'explainA', 'timelineA']) {
    assert.equal(x[k].status, 503, show(x[k]));
    assert.match(x[k].body, new RegExp(esc(gone)), show(x[k]));
  }
  // a trace of the other process: whole, and saying that a shard did not answer
  for (const k of ['liveTrace', 'liveTraceViaOther']) {
    isPartial(k);
    const got = spansOf(x[k].j);
    assert.deepEqual([...got.keys()].sort(), [...live.spans].sort(), show(x[k]));
    assert.deepEqual([...new Set(got.values())], [b.service], show(x[k]));
  }
  isPartial('liveTraceV2');
  assert.equal(x.liveTraceV2.j.status, 'PARTIAL', show(x.liveTraceV2));
  assert.match(x.liveTraceV2.j.message, new RegExp(esc(gone)), show(x.liveTraceV2));
  // services: only the live process's service (the other lives on the dead shard alone)
  for (const k of ['services', 'servicesViaB', 'servicesViaOther']) {
    fedPartial(k);
    assert.deepEqual(x[k].j.services.map((s) => s.name), [b.service], show(x[k]));
    assert.equal(x[k].j.services[0].instance_count, 1, show(x[k]));
    assert.ok(x[k].j.services[0].span_count > 0, show(x[k]));
  }
  // operations and compare: the live service's, partial; the dead one's a 503 (it may be there)
  fedPartial('opsB');
  const childNames = [...new Set(b.requests.map((q) => q.child))].sort();
  for (const n of childNames) assert.ok(x.opsB.j.operations.some((o) => o.name === n), `${n}: ${show(x.opsB)}`);
  fedPartial('compareB');
  assert.ok(x.compareB.j.count > 0 && x.compareB.j.slow.spans > 0 && x.compareB.j.fast.spans > 0, show(x.compareB));
  for (const k of ['opsA', 'compareA']) {
    assert.equal(x[k].status, 503, show(x[k]));
    assert.match(x[k].body, new RegExp(esc(gone)), show(x[k]));
  }
  // Tempo's tag values: the live service's name only
  fedPartial('tagValues');
  assert.deepEqual(x.tagValues.j.tagValues, [b.service], show(x.tagValues));
  // search: the live service's slow traces (each one this test made), none of the other's
  const slowB = tracesOf(b, 'sleep');
  for (const k of ['searchB', 'searchBViaOther']) {
    fedPartial(k);
    const ids = x[k].j.traces.map((t) => t.traceID);
    assert.ok(ids.includes(liveSlow.trace), `${liveSlow.trace} not found: ${show(x[k])}`);
    assert.deepEqual(ids.filter((id) => !slowB.has(id)), [], `traces this test did not make: ${show(x[k])}`);
    for (const t of x[k].j.traces) assert.equal(t.rootServiceName, b.service, show(x[k]));
  }
  fedPartial('searchA');
  assert.deepEqual(x.searchA.j.traces, [], show(x.searchA));
  // explain and timeline of a live trace answer, each span from the live shard
  for (const k of ['explainB', 'explainBViaOther']) {
    fedPartial(k);
    assert.deepEqual(x[k].j.spans.map((s) => s.span_id).sort(), [...liveSlow.spans].sort(), show(x[k]));
    for (const s of x[k].j.spans) assert.equal(s.shard, bShard, show(x[k]));
  }
  fedPartial('timelineB');
  assert.deepEqual(x.timelineB.j.spans.map((s) => s.span_id).sort(), [...liveSlow.spans].sort(), show(x.timelineB));
  for (const s of x.timelineB.j.spans) assert.equal(s.shard, bShard, show(x.timelineB));
  assert.ok(x.timelineB.j.sources.every((s) => s.service === b.service && s.shard === bShard), show(x.timelineB));
  log(`while shard ${outage.shard} was down: ${Object.keys(x).length} answers as documented (${dead.trace}: 503)`);
});

/** Judges askAll()'s answers when every shard is up: complete, no shard missing. exact:
 * after the drains, when every acknowledged span must be there (counts and lists). */
function judgeComplete(x, exact) {
  const { a, b, dead, deadSlow, live, liveSlow } = probe;
  const complete = (k) => {
    assert.equal(x[k].status, 200, show(x[k]));
    assert.equal(x[k].missing, undefined, `${show(x[k])}: Meanwhile-Missing-Shards`);
    if (x[k].j?.federation) assert.deepEqual(x[k].j.federation, { shards: 3, answered: 3, missing: [] }, show(x[k]));
  };
  for (const [k, q, svc] of [['deadTrace', dead, a], ['deadTraceViaB', dead, a], ['liveTrace', live, b], ['liveTraceViaOther', live, b]]) {
    complete(k);
    const got = spansOf(x[k].j);
    assert.deepEqual([...got.keys()].sort(), [...q.spans].sort(), show(x[k]));
    assert.deepEqual([...new Set(got.values())], [svc.service], show(x[k]));
  }
  complete('liveTraceV2');
  assert.equal(x.liveTraceV2.j.status, 'COMPLETE', show(x.liveTraceV2));
  // both services; after the drains each with every span its SDK exported (and no more)
  for (const k of ['services', 'servicesViaB', 'servicesViaOther']) {
    complete(k);
    assert.deepEqual(x[k].j.services.map((s) => s.name), agents.map((ag) => ag.service).sort(), show(x[k]));
    for (const ag of agents) {
      const row = x[k].j.services.find((s) => s.name === ag.service);
      assert.equal(row.instance_count, 1, show(x[k]));
      if (exact) assert.equal(row.span_count, ag.flush.exported, `${ag.service}: spans found vs exported by its SDK: ${show(x[k])}`);
    }
  }
  for (const [k, ag] of [['opsA', a], ['opsB', b]]) {
    complete(k);
    for (const n of new Set(ag.requests.map((q) => q.child))) {
      const op = x[k].j.operations.find((o) => o.name === n);
      const want = exact ? ag.requests.filter((q) => q.child === n).length : 1;
      assert.ok(op && op.count >= want, `${ag.service} ${n}: ${op?.count} spans, ${want} answered requests: ${show(x[k])}`);
    }
  }
  for (const [k, ag] of [['compareA', a], ['compareB', b]]) {
    complete(k);
    const made = ag.requests.filter((q) => q.kind === 'sleep').length;
    assert.ok(x[k].j.count >= (exact ? made : 1), `${ag.service}: ${made} slow requests made: ${show(x[k])}`);
    assert.ok(x[k].j.slow.spans > 0 && x[k].j.fast.spans > 0, show(x[k]));
  }
  complete('tagValues');
  assert.deepEqual(x.tagValues.j.tagValues, agents.map((ag) => ag.service).sort(), show(x.tagValues));
  for (const [k, ag, q] of [['searchA', a, deadSlow], ['searchB', b, liveSlow], ['searchBViaOther', b, liveSlow]]) {
    complete(k);
    const ids = new Set(x[k].j.traces.map((t) => t.traceID)), made = tracesOf(ag, 'sleep');
    assert.ok(ids.has(q.trace), `${q.trace} not found: ${show(x[k])}`);
    assert.deepEqual([...ids].filter((id) => !made.has(id)), [], `${ag.service}: slow traces this test did not make: ${show(x[k])}`);
    if (exact) assert.deepEqual([...made].filter((id) => !ids.has(id)), [], `${ag.service}: slow traces not found: ${show(x[k])}`);
  }
  for (const [k, ag, q] of [['explainB', b, liveSlow], ['explainBViaOther', b, liveSlow], ['timelineB', b, liveSlow],
    ['explainA', a, deadSlow], ['timelineA', a, deadSlow]]) {
    complete(k);
    assert.deepEqual(x[k].j.spans.map((s) => s.span_id).sort(), [...q.spans].sort(), show(x[k]));
    for (const s of x[k].j.spans) assert.equal(s.shard, shardUrl(ag.expected), show(x[k]));
    // the timeline's runtime lanes: the process's own source, from its own shard
    if (k.startsWith('timeline'))
      assert.deepEqual(x[k].j.sources.map((s) => [s.service, s.instance, s.shard]), [[ag.service, ag.instance, shardUrl(ag.expected)]], show(x[k]));
  }
}

test('before the outage, and at once after the restart: every query complete', () => {
  judgeComplete(outage.before, false);
  // the front and the shards had connections to the killed shard: none is used stale
  judgeComplete(outage.restarted, false);
});

test('after the drains: the same queries complete, with every acknowledged span', async () => {
  judgeComplete(await askAll(), true);
});

test('every acknowledged trace is found whole through the front', async () => {
  for (const a of agents) {
    const bad = [];
    await mapLimit(a.requests, 8, async (q) => {
      const r = await request(front, 'GET', `/api/traces/${q.trace}`);
      if (r.status !== 200 || r.headers['meanwhile-missing-shards']) {
        bad.push(`${q.trace}: ${r.status} ${r.headers['meanwhile-missing-shards'] || ''}`);
        return;
      }
      const ids = spansOf(JSON.parse(r.body.toString()));
      for (const id of q.spans) if (ids.get(id) !== a.service) bad.push(`${q.trace}/${id}: ${ids.get(id)}`);
      if (ids.size !== q.spans.length) bad.push(`${q.trace}: ${ids.size} spans`);
    });
    assert.deepEqual(bad.slice(0, 10), [], `${a.service}: ${bad.length} of ${a.requests.length} traces not whole through the front`);
    log(`${a.service}: ${a.requests.length} traces whole through the front`);
  }
});

test('a slow span of each service is explained with its own shard\'s runtime data', async () => {
  for (const a of agents) {
    const owner = shards[a.expected].server;
    const [src] = await sourcesOf(owner, a.service);
    const snaps = new Map((await getLocal(owner, `/api/v1/sources/${src.id}/snapshots?kind=goroutine&limit=10000`)).snapshots
      .map((s) => [s.id, s]));
    // first the slow requests during which a goroutine profile was taken (most are then
    // explained from it), the others after
    const during = (q) => [...snaps.values()].some((sn) => BigInt(sn.time_ns) >= q.t && BigInt(sn.time_ns) <= q.tEnd);
    const slow = a.requests.filter((r) => r.kind === 'sleep');
    let found = null, asked = 0;
    for (const q of [...slow.filter(during), ...slow.filter((r) => !during(r))]) {
      if (asked++ >= 100) break;
      const r = await request(front, 'GET', `/api/v1/traces/${q.trace}/explain`);
      assert.equal(r.status, 200, `${q.trace}: ${r.body.toString().slice(0, 400)}`);
      const j = JSON.parse(r.body.toString());
      assert.deepEqual(j.federation, { shards: 3, answered: 3, missing: [] });
      for (const s of j.spans) assert.equal(s.shard, shardUrl(a.expected), `${q.trace}: span ${s.span_id} explained by ${s.shard}`);
      const child = j.spans.find((s) => s.span_id === q.spans[1]);
      assert.ok(child, `${q.trace}: no entry for the child span ${q.spans[1]}`);
      const cause = child.causes.find((c) => c.scope === 'span' && c.evidence.some((e) => e.type === 'goroutine_sample'));
      if (cause) { found = { q, child, cause }; break; }
    }
    assert.ok(found, `${a.service}: none of ${asked} slow spans explained from its own goroutine samples`);
    // the samples quoted are goroutine profiles of this process on its shard, taken while
    // the span ran (between the request and its answer)
    const { q, cause } = found;
    for (const e of cause.evidence.filter((v) => v.type === 'goroutine_sample')) {
      const snap = snaps.get(e.snapshot_id);
      assert.ok(snap, `${a.service}: snapshot ${e.snapshot_id} is not a goroutine profile of ${src.id} on shard ${a.expected}`);
      assert.equal(String(snap.time_ns), String(e.time_ns));
      assert.ok(BigInt(e.time_ns) >= q.t && BigInt(e.time_ns) <= q.tEnd,
        `${a.service}: sample at ${e.time_ns} outside the request [${q.t}, ${q.tEnd}]`);
    }
    log(`${a.service}: ${found.child.name} of ${q.trace} explained on shard ${a.expected}: ${cause.kind} ` +
      `(${cause.scope}, ${cause.evidence.filter((v) => v.type === 'goroutine_sample').length} goroutine samples; ${asked} asked)`);
  }
});

// A shard that is up but does not answer (stopped, not killed: its port still accepts
// connections): the fan-out waits --peer-timeout for it, then answers without it.
test('a shard that hangs: answers come after --peer-timeout, naming it', async () => {
  const { a, b, live } = probe;
  const i = [0, 1, 2].find((k) => k !== a.expected && k !== b.expected);
  const hung = shardUrl(i), proc = shards[i].server.proc;
  proc.kill('SIGSTOP');
  let x;
  try {
    x = await Promise.all([ask(front, '/api/v1/services'), ask(shards[b.expected].server, `/api/traces/${live.trace}`)]);
  } finally {
    proc.kill('SIGCONT');
  }
  x[0].via = 'the front';
  x[1].via = `shard ${b.expected}`;
  for (const r of x) {
    assert.equal(r.status, 200, show(r));
    assert.equal(r.missing, hung, show(r));
  }
  assert.deepEqual(x[0].j.federation.missing.map((m) => m.shard), [hung], show(x[0]));
  assert.match(x[0].j.federation.missing[0].error, new RegExp(`\\b${PEER_TIMEOUT.replace('s', '000')} ms\\b`), show(x[0]));
  assert.deepEqual(x[0].j.services.map((s) => s.name), agents.map((ag) => ag.service).sort(), show(x[0]));
  assert.deepEqual([...spansOf(x[1].j).keys()].sort(), [...live.spans].sort(), show(x[1]));
  // going on, it answers again
  const again = { ...(await ask(front, '/api/v1/services')), via: 'the front' };
  assert.equal(again.status, 200, show(again));
  assert.equal(again.missing, undefined, show(again));
});

test('the Collector dropped nothing on its way to a shard', () => {
  const lines = collector.stderr.split('\n');
  // a relay (otlphttp/shardN, no queue, no retry) drops by design while its shard is down:
  // the loadbalancing exporter's queue holds and resends it
  const dropped = lines.filter((l) => /Dropping data|dropped/i.test(l) && !/otlphttp\/shard\d/.test(l));
  assert.deepEqual(dropped, [], 'the loadbalancing exporter dropped data');
  // and its queue did hold what the shard that was down could not take
  const retried = lines.filter((l) => /Will retry/.test(l) && !/otlphttp\/shard\d/.test(l));
  log(`Collector: ${retried.length} retries by the loadbalancing exporter while shard ${outage.shard} was down`);
  assert.ok(retried.length > 0, `the loadbalancing exporter never retried while shard ${outage.shard} was down:\n${collector.stderr.slice(-3000)}`);
});

test('no shard, nor the front, logged what the test did not expect', async () => {
  await front.stop();
  log('the front: stopped, log checked');
  for (const [i, s] of shards.entries()) {
    await s.server.stop();
    log(`shard ${i}: stopped, log checked`);
  }
});

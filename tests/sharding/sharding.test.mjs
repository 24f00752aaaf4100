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
// Queries across shards (partial while one is down, complete after) are federation's
// (helper "fed", issue 18 point 2): this test reads each shard directly.
//
// Environment (set by ctest): MEANWHILED, MEANWHILE_AGENT, GO, MW_BUILD_DIR,
// MW_COLLECTOR_BUILD (tests/collector/build.sh). Knobs: MW_SHARD_SECONDS (load, 24; the
// shard is down from a quarter to a half of it), MW_SHARD_VERBOSE=1.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Server, request, getJson, mapLimit, sleep } from '../integration/lib/server.mjs';
import { waitFor } from '../integration/lib/wait.mjs';
import { buildGoService } from '../e2e/lib/gobuild.mjs';
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

const shards = [];   // {server, relayPort, name}
let collector = null; // {proc, err, exited, exit, dir}
const agents = [];   // {service, instance, proc, dir, port, ...}
let outage = null;   // {fromNs, toNs, shard}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const nowNs = () => BigInt(Date.now()) * 1000000n;

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
    '--', SERVICE_BIN, '-listen', `127.0.0.1:${port}`, '-pprof', `127.0.0.1:${pprofPort}`, '-labels', 'none',
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

/** Requests /work?kind=fast from `workers` clients until stop() says so; records each
 * answer's trace and span ids with the time it was made. */
function load(a, workers) {
  let stopping = false, errors = 0;
  const one = async () => {
    while (!stopping) {
      const t = nowNs();
      try {
        const r = await request({ port: a.port }, 'GET', '/work?kind=fast');
        if (r.status !== 200) { errors++; continue; }
        const j = JSON.parse(r.body.toString());
        a.requests.push({ t, trace: j.trace_id, spans: [j.span_id, j.child_span_id] });
      } catch {
        errors++;
      }
      await sleep(30);
    }
  };
  const done = Promise.all(Array.from({ length: workers }, one));
  return { stop: async () => { stopping = true; await done; return errors; } };
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
  const s = new Server({ dataDir: old.dataDir, args: ['--listen', `127.0.0.1:${old.port}`], allowLog: SHARD_ALLOW });
  s.ownsDataDir = true; // removed at the end like the others
  await s.start();
  assert.equal(s.port, old.port, 'the restarted shard listens where the Collector expects it');
  shards[i].server = s;
}

async function sourcesOf(server, service) {
  const j = await getJson(server, '/api/v1/sources?limit=1000');
  return j.sources.filter((x) => x.service === service);
}

async function spanCount(server, service) {
  const j = await getJson(server, `/api/v1/services?name=${encodeURIComponent(service)}`);
  return j.services.find((x) => x.name === service)?.span_count ?? 0;
}

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

  for (let i = 0; i < 3; i++) {
    const server = new Server({ allowLog: SHARD_ALLOW });
    await server.start();
    shards.push({ server, relayPort: await freePort() });
  }
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

  // load; the first process's shard goes down from 1/4 to 1/2 of it
  const loads = [load(a, 2), load(b, 2)];
  const victim = a.expected;
  await sleep(SECONDS * 250);
  outage = { shard: victim, fromNs: nowNs() };
  await killShard(victim);
  log(`shard ${victim} killed`);
  await sleep(SECONDS * 250);
  await restartShard(victim);
  outage.toNs = nowNs();
  log(`shard ${victim} restarted after ${Number(outage.toNs - outage.fromNs) / 1e6} ms`);
  await sleep(SECONDS * 500);
  for (const [i, l] of loads.entries()) {
    const errors = await l.stop();
    log(`${agents[i].service}: ${agents[i].requests.length} requests, ${errors} errors`);
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
        const r = await request(s, 'GET', `/api/traces/${q.trace}`);
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
    const snaps = (await getJson(s, `/api/v1/sources/${src.id}/snapshots?kind=goroutine&limit=10000`)).snapshots;
    assert.ok(snaps.length > 5, `${a.service}: ${snaps.length} goroutine profiles on shard ${a.expected}`);
    // schedtrace lines come every second (the agent sets GODEBUG=schedtrace=1000); GC cycles
    // as the service's small heap needs them
    const sched = (await getJson(s, `/api/v1/sources/${src.id}/sched?limit=10000`)).samples;
    assert.ok(sched.length > SECONDS / 2, `${a.service}: ${sched.length} scheduler samples on shard ${a.expected}`);
    const cycles = (await getJson(s, `/api/v1/sources/${src.id}/gc?limit=10000`)).cycles;
    if (a.expected === outage.shard) {
      const during = snaps.filter((x) => BigInt(x.time_ns) >= outage.fromNs && BigInt(x.time_ns) <= outage.toNs);
      assert.ok(during.length > 0, `${a.service}: no goroutine profile taken during the outage reached shard ${a.expected}`);
    }
    log(`${a.service}: ${snaps.length} goroutine profiles, ${sched.length} scheduler samples, ${cycles.length} GC cycles on shard ${a.expected}`);
  }
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

test('no shard logged what the test did not expect', async () => {
  for (const [i, s] of shards.entries()) {
    await s.server.stop();
    log(`shard ${i}: stopped, log checked`);
  }
});

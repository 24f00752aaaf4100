// End to end with a real Go runtime (see README.md in this directory).
//
// Builds tests/e2e/service with the system's go, runs it with GODEBUG=gctrace=1 against
// a fresh meanwhiled, drives interleaved requests that are slow for known reasons (a
// contended mutex, a slow channel, CPU work, heavy allocation, network I/O, sleeping),
// collects the service's spans (OTLP/JSON, exported by the service), goroutine profiles
// every 50 ms, back-to-back 2 s CPU profiles and the gctrace stderr, then asks
// GET /api/v1/traces/{id}/explain for every slow request and checks that the top cause
// of the slow child span is the injected one.
//
// Environment: MEANWHILED (server binary), GO (go command), MW_BUILD_DIR (where the
// service binary and the last run's report go), all set by ctest. Knobs:
// MW_E2E_REQUESTS (per kind, default 25), MW_E2E_RATE (req/s, 20), MW_E2E_CONCURRENCY (4),
// MW_E2E_VERBOSE=1 (print every slow request's verdict), MW_E2E_SERVICE_ARGS (extra flags for
// the service, e.g. "-gc-percent 25 -alloc-objects 1000"), MW_E2E_NICE (the service's nice
// value when allowed, -10; 0 leaves it alone).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, request, mapLimit, sleep } from '../integration/lib/server.mjs';
import { waitFor } from '../integration/lib/wait.mjs';
import { decodeProfile } from './lib/pprof.mjs';
import { ALLOC_CPU_SHARE, CPU_SAMPLE_MS, CPU_MIN_COVER, cpuBySpan, median } from './lib/judge.mjs';
import { getJson } from './lib/api.mjs';
import { nowNs } from '../integration/lib/clock.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const GO = process.env.GO || 'go';
const BUILD_DIR = process.env.MW_BUILD_DIR || path.resolve(HERE, '..', '..', 'build');
const OUT_DIR = path.join(BUILD_DIR, 'e2e');
const SERVICE_BIN = path.join(OUT_DIR, 'e2e-service');

const PER_KIND = Number(process.env.MW_E2E_REQUESTS || 25);
const RATE = Number(process.env.MW_E2E_RATE || 20);
const CONCURRENCY = Number(process.env.MW_E2E_CONCURRENCY || 4);
const SERVICE_NICE = Number(process.env.MW_E2E_NICE ?? -10);
const GOROUTINE_EVERY_MS = 50;
const CPU_PROFILE_SECONDS = 2;
const SERVICE = 'e2e';
const VERBOSE = Boolean(process.env.MW_E2E_VERBOSE);

/** kind -> child span name and the causes that count as the injected one. */
const KINDS = {
  mutex: { child: 'inventory.reserve', expect: ['mutex'] },
  chan: { child: 'queue.wait', expect: ['chan'] },
  cpu: { child: 'price.compute', expect: ['cpu'] }, // and runnable, see cpuRunnableOk
  alloc: { child: 'render', expect: ['gc_assist', 'gc_stw'] }, // and cpu, see allocCpuOk
  io: { child: 'db.query', expect: ['io'] },
  sleep: { child: 'backoff', expect: ['sleep'] },
};
const SLOW_KINDS = Object.keys(KINDS);
const ALL_KINDS = [...SLOW_KINDS, 'fast'];

// The thresholds of the issue.
const MIN_CORRECT = 0.8;       // of the requests with span- or operation-scope evidence
const MIN_EVIDENCE = 5;        // requests with evidence for a kind to be judged
// Every kind must be judged (the issue asked for 4 of the 6): a kind with fewer requests
// with evidence would pass the accuracy test without being checked. All six reach 25 of
// 25 in every run on record (README.md).
const HIGH_CONFIDENCE = 0.7;   // a wrong top cause at or above this fails the test
// alloc's "cpu" and cpu's "runnable": lib/judge.mjs

const log = (...a) => console.log('[e2e]', ...a);

let mw = null;         // meanwhiled (Server)
let svc = null;        // {proc, port, exited, stderr: [stamped lines]}
let run = null;        // what was collected

// ---------------------------------------------------------------- helpers

function buildService() {
  mkdirSync(OUT_DIR, { recursive: true });
  const env = { ...process.env, GOFLAGS: '-mod=readonly', GOPROXY: 'off', GO111MODULE: 'on', GOTOOLCHAIN: 'local' };
  if (!env.GOCACHE && !env.HOME) env.GOCACHE = path.join(OUT_DIR, 'gocache');
  log(`${GO}: ${execFileSync(GO, ['version'], { env }).toString().trim()}`); // the runtime's output depends on it
  const t0 = performance.now();
  execFileSync(GO, ['build', '-o', SERVICE_BIN, '.'], { cwd: path.join(HERE, 'service'), env, stdio: ['ignore', 'inherit', 'inherit'] });
  log(`go build: ${Math.round(performance.now() - t0)} ms -> ${SERVICE_BIN}`);
}

/** Starts the service; resolves when it prints its address. */
function startService(meanwhileUrl, instance) {
  const env = { ...process.env, GODEBUG: 'gctrace=1', MEANWHILE_URL: meanwhileUrl };
  if (!env.GOMAXPROCS) env.GOMAXPROCS = '2';
  const startNs = nowNs(); // the process start, as precisely as we know it: just before the spawn
  const extra = (process.env.MW_E2E_SERVICE_ARGS || '').split(/\s+/).filter(Boolean);
  const proc = spawn(SERVICE_BIN, ['-listen', '127.0.0.1:0', '-service', SERVICE, '-instance', instance, ...extra],
    { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const s = { proc, port: 0, startNs, stderr: [], stdout: '', exit: null, nice: 0 };
  // Unrelated load on the machine would stretch the CPU-bound requests with time spent
  // waiting for a CPU (which explain rightly reports as "runnable"): raise the service's
  // priority when allowed (root or CAP_SYS_NICE); the test does not depend on it.
  try {
    os.setPriority(proc.pid, SERVICE_NICE);
    s.nice = SERVICE_NICE;
  } catch { /* not allowed: run at the default priority */ }
  s.exited = new Promise((resolve) => proc.on('exit', (code, signal) => { s.exit = { code, signal }; resolve(s.exit); }));
  let partial = '';
  proc.stderr.on('data', (d) => {
    const stamp = nowNs();
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop();
    for (const l of lines) s.stderr.push(`${stamp} ${l}`);
  });
  proc.stderr.on('end', () => { if (partial) s.stderr.push(`${nowNs()} ${partial}`); partial = ''; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`service did not start: ${s.stdout}\n${s.stderr.slice(-20).join('\n')}`)), 20000);
    proc.stdout.on('data', (d) => {
      s.stdout += d.toString();
      const m = /listening addr=127\.0\.0\.1:(\d+)/.exec(s.stdout);
      if (m && !s.port) {
        s.port = Number(m[1]);
        clearTimeout(timer);
        log(`${s.stdout.trim()} nice=${s.nice}`);
        resolve(s);
      }
    });
    proc.on('exit', (code) => { clearTimeout(timer); if (!s.port) reject(new Error(`service exited (${code}): ${s.stderr.join('\n')}`)); });
  });
}

async function postRuntime(kind, params, body) {
  const q = new URLSearchParams({ service: SERVICE, ...params });
  for (let attempt = 0; ; attempt++) {
    const r = await request(mw, 'POST', `/api/v1/ingest/${kind}?${q}`,
      { body, headers: { 'content-type': 'application/octet-stream' }, timeoutMs: 60000 });
    if (r.status === 503 && attempt < 20) { await sleep(250); continue; }
    let j = null;
    try { j = JSON.parse(r.body.toString()); } catch { /* reported below */ }
    return { kind, status: r.status, json: j, text: j ? null : r.body.toString().slice(0, 300) };
  }
}


/**
 * A deterministic interleaving: PER_KIND rounds of all kinds, 1000/RATE ms apart. In each
 * round the two CPU-bound kinds (cpu, alloc; which first varies) take positions 0 and 4,
 * at least 150 ms from each other and from the next round's, and the others fill the
 * remaining positions in a random order: with GOMAXPROCS=2, two CPU-bound requests at
 * once would mostly measure each other (and the collector's workers), not what was
 * injected into each.
 */
function plan() {
  let seed = 0x2545f491;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const shuffle = (p) => {
    for (let i = p.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [p[i], p[j]] = [p[j], p[i]];
    }
    return p;
  };
  const out = [];
  for (let r = 0; r < PER_KIND; r++) {
    const [a, b] = shuffle(['cpu', 'alloc']);
    const rest = shuffle(ALL_KINDS.filter((k) => k !== 'cpu' && k !== 'alloc'));
    out.push(a, rest[0], rest[1], rest[2], b, ...rest.slice(3));
  }
  return out;
}

// ---------------------------------------------------------------- the run

async function collect() {
  const instance = `e2e-${process.pid}-${Date.now()}`;
  svc = await startService(mw.base, instance);
  const goroutineIngests = [], cpuIngests = [], cpuBodies = [], goroutineBodies = [];
  let loadDone = false, polling = true;

  // back-to-back CPU profiles, from before the first request to after the last
  let cpuStarted;
  const cpuStartedP = new Promise((r) => { cpuStarted = r; });
  const cpuLoop = (async () => {
    for (let first = true; !loadDone; first = false) {
      const p = request(svc, 'GET', `/debug/pprof/profile?seconds=${CPU_PROFILE_SECONDS}`, { timeoutMs: 60000 });
      if (first) { // the load starts once the profile runs: its writer goroutine exists
        await waitFor('the first CPU profile to start', async () =>
          (await request(svc, 'GET', '/debug/pprof/goroutine?debug=1')).body.includes('runtime/pprof.profileWriter'),
        { timeoutMs: 10000, everyMs: 10 });
        cpuStarted();
      }
      const r = await p;
      assert.equal(r.status, 200, `CPU profile: ${r.status} ${r.body.toString().slice(0, 200)}`);
      cpuBodies.push(r.body);
      const ing = postRuntime('cpu', { instance }, r.body);
      ing.catch(() => {}); // reported where it is awaited
      cpuIngests.push(ing);
    }
  })();
  cpuLoop.catch(() => cpuStarted()); // reported where it is awaited
  await cpuStartedP;

  // goroutine profiles (debug=0: gzip'd pprof with labels) every 50 ms
  let polls = 0;
  const pollLoop = (async () => {
    let next = performance.now();
    while (polling) {
      const t = nowNs();
      const r = await request(svc, 'GET', '/debug/pprof/goroutine', { timeoutMs: 30000 });
      assert.equal(r.status, 200, `goroutine profile: ${r.status}`);
      polls++;
      goroutineBodies.push(r.body);
      const ing = postRuntime('goroutine', { instance, time: String(t) }, r.body);
      ing.catch(() => {}); // reported where it is awaited
      goroutineIngests.push(ing);
      next += GOROUTINE_EVERY_MS;
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait);
      else next = performance.now();
    }
  })();
  pollLoop.catch(() => {}); // reported where it is awaited

  // the load: PER_KIND rounds of all kinds, RATE req/s, at most CONCURRENCY in flight
  const kinds = plan();
  const requests = [];
  let inFlight = 0;
  let freed = null;
  const t0 = performance.now();
  const pending = [];
  for (let i = 0; i < kinds.length; i++) {
    const due = t0 + (i * 1000) / RATE;
    if (due > performance.now()) await sleep(due - performance.now());
    while (inFlight >= CONCURRENCY) await new Promise((r) => { freed = r; });
    inFlight++;
    const kind = kinds[i];
    const started = performance.now();
    pending.push(request(svc, 'GET', `/work?kind=${kind}`, { timeoutMs: 30000 }).then((r) => {
      assert.equal(r.status, 200, `/work?kind=${kind}: ${r.status} ${r.body.toString()}`);
      requests.push({ kind, ...JSON.parse(r.body.toString()), ms: performance.now() - started });
    }).finally(() => { inFlight--; if (freed) { const f = freed; freed = null; f(); } }));
  }
  const loadError = await Promise.all(pending).then(() => null, (e) => e);
  const loadMs = performance.now() - t0;
  loadDone = true;
  await cpuLoop;
  polling = false;
  await pollLoop;
  if (loadError) throw loadError;
  log(`load: ${requests.length} requests in ${Math.round(loadMs)} ms; ${polls} goroutine profiles, ${cpuBodies.length} CPU profiles`);

  const flush = await getJson(svc, '/flush');
  svc.proc.kill('SIGTERM');
  await svc.exited;
  const ingests = [...(await Promise.all(goroutineIngests)), ...(await Promise.all(cpuIngests))];
  const gctrace = Buffer.from(svc.stderr.join('\n') + '\n');
  ingests.push(await postRuntime('gctrace', { instance, process_start: String(svc.startNs) }, gctrace));
  return { instance, requests, flush, ingests, cpuBodies, goroutineBodies, loadMs, polls, startNs: svc.startNs,
    gcLines: svc.stderr.filter((l) => / gc \d+ @/.test(l)) };
}


/** The CPU profiles' windows: as the profile states them (time, duration), and as sampled
 * (time, the requested seconds: Go stops sampling then, but states a duration that also
 * counts its profile writer's last wake-up, up to ~100 ms later). */
function cpuWindows(bodies) {
  return bodies.map((b) => {
    const p = decodeProfile(b);
    const t = Number(p.timeNanos);
    return { start: t, stated_end: t + Number(p.durationNanos), sampled_end: t + CPU_PROFILE_SECONDS * 1e9 };
  });
}

function coverage(windows, endKey, a, b) {
  let sum = 0;
  for (const w of windows) sum += Math.max(0, Math.min(b, w[endKey]) - Math.max(a, w.start));
  return b > a ? sum / (b - a) : 0;
}

/** For the report: each span's goroutine stacks as the profiles show them (a few frames
 * from the leaf, read by this test), in capture order. */
function stacksBySpan(bodies) {
  const out = new Map();
  for (const b of bodies) {
    for (const s of decodeProfile(b).samples) {
      const id = s.labels.span_id;
      if (!id) continue;
      if (!out.has(id)) out.set(id, []);
      out.get(id).push(s.funcs.slice(0, 8).join(' < '));
    }
  }
  return out;
}

async function judge(collected) {
  const cpu = cpuBySpan(collected.cpuBodies.map(decodeProfile));
  const stacks = stacksBySpan(collected.goroutineBodies);
  const windows = cpuWindows(collected.cpuBodies);
  const slow = collected.requests.filter((r) => r.kind !== 'fast');
  const verdicts = await mapLimit(slow, 4, async (r) => {
    const e = await getJson(mw, `/api/v1/traces/${r.trace_id}/explain`);
    const child = e.spans.find((s) => s.span_id === r.child_span_id);
    assert.ok(child, `trace ${r.trace_id}: no child span ${r.child_span_id} in the explanation`);
    assert.equal(child.name, KINDS[r.kind].child);
    const top = child.causes[0] || null;
    const evidence = Boolean(top && top.kind !== 'unknown');
    const c = cpu.get(r.child_span_id) || { ns: 0, allocNs: 0 };
    const allocShare = c.ns ? c.allocNs / c.ns : 0;
    const allocCpuOk = r.kind === 'alloc' && top?.kind === 'cpu' && allocShare >= ALLOC_CPU_SHARE;
    const coverSampled = coverage(windows, 'sampled_end', child.start_ns, child.start_ns + child.duration_ns);
    const cpuRunnableOk = r.kind === 'cpu' && top?.kind === 'runnable' && coverSampled >= CPU_MIN_COVER &&
      c.ns / 1e6 - CPU_SAMPLE_MS <= child.duration_ns / 1e6 / 2;
    const correct = evidence && (KINDS[r.kind].expect.includes(top.kind) || allocCpuOk || cpuRunnableOk);
    const wrongHigh = evidence && !correct && top.confidence >= HIGH_CONFIDENCE;
    // for the report only: the largest part of the child's breakdown (causes of one kind summed)
    const parts = { cpu: child.breakdown.cpu_ns, gc_stw: child.breakdown.gc_stw_ns, gc_assist: child.breakdown.gc_assist_ns,
      runnable: child.breakdown.runnable_ns, unknown: child.breakdown.unknown_ns, ...child.breakdown.blocked_ns };
    const bdTop = Object.entries(parts).sort((x, y) => y[1] - x[1])[0][0];
    return { ...r, top: top?.kind ?? 'none', scope: top?.scope ?? null, confidence: top?.confidence ?? 0,
      summary: top?.summary ?? '', evidence, correct, allocCpuOk, cpuRunnableOk, wrongHigh, breakdown_top: bdTop,
      child_ms: child.duration_ns / 1e6, cpu_label_ms: c.ns / 1e6, alloc_share: allocShare,
      child_start_ns: child.start_ns, stacks: stacks.get(r.child_span_id) || [],
      cpu_cover_stated: coverage(windows, 'stated_end', child.start_ns, child.start_ns + child.duration_ns),
      cpu_cover_sampled: coverSampled,
      causes: child.causes.map((k) => ({ kind: k.kind, share: k.share, confidence: k.confidence, scope: k.scope, summary: k.summary,
        evidence: k.evidence })),
      breakdown: child.breakdown, trace_summary: e.summary };
  });
  const table = SLOW_KINDS.map((kind) => {
    const v = verdicts.filter((x) => x.kind === kind);
    const ev = v.filter((x) => x.evidence);
    const tops = {};
    for (const x of v) tops[x.top] = (tops[x.top] || 0) + 1;
    const durs = v.map((x) => x.child_ms).sort((a, b) => a - b);
    return {
      kind, requests: v.length, evidence: ev.length,
      span_scope: ev.filter((x) => x.scope === 'span').length, op_scope: ev.filter((x) => x.scope === 'operation').length,
      correct: ev.filter((x) => x.correct).length, wrong_high: v.filter((x) => x.wrongHigh).length,
      alloc_cpu_ok: v.filter((x) => x.allocCpuOk).length, cpu_runnable_ok: v.filter((x) => x.cpuRunnableOk).length,
      breakdown_tops: Object.fromEntries(Object.entries(v.reduce((m, x) => ({ ...m, [x.breakdown_top]: (m[x.breakdown_top] || 0) + 1 }), {}))
        .sort((a, b) => b[1] - a[1])),
      child_p50_ms: durs.length ? durs[Math.floor((durs.length - 1) / 2)] : 0, tops,
      // how much of its time the child spent on a CPU, by its own labelled samples (p50)
      on_cpu_p50: median(v.map((x) => (x.child_ms > 0 ? x.cpu_label_ms / x.child_ms : 0))),
    };
  });
  return { verdicts, table };
}

/** The full stacks behind a wrong verdict's goroutine evidence (the evidence shows frames from
 * the first non-runtime one; the snapshot keeps them all). */
const snapshotCache = new Map();
async function evidenceStacks(v) {
  const out = [];
  for (const c of v.causes.slice(0, 3)) {
    for (const e of c.evidence || []) {
      if (e.type !== 'goroutine_sample') continue;
      if (!snapshotCache.has(e.snapshot_id)) snapshotCache.set(e.snapshot_id, await getJson(mw, `/api/v1/snapshots/${e.snapshot_id}`));
      const g = (snapshotCache.get(e.snapshot_id).groups || []).find((x) => x.stack_id === e.stack_id);
      out.push(`      ${c.kind} <- snapshot ${e.snapshot_id} state=${e.state}${e.wait_reason ? ` (${e.wait_reason})` : ''}: ` +
        (g ? g.frames.slice(0, 7).map((f) => f.func).join(' < ') : '?'));
    }
  }
  return out;
}


function printTable(table) {
  const pct = (a, b) => (b ? `${Math.round((100 * a) / b)}%` : '-');
  const rows = [['kind', 'requests', 'with evidence (span/op)', 'correct', 'correct %', 'wrong conf>=0.7', 'child p50 ms', 'on CPU p50', 'top causes',
    'largest in breakdown']];
  for (const t of table) {
    rows.push([t.kind, String(t.requests), `${t.evidence} (${t.span_scope}/${t.op_scope})`,
      String(t.correct) + (t.alloc_cpu_ok ? ` (${t.alloc_cpu_ok} cpu)` : '') + (t.cpu_runnable_ok ? ` (${t.cpu_runnable_ok} runnable)` : ''),
      pct(t.correct, t.evidence), String(t.wrong_high),
      t.child_p50_ms.toFixed(1), `${Math.round(100 * t.on_cpu_p50)}%`, Object.entries(t.tops).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}:${n}`).join(' '),
      Object.entries(t.breakdown_tops).map(([k, n]) => `${k}:${n}`).join(' ')]);
  }
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r) => '| ' + r.map((c, i) => c.padEnd(w[i])).join(' | ') + ' |';
  console.log(['', line(rows[0]), '|' + w.map((n) => '-'.repeat(n + 2)).join('|') + '|', ...rows.slice(1).map(line)].join('\n'));
}

// ---------------------------------------------------------------- tests

before(async () => {
  const loadBefore = os.loadavg();
  log(`load average before: ${loadBefore.map((x) => x.toFixed(2)).join(' ')} on ${os.cpus().length} CPUs`);
  buildService();
  mw = await startServer();
  const collected = await collect();
  const judged = await judge(collected);
  run = { ...collected, ...judged };
  printTable(run.table);
  log(`load average after: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  for (const v of run.verdicts) {
    if (VERBOSE || (v.evidence && !v.correct))
      console.log(`  ${v.correct ? 'ok   ' : v.evidence ? 'WRONG' : 'none '} ${v.kind.padEnd(5)} ${v.trace_id} ${v.child_span_id} ` +
        `${v.child_ms.toFixed(1)} ms top=${v.top}/${v.scope}/${v.confidence} :: ${v.summary}`);
    if (v.evidence && !v.correct) {
      console.log('      causes: ' + v.causes.map((k) => `${k.kind} ${(100 * k.share).toFixed(0)}% (${k.scope}, ${k.confidence})`).join(', ') +
        `; CPU profiles sampled ${(100 * v.cpu_cover_sampled).toFixed(0)}% of the span (their stated windows cover ` +
        `${(100 * v.cpu_cover_stated).toFixed(0)}%); labelled CPU ${v.cpu_label_ms} ms`);
      for (const l of await evidenceStacks(v)) console.log(l);
    }
  }
  const report = { when: new Date().toISOString(), load_average_before: loadBefore, load_average_after: os.loadavg(),
    service_nice: svc.nice, instance: run.instance, load_ms: run.loadMs, polls: run.polls,
    cpu_profiles: run.cpuBodies.length, cpu_windows: cpuWindows(run.cpuBodies), gc_lines: run.gcLines.length, flush: run.flush, table: run.table, verdicts: run.verdicts };
  writeFileSync(path.join(OUT_DIR, 'last-run.json'), JSON.stringify(report, null, 1));
  writeFileSync(path.join(OUT_DIR, 'last-run.service-stderr.log'), svc.stderr.join('\n') + '\n');
  log(`report: ${path.join(OUT_DIR, 'last-run.json')}`);
}, { timeout: 170000 });

after(async () => {
  if (svc && !svc.exit) { svc.proc.kill('SIGKILL'); await svc.exited; }
  if (mw) await mw.cleanup();
});

test('the service ran and every piece of runtime data was accepted', async () => {
  assert.ok(existsSync(SERVICE_BIN));
  assert.equal(run.requests.length, PER_KIND * ALL_KINDS.length);
  assert.equal(run.flush.failed, 0, 'span export failures');
  assert.equal(run.flush.exported, 2 * run.requests.length, 'a root and a child span per request');
  assert.equal(run.ingests.length, run.polls + run.cpuBodies.length + 1, 'an ingest per goroutine and CPU profile, and the gctrace');
  for (const i of run.ingests) {
    assert.equal(i.status, 200, `${i.kind} ingest: ${i.status} ${JSON.stringify(i.json) ?? i.text}`);
    assert.ok(i.json.accepted > 0, `${i.kind} ingest accepted nothing: ${JSON.stringify(i.json)}`);
  }
  assert.ok(run.gcLines.length > 0, 'the service printed no gctrace line');
  // the runtime data joined the spans' source
  const { sources } = await getJson(mw, '/api/v1/sources');
  const mine = sources.filter((s) => s.service === SERVICE);
  assert.equal(mine.length, 1, `one source for the service: ${JSON.stringify(sources)}`);
  assert.equal(mine[0].instance, run.instance);
  const snaps = await getJson(mw, `/api/v1/sources/${mine[0].id}/snapshots?limit=10000`);
  const byKind = {};
  for (const s of snaps.snapshots) byKind[s.kind] = (byKind[s.kind] || 0) + 1;
  assert.equal(byKind.goroutine, run.polls, JSON.stringify(byKind));
  assert.equal(byKind.cpu, run.cpuBodies.length, JSON.stringify(byKind));
  const gc = await getJson(mw, `/api/v1/sources/${mine[0].id}/gc?limit=10000`);
  assert.equal(gc.cycles.length, run.gcLines.length, 'GC cycles stored');
});

test('GC cycles sit where process_start + the runtime\'s @offset puts them, before their lines were received', async () => {
  const { sources } = await getJson(mw, '/api/v1/sources');
  const src = sources.find((s) => s.service === SERVICE);
  const { cycles } = await getJson(mw, `/api/v1/sources/${src.id}/gc?limit=10000`);
  const byN = new Map(cycles.map((c) => [c.n, c]));
  const start = Number(run.startNs);
  assert.ok(run.gcLines.length > 0, 'the service printed no gctrace line: nothing to place');
  assert.equal(cycles.length, run.gcLines.length, 'a stored cycle per gctrace line');
  let maxLagMs = 0;
  for (const line of run.gcLines) {
    // "<receipt ns> gc N @S.SSSs P%: a+b+c ms clock, ..." (the offset is whole milliseconds)
    const m = /^(\d+) gc (\d+) @(\d+)\.(\d{3})s \d+%: ([\d.]+)\+([\d.]+)\+([\d.]+) ms clock/.exec(line);
    assert.ok(m, `gctrace line: ${line}`);
    const c = byN.get(Number(m[2]));
    assert.ok(c, `cycle ${m[2]} stored`);
    const expected = start + (Number(m[3]) * 1000 + Number(m[4])) * 1e6;
    assert.ok(Math.abs(c.start_ns - expected) < 1.5e6, `cycle ${m[2]}: start ${c.start_ns}, process_start + offset ${expected}`);
    const endNs = c.start_ns + (Number(m[5]) + Number(m[6]) + Number(m[7])) * 1e6;
    const lagMs = (Number(m[1]) - endNs) / 1e6;
    assert.ok(lagMs > -1, `cycle ${m[2]} would end ${-lagMs} ms after its line was received`);
    maxLagMs = Math.max(maxLagMs, lagMs);
  }
  log(`${run.gcLines.length} GC cycles aligned; line receipt lags the cycle end by at most ${maxLagMs.toFixed(1)} ms`);
});

test(`every kind has >= ${MIN_EVIDENCE} requests with evidence, and >= ${MIN_CORRECT * 100}% of them name the injected cause`, () => {
  assert.deepEqual(run.table.map((t) => t.kind), SLOW_KINDS, 'a row per slow kind');
  const unjudged = run.table.filter((t) => t.evidence < MIN_EVIDENCE);
  assert.deepEqual(unjudged.map((t) => `${t.kind}: ${t.evidence} of ${t.requests} with evidence (${JSON.stringify(t.tops)})`), [],
    'kinds left unjudged');
  const failures = run.table.filter((t) => t.correct / t.evidence < MIN_CORRECT);
  assert.deepEqual(failures.map((t) => `${t.kind}: ${t.correct}/${t.evidence} (${JSON.stringify(t.tops)})`), []);
});

test(`no request's child span has a wrong top cause with confidence >= ${HIGH_CONFIDENCE}`, () => {
  assert.equal(run.verdicts.length, PER_KIND * SLOW_KINDS.length, 'a verdict per slow request');
  assert.ok(run.verdicts.some((v) => v.evidence), 'no verdict with evidence: no top cause to judge');
  const bad = run.verdicts.filter((v) => v.wrongHigh)
    .map((v) => `${v.kind} ${v.trace_id}/${v.child_span_id}: ${v.top} (${v.scope}, ${v.confidence}) ${v.summary}`);
  assert.deepEqual(bad, []);
});

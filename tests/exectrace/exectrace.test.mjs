// End to end: execution traces from client/go's flight recorder, read back through
// meanwhiled's read API and checked against what the service itself knows (README.md).
//
// Builds tests/exectrace/service (the real OpenTelemetry SDK, otelhttp, otlptracehttp,
// client/go with StartFlightRecorder at its defaults but the endpoint) with the machine's
// go, or with GOTOOLCHAIN=MW_EXECTRACE_GOTOOLCHAIN and the module's go directive raised to
// that release; starts a fresh meanwhiled; points the recorder at a proxy in this process
// that forwards each push to meanwhiled and keeps the sha256 of its body; drives fast
// requests of every kind (so that each span name has a p99) with, every ROUND_MS, one
// group of slow ones: a 40 ms channel wait, a 30 ms mutex hold with a waiter behind it, a
// 30 ms sleep, 30 ms of CPU, a 30 ms read from a slow upstream; then 40 ms of computing
// among more busy goroutines than Ps. Then, through the read API: the slow requests'
// traces are stored, one window per group; each slow span's goroutine history shows what
// the service did, the wakes name the goroutine and the span that caused them, the
// intervals tied to a span lie inside it, and the raw trace is the bytes that were
// pushed. Last, the accuracy of exact explanations (judge.mjs): what
// GET /api/v1/traces/{id}/explain says of each slow child span against what the service
// measured, as a table (docs/CORRELATION.md, "Exact explanations: accuracy").
//
// Environment (set by ctest): MEANWHILED, GO, MW_BUILD_DIR; MW_EXECTRACE_READER
// (meanwhile-exectrace, passed as --exectrace-reader; else meanwhiled looks next to
// itself and on PATH). Knobs: MW_EXECTRACE_GOTOOLCHAIN (local | go1.27.3; default local),
// MW_EXECTRACE_SECONDS (the load, 30), MW_EXECTRACE_RUN (the report's name),
// MW_EXECTRACE_VERBOSE=1 (a line per checked span), MW_E2E_NICE (the service's nice value
// when allowed, -10; 0 leaves it alone).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, request } from '../integration/lib/server.mjs';
import { waitFor, sleep } from '../integration/lib/wait.mjs';
import { buildGoService } from '../e2e/lib/gobuild.mjs';
import { getJson } from '../e2e/lib/api.mjs';
import { verdict, tabulate, misses, markdown, expectedCause } from './judge.mjs';
import { nowNsNumber as nowNs } from '../integration/lib/clock.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const GO = process.env.GO || 'go';
const READER = process.env.MW_EXECTRACE_READER || '';
const BUILD_DIR = path.resolve(process.env.MW_BUILD_DIR || path.join(HERE, '..', '..', 'build'));
const TOOLCHAIN = process.env.MW_EXECTRACE_GOTOOLCHAIN || 'local';
const SECONDS = Number(process.env.MW_EXECTRACE_SECONDS || 30);
const RUN = process.env.MW_EXECTRACE_RUN || (TOOLCHAIN === 'local' ? 'go-local' : TOOLCHAIN);
const VERBOSE = Boolean(process.env.MW_EXECTRACE_VERBOSE);
const SERVICE_NICE = Number(process.env.MW_E2E_NICE ?? -10);
const OUT_DIR = path.join(BUILD_DIR, 'exectrace');
const SERVICE_BIN = path.join(OUT_DIR, `service-${RUN}`);
const SERVICE = 'exectrace-e2e';

// The load. client/go's recorder judges a span slow when it is over its name's running
// p99 (the 3rd longest of the last 256; none before the 128th span) and over 20 ms: so
// every name first gets WARMUP fast spans, and then at most one slow span per ROUND_MS
// while FAST_RPS fast requests (FAST_RPS/5 per name) keep its p99 low.
const KINDS = { chan: 'queue.wait', holder: 'ledger.write', mutex: 'ledger.read', sleep: 'backoff', cpu: 'price.compute',
  io: 'db.query', runnable: 'report.build' };
// ms (cpu and runnable 0: one round, ~10 µs; io 0: the upstream answers at once)
const FAST = { chan: 0, holder: 0, mutex: 0, sleep: 1, cpu: 0, io: 0, runnable: 0 };
const WARMUP = 150;
const FAST_RPS = 250;
const ROUND_MS = 6500; // the recorder writes windows at least MinAge/2 (5 s) apart
const CHAN_MS = 40, HOLD_MS = 30, SLEEP_MS = 30, CPU_MS = 30, IO_MS = 30, RUNNABLE_MS = 40;
// client/go's recorder at its defaults: a write 1 s after a slow span, windows at least
// half of MinAge (10 s) apart
const RECORDER_DELAY_MS = 1000, RECORDER_SPACING_MS = 5000;
const WAITER_AFTER_MS = 8; // the mutex waiter asks this long after the holder
// Tolerances: the issue's 1 ms for the chan wait; a wake ends the blocked interval it wakes.
const CHAN_TOL_MS = 1;
const WAKE_TOL_NS = 100_000;
const CLOCK_TOL_NS = 1_000_000; // + the trace's clock_error_ns

const log = (...a) => console.log('[exectrace]', ...a);
// unix ns as a Number (to ~0.25 µs, as JSON.parse reads the service's and meanwhiled's)

let mw = null;      // meanwhiled
let proxy = null;   // {server, port, pushes: [{sha256, bytes, query, status, answer, at_ns}]}
let svc = null;     // the service: {proc, port, out, err, exit, exited}
let run = null;     // what was collected

// ---------------------------------------------------------------- the service

function buildService() {
  return buildGoService({ go: GO, toolchain: TOOLCHAIN, moduleDir: path.join(HERE, 'service'), bin: SERVICE_BIN,
    outDir: OUT_DIR, log });
}

async function startService(endpoint) {
  const env = { ...process.env, OTEL_SERVICE_NAME: SERVICE, OTEL_EXPORTER_OTLP_ENDPOINT: mw.base };
  for (const k of ['OTEL_RESOURCE_ATTRIBUTES', 'GODEBUG', 'GOMAXPROCS', 'GOGC']) delete env[k];
  const proc = spawn(SERVICE_BIN, ['-listen', '127.0.0.1:0', '-meanwhile', endpoint], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const s = { proc, out: [], err: [], exit: null,
    get stdout() { return Buffer.concat(this.out).toString(); },
    get stderr() { return Buffer.concat(this.err).toString(); } };
  proc.stdout.on('data', (d) => s.out.push(d));
  proc.stderr.on('data', (d) => s.err.push(d));
  s.exited = new Promise((resolve) => proc.on('exit', (code, signal) => { s.exit = { code, signal }; resolve(s.exit); }));
  const line = await waitFor('the service to listen', () => {
    if (s.exit) throw new Error(`the service exited ${JSON.stringify(s.exit)}: ${s.stderr.slice(-2000)}`);
    return /^listening addr=.*$/m.exec(s.stdout)?.[0];
  }, { timeoutMs: 30000, everyMs: 50 });
  log(line);
  s.port = Number(/addr=127\.0\.0\.1:(\d+)/.exec(line)[1]);
  // Other load on the machine would delay the producer's send past its 40 ms (as in
  // tests/e2e-sdk): raise the service's priority when allowed.
  s.nice = 0;
  try {
    os.setPriority(Number(/ pid=(\d+)/.exec(line)[1]), SERVICE_NICE);
    s.nice = SERVICE_NICE;
  } catch { /* not allowed: the default priority */ }
  svc = s;
  return s;
}

async function stopService() {
  svc.proc.kill('SIGTERM'); // the service stops the recorder, flushes its spans and exits 0
  let timer;
  const r = await Promise.race([svc.exited, new Promise((res) => { timer = setTimeout(() => res(null), 30000); })]);
  clearTimeout(timer);
  if (!r) {
    svc.proc.kill('SIGKILL');
    await svc.exited;
    assert.fail(`the service did not exit within 30 s of SIGTERM: ${svc.stderr.slice(-2000)}`);
  }
  return r;
}

// ---------------------------------------------------------------- the proxy

/** Forwards the recorder's pushes to meanwhiled, keeping each body's sha256 and the
 * answer: the test's record of what was pushed, byte for byte. */
function startProxy() {
  const pushes = [];
  const server = http.createServer((req, res) => {
    const parts = [];
    req.on('data', (d) => parts.push(d));
    req.on('end', async () => {
      const body = Buffer.concat(parts);
      const push = { at_ns: nowNs(), url: req.url, bytes: body.length, encoding: req.headers['content-encoding'] || '',
        sha256: createHash('sha256').update(body).digest('hex'), file: path.join(OUT_DIR, `${RUN}-push-${pushes.length + 1}.trace`) };
      writeFileSync(push.file, body); // kept for `go tool trace` when a check fails
      try {
        const headers = {};
        for (const h of ['content-type', 'content-encoding', 'authorization']) if (req.headers[h]) headers[h] = req.headers[h];
        const r = await request(mw, req.method, req.url, { body, headers, timeoutMs: 120000 });
        push.status = r.status;
        push.answer = r.body.toString();
        const out = { 'content-type': r.headers['content-type'] || 'application/json' };
        if (r.headers['retry-after']) out['retry-after'] = r.headers['retry-after'];
        res.writeHead(r.status, out);
        res.end(r.body);
      } catch (e) {
        push.status = 0;
        push.answer = String(e);
        res.writeHead(502);
        res.end();
      }
      pushes.push(push);
    });
  });
  // the recorder's client keeps its connection: node's default of closing it after 5 s
  // idle races with a push reusing it (a failed send, and a retry, for nothing)
  server.keepAliveTimeout = 0;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: server.address().port, pushes })));
}

// ---------------------------------------------------------------- the load

async function work(kind, ms) {
  const started = nowNs();
  const r = await request(svc, 'GET', `/work?kind=${kind}&ms=${ms}`, { timeoutMs: 30000 });
  assert.equal(r.status, 200, `/work?kind=${kind}&ms=${ms}: ${r.status} ${r.body.toString()}`);
  return { ...JSON.parse(r.body.toString()), kind, ms, asked_ns: started };
}

/** Fast requests of every kind at FAST_RPS until stop(), but none of a kind in `quiet`
 * (a slow request of that kind is running: the chan producer and the ledger lock are
 * shared, so a fast request would queue behind it and be slow too). */
function fastLoad(quiet, onError) {
  let stopped = false, n = 0, inFlight = 0;
  const kinds = Object.keys(KINDS);
  const counts = Object.fromEntries(kinds.map((k) => [k, 0]));
  const busy = Object.fromEntries(kinds.map((k) => [k, 0])); // in flight, per kind
  const done = (async () => {
    const t0 = performance.now();
    for (let i = 0; !stopped; i++) {
      const wait = t0 + (i * 1000) / FAST_RPS - performance.now();
      if (wait > 0) await sleep(wait);
      if (inFlight >= 32) continue; // the service is behind: skip, do not pile up
      const kind = kinds[i % kinds.length];
      if (quiet.has(kind) || (kind === 'holder' && quiet.has('mutex')) || (kind === 'mutex' && quiet.has('holder'))) continue;
      inFlight++;
      busy[kind]++;
      counts[kind]++;
      n++;
      work(kind, FAST[kind]).catch(onError).finally(() => { inFlight--; busy[kind]--; });
    }
    await waitFor('the fast requests to end', () => inFlight === 0, { timeoutMs: 30000, everyMs: 20 });
  })();
  return { stop: () => { stopped = true; return done; }, counts, busy, get n() { return n; } };
}

/** One group of slow requests, all ending within ~150 ms: one window must hold them.
 * No fast request of the chan and ledger kinds runs meanwhile. Then, alone (no fast
 * request at all: each would wait for a P too, and the others of the group would), the
 * runnable one: it keeps every P busy for its 40 ms. */
async function slowGroup(quiet, fast) {
  const shared = ['chan', 'holder', 'mutex'];
  for (const k of shared) quiet.add(k);
  await waitFor('the fast requests of the chan and ledger kinds to end', () => shared.every((k) => fast.busy[k] === 0),
    { timeoutMs: 30000, everyMs: 5 });
  const chan = work('chan', CHAN_MS);
  const holder = work('holder', HOLD_MS);
  await sleep(WAITER_AFTER_MS);
  const mutex = work('mutex', 1); // 1: once the holder holds the lock
  const sleepR = work('sleep', SLEEP_MS);
  const cpu = work('cpu', CPU_MS);
  const io = work('io', IO_MS);
  const got = await Promise.all([chan, holder, mutex, sleepR, cpu, io]);
  const all = Object.keys(KINDS);
  for (const k of all) quiet.add(k);
  await waitFor('the fast requests to end', () => all.every((k) => fast.busy[k] === 0), { timeoutMs: 30000, everyMs: 5 });
  got.push(await work('runnable', RUNNABLE_MS));
  quiet.clear();
  return got;
}

async function recorderStats() {
  const r = await request(svc, 'GET', '/recorder');
  assert.equal(r.status, 200);
  return JSON.parse(r.body.toString());
}


async function collect() {
  const built = buildService();
  proxy = await startProxy();
  await startService(`http://127.0.0.1:${proxy.port}`);
  const quiet = new Set();
  let loadError = null;
  const fast = fastLoad(quiet, (e) => { loadError = loadError || e; });
  const t0 = performance.now();
  const loadStartNs = nowNs();
  await waitFor(`${WARMUP} fast spans of every name`, () => Object.values(fast.counts).every((c) => c >= WARMUP),
    { timeoutMs: 60000, everyMs: 50 });
  const warmupMs = performance.now() - t0;
  const groups = [];
  const rounds = Math.max(2, Math.round((SECONDS * 1000 - warmupMs) / ROUND_MS));
  for (let r = 0; r < rounds; r++) {
    groups.push(await slowGroup(quiet, fast));
    await sleep(Math.max(0, t0 + warmupMs + (r + 1) * ROUND_MS - performance.now()));
  }
  await fast.stop();
  if (loadError) throw loadError;
  const loadMs = performance.now() - t0;
  log(`load: ${fast.n} fast requests (${JSON.stringify(fast.counts)}) and ${rounds} slow groups in ${Math.round(loadMs)} ms ` +
    `(warm-up ${Math.round(warmupMs)} ms)`);
  const flush = JSON.parse((await request(svc, 'GET', '/flush', { timeoutMs: 30000 })).body.toString());

  // The recorder writes a window a second after a slow span and sends it; every slow
  // span is then in a window that was sent (or counted as not sent).
  const stats = await waitFor('the recorder to have sent what it wrote', async () => {
    const s = await recorderStats();
    const settled = s.Windows > 0 && s.Sent + s.Dropped === s.Windows && proxy.pushes.length >= s.Sent &&
      s.SlowSpans <= s.Covered + s.Windows + s.OverBudget;
    return settled && s;
  }, { timeoutMs: 60000, everyMs: 250 });
  await sleep(1500); // a slow span that ended just now would start a write after the recorder's 1 s delay
  const final = await recorderStats();
  log(`recorder: ${JSON.stringify(final)}`);
  const exit = await stopService();
  return { built, groups, flush, stats: final, statsSettled: stats, exit, loadMs, warmupMs, rounds, loadStartNs, fast: fast.n };
}

// ---------------------------------------------------------------- checks

/** The span's goroutine history; the goroutine that ran it (the service's own id). */
const histories = {}; // span id -> the answer, for the report
async function history(req, spanId = req.child_span_id) {
  const h = histories[spanId] || await getJson(mw, `/api/v1/exectrace/spans/${req.trace_id}/${spanId}`);
  histories[spanId] = h;
  // one entry per stored trace that saw the goroutine: the one that covers most of the
  // span (windows overlap; a window that ends 20 ms into a 40 ms span was taken first once)
  const cover = (x) => x.intervals.reduce((a, iv) => a + Math.max(0, Math.min(iv.end_ns, req.end_ns) - Math.max(iv.start_ns, req.start_ns)), 0);
  const g = h.goroutines.filter((x) => x.role === 'span' && x.goroutine === req.goroutine).sort((a, b) => cover(b) - cover(a))[0];
  assert.ok(g, `span ${req.trace_id}/${spanId} (${req.kind}): no goroutine ${req.goroutine} with role span in ` +
    `${JSON.stringify(h.goroutines.map((x) => [x.goroutine, x.role]))}`);
  return { h, g };
}

const dur = (iv) => (iv.end_ns - iv.start_ns) / 1e6;
// the states of a computing goroutine; syscall: cpu and runnable read their thread's clocks
// (service/main.go, threadSched)
const ON_CPU = ['running', 'runnable', 'stopped', 'gc_assist', 'syscall'];
/** The blocked interval of g with this reason that overlaps [a, b] (unix ns) the most. */
function blockedIn(g, reason, a, b) {
  const ov = (iv) => Math.min(iv.end_ns, b) - Math.max(iv.start_ns, a);
  const c = g.intervals.filter((iv) => iv.state === 'blocked' && iv.reason === reason && ov(iv) > 0).sort((x, y) => ov(y) - ov(x));
  return c[0] || null;
}
/** The wake that ended interval iv. */
const wakeOf = (g, iv) => g.wakes.find((w) => Math.abs(w.time_ns - iv.end_ns) <= WAKE_TOL_NS) || null;
const brief = (g) => {
  const s = g.intervals.map((iv) => `${iv.state}/${iv.reason || ''} ${dur(iv).toFixed(3)}ms ${iv.span_id || '-'}`);
  // (report.build yields every tenth round: hundreds of intervals)
  return JSON.stringify(s.length > 40 ? [...s.slice(0, 20), `... ${s.length - 40} more ...`, ...s.slice(-20)] : s);
};

before(async () => {
  log(`run ${RUN}: GOTOOLCHAIN=${TOOLCHAIN}, load ${SECONDS} s, reader ${READER || '(next to meanwhiled or on PATH)'}; ` +
    `load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} on ${os.cpus().length} CPUs`);
  mw = await startServer({ args: READER ? ['--exectrace-reader', READER] : [] });
  run = await collect();
  run.slow = run.groups.flat();
  const list = await getJson(mw, '/api/v1/exectraces?limit=1000');
  run.exectraces = list.exectraces;
  log(`${proxy.pushes.length} pushes: ${JSON.stringify(proxy.pushes.map((p) => ({ status: p.status, bytes: p.bytes })))}`);
  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(path.join(OUT_DIR, `${RUN}.json`), JSON.stringify({ run: RUN, toolchain: TOOLCHAIN, go: run.built,
    when: new Date().toISOString(), load_average: os.loadavg(), service_nice: svc.nice, load_ms: run.loadMs, rounds: run.rounds, fast: run.fast, recorder: run.stats,
    pushes: proxy.pushes, exectraces: run.exectraces, slow: run.slow }, null, 1));
}, { timeout: 400000 });

after(async () => {
  if (run) writeFileSync(path.join(OUT_DIR, `${RUN}-histories.json`), JSON.stringify(histories, null, 1));
  if (svc && !svc.exit) { svc.proc.kill('SIGKILL'); await svc.exited; }
  if (proxy) proxy.server.close();
  if (mw) await mw.cleanup();
});

test('the service was built with the Go asked for, ran, and exported every span', () => {
  if (TOOLCHAIN === 'local') assert.match(run.built.goVersion, /^go version go1\.\d+/);
  else assert.equal(run.built.built, TOOLCHAIN, `the binary's Go: ${run.built.built}`);
  assert.deepEqual(run.exit, { code: 0, signal: null }, svc.stderr.slice(-2000));
  assert.equal(run.flush.failed, 0, 'span export failures');
  // a root and a child per request, and a producer span per chan request
  assert.ok(run.flush.exported >= 2 * (run.fast + run.slow.length), JSON.stringify(run.flush));
});

test('the recorder pushed the slow requests\' windows, each accepted and stored once', () => {
  const s = run.stats;
  assert.ok(s.SlowSpans >= run.rounds, `the recorder judged ${s.SlowSpans} spans slow; ${run.rounds} groups of slow requests ran`);
  assert.equal(s.OverBudget, 0, `windows over the byte budget: ${JSON.stringify(s)}`);
  assert.equal(s.Dropped, 0, `windows dropped: ${JSON.stringify(s)}`);
  assert.equal(s.WriteErrors, 0);
  assert.ok(proxy.pushes.length >= s.Sent && proxy.pushes.length <= s.Sent + s.Retries, `${proxy.pushes.length} pushes seen by the proxy: ${JSON.stringify(s)}`);
  const ok = proxy.pushes.filter((p) => p.status === 200);
  assert.equal(ok.length, s.Sent, `pushes answered 200: ${JSON.stringify(proxy.pushes.map((p) => [p.status, p.answer.slice(0, 200)]))}`);
  for (const p of ok) {
    const q = new URL(p.url, 'http://x').searchParams;
    assert.equal(q.get('service'), SERVICE);
    assert.equal(q.get('trigger'), 'slow_span');
    p.json = JSON.parse(p.answer);
    assert.equal(p.json.raw_bytes, p.bytes, `raw_bytes of push ${p.json.id}`);
    assert.equal(p.json.alignment, 'clock_snapshot', `Go >= 1.25 traces align by their clock snapshots: ${p.answer}`);
  }
  assert.deepEqual(run.exectraces.map((e) => e.id).sort((a, b) => a - b), ok.map((p) => p.json.id).sort((a, b) => a - b),
    'GET /api/v1/exectraces lists each accepted push once');
  for (const e of run.exectraces) {
    assert.equal(e.service, SERVICE);
    assert.equal(e.trigger, 'slow_span');
  }
});

test('every slow span is in a stored trace, a group\'s in one window, windows at most one per half window', () => {
  const traces = run.exectraces;
  const inTrace = (a, b) => traces.some((e) => e.start_ns <= a && b <= e.end_ns);
  const missing = run.slow.filter((r) => !inTrace(r.start_ns, r.end_ns)).map((r) => `${r.kind} ${r.trace_id}/${r.child_span_id}`);
  assert.deepEqual(missing, [], `slow spans in no stored trace (traces: ${JSON.stringify(traces.map((e) => [e.start_ns, e.end_ns]))})`);
  // The slow spans of a group end within tens of ms. The recorder writes a window a
  // second after a slow span (RECORDER_DELAY_MS), or, when it wrote one less than half a
  // window (RECORDER_SPACING_MS) before, once that much has passed: the first window
  // that ends after the group holds all of it, and comes within that time.
  for (const [i, g] of run.groups.entries()) {
    const first = Math.min(...g.map((r) => r.start_ns)), last = Math.max(...g.map((r) => r.end_ns));
    const w = traces.filter((e) => e.end_ns >= last).sort((a, b) => a.end_ns - b.end_ns)[0];
    assert.ok(w, `group ${i}: no window ends after it`);
    assert.ok(w.start_ns <= first, `group ${i}: the first window after it (${w.id}) does not hold all of it`);
    // (+ 3 s: the write makes the runtime close a generation, slow on a busy machine)
    assert.ok(w.end_ns - last <= (RECORDER_SPACING_MS + RECORDER_DELAY_MS + 3000) * 1e6,
      `group ${i}: the first window after it ends ${(w.end_ns - last) / 1e6} ms after it`);
  }
  // Windows are written at least half a window apart. A window ends when its write has
  // made the runtime close a generation, which takes a while on a busy machine (ends were
  // measured 3.3 s apart at load 11): no two end within half of that spacing.
  const ends = traces.map((e) => e.end_ns).sort((a, b) => a - b);
  const close = ends.slice(1).map((t, i) => (t - ends[i]) / 1e6).filter((gap) => gap < RECORDER_SPACING_MS / 2);
  assert.deepEqual(close, [], `windows ending closer than ${RECORDER_SPACING_MS / 2} ms: ${JSON.stringify(ends)}`);
  assert.ok(run.stats.Covered > 0, `no slow span was covered by another's window: ${JSON.stringify(run.stats)}`);
});

test('a 40 ms channel wait: blocked/chan as long as the wait ± 1 ms, woken by the producer goroutine in its own span', async () => {
  const chans = run.slow.filter((r) => r.kind === 'chan');
  assert.ok(chans.length >= 2, `${chans.length} slow chan requests`);
  let exact = 0;
  for (const r of chans) {
    const { h, g } = await history(r);
    const iv = blockedIn(g, 'chan', r.block_ns, r.sent_ns);
    assert.ok(iv, `${r.trace_id}/${r.child_span_id}: no blocked/chan interval over the receive: ${brief(g)}`);
    const known = (r.sent_ns - r.block_ns) / 1e6; // what the service saw: the receive began, the send came
    assert.ok(known >= CHAN_MS - CHAN_TOL_MS, `the producer sent ${known.toFixed(3)} ms after the receive began, before its ${CHAN_MS} ms`);
    if (VERBOSE) log(`chan ${r.child_span_id}: interval ${dur(iv).toFixed(3)} ms, the service saw ${known.toFixed(3)} ms`);
    assert.ok(Math.abs(dur(iv) - known) <= CHAN_TOL_MS, `blocked/chan ${dur(iv).toFixed(3)} ms; the service saw ${known.toFixed(3)} ms from its receive to the send`);
    if (Math.abs(known - CHAN_MS) <= CHAN_TOL_MS) {
      exact++;
      assert.ok(Math.abs(dur(iv) - CHAN_MS) <= CHAN_TOL_MS, `blocked/chan ${dur(iv).toFixed(3)} ms, not ${CHAN_MS} ± ${CHAN_TOL_MS}`);
    }
    assert.equal(iv.span_id, r.child_span_id, 'the interval is tied to queue.wait');
    const w = wakeOf(g, iv);
    assert.ok(w, `no wake edge ends the chan interval (${iv.end_ns}): ${JSON.stringify(g.wakes)}`);
    assert.equal(w.waker, r.producer_goroutine, `the waker is the producer goroutine: ${JSON.stringify(w)}`);
    assert.equal(w.waker_span_id, r.producer_span_id, `the waker's span is queue.produce: ${JSON.stringify(w)}`);
    assert.equal(w.waker_trace_id, r.producer_trace_id, 'queue.produce is the root of a trace of its own');
    assert.notEqual(r.producer_trace_id, r.trace_id);
    const waker = h.goroutines.find((x) => x.role === 'waker' && x.goroutine === r.producer_goroutine);
    assert.ok(waker && waker.intervals.length > 0, `the producer's goroutine and its intervals are in the answer: ${JSON.stringify(h.goroutines.map((x) => [x.goroutine, x.role]))}`);
  }
  // The producer sends 40 ms after the ask, never before; a busy machine wakes it late
  // (its timer was seen firing 3-27 ms late at load 10, the service at nice -10). What the
  // service saw is the truth the trace is held to (above), whatever the machine did: a
  // wall-clock bound on the service itself would test the machine, not the trace.
  log(`chan waits as the service saw them: ${chans.map((r) => ((r.sent_ns - r.block_ns) / 1e6).toFixed(3)).join(', ')} ms, ` +
    `${exact} of them ${CHAN_MS} ± ${CHAN_TOL_MS} ms (load average ${os.loadavg()[0].toFixed(1)})`);
});

test('a contended mutex: blocked/mutex woken by the holder request\'s goroutine in its span', async () => {
  const holders = new Map(run.slow.filter((r) => r.kind === 'holder').map((r) => [r.child_span_id, r]));
  const waiters = run.slow.filter((r) => r.kind === 'mutex');
  assert.ok(waiters.length >= 2);
  let checked = 0;
  for (const r of waiters) {
    assert.ok(holders.has(r.holder_span_id), `the waiter was let in by ${r.holder_span_id}, not by its group's holder request`);
    assert.ok(r.waited_ms >= 5, `the waiter waited ${r.waited_ms} ms for the lock: the holder held it ${HOLD_MS} ms`);
    const holder = holders.get(r.holder_span_id);
    assert.equal(r.holder_goroutine, holder.goroutine);
    const { g } = await history(r);
    const iv = blockedIn(g, 'mutex', r.call_ns, r.locked_ns);
    assert.ok(iv, `${r.trace_id}/${r.child_span_id}: no blocked/mutex interval in its Lock (${r.waited_ms} ms): ${brief(g)}`);
    assert.ok(iv.end_ns >= r.holder_unlock_ns - CLOCK_TOL_NS && iv.end_ns <= r.locked_ns + CLOCK_TOL_NS,
      `the mutex wait ends at the holder's Unlock: ${iv.end_ns} vs unlock ${r.holder_unlock_ns}, locked ${r.locked_ns}`);
    const w = wakeOf(g, iv);
    assert.ok(w, `no wake edge ends the mutex interval: ${JSON.stringify(g.wakes)}`);
    assert.equal(w.waker, holder.goroutine, `the waker is the holder's goroutine: ${JSON.stringify(w)}`);
    assert.equal(w.waker_span_id, holder.child_span_id, `the waker's span is the holder's ledger.write: ${JSON.stringify(w)}`);
    assert.equal(w.waker_trace_id, holder.trace_id);
    assert.equal(r.holder_trace_id, holder.trace_id, 'the service\'s account of the holder');
    checked++;
  }
  assert.equal(checked, waiters.length);
});

test('a sleep is blocked/sleep, and CPU work runs', async () => {
  const sleeps = run.slow.filter((r) => r.kind === 'sleep'), cpus = run.slow.filter((r) => r.kind === 'cpu');
  assert.ok(sleeps.length >= 2 && cpus.length >= 2);
  for (const r of sleeps) {
    const { g } = await history(r);
    const iv = blockedIn(g, 'sleep', r.sleep_start_ns, r.sleep_end_ns);
    assert.ok(iv, `no blocked/sleep interval: ${brief(g)}`);
    const known = (r.sleep_end_ns - r.sleep_start_ns) / 1e6;
    assert.ok(dur(iv) <= known + 1 && dur(iv) >= SLEEP_MS - 1, `blocked/sleep ${dur(iv).toFixed(3)} ms; slept ${known.toFixed(3)} ms`);
  }
  for (const r of cpus) {
    const { g } = await history(r);
    const within = (iv) => Math.max(0, Math.min(iv.end_ns, r.end_ns) - Math.max(iv.start_ns, r.start_ns));
    // (syscall: the service reads its thread's clocks around the work, a read of /proc
    // that slept 3.6 ms in the kernel at load 22)
    const on = g.intervals.filter((iv) => ON_CPU.includes(iv.state)).reduce((a, iv) => a + within(iv), 0);
    const blocked = g.intervals.filter((iv) => iv.state === 'blocked').reduce((a, iv) => a + within(iv), 0);
    assert.ok(on >= 0.9 * (r.end_ns - r.start_ns), `price.compute: running, runnable or in a syscall ${(on / 1e6).toFixed(2)} of ${((r.end_ns - r.start_ns) / 1e6).toFixed(2)} ms: ${brief(g)}`);
    assert.ok(blocked <= 1e6, `price.compute blocked ${(blocked / 1e6).toFixed(2)} ms`);
  }
});

test('a read from a slow upstream is blocked/io from the read to the upstream\'s answer', async () => {
  const ios = run.slow.filter((r) => r.kind === 'io');
  assert.ok(ios.length >= 2, `${ios.length} slow io requests`);
  for (const r of ios) {
    const { g } = await history(r);
    const iv = blockedIn(g, 'io', r.read_start_ns, r.read_end_ns);
    assert.ok(iv, `${r.trace_id}/${r.child_span_id}: no blocked/io interval over the read: ${brief(g)}`);
    const known = (r.upstream_sent_ns - r.read_start_ns) / 1e6; // the read began; the upstream wrote
    assert.ok(known >= IO_MS - CHAN_TOL_MS, `the upstream answered ${known.toFixed(3)} ms after the read began`);
    // The wait begins with the read; it ends when the network poller finds the answer,
    // after the upstream wrote it and before the read returned (then the goroutine may
    // wait for a P: runnable, which a loaded machine makes long).
    assert.ok(Math.abs(iv.start_ns - r.read_start_ns) <= CLOCK_TOL_NS, `blocked/io begins ${(iv.start_ns - r.read_start_ns) / 1e6} ms after the read`);
    assert.ok(iv.end_ns >= r.upstream_sent_ns - CLOCK_TOL_NS && iv.end_ns <= r.read_end_ns + CLOCK_TOL_NS,
      `blocked/io ends ${(iv.end_ns - r.upstream_sent_ns) / 1e6} ms after the upstream wrote, ${(r.read_end_ns - iv.end_ns) / 1e6} ms before the read returned`);
    assert.equal(iv.span_id, r.child_span_id, 'the interval is tied to db.query');
  }
});

// The service measures the time its computing goroutine waited for a P (service/main.go,
// computeMeasured: a locked thread's CPU time and kernel run-queue wait out of the wall
// time); the trace calls that runnable.
const within = (r, iv) => Math.max(0, Math.min(iv.end_ns, r.end_ns) - Math.max(iv.start_ns, r.start_ns));
const stateNs = (r, g, states) => g.intervals.filter((iv) => states.includes(iv.state)).reduce((a, iv) => a + within(r, iv), 0);
const ms = (ns) => (ns / 1e6).toFixed(1);
test('computing among more busy goroutines than Ps: runnable as long as the service measured', async () => {
  const rs = run.slow.filter((r) => r.kind === 'runnable');
  assert.ok(rs.length >= 2, `${rs.length} slow runnable requests`);
  const seen = [];
  for (const r of [...rs, ...run.slow.filter((x) => x.kind === 'cpu')]) {
    const { g } = await history(r);
    const span = r.end_ns - r.start_ns;
    if (r.kind === 'runnable') assert.ok(r.busy_goroutines > r.gomaxprocs, `${r.busy_goroutines} busy goroutines on ${r.gomaxprocs} Ps`);
    const runnable = stateNs(r, g, ['runnable']), on = stateNs(r, g, ON_CPU);
    const idle = stateNs(r, g, ['runnable', 'stopped', 'blocked']); // its thread slept
    assert.ok(on >= 0.9 * span, `${r.child}: running, runnable or in a syscall ${ms(on)} of ${ms(span)} ms: ${brief(g)}`);
    seen.push(`${r.kind} ${ms(runnable)}/${ms(r.go_runnable_ns)}/${ms(r.kernel_wait_ns)}/${ms(span)}`);
    // the truth the judge expects (judge.mjs, runnableShare) is the trace's too: while its
    // thread slept the goroutine waited for a P, or the collector stopped or scanned it
    // (at load 5: stopped 3.3 ms, blocked/preempted 1.5 ms); runnable at most that, its
    // thread's wait for a CPU and the span outside the measured work (± 1 ms, and 10 µs a
    // yield: the runtime's own work on the locked thread at a yield is the thread's CPU time)
    const tol = 1e6 + 10e3 * r.yields, outside = Math.max(0, span - r.measured_ns);
    assert.ok(idle >= r.go_runnable_ns - tol && runnable <= r.go_runnable_ns + r.kernel_wait_ns + outside + tol,
      `${r.child} ${r.trace_id}/${r.child_span_id}: runnable ${ms(runnable)} ms (runnable, stopped or blocked ${ms(idle)}) in the trace; the service measured ` +
      `${ms(r.go_runnable_ns)} ms waiting for a P, ${ms(r.kernel_wait_ns)} ms for a CPU, of ${ms(r.measured_ns)} ms measured, ${ms(span)} ms span ` +
      `(expected top cause ${expectedCause(r)})`);
  }
  log(`runnable in the trace / waiting for a P and for a CPU as the service measured / span, ms: ${seen.join(', ')}`);
});

test('clock alignment: every interval tied to a span lies inside the span, within clock_error_ns + 1 ms', async () => {
  let n = 0;
  for (const r of run.slow) {
    const { h } = await history(r);
    // the answer's span time is the span's own (stored from OTLP): it brackets what the
    // service read from the clock just after Start and just before End
    assert.ok(h.start_ns <= r.start_ns && r.start_ns - h.start_ns < 1e6, `span start ${h.start_ns}, the service's ${r.start_ns}`);
    assert.ok(h.end_ns >= r.end_ns && h.end_ns - r.end_ns < 1e6, `span end ${h.end_ns}, the service's ${r.end_ns}`);
    const err = Math.max(...h.exectraces.map((e) => e.clock_error_ns));
    const tol = err + CLOCK_TOL_NS;
    for (const g of h.goroutines.filter((x) => x.role === 'span')) {
      for (const iv of g.intervals.filter((x) => x.span_id === r.child_span_id)) {
        n++;
        assert.ok(iv.start_ns >= h.start_ns - tol && iv.end_ns <= h.end_ns + tol,
          `${r.kind} ${r.child_span_id} [${h.start_ns}, ${h.end_ns}]: interval ${iv.state}/${iv.reason || ''} ` +
          `[${iv.start_ns}, ${iv.end_ns}] is outside by ${Math.max(h.start_ns - iv.start_ns, iv.end_ns - h.end_ns)} ns (tolerance ${tol})`);
      }
    }
  }
  assert.ok(n >= run.slow.length, `${n} intervals tied to ${run.slow.length} slow spans`);
});

test('the raw download is byte-identical to what the recorder pushed', async () => {
  const ok = proxy.pushes.filter((p) => p.status === 200);
  assert.ok(ok.length > 0);
  for (const p of ok) {
    p.json = JSON.parse(p.answer);
    assert.equal(p.encoding, '', 'the recorder pushes the trace as it is');
    const r = await request(mw, 'GET', `/api/v1/exectraces/${p.json.id}/raw`, { timeoutMs: 60000 });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/octet-stream');
    assert.match(String(r.headers['content-disposition']), new RegExp(`filename=trace-${p.json.id}\\.out`));
    assert.equal(r.body.length, p.bytes);
    assert.equal(createHash('sha256').update(r.body).digest('hex'), p.sha256, `trace ${p.json.id}`);
  }
});

// Exact explanations (issue 14): for each slow request, GET /api/v1/traces/{id}/explain
// of its trace, judged by judge.mjs against what the service measured. The table goes to
// the log (in the form of docs/CORRELATION.md, "Exact explanations: accuracy") and to
// $MW_BUILD_DIR/exectrace/<run>-explain.json with every verdict.
test('exact explanations: the slow child\'s top cause, its scope and its chain, against what the service measured', async () => {
  const verdicts = [];
  for (const r of run.slow) verdicts.push(verdict(r, await getJson(mw, `/api/v1/traces/${r.trace_id}/explain`)));
  const table = tabulate(verdicts, Object.keys(KINDS));
  const when = new Date().toISOString();
  writeFileSync(path.join(OUT_DIR, `${RUN}-explain.json`), JSON.stringify({ run: RUN, go: run.built, when,
    load_average: os.loadavg(), table, verdicts }, null, 1));
  console.log(`\n${RUN} (${run.built.built}), ${when}, ${run.rounds} groups, ` +
    `load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}:\n${markdown(table)}\n`);
  for (const v of verdicts) {
    if (VERBOSE || !v.right || v.chain_right === false || !v.trace_scope)
      log(`${v.right ? 'ok   ' : 'WRONG'} ${v.kind.padEnd(8)} ${v.trace_id}/${v.child_span_id} expected ${v.expected}` +
        `${v.runnable_share === null ? '' : ` (runnable ${(100 * v.runnable_share.lo).toFixed(0)}-${(100 * v.runnable_share.hi).toFixed(0)}%)`}; top ${v.top}/${v.scope}/${v.confidence}` +
        `${v.chain_fault ? `; chain: ${v.chain_fault}` : ''} :: ${v.summary}`);
  }
  assert.deepEqual(misses(table), [], 'the bounds of issue 14 (judge.mjs)');
});

test('meanwhiled stops cleanly, having logged nothing unexpected', async () => {
  await mw.stop();
});

// What is growing (issue 15, point 6), end to end: the growth service (service/, the
// OpenTelemetry SDK and client/go's labels) run once per mode — leak, cache, pool and
// the steady control — each under its own meanwhile-agent (goroutine profiles, debug=2
// dumps, heap profiles, leak profiles, gctrace) against one meanwhiled, all four at once
// under the same load. The service measures what it retains and says so on /truth; the
// test holds what meanwhiled stored (raw snapshots, through the existing read API) to
// that ground truth, and what the growth API answers (README.md).
//
// Environment: MEANWHILED, MEANWHILE_AGENT, GO, MW_BUILD_DIR (set by ctest);
// MW_GROWTH_SECONDS (the load, 30), MW_GROWTH_RATE (requests a second per service, 20),
// MW_GROWTH_GOTOOLCHAIN (local, or e.g. go1.27.3), MW_GROWTH_LEAKPROFILE (1: built with
// the goroutine leak profile — GOEXPERIMENT=goroutineleakprofile on Go 1.26, standard
// on 1.27; 0: without), MW_GROWTH_NICE (this process's nice value, inherited by all it
// starts, 10), MW_GROWTH_API (1, the default: also check the growth API; 0: the ground truth only), MW_GROWTH_SERVER_ARGS
// (extra meanwhiled flags, space-separated: the rules' thresholds for a short run).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, request } from '../integration/lib/server.mjs';
import { waitFor, sleep } from '../integration/lib/wait.mjs';
import { buildGoService } from '../e2e/lib/gobuild.mjs';
import { nowNs } from '../integration/lib/clock.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const AGENT = process.env.MEANWHILE_AGENT;
const GO = process.env.GO || 'go';
const OUT_DIR = path.resolve(process.env.MW_BUILD_DIR || os.tmpdir(), 'growth');
const SECONDS = Number(process.env.MW_GROWTH_SECONDS || 30);
const RATE = Number(process.env.MW_GROWTH_RATE || 20);
const TOOLCHAIN = process.env.MW_GROWTH_GOTOOLCHAIN || 'local';
const LEAKPROFILE = (process.env.MW_GROWTH_LEAKPROFILE ?? '1') === '1';
const API = (process.env.MW_GROWTH_API ?? '1') === '1';
// With the growth API, meanwhiled's rules (h-grules's flags) at thresholds a 20 s run can
// reach: ×2 within a minute, over 6 MiB of live heap or 100 goroutines, from the start; the
// pause rule off (a loaded machine's wall-clock pauses would judge the machine). The
// steady service's live heap reads 1–3 MiB in gctrace (whole MiB: at a 3 MiB floor the heap
// rule fired on it in a CI run, 1 → 3 MiB) and it has 13 goroutines; the pool's live heap
// reaches about 10 MiB in 20 s (the rule fires as it passes 6), the cache's 27 MiB, the
// leak's goroutines 413.
const RULE_ARGS = ['--rule-heap-growth', '2', '--rule-heap-window', '1m', '--rule-heap-min', '6MiB',
  '--rule-goroutine-growth', '2', '--rule-goroutine-window', '1m', '--rule-goroutine-min', '100',
  '--rule-warmup', '0', '--rule-pause-p99', '0'];
const SERVER_ARGS = process.env.MW_GROWTH_SERVER_ARGS !== undefined
  ? process.env.MW_GROWTH_SERVER_ARGS.split(/\s+/).filter(Boolean) : (API ? RULE_ARGS : []);
const NICE = Number(process.env.MW_GROWTH_NICE ?? 10);
const MODES = ['leak', 'cache', 'pool', 'steady'];
const BURST = 4; // requests sent at once: the pool then needs several buffers at a time
// GOGC of every service: collections often enough that the pool's misuse grows by more
// than a steady service's live heap swings (each GC empties the pool: New then makes more)
const GOGC = 25;
// The service's figures (service/main.go's defaults, passed explicitly so that they are
// the test's, not taken from the code under test)
const CACHE_BYTES = 64 << 10, PAGE_BYTES = 256 << 10, SCRATCH_BYTES = 128 << 10, MEM_PROFILE_RATE = 64 << 10;
const NOTIFY = 'main.notifyWaiter', PUT = 'main.(*Cache).Put', RENDER = 'main.renderPage', NEWPAGE = 'main.newPageBuffer';

const log = (...a) => console.log('[growth]', ...a);
if (!AGENT || !process.env.MEANWHILED) throw new Error('MEANWHILED and MEANWHILE_AGENT must be set (run through ctest)');
try {
  os.setPriority(0, Math.max(os.getPriority(0), NICE)); // the build, meanwhiled, agents, services: all niced
} catch { /* not allowed: as is */ }

let mw = null;
const runs = {}; // mode -> {agent, port, dir, series: [/truth], final: /truth after /gc, source}
let loadStartNs = 0n, loadEndNs = 0n, baseHeap = {};


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

async function getJson(p) {
  const r = await request(mw, 'GET', p, { timeoutMs: 60000 });
  assert.equal(r.status, 200, `GET ${p}: ${r.status} ${r.body.toString().slice(0, 300)}`);
  return JSON.parse(r.body.toString());
}

async function svc(run, p) {
  const r = await request({ port: run.port }, 'GET', p, { timeoutMs: 60000 });
  assert.equal(r.status, 200, `${run.mode} GET ${p}: ${r.status} ${r.body.toString().slice(0, 300)}`);
  return JSON.parse(r.body.toString());
}

/** meanwhile-agent run -- the service in mode; resolves once the service listens. */
async function startRun(bin, mode) {
  const dir = mkdtempSync(path.join(os.tmpdir(), `mw-growth-${mode}-`));
  const port = await freePort(), pprofPort = await freePort();
  const args = ['run', '--collector', mw.base, '--pprof', `http://127.0.0.1:${pprofPort}/debug/pprof`,
    '--spool-dir', path.join(dir, 'spool'), '--log-file', path.join(dir, 'agent.log'),
    '--stats-file', path.join(dir, 'stats.json'), '--stats-interval', '500ms',
    // no CPU profiles (nothing here needs them); goroutine profiles each second, dumps
    // (debug=2) every 10 s, heap profiles every 2 s, leak profiles every 5 s; gctrace and
    // schedtrace as by default; the agent's own triggers off (meanwhiled's rules are judged)
    // (no budget: a loaded machine would otherwise space the profiles out)
    '--cpu-seconds', '0', '--goroutine-rate', '1', '--goroutine-budget', '0', '--dump-interval', '10s', '--heap-interval', '2s',
    '--leak-interval', '5s', '--trigger-factor', '0', '--trigger-gc-cpu', '0',
    '--', bin, '-listen', `127.0.0.1:${port}`, '-pprof', `127.0.0.1:${pprofPort}`, '-mode', mode,
    '-cache-bytes', String(CACHE_BYTES), '-page-bytes', String(PAGE_BYTES), '-scratch-bytes', String(SCRATCH_BYTES)];
  const env = { ...process.env, OTEL_SERVICE_NAME: `growth-${mode}`, OTEL_EXPORTER_OTLP_ENDPOINT: mw.base,
    GROWTH_MEM_PROFILE_RATE: String(MEM_PROFILE_RATE), GOGC: String(GOGC) };
  for (const k of ['OTEL_RESOURCE_ATTRIBUTES', 'GODEBUG', 'GOMAXPROCS', 'GOMEMLIMIT']) delete env[k];
  for (const k of Object.keys(env)) if (k.startsWith('MEANWHILE_')) delete env[k];
  const proc = spawn(AGENT, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const run = { mode, proc, dir, port, out: [], err: [], exit: null, series: [],
    get stdout() { return Buffer.concat(this.out).toString(); },
    get stderr() { return Buffer.concat(this.err).toString(); },
    log() { const f = path.join(dir, 'agent.log'); return existsSync(f) ? readFileSync(f, 'utf8') : ''; },
    stats() { const f = path.join(dir, 'stats.json'); return existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) : null; } };
  proc.stdout.on('data', (d) => run.out.push(d));
  proc.stderr.on('data', (d) => run.err.push(d));
  run.exited = new Promise((resolve) => proc.on('exit', (code, signal) => { run.exit = { code, signal }; resolve(run.exit); }));
  runs[mode] = run;
  const line = await waitFor(`the ${mode} service to listen`, () => {
    if (run.exit) throw new Error(`the agent exited ${JSON.stringify(run.exit)}: ${run.stderr.slice(-2000)}`);
    return /^listening addr=.*$/m.exec(run.stdout)?.[0];
  }, { timeoutMs: 30000, everyMs: 50 });
  log(line);
  return run;
}

async function stopRun(run) {
  run.proc.kill('SIGTERM'); // forwarded to the service, which flushes its spans and exits 0
  let timer;
  const r = await Promise.race([run.exited, new Promise((res) => { timer = setTimeout(() => res(null), 60000); })]);
  clearTimeout(timer);
  if (!r) {
    run.proc.kill('SIGKILL');
    await run.exited;
    assert.fail(`the ${run.mode} agent did not exit within 60 s of SIGTERM; its log:\n${run.log().slice(-3000)}`);
  }
  return r;
}

async function sourceOf(mode) {
  const { sources } = await getJson('/api/v1/sources');
  return sources.find((s) => s.service === `growth-${mode}`) || null;
}

async function snapshots(sourceId, kind) {
  const q = new URLSearchParams({ start: '0', end: '4102444800', limit: '10000', kind });
  return (await getJson(`/api/v1/sources/${sourceId}/snapshots?${q}`)).snapshots
    .sort((a, b) => (BigInt(a.time_ns) < BigInt(b.time_ns) ? -1 : 1));
}

const snapshot = (id) => getJson(`/api/v1/snapshots/${id}`);
// A frame's function is `func` in stored snapshots (docs/API.md) and in goroutines/growth
// (h-ggor's docs/API.md), `function` in heap/growth and alloc (h-gheap's, as X15.md has it).
const hasFunc = (frames, fn) => frames.some((f) => f.func === fn);
const heapHasFunc = (frames, fn) => frames.some((f) => f.function === fn);

/** Goroutines of a goroutine snapshot (profile, dump or leak profile) whose stack has fn. */
function goroutinesAt(snap, fn) {
  return snap.groups.filter((g) => hasFunc(g.frames, fn)).reduce((n, g) => n + Number(g.count), 0);
}

/** In-use bytes of a heap snapshot's samples whose stack has fn (the profile's estimate). */
function inuseBytesAt(snap, fn) {
  const i = snap.meta.sample_types.findIndex((t) => t[0] === 'inuse_space') // [type, unit];
  assert.ok(i >= 0, `a heap profile has inuse_space: ${JSON.stringify(snap.meta.sample_types)}`);
  return snap.samples.filter((s) => hasFunc(s.frames, fn)).reduce((n, s) => n + Number(s.values[i]), 0);
}

/**
 * The heap profile's error on `bytes` retained in allocations of `size` each: each is
 * sampled with p = 1 − exp(−size/rate) and counted as size/p, so the estimate's relative
 * standard deviation is sqrt((1 − p)/(n p)) for n allocations; allowed: 5 of them, and at
 * least 2% (rounding of the profile's scaled values).
 */
function heapTolerance(bytes, size) {
  const n = Math.max(1, bytes / size), p = 1 - Math.exp(-size / MEM_PROFILE_RATE);
  return Math.max(0.02, 5 * Math.sqrt((1 - p) / (n * p)));
}

/** Least-squares slope of (time_ns, value) points, per hour. */
function slopePerHour(points) {
  const xs = points.map((p) => Number(BigInt(p.t) - BigInt(points[0].t)) / 1e9), ys = points.map((p) => p.v);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length, my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let sxy = 0, sxx = 0;
  for (let i = 0; i < xs.length; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  return (sxy / sxx) * 3600;
}

// ---------------------------------------------------------------- the run

before(async () => {
  // from Go 1.27 the leak profile is standard: a build without it exists only on 1.26
  assert.ok(LEAKPROFILE || TOOLCHAIN === 'local', `MW_GROWTH_LEAKPROFILE=0 needs the machine's Go 1.26, not ${TOOLCHAIN}`);
  mkdirSync(OUT_DIR, { recursive: true });
  const bin = path.join(OUT_DIR, `growth-service-${TOOLCHAIN}${LEAKPROFILE ? '-leak' : ''}`);
  const built = buildGoService({ go: GO, toolchain: TOOLCHAIN, moduleDir: path.join(HERE, 'service'), bin,
    outDir: OUT_DIR, log, env: LEAKPROFILE && TOOLCHAIN === 'local' ? { GOEXPERIMENT: 'goroutineleakprofile' } : {} });
  log(`service built with ${built.built}`);
  mw = await startServer({ args: SERVER_ARGS });
  for (const mode of MODES) await startRun(bin, mode);

  // a heap profile of every source before the load: the base of heap growth
  await waitFor('a heap profile of every service before the load', async () => {
    for (const mode of MODES) {
      const src = runs[mode].source ||= await sourceOf(mode);
      if (!src) return false;
      baseHeap[mode] ||= (await snapshots(src.id, 'heap'))[0];
      if (!baseHeap[mode]) return false;
    }
    return true;
  }, { timeoutMs: 30000 });

  // The load: BURST requests at once, RATE a second, to every service alike; /truth of
  // each once a second, so that the ground truth is a series in time.
  loadStartNs = nowNs() + 999_999n; // Date.now() names the millisecond begun: the base profiles listed above lie before its end
  const t0 = performance.now(), endMs = SECONDS * 1000;
  let n = 0, failed = 0, nextTruth = 0;
  const inflight = new Set();
  for (let tick = 0; ; tick++) {
    const at = (tick * BURST * 1000) / RATE;
    if (at >= endMs) break;
    const wait = at - (performance.now() - t0);
    if (wait > 0) await sleep(wait);
    for (let b = 0; b < BURST; b++, n++) {
      for (const mode of MODES) {
        const p = svc(runs[mode], `/work?n=${n}`).catch(() => { failed++; });
        inflight.add(p);
        p.finally(() => inflight.delete(p));
      }
    }
    if (performance.now() - t0 >= nextTruth) {
      nextTruth += 1000;
      for (const mode of MODES) runs[mode].series.push(await svc(runs[mode], '/truth'));
    }
  }
  await Promise.all([...inflight]);
  loadEndNs = nowNs();
  assert.equal(failed, 0, 'every request was answered 200');
  log(`load: ${n} requests per service in ${Math.round(performance.now() - t0)} ms, load average ${os.loadavg()[0].toFixed(1)}`);

  // Quiescent: two GCs in each service, so that its next heap profile's in-use figures are
  // what it retains now, and the leak profile (which runs a GC of its own) finds every leak.
  for (const mode of MODES) {
    const r = runs[mode];
    r.series.push(await svc(r, '/truth'));
    r.final = await svc(r, '/gc');
    log(`${mode}: ${JSON.stringify(r.final)}`);
  }
  // the snapshots taken after it: a goroutine profile, a dump, a heap profile, a leak profile
  const kinds = ['goroutine', 'heap', ...(LEAKPROFILE ? ['goroutineleak'] : [])];
  await waitFor('every kind of snapshot of every service after the load', async () => {
    for (const mode of MODES) {
      const r = runs[mode], after = BigInt(r.final.time_ns);
      r.after ||= {};
      for (const kind of kinds) {
        const later = (await snapshots(r.source.id, kind)).filter((s) => BigInt(s.time_ns) > after);
        if (kind === 'goroutine') {
          r.after.profile ||= later.find((s) => s.format === 'pprof');
          r.after.dump ||= later.find((s) => s.format !== 'pprof');
          if (!r.after.profile || !r.after.dump) return false;
        } else {
          r.after[kind] ||= later[0];
          if (!r.after[kind]) return false;
        }
      }
    }
    return true;
  }, { timeoutMs: 40000, everyMs: 500 });
  for (const mode of MODES) await svc(runs[mode], '/flush');
  writeFileSync(path.join(OUT_DIR, `growth-${TOOLCHAIN}.json`), JSON.stringify({ seconds: SECONDS, rate: RATE,
    load_start_ns: String(loadStartNs), load_end_ns: String(loadEndNs), go: built.built, leakprofile: LEAKPROFILE,
    runs: Object.fromEntries(MODES.map((m) => [m, { source: runs[m].source, series: runs[m].series,
      final: runs[m].final, after: runs[m].after }])) }, null, 1));
});

after(async () => {
  for (const r of Object.values(runs)) if (!r.exit) r.proc.kill('SIGKILL');
  if (mw) await mw.cleanup();
  if (!process.env.MW_GROWTH_KEEP) for (const r of Object.values(runs)) rmSync(r.dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------- ground truth

test('each service retains what its mode injects, and the steady one nothing', () => {
  for (const mode of MODES) {
    const f = runs[mode].final;
    assert.ok(f.requests >= SECONDS * RATE * 0.9, `${mode}: ${f.requests} requests`);
    assert.equal(f.mem_profile_rate, MEM_PROFILE_RATE);
    assert.equal(f.notify.started, f.requests, `${mode}: one waiter a request`);
    assert.equal(f.notify.waiting, mode === 'leak' ? f.requests : 0, `${mode}: waiters still blocked`);
    assert.equal(f.cache.bytes, (mode === 'cache' ? f.requests : 8) * CACHE_BYTES, `${mode}: cache bytes`);
    if (mode === 'pool') {
      assert.ok(f.pool.retained_buffers >= 4, `pool: buffers kept alive ${f.pool.retained_buffers}`);
      assert.equal(f.pool.retained_buffers, f.pool.created, 'pool: every buffer the pool made is still referenced');
    } else {
      assert.equal(f.pool.retained_buffers, 0, `${mode}: no buffer kept`);
    }
  }
});

test('stored goroutine profiles count the leaked waiters as the service does, labelled orders.notify', async () => {
  for (const mode of MODES) {
    const r = runs[mode];
    const profiles = (await snapshots(r.source.id, 'goroutine')).filter((s) => s.format === 'pprof'
      && BigInt(s.time_ns) >= loadStartNs && BigInt(s.time_ns) <= BigInt(r.final.time_ns));
    assert.ok(profiles.length >= SECONDS / 3, `${mode}: goroutine profiles during the load: ${profiles.length}`);
    const points = [];
    for (const s of profiles) points.push({ t: s.time_ns, v: goroutinesAt(await snapshot(s.id), NOTIFY) });
    const last = await snapshot(r.after.profile.id);
    const finalCount = goroutinesAt(last, NOTIFY);
    if (mode === 'leak') {
      // never fewer than before (they never end), and after the load exactly the service's count
      for (let i = 1; i < points.length; i++)
        assert.ok(points[i].v >= points[i - 1].v, `leak: the count fell: ${JSON.stringify(points.slice(i - 1, i + 1))}`);
      assert.equal(finalCount, r.final.notify.waiting, 'leak: the profile after the load counts every waiter');
      const leaked = last.groups.filter((g) => hasFunc(g.frames, NOTIFY));
      for (const g of leaked) {
        assert.equal(g.state, 'chan', `leak: blocked on a channel receive: ${JSON.stringify(g).slice(0, 300)}`);
        assert.equal(g.labels?.span_name, 'orders.notify', `leak: the span's labels, inherited: ${JSON.stringify(g.labels)}`);
      }
      // the growth in the profiles against the service's own series (per hour)
      const truthRate = slopePerHour(r.series.map((t) => ({ t: t.time_ns, v: t.notify.waiting })));
      const storedRate = slopePerHour(points);
      log(`leak: growth per hour: service ${Math.round(truthRate)}, stored profiles ${Math.round(storedRate)}`);
      assert.ok(Math.abs(storedRate - truthRate) <= 0.1 * truthRate, `leak: ${storedRate} vs ${truthRate} per hour`);
    } else {
      assert.equal(finalCount, 0, `${mode}: no waiter left after the load`);
      // during it, only the waiters of requests in flight (BURST at a time, and the ones
      // not yet scheduled to see their closed channel)
      const most = Math.max(...points.map((p) => p.v));
      assert.ok(most <= 4 * BURST, `${mode}: at most ${4 * BURST} waiters at once: ${most}`);
    }
  }
});

test('the stored debug=2 dump after the load has every leaked waiter', async () => {
  for (const mode of MODES) {
    const r = runs[mode];
    const dump = await snapshot(r.after.dump.id);
    assert.equal(goroutinesAt(dump, NOTIFY), r.final.notify.waiting, `${mode}: waiters in the dump`);
  }
});

test('the stored leak profile after the load reports every leaked waiter, and nothing of the others',
  { skip: LEAKPROFILE ? false : 'MW_GROWTH_LEAKPROFILE=0: the service has no leak profile' }, async () => {
    for (const mode of MODES) {
      const r = runs[mode];
      const lp = await snapshot(r.after.goroutineleak.id);
      assert.equal(goroutinesAt(lp, NOTIFY), mode === 'leak' ? r.final.notify.waiting : 0, `${mode}: proven leaked`);
    }
  });

test('stored heap profiles: the cache\'s Put and the pool\'s buffers hold what the service retains', async () => {
  for (const mode of MODES) {
    const r = runs[mode], f = r.final;
    const heap = await snapshot(r.after.heap.id);
    const put = inuseBytesAt(heap, PUT), pages = inuseBytesAt(heap, NEWPAGE);
    const putTol = heapTolerance(f.cache.bytes, CACHE_BYTES), pageTol = heapTolerance(f.pool.retained_bytes, PAGE_BYTES);
    log(`${mode}: Put in use ${put} (service ${f.cache.bytes}, ±${(putTol * 100).toFixed(1)}%), ` +
      `pool buffers in use ${pages} (service ${f.pool.retained_bytes}, ±${(pageTol * 100).toFixed(1)}%)`);
    assert.ok(Math.abs(put - f.cache.bytes) <= putTol * f.cache.bytes, `${mode}: Put ${put} vs ${f.cache.bytes}`);
    if (mode === 'pool')
      assert.ok(Math.abs(pages - f.pool.retained_bytes) <= pageTol * f.pool.retained_bytes,
        `pool: newPageBuffer ${pages} vs ${f.pool.retained_bytes}`);
    else
      assert.ok(pages <= 2 * BURST * PAGE_BYTES, `${mode}: the pool's buffers are not kept: ${pages}`);
  }
});

// ---------------------------------------------------------------- the growth API (X15.md)

const apiSkip = API ? false : 'MW_GROWTH_API=0: the ground truth only (README.md)';
// the load and what was taken after it (the heap profile after /gc: heap growth's target)
const range = () => `start=${loadStartNs}&end=${BigInt(runs.steady.final.time_ns) + 30_000_000_000n}`;
// the load only: a rate over it compares with the service's series (after it the count is flat)
const loadRange = () => `start=${loadStartNs}&end=${loadEndNs}`;

test('goroutines/growth: the leak suspect is main.notifyWaiter of orders.notify, at the service\'s rate',
  { skip: apiSkip }, async () => {
    for (const mode of MODES) {
      const r = runs[mode];
      const g = await getJson(`/api/v1/sources/${r.source.id}/goroutines/growth?${loadRange()}`);
      const mine = g.suspects.filter((s) => hasFunc(s.stack, NOTIFY));
      if (mode !== 'leak') {
        assert.deepEqual(mine, [], `${mode}: no suspect at ${NOTIFY}`);
        continue;
      }
      assert.ok(g.suspects.length >= 1 && hasFunc(g.suspects[0].stack, NOTIFY),
        `leak: the first suspect is ${NOTIFY}: ${JSON.stringify(g.suspects[0]).slice(0, 500)}`);
      const s = g.suspects[0];
      assert.equal(s.state, 'chan');
      // every waiter was started in an orders.notify span (the last count may lag the
      // service's by the requests of one profile period)
      const op = s.operations.find((o) => o.service === 'growth-leak' && o.name === 'orders.notify');
      assert.ok(op, `leak: operations ${JSON.stringify(s.operations)}`);
      assert.ok(Math.abs(Number(op.count) - r.final.notify.waiting) <= RATE + BURST,
        `leak: ${op.count} goroutines of orders.notify, the service says ${r.final.notify.waiting}`);
      assert.ok(s.spans.length >= 1, 'leak: the spans that started them');
      const truthRate = slopePerHour(r.series.filter((t) => BigInt(t.time_ns) <= loadEndNs)
        .map((t) => ({ t: t.time_ns, v: t.notify.waiting })));
      log(`leak: growth_per_hour ${s.growth_per_hour}, the service's ${Math.round(truthRate)}`);
      assert.ok(Math.abs(s.growth_per_hour - truthRate) <= 0.15 * truthRate,
        `leak: growth_per_hour ${s.growth_per_hour} vs the service's ${truthRate}`);
      assert.equal(s.proven_leaked, LEAKPROFILE, 'proven leaked exactly when the leak profile exists');
    }
  });

test('heap/growth: the cache\'s Put grew by what it retained; the pool misuse is among the top stacks',
  { skip: apiSkip }, async () => {
    for (const mode of ['cache', 'pool']) {
      const r = runs[mode], f = r.final;
      // base: the latest heap profile before the load (the window's last, as asked)
      const before = (await snapshots(r.source.id, 'heap')).filter((sn) => BigInt(sn.time_ns) <= loadStartNs);
      assert.ok(before.length >= 1, `${mode}: a heap profile before the load`);
      const h = await getJson(`/api/v1/sources/${r.source.id}/heap/growth?${range()}` +
        `&base_start=${loadStartNs - 3_600_000_000_000n}&base_end=${loadStartNs}&sample=inuse_space&limit=10`);
      assert.equal(String(h.base.snapshot_id), String(before.at(-1).id), `${mode}: the base asked for`);
      if (mode === 'cache') {
        const top = h.stacks[0];
        assert.ok(heapHasFunc(top.frames, PUT), `cache: top stack ${JSON.stringify(top.frames)}`);
        const grown = f.cache.bytes - 8 * CACHE_BYTES; // at most 8 values were there before
        const tol = heapTolerance(grown, CACHE_BYTES);
        log(`cache: heap growth at Put ${top.bytes} B, the service's ${grown} ±${(tol * 100).toFixed(1)}% + 8 values`);
        assert.ok(Math.abs(Number(top.bytes) - grown) <= tol * grown + 8 * CACHE_BYTES,
          `cache: grew ${top.bytes} vs ${grown} ±${tol}`);
      } else {
        assert.ok(h.stacks.slice(0, 5).some((s) => heapHasFunc(s.frames, RENDER)),
          `pool: ${RENDER} among the top 5: ${JSON.stringify(h.stacks.slice(0, 5).map((s) => s.frames[0]))}`);
      }
    }
  });

test('alloc: Put allocates cache-bytes per request at the request rate', { skip: apiSkip }, async () => {
  const r = runs.cache, s0 = r.series[0], s1 = r.series.at(-1);
  const perS = ((s1.requests - s0.requests) * CACHE_BYTES) / (Number(BigInt(s1.time_ns) - BigInt(s0.time_ns)) / 1e9);
  const a = await getJson(`/api/v1/sources/${r.source.id}/alloc?${loadRange()}&limit=20`);
  const put = a.stacks.find((s) => heapHasFunc(s.frames, PUT));
  assert.ok(put, `a stack at ${PUT}`);
  log(`cache: allocation at Put ${Math.round(put.bytes_per_s)} B/s, the service's ${Math.round(perS)} B/s`);
  assert.ok(Math.abs(put.bytes_per_s - perS) <= 0.3 * perS, `alloc: ${put.bytes_per_s} vs ${perS} B/s`);
});

test('gc/pressure: the cache\'s live heap rises by what it retained', { skip: apiSkip }, async () => {
  const r = runs.cache;
  const p = await getJson(`/api/v1/sources/${r.source.id}/gc/pressure?${range()}&step=5s`);
  const pts = p.points.filter((x) => x.heap_live != null);
  assert.ok(pts.length >= 2, `gc/pressure points: ${pts.length}`);
  const rise = Number(pts.at(-1).heap_live) - Number(pts[0].heap_live);
  assert.ok(rise >= 0.5 * (r.final.cache.bytes - 8 * CACHE_BYTES), `heap_live rose ${rise}`);
});

test('events: a rule fires for each growth mode and none for the steady one; the agent captures at once',
  { skip: apiSkip }, async () => {
    const expected = { leak: 'goroutine_growth', cache: 'heap_growth', pool: 'heap_growth' };
    for (const mode of MODES) {
      // over the load: what follows it (the test's /gc, two forced collections) is no part
      // of "the same load"; the heap floor is 6 MiB because a steady service read 3 MiB
      // during the load in a CI run (README.md, "Where the margin is thin")
      const e = await getJson(`/api/v1/sources/${runs[mode].source.id}/events?${loadRange()}`);
      log(`${mode}: events ${JSON.stringify(e.events)}`);
      if (mode === 'steady') {
        assert.deepEqual(e.events, [], 'steady: no rule fires');
        continue;
      }
      assert.ok(e.events.some((x) => x.rule === expected[mode]), `${mode}: ${expected[mode]} fired`);
      // the agent learns of it from the answer to its next push: a dump and a heap profile
      // marked with the rule (h-grules's docs/API.md)
      const trigger = `rule:${expected[mode]}`;
      const marked = [];
      for (const kind of ['goroutine', 'heap'])
        for (const sn of await snapshots(runs[mode].source.id, kind))
          if ((await snapshot(sn.id)).meta?.trigger === trigger) marked.push(kind);
      assert.ok(marked.includes('goroutine') && marked.includes('heap'), `${mode}: captures with ${trigger}: ${marked}`);
    }
  });

test('the services exit 0 at SIGTERM with every span exported; meanwhiled stops cleanly', async () => {
  for (const mode of MODES) {
    const flushed = await svc(runs[mode], '/flush');
    assert.equal(flushed.failed, 0, `${mode}: spans that failed to export`);
    assert.ok(flushed.exported >= 4 * runs[mode].final.requests, `${mode}: 4 spans a request: ${flushed.exported}`);
    const ex = await stopRun(runs[mode]);
    assert.deepEqual(ex, { code: 0, signal: null }, `${mode}: the agent's exit; stderr ${runs[mode].stderr.slice(-1000)}`);
  }
  await mw.stop();
});

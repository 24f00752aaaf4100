// Pyroscope's Go client against meanwhiled (see README.md in this directory).
//
// Builds service/ (github.com/grafana/pyroscope-go v1.5.0, the OpenTelemetry Go SDK and
// github.com/grafana/otel-profiling-go) with the machine's go, runs it against a fresh
// meanwhiled, and checks, from what the program itself printed (its span ids, each span's
// CPU time by its thread's own clock, and every upload the Pyroscope client made with
// meanwhiled's answer) and from the test's own reading of the stored profiles:
//   * every upload was a real multipart/form-data POST /ingest and was answered 200;
//   * the profiles landed under the source that sent the spans (service = ApplicationName,
//     instance = the "instance" tag), each with the kind its sample types or its
//     sample_type_config name, and the times of the upload's from/until;
//   * GET /api/v1/traces/{id}/explain gives each CPU-heavy span the CPU time of the samples
//     labelled with its span_id, which is about what the span really computed; a span that
//     slept gets none.
// A second, shorter run without the instance tag joins the one instance that sent spans.
//
// Environment (set by ctest): MEANWHILED, MW_TEST_DATA, MW_BUILD_DIR (where the program is
// built), GO (the go command).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, request } from '../integration/lib/server.mjs';
import { waitFor } from '../integration/lib/wait.mjs';
import { decodeProfile, getJ, findSource, big, isGzip } from '../integration/lib/runtime.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const GO = process.env.GO || 'go';
const BUILD_DIR = process.env.MW_BUILD_DIR || path.resolve(HERE, '..', '..', 'build');
const OUT_DIR = path.join(BUILD_DIR, 'pyroscope');
const PROGRAM = path.join(OUT_DIR, 'pyro-svc');

const APP = 'pyro-svc', INSTANCE = 'pod-a';
const UNTAGGED_APP = 'pyro-untagged', UNTAGGED_INSTANCE = 'pod-b';
const CPU_MS = 300; // each compute span's CPU time; each wait span's sleep
const SAMPLE_NS = 10_000_000; // Go's CPU profiler: 100 Hz (pyroscope-go keeps the default)
const log = (...a) => console.log('[pyroscope]', ...a);

let srv = null;
let run = null; // the tagged run: {spans, uploads, done, stderr}
let untagged = null;

function goEnv() {
  const env = { ...process.env, GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local', GO111MODULE: 'on' };
  // without a home, the module and build caches go in the build directory
  if (!env.HOME) Object.assign(env, { GOPATH: path.join(OUT_DIR, 'gopath'), GOCACHE: path.join(OUT_DIR, 'gocache') });
  return env;
}

function build() {
  mkdirSync(OUT_DIR, { recursive: true });
  const env = goEnv();
  log(`${GO}: ${execFileSync(GO, ['version'], { env }).toString().trim()}`);
  const t0 = performance.now();
  execFileSync(GO, ['build', '-o', PROGRAM, '.'], { cwd: path.join(HERE, 'service'), env, stdio: ['ignore', 'inherit', 'inherit'] });
  log(`go build: ${Math.round(performance.now() - t0)} ms -> ${PROGRAM}`);
}

/** Runs the program to its end; resolves {spans, uploads, done, stderr}. */
function runProgram(args) {
  return new Promise((resolve, reject) => {
    const proc = spawn(PROGRAM, ['-meanwhile', srv.base, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    proc.stdout.on('data', (d) => { stdout += d; });
    proc.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`the program ran over 120 s:\n${stderr}`)); }, 120000);
    proc.on('error', reject);
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`the program exited with ${code ?? signal}:\n${stderr}\n${stdout}`));
      const lines = stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
      resolve({
        spans: lines.filter((l) => l.event === 'span'),
        uploads: lines.filter((l) => l.event === 'upload'),
        done: lines.find((l) => l.event === 'done'),
        stderr,
      });
    });
  });
}

/** The kind Pyroscope's own vocabulary gives an upload: the display names of its
 * sample_type_config, else what its profile's sample types are. */
function expectedKind(upload, profile) {
  const cfg = upload.parts.find((p) => p.name === 'sample_type_config');
  const names = cfg ? Object.values(JSON.parse(cfg.text)).map((c) => c['display-name']).filter(Boolean) : [];
  if (names.length && names.every((n) => /^mutex_/.test(n))) return 'mutex';
  if (names.length && names.every((n) => /^block_/.test(n))) return 'block';
  const types = profile.sampleTypes.map(([t]) => t);
  if (types.includes('cpu')) return 'cpu';
  if (types.includes('goroutine')) return 'goroutine';
  if (types.includes('inuse_space')) return 'heap';
  return assert.fail(`the test does not know this upload: ${JSON.stringify(profile.sampleTypes)} ${cfg?.text}`);
}

const answer = (u) => JSON.parse(u.response);

before(async () => {
  build();
  srv = await startServer();
  log(`meanwhiled at ${srv.base}`);
  const t0 = performance.now();
  run = await runProgram(['-app', APP, '-instance', INSTANCE, '-upload-rate', '2s', '-spans', '8', '-cpu', `${CPU_MS}ms`]);
  log(`tagged run: ${Math.round(performance.now() - t0)} ms, ${run.spans.length} spans, ${run.uploads.length} uploads`);
  for (const s of run.spans) log(`  ${s.kind} ${s.span_id}: ${((s.end_ns - s.start_ns) / 1e6).toFixed(1)} ms, thread CPU ${(s.thread_cpu_ns / 1e6).toFixed(1)} ms`);
  const t1 = performance.now();
  untagged = await runProgram(['-app', UNTAGGED_APP, '-instance', UNTAGGED_INSTANCE, '-tag-instance=false', '-sync-spans',
    '-upload-rate', '2s', '-spans', '4', '-cpu', `${CPU_MS}ms`]);
  log(`untagged run: ${Math.round(performance.now() - t1)} ms, ${untagged.uploads.length} uploads`);
});

after(async () => { if (srv) await srv.cleanup(); });

test('every upload of the Pyroscope client was a multipart/form-data POST /ingest, answered 200', () => {
  for (const r of [run, untagged]) {
    assert.doesNotMatch(r.stderr, /pyroscope: ERROR/, 'the Pyroscope client logged an error');
    assert.ok(r.done, 'the program finished');
    assert.equal(r.done.failed_uploads, 0);
    assert.equal(r.done.uploads, r.uploads.length);
    for (const u of r.uploads) {
      assert.equal(u.status, 200, `${u.name}: ${u.status} ${u.response}`);
      assert.match(u.content_type, /^multipart\/form-data; boundary=/);
      const profile = u.parts.find((p) => p.name === 'profile');
      assert.ok(profile && profile.bytes > 0 && profile.gzip, `a gzip'd profile part: ${JSON.stringify(u.parts)}`);
      assert.match(u.query.from[0], /^\d{19}$/, 'from in unix nanoseconds');
    }
  }
  // what the client sends besides the profile, as its source says (upstream/remote/remote.go)
  assert.ok(run.uploads.some((u) => u.parts.some((p) => p.name === 'sample_type_config')), 'some uploads carry a sample_type_config');
  assert.ok(run.uploads.every((u) => u.query.spyName[0] === 'gospy'));
  assert.ok(run.uploads.every((u) => u.name.startsWith(`${APP}{`) && u.name.includes(`instance=${INSTANCE}`)), run.uploads[0].name);
});

test('the profiles land under the source that sent the spans (service = app name, instance = the instance tag)', async () => {
  const src = await findSource(srv, APP, INSTANCE);
  assert.ok(src, `no source (${APP}, ${INSTANCE})`);
  assert.equal(await findSource(srv, APP, ''), undefined, 'nothing went to a source without an instance');
  for (const u of run.uploads) assert.equal(answer(u).source_id, src.id, u.name);
  // the spans' source, as the timeline tells it
  const tl = await getJ(srv, `/api/v1/traces/${run.spans[0].trace_id}/timeline`);
  assert.equal(tl.spans[0].source_id, src.id, 'the spans are in the same source');

  const list = await getJ(srv, `/api/v1/sources/${src.id}/snapshots?limit=10000`);
  const ids = new Set(list.snapshots.map((s) => s.id));
  assert.deepEqual(ids, new Set(run.uploads.map((u) => answer(u).snapshot_id)), 'one snapshot per upload, no other');
  const kinds = {};
  let untilBeforeFrom = 0;
  for (const u of run.uploads) {
    const id = answer(u).snapshot_id;
    const raw = await request(srv, 'GET', `/api/v1/snapshots/${id}/raw`);
    assert.equal(raw.status, 200);
    const part = u.parts.find((p) => p.name === 'profile').bytes;
    const snap = await getJ(srv, `/api/v1/snapshots/${id}?limit=10000`);
    // a goroutine profile keeps no payload: /raw writes it again from its groups
    // (tests/integration/goroutine_raw checks what it holds), raw_bytes is the part's size
    const rebuilt = Number(snap.stored_payload_bytes) === 0;
    if (rebuilt) assert.equal(Number(snap.raw_bytes), part, 'raw_bytes is the profile part\'s size');
    else assert.equal(raw.body.length, part, '/raw is the profile part');
    assert.ok(isGzip(raw.body));
    const profile = decodeProfile(raw.body);
    const kind = expectedKind(u, profile);
    kinds[kind] = (kinds[kind] || 0) + 1;
    if (rebuilt) assert.equal(kind, 'goroutine', `snapshot ${id}: only goroutine profiles are kept without payload`);
    assert.equal(snap.kind, kind, `snapshot ${id} (${u.parts.map((p) => p.text || p.name).join(' ')})`);
    assert.equal(big(snap.time_ns), BigInt(u.query.from[0]), 'time = from');
    // pyroscope-go's Flush ends the window at the current time truncated to the upload rate,
    // which can be before its start: such a window says nothing, and the profile's own
    // duration (none for these kinds) stands
    const from = BigInt(u.query.from[0]), until = BigInt(u.query.until[0]);
    const dur = until > from ? until - from : profile.durationNanos > 0n ? profile.durationNanos : 0n;
    if (until <= from) untilBeforeFrom++;
    assert.equal(big(snap.duration_ns), dur, `snapshot ${id}: duration (from ${from}, until ${until})`);
    const total = kind === 'goroutine' ? profile.samples.reduce((n, s) => n + s.values[0], 0) : profile.samples.length;
    assert.equal(snap.total, total, `snapshot ${id} (${kind}): total`);
  }
  log(`snapshots by kind: ${JSON.stringify(kinds)}; ${untilBeforeFrom} uploads with until before from`);
  for (const k of ['cpu', 'goroutine', 'heap', 'mutex', 'block']) assert.ok(kinds[k] > 0, `no ${k} upload`);
});

/** The span's labelled CPU samples in the stored CPU profiles, read by this test:
 * {ns, samples, snapshots: Set of the snapshot ids that hold some}. */
async function labelledCpu(span) {
  let ns = 0, samples = 0;
  const snapshots = new Set();
  for (const u of run.uploads) {
    const id = answer(u).snapshot_id;
    const raw = await request(srv, 'GET', `/api/v1/snapshots/${id}/raw`);
    const p = decodeProfile(raw.body);
    const cpu = p.sampleTypes.findIndex(([t, unit]) => t === 'cpu' && unit === 'nanoseconds');
    if (cpu < 0) continue;
    for (const s of p.samples) {
      if (s.labels?.span_id !== span.span_id) continue;
      // otel-profiling-go labels the local root span: its id, name and trace
      assert.equal(s.labels.span_name, span.name);
      assert.equal(s.labels.trace_id, span.trace_id);
      ns += s.values[cpu];
      samples += s.values[0];
      snapshots.add(id);
    }
  }
  return { ns, samples, snapshots };
}

async function explainSpan(span) {
  const ex = await waitFor(`explain of ${span.trace_id}`, async () => {
    const r = await request(srv, 'GET', `/api/v1/traces/${span.trace_id}/explain`);
    return r.status === 200 && JSON.parse(r.body.toString());
  });
  const s = ex.spans.find((x) => x.span_id === span.span_id);
  assert.ok(s, `span ${span.span_id} in its explanation`);
  return { ex, s };
}

// The causes that say how busy the machine was rather than what the span did: a
// CPU-bound span on a loaded machine waits for a CPU (runnable), and time no snapshot saw
// is unknown.
const LOAD_CAUSES = new Set(['runnable', 'unknown']);

test('explain gives each CPU-heavy span the CPU time of the samples labelled with its span_id', async () => {
  const compute = run.spans.filter((s) => s.kind === 'compute');
  assert.equal(compute.length, 4);
  for (const span of compute) {
    const own = await labelledCpu(span);
    const dur = span.end_ns - span.start_ns;
    // what the span computed, by its thread's clock, within two samples and a third
    const lo = 0.67 * span.thread_cpu_ns - 2 * SAMPLE_NS, hi = 1.33 * span.thread_cpu_ns + 2 * SAMPLE_NS;
    assert.ok(own.ns >= lo && own.ns <= hi,
      `span ${span.span_id}: labelled CPU ${own.ns / 1e6} ms, thread CPU ${span.thread_cpu_ns / 1e6} ms`);
    const { ex, s } = await explainSpan(span);
    const cause = s.causes.find((c) => c.kind === 'cpu');
    assert.ok(cause, `a cpu cause: ${JSON.stringify(s.causes)}`);
    assert.equal(cause.scope, 'span', 'the span\'s own samples');
    assert.ok(cause.evidence.some((e) => e.type === 'cpu_samples' && e.frames?.some((f) => f.function === 'main.compute')),
      JSON.stringify(cause.evidence));
    // the profiles its evidence names are those that hold the span's labelled samples
    assert.deepEqual(new Set(cause.evidence.filter((e) => e.type === 'cpu_profile').map((e) => e.snapshot_id)), own.snapshots);
    // Every labelled sample counts, up to the span's duration (one sample may straddle
    // its end). explain adds CPU time only where goroutine snapshots found the span
    // running while no CPU profile recorded (between two of the client's profiles), and
    // then says so with goroutine evidence.
    const labelled = Math.min(own.ns, dur);
    const inferred = cause.evidence.some((e) => e.type === 'goroutine_sample');
    const cpu = s.breakdown.cpu_ns + s.breakdown.gc_assist_ns;
    assert.ok(inferred ? cpu >= labelled - 1e6 : Math.abs(cpu - labelled) <= 1e6,
      `span ${span.span_id}: explain cpu ${s.breakdown.cpu_ns} + assist ${s.breakdown.gc_assist_ns} ns, labelled ${own.ns} ns` +
      `${inferred ? ' (and goroutine snapshots)' : ''}\n${JSON.stringify(s.causes)}`);
    // mostly cpu: no cause of what the span did comes before it
    const before = s.causes.slice(0, s.causes.indexOf(cause)).filter((c) => !LOAD_CAUSES.has(c.kind));
    assert.deepEqual(before.map((c) => c.kind), [], ex.summary);
    log(`${span.span_id}: explain cpu ${(s.breakdown.cpu_ns / 1e6).toFixed(1)} ms of ${(dur / 1e6).toFixed(1)} ms ` +
      `(${own.samples} labelled samples in ${own.snapshots.size} profiles${inferred ? ', some inferred' : ''}, ` +
      `thread CPU ${(span.thread_cpu_ns / 1e6).toFixed(1)} ms); causes ${s.causes.map((c) => `${c.kind} ${c.share}`).join(', ')}`);

    // the span's profile: only its labelled samples
    const prof = await request(srv, 'GET', `/api/v1/spans/${span.span_id}/profile?type=cpu&trace=${span.trace_id}`);
    assert.equal(prof.status, 200);
    const p = decodeProfile(prof.body);
    const ci = p.sampleTypes.findIndex(([t]) => t === 'cpu');
    assert.ok(p.samples.every((x) => x.labels?.span_id === span.span_id));
    assert.equal(p.samples.reduce((n, x) => n + x.values[ci], 0), own.ns, 'the span profile holds its labelled CPU time');
  }
});

test('a span that slept gets no CPU samples of other spans', async () => {
  const wait = run.spans.filter((s) => s.kind === 'wait');
  assert.equal(wait.length, 4);
  for (const span of wait) {
    const own = await labelledCpu(span);
    assert.ok(own.samples <= 1, `span ${span.span_id} slept, yet ${own.samples} labelled CPU samples`);
    const { s } = await explainSpan(span);
    const shown = s.causes.flatMap((c) => c.evidence).filter((e) => e.type === 'cpu_samples' && e.frames);
    assert.ok(shown.reduce((n, e) => n + e.samples, 0) <= own.samples, JSON.stringify(s.causes));
    assert.ok(!shown.some((e) => e.frames.some((f) => f.function === 'main.compute')), 'no compute samples');
  }
});

test('without an instance tag the profiles join the one instance that sent the service\'s spans', async () => {
  const src = await findSource(srv, UNTAGGED_APP, UNTAGGED_INSTANCE);
  assert.ok(src, `no source (${UNTAGGED_APP}, ${UNTAGGED_INSTANCE})`);
  assert.ok(untagged.uploads.every((u) => !u.name.includes('instance=')), untagged.uploads[0].name);
  for (const u of untagged.uploads) assert.equal(answer(u).source_id, src.id, u.name);
  assert.equal(await findSource(srv, UNTAGGED_APP, ''), undefined);
  const tl = await getJ(srv, `/api/v1/traces/${untagged.spans[0].trace_id}/timeline`);
  assert.equal(tl.spans[0].source_id, src.id);
});

test('meanwhiled stops cleanly (exit 0) after all of the above', async () => {
  await srv.stop();
});

// Runtime ingest of the Go 1.19 "checkout" service's real captures
// (tests/data/go1.19-checkout/): every fixture file through POST /api/v1/ingest/{kind}
// (gzip'd and plain protobuf), HTTP Content-Encoding, chunked and concurrent ingests, the
// join of runtime data to the source that sent the spans (service-only ingests, instance
// aliases learned from the span ids in CPU and goroutine samples, kept across a restart),
// and the Pyroscope-compatible POST /ingest (raw body and a hand-built multipart body).
// Expected counts come from reading the fixture files here.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import zlib from 'node:zlib';
import { startServer, dataFile, request, postTraces, postJsonOk, compress, mapLimit } from './lib/server.mjs';
import { makeRequest } from './lib/otlp.mjs';
import {
  FIXTURE_DIR, fixture, LAUNCH_NS, parseStderr, gcDuration, parseDebug1, countGoroutineHeaders, decodeProfile,
  sumValues, weigh, sortedEntries, getJ, ingest, ingestOk, findSource, big, jstr, assertJsonError,
} from './lib/runtime.mjs';

const FILES = readdirSync(dataFile(FIXTURE_DIR)).sort();
const PPROF_KINDS = ['cpu', 'heap', 'allocs', 'mutex', 'block'];

/** Which ingest kind a fixture file is, or null. */
function kindOf(f) {
  if (/^goroutines-.*\.(txt|pb\.gz)$/.test(f)) return 'goroutine';
  const m = /^(cpu|heap|allocs|mutex|block)-\d+\.pb\.gz$/.exec(f);
  return m ? m[1] : null;
}
const SNAPSHOT_FILES = FILES.filter(kindOf);

/** What the file says the server must accept (computed from the file, not the server). */
function expectedAccepted(f) {
  const buf = fixture(f);
  if (/^goroutines-debug2-/.test(f)) return countGoroutineHeaders(buf.toString('utf8'));
  if (/^goroutines-debug1-/.test(f)) return parseDebug1(buf.toString('utf8')).records.reduce((n, r) => n + r.count, 0);
  const p = decodeProfile(buf);
  if (kindOf(f) === 'goroutine') return sumValues(p.samples, 1)[0];
  return p.samples.length;
}

const STDERR = parseStderr(fixture('runtime-stderr.log').toString('utf8'));
const STAMPED = parseStderr(fixture('runtime-stderr.stamped.log').toString('utf8'));
const SPAN_LINES = fixture('spans.otlp.jsonl').toString('utf8').split('\n').filter((l) => l.trim());
const CPU_FILE = FILES.find((f) => /^cpu-\d+\.pb\.gz$/.test(f));

let srv;
before(async () => { srv = await startServer(); });
after(async () => { if (srv) await srv.cleanup(); });

test('fixture sanity: the files this suite reads are there', () => {
  assert.ok(STDERR.gc.length > 10 && STDERR.sched.length > 5, `gc ${STDERR.gc.length}, sched ${STDERR.sched.length}`);
  assert.equal(STAMPED.gc.length, STDERR.gc.length);
  assert.equal(STAMPED.sched.length, STDERR.sched.length);
  assert.ok(STAMPED.gc.every((g) => g.stamp !== null), 'every stamped gc line has a stamp');
  const kinds = new Set(SNAPSHOT_FILES.map(kindOf));
  for (const k of ['goroutine', ...PPROF_KINDS]) assert.ok(kinds.has(k), `no ${k} fixture`);
  assert.equal(FILES.filter((f) => /^goroutines-debug2-/.test(f)).length, 6);
  assert.equal(FILES.filter((f) => /^goroutines-debug1-/.test(f)).length, 1);
  assert.equal(FILES.filter((f) => /^goroutines-\d+\.pb\.gz$/.test(f)).length, 6);
  assert.ok(CPU_FILE);
  assert.ok(SPAN_LINES.length > 0);
});

// ------------------------------------------------------------------ every file

describe('every fixture file ingests', () => {
  test('runtime-stderr.log as gctrace and as schedtrace: accepted = gc lines + SCHED lines, both stored', async () => {
    const body = fixture('runtime-stderr.log');
    const want = STDERR.gc.length + STDERR.sched.length;
    for (const kind of ['gctrace', 'schedtrace']) {
      const instance = `stderr-as-${kind}`;
      const j = await ingestOk(srv, kind, { service: 'fixtures', instance, process_start: String(LAUNCH_NS) }, body);
      assert.equal(j.accepted, want, `${kind}: accepted (${STDERR.gc.length} gc + ${STDERR.sched.length} SCHED lines)`);
      assert.equal(j.skipped, STDERR.other, `${kind}: skipped = lines that are neither`);
      assert.equal(j.snapshot_id, undefined, `${kind}: stderr makes no snapshot`);
      const src = await findSource(srv, 'fixtures', instance);
      assert.ok(src, `${kind}: no source (fixtures, ${instance})`);
      assert.equal(src.id, j.source_id);
      const gc = await getJ(srv, `/api/v1/sources/${src.id}/gc?limit=10000`);
      assert.equal(gc.cycles.length, STDERR.gc.length, `${kind}: every gc line is stored`);
      assert.equal(gc.more, false);
      const sc = await getJ(srv, `/api/v1/sources/${src.id}/sched?limit=10000`);
      assert.equal(sc.samples.length, STDERR.sched.length, `${kind}: every SCHED line is stored`);
    }
  });

  test('runtime-stderr.stamped.log (receive stamps, no process_start)', async () => {
    const j = await ingestOk(srv, 'gctrace', { service: 'fixtures', instance: 'stamped' }, fixture('runtime-stderr.stamped.log'));
    assert.equal(j.accepted, STAMPED.gc.length + STAMPED.sched.length);
    assert.equal(j.skipped, STAMPED.other);
    const gc = await getJ(srv, `/api/v1/sources/${j.source_id}/gc?limit=10000`);
    assert.equal(gc.cycles.length, STAMPED.gc.length);
  });

  test('every goroutine dump and profile: 200, a snapshot, accepted from the file', async () => {
    const bySnapshot = new Map();
    for (const f of SNAPSHOT_FILES) {
      const kind = kindOf(f);
      const j = await ingestOk(srv, kind, { service: 'fixtures', instance: 'snapshots' }, fixture(f));
      const want = expectedAccepted(f);
      assert.equal(j.accepted, want, `${f}: accepted`);
      assert.ok(Number.isInteger(j.snapshot_id) && j.snapshot_id > 0, `${f}: snapshot_id ${j.snapshot_id}`);
      assert.deepEqual(j.errors, [], `${f}: errors`);
      bySnapshot.set(j.snapshot_id, { f, kind, want, source: j.source_id });
    }
    const sources = new Set([...bySnapshot.values()].map((x) => x.source));
    assert.equal(sources.size, 1, 'one (service, instance) is one source');
    const [sid] = sources;
    // the listing has each snapshot once, with its kind, format and total
    const all = await getJ(srv, `/api/v1/sources/${sid}/snapshots?start=0&end=4000000000`);
    assert.equal(all.snapshots.length, SNAPSHOT_FILES.length, 'snapshots listed');
    assert.equal(all.more, false);
    for (const s of all.snapshots) {
      const x = bySnapshot.get(s.id);
      assert.ok(x, `unexpected snapshot ${s.id}`);
      assert.equal(s.kind, x.kind, `${x.f}: kind`);
      const fmt = /debug2/.test(x.f) ? 'debug=2' : /debug1/.test(x.f) ? 'debug=1' : 'pprof';
      assert.equal(s.format, fmt, `${x.f}: format`);
      assert.equal(s.total, x.want, `${x.f}: total`);
    }
    for (const kind of ['goroutine', ...PPROF_KINDS]) {
      const l = await getJ(srv, `/api/v1/sources/${sid}/snapshots?kind=${kind}&start=0&end=4000000000`);
      assert.equal(l.snapshots.length, SNAPSHOT_FILES.filter((f) => kindOf(f) === kind).length, `kind=${kind}`);
      assert.ok(l.snapshots.every((s) => s.kind === kind));
    }
  });

  test('the same profiles as plain (un-gzipped) protobuf are read too', async () => {
    const pb = SNAPSHOT_FILES.filter((f) => f.endsWith('.pb.gz'));
    const failures = [];
    for (const f of pb) {
      const plain = zlib.gunzipSync(fixture(f));
      const r = await ingest(srv, kindOf(f), { service: 'fixtures', instance: 'plain-protobuf' }, plain);
      if (r.status !== 200) {
        failures.push(`${f} (kind ${kindOf(f)}, first byte 0x${plain[0].toString(16)}): ${r.status} ${r.body.toString().slice(0, 200)}`);
        continue;
      }
      assert.equal(r.json.accepted, expectedAccepted(f), `${f} plain: accepted`);
      const snap = await getJ(srv, `/api/v1/snapshots/${r.json.snapshot_id}?limit=10000`);
      assert.equal(snap.format, 'pprof', `${f} plain: format`);
      assert.equal(snap.total, expectedAccepted(f), `${f} plain: total`);
    }
    assert.deepEqual(failures, [], 'plain protobuf bodies must be accepted like the gzip\'d ones');
  });
});

// ------------------------------------------------------------------ Content-Encoding

describe('HTTP Content-Encoding on ingest stores the decompressed body', () => {
  const debug2 = FILES.find((f) => /^goroutines-debug2-/.test(f));
  for (const enc of ['zstd', 'gzip', 'deflate']) {
    test(`${enc}: a debug=2 dump, a gzip'd CPU profile and stderr`, async () => {
      const inst = `enc-${enc}`;
      // text dump
      const text = fixture(debug2);
      let j = await ingestOk(srv, 'goroutine', { service: 'fixtures', instance: inst }, compress(enc, text),
        { headers: { 'content-encoding': enc } });
      assert.equal(j.accepted, countGoroutineHeaders(text.toString()), `${enc} debug=2: accepted`);
      let snap = await getJ(srv, `/api/v1/snapshots/${j.snapshot_id}`);
      assert.equal(snap.format, 'debug=2');
      assert.equal(snap.raw_bytes, text.length, `${enc} debug=2: raw_bytes = decompressed length`);
      let raw = await request(srv, 'GET', `/api/v1/snapshots/${j.snapshot_id}/raw`);
      assert.equal(raw.status, 200);
      assert.ok(raw.body.equals(text), `${enc} debug=2: /raw is the body without the HTTP encoding (${raw.body.length} vs ${text.length} bytes)`);
      // a profile that is itself gzip'd (as Go serves it), sent with an HTTP encoding on top
      const cpu = fixture(CPU_FILE);
      j = await ingestOk(srv, 'cpu', { service: 'fixtures', instance: inst }, compress(enc, cpu), { headers: { 'content-encoding': enc } });
      assert.equal(j.accepted, expectedAccepted(CPU_FILE), `${enc} cpu: accepted`);
      snap = await getJ(srv, `/api/v1/snapshots/${j.snapshot_id}`);
      assert.equal(snap.raw_bytes, cpu.length, `${enc} cpu: raw_bytes`);
      raw = await request(srv, 'GET', `/api/v1/snapshots/${j.snapshot_id}/raw`);
      assert.equal(raw.status, 200);
      assert.ok(raw.body.equals(cpu), `${enc} cpu: /raw is the gzip'd profile as Go served it`);
      // stderr
      j = await ingestOk(srv, 'gctrace', { service: 'fixtures', instance: inst, process_start: String(LAUNCH_NS) },
        compress(enc, fixture('runtime-stderr.log')), { headers: { 'content-encoding': enc } });
      assert.equal(j.accepted, STDERR.gc.length + STDERR.sched.length, `${enc} stderr: accepted`);
    });
  }
});

describe('transfer', () => {
  test('chunked bodies (no Content-Length): stderr, a pprof profile, a text dump', async () => {
    const cases = [
      ['gctrace', fixture('runtime-stderr.log'), STDERR.gc.length + STDERR.sched.length],
      ['cpu', fixture(CPU_FILE), expectedAccepted(CPU_FILE)],
      ['goroutine', fixture(FILES.find((f) => /^goroutines-debug2-/.test(f))), expectedAccepted(FILES.find((f) => /^goroutines-debug2-/.test(f)))],
    ];
    for (const [kind, body, want] of cases) {
      const r = await request(srv, 'POST', `/api/v1/ingest/${kind}?service=fixtures&instance=chunked&process_start=${LAUNCH_NS}`,
        { body, chunked: true, chunkSize: 1000 });
      assert.equal(r.status, 200, `${kind} chunked: ${r.status} ${r.body.toString().slice(0, 200)}`);
      assert.equal(JSON.parse(r.body.toString()).accepted, want, `${kind} chunked: accepted`);
    }
  });

  test('16 concurrent ingests of every kind: all stored, each once', async () => {
    const jobs = [];
    for (let i = 0; i < 2; i++) {
      for (const f of SNAPSHOT_FILES.filter((x) => !/debug2/.test(x) || x === SNAPSHOT_FILES.find((y) => /debug2/.test(y)))) {
        jobs.push([kindOf(f), f]);
      }
    }
    jobs.push(['gctrace', 'runtime-stderr.log']);
    const res = await mapLimit(jobs, 16, ([kind, f]) =>
      ingest(srv, kind, { service: 'fixtures', instance: 'concurrent', process_start: String(LAUNCH_NS) }, fixture(f)));
    for (const [i, r] of res.entries()) assert.equal(r.status, 200, `${jobs[i][1]}: ${r.status} ${r.body.toString().slice(0, 200)}`);
    const sid = res[0].json.source_id;
    assert.ok(res.every((r) => r.json.source_id === sid), 'one source');
    const list = await getJ(srv, `/api/v1/sources/${sid}/snapshots?start=0&end=4000000000`);
    const ids = res.filter((r) => r.json.snapshot_id).map((r) => r.json.snapshot_id).sort((a, b) => a - b);
    assert.deepEqual(list.snapshots.map((s) => s.id).sort((a, b) => a - b), ids, 'every snapshot listed once');
    for (const [i, r] of res.entries()) {
      if (!r.json.snapshot_id) continue;
      const sn = list.snapshots.find((s) => s.id === r.json.snapshot_id);
      assert.equal(sn.total, expectedAccepted(jobs[i][1]), `${jobs[i][1]}: total`);
    }
  });
});

// ------------------------------------------------------------------ join to the spans' source

describe('runtime data joins the source that sent the spans', () => {
  let js; // a server of its own: the join depends on which sources exist
  let spanSource;
  const PODNAME = 'some-pod-name';
  const cpu = decodeProfile(fixture(CPU_FILE));
  const cpuPairs = new Map(); // "trace/span" -> {trace_id, span_id}
  for (const s of cpu.samples) {
    if (s.labels && s.labels.trace_id && s.labels.span_id) {
      cpuPairs.set(`${s.labels.trace_id}/${s.labels.span_id}`, { trace_id: s.labels.trace_id, span_id: s.labels.span_id });
    }
  }
  const fileSpans = new Set();
  let spansInstance = null;
  for (const l of SPAN_LINES) {
    for (const rs of JSON.parse(l).resourceSpans) {
      const a = rs.resource.attributes.find((x) => x.key === 'service.instance.id');
      spansInstance = a.value.stringValue;
      for (const ss of rs.scopeSpans) for (const s of ss.spans) fileSpans.add(`${s.traceId}/${s.spanId}`);
    }
  }

  before(async () => {
    js = await startServer();
    const res = await mapLimit(SPAN_LINES, 4, (l) => postTraces(js, Buffer.from(l), { contentType: 'application/json' }));
    for (const [i, r] of res.entries()) assert.equal(r.status, 200, `spans line ${i + 1}: ${r.status} ${r.body.toString().slice(0, 200)}`);
  });
  after(async () => { if (js) await js.cleanup(); });

  test('the spans made one source (checkout, shop-1-12707)', async () => {
    assert.equal(spansInstance, 'shop-1-12707');
    spanSource = await findSource(js, 'checkout', spansInstance);
    assert.ok(spanSource, `no source (checkout, ${spansInstance}) in ${jstr((await getJ(js, '/api/v1/sources')).sources)}`);
    const host = JSON.parse(SPAN_LINES[0]).resourceSpans[0].resource.attributes.find((a) => a.key === 'host.name').value.stringValue;
    assert.equal(spanSource.host, host, 'host from the spans\' resource');
  });

  test('an ingest naming only service=checkout lands on that source', async () => {
    const j = await ingestOk(js, 'gctrace', { service: 'checkout', process_start: String(LAUNCH_NS) }, fixture('runtime-stderr.log'));
    assert.equal(j.source_id, spanSource.id, 'service-only gctrace ingest joins the single spanning instance');
    const gc = await getJ(js, `/api/v1/sources/${spanSource.id}/gc?limit=10000`);
    assert.equal(gc.cycles.length, STDERR.gc.length);
    const g = await ingestOk(js, 'goroutine', { service: 'checkout' }, fixture(FILES.find((f) => /^goroutines-debug2-/.test(f))));
    assert.equal(g.source_id, spanSource.id, 'service-only goroutine ingest joins too');
    const snap = await getJ(js, `/api/v1/snapshots/${g.snapshot_id}?limit=1`);
    assert.equal(snap.source_id, spanSource.id);
  });

  test('a CPU profile sent as instance=some-pod-name goes to the spans\' source (learned from its span ids)', async () => {
    assert.ok(cpuPairs.size > 10, `CPU fixture has ${cpuPairs.size} labelled (trace, span) pairs`);
    const j = await ingestOk(js, 'cpu', { service: 'checkout', instance: PODNAME }, fixture(CPU_FILE));
    assert.equal(j.accepted, cpu.samples.length);
    assert.equal(j.source_id, spanSource.id, 'the report names the spans\' source');
    const snap = await getJ(js, `/api/v1/snapshots/${j.snapshot_id}?limit=10000`);
    assert.equal(snap.source_id, spanSource.id, 'the snapshot belongs to the spans\' source');
    const list = await getJ(js, `/api/v1/sources/${spanSource.id}/snapshots?kind=cpu&start=0&end=4000000000`);
    assert.deepEqual(list.snapshots.map((s) => s.id), [j.snapshot_id]);
    // the samples' span ids are the ones in the profile
    const want = weigh(cpu.samples, (s) => `${s.labels?.trace_id ?? ''}/${s.labels?.span_id ?? ''}`, (s) => s.values[0]);
    const got = weigh(snap.samples, (s) => `${s.trace_id ?? ''}/${s.span_id ?? ''}`, (s) => Number(s.values[0]));
    assert.deepEqual(sortedEntries(got), sortedEntries(want), 'span_id/trace_id of samples, weighted by sample count');
  });

  test('a later gctrace ingest with the same instance=some-pod-name lands there too', async () => {
    const j = await ingestOk(js, 'gctrace', { service: 'checkout', instance: PODNAME }, fixture('runtime-stderr.stamped.log'));
    assert.equal(j.source_id, spanSource.id);
    // the stamped cycles (start = stamp - phases) are now in the spans' source
    const g0 = STAMPED.gc[0];
    const start = g0.stamp - gcDuration(g0);
    const gc = await getJ(js, `/api/v1/sources/${spanSource.id}/gc?start=${start}&end=${start + 1n}`);
    assert.equal(gc.cycles.length, 1, `the stamped gc 1 (start ${start}) is in the spans' source`);
    assert.equal(gc.cycles[0].n, g0.n);
    assert.equal(big(gc.cycles[0].start_ns), start);
  });

  test('a goroutine profile sent as instance=other-pod is linked the same way', async () => {
    const f = FILES.find((x) => /^goroutines-\d+\.pb\.gz$/.test(x));
    const p = decodeProfile(fixture(f));
    const labelled = p.samples.filter((s) => s.labels?.span_id && s.labels?.trace_id);
    assert.ok(labelled.length > 0 && labelled.every((s) => fileSpans.has(`${s.labels.trace_id}/${s.labels.span_id}`)),
      'the fixture\'s labelled goroutines belong to spans of the file');
    const j = await ingestOk(js, 'goroutine', { service: 'checkout', instance: 'other-pod' }, fixture(f));
    assert.equal(j.source_id, spanSource.id);
    const snap = await getJ(js, `/api/v1/snapshots/${j.snapshot_id}?limit=1`);
    assert.equal(snap.source_id, spanSource.id);
  });

  test('a service with two spanning instances: a service-only ingest gets its own source (service, "")', async () => {
    for (const instance of ['twin-a', 'twin-b']) await postJsonOk(js, makeRequest({ service: 'twin', instance }).body);
    const a = await findSource(js, 'twin', 'twin-a');
    const b = await findSource(js, 'twin', 'twin-b');
    assert.ok(a && b, 'both span instances are sources');
    const j = await ingestOk(js, 'gctrace', { service: 'twin', process_start: String(LAUNCH_NS) }, fixture('runtime-stderr.log'));
    assert.notEqual(j.source_id, a.id, 'ambiguous: must not pick twin-a');
    assert.notEqual(j.source_id, b.id, 'ambiguous: must not pick twin-b');
    const anon = await findSource(js, 'twin', '');
    assert.ok(anon, 'a source (twin, "") exists');
    assert.equal(j.source_id, anon.id);
    // naming an instance that sent spans lands on it
    const k = await ingestOk(js, 'gctrace', { service: 'twin', instance: 'twin-b', process_start: String(LAUNCH_NS) }, fixture('runtime-stderr.log'));
    assert.equal(k.source_id, b.id);
  });

  test('the span ids in the CPU samples exist in /api/traces/{trace_id}', async () => {
    const pairs = [...cpuPairs.values()];
    const found = await mapLimit(pairs, 8, async ({ trace_id, span_id }) => {
      const r = await request(js, 'GET', `/api/traces/${trace_id}`);
      if (r.status !== 200) return false;
      const t = JSON.parse(r.body.toString());
      const spans = (t.batches || []).flatMap((b) => (b.scopeSpans || []).flatMap((ss) => ss.spans || []));
      return spans.some((s) => s.spanId === span_id && s.traceId === trace_id);
    });
    const n = found.filter(Boolean).length;
    const inFile = pairs.filter((p) => fileSpans.has(`${p.trace_id}/${p.span_id}`)).length;
    assert.ok(n * 2 > pairs.length, `only ${n} of ${pairs.length} CPU span ids were found through /api/traces`);
    assert.equal(n, inFile, 'the server finds exactly the CPU span ids that spans.otlp.jsonl contains');
  });

  /** A debug=1 dump with one record per label set. */
  const debug1 = (labelSets) => `goroutine profile: total ${labelSets.length}\n` + labelSets.map((l, i) =>
    `1 @ 0x43b336 0x468135 0x${(0x6b7ac5 + i * 16).toString(16)} 0x46b2c1\n# labels: ${JSON.stringify(l).replace(/","/g, '", "')}\n` +
    `#\t0x${(0x6b7ac4 + i * 16).toString(16)}\tmain.w${i}+0x1f\t/srv/main.go:${10 + i}\n\n`).join('');

  test('labelled goroutines whose span ids belong to two different sources are not linked', async () => {
    const other = makeRequest({ service: 'other-svc', instance: 'o1' });
    await postJsonOk(js, other.body);
    const os = other.body.resourceSpans[0].scopeSpans[0].spans[0];
    const { trace_id: tc, span_id: sc } = [...cpuPairs.values()].find((p) => fileSpans.has(`${p.trace_id}/${p.span_id}`));
    const text = debug1([{ span_id: sc, trace_id: tc }, { span_id: os.spanId, trace_id: os.traceId }]);
    const j = await ingestOk(js, 'goroutine', { service: 'checkout', instance: 'mixed-pod' }, text);
    assert.equal(j.accepted, 2);
    const own = await findSource(js, 'checkout', 'mixed-pod');
    assert.ok(own, 'the named (service, instance) is the source');
    assert.equal(j.source_id, own.id, 'span ids of two sources: no link');
    // span ids nobody stored: no link either
    const k = await ingestOk(js, 'goroutine', { service: 'checkout', instance: 'unknown-pod' },
      debug1([{ span_id: '0123456789abcdef', trace_id: '0123456789abcdef0123456789abcdef' }]));
    const unk = await findSource(js, 'checkout', 'unknown-pod');
    assert.ok(unk);
    assert.equal(k.source_id, unk.id);
    // the labels only of the spans' source: linked
    const l = await ingestOk(js, 'goroutine', { service: 'checkout', instance: 'pod-3' }, debug1([{ span_id: sc, trace_id: tc, span_name: 'x' }]));
    assert.equal(l.source_id, spanSource.id);
  });

  test('after a restart the runtime data and the learned link are still there', async () => {
    const before = await getJ(js, `/api/v1/sources/${spanSource.id}/snapshots?start=0&end=4000000000`);
    const gcBefore = (await getJ(js, `/api/v1/sources/${spanSource.id}/gc?limit=10000`)).cycles.length;
    await js.restart();
    const afterList = await getJ(js, `/api/v1/sources/${spanSource.id}/snapshots?start=0&end=4000000000`);
    assert.deepEqual(afterList.snapshots, before.snapshots, 'snapshots survive a restart');
    assert.equal((await getJ(js, `/api/v1/sources/${spanSource.id}/gc?limit=10000`)).cycles.length, gcBefore);
    const j = await ingestOk(js, 'heap', { service: 'checkout', instance: PODNAME }, fixture(FILES.find((f) => /^heap-/.test(f))));
    assert.equal(j.source_id, spanSource.id, 'the link (checkout, some-pod-name) is remembered across restarts');
  });

  test('the join server stops cleanly (exit 0)', async () => { await js.stop(); });
});

// ------------------------------------------------------------------ Pyroscope

describe('Pyroscope-compatible POST /ingest', () => {
  const cpuBuf = fixture(CPU_FILE);
  const FROM = 1795334476, UNTIL = 1795334482;

  async function pyro(name, body, headers, extra = '') {
    const p = `/ingest?name=${encodeURIComponent(name)}&from=${FROM}&until=${UNTIL}&format=pprof${extra}`;
    const r = await request(srv, 'POST', p, { body, headers });
    assert.equal(r.status, 200, `POST ${p}: ${r.status} ${r.body.toString().slice(0, 300)}\n${srv.log(1500)}`);
    return JSON.parse(r.body.toString());
  }

  async function checkStored(j, instance, { kind = 'cpu', file = CPU_FILE } = {}) {
    const src = await findSource(srv, 'app', instance);
    assert.ok(src, `no source (app, ${instance})`);
    assert.equal(j.source_id, src.id);
    const snap = await getJ(srv, `/api/v1/snapshots/${j.snapshot_id}?limit=10000`);
    assert.equal(snap.source_id, src.id);
    assert.equal(snap.kind, kind);
    assert.equal(snap.format, 'pprof');
    assert.equal(big(snap.time_ns), BigInt(FROM) * 1000000000n, 'time_ns = from');
    assert.equal(big(snap.duration_ns), BigInt(UNTIL - FROM) * 1000000000n, 'duration_ns = until - from');
    assert.equal(snap.total, expectedAccepted(file));
    const raw = await request(srv, 'GET', `/api/v1/snapshots/${j.snapshot_id}/raw`);
    assert.equal(raw.status, 200);
    if (kind === 'goroutine') {
      // a goroutine profile keeps no payload: /raw writes it again from its groups
      // (what it holds: goroutine_raw.test.mjs)
      assert.equal(snap.stored_payload_bytes, 0, 'no payload kept for a goroutine profile');
      assert.equal(snap.raw_bytes, fixture(file).length, 'raw_bytes: the size received');
    } else {
      assert.ok(raw.body.equals(fixture(file)), '/raw is the profile exactly');
    }
    const list = await getJ(srv, `/api/v1/sources/${src.id}/snapshots?kind=${kind}`);
    assert.ok(list.snapshots.some((s) => s.id === j.snapshot_id));
  }

  test('raw pprof body: app.cpu{instance=pod-raw,region=eu}', async () => {
    const j = await pyro('app.cpu{instance=pod-raw,region=eu}', cpuBuf, { 'content-type': 'application/octet-stream' });
    assert.equal(j.accepted, expectedAccepted(CPU_FILE));
    await checkStored(j, 'pod-raw');
  });

  test('multipart/form-data with a "profile" part (built by hand)', async () => {
    const boundary = '----mwtest' + 'b0undary42';
    const parts = [
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="profile"; filename="profile.pprof"\r\n` +
        'Content-Type: application/octet-stream\r\n\r\n'),
      cpuBuf,
      Buffer.from(`\r\n--${boundary}\r\nContent-Disposition: form-data; name="sample_type_config"; filename="sample_type_config.json"\r\n` +
        'Content-Type: application/octet-stream\r\n\r\n{"cpu":{"units":"nanoseconds","aggregation":"sum"}}'),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ];
    const body = Buffer.concat(parts);
    const j = await pyro('app.cpu{instance=pod-mp}', body, { 'content-type': `multipart/form-data; boundary=${boundary}` });
    assert.equal(j.accepted, expectedAccepted(CPU_FILE));
    await checkStored(j, 'pod-mp');
  });

  test('Pyroscope query parameters of real clients are accepted (spyName, sampleRate, units, aggregationType)', async () => {
    const p = `/ingest?name=${encodeURIComponent('app.cpu{instance=pod-gospy,__session_id__=abc}')}&from=${FROM}&until=${UNTIL}` +
      '&format=pprof&spyName=gospy&sampleRate=100&units=samples&aggregationType=sum';
    const r = await request(srv, 'POST', p, { body: cpuBuf, headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(r.status, 200, r.body.toString());
    await checkStored(JSON.parse(r.body.toString()), 'pod-gospy');
  });

  /** A multipart/form-data body as Go's mime/multipart writes pyroscope-go's uploads. */
  function formData(parts) {
    const boundary = 'f0e1d2c3b4a5968778695a4b3c2d1e0f';
    const chunks = [];
    for (const [name, filename, data] of parts) {
      chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${filename}"\r\n` +
        'Content-Type: application/octet-stream\r\n\r\n'), Buffer.from(data), Buffer.from('\r\n'));
    }
    chunks.push(Buffer.from(`--${boundary}--\r\n`));
    return { body: Buffer.concat(chunks), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
  }

  // pyroscope-go names no type in its names, and its mutex and block profiles have the same
  // sample types (contentions/count, delay/nanoseconds, period 1 in both of these fixtures):
  // only the display names of its sample_type_config part (its sample_types.go) tell them apart.
  test('sample_type_config display names tell a block profile from a mutex profile', async () => {
    const config = (what) => JSON.stringify({
      contentions: { units: 'lock_samples', 'display-name': `${what}_count` },
      delay: { units: 'lock_nanoseconds', 'display-name': `${what}_duration` },
    });
    for (const [kind, file] of [['block', FILES.find((f) => /^block-/.test(f))], ['mutex', FILES.find((f) => /^mutex-/.test(f))]]) {
      const { body, headers } = formData([['profile', 'profile.pprof', fixture(file)],
        ['sample_type_config', 'sample_type_config.json', config(kind)]]);
      const j = await pyro('app{instance=pod-stc,__session_id__=0123456789abcdef}', body, headers);
      assert.equal(j.accepted, expectedAccepted(file), `${kind}: accepted`);
      await checkStored(j, 'pod-stc', { kind, file });
    }
  });

  test('a sample_type_config part that is not a JSON object, or is over 64 KiB, is a 400 naming the part', async () => {
    // with or without a type in the name
    for (const [name, bad] of [['app{instance=pod-badcfg}', '{"contentions": '], ['app.cpu{instance=pod-badcfg}', '[1, 2]']]) {
      const { body, headers } = formData([['profile', 'profile.pprof', cpuBuf], ['sample_type_config', 'sample_type_config.json', bad]]);
      const p = `/ingest?name=${encodeURIComponent(name)}&from=${FROM}&until=${UNTIL}`;
      const r = await request(srv, 'POST', p, { body, headers });
      assert.match(assertJsonError(r, 400, `${name}: sample_type_config ${bad}`), /sample_type_config part is not a JSON object/);
    }
    // pyroscope-go's are 87 to 185 bytes; 64 KiB is the most the server reads
    const huge = JSON.stringify({ cpu: { 'display-name': 'x'.repeat(70000) } });
    const { body, headers } = formData([['profile', 'profile.pprof', cpuBuf], ['sample_type_config', 'sample_type_config.json', huge]]);
    const r = await request(srv, 'POST', `/ingest?name=${encodeURIComponent('app{instance=pod-badcfg}')}`, { body, headers });
    assert.match(assertJsonError(r, 400, 'a 70 kB sample_type_config'), /sample_type_config part is over 65536 bytes/);
    assert.equal(await findSource(srv, 'app', 'pod-badcfg'), undefined, 'nothing was stored');
  });

  test('without a type suffix the kind comes from the profile\'s sample types (as server/http/runtime.c documents)', async () => {
    const heap = FILES.find((f) => /^heap-/.test(f));
    const j = await pyro('app{instance=pod-nosuffix}', fixture(heap), { 'content-type': 'application/octet-stream' });
    const snap = await getJ(srv, `/api/v1/snapshots/${j.snapshot_id}?limit=1`);
    assert.equal(snap.kind, 'heap', 'a heap profile (inuse_space/alloc_space sample types) named "app" is a heap snapshot');
  });

  test('the name suffix gives the kind: .goroutines, .inuse_space, .alloc_space, .mutex_count, .block_count', async () => {
    const cases = [
      ['goroutines', 'goroutine', FILES.find((f) => /^goroutines-\d+\.pb\.gz$/.test(f))],
      ['inuse_space', 'heap', FILES.find((f) => /^heap-/.test(f))],
      ['alloc_space', 'allocs', FILES.find((f) => /^allocs-/.test(f))],
      ['mutex_count', 'mutex', FILES.find((f) => /^mutex-/.test(f))],
      ['block_count', 'block', FILES.find((f) => /^block-/.test(f))],
    ];
    for (const [suffix, kind, file] of cases) {
      const j = await pyro(`app.${suffix}{instance=pod-kinds}`, fixture(file), { 'content-type': 'application/octet-stream' });
      assert.equal(j.accepted, expectedAccepted(file), `${suffix}: accepted`);
      await checkStored(j, 'pod-kinds', { kind, file });
    }
  });
});

test('the server stops cleanly (exit 0) after all of the above', async () => {
  await srv.stop();
});

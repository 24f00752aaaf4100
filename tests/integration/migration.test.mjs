// Existing databases keep working (issue 17 point 4): a database written by the release
// before the compact span store (schema version 7, tests/data/migration/, see its README)
// is opened by today's meanwhiled, and everything the corpus it was made from holds reads
// back: every trace by id with its spans, attributes, events, links and status, the
// services and their operations with exact counts and percentiles, and search.
//
// The expected values come from the corpus file (bench-corpus-gen --spans 12000 --seed 7),
// decoded here with the test's own protobuf reader (lib/otlp.mjs), never from the server.
// When issue 17's migration 0008 lands, this is the test that says old rows stay readable.
//
// Phase 2 (docs/STORAGE-WIRING.md §7): the migrated file is at user_version 8; a second
// corpus (bench-corpus-gen --spans 12000 --seed 8, from the build dir, or MW_CORPUS_GEN)
// is posted to the same server and must be stored in the new form (span_blocks and
// span_tail, no new `spans` row); every trace, service, operation (count, p50/p90/p99) and
// search is checked over the union of both corpora, then again after a clean restart.
// tests/data/migration/README.md says what was broken to see it fail.
//
// MW_MIGRATION_DB=/path/to/other.db.zst runs it on another database (to see it fail on a
// damaged copy, say).

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Server, dataFile, getJson, get, mapLimit, postTraces } from './lib/server.mjs';
import { decodeTraceRequestPb, flattenSpans, assertTraceMatches } from './lib/otlp.mjs';

const unzstd = (file) => execFileSync('zstd', ['-q', '-d', '-c', file], { maxBuffer: 1 << 30 });

// ------------------------------------------------------------------ the corpus, decoded here

/** Decodes a corpus file (records of u32 length, u32 span count, ExportTraceServiceRequest). */
function decodeCorpus(buf, into = new Map()) {
  const recs = [];
  for (let off = 0; off < buf.length;) {
    assert.ok(off + 8 <= buf.length, 'corpus: truncated record header');
    const len = buf.readUInt32LE(off);
    const n = buf.readUInt32LE(off + 4);
    const body = buf.subarray(off + 8, off + 8 + len);
    const req = decodeTraceRequestPb(body);
    let have = 0;
    for (const rs of req.resourceSpans) for (const ss of rs.scopeSpans) have += ss.spans.length;
    assert.equal(have, n, `corpus record ${recs.length}: header says ${n} spans`);
    flattenSpans(req, into);
    recs.push(body);
    off += 8 + len;
  }
  return { expected: into, recs };
}

const serviceOf = (x) => {
  const kv = x.resource.find(([k]) => k === 'service.name');
  return kv ? kv[1].string : '';
};
const dur = (s) => BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano);

/** What the server must answer for the spans of `expected` (traceId -> Map(spanId -> ...)). */
function viewOf(expected) {
  const all = [...expected.values()].flatMap((m) => [...m.values()]);
  const spans = all.map((x) => x.span);
  // the window around the data, in unix ns (16+ digits: read as ns)
  let lo = null, hi = null;
  for (const s of spans) {
    const st = BigInt(s.startTimeUnixNano);
    if (lo === null || st < lo) lo = st;
    if (hi === null || st > hi) hi = st;
  }
  return { expected, all, spans, services: [...new Set(all.map(serviceOf))].sort(), win: `start=${lo}&end=${hi + 1n}` };
}

const C1 = decodeCorpus(unzstd(dataFile('migration', 'corpus-12000-seed7.bin.zst')));
const V1 = viewOf(C1.expected);
const records = C1.recs.length;
const { expected: EXPECTED, all: ALL, spans: SPANS, services: SERVICES } = V1;

// ------------------------------------------------------------------ the old database

const DB = process.env.MW_MIGRATION_DB || dataFile('migration', 'meanwhile-0007.db.zst');
let dir, srv;
before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'mw-migration-'));
  writeFileSync(path.join(dir, 'meanwhile.db'), unzstd(DB));
  srv = new Server({ dataDir: dir });
  await srv.start();
});
after(async () => {
  if (srv) await srv.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the server migrated the version 7 file to version 8 (span blocks) and to nothing else', () => {
  const lines = srv.stderr.split('\n').filter((l) => /msg="migrated database"/.test(l));
  assert.deepEqual(lines.map((l) => (l.match(/file=(\S+) version=(\d+)/) || []).slice(1)),
    [['0008_span_blocks.sql', '8']], `migration lines:\n${lines.join('\n')}`);
});

test('the corpus holds what the test relies on', () => {
  // the figures bench-corpus-gen printed when it wrote the file (see the README)
  assert.equal(records, 52, 'corpus records (batches)');
  assert.equal(SPANS.length, 12004, 'corpus spans');
  // a trace per request, and one per kafka message consumed (a CONSUMER root)
  const consumerRoots = SPANS.filter((s) => !s.parentSpanId && s.kind === 5).length;
  assert.equal(EXPECTED.size, 1046 + consumerRoots, 'corpus traces: requests plus consumer traces');
  assert.equal(SERVICES.length, 8, `services: ${SERVICES}`);
  // what a reader of the old rows must bring back, so the comparison below covers it
  assert.ok(SPANS.filter((s) => s.status.code === 2).length >= 20, 'spans with an error status');
  assert.ok(SPANS.filter((s) => s.status.message).length >= 5, 'spans with a status message');
  assert.ok(SPANS.filter((s) => s.events.some((e) => e.name === 'exception')).length >= 5, 'exception events');
  assert.ok(SPANS.filter((s) => s.events.length > 0).length >= 100, 'spans with events');
  assert.ok(SPANS.filter((s) => s.links.length > 0).length >= 5, 'spans with links');
  assert.ok(SPANS.some((s) => s.attributes.some(([, v]) => 'double' in v)), 'a double attribute');
  assert.ok(SPANS.some((s) => s.attributes.some(([, v]) => 'bool' in v)), 'a bool attribute');
  assert.ok(SPANS.some((s) => s.attributes.some(([, v]) => 'int' in v)), 'an int attribute');
});

// ------------------------------------------------------------------ checks, for a view of the data

/** Every trace of v, by id and through Tempo's v2 envelope, span for span. */
async function checkTraces(v, tids = [...v.expected.keys()]) {
  let n = 0;
  await mapLimit(tids, 8, async (tid) => {
    const got = await getJson(srv, `/api/traces/${tid}`);
    assertTraceMatches(got, v.expected.get(tid), tid);
    // Tempo's v2 envelope (what Grafana reads): the same resourceSpans
    const v2 = await getJson(srv, `/api/v2/traces/${tid}`);
    assert.equal(v2.status, 'COMPLETE', tid);
    assertTraceMatches({ batches: v2.trace.resourceSpans }, v.expected.get(tid), tid);
    n++;
  });
  assert.equal(n, tids.length);
}

function nearestRank(sorted, p) {
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.max(rank, 1) - 1];
}

// the server computes percentiles over the latest PCT_SAMPLE durations of an operation
// (docs/API.md): exact as long as no operation has more spans than that
const PCT_SAMPLE = 10000;

async function checkServices(v) {
  const j = await getJson(srv, '/api/v1/services');
  assert.deepEqual(j.services.map((s) => s.name), v.services);
  for (const svc of v.services) {
    const mine = v.all.filter((x) => serviceOf(x) === svc);
    const g = j.services.find((s) => s.name === svc);
    assert.equal(g.span_count, mine.length, `${svc}: span_count`);
    assert.equal(g.operation_count, new Set(mine.map((x) => x.span.name)).size, `${svc}: operation_count`);
    const inst = new Set(mine.map((x) => x.resource.find(([k]) => k === 'service.instance.id')[1].string));
    assert.equal(g.instance_count, inst.size, `${svc}: instance_count`);
  }
}

async function checkOperations(v) {
  let ops = 0;
  for (const svc of v.services) {
    const by = new Map();
    for (const x of v.all) {
      if (serviceOf(x) !== svc) continue;
      if (!by.has(x.span.name)) by.set(x.span.name, []);
      by.get(x.span.name).push(dur(x.span));
    }
    const j = await getJson(srv, `/api/v1/services/${encodeURIComponent(svc)}/operations?${v.win}`);
    assert.equal(j.service, svc);
    assert.equal(j.more, false, `${svc}: one page`);
    assert.deepEqual(j.operations.map((o) => o.name).sort(), [...by.keys()].sort(), `${svc}: operation names`);
    for (const o of j.operations) {
      const ds = by.get(o.name).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const where = `${svc} ${o.name}`;
      assert.ok(ds.length <= PCT_SAMPLE, `${where}: ${ds.length} spans, more than the percentile sample`);
      assert.equal(Number(o.count), ds.length, `${where}: count`);
      assert.equal(BigInt(o.max_ns), ds[ds.length - 1], `${where}: max_ns`);
      for (const p of [50, 90, 99]) assert.equal(BigInt(o[`p${p}_ns`]), nearestRank(ds, p), `${where}: p${p}_ns`);
      ops++;
    }
  }
  return ops;
}

/** Traces of v having a span of svc (named name, at least minNs long), slowest matching span first. */
function expectSearch(v, svc, name = null, minNs = 0n) {
  const best = new Map();
  for (const x of v.all) {
    if (serviceOf(x) !== svc || (name && x.span.name !== name)) continue;
    const d = dur(x.span);
    if (d < minNs) continue;
    if (!best.has(x.span.traceId) || best.get(x.span.traceId) < d) best.set(x.span.traceId, d);
  }
  return [...best.entries()].sort((a, b) => (a[1] > b[1] ? -1 : a[1] < b[1] ? 1 : 0));
}

async function checkSearch(v, qs, want, limit) {
  const j = await getJson(srv, `/api/search?${qs}`);
  assert.ok(Array.isArray(j.traces), `search ${qs}: no traces array`);
  const top = want.slice(0, limit);
  assert.ok(top.length > 0, `search ${qs}: the corpus has matches`);
  // durations decide the order; among equal ones the server picks, so compare durations
  // in order, and each trace's own slowest matching span
  assert.deepEqual(j.traces.map((t) => t.matchedSpanDurationMs), top.map(([, d]) => Number(d) / 1e6),
    `search ${qs}: matched durations, slowest first`);
  const wantBy = new Map(want);
  for (const t of j.traces) {
    assert.ok(wantBy.has(t.traceID), `search ${qs}: ${t.traceID} does not match`);
    assert.equal(t.matchedSpanDurationMs, Number(wantBy.get(t.traceID)) / 1e6, `search ${qs}: ${t.traceID}`);
    const root = [...v.expected.get(t.traceID).values()].find((x) => !x.span.parentSpanId);
    if (root) {
      assert.equal(t.rootServiceName, serviceOf(root), `search ${qs}: rootServiceName of ${t.traceID}`);
      assert.equal(t.rootTraceName, root.span.name, `search ${qs}: rootTraceName of ${t.traceID}`);
    }
  }
  assert.equal(new Set(j.traces.map((t) => t.traceID)).size, j.traces.length, `search ${qs}: distinct traces`);
  assert.equal(Boolean(j.more), want.length > limit, `search ${qs}: more`);
}

async function checkSearchEachService(v) {
  for (const svc of v.services) await checkSearch(v, `service=${svc}&limit=20&${v.win}`, expectSearch(v, svc), 20);
}

async function checkSearchNameMin(v) {
  // the most frequent operation of frontend, and its median as the threshold
  const counts = new Map();
  for (const x of v.all) if (serviceOf(x) === 'frontend') counts.set(x.span.name, (counts.get(x.span.name) || 0) + 1);
  const name = [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0];
  const ds = v.all.filter((x) => serviceOf(x) === 'frontend' && x.span.name === name).map((x) => dur(x.span))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const minNs = ds[ds.length >> 1];
  const minUs = minNs / 1000n; // a Go duration the server parses exactly: microseconds
  const want = expectSearch(v, 'frontend', name, minUs * 1000n);
  await checkSearch(v, `service=frontend&name=${encodeURIComponent(name)}&minDuration=${minUs}us&limit=50&${v.win}`,
    want, 50);
}

// ------------------------------------------------------------------ phase 1: the old rows

test('every trace of the corpus reads back from the old database, span for span', async () => {
  await checkTraces(V1);
});

test('a trace id the corpus does not have is a 404', async () => {
  let tid = 'f'.repeat(32);
  while (EXPECTED.has(tid)) tid = tid.slice(1) + '0';
  assert.equal((await get(srv, `/api/traces/${tid}`)).status, 404);
});

describe('services and operations', () => {
  test('GET /api/v1/services: the corpus services with their span, operation and instance counts', async () => {
    await checkServices(V1);
  });

  test('GET /api/v1/services/{service}/operations: exact counts and nearest-rank percentiles', async () => {
    await checkOperations(V1);
  });
});

describe('GET /api/search', () => {
  test('each service: its slowest traces', async () => {
    await checkSearchEachService(V1);
  });

  test('a span name and a minimum duration', async () => {
    await checkSearchNameMin(V1);
  });
});

// ------------------------------------------------------------------ phase 2: new rows next to the old

// A second corpus (another seed: other trace and span ids, the same services and base time,
// so new blocks sit in the same window as the old rows), generated here with the build's
// bench-corpus-gen and posted to the migrated server. The new spans must go to span_blocks
// and span_tail, never to `spans`, and every read must give the union of both corpora.

const BUILD = process.env.MW_BUILD_DIR;
const OLD_ROWS = 12004; // the fixture's `spans` rows: the first corpus

/** One read transaction of the file with the sqlite3 CLI (read-only: the server may be running, WAL). */
function sql(q) {
  return execFileSync('sqlite3', ['-readonly', path.join(dir, 'meanwhile.db'), q], { encoding: 'utf8' }).trim();
}
/** [spans rows, spans in span_blocks, spans in span_tail, span_blocks rows], in one statement (one snapshot). */
function spanForms() {
  return sql('SELECT (SELECT count(*) FROM spans), (SELECT coalesce(sum(n), 0) FROM span_blocks), '
    + '(SELECT coalesce(sum(n), 0) FROM span_tail), (SELECT count(*) FROM span_blocks)').split('|').map(Number);
}

describe('phase 2: a second corpus posted to the migrated server', () => {
  let C2, V2, V12, tmp;
  before(() => {
    assert.ok(BUILD || process.env.MW_CORPUS_GEN, 'MW_BUILD_DIR is not set: run through ctest');
    tmp = mkdtempSync(path.join(tmpdir(), 'mw-migration-corpus-'));
    const out = path.join(tmp, 'corpus-12000-seed8.bin');
    execFileSync(process.env.MW_CORPUS_GEN || path.join(BUILD, 'bench', 'corpus', 'bench-corpus-gen'), ['--spans', '12000', '--seed', '8', '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    C2 = decodeCorpus(readFileSync(out));
    V2 = viewOf(C2.expected);
    const union = new Map(C1.expected);
    for (const [tid, m] of C2.expected) union.set(tid, m);
    V12 = viewOf(union);
  });
  after(() => { if (tmp) rmSync(tmp, { recursive: true, force: true }); });

  test('the file is at version 8 and holds only the old rows, no block yet', () => {
    assert.equal(sql('PRAGMA user_version'), '8', 'PRAGMA user_version after the migration');
    assert.deepEqual(spanForms(), [OLD_ROWS, 0, 0, 0], '[spans rows, block spans, tail spans, blocks]');
    // the log line the migration test above relies on, as the brief of issue 17 words it
    assert.match(srv.stderr, /msg="migrated database".* file=0008_span_blocks\.sql /);
  });

  test('the second corpus is new: no trace or span id in common with the first', () => {
    assert.ok(V2.spans.length >= 12000, `second corpus: ${V2.spans.length} spans`);
    for (const tid of C2.expected.keys()) assert.ok(!C1.expected.has(tid), `trace ${tid} is in both corpora`);
    assert.equal(V12.spans.length, SPANS.length + V2.spans.length, 'union: span ids collide inside a shared trace');
    assert.deepEqual(V2.services, SERVICES, 'the same services: operations mix old and new rows');
  });

  test('posted as bench-corpus-send does (protobuf, one POST per record), every request answered 200', async () => {
    // the server answers after the commit: once every request has its 200, every span is stored
    await mapLimit(C2.recs, 2, async (body, i) => {
      const r = await postTraces(srv, body, { contentType: 'application/x-protobuf' });
      assert.equal(r.status, 200, `record ${i}: status ${r.status}, body ${r.body.toString().slice(0, 300)}\n${srv.log(1500)}`);
    });
    const svc = await getJson(srv, '/api/v1/services');
    assert.equal(svc.services.reduce((n, s) => n + s.span_count, 0), V12.spans.length, 'span_count over all services');
  });

  test('the new spans are in the new form: blocks and tail, not one row each', () => {
    const [rows, inBlocks, inTail, blocks] = spanForms();
    console.log(`# while running: spans rows=${rows}, span_blocks=${blocks} holding ${inBlocks} spans, span_tail ${inTail} spans`);
    assert.equal(rows, OLD_ROWS, '`spans` rows: the old ones only (a new span was written as a row)');
    assert.equal(inBlocks + inTail, V2.spans.length, `spans in span_blocks (${inBlocks}) + span_tail (${inTail})`);
  });

  test('every trace of both corpora reads back, span for span', async () => {
    await checkTraces(V12);
  });

  test('services, and every operation\'s count and p50/p90/p99 over the union', async () => {
    await checkServices(V12);
    const ops = await checkOperations(V12);
    console.log(`# union: ${V12.expected.size} traces, ${V12.spans.length} spans, ${ops} operations checked`);
    assert.ok(ops >= 10, `${ops} operations`);
  });

  test('search over both corpora', async () => {
    await checkSearchEachService(V12);
    await checkSearchNameMin(V12);
  });

  test('a clean stop seals the open blocks: the new spans all in span_blocks, span_tail empty', async () => {
    await srv.stop(); // SIGTERM, exit 0, "stopped", no unexpected log line
    const [rows, inBlocks, inTail, blocks] = spanForms();
    console.log(`# after the clean stop: spans rows=${rows}, span_blocks=${blocks} holding ${inBlocks} spans, span_tail ${inTail} spans`);
    assert.deepEqual([rows, inBlocks, inTail], [OLD_ROWS, V2.spans.length, 0], '[spans rows, block spans, tail spans]');
    assert.ok(blocks >= 12, `${blocks} blocks for ${inBlocks} spans (at most 1,024 spans a block)`);
    assert.equal(sql('PRAGMA user_version'), '8');
    assert.equal(sql('PRAGMA integrity_check'), 'ok');
  });

  test('after a restart: no migration, and everything reads back again', async () => {
    await srv.start();
    assert.doesNotMatch(srv.stderr, /msg="migrated database"/, 'a second start migrated again');
    await checkTraces(V12);
    await checkServices(V12);
    await checkOperations(V12);
    await checkSearchEachService(V12);
    await checkSearchNameMin(V12);
    await srv.stop();
  });
});

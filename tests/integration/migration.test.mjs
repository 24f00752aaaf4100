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
// MW_MIGRATION_DB=/path/to/other.db.zst runs it on another database (to see it fail on a
// damaged copy, say).

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Server, dataFile, getJson, get, mapLimit } from './lib/server.mjs';
import { decodeTraceRequestPb, flattenSpans, assertTraceMatches } from './lib/otlp.mjs';

const unzstd = (file) => execFileSync('zstd', ['-q', '-d', '-c', file], { maxBuffer: 1 << 30 });

// ------------------------------------------------------------------ the corpus, decoded here

const CORPUS = unzstd(dataFile('migration', 'corpus-12000-seed7.bin.zst'));
const EXPECTED = new Map(); // traceId -> Map(spanId -> {span, resource, scope})
let records = 0;
for (let off = 0; off < CORPUS.length; records++) {
  assert.ok(off + 8 <= CORPUS.length, 'corpus: truncated record header');
  const len = CORPUS.readUInt32LE(off);
  const n = CORPUS.readUInt32LE(off + 4);
  const req = decodeTraceRequestPb(CORPUS.subarray(off + 8, off + 8 + len));
  let have = 0;
  for (const rs of req.resourceSpans) for (const ss of rs.scopeSpans) have += ss.spans.length;
  assert.equal(have, n, `corpus record ${records}: header says ${n} spans`);
  flattenSpans(req, EXPECTED);
  off += 8 + len;
}
const ALL = [...EXPECTED.values()].flatMap((m) => [...m.values()]);
const SPANS = ALL.map((x) => x.span);
const serviceOf = (x) => {
  const kv = x.resource.find(([k]) => k === 'service.name');
  return kv ? kv[1].string : '';
};
const dur = (s) => BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano);
const SERVICES = [...new Set(ALL.map(serviceOf))].sort();

// The window around the data, in unix ns (16+ digits: read as ns).
let lo = null, hi = null;
for (const s of SPANS) {
  const st = BigInt(s.startTimeUnixNano);
  if (lo === null || st < lo) lo = st;
  if (hi === null || st > hi) hi = st;
}
const WIN = `start=${lo}&end=${hi + 1n}`;

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

test('every trace of the corpus reads back from the old database, span for span', async () => {
  let n = 0;
  await mapLimit([...EXPECTED.keys()], 8, async (tid) => {
    const got = await getJson(srv, `/api/traces/${tid}`);
    assertTraceMatches(got, EXPECTED.get(tid), tid);
    // Tempo's v2 envelope (what Grafana reads): the same resourceSpans
    const v2 = await getJson(srv, `/api/v2/traces/${tid}`);
    assert.equal(v2.status, 'COMPLETE', tid);
    assertTraceMatches({ batches: v2.trace.resourceSpans }, EXPECTED.get(tid), tid);
    n++;
  });
  assert.equal(n, EXPECTED.size);
});

test('a trace id the corpus does not have is a 404', async () => {
  let tid = 'f'.repeat(32);
  while (EXPECTED.has(tid)) tid = tid.slice(1) + '0';
  assert.equal((await get(srv, `/api/traces/${tid}`)).status, 404);
});

// ------------------------------------------------------------------ services and operations

function nearestRank(sorted, p) {
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.max(rank, 1) - 1];
}

describe('services and operations', () => {
  test('GET /api/v1/services: the corpus services with their span, operation and instance counts', async () => {
    const j = await getJson(srv, '/api/v1/services');
    assert.deepEqual(j.services.map((s) => s.name), SERVICES);
    for (const svc of SERVICES) {
      const mine = ALL.filter((x) => serviceOf(x) === svc);
      const g = j.services.find((s) => s.name === svc);
      assert.equal(g.span_count, mine.length, `${svc}: span_count`);
      assert.equal(g.operation_count, new Set(mine.map((x) => x.span.name)).size, `${svc}: operation_count`);
      const inst = new Set(mine.map((x) => x.resource.find(([k]) => k === 'service.instance.id')[1].string));
      assert.equal(g.instance_count, inst.size, `${svc}: instance_count`);
    }
  });

  test('GET /api/v1/services/{service}/operations: exact counts and nearest-rank percentiles', async () => {
    for (const svc of SERVICES) {
      const by = new Map();
      for (const x of ALL) {
        if (serviceOf(x) !== svc) continue;
        if (!by.has(x.span.name)) by.set(x.span.name, []);
        by.get(x.span.name).push(dur(x.span));
      }
      const j = await getJson(srv, `/api/v1/services/${encodeURIComponent(svc)}/operations?${WIN}`);
      assert.equal(j.service, svc);
      assert.equal(j.more, false, `${svc}: one page`);
      assert.deepEqual(j.operations.map((o) => o.name).sort(), [...by.keys()].sort(), `${svc}: operation names`);
      for (const o of j.operations) {
        const ds = by.get(o.name).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        const where = `${svc} ${o.name}`;
        assert.equal(Number(o.count), ds.length, `${where}: count`);
        assert.equal(BigInt(o.max_ns), ds[ds.length - 1], `${where}: max_ns`);
        for (const p of [50, 90, 99]) assert.equal(BigInt(o[`p${p}_ns`]), nearestRank(ds, p), `${where}: p${p}_ns`);
      }
    }
  });
});

// ------------------------------------------------------------------ search

/** Traces having a span of svc (named name, at least minNs long), slowest matching span first. */
function expectSearch(svc, name = null, minNs = 0n) {
  const best = new Map();
  for (const x of ALL) {
    if (serviceOf(x) !== svc || (name && x.span.name !== name)) continue;
    const d = dur(x.span);
    if (d < minNs) continue;
    if (!best.has(x.span.traceId) || best.get(x.span.traceId) < d) best.set(x.span.traceId, d);
  }
  return [...best.entries()].sort((a, b) => (a[1] > b[1] ? -1 : a[1] < b[1] ? 1 : 0));
}

function rootOf(tid) {
  return [...EXPECTED.get(tid).values()].find((x) => !x.span.parentSpanId);
}

async function checkSearch(qs, want, limit) {
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
    const root = rootOf(t.traceID);
    if (root) {
      assert.equal(t.rootServiceName, serviceOf(root), `search ${qs}: rootServiceName of ${t.traceID}`);
      assert.equal(t.rootTraceName, root.span.name, `search ${qs}: rootTraceName of ${t.traceID}`);
    }
  }
  assert.equal(new Set(j.traces.map((t) => t.traceID)).size, j.traces.length, `search ${qs}: distinct traces`);
  assert.equal(Boolean(j.more), want.length > limit, `search ${qs}: more`);
}

describe('GET /api/search', () => {
  test('each service: its slowest traces', async () => {
    for (const svc of SERVICES) await checkSearch(`service=${svc}&limit=20&${WIN}`, expectSearch(svc), 20);
  });

  test('a span name and a minimum duration', async () => {
    // the most frequent operation of frontend, and its median as the threshold
    const counts = new Map();
    for (const x of ALL) if (serviceOf(x) === 'frontend') counts.set(x.span.name, (counts.get(x.span.name) || 0) + 1);
    const name = [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0];
    const ds = ALL.filter((x) => serviceOf(x) === 'frontend' && x.span.name === name).map((x) => dur(x.span))
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const minNs = ds[ds.length >> 1];
    const minUs = minNs / 1000n; // a Go duration the server parses exactly: microseconds
    const want = expectSearch('frontend', name, minUs * 1000n);
    await checkSearch(`service=frontend&name=${encodeURIComponent(name)}&minDuration=${minUs}us&limit=50&${WIN}`,
      want, 50);
  });
});

// Round trip of the Go 1.19 "checkout" service's real export (tests/data/go1.19-checkout/
// spans.otlp.jsonl, ~2,900 spans in 17 OTLP/JSON requests): every span reads back
// identically, search orders by the matching span's duration, and the service/operation
// statistics equal those computed here from the file (nearest-rank percentiles).
// Then the same bodies compressed with gzip, deflate and zstd (each into a fresh server).

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, readData, postTraces, getJson, get, mapLimit, compress } from './lib/server.mjs';
import { flattenSpans, assertTraceMatches } from './lib/otlp.mjs';

const LINES = readData('go1.19-checkout', 'spans.otlp.jsonl').toString('utf8').split('\n').filter((l) => l.trim());
const REQS = LINES.map((l) => JSON.parse(l));
const EXPECTED = new Map();
for (const r of REQS) flattenSpans(r, EXPECTED);
const SPANS = [...EXPECTED.values()].flatMap((m) => [...m.values()].map((x) => x.span));
const dur = (s) => BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano);

// Explicit time window around the data (spans start at unix ~1795334474..1795334490 s).
const WIN_START = 1795334000;
const WIN_END = 1795335000;
const WIN = `start=${WIN_START}&end=${WIN_END}`;

let srv;
before(async () => {
  srv = await startServer();
});
after(async () => { if (srv) await srv.cleanup(); });

test('fixture sanity', () => {
  assert.equal(REQS.length, 17);
  assert.equal(SPANS.length, 2880);
  assert.equal(EXPECTED.size, 960);
});

test('every line of spans.otlp.jsonl is accepted (application/json) with {}', async () => {
  const results = await mapLimit(LINES, 4, (line) => postTraces(srv, Buffer.from(line), { contentType: 'application/json' }));
  for (const [i, r] of results.entries()) {
    assert.equal(r.status, 200, `line ${i + 1}: status ${r.status}: ${r.body.toString().slice(0, 300)}\n${srv.log(1500)}`);
    assert.match(String(r.headers['content-type']), /^application\/json/);
    assert.deepEqual(JSON.parse(r.body.toString()), {}, `line ${i + 1}: full success is {}`);
  }
});

test('GET /api/traces/{id} returns exactly the spans of the file for all 960 traces', async () => {
  await mapLimit([...EXPECTED.keys()], 8, async (tid) => {
    const got = await getJson(srv, `/api/traces/${tid}`);
    assertTraceMatches(got, EXPECTED.get(tid), tid);
  });
});

// ------------------------------------------------------------------ search

/** Expected search result: traces with a span (service checkout) named `name` within bounds. */
function expectSearch({ name, minNs = null, maxNs = null }) {
  const best = new Map(); // traceId -> longest matching span duration
  for (const s of SPANS) {
    if (name && s.name !== name) continue;
    const d = dur(s);
    if (minNs !== null && d < minNs) continue;
    if (maxNs !== null && d > maxNs) continue;
    if (!best.has(s.traceId) || best.get(s.traceId) < d) best.set(s.traceId, d);
  }
  return [...best.entries()].sort((a, b) => (a[1] > b[1] ? -1 : a[1] < b[1] ? 1 : 0));
}
const rootOf = (tid) => [...EXPECTED.get(tid).values()].map((x) => x.span).find((s) => !s.parentSpanId);

async function search(qs) {
  const j = await getJson(srv, `/api/search?${qs}`);
  assert.ok(Array.isArray(j.traces), `search ${qs}: no "traces" array: ${JSON.stringify(j).slice(0, 300)}`);
  return j.traces;
}

function checkSearchResult(got, want, qs, { checkDuration = true, none = false } = {}) {
  // an empty expectation passes on an empty answer and checks nothing: only where meant
  assert.ok(none ? want.length === 0 : want.length > 0, `search ${qs}: expected ${want.length} traces (none: ${none})`);
  assert.deepEqual(got.map((t) => t.traceID), want.map(([tid]) => tid),
    `search ${qs}: trace ids / order (slowest first) differ; got durations ${got.map((t) => t.durationMs).join(',')}`);
  for (const t of got) {
    const root = rootOf(t.traceID);
    assert.equal(t.rootServiceName, 'checkout', `search ${qs}: rootServiceName`);
    assert.equal(t.rootTraceName, root.name, `search ${qs}: rootTraceName`);
    assert.equal(typeof t.startTimeUnixNano, 'string', 'startTimeUnixNano must be a string');
    assert.equal(t.startTimeUnixNano, root.startTimeUnixNano, `search ${qs}: startTimeUnixNano of ${t.traceID}`);
    assert.equal(typeof t.durationMs, 'number', 'durationMs must be a number');
    if (checkDuration) {
      // root spans enclose their traces in this data set: trace duration == root duration
      const ms = Number(dur(root)) / 1e6;
      assert.ok(Math.abs(t.durationMs - ms) <= 1, `search ${qs}: durationMs ${t.durationMs} vs ${ms} for ${t.traceID}`);
    }
  }
}

describe('GET /api/search', () => {
  test('service=checkout, name="GET /checkout", minDuration=100ms: all matches, slowest first', async () => {
    const qs = `service=checkout&name=${encodeURIComponent('GET /checkout')}&minDuration=100ms&limit=100&${WIN}`;
    const want = expectSearch({ name: 'GET /checkout', minNs: 100000000n });
    assert.ok(want.length >= 5 && want.length < 100, `expected a handful of slow traces, have ${want.length}`);
    checkSearchResult(await search(qs), want, qs);
  });

  test('the same threshold written as 0.1s, and times as RFC 3339', async () => {
    const s = new Date(WIN_START * 1000).toISOString().replace(/\.000Z$/, 'Z');
    const e = new Date(WIN_END * 1000).toISOString().replace(/\.000Z$/, 'Z');
    const qs = `service=checkout&name=${encodeURIComponent('GET /checkout')}&minDuration=0.1s&limit=100&start=${encodeURIComponent(s)}&end=${encodeURIComponent(e)}`;
    checkSearchResult(await search(qs), expectSearch({ name: 'GET /checkout', minNs: 100000000n }), qs);
    const qs2 = `service=checkout&name=${encodeURIComponent('GET /checkout')}&minDuration=100ms&maxDuration=2m&limit=100&${WIN}`;
    checkSearchResult(await search(qs2), expectSearch({ name: 'GET /checkout', minNs: 100000000n }), qs2);
    const qs3 = `service=checkout&name=${encodeURIComponent('GET /checkout')}&minDuration=1.5s&limit=100&${WIN}`;
    checkSearchResult(await search(qs3), [], qs3, { none: true });
  });

  test('service only (no name): any span of the service within bounds, slowest first', async () => {
    const qs = `service=checkout&minDuration=100ms&limit=100&${WIN}`;
    checkSearchResult(await search(qs), expectSearch({ name: null, minNs: 100000000n }), qs);
  });

  test('minDuration + maxDuration bound the matching span', async () => {
    const qs = `service=checkout&name=${encodeURIComponent('GET /checkout')}&minDuration=90ms&maxDuration=120ms&limit=100&${WIN}`;
    const want = expectSearch({ name: 'GET /checkout', minNs: 90000000n, maxNs: 120000000n });
    assert.ok(want.length > 0);
    checkSearchResult(await search(qs), want, qs);
  });

  test('limit keeps the slowest; default limit is 20', async () => {
    const all = expectSearch({ name: 'GET /checkout', minNs: 20000000n });
    assert.ok(all.length > 20, `need > 20 candidates, have ${all.length}`);
    let qs = `service=checkout&name=${encodeURIComponent('GET /checkout')}&minDuration=20ms&limit=3&${WIN}`;
    checkSearchResult(await search(qs), all.slice(0, 3), qs);
    qs = `service=checkout&name=${encodeURIComponent('GET /checkout')}&minDuration=20ms&${WIN}`;
    checkSearchResult(await search(qs), all.slice(0, 20), qs);
  });

  test('ordering follows the matching (non-root) span: name=db.query minDuration=3ms', async () => {
    const qs = `service=checkout&name=db.query&minDuration=3ms&limit=100&${WIN}`;
    const want = expectSearch({ name: 'db.query', minNs: 3000000n });
    assert.ok(want.length >= 5, `have ${want.length}`);
    checkSearchResult(await search(qs), want, qs, { checkDuration: false });
  });

  test('a window before the data finds nothing; an unknown service finds nothing', async () => {
    assert.deepEqual(await search(`service=checkout&start=${WIN_START - 100000}&end=${WIN_START - 1000}`), []);
    assert.deepEqual(await search(`service=no-such-service&${WIN}`), []);
  });
});

// ------------------------------------------------------------------ services / operations

/** Nearest-rank percentile of ascending BigInt durations. */
function nearestRank(sorted, p) {
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.max(rank, 1) - 1];
}

function expectOperations(startSec, endSec) {
  const lo = BigInt(startSec) * 1000000000n;
  const hi = BigInt(endSec) * 1000000000n;
  const byName = new Map();
  for (const s of SPANS) {
    const st = BigInt(s.startTimeUnixNano);
    if (st < lo || st >= hi) continue;
    if (!byName.has(s.name)) byName.set(s.name, []);
    byName.get(s.name).push(dur(s));
  }
  const ops = new Map();
  for (const [name, ds] of byName) {
    ds.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    ops.set(name, {
      name, count: ds.length, p50_ns: nearestRank(ds, 50), p90_ns: nearestRank(ds, 90),
      p99_ns: nearestRank(ds, 99), max_ns: ds[ds.length - 1],
    });
  }
  return ops;
}

async function checkOperations(startSec, endSec) {
  const want = expectOperations(startSec, endSec);
  const j = await getJson(srv, `/api/v1/services/checkout/operations?start=${startSec}&end=${endSec}`);
  assert.equal(j.service, 'checkout');
  assert.ok(Array.isArray(j.operations), 'operations must be an array');
  const got = new Map(j.operations.map((o) => [o.name, o]));
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), `operation names in [${startSec},${endSec})`);
  for (const [name, w] of want) {
    const g = got.get(name);
    assert.equal(Number(g.count), w.count, `${name}: count`);
    for (const k of ['p50_ns', 'p90_ns', 'p99_ns', 'max_ns']) {
      assert.equal(BigInt(g[k]), w[k], `${name}: ${k} (nearest rank over ${w.count} spans) in [${startSec},${endSec})`);
    }
  }
}

describe('services and operations', () => {
  test('GET /api/v1/services', async () => {
    const j = await getJson(srv, '/api/v1/services');
    assert.ok(Array.isArray(j.services));
    const names = j.services.map((s) => s.name);
    assert.deepEqual(names, [...names].sort(), 'services sorted by name');
    const c = j.services.find((s) => s.name === 'checkout');
    assert.ok(c, `no checkout service in ${JSON.stringify(j)}`);
    assert.equal(c.span_count, SPANS.length);
    assert.equal(c.operation_count, new Set(SPANS.map((s) => s.name)).size);
    const instances = new Set();
    for (const r of REQS) for (const rs of r.resourceSpans) {
      instances.add(rs.resource.attributes.find((a) => a.key === 'service.instance.id').value.stringValue);
    }
    assert.equal(c.instance_count, instances.size);
  });

  test('operations over the whole window: count and nearest-rank p50/p90/p99/max', async () => {
    await checkOperations(WIN_START, WIN_END);
  });

  test('operations over a sub-window [start, end) count only spans starting in it', async () => {
    await checkOperations(1795334480, 1795334485);
  });

  test('operations: start/end as RFC 3339 give the same answer as unix seconds', async () => {
    const rfc = (sec) => new Date(sec * 1000).toISOString().replace(/\.000Z$/, 'Z');
    const a = await getJson(srv, `/api/v1/services/checkout/operations?start=1795334480&end=1795334485`);
    const b = await getJson(srv, `/api/v1/services/checkout/operations?start=${encodeURIComponent(rfc(1795334480))}&end=${encodeURIComponent(rfc(1795334485))}`);
    const byName = (j) => [...j.operations].sort((x, y) => (x.name < y.name ? -1 : 1));
    assert.deepEqual(byName(b), byName(a));
  });

  test('unknown service -> 404', async () => {
    const r = await get(srv, `/api/v1/services/no-such-service/operations?start=${WIN_START}&end=${WIN_END}`);
    assert.equal(r.status, 404, r.body.toString());
  });
});

// ------------------------------------------------------------------ compression variants

describe('Content-Encoding variants (fresh server per encoding)', () => {
  for (const enc of ['identity', 'gzip', 'deflate', 'zstd']) {
    test(`Content-Encoding: ${enc}`, async () => {
      const s = await startServer();
      try {
        const lines = LINES.slice(0, 4);
        const expected = new Map();
        for (const l of lines) flattenSpans(JSON.parse(l), expected);
        const nSpans = [...expected.values()].reduce((n, m) => n + m.size, 0);
        for (const [i, l] of lines.entries()) {
          const body = compress(enc, Buffer.from(l));
          const r = await postTraces(s, body, { contentType: 'application/json', encoding: enc, chunked: i % 2 === 1 });
          assert.equal(r.status, 200, `${enc} line ${i + 1}: ${r.status} ${r.body.toString().slice(0, 300)}\n${s.log(1500)}`);
          assert.deepEqual(JSON.parse(r.body.toString()), {});
        }
        const svc = (await getJson(s, '/api/v1/services')).services.find((x) => x.name === 'checkout');
        assert.equal(svc && svc.span_count, nSpans, `${enc}: span_count`);
        await mapLimit([...expected.keys()].slice(0, 60), 8, async (tid) => {
          assertTraceMatches(await getJson(s, `/api/traces/${tid}`), expected.get(tid), tid);
        });
        await s.stop();
      } finally {
        await s.cleanup();
      }
    });
  }
});

// Contract tests of Grafana Tempo's HTTP API as meanwhiled serves it, standing in
// for Grafana's Tempo data source. Each endpoint's answer is checked against the
// shape of the examples Tempo publishes in its API documentation,
// https://grafana.com/docs/tempo/latest/api_docs/ (sections "Query", "Query V2",
// "Search" with "Example of TraceQL search" and "Example of tags-based search",
// "Search tags", "Search tags V2", "Search tag values", "Search tag values V2",
// "Query Echo endpoint", "List build information"), and its values against the
// spans this test pushes. The protobuf forms follow tempopb (tempo.proto):
// Trace { repeated ResourceSpans resourceSpans = 1 }, wire-identical to OTLP
// TracesData, and TraceByIDResponse { Trace trace = 1; ... }.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, postJsonOk, request, getJson } from './lib/server.mjs';
import { decodeTraceRequestPb, pbFields, rndHex } from './lib/otlp.mjs';

const srv = await startServer();
const now = BigInt(Date.now()) * 1000000n;
const ms = (n) => BigInt(n) * 1000000n;

const str = (key, v) => ({ key, value: { stringValue: v } });
const int = (key, v) => ({ key, value: { intValue: String(v) } });

const A = rndHex(16), B = rndHex(16), C = rndHex(16);
const span = (traceId, name, { kind = 2, durMs, startMs = 0, attrs = [], status = 0, parent } = {}) => ({
  traceId, spanId: rndHex(8), ...(parent ? { parentSpanId: parent } : {}), name, kind,
  startTimeUnixNano: String(now + ms(startMs)), endTimeUnixNano: String(now + ms(startMs + durMs)),
  attributes: attrs, status: status ? { code: status } : {},
});
const aRoot = span(A, 'GET /checkout', { durMs: 300, attrs: [str('http.method', 'GET'), int('http.status_code', 200)] });
const aDb = span(A, 'db.query', { kind: 3, durMs: 120, startMs: 100, parent: aRoot.spanId, status: 2,
  attrs: [str('db.system', 'postgresql')] });
const bRoot = span(B, 'POST /cart', { durMs: 50, status: 2, attrs: [str('http.method', 'POST'), int('http.status_code', 500)] });
const cRoot = span(C, 'GET /checkout', { durMs: 80, attrs: [str('http.method', 'GET'), int('http.status_code', 200)] });

await postJsonOk(srv, { resourceSpans: [
  { resource: { attributes: [str('service.name', 'checkout'), str('deployment.environment', 'prod')] },
    scopeSpans: [{ scope: { name: 'lab' }, spans: [aRoot, aDb, cRoot] }] },
  { resource: { attributes: [str('service.name', 'cart'), str('deployment.environment', 'staging')] },
    scopeSpans: [{ scope: { name: 'lab' }, spans: [bRoot] }] },
] });

const pushed = new Map([[A, [aRoot, aDb]], [B, [bRoot]], [C, [cRoot]]]);
const get = (p, headers = {}) => request(srv, 'GET', p, { headers });
const enc = encodeURIComponent;
async function bad(p, re) {
  const r = await get(p);
  assert.equal(r.status, 400, `${p}: ${r.body}`);
  assert.match(JSON.parse(r.body.toString()).error, re, p);
}
const ids = (traces) => traces.map((t) => t.traceID).sort();
const sorted = (...v) => [...v].sort();

test('GET /api/echo answers 200 "echo" ("Query Echo endpoint")', async () => {
  const r = await get('/api/echo');
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'echo');
  await bad('/api/echo?x=1', /unknown parameter "x"/);
});

test('GET /api/status/buildinfo has Tempo\'s fields ("List build information")', async () => {
  const j = await getJson(srv, '/api/status/buildinfo');
  for (const k of ['version', 'revision', 'branch', 'buildDate', 'buildUser', 'goVersion'])
    assert.equal(typeof j[k], 'string', k);
  assert.ok(j.version.length > 0);
});

/** Span ids and names per trace, from OTLP JSON-shaped resource spans. */
function spansOf(resourceSpans) {
  const out = [];
  for (const rs of resourceSpans) for (const ss of rs.scopeSpans) for (const s of ss.spans) out.push(`${s.spanId} ${s.name}`);
  return out.sort();
}
const expectSpans = (tid) => pushed.get(tid).map((s) => `${s.spanId} ${s.name}`).sort();

test('GET /api/traces/{id}: OTLP JSON, or protobuf with Accept: application/protobuf ("Query")', async () => {
  const j = await getJson(srv, `/api/traces/${A}`);
  assert.deepEqual(spansOf(j.batches), expectSpans(A));
  const svc = j.batches[0].resource.attributes.find((a) => a.key === 'service.name');
  assert.deepEqual(svc.value, { stringValue: 'checkout' });
  const r = await get(`/api/traces/${A}?start=1700000000&end=2100000000`, { accept: 'application/protobuf' });
  assert.equal(r.status, 200);
  assert.match(r.headers['content-type'], /^application\/protobuf/);
  assert.deepEqual(spansOf(decodeTraceRequestPb(r.body).resourceSpans), expectSpans(A));
  await bad(`/api/traces/${A}?mode=all`, /unknown parameter "mode"/);
  await bad(`/api/traces/${A}?start=soon`, /start must be/);
});

test('GET /api/v2/traces/{id}: the v2 envelope, in JSON and protobuf ("Query V2")', async () => {
  const j = await getJson(srv, `/api/v2/traces/${B}`);
  assert.equal(j.status, 'COMPLETE');
  assert.deepEqual(spansOf(j.trace.resourceSpans), expectSpans(B));
  const r = await get(`/api/v2/traces/${B}`, { accept: 'application/protobuf' });
  assert.equal(r.status, 200);
  const fields = pbFields(r.body);
  assert.equal(fields.length, 1, 'TraceByIDResponse: the trace alone (status COMPLETE is the default)');
  assert.equal(fields[0].f, 1);
  assert.deepEqual(spansOf(decodeTraceRequestPb(fields[0].v).resourceSpans), expectSpans(B));
  assert.equal((await get(`/api/v2/traces/${rndHex(16)}`)).status, 404);
  await bad('/api/v2/traces/abc', /trace id must be 32 hex digits/);
  await bad(`/api/v2/traces/${B}?blockStart=0`, /unknown parameter "blockStart"/);
});

/** The search answer's shape, as in Tempo's examples. */
function checkSearchShape(j) {
  assert.ok(Array.isArray(j.traces));
  for (const t of j.traces) {
    assert.match(t.traceID, /^[0-9a-f]{32}$/);
    assert.equal(typeof t.rootServiceName, 'string');
    assert.equal(typeof t.rootTraceName, 'string');
    assert.match(t.startTimeUnixNano, /^\d+$/);
    assert.equal(typeof t.durationMs, 'number');
    if (t.spanSets) {
      for (const set of t.spanSets) {
        assert.equal(typeof set.matched, 'number');
        for (const s of set.spans) {
          assert.match(s.spanID, /^[0-9a-f]{16}$/);
          assert.match(s.startTimeUnixNano, /^\d+$/);
          assert.match(s.durationNanos, /^\d+$/);
        }
      }
    }
  }
  if (j.metrics) assert.equal(typeof j.metrics, 'object');
}

test('GET /api/search?tags= (logfmt): a case-insensitive substring of span or resource attributes ("Search")', async () => {
  let j = await getJson(srv, `/api/search?tags=${enc('http.method=post')}`);
  checkSearchShape(j);
  assert.deepEqual(ids(j.traces), [B]);
  assert.equal(j.traces[0].rootServiceName, 'cart');
  assert.equal(j.traces[0].rootTraceName, 'POST /cart');
  assert.equal(j.traces[0].durationMs, 50);

  j = await getJson(srv, `/api/search?tags=${enc('service.name=checkout http.status_code=200')}`);
  assert.deepEqual(ids(j.traces), sorted(A, C));
  // each listed span carries the attributes the tags matched, as OTLP KeyValues
  for (const t of j.traces)
    assert.deepEqual(t.spanSets[0].spans[0].attributes,
      [{ key: 'service.name', value: { stringValue: 'checkout' } }, { key: 'http.status_code', value: { intValue: '200' } }]);
  j = await getJson(srv, `/api/search?tags=${enc('name="GET /checkout"')}`);
  assert.deepEqual(ids(j.traces), sorted(A, C));

  // the example of the documentation: tags and minDuration
  j = await getJson(srv, `/api/search?tags=${enc('service.name=checkout')}&minDuration=100ms`);
  checkSearchShape(j);
  assert.deepEqual(ids(j.traces), [A]);
  const set = j.traces[0].spanSets[0];
  assert.deepEqual(set.spans.map((s) => s.spanID).sort(), sorted(aRoot.spanId, aDb.spanId));
  assert.equal(set.matched, 2);
  const db = set.spans.find((s) => s.spanID === aDb.spanId);
  assert.equal(db.durationNanos, String(ms(120)));
  assert.equal(db.startTimeUnixNano, aDb.startTimeUnixNano);

  j = await getJson(srv, `/api/search?tags=${enc('db.system=postgres')}&spss=1`);
  assert.deepEqual(ids(j.traces), [A]);
  assert.deepEqual(j.traces[0].spanSets[0].spans.map((s) => s.spanID), [aDb.spanId]);
  assert.deepEqual(j.traces[0].spanSets[0].spans[0].attributes, [{ key: 'db.system', value: { stringValue: 'postgresql' } }]);

  j = await getJson(srv, `/api/search?tags=${enc('http.method=get')}&limit=1`);
  assert.deepEqual(ids(j.traces), [A], 'slowest matching span first');
  assert.equal(j.more, true);
  j = await getJson(srv, `/api/search?tags=${enc('deployment.environment=nowhere')}`);
  assert.deepEqual(j.traces, []);

  await bad(`/api/search?tags=${enc('http.method')}`, /tags must be logfmt key=value pairs/);
  await bad(`/api/search?tags=${enc('a="b')}`, /no closing double quote/);
  await bad('/api/search?spss=0', /spss must be an integer from 1 to 100/);
});

test('GET /api/search: start and end in unix seconds, limit, unknown parameters', async () => {
  const s = Number(now / 1000000000n);
  let j = await getJson(srv, `/api/search?tags=${enc('http.method=GET')}&start=${s - 3600}&end=${s + 3600}`);
  assert.deepEqual(ids(j.traces), sorted(A, C));
  j = await getJson(srv, `/api/search?tags=${enc('http.method=GET')}&start=${s - 7200}&end=${s - 3600}`);
  assert.deepEqual(j.traces, []);
  j = await getJson(srv, `/api/search?q=${enc('{ }')}&limit=20`);
  assert.deepEqual(ids(j.traces), sorted(A, B, C), 'q={} is every span');
  await bad('/api/search?tag=a%3Db', /unknown parameter "tag"/);
  await bad('/api/search?limit=0', /limit must be an integer from 1 to 1000/);
});

test('GET /api/search?q= (TraceQL, the subset of docs/TRACEQL.md)', async () => {
  let j = await getJson(srv, `/api/search?q=${enc('{ status = error }')}`);
  checkSearchShape(j);
  assert.deepEqual(ids(j.traces), sorted(A, B));
  j = await getJson(srv, `/api/search?q=${enc('{ resource.service.name = "checkout" && duration > 100ms }')}`);
  assert.deepEqual(ids(j.traces), [A]);
  j = await getJson(srv, `/api/search?q=${enc('{ span.db.system =~ "postgres.*" }')}`);
  assert.deepEqual(ids(j.traces), [A]);
  // outside the subset: a 400 naming the part, never the filter ignored
  await bad(`/api/search?q=${enc('{ status = error } | count() > 2')}`, /^q: .*pipeline.*column \d+/i);
  await bad(`/api/search?q=${enc('{ span.x =~ "(?i)a" }')}`, /^q: .*column \d+/);
});

test('GET /api/search?q= with spanset operators: evaluated on the whole trace', async () => {
  // Tempo's "Combine spansets using operators": && needs a span for each side in one
  // trace and lists the spans of both; the structural operators list their right side
  let j = await getJson(srv, `/api/search?q=${enc('{ resource.deployment.environment = "prod" } && { resource.deployment.environment = "staging" }')}`);
  checkSearchShape(j);
  assert.deepEqual(j.traces, [], 'prod and staging are never in one trace here');
  j = await getJson(srv, `/api/search?q=${enc('{ resource.deployment.environment = "prod" } || { resource.deployment.environment = "staging" }')}`);
  assert.deepEqual(ids(j.traces), sorted(A, B, C));
  j = await getJson(srv, `/api/search?q=${enc('{ name = "GET /checkout" } && { span.db.system = "postgresql" }')}`);
  checkSearchShape(j);
  assert.deepEqual(ids(j.traces), [A]);
  assert.deepEqual(j.traces[0].spanSets[0].spans.map((s) => s.spanID), [aRoot.spanId, aDb.spanId], 'both sides, longest first');
  assert.equal(j.traces[0].spanSets[0].matched, 2);
  assert.equal(j.traces[0].matchedSpanDurationMs, 300);
  j = await getJson(srv, `/api/search?q=${enc('{ name = "GET /checkout" } >> { status = error }')}`);
  assert.deepEqual(ids(j.traces), [A]);
  assert.deepEqual(j.traces[0].spanSets[0].spans.map((s) => s.spanID), [aDb.spanId], 'the right side only');
  assert.equal(j.traces[0].spanSets[0].matched, 1);
  j = await getJson(srv, `/api/search?q=${enc('{ resource.service.name = "checkout" } > { kind = client }')}`);
  assert.deepEqual(ids(j.traces), [A]);
  j = await getJson(srv, `/api/search?q=${enc('{ status = error } < { }')}&spss=1`);
  assert.deepEqual(ids(j.traces), [A], 'B errs too, but has no parent');
  assert.deepEqual(j.traces[0].spanSets[0].spans.map((s) => s.spanID), [aRoot.spanId]);
  j = await getJson(srv, `/api/search?q=${enc('{ name = "POST /cart" } >> { }')}`);
  assert.deepEqual(j.traces, []);
  assert.equal(j.metrics.inspectedSpans >= 1, true);
  j = await getJson(srv, `/api/search?q=${enc('{ } ~ { }')}`);
  assert.deepEqual(j.traces, [], 'no span here has a sibling');
  j = await getJson(srv, `/api/search?q=${enc('{ status = error } !< { status = error }')}`);
  assert.deepEqual(ids(j.traces), sorted(A, B), 'the last error of each cascade');
  j = await getJson(srv, `/api/search?q=${enc('{ name = "GET /checkout" } &>> { status = error }')}`);
  assert.deepEqual(ids(j.traces), [A]);
  assert.deepEqual(j.traces[0].spanSets[0].spans.map((s) => s.spanID), [aRoot.spanId, aDb.spanId], 'both sides');
  await bad(`/api/search?q=${enc('{ } >>> { }')}`, /^q: expected a spanset.*column 7/);
  await bad(`/api/v2/search/tags?q=${enc('{ } && { }')}`, /^q: the spanset operators/);
  await bad(`/api/v2/search/tag/resource.service.name/values?q=${enc('{ } >> { }')}`, /^q: the spanset operators/);
});

test('minDuration and maxDuration: the trace\'s duration with tags (as Tempo), refused with q', async () => {
  // aDb lasts 120ms in trace A, which lasts 300ms (aRoot); Tempo bounds the trace
  let j = await getJson(srv, `/api/search?tags=${enc('db.system=postgres')}&minDuration=200ms`);
  assert.deepEqual(ids(j.traces), [A]);
  assert.deepEqual(j.traces[0].spanSets[0].spans.map((s) => s.spanID), [aDb.spanId]);
  j = await getJson(srv, `/api/search?tags=${enc('db.system=postgres')}&maxDuration=250ms`);
  assert.deepEqual(j.traces, [], 'the trace lasts 300ms');
  j = await getJson(srv, `/api/search?tags=${enc('db.system=postgres')}&minDuration=300ms&maxDuration=300ms`);
  assert.deepEqual(ids(j.traces), [A], 'both bounds take the value itself');
  j = await getJson(srv, `/api/search?tags=${enc('http.method=GET')}&minDuration=81ms`);
  assert.deepEqual(ids(j.traces), [A], 'C lasts 80ms');
  // Tempo parses them with q and then ignores them: refused here rather than ignored
  await bad(`/api/search?q=${enc('{ status = error }')}&minDuration=1ms`, /^minDuration is not taken with q/);
  await bad(`/api/search?q=${enc('{ status = error }')}&maxDuration=1s`, /^maxDuration is not taken with q/);
  await bad(`/api/search?q=${enc('{}')}&minDuration=1ms`, /^minDuration is not taken with q/); // q={} too
  // nor tags with q (Tempo: "can't specify tags and q in the same query")
  await bad(`/api/search?q=${enc('{ status = error }')}&tags=${enc('a=b')}`, /^tags and q are not taken together/);
});

test('GET /api/search/tags: tag names, by scope ("Search tags")', async () => {
  let j = await getJson(srv, '/api/search/tags');
  for (const k of ['service.name', 'deployment.environment', 'http.method', 'http.status_code', 'db.system'])
    assert.ok(j.tagNames.includes(k), k);
  assert.deepEqual(j.tagNames, [...j.tagNames].sort());
  assert.match(j.metrics.inspectedBytes, /^\d+$/);
  j = await getJson(srv, '/api/search/tags?scope=resource');
  assert.deepEqual(j.tagNames, ['deployment.environment', 'service.name']);
  j = await getJson(srv, '/api/search/tags?scope=span');
  assert.deepEqual(j.tagNames, ['db.system', 'http.method', 'http.status_code']);
  j = await getJson(srv, '/api/search/tags?scope=intrinsic');
  assert.deepEqual(j.tagNames, ['duration', 'kind', 'name', 'status']);
  await bad('/api/search/tags?scope=event', /scope must be all, resource, span or intrinsic/);
  await bad('/api/search/tags?q=%7B%7D', /unknown parameter "q"/);
});

test('GET /api/v2/search/tags: tag names in scopes ("Search tags V2")', async () => {
  let j = await getJson(srv, '/api/v2/search/tags');
  const byName = Object.fromEntries(j.scopes.map((s) => [s.name, s.tags]));
  assert.deepEqual(byName.resource, ['deployment.environment', 'service.name']);
  assert.deepEqual(byName.span, ['db.system', 'http.method', 'http.status_code']);
  assert.deepEqual(byName.intrinsic, ['duration', 'kind', 'name', 'status']);
  j = await getJson(srv, '/api/v2/search/tags?scope=span&q=%7B%7D');
  assert.deepEqual(j.scopes.map((s) => s.name), ['span']);
  await bad('/api/v2/search/tags?foo=1', /unknown parameter "foo"/);
});

test('GET /api/search/tag/{tag}/values ("Search tag values")', async () => {
  let j = await getJson(srv, '/api/search/tag/service.name/values');
  assert.deepEqual(j.tagValues, ['cart', 'checkout']);
  j = await getJson(srv, '/api/search/tag/http.method/values');
  assert.deepEqual(j.tagValues, ['GET', 'POST']);
  j = await getJson(srv, '/api/search/tag/http.status_code/values');
  assert.deepEqual(j.tagValues, ['200', '500']);
  j = await getJson(srv, '/api/search/tag/deployment.environment/values');
  assert.deepEqual(j.tagValues, ['prod', 'staging']);
  j = await getJson(srv, '/api/search/tag/nothing.here/values');
  assert.deepEqual(j.tagValues, []);
  await bad('/api/search/tag/service.name/values?q=%7B%7D', /unknown parameter "q"/);
});

test('GET /api/v2/search/tag/{identifier}/values: typed values ("Search tag values V2")', async () => {
  let j = await getJson(srv, '/api/v2/search/tag/resource.service.name/values');
  assert.deepEqual(j.tagValues, [{ type: 'string', value: 'cart' }, { type: 'string', value: 'checkout' }]);
  j = await getJson(srv, '/api/v2/search/tag/.service.name/values');
  assert.deepEqual(j.tagValues.map((v) => v.value), ['cart', 'checkout']);
  j = await getJson(srv, '/api/v2/search/tag/span.http.status_code/values');
  assert.deepEqual(j.tagValues, [{ type: 'int', value: '200' }, { type: 'int', value: '500' }]);
  j = await getJson(srv, '/api/v2/search/tag/span.service.name/values');
  assert.deepEqual(j.tagValues, [], 'service.name is a resource attribute');
  j = await getJson(srv, '/api/v2/search/tag/.deployment.environment/values');
  assert.deepEqual(j.tagValues.map((v) => v.value), ['prod', 'staging']);
  j = await getJson(srv, '/api/v2/search/tag/name/values');
  assert.deepEqual(j.tagValues.map((v) => v.value), ['GET /checkout', 'POST /cart', 'db.query']);
  j = await getJson(srv, '/api/v2/search/tag/status/values');
  assert.deepEqual(j.tagValues, ['error', 'ok', 'unset'].map((value) => ({ type: 'keyword', value })));
  await bad('/api/v2/search/tag/http.method/values', /tag must be a TraceQL identifier/);
  await bad('/api/v2/search/tag/.x/values?limit=0', /limit must be an integer from 1 to 10000/);
});

test('a tags or q search reads at most the 5,000 longest spans, says when it stopped there, and narrows q by the index', async () => {
  const s2 = await startServer();
  try {
    const N = 6000;
    const spans = Array.from({ length: N }, (_, i) => {
      const tid = rndHex(16);
      return span(tid, 'bulk', { durMs: i + 1, attrs: i === 0 ? [str('needle', 'yes')] : [str('needle', 'no')] });
    });
    await postJsonOk(s2, { resourceSpans: [{ resource: { attributes: [str('service.name', 'bulk')] },
      scopeSpans: [{ spans }] }] });
    let j = await getJson(s2, `/api/search?tags=${enc('needle=yes')}`);
    assert.deepEqual(j.traces, [], 'the one match is the shortest span, past the 5,000 longest');
    assert.equal(j.spanLimitReached, true);
    assert.equal(j.metrics.inspectedSpans, 5000);
    j = await getJson(s2, `/api/search?tags=${enc('needle=yes')}&maxDuration=5ms`);
    assert.deepEqual(ids(j.traces), [spans[0].traceId], 'a narrower search reaches it');
    assert.equal(j.spanLimitReached, false);
    assert.equal(j.metrics.inspectedSpans, 5);
    j = await getJson(s2, `/api/search?tags=${enc('needle=no')}&limit=3`);
    assert.deepEqual(j.traces.map((t) => t.durationMs), [6000, 5999, 5998]);
    assert.equal(j.more, true);
    assert.equal(j.spanLimitReached, false);

    // q narrowed through the operations index: an equality on resource.service.name
    // and name reads only those operations' spans, here shorter than all 6,000 others
    const small = [0, 1].map(() => span(rndHex(16), 'tiny', { durMs: 0, attrs: [str('needle', 'small')] }));
    await postJsonOk(s2, { resourceSpans: [{ resource: { attributes: [str('service.name', 'small')] },
      scopeSpans: [{ spans: small }] }] });
    const smallIds = small.map((x) => x.traceId).sort();
    j = await getJson(s2, `/api/search?q=${enc('{ .service.name = "small" }')}`);
    assert.deepEqual(j.traces, [], 'unscoped: a span attribute could hold it, so no narrowing');
    assert.equal(j.spanLimitReached, true);
    for (const q of ['{ resource.service.name = "small" }', '{ name = "tiny" }',
      '{ resource.service.name = "small" && name = "tiny" && span.needle = "small" }']) {
      j = await getJson(s2, `/api/search?q=${enc(q)}`);
      assert.deepEqual(ids(j.traces), smallIds, q);
      assert.equal(j.spanLimitReached, false, q);
      assert.equal(j.metrics.inspectedSpans, 2, q);
    }
    j = await getJson(s2, `/api/search?q=${enc('{ resource.service.name = "small" }')}&service=bulk`);
    assert.deepEqual(j.traces, [], 'service= and the query must both hold');
  } finally {
    await s2.stop();
  }
});

test('stop: the log holds no warning', async () => {
  await srv.stop();
});

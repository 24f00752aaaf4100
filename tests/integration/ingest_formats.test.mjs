// The three bodies the official OpenTelemetry JS exporters sent (tests/data/otel-js) are
// accepted exactly as the exporters sent them (chunked, no Content-Length), and every span
// reads back identically through GET /api/traces/{id}. Expected values come from an
// independent decode (JSON.parse / the protobuf wire reader in lib/otlp.mjs).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { startServer, readData, postTraces, getJson, mapLimit } from './lib/server.mjs';
import {
  decodeTraceRequestPb, decodeTraceResponsePb, encodeTraceRequestPb, flattenSpans, assertTraceMatches, rndHex, makeRequest,
} from './lib/otlp.mjs';

const FIXTURES = [
  { file: 'otlp-js-pb-0.bin', contentType: 'application/x-protobuf', encoding: null,
    decode: (b) => decodeTraceRequestPb(b), service: 'cart-proto' },
  { file: 'otlp-js-json-1.bin', contentType: 'application/json', encoding: null,
    decode: (b) => JSON.parse(b.toString('utf8')), service: 'cart-json' },
  { file: 'otlp-js-pb-2.gzip.bin', contentType: 'application/x-protobuf', encoding: 'gzip',
    decode: (b) => decodeTraceRequestPb(zlib.gunzipSync(b)), service: 'cart-proto-gzip' },
];

let srv;
before(async () => { srv = await startServer(); });
after(async () => { if (srv) await srv.cleanup(); });

// The fixtures' headers file records what the exporter sent: check our assumptions hold.
test('fixture headers: chunked, no content-length', () => {
  const lines = readData('otel-js', 'otlp-js-headers.txt').toString().trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 3);
  for (const [i, l] of lines.entries()) {
    assert.equal(l.headers['transfer-encoding'], 'chunked');
    assert.equal(l.headers['content-length'], undefined);
    assert.equal(l.headers['content-type'], FIXTURES[i].contentType);
    assert.equal(l.headers['content-encoding'] || null, FIXTURES[i].encoding);
    assert.equal(l.bytes, readData('otel-js', FIXTURES[i].file).length);
  }
});

const expectedAll = new Map(); // traceId -> Map(spanId -> {...})

for (const fx of FIXTURES) {
  test(`POST ${fx.file} (${fx.contentType}${fx.encoding ? ', ' + fx.encoding : ''}, chunked) -> 200`, async () => {
    const body = readData('otel-js', fx.file);
    const expected = flattenSpans(fx.decode(body));
    const nSpans = [...expected.values()].reduce((n, m) => n + m.size, 0);
    assert.equal(nSpans, 40, 'fixture should hold 40 spans');
    for (const [tid, m] of expected) expectedAll.set(tid, m);

    const r = await postTraces(srv, body, {
      contentType: fx.contentType, encoding: fx.encoding, chunked: true,
      headers: { 'user-agent': 'OTel-OTLP-Exporter-JavaScript/0.223.1' },
    });
    assert.equal(r.status, 200, `status ${r.status}: ${r.body.toString().slice(0, 300)}\n${srv.log(1500)}`);
    assert.equal(r.headers['content-type'], fx.contentType, 'response Content-Type must equal the request Content-Type');
    if (fx.contentType === 'application/json') {
      assert.deepEqual(JSON.parse(r.body.toString()), {}, 'full success is the empty JSON object');
    } else {
      assert.equal(r.body.length, 0, `full success is an empty protobuf message, got ${r.body.length} bytes`);
      assert.equal(decodeTraceResponsePb(r.body), null);
    }
  });
}

test('every span of the three bodies reads back identically via GET /api/traces/{id}', async () => {
  assert.equal(expectedAll.size > 0, true, 'the POST tests must have run');
  const ids = [...expectedAll.keys()];
  await mapLimit(ids, 8, async (tid) => {
    const got = await getJson(srv, `/api/traces/${tid}`);
    assertTraceMatches(got, expectedAll.get(tid), tid);
  });
  // A few spot checks on concrete values of the fixture, independent of the normaliser.
  const json = JSON.parse(readData('otel-js', 'otlp-js-json-1.bin').toString());
  const errSpan = json.resourceSpans[0].scopeSpans[0].spans.find((s) => s.status && s.status.code === 2);
  const got = await getJson(srv, `/api/traces/${errSpan.traceId}`);
  const b = got.batches.find((x) => x.scopeSpans.some((ss) => ss.spans.some((s) => s.spanId === errSpan.spanId)));
  const svc = b.resource.attributes.find((a) => a.key === 'service.name');
  assert.deepEqual(svc.value, { stringValue: 'cart-json' });
  const ss = b.scopeSpans.find((x) => x.spans.some((s) => s.spanId === errSpan.spanId));
  assert.deepEqual(ss.scope, { name: 'capture', version: '1.0.0' });
  const s = ss.spans.find((x) => x.spanId === errSpan.spanId);
  assert.equal(s.name, 'GET /cart');
  assert.equal(s.kind, 2);
  assert.equal(s.startTimeUnixNano, errSpan.startTimeUnixNano);
  assert.equal(s.endTimeUnixNano, errSpan.endTimeUnixNano);
  assert.equal(s.status.code, 2);
  assert.equal(s.status.message, 'upstream failed');
  assert.equal(s.flags, 257);
  assert.equal('parentSpanId' in s, false, 'parentSpanId is omitted for a root span');
  const attr = Object.fromEntries(s.attributes.map((a) => [a.key, a.value]));
  assert.deepEqual(attr['http.response.status_code'], { intValue: '500' });
  assert.deepEqual(attr.ratio, { doubleValue: 0.5 });
  assert.deepEqual(attr.ok, { boolValue: true });
  assert.deepEqual(attr.tags, { arrayValue: { values: [{ stringValue: 'a' }, { stringValue: 'b' }] } });
});

test('trace ids are accepted in upper case too', async () => {
  const tid = [...expectedAll.keys()][0];
  const got = await getJson(srv, `/api/traces/${tid.toUpperCase()}`);
  assertTraceMatches(got, expectedAll.get(tid), tid);
});

test('re-sending the same bodies (Content-Length, charset parameter) is idempotent', async () => {
  for (const fx of FIXTURES) {
    const ct = fx.contentType === 'application/json' ? 'application/json; charset=utf-8' : fx.contentType;
    const r = await postTraces(srv, readData('otel-js', fx.file), { contentType: ct, encoding: fx.encoding, chunked: false });
    assert.equal(r.status, 200, `${fx.file}: status ${r.status}: ${r.body.toString().slice(0, 300)}`);
    assert.equal(String(r.headers['content-type']).split(';')[0].trim(), fx.contentType);
  }
  await mapLimit([...expectedAll.keys()], 8, async (tid) => {
    const got = await getJson(srv, `/api/traces/${tid}`);
    assertTraceMatches(got, expectedAll.get(tid), tid); // also fails on duplicated spans
  });
});

// A synthetic request using every field and AnyValue type of the span model, sent as
// OTLP/JSON and as protobuf (encoded by the test's own writer): all of it must read back.
function everyFieldRequest(service) {
  const traceId = rndHex(16);
  const root = rndHex(8);
  const child = rndHex(8);
  const linkedTrace = rndHex(16);
  const linkedSpan = rndHex(8);
  const t0 = 1795350000000000000n;
  const attrs = [
    { key: 'str', value: { stringValue: 'grüße, 世界 "q" \\ \n tab\t' } },
    { key: 'bool.true', value: { boolValue: true } },
    { key: 'bool.false', value: { boolValue: false } },
    { key: 'int.zero', value: { intValue: '0' } },
    { key: 'int.neg', value: { intValue: '-42' } },
    { key: 'int.max', value: { intValue: '9223372036854775807' } },
    { key: 'int.min', value: { intValue: '-9223372036854775808' } },
    { key: 'double', value: { doubleValue: 3.141592653589793 } },
    { key: 'double.neg.small', value: { doubleValue: -1.25e-300 } },
    { key: 'double.zero', value: { doubleValue: 0 } },
    { key: 'double.big', value: { doubleValue: 1.7976931348623157e308 } },
    { key: 'bytes', value: { bytesValue: Buffer.from([0, 1, 2, 253, 254, 255]).toString('base64') } },
    { key: 'array.mixed', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: '1' }, { doubleValue: 2.5 }, { boolValue: true }] } } },
    { key: 'array.empty', value: { arrayValue: { values: [] } } },
    { key: 'array.nested', value: { arrayValue: { values: [{ arrayValue: { values: [{ intValue: '1' }, { intValue: '2' }] } }] } } },
    { key: 'kvlist', value: { kvlistValue: { values: [
      { key: 'inner.s', value: { stringValue: 'x' } },
      { key: 'inner.kv', value: { kvlistValue: { values: [{ key: 'deep', value: { boolValue: true } }] } } },
    ] } } },
    { key: 'empty.value', value: {} },
  ];
  const spans = [
    {
      traceId, spanId: root, traceState: 'vendor=abc,other=1', flags: 0x301, name: 'every-field-root', kind: 5,
      startTimeUnixNano: String(t0), endTimeUnixNano: String(t0 + 123456789n),
      attributes: attrs, droppedAttributesCount: 3,
      events: [
        { timeUnixNano: String(t0 + 10n), name: 'ev.first', attributes: [{ key: 'n', value: { intValue: '1' } }], droppedAttributesCount: 1 },
        { timeUnixNano: String(t0 + 20n), name: 'ev.second', attributes: [] },
      ],
      droppedEventsCount: 2,
      links: [{ traceId: linkedTrace, spanId: linkedSpan, traceState: 'k=v', attributes: [{ key: 'link.why', value: { stringValue: 'retry-of' } }], droppedAttributesCount: 4, flags: 0x101 }],
      droppedLinksCount: 1,
      status: { code: 1, message: 'fine' },
    },
    {
      traceId, spanId: child, parentSpanId: root, name: 'every-field-child', kind: 3,
      startTimeUnixNano: String(t0 + 1000n), endTimeUnixNano: String(t0 + 1000n), // zero duration is valid
      attributes: [{ key: 'only', value: { stringValue: 'one' } }],
      status: { code: 2, message: 'went wrong' },
    },
  ];
  return {
    traceId,
    body: { resourceSpans: [{
      resource: { attributes: [
        { key: 'service.name', value: { stringValue: service } },
        { key: 'service.instance.id', value: { stringValue: `${service}-7` } },
        { key: 'process.pid', value: { intValue: '4127' } },
        { key: 'host.arch.list', value: { arrayValue: { values: [{ stringValue: 'amd64' }] } } },
      ] },
      scopeSpans: [
        { scope: { name: 'scope.one', version: '9.8.7' }, spans: [spans[0]] },
        { scope: { name: 'scope.two' }, spans: [spans[1]] },
      ],
    }] },
  };
}

for (const kind of ['json', 'protobuf']) {
  test(`every span field and value type round-trips (${kind})`, async () => {
    const r = everyFieldRequest(`every-field-${kind}`);
    const body = kind === 'json' ? Buffer.from(JSON.stringify(r.body)) : encodeTraceRequestPb(r.body);
    const ct = kind === 'json' ? 'application/json' : 'application/x-protobuf';
    const a = await postTraces(srv, body, { contentType: ct });
    assert.equal(a.status, 200, `${a.status}: ${a.body.toString().slice(0, 300)}`);
    const expected = flattenSpans(r.body).get(r.traceId);
    assertTraceMatches(await getJson(srv, `/api/traces/${r.traceId}`), expected, r.traceId);
  });
}

test('an empty string attribute value stays {"stringValue":""} (it is not the empty AnyValue)', async () => {
  for (const kind of ['json', 'protobuf']) {
    const r = makeRequest({ traces: 1, spansPerTrace: 1, service: `empty-string-${kind}` });
    const s = r.body.resourceSpans[0].scopeSpans[0].spans[0];
    s.attributes = [{ key: 'str.empty', value: { stringValue: '' } }, { key: 'empty.value', value: {} }];
    const body = kind === 'json' ? Buffer.from(JSON.stringify(r.body)) : encodeTraceRequestPb(r.body);
    const a = await postTraces(srv, body, { contentType: kind === 'json' ? 'application/json' : 'application/x-protobuf' });
    assert.equal(a.status, 200);
    const got = await getJson(srv, `/api/traces/${s.traceId}`);
    const attrs = Object.fromEntries(got.batches[0].scopeSpans[0].spans[0].attributes.map((x) => [x.key, x.value]));
    assert.deepEqual(attrs['str.empty'], { stringValue: '' }, `${kind}: empty string attribute`);
    assert.deepEqual(attrs['empty.value'], {}, `${kind}: empty AnyValue`);
  }
});

test('the data survives a restart (SIGTERM exits 0)', async () => {
  await srv.restart();
  await mapLimit([...expectedAll.keys()], 8, async (tid) => {
    const got = await getJson(srv, `/api/traces/${tid}`);
    assertTraceMatches(got, expectedAll.get(tid), tid);
  });
  await srv.stop();
});

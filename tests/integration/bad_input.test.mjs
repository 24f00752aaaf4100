// Bad input: exact status codes, error bodies in the request's encoding
// (google.rpc.Status), messages that say what was wrong, partial success that stores the
// good spans of a request, and a server that keeps working (and keeps its data) afterwards.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { startServer, readData, request, postTraces, postJsonOk, getJson, get, compress, mapLimit } from './lib/server.mjs';
import {
  makeRequest, rndHex, flattenSpans, assertTraceMatches, encodeTraceRequestPb,
  decodeTraceResponsePb, decodeRpcStatusPb,
} from './lib/otlp.mjs';

const MAX_BODY = 100000;
let srv;
const stored = new Map(); // traceId -> expected spans, everything answered 200 so far

function remember(obj) {
  flattenSpans(obj, stored);
}

before(async () => {
  srv = await startServer({ args: ['--max-body-bytes', String(MAX_BODY)] });
  const g = makeRequest({ traces: 5, spansPerTrace: 3, service: 'bad-input-good' });
  await postJsonOk(srv, g.body);
  remember(g.body);
  const js = readData('otel-js', 'otlp-js-json-1.bin');
  const r = await postTraces(srv, js, { contentType: 'application/json' });
  assert.equal(r.status, 200, r.body.toString());
  remember(JSON.parse(js.toString()));
});
after(async () => { if (srv) await srv.cleanup(); });

/** Assert an error answer: status, body = google.rpc.Status in the request's encoding, non-empty message. */
function assertStatusBody(r, status, kind, what, msgRe = null) {
  const text = r.body.toString();
  assert.equal(r.status, status, `${what}: expected ${status}, got ${r.status}: ${text.slice(0, 300)}\n${srv.log(1500)}`);
  let msg;
  if (kind === 'json') {
    assert.match(String(r.headers['content-type']), /^application\/json/, `${what}: error body content-type`);
    let j;
    try { j = JSON.parse(text); } catch { assert.fail(`${what}: error body is not JSON: ${text.slice(0, 200)}`); }
    assert.equal(typeof j.code, 'number', `${what}: Status.code must be an integer: ${text}`);
    assert.ok(Number.isInteger(j.code), `${what}: Status.code must be an integer: ${text}`);
    msg = j.message;
  } else {
    assert.match(String(r.headers['content-type']), /^application\/x-protobuf/, `${what}: error body content-type`);
    msg = decodeRpcStatusPb(r.body).message;
  }
  assert.equal(typeof msg, 'string', `${what}: no Status.message`);
  assert.ok(msg.trim().length > 0, `${what}: empty Status.message`);
  if (msgRe) assert.match(msg, msgRe, `${what}: message should name the problem`);
  return msg;
}

const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);
const T0 = 1795340000000000000n;

function span(traceId, spanId, name, { parent = null, start = T0, end = T0 + 1000000n } = {}) {
  const s = { traceId, spanId, name, kind: 1, startTimeUnixNano: String(start), endTimeUnixNano: String(end),
    attributes: [{ key: 'case', value: { stringValue: name } }] };
  if (parent) s.parentSpanId = parent;
  return s;
}

/** A request mixing 3 good spans (2 traces) with `bad.length` bad ones. */
function mixedRequest(service) {
  const g1 = rndHex(16), g2 = rndHex(16), lone = rndHex(16);
  const root = rndHex(8);
  const good = [
    span(g1, root, 'good-root'),
    span(g1, rndHex(8), 'good-child', { parent: root, start: T0 + 10n, end: T0 + 500n }),
    span(g2, rndHex(8), 'good-other'),
  ];
  const bad = [
    span(rndHex(15), rndHex(8), 'bad-trace-id-15-bytes'),
    span(rndHex(17), rndHex(8), 'bad-trace-id-17-bytes'),
    span(rndHex(16), rndHex(7), 'bad-span-id-7-bytes'),
    span(rndHex(16), rndHex(9), 'bad-span-id-9-bytes'),
    span(rndHex(16), '', 'bad-span-id-empty'),
    span(ZERO_TRACE, rndHex(8), 'bad-zero-trace-id'),
    span(rndHex(16), ZERO_SPAN, 'bad-zero-span-id'),
    span(g1, rndHex(8), 'bad-end-before-start-in-good-trace', { parent: root, start: T0 + 100n, end: T0 + 99n }),
    span(lone, rndHex(8), 'bad-end-before-start-alone', { start: T0 + 100n, end: T0 }),
  ];
  const spans = [good[0], bad[0], bad[1], good[1], bad[2], bad[3], bad[4], bad[5], bad[6], bad[7], good[2], bad[8]];
  const body = { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
    scopeSpans: [{ scope: { name: 'bad-input', version: '1' }, spans }] }] };
  const goodBody = { resourceSpans: [{ resource: body.resourceSpans[0].resource,
    scopeSpans: [{ scope: { name: 'bad-input', version: '1' }, spans: good }] }] };
  return { body, goodBody, nBad: bad.length, goodTraces: [g1, g2], loneBadTrace: lone, zeroTrace: ZERO_TRACE };
}

describe('partial success', () => {
  for (const kind of ['json', 'protobuf']) {
    test(`${kind}: invalid spans are counted in rejectedSpans, the good spans are stored`, async () => {
      const m = mixedRequest(`partial-${kind}`);
      const ct = kind === 'json' ? 'application/json' : 'application/x-protobuf';
      const payload = kind === 'json' ? Buffer.from(JSON.stringify(m.body)) : encodeTraceRequestPb(m.body);
      const r = await postTraces(srv, payload, { contentType: ct });
      assert.equal(r.status, 200, `status ${r.status}: ${r.body.toString().slice(0, 300)}\n${srv.log(1500)}`);
      assert.equal(r.headers['content-type'], ct);
      let rejected, message;
      if (kind === 'json') {
        const j = JSON.parse(r.body.toString());
        assert.ok(j.partialSuccess, `no partialSuccess in ${r.body}`);
        assert.equal(typeof j.partialSuccess.rejectedSpans, 'string', 'rejectedSpans is an int64: a JSON string');
        rejected = BigInt(j.partialSuccess.rejectedSpans);
        message = j.partialSuccess.errorMessage;
      } else {
        const ps = decodeTraceResponsePb(r.body);
        assert.ok(ps, `no partial_success in the protobuf response (${r.body.length} bytes)`);
        rejected = ps.rejectedSpans;
        message = ps.errorMessage;
      }
      assert.equal(rejected, BigInt(m.nBad), 'rejectedSpans must count exactly the invalid spans');
      assert.equal(typeof message, 'string');
      assert.ok(message.length > 0, 'errorMessage must say why');

      const expected = flattenSpans(m.goodBody);
      for (const tid of m.goodTraces) {
        assertTraceMatches(await getJson(srv, `/api/traces/${tid}`), expected.get(tid), tid);
      }
      remember(m.goodBody);
      const lone = await getJson(srv, `/api/traces/${m.loneBadTrace}`, 404);
      assert.equal(typeof lone.error, 'string');
      const z = await get(srv, `/api/traces/${ZERO_TRACE}`);
      assert.notEqual(z.status, 200, 'the all-zero trace id must not have been stored');
    });
  }
});

// ------------------------------------------------------------------ 400: undecodable bodies

const PB_FIXTURE = readData('otel-js', 'otlp-js-pb-0.bin');
const JSON_FIXTURE = readData('otel-js', 'otlp-js-json-1.bin');

const BAD_BODIES = [
  // wire type 7 (invalid) right away, then noise
  { what: 'protobuf: garbage bytes', kind: 'protobuf', body: Buffer.from([0x0f, 0xff, 0xfe, 0x13, 0x37, 0x00, 0x99, 0x42, 0x17]) },
  // field 1 length-delimited, length 2^28, but 5 bytes follow
  { what: 'protobuf: length beyond the buffer', kind: 'protobuf', body: Buffer.from([0x0a, 0x80, 0x80, 0x80, 0x80, 0x01, 0x0a, 0x00, 0x01]) },
  { what: 'protobuf: truncated message (first 3000 of 7151 bytes)', kind: 'protobuf', body: PB_FIXTURE.subarray(0, 3000) },
  { what: 'protobuf: truncated inside a varint', kind: 'protobuf', body: Buffer.from([0x0a, 0x05, 0x0a, 0x03, 0x12, 0x01, 0x30]).subarray(0, 1) },
  { what: 'protobuf: a JSON document sent as protobuf', kind: 'protobuf', body: JSON_FIXTURE },
  { what: 'json: truncated document', kind: 'json', body: JSON_FIXTURE.subarray(0, 5000) },
  { what: 'json: not JSON at all', kind: 'json', body: Buffer.from('resourceSpans = nope') },
  { what: 'json: resourceSpans is a string', kind: 'json', body: Buffer.from('{"resourceSpans":"nope"}') },
  { what: 'json: spans is an object', kind: 'json', body: Buffer.from('{"resourceSpans":[{"scopeSpans":[{"spans":{"name":"x"}}]}]}') },
  { what: 'json: traceId is a number', kind: 'json',
    body: Buffer.from(JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 12345, spanId: 'b7ad6b7169203331', name: 'x', startTimeUnixNano: '1', endTimeUnixNano: '2' }] }] }] })) },
  { what: 'json: startTimeUnixNano is not a number', kind: 'json',
    body: Buffer.from(JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: rndHex(16), spanId: rndHex(8), name: 'x', startTimeUnixNano: 'yesterday', endTimeUnixNano: '2' }] }] }] })) },
  { what: 'json: attributes is a map, not an array', kind: 'json',
    body: Buffer.from(JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: rndHex(16), spanId: rndHex(8), name: 'x', startTimeUnixNano: '1', endTimeUnixNano: '2', attributes: { k: 'v' } }] }] }] })) },
];

describe('400 for undecodable bodies', () => {
  for (const c of BAD_BODIES) {
    test(c.what, async () => {
      const ct = c.kind === 'json' ? 'application/json' : 'application/x-protobuf';
      const r = await postTraces(srv, c.body, { contentType: ct });
      assertStatusBody(r, 400, c.kind, c.what);
    });
  }

  test('truncated gzip body -> 400', async () => {
    const gz = zlib.gzipSync(JSON_FIXTURE);
    const r = await postTraces(srv, gz.subarray(0, gz.length - 40), { contentType: 'application/json', encoding: 'gzip' });
    assertStatusBody(r, 400, 'json', 'truncated gzip');
  });

  test('gzip header on a body that is not gzip -> 400', async () => {
    const r = await postTraces(srv, PB_FIXTURE, { contentType: 'application/x-protobuf', encoding: 'gzip' });
    assertStatusBody(r, 400, 'protobuf', 'not gzip');
  });

  test('unknown Content-Encoding -> 400 (or 415) with a message', async () => {
    const r = await postTraces(srv, JSON_FIXTURE, { contentType: 'application/json', encoding: 'br' });
    assert.ok(r.status === 400 || r.status === 415, `expected 400/415, got ${r.status}: ${r.body.toString().slice(0, 200)}`);
    if (r.status === 400) assertStatusBody(r, 400, 'json', 'Content-Encoding: br', /encoding|br/i);
    else assert.match(r.body.toString(), /encoding|br/i, 'message should name the encoding problem');
  });
});

// ------------------------------------------------------------------ 413

describe('413 for bodies over --max-body-bytes (after decompression)', () => {
  test('plain body over the limit -> 413', async () => {
    const big = makeRequest({ traces: 200, spansPerTrace: 4, service: 'too-big' });
    const body = Buffer.from(JSON.stringify(big.body));
    assert.ok(body.length > MAX_BODY * 1.5, `body is ${body.length} bytes`);
    const r = await postTraces(srv, body, { contentType: 'application/json' });
    assertStatusBody(r, 413, 'json', 'oversized JSON body', /large|limit|size|exceed|max/i);
    assert.equal(r.status, 413);
    assert.equal((await get(srv, `/api/traces/${big.traceIds[0]}`)).status, 404, 'nothing of a 413 body is stored');
  });

  test('plain body over the limit, chunked (no Content-Length) -> 413', async () => {
    const big = makeRequest({ traces: 400, spansPerTrace: 4, service: 'too-big-chunked' });
    const body = encodeTraceRequestPb(big.body);
    assert.ok(body.length > MAX_BODY * 1.2, `body is ${body.length} bytes`);
    const r = await postTraces(srv, body, { contentType: 'application/x-protobuf', chunked: true });
    assertStatusBody(r, 413, 'protobuf', 'oversized chunked protobuf body');
  });

  test('small gzip body that inflates over the limit -> 413', async () => {
    const big = makeRequest({ traces: 200, spansPerTrace: 4, service: 'too-big-gzip' });
    const body = zlib.gzipSync(Buffer.from(JSON.stringify(big.body)));
    assert.ok(body.length < MAX_BODY, `compressed body is ${body.length} bytes`);
    const r = await postTraces(srv, body, { contentType: 'application/json', encoding: 'gzip' });
    assertStatusBody(r, 413, 'json', 'gzip body inflating over the limit');
    assert.equal((await get(srv, `/api/traces/${big.traceIds[0]}`)).status, 404);
  });

  test('zstd body that inflates over the limit -> 413', async () => {
    const body = compress('zstd', Buffer.alloc(5 * 1024 * 1024, 0x20));
    assert.ok(body.length < MAX_BODY);
    const r = await postTraces(srv, body, { contentType: 'application/json', encoding: 'zstd' });
    assertStatusBody(r, 413, 'json', 'zstd bomb');
  });

  for (const [label, size] of [['20 MB', 20 << 20], ['200 MB', 200 << 20]]) {
    test(`gzip bomb (${label} of zeros) -> 413 quickly, server still answers`, async () => {
      const bomb = zlib.gzipSync(Buffer.alloc(size, 0), { level: 9 });
      const r = await postTraces(srv, bomb, { contentType: 'application/x-protobuf', encoding: 'gzip' });
      console.log(`# gzip bomb ${label}: ${bomb.length} bytes compressed, answered ${r.status} in ${r.ms.toFixed(0)} ms`);
      assertStatusBody(r, 413, 'protobuf', `gzip bomb ${label}`);
      assert.ok(r.ms < 3000, `413 took ${r.ms} ms`);
      assert.equal((await get(srv, '/healthz')).status, 200);
    });
  }

  test('gzip bomb (20 MB of zeros) sent chunked, without Content-Length -> 413', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(20 << 20, 0), { level: 9 });
    const r = await postTraces(srv, bomb, { contentType: 'application/json', encoding: 'gzip', chunked: true });
    assertStatusBody(r, 413, 'json', 'chunked gzip bomb');
  });

  test('default limit: a 200 MB gzip bomb (chunked) -> 413 quickly', async () => {
    const s = await startServer(); // default --max-body-bytes
    try {
      const bomb = zlib.gzipSync(Buffer.alloc(200 << 20, 0), { level: 9 });
      const r = await postTraces(s, bomb, { contentType: 'application/x-protobuf', encoding: 'gzip', chunked: true });
      console.log(`# default-limit gzip bomb: ${bomb.length} bytes compressed, answered ${r.status} in ${r.ms.toFixed(0)} ms`);
      assert.equal(r.status, 413, `${r.status}: ${r.body.toString().slice(0, 200)}\n${s.log(1500)}`);
      assert.ok(decodeRpcStatusPb(r.body).message.length > 0, '413 carries a google.rpc.Status message');
      assert.ok(r.ms < 5000, `413 took ${r.ms} ms`);
      assert.equal((await get(s, '/healthz')).status, 200);
      await s.stop();
    } finally {
      await s.cleanup();
    }
  });

  test('a body just under the limit is accepted', async () => {
    let n = 10;
    let req, body;
    for (;;) { // grow until close to the limit
      req = makeRequest({ traces: n, spansPerTrace: 4, service: 'just-under' });
      body = Buffer.from(JSON.stringify(req.body));
      if (body.length > MAX_BODY * 0.8) break;
      n += 10;
    }
    assert.ok(body.length < MAX_BODY);
    const r = await postTraces(srv, zlib.gzipSync(body), { contentType: 'application/json', encoding: 'gzip' });
    assert.equal(r.status, 200, `${body.length}-byte body: ${r.status} ${r.body.toString().slice(0, 200)}`);
    remember(req.body);
  });
});

// ------------------------------------------------------------------ 415 / 405

describe('content type and method', () => {
  for (const ct of ['text/plain', 'application/xml', 'application/grpc']) {
    test(`Content-Type: ${ct} -> 415 listing the supported types`, async () => {
      const r = await postTraces(srv, JSON_FIXTURE, { contentType: ct });
      assert.equal(r.status, 415, `got ${r.status}: ${r.body.toString().slice(0, 200)}`);
      const text = r.body.toString();
      assert.match(text, /application\/x-protobuf/, '415 message must list application/x-protobuf');
      assert.match(text, /application\/json/, '415 message must list application/json');
    });
  }

  test('no Content-Type -> 415', async () => {
    const r = await request(srv, 'POST', '/v1/traces', { body: JSON_FIXTURE, headers: {} });
    assert.equal(r.status, 415, `got ${r.status}: ${r.body.toString().slice(0, 200)}`);
  });

  for (const m of ['GET', 'PUT', 'DELETE']) {
    test(`${m} /v1/traces -> 405`, async () => {
      const r = await request(srv, m, '/v1/traces', { body: m === 'PUT' ? JSON_FIXTURE : null, headers: m === 'PUT' ? { 'content-type': 'application/json' } : {} });
      assert.equal(r.status, 405, `got ${r.status}: ${r.body.toString().slice(0, 200)}`);
    });
  }
});

// ------------------------------------------------------------------ query API errors

describe('query API errors', () => {
  const bad = {
    'too short': 'abc',
    '31 hex chars': 'a'.repeat(31),
    '33 hex chars': 'a'.repeat(33),
    'non-hex 32 chars': 'g'.repeat(32),
    '32 chars with a dash': 'a'.repeat(16) + '-' + 'a'.repeat(15),
  };
  for (const [label, id] of Object.entries(bad)) {
    test(`GET /api/traces/<${label}> -> 400 {"error"}`, async () => {
      const j = await getJson(srv, `/api/traces/${id}`, 400);
      assert.equal(typeof j.error, 'string');
      assert.ok(j.error.length > 0);
    });
  }

  test('GET /api/traces/<unknown id> -> 404 {"error"}', async () => {
    const j = await getJson(srv, `/api/traces/${rndHex(16)}`, 404);
    assert.equal(typeof j.error, 'string');
    assert.ok(j.error.length > 0);
  });

  const badSearch = [
    ['minDuration', 'minDuration=abc'],
    ['minDuration', 'minDuration=5parsecs'],
    ['maxDuration', 'maxDuration=-1s'],
    ['maxDuration', 'maxDuration=ms'],
    ['limit', 'limit=abc'],
    ['limit', 'limit=-1'],
    ['start', 'start=yesterday'],
    ['end', 'end=2026-13-45T99:00:00Z'],
  ];
  for (const [param, qs] of badSearch) {
    test(`GET /api/search?${qs} -> 400 naming ${param}`, async () => {
      const j = await getJson(srv, `/api/search?${qs}`, 400);
      assert.equal(typeof j.error, 'string');
      assert.match(j.error, new RegExp(param), `error must name the parameter: ${j.error}`);
    });
  }
});

// ------------------------------------------------------------------ afterwards

describe('afterwards', () => {
  test('/healthz and /metrics still answer; counters saw the rejections', async () => {
    assert.equal((await get(srv, '/healthz')).status, 200);
    const r = await get(srv, '/metrics');
    assert.equal(r.status, 200);
    const text = r.body.toString();
    const value = (re) => {
      const m = new RegExp(`^${re}\\s+([0-9.eE+-]+)\\s*$`, 'm').exec(text);
      assert.ok(m, `metric ${re} missing in /metrics`);
      return Number(m[1]);
    };
    const nStored = [...stored.values()].reduce((n, m) => n + m.size, 0);
    assert.ok(value('meanwhile_spans_accepted_total') >= nStored, 'accepted counter');
    assert.ok(value('meanwhile_spans_rejected_total') >= 18, 'rejected counter counts the 2 x 9 invalid spans');
    assert.ok(value('meanwhile_http_requests_total\\{[^}]*code="200"[^}]*\\}') >= 1);
    value('meanwhile_write_queue_spans');
    value('meanwhile_commit_duration_seconds_sum');
    assert.ok(value('meanwhile_commit_duration_seconds_count') >= 1);
    assert.match(text, /^meanwhile_commit_duration_seconds_bucket\{[^}]*le="[^"]+"[^}]*\}\s+\d+/m);
    assert.ok(value('meanwhile_db_bytes') > 0);
  });

  test('all data accepted earlier in this server is still present', async () => {
    assert.ok(stored.size > 20);
    await mapLimit([...stored.keys()], 8, async (tid) => {
      assertTraceMatches(await getJson(srv, `/api/traces/${tid}`), stored.get(tid), tid);
    });
    await srv.stop();
  });
});

// The rules ingest keeps, from "Hardening, round two": what is accepted renders
// (attribute depth, one limit on both encodings, partial success past it); resources and
// scopes obey the value and attribute limits; names are kept exactly or refused (a NUL
// byte or invalid UTF-8 is refused, on every path); time and duration parameters have one
// strict grammar; and the smaller cases (Pyroscope name={}, a zstd frame asking for too
// large a window, unreadable debug=1 dumps, durations printed as 1.5e+02, data older than
// the retention window).

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, request, postTraces, getJson, zstd } from './lib/server.mjs';
import { rndHex, encodeTraceRequestPb, decodeTraceResponsePb, decodeRpcStatusPb, normAttrs } from './lib/otlp.mjs';
import { fixture, LAUNCH_NS, ingest, ingestOk, assertJsonError, getJ, jstr } from './lib/runtime.mjs';

const T0 = 1795340000000000000n;
let srv;

before(async () => { srv = await startServer(); });
after(async () => { if (srv) await srv.cleanup(); });

function span(name, { traceId = rndHex(16), attributes = [], start = T0, end = T0 + 1000000n } = {}) {
  return { traceId, spanId: rndHex(8), name, kind: 1, startTimeUnixNano: String(start), endTimeUnixNano: String(end),
    attributes, status: {} };
}

function request1(spans, { service = 'rules', resourceAttrs = null, scope = { name: 'rules-scope' } } = {}) {
  const attrs = resourceAttrs || [{ key: 'service.name', value: { stringValue: service } }];
  return { resourceSpans: [{ resource: { attributes: attrs }, scopeSpans: [{ scope, spans }] }] };
}

/** POSTs req in the given encoding; returns {status, partial: {rejected, message} | null, error}. */
async function post(req, enc) {
  const pb = enc === 'pb';
  const body = pb ? encodeTraceRequestPb(req) : Buffer.from(JSON.stringify(req));
  const r = await postTraces(srv, body, { contentType: pb ? 'application/x-protobuf' : 'application/json' });
  const out = { status: r.status, partial: null, error: null, raw: r };
  if (r.status !== 200) {
    out.error = pb ? decodeRpcStatusPb(r.body).message : JSON.parse(r.body.toString()).message;
    return out;
  }
  if (pb) {
    const ps = decodeTraceResponsePb(r.body);
    if (ps) out.partial = { rejected: Number(ps.rejectedSpans || 0), message: ps.errorMessage || '' };
  } else {
    const ps = JSON.parse(r.body.toString() || '{}').partialSuccess;
    if (ps) out.partial = { rejected: Number(ps.rejectedSpans || 0), message: ps.errorMessage || '' };
  }
  return out;
}

async function trace(id) { return request(srv, 'GET', `/api/traces/${id}`); }

/** A value nested `depth` kvlists deep around a string (depth 0: the string). */
function nestKv(depth, leaf = 'deep') {
  let v = { stringValue: leaf };
  for (let d = 1; d <= depth; d++) v = { kvlistValue: { values: [{ key: `level${d}`, value: v }] } };
  return v;
}
function nestArr(depth, leaf = 'deep') {
  let v = { stringValue: leaf };
  for (let d = 1; d <= depth; d++) v = { arrayValue: { values: [v] } };
  return v;
}

const allSpans = (t) => t.batches.flatMap((b) => b.scopeSpans.flatMap((ss) => ss.spans));

describe('point 13: time and duration parameters have one strict grammar', () => {
  const gc = fixture('runtime-stderr.log');
  for (const [k, v] of [['time', '+5'], ['time', ' 5'], ['time', '5 '], ['duration', '+5'], ['process_start', ' 1'],
    ['time', '9223372036854775808']]) {
    test(`runtime ingest: ${k}=${JSON.stringify(v)} -> 400`, async () => {
      assertJsonError(await ingest(srv, 'gctrace', { service: 'grammar', [k]: v }, gc), 400, `${k}=${v}`);
    });
  }

  test('runtime ingest: time + duration past INT64_MAX -> 400, and no source gets a negative time', async () => {
    const r = await ingest(srv, 'goroutine', { service: 'overflow', time: '9223372036854775000', duration: '10000' },
      fixture('goroutines-debug2-1795334476463613272.txt'));
    assert.match(assertJsonError(r, 400, 'overflow'), /time \+ duration/);
    for (const s of (await getJ(srv, '/api/v1/sources')).sources) assert.ok(s.first_ns >= 0n && s.last_ns >= 0n, jstr(s));
  });

  test('queries: start of 20 digits is refused like any time past 2262', async () => {
    for (const v of ['99999999999999999999', '9300000000', '+5', '%205', '1e9']) {
      const r = await request(srv, 'GET', `/api/search?start=${v}`);
      assert.equal(r.status, 400, `start=${v}: ${r.body.toString()}`);
      assert.match(JSON.parse(r.body.toString()).error, /start/);
    }
    assert.equal((await request(srv, 'GET', '/api/search?start=2026-11-22T08:09:00Z')).status, 200);
  });

  test('queries: minDuration needs a unit (except 0)', async () => {
    for (const v of ['1', '150', '1%20s', '-1s']) {
      const r = await request(srv, 'GET', `/api/search?minDuration=${v}`);
      assert.equal(r.status, 400, `minDuration=${v}: ${r.body.toString()}`);
      assert.match(JSON.parse(r.body.toString()).error, /minDuration/);
    }
    for (const v of ['0', '1ns', '1.5s', '1h30m']) assert.equal((await request(srv, 'GET', `/api/search?minDuration=${v}`)).status, 200);
  });
});

describe('point 13: numbers are written plainly', () => {
  test('durationMs of a 150 ms trace is written 150, not 1.5e+02', async () => {
    const s = span('exactly-150ms', { end: T0 + 150000000n });
    const r = await post(request1([s], { service: 'dur-fmt' }), 'json');
    assert.equal(r.status, 200);
    const g = await request(srv, 'GET', `/api/search?service=dur-fmt&start=${T0 / 1000000000n - 10n}`);
    const text = g.body.toString();
    assert.match(text, /"durationMs":150[,}]/, text);
    assert.doesNotMatch(text, /e\+/);
  });
});

test('the server stops cleanly', async () => {
  await srv.stop();
});

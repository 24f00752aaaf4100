// Re-sent trace bodies (issue 17, docs/STORAGE-WIRING.md §4): an exporter that retries a
// request which had in fact landed sends the same body again. With --span-blocks on, the
// writer recognises a body it stored in the last 10 minutes (a hash of the body after
// decompression) and answers it as accepted without storing it again: one trace read
// shows each span once, the operation counts are not doubled, and
// meanwhile_ingest_resent_total counts the retry. With blocks off (one row per span) the
// spans table's unique index drops the re-sent spans, as it always did, and the metric
// stays 0.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, postTraces, getJson, get, gzip } from './lib/server.mjs';
import { rndHex, encodeTraceRequestPb } from './lib/otlp.mjs';

const NOW = BigInt(Date.now()) * 1000000n;
const N = 6;

/** One request of N spans of one trace, service `service`, names alternating. */
function makeRequest(service) {
  const traceId = rndHex(16);
  const spans = [];
  for (let i = 0; i < N; i++) {
    const start = NOW - 60000000000n + BigInt(i) * 1000000n;
    spans.push({ traceId, spanId: rndHex(8), name: i % 2 ? 'db.query' : 'GET /a', kind: 2,
      startTimeUnixNano: String(start), endTimeUnixNano: String(start + BigInt(1 + i) * 1000000n),
      attributes: [{ key: 'i', value: { intValue: String(i) } }], status: {} });
  }
  const req = { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
    scopeSpans: [{ scope: { name: 'resent' }, spans }] }] };
  return { traceId, spans, req };
}

async function metric(srv, name) {
  const r = await get(srv, '/metrics');
  const line = r.body.toString().split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

/** The span ids of trace id, as GET /api/traces answers them (sorted, duplicates kept). */
async function traceSpanIds(srv, id) {
  const t = await getJson(srv, `/api/traces/${id}`);
  return t.batches.flatMap((b) => b.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.spanId))).sort();
}

/** The operations of service: name -> count. */
async function opCounts(srv, service) {
  const start = NOW - 3600000000000n, end = NOW + 3600000000000n;
  const j = await getJson(srv, `/api/v1/services/${service}/operations?start=${start}&end=${end}`);
  return Object.fromEntries(j.operations.map((o) => [o.name, o.count]));
}

async function postOk(srv, body, opts) {
  const r = await postTraces(srv, body, opts);
  assert.equal(r.status, 200, `POST /v1/traces: ${r.status} ${r.body.toString().slice(0, 300)}\n${srv.log(1500)}`);
  return r;
}

const pbOpts = { contentType: 'application/x-protobuf' };

describe('--span-blocks on: a re-sent body is stored once', () => {
  let srv;
  before(async () => { srv = await startServer({ args: ['--span-blocks', 'on'] }); });
  after(async () => { if (srv) { srv.checkLog(); await srv.cleanup(); } });

  test('the same body twice (once gzipped): one copy, counted as re-sent', async () => {
    const { traceId, spans, req } = makeRequest('resent-on');
    const body = encodeTraceRequestPb(req);
    await postOk(srv, body, pbOpts);
    // the retry, compressed this time: the hash is of the body after decompression
    await postOk(srv, gzip(body), { ...pbOpts, encoding: 'gzip' });
    const want = spans.map((s) => s.spanId).sort();
    assert.deepEqual(await traceSpanIds(srv, traceId), want);
    assert.deepEqual(await opCounts(srv, 'resent-on'), { 'GET /a': N / 2, 'db.query': N / 2 });
    const svc = (await getJson(srv, '/api/v1/services')).services.find((s) => s.name === 'resent-on');
    assert.equal(svc.span_count, N);
    assert.equal(await metric(srv, 'meanwhile_ingest_resent_total'), 1);
    assert.equal(await metric(srv, 'meanwhile_ingest_resent_spans_total'), N);
    assert.equal(await metric(srv, 'meanwhile_spans_accepted_total'), N);
  });

  test('the same spans in another body (JSON) are stored again; the trace read shows each once', async () => {
    const { traceId, spans, req } = makeRequest('resent-json');
    await postOk(srv, encodeTraceRequestPb(req), pbOpts);
    await postOk(srv, Buffer.from(JSON.stringify(req)), { contentType: 'application/json' });
    assert.deepEqual(await traceSpanIds(srv, traceId), spans.map((s) => s.spanId).sort());
    // another body is not a retry by its hash: its spans are stored twice and counted twice
    // (docs/API.md: counts may count a span sent twice)
    assert.deepEqual(await opCounts(srv, 'resent-json'), { 'GET /a': N, 'db.query': N });
    assert.equal(await metric(srv, 'meanwhile_ingest_resent_total'), 1);
  });
});

describe('--span-blocks off: rows drop re-sent spans by their unique index', () => {
  let srv;
  before(async () => { srv = await startServer({ args: ['--span-blocks', 'off'] }); });
  after(async () => { if (srv) { srv.checkLog(); await srv.cleanup(); } });

  test('the same body twice: each span once, the metric 0', async () => {
    const { traceId, spans, req } = makeRequest('resent-off');
    const body = encodeTraceRequestPb(req);
    await postOk(srv, body, pbOpts);
    await postOk(srv, body, pbOpts);
    assert.deepEqual(await traceSpanIds(srv, traceId), spans.map((s) => s.spanId).sort());
    assert.equal(await metric(srv, 'meanwhile_ingest_resent_total'), 0);
  });
});

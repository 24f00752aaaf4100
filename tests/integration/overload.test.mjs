// Overload: with a small write queue (--max-queue-spans 200) and a slow writer
// (MEANWHILE_FAULT_COMMIT_DELAY_MS=300), a burst of 30 concurrent requests of 100 spans
// gets fast 503 + Retry-After for what does not fit, while everything answered 200 is
// stored (and a 200 never comes before its commit).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, postTraces, getJson, get, mapLimit, sleep } from './lib/server.mjs';
import { makeRequest, flattenSpans, assertTraceMatches, encodeTraceRequestPb, decodeRpcStatusPb } from './lib/otlp.mjs';

const COMMIT_DELAY_MS = 300;
const N_REQUESTS = 30;
let srv;

before(async () => {
  srv = await startServer({
    args: ['--max-queue-spans', '200'],
    env: { MEANWHILE_FAULT_COMMIT_DELAY_MS: String(COMMIT_DELAY_MS) },
  });
});
after(async () => { if (srv) await srv.cleanup(); });

const reqs = Array.from({ length: N_REQUESTS }, (_, i) =>
  makeRequest({ traces: 20, spansPerTrace: 5, service: 'overload', tag: `-${i}` }));
const results = [];

test(`burst of ${N_REQUESTS} concurrent requests x 100 spans`, async () => {
  // even requests as OTLP/JSON, odd ones as protobuf
  const settled = await Promise.allSettled(reqs.map((r, i) => (i % 2
    ? postTraces(srv, encodeTraceRequestPb(r.body), { contentType: 'application/x-protobuf' })
    : postTraces(srv, Buffer.from(JSON.stringify(r.body)), { contentType: 'application/json' }))));
  for (const [i, s] of settled.entries()) {
    assert.equal(s.status, 'fulfilled', `request ${i}: ${s.reason}\n${srv.log(1500)}`);
    results.push(s.value);
  }
  const codes = results.map((r) => r.status);
  const n200 = codes.filter((c) => c === 200).length;
  const n503 = codes.filter((c) => c === 503).length;
  const lat503 = results.filter((r) => r.status === 503).map((r) => r.ms);
  const lat200 = results.filter((r) => r.status === 200).map((r) => r.ms);
  const max503 = lat503.length ? Math.max(...lat503) : NaN;
  console.log(`# overload: ${n200} x 200, ${n503} x 503; 503 latency max ${max503.toFixed(1)} ms; ` +
    `200 latency min ${Math.min(...lat200).toFixed(1)} max ${Math.max(...lat200).toFixed(1)} ms`);
  assert.equal(n200 + n503, N_REQUESTS, `only 200 and 503 expected, got ${codes.join(',')}`);
  assert.ok(n503 > 0, 'some requests must be refused with 503 (queue 200 spans, 30 x 100 spans, slow writer)');
  assert.ok(n200 > 0, 'some requests must be accepted');
  assert.ok(max503 < 1000, `503 answers must be fast: max ${max503} ms`);
  for (const [i, r] of results.entries()) {
    if (r.status !== 503) continue;
    const ra = r.headers['retry-after'];
    assert.match(String(ra), /^[1-9][0-9]*$/, `Retry-After must be a positive integer, got ${ra}`);
    if (i % 2) {
      assert.match(String(r.headers['content-type']), /^application\/x-protobuf/, '503 to a protobuf request');
      assert.ok(decodeRpcStatusPb(r.body).message.length > 0, '503 protobuf google.rpc.Status message');
    } else {
      assert.match(String(r.headers['content-type']), /^application\/json/, '503 to a JSON request');
      const j = JSON.parse(r.body.toString());
      assert.equal(typeof j.code, 'number', `503 body is a google.rpc.Status: ${r.body}`);
      assert.ok(typeof j.message === 'string' && j.message.length > 0, '503 message');
    }
  }
  // a 200 is sent only after the commit, and each commit sleeps COMMIT_DELAY_MS
  for (const ms of lat200) assert.ok(ms >= COMMIT_DELAY_MS - 10, `a 200 came after ${ms} ms, before the ${COMMIT_DELAY_MS} ms commit`);
});

test('every trace of every request answered 200 is stored completely', async () => {
  const ok = reqs.filter((_, i) => results[i] && results[i].status === 200);
  assert.ok(ok.length > 0);
  const expected = new Map();
  for (const r of ok) flattenSpans(r.body, expected);
  await mapLimit([...expected.keys()], 8, async (tid) => {
    assertTraceMatches(await getJson(srv, `/api/traces/${tid}`), expected.get(tid), tid);
  });
});

test('the refused requests succeed when retried after Retry-After; metrics saw the 503s', async () => {
  const refused = reqs.filter((_, i) => results[i] && results[i].status === 503);
  const deadline = Date.now() + 40000;
  await mapLimit(refused, 2, async (r) => {
    for (;;) {
      const a = await postTraces(srv, Buffer.from(JSON.stringify(r.body)), { contentType: 'application/json' });
      if (a.status === 200) return;
      assert.equal(a.status, 503, `retry: ${a.status} ${a.body.toString().slice(0, 200)}`);
      assert.ok(Date.now() < deadline, 'retries did not get through within 40 s');
      await sleep(Math.min(Number(a.headers['retry-after']) * 1000, 500));
    }
  });
  const expected = new Map();
  for (const r of refused) flattenSpans(r.body, expected);
  await mapLimit([...expected.keys()], 8, async (tid) => {
    assertTraceMatches(await getJson(srv, `/api/traces/${tid}`), expected.get(tid), tid);
  });
  const m = (await get(srv, '/metrics')).body.toString();
  const line = m.split('\n').find((l) => /^meanwhile_http_requests_total\{[^}]*code="503"/.test(l));
  assert.ok(line, 'meanwhile_http_requests_total{code="503"} missing');
  assert.ok(Number(line.trim().split(/\s+/).pop()) >= refused.length);
  const svc = (await getJson(srv, '/api/v1/services')).services.find((s) => s.name === 'overload');
  assert.equal(svc.span_count, N_REQUESTS * 100, 'all spans stored exactly once');
  await srv.stop();
});

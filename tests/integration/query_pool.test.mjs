// Queries run on their own threads (--query-threads), bounded by a queue
// (--max-query-queue) and a time limit (--query-timeout). With every query
// made slow by the test hook MEANWHILE_FAULT_QUERY_DELAY_MS, eight searches
// at once must not hold up ingest or /healthz; a query past its time limit is
// 503 naming query_timeout; a full queue is 503 at once naming the flags; a
// SIGTERM while queries run still ends with exit 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, request, getJson, sleep } from './lib/server.mjs';

const hex = (n, bytes) => n.toString(16).padStart(bytes * 2, '0');
const nowNs = () => BigInt(Date.now()) * 1000000n;

function oneSpan(seed) {
  const id = BigInt(seed);
  const t0 = nowNs();
  return Buffer.from(JSON.stringify({ resourceSpans: [{
    resource: { attributes: [{ key: 'service.name', value: { stringValue: 'pool' } }] },
    scopeSpans: [{ spans: [{ traceId: hex(id, 16), spanId: hex(id, 8), name: 'op', kind: 2,
      startTimeUnixNano: String(t0), endTimeUnixNano: String(t0 + 1000000n) }] }] }] }));
}

const ingest = (s, seed) => request(s, 'POST', '/v1/traces', { body: oneSpan(seed), headers: { 'content-type': 'application/json' } });

test('eight slow searches do not hold up ingest or /healthz', async () => {
  const DELAY_MS = 3000; // two rounds on four threads: 6 s of the 10 s query timeout, 4 s to spare under load
  const s = await startServer({ args: ['--query-threads', '4'], env: { MEANWHILE_FAULT_QUERY_DELAY_MS: String(DELAY_MS) } });
  try {
    assert.equal((await ingest(s, 1)).status, 200);
    const t0 = performance.now();
    const searches = Array.from({ length: 8 }, () => request(s, 'GET', '/api/search?service=pool&limit=5'));
    await sleep(300); // the searches have arrived and hold every query thread
    const w = await ingest(s, 2);
    assert.equal(w.status, 200, w.body.toString());
    assert.ok(w.ms < 2000, `a one-span ingest took ${w.ms.toFixed(0)} ms while searches ran`);
    const h = await request(s, 'GET', '/healthz');
    assert.equal(h.status, 200);
    assert.ok(h.ms < 2000, `/healthz took ${h.ms.toFixed(0)} ms`);
    assert.ok(performance.now() - t0 < DELAY_MS, 'ingest and /healthz answered while the first searches still ran');
    for (const r of await Promise.all(searches)) {
      assert.equal(r.status, 200, r.body.toString());
      assert.ok(JSON.parse(r.body).traces.length >= 1);
    }
    console.log(`# ingest ${w.ms.toFixed(0)} ms, /healthz ${h.ms.toFixed(0)} ms while 8 searches of ${DELAY_MS} ms ran`);
  } finally {
    await s.stop();
  }
});

test('a query past --query-timeout is 503 naming query_timeout', async () => {
  const s = await startServer({ args: ['--query-timeout', '1s'], env: { MEANWHILE_FAULT_QUERY_DELAY_MS: '1500' } });
  try {
    assert.equal((await ingest(s, 3)).status, 200);
    for (const p of ['/api/search?service=pool', '/api/v1/services', `/api/traces/${hex(3n, 16)}`]) {
      const r = await request(s, 'GET', p);
      assert.equal(r.status, 503, `${p}: ${r.body}`);
      const err = JSON.parse(r.body).error;
      assert.match(err, /took longer than query_timeout \(1 s\)/, err);
      assert.match(err, /--query-timeout/, err);
    }
    // a bad parameter is still a 400: the limit is about reading the store
    assert.equal((await request(s, 'GET', '/api/search?limit=0')).status, 400);
    // ingest is untouched by the limit
    assert.equal((await ingest(s, 4)).status, 200);
  } finally {
    await s.stop();
  }
});

test('a full query queue is 503 at once, naming the flags', async () => {
  const s = await startServer({ args: ['--query-threads', '1', '--max-query-queue', '1'],
    env: { MEANWHILE_FAULT_QUERY_DELAY_MS: '2000' } });
  try {
    const running = request(s, 'GET', '/api/v1/services');
    await sleep(300); // taken by the only query thread
    const waiting = request(s, 'GET', '/api/v1/sources');
    await sleep(300); // in the queue, which is now full
    const r = await request(s, 'GET', '/api/search');
    assert.equal(r.status, 503, r.body.toString());
    assert.ok(r.ms < 1000, `refused at once, took ${r.ms.toFixed(0)} ms`);
    assert.equal(r.headers['retry-after'], '1');
    const err = JSON.parse(r.body).error;
    assert.match(err, /max_query_queue=1/, err);
    assert.match(err, /--query-threads/, err);
    assert.equal((await running).status, 200);
    assert.equal((await waiting).status, 200);
  } finally {
    await s.stop();
  }
});

test('SIGTERM while queries run and wait: exit 0', async () => {
  const s = await startServer({ args: ['--query-threads', '1', '--shutdown-grace', '1s'],
    env: { MEANWHILE_FAULT_QUERY_DELAY_MS: '30000' },
    allowLog: [/shutdown grace over/] });
  const queries = [0, 1, 2].map(() => request(s, 'GET', '/api/v1/services').catch((e) => ({ error: e })));
  await sleep(300);
  const t0 = performance.now();
  await s.stop();
  assert.ok(performance.now() - t0 < 10000, 'the stop did not wait for the 30 s queries');
  for (const r of await Promise.all(queries)) {
    // the stop cuts them short: a 503, or a closed connection
    if (!r.error) assert.equal(r.status, 503, String(r.body));
  }
});

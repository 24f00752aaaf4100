// Query limits: a time window wider than --max-query-range is refused with a
// message naming it; without start a query gets the window reaching back that
// far; results page with offset (search) and with offset or start as a cursor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, request, readData, getJson } from './lib/server.mjs';

const hex = (n, bytes) => n.toString(16).padStart(bytes * 2, '0');
const nowNs = () => BigInt(Date.now()) * 1000000n;
const HOUR = 3600n * 1000000000n;

function spans(service, t0, n, seed) {
  const list = [];
  for (let i = 0; i < n; i++) {
    const id = BigInt(seed) * 1000n + BigInt(i) + 1n;
    list.push({ traceId: hex(id, 16), spanId: hex(id, 8), name: 'op', kind: 2,
      startTimeUnixNano: String(t0), endTimeUnixNano: String(t0 + BigInt(i + 1) * 1000000n) });
  }
  return Buffer.from(JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] }, scopeSpans: [{ spans: list }] }] }));
}

test('a window wider than --max-query-range is 400; without start, the window is the range', async () => {
  const s = await startServer({ args: ['--max-query-range', '24h'] });
  try {
    const recent = nowNs() - HOUR, old = nowNs() - 48n * HOUR;
    for (const [t, seed] of [[recent, 1], [old, 2]]) {
      const r = await request(s, 'POST', '/v1/traces', { body: spans('ql', t, 5, seed), headers: { 'content-type': 'application/json' } });
      assert.equal(r.status, 200);
    }
    let r = await request(s, 'GET', '/api/search?service=ql&start=0');
    assert.equal(r.status, 400);
    assert.match(r.body.toString(), /max_query_range/);
    r = await request(s, 'GET', `/api/v1/services/ql/operations?start=${(old - HOUR) / 1000000000n}`);
    assert.equal(r.status, 400, 'operations too');
    const src = (await getJson(s, '/api/v1/sources')).sources[0];
    r = await request(s, 'GET', `/api/v1/sources/${src.id}/gc?start=0`);
    assert.equal(r.status, 400, 'runtime lanes too');
    r = await request(s, 'GET', '/api/v1/compare?service=ql&name=op&start=0');
    assert.equal(r.status, 400, 'compare too');
    // no start: the last 24 h, so the recent traces and not the old ones
    const found = (await getJson(s, '/api/search?service=ql&limit=100')).traces.map((t) => t.traceID);
    assert.equal(found.length, 5);
    assert.ok(found.every((id) => BigInt('0x' + id) < 2000n), 'only the recent seed');
    // an explicit narrow window over the old data is fine
    const oldOnes = (await getJson(s, `/api/search?service=ql&start=${(old - HOUR) / 1000000000n}&end=${(old + HOUR) / 1000000000n}`)).traces;
    assert.equal(oldOnes.length, 5);
  } finally {
    await s.stop();
  }
});

test('paging: search by offset, a snapshot\'s rows by offset', async () => {
  const s = await startServer();
  try {
    await request(s, 'POST', '/v1/traces', { body: spans('pg', nowNs(), 30, 7), headers: { 'content-type': 'application/json' } });
    const all = (await getJson(s, '/api/search?service=pg&limit=30')).traces.map((t) => t.traceID);
    assert.equal(all.length, 30);
    const pages = [];
    for (let off = 0; off < 30; off += 10) pages.push(...(await getJson(s, `/api/search?service=pg&limit=10&offset=${off}`)).traces.map((t) => t.traceID));
    assert.deepEqual(pages, all, 'pages of 10 put together are the whole answer, in order');
    const dump = readData('go1.19-checkout', 'goroutines-debug2-1795334476463613272.txt');
    const id = JSON.parse((await request(s, 'POST', '/api/v1/ingest/goroutine?service=pg', { body: dump })).body).snapshot_id;
    const whole = (await getJson(s, `/api/v1/snapshots/${id}`)).groups.map((g) => g.stack_id + g.state);
    const paged = [];
    for (let off = 0; ; off += 3) {
      const p = await getJson(s, `/api/v1/snapshots/${id}?limit=3&offset=${off}`);
      paged.push(...p.groups.map((g) => g.stack_id + g.state));
      if (!p.more) break;
    }
    assert.deepEqual(paged, whole);
    assert.equal((await request(s, 'GET', '/api/search?offset=-1')).status, 400);
  } finally {
    await s.stop();
  }
});

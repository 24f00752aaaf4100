// Listings page: /api/v1/services, /api/v1/sources and a service's operations
// answer at most `limit` rows (1,000 by default and at most) and about 1 MiB of
// names, say whether more follow ("more", "next_offset"), and never answer a
// 200 with an empty or cut body: not with 20,000 services, not with names of
// 5 MB.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, request, getJson } from './lib/server.mjs';

const hex = (n, bytes) => n.toString(16).padStart(bytes * 2, '0');
const nowNs = () => BigInt(Date.now()) * 1000000n;

/** One request with a resourceSpans (one span) per service name. */
function services(names, seed, spanName = () => 'op') {
  const t0 = nowNs();
  return Buffer.from(JSON.stringify({ resourceSpans: names.map((svc, i) => {
    const id = BigInt(seed) * 100000n + BigInt(i) + 1n;
    return { resource: { attributes: [{ key: 'service.name', value: { stringValue: svc } }] },
      scopeSpans: [{ spans: [{ traceId: hex(id, 16), spanId: hex(id, 8), name: spanName(i), kind: 2,
        startTimeUnixNano: String(t0), endTimeUnixNano: String(t0 + 1000000n) }] }] };
  }) }));
}

async function post(s, body) {
  const r = await request(s, 'POST', '/v1/traces', { body, headers: { 'content-type': 'application/json' }, timeoutMs: 120000 });
  assert.equal(r.status, 200, r.body.toString().slice(0, 300));
}

/** Every page of a listing, checking each is a whole JSON answer; returns the rows and the pages' sizes. */
async function allPages(s, path, key, limit) {
  const rows = [], sizes = [];
  for (let offset = 0; ;) {
    const sep = path.includes('?') ? '&' : '?';
    const r = await request(s, 'GET', `${path}${sep}offset=${offset}${limit ? `&limit=${limit}` : ''}`, { timeoutMs: 120000 });
    assert.equal(r.status, 200, r.body.toString().slice(0, 300));
    assert.ok(r.body.length > 0, `${path} at ${offset}: an empty 200`);
    const j = JSON.parse(r.body.toString());
    assert.ok(Array.isArray(j[key]), `${path}: no ${key}`);
    rows.push(...j[key]);
    sizes.push(j[key].length);
    if (!j.more) {
      assert.equal(j.next_offset, undefined);
      return { rows, sizes };
    }
    assert.ok(j[key].length > 0, 'a page with more to follow holds something');
    assert.equal(j.next_offset, offset + j[key].length);
    offset = j.next_offset;
  }
}

test('20,000 services page by 1,000', async () => {
  const N = 20000, PER_REQUEST = 1000;
  const name = (i) => `svc-${String(i).padStart(5, '0')}`;
  const s = await startServer();
  try {
    for (let k = 0; k < N / PER_REQUEST; k++)
      await post(s, services(Array.from({ length: PER_REQUEST }, (_, i) => name(k * PER_REQUEST + i)), k + 1));
    const first = await getJson(s, '/api/v1/services');
    assert.equal(first.services.length, 1000, 'the default page is 1,000');
    assert.equal(first.more, true);
    assert.equal(first.next_offset, 1000);
    const svc = await allPages(s, '/api/v1/services', 'services');
    assert.equal(svc.rows.length, N);
    assert.deepEqual(svc.rows.map((x) => x.name), Array.from({ length: N }, (_, i) => name(i)), 'every service once, by name');
    assert.ok(svc.rows.every((x) => x.span_count === 1 && x.operation_count === 1 && x.instance_count === 1));
    const src = await allPages(s, '/api/v1/sources', 'sources', 700);
    assert.equal(src.rows.length, N);
    assert.ok(src.sizes.slice(0, -1).every((n) => n === 700));
    assert.equal(new Set(src.rows.map((x) => x.service)).size, N);
    // one service by name, and the bounds of limit
    assert.deepEqual((await getJson(s, `/api/v1/services?name=${name(12345)}`)).services.map((x) => x.name), [name(12345)]);
    for (const bad of ['limit=0', 'limit=1001', 'offset=-1', 'limit=x']) {
      const r = await request(s, 'GET', `/api/v1/services?${bad}`);
      assert.equal(r.status, 400, bad);
      assert.match(JSON.parse(r.body).error, /must be an integer/);
    }
  } finally {
    await s.stop();
  }
});

test('services, sources and operations with names of megabytes page whole', async () => {
  const BIG = 5 * 1000 * 1000;
  const s = await startServer({ args: ['--max-value-bytes', String(BIG + 100)] });
  try {
    const big = [0, 1, 2, 3].map((i) => String.fromCharCode(97 + i).repeat(BIG));
    for (const [i, n] of big.entries()) await post(s, services([n], 10 + i));
    // a normal service whose three operations have names of 2 MB
    await post(s, services(['ops', 'ops', 'ops'], 20, (i) => String(i).repeat(2 * 1000 * 1000)));
    const svc = await allPages(s, '/api/v1/services', 'services');
    assert.deepEqual(svc.rows.map((x) => x.name.length), [BIG, BIG, BIG, BIG, 3]);
    assert.deepEqual(svc.rows.slice(0, 4).map((x) => x.name), big, 'the names whole');
    assert.ok(svc.sizes.length >= 4, `about 1 MiB of names a page: ${svc.sizes}`);
    const src = await allPages(s, '/api/v1/sources', 'sources');
    assert.deepEqual(src.rows.map((x) => x.service.length).sort(), [3, BIG, BIG, BIG, BIG].sort());
    const ops = await allPages(s, '/api/v1/services/ops/operations', 'operations');
    assert.deepEqual(ops.rows.map((x) => x.name[0] + x.name.length), ['02000000', '12000000', '22000000']);
    assert.deepEqual(ops.sizes, [1, 1, 1]);
  } finally {
    await s.stop();
  }
});

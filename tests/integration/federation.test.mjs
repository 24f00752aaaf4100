// Query federation (docs/FEDERATION.md): three shards on loopback, each given
// whole processes, every one started with the same --peers (itself included),
// and a fourth meanwhiled in the query role. The merged answers are checked
// against what this test posted (never against one shard's own answer), then
// one shard is killed and the partial answers must name it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, request, postJsonOk } from './lib/server.mjs';
import { freePort } from './lib/ports.mjs';

const MS = 1000000n;
const hex = (n, bytes) => BigInt(n).toString(16).padStart(bytes * 2, '0');
const T0 = BigInt(Date.now() - 60000) * MS; // a minute ago: inside every default window

// ---------------------------------------------------------------- the data
// A process = (service, instance); each lives on one shard. Spans: [trace, span, parent, name, startMs, durMs].
const TRACE = { t1: hex(0xf1, 16), t2: hex(0xf2, 16), t3: hex(0xf3, 16), t4: hex(0xf4, 16), t5: hex(0xf5, 16) };
const procs = [
  { shard: 0, service: 'checkout', instance: 'c1', spans: [
    ['t1', 0x101, null, 'GET /checkout', 0, 300],          // the root of t1
    ['t1', 0x102, 0x101, 'call payments', 10, 240],        // its child, which calls payments (shard 1)
    ...[10, 20, 30, 40].map((d, i) => [`a${i}`, 0x110 + i, null, 'GET /checkout', 1000 + i * 100, d]),
    ['t5', 0x121, null, 'GET /pay', 6000, 100],             // its slowest child is a leaf on shard 1
  ] },
  { shard: 1, service: 'payments', instance: 'p1', spans: [
    ['t1', 0x201, 0x102, 'POST /charge', 20, 220],          // child of shard 0's span
    ['t1', 0x202, 0x201, 'db.write', 30, 170],
    ['t5', 0x221, 0x121, 'POST /refund', 6010, 80],
  ] },
  { shard: 2, service: 'checkout', instance: 'c2', spans: [ // the same service, another process, another shard
    ['t2', 0x301, null, 'GET /checkout', 2000, 50],
    ['t3', 0x302, null, 'GET /checkout', 3000, 500],
    ...[60, 70].map((d, i) => [`c${i}`, 0x310 + i, null, 'GET /checkout', 4000 + i * 100, d]),
  ] },
  { shard: 2, service: 'inventory', instance: 'i1', spans: [['t4', 0x401, null, 'GET /stock', 5000, 20]] },
];
const traceId = (t) => TRACE[t] || hex(BigInt(0xe000) + BigInt(t.charCodeAt(0)) * 256n + BigInt(t.charCodeAt(1)), 16);

function body(proc) {
  return { resourceSpans: [{
    resource: { attributes: [
      { key: 'service.name', value: { stringValue: proc.service } },
      { key: 'service.instance.id', value: { stringValue: proc.instance } }] },
    scopeSpans: [{ scope: { name: 'federation-test' }, spans: proc.spans.map(([t, id, parent, name, st, dur]) => ({
      traceId: traceId(t), spanId: hex(id, 8), ...(parent ? { parentSpanId: hex(parent, 8) } : {}), name, kind: 2,
      startTimeUnixNano: String(T0 + BigInt(st) * MS), endTimeUnixNano: String(T0 + BigInt(st + dur) * MS) })) }] }] };
}

// what the test posted, flattened
const allSpans = procs.flatMap((p) => p.spans.map(([t, id, parent, name, st, dur]) =>
  ({ shard: p.shard, service: p.service, instance: p.instance, trace: traceId(t), id: hex(id, 8),
     parent: parent ? hex(parent, 8) : null, name, st, dur })));

/** Nearest rank (ceil(q*n)), as docs/API.md defines the percentiles. */
function nearestRank(values, q) {
  const v = [...values].sort((a, b) => a - b);
  return v[Math.min(v.length, Math.max(1, Math.ceil(q * v.length))) - 1];
}

// ---------------------------------------------------------------- the cluster
// Queries need a token everywhere: the front checks it and forwards it to the shards.
const TOKEN = 'federation-test-token';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const ENV = { MEANWHILE_QUERY_TOKENS: TOKEN };
let shards = [], front = null, ports = [], peers = '';

before(async () => {
  ports = [await freePort(), await freePort(), await freePort()];
  peers = ports.map((p) => `http://127.0.0.1:${p}`).join(',');
  for (const port of ports)
    shards.push(await startServer({ env: ENV, args: ['--listen', `127.0.0.1:${port}`, '--peers', peers, '--peer-timeout', '2s'] }));
  front = await startServer({ env: ENV, args: ['--role', 'query', '--peers', peers, '--peer-timeout', '2s'] });
  for (const p of procs) await postJsonOk(shards[p.shard], body(p));
});

after(async () => {
  for (const s of [...shards, front]) if (s) await s.cleanup();
});

async function getJ(server, path, { status = 200, headers = {} } = {}) {
  const r = await request(server, 'GET', path, { headers: { ...AUTH, ...headers } });
  assert.equal(r.status, status, `GET ${path}: ${r.status} ${r.body.toString().slice(0, 400)}`);
  return { j: JSON.parse(r.body.toString()), headers: r.headers, raw: r.body };
}

// ---------------------------------------------------------------- complete answers

test('services: merged by name, counts summed over the shards', async () => {
  for (const via of [() => front, () => shards[0]]) { // the query role, and a shard fronting (itself among the peers)
    const { j, headers } = await getJ(via(), '/api/v1/services');
    assert.equal(headers['meanwhile-missing-shards'], undefined);
    assert.deepEqual(j.federation, { shards: 3, answered: 3, missing: [] });
    const want = {};
    for (const s of allSpans) {
      const w = (want[s.service] ||= { spans: 0, instances: new Set() });
      w.spans++;
      w.instances.add(s.instance);
    }
    assert.deepEqual(j.services.map((s) => s.name), Object.keys(want).sort());
    for (const s of j.services) {
      assert.equal(s.span_count, want[s.name].spans, s.name);
      assert.equal(s.instance_count, want[s.name].instances.size, s.name);
    }
    // checkout is on two shards: its operation count is a lower bound, and says so
    assert.equal(j.services.find((s) => s.name === 'checkout').operation_count_exact, false);
    assert.equal(j.services.find((s) => s.name === 'payments').operation_count_exact, undefined);
  }
  // pages: each shard is asked for its first offset + limit rows (up to 10,000)
  const page = (await getJ(front, '/api/v1/services?offset=1&limit=1000')).j;
  assert.deepEqual(page.services.map((s) => s.name), [...new Set(allSpans.map((s) => s.service))].sort().slice(1));
  const far = await request(front, 'GET', '/api/v1/services?offset=9001&limit=1000', { headers: AUTH });
  assert.equal(far.status, 400);
  assert.match(far.body.toString(), /offset \+ limit must be at most 10000/);
});

test('the query token: checked by the front, forwarded to the shards', async () => {
  for (const s of [front, shards[0]]) {
    const r = await request(s, 'GET', '/api/v1/services');
    assert.equal(r.status, 401);
  }
  // forwarded: a shard would refuse a sub-request without it (and its 401 would be the answer)
  const sub = await request(shards[1], 'GET', '/api/v1/services', { headers: { 'meanwhile-federated': '1' } });
  assert.equal(sub.status, 401);
  await getJ(front, '/api/v1/services'); // with the token: 200
});

test('a sub-request is answered locally: no loop, one shard\'s own data', async () => {
  const { j } = await getJ(shards[1], '/api/v1/services', { headers: { 'meanwhile-federated': '1' } });
  assert.equal(j.federation, undefined);
  assert.deepEqual(j.services.map((s) => s.name), ['payments']);
});

test('operations: counts exact, percentiles within 0.6% of the nearest rank over every shard', async () => {
  const { j } = await getJ(front, '/api/v1/services/checkout/operations');
  const byName = {};
  for (const s of allSpans.filter((x) => x.service === 'checkout')) (byName[s.name] ||= []).push(s.dur);
  assert.deepEqual(j.operations.map((o) => o.name), Object.keys(byName).sort());
  const op = j.operations.find((o) => o.name === 'GET /checkout');
  const durs = byName['GET /checkout'].map((d) => d * 1e6);
  assert.equal(op.count, durs.length);
  assert.equal(op.max_ns, Math.max(...durs));
  assert.equal(op.approx, true, 'held by two shards: merged from histograms');
  for (const [k, q] of [['p50_ns', 0.5], ['p90_ns', 0.9], ['p99_ns', 0.99]]) {
    const want = nearestRank(durs, q);
    assert.ok(Math.abs(op[k] - want) <= want * 0.006, `${k}: ${op[k]} vs ${want}`);
  }
  // an operation of one shard only: its own figures, exact
  const call = j.operations.find((o) => o.name === 'call payments');
  assert.equal(call.count, 1);
  assert.equal(call.p50_ns, 240e6);
  assert.equal(call.approx, undefined);
  await getJ(front, '/api/v1/services/nosuch/operations', { status: 404 });
});

test('trace by id: the spans of every shard, v1, v2 and protobuf', async () => {
  const want = allSpans.filter((s) => s.trace === TRACE.t1);
  const { j } = await getJ(front, `/api/traces/${TRACE.t1}`);
  const got = j.batches.flatMap((b) => b.scopeSpans.flatMap((ss) => ss.spans.map((sp) => ({
    id: sp.spanId, service: b.resource.attributes.find((a) => a.key === 'service.name').value.stringValue }))));
  assert.deepEqual(got.map((g) => g.id).sort(), want.map((s) => s.id).sort());
  for (const g of got) assert.equal(g.service, want.find((s) => s.id === g.id).service);
  const v2 = (await getJ(front, `/api/v2/traces/${TRACE.t1}`)).j;
  assert.equal(v2.status, 'COMPLETE');
  assert.equal(v2.trace.resourceSpans.flatMap((b) => b.scopeSpans.flatMap((ss) => ss.spans)).length, want.length);
  const pb = await request(front, 'GET', `/api/traces/${TRACE.t1}`, { headers: { ...AUTH, accept: 'application/protobuf' } });
  assert.equal(pb.status, 200);
  assert.match(String(pb.headers['content-type']), /application\/protobuf/);
  for (const s of ['checkout', 'payments', 'db.write', 'call payments']) assert.ok(pb.body.includes(Buffer.from(s)), s);
  await getJ(front, `/api/traces/${hex(0xdead, 16)}`, { status: 404 });
  await getJ(front, '/api/traces/xyz', { status: 400 });
});

test('search: traces merged, slowest matching span first, paged', async () => {
  const traces = {};
  for (const s of allSpans) {
    const t = (traces[s.trace] ||= { id: s.trace, start: Infinity, end: -Infinity, longest: 0, root: null });
    t.start = Math.min(t.start, s.st);
    t.end = Math.max(t.end, s.st + s.dur);
    t.longest = Math.max(t.longest, s.dur);
    if (!s.parent) t.root = s;
  }
  const order = Object.values(traces).sort((a, b) => b.longest - a.longest || (a.id < b.id ? -1 : 1));
  const page1 = (await getJ(front, '/api/search?limit=3')).j;
  assert.deepEqual(page1.traces.map((t) => t.traceID), order.slice(0, 3).map((t) => t.id));
  assert.equal(page1.more, true);
  assert.equal(page1.next_offset, 3);
  const t1 = page1.traces.find((t) => t.traceID === TRACE.t1);
  assert.equal(t1.rootServiceName, 'checkout', 'from the shard that holds the root');
  assert.equal(t1.rootTraceName, 'GET /checkout');
  assert.equal(t1.durationMs, 300);
  assert.equal(t1.matchedSpanDurationMs, 300);
  const rest = (await getJ(front, `/api/search?limit=100&offset=3`)).j;
  assert.deepEqual(rest.traces.map((t) => t.traceID), order.slice(3).map((t) => t.id));
  assert.equal(rest.more, false);
  const svc = (await getJ(front, '/api/search?service=payments')).j;
  const pay = {};
  for (const s of allSpans.filter((x) => x.service === 'payments')) pay[s.trace] = Math.max(pay[s.trace] || 0, s.dur);
  assert.deepEqual(svc.traces.map((t) => t.traceID), Object.keys(pay).sort((a, b) => pay[b] - pay[a]));
  const r = await request(front, 'GET', '/api/search?limit=1000&offset=1', { headers: AUTH });
  assert.equal(r.status, 400);
  assert.match(r.body.toString(), /offset \+ limit/);
  // a parameter a shard refuses is refused, as a shard says it
  const bad = await request(front, 'GET', '/api/search?minDuration=often', { headers: AUTH });
  assert.equal(bad.status, 400);
  assert.match(bad.body.toString(), /minDuration/);
});

test('Tempo\'s tag names and values: the union over the shards', async () => {
  const services = [...new Set(allSpans.map((s) => s.service))].sort();
  const v1 = (await getJ(front, '/api/search/tag/service.name/values')).j;
  assert.deepEqual(v1.tagValues, services);
  const v2 = (await getJ(front, '/api/v2/search/tag/resource.service.name/values')).j;
  assert.deepEqual(v2.tagValues.map((v) => v.value), services);
  const names = (await getJ(front, '/api/v2/search/tags?scope=resource')).j;
  const res = names.scopes.find((s) => s.name === 'resource');
  for (const k of ['service.instance.id', 'service.name']) assert.ok(res.tags.includes(k), JSON.stringify(names));
  const limited = (await getJ(front, '/api/search/tag/service.name/values?limit=2')).j;
  assert.deepEqual(limited.tagValues, services.slice(0, 2));
  assert.deepEqual(limited.federation.missing, []);
});

test('timeline: every shard\'s spans and sources, each naming its shard', async () => {
  const { j } = await getJ(front, `/api/v1/traces/${TRACE.t1}/timeline`);
  const want = allSpans.filter((s) => s.trace === TRACE.t1);
  assert.deepEqual(j.spans.map((s) => s.span_id), [...want].sort((a, b) => a.st - b.st).map((s) => s.id));
  for (const s of j.spans) assert.equal(s.shard, `http://127.0.0.1:${ports[want.find((w) => w.id === s.span_id).shard]}`);
  assert.deepEqual(j.sources.map((s) => `${s.service}/${s.instance}`).sort(), ['checkout/c1', 'payments/p1']);
  assert.equal(j.start_ns, Number(T0));
  assert.equal(j.end_ns, Number(T0 + 300n * MS));
  // every shard's lanes over the whole trace plus the margin (500 ms), not over its own part
  assert.equal(j.window.start_ns, Number(T0 - 500n * MS));
  assert.equal(j.window.end_ns, Number(T0 + 800n * MS));
});

test('explain: the whole tree across shards, each span from its own shard', async () => {
  const { j } = await getJ(front, `/api/v1/traces/${TRACE.t1}/explain`);
  const want = allSpans.filter((s) => s.trace === TRACE.t1);
  assert.equal(j.spans.length, want.length);
  assert.equal(j.duration_ns, 300e6);
  const by = Object.fromEntries(j.spans.map((s) => [s.span_id, s]));
  // self and children times from the whole tree: each span's children, wherever they live
  for (const w of want) {
    const kids = want.filter((k) => k.parent === w.id);
    const children = kids.reduce((n, k) => n + k.dur, 0); // this data's children do not overlap
    assert.equal(by[w.id].breakdown.children_ns, children * 1e6, `${w.name}: children_ns`);
    assert.equal(by[w.id].self_ns, (w.dur - children) * 1e6, `${w.name}: self_ns`);
    assert.equal(by[w.id].shard, `http://127.0.0.1:${ports[w.shard]}`);
  }
  // "call payments" (shard 0) names its slowest child, on shard 1, with that child's own top cause
  const call = by[hex(0x102, 8)];
  assert.equal(call.causes[0].kind, 'children');
  assert.match(call.causes[0].summary, /the slowest is POST \/charge \(payments, 220\.0 ms\)/);
  assert.equal(call.causes[0].evidence[0].top_cause, by[hex(0x201, 8)].causes[0].kind);
  // the summary follows the time down across the shards to db.write
  assert.match(j.summary, /^GET \/checkout \(checkout\) took 300\.0 ms; 57% of it was in db\.write \(payments, 170\.0 ms\)/);
  // a parent whose slowest child is a leaf on another shard says what that child's own shard said of it
  const t5 = (await getJ(front, `/api/v1/traces/${TRACE.t5}/explain`)).j;
  const root = t5.spans.find((s) => s.span_id === hex(0x121, 8)), leaf = t5.spans.find((s) => s.span_id === hex(0x221, 8));
  assert.equal(leaf.shard, `http://127.0.0.1:${ports[1]}`);
  assert.equal(root.causes[0].kind, 'children');
  assert.equal(root.causes[0].summary,
    `80.0 ms in child spans; the slowest is POST /refund (payments, 80.0 ms): ${leaf.causes[0].summary}`);
  assert.equal(root.causes[0].evidence[0].top_cause, leaf.causes[0].kind);
  assert.match(t5.summary, new RegExp(`in POST /refund \\(payments, 80\\.0 ms\\), which was ${leaf.causes[0].summary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
});

test('compare: thresholds over every shard, groups from each', async () => {
  const { j } = await getJ(front, `/api/v1/compare?service=checkout&name=${encodeURIComponent('GET /checkout')}`);
  const durs = allSpans.filter((s) => s.service === 'checkout' && s.name === 'GET /checkout').map((s) => s.dur * 1e6);
  assert.equal(j.count, durs.length);
  for (const [k, q] of [['p50_ns', 0.5], ['p90_ns', 0.9]]) {
    const want = nearestRank(durs, q);
    assert.ok(Math.abs(j[k] - want) <= want * 0.006, `${k}: ${j[k]} vs ${want}`);
  }
  // each group holds the posted spans on its side of the thresholds, from both shards
  assert.equal(j.slow.spans, durs.filter((d) => d >= j.p90_ns).length);
  assert.equal(j.fast.spans, durs.filter((d) => d <= j.p50_ns).length);
  assert.ok(j.fast.spans >= 4, JSON.stringify(j.fast));
  // no runtime data was sent and these spans have no children: all unknown
  assert.equal(j.slow.breakdown_share.unknown, 1);
  assert.equal(j.fast.breakdown_share.unknown, 1);
  assert.equal(j.flame.name, 'all');
  assert.match(j.summary, /^Slow GET \/checkout spans of checkout/);
  assert.deepEqual(j.federation, { shards: 3, answered: 3, missing: [] });
  const none = await request(front, 'GET', '/api/v1/compare?service=checkout&name=nosuch', { headers: AUTH });
  assert.equal(none.status, 404);
});

test('the query role refuses ingest and what only a shard answers', async () => {
  const r = await request(front, 'POST', '/v1/traces', { body: Buffer.from('{}'), headers: { 'content-type': 'application/json' } });
  assert.equal(r.status, 404);
  assert.match(r.body.toString(), /query-only/);
  const s = await request(front, 'GET', '/api/v1/gc/operations?service=checkout', { headers: AUTH });
  assert.equal(s.status, 404);
  assert.match(s.body.toString(), /query-only/);
});

test('a DNS peer: dns+http://localhost resolves to the shard', async () => {
  const f = await startServer({ env: ENV, args: ['--role', 'query', '--peers', `dns+http://localhost:${ports[1]}`, '--peer-timeout', '2s'] });
  try {
    const { j } = await getJ(f, '/api/v1/services');
    assert.ok(j.federation.shards >= 1);
    assert.ok(j.services.some((s) => s.name === 'payments'), JSON.stringify(j));
  } finally {
    await f.stop();
  }
});

// ---------------------------------------------------------------- one shard down

test('a shard down: partial answers name it, in the header and the answer', async () => {
  const dead = `http://127.0.0.1:${ports[2]}`;
  shards[2].proc.kill('SIGKILL');
  await shards[2].exited;
  const { j, headers } = await getJ(front, '/api/v1/services');
  assert.equal(headers['meanwhile-missing-shards'], dead);
  assert.equal(j.federation.shards, 3);
  assert.equal(j.federation.answered, 2);
  assert.deepEqual(j.federation.missing.map((m) => m.shard), [dead]);
  assert.deepEqual(j.services.map((s) => s.name), ['checkout', 'payments']);
  assert.equal(j.services[0].span_count, allSpans.filter((s) => s.service === 'checkout' && s.shard !== 2).length);
  // a trace on the others is whole, and still says a shard did not answer
  const t1 = await getJ(front, `/api/v2/traces/${TRACE.t1}`);
  assert.equal(t1.j.status, 'PARTIAL');
  assert.match(t1.j.message, new RegExp(dead));
  assert.equal(t1.headers['meanwhile-missing-shards'], dead);
  // a trace only the dead shard held: not a 404 (it may be there), a 503 naming it
  const t4 = await request(front, 'GET', `/api/traces/${TRACE.t4}`, { headers: AUTH });
  assert.equal(t4.status, 503);
  assert.match(t4.body.toString(), new RegExp(dead));
  // explain and search go on without it
  const ex = await getJ(front, `/api/v1/traces/${TRACE.t1}/explain`);
  assert.deepEqual(ex.j.federation.missing.map((m) => m.shard), [dead]);
  const se = await getJ(front, '/api/search?limit=20');
  assert.ok(!se.j.traces.some((t) => t.traceID === TRACE.t3));
  assert.equal(se.headers['meanwhile-missing-shards'], dead);
});

test('the shard back: answers are complete again', async () => {
  await shards[2].start(); // the same port and data directory
  const { j, headers } = await getJ(front, '/api/v1/services');
  assert.equal(headers['meanwhile-missing-shards'], undefined);
  assert.deepEqual(j.federation, { shards: 3, answered: 3, missing: [] });
  assert.deepEqual(j.services.map((s) => s.name), ['checkout', 'inventory', 'payments']);
  assert.equal(j.services[0].span_count, allSpans.filter((s) => s.service === 'checkout').length);
  const t4 = await getJ(front, `/api/traces/${TRACE.t4}`);
  assert.equal(t4.j.batches.length, 1);
});

test('every server stops cleanly, having logged nothing unexpected', async () => {
  await front.stop();
  for (const s of shards) await s.stop();
});

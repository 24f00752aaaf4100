// Runtime data carried in OTLP traces (docs/SHARDING.md §2, docs/API.md "Runtime data
// carried as spans"): the spans of the scope meanwhile.runtime on POST /v1/traces are
// runtime pushes. The real captures of tests/data/go1.19-checkout go in once through
// POST /api/v1/ingest/{kind} and once as carriers (protobuf, and JSON with base64 bytes,
// built here from the documented format, not by libmeanwhile), and must be stored alike;
// a request holding carriers and ordinary spans stores both; carriers the server cannot
// read are rejected spans with a reason while the rest is stored.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, postTraces, getJson } from './lib/server.mjs';
import { encodeTraceRequestPb, decodeTraceResponsePb, makeRequest } from './lib/otlp.mjs';
import { fixture, LAUNCH_NS, parseStderr, getJ, ingestOk, findSource } from './lib/runtime.mjs';

const STDERR = parseStderr(fixture('runtime-stderr.log').toString('utf8'));
const FILES = [
  ['goroutine', 'goroutines-debug2-1795334476463613272.txt'],
  ['goroutine', 'goroutines-1795334476627154535.pb.gz'],
  ['cpu', 'cpu-1795334476463713030.pb.gz'],
  ['heap', 'heap-1795334482813101392.pb.gz'],
];

/** One carrier span (OTLP/JSON shape) for a push of kind with params and body. */
function carrierSpan(kind, { time, duration, process_start: ps, trigger } = {}, body) {
  const attrs = [{ key: 'meanwhile.kind', value: { stringValue: kind } }];
  if (time) attrs.push({ key: 'meanwhile.time_ns', value: { intValue: String(time) } });
  if (duration) attrs.push({ key: 'meanwhile.duration_ns', value: { intValue: String(duration) } });
  if (ps) attrs.push({ key: 'meanwhile.process_start_ns', value: { intValue: String(ps) } });
  if (trigger) attrs.push({ key: 'meanwhile.trigger', value: { stringValue: trigger } });
  if (body !== undefined) attrs.push({ key: 'meanwhile.payload', value: { bytesValue: Buffer.from(body).toString('base64') } });
  const t = BigInt(time || 1795334476000000000n);
  return { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', name: kind, kind: 1,
    startTimeUnixNano: String(t), endTimeUnixNano: String(t + BigInt(duration || 0)), attributes: attrs };
}

/** A resourceSpans of carriers for (service, instance). */
const carriers = (service, instance, spans) => ({
  resource: { attributes: [{ key: 'service.name', value: { stringValue: service } },
    ...(instance ? [{ key: 'service.instance.id', value: { stringValue: instance } }] : [])] },
  scopeSpans: [{ scope: { name: 'meanwhile.runtime', version: '1' }, spans }],
});

async function postPb(req) {
  const r = await postTraces(srv, encodeTraceRequestPb(req), { contentType: 'application/x-protobuf' });
  assert.equal(r.status, 200, `POST /v1/traces: ${r.status} ${r.body.toString().slice(0, 300)}\n${srv.log(1500)}`);
  return decodeTraceResponsePb(r.body); // its partial_success, or null
}

let srv;
before(async () => { srv = await startServer(); });
after(async () => { if (srv) await srv.cleanup(); });

test('gctrace carried as a span is stored as the same push to /api/v1/ingest is', async () => {
  const body = fixture('runtime-stderr.log');
  await ingestOk(srv, 'gctrace', { service: 'direct', instance: 'd-1', process_start: String(LAUNCH_NS) }, body);
  const resp = await postPb({ resourceSpans: [carriers('carried', 'c-1', [carrierSpan('gctrace', { process_start: LAUNCH_NS }, body)])] });
  assert.equal(resp, null, 'full success (no partial_success)');
  const d = await findSource(srv, 'direct', 'd-1'), c = await findSource(srv, 'carried', 'c-1');
  assert.ok(c, 'the carrier made the source (carried, c-1) from its resource');
  const gd = await getJ(srv, `/api/v1/sources/${d.id}/gc?limit=10000`), gcar = await getJ(srv, `/api/v1/sources/${c.id}/gc?limit=10000`);
  assert.equal(gcar.cycles.length, STDERR.gc.length, 'every gc line of the file');
  assert.deepEqual(gcar.cycles, gd.cycles, 'the same cycles, at the same times');
  const sd = await getJ(srv, `/api/v1/sources/${d.id}/sched?limit=10000`), sc = await getJ(srv, `/api/v1/sources/${c.id}/sched?limit=10000`);
  assert.equal(sc.samples.length, STDERR.sched.length);
  assert.deepEqual(sc.samples, sd.samples);
  // no span was stored for the carrier
  const sv = await getJson(srv, '/api/v1/services?name=carried');
  assert.deepEqual(sv.services, [], 'a carrier is not a span');
});

test('goroutine dumps and profiles, CPU and heap profiles: the same snapshots either way (protobuf and JSON)', async () => {
  const params = (i) => ({ time: 1795334476000000000n + BigInt(i) * 1000000000n, duration: 10000000000n, trigger: i ? undefined : 'heap' });
  for (const [i, [kind, f]] of FILES.entries()) {
    const p = params(i);
    await ingestOk(srv, kind, { service: 'direct', instance: 'd-2', time: String(p.time), duration: String(p.duration),
      ...(p.trigger ? { trigger: p.trigger } : {}) }, fixture(f));
  }
  // the first two in one protobuf request, the others as OTLP/JSON
  await postPb({ resourceSpans: [carriers('carried', 'c-2', FILES.slice(0, 2).map(([kind, f], i) => carrierSpan(kind, params(i), fixture(f))))] });
  const json = { resourceSpans: [carriers('carried', 'c-2', FILES.slice(2).map(([kind, f], i) => carrierSpan(kind, params(i + 2), fixture(f))))] };
  const r = await postTraces(srv, JSON.stringify(json), { contentType: 'application/json' });
  assert.equal(r.status, 200, `JSON: ${r.status} ${r.body}`);
  assert.deepEqual(JSON.parse(r.body.toString()), {}, 'full success');
  const d = await findSource(srv, 'direct', 'd-2'), c = await findSource(srv, 'carried', 'c-2');
  const sd = (await getJ(srv, `/api/v1/sources/${d.id}/snapshots?start=0&end=4000000000`)).snapshots;
  const scar = (await getJ(srv, `/api/v1/sources/${c.id}/snapshots?start=0&end=4000000000`)).snapshots;
  assert.equal(scar.length, FILES.length, `one snapshot per carrier: ${JSON.stringify(scar.map((s) => s.kind))}`);
  const shape = (s) => ({ kind: s.kind, format: s.format, time_ns: String(s.time_ns), duration_ns: String(s.duration_ns), total: String(s.total), trigger: s.trigger });
  const byTime = (a, b) => (BigInt(a.time_ns) < BigInt(b.time_ns) ? -1 : 1);
  assert.deepEqual(scar.sort(byTime).map(shape), sd.sort(byTime).map(shape));
});

test('a request of carriers and spans stores both; unreadable carriers are rejected spans, with a reason', async () => {
  const spans = makeRequest({ traces: 2, spansPerTrace: 3, service: 'mixed', instance: 'm-1' });
  const req = { resourceSpans: [
    ...spans.body.resourceSpans,
    carriers('mixed', 'm-1', [
      carrierSpan('gctrace', { process_start: LAUNCH_NS }, fixture('runtime-stderr.log')),
      carrierSpan('bogus', {}, 'x'),                      // not an ingest kind
      carrierSpan('heap', {}, 'not a profile'),           // a heap push that cannot be read
      carrierSpan('gctrace', { process_start: LAUNCH_NS }), // no payload
    ]),
    carriers('', 'm-1', [carrierSpan('gctrace', {}, 'x')]), // no service.name
  ] };
  const resp = await postPb(req);
  assert.equal(Number(resp?.rejectedSpans), 4, `4 carriers rejected: ${resp?.errorMessage}`);
  assert.match(resp.errorMessage, /meanwhile\.runtime.*meanwhile\.kind/, 'the first reason names the attribute');
  const sv = await getJson(srv, '/api/v1/services?name=mixed');
  assert.equal(sv.services[0]?.span_count, spans.spanCount, 'the ordinary spans are stored');
  const src = await findSource(srv, 'mixed', 'm-1');
  const gc = await getJ(srv, `/api/v1/sources/${src.id}/gc?limit=10000`);
  assert.equal(gc.cycles.length, STDERR.gc.length, 'and the readable carrier with them, under the same source');
});

test('a retried request of carriers (the Collector resends the same bytes) stores its runtime data once', async () => {
  const metric = async () => {
    const m = (await (await fetch(srv.url('/metrics'))).text()).match(/^meanwhile_ingest_resent_total (\d+)/m);
    return Number(m?.[1] ?? NaN);
  };
  const before = await metric();
  const t = 1795334490000000000n;
  const spans = makeRequest({ traces: 1, spansPerTrace: 2, service: 'retried', instance: 'r-1' });
  const req = { resourceSpans: [...spans.body.resourceSpans,
    carriers('retried', 'r-1', [carrierSpan('goroutine', { time: t, duration: 1n }, fixture(FILES[1][1])),
      carrierSpan('gctrace', { process_start: LAUNCH_NS }, fixture('runtime-stderr.log'))])] };
  for (let i = 0; i < 3; i++) assert.equal(await postPb(req), null, `post ${i + 1}: full success`);
  const src = await findSource(srv, 'retried', 'r-1');
  const snaps = (await getJ(srv, `/api/v1/sources/${src.id}/snapshots?start=0&end=4000000000`)).snapshots;
  assert.equal(snaps.length, 1, 'one goroutine profile, not three');
  const gc = await getJ(srv, `/api/v1/sources/${src.id}/gc?limit=10000`);
  assert.equal(gc.cycles.length, STDERR.gc.length, 'each gc line once');
  const sv = await getJson(srv, '/api/v1/services?name=retried');
  assert.equal(sv.services[0]?.span_count, spans.spanCount, 'the spans once');
  // two retries, each of two jobs (the runtime data, then the spans)
  assert.equal(await metric() - before, 4, 'meanwhile_ingest_resent_total counts each retried job');
  // the same payload in another carrier (another span id: another push) is a new observation
  const again = { resourceSpans: [carriers('retried', 'r-1', [{ ...carrierSpan('goroutine', { time: t + 1000000000n, duration: 1n }, fixture(FILES[1][1])), spanId: 'c7ad6b7169203332' }])] };
  assert.equal(await postPb(again), null);
  const snaps2 = (await getJ(srv, `/api/v1/sources/${src.id}/snapshots?start=0&end=4000000000`)).snapshots;
  assert.equal(snaps2.length, 2, 'a new push of equal bytes is stored');
});

test('the server logged nothing unexpected and stops cleanly', async () => {
  await srv.stop();
});

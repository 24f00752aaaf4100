// The official OpenTelemetry JS SDK (sdk-trace-base 2.x) exports to a running meanwhiled
// with both OTLP/HTTP exporters (protobuf and JSON); the spans read back via
// GET /api/traces with every attribute type, an event, a child span and an error status.
// The OTel packages are pinned in package.json (installed by `npm ci` in this directory).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { startServer, getJson } from './lib/server.mjs';
import { flattenSpans, normAttrs, assertTraceMatches } from './lib/otlp.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const HAVE_SDK = existsSync(path.join(HERE, 'node_modules', '@opentelemetry', 'sdk-trace-base', 'package.json'));
const SKIP = HAVE_SDK ? false : 'node_modules is missing: run `npm ci` in tests/integration to install the pinned OpenTelemetry SDK';

let api, sdk, resources, ExporterProto, ExporterHttp;
let srv;

before(async () => {
  if (!HAVE_SDK) return;
  api = await import('@opentelemetry/api');
  sdk = await import('@opentelemetry/sdk-trace-base');
  resources = await import('@opentelemetry/resources');
  ({ OTLPTraceExporter: ExporterProto } = await import('@opentelemetry/exporter-trace-otlp-proto'));
  ({ OTLPTraceExporter: ExporterHttp } = await import('@opentelemetry/exporter-trace-otlp-http'));
  srv = await startServer();
});
after(async () => { if (srv) await srv.cleanup(); });

// Literal expectations for the attributes we set, in OTLP/JSON form.
const ROOT_ATTRS = {
  'http.route': '/orders/:id',
  'http.response.status_code': 503,
  'retry.count': -7,
  'big.int': 2 ** 40,
  ratio: 0.25,
  'neg.double': -1.5e-3,
  ok: true,
  cached: false,
  tags: ['a', 'b', 'c'],
  ports: [80, 443],
  weights: [0.5, 1.25],
  flags: [true, false, true],
  'utf8.text': 'grüße, 世界 "quoted" \\ back',
};
const ROOT_ATTRS_OTLP = {
  'http.route': { stringValue: '/orders/:id' },
  'http.response.status_code': { intValue: '503' },
  'retry.count': { intValue: '-7' },
  'big.int': { intValue: String(2 ** 40) },
  ratio: { doubleValue: 0.25 },
  'neg.double': { doubleValue: -1.5e-3 },
  ok: { boolValue: true },
  cached: { boolValue: false },
  tags: { arrayValue: { values: [{ stringValue: 'a' }, { stringValue: 'b' }, { stringValue: 'c' }] } },
  ports: { arrayValue: { values: [{ intValue: '80' }, { intValue: '443' }] } },
  weights: { arrayValue: { values: [{ doubleValue: 0.5 }, { doubleValue: 1.25 }] } },
  flags: { arrayValue: { values: [{ boolValue: true }, { boolValue: false }, { boolValue: true }] } },
  'utf8.text': { stringValue: 'grüße, 世界 "quoted" \\ back' },
};

const hrToNs = (hr) => (BigInt(hr[0]) * 1000000000n + BigInt(hr[1])).toString();

/** OTLP/JSON value of a JS attribute value, as the OTel JS transformer maps it. */
function toAny(v) {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  if (Array.isArray(v)) return { arrayValue: { values: v.map(toAny) } };
  throw new Error(`unexpected attribute value ${v}`);
}
const toKv = (attrs) => Object.entries(attrs || {}).map(([key, value]) => ({ key, value: toAny(value) }));

/** OTLP/JSON request built from the SDK's own ReadableSpans (the test's expectation). */
function expectedFromReadable(spans) {
  const byRes = new Map();
  for (const s of spans) {
    const key = JSON.stringify(s.resource.attributes);
    if (!byRes.has(key)) byRes.set(key, { resource: { attributes: toKv(s.resource.attributes) }, scopeSpans: [] });
    const rs = byRes.get(key);
    const scope = s.instrumentationScope;
    let ss = rs.scopeSpans.find((x) => x.scope.name === scope.name && x.scope.version === (scope.version || ''));
    if (!ss) { ss = { scope: { name: scope.name, version: scope.version || '' }, spans: [] }; rs.scopeSpans.push(ss); }
    const ctx = s.spanContext();
    ss.spans.push({
      traceId: ctx.traceId, spanId: ctx.spanId,
      parentSpanId: s.parentSpanContext ? s.parentSpanContext.spanId : undefined,
      traceState: ctx.traceState ? ctx.traceState.serialize() : undefined,
      flags: ctx.traceFlags | 0x100 | (s.parentSpanContext && s.parentSpanContext.isRemote ? 0x200 : 0),
      name: s.name, kind: s.kind + 1, // API SpanKind INTERNAL=0.. -> OTLP INTERNAL=1..
      startTimeUnixNano: hrToNs(s.startTime), endTimeUnixNano: hrToNs(s.endTime),
      attributes: toKv(s.attributes), droppedAttributesCount: s.droppedAttributesCount,
      events: s.events.map((e) => ({ timeUnixNano: hrToNs(e.time), name: e.name, attributes: toKv(e.attributes), droppedAttributesCount: e.droppedAttributesCount || 0 })),
      droppedEventsCount: s.droppedEventsCount,
      links: s.links.map((l) => ({
        traceId: l.context.traceId, spanId: l.context.spanId, attributes: toKv(l.attributes),
        traceState: l.context.traceState ? l.context.traceState.serialize() : undefined,
        droppedAttributesCount: l.droppedAttributesCount || 0,
        flags: (l.context.traceFlags & 0xff) | 0x100 | (l.context.isRemote ? 0x200 : 0),
      })),
      droppedLinksCount: s.droppedLinksCount,
      status: { code: s.status.code, message: s.status.message || '' },
    });
  }
  return { resourceSpans: [...byRes.values()] };
}

async function runSdk(kind) {
  const { trace, ROOT_CONTEXT, SpanKind, SpanStatusCode } = api;
  const Exporter = kind === 'proto' ? ExporterProto : ExporterHttp;
  const inner = new Exporter({ url: `${srv.base}/v1/traces`, timeoutMillis: 10000 });
  const exported = [];
  const results = [];
  // wrap the exporter to see what it exported and whether the export succeeded
  const exporter = {
    export(spans, cb) {
      exported.push(...spans);
      inner.export(spans, (res) => { results.push(res); cb(res); });
    },
    shutdown: () => inner.shutdown(),
    forceFlush: () => (inner.forceFlush ? inner.forceFlush() : Promise.resolve()),
  };
  const service = `sdk-${kind}`;
  const provider = new sdk.BasicTracerProvider({
    resource: resources.resourceFromAttributes({
      'service.name': service, 'service.instance.id': `${service}-1`, 'host.name': 'it-host', 'process.pid': 4242,
    }),
    spanProcessors: [kind === 'proto' ? new sdk.BatchSpanProcessor(exporter, { scheduledDelayMillis: 100 }) : new sdk.SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('meanwhile-it', '1.2.3');

  const root = tracer.startSpan('GET /orders/:id', { kind: SpanKind.SERVER, attributes: ROOT_ATTRS }, ROOT_CONTEXT);
  const rootCtx = trace.setSpan(ROOT_CONTEXT, root);
  const child = tracer.startSpan('SELECT orders', { kind: SpanKind.CLIENT, attributes: { 'db.system': 'postgresql', 'db.rows': 3 } }, rootCtx);
  child.addEvent('rows.fetched', { count: 3, 'first.id': 'o-17', partial: false, latency: 0.75 });
  child.setStatus({ code: SpanStatusCode.OK });
  child.end();
  const producer = tracer.startSpan('publish order', { kind: SpanKind.PRODUCER, links: [{ context: child.spanContext(), attributes: { why: 'caused-by' } }] }, rootCtx);
  producer.end();
  root.addEvent('retry', { attempt: 2 });
  root.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream unavailable' });
  root.end();
  await provider.forceFlush();
  await provider.shutdown();

  assert.equal(exported.length, 3, 'the SDK exported 3 spans');
  assert.ok(results.length > 0);
  for (const r of results) assert.equal(r.code, 0, `export failed: ${r.error}\n${srv.log(1500)}`);
  return { exported, root, child, producer, service };
}

for (const kind of ['proto', 'http']) {
  test(`@opentelemetry/exporter-trace-otlp-${kind} -> meanwhiled -> GET /api/traces`, { skip: SKIP }, async () => {
    const { exported, root, child, producer, service } = await runSdk(kind);
    const traceId = root.spanContext().traceId;
    const expected = flattenSpans(expectedFromReadable(exported));
    assert.equal(expected.size, 1);
    const got = await getJson(srv, `/api/traces/${traceId}`);
    assertTraceMatches(got, expected.get(traceId), traceId);

    // literal checks, independent of the conversion above
    const spans = new Map();
    let resource;
    let scope;
    for (const b of got.batches) for (const ss of b.scopeSpans) for (const s of ss.spans) {
      spans.set(s.spanId, s); resource = b.resource; scope = ss.scope;
    }
    assert.deepEqual(scope, { name: 'meanwhile-it', version: '1.2.3' });
    const resAttrs = Object.fromEntries(resource.attributes.map((a) => [a.key, a.value]));
    assert.deepEqual(resAttrs['service.name'], { stringValue: service });
    assert.deepEqual(resAttrs['process.pid'], { intValue: '4242' });
    const r = spans.get(root.spanContext().spanId);
    assert.equal(r.name, 'GET /orders/:id');
    assert.equal(r.kind, 2);
    assert.equal('parentSpanId' in r, false);
    assert.deepEqual(r.status, { code: 2, message: 'upstream unavailable' });
    assert.deepEqual(normAttrs(r.attributes), normAttrs(Object.entries(ROOT_ATTRS_OTLP).map(([key, value]) => ({ key, value }))));
    assert.deepEqual(r.events.map((e) => e.name), ['retry']);
    const c = spans.get(child.spanContext().spanId);
    assert.equal(c.parentSpanId, root.spanContext().spanId);
    assert.equal(c.kind, 3);
    assert.equal(c.status.code, 1);
    assert.equal(c.events.length, 1);
    assert.equal(c.events[0].name, 'rows.fetched');
    assert.deepEqual(normAttrs(c.events[0].attributes), normAttrs([
      { key: 'count', value: { intValue: '3' } }, { key: 'first.id', value: { stringValue: 'o-17' } },
      { key: 'partial', value: { boolValue: false } }, { key: 'latency', value: { doubleValue: 0.75 } },
    ]));
    const p = spans.get(producer.spanContext().spanId);
    assert.equal(p.kind, 4);
    assert.equal(p.links.length, 1);
    assert.equal(p.links[0].spanId, child.spanContext().spanId);
    assert.equal(p.links[0].traceId, traceId);
  });
}

test('both SDK services are listed', { skip: SKIP }, async () => {
  const j = await getJson(srv, '/api/v1/services');
  const names = j.services.map((s) => s.name);
  assert.deepEqual(names, [...names].sort(), 'services sorted by name');
  for (const n of ['sdk-http', 'sdk-proto']) assert.ok(names.includes(n), `${n} missing in ${names}`);
  for (const s of j.services) assert.equal(s.span_count, 3);
  await srv.stop();
});

// Shared by tests/integration/openapi.test.mjs (every documented operation called and its
// answer validated) and tests/openapi/fuzz.mjs (schemathesis): docs/openapi.yaml loaded,
// its response schemas compiled with ajv (JSON Schema 2020-12, what OpenAPI 3.1 uses), the
// route table of server/http read from the C sources, and a meanwhiled loaded with a bit of
// everything (spans, runtime data, heap profiles, OTLP profiles, an execution trace) so
// that every read has something to answer.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { startServer, readData, postJsonOk, request } from './lib/server.mjs';
import { FIXTURE_DIR, fixture, LAUNCH_NS, ingestOk, findSource } from './lib/runtime.mjs';
import { encodeRecords, fakeReader, STATE } from './lib/exectrace.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SPEC_PATH = process.env.MW_OPENAPI || path.join(ROOT, 'docs', 'openapi.yaml');

export function loadSpec(file = SPEC_PATH) {
  return YAML.parse(readFileSync(file, 'utf8'));
}

/** [{method, path, op}] for every operation of the spec. */
export function operations(spec) {
  const out = [];
  for (const [p, item] of Object.entries(spec.paths))
    for (const m of ['get', 'post', 'put', 'delete', 'patch', 'head'])
      if (item[m]) out.push({ method: m.toUpperCase(), path: p, op: item[m] });
  return out;
}

/** Resolves a local $ref ('#/components/...') of the spec. */
export function deref(spec, obj) {
  while (obj && obj.$ref) {
    obj = obj.$ref.slice(2).split('/').reduce((o, k) => o[k.replace(/~1/g, '/').replace(/~0/g, '~')], spec);
  }
  return obj;
}

/**
 * A validator of answers against the spec: validate(method, path, status, contentType, body)
 * returns a list of problems (empty when the answer is documented and conforms).
 */
export function answerValidator(spec) {
  const ajv = new Ajv2020({ strict: true, allErrors: true, strictTypes: false, strictRequired: false });
  addFormats(ajv);
  ajv.addVocabulary(['example', 'discriminator', 'xml', 'externalDocs']);
  // the components' schemas under one $id, refs rewritten to it
  const rewrite = (s) => JSON.parse(JSON.stringify(s).replaceAll('"#/components/schemas/', '"mw:openapi#/$defs/'));
  ajv.addSchema({ $id: 'mw:openapi', $defs: rewrite(spec.components.schemas) });
  const cache = new Map();
  return function validate(method, p, status, contentType, body) {
    const item = spec.paths[p];
    const op = item && item[method.toLowerCase()];
    if (!op) return [`${method} ${p} is not documented`];
    const resp = deref(spec, op.responses[String(status)] || op.responses[`${String(status)[0]}XX`] || op.responses.default);
    if (!resp) return [`${method} ${p}: status ${status} is not documented (documented: ${Object.keys(op.responses).join(', ')})`];
    if (!resp.content) return body.length ? [`${method} ${p} ${status}: a body where none is documented`] : [];
    const media = String(contentType || '').split(';')[0].trim();
    const mt = resp.content[media];
    if (!mt) return [`${method} ${p} ${status}: content type ${media || '(none)'} is not documented (${Object.keys(resp.content).join(', ')})`];
    const key = `${method} ${p} ${status} ${media}`;
    if (!cache.has(key)) cache.set(key, mt.schema ? ajv.compile(rewrite(mt.schema)) : null);
    const check = cache.get(key);
    if (!check) return [];
    let value;
    if (/json/.test(media)) {
      try { value = JSON.parse(body.toString('utf8')); } catch (e) { return [`${key}: not JSON: ${e.message}`]; }
    } else if (mt.schema.format === 'binary') {
      return [];
    } else {
      value = body.toString('utf8');
    }
    if (check(value)) return [];
    return check.errors.slice(0, 8).map((e) => `${key}: ${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
  };
}

/**
 * The routes server/http registers: [{method, path, prefix, file}] from every
 * `const mw_route mw__*_routes[]` table of server/http/*.c, and the sub-paths the prefix
 * routes' handlers dispatch on (`strcmp(rest, "/gc")`, `strcmp(what, "explain")`, ...) as
 * [{file, literal}].
 */
export function serverRoutes(dir = path.join(ROOT, 'server', 'http')) {
  const routes = [], subs = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.c')).sort()) {
    const src = readFileSync(path.join(dir, f), 'utf8');
    const table = /const\s+mw_route\s+mw__\w+_routes\[\]\s*=\s*\{([\s\S]*?)\n\};/.exec(src);
    if (table) {
      for (const entry of table[1].matchAll(/\{([^{}]*\.path\s*=[^{}]*)\}/g)) {
        const e = entry[1];
        const method = /\.method\s*=\s*"([A-Z]+)"/.exec(e)?.[1];
        const p = /\.path\s*=\s*"([^"]*)"/.exec(e)?.[1];
        const prefix = /\.prefix\s*=\s*1/.test(e);
        const byShard = /\.by_shard\s*=\s*1/.test(e);
        routes.push({ method, path: p, prefix, byShard, file: f });
      }
    }
    for (const m of src.matchAll(/strn?cmp\((?:rest|what|slash|p|tag \+ n - 7)\s*,\s*"([^"]+)"/g)) subs.push({ file: f, literal: m[1] });
  }
  return { routes, subs };
}

/** The documented path (with {params}) as a regex over concrete paths. */
export const pathRegex = (p) => new RegExp('^' + p.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+') + '$');

// ------------------------------------------------------------------ the data

const MS = 1000000n;
export const XT = { trace: 'aaaa0000000000000000000000000001', span: 'a100000000000001',
  trace2: 'bbbb0000000000000000000000000002', span2: 'b200000000000002' };

/**
 * Starts meanwhiled (with a fake execution trace reader writing hand-built records) and
 * loads: the go1.19-checkout fixture (2,900 spans, gctrace/schedtrace, goroutine dumps and
 * profiles, CPU, heap, allocs, mutex, block profiles), the heap profile once more two
 * hours earlier (a base for heap growth and a second profile for the allocation rate),
 * a Pyroscope push, an OTLP profile linked to a span, and one execution trace covering two
 * spans of service "shop". Returns {srv, ids} with ids of what the calls can name.
 */
export async function startLoaded({ args = [], allowLog = [] } = {}) {
  const T0 = BigInt(Date.now() - 3600_000) * MS;
  const records = {
    stacks: [{ id: 1, frames: [{ func: 'sync.(*Mutex).Lock', file: '/go/src/sync/mutex.go', line: 81 }, { func: 'main.get', file: '/app/main.go', line: 40 }] },
      { id: 2, frames: [{ func: 'sync.(*Mutex).Unlock', file: '/go/src/sync/mutex.go', line: 220 }, { func: 'main.refresh', file: '/app/main.go', line: 90 }] }],
    spans: [{ trace_id: XT.trace, span_id: XT.span, name: 'cache.get', task_id: 1 }, { trace_id: XT.trace2, span_id: XT.span2, name: 'cache.refresh', task_id: 2 }],
    intervals: [
      { goroutine: 57, state: STATE.running, start_ns: T0, end_ns: T0 + 1n * MS, span: 1, clipped_start: true },
      { goroutine: 57, state: STATE.blocked, reason: 'mutex', raw_reason: 'sync', start_ns: T0 + 1n * MS, end_ns: T0 + 41n * MS, stack: 1, span: 1 },
      { goroutine: 57, state: STATE.running, start_ns: T0 + 41n * MS, end_ns: T0 + 43n * MS, span: 1 },
      { goroutine: 12, state: STATE.running, start_ns: T0, end_ns: T0 + 50n * MS, span: 2, clipped_start: true, clipped_end: true },
    ],
    wakes: [{ goroutine: 57, waker: 12, time_ns: T0 + 41n * MS, waker_stack: 2, waker_span: 2, span: 1 }],
    summary: { start_ns: T0, end_ns: T0 + 50n * MS, alignment: 1, events: 20, generations: 1, goroutines: 2 },
  };
  const reader = fakeReader('openapi-records', { stdout: encodeRecords(records) });
  const srv = await startServer({ args: ['--exectrace-reader', reader, ...args], allowLog });
  try {
    return await load(srv, T0);
  } catch (e) {
    await srv.cleanup().catch(() => {});
    throw e;
  }
}

async function load(srv, T0) {

  // spans of the fixture, then the runtime data of the same process
  for (const line of readData(FIXTURE_DIR, 'spans.otlp.jsonl').toString('utf8').split('\n').filter((l) => l.trim()))
    await postJsonOk(srv, JSON.parse(line));
  await ingestOk(srv, 'gctrace', { service: 'checkout', process_start: String(LAUNCH_NS) }, fixture('runtime-stderr.log'));
  const files = readdirSync(path.join(process.env.MW_TEST_DATA || path.join(ROOT, 'tests', 'data'), FIXTURE_DIR)).sort();
  const fileTime = (f) => /-(\d{19})\./.exec(f)[1];
  for (const f of files.filter((n) => /^goroutines-debug2-\d+\.txt$/.test(n)))
    await ingestOk(srv, 'goroutine', { service: 'checkout', time: fileTime(f) }, fixture(f));
  for (const f of files.filter((n) => /^goroutines-\d+\.pb\.gz$/.test(n)))
    await ingestOk(srv, 'goroutine', { service: 'checkout', time: fileTime(f) }, fixture(f));
  const snaps = {};
  for (const f of files.filter((n) => /^(cpu|heap|allocs|mutex|block)-\d+\.pb\.gz$/.test(n))) {
    const kind = /^([a-z]+)-/.exec(f)[1];
    snaps[kind] = (await ingestOk(srv, kind, { service: 'checkout', time: fileTime(f) }, fixture(f))).snapshot_id;
  }
  const heapFile = files.find((n) => /^heap-/.test(n));
  const heapNs = BigInt(fileTime(heapFile));
  await ingestOk(srv, 'heap', { service: 'checkout', time: String(heapNs - 7200n * 1000n * MS) }, fixture(heapFile));

  // Pyroscope and OTLP profiles
  const cpuFile = files.find((n) => /^cpu-/.test(n));
  const pyro = await request(srv, 'POST', `/ingest?name=${encodeURIComponent('pyro.cpu{instance=p-1}')}&from=1795334476&until=1795334486`,
    { body: fixture(cpuFile), headers: { 'content-type': 'application/octet-stream' } });
  assert.equal(pyro.status, 200, `Pyroscope push: ${pyro.body}`);
  const trace = JSON.parse(readData(FIXTURE_DIR, 'spans.otlp.jsonl').toString('utf8').split('\n')[0]);
  const aSpan = trace.resourceSpans[0].scopeSpans[0].spans[0];
  const otlpProfile = otlpProfileRequest(BigInt(aSpan.startTimeUnixNano), aSpan.traceId, aSpan.spanId);
  const pr = await request(srv, 'POST', '/v1development/profiles', { body: Buffer.from(JSON.stringify(otlpProfile)), headers: { 'content-type': 'application/json' } });
  assert.equal(pr.status, 200, `OTLP profile: ${pr.body}`);

  // an execution trace of "shop"
  const otlp = (service, traceId, spanId, name, start, end) => ({ resourceSpans: [{
    resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
    scopeSpans: [{ scope: {}, spans: [{ traceId, spanId, name, kind: 2, startTimeUnixNano: String(start), endTimeUnixNano: String(end) }] }] }] });
  await postJsonOk(srv, otlp('shop', XT.trace, XT.span, 'cache.get', T0 - 10n * MS, T0 + 43n * MS));
  await postJsonOk(srv, otlp('shop', XT.trace2, XT.span2, 'cache.refresh', T0 - 5n * MS, T0 + 45n * MS));
  const xt = await request(srv, 'POST', '/api/v1/ingest/exectrace?service=shop&trigger=slow_span',
    { body: Buffer.concat([Buffer.from('go 1.26 trace\x00\x00\x00'), Buffer.alloc(1000, 7)]) });
  assert.equal(xt.status, 200, `exectrace: ${xt.body}`);
  const xtId = JSON.parse(xt.body.toString()).id;

  const src = await findSource(srv, 'checkout', (await findSourceInstance(srv, 'checkout')));
  const shop = (await (await fetchJson(srv, '/api/v1/sources')).sources).find((s) => s.service === 'shop');
  return {
    srv,
    ids: {
      traceId: aSpan.traceId, spanId: aSpan.spanId, spanName: aSpan.name, service: 'checkout',
      sourceId: src.id, shopSourceId: shop.id, snapshotId: snaps.heap, cpuSnapshotId: snaps.cpu, exectraceId: xtId,
      heapNs, windowStart: '1795334400', windowEnd: '1795335000', T0,
    },
  };
}

async function fetchJson(srv, p) {
  const r = await request(srv, 'GET', p);
  assert.equal(r.status, 200, `${p}: ${r.body}`);
  return JSON.parse(r.body.toString());
}

async function findSourceInstance(srv, service) {
  const j = await fetchJson(srv, '/api/v1/sources');
  const s = j.sources.find((x) => x.service === service);
  assert.ok(s, `no source of ${service}: ${JSON.stringify(j)}`);
  return s.instance;
}

/** One OTLP profile (JSON) of 3 + 4 CPU samples on a span and 2 off it. */
function otlpProfileRequest(t0, traceId, spanId) {
  return {
    dictionary: {
      stringTable: ['', 'samples', 'count', 'cpu', 'nanoseconds', 'main.work', 'main.go', 'main.main'],
      functionTable: [{}, { nameStrindex: 5, filenameStrindex: 6 }, { nameStrindex: 7, filenameStrindex: 6 }],
      locationTable: [{}, { lines: [{ functionIndex: 1, line: 12 }] }, { lines: [{ functionIndex: 2, line: 3 }] }],
      stackTable: [{}, { locationIndices: [1, 2] }, { locationIndices: [2] }],
      linkTable: [{}, { traceId, spanId }],
      attributeTable: [{}],
    },
    resourceProfiles: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] },
      scopeProfiles: [{ profiles: [{
        sampleType: { typeStrindex: 1, unitStrindex: 2 }, periodType: { typeStrindex: 3, unitStrindex: 4 },
        period: 10000000, timeUnixNano: String(t0), durationNano: 1000000000,
        samples: [{ stackIndex: 1, linkIndex: 1, values: [3, 4] }, { stackIndex: 2, values: [2] }],
      }] }],
    }],
  };
}

// OTLP profiles ingest, POST /v1development/profiles (opentelemetry-proto v1.10.0,
// profiles/v1development): protobuf and JSON bodies built here from the published field
// numbers, samples linked to a span found on it (GET /api/v1/spans/{id}/profile), the rest
// the source's profile, partial success, and 400s naming the field. The real Go CPU
// profile of the checkout fixture, converted to OTLP here as the Collector's pprof
// translator does (one profile per sample type, pprof span labels as links), must come
// back per span with the fixture's own sums.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { startServer, dataFile, request, postJsonOk } from './lib/server.mjs';
import { decodeTraceResponsePb, decodeRpcStatusPb, encVarint, tag, fVarint, fBytes, fFixed64 } from './lib/otlp.mjs';
import { FIXTURE_DIR, fixture, decodeProfile, sumValues, weigh, sortedEntries, getJ, findSource } from './lib/runtime.mjs';
import { nowNs } from './lib/clock.mjs';

// ---------------------------------------------------------------- a protobuf writer for the profiles messages

const fV = (f, n) => (n === undefined || BigInt(n) === 0n ? Buffer.alloc(0) : fVarint(f, n));
const fB = fBytes;
const fS = (f, s) => (s ? fB(f, Buffer.from(s, 'utf8')) : Buffer.alloc(0));
const fF64 = (f, n) => fFixed64(f, n || 0);
const packed = (f, xs) => (xs && xs.length ? fB(f, Buffer.concat(xs.map((x) => encVarint(x)))) : Buffer.alloc(0));
const packedF64 = (f, xs) => (xs && xs.length ? fB(f, Buffer.concat(xs.map((x) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(x)); return b; }))) : Buffer.alloc(0));
const cat = (...xs) => Buffer.concat(xs);
const msgs = (f, xs, enc) => Buffer.concat((xs || []).map((x) => fB(f, enc(x))));

const anyValue = (v) => cat(v.stringValue !== undefined ? fB(1, Buffer.from(v.stringValue)) : Buffer.alloc(0),
  v.intValue !== undefined ? cat(tag(3, 0), encVarint(v.intValue)) : Buffer.alloc(0));
const keyValue = (kv) => cat(fS(1, kv.key), fB(2, anyValue(kv.value)));
const valueType = (t) => cat(fV(1, t.typeStrindex), fV(2, t.unitStrindex));

/** ExportProfilesServiceRequest (OTLP/JSON shape, camelCase) as protobuf, field numbers of
 * opentelemetry/proto/{collector/,}profiles/v1development/*.proto at v1.10.0. */
function encodeProfilesPb(req) {
  const d = req.dictionary || {};
  const dict = cat(
    msgs(2, d.locationTable, (l) => cat(fV(1, l.mappingIndex), fV(2, l.address),
      msgs(3, l.lines, (ln) => cat(fV(1, ln.functionIndex), fV(2, ln.line), fV(3, ln.column))))),
    msgs(3, d.functionTable, (f) => cat(fV(1, f.nameStrindex), fV(2, f.systemNameStrindex), fV(3, f.filenameStrindex))),
    msgs(4, d.linkTable, (l) => cat(l.traceId ? fB(1, Buffer.from(l.traceId, 'hex')) : Buffer.alloc(0),
      l.spanId ? fB(2, Buffer.from(l.spanId, 'hex')) : Buffer.alloc(0))),
    Buffer.concat((d.stringTable || []).map((s) => fB(5, Buffer.from(s, 'utf8')))),
    msgs(6, d.attributeTable, (a) => cat(fV(1, a.keyStrindex), a.value ? fB(2, anyValue(a.value)) : Buffer.alloc(0))),
    msgs(7, d.stackTable, (s) => packed(1, s.locationIndices)));
  const sample = (s) => cat(fV(1, s.stackIndex), packed(2, s.attributeIndices), fV(3, s.linkIndex),
    packed(4, s.values), packedF64(5, s.timestampsUnixNano));
  const profile = (p) => cat(p.sampleType ? fB(1, valueType(p.sampleType)) : Buffer.alloc(0), msgs(2, p.samples, sample),
    p.timeUnixNano ? fF64(3, p.timeUnixNano) : Buffer.alloc(0), fV(4, p.durationNano),
    p.periodType ? fB(5, valueType(p.periodType)) : Buffer.alloc(0), fV(6, p.period));
  const rps = msgs(1, req.resourceProfiles, (rp) => cat(
    rp.resource ? fB(1, msgs(1, rp.resource.attributes, keyValue)) : Buffer.alloc(0),
    msgs(2, rp.scopeProfiles, (sp) => msgs(2, sp.profiles, profile))));
  return cat(rps, fB(2, dict));
}

// ---------------------------------------------------------------- helpers

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const SPAN = 'b7ad6b7169203331';

const resource = (service, instance) => ({
  attributes: [{ key: 'service.name', value: { stringValue: service } },
    ...(instance ? [{ key: 'service.instance.id', value: { stringValue: instance } }] : [])],
});

function post(server, body, contentType) {
  return request(server, 'POST', '/v1development/profiles', { body, headers: { 'content-type': contentType } });
}

async function postPbOk(server, req) {
  const r = await post(server, encodeProfilesPb(req), 'application/x-protobuf');
  assert.equal(r.status, 200, `status ${r.status}: ${r.body.toString().slice(0, 300)}\n${server.log(1500)}`);
  return decodeTraceResponsePb(r.body); // ExportProfilesServiceResponse: the same field numbers
}

async function spanProfile(server, span, q = '') {
  const r = await request(server, 'GET', `/api/v1/spans/${span}/profile${q}`);
  assert.equal(r.status, 200, `span profile: ${r.status} ${r.body.toString().slice(0, 300)}`);
  return decodeProfile(r.body);
}

/** A small hand-built request: one profile of service shop/i-1, a sample linked to SPAN
 * (3 + 4 samples of main.work called by main.main) and one not (2 timestamps of main.main). */
function handRequest(t0, span = SPAN) {
  return {
    dictionary: {
      stringTable: ['', 'samples', 'count', 'cpu', 'nanoseconds', 'main.work', 'main.go', 'main.main', 'handler', 'buy'],
      functionTable: [{}, { nameStrindex: 5, filenameStrindex: 6 }, { nameStrindex: 7, filenameStrindex: 6 }],
      locationTable: [{}, { lines: [{ functionIndex: 1, line: 12 }] }, { lines: [{ functionIndex: 2, line: 3 }] }],
      stackTable: [{}, { locationIndices: [1, 2] }, { locationIndices: [2] }],
      linkTable: [{}, { traceId: TRACE, spanId: span }],
      attributeTable: [{}, { keyStrindex: 8, value: { stringValue: 'buy' } }],
    },
    resourceProfiles: [{
      resource: resource('shop', 'i-1'),
      scopeProfiles: [{
        profiles: [{
          sampleType: { typeStrindex: 1, unitStrindex: 2 },
          periodType: { typeStrindex: 3, unitStrindex: 4 },
          period: 10000000,
          timeUnixNano: String(t0),
          durationNano: 1000000000,
          samples: [
            { stackIndex: 1, linkIndex: 1, values: [3, 4], attributeIndices: [1] },
            { stackIndex: 2, timestampsUnixNano: [String(t0 + 1000n), String(t0 + 2000n)] },
          ],
        }],
      }],
    }],
  };
}

/** The fixture's CPU profile as OTLP, as the Collector's pprof translator writes one: a
 * profile per sample type over one dictionary, span_id/trace_id labels as a link, the
 * other labels as attributes. */
function pprofToOtlp(p, service, instance) {
  const strings = [''], sidx = new Map([['', 0]]);
  const str = (s) => { if (!sidx.has(s)) { sidx.set(s, strings.length); strings.push(s); } return sidx.get(s); };
  const functionTable = [{}], fidx = new Map();
  const locationTable = [{}], lidx = new Map();
  const stackTable = [{}], stidx = new Map();
  const linkTable = [{}], linkIdx = new Map();
  const attributeTable = [{}], aidx = new Map();
  const fn = (f) => { const k = `${f.func}\t${f.file}`; if (!fidx.has(k)) { fidx.set(k, functionTable.length); functionTable.push({ nameStrindex: str(f.func), filenameStrindex: str(f.file) }); } return fidx.get(k); };
  const loc = (f) => { const k = `${f.func}\t${f.file}\t${f.line}`; if (!lidx.has(k)) { lidx.set(k, locationTable.length); locationTable.push({ lines: [{ functionIndex: fn(f), line: f.line }] }); } return lidx.get(k); };
  const stack = (frames) => { const ids = frames.map(loc); const k = ids.join(','); if (!stidx.has(k)) { stidx.set(k, stackTable.length); stackTable.push({ locationIndices: ids }); } return stidx.get(k); };
  const link = (t, s) => { const k = `${t}/${s}`; if (!linkIdx.has(k)) { linkIdx.set(k, linkTable.length); linkTable.push({ traceId: t, spanId: s }); } return linkIdx.get(k); };
  const attr = (k, v) => { const key = `${k}=${v}`; if (!aidx.has(key)) { aidx.set(key, attributeTable.length); attributeTable.push({ keyStrindex: str(k), value: { stringValue: String(v) } }); } return aidx.get(key); };
  const profiles = p.sampleTypes.map(([type, unit], ti) => ({
    sampleType: { typeStrindex: str(type), unitStrindex: str(unit) },
    periodType: { typeStrindex: str(p.periodType[0]), unitStrindex: str(p.periodType[1]) },
    period: Number(p.period),
    timeUnixNano: String(p.timeNanos),
    durationNano: Number(p.durationNanos),
    samples: p.samples.map((s) => {
      const labels = s.labels || {};
      const out = { stackIndex: stack(s.frames), values: [s.values[ti]] };
      if (labels.span_id) out.linkIndex = link(labels.trace_id || '', labels.span_id);
      const attrs = Object.keys(labels).filter((k) => k !== 'span_id' && k !== 'trace_id').map((k) => attr(k, labels[k]));
      if (attrs.length) out.attributeIndices = attrs;
      return out;
    }),
  }));
  return {
    dictionary: { stringTable: strings, functionTable, locationTable, stackTable, linkTable, attributeTable },
    resourceProfiles: [{ resource: resource(service, instance), scopeProfiles: [{ profiles }] }],
  };
}

const stackKey = (s) => s.frames.map((f) => `${f.func} ${f.file}:${f.line}`).join(' <- ');

// ---------------------------------------------------------------- tests

let srv;
before(async () => { srv = await startServer(); });
after(async () => { if (srv) await srv.cleanup(); });

test('protobuf: the linked sample is on its span, the other in the source profile', async () => {
  const t0 = nowNs();
  await postJsonOk(srv, { resourceSpans: [{ resource: resource('shop', 'i-1'), scopeSpans: [{ spans: [{
    traceId: TRACE, spanId: SPAN, name: 'GET /buy', kind: 2,
    startTimeUnixNano: String(t0), endTimeUnixNano: String(t0 + 50_000_000n) }] }] }] });
  const ps = await postPbOk(srv, handRequest(t0));
  assert.equal(ps, null, `no partial success expected: ${JSON.stringify(ps, (k, v) => (typeof v === 'bigint' ? String(v) : v))}`);

  const prof = await spanProfile(srv, SPAN, `?trace=${TRACE}`);
  assert.deepEqual(prof.sampleTypes, [['samples', 'count']]);
  assert.equal(prof.samples.length, 1);
  assert.deepEqual(prof.samples[0].values, [7]);
  assert.deepEqual(prof.samples[0].frames.map((f) => [f.func, f.file, f.line]), [['main.work', 'main.go', 12], ['main.main', 'main.go', 3]]);

  const src = await findSource(srv, 'shop', 'i-1');
  assert.ok(src, 'the profile went to the source of the spans');
  const snaps = await getJ(srv, `/api/v1/sources/${src.id}/snapshots`);
  assert.equal(snaps.snapshots.length, 1);
  assert.equal(snaps.snapshots[0].kind, 'cpu');
  const snap = await getJ(srv, `/api/v1/snapshots/${snaps.snapshots[0].id}`);
  const plain = snap.samples.filter((s) => !s.span_id);
  assert.equal(plain.length, 1);
  assert.deepEqual(plain[0].values.map(Number), [2]);
  assert.deepEqual(plain[0].frames.map((f) => f.func), ['main.main']);
});

test('JSON: a bad profile is refused alone (partialSuccess), the others are stored', async () => {
  const t0 = nowNs();
  // a span of no stored trace: a known one would join the profile to its spans' source
  const req = handRequest(t0, '00000000000000aa');
  req.resourceProfiles[0].resource = resource('json-shop', 'j-1');
  req.resourceProfiles.push({ resource: resource('json-shop', 'j-1'), scopeProfiles: [{ profiles: [{
    sampleType: { typeStrindex: 1, unitStrindex: 2 }, samples: [{ stackIndex: 9, values: [1] }] }] }] });
  const r = await post(srv, Buffer.from(JSON.stringify(req)), 'application/json');
  assert.equal(r.status, 200, r.body.toString());
  const j = JSON.parse(r.body.toString());
  assert.equal(j.partialSuccess.rejectedProfiles, '1');
  assert.match(j.partialSuccess.errorMessage, /resource_profiles\[1\]\.scope_profiles\[0\]\.profiles\[0\]: samples\[0\]\.stack_index 9 is out of range \(3 stacks\)/);
  const metrics = (await request(srv, 'GET', '/metrics')).body.toString();
  const value = (name) => Number((new RegExp(`^${name} (\\d+)$`, 'm').exec(metrics) || [])[1]);
  assert.ok(value('meanwhile_profiles_rejected_total') >= 1, 'rejected counter');
  assert.ok(value('meanwhile_profiles_accepted_total') >= 2, 'accepted counter: this profile and the first test\'s');
  const src = await findSource(srv, 'json-shop', 'j-1');
  assert.ok(src);
  const snaps = await getJ(srv, `/api/v1/sources/${src.id}/snapshots`);
  assert.equal(snaps.snapshots.length, 1);
  assert.equal(snaps.snapshots[0].total, 2);
});

test('malformed bodies: a 400 naming what is wrong, in the request encoding', async () => {
  const bad = handRequest(nowNs());
  bad.dictionary.locationTable[2].lines[0].functionIndex = 7;
  let r = await post(srv, encodeProfilesPb(bad), 'application/x-protobuf');
  assert.equal(r.status, 400);
  const st = decodeRpcStatusPb(r.body);
  assert.equal(st.code, 3);
  assert.match(st.message, /dictionary\.location_table\[2\]\.lines\[0\]\.function_index 7 is out of range \(3 functions\)/);

  r = await post(srv, Buffer.from('{"resourceProfiles":[{"scopeProfiles":[{"profiles":[{"samples":[{"linkIndex":true}]}]}]}]}'), 'application/json');
  assert.equal(r.status, 400);
  assert.match(JSON.parse(r.body.toString()).message, /resourceProfiles\[0\]\.scopeProfiles\[0\]\.profiles\[0\]\.samples\[0\]\.linkIndex: expected an integer/);

  r = await post(srv, Buffer.from([0x0a, 0xff, 0xff]), 'application/x-protobuf');
  assert.equal(r.status, 400);
  r = await post(srv, Buffer.from('{}'), 'text/plain');
  assert.equal(r.status, 415);

  // a small body naming many profiles: refused whole, naming the bound
  const many = { resourceProfiles: [{ scopeProfiles: [{ profiles: Array.from({ length: 10001 }, () => ({})) }] }] };
  r = await post(srv, Buffer.from(JSON.stringify(many)), 'application/json');
  assert.equal(r.status, 413);
  const j = JSON.parse(r.body.toString());
  assert.equal(j.code, 8);
  assert.match(j.message, /10001 profiles in one request: at most 10000/);
});

test('the fixture CPU profile converted to OTLP lands on its spans with the fixture sums', async () => {
  const file = readdirSync(dataFile(FIXTURE_DIR)).find((f) => /^cpu-\d+\.pb\.gz$/.test(f));
  const p = decodeProfile(fixture(file));
  assert.deepEqual(p.sampleTypes, [['samples', 'count'], ['cpu', 'nanoseconds']]);
  const req = pprofToOtlp(p, 'otlp-checkout', 'c-1');
  const ps = await postPbOk(srv, req);
  assert.equal(ps, null);
  const bySpan = new Map();
  for (const s of p.samples) {
    const id = s.labels && s.labels.span_id;
    if (!id) continue;
    if (!bySpan.has(id)) bySpan.set(id, []);
    bySpan.get(id).push(s);
  }
  assert.ok(bySpan.size >= 3, `the fixture has ${bySpan.size} labelled spans`);
  for (const [span, samples] of bySpan) {
    const got = await spanProfile(srv, span, '?type=cpu');
    assert.deepEqual(got.sampleTypes, [['samples', 'count'], ['cpu', 'nanoseconds']], `span ${span}`);
    assert.deepEqual(sumValues(got.samples, 2), sumValues(samples, 2), `span ${span}: summed values`);
    assert.deepEqual(sortedEntries(weigh(got.samples, stackKey, (s) => s.values[0])),
      sortedEntries(weigh(samples, stackKey, (s) => s.values[0])), `span ${span}: stacks`);
  }
  // the unlabelled samples are the source's, with the labelled ones, in one snapshot
  const src = await findSource(srv, 'otlp-checkout', 'c-1');
  const snaps = await getJ(srv, `/api/v1/sources/${src.id}/snapshots`);
  assert.equal(snaps.snapshots.length, 1, 'the two sample types are one snapshot');
  const snap = await getJ(srv, `/api/v1/snapshots/${snaps.snapshots[0].id}?limit=1000`);
  const unlabelled = p.samples.filter((s) => !(s.labels && s.labels.span_id));
  assert.deepEqual(sumValues(snap.samples.filter((s) => !s.span_id).map((s) => ({ values: s.values.map(Number) })), 2),
    sumValues(unlabelled, 2));
});

test('a profile older than --retention is stored with a warning (partialSuccess, 0 rejected)', async () => {
  const s = await startServer({ args: ['--retention', '1h'] });
  try {
    const req = handRequest(nowNs() - 3n * 3600n * 1_000_000_000n, '00000000000000bb');
    req.resourceProfiles[0].resource = resource('old-shop', 'o-1');
    const r = await post(s, Buffer.from(JSON.stringify(req)), 'application/json');
    assert.equal(r.status, 200, r.body.toString());
    const ps = JSON.parse(r.body.toString()).partialSuccess;
    assert.equal(ps.rejectedProfiles, '0');
    assert.match(ps.errorMessage, /^1 profile is older than the retention window \(--retention 1h\)/);
  } finally {
    await s.cleanup();
  }
});

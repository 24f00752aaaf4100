// OTLP helpers for the integration tests, written independently of the C code:
//  * a minimal protobuf wire reader that turns an ExportTraceServiceRequest into the
//    OTLP/JSON object shape (the test oracle for protobuf fixtures),
//  * a minimal protobuf writer for OTLP/JSON-shaped requests (to build protobuf bodies),
//  * normalisation of OTLP/JSON spans so that sender output and meanwhiled output can
//    be compared field by field,
//  * generators of synthetic, date-independent spans.
// Field numbers follow /work/shared/specs/otlp-traces.md section 3.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

// ---------------------------------------------------------------- wire reader

/** Split one protobuf message into its fields: [{f, wt, v}] (v: BigInt | Buffer). */
export function pbFields(buf) {
  const out = [];
  let i = 0;
  const varint = () => {
    let r = 0n, shift = 0n;
    for (let n = 0; n < 10; n++) {
      if (i >= buf.length) throw new Error('truncated varint');
      const b = buf[i++];
      r |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return r;
      shift += 7n;
    }
    throw new Error('varint too long');
  };
  while (i < buf.length) {
    const key = Number(varint());
    const f = key >>> 3, wt = key & 7;
    let v;
    if (wt === 0) v = varint();
    else if (wt === 1) { if (i + 8 > buf.length) throw new Error('truncated fixed64'); v = buf.subarray(i, i + 8); i += 8; }
    else if (wt === 2) {
      const len = Number(varint());
      if (i + len > buf.length) throw new Error('truncated bytes');
      v = buf.subarray(i, i + len); i += len;
    } else if (wt === 5) { if (i + 4 > buf.length) throw new Error('truncated fixed32'); v = buf.subarray(i, i + 4); i += 4; }
    else throw new Error(`bad wire type ${wt}`);
    out.push({ f, wt, v });
  }
  return out;
}

const str = (v) => Buffer.from(v).toString('utf8');
const hex = (v) => Buffer.from(v).toString('hex');

function pbAnyValue(buf) {
  let val = {};
  for (const { f, v } of pbFields(buf)) {
    // oneof: last member on the wire wins
    if (f === 1) val = { stringValue: str(v) };
    else if (f === 2) val = { boolValue: v !== 0n };
    else if (f === 3) val = { intValue: BigInt.asIntN(64, v).toString() };
    else if (f === 4) val = { doubleValue: Buffer.from(v).readDoubleLE(0) };
    else if (f === 5) val = { arrayValue: { values: pbFields(v).filter((x) => x.f === 1).map((x) => pbAnyValue(x.v)) } };
    else if (f === 6) val = { kvlistValue: { values: pbFields(v).filter((x) => x.f === 1).map((x) => pbKeyValue(x.v)) } };
    else if (f === 7) val = { bytesValue: Buffer.from(v).toString('base64') };
  }
  return val;
}

function pbKeyValue(buf) {
  const kv = { key: '', value: {} };
  for (const { f, v } of pbFields(buf)) {
    if (f === 1) kv.key = str(v);
    else if (f === 2) kv.value = pbAnyValue(v);
  }
  return kv;
}

function pbEvent(buf) {
  const e = { timeUnixNano: '0', name: '', attributes: [] };
  for (const { f, v } of pbFields(buf)) {
    if (f === 1) e.timeUnixNano = Buffer.from(v).readBigUInt64LE(0).toString();
    else if (f === 2) e.name = str(v);
    else if (f === 3) e.attributes.push(pbKeyValue(v));
    else if (f === 4) e.droppedAttributesCount = Number(v);
  }
  return e;
}

function pbLink(buf) {
  const l = { traceId: '', spanId: '', attributes: [] };
  for (const { f, v } of pbFields(buf)) {
    if (f === 1) l.traceId = hex(v);
    else if (f === 2) l.spanId = hex(v);
    else if (f === 3) l.traceState = str(v);
    else if (f === 4) l.attributes.push(pbKeyValue(v));
    else if (f === 5) l.droppedAttributesCount = Number(v);
    else if (f === 6) l.flags = Buffer.from(v).readUInt32LE(0);
  }
  return l;
}

function pbSpan(buf) {
  const s = { traceId: '', spanId: '', name: '', kind: 0, startTimeUnixNano: '0', endTimeUnixNano: '0',
    attributes: [], events: [], links: [], status: {} };
  for (const { f, v } of pbFields(buf)) {
    switch (f) {
      case 1: s.traceId = hex(v); break;
      case 2: s.spanId = hex(v); break;
      case 3: s.traceState = str(v); break;
      case 4: s.parentSpanId = hex(v); break;
      case 5: s.name = str(v); break;
      case 6: s.kind = Number(v); break;
      case 7: s.startTimeUnixNano = Buffer.from(v).readBigUInt64LE(0).toString(); break;
      case 8: s.endTimeUnixNano = Buffer.from(v).readBigUInt64LE(0).toString(); break;
      case 9: s.attributes.push(pbKeyValue(v)); break;
      case 10: s.droppedAttributesCount = Number(v); break;
      case 11: s.events.push(pbEvent(v)); break;
      case 12: s.droppedEventsCount = Number(v); break;
      case 13: s.links.push(pbLink(v)); break;
      case 14: s.droppedLinksCount = Number(v); break;
      case 15: {
        const st = {};
        for (const x of pbFields(v)) {
          if (x.f === 2) st.message = str(x.v);
          else if (x.f === 3) st.code = Number(x.v);
        }
        s.status = st;
        break;
      }
      case 16: s.flags = Buffer.from(v).readUInt32LE(0); break;
      default: break;
    }
  }
  return s;
}

/** Decode an ExportTraceServiceRequest (binary) into the OTLP/JSON object shape. */
export function decodeTraceRequestPb(buf) {
  const req = { resourceSpans: [] };
  for (const { f, v } of pbFields(buf)) {
    if (f !== 1) continue;
    const rs = { resource: { attributes: [] }, scopeSpans: [] };
    for (const x of pbFields(v)) {
      if (x.f === 1) {
        for (const y of pbFields(x.v)) {
          if (y.f === 1) rs.resource.attributes.push(pbKeyValue(y.v));
          else if (y.f === 2) rs.resource.droppedAttributesCount = Number(y.v);
        }
      } else if (x.f === 2) {
        const ss = { scope: {}, spans: [] };
        for (const y of pbFields(x.v)) {
          if (y.f === 1) {
            for (const z of pbFields(y.v)) {
              if (z.f === 1) ss.scope.name = str(z.v);
              else if (z.f === 2) ss.scope.version = str(z.v);
            }
          } else if (y.f === 2) ss.spans.push(pbSpan(y.v));
        }
        rs.scopeSpans.push(ss);
      } else if (x.f === 3) rs.schemaUrl = str(x.v);
    }
    req.resourceSpans.push(rs);
  }
  return req;
}

/** Decode an ExportTraceServiceResponse (binary): {rejectedSpans: BigInt, errorMessage} | null. */
export function decodeTraceResponsePb(buf) {
  let ps = null;
  for (const { f, v } of pbFields(buf)) {
    if (f !== 1) continue;
    ps = ps || { rejectedSpans: 0n, errorMessage: '' };
    for (const x of pbFields(v)) {
      if (x.f === 1) ps.rejectedSpans = BigInt.asIntN(64, x.v);
      else if (x.f === 2) ps.errorMessage = str(x.v);
    }
  }
  return ps;
}

/** Decode a google.rpc.Status (binary): {code, message}. */
export function decodeRpcStatusPb(buf) {
  const st = { code: 0, message: '' };
  for (const { f, v } of pbFields(buf)) {
    if (f === 1) st.code = Number(BigInt.asIntN(32, v));
    else if (f === 2) st.message = str(v);
  }
  return st;
}

// ---------------------------------------------------------------- wire writer

export function encVarint(n) {
  let v = BigInt.asUintN(64, BigInt(n));
  const out = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return Buffer.from(out);
}
export const tag = (f, wt) => encVarint((f << 3) | wt);
export const fVarint = (f, n) => Buffer.concat([tag(f, 0), encVarint(n)]);
export const fBytes = (f, b) => Buffer.concat([tag(f, 2), encVarint(b.length), b]);
// a Buffer is written as is: the tests' way to send bytes that are not UTF-8
const fStr = (f, s) => fBytes(f, Buffer.isBuffer(s) ? s : Buffer.from(s, 'utf8'));
export const fFixed64 = (f, n) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return Buffer.concat([tag(f, 1), b]); };
const fFixed32 = (f, n) => { const b = Buffer.alloc(4); b.writeUInt32LE(n >>> 0); return Buffer.concat([tag(f, 5), b]); };
const fDouble = (f, d) => { const b = Buffer.alloc(8); b.writeDoubleLE(d); return Buffer.concat([tag(f, 1), b]); };

function encAnyValue(v) {
  if (v.stringValue !== undefined) return fStr(1, v.stringValue);
  if (v.boolValue !== undefined) return fVarint(2, v.boolValue ? 1 : 0);
  if (v.intValue !== undefined) return fVarint(3, BigInt(v.intValue));
  if (v.doubleValue !== undefined) return fDouble(4, Number(v.doubleValue));
  if (v.arrayValue !== undefined) return fBytes(5, Buffer.concat((v.arrayValue.values || []).map((x) => fBytes(1, encAnyValue(x)))));
  if (v.kvlistValue !== undefined) return fBytes(6, Buffer.concat((v.kvlistValue.values || []).map((x) => fBytes(1, encKeyValue(x)))));
  if (v.bytesValue !== undefined) return fBytes(7, Buffer.from(v.bytesValue, 'base64'));
  return Buffer.alloc(0);
}
const encKeyValue = (kv) => Buffer.concat([fStr(1, kv.key), fBytes(2, encAnyValue(kv.value || {}))]);
const encAttrs = (f, attrs) => Buffer.concat((attrs || []).map((kv) => fBytes(f, encKeyValue(kv))));
const hexBytes = (h) => Buffer.from(h || '', 'hex');

function encSpan(s) {
  const parts = [fBytes(1, hexBytes(s.traceId)), fBytes(2, hexBytes(s.spanId))];
  if (s.traceState) parts.push(fStr(3, s.traceState));
  if (s.parentSpanId) parts.push(fBytes(4, hexBytes(s.parentSpanId)));
  parts.push(fStr(5, s.name || ''));
  if (s.kind) parts.push(fVarint(6, s.kind));
  parts.push(fFixed64(7, s.startTimeUnixNano || 0), fFixed64(8, s.endTimeUnixNano || 0));
  parts.push(encAttrs(9, s.attributes));
  if (s.droppedAttributesCount) parts.push(fVarint(10, s.droppedAttributesCount));
  for (const e of s.events || []) {
    parts.push(fBytes(11, Buffer.concat([fFixed64(1, e.timeUnixNano || 0), fStr(2, e.name || ''), encAttrs(3, e.attributes),
      e.droppedAttributesCount ? fVarint(4, e.droppedAttributesCount) : Buffer.alloc(0)])));
  }
  if (s.droppedEventsCount) parts.push(fVarint(12, s.droppedEventsCount));
  for (const l of s.links || []) {
    parts.push(fBytes(13, Buffer.concat([fBytes(1, hexBytes(l.traceId)), fBytes(2, hexBytes(l.spanId)),
      l.traceState ? fStr(3, l.traceState) : Buffer.alloc(0), encAttrs(4, l.attributes),
      l.droppedAttributesCount ? fVarint(5, l.droppedAttributesCount) : Buffer.alloc(0),
      l.flags ? fFixed32(6, l.flags) : Buffer.alloc(0)])));
  }
  if (s.droppedLinksCount) parts.push(fVarint(14, s.droppedLinksCount));
  if (s.status && (s.status.code || s.status.message)) {
    parts.push(fBytes(15, Buffer.concat([s.status.message ? fStr(2, s.status.message) : Buffer.alloc(0),
      s.status.code ? fVarint(3, s.status.code) : Buffer.alloc(0)])));
  }
  if (s.flags) parts.push(fFixed32(16, s.flags));
  return Buffer.concat(parts);
}

/** Encode an OTLP/JSON-shaped ExportTraceServiceRequest object as protobuf. */
export function encodeTraceRequestPb(req) {
  const rsParts = [];
  for (const rs of req.resourceSpans || []) {
    const p = [];
    if (rs.resource) p.push(fBytes(1, encAttrs(1, rs.resource.attributes)));
    for (const ss of rs.scopeSpans || []) {
      const q = [];
      if (ss.scope) q.push(fBytes(1, Buffer.concat([ss.scope.name ? fStr(1, ss.scope.name) : Buffer.alloc(0),
        ss.scope.version ? fStr(2, ss.scope.version) : Buffer.alloc(0), encAttrs(3, ss.scope.attributes)])));
      for (const s of ss.spans || []) q.push(fBytes(2, encSpan(s)));
      p.push(fBytes(2, Buffer.concat(q)));
    }
    rsParts.push(fBytes(1, Buffer.concat(p)));
  }
  return Buffer.concat(rsParts);
}

// ---------------------------------------------------------------- normalisation

/** Canonical form of an AnyValue (OTLP/JSON shape) for deep comparison. */
export function normValue(v) {
  if (v === undefined || v === null) return { empty: true };
  if ('stringValue' in v) return { string: String(v.stringValue) };
  if ('boolValue' in v) return { bool: v.boolValue === true || v.boolValue === 'true' };
  if ('intValue' in v) return { int: BigInt(v.intValue).toString() };
  if ('doubleValue' in v) {
    const d = v.doubleValue;
    return { double: typeof d === 'string' ? String(Number(d)) : String(d) };
  }
  if ('arrayValue' in v) return { array: ((v.arrayValue && v.arrayValue.values) || []).map(normValue) };
  if ('kvlistValue' in v) return { kvlist: normAttrs((v.kvlistValue && v.kvlistValue.values) || []) };
  if ('bytesValue' in v) return { bytes: Buffer.from(v.bytesValue || '', 'base64').toString('base64') };
  return { empty: true };
}

/** Canonical attribute list: [[key, value]] sorted by key (order of keys is not part of the contract). */
export function normAttrs(attrs) {
  return (attrs || []).map((kv) => [kv.key, normValue(kv.value)])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

const num = (x) => (x === undefined || x === null ? 0 : Number(x));
const ns = (x) => (x === undefined || x === null ? '0' : BigInt(x).toString());
const lhex = (x) => (x ? String(x).toLowerCase() : '');

/** Canonical form of one span (OTLP/JSON shape, sender or server side). */
export function normSpan(s) {
  const events = (s.events || []).map((e) => ({
    timeUnixNano: ns(e.timeUnixNano), name: e.name || '', attributes: normAttrs(e.attributes),
    droppedAttributesCount: num(e.droppedAttributesCount),
  }));
  events.sort((a, b) => (BigInt(a.timeUnixNano) < BigInt(b.timeUnixNano) ? -1 : BigInt(a.timeUnixNano) > BigInt(b.timeUnixNano) ? 1
    : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    traceId: lhex(s.traceId), spanId: lhex(s.spanId), parentSpanId: lhex(s.parentSpanId),
    traceState: s.traceState || '', flags: num(s.flags), name: s.name || '', kind: num(s.kind),
    startTimeUnixNano: ns(s.startTimeUnixNano), endTimeUnixNano: ns(s.endTimeUnixNano),
    attributes: normAttrs(s.attributes), droppedAttributesCount: num(s.droppedAttributesCount),
    events, droppedEventsCount: num(s.droppedEventsCount),
    links: (s.links || []).map((l) => ({
      traceId: lhex(l.traceId), spanId: lhex(l.spanId), traceState: l.traceState || '',
      attributes: normAttrs(l.attributes), droppedAttributesCount: num(l.droppedAttributesCount), flags: num(l.flags),
    })),
    droppedLinksCount: num(s.droppedLinksCount),
    status: { code: num(s.status && s.status.code), message: (s.status && s.status.message) || '' },
  };
}

/**
 * Flatten a request (or a GET /api/traces answer, which uses `batches`) into
 * Map(traceId -> Map(spanId -> {span, resource, scope})) with canonical forms.
 */
export function flattenSpans(obj, into = new Map()) {
  const rss = obj.resourceSpans || obj.batches || [];
  for (const rs of rss) {
    const resource = normAttrs((rs.resource && rs.resource.attributes) || []);
    for (const ss of rs.scopeSpans || []) {
      const scope = { name: (ss.scope && ss.scope.name) || '', version: (ss.scope && ss.scope.version) || '' };
      for (const s of ss.spans || []) {
        const n = normSpan(s);
        if (!into.has(n.traceId)) into.set(n.traceId, new Map());
        into.get(n.traceId).set(n.spanId, { span: n, resource, scope, raw: s });
      }
    }
  }
  return into;
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const DEC = /^[0-9]+$/;

function checkValueShape(v, where) {
  assert.equal(typeof v, 'object', `${where}: value must be an object`);
  const keys = Object.keys(v);
  assert.ok(keys.length <= 1, `${where}: AnyValue with several members ${JSON.stringify(v)}`);
  if ('stringValue' in v) assert.equal(typeof v.stringValue, 'string', `${where}: stringValue type`);
  if ('boolValue' in v) assert.equal(typeof v.boolValue, 'boolean', `${where}: boolValue type`);
  if ('intValue' in v) assert.match(String(v.intValue), /^-?[0-9]+$/, `${where}: intValue`);
  if ('intValue' in v) assert.equal(typeof v.intValue, 'string', `${where}: intValue must be a decimal string (int64 JSON mapping)`);
  if ('doubleValue' in v) assert.ok(typeof v.doubleValue === 'number' || ['NaN', 'Infinity', '-Infinity'].includes(v.doubleValue), `${where}: doubleValue type`);
  if ('arrayValue' in v) (v.arrayValue.values || []).forEach((x, i) => checkValueShape(x, `${where}[${i}]`));
  if ('kvlistValue' in v) (v.kvlistValue.values || []).forEach((x) => checkValueShape(x.value, `${where}.${x.key}`));
  if ('bytesValue' in v) assert.equal(typeof v.bytesValue, 'string', `${where}: bytesValue must be base64 string`);
}

/** Assert the OTLP/JSON shape rules of the contract on one span from GET /api/traces. */
export function checkServerSpanShape(s) {
  const id = `span ${s.spanId}`;
  assert.match(s.traceId, HEX32, `${id}: traceId must be 32 lowercase hex`);
  assert.match(s.spanId, HEX16, `${id}: spanId must be 16 lowercase hex`);
  if ('parentSpanId' in s) assert.match(s.parentSpanId, HEX16, `${id}: parentSpanId must be 16 lowercase hex or omitted for roots`);
  assert.equal(typeof s.name, 'string', `${id}: name`);
  assert.equal(typeof s.kind, 'number', `${id}: kind must be an integer`);
  assert.equal(typeof s.startTimeUnixNano, 'string', `${id}: startTimeUnixNano must be a decimal string`);
  assert.match(s.startTimeUnixNano, DEC, `${id}: startTimeUnixNano`);
  assert.equal(typeof s.endTimeUnixNano, 'string', `${id}: endTimeUnixNano must be a decimal string`);
  assert.match(s.endTimeUnixNano, DEC, `${id}: endTimeUnixNano`);
  for (const a of s.attributes || []) checkValueShape(a.value, `${id} attribute ${a.key}`);
  for (const e of s.events || []) {
    assert.equal(typeof e.timeUnixNano, 'string', `${id}: event timeUnixNano must be a decimal string`);
    for (const a of e.attributes || []) checkValueShape(a.value, `${id} event ${e.name} attribute ${a.key}`);
  }
  if (s.status && 'code' in s.status) {
    assert.equal(typeof s.status.code, 'number', `${id}: status.code must be an integer`);
    assert.notEqual(s.status.code, 0, `${id}: status.code must be omitted when 0`);
  }
}

/**
 * Compare one trace returned by GET /api/traces (parsed JSON) with the expected spans
 * (Map spanId -> {span, resource, scope}) from an independent decode.
 */
export function assertTraceMatches(got, expected, traceId) {
  assert.ok(got && Array.isArray(got.batches), `trace ${traceId}: answer has no "batches" array: ${JSON.stringify(got).slice(0, 300)}`);
  for (const b of got.batches) for (const ss of b.scopeSpans || []) for (const s of ss.spans || []) checkServerSpanShape(s);
  const gotMap = flattenSpans(got).get(traceId) || new Map();
  let rawCount = 0;
  for (const b of got.batches) for (const ss of b.scopeSpans || []) rawCount += (ss.spans || []).length;
  assert.equal(rawCount, gotMap.size, `trace ${traceId}: answer has ${rawCount} spans but ${gotMap.size} distinct (trace, span) ids (duplicates or spans of other traces)`);
  assert.deepEqual([...gotMap.keys()].sort(), [...expected.keys()].sort(), `trace ${traceId}: span ids differ`);
  for (const [sid, exp] of expected) {
    const g = gotMap.get(sid);
    assert.deepEqual(g.span, exp.span, `trace ${traceId} span ${sid} (${exp.span.name}) differs`);
    assert.deepEqual(g.resource, exp.resource, `trace ${traceId} span ${sid}: resource attributes differ`);
    assert.deepEqual(g.scope, exp.scope, `trace ${traceId} span ${sid}: scope differs`);
  }
}

// ---------------------------------------------------------------- generators

export const rndHex = (nbytes) => randomBytes(nbytes).toString('hex');

/**
 * A synthetic OTLP/JSON request: `traces` traces of `spansPerTrace` spans (one root + children).
 * Times are fixed (base unix seconds + offsets), never derived from the wall clock.
 */
export function makeRequest({ traces = 1, spansPerTrace = 3, service = 'synthetic', instance = 'synthetic-1',
  baseSec = 1795340000, scope = { name: 'it-gen', version: '0.0.1' }, tag = '' } = {}) {
  const spans = [];
  const traceIds = [];
  for (let t = 0; t < traces; t++) {
    const traceId = rndHex(16);
    traceIds.push(traceId);
    const start = BigInt(baseSec) * 1000000000n + BigInt(t) * 1000000n;
    const rootId = rndHex(8);
    for (let k = 0; k < spansPerTrace; k++) {
      const s = {
        traceId, spanId: k === 0 ? rootId : rndHex(8), name: k === 0 ? `root${tag}` : `child-${k}`,
        kind: k === 0 ? 2 : 1,
        startTimeUnixNano: (start + BigInt(k) * 1000n).toString(),
        endTimeUnixNano: (start + BigInt(k) * 1000n + 500000n - BigInt(k) * 10n).toString(),
        attributes: [{ key: 'k', value: { intValue: String(k) } }, { key: 'tag', value: { stringValue: tag || 'none' } }],
        status: {},
      };
      if (k > 0) s.parentSpanId = rootId;
      spans.push(s);
    }
  }
  return {
    traceIds,
    spanCount: spans.length,
    body: {
      resourceSpans: [{
        resource: { attributes: [
          { key: 'service.name', value: { stringValue: service } },
          { key: 'service.instance.id', value: { stringValue: instance } },
        ] },
        scopeSpans: [{ scope, spans }],
      }],
    },
  };
}

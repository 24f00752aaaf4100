// Test oracles for the Go runtime data of the integration tests, written from the specs in
// /work/shared/specs (go-gctrace.md, go-schedtrace.md, go-goroutine-dump.md, pprof.md) and
// independent of the C decoders:
//  * gctrace / schedtrace line parsers (regex) giving exact integer nanoseconds (BigInt),
//  * goroutine dump counters (debug=2 headers, debug=1 records and `# labels:` lines),
//  * a minimal pprof (perftools.profiles.Profile) reader over lib/otlp.mjs's wire reader,
//  * JSON parsing that keeps integers beyond 2^53 exact (the runtime API answers unix ns
//    as JSON numbers), and small HTTP helpers for the runtime endpoints.

import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { pbFields } from './otlp.mjs';
import { request, readData } from './server.mjs';

export const FIXTURE_DIR = 'go1.19-checkout';
export const fixture = (name) => readData(FIXTURE_DIR, name);
export const META = JSON.parse(fixture('meta.json').toString('utf8'));
export const LAUNCH_NS = BigInt(META.launch_unix_ns);

// ---------------------------------------------------------------- numbers

/** "0.59" ms -> 590000n ns; "12" -> 12000000n (the runtime prints at most 3 decimals). */
export function msToNs(s) {
  const [ip, fp = ''] = s.split('.');
  return BigInt(ip) * 1000000n + BigInt((fp + '000000').slice(0, 6));
}

/** "15.964" s -> 15964000000n ns. */
export function secsToNs(s) {
  const [ip, fp = ''] = s.split('.');
  return BigInt(ip) * 1000000000n + BigInt((fp + '000000000').slice(0, 9));
}

export const MiB = 1n << 20n;

// ---------------------------------------------------------------- stderr

const GC_RE = new RegExp(
  '^(?:(\\d+) )?gc (\\d+) @(\\d+(?:\\.\\d+)?)s (\\d+)%: ' +
  '([\\d.]+)\\+([\\d.]+)\\+([\\d.]+) ms clock, ' +
  '([\\d.]+)\\+([\\d.]+)/([\\d.]+)/([\\d.]+)\\+([\\d.]+) ms cpu, ' +
  '(\\d+)->(\\d+)->(\\d+) MB, (\\d+) MB goal, (\\d+) MB stacks, (\\d+) MB globals, (\\d+) P( \\(forced\\))?$');

const SCHED_RE = /^(?:(\d+) )?SCHED (\d+)ms: gomaxprocs=(\d+) idleprocs=(\d+) threads=(\d+) spinningthreads=(\d+) idlethreads=(\d+) runqueue=(\d+) \[([\d ]*)\]$/;

/**
 * Reads a service's stderr (optionally with a leading unix-ns receive stamp per line).
 * Returns {gc: [...], sched: [...], other: N (lines that are neither), lines: N}.
 * Times are BigInt ns; byte sizes BigInt.
 */
export function parseStderr(text) {
  const gc = [], sched = [];
  let other = 0, lines = 0;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    lines++;
    let m = GC_RE.exec(line);
    if (m) {
      gc.push({
        line,
        stamp: m[1] ? BigInt(m[1]) : null,
        n: Number(m[2]),
        offset: secsToNs(m[3]),
        pct: Number(m[4]),
        clock: [msToNs(m[5]), msToNs(m[6]), msToNs(m[7])],
        cpu: [msToNs(m[8]), msToNs(m[9]), msToNs(m[10]), msToNs(m[11]), msToNs(m[12])],
        heapBefore: BigInt(m[13]) * MiB,
        heapAfter: BigInt(m[14]) * MiB,
        heapLive: BigInt(m[15]) * MiB,
        goal: BigInt(m[16]) * MiB,
        stacks: BigInt(m[17]) * MiB,
        globals: BigInt(m[18]) * MiB,
        procs: Number(m[19]),
        forced: Boolean(m[20]),
      });
      continue;
    }
    m = SCHED_RE.exec(line);
    if (m) {
      const local = m[9].trim() ? m[9].trim().split(/ +/).map(Number) : [];
      sched.push({
        line,
        stamp: m[1] ? BigInt(m[1]) : null,
        offset: BigInt(m[2]) * 1000000n,
        gomaxprocs: Number(m[3]),
        idleprocs: Number(m[4]),
        threads: Number(m[5]),
        spinningthreads: Number(m[6]),
        idlethreads: Number(m[7]),
        runqueue: Number(m[8]),
        local,
        localSum: local.reduce((a, b) => a + b, 0),
      });
      continue;
    }
    other++;
  }
  return { gc, sched, other, lines };
}

export const gcDuration = (g) => g.clock[0] + g.clock[1] + g.clock[2];

/**
 * The process start the contract says the server uses for stamped lines: the given one,
 * moved back by the largest negative lag (stamp - printed time) when stamps prove it late.
 */
export function effectiveProcessStart(ps, { gc, sched }) {
  let minLag = null;
  for (const g of gc) {
    if (g.stamp === null) continue;
    const lag = g.stamp - (ps + g.offset + gcDuration(g));
    if (minLag === null || lag < minLag) minLag = lag;
  }
  for (const s of sched) {
    if (s.stamp === null) continue;
    const lag = s.stamp - (ps + s.offset);
    if (minLag === null || lag < minLag) minLag = lag;
  }
  return minLag !== null && minLag < 0n ? ps + minLag : ps;
}

// ---------------------------------------------------------------- goroutine dumps

/** The brief's normalisation of a debug=2 status (wait reason or base state). */
export function normalizeState(reason) {
  const r = reason.trim();
  if (r === 'running') return 'running';
  if (r === 'runnable' || r === 'preempted') return 'runnable';
  if (r === 'syscall') return 'syscall';
  if (r.startsWith('chan receive') || r.startsWith('chan send')) return 'chan';
  if (r === 'IO wait') return 'io';
  if (r.startsWith('select')) return 'select';
  if (r === 'sleep') return 'sleep';
  if (r === 'semacquire' || r.startsWith('sync.Mutex') || r.startsWith('sync.RWMutex')) return 'mutex';
  if (r === 'sync.Cond.Wait' || r.startsWith('sync.WaitGroup')) return 'cond';
  return null; // not used by the fixtures: the tests assert that
}

/** Strips ` (scan)`, `, N minutes`, `, locked to thread` from a header's bracket text. */
function headerReason(bracket) {
  return bracket.replace(/, locked to thread$/, '').replace(/, \d+ minutes$/, '').replace(/ \(scan\)$/, '');
}

/**
 * A debug=2 dump: [{id, reason, state, minutes, frames: [{func, file, line}]}] in input order.
 * frames exclude the `created by` creator.
 */
export function parseDebug2(text) {
  const out = [];
  const blocks = text.split(/\n\n+/);
  for (const b of blocks) {
    const lines = b.split('\n').filter((l) => l !== '');
    if (!lines.length) continue;
    const h = /^goroutine (\d+) \[([^\]]*)\]:$/.exec(lines[0]);
    if (!h) continue;
    const reason = headerReason(h[2]);
    const mm = /, (\d+) minutes/.exec(h[2]);
    const frames = [];
    for (let i = 1; i + 1 < lines.length; i += 2) {
      if (lines[i].startsWith('created by ')) break;
      const fm = /^(.*)\([^()]*\)$/.exec(lines[i]);
      const lm = /^\t(.*):(\d+)(?: \+0x[0-9a-f]+)?$/.exec(lines[i + 1]);
      if (!fm || !lm) break;
      frames.push({ func: fm[1], file: lm[1], line: Number(lm[2]) });
    }
    out.push({ id: Number(h[1]), reason, state: normalizeState(reason), minutes: mm ? Number(mm[1]) : null, frames });
  }
  return out;
}

/** Number of `goroutine N [` headers (the plain regex count the brief asks for). */
export const countGoroutineHeaders = (text) => (text.match(/^goroutine \d+ \[/gm) || []).length;

/** Counts per key of an array. */
export function countBy(items, key) {
  const m = {};
  for (const x of items) {
    const k = key(x);
    m[k] = (m[k] || 0) + 1;
  }
  return m;
}

/** A debug=1 dump: {claimedTotal, records: [{count, pcs, labels|null}]}. */
export function parseDebug1(text) {
  const lines = text.split('\n');
  const h = /^goroutine profile: total (\d+)$/.exec(lines[0]);
  assert.ok(h, 'debug=1 fixture: no header');
  const records = [];
  let cur = null;
  for (const l of lines.slice(1)) {
    const r = /^(\d+) @((?: 0x[0-9a-f]+)*)$/.exec(l);
    if (r) {
      cur = { count: Number(r[1]), pcs: r[2].trim().split(' '), labels: null };
      records.push(cur);
      continue;
    }
    const lb = /^# labels: (\{.*\})$/.exec(l);
    if (lb && cur) cur.labels = JSON.parse(lb[1]); // Go %q of plain ASCII == JSON strings
  }
  return { claimedTotal: Number(h[1]), records };
}

// ---------------------------------------------------------------- pprof

export const isGzip = (b) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

/** Varints of a packed repeated field. */
function packedVarints(buf) {
  const out = [];
  let i = 0;
  while (i < buf.length) {
    let r = 0n, shift = 0n;
    for (;;) {
      const b = buf[i++];
      r |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
      shift += 7n;
    }
    out.push(r);
  }
  return out;
}

const repeated = (wt, v) => (wt === 2 ? packedVarints(v) : [v]);
const i64 = (v) => BigInt.asIntN(64, v);

/**
 * Decodes a pprof profile (gzip'd or not) into
 * {sampleTypes: [[type, unit]], periodType: [type, unit], period, timeNanos, durationNanos,
 *  defaultSampleType, samples: [{values: [Number], labels: {k: str|num} | null,
 *  frames: [{func, file, line}] leaf first, inlined functions expanded innermost first}]}.
 */
export function decodeProfile(body) {
  const buf = isGzip(body) ? zlib.gunzipSync(body) : body;
  const strings = [];
  const vt = [];
  let periodType = null, period = 0n, timeNanos = 0n, durationNanos = 0n, dst = 0n;
  const rawSamples = [];
  const rawLocations = [], rawFunctions = [];
  for (const { f, wt, v } of pbFields(buf)) {
    if (f === 1) vt.push(v);
    else if (f === 2) rawSamples.push(v);
    else if (f === 4) rawLocations.push(v);
    else if (f === 5) rawFunctions.push(v);
    else if (f === 6) strings.push(Buffer.from(v).toString('utf8'));
    else if (f === 9) timeNanos = i64(v);
    else if (f === 10) durationNanos = i64(v);
    else if (f === 11) periodType = v;
    else if (f === 12) period = i64(v);
    else if (f === 14) dst = v;
    else void wt;
  }
  const s = (i) => strings[Number(i)] ?? '';
  const valueType = (b) => {
    let t = 0n, u = 0n;
    for (const x of pbFields(b)) {
      if (x.f === 1) t = x.v;
      else if (x.f === 2) u = x.v;
    }
    return [s(t), s(u)];
  };
  const functions = new Map(); // id -> {name, file}
  for (const b of rawFunctions) {
    let id = 0n, name = 0n, file = 0n;
    for (const x of pbFields(b)) {
      if (x.f === 1) id = x.v;
      else if (x.f === 2) name = x.v;
      else if (x.f === 4) file = x.v;
    }
    functions.set(id, { name: s(name), file: s(file) });
  }
  const locations = new Map(); // id -> [{func, file, line}] innermost (inlined) first
  for (const b of rawLocations) {
    let id = 0n;
    const lines = [];
    for (const x of pbFields(b)) {
      if (x.f === 1) id = x.v;
      else if (x.f === 4) {
        let fid = 0n, line = 0n;
        for (const y of pbFields(x.v)) {
          if (y.f === 1) fid = y.v;
          else if (y.f === 2) line = i64(y.v);
        }
        const fn = functions.get(fid) || { name: '', file: '' };
        lines.push({ func: fn.name, file: fn.file, line: Number(line) });
      }
    }
    locations.set(id, lines);
  }
  const samples = rawSamples.map((b) => {
    const values = [];
    const locs = [];
    const labels = {};
    let nl = 0;
    for (const x of pbFields(b)) {
      if (x.f === 1) locs.push(...repeated(x.wt, x.v));
      else if (x.f === 2) values.push(...repeated(x.wt, x.v).map((n) => Number(i64(n))));
      else if (x.f === 3) {
        let k = 0n, str = 0n, num = 0n;
        for (const y of pbFields(x.v)) {
          if (y.f === 1) k = y.v;
          else if (y.f === 2) str = y.v;
          else if (y.f === 3) num = i64(y.v);
        }
        labels[s(k)] = str ? s(str) : Number(num);
        nl++;
      }
    }
    const frames = locs.flatMap((id) => locations.get(id) || []);
    return { values, labels: nl ? labels : null, frames };
  });
  return {
    sampleTypes: vt.map(valueType),
    periodType: periodType ? valueType(periodType) : null,
    period: Number(period),
    timeNanos,
    durationNanos,
    defaultSampleType: dst ? s(dst) : null,
    samples,
  };
}

/** Element-wise sum of sample values. */
export function sumValues(samples, n) {
  const out = new Array(n).fill(0);
  for (const x of samples) for (let i = 0; i < n; i++) out[i] += x.values[i];
  return out;
}

/** Canonical text of a label object (key order does not matter). */
export function labelKey(labels) {
  if (!labels) return '';
  return JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));
}

/** Weighted multiset (Map key -> summed weight). */
export function weigh(items, key, weight) {
  const m = new Map();
  for (const x of items) {
    const k = key(x);
    m.set(k, (m.get(k) || 0) + weight(x));
  }
  return m;
}

export const sortedEntries = (m) => [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));

// ---------------------------------------------------------------- JSON with exact big integers

/**
 * JSON.parse, except that integer literals that do not fit a double exactly become BigInt
 * (unix ns are ~1.8e18). Strings are left alone.
 */
export function parseJsonBig(text) {
  let out = '';
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < n && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      let j = i + 1;
      while (j < n && /[0-9eE.+-]/.test(text[j])) j++;
      const tok = text.slice(i, j);
      if (/^-?\d+$/.test(tok) && !Number.isSafeInteger(Number(tok))) out += `"\\u0001big:${tok}"`;
      else out += tok;
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return JSON.parse(out, (k, v) => (typeof v === 'string' && v.startsWith('\u0001big:') ? BigInt(v.slice(5)) : v));
}

/** JSON.stringify that writes BigInt as a number (for assertion messages). */
export const jstr = (v) => JSON.stringify(v, (k, x) => (typeof x === 'bigint' ? x.toString() : x));

/** BigInt of a JSON number field (Number when it was exact, BigInt otherwise). */
export const big = (v) => {
  assert.ok(typeof v === 'bigint' || Number.isInteger(v), `expected an integer, got ${typeof v} ${v}`);
  return BigInt(v);
};

// ---------------------------------------------------------------- HTTP helpers

/** GET and parse JSON (exact big integers); asserts the status. */
export async function getJ(server, p, expectStatus = 200) {
  const r = await request(server, 'GET', p);
  assert.equal(r.status, expectStatus, `GET ${p}: status ${r.status}, body ${r.body.toString().slice(0, 400)}`);
  assert.match(String(r.headers['content-type'] || ''), /^application\/json/, `GET ${p}: content-type ${r.headers['content-type']}`);
  try {
    return parseJsonBig(r.body.toString('utf8'));
  } catch (e) {
    return assert.fail(`GET ${p}: body is not JSON: ${r.body.toString().slice(0, 300)}`);
  }
}

/** POST /api/v1/ingest/{kind}?params; resolves {status, headers, body, json}. */
export async function ingest(server, kind, params, body, { headers = {}, timeoutMs = 60000 } = {}) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null) qs.set(k, String(v));
  const q = qs.toString();
  const r = await request(server, 'POST', `/api/v1/ingest/${kind}${q ? '?' + q : ''}`,
    { body: Buffer.isBuffer(body) ? body : Buffer.from(body), headers, timeoutMs });
  let json = null;
  try { json = parseJsonBig(r.body.toString('utf8')); } catch { /* not JSON */ }
  return { ...r, json };
}

/** ingest() that asserts 200 and the report's shape; returns the report. */
export async function ingestOk(server, kind, params, body, opts = {}) {
  const r = await ingest(server, kind, params, body, opts);
  const what = `POST /api/v1/ingest/${kind} ${JSON.stringify(params)}`;
  assert.equal(r.status, 200, `${what}: status ${r.status}, body ${r.body.toString().slice(0, 400)}\n${server.log(1500)}`);
  assert.match(String(r.headers['content-type'] || ''), /^application\/json/, `${what}: content-type`);
  const j = r.json;
  assert.ok(j && typeof j === 'object', `${what}: body is not JSON: ${r.body.toString().slice(0, 300)}`);
  assert.equal(typeof j.accepted, 'number', `${what}: accepted`);
  assert.equal(typeof j.skipped, 'number', `${what}: skipped`);
  assert.ok(Array.isArray(j.errors), `${what}: errors must be an array`);
  assert.ok(Number.isInteger(j.source_id) && j.source_id > 0, `${what}: source_id ${j.source_id}`);
  return j;
}

/** Asserts a 4xx/5xx answer with a JSON {"error": "<non-empty>"} body; returns the message. */
export function assertJsonError(r, status, what) {
  assert.equal(r.status, status, `${what}: status ${r.status} (want ${status}), body ${r.body.toString().slice(0, 400)}`);
  assert.match(String(r.headers['content-type'] || ''), /^application\/json/, `${what}: content-type ${r.headers['content-type']}`);
  const j = r.json ?? JSON.parse(r.body.toString('utf8'));
  assert.equal(typeof j.error, 'string', `${what}: no "error" string in ${r.body.toString().slice(0, 300)}`);
  assert.ok(j.error.length > 0, `${what}: empty error message`);
  return j.error;
}

/** The source with this service and instance from GET /api/v1/sources (or undefined). */
export async function findSource(server, service, instance) {
  const j = await getJ(server, '/api/v1/sources');
  assert.ok(Array.isArray(j.sources), 'sources must be an array');
  return j.sources.find((s) => s.service === service && s.instance === instance);
}

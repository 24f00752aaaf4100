// GC pressure and the operations that lose time to GC, on gctrace lines, spans and a
// labelled CPU profile built here with round numbers, so that every expected figure is
// worked out by hand in the comments (the per-cycle arithmetic on real Go 1.26 lines is
// in tests/unit/test_growth_gor.c).
//
// Source gcsvc/i1, process start T:
//   gc 1 @0.050s: 2+10+3 ms clock  -> pauses [T+50, T+52) and [T+62, T+65)
//   gc 2 @0.205s: 1+3+1 ms clock   -> pauses [T+205, T+206) and [T+209, T+210)
//   span A "GET /slow" [T, T+100)      : 2 + 3 = 5 ms stopped; 30 ms of its CPU samples in
//                                        runtime.gcAssistAlloc, 20 ms elsewhere
//   span B "GET /fast" [T+200, T+210)  : 1 + 1 = 2 ms stopped, no samples
//   span C "GET /none" [T+400, T+410)  : no cycle overlaps it

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { startServer, postJsonOk, request } from './lib/server.mjs';
import { getJ, ingestOk, big, assertJsonError } from './lib/runtime.mjs';

const MS = 1000000n;
const T = (BigInt(Date.now()) - 60000n) * MS; // a minute ago: inside retention
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_A = '00f067aa0ba902b7', SPAN_B = '00f067aa0ba902b8', SPAN_C = '00f067aa0ba902b9';

// --- a minimal pprof encoder (profile.proto field numbers) ---
function varint(n) {
  const out = [];
  let v = BigInt(n);
  do { let b = Number(v & 0x7fn); v >>= 7n; if (v) b |= 0x80; out.push(b); } while (v);
  return out;
}
const field = (no, bytes) => [...varint((no << 3) | 2), ...varint(bytes.length), ...bytes];
const fint = (no, v) => [...varint(no << 3), ...varint(v)];
const packed = (no, vals) => field(no, vals.flatMap((v) => varint(v)));
function profile({ types, samples, timeNs, durNs, period }) {
  const strings = [''];
  const s = (x) => { let i = strings.indexOf(x); if (i < 0) { i = strings.length; strings.push(x); } return i; };
  const funcs = new Map();
  const fn = (name) => { if (!funcs.has(name)) funcs.set(name, funcs.size + 1); return funcs.get(name); };
  const out = [];
  for (const [t, u] of types) out.push(...field(1, [...fint(1, s(t)), ...fint(2, s(u))]));
  for (const smp of samples) {
    const locs = smp.stack.map(fn); // location id = function id
    const labels = Object.entries(smp.labels).flatMap(([k, v]) => field(3, [...fint(1, s(k)), ...fint(2, s(v))]));
    out.push(...field(2, [...packed(1, locs), ...packed(2, smp.values), ...labels]));
  }
  for (const [name, id] of funcs) out.push(...field(4, [...fint(1, id), ...field(4, [...fint(1, id), ...fint(2, 10)])]));
  for (const [name, id] of funcs) out.push(...field(5, [...fint(1, id), ...fint(2, s(name)), ...fint(3, s(name)), ...fint(4, s('main.go'))]));
  const pt = [...fint(1, s('cpu')), ...fint(2, s('nanoseconds'))];
  for (const x of strings) out.push(...field(6, [...Buffer.from(x)]));
  out.push(...fint(9, timeNs), ...fint(10, durNs), ...field(11, pt), ...fint(12, period));
  return Buffer.from(out);
}

const span = (id, name, from, to) => ({
  traceId: TRACE, spanId: id, name, kind: 2,
  startTimeUnixNano: (T + from * MS).toString(), endTimeUnixNano: (T + to * MS).toString(), status: {},
});

// The `meanwhile` CLI ($MEANWHILE_CLI, else $MW_BUILD_DIR/client/cli/meanwhile, as ctest sets).
const CLI = process.env.MEANWHILE_CLI || (process.env.MW_BUILD_DIR && path.join(process.env.MW_BUILD_DIR, 'client', 'cli', 'meanwhile'));
function cli(args) {
  const env = { ...process.env };
  delete env.MEANWHILE_URL;
  return new Promise((resolve) => {
    execFile(CLI, args, { env, timeout: 60000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : `signal ${err.signal}`) : 0, stdout, stderr });
    });
  });
}

let srv, sourceId;
before(async () => {
  srv = await startServer();
  await postJsonOk(srv, { resourceSpans: [{
    resource: { attributes: [{ key: 'service.name', value: { stringValue: 'gcsvc' } },
      { key: 'service.instance.id', value: { stringValue: 'i1' } }] },
    scopeSpans: [{ scope: { name: 't' }, spans: [span(SPAN_A, 'GET /slow', 0n, 100n), span(SPAN_B, 'GET /fast', 200n, 210n),
      span(SPAN_C, 'GET /none', 400n, 410n)] }],
  }] });
  const lines = 'gc 1 @0.050s 1%: 2+10+3 ms clock, 4+1/2/0+6 ms cpu, 10->12->5 MB, 11 MB goal, 0 MB stacks, 0 MB globals, 2 P\n'
    + 'gc 2 @0.205s 1%: 1+3+1 ms clock, 2+0.5/1/0+2 ms cpu, 9->10->6 MB, 10 MB goal, 0 MB stacks, 0 MB globals, 2 P\n';
  const j = await ingestOk(srv, 'gctrace', { service: 'gcsvc', instance: 'i1', process_start: T.toString() }, Buffer.from(lines));
  assert.equal(j.accepted, 2);
  sourceId = j.source_id;
  const labels = { span_id: SPAN_A, trace_id: TRACE };
  const pb = profile({
    types: [['samples', 'count'], ['cpu', 'nanoseconds']], timeNs: T, durNs: 300n * MS, period: 10000000,
    samples: [
      { stack: ['runtime.gcAssistAlloc', 'runtime.mallocgc', 'main.handler'], values: [3, 30000000], labels },
      { stack: ['main.handler'], values: [2, 20000000], labels },
    ],
  });
  const c = await ingestOk(srv, 'cpu', { service: 'gcsvc', instance: 'i1', time: T.toString(), duration: (300n * MS).toString() }, pb);
  assert.equal(c.source_id, sourceId, 'the profile joins the spans\' source');
});
after(async () => { if (srv) await srv.cleanup(); });

test('gc/pressure: one step of both cycles, by hand', async () => {
  const j = await getJ(srv, `/api/v1/sources/${sourceId}/gc/pressure?start=${T}&end=${T + 1000n * MS}&step=1s`);
  assert.equal(big(j.step_ns), 1000n * MS);
  assert.equal(j.points.length, 1);
  const p = j.points[0];
  assert.equal(big(p.time_ns), T);
  assert.equal(p.cycles, 2);
  // GC CPU (4+1+2+6) + (2+0.5+1+2) = 18.5 ms of 1 s x 2 P
  assert.ok(Math.abs(p.gc_cpu - 18.5 / 2000) < 1e-12, `gc_cpu ${p.gc_cpu}`);
  // pauses 2, 3, 1, 1 ms: sorted 1 1 2 3; p50 the 2nd, p99 the 4th
  assert.equal(p.pause_p50_ns, 1000000);
  assert.equal(p.pause_p99_ns, 3000000);
  assert.equal(p.heap_live, 6 * 1048576);
  assert.equal(p.heap_goal, 10 * 1048576);
  // gc 2 at its mark termination 10 MB, gc 1 marked 5 MB live: 5 MB from the end of gc 1
  // (50 + 15 = 65 ms) to the end of gc 2 (205 + 5 = 210 ms): 145 ms
  assert.ok(Math.abs(p.alloc_bytes_per_s - 5 * 1048576 / 0.145) < 1e-6, `alloc ${p.alloc_bytes_per_s}`);
  assert.ok(Math.abs(p.assist_share - 1.5 / 18.5) < 1e-12, `assist_share ${p.assist_share}`);
});

test('gc/operations: stop-the-world and assist per operation, by hand', async () => {
  const j = await getJ(srv, `/api/v1/gc/operations?service=gcsvc&start=${T - 1000n * MS}&end=${T + 1000n * MS}`);
  assert.deepEqual(j.operations.map((o) => o.name), ['GET /slow', 'GET /fast', 'GET /none']);
  const [a, b, c] = j.operations;
  assert.equal(a.service, 'gcsvc');
  assert.equal(a.spans, 1);
  assert.equal(a.span_ns, 100000000);
  assert.equal(a.stw_ns, 5000000);
  assert.equal(a.assist_ns, 30000000);
  assert.equal(a.gc_ns, 35000000);
  assert.ok(Math.abs(a.stw_share - 0.05) < 1e-12 && Math.abs(a.assist_share - 0.3) < 1e-12, JSON.stringify(a));
  assert.equal(b.stw_ns, 2000000);
  assert.equal(b.assist_ns, 0);
  assert.ok(Math.abs(b.stw_share - 0.2) < 1e-12, JSON.stringify(b));
  assert.equal(c.gc_ns, 0);
  const other = await getJ(srv, `/api/v1/gc/operations?service=nosuch&start=${T - 1000n * MS}&end=${T + 1000n * MS}`);
  assert.deepEqual(other.operations, []);
});

test('bad requests name the parameter', async () => {
  const base = `/api/v1/sources/${sourceId}/gc/pressure`;
  assert.match(assertJsonError(await request(srv, 'GET', `${base}?limit=3`), 400, 'limit'), /unknown parameter "limit"/);
  assert.match(assertJsonError(await request(srv, 'GET', `${base}?step=0`), 400, 'step'), /step must be a duration above 0/);
  assert.match(assertJsonError(await request(srv, 'GET', `${base}?step=1ns&start=${T}&end=${T + 1000n * MS}`), 400, 'step'), /more than 10000 points/);
  assert.match(assertJsonError(await request(srv, 'GET', '/api/v1/gc/operations?foo=1'), 400, 'foo'), /unknown parameter "foo"/);
  assert.match(assertJsonError(await request(srv, 'GET', '/api/v1/sources/424242/gc/pressure'), 404, 'source'), /source 424242 not found/);
});

test('meanwhile gc --source prints the step and the operations', { skip: !CLI && 'no CLI built' }, async () => {
  const r = await cli(['gc', '--source', String(sourceId), '--start', String(T), '--end', String(T + 1000n * MS), '--step', '1s', '--url', srv.base]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^GC pressure of gcsvc\/i1, steps of 1\.000 s$/m);
  // 2 cycles, 0.925% GC CPU (printed 0.92 or 0.93: 0.925 is not exact in binary), pauses 1 and 3 ms, 6 of 10 MiB, 5 MiB / 0.145 s = 34.5 MiB/s, 1.5/18.5 = 8.1%
  assert.match(r.stdout, /Z +2 +0\.9[23]% +1\.000ms +3\.000ms +6\.0 +10\.0 +34\.5 +8\.1%$/m);
  assert.match(r.stdout, /^  GET \/slow +1 spans  stop-the-world +5\.0%  assist +30\.0%  gc 35\.0 ms$/m);
  assert.match(r.stdout, /^  GET \/fast +1 spans  stop-the-world +20\.0%  assist +0\.0%  gc 2\.0 ms$/m);
});

test('stop', async () => {
  await srv.stop();
});

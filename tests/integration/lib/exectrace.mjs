// Helpers of the execution trace tests: a Records encoder (what
// meanwhile-exectrace writes, schema/meanwhile/exectrace/v1/records.proto, by
// hand: tests build the expected values themselves), fake readers (scripts
// given to --exectrace-reader that sleep, fail or write chosen Records), and
// where the real reader and its fixtures are.

import { writeFileSync, existsSync, mkdtempSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TEST_DATA } from './server.mjs';

// ---------------------------------------------------------------- protobuf

function varint(v) {
  let x = BigInt(v);
  if (x < 0n) x += 1n << 64n; // int64 as two's complement
  const out = [];
  while (x >= 0x80n) { out.push(Number(x & 0x7fn) | 0x80); x >>= 7n; }
  out.push(Number(x));
  return Buffer.from(out);
}
const key = (field, wire) => varint((field << 3) | wire);
const vfield = (f, v) => (v === undefined || v === null || BigInt(v) === 0n ? Buffer.alloc(0) : Buffer.concat([key(f, 0), varint(v)]));
function bfield(f, b) {
  if (b === undefined || b === null) return Buffer.alloc(0);
  const buf = Buffer.isBuffer(b) ? b : Buffer.from(b, 'utf8');
  if (!buf.length) return Buffer.alloc(0);
  return Buffer.concat([key(f, 2), varint(buf.length), buf]);
}
const msg = (...parts) => Buffer.concat(parts);

export const STATE = { running: 1, runnable: 2, blocked: 3, syscall: 4, gc_assist: 5, stopped: 6 };
export const ALIGN = { clock_snapshot: 1, capture_time: 2, none: 3 };

/**
 * Records as meanwhile-exectrace writes them. r: {stacks: [{id, frames: [{func, file, line}]}],
 * spans: [{trace_id (hex), span_id (hex), name}], intervals: [{goroutine, state, reason,
 * raw_reason, start_ns, end_ns, stack, span, clipped_start, clipped_end}], wakes: [{goroutine, waker, time_ns,
 * waker_stack, waker_span, span}], windows: [{kind: 1|2, start_ns, end_ns, reason}],
 * summary: {start_ns, end_ns, alignment, clock_error_ns, events, generations, goroutines}}.
 */
export function encodeRecords(r) {
  const parts = [];
  for (const s of r.stacks || []) {
    const frames = (s.frames || []).map((f) => bfield(2, msg(bfield(1, f.func), bfield(2, f.file), vfield(3, f.line))));
    parts.push(bfield(1, msg(vfield(1, s.id), ...frames)));
  }
  for (const s of r.spans || []) {
    parts.push(bfield(2, msg(bfield(1, s.trace_id ? Buffer.from(s.trace_id, 'hex') : null),
      bfield(2, Buffer.from(s.span_id, 'hex')), bfield(3, s.name), vfield(4, s.task_id))));
  }
  for (const i of r.intervals || []) {
    parts.push(bfield(3, msg(vfield(1, i.goroutine), vfield(2, i.state), bfield(3, i.reason), bfield(4, i.raw_reason),
      vfield(5, i.start_ns), vfield(6, i.end_ns), vfield(7, i.stack), vfield(8, i.span),
      vfield(9, i.clipped_start ? 1 : 0), vfield(10, i.clipped_end ? 1 : 0))));
  }
  for (const w of r.wakes || []) {
    parts.push(bfield(4, msg(vfield(1, w.goroutine), vfield(2, w.waker), vfield(3, w.time_ns), vfield(4, w.waker_stack),
      vfield(5, w.waker_span), vfield(6, w.span))));
  }
  for (const w of r.windows || []) {
    parts.push(bfield(5, msg(vfield(1, w.kind), vfield(2, w.start_ns), vfield(3, w.end_ns), bfield(4, w.reason))));
  }
  const s = r.summary || {};
  parts.push(bfield(15, msg(vfield(1, s.start_ns), vfield(2, s.end_ns), vfield(3, s.alignment ?? 1),
    vfield(4, s.clock_error_ns), vfield(5, s.events), vfield(6, s.generations), vfield(7, s.goroutines)) || Buffer.alloc(0)));
  // an empty summary still has to be there: field 15 with length 0
  if (!parts[parts.length - 1].length) parts[parts.length - 1] = Buffer.from([0x7a, 0x00]);
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------- fake readers

let fakeDir = null;
/**
 * Writes an executable fake meanwhile-exectrace and returns its path. It reads all of
 * stdin, then: {sleepMs} sleeps first; {exit, stderr} writes stderr and exits with
 * that code; {stdout: Buffer} writes it; {repeatMiB} writes that many MiB of well-formed, empty fields.
 * {argsFile} appends its argv (JSON) to that file. {byPrefix: {prefix: Buffer}} writes the
 * Buffer of the first prefix the trace starts with instead of stdout.
 */
export function fakeReader(name, { sleepMs = 0, exit = 0, stderr = '', stdout = null, repeatMiB = 0, argsFile = null, byPrefix = {} } = {}) {
  fakeDir ??= mkdtempSync(path.join(tmpdir(), 'mw-xt-reader-'));
  const file = path.join(fakeDir, name);
  const out = stdout ? stdout.toString('base64') : '';
  const pick = Object.fromEntries(Object.entries(byPrefix).map(([k, v]) => [k, v.toString('base64')]));
  writeFileSync(file, `#!${process.execPath}
const fs = require('fs');
${argsFile ? `fs.appendFileSync(${JSON.stringify(argsFile)}, JSON.stringify(process.argv.slice(2)) + '\\n');` : ''}
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', () => setTimeout(() => {
  if (${JSON.stringify(stderr)}) process.stderr.write(${JSON.stringify(stderr)});
  const input = Buffer.concat(chunks).toString('latin1');
  const pick = ${JSON.stringify(pick)};
  const k = Object.keys(pick).find((p) => input.startsWith(p));
  const out = Buffer.from(k ? pick[k] : ${JSON.stringify(out)}, 'base64');
  if (out.length) fs.writeSync(1, out);
  // a MiB of empty Procs fields (tag 0x32, length 0): well-formed output, just too much
  for (let i = 0; i < ${repeatMiB}; i++) fs.writeSync(1, Buffer.alloc(1 << 20).fill(Buffer.from([0x32, 0])));
  process.exit(${exit});
}, ${sleepMs}));
`);
  chmodSync(file, 0o755);
  return file;
}

// ---------------------------------------------------------------- the real reader

/** The meanwhile-exectrace built next to meanwhiled (exectrace/'s CMake rule), or null. */
export function realReader() {
  const dir = process.env.MW_BUILD_DIR;
  const p = dir ? path.join(dir, 'meanwhile-exectrace') : null;
  return p && existsSync(p) ? p : null;
}

/** A fixture trace of tests/data/exectrace/<go>/<name>. */
export const traceFixture = (go, name) => path.join(TEST_DATA, 'exectrace', go, name);

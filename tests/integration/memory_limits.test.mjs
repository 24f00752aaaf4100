// The memory budget (--max-request-memory) holds for what a request inflates inside
// its body (a gzip'd pprof profile), and a request that could never fit in it, even on
// an idle server, gets 413 naming the limits instead of a 503 that asks it to retry
// forever.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import zlib from 'node:zlib';
import { startServer, request, postTraces, gzip } from './lib/server.mjs';
import { encodeTraceRequestPb, decodeRpcStatusPb } from './lib/otlp.mjs';

const MIB = 1024 * 1024;
const status = (pid, field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;

/**
 * A gzip member that inflates to `mib` MiB of zeros in about mib KiB: one deflate block
 * of 1 MiB of zeros, ended by a full flush so that it stands alone, repeated; then the
 * final empty block and the trailer (CRC-32 and size of what it inflates to).
 */
function gzipBomb(mib) {
  const zeros = Buffer.alloc(MIB);
  const block = zlib.deflateRawSync(zeros, { level: 9, finishFlush: zlib.constants.Z_FULL_FLUSH });
  const end = zlib.deflateRawSync(Buffer.alloc(0));
  let crc = 0;
  for (let i = 0; i < mib; i++) crc = zlib.crc32(zeros, crc);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE((mib * MIB) >>> 0, 4);
  const header = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
  return Buffer.concat([header, ...Array(mib).fill(block), end, trailer]);
}

/** An OTLP/JSON export of about `mb` MB (spans with a 1 KiB attribute each). */
function bigJsonExport(mb) {
  const spans = [];
  const blob = 'x'.repeat(1024);
  const n = Math.ceil((mb * 1e6) / 1200);
  for (let i = 0; i < n; i++) {
    spans.push({ traceId: (i + 1).toString(16).padStart(32, '0'), spanId: (i + 1).toString(16).padStart(16, '0'),
      name: 'big', startTimeUnixNano: '1795334474000000000', endTimeUnixNano: '1795334474000100000',
      attributes: [{ key: 'blob', value: { stringValue: blob } }] });
  }
  return { spans, body: Buffer.from(JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans }] }] })) };
}

test('point 7: eight concurrent gzip bombs inside pprof bodies stay within --max-request-memory', async () => {
  const budget = 64 * MIB;
  const s = await startServer({ args: ['--max-request-memory', String(budget), '--threads', '8'] });
  try {
    const bomb = gzipBomb(1200); // 1.2 MB that inflates to 1.2 GiB
    assert.ok(bomb.length < 1.3e6 && bomb.length > 1.1e6, `bomb is ${bomb.length} bytes`);
    // the server's own footprint first: a real profile through the same path
    const cpu = readFileSync(new URL('../data/go1.19-checkout/cpu-1795334476463713030.pb.gz', import.meta.url));
    assert.equal((await request(s, 'POST', '/api/v1/ingest/cpu?service=warm', { body: cpu })).status, 200);
    const before = status(s.proc.pid, 'VmHWM');
    const answers = await Promise.all(Array.from({ length: 8 }, () =>
      request(s, 'POST', '/api/v1/ingest/cpu?service=bomb', { body: bomb })));
    const peak = status(s.proc.pid, 'VmHWM');
    console.log(`VmHWM before ${(before / MIB).toFixed(1)} MiB, after 8 bombs ${(peak / MIB).toFixed(1)} MiB; ` +
      `answers ${answers.map((r) => r.status).join(',')}`);
    // the budget, plus 32 MiB for what it does not count: connection buffers, zlib
    // state, the allocator's rounding. Under AddressSanitizer resident memory is
    // mostly its quarantine of freed blocks: the bound holds in the release build.
    const margin = 32 * MIB;
    if (process.env.MW_SANITIZE !== '1') {
      assert.ok(peak - before <= budget + margin,
        `resident peak grew by ${((peak - before) / MIB).toFixed(1)} MiB, over the ${budget / MIB} MiB budget + ${margin / MIB} MiB`);
    }
    for (const r of answers) {
      const msg = JSON.parse(r.body.toString()).error;
      assert.ok(r.status === 413 || r.status === 503, `status ${r.status}: ${msg}`);
      assert.match(msg, /max_request_memory|max_body_bytes/);
      if (r.status === 503) assert.equal(r.headers['retry-after'], '1');
    }
    // and a real profile still goes through
    assert.equal((await request(s, 'POST', '/api/v1/ingest/cpu?service=after', { body: cpu })).status, 200);
  } finally {
    await s.stop();
  }
});

test('point 8: a JSON export that can never fit in --max-request-memory is 413 naming both limits, not 503', async () => {
  const s = await startServer(); // defaults: 256 MiB of request memory, 64 MiB bodies
  try {
    const { body } = bigJsonExport(26);
    assert.ok(body.length > 26e6 && body.length < 64 * MIB, `body is ${body.length} bytes`);
    for (const [what, opts] of [['with Content-Length', {}], ['chunked', { chunked: true }],
      ['gzip\'d', { encoding: 'gzip', body: gzip(body) }]]) {
      const r = await postTraces(s, opts.body || body, { contentType: 'application/json', ...opts });
      const msg = JSON.parse(r.body.toString()).message;
      assert.equal(r.status, 413, `${what}: ${r.status} ${msg}`);
      assert.equal(r.headers['retry-after'], undefined, what);
      assert.match(msg, /max_request_memory/, what);
      assert.match(msg, /max_body_bytes/, what);
    }
    // what does fit is taken: a 16 MB export on the same idle server
    const fits = bigJsonExport(16);
    const ok = await postTraces(s, fits.body, { contentType: 'application/json' });
    assert.equal(ok.status, 200, ok.body.toString());
  } finally {
    await s.stop();
  }
});

test('point 8: a protobuf body larger than --max-request-memory itself is 413, not 503', async () => {
  const s = await startServer({ args: ['--max-request-memory', String(8 * MIB)] });
  try {
    const { spans } = bigJsonExport(10);
    const pb = encodeTraceRequestPb({ resourceSpans: [{ scopeSpans: [{ spans }] }] });
    for (const [what, opts] of [['with Content-Length', {}], ['chunked', { chunked: true }]]) {
      const r = await postTraces(s, pb, { contentType: 'application/x-protobuf', ...opts });
      assert.equal(r.status, 413, `${what}: ${r.status}`);
      const msg = decodeRpcStatusPb(r.body).message;
      assert.match(msg, /max_request_memory/, what);
      assert.match(msg, /max_body_bytes/, what);
    }
  } finally {
    await s.stop();
  }
});

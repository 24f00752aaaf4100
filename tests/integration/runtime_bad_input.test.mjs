// Bad input to the runtime ingest: exact status codes, JSON error bodies with a message,
// nothing half-stored, edge cases that must still be read (a 100 MB line of stderr before a
// gc line, a debug=1 header that lies about its total, malformed lines among good ones), and
// a server that keeps everything it stored before (same counts) and shuts down cleanly.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import { startServer, dataFile, request, compress } from './lib/server.mjs';
import {
  FIXTURE_DIR, fixture, LAUNCH_NS, parseStderr, countGoroutineHeaders, decodeProfile, sumValues,
  getJ, ingest, ingestOk, assertJsonError, big,
} from './lib/runtime.mjs';

const FILES = readdirSync(dataFile(FIXTURE_DIR)).sort();
const CPU = FILES.find((f) => /^cpu-\d+\.pb\.gz$/.test(f));
const HEAP = FILES.find((f) => /^heap-\d+\.pb\.gz$/.test(f));
const GPROF = FILES.find((f) => /^goroutines-\d+\.pb\.gz$/.test(f));
const DEBUG2 = FILES.find((f) => /^goroutines-debug2-\d+\.txt$/.test(f));
const ALL_KINDS = ['gctrace', 'schedtrace', 'goroutine', 'cpu', 'heap', 'allocs', 'mutex', 'block'];
const STDERR = parseStderr(fixture('runtime-stderr.log').toString('utf8'));

const MAX_BODY = 200000000;

/** Deterministic pseudo-random bytes (xorshift32), with a chosen first byte. */
function garbage(n, first, seed = 0x9e3779b9) {
  const b = Buffer.alloc(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    b[i] = x & 0xff;
  }
  b[0] = first;
  return b;
}

let srv;
const baseline = {}; // what was stored before the bad input

/** Everything readable about the good data, for comparing before/after. */
async function snapshotOfState() {
  const out = { sources: [], gc: {}, sched: {}, snapshots: {} };
  const src = await getJ(srv, '/api/v1/sources');
  out.sources = src.sources.map((s) => `${s.id}:${s.service}/${s.instance}`).sort();
  for (const s of src.sources) {
    out.gc[s.id] = (await getJ(srv, `/api/v1/sources/${s.id}/gc?limit=10000`)).cycles.length;
    out.sched[s.id] = (await getJ(srv, `/api/v1/sources/${s.id}/sched?limit=10000`)).samples.length;
    const list = await getJ(srv, `/api/v1/sources/${s.id}/snapshots?start=0&end=4000000000`);
    for (const sn of list.snapshots) {
      const d = await getJ(srv, `/api/v1/snapshots/${sn.id}?limit=10000`);
      const raw = await request(srv, 'GET', `/api/v1/snapshots/${sn.id}/raw`);
      out.snapshots[sn.id] = {
        kind: d.kind, total: d.total, rows: (d.groups || d.samples).length,
        raw: createHash('sha256').update(raw.body).digest('hex'),
      };
    }
  }
  return out;
}

before(async () => {
  srv = await startServer({ args: ['--max-body-bytes', String(MAX_BODY)] });
  baseline.gc = await ingestOk(srv, 'gctrace', { service: 'good', process_start: String(LAUNCH_NS) }, fixture('runtime-stderr.log'));
  baseline.cpu = await ingestOk(srv, 'cpu', { service: 'good' }, fixture(CPU));
  baseline.debug2 = await ingestOk(srv, 'goroutine', { service: 'good' }, fixture(DEBUG2));
  baseline.gprof = await ingestOk(srv, 'goroutine', { service: 'good' }, fixture(GPROF));
  baseline.state = await snapshotOfState();
});
after(async () => { if (srv) await srv.cleanup(); });

test('baseline: the good data is there', () => {
  const sid = baseline.gc.source_id;
  assert.equal(baseline.state.gc[sid], STDERR.gc.length);
  assert.equal(baseline.state.sched[sid], STDERR.sched.length);
  assert.equal(Object.keys(baseline.state.snapshots).length, 3);
});

describe('unreadable bodies -> 400 with a message, nothing stored', () => {
  test('binary garbage, for every kind', async () => {
    for (const kind of ALL_KINDS) {
      for (const first of [0xff, 0x0a, 0x12]) {
        const r = await ingest(srv, kind, { service: 'bad' }, garbage(65536, first));
        assertJsonError(r, 400, `${kind}: 64 KiB of garbage starting 0x${first.toString(16)}`);
      }
      // gzip magic followed by garbage
      const gz = garbage(4096, 0x1f);
      gz[1] = 0x8b;
      assertJsonError(await ingest(srv, kind, { service: 'bad' }, gz), 400, `${kind}: gzip magic + garbage`);
    }
  });

  test('truncated pprof: the gunzipped protobuf cut in half (plain, and gzip\'d again)', async () => {
    for (const [kind, f] of [['cpu', CPU], ['heap', HEAP], ['goroutine', GPROF]]) {
      const pb = zlib.gunzipSync(fixture(f));
      const half = pb.subarray(0, Math.floor(pb.length / 2));
      assertJsonError(await ingest(srv, kind, { service: 'bad' }, half), 400, `${f}: half of the protobuf`);
      assertJsonError(await ingest(srv, kind, { service: 'bad' }, zlib.gzipSync(half)), 400, `${f}: half of the protobuf, gzip'd`);
    }
  });

  test('a gzip body cut short', async () => {
    for (const [kind, f] of [['cpu', CPU], ['heap', HEAP], ['goroutine', GPROF]]) {
      const gz = fixture(f);
      for (const n of [Math.floor(gz.length / 2), gz.length - 4]) {
        assertJsonError(await ingest(srv, kind, { service: 'bad' }, gz.subarray(0, n)), 400, `${f}: first ${n} of ${gz.length} gzip bytes`);
      }
    }
  });

  test('empty body, for every kind', async () => {
    for (const kind of ALL_KINDS) assertJsonError(await ingest(srv, kind, { service: 'bad' }, Buffer.alloc(0)), 400, `${kind}: empty body`);
  });

  test('text without runtime lines', async () => {
    const text = 'listening on :8080\nGET /checkout 200 12ms\npanic: not really\n\ngoroutines are nice\n';
    for (const kind of ['gctrace', 'schedtrace', 'goroutine']) {
      const msg = assertJsonError(await ingest(srv, kind, { service: 'bad' }, text), 400, `${kind}: plain text`);
      if (kind !== 'goroutine') assert.match(msg, /gc|sched/i, 'the message says what was missing');
    }
  });

  test('Content-Encoding problems', async () => {
    const body = fixture('runtime-stderr.log');
    assertJsonError(await ingest(srv, 'gctrace', { service: 'bad' }, body, { headers: { 'content-encoding': 'br' } }), 400,
      'unsupported Content-Encoding br');
    assertJsonError(await ingest(srv, 'gctrace', { service: 'bad' }, body, { headers: { 'content-encoding': 'gzip' } }), 400,
      'Content-Encoding gzip on a plain body');
    const z = compress('zstd', body);
    assertJsonError(await ingest(srv, 'gctrace', { service: 'bad' }, z.subarray(0, z.length >> 1), { headers: { 'content-encoding': 'zstd' } }), 400,
      'zstd body cut short');
  });

  test('nothing of the above was stored', async () => {
    const src = await getJ(srv, '/api/v1/sources');
    const bad = src.sources.find((s) => s.service === 'bad');
    if (bad) {
      // a source row alone would be tolerable; data is not
      assert.equal((await getJ(srv, `/api/v1/sources/${bad.id}/gc`)).cycles.length, 0);
      assert.equal((await getJ(srv, `/api/v1/sources/${bad.id}/sched`)).samples.length, 0);
      assert.equal((await getJ(srv, `/api/v1/sources/${bad.id}/snapshots?start=0&end=4000000000`)).snapshots.length, 0);
    }
  });
});

describe('bad parameters', () => {
  const body = fixture('runtime-stderr.log');
  test('missing or empty service -> 400', async () => {
    const r1 = await request(srv, 'POST', '/api/v1/ingest/gctrace', { body });
    assertJsonError({ ...r1, json: null }, 400, 'no service');
    const r2 = await ingest(srv, 'gctrace', { service: '' }, body);
    assertJsonError(r2, 400, 'service=');
    const r3 = await ingest(srv, 'cpu', { instance: 'x' }, fixture(CPU));
    assertJsonError(r3, 400, 'cpu without service');
  });

  test('unknown kind -> 404', async () => {
    for (const kind of ['nope', 'threadcreate', 'trace', 'GCTRACE']) {
      assertJsonError(await ingest(srv, kind, { service: 'bad' }, body), 404, `kind ${kind}`);
    }
  });

  test('non-integer time, duration, process_start -> 400', async () => {
    for (const [k, v] of [['time', 'abc'], ['time', '1.5'], ['time', '2026-11-22T00:00:00Z'], ['duration', '10s'],
      ['process_start', '-5'], ['process_start', '99999999999999999999999']]) {
      assertJsonError(await ingest(srv, 'gctrace', { service: 'bad', [k]: v }, body), 400, `${k}=${v}`);
    }
  });
});

describe('odd but readable input', () => {
  test('gc lines among malformed and foreign lines: the good ones are accepted, the rest skipped', async () => {
    const [g1, g2] = STDERR.gc;
    const text = [
      'starting checkout on :8080',
      g1.line,
      g2.line.slice(0, 40), // a gc line cut in two by other output
      'GET /checkout 200',
      STDERR.sched[0].line,
      '',
    ].join('\n');
    const j = await ingestOk(srv, 'gctrace', { service: 'odd', instance: 'mixed', process_start: String(LAUNCH_NS) }, text);
    assert.equal(j.accepted, 2, '1 gc + 1 SCHED line');
    assert.equal(j.skipped, 3, 'two foreign lines and the cut gc line');
    const gc = await getJ(srv, `/api/v1/sources/${j.source_id}/gc`);
    assert.deepEqual(gc.cycles.map((c) => [c.n, big(c.start_ns)]), [[g1.n, LAUNCH_NS + g1.offset]]);
  });

  test('a 100 MB line of stderr, then one gc line -> 200, the gc line accepted, the long line skipped', async () => {
    const g = STDERR.gc[STDERR.gc.length - 1];
    const body = Buffer.concat([Buffer.alloc(100 * 1024 * 1024, 'x'), Buffer.from('\n' + g.line + '\n')]);
    const r = await ingest(srv, 'gctrace', { service: 'odd', instance: 'long-line', process_start: String(LAUNCH_NS) }, body, { timeoutMs: 60000 });
    assert.equal(r.status, 200, `status ${r.status}: ${r.body.toString().slice(0, 300)}\n${srv.log(1500)}`);
    assert.equal(r.json.accepted, 1, 'the gc line after the long line');
    assert.ok(r.json.skipped >= 1, `skipped ${r.json.skipped}`);
    const gc = await getJ(srv, `/api/v1/sources/${r.json.source_id}/gc`);
    assert.equal(gc.cycles.length, 1);
    assert.equal(gc.cycles[0].n, g.n);
    assert.equal(big(gc.cycles[0].start_ns), LAUNCH_NS + g.offset);
    assert.equal(big(gc.cycles[0].heap_before_bytes), g.heapBefore);
  });

  test('a debug=1 header claiming total 1000000 with 3 records -> 200, total 3, claimed_total kept', async () => {
    const rec = (fn, pc) => `1 @ 0x${pc.toString(16)} 0x46b2c1\n#\t0x${(pc - 1).toString(16)}\tmain.${fn}+0x1f\t/srv/main.go:${pc % 97}\n`;
    const text = `goroutine profile: total 1000000\n${rec('a', 0x4a1000)}\n${rec('b', 0x4a2000)}\n${rec('c', 0x4a3000)}\n`;
    const j = await ingestOk(srv, 'goroutine', { service: 'odd', instance: 'liar' }, text);
    assert.equal(j.accepted, 3);
    const snap = await getJ(srv, `/api/v1/snapshots/${j.snapshot_id}`);
    assert.equal(snap.format, 'debug=1');
    assert.equal(snap.total, 3, 'total = what the records hold');
    assert.equal(snap.meta.claimed_total, 1000000, 'meta.claimed_total = the header\'s claim');
    assert.equal(Object.values(snap.meta.by_state).reduce((a, b) => a + b, 0), 3);
    assert.equal(snap.groups.reduce((n, g) => n + g.count, 0), 3);
    assert.deepEqual(snap.groups.map((g) => g.frames[0].func).sort(), ['main.a', 'main.b', 'main.c']);
  });

  test('a debug=2 dump whose last block is cut mid-frame is still read', async () => {
    const text = fixture(DEBUG2).toString('utf8');
    const cut = text.slice(0, text.lastIndexOf('\n\t') + 4);
    const j = await ingestOk(srv, 'goroutine', { service: 'odd', instance: 'cut-dump' }, cut);
    assert.equal(j.accepted, countGoroutineHeaders(cut));
  });
});

describe('limits', () => {
  test('a body over --max-body-bytes (also once decompressed) -> 413', async () => {
    const s = await startServer({ args: ['--max-body-bytes', '100000'] });
    try {
      const big1 = Buffer.concat(Array(20).fill(fixture('runtime-stderr.log'))); // ~ 200 KB
      assert.ok(big1.length > 100000);
      assertJsonError(await ingest(s, 'gctrace', { service: 'big' }, big1), 413, 'plain body over the limit');
      const gz = zlib.gzipSync(big1);
      assert.ok(gz.length < 100000);
      assertJsonError(await ingest(s, 'gctrace', { service: 'big' }, gz, { headers: { 'content-encoding': 'gzip' } }), 413,
        'gzip body over the limit once decompressed');
      // still serving, and a body under the limit is fine
      await ingestOk(s, 'gctrace', { service: 'big' }, fixture('runtime-stderr.log'));
      await s.stop();
    } finally {
      await s.cleanup();
    }
  });
});

describe('load', () => {
  test('a full write queue answers 503 + Retry-After; every 200 is stored, every 503 is not', async () => {
    const s = await startServer({ args: ['--max-queue-spans', '200'], env: { MEANWHILE_FAULT_COMMIT_DELAY_MS: '300' } });
    try {
      const body = fixture('runtime-stderr.log'); // costs one queue slot per gc/SCHED line
      const N = 12;
      const res = await Promise.all(Array.from({ length: N }, (_, i) =>
        ingest(s, 'gctrace', { service: 'burst', instance: `i${i}`, process_start: String(LAUNCH_NS) }, body)));
      const codes = res.map((r) => r.status);
      assert.ok(codes.every((c) => c === 200 || c === 503), `only 200 or 503: ${codes}`);
      assert.ok(codes.includes(200), `some are accepted: ${codes}`);
      assert.ok(codes.includes(503), `a burst of ${N} x ${STDERR.gc.length + STDERR.sched.length} records into a queue of 200 must overflow: ${codes}`);
      const sources = (await getJ(s, '/api/v1/sources')).sources;
      for (const [i, r] of res.entries()) {
        const src = sources.find((x) => x.service === 'burst' && x.instance === `i${i}`);
        if (r.status === 503) {
          assertJsonError(r, 503, `burst ${i}`);
          assert.match(String(r.headers['retry-after'] || ''), /^[1-9]\d*$/, `burst ${i}: Retry-After`);
          if (src) assert.equal((await getJ(s, `/api/v1/sources/${src.id}/gc`)).cycles.length, 0, `burst ${i}: a 503 stores nothing`);
        } else {
          assert.equal(r.json.accepted, STDERR.gc.length + STDERR.sched.length);
          assert.ok(src, `burst ${i}: answered 200 but no source`);
          assert.equal(src.id, r.json.source_id);
          assert.equal((await getJ(s, `/api/v1/sources/${src.id}/gc?limit=10000`)).cycles.length, STDERR.gc.length, `burst ${i}: stored`);
        }
      }
      // and a retry after the burst goes through
      const retry = res.findIndex((r) => r.status === 503);
      await ingestOk(s, 'gctrace', { service: 'burst', instance: `i${retry}`, process_start: String(LAUNCH_NS) }, body);
      await s.stop();
    } finally {
      await s.cleanup();
    }
  });

  test('a debug=2 dump of 200,000 goroutines is read whole and grouped by stack', async () => {
    const parts = [];
    const K = 50, N = 200000;
    for (let i = 0; i < N; i++) {
      const k = i % K;
      parts.push(`goroutine ${i + 1} [${k % 2 ? 'IO wait' : 'chan receive'}]:\nmain.worker${k}(0xc000010000)\n\t/srv/main.go:${10 + k} +0x1d\n` +
        'created by main.main\n\t/srv/main.go:5 +0x2b\n');
    }
    const text = parts.join('\n');
    const t0 = performance.now();
    const j = await ingestOk(srv, 'goroutine', { service: 'odd', instance: 'huge-dump' }, text);
    const ms = performance.now() - t0;
    assert.equal(j.accepted, N);
    const snap = await getJ(srv, `/api/v1/snapshots/${j.snapshot_id}?limit=10000`);
    assert.equal(snap.total, N);
    assert.deepEqual(snap.meta.by_state, { chan: N / 2, io: N / 2 });
    assert.equal(snap.groups.length, K, 'one group per stack');
    assert.ok(snap.groups.every((g) => g.count === N / K));
    assert.ok(ms < 20000, `took ${Math.round(ms)} ms`);
  });
});

describe('afterwards', () => {
  test('everything ingested before is still readable, counts unchanged', async () => {
    const now = await snapshotOfState();
    const sid = String(baseline.gc.source_id);
    assert.ok(baseline.state.gc[sid] > 0 && baseline.state.sched[sid] > 0, 'the good source had cycles and samples to keep');
    assert.ok(Object.keys(baseline.state.snapshots).length > 0, 'there were snapshots to keep');
    assert.equal(now.gc[sid], baseline.state.gc[sid], 'gc cycles of the good source');
    assert.equal(now.sched[sid], baseline.state.sched[sid], 'sched samples of the good source');
    for (const [id, s] of Object.entries(baseline.state.snapshots)) {
      assert.deepEqual(now.snapshots[id], s, `snapshot ${id}`);
    }
    // and the totals still match the files
    const cpu = decodeProfile(fixture(CPU));
    assert.equal(now.snapshots[baseline.cpu.snapshot_id].total, cpu.samples.length);
    assert.equal(now.snapshots[baseline.gprof.snapshot_id].total, sumValues(decodeProfile(fixture(GPROF)).samples, 1)[0]);
    assert.equal(now.snapshots[baseline.debug2.snapshot_id].total, countGoroutineHeaders(fixture(DEBUG2).toString()));
  });

  test('the server is healthy and stops cleanly (exit 0)', async () => {
    assert.equal((await request(srv, 'GET', '/healthz')).status, 200);
    await srv.stop();
  });
});

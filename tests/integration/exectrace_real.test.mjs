// Execution traces with the real reader (meanwhile-exectrace, built next to
// meanwhiled) on the recorded fixtures of tests/data/exectrace/ (Go 1.26 and
// 1.27; expected.json holds what the programs recorded of themselves, not what
// any reader made of them): the chan scenario's 40 ms wait with its waker, the
// spans scenario's span history, the raw download's sha256 equal to the
// file's; then hostile bodies (empty, garbage, a valid header then junk, a
// trace cut short, a gzip bomb, a generation that claims more than it holds),
// each a clear 400/413, after which the server still serves other ingest and
// stops cleanly.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import { startServer, request } from './lib/server.mjs';
import { getJ, ingest, assertJsonError, jstr } from './lib/runtime.mjs';
import { realReader, traceFixture } from './lib/exectrace.mjs';

const READER = realReader();
const MS = 1000000n;
const sha = (b) => createHash('sha256').update(b).digest('hex');
const push = (srv, params, body, headers = {}) => ingest(srv, 'exectrace', params, body, { headers });
const GC_LINE = 'gc 1 @0.011s 2%: 0.010+0.50+0.003 ms clock, 0.080+0.10/0.40/0.20+0.024 ms cpu, 4->4->0 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 8 P\n';

describe('exectrace with meanwhile-exectrace on recorded traces', { skip: READER ? false : 'meanwhile-exectrace is not built (no Go found by CMake)' }, () => {
  let srv;
  before(async () => { srv = await startServer({ args: ['--exectrace-reader', READER] }); });
  after(async () => { await srv.cleanup(); });

  for (const go of ['go1.26', 'go1.27']) {
    // the two versions' spans fixtures name the same span ids: each its own server
    let own;
    before(async () => { own = await startServer({ args: ['--exectrace-reader', READER] }); });
    after(async () => { if (own) { await own.stop(); await own.cleanup(); } });
    const expected = JSON.parse(readFileSync(traceFixture(go, 'expected.json'), 'utf8'));

    for (const scenario of ['chan', 'flight']) {
      test(`${go} ${scenario}: the receiver's 40 ms channel wait, woken by the sender; raw is the file`, async () => {
        const body = readFileSync(traceFixture(go, `${scenario}.trace`));
        const r = await push(srv, { service: `real-${go}`, instance: scenario, trigger: 'manual' }, body);
        assert.equal(r.status, 200, r.body.toString());
        const raw = await request(srv, 'GET', `/api/v1/exectraces/${r.json.id}/raw`);
        assert.equal(sha(raw.body), sha(body));
        const e = expected[scenario];
        const [w0, w1] = e.windows.wait.map(BigInt);
        const j = await getJ(srv, `/api/v1/exectrace/window?source=${r.json.source_id}&from=${w0 - 5n * MS}&to=${w1 + 5n * MS}`);
        const recv = j.goroutines.find((g) => g.goroutine === e.goroutines.receiver && g.exectrace_id === r.json.id);
        assert.ok(recv, `receiver ${e.goroutines.receiver} in ${jstr(j.goroutines.map((g) => g.goroutine))}`);
        const wait = recv.intervals.find((i) => i.state === 'blocked' && i.reason === 'chan');
        assert.ok(wait, jstr(recv.intervals));
        const d = BigInt(wait.end_ns) - BigInt(wait.start_ns);
        assert.ok(d >= 39n * MS && d <= 42n * MS, `about 40 ms: ${d} ns`);
        assert.ok(BigInt(wait.start_ns) >= w0 - 1n * MS && BigInt(wait.end_ns) <= w1 + 1n * MS, 'inside the wait window');
        assert.ok(j.stacks[String(wait.stack_id)].some((f) => f.func === 'runtime.chanrecv1' || f.func === 'runtime.chanrecv'),
          jstr(j.stacks[String(wait.stack_id)]));
        const wake = recv.wakes.find((k) => k.time_ns === wait.end_ns);
        assert.ok(wake, `a wake at the end of the wait: ${jstr(recv.wakes)}`);
        assert.equal(wake.waker, e.goroutines.sender);
        const [s0, s1] = e.windows.send.map(BigInt);
        assert.ok(BigInt(wake.time_ns) >= s0 - 1n * MS && BigInt(wake.time_ns) <= s1 + 1n * MS, 'in the send window');
        assert.ok(j.stacks[String(wake.waker_stack_id)].some((f) => /^runtime\.chansend/.test(f.func)));
        assert.ok(j.goroutines.some((g) => g.goroutine === e.goroutines.sender && g.intervals.length > 0));
      });
    }

    test(`${go} spans: the outer span's worker, its waits carrying the span, and a 404 for a span not in it`, async () => {
      const body = readFileSync(traceFixture(go, 'spans.trace'));
      const srv = own;
      const r = await push(srv, { service: `real-${go}`, instance: 'spans' }, body);
      assert.equal(r.status, 200, r.body.toString());
      assert.ok(r.json.spans >= 4, `spans ${r.json.spans}`);
      const e = expected.spans;
      const [traceId, spanId] = e.spans.outer.split('/');
      const j = await getJ(srv, `/api/v1/exectrace/spans/${traceId}/${spanId}`);
      const worker = j.goroutines.find((g) => g.goroutine === e.goroutines.worker && g.role === 'span');
      assert.ok(worker, jstr(j.goroutines.map((g) => [g.goroutine, g.role])));
      const [o0, o1] = e.windows.outer.map(BigInt);
      assert.ok(BigInt(j.start_ns) >= o0 - 2n * MS && BigInt(j.end_ns) <= o1 + 2n * MS, `the span's time ${j.start_ns}..${j.end_ns}`);
      const [ow0, ow1] = e.windows.outer_wait.map(BigInt);
      const inWait = worker.intervals.filter((i) => BigInt(i.start_ns) >= ow0 && BigInt(i.end_ns) <= ow1);
      assert.ok(inWait.length > 0 && inWait.every((i) => i.span_id === spanId && i.trace_id === traceId), jstr(worker.intervals));
      const [, innerSpan] = e.spans.inner.split('/');
      const [is0, is1] = e.windows.inner_sleep.map(BigInt);
      const sleeping = worker.intervals.find((i) => i.state === 'blocked' && i.reason === 'sleep' && BigInt(i.start_ns) >= is0 - 1n * MS && BigInt(i.end_ns) <= is1 + 1n * MS);
      assert.ok(sleeping, `the inner sleep ${jstr(worker.intervals)}`);
      assert.equal(sleeping.span_id, innerSpan);
      // Datadog's span: no trace id, found by its span id under any trace id
      const dd = await getJ(srv, `/api/v1/exectrace/spans/${'0'.repeat(32)}/${e.spans.dd}`);
      assert.ok(dd.goroutines.some((g) => g.goroutine === e.goroutines.dd), jstr(dd.goroutines.map((g) => g.goroutine)));
      const miss = await request(srv, 'GET', `/api/v1/exectrace/spans/${traceId}/00000000000000ff`);
      assert.equal(miss.status, 404);
    });

    test(`${go} gc: stored in less than the trace`, async () => {
      const body = readFileSync(traceFixture(go, 'gc.trace'));
      const r = await push(srv, { service: `real-${go}`, instance: 'gc' }, body);
      assert.equal(r.status, 200, r.body.toString());
      assert.ok(r.json.intervals > 1000);
      assert.ok(r.json.stored_bytes < r.json.raw_bytes, `stored ${r.json.stored_bytes} of ${r.json.raw_bytes}`);
      const list = await getJ(srv, `/api/v1/exectraces?source=${r.json.source_id}`);
      assert.ok(list.exectraces.some((x) => x.id === r.json.id && x.stored_bytes === r.json.stored_bytes));
    });
  }

  describe('hostile bodies', () => {
    const chan = () => readFileSync(traceFixture('go1.26', 'chan.trace'));
    const header = () => chan().subarray(0, 16); // "go 1.26 trace\0\0\0"
    const cases = [
      { what: 'garbage', body: () => Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(50)), status: 400 },
      { what: 'a valid header, then junk', body: () => Buffer.concat([header(), Buffer.alloc(4000, 0xee)]), status: 400 },
      { what: 'a trace cut in half', body: () => chan().subarray(0, chan().length >> 1), status: 400 },
      { what: 'only the header', body: () => header(), status: 400 },
      // an EventBatch (0x01) of generation 1 on M 0, timestamp 0, claiming 2^35 bytes
      { what: 'a generation that claims more than it holds', body: () => Buffer.concat([header(), Buffer.from([0x01, 0x01, 0x00, 0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), Buffer.alloc(64)]), status: 400 },
    ];
    for (const c of cases) {
      test(`${c.what}: ${c.status} with the reader's reason`, async () => {
        const r = await push(srv, { service: 'hostile' }, c.body());
        const msg = assertJsonError(r, c.status, c.what);
        assert.match(msg, /^the execution trace cannot be read: \S/);
      });
    }
    test('an empty body: 400', async () => {
      const r = await push(srv, { service: 'hostile' }, Buffer.alloc(0));
      assert.match(assertJsonError(r, 400, 'empty'), /empty/);
    });
    test('a gzip bomb: 413 naming the body limit, before any reader runs', async () => {
      const bomb = zlib.gzipSync(Buffer.alloc(80 << 20), { level: 9 });
      const r = await push(srv, { service: 'hostile' }, bomb, { 'content-encoding': 'gzip' });
      assert.match(assertJsonError(r, 413, 'bomb'), /max_body_bytes/);
    });
    test('nothing hostile was stored, and other ingest is served', async () => {
      const j = await getJ(srv, '/api/v1/exectraces?limit=1000');
      assert.ok(!j.exectraces.some((x) => x.service === 'hostile'), jstr(j.exectraces.map((x) => x.service)));
      const gc = await ingest(srv, 'gctrace', { service: 'after-hostile' }, GC_LINE);
      assert.equal(gc.status, 200);
    });
  });

  test('the server stops cleanly', async () => { await srv.stop(); });
});

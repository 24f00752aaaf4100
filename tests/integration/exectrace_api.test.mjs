// Execution trace ingest and reads against fake readers (scripts given to
// --exectrace-reader) that write Records built here by hand, so that every
// expected value is ours: a span's goroutine with a 40 ms channel wait and the
// goroutine that woke it, the span's time from the spans table or, when the
// span is not stored, from the trace; the raw download byte-identical (also
// under Content-Encoding gzip and zstd); the window and the listing; then
// what must be refused: bad parameters, a reader that says the trace is
// unreadable (400, nothing stored), one that crashes (500), one that writes
// what records.proto does not allow (500), more output than
// --exectrace-max-output (413), a reader that is not installed (503).

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startServer, request, postJsonOk, compress } from './lib/server.mjs';
import { getJ, ingest, assertJsonError, jstr } from './lib/runtime.mjs';
import { encodeRecords, fakeReader, STATE } from './lib/exectrace.mjs';

const MS = 1000000n;
const T0 = 1796491170452000000n;
const TRACE = '5b8efff798038103d269b633813fc60c';
const SPAN = 'eee19b7ec3c1b174';
const STACK_RECV = [{ func: 'main.recv', file: '/app/main.go', line: 40 }, { func: 'main.main', file: '/app/main.go', line: 12 }];
const STACK_SEND = [{ func: 'main.send', file: '/app/main.go', line: 60 }];

// goroutine 57 runs the span: 1 ms running, 40 ms blocked on a channel, woken by
// goroutine 12 (which slept 30 ms, then ran 11 ms), then 1 ms running; 99 only runs
const RECORDS = {
  stacks: [{ id: 3, frames: STACK_RECV }, { id: 4, frames: STACK_SEND }],
  spans: [{ trace_id: TRACE, span_id: SPAN, name: 'GET /x', task_id: 1 }],
  intervals: [
    { goroutine: 57, state: STATE.running, start_ns: T0, end_ns: T0 + 1n * MS, span: 1 },
    { goroutine: 57, state: STATE.blocked, reason: 'chan', raw_reason: 'chan receive', start_ns: T0 + 1n * MS, end_ns: T0 + 41n * MS, stack: 3, span: 1 },
    { goroutine: 57, state: STATE.running, start_ns: T0 + 41n * MS, end_ns: T0 + 42n * MS, span: 1 },
    { goroutine: 12, state: STATE.blocked, reason: 'sleep', raw_reason: 'sleep', start_ns: T0, end_ns: T0 + 30n * MS },
    { goroutine: 12, state: STATE.running, start_ns: T0 + 30n * MS, end_ns: T0 + 41n * MS, stack: 4 },
    { goroutine: 99, state: STATE.running, start_ns: T0, end_ns: T0 + 42n * MS, clipped_start: true, clipped_end: true },
  ],
  wakes: [{ goroutine: 57, waker: 12, time_ns: T0 + 41n * MS, waker_stack: 4, span: 1 }],
  windows: [{ kind: 1, start_ns: T0 + 10n * MS, end_ns: T0 + 12n * MS }, { kind: 2, start_ns: T0 + 50n * MS, end_ns: T0 + 51n * MS, reason: 'late' }],
  summary: { start_ns: T0, end_ns: T0 + 42n * MS, alignment: 1, events: 20, generations: 1, goroutines: 3 },
};
// what the "trace" is does not matter to a fake reader: any bytes, kept as they are
const BODY = Buffer.concat([Buffer.from('go 1.26 trace\x00\x00\x00'), Buffer.alloc(3000, 7)]);
const sha = (b) => createHash('sha256').update(b).digest('hex');
const push = (srv, params, body = BODY, headers = {}) => ingest(srv, 'exectrace', params, body, { headers });

describe('exectrace with a reader that writes hand-built records', () => {
  let srv, argsFile;
  before(async () => {
    argsFile = `${process.env.TMPDIR || '/tmp'}/mw-xt-args-${process.pid}`;
    srv = await startServer({ args: ['--exectrace-reader', fakeReader('records', { stdout: encodeRecords(RECORDS), argsFile })] });
  });
  after(async () => { await srv.cleanup(); });

  let id, sourceId;
  test('ingest answers the counts and stores the trace', async () => {
    const r = await push(srv, { service: 'svc', instance: 'i-1', trigger: 'slow_span', time: String(T0), process_start: String(T0 - 1000n * MS) });
    assert.equal(r.status, 200, r.body.toString());
    const j = r.json;
    assert.equal(j.goroutines, 3);
    assert.equal(j.intervals, 6);
    assert.equal(j.wakes, 1);
    assert.equal(j.spans, 1);
    assert.equal(BigInt(j.start_ns), T0);
    assert.equal(BigInt(j.end_ns), T0 + 42n * MS);
    assert.equal(j.alignment, 'clock_snapshot');
    assert.equal(j.raw_bytes, BODY.length);
    assert.ok(j.stored_bytes > 0);
    id = j.id;
    sourceId = j.source_id;
    assert.ok(id > 0 && sourceId > 0);
  });

  test('the reader was given the capture time', async () => {
    const { readFileSync } = await import('node:fs');
    const args = readFileSync(argsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(args[0], ['-capture-time', String(T0)]);
  });

  test('raw download is byte-identical', async () => {
    const r = await request(srv, 'GET', `/api/v1/exectraces/${id}/raw`);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/octet-stream');
    assert.equal(r.headers['content-disposition'], `attachment; filename=trace-${id}.out`);
    assert.equal(sha(r.body), sha(BODY));
  });

  test('gzip and zstd bodies are stored as the trace they carry', async () => {
    for (const enc of ['gzip', 'zstd']) {
      const r = await push(srv, { service: 'svc', instance: 'i-1' }, compress(enc, BODY), { 'content-encoding': enc });
      assert.equal(r.status, 200, `${enc}: ${r.body}`);
      const raw = await request(srv, 'GET', `/api/v1/exectraces/${r.json.id}/raw`);
      assert.equal(sha(raw.body), sha(BODY), enc);
    }
  });

  test('the listing shows the trace', async () => {
    const j = await getJ(srv, `/api/v1/exectraces?source=${sourceId}&limit=10`);
    const x = j.exectraces.find((e) => e.id === id);
    assert.ok(x, jstr(j));
    assert.equal(x.service, 'svc');
    assert.equal(x.instance, 'i-1');
    assert.equal(x.trigger, 'slow_span');
    assert.equal(x.goroutines, 3);
    assert.equal(x.intervals, 6);
    assert.equal(x.raw_bytes, BODY.length);
    const none = await getJ(srv, `/api/v1/exectraces?from=${T0 + 43n * MS}`);
    assert.deepEqual(none.exectraces, []);
  });

  test('a span that is not stored: its goroutine over the time the trace ties to it, and its waker', async () => {
    const j = await getJ(srv, `/api/v1/exectrace/spans/${TRACE}/${SPAN}`);
    assert.equal(j.trace_id, TRACE);
    assert.equal(j.span_id, SPAN);
    assert.equal(BigInt(j.start_ns), T0);
    assert.equal(BigInt(j.end_ns), T0 + 42n * MS);
    const g57 = j.goroutines.filter((g) => g.goroutine === 57);
    assert.ok(g57.length >= 1);
    assert.ok(g57.every((g) => g.role === 'span'));
    const mine = g57.find((g) => g.exectrace_id === id);
    const blocked = mine.intervals.find((i) => i.state === 'blocked');
    assert.equal(blocked.reason, 'chan');
    assert.equal(blocked.raw_reason, 'chan receive');
    assert.equal(BigInt(blocked.end_ns) - BigInt(blocked.start_ns), 40n * MS);
    assert.equal(blocked.span_id, SPAN);
    assert.equal(blocked.trace_id, TRACE);
    assert.deepEqual(j.stacks[String(blocked.stack_id)], STACK_RECV);
    assert.equal(mine.intervals.length, 3);
    assert.deepEqual(mine.wakes.map((w) => [BigInt(w.time_ns), w.waker]), [[T0 + 41n * MS, 12]]);
    assert.deepEqual(j.stacks[String(mine.wakes[0].waker_stack_id)], STACK_SEND);
    const waker = j.goroutines.find((g) => g.goroutine === 12 && g.exectrace_id === id);
    assert.equal(waker.role, 'waker');
    assert.deepEqual(waker.intervals.map((i) => i.state), ['blocked', 'running']);
    assert.ok(!j.goroutines.some((g) => g.goroutine === 99), 'a goroutine that neither ran the span nor woke it');
    // each stored trace (the one pushed plain, gzip'd and zstd'd) has its GC window in the span's time;
    // the stop-the-world window after it is left out
    assert.equal(j.exectraces.length, 3);
    assert.deepEqual(j.windows.map((w) => [w.kind, BigInt(w.start_ns)]), Array(3).fill(['gc', T0 + 10n * MS]));
    assert.ok(j.exectraces.some((e) => e.id === id && e.alignment === 'clock_snapshot'));
    assert.equal(BigInt(j.covered.start_ns), T0);
    assert.equal(BigInt(j.covered.end_ns), T0 + 42n * MS);
  });

  test('a stored span: its own start and end cut the goroutines', async () => {
    await postJsonOk(srv, { resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
      scopeSpans: [{ scope: {}, spans: [{ traceId: TRACE, spanId: SPAN, name: 'GET /x', kind: 2,
        startTimeUnixNano: String(T0 + 5n * MS), endTimeUnixNano: String(T0 + 20n * MS) }] }],
    }] });
    const j = await getJ(srv, `/api/v1/exectrace/spans/${TRACE}/${SPAN}`);
    assert.equal(BigInt(j.start_ns), T0 + 5n * MS);
    assert.equal(BigInt(j.end_ns), T0 + 20n * MS);
    const mine = j.goroutines.find((g) => g.goroutine === 57 && g.exectrace_id === id);
    assert.deepEqual(mine.intervals.map((i) => i.state), ['blocked']);
    assert.deepEqual(mine.wakes, []);
    assert.ok(!j.goroutines.some((g) => g.role === 'waker'), 'the wake came after the span ended');
    assert.deepEqual(j.windows.filter((w) => w.kind === 'stw'), [], 'a window after the span is left out');
  });

  test('an unknown span is a 404', async () => {
    const r = await request(srv, 'GET', `/api/v1/exectrace/spans/${TRACE}/0000000000000001`);
    assert.match(assertJsonError(r, 404, 'unknown span'), /no stored execution trace/);
  });

  test('the window: every goroutine of the source, cut by limit', async () => {
    const all = await getJ(srv, `/api/v1/exectrace/window?source=${sourceId}&from=${T0}&to=${T0 + 42n * MS}&limit=1000`);
    assert.equal(all.truncated, false);
    const ids = all.goroutines.filter((g) => g.exectrace_id === id).map((g) => g.goroutine).sort((a, b) => a - b);
    assert.deepEqual(ids, [12, 57, 99]);
    // 99 ran from before the trace to after it: both ends clipped; the others' intervals are whole
    const g99 = all.goroutines.find((g) => g.goroutine === 99 && g.exectrace_id === id);
    assert.deepEqual(g99.intervals.map((i) => [i.clipped_start, i.clipped_end]), [[true, true]]);
    const g57 = all.goroutines.find((g) => g.goroutine === 57 && g.exectrace_id === id);
    assert.ok(g57.intervals.every((i) => i.clipped_start === undefined && i.clipped_end === undefined));
    const cut = await getJ(srv, `/api/v1/exectrace/window?source=${sourceId}&from=${T0}&to=${T0 + 42n * MS}&limit=2`);
    assert.equal(cut.truncated, true);
    assert.equal(cut.goroutines.length, 2);
  });

  test('bad parameters are refused with the name of what was wrong', async () => {
    let r = await push(srv, { service: 'svc', colour: 'red' });
    assert.match(assertJsonError(r, 400, 'unknown parameter'), /colour/);
    r = await push(srv, { instance: 'x' });
    assert.match(assertJsonError(r, 400, 'no service'), /service/);
    r = await push(srv, { service: 'svc', time: 'yesterday' });
    assert.match(assertJsonError(r, 400, 'bad time'), /time/);
    r = await push(srv, { service: 'svc' }, Buffer.alloc(0));
    assert.match(assertJsonError(r, 400, 'empty body'), /empty/);
    r = await request(srv, 'GET', '/api/v1/exectraces/999/raw');
    assertJsonError({ ...r, json: JSON.parse(r.body) }, 404, 'unknown trace');
    r = await request(srv, 'GET', `/api/v1/exectrace/window?source=${sourceId}&from=${T0}`);
    assert.match(assertJsonError({ ...r, json: JSON.parse(r.body) }, 400, 'no to'), /from and to/);
    r = await request(srv, 'GET', `/api/v1/exectrace/spans/xyz/${SPAN}`);
    assertJsonError({ ...r, json: JSON.parse(r.body) }, 400, 'bad trace id');
  });

  test('the server stops cleanly', async () => { await srv.stop(); });
});

describe('exectrace when the reader fails', () => {
  test('a trace the reader cannot read: 400 with its reason, nothing stored', async () => {
    const srv = await startServer({ args: ['--exectrace-reader', fakeReader('refuse', { exit: 2, stderr: 'not a Go execution trace\n' })] });
    try {
      const r = await push(srv, { service: 'svc' }, Buffer.from('hello, not a trace'));
      assert.match(assertJsonError(r, 400, 'unreadable'), /cannot be read: not a Go execution trace$/);
      assert.deepEqual((await getJ(srv, '/api/v1/exectraces')).exectraces, []);
      await srv.stop();
    } finally { await srv.cleanup(); }
  });

  test('a reader that crashes: 500, and the server goes on', async () => {
    const srv = await startServer({
      args: ['--exectrace-reader', fakeReader('crash', { exit: 2, stderr: 'panic: runtime error: index out of range\n\ngoroutine 1 [running]:\n' })],
      allowLog: [/reading an execution trace failed/],
    });
    try {
      const r = await push(srv, { service: 'svc' });
      assert.match(assertJsonError(r, 500, 'crash'), /meanwhile-exectrace exited with status 2: panic: runtime error/);
      const ok = await ingest(srv, 'gctrace', { service: 'svc' }, 'gc 1 @0.011s 2%: 0.010+0.50+0.003 ms clock, 0.080+0.10/0.40/0.20+0.024 ms cpu, 4->4->0 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 8 P\n');
      assert.equal(ok.status, 200, ok.body.toString());
      await srv.stop();
    } finally { await srv.cleanup(); }
  });

  test('output that is not Records: 500 naming the reader', async () => {
    const srv = await startServer({
      args: ['--exectrace-reader', fakeReader('junk', { stdout: Buffer.from([0x07, 0x07, 0x07, 0x07]) })],
      allowLog: [/reading an execution trace failed/],
    });
    try {
      const r = await push(srv, { service: 'svc' });
      assert.match(assertJsonError(r, 500, 'junk'), /reader's output is not a Records message/);
      await srv.stop();
    } finally { await srv.cleanup(); }
  });

  test('more output than --exectrace-max-output: 413 naming it', async () => {
    const srv = await startServer({ args: ['--exectrace-reader', fakeReader('flood', { repeatMiB: 8 }), '--exectrace-max-output', '1MiB'] });
    try {
      const r = await push(srv, { service: 'svc' });
      assert.match(assertJsonError(r, 413, 'flood'), /exectrace_max_output \(1048576 bytes\).*--exectrace-max-output/);
      await srv.stop();
    } finally { await srv.cleanup(); }
  });

  test('past --exectrace-timeout: 503 saying the limit, and the reader is gone', async () => {
    const srv = await startServer({ args: ['--exectrace-reader', fakeReader('slow', { sleepMs: 20000, stdout: encodeRecords(RECORDS) }), '--exectrace-timeout', '300ms'] });
    try {
      const t = Date.now();
      const r = await push(srv, { service: 'svc' });
      assert.match(assertJsonError(r, 503, 'timeout'), /exectrace_timeout \(300 ms\).*--exectrace-timeout/);
      assert.ok(Date.now() - t < 15000, 'answered long before the reader would have ended');
      await srv.stop();
    } finally { await srv.cleanup(); }
  });

  test('no reader installed: 503 saying so, and one info line at start', async () => {
    const srv = await startServer({ args: ['--exectrace-reader', '/nonexistent/meanwhile-exectrace'] });
    try {
      assert.match(srv.stderr, /level=info msg="meanwhile-exectrace is not installed/);
      const r = await push(srv, { service: 'svc' });
      assert.match(assertJsonError(r, 503, 'not installed'), /meanwhile-exectrace is not installed.*--exectrace-reader/);
      assert.equal(r.headers['retry-after'], undefined, 'retrying will not install it');
      await srv.stop();
    } finally { await srv.cleanup(); }
  });
});

describe('exectrace and retention', () => {
  test('a trace older than --retention goes whole; a recent one stays', async () => {
    const now = BigInt(Date.now()) * MS;
    const shifted = (t) => {
      const d = t - T0;
      return {
        ...RECORDS,
        intervals: RECORDS.intervals.map((i) => ({ ...i, start_ns: i.start_ns + d, end_ns: i.end_ns + d })),
        wakes: RECORDS.wakes.map((w) => ({ ...w, time_ns: w.time_ns + d })),
        windows: [],
        summary: { ...RECORDS.summary, start_ns: t, end_ns: t + 42n * MS },
      };
    };
    const reader = fakeReader('ages', { byPrefix: {
      old: encodeRecords(shifted(now - 2n * 3600n * 1000n * MS)),
      new: encodeRecords({ ...shifted(now - 60n * 1000n * MS), spans: [{ trace_id: TRACE, span_id: 'aaaaaaaaaaaaaaaa', name: 'x' }] }),
    } });
    const srv = await startServer({ args: ['--exectrace-reader', reader, '--retention', '1h', '--retention-interval', '1s'],
      allowLog: [/older than the retention/] });
    try {
      const old = await push(srv, { service: 'svc' }, Buffer.from('old trace'));
      assert.equal(old.status, 200, old.body.toString());
      const young = await push(srv, { service: 'svc' }, Buffer.from('new trace'));
      assert.equal(young.status, 200, young.body.toString());
      const t = Date.now();
      for (;;) {
        const r = await request(srv, 'GET', `/api/v1/exectraces/${old.json.id}/raw`);
        if (r.status === 404) break;
        assert.ok(Date.now() - t < 90000, 'retention deleted the old trace within 90 s (a loaded machine is slow)');
        await new Promise((res) => setTimeout(res, 200));
      }
      const list = await getJ(srv, '/api/v1/exectraces');
      assert.deepEqual(list.exectraces.map((x) => x.id), [young.json.id]);
      let r = await request(srv, 'GET', `/api/v1/exectrace/spans/${TRACE}/${SPAN}`);
      assert.equal(r.status, 404, 'the old trace\'s span index went with it');
      r = await request(srv, 'GET', `/api/v1/exectrace/spans/${TRACE}/aaaaaaaaaaaaaaaa`);
      assert.equal(r.status, 200, 'the recent one stays');
      await srv.stop();
    } finally { await srv.cleanup(); }
  });
});

describe('exectrace readers are a bounded pool', () => {
  test('with one worker busy, a second push waits at most about a second, then 503 with Retry-After', async () => {
    const srv = await startServer({ args: ['--exectrace-reader', fakeReader('busy', { sleepMs: 4000, stdout: encodeRecords(RECORDS) }), '--exectrace-workers', '1'] });
    try {
      const first = push(srv, { service: 'svc' });
      // the first has the worker once its reader started (it logs nothing then, but its
      // reader sleeps 4 s: a head start of 300 ms orders the two)
      await new Promise((res) => setTimeout(res, 300));
      const t = Date.now();
      const second = await push(srv, { service: 'svc' });
      const waited = Date.now() - t;
      assert.match(assertJsonError(second, 503, 'second push'), /exectrace_workers=1.*--exectrace-workers/);
      assert.equal(second.headers['retry-after'], '1');
      assert.ok(waited >= 900, `it waited for a worker first (${waited} ms)`);
      // other ingest is served meanwhile
      const gc = await ingest(srv, 'gctrace', { service: 'svc' }, 'gc 1 @0.011s 2%: 0.010+0.50+0.003 ms clock, 0.080+0.10/0.40/0.20+0.024 ms cpu, 4->4->0 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 8 P\n');
      assert.equal(gc.status, 200);
      const r1 = await first;
      assert.equal(r1.status, 200, r1.body.toString());
      await srv.stop();
    } finally { await srv.cleanup(); }
  });

  test('SIGTERM while a reader runs: the reader is stopped, the push answered 503, the server stops with 0', async () => {
    const srv = await startServer({ args: ['--exectrace-reader', fakeReader('long', { sleepMs: 60000 })] });
    try {
      const p = push(srv, { service: 'svc' });
      await new Promise((res) => setTimeout(res, 300));
      const t = Date.now();
      await srv.stop();
      assert.ok(Date.now() - t < 8000, 'the stop did not wait for the reader (it sleeps 60 s)');
      const r = await p;
      assert.match(assertJsonError(r, 503, 'at SIGTERM'), /shutting down: retry/);
    } finally { await srv.cleanup(); }
  });
});


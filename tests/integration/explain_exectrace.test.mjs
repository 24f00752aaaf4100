// Explain from execution traces (docs/CORRELATION.md, "Exact explanations"):
// where a stored trace recorded a span's goroutine, the span's self time is
// its intervals, scope "trace", with a causal chain across goroutines and
// requests. First on records built here by hand (a fake reader writes them),
// so that every figure is ours: request A waits 40 ms for a mutex held by
// request B's goroutine, which was itself waiting 30 ms on a channel that a
// third goroutine (a span that is not stored) sent on after sleeping; A
// started 10 ms before the trace, and that part keeps the sampled method and
// says so. Then on the real Go 1.26 / 1.27 captures of tests/data/exectrace
// (the spans scenario, with the spans its program logged pushed over OTLP):
// the outer span's channel wait, woken by the sender goroutine
// expected.json names, which had slept before it; and the preblocked
// scenario's span pre, begun before the trace: its traced sleep is exact, the
// time before the trace is said to lie outside it.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startServer, postJsonOk } from './lib/server.mjs';
import { getJ, ingest, jstr } from './lib/runtime.mjs';
import { encodeRecords, fakeReader, STATE, realReader, traceFixture } from './lib/exectrace.mjs';

const MS = 1000000n;
const T0 = 1796491170452000000n;
const TA = 'aaaa0000000000000000000000000001', SA = 'a100000000000001';
const TB = 'bbbb0000000000000000000000000002', SB = 'b200000000000002';
const TC = 'cccc0000000000000000000000000003', SC = 'c300000000000003';
const LOCK = [{ func: 'sync.(*Mutex).Lock', file: '/go/src/sync/mutex.go', line: 81 }, { func: 'main.(*Cache).Get', file: '/app/cache.go', line: 40 }];
const UNLOCK = [{ func: 'sync.(*Mutex).Unlock', file: '/go/src/sync/mutex.go', line: 220 }, { func: 'main.(*Cache).Refresh', file: '/app/cache.go', line: 90 }];
const RECV = [{ func: 'runtime.chanrecv1', file: '/go/src/runtime/chan.go', line: 489 }, { func: 'main.(*Cache).Refresh', file: '/app/cache.go', line: 88 }];
const SEND = [{ func: 'runtime.chansend1', file: '/go/src/runtime/chan.go', line: 161 }, { func: 'main.produce', file: '/app/queue.go', line: 12 }];
const SLEEP = [{ func: 'time.Sleep', file: '/go/src/runtime/time.go', line: 300 }, { func: 'main.produce', file: '/app/queue.go', line: 10 }];
const WORK = [{ func: 'main.(*Cache).Get', file: '/app/cache.go', line: 44 }];

// goroutine 57 runs span A: 1 ms on CPU, 40 ms blocked on the mutex (raw "sync"), released by
// goroutine 12 (span B) at +41, 2 ms on CPU. Goroutine 12 waited on a channel over [+5, +35), woken by
// goroutine 30 (span C, not stored), which slept over [0, +34) (woken by a timer: the chain ends).
const RECORDS = {
  stacks: [{ id: 1, frames: LOCK }, { id: 2, frames: UNLOCK }, { id: 3, frames: RECV }, { id: 4, frames: SEND },
    { id: 5, frames: SLEEP }, { id: 6, frames: WORK }],
  spans: [{ trace_id: TA, span_id: SA, name: 'cache.get', task_id: 1 }, { trace_id: TB, span_id: SB, name: 'cache.refresh', task_id: 2 },
    { trace_id: TC, span_id: SC, name: 'queue.produce', task_id: 3 }],
  intervals: [
    { goroutine: 57, state: STATE.running, start_ns: T0, end_ns: T0 + 1n * MS, stack: 6, span: 1, clipped_start: true },
    { goroutine: 57, state: STATE.blocked, reason: 'mutex', raw_reason: 'sync', start_ns: T0 + 1n * MS, end_ns: T0 + 41n * MS, stack: 1, span: 1 },
    { goroutine: 57, state: STATE.running, start_ns: T0 + 41n * MS, end_ns: T0 + 43n * MS, stack: 6, span: 1 },
    { goroutine: 12, state: STATE.running, start_ns: T0, end_ns: T0 + 5n * MS, span: 2, clipped_start: true },
    { goroutine: 12, state: STATE.blocked, reason: 'chan', raw_reason: 'chan receive', start_ns: T0 + 5n * MS, end_ns: T0 + 35n * MS, stack: 3, span: 2 },
    { goroutine: 12, state: STATE.running, start_ns: T0 + 35n * MS, end_ns: T0 + 50n * MS, span: 2, clipped_end: true },
    { goroutine: 30, state: STATE.blocked, reason: 'sleep', raw_reason: 'sleep', start_ns: T0, end_ns: T0 + 34n * MS, stack: 5, span: 3, clipped_start: true },
    { goroutine: 30, state: STATE.running, start_ns: T0 + 34n * MS, end_ns: T0 + 50n * MS, span: 3, clipped_end: true },
  ],
  wakes: [
    { goroutine: 30, waker: 0, time_ns: T0 + 34n * MS, span: 3 },
    { goroutine: 12, waker: 30, time_ns: T0 + 35n * MS, waker_stack: 4, waker_span: 3, span: 2 },
    { goroutine: 57, waker: 12, time_ns: T0 + 41n * MS, waker_stack: 2, waker_span: 2, span: 1 },
  ],
  summary: { start_ns: T0, end_ns: T0 + 50n * MS, alignment: 1, events: 40, generations: 1, goroutines: 3 },
};
const BODY = Buffer.concat([Buffer.from('go 1.26 trace\x00\x00\x00'), Buffer.alloc(1000, 7)]);

// The chain's bounds, in a second trace (its own body, so that the fake reader writes these):
// D waits on a mutex, released by 101, which waited on a channel for 102, which waited in a select
// for 103, which waited for 104: three links, no more. E's waker 201 waited for a wake "by" 200,
// E's own goroutine: a cycle, the chain stops at 201. F's waker 301 had slept before F's wait began
// (outside the bound) and then waited on I/O inside it (the network poller woke it: the chain ends).
// G's I/O wait was ended by no goroutine: no chain.
const T1 = T0 + 1000n * MS;
const SPANS2 = { D: ['dddd0000000000000000000000000004', 'd400000000000004'], E: ['eeee0000000000000000000000000005', 'e500000000000005'],
  F: ['ffff0000000000000000000000000006', 'f600000000000006'], G: ['99990000000000000000000000000007', '9700000000000007'] };
const at = (ms) => T1 + BigInt(ms) * MS;
const blk = (goroutine, reason, a, b, span = 0) => ({ goroutine, state: STATE.blocked, reason, raw_reason: reason, start_ns: at(a), end_ns: at(b), span });
const run = (goroutine, a, b, span = 0) => ({ goroutine, state: STATE.running, start_ns: at(a), end_ns: at(b), span });
const RECORDS2 = {
  stacks: [{ id: 1, frames: WORK }],
  spans: ['D', 'E', 'F', 'G'].map((k, i) => ({ trace_id: SPANS2[k][0], span_id: SPANS2[k][1], name: k, task_id: i + 1 })),
  intervals: [
    run(100, 0, 10, 1), blk(100, 'mutex', 10, 90, 1), run(100, 90, 100, 1),
    run(101, 0, 5), blk(101, 'chan', 5, 85), run(101, 85, 100),
    run(102, 0, 3), blk(102, 'select', 3, 80), run(102, 80, 100),
    run(103, 0, 2), blk(103, 'chan', 2, 75), run(103, 75, 100),
    blk(104, 'chan', 0, 70), run(104, 70, 100),
    run(200, 0, 10, 2), blk(200, 'chan', 10, 50, 2), run(200, 50, 100, 2),
    run(201, 0, 12), blk(201, 'chan', 12, 45), run(201, 45, 100),
    run(300, 0, 50, 3), blk(300, 'chan', 50, 90, 3), run(300, 90, 100, 3),
    blk(301, 'sleep', 0, 40), run(301, 40, 60), blk(301, 'io', 60, 70), run(301, 70, 100),
    run(400, 0, 5, 4), blk(400, 'io', 5, 45, 4), run(400, 45, 100, 4),
  ],
  wakes: [
    { goroutine: 100, waker: 101, time_ns: at(90), waker_stack: 1, span: 1 },
    { goroutine: 101, waker: 102, time_ns: at(85) },
    { goroutine: 102, waker: 103, time_ns: at(80) },
    { goroutine: 103, waker: 104, time_ns: at(75) },
    { goroutine: 104, waker: 0, time_ns: at(70) },
    { goroutine: 200, waker: 201, time_ns: at(50), span: 2 },
    { goroutine: 201, waker: 200, time_ns: at(45) },
    { goroutine: 300, waker: 301, time_ns: at(90), span: 3 },
    { goroutine: 301, waker: 0, time_ns: at(40) },
    { goroutine: 301, waker: 0, time_ns: at(70) },
    { goroutine: 400, waker: 0, time_ns: at(45), span: 4 },
  ],
  summary: { start_ns: T1, end_ns: at(100), alignment: 1, events: 60, generations: 1, goroutines: 11 },
};
const BODY2 = Buffer.concat([Buffer.from('go 1.26 trace\x00\x00\x01'), Buffer.alloc(1000, 8)]);

const otlp = (service, spans) => ({ resourceSpans: [{
  resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
  scopeSpans: [{ scope: {}, spans: spans.map((s) => ({ traceId: s.trace, spanId: s.span, name: s.name, kind: 2,
    startTimeUnixNano: String(s.start), endTimeUnixNano: String(s.end) })) }],
}] });

const ev = (c, type) => c.evidence.filter((e) => e.type === type);

describe('explain from hand-built execution trace records', () => {
  let srv;
  before(async () => {
    const reader = fakeReader('records', { stdout: encodeRecords(RECORDS), byPrefix: { [BODY2.subarray(0, 16).toString('latin1')]: encodeRecords(RECORDS2) } });
    srv = await startServer({ args: ['--exectrace-reader', reader] });
    await postJsonOk(srv, otlp('shop', [{ trace: TA, span: SA, name: 'cache.get', start: T0 - 10n * MS, end: T0 + 43n * MS }]));
    await postJsonOk(srv, otlp('refresher', [{ trace: TB, span: SB, name: 'cache.refresh', start: T0 - 5n * MS, end: T0 + 45n * MS }]));
    const r = await ingest(srv, 'exectrace', { service: 'shop', trigger: 'slow_span' }, BODY);
    assert.equal(r.status, 200, r.body.toString());
    await postJsonOk(srv, otlp('bounds', Object.entries(SPANS2).map(([k, [trace, span]]) => ({ trace, span, name: k, start: T1, end: at(100) }))));
    const r2 = await ingest(srv, 'exectrace', { service: 'bounds' }, BODY2);
    assert.equal(r2.status, 200, r2.body.toString());
  });
  after(async () => { await srv.cleanup(); });

  test('the traced part is the intervals (scope trace), the rest keeps the sampled method and says so', async () => {
    const j = await getJ(srv, `/api/v1/traces/${TA}/explain`);
    const a = j.spans[0];
    assert.equal(a.name, 'cache.get');
    assert.equal(BigInt(a.self_ns), 53n * MS);
    // 40 ms mutex, 3 ms CPU from the trace; the 10 ms before the trace: nothing observed them
    assert.equal(BigInt(a.breakdown.blocked_ns.mutex), 40n * MS);
    assert.equal(BigInt(a.breakdown.cpu_ns), 3n * MS);
    assert.equal(BigInt(a.breakdown.unknown_ns), 10n * MS);
    assert.deepEqual(a.causes.map((c) => [c.kind, c.scope]), [['mutex', 'trace'], ['unknown', 'span'], ['cpu', 'trace']]);
    const mutex = a.causes[0];
    assert.equal(mutex.share, 0.7547); // 40 / 53
    assert.equal(mutex.confidence, 0.95); // clock_snapshot
    const [x] = ev(mutex, 'exectrace');
    assert.equal(x.alignment, 'clock_snapshot');
    assert.equal(BigInt(x.covered_ns), 43n * MS);
    assert.equal(BigInt(x.start_ns), T0);
    const [iv] = ev(mutex, 'interval');
    assert.deepEqual([iv.goroutine, iv.state, iv.reason, iv.raw_reason, BigInt(iv.ns)], [57, 'blocked', 'mutex', 'sync', 40n * MS]);
    assert.deepEqual(iv.stack.map((f) => f.function), ['sync.(*Mutex).Lock', 'main.(*Cache).Get']);
    const unknown = a.causes[1];
    assert.ok(unknown.evidence.some((e) => e.type === 'reason' && /^10\.0 ms of the span lay outside the traced window/.test(e.text)),
      jstr(unknown.evidence));
  });

  test('the chain: the holder of the lock (span and service stored), what it waited for, and who woke that', async () => {
    const j = await getJ(srv, `/api/v1/traces/${TA}/explain`);
    const mutex = j.spans[0].causes[0];
    const [chain] = ev(mutex, 'chain');
    assert.ok(chain, jstr(mutex.evidence));
    assert.equal(chain.links.length, 2); // 30 was woken by a timer: the chain ends there
    const [l1, l2] = chain.links;
    assert.deepEqual([l1.goroutine, l1.relation, l1.trace_id, l1.span_id, l1.span_name, l1.service, BigInt(l1.woke_ns)],
      [12, 'released', TB, SB, 'cache.refresh', 'refresher', T0 + 41n * MS]);
    assert.deepEqual(l1.stack.map((f) => f.function), ['sync.(*Mutex).Unlock', 'main.(*Cache).Refresh']);
    assert.deepEqual([l1.waited.state, l1.waited.reason, BigInt(l1.waited.start_ns), BigInt(l1.waited.end_ns), BigInt(l1.waited.ns)],
      ['blocked', 'chan', T0 + 5n * MS, T0 + 35n * MS, 30n * MS]);
    assert.equal(l1.waited.stack[0].function, 'main.(*Cache).Refresh'); // the runtime's frames are skipped
    // span C is not stored: its ids, no name
    assert.deepEqual([l2.goroutine, l2.relation, l2.trace_id, l2.span_id, l2.span_name, l2.service],
      [30, 'woke', TC, SC, undefined, undefined]);
    // its sleep began before the chain's bound (the first wait's start, +1 ms): 33 ms of it count
    assert.deepEqual([l2.waited.reason, BigInt(l2.waited.ns)], ['sleep', 33n * MS]);
    assert.match(mutex.summary, /waiting for a lock for 40\.0 ms at sync\.\(\*Mutex\)\.Lock in main\.\(\*Cache\)\.Get \(\/app\/cache\.go:40\)/);
    assert.match(mutex.summary, /released by goroutine 12 \(span cache\.refresh of refresher, trace bbbb0000…\) at \+51\.0 ms, which had itself been waiting on a channel for 30\.0 ms at .*main\.\(\*Cache\)\.Refresh \(\/app\/cache\.go:88\), woken by goroutine 30 \(span c300000000000003 of trace cccc0000…\) at \+45\.0 ms, which had itself been sleeping for 33\.0 ms/);
    assert.match(j.summary, /released by goroutine 12 \(span cache\.refresh/);
  });

  test('the holder\'s own span: its wait, woken by the producer', async () => {
    const j = await getJ(srv, `/api/v1/traces/${TB}/explain`);
    const b = j.spans[0];
    const chan = b.causes.find((c) => c.kind === 'chan');
    assert.equal(chan.scope, 'trace');
    const [chain] = ev(chan, 'chain');
    assert.deepEqual(chain.links.map((l) => [l.goroutine, l.relation]), [[30, 'woke']]);
  });

  const chainOf = async (k, kind) => {
    const j = await getJ(srv, `/api/v1/traces/${SPANS2[k][0]}/explain`);
    const c = j.spans[0].causes.find((x) => x.kind === kind);
    assert.ok(c, jstr(j.spans[0].causes));
    assert.equal(c.scope, 'trace');
    return ev(c, 'chain')[0];
  };

  test('a chain stops at 3 links', async () => {
    const chain = await chainOf('D', 'mutex');
    assert.deepEqual(chain.links.map((l) => [l.goroutine, l.relation, l.waited.reason]),
      [[101, 'released', 'chan'], [102, 'woke', 'select'], [103, 'woke', 'chan']]);
    // each wait counted from the first wait's start (+10 ms) to the wake
    assert.deepEqual(chain.links.map((l) => BigInt(l.waited.ns)), [75n * MS, 70n * MS, 65n * MS]);
  });

  test('a waker already in the chain ends it (a cycle)', async () => {
    const chain = await chainOf('E', 'chan');
    assert.deepEqual(chain.links.map((l) => l.goroutine), [201]);
    assert.equal(chain.links[0].waited.reason, 'chan');
  });

  test('what the waker waited for is bounded by the first wait\'s start; a wake by no goroutine ends it', async () => {
    const chain = await chainOf('F', 'chan');
    assert.equal(chain.links.length, 1);
    const [l] = chain.links;
    assert.equal(l.goroutine, 301);
    assert.deepEqual([l.waited.reason, BigInt(l.waited.ns)], ['io', 10n * MS], 'not the sleep that ended before F\'s wait');
    assert.equal(await chainOf('G', 'io'), undefined, 'the network poller woke G: no chain');
  });

  test('the server stops cleanly', async () => { await srv.stop(); });
});

const READER = realReader();
describe('explain from the recorded Go traces', { skip: READER ? false : 'meanwhile-exectrace is not built (no Go found by CMake)' }, () => {
  for (const go of ['go1.26', 'go1.27']) {
    let srv;
    before(async () => { srv = await startServer({ args: ['--exectrace-reader', READER] }); });
    after(async () => { if (srv) await srv.cleanup(); });
    const e = JSON.parse(readFileSync(traceFixture(go, 'expected.json'), 'utf8')).spans;

    test(`${go} spans: the outer span's channel wait (scope trace), woken by the sender, which had slept`, async () => {
      const [traceId, spanId] = e.spans.outer.split('/');
      const [o0, o1] = e.windows.outer.map(BigInt);
      await postJsonOk(srv, otlp('capture', [{ trace: traceId, span: spanId, name: 'GET /outer', start: o0, end: o1 }]));
      const r = await ingest(srv, 'exectrace', { service: 'capture', instance: go }, readFileSync(traceFixture(go, 'spans.trace')));
      assert.equal(r.status, 200, r.body.toString());
      const j = await getJ(srv, `/api/v1/traces/${traceId}/explain`);
      const s = j.spans[0];
      // the program: blocked on <-ch over outer_wait (the sender sleeps 15 ms first), then slept
      // 10 ms (inner, a span of another trace: not a child here) and 5 ms (outer_after)
      const [w0, w1] = e.windows.outer_wait.map(BigInt);
      const chan = s.causes.find((c) => c.kind === 'chan');
      assert.ok(chan, jstr(s.causes.map((c) => [c.kind, c.share])));
      assert.equal(chan.scope, 'trace');
      assert.equal(chan.confidence, 0.95);
      const chanNs = BigInt(s.breakdown.blocked_ns.chan);
      assert.ok(chanNs <= w1 - w0 + 1n * MS && chanNs >= w1 - w0 - 1n * MS, `chan ${chanNs} vs outer_wait ${w1 - w0}`);
      const sleepNs = BigInt(s.breakdown.blocked_ns.sleep);
      const want = e.windows.inner_sleep.map(BigInt), after = e.windows.outer_after.map(BigInt);
      const sleepWant = (want[1] - want[0]) + (after[1] - after[0]);
      assert.ok(sleepNs >= sleepWant - 2n * MS && sleepNs <= sleepWant + 2n * MS, `sleep ${sleepNs} vs ${sleepWant}`);
      const sleep = s.causes.find((c) => c.kind === 'sleep');
      assert.equal(sleep.scope, 'trace');
      // everything of the span lay in the trace: no sampled cause
      assert.ok(s.causes.every((c) => c.scope === 'trace'), jstr(s.causes.map((c) => [c.kind, c.scope])));
      const [iv] = ev(chan, 'interval');
      assert.equal(iv.goroutine, e.goroutines.worker);
      assert.equal(iv.raw_reason, 'chan receive');
      const [chain] = ev(chan, 'chain');
      assert.ok(chain, jstr(chan.evidence));
      assert.equal(chain.links.length, 1, 'the sender slept: a timer woke it, the chain ends');
      const [l] = chain.links;
      assert.equal(l.goroutine, e.goroutines.sender);
      assert.equal(l.relation, 'woke');
      assert.ok(BigInt(l.woke_ns) >= w1 - 1n * MS && BigInt(l.woke_ns) <= w1 + 1n * MS, 'woken at the end of outer_wait');
      assert.ok(l.stack.some((f) => /^runtime\.chansend/.test(f.function)), jstr(l.stack));
      assert.equal(l.span_id, undefined, 'the sender runs no span');
      assert.equal(l.waited.reason, 'sleep');
      assert.ok(BigInt(l.waited.ns) >= 14n * MS, `the sender slept 15 ms before sending: ${l.waited.ns}`);
      assert.match(chan.summary, new RegExp(`woken by goroutine ${e.goroutines.sender} \\(no span\\)`));
    });

    test(`${go} preblocked: a span begun 20 ms before the trace; the traced sleep is exact, the rest is said to be outside`, async () => {
      const p = JSON.parse(readFileSync(traceFixture(go, 'expected.json'), 'utf8')).preblocked;
      const [traceId, spanId] = p.spans.pre.split('/');
      const [c0, c1] = p.windows.capture.map(BigInt), [p0, p1] = p.windows.pre_sleep.map(BigInt);
      // the program made the span's task just before trace.Start (window capture): the stored
      // span says it began 20 ms before that, and ended with the sleep
      await postJsonOk(srv, otlp('capture', [{ trace: traceId, span: spanId, name: 'pre.op', start: c0 - 20n * MS, end: p1 }]));
      const r = await ingest(srv, 'exectrace', { service: 'capture', instance: `${go}-pre` }, readFileSync(traceFixture(go, 'preblocked.trace')));
      assert.equal(r.status, 200, r.body.toString());
      const j = await getJ(srv, `/api/v1/traces/${traceId}/explain`);
      const s = j.spans[0];
      const sleep = s.causes.find((c) => c.kind === 'sleep');
      assert.ok(sleep, jstr(s.causes.map((c) => [c.kind, c.scope])));
      assert.equal(sleep.scope, 'trace');
      assert.equal(ev(sleep, 'interval')[0].goroutine, p.goroutines.main);
      const sleepNs = BigInt(s.breakdown.blocked_ns.sleep);
      assert.ok(sleepNs >= p1 - p0 - 1n * MS && sleepNs <= p1 - p0 + 1n * MS, `sleep ${sleepNs} vs pre_sleep ${p1 - p0}`);
      // before the trace began (between c0 and c1): 20 ms and the trace's start-up; no snapshot saw it
      const unknown = s.causes.find((c) => c.kind === 'unknown');
      assert.ok(unknown, jstr(s.causes.map((c) => [c.kind, c.scope])));
      const note = unknown.evidence.find((x) => x.type === 'reason' && /lay outside the traced window/.test(x.text));
      assert.ok(note, jstr(unknown.evidence));
      const outMs = Number(note.text.match(/^([0-9.]+) ms/)[1]);
      assert.ok(outMs >= 20 && outMs <= 20 + Number(c1 - c0) / 1e6 + 0.1, `outside ${outMs} ms`);
    });

    test(`${go}: the server stops cleanly`, async () => { await srv.stop(); });
  }
});

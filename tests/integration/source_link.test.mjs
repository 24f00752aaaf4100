// One process, one history: when the agent names its instance differently from
// the service's spans (here the agent's made-up "vm-4711" against the spans'
// "shop-1-12707"), what it sends goes to a source of its own until a labelled
// profile proves which source it is. Learning that link must move what came
// before, so that the GC cycles 1-21 do not stay in one source while 22-59 go
// to the other, and the timeline and the explanation of the early spans see
// the early cycles. Real data of the Go 1.19 "checkout" service
// (tests/data/go1.19-checkout/); expected values are read from its files here.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { startServer, dataFile, postTraces, mapLimit } from './lib/server.mjs';
import {
  FIXTURE_DIR, fixture, LAUNCH_NS, parseStderr, decodeProfile, getJ, ingestOk, findSource, big, jstr,
} from './lib/runtime.mjs';

const FILES = readdirSync(dataFile(FIXTURE_DIR)).sort();
const STDERR = fixture('runtime-stderr.log').toString('utf8');
const ALL = parseStderr(STDERR);
const SPAN_LINES = fixture('spans.otlp.jsonl').toString('utf8').split('\n').filter((l) => l.trim());
const SPANS = SPAN_LINES.flatMap((l) => JSON.parse(l).resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)));
const AGENT_INSTANCE = 'vm-4711';
const SPLIT_AFTER_GC = 21; // the agent's first batches: up to gc 21

// the stderr in two parts: what was sent before the link was learned, and after
const lines = STDERR.split('\n');
const cut = lines.findIndex((l) => l.startsWith(`gc ${SPLIT_AFTER_GC + 1} @`));
const EARLY = lines.slice(0, cut).join('\n') + '\n';
const LATE = lines.slice(cut).join('\n');

// A leaf span (its self time is all of it) of which the stop-the-world windows of early
// cycles took the largest share (causes under 1% are not listed): cycle start = process
// start + @offset; windows [start, start + a] and [start + a + b, start + a + b + c] from
// "a+b+c ms clock" (docs/CORRELATION.md).
const parents = new Set(SPANS.map((s) => s.parentSpanId).filter(Boolean));
function stwOverlap(span, cycles) {
  const a = BigInt(span.startTimeUnixNano), b = BigInt(span.endTimeUnixNano);
  let total = 0n;
  const hit = new Set();
  for (const g of cycles) {
    const st = LAUNCH_NS + g.offset;
    const [c0, c1, c2] = g.clock;
    for (const [x, y] of [[st, st + c0], [st + c0 + c1, st + c0 + c1 + c2]]) {
      const lo = a > x ? a : x, hi = b < y ? b : y;
      if (hi > lo) { total += hi - lo; hit.add(g.n); }
    }
  }
  return { total, cycles: [...hit] };
}
const share = (s, o) => Number(o.total) / Number(BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano));
const [EARLY_SPAN, EARLY_STW] = SPANS.filter((s) => !parents.has(s.spanId))
  .map((s) => [s, stwOverlap(s, ALL.gc)])
  .filter(([, o]) => o.total > 0n && o.cycles.every((n) => n <= SPLIT_AFTER_GC))
  .sort((x, y) => share(...y) - share(...x))[0];

let srv, spanSource, earlySource, dumpId;

before(async () => {
  srv = await startServer();
  const res = await mapLimit(SPAN_LINES, 4, (l) => postTraces(srv, Buffer.from(l), { contentType: 'application/json' }));
  for (const [i, r] of res.entries()) assert.equal(r.status, 200, `spans line ${i + 1}: ${r.status}`);
  spanSource = await findSource(srv, 'checkout', 'shop-1-12707');
  assert.ok(spanSource, 'the spans made the source (checkout, shop-1-12707)');
});
after(async () => { if (srv) await srv.cleanup(); });

test('fixture: the split and the early span are what this test needs', () => {
  assert.equal(parseStderr(EARLY).gc.length, SPLIT_AFTER_GC);
  assert.equal(parseStderr(EARLY).gc.length + parseStderr(LATE).gc.length, ALL.gc.length);
  assert.equal(parseStderr(EARLY).sched.length + parseStderr(LATE).sched.length, ALL.sched.length);
  assert.ok(EARLY_SPAN, 'a leaf span overlaps the pause of an early GC cycle');
  assert.ok(share(EARLY_SPAN, EARLY_STW) > 0.02, `the pauses took ${share(EARLY_SPAN, EARLY_STW)} of it`);
});

test('before the link: the agent\'s early batches go to a source of the name it gave', async () => {
  const j = await ingestOk(srv, 'gctrace', { service: 'checkout', instance: AGENT_INSTANCE, process_start: String(LAUNCH_NS) }, EARLY);
  earlySource = await findSource(srv, 'checkout', AGENT_INSTANCE);
  assert.ok(earlySource, 'the source (checkout, vm-4711)');
  assert.equal(j.source_id, earlySource.id);
  assert.notEqual(earlySource.id, spanSource.id);
  // a dump without labels proves nothing: it joins the same source
  const d = await ingestOk(srv, 'goroutine', { service: 'checkout', instance: AGENT_INSTANCE },
    fixture(FILES.find((f) => /^goroutines-debug2-/.test(f))));
  assert.equal(d.source_id, earlySource.id);
  dumpId = d.snapshot_id;
  const gc = await getJ(srv, `/api/v1/sources/${earlySource.id}/gc?limit=10000`);
  assert.equal(gc.cycles.length, SPLIT_AFTER_GC);
});

test('a labelled profile links the name to the spans\' source and moves the early data there', async () => {
  const f = FILES.find((x) => /^goroutines-\d+\.pb\.gz$/.test(x));
  assert.ok(decodeProfile(fixture(f)).samples.some((s) => s.labels?.span_id), 'the profile carries span labels');
  const j = await ingestOk(srv, 'goroutine', { service: 'checkout', instance: AGENT_INSTANCE }, fixture(f));
  assert.equal(j.source_id, spanSource.id, 'linked');
  const k = await ingestOk(srv, 'gctrace', { service: 'checkout', instance: AGENT_INSTANCE, process_start: String(LAUNCH_NS) }, LATE);
  assert.equal(k.source_id, spanSource.id, 'the later batches follow the link');

  const { sources } = await getJ(srv, '/api/v1/sources');
  const mine = sources.filter((s) => s.service === 'checkout');
  assert.deepEqual(mine.map((s) => s.id), [spanSource.id], `one source for the process: ${jstr(mine)}`);

  const gc = await getJ(srv, `/api/v1/sources/${spanSource.id}/gc?limit=10000`);
  assert.deepEqual(gc.cycles.map((c) => c.n).sort((a, b) => a - b), ALL.gc.map((g) => g.n).sort((a, b) => a - b),
    'every GC cycle of the process, once, in the process\'s source');
  for (const c of gc.cycles) {
    const g = ALL.gc.find((x) => x.n === c.n);
    assert.equal(big(c.start_ns), LAUNCH_NS + g.offset, `gc ${c.n} start`);
  }
  const sched = await getJ(srv, `/api/v1/sources/${spanSource.id}/sched?limit=10000`);
  assert.equal(sched.samples.length, ALL.sched.length);
  const snaps = await getJ(srv, `/api/v1/sources/${spanSource.id}/snapshots?start=0&end=4000000000`);
  assert.ok(snaps.snapshots.some((s) => s.id === dumpId), 'the dump sent before the link moved too');
  assert.equal((await getJ(srv, `/api/v1/snapshots/${dumpId}?limit=1`)).source_id, spanSource.id);
  const src = sources.find((s) => s.id === spanSource.id);
  assert.ok(big(src.first_ns) <= LAUNCH_NS + ALL.gc[0].offset, `the source's range covers gc 1: ${jstr(src)}`);
  assert.match(srv.log(20000), /msg="moved a sender's earlier runtime data to its linked source" service="checkout" instance="vm-4711" .* gc=21 sched=\d+ snapshots=1 from_removed=1/);
});

test('the timeline and the explanation of an early span see the early GC cycles', async () => {
  const tl = await getJ(srv, `/api/v1/traces/${EARLY_SPAN.traceId}/timeline?margin=500ms`);
  const lane = tl.sources.find((s) => s.id === spanSource.id);
  assert.ok(lane, `the timeline has the spans' source: ${jstr(tl.sources.map((s) => s.id))}`);
  const nums = lane.gc.map((c) => c.n);
  for (const n of EARLY_STW.cycles) assert.ok(nums.includes(n), `gc ${n} in the timeline (has ${nums})`);
  assert.ok(nums.every((n) => n <= SPLIT_AFTER_GC + 2), `only cycles near the span: ${nums}`);

  const ex = await getJ(srv, `/api/v1/traces/${EARLY_SPAN.traceId}/explain`);
  const sp = ex.spans.find((s) => s.span_id === EARLY_SPAN.spanId);
  assert.ok(sp, 'the span is explained');
  assert.equal(big(sp.breakdown.gc_stw_ns), EARLY_STW.total, 'its time in the early cycles\' pauses');
  const cause = sp.causes.find((c) => c.kind === 'gc_stw');
  assert.ok(cause, `a gc_stw cause: ${jstr(sp.causes.map((c) => c.kind))}`);
  const ev = cause.evidence.filter((e) => e.type === 'gc_cycle').map((e) => e.n);
  assert.deepEqual(ev.sort((a, b) => a - b), [...EARLY_STW.cycles].sort((a, b) => a - b), jstr(cause.evidence));
});

test('the server stops cleanly (exit 0)', async () => { await srv.stop(); });

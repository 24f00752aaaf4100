// GET /api/v1/wakers and `meanwhile wakers` on a real execution trace: the
// recorded spans fixture of tests/data/exectrace/go1.26 (read by the real
// reader, meanwhile-exectrace) and its spans, pushed as OTLP with the times
// the program recorded of itself (expected.json, written by the capture
// program, not by any reader or by this endpoint). The fixture's worker runs
// span outer (GET /outer): it waits on a channel in window outer_wait until
// sender, which runs no span, sends; then its child db.query sleeps in
// window inner_sleep (the child's wait, not outer's); then outer sleeps in
// window outer_after (woken by the timer: no goroutine). So outer's wakers
// are "a goroutine outside any span" (sender) for the channel and the
// runtime for the sleep, each about its window long. Compare of the same
// operation takes its breakdown and flame graph from the trace. Then bad parameters,
// each a 400 that names what was wrong, an unknown operation a 404, and the
// CLI's table and --json.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, request, postJsonOk } from './lib/server.mjs';
import { getJ, ingest, assertJsonError, jstr } from './lib/runtime.mjs';
import { realReader, traceFixture } from './lib/exectrace.mjs';

const READER = realReader();
const MS = 1000000n;
const BUILD_DIR = process.env.MW_BUILD_DIR;
const CLI = process.env.MEANWHILE_CLI || (BUILD_DIR && path.join(BUILD_DIR, 'client', 'cli', 'meanwhile'));
const E = JSON.parse(readFileSync(traceFixture('go1.26', 'expected.json'), 'utf8')).spans;
const win = (name) => E.windows[name].map(BigInt);
const [OUTER_TRACE, OUTER_SPAN] = E.spans.outer.split('/');
const [INNER_TRACE, INNER_SPAN] = E.spans.inner.split('/');

function cli(args, url) {
  return new Promise((resolve) => {
    execFile(CLI, [...args, '--url', url], { timeout: 60000 }, (err, stdout, stderr) => {
      resolve({ code: err ? err.code : 0, stdout, stderr });
    });
  });
}

/** Asserts ns within [lo, hi], with the values in the message. */
function within(ns, lo, hi, what) {
  const v = BigInt(ns);
  assert.ok(v >= lo && v <= hi, `${what}: ${v} not in [${lo}, ${hi}]`);
}

describe('wakers on the recorded spans trace', { skip: READER ? false : 'meanwhile-exectrace is not built (no Go found by CMake)' }, () => {
  let srv;
  const range = `start=${win('outer')[0] - 1000n * MS}&end=${win('outer')[1] + 1000n * MS}`;
  before(async () => {
    srv = await startServer({ args: ['--exectrace-reader', READER, '--max-query-range', '0'] });
    const r = await ingest(srv, 'exectrace', { service: 'shop', instance: 'spans' }, readFileSync(traceFixture('go1.26', 'spans.trace')));
    assert.equal(r.status, 200, r.body.toString());
    const [o0, o1] = win('outer'), [i0, i1] = win('inner');
    await postJsonOk(srv, { resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }] },
      scopeSpans: [{ scope: {}, spans: [
        { traceId: OUTER_TRACE, spanId: OUTER_SPAN, name: 'GET /outer', kind: 2, startTimeUnixNano: String(o0), endTimeUnixNano: String(o1) },
        // the capture program logs the inner span under a trace id of its own
        { traceId: INNER_TRACE, spanId: INNER_SPAN, name: 'db.query', kind: 3, startTimeUnixNano: String(i0), endTimeUnixNano: String(i1) },
      ] }],
    }] });
  });
  after(async () => { await srv.cleanup(); });

  test('outer: the channel wait ended by sender (no span), the sleep by the runtime; the child\'s sleep left out', async () => {
    const j = await getJ(srv, `/api/v1/wakers?service=shop&name=${encodeURIComponent('GET /outer')}&${range}`);
    assert.equal(j.count, 1);
    assert.equal(j.covered, 1, jstr(j));
    assert.equal(j.more, false);
    const [w0, w1] = win('outer_wait'), [a0, a1] = win('outer_after');
    const g = j.wakers.find((w) => w.kind === 'goroutine');
    assert.ok(g, jstr(j.wakers));
    assert.equal(g.label, 'a goroutine outside any span');
    assert.equal(g.slow_spans, 1);
    assert.equal(g.example.waker, E.goroutines.sender);
    assert.equal(g.example.goroutine, E.goroutines.worker);
    assert.equal(g.example.reason, 'chan');
    assert.equal(g.example.trace_id, OUTER_TRACE);
    assert.equal(g.example.span_id, OUTER_SPAN);
    within(g.example.start_ns, w0, w1, 'the wait starts inside outer_wait');
    within(g.by_reason.chan.wait_ns, w1 - w0 - 1n * MS, w1 - w0, 'the channel wait is outer_wait long');
    const rt = j.wakers.find((w) => w.kind === 'runtime');
    assert.ok(rt, jstr(j.wakers));
    assert.equal(rt.example.waker, 0);
    within(rt.by_reason.sleep.wait_ns, a1 - a0 - 1n * MS, a1 - a0, 'the sleep is outer_after long');
    // inner's 10 ms sleep carries inner's span: outer was blocked about outer_wait + outer_after
    within(j.blocked_ns, (w1 - w0) + (a1 - a0) - 2n * MS, (w1 - w0) + (a1 - a0) + 1n * MS, 'outer blocked');
    const share = Number(BigInt(g.wait_ns)) / Number(BigInt(j.blocked_ns));
    assert.ok(Math.abs(g.share - share) < 0.001, `share ${g.share} vs ${share}`);
    assert.equal(j.wakers[0].kind, 'goroutine', 'the most wait first: 15 ms of channel before 5 ms of sleep');
  });

  test('db.query: its own sleep, woken by the runtime', async () => {
    const j = await getJ(srv, `/api/v1/wakers?service=shop&name=db.query&${range}`);
    assert.equal(j.covered, 1);
    const [s0, s1] = win('inner_sleep');
    const rt = j.wakers.find((w) => w.kind === 'runtime');
    assert.ok(rt, jstr(j.wakers));
    within(rt.by_reason.sleep.wait_ns, s1 - s0 - 1n * MS, s1 - s0, 'the sleep is inner_sleep long');
    assert.equal(rt.example.goroutine, E.goroutines.worker);
  });

  test('compare on the same trace: the breakdown and the flame graph from the execution trace', async () => {
    const j = await getJ(srv, `/api/v1/compare?service=shop&name=${encodeURIComponent('GET /outer')}&${range}`);
    const [o0, o1] = win('outer'), [w0, w1] = win('outer_wait');
    const dur = Number(o1 - o0);
    // one span: at p90 and at p50, so in both groups, traced in both
    for (const g of [j.slow, j.fast]) {
      assert.equal(g.traced_spans, 1, jstr(g));
      assert.equal(g.flame_method, 'execution_trace');
      assert.equal(g.flame_spans, 1);
      // the channel wait is outer_wait long (within a ms): its share of the span, as the program timed it
      const want = Number(w1 - w0) / dur;
      assert.ok(Math.abs(g.breakdown_share.chan - want) < 1e6 / dur + 0.0001, `chan ${g.breakdown_share.chan} vs ${want}`);
    }
    // the flame graph holds the receive's stack at that share
    const find = (n, re) => (re.test(n.name) ? n : n.children.map((k) => find(k, re)).find(Boolean));
    const recv = find(j.flame, /^runtime\.chanrecv1? /);
    assert.ok(recv, jstr(j.flame));
    const want = Number(w1 - w0) / dur;
    assert.ok(Math.abs(recv.slow - want) < 1e6 / dur + 0.0001, `chanrecv ${recv.slow} vs ${want}`);
    assert.match(j.summary, /Slow GET \/outer spans of shop/);
  });

  test('bad parameters: 400 naming the parameter; an unknown operation: 404', async () => {
    const bad = [
      ['service=shop&name=x&operation=y', /unknown parameter "operation": this endpoint takes service, name, start, end, limit/],
      ['name=x', /the service parameter is required/],
      ['service=shop', /the name parameter is required/],
      ['service=shop&name=x&limit=0', /limit must be an integer from 1 to 200, got "0"/],
      ['service=shop&name=x&limit=201', /limit must be an integer from 1 to 200, got "201"/],
      ['service=shop&name=x&start=yesterday', /start must be unix seconds/],
    ];
    for (const [q, re] of bad) {
      const r = await request(srv, 'GET', `/api/v1/wakers?${q}`);
      assert.match(assertJsonError(r, 400, q), re);
    }
    const r = await request(srv, 'GET', `/api/v1/wakers?service=shop&name=nothing&${range}`);
    assert.match(assertJsonError(r, 404, 'unknown operation'), /no spans of shop nothing/);
  });

  test('meanwhile wakers: the table, and --json unchanged', { skip: CLI && existsSync(CLI) ? false : 'the CLI is not built' }, async () => {
    const url = srv.base;
    const t = await cli(['wakers', '--service', 'shop', '--operation', 'GET /outer', '--since', '40000d'], url);
    assert.equal(t.code, 0, t.stderr);
    const lines = t.stdout.split('\n');
    assert.match(lines[0], /^1 of the 1 slow GET \/outer spans of shop/);
    assert.match(t.stdout, /SHARE +SPANS +WAITS +WAIT +P50 +REASON +WOKEN BY/);
    assert.match(t.stdout, /\n +\d+% +1 +1 +\d+\.\d ms +\d+\.\d ms +chan +a goroutine outside any span\n/);
    assert.match(t.stdout, /sleep +the runtime \(timer, network, syscall\)/);
    assert.match(t.stdout, new RegExp(`\\nThe longest wait of the first: \\d+\\.\\d ms in span ${OUTER_SPAN}; see: meanwhile explain ${OUTER_TRACE}\\n`));
    const raw = await cli(['wakers', '--service', 'shop', '--operation', 'GET /outer', '--since', '40000d', '--json'], url);
    assert.equal(raw.code, 0, raw.stderr);
    assert.equal(JSON.parse(raw.stdout).covered, 1);
    const none = await cli(['wakers', '--service', 'shop'], url);
    assert.equal(none.code, 64);
    assert.match(none.stderr, /needs --operation/);
    const nf = await cli(['wakers', '--service', 'shop', '--operation', 'nothing', '--since', '40000d'], url);
    assert.equal(nf.code, 1);
    assert.match(nf.stderr, /no spans of shop nothing in that range \(HTTP 404\)/);
  });

  test('the server stops cleanly', async () => { await srv.stop(); });
});

// The accuracy judge of exact explanations (tests/exectrace/README.md, "Exact
// explanations"): for each slow request, what GET /api/v1/traces/{id}/explain says of
// its slow child span against what the service measured of that request — the cause it
// injected, and for a wait the goroutine and span that ended it. Nothing here is taken
// from meanwhiled: the expected cause and chain come from the service's answer alone.
// Pure functions, tested by judge.test.mjs on made-up answers.

// The bounds of issue 14: per kind, the top cause right in >= MIN_RIGHT of its slow
// requests; over all, the top cause in scope "trace" in >= MIN_TRACE_SCOPE; per kind
// with a chain, the chain right in >= MIN_CHAIN; no wrong top cause with confidence
// >= HIGH_CONFIDENCE.
export const MIN_RIGHT = 0.98;
export const MIN_TRACE_SCOPE = 0.95;
export const MIN_CHAIN = 0.98;
export const HIGH_CONFIDENCE = 0.7;
// cpu and runnable: the service measures, on the computing goroutine's locked thread
// (service/main.go, computeMeasured), over the work (measured_ns, nearly all the span),
// the time it waited for a P (go_runnable_ns: its thread slept) and the time its thread
// waited for a CPU (kernel_wait_ns). The trace calls the first runnable; the second
// running while the goroutine held its P, runnable while its thread, handed a P, was being
// woken; the span's time outside the work may be either. So the trace's runnable share
// lies between runnableShare(r).lo and .hi: above one half (by MARGIN) the expected top
// cause is `runnable`, below it `cpu`, and when the half lies between them either is right.
// (At load 5 a GC stopped price.compute 3.3 ms and scanned it 1.5 ms: its thread slept,
// counted as waiting for a P, which the trace calls stopped and blocked.)
export const MARGIN = 0.05;

/** The share of r's child span its goroutine was runnable, at least (lo) and at most (hi),
 * by the service's measure. */
export function runnableShare(r) {
  const span = r.end_ns - r.start_ns;
  const outside = Math.max(0, span - r.measured_ns);
  // the collector may have stopped or scanned the goroutine (gc_events): its thread slept,
  // the trace says stopped or blocked: nothing is sure to have been runnable
  const lo = r.gc_events > 0 ? 0 : r.go_runnable_ns / span;
  return { lo, hi: (r.go_runnable_ns + r.kernel_wait_ns + outside) / span };
}

// The waits: the service knows how long its goroutine was blocked at least (the waker
// acted no sooner: the producer's send, the holder's Unlock, the upstream's write, the
// sleep asked for). The rest of the span it may have been blocked still (a timer fires
// late, the network poller looks late), or, woken, waiting for a P (runnable) or running
// on a thread the kernel took the CPU from (cpu): at load 14, a waiter let in at the
// holder's Unlock 37 ms into its span was runnable 44 ms more. The wait is the expected
// top cause when its least exceeds the rest by MARGIN of the span; else any of the wait,
// runnable or cpu is right (the table counts those).
const WAIT = {
  chan: { kind: 'chan', least: (r) => r.sent_ns - r.block_ns },
  holder: { kind: 'sleep', least: (r) => r.hold_ms * 1e6 }, // it holds the lock sleeping
  mutex: { kind: 'mutex', least: (r) => r.holder_unlock_ns - r.call_ns },
  sleep: { kind: 'sleep', least: (r) => r.ms * 1e6 },
  io: { kind: 'io', least: (r) => r.upstream_sent_ns - r.read_start_ns },
};

/** The top cause the service's own account of request r makes right ("a|b": either). */
export function expectedCause(r) {
  const w = WAIT[r.kind];
  if (w) {
    const span = r.end_ns - r.start_ns, least = w.least(r);
    return least - (span - least) > MARGIN * span ? w.kind : `${w.kind}|runnable|cpu`;
  }
  switch (r.kind) {
    case 'cpu':
    case 'runnable': {
      const { lo, hi } = runnableShare(r);
      return lo > 0.5 + MARGIN ? 'runnable' : hi < 0.5 - MARGIN ? 'cpu' : 'cpu|runnable';
    }
    default: throw new Error(`no expected cause for kind ${r.kind}`);
  }
}

/** The first link the chain of r's wait must have (null: the kind has no chain): the
 * goroutine and span the service saw end the wait. */
export function expectedLink(r) {
  if (r.kind === 'chan')
    return { goroutine: r.producer_goroutine, trace_id: r.producer_trace_id, span_id: r.producer_span_id, relation: 'woke' };
  if (r.kind === 'mutex')
    return { goroutine: r.holder_goroutine, trace_id: r.holder_trace_id, span_id: r.holder_span_id, relation: 'released' };
  return null;
}

/** What is wrong with a chain evidence entry against the expected first link ('' when
 * nothing is). */
function chainFault(chain, want) {
  if (!chain) return 'no chain evidence';
  const l = chain.links?.[0];
  if (!l) return 'a chain without links';
  const bad = ['goroutine', 'trace_id', 'span_id', 'relation'].filter((k) => l[k] !== want[k]);
  return bad.length ? bad.map((k) => `${k} ${JSON.stringify(l[k])}, not ${JSON.stringify(want[k])}`).join('; ') : '';
}

/** The verdict on request r given the explain answer e of its trace. */
export function verdict(r, e) {
  const child = e.spans?.find((s) => s.span_id === r.child_span_id);
  if (!child) throw new Error(`trace ${r.trace_id}: no span ${r.child_span_id} in the explanation`);
  const top = child.causes?.[0] || null;
  const expected = expectedCause(r);
  const right = Boolean(top) && expected.split('|').includes(top.kind);
  const evidence = Boolean(top && top.kind !== 'unknown');
  const v = {
    kind: r.kind, trace_id: r.trace_id, child_span_id: r.child_span_id, child: child.name, expected,
    top: top?.kind ?? 'none', scope: top?.scope ?? null, confidence: top?.confidence ?? 0, share: top?.share ?? 0,
    summary: top?.summary ?? '', right, trace_scope: top?.scope === 'trace',
    wrong_high: evidence && !right && top.confidence >= HIGH_CONFIDENCE,
    runnable_share: r.go_runnable_ns !== undefined ? runnableShare(r) : null,
    causes: (child.causes || []).map((k) => ({ kind: k.kind, share: k.share, confidence: k.confidence, scope: k.scope })),
  };
  const want = expectedLink(r);
  if (want) {
    // the chain of the expected cause, wherever it ranks: a wrong top cause is counted
    // above, and a right chain under it is still a right chain
    const wait = WAIT[r.kind].kind; // the chain is the wait's, whether it comes first or not
    const cause = (child.causes || []).find((k) => k.kind === wait);
    const chain = cause?.evidence?.find((x) => x.type === 'chain');
    v.chain_fault = cause ? chainFault(chain, want) : `no ${wait} cause`;
    v.chain_right = v.chain_fault === '';
    v.chain = chain?.links?.map((l) => ({ goroutine: l.goroutine, trace_id: l.trace_id, span_id: l.span_id,
      span_name: l.span_name, relation: l.relation })) ?? null;
  }
  return v;
}

/** Per kind (in the order of kinds): slow requests, top cause right, trace scope, chain
 * right (null for kinds without one), wrong with confidence >= HIGH_CONFIDENCE, and the
 * top causes seen. */
export function tabulate(verdicts, kinds) {
  return kinds.map((kind) => {
    const v = verdicts.filter((x) => x.kind === kind);
    const tops = {};
    for (const x of v) { const k = `${x.top}/${x.scope}`; tops[k] = (tops[k] || 0) + 1; }
    const chained = v.filter((x) => x.chain_right !== undefined);
    const either = v.filter((x) => x.expected.includes('|')).length; // (by the service's measure)
    const sure = [...new Set(v.filter((x) => !x.expected.includes('|')).map((x) => x.expected))].sort();
    return { kind, expected: sure.join(', ') || '-', either, n: v.length,
      right: v.filter((x) => x.right).length, trace_scope: v.filter((x) => x.trace_scope).length,
      chain: chained.length ? chained.filter((x) => x.chain_right).length : null,
      wrong_high: v.filter((x) => x.wrong_high).length, tops };
  });
}

/** The bounds a table misses, one line each ([] when it holds them all). */
export function misses(table) {
  const out = [];
  for (const t of table) {
    if (t.n === 0) { out.push(`${t.kind}: no slow request judged`); continue; }
    if (t.right < MIN_RIGHT * t.n) out.push(`${t.kind}: top cause right in ${t.right} of ${t.n} (< ${MIN_RIGHT * 100}%): ${JSON.stringify(t.tops)}`);
    if (t.chain !== null && t.chain < MIN_CHAIN * t.n) out.push(`${t.kind}: chain right in ${t.chain} of ${t.n} (< ${MIN_CHAIN * 100}%)`);
    if (t.wrong_high > 0) out.push(`${t.kind}: ${t.wrong_high} wrong top causes with confidence >= ${HIGH_CONFIDENCE}`);
  }
  const n = table.reduce((a, t) => a + t.n, 0), scoped = table.reduce((a, t) => a + t.trace_scope, 0);
  if (scoped < MIN_TRACE_SCOPE * n) out.push(`top cause in scope trace in ${scoped} of ${n} slow requests (< ${MIN_TRACE_SCOPE * 100}%)`);
  return out;
}

/** The table as markdown rows (docs/CORRELATION.md, "Exact explanations: accuracy"). */
export function markdown(table) {
  const pct = (a, b) => (b ? `${a} (${Math.round((100 * a) / b)}%)` : '-');
  const rows = ['| kind (expected top cause) | slow requests | top cause right | scope trace | chain right | wrong ≥ 0.7 |',
    '| --- | --- | --- | --- | --- | --- |'];
  for (const t of table)
    rows.push(`| ${t.kind} (${t.expected}${t.either ? `; either for ${t.either}` : ''}) | ${t.n} | ${pct(t.right, t.n)} | ${pct(t.trace_scope, t.n)} | ` +
      `${t.chain === null ? '-' : pct(t.chain, t.n)} | ${t.wrong_high} |`);
  const n = table.reduce((a, t) => a + t.n, 0);
  const sum = (k) => table.reduce((a, t) => a + (t[k] ?? 0), 0);
  rows.push(`| all | ${n} | ${pct(sum('right'), n)} | ${pct(sum('trace_scope'), n)} | ` +
    `${pct(sum('chain'), table.filter((t) => t.chain !== null).reduce((a, t) => a + t.n, 0))} | ${sum('wrong_high')} |`);
  return rows.join('\n');
}

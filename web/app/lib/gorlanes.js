// The goroutine lanes under a span, from GET /api/v1/exectrace/spans/{trace}/{span}
// (docs/EXECTRACE.md "Reads"): one lane per goroutine (the span's own first, then the
// goroutines that woke them), its intervals coloured by state (blocked ones by reason),
// the wake edges between lanes, the number of goroutines running at each moment (the
// P lane) and the GC / stop-the-world windows, all with times relative to the trace's
// start. Built for a span with hundreds of goroutines and tens of thousands of
// intervals: each lane's intervals sit in typed arrays sorted by time (a goroutine's
// intervals do not overlap, so starts and ends are both sorted), a binary search finds
// the visible ones and intervals narrower than a pixel are merged per pixel column.
// Pure, no DOM: tested in web/test/gorlanes.test.mjs.

/** The colour classes: [key, label, colour]; a class index is an interval's colour. */
export const CLASSES = [
  ['running', 'running', '#2f9363'],
  ['runnable', 'runnable (waiting for a P)', '#e6b440'],
  ['syscall', 'in a syscall', '#8a63c9'],
  ['gc_assist', 'GC assist', '#e07b39'],
  ['stopped', 'stopped (stop-the-world)', '#a61b29'],
  ['blocked:chan', 'blocked: channel', '#3d6fd1'],
  ['blocked:select', 'blocked: select', '#6f95e0'],
  ['blocked:mutex', 'blocked: mutex', '#c2417a'],
  ['blocked:sync', 'blocked: sync', '#d77aa4'],
  ['blocked:cond', 'blocked: cond', '#b45fa0'],
  ['blocked:io', 'blocked: I/O', '#2a9bb0'],
  ['blocked:syscall', 'blocked: syscall', '#7c8fb8'],
  ['blocked:sleep', 'blocked: sleep', '#b9c3d0'],
  ['blocked:gc', 'blocked: GC', '#d9a27a'],
  ['blocked:preempted', 'blocked: preempted', '#a3b56a'],
  ['blocked:other', 'blocked: other', '#8d96a3'],
];
const CLASS_INDEX = new Map(CLASSES.map((c, i) => [c[0], i]));
const OTHER = CLASS_INDEX.get('blocked:other');

/** The class index of an interval {state, reason}. */
export function classOf(iv) {
  if (iv.state === 'blocked') return CLASS_INDEX.get(`blocked:${iv.reason || 'other'}`) ?? OTHER;
  return CLASS_INDEX.get(iv.state) ?? OTHER;
}

const num = (v) => (v == null ? NaN : Number(v));

/**
 * The lanes' model of a span answer with times relative to `base` (unix ns).
 * {lanes: [{goroutine, exectrace_id, role, key, s, e (Float64Array), cls (Uint8Array), iv (the answer's intervals)}],
 *  wakes: [{t, to, from (a lane index or -1), waker, stack, span_id, trace_id}] sorted by t (each lane's
 *  `woke` lists the goroutines it woke), span: the span's {s, e}, covered: the part a trace covers {s, e} | null, gc: [{s, e}], stw: [{s, e, reason}], procs: {t: Float64Array, n: Int32Array, max},
 *  stacks: the answer's stacks, intervals: the count}.
 */
export function gorModel(j, base) {
  const rel = (t) => num(t) - base;
  const lanes = [];
  const src = [...(j.goroutines || [])];
  // the span's goroutines first, then their wakers; by goroutine id within each
  src.sort((a, b) => (a.role === 'waker') - (b.role === 'waker') || a.goroutine - b.goroutine || a.exectrace_id - b.exectrace_id);
  const laneOf = new Map();
  let count = 0;
  for (const g of src) {
    let iv = g.intervals || [];
    let sorted = true;
    for (let i = 1; i < iv.length && sorted; i++) sorted = num(iv[i - 1].start_ns) <= num(iv[i].start_ns);
    if (!sorted) iv = [...iv].sort((a, b) => num(a.start_ns) - num(b.start_ns)); // the server sends them sorted
    const n = iv.length;
    const s = new Float64Array(n), e = new Float64Array(n), cls = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = rel(iv[i].start_ns);
      e[i] = Math.max(s[i], rel(iv[i].end_ns));
      cls[i] = classOf(iv[i]);
    }
    count += n;
    const key = `${g.exectrace_id}:${g.goroutine}`;
    laneOf.set(key, lanes.length);
    lanes.push({ goroutine: g.goroutine, exectrace_id: g.exectrace_id, role: g.role || 'span', key, s, e, cls, iv, src: g, woke: [] });
  }
  const wakes = [];
  lanes.forEach((lane, to) => {
    for (const w of lane.src.wakes || []) {
      if (!w.waker) continue; // the timer, the network poller, a syscall's return: no goroutine to point at
      const from = laneOf.get(`${lane.exectrace_id}:${w.waker}`);
      wakes.push({
        t: rel(w.time_ns), to, from: from ?? -1, waker: w.waker, exectrace_id: lane.exectrace_id,
        stack_id: w.waker_stack_id, span_id: w.waker_span_id || null, trace_id: w.waker_trace_id || null,
      });
    }
  });
  wakes.sort((a, b) => a.t - b.t);
  for (const w of wakes) if (w.from >= 0 && !lanes[w.from].woke.includes(lanes[w.to].goroutine)) lanes[w.from].woke.push(lanes[w.to].goroutine);
  const span = { s: rel(j.start_ns), e: rel(j.end_ns) };
  const covered = j.covered ? { s: rel(j.covered.start_ns), e: rel(j.covered.end_ns) } : null;
  const gc = [], stw = [];
  for (const w of j.windows || []) {
    const x = { s: rel(w.start_ns), e: rel(w.end_ns), reason: w.reason || '' };
    (w.kind === 'stw' ? stw : gc).push(x);
  }
  gc.sort((a, b) => a.s - b.s);
  stw.sort((a, b) => a.s - b.s);
  return { lanes, wakes, span, covered, gc, stw, procs: procSteps(lanes), stacks: j.stacks || {}, intervals: count, truncated: !!j.truncated };
}

/**
 * How many of the lanes' goroutines were running at each moment, as steps: n[k] from
 * t[k] until t[k+1]. Each running goroutine holds a P, so this is the number of Ps
 * running the goroutines shown (not the process's other goroutines).
 */
export function procSteps(lanes) {
  const RUN = CLASS_INDEX.get('running');
  let m = 0;
  for (const l of lanes) for (let i = 0; i < l.cls.length; i++) if (l.cls[i] === RUN && l.e[i] > l.s[i]) m++;
  const starts = new Float64Array(m), ends = new Float64Array(m);
  m = 0;
  for (const l of lanes) {
    for (let i = 0; i < l.cls.length; i++) if (l.cls[i] === RUN && l.e[i] > l.s[i]) { starts[m] = l.s[i]; ends[m] = l.e[i]; m++; }
  }
  starts.sort(); // typed arrays sort numerically, without a comparator: fast
  ends.sort();
  const t = [], n = [];
  let cur = 0, max = 0, a = 0, b = 0;
  while (a < m || b < m) {
    // ends before starts at the same time: a hand-over is not two running at once
    let tt;
    if (b < m && (a >= m || ends[b] <= starts[a])) { tt = ends[b++]; cur--; } else { tt = starts[a++]; cur++; }
    if (t.length && t[t.length - 1] === tt) n[n.length - 1] = cur;
    else { t.push(tt); n.push(cur); }
    if (cur > max) max = cur;
  }
  return { t: Float64Array.from(t), n: Int32Array.from(n), max };
}

/** The number of the lanes' goroutines running at time t. */
export function procsAt(procs, t) {
  const k = upperBound(procs.t, t) - 1;
  return k >= 0 ? procs.n[k] : 0;
}

/** First index i in sorted `a` with a[i] > x. */
export function upperBound(a, x) {
  let lo = 0, hi = a.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (a[mid] <= x) lo = mid + 1; else hi = mid; }
  return lo;
}
/** First index i in sorted `a` with a[i] >= x. */
export function lowerBound(a, x) {
  let lo = 0, hi = a.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (a[mid] < x) lo = mid + 1; else hi = mid; }
  return lo;
}

/** The lane's intervals that overlap [t0, t1): [i0, i1). */
export function visibleRange(lane, t0, t1) {
  return [upperBound(lane.e, t0), lowerBound(lane.s, t1)];
}

/** Runs to draw, in typed arrays that one frame after another reuse: n runs of x, w (pixels) and class c. */
export function runBuffer(cap = 1024) {
  return { n: 0, x: new Float64Array(cap), w: new Float64Array(cap), c: new Uint8Array(cap) };
}
function pushRun(b, x, w, c) {
  if (b.n === b.x.length) {
    const g = runBuffer(b.x.length * 2);
    g.x.set(b.x); g.w.set(b.w); g.c.set(b.c);
    b.x = g.x; b.w = g.w; b.c = g.c;
  }
  b.x[b.n] = x; b.w[b.n] = w; b.c[b.n] = c;
  b.n++;
}
/** A buffer's runs as objects {x, w, cls} (tests, tools). */
export const runsOf = (b) => Array.from({ length: b.n }, (_, i) => ({ x: b.x[i], w: b.w[i], cls: b.c[i] }));

const acc = new Float64Array(CLASSES.length); // pixelRuns' time per class in the current column

/**
 * What to draw of a lane's intervals [i0, i1) between pixels x0 and x1 (sc: the
 * trace page's scale), clipped to [c0, c1] (the covered time): runs in order, into
 * `out` (a runBuffer, emptied first). An interval at least a pixel wide is its own run
 * (joined to the previous one when of the same class and touching); narrower ones are
 * gathered per pixel column, which takes the class that holds most of the column's
 * time, so a lane costs at most a few runs per pixel however many intervals it has.
 */
export function pixelRuns(lane, i0, i1, sc, c0, c1, out = runBuffer()) {
  out.n = 0;
  const lo = Math.max(sc.x0, sc.x(c0)), hi = Math.min(sc.x1, sc.x(c1));
  if (!(hi > lo)) return out;
  acc.fill(0);
  let col = -1, any = false;
  const add = (x, w, c) => {
    const p = out.n - 1;
    if (p >= 0 && out.c[p] === c && out.x[p] + out.w[p] >= x - 0.5) out.w[p] = Math.max(out.w[p], x + w - out.x[p]);
    else pushRun(out, x, w, c);
  };
  const flush = () => {
    if (!any) return;
    let best = 0;
    for (let c = 1; c < acc.length; c++) if (acc[c] > acc[best]) best = c;
    add(col, 1, best);
    acc.fill(0);
    any = false;
  };
  for (let i = i0; i < i1; i++) {
    let xa = sc.x(lane.s[i]), xb = sc.x(lane.e[i]);
    if (xb <= lo || xa >= hi) continue;
    if (xa < lo) xa = lo;
    if (xb > hi) xb = hi;
    const k = lane.cls[i];
    if (xb - xa >= 1) {
      flush();
      col = -1;
      add(xa, xb - xa, k);
      continue;
    }
    const c = Math.floor(xa);
    if (c !== col) { flush(); col = c; }
    acc[k] += Math.max(xb - xa, 1e-9);
    any = true;
  }
  flush();
  return out;
}

/** The index of the lane's interval under time t (with tol ns either side), or -1. */
export function intervalAt(lane, t, tol = 0) {
  const [i0, i1] = visibleRange(lane, t - tol, t + tol);
  let best = -1, bd = Infinity;
  for (let i = i0; i < i1; i++) {
    const d = t < lane.s[i] ? lane.s[i] - t : t > lane.e[i] ? t - lane.e[i] : 0;
    if (d < bd) { bd = d; best = i; }
  }
  return best;
}

/** The wakes with t in [t0, t1): [k0, k1) of model.wakes (sorted by t). */
export function wakesInRange(model, t0, t1) {
  let lo = 0, hi = model.wakes.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (model.wakes[mid].t < t0) lo = mid + 1; else hi = mid; }
  const k0 = lo;
  hi = model.wakes.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (model.wakes[mid].t < t1) lo = mid + 1; else hi = mid; }
  return [k0, lo];
}

/**
 * The wake arrow under the pointer: at time t (± tol ns), at lane position `lanePos`
 * (a fractional lane index: 2.5 is the middle of lane 2) between the waker's lane and
 * the woken one (an arrow from outside the lanes starts one lane above the woken).
 * The nearest in time, or null.
 */
export function wakeAt(model, t, tol, lanePos) {
  const [k0, k1] = wakesInRange(model, t - tol, t + tol);
  let best = null, bd = Infinity;
  for (let k = k0; k < k1; k++) {
    const w = model.wakes[k];
    const a = (w.from >= 0 ? w.from : w.to - 1) + 0.5, b = w.to + 0.5;
    if (lanePos < Math.min(a, b) - 0.5 || lanePos > Math.max(a, b) + 0.5) continue;
    const d = Math.abs(w.t - t);
    if (d < bd) { bd = d; best = w; }
  }
  return best;
}

/** The span a goroutine was running at time t, from its intervals' span ids: {span_id, trace_id} or null. */
export function spanAt(lane, t) {
  const i = intervalAt(lane, t, 0);
  if (i < 0) return null;
  const iv = lane.iv[i];
  return iv.span_id ? { span_id: iv.span_id, trace_id: iv.trace_id || null } : null;
}

/**
 * Where a waker goroutine leads: the span the wake carries or, failing that, the span
 * the waker's lane shows at the wake time ({span_id, trace_id} or null).
 */
export function wakeSpan(model, w) {
  if (w.span_id) return { span_id: w.span_id, trace_id: w.trace_id };
  return w.from >= 0 ? spanAt(model.lanes[w.from], w.t) : null;
}

/** Per class, the time the lanes of `role` (all when null) spend in it inside [t0, t1) (the legend's figures). */
export function classTotals(model, t0, t1, role = null) {
  const out = new Float64Array(CLASSES.length);
  for (const l of model.lanes) {
    if (role && l.role !== role) continue;
    const [i0, i1] = visibleRange(l, t0, t1);
    for (let i = i0; i < i1; i++) out[l.cls[i]] += Math.min(l.e[i], t1) - Math.max(l.s[i], t0);
  }
  return out;
}

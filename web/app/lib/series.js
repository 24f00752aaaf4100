// The source page's lanes from GET /api/v1/sources/{id}/series (docs/API.md): a source's
// runtime summed up per step, from per-minute rollups or, for short windows, from the raw
// rows. The page asks for its whole time once, then for the window in view at the
// canvas's width; the lanes draw the detailed answer where it reaches and the whole one
// elsewhere. GC cycles become bars (from /gc) only when the view holds few enough of them.
// Pure functions, no DOM: tested in web/test/series.test.mjs.

/** The most points /series gives (docs/API.md). */
export const MAX_POINTS = 5000;
/** GC cycles are drawn one by one (from /gc) only up to this many in view, else as a density. */
export const BARS_MAX_CYCLES = 2000;

/** A time of the API (number or digit string, unix ns) as a BigInt. */
export const bigNs = (t) => BigInt(typeof t === 'number' ? Math.round(t) : String(t));
/** A number of the answer, or null when it is absent, null or negative where that means unknown. */
const num = (v) => (v == null || v === '' ? null : Number(v));
const unknownNeg = (v) => { const x = num(v); return x == null || x < 0 ? null : x; };

/**
 * The series answer with times in ns from `base` (a BigInt, unix ns): Numbers, exact
 * enough for pixels; `asked` ({start, end}, unix ns) the window asked for. Returns {s, e
 * (that window, else the answer's), step, resolution, points, totals};
 * each point {s, e (its step, cut at the window's end), cycles, cpu, p50, p99, pmax, live,
 * liveMax, goal, alloc, assist, gor, gorMax, snaps, captures {kind: n}, capN, triggered},
 * sorted by time; values the answer lacks are null.
 */
export function seriesModel(ans, base, asked = null) {
  const rel = (t) => Number(bigNs(t) - base);
  // the window asked for when given: the answer's is cut to the source's data (and its
  // ends may come as JSON numbers, exact to 256 ns only), but it holds all of the asked one
  const s = rel(asked ? asked.start : ans.start_ns), e = rel(asked ? asked.end : ans.end_ns);
  const step = Math.max(1, Number(ans.step_ns) || 1);
  const totals = { cycles: 0, snaps: 0, captures: 0, triggered: 0, byKind: {} };
  const points = (ans.points || []).map((p) => {
    const t = rel(p.time_ns);
    const captures = p.captures && typeof p.captures === 'object' ? p.captures : {};
    let capN = 0;
    for (const [k, v] of Object.entries(captures)) {
      const n = Number(v) || 0;
      capN += n;
      totals.byKind[k] = (totals.byKind[k] || 0) + n;
    }
    const q = {
      s: t, e: Math.min(t + step, Math.max(e, t + 1)),
      cycles: Number(p.gc_cycles) || 0, cpu: num(p.gc_cpu),
      p50: num(p.pause_p50_ns), p99: num(p.pause_p99_ns), pmax: num(p.pause_max_ns),
      live: num(p.heap_live), liveMax: num(p.heap_live_max), goal: num(p.heap_goal),
      alloc: unknownNeg(p.alloc_bytes_per_s), assist: num(p.assist_share),
      gor: num(p.goroutines), gorMax: num(p.goroutines_max),
      snaps: Number(p.snapshots) || 0, captures, capN, triggered: Number(p.triggered) || 0,
    };
    totals.cycles += q.cycles;
    totals.snaps += q.snaps;
    totals.captures += capN;
    totals.triggered += q.triggered;
    return q;
  }).sort((a, b) => a.s - b.s);
  return { s, e, step, resolution: ans.resolution || 'minute', points, totals };
}

/**
 * The points to draw: the detailed answer's inside its window, the whole one's outside it
 * (steps of the whole one that reach into the detail's window are left out).
 */
export function mergeSeries(whole, detail) {
  if (!detail) return whole ? whole.points : [];
  if (!whole) return detail.points;
  const before = whole.points.filter((p) => p.e <= detail.s);
  const after = whole.points.filter((p) => p.s >= detail.e);
  return before.concat(detail.points, after);
}

/** Index of the first point whose step ends after t (points sorted, steps disjoint). */
function firstEndingAfter(points, t) {
  let lo = 0, hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (points[mid].e <= t) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/** The point whose step holds t, or null. */
export function pointAt(points, t) {
  const i = firstEndingAfter(points, t);
  return i < points.length && points[i].s <= t ? points[i] : null;
}

/** The points whose steps overlap [t0, t1], as [from, to) indexes. */
export function pointsIn(points, t0, t1) {
  const from = firstEndingAfter(points, t0);
  let to = from;
  while (to < points.length && points[to].s <= t1) to++;
  return [from, to];
}

/**
 * About how many GC cycles [t0, t1] holds: each overlapping step's cycles in proportion
 * to the part of it in view, rounded up (exact at raw resolution, where cycles are few).
 */
export function cyclesIn(points, t0, t1) {
  const [from, to] = pointsIn(points, t0, t1);
  let n = 0;
  for (let i = from; i < to; i++) {
    const p = points[i];
    const w = p.e - p.s;
    const part = w > 0 ? (Math.min(p.e, t1) - Math.max(p.s, t0)) / w : 1;
    n += p.cycles * Math.max(0, Math.min(1, part));
  }
  return Math.max(0, Math.ceil(n - 1e-9));
}

/** The largest value of `key` over the points in [from, to) (null values skipped), or 0. */
export function maxIn(points, from, to, key) {
  let m = 0;
  for (let i = from; i < to; i++) { const v = key(points[i]); if (v != null && v > m) m = v; }
  return m;
}

/**
 * The /series parameters for a view ({t0, t1}, ns from `base`) drawn over `width` pixels:
 * the window as unix ns strings (whole ns, widened outwards) and one point per pixel.
 */
export function seriesParams(view, base, width) {
  const start = base + BigInt(Math.floor(view.t0));
  const end = base + BigInt(Math.ceil(view.t1));
  const points = Math.max(1, Math.min(MAX_POINTS, Math.round(width)));
  return { start: String(start < 0n ? 0n : start), end: String(end), points };
}

/** Whether an answer's window (ns from the base) covers the view. */
export const covers = (m, view) => !!m && m.s <= view.t0 && m.e >= view.t1;

/** Whether an answer's steps are fine enough for a view over `width` pixels: about a pixel each (half again), or raw rows' finest, 1 s. */
export const fits = (m, view, width) => !!m && m.step <= Math.max(1e9, (1.5 * (view.t1 - view.t0)) / Math.max(1, width));

/**
 * What a view needs: 'whole' when it shows the whole time (`limits`) or the whole answer
 * covers and resolves it, 'keep' when the detailed answer does, else 'fetch' (/series of
 * the view).
 */
export function planView(view, limits, whole, detail, width) {
  if ((view.t0 <= limits.t0 && view.t1 >= limits.t1) || (covers(whole, view) && fits(whole, view, width))) return 'whole';
  if (covers(detail, view) && fits(detail, view, width)) return 'keep';
  return 'fetch';
}

/**
 * GC cycles of /gc as bars, times in ns from `base`: {s, e, n, stw: [[s, e]...], live, goal},
 * sorted by start.
 */
export function gcBars(ans, base) {
  const rel = (t) => Number(bigNs(t) - base);
  return (ans.cycles || []).map((c) => {
    const ph = c.phases || {};
    const stw = ['stw_sweep_termination', 'stw_mark_termination'].filter((k) => Array.isArray(ph[k])).map((k) => [rel(ph[k][0]), rel(ph[k][1])]);
    return { s: rel(c.start_ns), e: rel(c.end_ns), n: c.n, stw, stwNs: num(c.stw_ns), live: num(c.heap_live_bytes ?? c.heap_after_bytes), goal: num(c.goal_bytes) };
  }).sort((a, b) => a.s - b.s);
}

/** The capture kinds of a point as "6 cpu, 1 heap" (most first), or ''. */
export function capturesText(captures) {
  return Object.entries(captures || {}).filter(([, n]) => Number(n) > 0)
    .sort((a, b) => Number(b[1]) - Number(a[1]) || (a[0] < b[0] ? -1 : 1))
    .map(([k, n]) => `${n} ${k}`).join(', ');
}

// The runtime lanes under the waterfall, from /api/v1/traces/{id}/timeline: per source
// (a service instance) GC cycles with their phases, heap and goal, goroutine count, run
// queue, snapshot markers and CPU profile windows, all with times relative to the
// trace's start. Also the lanes' vertical layout, what lies in a time range, and the
// values under the cursor. Pure, no DOM: tested in web/test/lanes.test.mjs.

import { lastAtOrBefore, firstAtOrAfter } from './scale.js';

const num = (v) => (v == null ? 0 : Number(v));

/** One source's lanes with times relative to `base` (unix ns), each sorted by time. */
export function sourceModel(src, base) {
  const rel = (t) => num(t) - base;
  const gc = (src.gc || []).map((c) => {
    const p = c.phases || {};
    const sweep = p.stw_sweep_termination || [c.start_ns, c.start_ns];
    const mark = p.concurrent_mark || [sweep[1], sweep[1]];
    const term = p.stw_mark_termination || [mark[1], c.end_ns];
    return {
      n: c.n, s: rel(c.start_ns), e: rel(c.end_ns),
      stw1: [rel(sweep[0]), rel(sweep[1])], mark: [rel(mark[0]), rel(mark[1])], stw2: [rel(term[0]), rel(term[1])],
      stw_ns: c.stw_ns, heap_before: c.heap_before_bytes, heap_after: c.heap_after_bytes, goal: c.goal_bytes,
      forced: !!c.forced, cpu_pct: c.gc_cpu_percent, raw: c,
    };
  }).sort((a, b) => a.s - b.s);
  const heap = (src.heap || []).map((h) => ({ t: rel(h.time_ns), heap: num(h.heap_bytes), goal: num(h.goal_bytes) })).sort((a, b) => a.t - b.t);
  const goroutines = (src.goroutines || []).map((g) => ({ t: rel(g.time_ns), count: num(g.count), snapshot_id: g.snapshot_id })).sort((a, b) => a.t - b.t);
  const runq = (src.runqueue || []).map((r) => ({
    t: rel(r.time_ns), global: num(r.global), local: num(r.local), threads: r.threads, idleprocs: r.idleprocs, gomaxprocs: r.gomaxprocs,
  })).sort((a, b) => a.t - b.t);
  const snapshots = (src.snapshots || []).map((s) => ({
    id: s.id, kind: s.kind, format: s.format, t: rel(s.time_ns), dur: num(s.duration_ns), total: s.total, by_state: s.by_state || null,
  })).sort((a, b) => a.t - b.t);
  const cpu = (src.cpu_profiles || []).map((p) => ({ snapshot_id: p.snapshot_id, s: rel(p.start_ns), e: rel(p.end_ns), samples: p.samples }))
    .sort((a, b) => a.s - b.s);
  let maxHeap = 0, maxG = 0, maxQ = 0, maxGcEnd = -Infinity;
  for (const h of heap) maxHeap = Math.max(maxHeap, h.heap, h.goal);
  for (const g of goroutines) maxG = Math.max(maxG, g.count);
  for (const r of runq) maxQ = Math.max(maxQ, r.global + r.local);
  // running maximum of GC end times, so a binary search on start finds overlaps
  const gcEndMax = new Float64Array(gc.length);
  for (let i = 0; i < gc.length; i++) { maxGcEnd = Math.max(maxGcEnd, gc[i].e); gcEndMax[i] = maxGcEnd; }
  const label = [src.service, src.instance].filter(Boolean).join(' · ') + (src.host ? ` @ ${src.host}` : '');
  return {
    id: src.id, ...(src.shard ? { shard: src.shard } : {}), service: src.service, instance: src.instance || '', host: src.host || '', label,
    gc, gcMore: !!src.gc_more, heap, goroutines, runq, snapshots, cpu, maxHeap, maxG, maxQ, gcEndMax,
  };
}

/** Every source of a timeline answer. */
export function timelineModel(tl, base) {
  return (tl.sources || []).map((s) => sourceModel(s, base));
}

/** What a source's lanes hold: the counts the page exposes for tests and readers. */
export function laneCounts(m) {
  return {
    gc: m.gc.length,
    stw: m.gc.length * 2,
    heap: m.heap.length,
    goroutines: m.goroutines.length,
    runqueue: m.runq.length,
    snapshots: m.snapshots.length,
    cpuProfiles: m.cpu.length,
  };
}

/** Lane kinds, top to bottom, with their heights in CSS pixels. */
export const LANE_KINDS = [
  { kind: 'header', h: 22 },
  { kind: 'gc', h: 24, label: 'GC' },
  { kind: 'heap', h: 46, label: 'heap / goal' },
  { kind: 'goroutines', h: 32, label: 'goroutines' },
  { kind: 'runqueue', h: 32, label: 'run queue' },
  { kind: 'snapshots', h: 22, label: 'snapshots' },
  { kind: 'cpu', h: 20, label: 'CPU profiles' },
];

/** Whether a source has any runtime data in the window. */
export const hasData = (m) => !!(m.gc.length || m.heap.length || m.goroutines.length || m.runq.length || m.snapshots.length || m.cpu.length);

/**
 * Vertical layout: {lanes: [{source (index), kind, label, y, h}], height}. A source with
 * no runtime data at all gets its header and one 'none' line instead of empty lanes.
 */
export function layoutLanes(models, gap = 8) {
  const lanes = [];
  let y = 0;
  models.forEach((m, si) => {
    if (si) y += gap;
    if (!hasData(m)) {
      lanes.push({ source: si, kind: 'header', label: m.label, y, h: LANE_KINDS[0].h });
      y += LANE_KINDS[0].h;
      lanes.push({ source: si, kind: 'none', label: '', y, h: 22 });
      y += 22;
      return;
    }
    for (const k of LANE_KINDS) {
      lanes.push({ source: si, kind: k.kind, label: k.kind === 'header' ? m.label : k.label, y, h: k.h });
      y += k.h;
    }
  });
  return { lanes, height: y };
}

/** The lane at y, or null. */
export function laneAt(layout, y) {
  for (const l of layout.lanes) if (y >= l.y && y < l.y + l.h) return l;
  return null;
}

/**
 * Index range [i0, i1) holding every GC cycle that overlaps [t0, t1]. Cycles follow one
 * another, so in practice all of them overlap; after an unusually long cycle a few in
 * the range may have ended before t0 (callers test each; gcCount counts exactly).
 */
export function gcInRange(m, t0, t1) {
  // first cycle whose running max end ≥ t0, up to the first starting after t1
  const i0 = firstAtOrAfter(m.gcEndMax, t0);
  const i1 = firstAtOrAfter(m.gc, t1 + 1e-9, (c) => c.s);
  return [Math.min(i0, i1), i1];
}

/** The number of GC cycles overlapping [t0, t1]. */
export function gcCount(m, t0, t1) {
  const [i0, i1] = gcInRange(m, t0, t1);
  let n = 0;
  for (let i = i0; i < i1; i++) if (m.gc[i].e >= t0) n++;
  return n;
}

/** Index range [i0, i1) of time-sorted points (key t) within [t0, t1], widened by one each side for lines. */
export function pointsInRange(arr, t0, t1, widen = true) {
  let i0 = firstAtOrAfter(arr, t0, (d) => d.t);
  let i1 = firstAtOrAfter(arr, t1 + 1e-9, (d) => d.t);
  if (widen) { i0 = Math.max(0, i0 - 1); i1 = Math.min(arr.length, i1 + 1); }
  return [i0, i1];
}

/** GC phase at time t: {cycle, phase: 'stw_sweep_termination'|'concurrent_mark'|'stw_mark_termination'} or null. */
export function gcAt(m, t) {
  const [i0, i1] = gcInRange(m, t, t);
  for (let i = i0; i < i1; i++) {
    const c = m.gc[i];
    if (t < c.s || t > c.e) continue;
    const phase = t <= c.stw1[1] ? 'stw_sweep_termination' : t < c.stw2[0] ? 'concurrent_mark' : 'stw_mark_termination';
    return { cycle: c, phase };
  }
  return null;
}

/** The values of a source's lanes at time t (last sample at or before t). */
export function valuesAt(m, t) {
  const at = (arr) => { const i = lastAtOrBefore(arr, t, (d) => d.t); return i >= 0 ? arr[i] : null; };
  const cpu = m.cpu.find((p) => t >= p.s && t <= p.e) || null;
  return { gc: gcAt(m, t), heap: at(m.heap), goroutines: at(m.goroutines), runq: at(m.runq), cpu };
}

/** The extent of everything in the models: {t0, t1}, or null when empty. */
export function lanesExtent(models) {
  let t0 = Infinity, t1 = -Infinity;
  const see = (a, b) => { if (a < t0) t0 = a; if (b > t1) t1 = b; };
  for (const m of models) {
    for (const c of m.gc) see(c.s, c.e);
    for (const p of [...m.heap, ...m.goroutines, ...m.runq]) see(p.t, p.t);
    for (const s of m.snapshots) see(s.t, s.t + s.dur);
    for (const p of m.cpu) see(p.s, p.e);
  }
  return Number.isFinite(t0) ? { t0, t1 } : null;
}

/** The snapshot marker nearest to t within `tol` ns (for clicks), or null. */
export function snapshotNear(m, t, tol) {
  let best = null, bd = Infinity;
  for (const s of m.snapshots) {
    const d = Math.abs(s.t - t);
    if (d <= tol && d < bd) { best = s; bd = d; }
  }
  return best;
}

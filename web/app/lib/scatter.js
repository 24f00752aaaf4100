// The operation page's scatter: one dot per trace found by /api/search (x its start,
// y the matching span's duration), on a time axis and a log or linear duration axis,
// with hit testing for hover and click. Pure, no DOM: tested in web/test/scatter.test.mjs.

import { logScale, valueScale } from './scale.js';

/** Points from a search answer: [{traceID, t (unix ns, Number), ms, root}], by time. */
export function searchPoints(ans) {
  return ((ans && ans.traces) || []).map((tr) => ({
    traceID: tr.traceID,
    t: Number(tr.startTimeUnixNano),
    ms: tr.matchedSpanDurationMs != null ? tr.matchedSpanDurationMs : tr.durationMs,
    traceMs: tr.durationMs,
    root: `${tr.rootServiceName} ${tr.rootTraceName || ''}`.trim(),
  })).filter((p) => Number.isFinite(p.t) && Number.isFinite(p.ms)).sort((a, b) => a.t - b.t);
}

/**
 * Positions of the points in a plot area {x0, x1, y0 (top), y1 (bottom)}: returns
 * {pts: [{p, x, y}], x: t→px, y: ms→px, tMin, tMax, msMin, msMax, log}. A log axis is
 * used when the durations span more than a factor of 20.
 */
export function scatterLayout(points, area, { log } = {}) {
  let tMin = Infinity, tMax = -Infinity, msMin = Infinity, msMax = -Infinity;
  for (const p of points) {
    if (p.t < tMin) tMin = p.t;
    if (p.t > tMax) tMax = p.t;
    if (p.ms < msMin) msMin = p.ms;
    if (p.ms > msMax) msMax = p.ms;
  }
  if (!points.length) { tMin = 0; tMax = 1; msMin = 1; msMax = 2; }
  if (tMax === tMin) { tMin -= 5e8; tMax += 5e8; }
  const useLog = log != null ? log : msMin > 0 && msMax / msMin > 20;
  const lo = useLog ? Math.max(msMin, 1e-6) / 1.3 : 0;
  const hi = msMax * 1.08 || 1;
  const padT = (tMax - tMin) * 0.02;
  const x = valueScale(tMin - padT, tMax + padT, area.x0, area.x1);
  const y = useLog ? logScale(lo, hi, area.y1, area.y0) : valueScale(lo, hi, area.y1, area.y0);
  const pts = points.map((p) => ({ p, x: x(p.t), y: y(p.ms) }));
  return { pts, x, y, tMin: tMin - padT, tMax: tMax + padT, msMin: lo, msMax: hi, log: useLog };
}

/** The point nearest (x, y) within r pixels, or null. */
export function hitPoint(layout, x, y, r = 6) {
  let best = null, bd = r * r;
  for (const q of layout.pts) {
    const d = (q.x - x) ** 2 + (q.y - y) ** 2;
    if (d <= bd) { bd = d; best = q; }
  }
  return best;
}

/** Duration ticks for the y axis (ms): 1-2-5 steps, or decades on a log axis. */
export function durationTicks(lo, hi, log, target = 5) {
  const out = [];
  if (log) {
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
      for (const m of [1, 2, 5]) {
        const v = m * Math.pow(10, e);
        if (v >= lo && v <= hi) out.push(v);
      }
    }
    return out.length > 9 ? out.filter((v) => /^1/.test(v.toExponential())) : out;
  }
  const raw = (hi - lo) / target;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const m = raw / p;
  const step = (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

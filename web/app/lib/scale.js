// The shared time axis of the trace page. A view is {t0, t1}: the visible interval in ns
// relative to the trace's start. A scale maps that interval onto pixels [x0, x1]. Zoom
// and pan produce new views, kept inside limits (the timeline's window, padded) and
// never narrower than minSpan. Pure functions, no DOM: tested in web/test/scale.test.mjs.

/** A linear scale from the view's times to pixels. */
export function makeScale(view, x0, x1) {
  const span = view.t1 - view.t0 || 1;
  const k = (x1 - x0) / span;
  return {
    t0: view.t0, t1: view.t1, x0, x1, k,
    /** time → pixel */
    x: (t) => x0 + (t - view.t0) * k,
    /** pixel → time */
    t: (x) => view.t0 + (x - x0) / k,
    /** ns per pixel */
    nsPerPx: 1 / k,
  };
}

export const MIN_SPAN_NS = 1000; // 1 µs across the whole width is as far as zoom goes

/**
 * Keeps a view inside `limits` ({t0, t1}; pans back in rather than shrinking) and at
 * least `minSpan` wide; a view wider than the limits becomes the limits.
 */
export function clampView(view, limits, minSpan = MIN_SPAN_NS) {
  let { t0, t1 } = view;
  if (!(t1 > t0)) { const c = t0; t0 = c - minSpan / 2; t1 = c + minSpan / 2; }
  if (t1 - t0 < minSpan) {
    const c = (t0 + t1) / 2;
    t0 = c - minSpan / 2;
    t1 = c + minSpan / 2;
  }
  if (limits) {
    const lw = limits.t1 - limits.t0;
    if (t1 - t0 >= lw) return { t0: limits.t0, t1: limits.t1 };
    if (t0 < limits.t0) { t1 += limits.t0 - t0; t0 = limits.t0; }
    if (t1 > limits.t1) { t0 -= t1 - limits.t1; t1 = limits.t1; }
  }
  return { t0, t1 };
}

/** Zoom by `factor` (>1 zooms in) keeping time `at` under the same pixel. */
export function zoomView(view, factor, at, limits, minSpan) {
  const a = at == null ? (view.t0 + view.t1) / 2 : at;
  const t0 = a - (a - view.t0) / factor;
  const t1 = a + (view.t1 - a) / factor;
  return clampView({ t0, t1 }, limits, minSpan);
}

/** Pan by `dt` ns (positive moves the view later). */
export function panView(view, dt, limits, minSpan) {
  return clampView({ t0: view.t0 + dt, t1: view.t1 + dt }, limits, minSpan);
}

/** The view showing [a, b] (in either order) with a margin of `pad` of its width each side. */
export function rangeView(a, b, limits, pad = 0, minSpan) {
  const lo = Math.min(a, b), hi = Math.max(a, b);
  const w = hi - lo;
  return clampView({ t0: lo - w * pad, t1: hi + w * pad }, limits, minSpan);
}

/** Wheel delta (pixels, as DOM wheel events in pixel mode give) → zoom factor. */
export function wheelFactor(deltaY, deltaMode = 0) {
  const px = deltaMode === 1 ? deltaY * 16 : deltaMode === 2 ? deltaY * 400 : deltaY;
  return Math.exp(-Math.max(-600, Math.min(600, px)) * 0.002);
}

/** Index of the last element of a sorted array whose key is ≤ t (−1 if none). */
export function lastAtOrBefore(arr, t, key = (d) => d) {
  let lo = 0, hi = arr.length - 1, ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (key(arr[mid]) <= t) { ans = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return ans;
}

/** Index of the first element of a sorted array whose key is ≥ t (arr.length if none). */
export function firstAtOrAfter(arr, t, key = (d) => d) {
  let lo = 0, hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (key(arr[mid]) < t) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/** A linear scale for values (lanes' y axes): [v0, v1] → [y0, y1]. */
export function valueScale(v0, v1, y0, y1) {
  const span = v1 - v0 || 1;
  return (v) => y0 + ((v - v0) / span) * (y1 - y0);
}

/** A log10 scale for positive values (the operation scatter's duration axis). */
export function logScale(v0, v1, y0, y1) {
  const l0 = Math.log10(Math.max(v0, 1e-12)), l1 = Math.log10(Math.max(v1, v0 * 1.0001, 1e-12));
  const f = (v) => y0 + ((Math.log10(Math.max(v, 1e-12)) - l0) / (l1 - l0 || 1)) * (y1 - y0);
  f.invert = (y) => Math.pow(10, l0 + ((y - y0) / (y1 - y0)) * (l1 - l0));
  return f;
}

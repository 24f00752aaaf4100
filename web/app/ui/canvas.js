// Canvas helpers: sizing a canvas to its CSS box at the device pixel ratio (sharp lines
// on HiDPI screens, with drawing code in CSS pixels), text clipping with an ellipsis and
// a cache of text widths, and a resize observer wrapper.

/** Sizes `canvas` to cssW × cssH CSS pixels at devicePixelRatio; returns the 2D context in CSS pixels. */
export function fitCanvas(canvas, cssW, cssH) {
  const dpr = Math.max(1, Math.min(3, window.devicePixelRatio || 1));
  const w = Math.max(1, Math.round(cssW * dpr)), hh = Math.max(1, Math.round(cssH * dpr));
  if (canvas.width !== w || canvas.height !== hh) {
    canvas.width = w;
    canvas.height = hh;
    canvas.style.width = `${cssW}px`;
    canvas.style.height = `${cssH}px`;
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

const widthCache = new Map();
/** measureText width, cached per font and string (labels repeat a lot). */
export function textWidth(ctx, s) {
  const key = ctx.font + '\u0000' + s;
  let w = widthCache.get(key);
  if (w === undefined) {
    w = ctx.measureText(s).width;
    if (widthCache.size > 20000) widthCache.clear();
    widthCache.set(key, w);
  }
  return w;
}

/** `s` cut with an ellipsis to fit maxW pixels ('' if not even one letter fits). */
export function fitText(ctx, s, maxW) {
  if (maxW <= 6) return '';
  if (textWidth(ctx, s) <= maxW) return s;
  let lo = 0, hi = s.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (textWidth(ctx, s.slice(0, mid) + '…') <= maxW) lo = mid; else hi = mid - 1;
  }
  return lo ? s.slice(0, lo) + '…' : '';
}

/** Calls fn on size changes of el (debounced to one per frame); returns a disconnect function. */
export function onResize(el, fn) {
  let pending = false;
  const ro = new ResizeObserver(() => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; fn(); });
  });
  ro.observe(el);
  return () => ro.disconnect();
}

export const FONT = '12px system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif';
export const FONT_SMALL = '11px system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif';
export const FONT_BOLD = '600 12px system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif';
export const MONO = '11px ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace';

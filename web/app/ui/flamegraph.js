// A flame graph on canvas (root at the top, callees below, width = weight): hover shows
// a node's label and numbers, a click zooms into a node, a click on the root or an
// ancestor zooms back out. Used for a span's CPU samples, a profile snapshot, and the
// compare view's differential graph (colour by delta). Layout and colours come from
// lib/flame.js.

import { h } from './dom.js';
import { fitCanvas, fitText, onResize, FONT_SMALL } from './canvas.js';
import { layoutFlame, treeDepth, nameColor, nodeLabel } from '../lib/flame.js';

const ROW_H = 18;

/**
 * opts: root (tree), value(node) (weight, default node.value), color(node), info(node) →
 * text for the hover box, ariaLabel. Returns {el, destroy}.
 */
export function flameGraph(opts) {
  const value = opts.value || ((n) => n.value);
  const color = opts.color || ((n) => nameColor(n.name));
  const info = opts.info || ((n) => nodeLabel(n));
  const canvas = h('canvas', { class: 'flame-canvas', role: 'img', 'aria-label': opts.ariaLabel || 'flame graph' });
  const tip = h('div', { class: 'flame-tip', hidden: true });
  const el = h('div', { class: 'flame' }, canvas, tip);
  let focus = null;
  let rects = [];
  const depth = treeDepth(opts.root);
  el.dataset.depth = String(depth);

  function draw() {
    const w = el.clientWidth || 400;
    const hh = Math.max(ROW_H, depth * ROW_H + 1);
    const ctx = fitCanvas(canvas, w, hh);
    ctx.clearRect(0, 0, w, hh);
    rects = layoutFlame(opts.root, { value, focus, minW: 0.5 / w });
    el.dataset.nodes = String(rects.length);
    ctx.font = FONT_SMALL;
    ctx.textBaseline = 'middle';
    for (const r of rects) {
      const x = Math.round(r.x * w), x1 = Math.round((r.x + r.w) * w);
      const rw = Math.max(1, x1 - x - 1);
      const y = r.depth * ROW_H;
      ctx.fillStyle = r.ancestor ? '#dfe3ea' : color(r.node);
      ctx.fillRect(x, y, rw, ROW_H - 1);
      if (rw > 24) {
        const t = fitText(ctx, r.node.name, rw - 6);
        if (t) { ctx.fillStyle = '#1d2330'; ctx.fillText(t, x + 3, y + ROW_H / 2); }
      }
    }
  }

  function hit(ev) {
    const b = canvas.getBoundingClientRect();
    const x = (ev.clientX - b.left) / b.width, d = Math.floor((ev.clientY - b.top) / ROW_H);
    for (const r of rects) if (r.depth === d && x >= r.x && x < r.x + r.w) return r;
    return null;
  }
  canvas.addEventListener('mousemove', (ev) => {
    const r = hit(ev);
    if (!r) { tip.hidden = true; canvas.style.cursor = ''; return; }
    canvas.style.cursor = 'pointer';
    tip.textContent = info(r.node);
    tip.hidden = false;
    const b = el.getBoundingClientRect();
    const tx = Math.min(ev.clientX - b.left + 12, b.width - 260);
    tip.style.left = `${Math.max(0, tx)}px`;
    tip.style.top = `${ev.clientY - b.top + 14}px`;
  });
  canvas.addEventListener('mouseleave', () => { tip.hidden = true; });
  canvas.addEventListener('click', (ev) => {
    const r = hit(ev);
    if (!r) return;
    focus = r.ancestor || r.node === opts.root || r.node === focus ? (r.ancestor && r.node !== opts.root ? r.node : null) : r.node;
    draw();
  });
  const stop = onResize(el, draw);
  requestAnimationFrame(draw);
  return { el, destroy: stop, redraw: draw };
}

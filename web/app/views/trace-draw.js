// Drawing the trace page's canvases: the time axis, the visible rows of the span
// waterfall, and the runtime lanes of every source (GC phases, heap and goal,
// goroutines, run queue, snapshot markers, CPU profile windows). Each function takes a
// 2D context already in CSS pixels (ui/canvas.js) and the page's geometry; only what
// lies in the view is drawn, and GC cycles go into two batched paths, so a redraw stays
// well under a frame with thousands of spans and cycles.

import { fmtDuration, ticks, fmtClock, fmtBytes, fmtCount } from '../lib/format.js';
import { labelPlacement } from '../lib/waterfall.js';
import { gcInRange, pointsInRange } from '../lib/lanes.js';
import { fitText, textWidth, FONT, FONT_SMALL, FONT_BOLD, MONO } from '../ui/canvas.js';

export const LABEL_W = 280;
export const ROW_H = 22;
export const AXIS_H = 30;
export const RIGHT_PAD = 18;

const INK = '#1d2330', MUTED = '#5b6472', GRID = '#edf0f4', RULE = '#d9dee6';
export const GC_MARK = '#f3c98f', GC_STW = '#a61b29';
const HEAP_FILL = 'rgba(59,111,212,0.16)', HEAP_LINE = '#3b6fd4', GOAL_LINE = '#6b7280';

/** Dark or white text on a colour, for contrast. */
export function textOn(hex) {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) return '#fff';
  const lin = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); };
  const L = 0.2126 * lin(parseInt(m[1], 16)) + 0.7152 * lin(parseInt(m[2], 16)) + 0.0722 * lin(parseInt(m[3], 16));
  return (1.05) / (L + 0.05) >= 4.5 ? '#fff' : INK;
}

function vgrid(ctx, sc, tk, y0, y1) {
  ctx.fillStyle = GRID;
  for (const t of tk.ticks) {
    const x = Math.round(sc.x(t.t));
    if (x >= sc.x0 && x <= sc.x1) ctx.fillRect(x, y0, 1, y1 - y0);
  }
}

/** The axis: tick labels (offsets from the trace's start), the start's clock time, a range being selected. */
export function drawAxis(ctx, g, { sc, base, selection, traceEnd }) {
  const { w } = g;
  ctx.clearRect(0, 0, w, AXIS_H);
  ctx.fillStyle = '#f7f8fa';
  ctx.fillRect(0, 0, w, AXIS_H);
  const tk = ticks(sc.t0, sc.t1, Math.max(2, Math.floor((sc.x1 - sc.x0) / 90)));
  ctx.font = MONO;
  ctx.textBaseline = 'middle';
  ctx.fillStyle = MUTED;
  ctx.fillText(fitText(ctx, `0 = ${fmtClock(base)}`, LABEL_W - 12), 8, AXIS_H / 2);
  // the trace's own extent
  const tx0 = Math.max(sc.x0, sc.x(0)), tx1 = Math.min(sc.x1, sc.x(traceEnd));
  if (tx1 > tx0) { ctx.fillStyle = 'rgba(59,111,212,0.18)'; ctx.fillRect(tx0, AXIS_H - 4, tx1 - tx0, 4); }
  for (const t of tk.ticks) {
    const x = Math.round(sc.x(t.t));
    if (x < sc.x0 || x > sc.x1) continue;
    ctx.fillStyle = RULE;
    ctx.fillRect(x, AXIS_H - 8, 1, 8);
    ctx.fillStyle = INK;
    const tw = textWidth(ctx, t.label);
    ctx.fillText(t.label, Math.min(sc.x1 - tw, Math.max(sc.x0, x - tw / 2)), 11);
  }
  ctx.fillStyle = RULE;
  ctx.fillRect(0, AXIS_H - 1, w, 1);
  ctx.fillRect(LABEL_W, 0, 1, AXIS_H);
  if (selection) {
    const a = Math.max(sc.x0, Math.min(selection[0], selection[1])), b = Math.min(sc.x1, Math.max(selection[0], selection[1]));
    ctx.fillStyle = 'rgba(59,111,212,0.25)';
    ctx.fillRect(a, 0, b - a, AXIS_H);
  }
  return tk;
}

/**
 * The waterfall rows between scrollTop and scrollTop + height: stripes, the selected and
 * focused rows, indented names with a caret and service colour, bars and duration labels.
 */
export function drawWaterfall(ctx, g, { sc, tk, wf, visible, scrollTop, selected, focused, collapsed, traceEnd }) {
  const { w, h } = g;
  ctx.clearRect(0, 0, w, h);
  vgrid(ctx, sc, tk, 0, h);
  const first = Math.max(0, Math.floor(scrollTop / ROW_H));
  const last = Math.min(visible.length, Math.ceil((scrollTop + h) / ROW_H));
  ctx.textBaseline = 'middle';
  for (let k = first; k < last; k++) {
    const ri = visible[k];
    const row = wf.rows[ri];
    const y = k * ROW_H - scrollTop;
    if (ri === selected) { ctx.fillStyle = '#dfe8fb'; ctx.fillRect(0, y, w, ROW_H); }
    else if (k % 2) { ctx.fillStyle = 'rgba(240,242,246,0.6)'; ctx.fillRect(0, y, w, ROW_H); }
    if (ri === focused) { ctx.strokeStyle = '#3b6fd4'; ctx.lineWidth = 1; ctx.strokeRect(0.5, y + 0.5, w - 1, ROW_H - 1); }
    const color = wf.colorOf(row.service);
    // label column
    const depth = Math.min(row.depth, 20);
    const ind = 6 + depth * 12;
    ctx.font = FONT;
    if (row.children.length) {
      ctx.fillStyle = MUTED;
      ctx.fillText(collapsed.has(row.span.span_id) ? '▸' : '▾', ind, y + ROW_H / 2);
    }
    ctx.fillStyle = color;
    ctx.fillRect(ind + 12, y + 7, 8, 8);
    ctx.fillStyle = row.orphan ? MUTED : INK;
    const name = (row.depth > 20 ? `[${row.depth}] ` : '') + row.span.name;
    ctx.fillText(fitText(ctx, name, LABEL_W - (ind + 26) - 6), ind + 26, y + ROW_H / 2);
    // bar (or, when it is out of view, an arrow at the edge it lies beyond)
    const x0 = sc.x(row.start), x1 = sc.x(row.end);
    if (x1 < sc.x0 || x0 > sc.x1) {
      const left = x1 < sc.x0;
      const ax = left ? sc.x0 + 3 : sc.x1 - 3, ay = y + ROW_H / 2, d = left ? 1 : -1;
      ctx.fillStyle = color;
      ctx.beginPath(); ctx.moveTo(ax, ay); ctx.lineTo(ax + 6 * d, ay - 4); ctx.lineTo(ax + 6 * d, ay + 4); ctx.closePath(); ctx.fill();
      continue;
    }
    const cx0 = Math.max(sc.x0, x0), cx1 = Math.min(sc.x1, Math.max(x1, x0 + 1));
    const bw = Math.max(1, cx1 - cx0);
    ctx.fillStyle = color;
    ctx.fillRect(cx0, y + 4, bw, ROW_H - 8);
    if (ri === selected) { ctx.strokeStyle = INK; ctx.lineWidth = 1.5; ctx.strokeRect(cx0, y + 4, bw, ROW_H - 8); }
    const label = fmtDuration(row.end - row.start);
    ctx.font = MONO;
    const tw = textWidth(ctx, label);
    const where = labelPlacement(cx0, cx0 + bw, tw, sc.x1);
    if (where === 'inside') { ctx.fillStyle = textOn(color); ctx.fillText(label, cx0 + 4, y + ROW_H / 2); }
    else if (where === 'right') { ctx.fillStyle = INK; ctx.fillText(label, cx0 + bw + 4, y + ROW_H / 2); }
    else if (cx0 - 4 - tw > sc.x0) { ctx.fillStyle = INK; ctx.fillText(label, cx0 - 4 - tw, y + ROW_H / 2); }
  }
  ctx.fillStyle = RULE;
  ctx.fillRect(LABEL_W, 0, 1, h);
  // where the trace ends, when zoomed out beyond it
  ctx.fillStyle = 'rgba(29,35,48,0.25)';
  for (const t of [0, traceEnd]) {
    const x = Math.round(sc.x(t));
    if (x > sc.x0 && x < sc.x1) ctx.fillRect(x, 0, 1, h);
  }
}

function laneLabel(ctx, lane, extra) {
  ctx.font = FONT_SMALL;
  ctx.fillStyle = MUTED;
  ctx.fillText(lane.label, 22, lane.y + (extra ? lane.h / 2 - 6 : lane.h / 2));
  if (extra) { ctx.font = MONO; ctx.fillText(fitText(ctx, extra, LABEL_W - 30), 22, lane.y + lane.h / 2 + 7); }
}

function emptyLane(ctx, sc, lane, text) {
  ctx.font = FONT_SMALL;
  ctx.fillStyle = '#9aa2ae';
  ctx.fillText(text, sc.x0 + 8, lane.y + lane.h / 2);
}

/**
 * Points [i0, i1) of a time series as a flat [x, v, x, v, ...] list with at most a few
 * per pixel column: a column's first, lowest, highest and last value (or, for step
 * lines, its last value only), so thousands of points cost what the width does.
 */
function decimate(arr, i0, i1, sc, val, stepOnly = false) {
  const out = [];
  let col = NaN, first = 0, lo = 0, hi = 0, last = 0, x0 = 0;
  const flush = () => {
    if (Number.isNaN(col)) return;
    if (stepOnly) { out.push(x0, last); return; }
    out.push(x0, first);
    if (lo !== first && lo !== last) out.push(x0, lo);
    if (hi !== first && hi !== last) out.push(x0, hi);
    if (last !== first) out.push(x0, last);
  };
  for (let i = i0; i < i1; i++) {
    const x = sc.x(arr[i].t), v = val(arr[i]);
    const c = Math.floor(x);
    if (c !== col) { flush(); col = c; x0 = x; first = lo = hi = last = v; }
    else { if (v < lo) lo = v; if (v > hi) hi = v; last = v; }
  }
  flush();
  return out;
}

/** Snapshot marker shapes by kind: goroutine ▼, cpu ◆, others ●. */
function marker(ctx, kind, x, y, r) {
  ctx.beginPath();
  if (kind === 'goroutine') { ctx.moveTo(x - r, y - r); ctx.lineTo(x + r, y - r); ctx.lineTo(x, y + r); }
  else if (kind === 'cpu') { ctx.moveTo(x, y - r); ctx.lineTo(x + r, y); ctx.lineTo(x, y + r); ctx.lineTo(x - r, y); }
  else ctx.arc(x, y, r * 0.8, 0, Math.PI * 2);
  ctx.closePath();
  ctx.fill();
}

/** Every source's lanes; `band` is the selected span's interval to shade, `openSnapshot` the marker to ring. */
export function drawLanes(ctx, g, { sc, tk, models, layout, colorOf, band, openSnapshot, openShard, traceEnd }) {
  const { w } = g;
  const H = layout.height;
  ctx.clearRect(0, 0, w, H);
  vgrid(ctx, sc, tk, 0, H);
  // the trace's extent and the selected span, across all lanes
  const shade = (t0, t1, color) => {
    const a = Math.max(sc.x0, sc.x(t0)), b = Math.min(sc.x1, sc.x(t1));
    if (b > a) { ctx.fillStyle = color; ctx.fillRect(a, 0, Math.max(1, b - a), H); }
  };
  shade(0, traceEnd, 'rgba(59,111,212,0.05)');
  if (band) shade(band[0], band[1], 'rgba(59,111,212,0.12)');
  ctx.textBaseline = 'middle';
  for (const lane of layout.lanes) {
    const m = models[lane.source];
    const { y, h } = lane;
    if (lane.kind === 'header') {
      ctx.fillStyle = '#eef1f5';
      ctx.fillRect(0, y, w, h);
      ctx.fillStyle = colorOf(m.service);
      ctx.fillRect(8, y + 7, 8, 8);
      ctx.font = FONT_BOLD;
      ctx.fillStyle = INK;
      ctx.fillText(fitText(ctx, m.label, w - 30), 22, y + h / 2);
      continue;
    }
    ctx.fillStyle = GRID;
    ctx.fillRect(0, y + h - 1, w, 1);
    if (lane.kind === 'none') {
      emptyLane(ctx, sc, lane, 'no runtime data from this source in this window (no gctrace, schedtrace or profiles)');
    } else if (lane.kind === 'gc') {
      laneLabel(ctx, lane);
      if (!m.gc.length) { emptyLane(ctx, sc, lane, 'no GC cycles in this window'); continue; }
      const [i0, i1] = gcInRange(m, sc.t0, sc.t1);
      const markPath = new Path2D(), stwPath = new Path2D();
      const yy = y + 4, hh = h - 9;
      let lastTick = -1; // cycles under a pixel: one tick per pixel column
      for (let i = i0; i < i1; i++) {
        const c = m.gc[i];
        const xs = sc.x(c.s), xe = sc.x(c.e);
        if (xe < sc.x0 || xs > sc.x1) continue;
        if (xe - xs < 1.5) { // a mark-coloured tick with the stop-the-world part on top
          const x = Math.floor(Math.max(sc.x0, xs));
          if (x === lastTick) continue;
          lastTick = x;
          markPath.rect(x, yy, 1, hh);
          stwPath.rect(x, yy, 1, Math.ceil(hh * 0.45));
          continue;
        }
        const mx0 = Math.max(sc.x0, sc.x(c.mark[0])), mx1 = Math.min(sc.x1, sc.x(c.mark[1]));
        if (mx1 > mx0) markPath.rect(mx0, yy + 3, mx1 - mx0, hh - 6);
        for (const p of [c.stw1, c.stw2]) {
          const a = sc.x(p[0]), b = sc.x(p[1]);
          if (b < sc.x0 || a > sc.x1) continue;
          const ca = Math.max(sc.x0, a);
          stwPath.rect(ca, yy, Math.max(1, Math.min(sc.x1, b) - ca), hh);
        }
      }
      ctx.fillStyle = GC_MARK;
      ctx.fill(markPath);
      ctx.fillStyle = GC_STW;
      ctx.fill(stwPath);
    } else if (lane.kind === 'heap') {
      laneLabel(ctx, lane, m.maxHeap ? `max ${fmtBytes(m.maxHeap)}` : '');
      if (!m.heap.length) { emptyLane(ctx, sc, lane, 'no heap figures in this window'); continue; }
      const top = y + 4, bot = y + h - 3;
      const vy = (v) => bot - (v / (m.maxHeap * 1.08 || 1)) * (bot - top);
      const [i0, i1] = pointsInRange(m.heap, sc.t0, sc.t1);
      const heapPts = decimate(m.heap, i0, i1, sc, (p) => p.heap);
      const goalPts = decimate(m.heap, i0, i1, sc, (p) => p.goal, true);
      ctx.save();
      ctx.beginPath();
      ctx.rect(sc.x0, y, sc.x1 - sc.x0, h);
      ctx.clip();
      if (heapPts.length) {
        ctx.beginPath();
        ctx.moveTo(heapPts[0], bot);
        for (let k = 0; k < heapPts.length; k += 2) ctx.lineTo(heapPts[k], vy(heapPts[k + 1]));
        ctx.lineTo(heapPts[heapPts.length - 2], bot);
        ctx.fillStyle = HEAP_FILL;
        ctx.fill();
        ctx.beginPath();
        for (let k = 0; k < heapPts.length; k += 2) (k ? ctx.lineTo : ctx.moveTo).call(ctx, heapPts[k], vy(heapPts[k + 1]));
        ctx.strokeStyle = HEAP_LINE;
        ctx.lineWidth = 1.25;
        ctx.stroke();
      }
      if (goalPts.length) {
        ctx.beginPath();
        for (let k = 0; k < goalPts.length; k += 2) {
          if (!k) ctx.moveTo(goalPts[0], vy(goalPts[1]));
          else { ctx.lineTo(goalPts[k], vy(goalPts[k - 1])); ctx.lineTo(goalPts[k], vy(goalPts[k + 1])); }
        }
        ctx.setLineDash([4, 3]);
        ctx.strokeStyle = GOAL_LINE;
        ctx.lineWidth = 1;
        ctx.stroke();
        ctx.setLineDash([]);
      }
      ctx.restore();
    } else if (lane.kind === 'goroutines') {
      laneLabel(ctx, lane, m.maxG ? `max ${fmtCount(m.maxG)}` : '');
      if (!m.goroutines.length) { emptyLane(ctx, sc, lane, 'no goroutine snapshots in this window'); continue; }
      const top = y + 5, bot = y + h - 4;
      const vy = (v) => bot - (v / (m.maxG || 1)) * (bot - top);
      const [i0, i1] = pointsInRange(m.goroutines, sc.t0, sc.t1);
      ctx.fillStyle = '#2f9363';
      for (let i = i0; i < i1; i++) {
        const p = m.goroutines[i];
        const x = sc.x(p.t);
        if (x < sc.x0 - 3 || x > sc.x1 + 3) continue;
        ctx.fillRect(x - 1, vy(p.count), 3, bot - vy(p.count));
        ctx.beginPath(); ctx.arc(x, vy(p.count), 3, 0, Math.PI * 2); ctx.fill();
      }
    } else if (lane.kind === 'runqueue') {
      laneLabel(ctx, lane, m.runq.length ? `max ${fmtCount(m.maxQ)}` : '');
      if (!m.runq.length) { emptyLane(ctx, sc, lane, 'no scheduler samples in this window'); continue; }
      const top = y + 5, bot = y + h - 4;
      const vy = (v) => bot - (v / Math.max(1, m.maxQ)) * (bot - top);
      const [i0, i1] = pointsInRange(m.runq, sc.t0, sc.t1);
      for (let i = i0; i < i1; i++) {
        const p = m.runq[i];
        const x = sc.x(p.t);
        if (x < sc.x0 - 3 || x > sc.x1 + 3) continue;
        ctx.fillStyle = '#c9d2de';
        ctx.fillRect(x - 2, top, 4, bot - top); // a sample was taken here
        ctx.fillStyle = '#8c6d3f';
        ctx.fillRect(x - 2, vy(p.global + p.local), 4, bot - vy(p.global + p.local));
        ctx.fillStyle = '#5a4526';
        ctx.fillRect(x - 2, vy(p.global), 4, bot - vy(p.global));
      }
    } else if (lane.kind === 'snapshots') {
      laneLabel(ctx, lane);
      if (!m.snapshots.length) { emptyLane(ctx, sc, lane, 'no snapshots in this window'); continue; }
      for (const s of m.snapshots) {
        const x = sc.x(s.t);
        if (x < sc.x0 - 6 || x > sc.x1 + 6) continue;
        const open = openSnapshot === s.id && (openShard || '') === (m.shard || '');
        ctx.fillStyle = s.kind === 'goroutine' ? '#3d6fd1' : s.kind === 'cpu' ? '#e8833a' : '#6b7280';
        marker(ctx, s.kind, x, y + h / 2, open ? 7 : 5);
        if (open) { ctx.strokeStyle = INK; ctx.lineWidth = 1.5; ctx.stroke(); }
      }
    } else if (lane.kind === 'cpu') {
      laneLabel(ctx, lane);
      if (!m.cpu.length) { emptyLane(ctx, sc, lane, 'no CPU profile covers this window'); continue; }
      for (const p of m.cpu) {
        const a = Math.max(sc.x0, sc.x(p.s)), b = Math.min(sc.x1, sc.x(p.e));
        if (b < a) continue;
        ctx.fillStyle = '#f8dfc7';
        ctx.fillRect(a, y + 4, Math.max(1, b - a), h - 8);
        ctx.fillStyle = '#e8833a';
        ctx.fillRect(a, y + 4, Math.max(1, b - a), 2);
        const t = fitText(ctx, `CPU profile #${p.snapshot_id} · ${fmtCount(p.samples)} samples`, b - a - 8);
        ctx.font = FONT_SMALL;
        if (t) { ctx.fillStyle = '#7a3f0c'; ctx.fillText(t, a + 4, y + h / 2 + 1); }
      }
    }
  }
  ctx.fillStyle = RULE;
  ctx.fillRect(LABEL_W, 0, 1, H);
}

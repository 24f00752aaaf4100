// The goroutine lanes of the selected span, under the waterfall on the trace page's
// time axis: from /api/v1/exectrace/spans/{trace}/{span}, a P lane (how many of the
// shown goroutines ran, i.e. held a P, and the GC / stop-the-world windows) and one lane
// per goroutine with its intervals coloured by state, wake edges as arrows from the
// waking goroutine's lane to the woken one. Drawn only over the part of the span that
// a stored execution trace covers (the rest is hatched "not traced"). One canvas over a
// scrolling spacer: only the lanes in view are drawn, each from a binary search of its
// sorted intervals, sub-pixel intervals merged per pixel column (lib/gorlanes.js).
// The trace page gives the time scale and forwards pointer events; this module tells
// it what lies under a point (the readout shows it, with the stack) and what a click
// selects.

import { api, exectraceRawUrl } from '../lib/api.js';
import { fmtDuration, fmtOffset, fmtCount } from '../lib/format.js';
import {
  gorModel, CLASSES, visibleRange, pixelRuns, runBuffer, intervalAt, wakesInRange, wakeAt, procsAt, wakeSpan, lowerBound, upperBound, classTotals,
} from '../lib/gorlanes.js';
import { h, clear, loadingBox, errorBox, swatch } from '../ui/dom.js';
import { fitCanvas, fitText, FONT_SMALL, FONT_BOLD, MONO } from '../ui/canvas.js';
import { LABEL_W } from './trace-draw.js';

export const LANE_H = 16;
export const PLANE_H = 34;
const INK = '#1d2330', MUTED = '#5b6472', GRID = '#edf0f4', RULE = '#d9dee6';
const OUTSIDE = 'rgba(226,230,236,0.55)', STW = '#a61b29', GCW = 'rgba(243,201,143,0.55)', ARROW = '#1d2330', SEL = '#3b6fd4';

let hatch = null;
function hatchPattern(ctx) {
  if (hatch) return hatch;
  const c = document.createElement('canvas');
  c.width = c.height = 8;
  const x = c.getContext('2d');
  x.strokeStyle = 'rgba(120,130,145,0.28)';
  x.beginPath(); x.moveTo(0, 8); x.lineTo(8, 0); x.stroke();
  hatch = ctx.createPattern(c, 'repeat');
  return hatch;
}

/**
 * o: {traceId, spanId, shard (the span's, in a federated timeline), service, startNs, endNs (the span's, unix ns), base (the trace page's time 0, unix ns),
 * focus (a goroutine to point at, or null), scale(), tk() (the axis' ticks), width(), requestDraw(),
 * onJump({goroutine, exectrace_id, span_id, trace_id, t}) (a waker chosen), perf (window.__mwPerf)}.
 * Returns {el, box, ready (resolves the covering traces), draw({pan}), hit(x, y), click(x, y),
 * tooltip(hit, framesList), laneBox, procsBox, wakeBox (client pixels, for tests), model(), destroy()}.
 */
export function goroutineLanes(o) {
  const ac = new AbortController();
  const t00 = performance.now();
  const perf = o.perf || {};
  perf.gorFirstFrameMs = null;
  perf.gorPanFrameMs = [];
  const title = h('h3', null, 'Goroutines of this span');
  const note = h('span', { class: 'muted small gor-note' });
  const legend = h('div', { class: 'gor-legend' });
  const canvas = h('canvas', { class: 'gor-canvas', 'aria-hidden': 'true' });
  const spacer = h('div', { class: 'wf-spacer' });
  const scroll = h('div', { class: 'gor-scroll' }, spacer);
  const box = h('div', { class: 'gor-lanes', hidden: true }, canvas, scroll);
  const msg = h('div', { class: 'gor-msg' }, loadingBox('the execution trace of this span'));
  const summary = h('ul', { class: 'sr-only gor-summary' });
  const el = h('div', { class: 'gor-box', dataset: { state: 'loading', spanId: o.spanId } },
    h('div', { class: 'gor-head' }, title, note), legend, msg, box, summary);
  let model = null, answer = null, selLane = -1, selWake = null, destroyed = false, firstDone = false;
  const runs = runBuffer();
  let colTop = null, colBot = null, headSeen = null; // drawWakes' per-column scratch

  let settle;
  const ready = new Promise((r) => { settle = r; });
  // the span's answer only when a trace of its service overlaps it: the 404 of a span no
  // trace covers (most of them) would be a console error in every browser
  const from = Math.floor(o.startNs) - 1000, to = Math.ceil(o.endNs) + 1000;
  // o.shard: the span's shard (a federated timeline), whose execution traces these are
  api.exectraces({ from: String(from), to: String(to), limit: 1000, shard: o.shard }, { signal: ac.signal }).then((list) => {
    if (!(list.exectraces || []).some((x) => x.service === o.service)) throw Object.assign(new Error('no trace'), { status: 404 });
    return api.exectraceSpan(o.traceId, o.spanId, { signal: ac.signal }, o.shard);
  }).then((j) => {
    if (destroyed) return;
    perf.gorFetchMs = performance.now() - t00;
    answer = j;
    const tm = performance.now();
    model = gorModel(j, o.base);
    perf.gorModelMs = performance.now() - tm;
    build();
    settle(j.exectraces || []);
  }).catch((err) => {
    settle([]);
    if (destroyed || (err && err.name === 'AbortError')) return;
    if (err.status === 404) {
      el.dataset.state = 'none';
      clear(msg).append(h('p', { class: 'muted small' }, 'No stored execution trace covers this span: push one (POST /api/v1/ingest/exectrace, or the flight recorder of client/go) to see its goroutines here.'));
    } else {
      el.dataset.state = 'error';
      clear(msg).append(errorBox(err, 'the execution trace'));
    }
    o.requestDraw();
  });

  function build() {
    msg.remove();
    el.dataset.state = 'ready';
    el.dataset.lanes = String(model.lanes.length);
    el.dataset.intervals = String(model.intervals);
    el.dataset.wakes = String(model.wakes.length);
    el.dataset.stw = String(model.stw.length);
    if (model.covered) { el.dataset.coveredStart = String(model.covered.s); el.dataset.coveredEnd = String(model.covered.e); }
    const xs = answer.exectraces || [];
    const cov = model.covered ? fmtDuration(model.covered.e - model.covered.s) : '0';
    note.textContent = ` ${fmtCount(model.lanes.length)} goroutine${model.lanes.length === 1 ? '' : 's'}, ${fmtCount(model.intervals)} intervals, ${fmtCount(model.wakes.length)} wakes; ${cov} of the span traced${model.truncated ? ' (some wakers left out)' : ''} · `;
    xs.forEach((x, k) => note.append(k ? ', ' : '', h('a', {
      href: exectraceRawUrl(x.id, o.shard), download: `trace-${x.id}.out`, class: 'xt-raw', dataset: { exectraceId: String(x.id) },
      title: 'The execution trace as it was pushed: go tool trace opens it',
    }, `execution trace #${x.id}`)));
    // each state with the time the span's own goroutines spent in it where traced
    const tot = model.covered ? classTotals(model, model.covered.s, model.covered.e, 'span') : new Float64Array(CLASSES.length);
    CLASSES.forEach(([key, label, color], k) => legend.append(h('span', { class: `lg${tot[k] > 0 ? '' : ' muted'}`, dataset: { key, ns: String(Math.round(tot[k])) } },
      swatch(color), label, tot[k] > 0 ? h('span', { class: 'num muted' }, ` ${fmtDuration(tot[k])}`) : null)));
    legend.append(h('span', { class: 'lg' }, h('span', { class: 'swatch', style: { background: STW } }), 'stop-the-world'),
      h('span', { class: 'lg' }, '→ woken by'), h('span', { class: 'lg' }, h('span', { class: 'swatch hatch' }), 'not traced'),
      h('span', { class: 'lg' }, h('span', { class: 'swatch', style: { background: OUTSIDE } }), 'outside the span'));
    for (const l of model.lanes) {
      summary.append(h('li', { dataset: { goroutine: String(l.goroutine), role: l.role, intervals: String(l.s.length) } },
        `goroutine ${l.goroutine} (${l.role === 'waker' ? 'woke the span\'s goroutines' : 'ran the span'}): ${l.s.length} intervals`));
    }
    box.hidden = false;
    layout();
    if (o.focus != null) {
      const k = model.lanes.findIndex((l) => l.goroutine === o.focus);
      if (k >= 0) { selLane = k; scrollToLane(k); }
    }
    scroll.addEventListener('scroll', () => o.requestDraw(), { passive: true });
    o.requestDraw();
  }

  function layout() {
    const total = PLANE_H + model.lanes.length * LANE_H;
    const avail = Math.max(120, Math.round(window.innerHeight * 0.4));
    box.style.height = `${Math.min(total, avail)}px`;
    spacer.style.height = `${total}px`;
  }
  function scrollToLane(k) {
    const y = PLANE_H + k * LANE_H;
    const hh = box.clientHeight || 200;
    if (y < scroll.scrollTop + PLANE_H || y + LANE_H > scroll.scrollTop + hh) scroll.scrollTop = Math.max(0, y - PLANE_H - (hh - PLANE_H) / 3);
    el.dataset.selectedGoroutine = String(model.lanes[k].goroutine);
    scrollY = scroll.scrollTop;
  }

  let scrollY = 0; // scroll.scrollTop, read once a frame (each read of it may lay the page out)
  const laneY = (k) => PLANE_H + k * LANE_H - scrollY;

  /** Draws the lanes on the page's scale; `pan` marks a frame of a pan for the figures. */
  function draw({ pan = false } = {}) {
    if (!model || box.hidden) return;
    const t0 = performance.now();
    const w = o.width(), hh = box.clientHeight;
    if (hh <= 0) return;
    scrollY = scroll.scrollTop;
    const ctx = fitCanvas(canvas, w, hh);
    const sc = o.scale();
    ctx.clearRect(0, 0, w, hh);
    const tk = o.tk();
    ctx.fillStyle = GRID;
    for (const t of tk ? tk.ticks : []) { const x = Math.round(sc.x(t.t)); if (x >= sc.x0 && x <= sc.x1) ctx.fillRect(x, 0, 1, hh); }
    const c0 = model.covered ? model.covered.s : 0, c1 = model.covered ? model.covered.e : 0;
    const cx0 = Math.max(sc.x0, sc.x(c0)), cx1 = Math.min(sc.x1, sc.x(c1));
    uncovered(ctx, sc, 0, hh);
    const first = Math.max(0, Math.floor(scrollY / LANE_H));
    const last = Math.min(model.lanes.length, Math.ceil((scrollY + hh - PLANE_H) / LANE_H));
    const paths = CLASSES.map(() => new Path2D());
    ctx.textBaseline = 'middle';
    ctx.font = FONT_SMALL;
    ctx.save();
    ctx.beginPath(); ctx.rect(0, PLANE_H, w, hh - PLANE_H); ctx.clip();
    for (let k = first; k < last; k++) {
      const lane = model.lanes[k];
      const y = laneY(k);
      if (k === selLane) { ctx.fillStyle = '#dfe8fb'; ctx.fillRect(0, y, w, LANE_H); }
      else if (k % 2) { ctx.fillStyle = 'rgba(240,242,246,0.6)'; ctx.fillRect(0, y, LABEL_W, LANE_H); }
      ctx.fillStyle = lane.role === 'waker' ? MUTED : INK;
      ctx.fillText(fitText(ctx, `goroutine ${lane.goroutine}${lane.role === 'waker' ? ` · woke ${lane.woke.map((g) => 'g' + g).join(', ')}` : ''}`, LABEL_W - 30), 22, y + LANE_H / 2);
      if (!(cx1 > cx0)) continue;
      const [i0, i1] = visibleRange(lane, Math.max(sc.t0, c0), Math.min(sc.t1, c1));
      pixelRuns(lane, i0, i1, sc, c0, c1, runs);
      for (let r = 0; r < runs.n; r++) paths[runs.c[r]].rect(runs.x[r], y + 2, runs.w[r], LANE_H - 4);
    }
    CLASSES.forEach((c, i) => { ctx.fillStyle = c[2]; ctx.fill(paths[i]); });
    drawWakes(ctx, sc, first, last, hh, c0, c1);
    ctx.restore();
    drawProcs(ctx, sc, w, c0, c1);
    ctx.fillStyle = RULE;
    ctx.fillRect(LABEL_W, 0, 1, hh);
    ctx.fillRect(0, PLANE_H - 1, w, 1);
    const dt = performance.now() - t0;
    if (!firstDone) {
      firstDone = true;
      perf.gorFirstFrameMs = performance.now() - t00;
      perf.gorSinceNavigationMs = performance.now();
      perf.gorFirstDrawMs = dt;
      el.dataset.firstFrame = 'done';
    }
    else if (pan) { perf.gorPanFrameMs.push(dt); if (perf.gorPanFrameMs.length > 2000) perf.gorPanFrameMs.shift(); }
    perf.gorLastFrameMs = dt;
  }

  /** Outside the span: grey; inside it but not traced: hatched. Nothing else is drawn there. */
  function uncovered(ctx, sc, y, hh) {
    const band = (t0, t1, style) => {
      const a = Math.max(sc.x0, sc.x(t0)), b = Math.min(sc.x1, sc.x(t1));
      if (b > a) { ctx.fillStyle = style; ctx.fillRect(a, y, b - a, hh); }
    };
    const sp = model.span, c = model.covered || { s: sp.s, e: sp.s };
    band(-Infinity, sp.s, OUTSIDE);
    band(sp.e, Infinity, OUTSIDE);
    band(sp.s, Math.max(sp.s, c.s), hatchPattern(ctx));
    band(Math.min(sp.e, c.e), sp.e, hatchPattern(ctx));
  }

  /**
   * The wake arrows in view: per pixel column one vertical stroke over the span of its
   * arrows (thousands of wakes cost what the width does) and one head per column and
   * woken lane in view; the selected arrow on top.
   */
  function drawWakes(ctx, sc, first, last, hh, c0, c1) {
    const [k0, k1] = wakesInRange(model, Math.max(sc.t0, c0), Math.min(sc.t1, c1) + 1);
    const x0 = Math.floor(sc.x0), ncol = Math.max(1, Math.ceil(sc.x1) - x0 + 1);
    if (!colTop || colTop.length < ncol) { colTop = new Float32Array(ncol); colBot = new Float32Array(ncol); }
    colTop.fill(Infinity, 0, ncol);
    colBot.fill(-Infinity, 0, ncol);
    const nv = Math.max(0, last - first);
    if (!headSeen || headSeen.length < nv * ncol) headSeen = new Uint8Array(nv * ncol);
    headSeen.fill(0, 0, nv * ncol);
    const heads = new Path2D();
    for (let k = k0; k < k1; k++) {
      const wk = model.wakes[k];
      const from = wk.from >= 0 ? wk.from : wk.to - 1;
      if ((from > wk.to ? from : wk.to) < first || (from < wk.to ? from : wk.to) >= last) continue;
      const c = Math.round(sc.x(wk.t)) - x0;
      if (c < 0 || c >= ncol) continue;
      const down = from < wk.to;
      const ya = laneY(from) + LANE_H / 2, yb = laneY(wk.to) + (down ? 2 : LANE_H - 2);
      const lo = down ? ya : yb, hi = down ? yb : ya;
      if (lo < colTop[c]) colTop[c] = lo;
      if (hi > colBot[c]) colBot[c] = hi;
      const v = wk.to - first;
      if (v >= 0 && v < nv && !headSeen[v * ncol + c]) {
        headSeen[v * ncol + c] = 1;
        const x = c + x0 + 0.5, d = down ? -1 : 1;
        heads.moveTo(x, yb); heads.lineTo(x - 3.5, yb + 5 * d); heads.lineTo(x + 3.5, yb + 5 * d); // fill() closes it
      }
    }
    const lines = new Path2D();
    const top = PLANE_H, bot = hh;
    for (let c = 0; c < ncol; c++) {
      if (colBot[c] < colTop[c]) continue;
      const a = Math.max(top, colTop[c]), b = Math.min(bot, colBot[c]);
      if (b > a) lines.rect(c + x0, a, 1, b - a);
    }
    ctx.fillStyle = ARROW;
    ctx.fill(lines);
    ctx.fill(heads);
    if (selWake) {
      const from = selWake.from >= 0 ? selWake.from : selWake.to - 1;
      const x = Math.round(sc.x(selWake.t)) + 0.5, ya = laneY(from) + LANE_H / 2, yb = laneY(selWake.to) + (from < selWake.to ? 2 : LANE_H - 2);
      const d = from < selWake.to ? -1 : 1;
      ctx.strokeStyle = SEL; ctx.fillStyle = SEL; ctx.lineWidth = 2.5;
      ctx.beginPath(); ctx.moveTo(x, ya); ctx.lineTo(x, yb); ctx.stroke();
      ctx.beginPath(); ctx.moveTo(x, yb); ctx.lineTo(x - 4.5, yb + 6 * d); ctx.lineTo(x + 4.5, yb + 6 * d); ctx.closePath(); ctx.fill();
    }
  }

  function drawProcs(ctx, sc, w, c0, c1) {
    ctx.clearRect(0, 0, w, PLANE_H - 1);
    ctx.fillStyle = '#f7f8fa';
    ctx.fillRect(0, 0, w, PLANE_H - 1);
    ctx.font = FONT_BOLD; ctx.fillStyle = INK; ctx.textBaseline = 'middle';
    ctx.fillText('Ps running these', 22, 11);
    ctx.font = MONO; ctx.fillStyle = MUTED;
    ctx.fillText(fitText(ctx, `max ${model.procs.max} · STW dark red`, LABEL_W - 30), 22, 24);
    const a = Math.max(sc.x0, sc.x(c0)), b = Math.min(sc.x1, sc.x(c1));
    uncovered(ctx, sc, 0, PLANE_H - 1);
    if (!(b > a)) return;
    const top = 3, bot = PLANE_H - 4;
    for (const [arr, color] of [[model.gc, GCW], [model.stw, STW]]) {
      ctx.fillStyle = color;
      for (const win of arr) {
        const xa = Math.max(a, sc.x(win.s)), xb = Math.min(b, sc.x(win.e));
        if (xb >= xa) ctx.fillRect(xa, top, Math.max(1, xb - xa), bot - top);
      }
    }
    // steps: per pixel column the highest count, so a short burst still shows
    const p = model.procs;
    const vy = (n) => bot - (n / Math.max(1, p.max)) * (bot - top - 2);
    let k = Math.max(0, upperBound(p.t, sc.t(a)) - 1);
    const kEnd = lowerBound(p.t, sc.t(b));
    ctx.beginPath();
    ctx.moveTo(a, bot);
    let col = -1, colMax = 0, lastY = bot;
    for (; k <= kEnd && k < p.t.length; k++) {
      const x = Math.max(a, Math.min(b, sc.x(p.t[k])));
      const c = Math.floor(x);
      if (c === col) { if (p.n[k] > colMax) { colMax = p.n[k]; lastY = vy(colMax); ctx.lineTo(x, lastY); } continue; }
      col = c; colMax = p.n[k];
      ctx.lineTo(x, lastY);
      lastY = vy(p.n[k]);
      ctx.lineTo(x, lastY);
    }
    ctx.lineTo(b, lastY);
    ctx.lineTo(b, bot);
    ctx.closePath();
    ctx.fillStyle = 'rgba(47,147,99,0.35)';
    ctx.fill();
    ctx.strokeStyle = '#2f9363'; ctx.lineWidth = 1; ctx.stroke();
  }

  /** What is under (x, y) of the box: {kind: 'procs'|'interval'|'wake'|'lane', ...} or null. */
  function hit(x, y) {
    if (!model) return null;
    const sc = o.scale();
    const t = sc.t(x);
    if (y < PLANE_H) return { kind: 'procs', t };
    const pos = (y - PLANE_H + scroll.scrollTop) / LANE_H;
    const k = Math.floor(pos);
    if (k < 0 || k >= model.lanes.length) return null;
    if (x < LABEL_W) return { kind: 'lane', lane: k, t };
    const c = model.covered;
    if (!c || t < c.s || t > c.e) return { kind: 'lane', lane: k, t, outside: true };
    const wk = wakeAt(model, t, 4 * sc.nsPerPx, pos);
    if (wk) return { kind: 'wake', wake: wk, lane: k, t };
    const i = intervalAt(model.lanes[k], t, 2 * sc.nsPerPx);
    return i >= 0 ? { kind: 'interval', lane: k, i, t } : { kind: 'lane', lane: k, t };
  }

  /** The wake a click on lane k at time t means: the goroutine's own wake of a span goroutine nearest t. */
  function wakeOfLane(k, t) {
    let best = null, bd = Infinity;
    for (const wk of model.wakes) {
      if (wk.from !== k) continue;
      const d = Math.abs(wk.t - t);
      if (d < bd) { bd = d; best = wk; }
    }
    return best;
  }

  /** A click: an arrow or a waker's lane jumps to the waking goroutine and its span. */
  function click(x, y) {
    const ht = hit(x, y);
    if (!ht || ht.kind === 'procs') return false;
    let wk = ht.kind === 'wake' ? ht.wake : null;
    if (!wk && model.lanes[ht.lane].role === 'waker') wk = wakeOfLane(ht.lane, ht.t);
    if (!wk) { selLane = ht.lane; selWake = null; el.dataset.selectedGoroutine = String(model.lanes[ht.lane].goroutine); o.requestDraw(); return true; }
    selWake = wk;
    const sp = wakeSpan(model, wk);
    el.dataset.selectedWake = `${wk.waker}>${model.lanes[wk.to].goroutine}`;
    el.dataset.wakerSpan = sp ? sp.span_id : '';
    if (wk.from >= 0) { selLane = wk.from; scrollToLane(wk.from); } else el.dataset.selectedGoroutine = String(wk.waker);
    o.requestDraw();
    o.onJump({ goroutine: wk.waker, exectrace_id: wk.exectrace_id, t: wk.t, span_id: sp ? sp.span_id : null, trace_id: sp ? sp.trace_id : null });
    return true;
  }

  /** The readout's lines for a hit: the interval with its stack, the wake with the waker's stack, the Ps. */
  function tooltip(ht, framesList) {
    if (!ht || !model) return [];
    const stack = (id) => (id != null && model.stacks[String(id)]) || [];
    if (ht.kind === 'procs') {
      const n = procsAt(model.procs, ht.t);
      const stw = model.stw.find((s) => ht.t >= s.s && ht.t <= s.e);
      const gc = model.gc.find((s) => ht.t >= s.s && ht.t <= s.e);
      return [h('div', { class: 'ro-block gor-tip', dataset: { kind: 'procs', procs: String(n) } },
        h('div', null, 'Ps running these goroutines ', h('span', { class: 'num' }, String(n))),
        stw ? h('div', { class: 'strong' }, `stop-the-world ${fmtDuration(stw.e - stw.s)}${stw.reason ? ` (${stw.reason})` : ''}`) : null,
        gc && !stw ? h('div', null, `GC running (${fmtDuration(gc.e - gc.s)})`) : null)];
    }
    const lane = model.lanes[ht.lane];
    if (ht.kind === 'wake') {
      const wk = ht.wake;
      const sp = wakeSpan(model, wk);
      return [h('div', { class: 'ro-block gor-tip', dataset: { kind: 'wake', waker: String(wk.waker) } },
        h('div', { class: 'strong' }, `goroutine ${wk.waker} woke goroutine ${model.lanes[wk.to].goroutine}`),
        h('div', { class: 'num muted' }, `at ${fmtOffset(wk.t)}`),
        h('div', { class: 'muted' }, sp ? `it ran span ${sp.span_id}${sp.trace_id ? ` of trace ${sp.trace_id.slice(0, 8)}…` : ''}: click to open it` : 'it ran no span; click to select it'),
        framesList(stack(wk.stack_id), { max: 10 }))];
    }
    if (ht.kind === 'interval') {
      const iv = lane.iv[ht.i];
      const label = CLASSES[lane.cls[ht.i]][1];
      return [h('div', { class: 'ro-block gor-tip', dataset: { kind: 'interval', goroutine: String(lane.goroutine), state: iv.state, reason: iv.reason || '' } },
        h('div', { class: 'strong' }, `goroutine ${lane.goroutine}: ${label}`),
        h('div', { class: 'num' }, `${fmtDuration(lane.e[ht.i] - lane.s[ht.i])} from ${fmtOffset(lane.s[ht.i])}${iv.clipped_start ? ' (began before the trace)' : ''}${iv.clipped_end ? ' (still so at the trace\'s end)' : ''}`),
        iv.raw_reason && iv.raw_reason !== iv.reason ? h('div', { class: 'muted' }, iv.raw_reason) : null,
        iv.span_id ? h('div', { class: 'muted num' }, `span ${iv.span_id}`) : null,
        framesList(stack(iv.stack_id), { max: 10 }))];
    }
    return [h('div', { class: 'ro-block gor-tip', dataset: { kind: 'lane', goroutine: String(lane.goroutine) } },
      h('div', { class: 'strong' }, `goroutine ${lane.goroutine}`),
      h('div', { class: 'muted' }, ht.outside ? 'no execution trace covers this moment' : lane.role === 'waker' ? 'woke the span\'s goroutines: click to follow' : 'ran the span'))];
  }

  return {
    el,
    box,
    /** Resolves the answer's stored traces ([] when none covers the span). */
    ready,
    draw,
    hit,
    click,
    tooltip,
    /** Where a goroutine's lane is in client pixels, at time t (tests and tools), or null. */
    laneBox(goroutine, t) {
      if (!model) return null;
      const k = model.lanes.findIndex((l) => l.goroutine === goroutine);
      if (k < 0) return null;
      scrollToLane(k);
      const b = box.getBoundingClientRect();
      return { x: b.left + o.scale().x(t), y: b.top + laneY(k) + LANE_H / 2, labelX: b.left + 60 };
    },
    /** Where the P lane is at time t in client pixels (tests and tools). */
    procsBox(t) {
      const b = box.getBoundingClientRect();
      return { x: b.left + o.scale().x(t), y: b.top + PLANE_H / 2 };
    },
    /** The arrow of the wake of `goroutine` by `waker` in client pixels (tests and tools), or null. */
    wakeBox(waker, goroutine) {
      if (!model) return null;
      const wk = model.wakes.find((x) => x.waker === waker && model.lanes[x.to].goroutine === goroutine);
      if (!wk) return null;
      const from = wk.from >= 0 ? wk.from : wk.to - 1;
      scrollToLane(wk.to);
      const b = box.getBoundingClientRect();
      const ya = laneY(from) + LANE_H / 2, yb = laneY(wk.to) + LANE_H / 2;
      return { x: b.left + Math.round(o.scale().x(wk.t)) + 0.5, y: b.top + (ya + yb) / 2, t: wk.t };
    },
    model: () => model,
    destroy() { destroyed = true; settle([]); ac.abort(); el.remove(); },
  };
}

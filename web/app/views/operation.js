// An operation's page (/operation/<service>/<name>): its counts and percentiles, a
// scatter of its spans' durations over time (the traces /api/search finds for it, up to
// the 1,000 slowest; click a dot to open the trace) with p50/p90/p99 guides, and the
// list of its slowest traces (j/k to move, Enter to open), then the "Woken by" panel
// (wakers.js), asked for only once the listing shows the operation has spans in the
// window: the endpoint answers 404 otherwise, a console error for nothing.

import { api } from '../lib/api.js';
import { fmtDuration, fmtCount, fmtClock, tickLabel, niceStep } from '../lib/format.js';
import { searchPoints, scatterLayout, hitPoint, durationTicks } from '../lib/scatter.js';
import { h, clear, loadingBox, errorBox, emptyBox } from '../ui/dom.js';
import { wakersPanel } from './wakers.js';
import { fitCanvas, onResize, FONT_SMALL, MONO } from '../ui/canvas.js';

const PLOT_H = 300;
const PAD = { l: 64, r: 16, t: 12, b: 28 };

export function mountOperation(root, state, ctx) {
  const ac = new AbortController();
  const { service, operation } = state;
  ctx.setTitle(`${operation} · ${service}`);
  ctx.setCrumbs([{ text: 'Services', href: '/' }, { text: service, href: ctx.href({ view: 'service', service }) }, { text: operation }]);
  const page = h('section', { class: 'operation-page', dataset: { state: 'loading' } });
  const head = h('div', { class: 'page-head' },
    h('h1', null, operation, h('span', { class: 'muted' }, ` · ${service}`)),
    h('div', { class: 'stats' }, loadingBox('percentiles')),
    h('a', { class: 'btn', href: ctx.href({ view: 'compare', service, operation }) }, 'Compare slow vs fast spans'));
  const plotBox = h('section', { class: 'card' }, h('h2', null, 'Durations over time'), loadingBox('requests'));
  const listBox = h('section', { class: 'card' }, h('h2', null, 'Slowest traces'));
  page.append(head, plotBox, listBox);
  root.append(page);
  let stats = null, points = [], layout = null, canvas = null, tip = null, focusIdx = -1, rows = [];
  const cleanups = [];

  api.allOperations(service, { signal: ac.signal }).then(({ rows }) => {
    stats = rows.find((o) => o.name === operation) || null;
    const box = head.querySelector('.stats');
    clear(box);
    if (!stats) { box.append(h('span', { class: 'muted' }, `no spans named “${operation}” in ${service}`)); return; }
    page.append(wakersPanel(service, operation, ctx, { signal: ac.signal }).el);
    const stat = (k, v, cls = '') => h('div', { class: `stat ${cls}` }, h('div', { class: 'muted small' }, k), h('div', { class: 'num' }, v));
    box.append(stat('requests', fmtCount(stats.count)), stat('p50', fmtDuration(stats.p50_ns)), stat('p90', fmtDuration(stats.p90_ns)),
      stat('p99', fmtDuration(stats.p99_ns), 'strong'), stat('max', fmtDuration(stats.max_ns)));
    if (layout) draw();
  }).catch((err) => { if (err.name !== 'AbortError') clear(head.querySelector('.stats')).append(errorBox(err, 'Service')); });

  api.search({ service, name: operation, limit: 1000 }, { signal: ac.signal }).then((ans) => {
    page.dataset.state = 'ready';
    points = searchPoints(ans);
    const slowest = (ans.traces || []).slice(0, 25);
    clear(plotBox).append(h('h2', null, 'Durations over time'));
    if (!points.length) {
      plotBox.append(emptyBox(`No traces with a span named “${operation}” in ${service}.`));
      clear(listBox).append(h('h2', null, 'Slowest traces'), emptyBox('Nothing yet.'));
      return;
    }
    const note = points.length >= 1000 ? `The 1,000 slowest of ${stats ? fmtCount(stats.count) : 'its'} requests.` : `All ${fmtCount(points.length)} traces with this operation.`;
    canvas = h('canvas', { class: 'scatter-canvas', role: 'img', 'aria-label': `Scatter of ${points.length} ${operation} durations over time; click a dot to open its trace` });
    tip = h('div', { class: 'flame-tip', hidden: true });
    const wrap = h('div', { class: 'scatter', dataset: { points: String(points.length) } }, canvas, tip);
    plotBox.append(h('p', { class: 'muted small' }, `${note} One dot per trace: the duration of its slowest “${operation}” span. Click a dot to open the trace.`), wrap);
    cleanups.push(onResize(wrap, draw));
    wireScatter(wrap);
    renderList(slowest);
    draw();
  }).catch((err) => {
    if (err.name === 'AbortError') return;
    page.dataset.state = 'error';
    clear(plotBox).append(errorBox(err, 'Requests'));
  });

  function renderList(slowest) {
    clear(listBox).append(h('h2', null, 'Slowest traces'));
    const tb = h('tbody');
    rows = [];
    slowest.forEach((t, i) => {
      const href = ctx.href({ view: 'trace', traceId: t.traceID });
      const tr = h('tr', { dataset: { traceId: t.traceID } },
        h('td', { class: 'num muted' }, String(i + 1)),
        h('td', { class: 'num' }, h('a', { href, class: 'trace-link' }, t.traceID)),
        h('td', { class: 'num' }, fmtClock(Number(t.startTimeUnixNano))),
        h('td', { class: 'num strong' }, fmtDuration((t.matchedSpanDurationMs ?? t.durationMs) * 1e6)),
        h('td', { class: 'num' }, fmtDuration(t.durationMs * 1e6)),
        h('td', null, `${t.rootServiceName} · ${t.rootTraceName || ''}`));
      rows.push({ tr, href });
      tb.append(tr);
    });
    listBox.append(h('table', { class: 'traces', dataset: { traces: String(slowest.length) } },
      h('thead', null, h('tr', null, h('th', null, '#'), h('th', null, 'trace'), h('th', null, 'started (UTC)'), h('th', { class: 'num' }, operation), h('th', { class: 'num' }, 'whole trace'), h('th', null, 'root'))), tb),
    h('p', { class: 'muted small' }, 'j/k or ↓/↑ to move, Enter to open.'));
  }

  function draw() {
    if (!canvas) return;
    const wrap = canvas.parentElement;
    const w = wrap.clientWidth || 800;
    const c = fitCanvas(canvas, w, PLOT_H);
    const area = { x0: PAD.l, x1: w - PAD.r, y0: PAD.t, y1: PLOT_H - PAD.b };
    layout = scatterLayout(points, area);
    c.clearRect(0, 0, w, PLOT_H);
    // y grid and labels
    c.font = MONO;
    c.textBaseline = 'middle';
    for (const v of durationTicks(layout.msMin, layout.msMax, layout.log)) {
      const y = Math.round(layout.y(v));
      c.fillStyle = '#edf0f4';
      c.fillRect(area.x0, y, area.x1 - area.x0, 1);
      c.fillStyle = '#5b6472';
      const s = fmtDuration(v * 1e6);
      c.fillText(s, area.x0 - 6 - c.measureText(s).width, y);
    }
    // x axis: seconds since the first point
    const span = layout.tMax - layout.tMin;
    const step = niceStep(span, Math.max(2, Math.floor((area.x1 - area.x0) / 110)));
    c.textBaseline = 'top';
    for (let t = Math.ceil((layout.tMin - points[0].t) / step) * step; points[0].t + t <= layout.tMax; t += step) {
      const x = Math.round(layout.x(points[0].t + t));
      c.fillStyle = '#edf0f4';
      c.fillRect(x, area.y0, 1, area.y1 - area.y0);
      c.fillStyle = '#5b6472';
      const s = t === 0 ? fmtClock(points[0].t, { ms: false }).slice(11) : `+${tickLabel(t, step)}`;
      c.fillText(s, Math.min(w - c.measureText(s).width - 2, x - c.measureText(s).width / 2), area.y1 + 8);
    }
    // percentile guides
    c.font = FONT_SMALL;
    c.textBaseline = 'bottom';
    if (stats) {
      for (const [k, ns, color] of [['p50', stats.p50_ns, '#2f9363'], ['p90', stats.p90_ns, '#d9822b'], ['p99', stats.p99_ns, '#a61b29']]) {
        const y = Math.round(layout.y(ns / 1e6));
        if (y < area.y0 || y > area.y1) continue;
        c.strokeStyle = color;
        c.setLineDash([5, 4]);
        c.beginPath(); c.moveTo(area.x0, y + 0.5); c.lineTo(area.x1, y + 0.5); c.stroke();
        c.setLineDash([]);
        c.fillStyle = color;
        c.fillText(`${k} ${fmtDuration(ns)}`, area.x1 - 90, y - 2);
      }
    }
    // dots, slow ones (≥ p90) in red
    const p90 = stats ? stats.p90_ns / 1e6 : Infinity;
    for (const q of layout.pts) {
      c.fillStyle = q.p.ms >= p90 ? 'rgba(196,70,90,0.75)' : 'rgba(59,111,212,0.55)';
      c.beginPath(); c.arc(q.x, q.y, 3, 0, Math.PI * 2); c.fill();
    }
    c.fillStyle = '#d9dee6';
    c.fillRect(area.x0, area.y1, area.x1 - area.x0, 1);
    c.fillRect(area.x0, area.y0, 1, area.y1 - area.y0);
  }

  function wireScatter(wrap) {
    const at = (ev) => { const b = canvas.getBoundingClientRect(); return hitPoint(layout, ev.clientX - b.left, ev.clientY - b.top, 7); };
    canvas.addEventListener('mousemove', (ev) => {
      const q = layout && at(ev);
      canvas.style.cursor = q ? 'pointer' : '';
      if (!q) { tip.hidden = true; return; }
      tip.textContent = `${fmtDuration(q.p.ms * 1e6)} · ${fmtClock(q.p.t)} · trace ${q.p.traceID.slice(0, 12)}…`;
      tip.hidden = false;
      const b = wrap.getBoundingClientRect();
      tip.style.left = `${Math.max(0, Math.min(b.width - 300, q.x + 10))}px`;
      tip.style.top = `${q.y + 12}px`;
    });
    canvas.addEventListener('mouseleave', () => { tip.hidden = true; });
    canvas.addEventListener('click', (ev) => {
      const q = layout && at(ev);
      if (q) ctx.navigate({ view: 'trace', traceId: q.p.traceID });
    });
  }

  function onKey(ev) {
    if (!rows.length) return false;
    if (ev.key === 'j' || ev.key === 'ArrowDown' || ev.key === 'k' || ev.key === 'ArrowUp') {
      const dir = ev.key === 'j' || ev.key === 'ArrowDown' ? 1 : -1;
      focusIdx = Math.max(0, Math.min(rows.length - 1, focusIdx < 0 ? 0 : focusIdx + dir));
      rows.forEach((r, i) => r.tr.classList.toggle('focused', i === focusIdx));
      rows[focusIdx].tr.scrollIntoView({ block: 'nearest' });
      ctx.announce(`trace ${focusIdx + 1}: Enter opens it`);
      return true;
    }
    if (ev.key === 'Enter' && focusIdx >= 0) { ctx.navigateHref(rows[focusIdx].href); return true; }
    return false;
  }

  return { update() {}, destroy() { ac.abort(); for (const c of cleanups) c(); page.remove(); }, onKey };
}

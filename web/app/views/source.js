// One source (a service instance) over all the time it has sent runtime data: on one
// zoomable canvas timeline, its GC cycles, heap live against goal (per cycle, /gc), the
// GC's CPU share (/gc/pressure steps), goroutine counts (its goroutine snapshots), and its
// early-warning events (/events) and triggered captures as markers; then its leak suspects
// (/goroutines/growth) and its heap growth from the first heap profile to the last
// (/heap/growth: the top stacks, the differential flame graph of compare.js, the pprof).
// Wheel zooms, drag pans, double-click or 0 resets, + and − zoom; the zoom is kept in the
// URL (t0/t1, ms from the first data), replacing the history entry, as on the trace page.

import { api, heapGrowthPprofUrl } from '../lib/api.js';
import { fmtBytes, fmtCount, fmtPct, fmtClock, fmtDuration, ticks } from '../lib/format.js';
import { makeScale, clampView, zoomView, panView, wheelFactor } from '../lib/scale.js';
import { h, clear, loadingBox, errorBox, emptyBox } from '../ui/dom.js';
import { fitCanvas, fitText, onResize, FONT_SMALL, FONT_BOLD } from '../ui/canvas.js';
import { diffFlame } from './compare.js';

const LANES = [
  { kind: 'gc', h: 24, label: 'GC cycles' },
  { kind: 'heap', h: 60, label: 'heap live / goal' },
  { kind: 'gccpu', h: 40, label: 'GC CPU' },
  { kind: 'goroutines', h: 46, label: 'goroutines' },
  { kind: 'markers', h: 22, label: 'events / captures' },
];
const SECOND = 1000000000n;
const AXIS_H = 20, LABEL_W = 130;
const GOAL = '#9aa4b5', LIVE = '#3b6fd4', CPU = '#d9822b', GOR = '#2e8b57', EVENT = '#c0392b', INK = '#1d2330', GRID = '#e3e7ee';

/** A time of the API (number or digit string, unix ns) as a BigInt. */
const bigNs = (t) => BigInt(typeof t === 'number' ? Math.round(t) : String(t));
/** The leaf frame a person recognises a stack by: the first one outside the runtime. */
const leafFunction = (frames, key) => {
  const f = frames.find((x) => !String(x[key]).startsWith('runtime.')) || frames[0];
  return f ? f[key] : '?';
};

export function mountSource(root, state, ctx) {
  const ac = new AbortController();
  const o = { signal: ac.signal };
  const id = state.sourceId;
  const destroyers = [];
  ctx.setTitle(`Source ${id}`);
  ctx.setCrumbs([{ text: 'Services', href: '/' }, { text: `source ${id}` }]);
  const page = h('section', { class: 'source-page', dataset: { state: 'loading', sourceId: String(id) } });
  const head = h('div', { class: 'page-head' }, h('h1', null, `Source ${id}`));
  const body = h('div', null, loadingBox('the source'));
  page.append(head, body);
  root.append(page);
  let timeline = null;

  load().catch((err) => {
    if (err.name === 'AbortError') return;
    page.dataset.state = 'error';
    clear(body).append(errorBox(err, 'Source'));
  });

  async function load() {
    const { rows } = await api.allSources(o);
    const src = rows.find((s) => Number(s.id) === id);
    if (!src) throw Object.assign(new Error(`no source ${id} (GET /api/v1/sources does not list it)`), { status: 404 });
    const label = [src.service, src.instance].filter(Boolean).join(' · ') + (src.host ? ` @ ${src.host}` : '');
    ctx.setTitle(label);
    ctx.setCrumbs([{ text: 'Services', href: '/' }, { text: src.service, href: ctx.href({ view: 'service', service: src.service }) }, { text: label }]);
    clear(head).append(h('h1', null, label, h('span', { class: 'muted' }, ` · source ${id}`)),
      h('p', { class: 'muted small num' }, `${fmtClock(Number(src.first_ns))} – ${fmtClock(Number(src.last_ns))}`));
    // the source's whole time, a second wider each side (times may be JSON numbers, exact to 256 ns)
    const win = { start: String(bigNs(src.first_ns) - SECOND), end: String(bigNs(src.last_ns) + SECOND) };
    const [gc, pressure, snaps, events, growth] = await Promise.all([
      api.sourceGc(id, { ...win, limit: 10000 }, o), api.gcPressure(id, win, o),
      api.sourceSnapshots(id, { ...win, limit: 10000 }, o), api.sourceEvents(id, { ...win, limit: 10000 }, o),
      api.goroutineGrowth(id, win, o),
    ]);
    clear(body);
    const base = bigNs(src.first_ns);
    const model = buildModel(base, bigNs(src.last_ns), gc, pressure, snaps, events);
    const tlSec = h('section', { class: 'card', dataset: { role: 'source-timeline' } }, h('h2', null, 'Over time'));
    body.append(tlSec);
    timeline = sourceTimeline(model, tlSec, state.t0 != null ? { t0: state.t0, t1: state.t1 } : null,
      (v, whole) => ctx.replace(whole ? { view: 'source', sourceId: id } : { view: 'source', sourceId: id, t0: v.t0, t1: v.t1 }));
    destroyers.push(timeline.destroy);
    body.append(suspectsCard(growth));
    const heapSec = h('section', { class: 'card', dataset: { role: 'heap-growth', state: 'loading' } }, h('h2', null, 'Heap growth'), loadingBox('the heap growth'));
    body.append(heapSec);
    page.dataset.state = 'ready';
    await heapCard(heapSec, snaps, win);
  }

  async function heapCard(sec, snaps, win) {
    const heaps = (snaps.snapshots || []).filter((s) => s.kind === 'heap' || s.kind === 'allocs')
      .sort((a, b) => (bigNs(a.time_ns) < bigNs(b.time_ns) ? -1 : 1));
    const done = (...els) => { sec.lastChild.remove(); sec.append(...els); sec.dataset.state = 'ready'; };
    if (heaps.length < 2) {
      done(emptyBox(`${heaps.length ? 'One heap profile' : 'No heap profile'}: the growth needs two.`, 'Push heap profiles to /api/v1/ingest/heap.'));
      return;
    }
    // the first profile against the last: times may come as JSON numbers (exact to 256 ns
    // only), so the base's window ends halfway to the second profile, the target's is the
    // rest of the page's window
    const mid = (bigNs(heaps[0].time_ns) + bigNs(heaps[1].time_ns)) / 2n;
    const params = { start: String(mid), end: win.end, base_start: win.start, base_end: String(mid) };
    let g;
    try {
      g = await api.heapGrowth(id, params, o);
    } catch (err) {
      if (err.name === 'AbortError') throw err;
      sec.dataset.state = 'error';
      sec.lastChild.remove();
      sec.append(errorBox(err, 'Heap growth'));
      return;
    }
    const tot = g.total || {};
    const table = h('table', { class: 'heap-table' }, h('thead', null, h('tr', null, h('th', null, 'stack (leaf first)'),
      h('th', { class: 'num' }, 'grew'), h('th', { class: 'num' }, 'objects'), h('th', { class: 'num' }, 'at the base'))));
    const tb = h('tbody');
    for (const s of g.stacks || []) {
      tb.append(h('tr', { class: 'heap-stack', dataset: { function: leafFunction(s.frames, 'function') } },
        h('td', null, h('div', { class: 'fn' }, leafFunction(s.frames, 'function')),
          h('div', { class: 'muted small' }, s.frames.slice(1, 4).map((f) => f.function).join(' ‹ '))),
        h('td', { class: 'num' }, `+${fmtBytes(Number(s.bytes))}`), h('td', { class: 'num' }, `+${fmtCount(Number(s.objects))}`),
        h('td', { class: 'num' }, fmtBytes(Number(s.base_bytes)))));
    }
    table.append(tb);
    const link = h('a', { class: 'pprof-link', href: heapGrowthPprofUrl(id, params), download: `heap-growth-${g.base.snapshot_id}-${g.target.snapshot_id}.pb.gz` }, 'download pprof');
    const els = [h('p', { class: 'muted small num' },
      `${g.sample}: ${fmtClock(Number(g.base.time_ns))} (snapshot ${g.base.snapshot_id}) → ${fmtClock(Number(g.target.time_ns))} (snapshot ${g.target.snapshot_id}); net ${Number(tot.bytes) >= 0 ? '+' : '−'}${fmtBytes(Math.abs(Number(tot.bytes)))} · `, link),
    (g.stacks || []).length ? table : emptyBox('No stack grew between the two profiles.')];
    if (g.flame && (g.flame.children || []).length) {
      const fg = diffFlame(g.flame, {
        sides: ['target', 'base'], label: (k) => ` width = ${k === 'target' ? 'the later' : 'the earlier'} profile`, name: 'heap-flame-by',
        info: (n) => `${n.name} — now ${fmtBytes(n.target)} · before ${fmtBytes(n.base)} · ${n.delta >= 0 ? '+' : '−'}${fmtBytes(Math.abs(n.delta || 0))}`,
      });
      destroyers.push(fg.destroy);
      els.push(h('h3', null, 'Differential flame graph'), h('p', { class: 'muted small' }, 'Red: grew, blue: shrank. Click a frame to zoom.'), fg.el);
    }
    done(...els);
  }

  return {
    /** Back/forward within the page: another zoom. */
    update(st) { if (timeline) timeline.setView(st.t0 != null ? { t0: st.t0, t1: st.t1 } : null); },
    destroy() { ac.abort(); for (const d of destroyers) d(); page.remove(); },
    onKey: (ev) => (timeline ? timeline.onKey(ev) : false),
  };
}

/** The timeline's series with times in ns from `base` (Numbers: exact enough for pixels). */
function buildModel(base, lastNs, gc, pressure, snaps, events) {
  const rel = (t) => Number(bigNs(t) - base);
  const cycles = (gc.cycles || []).map((c) => ({ s: rel(c.start_ns), e: rel(c.end_ns), live: Number(c.heap_live_bytes || c.heap_after_bytes || 0), goal: Number(c.goal_bytes || 0) }))
    .sort((a, b) => a.s - b.s);
  const step = Number(pressure.step_ns || 0);
  const cpu = (pressure.points || []).map((p) => ({ s: rel(p.time_ns), e: rel(p.time_ns) + step, v: Number(p.gc_cpu || 0), cycles: p.cycles }));
  const all = (snaps.snapshots || []).map((s) => ({ t: rel(s.time_ns), kind: s.kind, total: s.total, trigger: s.trigger || '' })).sort((a, b) => a.t - b.t);
  const gor = all.filter((s) => s.kind === 'goroutine' && s.total != null).map((s) => ({ t: s.t, v: Number(s.total) }));
  const ev = (events.events || []).map((e) => ({ t: rel(e.time_ns), rule: e.rule, message: e.message }));
  const triggered = all.filter((s) => s.trigger);
  let end = Number(lastNs - base);
  for (const c of cycles) end = Math.max(end, c.e);
  return { cycles, cpu, gor, ev, triggered, snaps: all, end: Math.max(end, 1), gcMore: !!gc.more };
}

/**
 * The zoomable canvas of a source's lanes, showing `initial` ({t0, t1}, null: all);
 * onView(view, whole) hears of each zoom and pan. Returns {destroy, onKey, setView}.
 */
function sourceTimeline(m, sec, initial, onView) {
  const limits = { t0: -m.end * 0.02, t1: m.end * 1.02 };
  let view = initial ? clampView(initial, limits) : { ...limits };
  const height = AXIS_H + LANES.reduce((a, l) => a + l.h, 0);
  const canvas = h('canvas', { class: 'source-canvas', role: 'img', 'aria-label': 'the source over time' });
  const tip = h('div', { class: 'source-tip muted small num', role: 'status' }, ' ');
  const maxHeap = Math.max(1, ...m.cycles.map((c) => Math.max(c.live, c.goal)));
  const maxCpu = Math.max(0.01, ...m.cpu.map((p) => p.v));
  const maxG = Math.max(1, ...m.gor.map((p) => p.v));
  const box = h('div', { class: 'source-lanes', dataset: { gcCycles: String(m.cycles.length), goroutinePoints: String(m.gor.length), cpuPoints: String(m.cpu.length), events: String(m.ev.length), triggered: String(m.triggered.length) } }, canvas);
  sec.append(h('p', { class: 'muted small' }, `${fmtCount(m.cycles.length)} GC cycles${m.gcMore ? ' (more not read)' : ''} · ${m.gor.length} goroutine counts · ${m.ev.length} events · wheel: zoom · drag: pan · double-click or 0: whole time`),
    box, tip);
  const events = h('ul', { class: 'source-events small' }, m.ev.map((e) => h('li', { class: 'source-event', dataset: { rule: e.rule } }, h('span', { class: 'num' }, fmtDuration(e.t)), ' ', h('strong', null, e.rule), ` ${e.message}`)));
  if (m.ev.length) sec.append(events);
  let raf = 0, shown = null;
  const request = () => { if (!raf) raf = requestAnimationFrame(() => { raf = 0; draw(); }); };
  /** Reports a changed view (once per frame at most) and redraws. */
  function changed() {
    request();
    if (shown && shown.t0 === view.t0 && shown.t1 === view.t1) return;
    shown = view;
    onView(view, view.t0 === limits.t0 && view.t1 === limits.t1);
  }

  function draw() {
    const w = box.clientWidth || 800;
    const g = fitCanvas(canvas, w, height);
    g.clearRect(0, 0, w, height);
    const sc = makeScale(view, LABEL_W, w - 8);
    g.font = FONT_SMALL;
    g.textBaseline = 'middle';
    // axis: offsets from the first data
    const tk = ticks(view.t0, view.t1, Math.max(2, Math.floor((w - LABEL_W) / 110)));
    g.fillStyle = GRID;
    for (const k of tk.ticks) g.fillRect(Math.round(sc.x(k.t)), 0, 1, height);
    g.fillStyle = INK;
    for (const k of tk.ticks) g.fillText(k.label, sc.x(k.t) + 3, AXIS_H / 2);
    let y = AXIS_H;
    for (const lane of LANES) {
      g.fillStyle = GRID;
      g.fillRect(0, y + lane.h - 1, w, 1);
      g.fillStyle = INK;
      g.font = FONT_BOLD;
      g.fillText(fitText(g, lane.label, LABEL_W - 8), 6, y + 10);
      g.font = FONT_SMALL;
      g.save();
      g.beginPath();
      g.rect(sc.x0, y, sc.x1 - sc.x0, lane.h);
      g.clip();
      const note = drawLane(g, sc, lane, y); // the lane's scale, under its label
      g.restore();
      if (note) { g.fillStyle = '#5b6578'; g.fillText(fitText(g, note, LABEL_W - 8), 6, y + 26); }
      y += lane.h;
    }
  }

  function drawLane(g, sc, lane, y) {
    const top = y + 4, bot = y + lane.h - 4;
    if (lane.kind === 'gc') {
      g.fillStyle = CPU;
      let last = -1;
      for (const c of m.cycles) {
        const x0 = sc.x(c.s), x1 = sc.x(c.e);
        if (x1 < sc.x0 || x0 > sc.x1) continue;
        const x = Math.floor(x0);
        if (x1 - x0 < 1.5 && x === last) continue; // one tick per pixel column
        last = x;
        g.fillRect(x, top, Math.max(1, x1 - x0), bot - top);
      }
    } else if (lane.kind === 'heap') {
      const vy = (v) => bot - (v / (maxHeap * 1.05)) * (bot - top);
      line(g, sc, m.cycles, (c) => c.e, (c) => vy(c.goal), GOAL, true);
      line(g, sc, m.cycles, (c) => c.e, (c) => vy(c.live), LIVE, false);
      return `max ${fmtBytes(maxHeap)}`;
    } else if (lane.kind === 'gccpu') {
      g.fillStyle = CPU;
      for (const p of m.cpu) {
        const x0 = sc.x(p.s), x1 = sc.x(p.e);
        if (x1 < sc.x0 || x0 > sc.x1) continue;
        const hh = (p.v / maxCpu) * (bot - top);
        g.fillRect(x0, bot - hh, Math.max(1, x1 - x0 - 1), hh);
      }
      return `max ${fmtPct(maxCpu)}`;
    } else if (lane.kind === 'goroutines') {
      const vy = (v) => bot - (v / (maxG * 1.05)) * (bot - top);
      line(g, sc, m.gor, (p) => p.t, (p) => vy(p.v), GOR, true);
      g.fillStyle = GOR;
      for (const p of m.gor) g.fillRect(sc.x(p.t) - 2, vy(p.v) - 2, 4, 4);
      return `max ${fmtCount(maxG)}`;
    } else if (lane.kind === 'markers') {
      g.fillStyle = '#7a8599';
      for (const s of m.snaps) g.fillRect(Math.round(sc.x(s.t)), top + 6, 1, bot - top - 6);
      g.fillStyle = CPU;
      for (const s of m.triggered) triangle(g, sc.x(s.t), top, bot);
      g.fillStyle = EVENT;
      for (const e of m.ev) triangle(g, sc.x(e.t), top, bot);
    }
    return '';
  }

  function onWheel(ev) {
    ev.preventDefault();
    const b = canvas.getBoundingClientRect();
    const sc = makeScale(view, LABEL_W, b.width - 8);
    view = zoomView(view, wheelFactor(ev.deltaY, ev.deltaMode), sc.t(ev.clientX - b.left), limits);
    changed();
  }
  let drag = null;
  function onDown(ev) { if (ev.button === 0) { drag = { x: ev.clientX, view }; canvas.setPointerCapture(ev.pointerId); } }
  function onMove(ev) {
    const b = canvas.getBoundingClientRect();
    const sc = makeScale(view, LABEL_W, b.width - 8);
    if (drag) {
      const k = makeScale(drag.view, LABEL_W, b.width - 8).nsPerPx;
      view = panView(drag.view, -(ev.clientX - drag.x) * k, limits);
      changed();
      return;
    }
    tip.textContent = readout(sc.t(ev.clientX - b.left), sc.nsPerPx * 4) || ' ';
  }
  function onUp() { drag = null; }
  function reset() { view = { ...limits }; changed(); }
  function readout(t, near) {
    const parts = [fmtDuration(Math.max(0, t))];
    const c = lastBefore(m.cycles, t, (x) => x.e);
    if (c) parts.push(`heap live ${fmtBytes(c.live)}, goal ${fmtBytes(c.goal)}`);
    const p = m.cpu.find((x) => t >= x.s && t < x.e);
    if (p) parts.push(`GC CPU ${fmtPct(p.v)} (${p.cycles} cycles)`);
    const gp = lastBefore(m.gor, t, (x) => x.t);
    if (gp) parts.push(`${fmtCount(gp.v)} goroutines`);
    for (const e of m.ev) if (Math.abs(e.t - t) <= near) parts.push(`${e.rule}: ${e.message}`);
    return parts.join(' · ');
  }
  canvas.addEventListener('wheel', onWheel, { passive: false });
  canvas.addEventListener('pointerdown', onDown);
  canvas.addEventListener('pointermove', onMove);
  canvas.addEventListener('pointerup', onUp);
  canvas.addEventListener('dblclick', reset);
  const stop = onResize(box, request);
  request();
  return {
    destroy() { stop(); if (raf) cancelAnimationFrame(raf); },
    setView(v) { view = v ? clampView(v, limits) : { ...limits }; shown = view; request(); },
    onKey(ev) {
      if (ev.key === '+' || ev.key === '=') { view = zoomView(view, 1.5, null, limits); changed(); return true; }
      if (ev.key === '-' || ev.key === '−') { view = zoomView(view, 1 / 1.5, null, limits); changed(); return true; }
      if (ev.key === '0') { reset(); return true; }
      const w = view.t1 - view.t0;
      if (ev.key === 'ArrowLeft') { view = panView(view, -w / 8, limits); changed(); return true; }
      if (ev.key === 'ArrowRight') { view = panView(view, w / 8, limits); changed(); return true; }
      return false;
    },
  };
}

/** The last element whose key is ≤ t, or null (arrays here are sorted by key). */
function lastBefore(arr, t, key) {
  let lo = 0, hi = arr.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (key(arr[mid]) <= t) lo = mid + 1; else hi = mid; }
  return lo ? arr[lo - 1] : null;
}

/** A polyline (steps when `step`) through the points in view, one vertex per pixel column at most. */
function line(g, sc, pts, tx, vy, color, step) {
  g.strokeStyle = color;
  g.lineWidth = 1.5;
  g.beginPath();
  let started = false, lastX = -Infinity, prevY = 0;
  for (const p of pts) {
    const x = sc.x(tx(p)), y = vy(p);
    if (x < sc.x0 - 50 && !started) { prevY = y; continue; }
    if (!started) { g.moveTo(Math.max(sc.x0, x), y); started = true; } else if (x - lastX >= 1) {
      if (step) g.lineTo(x, prevY);
      g.lineTo(x, y);
    }
    lastX = x;
    prevY = y;
    if (x > sc.x1 + 50) break;
  }
  g.stroke();
}

function triangle(g, x, top, bot) {
  g.beginPath();
  g.moveTo(x, bot);
  g.lineTo(x - 5, top);
  g.lineTo(x + 5, top);
  g.closePath();
  g.fill();
}

/** The leak suspects, fastest growing first. */
function suspectsCard(growth) {
  const sus = growth.suspects || [];
  const sec = h('section', { class: 'card', dataset: { role: 'leak-suspects', suspects: String(sus.length) } }, h('h2', null, 'Leak suspects'));
  if (!sus.length) {
    sec.append(emptyBox('No goroutine stack keeps growing.', 'A suspect needs at least 3 goroutine snapshots whose count rises (docs/API.md "Growth").'));
    return sec;
  }
  const snapsNote = growth.snapshots ? Object.entries(growth.snapshots).map(([k, v]) => `${v} ${k}`).join(', ') : '';
  sec.append(h('p', { class: 'muted small' }, `Goroutine stacks whose count keeps growing across the snapshots${snapsNote ? ` (${snapsNote})` : ''}.`));
  for (const s of sus) {
    const fn = leafFunction(s.stack || [], 'func');
    const counts = (s.counts || []).map((c) => c.count);
    sec.append(h('div', { class: 'suspect', dataset: { function: fn, proven: String(!!s.proven_leaked) } },
      h('div', { class: 'suspect-head' }, h('strong', { class: 'fn' }, fn),
        s.proven_leaked ? h('span', { class: 'badge proven', title: 'a goroutine leak profile lists these goroutines: blocked for good' }, 'proven leaked') : null,
        h('span', { class: 'muted small num' }, ` ${s.state || ''}${s.wait_reason ? ` (${s.wait_reason})` : ''} · +${Number(s.growth_per_hour).toFixed(1)}/h · counts ${counts.join(' → ')} · first seen ${fmtClock(Number(s.first_seen_ns))}`)),
      (s.operations || []).length ? h('div', { class: 'small' }, 'created by ', (s.operations || []).map((op, i) => [i ? ', ' : '', h('span', { class: 'op' }, `${op.name} (${op.count})`)])) : null,
      (s.spans || []).length ? h('div', { class: 'small' }, 'spans: ', s.spans.slice(0, 5).map((sp, i) => [i ? ' ' : '', h('a', { class: 'num', href: `/trace/${sp.trace_id}?span=${sp.span_id}` }, sp.span_id)])) : null,
      h('details', null, h('summary', { class: 'small' }, 'stack'), h('ol', { class: 'frames small' },
        (s.stack || []).map((f) => h('li', null, h('span', { class: 'fn' }, f.func), h('span', { class: 'muted loc' }, ` ${f.file}:${f.line}`)))))));
  }
  return sec;
}

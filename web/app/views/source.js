// One source (a service instance) over all the time it has sent runtime data: on one
// zoomable canvas timeline, its runtime per step from /series (GC cycles, heap live and
// goal, the GC's CPU share, goroutines, captures), its early-warning events (/events) and
// triggered captures as markers; then its leak suspects (/goroutines/growth) and its heap
// growth from the first heap profile to the last (/heap/growth: the top stacks, the
// differential flame graph of compare.js, the pprof).
// The lanes come from /series for the whole time at the canvas's width first; after a zoom
// or a pan (150 ms after the last one, aborting the request before it) from /series for
// the window in view at the canvas's width, so zooming in reaches the raw rows. GC cycles
// are drawn one by one (from /gc for the window in view) when the view holds at most 2,000
// of them, else as cycles per second. Wheel zooms, drag pans, double-click or 0 resets, +
// and − zoom; the zoom is kept in the URL (t0/t1, ms from the first data), replacing the
// history entry, as on the trace page.

import { api, heapGrowthPprofUrl } from '../lib/api.js';
import { fmtBytes, fmtCount, fmtPct, fmtClock, fmtDuration, ticks } from '../lib/format.js';
import { makeScale, clampView, zoomView, panView, wheelFactor } from '../lib/scale.js';
import { seriesModel, mergeSeries, pointAt, pointsIn, cyclesIn, maxIn, seriesParams, covers, planView, gcBars, capturesText, bigNs, BARS_MAX_CYCLES } from '../lib/series.js';
import { h, clear, loadingBox, errorBox, emptyBox } from '../ui/dom.js';
import { fitCanvas, fitText, onResize, FONT_SMALL, FONT_BOLD } from '../ui/canvas.js';
import { diffFlame } from './compare.js';

const LANES = [
  { kind: 'gc', h: 28, label: 'GC cycles' },
  { kind: 'heap', h: 60, label: 'heap live / goal' },
  { kind: 'gccpu', h: 40, label: 'GC CPU' },
  { kind: 'goroutines', h: 46, label: 'goroutines' },
  { kind: 'markers', h: 32, label: 'captures / events' },
];
const SECOND = 1000000000n;
const AXIS_H = 20, LABEL_W = 130, RIGHT = 8;
/** Wait this long after the last zoom or pan before asking for the window in view. */
const DEBOUNCE_MS = 150;
/** The most GC cycles read for bars: the view's (at most BARS_MAX_CYCLES) and those just before it. */
const GC_LIMIT = BARS_MAX_CYCLES + BARS_MAX_CYCLES / 4;
const GOAL = '#9aa4b5', LIVE = '#3b6fd4', LIVE_MAX = 'rgba(59, 111, 212, 0.18)', CPU = '#d9822b', STW = '#8b1a1a', GOR = '#2e8b57',
  GOR_MAX = 'rgba(46, 139, 87, 0.18)', EVENT = '#c0392b', CAPTURE = '#7a8599', INK = '#1d2330', GRID = '#e3e7ee';

/** The leaf frame a person recognises a stack by: the first one outside the runtime. */
const leafFunction = (frames, key) => {
  const f = frames.find((x) => !String(x[key]).startsWith('runtime.')) || frames[0];
  return f ? f[key] : '?';
};
/** A rate per second, short. */
const fmtRate = (v) => (v >= 100 ? fmtCount(Math.round(v)) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

export function mountSource(root, state, ctx) {
  const ac = new AbortController();
  const o = { signal: ac.signal };
  const id = state.sourceId;
  // with several shards, a source id is its shard's own (docs/FEDERATION.md): every read
  // of it names the shard (a link from a federated timeline carries it)
  const shard = state.shard || undefined;
  const sh = shard ? { shard } : {};
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
    const { rows } = await api.allSources(o, shard);
    if (!shard) {
      // a link without a shard on a front: the listing is every shard's, and the id may be
      // several processes' (docs/FEDERATION.md): one is taken as it is, several are offered
      const fed = rows.filter((s) => Number(s.id) === id && s.shard);
      if (fed.length === 1) {
        ctx.navigate({ ...state, shard: fed[0].shard }, { replace: true });
        return;
      }
      if (fed.length > 1) {
        page.dataset.state = 'choose';
        clear(body).append(h('section', { class: 'card', dataset: { role: 'shard-choice' } },
          h('p', null, `Source ${id} is an id of ${fed.length} shards, each its own process: which one?`),
          h('ul', { class: 'source-list' }, fed.map((s) => h('li', null,
            h('a', { href: ctx.href({ view: 'source', sourceId: id, shard: s.shard }), dataset: { shard: s.shard } },
              [s.service, s.instance].filter(Boolean).join(' · ')), h('span', { class: 'muted small num' }, ` on ${s.shard}`))))));
        return;
      }
    }
    const src = rows.find((s) => Number(s.id) === id && (!s.shard || s.shard === shard));
    if (!src) throw Object.assign(new Error(`no source ${id} (GET /api/v1/sources does not list it)`), { status: 404 });
    const label = [src.service, src.instance].filter(Boolean).join(' · ') + (src.host ? ` @ ${src.host}` : '');
    ctx.setTitle(label);
    ctx.setCrumbs([{ text: 'Services', href: '/' }, { text: src.service, href: ctx.href({ view: 'service', service: src.service }) }, { text: label }]);
    clear(head).append(h('h1', null, label, h('span', { class: 'muted' }, ` · source ${id}${shard ? ` on ${shard}` : ''}`)),
      h('p', { class: 'muted small num' }, `${fmtClock(Number(src.first_ns))} – ${fmtClock(Number(src.last_ns))}`));
    // the source's whole time, a second wider each side (times may be JSON numbers, exact to 256 ns)
    const win = { start: String(bigNs(src.first_ns) - SECOND), end: String(bigNs(src.last_ns) + SECOND) };
    // one point per pixel of the plot (the card's padding and the label column aside)
    const width = Math.max(100, (body.clientWidth || 1000) - 2 * 17 - LABEL_W - RIGHT);
    const [series, events, growth, heaps] = await Promise.all([
      api.series(id, { ...win, ...sh, points: Math.min(5000, Math.round(width)) }, o),
      api.sourceEvents(id, { ...win, ...sh, limit: 10000 }, o),
      api.goroutineGrowth(id, { ...win, ...sh }, o),
      heapProfiles(win),
    ]);
    clear(body);
    const base = bigNs(src.first_ns);
    const tlSec = h('section', { class: 'card', dataset: { role: 'source-timeline' } }, h('h2', null, 'Over time'));
    body.append(tlSec);
    const whole = seriesModel(series, base, win);
    const ev = (events.events || []).map((e) => ({ t: Number(bigNs(e.time_ns) - base), rule: e.rule, message: e.message })).sort((a, b) => a.t - b.t);
    let end = Number(bigNs(src.last_ns) - base);
    for (const p of whole.points) end = Math.max(end, Math.min(p.e, whole.e));
    timeline = sourceTimeline({ id, sh, base, whole, ev, eventsMore: !!events.more, end: Math.max(end, 1), signal: ac.signal }, tlSec,
      state.t0 != null ? { t0: state.t0, t1: state.t1 } : null,
      (v, isWhole) => ctx.replace(isWhole ? { view: 'source', sourceId: id, ...sh } : { view: 'source', sourceId: id, ...sh, t0: v.t0, t1: v.t1 }));
    destroyers.push(timeline.destroy);
    body.append(suspectsCard(growth));
    const heapSec = h('section', { class: 'card', dataset: { role: 'heap-growth', state: 'loading' } }, h('h2', null, 'Heap growth'), loadingBox('the heap growth'));
    body.append(heapSec);
    page.dataset.state = 'ready';
    await heapCard(heapSec, heaps, win);
  }

  /** The first two heap profiles of the window (else of allocation profiles), oldest first. */
  async function heapProfiles(win) {
    const heap = await api.sourceSnapshots(id, { ...win, ...sh, kind: 'heap', limit: 2 }, o);
    if ((heap.snapshots || []).length >= 2) return heap.snapshots;
    const allocs = await api.sourceSnapshots(id, { ...win, ...sh, kind: 'allocs', limit: 2 }, o);
    return (allocs.snapshots || []).length >= 2 ? allocs.snapshots : heap.snapshots || [];
  }

  /** The heap growth from the first of `heaps` (the first two profiles, oldest first) to the window's last profile. */
  async function heapCard(sec, heaps, win) {
    const done = (...els) => { sec.lastChild.remove(); sec.append(...els); sec.dataset.state = 'ready'; };
    if (heaps.length < 2) {
      done(emptyBox(`${heaps.length ? 'One heap profile' : 'No heap profile'}: the growth needs two.`, 'Push heap profiles to /api/v1/ingest/heap.'));
      return;
    }
    // the first profile against the last: times may come as JSON numbers (exact to 256 ns
    // only), so the base's window ends halfway to the second profile, the target's is the
    // rest of the page's window
    const mid = (bigNs(heaps[0].time_ns) + bigNs(heaps[1].time_ns)) / 2n;
    const params = { start: String(mid), end: win.end, base_start: win.start, base_end: String(mid), ...sh };
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

/**
 * The zoomable canvas of a source's lanes. `d`: {id, sh ({shard} or {}), base (BigInt unix ns), whole (the
 * series model of the whole time), ev (events, ns from base), end, signal}; shows
 * `initial` ({t0, t1}, null: all); onView(view, whole) hears of each zoom and pan.
 * Returns {destroy, onKey, setView}.
 */
function sourceTimeline(d, sec, initial, onView) {
  const { id, sh, base, whole, ev } = d;
  const limits = { t0: -d.end * 0.02, t1: d.end * 1.02 };
  let view = initial ? clampView(initial, limits) : { ...limits };
  const height = AXIS_H + LANES.reduce((a, l) => a + l.h, 0);
  const canvas = h('canvas', { class: 'source-canvas', role: 'img', 'aria-label': 'the source over time' });
  const tip = h('div', { class: 'source-tip muted small num', role: 'status' }, ' ');
  const tot = whole.totals;
  // figures for tests and readers: the whole time's totals, then what the view shows
  const box = h('div', { class: 'source-lanes', dataset: {
    gcCycles: String(tot.cycles), goroutinePoints: String(tot.snaps), captures: String(tot.captures), events: String(ev.length),
    triggered: String(tot.triggered), seriesAnswers: '1', detail: 'none', resolution: whole.resolution, stepNs: String(whole.step),
    gcMode: '', gcBars: '0', pending: '1',
  } }, canvas);
  const status = h('span', { class: 'source-res' }, '');
  sec.append(h('p', { class: 'muted small' }, `${fmtCount(tot.cycles)} GC cycles · ${fmtCount(tot.snaps)} goroutine snapshots · ${fmtCount(tot.captures)} captures${capturesText(tot.byKind) ? ` (${capturesText(tot.byKind)})` : ''} · ${ev.length}${d.eventsMore ? '+' : ''} events · `,
    status, ' · wheel: zoom · drag: pan · double-click or 0: whole time'), box, tip);
  const events = h('ul', { class: 'source-events small' }, ev.map((e) => h('li', { class: 'source-event', dataset: { rule: e.rule } }, h('span', { class: 'num' }, fmtDuration(e.t)), ' ', h('strong', null, e.rule), ` ${e.message}`)));
  if (ev.length) sec.append(events);

  let detail = null; // the series of the window last asked for (null: the whole one is enough)
  let pts = whole.points; // what the lanes draw: detail inside its window, whole outside
  let bars = null; // {s, e, more, cycles}: /gc of a window holding few cycles
  let timer = 0, inflight = null, answers = 1, destroyed = false, lastAsked = null;
  let raf = 0, shown = null;
  const plotWidth = () => Math.max(1, (box.clientWidth || 800) - LABEL_W - RIGHT);
  const request = () => { if (!raf) raf = requestAnimationFrame(() => { raf = 0; draw(); }); };
  /** Reports a changed view (once per frame at most), redraws, and asks for its data soon. */
  function changed() {
    request();
    schedule(DEBOUNCE_MS);
    if (shown && shown.t0 === view.t0 && shown.t1 === view.t1) return;
    shown = view;
    onView(view, view.t0 === limits.t0 && view.t1 === limits.t1);
  }
  function schedule(ms) {
    clearTimeout(timer);
    box.dataset.pending = '1'; // a refresh is due or under way (tests wait for '0')
    timer = setTimeout(() => { timer = 0; refresh().catch(failed); }, ms);
  }
  function failed(err) {
    if (destroyed || (err && err.name === 'AbortError')) return;
    box.dataset.detail = 'error';
    status.textContent = `could not read the window in view: ${err.message || err}`;
  }

  /** The data of the view: /series of the window (unless the whole answer covers it) and /gc when it holds few cycles. */
  async function refresh() {
    if (inflight) inflight.abort();
    const my = new AbortController();
    inflight = my;
    const stop = () => my.abort();
    d.signal.addEventListener('abort', stop, { once: true });
    const v = view;
    try {
      const w = plotWidth();
      const plan = planView(v, limits, whole, detail, w);
      if (plan === 'whole') {
        detail = null; // the whole answer serves the whole time (asked at about this width) and what it resolves
        pts = whole.points;
        lastAsked = null;
      } else if (plan === 'fetch') {
        const params = seriesParams(v, base, w);
        if (!lastAsked || lastAsked.start !== params.start || lastAsked.end !== params.end || lastAsked.points !== params.points) {
          box.dataset.detail = 'loading';
          const ans = await api.series(id, { ...params, ...sh }, { signal: my.signal });
          lastAsked = params;
          detail = seriesModel(ans, base, params);
          pts = mergeSeries(whole, detail);
          box.dataset.seriesAnswers = String(++answers);
          box.dataset.viewStart = params.start;
          box.dataset.viewEnd = params.end;
        }
      }
      const m = detail && covers(detail, v) ? detail : whole;
      box.dataset.resolution = m.resolution;
      box.dataset.stepNs = String(m.step);
      const n = cyclesIn(pts, v.t0, v.t1);
      if (n > 0 && n <= BARS_MAX_CYCLES && !(bars && covers(bars, v) && !bars.more)) {
        // from a quarter of the view (at most a minute) earlier, so that a cycle that started
        // before the view and ends in it is drawn too: ~BARS_MAX_CYCLES / 4 more at most
        const pad = Math.min((v.t1 - v.t0) / 4, 60e9);
        const p = seriesParams({ t0: v.t0 - pad, t1: v.t1 }, base, 1);
        const g = await api.sourceGc(id, { start: p.start, end: p.end, limit: GC_LIMIT, ...sh }, { signal: my.signal });
        bars = { s: v.t0, e: v.t1, more: !!g.more, cycles: gcBars(g, base) };
      }
      box.dataset.detail = detail ? 'ready' : 'none';
      request();
    } finally {
      d.signal.removeEventListener('abort', stop);
      if (inflight === my) inflight = null;
      if (!inflight && !timer) { box.dataset.pending = '0'; request(); }
    }
  }
  /** Cycles one by one when the view holds few (and /gc answered all of them), else per step. */
  function gcMode() {
    if (!(bars && covers(bars, view) && !bars.more)) return 'density';
    return cyclesIn(pts, view.t0, view.t1) <= BARS_MAX_CYCLES ? 'bars' : 'density';
  }

  function draw() {
    const w = box.clientWidth || 800;
    const g = fitCanvas(canvas, w, height);
    g.clearRect(0, 0, w, height);
    const sc = makeScale(view, LABEL_W, w - RIGHT);
    g.font = FONT_SMALL;
    g.textBaseline = 'middle';
    // axis: offsets from the first data
    const tk = ticks(view.t0, view.t1, Math.max(2, Math.floor((w - LABEL_W) / 110)));
    g.fillStyle = GRID;
    for (const k of tk.ticks) g.fillRect(Math.round(sc.x(k.t)), 0, 1, height);
    g.fillStyle = INK;
    for (const k of tk.ticks) g.fillText(k.label, sc.x(k.t) + 3, AXIS_H / 2);
    const [from, to] = pointsIn(pts, view.t0, view.t1);
    const mode = gcMode();
    box.dataset.gcMode = mode;
    const m = detail && covers(detail, view) ? detail : whole;
    status.textContent = `${m.resolution === 'raw' ? 'raw rows' : 'per-minute rollups'}, ${fmtDuration(m.step)} steps`;
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
      const note = drawLane(g, sc, lane, y, from, to, mode); // the lane's scale, under its label
      g.restore();
      if (note) { g.fillStyle = '#5b6578'; g.fillText(fitText(g, note, LABEL_W - 8), 6, y + 24); }
      y += lane.h;
    }
  }

  function drawLane(g, sc, lane, y, from, to, mode) {
    const top = y + 4, bot = y + lane.h - 4;
    const span = (p) => [Math.max(sc.x0, sc.x(p.s)), Math.min(sc.x1, sc.x(p.e))];
    /** A bar per step (at least a pixel wide), height v/max. */
    const stepBars = (val, max, color) => {
      g.fillStyle = color;
      for (let i = from; i < to; i++) {
        const v = val(pts[i]);
        if (v == null || v <= 0) continue;
        const [x0, x1] = span(pts[i]);
        const hh = Math.max(1, (Math.min(v, max) / max) * (bot - top));
        g.fillRect(x0, bot - hh, Math.max(1, x1 - x0 - (x1 - x0 > 3 ? 1 : 0)), hh);
      }
    };
    if (lane.kind === 'gc') {
      if (mode === 'bars') {
        const cyc = bars.cycles;
        let last = -1, drawn = 0;
        for (const c of cyc) {
          const x0 = sc.x(c.s), x1 = sc.x(c.e);
          if (x1 < sc.x0 || x0 > sc.x1) continue;
          drawn++;
          const x = Math.floor(x0);
          if (x1 - x0 < 1.5 && x === last) continue; // one tick per pixel column
          last = x;
          g.fillStyle = CPU;
          g.fillRect(x, top, Math.max(1, x1 - x0), bot - top);
          g.fillStyle = STW;
          for (const [a, b] of c.stw) if (sc.x(b) - sc.x(a) >= 1) g.fillRect(sc.x(a), top, sc.x(b) - sc.x(a), bot - top);
        }
        box.dataset.gcBars = String(drawn);
        return `${fmtCount(drawn)} cycles`;
      }
      box.dataset.gcBars = '0';
      const rate = (p) => (p.cycles * 1e9) / Math.max(1, p.e - p.s);
      const max = maxIn(pts, from, to, rate);
      if (!max) return '';
      stepBars(rate, max, CPU);
      return `max ${fmtRate(max)}/s`;
    } else if (lane.kind === 'heap') {
      const max = Math.max(1, maxIn(pts, from, to, (p) => Math.max(p.liveMax || 0, p.live || 0, p.goal || 0)));
      const vy = (v) => bot - (v / (max * 1.05)) * (bot - top);
      g.fillStyle = LIVE_MAX; // the largest live heap of each step behind its last
      for (let i = from; i < to; i++) {
        const p = pts[i];
        if (p.liveMax == null) continue;
        const [x0, x1] = span(p);
        g.fillRect(x0, vy(p.liveMax), Math.max(1, x1 - x0), bot - vy(p.liveMax));
      }
      stepLine(g, sc, pts, from, to, (p) => p.goal, vy, GOAL);
      stepLine(g, sc, pts, from, to, (p) => p.live, vy, LIVE);
      return `max ${fmtBytes(max)}`;
    } else if (lane.kind === 'gccpu') {
      const max = Math.max(0.001, maxIn(pts, from, to, (p) => p.cpu));
      stepBars((p) => p.cpu, max, CPU);
      return `max ${fmtPct(max)}`;
    } else if (lane.kind === 'goroutines') {
      const max = Math.max(1, maxIn(pts, from, to, (p) => Math.max(p.gorMax || 0, p.gor || 0)));
      const vy = (v) => bot - (v / (max * 1.05)) * (bot - top);
      g.fillStyle = GOR_MAX;
      for (let i = from; i < to; i++) {
        const p = pts[i];
        if (p.gorMax == null) continue;
        const [x0, x1] = span(p);
        g.fillRect(x0, vy(p.gorMax), Math.max(1, x1 - x0), bot - vy(p.gorMax));
      }
      stepLine(g, sc, pts, from, to, (p) => p.gor, vy, GOR);
      let counts = 0;
      for (let i = from; i < to && counts < (sc.x1 - sc.x0) / 8; i++) if (pts[i].gor != null) counts++;
      if (counts < (sc.x1 - sc.x0) / 8) { // few enough to mark each step's count
        g.fillStyle = GOR;
        for (let i = from; i < to; i++) if (pts[i].gor != null) g.fillRect(sc.x(pts[i].s) - 2, vy(pts[i].gor) - 2, 4, 4);
      }
      return `max ${fmtCount(max)}`;
    } else if (lane.kind === 'markers') {
      // a tick per step with captures (taller for more), amber for steps with triggered ones, red for events
      const maxN = Math.max(1, maxIn(pts, from, to, (p) => p.capN));
      g.fillStyle = CAPTURE;
      let last = -1;
      for (let i = from; i < to; i++) {
        const p = pts[i];
        if (!p.capN) continue;
        const x = Math.round(sc.x(p.s));
        if (x === last) continue;
        last = x;
        const hh = 4 + (Math.log1p(p.capN) / Math.log1p(maxN)) * (bot - top - 10);
        g.fillRect(x, bot - hh, 1, hh);
      }
      g.fillStyle = CPU;
      for (let i = from; i < to; i++) if (pts[i].triggered) triangle(g, sc.x((pts[i].s + pts[i].e) / 2), top, bot);
      g.fillStyle = EVENT;
      for (const e of ev) if (e.t >= view.t0 && e.t <= view.t1) triangle(g, sc.x(e.t), top, bot);
      return `max ${fmtCount(maxN)} / step`;
    }
    return '';
  }

  function onWheel(e) {
    e.preventDefault();
    const b = canvas.getBoundingClientRect();
    const sc = makeScale(view, LABEL_W, b.width - RIGHT);
    view = zoomView(view, wheelFactor(e.deltaY, e.deltaMode), sc.t(e.clientX - b.left), limits);
    changed();
  }
  let drag = null;
  function onDown(e) { if (e.button === 0) { drag = { x: e.clientX, view }; canvas.setPointerCapture(e.pointerId); } }
  function onMove(e) {
    const b = canvas.getBoundingClientRect();
    const sc = makeScale(view, LABEL_W, b.width - RIGHT);
    if (drag) {
      const k = makeScale(drag.view, LABEL_W, b.width - RIGHT).nsPerPx;
      view = panView(drag.view, -(e.clientX - drag.x) * k, limits);
      changed();
      return;
    }
    tip.textContent = readout(sc.t(e.clientX - b.left), sc.nsPerPx * 4) || ' ';
  }
  function onUp() { drag = null; }
  function reset() { view = { ...limits }; changed(); }
  /** The values at time t (ns from the first data): its step's, the GC cycle under it, events within `near`. */
  function readout(t, near) {
    const parts = [`${t < 0 ? '−' : '+'}${fmtDuration(Math.abs(t))}`];
    const p = pointAt(pts, t);
    if (p) {
      parts.push(`${fmtDuration(p.e - p.s)} step at ${fmtClock(Number(base + BigInt(Math.round(p.s))))}`);
      if (p.cycles) parts.push(`${fmtCount(p.cycles)} GC cycles, CPU ${fmtPct(p.cpu || 0)}${p.p99 != null ? `, pauses p50 ${fmtDuration(p.p50)} p99 ${fmtDuration(p.p99)}` : ''}`);
      if (p.live != null) parts.push(`heap live ${fmtBytes(p.live)}${p.liveMax != null && p.liveMax > p.live ? ` (max ${fmtBytes(p.liveMax)})` : ''}, goal ${fmtBytes(p.goal || 0)}`);
      if (p.alloc != null) parts.push(`alloc ${fmtBytes(p.alloc)}/s`);
      if (p.gor != null) parts.push(`${fmtCount(p.gor)} goroutines${p.gorMax != null && p.gorMax > p.gor ? ` (max ${fmtCount(p.gorMax)})` : ''}`);
      if (p.capN) parts.push(`captures: ${capturesText(p.captures)}${p.triggered ? ` (${p.triggered} triggered)` : ''}`);
    }
    if (gcMode() === 'bars') {
      const c = bars.cycles.find((x) => t >= x.s - near / 4 && t <= x.e + near / 4);
      if (c) parts.push(`GC cycle ${c.n}: ${fmtDuration(c.e - c.s)}${c.stwNs != null ? `, stop-the-world ${fmtDuration(c.stwNs)}` : ''}`);
    }
    for (const e of ev) if (Math.abs(e.t - t) <= near) parts.push(`${e.rule}: ${e.message}`);
    return parts.join(' · ');
  }
  canvas.addEventListener('wheel', onWheel, { passive: false });
  canvas.addEventListener('pointerdown', onDown);
  canvas.addEventListener('pointermove', onMove);
  canvas.addEventListener('pointerup', onUp);
  canvas.addEventListener('dblclick', reset);
  let lastW = 0;
  const stop = onResize(box, () => {
    request();
    const w = plotWidth();
    if (lastW && Math.abs(w - lastW) > 50) schedule(DEBOUNCE_MS); // another width: other points
    lastW = w;
  });
  request();
  schedule(0); // a zoom from the URL, or GC bars for a whole time with few cycles
  return {
    destroy() { destroyed = true; stop(); clearTimeout(timer); if (inflight) inflight.abort(); if (raf) cancelAnimationFrame(raf); },
    setView(v) { view = v ? clampView(v, limits) : { ...limits }; shown = view; request(); schedule(DEBOUNCE_MS); },
    onKey(e) {
      if (e.key === '+' || e.key === '=') { view = zoomView(view, 1.5, null, limits); changed(); return true; }
      if (e.key === '-' || e.key === '−') { view = zoomView(view, 1 / 1.5, null, limits); changed(); return true; }
      if (e.key === '0') { reset(); return true; }
      const w = view.t1 - view.t0;
      if (e.key === 'ArrowLeft') { view = panView(view, -w / 8, limits); changed(); return true; }
      if (e.key === 'ArrowRight') { view = panView(view, w / 8, limits); changed(); return true; }
      return false;
    },
  };
}

/**
 * A step line through the values of the points [from, to): each held over its step and
 * until the next value (points without one are skipped), x kept near the plot.
 */
function stepLine(g, sc, pts, from, to, val, vy, color) {
  g.strokeStyle = color;
  g.lineWidth = 1.5;
  g.beginPath();
  const cx = (x) => Math.max(sc.x0 - 2, Math.min(sc.x1 + 2, x));
  let started = false, lastY = 0;
  for (let i = from; i < to; i++) {
    const v = val(pts[i]);
    if (v == null) continue;
    const x0 = cx(sc.x(pts[i].s)), x1 = cx(sc.x(pts[i].e)), y = vy(v);
    if (!started) { g.moveTo(x0, y); started = true; } else { g.lineTo(x0, lastY); g.lineTo(x0, y); }
    g.lineTo(x1, y);
    lastY = y;
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

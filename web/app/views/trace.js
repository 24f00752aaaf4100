// The trace page (/trace/<id>?span=&t0=&t1=&snapshot=): the span waterfall and, on the
// same time axis, the runtime lanes of every source from /timeline; under the selected
// span, its goroutines' lanes from the stored execution traces (views/gorlanes.js); the
// explanation's summary from /explain; a side panel for the selected span or an open
// snapshot.
// Wheel zooms (over the spans: Ctrl+wheel, since the wheel scrolls them), dragging pans,
// Shift+drag or a drag on the axis zooms to a range; a cursor line shows the exact time
// and the lanes' values. Figures for tests and readers: data-* attributes and a hidden
// list; window.__mwPerf has the render times.

import { api, viewerConfig } from '../lib/api.js';
import { normalizeTraceId } from '../lib/route.js';
import { grafanaExploreUrl } from '../lib/grafana.js';
import { fmtDuration, fmtExact } from '../lib/format.js';
import { makeScale, clampView, zoomView, panView, rangeView, wheelFactor } from '../lib/scale.js';
import { buildWaterfall, visibleRows, ancestors, stepRow } from '../lib/waterfall.js';
import { timelineModel, layoutLanes, laneAt, snapshotNear, gcCount } from '../lib/lanes.js';
import { explainIndex } from '../lib/explain.js';
import { h, clear, loadingBox, errorBox, emptyBox } from '../ui/dom.js';
import { fitCanvas, onResize } from '../ui/canvas.js';
import { drawAxis, drawWaterfall, drawLanes, LABEL_W, ROW_H, AXIS_H, RIGHT_PAD } from './trace-draw.js';
import { buildTraceDom, readoutLines } from './trace-parts.js';
import { spanPanel, framesList } from './spanpanel.js';
import { goroutineLanes } from './gorlanes.js';
import { snapshotPanel } from './snapshotpanel.js';

export function mountTrace(root, state, ctx) {
  const t00 = performance.now();
  const perf = { traceId: state.traceId, firstFrameMs: null, firstDrawMs: null, fetchMs: null, sinceNavigationMs: null, panFrameMs: [], frames: 0 };
  window.__mwPerf = perf;
  const ac = new AbortController();
  const page = h('section', { class: 'trace-page', dataset: { state: 'loading' } });
  root.append(page);
  let destroyed = false;
  let cur = { ...state };
  const cleanups = [];

  const id = normalizeTraceId(state.traceId);
  ctx.setTitle(`Trace ${String(state.traceId).slice(0, 8)}`);
  ctx.setCrumbs([{ text: 'Services', href: '/' }, { text: `trace ${String(state.traceId).slice(0, 32)}`, mono: true }]);
  if (!id) {
    page.dataset.state = 'error';
    page.append(errorBox({ status: 400, message: `“${state.traceId}” is not a trace id: a trace id is 32 hexadecimal digits.` }, 'Trace'));
    return { update() {}, destroy() {}, onKey() { return false; } };
  }
  page.append(loadingBox('trace'));

  // ------------------------------------------------------------------ state
  let tl = null, wf = null, models = [], lanesLayout = null, base = 0, traceEnd = 1, limits = null, defaultView = null;
  let view = null, visible = [], collapsed = new Set();
  let selected = -1, focused = -1;
  let missingSpan = null; // a span id the URL asked for that the trace does not have
  let explain = null, explainErr = null, exIndex = new Map();
  let panel = null; // {kind: 'span'|'snapshot', key, obj}
  let gor = null; // the selected span's goroutine lanes: {key, obj}
  let els = null;
  let dragging = null;
  let hover = null; // {x, y} in main's coordinates
  let drawQueued = false, panningFrame = false;
  let lastTk = null;

  Promise.all([
    api.timeline(id, { signal: ac.signal }).then((j) => { perf.fetchMs = performance.now() - t00; return j; }),
  ]).then(([timeline]) => {
    if (destroyed) return;
    build(timeline);
  }).catch((err) => {
    if (destroyed || (err && err.name === 'AbortError')) return;
    page.dataset.state = 'error';
    clear(page).append(errorBox(err, 'Trace'));
    ctx.announce(err.message);
  });
  api.explain(id, { signal: ac.signal }).then((ex) => {
    if (destroyed) return;
    explain = ex;
    exIndex = explainIndex(ex);
    if (els) { renderSummary(); renderPanel(true); }
  }).catch((err) => {
    if (destroyed || (err && err.name === 'AbortError')) return;
    explainErr = err;
    if (els) { renderSummary(); renderPanel(true); }
  });

  // ------------------------------------------------------------------ building the page
  function build(timeline) {
    tl = timeline;
    base = tl.start_ns;
    traceEnd = Math.max(1, tl.end_ns - base);
    wf = buildWaterfall(tl.spans || [], base);
    models = timelineModel(tl, base);
    lanesLayout = layoutLanes(models);
    const w0 = tl.window ? tl.window.start_ns - base : 0, w1 = tl.window ? tl.window.end_ns - base : traceEnd;
    limits = { t0: Math.min(w0, 0), t1: Math.max(w1, traceEnd) };
    defaultView = rangeView(0, traceEnd, limits, 0.02);
    view = cur.t0 != null ? clampView({ t0: cur.t0, t1: cur.t1 }, limits) : defaultView;
    visible = visibleRows(wf, collapsed);
    const rootRow = wf.rows.find((r) => r.depth === 0);
    ctx.setTitle(`${rootRow ? rootRow.span.name : 'Trace'} · ${fmtDuration(traceEnd)}`);
    ctx.setCrumbs([
      { text: 'Services', href: '/' },
      ...(rootRow ? [{ text: rootRow.service, href: ctx.href({ view: 'service', service: rootRow.service }) },
        { text: rootRow.span.name, href: ctx.href({ view: 'operation', service: rootRow.service, operation: rootRow.span.name }) }] : []),
      { text: `trace ${id.slice(0, 8)}…`, mono: true },
    ]);
    clear(page);
    page.dataset.state = 'ready';
    page.dataset.traceId = id;
    makeDom(rootRow);
    addGrafanaLink();
    applyState(cur, true);
    if (!wf.rows.length) els.wfBox.replaceWith(emptyBox('This trace has no spans.'));
    requestDraw();
    window.__mwTrace = { spanBox, markerBox, view: () => ({ ...view }), benchDraw, benchPan, gor: () => (gor ? gor.obj : null), setView: (v) => setView(v) };
  }

  /** Redraws n times, panning a little each time; returns the mean ms of each part (tools, tests). */
  function benchDraw(n = 20) {
    const parts = { all: 0 };
    const v0 = view;
    for (let i = 0; i < n; i++) {
      view = panView(v0, ((i % 2) - 0.5) * (v0.t1 - v0.t0) * 0.01, limits);
      const t = performance.now();
      drawAll(parts);
      parts.all += performance.now() - t;
    }
    view = v0;
    requestDraw();
    for (const k of Object.keys(parts)) parts[k] /= n;
    return parts;
  }

  /**
   * Pans the view by `frac` of its width n times (back and forth), one redraw a frame as
   * a drag does (tools, bench/lanes); resolves each frame's draw time, whole and of the
   * goroutine lanes: {all: [ms], goroutines: [ms]}.
   */
  async function benchPan(n = 60, frac = 0.01) {
    const out = { all: [], goroutines: [] };
    for (let i = 0; i < n; i++) {
      const dir = Math.floor(i / 15) % 2 ? -1 : 1;
      view = panView(view, dir * (view.t1 - view.t0) * frac, limits);
      await new Promise((r) => requestAnimationFrame(() => {
        const parts = {};
        const t = performance.now();
        panningFrame = true;
        drawAll(parts);
        panningFrame = false;
        out.all.push(performance.now() - t);
        out.goroutines.push(parts.goroutines || 0);
        r();
      }));
    }
    requestDraw();
    return out;
  }

  /** Where a span's bar is on the screen (client pixels), scrolling it into view; for tests and tools. */
  function spanBox(spanId) {
    const ri = wf.byId.get(spanId);
    if (ri == null) return null;
    ensureVisible(ri);
    const k = visible.indexOf(ri);
    const b = els.main.getBoundingClientRect();
    const sc = scale();
    const r = wf.rows[ri];
    const x0 = Math.max(sc.x0, sc.x(r.start)), x1 = Math.min(sc.x1, Math.max(sc.x(r.end), x0 + 1));
    const y = els.wfBox.offsetTop + k * ROW_H - els.wfScroll.scrollTop + ROW_H / 2;
    return { x: b.left + (x0 + x1) / 2, y: b.top + y, labelX: b.left + 140 };
  }
  /** Where a snapshot's marker is on the screen (client pixels), or null if out of view. */
  function markerBox(snapshotId) {
    const sc = scale();
    const b = els.main.getBoundingClientRect();
    for (const lane of lanesLayout.lanes) {
      if (lane.kind !== 'snapshots') continue;
      if ((models[lane.source].shard || '') !== (cur.shard || '')) continue; // ids are each shard's own
      const s = models[lane.source].snapshots.find((x) => x.id === snapshotId);
      if (!s) continue;
      const x = sc.x(s.t);
      if (x < sc.x0 || x > sc.x1) return null;
      return { x: b.left + x, y: b.top + els.lanesBox.offsetTop + lane.y + lane.h / 2 };
    }
    return null;
  }

  function makeDom(rootRow) {
    els = buildTraceDom({
      wf, models, layout: lanesLayout, visible, rootRow, traceEnd, base, summary: explain ? explain.summary : 'Explaining…', href: ctx.href,
      onZoomOut: () => zoomBy(1 / 1.6), onZoomIn: () => zoomBy(1.6), onReset: resetZoom,
    });
    page.append(els.head, els.toolbar, els.body);
    layoutHeights();
    wireEvents();
    cleanups.push(onResize(els.main, () => { layoutHeights(); requestDraw(); }));
  }

  /** "Open in Grafana": Explore on the configured Tempo data source, this trace's query. */
  function addGrafanaLink() {
    viewerConfig().then((cfg) => {
      const href = cfg && grafanaExploreUrl(cfg.grafana, id, { startNs: tl.start_ns, endNs: tl.end_ns });
      const slot = els && els.head.querySelector('.grafana-slot');
      if (destroyed || !href || !slot) return;
      slot.append(h('a', {
        class: 'btn small grafana-link', href, target: '_blank', rel: 'noopener noreferrer',
        title: `This trace in Grafana Explore (${cfg.grafana.url}, data source ${cfg.grafana.datasource_uid})`,
      }, 'Open in Grafana ↗'));
    });
  }

  function layoutHeights() {
    const total = visible.length * ROW_H;
    const avail = Math.max(140, Math.round(window.innerHeight * 0.42));
    const hh = Math.max(ROW_H, Math.min(total, avail));
    els.wfBox.style.height = `${hh}px`;
    els.spacer.style.height = `${total}px`;
    els.lanesBox.style.minHeight = `${lanesLayout.height}px`;
  }

  function renderSummary() {
    const p = els.head.querySelector('[data-role=summary]');
    if (explain) { p.textContent = explain.summary || ''; p.classList.remove('error'); }
    else if (explainErr) { p.textContent = `No explanation: ${explainErr.message}`; p.classList.add('error'); }
  }

  // ------------------------------------------------------------------ geometry and drawing
  const width = () => els.main.clientWidth || 800;
  const scale = () => makeScale(view, LABEL_W, width() - RIGHT_PAD);

  function requestDraw() {
    if (drawQueued || destroyed) return;
    drawQueued = true;
    requestAnimationFrame(frame);
  }

  function frame() {
    drawQueued = false;
    if (destroyed || !els) return;
    const t0 = performance.now();
    drawAll();
    const dt = performance.now() - t0;
    perf.frames++;
    if (perf.firstDrawMs == null) {
      perf.firstDrawMs = dt;
      perf.firstFrameMs = performance.now() - t00;
      perf.sinceNavigationMs = performance.now();
      els.main.dataset.firstFrame = 'done';
    }
    if (panningFrame) { perf.panFrameMs.push(dt); if (perf.panFrameMs.length > 1000) perf.panFrameMs.shift(); panningFrame = false; }
    perf.lastFrameMs = dt;
  }

  function drawAll(timing) {
    const w = width();
    const sc = scale();
    const sel = dragging && dragging.mode === 'select' ? [dragging.x0, dragging.x] : null;
    let t = performance.now();
    const lap = (k) => { if (timing) { const n = performance.now(); timing[k] = (timing[k] || 0) + n - t; t = n; } };
    const tk = drawAxis(fitCanvas(els.axis, w, AXIS_H), { w }, { sc, base, selection: sel, traceEnd });
    lastTk = tk;
    lap('axis');
    const wh = els.wfBox.clientHeight;
    if (wf.rows.length && wh > 0) {
      drawWaterfall(fitCanvas(els.wfCanvas, w, wh), { w, h: wh }, {
        sc, tk, wf, visible, scrollTop: els.wfScroll.scrollTop, selected, focused, collapsed, traceEnd,
      });
    }
    lap('waterfall');
    if (models.length) {
      const sr = selected >= 0 ? wf.rows[selected] : null;
      drawLanes(fitCanvas(els.lanesCanvas, w, lanesLayout.height), { w }, {
        sc, tk, models, layout: lanesLayout, colorOf: wf.colorOf, band: sr ? [sr.start, sr.end] : null,
        openSnapshot: cur.snapshot, openShard: cur.shard, traceEnd,
      });
    }
    lap('lanes');
    if (gor) gor.obj.draw({ pan: panningFrame });
    lap('goroutines');
    // what is in view, for tests and readers
    let gcVisible = 0;
    for (const m of models) gcVisible += gcCount(m, sc.t0, sc.t1);
    els.lanesBox.dataset.gcVisible = String(gcVisible);
    els.main.dataset.t0 = String(Math.round(view.t0));
    els.main.dataset.t1 = String(Math.round(view.t1));
    els.main.dataset.selectedSpan = selected >= 0 ? wf.rows[selected].span.span_id : '';
    els.main.dataset.focusedSpan = focused >= 0 ? wf.rows[focused].span.span_id : '';
    els.rangeText.textContent = `${fmtExact(view.t0)} … ${fmtExact(view.t1)}  (${fmtDuration(view.t1 - view.t0)} shown)`;
    if (hover && !dragging) showCursor(hover.x, hover.y); else if (dragging) hideCursor();
  }

  // ------------------------------------------------------------------ view changes
  let urlTimer = 0;
  function setView(v, { pan = false } = {}) {
    view = clampView(v, limits);
    if (pan) panningFrame = true;
    requestDraw();
    clearTimeout(urlTimer);
    urlTimer = setTimeout(syncZoomUrl, 250);
  }
  function syncZoomUrl() {
    if (destroyed) return;
    const isDefault = Math.abs(view.t0 - defaultView.t0) < 1 && Math.abs(view.t1 - defaultView.t1) < 1;
    const next = { ...cur, t0: isDefault ? undefined : Math.round(view.t0), t1: isDefault ? undefined : Math.round(view.t1) };
    if (isDefault) { delete next.t0; delete next.t1; }
    cur = next;
    ctx.replace(next);
  }
  function zoomBy(f, at) {
    const sc = scale();
    const anchor = at != null ? at : hover && hover.x > LABEL_W ? sc.t(hover.x) : undefined;
    setView(zoomView(view, f, anchor, limits));
  }
  function resetZoom() { setView(defaultView); }
  function zoomToRow(ri) {
    const r = wf.rows[ri];
    if (r) setView(rangeView(r.start, r.end, limits, 0.08));
  }

  // ------------------------------------------------------------------ selection and panels
  function ensureVisible(ri) {
    if (ri < 0) return;
    const anc = ancestors(wf, ri).filter((a) => collapsed.has(a));
    if (anc.length) { for (const a of anc) collapsed.delete(a); visible = visibleRows(wf, collapsed); layoutHeights(); }
    const k = visible.indexOf(ri);
    if (k < 0) return;
    const sc = els.wfScroll;
    const y = k * ROW_H;
    if (y < sc.scrollTop) sc.scrollTop = y;
    else if (y + ROW_H > sc.scrollTop + sc.clientHeight) sc.scrollTop = y + ROW_H - sc.clientHeight;
  }

  /** Selects a span (−1: none) and records it in the URL. */
  function selectRow(ri, { push = true, goroutine = null } = {}) {
    selected = ri;
    missingSpan = null;
    if (ri >= 0) focused = ri;
    ensureVisible(ri);
    const next = { ...cur };
    if (ri >= 0) next.span = wf.rows[ri].span.span_id; else delete next.span;
    if (ri >= 0 && goroutine != null) next.goroutine = goroutine; else delete next.goroutine;
    delete next.snapshot;
    delete next.shard;
    cur = next;
    push ? ctx.push(next) : ctx.replace(next);
    renderPanel();
    requestDraw();
    if (ri >= 0) ctx.announce(`${wf.rows[ri].span.name}, ${fmtDuration(wf.rows[ri].end - wf.rows[ri].start)}`);
  }

  /** Opens snapshot sid of shard (a federated timeline's: ids are each shard's own; none on one server). */
  function openSnapshot(sid, shard) {
    const next = { ...cur, snapshot: sid };
    if (shard) next.shard = shard; else delete next.shard;
    cur = next;
    ctx.push(next);
    renderPanel();
    requestDraw();
  }

  function closePanel() {
    if (cur.snapshot != null) {
      const next = { ...cur };
      delete next.snapshot;
      delete next.shard;
      cur = next;
      ctx.push(next);
      renderPanel();
      requestDraw();
      return true;
    }
    if (selected >= 0 || missingSpan) { selectRow(-1); return true; }
    return false;
  }

  function renderPanel(refresh = false) {
    const want = cur.snapshot != null ? { kind: 'snapshot', key: `s${cur.snapshot}@${cur.shard || ''}` }
      : selected >= 0 ? { kind: 'span', key: `p${wf.rows[selected].span.span_id}` }
        : missingSpan ? { kind: 'missing', key: `m${missingSpan}` } : null;
    syncGor();
    if (!want) {
      if (panel) { panel.obj.destroy(); panel = null; }
      clear(els.side);
      els.side.hidden = true;
      els.body.classList.remove('with-panel');
      return;
    }
    if (panel && panel.key === want.key && !refresh) return;
    if (panel && panel.key === want.key && refresh && want.kind === 'snapshot') return;
    if (panel) panel.obj.destroy();
    clear(els.side);
    let obj;
    if (want.kind === 'missing') {
      obj = missingSpanPanel(missingSpan);
    } else if (want.kind === 'snapshot') {
      obj = snapshotPanel({
        snapshotId: cur.snapshot, shard: cur.shard, traceId: id, base, spansById: wf.byId, rows: wf.rows, colorOf: wf.colorOf,
        onSelectSpan: (sid) => { const ri = wf.byId.get(sid); if (ri != null) selectRow(ri); },
        onClose: closePanel, href: ctx.href,
      });
    } else {
      const row = wf.rows[selected];
      obj = spanPanel({
        row, tl, traceId: id, base, explain: exIndex.get(row.span.span_id), explainLoading: !explain && !explainErr, explainErr,
        colorOf: wf.colorOf, rows: wf.rows, byId: wf.byId, exectraces: gor ? gor.obj.ready : Promise.resolve([]),
        onSelectSpan: (sid) => { const ri = wf.byId.get(sid); if (ri != null) selectRow(ri); },
        onOpenLink: (l) => jumpToWaker({ goroutine: l.goroutine, span_id: l.span_id || null, trace_id: l.trace_id || null }),
        onOpenSnapshot: openSnapshot, onZoom: () => zoomToRow(selected), onClose: closePanel, href: ctx.href,
      });
    }
    panel = { ...want, obj };
    els.side.append(obj.el);
    els.side.hidden = false;
    els.body.classList.add('with-panel');
  }

  /** What a link to a span this trace does not have shows, instead of the span. */
  function missingSpanPanel(sid) {
    const wellFormed = /^[0-9a-f]{16}$/.test(sid);
    const el = h('div', { class: 'panel span-panel missing', dataset: { missingSpan: sid } },
      h('header', { class: 'panel-head' },
        h('div', { class: 'panel-title' }, h('h2', null, 'Span not in this trace')),
        h('button', { class: 'icon-btn', title: 'Close (Esc)', 'aria-label': 'Close', onclick: closePanel }, '×')),
      h('section', { class: 'state error', role: 'alert', dataset: { status: '404' } },
        h('strong', null, wellFormed ? `Span ${sid} is not in this trace.` : `“${sid}” is not a span id (16 hexadecimal digits).`),
        h('div', { class: 'detail' }, `Trace ${id} has ${wf.rows.length} span${wf.rows.length === 1 ? '' : 's'}`,
          wellFormed ? ': the link may point at a span that was never stored, was refused, or is past the retention window. ' : '. ',
          'Pick a span in the waterfall.')));
    return { el, destroy() {} };
  }

  /** The selected span's goroutine lanes: made when the span changes, gone with the selection. */
  function syncGor() {
    const key = selected >= 0 ? wf.rows[selected].span.span_id : null;
    if (gor && gor.key === key) return;
    if (gor) { gor.obj.destroy(); gor = null; }
    if (key == null) return;
    const row = wf.rows[selected];
    const obj = goroutineLanes({
      traceId: id, spanId: key, shard: row.span.shard, service: row.service, startNs: base + row.start, endNs: base + row.end, base, focus: cur.goroutine ?? null, perf,
      scale, width, tk: () => lastTk, requestDraw, onJump: jumpToWaker,
    });
    gor = { key, obj };
    els.gorSlot.append(obj.el);
  }

  /** A wake arrow or a waker's lane was clicked: open the span the waker ran, if any. */
  function jumpToWaker(j) {
    ctx.announce(`goroutine ${j.goroutine}${j.span_id ? `, span ${j.span_id}` : ', which ran no span'}`);
    if (!j.span_id) return;
    if (j.trace_id && j.trace_id !== id) {
      ctx.navigate({ view: 'trace', traceId: j.trace_id, span: j.span_id, goroutine: j.goroutine });
      return;
    }
    const ri = wf.byId.get(j.span_id);
    if (ri == null) { ctx.announce(`span ${j.span_id} is not stored`); return; }
    selectRow(ri, { goroutine: j.goroutine });
  }

  /** Applies a URL state (first load, back/forward). */
  function applyState(st, first = false) {
    cur = { ...st };
    if (st.t0 != null && st.t1 != null) view = clampView({ t0: st.t0, t1: st.t1 }, limits);
    else if (!first) view = defaultView;
    const ri = st.span ? wf.byId.get(st.span) : undefined;
    selected = ri != null ? ri : -1;
    if (selected >= 0) { focused = selected; ensureVisible(selected); }
    missingSpan = st.span && ri == null ? st.span : null;
    if (missingSpan) ctx.announce(`span ${st.span} is not in this trace`);
    renderPanel();
    requestDraw();
  }

  // ------------------------------------------------------------------ pointer
  function localXY(ev) {
    const b = els.main.getBoundingClientRect();
    return { x: ev.clientX - b.left, y: ev.clientY - b.top };
  }
  /** What is under a point of main: {zone: 'axis'|'wf'|'lanes', row, lane, t}. */
  function hitTest(x, y) {
    const axisH = AXIS_H;
    const wfTop = els.wfBox.offsetTop, wfH = els.wfBox.clientHeight;
    const lanesTop = els.lanesBox.offsetTop;
    const t = scale().t(x);
    if (y < axisH) return { zone: 'axis', t };
    if (y >= wfTop && y < wfTop + wfH) {
      const k = Math.floor((y - wfTop + els.wfScroll.scrollTop) / ROW_H);
      return { zone: 'wf', row: k >= 0 && k < visible.length ? visible[k] : -1, t, yIn: y - wfTop };
    }
    if (gor && !gor.obj.box.hidden) {
      const gTop = gor.obj.box.offsetTop, gH = gor.obj.box.clientHeight;
      if (y >= gTop && y < gTop + gH) return { zone: 'gor', gx: x, gy: y - gTop, t };
    }
    if (y >= lanesTop) return { zone: 'lanes', lane: laneAt(lanesLayout, y - lanesTop), t };
    return { zone: 'none', t };
  }

  function wireEvents() {
    const { main, wfScroll } = els;
    wfScroll.addEventListener('scroll', () => requestDraw(), { passive: true });
    main.addEventListener('wheel', (ev) => {
      const { x, y } = localXY(ev);
      const ht = hitTest(x, y);
      const overSpans = ht.zone === 'wf' || ht.zone === 'gor';
      const sb = ht.zone === 'gor' ? gor.obj.box.querySelector('.gor-scroll') : wfScroll;
      const canScroll = sb.scrollHeight > sb.clientHeight + 1;
      if (Math.abs(ev.deltaX) > Math.abs(ev.deltaY)) { // horizontal: pan
        ev.preventDefault();
        setView(panView(view, ev.deltaX * scale().nsPerPx, limits), { pan: true });
        return;
      }
      if (overSpans && canScroll && !(ev.ctrlKey || ev.metaKey || ev.altKey)) return; // scroll the spans
      if (x < LABEL_W && overSpans) return;
      ev.preventDefault();
      const at = x > LABEL_W ? scale().t(x) : undefined;
      setView(zoomView(view, wheelFactor(ev.deltaY, ev.deltaMode), at, limits));
    }, { passive: false });
    main.addEventListener('pointerdown', (ev) => {
      if (ev.button !== 0 || ev.target.closest('a')) return; // a link (a source's label) is clicked, not dragged
      const { x, y } = localXY(ev);
      if (x > width() - RIGHT_PAD + 2 && ['wf', 'gor'].includes(hitTest(x, y).zone)) return; // the scrollbars
      const ht = hitTest(x, y);
      const mode = x >= LABEL_W && (ev.shiftKey || ht.zone === 'axis') ? 'select' : 'pan';
      dragging = { mode, x0: x, y0: y, x, view0: view, moved: false, ht, id: ev.pointerId };
      main.setPointerCapture(ev.pointerId);
      if (mode === 'pan' && x >= LABEL_W) main.classList.add('panning');
    });
    main.addEventListener('pointermove', (ev) => {
      const { x, y } = localXY(ev);
      if (dragging && dragging.id === ev.pointerId) {
        dragging.x = x;
        if (Math.abs(x - dragging.x0) > 3 || Math.abs(y - dragging.y0) > 3) dragging.moved = true;
        if (!dragging.moved) return;
        if (dragging.mode === 'pan' && dragging.x0 >= LABEL_W) {
          const sc0 = makeScale(dragging.view0, LABEL_W, width() - RIGHT_PAD);
          setView(panView(dragging.view0, -(x - dragging.x0) * sc0.nsPerPx, limits), { pan: true });
        } else if (dragging.mode === 'select') {
          const a = Math.max(LABEL_W, Math.min(dragging.x0, x)), b = Math.min(width() - RIGHT_PAD, Math.max(dragging.x0, x));
          Object.assign(els.selBox.style, { left: `${a}px`, width: `${Math.max(0, b - a)}px` });
          els.selBox.hidden = false;
          requestDraw();
        }
        return;
      }
      hover = { x, y };
      showCursor(x, y);
    });
    const end = (ev) => {
      if (!dragging || dragging.id !== ev.pointerId) return;
      const d = dragging;
      dragging = null;
      main.classList.remove('panning');
      els.selBox.hidden = true;
      if (d.mode === 'select' && d.moved) {
        const sc = scale();
        if (Math.abs(d.x - d.x0) > 4) setView(rangeView(sc.t(Math.max(LABEL_W, d.x0)), sc.t(Math.max(LABEL_W, d.x)), limits));
        else requestDraw();
      } else if (!d.moved && ev.type === 'pointerup') click(d.x0, d.y0, d.ht);
      requestDraw();
    };
    main.addEventListener('pointerup', end);
    main.addEventListener('pointercancel', end);
    main.addEventListener('pointerleave', () => { hover = null; hideCursor(); });
    main.addEventListener('dblclick', (ev) => {
      const { x, y } = localXY(ev);
      const ht = hitTest(x, y);
      if (ht.zone === 'wf' && ht.row >= 0) zoomToRow(ht.row);
    });
  }

  function click(x, y, ht) {
    if (ht.zone === 'gor') { gor.obj.click(ht.gx, ht.gy); return; }
    if (ht.zone === 'wf' && ht.row >= 0) {
      const row = wf.rows[ht.row];
      const ind = 6 + Math.min(row.depth, 20) * 12;
      if (x < LABEL_W && row.children.length && x >= ind - 4 && x <= ind + 12) { toggleCollapse(ht.row); return; }
      selectRow(ht.row);
      return;
    }
    if (ht.zone === 'lanes' && ht.lane && x >= LABEL_W) {
      const m = models[ht.lane.source];
      const sc = scale();
      const tol = 8 * sc.nsPerPx;
      if (ht.lane.kind === 'snapshots') {
        const s = snapshotNear(m, ht.t, tol);
        if (s) openSnapshot(s.id, m.shard);
      } else if (ht.lane.kind === 'goroutines') {
        let best = null, bd = tol;
        for (const p of m.goroutines) { const d = Math.abs(p.t - ht.t); if (d <= bd) { bd = d; best = p; } }
        if (best && best.snapshot_id != null) openSnapshot(best.snapshot_id, m.shard);
      } else if (ht.lane.kind === 'cpu') {
        const p = m.cpu.find((c) => ht.t >= c.s && ht.t <= c.e);
        if (p) openSnapshot(p.snapshot_id, m.shard);
      }
    }
  }

  function toggleCollapse(ri) {
    const sid = wf.rows[ri].span.span_id;
    if (collapsed.has(sid)) collapsed.delete(sid); else collapsed.add(sid);
    visible = visibleRows(wf, collapsed);
    els.wfBox.dataset.rows = String(visible.length);
    if (selected >= 0 && !visible.includes(selected)) { /* keep the selection; it is inside the collapsed row */ }
    layoutHeights();
    requestDraw();
  }

  // ------------------------------------------------------------------ cursor
  function hideCursor() { if (els) { els.cursor.hidden = true; els.readout.hidden = true; } }
  function showCursor(x, y) {
    const w = width();
    if (x < LABEL_W || x > w - RIGHT_PAD) { hideCursor(); return; }
    const sc = scale();
    const t = sc.t(x);
    els.cursor.hidden = false;
    els.cursor.style.left = `${Math.round(x)}px`;
    const ht = hitTest(x, y);
    const extra = ht.zone === 'gor' ? gor.obj.tooltip(gor.obj.hit(ht.gx, ht.gy), framesList) : null;
    const lines = readoutLines({ t, base, row: ht.zone === 'wf' && ht.row >= 0 ? wf.rows[ht.row] : null, colorOf: wf.colorOf, models, extra });
    clear(els.readout).append(...lines);
    els.readout.hidden = false;
    const rw = els.readout.offsetWidth || 220;
    const left = x + 14 + rw > w ? x - 14 - rw : x + 14;
    const maxTop = els.main.clientHeight - (els.readout.offsetHeight || 120) - 4;
    els.readout.style.left = `${Math.max(0, left)}px`;
    els.readout.style.top = `${Math.max(0, Math.min(maxTop, y + 12))}px`;
  }

  // ------------------------------------------------------------------ keys
  function onKey(ev) {
    if (!els) return false;
    const k = ev.key;
    if (k === 'Escape') return closePanel();
    if (k === 'j' || k === 'ArrowDown' || k === 'k' || k === 'ArrowUp') {
      const dir = k === 'j' || k === 'ArrowDown' ? 1 : -1;
      focused = stepRow(visible, focused, dir);
      ensureVisible(focused);
      if (selected >= 0 && focused >= 0) selectRow(focused, { push: false });
      else { requestDraw(); if (focused >= 0) ctx.announce(`${wf.rows[focused].span.name}: Enter opens it`); }
      return true;
    }
    if (k === 'Enter') {
      if (focused < 0) focused = visible.length ? visible[0] : -1;
      if (focused >= 0) selectRow(focused);
      return true;
    }
    if (k === '+' || k === '=') { zoomBy(1.6); return true; }
    if (k === '-' || k === '_') { zoomBy(1 / 1.6); return true; }
    if (k === '0') { resetZoom(); return true; }
    if (k === 'ArrowLeft' || k === 'h') { setView(panView(view, -(view.t1 - view.t0) * 0.2, limits)); return true; }
    if (k === 'ArrowRight' || k === 'l') { setView(panView(view, (view.t1 - view.t0) * 0.2, limits)); return true; }
    if (k === 'f' && focused >= 0) { zoomToRow(focused); return true; }
    if (k === 'c' && focused >= 0 && wf.rows[focused].children.length) { toggleCollapse(focused); return true; }
    return false;
  }

  return {
    update(st) {
      if (!wf) { cur = { ...st }; return; }
      applyState(st);
    },
    destroy() {
      destroyed = true;
      ac.abort();
      if (window.__mwTrace && els) delete window.__mwTrace;
      clearTimeout(urlTimer);
      if (panel) panel.obj.destroy();
      if (gor) gor.obj.destroy();
      for (const c of cleanups) c();
      page.remove();
    },
    onKey,
  };
}

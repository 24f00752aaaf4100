// Parts of the trace page that are plain DOM: the header (title, services, the
// explanation's summary), the toolbar (zoom buttons, range, legend, hints), the
// containers of the canvases with the data-* figures and the hidden list of what every
// source's lanes hold (for screen readers and tests), and the cursor readout's lines.

import { fmtDuration, fmtClock, fmtExact, fmtBytes, fmtCount } from '../lib/format.js';
import { laneCounts, valuesAt, hasData } from '../lib/lanes.js';
import { h, emptyBox } from '../ui/dom.js';
import { GC_MARK, GC_STW } from './trace-draw.js';

/** The page's elements; o: {wf, models, layout (lib/lanes.js layoutLanes), visible, rootRow, traceEnd, base, summary, href, onZoomIn, onZoomOut, onReset}. */
export function buildTraceDom(o) {
  const { wf, models, rootRow } = o;
  const services = wf.services;
  const head = h('div', { class: 'trace-head' },
    h('div', { class: 'trace-title' },
      h('h1', null, rootRow ? rootRow.span.name : 'Trace'),
      h('span', { class: 'num big' }, fmtDuration(o.traceEnd)),
      h('span', { class: 'muted' }, `${fmtCount(wf.rows.length)} spans · ${services.length} service${services.length === 1 ? '' : 's'} · started ${fmtClock(o.base)}`),
      rootRow ? h('a', { class: 'btn small', href: o.href({ view: 'compare', service: rootRow.service, operation: rootRow.span.name }) }, 'Compare slow vs fast') : null,
      h('span', { class: 'grafana-slot' })), // "Open in Grafana", when the server names a Grafana
    h('div', { class: 'services' }, services.map((s) => h('span', { class: 'chip' }, h('span', { class: 'swatch', style: { background: wf.colorOf(s) } }), s))),
    h('p', { class: 'summary', dataset: { role: 'summary' } }, o.summary));
  const btn = (label, title, fn, key) => h('button', { class: 'btn small', title, 'aria-keyshortcuts': key, onclick: fn }, label);
  const rangeText = h('span', { class: 'num range-text' });
  const toolbar = h('div', { class: 'trace-toolbar' },
    btn('−', 'Zoom out (−)', o.onZoomOut, '-'), btn('+', 'Zoom in (+)', o.onZoomIn, '+'),
    btn('Reset', 'Show the whole trace (0)', o.onReset, '0'), rangeText,
    h('span', { class: 'legend' },
      h('span', { class: 'swatch', style: { background: GC_STW } }), 'GC stop-the-world ',
      h('span', { class: 'swatch', style: { background: GC_MARK } }), 'GC concurrent mark ',
      h('span', { class: 'mk goroutine' }), 'goroutine snapshot ', h('span', { class: 'mk cpu' }), 'CPU profile'),
    h('span', { class: 'hint' }, 'wheel: zoom (over the spans: Ctrl+wheel) · drag: pan · Shift+drag or drag the axis: zoom to a range · j/k: spans · Enter: open · Esc: close · ?: keys'));
  const axis = h('canvas', { class: 'axis-canvas', 'aria-hidden': 'true' });
  const wfCanvas = h('canvas', { class: 'wf-canvas', 'aria-hidden': 'true' });
  const spacer = h('div', { class: 'wf-spacer' });
  const wfScroll = h('div', { class: 'wf-scroll', tabindex: '0', role: 'group', 'aria-roledescription': 'span waterfall', 'aria-label': `Span waterfall, ${wf.rows.length} spans; j and k move, Enter opens a span` }, spacer);
  const wfBox = h('div', { class: 'wf-box', dataset: { spanCount: String(wf.rows.length), rows: String(o.visible.length) } }, wfCanvas, wfScroll);
  const lanesCanvas = h('canvas', { class: 'lanes-canvas', 'aria-hidden': 'true' });
  const summary = h('ul', { class: 'sr-only lane-summary' });
  const lanesBox = h('div', { class: 'lanes-box', dataset: { sources: String(models.length) } }, lanesCanvas, summary);
  const cursor = h('div', { class: 'cursor-line', hidden: true });
  const readout = h('div', { class: 'readout', hidden: true, role: 'status' });
  const selBox = h('div', { class: 'sel-box', hidden: true });
  const gorSlot = h('div', { class: 'gor-slot' }); // the selected span's goroutine lanes (views/gorlanes.js)
  const main = h('div', { class: 'trace-main' }, axis, wfBox, gorSlot, lanesBox, cursor, selBox, readout);
  const side = h('aside', { class: 'side-panel', hidden: true, 'aria-label': 'Details' });
  const body = h('div', { class: 'trace-body' }, main, side);
  if (!models.length) lanesBox.append(emptyBox('No runtime data for the services of this trace.', 'Send gctrace, schedtrace and profiles to /api/v1/ingest/{kind} to see GC cycles, goroutines and CPU here.'));
  for (const m of models) {
    const c = laneCounts(m);
    summary.append(h('li', {
      class: 'lane-source',
      dataset: { sourceId: String(m.id), service: m.service, gcCycles: String(c.gc), stwPhases: String(c.stw), heapPoints: String(c.heap),
        goroutinePoints: String(c.goroutines), runqueuePoints: String(c.runqueue), snapshots: String(c.snapshots), cpuProfiles: String(c.cpuProfiles) },
    }, `${m.label}: ${c.gc} GC cycles${m.gcMore ? ' (more not shown)' : ''}, ${c.snapshots} snapshots, ${c.cpuProfiles} CPU profiles, ${c.goroutines} goroutine counts, ${c.runqueue} run-queue samples, ${c.heap} heap figures`));
  }
  // each source's header lane: its label is a link to the source's page, over the canvas's text
  for (const lane of (o.layout ? o.layout.lanes : [])) {
    if (lane.kind !== 'header') continue;
    const m = models[lane.source];
    lanesBox.append(h('a', { class: 'lane-link', href: o.href({ view: 'source', sourceId: m.id, shard: m.shard }), style: { top: `${lane.y}px`, height: `${lane.h}px`, lineHeight: `${lane.h}px` },
      dataset: { sourceId: String(m.id), shard: m.shard || '' }, title: 'this source over all its time: heap, GC, goroutines, leak suspects, heap growth' }, m.label));
  }
  return { head, toolbar, rangeText, axis, wfCanvas, wfScroll, spacer, wfBox, gorSlot, lanesCanvas, lanesBox, cursor, readout, selBox, main, side, body };
}

const PHASE = { stw_sweep_termination: 'stop-the-world (sweep termination)', concurrent_mark: 'concurrent mark', stw_mark_termination: 'stop-the-world (mark termination)' };

/** The readout at time t: the exact offset and clock, the span under the pointer, every source's values. */
export function readoutLines({ t, base, row, colorOf, models, extra }) {
  const lines = [h('div', { class: 'num strong' }, fmtExact(t)), h('div', { class: 'num muted' }, fmtClock(base + t))];
  if (row) {
    lines.push(h('div', { class: 'ro-span' }, h('span', { class: 'swatch', style: { background: colorOf(row.service) } }), `${row.span.name} `, h('span', { class: 'num' }, fmtDuration(row.end - row.start))));
  }
  if (extra && extra.length) { lines.push(...extra); return lines; } // over the goroutine lanes: what is under the pointer only
  for (const m of models) {
    if (!hasData(m)) continue;
    const v = valuesAt(m, t);
    const rows = [];
    if (models.length > 1) rows.push(h('div', { class: 'ro-src' }, m.label));
    rows.push(h('div', null, 'GC ', h('span', { class: 'num' }, v.gc ? `#${v.gc.cycle.n} ${PHASE[v.gc.phase]}` : 'not running')));
    if (v.heap) rows.push(h('div', null, 'heap ', h('span', { class: 'num' }, `${fmtBytes(v.heap.heap)} / goal ${fmtBytes(v.heap.goal)}`)));
    if (v.goroutines) rows.push(h('div', null, 'goroutines ', h('span', { class: 'num' }, fmtCount(v.goroutines.count))));
    if (v.runq) rows.push(h('div', null, 'run queue ', h('span', { class: 'num' }, `${v.runq.global} global + ${v.runq.local} local`)));
    if (v.cpu) rows.push(h('div', null, 'CPU profile ', h('span', { class: 'num' }, `#${v.cpu.snapshot_id}`)));
    lines.push(h('div', { class: 'ro-block' }, rows));
  }
  return lines;
}

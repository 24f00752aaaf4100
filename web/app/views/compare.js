// The comparison of an operation's slow spans (≥ p90) with its fast ones (≤ p50), from
// /api/v1/compare: the two breakdowns side by side as stacked bars and a table of
// shares, how often GC stopped the world during each, and the differential flame graph
// (width by the slow group's share, or the fast group's; colour by delta: red where the
// slow spans spend more, blue where less).

import { api } from '../lib/api.js';
import { fmtDuration, fmtPct, fmtCount } from '../lib/format.js';
import { segments, COMPONENTS } from '../lib/breakdown.js';
import { diffColor, maxAbsDelta, treeDepth } from '../lib/flame.js';
import { h, clear, loadingBox, errorBox, emptyBox, stackedBar, swatch } from '../ui/dom.js';
import { flameGraph } from '../ui/flamegraph.js';

export function mountCompare(root, state, ctx) {
  const ac = new AbortController();
  const { service, operation } = state;
  const destroyers = [];
  ctx.setTitle(`Compare ${operation}`);
  ctx.setCrumbs([{ text: 'Services', href: '/' }, { text: service, href: ctx.href({ view: 'service', service }) },
    { text: operation, href: ctx.href({ view: 'operation', service, operation }) }, { text: 'slow vs fast' }]);
  const page = h('section', { class: 'compare-page', dataset: { state: 'loading' } },
    h('div', { class: 'page-head' }, h('h1', null, `${operation}: slow against fast`, h('span', { class: 'muted' }, ` · ${service}`))));
  const body = h('div', null, loadingBox('the comparison'));
  page.append(body);
  root.append(page);

  api.compare(service, operation, { signal: ac.signal }).then((c) => {
    page.dataset.state = 'ready';
    clear(body);
    body.append(h('p', { class: 'summary', dataset: { role: 'summary' } }, c.summary || ''));
    // breakdowns
    const group = (g, name, cls) => {
      const segs = segments(g.breakdown_share || {}, 1);
      return h('div', { class: `cmp-group ${cls}` },
        h('div', { class: 'cmp-label' }, h('strong', null, name), h('span', { class: 'muted num' }, ` ${fmtCount(g.spans)} spans, ${cls === 'slow' ? '≥' : '≤'} ${fmtDuration(g.threshold_ns)}`)),
        stackedBar(segs, { title: (s) => `${s.label}: ${fmtPct(s.share)}`, cls: 'big' }));
    };
    const table = h('table', { class: 'cmp-table' },
      h('thead', null, h('tr', null, h('th', null, 'component'), h('th', { class: 'num' }, 'slow'), h('th', { class: 'num' }, 'fast'), h('th', { class: 'num' }, 'difference'))));
    const tb = h('tbody');
    for (const comp of COMPONENTS) {
      const a = (c.slow.breakdown_share || {})[comp.key] || 0, b = (c.fast.breakdown_share || {})[comp.key] || 0;
      if (!a && !b) continue;
      const d = a - b;
      tb.append(h('tr', { dataset: { key: comp.key } }, h('td', null, swatch(comp.color, comp.pattern), ' ', comp.label),
        h('td', { class: 'num' }, fmtPct(a)), h('td', { class: 'num' }, fmtPct(b)),
        h('td', { class: `num ${d > 0.005 ? 'worse' : d < -0.005 ? 'better' : ''}` }, `${d > 0 ? '+' : d < 0 ? '−' : ''}${fmtPct(Math.abs(d))}`)));
    }
    tb.append(h('tr', { class: 'gc-row' }, h('td', null, 'spans during which GC stopped the world'),
      h('td', { class: 'num' }, fmtPct(c.slow.gc_overlap_rate)), h('td', { class: 'num' }, fmtPct(c.fast.gc_overlap_rate)),
      h('td', { class: 'num' }, `${c.slow.gc_overlap_rate - c.fast.gc_overlap_rate >= 0 ? '+' : '−'}${fmtPct(Math.abs(c.slow.gc_overlap_rate - c.fast.gc_overlap_rate))}`)));
    table.append(tb);
    body.append(h('section', { class: 'card' }, h('h2', null, 'Where the time went'),
      h('p', { class: 'muted small num' }, `${fmtCount(c.count)} spans · p50 ${fmtDuration(c.p50_ns)} · p90 ${fmtDuration(c.p90_ns)} · mean share of each span's duration`),
      group(c.slow, 'Slow', 'slow'), group(c.fast, 'Fast', 'fast'), table));
    // differential flame graph
    const flameSec = h('section', { class: 'card', dataset: { role: 'diff-flame' } }, h('h2', null, 'Differential flame graph'));
    body.append(flameSec);
    const f = c.flame;
    if (!f || !(f.children || []).length) {
      flameSec.append(emptyBox('No stacks to compare: neither group has CPU or goroutine samples.'));
      flameSec.dataset.nodes = '0';
      return;
    }
    flameSec.append(h('p', { class: 'muted small' }, 'Each frame: the mean share of span time its stack accounts for. Colour: ',
      h('span', { class: 'grad' }), ' blue = less in slow spans, red = more. Click a frame to zoom.'));
    const fg = diffFlame(f, {
      sides: ['slow', 'fast'], label: (k) => ` width = share in ${k} spans`, name: 'flame-by',
      info: (n) => `${n.name} — slow ${fmtPct(n.slow)} · fast ${fmtPct(n.fast)} · delta ${n.delta >= 0 ? '+' : '−'}${fmtPct(Math.abs(n.delta || 0))}`,
    });
    destroyers.push(fg.destroy);
    flameSec.append(fg.el);
    flameSec.dataset.depth = String(treeDepth(f));
  }).catch((err) => {
    if (err.name === 'AbortError') return;
    page.dataset.state = 'error';
    clear(body).append(errorBox(err, 'Comparison'));
  });
  return { update() {}, destroy() { ac.abort(); for (const d of destroyers) d(); page.remove(); }, onKey: () => false };
}

/**
 * A differential flame graph of a tree shaped like /api/v1/compare's `flame` (each node
 * has a value per side and `delta`): a toggle chooses the side that sets the widths,
 * colour is the delta (red more, blue less). opts: sides (two node keys, the first shown
 * first), label(side) for the toggle, name (the radio group's), info(node). Also the
 * source page's heap growth. Returns {el, destroy}.
 */
export function diffFlame(tree, { sides, label, name, info }) {
  const maxD = maxAbsDelta(tree);
  let by = sides[0], fg = null;
  const holder = h('div');
  const toggle = h('div', { class: 'seg-toggle', role: 'radiogroup', 'aria-label': 'width by' },
    sides.map((k) => h('label', null, h('input', { type: 'radio', name, value: k, checked: k === by, onchange: () => { by = k; show(); } }), label(k))));
  function show() {
    if (fg) fg.destroy();
    clear(holder);
    fg = flameGraph({
      root: { ...tree, name: 'all' }, value: (n) => n[by] || 0, color: (n) => diffColor(n.delta || 0, maxD),
      ariaLabel: 'differential flame graph', info,
    });
    holder.append(fg.el);
  }
  show();
  return { el: h('div', { class: 'diff-flame' }, toggle, holder), destroy: () => { if (fg) fg.destroy(); } };
}

// A snapshot on its own page (/snapshot/<id>?trace=<id>): the same panel as in the
// trace page, full width; with a trace, its goroutines and samples are marked, named
// after the trace's spans (from its timeline), and a link leads back to it.

import { api } from '../lib/api.js';
import { buildWaterfall } from '../lib/waterfall.js';
import { snapshotPanel } from './snapshotpanel.js';
import { h, loadingBox } from '../ui/dom.js';

export function mountSnapshot(root, state, ctx) {
  ctx.setTitle(`Snapshot #${state.snapshotId}`);
  ctx.setCrumbs([{ text: 'Services', href: '/' }, { text: `snapshot #${state.snapshotId}`, mono: true }]);
  const ac = new AbortController();
  const page = h('section', { class: 'snapshot-page' });
  root.append(page);
  let panel = null;
  const show = (tl) => {
    if (ac.signal.aborted) return;
    page.textContent = '';
    const wf = tl ? buildWaterfall(tl.spans || [], tl.start_ns) : null;
    if (state.traceId) {
      page.append(h('p', null, h('a', { href: ctx.href({ view: 'trace', traceId: state.traceId, snapshot: state.snapshotId }) }, `← back to trace ${state.traceId.slice(0, 8)}…`)));
    }
    panel = snapshotPanel({
      snapshotId: state.snapshotId, shard: state.shard, traceId: state.traceId || null, standalone: true, href: ctx.href,
      base: tl ? tl.start_ns : undefined, spansById: wf && wf.byId, rows: wf && wf.rows,
      onSelectSpan: state.traceId ? (sid) => ctx.navigate({ view: 'trace', traceId: state.traceId, span: sid }) : null,
    });
    page.append(panel.el);
  };
  if (state.traceId) {
    page.append(loadingBox('the trace'));
    api.timeline(state.traceId, { signal: ac.signal }).then(show, () => show(null));
  } else show(null);
  return { update() {}, destroy() { ac.abort(); if (panel) panel.destroy(); page.remove(); }, onKey: () => false };
}

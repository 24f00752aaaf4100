// The "Woken by" panel of an operation's page, from /api/v1/wakers: which other
// operations' spans (or goroutines outside spans, or the runtime) ended the waits of the
// operation's slow spans (≥ p90), by the wake edges of stored execution traces. One row
// per waker, most wait first: its label (a link to its operation's page when it ran a
// stored span; a click anywhere on the row goes there too), how many slow spans it woke,
// its waits, their total and p50, its share of the blocked time, the reasons, and its
// longest wait as a link that opens that trace at the woken span with the woken goroutine
// marked. The counts of slow spans examined and covered head the panel; when no stored
// execution trace covers them, it says so in words (not as an error).

import { api } from '../lib/api.js';
import { fmtDuration, fmtPct, fmtCount } from '../lib/format.js';
import { h, clear, loadingBox, errorBox, emptyBox } from '../ui/dom.js';

/** A card that fills itself with the wakers of service/operation; returns {el}. */
export function wakersPanel(service, operation, ctx, { signal }) {
  const el = h('section', { class: 'card wakers', dataset: { role: 'wakers', state: 'loading' } },
    h('h2', null, 'Woken by'), loadingBox('the wake edges'));
  api.wakers(service, operation, { signal }).then((w) => {
    clear(el).append(h('h2', null, 'Woken by'));
    Object.assign(el.dataset, { slowSpans: String(w.slow_spans), examined: String(w.examined), covered: String(w.covered) });
    el.append(h('p', { class: 'muted small num', dataset: { role: 'counts' } },
      `${fmtCount(w.covered)} of the ${fmtCount(w.examined)} slow spans examined (at or above p90 = ${fmtDuration(w.threshold_ns)}; ` +
      `${fmtCount(w.slow_spans)} slow of ${fmtCount(w.count)}) have a stored execution trace` +
      (w.more ? '; more slow spans were left unexamined.' : '.')));
    if (!w.covered) {
      el.dataset.state = 'none';
      el.append(emptyBox(`No stored execution trace covers the slow “${operation}” spans, so there are no wake edges to follow.`,
        'Push execution traces of this service (docs/EXECTRACE.md) to see which operations wake or block these spans.'));
      return;
    }
    el.dataset.state = 'ready';
    el.append(h('p', { class: 'summary', dataset: { role: 'summary' } }, w.summary || ''));
    if (!(w.wakers || []).length) {
      el.append(emptyBox('The covered slow spans were never blocked.'));
      return;
    }
    const tb = h('tbody');
    for (const k of w.wakers) tb.append(row(k));
    el.append(h('table', { class: 'wakers-table', dataset: { rows: String(w.wakers.length) } },
      h('thead', null, h('tr', null, h('th', null, 'woken by'), h('th', { class: 'num' }, 'slow spans'), h('th', { class: 'num' }, 'waits'),
        h('th', { class: 'num' }, 'total wait'), h('th', { class: 'num' }, 'p50 wait'), h('th', { class: 'num' }, 'share of blocked'),
        h('th', null, 'by reason'), h('th', null, 'longest wait'))), tb),
    h('p', { class: 'muted small' }, `Blocked ${fmtDuration(w.blocked_ns)} in all. A row opens the waking operation; its longest wait opens that trace at the woken span.`));
  }).catch((err) => {
    if (err.name === 'AbortError') return;
    el.dataset.state = 'error';
    clear(el).append(h('h2', null, 'Woken by'), errorBox(err, 'Wakers'));
  });

  function row(k) {
    const op = k.kind === 'operation' ? ctx.href({ view: 'operation', service: k.service, operation: k.name }) : null;
    const reasons = Object.entries(k.by_reason || {}).sort((a, b) => b[1].wait_ns - a[1].wait_ns)
      .map(([r, v]) => `${r} ${fmtDuration(v.wait_ns)}${v.waits > 1 ? ` (${fmtCount(v.waits)})` : ''}`).join(', ');
    const ex = k.example;
    const exHref = ex ? ctx.href({ view: 'trace', traceId: ex.trace_id, span: ex.span_id, goroutine: ex.goroutine }) : null;
    const tr = h('tr', {
      class: op ? 'waker link-row' : 'waker',
      dataset: { kind: k.kind, label: k.label, waitNs: String(k.wait_ns), ...(op ? { service: k.service, operation: k.name } : {}) },
      onclick: op ? (ev) => { if (!ev.target.closest('a')) ctx.navigateHref(op); } : null,
    },
    h('td', null, op ? h('a', { href: op, class: 'waker-link' }, k.label) : h('span', { class: 'muted' }, k.label)),
    h('td', { class: 'num' }, fmtCount(k.slow_spans)),
    h('td', { class: 'num' }, fmtCount(k.waits)),
    h('td', { class: 'num strong' }, fmtDuration(k.wait_ns)),
    h('td', { class: 'num' }, fmtDuration(k.p50_wait_ns)),
    h('td', { class: 'num' }, fmtPct(k.share)),
    h('td', { class: 'small', dataset: { role: 'reasons' } }, reasons),
    h('td', null, exHref ? h('a', { href: exHref, class: 'waker-example', dataset: { traceId: ex.trace_id, spanId: ex.span_id, goroutine: String(ex.goroutine) },
      title: `goroutine ${ex.goroutine} waited ${fmtDuration(ex.wait_ns)} (${ex.reason})${ex.waker ? `, woken by goroutine ${ex.waker}` : ''}` },
    `${ex.reason} ${fmtDuration(ex.wait_ns)} in ${ex.trace_id.slice(0, 8)}…`) : ''));
    return tr;
  }
  return { el };
}

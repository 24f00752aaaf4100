// The start page (/) and a service's page (/service/<name>): every service with its
// operations, their request counts and latency percentiles (/api/v1/services and
// /api/v1/services/{s}/operations), each operation linking to its scatter of slow
// requests and to the slow-against-fast comparison.

import { api } from '../lib/api.js';
import { fmtDuration, fmtCount } from '../lib/format.js';
import { h, clear, loadingBox, errorBox, emptyBox } from '../ui/dom.js';

const COLS = [
  { key: 'name', label: 'Operation', num: false },
  { key: 'count', label: 'Requests', num: true },
  { key: 'p50_ns', label: 'p50', num: true },
  { key: 'p90_ns', label: 'p90', num: true },
  { key: 'p99_ns', label: 'p99', num: true },
  { key: 'max_ns', label: 'max', num: true },
];

/** The operations table of one service, sortable by any column (default: p99, slowest first). */
export function opsTable(service, ops, ctx) {
  let sortKey = 'p99_ns', desc = true;
  const table = h('table', { class: 'ops', dataset: { service, operations: String(ops.length) } });
  const maxNs = Math.max(1, ...ops.map((o) => o.max_ns || 0));
  const minNs = Math.max(1, Math.min(...ops.map((o) => o.p50_ns || 1)));
  const lx = (v) => (Math.log10(Math.max(v, minNs)) - Math.log10(minNs)) / (Math.log10(maxNs) - Math.log10(minNs) || 1);
  function render() {
    clear(table);
    const sorted = [...ops].sort((a, b) => {
      const x = a[sortKey], y = b[sortKey];
      const c = typeof x === 'string' ? x.localeCompare(y) : (x || 0) - (y || 0);
      return desc ? -c : c;
    });
    table.append(h('thead', null, h('tr', null, COLS.map((c) => h('th', { class: c.num ? 'num' : '', 'aria-sort': sortKey === c.key ? (desc ? 'descending' : 'ascending') : null },
      h('button', { class: 'th-btn', onclick: () => { if (sortKey === c.key) desc = !desc; else { sortKey = c.key; desc = c.num; } render(); } }, c.label, sortKey === c.key ? (desc ? ' ↓' : ' ↑') : ''))),
    h('th', null, h('span', { class: 'sr-only' }, 'latency range'), h('span', { 'aria-hidden': 'true', class: 'muted small' }, 'p50 · p90 · p99 (log)')), h('th', null, ''))));
    const tb = h('tbody');
    for (const o of sorted) {
      const href = ctx.href({ view: 'operation', service, operation: o.name });
      const a = lx(o.p50_ns), b = lx(o.p90_ns), c = lx(o.p99_ns);
      tb.append(h('tr', { dataset: { operation: o.name } },
        h('td', null, h('a', { href, class: 'op-link' }, o.name), o.sampled ? h('span', { class: 'muted small', title: 'percentiles from a uniform sample of the spans' }, ' (sampled)') : null),
        h('td', { class: 'num' }, fmtCount(o.count)),
        h('td', { class: 'num' }, fmtDuration(o.p50_ns)),
        h('td', { class: 'num' }, fmtDuration(o.p90_ns)),
        h('td', { class: 'num strong' }, fmtDuration(o.p99_ns)),
        h('td', { class: 'num' }, fmtDuration(o.max_ns)),
        h('td', { class: 'spark-cell' }, h('div', { class: 'spark', title: `p50 ${fmtDuration(o.p50_ns)} · p90 ${fmtDuration(o.p90_ns)} · p99 ${fmtDuration(o.p99_ns)}` },
          h('div', { class: 'spark-range', style: { left: `${a * 100}%`, width: `${Math.max(0.5, (c - a) * 100)}%` } }),
          h('div', { class: 'spark-tick p90', style: { left: `${b * 100}%` } }))),
        h('td', null, h('a', { class: 'small', href: ctx.href({ view: 'compare', service, operation: o.name }) }, 'slow vs fast'))));
    }
    table.append(tb);
  }
  render();
  return table;
}

function serviceCard(svc, ctx, signal) {
  const card = h('section', { class: 'card service-card', dataset: { service: svc.name } },
    h('header', { class: 'card-head' },
      h('h2', null, h('a', { href: ctx.href({ view: 'service', service: svc.name }) }, svc.name)),
      svc.span_count != null ? h('span', { class: 'muted num' }, `${fmtCount(svc.span_count)} spans · ${fmtCount(svc.operation_count)} operations · ${fmtCount(svc.instance_count)} instance${svc.instance_count === 1 ? '' : 's'}`) : null));
  const body = h('div', null, loadingBox('operations'));
  card.append(body);
  api.allOperations(svc.name, { signal }).then(({ rows: ops }) => {
    clear(body);
    body.append(ops.length ? opsTable(svc.name, ops, ctx) : emptyBox('No operations.'));
  }).catch((err) => { if (err.name !== 'AbortError') clear(body).append(errorBox(err, 'Operations')); });
  return card;
}

/** / : all services. */
export function mountHome(root, state, ctx) {
  const ac = new AbortController();
  ctx.setTitle('Services');
  ctx.setCrumbs([{ text: 'Services' }]);
  const page = h('section', { class: 'home-page', dataset: { state: 'loading' } },
    h('div', { class: 'page-head' }, h('h1', null, 'Where are the slow requests?'),
      h('p', { class: 'muted' }, 'Pick an operation to see its requests over time and its slowest traces, or paste a trace id in the box above (press /).')));
  const list = h('div', null, loadingBox('services'));
  page.append(list);
  root.append(page);
  api.allServices({ signal: ac.signal }).then(({ rows, more }) => {
    clear(list);
    page.dataset.state = 'ready';
    const svcs = rows.slice().sort((a, b) => (b.span_count || 0) - (a.span_count || 0));
    page.dataset.services = String(svcs.length);
    if (!svcs.length) {
      list.append(emptyBox('No spans have arrived yet.', 'Point an OpenTelemetry exporter at this server: OTLP/HTTP to /v1/traces.'));
      return;
    }
    for (const s of svcs.slice(0, 30)) list.append(serviceCard(s, ctx, ac.signal));
    if (svcs.length > 30) {
      list.append(h('section', { class: 'card' }, h('h2', null, `${svcs.length - 30} more services${more ? ' (the first by name; there are more still)' : ''}`),
        h('ul', { class: 'plain' }, svcs.slice(30).map((s) => h('li', null, h('a', { href: ctx.href({ view: 'service', service: s.name }) }, s.name), h('span', { class: 'muted num' }, ` ${fmtCount(s.span_count)} spans`))))));
    }
  }).catch((err) => {
    if (err.name === 'AbortError') return;
    page.dataset.state = 'error';
    clear(list).append(errorBox(err, 'Services'));
  });
  return { update() {}, destroy() { ac.abort(); page.remove(); }, onKey: () => false };
}

/** /service/<name>: one service's operations. */
export function mountService(root, state, ctx) {
  const ac = new AbortController();
  ctx.setTitle(state.service);
  ctx.setCrumbs([{ text: 'Services', href: '/' }, { text: state.service }]);
  const page = h('section', { class: 'service-page' });
  root.append(page);
  api.services({ signal: ac.signal }, { name: state.service }).then((j) => {
    const svc = (j.services || [])[0];
    if (!svc) {
      page.append(errorBox({ status: 404, message: `no spans of a service named “${state.service}” have arrived` }, 'Service'));
      return;
    }
    page.append(serviceCard(svc, ctx, ac.signal));
  }).catch((err) => { if (err.name !== 'AbortError') page.append(errorBox(err, 'Service')); });
  // the service's processes that sent runtime data, each a link to its source page
  api.allSources({ signal: ac.signal }).then(({ rows }) => {
    const mine = rows.filter((s) => s.service === state.service);
    if (!mine.length) return;
    page.append(h('section', { class: 'card', dataset: { role: 'sources' } }, h('h2', null, 'Sources'),
      h('p', { class: 'muted small' }, 'The processes of this service that sent runtime data: heap, GC, goroutines, leak suspects and heap growth over time.'),
      // on a front the listing is every shard's: each row says its shard, whose id it is
      h('ul', { class: 'source-list' }, mine.map((s) => h('li', null, h('a', { href: ctx.href({ view: 'source', sourceId: Number(s.id), shard: s.shard }), dataset: { sourceId: String(s.id), shard: s.shard || '' } },
        [s.instance || '(no instance)', s.host ? ` @ ${s.host}` : ''].join('')), h('span', { class: 'muted small num' }, ` source ${s.id}${s.shard ? ` on ${s.shard}` : ''}`))))));
  }).catch((err) => { if (err.name !== 'AbortError') page.append(errorBox(err, 'Sources')); });
  return { update() {}, destroy() { ac.abort(); page.remove(); }, onKey: () => false };
}

// A runtime snapshot (/api/v1/snapshots/{id}). For goroutines: the states as a bar, then
// the goroutines grouped by state and stack with counts, wait reasons and wait times,
// filterable by text, the groups of the trace being looked at (group.trace_id) marked
// and listed first. For profiles: a flame graph of every sample, and which spans of the
// trace it sampled. Shown in the trace page's side panel and at /snapshot/<id>.

import { api, snapshotRawUrl } from '../lib/api.js';
import { fmtDuration, fmtOffset, fmtClock, fmtCount, fmtPct } from '../lib/format.js';
import { stateSegments, stateColor } from '../lib/breakdown.js';
import { groupSnapshot, waitText, snapshotView } from '../lib/goroutines.js';
import { foldSamples, cpuValueIndex, nodeLabel } from '../lib/flame.js';
import { h, clear, loadingBox, errorBox, emptyBox, stackedBar, swatch } from '../ui/dom.js';
import { flameGraph } from '../ui/flamegraph.js';
import { framesList } from './spanpanel.js';

const ownFrame = (frames) => (frames || []).find((f) => !/^(runtime|internal|syscall)[./]/.test(f.func || f.function || '')) || (frames || [])[0];

export function snapshotPanel(o) {
  const ac = new AbortController();
  const destroyers = [];
  const el = h('div', { class: `panel snapshot-panel${o.standalone ? ' standalone' : ''}`, dataset: { snapshotId: String(o.snapshotId), state: 'loading' } });
  const head = h('header', { class: 'panel-head' },
    h('div', { class: 'panel-title' }, h('h2', null, `Snapshot #${o.snapshotId}`)),
    o.onClose ? h('button', { class: 'icon-btn', title: 'Close (Esc)', 'aria-label': 'Close the snapshot panel', onclick: o.onClose }, '×') : null);
  const body = h('div', null, loadingBox('the snapshot'));
  el.append(head, body);

  api.snapshot(o.snapshotId, { signal: ac.signal }, undefined, o.shard).then((snap) => {
    el.dataset.state = 'ready';
    el.dataset.kind = snap.kind;
    clear(body);
    const view = snapshotView(snap.kind);
    head.querySelector('h2').textContent = `${view.title} #${snap.id}`;
    const when = o.base ? `${fmtOffset(snap.time_ns - o.base)} from the trace's start · ` : '';
    body.append(h('p', { class: 'muted num' }, `${when}${fmtClock(snap.time_ns)}${snap.duration_ns ? ` · ${fmtDuration(snap.duration_ns)} long` : ''} · ${snap.format} · source ${snap.source_id} · `,
      h('a', { href: snapshotRawUrl(snap.id, o.shard), download: `snapshot-${snap.id}.${snap.format === 'pprof' ? 'pb.gz' : 'txt'}` }, 'raw')));
    if (view.groups) goroutines(snap, body, o);
    else profile(snap, body, o, destroyers);
  }).catch((err) => {
    if (err.name === 'AbortError') return;
    el.dataset.state = 'error';
    clear(body).append(errorBox(err, 'Snapshot'));
  });

  return { el, destroy() { ac.abort(); for (const d of destroyers) d(); } };
}

function spanName(o, sid) {
  if (!o.spansById || !sid) return null;
  const ri = o.spansById.get(sid);
  return ri == null ? null : o.rows[ri].span.name;
}

function goroutines(snap, body, o) {
  const byState = (snap.meta && snap.meta.by_state) || {};
  const segs = stateSegments(byState);
  body.append(h('div', { class: 'snap-total' }, h('span', { class: 'num big' }, fmtCount(snap.total)), ' goroutines'));
  body.append(stackedBar(segs, { title: (g) => `${g.key}: ${g.value} (${fmtPct(g.share)})` }));
  body.append(h('ul', { class: 'legend-list inline' }, segs.map((g) => h('li', null, swatch(g.color), g.key, ' ', h('span', { class: 'num' }, fmtCount(g.value))))));
  const input = h('input', { type: 'search', class: 'filter', placeholder: 'Filter: function, file, state, label…', 'aria-label': 'Filter goroutines' });
  const onlyMine = o.traceId ? h('input', { type: 'checkbox', id: `only-${snap.id}` }) : null;
  const status = h('div', { class: 'muted small', role: 'status' });
  const list = h('div', { class: 'groups' });
  body.append(h('div', { class: 'filter-row' }, input, onlyMine ? h('label', { for: `only-${snap.id}` }, onlyMine, ' only this trace') : null), status, list);
  if (snap.more) body.append(h('p', { class: 'muted small' }, 'The snapshot has more groups than were read.'));

  function render() {
    const g = groupSnapshot(snap.groups || [], { traceId: o.traceId, filter: input.value });
    clear(list);
    let shownGroups = 0, mineGroups = 0;
    for (const st of g.states) {
      const groups = onlyMine && onlyMine.checked ? st.groups.filter((x) => x.mine) : st.groups;
      if (!groups.length) continue;
      const sec = h('section', { class: 'state-sec', dataset: { state: st.state } },
        h('h3', null, swatch(stateColor(st.state)), st.state, ' ', h('span', { class: 'num muted' }, fmtCount(st.count))));
      for (const grp of groups) {
        shownGroups++;
        if (grp.mine) mineGroups++;
        const top = ownFrame(grp.frames);
        const sname = grp.mine ? spanName(o, grp.span_id) : null;
        const det = h('details', { class: `group${grp.mine ? ' mine' : ''}`, dataset: { mine: grp.mine ? '1' : '0', count: String(grp.count) } },
          h('summary', null,
            h('span', { class: 'num count' }, `${fmtCount(grp.count)}×`), ' ',
            h('span', { class: 'fn' }, top ? (top.func || top.function) : '?'),
            top && top.file ? h('span', { class: 'loc' }, ` ${top.file.split('/').pop()}:${top.line}`) : null,
            grp.wait_reason ? h('span', { class: 'muted' }, ` · ${grp.wait_reason}`) : null,
            waitText(grp) ? h('span', { class: 'num muted' }, ` · ${waitText(grp)}`) : null,
            grp.mine ? h('span', { class: 'badge' }, sname ? `this trace: ${sname}` : 'this trace') : null));
        det.append(framesList(grp.frames, { max: 40 }));
        const labels = Object.entries(grp.labels || {});
        if (labels.length) det.append(h('div', { class: 'labels' }, labels.map(([k, v]) => h('code', null, `${k}=${v}`))));
        if (grp.mine && grp.span_id && o.onSelectSpan && sname) {
          det.append(h('button', { class: 'btn small', onclick: () => o.onSelectSpan(grp.span_id) }, `Open span ${sname}`));
        }
        if ((grp.goroutine_ids || []).length) det.append(h('div', { class: 'muted small num' }, `goroutines ${grp.goroutine_ids.slice(0, 20).join(', ')}${grp.goroutine_ids.length > 20 ? ' …' : ''}`));
        sec.append(det);
      }
      list.append(sec);
    }
    list.dataset.groups = String(shownGroups);
    list.dataset.mine = String(mineGroups);
    status.textContent = `${fmtCount(g.shown)} of ${fmtCount(g.total)} goroutines shown${o.traceId ? ` · ${fmtCount(g.mine)} of this trace` : ''}`;
    if (!shownGroups) list.append(emptyBox(input.value ? `No goroutine matches “${input.value}”.` : 'No goroutines to show.'));
  }
  let t = 0;
  input.addEventListener('input', () => { clearTimeout(t); t = setTimeout(render, 80); });
  if (onlyMine) onlyMine.addEventListener('change', render);
  render();
}

function profile(snap, body, o, destroyers) {
  const vi = cpuValueIndex(snap.meta);
  const types = (snap.meta && snap.meta.sample_types) || [];
  const unit = types[vi] ? types[vi][1] : '';
  const samples = (snap.samples || []).map((s) => ({ frames: s.frames || [], value: (s.values || [])[vi] || 0, span_id: s.span_id, trace_id: s.trace_id }));
  const fmtV = (v) => (unit === 'nanoseconds' ? fmtDuration(v) : `${fmtCount(v)} ${unit}`);
  body.append(h('div', { class: 'snap-total' }, h('span', { class: 'num big' }, fmtCount(snap.total)), ` samples · ${types.map((t) => t.join('/')).join(', ')}`));
  if (o.traceId) {
    const mine = new Map();
    for (const s of samples) if (s.trace_id === o.traceId) mine.set(s.span_id, (mine.get(s.span_id) || 0) + s.value);
    const ul = h('ul', { class: 'mine-spans' });
    for (const [sid, v] of mine) {
      const name = spanName(o, sid) || sid;
      ul.append(h('li', null, o.onSelectSpan && spanName(o, sid) ? h('a', { href: '#', onclick: (e) => { e.preventDefault(); o.onSelectSpan(sid); } }, name) : name, ' ', h('span', { class: 'num muted' }, fmtV(v))));
    }
    body.append(h('h3', null, 'Spans of this trace in this profile'), mine.size ? ul : emptyBox('None of this trace\'s spans was sampled.'));
  }
  if (!samples.length) { body.append(emptyBox('The profile holds no samples.')); return; }
  const tree = foldSamples(samples, `profile #${snap.id}`);
  const fg = flameGraph({ root: tree, ariaLabel: `flame graph of profile ${snap.id}`, info: (n) => `${nodeLabel(n)} — ${fmtV(n.value)} (${fmtPct(n.value / tree.value)})` });
  destroyers.push(fg.destroy);
  body.append(h('h3', null, 'All samples'), fg.el);
  if (snap.more) body.append(h('p', { class: 'muted small' }, 'The profile has more samples than were read.'));
}

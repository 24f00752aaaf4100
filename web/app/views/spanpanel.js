// The span panel: what a span is, where its time went (the /explain breakdown as a
// stacked bar), the causes with their evidence (stack frames with file:line, snapshot
// links, GC cycles, the slowest child), a flame graph of the span's own CPU samples
// (from the CPU profile snapshots its evidence names, filtered to samples labelled with
// the span), its goroutine samples by state (from the timeline), and links to download
// the span's pprof and the stored execution traces that cover it (`go tool trace` opens
// them). Evidence borrowed from the operation's slow spans is labelled "from similar
// spans"; a blocked cause's chain of wakers is a list of links to each waker's span.

import { api, spanProfileUrl, exectraceRawUrl } from '../lib/api.js';
import { spanUrl } from '../lib/route.js';
import { fmtDuration, fmtOffset, fmtPct, fmtClock, fmtCount, fmtBytes } from '../lib/format.js';
import { flattenBreakdown, segments, kindLabel, kindColor, stateColor } from '../lib/breakdown.js';
import { cpuSnapshotIds, scopeLabel, confidenceWord, sameShard } from '../lib/explain.js';
import { spanSamples, foldSamples, nodeLabel } from '../lib/flame.js';
import { samplesByState } from '../lib/goroutines.js';
import { h, loadingBox, errorBox, emptyBox, stackedBar, swatch, clear } from '../ui/dom.js';
import { flameGraph } from '../ui/flamegraph.js';

/** Frames as a list: "function  file:line", the program's own frames emphasised. */
export function framesList(frames, { max = 12 } = {}) {
  const list = h('ol', { class: 'frames' });
  const fs = frames || [];
  fs.slice(0, max).forEach((f) => {
    const fn = f.function || f.func || '?';
    const own = !/^(runtime|internal|syscall|sync|net|time)[./]/.test(fn);
    list.append(h('li', { class: own ? 'own' : '' }, h('span', { class: 'fn' }, fn), ' ', h('span', { class: 'loc' }, f.file ? `${f.file}:${f.line || '?'}` : '')));
  });
  if (fs.length > max) list.append(h('li', { class: 'more' }, `… ${fs.length - max} more frames`));
  return list;
}

export function spanPanel(o) {
  const { row, tl, traceId, base } = o;
  const s = row.span;
  // with several shards, the ids this panel follows (snapshots, execution traces) are the
  // span's shard's own: its explanation and runtime data come from there
  o = { ...o, shard: s.shard || undefined };
  const ex = o.explain;
  const dur = row.end - row.start;
  const el = h('div', { class: 'panel span-panel', dataset: { spanId: s.span_id } });
  const destroyers = [];
  const ac = new AbortController();

  el.append(h('header', { class: 'panel-head' },
    h('div', { class: 'panel-title' }, swatch(o.colorOf(row.service)), h('h2', null, s.name)),
    h('button', { class: 'icon-btn', title: 'Close (Esc)', 'aria-label': 'Close the span panel', onclick: o.onClose }, '×')));

  const parentRow = row.parent >= 0 ? o.rows[row.parent] : null;
  el.append(h('dl', { class: 'facts' },
    h('dt', null, 'service'), h('dd', null, row.service),
    h('dt', null, 'duration'), h('dd', { class: 'num' }, fmtDuration(dur, 4)),
    h('dt', null, 'starts'), h('dd', { class: 'num' }, `${fmtOffset(row.start)} from the trace's start · ${fmtClock(base + row.start)}`),
    ex ? [h('dt', null, 'self time'), h('dd', { class: 'num' }, fmtDuration(ex.self_ns, 4))] : null,
    h('dt', null, 'span id'), h('dd', { class: 'num' }, s.span_id),
    h('dt', null, 'parent'), h('dd', null, parentRow
      ? h('a', { href: '#', onclick: (e) => { e.preventDefault(); o.onSelectSpan(parentRow.span.span_id); } }, parentRow.span.name)
      : s.parent_span_id ? h('span', { class: 'muted' }, `${s.parent_span_id} (not in this trace)`) : h('span', { class: 'muted' }, 'none: the root')),
  ));
  // the span's stable address: the canonical absolute URL (what Grafana's links use too)
  const link = spanUrl(location.origin, traceId, s.span_id);
  const copied = h('span', { class: 'muted copy-status', role: 'status' });
  const copyLink = async (e) => {
    e.preventDefault();
    try {
      await navigator.clipboard.writeText(link);
      copied.textContent = 'Link copied';
    } catch {
      // no clipboard (an insecure origin, a denied permission): select the link's text
      const r = document.createRange();
      r.selectNodeContents(linkEl);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(r);
      copied.textContent = 'Press Ctrl+C to copy the selected link';
    }
    el.dataset.copied = link;
  };
  const linkEl = h('a', { class: 'span-link num', href: link, title: 'The stable link to this span and its explanation' }, link);
  el.append(h('div', { class: 'span-link-row' }, h('span', { class: 'muted' }, 'link '), linkEl));
  el.append(h('div', { class: 'panel-actions' },
    h('button', { class: 'btn small copy-link', onclick: copyLink, title: 'Copy the link to this span and its explanation' }, 'Copy link'),
    h('button', { class: 'btn small', onclick: o.onZoom, title: 'Zoom the timeline to this span (f)' }, 'Zoom to span'),
    h('a', { class: 'btn small', href: o.href({ view: 'operation', service: row.service, operation: s.name }) }, 'Operation'),
    h('a', { class: 'btn small', href: o.href({ view: 'compare', service: row.service, operation: s.name }) }, 'Slow vs fast'), copied));

  // ---------------------------------------------------------- explanation
  const exSec = h('section', { class: 'explain', dataset: { role: 'explanation' } }, h('h3', null, 'Where the time went'));
  el.append(exSec);
  if (ex) {
    const segs = segments(flattenBreakdown(ex.breakdown), ex.duration_ns || dur);
    exSec.append(stackedBar(segs, { title: (g) => `${g.label}: ${fmtDuration(g.value)} (${fmtPct(g.share)})`, cls: 'big' }));
    exSec.append(h('ul', { class: 'legend-list' }, segs.map((g) => h('li', { dataset: { key: g.key } }, swatch(g.color, g.pattern), h('span', null, g.label), h('span', { class: 'num' }, fmtDuration(g.value)), h('span', { class: 'num muted' }, fmtPct(g.share))))));
    const causes = h('ol', { class: 'causes' });
    for (const c of ex.causes || []) causes.append(causeItem(c, o));
    if (!(ex.causes || []).length) causes.append(h('li', { class: 'muted' }, 'No cause reaches 1% of this span.'));
    exSec.append(h('h3', null, 'Causes'), causes);
  } else if (o.explainLoading) exSec.append(loadingBox('the explanation'));
  else if (o.explainErr) exSec.append(errorBox(o.explainErr, 'Explanation'));
  else exSec.append(emptyBox('No explanation for this span.'));

  // ---------------------------------------------------------- CPU flame graph
  const cpuSec = h('section', { class: 'cpu-flame', dataset: { role: 'cpu-flame' } }, h('h3', null, 'CPU samples of this span'));
  el.append(cpuSec);
  const ids = cpuSnapshotIds(ex, s, tl.sources);
  if (!ids.length) {
    const mine = (tl.sources || []).filter((src) => sameShard(src, s) && (s.source_id == null || src.id === s.source_id));
    const covered = mine.some((src) => (src.cpu_profiles || []).some((p) => p.start_ns <= s.end_ns && p.end_ns >= s.start_ns));
    cpuSec.append(emptyBox(covered ? 'No CPU sample carries this span: it was not on a CPU when the profiler looked.' : 'No CPU profile covered this span.'));
    cpuSec.dataset.samples = '0';
  } else {
    const box = h('div', null, loadingBox('CPU samples'));
    cpuSec.append(box);
    Promise.all(ids.map((i) => api.snapshot(i, { signal: ac.signal }, undefined, o.shard))).then((snaps) => {
      const samples = snaps.flatMap((sn) => spanSamples(sn, s.span_id));
      const more = snaps.some((sn) => sn.more);
      clear(box);
      cpuSec.dataset.samples = String(samples.length);
      if (!samples.length) { box.append(emptyBox('No CPU sample carries this span.')); return; }
      const tree = foldSamples(samples, s.name);
      const fg = flameGraph({
        root: tree, ariaLabel: `CPU flame graph of ${s.name}`,
        info: (n) => `${nodeLabel(n)} — ${fmtDuration(n.value)} (${fmtPct(n.value / tree.value)})`,
      });
      destroyers.push(fg.destroy);
      const capped = ex && ex.breakdown && tree.value > (ex.breakdown.cpu_ns || 0) + (ex.breakdown.gc_assist_ns || 0) + 1;
      box.append(h('p', { class: 'muted small' }, `${fmtDuration(tree.value)} of CPU in ${fmtCount(samples.length)} sample rows from profile${ids.length > 1 ? 's' : ''} ${ids.map((i) => '#' + i).join(', ')}${more ? ' (the profile has more samples than were read)' : ''}. Click a frame to zoom.`,
        capped ? ` The samples add up to more than the breakdown's CPU time: samples are one profiling period apart, so a span can be over-counted by a sample, and the breakdown caps CPU at the span's self time.` : ''), fg.el);
    }).catch((err) => { if (err.name !== 'AbortError') { clear(box).append(errorBox(err, 'CPU profile')); } });
  }

  // ---------------------------------------------------------- goroutine samples
  const gSec = h('section', { class: 'gor-samples', dataset: { role: 'goroutine-samples' } }, h('h3', null, 'Goroutine samples of this span'));
  el.append(gSec);
  const byState = samplesByState(s.goroutine_samples);
  gSec.dataset.samples = String((s.goroutine_samples || []).length);
  if (!byState.length) gSec.append(emptyBox('No goroutine snapshot found this span\'s goroutines.'));
  for (const st of byState) {
    const det = h('details', { class: 'state-group' },
      h('summary', null, swatch(stateColor(st.state)), h('strong', null, st.state), ' ',
        h('span', { class: 'muted' }, `seen in ${st.snapshots} snapshot${st.snapshots === 1 ? '' : 's'}, ${fmtCount(st.goroutines)} goroutine${st.goroutines === 1 ? '' : 's'}`)));
    for (const smp of st.samples) {
      det.append(h('div', { class: 'sample' },
        h('div', null, snapLink(smp.snapshot_id, o), ' ', h('span', { class: 'num muted' }, `${fmtOffset(smp.time_ns - base)} · ${smp.count} goroutine${smp.count === 1 ? '' : 's'}`),
          smp.wait_reason ? h('span', { class: 'muted' }, ` · ${smp.wait_reason}`) : null),
        framesList(smp.frames, { max: 8 })));
    }
    gSec.append(det);
  }

  // ---------------------------------------------------------- downloads
  const hasCpu = s.cpu_sample_rows > 0;
  const hasG = (s.goroutine_samples || []).length > 0;
  const dl = (type, ok, label) => ok
    ? h('a', { class: 'btn small', href: spanProfileUrl(s.span_id, type, traceId, o.shard), download: `span-${s.span_id}-${type}.pb.gz` }, label)
    : h('span', { class: 'btn small disabled', title: `no ${type} sample carries this span` }, label);
  el.append(h('section', { class: 'downloads' }, h('h3', null, 'pprof of this span'),
    h('div', { class: 'panel-actions' }, dl('cpu', hasCpu, 'CPU profile (.pb.gz)'), dl('goroutine', hasG, 'Goroutine profile (.pb.gz)')),
    h('p', { class: 'muted small' }, 'Only the samples labelled with this span; open with go tool pprof.')));

  // ---------------------------------------------------------- execution traces
  const xtSec = h('section', { class: 'exectraces', dataset: { role: 'exectraces' } }, h('h3', null, 'Execution trace'), loadingBox('the execution traces'));
  el.append(xtSec);
  (o.exectraces || Promise.resolve([])).then((xs) => {
    xtSec.lastChild.remove();
    xtSec.dataset.count = String(xs.length);
    if (!xs.length) { xtSec.append(h('p', { class: 'muted small' }, 'No stored execution trace covers this span.')); return; }
    xtSec.append(h('div', { class: 'panel-actions' }, xs.map((x) => h('a', {
      class: 'btn small', href: exectraceRawUrl(x.id, o.shard), download: `trace-${x.id}.out`, dataset: { exectraceId: String(x.id) },
    }, xs.length > 1 ? `download execution trace #${x.id}` : 'download execution trace'))),
    h('p', { class: 'muted small' }, `The whole trace as it was pushed (${xs.map((x) => `#${x.id}: ${fmtDuration(x.end_ns - x.start_ns)}, ${x.alignment}`).join('; ')}); open with go tool trace.`));
  });

  return { el, destroy() { ac.abort(); for (const d of destroyers) d(); } };
}

function snapLink(sid, o) {
  return h('a', { href: '#', class: 'snap-link', dataset: { snapshot: String(sid) }, onclick: (e) => { e.preventDefault(); o.onOpenSnapshot(sid, o.shard); } }, `snapshot #${sid}`);
}

function causeItem(c, o) {
  const borrowed = c.scope === 'operation';
  const li = h('li', { class: `cause${borrowed ? ' borrowed' : ''}`, dataset: { kind: c.kind, scope: c.scope } });
  li.append(h('div', { class: 'cause-head' },
    swatch(kindColor(c.kind), c.kind === 'unknown'), h('strong', null, kindLabel(c.kind)),
    h('span', { class: 'num' }, fmtPct(c.share)),
    h('span', { class: `conf conf-${confidenceWord(c.confidence)}`, title: 'confidence: grows with the number of observations (0 to 1; act on ≥ 0.7)' },
      `confidence ${(c.confidence || 0).toFixed(2)}`),
    h('span', { class: `scope ${borrowed ? 'scope-op' : 'scope-span'}` }, scopeLabel(c))));
  li.append(h('p', { class: 'cause-text' }, c.summary || ''));
  const ev = h('ul', { class: 'evidence' });
  for (const e of c.evidence || []) ev.append(evidenceItem(e, o, borrowed));
  if ((c.evidence || []).length) li.append(ev);
  return li;
}

function evidenceItem(e, o, borrowed) {
  const tag = borrowed ? h('span', { class: 'scope scope-op' }, 'from similar spans') : null;
  switch (e.type) {
    case 'span': {
      const known = o.byId.has(e.span_id);
      return h('li', { class: 'ev ev-span' }, 'slowest child: ',
        known ? h('a', { href: '#', onclick: (ev) => { ev.preventDefault(); o.onSelectSpan(e.span_id); } }, e.name) : h('span', null, e.name),
        h('span', { class: 'muted' }, ` (${e.service}, `), h('span', { class: 'num' }, fmtDuration(e.duration_ns)), h('span', { class: 'muted' }, `) — its top cause: ${kindLabel(e.top_cause)}`));
    }
    case 'gc_cycle':
      return h('li', { class: 'ev ev-gc' }, tag, h('span', null, `GC cycle #${e.n}`), ' ',
        h('span', { class: 'num muted' }, `at ${fmtOffset(e.start_ns - o.base)}, stopped the world for ${fmtDuration(e.stw_overlap_ns)} of this span; heap ${fmtBytes(e.heap_before_bytes)}, goal ${fmtBytes(e.goal_bytes)}`));
    case 'cpu_samples':
      return h('li', { class: 'ev ev-cpu' }, tag, h('div', null, h('span', { class: 'num' }, `${fmtCount(e.samples)} sample${e.samples === 1 ? '' : 's'}, ${fmtDuration(e.cpu_ns)}`), ' in'),
        framesList(e.frames, { max: 8 }));
    case 'cpu_profile':
      return h('li', { class: 'ev ev-profile' }, tag, 'from CPU profile ', snapLink(e.snapshot_id, o),
        h('span', { class: 'num muted' }, ` (${fmtOffset(e.time_ns - o.base)}, ${fmtDuration(e.duration_ns)} long)`));
    case 'goroutine_sample':
      return h('li', { class: 'ev ev-goroutine' }, tag, h('div', null, snapLink(e.snapshot_id, o),
        h('span', { class: 'num muted' }, ` at ${fmtOffset(e.time_ns - o.base)}: `),
        `${e.goroutines} goroutine${e.goroutines === 1 ? '' : 's'} ${e.state}${e.wait_reason ? ` (${e.wait_reason})` : ''} in`),
      framesList(e.frames, { max: 8 }));
    case 'observations':
      return h('li', { class: 'ev ev-obs' }, tag,
        `${e.snapshots != null ? fmtCount(e.snapshots) + ' snapshot observation' + (e.snapshots === 1 ? '' : 's') : ''}${e.spans != null ? ` of ${fmtCount(e.spans)} similar span${e.spans === 1 ? '' : 's'}` : ''}${e.fraction != null ? `; ${fmtPct(e.fraction)} of them in this state` : ''}`);
    case 'reason':
      return h('li', { class: 'ev ev-reason' }, tag, e.text || '');
    case 'exectrace':
      return h('li', { class: 'ev ev-exectrace' }, 'from ',
        h('a', { href: exectraceRawUrl(e.exectrace_id, o.shard), download: `trace-${e.exectrace_id}.out` }, `execution trace #${e.exectrace_id}`),
        h('span', { class: 'num muted' }, ` (covers ${fmtDuration(Number(e.covered_ns))} of the span; clock ${e.alignment})`));
    case 'interval':
      return h('li', { class: 'ev ev-interval' }, h('div', null, h('span', { class: 'num' }, `goroutine ${e.goroutine}: ${e.state}${e.reason ? ` (${e.raw_reason || e.reason})` : ''} ${fmtDuration(Number(e.ns))}`),
        h('span', { class: 'num muted' }, ` at ${fmtOffset(Number(e.start_ns) - o.base)}`)), framesList(e.stack, { max: 8 }));
    case 'chain':
      return chainItem(e, o);
    default:
      return h('li', { class: 'ev' }, tag, h('code', null, JSON.stringify(e)));
  }
}


/** A chain of wakers: each link a line ("woken by goroutine 57, span db.flush") that opens the waker's span, and its stack. */
function chainItem(e, o) {
  const list = h('ol', { class: 'chain', dataset: { role: 'chain' } });
  for (const l of e.links || []) {
    const verb = l.relation === 'released' ? 'released by' : 'woken by';
    const name = l.span_name || l.span_id;
    const link = l.span_id ? h('a', {
      href: '#', class: 'chain-link', dataset: { spanId: l.span_id, traceId: l.trace_id || '', goroutine: String(l.goroutine) },
      onclick: (ev) => { ev.preventDefault(); o.onOpenLink(l); },
    }, `span ${name}`) : h('span', { class: 'muted' }, 'no span');
    const waited = l.waited ? h('div', { class: 'muted small' }, `which had waited ${fmtDuration(Number(l.waited.ns))} (${l.waited.raw_reason || l.waited.reason || l.waited.state})`) : null;
    list.append(h('li', null, h('div', null, `${verb} goroutine ${l.goroutine} (`, link,
      l.service ? h('span', { class: 'muted' }, ` · ${l.service}`) : null, ') ', h('span', { class: 'num muted' }, `at ${fmtOffset(Number(l.woke_ns) - o.base)}`)),
    waited, framesList(l.stack, { max: 4 })));
  }
  return h('li', { class: 'ev ev-chain' }, h('div', null, 'the chain of waits:'), list);
}

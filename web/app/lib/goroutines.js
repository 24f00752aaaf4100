// Goroutines of a snapshot and of a span: grouping by state then stack, the text filter,
// and which groups belong to the trace being looked at (group.trace_id). Also the span
// panel's "goroutine samples by state" from the timeline. Pure, no DOM: tested in
// web/test/goroutines.test.mjs.

import { STATE_ORDER } from './breakdown.js';

const rank = (s) => { const i = STATE_ORDER.indexOf(s); return i < 0 ? 99 : i; };
const fnOf = (f) => (f && (f.func || f.function || f.name)) || '';

/** The text a filter looks in: state, wait reason, frames, labels, ids. */
export function groupText(g) {
  const parts = [g.state, g.wait_reason, g.span_id, g.trace_id];
  for (const f of g.frames || []) parts.push(fnOf(f), f.file && `${f.file}:${f.line}`);
  for (const [k, v] of Object.entries(g.labels || {})) parts.push(`${k}=${v}`);
  return parts.filter(Boolean).join('\n').toLowerCase();
}

/** Whether a group matches a filter: every whitespace-separated word occurs. */
export function matchesFilter(g, filter) {
  const words = String(filter || '').toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return true;
  const t = groupText(g);
  return words.every((w) => t.includes(w));
}

/**
 * Snapshot groups by state: [{state, count, groups}] (states in a fixed order, groups by
 * count, the trace's own first), the filter applied. Each group gets `mine` (its
 * trace_id is `traceId`). Also totals: {states, total, shown, mine}.
 */
export function groupSnapshot(groups, { traceId = null, filter = '' } = {}) {
  const by = new Map();
  let total = 0, shown = 0, mine = 0;
  for (const g0 of groups || []) {
    total += g0.count || 0;
    if (!matchesFilter(g0, filter)) continue;
    const g = { ...g0, mine: !!(traceId && g0.trace_id === traceId) };
    shown += g.count || 0;
    if (g.mine) mine += g.count || 0;
    const st = g.state || 'other';
    if (!by.has(st)) by.set(st, { state: st, count: 0, groups: [] });
    const e = by.get(st);
    e.count += g.count || 0;
    e.groups.push(g);
  }
  const states = [...by.values()].sort((a, b) => rank(a.state) - rank(b.state) || b.count - a.count);
  for (const s of states) s.groups.sort((a, b) => (b.mine - a.mine) || (b.count - a.count) || ((b.wait_max_ns || 0) - (a.wait_max_ns || 0)));
  return { states, total, shown, mine };
}

/**
 * A span's goroutine samples (timeline spans[].goroutine_samples) by state:
 * [{state, goroutines, snapshots, samples}], most observed first.
 */
export function samplesByState(samples) {
  const by = new Map();
  for (const s of samples || []) {
    const st = s.state || 'other';
    if (!by.has(st)) by.set(st, { state: st, goroutines: 0, snapshots: new Set(), samples: [] });
    const e = by.get(st);
    e.goroutines += s.count || 0;
    e.snapshots.add(s.snapshot_id);
    e.samples.push(s);
  }
  return [...by.values()]
    .map((e) => ({ ...e, snapshots: e.snapshots.size }))
    .sort((a, b) => b.snapshots - a.snapshots || b.goroutines - a.goroutines || rank(a.state) - rank(b.state));
}

/** How a snapshot of kind reads: goroutine groups (a goroutine dump or profile, a goroutine
 * leak profile: only the leaked ones) or profile samples, and its panel's title. */
export function snapshotView(kind) {
  if (kind === 'goroutine') return { groups: true, title: 'Goroutine snapshot' };
  if (kind === 'goroutineleak') return { groups: true, title: 'Goroutine leak profile' };
  return { groups: false, title: `${String(kind).toUpperCase()} profile` };
}

/** "waiting 1–2 minutes" from wait_min_ns/wait_max_ns, or '' when the dump had none. */
export function waitText(g) {
  const a = g.wait_min_ns, b = g.wait_max_ns;
  if (!(a > 0) && !(b > 0)) return '';
  const m = (ns) => Math.round(ns / 60e9);
  if (a === b || !(a > 0)) return `waiting ${m(b)} min`;
  return `waiting ${m(a)}–${m(b)} min`;
}

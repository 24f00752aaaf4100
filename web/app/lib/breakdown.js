// The explanation's components: their order, names and colours, and the segments of a
// stacked bar from an /explain breakdown (nanoseconds) or a /compare breakdown_share
// (fractions). Also the goroutine states' colours. Pure, no DOM: tested in
// web/test/breakdown.test.mjs.

/** Every component in bar order: key, label, colour. Blocked kinds follow gc. */
export const COMPONENTS = [
  { key: 'cpu', label: 'on CPU', color: '#e8833a' },
  { key: 'gc_stw', label: 'GC stop-the-world', color: '#a61b29' },
  { key: 'gc_assist', label: 'GC assist', color: '#e0606e' },
  { key: 'mutex', label: 'blocked: mutex', color: '#7b4fc4', blocked: true },
  { key: 'chan', label: 'blocked: channel', color: '#3d6fd1', blocked: true },
  { key: 'select', label: 'blocked: select', color: '#2b9bb3', blocked: true },
  { key: 'io', label: 'blocked: I/O', color: '#2f9363', blocked: true },
  { key: 'sleep', label: 'blocked: sleep', color: '#8a9bb8', blocked: true },
  { key: 'syscall', label: 'blocked: syscall', color: '#8c6d3f', blocked: true },
  { key: 'cond', label: 'blocked: cond', color: '#c462a5', blocked: true },
  { key: 'other', label: 'blocked: other', color: '#9a8f7a', blocked: true },
  { key: 'runnable', label: 'runnable (waiting for a CPU)', color: '#e3b82f' },
  { key: 'children', label: 'in child spans', color: '#c9d2de' },
  { key: 'unknown', label: 'unknown', color: '#eceef1', pattern: true },
];

export const COMPONENT = Object.fromEntries(COMPONENTS.map((c) => [c.key, c]));

/** A cause kind's label (causes use the component keys). */
export const kindLabel = (k) => (COMPONENT[k] ? COMPONENT[k].label : String(k));
export const kindColor = (k) => (COMPONENT[k] ? COMPONENT[k].color : '#999');

/** Flattens an /explain breakdown to {key: ns}. */
export function flattenBreakdown(b) {
  const bl = (b && b.blocked_ns) || {};
  return {
    cpu: b?.cpu_ns || 0, gc_stw: b?.gc_stw_ns || 0, gc_assist: b?.gc_assist_ns || 0,
    mutex: bl.mutex || 0, chan: bl.chan || 0, select: bl.select || 0, io: bl.io || 0, sleep: bl.sleep || 0,
    syscall: bl.syscall || 0, cond: bl.cond || 0, other: bl.other || 0,
    runnable: b?.runnable_ns || 0, children: b?.children_ns || 0, unknown: b?.unknown_ns || 0,
  };
}

/**
 * Segments of a stacked bar: [{key, label, color, value, share, x}] for the non-zero
 * components, x and share as fractions of the total (or of `total` when given, e.g. the
 * span's duration). `values` is {key: number}.
 */
export function segments(values, total) {
  let sum = 0;
  for (const c of COMPONENTS) sum += Math.max(0, values[c.key] || 0);
  const denom = total > 0 ? Math.max(total, sum) : sum;
  const out = [];
  let x = 0;
  if (!(denom > 0)) return out;
  for (const c of COMPONENTS) {
    const v = Math.max(0, values[c.key] || 0);
    if (!v) continue;
    const share = v / denom;
    out.push({ ...c, value: v, share, x });
    x += share;
  }
  return out;
}

/** Colours of normalised goroutine states (snapshots, goroutine samples). */
export const STATE_COLORS = {
  running: '#e8833a', runnable: '#e3b82f', syscall: '#8c6d3f', io: '#2f9363', chan: '#3d6fd1',
  select: '#2b9bb3', mutex: '#7b4fc4', sleep: '#8a9bb8', cond: '#c462a5', gc: '#a61b29',
  idle: '#c9d2de', other: '#9a8f7a',
};
export const STATE_ORDER = ['running', 'runnable', 'syscall', 'io', 'chan', 'select', 'mutex', 'sleep', 'cond', 'gc', 'idle', 'other'];
export const stateColor = (s) => STATE_COLORS[s] || '#9a8f7a';

/** Segments of a by_state object ({state: count}) in STATE_ORDER. */
export function stateSegments(byState) {
  const keys = Object.keys(byState || {}).sort((a, b) => rank(a) - rank(b));
  const total = keys.reduce((s, k) => s + (byState[k] || 0), 0);
  let x = 0;
  return keys.filter((k) => byState[k] > 0).map((k) => {
    const share = byState[k] / total;
    const seg = { key: k, label: k, color: stateColor(k), value: byState[k], share, x };
    x += share;
    return seg;
  });
}
const rank = (s) => { const i = STATE_ORDER.indexOf(s); return i < 0 ? 99 : i; };

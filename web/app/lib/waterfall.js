// Layout of the span waterfall: spans become rows in depth-first order (children after
// their parent, by start time), each with its depth for indentation; spans whose parent
// is not in the trace start their own tree after the root ("orphans"). Collapsing a row
// hides its descendants. Also the fixed service palette. Pure, no DOM: tested in
// web/test/waterfall.test.mjs.

/** Service colours, in order of first appearance in a trace (readable on white). */
export const PALETTE = [
  '#3b6fd4', // blue
  '#d9822b', // orange
  '#2f9e6e', // green
  '#a55bc9', // purple
  '#c4465a', // red
  '#2a9bb5', // teal
  '#8c6d3f', // brown
  '#d16aa8', // pink
  '#6b7a1f', // olive
  '#5a6272', // slate
];

export const serviceColor = (i) => PALETTE[((i % PALETTE.length) + PALETTE.length) % PALETTE.length];

const byStart = (a, b) => a.start_ns - b.start_ns || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  || (a.span_id < b.span_id ? -1 : a.span_id > b.span_id ? 1 : 0);

/**
 * Rows of the waterfall from the timeline's spans ({span_id, parent_span_id, service,
 * name, start_ns, end_ns}). Times in the rows are relative to `base` (unix ns).
 * Returns {rows, byId, services, colorOf, maxDepth}; each row is {i, span, depth,
 * parent (row index or -1), children (row indexes), start, end, service, orphan}.
 */
export function buildWaterfall(spans, base = 0) {
  const ids = new Map();
  for (const s of spans) ids.set(s.span_id, s);
  const kids = new Map();
  const roots = [];
  for (const s of spans) {
    const p = s.parent_span_id;
    if (p && ids.has(p) && p !== s.span_id) {
      if (!kids.has(p)) kids.set(p, []);
      kids.get(p).push(s);
    } else roots.push(s);
  }
  // true roots (no parent) first, then orphans (parent missing), each by start
  roots.sort((a, b) => (!a.parent_span_id === !b.parent_span_id ? byStart(a, b) : a.parent_span_id ? 1 : -1));
  for (const list of kids.values()) list.sort(byStart);

  const rows = [];
  const byId = new Map();
  const services = [];
  const seenSvc = new Map();
  let maxDepth = 0;
  // iterative depth-first walk (a trace may be a 5,000-deep chain)
  const stack = [];
  for (let r = roots.length - 1; r >= 0; r--) stack.push({ s: roots[r], depth: 0, parent: -1 });
  const visited = new Set();
  while (stack.length) {
    const { s, depth, parent } = stack.pop();
    if (visited.has(s.span_id)) continue; // a cycle in parent links: show each span once
    visited.add(s.span_id);
    const i = rows.length;
    if (!seenSvc.has(s.service)) { seenSvc.set(s.service, services.length); services.push(s.service); }
    rows.push({
      i, span: s, depth, parent, children: [],
      start: s.start_ns - base, end: s.end_ns - base, service: s.service,
      orphan: parent < 0 && !!s.parent_span_id,
    });
    if (parent >= 0) rows[parent].children.push(i);
    byId.set(s.span_id, i);
    if (depth > maxDepth) maxDepth = depth;
    const ch = kids.get(s.span_id);
    if (ch) for (let c = ch.length - 1; c >= 0; c--) stack.push({ s: ch[c], depth: depth + 1, parent: i });
  }
  // spans only reachable through a parent cycle
  for (const s of spans) {
    if (visited.has(s.span_id)) continue;
    visited.add(s.span_id);
    const i = rows.length;
    if (!seenSvc.has(s.service)) { seenSvc.set(s.service, services.length); services.push(s.service); }
    rows.push({ i, span: s, depth: 0, parent: -1, children: [], start: s.start_ns - base, end: s.end_ns - base, service: s.service, orphan: true });
    byId.set(s.span_id, i);
  }
  const colorOf = (svc) => serviceColor(seenSvc.has(svc) ? seenSvc.get(svc) : 0);
  return { rows, byId, services, colorOf, maxDepth };
}

/**
 * Row indexes shown when the rows in `collapsed` (a Set of span ids) hide their subtrees.
 * Rows are in depth-first order, so a row's subtree is the run after it that is deeper.
 */
export function visibleRows(model, collapsed) {
  const out = [];
  const rows = model.rows;
  let hideDeeperThan = -1;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    if (hideDeeperThan >= 0) {
      if (r.depth > hideDeeperThan) continue;
      hideDeeperThan = -1;
    }
    out.push(i);
    if (collapsed && collapsed.has(r.span.span_id) && r.children.length) hideDeeperThan = r.depth;
  }
  return out;
}

/** Every ancestor's span id of row i (to expand a collapsed path to a selected span). */
export function ancestors(model, i) {
  const out = [];
  for (let p = model.rows[i].parent; p >= 0; p = model.rows[p].parent) out.push(model.rows[p].span.span_id);
  return out;
}

/** The next visible row from `cur` in direction dir (+1/−1), clamped; cur −1 starts at the top. */
export function stepRow(visible, curRow, dir) {
  if (!visible.length) return -1;
  const pos = visible.indexOf(curRow);
  if (pos < 0) return visible[dir > 0 ? 0 : visible.length - 1];
  return visible[Math.max(0, Math.min(visible.length - 1, pos + dir))];
}

/**
 * Where a bar's duration label goes: 'inside' if it fits in the bar, else 'right' of
 * the bar if there is room before `limit`, else 'left'.
 */
export function labelPlacement(x0, x1, textWidth, limit) {
  if (x1 - x0 >= textWidth + 8) return 'inside';
  if (x1 + 4 + textWidth <= limit) return 'right';
  return 'left';
}

/** The extent of all rows: {t0, t1} relative to base. */
export function extentOf(model) {
  let t0 = Infinity, t1 = -Infinity;
  for (const r of model.rows) { if (r.start < t0) t0 = r.start; if (r.end > t1) t1 = r.end; }
  return Number.isFinite(t0) ? { t0, t1 } : { t0: 0, t1: 1 };
}

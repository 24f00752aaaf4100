// Flame graphs: folding profile samples (leaf-first frames, as pprof and the API give
// them) into a root-first tree of functions with their weight, laying a tree out as
// rectangles (x and width as fractions of the focused node, one row per depth), and the
// colours: a warm hue per function name, or blue→red by `delta` for the differential
// graph of /api/v1/compare. Pure, no DOM: tested in web/test/flame.test.mjs.

/** The sample value to weigh CPU samples by: cpu/nanoseconds if present, else the last. */
export function cpuValueIndex(meta) {
  const types = (meta && meta.sample_types) || [];
  const i = types.findIndex((t) => t && t[0] === 'cpu');
  if (i >= 0) return i;
  return Math.max(0, types.length - 1);
}

const fnName = (f) => (f && (f.function || f.func || f.name)) || '?';

/**
 * The samples of a profile snapshot that carry span `spanId` (its `span_id`, or the
 * label under one of the names the server recognises), as [{frames, value}].
 */
export function spanSamples(snapshot, spanId) {
  const vi = cpuValueIndex(snapshot && snapshot.meta);
  const out = [];
  for (const s of (snapshot && snapshot.samples) || []) {
    const sid = s.span_id || (s.labels && (s.labels.span_id || s.labels['otel.span_id']));
    if (sid !== spanId) continue;
    const v = (s.values || [])[vi];
    if (v > 0) out.push({ frames: s.frames || [], value: v });
  }
  return out;
}

/** A new tree node. */
function node(name, frame) {
  return { name, value: 0, self: 0, children: [], file: frame && frame.file, lines: frame && frame.line ? [frame.line] : [] };
}

/**
 * Folds samples [{frames (leaf first), value}] into a root-first tree merged by function
 * name: {name, value, self, children, file, lines}. Children are sorted heaviest first.
 */
export function foldSamples(samples, rootName = 'all') {
  const root = node(rootName);
  for (const s of samples) {
    const v = s.value;
    if (!(v > 0)) continue;
    root.value += v;
    let cur = root;
    for (let i = s.frames.length - 1; i >= 0; i--) {
      const f = s.frames[i];
      const name = fnName(f);
      let child = cur.children.find((c) => c.name === name);
      if (!child) { child = node(name, f); cur.children.push(child); }
      else if (f && f.line && !child.lines.includes(f.line)) child.lines.push(f.line);
      child.value += v;
      cur = child;
    }
    cur.self += v;
  }
  sortTree(root);
  return root;
}

function sortTree(n) {
  const st = [n];
  while (st.length) {
    const x = st.pop();
    x.children.sort((a, b) => b.value - a.value || (a.name < b.name ? -1 : 1));
    for (const c of x.children) { c.lines.sort((a, b) => a - b); st.push(c); }
  }
}

/** The number of levels in a tree (the root is 1). */
export function treeDepth(root) {
  let max = 0;
  const st = [[root, 1]];
  while (st.length) {
    const [n, d] = st.pop();
    if (d > max) max = d;
    for (const c of n.children || []) st.push([c, d + 1]);
  }
  return max;
}

/** The path of nodes from the root to `target` (inclusive), or null. */
export function pathTo(root, target) {
  const st = [[root, [root]]];
  while (st.length) {
    const [n, p] = st.pop();
    if (n === target) return p;
    for (const c of n.children || []) st.push([c, [...p, c]]);
  }
  return null;
}

/**
 * Rectangles for a tree: [{node, depth, x, w}] with x and w fractions of the width.
 * `value(node)` is the weight (default node.value); `focus` (a node of the tree) fills
 * the width, its ancestors drawn full-width above it. Children wider than their parent
 * in total (rounded shares) are scaled to fit. Rectangles under `minW` are left out.
 */
export function layoutFlame(root, { value = (n) => n.value, focus = null, minW = 0 } = {}) {
  const out = [];
  let top = root;
  let depth0 = 0;
  if (focus && focus !== root) {
    const path = pathTo(root, focus);
    if (path) {
      for (let d = 0; d < path.length - 1; d++) out.push({ node: path[d], depth: d, x: 0, w: 1, ancestor: true });
      top = focus;
      depth0 = path.length - 1;
    }
  }
  const tv = value(top);
  if (!(tv > 0)) return out;
  const st = [{ n: top, depth: depth0, x: 0, w: 1 }];
  while (st.length) {
    const { n, depth, x, w } = st.pop();
    if (w < minW) continue;
    out.push({ node: n, depth, x, w });
    const kids = n.children || [];
    const nv = value(n);
    let sum = 0;
    for (const c of kids) sum += Math.max(0, value(c) || 0);
    const k = sum > nv && sum > 0 ? nv / sum : 1; // scale to fit
    let cx = x;
    for (const c of kids) {
      const cv = Math.max(0, value(c) || 0);
      if (!cv) continue;
      const cw = (cv / nv) * w * k;
      st.push({ n: c, depth: depth + 1, x: cx, w: cw });
      cx += cw;
    }
  }
  out.sort((a, b) => a.depth - b.depth || a.x - b.x);
  return out;
}

/** A stable hash of a string (FNV-1a). */
export function hashString(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193); }
  return h >>> 0;
}

/** Warm flame colours by function name; runtime frames greyer, the program's own warmer. */
export function nameColor(name) {
  const h = hashString(String(name));
  const runtime = /^runtime[./]|^internal\/|^syscall\./.test(name);
  const hue = runtime ? 30 + (h % 20) : 8 + (h % 38);
  const sat = runtime ? 25 + (h % 15) : 62 + (h % 20);
  const light = 62 + ((h >> 8) % 14);
  return `hsl(${hue} ${sat}% ${light}%)`;
}

/**
 * Differential colour: red when the slow group spends more there (delta > 0), blue when
 * less, pale grey when about the same; intensity by |delta| / maxAbs.
 */
export function diffColor(delta, maxAbs) {
  if (!(maxAbs > 0) || !Number.isFinite(delta)) return 'hsl(220 8% 88%)';
  const t = Math.min(1, Math.abs(delta) / maxAbs);
  if (t < 0.02) return 'hsl(220 8% 88%)';
  const light = Math.round(91 - 31 * t); // stays light enough for dark labels
  const sat = Math.round(40 + 45 * t);
  return delta > 0 ? `hsl(4 ${sat}% ${light}%)` : `hsl(214 ${sat}% ${light}%)`;
}

/** The largest |delta| in a compare flame tree (the colour scale's end). */
export function maxAbsDelta(root) {
  let m = 0;
  const st = [root];
  while (st.length) {
    const n = st.pop();
    if (n !== root && Math.abs(n.delta || 0) > m) m = Math.abs(n.delta || 0);
    for (const c of n.children || []) st.push(c);
  }
  return m;
}

/** "main.spin (main.go:59, 60)": a node's label with its file and lines. */
export function nodeLabel(n) {
  if (!n.file) return n.name;
  const base = String(n.file).split('/').pop();
  return `${n.name} (${base}${n.lines && n.lines.length ? ':' + n.lines.join(', ') : ''})`;
}

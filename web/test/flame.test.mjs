// Flame graph folding, layout and colours (app/lib/flame.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { foldSamples, spanSamples, cpuValueIndex, layoutFlame, treeDepth, pathTo, diffColor, maxAbsDelta, nameColor, nodeLabel } from '../app/lib/flame.js';

const f = (func, line = 1, file = 'x/main.go') => ({ func, file, line });
// leaf-first, as pprof and the API give stacks
const S1 = { frames: [f('spin', 60), f('handle', 81), f('main')], value: 30 };
const S2 = { frames: [f('spin', 59), f('handle', 81), f('main')], value: 20 };
const S3 = { frames: [f('gc'), f('main')], value: 10 };

test('folding merges stacks root first, by function', () => {
  const t = foldSamples([S1, S2, S3], 'span');
  assert.equal(t.name, 'span');
  assert.equal(t.value, 60);
  assert.deepEqual(t.children.map((c) => c.name), ['main']);
  const main = t.children[0];
  assert.equal(main.value, 60);
  assert.deepEqual(main.children.map((c) => [c.name, c.value]), [['handle', 50], ['gc', 10]], 'heaviest first');
  const spin = main.children[0].children[0];
  assert.equal(spin.value, 50);
  assert.equal(spin.self, 50);
  assert.deepEqual(spin.lines, [59, 60]);
  assert.equal(nodeLabel(spin), 'spin (main.go:59, 60)');
  assert.equal(treeDepth(t), 4);
});

test('samples of one span, weighed by cpu nanoseconds', () => {
  const snap = {
    meta: { sample_types: [['samples', 'count'], ['cpu', 'nanoseconds']] },
    samples: [
      { values: [3, 30e6], span_id: 'aa', frames: S1.frames },
      { values: [1, 10e6], span_id: 'bb', frames: S1.frames },
      { values: [2, 20e6], labels: { span_id: 'aa' }, frames: S2.frames },
      { values: [0, 0], span_id: 'aa', frames: S3.frames },
    ],
  };
  assert.equal(cpuValueIndex(snap.meta), 1);
  assert.equal(cpuValueIndex({ sample_types: [['goroutine', 'count']] }), 0);
  const s = spanSamples(snap, 'aa');
  assert.deepEqual(s.map((x) => x.value), [30e6, 20e6]);
  assert.equal(foldSamples(s).value, 50e6);
  assert.deepEqual(spanSamples(snap, 'zz'), []);
});

test('layout: widths are fractions of the focused node, one row per depth', () => {
  const t = foldSamples([S1, S2, S3]);
  const r = layoutFlame(t);
  const by = (name) => r.find((x) => x.node.name === name);
  assert.deepEqual([by('all').x, by('all').w, by('all').depth], [0, 1, 0]);
  assert.equal(by('handle').depth, 2);
  assert.ok(Math.abs(by('handle').w - 50 / 60) < 1e-12);
  assert.ok(Math.abs(by('gc').x - 50 / 60) < 1e-12);
  // focus on handle: ancestors full width, handle fills the width
  const handle = t.children[0].children[0];
  const z = layoutFlame(t, { focus: handle });
  assert.deepEqual(z.filter((x) => x.ancestor).map((x) => x.node.name), ['all', 'main']);
  const zh = z.find((x) => x.node === handle);
  assert.deepEqual([zh.x, zh.w, zh.depth], [0, 1, 2]);
  assert.equal(z.find((x) => x.node.name === 'gc'), undefined);
  assert.deepEqual(pathTo(t, handle).map((n) => n.name), ['all', 'main', 'handle']);
  // tiny nodes are dropped
  assert.equal(layoutFlame(t, { minW: 0.5 }).find((x) => x.node.name === 'gc'), undefined);
});

test('layout with another weight; children over their parent are scaled to fit', () => {
  const tree = { name: 'all', slow: 1, fast: 1, children: [
    { name: 'a', slow: 0.7, fast: 0.2, children: [] },
    { name: 'b', slow: 0.5, fast: 0.8, children: [] },
    { name: 'c', slow: 0, fast: 0.1, children: [] },
  ] };
  const r = layoutFlame(tree, { value: (n) => n.slow });
  assert.deepEqual(r.map((x) => x.node.name), ['all', 'a', 'b'], 'zero-weight nodes are left out');
  const total = r.filter((x) => x.depth === 1).reduce((s, x) => s + x.w, 0);
  assert.ok(Math.abs(total - 1) < 1e-12, `children fill at most the parent (${total})`);
  assert.equal(layoutFlame({ name: 'x', value: 0, children: [] }).length, 0);
});

test('differential colours: red for more in slow spans, blue for less, grey for none', () => {
  assert.match(diffColor(0.2, 0.2), /^hsl\(4 /);
  assert.match(diffColor(-0.2, 0.2), /^hsl\(214 /);
  assert.equal(diffColor(0, 0.2), 'hsl(220 8% 88%)');
  assert.equal(diffColor(0.1, 0), 'hsl(220 8% 88%)');
  const light = (c) => Number(/(\d+)%\)$/.exec(c)[1]);
  assert.ok(light(diffColor(0.2, 0.2)) < light(diffColor(0.05, 0.2)), 'bigger delta, stronger colour');
  assert.ok(light(diffColor(1, 1)) >= 55, 'labels stay readable');
  assert.equal(maxAbsDelta({ name: 'all', delta: 0.9, children: [{ delta: -0.3, children: [{ delta: 0.1 }] }] }), 0.3, 'the root does not count');
  assert.equal(nameColor('main.spin'), nameColor('main.spin'), 'stable');
});

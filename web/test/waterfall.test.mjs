// Layout of the span waterfall (app/lib/waterfall.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildWaterfall, visibleRows, ancestors, stepRow, labelPlacement, extentOf, serviceColor, PALETTE } from '../app/lib/waterfall.js';

const sp = (span_id, parent_span_id, start, end, service = 'a', name = span_id) => ({ span_id, parent_span_id, service, name, start_ns: 1000 + start, end_ns: 1000 + end });

const TRACE = [
  sp('c2', 'r', 50, 90, 'b'),
  sp('r', null, 0, 100),
  sp('g1', 'c1', 12, 20, 'c'),
  sp('c1', 'r', 10, 40),
  sp('o', 'missing', 60, 70, 'd'),
  sp('g2', 'c1', 11, 15, 'c'),
];

test('rows are depth first, children by start, orphans after the root', () => {
  const m = buildWaterfall(TRACE, 1000);
  assert.deepEqual(m.rows.map((r) => r.span.span_id), ['r', 'c1', 'g2', 'g1', 'c2', 'o']);
  assert.deepEqual(m.rows.map((r) => r.depth), [0, 1, 2, 2, 1, 0]);
  assert.deepEqual(m.rows.map((r) => r.parent), [-1, 0, 1, 1, 0, -1]);
  assert.deepEqual(m.rows[0].children, [1, 4]);
  assert.equal(m.rows[5].orphan, true);
  assert.equal(m.rows[0].orphan, false);
  assert.equal(m.rows[1].start, 10);
  assert.equal(m.rows[1].end, 40);
  assert.equal(m.byId.get('g1'), 3);
  assert.equal(m.maxDepth, 2);
});

test('services get palette colours in order of appearance', () => {
  const m = buildWaterfall(TRACE, 1000);
  assert.deepEqual(m.services, ['a', 'c', 'b', 'd']);
  assert.equal(m.colorOf('a'), PALETTE[0]);
  assert.equal(m.colorOf('c'), PALETTE[1]);
  assert.equal(m.colorOf('b'), PALETTE[2]);
  assert.equal(serviceColor(PALETTE.length + 1), PALETTE[1]);
});

test('collapsing hides exactly the subtree', () => {
  const m = buildWaterfall(TRACE, 1000);
  const ids = (v) => v.map((i) => m.rows[i].span.span_id);
  assert.deepEqual(ids(visibleRows(m, new Set())), ['r', 'c1', 'g2', 'g1', 'c2', 'o']);
  assert.deepEqual(ids(visibleRows(m, new Set(['c1']))), ['r', 'c1', 'c2', 'o']);
  assert.deepEqual(ids(visibleRows(m, new Set(['r']))), ['r', 'o']);
  assert.deepEqual(ids(visibleRows(m, new Set(['g1']))), ['r', 'c1', 'g2', 'g1', 'c2', 'o'], 'a leaf has nothing to hide');
  assert.deepEqual(ancestors(m, 3).map((i) => i), ['c1', 'r']);
});

test('moving between visible rows', () => {
  const vis = [0, 1, 4, 5];
  assert.equal(stepRow(vis, -1, 1), 0);
  assert.equal(stepRow(vis, -1, -1), 5);
  assert.equal(stepRow(vis, 1, 1), 4);
  assert.equal(stepRow(vis, 5, 1), 5);
  assert.equal(stepRow(vis, 0, -1), 0);
  assert.equal(stepRow([], 0, 1), -1);
});

test('a 5,000-deep chain and a parent cycle do not break the layout', () => {
  const chain = [];
  for (let i = 0; i < 5000; i++) chain.push(sp(`s${i}`, i ? `s${i - 1}` : null, i, 10000 - i));
  const m = buildWaterfall(chain, 1000);
  assert.equal(m.rows.length, 5000);
  assert.equal(m.rows[4999].depth, 4999);
  const cyc = buildWaterfall([sp('x', 'y', 0, 1), sp('y', 'x', 0, 1)], 1000);
  assert.equal(cyc.rows.length, 2);
});

test('duration labels go inside, right or left', () => {
  assert.equal(labelPlacement(100, 200, 40, 1000), 'inside');
  assert.equal(labelPlacement(100, 120, 40, 1000), 'right');
  assert.equal(labelPlacement(950, 980, 40, 1000), 'left');
});

test('extent of the rows', () => {
  assert.deepEqual(extentOf(buildWaterfall(TRACE, 1000)), { t0: 0, t1: 100 });
  assert.deepEqual(extentOf(buildWaterfall([], 0)), { t0: 0, t1: 1 });
});

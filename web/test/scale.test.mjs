// The shared time axis (app/lib/scale.js): mapping, zoom, pan, limits, searches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeScale, clampView, zoomView, panView, rangeView, wheelFactor, lastAtOrBefore, firstAtOrAfter, valueScale, logScale, MIN_SPAN_NS } from '../app/lib/scale.js';

const near = (a, b, eps = 1e-6) => assert.ok(Math.abs(a - b) <= eps, `${a} ≉ ${b}`);

test('a scale maps the view onto the pixels and back', () => {
  const sc = makeScale({ t0: -10e6, t1: 90e6 }, 280, 1280);
  near(sc.x(-10e6), 280);
  near(sc.x(90e6), 1280);
  near(sc.x(40e6), 780);
  near(sc.t(780), 40e6);
  near(sc.nsPerPx, 100e3);
});

test('zoom keeps the anchor under the same pixel', () => {
  const v = { t0: 0, t1: 100e6 };
  const z = zoomView(v, 2, 25e6);
  near(z.t0, 12.5e6);
  near(z.t1, 62.5e6);
  const a = makeScale(v, 0, 1000), b = makeScale(z, 0, 1000);
  near(a.x(25e6), b.x(25e6));
  const out = zoomView(z, 0.5, 25e6);
  near(out.t0, 0);
  near(out.t1, 100e6);
});

test('zoom stops at the minimum span and at the limits', () => {
  const lim = { t0: -500e6, t1: 600e6 };
  let v = { t0: 0, t1: 100e6 };
  for (let i = 0; i < 100; i++) v = zoomView(v, 4, 50e6, lim);
  near(v.t1 - v.t0, MIN_SPAN_NS);
  for (let i = 0; i < 100; i++) v = zoomView(v, 0.25, 50e6, lim);
  assert.deepEqual(v, lim);
});

test('pan moves the view and is pushed back inside the limits without shrinking', () => {
  const lim = { t0: -100, t1: 1000 };
  assert.deepEqual(panView({ t0: 0, t1: 100 }, 50, lim, 1), { t0: 50, t1: 150 });
  assert.deepEqual(panView({ t0: 0, t1: 100 }, -500, lim, 1), { t0: -100, t1: 0 });
  assert.deepEqual(panView({ t0: 800, t1: 900 }, 500, lim, 1), { t0: 900, t1: 1000 });
  assert.deepEqual(panView({ t0: 0, t1: 100 }, 0, null), { t0: 50 - MIN_SPAN_NS / 2, t1: 50 + MIN_SPAN_NS / 2 }, 'never narrower than the minimum');
});

test('clampView repairs empty and reversed views', () => {
  const v = clampView({ t0: 50, t1: 50 }, null, 10);
  assert.deepEqual(v, { t0: 45, t1: 55 });
  assert.deepEqual(clampView({ t0: -5, t1: 5000 }, { t0: 0, t1: 100 }), { t0: 0, t1: 100 });
});

test('a range view spans the range with padding, in either order', () => {
  assert.deepEqual(rangeView(100, 0, null, 0.1, 1), { t0: -10, t1: 110 });
  assert.deepEqual(rangeView(0, 1000, { t0: 0, t1: 2000 }, 0), { t0: 0, t1: 1000 });
});

test('wheel: down zooms out, up zooms in, lines and pages count more', () => {
  assert.ok(wheelFactor(100) < 1);
  assert.ok(wheelFactor(-100) > 1);
  near(wheelFactor(100) * wheelFactor(-100), 1);
  assert.ok(wheelFactor(3, 1) < wheelFactor(3, 0));
  assert.ok(wheelFactor(1e6) > 0.2, 'a huge delta is capped');
});

test('binary searches on sorted arrays', () => {
  const a = [1, 3, 3, 7, 9];
  assert.equal(lastAtOrBefore(a, 0), -1);
  assert.equal(lastAtOrBefore(a, 3), 2);
  assert.equal(lastAtOrBefore(a, 8), 3);
  assert.equal(lastAtOrBefore(a, 100), 4);
  assert.equal(firstAtOrAfter(a, 3), 1);
  assert.equal(firstAtOrAfter(a, 4), 3);
  assert.equal(firstAtOrAfter(a, 10), 5);
  assert.equal(firstAtOrAfter([{ t: 1 }, { t: 5 }], 2, (d) => d.t), 1);
});

test('value and log scales', () => {
  const v = valueScale(0, 100, 50, 0);
  assert.equal(v(0), 50);
  assert.equal(v(100), 0);
  const l = logScale(1, 1000, 300, 0);
  near(l(1), 300);
  near(l(10), 200);
  near(l(1000), 0);
  near(l.invert(200), 10);
});

// Time, byte and count formatting (app/lib/format.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fmtDuration, fmtOffset, fmtExact, niceStep, tickLabel, ticks, fmtBytes, fmtCount, fmtPct, fmtClock, fmtFrame, unitFor } from '../app/lib/format.js';

test('durations pick the unit and about three significant digits', () => {
  assert.equal(fmtDuration(0), '0 ns');
  assert.equal(fmtDuration(850), '850 ns');
  assert.equal(fmtDuration(12345), '12.3 µs');
  assert.equal(fmtDuration(4560000), '4.56 ms');
  assert.equal(fmtDuration(40000000), '40 ms');
  assert.equal(fmtDuration(152496233), '152 ms');
  assert.equal(fmtDuration(1234567890), '1.23 s');
  assert.equal(fmtDuration(10e9), '10 s');
  assert.equal(fmtDuration(125e9), '2 m 05 s');
  assert.equal(fmtDuration(2 * 3600e9 + 60e9), '2 h 01 m');
  assert.equal(fmtDuration(-2500000), '−2.5 ms');
  assert.equal(fmtDuration(NaN), '–');
  assert.equal(fmtDuration(97047356, 4), '97.05 ms');
});

test('rounding up to the next unit moves the unit', () => {
  assert.equal(fmtDuration(999960), '1 ms');
  assert.equal(fmtDuration(999.6), '1 µs');
});

test('offsets are signed, exact offsets keep nanoseconds', () => {
  assert.equal(fmtOffset(2297000), '+2.297 ms');
  assert.equal(fmtOffset(-500e6), '−500 ms');
  assert.equal(fmtOffset(0), '0');
  assert.equal(fmtExact(12345678), '+12.345678 ms');
  assert.equal(fmtExact(-1), '−0.000001 ms');
  assert.equal(fmtExact(12.5e9), '+12.500000000 s');
});

test('units: ns, µs, ms, s', () => {
  assert.equal(unitFor(999).name, 'ns');
  assert.equal(unitFor(1000).name, 'µs');
  assert.equal(unitFor(1e6).name, 'ms');
  assert.equal(unitFor(3e9).name, 's');
});

test('tick steps are 1, 2 or 5 times a power of ten', () => {
  assert.equal(niceStep(100e6, 10), 10e6);
  assert.equal(niceStep(100e6, 8), 10e6);
  assert.equal(niceStep(100e6, 4), 20e6);
  assert.equal(niceStep(265e6, 5), 50e6);
  assert.equal(niceStep(1e6, 3), 200e3);
  assert.equal(niceStep(1e6, 2), 500e3);
  assert.equal(niceStep(80e6, 10), 10e6);
  assert.equal(niceStep(7, 10), 1);
  assert.equal(niceStep(0, 10), 1);
});

test('tick labels adapt to the step', () => {
  assert.equal(tickLabel(0, 20e6), '0');
  assert.equal(tickLabel(40e6, 20e6), '40 ms');
  assert.equal(tickLabel(2.5e6, 0.5e6), '2.5 ms');
  assert.equal(tickLabel(3e6, 0.5e6), '3 ms');
  assert.equal(tickLabel(1.5e9, 0.5e9), '1.5 s');
  assert.equal(tickLabel(3e9, 1e9), '3 s');
  assert.equal(tickLabel(-200e6, 100e6), '−200 ms');
  assert.equal(tickLabel(-400e6, 200e6), '−0.4 s');
  assert.equal(tickLabel(20e3, 10e3), '20 µs');
  assert.equal(tickLabel(300, 100), '300 ns');
  assert.equal(tickLabel(1000, 500), '1 µs');
  assert.equal(tickLabel(30, 10), '30 ns');
  assert.equal(tickLabel(120e9, 20e9), '120 s');
});

test('ticks cover the range on multiples of the step', () => {
  const { step, ticks: tk } = ticks(-3e6, 101e6, 10);
  assert.equal(step, 10e6);
  assert.deepEqual(tk.map((t) => t.t), [0, 10e6, 20e6, 30e6, 40e6, 50e6, 60e6, 70e6, 80e6, 90e6, 100e6]);
  assert.equal(tk[0].label, '0');
  assert.equal(tk[3].label, '30 ms');
  const b = ticks(-25e6, 25e6, 5);
  assert.deepEqual(b.ticks.map((t) => t.label), ['−20 ms', '−10 ms', '0', '10 ms', '20 ms']);
});

test('bytes, counts, percentages', () => {
  assert.equal(fmtBytes(512), '512 B');
  assert.equal(fmtBytes(13631488), '13 MiB');
  assert.equal(fmtBytes(1536), '1.5 KiB');
  assert.equal(fmtBytes(56623104), '54 MiB');
  assert.equal(fmtCount(1234567), '1,234,567');
  assert.equal(fmtCount(5), '5');
  assert.equal(fmtPct(0.9945), '99.5%');
  assert.equal(fmtPct(1), '100%');
  assert.equal(fmtPct(0.0004), '<0.1%');
  assert.equal(fmtPct(0), '0%');
});

test('clock time in UTC', () => {
  assert.equal(fmtClock(1795334474936274623), '2026-11-22 08:01:14.936Z');
  assert.equal(fmtClock(1795334474936274623, { ms: false }), '2026-11-22 08:01:14Z');
});

test('frames read as function (file:line)', () => {
  assert.equal(fmtFrame({ function: 'main.spin', file: 'example.com/shop/checkout/main.go', line: 60 }), 'main.spin (main.go:60)');
  assert.equal(fmtFrame({ func: 'runtime.gopark' }), 'runtime.gopark');
});

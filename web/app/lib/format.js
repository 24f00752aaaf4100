// Number and time formatting for the viewer. Durations and offsets are nanoseconds
// (JavaScript Numbers: the viewer keeps times relative to a trace's start, which stays
// exact far beyond any trace's length). Units adapt: ns, µs, ms, s, then minutes.
// Pure functions, no DOM: tested in web/test/format.test.mjs.

const UNITS = [
  { ns: 1, name: 'ns' },
  { ns: 1e3, name: 'µs' },
  { ns: 1e6, name: 'ms' },
  { ns: 1e9, name: 's' },
];

/** The unit to show `ns` in: the largest whose value is at least 1. */
export function unitFor(ns) {
  const a = Math.abs(ns);
  for (let i = UNITS.length - 1; i >= 0; i--) if (a >= UNITS[i].ns) return UNITS[i];
  return UNITS[0];
}

/** Trims "12.50" to "12.5" and "3.00" to "3". */
function trimZeros(s) {
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

/**
 * A duration with about `sig` significant digits: 0 ns, 850 ns, 12.3 µs, 4.56 ms, 1.23 s,
 * 2 m 05 s. Negative values get a minus sign.
 */
export function fmtDuration(ns, sig = 3) {
  if (ns == null || !Number.isFinite(ns)) return '–';
  if (ns < 0) return '−' + fmtDuration(-ns, sig);
  if (ns === 0) return '0 ns';
  if (ns >= 120e9) {
    const s = Math.round(ns / 1e9);
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    return h ? `${h} h ${String(m).padStart(2, '0')} m` : `${m} m ${String(r).padStart(2, '0')} s`;
  }
  const u = unitFor(ns);
  const v = ns / u.ns;
  if (u.ns === 1) return Math.round(v) >= 1000 ? '1 µs' : `${Math.round(v)} ns`;
  const digits = Math.max(0, sig - 1 - Math.floor(Math.log10(v)));
  let s = v.toFixed(Math.min(digits, 6));
  // 999.96 µs rounds to "1000": move up a unit
  if (Number(s) >= 1000 && u.ns < 1e9) return fmtDuration(Math.round(Number(s)) * u.ns, sig);
  return `${trimZeros(s)} ${u.name}`;
}

/** An offset from a reference: "+12.3 ms", "−500 ms", "0". */
export function fmtOffset(ns, sig = 4) {
  if (ns === 0) return '0';
  return (ns > 0 ? '+' : '') + fmtDuration(ns, sig);
}

/**
 * An offset as exactly as the data allows (the cursor readout): ms with 6 decimals below
 * 10 s ("+12.345678 ms", ns resolution), seconds with 9 decimals above.
 */
export function fmtExact(ns) {
  if (!Number.isFinite(ns)) return '–';
  const sign = ns < 0 ? '−' : '+';
  const a = Math.abs(Math.round(ns));
  if (a < 1e10) return `${sign}${(a / 1e6).toFixed(6)} ms`;
  return `${sign}${(a / 1e9).toFixed(9)} s`;
}

/** Step between ticks: 1, 2 or 5 × 10^k ns, giving about `target` ticks over `spanNs` (the nearest such step). */
export function niceStep(spanNs, target = 8) {
  if (!(spanNs > 0)) return 1;
  const raw = spanNs / Math.max(1, target);
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const m = raw / p;
  const step = (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p; // the nearest nice step
  return Math.max(1, step);
}

/**
 * A tick label: the value in the unit suited to the tick step, with just the decimals
 * that step needs, so neighbouring labels line up ("0", "2.5 ms", "5 ms", "7.5 ms").
 */
export function tickLabel(ns, stepNs) {
  if (Math.abs(ns) < stepNs / 2) return '0';
  let i = UNITS.indexOf(unitFor(stepNs));
  // steps of 200 and 500 read better one unit up: 0.5 ms rather than 500 µs
  if (stepNs / UNITS[i].ns >= 200 && i < UNITS.length - 1) i++;
  const u = UNITS[i];
  const stepInUnit = stepNs / u.ns;
  const decimals = stepInUnit >= 1 ? 0 : Math.min(6, Math.ceil(-Math.log10(stepInUnit) - 1e-9));
  const v = Math.abs(ns) / u.ns;
  return `${ns < 0 ? '−' : ''}${trimZeros(v.toFixed(decimals))} ${u.name}`;
}

/** Ticks covering [t0, t1]: [{t, label}] on multiples of a nice step. */
export function ticks(t0, t1, target = 8) {
  const step = niceStep(t1 - t0, target);
  const out = [];
  const first = Math.ceil(t0 / step) * step + 0; // + 0: no −0
  for (let t = first, i = 0; t <= t1 + step * 1e-9 && i < 1000; i++, t = first + i * step) {
    out.push({ t, label: tickLabel(t, step) });
  }
  return { step, ticks: out };
}

/** Bytes in binary units: 512 B, 3.5 KiB, 13 MiB, 1.2 GiB. */
export function fmtBytes(b) {
  if (b == null || !Number.isFinite(b)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = b;
  while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  if (i === 0) return `${Math.round(v)} B`;
  return `${trimZeros(v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2))} ${units[i]}`;
}

/** 1234567 → "1,234,567". */
export function fmtCount(n) {
  if (n == null || !Number.isFinite(n)) return '–';
  const s = String(Math.round(Math.abs(n)));
  return (n < 0 ? '−' : '') + s.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A share (0..1) as a percentage: 0.9945 → "99.5%", 0.0004 → "<0.1%". */
export function fmtPct(share, decimals = 1) {
  if (share == null || !Number.isFinite(share)) return '–';
  if (share > 0 && share * 100 < Math.pow(10, -decimals)) return `<${Math.pow(10, -decimals)}%`;
  return `${trimZeros((share * 100).toFixed(decimals))}%`;
}

/** Unix ns → "2026-11-22 09:01:14.936" in UTC (or local time with utc=false). */
export function fmtClock(unixNs, { utc = true, ms = true } = {}) {
  if (unixNs == null || !Number.isFinite(unixNs)) return '–';
  const d = new Date(Math.floor(unixNs / 1e6));
  const p = (n, w = 2) => String(n).padStart(w, '0');
  const g = utc
    ? [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()]
    : [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds(), d.getMilliseconds()];
  return `${g[0]}-${p(g[1])}-${p(g[2])} ${p(g[3])}:${p(g[4])}:${p(g[5])}${ms ? '.' + p(g[6], 3) : ''}${utc ? 'Z' : ''}`;
}

/** A frame as people read it: "main.spin (main.go:60)", with the file's base name. */
export function fmtFrame(f) {
  if (!f) return '';
  const fn = f.function || f.func || f.name || '?';
  if (!f.file) return fn;
  return `${fn} (${baseName(f.file)}${f.line ? ':' + f.line : ''})`;
}

/** "example.com/shop/checkout/main.go" → "main.go". */
export function baseName(file) {
  const i = String(file).lastIndexOf('/');
  return i < 0 ? String(file) : String(file).slice(i + 1);
}

/** A short id for tables: first 8 hex digits. */
export const shortId = (id) => String(id || '').slice(0, 8);

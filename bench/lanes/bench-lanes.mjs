// bench/lanes: how fast the viewer draws a span's goroutine lanes (web/app/views/gorlanes.js)
// in headless chromium, against the same page with an empty lane set, in one run.
//
// A tiny static server serves web/app as meanwhiled does (every file, index.html for the
// page paths) and four API answers made here: a trace with one span, its explanation (a
// 404), the stored traces over it (one) and the span's execution-trace answer (docs/EXECTRACE.md "Reads") with
// --goroutines goroutines (half the span's, half their wakers) and --intervals intervals
// in all over a --span-ms span: lengths log-uniform from 1 µs to 50 ms (most narrower
// than a pixel at the first view), states mixed, a wake from another goroutine at the end
// of most blocked intervals, a GC with two stop-the-world windows every 100 ms.
// Round A opens /trace/<id>?span=<id> with that answer; round B (the baseline) with the
// same goroutines and no interval, wake or window. Each round: the first frame (page
// navigation → lanes drawn; and from the lanes' request: fetch + parse, model, draw),
// then --frames pan frames (the page's benchPan: 1% of the view a frame, back and forth;
// each frame redraws every canvas) at the first view and zoomed 20× in. Prints per
// round first-frame ms and pan p50/p99 per frame, and the ratios A/B.
//
//   node bench/lanes/bench-lanes.mjs [--goroutines 200] [--intervals 50000] [--span-ms 2000]
//        [--frames 120] [--viewport 1280x800] [--runs 3]
//   node bench/lanes/bench-lanes.mjs --serve     # prints the page's URL, serves it until Ctrl-C
// Exit 77 (skipped) when chromium or web/node_modules/playwright-core is missing.

import http from 'node:http';
import { readFileSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, newPage, missing } from '../../web/test-browser/lib/browser.mjs';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]?.startsWith('--') || all[i + 1] === undefined ? '1' : all[i + 1]]);
  return acc;
}, []));
const NG = Number(args.goroutines || 200), NI = Number(args.intervals || 50000), SPAN_MS = Number(args['span-ms'] || 2000);
const FRAMES = Number(args.frames || 120), RUNS = Number(args.runs || 3);
const [VW, VH] = String(args.viewport || '1280x800').split('x').map(Number);
const why = args.serve ? null : missing();
if (why) { console.log(`SKIP bench/lanes: ${why}`); process.exit(77); }

const APP = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'web', 'app');
const TRACE = 'b0' + '0'.repeat(29) + '1', SPAN = '00000000000000b1';
const BASE = 1800000000000000000n; // unix ns of the trace's start
const NS = (v) => String(BASE + BigInt(Math.round(v)));

// ------------------------------------------------------------------ the synthetic answers
function rng(seed) { let s = seed >>> 0; return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32; }; }

function spanAnswer(withIntervals) {
  const r = rng(42);
  const D = SPAN_MS * 1e6;
  const stacks = {};
  for (let k = 1; k <= 64; k++) {
    stacks[k] = Array.from({ length: 4 + (k % 9) }, (_, d) => ({ func: d === 0 ? `runtime.f${k % 7}` : `main.handler${k}.step${d}`, file: `/src/app/h${k}.go`, line: 10 + d * 3 }));
  }
  const states = [['running'], ['running'], ['running'], ['runnable'], ['blocked', 'chan', 'chan receive'], ['blocked', 'mutex', 'sync'],
    ['blocked', 'select', 'select'], ['blocked', 'io', 'network'], ['blocked', 'sleep', 'sleep'], ['syscall'], ['gc_assist']];
  const goroutines = [];
  const per = Math.floor(NI / NG);
  for (let g = 0; g < NG; g++) {
    const role = g < NG / 2 ? 'span' : 'waker';
    const n = withIntervals ? per + (g < NI - per * NG ? 1 : 0) : 0;
    // log-uniform lengths from 1 µs to 50 ms, scaled to fill the span
    const len = Array.from({ length: n }, () => Math.exp(Math.log(1e3) + r() * (Math.log(5e7) - Math.log(1e3))));
    const sum = len.reduce((a, b) => a + b, 0) || 1;
    let t = 0;
    const intervals = [], wakes = [];
    for (let i = 0; i < n; i++) {
      const s = t, e = i === n - 1 ? D : t + (len[i] / sum) * D;
      t = e;
      const st = states[Math.floor(r() * states.length)];
      const iv = { state: st[0], start_ns: NS(s), end_ns: NS(e), stack_id: 1 + Math.floor(r() * 64) };
      if (st[1]) { iv.reason = st[1]; iv.raw_reason = st[2]; }
      if (role === 'span') { iv.span_id = SPAN; iv.trace_id = TRACE; }
      intervals.push(iv);
      if (st[0] === 'blocked' && i < n - 1 && r() < 0.7) {
        const waker = 1000 + Math.floor(r() * NG);
        wakes.push({ time_ns: NS(e), waker, waker_stack_id: 1 + Math.floor(r() * 64) });
      }
    }
    goroutines.push({ goroutine: 1000 + g, exectrace_id: 1, role, intervals, wakes });
  }
  const windows = [];
  if (withIntervals) {
    for (let t = 50e6; t < D; t += 100e6) {
      windows.push({ kind: 'gc', start_ns: NS(t), end_ns: NS(t + 3e6) }, { kind: 'stw', start_ns: NS(t), end_ns: NS(t + 1e5), reason: 'GC sweep termination' },
        { kind: 'stw', start_ns: NS(t + 2.9e6), end_ns: NS(t + 3e6), reason: 'GC mark termination' });
    }
  }
  return JSON.stringify({
    trace_id: TRACE, span_id: SPAN, start_ns: NS(0), end_ns: NS(D),
    exectraces: [{ id: 1, start_ns: NS(-1e6), end_ns: NS(D + 1e6), alignment: 'clock_snapshot', clock_error_ns: 0 }],
    covered: { start_ns: NS(0), end_ns: NS(D) }, goroutines, windows, stacks,
  });
}

function timelineAnswer() {
  const D = SPAN_MS * 1e6;
  return JSON.stringify({
    trace_id: TRACE, start_ns: NS(0), end_ns: NS(D), window: { start_ns: NS(-D / 2), end_ns: NS(D * 1.5) },
    spans: [{ span_id: SPAN, parent_span_id: null, service: 'bench', name: 'GET /lanes', source_id: 1, start_ns: NS(0), end_ns: NS(D), duration_ns: D, kind: 2, status: 0, goroutine_samples: [], cpu_sample_rows: 0 }],
    sources: [],
  });
}

function listAnswer() {
  const D = SPAN_MS * 1e6;
  return JSON.stringify({ exectraces: [{ id: 1, source_id: 1, service: 'bench', instance: '', start_ns: NS(-1e6), end_ns: NS(D + 1e6), trigger: 'manual',
    alignment: 'clock_snapshot', clock_error_ns: 0, raw_bytes: 1, stored_bytes: 1, goroutines: NG, intervals: NI, wakes: 0, spans: 1 }], more: false });
}

// ------------------------------------------------------------------ the static server
const TYPES = { '.js': 'text/javascript', '.css': 'text/css', '.html': 'text/html; charset=utf-8' };
function serve(answers) {
  const srv = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    const send = (code, type, body) => { res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' }); res.end(body); };
    if (u.pathname === `/api/v1/traces/${TRACE}/timeline`) return send(200, 'application/json', answers.timeline);
    if (u.pathname === `/api/v1/exectrace/spans/${TRACE}/${SPAN}`) return send(200, 'application/json', answers.span);
    if (u.pathname === '/api/v1/exectraces') return send(200, 'application/json', listAnswer());
    if (u.pathname.startsWith('/api/')) return send(404, 'application/json', '{"error":"not in this benchmark"}');
    const f = path.join(APP, path.normalize(u.pathname).replace(/^(\.\.[/\\])+/, ''));
    if (f.startsWith(APP) && existsSync(f) && statSync(f).isFile()) return send(200, TYPES[path.extname(f)] || 'application/octet-stream', readFileSync(f));
    return send(200, TYPES['.html'], readFileSync(path.join(APP, 'index.html')));
  });
  return new Promise((r) => srv.listen(0, '127.0.0.1', () => r(srv)));
}

// ------------------------------------------------------------------ one round
const q = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN; };
const f1 = (v) => (Number.isFinite(v) ? v.toFixed(1) : '–');
const f2 = (v) => (Number.isFinite(v) ? v.toFixed(2) : '–');

async function round(name, withIntervals) {
  const span = spanAnswer(withIntervals);
  const srv = await serve({ timeline: timelineAnswer(), span });
  const origin = `http://127.0.0.1:${srv.address().port}`;
  const browser = await launch({ viewport: { width: VW, height: VH } });
  try {
    const page = await newPage(browser.context, origin);
    await page.goto(`${origin}/`); // modules cached, as for a second trace opened
    const firsts = [];
    for (let i = 0; i < RUNS; i++) {
      await page.goto(`${origin}/trace/${TRACE}?span=${SPAN}`);
      await page.waitForSelector('.gor-box[data-first-frame=done]', { timeout: 60000 });
      firsts.push(await page.evaluate(() => ({ ...window.__mwPerf })));
    }
    const lanes = await page.evaluate(() => ({ n: window.__mwTrace.gor().model().lanes.length, iv: window.__mwTrace.gor().model().intervals, wakes: window.__mwTrace.gor().model().wakes.length, h: document.querySelector('.gor-lanes').clientHeight }));
    const full = await page.evaluate((n) => window.__mwTrace.benchPan(n, 0.01), FRAMES);
    await page.evaluate(() => { const v = window.__mwTrace.view(); const c = (v.t0 + v.t1) / 2, w = (v.t1 - v.t0) / 40; window.__mwTrace.setView({ t0: c - w, t1: c + w }); });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const zoomed = await page.evaluate((n) => window.__mwTrace.benchPan(n, 0.01), FRAMES);
    const problems = page.problems.filter((p) => !/404/.test(p));
    if (problems.length) throw new Error(`${name}: ${problems.join('; ')}`);
    const best = firsts.reduce((a, b) => (a.gorSinceNavigationMs <= b.gorSinceNavigationMs ? a : b));
    return { name, bytes: span.length, lanes, firsts, best, full, zoomed };
  } finally {
    await browser.close();
    srv.close();
  }
}

if (args.serve) { // by hand: the page with the synthetic answer until Ctrl-C
  const srv = await serve({ timeline: timelineAnswer(), span: spanAnswer(true) });
  console.log(`http://127.0.0.1:${srv.address().port}/trace/${TRACE}?span=${SPAN}`);
  await new Promise(() => {});
}
const a = await round('lanes', true);
const b = await round('baseline (empty lanes)', false);
const pan = (r, k) => q(r.full[k], 0.5);
console.log(`bench/lanes: ${NG} goroutines, ${NI} intervals over ${SPAN_MS} ms, ${VW}×${VH} headless chromium, ${FRAMES} pan frames a view, best of ${RUNS} loads`);
for (const r of [a, b]) {
  console.log(`  ${r.name}: answer ${(r.bytes / 1048576).toFixed(1)} MiB, ${r.lanes.n} lanes (${r.lanes.h} px tall box), ${r.lanes.iv} intervals, ${r.lanes.wakes} wakes`);
  console.log(`    first frame: ${f1(r.best.gorSinceNavigationMs)} ms from navigation (loads: ${r.firsts.map((x) => f1(x.gorSinceNavigationMs)).join(', ')}); from the lanes' request ${f1(r.best.gorFirstFrameMs)} ms = fetch+parse ${f1(r.best.gorFetchMs)} + model ${f1(r.best.gorModelMs)} + … + first draw ${f1(r.best.gorFirstDrawMs)}`);
  console.log(`    pan, whole view: frame p50 ${f2(q(r.full.all, 0.5))} ms p99 ${f2(q(r.full.all, 0.99))} ms (lanes alone p50 ${f2(q(r.full.goroutines, 0.5))} p99 ${f2(q(r.full.goroutines, 0.99))})`);
  console.log(`    pan, zoomed 20×: frame p50 ${f2(q(r.zoomed.all, 0.5))} ms p99 ${f2(q(r.zoomed.all, 0.99))} ms (lanes alone p50 ${f2(q(r.zoomed.goroutines, 0.5))} p99 ${f2(q(r.zoomed.goroutines, 0.99))})`);
}
console.log(`  ratio lanes/baseline: first frame ${f2(a.best.gorSinceNavigationMs / b.best.gorSinceNavigationMs)}, pan p50 ${f2(pan(a, 'all') / pan(b, 'all'))}, pan p99 ${f2(q(a.full.all, 0.99) / q(b.full.all, 0.99))}, zoomed pan p99 ${f2(q(a.zoomed.all, 0.99) / q(b.zoomed.all, 0.99))}`);
const p99 = Math.max(q(a.full.all, 0.99), q(a.zoomed.all, 0.99));
console.log(`  goal: first frame ≤ 1000 ms (${f1(a.best.gorSinceNavigationMs)}: ${a.best.gorSinceNavigationMs <= 1000 ? 'met' : 'NOT met'}), pan ≤ 16 ms a frame (p99 ${f2(p99)}: ${p99 <= 16 ? 'met' : 'NOT met'})`);
if (!(a.lanes.iv === NI && a.lanes.n === NG)) { console.error(`the page holds ${a.lanes.iv} intervals in ${a.lanes.n} lanes, not ${NI} in ${NG}`); process.exit(1); }

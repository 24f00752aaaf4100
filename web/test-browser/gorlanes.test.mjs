// The goroutine lanes of a span in headless chromium, against a meanwhiled holding a
// real execution trace (web/test-browser/data/lanes.trace, read by meanwhile-exectrace)
// and the OTLP spans of the program that wrote it (gen/): where and what the page draws
// is checked against what the program recorded of itself (expected.json: goroutine ids,
// time.Now() windows) and the API's own answers, never against the page's model.

import { test, before, after, beforeEach, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { request, postJsonOk } from '../../tests/integration/lib/server.mjs';
import { parseJsonBig } from '../../tests/integration/lib/runtime.mjs';
import { launch, newPage, shot, missing, WEB_DIR } from './lib/browser.mjs';
import { lanesServer, reader, LANES_EXPECTED as E, LANES_TRACE } from './lib/exectrace.mjs';

const why = missing() || (reader() ? null : 'meanwhile-exectrace is not built (no Go found by CMake)');
let srv, xt, browser, page, base;
const [T1, CHECKOUT] = E.spans.checkout.split('/');
const [T2, REFRESH] = E.spans.refresh.split('/');
const [, FLUSH] = E.spans.flush.split('/');
const G = E.goroutines;
const MS = 1e6;

async function apiBig(p) {
  const r = await request(srv, 'GET', p);
  assert.equal(r.status, 200, `GET ${p}: ${r.status} ${r.body.toString().slice(0, 200)}`);
  return parseJsonBig(r.body.toString());
}
/** A unix-ns time (BigInt or number string) as the page's offset from the trace's start. */
const rel = (ns) => Number(BigInt(ns) - base);
const settle = () => page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
const gor = (fn, ...args) => page.evaluate(([f, a]) => window.__mwTrace.gor()[f](...a), [fn, args]);

async function openSpan(traceId, spanId) {
  await page.goto(`${srv.base}/trace/${traceId}?span=${spanId}`);
  await page.waitForSelector(`.gor-box[data-span-id="${spanId}"][data-first-frame=done]`, { timeout: 20000 });
  base = (await apiBig(`/api/v1/traces/${traceId}/timeline`)).start_ns;
}

/** The gor canvas's pixels (RGBA) on the row at client y, from client x0 to x1. */
async function rowPixels(y, x0, x1) {
  return page.evaluate(([y, x0, x1]) => {
    const c = document.querySelector('.gor-canvas');
    const b = c.getBoundingClientRect();
    const d = c.getContext('2d').getImageData(Math.round(x0 - b.left), Math.round(y - b.top), Math.max(1, Math.round(x1 - x0)), 1).data;
    return Array.from(d);
  }, [y, x0, x1]);
}
/** The legend's colours of the states ([r, g, b] each), or of one state key. */
async function stateColours(key = null) {
  const css = await page.evaluate((k) => [...document.querySelectorAll(`.gor-legend .lg${k ? `[data-key="${k}"]` : '[data-key]'} .swatch`)]
    .map((s) => getComputedStyle(s).backgroundColor), key);
  return css.map((c) => c.match(/\d+/g).slice(0, 3).map(Number));
}
const near = (px, rgb) => Math.abs(px[0] - rgb[0]) + Math.abs(px[1] - rgb[1]) + Math.abs(px[2] - rgb[2]) <= 6;

describe('goroutine lanes on a real execution trace', { skip: why || false }, () => {
  before(async () => {
    ({ srv, xt } = await lanesServer());
    // a request no execution trace covers (a minute before the traced one)
    const at = BigInt(E.windows.trace_start[0]) - 60000n * 1000000n;
    await postJsonOk(srv, { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }] },
      scopeSpans: [{ scope: { name: 't' }, spans: [{ traceId: 'f'.repeat(32), spanId: 'f'.repeat(16), name: 'GET /untraced', kind: 2, startTimeUnixNano: String(at), endTimeUnixNano: String(at + 5000000n), status: {} }] }] }] });
    browser = await launch({ viewport: { width: 1400, height: 1000 } });
    page = await newPage(browser.context, srv.base);
  });
  after(async () => {
    if (browser) await browser.close();
    if (srv) { await srv.stop(); await srv.cleanup(); }
  });
  beforeEach(() => { if (page) page.problems.length = 0; });

  test('lanes are drawn only over the part of the span the trace covers', async () => {
    await openSpan(T1, CHECKOUT);
    const ans = await apiBig(`/api/v1/exectrace/spans/${T1}/${CHECKOUT}`);
    const lanes = ans.goroutines.length;
    assert.equal(await page.getAttribute('.gor-box', 'data-lanes'), String(lanes));
    assert.ok(ans.goroutines.some((g) => g.goroutine === G.handler && g.role === 'span'));
    // the request began 8 ms before trace.Start (expected.json: trace_start); the trace covers the rest
    const spanStart = rel(ans.start_ns), traceStart = rel(xt.start_ns);
    assert.ok(traceStart - spanStart > 7 * MS, `the span starts ${(traceStart - spanStart) / MS} ms before the trace`);
    const colours = await stateColours();
    assert.ok(colours.length >= 10, 'a legend of the states');
    const lane = await gor('laneBox', G.handler, spanStart);
    const x = (t) => page.evaluate(([t]) => window.__mwTrace.gor().procsBox(t).x, [t]);
    const before = await rowPixels(lane.y, (await x(spanStart)) + 1, (await x(traceStart)) - 1);
    const inside = await rowPixels(lane.y, (await x(traceStart)) + 1, await x(rel(E.windows.chan_wait[1])));
    const coloured = (px) => { let n = 0; for (let i = 0; i < px.length; i += 4) if (colours.some((c) => near(px.slice(i, i + 3), c))) n++; return n; };
    assert.ok(before.length / 4 >= 20, `${before.length / 4} px before the trace`);
    assert.equal(coloured(before), 0, 'nothing drawn before the trace started');
    assert.ok(coloured(inside) >= 0.9 * (inside.length / 4), `the handler's lane is drawn where traced: ${coloured(inside)} of ${inside.length / 4} px`);
    // after the span's end nothing either, though the answer has intervals that go on (the GC workers woke after it)
    const spanEnd = rel(ans.end_ns);
    const late = ans.goroutines.find((g) => g.intervals.some((i) => BigInt(i.end_ns) > BigInt(ans.end_ns) + 1000000n));
    assert.ok(late, 'a goroutine whose interval outlasts the span by a millisecond');
    await page.evaluate(([t]) => window.__mwTrace.setView({ t0: t - 10000000, t1: t + 5000000 }), [spanEnd]);
    await settle();
    const lateLane = await gor('laneBox', late.goroutine, spanEnd);
    const right = await rowPixels(lateLane.y, (await x(spanEnd)) + 2, await x(spanEnd + 1 * MS));
    const left = await rowPixels(lateLane.y, (await x(spanEnd - 1 * MS)), (await x(spanEnd)) - 2);
    assert.ok(right.length / 4 >= 20, `${right.length / 4} px after the span`);
    assert.equal(coloured(right), 0, `nothing drawn after the span's end on goroutine ${late.goroutine}`);
    assert.ok(coloured(left) > 0, `goroutine ${late.goroutine} is drawn before the span's end`);
    await page.keyboard.press('0');
    await settle();
    // the mutex wait (lock_wait) is drawn in the mutex colour
    const mid = (E.windows.lock_wait[0] + E.windows.lock_wait[1]) / 2;
    const mx = await x(rel(BigInt(Math.round(mid))));
    const px = await rowPixels(lane.y, mx, mx + 1);
    const [mutex] = await stateColours('blocked:mutex');
    assert.ok(near(px, mutex), `the lock wait is drawn as a mutex wait: ${px} vs ${mutex}`);
    // the legend's figure for the mutex: the handler's wait inside the program's time.Now() pair around Lock
    const mutexNs = Number(await page.getAttribute('.gor-legend .lg[data-key="blocked:mutex"]', 'data-ns'));
    const lockNs = E.windows.lock_wait[1] - E.windows.lock_wait[0];
    assert.ok(mutexNs <= lockNs + 1000 && mutexNs >= lockNs - 1 * MS, `mutex ${mutexNs} ns, the Lock call took ${lockNs} ns`);
    await shot(page, 'goroutine-lanes');
    assert.deepEqual(page.problems, []);
  });

  test('hovering an interval shows its state and stack', async () => {
    await openSpan(T1, CHECKOUT);
    const mid = rel(BigInt(Math.round((E.windows.lock_wait[0] + E.windows.lock_wait[1]) / 2)));
    const p = await gor('laneBox', G.handler, mid);
    await page.mouse.move(p.x, p.y);
    const tip = page.locator('.readout .gor-tip[data-kind=interval]');
    await tip.waitFor({ timeout: 5000 });
    assert.equal(await tip.getAttribute('data-goroutine'), String(G.handler));
    assert.equal(await tip.getAttribute('data-state'), 'blocked');
    assert.equal(await tip.getAttribute('data-reason'), 'mutex');
    const frames = await tip.locator('.frames .fn').allTextContents();
    assert.ok(frames.includes('sync.(*Mutex).Lock'), `the stack of the wait: ${frames.join(' < ')}`);
    assert.ok(frames.some((f) => f.startsWith('main.main.func')), `the program's frame: ${frames.join(' < ')}`);
    await shot(page, 'goroutine-lanes-hover');
  });

  test('a wake arrow leads to the waker and its span, in another trace or the same', async () => {
    // the mutex was released by the refresher, which ran span cache.refresh of trace 2
    await openSpan(T1, CHECKOUT);
    const a = await gor('wakeBox', G.refresher, G.handler);
    assert.ok(a, 'an arrow from the refresher to the handler');
    const [l0, l1] = E.windows.lock_wait;
    assert.ok(Math.abs(a.t - rel(BigInt(l1))) <= 1 * MS && a.t >= rel(BigInt(l0)), `the arrow at the lock's release: ${a.t} in ${rel(BigInt(l0))}..${rel(BigInt(l1))}`);
    await page.mouse.move(a.x, a.y);
    await page.locator('.readout .gor-tip[data-kind=wake]').waitFor({ timeout: 5000 });
    assert.equal(await page.getAttribute('.readout .gor-tip', 'data-waker'), String(G.refresher));
    await page.mouse.click(a.x, a.y);
    await page.waitForURL((u) => u.pathname === `/trace/${T2}` && u.searchParams.get('span') === REFRESH);
    assert.equal(new URL(page.url()).searchParams.get('g'), String(G.refresher));
    await page.waitForSelector(`.gor-box[data-span-id="${REFRESH}"][data-first-frame=done]`);
    assert.equal(await page.getAttribute('.gor-box', 'data-selected-goroutine'), String(G.refresher));
    assert.equal(await page.getAttribute('.span-panel', 'data-span-id'), REFRESH);
    // back: the handler's channel wait was ended by the flusher, in span db.flush of the same trace
    await page.goBack();
    await page.waitForSelector(`.gor-box[data-span-id="${CHECKOUT}"][data-first-frame=done]`);
    const b = await gor('wakeBox', G.flusher, G.handler);
    assert.ok(b, 'an arrow from the flusher to the handler');
    const [c0, c1] = E.windows.chan_wait;
    assert.ok(b.t >= rel(BigInt(c0)) - 1 * MS && b.t <= rel(BigInt(c1)) + 1 * MS, 'the arrow at the end of the channel wait');
    await page.mouse.click(b.x, b.y);
    await page.waitForSelector(`.gor-box[data-span-id="${FLUSH}"][data-first-frame=done]`);
    assert.equal(new URL(page.url()).pathname, `/trace/${T1}`);
    assert.equal(await page.getAttribute('.trace-main', 'data-selected-span'), FLUSH);
    assert.equal(await page.getAttribute('.gor-box', 'data-selected-goroutine'), String(G.flusher));
    // a waker's lane does the same: back, then the flusher's label
    await page.goBack();
    await page.waitForSelector(`.gor-box[data-span-id="${CHECKOUT}"][data-first-frame=done]`);
    const l = await gor('laneBox', G.flusher, b.t);
    await page.mouse.click(l.labelX, l.y);
    await page.waitForSelector(`.gor-box[data-span-id="${FLUSH}"][data-first-frame=done]`);
    assert.equal(await page.getAttribute('.trace-main', 'data-selected-span'), FLUSH);
    await shot(page, 'goroutine-lanes-jump');
    assert.deepEqual(page.problems, []);
  });

  test('the explanation\'s chain: a link to the span of the goroutine that released the lock', async () => {
    await openSpan(T1, CHECKOUT);
    const link = page.locator(`.span-panel [data-role=chain] a.chain-link[data-goroutine="${G.refresher}"]`);
    await link.waitFor({ timeout: 10000 });
    assert.equal(await link.getAttribute('data-span-id'), REFRESH);
    assert.match(await link.evaluate((a) => a.closest('li').textContent), /released by goroutine/);
    await link.click();
    await page.waitForURL((u) => u.pathname === `/trace/${T2}` && u.searchParams.get('span') === REFRESH);
    await page.waitForSelector(`.gor-box[data-span-id="${REFRESH}"][data-first-frame=done]`);
    assert.equal(await page.getAttribute('.gor-box', 'data-selected-goroutine'), String(G.refresher));
    assert.deepEqual(page.problems, []);
  });

  test('the span panel downloads the execution trace: the bytes that were pushed', async () => {
    await openSpan(T1, CHECKOUT);
    const link = page.locator(`.span-panel [data-role=exectraces] a[data-exectrace-id="${xt.id}"]`);
    await link.waitFor({ timeout: 5000 });
    assert.match(await link.textContent(), /download execution trace/);
    const [dl] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const body = readFileSync(await dl.path());
    assert.ok(body.subarray(0, 16).toString('latin1').startsWith('go 1.'), body.subarray(0, 16).toString('latin1'));
    assert.match(body.subarray(0, 16).toString('latin1'), /^go 1\.\d+ trace/);
    assert.ok(body.equals(LANES_TRACE()), 'byte-identical to the trace pushed');
    assert.equal(dl.suggestedFilename(), `trace-${xt.id}.out`);
  });

  test('the P lane: several Ps while the crunchers run, the GC\'s stop-the-world windows', async () => {
    await openSpan(T1, CHECKOUT);
    const ans = await apiBig(`/api/v1/exectrace/spans/${T1}/${CHECKOUT}`);
    const stw = ans.windows.filter((w) => w.kind === 'stw' && BigInt(w.start_ns) >= BigInt(E.windows.gc[0]) && BigInt(w.end_ns) <= BigInt(E.windows.gc[1]));
    assert.ok(stw.length >= 2, 'runtime.GC() stops the world twice');
    assert.ok(Number(await page.getAttribute('.gor-box', 'data-stw')) >= 2);
    const s = stw[0];
    const at = rel(BigInt(s.start_ns) + (BigInt(s.end_ns) - BigInt(s.start_ns)) / 2n);
    // zoom onto the window so that it is pixels wide
    await page.evaluate(([t]) => window.__mwTrace.setView({ t0: t - 200000, t1: t + 200000 }), [at]);
    await settle();
    const q = await gor('procsBox', at);
    await page.mouse.move(q.x, q.y);
    const tip = page.locator('.readout .gor-tip[data-kind=procs]');
    await tip.waitFor({ timeout: 5000 });
    assert.match(await tip.textContent(), /stop-the-world/);
    // four crunchers of the span on GOMAXPROCS=4 in the middle of the crunch window
    const [k0, k1] = E.windows.crunch;
    const mid = rel(BigInt(k0) + (BigInt(k1) - BigInt(k0)) / 2n);
    await page.evaluate(([t]) => window.__mwTrace.setView({ t0: t - 2000000, t1: t + 2000000 }), [mid]);
    await settle();
    const c = await gor('procsBox', mid);
    await page.mouse.move(c.x, c.y);
    await page.waitForFunction(() => document.querySelector('.readout .gor-tip[data-kind=procs]'));
    const n = Number(await page.getAttribute('.readout .gor-tip[data-kind=procs]', 'data-procs'));
    assert.ok(n >= 3 && n <= 4, `Ps running the span's goroutines while 4 crunch on 4 Ps: ${n}`);
  });

  test('the README screenshot: the lanes of a request that waited on another\'s lock', async () => {
    await openSpan(T1, CHECKOUT);
    // the span panel scrolled to the mutex cause, whose chain names the holder
    await page.locator('.span-panel [data-role=chain]').first().waitFor({ timeout: 10000 });
    await page.evaluate(() => {
      const side = document.querySelector('.side-panel');
      const cause = document.querySelector('.span-panel [data-role=chain]').closest('li.cause');
      side.scrollTop = cause.getBoundingClientRect().top - side.getBoundingClientRect().top + side.scrollTop - 8;
    });
    const mid = rel(BigInt(Math.round((E.windows.lock_wait[0] * 0.3 + E.windows.lock_wait[1] * 0.7))));
    const p = await gor('laneBox', G.handler, mid);
    await page.mouse.move(p.x, p.y);
    await page.locator('.readout .gor-tip[data-kind=interval]').waitFor({ timeout: 5000 });
    await settle();
    const file = await shot(page, 'goroutine-lanes-readme');
    if (process.env.MW_UPDATE_DOCS_IMG) {
      const dst = path.join(WEB_DIR, '..', 'docs', 'img', 'goroutine-lanes.png');
      mkdirSync(path.dirname(dst), { recursive: true });
      copyFileSync(file, dst);
    }
    assert.deepEqual(page.problems, []);
  });

  test('a span no trace covers: no lanes, a note, no download', async () => {
    await page.goto(`${srv.base}/trace/${'f'.repeat(32)}?span=${'f'.repeat(16)}`);
    await page.waitForSelector('.gor-box[data-state=none]');
    assert.equal(await page.locator('.gor-lanes:not([hidden])').count(), 0);
    await page.waitForSelector('.span-panel [data-role=exectraces][data-count="0"]');
    assert.equal(await page.locator('.span-panel [data-role=exectraces] a[download]').count(), 0);
    assert.deepEqual(page.problems.filter((p) => !/404/.test(p)), []);
  });
});

// The source page in headless chromium, against a meanwhiled holding one source's real
// Go 1.26 captures: the gctrace of tests/data/go1.26 (its cycles counted here from the
// pushed lines), the goroutine profiles and leak profile of tests/data/growth-goroutines
// (a leak in main.leakyWorker, expected.json) and the two heap profiles of
// tests/data/growth (a cache grown at main.growCache, expected.json), plus a span of the
// same service so a trace's source lane can lead to the page. Expectations come from the
// captures, never from the page's model.

import { test, before, after, beforeEach, describe } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { startServer, readData, request, postJsonOk } from '../../tests/integration/lib/server.mjs';
import { ingestOk } from '../../tests/integration/lib/runtime.mjs';
import { launch, newPage, shot, missing } from './lib/browser.mjs';

const why = missing();
const SERVICE = 'growing', INSTANCE = 'i-1';
const STDERR = readData('go1.26', 'runtime-stderr.log').toString('utf8');
const CYCLES = STDERR.split('\n').filter((l) => /^gc \d+ @/.test(l)).length;
const GOR = JSON.parse(readData('growth-goroutines', 'expected.json').toString('utf8'));
const HEAP = JSON.parse(readData('growth', 'expected.json').toString('utf8'));
const TRACE = 'c0ffee00000000000000000000000015', SPAN = 'c0ffee0000000015';
const MS = 1000000n;

let srv, browser, page, sourceId;

describe('the source page on real Go 1.26 captures', { skip: why || false }, () => {
  before(async () => {
    // the heap rule without its warm-up and floor: the capture's cycle 1 marks 3 MB live,
    // cycle 2 7 MB, twice the low and more (rules judge each push's last cycle, so the
    // lines go in three pushes: to cycle 1, cycle 2, the rest, whose last cycle marks 0 MB)
    srv = await startServer({ args: ['--rule-warmup', '0', '--rule-heap-min', '1048576'], allowLog: [/a rule fired/] });
    // one process that started a minute ago: its 6 s of gctrace, then its goroutine
    // captures from 1 s in (at their own spacing), its heap profiles from 2 s in
    const t0 = BigInt(Date.now() - 60000) * MS;
    const src = { service: SERVICE, instance: INSTANCE };
    const lines = STDERR.split('\n');
    const cut = (n) => lines.findIndex((l) => l.startsWith(`gc ${n} @`)) + 1;
    for (const part of [lines.slice(0, cut(1)), lines.slice(cut(1), cut(2)), lines.slice(cut(2))]) {
      sourceId = (await ingestOk(srv, 'gctrace', { ...src, process_start: String(t0) }, Buffer.from(part.join('\n') + '\n'))).source_id;
    }
    const g0 = BigInt(GOR.captures[0].time_ns);
    let last = 0n;
    const pprofs = GOR.captures.filter((x) => x.kind === 'pprof');
    for (const c of pprofs) {
      last = t0 + 1000n * MS + BigInt(c.time_ns) - g0;
      // the last one as a rule's capture would come (trigger=rule:...)
      const trigger = c === pprofs[pprofs.length - 1] ? { trigger: 'rule:heap_growth' } : {};
      assert.equal((await ingestOk(srv, 'goroutine', { ...src, ...trigger, time: String(last) }, readData('growth-goroutines', c.file))).source_id, sourceId);
    }
    await ingestOk(srv, 'goroutineleak', { ...src, time: String(last + MS) }, readData('growth-goroutines', GOR.leak_profile));
    const hb = t0 + 2000n * MS;
    await ingestOk(srv, 'heap', { ...src, time: String(hb) }, readData('growth', 'base.pb.gz'));
    await ingestOk(srv, 'heap', { ...src, time: String(hb + BigInt(HEAP.target_time_ns) - BigInt(HEAP.base_time_ns)) }, readData('growth', 'target.pb.gz'));
    // a request of the service while it ran
    const s = t0 + 3000n * MS;
    await postJsonOk(srv, { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: SERVICE } }, { key: 'service.instance.id', value: { stringValue: INSTANCE } }] },
      scopeSpans: [{ scope: { name: 't' }, spans: [{ traceId: TRACE, spanId: SPAN, name: 'GET /grow', kind: 2, startTimeUnixNano: String(s), endTimeUnixNano: String(s + 50n * MS), status: {} }] }] }] });
    browser = await launch({ viewport: { width: 1400, height: 1000 } });
    page = await newPage(browser.context, srv.base);
  });
  after(async () => {
    if (browser) await browser.close();
    if (srv) { await srv.stop(); await srv.cleanup(); }
  });
  beforeEach(() => { if (page) page.problems.length = 0; });

  test('the page draws the GC cycles, lists the leak and the heap growth', async () => {
    assert.ok(CYCLES > 50, `the capture has ${CYCLES} gctrace cycles`);
    await page.goto(`${srv.base}/source/${sourceId}`);
    await page.waitForSelector('.source-page[data-state=ready] [data-role=heap-growth][data-state=ready]', { timeout: 20000 });
    assert.equal(await page.getAttribute('.source-lanes', 'data-gc-cycles'), String(CYCLES));
    const pprofCaptures = GOR.captures.filter((x) => x.kind === 'pprof').length;
    assert.equal(await page.getAttribute('.source-lanes', 'data-goroutine-points'), String(pprofCaptures));
    // one event, the heap rule's at cycle 2 (3 MiB → 7 MiB), and the one triggered capture
    assert.equal(await page.getAttribute('.source-lanes', 'data-events'), '1');
    const ev = page.locator('.source-event[data-rule=heap_growth]');
    assert.equal(await ev.count(), 1);
    assert.match(await ev.textContent(), /from 3\.0 MiB to 7\.0 MiB|from 3 MiB to 7 MiB/);
    assert.equal(await page.getAttribute('.source-lanes', 'data-triggered'), '1');
    // the canvas has the lanes drawn (not blank)
    const inked = await page.evaluate(() => {
      const c = document.querySelector('.source-canvas');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
      return n;
    });
    assert.ok(inked > 1000, `${inked} pixels drawn`);
    // the leak suspect names the capture's function and is proven by the leak profile
    const sus = page.locator(`.suspect[data-function="${GOR.function}"]`);
    assert.equal(await sus.count(), 1, `suspects: ${await page.locator('.suspect').evaluateAll((els) => els.map((e) => e.dataset.function))}`);
    assert.equal(await sus.getAttribute('data-proven'), 'true');
    assert.equal(await sus.locator('.badge.proven').count(), 1);
    assert.match(await sus.textContent(), new RegExp(GOR.operation.replace('/', '\\/')));
    assert.equal(await page.locator(`.suspect[data-function="${GOR.steady_function}"]`).count(), 0, 'the steady pool is no suspect');
    // the heap growth's top stack is the cache's
    assert.equal(await page.getAttribute('.heap-table tbody tr.heap-stack >> nth=0', 'data-function'), HEAP.function);
    assert.ok(Number(await page.getAttribute('[data-role=heap-growth] .flame', 'data-nodes')) > 1, 'the differential flame graph is drawn');
    await shot(page, 'source-page');
    assert.deepEqual(page.problems, []);
  });

  test('the pprof link answers a gzip\'d profile', async () => {
    await page.goto(`${srv.base}/source/${sourceId}`);
    await page.waitForSelector('a.pprof-link', { timeout: 20000 });
    const href = await page.getAttribute('a.pprof-link', 'href');
    const r = await request(srv, 'GET', href);
    assert.equal(r.status, 200, r.body.toString().slice(0, 200));
    assert.equal(r.body[0], 0x1f);
    assert.equal(r.body[1], 0x8b);
    // a profile.proto whose string table names the grown function
    assert.ok(gunzipSync(r.body).includes(Buffer.from(HEAP.function)), `the profile names ${HEAP.function}`);
    assert.deepEqual(page.problems, []);
  });

  test('zooming the timeline changes what is drawn, is kept in the URL, and 0 resets it', async () => {
    await page.goto(`${srv.base}/source/${sourceId}`);
    await page.waitForSelector('.source-page[data-state=ready]', { timeout: 20000 });
    const pixels = () => page.evaluate(() => {
      const c = document.querySelector('.source-canvas');
      return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data.filter((_, i) => i % 16 === 3)).join('');
    });
    const drawn = (p, same) => page.waitForFunction(([p, same]) => {
      const c = document.querySelector('.source-canvas');
      if (!c) return false;
      const now = Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data.filter((_, i) => i % 16 === 3)).join('');
      return (now === p) === same;
    }, [p, same]);
    await page.waitForFunction(() => document.querySelector('.source-canvas').width > 0);
    const whole = await pixels();
    const b = await page.locator('.source-canvas').boundingBox();
    await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2);
    await page.mouse.wheel(0, -600);
    await drawn(whole, false);
    await page.waitForURL((u) => u.searchParams.has('t0') && u.searchParams.has('t1'));
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const zoomed = await pixels();
    const t0 = Number(new URL(page.url()).searchParams.get('t0')), t1 = Number(new URL(page.url()).searchParams.get('t1'));
    assert.ok(t1 > t0 && t1 - t0 < 6000, `the zoom ${t0}..${t1} ms is narrower than the capture's 6 s`);
    // the URL opens the same zoom
    await page.goto(page.url());
    await page.waitForSelector('.source-page[data-state=ready]', { timeout: 20000 });
    await drawn(zoomed, true);
    await page.keyboard.press('0');
    await drawn(whole, true);
    await page.waitForURL((u) => u.pathname === `/source/${sourceId}` && !u.searchParams.has('t0'));
    assert.deepEqual(page.problems, []);
  });

  test('the service page lists its sources as links to their pages', async () => {
    await page.goto(`${srv.base}/service/${SERVICE}`);
    const link = page.locator(`[data-role=sources] a[data-source-id="${sourceId}"]`);
    await link.waitFor({ timeout: 20000 });
    assert.match(await link.textContent(), new RegExp(INSTANCE));
    await link.click();
    await page.waitForURL((u) => u.pathname === `/source/${sourceId}`);
    await page.waitForSelector('.source-page[data-state=ready]', { timeout: 20000 });
    assert.deepEqual(page.problems, []);
  });

  test('a source with one heap profile and nothing else opens without errors', async () => {
    const at = BigInt(Date.now() - 30000) * MS;
    const other = (await ingestOk(srv, 'heap', { service: SERVICE, instance: 'i-2', time: String(at) }, readData('growth', 'base.pb.gz'))).source_id;
    assert.notEqual(other, sourceId);
    await page.goto(`${srv.base}/source/${other}`);
    await page.waitForSelector('.source-page[data-state=ready] [data-role=heap-growth][data-state=ready]', { timeout: 20000 });
    assert.equal(await page.getAttribute('.source-lanes', 'data-gc-cycles'), '0');
    assert.equal(await page.getAttribute('[data-role=leak-suspects]', 'data-suspects'), '0');
    assert.match(await page.textContent('[data-role=heap-growth]'), /One heap profile/);
    assert.equal(await page.locator('a.pprof-link').count(), 0);
    assert.deepEqual(page.problems, []);
  });

  test('an unknown source says so', async () => {
    await page.goto(`${srv.base}/source/999`);
    await page.waitForSelector('.source-page[data-state=error]', { timeout: 20000 });
    assert.match(await page.textContent('.source-page'), /no source 999/);
    assert.deepEqual(page.problems, []);
  });

  test('a trace\'s source lane links to the source page', async () => {
    await page.goto(`${srv.base}/trace/${TRACE}`);
    const link = page.locator(`.lanes-box a.lane-link[data-source-id="${sourceId}"]`);
    await link.waitFor({ timeout: 20000 });
    assert.match(await link.textContent(), new RegExp(`${SERVICE}.*${INSTANCE}`));
    await link.click();
    await page.waitForURL((u) => u.pathname === `/source/${sourceId}`);
    await page.waitForSelector('.source-page[data-state=ready]', { timeout: 20000 });
    assert.deepEqual(page.problems, []);
  });
});

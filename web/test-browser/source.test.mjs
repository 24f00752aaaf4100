// The source page in headless chromium, against a meanwhiled holding one source's real
// Go 1.26 captures: the gctrace of tests/data/go1.26 (its cycles counted here from the
// pushed lines), the goroutine profiles and leak profile of tests/data/growth-goroutines
// (a leak in main.leakyWorker, expected.json) and the two heap profiles of
// tests/data/growth (a cache grown at main.growCache, expected.json), plus a span of the
// same service so a trace's source lane can lead to the page. Expectations come from the
// captures, never from the page's model.
// The second part pushes six hours of a busy source (a GC cycle a second, a goroutine
// profile every half hour, at explicit times) and checks that the lanes come from
// /series: the whole time from per-minute rollups, a zoom refetching the window in view at
// raw resolution, and the GC cycles then drawn one by one from /gc, as many as were pushed
// into the view.

import { test, before, after, beforeEach, describe } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { startServer, readData, request, postJsonOk } from '../../tests/integration/lib/server.mjs';
import { ingestOk, parseJsonBig } from '../../tests/integration/lib/runtime.mjs';
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
    // the view's data (GC bars from /gc) in and drawn
    await page.waitForSelector('.source-lanes[data-pending="0"]');
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const zoomed = await pixels();
    const t0 = Number(new URL(page.url()).searchParams.get('t0')), t1 = Number(new URL(page.url()).searchParams.get('t1'));
    assert.ok(t1 > t0 && t1 - t0 < 6000, `the zoom ${t0}..${t1} ms is narrower than the capture's 6 s`);
    // the URL opens the same zoom
    await page.goto(page.url());
    await page.waitForSelector('.source-page[data-state=ready] .source-lanes[data-pending="0"]', { timeout: 20000 });
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

// six hours of a source that collects once a second: cycle k (1..HOURS×3600) starts at
// process_start + k s and takes 1.23 ms (the clock phases of the line); the heap marks
// 3 or 4 MB by the hour (no heap rule fires: never twice the low)
const HOURS = 6, LONG_CYCLES = HOURS * 3600, CYCLE_NS = 1230000n, S = 1000000000n;
const gcLine = (k) => `gc ${k} @${k}.000s 1%: 0.010+1.2+0.020 ms clock, 0.040+0.30/1.1/2.0+0.080 ms cpu, 5->6->${3 + (Math.floor(k / 3600) % 2)} MB, 8 MB goal, 0 MB stacks, 0 MB globals, 4 P`;
const PROFILES = 2 * HOURS; // goroutine profiles, every half hour from 10 min in

describe('the source page over six hours of a busy source', { skip: why || false }, () => {
  let srv2, br, pg, id, P, first;
  const seen = []; // the page's requests to the source's runtime endpoints
  before(async () => {
    srv2 = await startServer({ allowLog: [/a rule fired/] });
    P = BigInt(Date.now() - (HOURS + 1) * 3600 * 1000) * MS;
    const src = { service: 'busy', instance: 'long-1' };
    for (let hr = 0; hr < HOURS; hr++) {
      const lines = [];
      for (let k = hr * 3600 + 1; k <= (hr + 1) * 3600; k++) lines.push(gcLine(k));
      const j = await ingestOk(srv2, 'gctrace', { ...src, process_start: String(P) }, Buffer.from(lines.join('\n') + '\n'));
      assert.equal(j.accepted, 3600, JSON.stringify(j.errors).slice(0, 300));
      id = j.source_id;
    }
    const pprofs = GOR.captures.filter((x) => x.kind === 'pprof');
    for (let i = 0; i < PROFILES; i++) {
      const trigger = i === PROFILES - 1 ? { trigger: 'goroutines' } : {};
      const t = P + 600n * S + BigInt(i) * 1800n * S;
      assert.equal((await ingestOk(srv2, 'goroutine', { ...src, ...trigger, time: String(t) }, readData('growth-goroutines', pprofs[i % pprofs.length].file))).source_id, id);
    }
    const r = await request(srv2, 'GET', '/api/v1/sources?limit=1000');
    const row = parseJsonBig(r.body.toString('utf8')).sources.find((x) => Number(x.id) === id);
    first = BigInt(row.first_ns);
    assert.ok(first >= P + S && first <= P + 600n * S, `first data ${first - P} ns after the process start`);
    br = await launch({ viewport: { width: 1400, height: 1000 } });
    pg = await newPage(br.context, srv2.base);
    pg.on('request', (q) => { const u = new URL(q.url()); if (u.pathname.startsWith(`/api/v1/sources/${id}/`)) seen.push(u); });
  });
  after(async () => {
    if (br) await br.close();
    if (srv2) { await srv2.stop(); await srv2.cleanup(); }
  });

  /** The pushed cycles that overlap [a, b] (unix ns). */
  const cyclesOverlapping = (a, b) => {
    let n = 0;
    for (let k = 1; k <= LONG_CYCLES; k++) { const s = P + BigInt(k) * S; if (s <= b && s + CYCLE_NS >= a) n++; }
    return n;
  };
  const lanes = (name) => pg.getAttribute('.source-lanes', `data-${name}`);

  test('the whole six hours come from /series rollups, zooming refetches the view at raw resolution', async () => {
    await pg.goto(`${srv2.base}/source/${id}`);
    await pg.waitForSelector('.source-page[data-state=ready] .source-lanes', { timeout: 30000 });
    // every pushed cycle and profile is in the whole time's series: far more than /gc?limit=10000 gave
    assert.equal(await lanes('gc-cycles'), String(LONG_CYCLES));
    assert.equal(await lanes('goroutine-points'), String(PROFILES));
    assert.equal(await lanes('triggered'), '1');
    assert.equal(await lanes('resolution'), 'minute', '21,600 cycles are beyond the raw rows a window may read');
    assert.equal(await lanes('gc-mode'), 'density');
    const whole = seen.filter((u) => u.pathname.endsWith('/series'));
    assert.equal(whole.length, 1, seen.map(String).join('\n'));
    const w = Number(whole[0].searchParams.get('points'));
    const box = await pg.locator('.source-canvas').boundingBox();
    assert.ok(w > 0.6 * box.width && w <= box.width, `${w} points for a ${box.width} px canvas`);
    assert.ok(BigInt(whole[0].searchParams.get('start')) <= first && BigInt(whole[0].searchParams.get('end')) >= P + BigInt(LONG_CYCLES) * S);
    assert.equal(seen.filter((u) => u.pathname.endsWith('/gc/pressure') || (u.pathname.endsWith('/gc') && Number(u.searchParams.get('limit')) > 2500)).length, 0,
      'no raw read of the whole time');
    await shot(pg, 'source-page-hours');

    // three wheel notches zoom about 36× (to ~10 min): one /series request for the view, debounced
    seen.length = 0;
    await pg.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    for (let i = 0; i < 3; i++) await pg.mouse.wheel(0, -600);
    await pg.waitForFunction(() => document.querySelector('.source-lanes').dataset.seriesAnswers === '2', null, { timeout: 20000 });
    await pg.waitForFunction(() => document.querySelector('.source-lanes').dataset.gcMode === 'bars', null, { timeout: 20000 });
    await pg.waitForURL((u) => u.searchParams.has('t0'));
    const series = seen.filter((u) => u.pathname.endsWith('/series'));
    assert.equal(series.length, 1, `one request after three notches: ${series.map(String).join('\n')}`);
    const url = new URL(pg.url());
    const t0 = Number(url.searchParams.get('t0')), t1 = Number(url.searchParams.get('t1'));
    const a = first + BigInt(Math.round(t0 * 1e6)), b = first + BigInt(Math.round(t1 * 1e6));
    // the request asked for the window in view (the URL keeps it to the µs)
    const qa = BigInt(series[0].searchParams.get('start')), qb = BigInt(series[0].searchParams.get('end'));
    assert.ok(qa - a < 1000000n && a - qa < 1000000n && qb - b < 1000000n && b - qb < 1000000n, `asked ${qa - first}..${qb - first}, view ${a - first}..${b - first}`);
    assert.ok(t1 - t0 < 15 * 60 * 1000 && t1 - t0 > 5 * 60 * 1000, `zoomed to ${(t1 - t0) / 60000} min`);
    assert.equal(await lanes('resolution'), 'raw');
    assert.ok(Number(await lanes('step-ns')) <= 1e9, `raw steps of ${await lanes('step-ns')} ns`);
    // the cycles drawn one by one are the pushed ones in view (± one at each edge for the URL's rounding)
    const want = cyclesOverlapping(a, b);
    const got = Number(await lanes('gc-bars'));
    assert.ok(Math.abs(got - want) <= 2, `${got} GC bars, ${want} pushed cycles in view`);
    const gc = seen.filter((u) => u.pathname.endsWith('/gc'));
    assert.equal(gc.length, 1);
    assert.ok(Number(gc[0].searchParams.get('limit')) <= 2500);
    // the readout under the canvas names the cycle and the step under the pointer
    await pg.mouse.move(box.x + box.width / 2, box.y + 40);
    await pg.mouse.move(box.x + box.width / 2 + 3, box.y + 40);
    assert.match(await pg.textContent('.source-tip'), /GC cycle \d+: .*stop-the-world/);
    assert.match(await pg.textContent('.source-tip'), /1 GC cycles/);
    await shot(pg, 'source-page-hours-zoomed');

    // a pan refetches the new window; 0 goes back to the whole answer without asking again
    seen.length = 0;
    await pg.keyboard.press('ArrowRight');
    await pg.waitForFunction(() => document.querySelector('.source-lanes').dataset.seriesAnswers === '3', null, { timeout: 20000 });
    assert.equal(seen.filter((u) => u.pathname.endsWith('/series')).length, 1);
    seen.length = 0;
    await pg.keyboard.press('0');
    await pg.waitForFunction(() => document.querySelector('.source-lanes').dataset.resolution === 'minute', null, { timeout: 20000 });
    await pg.waitForFunction(() => document.querySelector('.source-lanes').dataset.gcMode === 'density', null, { timeout: 20000 });
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(seen.filter((u) => u.pathname.endsWith('/series')).length, 0);
    assert.deepEqual(pg.problems, []);
  });

  test('a zoom in the URL opens at raw resolution', async () => {
    // ten minutes from two hours in
    const t0 = 2 * 3600 * 1000, t1 = t0 + 600 * 1000;
    await pg.goto(`${srv2.base}/source/${id}?t0=${t0}&t1=${t1}`);
    await pg.waitForSelector('.source-page[data-state=ready] .source-lanes[data-gc-mode=bars]', { timeout: 30000 });
    assert.equal(await lanes('resolution'), 'raw');
    const a = first + BigInt(t0) * MS, b = first + BigInt(t1) * MS;
    const got = Number(await lanes('gc-bars')), want = cyclesOverlapping(a, b);
    assert.ok(Math.abs(got - want) <= 1, `${got} GC bars, ${want} pushed cycles in view`);
    assert.deepEqual(pg.problems, []);
  });
});

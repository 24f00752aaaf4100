// The viewer in headless chromium against a meanwhiled loaded with the recorded Go 1.19
// service (tests/data/go1.19-checkout): the search pages, a slow trace's waterfall and
// GC lanes (counts checked against the API and the gctrace fixture, never against the
// page), a span's explanation, a snapshot, deep links, back/forward, keys, and the
// error states. Screenshots go to $MW_BUILD_DIR/web-artifacts/.

import { test, before, after, beforeEach, describe } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { request, startServer } from '../../tests/integration/lib/server.mjs';
import { parseStderr, parseJsonBig } from '../../tests/integration/lib/runtime.mjs';
import { fixtureServer, META, FIXTURE } from './lib/fixture.mjs';
import { readData } from '../../tests/integration/lib/server.mjs';
import { launch, newPage, shot, missing, WEB_DIR } from './lib/browser.mjs';

const why = missing();
let srv, browser, page;

async function api(p) {
  const r = await request(srv, 'GET', p);
  assert.equal(r.status, 200, `GET ${p}: ${r.status} ${r.body.toString().slice(0, 200)}`);
  return JSON.parse(r.body.toString());
}
async function apiBig(p) {
  const r = await request(srv, 'GET', p);
  assert.equal(r.status, 200, `GET ${p}: ${r.status}`);
  return parseJsonBig(r.body.toString());
}
const data = (sel, key) => page.locator(sel).first().getAttribute(`data-${key}`);
/** Resolves after the page has drawn the frames its last events asked for. */
const settle = () => page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
const enc = encodeURIComponent;

/** GC cycles of the fixture's gctrace that overlap [lo, hi] (BigInt ns), as the timeline selects them. */
function fixtureCycles(lo, hi) {
  const gc = parseStderr(readData(FIXTURE, 'runtime-stderr.log').toString('utf8')).gc;
  const launch = BigInt(META.launch_unix_ns);
  return gc.filter((g) => {
    const s = launch + g.offset;
    const e = s + g.clock[0] + g.clock[1] + g.clock[2];
    return e >= lo && s < hi;
  });
}

describe('viewer with recorded data', { skip: why || false }, () => {
  before(async () => {
    srv = await fixtureServer();
    browser = await launch();
    page = await newPage(browser.context, srv.base);
  });
  after(async () => {
    if (browser) await browser.close();
    if (srv) await srv.cleanup();
  });
  beforeEach(() => { if (page) page.problems.length = 0; });

  test('the start page lists the services and their operations with percentiles', async () => {
    const services = (await api('/api/v1/services')).services;
    const ops = (await api('/api/v1/services/checkout/operations')).operations;
    await page.goto(srv.base + '/');
    await page.waitForSelector('.home-page[data-state=ready]');
    assert.equal(await data('.home-page', 'services'), String(services.length));
    await page.waitForSelector('table.ops[data-service=checkout]');
    assert.equal(await data('table.ops[data-service=checkout]', 'operations'), String(ops.length));
    const rows = await page.locator('table.ops[data-service=checkout] tbody tr').count();
    assert.equal(rows, ops.length);
    const slowest = [...ops].sort((a, b) => b.p99_ns - a.p99_ns)[0];
    const firstRow = page.locator('table.ops[data-service=checkout] tbody tr').first();
    assert.equal(await firstRow.getAttribute('data-operation'), slowest.name, 'sorted by p99, slowest first');
    await shot(page, 'services');
  });

  test('a service\'s page asks for that service by name', async () => {
    const ops = (await api('/api/v1/services/checkout/operations')).operations;
    await page.goto(srv.base + '/service/checkout');
    await page.waitForSelector('.service-page .service-card[data-service=checkout] table.ops');
    assert.equal(await data('table.ops[data-service=checkout]', 'operations'), String(ops.length));
    await page.goto(srv.base + '/service/no-such-service');
    await page.waitForSelector('.service-page .state.error');
    assert.match(await page.locator('.service-page .state.error').innerText(), /no spans of a service named/);
    assert.deepEqual(page.problems, []);
    await page.goto(srv.base + '/'); // the tests that follow start from the start page
    await page.waitForSelector('table.ops[data-service=checkout]');
  });

  let slowTrace;
  test('an operation: the scatter has one dot per trace found, the list starts with the slowest', async () => {
    const found = (await api(`/api/search?service=checkout&name=${enc('GET /checkout')}&limit=1000`)).traces;
    slowTrace = found[0].traceID;
    await page.click('table.ops[data-service=checkout] a.op-link >> text="GET /checkout"');
    await page.waitForURL(/\/operation\/checkout\/GET%20%2Fcheckout$/);
    await page.waitForSelector('.scatter[data-points]');
    assert.equal(await data('.scatter', 'points'), String(found.length));
    assert.equal(await data('table.traces', 'traces'), String(Math.min(25, found.length)));
    assert.equal(await page.locator('table.traces tbody tr').first().getAttribute('data-trace-id'), slowTrace);
    await settle();
    await shot(page, 'operation');
  });

  test('the slowest trace: the waterfall has every span, the GC lane every cycle of the fixture in the window', async () => {
    await page.click(`table.traces a.trace-link >> text="${slowTrace}"`);
    await page.waitForURL(new RegExp(`/trace/${slowTrace}$`));
    await page.waitForSelector('.trace-main[data-first-frame=done]');
    const otlp = await api(`/api/traces/${slowTrace}`);
    const spans = otlp.batches.flatMap((b) => b.scopeSpans.flatMap((s) => s.spans));
    assert.equal(await data('.wf-box', 'span-count'), String(spans.length), 'waterfall spans = spans of /api/traces');
    const tl = await apiBig(`/api/v1/traces/${slowTrace}/timeline`);
    assert.equal(await data('.lanes-box', 'sources'), String(tl.sources.length));
    const want = fixtureCycles(tl.window.start_ns, tl.window.end_ns);
    assert.ok(want.length > 0, 'the fixture has GC cycles in this trace\'s window');
    const src = page.locator('.lane-summary li[data-service=checkout]');
    assert.equal(await src.getAttribute('data-gc-cycles'), String(want.length), `GC cycles drawn = fixture cycles in the window (${want.map((g) => g.n)})`);
    assert.equal(await src.getAttribute('data-stw-phases'), String(want.length * 2), 'two stop-the-world phases per cycle');
    // the ones in view: counted from the API's cycles and the page's view
    const base = tl.start_ns;
    const t0 = BigInt(await data('.trace-main', 't0')), t1 = BigInt(await data('.trace-main', 't1'));
    const inView = tl.sources[0].gc.filter((c) => BigInt(c.end_ns) - base >= t0 && BigInt(c.start_ns) - base <= t1).length;
    assert.equal(await data('.lanes-box', 'gc-visible'), String(inView));
    await shot(page, 'trace-slowest');
    // zoom out to the whole window: every cycle is in view
    for (let i = 0; i < 12; i++) await page.keyboard.press('-');
    await page.waitForFunction((n) => document.querySelector('.lanes-box').dataset.gcVisible === String(n), want.length);
    await shot(page, 'trace-slowest-zoomed-out');
    assert.deepEqual(page.problems, []);
  });

  // a slow trace whose spans were caught by a goroutine snapshot
  let tr;
  test('the trace-id box (/) opens a trace; clicking a span shows its explanation', async () => {
    const found = (await api(`/api/search?service=checkout&limit=200`)).traces;
    for (const t of found) {
      const tl = await api(`/api/v1/traces/${t.traceID}/timeline`);
      const s = tl.spans.find((x) => x.goroutine_samples.length);
      if (s && tl.sources[0].snapshots.some((x) => x.kind === 'goroutine')) { tr = { id: t.traceID, tl, span: s }; break; }
    }
    assert.ok(tr, 'a trace with goroutine samples');
    await page.keyboard.press('/');
    await page.keyboard.type(tr.id.toUpperCase());
    await page.keyboard.press('Enter');
    await page.waitForURL(new RegExp(`/trace/${tr.id}$`));
    await page.waitForSelector('.trace-main[data-first-frame=done]');
    assert.equal(await data('.wf-box', 'span-count'), String(tr.tl.spans.length));
    const ex = await api(`/api/v1/traces/${tr.id}/explain`);
    await page.waitForFunction((s) => document.querySelector('[data-role=summary]').textContent === s, ex.summary);
    const box = await page.evaluate((sid) => window.__mwTrace.spanBox(sid), tr.span.span_id);
    await page.mouse.click(box.x, box.y);
    await page.waitForSelector(`.span-panel[data-span-id="${tr.span.span_id}"]`);
    assert.match(page.url(), new RegExp(`\\?span=${tr.span.span_id}$`));
    assert.equal(await data('.trace-main', 'selected-span'), tr.span.span_id);
    const exSpan = ex.spans.find((s) => s.span_id === tr.span.span_id);
    const text = await page.locator('.span-panel [data-role=explanation]').innerText();
    assert.ok(exSpan.causes.length > 0, 'the span has causes to show');
    for (const c of exSpan.causes) assert.ok(text.includes(c.summary), `the panel shows the cause "${c.summary}"`);
    const kinds = await page.locator('.span-panel .cause').evaluateAll((els) => els.map((e) => e.dataset.kind));
    assert.deepEqual(kinds, exSpan.causes.map((c) => c.kind));
    assert.equal(await data('.span-panel [data-role=goroutine-samples]', 'samples'), String(tr.span.goroutine_samples.length));
    await shot(page, 'trace-span-panel');
  });

  test('a snapshot from the evidence, then from its marker: groups by state, the trace\'s own marked, a filter', async () => {
    const sid = tr.span.goroutine_samples[0].snapshot_id;
    const snap = await api(`/api/v1/snapshots/${sid}`);
    await page.click(`.span-panel a.snap-link[data-snapshot="${sid}"]`);
    await page.waitForSelector(`.snapshot-panel[data-snapshot-id="${sid}"][data-state=ready]`);
    assert.match(page.url(), new RegExp(`snapshot=${sid}`));
    assert.equal(await data('.snapshot-panel .groups', 'groups'), String(snap.groups.length));
    const mine = snap.groups.filter((g) => g.trace_id === tr.id).length;
    assert.ok(mine > 0);
    assert.equal(await data('.snapshot-panel .groups', 'mine'), String(mine));
    assert.equal(await page.locator('.snapshot-panel .group.mine').count(), mine);
    await shot(page, 'trace-snapshot-panel');
    // filter by the file:line of the trace's goroutine
    const f = snap.groups.find((g) => g.trace_id === tr.id).frames.find((x) => x.func.startsWith('main.'));
    await page.fill('.snapshot-panel input.filter', `${f.file}:${f.line}`);
    const expectGroups = snap.groups.filter((g) => g.frames.some((x) => `${x.file}:${x.line}`.toLowerCase().includes(`${f.file}:${f.line}`.toLowerCase()))).length;
    await page.waitForFunction((n) => document.querySelector('.snapshot-panel .groups').dataset.groups === String(n), expectGroups);
    // Escape leaves the filter box, then closes the snapshot, then the span; back brings them back
    await page.keyboard.press('Escape');
    await page.keyboard.press('Escape');
    await page.waitForSelector('.snapshot-panel', { state: 'detached' });
    await page.waitForSelector('.span-panel');
    await page.keyboard.press('Escape');
    await page.waitForSelector('.span-panel', { state: 'detached' });
    assert.match(page.url(), new RegExp(`/trace/${tr.id}$`));
    await page.goBack();
    await page.waitForSelector('.span-panel');
    await page.goBack();
    await page.waitForSelector(`.snapshot-panel[data-snapshot-id="${sid}"]`);
    await page.goForward();
    await page.waitForSelector('.snapshot-panel', { state: 'detached' });
    // the marker in the snapshots lane opens it too
    await page.keyboard.press('Escape');
    await page.keyboard.press('0');
    for (let i = 0; i < 6; i++) await page.keyboard.press('-');
    await page.waitForFunction((id) => window.__mwTrace.markerBox(id), sid, { timeout: 10000 });
    const mk = await page.evaluate((id) => window.__mwTrace.markerBox(id), sid);
    assert.ok(mk, 'the snapshot marker is in view');
    await page.mouse.click(mk.x, mk.y);
    await page.waitForSelector(`.snapshot-panel[data-snapshot-id="${sid}"][data-state=ready]`);
    await shot(page, 'trace-snapshot-marker');
    assert.deepEqual(page.problems, []);
  });

  test('a span on CPU: its flame graph holds its own samples, its pprof downloads', async () => {
    const found = (await api(`/api/search?service=checkout&name=price.compute&limit=50`)).traces;
    let hit;
    for (const t of found) {
      const tl = await api(`/api/v1/traces/${t.traceID}/timeline`);
      const s = tl.spans.find((x) => x.cpu_sample_rows > 0);
      if (s) { hit = { id: t.traceID, span: s }; break; }
    }
    assert.ok(hit, 'a span with CPU samples');
    const ex = await api(`/api/v1/traces/${hit.id}/explain`);
    const prof = ex.spans.find((s) => s.span_id === hit.span.span_id).causes.flatMap((c) => c.evidence).find((e) => e.type === 'cpu_profile');
    const snap = await api(`/api/v1/snapshots/${prof.snapshot_id}?limit=10000`);
    const mine = snap.samples.filter((x) => x.span_id === hit.span.span_id);
    await page.goto(`${srv.base}/trace/${hit.id}?span=${hit.span.span_id}`);
    await page.waitForSelector('.span-panel [data-role=cpu-flame] .flame[data-nodes]');
    assert.equal(await data('.span-panel [data-role=cpu-flame]', 'samples'), String(mine.length));
    const frames = new Set(mine.flatMap((x) => x.frames.map((f) => f.func)));
    assert.equal(await data('.span-panel [data-role=cpu-flame] .flame', 'depth'), String(1 + Math.max(...mine.map((x) => x.frames.length))), 'the span, then its deepest stack');
    assert.ok(frames.has('main.spin'));
    await page.locator('.span-panel [data-role=cpu-flame]').scrollIntoViewIfNeeded();
    await shot(page, 'trace-cpu-flame');
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('.span-panel .downloads a:has-text("CPU profile")')]);
    const file = await dl.path();
    const head = (await import('node:fs')).readFileSync(file).subarray(0, 2);
    assert.deepEqual([...head], [0x1f, 0x8b], 'a gzip\'d pprof');
    assert.equal(await page.locator('.span-panel .downloads .btn.disabled:has-text("Goroutine profile")').count(), hit.span.goroutine_samples.length ? 0 : 1);
  });

  test('keys: j/k move between spans, Enter opens, +/−/0 zoom and reset', async () => {
    await page.goto(`${srv.base}/trace/${tr.id}`);
    await page.waitForSelector('.trace-main[data-first-frame=done]');
    const width = async () => Number(await data('.trace-main', 't1')) - Number(await data('.trace-main', 't0'));
    const w0 = await width();
    await page.keyboard.press('+');
    await page.waitForFunction((a) => { const d = document.querySelector('.trace-main').dataset; return Number(d.t1) - Number(d.t0) < a * 0.8; }, w0);
    await page.keyboard.press('0');
    await page.waitForFunction((a) => { const d = document.querySelector('.trace-main').dataset; return Number(d.t1) - Number(d.t0) === a; }, w0);
    await page.keyboard.press('j');
    await page.keyboard.press('j');
    await settle();
    const focused = await data('.trace-main', 'focused-span');
    const tlRows = tr.tl.spans.length;
    assert.ok(tlRows >= 2 && focused);
    await page.keyboard.press('Enter');
    await page.waitForSelector(`.span-panel[data-span-id="${focused}"]`);
    await page.keyboard.press('k');
    await page.waitForFunction((f) => document.querySelector('.span-panel') && document.querySelector('.span-panel').dataset.spanId !== f, focused);
  });

  test('deep links restore the trace, span and zoom; an operation whose name has dots', async () => {
    const s = tr.span;
    const url = `${srv.base}/trace/${tr.id}?span=${s.span_id}&t0=-5&t1=60.5`;
    await page.goto(url);
    await page.waitForSelector(`.span-panel[data-span-id="${s.span_id}"]`);
    assert.equal(await data('.trace-main', 't0'), String(-5e6));
    assert.equal(await data('.trace-main', 't1'), String(60.5e6));
    await page.goto(`${srv.base}/operation/checkout/db.query`);
    await page.waitForSelector('.scatter[data-points]');
    const found = (await api(`/api/search?service=checkout&name=db.query&limit=1000`)).traces;
    assert.equal(await data('.scatter', 'points'), String(found.length));
    assert.match(await page.locator('h1').innerText(), /db\.query/);
  });

  test('compare: the breakdowns side by side and the differential flame graph', async () => {
    const c = await api(`/api/v1/compare?service=checkout&name=queue.wait`);
    await page.goto(`${srv.base}/compare/checkout/queue.wait`);
    await page.waitForSelector('.compare-page[data-state=ready]');
    assert.equal(await page.locator('.compare-page [data-role=summary]').innerText(), c.summary);
    assert.equal(await page.locator('.cmp-group .stacked').count(), 2);
    const comps = Object.keys(c.slow.breakdown_share).filter((k) => c.slow.breakdown_share[k] || c.fast.breakdown_share[k]);
    assert.equal(await page.locator('.cmp-table tbody tr[data-key]').count(), comps.length);
    const depth = (n) => 1 + Math.max(0, ...(n.children || []).map(depth));
    assert.equal(await data('[data-role=diff-flame]', 'depth'), String(depth(c.flame)));
    await page.waitForSelector('[data-role=diff-flame] .flame[data-nodes]');
    await shot(page, 'compare');
  });

  test('error states: an unknown trace says so, a malformed id too, and an unknown page', async () => {
    await page.goto(`${srv.base}/trace/00000000000000000000000000000001`);
    await page.waitForSelector('.state.error');
    assert.equal(await data('.state.error', 'status'), '404');
    assert.match(await page.locator('.state.error').innerText(), /not found[\s\S]*trace 00000000000000000000000000000001 not found/);
    await shot(page, 'trace-not-found');
    await page.goto(`${srv.base}/trace/xyz`);
    await page.waitForSelector('.state.error');
    assert.match(await page.locator('.state.error').innerText(), /not a trace id/);
    await page.goto(`${srv.base}/snapshot/999999`);
    await page.waitForSelector('.snapshot-panel[data-state=error]');
    assert.match(await page.locator('.state.error').innerText(), /snapshot 999999 not found/);
    await page.goto(`${srv.base}/operation/only-a-service`);
    await page.waitForSelector('.state.error');
    assert.match(await page.locator('.state.error').innerText(), /No such page/);
    await page.goto(`${srv.base}/`);
    await page.fill('#trace-input', 'not-an-id');
    await page.press('#trace-input', 'Enter');
    await page.waitForSelector('#trace-msg:not([hidden])');
    page.problems.length = 0; // the 404s above were expected
  });

  test('the README screenshot: a trace page with real data, 1280×800', async () => {
    const s = tr.span;
    await page.goto(`${srv.base}/trace/${tr.id}?span=${s.span_id}`);
    await page.waitForSelector(`.span-panel[data-span-id="${s.span_id}"]`);
    await page.keyboard.press('-');
    await page.keyboard.press('-');
    await settle();
    const box = await page.evaluate((sid) => window.__mwTrace.spanBox(sid), s.span_id);
    await page.mouse.move(box.x + 40, box.y + 150);
    await settle();
    const file = await shot(page, 'trace-page');
    if (process.env.MW_UPDATE_DOCS_IMG) {
      const dst = path.join(WEB_DIR, '..', 'docs', 'img', 'trace-page.png');
      mkdirSync(path.dirname(dst), { recursive: true });
      copyFileSync(file, dst);
    }
    assert.deepEqual(page.problems, []);
  });
});

describe('a server that wants a query token, with no data yet', { skip: why || false }, () => {
  let s, b;
  before(async () => {
    s = await startServer({ env: { MEANWHILE_QUERY_TOKENS: 'viewer-token' } });
    b = await launch();
  });
  after(async () => {
    if (b) await b.close();
    if (s) await s.cleanup();
  });

  test('the page asks for the token, then shows the empty state', async () => {
    const p = await newPage(b.context, s.base);
    await p.goto(s.base + '/');
    await p.waitForSelector('.state.error[data-status="401"] form.token-form');
    await shot(p, 'token-prompt');
    await p.fill('.token-form input', 'wrong');
    await p.press('.token-form input', 'Enter');
    await p.waitForSelector('.state.error[data-status="403"]');
    await p.fill('.token-form input', 'viewer-token');
    await p.press('.token-form input', 'Enter');
    await p.waitForSelector('.home-page[data-state=ready] .state.empty');
    assert.match(await p.locator('.state.empty').innerText(), /No spans have arrived yet/);
    await p.goto(s.base + '/operation/checkout/GET%20%2Fcheckout');
    await p.waitForSelector('.operation-page[data-state=ready] .state.empty');
    await shot(p, 'empty-operation');
    const bad = p.problems.filter((x) => !/status of 40[134]/.test(x)); // 401/403 before the token, 404: no such service yet
    assert.deepEqual(bad, []);
  });
});

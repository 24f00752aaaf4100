// Links both ways (issue 16 point 2), in headless chromium against meanwhiled loaded with
// the recorded Go 1.19 service (tests/data/go1.19-checkout):
// - a span's URL, in the path form and the hash forms, opened cold in a new tab, opens the
//   trace, selects the span and shows its explanation (causes from /explain, never from
//   the page); the URL becomes the canonical path form; a span the trace does not have is
//   said so; "Copy link" gives the canonical absolute URL;
// - the URLs docs/GRAFANA.md tells Grafana to open (read from that file, ids filled in)
//   open the right span;
// - "Open in Grafana" has the Explore URL Grafana documents when the server names a
//   Grafana (--grafana-url, --grafana-datasource-uid), and is absent otherwise.

import { test, before, after, beforeEach, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { request, startServer, postJsonOk } from '../../tests/integration/lib/server.mjs';
import { loadFixture } from './lib/fixture.mjs';
import { launch, newPage, shot, missing, WEB_DIR } from './lib/browser.mjs';

const why = missing();
const GRAFANA_MD = readFileSync(path.join(WEB_DIR, '..', 'docs', 'GRAFANA.md'), 'utf8');
const DOC_BASE = 'http://meanwhile.example.com:4318'; // the Meanwhile address GRAFANA.md uses
const GRAFANA = { url: 'https://grafana.example.com/', uid: 'meanwhile-tempo' };

describe('links both ways', { skip: why || false }, () => {
  let srv, plain, browser, page;
  let T, S, causes, plainTrace;

  async function api(s, p) {
    const r = await request(s, 'GET', p);
    assert.equal(r.status, 200, `GET ${p}: ${r.status} ${r.body.toString().slice(0, 200)}`);
    return JSON.parse(r.body.toString());
  }

  /** A fresh tab (as a link opened from another program would get), at url. */
  async function coldTab(url) {
    const p = await newPage(browser.context, srv.base);
    await p.goto(url);
    return p;
  }

  /** The page shows span sid of trace tid selected, with the causes /explain gives it. */
  async function showsSpan(p, tid, sid, what) {
    await p.waitForSelector(`.span-panel[data-span-id="${sid}"]`);
    assert.equal(p.url(), `${srv.base}/trace/${tid}?span=${sid}`, `${what}: the canonical URL`);
    assert.equal(await p.locator('.trace-main').getAttribute('data-selected-span'), sid, what);
    await p.waitForFunction(() => document.querySelectorAll('.span-panel .cause').length > 0);
    const text = await p.locator('.span-panel [data-role=explanation]').innerText();
    for (const c of causes) assert.ok(text.includes(c.summary), `${what}: the panel shows the cause "${c.summary}"`);
  }

  before(async () => {
    srv = await startServer({ env: { MEANWHILE_GRAFANA_URL: GRAFANA.url, MEANWHILE_GRAFANA_DATASOURCE_UID: GRAFANA.uid } });
    await loadFixture(srv);
    plain = await startServer();
    // one small trace on the server with no Grafana
    plainTrace = 'ab'.repeat(16);
    const t0 = 1795334474000000000n;
    await postJsonOk(plain, { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'plain' } }] },
      scopeSpans: [{ scope: { name: 't' }, spans: [{ traceId: plainTrace, spanId: 'cd'.repeat(8), name: 'GET /plain', kind: 2,
        startTimeUnixNano: String(t0), endTimeUnixNano: String(t0 + 20000000n), status: {} }] }] }] });
    browser = await launch();
    page = await newPage(browser.context, srv.base);
    // a span the explanation gives causes to
    const found = (await api(srv, '/api/search?service=checkout&limit=50')).traces;
    for (const t of found) {
      const ex = await api(srv, `/api/v1/traces/${t.traceID}/explain`);
      const s = ex.spans.find((x) => x.causes.length > 0);
      if (s) { T = t.traceID; S = s.span_id; causes = s.causes; break; }
    }
    assert.ok(T, 'a trace with a span that has causes');
  });
  after(async () => {
    if (browser) await browser.close();
    if (srv) await srv.cleanup();
    if (plain) await plain.cleanup();
  });
  beforeEach(() => { if (page) page.problems.length = 0; });

  test('a span\'s URL opened cold, in the path form and every hash form, opens its explanation', async () => {
    for (const form of [`/trace/${T}?span=${S}`, `/#/trace/${T}/span/${S}`, `/#/trace/${T}?span=${S}`,
      `/#/trace/${T.toUpperCase()}/span/${S.toUpperCase()}`]) {
      const p = await coldTab(srv.base + form);
      await showsSpan(p, T, S, form);
      // the hash form was replaced, not pushed: back leaves the viewer
      const entries = await p.evaluate(() => history.length);
      assert.ok(entries <= 2, `${form}: ${entries} history entries`);
      if (form.includes('#')) await shot(p, 'link-hash-span');
      assert.deepEqual(p.problems, [], form);
      await p.close();
    }
    // the trace alone
    const p = await coldTab(`${srv.base}/#/trace/${T}`);
    await p.waitForSelector('.trace-main[data-first-frame=done]');
    assert.equal(p.url(), `${srv.base}/trace/${T}`);
    assert.equal(await p.locator('.span-panel').count(), 0);
    // a hash link pasted into a tab already on the viewer (only the hash changes)
    await p.evaluate(([t, s]) => { location.hash = `#/trace/${t}/span/${s}`; }, [T, S]);
    await showsSpan(p, T, S, 'hashchange');
    assert.deepEqual(p.problems, []);
    await p.close();
  });

  test('a span id the trace does not have is said so, on the page', async () => {
    const p = await coldTab(`${srv.base}/#/trace/${T}/span/00000000000bad00`);
    await p.waitForSelector('.span-panel.missing [role=alert]');
    assert.equal(p.url(), `${srv.base}/trace/${T}?span=00000000000bad00`);
    const text = await p.locator('.span-panel.missing').innerText();
    assert.match(text, /Span 00000000000bad00 is not in this trace/);
    const n = (await api(srv, `/api/v1/traces/${T}/timeline`)).spans.length;
    assert.match(text, new RegExp(`Trace ${T} has ${n} spans`));
    await shot(p, 'link-missing-span');
    // closing it drops the span from the URL; a span picked later replaces it
    await p.keyboard.press('Escape');
    await p.waitForSelector('.span-panel', { state: 'detached' });
    assert.equal(p.url(), `${srv.base}/trace/${T}`);
    await p.goto(`${srv.base}/trace/${T}?span=not-a-span`);
    await p.waitForSelector('.span-panel.missing');
    assert.match(await p.locator('.span-panel.missing').innerText(), /“not-a-span” is not a span id/);
    const box = await p.evaluate((sid) => window.__mwTrace.spanBox(sid), S);
    await p.mouse.click(box.x, box.y);
    await p.waitForSelector(`.span-panel[data-span-id="${S}"]`);
    assert.equal(await p.locator('.span-panel.missing').count(), 0);
    assert.deepEqual(p.problems, []);
    await p.close();
  });

  test('"Copy link" gives the canonical absolute URL, which opens the span', async () => {
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: srv.base });
    await page.goto(`${srv.base}/trace/${T}`);
    await page.waitForSelector('.trace-main[data-first-frame=done]');
    const box = await page.evaluate((sid) => window.__mwTrace.spanBox(sid), S);
    await page.mouse.click(box.x, box.y);
    await page.waitForSelector(`.span-panel[data-span-id="${S}"]`);
    const want = `${srv.base}/trace/${T}?span=${S}`;
    assert.equal(await page.locator('.span-panel a.span-link').getAttribute('href'), want);
    await page.click('.span-panel button.copy-link');
    await page.waitForSelector('.span-panel[data-copied]');
    assert.equal(await page.locator('.span-panel').getAttribute('data-copied'), want);
    assert.equal(await page.locator('.span-panel .copy-status').innerText(), 'Link copied');
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), want);
    await shot(page, 'link-copied');
    const p = await coldTab(want);
    await showsSpan(p, T, S, 'the copied link');
    await p.close();
    assert.deepEqual(page.problems, []);
  });

  test('the URLs docs/GRAFANA.md gives Grafana open the right span', async () => {
    // the correlation's URL, as typed in Grafana's form and as provisioned ($$ is a literal $ there)
    const found = [...GRAFANA_MD.matchAll(/(?:url: )?http:\/\/meanwhile\.example\.com:4318(\/[^\s`'"]*\{traceID\}[^\s`'"]*)/g)];
    const provisioned = found.filter((m) => m[0].startsWith('url: ')).map((m) => m[1]);
    const typed = found.filter((m) => !m[0].startsWith('url: ')).map((m) => m[1]);
    assert.equal(provisioned.length, 1, `one provisioned correlation URL in GRAFANA.md: ${provisioned}`);
    assert.ok(typed.length >= 1, 'the URL to type into Grafana\'s correlation form');
    const stored = provisioned[0].replaceAll('$$', '$'); // what Grafana keeps of the provisioning file
    assert.ok(typed.includes(stored), `the provisioned URL (${stored}) is the one the form is given (${typed})`);
    for (const tpl of new Set([stored, ...typed])) {
      assert.match(tpl, /\$\{traceID\}/);
      assert.match(tpl, /\$\{spanID\}/);
      const url = srv.base + tpl.replaceAll('${traceID}', T).replaceAll('${spanID}', S);
      const p = await coldTab(url);
      await showsSpan(p, T, S, `GRAFANA.md ${tpl}`);
      await p.close();
    }
    // the span URL and the hash forms GRAFANA.md names, with <trace id> and <span id>
    const forms = [...GRAFANA_MD.matchAll(/(?:^|`)((?:http:\/\/meanwhile\.example\.com:4318)?\/(?:#\/)?trace\/<trace id>[^`\n]*)/gm)].map((m) => m[1]);
    assert.ok(forms.includes(`${DOC_BASE}/trace/<trace id>?span=<span id>`), `the canonical form is among them: ${forms}`);
    assert.ok(forms.length >= 3, `the forms in GRAFANA.md: ${forms}`);
    for (const f of forms) {
      const url = (f.startsWith(DOC_BASE) ? srv.base + f.slice(DOC_BASE.length) : srv.base + f)
        .replaceAll('<trace id>', T).replaceAll('<span id>', S);
      const p = await coldTab(url);
      if (f.includes('<span id>')) await showsSpan(p, T, S, `GRAFANA.md ${f}`);
      else {
        await p.waitForSelector('.trace-main[data-first-frame=done]');
        assert.equal(p.url(), `${srv.base}/trace/${T}`, f);
      }
      await p.close();
    }
  });

  test('"Open in Grafana": Explore on the configured Tempo data source, the trace id as the query', async () => {
    await page.goto(`${srv.base}/trace/${T}`);
    await page.waitForSelector('.trace-head a.grafana-link');
    const a = page.locator('.trace-head a.grafana-link');
    assert.match(await a.innerText(), /Open in Grafana/);
    assert.equal(await a.getAttribute('target'), '_blank');
    const href = await a.getAttribute('href');
    // Grafana's documented form: <grafana>/explore?schemaVersion=1&panes=<URL-encoded JSON>
    assert.ok(href.startsWith('https://grafana.example.com/explore?schemaVersion=1&panes='), href);
    const u = new URL(href);
    assert.equal(u.searchParams.get('schemaVersion'), '1');
    const panes = JSON.parse(u.searchParams.get('panes'));
    const [pane, ...more] = Object.values(panes);
    assert.equal(more.length, 0, 'one pane');
    assert.equal(pane.datasource, GRAFANA.uid);
    assert.equal(pane.queries.length, 1);
    const q = pane.queries[0];
    assert.deepEqual(q.datasource, { type: 'tempo', uid: GRAFANA.uid });
    assert.equal(q.queryType, 'traceql');
    assert.equal(q.query, T);
    assert.ok(/^[A-Za-z0-9]+$/.test(q.refId), q.refId);
    // the range holds the trace (ms since the epoch, as strings)
    const tl = await api(srv, `/api/v1/traces/${T}/timeline`);
    assert.ok(Number(pane.range.from) <= Math.floor(tl.start_ns / 1e6), `from ${pane.range.from}`);
    assert.ok(Number(pane.range.to) >= Math.ceil(tl.end_ns / 1e6), `to ${pane.range.to}`);
    await shot(page, 'link-open-in-grafana');
    assert.deepEqual(page.problems, []);
  });

  test('behind query tokens: a span link opened cold asks for the token, then opens the span', async () => {
    const guarded = await startServer({ env: { MEANWHILE_QUERY_TOKENS: 'links-token', MEANWHILE_GRAFANA_URL: 'http://localhost:3000', MEANWHILE_GRAFANA_DATASOURCE_UID: 'tempo' } });
    try {
      const sid = 'cd'.repeat(8), t0 = 1795334474000000000n;
      await postJsonOk(guarded, { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'guarded' } }] },
        scopeSpans: [{ scope: { name: 't' }, spans: [{ traceId: plainTrace, spanId: sid, name: 'GET /guarded', kind: 2,
          startTimeUnixNano: String(t0), endTimeUnixNano: String(t0 + 20000000n), status: {} }] }] }] });
      const p = await newPage(browser.context, guarded.base);
      await p.goto(`${guarded.base}/#/trace/${plainTrace}/span/${sid}`);
      await p.waitForSelector('.state.error[data-status="401"] form.token-form');
      assert.equal(p.url(), `${guarded.base}/trace/${plainTrace}?span=${sid}`, 'already the path form');
      await p.fill('.token-form input', 'links-token');
      await p.press('.token-form input', 'Enter');
      await p.waitForSelector(`.span-panel[data-span-id="${sid}"]`);
      assert.equal(p.url(), `${guarded.base}/trace/${plainTrace}?span=${sid}`);
      // the Grafana link, read with the token once it is known
      await p.waitForSelector('.trace-head a.grafana-link');
      assert.ok((await p.locator('a.grafana-link').getAttribute('href')).startsWith('http://localhost:3000/explore?schemaVersion=1&panes='));
      assert.deepEqual(p.problems.filter((x) => !/status of 401/.test(x)), []);
      await p.close();
    } finally { await guarded.cleanup(); }
  });

  test('no Grafana configured: no "Open in Grafana"', async () => {
    const p = await newPage(browser.context, plain.base);
    const asked = p.waitForResponse((r) => r.url() === `${plain.base}/api/v1/viewer-config`);
    await p.goto(`${plain.base}/trace/${plainTrace}`);
    const r = await asked;
    assert.deepEqual(await r.json(), { grafana: null });
    await p.waitForSelector('.trace-main[data-first-frame=done]');
    await p.evaluate(() => new Promise((res) => requestAnimationFrame(() => requestAnimationFrame(res))));
    assert.equal(await p.locator('a.grafana-link').count(), 0);
    assert.equal(await p.locator('.grafana-slot').innerText(), '');
    assert.deepEqual(p.problems, []);
    await p.close();
  });
});

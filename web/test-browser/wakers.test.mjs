// An operation's "Woken by" panel in headless chromium, against a meanwhiled holding the
// real Go 1.26 execution trace of web/test-browser/data/ (read by meanwhile-exectrace)
// and the OTLP spans of the program that wrote it. The request (GET /checkout) waited on
// a mutex held by span cache.refresh of another trace, then on a channel fed by its child
// db.flush: what the panel must show is taken from what the program recorded of itself
// (expected.json: the spans, goroutine ids and time.Now() windows around the waits;
// spans.otlp.json: the spans' names), never from the page or the endpoint under test.

import { test, before, after, beforeEach, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { postJsonOk } from '../../tests/integration/lib/server.mjs';
import { launch, newPage, shot, missing, WEB_DIR } from './lib/browser.mjs';
import { lanesServer, reader, LANES_EXPECTED as E } from './lib/exectrace.mjs';

const why = missing() || (reader() ? null : 'meanwhile-exectrace is not built (no Go found by CMake)');
const OTLP = JSON.parse(readFileSync(path.join(WEB_DIR, 'test-browser', 'data', 'spans.otlp.json'), 'utf8'));
const SPANS = OTLP.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => ({
  ...s, service: rs.resource.attributes.find((a) => a.key === 'service.name').value.stringValue,
}))));
const byId = (ref) => { const [t, s] = ref.split('/'); return SPANS.find((x) => x.traceId === t && x.spanId === s); };
const CHECKOUT = byId(E.spans.checkout), REFRESH = byId(E.spans.refresh), FLUSH = byId(E.spans.flush);
const G = E.goroutines;
const MS = 1e6;
const len = ([a, b]) => b - a;
const opPath = (service, name) => `/operation/${encodeURIComponent(service)}/${encodeURIComponent(name)}`;

describe('the "Woken by" panel on a real execution trace', { skip: why || false }, () => {
  let srv, browser, page;
  before(async () => {
    ({ srv } = await lanesServer());
    // an operation no execution trace covers (a minute before the traced request)
    const at = BigInt(E.windows.trace_start[0]) - 60000n * 1000000n;
    await postJsonOk(srv, { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: CHECKOUT.service } }] },
      scopeSpans: [{ scope: { name: 't' }, spans: [{ traceId: 'e'.repeat(32), spanId: 'e'.repeat(16), name: 'GET /untraced', kind: 2, startTimeUnixNano: String(at), endTimeUnixNano: String(at + 5000000n), status: {} }] }] }] });
    browser = await launch({ viewport: { width: 1400, height: 1000 } });
    page = await newPage(browser.context, srv.base);
  });
  after(async () => {
    if (browser) await browser.close();
    if (srv) { await srv.stop(); await srv.cleanup(); }
  });
  beforeEach(() => { if (page) page.problems.length = 0; });

  async function openPanel(service, name, state) {
    await page.goto(srv.base + opPath(service, name));
    return page.waitForSelector(`.operation-page [data-role=wakers][data-state=${state}]`, { timeout: 20000 });
  }
  const rowOf = (span) => page.locator(`[data-role=wakers] tr.waker[data-kind=operation][data-service="${span.service}"][data-operation="${span.name}"]`);

  test('the request: woken by cache.refresh (the mutex) and db.flush (the channel), most wait first', async () => {
    await openPanel(CHECKOUT.service, CHECKOUT.name, 'ready');
    // one GET /checkout span in the fixture: the slow one, and the trace covers it
    const n = SPANS.filter((s) => s.name === CHECKOUT.name && s.service === CHECKOUT.service).length;
    const panel = page.locator('[data-role=wakers]');
    assert.equal(await panel.getAttribute('data-examined'), String(n));
    assert.equal(await panel.getAttribute('data-covered'), String(n));
    assert.match(await panel.locator('[data-role=counts]').textContent(), new RegExp(`^${n} of the ${n} slow spans examined`));
    const waits = { [REFRESH.name]: ['mutex', len(E.windows.lock_wait)], [FLUSH.name]: ['chan', len(E.windows.chan_wait)] };
    for (const span of [REFRESH, FLUSH]) {
      const row = rowOf(span);
      assert.equal(await row.count(), 1, `a row for ${span.name}`);
      const [reason, ns] = waits[span.name];
      // the wait inside the program's time.Now() pair around Lock / the receive
      const got = Number(await row.getAttribute('data-wait-ns'));
      assert.ok(got <= ns + 1000 && got >= ns - 1 * MS, `${span.name}: ${got} ns, the program timed ${ns} ns`);
      assert.match(await row.locator('[data-role=reasons]').textContent(), new RegExp(`^${reason} `));
      assert.equal(await row.locator('td').nth(1).textContent(), '1', 'one slow span woken');
      assert.equal(await row.locator('a.waker-example').getAttribute('data-goroutine'), String(G.handler));
    }
    // the lock was held longer than the channel waited: cache.refresh's row first
    assert.ok(len(E.windows.lock_wait) > len(E.windows.chan_wait));
    const labels = await page.locator('[data-role=wakers] tr.waker').evaluateAll((rs) => rs.map((r) => r.dataset.operation || ''));
    assert.ok(labels.indexOf(REFRESH.name) >= 0 && labels.indexOf(REFRESH.name) < labels.indexOf(FLUSH.name), labels.join(', '));
    await shot(page, 'operation-wakers');
    assert.deepEqual(page.problems, []);
  });

  test('a row opens the waking operation\'s page', async () => {
    await openPanel(CHECKOUT.service, CHECKOUT.name, 'ready');
    await rowOf(REFRESH).locator('td').nth(2).click();
    await page.waitForURL((u) => u.pathname === opPath(REFRESH.service, REFRESH.name));
    await page.waitForSelector('.operation-page[data-state=ready]');
    assert.match(await page.locator('.operation-page h1').textContent(), new RegExp(`^${REFRESH.name.replace('.', '\\.')}`));
    // and its own panel: the refresher slept, woken by the runtime, not by another operation
    await page.waitForSelector('[data-role=wakers][data-state=ready]');
    assert.equal(await page.locator('[data-role=wakers] tr.waker[data-kind=operation]').count(), 0);
    await page.goBack();
    await page.waitForSelector('[data-role=wakers][data-state=ready]');
    await rowOf(FLUSH).locator('a.waker-link').click();
    await page.waitForURL((u) => u.pathname === opPath(FLUSH.service, FLUSH.name));
    assert.deepEqual(page.problems, []);
  });

  test('the example opens the trace at the woken span, the woken goroutine marked', async () => {
    await openPanel(CHECKOUT.service, CHECKOUT.name, 'ready');
    await rowOf(REFRESH).locator('a.waker-example').click();
    await page.waitForURL((u) => u.pathname === `/trace/${CHECKOUT.traceId}` && u.searchParams.get('span') === CHECKOUT.spanId);
    await page.waitForSelector(`.gor-box[data-span-id="${CHECKOUT.spanId}"][data-first-frame=done]`, { timeout: 20000 });
    assert.equal(await page.getAttribute('.trace-main', 'data-selected-span'), CHECKOUT.spanId);
    assert.equal(await page.getAttribute('.gor-box', 'data-selected-goroutine'), String(G.handler));
    assert.deepEqual(page.problems, []);
  });

  test('an operation no execution trace covers: a plain message, no error', async () => {
    await openPanel(CHECKOUT.service, 'GET /untraced', 'none');
    const panel = page.locator('[data-role=wakers]');
    assert.equal(await panel.getAttribute('data-examined'), '1');
    assert.equal(await panel.getAttribute('data-covered'), '0');
    assert.match(await panel.textContent(), /No stored execution trace covers the slow “GET \/untraced” spans/);
    assert.equal(await panel.locator('.state.error').count(), 0);
    assert.equal(await panel.locator('tr.waker').count(), 0);
    assert.deepEqual(page.problems, []);
  });
});

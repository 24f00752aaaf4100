// The viewer on a query-role front over two shards (docs/FEDERATION.md, "One shard's
// data"): each shard holds one process whose source id is 1 on its shard (the same id,
// two processes: alpha on A, beta on B), and a trace has a span in each. The trace page's
// source lanes must link each to its own shard's source (shard= in the link), and the
// source page must read that shard's source: its label is the one posted there; the
// service page lists its sources with their shard, and a link without one offers both.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer, postJsonOk } from '../../tests/integration/lib/server.mjs';
import { ingestOk } from '../../tests/integration/lib/runtime.mjs';
import { launch, newPage, shot, missing } from './lib/browser.mjs';

const why = missing();
const MS = 1000000n;
const TRACE = 'feed0000000000000000000000000a1b';
const hex8 = (n) => n.toString(16).padStart(16, '0');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

const PROCS = [
  { service: 'alpha', instance: 'a-1', span: [0xa1, null, 'GET /alpha', 0, 300] },
  { service: 'beta', instance: 'b-1', span: [0xb1, 0xa1, 'POST /beta', 10, 200] },
];

describe('the viewer on a front over shards whose source ids collide', { skip: why || false }, () => {
  let shards = [], front, browser, page, urls;
  before(async () => {
    const ports = [await freePort(), await freePort()];
    urls = ports.map((p) => `http://127.0.0.1:${p}`);
    for (const port of ports) shards.push(await startServer({ args: ['--listen', `127.0.0.1:${port}`, '--peers', urls.join(',')] }));
    front = await startServer({ args: ['--role', 'query', '--peers', urls.join(',')] });
    const now = BigInt(Date.now()) * MS, ps = now - 600_000n * MS, t0 = now - 60_000n * MS;
    for (const [i, p] of PROCS.entries()) {
      const gc = [`gc 1 @540.000s 1%: 0.010+1.0+0.005 ms clock, 0.040+0/0.5/1.2+0.020 ms cpu, ${4 + i}->${4 + i}->2 MB, ${5 + i} MB goal, 4 P`];
      const j = await ingestOk(shards[i], 'gctrace', { service: p.service, instance: p.instance, process_start: String(ps) }, gc.join('\n') + '\n');
      assert.equal(Number(j.source_id), 1, 'the first source of each shard: id 1 on both');
      const [id, parent, name, st, dur] = p.span;
      await postJsonOk(shards[i], { resourceSpans: [{
        resource: { attributes: [{ key: 'service.name', value: { stringValue: p.service } }, { key: 'service.instance.id', value: { stringValue: p.instance } }] },
        scopeSpans: [{ spans: [{ traceId: TRACE, spanId: hex8(id), ...(parent ? { parentSpanId: hex8(parent) } : {}), name, kind: 2,
          startTimeUnixNano: String(t0 + BigInt(st) * MS), endTimeUnixNano: String(t0 + BigInt(st + dur) * MS) }] }] }] });
    }
    browser = await launch();
    page = await newPage(browser.context, front.base);
  });
  after(async () => {
    if (browser) await browser.close();
    for (const s of [front, ...shards]) if (s) await s.cleanup();
  });

  test('each source lane links to its own shard\'s source, and the source page reads that one', async () => {
    await page.goto(`${front.base}/trace/${TRACE}`);
    const links = page.locator('.lanes-box a.lane-link');
    await links.nth(1).waitFor({ timeout: 20000 });
    assert.equal(await links.count(), 2);
    for (const [i, p] of PROCS.entries()) {
      const link = page.locator(`.lanes-box a.lane-link[data-shard="${urls[i]}"]`);
      assert.equal(await link.getAttribute('data-source-id'), '1');
      assert.match(await link.textContent(), new RegExp(p.service));
      assert.equal(await link.getAttribute('href'), `/source/1?shard=${encodeURIComponent(urls[i])}`);
    }
    await shot(page, 'shards-trace');
    for (const [i, p] of [...PROCS.entries()].reverse()) {
      await page.goto(`${front.base}/trace/${TRACE}`);
      await page.locator(`.lanes-box a.lane-link[data-shard="${urls[i]}"]`).click();
      await page.waitForURL((u) => u.pathname === '/source/1' && u.searchParams.get('shard') === urls[i]);
      await page.waitForSelector('.source-page[data-state=ready]', { timeout: 20000 });
      const h1 = await page.textContent('.source-page h1');
      assert.match(h1, new RegExp(`^${p.service} · ${p.instance}`), `shard ${i}: ${h1}`);
      assert.match(h1, new RegExp(`source 1 on ${urls[i]}`));
    }
    assert.deepEqual(page.problems, []);
  });

  test('a service\'s sources on a front link to their shard; a shardless link offers the shards that have the id', async () => {
    await page.goto(`${front.base}/service/beta`);
    const link = page.locator('[data-role=sources] a[data-source-id="1"]');
    await link.waitFor({ timeout: 20000 });
    assert.equal(await link.getAttribute('data-shard'), urls[1]);
    await link.click();
    await page.waitForURL((u) => u.pathname === '/source/1' && u.searchParams.get('shard') === urls[1]);
    await page.waitForSelector('.source-page[data-state=ready]', { timeout: 20000 });
    assert.match(await page.textContent('.source-page h1'), /^beta · b-1/);
    // /source/1 with no shard: two processes have that id
    await page.goto(`${front.base}/source/1`);
    await page.waitForSelector('.source-page[data-state=choose]', { timeout: 20000 });
    const choices = page.locator('[data-role=shard-choice] a');
    assert.deepEqual(await choices.evaluateAll((as) => as.map((a) => a.dataset.shard)), urls);
    await choices.nth(0).click();
    await page.waitForSelector('.source-page[data-state=ready]', { timeout: 20000 });
    assert.match(await page.textContent('.source-page h1'), /^alpha · a-1/);
    assert.deepEqual(page.problems, []);
  });

  test('every server stops cleanly', async () => {
    await front.stop();
    for (const s of shards) await s.stop();
  });
});

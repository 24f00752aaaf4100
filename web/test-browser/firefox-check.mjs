// By hand, not in ctest: opens pages of a running meanwhiled in Debian's firefox-esr
// through WebDriver BiDi (no playwright build of Firefox needed), waits for each view to
// be ready, reports JavaScript errors and saves screenshots.
//   node --experimental-websocket web/test-browser/firefox-check.mjs http://127.0.0.1:PORT /path|ready-selector ...
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const [base, ...pages] = process.argv.slice(2);
const out = process.env.OUT || path.join(tmpdir(), 'mw-firefox');
mkdirSync(out, { recursive: true });
const profile = mkdtempSync(path.join(tmpdir(), 'mw-ff-'));
const port = 9222 + Math.floor(Math.random() * 500);
const ff = spawn(process.env.FIREFOX || '/usr/bin/firefox-esr', ['--headless', '--no-remote', '--profile', profile, `--remote-debugging-port=${port}`, '--width=1280', '--height=800'], { stdio: ['ignore', 'ignore', 'pipe'] });
await new Promise((res) => ff.stderr.on('data', (d) => { if (String(d).includes('WebDriver BiDi listening')) res(); }));
const ws = new WebSocket(`ws://127.0.0.1:${port}/session`);
await new Promise((res) => ws.addEventListener('open', res));
let id = 0;
const waiting = new Map();
const events = [];
ws.addEventListener('message', (m) => {
  const j = JSON.parse(m.data);
  if (j.id && waiting.has(j.id)) { waiting.get(j.id)(j); waiting.delete(j.id); } else if (j.method) events.push(j);
});
const send = (method, params) => new Promise((res, rej) => {
  const i = ++id;
  waiting.set(i, (j) => (j.error ? rej(new Error(`${method}: ${j.error} ${j.message}`)) : res(j.result)));
  ws.send(JSON.stringify({ id: i, method, params }));
});
await send('session.new', { capabilities: {} });
await send('session.subscribe', { events: ['log.entryAdded'] });
const { contexts } = await send('browsingContext.getTree', {});
const context = contexts[0].context;
await send('browsingContext.setViewport', { context, viewport: { width: 1280, height: 800 } });
const evalJs = async (expression) => (await send('script.evaluate', { expression, target: { context }, awaitPromise: true })).result;
let failed = 0;
for (const [i, spec] of pages.entries()) {
  const [p, ready] = spec.split('|');
  events.length = 0;
  await send('browsingContext.navigate', { context, url: base + p, wait: 'complete' });
  let ok = false;
  for (let k = 0; k < 100 && !ok; k++) {
    ok = (await evalJs(`!!document.querySelector(${JSON.stringify(ready)})`)).value;
    if (!ok) await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 300));
  const shot = await send('browsingContext.captureScreenshot', { context });
  const file = path.join(out, `firefox-${i}.png`);
  writeFileSync(file, Buffer.from(shot.data, 'base64'));
  const errors = events.filter((e) => e.params.level === 'error').map((e) => e.params.text);
  const perf = (await evalJs('JSON.stringify(window.__mwPerf || null)')).value;
  console.log(`${ok && !errors.length ? 'ok  ' : 'FAIL'} ${p} ready=${ok} errors=${JSON.stringify(errors)} perf=${perf} → ${file}`);
  if (!ok || errors.length) failed++;
}
ws.close();
ff.kill();
rmSync(profile, { recursive: true, force: true });
process.exit(failed ? 1 : 0);

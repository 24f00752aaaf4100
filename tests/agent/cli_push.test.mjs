// `meanwhile push`: the CLI sends a file through libmeanwhile, the agent's
// library: runtime data and spans (OTLP protobuf, and OTLP JSON one request a
// line as exporters' file outputs write it) reach meanwhiled, each answer
// printed as a line of JSON; a server that cannot be reached leaves the
// payload in --spool, and `push --flush` delivers it later.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, TEST_DATA } from '../integration/lib/server.mjs';
import { CLI, tempDir, freePort, getJson, collected, cleanup } from './lib/agent.mjs';

const fixture = (...p) => path.join(TEST_DATA, ...p);
let mw, dir;

before(async () => {
  mw = await startServer();
  dir = tempDir('mw-push-');
});
after(async () => {
  if (mw) await mw.stop();
  cleanup(dir);
});

/** The spans of OTLP JSON requests (one a line), by service: counted from the file. */
function spansByService(text) {
  const by = new Map();
  for (const line of text.split('\n').filter((l) => l.trim())) {
    for (const rs of JSON.parse(line).resourceSpans) {
      const svc = rs.resource.attributes.find((a) => a.key === 'service.name').value.stringValue;
      const n = rs.scopeSpans.reduce((k, ss) => k + ss.spans.length, 0);
      by.set(svc, (by.get(svc) ?? 0) + n);
    }
  }
  return by;
}

async function spanCount(service) {
  const { services } = await getJson(mw, '/api/v1/services');
  return services.find((s) => s.name === service)?.span_count ?? 0;
}

function cli(args, env = {}) {
  const r = spawnSync(CLI, args, { env: { ...process.env, MEANWHILE_URL: '', ...env }, timeout: 60000 });
  return { status: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

test('push runtime data: a goroutine dump and a stamped gctrace with its parameters', async () => {
  let r = cli(['push', 'goroutine', fixture('go1.19-checkout', 'goroutines-debug2-1795334476463613272.txt'),
    '--service', 'pushsvc', '--instance', 'p-1', '--time', '1795334476463613272', '--url', mw.base]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /"accepted"/);
  r = cli(['push', 'gctrace', fixture('go1.19-checkout', 'runtime-stderr.log'), '--service', 'pushsvc', '--instance', 'p-1',
    '--process-start', '1795334474425568025', '--encoding', 'gzip'], { MEANWHILE_URL: mw.base });
  assert.equal(r.status, 0, r.stderr);
  const { sources } = await getJson(mw, '/api/v1/sources');
  const s = sources.find((x) => x.service === 'pushsvc');
  assert.equal(s.instance, 'p-1');
  const data = await collected(mw, s.id);
  assert.equal(data.snapshots.length, 1);
  assert.equal(data.snapshots[0].format, 'debug=2');
  assert.equal(data.snapshots[0].time_ns, 1795334476463613272);
  assert.equal(data.gc.length, 59);
});

test('push spans: an OTLP protobuf request; the protobuf answer is printed as a line of JSON', async () => {
  const r = cli(['push', 'spans', fixture('otel-js', 'otlp-js-pb-0.bin'), '--url', mw.base]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\{[^\n]*\}\n$/, `one line of JSON: ${JSON.stringify(r.stdout)}`);
  assert.equal(typeof JSON.parse(r.stdout), 'object');
  const { services } = await getJson(mw, '/api/v1/services');
  assert.ok(services.length >= 1, JSON.stringify(services));
});

test('push spans: OTLP JSON, one request a line, each sent on its own and answered on a line', async () => {
  const file = fixture('go1.19-checkout', 'spans.otlp.jsonl');
  const text = readFileSync(file, 'utf8');
  const requests = text.split('\n').filter((l) => l.trim()).length;
  const want = spansByService(text);
  assert.ok(requests > 1 && want.get('checkout') > 1000, `${requests} requests, ${want.get('checkout')} spans`);
  let r = cli(['push', 'spans', file, '--url', mw.base]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.equal(lines.pop(), '', 'the last answer ends with a newline');
  assert.equal(lines.length, requests, 'an answer per request');
  for (const l of lines) assert.equal(typeof JSON.parse(l), 'object', l);
  assert.equal(await spanCount('checkout'), want.get('checkout'), 'every span of the file is stored');

  // the OTel JS exporter's JSON body: one request, no newline at its end
  const js = fixture('otel-js', 'otlp-js-json-1.bin');
  const jsWant = spansByService(readFileSync(js, 'utf8'));
  r = cli(['push', 'spans', js, '--url', mw.base]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\{[^\n]*\}\n$/);
  assert.equal(jsWant.size, 1);
  for (const [svc, n] of jsWant) assert.equal(await spanCount(svc), n, svc);
});

test('push spans: a refused JSON line is told by its line and the others still go; a cut file sends nothing', async () => {
  const good = (svc) => JSON.stringify({ resourceSpans: [{
    resource: { attributes: [{ key: 'service.name', value: { stringValue: svc } }] },
    scopeSpans: [{ spans: [{ traceId: randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex'),
      name: 'op', kind: 2, startTimeUnixNano: String(Date.now() * 1e6), endTimeUnixNano: String(Date.now() * 1e6 + 1e6) }] }],
  }] });
  const file = path.join(dir, 'mixed.jsonl');
  writeFileSync(file, `${good('json-a')}\n{"resourceSpans": 5}\n\n${good('json-b')}\n`);
  let r = cli(['push', 'spans', file, '--url', mw.base]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /mixed\.jsonl:2: refused with HTTP 400: .*resourceSpans/);
  assert.equal(r.stdout.split('\n').filter(Boolean).length, 2);
  assert.equal(await spanCount('json-a'), 1);
  assert.equal(await spanCount('json-b'), 1);

  const cut = path.join(dir, 'cut.jsonl');
  writeFileSync(cut, `${good('json-cut')}\n${good('json-cut').slice(0, 40)}`);
  r = cli(['push', 'spans', cut, '--url', mw.base]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /cut\.jsonl:2: this JSON object does not end/);
  assert.equal(r.stdout, '');
  assert.equal(await spanCount('json-cut'), 0, 'nothing of a file that is cut is sent');
});

test('unreachable: exit 2, or kept in --spool and delivered by --flush', async () => {
  const dead = `http://127.0.0.1:${await freePort()}`;
  const file = fixture('go1.19-checkout', 'heap-1795334482813101392.pb.gz');
  let r = cli(['push', 'heap', file, '--service', 'spoolsvc', '--url', dead]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /cannot reach meanwhiled/);
  const spool = path.join(dir, 'spool');
  r = cli(['push', 'heap', file, '--service', 'spoolsvc', '--url', dead, '--spool', spool]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /kept in .*push --flush/);
  r = cli(['push', '--flush', '--spool', spool, '--url', dead]);
  assert.equal(r.status, 2);
  assert.match(r.stdout, /left in the spool 1/);
  r = cli(['push', '--flush', '--spool', spool, '--url', mw.base]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /delivered 1, rejected 0, left in the spool 0/);
  const { sources } = await getJson(mw, '/api/v1/sources');
  const s = sources.find((x) => x.service === 'spoolsvc');
  const data = await collected(mw, s.id);
  assert.equal(data.snapshots.length, 1);
  assert.equal(data.snapshots[0].kind, 'heap');
});

test('refused: exit 1 with the server\'s message; bad usage: exit 64', () => {
  let r = cli(['push', 'gctrace', fixture('go1.19-checkout', 'meta.json'), '--service', 's', '--url', mw.base]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /refused with HTTP 400: .*no gctrace or schedtrace line/);
  r = cli(['push', 'nosuchkind', fixture('go1.19-checkout', 'meta.json'), '--service', 's', '--url', mw.base]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /HTTP 404/);
  assert.equal(cli(['push', 'heap', '/no/such/file', '--service', 's', '--url', mw.base]).status, 1);
  assert.equal(cli(['push', 'heap', 'x', '--url', mw.base], { OTEL_SERVICE_NAME: '' }).status, 64);
  assert.equal(cli(['push', 'heap']).status, 64);
  assert.equal(cli(['push', 'heap', 'x', '--service', 's', '--time', 'soon']).status, 64);
  assert.equal(cli(['push', '--flush']).status, 64);
  r = cli(['help', 'push']);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /--process-start NS/);
});

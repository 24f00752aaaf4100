// `meanwhile push`: the CLI sends a file through libmeanwhile, the agent's
// library: runtime data and spans reach meanwhiled; a server that cannot be
// reached leaves the payload in --spool, and `push --flush` delivers it later.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
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
  if (mw) await mw.cleanup();
  cleanup(dir);
});

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

test('push spans: an OTLP protobuf request', async () => {
  const r = cli(['push', 'spans', fixture('otel-js', 'otlp-js-pb-0.bin'), '--url', mw.base]);
  assert.equal(r.status, 0, r.stderr);
  const { services } = await getJson(mw, '/api/v1/services');
  assert.ok(services.length >= 1, JSON.stringify(services));
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

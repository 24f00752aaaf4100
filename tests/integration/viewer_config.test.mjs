// --grafana-url and --grafana-datasource-uid (and their MEANWHILE_* variables): in
// --help, checked at start (a URL that is not http(s), a uid Grafana would not have,
// one without the other: exit 2 with a message naming the option), and what the viewer
// reads of them at GET /api/v1/viewer-config: {"grafana":{"url","datasource_uid"}} or
// {"grafana":null}; unknown parameters 400; behind the query tokens like every query.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { MEANWHILED, startServer, request } from './lib/server.mjs';

const run = (args, env = {}) => {
  const e = { ...process.env, ...env };
  for (const k of ['MEANWHILE_GRAFANA_URL', 'MEANWHILE_GRAFANA_DATASOURCE_UID']) if (!(k in env)) delete e[k];
  return spawnSync(MEANWHILED, ['--listen', '127.0.0.1:0', '--data', '/nonexistent/never-created', ...args], { env: e, timeout: 30000 });
};

async function viewerConfig(srv, path = '/api/v1/viewer-config', headers = {}) {
  const r = await request(srv, 'GET', path, { headers });
  return { status: r.status, type: r.headers['content-type'], body: r.body.toString() };
}

test('the options are in --help with their variables', () => {
  const help = spawnSync(MEANWHILED, ['--help'], { encoding: 'utf8', timeout: 10000 }).stdout;
  assert.match(help, /--grafana-url [\s\S]*?\(MEANWHILE_GRAFANA_URL, default \)/);
  assert.match(help, /--grafana-datasource-uid [\s\S]*?\(MEANWHILE_GRAFANA_DATASOURCE_UID, default \)/);
});

test('bad values stop meanwhiled at start, naming the option', () => {
  for (const [args, env, re] of [
    [['--grafana-url', 'ftp://grafana.example.com', '--grafana-datasource-uid', 'x'], {}, /invalid value "ftp:\/\/grafana\.example\.com" for --grafana-url/],
    [['--grafana-url', 'grafana.example.com', '--grafana-datasource-uid', 'x'], {}, /invalid value "grafana\.example\.com" for --grafana-url/],
    [['--grafana-url', 'http://', '--grafana-datasource-uid', 'x'], {}, /for --grafana-url/],
    [['--grafana-url', 'https:///explore', '--grafana-datasource-uid', 'x'], {}, /for --grafana-url/],
    [['--grafana-url', 'http://g.example.com/?orgId=1', '--grafana-datasource-uid', 'x'], {}, /for --grafana-url/],
    [['--grafana-url', 'http://g.example.com/#x', '--grafana-datasource-uid', 'x'], {}, /for --grafana-url/],
    [['--grafana-url', 'http://admin:secret@g.example.com', '--grafana-datasource-uid', 'x'], {}, /for --grafana-url/],
    [['--grafana-url', 'http://g.example.com/a b', '--grafana-datasource-uid', 'x'], {}, /for --grafana-url/],
    [['--grafana-url', 'http://g.example.com', '--grafana-datasource-uid', 'has space'], {}, /invalid value "has space" for --grafana-datasource-uid/],
    [['--grafana-url', 'http://g.example.com', '--grafana-datasource-uid', 'a'.repeat(41)], {}, /for --grafana-datasource-uid/],
    [['--grafana-url', 'http://g.example.com', '--grafana-datasource-uid', 'x"y'], {}, /for --grafana-datasource-uid/],
    [['--grafana-url', 'http://g.example.com'], {}, /--grafana-url and --grafana-datasource-uid go together/],
    [['--grafana-datasource-uid', 'tempo'], {}, /--grafana-url and --grafana-datasource-uid go together/],
    [[], { MEANWHILE_GRAFANA_URL: 'javascript:alert(1)', MEANWHILE_GRAFANA_DATASOURCE_UID: 'x' }, /for --grafana-url .* from MEANWHILE_GRAFANA_URL/],
    [[], { MEANWHILE_GRAFANA_URL: 'http://g.example.com', MEANWHILE_GRAFANA_DATASOURCE_UID: 'ü' }, /for --grafana-datasource-uid .* from MEANWHILE_GRAFANA_DATASOURCE_UID/],
    [[], { MEANWHILE_GRAFANA_URL: 'http://g.example.com' }, /go together/],
  ]) {
    const r = run(args, env);
    assert.equal(r.status, 2, `${JSON.stringify(args)} ${JSON.stringify(env)}: exit ${r.status}, ${r.stderr}`);
    assert.match(r.stderr.toString(), re, `${JSON.stringify(args)} ${JSON.stringify(env)}`);
    assert.match(r.stderr.toString(), /^meanwhiled: /);
  }
});

test('not configured: {"grafana":null}; unknown parameters are refused', async () => {
  const s = await startServer();
  try {
    const r = await viewerConfig(s);
    assert.equal(r.status, 200, r.body);
    assert.match(r.type, /^application\/json/);
    assert.deepEqual(JSON.parse(r.body), { grafana: null });
    const bad = await viewerConfig(s, '/api/v1/viewer-config?grafana=1');
    assert.equal(bad.status, 400);
    assert.match(JSON.parse(bad.body).error, /unknown parameter "grafana"/);
    const post = await request(s, 'POST', '/api/v1/viewer-config', { body: Buffer.from('{}'), headers: { 'content-type': 'application/json' } });
    assert.equal(post.status, 405);
    await s.stop();
  } finally { await s.cleanup(); }
});

test('by flags: the URL and uid as given', async () => {
  const s = await startServer({ args: ['--grafana-url', 'https://grafana.example.com/sub/', '--grafana-datasource-uid', 'Mw-tempo_1'] });
  try {
    const r = await viewerConfig(s);
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(JSON.parse(r.body), { grafana: { url: 'https://grafana.example.com/sub/', datasource_uid: 'Mw-tempo_1' } });
    await s.stop();
  } finally { await s.cleanup(); }
});

test('by environment, a flag over its variable; behind the query tokens', async () => {
  const s = await startServer({
    args: ['--grafana-datasource-uid', 'from-flag'],
    env: { MEANWHILE_GRAFANA_URL: 'HTTP://grafana.internal:3000', MEANWHILE_GRAFANA_DATASOURCE_UID: 'from-env', MEANWHILE_QUERY_TOKENS: 'q-token' },
  });
  try {
    assert.equal((await viewerConfig(s)).status, 401);
    assert.equal((await viewerConfig(s, undefined, { authorization: 'Bearer wrong' })).status, 403);
    const r = await viewerConfig(s, undefined, { authorization: 'Bearer q-token' });
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(JSON.parse(r.body), { grafana: { url: 'HTTP://grafana.internal:3000', datasource_uid: 'from-flag' } });
    // the page itself stays open (it holds no data)
    assert.equal((await request(s, 'GET', '/trace/00000000000000000000000000000001')).status, 200);
    await s.stop();
  } finally { await s.cleanup(); }
});

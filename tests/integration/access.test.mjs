// Access control, TLS and CORS: tokens for ingest and for queries (files and
// environment), 401 without a token, 403 with a wrong one, /healthz always
// open, HTTPS with a certificate made here, CORS only for the configured origin.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { startServer, request, readData } from './lib/server.mjs';

const dir = mkdtempSync(path.join(os.tmpdir(), 'mw-access-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const tokenFile = path.join(dir, 'ingest.tokens');
writeFileSync(tokenFile, '# ingest tokens\n\ningest-one\n  ingest-two  \n');

const spans = readData('otel-js', 'otlp-js-json-1.bin');
const json = { 'content-type': 'application/json' };
const bearer = (t) => ({ authorization: `Bearer ${t}` });

test('tokens: 401 without, 403 wrong, 200 right, on each side; /healthz and the viewer stay open', async () => {
  const s = await startServer({ args: ['--ingest-token-file', tokenFile], env: { MEANWHILE_QUERY_TOKENS: 'q-one,q-two' } });
  try {
    let r = await request(s, 'POST', '/v1/traces', { body: spans, headers: json });
    assert.equal(r.status, 401);
    assert.match(r.headers['www-authenticate'] || '', /^Bearer/);
    assert.match(r.body.toString(), /ingest token/);
    r = await request(s, 'POST', '/v1/traces', { body: spans, headers: { ...json, ...bearer('q-one') } });
    assert.equal(r.status, 403, 'a query token does not open ingest');
    r = await request(s, 'POST', '/v1/traces', { body: spans, headers: { ...json, ...bearer('ingest-two') } });
    assert.equal(r.status, 200, r.body.toString());
    r = await request(s, 'POST', '/api/v1/ingest/gctrace?service=x', { body: Buffer.from('gc 1 @0.1s 0%: 0.1+0.2+0.3 ms clock, 0.1+0.1/0.1/0.1+0.1 ms cpu, 4->4->2 MB, 5 MB goal, 0 MB stacks, 0 MB globals, 2 P\n') });
    assert.equal(r.status, 401, 'runtime ingest needs a token too');

    r = await request(s, 'GET', '/api/v1/services');
    assert.equal(r.status, 401);
    r = await request(s, 'GET', '/api/v1/services', { headers: bearer('ingest-one') });
    assert.equal(r.status, 403, 'an ingest token does not open queries');
    r = await request(s, 'GET', '/api/v1/services', { headers: bearer('q-two') });
    assert.equal(r.status, 200);
    assert.ok(JSON.parse(r.body).services.length > 0);
    r = await request(s, 'GET', '/metrics');
    assert.equal(r.status, 401, '/metrics is behind the query tokens');
    r = await request(s, 'GET', '/healthz');
    assert.equal(r.status, 200);
    r = await request(s, 'GET', '/');
    assert.equal(r.status, 200, 'the viewer page holds no data');
    // a prefix of a token is not the token
    r = await request(s, 'GET', '/api/v1/services', { headers: bearer('q-on') });
    assert.equal(r.status, 403);
  } finally {
    await s.stop();
  }
});

test('tokens never come from the command line; a missing token file stops the start', async () => {
  const help = execFileSync(process.env.MEANWHILED, ['--help']).toString();
  assert.match(help, /--ingest-token-file/);
  assert.doesNotMatch(help, /--ingest-tokens\b/);
  await assert.rejects(startServer({ args: ['--query-token-file', path.join(dir, 'nope')] }));
});

test('listening beyond loopback without tokens warns at start', async () => {
  // spawned by hand: the harness expects a loopback address
  const proc = spawn(process.env.MEANWHILED, ['--listen', '0.0.0.0:0', '--data', path.join(dir, 'wide')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no listening line: ${err}`)), 10000);
    proc.stderr.on('data', (d) => {
      err += d;
      if (/msg="started"/.test(err)) { clearTimeout(t); resolve(); }
    });
  });
  proc.kill('SIGTERM');
  const code = await new Promise((resolve) => proc.on('exit', resolve));
  assert.equal(code, 0);
  assert.match(err, /level=warn msg="listening beyond loopback without tokens/);
});

test('TLS: HTTPS with --tls-cert/--tls-key', async () => {
  const key = path.join(dir, 'key.pem'), cert = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
    '-days', '2', '-subj', '/CN=localhost'], { stdio: 'ignore' });
  const s = await startServer({ args: ['--tls-cert', cert, '--tls-key', key] });
  try {
    assert.match(s.stderr, /tls=on/);
    const status = await new Promise((resolve, reject) => {
      https.get({ host: '127.0.0.1', port: s.port, path: '/healthz', rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(res.statusCode);
      }).on('error', reject);
    });
    assert.equal(status, 200);
    // plain HTTP to a TLS port gets no HTTP answer
    await assert.rejects(request(s, 'GET', '/healthz', { timeoutMs: 3000 }));
  } finally {
    await s.stop();
  }
});

test('CORS: no headers unless configured; only the configured origin, preflight answered', async () => {
  let s = await startServer();
  try {
    const r = await request(s, 'GET', '/api/v1/services', { headers: { origin: 'https://ui.example' } });
    assert.equal(r.headers['access-control-allow-origin'], undefined);
  } finally {
    await s.stop();
  }
  s = await startServer({ args: ['--cors-origin', 'https://ui.example'] });
  try {
    let r = await request(s, 'GET', '/api/v1/services', { headers: { origin: 'https://ui.example' } });
    assert.equal(r.headers['access-control-allow-origin'], 'https://ui.example');
    r = await request(s, 'GET', '/api/v1/services', { headers: { origin: 'https://evil.example' } });
    assert.equal(r.headers['access-control-allow-origin'], undefined);
    r = await request(s, 'OPTIONS', '/api/v1/services', { headers: { origin: 'https://ui.example', 'access-control-request-method': 'GET' } });
    assert.equal(r.status, 204);
    assert.match(r.headers['access-control-allow-headers'], /Authorization/);
    r = await request(s, 'OPTIONS', '/api/v1/services', { headers: { origin: 'https://evil.example' } });
    assert.equal(r.status, 403);
  } finally {
    await s.stop();
  }
});

// Start/stop meanwhiled for black-box tests, and small HTTP helpers.
//
// Environment (set by ctest): MEANWHILED = server binary, MW_TEST_DATA = tests/data,
// MW_BUILD_DIR = build directory.

import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';

export const MEANWHILED = process.env.MEANWHILED;
export const TEST_DATA = process.env.MW_TEST_DATA || path.resolve(process.cwd(), '..', 'data');

if (!MEANWHILED) {
  throw new Error('MEANWHILED is not set: run through ctest, or set MEANWHILED=/path/to/meanwhiled');
}

export const dataFile = (...p) => path.join(TEST_DATA, ...p);
export const readData = (...p) => readFileSync(dataFile(...p));

// under valgrind (MW_SLOW) everything takes several times longer
const SLOW = process.env.MW_SLOW ? 6 : 1;
const STARTUP_TIMEOUT_MS = 10000 * SLOW;
const STOP_TIMEOUT_MS = 15000 * SLOW;

/** Fresh temporary data directory (removed by cleanup()). */
export function freshDataDir() {
  return mkdtempSync(path.join(tmpdir(), 'mw-it-'));
}

export class Server {
  /**
   * allowLog: regexes of warn/error lines (or negative figures) this server is
   * expected to log; every other such line fails stop(). See checkLog().
   */
  constructor({ dataDir, args = [], env = {}, keepDataDir = false, useEnv = false, allowLog = [] } = {}) {
    this.useEnv = useEnv;
    this.allowed = [...allowLog];
    this.ownsDataDir = !dataDir;
    this.dataDir = dataDir || freshDataDir();
    this.args = args;
    this.env = env;
    this.keepDataDir = keepDataDir;
    this.stderr = '';
    this.proc = null;
    this.port = 0;
    this.exit = null; // {code, signal} once exited
  }

  get base() { return `http://127.0.0.1:${this.port}`; }
  url(p) { return this.base + p; }

  /** Declares log lines (regexes) that this test provokes on purpose. */
  allowLog(...res) { this.allowed.push(...res); return this; }

  /**
   * What the server said must make sense: no warn or error line and no
   * negative figure (like `wal_pages=-1`) that the test did not declare with
   * allowLog(). Returns the offending lines.
   */
  unexpectedLog() {
    const bad = [];
    for (const line of this.stderr.split('\n')) {
      if (!line) continue;
      const alarming = /\blevel=(warn|error)\b/.test(line) || /\s[a-z_]+=-\d/.test(line) ||
        // anything not in our log format (a sanitizer report, a stray printf); valgrind's
        // own lines are judged by valgrind (--error-exitcode)
        (!/\blevel=(debug|info)\b/.test(line) && !(process.env.MW_SLOW && /^==\d+==/.test(line)));
      if (alarming && !this.allowed.some((re) => re.test(line))) bad.push(line);
    }
    return bad;
  }

  /** Asserts unexpectedLog() is empty. */
  checkLog() {
    const bad = this.unexpectedLog();
    assert.deepEqual(bad, [], `meanwhiled logged what this test did not expect:\n${bad.slice(0, 20).join('\n')}`);
  }

  /** Last part of stderr, for assertion messages. */
  log(n = 4000) { return this.stderr.length > n ? '...' + this.stderr.slice(-n) : this.stderr; }

  async start() {
    this.stderr = '';
    this.exit = null;
    this.port = 0;
    // useEnv: configure through MEANWHILE_LISTEN / MEANWHILE_DATA / MEANWHILE_LOG_LEVEL instead of flags
    const argv = this.useEnv ? [...this.args]
      : ['--listen', '127.0.0.1:0', '--data', this.dataDir, '--log-level', 'debug',
        // recorded data has fixed dates: keep it, and query it, whatever day
        // the tests run (the limits themselves are tested with their own servers)
        '--retention', '0', '--max-query-range', '0', ...this.args];
    const env = { ...process.env, ...this.env };
    for (const k of ['MEANWHILE_LISTEN', 'MEANWHILE_DATA', 'MEANWHILE_LOG_LEVEL']) if (!(k in this.env)) delete env[k];
    if (this.useEnv) Object.assign(env, { MEANWHILE_LISTEN: '127.0.0.1:0', MEANWHILE_DATA: this.dataDir, MEANWHILE_LOG_LEVEL: 'debug',
      MEANWHILE_RETENTION: env.MEANWHILE_RETENTION || '0', MEANWHILE_MAX_QUERY_RANGE: env.MEANWHILE_MAX_QUERY_RANGE || '0' });
    const proc = spawn(MEANWHILED, argv, {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    this.exited = new Promise((resolve) => {
      proc.on('exit', (code, signal) => { this.exit = { code, signal }; resolve(this.exit); });
    });
    proc.stdout.on('data', () => {});
    this.port = await new Promise((resolve, reject) => {
      let buf = '';
      const timer = setTimeout(() => {
        reject(new Error(`meanwhiled did not log msg="listening" within ${STARTUP_TIMEOUT_MS} ms; stderr:\n${this.log()}`));
      }, STARTUP_TIMEOUT_MS);
      proc.stderr.on('data', (d) => {
        const s = d.toString();
        this.stderr += s;
        if (process.env.MW_IT_VERBOSE) process.stderr.write(s);
        if (this.port) return;
        buf += s;
        for (const line of buf.split('\n')) {
          if (line.includes('msg="listening"') || line.includes('msg=listening')) {
            const m = /addr=(?:"?)127\.0\.0\.1:(\d+)/.exec(line);
            if (m && Number(m[1]) > 0) { clearTimeout(timer); resolve(Number(m[1])); return; }
          }
        }
      });
      proc.on('error', (e) => { clearTimeout(timer); reject(e); });
      proc.on('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`meanwhiled exited (code ${code}, signal ${signal}) before listening; stderr:\n${this.log()}`));
      });
    });
    return this;
  }

  /** Send a signal and wait for exit; asserts exit code 0 (unless expectCode given). */
  async stop({ signal = 'SIGTERM', expectCode = 0, timeoutMs = STOP_TIMEOUT_MS } = {}) {
    if (!this.proc || this.exit) {
      if (this.exit) assert.equal(this.exit.code, expectCode, `meanwhiled had already exited: ${JSON.stringify(this.exit)}\n${this.log()}`);
      return this.exit;
    }
    this.proc.kill(signal);
    let timer;
    const res = await Promise.race([
      this.exited,
      new Promise((resolve) => { timer = setTimeout(() => resolve(null), timeoutMs); }),
    ]);
    clearTimeout(timer);
    if (!res) {
      this.proc.kill('SIGKILL');
      await this.exited;
      assert.fail(`meanwhiled did not exit within ${timeoutMs} ms after ${signal}; stderr:\n${this.log()}`);
    }
    assert.equal(res.signal, null, `meanwhiled was killed by signal ${res.signal} after ${signal}; stderr:\n${this.log()}`);
    assert.equal(res.code, expectCode, `meanwhiled exit code after ${signal}; stderr:\n${this.log()}`);
    if (expectCode === 0 && (signal === 'SIGTERM' || signal === 'SIGINT')) {
      assert.match(this.stderr, /msg="stopped"/, `no "stopped" line after ${signal}; stderr:\n${this.log()}`);
      this.checkLog();
    }
    return res;
  }

  /** Stop (SIGTERM, exit 0) and start again on the same data directory. */
  async restart() {
    await this.stop();
    return this.start();
  }

  /** Kill without assertions (used in after() hooks) and remove the data dir. */
  async cleanup() {
    if (this.proc && !this.exit) {
      this.proc.kill('SIGKILL');
      await this.exited;
    }
    if (this.ownsDataDir && !this.keepDataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Start a server in a fresh data dir on port 0. */
export async function startServer(opts = {}) {
  const s = new Server(opts);
  try {
    await s.start();
  } catch (e) {
    await s.cleanup();
    throw e;
  }
  return s;
}

// ---------------------------------------------------------------- compression

export const gzip = (b) => zlib.gzipSync(b);
/** HTTP "deflate" = zlib format (RFC 1950), as the reference collector decodes it. */
export const deflate = (b) => zlib.deflateSync(b);
export function zstd(b) {
  return execFileSync('zstd', ['-q', '-c', '-3'], { input: b, maxBuffer: 1 << 30 });
}
export function compress(enc, b) {
  if (!enc || enc === 'identity') return Buffer.from(b);
  if (enc === 'gzip') return gzip(b);
  if (enc === 'deflate') return deflate(b);
  if (enc === 'zstd') return zstd(b);
  throw new Error(`unknown encoding ${enc}`);
}

// ---------------------------------------------------------------- HTTP

/**
 * Low-level request with node:http (no automatic headers beyond Host/Connection).
 * chunked=true sends the body with Transfer-Encoding: chunked and no Content-Length
 * (in several chunks), as the OTel JS exporters do.
 * Resolves {status, headers, body: Buffer, ms}; rejects on connection errors.
 */
export function request(server, method, p, { body = null, headers = {}, chunked = false, chunkSize = 4096, timeoutMs = 30000 * SLOW } = {}) {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const h = { ...headers };
    if (body !== null && !chunked) h['content-length'] = String(body.length);
    let gotResponse = false;
    const req = http.request({
      host: '127.0.0.1', port: server.port, method, path: p, headers: h, agent: false,
    }, (res) => {
      gotResponse = true;
      const parts = [];
      const done = () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(parts), ms: performance.now() - t0 });
      res.on('data', (d) => parts.push(d));
      res.on('end', done);
      // the server may close early (e.g. after a 413 without reading the whole body):
      // a complete status line + headers already is an answer
      res.on('error', done);
      res.on('aborted', done);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${p}: no answer within ${timeoutMs} ms`)));
    req.on('error', (e) => { if (!gotResponse) reject(e); });
    if (body !== null && chunked) {
      for (let i = 0; i < body.length; i += chunkSize) req.write(body.subarray(i, i + chunkSize));
      if (body.length === 0) req.write(Buffer.alloc(0));
    } else if (body !== null) {
      req.write(body);
    }
    req.end();
  });
}

/** POST /v1/traces with the given content type (and optional encoding). */
export function postTraces(server, body, { contentType = 'application/json', encoding = null, chunked = false, headers = {} } = {}) {
  const h = { 'content-type': contentType, ...headers };
  if (encoding) h['content-encoding'] = encoding;
  const b = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return request(server, 'POST', '/v1/traces', { body: b, headers: h, chunked });
}

/** POST an OTLP/JSON object; asserts 200 with a full-success JSON body. Returns the response. */
export async function postJsonOk(server, obj, opts = {}) {
  const r = await postTraces(server, Buffer.from(JSON.stringify(obj)), { contentType: 'application/json', ...opts });
  assert.equal(r.status, 200, `POST /v1/traces: status ${r.status}, body ${r.body.toString().slice(0, 300)}\n${server.log(1500)}`);
  const j = JSON.parse(r.body.toString() || '{}');
  const ps = j.partialSuccess;
  assert.ok(!ps || (!Number(ps.rejectedSpans || 0) && !ps.errorMessage), `unexpected partialSuccess ${JSON.stringify(ps)}`);
  return r;
}

export async function get(server, p) {
  return request(server, 'GET', p);
}

/** GET and parse JSON; asserts the status (default 200) and a JSON content type. */
export async function getJson(server, p, expectStatus = 200) {
  const r = await request(server, 'GET', p);
  assert.equal(r.status, expectStatus, `GET ${p}: status ${r.status}, body ${r.body.toString().slice(0, 300)}`);
  assert.match(String(r.headers['content-type'] || ''), /^application\/json/, `GET ${p}: content-type ${r.headers['content-type']}`);
  let j;
  try { j = JSON.parse(r.body.toString()); } catch (e) { assert.fail(`GET ${p}: body is not JSON: ${r.body.toString().slice(0, 300)}`); }
  return j;
}

/** Run async fn over items with at most `limit` in flight; returns results in order. */
export async function mapLimit(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

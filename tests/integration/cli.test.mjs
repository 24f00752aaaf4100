// The `meanwhile` CLI against a real meanwhiled: the Go 1.19 "checkout" fixture's spans
// (tests/data/go1.19-checkout/spans.otlp.jsonl), then its runtime data (gctrace, the CPU
// profile, the goroutine profiles). Checks exit codes and the key lines of `slow` and
// `explain`, `--json` (the server's bytes unchanged), errors (unknown trace, no server,
// HTTP errors, bad usage) and where the server URL comes from.
//
// The binary: $MEANWHILE_CLI, else $MW_BUILD_DIR/client/cli/meanwhile (set by ctest).
// Every command run and its output are appended to $MW_BUILD_DIR/cli-transcript.txt,
// a record of what the CLI really prints.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, readData, postTraces, request, get, mapLimit } from './lib/server.mjs';

const BUILD_DIR = process.env.MW_BUILD_DIR;
const CLI = process.env.MEANWHILE_CLI || (BUILD_DIR && path.join(BUILD_DIR, 'client', 'cli', 'meanwhile'));
if (!CLI || !existsSync(CLI)) {
  throw new Error(`the meanwhile CLI is not at ${CLI}: build it, and set MW_BUILD_DIR (or MEANWHILE_CLI)`);
}
const TRANSCRIPT = BUILD_DIR ? path.join(BUILD_DIR, 'cli-transcript.txt') : null;
if (TRANSCRIPT) writeFileSync(TRANSCRIPT, '');

// ------------------------------------------------------------------ the fixture

const FIXTURE = 'go1.19-checkout';
const LINES = readData(FIXTURE, 'spans.otlp.jsonl').toString('utf8').split('\n').filter((l) => l.trim());
const SPANS = LINES.flatMap((l) => JSON.parse(l).resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)));
const META = JSON.parse(readData(FIXTURE, 'meta.json').toString('utf8'));
const dur = (s) => BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano);
const spansOf = (tid) => SPANS.filter((s) => s.traceId === tid);
const rootOf = (tid) => spansOf(tid).find((s) => !s.parentSpanId);
const LAST_START_S = Number(SPANS.reduce((m, s) => (BigInt(s.startTimeUnixNano) > m ? BigInt(s.startTimeUnixNano) : m), 0n) / 1000000000n);
const FIRST_START_S = Number(SPANS.reduce((m, s) => (BigInt(s.startTimeUnixNano) < m ? BigInt(s.startTimeUnixNano) : m), BigInt(Number.MAX_SAFE_INTEGER) * 1000000000n) / 1000000000n);

/** What GET /api/search answers: traces with a matching span, by that span's duration, slowest first. */
function expectSearch({ name = null, minNs = 0n, limit = 20 } = {}) {
  const best = new Map();
  for (const s of SPANS) {
    if (name && s.name !== name) continue;
    const d = dur(s);
    if (d < minNs) continue;
    if (!best.has(s.traceId) || best.get(s.traceId) < d) best.set(s.traceId, d);
  }
  return [...best.entries()].sort((a, b) => (a[1] > b[1] ? -1 : a[1] < b[1] ? 1 : 0)).slice(0, limit).map(([t]) => t);
}

/** The CLI's duration format in the millisecond range. */
const fmtMs = (ns) => `${(Number(ns) / 1e6).toFixed(1)} ms`;
/** RFC 3339 with milliseconds, as the CLI prints start times. */
const rfc3339 = (ns) => new Date(Number(BigInt(ns) / 1000000n)).toISOString();

// ------------------------------------------------------------------ running the CLI

/** Runs the CLI; resolves {code, stdout, stderr}. MEANWHILE_URL and NO_COLOR come from env only. */
function cli(args, { env = {} } = {}) {
  const e = { ...process.env, ...env };
  if (!('MEANWHILE_URL' in env)) delete e.MEANWHILE_URL;
  return new Promise((resolve) => {
    execFile(CLI, args, { env: e, maxBuffer: 64 << 20, timeout: 60000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : `signal ${err.signal}`) : 0;
      if (TRANSCRIPT) {
        const q = (a) => (a === '' || /[\s'"]/.test(a) ? `'${a}'` : a);
        const vars = Object.entries(env).map(([k, v]) => `${k}=${q(v)} `).join('');
        const nl = (t) => (t && !t.endsWith('\n') ? `${t}\n` : t);
        appendFileSync(TRANSCRIPT, `$ ${vars}meanwhile ${args.map(q).join(' ')}\n${nl(stdout)}${stderr ? `[stderr] ${nl(stderr)}` : ''}[exit ${code}]\n\n`);
      }
      resolve({ code, stdout, stderr });
    });
  });
}

/** Asserts the exit code, with the output in the message. */
function expectCode(r, code, what) {
  assert.equal(r.code, code, `${what}: exit ${r.code} (want ${code})\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
}

const lines = (s) => s.split('\n').filter((l) => l !== '');
/** The line starting with prefix, or fails. */
function lineStarting(text, prefix, what) {
  const l = text.split('\n').find((x) => x.startsWith(prefix));
  assert.ok(l !== undefined, `${what}: no line starts with ${JSON.stringify(prefix)} in:\n${text}`);
  return l;
}
/** The span table of an explanation: from the SPAN header to the first blank line. */
function tableOf(out) {
  const from = out.indexOf('\nSPAN ');
  assert.ok(from >= 0, `no span table in:\n${out}`);
  return out.slice(from + 1, out.indexOf('\n\n', from + 1) >= 0 ? out.indexOf('\n\n', from + 1) : undefined);
}
/** The causes section, or ''. */
const causesOf = (out) => (out.includes('\nCAUSES\n') ? out.slice(out.indexOf('\nCAUSES\n')) : '');

// ------------------------------------------------------------------ the server

let srv;
before(async () => {
  srv = await startServer();
  const results = await mapLimit(LINES, 4, (l) => postTraces(srv, Buffer.from(l), { contentType: 'application/json' }));
  for (const [i, r] of results.entries()) assert.equal(r.status, 200, `line ${i + 1}: ${r.status} ${r.body.toString().slice(0, 200)}`);
});
after(async () => { if (srv) await srv.cleanup(); });

const url = () => ['--url', srv.base];
const SINCE = ['--since', '100000h'];

describe('spans only', () => {
  test('the fixture is within --since 100000h of now', () => {
    const nowS = Date.now() / 1000;
    assert.ok(nowS - 100000 * 3600 < FIRST_START_S,
      `the clock (${new Date().toISOString()}) is more than 100000h after the fixture (${rfc3339(BigInt(FIRST_START_S) * 1000000000n)})`);
  });

  test('slow lists the 20 slowest traces, one per line: id, root service and name, start, duration', async () => {
    const r = await cli(['slow', '--service', 'checkout', ...SINCE, ...url()]);
    expectCode(r, 0, 'slow');
    assert.equal(r.stderr, '');
    const want = expectSearch();
    const got = lines(r.stdout);
    assert.equal(got.length, 20, `20 lines (the default limit):\n${r.stdout}`);
    assert.deepEqual(got.map((l) => l.slice(0, 32)), want, 'trace ids, slowest first');
    for (const [i, l] of got.entries()) {
      const root = rootOf(want[i]);
      const f = l.split(/ {2,}/);
      assert.equal(f.length, 4, `4 columns: ${l}`);
      assert.equal(f[0], want[i]);
      assert.equal(f[1], `checkout ${root.name}`);
      assert.equal(f[2], rfc3339(root.startTimeUnixNano));
      assert.equal(f[3], fmtMs(dur(root)));
    }
    assert.equal(got[0].split(/ {2,}/)[3], '152.5 ms', 'the slowest trace of the fixture');
  });

  test('slow --since reaches back only as far as asked', async (t) => {
    if (Date.now() / 1000 < LAST_START_S + 120) return t.skip('the clock is not past the fixture');
    const r = await cli(['slow', '--service', 'checkout', '--since', '1m', ...url()]);
    expectCode(r, 0, 'slow --since 1m');
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /no trace of service 'checkout' in the last 1m/);
  });

  test('slow --name --min --limit', async () => {
    const r = await cli(['slow', '--service', 'checkout', '--name', 'db.query', '--min', '2ms', '--limit', '5', ...SINCE, ...url()]);
    expectCode(r, 0, 'slow --name');
    assert.deepEqual(lines(r.stdout).map((l) => l.slice(0, 32)), expectSearch({ name: 'db.query', minNs: 2000000n, limit: 5 }));
  });

  test('slow --json prints the search answer', async () => {
    const r = await cli(['slow', '--service', 'checkout', '--limit', '3', '--json', ...SINCE, ...url()]);
    expectCode(r, 0, 'slow --json');
    const j = JSON.parse(r.stdout);
    assert.deepEqual(j.traces.map((t) => t.traceID), expectSearch({ limit: 3 }));
    assert.deepEqual(Object.keys(j.traces[0]).sort(), ['durationMs', 'matchedSpanDurationMs', 'rootServiceName', 'rootTraceName', 'startTimeUnixNano', 'traceID']);
  });

  test('slow for a service without traces: empty output, a note on stderr, exit 0', async () => {
    const r = await cli(['slow', '--service', 'nosuch', ...SINCE, ...url()]);
    expectCode(r, 0, 'slow nosuch');
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /no trace of service 'nosuch'/);
  });

  test('explain: summary, span tree and the unknown causes', async () => {
    const tid = expectSearch()[0];
    const root = rootOf(tid);
    const r = await cli(['explain', tid, ...url()]);
    expectCode(r, 0, 'explain');
    assert.equal(r.stderr, '');
    const out = r.stdout;
    assert.match(lineStarting(out, `trace ${tid}`, 'header'), /152\.5 ms {2}3 spans {2}started 2026-11-22T08:01:14\.936Z/);
    assert.match(out, new RegExp(`^${root.name} \\(checkout\\) took 152\\.5 ms`, 'm'), 'the summary');
    const table = tableOf(out);
    const rootRow = lineStarting(table, `${root.name} `, 'root row');
    assert.match(rootRow, /152\.5 ms/);
    assert.match(rootRow, /children 100%/);
    const kids = spansOf(tid).filter((s) => s.parentSpanId === root.spanId);
    assert.equal(kids.length, 2);
    for (const k of kids) {
      const row = lineStarting(table, `  ${k.name} `, `child ${k.name}`);
      assert.match(row, new RegExp(fmtMs(dur(k)).replace('.', '\\.')));
      assert.match(row, /unknown 100%/, 'no runtime data yet');
    }
    const causes = causesOf(out);
    assert.ok(causes, `a causes section:\n${out}`);
    assert.doesNotMatch(causes, new RegExp(`^${root.name} \\(`, 'm'), 'the root\'s time is in its children: no block');
    assert.match(causes, /^ {2}unknown +100% {2}confidence 0\.00 {2}\(this span\)$/m);
    assert.match(causes, /^ {4}- why: no goroutine snapshot fell inside this span/m);
  });

  test('explain --json prints the server\'s answer unchanged', async () => {
    const tid = expectSearch()[0];
    const r = await cli(['explain', tid, '--json', ...url()]);
    expectCode(r, 0, 'explain --json');
    const direct = await get(srv, `/api/v1/traces/${tid}/explain`);
    assert.equal(direct.status, 200);
    assert.equal(r.stdout, direct.body.toString('utf8'), 'byte for byte');
    const j = JSON.parse(r.stdout);
    assert.equal(j.trace_id, tid);
    assert.equal(j.spans.length, 3);
  });

  test('explain accepts upper-case ids and options before the id', async () => {
    const tid = expectSearch()[0];
    const r = await cli(['explain', ...url(), tid.toUpperCase()]);
    expectCode(r, 0, 'explain upper-case');
    assert.match(r.stdout, new RegExp(`^trace ${tid}`));
  });

  test('an unknown trace: exit 1, "not found"', async () => {
    const r = await cli(['explain', '0123456789abcdef0123456789abcdef', ...url()]);
    expectCode(r, 1, 'unknown trace');
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /trace 0123456789abcdef0123456789abcdef not found \(HTTP 404\)/);
  });

  test('an HTTP error prints the server\'s message: exit 1', async () => {
    const r = await cli(['slow', '--service', 'checkout', '--url', `${srv.base}/no/such/prefix`]);
    expectCode(r, 1, 'HTTP error');
    assert.match(r.stderr, /^meanwhile: .+ \(HTTP 404\)$/m);
  });

  test('no server: exit 2, "cannot reach meanwhiled at URL"', async () => {
    const r = await cli(['explain', '0123456789abcdef0123456789abcdef', '--url', 'http://127.0.0.1:1']);
    expectCode(r, 2, 'no server');
    assert.match(r.stderr, /^meanwhile: cannot reach meanwhiled at http:\/\/127\.0\.0\.1:1: .+/m);
  });

  test('the URL: --url, else MEANWHILE_URL, else http://127.0.0.1:4318', async () => {
    const tid = expectSearch()[0];
    let r = await cli(['slow', '--service', 'checkout', '--limit', '1', ...SINCE], { env: { MEANWHILE_URL: `${srv.base}/` } });
    expectCode(r, 0, 'MEANWHILE_URL');
    assert.equal(r.stdout.slice(0, 32), tid);
    r = await cli(['slow', '--service', 'checkout', '--limit', '1', ...SINCE, ...url()], { env: { MEANWHILE_URL: 'http://127.0.0.1:1' } });
    expectCode(r, 0, '--url over MEANWHILE_URL');
    r = await cli(['explain', tid], { env: { MEANWHILE_URL: 'http://127.0.0.1:1' } });
    expectCode(r, 2, 'MEANWHILE_URL of no server');
    assert.match(r.stderr, /cannot reach meanwhiled at http:\/\/127\.0\.0\.1:1:/);
  });

  test('without --url or MEANWHILE_URL: http://127.0.0.1:4318', async (t) => {
    // a listener of this test's own on the default port sees where the CLI goes; when
    // something else holds the port, there is nothing to judge by
    const seen = [];
    const dflt = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":"not here"}');
    });
    const bound = await new Promise((resolve) => {
      dflt.once('error', () => resolve(false));
      dflt.listen(4318, '127.0.0.1', () => resolve(true));
    });
    if (!bound) return t.skip('127.0.0.1:4318 is in use: where the CLI goes by default cannot be observed');
    try {
      const tid = expectSearch()[0];
      const r = await cli(['explain', tid], { env: { MEANWHILE_URL: '' } });
      assert.deepEqual(seen, [`GET /api/v1/traces/${tid}/explain`], 'the request reached the default URL');
      expectCode(r, 1, 'the answer of the default URL: 404');
    } finally {
      await new Promise((resolve) => dflt.close(resolve));
    }
  });

  test('bad usage exits 64 and says what was wrong', async () => {
    const cases = [
      [[], /Usage: meanwhile <command>/],
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['explain'], /explain: needs a trace id/],
      [['explain', 'not-a-trace'], /32 hex digits, not 'not-a-trace'/],
      [['explain', '0123456789abcdef0123456789abcdef', 'extra'], /unexpected argument 'extra'/],
      [['explain', '0123456789abcdef0123456789abcdef', '--frob'], /unknown option '--frob'/],
      [['explain', '0123456789abcdef0123456789abcdef', '--url'], /option '--url' needs a value/],
      [['explain', '0123456789abcdef0123456789abcdef', '--url', 'ftp://x'], /must start with http/],
      [['slow'], /slow: needs --service/],
      [['slow', '--service', 'checkout', '--since', 'yesterday'], /--since takes a duration/],
      [['slow', '--service', 'checkout', '--min', '-5ms'], /--min takes a duration/],
      [['slow', '--service', 'checkout', '--limit', '0'], /--limit must be 1 to 1000/],
      [['slow', '--service', 'checkout', '--limit', '1001'], /--limit must be 1 to 1000/],
    ];
    for (const [args, re] of cases) {
      const r = await cli(args);
      expectCode(r, 64, `meanwhile ${args.join(' ')}`);
      assert.equal(r.stdout, '', `meanwhile ${args.join(' ')}: nothing on stdout`);
      assert.match(r.stderr, re, `meanwhile ${args.join(' ')}`);
    }
  });

  test('--help and --version', async () => {
    for (const args of [['--help'], ['help'], ['explain', '--help'], ['slow', '--help'], ['help', 'slow']]) {
      const r = await cli(args);
      expectCode(r, 0, args.join(' '));
      assert.match(r.stdout, /^Usage: meanwhile /, args.join(' '));
    }
    assert.match((await cli(['explain', '-h'])).stdout, /GET \/api\/v1\/traces\/\{id\}\/explain/);
    assert.match((await cli(['slow', '--help'])).stdout, /--since D/);
    const v = await cli(['--version']);
    expectCode(v, 0, '--version');
    assert.match(v.stdout, /^meanwhile \d+\.\d+\.\d+ \(libcurl /);
  });
});

// ------------------------------------------------------------------ with runtime data

/** POST /api/v1/ingest/{kind}; asserts 200. */
async function ingest(kind, params, body) {
  const qs = new URLSearchParams({ service: 'checkout', ...params }).toString();
  const r = await request(srv, 'POST', `/api/v1/ingest/${kind}?${qs}`, { body });
  assert.equal(r.status, 200, `ingest ${kind}: ${r.status} ${r.body.toString().slice(0, 300)}`);
  return JSON.parse(r.body.toString());
}

describe('with the runtime data of the same run', () => {
  before(async () => {
    await ingest('gctrace', { process_start: String(META.launch_unix_ns) }, readData(FIXTURE, 'runtime-stderr.log'));
    await ingest('cpu', {}, readData(FIXTURE, 'cpu-1795334476463713030.pb.gz'));
    for (const t of ['1795334476627154535', '1795334477649478339', '1795334478682450666',
      '1795334479711323629', '1795334480735876085', '1795334481761474001']) {
      await ingest('goroutine', {}, readData(FIXTURE, `goroutines-${t}.pb.gz`));
    }
  });

  // The CPU profile has 4 samples (40 ms) labelled with span c839a1cccd8f95af, the
  // price.compute of trace 5490912e167791b3960c747fa391b169, all in main.spin.
  test('explain: a span on CPU, with its samples and stack', async () => {
    const tid = '5490912e167791b3960c747fa391b169';
    const r = await cli(['explain', tid, ...url()]);
    expectCode(r, 0, 'explain cpu');
    assert.match(r.stdout, /^GET \/checkout \(checkout\) took 42\.2 ms; 95% of it was in price\.compute \(checkout, 40\.0 ms\), which was\non CPU/m);
    assert.match(lineStarting(tableOf(r.stdout), '  price.compute ', 'price.compute row'), /CCCCCCCCCC {2}cpu 100%$/);
    const causes = causesOf(r.stdout);
    lineStarting(causes, 'price.compute (checkout)  40.0 ms, self 40.0 ms  span c839a1cccd8f95af', 'cause block');
    assert.match(causes, /^ {2}cpu +100% {2}confidence 0\.\d\d {2}\(this span\)$/m);
    assert.match(causes, /^ {4}- 4 CPU samples, 40\.0 ms on CPU$/m);
    assert.match(causes, /^ {8}main\.spin \(example\.com\/shop\/checkout\/main\.go:60\)$/m);
    assert.match(causes, /^ {4}- CPU profile snapshot \d+ at 2026-11-22T08:01:\d\d\.\d{3}Z, /m);
  });

  // A goroutine profile caught span fd6c84e96fa9fbfe (db.query of trace
  // c696cf097dbf72184ca01833b9a43963) asleep in time.Sleep.
  test('explain: a span caught by a goroutine snapshot, with its stack', async () => {
    const tid = 'c696cf097dbf72184ca01833b9a43963';
    const r = await cli(['explain', tid, ...url()]);
    expectCode(r, 0, 'explain sleep');
    assert.match(lineStarting(tableOf(r.stdout), '  db.query ', 'db.query row'), /sleep 100%$/);
    const causes = causesOf(r.stdout);
    assert.match(causes, /^ {2}sleep +100% {2}confidence 0\.\d\d {2}\(this span\)$/m);
    assert.match(causes, /^ {4}sleeping for 4\.0 ms at time\.Sleep in main\.handle\.func1\.1 \(example\.com\/shop\/checkout\/main\.go:78\)$/m);
    assert.match(causes, /^ {4}- goroutine snapshot \d+ at 2026-11-22T08:01:19\.\d{3}Z: 1 goroutine in state sleep$/m);
    assert.match(causes, /^ {8}time\.Sleep \(runtime\/time\.go:195\)$/m);
    assert.match(causes, /^ {4}- 1 goroutine snapshot; in this state in 100% of them$/m);
  });
});

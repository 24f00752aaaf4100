#!/usr/bin/env node
// bench/peers: meanwhiled, Jaeger v2 (Badger on disk) and the OpenTelemetry
// Collector with no storage take the same OTLP/HTTP load from the same loader
// (bench-corpus-send posting a bench-corpus-gen corpus), one server at a time,
// each in a fresh data dir; the figures of every server are printed with their
// ratio to meanwhiled's in the same round. See README.md.
//
// Every figure is one `name value` line on stdout; progress and a table go to
// stderr. Exit 0 only if every server acknowledged every span, every sampled
// trace came back whole from the servers that store, and every server stopped
// cleanly.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const JAEGER_MODULE = 'github.com/jaegertracing/jaeger';
const JAEGER_VERSION = 'v1.75.0';
// The Collector is the one the sharding tests build (tests/collector: ocb v0.148.0,
// the OTLP receiver, the nop, OTLP/HTTP and loadbalancing exporters); its build
// script caches the binary by manifest and Go version.
const COLLECTOR_BUILD = path.resolve(HERE, '..', '..', 'tests', 'collector', 'build.sh');
const MIN_GO = [1, 24]; // jaeger v1.75.0's go.mod says go 1.24.6; ocb v0.148.0's 1.25.0

const USAGE = `usage: peers.mjs --meanwhiled BIN --corpus-send BIN (--corpus FILE | --corpus-gen BIN) [options]
  --build-dir DIR      where the Go builds are kept (bin/jaeger-${JAEGER_VERSION}; the Collector by
                       tests/collector/build.sh into DIR/collector); built on the first run, reused after
                       (default: ./peers-build)
  --otelcol BIN        a Collector already built by tests/collector/build.sh (else it is built)
  --collector-dir DIR  where tests/collector/build.sh keeps the Collector (default: BUILD-DIR/collector)
  --go GO              the go command (default: $GO, else /usr/local/go/bin/go, else go on PATH)
  --go-jobs N          go build -p N (default 2)
  --spans N            spans to send (default 1000000; whole batches of the corpus file)
  --corpus-seed N      seed when the corpus is generated (default 1)
  --servers LIST       comma-separated, in order: meanwhiled, meanwhiled-full, jaeger, otelcol
                       (default meanwhiled,jaeger,otelcol; meanwhiled-full is --sync full)
  --rounds N           rounds (default 1); even rounds run the servers in reverse order
  --conns N            loader connections (default 8)
  --queries N          trace-by-id lookups per server after the load (default 1000)
  --work DIR           where data dirs and logs go (default: a new dir under $TMPDIR)
  --keep               keep the work dir
  --build-only         build (or find) the Go binaries and stop
  --smoke              20,000 spans, 2 connections, 20 lookups: checks, not speed`;

// ---------------------------------------------------------------- arguments
function parseArgs(argv) {
  const o = {
    meanwhiled: null, otelcol: null, collectorDir: null, corpusSend: null, corpus: null, corpusGen: null, buildDir: path.resolve('peers-build'),
    go: process.env.GO || (fs.existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : 'go'), goJobs: 2,
    spans: 1_000_000, corpusSeed: 1, servers: ['meanwhiled', 'jaeger', 'otelcol'], rounds: 1, conns: 8,
    queries: 1000, work: null, keep: false, buildOnly: false, smoke: false,
  };
  const val = (i) => {
    if (i + 1 >= argv.length) die(`${argv[i]} needs a value\n${USAGE}`);
    return argv[i + 1];
  };
  const int = (i) => {
    const v = Number(val(i));
    if (!Number.isInteger(v) || v < 1) die(`${argv[i]}: a positive integer, please (got ${argv[i + 1]})`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--meanwhiled': o.meanwhiled = path.resolve(val(i)); i++; break;
      case '--otelcol': o.otelcol = path.resolve(val(i)); i++; break;
      case '--collector-dir': o.collectorDir = path.resolve(val(i)); i++; break;
      case '--corpus-send': o.corpusSend = path.resolve(val(i)); i++; break;
      case '--corpus': o.corpus = path.resolve(val(i)); i++; break;
      case '--corpus-gen': o.corpusGen = path.resolve(val(i)); i++; break;
      case '--build-dir': o.buildDir = path.resolve(val(i)); i++; break;
      case '--go': o.go = val(i); i++; break;
      case '--go-jobs': o.goJobs = int(i); i++; break;
      case '--spans': o.spans = int(i); i++; break;
      case '--corpus-seed': o.corpusSeed = int(i); i++; break;
      case '--servers': o.servers = val(i).split(',').filter(Boolean); i++; break;
      case '--rounds': o.rounds = int(i); i++; break;
      case '--conns': o.conns = int(i); i++; break;
      case '--queries': o.queries = int(i); i++; break;
      case '--work': o.work = path.resolve(val(i)); i++; break;
      case '--keep': o.keep = true; break;
      case '--build-only': o.buildOnly = true; break;
      case '--smoke': o.smoke = true; break;
      case '-h': case '--help': process.stdout.write(USAGE + '\n'); process.exit(0);
      default: die(`unknown argument ${a}\n${USAGE}`);
    }
  }
  if (o.smoke) Object.assign(o, { spans: 20_000, conns: 2, queries: 20, rounds: 1 });
  for (const s of o.servers) if (!SERVERS[s]) die(`--servers: unknown server ${s} (meanwhiled, meanwhiled-full, jaeger, otelcol)`);
  if (!o.servers.includes('meanwhiled')) die('--servers must include meanwhiled: every ratio is against it');
  if (!o.buildOnly) {
    if (!o.meanwhiled || !o.corpusSend) die(`--meanwhiled and --corpus-send, please\n${USAGE}`);
    if (!o.corpus && !o.corpusGen) die(`--corpus FILE or --corpus-gen BIN, please\n${USAGE}`);
  }
  return o;
}

function die(msg) {
  process.stderr.write(`peers: ${msg}\n`);
  process.exit(2);
}
const log = (msg) => process.stderr.write(`peers: ${msg}\n`);
const figure = (name, v) => process.stdout.write(`${name} ${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(3) : v}\n`);

// ---------------------------------------------------------------- the Go builds
function goEnv(o) {
  const env = { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0', GOFLAGS: `-buildvcs=false -p=${o.goJobs}` };
  // The machine's Go first, so that a Debian golang-go on PATH does not shadow it (ocb calls "go").
  env.PATH = `${path.dirname(o.goPath)}:${process.env.PATH || ''}`;
  if (!env.HOME) Object.assign(env, { GOPATH: path.join(o.buildDir, 'gopath'), GOCACHE: path.join(o.buildDir, 'gocache') });
  return env;
}

function checkGo(o) {
  let out;
  try {
    o.goPath = execFileSync('sh', ['-c', 'command -v "$1"', 'sh', o.go], { encoding: 'utf8' }).trim();
    out = execFileSync(o.goPath, ['version'], { encoding: 'utf8', env: { ...process.env, GOTOOLCHAIN: 'local' } }).trim();
  } catch {
    die(`cannot run the go command ${o.go} (give --go or GO)`);
  }
  const m = /go(\d+)\.(\d+)/.exec(out);
  if (!m || +m[1] < MIN_GO[0] || (+m[1] === MIN_GO[0] && +m[2] < MIN_GO[1]))
    die(`${o.goPath}: ${out}; Jaeger ${JAEGER_VERSION} needs Go ≥ ${MIN_GO.join('.')} (give --go /usr/local/go/bin/go)`);
  o.goVersion = out;
}

function run(cmd, args, opts) {
  execFileSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...opts });
}

// Builds what is missing; returns { jaeger, otelcol } paths. Jaeger is written
// under a temporary name and renamed once complete, so that a build cut short is
// never taken for a cached one; tests/collector/build.sh does the same by its stamp.
function ensureBuilds(o, need) {
  const bin = path.join(o.buildDir, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  const paths = { jaeger: path.join(bin, `jaeger-${JAEGER_VERSION}`), otelcol: o.otelcol };
  if (need.includes('otelcol') && o.otelcol && !fs.existsSync(o.otelcol)) die(`--otelcol ${o.otelcol}: no such file`);
  const missing = need.filter((k) => !paths[k] || !fs.existsSync(paths[k]));
  for (const k of need) if (!missing.includes(k)) { log(`${k}: cached ${paths[k]}`); figure(`build.${k}_cached`, 1); }
  if (!missing.length) return paths;
  checkGo(o);
  const env = goEnv(o);
  log(`building ${missing.join(' and ')} with ${o.goPath} (${o.goVersion}), -p ${o.goJobs}, into ${o.buildDir}`);
  if (missing.includes('jaeger')) {
    const t0 = Date.now();
    // The module as the proxy serves it, built where the go command unpacked it
    // (read-only; the output goes to the build dir). Its go.mod has a replace
    // directive, so `go install …@version` would refuse it.
    const dl = JSON.parse(execFileSync(o.goPath, ['mod', 'download', '-json', `${JAEGER_MODULE}@${JAEGER_VERSION}`], { env, encoding: 'utf8' }));
    if (dl.Error || !dl.Dir) die(`go mod download ${JAEGER_MODULE}@${JAEGER_VERSION}: ${dl.Error || 'no Dir'}`);
    const tmp = `${paths.jaeger}.tmp`;
    run(o.goPath, ['build', '-mod=readonly', '-trimpath', '-o', tmp, './cmd/jaeger'], { cwd: dl.Dir, env });
    fs.renameSync(tmp, paths.jaeger);
    const s = (Date.now() - t0) / 1000;
    log(`jaeger: built in ${s.toFixed(0)} s`);
    figure('build.jaeger_s', s);
  }
  if (missing.includes('otelcol')) {
    const t0 = Date.now();
    const out = execFileSync(COLLECTOR_BUILD, [o.goPath, o.collectorDir || path.join(o.buildDir, 'collector')],
      { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n');
    paths.otelcol = out[out.length - 1];
    const s = (Date.now() - t0) / 1000;
    log(`otelcol: ${paths.otelcol} in ${s.toFixed(0)} s`);
    figure('build.otelcol_s', s);
  }
  return paths;
}

// ---------------------------------------------------------------- the corpus
// Reads the corpus file's records ([u32 len][u32 spans][ExportTraceServiceRequest])
// up to `limit` spans the way bench-corpus-send does (whole batches, stop once
// the count is reached), and counts the spans of every trace in them.
function readVarint(b, p) {
  let v = 0, mul = 1, c;
  do {
    c = b[p.i++];
    v += (c & 0x7f) * mul;
    mul *= 128;
  } while (c & 0x80);
  return v;
}
function skipField(b, p, wt) {
  if (wt === 0) readVarint(b, p);
  else if (wt === 1) p.i += 8;
  else if (wt === 2) { const n = readVarint(b, p); p.i += n; }
  else if (wt === 5) p.i += 4;
  else throw new Error(`corpus: wire type ${wt} at ${p.i}`);
}
// Calls fn(start, end) for every length-delimited field `field` in b[start, end).
function eachField(b, start, end, field, fn) {
  const p = { i: start };
  while (p.i < end) {
    const key = readVarint(b, p), f = Math.floor(key / 8), wt = key & 7;
    if (wt === 2 && f === field) {
      const n = readVarint(b, p);
      fn(p.i, p.i + n);
      p.i += n;
    } else skipField(b, p, wt);
  }
}
function corpusTraces(file, limit) {
  const b = fs.readFileSync(file);
  const counts = new Map();
  let off = 0, spans = 0, batches = 0;
  while (off + 8 <= b.length && spans < limit) {
    const len = b.readUInt32LE(off), ns = b.readUInt32LE(off + 4), s = off + 8, e = s + len;
    if (e > b.length) die(`${file}: truncated record at ${off}`);
    let seen = 0;
    // ExportTraceServiceRequest.resource_spans(1) → ResourceSpans.scope_spans(2) → ScopeSpans.spans(2) → Span.trace_id(1)
    eachField(b, s, e, 1, (rs, re) => eachField(b, rs, re, 2, (ss, se) => eachField(b, ss, se, 2, (ps, pe) => {
      let id = null;
      eachField(b, ps, pe, 1, (ts, te) => { id = b.toString('hex', ts, te); });
      if (!id || id.length !== 32) throw new Error(`corpus: a span without a 16-byte trace id in record at ${off}`);
      counts.set(id, (counts.get(id) || 0) + 1);
      seen++;
    })));
    if (seen !== ns) die(`${file}: record at ${off} says ${ns} spans, holds ${seen}`);
    spans += ns;
    batches++;
    off = e;
  }
  return { counts, spans, batches, bytes: b.length };
}

// A deterministic sample of n trace ids (xorshift, seed fixed): every server gets the same ids.
function sampleIds(counts, n) {
  const ids = [...counts.keys()].sort();
  let x = 0x9e3779b9;
  const out = [];
  for (let k = 0; k < Math.min(n, ids.length); k++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    const j = k + (x % (ids.length - k));
    [ids[k], ids[j]] = [ids[j], ids[k]];
    out.push(ids[k]);
  }
  return out;
}

// ---------------------------------------------------------------- processes
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
function cpuSeconds(pid) {
  const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime, stime: all threads
}
function procStatus(pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => { const m = new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s); return m ? Number(m[1]) * 1024 : 0; };
  return { hwm: kb('VmHWM'), rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
}
async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => { const p = srv.address().port; srv.close(() => resolve(p)); });
  });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function request(agent, method, url, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers: { ...headers, ...(body ? { 'Content-Length': body.length } : {}) } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(60_000, () => req.destroy(new Error(`timeout: ${method} ${url}`)));
    if (body) req.write(body);
    req.end();
  });
}

// Ready when an empty ExportTraceServiceRequest (zero bytes) posted to
// /v1/traces is answered (anything but 5xx: the receiver is up), and the
// query URL (if any) answers 200.
async function waitReady(srv, child, timeoutMs) {
  const t0 = Date.now();
  const agent = new http.Agent({ keepAlive: false });
  while (Date.now() - t0 < timeoutMs) {
    if (child.exitCode !== null || child.pid === undefined) throw new Error(`${srv.name} exited (${child.exitCode}) while starting: see ${srv.logPath}`);
    if (!srv.otlp && srv.findOtlp) srv.otlp = srv.findOtlp();
    try {
      if (srv.otlp) {
        const r = await request(agent, 'POST', `${srv.otlp}/v1/traces`, Buffer.alloc(0), { 'Content-Type': 'application/x-protobuf' });
        const up = r.status >= 200 && r.status < 500; // any answer but "unavailable"
        const q = up && srv.readyUrl ? await request(agent, 'GET', srv.readyUrl()) : { status: 200 };
        if (up && q.status === 200) return (Date.now() - t0) / 1000;
      }
    } catch { /* not yet */ }
    await sleep(100);
  }
  throw new Error(`${srv.name} not ready within ${timeoutMs / 1000} s: see ${srv.logPath}`);
}

// ---------------------------------------------------------------- the servers
// Each: how to start it in dataDir; otlp (base URL) known at once or found in
// its log; traceUrl(id) for the servers that store (one or more APIs).
const SERVERS = {
  meanwhiled: { sync: 'normal' },
  'meanwhiled-full': { sync: 'full' },
  jaeger: {},
  otelcol: {},
};

async function prepare(name, o, bins, dataDir, logPath) {
  if (name.startsWith('meanwhiled')) {
    const s = {
      name, logPath, cmd: o.meanwhiled,
      args: ['--listen', '127.0.0.1:0', '--data', dataDir, '--sync', SERVERS[name].sync, '--retention', '0'],
      env: process.env,
      // The server's own log line: msg="listening" addr=127.0.0.1:PORT
      findOtlp: () => {
        const m = /msg="?listening"? addr=(\S+)/.exec(fs.existsSync(logPath) ? fs.readFileSync(logPath, 'utf8') : '');
        return m ? `http://${m[1]}` : null;
      },
      apis: { otlp_json: (id) => `/api/traces/${id}` },
    };
    return s;
  }
  if (name === 'jaeger') {
    const [otlp, q, qg] = [await freePort(), await freePort(), await freePort()];
    return {
      name, logPath, cmd: bins.jaeger, args: ['--config', path.join(HERE, 'jaeger-badger.yaml')],
      env: { ...process.env, MW_PEERS_DATA: dataDir, MW_PEERS_OTLP_PORT: String(otlp), MW_PEERS_QUERY_PORT: String(q), MW_PEERS_QUERY_GRPC_PORT: String(qg) },
      otlp: `http://127.0.0.1:${otlp}`, query: `http://127.0.0.1:${q}`,
      readyUrl: () => `http://127.0.0.1:${q}/api/services`,
      // v1: the UI's JSON (Jaeger's model); v3: OTLP JSON (api_v3's HTTP gateway)
      apis: { v1: (id) => `/api/traces/${id}`, v3: (id) => `/api/v3/traces/${id}` },
    };
  }
  if (name === 'otelcol') {
    const otlp = await freePort();
    return {
      name, logPath, cmd: bins.otelcol, args: ['--config', path.join(HERE, 'otelcol-nop.yaml')],
      env: { ...process.env, MW_PEERS_OTLP_PORT: String(otlp) }, otlp: `http://127.0.0.1:${otlp}`, apis: {},
    };
  }
  throw new Error(name);
}

// Counts the spans of a trace answer whatever its shape: every array under a
// key "spans" (Jaeger v1: data[].spans; OTLP JSON: …scopeSpans[].spans).
function countSpans(v) {
  if (Array.isArray(v)) return v.reduce((n, x) => n + countSpans(x), 0);
  if (!v || typeof v !== 'object') return 0;
  let n = 0;
  for (const [k, x] of Object.entries(v)) n += k === 'spans' && Array.isArray(x) ? x.length : countSpans(x);
  return n;
}

function pct(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function dirBytes(dir) {
  let alloc = 0, apparent = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) { const d = dirBytes(p); alloc += d.alloc; apparent += d.apparent; }
    else { const st = fs.statSync(p); alloc += st.blocks * 512; apparent += st.size; }
  }
  return { alloc, apparent };
}

// One server, one round: start, load, drain, look up, stop, measure.
async function runServer(name, o, bins, corpus, ids, round) {
  const tag = `${name}-r${round}`;
  const dataDir = path.join(o.work, tag);
  fs.mkdirSync(dataDir, { recursive: true });
  const logPath = path.join(o.work, `${tag}.log`);
  const srv = await prepare(name, o, bins, dataDir, logPath);
  const logFd = fs.openSync(logPath, 'w');
  const child = spawn(srv.cmd, srv.args, { env: srv.env, stdio: ['ignore', logFd, logFd] });
  fs.closeSync(logFd);
  const exited = new Promise((r) => {
    child.on('exit', (code, sig) => r({ code, sig }));
    child.on('error', (e) => { log(`${tag}: cannot start ${srv.cmd}: ${e.message}`); r({ code: -1, sig: null }); });
  });
  const r = { name, ok: true, problems: [] };
  try {
    r.start_s = await waitReady(srv, child, o.smoke ? 60_000 : 120_000);
    log(`${tag}: ready in ${r.start_s.toFixed(1)} s at ${srv.otlp}`);
    const pid = child.pid;
    let peakRss = 0, peakAnon = 0;
    const sampler = setInterval(() => {
      try { const s = procStatus(pid); peakRss = Math.max(peakRss, s.rss); peakAnon = Math.max(peakAnon, s.anon); } catch { /* gone */ }
    }, 100);

    // The load: bench-corpus-send posts every batch once, in the file's order.
    const cpu0 = cpuSeconds(pid), t0 = performance.now();
    const out = await new Promise((resolve, reject) => {
      const p = spawn(o.corpusSend, ['--corpus', o.corpus, '--url', srv.otlp, '--pid', String(pid), '--conns', String(o.conns), '--spans', String(o.spans)],
        { stdio: ['ignore', 'pipe', 'inherit'] });
      let s = '';
      p.stdout.on('data', (c) => { s += c; });
      p.on('error', reject);
      p.on('exit', (code) => resolve({ code, s }));
    });
    const tLoad = performance.now();
    const sent = Object.fromEntries(out.s.trim().split('\n').map((l) => l.split(' ')).map(([k, v]) => [k, Number(v)]));
    r.spans_ok = sent.spans_ok;
    r.ack_spans_per_s = sent.spans_per_s;
    r.retries = sent.retries;
    if (out.code !== 0 || sent.spans_ok !== corpus.spans || sent.errors || sent.rejected)
      r.problems.push(`loader: exit ${out.code}, ${sent.spans_ok}/${corpus.spans} acknowledged, errors ${sent.errors}, rejected ${sent.rejected}`);

    // Drained: the server's CPU stays under 2% of a core for 2 s. A server
    // that acknowledges before it stores (Jaeger's batch processor) is still
    // writing when the loader ends; its spans/s and CPU count until then.
    const win = [];
    let quietAt = tLoad;
    const drainLimit = o.smoke ? 30_000 : 300_000;
    for (;;) {
      const now = performance.now(), c = cpuSeconds(pid);
      win.push([now, c]);
      while (win.length && now - win[0][0] > 2000) win.shift();
      if (now - tLoad >= 2000 && win.length > 1 && (c - win[0][1]) / ((now - win[0][0]) / 1000) < 0.02) { quietAt = win[0][0]; break; }
      if (now - tLoad > drainLimit) { r.problems.push(`still busy ${drainLimit / 1000} s after the load`); quietAt = now; break; }
      await sleep(100);
    }
    const cpu1 = cpuSeconds(pid);
    // The loader's own wall time: from its first request to its last answer
    // (reading the corpus file before that is not the server's time).
    r.load_s = Number.isFinite(sent.wall_s) ? sent.wall_s : (tLoad - t0) / 1000;
    r.drain_s = Math.max(0, (quietAt - tLoad) / 1000);
    r.spans_per_s = r.spans_ok / (r.load_s + r.drain_s);
    r.cpu_s = cpu1 - cpu0;
    r.cpu_s_per_m = (r.cpu_s * 1e6) / r.spans_ok;
    r.spans_per_cpu_s = r.spans_ok / r.cpu_s;
    const st = procStatus(pid);
    r.peak_rss_ingest = Math.max(st.hwm, peakRss);
    r.peak_anon_ingest = peakAnon;

    // Trace by id: the same sampled ids, one keep-alive connection, one at a time.
    for (const [api, urlOf] of Object.entries(srv.apis)) {
      const base = api === 'v1' || api === 'v3' ? srv.query : srv.otlp;
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const lat = [];
      let bad = 0, firstBad = '';
      const warm = Math.min(10, ids.length);
      for (let k = 0; k < warm + ids.length; k++) {
        const id = ids[k % ids.length];
        const t = performance.now();
        const res = await request(agent, 'GET', base + urlOf(id));
        const ms = performance.now() - t;
        if (k < warm) continue;
        lat.push(ms);
        let n = -1;
        if (res.status === 200) { try { n = countSpans(JSON.parse(res.body.toString('utf8'))); } catch { n = -2; } }
        if (n !== corpus.counts.get(id)) {
          bad++;
          if (!firstBad) firstBad = `${id}: HTTP ${res.status}, ${n} spans, corpus has ${corpus.counts.get(id)}: ${res.body.toString('utf8', 0, 200)}`;
        }
      }
      agent.destroy();
      lat.sort((a, b) => a - b);
      r[`q_${api}_p50_ms`] = pct(lat, 50);
      r[`q_${api}_p99_ms`] = pct(lat, 99);
      r[`q_${api}_max_ms`] = lat[lat.length - 1];
      r[`q_${api}_incomplete`] = bad;
      if (bad) r.problems.push(`trace by id (${api}): ${bad}/${ids.length} not answered whole, first: ${firstBad}`);
    }
    r.peak_rss = Math.max(procStatus(pid).hwm, peakRss);
    clearInterval(sampler);
  } catch (e) {
    r.problems.push(String(e && e.message ? e.message : e));
  }
  // Stop: SIGTERM, then the data dir is measured (Badger flushes its memtables
  // and SQLite checkpoints its WAL on a clean stop).
  if (child.exitCode === null) child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const { code, sig } = await exited;
  clearTimeout(killer);
  if (code !== 0) r.problems.push(`${name} exited ${code === null ? `on ${sig}` : code}: see ${logPath}`);
  const d = dirBytes(dataDir);
  r.disk_bytes = d.alloc;
  r.disk_apparent_bytes = d.apparent;
  r.disk_bytes_per_span = r.spans_ok ? d.alloc / r.spans_ok : NaN;
  r.ok = r.problems.length === 0;
  for (const p of r.problems) log(`${tag}: PROBLEM: ${p}`);
  return r;
}

// ---------------------------------------------------------------- main
const FIGS = [
  // name, better, unit
  ['spans_per_s', 'higher'], ['ack_spans_per_s', 'higher'], ['spans_per_cpu_s', 'higher'], ['cpu_s_per_m', 'lower'],
  ['peak_rss', 'lower'], ['peak_rss_ingest', 'lower'], ['peak_anon_ingest', 'lower'], ['disk_bytes_per_span', 'lower'],
  ['load_s'], ['drain_s'], ['start_s'], ['retries'], ['disk_bytes'], ['disk_apparent_bytes'],
];

function median(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return NaN;
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const need = [...new Set(o.servers.filter((s) => s === 'jaeger' || s === 'otelcol'))];
  if (o.buildOnly) need.splice(0, need.length, 'jaeger', 'otelcol');
  const bins = ensureBuilds(o, need);
  if (o.buildOnly) return 0;

  const ownWork = !o.work; // a --work DIR given is never removed
  o.work = o.work || fs.mkdtempSync(path.join(os.tmpdir(), 'mw-peers-'));
  fs.mkdirSync(o.work, { recursive: true });
  if (!o.corpus) {
    o.corpus = path.join(o.work, `corpus-${o.spans}-seed${o.corpusSeed}.bin`);
    log(`generating ${o.spans} spans → ${o.corpus}`);
    run(o.corpusGen, ['--spans', String(o.spans), '--seed', String(o.corpusSeed), '--out', o.corpus]);
  }
  const corpus = corpusTraces(o.corpus, o.spans);
  const ids = sampleIds(corpus.counts, o.queries);
  log(`corpus ${o.corpus}: ${corpus.batches} batches, ${corpus.spans} spans, ${corpus.counts.size} traces; ${ids.length} sampled for trace by id`);
  figure('corpus.spans', corpus.spans);
  figure('corpus.traces', corpus.counts.size);
  figure('load_avg_start', os.loadavg()[0]);

  const results = {}; // name → [round results]
  let ok = true;
  for (let round = 1; round <= o.rounds; round++) {
    const order = round % 2 ? o.servers : [...o.servers].reverse();
    for (const name of order) {
      log(`round ${round}: ${name} (load avg ${os.loadavg()[0].toFixed(1)})`);
      const r = await runServer(name, o, bins, corpus, ids, round);
      (results[name] ||= []).push(r);
      ok &&= r.ok;
      for (const [k] of FIGS) if (r[k] !== undefined) figure(`r${round}.${name}.${k}`, r[k]);
      for (const k of Object.keys(r)) if (k.startsWith('q_')) figure(`r${round}.${name}.${k}`, r[k]);
    }
    const mw = results.meanwhiled[round - 1];
    for (const name of o.servers) {
      if (name === 'meanwhiled') continue;
      const r = results[name][round - 1];
      for (const [k, better] of FIGS)
        if (better && !(name === 'otelcol' && k.startsWith('disk')) && Number.isFinite(r[k]) && Number.isFinite(mw[k]))
          figure(`r${round}.ratio.${name}_over_meanwhiled.${k}`, r[k] / mw[k]);
    }
  }
  figure('load_avg_end', os.loadavg()[0]);

  // Medians over rounds, and the ratios (per round, then the median).
  const med = {};
  for (const name of o.servers) {
    med[name] = {};
    const keys = new Set(results[name].flatMap((r) => Object.keys(r)));
    for (const k of keys) {
      const m = median(results[name].map((r) => r[k]));
      if (Number.isFinite(m)) { med[name][k] = m; figure(`peers.${name}.${k}`, m); }
    }
  }
  const ratio = {};
  for (const name of o.servers) {
    ratio[name] = {};
    for (const [k, better] of FIGS) {
      if (!better) continue;
      const rs = results[name].map((r, i) => r[k] / results.meanwhiled[i][k]);
      ratio[name][k] = median(rs);
      if (name !== 'meanwhiled' && !(name === 'otelcol' && k.startsWith('disk')) && Number.isFinite(ratio[name][k])) figure(`peers.ratio.${name}_over_meanwhiled.${k}`, ratio[name][k]);
    }
  }
  if (results.jaeger) {
    const x = median(results.jaeger.map((r, i) => results.meanwhiled[i].spans_per_cpu_s / r.spans_per_cpu_s));
    const m = median(results.jaeger.map((r, i) => results.meanwhiled[i].peak_rss / r.peak_rss));
    figure('target.meanwhiled_spans_per_cpu_s_over_jaeger', x);
    figure('target.meanwhiled_peak_rss_over_jaeger', m);
    figure('target.met', x >= 2 && m < 1 ? 1 : 0);
  }

  // The table (stderr), as docs/PERFORMANCE.md shows it.
  const MiB = (b) => (b / 1048576).toFixed(1);
  const f0 = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–');
  const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '–');
  const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : '–');
  const lines = ['', `| server | spans/s | × mw | CPU s / 1M spans | × mw | peak RSS MiB | × mw | disk B/span | × mw | trace by id p50 / p99 ms |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |'];
  for (const name of o.servers) {
    const m = med[name], q = ratio[name];
    const apis = Object.keys(m).filter((k) => /^q_.*_p50_ms$/.test(k)).map((k) => k.slice(2, -7));
    const qs = apis.map((a) => `${a}: ${f2(m[`q_${a}_p50_ms`])} / ${f2(m[`q_${a}_p99_ms`])}`).join('; ') || '–';
    lines.push(`| ${name} | ${f0(m.spans_per_s)} | ${f2(q.spans_per_s)} | ${f1(m.cpu_s_per_m)} | ${f2(q.cpu_s_per_m)} | ${MiB(m.peak_rss)} | ${f2(q.peak_rss)} | ${name === 'otelcol' ? '–' : f1(m.disk_bytes_per_span)} | ${name === 'otelcol' ? '–' : f2(q.disk_bytes_per_span)} | ${qs} |`);
  }
  process.stderr.write(lines.join('\n') + '\n\n');
  figure('ok', ok ? 1 : 0);
  if (ownWork && !o.keep) fs.rmSync(o.work, { recursive: true, force: true });
  else log(`kept ${o.work}`);
  return ok ? 0 : 1;
}

export { corpusTraces, sampleIds, countSpans };
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  main().then((rc) => process.exit(rc), (e) => { process.stderr.write(`peers: ${e.stack || e}\n`); process.exit(1); });

// meanwhile-agent's other ways in and its edges: runtime lines from a pipe
// (--stdin) and from a log file that is truncated and rotated (--tail), pprof
// scrapes alone on their schedule, the service's environment (GODEBUG merged,
// identity from OpenTelemetry's variables), exit statuses, and configuration
// from a file, MEANWHILE_* variables and flags.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, appendFileSync, renameSync, truncateSync } from 'node:fs';
import path from 'node:path';
import { startServer, TEST_DATA } from '../integration/lib/server.mjs';
import {
  AGENT, SERVICE, startAgent, agentExit, agentArgs, tempDir, freePort, waitFor, sleep, nowNs, getJson, collected,
  cleanup,
} from './lib/agent.mjs';

const FIXTURE = readFileSync(path.join(TEST_DATA, 'go1.19-checkout', 'runtime-stderr.log'), 'utf8');
const LINES = FIXTURE.split('\n').filter(Boolean);
const N_GC = LINES.filter((l) => l.startsWith('gc ')).length;
const N_SCHED = LINES.filter((l) => l.startsWith('SCHED ')).length;
const QUIET = ['--cpu-seconds', '0', '--goroutine-rate', '0', '--heap-interval', '0', '--dump-interval', '0'];

let mw, dir, deadPort;

before(async () => {
  mw = await startServer();
  dir = tempDir();
  deadPort = await freePort();
});

after(async () => {
  if (mw) await mw.cleanup();
  cleanup(dir);
});

async function sourceOf(service) {
  const { sources } = await getJson(mw, '/api/v1/sources');
  const s = sources.find((x) => x.service === service);
  assert.ok(s, `no source for ${service}: ${JSON.stringify(sources)}`);
  return s;
}

/** Runs the agent to its end with the given arguments; returns {status, stdout, stderr}. */
function runAgent(args, env = {}, input) {
  const r = spawnSync(AGENT, args, { env: { ...process.env, ...env }, input, timeout: 30000 });
  return { status: r.status, signal: r.signal, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

test('--stdin: runtime lines from a pipe are stamped, pushed, and passed on unchanged', async () => {
  const d = tempDir('mw-agent-stdin-');
  const t0 = nowNs();
  const a = startAgent(['--stdin', '--service', 'stdin-svc', ...agentArgs(d, mw.base, deadPort, QUIET)],
    { dir: d, stdin: 'pipe' });
  const input = [];
  for (let i = 0; i < LINES.length; i += 10) { // in pieces, split inside lines too
    const chunk = LINES.slice(i, i + 10).map((l, j) => (j === 3 ? `app log line ${i}\n${l}` : l)).join('\n') + '\n';
    const cut = Math.floor(chunk.length / 2);
    for (const part of [chunk.slice(0, cut), chunk.slice(cut)]) {
      input.push(part);
      a.proc.stdin.write(part);
      await sleep(60);
    }
  }
  input.push('the last line, without a newline');
  a.proc.stdin.end(input[input.length - 1]);
  const exit = await agentExit(a);
  const t1 = nowNs();
  assert.deepEqual(exit, { code: 0, signal: null }, a.log());
  assert.equal(a.stderr.toString(), input.join(''), 'standard input comes out on stderr unchanged');
  const st = a.stats();
  assert.equal(st.lines.gc, N_GC);
  assert.equal(st.lines.sched, N_SCHED);
  assert.equal(st.kinds.gctrace.delivered, st.kinds.gctrace.captured);
  const data = await collected(mw, (await sourceOf('stdin-svc')).id);
  assert.equal(data.gc.length, N_GC);
  assert.equal(data.sched.length, N_SCHED);
  for (const c of data.gc) { // stamped, no process start: each cycle ends when its line was read
    assert.ok(c.start_ns >= Number(t0) - 1e9 && c.end_ns <= Number(t1) + 1e6, `gc ${c.n} at ${c.start_ns}`);
  }
  cleanup(d);
});

test('--tail: follows a file through truncation and rotation', async () => {
  const d = tempDir('mw-agent-tail-');
  const file = path.join(d, 'service.log');
  const parts = [LINES.slice(0, 20), LINES.slice(20, 40), LINES.slice(40, 60), LINES.slice(60)].map((p) => p.join('\n') + '\n');
  writeFileSync(file, parts[0]);
  const a = startAgent(['--tail', file, '--tail-from', 'start', '--service', 'tail-svc', '--batch-interval', '200ms',
    ...agentArgs(d, mw.base, deadPort, QUIET)], { dir: d });
  const linesOf = (k) => parts.slice(0, k).join('').split('\n').filter((l) => /^(gc |SCHED )/.test(l)).length;
  const seen = () => { const s = a.stats(); return s ? s.lines.gc + s.lines.sched : 0; };
  await waitFor('the first part', () => seen() === linesOf(1));
  appendFileSync(file, parts[1]);
  await waitFor('the appended part', () => seen() === linesOf(2));
  truncateSync(file, 0);
  // the agent must see the file shrink before it grows again
  await waitFor('the agent to see the truncation', () => /msg="the file was truncated/.test(a.log()));
  writeFileSync(file, parts[2], { flag: 'r+' });
  await waitFor('the part after the truncation', () => seen() === linesOf(3));
  renameSync(file, file + '.1');
  writeFileSync(file, parts[3]);
  await waitFor('the rotated file', () => seen() === linesOf(4));
  a.proc.kill('SIGTERM');
  const exit = await agentExit(a);
  assert.deepEqual(exit, { code: 0, signal: null });
  assert.match(a.log(), /msg="the file was truncated/);
  assert.match(a.log(), /msg="the file was rotated/);
  const data = await collected(mw, (await sourceOf('tail-svc')).id);
  assert.equal(data.gc.length, N_GC);
  assert.equal(data.sched.length, N_SCHED);
  cleanup(d);
});

test('scrapes alone: dumps, heap and CPU profiles on their own schedule', async () => {
  const d = tempDir('mw-agent-scrape-');
  const port = await freePort();
  const svc = spawn(SERVICE, ['-listen', `127.0.0.1:${port}`, '-goroutines', '30'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  svc.stdout.on('data', (b) => { out += b; });
  try {
    await waitFor('the service', () => out.includes('listening'));
    const a = startAgent(['--service', 'scrape-svc', ...agentArgs(d, mw.base, port, ['--cpu-seconds', '1',
      '--goroutine-rate', '2', '--dump-interval', '1s', '--heap-interval', '1s'])], { dir: d });
    // At the collector, by kind and format: the agent's own counts lump full dumps
    // and goroutine profiles together.
    const want = [['goroutine', 'debug=2', 2, 'scheduled full dumps'], ['goroutine', 'pprof', 4, 'goroutine profiles'],
      ['heap', null, 2, 'heap profiles'], ['cpu', null, 2, 'CPU profiles']];
    const short = async () => {
      const data = await collected(mw, (await sourceOf('scrape-svc')).id);
      const n = (kind, format) => data.snapshots.filter((s) => s.kind === kind && (!format || s.format === format)).length;
      return want.filter(([kind, format, min]) => n(kind, format) < min).map(([kind, format, min, what]) =>
        `${what}: ${n(kind, format)} < ${min}`);
    };
    await waitFor('two full dumps, four goroutine profiles, two heap and two CPU profiles at the collector', async () => {
      const m = await short();
      if (m.length) throw new Error(m.join('; ')); // waitFor reports the last one
      return true;
    });
    a.proc.kill('SIGINT');
    assert.deepEqual(await agentExit(a), { code: 0, signal: null });
    assert.deepEqual(await short(), [], 'what arrived stays');
    assert.equal(a.stats().kinds.goroutine.triggered, 0);
  } finally {
    svc.kill('SIGKILL');
    cleanup(d);
  }
});

test("run: GODEBUG keeps the user's keys; the identity reaches the service's OpenTelemetry variables", () => {
  const base = ['--collector', `http://127.0.0.1:${deadPort}`, '--spool-dir', 'none', ...QUIET, '--drain-timeout', '0'];
  let r = runAgent(['run', '--service', 'envsvc', '--instance', 'i,1', ...base, '--', '/usr/bin/env'],
    { GODEBUG: 'madvdontneed=1,gctrace=0', OTEL_SERVICE_NAME: '', OTEL_RESOURCE_ATTRIBUTES: '' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^GODEBUG=madvdontneed=1,gctrace=0,schedtrace=1000$/m);
  assert.match(r.stdout, /^OTEL_SERVICE_NAME=envsvc$/m);
  assert.match(r.stdout, /^OTEL_RESOURCE_ATTRIBUTES=service\.instance\.id=i%2C1$/m);

  r = runAgent(['run', ...base, '--schedtrace', '250', '--', '/usr/bin/env'],
    { GODEBUG: '', OTEL_SERVICE_NAME: '', OTEL_RESOURCE_ATTRIBUTES: 'service.name=attrsvc,service.instance.id=abc%2Cd' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^GODEBUG=gctrace=1,schedtrace=250$/m);
  assert.match(r.stdout, /^OTEL_RESOURCE_ATTRIBUTES=service\.name=attrsvc,service\.instance\.id=abc%2Cd$/m, 'left alone');
  assert.doesNotMatch(r.stdout, /^OTEL_SERVICE_NAME=./m);
  assert.match(r.stderr, /msg="starting" service="attrsvc" instance="abc,d"/);

  r = runAgent(['run', ...base, '--no-godebug', '--', '/usr/bin/env'], { GODEBUG: 'x=1', OTEL_SERVICE_NAME: 'otelsvc' });
  assert.match(r.stdout, /^GODEBUG=x=1$/m);
  assert.match(r.stderr, /msg="starting" service="otelsvc" instance="[^"]+-\d+"/, 'a generated instance');
});

test('run: the exit status is the command\'s', () => {
  const base = ['--collector', `http://127.0.0.1:${deadPort}`, '--spool-dir', 'none', ...QUIET, '--drain-timeout', '0'];
  assert.equal(runAgent(['run', ...base, '--', 'sh', '-c', 'exit 7']).status, 7);
  assert.equal(runAgent(['run', ...base, '--', 'sh', '-c', 'kill -KILL $$']).status, 137);
  assert.equal(runAgent(['run', ...base, '--', 'sh', '-c', 'printf partial; printf err >&2']).stdout, 'partial');
  const r = runAgent(['run', ...base, '--', '/no/such/command']);
  assert.equal(r.status, 127);
  assert.match(r.stderr, /cannot start \/no\/such\/command/);
});

test('run: options go before run as well as after it, as git and docker take them', () => {
  const collector = `http://127.0.0.1:${deadPort}`;
  let r = runAgent(['--collector', collector, '--spool-dir', 'none', ...QUIET, 'run', '--service', 'ordersvc',
    '--drain-timeout', '0', '--', 'sh', '-c', 'exit 5']);
  assert.equal(r.status, 5, r.stderr);
  assert.match(r.stderr, /msg="starting" service="ordersvc" instance="[^"]*" collector="http:\/\/127\.0\.0\.1:\d+"/);
  assert.ok(r.stderr.includes(`collector="${collector}"`), r.stderr);
  // all of them before run, and a command without '--'
  r = runAgent(['--collector', collector, '--spool-dir', 'none', ...QUIET, '--drain-timeout', '0', '--service', 'run',
    'run', 'sh', '-c', 'exit 6']);
  assert.equal(r.status, 6, r.stderr);
  assert.match(r.stderr, /msg="starting" service="run"/, 'an option\'s value "run" is a value, not the word run');
  // a word that is neither an option nor run is still refused
  r = runAgent(['--collector', collector, 'start', '--', 'sh', '-c', 'exit 0']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unexpected argument 'start'/);
});

test('configuration: file < MEANWHILE_* < flags; bad input is refused with exit 2', () => {
  const conf = path.join(dir, 'agent.conf');
  writeFileSync(conf, '# the agent\nservice = fromfile\ninstance = "quoted one"\ncpu-seconds = 0\n\ngoroutine-rate=0\n' +
    'heap-interval = 0\ndump-interval = 0\nspool-dir = none\ndrain-timeout = 0\n');
  const base = ['--stdin', '--config', conf, '--collector', `http://127.0.0.1:${deadPort}`];
  let r = runAgent(base, { MEANWHILE_SERVICE: 'fromenv' }, '');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /service="fromenv" instance="quoted one"/);
  r = runAgent([...base, '--service', 'fromflag'], { MEANWHILE_SERVICE: 'fromenv' }, '');
  assert.match(r.stderr, /service="fromflag"/);
  r = runAgent(base, {}, '');
  assert.match(r.stderr, /service="fromfile"/);
  r = runAgent(['--stdin', '--service', 's', '--spool-dir', 'none', '--drain-timeout', '0', '--cpu-seconds', '0', '--goroutine-rate', '0', '--heap-interval', '0'],
    { MEANWHILE_CONFIG: conf, MEANWHILE_COLLECTOR: `http://127.0.0.1:${deadPort}` }, '');
  assert.match(r.stderr, /service="s" instance="quoted one" collector="http:\/\/127\.0\.0\.1:\d+"/);

  writeFileSync(conf, 'service = x\nno-such-key = 1\n');
  r = runAgent(['--config', conf]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /agent\.conf:2: unknown key 'no-such-key'/);
  for (const bad of [['--cpu-seconds', 'ten'], ['--goroutine-rate', '-1'], ['--dump-interval', '5 minutes'],
    ['--collector', 'ftp://x'], ['--nope'], ['--service']]) {
    r = runAgent(['--service', 's', ...bad]);
    assert.equal(r.status, 2, `${bad.join(' ')}: ${r.stderr}`);
  }
  r = runAgent(['run', '--service', 's']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /run needs a command/);
  r = runAgent(['--stdin'], { OTEL_SERVICE_NAME: '', OTEL_RESOURCE_ATTRIBUTES: '', MEANWHILE_SERVICE: '' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /no service/);
});

test('--help explains every option', () => {
  const r = runAgent(['--help']);
  assert.equal(r.status, 0);
  for (const o of ['collector', 'pprof', 'service', 'instance', 'config', 'stdin', 'tail', 'cpu-seconds', 'goroutine-rate',
    'dump-interval', 'heap-interval', 'trigger-factor', 'trigger-window', 'trigger-warmup', 'trigger-gc-cpu', 'trigger-cooldown',
    'spool-dir', 'spool-max-bytes', 'spool-max-files', 'compression', 'backoff-max', 'log-file', 'stats-file'])
    assert.match(r.stdout, new RegExp(`^  --${o}\\b`, 'm'), o);
  assert.match(r.stdout, /MEANWHILE_CPU_SECONDS/);
  assert.match(runAgent(['--version']).stdout, /^meanwhile-agent \d/);
});

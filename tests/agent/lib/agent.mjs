// Helpers of the agent tests: start meanwhile-agent (and through it the Go test
// service), read its stats file and log, wait for conditions, ask meanwhiled.
//
// Environment (set by ctest): MEANWHILE_AGENT, MEANWHILE_CLI, AGENT_TEST_SERVICE,
// MEANWHILED (for ../../integration/lib/server.mjs), MW_BUILD_DIR, GO (the go
// command that built the service).

import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request } from '../../integration/lib/server.mjs';

export const AGENT = process.env.MEANWHILE_AGENT;
export const CLI = process.env.MEANWHILE_CLI;
export const SERVICE = process.env.AGENT_TEST_SERVICE;
if (!AGENT || !SERVICE) throw new Error('MEANWHILE_AGENT and AGENT_TEST_SERVICE must be set (run through ctest)');

// Which Go the test service was built with (the runtime's output depends on it), once
// per test file: `go version FILE` reads what the binary records.
try {
  const go = process.env.GO || 'go';
  const env = { ...process.env, GOTOOLCHAIN: 'local' };
  const built = execFileSync(go, ['version', SERVICE], { env }).toString().trim().replace(/^.*: /, '');
  console.log(`# the test service: ${built}; ${go}: ${execFileSync(go, ['version'], { env }).toString().trim()}`);
} catch (e) {
  console.log(`# the test service's Go version is unknown: ${e.message}`);
}

export { sleep, waitFor } from '../../integration/lib/wait.mjs';
export { nowNs } from '../../integration/lib/clock.mjs';

export function tempDir(prefix = 'mw-agent-') {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/** A port that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts meanwhile-agent with args; resolves to an object with the process, its stdout and
 * stderr (Buffers, appended as they come), exited (a promise of {code, signal}) and, when
 * the agent's args include them, the stats and log files.
 */
export function startAgent(args, { env = {}, dir, stdin = 'ignore' } = {}) {
  const proc = spawn(AGENT, args, { env: { ...process.env, ...env }, stdio: [stdin, 'pipe', 'pipe'] });
  const a = {
    proc, dir, out: [], err: [], exit: null,
    get stdout() { return Buffer.concat(this.out); },
    get stderr() { return Buffer.concat(this.err); },
    stats() {
      const f = path.join(dir, 'stats.json');
      return existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) : null;
    },
    log() {
      const f = path.join(dir, 'agent.log');
      return existsSync(f) ? readFileSync(f, 'utf8') : '';
    },
  };
  proc.stdout.on('data', (d) => a.out.push(d));
  proc.stderr.on('data', (d) => a.err.push(d));
  a.exited = new Promise((resolve) => proc.on('exit', (code, signal) => { a.exit = { code, signal }; resolve(a.exit); }));
  return a;
}

/** Waits for the agent to exit (SIGKILL after timeoutMs). */
export async function agentExit(a, timeoutMs = 60000) {
  let timer;
  const r = await Promise.race([a.exited, new Promise((res) => { timer = setTimeout(() => res(null), timeoutMs); })]);
  clearTimeout(timer);
  if (!r) {
    a.proc.kill('SIGKILL');
    await a.exited;
    assert.fail(`the agent did not exit within ${timeoutMs} ms; its log:\n${a.log().slice(-3000)}`);
  }
  return r;
}

/** The common arguments: files in dir, a fast schedule for tests. */
export function agentArgs(dir, collector, pprofPort, extra = []) {
  return ['--collector', collector, '--pprof', `http://127.0.0.1:${pprofPort}/debug/pprof`,
    '--spool-dir', path.join(dir, 'spool'), '--log-file', path.join(dir, 'agent.log'), '--log-level', 'debug',
    '--stats-file', path.join(dir, 'stats.json'), '--stats-interval', '200ms', ...extra];
}

export async function getJson(server, p) {
  const r = await request(server, 'GET', p, { timeoutMs: 30000 });
  assert.equal(r.status, 200, `GET ${p}: ${r.status} ${r.body.toString().slice(0, 300)}`);
  return JSON.parse(r.body.toString());
}

/** GET on the service (through its own port). */
export async function svcGet(port, p) {
  const r = await request({ port }, 'GET', p, { timeoutMs: 60000 });
  assert.equal(r.status, 200, `service GET ${p}: ${r.status}`);
  return r.body.toString();
}

/** Everything meanwhiled keeps of one source: gc cycles, sched samples, snapshots. */
export async function collected(server, sourceId) {
  const end = '4102444800'; // 2100-01-01
  const gc = await getJson(server, `/api/v1/sources/${sourceId}/gc?start=0&end=${end}&limit=10000`);
  const sched = await getJson(server, `/api/v1/sources/${sourceId}/sched?start=0&end=${end}&limit=10000`);
  const snaps = await getJson(server, `/api/v1/sources/${sourceId}/snapshots?start=0&end=${end}&limit=10000`);
  return { gc: gc.cycles, sched: sched.samples, snapshots: snaps.snapshots };
}

export function cleanup(dir) {
  if (dir && !process.env.MW_AGENT_KEEP) rmSync(dir, { recursive: true, force: true });
}

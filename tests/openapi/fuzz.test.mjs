// A property-based fuzz of the HTTP API, time-bounded: schemathesis (PyPI) generates
// requests from docs/openapi.yaml, valid and invalid, for every operation, against a
// meanwhiled loaded with a bit of everything (tests/integration/openapi_lib.mjs), and checks
// each answer: no 5xx (not_a_server_error), a documented status, content type and body
// (status_code_conformance, content_type_conformance, response_schema_conformance), and
// that requests the spec says are invalid are refused (negative_data_rejection). Then the
// server must still be up, and its log must hold no warn or error line this file does not
// expect (a crash, a sanitizer report, a 5xx logged).
//
// schemathesis is installed into a venv of the build directory ($MW_BUILD_DIR/openapi-venv,
// python3-venv from deploy/install-deps.sh --test) at the version pinned below, once;
// MW_SCHEMATHESIS names another schemathesis to use. Budget (README "Tests"): MW_FUZZ_EXAMPLES
// examples per operation and phase (default 40), MW_FUZZ_SECONDS for the whole run (default
// 150; schemathesis stops there), MW_FUZZ_SEED to replay a run (the seed is printed).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startLoaded, SPEC_PATH, XT } from '../integration/openapi_lib.mjs';
import { request } from '../integration/lib/server.mjs';

const SCHEMATHESIS_VERSION = '4.32.5';
const BUILD = path.resolve(process.env.MW_BUILD_DIR || 'build');
const EXAMPLES = Number(process.env.MW_FUZZ_EXAMPLES || 40);
const SECONDS = Number(process.env.MW_FUZZ_SECONDS || 150);
const SEED = process.env.MW_FUZZ_SEED || String(Math.floor(Math.random() * 2 ** 31));

/** The schemathesis command, installing it into BUILD/openapi-venv when missing. */
function schemathesis() {
  if (process.env.MW_SCHEMATHESIS) return process.env.MW_SCHEMATHESIS;
  const venv = path.join(BUILD, 'openapi-venv');
  const bin = path.join(venv, 'bin', 'schemathesis');
  const stamp = path.join(venv, `schemathesis-${SCHEMATHESIS_VERSION}`);
  if (existsSync(bin) && existsSync(stamp)) return bin;
  const run = (cmd, args) => {
    const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], timeout: 600_000 });
    assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed (python3-venv comes with deploy/install-deps.sh --test)`);
  };
  rmSync(venv, { recursive: true, force: true });
  run('python3', ['-m', 'venv', venv]);
  run(path.join(venv, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `schemathesis==${SCHEMATHESIS_VERSION}`]);
  mkdirSync(stamp);
  return bin;
}

/**
 * schemathesis.toml: the ids of the loaded data for the path parameters that name stored
 * objects (else nearly every request would be a 404 and the fuzz would not get past the
 * lookup), an operation that exists for compare and wakers; and no negative_data_rejection on
 * the OTLP bodies, whose JSON rules (unknown members ignored, null as absent) take more than
 * the request schema describes.
 */
function config(ids) {
  const q = (v) => JSON.stringify(String(v));
  const op = (regex, params, extra = '') => `[[operations]]\ninclude-path-regex = ${q(regex)}\n${extra}` +
    (params.length ? `[operations.parameters]\n${params.map(([k, v]) => `${q(k)} = ${q(v)}`).join('\n')}\n` : '') + '\n';
  const checks = { not_a_server_error: true, status_code_conformance: true, content_type_conformance: true,
    response_schema_conformance: true, negative_data_rejection: true, unsupported_method: true,
    positive_data_acceptance: false, response_headers_conformance: false, missing_required_header: false,
    allow_header_conformance: false, use_after_free: false, ensure_resource_availability: false, ignored_auth: false };
  // a refusal is any 4xx the spec documents: 414 too (more than 64 parameters, a URI over 8 KiB)
  const refusals = '"400", "401", "403", "404", "405", "413", "414", "415"';
  const top = Object.entries(checks).map(([k, v]) => `[checks.${k}]\nenabled = ${v}\n` +
    (k === 'negative_data_rejection' ? `expected-statuses = [${refusals}]\n` : '')).join('') + '\n';
  return top + [
    op('^/api/(v2/)?traces/|^/api/v1/traces/', [['path.traceID', ids.traceId]]),
    op('^/api/v1/spans/', [['path.spanID', ids.spanId]]),
    op('^/api/v1/exectrace/spans/', [['path.traceID', XT.trace], ['path.spanID', XT.span]]),
    op('^/api/v1/sources/\\{id\\}/', [['path.id', ids.sourceId]]),
    op('^/api/v1/snapshots/', [['path.id', ids.snapshotId]]),
    op('^/api/v1/exectraces/', [['path.id', ids.exectraceId]]),
    op('^/api/v1/exectrace/window$', [['query.source', ids.shopSourceId]]),
    op('^/api/v1/compare$', [['query.service', 'checkout'], ['query.name', ids.spanName]]),
    op('^/api/v1/wakers$', [['query.service', 'shop'], ['query.name', 'cache.get']]),
    op('^/api/v1/services/\\{service\\}/operations$', [['path.service', 'checkout']]),
    op('^/(v1|v1development)/', [], '[operations.checks.negative_data_rejection]\nenabled = false\n'),
  ].join('');
}

let srv, st, ids;
before(async () => {
  st = schemathesis();
  ({ srv, ids } = await startLoaded({
    // what the fuzz provokes on purpose and the server rightly logs at warn
    allowLog: [],
  }));
});
after(async () => { if (srv) await srv.cleanup(); });

test(`schemathesis over docs/openapi.yaml (${EXAMPLES} examples per operation, ${SECONDS} s at most)`, async () => {
  const cfg = path.join(BUILD, 'openapi-fuzz', 'schemathesis.toml');
  mkdirSync(path.dirname(cfg), { recursive: true });
  writeFileSync(cfg, config(ids));
  const args = ['--no-color', '--config-file', cfg, 'run', SPEC_PATH, '--url', srv.base, '--workers', '1', '--seed', SEED,
    '--max-examples', String(EXAMPLES), '--max-time', String(SECONDS), '--request-timeout', '20',
    '--phases', 'examples,coverage,fuzzing', '--suppress-health-check', 'all',
    '--report', 'junit', '--report-dir', path.join(BUILD, 'openapi-fuzz')];
  console.log(`seed ${SEED} (MW_FUZZ_SEED=${SEED} replays it): ${st} ${args.join(' ')}`);
  const t0 = Date.now();
  const out = await new Promise((resolve) => {
    const p = spawn(st, args, { cwd: path.dirname(cfg), stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SCHEMATHESIS_HOOKS: '' } });
    let text = '';
    p.stdout.on('data', (d) => { text += d; process.stdout.write(d); });
    p.stderr.on('data', (d) => { text += d; process.stderr.write(d); });
    p.on('exit', (code, signal) => resolve({ code, signal, text }));
  });
  console.log(`schemathesis ran ${((Date.now() - t0) / 1000).toFixed(1)} s, exit ${out.code}`);
  assert.equal(out.signal, null, `schemathesis was killed (${out.signal})`);
  assert.equal(out.code, 0, 'schemathesis found failures (above); replay with MW_FUZZ_SEED=' + SEED);
  // the server is still there and well
  assert.equal(srv.exit, null, `meanwhiled exited: ${JSON.stringify(srv.exit)}\n${srv.log()}`);
  const h = await request(srv, 'GET', '/healthz');
  assert.equal(h.status, 200);
});

test('meanwhiled logged nothing unexpected during the fuzz', () => { srv.checkLog(); });

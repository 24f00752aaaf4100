// Building the Go services of the end-to-end tests (tests/e2e-sdk, tests/exectrace) with
// the Go asked for: the machine's, or another release through GOTOOLCHAIN (goX.Y.Z,
// which the go command fetches from the module proxy). With another release the module
// is built from a copy whose go directive names that release, so that its runtime's
// defaults (GODEBUG settings tied to the go directive) are that release's.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, cpSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The environment of a go command: toolchain, read-only modules, and caches under
 * outDir when there is no HOME (ctest may run without one). */
export function goEnv(toolchain, outDir, extra = {}) {
  const env = { ...process.env, GOFLAGS: '-mod=readonly', GO111MODULE: 'on', GOTOOLCHAIN: toolchain, ...extra };
  if (!env.HOME) {
    env.GOCACHE = env.GOCACHE || path.join(outDir, 'gocache');
    env.GOMODCACHE = env.GOMODCACHE || path.join(outDir, 'gomodcache');
  }
  return env;
}

/**
 * Builds the module in moduleDir into bin with go (the command) under toolchain
 * ('local' or goX.Y.Z), with env's variables added (e.g. GOEXPERIMENT); log gets what was
 * used and how long it took. Returns
 * {goVersion: `go version`'s line, built: the Go release recorded in bin}.
 */
export function buildGoService({ go, toolchain, moduleDir, bin, outDir, log, env: extra = {} }) {
  mkdirSync(outDir, { recursive: true });
  const env = goEnv(toolchain, outDir, extra);
  const goVersion = execFileSync(go, ['version'], { env }).toString().trim();
  log(`${go} (GOTOOLCHAIN=${toolchain}${Object.entries(extra).map(([k, v]) => ` ${k}=${v}`).join('')}): ${goVersion}`); // the runtime's output depends on it
  let dir = moduleDir, tmp = null;
  if (toolchain !== 'local') {
    const m = /^go(\d+\.\d+)/.exec(toolchain);
    assert.ok(m, `GOTOOLCHAIN=${toolchain}: expected goX.Y.Z`);
    tmp = mkdtempSync(path.join(os.tmpdir(), 'mw-go-svc-'));
    cpSync(dir, tmp, { recursive: true });
    dir = tmp;
    // a replace directive's relative path would now point elsewhere: make it absolute
    const mod = JSON.parse(execFileSync(go, ['mod', 'edit', '-json'], { cwd: dir, env }).toString());
    for (const r of mod.Replace || []) {
      if (r.New.Path.startsWith('.'))
        execFileSync(go, ['mod', 'edit', `-replace=${r.Old.Path}=${path.resolve(moduleDir, r.New.Path)}`], { cwd: dir, env });
    }
    execFileSync(go, ['mod', 'edit', `-go=${m[1]}`], { cwd: dir, env });
    log(`built from a copy with go.mod's go directive ${m[1]}: ${tmp}`);
  }
  const t0 = performance.now();
  try {
    execFileSync(go, ['build', '-o', bin, '.'], { cwd: dir, env, stdio: ['ignore', 'inherit', 'inherit'] });
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
  const built = execFileSync(go, ['version', bin], { env }).toString().trim().replace(/^.*: /, '');
  log(`go build: ${Math.round(performance.now() - t0)} ms -> ${bin} (${built})`);
  return { goVersion, built };
}

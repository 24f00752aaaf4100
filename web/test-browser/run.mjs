// ctest's web/browser: runs `node --test` on web/test-browser/*.test.mjs, or skips
// (exit 77, which ctest reports as skipped) when chromium or playwright-core is missing.
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { rmSync } from 'node:fs';
import { missing, ARTIFACTS } from './lib/browser.mjs';

const dir = path.dirname(fileURLToPath(import.meta.url));
const why = missing();
if (why) {
  console.log(`SKIP web/browser: ${why}`);
  process.exit(77);
}
rmSync(ARTIFACTS, { recursive: true, force: true }); // this run's screenshots only
const files = readdirSync(dir).filter((f) => f.endsWith('.test.mjs')).sort().map((f) => path.join(dir, f));
const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', '--test-concurrency=1', ...files], { stdio: 'inherit' });
process.exit(r.status == null ? 1 : r.status);

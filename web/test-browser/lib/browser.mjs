// Headless Debian chromium through playwright-core (never a downloaded browser): a fresh
// profile directory per launch, no network beyond the pages we open, 1280×800 pages
// that report console errors and failed requests, and screenshots into
// $MW_BUILD_DIR/web-artifacts/.

import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CHROMIUM = process.env.MW_CHROMIUM || '/usr/bin/chromium';
export const ARTIFACTS = path.join(process.env.MW_BUILD_DIR || path.join(WEB_DIR, '..', 'build'), 'web-artifacts');

/** Why the browser tests cannot run here, or null. */
export function missing() {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is missing (apt-get install -y chromium)`;
  if (!existsSync(path.join(WEB_DIR, 'node_modules', 'playwright-core', 'package.json'))) {
    return 'web/node_modules/playwright-core is missing (cd web && npm ci)';
  }
  return null;
}

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Launches chromium with a fresh user data dir; returns {context, close}. */
export async function launch({ viewport = { width: 1280, height: 800 } } = {}) {
  const require = createRequire(path.join(WEB_DIR, 'package.json'));
  const { chromium } = require('playwright-core');
  const dir = mkdtempSync(path.join(tmpdir(), 'mw-chromium-'));
  // launchPersistentContext passes --user-data-dir=dir itself
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport, deviceScaleFactor: 1,
  });
  return {
    context,
    async close() { await context.close().catch(() => {}); rmSync(dir, { recursive: true, force: true }); },
  };
}

/** A page that collects console errors, page errors and requests to other hosts. */
export async function newPage(context, base) {
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(base) && !u.startsWith('data:')) problems.push(`request to another host: ${u}`);
  });
  page.problems = problems;
  return page;
}

/** Saves a screenshot as an artifact, $MW_BUILD_DIR/web-artifacts/<name>.png; returns its path. */
export async function shot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

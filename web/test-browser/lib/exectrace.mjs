// The goroutine-lanes fixture (web/test-browser/data/, written by gen/: a real Go
// execution trace of requests that wait on each other, their OTLP spans and what the
// program recorded of itself) loaded into a meanwhiled that reads traces with the real
// reader (meanwhile-exectrace, built next to meanwhiled when CMake finds Go).

import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, postJsonOk } from '../../../tests/integration/lib/server.mjs';
import assert from 'node:assert/strict';
import { ingest } from '../../../tests/integration/lib/runtime.mjs';

const DATA = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'data');
export const LANES_EXPECTED = JSON.parse(readFileSync(path.join(DATA, 'expected.json'), 'utf8'));
export const LANES_TRACE = () => readFileSync(path.join(DATA, 'lanes.trace'));

/** meanwhile-exectrace next to meanwhiled, or null. */
export function reader() {
  const p = process.env.MEANWHILED ? path.join(path.dirname(process.env.MEANWHILED), 'meanwhile-exectrace') : null;
  return p && existsSync(p) ? p : null;
}

/** Pushes the fixture into a running server; resolves the ingest answer of the trace. */
export async function loadLanes(srv) {
  await postJsonOk(srv, JSON.parse(readFileSync(path.join(DATA, 'spans.otlp.json'), 'utf8')));
  const r = await ingest(srv, 'exectrace', { service: 'shop', instance: 'lanes' }, LANES_TRACE());
  assert.equal(r.status, 200, r.body.toString());
  return r.json;
}

/** A fresh server with the fixture (and the reader) loaded: {srv, xt (the ingest answer)}. */
export async function lanesServer() {
  const srv = await startServer({ args: ['--exectrace-reader', reader()] });
  try {
    return { srv, xt: await loadLanes(srv) };
  } catch (e) {
    await srv.cleanup();
    throw e;
  }
}

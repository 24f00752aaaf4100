// GETs of the end-to-end tests: JSON from meanwhiled (or a test service), with a long
// timeout (their servers are under load while the tests read them).

import assert from 'node:assert/strict';
import { request } from '../../integration/lib/server.mjs';

/** GETs p from server ({port} or a Server) and parses the JSON body; asserts a 200. */
export async function getJson(server, p, timeoutMs = 60000) {
  const r = await request(server, 'GET', p, { timeoutMs });
  assert.equal(r.status, 200, `GET ${p}: ${r.status} ${r.body.toString().slice(0, 300)}`);
  return JSON.parse(r.body.toString());
}

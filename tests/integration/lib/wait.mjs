// Waiting in tests: poll a condition until it holds, bounded, and fail with a
// message that names what was awaited and what was last seen. A test waits
// for exactly the condition it then asserts, never for a fixed time that
// stands in for it (a fixed time is too short on a loaded machine, and too
// long everywhere else).

import assert from 'node:assert/strict';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls fn (sync or async) every everyMs until it returns a truthy value, which is
 * returned; a throw counts as "not yet" (e.g. a source that does not exist yet). Fails
 * after timeoutMs with what, and fn's last value or error.
 */
export async function waitFor(what, fn, { timeoutMs = 30000, everyMs = 200 } = {}) {
  const t0 = Date.now();
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() - t0 > timeoutMs) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last})`);
    await sleep(everyMs);
  }
}

// One grammar and one message per kind of parameter: every endpoint parses
// times, durations, ids, limits, offsets and enums through http/params.c,
// so a bad value gets a 400 whose message names the parameter and says what
// it must be, "<name> must be <what>, got \"<value>\"", whatever the
// endpoint; and a value a stricter endpoint once let through (a limit of
// "5x" read as 5) is refused like everywhere else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, get } from './lib/server.mjs';

const srv = await startServer();
const TRACE = '0123456789abcdef0123456789abcdef';

async function bad(p, message) {
  const r = await get(srv, p);
  assert.equal(r.status, 400, `${p}: ${r.body}`);
  assert.equal(JSON.parse(r.body).error, message, p);
}

test('ids in paths and parameters', async () => {
  await bad('/api/traces/xyz', 'trace id must be 32 hex digits, got "xyz"');
  await bad(`/api/v1/traces/${TRACE}0/explain`, `trace id must be 32 hex digits, got "${TRACE}0"`);
  await bad('/api/v1/spans/0123/profile', 'span id must be 16 hex digits, got "0123"');
  await bad('/api/v1/spans/0123456789abcdef/profile?trace=abc', 'trace must be 32 hex digits, got "abc"');
  await bad('/api/v1/sources/abc/gc', 'source id must be a positive integer, got "abc"');
  await bad('/api/v1/sources/12abc/gc', 'source id must be a positive integer, got "12abc"');
  await bad('/api/v1/snapshots/0', 'snapshot id must be a positive integer, got "0"');
});

test('limits and offsets: digits only, in range, one message', async () => {
  await bad('/api/search?limit=0', 'limit must be an integer from 1 to 1000, got "0"');
  await bad('/api/v1/services?offset=-1', 'offset must be an integer from 0 to 1000000, got "-1"');
  await bad('/api/v1/sources/1/gc?limit=10001', 'limit must be an integer from 1 to 10000, got "10001"');
  await bad('/api/v1/snapshots/1?limit=abc', 'limit must be an integer from 1 to 10000, got "abc"');
  await bad('/api/v1/snapshots/1?offset=1e3', 'offset must be an integer from 0 to 100000000, got "1e3"');
  await bad('/api/v1/compare?service=a&name=b&limit=5x', 'limit must be an integer from 1 to 200, got "5x"');
  await bad('/api/v1/sources?limit=%2B5', 'limit must be an integer from 1 to 1000, got "+5"');
});

test('times, durations and enums', async () => {
  await bad('/api/search?start=yesterday', 'start must be unix seconds, unix nanoseconds or RFC 3339, got "yesterday"');
  await bad('/api/search?minDuration=1', 'minDuration must be a duration like 250ms or 1.5s, got "1"');
  await bad(`/api/v1/traces/${TRACE}/timeline?margin=2h`, 'margin must be a duration up to 1h, like 250ms or 1.5s, got "2h"');
  await bad('/api/v1/spans/0123456789abcdef/profile?type=heap', 'type must be cpu or goroutine, got "heap"');
  await bad('/api/v1/compare?name=b', 'the service parameter is required');
  await bad('/api/v1/compare?service=a', 'the name parameter is required');
});

test('unknown parameters are refused, naming what the endpoint takes', async () => {
  await bad('/api/v1/services?sort=name', 'unknown parameter "sort": this endpoint takes name, offset, limit');
  await bad('/api/v1/services/a/operations?service=a',
    'unknown parameter "service": this endpoint takes start, end, offset, limit');
  await bad('/api/search?tag=x', 'unknown parameter "tag": this endpoint takes q, tags, spss, service, name, ' +
    'minDuration, maxDuration, start, end, limit, offset');
});

test('answers of an unknown trace name the endpoint\'s own work', async () => {
  for (const what of ['explain', 'timeline']) {
    const r = await get(srv, `/api/v1/traces/${TRACE}/${what}`);
    assert.equal(r.status, 404);
    assert.equal(JSON.parse(r.body).error, `trace ${TRACE} not found`);
  }
  const r = await get(srv, `/api/v1/traces/${TRACE}`);
  assert.equal(r.status, 404, 'a trace id with nothing after it is no endpoint');
  assert.equal(JSON.parse(r.body).error, `no such endpoint: /api/v1/traces/${TRACE}`);
});

test('stop', async () => {
  await srv.stop();
});

// Goroutine growth on a real Go 1.26 leak (tests/data/growth-goroutines/, made by its
// main.go; the same on Go 1.27 in go1.27/, whose debug=2 dumps carry the labels): six goroutine profiles and six debug=2 dumps, each taken after a "request"
// leaked 3 more goroutines in main.leakyWorker with the labels of a span named
// "GET /leak", and the goroutine leak profile at the end. What the answer must say is
// read from the program's own expected.json: the function, the counts at each capture,
// the rate (least squares over those counts, computed here), the operation, the spans,
// and that the leak profile proves the leak; the steady pool of main.poolWorker is no
// suspect.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { startServer, readData } from './lib/server.mjs';
import { getJ, ingestOk, big, assertJsonError } from './lib/runtime.mjs';
import { request } from './lib/server.mjs';

const DIR = 'growth-goroutines';
const EXP = JSON.parse(readData(DIR, 'expected.json').toString('utf8'));
const SERVICE = 'leaky';
const EXP27 = JSON.parse(readData(DIR, 'go1.27', 'expected.json').toString('utf8'));

// The `meanwhile` CLI ($MEANWHILE_CLI, else $MW_BUILD_DIR/client/cli/meanwhile, as ctest sets).
const CLI = process.env.MEANWHILE_CLI || (process.env.MW_BUILD_DIR && path.join(process.env.MW_BUILD_DIR, 'client', 'cli', 'meanwhile'));
function cli(args) {
  const env = { ...process.env };
  delete env.MEANWHILE_URL;
  return new Promise((resolve) => {
    execFile(CLI, args, { env, timeout: 60000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : `signal ${err.signal}`) : 0, stdout, stderr });
    });
  });
}

let srv;
let sourceId, sourceId27;
// The captures are stored at their own spacing, ending a second ago: what the server
// keeps (retention) is measured from now, and only the differences matter here.
const shifter = (exp) => {
  const last = BigInt(exp.captures[exp.captures.length - 1].time_ns);
  const shift = BigInt(Date.now() - 1000) * 1000000n - last;
  return { last: last + shift, at: (c) => BigInt(c.time_ns) + shift };
};
const { last, at } = shifter(EXP);
const T27 = shifter(EXP27);

/** Pushes a capture set as one instance of SERVICE; resolves its source id. */
async function push(dir, exp, instance, time) {
  let id;
  for (const c of exp.captures) {
    const j = await ingestOk(srv, 'goroutine', { service: SERVICE, instance, time: time.at(c).toString() }, readData(...dir, c.file));
    id = j.source_id;
  }
  await ingestOk(srv, 'goroutineleak', { service: SERVICE, instance, time: (time.last + 1000000n).toString() },
    readData(...dir, exp.leak_profile));
  return id;
}

before(async () => {
  srv = await startServer();
  sourceId = await push([DIR], EXP, 'a', { last, at });
  sourceId27 = await push([DIR, 'go1.27'], EXP27, 'b', T27);
});
after(async () => { if (srv) await srv.cleanup(); });

/** Least-squares slope of count over time, per hour. */
function slopePerHour(points) {
  const xs = points.map((p) => Number(p.t - points[0].t) / 3.6e12), ys = points.map((p) => p.n);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length, my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let sxy = 0, sxx = 0;
  for (let i = 0; i < xs.length; i++) { sxy += (xs[i] - mx) * (ys[i] - my); sxx += (xs[i] - mx) ** 2; }
  return sxy / sxx;
}

test('fixture sanity: six rounds of a profile and a dump, 3 leaked per round', () => {
  for (const exp of [EXP, EXP27]) {
    assert.equal(exp.captures.length, 12);
    assert.equal(exp.per_request, 3);
    assert.deepEqual(exp.captures.map((c) => c.leaked), [3, 3, 6, 6, 9, 9, 12, 12, 15, 15, 18, 18]);
  }
  assert.match(EXP.go_version, /^go1\.26/);
  assert.match(EXP27.go_version, /^go1\.27/);
});

for (const [go, exp, id, time] of [['1.26', EXP, () => sourceId, { last, at }], ['1.27', EXP27, () => sourceId27, T27]]) {
  test(`Go ${go}: the leak is the one suspect: function, counts, rate, first seen, operation, spans, proven`, async () => {
    await checkSuspect(await getJ(srv, `/api/v1/sources/${id()}/goroutines/growth`), exp, time.at);
  });
}

async function checkSuspect(j, EXP, at) {
  assert.equal(j.snapshots.goroutine, 12);
  assert.equal(j.snapshots.goroutineleak, 1);
  assert.equal(j.suspects.length, 1, JSON.stringify(j.suspects.map((s) => s.stack[0])));
  const s = j.suspects[0];
  assert.equal(s.stack[0].func, EXP.function);
  assert.ok(!j.suspects.some((x) => x.stack.some((f) => f.func === EXP.steady_function)), 'the steady pool is no suspect');
  assert.deepEqual(s.counts.map((c) => [big(c.time_ns), c.count]), EXP.captures.map((c) => [at(c), c.leaked]));
  const want = slopePerHour(EXP.captures.map((c) => ({ t: at(c), n: c.leaked })));
  assert.ok(Math.abs(s.growth_per_hour - want) <= 1e-6 * want, `growth_per_hour ${s.growth_per_hour}, want ${want}`);
  assert.equal(big(s.first_seen_ns), at(EXP.captures[0]));
  assert.equal(s.state, 'chan');
  assert.equal(s.wait_reason, 'chan receive');
  assert.ok(s.example.snapshot_id > 0 && s.example.goroutine_id > 0, JSON.stringify(s.example));
  assert.deepEqual(s.operations, [{ service: SERVICE, name: EXP.operation, count: EXP.captures.length / 2 * EXP.per_request }]);
  const spans = s.spans.map((x) => `${x.trace_id}/${x.span_id}`).sort();
  assert.deepEqual(spans, EXP.spans.map((x) => `${x.trace_id}/${x.span_id}`).sort());
  assert.equal(s.proven_leaked, true);
}

test('before the leak profile, the same suspect is not proven; a window of two captures has none', async () => {
  const end = (last + 1n).toString();
  const j = await getJ(srv, `/api/v1/sources/${sourceId}/goroutines/growth?end=${end}`);
  assert.equal(j.suspects.length, 1);
  assert.equal(j.suspects[0].proven_leaked, false);
  const two = await getJ(srv, `/api/v1/sources/${sourceId}/goroutines/growth?start=${at(EXP.captures[0])}&end=${at(EXP.captures[2])}`);
  assert.equal(two.suspects.length, 0, 'two snapshots are fewer than the three a trend needs');
});

test('bad requests: unknown parameter, bad limit, unknown source', async () => {
  const base = `/api/v1/sources/${sourceId}/goroutines/growth`;
  assert.match(assertJsonError(await request(srv, 'GET', `${base}?step=1s`), 400, 'step'), /unknown parameter "step"/);
  assert.match(assertJsonError(await request(srv, 'GET', `${base}?limit=0`), 400, 'limit'), /limit must be an integer from 1 to 200/);
  assert.match(assertJsonError(await request(srv, 'GET', '/api/v1/sources/999999/goroutines/growth'), 404, 'source'), /source 999999 not found/);
});

test('meanwhile leaks --source names the function, rate, operation and proof', { skip: !CLI && 'no CLI built' }, async () => {
  const r = await cli(['leaks', '--source', String(sourceId), '--url', srv.base]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Leak suspects of leaky\/a \(12 goroutine snapshots, 1 leak profiles\): 1$/m);
  assert.match(r.stdout, /^1\. main\.leakyWorker \(meanwhile\.test\/growth\/main\.go:\d+\)  chan receive  PROVEN LEAKED$/m);
  assert.match(r.stdout, /^   18 goroutines now, \+\d+\.\d per hour since /m);
  assert.match(r.stdout, /created under: leaky GET \/leak \(18\); 6 spans listed/);
  const bad = await cli(['leaks', '--url', srv.base]);
  assert.equal(bad.code, 64);
  assert.match(bad.stderr, /needs --source ID/);
  const missing = await cli(['leaks', '--source', '999999', '--url', srv.base]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /source 999999 not found \(HTTP 404\)/);
});

test('stop', async () => {
  await srv.stop();
});

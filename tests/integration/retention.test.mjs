// Retention: data older than --retention goes, recent data stays, operation
// counts follow, space is returned to the file system; --max-db-size deletes
// the oldest data while the database is too large.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { startServer, request, getJson, sleep } from './lib/server.mjs';

const HOUR = 3600n * 1000000000n;
const nowNs = () => BigInt(Date.now()) * 1000000n;
const hex = (n, bytes) => n.toString(16).padStart(bytes * 2, '0');

/** One request of `count` root spans of service `svc`, each its own trace, starting at t0. */
function batch(svc, t0, count, seed, attrBytes = 0) {
  const spans = [];
  for (let i = 0; i < count; i++) {
    const id = BigInt(seed) * 1000000n + BigInt(i) + 1n;
    spans.push({
      traceId: hex(id, 16), spanId: hex(id, 8), name: 'op', kind: 2,
      startTimeUnixNano: String(t0 + BigInt(i) * 1000n), endTimeUnixNano: String(t0 + BigInt(i) * 1000n + 5000000n),
      // random base64, not one letter repeated: span blocks compress bodies (zstd), and 'x' pads
      // left the --max-db-size test's database under its 3 MiB limit (measured with blocks on)
      attributes: attrBytes ? [{ key: 'pad', value: { stringValue: randomBytes(attrBytes).toString('base64').slice(0, attrBytes) } }] : [],
    });
  }
  return Buffer.from(JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: svc } }] }, scopeSpans: [{ spans }] }] }));
}

async function post(s, body) {
  const r = await request(s, 'POST', '/v1/traces', { body, headers: { 'content-type': 'application/json' } });
  assert.equal(r.status, 200, r.body.toString());
}

async function waitFor(fn, ms, what) {
  const t0 = Date.now();
  for (;;) {
    if (await fn()) return;
    if (Date.now() - t0 > ms) assert.fail(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

test('--retention deletes old spans and GC cycles, keeps recent ones, and gives space back', async () => {
  const s = await startServer({ args: ['--retention', '1h', '--retention-interval', '1s'] });
  try {
    const old = nowNs() - 3n * HOUR, recent = nowNs() - 60n * 1000000000n;
    for (let k = 0; k < 20; k++) await post(s, batch('ret', old + BigInt(k) * 1000000000n, 500, 1 + k, 200));
    await post(s, batch('ret', recent, 50, 999));
    const gc = `gc 1 @0.100s 1%: 0.1+1.0+0.1 ms clock, 0.2+0.1/0.5/0+0.2 ms cpu, 4->5->3 MB, 5 MB goal, 0 MB stacks, 0 MB globals, 2 P\n`;
    let r = await request(s, 'POST', `/api/v1/ingest/gctrace?service=ret&process_start=${old}`, { body: Buffer.from(gc) });
    assert.equal(r.status, 200, r.body.toString());
    r = await request(s, 'POST', `/api/v1/ingest/gctrace?service=ret&process_start=${recent}`, { body: Buffer.from(gc) });
    assert.equal(r.status, 200);
    const dbFile = path.join(s.dataDir, 'meanwhile.db');

    // retention deletes in batches of rows, spans first: the old GC cycle may go a batch later
    const src = (await getJson(s, '/api/v1/sources')).sources.find((x) => x.service === 'ret');
    const cycles = async () => (await getJson(s, `/api/v1/sources/${src.id}/gc?start=0`)).cycles;
    await waitFor(async () => (await getJson(s, '/api/v1/services')).services[0]?.span_count === 50 &&
      (await cycles()).length === 1, 30000, 'old spans and the old GC cycle to go');
    const ops = await getJson(s, `/api/v1/services/ret/operations?start=0`);
    assert.equal(ops.operations[0].count, 50, 'only the recent spans are left');
    assert.equal((await getJson(s, `/api/traces/${hex(999000001n, 16)}`)).batches.length, 1, 'a recent trace is still there');
    const gone = await request(s, 'GET', `/api/traces/${hex(1000001n, 16)}`);
    assert.equal(gone.status, 404, 'an old trace is gone');
    const left = await cycles();
    assert.equal(left.length, 1, 'the old GC cycle is gone, the recent one stays');
    assert.ok(left[0].start_ns > Number(recent) - 1e9, 'the one left is the recent cycle');
    // space comes back (incremental vacuum): the file shrinks
    await waitFor(async () => {
      const m = (await request(s, 'GET', '/metrics')).body.toString();
      return /meanwhile_retention_deleted_rows_total (\d+)/.exec(m)?.[1] >= 10000;
    }, 10000, 'the deleted-rows counter');
    await s.stop();
    const before = statSync(dbFile).size;
    await s.start();
    await waitFor(async () => statSync(dbFile).size < before * 0.5 || statSync(dbFile).size < 600 * 1024, 20000,
      `the file to shrink from ${before} bytes`);
  } finally {
    await s.stop();
  }
});

test('--max-db-size deletes the oldest data while the database is larger', async () => {
  const s = await startServer({ args: ['--retention', '0', '--max-db-size', '3MiB', '--retention-interval', '1s'] });
  try {
    const t0 = nowNs() - 10n * HOUR;
    for (let k = 0; k < 40; k++) await post(s, batch('big', t0 + BigInt(k) * 15n * 60n * 1000000000n, 400, 100 + k, 300));
    const used = async () => Number(/meanwhile_db_used_bytes (\d+)/.exec((await request(s, 'GET', '/metrics')).body.toString())[1]);
    assert.ok(await used() > 3 * 1024 * 1024, 'the test fills the database past the limit');
    await waitFor(async () => (await used()) <= 3 * 1024 * 1024, 30000, 'the database to come under the size limit');
    // what is left is the newest data
    const newest = await request(s, 'GET', `/api/traces/${hex(139000001n, 16)}`);
    assert.equal(newest.status, 200, 'the newest trace stays');
    const oldest = await request(s, 'GET', `/api/traces/${hex(100000001n, 16)}`);
    assert.equal(oldest.status, 404, 'the oldest trace went first');
  } finally {
    await s.stop();
  }
});

test('a service whose spans all went leaves the listings; its source and runtime data stay', async () => {
  const s = await startServer({ args: ['--retention', '1h', '--retention-interval', '1s'] });
  try {
    const old = nowNs() - 3n * HOUR, recent = nowNs() - 60n * 1000000000n;
    await post(s, batch('gone', old, 20, 1));
    await post(s, batch('kept', recent, 5, 2));
    // a recent GC cycle of gone's source (the one its spans came from)
    const gc = `gc 1 @0.100s 1%: 0.1+1.0+0.1 ms clock, 0.2+0.1/0.5/0+0.2 ms cpu, 4->5->3 MB, 5 MB goal, 0 MB stacks, 0 MB globals, 2 P\n`;
    const r = await request(s, 'POST', `/api/v1/ingest/gctrace?service=gone&process_start=${recent}`, { body: Buffer.from(gc) });
    assert.equal(r.status, 200, r.body.toString());
    // gone's 20 spans arrive past retention: the writer seals their open block at once (it would
    // wait 60 s for its age seal otherwise) and retention deletes sealed blocks only
    await waitFor(async () => (await getJson(s, '/api/v1/services')).services.map((x) => x.name).join() === 'kept', 30000,
      'gone to leave the service list');
    assert.equal((await request(s, 'GET', '/api/v1/services/gone/operations?start=0')).status, 404, 'and its operations');
    assert.equal((await getJson(s, '/api/search?service=gone&start=0')).traces.length, 0);
    const src = (await getJson(s, '/api/v1/sources')).sources.find((x) => x.service === 'gone');
    assert.ok(src, 'its source stays');
    assert.equal((await getJson(s, `/api/v1/sources/${src.id}/gc?start=0`)).cycles.length, 1, 'with its recent GC cycle');
    // spans that come again bring it back, under a new operation
    await post(s, batch('gone', recent, 3, 3));
    const back = (await getJson(s, '/api/v1/services')).services.find((x) => x.name === 'gone');
    assert.equal(back?.span_count, 3);
    assert.deepEqual((await getJson(s, '/api/v1/services/gone/operations?start=0')).operations.map((o) => [o.name, o.count]), [['op', 3]]);
    assert.equal((await getJson(s, '/api/search?service=gone&start=0')).traces.length, 3);
  } finally {
    await s.stop();
  }
});

test('--retention deletes old early-warning events with the other runtime rows', async () => {
  const rules = ['--rule-warmup', '0', '--rule-heap-min', '8MiB'];
  // first without retention, so that the old event is there to be seen before it goes
  const s = await startServer({ args: ['--retention', '0', ...rules] });
  try {
    // a heap that goes from 4 to 20 MB: heap_growth fires, at the second cycle's time
    const grow = 'gc 1 @1.000s 1%: 0.1+1.0+0.1 ms clock, 0.2+0.1/0.5/0+0.2 ms cpu, 4->5->4 MB, 8 MB goal, 0 MB stacks, 0 MB globals, 2 P\n' +
      'gc 2 @2.000s 1%: 0.1+1.0+0.1 ms clock, 0.2+0.1/0.5/0+0.2 ms cpu, 20->21->20 MB, 40 MB goal, 0 MB stacks, 0 MB globals, 2 P\n';
    const old = nowNs() - 3n * HOUR, recent = nowNs() - 60n * 1000000000n;
    const answers = {};
    for (const [inst, start] of [['old', old], ['new', recent]]) {
      const r = await request(s, 'POST', `/api/v1/ingest/gctrace?service=ev&instance=${inst}&process_start=${start}`,
        { body: Buffer.from(grow) });
      assert.equal(r.status, 200, r.body.toString());
      answers[inst] = JSON.parse(r.body.toString());
    }
    assert.equal(answers.new.requests?.[0]?.rule, 'heap_growth', JSON.stringify(answers.new));
    // an event of 3 hours ago asks for nothing now: past --rule-cooldown, the request is dropped
    assert.equal(answers.old.requests, undefined, JSON.stringify(answers.old));
    const srcs = (await getJson(s, '/api/v1/sources')).sources.filter((x) => x.service === 'ev');
    const events = async (inst) => (await getJson(s,
      `/api/v1/sources/${srcs.find((x) => x.instance === inst).id}/events?start=0`)).events;
    assert.equal((await events('old')).length, 1);
    assert.equal((await events('new')).length, 1);
    await s.stop();
    s.args = ['--retention', '1h', '--retention-interval', '1s', ...rules];
    await s.start();
    await waitFor(async () => (await events('old')).length === 0, 30000, "the old source's event to go");
    assert.equal((await events('new')).length, 1, 'the recent event stays');
  } finally {
    await s.stop();
  }
});

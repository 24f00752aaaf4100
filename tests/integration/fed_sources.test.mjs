// One shard's own ids through a front (docs/FEDERATION.md, "One shard's data"): two
// shards each hold a process whose source id, snapshot id are the SAME (1 on each, the
// first thing each shard stored) but whose service, GC cycles and snapshot differ. Through
// a query-role front and through a shard fronting, `shard=` names which shard's source 1
// is meant; the answers are checked against what this test posted to that shard. Then the
// refusals (a shard that is not a peer, shard= where it is not taken), a killed shard
// (503 naming it), and every server's log.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, request, postJsonOk } from './lib/server.mjs';
import { fixture, ingestOk } from './lib/runtime.mjs';
import { freePort } from './lib/ports.mjs';
import { execFile } from 'node:child_process';
import path from 'node:path';

const MS = 1000000n;
const hex = (n, bytes) => BigInt(n).toString(16).padStart(bytes * 2, '0');
const NOW = BigInt(Date.now()) * MS;
const PS = NOW - 600_000n * MS; // the processes started ten minutes ago
const T0 = NOW - 60_000n * MS; // the trace: a minute ago
const TRACE = hex(0xabc1, 16);

// Each shard's one process: its GC cycles (gctrace lines at offsets from PS), a
// snapshot, and one span of TRACE (A's is the root, B's its child).
const gcLine = (n, atS, mb, procs) =>
  `gc ${n} @${atS}.000s 1%: 0.010+1.0+0.005 ms clock, 0.040+0/0.5/1.2+0.020 ms cpu, ${mb}->${mb}->2 MB, ${mb + 1} MB goal, ${procs} P`;
const PROCS = [
  { service: 'alpha', instance: 'a-1', gc: [[3, 100, 4, 8], [4, 200, 6, 8]], kind: 'cpu', file: 'cpu-1795334476463713030.pb.gz',
    span: [0xa1, null, 'GET /alpha', 0, 300] },
  { service: 'beta', instance: 'b-1', gc: [[7, 150, 9, 2]], kind: 'goroutine', file: 'goroutines-debug2-1795334476463613272.txt',
    span: [0xb1, 0xa1, 'POST /beta', 10, 200] },
];

const TOKEN = 'fed-sources-token';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const ENV = { MEANWHILE_QUERY_TOKENS: TOKEN };
let shards = [], front = null, alone = null, urls = [], posted = [];

/** Two shards (each with PROCS[i]) and a query-role front; env: the servers' environment. */
async function cluster(env) {
  const ports = [await freePort(), await freePort()];
  const c = { urls: ports.map((p) => `http://127.0.0.1:${p}`), shards: [], posted: [] };
  for (const port of ports)
    c.shards.push(await startServer({ env, args: ['--listen', `127.0.0.1:${port}`, '--peers', c.urls.join(','), '--peer-timeout', '2s'] }));
  c.front = await startServer({ env, args: ['--role', 'query', '--peers', c.urls.join(','), '--peer-timeout', '2s'] });
  for (const [i, p] of PROCS.entries()) {
    const who = { service: p.service, instance: p.instance, process_start: String(PS) };
    const gc = await ingestOk(c.shards[i], 'gctrace', who, p.gc.map((g) => gcLine(...g)).join('\n') + '\n');
    const body = fixture(p.file);
    const snap = await ingestOk(c.shards[i], p.kind, { service: p.service, instance: p.instance }, body);
    const [id, parent, name, st, dur] = p.span;
    await postJsonOk(c.shards[i], { resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: p.service } },
        { key: 'service.instance.id', value: { stringValue: p.instance } }] },
      scopeSpans: [{ spans: [{ traceId: TRACE, spanId: hex(id, 8), ...(parent ? { parentSpanId: hex(parent, 8) } : {}), name, kind: 2,
        startTimeUnixNano: String(T0 + BigInt(st) * MS), endTimeUnixNano: String(T0 + BigInt(st + dur) * MS) }] }] }] });
    c.posted.push({ source: Number(gc.source_id), snapshot: Number(snap.snapshot_id), body });
  }
  // what this test is about: the same ids on both shards, meaning different things
  assert.equal(c.posted[0].source, c.posted[1].source);
  assert.equal(c.posted[0].snapshot, c.posted[1].snapshot);
  return c;
}

before(async () => {
  ({ shards, front, urls, posted } = await cluster(ENV));
  alone = await startServer({ env: ENV }); // no --peers
});

after(async () => {
  for (const s of [...shards, front, alone]) if (s) await s.cleanup();
});

const get = (server, path, headers = AUTH) => request(server, 'GET', path, { headers });
async function getJ(server, path, status = 200) {
  const r = await get(server, path);
  assert.equal(r.status, status, `GET ${path}: ${r.status} ${r.body.toString().slice(0, 400)}`);
  return JSON.parse(r.body.toString());
}
const q = (s) => encodeURIComponent(s);

/** What a /gc answer must say for PROCS[i], from what was posted. */
function checkGc(j, i, what) {
  const p = PROCS[i];
  assert.equal(j.source.service, p.service, `${what}: source`);
  assert.equal(j.source.instance, p.instance, `${what}: instance`);
  assert.deepEqual(j.cycles.map((c) => [c.n, Number(c.start_ns), c.procs]),
    p.gc.map(([n, at, , procs]) => [n, Number(PS + BigInt(at) * 1000n * MS), procs]), `${what}: cycles`);
}

test('GET /api/v1/sources/{id}/gc?shard=: that shard\'s source, through a front and through a shard', async () => {
  const id = posted[0].source;
  for (const via of [() => front, () => shards[0], () => shards[1]])
    for (const i of [0, 1]) checkGc(await getJ(via(), `/api/v1/sources/${id}/gc?shard=${q(urls[i])}`), i, `via ${via().base}, shard ${i}`);
  // a shard fronting, without shard=: its own data, as before
  checkGc(await getJ(shards[1], `/api/v1/sources/${id}/gc`), 1, 'shard 1 alone');
  // the other parameters reach the shard: its own checks answer (a 400 passed through)
  const bad = await get(front, `/api/v1/sources/${id}/gc?shard=${q(urls[0])}&limit=0`);
  assert.equal(bad.status, 400);
  assert.match(bad.body.toString(), /limit/);
  // a page of one shard's sources
  const list = await getJ(front, `/api/v1/sources?shard=${q(urls[1])}`);
  assert.deepEqual(list.sources.map((s) => s.service), ['beta']);
});

test('GET /api/v1/sources on a front: every shard\'s, each with its shard, paged', async () => {
  const want = PROCS.map((p, i) => ({ service: p.service, instance: p.instance, id: posted[i].source, shard: urls[i] }));
  for (const via of [front, shards[1]]) { // the query role, and a shard fronting
    const j = await getJ(via, '/api/v1/sources');
    assert.deepEqual(j.sources.map((s) => ({ service: s.service, instance: s.instance, id: s.id, shard: s.shard })), want);
    assert.deepEqual(j.federation, { shards: 2, answered: 2, missing: [] });
    assert.equal(j.more, false);
  }
  const first = await getJ(front, '/api/v1/sources?limit=1');
  assert.deepEqual(first.sources.map((s) => s.shard), [urls[0]]);
  assert.equal(first.more, true);
  assert.equal(first.next_offset, 1);
  const second = await getJ(front, `/api/v1/sources?offset=${first.next_offset}&limit=1`);
  assert.deepEqual(second.sources.map((s) => [s.service, s.shard]), [['beta', urls[1]]]);
  assert.equal(second.more, false);
  // one shard's, with shard=: its own answer, not merged
  const one = await getJ(front, `/api/v1/sources?shard=${q(urls[1])}`);
  assert.deepEqual(one.sources.map((s) => s.service), ['beta']);
  assert.equal(one.federation, undefined);
  // a sub-request: the shard's own only
  const sub = await request(shards[0], 'GET', '/api/v1/sources', { headers: { ...AUTH, 'meanwhile-federated': '1' } });
  assert.deepEqual(JSON.parse(sub.body.toString()).sources.map((s) => s.service), ['alpha']);
  const far = await get(front, '/api/v1/sources?offset=9999&limit=2');
  assert.equal(far.status, 400);
  assert.match(far.body.toString(), /offset \+ limit must be at most 10000/);
});

test('the snapshot and its raw bytes, by shard: exactly what was posted there', async () => {
  const id = posted[0].snapshot;
  for (const i of [0, 1]) {
    const r = await get(front, `/api/v1/snapshots/${id}/raw?shard=${q(urls[i])}`);
    assert.equal(r.status, 200, r.body.toString().slice(0, 300));
    assert.ok(r.body.equals(posted[i].body), `shard ${i}: ${r.body.length} bytes, posted ${posted[i].body.length}`);
    const own = await get(shards[i], `/api/v1/snapshots/${id}/raw`);
    assert.equal(r.headers['content-type'], own.headers['content-type'], 'the shard\'s content type');
    const snap = await getJ(front, `/api/v1/snapshots/${id}?shard=${q(urls[i])}&limit=1`);
    assert.equal(snap.raw_bytes, posted[i].body.length);
    assert.equal(snap.source_id, posted[i].source);
  }
  // the snapshot of another kind on each: A's is a CPU profile, B's a goroutine dump
  assert.equal(posted[0].body[0], 0x1f, 'A\'s is gzip\'d pprof');
  assert.match(posted[1].body.toString('latin1', 0, 20), /^goroutine \d+/);
  // execution traces and gc operations route the same way (none stored: empty lists)
  for (const p of ['/api/v1/exectraces', '/api/v1/gc/operations'])
    await getJ(front, `${p}?shard=${q(urls[0])}`);
});

test('the timeline names each source\'s shard, and (shard, id) reaches the right process', async () => {
  const tl = await getJ(front, `/api/v1/traces/${TRACE}/timeline`);
  assert.equal(tl.sources.length, 2);
  assert.equal(tl.sources[0].id, tl.sources[1].id, 'the same id on both shards');
  for (const src of tl.sources) {
    const i = urls.indexOf(src.shard);
    assert.ok(i >= 0, `shard ${src.shard} is one of ${urls}`);
    assert.equal(src.service, PROCS[i].service);
    checkGc(await getJ(front, `/api/v1/sources/${src.id}/gc?shard=${q(src.shard)}`), i, `timeline source ${src.shard}`);
  }
  for (const sp of tl.spans) assert.equal(tl.sources.find((s) => s.shard === sp.shard && s.id === sp.source_id)?.service, sp.service);
});

test('refused: a shard that is not a peer, shard= where it is not taken, no shard= on the query role', async () => {
  const id = posted[0].source;
  for (const s of ['http://127.0.0.1:1', 'http://169.254.169.254', urls[0] + '/', '0', '']) {
    const r = await get(front, `/api/v1/sources/${id}/gc?shard=${q(s)}`);
    assert.equal(r.status, 400, `shard=${s}: ${r.status}`);
    assert.match(JSON.parse(r.body.toString()).error, /^shard: ".*" is not one of this server's shards/);
  }
  // a . or .. segment would reach another route of the shard once resolved: never sent
  for (const p of ['/api/v1/sources/../../../metrics', '/api/v1/sources/1/./gc', '/api/v1/sources/%2e%2e/%2e%2e/%2e%2e/metrics']) {
    const r = await get(front, `${p}?shard=${q(urls[0])}`);
    assert.equal(r.status, 400, `${p}: ${r.status} ${r.body.toString().slice(0, 200)}`);
    assert.match(r.body.toString(), /segment: it is not sent to a shard/);
  }
  // no --peers: refused (not ignored: that would answer with this server's source of that id)
  const a = await get(alone, `/api/v1/sources/${id}/gc?shard=${q(urls[0])}`);
  assert.equal(a.status, 400);
  assert.match(a.body.toString(), /has none/);
  // a sub-request asks one shard about its own data only
  const sub = await get(shards[0], `/api/v1/sources/${id}/gc?shard=${q(urls[1])}`, { ...AUTH, 'meanwhile-federated': '1' });
  assert.equal(sub.status, 400);
  assert.match(sub.body.toString(), /sub-request/);
  // the query role without shard=: 404 saying to pass it
  const none = await get(front, `/api/v1/sources/${id}/gc`);
  assert.equal(none.status, 404);
  assert.match(none.body.toString(), /pass shard=/);
  // the token: checked by the front, forwarded to the shard (which would refuse without it)
  assert.equal((await get(front, `/api/v1/sources/${id}/gc?shard=${q(urls[0])}`, {})).status, 401);
  assert.equal((await get(shards[0], `/api/v1/sources/${id}/gc`, {})).status, 401);
});

test('a shard down: 503 naming it; the other still answers', async () => {
  const id = posted[0].source;
  shards[1].proc.kill('SIGKILL');
  await shards[1].exited;
  const r = await get(front, `/api/v1/sources/${id}/gc?shard=${q(urls[1])}`);
  assert.equal(r.status, 503);
  assert.match(JSON.parse(r.body.toString()).error, new RegExp(`^shard ${urls[1]} did not answer`));
  assert.equal(r.headers['meanwhile-missing-shards'], urls[1]);
  const raw = await get(front, `/api/v1/snapshots/${posted[0].snapshot}/raw?shard=${q(urls[1])}`);
  assert.equal(raw.status, 503);
  checkGc(await getJ(front, `/api/v1/sources/${id}/gc?shard=${q(urls[0])}`), 0, 'shard 0 while 1 is down');
  const list = await getJ(front, '/api/v1/sources');
  assert.deepEqual(list.sources.map((s) => s.service), ['alpha']);
  assert.deepEqual(list.federation.missing.map((m) => m.shard), [urls[1]]);
  await shards[1].start(); // the same port and data
  checkGc(await getJ(front, `/api/v1/sources/${id}/gc?shard=${q(urls[1])}`), 1, 'shard 1 back');
});

test('every server stops cleanly, having logged nothing unexpected', async () => {
  await front.stop();
  await alone.stop();
  for (const s of shards) await s.stop();
});

// the CLI's source commands (meanwhile gc, leaks, heap-growth) take --shard; it sends no
// token, so this cluster has none
const CLI = process.env.MEANWHILE_CLI || (process.env.MW_BUILD_DIR && path.join(process.env.MW_BUILD_DIR, 'client', 'cli', 'meanwhile'));
const cli = (args) => new Promise((resolve) => execFile(CLI, args, { timeout: 30000 }, (err, stdout, stderr) =>
  resolve({ code: err ? err.code : 0, stdout, stderr })));

test('the CLI: meanwhile gc --source 1 --shard <one> through a front answers for that shard\'s process', { skip: !CLI && 'no MW_BUILD_DIR' }, async () => {
  const c = await cluster({});
  try {
    for (const i of [0, 1]) {
      const r = await cli(['gc', '--source', String(c.posted[i].source), '--shard', c.urls[i], '--url', c.front.base, '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).source.service, PROCS[i].service);
      const text = await cli(['gc', '--source', String(c.posted[i].source), '--shard', c.urls[i], '--url', c.front.base]);
      assert.equal(text.code, 0, text.stderr); // the pressure, then gc/operations of the same shard
    }
    const none = await cli(['gc', '--source', '1', '--url', c.front.base, '--json']);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /pass shard=/);
    await c.front.stop();
    for (const s of c.shards) await s.stop();
  } finally {
    for (const s of [c.front, ...c.shards]) await s.cleanup();
  }
});

// Heap growth and allocation rate on real Go 1.26 heap profiles
// (tests/data/growth): the capture program grew a cache at main.growCache
// between its two profiles and let main.warmup's objects go, and wrote down
// what it allocated in expected.json. The answers must name those stacks
// with byte counts within what heap sampling allows: Go samples an object of
// S bytes with probability p = 1 - exp(-S/rate) and scales it by 1/p, so N
// such objects are estimated with a standard deviation of
// S * sqrt(N (1 - p) / p); the test allows five of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, request, readData, getJson } from './lib/server.mjs';

const GO = '/usr/local/go/bin/go';
const want = JSON.parse(readData('growth', 'expected.json'));

// Five standard deviations of the estimate of n objects of size bytes.
function tolerance(n, size) {
  const p = 1 - Math.exp(-size / want.mem_profile_rate);
  return 5 * size * Math.sqrt((n * (1 - p)) / p);
}

test('heap growth names the grown and the freed stacks of a real Go 1.26 process', async () => {
  const s = await startServer();
  try {
    // stored at recent times (retention), as far apart as they were taken
    const base = BigInt(Date.now() - 600000) * 1000000n;
    const target = base + BigInt(want.target_time_ns) - BigInt(want.base_time_ns);
    for (const [file, at] of [['base.pb.gz', base], ['target.pb.gz', target]]) {
      const r = await request(s, 'POST', `/api/v1/ingest/heap?service=growth&time=${at}`, { body: readData('growth', file) });
      assert.equal(r.status, 200, r.body.toString());
    }
    const src = (await getJson(s, '/api/v1/sources')).sources.find((x) => x.service === 'growth').id;
    const q = `/api/v1/sources/${src}/heap/growth?start=${target}&base_start=${base}&base_end=${base}`;
    const g = await getJson(s, q);
    assert.equal(g.sample, 'inuse_space');
    assert.equal(BigInt(g.target.time_ns), target);
    assert.equal(BigInt(g.base.time_ns), base);

    // the stack that grew most is the cache's, with N*S bytes
    const top = g.stacks[0];
    assert.equal(top.frames[0].function, want.function, JSON.stringify(g.stacks.map((x) => x.frames[0])));
    assert.equal(top.frames[1].function, 'main.main');
    const grown = want.objects * want.object_size;
    const tol = tolerance(want.objects, want.object_size);
    assert.ok(Math.abs(top.bytes - grown) <= tol, `grew ${top.bytes} bytes, want ${grown} ± ${tol}`);
    assert.ok(Math.abs(top.objects - want.objects) <= tol / want.object_size, `grew ${top.objects} objects, want ${want.objects}`);
    assert.equal(top.base_bytes, 0); // not there at the base
    // the freed stack is not among those that grew, and the flame graph shows it shrink
    assert.ok(!g.stacks.some((x) => x.frames[0].function === want.shrink_function));
    const nodes = [];
    const walk = (n) => { nodes.push(n); n.children.forEach(walk); };
    walk(g.flame);
    const shrunk = nodes.filter((n) => n.name.startsWith(`${want.shrink_function} (`)).reduce((a, n) => a + n.delta, 0);
    const freed = want.shrink_objects * want.shrink_object_size + want.shrink_extra_bytes;
    const shrinkTol = tolerance(want.shrink_objects, want.shrink_object_size);
    assert.ok(Math.abs(-shrunk - freed) <= shrinkTol, `shrank ${shrunk}, want -${freed} ± ${shrinkTol}`);
    const cacheNode = nodes.find((n) => n.name.startsWith(`${want.function} (`));
    assert.ok(Math.abs(cacheNode.delta - grown) <= tol);
    assert.equal(g.flame.delta, g.total.bytes); // the root holds every stack
    assert.ok(Math.abs(g.total.bytes - (grown - freed)) <= tol + shrinkTol, `total ${g.total.bytes}`);

    // objects: the same stacks, by count
    const o = await getJson(s, `${q}&sample=inuse_objects&limit=1`);
    assert.equal(o.stacks.length, 1);
    assert.equal(o.stacks[0].frames[0].function, want.function);

    // the pprof answer opens in go tool pprof and names the cache's function
    const r = await request(s, 'GET', `${q}&format=pprof`);
    assert.equal(r.status, 200);
    assert.equal(r.body[0], 0x1f);
    assert.equal(r.body[1], 0x8b);
    if (existsSync(GO)) {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'mw-growth-'));
      try {
        const f = path.join(dir, 'diff.pb.gz');
        writeFileSync(f, r.body);
        const top = execFileSync(GO, ['tool', 'pprof', '-top', '-unit=B', f], { encoding: 'utf8', env: { ...process.env, PPROF_TMPDIR: dir } });
        const line = top.split('\n').find((l) => l.trim().endsWith(` ${want.function}`));
        assert.ok(line, top);
        const flat = Number(line.trim().split(/\s+/)[0].replace(/B$/, ''));
        assert.ok(Math.abs(flat - grown) <= tol, `pprof says ${flat} B for ${want.function}\n${top}`);
        const freedLine = top.split('\n').find((l) => l.trim().endsWith(` ${want.shrink_function}`));
        assert.ok(freedLine && freedLine.trim().startsWith('-'), top);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }

    // allocation rate: what growCache allocated over the time between the profiles
    const a = await getJson(s, `/api/v1/sources/${src}/alloc?start=${base}&end=${target + 1n}`);
    const window = Number(target - base) / 1e9;
    assert.ok(Math.abs(a.window_s - window) < 0.001, `window ${a.window_s}`);
    assert.equal(a.stacks[0].frames[0].function, want.function);
    assert.ok(Math.abs(a.stacks[0].bytes_per_s - grown / window) <= tol / window, `rate ${a.stacks[0].bytes_per_s}`);
    assert.ok(Math.abs(a.stacks[0].objects_per_s - want.objects / window) <= tol / want.object_size / window);
  } finally {
    await s.stop();
  }
});

test('heap growth says what is missing: no base, no profile, bad parameters', async () => {
  const s = await startServer();
  try {
    const at = BigInt(Date.now() - 60000) * 1000000n;
    const r = await request(s, 'POST', `/api/v1/ingest/heap?service=lone&time=${at}`, { body: readData('growth', 'target.pb.gz') });
    assert.equal(r.status, 200);
    const src = JSON.parse(r.body).source_id;
    // one profile: it is the target, and nothing is left for a base
    let e = await getJson(s, `/api/v1/sources/${src}/heap/growth`, 404);
    assert.match(e.error, /no heap profile between base_start and base_end/);
    e = await getJson(s, `/api/v1/sources/${src}/heap/growth?start=${at + 1n}`, 404);
    assert.match(e.error, /no heap profile between start and end/);
    e = await getJson(s, `/api/v1/sources/${src}/alloc`, 404);
    assert.match(e.error, /1 heap profile between start and end: an allocation rate needs two/);
    e = await getJson(s, `/api/v1/sources/999/heap/growth`, 404);
    assert.match(e.error, /source 999 not found/);
    e = await getJson(s, `/api/v1/sources/${src}/heap/growth?sample=cpu`, 400);
    assert.match(e.error, /sample/);
    e = await getJson(s, `/api/v1/sources/${src}/heap/growth?since=1h`, 400);
    assert.match(e.error, /unknown parameter "since"/);
    e = await getJson(s, `/api/v1/sources/${src}/heap/growth?limit=0`, 400);
    assert.match(e.error, /limit/);
    e = await getJson(s, `/api/v1/sources/${src}/heap/growth?start=${at}&base_end=${at + 10n ** 12n}`, 400);
    assert.match(e.error, /base_end must not be after end/);
  } finally {
    await s.stop();
  }
});

test('meanwhile heap-growth: the last minute against the one before, as text and --json', async () => {
  const BUILD_DIR = process.env.MW_BUILD_DIR;
  const cli = process.env.MEANWHILE_CLI || (BUILD_DIR && path.join(BUILD_DIR, 'client', 'cli', 'meanwhile'));
  assert.ok(cli && existsSync(cli), `the meanwhile CLI is not at ${cli}: set MW_BUILD_DIR or MEANWHILE_CLI`);
  const s = await startServer();
  try {
    const now = BigInt(Date.now()) * 1000000n;
    // base 90 s ago, target 30 s ago: --since 1m puts them in the two windows
    for (const [file, ago] of [['base.pb.gz', 90n], ['target.pb.gz', 30n]]) {
      const r = await request(s, 'POST', `/api/v1/ingest/heap?service=cli&time=${now - ago * 1000000000n}`, { body: readData('growth', file) });
      assert.equal(r.status, 200);
    }
    const src = (await getJson(s, '/api/v1/sources')).sources.find((x) => x.service === 'cli').id;
    const url = `http://127.0.0.1:${s.port}`;
    const text = execFileSync(cli, ['heap-growth', '--source', String(src), '--since', '1m', '--url', url], { encoding: 'utf8' });
    const lines = text.split('\n');
    assert.match(lines[0], /^Heap profile \d+ \(.*\) against \d+ \(.*\), 1m00s later, by inuse_space$/, text);
    const first = lines.find((l) => /^\s+\+[\d.]+ MiB/.test(l));
    assert.ok(first && first.includes(`${want.function} (main.go:`) && first.includes(' < main.main'), text);
    const mib = Number(first.trim().split(/\s+/)[0].slice(1));
    const grown = want.objects * want.object_size;
    assert.ok(Math.abs(mib * 1048576 - grown) <= tolerance(want.objects, want.object_size) + 0.05 * 1048576, text);
    const json = JSON.parse(execFileSync(cli, ['heap-growth', '--source', String(src), '--since', '1m', '--limit', '1', '--json', '--url', url], { encoding: 'utf8' }));
    assert.equal(json.stacks.length, 1);
    assert.equal(json.stacks[0].frames[0].function, want.function);
    // a window with no base: the server's message, exit status 1
    let err;
    try {
      execFileSync(cli, ['heap-growth', '--source', String(src), '--since', '10s', '--url', url], { encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      err = e;
    }
    assert.equal(err?.status, 1);
    assert.match(err.stderr, /no heap profile between start and end.*\(HTTP 404\)/);
    try {
      execFileSync(cli, ['heap-growth', '--since', '1h'], { encoding: 'utf8', stdio: 'pipe' });
      assert.fail('no --source accepted');
    } catch (e) {
      assert.equal(e.status, 64);
      assert.match(e.stderr, /needs --source/);
    }
  } finally {
    await s.stop();
  }
});

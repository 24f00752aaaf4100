// GET /api/v1/snapshots/{id}/raw of a goroutine profile (pprof) stored without its payload
// (issue 17 point 5, docs/STORAGE-NOTES.md §9): the server keeps only the profile's groups
// and stacks and writes the profile again from them. `go tool pprof` must read the answer,
// and find in it the stacks (function, file, line), counts and labels of the profile that
// was posted, its sample type, period and time. The expected values come from `go tool pprof
// -raw` on the posted file, never from the server. A goroutine profile stored the old way
// (its payload kept: the row as the previous release wrote it, made here with sqlite3 and
// zstd) still answers /raw with the posted bytes exactly.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, readData, request } from './lib/server.mjs';
import { getJ, ingestOk } from './lib/runtime.mjs';

const GO = [process.env.GO, '/usr/local/go/bin/go'].find((g) => g && existsSync(g)) || 'go';
const FIXTURES = [
  ['go1.26', 'sdk-goroutines.pb.gz'], // labelled with spans, an empty stack, inlined frames
  ['go1.26', 'goroutines.pb.gz'],
  ['go1.19-checkout', 'goroutines-1795334476627154535.pb.gz'],
  ['go1.19-checkout', 'goroutines-1795334481761474001.pb.gz'],
];

let tmp;
let srv;
before(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'mw-graw-'));
  srv = await startServer();
});
after(async () => {
  await srv?.cleanup();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** `go tool pprof -raw` of a profile's bytes: the header lines, and the samples as a map
 * from "labels | func file:line; ..." (leaf first) to the summed count. */
function pprofRaw(buf, name) {
  const file = path.join(tmp, name);
  writeFileSync(file, buf);
  const out = execFileSync(GO, ['tool', 'pprof', '-raw', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const lines = out.split('\n');
  const header = {};
  const samples = []; // {count, locs, labels}
  const locs = new Map(); // id -> ["func file:line", ...] leaf first
  let section = 'header';
  let lastLoc = null;
  for (const l of lines) {
    if (l === 'Samples:') { section = 'samples'; continue; }
    if (l === 'Locations') { section = 'locations'; continue; }
    if (l === 'Mappings') { section = 'mappings'; continue; }
    if (section === 'header') {
      const m = /^(\w+): (.*)$/.exec(l);
      if (m) header[m[1]] = m[2];
    } else if (section === 'samples') {
      let m;
      if ((m = /^\s+(\d+):((?: \d+)*) ?$/.exec(l))) {
        samples.push({ count: Number(m[1]), locs: m[2].trim() ? m[2].trim().split(' ').map(Number) : [], labels: [] });
      } else if ((m = /^\s+(\S.*)$/.exec(l)) && samples.length) {
        if (/^[\w.]+\/[\w.]+$/.test(m[1])) { header.sampleType = m[1]; continue; }
        for (const x of m[1].matchAll(/([^\s:]+):\[([^\]]*)\]/g)) samples[samples.length - 1].labels.push(`${x[1]}=${x[2]}`);
      } else if ((m = /^([\w.]+\/[\w.]+)$/.exec(l))) {
        header.sampleType = m[1];
      }
    } else if (section === 'locations') {
      const frame = (s) => {
        const t = s.replace(/ s=-?\d+$/, '').trim();
        const sp = t.lastIndexOf(' ');
        const fn = t.slice(0, sp), fl = t.slice(sp + 1).replace(/:\d+$/, ''); // file:line:column
        return `${fn} ${fl}`;
      };
      let m;
      if ((m = /^\s+(\d+): 0x[0-9a-f]+ (?:M=\d+ )?(.*)$/.exec(l))) {
        lastLoc = Number(m[1]);
        locs.set(lastLoc, m[2].trim() ? [frame(m[2])] : []);
      } else if ((m = /^\s{6,}(\S.*)$/.exec(l)) && lastLoc !== null) {
        locs.get(lastLoc).push(frame(m[1]));
      }
    }
  }
  const bySample = new Map();
  let total = 0;
  for (const s of samples) {
    const frames = s.locs.flatMap((id) => {
      assert.ok(locs.has(id), `${name}: location ${id} is listed`);
      return locs.get(id);
    });
    const key = `${s.labels.sort().join(',')} | ${frames.join('; ')}`;
    bySample.set(key, (bySample.get(key) || 0) + s.count);
    total += s.count;
  }
  return { header, bySample, total, n: samples.length };
}

describe('a goroutine profile\'s /raw is written again from its groups', () => {
  for (const [dir, f] of FIXTURES) {
    test(`${dir}/${f}: go tool pprof reads the same stacks, counts and labels`, async () => {
      const posted = readData(dir, f);
      const want = pprofRaw(posted, `posted-${dir}-${f}`);
      assert.ok(want.n > 0 && want.total > 0, 'the fixture has samples');
      const j = await ingestOk(srv, 'goroutine', { service: 'raw', instance: dir }, posted);
      assert.equal(j.accepted, want.total, 'accepted = goroutines of the profile');
      const snap = await getJ(srv, `/api/v1/snapshots/${j.snapshot_id}?limit=1`);
      assert.equal(snap.format, 'pprof');
      assert.equal(Number(snap.raw_bytes), posted.length, 'raw_bytes: the size as received');
      assert.equal(Number(snap.stored_payload_bytes), 0, 'no payload is stored for a goroutine profile');

      const raw = await request(srv, 'GET', `/api/v1/snapshots/${j.snapshot_id}/raw`);
      assert.equal(raw.status, 200, raw.body.toString().slice(0, 300));
      assert.equal(raw.headers['content-type'], 'application/octet-stream');
      assert.ok(raw.body[0] === 0x1f && raw.body[1] === 0x8b, 'gzip\'d');
      const got = pprofRaw(raw.body, `answer-${dir}-${f}`);
      assert.equal(got.header.PeriodType, want.header.PeriodType, 'period type');
      assert.equal(got.header.Period, want.header.Period, 'period');
      assert.equal(got.header.Time, want.header.Time, 'time');
      assert.equal(got.header.sampleType, want.header.sampleType, 'sample type');
      assert.equal(got.total, want.total, 'goroutines');
      assert.deepEqual(new Map([...got.bySample].sort()), new Map([...want.bySample].sort()),
        'the same (labels, stack) with the same counts');
    });
  }

  test('a goroutine profile stored with its payload (as before) answers it exactly', async () => {
    const [dir, f] = FIXTURES[0];
    const posted = readData(dir, f);
    const j = await ingestOk(srv, 'goroutine', { service: 'raw', instance: 'old-row' }, posted);
    await srv.stop();
    // the row as the previous release wrote it: the payload is zstd of the body received
    const zst = path.join(tmp, 'old.zst');
    writeFileSync(zst, execFileSync('zstd', ['-q', '-1', '-c'], { input: posted }));
    const db = path.join(srv.dataDir, 'meanwhile.db');
    execFileSync('sqlite3', [db, `UPDATE snapshots SET payload = readfile('${zst}') WHERE id = ${Number(j.snapshot_id)}`]);
    await srv.start();
    const snap = await getJ(srv, `/api/v1/snapshots/${j.snapshot_id}?limit=1`);
    assert.ok(Number(snap.stored_payload_bytes) > 0, 'the old row has its payload');
    const raw = await request(srv, 'GET', `/api/v1/snapshots/${j.snapshot_id}/raw`);
    assert.equal(raw.status, 200);
    assert.ok(raw.body.equals(posted), `/raw is the profile as posted (${raw.body.length} vs ${posted.length} bytes)`);
  });
});

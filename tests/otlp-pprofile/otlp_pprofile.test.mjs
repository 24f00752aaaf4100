// OTLP profiles built by the Collector's own pdata/pprofile package (gen/: pdata v1.54.0 and
// pdata/pprofile v0.148.0, the modules of Collector 0.148, from the Go module proxy),
// marshalled by pprofileotlp.ExportRequest as the Collector's OTLP exporter does, POSTed to
// meanwhiled's /v1development/profiles as protobuf and as JSON; each answer decoded by
// pprofileotlp.ExportResponse. The program's profile is one Go CPU profile split by sample
// type (samples/count and cpu/nanoseconds), one sample linked to a span and one not; the
// values are the program's constants, written again here.
//
// Environment (set by ctest): MEANWHILED, MW_TEST_DATA, MW_BUILD_DIR (where the program is
// built), GO (the go command).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, request } from '../integration/lib/server.mjs';
import { decodeProfile, getJ, findSource } from '../integration/lib/runtime.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const GO = process.env.GO || 'go';
const BUILD_DIR = process.env.MW_BUILD_DIR || path.resolve(HERE, '..', '..', 'build');
const OUT_DIR = path.join(BUILD_DIR, 'otlp-pprofile');
const PROGRAM = path.join(OUT_DIR, 'pprofile-gen');

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPANS = { pb: '00f067aa0ba902b7', json: '00f067aa0ba902b8' };
const LINKED = [5, 50_000_000]; // gen/main.go: the linked sample's samples/count and cpu/nanoseconds
const PLAIN = [2, 20_000_000]; // and the other's

function goEnv() {
  const env = { ...process.env, GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local', GO111MODULE: 'on' };
  if (!env.HOME) Object.assign(env, { GOPATH: path.join(OUT_DIR, 'gopath'), GOCACHE: path.join(OUT_DIR, 'gocache') });
  return env;
}

let srv;
let answers;
before(async () => {
  mkdirSync(OUT_DIR, { recursive: true });
  execFileSync(GO, ['build', '-o', PROGRAM, '.'], { cwd: path.join(HERE, 'gen'), env: goEnv(), stdio: ['ignore', 'inherit', 'inherit'] });
  srv = await startServer();
  const out = execFileSync(PROGRAM, ['-url', srv.url('/v1development/profiles'), '-trace', TRACE,
    '-span-pb', SPANS.pb, '-span-json', SPANS.json]).toString();
  answers = out.trim().split('\n').map((l) => JSON.parse(l));
});
after(async () => { if (srv) await srv.cleanup(); });

test('both encodings are answered 200, full success, in a form pprofileotlp decodes', () => {
  assert.equal(answers.length, 2);
  for (const a of answers) {
    assert.equal(a.status, 200, JSON.stringify(a));
    assert.equal(a.decode_error, undefined, JSON.stringify(a));
    assert.equal(a.rejected, 0, JSON.stringify(a));
    assert.equal(a.message, '', JSON.stringify(a));
  }
});

for (const enc of ['pb', 'json']) {
  test(`${enc}: the linked sample is on its span with both sample types, the other is the source's`, async () => {
    const r = await request(srv, 'GET', `/api/v1/spans/${SPANS[enc]}/profile?trace=${TRACE}`);
    assert.equal(r.status, 200, r.body.toString());
    const p = decodeProfile(r.body);
    assert.deepEqual(p.sampleTypes, [['samples', 'count'], ['cpu', 'nanoseconds']]);
    assert.deepEqual(p.periodType, ['cpu', 'nanoseconds']);
    assert.equal(p.samples.length, 1);
    assert.deepEqual(p.samples[0].values, LINKED);
    assert.deepEqual(p.samples[0].frames.map((f) => `${f.func} ${f.file}:${f.line}`), ['main.work main.go:12', 'main.main main.go:3']);

    const src = await findSource(srv, 'pprofile-shop', enc);
    assert.ok(src, `a source pprofile-shop/${enc}`);
    const snaps = await getJ(srv, `/api/v1/sources/${src.id}/snapshots`);
    assert.equal(snaps.snapshots.length, 1);
    assert.equal(snaps.snapshots[0].kind, 'cpu');
    const snap = await getJ(srv, `/api/v1/snapshots/${snaps.snapshots[0].id}`);
    const plain = snap.samples.filter((s) => !s.span_id);
    assert.equal(plain.length, 1);
    assert.deepEqual(plain[0].values.map(Number), PLAIN);
    assert.deepEqual(plain[0].frames.map((f) => f.func), ['main.main']);
  });
}

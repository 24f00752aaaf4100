// Today's Go through a real meanwhiled: the Go 1.26 and 1.27 captures of
// tests/data/go1.26 and go1.27 (goroutine dumps debug=1 and debug=2, goroutine, CPU and
// goroutine leak profiles) through POST /api/v1/ingest/{kind}; the goroutine leak profile
// as its own kind (goroutineleak: protobuf gzip'd or plain, debug=1 text, no leaks at all)
// and the answers when a leak profile and a goroutine profile are sent as each other; and
// a Go 1.27 debug=2 dump, whose goroutine headers carry the pprof labels, joining the
// spans its labels name: the explanation and the timeline use its goroutines exactly as
// they use those of a debug=1 profile.
// Expected values come from expected.json in each directory, the second reader's
// (tests/data/go-capture/expect.py), never from the server.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { startServer, readData, postJsonOk, request } from './lib/server.mjs';
import { getJ, ingest, ingestOk, assertJsonError, findSource, jstr } from './lib/runtime.mjs';

const VERSIONS = ['go1.26', 'go1.27'];
const expected = (v) => JSON.parse(readData(v, 'expected.json').toString('utf8'));
const EXPECTED = Object.fromEntries(VERSIONS.map((v) => [v, expected(v)]));

/** The ingest kind of a capture file. */
function kindOf(f) {
  if (/^goroutineleak(\.pb\.gz|-debug1\.txt)$/.test(f)) return 'goroutineleak';
  if (/^goroutine(s|leak)-.*\.txt$|^goroutines\.pb\.gz$/.test(f)) return 'goroutine';
  if (f === 'cpu.pb.gz') return 'cpu';
  return null;
}

/** Goroutines (or samples, for a CPU profile) the second reader found in f. */
function countOf(e, f) {
  const x = e[f];
  if (x.format === 2) return x.goroutines.length;
  if (x.format === 1) return x.records.reduce((n, r) => n + r.count, 0);
  return kindOf(f) === 'cpu' ? x.samples.length : x.samples.reduce((n, s) => n + s.values[0], 0);
}

/** Groups the server should store: goroutines with the same frames and labels (and, in a
 * debug=2 dump, wait reason) are one group. */
function groupsOf(e, f) {
  const x = e[f];
  const items = x.format === 2 ? x.goroutines : x.format === 1 ? x.records : x.samples;
  return new Set(items.map((i) => JSON.stringify([i.frames, i.labels, x.format === 2 ? i.wait_reason : '']))).size;
}

const SPAN = {
  cart: { span: '00f067aa0ba902b7', trace: '4bf92f3577b34da6a3ce929d0e0e4736', name: 'GET /cart' },
  cafe: { span: '53995c3f42cd8ad8', trace: '5b8efff798038103d269b633813fc60c', name: 'GET /café' },
  leak: { span: 'e457b5a2e4d86bd1', trace: 'a3ce929d0e0e47364bf92f3577b34da6', name: 'GET /leak' },
};

let srv;
before(async () => { srv = await startServer(); });
after(async () => { if (srv) await srv.cleanup(); });

describe('every capture of Go 1.26 and 1.27 ingests', () => {
  for (const v of VERSIONS) {
    const files = Object.keys(EXPECTED[v]).filter((f) => kindOf(f));
    test(`${v}: ${files.length} files, accepted = what the second reader counted, grouped by stack`, async () => {
      assert.ok(files.length >= 8, `${v}: only ${files.length} captures in expected.json`);
      for (const f of files) {
        const kind = kindOf(f);
        const instance = `${v}-${f}`;
        const j = await ingestOk(srv, kind, { service: 'today', instance }, readData(v, f));
        assert.equal(j.accepted, countOf(EXPECTED[v], f), `${v}/${f}: accepted`);
        assert.deepEqual(j.errors, [], `${v}/${f}: errors`);
        const snap = await getJ(srv, `/api/v1/snapshots/${j.snapshot_id}`);
        assert.equal(snap.kind, kind, `${v}/${f}: kind`);
        if (kind === 'cpu') continue;
        assert.equal(Number(snap.total), countOf(EXPECTED[v], f), `${v}/${f}: total`);
        assert.equal(snap.groups.length, groupsOf(EXPECTED[v], f), `${v}/${f}: groups`);
        assert.equal(snap.groups.reduce((n, g) => n + Number(g.count), 0), countOf(EXPECTED[v], f));
      }
    });
  }
});

describe('goroutineleak: the leaked goroutines, grouped by stack', () => {
  for (const v of VERSIONS) {
    test(`${v}: the protobuf (gzip'd and plain) and debug=1 profiles make snapshots of kind goroutineleak`, async () => {
      const e = EXPECTED[v];
      const instance = `leak-${v}`;
      const gz = readData(v, 'goroutineleak.pb.gz');
      const bodies = [['pprof', gz], ['pprof', zlib.gunzipSync(gz)], ['debug=1', readData(v, 'goroutineleak-debug1.txt')]];
      const ids = [];
      for (const [format, body] of bodies) {
        const j = await ingestOk(srv, 'goroutineleak', { service: 'today', instance }, body);
        const want = format === 'pprof' ? countOf(e, 'goroutineleak.pb.gz') : countOf(e, 'goroutineleak-debug1.txt');
        assert.equal(j.accepted, want, `${format}: accepted`);
        const snap = await getJ(srv, `/api/v1/snapshots/${j.snapshot_id}`);
        assert.equal(snap.kind, 'goroutineleak');
        assert.equal(snap.format, format);
        assert.equal(snap.meta.format, format);
        assert.equal(Number(snap.total), want);
        // the labelled leak keeps its span: the request that leaked it
        const labelled = snap.groups.filter((g) => g.span_id);
        assert.equal(labelled.length, 1, `${format}: one labelled group`);
        assert.equal(labelled[0].span_id, SPAN.leak.span);
        assert.equal(labelled[0].trace_id, SPAN.leak.trace);
        assert.equal(labelled[0].labels.span_name, SPAN.leak.name);
        assert.equal(Number(labelled[0].count), 1);
        // main.leakReceive: 3 unlabelled goroutines on one stack, one group
        const recv = snap.groups.filter((g) => !g.span_id && g.frames.some((fr) => fr.func === 'main.leakReceive'));
        assert.equal(recv.length, 1);
        assert.equal(Number(recv[0].count), 3);
        // states come from the stacks: a leaked channel receive is a channel wait
        // (debug=1 hides the runtime frames: there the state cannot be read)
        if (format === 'pprof') assert.equal(recv[0].state, 'chan');
        ids.push(j.snapshot_id);
        const raw = await request(srv, 'GET', `/api/v1/snapshots/${j.snapshot_id}/raw`);
        assert.ok(raw.body.equals(body), `${format}: /raw gives back the body as sent`);
      }
      const src = await findSource(srv, 'today', instance);
      const list = await getJ(srv, `/api/v1/sources/${src.id}/snapshots?kind=goroutineleak`);
      assert.deepEqual(list.snapshots.map((s) => s.id).sort(), ids.sort(), 'listed with the source, by kind');
      assert.ok(list.snapshots.every((s) => s.kind === 'goroutineleak'));
      const none = await getJ(srv, `/api/v1/sources/${src.id}/snapshots?kind=goroutine`);
      assert.equal(none.snapshots.length, 0, 'a leak profile is not a goroutine snapshot');
    });
  }

  test('Pyroscope\'s POST /ingest without a type suffix: the sample type goroutineleak names the kind', async () => {
    const name = encodeURIComponent('today-pyro{instance=leaky}');
    const r = await request(srv, 'POST', `/ingest?name=${name}&format=pprof`, { body: readData('go1.27', 'goroutineleak.pb.gz') });
    assert.equal(r.status, 200, r.body.toString());
    const j = JSON.parse(r.body.toString());
    assert.equal(j.accepted, countOf(EXPECTED['go1.27'], 'goroutineleak.pb.gz'));
    const snap = await getJ(srv, `/api/v1/snapshots/${j.snapshot_id}`);
    assert.equal(snap.kind, 'goroutineleak');
  });

  test('a service without leaks: "goroutineleak profile: total 0" is an empty snapshot', async () => {
    const j = await ingestOk(srv, 'goroutineleak', { service: 'today', instance: 'no-leaks' },
      'goroutineleak profile: total 0\n');
    assert.equal(j.accepted, 0);
    const snap = await getJ(srv, `/api/v1/snapshots/${j.snapshot_id}`);
    assert.equal(snap.kind, 'goroutineleak');
    assert.equal(Number(snap.total), 0);
    assert.deepEqual(snap.groups, []);
  });

  test('a leak profile sent as a goroutine profile, and the other way round, is a 400 that says where it goes', async () => {
    const v = 'go1.27';
    const cases = [
      ['goroutine', 'goroutineleak-debug1.txt', /POST it to \/api\/v1\/ingest\/goroutineleak/],
      ['goroutine', 'goroutineleak.pb.gz', /POST it to \/api\/v1\/ingest\/goroutineleak/],
      ['goroutineleak', 'goroutines-debug1.txt', /POST it to \/api\/v1\/ingest\/goroutine\b/],
      ['goroutineleak', 'goroutines-debug2.txt', /debug=2 dump lists every goroutine/],
      ['goroutineleak', 'goroutines.pb.gz', /sample type is "goroutine", not goroutineleak/],
      ['goroutineleak', 'cpu.pb.gz', /sample type is "samples", not goroutineleak/],
    ];
    for (const [kind, f, re] of cases) {
      const r = await ingest(srv, kind, { service: 'today', instance: 'wrong' }, readData(v, f));
      assert.match(assertJsonError(r, 400, `${f} as ${kind}`), re, `${f} as ${kind}`);
    }
    assert.equal(await findSource(srv, 'today', 'wrong'), undefined, 'nothing was stored');
  });
});

describe('a Go 1.27 debug=2 dump with labels joins the spans it names', () => {
  const v = 'go1.27';
  const e = EXPECTED[v];
  const now = BigInt(Date.now()) * 1000000n;
  const start = now - 2000000000n;

  /** One OTLP JSON span per request of the capture, 1 s long, around the capture time. */
  function spans(instance) {
    return {
      resourceSpans: [{
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } },
          { key: 'service.instance.id', value: { stringValue: instance } }] },
        scopeSpans: [{
          scope: { name: 'go_today' },
          spans: [SPAN.cart, SPAN.cafe].map((s) => ({
            traceId: s.trace, spanId: s.span, name: s.name, kind: 2,
            startTimeUnixNano: String(start), endTimeUnixNano: String(start + 1000000000n),
          })),
        }],
      }],
    };
  }

  /** The labelled groups of a snapshot: what ties goroutines to spans. */
  async function labelled(id) {
    const snap = await getJ(srv, `/api/v1/snapshots/${id}`);
    return snap.groups.filter((g) => g.span_id)
      .map((g) => ({ span_id: g.span_id, trace_id: g.trace_id, labels: g.labels, count: Number(g.count) }))
      .sort((a, b) => (a.span_id + JSON.stringify(a.labels) < b.span_id + JSON.stringify(b.labels) ? -1 : 1));
  }

  test('the labelled goroutines the second reader found are stored with their spans, as debug=1 stores them', async () => {
    const want = e['goroutines-debug2.txt'].goroutines.filter((g) => Object.keys(g.labels).length);
    assert.equal(want.length, 4, 'the capture has four labelled goroutines');
    const d2 = await ingestOk(srv, 'goroutine', { service: 'shop', instance: 'd2', time: String(start + 500000000n) },
      readData(v, 'goroutines-debug2.txt'));
    const d1 = await ingestOk(srv, 'goroutine', { service: 'shop', instance: 'd1', time: String(start + 500000000n) },
      readData(v, 'goroutines-debug1.txt'));
    const from2 = await labelled(d2.snapshot_id);
    assert.deepEqual(from2, await labelled(d1.snapshot_id), 'debug=2 and debug=1 carry the same labelled groups');
    const cart = from2.filter((g) => g.span_id === SPAN.cart.span);
    assert.equal(cart.reduce((n, g) => n + g.count, 0), 2, 'GET /cart: the request and the child it started');
    assert.ok(cart.every((g) => g.trace_id === SPAN.cart.trace && g.labels.span_name === SPAN.cart.name));
    const cafe = from2.find((g) => g.span_id === SPAN.cafe.span);
    assert.equal(cafe.labels.span_name, SPAN.cafe.name, 'the escaped \\u00e9 is read back');
  });

  test('explain and timeline use the debug=2 dump\'s goroutines for the spans its labels name', async () => {
    // a server of its own: the dump is the only runtime data that names these spans
    const own = await startServer();
    try {
      await explainFromDump(own);
    } finally {
      await own.stop();
      await own.cleanup();
    }
  });

  async function explainFromDump(srv) {
    await postJsonOk(srv, spans('i1'));
    const j = await ingestOk(srv, 'goroutine', { service: 'shop', instance: 'i1', time: String(start + 500000000n) },
      readData(v, 'goroutines-debug2.txt'));
    const x = await getJ(srv, `/api/v1/traces/${SPAN.cart.trace}/explain`);
    const span = x.spans.find((s) => s.span_id === SPAN.cart.span);
    assert.ok(span, 'the cart span is explained');
    const mutex = span.causes.find((c) => c.kind === 'mutex');
    assert.ok(mutex, `a mutex cause: ${jstr(span.causes)}`);
    const ev = mutex.evidence.find((ev) => ev.type === 'goroutine_sample');
    assert.equal(ev.snapshot_id, j.snapshot_id, 'from the debug=2 dump');
    assert.equal(ev.state, 'mutex');
    assert.equal(ev.wait_reason, 'sync.Mutex.Lock');
    assert.ok(Number(span.breakdown.blocked_ns.mutex) > 0);

    const cafe = await getJ(srv, `/api/v1/traces/${SPAN.cafe.trace}/explain`);
    const cs = cafe.spans.find((s) => s.span_id === SPAN.cafe.span);
    assert.ok(cs.causes.some((c) => c.kind === 'chan'), `GET /café waits on a channel: ${jstr(cs.causes)}`);

    const tl = await getJ(srv, `/api/v1/traces/${SPAN.cart.trace}/timeline`);
    const ts = tl.spans.find((s) => s.span_id === SPAN.cart.span);
    const samples = ts.goroutine_samples.filter((g) => g.snapshot_id === j.snapshot_id);
    assert.equal(samples.reduce((n, g) => n + Number(g.count), 0), 2, 'two goroutines of the span in the dump');
    assert.ok(samples.every((g) => g.state === 'mutex' && g.wait_reason === 'sync.Mutex.Lock'));
  }
});

test('the server said nothing it should not have', async () => {
  await srv.stop();
});

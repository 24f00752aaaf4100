// The rules ingest keeps, from "Hardening, round two": what is accepted renders
// (attribute depth, one limit on both encodings, partial success past it); resources and
// scopes obey the value and attribute limits; names are kept exactly or refused (a NUL
// byte or invalid UTF-8 is refused, on every path); time and duration parameters have one
// strict grammar; and the smaller cases (Pyroscope name={}, a zstd frame asking for too
// large a window, unreadable debug=1 dumps, durations printed as 1.5e+02, data older than
// the retention window).

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, request, postTraces, getJson, zstd } from './lib/server.mjs';
import { rndHex, encodeTraceRequestPb, decodeTraceResponsePb, decodeRpcStatusPb, normAttrs } from './lib/otlp.mjs';
import { fixture, LAUNCH_NS, ingest, ingestOk, assertJsonError, getJ, jstr } from './lib/runtime.mjs';

const T0 = 1795340000000000000n;
let srv;

before(async () => { srv = await startServer(); });
after(async () => { if (srv) await srv.cleanup(); });

function span(name, { traceId = rndHex(16), attributes = [], start = T0, end = T0 + 1000000n } = {}) {
  return { traceId, spanId: rndHex(8), name, kind: 1, startTimeUnixNano: String(start), endTimeUnixNano: String(end),
    attributes, status: {} };
}

function request1(spans, { service = 'rules', resourceAttrs = null, scope = { name: 'rules-scope' } } = {}) {
  const attrs = resourceAttrs || [{ key: 'service.name', value: { stringValue: service } }];
  return { resourceSpans: [{ resource: { attributes: attrs }, scopeSpans: [{ scope, spans }] }] };
}

/** POSTs req in the given encoding; returns {status, partial: {rejected, message} | null, error}. */
async function post(req, enc) {
  const pb = enc === 'pb';
  const body = pb ? encodeTraceRequestPb(req) : Buffer.from(JSON.stringify(req));
  const r = await postTraces(srv, body, { contentType: pb ? 'application/x-protobuf' : 'application/json' });
  const out = { status: r.status, partial: null, error: null, raw: r };
  if (r.status !== 200) {
    out.error = pb ? decodeRpcStatusPb(r.body).message : JSON.parse(r.body.toString()).message;
    return out;
  }
  if (pb) {
    const ps = decodeTraceResponsePb(r.body);
    if (ps) out.partial = { rejected: Number(ps.rejectedSpans || 0), message: ps.errorMessage || '' };
  } else {
    const ps = JSON.parse(r.body.toString() || '{}').partialSuccess;
    if (ps) out.partial = { rejected: Number(ps.rejectedSpans || 0), message: ps.errorMessage || '' };
  }
  return out;
}

async function trace(id) { return request(srv, 'GET', `/api/traces/${id}`); }

/** A value nested `depth` kvlists deep around a string (depth 0: the string). */
function nestKv(depth, leaf = 'deep') {
  let v = { stringValue: leaf };
  for (let d = 1; d <= depth; d++) v = { kvlistValue: { values: [{ key: `level${d}`, value: v }] } };
  return v;
}
function nestArr(depth, leaf = 'deep') {
  let v = { stringValue: leaf };
  for (let d = 1; d <= depth; d++) v = { arrayValue: { values: [v] } };
  return v;
}

const allSpans = (t) => t.batches.flatMap((b) => b.scopeSpans.flatMap((ss) => ss.spans));

describe('point 4: an accepted attribute renders; one depth limit, max_attr_depth', () => {
  for (const enc of ['pb', 'json']) {
    for (const [what, value] of [['kvlist 14 deep', nestKv(14)], ['kvlist 16 deep (the limit)', nestKv(16)],
      ['array 16 deep', nestArr(16)]]) {
      test(`${enc}: ${what} is stored and GET /api/traces answers 200 with the value intact`, async () => {
        const s = span(`deep-${enc}`, { attributes: [{ key: 'deep', value }] });
        // a service of its own: a source shows the last resource it was sent with
        const r = await post(request1([s], { resourceAttrs: [{ key: 'service.name', value: { stringValue: `depth-${enc}-${what}` } },
          { key: 'res.deep', value }] }), enc);
        assert.equal(r.status, 200, r.error);
        assert.equal(r.partial?.rejected || 0, 0, JSON.stringify(r.partial));
        const g = await trace(s.traceId);
        assert.equal(g.status, 200, `GET trace: ${g.body.toString().slice(0, 300)}`);
        const t = JSON.parse(g.body.toString());
        assert.deepEqual(normAttrs(allSpans(t)[0].attributes), normAttrs(s.attributes));
        assert.deepEqual(normAttrs(t.batches[0].resource.attributes.filter((a) => a.key === 'res.deep')),
          normAttrs([{ key: 'res.deep', value }]));
      });
    }

    for (const depth of [17, 100]) {
      test(`${enc}: a span with a value ${depth} deep is rejected alone (partial success naming max_attr_depth)`, async () => {
        const bad = span('too-deep', { attributes: [{ key: 'deep', value: nestKv(depth) }] });
        const good = span('beside-too-deep');
        const r = await post(request1([bad, good]), enc);
        assert.equal(r.status, 200, r.error);
        assert.equal(r.partial?.rejected, 1, JSON.stringify(r.partial));
        assert.match(r.partial.message, /max_attr_depth/);
        assert.doesNotMatch(r.partial.message, /max_nesting/);
        assert.equal((await trace(good.traceId)).status, 200);
        assert.equal((await trace(bad.traceId)).status, 404);
      });
    }

    test(`${enc}: a resource value 17 deep rejects its spans, naming max_attr_depth`, async () => {
      const s = span('deep-resource');
      const r = await post(request1([s], { resourceAttrs: [{ key: 'service.name', value: { stringValue: 'rules' } },
        { key: 'deep', value: nestKv(17) }] }), enc);
      assert.equal(r.status, 200, r.error);
      assert.equal(r.partial?.rejected, 1);
      assert.match(r.partial.message, /resource/);
      assert.match(r.partial.message, /max_attr_depth/);
    });

    test(`${enc}: a value too deep to decode at all is a 400 that names max_attr_depth`, async () => {
      const r = await post(request1([span('far-too-deep', { attributes: [{ key: 'd', value: nestKv(300) }] })]), enc);
      assert.equal(r.status, 400);
      assert.match(r.error, /max_attr_depth/);
    });
  }
});

describe('point 6: resources and scopes obey the value and attribute limits', () => {
  const big = 'n'.repeat(5 << 20); // 5 MB
  const cases = [
    ['a 5 MB service.name', { resourceAttrs: [{ key: 'service.name', value: { stringValue: big } }] }, /resource.*max_value_bytes/],
    ['a 5 MB service.instance.id', { resourceAttrs: [{ key: 'service.name', value: { stringValue: 'rules' } },
      { key: 'service.instance.id', value: { stringValue: big } }] }, /resource.*max_value_bytes/],
    ['a 5 MB scope name', { scope: { name: big } }, /scope.*max_value_bytes/],
    ['a 5 MB scope version', { scope: { name: 'x', version: big } }, /scope.*max_value_bytes/],
    ['20,000 resource attributes', { resourceAttrs: [{ key: 'service.name', value: { stringValue: 'rules' } },
      ...Array.from({ length: 20000 }, (_, i) => ({ key: `a${i}`, value: { intValue: String(i) } }))] }, /resource.*max_attrs_per_span/],
    ['20,000 scope attributes', { scope: { name: 's', attributes: Array.from({ length: 20000 },
      (_, i) => ({ key: `a${i}`, value: { intValue: String(i) } })) } }, /scope.*max_attrs_per_span/],
    ['a 5 MB resource attribute key', { resourceAttrs: [{ key: 'service.name', value: { stringValue: 'rules' } },
      { key: big, value: { stringValue: 'v' } }] }, /resource.*max_value_bytes/],
  ];
  for (const enc of ['pb', 'json']) {
    for (const [what, opts, re] of cases) {
      test(`${enc}: ${what} rejects the spans under it, naming the limit`, async () => {
        const spans = [span('under-limit-1'), span('under-limit-2')];
        const r = await post(request1(spans, opts), enc);
        assert.equal(r.status, 200, r.error);
        assert.equal(r.partial?.rejected, 2, JSON.stringify(r.partial));
        assert.match(r.partial.message, re);
        for (const s of spans) assert.equal((await trace(s.traceId)).status, 404);
      });
    }
  }
  test('no service was made from the rejected resources', async () => {
    const j = await getJson(srv, '/api/v1/services');
    assert.ok(j.services.every((s) => s.name.length < 1000), j.services.map((s) => s.name.slice(0, 40)).join(','));
  });
});

describe('point 9: names are kept exactly, or refused', () => {
  const nul = (s) => Buffer.from(s.replace('|', '\0'), 'utf8');
  test('pb: a span name with a NUL is refused, naming the field; "a" stays "a", apart', async () => {
    const bad = span(nul('nul-name|tail'));
    const good = span('nul-name');
    const r = await post(request1([bad, good], { service: 'names-pb' }), 'pb');
    assert.equal(r.status, 200, r.error);
    assert.equal(r.partial?.rejected, 1, JSON.stringify(r.partial));
    assert.match(r.partial.message, /name/);
    assert.match(r.partial.message, /NUL/);
    assert.equal((await trace(bad.traceId)).status, 404);
    const t = JSON.parse((await trace(good.traceId)).body.toString());
    assert.equal(allSpans(t)[0].name, 'nul-name');
  });

  const pbCases = [
    ['service.name with a NUL', { resourceAttrs: [{ key: 'service.name', value: { stringValue: nul('svc|x') } }] }, [], /resource.*NUL/],
    ['service.name that is not UTF-8', { resourceAttrs: [{ key: 'service.name', value: { stringValue: Buffer.from([0x73, 0xff, 0x76]) } }] }, [], /resource.*UTF-8/],
    ['a span attribute key with a NUL', {}, [{ key: nul('k|x'), value: { stringValue: 'v' } }], /attributes.*NUL/],
    ['a span attribute value that is not UTF-8', {}, [{ key: 'k', value: { stringValue: Buffer.from([0xc3, 0x28]) } }], /attributes.*UTF-8/],
    ['a scope name with a NUL', { scope: { name: nul('sc|x') } }, [], /scope.*NUL/],
  ];
  for (const [what, opts, attributes, re] of pbCases) {
    test(`pb: ${what} is refused with a message naming the field`, async () => {
      const s = span('names-case', { attributes });
      const r = await post(request1([s], { service: 'names-pb', ...opts }), 'pb');
      assert.equal(r.status, 200, r.error);
      assert.equal(r.partial?.rejected, 1, JSON.stringify(r.partial));
      assert.match(r.partial.message, re);
      assert.equal((await trace(s.traceId)).status, 404);
    });
  }

  test('json: "\\u0000" in a span name or a service.name is refused the same way', async () => {
    const bad = span('json-nul\u0000tail');
    const good = span('json-nul');
    let r = await post(request1([bad, good], { service: 'names-json' }), 'json');
    assert.equal(r.partial?.rejected, 1, JSON.stringify(r.partial));
    assert.match(r.partial.message, /name.*NUL/);
    r = await post(request1([span('x')], { service: 'svc\u0000x' }), 'json');
    assert.equal(r.partial?.rejected, 1, JSON.stringify(r.partial));
    assert.match(r.partial.message, /resource.*NUL/);
  });

  test('json: a body that is not UTF-8 is not JSON: 400', async () => {
    const body = Buffer.concat([Buffer.from('{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"a'),
      Buffer.from([0xff]), Buffer.from('"}}]}}]}')]);
    const r = await postTraces(srv, body, { contentType: 'application/json' });
    assert.equal(r.status, 400);
    assert.match(JSON.parse(r.body.toString()).message, /UTF-8/);
  });

  test('names in any script are kept byte for byte on both paths', async () => {
    const name = 'caf\u00e9 \u{1F642} \uFFFD \u65e5\u672c';
    for (const enc of ['pb', 'json']) {
      const s = span(name);
      const r = await post(request1([s], { service: name }), enc);
      assert.equal(r.partial, null, JSON.stringify(r.partial));
      const t = JSON.parse((await trace(s.traceId)).body.toString());
      assert.equal(allSpans(t)[0].name, name);
      assert.equal(t.batches[0].resource.attributes.find((a) => a.key === 'service.name').value.stringValue, name);
    }
    const rep = await ingestOk(srv, 'gctrace', { service: name, process_start: String(LAUNCH_NS) }, fixture('runtime-stderr.log'));
    const src = (await getJ(srv, '/api/v1/sources')).sources.find((x) => x.id === rep.source_id);
    assert.equal(src.service, name);
  });
});

describe('point 13: time and duration parameters have one strict grammar', () => {
  const gc = fixture('runtime-stderr.log');
  for (const [k, v] of [['time', '+5'], ['time', ' 5'], ['time', '5 '], ['duration', '+5'], ['process_start', ' 1'],
    ['time', '9223372036854775808']]) {
    test(`runtime ingest: ${k}=${JSON.stringify(v)} -> 400`, async () => {
      assertJsonError(await ingest(srv, 'gctrace', { service: 'grammar', [k]: v }, gc), 400, `${k}=${v}`);
    });
  }

  test('runtime ingest: time + duration past INT64_MAX -> 400, and no source gets a negative time', async () => {
    const r = await ingest(srv, 'goroutine', { service: 'overflow', time: '9223372036854775000', duration: '10000' },
      fixture('goroutines-debug2-1795334476463613272.txt'));
    assert.match(assertJsonError(r, 400, 'overflow'), /time \+ duration/);
    for (const s of (await getJ(srv, '/api/v1/sources')).sources) assert.ok(s.first_ns >= 0n && s.last_ns >= 0n, jstr(s));
  });

  test('queries: start of 20 digits is refused like any time past 2262', async () => {
    for (const v of ['99999999999999999999', '9300000000', '+5', '%205', '1e9']) {
      const r = await request(srv, 'GET', `/api/search?start=${v}`);
      assert.equal(r.status, 400, `start=${v}: ${r.body.toString()}`);
      assert.match(JSON.parse(r.body.toString()).error, /start/);
    }
    assert.equal((await request(srv, 'GET', '/api/search?start=2026-11-22T08:09:00Z')).status, 200);
  });

  test('queries: minDuration needs a unit (except 0)', async () => {
    for (const v of ['1', '150', '1%20s', '-1s']) {
      const r = await request(srv, 'GET', `/api/search?minDuration=${v}`);
      assert.equal(r.status, 400, `minDuration=${v}: ${r.body.toString()}`);
      assert.match(JSON.parse(r.body.toString()).error, /minDuration/);
    }
    for (const v of ['0', '1ns', '1.5s', '1h30m']) assert.equal((await request(srv, 'GET', `/api/search?minDuration=${v}`)).status, 200);
  });
});

describe('point 13: numbers are written plainly', () => {
  test('durationMs of a 150 ms trace is written 150, not 1.5e+02', async () => {
    const s = span('exactly-150ms', { end: T0 + 150000000n });
    const r = await post(request1([s], { service: 'dur-fmt' }), 'json');
    assert.equal(r.status, 200);
    const g = await request(srv, 'GET', `/api/search?service=dur-fmt&start=${T0 / 1000000000n - 10n}`);
    const text = g.body.toString();
    assert.match(text, /"durationMs":150[,}]/, text);
    assert.doesNotMatch(text, /e\+/);
  });
});

describe('point 13: a zstd window refused says so', () => {
  test('a 9-byte zstd frame header asking for a huge window: the answer says so, not "after decompression"', async () => {
    // magic, frame header descriptor 0 (window descriptor follows), window exponent 31 (2^41), a block header
    const body = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xf8, 0x01, 0x00, 0x00]);
    const r = await postTraces(srv, body, { contentType: 'application/json', encoding: 'zstd' });
    assert.equal(r.status, 413);
    const msg = JSON.parse(r.body.toString()).message;
    assert.match(msg, /window/);
    assert.doesNotMatch(msg, /after decompression/);
    const r2 = await ingest(srv, 'gctrace', { service: 'zw' }, body, { headers: { 'content-encoding': 'zstd' } });
    assert.match(assertJsonError(r2, 413, 'runtime zstd window'), /window/);
  });
});

describe('point 9: names given as ingest parameters are kept exactly, or refused', () => {
  const gc = fixture('runtime-stderr.log');
  for (const [param, raw, re] of [['service', 'a%00b', /service.*NUL/], ['service', 'a%FFb', /service.*UTF-8/],
    ['instance', 'i%00x', /instance.*NUL/], ['instance', '%C3', /instance.*UTF-8/]]) {
    test(`runtime ingest: ${param}=${raw} -> 400 naming the parameter`, async () => {
      const qs = param === 'service' ? `service=${raw}` : `service=ok&instance=${raw}`;
      const r = await request(srv, 'POST', `/api/v1/ingest/gctrace?${qs}`, { body: gc });
      assert.match(assertJsonError({ ...r, json: null }, 400, `${param}=${raw}`), re);
    });
  }

  test('Pyroscope: a name with a NUL or bad UTF-8 -> 400', async () => {
    for (const [name, re] of [['app%00x.cpu', /NUL/], ['app%FF.cpu', /UTF-8/], ['app.cpu%7Binstance%3Di%00x%7D', /NUL/]]) {
      const r = await request(srv, 'POST', `/ingest?name=${name}&format=pprof`, { body: Buffer.from('x') });
      assert.match(assertJsonError({ ...r, json: null }, 400, name), re);
    }
  });
});

describe('point 13: what names nothing or holds nothing is refused', () => {
  test('Pyroscope: name={} (no application name) -> 400', async () => {
    for (const name of ['%7B%7D', '%7Binstance%3Dx%7D', '.cpu']) {
      const r = await request(srv, 'POST', `/ingest?name=${name}&format=pprof`, { body: fixture('cpu-1795334476463713030.pb.gz') });
      assert.match(assertJsonError({ ...r, json: null }, 400, `name=${name}`), /name/);
    }
    assert.ok(!(await getJ(srv, '/api/v1/sources')).sources.some((s) => s.service === ''));
  });

  test('a debug=1 dump with a header but no readable record -> 400, nothing stored', async () => {
    const r = await ingest(srv, 'goroutine', { service: 'debug1-junk' },
      Buffer.from('goroutine profile: total 3\n\nnot a record\n# also not\n'));
    assert.match(assertJsonError(r, 400, 'debug=1 junk'), /debug=1/);
    assert.ok(!(await getJ(srv, '/api/v1/sources')).sources.some((s) => s.service === 'debug1-junk'));
  });
});

describe('point 13: data older than the retention window is accepted with a warning', () => {
  let ret;
  before(async () => { ret = await startServer({ args: ['--retention', '1h'] }); });
  after(async () => { if (ret) await ret.stop(); });

  const old = BigInt(Date.now() - 2 * 3600 * 1000) * 1000000n;
  test('OTLP: partial success with rejected_spans 0 and a message naming --retention (both encodings)', async () => {
    for (const pb of [true, false]) {
      const req = request1([span('old', { start: old, end: old + 1000n }), span('new', { start: old + 7200000000000n, end: old + 7200000001000n })]);
      const r = await postTraces(ret, pb ? encodeTraceRequestPb(req) : Buffer.from(JSON.stringify(req)),
        { contentType: pb ? 'application/x-protobuf' : 'application/json' });
      assert.equal(r.status, 200);
      const ps = pb ? decodeTraceResponsePb(r.body) : JSON.parse(r.body.toString()).partialSuccess;
      assert.ok(ps, 'a warning is expected');
      assert.equal(Number(ps.rejectedSpans || 0), 0);
      assert.match(ps.errorMessage, /1 span.*retention/);
    }
  });

  test('runtime ingest: the report lists the warning', async () => {
    const rep = await ingestOk(ret, 'goroutine', { service: 'old-rt', time: String(old) },
      fixture('goroutines-debug2-1795334476463613272.txt'));
    assert.ok(rep.errors.some((e) => /retention/.test(e)), JSON.stringify(rep.errors));
    const fresh = await ingestOk(ret, 'goroutine', { service: 'old-rt' }, fixture('goroutines-debug2-1795334476463613272.txt'));
    assert.deepEqual(fresh.errors, []);
  });
});

test('the server stops cleanly', async () => {
  await srv.stop();
});

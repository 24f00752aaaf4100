// URL state round trip (app/lib/route.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRoute, formatRoute, encodeSeg, decodeSeg, samePage, normalizeTraceId, nsToMsParam, msParamToNs, hashToPath, spanUrl } from '../app/lib/route.js';

const split = (url) => { const u = new URL(url, 'http://x'); return [u.pathname, u.search]; };
const roundTrip = (st) => { const url = formatRoute(st); return [url, parseRoute(...split(url))]; };

test('every view survives a round trip through its URL', () => {
  const states = [
    { view: 'home' },
    { view: 'service', service: 'checkout' },
    { view: 'operation', service: 'checkout', operation: 'GET /checkout' },
    { view: 'operation', service: 'shop.checkout', operation: 'db.query' },
    { view: 'compare', service: 'a~b', operation: 'x.y~z %2E ü ?&#' },
    { view: 'trace', traceId: 'd3779ae135f5eb93dab67b4afafed1ac' },
    { view: 'trace', traceId: 'd3779ae135f5eb93dab67b4afafed1ac', span: '410e019b1857534d', t0: -1500000, t1: 152496233 },
    { view: 'trace', traceId: 'd3779ae135f5eb93dab67b4afafed1ac', span: '410e019b1857534d', snapshot: 7 },
    { view: 'trace', traceId: 'd3779ae135f5eb93dab67b4afafed1ac', span: '410e019b1857534d', goroutine: 25 },
    { view: 'snapshot', snapshotId: 12 },
    { view: 'snapshot', snapshotId: 12, traceId: 'd3779ae135f5eb93dab67b4afafed1ac' },
    { view: 'source', sourceId: 3 },
    { view: 'source', sourceId: 3, t0: -2500000, t1: 6000000000 },
  ];
  for (const st of states) {
    const [url, back] = roundTrip(st);
    assert.deepEqual(back, st, url);
  }
});

test('names are percent-encoded path segments', () => {
  assert.equal(formatRoute({ view: 'operation', service: 'shop.checkout', operation: 'db.query' }), '/operation/shop.checkout/db.query');
  assert.equal(formatRoute({ view: 'operation', service: 'a', operation: 'GET /checkout' }), '/operation/a/GET%20%2Fcheckout');
  assert.equal(formatRoute({ view: 'compare', service: 'a', operation: 'x?y#z' }), '/compare/a/x%3Fy%23z');
  assert.equal(encodeSeg('a~b.c'), 'a~b.c');
  assert.equal(decodeSeg('GET%20%2Fcheckout'), 'GET /checkout');
  assert.equal(decodeSeg('%E0%A4%A'), '%E0%A4%A', 'bad escapes are kept as they are');
});

test('zoom is in milliseconds from the trace start, to the nanosecond', () => {
  assert.equal(nsToMsParam(1500000), '1.5');
  assert.equal(nsToMsParam(-2), '-0.000002');
  assert.equal(nsToMsParam(100e6), '100');
  assert.equal(msParamToNs('1.5'), 1500000);
  assert.equal(msParamToNs('x'), null);
  assert.equal(msParamToNs(''), null);
  const st = parseRoute('/trace/D3779AE135F5EB93DAB67B4AFAFED1AC', '?t0=-0.5&t1=12.345678&span=ABC');
  assert.deepEqual(st, { view: 'trace', traceId: 'd3779ae135f5eb93dab67b4afafed1ac', span: 'abc', t0: -500000, t1: 12345678 });
  assert.equal(parseRoute('/trace/x', '?t0=5&t1=1').t0, undefined, 'an empty range is ignored');
});

test('unknown paths are "notfound"', () => {
  assert.deepEqual(parseRoute('/nope'), { view: 'notfound', path: '/nope' });
  assert.equal(parseRoute('/operation/only-one').view, 'notfound');
  assert.equal(parseRoute('/snapshot/abc').view, 'notfound');
  assert.equal(parseRoute('/source/abc').view, 'notfound');
  assert.equal(parseRoute('/source/1/2').view, 'notfound');
  assert.deepEqual(parseRoute('/'), { view: 'home' });
  assert.deepEqual(parseRoute(''), { view: 'home' });
});

test('a source page is /source/<id>, one page per id', () => {
  assert.equal(formatRoute({ view: 'source', sourceId: 42 }), '/source/42');
  assert.deepEqual(parseRoute('/source/42'), { view: 'source', sourceId: 42 });
  assert.equal(formatRoute({ view: 'source', sourceId: 42, t0: 1500000, t1: 2e9 }), '/source/42?t0=1.5&t1=2000');
  assert.equal(parseRoute('/source/42', '?t0=5&t1=1').t0, undefined, 'an empty range is ignored');
  assert.ok(samePage({ view: 'source', sourceId: 1 }, { view: 'source', sourceId: 1, t0: 1, t1: 2 }), 'zoom stays on the page');
  assert.ok(!samePage({ view: 'source', sourceId: 1 }, { view: 'source', sourceId: 2 }));
});

test('same page: a trace with another span or zoom is the same page', () => {
  const a = { view: 'trace', traceId: 'x', span: '1' };
  assert.ok(samePage(a, { view: 'trace', traceId: 'x', t0: 1, t1: 2 }));
  assert.ok(!samePage(a, { view: 'trace', traceId: 'y' }));
  assert.ok(!samePage(a, { view: 'home' }));
  assert.ok(samePage({ view: 'operation', service: 's', operation: 'o' }, { view: 'operation', service: 's', operation: 'o' }));
});

test('trace ids are normalised and checked', () => {
  assert.equal(normalizeTraceId(' D3779AE135F5EB93DAB67B4AFAFED1AC '), 'd3779ae135f5eb93dab67b4afafed1ac');
  assert.equal(normalizeTraceId('0xd3779ae135f5eb93dab67b4afafed1ac'), 'd3779ae135f5eb93dab67b4afafed1ac');
  assert.equal(normalizeTraceId('d3779ae135f5eb93'), null);
  assert.equal(normalizeTraceId('zz779ae135f5eb93dab67b4afafed1ac'), null);
  assert.equal(normalizeTraceId(null), null);
});

test('hash-form links become the canonical path form', () => {
  const T = 'd3779ae135f5eb93dab67b4afafed1ac', S = '410e019b1857534d';
  // the forms the docs promise (docs/GRAFANA.md, web/app/lib/route.js)
  assert.equal(hashToPath(`#/trace/${T}/span/${S}`), `/trace/${T}?span=${S}`);
  assert.equal(hashToPath(`#/trace/${T}?span=${S}`), `/trace/${T}?span=${S}`);
  assert.equal(hashToPath(`#/trace/${T}`), `/trace/${T}`);
  assert.equal(hashToPath(`#/trace/${T}/`), `/trace/${T}`);
  // ids as a user may paste them: upper case comes out lower case, like the path form
  assert.equal(hashToPath(`#/trace/${T.toUpperCase()}/span/${S.toUpperCase()}`), `/trace/${T}?span=${S}`);
  // the span form keeps the zoom; the span in the path wins over one in the query
  assert.equal(hashToPath(`#/trace/${T}/span/${S}?t0=-5&t1=60.5`), `/trace/${T}?span=${S}&t0=-5&t1=60.5`);
  assert.equal(hashToPath(`#/trace/${T}/span/${S}?span=0000000000000001`), `/trace/${T}?span=${S}`);
  // any other view in the hash form, and an unknown one (left for "No such page")
  assert.equal(hashToPath('#/operation/checkout/GET%20%2Fcheckout'), '/operation/checkout/GET%20%2Fcheckout');
  assert.equal(hashToPath('#/'), '/');
  assert.equal(hashToPath('#/no/such/page'), '/no/such/page');
  assert.equal(hashToPath(`#/trace/${T}/span`), `/trace/${T}/span`);
  // not hash links: a plain anchor, nothing
  for (const h of ['', '#', '#section', 'trace/x', null, undefined]) assert.equal(hashToPath(h), null, String(h));
  // what the page then parses is the span
  const u = new URL(hashToPath(`#/trace/${T}/span/${S}`), 'http://x');
  assert.deepEqual(parseRoute(u.pathname, u.search), { view: 'trace', traceId: T, span: S });
});

test('a span\'s link is absolute and canonical', () => {
  const T = 'd3779ae135f5eb93dab67b4afafed1ac', S = '410e019b1857534d';
  assert.equal(spanUrl('http://127.0.0.1:4318', T, S), `http://127.0.0.1:4318/trace/${T}?span=${S}`);
  assert.equal(spanUrl('https://mw.example.com/', T, S), `https://mw.example.com/trace/${T}?span=${S}`);
});

test('with several shards, a source or snapshot link says whose id it is (shard), and round-trips', () => {
  const A = 'http://10.0.0.1:4318';
  const src = { view: 'source', sourceId: 1, shard: A };
  assert.equal(formatRoute(src), `/source/1?shard=${encodeURIComponent(A)}`);
  assert.deepEqual(parseRoute('/source/1', `?shard=${encodeURIComponent(A)}`), src);
  assert.equal(samePage(src, { view: 'source', sourceId: 1, shard: 'http://10.0.0.2:4318' }), false, 'source 1 of another shard is another page');
  assert.equal(samePage(src, { view: 'source', sourceId: 1 }), false);
  const snap = { view: 'snapshot', snapshotId: 3, traceId: 'ab', shard: A };
  assert.deepEqual(parseRoute(...formatRoute(snap).split(/(?=\?)/)), snap);
  const tr = { view: 'trace', traceId: 'ab', snapshot: 3, shard: A };
  assert.deepEqual(parseRoute(...formatRoute(tr).split(/(?=\?)/)), tr);
  // no shard on one server: the links are as before
  assert.equal(formatRoute({ view: 'snapshot', snapshotId: 3, traceId: 'ab' }), '/snapshot/3?trace=ab');
  assert.equal(formatRoute({ view: 'trace', traceId: 'ab', snapshot: 3 }), '/trace/ab?snapshot=3');
});

// Attacks on HTTP framing and the request line, sent over raw sockets as an
// attacker (or a proxy that frames differently) would. A request whose
// framing is ambiguous is refused with 400 and its connection closed, so that
// nothing after its headers is read as a second, smuggled request; a request
// line that would exhaust or fool the parser is refused at once; refusals of a
// body reach a client that is still sending it, and one that waits for
// 100 Continue gets its refusal instead.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer, request, postTraces } from './lib/server.mjs';
import { waitFor } from './lib/wait.mjs';

const SLOW = process.env.MW_SLOW ? 6 : 1;
const MAX_BODY = 1024 * 1024;
let srv;

before(async () => {
  // max-request-memory of 2 MiB: two uploads held open take most of it, so
  // that a third request is refused with 503 at its headers (an overload on
  // demand), while one that could never fit is 413
  srv = await startServer({ args: ['--max-body-bytes', String(MAX_BODY), '--max-request-memory', String(2 * MAX_BODY)] });
});
after(async () => { if (srv) await srv.cleanup(); });

/**
 * Writes data (a string, or an array of strings and pauses in ms) on a fresh
 * connection and collects what comes back until the server closes it or
 * waitMs passes. Resolves {text, closed, ms}.
 */
function raw(data, { waitMs = 10000 * SLOW, until = null } = {}) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port: srv.port });
    const t0 = performance.now();
    let buf = Buffer.alloc(0), done = false;
    const finish = (closed) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ text: buf.toString('latin1'), closed, ms: performance.now() - t0 });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    sock.on('data', (d) => { buf = Buffer.concat([buf, d]); if (until && until(buf.toString('latin1'))) finish(false); });
    sock.on('error', () => {}); // a reset after the answer is read as a close
    sock.on('close', () => finish(true));
    (async () => {
      for (const part of Array.isArray(data) ? data : [data]) {
        if (typeof part === 'number') await new Promise((r) => setTimeout(r, part));
        else if (!sock.destroyed) sock.write(part);
      }
    })();
  });
}

/** The responses in a byte stream: [{status, headers, body}] (bodies by Content-Length). */
function responses(text) {
  const out = [];
  let rest = text;
  while (rest.startsWith('HTTP/1.')) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const lines = rest.slice(0, end).split('\r\n');
    const status = Number(lines[0].split(' ')[1]);
    const headers = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    const len = Number(headers['content-length'] || 0);
    out.push({ status, headers, body: rest.slice(end + 4, end + 4 + len) });
    rest = rest.slice(end + 4 + len);
  }
  return out;
}

const SMUGGLED = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';

/** Asserts exactly one answer, a JSON error of `status` matching `re`, then the close. */
function assertRefused(r, status, re) {
  const rs = responses(r.text);
  assert.ok(rs.length >= 1, `no answer (closed=${r.closed} after ${r.ms.toFixed(0)} ms): ${JSON.stringify(r.text.slice(0, 300))}`);
  assert.equal(rs[0].status, status, r.text.slice(0, 400));
  assert.match(rs[0].headers['content-type'], /^application\/json/);
  assert.match(JSON.parse(rs[0].body).error, re);
  assert.equal(rs.length, 1, `only the refusal is answered, nothing after its headers: ${r.text}`);
  assert.equal(rs[0].headers.connection, 'close');
  assert.ok(r.closed, 'the connection is closed after the refusal');
}

describe('ambiguous framing is refused with 400 and the connection closed', () => {
  test('two different Content-Length headers, then a request in the body', async () => {
    const r = await raw('POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
      `Content-Length: 2\r\nContent-Length: ${2 + SMUGGLED.length}\r\n\r\n{}` + SMUGGLED);
    assertRefused(r, 400, /Content-Length/);
  });

  test('"Content-Length :" with a space before the colon, then a request in the body', async () => {
    const r = await raw('POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
      `Content-Length : ${SMUGGLED.length}\r\n\r\n` + SMUGGLED);
    assertRefused(r, 400, /space before the colon.*Content-Length/);
  });

  test('Content-Length and Transfer-Encoding together, then another request on the connection', async () => {
    const r = await raw('POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
      `Content-Length: 60\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n` + SMUGGLED);
    assertRefused(r, 400, /both Content-Length and Transfer-Encoding/);
  });

  test('two Transfer-Encoding headers, or one in HTTP/1.0', async () => {
    const r = await raw('POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
      'Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n2\r\n{}\r\n0\r\n\r\n' + SMUGGLED);
    assertRefused(r, 400, /Transfer-Encoding/);
    // HTTP/1.0 has no transfer codings: a proxy may frame it by Content-Length or by the close
    assertRefused(await raw('POST /v1/traces HTTP/1.0\r\nContent-Type: application/json\r\n' +
      'Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n' + SMUGGLED), 400, /HTTP\/1\.0/);
  });

  test('an unknown Transfer-Encoding is answered 501 at once', async () => {
    const r = await raw('POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
      'Transfer-Encoding: gzip\r\n\r\n{}', { waitMs: 5000 * SLOW });
    assertRefused(r, 501, /Transfer-Encoding "gzip" is not supported/);
  });

  test('HTTP/1.1 without Host, or with two, is 400; HTTP/1.0 without Host is served', async () => {
    assertRefused(await raw('GET /healthz HTTP/1.1\r\n\r\n'), 400, /Host/);
    assertRefused(await raw('GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'), 400, /Host/);
    const ok = responses((await raw('GET /healthz HTTP/1.0\r\n\r\n')).text);
    assert.equal(ok[0].status, 200);
  });

  test('a header name that is not a token (a space inside it) is 400', async () => {
    const r = await raw('POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent Length: 2\r\n\r\n{}');
    assertRefused(r, 400, /not a token/);
  });
});

describe('the request line', () => {
  test('1,000 query parameters (a 7 KB URL) are answered 414 at once, naming max_query_params', async () => {
    const q = Array.from({ length: 1000 }, (_, i) => `a${i}=1`).join('&');
    const r = await raw(`GET /api/v1/services?${q} HTTP/1.1\r\nHost: x\r\n\r\n`);
    const rs = responses(r.text);
    assert.ok(rs.length === 1, `an answer, not silence (closed=${r.closed} after ${r.ms.toFixed(0)} ms)`);
    assert.equal(rs[0].status, 414);
    assert.match(JSON.parse(rs[0].body).error, /1000 parameters.*max_query_params/);
    assert.ok(r.ms < 5000 * SLOW, `answered at once (${r.ms.toFixed(0)} ms)`);
    // a URI over the length limit, with few parameters
    const long = responses((await raw(`GET /api/v1/services?service=${'s'.repeat(9000)} HTTP/1.1\r\nHost: x\r\n\r\n`)).text);
    assert.equal(long[0].status, 414);
    assert.match(JSON.parse(long[0].body).error, /max_uri_bytes/);
  });

  test('a NUL or control character in the path is 400 everywhere, even where the rest names a stored trace', async () => {
    const id = 'f00dfeed'.repeat(4);
    const body = { resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: id, spanId: '0123456789abcdef', name: 'nul',
      startTimeUnixNano: '1795334474000000000', endTimeUnixNano: '1795334474000100000' }] }] }] };
    assert.equal((await postTraces(srv, body)).status, 200);
    assert.equal((await request(srv, 'GET', `/api/traces/${id}`)).status, 200);
    for (const p of [`/api/traces/${id}%00`, `/api/traces/${id}%00.json`, `/api/traces/${id}%0a`, '/healthz%00',
      '/%00', '/api/v1/services%1b']) {
      const r = await request(srv, 'GET', p);
      assert.equal(r.status, 400, `${p}: ${r.status} ${r.body}`);
      assert.match(JSON.parse(r.body).error, /control character/, p);
    }
    // a raw control character in the request line
    const rs = responses((await raw(`GET /api/traces/${id}\x01 HTTP/1.1\r\nHost: x\r\n\r\n`)).text);
    assert.equal(rs[0].status, 400);
    // a NUL in a query value would cut it short: refused too
    const q = await request(srv, 'GET', '/api/v1/services?service=a%00b');
    assert.equal(q.status, 400);
    assert.match(JSON.parse(q.body).error, /NUL/);
  });

  test('405 answers carry Allow with the methods of that path', async () => {
    let r = await request(srv, 'DELETE', '/v1/traces');
    assert.equal(r.status, 405);
    assert.equal(r.headers.allow, 'POST');
    assert.match(JSON.parse(r.body).error, /DELETE is not allowed on \/v1\/traces/);
    r = await request(srv, 'POST', '/api/v1/services', { body: Buffer.from('{}'), headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 405);
    assert.equal(r.headers.allow, 'GET, HEAD');
    r = await request(srv, 'PUT', '/api/traces/' + '0'.repeat(32));
    assert.equal(r.status, 405);
    assert.equal(r.headers.allow, 'GET, HEAD');
    // .../explain takes a POST (a federated sub-request), its neighbour .../timeline does not
    r = await request(srv, 'POST', `/api/v1/traces/${'0'.repeat(31)}1/timeline`, { body: Buffer.from('{}'), headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 405);
    assert.equal(r.headers.allow, 'GET, HEAD');
    assert.match(JSON.parse(r.body).error, /POST is not allowed on \/api\/v1\/traces\/0+1\/timeline: use GET, HEAD/);
  });
});

describe('refusals of a body reach the client', () => {
  const jsonHead = (len, extra = '') => 'POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
    `Content-Length: ${len}\r\n${extra}\r\n`;

  test('Expect: 100-continue gets the refusal (503 overloaded, 413 too large) instead of 100 Continue', async () => {
    const head = (len) => jsonHead(len, 'Expect: 100-continue\r\n');
    // two protobuf uploads of 900 KB each, begun and held: their memory is
    // counted from their headers on
    const holders = [0, 1].map(() => net.connect({ host: '127.0.0.1', port: srv.port }));
    for (const h of holders) {
      h.on('error', () => {});
      h.write('POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n' +
        'Content-Length: 900000\r\n\r\n\x0a');
    }
    let r;
    try {
      // 30 KB of JSON needs about 15 times that to decode: alone it fits,
      // beside the holders it does not
      await waitFor('the holders to be counted', async () => {
        r = await raw(head(30000), { until: (t) => t.includes('\r\n\r\n') });
        return /^HTTP\/1\.1 503 /.test(r.text);
      }, { timeoutMs: 5000 * SLOW });
      assert.ok(!/100 Continue/.test(r.text), `no 100 Continue during overload: ${r.text.slice(0, 200)}`);
    } finally {
      for (const h of holders) h.destroy();
    }
    r = await raw(head(2 * MAX_BODY), { until: (t) => t.includes('\r\n\r\n') });
    assert.match(r.text, /^HTTP\/1\.1 413 /, `no 100 Continue for a body over the limit: ${r.text.slice(0, 200)}`);
    // and one that fits is let in
    r = await raw(head(2), { until: (t) => t.includes('\r\n\r\n') });
    assert.match(r.text, /^HTTP\/1\.1 100 Continue/);
  });

  test('a body over the size limit sent without Expect gets its 413, not a reset', async () => {
    for (const size of [MAX_BODY + 1, 3 * MAX_BODY / 2]) {
      const r = await request(srv, 'POST', '/v1/traces', { body: Buffer.alloc(size, 0x20), headers: { 'content-type': 'application/json' } });
      assert.equal(r.status, 413);
      assert.match(JSON.parse(r.body).message, /max_body_bytes/);
    }
    // the same connection goes on: a drained refusal needs no close
    const next = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';
    const rs = responses((await raw([jsonHead(MAX_BODY + 10), ' '.repeat(MAX_BODY + 10), next], { until: (t) => responses(t).length >= 2 })).text);
    assert.deepEqual(rs.map((x) => x.status), [413, 200]);
  });

  test('beyond the drain bound, the refusal is still written before the connection closes', async () => {
    // chunked, so that its size is unknown at the headers: refused once past
    // max_body_bytes, then read and dropped up to twice the limit + 64 KiB
    // in all; this sends 4 MiB
    const chunk = ' '.repeat(64 * 1024);
    const parts = ['POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n'];
    for (let i = 0; i < 64; i++) parts.push(`${chunk.length.toString(16)}\r\n${chunk}\r\n`, 5);
    const r = await raw(parts);
    const rs = responses(r.text);
    assert.ok(rs.length === 1, `an answer before the close: ${JSON.stringify(r.text.slice(0, 200))}`);
    assert.equal(rs[0].status, 413);
    assert.match(JSON.parse(rs[0].body).error, /dropped up to/);
    assert.ok(r.closed);
  });
});

test('the server is still well after all this', async () => {
  assert.equal((await request(srv, 'GET', '/healthz')).status, 200);
  await srv.stop();
});

test('the server stops cleanly after all of it (exit 0, nothing unexpected logged)', async () => {
  await srv.stop();
});

// Slow clients cannot hold the server: connections that send nothing are
// closed after --conn-timeout, and the connections one address may hold are
// capped (--max-connections-per-ip), so that clients elsewhere are still
// served while one address trickles half-sent requests; headers that trickle
// in are cut off after --header-timeout, so that the trickling address is
// served again too, and a body that trickles in after --request-timeout, with
// a 408 that says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import http from 'node:http';
import { startServer, sleep } from './lib/server.mjs';
import { waitFor } from './lib/wait.mjs';

const SLOW = process.env.MW_SLOW ? 6 : 1;

function getFrom(port, localAddress) {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/healthz', localAddress, agent: false, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, ms: performance.now() - t0 }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

test('half-sent requests from one address neither hold the server nor live past the timeout', async () => {
  const s = await startServer({ args: ['--conn-timeout', '2s', '--max-connections-per-ip', '40'] });
  const socks = [];
  try {
    let refused = 0, closedEarly = 0;
    for (let i = 0; i < 60; i++) {
      const sock = net.connect({ host: '127.0.0.1', port: s.port });
      sock.on('error', () => {});
      sock.on('close', () => { closedEarly++; });
      sock.write('POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'); // never finished
      socks.push(sock);
    }
    await waitFor('the connections past the per-address cap to be refused', () => closedEarly >= 15, { timeoutMs: 10000 });
    refused = closedEarly;
    assert.ok(refused >= 15, `connections past the per-address cap are refused (${refused} of 60 closed)`);
    // another address is served at once
    const other = await getFrom(s.port, '127.0.0.2');
    assert.equal(other.status, 200);
    assert.ok(other.ms < 1000, `served in ${other.ms.toFixed(1)} ms`);
    // the half-sent ones are dropped after the timeout
    const open = () => socks.filter((k) => !k.destroyed && k.readyState === 'open').length;
    await waitFor('the idle connections to be closed', () => open() === 0, { timeoutMs: 15000 });
    assert.equal(open(), 0, 'every idle connection was closed');
    // and the address is served again
    assert.equal((await getFrom(s.port, '127.0.0.1')).status, 200);
  } finally {
    for (const k of socks) k.destroy();
    await s.stop();
  }
});

test('a body that trickles in is cut off after --request-timeout, and others are served meanwhile', async () => {
  const s = await startServer({ args: ['--request-timeout', '2s', '--conn-timeout', '30s'],
    allowLog: [/level=warn msg="request body too slow: closing" url=\/v1\/traces after_s=2$/] });
  try {
    const sock = net.connect({ host: '127.0.0.1', port: s.port });
    sock.on('error', () => {});
    let closedAt = 0;
    const t0 = performance.now();
    sock.on('close', () => { closedAt = performance.now() - t0; });
    let answer = '';
    sock.on('data', (d) => { answer += d.toString(); });
    sock.write('POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n');
    const drip = setInterval(() => { if (!sock.destroyed) sock.write('{'); }, 250); // a byte every 250 ms: never idle
    const other = await getFrom(s.port, '127.0.0.1');
    assert.equal(other.status, 200, 'others are served while it drips');
    try {
      await waitFor('the dripping request to be cut off', () => closedAt, { timeoutMs: 10000, everyMs: 50 });
    } finally {
      clearInterval(drip);
    }
    assert.ok(closedAt > 1500 && closedAt < 8000, `the dripping request was cut off after about 2 s (${closedAt.toFixed(0)} ms)`);
    assert.match(s.stderr, /request body too slow/);
    // and the sender is told why before the close
    assert.match(answer, /^HTTP\/1\.1 408 /, `a 408 before the close, got ${JSON.stringify(answer.slice(0, 200))}`);
    assert.match(answer, /\r\nConnection: close\r\n/i);
    assert.match(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)).error, /request_timeout/);
  } finally {
    await s.stop();
  }
});

test('headers that trickle in are cut off after --header-timeout: the trickling address is served again, kept-alive connections are not', async () => {
  // the tricklers and the client come from the same address, as every
  // client does on the loopback default; 130 of them fill the per-address
  // cap (128) and, without a header deadline, would keep it full for as
  // long as they trickle (a byte every 300 ms keeps --conn-timeout away)
  const s = await startServer({ args: ['--header-timeout', '2s', '--conn-timeout', '30s'],
    allowLog: [/level=warn msg="request headers too slow: closing" connections=\d+ after_s=2$/] });
  const socks = [];
  const drips = [];
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const head = 'POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Slow: ';
    let closed = 0;
    for (let i = 0; i < 130; i++) {
      const sock = net.connect({ host: '127.0.0.1', port: s.port });
      sock.on('error', () => {});
      sock.on('close', () => { closed++; });
      sock.write(head);
      drips.push(setInterval(() => { if (!sock.destroyed) sock.write('a'); }, 300));
      socks.push(sock);
    }
    const t0 = performance.now();
    // a normal client at the same address is refused while the cap is full
    // (libmicrohttpd closes it at once), and served once the deadline has
    // closed the tricklers
    let served = null, refusedFirst = false;
    while (!served && performance.now() - t0 < 10000 * SLOW) {
      try {
        served = await getFrom(s.port, '127.0.0.1');
      } catch {
        refusedFirst = true;
        await sleep(100);
      }
    }
    const waited = performance.now() - t0;
    assert.ok(refusedFirst, 'the tricklers filled the per-address cap');
    assert.ok(served && served.status === 200, `the address is served again within the deadline (${waited.toFixed(0)} ms)`);
    assert.ok(waited < 2000 + 4000 * SLOW, `served ${waited.toFixed(0)} ms after the tricklers came (header timeout 2 s)`);
    await waitFor('the trickling connections to be closed (128 of 130 at least)', () => {
      if (closed < 128) throw new Error(`${closed} of 130 closed`); // waitFor reports the last one
      return true;
    }, { timeoutMs: 5000 * SLOW, everyMs: 50 });

    // the deadline is for headers that are coming, not for a kept-alive
    // connection that waits for its next request (that is --conn-timeout's)
    const get = () => new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: s.port, path: '/healthz', agent }, (res) => {
        const port = res.socket.localPort;
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode, port }));
      }).on('error', reject);
    });
    const a = await get();
    await sleep(3000); // idle, longer than the header timeout, well within the idle one
    const b = await get();
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    assert.equal(b.port, a.port, 'the same kept-alive connection served both');
  } finally {
    agent.destroy();
    for (const d of drips) clearInterval(d);
    for (const k of socks) k.destroy();
    await s.stop();
  }
});

test('a new connection that sends nothing is closed after --header-timeout without a warning (an HTTP client keeps spare connections so)', async () => {
  // Go's transport dials a connection while a request waits for one, and keeps
  // it if another connection freed first: nothing comes on it. Closed at the
  // header deadline like a trickler, but it is no sign of trouble: an info
  // line, and stop() fails on any warn line (no allowLog here).
  const s = await startServer({ args: ['--header-timeout', '1s', '--conn-timeout', '30s'] });
  const socks = [];
  try {
    let closed = 0;
    for (let i = 0; i < 3; i++) {
      const sock = net.connect({ host: '127.0.0.1', port: s.port });
      sock.on('error', () => {});
      sock.on('close', () => { closed++; });
      socks.push(sock);
    }
    await waitFor('the quiet connections to be closed', () => {
      if (closed < 3) throw new Error(`${closed} of 3 closed`);
      return true;
    }, { timeoutMs: 6000 * SLOW, everyMs: 50 });
    await waitFor('the info line', () => {
      if (!/level=info msg="no request on a new connection: closing" connections=\d+ after_s=1/.test(s.stderr)) throw new Error(s.log(800));
      return true;
    }, { timeoutMs: 3000 * SLOW, everyMs: 50 });
    assert.equal((await getFrom(s.port, '127.0.0.1')).status, 200, 'served as before');
  } finally {
    for (const k of socks) k.destroy();
    await s.stop();
  }
});

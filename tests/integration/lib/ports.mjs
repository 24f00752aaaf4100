// A loopback port for a server that must be named before it starts (shards that
// list each other in --peers, a relay's target). listen(0) would hand out a port
// of the kernel's ephemeral range, which outgoing connections draw from too: a
// server's own fan-out, or another test's client, can take it between this check
// and the server's bind ("Address already in use", seen under ASan). So the port
// is chosen below that range, at random, and checked free.
import net from 'node:net';
import { readFileSync } from 'node:fs';

let ephemeralLow = 32768;
try {
  ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || ephemeralLow;
} catch { /* not Linux: the usual default */ }
const LOW = Math.max(1024, ephemeralLow - 12000);
const given = new Set(); // never the same port twice in one test process

function canListen(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.unref();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A free 127.0.0.1 port below the ephemeral range. */
export async function freePort() {
  for (let tries = 0; tries < 500; tries++) {
    const port = LOW + Math.floor(Math.random() * (ephemeralLow - LOW));
    if (given.has(port) || !(await canListen(port))) continue;
    given.add(port);
    return port;
  }
  throw new Error(`no free port in ${LOW}..${ephemeralLow - 1}`);
}

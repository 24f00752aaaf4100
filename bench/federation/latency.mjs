// What federation costs a query: three shards on loopback (each owning whole
// processes) and a query-only front; the same queries timed through the front
// and on one shard alone (Meanwhile-Federated: 1, its own data only).
//
//   MEANWHILED=build/meanwhiled node bench/federation/latency.mjs [spans=30000] [rounds=200]
//
// Prints p50 and p99 in ms per query and path. Run on an idle machine: the
// figures are latencies, and the three shards share its cores.
import net from 'node:net';
import { startServer, request, postJsonOk } from '../../tests/integration/lib/server.mjs';

const SPANS = Number(process.argv[2] || 30000), ROUNDS = Number(process.argv[3] || 200);
const MS = 1000000n;
const hex = (n, bytes) => BigInt(n).toString(16).padStart(bytes * 2, '0');
const T0 = BigInt(Date.now() - 600000) * MS;

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

// 12 processes (6 services x 2 instances), 4 per shard; each trace has a root on
// one process and a child on a process of the next shard.
const procs = [];
for (let i = 0; i < 12; i++) procs.push({ shard: i % 3, service: `svc${i % 6}`, instance: `i${i}`, spans: [] });
const traces = SPANS / 2;
for (let t = 0; t < traces; t++) {
  const a = procs[t % 12], b = procs[(t + 1) % 12];
  const st = T0 + BigInt(t) * MS, dur = BigInt(2 + (t * 7919) % 500) * MS;
  a.spans.push({ traceId: hex(t + 1, 16), spanId: hex(2 * t + 1, 8), name: `GET /op${t % 5}`, kind: 2,
    startTimeUnixNano: String(st), endTimeUnixNano: String(st + dur) });
  b.spans.push({ traceId: hex(t + 1, 16), spanId: hex(2 * t + 2, 8), parentSpanId: hex(2 * t + 1, 8), name: `db.q${t % 3}`,
    kind: 3, startTimeUnixNano: String(st + MS / 2n), endTimeUnixNano: String(st + dur - MS / 2n) });
}

const ports = [await freePort(), await freePort(), await freePort()];
const peers = ports.map((p) => `http://127.0.0.1:${p}`).join(',');
const shards = [];
for (const port of ports) shards.push(await startServer({ args: ['--listen', `127.0.0.1:${port}`, '--log-level', 'info'] }));
const front = await startServer({ args: ['--role', 'query', '--peers', peers, '--log-level', 'info'] });
try {
  for (const p of procs)
    for (let i = 0; i < p.spans.length; i += 2000)
      await postJsonOk(shards[p.shard], { resourceSpans: [{ resource: { attributes: [
        { key: 'service.name', value: { stringValue: p.service } },
        { key: 'service.instance.id', value: { stringValue: p.instance } }] },
      scopeSpans: [{ spans: p.spans.slice(i, i + 2000) }] }] });

  const queries = [
    ['services', () => '/api/v1/services'],
    ['operations', () => '/api/v1/services/svc1/operations'],
    ['search', () => '/api/search?limit=20'],
    ['trace', (k) => `/api/traces/${hex(1 + (k * 37) % traces, 16)}`],
    ['timeline', (k) => `/api/v1/traces/${hex(1 + (k * 37) % traces, 16)}/timeline`],
    ['explain', (k) => `/api/v1/traces/${hex(1 + (k * 37) % traces, 16)}/explain`],
  ];
  const pct = (v, q) => v[Math.min(v.length - 1, Math.floor(q * v.length))];
  console.log(`${SPANS} spans on 3 shards, ${ROUNDS} rounds; ms p50 / p99`);
  console.log('query       front (3 shards)    one shard alone');
  for (const [name, path] of queries) {
    const row = [];
    for (const [server, headers] of [[front, {}], [shards[0], { 'meanwhile-federated': '1' }]]) {
      const t = [];
      for (let k = 0; k < ROUNDS; k++) {
        const r = await request(server, 'GET', path(k), { headers });
        if (r.status !== 200 && r.status !== 404) throw new Error(`${name}: ${r.status} ${r.body.toString().slice(0, 200)}`);
        t.push(r.ms);
      }
      t.sort((x, y) => x - y);
      row.push(`${pct(t, 0.5).toFixed(2)} / ${pct(t, 0.99).toFixed(2)}`);
    }
    console.log(`${name.padEnd(12)}${row[0].padEnd(20)}${row[1]}`);
  }
} finally {
  for (const s of [front, ...shards]) await s.cleanup();
}

// What following one shard's ids through a front costs (docs/FEDERATION.md, "One shard's
// data"): two shards and a query-only front on loopback; a source's GC cycles (1,000, about
// 550 KB of JSON) and a raw snapshot asked of the shard itself and through the front with
// shard=, and the sources listing of one shard alone against the front's merge.
//
//   MEANWHILED=build/meanwhiled MW_TEST_DATA=tests/data node bench/federation/shardlink.mjs
//
// Prints p50 and p99 in ms (300 sequential requests each, after 20 to warm up).
import { startServer, request } from '../../tests/integration/lib/server.mjs';
import { ingestOk, fixture } from '../../tests/integration/lib/runtime.mjs';
import net from 'node:net';
const fp = () => new Promise((res) => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); }); });
const ports = [await fp(), await fp()];
const urls = ports.map((p) => `http://127.0.0.1:${p}`);
const shards = [];
for (const p of ports) shards.push(await startServer({ args: ['--listen', `127.0.0.1:${p}`, '--peers', urls.join(','), '--log-level', 'info'] }));
const front = await startServer({ args: ['--role', 'query', '--peers', urls.join(','), '--log-level', 'info'] });
const PS = BigInt(Date.now() - 3600_000) * 1000000n;
const lines = []; for (let k = 1; k <= 1000; k++) lines.push(`gc ${k} @${k * 3}.000s 1%: 0.010+1.0+0.005 ms clock, 0.040+0/0.5/1.2+0.020 ms cpu, 4->4->2 MB, 5 MB goal, 4 P`);
await ingestOk(shards[1], 'gctrace', { service: 's', instance: 'i', process_start: String(PS) }, lines.join('\n') + '\n');
const body = fixture('cpu-1795334476463713030.pb.gz');
const snap = await ingestOk(shards[1], 'cpu', { service: 's', instance: 'i' }, body);
const q = encodeURIComponent(urls[1]);
async function lat(server, path, n = 300, headers = {}) {
  const t = [];
  for (let i = 0; i < 20; i++) await request(server, 'GET', path, { headers });
  for (let i = 0; i < n; i++) { const t0 = process.hrtime.bigint(); const r = await request(server, 'GET', path, { headers }); if (r.status !== 200) throw new Error(`${path} ${r.status}`); t.push(Number(process.hrtime.bigint() - t0) / 1e6); }
  t.sort((a, b) => a - b);
  return `p50 ${t[Math.floor(n * 0.5)].toFixed(2)} ms, p99 ${t[Math.floor(n * 0.99)].toFixed(2)} ms`;
}
console.log(`gc (1000 cycles, ${(await request(shards[1], 'GET', '/api/v1/sources/1/gc?limit=1000')).body.length} bytes): shard ${await lat(shards[1], '/api/v1/sources/1/gc?limit=1000')} | front ${await lat(front, `/api/v1/sources/1/gc?limit=1000&shard=${q}`)}`);
console.log(`snapshot raw (${body.length} bytes): shard ${await lat(shards[1], `/api/v1/snapshots/${snap.snapshot_id}/raw`)} | front ${await lat(front, `/api/v1/snapshots/${snap.snapshot_id}/raw?shard=${q}`)}`);
console.log(`sources listing: one shard alone (Meanwhile-Federated: 1) ${await lat(shards[1], '/api/v1/sources', 300, { 'meanwhile-federated': '1' })} | front merged (2 shards) ${await lat(front, '/api/v1/sources')}`);
for (const s of [front, ...shards]) await s.cleanup();

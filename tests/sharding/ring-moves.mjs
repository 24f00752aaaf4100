// What adding a shard does to the loadbalancing exporter's ring (docs/SCALING.md, "Adding
// shards"), computed with the test's copy of the ring (ring.mjs, checked against the
// exporter's own consistent_hashing.go v0.148.0 by sharding/ring): for N shards named as
// the Kubernetes form names them (deploy/sharded: the k8s resolver by pod hostname), how
// the processes spread (largest and smallest shard against the mean) and, going to N+1,
// what share of the processes move, and whether any moves other than to the new shard.
//   node tests/sharding/ring-moves.mjs [PROCESSES (30000)] [N ...  (3 8 16 32 64)]
// A process that moves between two OLD shards is counted in the last column: the ring probes
// past taken points, so a new shard's points can shift an old one's by a position (rare).
import { ring, endpointFor, processKey } from './ring.mjs';

const [procArg, ...ns] = process.argv.slice(2);
const P = Number(procArg || 30000);
const sizes = ns.length ? ns.map(Number) : [3, 8, 16, 32, 64];
const name = (i) => `meanwhile-shard-${i}.meanwhile-shards.meanwhile:4317`;
// 1,000 services, P/1000 instances each, as pod names (service-<hash>-<suffix>)
const keys = Array.from({ length: P }, (_, i) => processKey(`service-${i % 1000}`, `service-${i % 1000}-7d4b9c-${(i * 2654435761 >>> 0).toString(36).slice(0, 5)}`));

console.log(`${P} processes (1,000 services); ring: 100 points a shard, 36,000 positions`);
console.log('| N → N+1 | largest shard / mean (N) | smallest / mean (N) | moved | 1/(N+1) | moved elsewhere than to the new shard |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const n of sizes) {
  const before = ring(Array.from({ length: n }, (_, i) => name(i)));
  const after = ring(Array.from({ length: n + 1 }, (_, i) => name(i)));
  const count = new Map();
  let moved = 0, elsewhere = 0;
  for (const k of keys) {
    const a = endpointFor(before, k), b = endpointFor(after, k);
    count.set(a, (count.get(a) || 0) + 1);
    if (a !== b) { moved++; if (b !== name(n)) elsewhere++; }
  }
  const mean = P / n, c = [...count.values()];
  console.log(`| ${n} → ${n + 1} | ${(Math.max(...c) / mean).toFixed(2)} | ${(Math.min(...c) / mean).toFixed(2)} | ${(100 * moved / P).toFixed(1)}% | ${(100 / (n + 1)).toFixed(1)}% | ${elsewhere} |`);
}

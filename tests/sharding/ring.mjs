// The loadbalancing exporter's consistent hash ring (opentelemetry-collector-contrib
// exporter/loadbalancingexporter, consistent_hashing.go, v0.130.0 to v0.150.0 at least;
// docs/SHARDING.md §1), written again from its source to choose the test's instance ids:
// the test then checks that the Collector put each process where this says. A Collector
// whose ring differs (an exporter before v0.130.0, or a later change) fails that check,
// which is the point: a changed ring moves every process.

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** crc32 (IEEE), as Go's hash/crc32.ChecksumIEEE. */
export function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const MAX_POSITIONS = 36000;
const WEIGHT = 100;
const PROBE_LIMIT = 10;

/** The ring of a static resolver's hostnames (sorted, as the resolver sorts them). */
export function ring(endpoints) {
  const taken = new Set();
  const items = [];
  for (const ep of [...endpoints].sort()) {
    const name = Buffer.from(ep, 'utf8');
    for (let i = 0; i < WEIGHT; i++) {
      const idx = Buffer.alloc(4);
      idx.writeUInt32LE(i);
      let pos = crc32(Buffer.concat([name, idx])) % MAX_POSITIONS;
      let probed = 0;
      while (taken.has(pos) && probed < PROBE_LIMIT) { pos = (pos + 1) % MAX_POSITIONS; probed++; }
      if (probed >= PROBE_LIMIT) continue;
      taken.add(pos);
      items.push({ pos, ep });
    }
  }
  items.sort((a, b) => a.pos - b.pos);
  return items;
}

/** The endpoint a routing key goes to: the first point at or after crc32(key) % 36000. */
export function endpointFor(items, key) {
  const pos = crc32(Buffer.from(key, 'utf8')) % MAX_POSITIONS;
  let lo = 0, hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (items[mid].pos < pos) lo = mid + 1; else hi = mid;
  }
  return items[lo === items.length ? 0 : lo].ep;
}

/** routing_key: attributes with [service.name, service.instance.id]: the values, concatenated. */
export const processKey = (service, instance) => `${service}${instance}`;

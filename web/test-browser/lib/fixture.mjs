// Loads the recorded Go 1.19 service (tests/data/go1.19-checkout) into a meanwhiled
// started by tests/integration/lib/server.mjs: the OTLP spans (one JSON request per line
// of spans.otlp.jsonl), the service's stderr (gctrace + schedtrace, anchored at
// meta.json's launch time), every goroutine profile (capture time = the number in its
// file name) and the CPU profile. Also builds the synthetic 5,000-span / 2,000-GC-cycle
// trace the speed measurement uses.

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { startServer, dataFile, readData, postJsonOk } from '../../../tests/integration/lib/server.mjs';
import { ingestOk } from '../../../tests/integration/lib/runtime.mjs';

export const FIXTURE = 'go1.19-checkout';
export const META = JSON.parse(readData(FIXTURE, 'meta.json').toString('utf8'));
const fileTime = (f) => /-(\d{19})\./.exec(f)[1];

/** Posts the fixture into a running server; returns what was sent, for expectations. */
export async function loadFixture(srv) {
  const lines = readData(FIXTURE, 'spans.otlp.jsonl').toString('utf8').split('\n').filter((l) => l.trim());
  for (const l of lines) await postJsonOk(srv, JSON.parse(l));
  const service = META['service.name'];
  await ingestOk(srv, 'gctrace', { service, process_start: String(META.launch_unix_ns) }, readData(FIXTURE, 'runtime-stderr.log'));
  const files = readdirSync(dataFile(FIXTURE)).sort();
  const gor = files.filter((f) => /^goroutines-\d+\.pb\.gz$/.test(f));
  for (const f of gor) await ingestOk(srv, 'goroutine', { service, time: fileTime(f) }, readData(FIXTURE, f));
  const cpu = files.filter((f) => /^cpu-\d+\.pb\.gz$/.test(f));
  for (const f of cpu) await ingestOk(srv, 'cpu', { service, time: fileTime(f) }, readData(FIXTURE, f));
  return { service, goroutineProfiles: gor.length, cpuProfiles: cpu.length, requests: lines.length };
}

/** A fresh server with the fixture loaded. */
export async function fixtureServer() {
  const srv = await startServer();
  try {
    await loadFixture(srv);
  } catch (e) {
    await srv.cleanup();
    throw e;
  }
  return srv;
}

/**
 * The synthetic big trace: `spans` spans of one trace (service "synth", a balanced-ish
 * tree, 4 instances' worth of services for colour), plus `cycles` gc lines that fall in
 * the trace's window. Returns {traceId, otlp, gctrace, processStart, service}.
 */
export function synthTrace({ spans = 5000, cycles = 2000, startNs = 1800000000000000000n, durationNs = 10000000000n } = {}) {
  const hex = (n, w) => n.toString(16).padStart(w, '0');
  const traceId = 'aa' + hex(0xc0ffeen, 30);
  const services = ['synth-api', 'synth-cart', 'synth-db', 'synth-auth'];
  const out = services.map(() => []);
  // span i's parent is (i-1)>>2 (a 4-ary tree); each span lives inside its parent's
  // interval, children laid out side by side
  const iv = new Array(spans);
  iv[0] = [startNs, startNs + durationNs];
  const kids = new Array(spans).fill(0);
  for (let i = 1; i < spans; i++) kids[(i - 1) >> 2]++;
  const seen = new Array(spans).fill(0);
  for (let i = 0; i < spans; i++) {
    if (i > 0) {
      const p = (i - 1) >> 2;
      const [ps, pe] = iv[p];
      const n = BigInt(kids[p]);
      const k = BigInt(seen[p]++);
      const slot = (pe - ps) / n;
      iv[i] = [ps + slot * k + slot / 20n, ps + slot * k + (slot * 17n) / 20n];
    }
    const svc = i === 0 ? 0 : (i % services.length);
    out[svc].push({
      traceId, spanId: hex(BigInt(i + 1), 16), parentSpanId: i ? hex(BigInt(((i - 1) >> 2) + 1), 16) : undefined,
      name: i === 0 ? 'GET /synthetic' : `op-${i % 37}`, kind: i === 0 ? 2 : 1,
      startTimeUnixNano: String(iv[i][0]), endTimeUnixNano: String(iv[i][1]), status: {},
    });
  }
  const otlp = {
    resourceSpans: services.map((s, k) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: s } }] },
      scopeSpans: [{ scope: { name: 'synth' }, spans: out[k] }],
    })),
  };
  // gc lines: process started 1 s before the trace; cycle k at trace start + k * step
  const processStart = startNs - 1000000000n;
  const step = durationNs / BigInt(cycles + 1);
  const lines = [];
  for (let k = 1; k <= cycles; k++) {
    const off = Number(startNs - processStart + step * BigInt(k)) / 1e9;
    const heap = 10 + (k % 50);
    lines.push(`gc ${k} @${off.toFixed(3)}s 2%: 0.050+1.2+0.060 ms clock, 0.10+0.20/0.30/0.10+0.12 ms cpu, ${heap}->${heap + 2}->${heap - 4} MB, ${heap + 4} MB goal, 0 MB stacks, 0 MB globals, 4 P`);
  }
  return { traceId, otlp, gctrace: lines.join('\n') + '\n', processStart, service: services[0] };
}

/** Posts synthTrace() data; returns it. */
export async function loadSynth(srv, opts) {
  const t = synthTrace(opts);
  // in chunks, under the per-request span limit
  for (const rs of t.otlp.resourceSpans) {
    const spans = rs.scopeSpans[0].spans;
    for (let i = 0; i < spans.length; i += 1000) {
      await postJsonOk(srv, { resourceSpans: [{ resource: rs.resource, scopeSpans: [{ scope: rs.scopeSpans[0].scope, spans: spans.slice(i, i + 1000) }] }] });
    }
  }
  const r = await ingestOk(srv, 'gctrace', { service: t.service, process_start: String(t.processStart) }, Buffer.from(t.gctrace));
  assert.ok(r.accepted >= 1, 'gc lines accepted');
  return t;
}

// The judging rules shared by the end-to-end tests (tests/e2e and tests/e2e-sdk; see
// tests/e2e/README.md): what counts as the injected cause when a CPU-bound or an
// allocating span's top cause is not the obvious one, read from the raw CPU profiles.

// alloc: "cpu" is right when at least this share of the span's own labelled CPU time is
// in the allocator or the collector (ALLOC_FUNCS): the span was on a CPU, paying for its
// allocations.
export const ALLOC_CPU_SHARE = 0.5;
// cpu: "runnable" is right too when the span was really off CPU for at least half its
// time (a loaded machine, or both Ps busy): its labelled CPU time, give or take one
// sample, over a span the CPU profiles sampled (nearly) all of.
export const CPU_SAMPLE_MS = 10; // Go's 100 Hz
export const CPU_MIN_COVER = 0.9;
export const ALLOC_FUNCS = /^runtime\.(mallocgc|gcAssistAlloc1?|gcDrainN|gcWriteBarrier.*|wbBufFlush1?|memclrNoHeapPointers|largeAlloc|\(\*mcache\)\..*|\(\*mheap\)\..*|\(\*mcentral\)\..*)$/;

/** For each span id, its labelled CPU ns and the part in the allocator/collector, from
 * decoded profiles (lib/pprof.mjs). */
export function cpuBySpan(profiles) {
  const out = new Map();
  for (const p of profiles) {
    const ix = p.sampleTypes.findIndex(([, unit]) => unit === 'nanoseconds');
    for (const s of p.samples) {
      const id = s.labels.span_id;
      if (!id) continue;
      const v = ix >= 0 ? s.values[ix] : s.values[0] * p.period;
      const e = out.get(id) || { ns: 0, allocNs: 0 };
      e.ns += v;
      if (s.funcs.some((f) => ALLOC_FUNCS.test(f))) e.allocNs += v;
      out.set(id, e);
    }
  }
  return out;
}

/** The median of numbers (the lower middle of an even count; 0 for none). */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : 0;
}

// A small pprof (perftools.profiles.Profile) reader for the e2e test's own checks,
// independent of meanwhiled's decoder: sample values, string labels and the function
// names of each sample's stack (leaf first, inlined functions expanded).
// Field numbers: /work/shared/specs/pprof.md.

import zlib from 'node:zlib';
import { pbFields } from '../../integration/lib/otlp.mjs';

function varints(wt, v) {
  if (wt !== 2) return [v];
  const out = [];
  let i = 0;
  while (i < v.length) {
    let r = 0n, shift = 0n;
    for (;;) {
      const b = v[i++];
      r |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
      shift += 7n;
    }
    out.push(r);
  }
  return out;
}

/**
 * {sampleTypes: [[type, unit]], period, timeNanos: BigInt, durationNanos: BigInt,
 *  samples: [{values: [Number], labels: {k: string}, funcs: [name] leaf first}]}
 */
export function decodeProfile(body) {
  const buf = body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b ? zlib.gunzipSync(body) : body;
  const strings = [], vts = [], rawSamples = [], rawLocs = [], rawFuncs = [];
  let period = 0n, timeNanos = 0n, durationNanos = 0n;
  for (const { f, v } of pbFields(buf)) {
    if (f === 1) vts.push(v);
    else if (f === 2) rawSamples.push(v);
    else if (f === 4) rawLocs.push(v);
    else if (f === 5) rawFuncs.push(v);
    else if (f === 6) strings.push(Buffer.from(v).toString('utf8'));
    else if (f === 9) timeNanos = BigInt.asIntN(64, v);
    else if (f === 10) durationNanos = BigInt.asIntN(64, v);
    else if (f === 12) period = BigInt.asIntN(64, v);
  }
  const str = (i) => strings[Number(i)] ?? '';
  const funcs = new Map();
  for (const b of rawFuncs) {
    let id = 0n, name = 0n;
    for (const x of pbFields(b)) {
      if (x.f === 1) id = x.v;
      else if (x.f === 2) name = x.v;
    }
    funcs.set(id, str(name));
  }
  const locs = new Map();
  for (const b of rawLocs) {
    let id = 0n;
    const names = [];
    for (const x of pbFields(b)) {
      if (x.f === 1) id = x.v;
      else if (x.f === 4) {
        for (const y of pbFields(x.v)) if (y.f === 1) names.push(funcs.get(y.v) ?? '');
      }
    }
    locs.set(id, names);
  }
  const sampleTypes = vts.map((b) => {
    let t = 0n, u = 0n;
    for (const x of pbFields(b)) {
      if (x.f === 1) t = x.v;
      else if (x.f === 2) u = x.v;
    }
    return [str(t), str(u)];
  });
  const samples = rawSamples.map((b) => {
    const values = [], ids = [], labels = {};
    for (const x of pbFields(b)) {
      if (x.f === 1) ids.push(...varints(x.wt, x.v));
      else if (x.f === 2) values.push(...varints(x.wt, x.v).map((n) => Number(BigInt.asIntN(64, n))));
      else if (x.f === 3) {
        let k = 0n, s = 0n;
        for (const y of pbFields(x.v)) {
          if (y.f === 1) k = y.v;
          else if (y.f === 2) s = y.v;
        }
        if (s) labels[str(k)] = str(s);
      }
    }
    return { values, labels, funcs: ids.flatMap((id) => locs.get(id) || []) };
  });
  return { sampleTypes, period: Number(period), timeNanos, durationNanos, samples };
}

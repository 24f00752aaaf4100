// Reading /explain answers: a span's explanation by id, the CPU profile snapshots its
// evidence points at (to draw the span's flame graph), and how to label a cause's scope
// ("from similar spans" for operation-scope evidence). Pure, no DOM: tested in
// web/test/explain.test.mjs.

/** Map span_id → the span's explanation. */
export function explainIndex(ex) {
  const m = new Map();
  for (const s of (ex && ex.spans) || []) m.set(s.span_id, s);
  return m;
}

/**
 * Whether a timeline source is a span's process. Source ids are each shard's own (two
 * shards may both have a source 1, two processes), so a federated timeline, whose spans
 * and sources each say their `shard`, joins on (shard, source_id); on one server neither
 * has a shard and the id alone decides.
 */
export function sameShard(a, b) {
  return ((a && a.shard) || '') === ((b && b.shard) || '');
}
export function isSpanSource(src, tlSpan) {
  return !!src && !!tlSpan && tlSpan.source_id != null && src.id === tlSpan.source_id && sameShard(src, tlSpan);
}

/** The timeline source of a span (joined on shard and source_id), or null. */
export function spanSource(sources, tlSpan) {
  return (sources || []).find((src) => isSpanSource(src, tlSpan)) || null;
}

/**
 * The CPU profile snapshots holding a span's CPU samples: the `cpu_profile` evidence of
 * its cpu and gc_assist causes; failing that (a cause under 1% is left out), the
 * timeline's profile windows overlapping the span when the timeline counts samples, of
 * the span's own source (or, when the span names none, of any source of its shard). The
 * ids are those of the span's shard (`tlSpan.shard`): the explanation of a span comes
 * from its shard.
 */
export function cpuSnapshotIds(spanEx, tlSpan, sources) {
  const ids = new Set();
  for (const c of (spanEx && spanEx.causes) || []) {
    for (const e of c.evidence || []) if (e.type === 'cpu_profile' && e.snapshot_id != null) ids.add(e.snapshot_id);
  }
  if (!ids.size && tlSpan && tlSpan.cpu_sample_rows > 0) {
    for (const src of sources || []) {
      if (!sameShard(src, tlSpan) || (tlSpan.source_id != null && src.id !== tlSpan.source_id)) continue;
      for (const p of src.cpu_profiles || []) {
        if (p.start_ns <= tlSpan.end_ns && p.end_ns >= tlSpan.start_ns) ids.add(p.snapshot_id);
      }
    }
  }
  return [...ids];
}

/** How a cause's scope is shown: borrowed from similar spans, exact from an execution trace, or its own samples. */
export function scopeLabel(cause) {
  if (cause && cause.scope === 'operation') return 'from similar spans';
  return cause && cause.scope === 'trace' ? 'exact: execution trace' : "this span's own evidence";
}

/** A confidence as words: ≥ 0.7 high (clients may act on it), ≥ 0.4 medium, else low. */
export function confidenceWord(c) {
  if (!(c > 0)) return 'none';
  return c >= 0.7 ? 'high' : c >= 0.4 ? 'medium' : 'low';
}

/** The snapshot ids a cause's evidence refers to (for links). */
export function evidenceSnapshots(cause) {
  const ids = [];
  for (const e of (cause && cause.evidence) || []) if (e.snapshot_id != null && !ids.includes(e.snapshot_id)) ids.push(e.snapshot_id);
  return ids;
}

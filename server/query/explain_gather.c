/* Gather (see explain.h): the one step of an explanation that reads the
 * store. It reads a trace's spans, each source's GC cycles and CPU-profile
 * windows, the spans' labelled CPU samples and goroutines (per trace, in
 * batches: a few queries whatever the number of spans), and, for the spans
 * that no goroutine snapshot caught, their operations' slow neighbours; and
 * turns stored formats (profile meta, through its owner model/snapshot_meta.c;
 * sample values) into plain numbers. All in the caller's one read
 * transaction. Any
 * failed read fails the explanation: an empty lane would read as "nothing
 * happened". */
#include "query/explain.h"
#include "core/error.h"
#include "core/sat.h"
#include "model/snapshot_meta.h"
#include "query/explain_steps.h"

#include <stdlib.h>
#include <string.h>

/* How far back a GC cycle or a CPU profile that overlaps the trace may start. */
static const int64_t GC_LOOKBACK_NS = 5000000000LL, CPU_LOOKBACK_NS = 120000000000LL;
/* Bounds of what one explanation reads. */
enum {
  MAX_GC_CYCLES = 10000,             /* per source */
  MAX_CPU_PROFILES = 1000,           /* per source */
  MAX_CPU_ROWS = 4096,               /* per span */
  MAX_GOROUTINE_ROWS = 1024,         /* per span */
  MAX_OP_ROWS = MW_MULTI_SPANS * 256 /* per operation */
};

/* Index of the value that holds CPU nanoseconds in a profile's samples, and
 * the period (ns per sample) as the fallback. */
static int cpu_value_index(mw_arena *a, const char *meta_json, int *idx, int64_t *period) {
  *idx = -1;
  *period = 10000000;
  mw_snapshot_meta m;
  int rc = mw__snapshot_meta_read(a, meta_json, &m);
  if (rc == MW_ENOMEM) return rc;
  for (size_t i = 0; i < m.n_sample_types; i++)
    if (m.sample_types[i].unit && strcmp(m.sample_types[i].unit, "nanoseconds") == 0) *idx = (int)i;
  if (m.period > 0) *period = m.period;
  return MW_OK;
}

/* The idx-th number of a JSON array of integers ("[1,10000000]"); 0 if none. */
static int64_t nth_value(const char *vals, int idx) {
  const char *p = vals ? vals : "";
  if (*p == '[') p++;
  for (int i = 0; *p; i++) {
    char *end;
    long long v = strtoll(p, &end, 10);
    if (i == idx) return v;
    p = strchr(end, ',');
    if (!p) break;
    p++;
  }
  return 0;
}

static int read_spans(mw_read *rd, mw_arena *a, const uint8_t trace_id[16], const mw_explain_opts *o,
                      mw_explain_input *in, mw_trace_rows *out) {
  mw_trace_rows rows;
  int rc = mw__store_read_trace(rd, a, trace_id, o->max_spans, &rows);
  if (rc) return rc;
  *out = rows;
  if (!rows.n_spans) return MW_ENOTFOUND;
  in->n_spans = rows.n_spans;
  in->spans = mw__arena_calloc(a, rows.n_spans, sizeof *in->spans);
  in->n_sources = rows.n_sources;
  in->sources = mw__arena_calloc(a, rows.n_sources + 1, sizeof *in->sources);
  const char **service = mw__arena_calloc(a, rows.n_sources + 1, sizeof *service);
  if (!in->spans || !in->sources || !service) return MW_ENOMEM;
  for (size_t k = 0; k < rows.n_sources; k++) {
    mw_source_info info;
    in->sources[k].id = rows.sources[k].id;
    if ((rc = mw__store_source(rd, a, rows.sources[k].id, &info)) && rc != MW_ENOTFOUND) return rc;
    service[k] = !rc && info.service ? info.service : "?";
  }
  for (size_t i = 0; i < rows.n_spans; i++) {
    mw_ex_span *sp = &in->spans[i];
    sp->span = &rows.spans[i];
    sp->service = "?";
    sp->source = sp->op = -1;
    for (size_t k = 0; k < rows.n_sources; k++)
      if (rows.sources[k].id == sp->span->source_id) sp->service = service[k], sp->source = (int)k;
  }
  return MW_OK;
}

static int read_sources(mw_read *rd, mw_arena *a, mw_explain_input *in, int64_t start, int64_t end) {
  for (size_t k = 0; k < in->n_sources; k++) {
    mw_ex_source *src = &in->sources[k];
    mw_gc_cycle *gc;
    mw_snapshot_info *cpu;
    size_t n_gc, n_cpu;
    int more;
    int rc = mw__store_gc(rd, a, src->id, mw__sat_sub(start, GC_LOOKBACK_NS), end, MAX_GC_CYCLES, &gc, &n_gc, &more);
    if (!rc)
      rc = mw__store_snapshots(rd, a, src->id, "cpu", mw__sat_sub(start, CPU_LOOKBACK_NS), end, MAX_CPU_PROFILES, &cpu,
                               &n_cpu, &more);
    if (rc) return rc;
    mw_ex_window *w = mw__arena_calloc(a, n_cpu + 1, sizeof *w);
    if (!w) return MW_ENOMEM;
    for (size_t i = 0; i < n_cpu; i++) w[i] = (mw_ex_window){cpu[i].at_ns, cpu[i].duration_ns};
    src->gc = gc;
    src->n_gc = n_gc;
    src->cpu = w;
    src->n_cpu = n_cpu;
  }
  return MW_OK;
}

/* Whether a snapshot taken over [at, at + dur] (dur 0: an instant) overlaps
 * the span's run. */
static int during(const mw_stored_span *sp, int64_t at, int64_t dur) {
  return at <= mw__sat_add(sp->start_ns, sp->dur_ns) && mw__sat_add(at, dur) >= sp->start_ns;
}

/* The spans' labelled CPU samples and goroutines: two batched reads. */
static int read_samples(mw_read *rd, mw_arena *a, const uint8_t trace_id[16], const mw_stored_span *spans,
                        mw_explain_input *in) {
  mw_span_sample *cpu, *gor;
  size_t n_cpu, n_gor;
  int rc = mw__store_trace_samples(rd, a, trace_id, spans, in->n_spans, "cpu", MAX_CPU_ROWS, &cpu, &n_cpu);
  if (!rc)
    rc = mw__store_trace_samples(rd, a, trace_id, spans, in->n_spans, "goroutine", MAX_GOROUTINE_ROWS, &gor, &n_gor);
  if (rc) return rc;
  mw_ex_cpu_row *c = mw__arena_calloc(a, n_cpu + 1, sizeof *c);
  mw_ex_goroutines *g = mw__arena_calloc(a, n_gor + 1, sizeof *g);
  if (!c || !g) return MW_ENOMEM;
  int idx_ns = -1;
  int64_t period = 0, last_snap = -1;
  size_t m_cpu = 0;
  for (size_t i = 0; i < n_cpu; i++) {
    const mw_span_sample *r = &cpu[i];
    if (!during(in->spans[r->ref].span, r->snapshot_ns, r->snapshot_dur_ns)) continue;
    if (r->snapshot_id != last_snap) {
      if (cpu_value_index(a, r->meta_json, &idx_ns, &period)) return MW_ENOMEM;
      last_snap = r->snapshot_id;
    }
    int64_t count = nth_value(r->vals_json, 0);
    c[m_cpu] = (mw_ex_cpu_row){.snapshot_id = r->snapshot_id,
                               .at_ns = r->snapshot_ns,
                               .dur_ns = r->snapshot_dur_ns,
                               .frames = r->frames,
                               .samples = count > 0 ? count : 1,
                               .cpu_ns = idx_ns >= 0 ? nth_value(r->vals_json, idx_ns) : mw__sat_mul(count, period)};
    mw_ex_span *sp = &in->spans[r->ref];
    if (!sp->n_cpu) sp->cpu = &c[m_cpu];
    sp->n_cpu++;
    m_cpu++;
  }
  /* a goroutine keeps its span's labels after the span ends (one it started
   * and left waiting, a leak): only what a snapshot found while the span ran
   * is the span's, and only profiles that overlap it can hold its samples */
  size_t m = 0;
  for (size_t i = 0; i < n_gor; i++) {
    const mw_span_sample *r = &gor[i];
    if (!during(in->spans[r->ref].span, r->snapshot_ns, 0)) continue;
    g[m] = (mw_ex_goroutines){.snapshot_id = r->snapshot_id,
                              .at_ns = r->snapshot_ns,
                              .state = r->state,
                              .wait_reason = r->wait_reason,
                              .count = r->count,
                              .stack_id = r->stack_id,
                              .frames = r->frames};
    mw_ex_span *sp = &in->spans[r->ref];
    if (!sp->n_gor) sp->gor = &g[m];
    sp->n_gor++;
    m++;
  }
  return MW_OK;
}

/* An operation's slow neighbours around the span (docs/CORRELATION.md,
 * "Operation scope") and their goroutines, in one query. */
static int read_op(mw_read *rd, mw_arena *a, const mw_explain_opts *o, const mw_stored_span *sp, mw_ex_op *op) {
  memset(op, 0, sizeof *op);
  op->op_id = sp->op_id;
  mw_span_ref *refs;
  size_t n, nr;
  int rc = mw__store_op_neighbours(rd, a, sp->op_id, sp->start_ns, o->op_window_ns, o->op_neighbours, 0.90,
                                   o->op_max_spans, &op->p90_ns, &op->count, &refs, &n);
  if (rc || !op->count) return rc;
  mw_span_sample *rows;
  if ((rc = mw__store_spans_goroutines(rd, a, refs, n, MAX_OP_ROWS, &rows, &nr))) return rc;
  mw_ex_goroutines *g = mw__arena_calloc(a, nr + 1, sizeof *g);
  if (!g) return MW_ENOMEM;
  size_t m = 0;
  for (size_t i = 0; i < nr; i++) {
    if (rows[i].snapshot_ns < refs[rows[i].ref].start_ns ||
        rows[i].snapshot_ns > mw__sat_add(refs[rows[i].ref].start_ns, refs[rows[i].ref].dur_ns))
      continue; /* after the span: a goroutine it left behind, not the span */
    g[m++] = (mw_ex_goroutines){.snapshot_id = rows[i].snapshot_id,
                                .at_ns = rows[i].snapshot_ns,
                                .state = rows[i].state,
                                .wait_reason = rows[i].wait_reason,
                                .count = rows[i].count,
                                .stack_id = rows[i].stack_id,
                                .frames = rows[i].frames,
                                .span = rows[i].ref};
  }
  op->rows = g;
  op->n_rows = m;
  return MW_OK;
}

/* The operations of the spans that have self time but no goroutines of
 * their own, once each; each read around the first such span in the order
 * of explanation. */
static int read_ops(mw_read *rd, mw_arena *a, const mw_explain_opts *o, mw_explain_input *in) {
  in->ops = mw__arena_calloc(a, in->n_spans + 1, sizeof *in->ops);
  if (!in->ops) return MW_ENOMEM;
  for (size_t k = 0; k < in->n_spans; k++) {
    mw_ex_span *sp = &in->spans[in->order[k]];
    if (sp->n_gor) continue;
    mw_ex_timing t;
    int rc = mw__ex_timing(a, in, in->order[k], &t);
    if (rc) return rc;
    if (t.self_ns <= 0) continue;
    size_t i = 0;
    while (i < in->n_ops && in->ops[i].op_id != sp->span->op_id) i++;
    if (i == in->n_ops && (rc = read_op(rd, a, o, sp->span, &in->ops[in->n_ops++]))) return rc;
    sp->op = (int)i;
  }
  return MW_OK;
}

int mw__explain_gather(mw_read *rd, mw_arena *a, const uint8_t trace_id[16], const mw_explain_opts *o,
                       mw_explain_input *in) {
  memset(in, 0, sizeof *in);
  memcpy(in->trace_id, trace_id, 16);
  mw_trace_rows rows;
  int rc = read_spans(rd, a, trace_id, o, in, &rows);
  if (rc) return rc;
  int64_t start = INT64_MAX, end = INT64_MIN;
  for (size_t i = 0; i < in->n_spans; i++) {
    const mw_stored_span *sp = in->spans[i].span;
    if (sp->start_ns < start) start = sp->start_ns;
    if (sp->start_ns + sp->dur_ns > end) end = sp->start_ns + sp->dur_ns;
  }
  if ((rc = read_sources(rd, a, in, start, end)) || (rc = read_samples(rd, a, trace_id, rows.spans, in)) ||
      (rc = mw__explain_link(a, in)))
    return rc;
  return read_ops(rd, a, o, in);
}

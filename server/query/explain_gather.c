/* Gather (see explain.h): the one step of an explanation that reads the
 * store. It reads a trace's spans, each source's GC cycles and CPU-profile
 * windows, the spans' labelled CPU samples and goroutines (per trace, in
 * batches: a few queries whatever the number of spans), the stored execution
 * traces that recorded the spans' goroutines (their intervals cut to each
 * span, and the chains of wake edges behind its longest waits), and, for the
 * spans that no goroutine snapshot caught, their operations' slow neighbours; and
 * turns stored formats (profile meta, through its owner model/snapshot_meta.c;
 * sample values) into plain numbers. All in the caller's one read
 * transaction. Any
 * failed read fails the explanation: an empty lane would read as "nothing
 * happened". */
#include "query/explain.h"
#include "core/bmap.h"
#include "core/error.h"
#include "core/sat.h"
#include "decode/exectrace_blob.h"
#include "model/snapshot_meta.h"
#include "query/explain_steps.h"
#include "store/exectrace_read.h"

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

int mw__ex_cpu_value_index(mw_arena *a, const char *meta_json, int *idx, int64_t *period) {
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

int64_t mw__ex_nth_value(const char *vals, int idx) {
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
      if (mw__ex_cpu_value_index(a, r->meta_json, &idx_ns, &period)) return MW_ENOMEM;
      last_snap = r->snapshot_id;
    }
    int64_t count = mw__ex_nth_value(r->vals_json, 0);
    c[m_cpu] =
        (mw_ex_cpu_row){.snapshot_id = r->snapshot_id,
                        .at_ns = r->snapshot_ns,
                        .dur_ns = r->snapshot_dur_ns,
                        .frames = r->frames,
                        .samples = count > 0 ? count : 1,
                        .cpu_ns = idx_ns >= 0 ? mw__ex_nth_value(r->vals_json, idx_ns) : mw__sat_mul(count, period)};
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

/* --- execution traces ------------------------------------------------------------ */

/* Bounds of what one explanation reads of execution traces: they keep an
 * explanation with trace evidence fast however many traces name its spans. */
enum {
  XT_PER_SPAN = 4,          /* the newest traces naming a span */
  XT_MAX_TRACES = 16,       /* traces per explanation */
  XT_MAX_GOROUTINES = 512,  /* goroutine blobs per explanation */
  XT_GOR_PER_SPAN = 8,      /* goroutine pieces per span */
  XT_CANDIDATES = 32,       /* runs of a span considered */
  XT_STACKS_PER_KIND = 5,   /* intervals per kind whose stack is read (the evidence shows 5) */
  XT_CHAINS_PER_SPAN = 4,   /* waits followed per span */
  XT_CHAIN_DEPTH = 3,       /* links per chain */
  XT_WAKE_SLACK_NS = 10000, /* a wake this close to a wait's end ended it */
};
/* Decoded size of one blob, and the stored bytes decoded per explanation. */
static const size_t XT_BODY_MAX = 64u << 20, XT_BYTES_MAX = 32u << 20;

typedef struct xt_trace {
  mw_ex_xtrace x;
  mw_xt_span_table t;
} xt_trace;

typedef struct xt_gor {
  int64_t trace;
  uint64_t g;
  int found; /* 0: not in the trace, or past a bound */
  int64_t first_ns, last_ns;
  mw_xt_blob b;
} xt_gor;

typedef struct xt_ctx {
  mw_read *rd;
  mw_arena *a;
  mw_explain_input *in;
  xt_trace *traces;
  size_t n_traces;
  int64_t unusable[XT_MAX_TRACES]; /* traces read and not usable (alignment none) */
  size_t n_unusable;
  xt_gor *gors; /* each goroutine decoded once, for every span that needs it */
  size_t n_gors;
  size_t bytes;
  mw_bmap *stacks; /* (trace, local) -> index into frames */
  const char **frames;
  size_t n_frames, cap_frames;
} xt_ctx;

/* A stored trace, read once: *out NULL when it is not usable (alignment none,
 * or past the bound of traces). */
static int xt_trace_of(xt_ctx *c, int64_t id, xt_trace **out) {
  *out = NULL;
  for (size_t i = 0; i < c->n_traces; i++)
    if (c->traces[i].x.id == id) return (*out = &c->traces[i]), MW_OK;
  for (size_t i = 0; i < c->n_unusable; i++)
    if (c->unusable[i] == id) return MW_OK;
  if (c->n_traces + c->n_unusable >= XT_MAX_TRACES) return MW_OK;
  mw_xt_info info;
  int rc = mw__store_exectrace(c->rd, c->a, id, &info);
  if (rc == MW_ENOTFOUND) rc = MW_OK, info.alignment = 0; /* deleted since the index was read: none */
  if (rc) return rc;
  if (info.alignment != MW_XT_ALIGN_CLOCK_SNAPSHOT && info.alignment != MW_XT_ALIGN_CAPTURE_TIME) {
    c->unusable[c->n_unusable++] = id; /* trace-clock times do not meet the spans' */
    return MW_OK;
  }
  xt_trace *t = &c->traces[c->n_traces];
  const uint8_t *ids, *blob;
  size_t ids_len, blob_len;
  int64_t start;
  rc = mw__store_xt_span_table(c->rd, c->a, id, &ids, &ids_len, &blob, &blob_len, &start);
  if (!rc) rc = mw__xt_spans_decode(c->a, ids, ids_len, blob, blob_len, start, XT_BODY_MAX, &t->t);
  if (rc == MW_EINVAL) rc = MW_EIO; /* stored spans that do not decode */
  if (rc) return rc;
  t->x = (mw_ex_xtrace){.id = id, .start_ns = info.start_ns, .end_ns = info.end_ns, .alignment = info.alignment};
  c->n_traces++;
  return (*out = t), MW_OK;
}

/* Whether a blob's body (decode/exectrace_blob.h: a format byte, then the
 * body or one zstd frame of it) stays within XT_BODY_MAX: a bigger one is a
 * bound reached, not a blob that fails to decode. */
static int xt_body_fits(const uint8_t *blob, size_t len) {
  if (len < 1) return 0;
  if (blob[0] != 1) return len - 1 <= XT_BODY_MAX;
  unsigned long long n = ZSTD_getFrameContentSize(blob + 1, len - 1);
  return n == ZSTD_CONTENTSIZE_ERROR || n == ZSTD_CONTENTSIZE_UNKNOWN || n <= XT_BODY_MAX;
}

/* A goroutine of a trace, decoded once; *out NULL when the trace has none by
 * that id or a bound is reached (the bytes read, the body's size). */
static int xt_gor_of(xt_ctx *c, int64_t trace, uint64_t g, const xt_gor **out) {
  *out = NULL;
  for (size_t i = 0; i < c->n_gors; i++)
    if (c->gors[i].trace == trace && c->gors[i].g == g) {
      if (c->gors[i].found) *out = &c->gors[i];
      return MW_OK;
    }
  if (c->n_gors == XT_MAX_GOROUTINES) return MW_OK;
  xt_gor *x = &c->gors[c->n_gors];
  memset(x, 0, sizeof *x);
  x->trace = trace;
  x->g = g;
  mw_xt_grow row;
  int rc = mw__store_xt_goroutine(c->rd, c->a, trace, g, &row);
  if (rc == MW_ENOTFOUND) rc = MW_OK, row.blob = NULL;
  if (rc) return rc;
  if (row.blob && c->bytes + row.blob_len <= XT_BYTES_MAX && xt_body_fits(row.blob, row.blob_len)) {
    c->bytes += row.blob_len;
    rc = mw__xt_blob_decode(c->a, row.blob, row.blob_len, XT_BODY_MAX, &x->b);
    if (rc == MW_EINVAL) rc = MW_EIO; /* a stored blob that does not decode */
    if (rc) return rc;
    x->found = 1;
    x->first_ns = row.first_ns;
    x->last_ns = row.last_ns;
    *out = x;
  }
  c->n_gors++;
  return MW_OK;
}

/* The frames of a trace's stack, read once; NULL when unknown. */
static int xt_frames(xt_ctx *c, int64_t trace, uint32_t local, const char **out) {
  *out = NULL;
  if (!local) return MW_OK;
  int64_t key[2] = {trace, local}, at;
  if (mw__bmap_get(c->stacks, key, sizeof key, &at)) return (*out = c->frames[at]), MW_OK;
  int64_t stack_id;
  const char *frames = NULL;
  int rc = mw__store_xt_stack(c->rd, c->a, trace, local, &stack_id, &frames);
  if (rc && rc != MW_ENOTFOUND) return rc;
  if (c->n_frames == c->cap_frames) {
    size_t cap = c->cap_frames ? 2 * c->cap_frames : 64;
    const char **p = mw__arena_calloc(c->a, cap, sizeof *p);
    if (!p) return MW_ENOMEM;
    if (c->n_frames) memcpy(p, c->frames, c->n_frames * sizeof *p);
    c->frames = p;
    c->cap_frames = cap;
  }
  c->frames[c->n_frames] = rc ? NULL : frames;
  if (mw__bmap_put(c->stacks, key, sizeof key, (int64_t)c->n_frames)) return MW_ENOMEM;
  *out = c->frames[c->n_frames++];
  return MW_OK;
}

static mw_ex_state xt_state(const mw_xt_interval *v) {
  return (mw_ex_state){.state = v->state,
                       .reason = v->reason,
                       .raw_reason = v->raw_reason,
                       .start_ns = v->start_ns,
                       .end_ns = v->end_ns};
}

/* The index of the first interval that ends after t (intervals are by time). */
static size_t first_after(const mw_xt_blob *b, int64_t t) {
  size_t lo = 0, hi = b->n_intervals;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (b->intervals[mid].end_ns <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* The wake that ended a wait at end_ns (the nearest within the slack), or NULL. */
static const mw_xt_wake *wake_at(const mw_xt_blob *b, int64_t end_ns) {
  const mw_xt_wake *best = NULL;
  for (size_t i = 0; i < b->n_wakes; i++) {
    int64_t d = b->wakes[i].time_ns - end_ns;
    if (d < 0) d = -d;
    if (d <= XT_WAKE_SLACK_NS &&
        (!best || d < (best->time_ns > end_ns ? best->time_ns - end_ns : end_ns - best->time_ns)))
      best = &b->wakes[i];
  }
  return best;
}

/* The name and service of a span a waker ran: one of the trace being
 * explained, else a stored one; left NULL when not stored. */
static int xt_span_name(xt_ctx *c, mw_ex_link *k) {
  for (size_t i = 0; i < c->in->n_spans; i++) {
    const mw_stored_span *s = c->in->spans[i].span;
    if (memcmp(s->span_id, k->span_id, 8) == 0 && (!k->has_trace || memcmp(s->trace_id, k->trace_id, 16) == 0)) {
      k->span_name = s->name;
      k->service = c->in->spans[i].service;
      return MW_OK;
    }
  }
  if (!k->has_trace) return MW_OK; /* a span id alone (Datadog's) is not looked up */
  int rc = mw__store_span_name(c->rd, c->a, k->trace_id, k->span_id, &k->span_name, &k->service);
  if (rc == MW_ENOTFOUND) k->span_name = k->service = NULL, rc = MW_OK;
  return rc;
}

/* Follows a wait of goroutine g in trace t to the goroutines that woke it:
 * each link the waker, and what it had itself waited for within the chain's
 * time bound (from the first wait's start to its wake), whose waker is the
 * next link. Ends at a wake by no goroutine, a waker already in the chain, a
 * waker with no such wait, or XT_CHAIN_DEPTH links. */
static int xt_follow(xt_ctx *c, const xt_trace *t, const xt_gor *g, const mw_ex_state *wait, const mw_ex_chain **out) {
  *out = NULL;
  mw_ex_link *links = mw__arena_calloc(c->a, XT_CHAIN_DEPTH, sizeof *links);
  if (!links) return MW_ENOMEM;
  uint64_t seen[XT_CHAIN_DEPTH + 1] = {g->g};
  size_t n = 0;
  const int64_t bound = wait->start_ns;
  const xt_gor *cur = g;
  mw_ex_state w = *wait;
  while (n < XT_CHAIN_DEPTH) {
    if (w.state != MW_XT_BLOCKED) break;
    const mw_xt_wake *wk = wake_at(&cur->b, w.end_ns);
    if (!wk || !wk->waker) break; /* a timer, the network poller, a syscall's return */
    int cycle = 0;
    for (size_t i = 0; i <= n; i++) cycle |= seen[i] == wk->waker;
    if (cycle) break;
    mw_ex_link *k = &links[n];
    k->goroutine = wk->waker;
    k->exectrace_id = t->x.id;
    k->woke_ns = wk->time_ns;
    k->released = mw__ex_xt_released(w.reason);
    int rc = xt_frames(c, t->x.id, wk->waker_stack, &k->frames);
    if (rc) return rc;
    if (wk->waker_span && wk->waker_span <= t->t.n_spans) {
      const mw_xt_span *s = &t->t.spans[wk->waker_span - 1];
      k->has_span = 1;
      k->has_trace = s->has_trace;
      memcpy(k->span_id, s->span_id, 8);
      memcpy(k->trace_id, s->trace_id, 16);
      if ((rc = xt_span_name(c, k))) return rc;
    }
    seen[++n] = wk->waker;
    const xt_gor *wg;
    if ((rc = xt_gor_of(c, t->x.id, wk->waker, &wg))) return rc;
    if (!wg) break;
    /* its longest wait that ended in the chain's time bound */
    const mw_xt_interval *best = NULL;
    for (size_t i = first_after(&wg->b, bound); i < wg->b.n_intervals; i++) {
      const mw_xt_interval *v = &wg->b.intervals[i];
      if (v->end_ns > wk->time_ns) break;
      int64_t len = v->end_ns - (v->start_ns > bound ? v->start_ns : bound);
      if (v->state == MW_XT_BLOCKED &&
          (!best || len > best->end_ns - (best->start_ns > bound ? best->start_ns : bound)))
        best = v;
    }
    if (!best) break;
    k->has_waited = 1;
    k->waited = xt_state(best);
    k->waited_ns = best->end_ns - (best->start_ns > bound ? best->start_ns : bound);
    if ((rc = xt_frames(c, t->x.id, best->stack, &k->waited.frames))) return rc;
    cur = wg;
    w = k->waited;
  }
  if (!n) return MW_OK;
  mw_ex_chain *ch = mw__arena_calloc(c->a, 1, sizeof *ch);
  if (!ch) return MW_ENOMEM;
  ch->links = links;
  ch->n_links = n;
  return (*out = ch), MW_OK;
}

/* A run of the span by one goroutine of one trace. */
typedef struct xt_cand {
  xt_trace *t;
  uint64_t g;
  int64_t first_ns, last_ns, overlap;
} xt_cand;

static int cmp_cand(const void *x, const void *y) {
  const xt_cand *p = x, *q = y;
  if (p->overlap != q->overlap) return p->overlap < q->overlap ? 1 : -1;
  if (p->t->x.id != q->t->x.id) return p->t->x.id < q->t->x.id ? 1 : -1; /* the newer trace */
  return (p->g > q->g) - (p->g < q->g);
}

/* The pieces of [a0, a1) that no interval of cov (sorted, disjoint) holds. */
static size_t uncovered(const mw_ex_ival *cov, size_t n, int64_t a0, int64_t a1, mw_ex_ival *out, size_t max) {
  size_t m = 0;
  for (size_t i = 0; i < n && a0 < a1 && m < max; i++) {
    if (cov[i].b <= a0) continue;
    if (cov[i].a >= a1) break;
    if (cov[i].a > a0) out[m++] = (mw_ex_ival){a0, cov[i].a};
    a0 = cov[i].b;
  }
  if (a0 < a1 && m < max) out[m++] = (mw_ex_ival){a0, a1};
  return m;
}

static void cover(mw_ex_ival *cov, size_t *n, mw_ex_ival v) {
  size_t at = 0;
  while (at < *n && cov[at].a < v.a) at++;
  memmove(&cov[at + 1], &cov[at], (*n - at) * sizeof *cov);
  cov[at] = v;
  (*n)++;
}

/* The runs of span i in the traces that name it (hits[0 .. n_hits)). */
static int xt_candidates(xt_ctx *c, size_t i, const mw_xt_span_hit *hits, size_t n_hits, xt_cand *cands,
                         size_t *n_cands) {
  const mw_stored_span *sp = c->in->spans[i].span;
  int64_t s0 = sp->start_ns, s1 = mw__sat_add(sp->start_ns, sp->dur_ns);
  *n_cands = 0;
  for (size_t h = 0; h < n_hits; h++) {
    xt_trace *t;
    int rc = xt_trace_of(c, hits[h].exectrace_id, &t);
    if (rc) return rc;
    if (!t) continue;
    for (size_t k = 0; k < t->t.n_runs && *n_cands < XT_CANDIDATES; k++) {
      const mw_xt_span_run *r = &t->t.runs[k];
      if (!r->span || r->span > t->t.n_spans) continue;
      const mw_xt_span *s = &t->t.spans[r->span - 1];
      if (memcmp(s->span_id, sp->span_id, 8) || (s->has_trace && memcmp(s->trace_id, sp->trace_id, 16))) continue;
      int64_t lo = r->first_ns > s0 ? r->first_ns : s0, hi = r->last_ns < s1 ? r->last_ns : s1;
      cands[(*n_cands)++] = (xt_cand){t, r->goroutine, r->first_ns, r->last_ns, hi > lo ? hi - lo : 0};
    }
  }
  qsort(cands, *n_cands, sizeof *cands, cmp_cand);
  return MW_OK;
}

/* Where a piece of a span's goroutines came from. */
typedef struct xt_src {
  xt_trace *t;
  const xt_gor *g;
  const mw_xt_interval *raw; /* the blob's intervals the piece's iv copy */
  mw_ex_xival *iv;           /* the piece's (its xgor's iv, writable here) */
} xt_src;

/* Which of a span's intervals get their stacks read, and which blocked ones
 * are followed to their wakers: per kind, the longest in the span's self
 * time (the evidence shows those); of the waits among them, the longest of
 * each kind and any of 10% of the span or more, at most XT_CHAINS_PER_SPAN. */
static int xt_details(xt_ctx *c, size_t i, mw_ex_xgor *xg, const xt_src *src, size_t n_xg) {
  mw_ex_timing tm;
  int rc = mw__ex_timing(c->a, c->in, i, &tm);
  if (rc) return rc;
  typedef struct {
    size_t gi, k;
    int64_t ns;
  } pick;
  pick top[MW_K_N][XT_STACKS_PER_KIND];
  size_t n_top[MW_K_N] = {0};
  for (size_t gi = 0; gi < n_xg; gi++)
    for (size_t k = 0; k < xg[gi].n_iv; k++) {
      const mw_ex_xival *iv = &xg[gi].iv[k];
      int64_t a0 = iv->s.start_ns > xg[gi].from_ns ? iv->s.start_ns : xg[gi].from_ns;
      int64_t a1 = iv->s.end_ns < xg[gi].to_ns ? iv->s.end_ns : xg[gi].to_ns, ns = 0;
      for (size_t j = 0; j < tm.n_self; j++) {
        int64_t lo = a0 > tm.self[j].a ? a0 : tm.self[j].a, hi = a1 < tm.self[j].b ? a1 : tm.self[j].b;
        if (hi > lo) ns += hi - lo;
      }
      if (ns <= 0) continue;
      int kind = mw__ex_xt_kind(iv->s.state, iv->s.reason);
      size_t at = n_top[kind];
      while (at > 0 && top[kind][at - 1].ns < ns) at--;
      if (at >= XT_STACKS_PER_KIND) continue;
      size_t n = n_top[kind] < XT_STACKS_PER_KIND ? n_top[kind] + 1 : XT_STACKS_PER_KIND;
      memmove(&top[kind][at + 1], &top[kind][at], (n - 1 - at) * sizeof top[kind][0]);
      top[kind][at] = (pick){gi, k, ns};
      n_top[kind] = n;
    }
  /* the waits to follow, longest first */
  pick follow[MW_K_N * XT_STACKS_PER_KIND];
  size_t n_follow = 0;
  int64_t dur = c->in->spans[i].span->dur_ns;
  for (int kind = 0; kind < MW_K_N; kind++)
    for (size_t k = 0; k < n_top[kind]; k++) {
      pick p = top[kind][k];
      mw_ex_xival *iv = &src[p.gi].iv[p.k];
      const mw_xt_interval *raw = &src[p.gi].raw[p.k];
      if ((rc = xt_frames(c, src[p.gi].t->x.id, raw->stack, &iv->s.frames))) return rc;
      if (raw->state == MW_XT_BLOCKED && (k == 0 || p.ns * 10 >= dur)) follow[n_follow++] = p;
    }
  for (size_t m = 0; m < n_follow && m < XT_CHAINS_PER_SPAN; m++) {
    size_t best = m;
    for (size_t j = m + 1; j < n_follow; j++)
      if (follow[j].ns > follow[best].ns) best = j;
    pick p = follow[best];
    follow[best] = follow[m];
    mw_ex_xival *iv = &src[p.gi].iv[p.k];
    if ((rc = xt_follow(c, src[p.gi].t, src[p.gi].g, &iv->s, &iv->chain))) return rc;
  }
  return MW_OK;
}

/* Span i's goroutines in the traces that name it: the run that overlaps the
 * span most (in each trace) stands for the whole span inside the trace and
 * the goroutine's record; other runs for their own time; a piece of time is
 * counted once, by the first that covers it (the longest overlap first). */
static int xt_span(xt_ctx *c, size_t i, const mw_xt_span_hit *hits, size_t n_hits) {
  mw_ex_span *sp = &c->in->spans[i];
  int64_t s0 = sp->span->start_ns, s1 = mw__sat_add(sp->span->start_ns, sp->span->dur_ns);
  xt_cand cands[XT_CANDIDATES];
  size_t n_cands;
  int rc = xt_candidates(c, i, hits, n_hits, cands, &n_cands);
  if (rc || !n_cands) return rc;
  mw_ex_xgor *xg = mw__arena_calloc(c->a, XT_GOR_PER_SPAN, sizeof *xg);
  xt_src src[XT_GOR_PER_SPAN];
  mw_ex_ival cov[XT_GOR_PER_SPAN + 1];
  size_t n_xg = 0, n_cov = 0;
  if (!xg) return MW_ENOMEM;
  for (size_t k = 0; k < n_cands && n_xg < XT_GOR_PER_SPAN; k++) {
    const xt_cand *cd = &cands[k];
    if (cd->overlap <= 0) continue; /* a run outside the span: a clock off, not the span */
    const xt_gor *g;
    if ((rc = xt_gor_of(c, cd->t->x.id, cd->g, &g))) return rc;
    if (!g) continue;
    int primary = 1; /* the first goroutine used of its trace */
    for (size_t j = 0; j < n_xg && primary; j++) primary = src[j].t != cd->t;
    int64_t a0 = primary ? s0 : (cd->first_ns > s0 ? cd->first_ns : s0);
    int64_t a1 = primary ? s1 : (cd->last_ns < s1 ? cd->last_ns : s1);
    int64_t lo[3] = {a0, cd->t->x.start_ns, g->first_ns}, hi[3] = {a1, cd->t->x.end_ns, g->last_ns};
    for (int j = 1; j < 3; j++) {
      if (lo[j] > a0) a0 = lo[j];
      if (hi[j] < a1) a1 = hi[j];
    }
    mw_ex_ival pieces[XT_GOR_PER_SPAN + 1];
    size_t n_pieces = a1 > a0 ? uncovered(cov, n_cov, a0, a1, pieces, XT_GOR_PER_SPAN + 1) : 0;
    for (size_t p = 0; p < n_pieces && n_xg < XT_GOR_PER_SPAN; p++) {
      size_t f = first_after(&g->b, pieces[p].a), e = f;
      while (e < g->b.n_intervals && g->b.intervals[e].start_ns < pieces[p].b) e++;
      mw_ex_xival *iv = mw__arena_calloc(c->a, e - f + 1, sizeof *iv);
      if (!iv) return MW_ENOMEM;
      for (size_t j = f; j < e; j++) iv[j - f].s = xt_state(&g->b.intervals[j]);
      xg[n_xg] = (mw_ex_xgor){.trace = &cd->t->x,
                              .goroutine = cd->g,
                              .from_ns = pieces[p].a,
                              .to_ns = pieces[p].b,
                              .iv = iv,
                              .n_iv = e - f};
      src[n_xg++] = (xt_src){cd->t, g, &g->b.intervals[f], iv};
      cover(cov, &n_cov, pieces[p]);
    }
  }
  if (!n_xg) return MW_OK;
  sp->xg = xg;
  sp->n_xg = n_xg;
  return xt_details(c, i, xg, src, n_xg);
}

static int cmp_hit(const void *key, const void *elem) {
  return memcmp(key, ((const mw_xt_span_hit *)elem)->span_id, 8);
}

/* Each span's goroutines in the stored execution traces that name it
 * (docs/CORRELATION.md, "Exact explanations"): one read of the span index
 * for the whole trace, then each trace's span table and each goroutine's
 * blob once, whatever the number of spans that share them. */
static int read_exectraces(mw_read *rd, mw_arena *a, mw_explain_input *in) {
  mw_xt_span_hit *hits;
  size_t n_hits;
  int rc = mw__store_xt_trace_hits(rd, a, in->trace_id, XT_PER_SPAN, &hits, &n_hits);
  if (rc || !n_hits) return rc;
  xt_ctx c = {.rd = rd, .a = a, .in = in};
  c.traces = mw__arena_calloc(a, XT_MAX_TRACES, sizeof *c.traces);
  c.gors = mw__arena_calloc(a, XT_MAX_GOROUTINES, sizeof *c.gors);
  c.stacks = mw__bmap_new(1u << 16);
  if (!c.traces || !c.gors || !c.stacks) rc = MW_ENOMEM;
  for (size_t i = 0; !rc && i < in->n_spans; i++) {
    const mw_xt_span_hit *h = bsearch(in->spans[i].span->span_id, hits, n_hits, sizeof *hits, cmp_hit);
    if (!h) continue;
    while (h > hits && memcmp(h[-1].span_id, h->span_id, 8) == 0) h--;
    size_t n = 0;
    while (h + n < hits + n_hits && memcmp(h[n].span_id, h->span_id, 8) == 0) n++;
    rc = xt_span(&c, i, h, n);
  }
  mw__bmap_free(c.stacks);
  return rc;
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
      (rc = mw__explain_link(a, in)) || (rc = read_exectraces(rd, a, in)))
    return rc;
  return read_ops(rd, a, o, in);
}

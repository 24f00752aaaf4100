/* GC pressure over time and the operations that lose most time to GC (see
 * gc_pressure.h). The operations' figures are the explanation's: each span
 * that a cycle overlaps is given to the stop-the-world and CPU accountants of
 * explain_breakdown.c, over the span's whole duration, with its labelled CPU
 * samples read as explain_gather.c reads them; what they claim as gc_stw and
 * gc_assist is summed per operation. */
#include "query/gc_pressure.h"
#include "core/error.h"
#include "core/sat.h"
#include "query/explain_steps.h"
#include "query/runtime_json.h"
#include "query/series.h"
#include "store/gor_read.h"

#include <stdlib.h>
#include <string.h>

static int64_t cycle_end(const mw_gc_cycle *g) {
  return mw__sat_add(mw__sat_add(mw__sat_add(g->start_ns, g->stw_sweep_term_ns), g->concurrent_mark_ns),
                     g->stw_mark_term_ns);
}

static int64_t gc_cpu_ns(const mw_gc_cycle *g) {
  return g->stw1_cpu_ns + g->assist_cpu_ns + g->background_cpu_ns + g->stw2_cpu_ns;
}

static int cmp_i64(const void *x, const void *y) {
  int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
  return a < b ? -1 : a > b;
}

/* Nearest rank: the smallest value with at least q of the values at or below it. */
static int64_t quantile(const int64_t *v, size_t n, double q) {
  size_t k = (size_t)(q * (double)n + 0.999999999);
  return v[k ? k - 1 : 0];
}

int mw__gcp_points(mw_arena *a, const mw_gc_cycle *c, size_t n, int64_t start_ns, int64_t step_ns, mw_gcp_point **out,
                   size_t *n_out) {
  *out = NULL;
  *n_out = 0;
  if (!n || step_ns <= 0) return MW_OK;
  mw_gcp_point *pts = mw__arena_calloc(a, n, sizeof *pts);
  int64_t *pauses = mw__arena_alloc(a, 2 * n * sizeof *pauses);
  if (!pts || !pauses) return MW_ENOMEM;
  size_t m = 0;
  for (size_t i = 0; i < n;) {
    int64_t b = c[i].start_ns < start_ns ? 0 : (c[i].start_ns - start_ns) / step_ns;
    int64_t t0 = start_ns + b * step_ns;
    size_t j = i;
    while (j < n && c[j].start_ns >= t0 && c[j].start_ns - t0 < step_ns) j++;
    if (j == i) j = i + 1; /* a cycle before start (not read by the query) */
    int64_t cpu = 0, assist = 0, alloc = 0, alloc_ns = 0;
    size_t np = 0;
    for (size_t k = i; k < j; k++) {
      cpu += gc_cpu_ns(&c[k]);
      assist += c[k].assist_cpu_ns;
      pauses[np++] = c[k].stw_sweep_term_ns;
      pauses[np++] = c[k].stw_mark_term_ns;
      if (k > 0 && c[k].n == c[k - 1].n + 1) {
        int64_t grown = c[k].heap_after - c[k - 1].heap_live;
        alloc += grown > 0 ? grown : 0;
        alloc_ns += cycle_end(&c[k]) - cycle_end(&c[k - 1]);
      }
    }
    qsort(pauses, np, sizeof *pauses, cmp_i64);
    mw_gcp_point *p = &pts[m++];
    p->time_ns = t0;
    p->cycles = (int64_t)(j - i);
    int procs = c[j - 1].procs > 0 ? c[j - 1].procs : 1;
    p->gc_cpu = (double)cpu / ((double)step_ns * procs);
    p->pause_p50_ns = quantile(pauses, np, 0.5);
    p->pause_p99_ns = quantile(pauses, np, 0.99);
    p->heap_live = c[j - 1].heap_live;
    p->heap_goal = c[j - 1].goal;
    p->alloc_bytes_per_s = alloc_ns > 0 ? (double)alloc * 1e9 / (double)alloc_ns : -1;
    p->assist_share = cpu > 0 ? (double)assist / (double)cpu : 0;
    i = j;
  }
  *out = pts;
  *n_out = m;
  return MW_OK;
}

static void write_point(mw_jsonw *w, const mw_gcp_point *p) {
  mw__jw_obj(w);
  mw__jw_kint(w, "time_ns", p->time_ns);
  mw__jw_kint(w, "cycles", p->cycles);
  mw__jw_kdouble(w, "gc_cpu", p->gc_cpu);
  mw__jw_kint(w, "pause_p50_ns", p->pause_p50_ns);
  mw__jw_kint(w, "pause_p99_ns", p->pause_p99_ns);
  mw__jw_kint(w, "heap_live", p->heap_live);
  mw__jw_kint(w, "heap_goal", p->heap_goal);
  mw__jw_key(w, "alloc_bytes_per_s");
  if (p->alloc_bytes_per_s >= 0) mw__jw_double(w, p->alloc_bytes_per_s);
  else mw__jw_null(w);
  mw__jw_kdouble(w, "assist_share", p->assist_share);
  mw__jw_obj_end(w);
}

/* Steps of a minute or more: from the rollups (query/series.h), steps
 * rounded up to whole minutes and starting at a minute. */
static int pressure_minutes(mw_query *q, const mw_gcp_query *p, const mw_source_info *src, int64_t step,
                            mw_answer *out) {
  step = (step + MW_MINUTE_NS - 1) / MW_MINUTE_NS * MW_MINUTE_NS;
  int64_t first = 0, last = 0;
  int rc = mw__store_gc_span(q->rd, p->source_id, p->start_ns, p->end_ns, &first, &last);
  if (rc && rc != MW_ENOTFOUND) return mw__answer_fail(out, rc, "query failed: %s", mw__strerror(rc));
  int none = rc == MW_ENOTFOUND;
  int64_t from = p->start_given || none ? p->start_ns : first;
  from = from / MW_MINUTE_NS * MW_MINUTE_NS - (from % MW_MINUTE_NS < 0 ? MW_MINUTE_NS : 0);
  if (!none && (last - from) / step >= MW_GCP_MAX_POINTS)
    return mw__answer_fail(out, MW_EINVAL,
                           "step is too small: the cycles would make more than %d points; raise step or narrow "
                           "start and end",
                           MW_GCP_MAX_POINTS);
  mw_minute_row *rows = NULL;
  mw_series_point *pts = NULL;
  size_t n = 0, np = 0;
  int more = 0;
  if (!none)
    rc = mw__store_minutes(q->rd, q->arena, p->source_id, from, p->end_ns, MW_SERIES_MAX_MINUTES, &rows, &n, &more);
  if (!rc) rc = mw__series_steps(q->arena, rows, n, from, step, &pts, &np);
  if (rc) return mw__answer_fail(out, rc, "query failed: %s", mw__strerror(rc));
  mw_jsonw w;
  mw__answer_json(out, 16u << 20, &w);
  mw__jw_obj(&w);
  mw__jw_key(&w, "source");
  mw__json_source(&w, src);
  mw__jw_kint(&w, "step_ns", step);
  mw__jw_key(&w, "points");
  mw__jw_arr(&w);
  for (size_t i = 0; i < np; i++) {
    const mw_minute *m = &pts[i].m;
    if (!m->gc_cycles) continue;
    int procs = m->procs > 0 ? (int)m->procs : 1;
    mw_gcp_point g = {.time_ns = m->time_ns,
                      .cycles = m->gc_cycles,
                      .gc_cpu = (double)m->gc_cpu_ns / ((double)step * procs),
                      .pause_p50_ns = pts[i].pause_p50_ns,
                      .pause_p99_ns = pts[i].pause_p99_ns,
                      .heap_live = m->heap_live,
                      .heap_goal = m->heap_goal,
                      .alloc_bytes_per_s = m->alloc_ns > 0 ? (double)m->alloc_bytes * 1e9 / (double)m->alloc_ns : -1,
                      .assist_share = m->gc_cpu_ns > 0 ? (double)m->assist_cpu_ns / (double)m->gc_cpu_ns : 0};
    write_point(&w, &g);
  }
  mw__jw_arr_end(&w);
  mw__jw_kbool(&w, "more", more);
  mw__jw_obj_end(&w);
  return mw__answer_end(out, &w);
}

int mw__q_gc_pressure(mw_query *q, const mw_gcp_query *p, mw_answer *out) {
  if (mw__query_open(q, out)) return out->rc;
  mw_source_info src;
  int rc = mw__store_source(q->rd, q->arena, p->source_id, &src);
  if (rc == MW_ENOTFOUND) return mw__answer_fail(out, rc, "source %lld not found", (long long)p->source_id);
  if (rc) return mw__answer_fail(out, rc, "reading the source failed: %s", mw__strerror(rc));
  if (p->step_ns >= MW_MINUTE_NS) return pressure_minutes(q, p, &src, p->step_ns, out);
  if (!p->step_ns) { /* the default step: from the window of the cycles, as the raw path has it */
    int64_t first, last;
    rc = mw__store_gc_span(q->rd, p->source_id, p->start_ns, p->end_ns, &first, &last);
    if (rc && rc != MW_ENOTFOUND) return mw__answer_fail(out, rc, "query failed: %s", mw__strerror(rc));
    int64_t from = p->start_given ? p->start_ns : first;
    if (!rc && (last - from) / MW_GCP_POINTS + 1 >= MW_MINUTE_NS)
      return pressure_minutes(q, p, &src, (last - from) / MW_GCP_POINTS + 1, out);
  }
  mw_gc_cycle *gc;
  size_t n;
  int more;
  rc = mw__store_gc(q->rd, q->arena, p->source_id, p->start_ns, p->end_ns, MW_GCP_MAX_CYCLES, &gc, &n, &more);
  if (rc) return mw__answer_fail(out, rc, "query failed: %s", mw__strerror(rc));
  /* steps from start when it was given, else from the first cycle */
  int64_t from = p->start_given || !n ? p->start_ns : gc[0].start_ns;
  int64_t step = p->step_ns;
  if (!step) {
    int64_t span = n ? gc[n - 1].start_ns - from : 0;
    step = span / MW_GCP_POINTS + 1;
    if (step < 1000000000) step = 1000000000;
  }
  if (n && (gc[n - 1].start_ns - from) / step >= MW_GCP_MAX_POINTS)
    return mw__answer_fail(out, MW_EINVAL,
                           "step is too small: the cycles would make more than %d points; raise step or narrow "
                           "start and end",
                           MW_GCP_MAX_POINTS);
  mw_gcp_point *pts;
  size_t np;
  if ((rc = mw__gcp_points(q->arena, gc, n, from, step, &pts, &np)))
    return mw__answer_fail(out, rc, "query failed: %s", mw__strerror(rc));
  mw_jsonw w;
  mw__answer_json(out, 16u << 20, &w);
  mw__jw_obj(&w);
  mw__jw_key(&w, "source");
  mw__json_source(&w, &src);
  mw__jw_kint(&w, "step_ns", step);
  mw__jw_key(&w, "points");
  mw__jw_arr(&w);
  for (size_t i = 0; i < np; i++) write_point(&w, &pts[i]);
  mw__jw_arr_end(&w);
  mw__jw_kbool(&w, "more", more);
  mw__jw_obj_end(&w);
  return mw__answer_end(out, &w);
}

/* --- operations ----------------------------------------------------------------- */

typedef struct op_sum {
  int64_t op_id, spans, span_ns, stw_ns, assist_ns;
} op_sum;

static int cmp_op_id(const void *x, const void *y) {
  const op_sum *a = x, *b = y;
  return a->op_id < b->op_id ? -1 : a->op_id > b->op_id;
}

static int cmp_gc_ns(const void *x, const void *y) {
  const op_sum *a = x, *b = y;
  int64_t ga = a->stw_ns + a->assist_ns, gb = b->stw_ns + b->assist_ns;
  if (ga != gb) return ga > gb ? -1 : 1;
  return a->op_id < b->op_id ? -1 : a->op_id > b->op_id;
}

static int cmp_cpu_span(const void *key, const void *elem) {
  return memcmp(key, ((const mw_src_cpu *)elem)->span_id, 8);
}

/* The operations' sums, unsorted, in a growing array. */
typedef struct op_list {
  op_sum *v;
  size_t n, cap;
} op_list;

static op_sum *op_of(mw_arena *a, op_list *l, int64_t op_id) {
  for (size_t i = l->n; i-- > 0;) /* spans of one operation tend to come together */
    if (l->v[i].op_id == op_id) return &l->v[i];
  op_sum *v = mw__arena_grow(a, l->v, l->n, &l->cap, sizeof *v);
  if (!v) return NULL;
  l->v = v;
  l->v[l->n] = (op_sum){.op_id = op_id};
  return &l->v[l->n++];
}

/* The span's CPU rows (those of profiles overlapping it), as explain reads them. */
static int span_cpu(mw_arena *a, const mw_src_span *s, const mw_src_cpu *cpu, size_t n_cpu, mw_ex_cpu_row **rows,
                    size_t *n) {
  *rows = NULL;
  *n = 0;
  const mw_src_cpu *hit = bsearch(s->span_id, cpu, n_cpu, sizeof *cpu, cmp_cpu_span);
  if (!hit) return MW_OK;
  size_t lo = (size_t)(hit - cpu), hi = lo;
  while (lo > 0 && !memcmp(cpu[lo - 1].span_id, s->span_id, 8)) lo--;
  while (hi < n_cpu && !memcmp(cpu[hi].span_id, s->span_id, 8)) hi++;
  if (!(*rows = mw__arena_calloc(a, hi - lo, sizeof **rows))) return MW_ENOMEM;
  int64_t end = mw__sat_add(s->start_ns, s->dur_ns);
  for (size_t i = lo; i < hi; i++) {
    const mw_src_cpu *c = &cpu[i];
    if (c->at_ns >= end || mw__sat_add(c->at_ns, c->dur_ns) <= s->start_ns) continue;
    int idx;
    int64_t period;
    if (mw__ex_cpu_value_index(a, c->meta_json, &idx, &period)) return MW_ENOMEM;
    int64_t count = mw__ex_nth_value(c->vals_json, 0);
    (*rows)[(*n)++] =
        (mw_ex_cpu_row){.snapshot_id = c->snapshot_id,
                        .at_ns = c->at_ns,
                        .dur_ns = c->dur_ns,
                        .frames = c->frames,
                        .samples = count > 0 ? count : 1,
                        .cpu_ns = idx >= 0 ? mw__ex_nth_value(c->vals_json, idx) : mw__sat_mul(count, period)};
  }
  return MW_OK;
}

/* The accountants of the breakdown over one span's whole duration: what they
 * claim as stop-the-world and as assist. */
static int account_span(mw_arena *a, const mw_src_span *s, const mw_gc_cycle *gc, size_t n_gc, const mw_ex_cpu_row *cpu,
                        size_t n_cpu, int64_t *stw, int64_t *assist) {
  *stw = *assist = 0;
  mw_ex_ival self = {s->start_ns, mw__sat_add(s->start_ns, s->dur_ns)};
  mw_ex_timing t = {.self = &self, .n_self = 1, .self_ns = s->dur_ns, .slowest = -1};
  mw_ex_source src = {.gc = gc, .n_gc = n_gc};
  mw_ex_span sp = {.cpu = cpu, .n_cpu = n_cpu, .parent = -1};
  mw_ex_view v = {.a = a, .span = &sp, .source = &src};
  mw_ex_ledger l;
  int rc = mw__ex_ledger_init(a, &t, &l);
  if (!rc) rc = mw__ex_account_stw(&v, &t, &l);
  if (!rc && n_cpu) rc = mw__ex_account_cpu(&v, &t, &l);
  for (size_t i = 0; !rc && i < l.n_claims; i++) {
    if (l.claims[i].kind == MW_K_GC_STW) *stw += l.claims[i].ns;
    if (l.claims[i].kind == MW_K_GC_ASSIST) *assist += l.claims[i].ns;
  }
  return rc;
}

/* Adds one source's spans in the window to ops. *more when a bound cut it. */
static int source_ops(mw_query *q, const mw_gco_query *p, int64_t source_id, op_list *ops, int *more) {
  mw_arena *a = q->arena;
  mw_gc_cycle *gc;
  mw_src_span *spans;
  mw_src_cpu *cpu;
  size_t n_gc, n_spans, n_cpu;
  int m1, m2, m3;
  int rc = mw__store_gc(q->rd, a, source_id, p->start_ns, p->end_ns, MW_GCP_MAX_CYCLES, &gc, &n_gc, &m1);
  if (rc || !n_gc) return rc;
  rc = mw__store_source_spans(q->rd, a, source_id, p->start_ns, p->end_ns, MW_GCO_MAX_SPANS, &spans, &n_spans, &m2);
  if (!rc) rc = mw__store_source_cpu(q->rd, a, source_id, p->start_ns, p->end_ns, MW_GCO_MAX_CPU, &cpu, &n_cpu, &m3);
  if (rc) return rc;
  *more |= m1 || m2 || m3;
  size_t first = 0; /* cycles ending before a span's start overlap no later span either */
  for (size_t i = 0; i < n_spans; i++) {
    const mw_src_span *s = &spans[i];
    int64_t end = mw__sat_add(s->start_ns, s->dur_ns);
    op_sum *o = op_of(a, ops, s->op_id);
    if (!o) return MW_ENOMEM;
    o->spans++;
    o->span_ns += s->dur_ns;
    while (first < n_gc && cycle_end(&gc[first]) <= s->start_ns) first++;
    size_t last = first;
    while (last < n_gc && gc[last].start_ns < end) last++;
    if (last == first) continue; /* no cycle overlaps it */
    mw_ex_cpu_row *rows;
    size_t n_rows;
    int64_t stw, assist;
    rc = span_cpu(a, s, cpu, n_cpu, &rows, &n_rows);
    if (!rc) rc = account_span(a, s, &gc[first], last - first, rows, n_rows, &stw, &assist);
    if (rc) return rc;
    o->stw_ns += stw;
    o->assist_ns += assist;
  }
  return MW_OK;
}

int mw__q_gc_operations(mw_query *q, const mw_gco_query *p, mw_answer *out) {
  if (mw__query_open(q, out)) return out->rc;
  mw_page pg = {.offset = 0, .limit = MW_GCO_MAX_SOURCES, .max_bytes = SIZE_MAX};
  mw_source_info *srcs;
  size_t n_src, next;
  int rc = mw__store_sources(q->rd, q->arena, &pg, &srcs, &n_src, &next);
  int more = next != 0;
  op_list ops = {0};
  for (size_t i = 0; !rc && i < n_src; i++)
    if (!p->service || strcmp(srcs[i].service, p->service) == 0) rc = source_ops(q, p, srcs[i].id, &ops, &more);
  if (rc) return mw__answer_fail(out, rc, "query failed: %s", mw__strerror(rc));
  /* one operation may have spans in several sources */
  if (ops.n) qsort(ops.v, ops.n, sizeof *ops.v, cmp_op_id);
  size_t m = 0;
  for (size_t i = 0; i < ops.n; i++) {
    if (m && ops.v[m - 1].op_id == ops.v[i].op_id) {
      ops.v[m - 1].spans += ops.v[i].spans;
      ops.v[m - 1].span_ns += ops.v[i].span_ns;
      ops.v[m - 1].stw_ns += ops.v[i].stw_ns;
      ops.v[m - 1].assist_ns += ops.v[i].assist_ns;
    } else {
      ops.v[m++] = ops.v[i];
    }
  }
  if (m) qsort(ops.v, m, sizeof *ops.v, cmp_gc_ns);
  size_t shown = m < p->limit ? m : p->limit;
  mw_jsonw w;
  mw__answer_json(out, 16u << 20, &w);
  mw__jw_obj(&w);
  mw__jw_key(&w, "operations");
  mw__jw_arr(&w);
  for (size_t i = 0; i < shown; i++) {
    const op_sum *o = &ops.v[i];
    const char *service, *name;
    rc = mw__store_operation(q->rd, q->arena, o->op_id, &service, &name);
    if (rc == MW_ENOTFOUND) continue;
    if (rc) return mw__answer_fail(out, rc, "query failed: %s", mw__strerror(rc));
    mw__jw_obj(&w);
    mw__jw_kstr(&w, "service", service);
    mw__jw_kstr(&w, "name", name);
    mw__jw_kint(&w, "spans", o->spans);
    mw__jw_kint(&w, "span_ns", o->span_ns);
    mw__jw_kint(&w, "stw_ns", o->stw_ns);
    mw__jw_kint(&w, "assist_ns", o->assist_ns);
    mw__jw_kdouble(&w, "stw_share", o->span_ns > 0 ? (double)o->stw_ns / (double)o->span_ns : 0);
    mw__jw_kdouble(&w, "assist_share", o->span_ns > 0 ? (double)o->assist_ns / (double)o->span_ns : 0);
    mw__jw_kint(&w, "gc_ns", o->stw_ns + o->assist_ns);
    mw__jw_obj_end(&w);
  }
  mw__jw_arr_end(&w);
  mw__jw_kbool(&w, "more", more || m > shown);
  mw__jw_obj_end(&w);
  return mw__answer_end(out, &w);
}

/* The source's runtime series (see series.h). */
#include "query/series.h"
#include "core/error.h"
#include "store/exectrace_read.h"

#include <stdlib.h>
#include <string.h>

static int64_t floor_to(int64_t t, int64_t step) {
  int64_t m = t / step * step;
  return m > t ? m - step : m;
}

/* The step of t, from first (times before first: the first step). */
static int64_t step_of(int64_t t, int64_t first, int64_t step) { return t < first ? 0 : (t - first) / step; }

/* Steps being summed, with one histogram for the step at hand. */
typedef struct steps {
  mw_arena *a;
  mw_series_point *v;
  size_t n, cap;
  uint32_t *hist;
  int open;
} steps;

static int steps_init(steps *s, mw_arena *a) {
  memset(s, 0, sizeof *s);
  s->a = a;
  return (s->hist = mw__arena_calloc(a, MW_PH_KEYS, sizeof *s->hist)) ? MW_OK : MW_ENOMEM;
}

static void steps_close(steps *s) {
  if (!s->open) return;
  mw_series_point *p = &s->v[s->n - 1];
  p->pause_p50_ns = mw__ph_quantile(s->hist, p->m.pauses, 0.5);
  p->pause_p99_ns = mw__ph_quantile(s->hist, p->m.pauses, 0.99);
  p->m.hist = NULL;
  memset(s->hist, 0, MW_PH_KEYS * sizeof *s->hist);
  s->open = 0;
}

/* The step at time t0, opened (closing the one before) unless it is open. */
static mw_minute *steps_at(steps *s, int64_t t0) {
  if (s->open && s->v[s->n - 1].m.time_ns == t0) return &s->v[s->n - 1].m;
  steps_close(s);
  mw_series_point *v = mw__arena_grow(s->a, s->v, s->n, &s->cap, sizeof *v);
  if (!v) return NULL;
  s->v = v;
  memset(&v[s->n], 0, sizeof *v);
  v[s->n].m.time_ns = t0;
  v[s->n].m.hist = s->hist;
  s->n++;
  s->open = 1;
  return &v[s->n - 1].m;
}

int mw__series_steps(mw_arena *a, const mw_minute_row *rows, size_t n, int64_t first, int64_t step,
                     mw_series_point **out, size_t *n_out) {
  steps s;
  *out = NULL;
  *n_out = 0;
  if (steps_init(&s, a)) return MW_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    mw_minute *m = steps_at(&s, first + step_of(rows[i].m.time_ns, first, step) * step);
    if (!m) return MW_ENOMEM;
    mw__minute_merge(m, &rows[i].m);
    mw__ph_add(s.hist, rows[i].hist, rows[i].hist_len);
  }
  steps_close(&s);
  *out = s.v;
  *n_out = s.n;
  return MW_OK;
}

int mw__series_raw(mw_arena *a, const mw_gc_cycle *prev, const mw_gc_cycle *gc, size_t n_gc,
                   const mw_snapshot_info *snaps, size_t n_snaps, const int64_t *xt_at, const int *xt_trig, size_t n_xt,
                   int64_t first, int64_t step, mw_series_point **out, size_t *n_out) {
  steps s;
  *out = NULL;
  *n_out = 0;
  if (steps_init(&s, a)) return MW_ENOMEM;
  size_t i = 0, j = 0, k = 0;
  while (i < n_gc || j < n_snaps || k < n_xt) {
    /* the earliest step any list has next */
    int64_t b = INT64_MAX;
    if (i < n_gc) b = step_of(gc[i].start_ns, first, step);
    if (j < n_snaps && step_of(snaps[j].at_ns, first, step) < b) b = step_of(snaps[j].at_ns, first, step);
    if (k < n_xt && step_of(xt_at[k], first, step) < b) b = step_of(xt_at[k], first, step);
    mw_minute *m = steps_at(&s, first + b * step);
    if (!m) return MW_ENOMEM;
    for (; i < n_gc && step_of(gc[i].start_ns, first, step) == b; i++)
      mw__minute_add_cycle(m, &gc[i], i ? &gc[i - 1] : prev);
    for (; j < n_snaps && step_of(snaps[j].at_ns, first, step) == b; j++) {
      const char *meta = snaps[j].meta_json;
      mw__minute_add_snapshot(m, snaps[j].kind, snaps[j].format, snaps[j].at_ns, snaps[j].total,
                              meta && strstr(meta, "\"trigger\":\"") != NULL);
    }
    for (; k < n_xt && step_of(xt_at[k], first, step) == b; k++) mw__minute_add_exectrace(m, xt_trig[k]);
  }
  steps_close(&s);
  *out = s.v;
  *n_out = s.n;
  return MW_OK;
}

static int cmp_xt_start(const void *x, const void *y) {
  const mw_xt_info *a = x, *b = y;
  return a->start_ns < b->start_ns ? -1 : a->start_ns > b->start_ns;
}

/* The raw answer's rows of [from, to): cycles, snapshots and execution traces. */
static int read_raw(mw_query *q, int64_t source_id, int64_t from, int64_t to, int64_t first, int64_t step,
                    mw_series_point **pts, size_t *np, int *more) {
  mw_arena *a = q->arena;
  mw_gc_cycle *gc, prev;
  mw_snapshot_info *snaps;
  mw_xt_info *xt;
  size_t n_gc, n_snaps, n_xt;
  int m1, m2, m3;
  int rc = mw__store_gc(q->rd, a, source_id, from, to, MW_SERIES_MAX_RAW, &gc, &n_gc, &m1);
  int has_prev = rc ? 0 : mw__store_gc_before(q->rd, source_id, from, &prev);
  if (has_prev < 0) rc = has_prev;
  if (!rc) rc = mw__store_snapshots(q->rd, a, source_id, NULL, from, to, MW_SERIES_MAX_RAW, &snaps, &n_snaps, &m2);
  if (!rc) rc = mw__store_exectraces(q->rd, a, source_id, from, to, MW_SERIES_MAX_RAW, &xt, &n_xt, &m3);
  if (rc) return rc;
  *more = m1 || m2 || m3;
  /* traces that overlap the window, newest first: those that start in it, oldest first */
  int64_t *xt_at = mw__arena_calloc(a, n_xt + 1, sizeof *xt_at);
  int *xt_trig = mw__arena_calloc(a, n_xt + 1, sizeof *xt_trig);
  if (!xt_at || !xt_trig) return MW_ENOMEM;
  if (n_xt) qsort(xt, n_xt, sizeof *xt, cmp_xt_start);
  size_t nx = 0;
  for (size_t i = 0; i < n_xt; i++)
    if (xt[i].start_ns >= from && xt[i].start_ns < to)
      xt_at[nx] = xt[i].start_ns, xt_trig[nx++] = xt[i].trigger != NULL;
  return mw__series_raw(a, has_prev ? &prev : NULL, gc, n_gc, snaps, n_snaps, xt_at, xt_trig, nx, first, step, pts, np);
}

static void write_point(mw_jsonw *w, const mw_series_point *p, int64_t step) {
  const mw_minute *m = &p->m;
  mw__jw_obj(w);
  mw__jw_kint(w, "time_ns", m->time_ns);
  mw__jw_kint(w, "gc_cycles", m->gc_cycles);
  int procs = m->procs > 0 ? (int)m->procs : 1;
  mw__jw_kdouble(w, "gc_cpu", m->gc_cycles ? (double)m->gc_cpu_ns / ((double)step * procs) : 0);
  const char *gc_keys[] = {"pause_p50_ns", "pause_p99_ns", "pause_max_ns", "heap_live", "heap_live_max", "heap_goal"};
  int64_t gc_vals[] = {p->pause_p50_ns, p->pause_p99_ns, m->pause_max_ns, m->heap_live, m->heap_live_max, m->heap_goal};
  for (size_t i = 0; i < 6; i++) {
    mw__jw_key(w, gc_keys[i]);
    if (m->gc_cycles) mw__jw_int(w, gc_vals[i]);
    else mw__jw_null(w);
  }
  mw__jw_kdouble(w, "alloc_bytes_per_s", m->alloc_ns > 0 ? (double)m->alloc_bytes * 1e9 / (double)m->alloc_ns : -1);
  mw__jw_kdouble(w, "assist_share", m->gc_cpu_ns > 0 ? (double)m->assist_cpu_ns / (double)m->gc_cpu_ns : 0);
  mw__jw_key(w, "goroutines");
  if (m->snapshots) mw__jw_int(w, m->goroutines);
  else mw__jw_null(w);
  mw__jw_key(w, "goroutines_max");
  if (m->snapshots) mw__jw_int(w, m->goroutines_max);
  else mw__jw_null(w);
  mw__jw_kint(w, "snapshots", m->snapshots);
  mw__jw_key(w, "captures");
  mw__jw_obj(w);
  for (int c = 0; c < MW_CAP__N; c++)
    if (m->captures[c]) mw__jw_kint(w, mw__capture_name(c), m->captures[c]);
  mw__jw_obj_end(w);
  mw__jw_kint(w, "triggered", m->triggered);
  mw__jw_obj_end(w);
}

int mw__q_series(mw_query *q, const mw_series_query *p, mw_answer *out) {
  if (mw__query_open(q, out)) return out->rc;
  mw_source_info src;
  int rc = mw__store_source(q->rd, q->arena, p->source_id, &src);
  if (rc == MW_ENOTFOUND) return mw__answer_fail(out, rc, "source %lld not found", (long long)p->source_id);
  if (rc) return mw__answer_fail(out, rc, "reading the source failed: %s", mw__strerror(rc));
  /* the window, cut to the source's data */
  int64_t lo = p->start_ns > src.first_ns ? p->start_ns : src.first_ns;
  int64_t hi = src.last_ns < INT64_MAX && src.last_ns + 1 < p->end_ns ? src.last_ns + 1 : p->end_ns;
  if (hi <= lo) hi = lo + 1;
  int64_t width = hi - lo, step = p->step_ns;
  if (!step) step = width / (int64_t)(p->points ? p->points : MW_SERIES_POINTS) + 1;
  if (step < 1000000000) step = 1000000000;
  int raw = 0, more = 0;
  if (step < MW_MINUTE_NS) {
    int64_t cycles, snaps;
    int64_t first = floor_to(lo, step);
    if ((rc = mw__store_raw_counts(q->rd, p->source_id, first, hi, MW_SERIES_MAX_RAW, &cycles, &snaps)))
      return mw__answer_fail(out, rc, "query failed: %s", mw__strerror(rc));
    raw = cycles <= MW_SERIES_MAX_RAW && snaps <= MW_SERIES_MAX_RAW;
  }
  if (!raw) step = (step + MW_MINUTE_NS - 1) / MW_MINUTE_NS * MW_MINUTE_NS;
  if ((width + step - 1) / step > MW_SERIES_MAX_POINTS)
    return mw__answer_fail(out, MW_EINVAL,
                           "step is too small: the window would make more than %d points; raise step or narrow "
                           "start and end",
                           MW_SERIES_MAX_POINTS);
  int64_t first = floor_to(lo, step);
  int64_t n_steps = (hi - first + step - 1) / step;
  int64_t to = first + n_steps * step; /* whole steps */
  mw_series_point *pts;
  size_t np;
  if (raw) {
    rc = read_raw(q, p->source_id, first, to, first, step, &pts, &np, &more);
  } else {
    mw_minute_row *rows;
    size_t n;
    rc = mw__store_minutes(q->rd, q->arena, p->source_id, first, to, MW_SERIES_MAX_MINUTES, &rows, &n, &more);
    if (!rc) rc = mw__series_steps(q->arena, rows, n, first, step, &pts, &np);
  }
  if (rc) return mw__answer_fail(out, rc, "query failed: %s", mw__strerror(rc));
  mw_jsonw w;
  mw__answer_json(out, 16u << 20, &w);
  mw__jw_obj(&w);
  mw__jw_kint(&w, "source", p->source_id);
  mw__jw_kint(&w, "start_ns", lo);
  mw__jw_kint(&w, "end_ns", hi);
  mw__jw_kint(&w, "step_ns", step);
  mw__jw_kstr(&w, "resolution", raw ? "raw" : "minute");
  mw__jw_key(&w, "points");
  mw__jw_arr(&w);
  for (size_t i = 0; i < np; i++) write_point(&w, &pts[i], step);
  mw__jw_arr_end(&w);
  mw__jw_kbool(&w, "more", more);
  mw__jw_obj_end(&w);
  return mw__answer_end(out, &w);
}

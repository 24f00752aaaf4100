/* The read API of execution traces (see exectrace.h).
 *
 * A span's history: the goroutines the span index says ran the span, each
 * goroutine's blob decoded and cut to the span's time (from the spans
 * table; when the span is not stored, the time the index ties goroutines to
 * it), then the goroutines that woke them in that time, cut the same way.
 * Stack and span numbers in the blobs are the trace's own: they are
 * resolved through the trace's maps once each, and the stacks listed once
 * at the end. */
#include "query/exectrace.h"
#include "core/bmap.h"
#include "core/error.h"
#include "decode/exectrace_blob.h"
#include "store/exectrace_read.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

/* The largest JSON answer, and the largest blob body decoded. */
enum { ANSWER_MAX = 64u << 20, BLOB_MAX = 256u << 20, MAX_TRACES = 64 };

static void write_info(mw_jsonw *w, const mw_xt_info *x) {
  mw__jw_obj(w);
  mw__jw_kint(w, "id", x->id);
  mw__jw_kint(w, "source_id", x->source_id);
  mw__jw_kstr(w, "service", x->service);
  mw__jw_kstr(w, "instance", x->instance);
  mw__jw_kint(w, "start_ns", x->start_ns);
  mw__jw_kint(w, "end_ns", x->end_ns);
  if (x->trigger) mw__jw_kstr(w, "trigger", x->trigger);
  else {
    mw__jw_key(w, "trigger");
    mw__jw_null(w);
  }
  mw__jw_kstr(w, "alignment", mw__xt_alignment_name(x->alignment));
  mw__jw_kint(w, "clock_error_ns", x->clock_error_ns);
  mw__jw_kint(w, "raw_bytes", x->raw_bytes);
  mw__jw_kint(w, "stored_bytes", x->stored_bytes);
  mw__jw_kint(w, "goroutines", x->goroutines);
  mw__jw_kint(w, "intervals", x->intervals);
  mw__jw_kint(w, "wakes", x->wakes);
  mw__jw_kint(w, "spans", x->spans);
  mw__jw_obj_end(w);
}

int mw__q_exectraces(mw_query *q, int64_t source_id, int64_t from_ns, int64_t to_ns, size_t limit, mw_answer *out) {
  if (mw__query_open(q, out)) return out->rc;
  mw_xt_info *rows;
  size_t n;
  int more;
  int rc = mw__store_exectraces(q->rd, q->arena, source_id, from_ns, to_ns, limit, &rows, &n, &more);
  if (rc) return mw__answer_fail(out, rc, "reading the execution traces failed: %s", mw__strerror(rc));
  mw_jsonw w;
  mw__answer_json(out, ANSWER_MAX, &w);
  mw__jw_obj(&w);
  mw__jw_key(&w, "exectraces");
  mw__jw_arr(&w);
  for (size_t i = 0; i < n; i++) write_info(&w, &rows[i]);
  mw__jw_arr_end(&w);
  mw__jw_kbool(&w, "more", more);
  mw__jw_obj_end(&w);
  return mw__answer_end(out, &w);
}

int mw__q_exectrace_raw(mw_query *q, int64_t id, mw_answer *out) {
  if (mw__query_open(q, out)) return out->rc;
  const uint8_t *z;
  size_t zl;
  int64_t raw;
  int rc = mw__store_exectrace_raw(q->rd, q->arena, id, &z, &zl, &raw);
  if (rc == MW_ENOTFOUND) return mw__answer_fail(out, rc, "execution trace %lld not found", (long long)id);
  if (rc) return mw__answer_fail(out, rc, "reading the execution trace failed: %s", mw__strerror(rc));
  char what[64];
  snprintf(what, sizeof what, "the stored execution trace %lld", (long long)id);
  if (mw__answer_unzstd(out, "application/octet-stream", z, zl, raw, what)) return out->rc;
  snprintf(out->filename, sizeof out->filename, "trace-%lld.out", (long long)id);
  return MW_OK;
}

/* --- histories --------------------------------------------------------------- */

typedef struct res_stack {
  int64_t id; /* the stack store's, 0 when unknown */
  const char *frames;
} res_stack;

typedef struct hist {
  mw_query *q;
  mw_answer *out;
  mw_jsonw w;
  int64_t from, to;
  mw_bmap *stack_map; /* (trace, local) -> index into stacks + 1 */
  res_stack *stacks;
  size_t n_stacks, cap_stacks;
  struct {
    int64_t id;
    mw_xt_span_table t;
  } tables[MAX_TRACES]; /* the span tables read so far */
  size_t n_tables;
  int64_t traces[MAX_TRACES]; /* the traces shown */
  size_t n_traces;
  int rc;
} hist;

/* The stack store's id of a trace's stack (0 when unknown); remembered for the "stacks" map. */
static int64_t stack_of(hist *h, int64_t trace, uint32_t local) {
  if (!local || h->rc) return 0;
  int64_t key[2] = {trace, local}, at;
  if (mw__bmap_get(h->stack_map, key, sizeof key, &at)) return h->stacks[at].id;
  res_stack s = {0, NULL};
  int rc = mw__store_xt_stack(h->q->rd, h->q->arena, trace, local, &s.id, &s.frames);
  if (rc && rc != MW_ENOTFOUND) {
    h->rc = rc;
    return 0;
  }
  if (!(h->stacks = mw__arena_grow(h->q->arena, h->stacks, h->n_stacks, &h->cap_stacks, sizeof *h->stacks))) {
    h->rc = MW_ENOMEM;
    return 0;
  }
  h->stacks[h->n_stacks] = s;
  if (mw__bmap_put(h->stack_map, key, sizeof key, (int64_t)h->n_stacks++)) h->rc = MW_ENOMEM;
  return s.id;
}

/* A trace's span table, read and decoded once per answer; NULL on failure
 * (h->rc set) or past MAX_TRACES tables. */
static const mw_xt_span_table *table_of(hist *h, int64_t trace) {
  for (size_t i = 0; i < h->n_tables; i++)
    if (h->tables[i].id == trace) return &h->tables[i].t;
  if (h->rc || h->n_tables == MAX_TRACES) return NULL;
  const uint8_t *ids, *blob;
  size_t ids_len, blob_len;
  int64_t start;
  int rc = mw__store_xt_span_table(h->q->rd, h->q->arena, trace, &ids, &ids_len, &blob, &blob_len, &start);
  if (!rc)
    rc = mw__xt_spans_decode(h->q->arena, ids, ids_len, blob, blob_len, start, BLOB_MAX, &h->tables[h->n_tables].t);
  if (rc == MW_EINVAL) rc = MW_EIO; /* stored spans that do not decode */
  if (rc) {
    h->rc = rc;
    return NULL;
  }
  h->tables[h->n_tables].id = trace;
  return &h->tables[h->n_tables++].t;
}

/* The ids of a trace's span ref, NULL for none. */
static const mw_xt_span *span_of(hist *h, int64_t trace, uint32_t ref) {
  if (!ref) return NULL;
  const mw_xt_span_table *t = table_of(h, trace);
  return t && ref <= t->n_spans ? &t->spans[ref - 1] : NULL;
}

static void span_ids(hist *h, int64_t trace, uint32_t ref, const char *span_key, const char *trace_key) {
  const mw_xt_span *s = span_of(h, trace, ref);
  if (!s) return;
  mw__jw_key(&h->w, span_key);
  mw__jw_hex(&h->w, s->span_id, 8);
  if (s->has_trace) {
    mw__jw_key(&h->w, trace_key);
    mw__jw_hex(&h->w, s->trace_id, 16);
  }
}

static void note_trace(hist *h, int64_t id) {
  for (size_t i = 0; i < h->n_traces; i++)
    if (h->traces[i] == id) return;
  if (h->n_traces < MAX_TRACES) h->traces[h->n_traces++] = id;
}

/* Writes one goroutine: its intervals overlapping [from, to) and its wakes in
 * it. Wakers not yet shown are added to wakers (when not NULL). */
static void write_goroutine(hist *h, const mw_xt_grow *g, const mw_xt_blob *b, const char *role) {
  mw_jsonw *w = &h->w;
  note_trace(h, g->exectrace_id);
  mw__jw_obj(w);
  mw__jw_key(w, "goroutine");
  mw__jw_uint(w, g->goroutine);
  mw__jw_kint(w, "exectrace_id", g->exectrace_id);
  if (role) mw__jw_kstr(w, "role", role);
  mw__jw_key(w, "intervals");
  mw__jw_arr(w);
  for (size_t i = 0; i < b->n_intervals; i++) {
    const mw_xt_interval *v = &b->intervals[i];
    if (v->end_ns < h->from || v->start_ns >= h->to) continue;
    mw__jw_obj(w);
    mw__jw_kstr(w, "state", mw__xt_state_name(v->state));
    if (*v->reason) mw__jw_kstr(w, "reason", v->reason);
    if (*v->raw_reason) mw__jw_kstr(w, "raw_reason", v->raw_reason);
    mw__jw_kint(w, "start_ns", v->start_ns);
    mw__jw_kint(w, "end_ns", v->end_ns);
    int64_t st = stack_of(h, g->exectrace_id, v->stack);
    if (st) mw__jw_kint(w, "stack_id", st);
    span_ids(h, g->exectrace_id, v->span, "span_id", "trace_id");
    if (v->clipped & MW_XT_CLIPPED_START) mw__jw_kbool(w, "clipped_start", 1);
    if (v->clipped & MW_XT_CLIPPED_END) mw__jw_kbool(w, "clipped_end", 1);
    mw__jw_obj_end(w);
  }
  mw__jw_arr_end(w);
  mw__jw_key(w, "wakes");
  mw__jw_arr(w);
  for (size_t i = 0; i < b->n_wakes; i++) {
    const mw_xt_wake *k = &b->wakes[i];
    if (k->time_ns < h->from || k->time_ns > h->to) continue;
    mw__jw_obj(w);
    mw__jw_kint(w, "time_ns", k->time_ns);
    mw__jw_key(w, "waker");
    mw__jw_uint(w, k->waker);
    int64_t st = stack_of(h, g->exectrace_id, k->waker_stack);
    if (st) mw__jw_kint(w, "waker_stack_id", st);
    span_ids(h, g->exectrace_id, k->waker_span, "waker_span_id", "waker_trace_id");
    mw__jw_obj_end(w);
  }
  mw__jw_arr_end(w);
  mw__jw_obj_end(w);
}

/* "func\tfile:line\n" lines as [{"func","file","line"}]. */
static void write_frames(mw_jsonw *w, const char *t) {
  mw__jw_arr(w);
  while (t && *t) {
    const char *nl = strchr(t, '\n'), *end = nl ? nl : t + strlen(t), *tab = memchr(t, '\t', (size_t)(end - t));
    const char *colon = NULL;
    for (const char *c = tab ? tab : t; c < end; c++)
      if (*c == ':') colon = c;
    mw__jw_obj(w);
    mw__jw_key(w, "func");
    mw__jw_strn(w, t, (size_t)((tab ? tab : end) - t));
    if (tab) {
      const char *file_end = colon ? colon : end;
      mw__jw_key(w, "file");
      mw__jw_strn(w, tab + 1, (size_t)(file_end - tab - 1));
      mw__jw_kint(w, "line", colon ? strtoll(colon + 1, NULL, 10) : 0);
    }
    mw__jw_obj_end(w);
    t = nl ? nl + 1 : end;
  }
  mw__jw_arr_end(w);
}

/* A trace's windows (stored as zstd of JSON), NULL when unreadable. */
static json_t *windows_of(const mw_xt_info *x) {
  unsigned long long n = ZSTD_getFrameContentSize(x->windows, x->windows_len);
  if (n == ZSTD_CONTENTSIZE_ERROR || n == ZSTD_CONTENTSIZE_UNKNOWN || n > BLOB_MAX) return NULL;
  char *json = malloc((size_t)n + 1);
  if (!json) return NULL;
  size_t got = ZSTD_decompress(json, (size_t)n, x->windows, x->windows_len);
  json_t *arr = ZSTD_isError(got) ? NULL : json_loadb(json, got, 0, NULL);
  free(json);
  return arr;
}

/* The traces shown, their GC and stop-the-world windows in [from, to), the
 * range they cover, and the stacks named. */
static void write_tail(hist *h) {
  mw_jsonw *w = &h->w;
  mw__jw_key(w, "exectraces");
  mw__jw_arr(w);
  int64_t cov_lo = INT64_MAX, cov_hi = INT64_MIN;
  mw_xt_info *infos = mw__arena_calloc(h->q->arena, h->n_traces + 1, sizeof *infos);
  if (!infos) h->rc = MW_ENOMEM;
  for (size_t i = 0; i < h->n_traces && !h->rc; i++) {
    mw_xt_info *x = &infos[i];
    if ((h->rc = mw__store_exectrace(h->q->rd, h->q->arena, h->traces[i], x))) break;
    mw__jw_obj(w);
    mw__jw_kint(w, "id", x->id);
    mw__jw_kint(w, "start_ns", x->start_ns);
    mw__jw_kint(w, "end_ns", x->end_ns);
    mw__jw_kstr(w, "alignment", mw__xt_alignment_name(x->alignment));
    mw__jw_kint(w, "clock_error_ns", x->clock_error_ns);
    mw__jw_obj_end(w);
    if (x->start_ns < cov_lo) cov_lo = x->start_ns;
    if (x->end_ns > cov_hi) cov_hi = x->end_ns;
  }
  mw__jw_arr_end(w);
  mw__jw_key(w, "covered");
  mw__jw_obj(w);
  mw__jw_kint(w, "start_ns", h->n_traces ? (cov_lo > h->from ? cov_lo : h->from) : 0);
  mw__jw_kint(w, "end_ns", h->n_traces ? (cov_hi < h->to ? cov_hi : h->to) : 0);
  mw__jw_obj_end(w);
  mw__jw_key(w, "windows");
  mw__jw_arr(w);
  for (size_t i = 0; i < h->n_traces && !h->rc; i++) {
    json_t *arr = windows_of(&infos[i]);
    size_t k;
    json_t *win;
    json_array_foreach(arr, k, win) {
      json_int_t s = json_integer_value(json_object_get(win, "start_ns")),
                 e = json_integer_value(json_object_get(win, "end_ns"));
      if (e < h->from || s >= h->to) continue;
      const char *kind = json_string_value(json_object_get(win, "kind")),
                 *reason = json_string_value(json_object_get(win, "reason"));
      mw__jw_obj(w);
      mw__jw_kstr(w, "kind", kind ? kind : "gc");
      mw__jw_kint(w, "start_ns", s);
      mw__jw_kint(w, "end_ns", e);
      if (reason) mw__jw_kstr(w, "reason", reason);
      mw__jw_obj_end(w);
    }
    json_decref(arr);
  }
  mw__jw_arr_end(w);
  mw__jw_key(w, "stacks");
  mw__jw_obj(w);
  for (size_t i = 0; i < h->n_stacks; i++) {
    const res_stack *s = &h->stacks[i];
    int dup = !s->id;
    for (size_t j = 0; j < i && !dup; j++) dup = h->stacks[j].id == s->id;
    if (dup) continue;
    char key[24];
    snprintf(key, sizeof key, "%lld", (long long)s->id);
    mw__jw_key(w, key);
    write_frames(w, s->frames);
  }
  mw__jw_obj_end(w);
}

static int hist_init(hist *h, mw_query *q, mw_answer *out) {
  memset(h, 0, sizeof *h);
  h->q = q;
  h->out = out;
  h->stack_map = mw__bmap_new(1u << 20);
  return h->stack_map ? MW_OK : MW_ENOMEM;
}

static void hist_free(hist *h) { mw__bmap_free(h->stack_map); }

static int hist_end(hist *h) {
  int rc = h->rc;
  hist_free(h);
  if (rc) return mw__answer_fail(h->out, rc, "reading the execution traces failed: %s", mw__strerror(rc));
  return mw__answer_end(h->out, &h->w);
}

/* Loads and decodes one goroutine's blob. */
static int load(hist *h, int64_t trace, uint64_t goroutine, mw_xt_grow *g, mw_xt_blob *b) {
  int rc = mw__store_xt_goroutine(h->q->rd, h->q->arena, trace, goroutine, g);
  if (!rc) rc = mw__xt_blob_decode(h->q->arena, g->blob, g->blob_len, BLOB_MAX, b);
  if (rc == MW_EINVAL) rc = MW_EIO; /* a stored blob that does not decode */
  return rc;
}

/* The goroutines that ran the span in the traces that name it (a trace that
 * names no trace id for it matches any), with the time each is tied to it. */
static int find_runs(hist *h, const uint8_t trace_id[16], const uint8_t span_id[8], mw_xt_grow **out, size_t *n) {
  int64_t traces[MAX_TRACES];
  size_t n_traces, cap = 0;
  int rc = mw__store_xt_span_traces(h->q->rd, span_id, traces, MAX_TRACES, &n_traces);
  for (size_t i = 0; i < n_traces && !rc; i++) {
    const mw_xt_span_table *t = table_of(h, traces[i]);
    if (!t) return h->rc;
    for (size_t k = 0; k < t->n_runs; k++) {
      const mw_xt_span *s = &t->spans[t->runs[k].span - 1];
      if (memcmp(s->span_id, span_id, 8) || (s->has_trace && memcmp(s->trace_id, trace_id, 16))) continue;
      mw_xt_grow *g = NULL;
      for (size_t j = 0; j < *n && !g; j++)
        if ((*out)[j].exectrace_id == traces[i] && (*out)[j].goroutine == t->runs[k].goroutine) g = &(*out)[j];
      if (g) { /* the span twice in one trace (two refs): one goroutine, the union of its times */
        if (t->runs[k].first_ns < g->first_ns) g->first_ns = t->runs[k].first_ns;
        if (t->runs[k].last_ns > g->last_ns) g->last_ns = t->runs[k].last_ns;
        continue;
      }
      if (*n == MW_XT_SPAN_GOROUTINES) break;
      if (!(*out = mw__arena_grow(h->q->arena, *out, *n, &cap, sizeof **out))) return MW_ENOMEM;
      (*out)[(*n)++] = (mw_xt_grow){.exectrace_id = traces[i],
                                    .goroutine = t->runs[k].goroutine,
                                    .first_ns = t->runs[k].first_ns,
                                    .last_ns = t->runs[k].last_ns};
    }
  }
  return rc;
}

int mw__q_exectrace_span(mw_query *q, const uint8_t trace_id[16], const uint8_t span_id[8], mw_answer *out) {
  if (mw__query_open(q, out)) return out->rc;
  char tid[33], sid[17];
  for (int i = 0; i < 16; i++) snprintf(tid + 2 * i, 3, "%02x", trace_id[i]);
  for (int i = 0; i < 8; i++) snprintf(sid + 2 * i, 3, "%02x", span_id[i]);
  hist h;
  if (hist_init(&h, q, out)) {
    hist_free(&h);
    return mw__answer_fail(out, MW_ENOMEM, "out of memory");
  }
  mw_xt_grow *runs = NULL;
  size_t n_runs = 0;
  int rc = find_runs(&h, trace_id, span_id, &runs, &n_runs);
  if (rc) {
    hist_free(&h);
    return mw__answer_fail(out, rc, "reading the span index failed: %s", mw__strerror(rc));
  }
  if (!n_runs) {
    hist_free(&h);
    return mw__answer_fail(out, MW_ENOTFOUND, "no stored execution trace shows span %s of trace %s", sid, tid);
  }
  int64_t from = INT64_MAX, to = INT64_MIN;
  rc = mw__store_span_time(q->rd, trace_id, span_id, &from, &to);
  if (rc == MW_ENOTFOUND) { /* the span is not stored: the time the traces tie goroutines to it */
    from = INT64_MAX, to = INT64_MIN;
    for (size_t i = 0; i < n_runs; i++) {
      if (runs[i].first_ns < from) from = runs[i].first_ns;
      if (runs[i].last_ns > to) to = runs[i].last_ns;
    }
    rc = MW_OK;
  }
  if (rc) {
    hist_free(&h);
    return mw__answer_fail(out, rc, "reading the span failed: %s", mw__strerror(rc));
  }
  h.from = from, h.to = to;
  mw__answer_json(out, ANSWER_MAX, &h.w);
  mw_jsonw *w = &h.w;
  mw__jw_obj(w);
  mw__jw_kstr(w, "trace_id", tid);
  mw__jw_kstr(w, "span_id", sid);
  mw__jw_kint(w, "start_ns", from);
  mw__jw_kint(w, "end_ns", to);
  mw__jw_key(w, "goroutines");
  mw__jw_arr(w);
  /* the wakers: (trace, goroutine) pairs not shown yet */
  mw_xt_grow *wakers = mw__arena_calloc(q->arena, MW_XT_SPAN_GOROUTINES, sizeof *wakers);
  size_t n_wakers = 0;
  int truncated = 0;
  if (!wakers) h.rc = MW_ENOMEM;
  for (size_t i = 0; i < n_runs && !h.rc; i++) {
    mw_xt_grow g;
    mw_xt_blob b;
    if ((h.rc = load(&h, runs[i].exectrace_id, runs[i].goroutine, &g, &b))) break;
    write_goroutine(&h, &g, &b, "span");
    for (size_t k = 0; k < b.n_wakes; k++) {
      const mw_xt_wake *wk = &b.wakes[k];
      if (!wk->waker || wk->time_ns < from || wk->time_ns > to) continue;
      int seen = 0;
      for (size_t j = 0; j < n_runs && !seen; j++)
        seen = runs[j].exectrace_id == g.exectrace_id && runs[j].goroutine == wk->waker;
      for (size_t j = 0; j < n_wakers && !seen; j++)
        seen = wakers[j].exectrace_id == g.exectrace_id && wakers[j].goroutine == wk->waker;
      if (seen) continue;
      if (n_wakers == MW_XT_SPAN_GOROUTINES) {
        truncated = 1;
        continue;
      }
      wakers[n_wakers++] = (mw_xt_grow){.exectrace_id = g.exectrace_id, .goroutine = wk->waker};
    }
  }
  for (size_t i = 0; i < n_wakers && !h.rc; i++) {
    mw_xt_grow g;
    mw_xt_blob b;
    int lrc = load(&h, wakers[i].exectrace_id, wakers[i].goroutine, &g, &b);
    if (lrc == MW_ENOTFOUND) continue; /* a goroutine that has no interval in the trace */
    if ((h.rc = lrc)) break;
    write_goroutine(&h, &g, &b, "waker");
  }
  mw__jw_arr_end(w);
  if (truncated) mw__jw_kbool(w, "truncated", 1);
  write_tail(&h);
  mw__jw_obj_end(w);
  return hist_end(&h);
}

int mw__q_exectrace_window(mw_query *q, int64_t source_id, int64_t from_ns, int64_t to_ns, size_t limit,
                           mw_answer *out) {
  if (mw__query_open(q, out)) return out->rc;
  mw_xt_grow *rows;
  size_t n;
  int more;
  int rc = mw__store_xt_window(q->rd, q->arena, source_id, from_ns, to_ns, limit, &rows, &n, &more);
  if (rc) return mw__answer_fail(out, rc, "reading the execution traces failed: %s", mw__strerror(rc));
  hist h;
  if (hist_init(&h, q, out)) {
    hist_free(&h);
    return mw__answer_fail(out, MW_ENOMEM, "out of memory");
  }
  h.from = from_ns, h.to = to_ns;
  mw__answer_json(out, ANSWER_MAX, &h.w);
  mw_jsonw *w = &h.w;
  mw__jw_obj(w);
  mw__jw_kint(w, "source_id", source_id);
  mw__jw_kint(w, "start_ns", from_ns);
  mw__jw_kint(w, "end_ns", to_ns);
  mw__jw_key(w, "goroutines");
  mw__jw_arr(w);
  for (size_t i = 0; i < n && !h.rc; i++) {
    mw_xt_blob b;
    if ((h.rc = mw__xt_blob_decode(q->arena, rows[i].blob, rows[i].blob_len, BLOB_MAX, &b))) {
      if (h.rc == MW_EINVAL) h.rc = MW_EIO;
      break;
    }
    write_goroutine(&h, &rows[i], &b, NULL);
  }
  mw__jw_arr_end(w);
  mw__jw_kbool(w, "truncated", more);
  write_tail(&h);
  mw__jw_obj_end(w);
  return hist_end(&h);
}

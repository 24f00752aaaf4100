/* Wakers (see wakers.h).
 *
 * The slow spans are those compare calls slow: at or above the operation's
 * p90 in the window, longest first. A span is covered when the span index
 * names it and a trace's span table ties a goroutine to it; its waits are the
 * blocked intervals of those goroutines that carry the span (an interval
 * carries one span, so a child span's waits on the same goroutine are the
 * child's), cut to the span's time. Each wait ends at a wake edge of the
 * same time (the reader writes one for every unblock); the edge names the
 * waking goroutine and the span it ran, which resolves through the trace's
 * span table and the stored spans to an operation. Nothing is sampled: a
 * wait the trace shows no end of is "not woken within the trace".
 *
 * Everything is read in the query's one read transaction. The bounds: at
 * most MW_WAKERS_CANDIDATES slow spans looked up in the span index, at most
 * the limit followed, SPAN_TRACES traces per span; span tables and goroutine
 * blobs are decoded once per answer. */
#include "query/wakers.h"
#include "core/bmap.h"
#include "core/error.h"
#include "decode/exectrace_blob.h"
#include "store/exectrace_read.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
  BLOB_MAX = 256u << 20, /* the largest goroutine blob or span table body decoded */
  SPAN_TRACES = 8,       /* traces read per span */
  SPAN_GOROUTINES = 256, /* goroutines of one span whose waits are kept apart across traces */
  MAX_ENTRIES = 1024,    /* waking operations listed; past it "truncated" */
  MAX_REASONS = 16,
  ANSWER_MAX = 16u << 20
};

/* What ended a wait. */
enum wkind { K_OPERATION, K_UNKNOWN_OP, K_GOROUTINE, K_RUNTIME, K_NONE };
static const char *const kind_names[] = {"operation", "unknown_operation", "goroutine", "runtime", "not_woken"};
static const char *const kind_labels[] = {NULL, "unknown operation", "a goroutine outside any span",
                                          "the runtime (timer, network, syscall)", "not woken within the trace"};

typedef struct reason_sum {
  const char *reason;
  int64_t waits, ns;
} reason_sum;

/* The longest wait of an entry. */
typedef struct example {
  const mw_span_ref *span;
  int64_t exectrace_id;
  uint64_t goroutine, waker;
  const mw_xt_span *waker_span; /* NULL: none */
  int64_t start_ns, ns;
  const char *reason;
} example;

typedef struct entry {
  int kind;
  const char *service, *name; /* K_OPERATION: the operation (unique by the two) */
  int64_t spans;              /* distinct slow spans it ended a wait of */
  size_t last_span;           /* the index + 1 of the last one counted */
  int64_t *waits;
  size_t n_waits, cap_waits;
  int64_t ns, p50_ns;
  reason_sum reasons[MAX_REASONS];
  size_t n_reasons;
  example ex;
} entry;

typedef struct wk_ctx {
  mw_query *q;
  mw_bmap *table_map; /* exectrace id -> index into tables */
  mw_xt_span_table *tables;
  size_t n_tables, cap_tables;
  mw_bmap *blob_map; /* (exectrace id, goroutine) -> index into blobs */
  mw_xt_blob *blobs;
  size_t n_blobs, cap_blobs;
  mw_bmap *op_map; /* (trace id, span id) -> index into entries, -1: not stored */
  entry *entries;
  size_t n_entries;
  int truncated;
  int64_t blocked_ns;
  struct {
    uint64_t goroutine;
    int64_t done_to;
  } seen[SPAN_GOROUTINES]; /* the span's goroutines: counted up to done_to */
  size_t n_seen;
  int rc;
} wk_ctx;

static void fail(wk_ctx *c, int rc) {
  if (!c->rc) c->rc = rc == MW_EINVAL ? MW_EIO : rc; /* stored data that does not decode */
}

/* A trace's span table, decoded once; NULL when gone or on failure (c->rc). */
static const mw_xt_span_table *table_of(wk_ctx *c, int64_t trace) {
  int64_t at;
  if (mw__bmap_get(c->table_map, &trace, sizeof trace, &at)) return at < 0 ? NULL : &c->tables[at];
  const uint8_t *ids, *blob;
  size_t ids_len, blob_len;
  int64_t start;
  mw_xt_span_table t;
  int rc = mw__store_xt_span_table(c->q->rd, c->q->arena, trace, &ids, &ids_len, &blob, &blob_len, &start);
  if (!rc) rc = mw__xt_spans_decode(c->q->arena, ids, ids_len, blob, blob_len, start, BLOB_MAX, &t);
  if (rc && rc != MW_ENOTFOUND) {
    fail(c, rc);
    return NULL;
  }
  if (!rc && !(c->tables = mw__arena_grow(c->q->arena, c->tables, c->n_tables, &c->cap_tables, sizeof t))) {
    fail(c, MW_ENOMEM);
    return NULL;
  }
  if (!rc) c->tables[c->n_tables] = t;
  if (mw__bmap_put(c->table_map, &trace, sizeof trace, rc ? -1 : (int64_t)c->n_tables)) fail(c, MW_ENOMEM);
  return rc ? NULL : &c->tables[c->n_tables++];
}

/* A goroutine's blob of a trace, decoded once; NULL when absent or on failure. */
static const mw_xt_blob *blob_of(wk_ctx *c, int64_t trace, uint64_t goroutine) {
  int64_t key[2] = {trace, (int64_t)goroutine}, at;
  if (mw__bmap_get(c->blob_map, key, sizeof key, &at)) return at < 0 ? NULL : &c->blobs[at];
  mw_xt_grow g;
  mw_xt_blob b;
  int rc = mw__store_xt_goroutine(c->q->rd, c->q->arena, trace, goroutine, &g);
  if (!rc) rc = mw__xt_blob_decode(c->q->arena, g.blob, g.blob_len, BLOB_MAX, &b);
  if (rc && rc != MW_ENOTFOUND) {
    fail(c, rc);
    return NULL;
  }
  if (!rc && !(c->blobs = mw__arena_grow(c->q->arena, c->blobs, c->n_blobs, &c->cap_blobs, sizeof b))) {
    fail(c, MW_ENOMEM);
    return NULL;
  }
  if (!rc) c->blobs[c->n_blobs] = b;
  if (mw__bmap_put(c->blob_map, key, sizeof key, rc ? -1 : (int64_t)c->n_blobs)) fail(c, MW_ENOMEM);
  return rc ? NULL : &c->blobs[c->n_blobs++];
}

/* The wake edge at exactly t (the unblock that ended a wait ending at t), NULL when none. */
static const mw_xt_wake *wake_at(const mw_xt_blob *b, int64_t t) {
  size_t lo = 0, hi = b->n_wakes;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (b->wakes[mid].time_ns < t) lo = mid + 1;
    else hi = mid;
  }
  return lo < b->n_wakes && b->wakes[lo].time_ns == t ? &b->wakes[lo] : NULL;
}

/* The entry of kind (and operation, for K_OPERATION), made when new; NULL
 * past MAX_ENTRIES. */
static entry *entry_of(wk_ctx *c, int kind, const char *service, const char *name) {
  for (size_t i = 0; i < c->n_entries; i++) {
    const entry *e = &c->entries[i];
    if (e->kind == kind && (kind != K_OPERATION || (!strcmp(e->service, service) && !strcmp(e->name, name))))
      return &c->entries[i];
  }
  if (c->n_entries == MAX_ENTRIES) {
    c->truncated = 1;
    return NULL;
  }
  entry *e = &c->entries[c->n_entries++];
  memset(e, 0, sizeof *e);
  e->kind = kind, e->service = service, e->name = name;
  return e;
}

/* Who ended a wait that ended with wake (NULL: none), in trace t. */
static entry *waker_entry(wk_ctx *c, const mw_xt_span_table *t, const mw_xt_wake *wake) {
  if (!wake) return entry_of(c, K_NONE, NULL, NULL);
  if (!wake->waker) return entry_of(c, K_RUNTIME, NULL, NULL);
  if (!wake->waker_span || wake->waker_span > t->n_spans) return entry_of(c, K_GOROUTINE, NULL, NULL);
  const mw_xt_span *s = &t->spans[wake->waker_span - 1];
  if (!s->has_trace) return entry_of(c, K_UNKNOWN_OP, NULL, NULL);
  uint8_t key[24];
  memcpy(key, s->trace_id, 16);
  memcpy(key + 16, s->span_id, 8);
  int64_t at;
  if (mw__bmap_get(c->op_map, key, sizeof key, &at))
    return at < 0 ? entry_of(c, K_UNKNOWN_OP, NULL, NULL) : &c->entries[at];
  const char *service, *name;
  int rc = mw__store_span_name(c->q->rd, c->q->arena, s->trace_id, s->span_id, &name, &service);
  if (rc && rc != MW_ENOTFOUND) {
    fail(c, rc);
    return NULL;
  }
  entry *e = rc ? entry_of(c, K_UNKNOWN_OP, NULL, NULL) : entry_of(c, K_OPERATION, service, name);
  if (e && mw__bmap_put(c->op_map, key, sizeof key, rc ? -1 : (int64_t)(e - c->entries))) fail(c, MW_ENOMEM);
  return e;
}

static void add_wait(wk_ctx *c, entry *e, size_t span_index, int64_t ns, const example *ex) {
  if (e->last_span != span_index + 1) e->spans++, e->last_span = span_index + 1;
  if (!(e->waits = mw__arena_grow(c->q->arena, e->waits, e->n_waits, &e->cap_waits, sizeof *e->waits))) {
    fail(c, MW_ENOMEM);
    return;
  }
  e->waits[e->n_waits++] = ns;
  e->ns += ns;
  size_t r = 0;
  while (r < e->n_reasons && strcmp(e->reasons[r].reason, ex->reason) != 0) r++;
  if (r == e->n_reasons && r < MAX_REASONS) e->reasons[e->n_reasons++] = (reason_sum){ex->reason, 0, 0};
  if (r < e->n_reasons) e->reasons[r].waits++, e->reasons[r].ns += ns;
  if (ns > e->ex.ns) e->ex = *ex;
}

/* Where to start reading b's intervals for a time from t: the last one that
 * starts before t (a blocked interval overlaps no other, and a goroutine's
 * intervals come by start time), else the first. */
static size_t start_at(const mw_xt_blob *b, int64_t t) {
  size_t lo = 0, hi = b->n_intervals;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (b->intervals[mid].start_ns < t) lo = mid + 1;
    else hi = mid;
  }
  return lo ? lo - 1 : 0;
}

/* How far the span's waits on goroutine g were counted (from an earlier
 * trace: two traces of one process can overlap); NULL past SPAN_GOROUTINES. */
static int64_t *done_to(wk_ctx *c, uint64_t g) {
  for (size_t i = 0; i < c->n_seen; i++)
    if (c->seen[i].goroutine == g) return &c->seen[i].done_to;
  if (c->n_seen == SPAN_GOROUTINES) return NULL;
  c->seen[c->n_seen].goroutine = g;
  c->seen[c->n_seen].done_to = INT64_MIN;
  return &c->seen[c->n_seen++].done_to;
}

/* Follows the waits of one slow span; *covered when a trace ties a goroutine to it. */
static void follow_span(wk_ctx *c, size_t span_index, const mw_span_ref *ref, int *covered) {
  int64_t traces[SPAN_TRACES];
  size_t n_traces;
  *covered = 0;
  c->n_seen = 0;
  int rc = mw__store_xt_span_traces(c->q->rd, ref->span_id, traces, SPAN_TRACES, &n_traces);
  if (rc) return fail(c, rc);
  int64_t from = ref->start_ns, to = ref->start_ns + ref->dur_ns;
  for (size_t i = 0; i < n_traces && !c->rc; i++) {
    const mw_xt_span_table *t = table_of(c, traces[i]);
    for (size_t k = 0; t && k < t->n_runs && !c->rc; k++) {
      const mw_xt_span_run *run = &t->runs[k];
      const mw_xt_span *s = &t->spans[run->span - 1];
      if (memcmp(s->span_id, ref->span_id, 8) || (s->has_trace && memcmp(s->trace_id, ref->trace_id, 16))) continue;
      *covered = 1;
      const mw_xt_blob *b = blob_of(c, traces[i], run->goroutine);
      int64_t *done = done_to(c, run->goroutine);
      for (size_t v = b ? start_at(b, from) : 0; b && done && v < b->n_intervals; v++) {
        const mw_xt_interval *iv = &b->intervals[v];
        if (iv->start_ns >= to) break;
        if (iv->state != MW_XT_BLOCKED || iv->span != run->span) continue;
        int64_t lo = iv->start_ns > from ? iv->start_ns : from, hi = iv->end_ns < to ? iv->end_ns : to;
        if (lo < *done) lo = *done;
        if (hi <= lo) continue;
        *done = hi;
        c->blocked_ns += hi - lo;
        const mw_xt_wake *wake = iv->clipped & MW_XT_CLIPPED_END ? NULL : wake_at(b, iv->end_ns);
        entry *e = waker_entry(c, t, wake);
        if (!e) continue;
        example ex = {.span = ref,
                      .exectrace_id = traces[i],
                      .goroutine = run->goroutine,
                      .waker = wake ? wake->waker : 0,
                      .waker_span = wake && wake->waker_span && wake->waker_span <= t->n_spans
                                        ? &t->spans[wake->waker_span - 1]
                                        : NULL,
                      .start_ns = iv->start_ns,
                      .ns = hi - lo,
                      .reason = *iv->reason ? iv->reason : "other"};
        add_wait(c, e, span_index, hi - lo, &ex);
      }
    }
  }
}

static int cmp_i64(const void *x, const void *y) {
  int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
  return (a > b) - (a < b);
}

static int cmp_entry(const void *x, const void *y) {
  const entry *a = x, *b = y;
  if (a->ns != b->ns) return a->ns < b->ns ? 1 : -1;
  return a->kind - b->kind;
}

/* The p50 (nearest rank) of an entry's waits. */
static int64_t p50(entry *e) {
  if (!e->n_waits) return 0;
  qsort(e->waits, e->n_waits, sizeof *e->waits, cmp_i64);
  return e->waits[(e->n_waits + 1) / 2 - 1];
}

/* printf into the arena, whole (names are never cut: a cut could split a
 * UTF-8 sequence); NULL on exhaustion. */
static char *afmt(mw_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *afmt(mw_arena *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *out = n < 0 ? NULL : mw__arena_alloc(a, (size_t)n + 1);
  if (!out) return NULL;
  va_start(ap, fmt);
  vsnprintf(out, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return out;
}

/* The waker in words: "db.flush (shop)", "the runtime (...)"; NULL on exhaustion. */
static const char *label_of(mw_arena *a, const entry *e) {
  return e->kind == K_OPERATION ? afmt(a, "%s (%s)", e->name, e->service) : kind_labels[e->kind];
}

static void write_entry(mw_jsonw *w, const entry *e, const char *label, int64_t blocked_ns) {
  mw__jw_obj(w);
  mw__jw_kstr(w, "kind", kind_names[e->kind]);
  if (e->kind == K_OPERATION) {
    mw__jw_kstr(w, "service", e->service);
    mw__jw_kstr(w, "name", e->name);
  }
  mw__jw_kstr(w, "label", label);
  mw__jw_kint(w, "slow_spans", e->spans);
  mw__jw_kint(w, "waits", (int64_t)e->n_waits);
  mw__jw_kint(w, "wait_ns", e->ns);
  mw__jw_kint(w, "p50_wait_ns", e->p50_ns);
  mw__jw_kdouble(w, "share", blocked_ns ? round((double)e->ns / (double)blocked_ns * 10000) / 10000 : 0);
  mw__jw_key(w, "by_reason");
  mw__jw_obj(w);
  for (size_t r = 0; r < e->n_reasons; r++) {
    mw__jw_key(w, e->reasons[r].reason);
    mw__jw_obj(w);
    mw__jw_kint(w, "waits", e->reasons[r].waits);
    mw__jw_kint(w, "wait_ns", e->reasons[r].ns);
    mw__jw_obj_end(w);
  }
  mw__jw_obj_end(w);
  const example *x = &e->ex;
  mw__jw_key(w, "example");
  mw__jw_obj(w);
  mw__jw_key(w, "trace_id");
  mw__jw_hex(w, x->span->trace_id, 16);
  mw__jw_key(w, "span_id");
  mw__jw_hex(w, x->span->span_id, 8);
  mw__jw_kint(w, "exectrace_id", x->exectrace_id);
  mw__jw_key(w, "goroutine");
  mw__jw_uint(w, x->goroutine);
  mw__jw_kstr(w, "reason", x->reason);
  mw__jw_kint(w, "start_ns", x->start_ns);
  mw__jw_kint(w, "wait_ns", x->ns);
  if (e->kind != K_NONE) {
    mw__jw_key(w, "waker");
    mw__jw_uint(w, x->waker);
  }
  if (x->waker_span) {
    mw__jw_key(w, "waker_span_id");
    mw__jw_hex(w, x->waker_span->span_id, 8);
    if (x->waker_span->has_trace) {
      mw__jw_key(w, "waker_trace_id");
      mw__jw_hex(w, x->waker_span->trace_id, 16);
    }
  }
  mw__jw_obj_end(w);
  mw__jw_obj_end(w);
}

/* The reason with the most wait time of an entry. */
static const char *main_reason(const entry *e) {
  const reason_sum *best = NULL;
  for (size_t r = 0; r < e->n_reasons; r++)
    if (!best || e->reasons[r].ns > best->ns) best = &e->reasons[r];
  return best ? best->reason : "other";
}

static int wakers(wk_ctx *c, const mw_wakers_query *p, mw_jsonw *w) {
  mw_read *rd = c->q->rd;
  int64_t op, p90, count;
  int rc = mw__store_op_id(rd, p->service, p->name, &op);
  if (!rc) rc = mw__store_op_quantile(rd, op, p->start_ns, p->end_ns, 0.9, &p90, &count);
  if (rc) return rc;
  if (!count) return MW_ENOTFOUND;
  mw_span_ref *slow;
  size_t n_slow;
  if ((rc = mw__store_op_spans(rd, c->q->arena, op, p->start_ns, p->end_ns, p90, INT64_MAX, MW_WAKERS_CANDIDATES, &slow,
                               &n_slow)))
    return rc;
  if (!(c->entries = mw__arena_calloc(c->q->arena, MAX_ENTRIES, sizeof *c->entries))) return MW_ENOMEM;
  size_t examined = 0, covered = 0;
  for (; examined < n_slow && covered < p->limit && !c->rc; examined++) {
    int cov;
    follow_span(c, covered, &slow[examined], &cov);
    covered += (size_t)cov;
  }
  if (c->rc) return c->rc;
  int more = examined < n_slow || n_slow == MW_WAKERS_CANDIDATES;
  qsort(c->entries, c->n_entries, sizeof *c->entries, cmp_entry);
  for (size_t i = 0; i < c->n_entries; i++) c->entries[i].p50_ns = p50(&c->entries[i]);

  const entry *top = NULL;
  for (size_t i = 0; i < c->n_entries && !top; i++)
    if (c->entries[i].kind != K_NONE) top = &c->entries[i];
  mw_arena *a = c->q->arena;
  const char *head = afmt(a,
                          "%zu of the %zu slow %s spans of %s looked at (at or above p90 = %.1f ms) have a stored "
                          "execution trace; ",
                          covered, examined, p->name, p->service, (double)p90 / 1e6),
             *top_label = top ? label_of(a, top) : "", *summary;
  if (!head || !top_label) return MW_ENOMEM;
  if (!covered || !c->blocked_ns)
    summary = afmt(a, "%s%s", head, covered ? "they were never blocked." : "nothing to follow.");
  else if (top)
    summary = afmt(a,
                   "%sthey were blocked %.1f ms in all, %.0f%% of it ended by %s (%lld of the spans, p50 wait %.1f "
                   "ms, mostly %s).",
                   head, (double)c->blocked_ns / 1e6, 100.0 * (double)top->ns / (double)c->blocked_ns, top_label,
                   (long long)top->spans, (double)top->p50_ns / 1e6, main_reason(top));
  else
    summary = afmt(a, "%sthey were blocked %.1f ms in all, and no wait ended within the traces.", head,
                   (double)c->blocked_ns / 1e6);
  if (!summary) return MW_ENOMEM;
  mw__jw_obj(w);
  mw__jw_kstr(w, "service", p->service);
  mw__jw_kstr(w, "name", p->name);
  mw__jw_kint(w, "count", count);
  mw__jw_kint(w, "threshold_ns", p90);
  mw__jw_kint(w, "slow_spans", (int64_t)n_slow);
  mw__jw_kint(w, "examined", (int64_t)examined);
  mw__jw_kint(w, "covered", (int64_t)covered);
  mw__jw_kbool(w, "more", more);
  mw__jw_kint(w, "blocked_ns", c->blocked_ns);
  mw__jw_key(w, "wakers");
  mw__jw_arr(w);
  for (size_t i = 0; i < c->n_entries; i++) {
    const char *label = label_of(a, &c->entries[i]);
    if (!label) return MW_ENOMEM;
    write_entry(w, &c->entries[i], label, c->blocked_ns);
  }
  mw__jw_arr_end(w);
  if (c->truncated) mw__jw_kbool(w, "truncated", 1);
  mw__jw_kstr(w, "summary", summary);
  mw__jw_obj_end(w);
  return MW_OK;
}

int mw__q_wakers(mw_query *q, const mw_wakers_query *p, mw_answer *out) {
  if (mw__query_open(q, out)) return out->rc;
  wk_ctx c = {.q = q,
              .table_map = mw__bmap_new(1u << 16),
              .blob_map = mw__bmap_new(1u << 20),
              .op_map = mw__bmap_new(1u << 20)};
  mw_jsonw w;
  mw__answer_json(out, ANSWER_MAX, &w);
  int rc = c.table_map && c.blob_map && c.op_map ? wakers(&c, p, &w) : MW_ENOMEM;
  mw__bmap_free(c.table_map);
  mw__bmap_free(c.blob_map);
  mw__bmap_free(c.op_map);
  if (rc == MW_ENOTFOUND)
    return mw__answer_fail(out, rc, "no spans of %.100s %.100s in that range", p->service, p->name);
  if (rc) return mw__answer_fail(out, rc, "following the wakers failed: %s", mw__strerror(rc));
  return mw__answer_end(out, &w);
}

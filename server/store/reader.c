/* Read queries over spans (see store.h). Each runs in the caller's read
 * transaction and copies what it returns into the caller's arena. */
#include "store/readers.h"
#include "store/reader_sql.h"
#include "store/sref.h"
#include "store/sref_read.h"
#include "core/bmap.h"
#include "core/error.h"
#include "core/log.h"

#include <stdlib.h>
#include <string.h>

/* Durations read per operation for a listing's percentiles: the latest
 * 10,000 of the window (a p99 from them is off by at most a few ranks), so
 * that a listing costs the same however much is kept, and stays short enough
 * not to hold the WAL open (store/checkpoint.c). */
enum { PCT_SAMPLE = 10000 };

static int prep(mw_read *r, const char *sql, sqlite3_stmt **st) { return (*st = mw__prepare(r, sql)) ? MW_OK : MW_EIO; }

/* Appends blob (id) to a small set unless present. */
static int add_blob_id(mw_stored_blob *set, size_t *n, int64_t id) {
  for (size_t i = 0; i < *n; i++)
    if (set[i].id == id) return 0;
  set[(*n)++].id = id;
  return 1;
}

/* The blob of each id of set (empty for an id that is gone). */
static int load_blobs(mw_read *r, mw_arena *a, const char *sql, mw_stored_blob *set, size_t n) {
  sqlite3_stmt *st;
  if (prep(r, sql, &st)) return MW_EIO;
  int rc = MW_OK;
  for (size_t i = 0; i < n && !rc; i++) {
    sqlite3_bind_int64(st, 1, set[i].id);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) set[i].data = mw__col_blob(a, st, 0, &set[i].len);
    else set[i].data = (const uint8_t *)"", set[i].len = 0;
    if (step != SQLITE_ROW && step != SQLITE_DONE) rc = mw__read_failed(r, step);
    else if (!set[i].data) rc = MW_ENOMEM;
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  return rc;
}

#define MW__SPAN_WHOLE_COLS                                                                                            \
  "SELECT s.trace_id, s.span_id, s.parent_id, s.source_id, s.scope_id, o.name, s.start_ns, s.dur_ns, s.kind, "         \
  "s.status, s.body, s.op_id FROM spans s JOIN operations o ON o.id = s.op_id "

/* The row st stands on (MW__SPAN_WHOLE_COLS) into sp; MW_ENOMEM. */
static int whole_span(mw_arena *a, sqlite3_stmt *st, mw_stored_span *sp) {
  memset(sp, 0, sizeof *sp);
  if (sqlite3_column_bytes(st, 0) == 16) memcpy(sp->trace_id, sqlite3_column_blob(st, 0), 16);
  if (sqlite3_column_bytes(st, 1) == 8) memcpy(sp->span_id, sqlite3_column_blob(st, 1), 8);
  if (sqlite3_column_bytes(st, 2) == 8) {
    memcpy(sp->parent_id, sqlite3_column_blob(st, 2), 8);
    sp->has_parent = 1;
  }
  sp->source_id = sqlite3_column_int64(st, 3);
  sp->scope_id = sqlite3_column_int64(st, 4);
  sp->name = mw__col_text(a, st, 5);
  sp->start_ns = sqlite3_column_int64(st, 6);
  sp->dur_ns = sqlite3_column_int64(st, 7);
  sp->kind = sqlite3_column_int(st, 8);
  sp->status = sqlite3_column_int(st, 9);
  sp->body = mw__col_blob(a, st, 10, &sp->body_len);
  sp->op_id = sqlite3_column_int64(st, 11);
  return sp->name && sp->body ? MW_OK : MW_ENOMEM;
}

int mw__store_read_trace(mw_read *r, mw_arena *a, const uint8_t trace_id[16], size_t max_spans, mw_trace_rows *out) {
  memset(out, 0, sizeof *out);
  sqlite3_stmt *st = NULL;
  int rc = prep(r, MW__SPAN_WHOLE_COLS "WHERE s.trace_id = ?1 ORDER BY s.start_ns", &st);
  if (rc) goto out;
  sqlite3_bind_blob(st, 1, trace_id, 16, SQLITE_STATIC);
  size_t cap = 64;
  out->spans = mw__arena_alloc(a, cap * sizeof *out->spans);
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    if (out->n_spans == max_spans) {
      rc = MW_ETOOBIG;
      goto out;
    }
    if (out->n_spans == cap) {
      mw_stored_span *bigger = mw__arena_alloc(a, 2 * cap * sizeof *bigger);
      if (!bigger) {
        rc = MW_ENOMEM;
        goto out;
      }
      memcpy(bigger, out->spans, cap * sizeof *bigger);
      out->spans = bigger;
      cap *= 2;
    }
    if (!out->spans) {
      rc = MW_ENOMEM;
      goto out;
    }
    if ((rc = whole_span(a, st, &out->spans[out->n_spans++]))) goto out;
  }
  if (step != SQLITE_DONE) {
    rc = mw__read_failed(r, step);
    goto out;
  }
  out->sources = mw__arena_calloc(a, out->n_spans + 1, sizeof *out->sources);
  out->scopes = mw__arena_calloc(a, out->n_spans + 1, sizeof *out->scopes);
  if (!out->sources || !out->scopes) {
    rc = MW_ENOMEM;
    goto out;
  }
  for (size_t i = 0; i < out->n_spans; i++) {
    add_blob_id(out->sources, &out->n_sources, out->spans[i].source_id);
    add_blob_id(out->scopes, &out->n_scopes, out->spans[i].scope_id);
  }
  if ((rc = load_blobs(r, a, "SELECT resource FROM sources WHERE id = ?1", out->sources, out->n_sources))) goto out;
  rc = load_blobs(r, a, "SELECT body FROM scopes WHERE id = ?1", out->scopes, out->n_scopes);
out:
  sqlite3_finalize(st);
  return rc;
}

/* Fills h, whose trace_id is set, with its trace's root names and extent. */
static int read_hit(mw_arena *a, sqlite3_stmt *root, sqlite3_stmt *extent, mw_search_hit *h) {
  sqlite3_bind_blob(root, 1, h->trace_id, 16, SQLITE_STATIC);
  int rc = sqlite3_step(root);
  if (rc == SQLITE_ROW) {
    h->root_service = mw__col_text(a, root, 0);
    h->root_name = mw__col_text(a, root, 1);
  }
  sqlite3_reset(root);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return MW_EIO;
  sqlite3_bind_blob(extent, 1, h->trace_id, 16, SQLITE_STATIC);
  rc = sqlite3_step(extent);
  if (rc == SQLITE_ROW) {
    h->start_ns = sqlite3_column_int64(extent, 0);
    h->dur_ns = sqlite3_column_int64(extent, 1) - h->start_ns;
  }
  sqlite3_reset(extent);
  return rc == SQLITE_ROW ? MW_OK : MW_EIO;
}

/* A span a search found: its sref (store/sref.h: a spans.rowid, or < 0 a
 * span of a block) and duration. */
typedef struct hit_row {
  int64_t rowid, dur_ns;
} hit_row;

static int cmp_hit_row(const void *x, const void *y) {
  const hit_row *p = x, *q = y;
  if (p->dur_ns != q->dur_ns) return (p->dur_ns < q->dur_ns) - (p->dur_ns > q->dur_ns);
  return (p->rowid > q->rowid) - (p->rowid < q->rowid);
}

/* Appends the rows of a stepped statement (row id, duration) to v. */
static int take_rows(sqlite3_stmt *st, mw_arena *a, hit_row **v, size_t *n, size_t *cap) {
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    if (!(*v = mw__grow(a, *v, *n, cap, sizeof **v))) {
      sqlite3_reset(st);
      return MW_ENOMEM;
    }
    (*v)[(*n)++] = (hit_row){sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1)};
  }
  sqlite3_reset(st);
  return step == SQLITE_DONE ? MW_OK : MW_EIO;
}

static int step_int(sqlite3_stmt *st, int64_t op, int64_t *out) {
  sqlite3_bind_int64(st, 1, op);
  int step = sqlite3_step(st);
  *out = step == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  int null = step == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_NULL;
  sqlite3_reset(st);
  return step == SQLITE_ROW && !null ? MW_OK : step == SQLITE_ROW || step == SQLITE_DONE ? MW_ENOTFOUND : MW_EIO;
}

/* Binds a search's filters (?3..?6) and its row budget (?7). */
static void bind_filters(sqlite3_stmt *st, const mw_search_query *q, int64_t rows) {
  sqlite3_bind_int64(st, 3, q->min_dur_ns);
  sqlite3_bind_int64(st, 4, q->max_dur_ns);
  sqlite3_bind_int64(st, 5, q->start_ns);
  sqlite3_bind_int64(st, 6, q->end_ns);
  sqlite3_bind_int64(st, 7, rows);
}

/* The `rows` longest spans matching q, longest first, into *v. Per
 * operation, its slow spans answer when enough of them match; else (and when
 * the window covers little of the operation's history, where a walk down its
 * slow spans would mostly read spans outside it) the window is read. */
static int longest_spans(mw_read *r, mw_arena *a, const mw_search_query *q, enum mw__search_shape shape, int64_t rows,
                         hit_row **v, size_t *n) {
  sqlite3_stmt *ops = NULL, *first = NULL, *last = NULL, *slow = NULL, *by_start = NULL;
  size_t cap = 0, n_ops = 0, ops_cap = 0;
  int64_t(*op)[3] = NULL; /* id, span count, slow threshold */
  *v = NULL;
  *n = 0;
  int rc = prep(r, mw__search_ops_sql[shape], &ops);
  if (rc) goto out;
  if (q->service) sqlite3_bind_text(ops, 1, q->service, -1, SQLITE_STATIC);
  if (q->name) sqlite3_bind_text(ops, 2, q->name, -1, SQLITE_STATIC);
  int step;
  while ((step = sqlite3_step(ops)) == SQLITE_ROW) {
    if (!(op = mw__grow(a, op, n_ops, &ops_cap, sizeof *op))) {
      rc = MW_ENOMEM;
      goto out;
    }
    for (int k = 0; k < 3; k++) op[n_ops][k] = sqlite3_column_int64(ops, k);
    n_ops++;
  }
  if (step != SQLITE_DONE) {
    rc = MW_EIO;
    goto out;
  }
  if (shape == MW_SEARCH_ANY && n_ops > MW_SEARCH_MAX_OPS) {
    if ((rc = prep(r, MW__SEARCH_ALL_SQL, &by_start))) goto out;
    bind_filters(by_start, q, rows);
    rc = take_rows(by_start, a, v, n, &cap);
    goto out;
  }
  if ((rc = prep(r, MW__OP_FIRST_SQL, &first)) || (rc = prep(r, MW__OP_LAST_SQL, &last)) ||
      (rc = prep(r, MW__OP_LONGEST_SLOW_SQL, &slow)) || (rc = prep(r, MW__OP_LONGEST_BY_START_SQL, &by_start)))
    goto out;
  bind_filters(slow, q, rows);
  bind_filters(by_start, q, rows);
  for (size_t i = 0; i < n_ops; i++) {
    int64_t lo, hi;
    if ((rc = step_int(first, op[i][0], &lo)) || (rc = step_int(last, op[i][0], &hi))) {
      if (rc == MW_ENOTFOUND) { /* its spans are gone since its count was read */
        rc = MW_OK;
        continue;
      }
      goto out;
    }
    int64_t a0 = lo > q->start_ns ? lo : q->start_ns, a1 = hi < q->end_ns - 1 ? hi : q->end_ns - 1;
    if (a1 < a0) continue; /* none of its spans start in the window */
    double f = (double)(a1 - a0 + 1) / (double)(hi - lo + 1);
    size_t before = *n;
    if (f >= 0.25) {
      sqlite3_bind_int64(slow, 1, op[i][0]);
      sqlite3_bind_int64(slow, 8, op[i][2]);
      if ((rc = take_rows(slow, a, v, n, &cap))) goto out;
      if (*n - before == (size_t)rows) continue; /* all of them at or above the threshold */
      *n = before;
    }
    sqlite3_bind_int64(by_start, 1, op[i][0]);
    if ((rc = take_rows(by_start, a, v, n, &cap))) goto out;
  }
  if (*n) qsort(*v, *n, sizeof **v, cmp_hit_row);
  if (*n > (size_t)rows) *n = (size_t)rows;
out:
  sqlite3_finalize(ops);
  sqlite3_finalize(first);
  sqlite3_finalize(last);
  sqlite3_finalize(slow);
  sqlite3_finalize(by_start);
  return rc;
}

int mw__store_search(mw_read *r, mw_arena *a, const mw_search_query *q, mw_search_hit **out, size_t *n, size_t *next) {
  *out = NULL;
  *n = 0;
  *next = 0;
  const mw_page *pg = &q->page;
  /* the traces of the page, and one more to learn whether a next page exists */
  size_t want = pg->offset + pg->limit + 1;
  sqlite3_stmt *trace = NULL, *root = NULL, *extent = NULL;
  mw_bmap *seen = NULL;
  mw__sref_rd *blocks = NULL; /* for hits in blocks */
  enum mw__search_shape shape = q->service && q->name ? MW_SEARCH_BOTH
                                : q->service          ? MW_SEARCH_SERVICE
                                : q->name             ? MW_SEARCH_NAME
                                                      : MW_SEARCH_ANY;
  int rc = prep(r, MW__SEARCH_TRACE_SQL, &trace);
  if (!rc) rc = prep(r, MW__SEARCH_ROOT_SQL, &root);
  if (!rc) rc = prep(r, MW__SEARCH_EXTENT_SQL, &extent);
  if (rc) goto out;
  *out = mw__arena_calloc(a, pg->limit ? pg->limit : 1, sizeof **out);
  seen = mw__bmap_new(0);
  if (!*out || !seen) {
    rc = MW_ENOMEM;
    goto out;
  }
  /* The longest `rows` matching spans hold the `want` longest traces, unless
   * some traces have several of them: then the search looks again, four
   * times further. */
  for (int64_t rows = want < 32 ? 64 : 2 * (int64_t)want;; rows *= 4) {
    hit_row *v;
    size_t got;
    if ((rc = longest_spans(r, a, q, shape, rows, &v, &got))) goto out;
    mw__bmap_clear(seen);
    *n = 0;
    size_t found = 0, bytes = 0;
    for (size_t i = 0; i < got; i++) {
      uint8_t tid[16] = {0};
      if (!mw__sref_is_row(v[i].rowid)) { /* a span of a block */
        mw_stored_span sp;
        if (!blocks && (rc = mw__sref_rd_new(r, &blocks))) goto out;
        rc = mw__sref_get(blocks, a, v[i].rowid, MW__SREF_IDS, &sp);
        if (rc == MW_ENOTFOUND) continue; /* deleted since (retention) */
        if (rc) goto out;
        memcpy(tid, sp.trace_id, 16);
      } else {
        sqlite3_bind_int64(trace, 1, v[i].rowid);
        int trc = sqlite3_step(trace);
        if (trc == SQLITE_ROW && sqlite3_column_bytes(trace, 0) == 16) memcpy(tid, sqlite3_column_blob(trace, 0), 16);
        sqlite3_reset(trace);
        if (trc == SQLITE_DONE) continue; /* deleted since (retention) */
        if (trc != SQLITE_ROW) {
          rc = MW_EIO;
          goto out;
        }
      }
      int64_t one;
      if (mw__bmap_get(seen, tid, 16, &one)) continue; /* a trace counts once, at its longest span */
      if ((rc = mw__bmap_put(seen, tid, 16, 1))) goto out;
      if (found++ < pg->offset) continue;
      if (*n == pg->limit || (*n && bytes > pg->max_bytes)) { /* the page is full, and more follow */
        *next = pg->offset + *n;
        break;
      }
      mw_search_hit *h = &(*out)[(*n)++];
      memcpy(h->trace_id, tid, 16);
      h->match_dur_ns = v[i].dur_ns;
      if ((rc = read_hit(a, root, extent, h))) goto out;
      bytes += (h->root_service ? strlen(h->root_service) : 0) + (h->root_name ? strlen(h->root_name) : 0);
    }
    if (*next || got < (size_t)rows || found >= want) break;
  }
out:
  mw__sref_rd_free(blocks);
  mw__bmap_free(seen);
  sqlite3_finalize(trace);
  sqlite3_finalize(root);
  sqlite3_finalize(extent);
  return rc;
}

int mw__store_services(mw_read *r, mw_arena *a, const char *name, const mw_page *pg, mw_service_info **out, size_t *n,
                       size_t *next) {
  *out = NULL;
  *n = 0;
  *next = 0;
  sqlite3_stmt *st = NULL;
  int rc = prep(r, name ? MW__SERVICE_SQL : MW__SERVICES_SQL, &st);
  if (rc) goto out;
  sqlite3_bind_int64(st, 1, (int64_t)pg->offset);
  sqlite3_bind_int64(st, 2, (int64_t)pg->limit + 1);
  if (name) sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
  size_t cap = 0, bytes = 0;
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == pg->limit || (*n && bytes > pg->max_bytes)) {
      *next = pg->offset + *n;
      break;
    }
    if (!(*out = mw__grow(a, *out, *n, &cap, sizeof **out))) {
      rc = MW_ENOMEM;
      goto out;
    }
    mw_service_info *si = &(*out)[(*n)++];
    si->name = mw__col_text(a, st, 0);
    si->span_count = sqlite3_column_int64(st, 1);
    si->operation_count = sqlite3_column_int64(st, 2);
    si->instance_count = sqlite3_column_int64(st, 3);
    if (!si->name) {
      rc = MW_ENOMEM;
      goto out;
    }
    bytes += strlen(si->name);
  }
  if (step != SQLITE_ROW && step != SQLITE_DONE) rc = MW_EIO;
out:
  sqlite3_finalize(st);
  return rc;
}

static int cmp_i64(const void *x, const void *y) {
  int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
  return (a > b) - (a < b);
}

/* Nearest-rank percentile of a sorted array. */
static int64_t rank(const int64_t *v, size_t n, double p) {
  size_t k = (size_t)(p * (double)n + 0.999999999);
  if (k < 1) k = 1;
  if (k > n) k = n;
  return v[k - 1];
}

int mw__store_operations(mw_read *r, mw_arena *a, const char *service, int64_t start_ns, int64_t end_ns,
                         const mw_page *pg, mw_operation_stats **out, size_t *n, size_t *next) {
  *out = NULL;
  *n = 0;
  *next = 0;
  sqlite3_stmt *ops = NULL, *durs = NULL, *count_st = NULL, *max_st = NULL, *first = NULL, *last = NULL;
  int64_t *sample = NULL;
  int rc = prep(r, MW__OPERATIONS_SQL, &ops);
  if (!rc) rc = prep(r, MW__OP_DURATIONS_SQL, &durs);
  if (!rc) rc = prep(r, MW__OP_COUNT_SQL, &count_st);
  if (!rc) rc = prep(r, MW__OP_MAX_SQL, &max_st);
  if (!rc) rc = prep(r, MW__OP_FIRST_SQL, &first);
  if (!rc) rc = prep(r, MW__OP_LAST_SQL, &last);
  if (rc) goto out;
  sample = malloc(PCT_SAMPLE * sizeof *sample);
  if (!sample) {
    rc = MW_ENOMEM;
    goto out;
  }
  /* whether the service exists at all: the operations from 0 on */
  sqlite3_bind_text(ops, 1, service, -1, SQLITE_STATIC);
  sqlite3_bind_int64(ops, 2, 0);
  int step = sqlite3_step(ops);
  if (step != SQLITE_ROW) {
    rc = step == SQLITE_DONE ? MW_ENOTFOUND : MW_EIO;
    goto out;
  }
  sqlite3_reset(ops);
  sqlite3_bind_int64(ops, 2, (int64_t)pg->offset);
  sqlite3_stmt *window[] = {durs, count_st, max_st};
  for (size_t k = 0; k < sizeof window / sizeof window[0]; k++) {
    sqlite3_bind_int64(window[k], 2, start_ns);
    sqlite3_bind_int64(window[k], 3, end_ns);
  }
  sqlite3_bind_int64(durs, 4, PCT_SAMPLE);
  size_t cap = 0, used = 0, bytes = 0; /* used: operations read, listed or not */
  while ((step = sqlite3_step(ops)) == SQLITE_ROW) {
    if (*n == pg->limit || (*n && bytes > pg->max_bytes)) {
      *next = pg->offset + used;
      break;
    }
    used++;
    int64_t id = sqlite3_column_int64(ops, 0), lo, hi, count, max = 0;
    if ((rc = step_int(first, id, &lo)) || (rc = step_int(last, id, &hi))) {
      if (rc != MW_ENOTFOUND) goto out;
      rc = MW_OK; /* its spans are gone since its count was read */
      continue;
    }
    if (lo >= start_ns && hi < end_ns) {
      count = sqlite3_column_int64(ops, 2); /* the window holds all of its spans */
    } else if ((rc = step_int(count_st, id, &count)) && rc != MW_ENOTFOUND) {
      goto out;
    }
    rc = MW_OK;
    if (count <= 0) continue;
    if ((rc = step_int(max_st, id, &max)) && rc != MW_ENOTFOUND) goto out;
    rc = MW_OK;
    sqlite3_bind_int64(durs, 1, id);
    size_t kept = 0;
    int dstep;
    while ((dstep = sqlite3_step(durs)) == SQLITE_ROW && kept < PCT_SAMPLE)
      sample[kept++] = sqlite3_column_int64(durs, 0);
    sqlite3_reset(durs);
    if (dstep != SQLITE_DONE && dstep != SQLITE_ROW) {
      rc = MW_EIO;
      goto out;
    }
    if (!kept) continue;
    qsort(sample, kept, sizeof *sample, cmp_i64);
    if (!(*out = mw__grow(a, *out, *n, &cap, sizeof **out))) {
      rc = MW_ENOMEM;
      goto out;
    }
    mw_operation_stats *os = &(*out)[(*n)++];
    os->name = mw__col_text(a, ops, 1);
    if (!os->name) {
      rc = MW_ENOMEM;
      goto out;
    }
    bytes += strlen(os->name);
    os->count = count;
    os->p50_ns = rank(sample, kept, 0.50);
    os->p90_ns = rank(sample, kept, 0.90);
    os->p99_ns = rank(sample, kept, 0.99);
    os->max_ns = max > sample[kept - 1] ? max : sample[kept - 1];
    os->sampled = (size_t)count > kept;
  }
  if (step != SQLITE_ROW && step != SQLITE_DONE) rc = MW_EIO;
out:
  free(sample);
  sqlite3_finalize(ops);
  sqlite3_finalize(durs);
  sqlite3_finalize(count_st);
  sqlite3_finalize(max_st);
  sqlite3_finalize(first);
  sqlite3_finalize(last);
  return rc;
}

/* --- Tempo's search and tag discovery ---------------------------------------- */

int mw__store_scan_longest(mw_read *r, mw_arena *a, const mw_search_query *q, size_t rows, mw_span_visit each,
                           void *user, size_t *visited) {
  *visited = 0;
  enum mw__search_shape shape = q->service && q->name ? MW_SEARCH_BOTH
                                : q->service          ? MW_SEARCH_SERVICE
                                : q->name             ? MW_SEARCH_NAME
                                                      : MW_SEARCH_ANY;
  hit_row *v;
  size_t got;
  int rc = longest_spans(r, a, q, shape, (int64_t)rows, &v, &got);
  if (rc) return rc;
  sqlite3_stmt *st;
  mw__sref_rd *blocks = NULL; /* for hits in blocks */
  if ((rc = prep(r, MW__SPAN_WHOLE_COLS "WHERE s.rowid = ?1", &st))) return rc;
  for (size_t i = 0; i < got && !rc; i++) {
    if (!mw__sref_is_row(v[i].rowid)) { /* a span of a block; MW_ENOTFOUND: deleted since (retention) */
      mw_stored_span sp;
      if (!blocks && (rc = mw__sref_rd_new(r, &blocks))) break;
      if (!(rc = mw__sref_get(blocks, a, v[i].rowid, MW__SREF_WHOLE, &sp))) {
        ++*visited;
        if (each(user, &sp)) i = got;
      } else if (rc == MW_ENOTFOUND) rc = MW_OK;
      continue;
    }
    sqlite3_bind_int64(st, 1, v[i].rowid);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
      mw_stored_span sp;
      if (!(rc = whole_span(a, st, &sp))) {
        ++*visited;
        if (each(user, &sp)) i = got;
      }
    } else if (step != SQLITE_DONE) /* DONE: deleted since (retention) */
      rc = mw__read_failed(r, step);
    sqlite3_reset(st);
  }
  mw__sref_rd_free(blocks);
  sqlite3_finalize(st);
  return rc;
}

int mw__store_trace_hit(mw_read *r, mw_arena *a, mw_search_hit *h) {
  sqlite3_stmt *root = NULL, *extent = NULL;
  int rc = prep(r, MW__SEARCH_ROOT_SQL, &root);
  if (!rc) rc = prep(r, MW__SEARCH_EXTENT_SQL, &extent);
  if (!rc) rc = read_hit(a, root, extent, h);
  sqlite3_finalize(root);
  sqlite3_finalize(extent);
  return rc;
}

int mw__store_recent_spans(mw_read *r, mw_arena *a, int64_t start_ns, int64_t end_ns, size_t rows, mw_span_visit each,
                           void *user) {
  sqlite3_stmt *st;
  /* the newest `rows` rows of the table (a walk down its rowid b-tree), then the window */
  int rc = prep(r,
                MW__SPAN_WHOLE_COLS "WHERE s.rowid IN (SELECT rowid FROM spans ORDER BY rowid DESC LIMIT ?1) "
                                    "AND s.start_ns >= ?2 AND s.start_ns < ?3 ORDER BY s.rowid DESC",
                &st);
  if (rc) return rc;
  sqlite3_bind_int64(st, 1, (int64_t)rows);
  sqlite3_bind_int64(st, 2, start_ns);
  sqlite3_bind_int64(st, 3, end_ns);
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    mw_stored_span sp;
    if ((rc = whole_span(a, st, &sp))) break;
    if (each(user, &sp)) break;
  }
  if (!rc && step != SQLITE_ROW && step != SQLITE_DONE) rc = mw__read_failed(r, step);
  sqlite3_finalize(st);
  return rc;
}

int mw__store_source_resource(mw_read *r, mw_arena *a, int64_t id, mw_stored_blob *out) {
  out->id = id;
  out->data = NULL;
  out->len = 0;
  return load_blobs(r, a, "SELECT resource FROM sources WHERE id = ?1", out, 1);
}

int mw__store_source_resources(mw_read *r, mw_arena *a, int64_t start_ns, int64_t end_ns, size_t max,
                               mw_stored_blob **out, size_t *n, int *more) {
  *out = NULL;
  *n = 0;
  *more = 0;
  sqlite3_stmt *st;
  int rc = prep(r, "SELECT id, resource FROM sources WHERE last_ns >= ?1 AND first_ns < ?2 ORDER BY id LIMIT ?3", &st);
  if (rc) return rc;
  sqlite3_bind_int64(st, 1, start_ns);
  sqlite3_bind_int64(st, 2, end_ns);
  sqlite3_bind_int64(st, 3, (int64_t)max + 1);
  size_t cap = 0;
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == max) {
      *more = 1;
      break;
    }
    if (!(*out = mw__grow(a, *out, *n, &cap, sizeof **out))) {
      rc = MW_ENOMEM;
      break;
    }
    mw_stored_blob *b = &(*out)[(*n)++];
    b->id = sqlite3_column_int64(st, 0);
    b->data = mw__col_blob(a, st, 1, &b->len);
    if (!b->data) b->data = (const uint8_t *)"", b->len = 0;
  }
  if (!rc && step != SQLITE_ROW && step != SQLITE_DONE) rc = mw__read_failed(r, step);
  sqlite3_finalize(st);
  return rc;
}

int mw__store_op_names(mw_read *r, mw_arena *a, int names, size_t max, const char ***out, size_t *n, int *more) {
  *out = NULL;
  *n = 0;
  *more = 0;
  sqlite3_stmt *st;
  int rc = prep(r,
                names ? "SELECT DISTINCT name FROM operations INDEXED BY operations_by_name WHERE span_count > 0 "
                        "ORDER BY name LIMIT ?1"
                      : "SELECT DISTINCT service FROM operations WHERE span_count > 0 ORDER BY service LIMIT ?1",
                &st);
  if (rc) return rc;
  sqlite3_bind_int64(st, 1, (int64_t)max + 1);
  size_t cap = 0;
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == max) {
      *more = 1;
      break;
    }
    if (!(*out = mw__grow(a, *out, *n, &cap, sizeof **out)) || !((*out)[*n] = mw__col_text(a, st, 0))) {
      rc = MW_ENOMEM;
      break;
    }
    ++*n;
  }
  if (!rc && step != SQLITE_ROW && step != SQLITE_DONE) rc = mw__read_failed(r, step);
  sqlite3_finalize(st);
  return rc;
}

void mw__stored_span_row(const mw_stored_span *s, mw_span_row *row) {
  memset(row, 0, sizeof *row);
  memcpy(row->trace_id, s->trace_id, 16);
  memcpy(row->span_id, s->span_id, 8);
  memcpy(row->parent_id, s->parent_id, 8);
  row->has_parent = s->has_parent;
  row->start_ns = s->start_ns;
  row->dur_ns = s->dur_ns;
  row->kind = s->kind;
  row->status = s->status;
  row->name = s->name;
  row->body = s->body;
  row->body_len = s->body_len;
}

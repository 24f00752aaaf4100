/* Read queries over spans (see store.h). Each call borrows a read-only
 * connection, copies what it returns into the caller's arena, and gives the
 * connection back. */
#include "store/store_int.h"
#include "core/error.h"
#include "core/log.h"

#include <stdlib.h>
#include <string.h>

/* Uniform sample size for duration percentiles: exact below it. */
enum { PCT_SAMPLE = 100000 };

static const char *dup_text(mw_arena *a, sqlite3_stmt *st, int col) {
  const unsigned char *t = sqlite3_column_text(st, col);
  if (!t) return NULL;
  return mw__arena_strndup(a, (const char *)t, (size_t)sqlite3_column_bytes(st, col));
}

static const uint8_t *dup_blob(mw_arena *a, sqlite3_stmt *st, int col, size_t *len) {
  *len = (size_t)sqlite3_column_bytes(st, col);
  const void *p = sqlite3_column_blob(st, col);
  return mw__arena_memdup(a, p ? p : "", *len);
}

static int prep(mw__reader *r, const char *sql, sqlite3_stmt **st) {
  if (sqlite3_prepare_v2(r->db, sql, -1, st, NULL) != SQLITE_OK) {
    mw__error("query prepare failed", "err=\"%s\"", sqlite3_errmsg(r->db));
    return MW_EIO;
  }
  return MW_OK;
}

/* Appends blob (id) to a small set unless present. */
static int add_blob_id(mw_stored_blob *set, size_t *n, int64_t id) {
  for (size_t i = 0; i < *n; i++)
    if (set[i].id == id) return 0;
  set[(*n)++].id = id;
  return 1;
}

static int load_blobs(mw__reader *r, mw_arena *a, const char *sql, mw_stored_blob *set, size_t n) {
  sqlite3_stmt *st;
  if (prep(r, sql, &st)) return MW_EIO;
  for (size_t i = 0; i < n; i++) {
    sqlite3_bind_int64(st, 1, set[i].id);
    if (sqlite3_step(st) == SQLITE_ROW) set[i].data = dup_blob(a, st, 0, &set[i].len);
    else set[i].data = (const uint8_t *)"", set[i].len = 0;
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  return MW_OK;
}

int mw__store_read_trace(mw_store *s, mw_arena *a, const uint8_t trace_id[16], size_t max_spans,
                         mw_trace_rows *out) {
  memset(out, 0, sizeof *out);
  mw__reader *r = mw__reader_get(s);
  if (!r) return MW_EIO;
  sqlite3_stmt *st = NULL;
  int rc = prep(r, "SELECT s.span_id, s.parent_id, s.source_id, s.scope_id, o.name, s.start_ns, s.dur_ns, "
                   "s.kind, s.status, s.body, s.op_id FROM spans s JOIN operations o ON o.id = s.op_id "
                   "WHERE s.trace_id = ?1 ORDER BY s.start_ns",
                &st);
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
    mw_stored_span *sp = &out->spans[out->n_spans++];
    memset(sp, 0, sizeof *sp);
    memcpy(sp->trace_id, trace_id, 16);
    if (sqlite3_column_bytes(st, 0) == 8) memcpy(sp->span_id, sqlite3_column_blob(st, 0), 8);
    if (sqlite3_column_bytes(st, 1) == 8) {
      memcpy(sp->parent_id, sqlite3_column_blob(st, 1), 8);
      sp->has_parent = 1;
    }
    sp->source_id = sqlite3_column_int64(st, 2);
    sp->scope_id = sqlite3_column_int64(st, 3);
    sp->name = dup_text(a, st, 4);
    sp->start_ns = sqlite3_column_int64(st, 5);
    sp->dur_ns = sqlite3_column_int64(st, 6);
    sp->kind = sqlite3_column_int(st, 7);
    sp->status = sqlite3_column_int(st, 8);
    sp->body = dup_blob(a, st, 9, &sp->body_len);
    sp->op_id = sqlite3_column_int64(st, 10);
    if (!sp->name || !sp->body) {
      rc = MW_ENOMEM;
      goto out;
    }
  }
  if (step != SQLITE_DONE) {
    rc = MW_EIO;
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
  mw__reader_put(s, r);
  return rc;
}

int mw__store_search(mw_store *s, mw_arena *a, const mw_search_query *q, mw_search_hit **out, size_t *n) {
  *out = NULL;
  *n = 0;
  mw__reader *r = mw__reader_get(s);
  if (!r) return MW_EIO;
  sqlite3_stmt *st = NULL, *root = NULL, *span = NULL;
  int rc = prep(r,
                "SELECT s.trace_id, max(s.dur_ns) AS d FROM spans s JOIN operations o ON o.id = s.op_id "
                "WHERE (?1 IS NULL OR o.service = ?1) AND (?2 IS NULL OR o.name = ?2) "
                "AND s.dur_ns >= ?3 AND s.dur_ns <= ?4 AND s.start_ns >= ?5 AND s.start_ns < ?6 "
                "GROUP BY s.trace_id ORDER BY d DESC, s.trace_id LIMIT ?7 OFFSET ?8",
                &st);
  if (!rc) rc = prep(r, "SELECT o.service, o.name FROM spans s JOIN operations o ON o.id = s.op_id "
                        "WHERE s.trace_id = ?1 AND s.parent_id IS NULL ORDER BY s.start_ns LIMIT 1", &root);
  if (!rc) rc = prep(r, "SELECT min(start_ns), max(start_ns + dur_ns) FROM spans WHERE trace_id = ?1", &span);
  if (rc) goto out;
  if (q->service) sqlite3_bind_text(st, 1, q->service, -1, SQLITE_STATIC);
  if (q->name) sqlite3_bind_text(st, 2, q->name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, q->min_dur_ns);
  sqlite3_bind_int64(st, 4, q->max_dur_ns);
  sqlite3_bind_int64(st, 5, q->start_ns);
  sqlite3_bind_int64(st, 6, q->end_ns);
  sqlite3_bind_int64(st, 7, (int64_t)q->limit);
  sqlite3_bind_int64(st, 8, (int64_t)q->offset);
  *out = mw__arena_calloc(a, q->limit + 1, sizeof **out);
  if (!*out) {
    rc = MW_ENOMEM;
    goto out;
  }
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    mw_search_hit *h = &(*out)[(*n)++];
    if (sqlite3_column_bytes(st, 0) == 16) memcpy(h->trace_id, sqlite3_column_blob(st, 0), 16);
    h->match_dur_ns = sqlite3_column_int64(st, 1);
    sqlite3_bind_blob(root, 1, h->trace_id, 16, SQLITE_STATIC);
    if (sqlite3_step(root) == SQLITE_ROW) {
      h->root_service = dup_text(a, root, 0);
      h->root_name = dup_text(a, root, 1);
    }
    sqlite3_reset(root);
    sqlite3_bind_blob(span, 1, h->trace_id, 16, SQLITE_STATIC);
    if (sqlite3_step(span) == SQLITE_ROW) {
      h->start_ns = sqlite3_column_int64(span, 0);
      h->dur_ns = sqlite3_column_int64(span, 1) - h->start_ns;
    }
    sqlite3_reset(span);
  }
  if (step != SQLITE_DONE) rc = MW_EIO;
out:
  sqlite3_finalize(st);
  sqlite3_finalize(root);
  sqlite3_finalize(span);
  mw__reader_put(s, r);
  return rc;
}

int mw__store_services(mw_store *s, mw_arena *a, mw_service_info **out, size_t *n) {
  *out = NULL;
  *n = 0;
  mw__reader *r = mw__reader_get(s);
  if (!r) return MW_EIO;
  sqlite3_stmt *st = NULL;
  int rc = prep(r,
                "SELECT o.service, sum(o.span_count), count(*), "
                "(SELECT count(*) FROM sources src WHERE src.service = o.service) "
                "FROM operations o GROUP BY o.service ORDER BY o.service",
                &st);
  if (rc) goto out;
  size_t cap = 16;
  *out = mw__arena_alloc(a, cap * sizeof **out);
  int step;
  while (*out && (step = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == cap) {
      mw_service_info *bigger = mw__arena_alloc(a, 2 * cap * sizeof *bigger);
      if (!bigger) break;
      memcpy(bigger, *out, cap * sizeof *bigger);
      *out = bigger;
      cap *= 2;
    }
    mw_service_info *si = &(*out)[(*n)++];
    si->name = dup_text(a, st, 0);
    si->span_count = sqlite3_column_int64(st, 1);
    si->operation_count = sqlite3_column_int64(st, 2);
    si->instance_count = sqlite3_column_int64(st, 3);
  }
  if (!*out) rc = MW_ENOMEM;
out:
  sqlite3_finalize(st);
  mw__reader_put(s, r);
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

int mw__store_operations(mw_store *s, mw_arena *a, const char *service, int64_t start_ns, int64_t end_ns,
                         mw_operation_stats **out, size_t *n) {
  *out = NULL;
  *n = 0;
  mw__reader *r = mw__reader_get(s);
  if (!r) return MW_EIO;
  sqlite3_stmt *ops = NULL, *durs = NULL;
  int64_t *sample = NULL;
  int rc = prep(r, "SELECT id, name FROM operations WHERE service = ?1 ORDER BY name", &ops);
  if (!rc) rc = prep(r, "SELECT dur_ns FROM spans WHERE op_id = ?1 AND start_ns >= ?2 AND start_ns < ?3", &durs);
  if (rc) goto out;
  sample = malloc(PCT_SAMPLE * sizeof *sample);
  if (!sample) {
    rc = MW_ENOMEM;
    goto out;
  }
  sqlite3_bind_text(ops, 1, service, -1, SQLITE_STATIC);
  size_t cap = 16;
  *out = mw__arena_alloc(a, cap * sizeof **out);
  int found = 0;
  uint64_t rng = 0x9E3779B97F4A7C15ULL;
  while (*out && sqlite3_step(ops) == SQLITE_ROW) {
    found = 1;
    int64_t id = sqlite3_column_int64(ops, 0);
    const char *name = dup_text(a, ops, 1);
    sqlite3_bind_int64(durs, 1, id);
    sqlite3_bind_int64(durs, 2, start_ns);
    sqlite3_bind_int64(durs, 3, end_ns);
    int64_t count = 0, max = 0;
    size_t kept = 0;
    while (sqlite3_step(durs) == SQLITE_ROW) {
      int64_t d = sqlite3_column_int64(durs, 0);
      if (d > max) max = d;
      count++;
      if (kept < PCT_SAMPLE) {
        sample[kept++] = d;
      } else { /* reservoir sampling keeps a uniform sample of every duration seen */
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        uint64_t j = rng % (uint64_t)count;
        if (j < PCT_SAMPLE) sample[j] = d;
      }
    }
    sqlite3_reset(durs);
    if (!count) continue;
    qsort(sample, kept, sizeof *sample, cmp_i64);
    if (*n == cap) {
      mw_operation_stats *bigger = mw__arena_alloc(a, 2 * cap * sizeof *bigger);
      if (!bigger) {
        rc = MW_ENOMEM;
        goto out;
      }
      memcpy(bigger, *out, cap * sizeof *bigger);
      *out = bigger;
      cap *= 2;
    }
    mw_operation_stats *os = &(*out)[(*n)++];
    os->name = name;
    os->count = count;
    os->p50_ns = rank(sample, kept, 0.50);
    os->p90_ns = rank(sample, kept, 0.90);
    os->p99_ns = rank(sample, kept, 0.99);
    os->max_ns = max;
    os->sampled = (size_t)count > kept;
  }
  if (!*out) rc = MW_ENOMEM;
  else if (!found) rc = MW_ENOTFOUND;
out:
  free(sample);
  sqlite3_finalize(ops);
  sqlite3_finalize(durs);
  mw__reader_put(s, r);
  return rc;
}

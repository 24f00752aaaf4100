/* Reading execution traces (see exectrace_read.h). A statement that fails
 * part way fails the read: rows already taken are not an answer. */
#include "store/exectrace_read.h"
#include "core/error.h"
#include "store/block_read.h"
#include "store/block_sql.h"
#include "store/readers.h"

#include <string.h>

#define INFO_COLS                                                                                                      \
  "SELECT x.id, x.source_id, s.service, s.instance, x.start_ns, x.end_ns, x.trigger, x.alignment, "                    \
  "x.clock_error_ns, x.raw_bytes, x.stored_bytes, x.goroutines, x.intervals, x.wakes, x.spans, x.windows "             \
  "FROM exectraces x JOIN sources s ON s.id = x.source_id"

static int read_info(mw_arena *a, sqlite3_stmt *st, mw_xt_info *o) {
  o->id = sqlite3_column_int64(st, 0);
  o->source_id = sqlite3_column_int64(st, 1);
  o->service = mw__col_text(a, st, 2);
  o->instance = mw__col_text(a, st, 3);
  o->start_ns = sqlite3_column_int64(st, 4);
  o->end_ns = sqlite3_column_int64(st, 5);
  o->trigger = mw__col_text(a, st, 6);
  o->alignment = sqlite3_column_int(st, 7);
  o->clock_error_ns = sqlite3_column_int64(st, 8);
  o->raw_bytes = sqlite3_column_int64(st, 9);
  o->stored_bytes = sqlite3_column_int64(st, 10);
  o->goroutines = sqlite3_column_int64(st, 11);
  o->intervals = sqlite3_column_int64(st, 12);
  o->wakes = sqlite3_column_int64(st, 13);
  o->spans = sqlite3_column_int64(st, 14);
  o->windows = mw__col_blob(a, st, 15, &o->windows_len);
  return o->service && o->instance && o->windows ? MW_OK : MW_ENOMEM;
}

int mw__store_exectraces(mw_read *rd, mw_arena *a, int64_t source_id, int64_t from_ns, int64_t to_ns, size_t limit,
                         mw_xt_info **out, size_t *n, int *more) {
  *out = NULL;
  *n = 0;
  *more = 0;
  size_t cap = 0;
  int rc = MW_OK, step = SQLITE_DONE;
  sqlite3_stmt *st = mw__prepare(rd, INFO_COLS " WHERE (?1 = 0 OR x.source_id = ?1) AND x.start_ns < ?3 AND "
                                               "x.end_ns >= ?2 ORDER BY x.start_ns DESC, x.id DESC LIMIT ?4");
  if (!st) return MW_EIO;
  sqlite3_bind_int64(st, 1, source_id);
  sqlite3_bind_int64(st, 2, from_ns);
  sqlite3_bind_int64(st, 3, to_ns);
  sqlite3_bind_int64(st, 4, (int64_t)limit + 1);
  while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == limit) {
      *more = 1;
      break;
    }
    if (!(*out = mw__grow(a, *out, *n, &cap, sizeof **out))) rc = MW_ENOMEM;
    else rc = read_info(a, st, &(*out)[(*n)++]);
  }
  if (!rc && !*more && step != SQLITE_DONE) rc = mw__read_failed(rd, step);
  sqlite3_finalize(st);
  return rc;
}

int mw__store_exectrace(mw_read *rd, mw_arena *a, int64_t id, mw_xt_info *out) {
  sqlite3_stmt *st = mw__prepare(rd, INFO_COLS " WHERE x.id = ?1");
  if (!st) return MW_EIO;
  sqlite3_bind_int64(st, 1, id);
  int step = sqlite3_step(st), rc = MW_ENOTFOUND;
  if (step == SQLITE_ROW) rc = read_info(a, st, out);
  else if (step != SQLITE_DONE) rc = mw__read_failed(rd, step);
  sqlite3_finalize(st);
  return rc;
}

int mw__store_exectrace_raw(mw_read *rd, mw_arena *a, int64_t id, const uint8_t **z, size_t *zlen, int64_t *raw_bytes) {
  sqlite3_stmt *st = mw__prepare(rd, "SELECT raw, raw_bytes FROM exectraces WHERE id = ?1");
  if (!st) return MW_EIO;
  sqlite3_bind_int64(st, 1, id);
  int step = sqlite3_step(st), rc = MW_ENOTFOUND;
  if (step == SQLITE_ROW) {
    *z = mw__col_blob(a, st, 0, zlen);
    *raw_bytes = sqlite3_column_int64(st, 1);
    rc = *z ? MW_OK : MW_ENOMEM;
  } else if (step != SQLITE_DONE) {
    rc = mw__read_failed(rd, step);
  }
  sqlite3_finalize(st);
  return rc;
}

/* Reads rows of (exectrace_id, goroutine, first_ns, last_ns[, blob]) from st,
 * at most limit; *more when more came. */
static int read_grows(mw_read *rd, mw_arena *a, sqlite3_stmt *st, int with_blob, size_t limit, mw_xt_grow **out,
                      size_t *n, int *more) {
  *out = NULL;
  *n = 0;
  if (more) *more = 0;
  size_t cap = 0;
  int rc = MW_OK, step = SQLITE_DONE, cut = 0;
  while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == limit) {
      if (more) *more = 1;
      cut = 1;
      break;
    }
    if (!(*out = mw__grow(a, *out, *n, &cap, sizeof **out))) {
      rc = MW_ENOMEM;
      break;
    }
    mw_xt_grow *g = &(*out)[(*n)++];
    memset(g, 0, sizeof *g);
    g->exectrace_id = sqlite3_column_int64(st, 0);
    g->goroutine = (uint64_t)sqlite3_column_int64(st, 1);
    g->first_ns = sqlite3_column_int64(st, 2);
    g->last_ns = sqlite3_column_int64(st, 3);
    if (with_blob && !(g->blob = mw__col_blob(a, st, 4, &g->blob_len))) rc = MW_ENOMEM;
  }
  if (!rc && !cut && step != SQLITE_DONE) rc = mw__read_failed(rd, step);
  sqlite3_finalize(st);
  return rc;
}

int mw__store_xt_span_traces(mw_read *rd, const uint8_t span_id[8], int64_t *ids, size_t max, size_t *n) {
  *n = 0;
  sqlite3_stmt *st = mw__prepare(rd, "SELECT exectrace_id FROM exectrace_span_index WHERE span_id = ?1 "
                                     "ORDER BY exectrace_id LIMIT ?2");
  if (!st) return MW_EIO;
  sqlite3_bind_blob(st, 1, span_id, 8, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, (int64_t)max);
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) ids[(*n)++] = sqlite3_column_int64(st, 0);
  int rc = step == SQLITE_DONE ? MW_OK : mw__read_failed(rd, step);
  sqlite3_finalize(st);
  return rc;
}

int mw__store_xt_span_table(mw_read *rd, mw_arena *a, int64_t exectrace_id, const uint8_t **ids, size_t *ids_len,
                            const uint8_t **blob, size_t *blob_len, int64_t *start_ns) {
  sqlite3_stmt *st = mw__prepare(rd, "SELECT span_ids, span_table, start_ns FROM exectraces WHERE id = ?1");
  if (!st) return MW_EIO;
  sqlite3_bind_int64(st, 1, exectrace_id);
  int step = sqlite3_step(st), rc = MW_ENOTFOUND;
  if (step == SQLITE_ROW) {
    *ids = mw__col_blob(a, st, 0, ids_len);
    *blob = mw__col_blob(a, st, 1, blob_len);
    *start_ns = sqlite3_column_int64(st, 2);
    rc = *ids && *blob ? MW_OK : MW_ENOMEM;
  } else if (step != SQLITE_DONE) {
    rc = mw__read_failed(rd, step);
  }
  sqlite3_finalize(st);
  return rc;
}

int mw__store_xt_goroutine(mw_read *rd, mw_arena *a, int64_t exectrace_id, uint64_t goroutine, mw_xt_grow *out) {
  sqlite3_stmt *st = mw__prepare(rd, "SELECT exectrace_id, goroutine, first_ns, last_ns, blob FROM "
                                     "exectrace_goroutines WHERE exectrace_id = ?1 AND goroutine = ?2");
  if (!st) return MW_EIO;
  sqlite3_bind_int64(st, 1, exectrace_id);
  sqlite3_bind_int64(st, 2, (int64_t)goroutine);
  mw_xt_grow *rows;
  size_t n;
  int rc = read_grows(rd, a, st, 1, 1, &rows, &n, NULL);
  if (!rc && !n) rc = MW_ENOTFOUND;
  if (!rc) *out = rows[0];
  return rc;
}

int mw__store_xt_window(mw_read *rd, mw_arena *a, int64_t source_id, int64_t from_ns, int64_t to_ns, size_t limit,
                        mw_xt_grow **out, size_t *n, int *more) {
  sqlite3_stmt *st = mw__prepare(rd, "SELECT g.exectrace_id, g.goroutine, g.first_ns, g.last_ns, g.blob "
                                     "FROM exectraces x JOIN exectrace_goroutines g ON g.exectrace_id = x.id "
                                     "WHERE x.source_id = ?1 AND x.start_ns < ?3 AND x.end_ns >= ?2 "
                                     "AND g.first_ns < ?3 AND g.last_ns >= ?2 "
                                     "ORDER BY x.start_ns, x.id, g.goroutine LIMIT ?4");
  if (!st) return MW_EIO;
  sqlite3_bind_int64(st, 1, source_id);
  sqlite3_bind_int64(st, 2, from_ns);
  sqlite3_bind_int64(st, 3, to_ns);
  sqlite3_bind_int64(st, 4, (int64_t)limit + 1);
  return read_grows(rd, a, st, 1, limit, out, n, more);
}

int mw__store_xt_stack(mw_read *rd, mw_arena *a, int64_t exectrace_id, uint32_t local, int64_t *stack_id,
                       const char **frames) {
  sqlite3_stmt *st = mw__prepare(rd, "SELECT m.stack_id, s.frames FROM exectrace_stacks m JOIN stacks s ON "
                                     "s.id = m.stack_id WHERE m.exectrace_id = ?1 AND m.local = ?2");
  if (!st) return MW_EIO;
  sqlite3_bind_int64(st, 1, exectrace_id);
  sqlite3_bind_int64(st, 2, local);
  int step = sqlite3_step(st), rc = MW_ENOTFOUND;
  if (step == SQLITE_ROW) {
    *stack_id = sqlite3_column_int64(st, 0);
    rc = (*frames = mw__col_text(a, st, 1)) ? MW_OK : MW_ENOMEM;
  } else if (step != SQLITE_DONE) {
    rc = mw__read_failed(rd, step);
  }
  sqlite3_finalize(st);
  return rc;
}

int mw__store_span_time(mw_read *rd, const uint8_t trace_id[16], const uint8_t span_id[8], int64_t *start_ns,
                        int64_t *end_ns) {
  mw_arena *a = mw__arena_new((size_t)16 << 20); /* the blocks a lookup opens */
  if (!a) return MW_ENOMEM;
  mw_stored_span sp;
  int rc = mw__store_span_by_id(rd, a, trace_id, span_id, &sp);
  if (!rc) {
    *start_ns = sp.start_ns;
    *end_ns = sp.start_ns + sp.dur_ns;
  }
  mw__arena_free(a);
  return rc;
}

int mw__store_xt_trace_hits(mw_read *rd, mw_arena *a, const uint8_t trace_id[16], size_t per_span, mw_xt_span_hit **out,
                            size_t *n) {
  *out = NULL;
  *n = 0;
  uint8_t(*ids)[8];
  size_t n_ids, cap = 0;
  /* the trace's span ids (old rows and blocks), then one seek of the span index each */
  int rc = mw__store_trace_span_ids(rd, a, trace_id, MW_TRACE_MAX_IDS, &ids, &n_ids);
  if (rc) return rc;
  sqlite3_stmt *st = mw__prepare(rd, MW__XT_BY_SPAN_SQL);
  if (!st) return MW_EIO;
  for (size_t i = 0; i < n_ids && !rc; i++) {
    sqlite3_bind_blob(st, 1, ids[i], 8, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)per_span);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
      if (!(*out = mw__grow(a, *out, *n, &cap, sizeof **out))) {
        rc = MW_ENOMEM;
        break;
      }
      memcpy((*out)[*n].span_id, ids[i], 8);
      (*out)[(*n)++].exectrace_id = sqlite3_column_int64(st, 0);
    }
    if (!rc && step != SQLITE_DONE) rc = mw__read_failed(rd, step);
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  return rc;
}

int mw__store_span_name(mw_read *rd, mw_arena *a, const uint8_t trace_id[16], const uint8_t span_id[8],
                        const char **name, const char **service) {
  mw_stored_span sp;
  int rc = mw__store_span_by_id(rd, a, trace_id, span_id, &sp);
  if (rc) return rc;
  sqlite3_stmt *st = mw__prepare(rd, MW__OP_NAME_SQL);
  if (!st) return MW_EIO;
  sqlite3_bind_int64(st, 1, sp.op_id);
  int step = sqlite3_step(st);
  rc = MW_ENOTFOUND;
  if (step == SQLITE_ROW) {
    *name = mw__col_text(a, st, 0);
    *service = mw__col_text(a, st, 1);
    rc = *name && *service ? MW_OK : MW_ENOMEM;
  } else if (step != SQLITE_DONE) {
    rc = mw__read_failed(rd, step);
  }
  sqlite3_finalize(st);
  return rc;
}

/* Per-minute rollups of runtime data (see minutes.h). */
#include "store/minutes.h"
#include "core/error.h"
#include "core/log.h"
#include "store/conn.h"
#include "store/readers.h"

#include <stdlib.h>
#include <string.h>

/* The columns of a minute after (source_id, minute_ns), in mw_minute order. */
#define MINUTE_COLS                                                                                                    \
  "gc_cycles, gc_cpu_ns, assist_cpu_ns, gc_last_ns, procs, pauses, pause_max_ns, heap_live, heap_live_max, "           \
  "heap_goal, alloc_bytes, alloc_ns, snapshots, goroutines, goroutines_max, goroutines_ns, cap_goroutine, cap_dump, "  \
  "cap_goroutineleak, cap_cpu, cap_heap, cap_allocs, cap_mutex, cap_block, cap_exectrace, triggered, pause_hist"
enum { N_SCALARS = 16 + MW_CAP__N + 1 }; /* the integer columns; pause_hist follows */
_Static_assert(MW_CAP__N == 9, "MINUTE_COLS lists every capture");

/* The columns the sums need of a cycle, read by read_cycle. */
#define GC_COLS                                                                                                        \
  "n, start_ns, stw1_ns, mark_ns, stw2_ns, stw1_cpu_ns, assist_cpu_ns, background_cpu_ns, stw2_cpu_ns, heap_after, "   \
  "heap_live, goal, procs"

static void read_cycle(sqlite3_stmt *st, int c, mw_gc_cycle *g) {
  memset(g, 0, sizeof *g);
  g->n = sqlite3_column_int64(st, c + 0);
  g->start_ns = sqlite3_column_int64(st, c + 1);
  g->stw_sweep_term_ns = sqlite3_column_int64(st, c + 2);
  g->concurrent_mark_ns = sqlite3_column_int64(st, c + 3);
  g->stw_mark_term_ns = sqlite3_column_int64(st, c + 4);
  g->stw1_cpu_ns = sqlite3_column_int64(st, c + 5);
  g->assist_cpu_ns = sqlite3_column_int64(st, c + 6);
  g->background_cpu_ns = sqlite3_column_int64(st, c + 7);
  g->stw2_cpu_ns = sqlite3_column_int64(st, c + 8);
  g->heap_after = sqlite3_column_int64(st, c + 9);
  g->heap_live = sqlite3_column_int64(st, c + 10);
  g->goal = sqlite3_column_int64(st, c + 11);
  g->procs = sqlite3_column_int(st, c + 12);
}

static int64_t *scalar(mw_minute *m, int i) {
  int64_t *v[N_SCALARS] = {&m->gc_cycles,     &m->gc_cpu_ns,  &m->assist_cpu_ns,  &m->gc_last_ns,
                           &m->procs,         &m->pauses,     &m->pause_max_ns,   &m->heap_live,
                           &m->heap_live_max, &m->heap_goal,  &m->alloc_bytes,    &m->alloc_ns,
                           &m->snapshots,     &m->goroutines, &m->goroutines_max, &m->goroutines_ns};
  if (i < 16) return v[i];
  if (i < 16 + MW_CAP__N) return &m->captures[i - 16];
  return &m->triggered;
}

/* A minute's sums from columns c.. of a row (MINUTE_COLS); the histogram's blob in *blob. */
static void read_minute(sqlite3_stmt *st, int c, mw_minute *m, const void **blob, int *len) {
  for (int i = 0; i < N_SCALARS; i++) *scalar(m, i) = sqlite3_column_int64(st, c + i);
  *blob = sqlite3_column_blob(st, c + N_SCALARS);
  *len = sqlite3_column_bytes(st, c + N_SCALARS);
}

int mw__minutes_prepare(sqlite3 *db, mw__minutes_stmts *s, unsigned flags) {
  memset(s, 0, sizeof *s);
  if (sqlite3_prepare_v3(db, "SELECT " MINUTE_COLS " FROM runtime_minutes WHERE source_id = ?1 AND minute_ns = ?2", -1,
                         flags, &s->get, NULL) != SQLITE_OK ||
      sqlite3_prepare_v3(db,
                         "INSERT OR REPLACE INTO runtime_minutes (source_id, minute_ns, " MINUTE_COLS
                         ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
                         "?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29)",
                         -1, flags, &s->put, NULL) != SQLITE_OK ||
      sqlite3_prepare_v3(db,
                         "SELECT " GC_COLS " FROM gc_cycles WHERE source_id = ?1 AND start_ns < ?2 "
                         "ORDER BY start_ns DESC LIMIT 1",
                         -1, flags, &s->prev_gc, NULL) != SQLITE_OK) {
    mw__error("cannot prepare a runtime_minutes statement", "err=\"%s\"", sqlite3_errmsg(db));
    mw__minutes_finalize(s);
    return MW_EIO;
  }
  return MW_OK;
}

void mw__minutes_finalize(mw__minutes_stmts *s) {
  sqlite3_finalize(s->get);
  sqlite3_finalize(s->put);
  sqlite3_finalize(s->prev_gc);
  memset(s, 0, sizeof *s);
}

int mw__minutes_put(sqlite3 *db, mw__minutes_stmts *s, int64_t source_id, const mw_minute *m) {
  mw_minute row = {.time_ns = m->time_ns};
  uint32_t hist[MW_PH_KEYS];
  memset(hist, 0, sizeof hist);
  sqlite3_bind_int64(s->get, 1, source_id);
  sqlite3_bind_int64(s->get, 2, m->time_ns);
  int step = sqlite3_step(s->get);
  if (step == SQLITE_ROW) {
    const void *blob;
    int len;
    read_minute(s->get, 0, &row, &blob, &len);
    mw__ph_add(hist, blob, (size_t)len);
  }
  sqlite3_reset(s->get);
  if (step != SQLITE_ROW && step != SQLITE_DONE) {
    mw__error("reading a runtime minute failed", "err=\"%s\"", sqlite3_errmsg(db));
    return MW_EIO;
  }
  mw__minute_merge(&row, m);
  if (m->hist)
    for (int k = 0; k < MW_PH_KEYS; k++) hist[k] += m->hist[k];
  uint8_t blob[MW_PH_KEYS * 6];
  size_t len = mw__ph_encode(hist, blob, sizeof blob);
  sqlite3_bind_int64(s->put, 1, source_id);
  sqlite3_bind_int64(s->put, 2, m->time_ns);
  for (int i = 0; i < N_SCALARS; i++) sqlite3_bind_int64(s->put, 3 + i, *scalar(&row, i));
  if (len) sqlite3_bind_blob(s->put, 3 + N_SCALARS, blob, (int)len, SQLITE_TRANSIENT);
  else sqlite3_bind_null(s->put, 3 + N_SCALARS);
  step = sqlite3_step(s->put);
  sqlite3_reset(s->put);
  if (step != SQLITE_DONE) {
    mw__error("writing a runtime minute failed", "err=\"%s\"", sqlite3_errmsg(db));
    return MW_EIO;
  }
  return MW_OK;
}

int mw__minutes_prev_cycle(sqlite3 *db, mw__minutes_stmts *s, int64_t source_id, int64_t before_ns, mw_gc_cycle *out) {
  sqlite3_bind_int64(s->prev_gc, 1, source_id);
  sqlite3_bind_int64(s->prev_gc, 2, before_ns);
  int step = sqlite3_step(s->prev_gc);
  if (step == SQLITE_ROW) read_cycle(s->prev_gc, 0, out);
  sqlite3_reset(s->prev_gc);
  if (step != SQLITE_ROW && step != SQLITE_DONE) {
    mw__error("reading the previous GC cycle failed", "err=\"%s\"", sqlite3_errmsg(db));
    return MW_EIO;
  }
  return step == SQLITE_ROW;
}

static int64_t minute_of(int64_t t) {
  int64_t m = t / MW_MINUTE_NS * MW_MINUTE_NS;
  return m > t ? m - MW_MINUTE_NS : m; /* floor for times before 1970 too */
}

int mw__minutes_flush(mw__minutes_acc *p) {
  if (!p->open) return MW_OK;
  p->open = 0;
  p->made++;
  return mw__minutes_put(p->db, p->s, p->source_id, &p->cur);
}

int mw__minutes_at(mw__minutes_acc *p, int64_t t) {
  int64_t m = minute_of(t);
  if (p->open && p->cur.time_ns == m) return MW_OK;
  int rc = mw__minutes_flush(p);
  memset(&p->cur, 0, sizeof p->cur);
  if (p->hist) memset(p->hist, 0, MW_PH_KEYS * sizeof *p->hist);
  p->cur.time_ns = m;
  p->cur.hist = p->hist;
  p->open = 1;
  return rc;
}

int mw__minutes_rebuild(sqlite3 *db, int64_t source_id, int64_t lo, int64_t hi) {
  lo = minute_of(lo);
  hi = hi > INT64_MAX - MW_MINUTE_NS ? INT64_MAX : minute_of(hi - 1) + MW_MINUTE_NS;
  mw__minutes_stmts s;
  if (mw__minutes_prepare(db, &s, 0)) return MW_EIO;
  uint32_t *hist = calloc(MW_PH_KEYS, sizeof *hist);
  sqlite3_stmt *del = NULL, *gc = NULL, *snap = NULL, *xt = NULL;
  int rc = hist ? MW_EIO : MW_ENOMEM;
  if (!hist) goto out;
  if (sqlite3_prepare_v2(db, "DELETE FROM runtime_minutes WHERE source_id = ?1 AND minute_ns >= ?2 AND minute_ns < ?3",
                         -1, &del, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(db,
                         "SELECT " GC_COLS " FROM gc_cycles WHERE source_id = ?1 AND start_ns >= ?2 AND "
                         "start_ns < ?3 ORDER BY start_ns",
                         -1, &gc, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(db,
                         "SELECT kind, format, at_ns, total, json_extract(meta, '$.trigger') IS NOT NULL FROM "
                         "snapshots WHERE source_id = ?1 AND at_ns >= ?2 AND at_ns < ?3 ORDER BY at_ns",
                         -1, &snap, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(db,
                         "SELECT start_ns, trigger IS NOT NULL FROM exectraces WHERE source_id = ?1 AND "
                         "start_ns >= ?2 AND start_ns < ?3 ORDER BY start_ns",
                         -1, &xt, NULL) != SQLITE_OK) {
    mw__error("cannot prepare a rebuild of runtime minutes", "err=\"%s\"", sqlite3_errmsg(db));
    goto out;
  }
  sqlite3_stmt *all[] = {del, gc, snap, xt};
  for (size_t i = 0; i < 4; i++) {
    sqlite3_bind_int64(all[i], 1, source_id);
    sqlite3_bind_int64(all[i], 2, lo);
    sqlite3_bind_int64(all[i], 3, hi);
  }
  if (sqlite3_step(del) != SQLITE_DONE) goto out;
  rc = MW_OK;
  mw__minutes_acc p = {.db = db, .s = &s, .source_id = source_id, .hist = hist};
  /* cycles, with the one before the range as the first one's predecessor */
  mw_gc_cycle prev, g;
  int has_prev = mw__minutes_prev_cycle(db, &s, source_id, lo, &prev), step;
  if (has_prev < 0) rc = MW_EIO;
  while (!rc && (step = sqlite3_step(gc)) == SQLITE_ROW) {
    read_cycle(gc, 0, &g);
    if (!(rc = mw__minutes_at(&p, g.start_ns))) mw__minute_add_cycle(&p.cur, &g, has_prev ? &prev : NULL);
    prev = g, has_prev = 1;
  }
  if (!rc && step != SQLITE_DONE) rc = MW_EIO;
  if (!rc) rc = mw__minutes_flush(&p);
  p.hist = NULL; /* the histograms are all in */
  while (!rc && (step = sqlite3_step(snap)) == SQLITE_ROW) {
    int64_t t = sqlite3_column_int64(snap, 2);
    if (!(rc = mw__minutes_at(&p, t)))
      mw__minute_add_snapshot(&p.cur, (const char *)sqlite3_column_text(snap, 0),
                              (const char *)sqlite3_column_text(snap, 1), t, sqlite3_column_int64(snap, 3),
                              sqlite3_column_int(snap, 4));
  }
  if (!rc && step != SQLITE_DONE) rc = MW_EIO;
  if (!rc) rc = mw__minutes_flush(&p);
  while (!rc && (step = sqlite3_step(xt)) == SQLITE_ROW)
    if (!(rc = mw__minutes_at(&p, sqlite3_column_int64(xt, 0))))
      mw__minute_add_exectrace(&p.cur, sqlite3_column_int(xt, 1));
  if (!rc && step != SQLITE_DONE) rc = MW_EIO;
  if (!rc) rc = mw__minutes_flush(&p);
  if (rc == MW_EIO) mw__error("rebuilding runtime minutes failed", "err=\"%s\"", sqlite3_errmsg(db));
out:
  sqlite3_finalize(del);
  sqlite3_finalize(gc);
  sqlite3_finalize(snap);
  sqlite3_finalize(xt);
  mw__minutes_finalize(&s);
  free(hist);
  return rc;
}

int mw__minutes_backfill(sqlite3 *db, int64_t *minutes) {
  *minutes = 0;
  sqlite3_stmt *src;
  if (sqlite3_prepare_v2(db, "SELECT id FROM sources ORDER BY id", -1, &src, NULL) != SQLITE_OK) return MW_EIO;
  int64_t *ids = NULL;
  size_t n = 0, cap = 0;
  int rc = MW_OK;
  while (sqlite3_step(src) == SQLITE_ROW) {
    if (n == cap) {
      int64_t *v = realloc(ids, (cap = cap ? 2 * cap : 64) * sizeof *v);
      if (!v) {
        rc = MW_ENOMEM;
        break;
      }
      ids = v;
    }
    ids[n++] = sqlite3_column_int64(src, 0);
  }
  sqlite3_finalize(src);
  for (size_t i = 0; i < n && !rc; i++) rc = mw__minutes_rebuild(db, ids[i], INT64_MIN + MW_MINUTE_NS, INT64_MAX);
  free(ids);
  if (!rc) *minutes = mw__sql_int(db, "SELECT count(*) FROM runtime_minutes");
  return rc;
}

/* --- reading ------------------------------------------------------------------ */

int mw__store_minutes(mw_read *r, mw_arena *a, int64_t source_id, int64_t start_ns, int64_t end_ns, size_t limit,
                      mw_minute_row **out, size_t *n, int *more) {
  *out = NULL;
  *n = 0;
  *more = 0;
  size_t cap = 0;
  int rc = MW_OK;
  sqlite3_stmt *st = mw__prepare(r, "SELECT minute_ns, " MINUTE_COLS " FROM runtime_minutes WHERE source_id = ?1 "
                                    "AND minute_ns >= ?2 AND minute_ns < ?3 ORDER BY minute_ns LIMIT ?4");
  if (!st) return MW_EIO;
  sqlite3_bind_int64(st, 1, source_id);
  sqlite3_bind_int64(st, 2, start_ns);
  sqlite3_bind_int64(st, 3, end_ns);
  sqlite3_bind_int64(st, 4, (int64_t)limit + 1);
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == limit) {
      *more = 1;
      break;
    }
    if (!(*out = mw__grow(a, *out, *n, &cap, sizeof **out))) {
      rc = MW_ENOMEM;
      break;
    }
    mw_minute_row *row = &(*out)[(*n)++];
    memset(row, 0, sizeof *row);
    row->m.time_ns = sqlite3_column_int64(st, 0);
    const void *blob;
    int len;
    read_minute(st, 1, &row->m, &blob, &len);
    if (len > 0) {
      uint8_t *copy = mw__arena_alloc(a, (size_t)len);
      if (!copy) {
        rc = MW_ENOMEM;
        break;
      }
      memcpy(copy, blob, (size_t)len);
      row->hist = copy;
      row->hist_len = (size_t)len;
    }
  }
  if (!rc && step != SQLITE_ROW && step != SQLITE_DONE) rc = mw__read_failed(r, step);
  sqlite3_finalize(st);
  return rc;
}

static int count_capped(mw_read *r, const char *sql, int64_t source_id, int64_t start_ns, int64_t end_ns, int64_t cap,
                        int64_t *out) {
  sqlite3_stmt *st = mw__prepare(r, sql);
  if (!st) return MW_EIO;
  sqlite3_bind_int64(st, 1, source_id);
  sqlite3_bind_int64(st, 2, start_ns);
  sqlite3_bind_int64(st, 3, end_ns);
  sqlite3_bind_int64(st, 4, cap + 1);
  int step = sqlite3_step(st), rc = MW_OK;
  if (step == SQLITE_ROW) *out = sqlite3_column_int64(st, 0);
  else rc = mw__read_failed(r, step);
  sqlite3_finalize(st);
  return rc;
}

int mw__store_raw_counts(mw_read *r, int64_t source_id, int64_t start_ns, int64_t end_ns, int64_t cap, int64_t *cycles,
                         int64_t *snapshots) {
  int rc = count_capped(r,
                        "SELECT count(*) FROM (SELECT 1 FROM gc_cycles WHERE source_id = ?1 AND start_ns >= ?2 AND "
                        "start_ns < ?3 LIMIT ?4)",
                        source_id, start_ns, end_ns, cap, cycles);
  if (!rc)
    rc = count_capped(r,
                      "SELECT count(*) FROM (SELECT 1 FROM snapshots WHERE source_id = ?1 AND at_ns >= ?2 AND "
                      "at_ns < ?3 LIMIT ?4)",
                      source_id, start_ns, end_ns, cap, snapshots);
  return rc;
}

int mw__store_gc_span(mw_read *r, int64_t source_id, int64_t start_ns, int64_t end_ns, int64_t *first, int64_t *last) {
  static const char *const sql[2] = {
      "SELECT start_ns FROM gc_cycles WHERE source_id = ?1 AND start_ns >= ?2 AND start_ns < ?3 ORDER BY start_ns "
      "LIMIT 1",
      "SELECT start_ns FROM gc_cycles WHERE source_id = ?1 AND start_ns >= ?2 AND start_ns < ?3 ORDER BY start_ns "
      "DESC LIMIT 1"};
  int64_t *out[2] = {first, last};
  for (int i = 0; i < 2; i++) {
    sqlite3_stmt *st = mw__prepare(r, sql[i]);
    if (!st) return MW_EIO;
    sqlite3_bind_int64(st, 1, source_id);
    sqlite3_bind_int64(st, 2, start_ns);
    sqlite3_bind_int64(st, 3, end_ns);
    int step = sqlite3_step(st), rc = MW_OK;
    if (step == SQLITE_ROW) *out[i] = sqlite3_column_int64(st, 0);
    else rc = step == SQLITE_DONE ? MW_ENOTFOUND : mw__read_failed(r, step);
    sqlite3_finalize(st);
    if (rc) return rc;
  }
  return MW_OK;
}

int mw__store_gc_before(mw_read *r, int64_t source_id, int64_t before_ns, mw_gc_cycle *out) {
  sqlite3_stmt *st = mw__prepare(r, "SELECT " GC_COLS " FROM gc_cycles WHERE source_id = ?1 AND start_ns < ?2 "
                                    "ORDER BY start_ns DESC LIMIT 1");
  if (!st) return MW_EIO;
  sqlite3_bind_int64(st, 1, source_id);
  sqlite3_bind_int64(st, 2, before_ns);
  int step = sqlite3_step(st), rc = 0;
  if (step == SQLITE_ROW) read_cycle(st, 0, out), rc = 1;
  else if (step != SQLITE_DONE) rc = mw__read_failed(r, step);
  sqlite3_finalize(st);
  return rc;
}

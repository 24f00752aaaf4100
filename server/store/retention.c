/* Retention: old data goes in small batches, each its own transaction, run
 * by the writer between group commits (or when it is idle), so that deleting
 * never holds up ingest for more than one batch. Space is returned to the
 * file system with incremental vacuum (new databases are created with
 * auto_vacuum=INCREMENTAL).
 *
 * What is old: older than --retention; and, while the database is over
 * --max-db-size, also the oldest 5% of the time it covers, pass after pass.
 * An execution trace goes whole, with its goroutines and span index. The
 * runtime minutes (0007_runtime_minutes.sql) go with the rows they sum up:
 * a minute that began before the cutoff goes.
 * Stacks are kept (they are shared and small), and sources (runtime data
 * and source links name them). An operation goes with its last span, so
 * that listings show only what has spans; the writer is told, as it caches
 * operation ids.
 *
 * Spans in blocks (docs/STORAGE-WIRING.md §4): a block goes whole once its
 * newest span ended before the cutoff (mw__bw_delete: its slow_spans rows,
 * its block_ops rows, the block), at most 8 a batch, each charged to the
 * batch's rows budget for the rows and pages it frees. The trace runs that
 * ended before the cutoff are dropped once a pass (lookups stop reading them
 * at once) and their entries deleted a bounded step a batch. Open blocks
 * (span_tail) are never touched: they are newer than any age cutoff. */
#include "store/retention.h"
#include "core/error.h"
#include "core/log.h"
#include "core/timefmt.h"
#include "store/block_write.h"
#include "store/conn.h"
#include "store/trace_runs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows one batch may delete, all tables together. Small enough that a batch
 * takes a few milliseconds, so that ingest waits for at most that. */
enum { BATCH_ROWS = 1000, SNAPSHOTS_PER_BATCH = 20, EXECTRACES_PER_BATCH = 2, VACUUM_PAGES = 512 };
/* Blocks one batch may delete (a block of 1,024 spans frees ~1 row, ~10
 * block_ops rows, ~400 slow_spans rows and ~10 pages of data), and entries
 * of dropped trace runs (~20 bytes each) deleted a batch. */
enum { BLOCKS_PER_BATCH = 8, RUN_ENTRIES_PER_BATCH = 5000, PAGE_BYTES = 4096 };

/* Retention runs every every_ns (a minute by default), and batch after
 * batch while work remains. */
static int64_t every(const mw__retention *r) { return r->every_ns > 0 ? r->every_ns : 60LL * 1000000000; }

void mw__retention_init(mw__retention *r, int64_t keep_ns, int64_t every_ns, uint64_t max_db_bytes) {
  r->keep_ns = keep_ns;
  r->every_ns = every_ns;
  r->max_db_bytes = max_db_bytes;
  r->last_ns = mw__mono_ns() - every(r); /* a first pass soon after start */
}

void mw__retention_use(mw__retention *r, mw__bw *bw, mw__truns_w *runs) {
  r->bw = bw;
  r->runs = runs;
}

int mw__retention_due(const mw__retention *r) {
  if (!r->keep_ns && !r->max_db_bytes) return 0;
  return r->more || mw__mono_ns() - r->last_ns >= every(r);
}

/* The cutoff this pass: the age limit, moved later while over the size limit. */
static int64_t cutoff(const mw__retention *r, sqlite3 *db) {
  int64_t c = r->keep_ns > 0 ? mw__now_ns() - r->keep_ns : INT64_MIN;
  if (!r->max_db_bytes || mw__store_used_bytes(db) <= r->max_db_bytes) return c;
  int64_t oldest = mw__sql_int(db, "SELECT min(first_ns) FROM sources"),
          newest = mw__sql_int(db, "SELECT max(last_ns) FROM sources");
  if (oldest <= 0 || newest <= oldest) return c;
  int64_t by_size = oldest + (newest - oldest) / 20;
  return by_size > c ? by_size : c;
}

/* Deletes up to *budget rows of one statement's selection; returns 0 or an error. */
static int delete_some(sqlite3 *db, const char *sql, int64_t source, int64_t before, int64_t *budget, int *more) {
  if (*budget <= 0) {
    *more = 1;
    return MW_OK;
  }
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return MW_EIO;
  sqlite3_bind_int64(st, 1, source);
  sqlite3_bind_int64(st, 2, before);
  sqlite3_bind_int64(st, 3, *budget);
  int rc = sqlite3_step(st) == SQLITE_DONE ? MW_OK : MW_EIO;
  sqlite3_finalize(st);
  int64_t n = sqlite3_changes(db);
  *budget -= n;
  if (*budget <= 0) *more = 1;
  return rc;
}

/* An operation goes with its last span: none left in old rows or blocks, and
 * none counted elsewhere (span_count also counts the spans of open blocks,
 * which are in span_tail only until their seal). */
#define DEL_OP_SQL                                                                                                     \
  ("DELETE FROM operations WHERE id = ?1 AND span_count <= 0 "                                                         \
   "AND NOT EXISTS (SELECT 1 FROM spans INDEXED BY spans_by_op WHERE op_id = ?1) "                                     \
   "AND NOT EXISTS (SELECT 1 FROM block_ops INDEXED BY block_ops_by_op WHERE op_id = ?1)")

#define BLOCKS_SQL                                                                                                     \
  ("SELECT id, length(data) FROM span_blocks WHERE source_id = ?1 AND first_ns < ?2 AND last_ns < ?2 "                 \
   "ORDER BY first_ns LIMIT ?3")

const char *const mw__retention_sql[] = {DEL_OP_SQL, BLOCKS_SQL};
const size_t mw__retention_sql_count = sizeof mw__retention_sql / sizeof *mw__retention_sql;

/* Lowers an operation's span count by n and deletes the operation when no
 * span of it is left; *gone counts deletions. */
static int lower_op(sqlite3 *db, sqlite3_stmt *dec, sqlite3_stmt *del, int64_t op, int64_t n, int *gone) {
  sqlite3_bind_int64(dec, 1, op);
  sqlite3_bind_int64(dec, 2, n);
  int ok = sqlite3_step(dec) == SQLITE_DONE;
  sqlite3_reset(dec);
  sqlite3_bind_int64(del, 1, op);
  ok = ok && sqlite3_step(del) == SQLITE_DONE;
  sqlite3_reset(del);
  if (ok && sqlite3_changes(db) > 0) (*gone)++;
  return ok ? MW_OK : MW_EIO;
}

/* Spans go one by one by rowid; each operation's count is lowered once per
 * batch by the number of its spans that went. */
static int delete_spans(sqlite3 *db, int64_t source, int64_t before, int64_t *budget, int *more, int *ops_gone) {
  sqlite3_stmt *sel = NULL, *del = NULL, *del_slow = NULL, *dec = NULL, *del_op = NULL;
  int rc = MW_EIO, gone = 0;
  struct {
    int64_t op, n;
  } ops[64];
  size_t n_ops = 0;
  if (sqlite3_prepare_v2(db, "SELECT rowid, op_id, dur_ns FROM spans WHERE source_id = ?1 AND start_ns < ?2 LIMIT ?3",
                         -1, &sel, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(db, "DELETE FROM spans WHERE rowid = ?1", -1, &del, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(db, "DELETE FROM slow_spans WHERE op_id = ?1 AND dur_ns = ?2 AND span_rowid = ?3", -1,
                         &del_slow, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(db, "UPDATE operations SET span_count = span_count - ?2 WHERE id = ?1", -1, &dec, NULL) !=
          SQLITE_OK ||
      sqlite3_prepare_v2(db, DEL_OP_SQL, -1, &del_op, NULL) != SQLITE_OK)
    goto out;
  rc = MW_OK;
  sqlite3_bind_int64(sel, 1, source);
  sqlite3_bind_int64(sel, 2, before);
  sqlite3_bind_int64(sel, 3, *budget + 1);
  int64_t n = 0;
  while (!rc && sqlite3_step(sel) == SQLITE_ROW) {
    if (n == *budget) {
      *more = 1;
      break;
    }
    int64_t rowid = sqlite3_column_int64(sel, 0), op = sqlite3_column_int64(sel, 1);
    sqlite3_bind_int64(del, 1, rowid);
    if (sqlite3_step(del) != SQLITE_DONE) rc = MW_EIO;
    sqlite3_reset(del);
    /* its entry among the slow spans, if it was one (0004_slow_spans.sql) */
    sqlite3_bind_int64(del_slow, 1, op);
    sqlite3_bind_int64(del_slow, 2, sqlite3_column_int64(sel, 2));
    sqlite3_bind_int64(del_slow, 3, rowid);
    if (!rc && sqlite3_step(del_slow) != SQLITE_DONE) rc = MW_EIO;
    sqlite3_reset(del_slow);
    size_t k = 0;
    while (k < n_ops && ops[k].op != op) k++;
    if (k == n_ops && n_ops < sizeof ops / sizeof ops[0]) ops[n_ops++].op = op, ops[k].n = 0;
    if (k < n_ops) ops[k].n++;
    else if (!rc) rc = lower_op(db, dec, del_op, op, 1, &gone); /* more operations than the tally holds */
    n++;
  }
  for (size_t k = 0; !rc && k < n_ops; k++) rc = lower_op(db, dec, del_op, ops[k].op, ops[k].n, &gone);
  *budget -= n;
  /* the writer caches operation ids: one that is gone must be created anew */
  if (gone) *ops_gone = 1;
out:
  sqlite3_finalize(sel);
  sqlite3_finalize(del);
  sqlite3_finalize(del_slow);
  sqlite3_finalize(dec);
  sqlite3_finalize(del_op);
  return rc;
}

/* The writer's handles, or this batch's own (opened when first needed,
 * closed at the batch's end). */
typedef struct handles {
  sqlite3 *db;
  mw__bw *bw;
  mw__truns_w *runs;
  int own_bw, own_runs;
} handles;

static int get_bw(handles *h, mw__bw **out) {
  if (!h->bw) {
    int rc = mw__bw_open(h->db, &h->bw);
    if (rc) return rc;
    h->own_bw = 1;
  }
  *out = h->bw;
  return MW_OK;
}

static int get_runs(handles *h, mw__truns_w **out) {
  if (!h->runs) {
    int rc = mw__truns_w_open(h->db, &h->runs);
    if (rc) return rc;
    h->own_runs = 1;
  }
  *out = h->runs;
  return MW_OK;
}

static void handles_close(handles *h) {
  if (h->own_bw) mw__bw_close(h->bw);
  if (h->own_runs) mw__truns_w_close(h->runs);
}

/* The operations of one deleted block and their span counts (mw__bw_delete's
 * each_op): lowered once the block's block_ops rows are gone, so that the
 * operation's NOT EXISTS sees them gone. */
typedef struct op_tally {
  struct {
    int64_t op, n;
  } * v;
  size_t n, cap;
} op_tally;

static int tally_op(void *user, int64_t op, int64_t n) {
  op_tally *t = user;
  if (t->n == t->cap) {
    size_t cap = t->cap ? 2 * t->cap : 64;
    void *v = realloc(t->v, cap * sizeof *t->v);
    if (!v) return MW_ENOMEM;
    t->v = v;
    t->cap = cap;
  }
  t->v[t->n].op = op;
  t->v[t->n++].n = n;
  return MW_OK;
}

/* Whole blocks of a source whose newest span ended before the cutoff, oldest
 * first, while the batch's budget and *blocks_left (BLOCKS_PER_BATCH, for all
 * sources) last. A block is charged the rows and data pages it frees (its
 * slow_spans and block_ops rows, its row, its data / 4 KB); it is never split,
 * so the budget may end below 0 by one block. The seek stays bounded:
 * last_ns >= first_ns, so only blocks that began before the cutoff are read
 * (span_blocks_by_source). */
static int delete_blocks(handles *h, int64_t source, int64_t before, int64_t *budget, int *blocks_left, int *more,
                         int *ops_gone) {
  sqlite3 *db = h->db;
  if (*budget <= 0 || *blocks_left <= 0) {
    *more = 1;
    return MW_OK;
  }
  sqlite3_stmt *sel = NULL, *dec = NULL, *del_op = NULL;
  int64_t ids[BLOCKS_PER_BATCH + 1], pages[BLOCKS_PER_BATCH + 1];
  int n = 0, rc = MW_EIO, gone = 0;
  op_tally t = {0};
  if (sqlite3_prepare_v2(db, BLOCKS_SQL, -1, &sel, NULL) != SQLITE_OK) goto out;
  sqlite3_bind_int64(sel, 1, source);
  sqlite3_bind_int64(sel, 2, before);
  sqlite3_bind_int64(sel, 3, *blocks_left + 1);
  int step;
  while ((step = sqlite3_step(sel)) == SQLITE_ROW && n <= *blocks_left) {
    ids[n] = sqlite3_column_int64(sel, 0);
    pages[n++] = sqlite3_column_int64(sel, 1) / PAGE_BYTES;
  }
  rc = step == SQLITE_ROW || step == SQLITE_DONE ? MW_OK : mw__sql_err(db);
  sqlite3_finalize(sel);
  sel = NULL;
  if (rc || !n) goto out;
  if (n > *blocks_left) *more = 1, n = *blocks_left;
  mw__bw *bw;
  if ((rc = get_bw(h, &bw))) goto out;
  rc = MW_EIO;
  if (sqlite3_prepare_v2(db, "UPDATE operations SET span_count = span_count - ?2 WHERE id = ?1", -1, &dec, NULL) !=
          SQLITE_OK ||
      sqlite3_prepare_v2(db, DEL_OP_SQL, -1, &del_op, NULL) != SQLITE_OK)
    goto out;
  rc = MW_OK;
  int i = 0;
  for (; !rc && i < n; i++, --*blocks_left) {
    if (*budget <= 0) break;
    size_t slow = 0;
    t.n = 0;
    rc = mw__bw_delete(bw, ids[i], tally_op, &t, &slow);
    if (rc == MW_ENOTFOUND) rc = MW_OK; /* (cannot happen: selected in this transaction) */
    for (size_t k = 0; k < t.n && !rc; k++) rc = lower_op(db, dec, del_op, t.v[k].op, t.v[k].n, &gone);
    *budget -= 1 + (int64_t)t.n + (int64_t)slow + pages[i];
  }
  if (i < n || *budget <= 0) *more = 1;
  if (gone) *ops_gone = 1;
out:
  free(t.v);
  sqlite3_finalize(sel);
  sqlite3_finalize(dec);
  sqlite3_finalize(del_op);
  return rc;
}

/* Trace runs: those that ended before the cutoff are dropped at a pass's
 * first batch; every batch then deletes about RUN_ENTRIES_PER_BATCH entries
 * of dropped runs, run after run (*more while some are left). *deleted
 * counts them. A maintain step with a dropped run left only deletes (the
 * budget is at least 64: a step may go that far past it). */
static int trim_runs(handles *h, int64_t before, int first, int *more, int64_t *deleted) {
  int64_t any = mw__sql_int(h->db, "SELECT EXISTS (SELECT 1 FROM trace_run_list)");
  if (any < 0) return MW_EIO;
  if (!any) return MW_OK;
  mw__truns_w *runs;
  int rc = get_runs(h, &runs);
  size_t n = 0;
  if (!rc && first) rc = mw__truns_drop_before(runs, before, &n);
  if (rc) return rc;
  int64_t dead = mw__sql_int(h->db, "SELECT EXISTS (SELECT 1 FROM trace_run_list WHERE level < 0)");
  if (dead < 0) return MW_EIO;
  if (!dead) return MW_OK;
  /* with a dropped run, the step deletes its entries (and never merges) */
  const mw__truns_merge_opts o = {
      .level = 0, .before_ns = INT64_MIN, .min_runs = 2, .max_runs = 2, .budget = RUN_ENTRIES_PER_BATCH};
  size_t done = 0; /* a step deletes from one run: the next run's, while the budget lasts */
  while (dead && done < RUN_ENTRIES_PER_BATCH) {
    size_t work = 0;
    mw__truns_merge_opts step = o;
    step.budget = RUN_ENTRIES_PER_BATCH - done;
    if ((rc = mw__truns_maintain(runs, &step, &work))) return rc;
    done += work ? work : RUN_ENTRIES_PER_BATCH;
    dead = mw__sql_int(h->db, "SELECT EXISTS (SELECT 1 FROM trace_run_list WHERE level < 0)");
    if (dead < 0) return MW_EIO;
  }
  *deleted += (int64_t)done;
  if (dead) *more = 1;
  return MW_OK;
}

static int delete_snapshots(sqlite3 *db, int64_t source, int64_t before, int64_t *budget, int *more) {
  sqlite3_stmt *sel;
  if (sqlite3_prepare_v2(db, "SELECT id FROM snapshots WHERE source_id = ?1 AND at_ns < ?2 LIMIT ?3", -1, &sel, NULL) !=
      SQLITE_OK)
    return MW_EIO;
  sqlite3_bind_int64(sel, 1, source);
  sqlite3_bind_int64(sel, 2, before);
  sqlite3_bind_int64(sel, 3, SNAPSHOTS_PER_BATCH + 1);
  int64_t ids[SNAPSHOTS_PER_BATCH + 1];
  int n = 0;
  while (sqlite3_step(sel) == SQLITE_ROW && n <= SNAPSHOTS_PER_BATCH) ids[n++] = sqlite3_column_int64(sel, 0);
  sqlite3_finalize(sel);
  if (n > SNAPSHOTS_PER_BATCH) *more = 1, n = SNAPSHOTS_PER_BATCH;
  static const char *const sql[] = {"DELETE FROM goroutine_groups WHERE snapshot_id = ?1",
                                    "DELETE FROM profile_samples WHERE snapshot_id = ?1",
                                    "DELETE FROM snapshots WHERE id = ?1"};
  for (int i = 0; i<n && * budget> 0; i++) {
    for (size_t k = 0; k < 3; k++) {
      sqlite3_stmt *st;
      if (sqlite3_prepare_v2(db, sql[k], -1, &st, NULL) != SQLITE_OK) return MW_EIO;
      sqlite3_bind_int64(st, 1, ids[i]);
      int ok = sqlite3_step(st) == SQLITE_DONE;
      sqlite3_finalize(st);
      if (!ok) return MW_EIO;
      *budget -= sqlite3_changes(db);
    }
    if (*budget <= 0 && i + 1 < n) *more = 1;
  }
  return MW_OK;
}

/* A trace's entries in the span index: one per span id it lists (the ids
 * are 8 bytes each, as the writer stored them). */
static int delete_span_index(sqlite3 *db, int64_t id, int64_t *budget) {
  sqlite3_stmt *sel = NULL, *del = NULL;
  int rc = MW_EIO;
  if (sqlite3_prepare_v2(db, "SELECT span_ids FROM exectraces WHERE id = ?1", -1, &sel, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(db, "DELETE FROM exectrace_span_index WHERE span_id = ?1 AND exectrace_id = ?2", -1, &del,
                         NULL) != SQLITE_OK)
    goto out;
  sqlite3_bind_int64(sel, 1, id);
  rc = MW_OK;
  if (sqlite3_step(sel) == SQLITE_ROW) {
    const uint8_t *ids = sqlite3_column_blob(sel, 0);
    size_t n = (size_t)sqlite3_column_bytes(sel, 0) / 8;
    for (size_t k = 0; k < n && !rc; k++) {
      sqlite3_bind_blob(del, 1, ids + 8 * k, 8, SQLITE_STATIC);
      sqlite3_bind_int64(del, 2, id);
      if (sqlite3_step(del) != SQLITE_DONE) rc = MW_EIO;
      sqlite3_reset(del);
      *budget -= sqlite3_changes(db);
    }
  }
out:
  sqlite3_finalize(sel);
  sqlite3_finalize(del);
  return rc;
}

/* Execution traces go whole: their goroutines' blobs, stack and span maps
 * and span index with them, a few per batch (a trace's rows are many). */
static int delete_exectraces(sqlite3 *db, int64_t source, int64_t before, int64_t *budget, int *more) {
  sqlite3_stmt *sel;
  if (sqlite3_prepare_v2(db, "SELECT id FROM exectraces WHERE source_id = ?1 AND start_ns < ?2 LIMIT ?3", -1, &sel,
                         NULL) != SQLITE_OK)
    return MW_EIO;
  sqlite3_bind_int64(sel, 1, source);
  sqlite3_bind_int64(sel, 2, before);
  sqlite3_bind_int64(sel, 3, EXECTRACES_PER_BATCH + 1);
  int64_t ids[EXECTRACES_PER_BATCH + 1];
  int n = 0;
  while (n <= EXECTRACES_PER_BATCH && sqlite3_step(sel) == SQLITE_ROW) ids[n++] = sqlite3_column_int64(sel, 0);
  sqlite3_finalize(sel);
  if (n > EXECTRACES_PER_BATCH) *more = 1, n = EXECTRACES_PER_BATCH;
  static const char *const sql[] = {"DELETE FROM exectrace_goroutines WHERE exectrace_id = ?1",
                                    "DELETE FROM exectrace_stacks WHERE exectrace_id = ?1",
                                    "DELETE FROM exectraces WHERE id = ?1"};
  for (int i = 0; i<n && * budget> 0; i++) {
    int rc = delete_span_index(db, ids[i], budget);
    if (rc) return rc;
    for (size_t k = 0; k < sizeof sql / sizeof sql[0]; k++) {
      sqlite3_stmt *st;
      if (sqlite3_prepare_v2(db, sql[k], -1, &st, NULL) != SQLITE_OK) return MW_EIO;
      sqlite3_bind_int64(st, 1, ids[i]);
      int ok = sqlite3_step(st) == SQLITE_DONE;
      sqlite3_finalize(st);
      if (!ok) return MW_EIO;
      *budget -= sqlite3_changes(db);
    }
    if (*budget <= 0 && i + 1 < n) *more = 1;
  }
  return MW_OK;
}

int mw__retention_batch(mw__retention *r, sqlite3 *db, int *more, int *ops_gone) {
  *more = 0;
  *ops_gone = 0;
  int first = !r->more; /* a pass's first batch */
  r->more = 0;
  r->last_ns = mw__mono_ns();
  int64_t before = cutoff(r, db);
  if (before == INT64_MIN) return MW_OK;
  char err[256];
  if (mw__store_exec(db, "BEGIN IMMEDIATE", err, sizeof err)) return MW_EIO;
  sqlite3_stmt *src;
  int rc = sqlite3_prepare_v2(db, "SELECT id FROM sources WHERE first_ns < ?1", -1, &src, NULL) == SQLITE_OK ? MW_OK
                                                                                                             : MW_EIO;
  int64_t budget = BATCH_ROWS, run_entries = 0;
  int blocks_left = BLOCKS_PER_BATCH;
  handles h = {.db = db, .bw = r->bw, .runs = r->runs};
  if (!rc) sqlite3_bind_int64(src, 1, before);
  while (!rc && budget > 0 && sqlite3_step(src) == SQLITE_ROW) {
    int64_t id = sqlite3_column_int64(src, 0);
    int src_more = 0;
    rc = delete_blocks(&h, id, before, &budget, &blocks_left, &src_more, ops_gone);
    if (!rc) rc = delete_spans(db, id, before, &budget, &src_more, ops_gone);
    if (!rc)
      rc = delete_some(db,
                       "DELETE FROM gc_cycles WHERE (source_id, start_ns, n) IN (SELECT source_id, start_ns, n FROM "
                       "gc_cycles WHERE source_id = ?1 AND start_ns < ?2 LIMIT ?3)",
                       id, before, &budget, &src_more);
    if (!rc)
      rc = delete_some(db,
                       "DELETE FROM sched_samples WHERE (source_id, at_ns) IN (SELECT source_id, at_ns FROM "
                       "sched_samples WHERE source_id = ?1 AND at_ns < ?2 LIMIT ?3)",
                       id, before, &budget, &src_more);
    if (!rc)
      rc = delete_some(db,
                       "DELETE FROM runtime_events WHERE rowid IN (SELECT rowid FROM runtime_events WHERE "
                       "source_id = ?1 AND at_ns < ?2 LIMIT ?3)",
                       id, before, &budget, &src_more);
    if (!rc) /* the minutes that sum them up go with them (a minute that began before the cutoff) */
      rc = delete_some(db,
                       "DELETE FROM runtime_minutes WHERE (source_id, minute_ns) IN (SELECT source_id, minute_ns "
                       "FROM runtime_minutes WHERE source_id = ?1 AND minute_ns < ?2 LIMIT ?3)",
                       id, before, &budget, &src_more);
    if (!rc) rc = delete_snapshots(db, id, before, &budget, &src_more);
    if (!rc) rc = delete_exectraces(db, id, before, &budget, &src_more);
    if (src_more) *more = 1;
    else if (!rc) { /* everything of this source before the cutoff is gone */ sqlite3_stmt *up;
      if (sqlite3_prepare_v2(db, "UPDATE sources SET first_ns = max(first_ns, ?2) WHERE id = ?1", -1, &up, NULL) ==
          SQLITE_OK) {
        sqlite3_bind_int64(up, 1, id);
        sqlite3_bind_int64(up, 2, before);
        sqlite3_step(up);
        sqlite3_finalize(up);
      }
    }
  }
  if (budget <= 0) *more = 1;
  sqlite3_finalize(src);
  if (!rc) rc = trim_runs(&h, before, first, more, &run_entries);
  if (rc) {
    mw__store_exec(db, "ROLLBACK", err, sizeof err);
    handles_close(&h);
    return rc;
  }
  rc = mw__store_exec(db, "COMMIT", err, sizeof err) ? MW_EIO : MW_OK;
  handles_close(&h);
  if (rc) return rc;
  uint64_t deleted = (uint64_t)(BATCH_ROWS - budget + run_entries);
  r->deleted += deleted;
  if (deleted) r->dirty = 1;
  /* give freed pages back to the file system, a bounded number per batch */
  char vac[64];
  snprintf(vac, sizeof vac, "PRAGMA incremental_vacuum(%d)", VACUUM_PAGES);
  mw__store_exec(db, vac, err, sizeof err);
  if (mw__sql_int(db, "PRAGMA freelist_count") > 0) *more = 1;
  r->more = *more;
  return MW_OK;
}

/* The read connections and their transactions (see readers.h). */
#include "store/readers.h"
#include "core/error.h"
#include "core/log.h"
#include "core/timefmt.h"
#include "store/block_read.h"
#include "store/blocks.h"
#include "store/conn.h"

#include <stdlib.h>
#include <unistd.h>

/* The limit of the query this thread runs (mw__store_limit). */
static _Thread_local mw_query_limit *tl_limit;

void mw__store_limit(mw_query_limit *lim) { tl_limit = lim; }

/* Readers this thread holds now: one that holds some already is let through
 * the checkpoint's gate, which would otherwise wait for it forever. */
static _Thread_local int tl_held;

/* 1 when the thread's query must stop now (and says why in its limit). */
static int limit_passed(void) {
  mw_query_limit *l = tl_limit;
  if (!l) return 0;
  if (!l->stopped && l->abort && atomic_load(l->abort)) l->stopped = MW_ESHUTDOWN;
  if (!l->stopped && l->deadline_ns && mw__mono_ns() >= l->deadline_ns) l->stopped = MW_ETIMEDOUT;
  return l->stopped != 0;
}

/* SQLite calls this every PROGRESS_OPS virtual machine steps of a statement
 * on a read connection; non-zero interrupts the statement (SQLITE_INTERRUPT).
 * A step is well under a microsecond, so a statement stops within about a
 * millisecond of its deadline. */
enum { PROGRESS_OPS = 1000 };
static int on_progress(void *arg) {
  mw_read *r = arg;
  if (r->slow_us) usleep((useconds_t)r->slow_us);
  if (atomic_load(&r->kicked)) { /* the WAL must be emptied: checkpoint.c */
    if (tl_limit && !tl_limit->stopped) tl_limit->stopped = MW_EBUSY;
    return 1;
  }
  return limit_passed();
}

void mw__readers_init(mw__readers *p, const char *db_path, int slow_us) {
  p->db_path = db_path;
  p->slow_us = slow_us;
  uv_mutex_init(&p->lock);
  uv_cond_init(&p->gate);
}

void mw__readers_close(mw__readers *p) {
  while (p->free_list) {
    mw_read *r = p->free_list;
    p->free_list = r->next;
    for (int i = 0; i < MW_RS__COUNT; i++) sqlite3_finalize(r->stmts[i]);
    mw__truns_rd_close(r->truns); /* its statements too: a connection with one left does not close */
    sqlite3_close(r->db);
    ZSTD_freeDCtx(r->dctx);
    mw__ids_cache_free(r->ids);
    free(r);
  }
  uv_cond_destroy(&p->gate);
  uv_mutex_destroy(&p->lock);
}

/* Lists r as lent out (under the pool's lock) with the writer's commit_seq
 * as it is now, before r's BEGIN: loaded under the lock that
 * mw__readers_min_seq takes, so that the writer either counts r or frees only
 * what r's snapshot already holds (blocks.h, "the reader rule"). */
static void mark_lent(mw__readers *p, mw_read *r) {
  r->seq_at_begin = mw__blk_seq(p->blk);
  r->next = p->lent;
  p->lent = r;
  p->out++;
}

int64_t mw__readers_min_seq(mw__readers *p) {
  int64_t min = INT64_MAX;
  uv_mutex_lock(&p->lock);
  for (mw_read *r = p->lent; r; r = r->next)
    if (r->seq_at_begin < min) min = r->seq_at_begin;
  uv_mutex_unlock(&p->lock);
  return min;
}

/* Takes r off the list of those lent out and wakes whoever waits for that
 * (under the pool's lock). */
static void mark_back(mw__readers *p, mw_read *r) {
  for (mw_read **q = &p->lent; *q; q = &(*q)->next)
    if (*q == r) {
      *q = r->next;
      break;
    }
  p->out--;
  uv_cond_broadcast(&p->gate);
}

static void finish(mw_read *r);

/* Runs BEGIN on a lent connection: the snapshot is taken at its first read.
 * With the writer's memory (p->blk), the snapshot is taken at once, and must
 * be of exactly commit seq_at_begin, so that memory read at that seq and the
 * database are one state (blocks.h, "the reader rule"): when a commit came in
 * between, begin again with the newer seq (a few times; after that the
 * snapshot is newer than the memory read, which V's rule allows). */
static int begin(mw_read *r) {
  char err[256];
  mw__readers *p = r->pool;
  for (int tries = 0;; tries++) {
    if (mw__store_exec(r->db, "BEGIN", err, sizeof err) != MW_OK) break;
    if (!p->blk) return MW_OK;
    if (mw__store_exec(r->db, "SELECT 1 FROM sqlite_schema LIMIT 1", err, sizeof err) != MW_OK) {
      finish(r);
      break;
    }
    if (mw__blk_started(p->blk) == r->seq_at_begin) return MW_OK;
    if (tries == 3) {
      atomic_fetch_add(&p->blk_fallbacks, 1);
      return MW_OK;
    }
    atomic_fetch_add(&p->blk_retries, 1);
    finish(r);
    usleep(100u << tries);   /* a COMMIT is under way: let it end (100, 200, 400 µs) */
    uv_mutex_lock(&p->lock); /* (min_seq reads it under this lock) */
    r->seq_at_begin = mw__blk_seq(p->blk);
    uv_mutex_unlock(&p->lock);
  }
  mw__error("cannot begin a read transaction", "err=\"%s\"", err);
  return MW_EIO;
}

/* Ends r's transaction: a statement stepped but not run to its end keeps its
 * read transaction, and so its snapshot of the WAL, open, and the WAL could
 * then never be emptied; nothing goes back to the pool holding one. */
static void finish(mw_read *r) {
  for (sqlite3_stmt *st = sqlite3_next_stmt(r->db, NULL); st; st = sqlite3_next_stmt(r->db, st))
    if (sqlite3_stmt_busy(st)) sqlite3_reset(st);
  if (!sqlite3_get_autocommit(r->db)) {
    char err[128];
    mw__store_exec(r->db, "ROLLBACK", err, sizeof err); /* it wrote nothing: nothing to keep */
  }
}

/* Read connections are created on demand and kept; there are at most as many
 * as threads that query at once. */
int mw__readers_lend(mw__readers *p, mw_read **out) {
  *out = NULL;
  if (limit_passed()) return tl_limit->stopped;
  uv_mutex_lock(&p->lock);
  /* while the writer empties the WAL, new readers wait (see checkpoint.c) */
  while (p->gate_closed && !tl_held) uv_cond_wait(&p->gate, &p->lock);
  mw_read *r = p->free_list;
  if (r) p->free_list = r->next;
  uv_mutex_unlock(&p->lock);
  if (!r) {
    char err[256];
    r = calloc(1, sizeof *r);
    if (!r || mw__store_connect(p->db_path, 1, &r->db, err, sizeof err)) {
      if (r) mw__error("cannot open a read connection", "err=\"%s\"", err);
      free(r);
      return MW_EIO;
    }
    if (!(r->dctx = ZSTD_createDCtx())) {
      mw__error("cannot open a read connection", "err=\"out of memory\"");
      sqlite3_close(r->db);
      free(r);
      return MW_EIO;
    }
    mw__store_exec(r->db, "PRAGMA cache_size=-8192; PRAGMA temp_store=MEMORY;", err, sizeof err);
    r->pool = p;
    r->slow_us = p->slow_us;
    sqlite3_progress_handler(r->db, PROGRESS_OPS, on_progress, r);
  }
  atomic_store(&r->kicked, 0);
  uv_mutex_lock(&p->lock);
  mark_lent(p, r);
  uv_mutex_unlock(&p->lock);
  tl_held++;
  *out = r;
  int rc = begin(r);
  if (rc) {
    mw__read_end(r);
    *out = NULL;
  }
  return rc;
}

void mw__read_end(mw_read *r) {
  if (!r) return;
  mw__readers *p = r->pool;
  finish(r);
  tl_held--;
  uv_mutex_lock(&p->lock);
  mark_back(p, r);
  r->next = p->free_list;
  p->free_list = r;
  uv_mutex_unlock(&p->lock);
}

int mw__read_yield(mw_read *r) {
  mw__readers *p = r->pool;
  uv_mutex_lock(&p->lock);
  int wanted = p->gate_closed;
  uv_mutex_unlock(&p->lock);
  if (!wanted) return MW_OK;
  /* out of the WAL while the writer empties it, then in again with a new
   * snapshot, keeping the connection (it is not in the free list meanwhile) */
  finish(r);
  tl_held--;
  uv_mutex_lock(&p->lock);
  mark_back(p, r);
  while (p->gate_closed && !tl_held) uv_cond_wait(&p->gate, &p->lock);
  mark_lent(p, r);
  uv_mutex_unlock(&p->lock);
  tl_held++;
  atomic_store(&r->kicked, 0);
  if (limit_passed()) return tl_limit->stopped;
  return begin(r);
}

size_t mw__readers_gate_close(mw__readers *p, int kick) {
  uv_mutex_lock(&p->lock);
  p->gate_closed = 1;
  size_t out = p->out;
  if (out && kick) {
    for (mw_read *r = p->lent; r; r = r->next) atomic_store(&r->kicked, 1);
    /* a kicked reader stops at its next progress check; one busy outside
     * SQLite comes back when it is done: wait a little for either */
    uint64_t deadline = uv_hrtime() + 1000000000ULL;
    while (p->out > 0) {
      uint64_t now = uv_hrtime();
      if (now >= deadline || uv_cond_timedwait(&p->gate, &p->lock, deadline - now) != 0) break;
    }
    out = p->out;
  }
  uv_mutex_unlock(&p->lock);
  return out;
}

void mw__readers_gate_open(mw__readers *p) {
  uv_mutex_lock(&p->lock);
  p->gate_closed = 0;
  uv_cond_broadcast(&p->gate);
  uv_mutex_unlock(&p->lock);
}

int mw__reader_interrupted(mw_read *r) { return (sqlite3_errcode(r->db) & 0xFF) == SQLITE_INTERRUPT; }

sqlite3_stmt *mw__reader_stmt(mw_read *r, enum mw__rstmt id, const char *sql) {
  sqlite3_stmt *st = r->stmts[id];
  if (st) {
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
  }
  if (sqlite3_prepare_v3(r->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
    if (!mw__reader_interrupted(r)) mw__error("query prepare failed", "err=\"%s\"", sqlite3_errmsg(r->db));
    return NULL;
  }
  return r->stmts[id] = st;
}

sqlite3_stmt *mw__prepare(mw_read *r, const char *sql) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK && !mw__reader_interrupted(r))
    mw__error("query prepare failed", "err=\"%s\"", sqlite3_errmsg(r->db));
  return st;
}

int mw__read_failed(mw_read *r, int step) {
  if (!mw__reader_interrupted(r)) mw__error("query failed", "err=\"%s\" code=%d", sqlite3_errmsg(r->db), step);
  return MW_EIO;
}

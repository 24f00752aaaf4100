/* Store lifecycle: open the database, check it is ours, apply migrations,
 * start the writer, lend read connections, close. */
#include "store/store_int.h"
#include "core/embed.h"
#include "core/error.h"
#include "core/log.h"
#include "core/timefmt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int mw__store_connect(const char *path, int readonly, sqlite3 **out, char *err, size_t errsz) {
  int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  flags |= SQLITE_OPEN_NOMUTEX; /* a connection is used by one thread at a time */
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2(path, &db, flags, NULL);
  if (rc != SQLITE_OK) {
    snprintf(err, errsz, "cannot open %s: %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    return MW_EIO;
  }
  sqlite3_busy_timeout(db, 5000);
  sqlite3_extended_result_codes(db, 1);
  *out = db;
  return MW_OK;
}

int mw__store_exec(sqlite3 *db, const char *sql, char *err, size_t errsz) {
  char *msg = NULL;
  int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
  if (rc != SQLITE_OK) {
    snprintf(err, errsz, "%s", msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    return (rc & 0xFF) == SQLITE_FULL ? MW_EFULL : MW_EIO;
  }
  return MW_OK;
}

static int pragma_int(sqlite3 *db, const char *sql, int64_t *out) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return (int)sqlite3_errcode(db);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    *out = sqlite3_column_int64(st, 0);
    rc = SQLITE_OK;
  }
  sqlite3_finalize(st);
  return rc;
}

/* Refuses files that are not ours, then applies the embedded migrations newer
 * than PRAGMA user_version, each in its own transaction. */
static int migrate(mw_store *s, char *err, size_t errsz) {
  int64_t app_id = 0, version = 0, tables = 0;
  int rc = pragma_int(s->wdb, "PRAGMA application_id", &app_id);
  if (rc != SQLITE_OK) {
    snprintf(err, errsz, "%s is not a usable SQLite database (%s): move it away or point --data elsewhere",
             s->db_path, sqlite3_errstr(rc));
    return MW_EINVAL;
  }
  pragma_int(s->wdb, "PRAGMA user_version", &version);
  pragma_int(s->wdb, "SELECT count(*) FROM sqlite_master", &tables);

  if (app_id != MW__APPLICATION_ID && (app_id != 0 || tables != 0)) {
    snprintf(err, errsz,
             "%s is a SQLite database of another program (application_id %lld, %lld schema objects): "
             "refusing to touch it",
             s->db_path, (long long)app_id, (long long)tables);
    return MW_EINVAL;
  }
  if ((size_t)version > mw__sql_files_count) {
    snprintf(err, errsz, "%s has schema version %lld, newer than this meanwhiled knows (%zu): upgrade meanwhiled",
             s->db_path, (long long)version, mw__sql_files_count);
    return MW_EINVAL;
  }
  for (size_t i = (size_t)version; i < mw__sql_files_count; i++) {
    char sql[128];
    if (mw__store_exec(s->wdb, "BEGIN IMMEDIATE", err, errsz)) return MW_EIO;
    snprintf(sql, sizeof sql, "PRAGMA application_id=%d; PRAGMA user_version=%zu;", MW__APPLICATION_ID, i + 1);
    char e2[256];
    if (mw__store_exec(s->wdb, (const char *)mw__sql_files[i].data, e2, sizeof e2) ||
        mw__store_exec(s->wdb, sql, e2, sizeof e2)) {
      snprintf(err, errsz, "migration %s failed: %s", mw__sql_files[i].path, e2);
      mw__store_exec(s->wdb, "ROLLBACK", e2, sizeof e2);
      return MW_EIO;
    }
    if (mw__store_exec(s->wdb, "COMMIT", err, errsz)) return MW_EIO;
    mw__info("migrated database", "file=%s version=%zu", mw__sql_files[i].path, i + 1);
  }
  return MW_OK;
}

int mw__store_open(const mw_store_opts *opts, mw_store **out, char *err, size_t errsz) {
  *out = NULL;
  if (mkdir(opts->data_dir, 0750) != 0 && errno != EEXIST) {
    snprintf(err, errsz, "cannot create data directory %s: %s", opts->data_dir, strerror(errno));
    return MW_EIO;
  }
  mw_store *s = calloc(1, sizeof *s);
  if (!s) return MW_ENOMEM;
  s->opts = *opts;
  if (!s->opts.read_connections) s->opts.read_connections = 4;
  size_t plen = strlen(opts->data_dir) + sizeof "/meanwhile.db";
  s->db_path = malloc(plen);
  if (!s->db_path) {
    free(s);
    return MW_ENOMEM;
  }
  snprintf(s->db_path, plen, "%s/meanwhile.db", opts->data_dir);
  uv_mutex_init(&s->lock);
  uv_mutex_init(&s->rlock);
  uv_cond_init(&s->rgate);
  uv_cond_init(&s->wake);

  struct stat st;
  int fresh = stat(s->db_path, &st) != 0 || st.st_size == 0;
  int rc = mw__store_connect(s->db_path, 0, &s->wdb, err, errsz);
  if (rc) goto fail;
  if (fresh) { /* retention gives space back by incremental vacuum, which only a new file can take on */
    char e2[128];
    mw__store_exec(s->wdb, "PRAGMA auto_vacuum=INCREMENTAL", e2, sizeof e2);
    /* stack traces and span attributes are not for every user of the machine;
     * SQLite gives the -wal and -shm files the same mode */
    chmod(s->db_path, 0640);
  }
  char pragmas[256];
  snprintf(pragmas, sizeof pragmas,
           "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; PRAGMA cache_size=-16384; "
           "PRAGMA journal_size_limit=67108864; "
           "PRAGMA temp_store=MEMORY; PRAGMA foreign_keys=OFF;",
           opts->sync_full ? "FULL" : "NORMAL");
  char e2[256];
  if (mw__store_exec(s->wdb, pragmas, e2, sizeof e2)) {
    snprintf(err, errsz, "%s is not a usable SQLite database (%s): move it away or point --data elsewhere",
             s->db_path, e2);
    rc = MW_EINVAL;
    goto fail;
  }
  if ((rc = migrate(s, err, errsz))) goto fail;
  if ((rc = mw__checkpointer_start(s, err, errsz))) goto fail;
  if ((rc = mw__writer_start(s, err, errsz))) goto fail;
  *out = s;
  return MW_OK;
fail:
  mw__store_close(s);
  return rc;
}

void mw__store_drain(mw_store *s) {
  if (s && s->started) mw__writer_stop(s);
}

void mw__store_close(mw_store *s) {
  if (!s) return;
  mw__store_drain(s);
  mw__checkpointer_stop(s);
  while (s->free_readers) {
    mw__reader *r = s->free_readers;
    s->free_readers = r->next;
    for (int i = 0; i < MW_RS__COUNT; i++) sqlite3_finalize(r->stmts[i]);
    sqlite3_close(r->db);
    free(r);
  }
  if (s->wdb) {
    char e[128];
    /* ANALYZE reads whole indexes unless limited: minutes on a large
     * database, past any shutdown grace */
    mw__store_exec(s->wdb, "PRAGMA analysis_limit=1000; PRAGMA optimize", e, sizeof e);
    if (sqlite3_close(s->wdb) != SQLITE_OK) mw__warn("database close failed", "err=\"%s\"", sqlite3_errmsg(s->wdb));
  }
  mw__bmap_free(s->sources);
  mw__bmap_free(s->ops);
  mw__bmap_free(s->op_slow);
  mw__bmap_free(s->scopes);
  mw__bmap_free(s->stacks);
  uv_cond_destroy(&s->wake);
  uv_mutex_destroy(&s->lock);
  uv_mutex_destroy(&s->rlock);
  uv_cond_destroy(&s->rgate);
  free(s->db_path);
  free(s);
}

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
  mw__reader *r = arg;
  if (r->slow_us) usleep((useconds_t)r->slow_us);
  if (atomic_load(&r->kicked)) { /* the WAL must be emptied: checkpoint.c */
    if (tl_limit && !tl_limit->stopped) tl_limit->stopped = MW_EBUSY;
    return 1;
  }
  return limit_passed();
}

int mw__reader_interrupted(mw__reader *r) { return (sqlite3_errcode(r->db) & 0xFF) == SQLITE_INTERRUPT; }

/* Read connections are created on demand and kept; there are at most as many
 * as threads that query at once. */
mw__reader *mw__reader_get(mw_store *s) {
  if (limit_passed()) return NULL;
  uv_mutex_lock(&s->rlock);
  /* while the writer empties the WAL, new readers wait (see checkpoint.c) */
  while (s->gate_closed && !tl_held) uv_cond_wait(&s->rgate, &s->rlock);
  mw__reader *r = s->free_readers;
  if (r) s->free_readers = r->next;
  uv_mutex_unlock(&s->rlock);
  if (!r) {
    char err[256];
    r = calloc(1, sizeof *r);
    if (!r || mw__store_connect(s->db_path, 1, &r->db, err, sizeof err)) {
      if (r) mw__error("cannot open a read connection", "err=\"%s\"", err);
      free(r);
      return NULL;
    }
    mw__store_exec(r->db, "PRAGMA cache_size=-8192; PRAGMA temp_store=MEMORY;", err, sizeof err);
    r->slow_us = s->opts.fault_read_slow_us;
    sqlite3_progress_handler(r->db, PROGRESS_OPS, on_progress, r);
  }
  atomic_store(&r->kicked, 0);
  uv_mutex_lock(&s->rlock);
  r->next = s->lent;
  s->lent = r;
  s->readers_out++;
  uv_mutex_unlock(&s->rlock);
  tl_held++;
  return r;
}

void mw__reader_put(mw_store *s, mw__reader *r) {
  if (!r) return;
  /* A statement stepped but not run to its end keeps its read transaction,
   * and so its snapshot of the WAL, open: the WAL could then never be
   * emptied. Nothing lent out comes back holding one. */
  for (sqlite3_stmt *st = sqlite3_next_stmt(r->db, NULL); st; st = sqlite3_next_stmt(r->db, st))
    if (sqlite3_stmt_busy(st)) sqlite3_reset(st);
  tl_held--;
  uv_mutex_lock(&s->rlock);
  for (mw__reader **p = &s->lent; *p; p = &(*p)->next)
    if (*p == r) {
      *p = r->next;
      break;
    }
  r->next = s->free_readers;
  s->free_readers = r;
  s->readers_out--;
  uv_cond_broadcast(&s->rgate);
  uv_mutex_unlock(&s->rlock);
}

void mw__store_stats(mw_store *s, mw_store_stats *out) {
  uv_mutex_lock(&s->lock);
  out->queue_spans = s->q_spans;
  out->queue_bytes = s->q_bytes;
  out->queue_jobs = s->q_jobs;
  uv_mutex_unlock(&s->lock);
  out->retention_deleted = s->retention_deleted;
  out->used_bytes = 0;
  mw__reader *r = mw__reader_get(s);
  if (r) {
    out->used_bytes = mw__store_used_bytes(r->db);
    mw__reader_put(s, r);
  }
  struct stat st;
  out->db_bytes = 0;
  if (stat(s->db_path, &st) == 0) out->db_bytes += (uint64_t)st.st_size;
  char wal[4096];
  snprintf(wal, sizeof wal, "%s-wal", s->db_path);
  if (stat(wal, &st) == 0) out->db_bytes += (uint64_t)st.st_size;
}

void mw__store_on_commit(mw_store *s, void (*cb)(double, size_t, size_t)) { s->on_commit = cb; }

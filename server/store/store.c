/* Store lifecycle: open the database, check it is ours, apply migrations,
 * start the writer, lend read transactions, close. The top floor of store/:
 * it owns the parts (conn.h, readers.h, writer.h, which owns retention and
 * the checkpointer) and nothing below calls back into it. */
#include "core/embed.h"
#include "core/error.h"
#include "core/log.h"
#include "core/timefmt.h"
#include "store/conn.h"
#include "store/minutes.h"
#include "store/readers.h"
#include "store/writer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct mw_store {
  mw_store_opts opts;
  char *db_path;
  sqlite3 *wdb; /* the write connection, the writer's */
  mw__writer writer;
  mw__readers readers;
};

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

/* Migration 7's backfill: every source's runtime minutes from its rows. */
static int backfill(sqlite3 *db, int64_t *minutes, char *err, size_t errsz) {
  int rc = mw__minutes_backfill(db, minutes);
  if (rc) snprintf(err, errsz, "making the runtime minutes failed: %s", mw__strerror(rc));
  return rc;
}

/* Refuses files that are not ours, then applies the embedded migrations newer
 * than PRAGMA user_version, each in its own transaction. */
static int migrate(mw_store *s, char *err, size_t errsz) {
  int64_t app_id = 0, version = 0, tables = 0;
  int rc = pragma_int(s->wdb, "PRAGMA application_id", &app_id);
  if (rc != SQLITE_OK) {
    snprintf(err, errsz, "%s is not a usable SQLite database (%s): move it away or point --data elsewhere", s->db_path,
             sqlite3_errstr(rc));
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
    int64_t minutes = -1;
    double t0 = (double)mw__mono_ns();
    if (mw__store_exec(s->wdb, (const char *)mw__sql_files[i].data, e2, sizeof e2) ||
        (strstr(mw__sql_files[i].path, "0007_runtime_minutes") && backfill(s->wdb, &minutes, e2, sizeof e2)) ||
        mw__store_exec(s->wdb, sql, e2, sizeof e2)) {
      snprintf(err, errsz, "migration %s failed: %s", mw__sql_files[i].path, e2);
      mw__store_exec(s->wdb, "ROLLBACK", e2, sizeof e2);
      return MW_EIO;
    }
    if (mw__store_exec(s->wdb, "COMMIT", err, errsz)) return MW_EIO;
    mw__info("migrated database", "file=%s version=%zu", mw__sql_files[i].path, i + 1);
    if (minutes > 0)
      mw__info("made the runtime minutes of the data stored before", "minutes=%lld took_ms=%.0f", (long long)minutes,
               ((double)mw__mono_ns() - t0) / 1e6);
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
  mw__readers_init(&s->readers, s->db_path, opts->fault_read_slow_us);

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
    snprintf(err, errsz, "%s is not a usable SQLite database (%s): move it away or point --data elsewhere", s->db_path,
             e2);
    rc = MW_EINVAL;
    goto fail;
  }
  if ((rc = migrate(s, err, errsz))) goto fail;
  if ((rc = mw__writer_start(&s->writer, &s->opts, s->wdb, s->db_path, &s->readers, err, errsz))) goto fail;
  *out = s;
  return MW_OK;
fail:
  mw__store_close(s);
  return rc;
}

void mw__store_drain(mw_store *s) {
  if (s) mw__writer_stop(&s->writer);
}

void mw__store_close(mw_store *s) {
  if (!s) return;
  mw__writer_close(&s->writer);
  mw__readers_close(&s->readers);
  if (s->wdb) {
    char e[128];
    /* ANALYZE reads whole indexes unless limited: minutes on a large
     * database, past any shutdown grace */
    mw__store_exec(s->wdb, "PRAGMA analysis_limit=1000; PRAGMA optimize", e, sizeof e);
    if (sqlite3_close(s->wdb) != SQLITE_OK) mw__warn("database close failed", "err=\"%s\"", sqlite3_errmsg(s->wdb));
  }
  free(s->db_path);
  free(s);
}

int mw__store_submit(mw_store *s, mw_write_job *job) { return mw__writer_submit(&s->writer, job); }

int mw__store_full(mw_store *s, unsigned pct) { return mw__writer_full(&s->writer, pct); }

void mw__store_on_commit(mw_store *s, void (*cb)(double, size_t, size_t)) { s->writer.on_commit = cb; }

struct mw_rules *mw__store_rules(mw_store *s) {
  return s->opts.rules;
}

int mw__read_begin(mw_store *s, mw_read **out) { return mw__readers_lend(&s->readers, out); }

void mw__store_stats(mw_store *s, mw_store_stats *out) {
  mw__writer_queue(&s->writer, &out->queue_spans, &out->queue_bytes, &out->queue_jobs);
  out->retention_deleted = s->writer.retention.deleted;
  out->resent_jobs = atomic_load_explicit(&s->writer.resent_jobs, memory_order_relaxed);
  out->resent_spans = atomic_load_explicit(&s->writer.resent_spans, memory_order_relaxed);
  out->used_bytes = 0;
  mw_read *r;
  if (mw__read_begin(s, &r) == MW_OK) {
    out->used_bytes = mw__store_used_bytes(r->db);
    mw__read_end(r);
  }
  struct stat st;
  out->db_bytes = 0;
  if (stat(s->db_path, &st) == 0) out->db_bytes += (uint64_t)st.st_size;
  char wal[4096];
  snprintf(wal, sizeof wal, "%s-wal", s->db_path);
  if (stat(wal, &st) == 0) out->db_bytes += (uint64_t)st.st_size;
}

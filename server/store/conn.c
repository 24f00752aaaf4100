/* Connections and one-shot statements (see conn.h). */
#include "store/conn.h"
#include "core/error.h"

#include <stdio.h>

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

int mw__sql_err(sqlite3 *db) { return (sqlite3_errcode(db) & 0xFF) == SQLITE_FULL ? MW_EFULL : MW_EIO; }

int mw__step_id(sqlite3 *db, sqlite3_stmt *st, int64_t *out) {
  int rc = sqlite3_step(st);
  *out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
  if (rc == SQLITE_ROW) rc = sqlite3_step(st);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return rc == SQLITE_DONE ? MW_OK : mw__sql_err(db);
}

int64_t mw__sql_int(sqlite3 *db, const char *sql) {
  sqlite3_stmt *st;
  int64_t v = -1;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return -1;
  if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

uint64_t mw__store_used_bytes(sqlite3 *db) {
  int64_t pages = mw__sql_int(db, "PRAGMA page_count"), free_pages = mw__sql_int(db, "PRAGMA freelist_count"),
          size = mw__sql_int(db, "PRAGMA page_size");
  return pages < 0 || free_pages < 0 || size < 0 ? 0 : (uint64_t)(pages - free_pages) * (uint64_t)size;
}

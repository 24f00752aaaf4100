/* SQL in unit tests: a statement that must run, and a query whose one row's
 * first column is the answer. Include after <cmocka.h> and <sqlite3.h>. */
#ifndef MW_TEST_SQL_ASSERT_H
#define MW_TEST_SQL_ASSERT_H
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

static inline void sqlt_exec(sqlite3 *db, const char *sql) {
  char *msg = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) fail_msg("%s: %s", sql, msg);
}

static inline int64_t sqlt_int(sqlite3 *db, const char *sql) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) fail_msg("%s: %s", sql, sqlite3_errmsg(db));
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int64_t v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

/* Removes a database file and its -wal and -shm files (those missing too). */
static inline void sqlt_remove_db(const char *path) {
  char p[4200];
  unlink(path);
  snprintf(p, sizeof p, "%s-wal", path);
  unlink(p);
  snprintf(p, sizeof p, "%s-shm", path);
  unlink(p);
}

#endif

/* The embedded migrations on a connection of a test or benchmark (schema.h). */
#include "store/schema.h"
#include "core/embed.h"
#include "core/error.h"
#include "store/conn.h"

#include <stdio.h>

int mw__schema_apply(sqlite3 *db, size_t upto, char *err, size_t errsz) {
  if (!upto) upto = mw__sql_files_count;
  if (upto > mw__sql_files_count) {
    snprintf(err, errsz, "migration %zu asked for, %zu embedded", upto, mw__sql_files_count);
    return MW_EINVAL;
  }
  int64_t version = mw__sql_int(db, "PRAGMA user_version");
  if (version != 0) {
    snprintf(err, errsz, "the database has schema version %lld already", (long long)version);
    return MW_EINVAL;
  }
  for (size_t i = 0; i < upto; i++) {
    char marks[96], e2[256];
    snprintf(marks, sizeof marks, "PRAGMA application_id=%d; PRAGMA user_version=%zu;", MW__APPLICATION_ID, i + 1);
    if (mw__store_exec(db, "BEGIN IMMEDIATE", err, errsz)) return MW_EIO;
    if (mw__store_exec(db, (const char *)mw__sql_files[i].data, e2, sizeof e2) ||
        mw__store_exec(db, marks, e2, sizeof e2)) {
      snprintf(err, errsz, "migration %s failed: %s", mw__sql_files[i].path, e2);
      mw__store_exec(db, "ROLLBACK", e2, sizeof e2);
      return MW_EIO;
    }
    if (mw__store_exec(db, "COMMIT", err, errsz)) return MW_EIO;
  }
  return MW_OK;
}

/* Small helpers shared by the read queries (reader.c, runtime_read.c,
 * correlate_read.c). */
#include "store/store_int.h"
#include "core/log.h"

#include <string.h>

const char *mw__col_text(mw_arena *a, sqlite3_stmt *st, int col) {
  const unsigned char *t = sqlite3_column_text(st, col);
  return t ? mw__arena_strndup(a, (const char *)t, (size_t)sqlite3_column_bytes(st, col)) : NULL;
}

sqlite3_stmt *mw__prepare(mw__reader *r, const char *sql) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK && !mw__reader_interrupted(r))
    mw__error("query prepare failed", "err=\"%s\"", sqlite3_errmsg(r->db));
  return st;
}

void *mw__grow(mw_arena *a, void *items, size_t n, size_t *cap, size_t sz) {
  if (n < *cap) return items;
  size_t ncap = *cap ? *cap * 2 : 32;
  void *p = mw__arena_alloc(a, ncap * sz);
  if (p && n) memcpy(p, items, n * sz);
  *cap = ncap;
  return p;
}

sqlite3_stmt *mw__reader_stmt(mw__reader *r, enum mw__rstmt id, const char *sql) {
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

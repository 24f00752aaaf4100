/* Small helpers shared by the read queries (reader.c, runtime_read.c,
 * correlate_read.c). */
#include "store/readers.h"

#include <string.h>

const char *mw__col_text(mw_arena *a, sqlite3_stmt *st, int col) {
  const unsigned char *t = sqlite3_column_text(st, col);
  return t ? mw__arena_strndup(a, (const char *)t, (size_t)sqlite3_column_bytes(st, col)) : NULL;
}

const uint8_t *mw__col_blob(mw_arena *a, sqlite3_stmt *st, int col, size_t *len) {
  *len = (size_t)sqlite3_column_bytes(st, col);
  const void *p = sqlite3_column_blob(st, col);
  return mw__arena_memdup(a, p ? p : "", *len);
}

void *mw__grow(mw_arena *a, void *items, size_t n, size_t *cap, size_t sz) {
  if (n < *cap) return items;
  size_t ncap = *cap ? *cap * 2 : 32;
  void *p = mw__arena_alloc(a, ncap * sz);
  if (p && n) memcpy(p, items, n * sz);
  *cap = ncap;
  return p;
}

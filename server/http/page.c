/* Pages of the answers that can be long (search and the listings): the
 * offset and limit a request asks for, and the "more" / "next_offset" that
 * tell it where the next page starts (docs/API.md, "Pages"). */
#include "http/http_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* An optional integer parameter in [lo, hi]; replies 400 and returns -1 when bad. */
static int size_arg(mw_req *r, const char *name, size_t lo, size_t hi, size_t *out) {
  const char *v = mw__req_arg(r, name);
  if (!v || !*v) return 0;
  char *end;
  errno = 0;
  unsigned long long n = strtoull(v, &end, 10);
  if (*end || errno || v[0] == '-' || n < lo || n > hi) {
    mw__reply_json_error(r, 400, "%s must be an integer from %zu to %zu, got \"%.32s\"", name, lo, hi, v);
    return -1;
  }
  *out = (size_t)n;
  return 0;
}

int mw__page_args(mw_req *r, size_t dflt, size_t max, mw_page *pg) {
  pg->offset = 0;
  pg->limit = dflt;
  pg->max_bytes = MW_PAGE_BYTES;
  return size_arg(r, "limit", 1, max, &pg->limit) || size_arg(r, "offset", 0, 1000000, &pg->offset) ? -1 : 0;
}

void mw__jw_page(mw_jsonw *w, size_t next) {
  mw__jw_kbool(w, "more", next > 0);
  if (next) mw__jw_kint(w, "next_offset", (int64_t)next);
}

size_t mw__json_room(const char *s) { return s ? 6 * strlen(s) + 16 : 0; }

/* json-c side of the JSON bench (see jsonc_parse.h): one tokener reused for
 * every document, as a server would keep one per worker. */
#include "jsonc_parse.h"

#include <json-c/json.h>

static int parse(const bench_doc *docs, size_t n, int iters, int flags) {
  struct json_tokener *tok = json_tokener_new();
  if (!tok) return -1;
  json_tokener_set_flags(tok, flags);
  int rc = 0;
  for (int it = 0; it < iters && !rc; it++)
    for (size_t i = 0; i < n; i++) {
      json_tokener_reset(tok);
      struct json_object *o = json_tokener_parse_ex(tok, docs[i].data, (int)docs[i].len);
      if (!o || json_tokener_get_error(tok) != json_tokener_success) {
        rc = -1;
        break;
      }
      json_object_put(o);
    }
  json_tokener_free(tok);
  return rc;
}

int bench_jsonc_parse(const bench_doc *docs, size_t n, int iters) { return parse(docs, n, iters, 0); }

int bench_jsonc_parse_strict(const bench_doc *docs, size_t n, int iters) {
  return parse(docs, n, iters, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
}

const char *bench_jsonc_version(void) { return json_c_version(); }

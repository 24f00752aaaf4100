/* The json-c half of the JSON bench, in a translation unit of its own: json-c's
 * headers and jansson's cannot be included together (both define json_object). */
#ifndef MW_BENCH_JSONC_PARSE_H
#define MW_BENCH_JSONC_PARSE_H
#include <stddef.h>

typedef struct bench_doc {
  const char *data;
  size_t len;
} bench_doc;

/* Parses every document iters times with json_tokener_parse_ex and frees each
 * tree; returns 0, or -1 if a document does not parse. The _strict variant sets
 * JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8, what a server would need
 * (jansson always checks both); the other uses json-c's lenient defaults. */
int bench_jsonc_parse(const bench_doc *docs, size_t n, int iters);
int bench_jsonc_parse_strict(const bench_doc *docs, size_t n, int iters);
/* json-c's version string. */
const char *bench_jsonc_version(void);

#endif

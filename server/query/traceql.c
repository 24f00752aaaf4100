/* STUB of the TraceQL parser (see traceql.h): refuses every query until the
 * traceql branch is merged. */
#include "query/traceql.h"
#include "core/error.h"

#include <stdio.h>

int mw__tql_parse(mw_arena *a, const char *q, size_t len, mw_tql **out, char *err, size_t errsz) {
  (void)a, (void)q, (void)len;
  *out = NULL;
  snprintf(err, errsz, "TraceQL is not supported in this build");
  return MW_EINVAL;
}

int mw__tql_match(const mw_tql *q, const mw_tql_span *s) {
  (void)q, (void)s;
  return 0;
}

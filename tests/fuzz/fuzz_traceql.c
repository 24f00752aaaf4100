/* TraceQL: mw__tql_parse on the input as a query of exactly its length (not
 * NUL-terminated: ASan sees any read past it), then mw__tql_match of what
 * parses on spans with the odd cases (no name, no attributes, a NaN, the
 * extreme integers). Besides the sanitizers: the codes the header promises
 * (MW_OK or MW_EINVAL: the arena is far larger than a query may need), a
 * refusal's message terminated, in printable ASCII and naming a column within
 * the query, no query past MW_TQL_MAX_LEN accepted, matches that are 0 or 1
 * and the same when asked twice, and the regular expressions released
 * (LeakSanitizer). */
#include <math.h>

#include "fuzz_common.h"
#include "query/traceql.h"

static const mw_tql_attr attrs[] = {
    {.key = "x", .type = MW_TQL_STRING, .s = "GET /api"}, {.key = "y", .type = MW_TQL_INT, .i = INT64_MIN},
    {.key = "z", .type = MW_TQL_DOUBLE, .d = NAN},        {.key = "b", .type = MW_TQL_BOOL, .i = 1},
    {.key = "n", .type = MW_TQL_STRING, .s = NULL},       {.key = NULL, .type = MW_TQL_INT, .i = 1},
    {.key = "y", .type = MW_TQL_DOUBLE, .d = -0.0},
};
static const mw_tql_attr res[] = {
    {.key = "service.name", .type = MW_TQL_STRING, .s = "frontend\n"},
    {.key = "x", .type = MW_TQL_INT, .i = INT64_MAX},
};
static const uint8_t ids[3][8] = {{1}, {2}, {3}};
/* one trace: a root, and two spans each the other's parent (a cycle the
 * trace-level evaluation must stop in) */
static const mw_tql_span spans[] = {
    {"POST /", MW_TQL_KIND_SERVER, MW_TQL_STATUS_ERROR, 2500000000, attrs, 7, res, 2, ids[0], NULL},
    {NULL, 99, -1, INT64_MIN, NULL, 0, NULL, 0, ids[1], ids[2]},
    {"", MW_TQL_KIND_CONSUMER, MW_TQL_STATUS_OK, INT64_MAX, NULL, 0, res, 2, ids[2], ids[1]},
};
enum { N_SPANS = sizeof spans / sizeof spans[0] };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *q = malloc(size ? size : 1);
  if (!q) abort();
  if (size) memcpy(q, data, size);
  mw_arena *a = fuzz_arena();
  mw_tql *t = (mw_tql *)q; /* anything but NULL: a refusal must reset it */
  char err[200];
  int rc = mw__tql_parse(a, q, size, &t, err, sizeof err);
  FUZZ_CHECK(rc == MW_OK || rc == MW_EINVAL);
  if (rc == MW_EINVAL) {
    FUZZ_CHECK(t == NULL);
    size_t n = strnlen(err, sizeof err);
    FUZZ_CHECK(n > 0 && n < sizeof err);
    for (size_t i = 0; i < n; i++) /* printable ASCII: it goes into a JSON error body as it is */
      FUZZ_CHECK(err[i] >= 0x20 && err[i] < 0x7f);
    const char *col = strstr(err, " at column ");
    if (n < sizeof err - 1) { /* not truncated: the column is there and within the query (or just past it) */
      FUZZ_CHECK(col != NULL);
      unsigned long c = strtoul(col + 11, NULL, 10);
      FUZZ_CHECK(c >= 1 && c <= size + 1);
    }
  } else {
    FUZZ_CHECK(t != NULL && size <= MW_TQL_MAX_LEN);
    unsigned char sel[N_SPANS];
    size_t n_sel = 0;
    int erc = mw__tql_eval_trace(a, t, spans, N_SPANS, sel, &n_sel);
    FUZZ_CHECK(erc == MW_OK || erc == MW_ENOMEM);
    FUZZ_CHECK(n_sel <= N_SPANS);
    int level = mw__tql_trace_level(t);
    FUZZ_CHECK(level == 0 || level == 1);
    for (size_t i = 0; i < N_SPANS; i++) {
      int m = mw__tql_match(t, &spans[i]);
      FUZZ_CHECK(m == 0 || m == 1);
      FUZZ_CHECK(mw__tql_match(t, &spans[i]) == m);
      if (erc == MW_OK) {
        FUZZ_CHECK(sel[i] == 0 || sel[i] == 1);
        FUZZ_CHECK(!sel[i] || m);         /* a selected span matches one of the filters */
        FUZZ_CHECK(level || sel[i] == m); /* ... and exactly those, without trace-level operators */
      }
    }
    const char *svc, *name;
    mw__tql_required(t, &svc, &name);
    for (size_t i = 0; erc == MW_OK && i < N_SPANS; i++) /* a required name holds on every selected span */
      FUZZ_CHECK(!sel[i] || !name || (spans[i].name && strcmp(spans[i].name, name) == 0));
    mw__tql_free(t);
  }
  mw__arena_free(a);
  free(q);
  return 0;
}

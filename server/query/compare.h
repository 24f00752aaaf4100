/* Slow against fast: the spans of one operation at or above its p90 against
 * those at or below its p50 (docs/API.md, "compare"). */
#ifndef MW_QUERY_COMPARE_H
#define MW_QUERY_COMPARE_H
#include <stddef.h>
#include <stdint.h>

#include "query/query.h"

/* Spans per group: MW_COMPARE_SPANS unless asked, at most MW_COMPARE_MAX_SPANS. */
enum { MW_COMPARE_SPANS = 30, MW_COMPARE_MAX_SPANS = 200 };

typedef struct mw_compare_query {
  const char *service, *name; /* the operation */
  int64_t start_ns, end_ns;   /* its spans starting in [start, end) */
  size_t per_group;
} mw_compare_query;

/* GET /api/v1/compare. MW_ENOTFOUND for an unknown operation or one without
 * spans in the range. Each span is explained in a read transaction that may
 * be renewed between two of them, when the writer waits to empty the WAL
 * (mw__read_yield): a span gone by then is passed over. */
int mw__q_compare(mw_query *q, const mw_compare_query *p, mw_answer *out);

#endif

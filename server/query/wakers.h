/* Who keeps waking an operation's slow spans (docs/API.md, "wakers"): over
 * the slow spans of one operation that stored execution traces cover, each
 * blocked interval of their goroutines is followed along its wake edge to
 * the goroutine that ended it, that goroutine's span and the span's
 * operation; the waits are summed per waking operation. */
#ifndef MW_QUERY_WAKERS_H
#define MW_QUERY_WAKERS_H
#include <stddef.h>
#include <stdint.h>

#include "query/query.h"

/* Slow spans followed: MW_WAKERS_SPANS unless asked, at most
 * MW_WAKERS_MAX_SPANS; they are the longest of at most MW_WAKERS_CANDIDATES
 * slow spans (at or above p90) that a stored trace covers. */
enum { MW_WAKERS_SPANS = 50, MW_WAKERS_MAX_SPANS = 200, MW_WAKERS_CANDIDATES = 1000 };

typedef struct mw_wakers_query {
  const char *service, *name; /* the operation */
  int64_t start_ns, end_ns;   /* its spans starting in [start, end) */
  size_t limit;               /* slow spans followed */
} mw_wakers_query;

/* GET /api/v1/wakers, in the query's one read transaction. MW_ENOTFOUND for
 * an unknown operation or one without spans in the range; slow spans that
 * no stored trace covers are passed over (the answer counts them). */
int mw__q_wakers(mw_query *q, const mw_wakers_query *p, mw_answer *out);

#endif

/* GET /metrics: the server's own figures in the Prometheus text format: the
 * caller's (the HTTP layer's counters) first, then the store's (write
 * queue, commit latency, database size, retention). */
#ifndef MW_QUERY_METRICS_H
#define MW_QUERY_METRICS_H
#include <stddef.h>

#include "core/metrics.h"
#include "query/query.h"

/* Times every group commit of s from now on (its latency histogram); once,
 * before traffic. */
void mw__q_metrics_attach(mw_store *s);
/* The answer: first's metrics (at most MW_METRICS_MAX_FIRST), then the
 * store's. Reads the store outside any query (a read of its page counts). */
enum { MW_METRICS_MAX_FIRST = 16 };
int mw__q_metrics(mw_store *s, const mw_metric_desc *first, size_t n_first, mw_answer *out);

#endif

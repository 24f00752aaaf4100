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
  /* a federated sub-request (docs/FEDERATION.md, "Compare"): the thresholds
   * the front found over every shard (0: this shard's own), and the answer
   * in the raw form the front merges */
  int64_t slow_ns, fast_ns;
  int raw;
} mw_compare_query;

/* --- what a comparison is made of, shared with the federated merge ----------- */

/* A node of the differential flame graph: w[0] the slow group's weight, w[1]
 * the fast one's (sums over the group's spans). */
typedef struct mw_cmp_node {
  const char *name; /* "func (file:line)" */
  double w[2];
  struct mw_cmp_node *kids, *next;
} mw_cmp_node;

enum { MW_CMP_SHARES = 14 }; /* cpu, gc_stw, gc_assist, runnable, blocked x8, children, unknown */

typedef struct mw_cmp_group {
  double share[MW_CMP_SHARES]; /* sums over the group's spans of each part's share of the span */
  size_t spans;
  size_t traced; /* spans an execution trace covers: the trace flame graph's */
  size_t gc_hit;
  int64_t threshold;
} mw_cmp_group;

/* n's child of this name, made when new (at most 64 children a node); NULL
 * past that or on exhaustion. */
mw_cmp_node *mw__cmp_child(mw_arena *a, mw_cmp_node *n, const char *name, size_t len);
/* The fields of the compare answer (docs/API.md) from its groups (slow,
 * fast) and both flame graphs: the trace's when both groups have traced
 * spans, else the samples'. The caller writes the braces. */
void mw__cmp_render(mw_jsonw *w, const char *service, const char *name, int64_t count, int64_t p50, int64_t p90,
                    const mw_cmp_group g[2], const mw_cmp_node *samples, const mw_cmp_node *trace);

/* GET /api/v1/compare. MW_ENOTFOUND for an unknown operation or one without
 * spans in the range. Each span is explained in a read transaction that may
 * be renewed between two of them, when the writer waits to empty the WAL
 * (mw__read_yield): a span gone by then is passed over. */
int mw__q_compare(mw_query *q, const mw_compare_query *p, mw_answer *out);

#endif

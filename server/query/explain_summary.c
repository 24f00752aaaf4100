/* The trace's summary (see explain_steps.h): one sentence that follows the
 * time from the root down to the span where it was spent. */
#include "query/explain_steps.h"

#include <stdint.h>

const char *mw__ex_summary(mw_arena *a, const mw_trace_explain *t) {
  /* the root: the longest span without a parent in the trace (a child
   * that outlives its root does not make it the root) */
  size_t root = 0;
  int found = 0;
  for (size_t i = 0; i < t->n_spans; i++)
    if (t->spans[i].parent < 0 && (!found || t->spans[i].span->dur_ns > t->spans[root].span->dur_ns))
      root = i, found = 1;
  /* follow the slowest child while children dominate */
  size_t at = root;
  for (int guard = 0; guard < 64; guard++) {
    const mw_span_explain *e = &t->spans[at];
    if (!e->n_causes || e->causes[0].kind != MW_K_CHILDREN) break;
    size_t next = SIZE_MAX;
    for (size_t i = 0; i < t->n_spans; i++)
      if (t->spans[i].parent == (int)at && (next == SIZE_MAX || t->spans[i].span->dur_ns > t->spans[next].span->dur_ns))
        next = i;
    if (next == SIZE_MAX) break;
    at = next;
  }
  const mw_span_explain *r = &t->spans[root], *leaf = &t->spans[at];
  int64_t took = t->end_ns - t->start_ns;
  const char *why = leaf->n_causes ? leaf->causes[0].summary : "nothing is known about it";
  if (at == root)
    return mw__ex_fmt(a, "%s (%s) took %.1f ms; most of it: %s.", r->span->name, r->service, mw__ex_ms(took), why);
  return mw__ex_fmt(a, "%s (%s) took %.1f ms; %.0f%% of it was in %s (%s, %.1f ms), which was %s%s.", r->span->name,
                    r->service, mw__ex_ms(took), 100.0 * (double)leaf->span->dur_ns / (double)(took > 0 ? took : 1),
                    leaf->span->name, leaf->service, mw__ex_ms(leaf->span->dur_ns), why,
                    leaf->n_causes && leaf->causes[0].scope == MW_SCOPE_OPERATION ? " (judged from similar spans)"
                                                                                  : "");
}

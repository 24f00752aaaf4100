/* The read API of execution traces (docs/EXECTRACE.md, "Reads"): the stored
 * traces, one trace as pushed, a span's goroutine history, and every
 * goroutine of a source in a time window. Each reads in the query's one read
 * transaction and answers JSON (or the trace's bytes). */
#ifndef MW_QUERY_EXECTRACE_H
#define MW_QUERY_EXECTRACE_H
#include <stddef.h>
#include <stdint.h>

#include "query/query.h"

/* Most goroutines a span's history shows of each role; wakers past it are
 * left out and "truncated" is set. */
enum {
  MW_XT_SPAN_GOROUTINES = 256,
  MW_XT_WINDOW_DEFAULT = 1000,
  MW_XT_WINDOW_MAX = 10000,
  MW_XT_LIST_MAX = 1000,
  MW_XT_LIST_DEFAULT = 100
};

/* {"exectraces":[...]}: the traces of source_id (0: all) overlapping
 * [from_ns, to_ns), newest first, at most limit ("more" when cut). */
int mw__q_exectraces(mw_query *q, int64_t source_id, int64_t from_ns, int64_t to_ns, size_t limit, mw_answer *out);
/* The trace as pushed (application/octet-stream, out->filename set); 404. */
int mw__q_exectrace_raw(mw_query *q, int64_t id, mw_answer *out);
/* The span's goroutine history; 404 when no stored trace names the span. */
int mw__q_exectrace_span(mw_query *q, const uint8_t trace_id[16], const uint8_t span_id[8], mw_answer *out);
/* Every goroutine of source_id's traces in [from_ns, to_ns), at most limit. */
int mw__q_exectrace_window(mw_query *q, int64_t source_id, int64_t from_ns, int64_t to_ns, size_t limit,
                           mw_answer *out);

#endif

/* A span's own profile: the CPU samples or goroutine groups labelled with one
 * span, as a gzip'd pprof that `go tool pprof` opens. */
#ifndef MW_QUERY_SPAN_PROFILE_H
#define MW_QUERY_SPAN_PROFILE_H
#include <stddef.h>
#include <stdint.h>

#include "query/query.h"

/* GET /api/v1/spans/{id}/profile: kind is "cpu" or "goroutine"; trace_id may
 * be NULL. The answer is the gzip'd protobuf. MW_ENOTFOUND when no sample
 * carries the span. */
int mw__q_span_profile(mw_query *q, const uint8_t span_id[8], const uint8_t *trace_id, const char *kind,
                       mw_answer *out);

#endif

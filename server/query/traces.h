/* Span queries: one trace as OTLP JSON (Tempo's shape), and the trace search
 * (docs/API.md, "Queries"). */
#ifndef MW_QUERY_TRACES_H
#define MW_QUERY_TRACES_H
#include <stdint.h>

#include "query/query.h"

/* GET /api/traces/{id}: {"batches": [ResourceSpans...]}. 404 for an unknown
 * trace, MW_ETOOBIG for one of more than MW_TRACE_MAX_SPANS spans. */
enum { MW_TRACE_MAX_SPANS = 100000 };
int mw__q_trace(mw_query *q, const uint8_t trace_id[16], mw_answer *out);
/* The same trace in the forms of Tempo's two trace-by-id endpoints: v1
 * {"batches": [...]} or its protobuf (tempopb.Trace, wire-identical to OTLP
 * TracesData), v2 {"trace": {"resourceSpans": [...]}, "status": "COMPLETE"}
 * or its protobuf (tempopb.TraceByIDResponse). */
enum mw_trace_format { MW_TRACE_V1_JSON, MW_TRACE_V2_JSON, MW_TRACE_V1_PB, MW_TRACE_V2_PB };
int mw__q_trace_as(mw_query *q, const uint8_t trace_id[16], enum mw_trace_format fmt, mw_answer *out);

/* GET /api/search: the traces with a span that matches p, slowest matching
 * span first, in pages. */
enum { MW_SEARCH_DEFAULT_LIMIT = 20, MW_SEARCH_MAX_LIMIT = 1000 };
int mw__q_search(mw_query *q, const mw_search_query *p, mw_answer *out);

#endif

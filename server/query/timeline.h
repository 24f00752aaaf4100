/* The timeline of a trace: its spans and, over the trace's time range plus a
 * margin, the runtime lanes of every source involved (docs/API.md). */
#ifndef MW_QUERY_TIMELINE_H
#define MW_QUERY_TIMELINE_H
#include <stdint.h>

#include "query/query.h"

/* The margin around the trace: 500 ms unless asked, at most an hour. */
#define MW_TIMELINE_MARGIN_NS 500000000LL
#define MW_TIMELINE_MAX_MARGIN_NS 3600000000000LL

/* GET /api/v1/traces/{id}/timeline. Errors: MW_ENOTFOUND, MW_ETOOBIG (more
 * spans than a timeline shows), MW_EIO (a lane could not be read: never an
 * empty lane), MW_ENOMEM. */
int mw__q_timeline(mw_query *q, const uint8_t trace_id[16], int64_t margin_ns, mw_answer *out);
/* The same with the lanes over [from_ns, to_ns) when from_ns < to_ns (a
 * federated sub-request: the window of the whole trace, over every shard;
 * docs/FEDERATION.md, "Timeline"). */
int mw__q_timeline_in(mw_query *q, const uint8_t trace_id[16], int64_t margin_ns, int64_t from_ns, int64_t to_ns,
                      mw_answer *out);

#endif

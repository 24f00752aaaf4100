/* Reads over sealed span blocks merged with the old `spans` rows (issue 17,
 * docs/STORAGE-WIRING.md §1, "TR(id)"). The trace read itself keeps its
 * store.h entry point, mw__store_read_trace, which now reads both. */
#ifndef MW_STORE_BLOCK_READ_H
#define MW_STORE_BLOCK_READ_H
#include <stdint.h>

#include "core/arena.h"
#include "store/store.h"

/* The most candidate blocks one trace lookup reads (the trace index may name
 * blocks that hold other traces sharing the first 8 bytes of the id): past
 * it the read answers MW_ETOOBIG. */
enum { MW_TRACE_MAX_BLOCKS = 256 };
/* The most span ids mw__store_xt_trace_hits reads of one trace (as the
 * trace read's MW_TRACE_MAX_SPANS, server/query/traces.h). */
enum { MW_TRACE_MAX_IDS = 100000 };

/* One span by trace and span id, from the old rows or the blocks (the first
 * found when stored twice): ids, times, op_id, source_id, scope_id, kind,
 * status and the parent; name NULL and no body. Returns 0, MW_ENOTFOUND,
 * MW_ETOOBIG (the trace's candidate blocks past MW_TRACE_MAX_BLOCKS), MW_EIO
 * or MW_ENOMEM. */
int mw__store_span_by_id(mw_read *rd, mw_arena *a, const uint8_t trace_id[16], const uint8_t span_id[8],
                         mw_stored_span *out);

/* h->trace_id's root span (the parentless span with the smallest start:
 * root_service, root_name, NULL when none has arrived) and extent (start_ns,
 * dur_ns = max end - min start; both 0 for an unknown trace), over old rows
 * and blocks. Returns 0, MW_ETOOBIG, MW_EIO or MW_ENOMEM. */
int mw__store_trace_meta(mw_read *rd, mw_arena *a, mw_search_hit *h);

/* The distinct span ids of a trace (old rows and blocks), at most max (else
 * MW_ETOOBIG), sorted by byte order, into *ids (n x 8 bytes in a). Returns 0,
 * MW_ETOOBIG, MW_EIO or MW_ENOMEM. */
int mw__store_trace_span_ids(mw_read *rd, mw_arena *a, const uint8_t trace_id[16], size_t max, uint8_t (**ids)[8],
                             size_t *n);

#endif

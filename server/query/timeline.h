/* The timeline of a trace: its spans and, over the trace's time range plus a
 * margin, the runtime lanes of every source involved (docs/API.md). */
#ifndef MW_QUERY_TIMELINE_H
#define MW_QUERY_TIMELINE_H
#include <stdint.h>

#include "core/arena.h"
#include "core/jsonw.h"
#include "store/store.h"

/* Writes the timeline. Returns 0, MW_ENOTFOUND, MW_ETOOBIG, MW_EIO or MW_ENOMEM. */
int mw__timeline_json(mw_store *s, mw_arena *a, const uint8_t trace_id[16], int64_t margin_ns, mw_jsonw *w);

#endif

/* Slow against fast: the spans of one operation at or above its p90 against
 * those at or below its p50 (docs/API.md, "compare"). */
#ifndef MW_QUERY_COMPARE_H
#define MW_QUERY_COMPARE_H
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/jsonw.h"
#include "store/store.h"

/* Writes the comparison. Returns 0, MW_ENOTFOUND (unknown operation or no
 * spans in the range) or an error. */
int mw__compare_json(mw_store *s, mw_arena *a, const char *service, const char *name, int64_t start_ns,
                     int64_t end_ns, size_t per_group, mw_jsonw *w);

#endif

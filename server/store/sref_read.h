/* Reading the span a block sref names (store/sref.h: sref < 0, a span of a
 * span_blocks row): the one place that turns such a reference into a span,
 * for every reader that holds srefs (slow_spans.span_rowid, search hits, the
 * op queries' {sref, dur} pairs). An old row (sref > 0) stays with the
 * caller's own statement on spans.
 *
 * A resolver lives for one query on one read transaction. It opens a block
 * with SELECT source_id, data FROM span_blocks WHERE id = ?1 and keeps the
 * last MW__SREF_BLOCKS opened (each in an arena of its own, freed when it is
 * pushed out), so that hits in the same block open it once. What it returns
 * is copied into the caller's arena. */
#ifndef MW_STORE_SREF_READ_H
#define MW_STORE_SREF_READ_H
#include <stdint.h>

#include "core/arena.h"
#include "store/readers.h"
#include "store/store.h"

enum { MW__SREF_BLOCKS = 8 };

/* The statements of a resolver (for the plan checks of test_block_write). */
#define MW__SREF_BLOCK_SQL "SELECT source_id, data FROM span_blocks WHERE id = ?1"
#define MW__SREF_NAME_SQL "SELECT name FROM operations WHERE id = ?1"

typedef struct mw__sref_rd mw__sref_rd;

enum mw__sref_what {
  MW__SREF_IDS = 0,   /* trace_id, span_id, start_ns, dur_ns, op_id, source_id (no body frame decoded) */
  MW__SREF_WHOLE = 1, /* every field of mw_stored_span, name (operations.name) and body included */
};

/* A resolver on r's transaction. Returns 0 or MW_ENOMEM. */
int mw__sref_rd_new(mw_read *r, mw__sref_rd **out);
void mw__sref_rd_free(mw__sref_rd *s);

/* The span block sref (< 0) names, into *out (zeroed first; the fields what
 * says, body and name in a). Returns 0, MW_ENOTFOUND (its block is gone:
 * retention deleted it since the sref was read), MW_EINVAL (sref is not a
 * block sref), MW_EIO (the block is damaged or does not hold that index, or
 * SQLite failed) or MW_ENOMEM. */
int mw__sref_get(mw__sref_rd *s, mw_arena *a, int64_t sref, enum mw__sref_what what, mw_stored_span *out);

#endif

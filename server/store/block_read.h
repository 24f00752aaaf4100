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

/* ---- an operation's spans in blocks (block_ops) ----------------------------- */

/* The most durations mw__store_op_quantile gathers for one window once
 * blocks hold spans (MW_ETOOBIG past it: "window too large"). */
enum { MW_OPQ_MAX = 1000000 };

/* A block_ops row: the spans of one operation in one sealed block. refs
 * (store/block_write.h, mw__refs_init) points into SQLite's row: valid only
 * during the callback. */
typedef struct mw__op_row {
  int64_t block_id, first_ns, last_ns, n, max_dur_ns;
  const uint8_t *refs;
  size_t refs_len;
  int64_t rowid; /* block_ops.rowid (mw__store_op_keys) */
} mw__op_row;

/* BO(op, t0, t1): calls each for every block_ops row of op whose block may
 * hold spans starting in [t0, t1) (first_ns in [t0 - 120 s, t1)), oldest
 * block first or newest first. each returns 0 (go on), 1 (stop) or an
 * error, which this returns. Returns 0, MW_EIO or each's error. */
int mw__store_op_rows(mw_read *rd, int64_t op_id, int64_t t0, int64_t t1, int newest_first,
                      int (*each)(void *user, const mw__op_row *row), void *user);
/* BO as mw__store_op_rows, from the index alone: each row's refs are NULL
 * until mw__op_row_refs reads them, so that rows the caller can judge by
 * their times and counts cost no table seek and no refs read. */
int mw__store_op_keys(mw_read *rd, int64_t op_id, int64_t t0, int64_t t1, int newest_first,
                      int (*each)(void *user, mw_read *rd, mw__op_row *row), void *user);
/* Reads row's refs (valid until the next call). Returns 0, MW_ENOTFOUND,
 * MW_EIO. */
int mw__op_row_refs(mw_read *rd, mw__op_row *row);

/* One span of an operation: its span reference (store/sref.h: > 0 an old
 * row's rowid, < 0 a block's span), start and duration. */
typedef struct mw__op_span {
  int64_t sref, start_ns, dur_ns;
} mw__op_span;

/* Appends to *v (n of *cap, grown with malloc: the caller frees) the spans of
 * a block_ops row whose start is in [t0, t1) and duration in [min_dur,
 * max_dur]. At most max in all (MW_ETOOBIG past it). Returns 0, MW_EIO (a
 * malformed refs blob), MW_ETOOBIG or MW_ENOMEM. */
int mw__op_row_spans(const mw__op_row *row, int64_t t0, int64_t t1, int64_t min_dur, int64_t max_dur, mw__op_span **v,
                     size_t *n, size_t *cap, size_t max);

/* The trace and span ids of the spans srefs[0..n) name (old rows or blocks,
 * each block opened once) into out[i], with their start and duration for
 * old rows, and for block spans when want_times (else 0: a caller that read
 * them from block_ops.refs has them, and the block's time columns are not
 * decoded); found[i] = 0 for one that is gone (retention). Returns 0, MW_EIO
 * or MW_ENOMEM. */
/* Frees a read connection's cache of block id columns (NULL: nothing). */
struct mw__ids_cache;
void mw__ids_cache_free(struct mw__ids_cache *c);

int mw__store_sref_spans(mw_read *rd, mw_arena *a, const int64_t *srefs, size_t n, int want_times, mw_span_ref *out,
                         int *found);

/* ---- the view V of memory for window queries (store/blocks.h) ------------ */

/* A pseudo span reference for the k-th span of a query's own list of spans
 * of memory (V), which have no span reference: never a real one (that would
 * need a block id near 2^47); mw__store_sref_spans must not be given one. */
#define MEM_SREF(k) (INT64_MIN + (int64_t)(k))
#define IS_MEM_SREF(s) ((s) < INT64_MIN + ((int64_t)1 << 32))

struct mw__sb_span;
/* Hands each(user, span, source_id) every span of the reader's view of memory
 * (open blocks, and retired blocks not yet visible in its snapshot's
 * span_blocks: those are read from the database) of source (0: any) and
 * op_id (0: any) that starts in [t0, t1). No writer memory (pool->blk NULL):
 * nothing. each returns 0 (go on), 1 (stop) or an error. Returns 0, MW_EIO,
 * MW_ENOMEM or each's error. */
int mw__store_view_spans(mw_read *rd, mw_arena *a, int64_t source, int64_t op_id, int64_t t0, int64_t t1,
                         int (*each)(void *user, const struct mw__sb_span *s, int64_t source_id), void *user);

#endif

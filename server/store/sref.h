/* The span reference (docs/STORAGE-WIRING.md, "Terms"): one int64_t for both
 * kinds of stored span, so that slow_spans.span_rowid, hit rows and the
 * {rowid, dur} pairs of the op queries keep their type and their order.
 *   > 0  a spans.rowid (an old row, written before migration 0008)
 *   < 0  -1 - (block_id << 16 | index): the span at index (< 65,536, which
 *        the codec enforces: MW__SB_MAX_SPANS) of span_blocks row block_id
 *        (1 .. 2^47 - 1)
 *   0    nothing (no rowid is 0)
 * Pure arithmetic; reading the span a reference names is block_read.h's
 * (mw__store_sref_spans). */
#ifndef MW_STORE_SREF_H
#define MW_STORE_SREF_H
#include <stdint.h>

#define MW__SREF_MAX_BLOCK (((int64_t)1 << 47) - 1)

/* The reference of span index (< 65,536) of block block_id (1 .. MW__SREF_MAX_BLOCK). */
static inline int64_t mw__sref_block(int64_t block_id, uint32_t index) {
  return -1 - (int64_t)((uint64_t)block_id << 16 | (index & 0xffffu));
}
/* 1 when r is a spans.rowid (an old row), 0 when it names a span of a block. */
static inline int mw__sref_is_row(int64_t r) { return r > 0; }
/* The block and index a block reference (r < 0) names. */
static inline void mw__sref_split(int64_t r, int64_t *block_id, uint32_t *index) {
  uint64_t v = (uint64_t)(-1 - r);
  *block_id = (int64_t)(v >> 16);
  *index = (uint32_t)(v & 0xffffu);
}

#endif

/* One goroutine's intervals and wake edges of an execution trace as one
 * compact blob, the unit the store keeps (model/exectrace.h). Written by
 * ingest, read back by queries; both ends are here so that the format is
 * defined once.
 *
 * The format: one byte, 0 (what follows is the body) or 1 (what follows is
 * one zstd frame of the body, used when that is smaller). The body is
 * column by column, so that zstd finds the repeats: the distinct reason
 * strings (count, then length + bytes each); the interval count, then each
 * column of the intervals (state, reason index + 1, raw reason index + 1,
 * start minus the previous interval's end (zigzag), duration, stack, span);
 * the wake count, then the wakes' columns (waker, time minus the previous
 * wake's (zigzag), waker stack, waker span, span). Every number is a
 * protobuf-style varint. */
#ifndef MW_DECODE_EXECTRACE_BLOB_H
#define MW_DECODE_EXECTRACE_BLOB_H
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "model/exectrace.h"

/* Encodes intervals iv[0..n_iv) and wakes wk[0..n_wk) (of one goroutine, in
 * time order) into *out (allocated in a), *len bytes. Returns 0 or MW_ENOMEM. */
int mw__xt_blob_encode(mw_arena *a, const mw_xt_interval *iv, size_t n_iv, const mw_xt_wake *wk, size_t n_wk,
                       const uint8_t **out, size_t *len);

typedef struct mw_xt_blob {
  mw_xt_interval *intervals;
  size_t n_intervals;
  mw_xt_wake *wakes;
  size_t n_wakes;
} mw_xt_blob;

/* Decodes a blob into *out (arrays and strings in a). A blob that would
 * decompress past max_body bytes, or is malformed, is MW_EINVAL; MW_ENOMEM. */
int mw__xt_blob_decode(mw_arena *a, const uint8_t *blob, size_t len, size_t max_body, mw_xt_blob *out);

#endif

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
 * start minus the previous interval's end (zigzag), duration, stack, span,
 * clipped);
 * the wake count, then the wakes' columns (waker, time minus the previous
 * wake's (zigzag), waker stack, waker span, span). Every number is a
 * protobuf-style varint. */
#ifndef MW_DECODE_EXECTRACE_BLOB_H
#define MW_DECODE_EXECTRACE_BLOB_H
#include <stddef.h>
#include <stdint.h>

#include <zstd.h>

#include "core/arena.h"
#include "decode/exectrace.h"
#include "model/exectrace.h"

/* Encodes intervals iv[0..n_iv) and wakes wk[0..n_wk) (of one goroutine, in
 * time order) into *out (allocated in a), *len bytes, compressing with zc when
 * given (one context for the many goroutines of a trace), else with a context
 * of its own. Returns 0 or MW_ENOMEM. */
int mw__xt_blob_encode(mw_arena *a, ZSTD_CCtx *zc, const mw_xt_interval *iv, size_t n_iv, const mw_xt_wake *wk,
                       size_t n_wk, const uint8_t **out, size_t *len);

/* The same blob from decoded records: the intervals recs[idx[0..n_iv)]
 * (their reasons strs'), so that a goroutine's intervals need not be
 * copied out of the decoded arrays (one goroutine of a busy window can
 * have three million). */
int mw__xt_blob_encode_recs(mw_arena *a, ZSTD_CCtx *zc, const mw_xt_rec_interval *recs, const char *const *strs,
                            const uint32_t *idx, size_t n_iv, const mw_xt_wake *wk, size_t n_wk, const uint8_t **out,
                            size_t *len);

typedef struct mw_xt_blob {
  mw_xt_interval *intervals;
  size_t n_intervals;
  mw_xt_wake *wakes;
  size_t n_wakes;
} mw_xt_blob;

/* Decodes a blob into *out (arrays and strings in a). A blob that would
 * decompress past max_body bytes, or is malformed, is MW_EINVAL; MW_ENOMEM. */
int mw__xt_blob_decode(mw_arena *a, const uint8_t *blob, size_t len, size_t max_body, mw_xt_blob *out);

/* A trace's spans and which goroutine ran which between which times (the
 * span index's detail: the store indexes only span id -> trace), in two
 * parts: ids, the span ids (8 bytes each, by ref: random, so kept as they
 * are, and readable by the store without this codec); and blob, the format
 * byte as above then (zstd of) the distinct trace ids (count, 16 bytes
 * each), each span's trace (index + 1, 0 none), then the runs sorted by
 * span ref: count, then columns of ref delta, goroutine, first_ns -
 * base_ns (zigzag), last_ns - first_ns. */
int mw__xt_spans_encode(mw_arena *a, const mw_xt_span *spans, size_t n_spans, const mw_xt_span_run *runs, size_t n_runs,
                        int64_t base_ns, const uint8_t **ids, size_t *ids_len, const uint8_t **blob, size_t *blob_len);

typedef struct mw_xt_span_table {
  mw_xt_span *spans; /* ref i is spans[i - 1]; names are "" */
  size_t n_spans;
  mw_xt_span_run *runs; /* by ref, then goroutine */
  size_t n_runs;
} mw_xt_span_table;

/* Decodes what mw__xt_spans_encode made (same base_ns) into *out (in a);
 * MW_EINVAL when malformed or its body passes max_body, MW_ENOMEM. */
int mw__xt_spans_decode(mw_arena *a, const uint8_t *ids, size_t ids_len, const uint8_t *blob, size_t blob_len,
                        int64_t base_ns, size_t max_body, mw_xt_span_table *out);

#endif

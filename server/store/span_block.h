/* The span block: up to MW__SB_MAX_SPANS spans of one source in one blob, laid
 * out by column and compressed (issue 17, docs/STORAGE-NOTES.md §4 "whole rows
 * in blocks, by column" and §7). No SQLite here: the writer stores the blob in
 * span_blocks.data, the readers hand it back to mw__sb_open.
 *
 * Layout, format 1 (all varints are LEB128, unsigned unless said "zigzag"):
 *
 *   "MWSB" u8 version (1)  varint n (1..MW__SB_MAX_SPANS)
 *   zigzag first_ns (min start)  zigzag last_ns (max start+dur, saturated)
 *   for each of the 5 columns, then each of the ceil(n/128) body frames:
 *     varint zlen (bytes of its zstd frame)  varint rawlen (bytes once decompressed)
 *   u32 LE crc32 (zlib's) of everything above
 *   the frames, in that order, back to back, and nothing after them
 *
 * Spans are sorted by (trace id, start, input order). Each column, then each
 * body frame, is one zstd -3 frame with its content size and checksum (so that
 * with the header's crc a damaged block reads as MW_EIO, not as other spans) of:
 *   0 trace ids  per distinct trace: varint index of its first span, 16-byte id
 *                (first index 0, indexes and ids strictly increasing)
 *   1 span ids   n × 8 raw bytes
 *   2 parents    per span: varint 0 none, 1 elsewhere (8 raw bytes follow),
 *                2 + i the span at index i of this block
 *   3 times      per span: varint start - first_ns (mod 2^64), zigzag dur_ns
 *   4 small      per span: varint op_id, scope_id (as uint64), kind, status (as uint32)
 *   5.. bodies   per span of frame j (spans 128j .. 128j+127): varint len, bytes;
 *                frames after the first are compressed with the first's
 *                decompressed bytes as prefix (ZSTD_CCtx_refPrefix): alone,
 *                128 bodies compress to 25.4 B/span on the corpus, with the
 *                prefix to 18.1 (one frame of 1,024: 17.1; bench/block), and a
 *                lookup decompresses at most two body frames
 *
 * Reading decompresses a column (or a body frame) the first time it is needed
 * and keeps it, decoded, in the block's arena; every column is checked whole
 * when decoded (exact entry count and length, indexes in range), so a block
 * that is not one of ours gives MW_EIO, never a crash or a read past it. */
#ifndef MW_STORE_SPAN_BLOCK_H
#define MW_STORE_SPAN_BLOCK_H
#include <stddef.h>
#include <stdint.h>
#include <zstd.h>

#include "core/arena.h"
#include "core/buf.h"
#include "store/store.h"

enum {
  MW__SB_VERSION = 1,
  MW__SB_MAX_SPANS = 65536, /* a block holds 1..this many spans */
  MW__SB_BODY_FRAME = 128,  /* spans per body frame */
};
/* The most bytes one column or body frame may hold decompressed (encode
 * answers MW_ETOOBIG past it; decode refuses a header that claims more). */
#define MW__SB_MAX_RAW ((size_t)64 << 20)

/* One span to encode. */
typedef struct mw__sb_span {
  uint8_t trace_id[16], span_id[8], parent_id[8];
  int has_parent;
  int64_t op_id, scope_id, start_ns, dur_ns;
  int kind, status;
  const uint8_t *body; /* the stored span form's body (decode/span_form.h); may be NULL when body_len is 0 */
  size_t body_len;
} mw__sb_span;

/* An encoder: zstd context and scratch buffers, reused from block to block
 * (one per thread). */
typedef struct mw__sb_enc mw__sb_enc;
mw__sb_enc *mw__sb_enc_new(void); /* NULL: out of memory */
void mw__sb_enc_free(mw__sb_enc *e);

/* The block's order of spans[0..n): perm[k] = the input index of the span at
 * index k of the block (by trace id, then start, then input order; the order
 * mw__sb_encode writes them in). perm and tmp (scratch) hold n entries each;
 * n <= MW__SB_MAX_SPANS. No allocation. */
void mw__sb_order(const mw__sb_span *v, size_t n, uint32_t *perm, uint32_t *tmp);

/* Appends the block of spans[0..n) to out (spans is not changed; the order of
 * the input does not matter). Returns 0, MW_EINVAL (n is 0 or past
 * MW__SB_MAX_SPANS), MW_ETOOBIG (a column past MW__SB_MAX_RAW, or out's max),
 * MW_ENOMEM or MW_EIO (zstd failed). On failure out holds what it held before,
 * unless out itself failed (mw_buf's sticky error). */
int mw__sb_encode(mw__sb_enc *e, const mw__sb_span *spans, size_t n, mw_buf *out);

/* --- reading ---------------------------------------------------------------- */

typedef struct mw__sb_block mw__sb_block;

typedef struct mw__sb_info {
  int version;
  size_t n;
  int64_t first_ns, last_ns;
  size_t raw_bytes; /* all columns and bodies once decompressed */
} mw__sb_info;

/* Opens a block: checks the header and the frame directory (not the frames:
 * each is checked when first decoded). data must outlive the block; the block
 * and everything it decodes live in a (the arena's max bounds the memory a
 * block may take). dctx: a decompression context the caller keeps (one per
 * thread, reused over many blocks: ZSTD_createDCtx), used by the block's
 * reads until the arena is freed.
 * Returns 0, MW_EIO (not a block of a version we read) or MW_ENOMEM. */
int mw__sb_open(mw_arena *a, ZSTD_DCtx *dctx, const uint8_t *data, size_t len, mw__sb_block **out);
void mw__sb_info_get(const mw__sb_block *b, mw__sb_info *out);

/* The spans of a trace: indexes [*first, *first + *count), in start order
 * (*count 0 when the block has none). Decodes the trace id column only.
 * Returns 0, MW_EIO or MW_ENOMEM. */
int mw__sb_find_trace(mw__sb_block *b, const uint8_t trace_id[16], size_t *first, size_t *count);
/* The index of the span with this span id (the first, if the block holds it
 * twice). Decodes the span id column only. Returns 0, MW_ENOTFOUND, MW_EIO or
 * MW_ENOMEM. */
int mw__sb_find_span(mw__sb_block *b, const uint8_t span_id[8], size_t *index);
/* Span i (i < n) into *out: decodes the columns and the one body frame it
 * needs. out->body points into the block's arena; out->source_id is 0 and
 * out->name NULL (the block knows neither: the caller fills them from
 * span_blocks.source_id and op_id). Iterating i = 0..n-1 reads the whole block
 * in (trace id, start) order. Returns 0, MW_EINVAL (i out of range), MW_EIO
 * or MW_ENOMEM. */
int mw__sb_get(mw__sb_block *b, size_t i, mw_stored_span *out);
/* Span i's trace id, span id, start, duration and op id (any output may be
 * NULL), without decoding a body frame (the id, time and small columns
 * only). Returns 0, MW_EINVAL (i out of range), MW_EIO or MW_ENOMEM. */
int mw__sb_get_ids(mw__sb_block *b, size_t i, uint8_t trace_id[16], uint8_t span_id[8], int64_t *start_ns,
                   int64_t *dur_ns, int64_t *op_id);
/* Every span's trace id and span id, in index order: out holds n x 24 bytes
 * (n from mw__sb_info_get), {trace id 16, span id 8} each. Decodes the two id
 * columns only. Returns 0, MW_EIO or MW_ENOMEM. */
int mw__sb_all_ids(mw__sb_block *b, uint8_t *out);
/* The block's distinct trace ids: *ids = *n × 16 bytes in the block's arena,
 * in increasing byte order. Decodes the trace id column only. Returns 0,
 * MW_EIO or MW_ENOMEM. */
int mw__sb_trace_ids(mw__sb_block *b, const uint8_t **ids, size_t *n);
/* Index of span i's parent in this block, or -1 (no parent, or a parent
 * elsewhere); after a successful mw__sb_get(b, i, ...). */
long mw__sb_parent_index(const mw__sb_block *b, size_t i);

#endif

/* The span block reader (store/span_block.h): mw__sb_open, then every lookup
 * and every span. Byte 0 chooses how the rest becomes a block:
 *
 *   0  the rest is a block, as stored (seeds: blocks written by bench-block
 *      from a bench-corpus-gen corpus)
 *   1  the same, with the header's crc32 made right and the zstd frames'
 *      checksums ignored, so that mutations reach the frame directory and
 *      the decompressed columns
 *   2  the rest is the columns themselves, before zstd: byte 0 n - 1, then
 *      for each column and body frame a u16 LE length and its bytes; the
 *      harness compresses them and writes the header, so that the column
 *      parsers see the fuzzer's bytes directly
 *
 * Besides the sanitizers: only the documented errors come out; a block that
 * reads finds each span's trace at a range that holds it, and each span id at
 * an index with that id. */
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_d_forceIgnoreChecksum */
#include "fuzz_common.h"
#include <zlib.h>

#include "core/buf.h"
#include "store/span_block.h"

static ZSTD_DCtx *dctx, *dctx_nocheck;

static void put_uv(mw_buf *b, uint64_t v) {
  while (v >= 0x80) mw__buf_addc(b, (char)(v | 0x80)), v >>= 7;
  mw__buf_addc(b, (char)v);
}

static void put_crc(mw_buf *b, size_t head) {
  uLong crc = crc32(0, (const Bytef *)b->data, (uInt)head);
  char le[4] = {(char)crc, (char)(crc >> 8), (char)(crc >> 16), (char)(crc >> 24)};
  mw__buf_add(b, le, 4);
}

/* Mode 2: a block around raw columns. */
static void build(const uint8_t *p, size_t size, mw_buf *out) {
  if (!size) return;
  size_t n = (size_t)p[0] + 1, nf = 5 + (n + MW__SB_BODY_FRAME - 1) / MW__SB_BODY_FRAME;
  p++, size--;
  mw_buf z;
  mw__buf_init(&z, SIZE_MAX);
  mw__buf_add(out, "MWSB\x01", 5);
  put_uv(out, n);
  put_uv(out, 2000), put_uv(out, 4000);
  for (size_t k = 0; k < nf; k++) {
    size_t len = size >= 2 ? (size_t)p[0] | (size_t)p[1] << 8 : 0;
    p += size >= 2 ? 2 : size, size -= size >= 2 ? 2 : size;
    if (len > size) len = size;
    char *dst = mw__buf_reserve(&z, ZSTD_compressBound(len));
    if (!dst) abort();
    size_t zn = ZSTD_compress(dst, ZSTD_compressBound(len), len ? p : (const uint8_t *)"", len, 1);
    FUZZ_CHECK(!ZSTD_isError(zn));
    z.len += zn;
    put_uv(out, zn), put_uv(out, len);
    p += len, size -= len;
  }
  put_crc(out, out->len);
  mw__buf_add(out, z.data ? z.data : "", z.len);
  mw__buf_free(&z);
}

/* Mode 1: the header's crc made right (when the directory parses at all). */
static void fix_crc(uint8_t *d, size_t size) {
  size_t i = 5, nf;
  uint64_t v[3] = {0};
  for (int k = 0; k < 3; k++)
    for (unsigned sh = 0; i < size && sh < 64; sh += 7) {
      v[k] |= (uint64_t)(d[i] & 0x7f) << sh;
      if (!(d[i++] & 0x80)) break;
    }
  if (!v[0] || v[0] > MW__SB_MAX_SPANS) return;
  nf = 5 + ((size_t)v[0] + MW__SB_BODY_FRAME - 1) / MW__SB_BODY_FRAME;
  for (size_t k = 0; k < 2 * nf; k++)
    for (unsigned sh = 0; i < size && sh < 64; sh += 7)
      if (!(d[i++] & 0x80)) break;
  if (i + 4 > size) return;
  uLong crc = crc32(0, d, (uInt)i);
  d[i] = (uint8_t)crc, d[i + 1] = (uint8_t)(crc >> 8), d[i + 2] = (uint8_t)(crc >> 16), d[i + 3] = (uint8_t)(crc >> 24);
}

static int documented(int rc) { return rc == MW_EIO || rc == MW_ENOMEM; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!dctx) {
    dctx = ZSTD_createDCtx();
    dctx_nocheck = ZSTD_createDCtx();
    if (!dctx || !dctx_nocheck || ZSTD_isError(ZSTD_DCtx_setParameter(dctx_nocheck, ZSTD_d_forceIgnoreChecksum, 1)))
      abort();
  }
  if (!size) return 0;
  int mode = data[0] % 3;
  mw_buf blk;
  mw__buf_init(&blk, SIZE_MAX);
  if (mode == 2) build(data + 1, size - 1, &blk);
  else mw__buf_add(&blk, data + 1, size - 1);
  if (mode == 1 && blk.len) fix_crc((uint8_t *)blk.data, blk.len);
  /* an exact-size copy: ASan sees any read past the block */
  size_t len = blk.len;
  uint8_t *copy = malloc(len ? len : 1);
  if (!copy) abort();
  if (len) memcpy(copy, blk.data, len);
  mw__buf_free(&blk);

  mw_arena *a = fuzz_arena();
  mw__sb_block *b;
  int rc = mw__sb_open(a, mode == 0 ? dctx : dctx_nocheck, copy, len, &b);
  FUZZ_CHECK(rc == 0 || documented(rc));
  if (!rc) {
    mw__sb_info info;
    mw__sb_info_get(b, &info);
    FUZZ_CHECK(info.n >= 1 && info.n <= MW__SB_MAX_SPANS && info.version == MW__SB_VERSION);
    size_t first, count, idx;
    uint8_t zero[16] = {0};
    rc = mw__sb_find_trace(b, zero, &first, &count);
    FUZZ_CHECK(rc == 0 || documented(rc));
    if (!rc) FUZZ_CHECK(first + count <= info.n);
    rc = mw__sb_find_span(b, zero, &idx);
    FUZZ_CHECK(rc == 0 || rc == MW_ENOTFOUND || documented(rc));
    if (!rc) FUZZ_CHECK(idx < info.n);
    mw_stored_span s;
    for (size_t i = 0; i < info.n; i++) {
      rc = mw__sb_get(b, i, &s);
      FUZZ_CHECK(rc == 0 || documented(rc));
      if (rc) break;
      fuzz_touch_bytes(s.body, s.body_len);
      long p = mw__sb_parent_index(b, i);
      FUZZ_CHECK(p < (long)info.n);
      if (p >= 0) FUZZ_CHECK(s.has_parent);
      FUZZ_CHECK(mw__sb_find_trace(b, s.trace_id, &first, &count) == 0);
      FUZZ_CHECK(count >= 1 && first <= i && i < first + count);
      FUZZ_CHECK(mw__sb_find_span(b, s.span_id, &idx) == 0);
      FUZZ_CHECK(idx <= i);
    }
    FUZZ_CHECK(mw__sb_get(b, info.n, &s) == MW_EINVAL);
  }
  mw__arena_free(a);
  free(copy);
  return 0;
}

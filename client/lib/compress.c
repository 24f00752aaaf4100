/* Request body compression for libmeanwhile: zstd (one shot) or gzip (zlib
 * with a gzip wrapper). Bodies that already are compressed are left alone by
 * the caller (mw__client_is_compressed): Go serves its pprof profiles gzip'd. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "client_int.h"

int mw__client_is_compressed(const void *body, size_t len) {
  const uint8_t *b = body;
  if (len >= 2 && b[0] == 0x1f && b[1] == 0x8b) return 1;                                 /* gzip */
  if (len >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd) return 1; /* zstd */
  return 0;
}

/* One deflate call: bodies are at most a few MiB (the collector takes 64 MiB),
 * far below zlib's 4 GiB counters; larger ones are refused. */
static int gzip_body(int level, const void *body, size_t len, uint8_t **out, size_t *out_len) {
  int rc = MW_ERR_COMPRESS;
  if (len > (1u << 30)) return MW_ERR_INVAL;
  z_stream z;
  memset(&z, 0, sizeof z);
  if (deflateInit2(&z, level ? level : 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return MW_ERR_NOMEM;
  uLong cap = deflateBound(&z, (uLong)len);
  uint8_t *buf = malloc(cap);
  if (!buf) {
    rc = MW_ERR_NOMEM;
    goto out;
  }
  z.next_in = (Bytef *)body;
  z.avail_in = (uInt)len;
  z.next_out = buf;
  z.avail_out = (uInt)cap;
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) goto out;
  *out = buf;
  *out_len = (size_t)z.total_out;
  buf = NULL;
  rc = 0;
out:
  free(buf);
  deflateEnd(&z);
  return rc;
}

static int zstd_body(int level, const void *body, size_t len, uint8_t **out, size_t *out_len) {
  size_t cap = ZSTD_compressBound(len);
  uint8_t *buf = malloc(cap ? cap : 1);
  if (!buf) return MW_ERR_NOMEM;
  size_t n = ZSTD_compress(buf, cap, body, len, level ? level : 3);
  if (ZSTD_isError(n)) {
    free(buf);
    return MW_ERR_COMPRESS;
  }
  *out = buf;
  *out_len = n;
  return 0;
}

int mw__client_compress(mw_encoding enc, int level, const void *body, size_t len, uint8_t **out, size_t *out_len) {
  if (enc == MW_ENCODING_GZIP) return gzip_body(level, body, len, out, out_len);
  if (enc == MW_ENCODING_ZSTD) return zstd_body(level, body, len, out, out_len);
  return MW_ERR_INVAL;
}

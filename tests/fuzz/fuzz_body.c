/* Request bodies: the streaming mw__body_decoder, fed in chunks.
 *
 * Input: byte 0 picks the encoding (low 2 bits: identity, gzip, deflate,
 * zstd) and seeds the chunking (high 6 bits); the rest is the body. The chunk
 * sizes come from a small PRNG seeded by byte 0 and the body length, so the
 * body itself stays an unaltered compressed stream (seeds are real gzip/zstd
 * bodies with the encoding byte in front) while the fuzzer still controls how
 * it is split. Chunks of 0 bytes are included.
 *
 * Besides the sanitizers, three checks: the documented bound on out_len
 * (never more than max_out + 1), identity bodies come back byte for byte, and
 * the result does not depend on the chunking (the same body decoded in one
 * call by mw__decompress_all must give the same code and the same bytes). */
#include "fuzz_common.h"
#include "ingest/body.h"

#define MAX_OUT ((size_t)1 << 20)

static uint32_t next_rand(uint32_t *s) {
  /* xorshift32; the state is never 0 */
  uint32_t x = *s;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return *s = x;
}

/* The next chunk size: mostly small (splits inside headers and varints),
 * sometimes empty, sometimes large. */
static size_t chunk_size(uint32_t *s, size_t left) {
  uint32_t r = next_rand(s);
  size_t n;
  switch (r & 7) {
  case 0: n = 0; break;
  case 1:
  case 2:
  case 3: n = 1 + (r >> 8) % 4; break;
  case 4:
  case 5: n = 1 + (r >> 8) % 64; break;
  case 6: n = 1 + (r >> 8) % 4096; break;
  default: n = left; break;
  }
  return n < left ? n : left;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  enum mw_body_encoding enc = (enum mw_body_encoding)(data[0] & 3);
  uint32_t seed = 0x9e3779b9u ^ ((uint32_t)data[0] << 24) ^ (uint32_t)size;
  if (!seed) seed = 1;
  const uint8_t *body = data + 1;
  size_t len = size - 1;

  mw_body_decoder *d = mw__body_decoder_new(enc, MAX_OUT);
  FUZZ_CHECK(d != NULL);
  int rc = MW_OK;
  size_t off = 0;
  while (off < len) {
    size_t n = chunk_size(&seed, len - off);
    int r = mw__body_decoder_feed(d, body + off, n);
    FUZZ_CHECK(r == MW_OK || r == MW_ETOOBIG || r == MW_EINVAL || r == MW_ENOMEM);
    FUZZ_CHECK(mw__body_decoder_out_len(d) <= MAX_OUT + 1);
    off += n;
    if (r) {
      if (!rc) rc = r;
      FUZZ_CHECK(r == rc); /* sticky */
      /* keep feeding a little: later calls must return the same error */
      if (off < len) FUZZ_CHECK(mw__body_decoder_feed(d, body + off, len - off) == rc);
      break;
    }
  }
  FUZZ_CHECK(mw__body_decoder_in_len(d) <= len);
  mw_buf *out = NULL;
  int fin = mw__body_decoder_finish(d, &out);
  if (rc) FUZZ_CHECK(fin == rc);
  rc = fin;
  FUZZ_CHECK(mw__body_decoder_out_len(d) <= MAX_OUT + 1);
  if (rc == MW_OK) {
    FUZZ_CHECK(out != NULL && out->data != NULL);
    FUZZ_CHECK(out->len <= MAX_OUT);
    FUZZ_CHECK(out->data[out->len] == '\0');
    fuzz_touch_bytes(out->data, out->len);
    if (enc == MW_ENC_IDENTITY) FUZZ_CHECK(out->len == len && memcmp(out->data, body, len) == 0);
  } else {
    FUZZ_CHECK(out == NULL);
    if (enc == MW_ENC_IDENTITY) FUZZ_CHECK(rc == MW_ETOOBIG || rc == MW_ENOMEM);
  }
  /* the spent decoder refuses more work */
  mw_buf *again = NULL;
  FUZZ_CHECK(mw__body_decoder_finish(d, &again) != MW_OK && again == NULL);
  mw__body_decoder_free(d);

  /* chunking must not change the outcome */
  mw_buf *whole = NULL;
  int wrc = mw__decompress_all(enc, body, len, MAX_OUT, &whole);
  if (wrc != rc)
    fprintf(stderr, "chunked decoding returned %d (%s), whole-body decoding %d (%s)\n", rc, mw__strerror(rc), wrc,
            mw__strerror(wrc));
  FUZZ_CHECK(wrc == rc);
  if (rc == MW_OK) {
    FUZZ_CHECK(whole != NULL);
    FUZZ_CHECK(whole->len == out->len && memcmp(whole->data, out->data, out->len) == 0);
  }
  mw__body_buf_free(whole);
  mw__body_buf_free(out);
  return 0;
}

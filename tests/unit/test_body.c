/* Unit tests for ingest/body.c: Content-Type and Content-Encoding parsing, and
 * the streaming body decoder. Compressed inputs are made here with zlib and
 * zstd from known buffers, so every case checks a round trip against the
 * original bytes; bombs are built so that they are cheap to make (gzip: one
 * self-contained deflate block repeated; zstd: a stream of zeros, which zstd
 * compresses at memory speed) and the limit is checked through the decoder's
 * own output count, not timing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>
#include <zstd.h>

#include "core/buf.h"
#include "core/error.h"
#include "ingest/body.h"

/* ---- helpers -------------------------------------------------------------- */

typedef struct bytes {
  unsigned char *p;
  size_t n;
} bytes;

static void bytes_free(bytes *b) {
  free(b->p);
  b->p = NULL;
  b->n = 0;
}

static void bytes_cat(bytes *dst, const void *p, size_t n) {
  dst->p = realloc(dst->p, dst->n + n + 1);
  assert_non_null(dst->p);
  memcpy(dst->p + dst->n, p, n);
  dst->n += n;
}

/* Deterministic, moderately compressible text: words from a small list, picked
 * by an LCG, so the output spans many decoder windows yet is not trivial. */
static bytes payload(size_t n) {
  static const char *words[] = {"span ",       "trace ", "service.name=",     "checkout ", "GET ",
                                "/v1/traces ", "200 ",   "0123456789abcdef ", "\n",        "{\"k\":1} "};
  bytes b = {malloc(n + 1), n};
  assert_non_null(b.p);
  uint32_t x = 12345;
  size_t i = 0;
  while (i < n) {
    x = x * 1103515245u + 12345u;
    const char *w = words[(x >> 16) % (sizeof words / sizeof words[0])];
    for (; *w && i < n; w++) b.p[i++] = (unsigned char)*w;
  }
  return b;
}

/* window_bits: 15 + 16 gzip, 15 zlib, -15 raw deflate. */
static bytes deflate_with(const void *in, size_t n, int window_bits) {
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
  size_t cap = deflateBound(&zs, (uLong)n) + 64;
  bytes out = {malloc(cap), 0};
  assert_non_null(out.p);
  zs.next_in = (Bytef *)(uintptr_t)in;
  zs.avail_in = (uInt)n;
  zs.next_out = out.p;
  zs.avail_out = (uInt)cap;
  assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.n = cap - zs.avail_out;
  deflateEnd(&zs);
  return out;
}

static bytes gzip_of(const void *in, size_t n) { return deflate_with(in, n, 15 + 16); }

static bytes zstd_of(const void *in, size_t n, int checksum) {
  ZSTD_CCtx *c = ZSTD_createCCtx();
  assert_non_null(c);
  assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, checksum)));
  size_t cap = ZSTD_compressBound(n);
  bytes out = {malloc(cap), 0};
  assert_non_null(out.p);
  out.n = ZSTD_compress2(c, out.p, cap, in, n);
  assert_false(ZSTD_isError(out.n));
  ZSTD_freeCCtx(c);
  return out;
}

/* Feeds in chunks of `chunk` bytes and finishes; returns the first error.
 * *out_len gets the decoder's output count, *in_len what it consumed. */
static int decode(enum mw_body_encoding enc, const void *in, size_t len, size_t chunk, size_t max, mw_buf **out,
                  size_t *out_len, size_t *in_len) {
  mw_body_decoder *d = mw__body_decoder_new(enc, max);
  assert_non_null(d);
  const unsigned char *p = in;
  int rc = MW_OK;
  for (size_t off = 0; off < len && rc == MW_OK; off += chunk)
    rc = mw__body_decoder_feed(d, p + off, len - off < chunk ? len - off : chunk);
  if (rc == MW_OK) rc = mw__body_decoder_finish(d, out);
  else *out = NULL;
  if (out_len) *out_len = mw__body_decoder_out_len(d);
  if (in_len) *in_len = mw__body_decoder_in_len(d);
  mw__body_decoder_free(d);
  return rc;
}

/* Decodes, expects success and the exact original bytes. */
static void expect_roundtrip(enum mw_body_encoding enc, const bytes *enc_data, const bytes *orig, size_t chunk,
                             size_t max) {
  mw_buf *out = NULL;
  size_t out_len = 0;
  assert_int_equal(decode(enc, enc_data->p, enc_data->n, chunk, max, &out, &out_len, NULL), MW_OK);
  assert_non_null(out);
  assert_non_null(out->data);
  assert_int_equal(out->len, orig->n);
  assert_int_equal(out_len, orig->n);
  assert_memory_equal(out->data, orig->p, orig->n);
  assert_int_equal(out->data[out->len], '\0');
  mw__body_buf_free(out);
}

static int decode_rc(enum mw_body_encoding enc, const void *in, size_t len, size_t chunk, size_t max) {
  mw_buf *out = NULL;
  int rc = decode(enc, in, len, chunk, max, &out, NULL, NULL);
  if (rc == MW_OK) {
    assert_non_null(out);
  } else {
    assert_null(out);
  }
  mw__body_buf_free(out);
  return rc;
}

/* One encoded form of the payload per decoder path worth covering. */
struct form {
  const char *name;
  enum mw_body_encoding enc;
  bytes data;
};

enum { NFORMS = 6 };
static void make_forms(struct form f[NFORMS], const bytes *orig) {
  f[0] = (struct form){"identity", MW_ENC_IDENTITY, {malloc(orig->n + 1), orig->n}};
  memcpy(f[0].data.p, orig->p, orig->n);
  f[1] = (struct form){"gzip", MW_ENC_GZIP, gzip_of(orig->p, orig->n)};
  f[2] = (struct form){"zlib under gzip", MW_ENC_GZIP, deflate_with(orig->p, orig->n, 15)};
  f[3] = (struct form){"deflate (zlib)", MW_ENC_DEFLATE, deflate_with(orig->p, orig->n, 15)};
  f[4] = (struct form){"deflate (raw)", MW_ENC_DEFLATE, deflate_with(orig->p, orig->n, -15)};
  f[5] = (struct form){"zstd", MW_ENC_ZSTD, zstd_of(orig->p, orig->n, 1)};
}

static void free_forms(struct form f[NFORMS]) {
  for (int i = 0; i < NFORMS; i++) bytes_free(&f[i].data);
}

/* ---- header parsing ------------------------------------------------------- */

static void test_media_type(void **state) {
  (void)state;
  char mt[32];
  static const struct {
    const char *in, *want;
  } ok[] = {
      {"application/json", "application/json"},
      {"Application/JSON; charset=utf-8", "application/json"},
      {"application/json;charset=utf-8", "application/json"},
      {"application/json ; charset=utf-8", "application/json"},
      {"  application/x-protobuf\t ", "application/x-protobuf"},
      {"APPLICATION/X-PROTOBUF", "application/x-protobuf"},
      {"text/plain;", "text/plain"},
      {"application/vnd.api+json", "application/vnd.api+json"},
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    assert_int_equal(mw__media_type(ok[i].in, mt, sizeof mt), MW_OK);
    assert_string_equal(mt, ok[i].want);
  }
  static const char *bad[] = {"",
                              "   ",
                              "application",
                              "application/",
                              "/json",
                              "application /json",
                              "application/ json",
                              "application/json extra",
                              "application/json/x",
                              "a@b/c",
                              ";charset=utf-8",
                              "application/json,text/plain"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    strcpy(mt, "junk");
    assert_int_equal(mw__media_type(bad[i], mt, sizeof mt), MW_EINVAL);
    assert_string_equal(mt, "");
  }
  assert_int_equal(mw__media_type(NULL, mt, sizeof mt), MW_EINVAL);
  /* Exactly fitting output, then one byte short. */
  char small[17];
  assert_int_equal(mw__media_type("application/json", small, 17), MW_OK);
  assert_string_equal(small, "application/json");
  assert_int_equal(mw__media_type("application/json", small, 16), MW_EINVAL);
}

static void test_content_encoding(void **state) {
  (void)state;
  static const struct {
    const char *in;
    enum mw_body_encoding want;
  } ok[] = {
      {"", MW_ENC_IDENTITY},         {"  ", MW_ENC_IDENTITY}, {"identity", MW_ENC_IDENTITY},
      {"IDENTITY", MW_ENC_IDENTITY}, {"gzip", MW_ENC_GZIP},   {" GZip ", MW_ENC_GZIP},
      {"x-gzip", MW_ENC_GZIP},       {"X-GZIP", MW_ENC_GZIP}, {"deflate", MW_ENC_DEFLATE},
      {"Deflate", MW_ENC_DEFLATE},   {"zstd", MW_ENC_ZSTD},   {"\tzstd", MW_ENC_ZSTD},
  };
  enum mw_body_encoding e;
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    e = (enum mw_body_encoding)99;
    assert_int_equal(mw__parse_content_encoding(ok[i].in, &e), MW_OK);
    assert_int_equal(e, ok[i].want);
  }
  assert_int_equal(mw__parse_content_encoding(NULL, &e), MW_OK);
  assert_int_equal(e, MW_ENC_IDENTITY);
  static const char *bad[] = {"br",         "compress",      "snappy",   "gzi",   "gzipx",
                              "gzip, zstd", "gzip,identity", "gzip;q=1", "g zip", "zlib"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(mw__parse_content_encoding(bad[i], &e), MW_EUNSUPPORTED);
  assert_string_equal(mw__encoding_name(MW_ENC_ZSTD), "zstd");
  assert_string_equal(mw__encoding_name(MW_ENC_IDENTITY), "identity");
}

/* ---- round trips and limits ----------------------------------------------- */

static void test_roundtrip_all_encodings(void **state) {
  (void)state;
  /* Larger than the decoder's 64 KiB output window, so windows turn over. */
  bytes orig = payload(300000);
  struct form f[NFORMS];
  make_forms(f, &orig);
  for (int i = 0; i < NFORMS; i++) {
    expect_roundtrip(f[i].enc, &f[i].data, &orig, f[i].data.n, 1 << 20); /* one chunk */
    expect_roundtrip(f[i].enc, &f[i].data, &orig, 1, 1 << 20);           /* byte by byte */
    expect_roundtrip(f[i].enc, &f[i].data, &orig, 4093, orig.n);         /* odd chunks, max exact */
  }
  free_forms(f);
  bytes_free(&orig);
}

static void test_limit_exact(void **state) {
  (void)state;
  bytes orig = payload(200000);
  struct form f[NFORMS];
  make_forms(f, &orig);
  size_t chunks[] = {0 /* whole */, 1, 777};
  for (int i = 0; i < NFORMS; i++) {
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
      size_t chunk = chunks[c] ? chunks[c] : f[i].data.n;
      /* max == decoded size: passes. */
      expect_roundtrip(f[i].enc, &f[i].data, &orig, chunk, orig.n);
      /* max == decoded size - 1: MW_ETOOBIG, having produced at most max + 1. */
      mw_buf *out = NULL;
      size_t out_len = 0;
      int rc = decode(f[i].enc, f[i].data.p, f[i].data.n, chunk, orig.n - 1, &out, &out_len, NULL);
      assert_int_equal(rc, MW_ETOOBIG);
      assert_null(out);
      assert_true(out_len <= orig.n);
    }
  }
  free_forms(f);
  bytes_free(&orig);

  /* Empty bodies: identity is fine at max 0; an empty compressed stream too. */
  mw_buf *out = NULL;
  assert_int_equal(mw__decompress_all(MW_ENC_IDENTITY, "", 0, 0, &out), MW_OK);
  assert_non_null(out);
  assert_non_null(out->data);
  assert_int_equal(out->len, 0);
  assert_int_equal(out->data[0], '\0');
  mw__body_buf_free(out);
  bytes e = gzip_of("", 0);
  assert_int_equal(mw__decompress_all(MW_ENC_GZIP, e.p, e.n, 0, &out), MW_OK);
  assert_int_equal(out->len, 0);
  mw__body_buf_free(out);
  bytes_free(&e);
  e = zstd_of("", 0, 0);
  assert_int_equal(mw__decompress_all(MW_ENC_ZSTD, e.p, e.n, 0, &out), MW_OK);
  assert_int_equal(out->len, 0);
  mw__body_buf_free(out);
  bytes_free(&e);
  /* One byte over a zero limit. */
  e = gzip_of("x", 1);
  assert_int_equal(mw__decompress_all(MW_ENC_GZIP, e.p, e.n, 0, &out), MW_ETOOBIG);
  assert_null(out);
  bytes_free(&e);
}

/* ---- bombs ---------------------------------------------------------------- */

enum { MiB = 1 << 20 };

/* A single-member gzip stream inflating to reps MiB of zeros, built without
 * compressing them all: one deflate block for 1 MiB of zeros, ended by a full
 * flush (so it references nothing before it and ends byte-aligned), repeated,
 * then the final empty block and a correct trailer. */
static bytes gzip_zero_bomb(size_t reps) {
  unsigned char *zeros = calloc(1, MiB);
  assert_non_null(zeros);
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
  unsigned char block[8192], tail[64];
  zs.next_in = zeros;
  zs.avail_in = MiB;
  zs.next_out = block;
  zs.avail_out = sizeof block;
  assert_int_equal(deflate(&zs, Z_FULL_FLUSH), Z_OK);
  assert_int_equal(zs.avail_in, 0);
  size_t nblock = sizeof block - zs.avail_out;
  zs.next_out = tail;
  zs.avail_out = sizeof tail;
  assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
  size_t ntail = sizeof tail - zs.avail_out;
  deflateEnd(&zs);

  uLong crc1 = crc32(0, zeros, MiB), crc = crc32(0, Z_NULL, 0);
  for (size_t i = 0; i < reps; i++) crc = crc32_combine(crc, crc1, MiB);
  free(zeros);

  static const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
  bytes b = {NULL, 0};
  b.p = malloc(sizeof header + reps * nblock + ntail + 8);
  assert_non_null(b.p);
  memcpy(b.p, header, sizeof header);
  b.n = sizeof header;
  for (size_t i = 0; i < reps; i++, b.n += nblock) memcpy(b.p + b.n, block, nblock);
  memcpy(b.p + b.n, tail, ntail);
  b.n += ntail;
  uint32_t isize = (uint32_t)(reps * MiB); /* mod 2^32, as RFC 1952 says */
  for (int i = 0; i < 4; i++) b.p[b.n++] = (unsigned char)(crc >> (8 * i));
  for (int i = 0; i < 4; i++) b.p[b.n++] = (unsigned char)(isize >> (8 * i));
  return b;
}

/* One zstd frame of reps MiB of zeros, streamed (its header may carry the true
 * size: the decoder must not believe it for allocation either way). */
static bytes zstd_zero_bomb(size_t reps, int pledge) {
  unsigned char *zeros = calloc(1, MiB);
  assert_non_null(zeros);
  ZSTD_CCtx *c = ZSTD_createCCtx();
  assert_non_null(c);
  if (pledge) assert_false(ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(c, (unsigned long long)reps * MiB)));
  bytes b = {NULL, 0};
  size_t cap = 1 << 16;
  unsigned char *tmp = malloc(cap);
  assert_non_null(tmp);
  for (size_t i = 0; i <= reps; i++) {
    ZSTD_inBuffer in = {zeros, i < reps ? (size_t)MiB : 0, 0};
    ZSTD_EndDirective mode = i < reps ? ZSTD_e_continue : ZSTD_e_end;
    size_t left;
    do {
      ZSTD_outBuffer o = {tmp, cap, 0};
      left = ZSTD_compressStream2(c, &o, &in, mode);
      assert_false(ZSTD_isError(left));
      if (o.pos) bytes_cat(&b, tmp, o.pos);
    } while (in.pos < in.size || (mode == ZSTD_e_end && left != 0));
  }
  free(tmp);
  free(zeros);
  ZSTD_freeCCtx(c);
  return b;
}

static void expect_bomb_stopped(enum mw_body_encoding enc, const bytes *bomb, size_t max) {
  mw_buf *out = NULL;
  size_t out_len = 0, in_len = 0;
  int rc = decode(enc, bomb->p, bomb->n, 4096, max, &out, &out_len, &in_len);
  assert_int_equal(rc, MW_ETOOBIG);
  assert_null(out);
  assert_true(out_len <= max + 1);
  /* It stopped early: most of the compressed body was never fed. */
  assert_true(in_len < bomb->n / 4);
}

static void test_gzip_bomb(void **state) {
  (void)state;
  /* The builder is right: a small one decodes fully and checks out (CRC, size). */
  bytes small = gzip_zero_bomb(8);
  mw_buf *out = NULL;
  assert_int_equal(mw__decompress_all(MW_ENC_GZIP, small.p, small.n, 8 * MiB, &out), MW_OK);
  assert_int_equal(out->len, 8 * MiB);
  for (size_t i = 0; i < out->len; i++)
    if (out->data[i]) fail_msg("nonzero byte at %zu", i);
  mw__body_buf_free(out);
  bytes_free(&small);

  bytes bomb = gzip_zero_bomb(1024); /* 1 GiB of zeros in about 1 MiB */
  expect_bomb_stopped(MW_ENC_GZIP, &bomb, MiB);
  expect_bomb_stopped(MW_ENC_GZIP, &bomb, 12345);
  bytes_free(&bomb);
}

static void test_zstd_bomb(void **state) {
  (void)state;
  bytes small = zstd_zero_bomb(4, 1);
  mw_buf *out = NULL;
  assert_int_equal(mw__decompress_all(MW_ENC_ZSTD, small.p, small.n, 4 * MiB, &out), MW_OK);
  assert_int_equal(out->len, 4 * MiB);
  mw__body_buf_free(out);
  bytes_free(&small);

  for (int pledge = 0; pledge <= 1; pledge++) {
    bytes bomb = zstd_zero_bomb(1024, pledge);
    expect_bomb_stopped(MW_ENC_ZSTD, &bomb, MiB);
    expect_bomb_stopped(MW_ENC_ZSTD, &bomb, 12345);
    bytes_free(&bomb);
  }
}

/* ---- broken streams ------------------------------------------------------- */

static void test_truncated(void **state) {
  (void)state;
  bytes orig = payload(5000);
  struct form f[NFORMS];
  make_forms(f, &orig);
  for (int i = 1; i < NFORMS; i++) { /* every compressed form, every proper prefix */
    for (size_t cut = 0; cut < f[i].data.n; cut++) {
      if (decode_rc(f[i].enc, f[i].data.p, cut, cut ? cut : 1, 1 << 20) != MW_EINVAL)
        fail_msg("%s cut at %zu of %zu was not MW_EINVAL", f[i].name, cut, f[i].data.n);
    }
    /* And fed byte by byte, cut just before the end (a gzip trailer half there). */
    assert_int_equal(decode_rc(f[i].enc, f[i].data.p, f[i].data.n - 3, 1, 1 << 20), MW_EINVAL);
  }
  free_forms(f);
  bytes_free(&orig);
}

static void test_corrupt(void **state) {
  (void)state;
  bytes orig = payload(50000);
  bytes gz = gzip_of(orig.p, orig.n);
  bytes zl = deflate_with(orig.p, orig.n, 15);
  bytes zs = zstd_of(orig.p, orig.n, 1); /* with a checksum, any flipped byte is caught */
  const struct {
    enum mw_body_encoding enc;
    bytes *b;
  } cases[] = {{MW_ENC_GZIP, &gz}, {MW_ENC_DEFLATE, &zl}, {MW_ENC_ZSTD, &zs}};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    bytes *b = cases[c].b;
    /* Header, middle and trailer positions. */
    size_t pos[] = {0, 1, 3, b->n / 3, b->n / 2, b->n - 5, b->n - 1};
    for (size_t k = 0; k < sizeof pos / sizeof pos[0]; k++) {
      b->p[pos[k]] ^= 0x55;
      int rc1 = decode_rc(cases[c].enc, b->p, b->n, b->n, 1 << 20);
      int rc2 = decode_rc(cases[c].enc, b->p, b->n, 1, 1 << 20);
      b->p[pos[k]] ^= 0x55;
      if (rc1 != MW_EINVAL || rc2 != MW_EINVAL)
        fail_msg("case %zu, byte %zu flipped: %d/%d, not MW_EINVAL", c, pos[k], rc1, rc2);
    }
  }
  /* Raw deflate has no checksum; an invalid block type (3) still fails. */
  static const unsigned char bad_block[] = {0x07, 0x00, 0x00};
  assert_int_equal(decode_rc(MW_ENC_DEFLATE, bad_block, sizeof bad_block, 1, 100), MW_EINVAL);
  /* Not compressed at all. */
  assert_int_equal(decode_rc(MW_ENC_GZIP, orig.p, orig.n, 1000, 1 << 20), MW_EINVAL);
  assert_int_equal(decode_rc(MW_ENC_ZSTD, orig.p, orig.n, 1000, 1 << 20), MW_EINVAL);
  bytes_free(&gz);
  bytes_free(&zl);
  bytes_free(&zs);
  bytes_free(&orig);
}

/* A zstd frame (single segment) declaring 248 bytes whose only block is an
 * empty last raw block: corrupt. libzstd says so when it gets the frame whole
 * and ends the frame quietly when the bytes come in pieces (the fuzzer found
 * it); the decoder must refuse it either way. The same frame declaring 0
 * bytes is a valid empty frame, in any chunking. */
static void test_zstd_declared_size(void **state) {
  (void)state;
  static const unsigned char short_frame[] = {0x28, 0xB5, 0x2F, 0xFD, 0x20, 0xF8, 0x01, 0x00, 0x00};
  static const unsigned char empty_frame[] = {0x28, 0xB5, 0x2F, 0xFD, 0x20, 0x00, 0x01, 0x00, 0x00};
  for (size_t chunk = 1; chunk <= sizeof short_frame; chunk++) {
    if (decode_rc(MW_ENC_ZSTD, short_frame, sizeof short_frame, chunk, 1 << 20) != MW_EINVAL)
      fail_msg("a frame short of its declared size, in chunks of %zu: not MW_EINVAL", chunk);
    if (decode_rc(MW_ENC_ZSTD, empty_frame, sizeof empty_frame, chunk, 1 << 20) != MW_OK)
      fail_msg("an empty frame declaring 0 bytes, in chunks of %zu: not MW_OK", chunk);
  }
}

static void test_concatenated(void **state) {
  (void)state;
  bytes a = payload(70000), bpl = payload(123), all = {NULL, 0};
  bytes_cat(&all, a.p, a.n);
  bytes_cat(&all, bpl.p, bpl.n);
  bytes_cat(&all, a.p, a.n);

  /* gzip: three members, with an empty one in between. */
  bytes g1 = gzip_of(a.p, a.n), g2 = gzip_of(bpl.p, bpl.n), g0 = gzip_of("", 0), gz = {NULL, 0};
  bytes_cat(&gz, g1.p, g1.n);
  bytes_cat(&gz, g0.p, g0.n);
  bytes_cat(&gz, g2.p, g2.n);
  bytes_cat(&gz, g1.p, g1.n);
  expect_roundtrip(MW_ENC_GZIP, &gz, &all, gz.n, 1 << 20);
  expect_roundtrip(MW_ENC_GZIP, &gz, &all, 1, 1 << 20);
  expect_roundtrip(MW_ENC_GZIP, &gz, &all, 1000, all.n);
  assert_int_equal(decode_rc(MW_ENC_GZIP, gz.p, gz.n, 1000, all.n - 1), MW_ETOOBIG);
  /* Cut inside the second member: incomplete. */
  assert_int_equal(decode_rc(MW_ENC_GZIP, gz.p, g1.n + g0.n + 5, 7, 1 << 20), MW_EINVAL);

  /* zstd: three frames, with an empty one in between. */
  bytes z1 = zstd_of(a.p, a.n, 1), z2 = zstd_of(bpl.p, bpl.n, 0), z0 = zstd_of("", 0, 0), zs = {NULL, 0};
  bytes_cat(&zs, z1.p, z1.n);
  bytes_cat(&zs, z0.p, z0.n);
  bytes_cat(&zs, z2.p, z2.n);
  bytes_cat(&zs, z1.p, z1.n);
  expect_roundtrip(MW_ENC_ZSTD, &zs, &all, zs.n, 1 << 20);
  expect_roundtrip(MW_ENC_ZSTD, &zs, &all, 1, 1 << 20);
  expect_roundtrip(MW_ENC_ZSTD, &zs, &all, 1000, all.n);
  assert_int_equal(decode_rc(MW_ENC_ZSTD, zs.p, zs.n, 1000, all.n - 1), MW_ETOOBIG);
  assert_int_equal(decode_rc(MW_ENC_ZSTD, zs.p, z1.n + z0.n + 5, 7, 1 << 20), MW_EINVAL);

  bytes *all_bufs[] = {&a, &bpl, &all, &g1, &g2, &g0, &gz, &z1, &z2, &z0, &zs};
  for (size_t i = 0; i < sizeof all_bufs / sizeof all_bufs[0]; i++) bytes_free(all_bufs[i]);
}

static void test_trailing_garbage(void **state) {
  (void)state;
  bytes orig = payload(3000);
  struct form f[NFORMS];
  make_forms(f, &orig);
  static const char *tails[] = {"garbage!", "\0", "\0\0\0\0\0\0\0\0", "\x1f", "\x1f\x8b"};
  static const size_t tail_len[] = {8, 1, 8, 1, 2};
  for (int i = 1; i < NFORMS; i++) {
    for (size_t t = 0; t < sizeof tails / sizeof tails[0]; t++) {
      bytes b = {NULL, 0};
      bytes_cat(&b, f[i].data.p, f[i].data.n);
      bytes_cat(&b, tails[t], tail_len[t]);
      if (decode_rc(f[i].enc, b.p, b.n, b.n, 1 << 20) != MW_EINVAL ||
          decode_rc(f[i].enc, b.p, b.n, 1, 1 << 20) != MW_EINVAL)
        fail_msg("%s + tail %zu was not MW_EINVAL", f[i].name, t);
      bytes_free(&b);
    }
  }
  /* A zlib stream cannot be followed by anything, not even a gzip member; nor
   * can a gzip member be followed by a zlib stream. */
  bytes g = gzip_of("abc", 3), z = deflate_with("abc", 3, 15), b = {NULL, 0};
  bytes_cat(&b, z.p, z.n);
  bytes_cat(&b, g.p, g.n);
  assert_int_equal(decode_rc(MW_ENC_GZIP, b.p, b.n, b.n, 100), MW_EINVAL);
  bytes_free(&b);
  bytes_cat(&b, g.p, g.n);
  bytes_cat(&b, z.p, z.n);
  assert_int_equal(decode_rc(MW_ENC_GZIP, b.p, b.n, 1, 100), MW_EINVAL);
  bytes_free(&b);
  bytes_free(&g);
  bytes_free(&z);
  free_forms(f);
  bytes_free(&orig);
}

static void test_zstd_window_limit(void **state) {
  (void)state;
  /* A frame of unknown size (streamed, more than a block before the end, so
   * zstd cannot size it) with a 2^20 window; then the same frame claiming a
   * 2^28 window, more than we allow: refused before any allocation of it. */
  ZSTD_CCtx *c = ZSTD_createCCtx();
  assert_non_null(c);
  assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, 20)));
  bytes orig = payload(300000), b = {NULL, 0};
  size_t cap = ZSTD_compressBound(orig.n) + 1024;
  unsigned char *tmp = malloc(cap);
  assert_non_null(tmp);
  ZSTD_inBuffer in = {orig.p, orig.n, 0};
  ZSTD_outBuffer o = {tmp, cap, 0};
  assert_false(ZSTD_isError(ZSTD_compressStream2(c, &o, &in, ZSTD_e_continue)));
  assert_int_equal(in.pos, in.size);
  ZSTD_inBuffer none = {NULL, 0, 0};
  size_t left;
  do {
    left = ZSTD_compressStream2(c, &o, &none, ZSTD_e_end);
    assert_false(ZSTD_isError(left));
  } while (left);
  bytes_cat(&b, tmp, o.pos);
  free(tmp);
  ZSTD_freeCCtx(c);
  /* Frame_Header_Descriptor: not single-segment, so byte 5 is the
   * Window_Descriptor: windowLog = 10 + exponent (top 5 bits). */
  assert_int_equal(b.p[4] & 0x20, 0);
  assert_int_equal(10 + (b.p[5] >> 3), 20);
  expect_roundtrip(MW_ENC_ZSTD, &b, &orig, 1000, 1 << 20);
  b.p[5] = (unsigned char)((28 - 10) << 3);
  assert_int_equal(decode_rc(MW_ENC_ZSTD, b.p, b.n, b.n, 1 << 20), MW_ETOOBIG);
  assert_int_equal(decode_rc(MW_ENC_ZSTD, b.p, b.n, 1, 1 << 20), MW_ETOOBIG);
  /* the decoder tells this refusal from the size limit: nothing was decoded */
  mw_body_decoder *d = mw__body_decoder_new(MW_ENC_ZSTD, 1 << 20);
  assert_int_equal(mw__body_decoder_feed(d, b.p, b.n), MW_ETOOBIG);
  assert_true(mw__body_decoder_window_refused(d));
  assert_int_equal(mw__body_decoder_out_len(d), 0);
  mw__body_decoder_free(d);
  assert_int_equal(mw__zstd_window_max(1 << 20), 1 << 23);
  assert_int_equal(mw__zstd_window_max(64 << 20), 1 << 26);
  assert_int_equal(mw__zstd_window_max((size_t)1 << 40), 1 << 27);
  /* a 9-byte frame header asking for 2^41 (exponent 31): the same */
  static const unsigned char huge[9] = {0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xf8, 0x01, 0x00, 0x00};
  d = mw__body_decoder_new(MW_ENC_ZSTD, 64 << 20);
  assert_int_equal(mw__body_decoder_feed(d, huge, sizeof huge), MW_ETOOBIG);
  assert_true(mw__body_decoder_window_refused(d));
  mw__body_decoder_free(d);
  /* while a body over the size limit is not a window refusal */
  bytes bomb = zstd_zero_bomb(4, 0);
  d = mw__body_decoder_new(MW_ENC_ZSTD, MiB);
  assert_int_equal(mw__body_decoder_feed(d, bomb.p, bomb.n), MW_ETOOBIG);
  assert_false(mw__body_decoder_window_refused(d));
  mw__body_decoder_free(d);
  bytes_free(&bomb);
  bytes_free(&b);
  bytes_free(&orig);
}

/* ---- API behaviour -------------------------------------------------------- */

static void test_decoder_api(void **state) {
  (void)state;
  assert_null(mw__body_decoder_new((enum mw_body_encoding)42, 10));
  mw_buf *out = (mw_buf *)1;
  assert_int_equal(mw__decompress_all((enum mw_body_encoding)42, "x", 1, 10, &out), MW_EUNSUPPORTED);
  assert_null(out);

  /* Empty compressed bodies are incomplete streams. */
  assert_int_equal(decode_rc(MW_ENC_GZIP, "", 0, 1, 10), MW_EINVAL);
  assert_int_equal(decode_rc(MW_ENC_DEFLATE, "", 0, 1, 10), MW_EINVAL);
  assert_int_equal(decode_rc(MW_ENC_DEFLATE, "\x78", 1, 1, 10), MW_EINVAL);
  assert_int_equal(decode_rc(MW_ENC_ZSTD, "", 0, 1, 10), MW_EINVAL);

  /* Errors are sticky; a finished decoder takes nothing more. */
  mw_body_decoder *d = mw__body_decoder_new(MW_ENC_IDENTITY, 4);
  assert_int_equal(mw__body_decoder_feed(d, "ab", 2), MW_OK);
  assert_int_equal(mw__body_decoder_feed(d, "", 0), MW_OK);
  assert_int_equal(mw__body_decoder_feed(d, "cde", 3), MW_ETOOBIG);
  assert_int_equal(mw__body_decoder_out_len(d), 5);
  assert_int_equal(mw__body_decoder_feed(d, "c", 1), MW_ETOOBIG);
  assert_int_equal(mw__body_decoder_finish(d, &out), MW_ETOOBIG);
  assert_null(out);
  mw__body_decoder_free(d);

  d = mw__body_decoder_new(MW_ENC_IDENTITY, 4);
  assert_int_equal(mw__body_decoder_feed(d, "abcd", 4), MW_OK);
  assert_int_equal(mw__body_decoder_in_len(d), 4);
  assert_int_equal(mw__body_decoder_finish(d, &out), MW_OK);
  assert_string_equal(out->data, "abcd");
  mw__body_buf_free(out);
  assert_int_equal(mw__body_decoder_feed(d, "x", 1), MW_EINVAL);
  assert_int_equal(mw__body_decoder_finish(d, &out), MW_EINVAL);
  assert_null(out);
  mw__body_decoder_free(d);
  mw__body_decoder_free(NULL);
  mw__body_buf_free(NULL);
}

static void test_maybe_gunzip(void **state) {
  (void)state;
  bytes orig = payload(10000), gz = gzip_of(orig.p, orig.n);
  mw_buf *out = NULL;
  assert_int_equal(mw__maybe_gunzip(gz.p, gz.n, orig.n, NULL, &out), MW_OK);
  assert_int_equal(out->len, orig.n);
  assert_memory_equal(out->data, orig.p, orig.n);
  mw__body_buf_free(out);
  assert_int_equal(mw__maybe_gunzip(gz.p, gz.n, orig.n - 1, NULL, &out), MW_ETOOBIG);
  assert_int_equal(mw__maybe_gunzip(gz.p, gz.n - 1, orig.n, NULL, &out), MW_EINVAL);
  /* Not gzip: copied, same limit. */
  assert_int_equal(mw__maybe_gunzip(orig.p, orig.n, orig.n, NULL, &out), MW_OK);
  assert_memory_equal(out->data, orig.p, orig.n);
  mw__body_buf_free(out);
  assert_int_equal(mw__maybe_gunzip(orig.p, orig.n, orig.n - 1, NULL, &out), MW_ETOOBIG);
  assert_null(out);
  assert_int_equal(mw__maybe_gunzip("\x1f", 1, 10, NULL, &out), MW_OK); /* too short to be gzip */
  assert_int_equal(out->len, 1);
  mw__body_buf_free(out);
  bytes_free(&gz);
  bytes_free(&orig);
}

/* ---- memory accounting ---------------------------------------------------- */

/* A budget that refuses with MW_EBUSY past its limit and records every ask. */
typedef struct budget {
  size_t limit, taken, asks, largest;
} budget;

static int take(void *user, size_t more) {
  budget *b = user;
  b->asks++;
  if (more > b->largest) b->largest = more;
  if (b->taken + more > b->limit) return MW_EBUSY;
  b->taken += more;
  return MW_OK;
}

static void give(void *user, size_t less) {
  budget *b = user;
  assert_true(less <= b->taken);
  b->taken -= less;
}

/* The inflated output is asked for before it is allocated, growth by growth:
 * a bomb stops at the budget, with the budget's own code, having taken no
 * more than the budget. */
static void test_maybe_gunzip_counts_memory(void **state) {
  (void)state;
  bytes bomb = gzip_zero_bomb(64); /* 64 MiB of zeros */
  budget b = {.limit = 10 * MiB};
  mw_mem_account acct = {take, give, &b, 0};
  mw_buf *out = (mw_buf *)1;
  assert_int_equal(mw__maybe_gunzip(bomb.p, bomb.n, 256 * MiB, &acct, &out), MW_EBUSY);
  assert_null(out);
  /* asked as the buffer doubled: 128 KiB (the first 64 KiB window + 1),
   * then 128 KiB, 256 KiB ... 4 MiB, holding 8 MiB; the 8 MiB more is refused */
  assert_int_equal(b.taken, 8 * MiB);
  assert_int_equal(b.asks, 8);
  assert_int_equal(b.largest, 8 * MiB);
  /* the account knows what it holds, and gives all of it back once */
  assert_int_equal(acct.held, 8 * MiB);
  mw__mem_give_back(&acct);
  assert_int_equal(b.taken, 0);
  assert_int_equal(acct.held, 0);
  mw__mem_give_back(&acct);
  assert_int_equal(b.taken, 0);

  /* with room, everything it allocates was asked for, up to the cap of
   * max + 1 bytes */
  b = (budget){.limit = 1024 * MiB};
  assert_int_equal(mw__maybe_gunzip(bomb.p, bomb.n, 33 * MiB, &acct, &out), MW_ETOOBIG);
  assert_int_equal(b.taken, 33 * MiB + 1); /* capped at max + 1 */
  acct.held = 0;
  b = (budget){.limit = 1024 * MiB};
  bytes small = gzip_zero_bomb(2);
  assert_int_equal(mw__maybe_gunzip(small.p, small.n, 64 * MiB, &acct, &out), MW_OK);
  assert_int_equal(out->len, 2 * MiB);
  assert_int_equal(b.taken, 4 * MiB); /* 2 MiB + 1 rounds to 4 MiB by doubling */
  assert_int_equal(acct.held, 4 * MiB);
  mw__body_buf_free(out);
  mw__mem_give_back(&acct);
  assert_int_equal(b.taken, 0);

  /* an identity (not gzip'd) payload is counted the same way */
  b = (budget){.limit = 100};
  bytes plain = payload(1000);
  assert_int_equal(mw__maybe_gunzip(plain.p, plain.n, 64 * MiB, &acct, &out), MW_EBUSY);
  assert_int_equal(b.asks, 1);
  assert_int_equal(b.largest, 1024);
  bytes_free(&plain);
  bytes_free(&small);
  bytes_free(&bomb);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_media_type),
      cmocka_unit_test(test_content_encoding),
      cmocka_unit_test(test_roundtrip_all_encodings),
      cmocka_unit_test(test_limit_exact),
      cmocka_unit_test(test_gzip_bomb),
      cmocka_unit_test(test_zstd_bomb),
      cmocka_unit_test(test_truncated),
      cmocka_unit_test(test_corrupt),
      cmocka_unit_test(test_concatenated),
      cmocka_unit_test(test_trailing_garbage),
      cmocka_unit_test(test_zstd_window_limit),
      cmocka_unit_test(test_zstd_declared_size),
      cmocka_unit_test(test_decoder_api),
      cmocka_unit_test(test_maybe_gunzip),
      cmocka_unit_test(test_maybe_gunzip_counts_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

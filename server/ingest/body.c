/* Request body decoding (see body.h): Content-Type and Content-Encoding
 * parsing, and the streaming decoder. The decoder inflates straight into the
 * output buffer, never offering the inflater more room than the limit has left
 * plus one probe byte; a byte landing in the probe means the body is over the
 * limit, so the work done on a bomb is bounded by max_out, not by what the
 * compressed stream (or a zstd frame header) claims. */
#include "ingest/body.h"
#include "core/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h> /* ZSTD_getErrorCode(): tell a too-large window from corruption */

/* Output is produced in windows of at most this many bytes, so the buffer grows
 * with the data actually decoded. */
#define OUT_WINDOW ((size_t)64 << 10)

/* A zstd frame header's largest size: magic 4, descriptor 1, window 1,
 * dictionary id 4, content size 8 (libzstd names it only for static linking). */
#define ZSTD_HEAD_MAX 18
/* zlib counts input in uInt: longer chunks are fed in slices. */
#define Z_SLICE ((size_t)1 << 30)

enum dec_state {
  ST_RUNNING,  /* accepting input */
  ST_FINISHED, /* finish() ran: spent */
};

struct mw_body_decoder {
  enum mw_body_encoding enc;
  enum dec_state state;
  int err; /* sticky error, 0 while healthy */
  size_t max_out;
  size_t in_len;       /* body bytes consumed */
  size_t out_len;      /* decoded bytes kept (out.len until finish() hands out) */
  int over;            /* a byte landed in the probe: out_len reports max_out + 1 */
  mw_buf out;          /* decoded bytes, bounded by max_out */
  unsigned char probe; /* the one byte past the limit (its value is never used) */

  /* gzip / deflate */
  z_stream zs;
  int z_ready;          /* inflateInit2() done */
  int z_end;            /* the current stream (member) ended: Z_STREAM_END seen */
  int z_sniffed;        /* gzip: the first body byte was seen */
  int z_gzip;           /* the first member is gzip (not zlib): more members may follow */
  unsigned char hdr[2]; /* deflate: the first two bytes, held until we know zlib from raw */
  size_t nhdr;

  mw_mem_account *acct; /* NULL: the output is not counted */
  int window_refused;   /* the sticky MW_ETOOBIG is a zstd window, not the size */

  /* zstd */
  ZSTD_DCtx *zd;
  unsigned char zst_head[ZSTD_HEAD_MAX]; /* the first bytes of the frame being started */
  size_t zst_head_n;                     /* how many of them were seen */
  int zst_head_done;                     /* the frame's content size is known (or never will be) */
  unsigned long long zst_fcs;            /* that size; ZSTD_CONTENTSIZE_UNKNOWN when not declared */
  unsigned long long zst_frame_out;      /* bytes the frame has given so far */
  int zst_end;                           /* the last frame ended and was fully flushed */
};

/* Asks the account (if any) for n more bytes of output; counts what it grants. */
static int take(mw_body_decoder *d, size_t n) {
  if (!d->acct) return MW_OK;
  int rc = d->acct->take(d->acct->user, n);
  if (rc == MW_OK) d->acct->held += n;
  return rc;
}

/* ---- header parsing ------------------------------------------------------- */

static int is_ows(char c) { return c == ' ' || c == '\t'; }

/* RFC 9110 tchar: the characters of a token (type, subtype, coding names). */
static int is_tchar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return 1;
  return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

int mw__media_type(const char *content_type, char *out, size_t outsz) {
  if (!out || outsz == 0) return MW_EINVAL;
  out[0] = '\0';
  if (!content_type) return MW_EINVAL;
  const char *p = content_type;
  while (is_ows(*p)) p++;
  const char *start = p;
  while (is_tchar((unsigned char)*p)) p++;
  if (p == start || *p != '/') return MW_EINVAL;
  p++;
  const char *sub = p;
  while (is_tchar((unsigned char)*p)) p++;
  if (p == sub) return MW_EINVAL;
  size_t n = (size_t)(p - start);
  while (is_ows(*p)) p++;
  /* Parameters are not checked: like the reference collector we dispatch on
   * the media type alone, and a charset we would ignore anyway. */
  if (*p != '\0' && *p != ';') return MW_EINVAL;
  if (n >= outsz) return MW_EINVAL;
  for (size_t i = 0; i < n; i++) out[i] = lower(start[i]);
  out[n] = '\0';
  return MW_OK;
}

int mw__parse_content_encoding(const char *header, enum mw_body_encoding *out) {
  static const struct {
    const char *name;
    enum mw_body_encoding enc;
  } names[] = {
      {"identity", MW_ENC_IDENTITY}, {"gzip", MW_ENC_GZIP}, {"x-gzip", MW_ENC_GZIP},
      {"deflate", MW_ENC_DEFLATE},   {"zstd", MW_ENC_ZSTD},
  };
  *out = MW_ENC_IDENTITY;
  if (!header) return MW_OK;
  const char *p = header;
  while (is_ows(*p)) p++;
  size_t n = strlen(p);
  while (n > 0 && is_ows(p[n - 1])) n--;
  if (n == 0) return MW_OK;
  /* A list of codings ("gzip, zstd") would mean decoding in reverse order.
   * No OTLP sender does that, so a list is rejected as unsupported rather than
   * half-handled; so is any name we do not know. */
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    if (strlen(names[i].name) == n && strncasecmp(p, names[i].name, n) == 0) {
      *out = names[i].enc;
      return MW_OK;
    }
  }
  return MW_EUNSUPPORTED;
}

const char *mw__encoding_name(enum mw_body_encoding enc) {
  switch (enc) {
  case MW_ENC_IDENTITY: return "identity";
  case MW_ENC_GZIP: return "gzip";
  case MW_ENC_DEFLATE: return "deflate";
  case MW_ENC_ZSTD: return "zstd";
  }
  return "unknown";
}

/* ---- output windows ------------------------------------------------------- */

/* Where the next decoded bytes go: up to OUT_WINDOW bytes of the buffer while
 * the limit has room, else the single probe byte. */
static int out_window(mw_body_decoder *d, unsigned char **p, size_t *n) {
  size_t room = d->max_out - d->out.len;
  if (room == 0) {
    *p = &d->probe;
    *n = 1;
    return MW_OK;
  }
  size_t want = room < OUT_WINDOW ? room : OUT_WINDOW;
  size_t cap = mw__buf_capacity_for(&d->out, want);
  if (cap > d->out.cap) {
    int rc = take(d, cap - d->out.cap);
    if (rc) return rc;
  }
  char *w = mw__buf_reserve(&d->out, want);
  if (!w) return MW_ENOMEM; /* want <= room, so only allocation can fail */
  *p = (unsigned char *)w;
  *n = want;
  return MW_OK;
}

/* Accounts for got bytes written into the window at p. */
static int out_commit(mw_body_decoder *d, const unsigned char *p, size_t got) {
  if (got == 0) return MW_OK;
  if (p == &d->probe) {
    d->over = 1;
    return MW_ETOOBIG;
  }
  d->out.len += got;
  d->out.data[d->out.len] = '\0';
  d->out_len = d->out.len;
  return MW_OK;
}

/* ---- gzip / deflate ------------------------------------------------------- */

static int z_init(mw_body_decoder *d, int window_bits) {
  memset(&d->zs, 0, sizeof d->zs);
  int rc = inflateInit2(&d->zs, window_bits);
  if (rc != Z_OK) return rc == Z_MEM_ERROR ? MW_ENOMEM : MW_EINVAL;
  d->z_ready = 1;
  return MW_OK;
}

/* A zlib header: CM 8 (deflate), window <= 32K, check bits. Raw deflate data
 * can pass this by chance; browsers and curl take the same gamble. */
static int looks_like_zlib(const unsigned char h[2]) {
  return (h[0] & 0x0f) == 8 && (h[0] >> 4) <= 7 && ((unsigned)h[0] << 8 | h[1]) % 31 == 0;
}

/* Inflates one slice (len <= UINT_MAX) until the input is used up and no
 * output is pending inside zlib. */
static int z_pump(mw_body_decoder *d, const unsigned char *in, size_t len) {
  d->zs.next_in = (Bytef *)(uintptr_t)in; /* zlib's API is not const-correct */
  d->zs.avail_in = (uInt)len;
  for (;;) {
    if (d->z_end) {
      if (d->zs.avail_in == 0) return MW_OK;
      /* Data after a complete stream: only another gzip member may follow (RFC
       * 1952 allows several; a zlib or raw deflate stream is single). Anything
       * else is trailing garbage. inflate() checks the second magic byte. */
      if (!d->z_gzip || d->zs.next_in[0] != 0x1f) return MW_EINVAL;
      if (inflateReset(&d->zs) != Z_OK) return MW_EINVAL;
      d->z_end = 0;
    }
    unsigned char *w;
    size_t wn;
    int rc = out_window(d, &w, &wn);
    if (rc) return rc;
    d->zs.next_out = w;
    d->zs.avail_out = (uInt)wn;
    int zr = inflate(&d->zs, Z_NO_FLUSH);
    rc = out_commit(d, w, wn - d->zs.avail_out);
    if (rc) return rc;
    switch (zr) {
    case Z_STREAM_END: d->z_end = 1; continue;
    case Z_OK: break;
    case Z_BUF_ERROR:
      /* No progress possible: normal once the input is used up. With input
       * left and room to write it cannot happen; refuse rather than spin. */
      if (d->zs.avail_in != 0) return MW_EINVAL;
      break;
    case Z_MEM_ERROR: return MW_ENOMEM;
    default: return MW_EINVAL; /* Z_DATA_ERROR, Z_NEED_DICT (no dictionary is ever agreed) */
    }
    /* A full window may leave output pending inside zlib: go round again. */
    if (d->zs.avail_in == 0 && d->zs.avail_out != 0) return MW_OK;
  }
}

static int z_feed(mw_body_decoder *d, const unsigned char *in, size_t len) {
  if (d->enc == MW_ENC_DEFLATE && !d->z_ready) {
    /* "deflate" should be zlib-wrapped (RFC 9110), but some senders send raw
     * deflate; decide from the first two bytes, as browsers do. */
    while (len > 0 && d->nhdr < 2) {
      d->hdr[d->nhdr++] = *in++;
      len--;
    }
    if (d->nhdr < 2) return MW_OK;
    int rc = z_init(d, looks_like_zlib(d->hdr) ? 15 : -15);
    if (rc) return rc;
    if ((rc = z_pump(d, d->hdr, 2))) return rc;
  }
  if (d->enc == MW_ENC_GZIP && !d->z_sniffed) {
    d->z_sniffed = 1;
    d->z_gzip = in[0] == 0x1f; /* a zlib header never starts with 0x1f (CM would be 15) */
  }
  while (len > 0) {
    size_t n = len < Z_SLICE ? len : Z_SLICE;
    int rc = z_pump(d, in, n);
    if (rc) return rc;
    in += n;
    len -= n;
  }
  return MW_OK;
}

/* ---- zstd ----------------------------------------------------------------- */

static int zstd_err(mw_body_decoder *d, size_t r) {
  switch (ZSTD_getErrorCode(r)) {
  case ZSTD_error_memory_allocation: return MW_ENOMEM;
  /* The frame asks for a window above what we allow for this limit: a
   * resource limit, like the size limit itself, but not the same one. */
  case ZSTD_error_frameParameter_windowTooLarge: d->window_refused = 1; return MW_ETOOBIG;
  default: return MW_EINVAL;
  }
}

/* The largest window a frame may declare. zstd allocates the window (capped by
 * the frame content size, which it verifies) before producing output, so this
 * bounds memory per request. 2^23 covers every standard level up to 19 when
 * the size is unknown; beyond that the window never needs to exceed the body
 * limit; 27 is zstd's own default ceiling. */
static int zstd_window_log(size_t max_out) {
  int wl = 23;
  while (wl < 27 && ((size_t)1 << wl) < max_out) wl++;
  return wl;
}

size_t mw__zstd_window_max(size_t max_out) { return (size_t)1 << zstd_window_log(max_out); }

/* libzstd decodes pre-1.0 ("legacy") frames too, but not the same way fed
 * in pieces as whole (our fuzzer found a frame that decodes whole and fails
 * in chunks). No sender writes them today: they are refused at their magic,
 * 0xFD2FB521 to 0xFD2FB527, whichever way the bytes arrive.
 *
 * Nor does it check a frame's declared content size the same way: whole, a
 * frame that ends with an empty last block short of the size it declared is
 * corrupt; fed in pieces, the empty block ends it quietly (the fuzzer found
 * that too). So the decoder reads each frame's header itself and holds the
 * frame to its declared size, whichever way the bytes arrive. */
static int zstd_frame_head(mw_body_decoder *d, const unsigned char *in, size_t len) {
  size_t i = 0;
  while (d->zst_head_n < sizeof d->zst_head && i < len) d->zst_head[d->zst_head_n++] = in[i++];
  const unsigned char *m = d->zst_head;
  if (d->zst_head_n >= 4 && m[0] >= 0x21 && m[0] <= 0x27 && m[1] == 0xB5 && m[2] == 0x2F && m[3] == 0xFD)
    return MW_EINVAL;
  unsigned long long fcs = ZSTD_getFrameContentSize(d->zst_head, d->zst_head_n);
  if (fcs != ZSTD_CONTENTSIZE_ERROR) { /* the header is complete: a size, or none declared (skippable: 0) */
    d->zst_head_done = 1;
    d->zst_fcs = fcs;
  } else if (d->zst_head_n == sizeof d->zst_head) { /* not a frame header: libzstd says so itself */
    d->zst_head_done = 1;
    d->zst_fcs = ZSTD_CONTENTSIZE_UNKNOWN;
  }
  return MW_OK;
}

static int zstd_feed(mw_body_decoder *d, const unsigned char *in, size_t len) {
  ZSTD_inBuffer ib = {in, len, 0};
  for (;;) {
    if (!d->zst_head_done && zstd_frame_head(d, in + ib.pos, ib.size - ib.pos)) return MW_EINVAL;
    unsigned char *w;
    size_t wn;
    int rc = out_window(d, &w, &wn);
    if (rc) return rc;
    ZSTD_outBuffer ob = {w, wn, 0};
    size_t before = ib.pos;
    size_t r = ZSTD_decompressStream(d->zd, &ob, &ib);
    rc = out_commit(d, w, ob.pos);
    if (rc) return rc;
    if (ZSTD_isError(r)) return zstd_err(d, r);
    d->zst_frame_out += ob.pos; /* a call stops at a frame's end: all of it is this frame's */
    /* r == 0: a frame ended and is fully flushed; the next byte, if any,
     * starts a new frame (or is garbage, which zstd reports). A call that did
     * nothing (probing after a frame end) must not clear the flag. */
    if (r == 0) {
      if (d->zst_fcs != ZSTD_CONTENTSIZE_UNKNOWN && d->zst_frame_out != d->zst_fcs) return MW_EINVAL;
      d->zst_end = 1;
      d->zst_head_n = 0; /* what follows starts another frame */
      d->zst_head_done = 0;
      d->zst_fcs = ZSTD_CONTENTSIZE_UNKNOWN;
      d->zst_frame_out = 0;
    } else if (ib.pos != before || ob.pos != 0) d->zst_end = 0;
    if (ib.pos == ib.size && ob.pos < ob.size) return MW_OK;
  }
}

/* ---- the decoder ---------------------------------------------------------- */

static int enc_valid(enum mw_body_encoding enc) {
  return enc == MW_ENC_IDENTITY || enc == MW_ENC_GZIP || enc == MW_ENC_DEFLATE || enc == MW_ENC_ZSTD;
}

mw_body_decoder *mw__body_decoder_new(enum mw_body_encoding enc, size_t max_out) {
  if (!enc_valid(enc)) return NULL;
  mw_body_decoder *d = calloc(1, sizeof *d);
  if (!d) return NULL;
  d->enc = enc;
  /* mw_buf sizes its allocation as max + 1: keep that from wrapping. */
  d->max_out = max_out < SIZE_MAX / 2 ? max_out : SIZE_MAX / 2;
  mw__buf_init(&d->out, d->max_out);
  if (enc == MW_ENC_GZIP) {
    /* 15 + 32: gzip or zlib, detected from the header. */
    if (z_init(d, 15 + 32)) goto fail;
  } else if (enc == MW_ENC_ZSTD) {
    d->zd = ZSTD_createDCtx();
    if (!d->zd) goto fail;
    d->zst_fcs = ZSTD_CONTENTSIZE_UNKNOWN;
    size_t r = ZSTD_DCtx_setParameter(d->zd, ZSTD_d_windowLogMax, zstd_window_log(d->max_out));
    if (ZSTD_isError(r)) goto fail;
  }
  return d;
fail:
  mw__body_decoder_free(d);
  return NULL;
}

void mw__body_decoder_account(mw_body_decoder *d, mw_mem_account *acct) { d->acct = acct && acct->take ? acct : NULL; }

void mw__mem_give_back(mw_mem_account *acct) {
  if (!acct || !acct->held) return;
  if (acct->give) acct->give(acct->user, acct->held);
  acct->held = 0;
}

void mw__body_decoder_expect(mw_body_decoder *d, size_t n) {
  if (!d || d->err || d->out.len || n == 0) return;
  if (n > d->max_out) n = d->max_out;
  size_t cap = mw__buf_capacity_for(&d->out, n);
  if (cap > d->out.cap && take(d, cap - d->out.cap)) return;
  if (mw__buf_reserve(&d->out, n)) return;
  mw__buf_init(&d->out, d->max_out); /* reserve failed and freed: start over empty */
}

int mw__body_decoder_feed(mw_body_decoder *d, const void *chunk, size_t len) {
  if (d->err) return d->err;
  if (d->state != ST_RUNNING) return MW_EINVAL;
  if (len == 0) return MW_OK;
  const unsigned char *in = chunk;
  d->in_len += len;
  int rc;
  switch (d->enc) {
  case MW_ENC_IDENTITY:
    if (len > d->max_out - d->out.len) {
      /* Report the limit crossing the same way as the inflaters do. */
      rc = MW_ETOOBIG;
      d->over = 1;
    } else {
      size_t cap = mw__buf_capacity_for(&d->out, len);
      rc = cap > d->out.cap ? take(d, cap - d->out.cap) : MW_OK;
      if (!rc) rc = mw__buf_add(&d->out, in, len);
      d->out_len = d->out.len;
    }
    break;
  case MW_ENC_GZIP:
  case MW_ENC_DEFLATE: rc = z_feed(d, in, len); break;
  case MW_ENC_ZSTD: rc = zstd_feed(d, in, len); break;
  default: rc = MW_EINVAL; break;
  }
  if (rc) d->err = rc;
  return rc;
}

/* True when the compressed stream ended cleanly (at least one whole member or
 * frame, nothing partial after it). */
static int stream_complete(const mw_body_decoder *d) {
  switch (d->enc) {
  case MW_ENC_IDENTITY: return 1;
  case MW_ENC_GZIP:
  case MW_ENC_DEFLATE: return d->z_ready && d->z_end;
  case MW_ENC_ZSTD: return d->zst_end;
  }
  return 0;
}

int mw__body_decoder_finish(mw_body_decoder *d, mw_buf **out) {
  *out = NULL;
  if (d->err) return d->err;
  if (d->state != ST_RUNNING) return MW_EINVAL;
  d->state = ST_FINISHED;
  if (!stream_complete(d)) return d->err = MW_EINVAL;
  /* Hand out a real, NUL-terminated buffer even for an empty body. */
  if (!d->out.data && !mw__buf_reserve(&d->out, 0)) return d->err = MW_ENOMEM;
  d->out.data[d->out.len] = '\0';
  mw_buf *b = malloc(sizeof *b);
  if (!b) return d->err = MW_ENOMEM;
  *b = d->out;
  mw__buf_init(&d->out, d->max_out); /* ownership moved to b */
  *out = b;
  return MW_OK;
}

size_t mw__body_decoder_out_len(const mw_body_decoder *d) { return d->over ? d->max_out + 1 : d->out_len; }

size_t mw__body_decoder_in_len(const mw_body_decoder *d) { return d->in_len; }

int mw__body_decoder_window_refused(const mw_body_decoder *d) { return d->err == MW_ETOOBIG && d->window_refused; }

void mw__body_decoder_free(mw_body_decoder *d) {
  if (!d) return;
  if (d->z_ready) inflateEnd(&d->zs);
  ZSTD_freeDCtx(d->zd); /* NULL is fine */
  mw__buf_free(&d->out);
  free(d);
}

void mw__body_buf_free(mw_buf *b) {
  if (!b) return;
  mw__buf_free(b);
  free(b);
}

int mw__decompress_all(enum mw_body_encoding enc, const void *in, size_t len, size_t max_out, mw_buf **out) {
  *out = NULL;
  if (!enc_valid(enc)) return MW_EUNSUPPORTED;
  mw_body_decoder *d = mw__body_decoder_new(enc, max_out);
  if (!d) return MW_ENOMEM;
  int rc = mw__body_decoder_feed(d, in, len);
  if (rc == MW_OK) rc = mw__body_decoder_finish(d, out);
  mw__body_decoder_free(d);
  return rc;
}

int mw__maybe_gunzip(const void *in, size_t len, size_t max_out, mw_mem_account *acct, mw_buf **out) {
  const unsigned char *p = in;
  int gz = len >= 2 && p[0] == 0x1f && p[1] == 0x8b;
  *out = NULL;
  mw_body_decoder *d = mw__body_decoder_new(gz ? MW_ENC_GZIP : MW_ENC_IDENTITY, max_out);
  if (!d) return MW_ENOMEM;
  mw__body_decoder_account(d, acct); /* asked before every growth of the output */
  int rc = mw__body_decoder_feed(d, in, len);
  if (!rc) rc = mw__body_decoder_finish(d, out);
  mw__body_decoder_free(d);
  return rc;
}

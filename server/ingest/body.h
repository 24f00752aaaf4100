/* Request body decoding, independent of any HTTP library: the media type of a
 * Content-Type, the coding named by Content-Encoding, and a streaming decoder
 * that the HTTP layer feeds body chunks as they arrive. The decoder enforces
 * the decompressed-size limit while inflating, so a decompression bomb is
 * stopped after at most max_out + 1 output bytes, whatever its compressed size
 * or the sizes it claims in its headers (OTLP/HTTP: the body limit applies
 * after decompression, and overflow is a 413). */
#ifndef MW_INGEST_BODY_H
#define MW_INGEST_BODY_H
#include <stddef.h>
#include "core/buf.h"

/* (Not mw_encoding: that is libmeanwhile's, include/meanwhile/client.h; no
 * server name repeats a public one, tests/lint/public_names.mjs.) */
enum mw_body_encoding {
  MW_ENC_IDENTITY = 0, /* no Content-Encoding, "" or "identity" */
  MW_ENC_GZIP,         /* "gzip", "x-gzip": gzip members (a zlib stream is also accepted) */
  MW_ENC_DEFLATE,      /* "deflate": zlib-wrapped, or raw deflate when the zlib header is absent */
  MW_ENC_ZSTD,         /* "zstd": one or more zstd frames (an extension to OTLP that the
                          reference collector accepts) */
};

/* Writes the lowercased media type of a Content-Type value, without parameters
 * or surrounding whitespace, into out ("Application/JSON; charset=utf-8" ->
 * "application/json"). Returns 0, or MW_EINVAL when content_type is NULL, empty,
 * not token "/" token, or does not fit in outsz (out is then ""). */
int mw__media_type(const char *content_type, char *out, size_t outsz);

/* Maps a Content-Encoding value (case-insensitive, surrounding spaces ignored)
 * to *out. NULL, "" and "identity" mean identity. Returns 0, or MW_EUNSUPPORTED
 * for any other coding, including a comma-separated list of several codings. */
int mw__parse_content_encoding(const char *header, enum mw_body_encoding *out);

/* A static name for an encoding ("identity", "gzip", "deflate", "zstd"), for logs. */
const char *mw__encoding_name(enum mw_body_encoding enc);

typedef struct mw_body_decoder mw_body_decoder;

/* Memory a decoder's output will take, asked for before it is allocated:
 * take(user, more) gets the bytes the output buffer is about to grow by; a
 * nonzero return (e.g. MW_EBUSY, MW_ETOOBIG) refuses them and ends decoding
 * with that code. So a request's inflated bytes count against a shared budget
 * before they exist, not after. */
typedef struct mw_mem_account {
  int (*take)(void *user, size_t more);
  void (*give)(void *user, size_t less); /* NULL: nothing is given back before the end */
  void *user;
  size_t held; /* what take() granted and was not given back yet */
} mw_mem_account;

/* Gives back everything acct holds (acct->give, when set), once the memory it
 * counted is freed; NULL is fine. */
void mw__mem_give_back(mw_mem_account *acct);

/* A decoder for one body. max_out bounds the decoded bytes. Returns NULL when
 * out of memory or enc is not an mw_body_encoding; free with mw__body_decoder_free(). */
mw_body_decoder *mw__body_decoder_new(enum mw_body_encoding enc, size_t max_out);
/* Counts the decoder's output buffer through acct (copied; NULL: not counted)
 * from now on. */
void mw__body_decoder_account(mw_body_decoder *d, mw_mem_account *acct);
/* Decodes the next len bytes of the body (any chunking, len may be 0). Returns 0;
 * MW_ETOOBIG as soon as the decoded output would pass max_out; MW_EINVAL for
 * corrupt data or data after the end of the compressed stream; MW_ENOMEM.
 * Errors are sticky: later feed/finish calls return the same code. */
int mw__body_decoder_feed(mw_body_decoder *d, const void *chunk, size_t len);
/* Ends the body. Returns 0 and hands out the decoded bytes in *out (NUL-terminated,
 * data never NULL; the caller owns it: mw__body_buf_free()), or the sticky error,
 * or MW_EINVAL when the compressed stream is incomplete (a truncated body, or an
 * empty body under gzip/deflate/zstd), or MW_ENOMEM. *out is NULL on failure.
 * The decoder is spent afterwards: only mw__body_decoder_free() remains. */
int mw__body_decoder_finish(mw_body_decoder *d, mw_buf **out);
/* Decoded bytes produced so far, counting the one byte past max_out that
 * triggers MW_ETOOBIG: never more than max_out + 1. */
size_t mw__body_decoder_out_len(const mw_body_decoder *d);
/* Reserves room for about n decoded bytes up front (e.g. an identity body's
 * Content-Length, capped by max_out), so a large body is not copied while it
 * grows. A hint only: returns nothing, failure just means growing later. */
void mw__body_decoder_expect(mw_body_decoder *d, size_t n);
/* Body (encoded) bytes consumed so far. */
size_t mw__body_decoder_in_len(const mw_body_decoder *d);
/* Set when the sticky MW_ETOOBIG came from a zstd frame asking for a window
 * above mw__zstd_window_max(max_out), before any output: the body may be small,
 * so "over the body limit" would be the wrong reason. */
int mw__body_decoder_window_refused(const mw_body_decoder *d);
/* The largest zstd window (bytes) a body limit of max_out allows. */
size_t mw__zstd_window_max(size_t max_out);
/* Frees the decoder and everything it holds (NULL is fine). */
void mw__body_decoder_free(mw_body_decoder *d);

/* Frees a buffer handed out by this module: mw__buf_free() then free() (NULL is fine). */
void mw__body_buf_free(mw_buf *b);

/* Decodes a whole body in one call (new + feed + finish + free). Returns as
 * feed/finish do (MW_EUNSUPPORTED for an enc outside the enum); on success *out
 * is the caller's (mw__body_buf_free()), else NULL. */
int mw__decompress_all(enum mw_body_encoding enc, const void *in, size_t len, size_t max_out, mw_buf **out);
/* For payloads that may be gzip'd inside the body (pprof): inflates when in
 * starts with the gzip magic 1f 8b, else copies; same limit and results as
 * mw__decompress_all(), and the inflated bytes are counted through acct (NULL:
 * not counted), which may end it with its own code. What acct->held counts
 * stays counted until the caller, having freed *out (or on an error, at once),
 * gives it back with mw__mem_give_back(). */
int mw__maybe_gunzip(const void *in, size_t len, size_t max_out, mw_mem_account *acct, mw_buf **out);

#endif

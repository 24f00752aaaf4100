/* What the ingest endpoints (OTLP, runtime, Pyroscope) share: the answer for a
 * body that could not be read, each naming the limit it hit, and the memory a
 * request takes, counted against --max-request-memory as it grows. */
#include "http/http_int.h"
#include "core/error.h"

#include <stdio.h>
#include <string.h>

void mw__req_memory_msg(mw_req *r, char *msg, size_t n) {
  const mw_http_opts *o = &r->http->opts;
  int json = strcmp(r->media, "application/json") == 0;
  int w = snprintf(msg, n,
                   "decoding this request needs about %zu bytes, more than max_request_memory (%zu) allows even "
                   "with nothing else in flight; send smaller requests or raise --max-request-memory "
                   "(max_body_bytes is %zu)",
                   r->mem_over, o->max_request_memory, o->limits.max_body_bytes);
  if (json && w > 0 && (size_t)w < n)
    snprintf(msg + w, n - (size_t)w, "; a JSON body takes about %d times its size to decode, so the largest "
                                     "that fits is %zu bytes",
             MW_JSON_TREE_FACTOR + 1, o->max_request_memory / (MW_JSON_TREE_FACTOR + 1));
}

unsigned mw__req_body_problem(mw_req *r, char *msg, size_t n) {
  const mw_http_opts *o = &r->http->opts;
  const char *ce = mw__req_header(r, "Content-Encoding");
  switch (r->body_rc) {
  case MW_ETOOBIG:
    if (r->mem_over) {
      mw__req_memory_msg(r, msg, n);
    } else if (r->body_window) {
      snprintf(msg, n,
               "the zstd frame asks for a decoding window over %zu bytes, the most a body limit of %zu bytes "
               "(max_body_bytes) allows: compress with a smaller window (zstd level 19 or below, without --long)",
               mw__zstd_window_max(o->limits.max_body_bytes), o->limits.max_body_bytes);
    } else {
      snprintf(msg, n, "request body is over %zu bytes after decompression (max_body_bytes)",
               o->limits.max_body_bytes);
    }
    return 413;
  case MW_EBUSY:
    snprintf(msg, n, "the server is at its limit (write queue or max_request_memory): retry after the delay");
    return 503;
  case MW_EUNSUPPORTED:
    snprintf(msg, n, "unsupported Content-Encoding \"%.64s\": use identity, gzip, deflate or zstd", ce ? ce : "");
    return 400;
  case MW_EINVAL:
    snprintf(msg, n, "request body could not be decompressed: corrupt or truncated %s data", ce ? ce : "");
    return 400;
  default:
    snprintf(msg, n, "cannot read the request body: %s", mw__strerror(r->body_rc));
    return 500;
  }
}

int mw__req_take(void *user, size_t more) { return mw__req_account(user, more); }

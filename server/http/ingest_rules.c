/* What the ingest endpoints (OTLP, runtime, Pyroscope) share: the answer for a
 * body that could not be read, each naming the limit it hit; the memory a
 * request takes, counted against --max-request-memory as it grows; and the
 * warning for data older than the retention window, which is stored but
 * soon deleted. */
#include "http/http_int.h"
#include "core/error.h"
#include "core/timefmt.h"

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
    snprintf(msg + w, n - (size_t)w,
             "; a JSON body takes about %d times its size to decode, so the largest "
             "that fits is %zu bytes",
             MW_JSON_TREE_FACTOR + 1, o->max_request_memory / (MW_JSON_TREE_FACTOR + 1));
}

int mw__req_body_problem(mw_req *r, char *msg, size_t n) {
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
      snprintf(msg, n, "request body is over %zu bytes after decompression (max_body_bytes)", o->limits.max_body_bytes);
    }
    return MW_ETOOBIG;
  case MW_EBUSY:
    snprintf(msg, n, "the server is at its limit (write queue or max_request_memory): retry after the delay");
    return MW_EBUSY;
  case MW_EUNSUPPORTED: /* a body we cannot read is a bad request, whatever its media type */
    snprintf(msg, n, "unsupported Content-Encoding \"%.64s\": use identity, gzip, deflate or zstd", ce ? ce : "");
    return MW_EINVAL;
  case MW_EINVAL:
    snprintf(msg, n, "request body could not be decompressed: corrupt or truncated %s data", ce ? ce : "");
    return MW_EINVAL;
  default:
    snprintf(msg, n, "cannot read the request body: %s", mw__strerror(r->body_rc));
    return r->body_rc == MW_ENOMEM ? MW_ENOMEM : MW_EIO;
  }
}

int mw__req_take(void *user, size_t more) { return mw__req_account(user, more); }

void mw__req_give(void *user, size_t less) {
  mw_req *r = user;
  if (less > r->accounted) less = r->accounted;
  r->accounted -= less;
  atomic_fetch_sub(&r->http->body_bytes, less);
}

int64_t mw__retention_cutoff(const mw_req *r) {
  int64_t keep = r->http->opts.retention_ns;
  return keep > 0 ? mw__now_ns() - keep : INT64_MIN;
}

void mw__retention_warning(const mw_req *r, size_t n_old, const char *what, char *msg, size_t n) {
  char keep[32];
  mw__format_duration(keep, sizeof keep, r->http->opts.retention_ns);
  snprintf(msg, n,
           "%zu %s%s older than the retention window (--retention %s): stored, but the next retention pass "
           "deletes %s",
           n_old, what, n_old == 1 ? " is" : "s are", keep, n_old == 1 ? "it" : "them");
}

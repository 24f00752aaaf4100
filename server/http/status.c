/* Error code -> HTTP status (see status.h). Retry-After is sent where trying
 * again later can succeed: the server is busy, stopping, short of memory, or
 * its disk is full (later, after space is freed); not where the request
 * itself is at fault, nor for a query that ran out of time (retrying it
 * unchanged will run out again). */
#include "http/status.h"
#include "core/error.h"

#include <microhttpd.h>
#include <stddef.h>

static const struct {
  int rc;
  unsigned status;
  unsigned retry_after;
} table[] = {
    {MW_OK, MHD_HTTP_OK, 0},
    {MW_EINVAL, MHD_HTTP_BAD_REQUEST, 0},
    {MW_EUNAUTHORIZED, MHD_HTTP_UNAUTHORIZED, 0},
    {MW_EFORBIDDEN, MHD_HTTP_FORBIDDEN, 0},
    {MW_ENOTFOUND, MHD_HTTP_NOT_FOUND, 0},
    {MW_EMETHOD, MHD_HTTP_METHOD_NOT_ALLOWED, 0},
    {MW_ETOOSLOW, MHD_HTTP_REQUEST_TIMEOUT, 0},
    {MW_ETOOBIG, MHD_HTTP_CONTENT_TOO_LARGE, 0},
    {MW_ETOOLONG, MHD_HTTP_URI_TOO_LONG, 0},
    {MW_EUNSUPPORTED, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, 0},
    {MW_EIO, MHD_HTTP_INTERNAL_SERVER_ERROR, 0},
    {MW_ENOTIMPL, MHD_HTTP_NOT_IMPLEMENTED, 0},
    {MW_EBUSY, MHD_HTTP_SERVICE_UNAVAILABLE, 1},
    {MW_ESHUTDOWN, MHD_HTTP_SERVICE_UNAVAILABLE, 1},
    {MW_ENOMEM, MHD_HTTP_SERVICE_UNAVAILABLE, 1},
    {MW_ETIMEDOUT, MHD_HTTP_SERVICE_UNAVAILABLE, 0},
    {MW_EUNAVAILABLE, MHD_HTTP_SERVICE_UNAVAILABLE, 0},
    {MW_EFULL, MHD_HTTP_INSUFFICIENT_STORAGE, 30},
};

static size_t find(int rc) {
  size_t i = 0;
  while (i < sizeof table / sizeof table[0] && table[i].rc != rc) i++;
  return i;
}

unsigned mw__http_status(int rc) {
  size_t i = find(rc);
  return i < sizeof table / sizeof table[0] ? table[i].status : MHD_HTTP_INTERNAL_SERVER_ERROR;
}

unsigned mw__http_retry_after(int rc) {
  size_t i = find(rc);
  return i < sizeof table / sizeof table[0] ? table[i].retry_after : 0;
}

int mw__http_needs_auth(int rc) { return mw__http_status(rc) == MHD_HTTP_UNAUTHORIZED; }

unsigned mw__http_status_empty(void) { return MHD_HTTP_NO_CONTENT; }

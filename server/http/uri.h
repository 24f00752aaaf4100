/* The checks a request's URI gets as it stands on the request line, before
 * libmicrohttpd decodes it and splits its query: what decoding would hide (a
 * NUL ends a C string, so "/x%00y" would be served as "/x") and what splitting
 * would cost (each query parameter takes libmicrohttpd pool memory). */
#ifndef MW_HTTP_URI_H
#define MW_HTTP_URI_H
#include <stddef.h>

/* Fixed limits of the request line (see docs/API.md). 64 parameters take
 * about 3.5 KiB of a connection's 64 KiB libmicrohttpd pool; no endpoint
 * reads more than a dozen. */
enum { MW_MAX_URI_BYTES = 8192, MW_MAX_QUERY_PARAMS = 64 };

enum mw_uri_verdict {
  MW_URI_OK = 0,
  MW_URI_TOO_LONG,        /* longer than MW_MAX_URI_BYTES */
  MW_URI_TOO_MANY_PARAMS, /* more than MW_MAX_QUERY_PARAMS query parameters */
  MW_URI_BAD_PATH,        /* the path holds a space or control character, raw or once decoded */
  MW_URI_BAD_QUERY,       /* the query holds a raw space or control character, or a decoded NUL */
};

/* Judges a raw URI ("/path?query", NUL-terminated, not yet decoded; NULL
 * when the request line had none). *params gets the number of query
 * parameters (pieces between '&'), counted even when another check fails. */
enum mw_uri_verdict mw__uri_check(const char *uri, size_t *params);

/* The name of the first query parameter of uri whose value (or name) holds
 * what MW_URI_BAD_QUERY refuses, copied (cut to fit) into out; "" if none. */
void mw__uri_bad_param(const char *uri, char *out, size_t outsz);

#endif

/* A small HTTP GET for the meanwhile CLI: one request on libcurl, the answer's
 * status and body kept in memory up to a maximum. */
#ifndef MW_CLI_HTTP_H
#define MW_CLI_HTTP_H
#include <stddef.h>

enum cli_http_err {
  CLI_HTTP_OK = 0,
  CLI_HTTP_ECONNECT = -1, /* no answer: refused, resolved nowhere, timed out, reset; err says which */
  CLI_HTTP_ETOOBIG = -2,  /* the body is over max_body */
  CLI_HTTP_ENOMEM = -3,
};

typedef struct cli_response {
  long status; /* the HTTP status, whatever it is */
  char *body;  /* NUL-terminated (the NUL is not counted in len); never NULL after success */
  size_t len;
} cli_response;

/* GETs url (http or https), with a connect timeout of a few seconds and an
 * overall one of timeout_ms. Returns CLI_HTTP_OK with *out filled for any HTTP
 * status (the caller frees it with cli_response_free), or a negative
 * cli_http_err with a message in err (*out is then empty). Needs
 * curl_global_init() first. */
int cli_http_get(const char *url, size_t max_body, long timeout_ms, cli_response *out, char *err, size_t err_size);

/* Frees the body; accepts an empty response. */
void cli_response_free(cli_response *r);

/* Appends "&key=value" (or "?key=value" when url has no '?' yet) to the
 * NUL-terminated url of capacity cap, percent-encoding value. Returns 0, or -1
 * when it does not fit (url is then unchanged). */
int cli_url_add_param(char *url, size_t cap, const char *key, const char *value);

#endif

/* Request-line URI checks (see uri.h). Percent escapes are decoded as
 * libmicrohttpd does: "%" and two hex digits make a byte, anything else stays
 * as it is; in the query "+" is a space, which is harmless here. */
#include "http/uri.h"

#include <string.h>

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int is_ctl(unsigned char c) { return c < 0x20 || c == 0x7f; }

/* The byte that s[i] stands for once decoded; *used gets how many input
 * bytes it took (3 for an escape, else 1). */
static unsigned char decoded_at(const char *s, size_t i, size_t *used) {
  int hi, lo;
  if (s[i] == '%' && (hi = hexval(s[i + 1])) >= 0 && (lo = hexval(s[i + 2])) >= 0) {
    *used = 3;
    return (unsigned char)(hi << 4 | lo);
  }
  *used = 1;
  return (unsigned char)s[i];
}

void mw__uri_bad_param(const char *uri, char *out, size_t outsz) {
  const char *q = uri ? strchr(uri, '?') : NULL;
  if (outsz) out[0] = '\0';
  if (!q || !outsz) return;
  const char *param = q + 1;
  for (size_t i = 1, used; q[i]; i += used) {
    if (q[i] == '&') param = q + i + 1;
    unsigned char raw = (unsigned char)q[i], c = decoded_at(q, i, &used);
    if (raw == ' ' || is_ctl(raw) || (used == 3 && c == 0)) {
      size_t n = strcspn(param, "=&");
      if (n >= outsz) n = outsz - 1;
      memcpy(out, param, n);
      out[n] = '\0';
      return;
    }
  }
}

enum mw_uri_verdict mw__uri_check(const char *uri, size_t *params) {
  *params = 0;
  if (!uri) return MW_URI_OK;
  const char *q = strchr(uri, '?');
  size_t path_len = q ? (size_t)(q - uri) : strlen(uri);
  if (q && q[1]) {
    *params = 1;
    for (const char *p = q + 1; *p; p++) *params += *p == '&';
  }
  if (path_len + (q ? strlen(q) : 0) > MW_MAX_URI_BYTES) return MW_URI_TOO_LONG;
  if (*params > MW_MAX_QUERY_PARAMS) return MW_URI_TOO_MANY_PARAMS;
  for (size_t i = 0, used; i < path_len; i += used) {
    unsigned char raw = (unsigned char)uri[i], c = decoded_at(uri, i, &used);
    if (raw == ' ' || is_ctl(raw) || is_ctl(c)) return MW_URI_BAD_PATH;
  }
  if (!q) return MW_URI_OK;
  for (size_t i = 1, used; q[i]; i += used) {
    unsigned char raw = (unsigned char)q[i], c = decoded_at(q, i, &used);
    if (raw == ' ' || is_ctl(raw) || (used == 3 && c == 0)) return MW_URI_BAD_QUERY;
  }
  return MW_URI_OK;
}

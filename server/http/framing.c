/* Request framing that a proxy in front could read differently from us.
 *
 * libmicrohttpd 0.9.75 frames a body by the first Content-Length header and
 * ignores any other; prefers Transfer-Encoding to Content-Length without a
 * word; keeps "Content-Length :" (a space before the colon) as a header named
 * "Content-Length " and so reads no body at all; reads an unknown transfer
 * coding as a body without end; and serves HTTP/1.1 without Host. A proxy
 * that frames such a request its own way and passes the rest on would let a
 * second, smuggled request through. Every header is looked at here once the
 * headers are complete, before anything else: a request whose framing is not
 * unambiguous is refused (and its connection closed by the caller), so that
 * no byte after its headers is ever read as a request. */
#include "http/http_int.h"
#include "core/error.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct scan {
  mw_framing *f;
  unsigned n_cl, n_te, n_host;
  const char *te;
  size_t te_len;
} scan;

/* RFC 9110 5.6.2: a field name is a token. */
static int is_tchar(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int name_is(const char *key, size_t n, const char *want) {
  return n == strlen(want) && strncasecmp(key, want, n) == 0;
}

/* A printable copy of a header's bytes for a message (at most 48 of them). */
static const char *printable(char out[52], const char *a, size_t n) {
  size_t k = n < 48 ? n : 48;
  for (size_t i = 0; i < k; i++) out[i] = (a[i] >= 0x20 && a[i] < 0x7f && a[i] != '"') ? a[i] : '?';
  strcpy(out + k, n > k ? "..." : "");
  return out;
}

/* Records the refusal; the first problem found is the one reported. */
#define REFUSE(f, st, ...)                                                                                             \
  do {                                                                                                                 \
    if (!(f)->rc) {                                                                                                    \
      (f)->rc = (st);                                                                                                  \
      snprintf((f)->why, sizeof(f)->why, __VA_ARGS__);                                                                 \
    }                                                                                                                  \
  } while (0)

static enum MHD_Result each_header(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
                                   const char *value, size_t value_size) {
  scan *s = cls;
  char p[52];
  (void)kind;
  size_t i = 0;
  while (i < key_size && is_tchar((unsigned char)key[i])) i++;
  if (!key_size || i < key_size) {
    size_t n = key_size;
    while (n && (key[n - 1] == ' ' || key[n - 1] == '\t')) n--;
    if (n < key_size)
      REFUSE(s->f, MW_EINVAL, "ambiguous framing: a space before the colon of header \"%s\"", printable(p, key, n));
    else REFUSE(s->f, MW_EINVAL, "header name \"%s\" is not a token", printable(p, key, key_size));
    return MHD_YES;
  }
  for (i = 0; i < value_size; i++) {
    unsigned char c = (unsigned char)value[i];
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      REFUSE(s->f, MW_EINVAL, "header \"%s\" holds a control character", printable(p, key, key_size));
      return MHD_YES;
    }
  }
  if (name_is(key, key_size, MHD_HTTP_HEADER_CONTENT_LENGTH)) {
    s->n_cl++;
  } else if (name_is(key, key_size, MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
    s->n_te++;
    s->te = value;
    s->te_len = value_size;
  } else if (name_is(key, key_size, MHD_HTTP_HEADER_HOST)) {
    s->n_host++;
  } else if (name_is(key, key_size, MHD_HTTP_HEADER_EXPECT)) {
    s->f->expect_continue = value_size == 12 && strncasecmp(value, "100-continue", 12) == 0;
  }
  return MHD_YES;
}

void mw__framing_check(struct MHD_Connection *conn, const char *version, mw_framing *f) {
  memset(f, 0, sizeof *f);
  scan s = {.f = f};
  MHD_get_connection_values_n(conn, MHD_HEADER_KIND, each_header, &s);
  /* libmicrohttpd lets only HTTP/1.x through; 1.1 to 1.9 are read as 1.1 */
  int v11 = version && strcmp(version, MHD_HTTP_VERSION_1_0) != 0;
  char p[52];
  if (s.n_cl > 1) REFUSE(f, MW_EINVAL, "ambiguous framing: more than one Content-Length header");
  if (s.n_te > 1) REFUSE(f, MW_EINVAL, "ambiguous framing: more than one Transfer-Encoding header");
  if (s.n_te && s.n_cl) REFUSE(f, MW_EINVAL, "ambiguous framing: both Content-Length and Transfer-Encoding");
  if (s.n_te && !v11) REFUSE(f, MW_EINVAL, "ambiguous framing: Transfer-Encoding in an HTTP/1.0 request");
  if (s.n_te && !(s.te_len == 7 && strncasecmp(s.te, "chunked", 7) == 0))
    REFUSE(f, MW_ENOTIMPL, "Transfer-Encoding \"%s\" is not supported: send chunked or Content-Length",
           printable(p, s.te, s.te_len));
  if (v11 && !s.n_host) REFUSE(f, MW_EINVAL, "an HTTP/1.1 request needs a Host header");
  if (s.n_host > 1) REFUSE(f, MW_EINVAL, "more than one Host header");
}

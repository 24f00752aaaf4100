/* Query parameters: mw__parse_duration, mw__parse_time, mw__parse_ns and
 * mw__hex_decode on a NUL-terminated copy of the input, as the HTTP layer
 * hands them a parameter's value (a value cannot hold a NUL: the copy stops at
 * the first). Besides the sanitizers: the grammar's promises (docs/API.md):
 * nothing accepted has a sign or a space, nothing negative comes out, and a
 * count of ns is digits only. And the same copy as a whole request-line URI
 * through mw__uri_check, whose verdict is checked against a judgement made
 * here from the rules alone. */
#include "fuzz_common.h"
#include "core/hex.h"
#include "core/timefmt.h"
#include "http/uri.h"

static int hex_digit(char c) { return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }

/* 1 if the URI breaks a rule of docs/API.md: longer than the limit, more
 * parameters than the limit, a space or control character in the path (raw,
 * or as a %XX escape), a raw one or an escaped NUL in the query. */
static int breaks_a_rule(const char *u) {
  size_t len = strlen(u), params = 0;
  const char *q = strchr(u, '?');
  if (q && q[1]) params = 1;
  for (const char *p = q ? q + 1 : u + len; *p; p++) params += *p == '&';
  if (len > MW_MAX_URI_BYTES || params > MW_MAX_QUERY_PARAMS) return 1;
  for (const char *p = u; *p; p++) {
    int in_query = q && p > q;
    unsigned char c = (unsigned char)*p;
    if (c == ' ' || c < 0x20 || c == 0x7f) return 1;
    if (c == '%' && hex_digit(p[1]) && hex_digit(p[2])) {
      unsigned v = (unsigned)strtoul((char[]){p[1], p[2], 0}, NULL, 16);
      if (in_query ? v == 0 : (v < 0x20 || v == 0x7f)) return 1;
      p += 2;
    }
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = fuzz_strndup(data, size);
  size_t slen = strlen(s);
  int64_t ns = 0;
  int signed_or_spaced = strpbrk(s, "+ \t") != NULL;
  int rc = mw__parse_duration(s, &ns);
  FUZZ_CHECK(rc == MW_OK || rc == MW_EINVAL);
  if (rc == MW_OK) FUZZ_CHECK(ns >= 0 && !signed_or_spaced && s[0] != '-');
  rc = mw__parse_time(s, &ns);
  FUZZ_CHECK(rc == MW_OK || rc == MW_EINVAL);
  /* RFC 3339 offsets carry a sign; nothing else may */
  if (rc == MW_OK) FUZZ_CHECK(ns >= 0 || slen >= 20);
  if (rc == MW_OK && slen < 20) FUZZ_CHECK(!signed_or_spaced && s[0] != '-');
  rc = mw__parse_ns(s, &ns);
  FUZZ_CHECK(rc == MW_OK || rc == MW_EINVAL);
  if (rc == MW_OK) FUZZ_CHECK(ns >= 0 && slen > 0 && strspn(s, "0123456789") == slen);

  /* ids as /api/v1/traces/{id} takes them, and the pprof label sizes */
  uint8_t id[64];
  static const size_t sizes[] = {16, 8, 1, 0};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    rc = mw__hex_decode(id, sizes[i], s, slen);
    FUZZ_CHECK(rc == MW_OK || rc == MW_EINVAL);
    if (rc == MW_OK) {
      char back[2 * 64 + 1];
      mw__hex_encode(back, id, sizes[i]);
      for (size_t k = 0; k < slen; k++) /* round trip, up to case */
        FUZZ_CHECK(back[k] == ((s[k] >= 'A' && s[k] <= 'F') ? s[k] - 'A' + 'a' : s[k]));
    }
  }
  /* any length the input names, within the buffer */
  if (slen / 2 <= sizeof id) {
    rc = mw__hex_decode(id, slen / 2, s, slen);
    FUZZ_CHECK(rc == MW_OK || rc == MW_EINVAL);
  }

  size_t params = 0;
  enum mw_uri_verdict v = mw__uri_check(s, &params);
  FUZZ_CHECK(v >= MW_URI_OK && v <= MW_URI_BAD_QUERY);
  FUZZ_CHECK((v != MW_URI_OK) == breaks_a_rule(s));
  FUZZ_CHECK(v != MW_URI_OK || params <= MW_MAX_QUERY_PARAMS);
  free(s);
  return 0;
}

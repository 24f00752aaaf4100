/* Query parameters: mw__parse_duration, mw__parse_time, mw__parse_ns and
 * mw__hex_decode on a NUL-terminated copy of the input, as the HTTP layer
 * hands them a parameter's value (a value cannot hold a NUL: the copy stops at
 * the first). Besides the sanitizers: the grammar's promises (docs/API.md):
 * nothing accepted has a sign or a space, nothing negative comes out, and a
 * count of ns is digits only. */
#include "fuzz_common.h"
#include "core/hex.h"
#include "core/timefmt.h"

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
  free(s);
  return 0;
}

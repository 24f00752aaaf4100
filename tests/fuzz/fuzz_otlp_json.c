/* OTLP/JSON: mw__otlp_decode_json with the default limits (nesting included),
 * then mw__otlp_flatten and the same checks as fuzz_otlp_pb. The input is
 * passed as is, not NUL-terminated: the decoder must stay within len. */
#include "fuzz_otlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mw_arena *a = fuzz_arena();
  mw_limits lim = MW_LIMITS_DEFAULT;
  mw_otlp_request *req = NULL;
  mw_otlp_flaws flaws;
  char err[256] = "";
  int rc = mw__otlp_decode_json(a, (const char *)data, size, &lim, &req, &flaws, err, sizeof err);
  FUZZ_CHECK(rc == MW_OK || rc == MW_EINVAL || rc == MW_ENOMEM || rc == MW_ETOOBIG);
  if (rc == MW_OK) fuzz_otlp_flatten_and_check(a, req, &flaws);
  else fuzz_touch(err);
  mw__arena_free(a);
  return 0;
}

/* OTLP/protobuf: mw__otlp_decode_pb (pbcheck pre-pass + protobuf-c unpack into
 * the arena), then mw__otlp_flatten, then every stored blob unpacked again. */
#include "fuzz_otlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mw_arena *a = fuzz_arena();
  mw_otlp_request *req = NULL;
  mw_otlp_flaws flaws;
  char err[256] = "";
  int rc = mw__otlp_decode_pb(a, data, size, NULL, &req, &flaws, err, sizeof err);
  FUZZ_CHECK(rc == MW_OK || rc == MW_EINVAL || rc == MW_ENOMEM || rc == MW_ETOOBIG);
  if (rc == MW_OK) fuzz_otlp_flatten_and_check(a, req, &flaws);
  else fuzz_touch(err);
  mw__arena_free(a);
  return 0;
}

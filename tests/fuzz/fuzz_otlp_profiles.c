/* OTLP profiles: mw__ingest_otlp_profiles, the whole profiles ingest path
 * minus HTTP and SQL (decoding, the dictionary checks, the conversion of each
 * profile into pprof and its build as a runtime batch), then every batch's
 * stacks, labels and values read. Byte 0: the encoding (even: protobuf, odd:
 * JSON); the rest: the body. */
#include "fuzz_common.h"
#include "ingest/otlp_profiles.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  enum mw_otlp_encoding enc = data[0] & 1 ? MW_OTLP_JSON : MW_OTLP_PROTOBUF;
  char *body = fuzz_strndup(data + 1, size - 1);
  mw_arena *a = fuzz_arena();
  const mw_limits lim = MW_LIMITS_DEFAULT;
  mw_otlp_prof_batch b;
  char err[512] = "";
  int rc = mw__ingest_otlp_profiles(a, enc, (const uint8_t *)body, size - 1, &lim, 1, &b, err, sizeof err);
  FUZZ_CHECK(rc == MW_OK || rc == MW_EINVAL || rc == MW_ENOMEM || rc == MW_ETOOBIG);
  if (rc == MW_OK) {
    size_t n = 0;
    for (const mw_runtime_batch *rb = b.first; rb; rb = rb->next, n++) {
      FUZZ_CHECK(rb->kind && rb->payload);
      for (size_t i = 0; i < rb->n_stacks; i++) fuzz_touch(rb->stacks[i].text);
      for (size_t i = 0; i < rb->n_samples; i++) {
        FUZZ_CHECK(rb->samples[i].stack < rb->n_stacks);
        fuzz_touch(rb->samples[i].vals_json);
        fuzz_touch(rb->samples[i].labels_json);
      }
      fuzz_touch(rb->meta_json);
    }
    FUZZ_CHECK((b.first != NULL) == (b.profiles > 0));
    fuzz_touch(b.reject_reason);
  } else {
    fuzz_touch(err);
  }
  mw__arena_free(a);
  free(body);
  return 0;
}

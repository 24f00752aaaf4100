/* Runtime ingest end to end without HTTP or SQL: mw__runtime_build, which
 * picks the decoder (stderr text, goroutine dump text, pprof raw or gzip'd),
 * aligns times, groups goroutines, aggregates samples, reads span and trace
 * labels and zstd-compresses the payload.
 *
 * Input: byte 0 picks the request parameters, the rest is the body.
 *   bits 0-2  kind: gctrace schedtrace goroutine cpu heap allocs mutex block
 *   bits 3-4  time parameters, as an HTTP client may send them (non-negative
 *             int64 nanoseconds whose time + duration fits too, see
 *             handle_ingest() in http/runtime.c):
 *             0 none, 1 time+duration, 2 time+duration+process_start,
 *             3 the largest values the HTTP layer accepts
 *   bits 5-7  unused (mw_ingest_params' limits are the defaults: the field that
 *             carries them is being reworked)
 * Besides the sanitizers: every index the writer follows is in range, and the
 * stored payload decompresses to the body. */
#include "fuzz_common.h"
#include "ingest/runtime.h"

#include <zstd.h>

static const char *const kinds[8] = {"gctrace", "schedtrace", "goroutine", "cpu", "heap", "allocs", "mutex", "block"};

/* From the go1.19-checkout fixture (meta.json), so real bodies land near their times. */
#define LAUNCH_NS INT64_C(1795334474248483366)

static void check_batch(const mw_runtime_batch *b, const uint8_t *body, size_t len, int stderr_kind) {
  FUZZ_CHECK(b->service != NULL && b->instance != NULL);
  if (stderr_kind) {
    FUZZ_CHECK(b->n_gc + b->n_sched > 0);
    if (b->n_gc) fuzz_touch_bytes(b->gc, b->n_gc * sizeof *b->gc);
    for (size_t i = 0; i < b->n_sched; i++)
      fuzz_touch_bytes(b->sched[i].local_runq, b->sched[i].n_local_runq * sizeof *b->sched[i].local_runq);
    return;
  }
  fuzz_touch(b->kind);
  fuzz_touch(b->format);
  fuzz_touch(b->meta_json);
  for (size_t i = 0; i < b->n_stacks; i++) {
    FUZZ_CHECK(b->stacks[i].text != NULL);
    FUZZ_CHECK(strlen(b->stacks[i].text) <= b->stacks[i].len); /* text may hold a NUL from the input */
  }
  for (size_t i = 0; i < b->n_groups; i++) {
    const mw_goroutine_group *g = &b->groups[i];
    FUZZ_CHECK(g->stack < b->n_stacks);
    FUZZ_CHECK((unsigned)g->state < MW_G_NSTATES);
    fuzz_touch(g->wait_reason);
    fuzz_touch(g->labels_json);
    fuzz_touch(g->goids);
  }
  for (size_t i = 0; i < b->n_samples; i++) {
    const mw_profile_row *r = &b->samples[i];
    FUZZ_CHECK(r->stack < b->n_stacks);
    fuzz_touch(r->labels_json);
    FUZZ_CHECK(r->vals_json != NULL);
    fuzz_touch(r->vals_json);
  }
  FUZZ_CHECK(b->raw_bytes == len);
  FUZZ_CHECK(b->payload != NULL);
  uint8_t *back = malloc(len);
  FUZZ_CHECK(back != NULL);
  size_t n = ZSTD_decompress(back, len, b->payload, b->payload_len);
  FUZZ_CHECK(!ZSTD_isError(n) && n == len && memcmp(back, body, len) == 0);
  free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  mw_ingest_params p = {.kind = kinds[data[0] & 7],
                        .service = "checkout",
                        .instance = "shop-1-12707",
                        .received_ns = LAUNCH_NS + INT64_C(20000000000)};
  switch ((data[0] >> 3) & 3) {
  case 0: break;
  case 1:
    p.time_ns = LAUNCH_NS + INT64_C(2000000000);
    p.duration_ns = INT64_C(10000000000);
    break;
  case 2:
    p.time_ns = LAUNCH_NS + INT64_C(2000000000);
    p.duration_ns = INT64_C(10000000000);
    p.process_start_ns = LAUNCH_NS;
    break;
  case 3:
    p.duration_ns = INT64_C(10000000000);
    p.time_ns = INT64_MAX - p.duration_ns;
    p.process_start_ns = INT64_MAX;
    break;
  }
  const uint8_t *body = data + 1;
  size_t len = size - 1;

  mw_arena *a = fuzz_arena();
  mw_runtime_batch b;
  mw_ingest_report rep;
  char err[512] = "";
  int rc = mw__runtime_build(a, &p, body, len, &b, &rep, err, sizeof err);
  FUZZ_CHECK(rc == MW_OK || rc == MW_EINVAL || rc == MW_ETOOBIG || rc == MW_ENOMEM);
  fuzz_touch(err);
  FUZZ_CHECK(rep.n_errors <= MW_INGEST_MAX_ERRORS);
  for (size_t i = 0; i < rep.n_errors; i++) fuzz_touch(rep.errors[i]);
  if (rc == MW_OK) check_batch(&b, body, len, (data[0] & 7) < 2);
  mw__arena_free(a);
  return 0;
}

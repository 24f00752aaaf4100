/* Go runtime stderr (gctrace, schedtrace, stamped or not):
 * mw__runtime_text_parse with the default limits, then the documented
 * accounting of lines. The input is passed as is, not NUL-terminated. */
#include "fuzz_common.h"
#include "decode/runtime_text.h"

static void check_text(const mw_runtime_text *t, int rc) {
  const mw_runtime_text_opts o = MW_RUNTIME_TEXT_OPTS_DEFAULT;
  FUZZ_CHECK(t->lines_total == t->lines_runtime + t->lines_skipped);
  FUZZ_CHECK(t->lines_malformed <= t->lines_skipped);
  FUZZ_CHECK(t->lines_too_long <= t->lines_skipped);
  FUZZ_CHECK(t->lines_stamped <= t->lines_total);
  FUZZ_CHECK(t->n_gc + t->n_sched <= o.max_records);
  FUZZ_CHECK(t->n_gc + t->n_sched <= t->lines_runtime);
  FUZZ_CHECK(t->n_errors <= MW_RUNTIME_TEXT_MAX_ERRORS);
  FUZZ_CHECK(t->n_errors <= t->lines_malformed);
  if (rc == MW_ETOOBIG) FUZZ_CHECK(t->truncated);
  for (size_t i = 0; i < t->n_errors; i++) {
    FUZZ_CHECK(t->errors[i].msg != NULL);
    fuzz_touch(t->errors[i].msg);
    FUZZ_CHECK(t->errors[i].line >= 1 && t->errors[i].line <= t->lines_total);
    FUZZ_CHECK(t->errors[i].col >= 1);
  }
  for (size_t i = 0; i < t->n_sched; i++) {
    const mw_sched_sample *s = &t->sched[i];
    FUZZ_CHECK(s->n_local_runq <= o.max_procs);
    fuzz_touch_bytes(s->local_runq, s->n_local_runq * sizeof *s->local_runq);
  }
  if (t->n_gc) fuzz_touch_bytes(t->gc, t->n_gc * sizeof *t->gc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mw_arena *a = fuzz_arena();
  mw_runtime_text t;
  int rc = mw__runtime_text_parse(a, (const char *)data, size, NULL, &t);
  FUZZ_CHECK(rc == MW_OK || rc == MW_ETOOBIG || rc == MW_ENOMEM);
  if (rc != MW_ENOMEM) check_text(&t, rc);
  mw__arena_free(a);
  return 0;
}

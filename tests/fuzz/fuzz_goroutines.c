/* Goroutine dumps: mw__goroutines_parse_text (debug=1 and debug=2, detected
 * from the content) with the default limits, then the documented shape of the
 * result. The input is passed as is, not NUL-terminated. */
#include "fuzz_common.h"
#include "decode/goroutines.h"

static void check_dump(const mw_goroutine_dump *d, int rc) {
  const mw_goroutine_opts o = MW_GOROUTINE_OPTS_DEFAULT;
  FUZZ_CHECK(d->format == 0 || d->format == 1 || d->format == 2);
  FUZZ_CHECK(memchr(d->err, '\0', sizeof d->err) != NULL);
  FUZZ_CHECK(d->n <= o.max_goroutines);
  FUZZ_CHECK(d->lines_skipped <= d->lines_total);
  if (rc == MW_ETOOBIG) FUZZ_CHECK(d->truncated);
  uint64_t total = 0; /* wrapping: an overflow here is the parser's to report */
  for (size_t i = 0; i < d->n; i++) {
    const mw_goroutine *g = &d->g[i];
    total += (uint64_t)g->count;
    FUZZ_CHECK((unsigned)g->state < MW_G_NSTATES);
    fuzz_touch(mw__gstate_name(g->state));
    fuzz_touch(g->wait_reason);
    FUZZ_CHECK(g->stack.n_frames <= o.max_frames);
    for (size_t f = 0; f < g->stack.n_frames; f++) {
      fuzz_touch(g->stack.frames[f].func);
      fuzz_touch(g->stack.frames[f].file);
    }
    if (g->created_by) {
      fuzz_touch(g->created_by->func);
      fuzz_touch(g->created_by->file);
    }
    FUZZ_CHECK(g->n_labels <= o.max_labels);
    for (size_t l = 0; l < g->n_labels; l++) {
      fuzz_touch(g->labels[l].key);
      fuzz_touch(g->labels[l].str);
      fuzz_touch(g->labels[l].num_unit);
    }
  }
  if (rc == MW_OK || rc == MW_ETOOBIG) FUZZ_CHECK((int64_t)total == d->total); /* "sum of the counts" */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mw_arena *a = fuzz_arena();
  mw_goroutine_dump d;
  int rc = mw__goroutines_parse_text(a, (const char *)data, size, NULL, &d);
  FUZZ_CHECK(rc == MW_OK || rc == MW_EINVAL || rc == MW_ETOOBIG || rc == MW_ENOMEM);
  if (rc != MW_ENOMEM) check_dump(&d, rc);
  mw__arena_free(a);
  return 0;
}

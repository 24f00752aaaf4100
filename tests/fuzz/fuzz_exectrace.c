/* Execution traces on the server side: the input is what meanwhile-exectrace
 * would write (a Records message). mw__xt_records_decode, fed the input in
 * chunks as the reader's pipe would, either refuses it or gives arrays whose
 * references hold; then mw__xt_build makes the stored form, and every
 * goroutine blob and the span table decode back to the counts put in. */
#include "fuzz_common.h"
#include "decode/exectrace.h"
#include "decode/exectrace_blob.h"
#include "ingest/exectrace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mw_arena *a = fuzz_arena();
  char err[256] = "";
  mw_xt_dec *d = mw__xt_dec_new(a, NULL);
  FUZZ_CHECK(d != NULL);
  int rc = MW_OK;
  /* chunks of 1..64 bytes, sized by the input itself */
  for (size_t off = 0; off < size && !rc;) {
    size_t n = 1 + data[off] % 64;
    if (n > size - off) n = size - off;
    rc = mw__xt_dec_feed(d, data + off, n, err, sizeof err);
    off += n;
  }
  mw_xt_records r;
  if (!rc) rc = mw__xt_dec_finish(d, &r, err, sizeof err);
  mw__xt_dec_free(d);
  FUZZ_CHECK(rc == MW_OK || rc == MW_EINVAL || rc == MW_ENOMEM);
  if (rc == MW_OK) {
    for (size_t i = 0; i < r.n_intervals; i++) {
      FUZZ_CHECK(r.intervals[i].span <= r.n_spans);
      FUZZ_CHECK(r.intervals[i].end_ns >= r.intervals[i].start_ns);
      FUZZ_CHECK(r.intervals[i].reason < r.n_strs && r.intervals[i].raw_reason < r.n_strs);
      fuzz_touch(r.strs[r.intervals[i].reason]);
      fuzz_touch(r.strs[r.intervals[i].raw_reason]);
    }
    size_t n_iv = r.n_intervals, n_wk = r.n_wakes;
    mw_xt_params p = {.service = "fuzz", .instance = ""};
    mw_runtime_batch b;
    rc = mw__xt_build(a, &p, data, size, &r, NULL, &b, err, sizeof err);
    FUZZ_CHECK(rc == MW_OK || rc == MW_ENOMEM);
    if (rc == MW_OK) {
      const mw_exectrace_batch *x = b.exectrace;
      size_t got_iv = 0, got_wk = 0;
      for (size_t g = 0; g < x->n_goroutines; g++) {
        mw_xt_blob blob;
        FUZZ_CHECK(mw__xt_blob_decode(a, x->goroutines[g].blob, x->goroutines[g].blob_len, (size_t)1 << 30, &blob) ==
                   MW_OK);
        FUZZ_CHECK(blob.n_intervals == x->goroutines[g].n_intervals && blob.n_wakes == x->goroutines[g].n_wakes);
        got_iv += blob.n_intervals, got_wk += blob.n_wakes;
      }
      FUZZ_CHECK(got_iv == n_iv && got_wk == n_wk);
      mw_xt_span_table t;
      FUZZ_CHECK(mw__xt_spans_decode(a, x->span_ids, x->span_ids_len, x->span_blob, x->span_blob_len, x->start_ns,
                                     (size_t)1 << 30, &t) == MW_OK);
      FUZZ_CHECK(t.n_spans == x->n_spans && t.n_runs == x->n_runs);
    }
  }
  fuzz_touch(err);
  mw__arena_free(a);
  return 0;
}

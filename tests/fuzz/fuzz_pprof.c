/* pprof: mw__pprof_decode (raw protobuf, not gzip'd) with the default limits,
 * then the label and sample-type lookups the ingest path makes, and the
 * documented shape of the result. */
#include "fuzz_common.h"
#include "decode/pprof.h"

static void check_profile(const mw_profile *p, const mw_pprof_opts *o) {
  FUZZ_CHECK(p->n_samples <= o->max_samples);
  FUZZ_CHECK(p->n_sample_types == 0 || p->sample_types != NULL);
  for (size_t i = 0; i < p->n_sample_types; i++) {
    FUZZ_CHECK(p->sample_types[i].type != NULL && p->sample_types[i].unit != NULL);
    fuzz_touch(p->sample_types[i].type);
    fuzz_touch(p->sample_types[i].unit);
  }
  FUZZ_CHECK(p->period_type.type != NULL && p->period_type.unit != NULL);
  fuzz_touch(p->period_type.type);
  fuzz_touch(p->period_type.unit);
  FUZZ_CHECK(p->default_sample_type != NULL);
  fuzz_touch(p->default_sample_type);
  FUZZ_CHECK(p->default_sample_index >= -1 && p->default_sample_index < (int)p->n_sample_types);
  for (size_t i = 0; i < p->n_comments; i++) fuzz_touch(p->comments[i]);
  fuzz_touch(p->drop_frames);
  fuzz_touch(p->keep_frames);
  fuzz_touch(p->doc_url);
  for (size_t i = 0; i < p->n_samples; i++) {
    const mw_pprof_sample *s = &p->samples[i];
    if (p->n_sample_types) fuzz_touch_bytes(s->values, p->n_sample_types * sizeof *s->values);
    FUZZ_CHECK(s->stack.n_frames <= o->max_frames);
    for (size_t f = 0; f < s->stack.n_frames; f++) {
      fuzz_touch(s->stack.frames[f].func);
      fuzz_touch(s->stack.frames[f].file);
    }
    FUZZ_CHECK(s->n_labels <= o->max_labels);
    for (size_t l = 0; l < s->n_labels; l++) {
      fuzz_touch(s->labels[l].key);
      fuzz_touch(s->labels[l].str);
      fuzz_touch(s->labels[l].num_unit);
    }
    int which = -2;
    const char *span = mw__pprof_span_label(s->labels, s->n_labels, &which);
    FUZZ_CHECK(span ? (which >= 0 && (size_t)which < s->n_labels) : which == -1);
    fuzz_touch(span);
    which = -2;
    const char *trace = mw__pprof_trace_label(s->labels, s->n_labels, &which);
    FUZZ_CHECK(trace ? (which >= 0 && (size_t)which < s->n_labels) : which == -1);
    fuzz_touch(trace);
  }
  int def = mw__pprof_sample_type_index(p, NULL);
  FUZZ_CHECK(def >= -1 && def < (int)p->n_sample_types);
  int cpu = mw__pprof_sample_type_index(p, "cpu");
  FUZZ_CHECK(cpu >= -1 && cpu < (int)p->n_sample_types);
}

/* "On failure *out is all zeros": field by field, padding aside. */
static int zeroed(const mw_profile *p) {
  return !p->sample_types && !p->n_sample_types && !p->period_type.type && !p->period_type.unit && !p->period &&
         !p->time_nanos && !p->duration_nanos && !p->default_sample_type && !p->default_sample_index && !p->comments &&
         !p->n_comments && !p->drop_frames && !p->keep_frames && !p->doc_url && !p->samples && !p->n_samples && !p->pb;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mw_arena *a = fuzz_arena();
  mw_pprof_opts o = MW_PPROF_OPTS_DEFAULT;
  mw_profile p;
  char err[256] = "";
  int rc = mw__pprof_decode(a, data, size, &o, &p, err, sizeof err);
  FUZZ_CHECK(rc == MW_OK || rc == MW_EINVAL || rc == MW_ETOOBIG || rc == MW_ENOMEM);
  if (rc == MW_OK) check_profile(&p, &o);
  else FUZZ_CHECK(zeroed(&p));
  fuzz_touch(err);
  mw__arena_free(a);
  return 0;
}

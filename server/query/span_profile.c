/* Span profiles (see span_profile.h), written by query/pprof_out.h from the
 * stored stack text. */
#include "query/span_profile.h"
#include "query/pprof_out.h"
#include "core/error.h"
#include "core/hex.h"
#include "model/snapshot_meta.h"
#include "perftools/profiles.pb-c.h"

#include <stdlib.h>
#include <string.h>

typedef mw_pprof_out builder;

static int64_t str_id(builder *b, const char *s, size_t len) { return mw__pprof_out_str(b, s, len); }

/* The profile's sample types and period: the first snapshot's for CPU (Go
 * writes samples/count and cpu/nanoseconds), goroutine/count for goroutines. */
static int sample_types(builder *b, const mw_span_sample *first, int goroutines, Perftools__Profiles__Profile *p) {
  mw_arena *a = b->a;
  size_t n_types = 1;
  Perftools__Profiles__ValueType *vt = mw__arena_calloc(a, 8, sizeof *vt);
  Perftools__Profiles__ValueType **vtp = mw__arena_calloc(a, 8, sizeof *vtp);
  Perftools__Profiles__ValueType *pt = mw__arena_calloc(a, 1, sizeof *pt);
  if (!vt || !vtp || !pt) return MW_ENOMEM;
  perftools__profiles__value_type__init(pt);
  if (goroutines) {
    perftools__profiles__value_type__init(&vt[0]);
    vt[0].type = str_id(b, "goroutine", 9);
    vt[0].unit = str_id(b, "count", 5);
    pt->type = vt[0].type;
    pt->unit = vt[0].unit;
    p->period = 1;
  } else {
    mw_snapshot_meta meta;
    if (mw__snapshot_meta_read(a, first->meta_json, &meta) == MW_ENOMEM) return MW_ENOMEM;
    n_types = meta.n_sample_types ? meta.n_sample_types : 1;
    if (n_types > 8) n_types = 8;
    for (size_t i = 0; i < n_types; i++) {
      perftools__profiles__value_type__init(&vt[i]);
      const char *t = i < meta.n_sample_types ? meta.sample_types[i].type : NULL;
      const char *u = i < meta.n_sample_types ? meta.sample_types[i].unit : NULL;
      vt[i].type = str_id(b, t ? t : "samples", strlen(t ? t : "samples"));
      vt[i].unit = str_id(b, u ? u : "count", strlen(u ? u : "count"));
    }
    const char *pt_t = meta.period_type.type, *pt_u = meta.period_type.unit;
    pt->type = str_id(b, pt_t ? pt_t : "cpu", strlen(pt_t ? pt_t : "cpu"));
    pt->unit = str_id(b, pt_u ? pt_u : "nanoseconds", strlen(pt_u ? pt_u : "nanoseconds"));
    p->period = meta.period;
  }
  for (size_t i = 0; i < n_types; i++) vtp[i] = &vt[i];
  p->sample_type = vtp;
  p->n_sample_type = n_types;
  p->period_type = pt;
  return MW_OK;
}

/* One stored sample as a pprof sample: its frames as locations, its values,
 * and the labels span_id, trace_id (when known) and, for goroutines, state. */
static Perftools__Profiles__Sample *make_sample(builder *b, const mw_span_sample *row, size_t n_types, int goroutines,
                                                const char *span_hex, const char *trace_hex) {
  mw_arena *a = b->a;
  Perftools__Profiles__Sample *sm = mw__arena_alloc(a, sizeof *sm);
  if (!sm) return NULL;
  perftools__profiles__sample__init(sm);
  sm->value = mw__arena_calloc(a, n_types, sizeof *sm->value);
  sm->label = mw__arena_calloc(a, 3, sizeof *sm->label);
  if (!sm->value || !sm->label || mw__pprof_out_stack(b, row->frames, sm)) return NULL;
  if (goroutines) {
    sm->value[0] = row->count;
  } else {
    const char *v = row->vals_json ? row->vals_json + 1 : "";
    for (size_t k = 0; k < n_types && *v; k++) {
      char *end;
      sm->value[k] = strtoll(v, &end, 10);
      v = *end == ',' ? end + 1 : end;
    }
  }
  sm->n_value = n_types;
  if (mw__pprof_out_label(b, &sm->label[sm->n_label++], "span_id", span_hex)) return NULL;
  if (trace_hex[0] && mw__pprof_out_label(b, &sm->label[sm->n_label++], "trace_id", trace_hex)) return NULL;
  if (goroutines && row->state && mw__pprof_out_label(b, &sm->label[sm->n_label++], "state", row->state)) return NULL;
  return sm;
}

static int span_profile(mw_read *rd, mw_arena *a, const uint8_t span_id[8], const uint8_t *trace_id, const char *kind,
                        mw_buf *out) {
  mw_span_sample *rows;
  size_t n;
  int rc = mw__store_span_samples(rd, a, span_id, trace_id, kind, 100000, &rows, &n);
  if (rc) return rc;
  if (!n) return MW_ENOTFOUND;
  int goroutines = strcmp(kind, "goroutine") == 0;
  builder b;
  if ((rc = mw__pprof_out_init(&b, a))) goto out;
  Perftools__Profiles__Profile p = PERFTOOLS__PROFILES__PROFILE__INIT;
  if ((rc = sample_types(&b, &rows[0], goroutines, &p))) goto out;
  rc = MW_ENOMEM;
  p.time_nanos = rows[0].snapshot_ns;
  p.duration_nanos = rows[n - 1].snapshot_ns + rows[n - 1].snapshot_dur_ns - rows[0].snapshot_ns;
  char span_hex[17], trace_hex[33] = "";
  mw__hex_encode(span_hex, span_id, 8);
  if (trace_id) mw__hex_encode(trace_hex, trace_id, 16);
  p.sample = mw__arena_calloc(a, n, sizeof *p.sample);
  if (!p.sample) goto out;
  for (size_t i = 0; i < n; i++) {
    Perftools__Profiles__Sample *sm = make_sample(&b, &rows[i], p.n_sample_type, goroutines, span_hex, trace_hex);
    if (!sm) goto out;
    p.sample[p.n_sample++] = sm;
  }
  rc = mw__pprof_out_finish(&b, &p, out);
out:
  mw__pprof_out_free(&b);
  return rc;
}

int mw__q_span_profile(mw_query *q, const uint8_t span_id[8], const uint8_t *trace_id, const char *kind,
                       mw_answer *out) {
  if (mw__query_open(q, out)) return out->rc;
  char hex[17];
  mw__hex_encode(hex, span_id, 8);
  mw__answer_bytes(out, "application/octet-stream", 256u << 20);
  int rc = span_profile(q->rd, q->arena, span_id, trace_id, kind, &out->body);
  if (rc == MW_ENOTFOUND) return mw__answer_fail(out, rc, "no %s sample carries span %s", kind, hex);
  if (rc) return mw__answer_fail(out, rc, "building the profile failed: %s", mw__strerror(rc));
  return out->rc;
}

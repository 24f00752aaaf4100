/* Span profiles (see span_profile.h). Functions and locations are rebuilt from
 * the stored stack text: one Location per (function, file, line) with one
 * Line, one Function per (function, file). Go's own profiles carry addresses
 * and mappings; ours do not need them, since pprof reads the symbols given. */
#include "query/span_profile.h"
#include "core/bmap.h"
#include "core/error.h"
#include "core/hex.h"
#include "model/snapshot_meta.h"
#include "perftools/profiles.pb-c.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

typedef struct builder {
  mw_arena *a;
  mw_bmap *strings, *funcs, *locs;
  char **strtab;
  size_t n_str, cap_str;
  Perftools__Profiles__Function **funcs_v;
  size_t n_funcs, cap_funcs;
  Perftools__Profiles__Location **locs_v;
  size_t n_locs, cap_locs;
} builder;

#define GROW(b, arr, n, cap)                                                                                           \
  do {                                                                                                                 \
    if ((n) == (cap)) {                                                                                                \
      size_t nc_ = (cap) ? (cap)*2 : 64;                                                                               \
      void *p_ = mw__arena_alloc((b)->a, nc_ * sizeof *(arr));                                                         \
      if (!p_) return -1;                                                                                              \
      if (n) memcpy(p_, (arr), (n) * sizeof *(arr));                                                                   \
      (arr) = p_;                                                                                                      \
      (cap) = nc_;                                                                                                     \
    }                                                                                                                  \
  } while (0)

static int64_t str_id(builder *b, const char *s, size_t len) {
  int64_t id;
  if (mw__bmap_get(b->strings, s, len, &id)) return id;
  GROW(b, b->strtab, b->n_str, b->cap_str);
  b->strtab[b->n_str] = mw__arena_strndup(b->a, s, len);
  if (!b->strtab[b->n_str] || mw__bmap_put(b->strings, s, len, (int64_t)b->n_str)) return -1;
  return (int64_t)b->n_str++;
}

/* Location id of one "func\tfile:line" frame. */
static int64_t loc_id(builder *b, const char *frame, size_t len) {
  int64_t id;
  if (mw__bmap_get(b->locs, frame, len, &id)) return id;
  const char *tab = memchr(frame, '\t', len), *colon = NULL;
  size_t fl = tab ? (size_t)(tab - frame) : len;
  const char *file = tab ? tab + 1 : "";
  size_t filel = tab ? len - fl - 1 : 0;
  for (size_t i = filel; i > 0; i--)
    if (file[i - 1] == ':') {
      colon = file + i - 1;
      break;
    }
  int64_t line = colon ? strtoll(colon + 1, NULL, 10) : 0;
  if (colon) filel = (size_t)(colon - file);
  /* the function: name + file */
  char key[2048];
  size_t kl = fl + 1 + filel < sizeof key ? fl + 1 + filel : sizeof key;
  memcpy(key, frame, fl < kl ? fl : kl);
  if (fl < kl) {
    key[fl] = '\t';
    memcpy(key + fl + 1, file, kl - fl - 1);
  }
  int64_t fid;
  if (!mw__bmap_get(b->funcs, key, kl, &fid)) {
    Perftools__Profiles__Function *f = mw__arena_alloc(b->a, sizeof *f);
    if (!f) return -1;
    perftools__profiles__function__init(f);
    f->id = b->n_funcs + 1;
    f->name = f->system_name = str_id(b, frame, fl);
    f->filename = str_id(b, file, filel);
    if (f->name < 0 || f->filename < 0) return -1;
    GROW(b, b->funcs_v, b->n_funcs, b->cap_funcs);
    b->funcs_v[b->n_funcs++] = f;
    fid = (int64_t)f->id;
    if (mw__bmap_put(b->funcs, key, kl, fid)) return -1;
  }
  Perftools__Profiles__Location *l = mw__arena_alloc(b->a, sizeof *l);
  Perftools__Profiles__Line *ln = mw__arena_alloc(b->a, sizeof *ln);
  Perftools__Profiles__Line **lines = mw__arena_alloc(b->a, sizeof *lines);
  if (!l || !ln || !lines) return -1;
  perftools__profiles__location__init(l);
  perftools__profiles__line__init(ln);
  ln->function_id = (uint64_t)fid;
  ln->line = line;
  lines[0] = ln;
  l->id = b->n_locs + 1;
  l->line = lines;
  l->n_line = 1;
  GROW(b, b->locs_v, b->n_locs, b->cap_locs);
  b->locs_v[b->n_locs++] = l;
  if (mw__bmap_put(b->locs, frame, len, (int64_t)l->id)) return -1;
  return (int64_t)l->id;
}

static int add_label(builder *b, Perftools__Profiles__Label **out, const char *key, const char *val) {
  Perftools__Profiles__Label *l = mw__arena_alloc(b->a, sizeof *l);
  if (!l) return -1;
  perftools__profiles__label__init(l);
  l->key = str_id(b, key, strlen(key));
  l->str = str_id(b, val, strlen(val));
  *out = l;
  return l->key < 0 || l->str < 0 ? -1 : 0;
}

static int gzip_into(const uint8_t *in, size_t len, mw_buf *out) {
  z_stream z;
  memset(&z, 0, sizeof z);
  if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return MW_ENOMEM;
  size_t cap = deflateBound(&z, len) + 64;
  char *p = mw__buf_reserve(out, cap);
  if (!p) {
    deflateEnd(&z);
    return MW_ENOMEM;
  }
  z.next_in = (Bytef *)in;
  z.avail_in = (uInt)len;
  z.next_out = (Bytef *)p;
  z.avail_out = (uInt)cap;
  int rc = deflate(&z, Z_FINISH);
  out->len += cap - z.avail_out;
  deflateEnd(&z);
  return rc == Z_STREAM_END ? MW_OK : MW_EIO;
}

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
  size_t nf = 0;
  for (const char *q = row->frames; q && *q; q++) nf += *q == '\n';
  sm->location_id = mw__arena_calloc(a, nf + 1, sizeof *sm->location_id);
  sm->value = mw__arena_calloc(a, n_types, sizeof *sm->value);
  sm->label = mw__arena_calloc(a, 3, sizeof *sm->label);
  if (!sm->location_id || !sm->value || !sm->label) return NULL;
  for (const char *q = row->frames; q && *q;) {
    const char *nl = strchr(q, '\n');
    size_t len = nl ? (size_t)(nl - q) : strlen(q);
    int64_t id = loc_id(b, q, len);
    if (id < 0) return NULL;
    sm->location_id[sm->n_location_id++] = (uint64_t)id;
    q += len + (nl ? 1 : 0);
  }
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
  if (add_label(b, &sm->label[sm->n_label++], "span_id", span_hex)) return NULL;
  if (trace_hex[0] && add_label(b, &sm->label[sm->n_label++], "trace_id", trace_hex)) return NULL;
  if (goroutines && row->state && add_label(b, &sm->label[sm->n_label++], "state", row->state)) return NULL;
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
  builder b = {.a = a, .strings = mw__bmap_new(0), .funcs = mw__bmap_new(0), .locs = mw__bmap_new(0)};
  rc = MW_ENOMEM;
  if (!b.strings || !b.funcs || !b.locs || str_id(&b, "", 0) != 0) goto out;

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
  p.function = b.funcs_v;
  p.n_function = b.n_funcs;
  p.location = b.locs_v;
  p.n_location = b.n_locs;
  p.string_table = b.strtab;
  p.n_string_table = b.n_str;
  size_t len = perftools__profiles__profile__get_packed_size(&p);
  uint8_t *packed = mw__arena_alloc(a, len ? len : 1);
  if (!packed) goto out;
  perftools__profiles__profile__pack(&p, packed);
  rc = gzip_into(packed, len, out);
out:
  mw__bmap_free(b.strings);
  mw__bmap_free(b.funcs);
  mw__bmap_free(b.locs);
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

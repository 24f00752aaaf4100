/* Writing pprof (see pprof_out.h). Functions and locations are rebuilt from
 * the stored stack text: one Location per (function, file, line) with one
 * Line, one Function per (function, file). Go's own profiles carry addresses
 * and mappings; ours do not need them, since pprof reads the symbols given. */
#include "query/pprof_out.h"
#include "core/error.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

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

int mw__pprof_out_init(mw_pprof_out *b, mw_arena *a) {
  memset(b, 0, sizeof *b);
  b->a = a;
  b->strings = mw__bmap_new(0);
  b->funcs = mw__bmap_new(0);
  b->locs = mw__bmap_new(0);
  return b->strings && b->funcs && b->locs && mw__pprof_out_str(b, "", 0) == 0 ? MW_OK : MW_ENOMEM;
}

void mw__pprof_out_free(mw_pprof_out *b) {
  mw__bmap_free(b->strings);
  mw__bmap_free(b->funcs);
  mw__bmap_free(b->locs);
  b->strings = b->funcs = b->locs = NULL;
}

int64_t mw__pprof_out_str(mw_pprof_out *b, const char *s, size_t len) {
  int64_t id;
  if (mw__bmap_get(b->strings, s, len, &id)) return id;
  GROW(b, b->strtab, b->n_str, b->cap_str);
  b->strtab[b->n_str] = mw__arena_strndup(b->a, s, len);
  if (!b->strtab[b->n_str] || mw__bmap_put(b->strings, s, len, (int64_t)b->n_str)) return -1;
  return (int64_t)b->n_str++;
}

/* Location id of one "func\tfile:line" frame. */
static int64_t loc_id(mw_pprof_out *b, const char *frame, size_t len) {
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
    f->name = f->system_name = mw__pprof_out_str(b, frame, fl);
    f->filename = mw__pprof_out_str(b, file, filel);
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

int mw__pprof_out_stack(mw_pprof_out *b, const char *frames, Perftools__Profiles__Sample *sm) {
  size_t nf = 0;
  for (const char *q = frames; q && *q; q++) nf += *q == '\n';
  sm->location_id = mw__arena_calloc(b->a, nf + 1, sizeof *sm->location_id);
  if (!sm->location_id) return -1;
  sm->n_location_id = 0;
  for (const char *q = frames; q && *q;) {
    const char *nl = strchr(q, '\n');
    size_t len = nl ? (size_t)(nl - q) : strlen(q);
    int64_t id = loc_id(b, q, len);
    if (id < 0) return -1;
    sm->location_id[sm->n_location_id++] = (uint64_t)id;
    q += len + (nl ? 1 : 0);
  }
  return 0;
}

int mw__pprof_out_label(mw_pprof_out *b, Perftools__Profiles__Label **out, const char *key, const char *val) {
  Perftools__Profiles__Label *l = mw__arena_alloc(b->a, sizeof *l);
  if (!l) return -1;
  perftools__profiles__label__init(l);
  l->key = mw__pprof_out_str(b, key, strlen(key));
  l->str = mw__pprof_out_str(b, val, strlen(val));
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

int mw__pprof_out_finish(mw_pprof_out *b, Perftools__Profiles__Profile *p, mw_buf *out) {
  p->function = b->funcs_v;
  p->n_function = b->n_funcs;
  p->location = b->locs_v;
  p->n_location = b->n_locs;
  p->string_table = b->strtab;
  p->n_string_table = b->n_str;
  size_t len = perftools__profiles__profile__get_packed_size(p);
  uint8_t *packed = mw__arena_alloc(b->a, len ? len : 1);
  if (!packed) return MW_ENOMEM;
  perftools__profiles__profile__pack(p, packed);
  return gzip_into(packed, len, out);
}

/* --- a goroutine profile from its stored groups ---------------------------------- */

/* A ValueType of (type, unit), the defaults standing in for what is not stored. */
static Perftools__Profiles__ValueType *value_type(mw_pprof_out *b, const char *type, const char *unit,
                                                  const char *dtype, const char *dunit) {
  Perftools__Profiles__ValueType *vt = mw__arena_alloc(b->a, sizeof *vt);
  if (!vt) return NULL;
  perftools__profiles__value_type__init(vt);
  if (!type) type = dtype;
  if (!unit) unit = dunit;
  vt->type = mw__pprof_out_str(b, type, strlen(type));
  vt->unit = mw__pprof_out_str(b, unit, strlen(unit));
  return vt->type < 0 || vt->unit < 0 ? NULL : vt;
}

/* The group's labels (a JSON object of strings and integers, as ingest wrote
 * it) as pprof labels. 0; -1 (no memory). */
static int group_labels(mw_pprof_out *b, const char *json, Perftools__Profiles__Sample *sm) {
  if (!json) return 0;
  json_t *o = json_loads(json, JSON_DECODE_ANY, NULL);
  if (!o) return 0; /* not written by ingest: nothing to give back */
  int rc = 0;
  if (json_is_object(o) && json_object_size(o)) {
    sm->label = mw__arena_calloc(b->a, json_object_size(o), sizeof *sm->label);
    if (!sm->label) rc = -1;
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
      if (rc) break;
      Perftools__Profiles__Label *l = mw__arena_alloc(b->a, sizeof *l);
      if (!l) {
        rc = -1;
        break;
      }
      perftools__profiles__label__init(l);
      if ((l->key = mw__pprof_out_str(b, key, strlen(key))) < 0) rc = -1;
      if (json_is_string(v)) {
        if ((l->str = mw__pprof_out_str(b, json_string_value(v), json_string_length(v))) < 0) rc = -1;
      } else if (json_is_integer(v)) {
        l->num = json_integer_value(v);
      } else {
        continue; /* ingest writes no other kind */
      }
      sm->label[sm->n_label++] = l;
    }
  }
  json_decref(o);
  return rc;
}

int mw__pprof_goroutine_groups(mw_arena *a, const mw_snapshot_info *info, const mw_snapshot_meta *meta,
                               const mw_snapshot_row *rows, size_t n, mw_buf *out) {
  mw_pprof_out b;
  int rc = mw__pprof_out_init(&b, a);
  if (rc) goto out;
  rc = MW_ENOMEM;
  Perftools__Profiles__Profile p = PERFTOOLS__PROFILES__PROFILE__INIT;
  size_t n_types = meta->n_sample_types ? meta->n_sample_types : 1;
  if (!(p.sample_type = mw__arena_calloc(a, n_types, sizeof *p.sample_type))) goto out;
  for (size_t i = 0; i < n_types; i++) {
    const mw_value_type *t = i < meta->n_sample_types ? &meta->sample_types[i] : NULL;
    if (!(p.sample_type[i] = value_type(&b, t ? t->type : NULL, t ? t->unit : NULL, "goroutine", "count"))) goto out;
  }
  p.n_sample_type = n_types;
  if (!(p.period_type = value_type(&b, meta->period_type.type, meta->period_type.unit, "goroutine", "count"))) goto out;
  p.period = meta->profile ? meta->period : 1;
  /* the default is the last sample type unless the profile named another:
   * only another is written, as Go's profiles name none */
  const char *dflt = meta->default_sample_type;
  const mw_value_type *last = meta->n_sample_types ? &meta->sample_types[meta->n_sample_types - 1] : NULL;
  if (dflt && *dflt && !(last && last->type && !strcmp(last->type, dflt)) &&
      (p.default_sample_type = mw__pprof_out_str(&b, dflt, strlen(dflt))) < 0)
    goto out;
  p.time_nanos = info->at_ns;
  p.duration_nanos = info->duration_ns;
  if (n && !(p.sample = mw__arena_calloc(a, n, sizeof *p.sample))) goto out;
  for (size_t i = 0; i < n; i++) {
    Perftools__Profiles__Sample *sm = mw__arena_alloc(a, sizeof *sm);
    if (!sm) goto out;
    perftools__profiles__sample__init(sm);
    if (!(sm->value = mw__arena_calloc(a, n_types, sizeof *sm->value))) goto out;
    sm->value[0] = rows[i].count;
    sm->n_value = n_types;
    if (mw__pprof_out_stack(&b, rows[i].frames, sm) || group_labels(&b, rows[i].labels_json, sm)) goto out;
    p.sample[p.n_sample++] = sm;
  }
  rc = mw__pprof_out_finish(&b, &p, out);
out:
  mw__pprof_out_free(&b);
  return rc;
}

/* OTLP profiles: protobuf decoding, dictionary checks, and the conversion of
 * one profile into pprof (see otlp_profiles.h).
 *
 * The pprof made for a profile holds only what its samples use: a remap per
 * table (dictionary index -> pprof id, 0 = not yet used) is filled as the
 * samples are walked, so that a request of many profiles over one large
 * dictionary does not copy the dictionary once per profile. */
#include "decode/otlp_profiles.h"
#include "core/arena_pb.h"
#include "core/bmap.h"
#include "core/error.h"
#include "core/hex.h"
#include "core/sat.h"
#include "core/utf8.h"
#include "decode/pbcheck.h"
#include "perftools/profiles.pb-c.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef Opentelemetry__Proto__Profiles__V1development__Location prof_location;
typedef Opentelemetry__Proto__Profiles__V1development__Function prof_function;
typedef Opentelemetry__Proto__Profiles__V1development__Mapping prof_mapping;
typedef Opentelemetry__Proto__Profiles__V1development__Sample prof_sample;
typedef Opentelemetry__Proto__Profiles__V1development__KeyValueAndUnit prof_attr;
typedef Opentelemetry__Proto__Common__V1__AnyValue any_value;

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errsz, const char *fmt, ...) {
  if (err && errsz) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
  }
  return MW_EINVAL;
}

/* --- protobuf ---------------------------------------------------------------- */

typedef struct pb_text {
  char *err;
  size_t errsz;
} pb_text;

/* Every string must be text: a NUL byte would cut it short when unpacked, and
 * invalid UTF-8 cannot be shown or stored as JSON. The request is refused,
 * naming the string. */
static int pb_string(void *user, const mw_pb_step *path, size_t depth, const ProtobufCFieldDescriptor *f,
                     const uint8_t *s, size_t len) {
  pb_text *t = user;
  enum mw_text_flaw flaw = mw__text_check((const char *)s, len, NULL);
  if (flaw == MW_TEXT_OK) return MW_OK;
  char where[256];
  mw__pb_path_put(where, sizeof where, path, depth);
  return fail(t->err, t->errsz, "%s%s %s", where, f->name, mw__text_flaw_name(flaw));
}

int mw__otlp_prof_decode_pb(mw_arena *a, const uint8_t *data, size_t len, mw_otlp_prof_request **out, char *err,
                            size_t errsz) {
  *out = NULL;
  pb_text t = {err, errsz};
  /* request, dictionary or resource profiles, attribute or resource, key-value
   * take 4 levels above the first AnyValue; each nesting 3 more (AnyValue,
   * ArrayValue or KeyValueList, KeyValue) */
  mw_pb_check_opts o = {
      .max_depth = 6 + 3 * (MW_ATTR_DECODE_DEPTH + 1),
      .counted = &opentelemetry__proto__common__v1__any_value__descriptor,
      .max_counted = MW_ATTR_DECODE_DEPTH + 1,
      .on_string = pb_string,
      .user = &t,
  };
  int rc = mw__pb_check(
      &opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__descriptor, data, len,
      &o, err, errsz);
  if (rc == MW_ETOOBIG)
    return fail(err, errsz, "attribute values nested more than %d deep cannot be decoded", MW_ATTR_DECODE_DEPTH);
  if (rc) return rc;
  ProtobufCAllocator al = mw__arena_pb_allocator(a);
  *out =
      opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__unpack(&al, len, data);
  if (!*out) return fail(err, errsz, "body is not a valid protobuf ExportProfilesServiceRequest");
  return MW_OK;
}

/* --- the dictionary ------------------------------------------------------------ */

/* 1 when index i is in [0, n). */
static int in_range(int64_t i, size_t n) { return i >= 0 && (uint64_t)i < n; }

/* 1 when i names a string: index 0 is "" even in a request without strings. */
static int str_ok(int64_t i, size_t n) { return i == 0 || in_range(i, n); }

#define CHECK_STR(idx, what, ...)                                                                                      \
  do {                                                                                                                 \
    if (!str_ok((idx), d->n_string_table))                                                                             \
      return fail(err, errsz, "dictionary." what " %" PRId64 " is out of range (%zu strings)", __VA_ARGS__,            \
                  (int64_t)(idx), d->n_string_table);                                                                  \
  } while (0)

int mw__otlp_prof_check_dict(const mw_otlp_prof_request *req, char *err, size_t errsz) {
  static const mw_otlp_prof_dict empty = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__PROFILES_DICTIONARY__INIT;
  const mw_otlp_prof_dict *d = req->dictionary ? req->dictionary : &empty;
  if (d->n_string_table && d->string_table[0][0])
    return fail(err, errsz, "dictionary.string_table[0] must be the empty string");
  for (size_t i = 0; i < d->n_mapping_table; i++)
    CHECK_STR(d->mapping_table[i]->filename_strindex, "mapping_table[%zu].filename_strindex", i);
  for (size_t i = 0; i < d->n_function_table; i++) {
    const prof_function *f = d->function_table[i];
    CHECK_STR(f->name_strindex, "function_table[%zu].name_strindex", i);
    CHECK_STR(f->system_name_strindex, "function_table[%zu].system_name_strindex", i);
    CHECK_STR(f->filename_strindex, "function_table[%zu].filename_strindex", i);
  }
  for (size_t i = 0; i < d->n_location_table; i++) {
    const prof_location *l = d->location_table[i];
    if (!in_range(l->mapping_index, d->n_mapping_table) && l->mapping_index != 0)
      return fail(err, errsz, "dictionary.location_table[%zu].mapping_index %" PRId32 " is out of range (%zu mappings)",
                  i, l->mapping_index, d->n_mapping_table);
    for (size_t k = 0; k < l->n_lines; k++)
      if (!in_range(l->lines[k]->function_index, d->n_function_table) && l->lines[k]->function_index != 0)
        return fail(err, errsz,
                    "dictionary.location_table[%zu].lines[%zu].function_index %" PRId32
                    " is out of range (%zu functions)",
                    i, k, l->lines[k]->function_index, d->n_function_table);
  }
  for (size_t i = 0; i < d->n_stack_table; i++)
    for (size_t k = 0; k < d->stack_table[i]->n_location_indices; k++)
      if (!in_range(d->stack_table[i]->location_indices[k], d->n_location_table))
        return fail(err, errsz,
                    "dictionary.stack_table[%zu].location_indices[%zu] %" PRId32 " is out of range (%zu locations)", i,
                    k, d->stack_table[i]->location_indices[k], d->n_location_table);
  for (size_t i = 0; i < d->n_attribute_table; i++) {
    CHECK_STR(d->attribute_table[i]->key_strindex, "attribute_table[%zu].key_strindex", i);
    CHECK_STR(d->attribute_table[i]->unit_strindex, "attribute_table[%zu].unit_strindex", i);
  }
  for (size_t i = 0; i < d->n_link_table; i++) {
    size_t tl = d->link_table[i]->trace_id.len, sl = d->link_table[i]->span_id.len;
    if ((tl && tl != 16) || (sl && sl != 8))
      return fail(err, errsz, "dictionary.link_table[%zu]: trace_id must be 16 bytes and span_id 8 (got %zu and %zu)",
                  i, tl, sl);
  }
  return MW_OK;
}

/* --- one profile as pprof ------------------------------------------------------ */

/* A remap entry is valid only in the conversion that set it (gen): starting
 * a conversion is one increment, not a clearing of tables as large as the
 * dictionary, which a request of many profiles would pay each time. */
typedef struct slot {
  uint32_t gen, id;
} slot;

struct mw_otlp_prof_remap {
  slot *str, *fn, *loc, *map; /* dictionary index -> pprof id or string index, 0 = unused */
  size_t n_str, n_fn, n_loc, n_map;
  uint32_t gen;
};

static uint64_t slot_get(const mw_otlp_prof_remap *m, const slot *t, int32_t i) {
  return t[i].gen == m->gen ? t[i].id : 0;
}

static uint64_t slot_set(const mw_otlp_prof_remap *m, slot *t, int32_t i, uint64_t id) {
  t[i] = (slot){m->gen, (uint32_t)id};
  return id;
}

mw_otlp_prof_remap *mw__otlp_prof_remap_new(mw_arena *a, const mw_otlp_prof_dict *d) {
  mw_otlp_prof_remap *m = mw__arena_calloc(a, 1, sizeof *m);
  if (!m) return NULL;
  m->n_str = d ? d->n_string_table : 0;
  m->n_fn = d ? d->n_function_table : 0;
  m->n_loc = d ? d->n_location_table : 0;
  m->n_map = d ? d->n_mapping_table : 0;
  m->str = mw__arena_calloc(a, m->n_str + 1, sizeof *m->str);
  m->fn = mw__arena_calloc(a, m->n_fn + 1, sizeof *m->fn);
  m->loc = mw__arena_calloc(a, m->n_loc + 1, sizeof *m->loc);
  m->map = mw__arena_calloc(a, m->n_map + 1, sizeof *m->map);
  return m->str && m->fn && m->loc && m->map ? m : NULL;
}

/* A growable array of pointers in the arena. */
typedef struct vec {
  void **v;
  size_t n, cap;
} vec;

static int vec_push(mw_arena *a, vec *x, void *p) {
  if (x->n == x->cap) {
    size_t cap = x->cap ? x->cap * 2 : 32;
    void **v = mw__arena_alloc(a, cap * sizeof *v);
    if (!v) return MW_ENOMEM;
    if (x->n) memcpy(v, x->v, x->n * sizeof *v);
    x->v = v;
    x->cap = cap;
  }
  x->v[x->n++] = p;
  return MW_OK;
}

typedef struct conv {
  mw_arena *a;
  mw_otlp_prof_remap *m;
  const mw_otlp_prof_dict *d;
  vec strs, fns, locs, maps;
  mw_bmap *str_ids; /* string -> its index in strs: each string once */
} conv;

/* The pprof string index of s (s must outlive the conversion); -1 when out
 * of memory. */
static int64_t new_str(conv *c, const char *s) {
  int64_t id;
  size_t n = strlen(s);
  if (mw__bmap_get(c->str_ids, s, n, &id)) return id;
  if (vec_push(c->a, &c->strs, (void *)s)) return -1;
  id = (int64_t)c->strs.n - 1;
  return mw__bmap_put(c->str_ids, s, n, id) ? -1 : id;
}

/* The pprof string index of dictionary string i (checked in range). */
static int64_t dict_str(conv *c, int32_t i) {
  if (i == 0) return 0;
  if (!slot_get(c->m, c->m->str, i)) {
    int64_t k = new_str(c, c->d->string_table[i]);
    if (k < 0) return -1;
    slot_set(c->m, c->m->str, i, (uint64_t)k);
  }
  return (int64_t)slot_get(c->m, c->m->str, i);
}

static uint64_t fn_id(conv *c, int32_t i) {
  if (i == 0) return 0; /* the null function: no function, as pprof's id 0 */
  if (slot_get(c->m, c->m->fn, i)) return slot_get(c->m, c->m->fn, i);
  const prof_function *f = c->d->function_table[i];
  Perftools__Profiles__Function *pf = mw__arena_alloc(c->a, sizeof *pf);
  if (!pf) return 0;
  perftools__profiles__function__init(pf);
  pf->id = c->fns.n + 1;
  pf->name = dict_str(c, f->name_strindex);
  pf->system_name = dict_str(c, f->system_name_strindex);
  pf->filename = dict_str(c, f->filename_strindex);
  pf->start_line = f->start_line;
  if (pf->name < 0 || pf->system_name < 0 || pf->filename < 0 || vec_push(c->a, &c->fns, pf)) return 0;
  return slot_set(c->m, c->m->fn, i, pf->id);
}

static uint64_t map_id(conv *c, int32_t i) {
  if (i == 0) return 0;
  if (slot_get(c->m, c->m->map, i)) return slot_get(c->m, c->m->map, i);
  const prof_mapping *mp = c->d->mapping_table[i];
  Perftools__Profiles__Mapping *pm = mw__arena_alloc(c->a, sizeof *pm);
  if (!pm) return 0;
  perftools__profiles__mapping__init(pm);
  pm->id = c->maps.n + 1;
  pm->memory_start = mp->memory_start;
  pm->memory_limit = mp->memory_limit;
  pm->file_offset = mp->file_offset;
  pm->filename = dict_str(c, mp->filename_strindex);
  if (pm->filename < 0 || vec_push(c->a, &c->maps, pm)) return 0;
  return slot_set(c->m, c->m->map, i, pm->id);
}

/* The pprof location id of location i; 0 when out of memory. */
static uint64_t loc_id(conv *c, int32_t i) {
  if (slot_get(c->m, c->m->loc, i)) return slot_get(c->m, c->m->loc, i);
  const prof_location *l = c->d->location_table[i];
  Perftools__Profiles__Location *pl = mw__arena_alloc(c->a, sizeof *pl);
  Perftools__Profiles__Line *lines = mw__arena_calloc(c->a, l->n_lines + 1, sizeof *lines);
  Perftools__Profiles__Line **lp = mw__arena_calloc(c->a, l->n_lines + 1, sizeof *lp);
  if (!pl || !lines || !lp) return 0;
  perftools__profiles__location__init(pl);
  pl->address = l->address;
  if (l->mapping_index && !(pl->mapping_id = map_id(c, l->mapping_index))) return 0;
  for (size_t k = 0; k < l->n_lines; k++) {
    perftools__profiles__line__init(&lines[k]);
    int32_t fi = l->lines[k]->function_index;
    if (fi && !(lines[k].function_id = fn_id(c, fi))) return 0;
    lines[k].line = l->lines[k]->line;
    lines[k].column = l->lines[k]->column;
    lp[k] = &lines[k];
  }
  pl->line = lp;
  pl->n_line = l->n_lines;
  pl->id = c->locs.n + 1;
  if (vec_push(c->a, &c->locs, pl)) return 0;
  return slot_set(c->m, c->m->loc, i, pl->id);
}

static Perftools__Profiles__Label *label_str(conv *c, const char *key, int64_t key_i, const char *val) {
  Perftools__Profiles__Label *l = mw__arena_alloc(c->a, sizeof *l);
  if (!l) return NULL;
  perftools__profiles__label__init(l);
  l->key = key_i >= 0 ? key_i : new_str(c, key);
  l->str = new_str(c, val);
  return l->key < 0 || l->str < 0 ? NULL : l;
}

/* The OpenTelemetry eBPF profiler reports a Go program's pprof labels as
 * sample attributes named process.context.label.<key>: they become the pprof
 * labels they were, so that a span_id label names the span as it does in a
 * pushed pprof profile. */
static const char LABEL_PREFIX[] = "process.context.label.";

/* The pprof label key of attribute key k. */
static const char *label_key(const char *k) {
  size_t n = sizeof LABEL_PREFIX - 1;
  return strncmp(k, LABEL_PREFIX, n) == 0 && k[n] ? k + n : k;
}

/* The label of attribute i, or *skip = 1 for a value pprof cannot hold. */
static Perftools__Profiles__Label *label_attr(conv *c, int32_t i, int *skip) {
  const prof_attr *at = c->d->attribute_table[i];
  const any_value *v = at->value;
  const char *k = at->key_strindex ? c->d->string_table[at->key_strindex] : "";
  int64_t key = label_key(k) == k ? dict_str(c, at->key_strindex) : new_str(c, label_key(k));
  *skip = 0;
  if (key < 0) return NULL;
  char tmp[64];
  switch (v ? v->value_case : OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE__NOT_SET) {
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE: return label_str(c, NULL, key, v->string_value);
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
    return label_str(c, NULL, key, v->bool_value ? "true" : "false");
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE: {
    snprintf(tmp, sizeof tmp, "%.17g", v->double_value);
    char *s = mw__arena_strndup(c->a, tmp, strlen(tmp));
    return s ? label_str(c, NULL, key, s) : NULL;
  }
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE: {
    Perftools__Profiles__Label *l = mw__arena_alloc(c->a, sizeof *l);
    if (!l) return NULL;
    perftools__profiles__label__init(l);
    l->key = key;
    l->num = v->int_value;
    if ((l->num_unit = dict_str(c, at->unit_strindex)) < 0) return NULL;
    return l;
  }
  default: *skip = 1; return NULL;
  }
}

static int hex_label(conv *c, Perftools__Profiles__Label **out, const char *key, const ProtobufCBinaryData *id) {
  char *hex = mw__arena_alloc(c->a, id->len * 2 + 1);
  if (!hex) return MW_ENOMEM;
  mw__hex_encode(hex, id->data, id->len);
  hex[id->len * 2] = '\0';
  return (*out = label_str(c, key, -1, hex)) ? MW_OK : MW_ENOMEM;
}

/* Checks sample s (number si of its profile) and gives its value: the sum of
 * its values, or the count of its timestamps. */
static int sample_value(const mw_otlp_prof_dict *d, const prof_sample *s, size_t si, int64_t *total, char *why,
                        size_t whysz) {
  if (s->stack_index && !in_range(s->stack_index, d->n_stack_table)) /* 0: the empty stack, even without a table */
    return fail(why, whysz, "samples[%zu].stack_index %" PRId32 " is out of range (%zu stacks)", si, s->stack_index,
                d->n_stack_table);
  if (s->link_index && !in_range(s->link_index, d->n_link_table))
    return fail(why, whysz, "samples[%zu].link_index %" PRId32 " is out of range (%zu links)", si, s->link_index,
                d->n_link_table);
  for (size_t k = 0; k < s->n_attribute_indices; k++)
    if (!in_range(s->attribute_indices[k], d->n_attribute_table))
      return fail(why, whysz, "samples[%zu].attribute_indices[%zu] %" PRId32 " is out of range (%zu attributes)", si, k,
                  s->attribute_indices[k], d->n_attribute_table);
  if (!s->n_values && !s->n_timestamps_unix_nano)
    return fail(why, whysz, "samples[%zu] has neither values nor timestamps_unix_nano", si);
  if (s->n_values && s->n_timestamps_unix_nano && s->n_values != s->n_timestamps_unix_nano)
    return fail(why, whysz, "samples[%zu] has %zu values but %zu timestamps_unix_nano (the counts must match)", si,
                s->n_values, s->n_timestamps_unix_nano);
  *total = 0;
  for (size_t k = 0; k < s->n_values; k++) *total = mw__sat_add(*total, s->values[k]);
  if (!s->n_values) *total = (int64_t)s->n_timestamps_unix_nano;
  return MW_OK;
}

/* A new pprof sample for s (checked), with n_types values, all 0. */
static int new_sample(conv *c, const prof_sample *s, size_t n_types, Perftools__Profiles__Sample *ps) {
  const mw_otlp_prof_dict *d = c->d;
  perftools__profiles__sample__init(ps);
  ps->value = mw__arena_calloc(c->a, n_types, sizeof *ps->value);
  if (!ps->value) return MW_ENOMEM;
  ps->n_value = n_types;
  const Opentelemetry__Proto__Profiles__V1development__Stack *st =
      s->stack_index < (int32_t)d->n_stack_table ? d->stack_table[s->stack_index] : NULL;
  size_t n_locs = st ? st->n_location_indices : 0;
  ps->location_id = mw__arena_calloc(c->a, n_locs + 1, sizeof *ps->location_id);
  if (!ps->location_id) return MW_ENOMEM;
  for (size_t k = 0; k < n_locs; k++)
    if (!(ps->location_id[k] = loc_id(c, st->location_indices[k]))) return MW_ENOMEM;
  ps->n_location_id = n_locs;
  ps->label = mw__arena_calloc(c->a, s->n_attribute_indices + 2, sizeof *ps->label);
  if (!ps->label) return MW_ENOMEM;
  const Opentelemetry__Proto__Profiles__V1development__Link *ln = s->link_index ? d->link_table[s->link_index] : NULL;
  if (ln && ln->span_id.len == 8 && !mw__is_zero(ln->span_id.data, 8)) {
    if (hex_label(c, &ps->label[ps->n_label++], "span_id", &ln->span_id)) return MW_ENOMEM;
    if (ln->trace_id.len == 16 && !mw__is_zero(ln->trace_id.data, 16) &&
        hex_label(c, &ps->label[ps->n_label++], "trace_id", &ln->trace_id))
      return MW_ENOMEM;
  }
  int linked = ps->n_label > 0;
  for (size_t k = 0; k < s->n_attribute_indices; k++) {
    /* the link names the span: an attribute of the same name would be a
     * second, perhaps different, span_id label */
    int32_t ki = d->attribute_table[s->attribute_indices[k]]->key_strindex;
    const char *key = label_key(ki ? d->string_table[ki] : "");
    if (linked && (!strcmp(key, "span_id") || !strcmp(key, "trace_id"))) continue;
    int skip;
    Perftools__Profiles__Label *l = label_attr(c, s->attribute_indices[k], &skip);
    if (l) ps->label[ps->n_label++] = l;
    else if (!skip) return MW_ENOMEM;
  }
  return MW_OK;
}

static int cmp_i32(const void *x, const void *y) {
  int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
  return (a > b) - (a < b);
}

/* A sample's identity (stack, link, set of attributes) as bytes, in buf
 * (which holds 2 + n_attribute_indices int32s). */
static size_t sample_key(const prof_sample *s, int32_t *buf) {
  buf[0] = s->stack_index;
  buf[1] = s->link_index;
  if (s->n_attribute_indices) memcpy(buf + 2, s->attribute_indices, s->n_attribute_indices * sizeof *buf);
  qsort(buf + 2, s->n_attribute_indices, sizeof *buf, cmp_i32);
  return (2 + s->n_attribute_indices) * sizeof *buf;
}

static int vtype(conv *c, const Opentelemetry__Proto__Profiles__V1development__ValueType *in,
                 Perftools__Profiles__ValueType *out, const char *what, char *why, size_t whysz) {
  perftools__profiles__value_type__init(out);
  if (!in) return MW_OK;
  if (!str_ok(in->type_strindex, c->d->n_string_table) || !str_ok(in->unit_strindex, c->d->n_string_table))
    return fail(why, whysz, "%s names a string out of range (%zu strings)", what, c->d->n_string_table);
  out->type = dict_str(c, in->type_strindex);
  out->unit = dict_str(c, in->unit_strindex);
  return out->type < 0 || out->unit < 0 ? MW_ENOMEM : MW_OK;
}

static int to_pprof(conv *cv, const mw_otlp_profile *const *ps, size_t n, uint8_t **out, size_t *len, size_t *bad,
                    char *why, size_t whysz);

int mw__otlp_prof_to_pprof(mw_arena *a, mw_otlp_prof_remap *m, const mw_otlp_prof_dict *d,
                           const mw_otlp_profile *const *ps, size_t n, uint8_t **out, size_t *len, size_t *bad,
                           char *why, size_t whysz) {
  static const mw_otlp_prof_dict empty = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__PROFILES_DICTIONARY__INIT;
  *out = NULL;
  *len = 0;
  *bad = 0;
  m->gen++; /* every entry of earlier conversions is unused now */
  conv c = {.a = a, .m = m, .d = d ? d : &empty, .str_ids = mw__bmap_new(0)};
  int rc = c.str_ids && new_str(&c, "") == 0 ? to_pprof(&c, ps, n, out, len, bad, why, whysz) : MW_ENOMEM;
  mw__bmap_free(c.str_ids);
  return rc;
}

static int to_pprof(conv *cv, const mw_otlp_profile *const *ps, size_t n, uint8_t **out, size_t *len, size_t *bad,
                    char *why, size_t whysz) {
  conv c = *cv;
  mw_arena *a = c.a;
  const mw_otlp_prof_dict *d = c.d;
  const mw_otlp_profile *p0 = ps[0];
  Perftools__Profiles__Profile pp = PERFTOOLS__PROFILES__PROFILE__INIT;
  Perftools__Profiles__ValueType pt, *st = mw__arena_calloc(a, n, sizeof *st);
  Perftools__Profiles__ValueType **stp = mw__arena_calloc(a, n, sizeof *stp);
  if (!st || !stp) return MW_ENOMEM;
  int rc = vtype(&c, p0->period_type, &pt, "period_type", why, whysz);
  if (rc) return rc;
  if (p0->period_type) pp.period_type = &pt;
  size_t total_samples = 0;
  for (size_t j = 0; j < n; j++) {
    *bad = j;
    if ((rc = vtype(&c, ps[j]->sample_type, &st[j], "sample_type", why, whysz))) return rc;
    stp[j] = &st[j];
    total_samples += ps[j]->n_samples;
  }
  pp.sample_type = stp;
  pp.n_sample_type = n;
  pp.period = p0->period;
  pp.time_nanos = p0->time_unix_nano > INT64_MAX ? 0 : (int64_t)p0->time_unix_nano;
  pp.duration_nanos = p0->duration_nano > INT64_MAX ? 0 : (int64_t)p0->duration_nano;
  Perftools__Profiles__Sample *samples = mw__arena_calloc(a, total_samples + 1, sizeof *samples);
  Perftools__Profiles__Sample **sp = mw__arena_calloc(a, total_samples + 1, sizeof *sp);
  if (!samples || !sp) return MW_ENOMEM;
  /* samples of the same identity in the profiles of several sample types
   * are one pprof sample with a value of each type */
  mw_bmap *ids = n > 1 ? mw__bmap_new(0) : NULL;
  if (n > 1 && !ids) return MW_ENOMEM;
  size_t n_out = 0;
  rc = MW_OK;
  for (size_t j = 0; j < n && !rc; j++) {
    *bad = j;
    for (size_t i = 0; i < ps[j]->n_samples && !rc; i++) {
      const prof_sample *s = ps[j]->samples[i];
      int64_t v = 0, at = -1;
      if ((rc = sample_value(d, s, i, &v, why, whysz))) break;
      int32_t kb[2 + 64];
      size_t kl = 0;
      if (ids && s->n_attribute_indices <= 64) {
        kl = sample_key(s, kb);
        if (!mw__bmap_get(ids, kb, kl, &at)) at = -1;
      }
      if (at < 0) {
        at = (int64_t)n_out;
        if ((rc = new_sample(&c, s, n, &samples[n_out]))) break;
        sp[n_out++] = &samples[at];
        if (kl && (rc = mw__bmap_put(ids, kb, kl, at))) break;
      }
      samples[at].value[j] = mw__sat_add(samples[at].value[j], v);
    }
  }
  mw__bmap_free(ids);
  if (rc) return rc;
  pp.sample = sp;
  pp.n_sample = n_out;
  pp.string_table = (char **)c.strs.v;
  pp.n_string_table = c.strs.n;
  pp.function = (Perftools__Profiles__Function **)c.fns.v;
  pp.n_function = c.fns.n;
  pp.location = (Perftools__Profiles__Location **)c.locs.v;
  pp.n_location = c.locs.n;
  pp.mapping = (Perftools__Profiles__Mapping **)c.maps.v;
  pp.n_mapping = c.maps.n;
  size_t sz = perftools__profiles__profile__get_packed_size(&pp);
  uint8_t *buf = mw__arena_alloc(a, sz ? sz : 1);
  if (!buf) return MW_ENOMEM;
  perftools__profiles__profile__pack(&pp, buf);
  *out = buf;
  *len = sz;
  return MW_OK;
}

/* pprof decoding (see pprof.h). protobuf-c does the wire work (packed and
 * unpacked repeated fields, any field order, string_table last as Go writes
 * it); this file validates and resolves. Functions and locations are resolved
 * once each, every location into a run of frames in one shared pool; a sample's
 * stack is then a copy of its locations' runs, so the per-sample cost is a
 * lookup and a memcpy per location. Go writes one sample per distinct (stack,
 * labels) pair, so with per-span labels the same stack recurs in many samples:
 * identical location lists are resolved once and share their frames. Ids are
 * looked up through an index that is a plain offset when the ids are 1..N in
 * order (what Go writes) and an open-addressing hash otherwise. */
#include "decode/pprof.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/arena_pb.h"
#include "core/error.h"

typedef Perftools__Profiles__Sample pb_sample;
typedef Perftools__Profiles__Label pb_label;
typedef Perftools__Profiles__Location pb_location;
typedef Perftools__Profiles__Function pb_function;

/* Maps message ids (arbitrary non-zero uint64) to positions. */
typedef struct id_index {
  size_t n;
  int dense;      /* ids are exactly 1..n in order: position = id - 1 */
  uint64_t *keys; /* open addressing; 0 marks an empty slot (ids are non-zero) */
  size_t *vals;
  size_t mask;
  unsigned shift;
} id_index;

/* Decoding state. Errors are sticky: the first one is kept in rc and err, and
 * helpers keep returning harmless values so loops need not check each call. */
typedef struct dec {
  mw_arena *a;
  char *err;
  size_t errsz;
  int rc;
  char *const *strs;
  size_t n_strs;
  id_index locs, fns, maps;
  const char **fn_name; /* per function position */
  const char **fn_file;
  mw_frame **loc_frames; /* per location position: its frames, leaf first */
  size_t *loc_n;
  size_t *stacks; /* stack cache: open addressing, sample index + 1 (0 = empty) */
  size_t stacks_mask;
} dec;

__attribute__((format(printf, 3, 4))) static int fail(dec *d, int rc, const char *fmt, ...) {
  if (d->rc) return d->rc; /* keep the first error: it is the cause */
  d->rc = rc;
  if (d->err && d->errsz) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->err, d->errsz, fmt, ap);
    va_end(ap);
  }
  return rc;
}

static void *alloc(dec *d, size_t count, size_t size) {
  void *p = mw__arena_calloc(d->a, count ? count : 1, size);
  if (!p) fail(d, MW_ENOMEM, "pprof: out of memory");
  return p;
}

/* The string at index i; "" (and a sticky MW_EINVAL) when out of range. */
static const char *str_at(dec *d, int64_t i, const char *what) {
  if (i < 0 || (uint64_t)i >= d->n_strs) {
    fail(d, MW_EINVAL, "pprof: %s: string index %" PRId64 " out of range (%zu strings)", what, i, d->n_strs);
    return "";
  }
  return d->strs[i];
}

/* Like str_at, but "?" for the empty string: mw_frame never has "" names. */
static const char *str_or_unknown(dec *d, int64_t i, const char *what) {
  const char *s = str_at(d, i, what);
  return s[0] ? s : "?";
}

static uint64_t hash_id(const id_index *ix, uint64_t id) { return (id * UINT64_C(0x9E3779B97F4A7C15)) >> ix->shift; }

/* Builds ix over ids[0..n); ids must be non-zero and unique (what = the kind,
 * for messages). */
static int index_build(dec *d, id_index *ix, const uint64_t *ids, size_t n, const char *what) {
  memset(ix, 0, sizeof *ix);
  ix->n = n;
  ix->dense = 1;
  for (size_t i = 0; i < n && ix->dense; i++) ix->dense = ids[i] == i + 1;
  if (ix->dense) return 0;
  unsigned bits = 3;
  while (((size_t)1 << bits) < 2 * n) bits++;
  ix->mask = ((size_t)1 << bits) - 1;
  ix->shift = 64 - bits;
  ix->keys = alloc(d, ix->mask + 1, sizeof *ix->keys);
  ix->vals = alloc(d, ix->mask + 1, sizeof *ix->vals);
  if (!ix->keys || !ix->vals) return d->rc;
  for (size_t i = 0; i < n; i++) {
    uint64_t id = ids[i];
    if (id == 0) return fail(d, MW_EINVAL, "pprof: %s #%zu has id 0", what, i);
    size_t h = hash_id(ix, id);
    while (ix->keys[h] && ix->keys[h] != id) h = (h + 1) & ix->mask;
    if (ix->keys[h]) return fail(d, MW_EINVAL, "pprof: duplicate %s id %" PRIu64, what, id);
    ix->keys[h] = id;
    ix->vals[h] = i;
  }
  return 0;
}

/* Position of id, or SIZE_MAX when absent. */
static size_t index_find(const id_index *ix, uint64_t id) {
  if (ix->dense) return id - 1 < ix->n ? (size_t)(id - 1) : SIZE_MAX;
  if (!ix->keys || id == 0) return SIZE_MAX;
  for (size_t h = hash_id(ix, id); ix->keys[h]; h = (h + 1) & ix->mask)
    if (ix->keys[h] == id) return ix->vals[h];
  return SIZE_MAX;
}

/* Collects the ids of n messages (each type keeps its id in its own field) and
 * indexes them. */
#define BUILD_INDEX(d, ix, msgs, n, what)                                                                              \
  do {                                                                                                                 \
    uint64_t *ids_ = alloc((d), (n), sizeof *ids_);                                                                    \
    if (!ids_) return (d)->rc;                                                                                         \
    for (size_t i_ = 0; i_ < (n); i_++) ids_[i_] = (msgs)[i_]->id;                                                     \
    if (index_build((d), (ix), ids_, (n), (what))) return (d)->rc;                                                     \
  } while (0)

/* "0x4a3f2c" for a location we cannot name, or "?" without an address. */
static const char *addr_name(dec *d, uint64_t addr) {
  if (!addr) return "?";
  char *s = mw__arena_alloc(d->a, 2 + 16 + 1);
  if (!s) {
    fail(d, MW_ENOMEM, "pprof: out of memory");
    return "?";
  }
  snprintf(s, 19, "0x%" PRIx64, addr);
  return s;
}

static int resolve_header(dec *d, const mw_pprof_pb *pb, mw_profile *out) {
  out->n_sample_types = pb->n_sample_type;
  out->sample_types = alloc(d, pb->n_sample_type, sizeof *out->sample_types);
  if (!out->sample_types) return d->rc;
  for (size_t i = 0; i < pb->n_sample_type; i++) {
    out->sample_types[i].type = str_at(d, pb->sample_type[i]->type, "sample_type.type");
    out->sample_types[i].unit = str_at(d, pb->sample_type[i]->unit, "sample_type.unit");
  }
  out->period_type.type = "";
  out->period_type.unit = "";
  if (pb->period_type) {
    out->period_type.type = str_at(d, pb->period_type->type, "period_type.type");
    out->period_type.unit = str_at(d, pb->period_type->unit, "period_type.unit");
  }
  out->period = pb->period;
  out->time_nanos = pb->time_nanos;
  out->duration_nanos = pb->duration_nanos;
  out->drop_frames = str_at(d, pb->drop_frames, "drop_frames");
  out->keep_frames = str_at(d, pb->keep_frames, "keep_frames");
  out->doc_url = str_at(d, pb->doc_url, "doc_url");
  out->n_comments = pb->n_comment;
  out->comments = alloc(d, pb->n_comment, sizeof *out->comments);
  if (!out->comments) return d->rc;
  for (size_t i = 0; i < pb->n_comment; i++) out->comments[i] = str_at(d, pb->comment[i], "comment");

  /* The format's rule: no default named means the last sample type. */
  out->default_sample_index = -1;
  out->default_sample_type = "";
  if (pb->default_sample_type) {
    out->default_sample_type = str_at(d, pb->default_sample_type, "default_sample_type");
    for (size_t i = 0; i < out->n_sample_types; i++)
      if (!strcmp(out->sample_types[i].type, out->default_sample_type)) {
        out->default_sample_index = (int)i;
        break;
      }
  } else if (out->n_sample_types) {
    out->default_sample_index = (int)out->n_sample_types - 1;
    out->default_sample_type = out->sample_types[out->n_sample_types - 1].type;
  }
  return d->rc;
}

static int resolve_mappings(dec *d, const mw_pprof_pb *pb) {
  BUILD_INDEX(d, &d->maps, pb->mapping, pb->n_mapping, "mapping");
  /* Not resolved into the model, but their strings must still be valid. */
  for (size_t i = 0; i < pb->n_mapping; i++) {
    str_at(d, pb->mapping[i]->filename, "mapping.filename");
    str_at(d, pb->mapping[i]->build_id, "mapping.build_id");
  }
  return d->rc;
}

static int resolve_functions(dec *d, const mw_pprof_pb *pb) {
  BUILD_INDEX(d, &d->fns, pb->function, pb->n_function, "function");
  d->fn_name = alloc(d, pb->n_function, sizeof *d->fn_name);
  d->fn_file = alloc(d, pb->n_function, sizeof *d->fn_file);
  if (!d->fn_name || !d->fn_file) return d->rc;
  for (size_t i = 0; i < pb->n_function; i++) {
    const pb_function *f = pb->function[i];
    const char *name = str_at(d, f->name, "function.name");
    const char *sys = str_at(d, f->system_name, "function.system_name");
    d->fn_name[i] = name[0] ? name : sys[0] ? sys : "?";
    d->fn_file[i] = str_or_unknown(d, f->filename, "function.filename");
  }
  return d->rc;
}

/* Turns every location into its frames: one per Line, in Line order (line[0]
 * is the innermost inlined call, so leaf-first order is kept), or a single
 * address frame when the location has no lines (an unsymbolized profile). */
static int resolve_locations(dec *d, const mw_pprof_pb *pb) {
  BUILD_INDEX(d, &d->locs, pb->location, pb->n_location, "location");
  size_t total = 0;
  for (size_t i = 0; i < pb->n_location; i++) total += pb->location[i]->n_line ? pb->location[i]->n_line : 1;
  mw_frame *pool = alloc(d, total, sizeof *pool);
  d->loc_frames = alloc(d, pb->n_location, sizeof *d->loc_frames);
  d->loc_n = alloc(d, pb->n_location, sizeof *d->loc_n);
  if (!pool || !d->loc_frames || !d->loc_n) return d->rc;
  for (size_t i = 0; i < pb->n_location; i++) {
    const pb_location *l = pb->location[i];
    if (l->mapping_id && index_find(&d->maps, l->mapping_id) == SIZE_MAX)
      return fail(d, MW_EINVAL, "pprof: location %" PRIu64 ": mapping id %" PRIu64 " not found", l->id, l->mapping_id);
    d->loc_frames[i] = pool;
    d->loc_n[i] = l->n_line ? l->n_line : 1;
    if (!l->n_line) {
      *pool++ = (mw_frame){.func = addr_name(d, l->address), .file = "?", .line = 0};
      continue;
    }
    for (size_t j = 0; j < l->n_line; j++) {
      const Perftools__Profiles__Line *ln = l->line[j];
      mw_frame f = {.func = "?", .file = "?", .line = ln->line};
      if (ln->function_id) { /* 0 = no function, as in google/pprof */
        size_t fi = index_find(&d->fns, ln->function_id);
        if (fi == SIZE_MAX)
          return fail(d, MW_EINVAL, "pprof: location %" PRIu64 ": function id %" PRIu64 " not found", l->id,
                      ln->function_id);
        f.func = d->fn_name[fi];
        f.file = d->fn_file[fi];
      } else {
        f.func = addr_name(d, l->address);
      }
      *pool++ = f;
    }
  }
  return d->rc;
}

static uint64_t hash_stack(const pb_sample *s) {
  uint64_t h = s->n_location_id;
  for (size_t k = 0; k < s->n_location_id; k++) {
    h = (h ^ s->location_id[k]) * UINT64_C(0x9E3779B97F4A7C15);
    h ^= h >> 29;
  }
  return h;
}

static int resolve_stack(dec *d, const pb_sample *s, size_t si, size_t max_frames, mw_stack *st) {
  size_t total = 0;
  for (size_t k = 0; k < s->n_location_id; k++) {
    size_t li = index_find(&d->locs, s->location_id[k]);
    if (li == SIZE_MAX)
      return fail(d, MW_EINVAL, "pprof: sample %zu: location id %" PRIu64 " not found", si, s->location_id[k]);
    total += d->loc_n[li];
  }
  size_t n = total;
  if (max_frames && n > max_frames) {
    n = max_frames;
    st->truncated = 1;
  }
  st->n_frames = n;
  st->frames = NULL;
  if (!n) return 0;
  mw_frame *fr = mw__arena_alloc(d->a, n * sizeof *fr);
  if (!fr) return fail(d, MW_ENOMEM, "pprof: out of memory");
  st->frames = fr;
  /* Leaf-most frames are kept: they say where the time went. */
  for (size_t k = 0, at = 0; k < s->n_location_id && at < n; k++) {
    size_t li = index_find(&d->locs, s->location_id[k]);
    size_t c = d->loc_n[li];
    if (c > n - at) c = n - at;
    memcpy(fr + at, d->loc_frames[li], c * sizeof *fr);
    at += c;
  }
  return 0;
}

static int resolve_labels(dec *d, const pb_sample *s, size_t max_labels, mw_pprof_sample *o) {
  size_t n = s->n_label;
  if (max_labels && n > max_labels) {
    n = max_labels;
    o->labels_truncated = 1;
  }
  o->n_labels = n;
  o->labels = NULL;
  if (n) {
    o->labels = mw__arena_alloc(d->a, n * sizeof *o->labels);
    if (!o->labels) return fail(d, MW_ENOMEM, "pprof: out of memory");
  }
  for (size_t k = 0; k < s->n_label; k++) {
    const pb_label *l = s->label[k];
    const char *key = str_at(d, l->key, "label.key");
    /* As google/pprof reads it: a non-zero str index makes a string label. */
    const char *sv = l->str ? str_at(d, l->str, "label.str") : NULL;
    const char *unit = l->num_unit ? str_at(d, l->num_unit, "label.num_unit") : NULL;
    if (k < n) /* dropped labels are still validated above */
      o->labels[k] = (mw_label){.key = key, .str = sv, .num = sv ? 0 : l->num, .num_unit = sv ? NULL : unit};
  }
  return d->rc;
}

static int resolve_samples(dec *d, const mw_pprof_pb *pb, const mw_pprof_opts *opts, mw_profile *out) {
  if (opts->max_samples && pb->n_sample > opts->max_samples)
    return fail(d, MW_ETOOBIG, "pprof: %zu samples, more than the limit of %zu", pb->n_sample, opts->max_samples);
  out->samples = alloc(d, pb->n_sample, sizeof *out->samples);
  if (!out->samples) return d->rc;
  out->n_samples = pb->n_sample;
  size_t cap = 8;
  while (cap < 2 * pb->n_sample) cap *= 2;
  d->stacks = alloc(d, cap, sizeof *d->stacks);
  if (!d->stacks) return d->rc;
  d->stacks_mask = cap - 1;
  for (size_t i = 0; i < pb->n_sample && !d->rc; i++) {
    const pb_sample *s = pb->sample[i];
    mw_pprof_sample *o = &out->samples[i];
    if (s->n_value != pb->n_sample_type)
      return fail(d, MW_EINVAL, "pprof: sample %zu has %zu values for %zu sample types", i, s->n_value,
                  pb->n_sample_type);
    o->values = s->value;
    size_t h = hash_stack(s) & d->stacks_mask, prev;
    for (; (prev = d->stacks[h]) != 0; h = (h + 1) & d->stacks_mask) {
      const pb_sample *t = pb->sample[prev - 1];
      if (t->n_location_id == s->n_location_id &&
          (!s->n_location_id || /* NULL arrays: memcmp must not see them */
           !memcmp(t->location_id, s->location_id, s->n_location_id * sizeof *s->location_id)))
        break;
    }
    if (prev) { /* the same locations as an earlier sample: already validated */
      o->stack = out->samples[prev - 1].stack;
    } else {
      if (resolve_stack(d, s, i, opts->max_frames, &o->stack)) break;
      d->stacks[h] = i + 1;
    }
    resolve_labels(d, s, opts->max_labels, o);
  }
  return d->rc;
}

/* Wraps the arena allocator to tell "out of memory" from "malformed" when
 * protobuf_c_message_unpack returns NULL. */
typedef struct alloc_probe {
  ProtobufCAllocator inner;
  int failed;
} alloc_probe;

static void *probe_alloc(void *data, size_t n) {
  alloc_probe *p = data;
  void *r = p->inner.alloc(p->inner.allocator_data, n);
  if (!r) p->failed = 1;
  return r;
}

static void probe_free(void *data, void *ptr) {
  alloc_probe *p = data;
  p->inner.free(p->inner.allocator_data, ptr);
}

int mw__pprof_decode(mw_arena *a, const uint8_t *data, size_t len, const mw_pprof_opts *opts, mw_profile *out,
                     char *err, size_t errsz) {
  dec d = {.a = a, .err = err, .errsz = errsz};
  mw_pprof_opts defaults = MW_PPROF_OPTS_DEFAULT;
  if (!opts) opts = &defaults;
  memset(out, 0, sizeof *out);
  if (err && errsz) err[0] = '\0';
  if (!data && len) return fail(&d, MW_EINVAL, "pprof: no data");

  alloc_probe probe = {.inner = mw__arena_pb_allocator(a)};
  ProtobufCAllocator al = {.alloc = probe_alloc, .free = probe_free, .allocator_data = &probe};
  ProtobufCMessage *m = protobuf_c_message_unpack(&perftools__profiles__profile__descriptor, &al, len, data);
  if (!m) {
    if (probe.failed) return fail(&d, MW_ENOMEM, "pprof: out of memory unpacking %zu bytes", len);
    return fail(&d, MW_EINVAL, "pprof: not a valid perftools.profiles.Profile protobuf");
  }
  const mw_pprof_pb *pb = (const mw_pprof_pb *)m;

  if (!pb->n_string_table || pb->string_table[0][0] != '\0')
    return fail(&d, MW_EINVAL, "pprof: string_table[0] must be the empty string");
  d.strs = pb->string_table;
  d.n_strs = pb->n_string_table;

  if (resolve_header(&d, pb, out) || resolve_mappings(&d, pb) || resolve_functions(&d, pb) ||
      resolve_locations(&d, pb) || resolve_samples(&d, pb, opts, out)) {
    memset(out, 0, sizeof *out); /* no half-resolved profile escapes */
    return d.rc;
  }
  out->pb = pb;
  return 0;
}

static const char *find_label(const mw_label *labels, size_t n, const char *const *keys, size_t n_keys, int *which) {
  if (which) *which = -1;
  for (size_t k = 0; k < n_keys; k++)
    for (size_t i = 0; i < n; i++)
      if (labels[i].str && labels[i].str[0] && labels[i].key && !strcmp(labels[i].key, keys[k])) {
        if (which) *which = (int)i;
        return labels[i].str;
      }
  return NULL;
}

const char *mw__pprof_span_label(const mw_label *labels, size_t n, int *which) {
  /* Pyroscope's otel-profiling-go (span_id; profile_id before v0.5.1), Datadog
   * ("span id", "local root span id"), OpenTelemetry-style keys. */
  static const char *const keys[] = {"span_id", "profile_id", "span id", "local root span id", "otel.span_id"};
  return find_label(labels, n, keys, sizeof keys / sizeof *keys, which);
}

const char *mw__pprof_trace_label(const mw_label *labels, size_t n, int *which) {
  static const char *const keys[] = {"trace_id", "otel.traceid", "otel.trace_id"};
  return find_label(labels, n, keys, sizeof keys / sizeof *keys, which);
}

int mw__pprof_sample_type_index(const mw_profile *p, const char *type) {
  if (!type || !type[0]) return p->default_sample_index;
  for (size_t i = 0; i < p->n_sample_types; i++)
    if (!strcmp(p->sample_types[i].type, type)) return (int)i;
  return -1;
}

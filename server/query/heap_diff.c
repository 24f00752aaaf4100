/* Heap profiles merged by stack and their difference as a pprof (see
 * heap_diff.h). Stacks are found through an open-addressing table keyed by
 * a hash of the frames' text, so that two profiles' stacks meet whatever
 * their location ids were; the pprof writer interns strings, functions and
 * locations the same way. */
#include "query/heap_diff.h"
#include "core/error.h"
#include "core/sat.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static const char *const value_names[MW_HV_N] = {"alloc_objects", "alloc_space", "inuse_objects", "inuse_space"};
static const char *const value_units[MW_HV_N] = {"count", "bytes", "count", "bytes"};

const char *mw__heap_value_name(enum mw_heap_value v) { return (unsigned)v < MW_HV_N ? value_names[v] : NULL; }

int mw__heap_value_parse(const char *s) {
  for (int v = 0; s && v < MW_HV_N; v++)
    if (!strcmp(s, value_names[v])) return v;
  return -1;
}

/* A word-at-a-time hash: stacks are hashed once per sample, frame by frame,
 * and byte-at-a-time hashing of every name was most of a diff's time. */
static uint64_t mix(uint64_t h, uint64_t v) {
  h = (h ^ v) * 0x9e3779b97f4a7c15ull;
  return h ^ (h >> 29);
}

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n) {
  const char *c = p;
  uint64_t v;
  for (; n >= 8; c += 8, n -= 8) {
    memcpy(&v, c, 8);
    h = mix(h, v);
  }
  v = 0;
  if (n) memcpy(&v, c, n);
  return mix(h, v ^ ((uint64_t)n << 56));
}

/* Frame strings, made one pointer per distinct string: a string pointer seen
 * before (the decoder shares them within a profile) is found by its address,
 * and only a new address costs hashing its text. Stacks then compare and
 * hash by pointers. */
typedef struct str_entry {
  const char *ptr;   /* an address seen */
  const char *canon; /* the distinct string's one pointer */
  uint64_t hash;     /* of the text */
} str_entry;

struct mw_heap_strings {
  str_entry *by_ptr; /* open addressing on ptr */
  size_t n_by_ptr, n_ptr_slots;
  str_entry *by_text; /* open addressing on hash: canon and hash */
  size_t n_by_text, n_text_slots;
};

static int grow_table(mw_arena *a, str_entry **t, size_t *slots, int by_ptr) {
  size_t n = *slots ? *slots * 2 : 4096;
  str_entry *grown = mw__arena_calloc(a, n, sizeof *grown);
  if (!grown) return MW_ENOMEM;
  for (size_t i = 0; i < *slots; i++) {
    const str_entry *e = &(*t)[i];
    if (!e->canon) continue;
    size_t j = (by_ptr ? mix(0, (uint64_t)(uintptr_t)e->ptr) : e->hash) & (n - 1);
    while (grown[j].canon) j = (j + 1) & (n - 1);
    grown[j] = *e;
  }
  *t = grown;
  *slots = n;
  return MW_OK;
}

/* The one pointer for the text of s, and its hash; NULL: no memory. */
static const char *canon(mw_arena *a, struct mw_heap_strings *t, const char *s, uint64_t *hash) {
  if ((t->n_by_ptr + 1) * 2 > t->n_ptr_slots && grow_table(a, &t->by_ptr, &t->n_ptr_slots, 1)) return NULL;
  size_t j = mix(0, (uint64_t)(uintptr_t)s) & (t->n_ptr_slots - 1);
  for (; t->by_ptr[j].canon; j = (j + 1) & (t->n_ptr_slots - 1))
    if (t->by_ptr[j].ptr == s) {
      *hash = t->by_ptr[j].hash;
      return t->by_ptr[j].canon;
    }
  if ((t->n_by_text + 1) * 2 > t->n_text_slots && grow_table(a, &t->by_text, &t->n_text_slots, 0)) return NULL;
  uint64_t h = hash_bytes(0, s, strlen(s));
  size_t k = h & (t->n_text_slots - 1);
  for (; t->by_text[k].canon; k = (k + 1) & (t->n_text_slots - 1))
    if (t->by_text[k].hash == h && !strcmp(t->by_text[k].canon, s)) break;
  if (!t->by_text[k].canon) {
    t->by_text[k] = (str_entry){.ptr = s, .canon = s, .hash = h};
    t->n_by_text++;
  }
  t->by_ptr[j] = (str_entry){.ptr = s, .canon = t->by_text[k].canon, .hash = h};
  t->n_by_ptr++;
  *hash = h;
  return t->by_ptr[j].canon;
}

static int same_stack(const mw_frame *a, size_t na, const mw_frame *b, size_t nb) {
  if (na != nb) return 0;
  for (size_t i = 0; i < na; i++)
    if (a[i].line != b[i].line || a[i].func != b[i].func || a[i].file != b[i].file) return 0;
  return 1;
}

enum { FIRST_SLOTS = 1024 };

int mw__heap_merge_init(mw_heap_merge *m, mw_arena *a) {
  memset(m, 0, sizeof *m);
  m->arena = a;
  m->n_slots = FIRST_SLOTS;
  m->slots = mw__arena_calloc(a, m->n_slots, sizeof *m->slots);
  m->hashes = mw__arena_calloc(a, m->n_slots, sizeof *m->hashes);
  m->strs = mw__arena_calloc(a, 1, sizeof *m->strs);
  return m->slots && m->hashes && m->strs ? MW_OK : MW_ENOMEM;
}

/* Doubles the table when it is half full: probes stay short. */
static int grow_slots(mw_heap_merge *m) {
  size_t n = m->n_slots * 2;
  uint32_t *slots = mw__arena_calloc(m->arena, n, sizeof *slots);
  uint64_t *hashes = mw__arena_calloc(m->arena, n, sizeof *hashes);
  if (!slots || !hashes) return MW_ENOMEM;
  for (size_t i = 0; i < m->n_slots; i++) {
    if (!m->slots[i]) continue;
    size_t j = m->hashes[i] & (n - 1);
    while (slots[j]) j = (j + 1) & (n - 1);
    slots[j] = m->slots[i];
    hashes[j] = m->hashes[i];
  }
  m->slots = slots;
  m->hashes = hashes;
  m->n_slots = n;
  return MW_OK;
}

/* The merge's entry for stack st, created (all zero) when new; NULL: no memory. */
static mw_heap_stack *find_stack(mw_heap_merge *m, const mw_stack *st) {
  if ((m->n + 1) * 2 > m->n_slots && grow_slots(m)) return NULL;
  if (st->n_frames > m->scratch_cap) {
    size_t cap = st->n_frames * 2;
    if (!(m->scratch = mw__arena_alloc(m->arena, cap * sizeof *m->scratch))) return NULL;
    m->scratch_cap = cap;
  }
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < st->n_frames; i++) {
    uint64_t fh, lh;
    mw_frame *f = &m->scratch[i];
    if (!(f->func = canon(m->arena, m->strs, st->frames[i].func, &fh)) ||
        !(f->file = canon(m->arena, m->strs, st->frames[i].file, &lh)))
      return NULL;
    f->line = st->frames[i].line;
    h = mix(mix(mix(h, fh), lh), (uint64_t)f->line);
  }
  size_t j = h & (m->n_slots - 1);
  for (; m->slots[j]; j = (j + 1) & (m->n_slots - 1)) {
    mw_heap_stack *s = &m->stacks[m->slots[j] - 1];
    if (m->hashes[j] == h && same_stack(s->frames, s->n_frames, m->scratch, st->n_frames)) return s;
  }
  if (m->n == m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 256;
    mw_heap_stack *grown = mw__arena_alloc(m->arena, cap * sizeof *grown);
    if (!grown) return NULL;
    if (m->n) memcpy(grown, m->stacks, m->n * sizeof *grown);
    m->stacks = grown;
    m->cap = cap;
  }
  mw_frame *frames = st->n_frames ? mw__arena_memdup(m->arena, m->scratch, st->n_frames * sizeof *frames) : NULL;
  if (st->n_frames && !frames) return NULL;
  mw_heap_stack *s = &m->stacks[m->n++];
  memset(s, 0, sizeof *s);
  s->frames = frames;
  s->n_frames = st->n_frames;
  m->slots[j] = (uint32_t)m->n;
  m->hashes[j] = h;
  return s;
}

int mw__heap_merge_add(mw_heap_merge *m, const mw_profile *p, int side) {
  int col[MW_HV_N], any = 0;
  for (int v = 0; v < MW_HV_N; v++) any |= (col[v] = mw__pprof_sample_type_index(p, value_names[v])) >= 0;
  if (!any) return MW_EINVAL;
  for (size_t i = 0; i < p->n_samples; i++) {
    const mw_pprof_sample *smp = &p->samples[i];
    mw_heap_stack *s = find_stack(m, &smp->stack);
    if (!s) return MW_ENOMEM;
    for (int v = 0; v < MW_HV_N; v++) {
      if (col[v] < 0) continue;
      s->side[side][v] = mw__sat_add(s->side[side][v], smp->values[col[v]]);
      m->total[side][v] = mw__sat_add(m->total[side][v], smp->values[col[v]]);
    }
  }
  return MW_OK;
}

int64_t mw__heap_delta(const mw_heap_stack *s, enum mw_heap_value v) {
  return mw__sat_sub(s->side[1][v], s->side[0][v]);
}

/* qsort takes no context: the value to sort by is the sorting thread's own */
static _Thread_local enum mw_heap_value sort_by;

static int by_delta(const void *pa, const void *pb) {
  const mw_heap_stack *a = pa, *b = pb;
  int64_t da = mw__heap_delta(a, sort_by), db = mw__heap_delta(b, sort_by);
  if (da != db) return da > db ? -1 : 1;
  int64_t ta = a->side[1][sort_by], tb = b->side[1][sort_by];
  return ta > tb ? -1 : ta < tb;
}

void mw__heap_merge_sort(mw_heap_merge *m, enum mw_heap_value v) {
  sort_by = v;
  qsort(m->stacks, m->n, sizeof *m->stacks, by_delta);
  m->n_slots = 0; /* the table's indices are stale now */
}

/* --- the difference as a pprof ------------------------------------------------ */

/* Interned keys (bytes) to ids 1..n, in the order first seen. */
typedef struct intern {
  mw_arena *a;
  const char **keys; /* [id - 1] */
  size_t *lens;
  size_t n, cap;
  uint32_t *slots; /* id, 0 = empty */
  size_t n_slots;
  int failed; /* memory ran out once: the table is not to be used */
} intern;

static int intern_grow(intern *t) {
  size_t n = t->n_slots ? t->n_slots * 2 : 1024;
  uint32_t *slots = mw__arena_calloc(t->a, n, sizeof *slots);
  if (!slots) return MW_ENOMEM;
  for (size_t id = 1; id <= t->n; id++) {
    size_t j = hash_bytes(0, t->keys[id - 1], t->lens[id - 1]) & (n - 1);
    while (slots[j]) j = (j + 1) & (n - 1);
    slots[j] = (uint32_t)id;
  }
  t->slots = slots;
  t->n_slots = n;
  return MW_OK;
}

/* The id of key (len bytes), added when new; 0 when memory ran out. */
static uint32_t intern_id(intern *t, const void *key, size_t len) {
  if ((t->n + 1) * 2 > t->n_slots && intern_grow(t)) {
    t->failed = 1;
    return 0;
  }
  size_t j = hash_bytes(0, key, len) & (t->n_slots - 1);
  for (; t->slots[j]; j = (j + 1) & (t->n_slots - 1)) {
    uint32_t id = t->slots[j];
    if (t->lens[id - 1] == len && !memcmp(t->keys[id - 1], key, len)) return id;
  }
  if (t->n == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 256;
    const char **keys = mw__arena_alloc(t->a, cap * sizeof *keys);
    size_t *lens = mw__arena_alloc(t->a, cap * sizeof *lens);
    if (!keys || !lens) {
      t->failed = 1;
      return 0;
    }
    if (t->n) {
      memcpy(keys, t->keys, t->n * sizeof *keys);
      memcpy(lens, t->lens, t->n * sizeof *lens);
    }
    t->keys = keys;
    t->lens = lens;
    t->cap = cap;
  }
  const char *copy = mw__arena_memdup(t->a, key, len);
  if (!copy) {
    t->failed = 1;
    return 0;
  }
  t->keys[t->n] = copy;
  t->lens[t->n++] = len;
  t->slots[j] = (uint32_t)t->n;
  return (uint32_t)t->n;
}

/* String table index of s: ids start at 1 and "" is interned first, so the
 * index is the id - 1; -1 when memory ran out (strs->failed says so too). */
static int64_t str_index(intern *strs, const char *s) {
  uint32_t id = intern_id(strs, s, strlen(s) + 1);
  return id ? (int64_t)id - 1 : -1;
}

typedef Perftools__Profiles__Profile pb_profile;
typedef Perftools__Profiles__ValueType pb_vt;
typedef Perftools__Profiles__Sample pb_sample;
typedef Perftools__Profiles__Location pb_loc;
typedef Perftools__Profiles__Line pb_line;
typedef Perftools__Profiles__Function pb_func;
typedef Perftools__Profiles__Mapping pb_map;

/* Fills pb from m (every pointer into a). */
static int build_pb(mw_arena *a, const mw_heap_merge *m, const mw_profile *like, enum mw_heap_value v, int64_t time_ns,
                    int64_t duration_ns, pb_profile *pb) {
  /* frames: a frame's pointers and line to its location id, so that a frame
   * seen before (most are: stacks share callers) costs no string hashing */
  intern strs = {.a = a}, funcs = {.a = a}, locs = {.a = a}, frames = {.a = a};
  uint32_t *frame_loc = NULL;
  size_t frame_cap = 0;
  pb_func **fn = NULL;
  pb_loc **lo = NULL;
  size_t fn_cap = 0, lo_cap = 0;
  if (str_index(&strs, "") != 0) return MW_ENOMEM;
  perftools__profiles__profile__init(pb);

  pb->sample_type = mw__arena_alloc(a, MW_HV_N * sizeof *pb->sample_type);
  if (!pb->sample_type) return MW_ENOMEM;
  for (int k = 0; k < MW_HV_N; k++) {
    pb_vt *vt = mw__arena_alloc(a, sizeof *vt);
    if (!vt) return MW_ENOMEM;
    perftools__profiles__value_type__init(vt);
    vt->type = str_index(&strs, value_names[k]);
    vt->unit = str_index(&strs, value_units[k]);
    pb->sample_type[k] = vt;
  }
  pb->n_sample_type = MW_HV_N;
  pb->default_sample_type = str_index(&strs, value_names[v]);

  /* one mapping that says symbols are there: pprof then looks for no binary */
  pb_map *map = mw__arena_alloc(a, sizeof *map);
  pb->mapping = mw__arena_alloc(a, sizeof *pb->mapping);
  if (!map || !pb->mapping) return MW_ENOMEM;
  perftools__profiles__mapping__init(map);
  map->id = 1;
  map->has_functions = map->has_filenames = map->has_line_numbers = 1;
  pb->mapping[0] = map;
  pb->n_mapping = 1;

  pb->sample = mw__arena_alloc(a, (m->n ? m->n : 1) * sizeof *pb->sample);
  if (!pb->sample) return MW_ENOMEM;
  for (size_t i = 0; i < m->n; i++) {
    const mw_heap_stack *s = &m->stacks[i];
    int64_t d[MW_HV_N], nonzero = 0;
    for (int k = 0; k < MW_HV_N; k++) nonzero |= (d[k] = mw__heap_delta(s, (enum mw_heap_value)k)) != 0;
    if (!nonzero) continue;
    pb_sample *smp = mw__arena_alloc(a, sizeof *smp);
    int64_t *vals = mw__arena_memdup(a, d, sizeof d);
    uint64_t *ids = mw__arena_alloc(a, (s->n_frames ? s->n_frames : 1) * sizeof *ids);
    if (!smp || !vals || !ids) return MW_ENOMEM;
    perftools__profiles__sample__init(smp);
    for (size_t f = 0; f < s->n_frames; f++) {
      const mw_frame *fr = &s->frames[f];
      const void *pkey[3] = {fr->func, fr->file, (const void *)(intptr_t)fr->line};
      uint32_t known = intern_id(&frames, pkey, sizeof pkey);
      if (!known) return MW_ENOMEM;
      if (known <= frame_cap && frame_loc[known - 1]) {
        ids[f] = frame_loc[known - 1];
        continue;
      }
      if (known > frame_cap) {
        size_t cap = frame_cap ? frame_cap * 2 : 1024;
        uint32_t *grown = mw__arena_calloc(a, cap, sizeof *grown);
        if (!grown) return MW_ENOMEM;
        if (frame_cap) memcpy(grown, frame_loc, frame_cap * sizeof *grown);
        frame_loc = grown;
        frame_cap = cap;
      }
      int64_t name = str_index(&strs, fr->func), file = str_index(&strs, fr->file);
      if (name < 0 || file < 0) return MW_ENOMEM;
      int64_t fkey[2] = {name, file};
      uint32_t fid = intern_id(&funcs, fkey, sizeof fkey);
      if (!fid) return MW_ENOMEM;
      if ((size_t)fid > pb->n_function) { /* new: ids come in order */
        if ((size_t)fid > fn_cap) {
          size_t cap = fn_cap ? fn_cap * 2 : 256;
          pb_func **grown = mw__arena_alloc(a, cap * sizeof *grown);
          if (!grown) return MW_ENOMEM;
          if (fn_cap) memcpy(grown, fn, fn_cap * sizeof *grown);
          fn = grown;
          fn_cap = cap;
        }
        pb_func *f1 = mw__arena_alloc(a, sizeof *f1);
        if (!f1) return MW_ENOMEM;
        perftools__profiles__function__init(f1);
        f1->id = fid;
        f1->name = f1->system_name = name;
        f1->filename = file;
        fn[pb->n_function++] = f1;
      }
      int64_t lkey[2] = {fid, fr->line};
      uint32_t lid = intern_id(&locs, lkey, sizeof lkey);
      if (!lid) return MW_ENOMEM;
      if ((size_t)lid > pb->n_location) {
        if ((size_t)lid > lo_cap) {
          size_t cap = lo_cap ? lo_cap * 2 : 256;
          pb_loc **grown = mw__arena_alloc(a, cap * sizeof *grown);
          if (!grown) return MW_ENOMEM;
          if (lo_cap) memcpy(grown, lo, lo_cap * sizeof *grown);
          lo = grown;
          lo_cap = cap;
        }
        pb_loc *l = mw__arena_alloc(a, sizeof *l);
        pb_line *ln = mw__arena_alloc(a, sizeof *ln);
        pb_line **lns = mw__arena_alloc(a, sizeof *lns);
        if (!l || !ln || !lns) return MW_ENOMEM;
        perftools__profiles__location__init(l);
        perftools__profiles__line__init(ln);
        ln->function_id = fid;
        ln->line = fr->line;
        lns[0] = ln;
        l->id = lid;
        l->mapping_id = 1;
        l->line = lns;
        l->n_line = 1;
        lo[pb->n_location++] = l;
      }
      ids[f] = frame_loc[known - 1] = lid;
    }
    smp->location_id = ids;
    smp->n_location_id = s->n_frames;
    smp->value = vals;
    smp->n_value = MW_HV_N;
    pb->sample[pb->n_sample++] = smp;
  }
  pb->function = fn;
  pb->location = lo;

  if (like && like->period_type.type[0]) {
    pb_vt *pt = mw__arena_alloc(a, sizeof *pt);
    if (!pt) return MW_ENOMEM;
    perftools__profiles__value_type__init(pt);
    pt->type = str_index(&strs, like->period_type.type);
    pt->unit = str_index(&strs, like->period_type.unit);
    pb->period_type = pt;
  }
  pb->period = like ? like->period : 0;
  pb->time_nanos = time_ns;
  pb->duration_nanos = duration_ns;
  pb->string_table = mw__arena_alloc(a, strs.n * sizeof *pb->string_table);
  if (!pb->string_table) return MW_ENOMEM;
  for (size_t i = 0; i < strs.n; i++) pb->string_table[i] = (char *)strs.keys[i];
  pb->n_string_table = strs.n;
  return strs.failed ? MW_ENOMEM : MW_OK;
}

int mw__heap_diff_pprof(const mw_heap_merge *m, const mw_profile *like, enum mw_heap_value v, int64_t time_ns,
                        int64_t duration_ns, mw_buf *out) {
  pb_profile pb;
  int rc = build_pb(m->arena, m, like, v, time_ns, duration_ns, &pb);
  if (rc) return rc;
  size_t len = perftools__profiles__profile__get_packed_size(&pb);
  uint8_t *raw = mw__arena_alloc(m->arena, len ? len : 1);
  if (!raw) return MW_ENOMEM;
  perftools__profiles__profile__pack(&pb, raw);

  z_stream zs;
  memset(&zs, 0, sizeof zs);
  /* the fastest level, as Go's runtime/pprof writes profiles */
  if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return MW_EIO;
  size_t bound = deflateBound(&zs, (uLong)len);
  char *dst = mw__buf_reserve(out, bound);
  if (!dst) {
    deflateEnd(&zs);
    return out->err ? out->err : MW_ENOMEM;
  }
  zs.next_in = raw;
  zs.avail_in = (uInt)len;
  zs.next_out = (Bytef *)dst;
  zs.avail_out = (uInt)bound;
  int zr = deflate(&zs, Z_FINISH);
  size_t got = bound - zs.avail_out;
  deflateEnd(&zs);
  if (zr != Z_STREAM_END) return MW_EIO;
  out->len += got;
  dst[got] = '\0'; /* reserve left room for it: the buffer's rule */
  return MW_OK;
}

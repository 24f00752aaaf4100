/* Tests for heap profiles compared by stack (query/heap_diff.c) and the
 * differential flame tree (query/flame.c), on hand-built heap profiles: each
 * is written here as protobuf (with location ids that differ between the
 * two sides, as two captures' ids do), decoded by the pprof decoder and
 * merged. Expected values are the arithmetic of the hand-written values
 * below (target - base, as `go tool pprof -base` subtracts), not output of
 * the code under test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/arena.h"
#include "core/error.h"
#include "core/jsonw.h"
#include "decode/pprof.h"
#include "query/flame.h"
#include "query/heap_diff.h"

/* One sample: its stack as "leaf;caller;...;root" and its four values
 * (alloc_objects, alloc_space, inuse_objects, inuse_space). */
typedef struct spec {
  const char *stack;
  int64_t v[4];
} spec;

enum { MAX_FN = 32, MAX_SAMPLES = 16 };

/* Builds, packs and decodes a Go-like heap profile of the samples in s;
 * location and function ids start at id0 (so two profiles' ids differ).
 * types: the sample type names (NULL: the four of a heap profile). */
static void build(mw_arena *a, const spec *s, size_t n, uint64_t id0, const char *const *types, size_t n_types,
                  mw_profile *out) {
  static const char *const heap_types[] = {"alloc_objects", "alloc_space", "inuse_objects", "inuse_space"};
  if (!types) types = heap_types, n_types = 4;
  char *strs[2 + 2 * 4 + MAX_FN + 1];
  size_t n_strs = 0;
  strs[n_strs++] = "";
  Perftools__Profiles__ValueType vt[4], *vtp[4];
  for (size_t i = 0; i < n_types; i++) {
    perftools__profiles__value_type__init(&vt[i]);
    strs[n_strs] = (char *)types[i];
    vt[i].type = (int64_t)n_strs++;
    strs[n_strs] = strstr(types[i], "space") ? "bytes" : "count";
    vt[i].unit = (int64_t)n_strs++;
    vtp[i] = &vt[i];
  }
  strs[n_strs] = "x.go";
  int64_t file = (int64_t)n_strs++;
  Perftools__Profiles__Function fn[MAX_FN], *fnp[MAX_FN];
  Perftools__Profiles__Location loc[MAX_FN], *locp[MAX_FN];
  Perftools__Profiles__Line ln[MAX_FN], *lnp[MAX_FN];
  char names[MAX_FN][32];
  size_t n_fn = 0;
  Perftools__Profiles__Sample smp[MAX_SAMPLES], *smpp[MAX_SAMPLES];
  uint64_t ids[MAX_SAMPLES][8];
  int64_t vals[MAX_SAMPLES][4];
  for (size_t i = 0; i < n; i++) {
    perftools__profiles__sample__init(&smp[i]);
    size_t depth = 0;
    for (const char *p = s[i].stack; *p;) {
      size_t len = strcspn(p, ";");
      size_t f = 0;
      while (f < n_fn && (strlen(names[f]) != len || strncmp(names[f], p, len))) f++;
      if (f == n_fn) { /* a new function, its one location at a line its name gives */
        snprintf(names[f], sizeof names[f], "%.*s", (int)len, p);
        strs[n_strs] = names[f];
        perftools__profiles__function__init(&fn[f]);
        fn[f].id = id0 + f;
        fn[f].name = (int64_t)n_strs++;
        fn[f].filename = file;
        fnp[f] = &fn[f];
        perftools__profiles__line__init(&ln[f]);
        ln[f].function_id = id0 + f;
        ln[f].line = 10 + (int64_t)len;
        lnp[f] = &ln[f];
        perftools__profiles__location__init(&loc[f]);
        loc[f].id = id0 + f;
        loc[f].line = &lnp[f];
        loc[f].n_line = 1;
        locp[f] = &loc[f];
        n_fn++;
      }
      ids[i][depth++] = id0 + f;
      p += len + (p[len] == ';');
    }
    for (size_t k = 0; k < n_types; k++) vals[i][k] = s[i].v[k];
    smp[i].location_id = ids[i];
    smp[i].n_location_id = depth;
    smp[i].value = vals[i];
    smp[i].n_value = n_types;
    smpp[i] = &smp[i];
  }
  Perftools__Profiles__Profile p;
  perftools__profiles__profile__init(&p);
  p.sample_type = vtp;
  p.n_sample_type = n_types;
  p.sample = smpp;
  p.n_sample = n;
  p.function = fnp;
  p.n_function = n_fn;
  p.location = locp;
  p.n_location = n_fn;
  p.string_table = strs;
  p.n_string_table = n_strs;
  size_t len = perftools__profiles__profile__get_packed_size(&p);
  uint8_t *buf = mw__arena_alloc(a, len + 1);
  assert_non_null(buf);
  perftools__profiles__profile__pack(&p, buf);
  char err[256] = "";
  int rc = mw__pprof_decode(a, buf, len, NULL, out, err, sizeof err);
  if (rc) fail_msg("decode: %s", err);
}

/* The stack whose leaf is leaf (and caller, when not NULL). */
static const mw_heap_stack *find(const mw_heap_merge *m, const char *leaf, const char *caller) {
  for (size_t i = 0; i < m->n; i++) {
    const mw_heap_stack *s = &m->stacks[i];
    if (s->n_frames && !strcmp(s->frames[0].func, leaf) &&
        (!caller || (s->n_frames > 1 && !strcmp(s->frames[1].func, caller))))
      return s;
  }
  fail_msg("no stack with leaf %s", leaf);
  return NULL;
}

/* base: cache grows 100 -> 400 bytes (1 -> 4 objects); log shrinks; new
 * appears only in the target; pool has many small objects in the target. */
static const spec base_spec[] = {
    {"main.cache;main.handle;main.main", {10, 1000, 1, 100}},
    {"main.log;main.main", {5, 5000, 3, 3000}},
    {"main.pool;main.main", {2, 64, 2, 64}},
};
static const spec target_spec[] = {
    {"main.cache;main.handle;main.main", {40, 4000, 4, 400}},
    {"main.log;main.main", {6, 6000, 1, 1000}},
    {"main.new;main.handle;main.main", {7, 700, 7, 700}},
    {"main.pool;main.main", {502, 8064, 502, 8064}},
    /* the same stack twice (Go writes one sample per size class) */
    {"main.cache;main.handle;main.main", {1, 50, 1, 50}},
};

static void merged(mw_arena *a, mw_heap_merge *m, mw_profile *target) {
  mw_profile base;
  build(a, base_spec, 3, 100, NULL, 0, &base);
  build(a, target_spec, 5, 500, NULL, 0, target);
  assert_int_equal(mw__heap_merge_init(m, a), MW_OK);
  assert_int_equal(mw__heap_merge_add(m, &base, 0), MW_OK);
  assert_int_equal(mw__heap_merge_add(m, target, 1), MW_OK);
}

static void test_diff_by_stack(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  mw_heap_merge m;
  mw_profile target;
  merged(a, &m, &target);
  assert_int_equal(m.n, 4); /* ids differ, stacks meet by their frames */
  const mw_heap_stack *cache = find(&m, "main.cache", NULL);
  assert_int_equal(cache->n_frames, 3);
  assert_string_equal(cache->frames[1].func, "main.handle");
  assert_int_equal(cache->side[0][MW_HV_INUSE_SPACE], 100);
  assert_int_equal(cache->side[1][MW_HV_INUSE_SPACE], 450);
  assert_int_equal(mw__heap_delta(cache, MW_HV_INUSE_SPACE), 350);
  assert_int_equal(mw__heap_delta(cache, MW_HV_INUSE_OBJECTS), 4);
  assert_int_equal(mw__heap_delta(cache, MW_HV_ALLOC_SPACE), 3050);
  assert_int_equal(m.total[0][MW_HV_INUSE_SPACE], 100 + 3000 + 64);
  assert_int_equal(m.total[1][MW_HV_INUSE_SPACE], 450 + 1000 + 700 + 8064);
  mw__arena_free(a);
}

static void test_new_and_shrinking_stacks(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  mw_heap_merge m;
  mw_profile target;
  merged(a, &m, &target);
  const mw_heap_stack *fresh = find(&m, "main.new", NULL);
  assert_int_equal(fresh->side[0][MW_HV_INUSE_SPACE], 0);
  assert_int_equal(mw__heap_delta(fresh, MW_HV_INUSE_SPACE), 700);
  const mw_heap_stack *log = find(&m, "main.log", NULL);
  assert_int_equal(mw__heap_delta(log, MW_HV_INUSE_SPACE), -2000);
  assert_int_equal(mw__heap_delta(log, MW_HV_INUSE_OBJECTS), -2);
  /* alloc_* count since the start: they never shrink in a real profile,
   * but the difference is the plain one */
  assert_int_equal(mw__heap_delta(log, MW_HV_ALLOC_SPACE), 1000);
  mw__heap_merge_sort(&m, MW_HV_INUSE_SPACE);
  static const char *const by_space[] = {"main.pool", "main.new", "main.cache", "main.log"};
  for (size_t i = 0; i < 4; i++) assert_string_equal(m.stacks[i].frames[0].func, by_space[i]);
  mw__arena_free(a);
}

static void test_objects_order_differs_from_bytes(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  mw_heap_merge m;
  mw_profile target;
  /* big grows by 99,900 bytes in 2 objects, small by 8,000 bytes in
   * 1,000: bytes and objects order them differently */
  static const spec b[] = {{"main.big;main.main", {1, 100, 1, 100}}, {"main.small;main.main", {1, 8, 1, 8}}};
  static const spec t[] = {{"main.big;main.main", {3, 100000, 3, 100000}},
                           {"main.small;main.main", {1001, 8008, 1001, 8008}}};
  mw_profile base;
  build(a, b, 2, 1, NULL, 0, &base);
  build(a, t, 2, 50, NULL, 0, &target);
  assert_int_equal(mw__heap_merge_init(&m, a), MW_OK);
  assert_int_equal(mw__heap_merge_add(&m, &base, 0), MW_OK);
  assert_int_equal(mw__heap_merge_add(&m, &target, 1), MW_OK);
  mw__heap_merge_sort(&m, MW_HV_INUSE_SPACE);
  assert_string_equal(m.stacks[0].frames[0].func, "main.big");
  assert_int_equal(mw__heap_delta(&m.stacks[0], MW_HV_INUSE_SPACE), 99900);
  mw__heap_merge_sort(&m, MW_HV_INUSE_OBJECTS);
  assert_string_equal(m.stacks[0].frames[0].func, "main.small");
  assert_int_equal(mw__heap_delta(&m.stacks[0], MW_HV_INUSE_OBJECTS), 1000);
  mw__arena_free(a);
}

static void test_not_a_heap_profile(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  static const char *const cpu[] = {"samples", "cpu"};
  static const spec s[] = {{"main.spin;main.main", {3, 3000000}}};
  mw_profile p;
  build(a, s, 1, 1, cpu, 2, &p);
  mw_heap_merge m;
  assert_int_equal(mw__heap_merge_init(&m, a), MW_OK);
  assert_int_equal(mw__heap_merge_add(&m, &p, 0), MW_EINVAL);
  assert_int_equal(m.n, 0);
  assert_int_equal(mw__heap_value_parse("inuse_objects"), MW_HV_INUSE_OBJECTS);
  assert_int_equal(mw__heap_value_parse("cpu"), -1);
  mw__arena_free(a);
}

/* The pprof written back decodes to the differences, by stack. */
static void test_pprof_of_the_difference(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  mw_heap_merge m;
  mw_profile target;
  merged(a, &m, &target);
  mw_buf gz;
  mw__buf_init(&gz, 1 << 20);
  assert_int_equal(mw__heap_diff_pprof(&m, &target, MW_HV_INUSE_SPACE, 2000000000, 1000000000, &gz), MW_OK);
  assert_true(gz.len > 2 && (unsigned char)gz.data[0] == 0x1f && (unsigned char)gz.data[1] == 0x8b);
  uint8_t raw[1 << 16];
  uLongf raw_len = sizeof raw;
  z_stream zs = {0};
  assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
  zs.next_in = (Bytef *)gz.data;
  zs.avail_in = (uInt)gz.len;
  zs.next_out = raw;
  zs.avail_out = (uInt)raw_len;
  assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
  raw_len = zs.total_out;
  inflateEnd(&zs);
  mw_profile d;
  char err[256] = "";
  assert_int_equal(mw__pprof_decode(a, raw, raw_len, NULL, &d, err, sizeof err), MW_OK);
  assert_int_equal(d.n_sample_types, 4);
  assert_string_equal(d.sample_types[3].type, "inuse_space");
  assert_string_equal(d.sample_types[3].unit, "bytes");
  assert_string_equal(d.default_sample_type, "inuse_space");
  assert_int_equal(d.time_nanos, 2000000000);
  assert_int_equal(d.duration_nanos, 1000000000);
  assert_int_equal(d.n_samples, 4);
  static const struct {
    const char *leaf;
    int64_t v[4];
  } want[] = {{"main.cache", {31, 3050, 4, 350}},
              {"main.log", {1, 1000, -2, -2000}},
              {"main.new", {7, 700, 7, 700}},
              {"main.pool", {500, 8000, 500, 8000}}};
  for (size_t w = 0; w < 4; w++) {
    size_t hits = 0;
    for (size_t i = 0; i < d.n_samples; i++) {
      if (strcmp(d.samples[i].stack.frames[0].func, want[w].leaf)) continue;
      hits++;
      for (int k = 0; k < 4; k++) assert_int_equal(d.samples[i].values[k], want[w].v[k]);
      assert_string_equal(d.samples[i].stack.frames[d.samples[i].stack.n_frames - 1].func, "main.main");
      assert_string_equal(d.samples[i].stack.frames[0].file, "x.go");
    }
    assert_int_equal(hits, 1);
  }
  mw__buf_free(&gz);
  mw__arena_free(a);
}

/* The flame tree: a node's weights are the sums over the stacks through it. */
static void test_flame(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  mw_heap_merge m;
  mw_profile target;
  merged(a, &m, &target);
  mw_flame_node root = {.name = "all"};
  for (size_t i = 0; i < m.n; i++)
    assert_int_equal(mw__flame_add(a, &root, m.stacks[i].frames, m.stacks[i].n_frames,
                                   (double)m.stacks[i].side[1][MW_HV_INUSE_SPACE],
                                   (double)m.stacks[i].side[0][MW_HV_INUSE_SPACE]),
                     MW_OK);
  assert_true(root.w[0] == 450 + 1000 + 700 + 8064);
  assert_true(root.w[1] == 100 + 3000 + 64);
  assert_non_null(root.kids);
  assert_null(root.kids->next); /* one root frame: main.main */
  const mw_flame_node *handle = NULL;
  for (const mw_flame_node *k = root.kids->kids; k; k = k->next)
    if (!strcmp(k->frame.func, "main.handle") && !strcmp(k->frame.file, "x.go")) handle = k;
  assert_non_null(handle);
  assert_true(handle->w[0] == 450 + 700 && handle->w[1] == 100);
  mw_buf b;
  mw__buf_init(&b, 1 << 20);
  mw_jsonw w;
  mw__jw_init(&w, &b);
  mw__flame_write(&w, &root, "target", "base", 1, 0.005);
  assert_int_equal(mw__jw_error(&w), 0);
  assert_non_null(strstr(b.data, "{\"name\":\"all\",\"target\":10214,\"base\":3164,\"delta\":7050,\"children\":["));
  mw__buf_free(&b);
  mw__arena_free(a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_diff_by_stack),
      cmocka_unit_test(test_new_and_shrinking_stacks),
      cmocka_unit_test(test_objects_order_differs_from_bytes),
      cmocka_unit_test(test_not_a_heap_profile),
      cmocka_unit_test(test_pprof_of_the_difference),
      cmocka_unit_test(test_flame),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

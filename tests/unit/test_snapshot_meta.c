/* Tests for snapshot metadata (model/snapshot_meta.c), the one writer and
 * the one reader of snapshots.meta: the writer gives exactly the JSON the
 * first version stored (written out by hand below: dumps and profiles keep
 * their own key order), the reader reads it back into the struct, and
 * stored text it does not expect reads as empty rather than failing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/error.h"
#include "model/snapshot_meta.h"

static const char *write_meta(mw_buf *b, const mw_snapshot_meta *m) {
  mw_jsonw w;
  mw__buf_reset(b);
  mw__jw_init(&w, b);
  mw__snapshot_meta_write(&w, m);
  assert_int_equal(mw__jw_error(&w), 0);
  return b->data;
}

static void test_dump(void **state) {
  (void)state;
  mw_buf b;
  mw__buf_init(&b, 1 << 16);
  mw_snapshot_meta m;
  mw__snapshot_meta_init(&m);
  m.format = "debug=1";
  m.has_by_state = 1;
  m.by_state[MW_G_CHAN] = 5;
  m.by_state[MW_G_RUNNING] = 2;
  m.claimed_total = 7;
  m.trigger = "goroutines";
  assert_string_equal(write_meta(&b, &m),
                      "{\"format\":\"debug=1\",\"by_state\":{\"running\":2,\"chan\":5},\"claimed_total\":7,"
                      "\"trigger\":\"goroutines\"}");
  /* a debug=2 dump: no claimed total, no trigger, and its by_state even when empty */
  mw__snapshot_meta_init(&m);
  m.format = "debug=2";
  m.has_by_state = 1;
  assert_string_equal(write_meta(&b, &m), "{\"format\":\"debug=2\",\"by_state\":{}}");

  mw_arena *a = mw__arena_new(0);
  mw_snapshot_meta r;
  assert_int_equal(mw__snapshot_meta_read(a,
                                          "{\"format\":\"debug=1\",\"by_state\":{\"running\":2,\"chan\":5},"
                                          "\"claimed_total\":7,\"trigger\":\"goroutines\"}",
                                          &r),
                   MW_OK);
  assert_string_equal(r.format, "debug=1");
  assert_int_equal(r.profile, 0);
  assert_int_equal(r.has_by_state, 1);
  assert_int_equal(r.by_state[MW_G_RUNNING], 2);
  assert_int_equal(r.by_state[MW_G_CHAN], 5);
  assert_int_equal(r.by_state[MW_G_IO], 0);
  assert_int_equal(r.claimed_total, 7);
  assert_string_equal(r.trigger, "goroutines");
  mw__arena_free(a);
  mw__buf_free(&b);
}

static void test_profile(void **state) {
  (void)state;
  mw_buf b;
  mw__buf_init(&b, 1 << 16);
  static const mw_value_type types[] = {{"samples", "count"}, {"cpu", "nanoseconds"}};
  mw_snapshot_meta m;
  mw__snapshot_meta_init(&m);
  m.format = "pprof";
  m.profile = 1;
  m.sample_types = types;
  m.n_sample_types = 2;
  m.period_type = (mw_value_type){"cpu", "nanoseconds"};
  m.period = 10000000;
  m.default_sample_type = "cpu";
  m.trigger = "gc_cpu";
  const char *cpu = "{\"format\":\"pprof\",\"sample_types\":[[\"samples\",\"count\"],[\"cpu\",\"nanoseconds\"]],"
                    "\"period_type\":[\"cpu\",\"nanoseconds\"],\"period\":10000000,\"default_sample_type\":\"cpu\","
                    "\"trigger\":\"gc_cpu\"}";
  assert_string_equal(write_meta(&b, &m), cpu);
  /* a goroutine profile: by_state last; no default sample type when "" */
  static const mw_value_type g[] = {{"goroutine", "count"}};
  mw__snapshot_meta_init(&m);
  m.format = "pprof";
  m.profile = 1;
  m.sample_types = g;
  m.n_sample_types = 1;
  m.period_type = (mw_value_type){"goroutine", "count"};
  m.period = 1;
  m.default_sample_type = "";
  m.has_by_state = 1;
  m.by_state[MW_G_IO] = 3;
  m.by_state[MW_G_OTHER] = 1;
  assert_string_equal(
      write_meta(&b, &m),
      "{\"format\":\"pprof\",\"sample_types\":[[\"goroutine\",\"count\"]],\"period_type\":[\"goroutine\","
      "\"count\"],\"period\":1,\"by_state\":{\"io\":3,\"other\":1}}");

  mw_arena *a = mw__arena_new(0);
  mw_snapshot_meta r;
  assert_int_equal(mw__snapshot_meta_read(a, cpu, &r), MW_OK);
  assert_int_equal(r.profile, 1);
  assert_int_equal(r.n_sample_types, 2);
  assert_string_equal(r.sample_types[0].type, "samples");
  assert_string_equal(r.sample_types[0].unit, "count");
  assert_string_equal(r.sample_types[1].type, "cpu");
  assert_string_equal(r.sample_types[1].unit, "nanoseconds");
  assert_string_equal(r.period_type.type, "cpu");
  assert_string_equal(r.period_type.unit, "nanoseconds");
  assert_int_equal(r.period, 10000000);
  assert_string_equal(r.default_sample_type, "cpu");
  assert_string_equal(r.trigger, "gc_cpu");
  assert_int_equal(r.has_by_state, 0);
  assert_int_equal(r.claimed_total, -1);
  /* what it reads, it writes back the same */
  assert_string_equal(write_meta(&b, &r), cpu);
  mw__arena_free(a);
  mw__buf_free(&b);
}

static void test_unexpected_text(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  mw_snapshot_meta r;
  /* none, not JSON, not an object: empty, and said so */
  assert_int_equal(mw__snapshot_meta_read(a, NULL, &r), MW_EINVAL);
  assert_int_equal(mw__snapshot_meta_read(a, "not json", &r), MW_EINVAL);
  assert_int_equal(mw__snapshot_meta_read(a, "[1,2]", &r), MW_EINVAL);
  assert_null(r.format);
  assert_int_equal(r.profile, 0);
  assert_int_equal(r.claimed_total, -1);
  /* members of the wrong type are left out; unknown ones are ignored */
  assert_int_equal(mw__snapshot_meta_read(a,
                                          "{\"format\":7,\"period\":\"x\",\"by_state\":{\"io\":\"many\",\"chan\":2},"
                                          "\"sample_types\":[[\"cpu\"],5],\"extra\":true}",
                                          &r),
                   MW_OK);
  assert_null(r.format);
  assert_int_equal(r.period, 0);
  assert_int_equal(r.by_state[MW_G_IO], 0);
  assert_int_equal(r.by_state[MW_G_CHAN], 2);
  assert_int_equal(r.n_sample_types, 2);
  assert_string_equal(r.sample_types[0].type, "cpu");
  assert_null(r.sample_types[0].unit);
  assert_null(r.sample_types[1].type);
  /* an empty object writes as one */
  mw_buf b;
  mw__buf_init(&b, 1 << 10);
  assert_int_equal(mw__snapshot_meta_read(a, "{}", &r), MW_OK);
  assert_string_equal(write_meta(&b, &r), "{}");
  mw__buf_free(&b);
  mw__arena_free(a);
}

/* Goroutine dumps and goroutine leak profiles are stored as goroutine
 * groups; every other kind as profile samples. */
static void test_kind_groups(void **state) {
  (void)state;
  assert_int_equal(mw__snapshot_kind_groups("goroutine"), 1);
  assert_int_equal(mw__snapshot_kind_groups("goroutineleak"), 1);
  static const char *const samples[] = {"cpu", "heap", "allocs", "mutex", "block", "goroutines", "goroutine ", ""};
  for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++)
    assert_int_equal(mw__snapshot_kind_groups(samples[i]), 0);
  assert_int_equal(mw__snapshot_kind_groups(NULL), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dump),
      cmocka_unit_test(test_profile),
      cmocka_unit_test(test_unexpected_text),
      cmocka_unit_test(test_kind_groups),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

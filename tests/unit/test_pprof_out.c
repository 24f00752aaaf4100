/* Tests for query/pprof_out.c: a goroutine profile written from stored groups
 * (the /raw of a goroutine profile kept without its payload) is gzip'd pprof
 * that reads back, through zlib and the pprof decoder, as the rows given here
 * by hand: each group a sample with its count, its frames (function, file,
 * line; a Windows path with a drive colon, an empty stack), its labels (string
 * and numeric), and the profile's sample type, period and time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <zlib.h>

#include "core/error.h"
#include "decode/pprof.h"
#include "query/pprof_out.h"

/* gunzip with zlib alone, into the arena */
static uint8_t *gunzip(mw_arena *a, const char *in, size_t len, size_t *out_len) {
  size_t cap = 1 << 20;
  uint8_t *out = mw__arena_alloc(a, cap);
  assert_non_null(out);
  z_stream z;
  memset(&z, 0, sizeof z);
  assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
  z.next_in = (Bytef *)in;
  z.avail_in = (uInt)len;
  z.next_out = out;
  z.avail_out = (uInt)cap;
  assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
  *out_len = cap - z.avail_out;
  inflateEnd(&z);
  return out;
}

static void frame_is(const mw_frame *f, const char *func, const char *file, int64_t line) {
  assert_string_equal(f->func, func);
  assert_string_equal(f->file, file);
  assert_int_equal(f->line, line);
}

static void test_goroutine_groups(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  assert_non_null(a);
  const mw_value_type types[] = {{"goroutine", "count"}};
  mw_snapshot_meta meta;
  mw__snapshot_meta_init(&meta);
  meta.format = "pprof";
  meta.profile = 1;
  meta.sample_types = types;
  meta.n_sample_types = 1;
  meta.period_type = (mw_value_type){"goroutine", "count"};
  meta.period = 1;
  meta.default_sample_type = "goroutine"; /* the last type: not written */
  mw_snapshot_info info = {.id = 7,
                           .kind = "goroutine",
                           .format = "pprof",
                           .at_ns = INT64_C(1795334476627154535),
                           .duration_ns = 0,
                           .total = 504};
  mw_snapshot_row rows[3] = {
      {.frames = "runtime.gopark\t/usr/local/go/src/runtime/proc.go:462\n"
                 "main.worker\tC:\\src\\shop\\main.go:12\n",
       .count = 500,
       .labels_json = "{\"span_id\":\"00f067aa0ba902b7\",\"attempt\":42}"},
      {.frames = "", .count = 3},
      {.frames = "runtime.gopark\t/usr/local/go/src/runtime/proc.go:462\n", .count = 1, .labels_json = "{\"a\":\"x\"}"},
  };
  mw_buf out;
  mw__buf_init(&out, 1 << 20);
  assert_int_equal(mw__pprof_goroutine_groups(a, &info, &meta, rows, 3, &out), MW_OK);
  assert_true(out.len > 2 && (uint8_t)out.data[0] == 0x1f && (uint8_t)out.data[1] == 0x8b);

  size_t n;
  uint8_t *pb = gunzip(a, out.data, out.len, &n);
  mw_profile p;
  char err[256];
  assert_int_equal(mw__pprof_decode(a, pb, n, NULL, &p, err, sizeof err), MW_OK);
  assert_int_equal(p.n_sample_types, 1);
  assert_string_equal(p.sample_types[0].type, "goroutine");
  assert_string_equal(p.sample_types[0].unit, "count");
  assert_string_equal(p.period_type.type, "goroutine");
  assert_string_equal(p.period_type.unit, "count");
  assert_int_equal(p.period, 1);
  assert_int_equal(p.time_nanos, INT64_C(1795334476627154535));
  assert_int_equal(p.pb->default_sample_type, 0); /* Go's profiles name none */
  assert_int_equal(p.n_samples, 3);

  const mw_pprof_sample *s = &p.samples[0];
  assert_int_equal(s->values[0], 500);
  assert_int_equal(s->stack.n_frames, 2);
  frame_is(&s->stack.frames[0], "runtime.gopark", "/usr/local/go/src/runtime/proc.go", 462);
  frame_is(&s->stack.frames[1], "main.worker", "C:\\src\\shop\\main.go", 12);
  assert_int_equal(s->n_labels, 2);
  assert_string_equal(s->labels[0].key, "span_id");
  assert_string_equal(s->labels[0].str, "00f067aa0ba902b7");
  assert_string_equal(s->labels[1].key, "attempt");
  assert_null(s->labels[1].str);
  assert_int_equal(s->labels[1].num, 42);

  s = &p.samples[1];
  assert_int_equal(s->values[0], 3);
  assert_int_equal(s->stack.n_frames, 0);
  assert_int_equal(s->n_labels, 0);

  s = &p.samples[2];
  assert_int_equal(s->values[0], 1);
  assert_int_equal(s->stack.n_frames, 1);
  frame_is(&s->stack.frames[0], "runtime.gopark", "/usr/local/go/src/runtime/proc.go", 462);
  assert_int_equal(s->n_labels, 1);
  assert_string_equal(s->labels[0].key, "a");
  assert_string_equal(s->labels[0].str, "x");
  /* the frame both samples share is one location, one function */
  assert_int_equal(p.pb->n_location, 2);
  assert_int_equal(p.pb->n_function, 2);
  assert_int_equal(p.pb->n_mapping, 0);

  mw__buf_free(&out);
  mw__arena_free(a);
}

/* A meta without sample types (not written by ingest for a profile) still
 * gives a profile pprof reads: goroutine/count, period 1. No groups: no samples. */
static void test_no_meta_no_groups(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  mw_snapshot_meta meta;
  mw__snapshot_meta_init(&meta);
  mw_snapshot_info info = {.kind = "goroutine", .format = "pprof", .at_ns = 5};
  mw_buf out;
  mw__buf_init(&out, 1 << 20);
  assert_int_equal(mw__pprof_goroutine_groups(a, &info, &meta, NULL, 0, &out), MW_OK);
  size_t n;
  uint8_t *pb = gunzip(a, out.data, out.len, &n);
  mw_profile p;
  char err[256];
  assert_int_equal(mw__pprof_decode(a, pb, n, NULL, &p, err, sizeof err), MW_OK);
  assert_int_equal(p.n_sample_types, 1);
  assert_string_equal(p.sample_types[0].type, "goroutine");
  assert_string_equal(p.sample_types[0].unit, "count");
  assert_int_equal(p.period, 1);
  assert_int_equal(p.time_nanos, 5);
  assert_int_equal(p.n_samples, 0);
  mw__buf_free(&out);
  mw__arena_free(a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_goroutine_groups),
      cmocka_unit_test(test_no_meta_no_groups),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

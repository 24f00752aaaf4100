/* Tests for the pprof decoder (decode/pprof.c): the real Go 1.19 profiles in
 * tests/data/go1.19-checkout (gunzipped here with zlib; the decoder takes raw
 * protobuf), hand-built profiles for what the fixtures lack (unpacked fields,
 * sparse ids, lines-less locations, metadata), bad input, limits, and a timing
 * of a large synthetic CPU profile.
 *
 * Expected values were read from the files with tools that share no code with
 * the decoder; each is annotated with the command. In those commands F stands
 * for tests/data/go1.19-checkout/<file>, and
 *   PROTOC = zcat F | protoc --decode=perftools.profiles.Profile \
 *              -I schema schema/perftools/profiles.proto
 *   SUMS   = PROTOC | awk '/^sample \{/{n++;k=0} /^  value:/{s[k++]+=$2}
 *              END{print n; for(i in s) printf "%.0f ", s[i]}'
 * Sample indices are positions in the file (the order PROTOC prints them).
 * `go tool pprof -raw` prints the same samples in the same order, except that
 * it drops samples whose values are all zero or whose stack is empty (heap has
 * two, one goroutine profile one), so counts and sums come from PROTOC. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "core/arena.h"
#include "core/error.h"
#include "decode/pprof.h"

#define FIXDIR MW_TEST_DATA "/go1.19-checkout/"
#define CPU "cpu-1795334476463713030.pb.gz"
#define HEAP "heap-1795334482813101392.pb.gz"
#define ALLOCS "allocs-1795334482828448349.pb.gz"
#define MUTEX "mutex-1795334482841700684.pb.gz"
#define BLOCK "block-1795334482852427407.pb.gz"
#define GOR1 "goroutines-1795334476627154535.pb.gz"
#define GOR4 "goroutines-1795334479711323629.pb.gz"
#define MAIN_GO "example.com/shop/checkout/main.go"

/* ---- helpers ------------------------------------------------------------ */

static uint8_t *gunzip_file(const char *name, size_t *len) {
  char path[512];
  snprintf(path, sizeof path, "%s%s", FIXDIR, name);
  gzFile gz = gzopen(path, "rb");
  assert_non_null(gz);
  size_t cap = 1 << 16, n = 0;
  uint8_t *buf = malloc(cap);
  assert_non_null(buf);
  for (;;) {
    if (cap - n < 4096) {
      cap *= 2;
      buf = realloc(buf, cap);
      assert_non_null(buf);
    }
    int r = gzread(gz, buf + n, (unsigned)(cap - n));
    assert_true(r >= 0);
    if (r == 0) break;
    n += (size_t)r;
  }
  gzclose(gz);
  *len = n;
  return buf;
}

typedef struct fixture {
  mw_arena *a;
  uint8_t *raw;
  size_t len;
  mw_profile p;
} fixture;

static void fx_load(fixture *f, const char *name, const mw_pprof_opts *opts) {
  char err[256];
  f->raw = gunzip_file(name, &f->len);
  f->a = mw__arena_new(0);
  assert_non_null(f->a);
  int rc = mw__pprof_decode(f->a, f->raw, f->len, opts, &f->p, err, sizeof err);
  if (rc) fail_msg("%s: %d %s", name, rc, err);
}

static void fx_free(fixture *f) {
  mw__arena_free(f->a);
  free(f->raw);
}

typedef struct want_frame {
  const char *func, *file;
  int64_t line;
} want_frame;

static void assert_frames(const mw_stack *st, const want_frame *w, size_t n) {
  assert_int_equal(st->n_frames, n);
  for (size_t i = 0; i < n; i++) {
    assert_string_equal(st->frames[i].func, w[i].func);
    assert_string_equal(st->frames[i].file, w[i].file);
    assert_int_equal(st->frames[i].line, w[i].line);
  }
}

/* The string value of label key on s, or NULL. */
static const char *label_str(const mw_pprof_sample *s, const char *key) {
  for (size_t i = 0; i < s->n_labels; i++)
    if (!strcmp(s->labels[i].key, key)) return s->labels[i].str;
  return NULL;
}

static int64_t column_sum(const mw_profile *p, size_t col) {
  int64_t sum = 0;
  for (size_t i = 0; i < p->n_samples; i++) sum += p->samples[i].values[col];
  return sum;
}

static void assert_vt(const mw_pprof_value_type *vt, const char *type, const char *unit) {
  assert_string_equal(vt->type, type);
  assert_string_equal(vt->unit, unit);
}

static int decode_buf(const uint8_t *buf, size_t len, const mw_pprof_opts *opts, char *err, size_t errsz) {
  mw_arena *a = mw__arena_new(0);
  mw_profile p;
  int rc = mw__pprof_decode(a, buf, len, opts, &p, err, errsz);
  mw__arena_free(a);
  return rc;
}

static uint8_t *pack(const ProtobufCMessage *m, size_t *len) {
  *len = protobuf_c_message_get_packed_size(m);
  uint8_t *buf = malloc(*len ? *len : 1);
  assert_non_null(buf);
  assert_int_equal(protobuf_c_message_pack(m, buf), *len);
  return buf;
}

/* ---- the real profiles ---------------------------------------------------- */

static void test_cpu_header(void **state) {
  fixture f;
  fx_load(&f, CPU, NULL);
  const mw_profile *p = &f.p;
  /* go tool pprof -raw F: "samples/count cpu/nanoseconds", "PeriodType: cpu
   * nanoseconds", "Period: 10000000" */
  assert_int_equal(p->n_sample_types, 2);
  assert_vt(&p->sample_types[0], "samples", "count");
  assert_vt(&p->sample_types[1], "cpu", "nanoseconds");
  assert_vt(&p->period_type, "cpu", "nanoseconds");
  assert_int_equal(p->period, 10000000);
  /* PROTOC | grep nanos: time_nanos: 1795334476623832813, duration_nanos: 6046561524 */
  assert_int_equal(p->time_nanos, INT64_C(1795334476623832813));
  assert_int_equal(p->duration_nanos, INT64_C(6046561524));
  /* PROTOC | grep default_sample_type: nothing, so the last type (cpu) */
  assert_string_equal(p->default_sample_type, "cpu");
  assert_int_equal(p->default_sample_index, 1);
  assert_int_equal(mw__pprof_sample_type_index(p, NULL), 1);
  assert_int_equal(mw__pprof_sample_type_index(p, "samples"), 0);
  assert_int_equal(mw__pprof_sample_type_index(p, "cpu"), 1);
  assert_int_equal(mw__pprof_sample_type_index(p, "alloc_space"), -1);
  assert_int_equal(p->n_comments, 0);
  assert_string_equal(p->doc_url, "");
  assert_string_equal(p->drop_frames, "");
  assert_string_equal(p->keep_frames, "");
  /* SUMS: 118 samples, 214 and 2140000000 (go tool pprof -raw F | awk: same;
   * go tool pprof -traces F: "Total samples = 2.14s") */
  assert_int_equal(p->n_samples, 118);
  assert_int_equal(column_sum(p, 0), 214);
  assert_int_equal(column_sum(p, 1), INT64_C(2140000000));
  /* go tool pprof -raw F | sed -n '/^Mappings/,$p': "1: 0x400000/0x6b9000/0x0
   * /opt/shop/checkout  [FN]" */
  assert_true(p->pb->n_mapping >= 1);
  assert_int_equal(p->pb->mapping[0]->memory_start, 0x400000);
  assert_true(p->pb->mapping[0]->has_functions);
  fx_free(&f);
}

static void test_cpu_sample_stacks_and_labels(void **state) {
  fixture f;
  fx_load(&f, CPU, NULL);
  const mw_profile *p = &f.p;
  /* Sample 0. PROTOC: location_id 1 2 3 4 5 6 4 7, value 4 40000000;
   * go tool pprof -traces -lines F, first trace: */
  static const want_frame s0[] = {
      {"main.spin", MAIN_GO, 60},
      {"main.handle.func1.2", MAIN_GO, 81},
      {"main.child.func1", MAIN_GO, 69},
      {"runtime/pprof.Do", "runtime/pprof/runtime.go", 40},
      {"main.child", MAIN_GO, 69},
      {"main.handle.func1", MAIN_GO, 81},
      {"runtime/pprof.Do", "runtime/pprof/runtime.go", 40},
      {"main.handle", MAIN_GO, 77},
  };
  const mw_pprof_sample *s = &p->samples[0];
  assert_frames(&s->stack, s0, 8);
  assert_false(s->stack.truncated);
  assert_int_equal(s->values[0], 4);
  assert_int_equal(s->values[1], 40000000);
  /* go tool pprof -raw F, first sample: span_id:[c839a1cccd8f95af]
   * span_name:[price.compute] trace_id:[5490912e167791b3960c747fa391b169] */
  assert_int_equal(s->n_labels, 3);
  assert_string_equal(label_str(s, "span_id"), "c839a1cccd8f95af");
  assert_string_equal(label_str(s, "span_name"), "price.compute");
  assert_string_equal(label_str(s, "trace_id"), "5490912e167791b3960c747fa391b169");
  for (size_t i = 0; i < s->n_labels; i++) assert_null(s->labels[i].num_unit);
  int which = -2;
  assert_string_equal(mw__pprof_span_label(s->labels, s->n_labels, &which), "c839a1cccd8f95af");
  assert_string_equal(s->labels[which].key, "span_id");
  assert_string_equal(mw__pprof_trace_label(s->labels, s->n_labels, &which), "5490912e167791b3960c747fa391b169");
  assert_string_equal(s->labels[which].key, "trace_id");
  /* Frames share the string table: the same function is the same pointer. */
  assert_ptr_equal(s->stack.frames[3].func, s->stack.frames[6].func);
  assert_ptr_equal(s->stack.frames[0].file, s->stack.frames[1].file);
  /* Samples with the same locations share frames (PROTOC: samples 0 and 3 are
   * both 1 2 3 4 5 6 4 7, sample 2 is 10 2 3 4 5 6 4 7). */
  assert_ptr_equal(p->samples[3].stack.frames, s->stack.frames);
  assert_ptr_not_equal(p->samples[2].stack.frames, s->stack.frames);
  assert_int_equal(p->samples[2].stack.frames[0].line, 59);

  /* Sample 92. PROTOC: location_id 72..82 63 4 7 (14 locations); location 80
   * has two lines. go tool pprof -traces -lines F (the trace with GetRandom): */
  static const want_frame s92[] = {
      {"runtime/internal/syscall.Syscall6", "runtime/internal/syscall/asm_linux_amd64.s", 36},
      {"syscall.RawSyscall6", "runtime/internal/syscall/syscall_linux.go", 38},
      {"syscall.Syscall", "syscall/syscall_linux.go", 81},
      {"internal/syscall/unix.GetRandom", "internal/syscall/unix/getrandom.go", 28},
      {"crypto/rand.getRandom", "crypto/rand/rand_getrandom.go", 40},
      {"crypto/rand.batched.func1", "crypto/rand/rand.go", 37},
      {"crypto/rand.(*reader).Read", "crypto/rand/rand_unix.go", 56},
      {"io.ReadAtLeast", "io/io.go", 332},
      {"io.ReadFull", "io/io.go", 351}, /* (inline) */
      {"crypto/rand.Read", "crypto/rand/rand.go", 25},
      {"main.id", MAIN_GO, 52},
      {"main.child", MAIN_GO, 67},
      {"main.handle.func1", MAIN_GO, 92},
      {"runtime/pprof.Do", "runtime/pprof/runtime.go", 40},
      {"main.handle", MAIN_GO, 77},
  };
  s = &p->samples[92];
  assert_frames(&s->stack, s92, 15);
  /* go tool pprof -raw F: "1 10000000: 72 ... 7" then span_id:[ea4794222882e03e]
   * span_name:[GET /checkout] trace_id:[44b9dc44f5628e2bbe54714f1ee61132] */
  assert_int_equal(s->values[0], 1);
  assert_string_equal(label_str(s, "span_id"), "ea4794222882e03e");
  assert_string_equal(label_str(s, "span_name"), "GET /checkout");
  assert_string_equal(label_str(s, "trace_id"), "44b9dc44f5628e2bbe54714f1ee61132");
  fx_free(&f);
}

static void test_cpu_inlined_frames(void **state) {
  fixture f;
  fx_load(&f, CPU, NULL);
  /* Sample 39. PROTOC: location_id 39 40 22 23 24, no labels; location 40 has
   * three lines (go tool pprof -raw F: "40: 0x440512 M=1 runtime.unlockWithRank
   * ... runtime.unlock ... runtime.findRunnable"). go tool pprof -traces -lines F: */
  static const want_frame w[] = {
      {"runtime.unlock2", "runtime/lock_futex.go", 129},
      {"runtime.unlockWithRank", "runtime/lockrank_off.go", 32}, /* (inline) */
      {"runtime.unlock", "runtime/lock_futex.go", 112},          /* (inline) */
      {"runtime.findRunnable", "runtime/proc.go", 2848},
      {"runtime.schedule", "runtime/proc.go", 3214},
      {"runtime.park_m", "runtime/proc.go", 3363},
      {"runtime.mcall", "runtime/asm_amd64.s", 448},
  };
  const mw_pprof_sample *s = &f.p.samples[39];
  assert_frames(&s->stack, w, 7);
  assert_int_equal(s->n_labels, 0);
  assert_null(mw__pprof_span_label(s->labels, s->n_labels, NULL));
  fx_free(&f);
}

static void test_cpu_labels_all_samples(void **state) {
  fixture f;
  fx_load(&f, CPU, NULL);
  const mw_profile *p = &f.p;
  /* go tool pprof -tags -sample_index=samples F:
   *   span_name: Total 206.0 = price.compute 195, render 6, inventory.reserve 4,
   *   GET /checkout 1; span_id: 69 distinct values, 7df26f514ee15742 has 6.0 */
  int64_t labelled = 0, price = 0, render = 0, inventory = 0, get = 0, one_span = 0;
  const char *seen[256];
  size_t n_seen = 0;
  for (size_t i = 0; i < p->n_samples; i++) {
    const mw_pprof_sample *s = &p->samples[i];
    const char *name = label_str(s, "span_name");
    const char *span = mw__pprof_span_label(s->labels, s->n_labels, NULL);
    if (!name) continue;
    assert_non_null(span);
    assert_int_equal(strlen(span), 16);
    assert_int_equal(strlen(mw__pprof_trace_label(s->labels, s->n_labels, NULL)), 32);
    int64_t v = s->values[0];
    labelled += v;
    if (!strcmp(name, "price.compute")) price += v;
    if (!strcmp(name, "render")) render += v;
    if (!strcmp(name, "inventory.reserve")) inventory += v;
    if (!strcmp(name, "GET /checkout")) get += v;
    if (!strcmp(span, "7df26f514ee15742")) one_span += v;
    size_t k = 0;
    while (k < n_seen && strcmp(seen[k], span)) k++;
    if (k == n_seen) {
      assert_true(n_seen < 256);
      seen[n_seen++] = span;
    }
  }
  assert_int_equal(labelled, 206);
  assert_int_equal(price, 195);
  assert_int_equal(render, 6);
  assert_int_equal(inventory, 4);
  assert_int_equal(get, 1);
  assert_int_equal(one_span, 6);
  assert_int_equal(n_seen, 69);
  fx_free(&f);
}

static void test_goroutine_profile(void **state) {
  fixture f;
  fx_load(&f, GOR1, NULL);
  const mw_profile *p = &f.p;
  /* go tool pprof -raw F: "PeriodType: goroutine count", "Period: 1",
   * "goroutine/count"; PROTOC: time_nanos: 1795334476634041764, no duration */
  assert_int_equal(p->n_sample_types, 1);
  assert_vt(&p->sample_types[0], "goroutine", "count");
  assert_vt(&p->period_type, "goroutine", "count");
  assert_int_equal(p->period, 1);
  assert_int_equal(p->time_nanos, INT64_C(1795334476634041764));
  assert_int_equal(p->duration_nanos, 0);
  assert_string_equal(p->default_sample_type, "goroutine");
  /* SUMS: 10 samples, 11 goroutines */
  assert_int_equal(p->n_samples, 10);
  assert_int_equal(column_sum(p, 0), 11);

  /* Sample 0. PROTOC: location_id 1..8, value 2 (one value: written unpacked);
   * location 5 has two lines. go tool pprof -traces -lines F, first trace: */
  static const want_frame s0[] = {
      {"runtime.gopark", "runtime/proc.go", 363},
      {"runtime.netpollblock", "runtime/netpoll.go", 526},
      {"internal/poll.runtime_pollWait", "runtime/netpoll.go", 305},
      {"internal/poll.(*pollDesc).wait", "internal/poll/fd_poll_runtime.go", 84},
      {"internal/poll.(*pollDesc).waitRead", "internal/poll/fd_poll_runtime.go", 89}, /* (inline) */
      {"internal/poll.(*FD).Read", "internal/poll/fd_unix.go", 167},
      {"net.(*netFD).Read", "net/fd_posix.go", 55},
      {"net.(*conn).Read", "net/net.go", 183},
      {"net/http.(*connReader).backgroundRead", "net/http/server.go", 678},
  };
  assert_frames(&p->samples[0].stack, s0, 9);
  assert_int_equal(p->samples[0].values[0], 2);
  assert_int_equal(p->samples[0].n_labels, 0);

  /* Sample 2. go tool pprof -traces -lines F, third trace, and -raw F:
   * span_id:[ace06de62117a5c0] span_name:[queue.wait]
   * trace_id:[e99ef6f33ab92d5b53a21e490ee77f5b] */
  static const want_frame s2[] = {
      {"runtime.gopark", "runtime/proc.go", 363},
      {"runtime.chanrecv", "runtime/chan.go", 583},
      {"runtime.chanrecv1", "runtime/chan.go", 442},
      {"main.handle.func1.5", MAIN_GO, 94},
      {"main.child.func1", MAIN_GO, 69},
      {"runtime/pprof.Do", "runtime/pprof/runtime.go", 40},
      {"main.child", MAIN_GO, 69},
      {"main.handle.func1", MAIN_GO, 94},
      {"runtime/pprof.Do", "runtime/pprof/runtime.go", 40},
      {"main.handle", MAIN_GO, 77},
  };
  const mw_pprof_sample *s = &p->samples[2];
  assert_frames(&s->stack, s2, 10);
  assert_string_equal(mw__pprof_span_label(s->labels, s->n_labels, NULL), "ace06de62117a5c0");
  assert_string_equal(mw__pprof_trace_label(s->labels, s->n_labels, NULL), "e99ef6f33ab92d5b53a21e490ee77f5b");
  assert_string_equal(label_str(s, "span_name"), "queue.wait");
  for (size_t i = 0; i < p->n_samples; i++)
    if (i != 2) assert_int_equal(p->samples[i].n_labels, 0);
  fx_free(&f);
}

static void test_goroutine_empty_stack(void **state) {
  fixture f;
  fx_load(&f, GOR4, NULL);
  const mw_profile *p = &f.p;
  /* SUMS: 12 samples, 12 goroutines. PROTOC: sample 10 has no location_id at
   * all (go tool pprof -raw F drops it: 11 samples, total 11). */
  assert_int_equal(p->n_samples, 12);
  assert_int_equal(column_sum(p, 0), 12);
  assert_int_equal(p->samples[10].stack.n_frames, 0);
  /* Sample 11, go tool pprof -raw F (last sample): span_id:[21308821d8738ada]
   * span_name:[price.compute] trace_id:[18520450c301abb1bfbfe658f6bd8028] */
  const mw_pprof_sample *s = &p->samples[11];
  assert_string_equal(mw__pprof_span_label(s->labels, s->n_labels, NULL), "21308821d8738ada");
  assert_string_equal(mw__pprof_trace_label(s->labels, s->n_labels, NULL), "18520450c301abb1bfbfe658f6bd8028");
  assert_string_equal(label_str(s, "span_name"), "price.compute");
  fx_free(&f);
}

static void test_all_goroutine_profiles(void **state) {
  /* SUMS on each file: (samples, goroutines) */
  static const struct {
    const char *name;
    size_t n;
    int64_t sum;
  } want[] = {
      {"goroutines-1795334476627154535.pb.gz", 10, 11}, {"goroutines-1795334477649478339.pb.gz", 11, 11},
      {"goroutines-1795334478682450666.pb.gz", 10, 11}, {"goroutines-1795334479711323629.pb.gz", 12, 12},
      {"goroutines-1795334480735876085.pb.gz", 11, 11}, {"goroutines-1795334481761474001.pb.gz", 10, 11},
  };
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
    fixture f;
    fx_load(&f, want[i].name, NULL);
    assert_int_equal(f.p.n_samples, want[i].n);
    assert_int_equal(column_sum(&f.p, 0), want[i].sum);
    fx_free(&f);
  }
}

static const want_frame kv_flush[] = {
    {"main.kv", MAIN_GO, 103}, /* (inline) */
    {"main.flush", MAIN_GO, 124},
    {"main.main.func4", MAIN_GO, 186},
};

static void test_heap(void **state) {
  fixture f;
  fx_load(&f, HEAP, NULL);
  const mw_profile *p = &f.p;
  /* go tool pprof -raw F: "alloc_objects/count alloc_space/bytes
   * inuse_objects/count inuse_space/bytes", "PeriodType: space bytes",
   * "Period: 524288"; PROTOC: time_nanos: 1795334482823071453, no duration,
   * no default_sample_type (so inuse_space, the last) */
  assert_int_equal(p->n_sample_types, 4);
  assert_vt(&p->sample_types[0], "alloc_objects", "count");
  assert_vt(&p->sample_types[1], "alloc_space", "bytes");
  assert_vt(&p->sample_types[2], "inuse_objects", "count");
  assert_vt(&p->sample_types[3], "inuse_space", "bytes");
  assert_vt(&p->period_type, "space", "bytes");
  assert_int_equal(p->period, 524288);
  assert_int_equal(p->time_nanos, INT64_C(1795334482823071453));
  assert_int_equal(p->duration_nanos, 0);
  assert_string_equal(p->default_sample_type, "inuse_space");
  assert_int_equal(mw__pprof_sample_type_index(p, NULL), 3);
  /* SUMS: 17 samples; 34198 854614219 7334 42418699 (go tool pprof -raw F |
   * awk gives the same sums over its 15 non-zero samples) */
  assert_int_equal(p->n_samples, 17);
  assert_int_equal(column_sum(p, 0), 34198);
  assert_int_equal(column_sum(p, 1), 854614219);
  assert_int_equal(column_sum(p, 2), 7334);
  assert_int_equal(column_sum(p, 3), 42418699);
  /* PROTOC: samples 0 and 1 are all zeros, without labels */
  for (int c = 0; c < 4; c++) assert_int_equal(p->samples[0].values[c], 0);
  assert_int_equal(p->samples[1].n_labels, 0);

  /* Sample 2. PROTOC: location_id 9 10, values 3641 1048864 0 0, label {key: 2
   * ("bytes") num: 288}; location 9 has two lines. go tool pprof -raw F, first
   * sample: "bytes:[288]"; go tool pprof -traces -lines F (bytes: 288B): */
  const mw_pprof_sample *s = &p->samples[2];
  assert_frames(&s->stack, kv_flush, 3);
  assert_int_equal(s->values[0], 3641);
  assert_int_equal(s->values[1], 1048864);
  assert_int_equal(s->n_labels, 1);
  assert_string_equal(s->labels[0].key, "bytes");
  assert_null(s->labels[0].str);
  assert_int_equal(s->labels[0].num, 288);
  assert_null(s->labels[0].num_unit);
  assert_null(mw__pprof_span_label(s->labels, s->n_labels, NULL));

  /* Sample 14. PROTOC: values 12706 832703564 612 40157171, bytes 65536;
   * go tool pprof -traces -lines -sample_index=alloc_space F (794.13MB): */
  static const want_frame s14[] = {
      {"main.handle.func1.3", MAIN_GO, 85},
      {"main.child.func1", MAIN_GO, 69},
      {"runtime/pprof.Do", "runtime/pprof/runtime.go", 40},
      {"main.child", MAIN_GO, 69},
      {"main.handle.func1", MAIN_GO, 83},
      {"runtime/pprof.Do", "runtime/pprof/runtime.go", 40},
      {"main.handle", MAIN_GO, 77},
  };
  s = &p->samples[14];
  assert_frames(&s->stack, s14, 7);
  assert_int_equal(s->values[0], 12706);
  assert_int_equal(s->values[1], 832703564);
  assert_int_equal(s->values[2], 612);
  assert_int_equal(s->values[3], 40157171);
  assert_int_equal(s->labels[0].num, 65536);
  fx_free(&f);
}

static void test_allocs(void **state) {
  fixture f;
  fx_load(&f, ALLOCS, NULL);
  const mw_profile *p = &f.p;
  /* go tool pprof -raw F: "alloc_space/bytes[dflt]"; PROTOC:
   * default_sample_type: 5 (string_table[5] = "alloc_space"), time_nanos:
   * 1795334482837918691 */
  assert_string_equal(p->default_sample_type, "alloc_space");
  assert_int_equal(p->default_sample_index, 1);
  assert_int_equal(mw__pprof_sample_type_index(p, ""), 1);
  assert_int_equal(mw__pprof_sample_type_index(p, "inuse_space"), 3);
  assert_int_equal(p->time_nanos, INT64_C(1795334482837918691));
  assert_int_equal(p->period, 524288);
  /* SUMS: 18 samples; 34198 854614219 7334 42418699 */
  assert_int_equal(p->n_samples, 18);
  assert_int_equal(column_sum(p, 1), 854614219);
  assert_int_equal(column_sum(p, 3), 42418699);
  /* Sample 3 (PROTOC: values 3641 1048864 0 0, bytes 288) is heap's sample 2 */
  assert_frames(&p->samples[3].stack, kv_flush, 3);
  assert_int_equal(p->samples[3].labels[0].num, 288);
  fx_free(&f);
}

static void test_mutex(void **state) {
  fixture f;
  fx_load(&f, MUTEX, NULL);
  const mw_profile *p = &f.p;
  /* go tool pprof -raw F: "PeriodType: contentions count", "Period: 1",
   * "contentions/count delay/nanoseconds", "20 2030613214: 1",
   * "5 5123468: 2 3 4 5 6 4 7"; PROTOC: time_nanos: 1795334482849328401 */
  assert_int_equal(p->n_sample_types, 2);
  assert_vt(&p->sample_types[0], "contentions", "count");
  assert_vt(&p->sample_types[1], "delay", "nanoseconds");
  assert_vt(&p->period_type, "contentions", "count");
  assert_int_equal(p->period, 1);
  assert_int_equal(p->time_nanos, INT64_C(1795334482849328401));
  assert_string_equal(p->default_sample_type, "delay");
  assert_int_equal(p->n_samples, 2);
  assert_int_equal(p->samples[0].values[0], 20);
  assert_int_equal(p->samples[0].values[1], 2030613214);
  assert_int_equal(p->samples[1].values[0], 5);
  assert_int_equal(p->samples[1].values[1], 5123468);
  /* SUMS: 25 2035736682 */
  assert_int_equal(column_sum(p, 1), 2035736682);
  /* go tool pprof -traces -lines F: one location of two lines (Unlock inlined) */
  static const want_frame s0[] = {
      {"sync.(*Mutex).Unlock", "sync/mutex.go", 223}, /* (inline) */
      {"main.main.func2", MAIN_GO, 165},
  };
  assert_frames(&p->samples[0].stack, s0, 2);
  static const want_frame s1[] = {
      {"sync.(*Mutex).Unlock", "sync/mutex.go", 223}, /* (inline) */
      {"main.handle.func1.4", MAIN_GO, 92},
      {"main.child.func1", MAIN_GO, 69},
      {"runtime/pprof.Do", "runtime/pprof/runtime.go", 40},
      {"main.child", MAIN_GO, 69},
      {"main.handle.func1", MAIN_GO, 92},
      {"runtime/pprof.Do", "runtime/pprof/runtime.go", 40},
      {"main.handle", MAIN_GO, 77},
  };
  assert_frames(&p->samples[1].stack, s1, 8);
  fx_free(&f);
}

static void test_block(void **state) {
  fixture f;
  fx_load(&f, BLOCK, NULL);
  const mw_profile *p = &f.p;
  /* go tool pprof -raw F: "PeriodType: contentions count", "Period: 1",
   * first sample "505 8388257072: 1 2 3"; PROTOC: time_nanos:
   * 1795334482866857917; SUMS: 8 samples, 806 28328790545 */
  assert_vt(&p->sample_types[0], "contentions", "count");
  assert_vt(&p->sample_types[1], "delay", "nanoseconds");
  assert_vt(&p->period_type, "contentions", "count");
  assert_int_equal(p->period, 1);
  assert_int_equal(p->time_nanos, INT64_C(1795334482866857917));
  assert_int_equal(p->n_samples, 8);
  assert_int_equal(column_sum(p, 0), 806);
  assert_int_equal(column_sum(p, 1), INT64_C(28328790545));
  assert_int_equal(p->samples[0].values[0], 505);
  assert_int_equal(p->samples[0].values[1], INT64_C(8388257072));
  /* go tool pprof -traces -lines F, first trace (8.39s) */
  static const want_frame s0[] = {
      {"runtime.chanrecv1", "runtime/chan.go", 442},
      {"main.main", MAIN_GO, 193},
      {"runtime.main", "runtime/proc.go", 250},
  };
  assert_frames(&p->samples[0].stack, s0, 3);
  fx_free(&f);
}

/* ---- limits ---------------------------------------------------------------- */

static void test_limits(void **state) {
  uint8_t *raw;
  size_t len;
  char err[256];
  raw = gunzip_file(CPU, &len);
  /* 118 samples (SUMS) */
  mw_pprof_opts o = MW_PPROF_OPTS_DEFAULT;
  o.max_samples = 117;
  assert_int_equal(decode_buf(raw, len, &o, err, sizeof err), MW_ETOOBIG);
  assert_non_null(strstr(err, "118 samples"));
  o.max_samples = 118;
  assert_int_equal(decode_buf(raw, len, &o, err, sizeof err), 0);

  /* Sample 92 has 15 frames; cutting at 9 falls inside location 80 (io.ReadFull
   * inlined into crypto/rand.Read): the leaf-most 9 frames stay. */
  o = MW_PPROF_OPTS_DEFAULT;
  o.max_frames = 9;
  o.max_labels = 1;
  mw_arena *a = mw__arena_new(0);
  mw_profile p;
  assert_int_equal(mw__pprof_decode(a, raw, len, &o, &p, err, sizeof err), 0);
  const mw_pprof_sample *s = &p.samples[92];
  assert_int_equal(s->stack.n_frames, 9);
  assert_true(s->stack.truncated);
  assert_string_equal(s->stack.frames[0].func, "runtime/internal/syscall.Syscall6");
  assert_string_equal(s->stack.frames[8].func, "io.ReadFull");
  assert_false(p.samples[0].stack.truncated); /* 8 frames */
  assert_int_equal(p.samples[0].stack.n_frames, 8);
  assert_int_equal(s->n_labels, 1);
  assert_true(s->labels_truncated);
  assert_int_equal(p.samples[39].n_labels, 0);
  assert_false(p.samples[39].labels_truncated);
  mw__arena_free(a);

  /* An arena too small for the profile */
  a = mw__arena_new(4096);
  assert_int_equal(mw__pprof_decode(a, raw, len, NULL, &p, err, sizeof err), MW_ENOMEM);
  mw__arena_free(a);
  free(raw);
}

/* ---- hand-built profiles ---------------------------------------------------- */

/* A tiny profile built with protobuf-c: two functions (ids 1, 2), locations
 * 10 (f:5), 20 (g:9 with f:7 inlined into it), 30 (no lines, address
 * 0x4a3f2c), a mapping 7; one sample [10 20 30] = {3} labelled span_id=abc. */
enum { S_EMPTY, S_SAMPLES, S_COUNT, S_F, S_FFILE, S_G, S_GFILE, S_SPAN, S_ABC, S_BIN, S_N };

typedef struct tiny {
  Perftools__Profiles__Profile p;
  Perftools__Profiles__ValueType st, *stp[1];
  Perftools__Profiles__Sample s, *sp[1];
  uint64_t locids[3];
  int64_t vals[2];
  Perftools__Profiles__Label l, l2, *lp[2];
  Perftools__Profiles__Location loc[3], *locp[3];
  Perftools__Profiles__Line ln[3], *ln10[1], *ln20[2];
  Perftools__Profiles__Function fn[2], *fnp[2];
  Perftools__Profiles__Mapping map, *mapp[1];
  char *strs[S_N];
} tiny;

static void tiny_init(tiny *t) {
  static const char *const strs[S_N] = {"",       "samples", "count",   "main.f", "f.go",
                                        "main.g", "g.go",    "span_id", "abc",    "/bin/x"};
  memset(t, 0, sizeof *t);
  perftools__profiles__profile__init(&t->p);
  for (int i = 0; i < S_N; i++) t->strs[i] = (char *)strs[i];
  t->p.string_table = t->strs;
  t->p.n_string_table = S_N;

  perftools__profiles__value_type__init(&t->st);
  t->st.type = S_SAMPLES;
  t->st.unit = S_COUNT;
  t->stp[0] = &t->st;
  t->p.sample_type = t->stp;
  t->p.n_sample_type = 1;

  for (int i = 0; i < 2; i++) {
    perftools__profiles__function__init(&t->fn[i]);
    t->fn[i].id = (uint64_t)i + 1;
    t->fn[i].name = i ? S_G : S_F;
    t->fn[i].system_name = t->fn[i].name;
    t->fn[i].filename = i ? S_GFILE : S_FFILE;
    t->fnp[i] = &t->fn[i];
  }
  t->p.function = t->fnp;
  t->p.n_function = 2;

  perftools__profiles__mapping__init(&t->map);
  t->map.id = 7;
  t->map.filename = S_BIN;
  t->mapp[0] = &t->map;
  t->p.mapping = t->mapp;
  t->p.n_mapping = 1;

  static const struct {
    uint64_t fn;
    int64_t line;
  } lines[3] = {{1, 5}, {1, 7}, {2, 9}};
  for (int i = 0; i < 3; i++) {
    perftools__profiles__line__init(&t->ln[i]);
    t->ln[i].function_id = lines[i].fn;
    t->ln[i].line = lines[i].line;
  }
  t->ln10[0] = &t->ln[0];
  t->ln20[0] = &t->ln[1]; /* inlined into ... */
  t->ln20[1] = &t->ln[2]; /* ... the real function at the address */
  for (int i = 0; i < 3; i++) {
    perftools__profiles__location__init(&t->loc[i]);
    t->loc[i].id = (uint64_t)(i + 1) * 10;
    t->loc[i].mapping_id = 7;
    t->locp[i] = &t->loc[i];
  }
  t->loc[0].line = t->ln10;
  t->loc[0].n_line = 1;
  t->loc[1].line = t->ln20;
  t->loc[1].n_line = 2;
  t->loc[2].address = 0x4a3f2c;
  t->p.location = t->locp;
  t->p.n_location = 3;

  perftools__profiles__label__init(&t->l);
  t->l.key = S_SPAN;
  t->l.str = S_ABC;
  t->lp[0] = &t->l;
  perftools__profiles__sample__init(&t->s);
  t->locids[0] = 10;
  t->locids[1] = 20;
  t->locids[2] = 30;
  t->s.location_id = t->locids;
  t->s.n_location_id = 3;
  t->vals[0] = 3;
  t->s.value = t->vals;
  t->s.n_value = 1;
  t->s.label = t->lp;
  t->s.n_label = 1;
  t->sp[0] = &t->s;
  t->p.sample = t->sp;
  t->p.n_sample = 1;
}

/* Packs t and decodes it; returns the decoder's result. */
static int tiny_decode(tiny *t, mw_arena *a, mw_profile *p, char *err, size_t errsz) {
  size_t len;
  uint8_t *buf = pack(&t->p.base, &len);
  int rc = mw__pprof_decode(a, buf, len, NULL, p, err, errsz);
  free(buf);
  return rc;
}

static const want_frame tiny_frames[] = {
    {"main.f", "f.go", 5},
    {"main.f", "f.go", 7}, /* inlined into main.g: line[0] is the leaf-most */
    {"main.g", "g.go", 9},
    {"0x4a3f2c", "?", 0}, /* a location without lines */
};

static void test_tiny(void **state) {
  tiny t;
  tiny_init(&t);
  static int64_t comments[] = {S_F, S_G};
  t.p.comment = comments;
  t.p.n_comment = 2;
  t.p.doc_url = S_BIN;
  t.p.drop_frames = S_F;
  t.p.keep_frames = S_G;
  t.p.default_sample_type = S_SAMPLES;
  t.p.time_nanos = -1;
  perftools__profiles__label__init(&t.l2); /* a numeric label with a unit */
  t.l2.key = S_COUNT;
  t.l2.num = -42;
  t.l2.num_unit = S_SAMPLES;
  t.lp[1] = &t.l2;
  t.s.n_label = 2;
  mw_arena *a = mw__arena_new(0);
  mw_profile p;
  char err[256];
  assert_int_equal(tiny_decode(&t, a, &p, err, sizeof err), 0);
  assert_int_equal(p.n_samples, 1);
  assert_frames(&p.samples[0].stack, tiny_frames, 4);
  assert_int_equal(p.samples[0].values[0], 3);
  assert_string_equal(mw__pprof_span_label(p.samples[0].labels, 2, NULL), "abc");
  const mw_label *l = p.samples[0].labels;
  assert_int_equal(p.samples[0].n_labels, 2);
  assert_string_equal(l[0].key, "span_id");
  assert_null(l[0].num_unit);
  assert_string_equal(l[1].key, "count");
  assert_null(l[1].str);
  assert_int_equal(l[1].num, -42);
  assert_string_equal(l[1].num_unit, "samples");
  assert_int_equal(p.n_comments, 2);
  assert_string_equal(p.comments[0], "main.f");
  assert_string_equal(p.comments[1], "main.g");
  assert_string_equal(p.doc_url, "/bin/x");
  assert_string_equal(p.drop_frames, "main.f");
  assert_string_equal(p.keep_frames, "main.g");
  assert_string_equal(p.default_sample_type, "samples");
  assert_int_equal(p.default_sample_index, 0);
  assert_int_equal(p.time_nanos, -1);
  assert_string_equal(p.period_type.type, ""); /* absent */
  mw__arena_free(a);

  /* Sparse ids at the extremes go through the hash index. */
  tiny_init(&t);
  t.fn[0].id = UINT64_MAX;
  t.fn[1].id = UINT64_C(1) << 63;
  t.ln[0].function_id = t.ln[1].function_id = UINT64_MAX;
  t.ln[2].function_id = UINT64_C(1) << 63;
  t.loc[0].id = t.locids[0] = 3;
  t.loc[1].id = t.locids[1] = 2;
  t.loc[2].id = t.locids[2] = 1; /* 1..3, but not in order */
  a = mw__arena_new(0);
  assert_int_equal(tiny_decode(&t, a, &p, err, sizeof err), 0);
  assert_frames(&p.samples[0].stack, tiny_frames, 4);
  mw__arena_free(a);

  /* Unnamed functions and files are "?", system_name stands in for a missing
   * name, and a line without a function is named by the location's address. */
  tiny_init(&t);
  t.fn[0].name = 0;
  t.fn[0].system_name = 0;
  t.fn[0].filename = 0;
  t.fn[1].name = 0;
  t.ln[1].function_id = 2;
  t.ln[2].function_id = 0;
  t.loc[1].address = 0x1000;
  t.loc[2].address = 0;
  a = mw__arena_new(0);
  assert_int_equal(tiny_decode(&t, a, &p, err, sizeof err), 0);
  static const want_frame anon[] = {{"?", "?", 5}, {"main.g", "g.go", 7}, {"0x1000", "?", 9}, {"?", "?", 0}};
  assert_frames(&p.samples[0].stack, anon, 4);
  mw__arena_free(a);
}

/* Minimal protobuf writer, to produce encodings protobuf-c's packer never
 * emits: unpacked repeated scalars (as Go writes 1- and 2-element lists), both
 * forms mixed in one field, string_table last. */
typedef struct wbuf {
  uint8_t b[2048];
  size_t n;
} wbuf;

static void w_varint(wbuf *w, uint64_t v) {
  do {
    assert_true(w->n < sizeof w->b);
    w->b[w->n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
    v >>= 7;
  } while (v);
}
static void w_uint(wbuf *w, unsigned field, uint64_t v) {
  w_varint(w, (uint64_t)field << 3);
  w_varint(w, v);
}
static void w_bytes(wbuf *w, unsigned field, const void *p, size_t n) {
  w_varint(w, (uint64_t)field << 3 | 2);
  w_varint(w, n);
  assert_true(w->n + n <= sizeof w->b);
  memcpy(w->b + w->n, p, n);
  w->n += n;
}
static void w_msg(wbuf *w, unsigned field, const wbuf *sub) { w_bytes(w, field, sub->b, sub->n); }
static void w_str(wbuf *w, unsigned field, const char *s) { w_bytes(w, field, s, strlen(s)); }
static void w_packed(wbuf *w, unsigned field, const uint64_t *v, size_t n) {
  wbuf sub = {.n = 0};
  for (size_t i = 0; i < n; i++) w_varint(&sub, v[i]);
  w_msg(w, field, &sub);
}

static void test_unpacked_fields(void **state) {
  wbuf w = {.n = 0}, m;
  /* sample_type {type: 1 unit: 2} x2 */
  m = (wbuf){.n = 0};
  w_uint(&m, 1, 1);
  w_uint(&m, 2, 2);
  w_msg(&w, 1, &m);
  w_msg(&w, 1, &m);
  /* sample 0: location_id 1, 2, 1 unpacked; values 7 and -5 unpacked (a
   * negative int64 is a 10-byte varint) */
  m = (wbuf){.n = 0};
  w_uint(&m, 1, 1);
  w_uint(&m, 1, 2);
  w_uint(&m, 1, 1);
  w_uint(&m, 2, 7);
  w_uint(&m, 2, (uint64_t)-5);
  w_msg(&w, 2, &m);
  /* sample 1: location_id packed [2] then unpacked 1, values packed */
  m = (wbuf){.n = 0};
  w_packed(&m, 1, (const uint64_t[]){2}, 1);
  w_uint(&m, 1, 1);
  w_packed(&m, 2, (const uint64_t[]){1, 2}, 2);
  w_msg(&w, 2, &m);
  /* locations and functions after the samples, as Go streams them */
  for (uint64_t id = 1; id <= 2; id++) {
    wbuf line = {.n = 0}, loc = {.n = 0}, fn = {.n = 0};
    w_uint(&line, 1, id);
    w_uint(&line, 2, 10 * id);
    w_uint(&loc, 1, id);
    w_msg(&loc, 4, &line);
    w_msg(&w, 4, &loc);
    w_uint(&fn, 1, id);
    w_uint(&fn, 2, 2 + id);
    w_uint(&fn, 4, 5);
    w_msg(&w, 5, &fn);
  }
  /* comment unpacked, one entry */
  w_uint(&w, 13, 4);
  /* string_table last */
  static const char *const strs[] = {"", "cpu", "nanoseconds", "leaf", "root", "x.go"};
  for (size_t i = 0; i < 6; i++) w_str(&w, 6, strs[i]);

  mw_arena *a = mw__arena_new(0);
  mw_profile p;
  char err[256];
  assert_int_equal(mw__pprof_decode(a, w.b, w.n, NULL, &p, err, sizeof err), 0);
  assert_int_equal(p.n_samples, 2);
  assert_int_equal(p.n_sample_types, 2);
  assert_int_equal(p.samples[0].values[0], 7);
  assert_int_equal(p.samples[0].values[1], -5);
  static const want_frame s0[] = {{"leaf", "x.go", 10}, {"root", "x.go", 20}, {"leaf", "x.go", 10}};
  assert_frames(&p.samples[0].stack, s0, 3);
  assert_int_equal(p.samples[1].values[0], 1);
  assert_int_equal(p.samples[1].values[1], 2);
  static const want_frame s1[] = {{"root", "x.go", 20}, {"leaf", "x.go", 10}};
  assert_frames(&p.samples[1].stack, s1, 2);
  assert_int_equal(p.n_comments, 1);
  assert_string_equal(p.comments[0], "root");
  mw__arena_free(a);
}

static void test_span_trace_label_keys(void **state) {
  int which;
  const mw_label l1[] = {
      {.key = "profile_id", .str = "p"},
      {.key = "otel.span_id", .str = "o"},
      {.key = "span_id", .str = "s"},
  };
  assert_string_equal(mw__pprof_span_label(l1, 3, &which), "s");
  assert_int_equal(which, 2);
  assert_string_equal(mw__pprof_span_label(l1, 2, &which), "p");
  assert_int_equal(which, 0);
  assert_string_equal(mw__pprof_span_label(l1 + 1, 1, &which), "o");
  const mw_label dd[] = {
      {.key = "local root span id", .str = "root"},
      {.key = "span id", .str = "123"},
  };
  assert_string_equal(mw__pprof_span_label(dd, 2, &which), "123");
  assert_int_equal(which, 1);
  assert_string_equal(mw__pprof_span_label(dd, 1, NULL), "root");
  /* numeric and empty values do not count; the next key is used */
  const mw_label odd[] = {
      {.key = "span_id", .str = NULL, .num = 5},
      {.key = "span_id", .str = ""},
      {.key = "span id", .str = "dd"},
      {.key = "Span_ID", .str = "case"},
  };
  assert_string_equal(mw__pprof_span_label(odd, 4, &which), "dd");
  assert_int_equal(which, 2);
  assert_null(mw__pprof_span_label(odd, 2, &which));
  assert_int_equal(which, -1);
  assert_null(mw__pprof_span_label(NULL, 0, &which));
  assert_int_equal(which, -1);

  const mw_label tr[] = {
      {.key = "otel.trace_id", .str = "c"},
      {.key = "otel.traceid", .str = "b"},
      {.key = "trace_id", .str = "a"},
      {.key = "span_id", .str = "s"},
  };
  assert_string_equal(mw__pprof_trace_label(tr, 4, &which), "a");
  assert_int_equal(which, 2);
  assert_string_equal(mw__pprof_trace_label(tr, 2, &which), "b");
  assert_int_equal(which, 1);
  assert_string_equal(mw__pprof_trace_label(tr, 1, &which), "c");
  assert_null(mw__pprof_trace_label(tr + 3, 1, &which));
  assert_int_equal(which, -1);
}

/* ---- bad input -------------------------------------------------------------- */

static void expect_einval(tiny *t, const char *needle) {
  mw_arena *a = mw__arena_new(0);
  mw_profile p;
  char err[256] = "";
  assert_int_equal(tiny_decode(t, a, &p, err, sizeof err), MW_EINVAL);
  if (!strstr(err, needle)) fail_msg("message \"%s\" lacks \"%s\"", err, needle);
  assert_int_equal(p.n_samples, 0); /* nothing half-resolved */
  mw__arena_free(a);
}

static void test_bad_references(void **state) {
  tiny t;
  tiny_init(&t);
  t.l.str = S_N; /* one past the end */
  expect_einval(&t, "label.str: string index 10 out of range");
  tiny_init(&t);
  t.fn[1].filename = -1;
  expect_einval(&t, "function.filename: string index -1 out of range");
  tiny_init(&t);
  t.st.unit = 1000;
  expect_einval(&t, "sample_type.unit");
  tiny_init(&t);
  t.map.build_id = 99;
  expect_einval(&t, "mapping.build_id");
  tiny_init(&t);
  t.strs[0] = "x";
  expect_einval(&t, "string_table[0] must be the empty string");
  tiny_init(&t);
  t.p.n_string_table = 0;
  expect_einval(&t, "string_table[0]");
  tiny_init(&t);
  t.locids[1] = 99;
  expect_einval(&t, "sample 0: location id 99 not found");
  tiny_init(&t);
  t.ln[2].function_id = 3;
  expect_einval(&t, "location 20: function id 3 not found");
  tiny_init(&t);
  t.loc[2].mapping_id = 8;
  expect_einval(&t, "location 30: mapping id 8 not found");
  tiny_init(&t);
  t.loc[2].id = 10;
  expect_einval(&t, "duplicate location id 10");
  tiny_init(&t);
  t.fn[1].id = 0;
  expect_einval(&t, "function #1 has id 0");
  tiny_init(&t);
  t.s.n_value = 2; /* one sample type */
  expect_einval(&t, "sample 0 has 2 values for 1 sample types");
  tiny_init(&t);
  t.s.n_value = 0;
  expect_einval(&t, "has 0 values");
}

static void test_bad_bytes(void **state) {
  uint8_t *raw;
  size_t len;
  char err[256];
  raw = gunzip_file(CPU, &len);

  /* Every truncation fails: either mid-field, or before string_table (written
   * last), whose final entry a mapping names (PROTOC: filename: 258 of 259). */
  for (size_t cut = 0; cut < len; cut += 1 + cut / 8) {
    err[0] = '\0';
    int rc = decode_buf(raw, cut, NULL, err, sizeof err);
    if (rc != MW_EINVAL) fail_msg("cut at %zu of %zu: rc %d", cut, len, rc);
    assert_true(err[0] != '\0');
  }
  assert_int_equal(decode_buf(raw, len - 1, NULL, err, sizeof err), MW_EINVAL);

  /* Random bytes, and the fixture with a few bytes changed: never a crash,
   * and only ever success or MW_EINVAL. */
  uint64_t x = 0x9E3779B97F4A7C15u;
  uint8_t junk[4096];
  for (int round = 0; round < 50; round++) {
    for (size_t i = 0; i < sizeof junk; i++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      junk[i] = (uint8_t)x;
    }
    err[0] = '\0';
    assert_int_equal(decode_buf(junk, 64 + (size_t)round * 80, NULL, err, sizeof err), MW_EINVAL);
    assert_true(err[0] != '\0');
  }
  uint8_t *mut = malloc(len);
  assert_non_null(mut);
  int bad = 0;
  for (int round = 0; round < 300; round++) {
    memcpy(mut, raw, len);
    for (int k = 0; k < 1 + round % 4; k++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      mut[x % len] = (uint8_t)(x >> 32);
    }
    int rc = decode_buf(mut, len, NULL, err, sizeof err);
    if (rc != 0 && rc != MW_EINVAL) fail_msg("mutation %d: rc %d %s", round, rc, err);
    bad += rc != 0;
  }
  assert_true(bad > 0);
  free(mut);
  assert_int_equal(decode_buf(NULL, 0, NULL, err, sizeof err), MW_EINVAL);
  assert_int_equal(decode_buf(NULL, 0, NULL, NULL, 0), MW_EINVAL); /* no err buffer */
  free(raw);
}

/* ---- the CPU fixture re-encoded ------------------------------------------------ */

/* Renumbers every id of the CPU fixture sparsely (the hash index instead of the
 * 1..N fast path) and checks the stacks come out identical. */
static void test_sparse_ids_match_dense(void **state) {
  fixture f;
  fx_load(&f, CPU, NULL);
  Perftools__Profiles__Profile *pb = perftools__profiles__profile__unpack(NULL, f.len, f.raw);
  assert_non_null(pb);
#define REMAP_LOC(id) ((id)*UINT64_C(7919) + (UINT64_C(1) << 40))
#define REMAP_FN(id) ((id) ^ (UINT64_C(1) << 63))
#define REMAP_MAP(id) ((id) ? (id) + 1000 : 0)
  for (size_t i = 0; i < pb->n_location; i++) {
    Perftools__Profiles__Location *l = pb->location[i];
    l->id = REMAP_LOC(l->id);
    l->mapping_id = REMAP_MAP(l->mapping_id);
    for (size_t j = 0; j < l->n_line; j++) l->line[j]->function_id = REMAP_FN(l->line[j]->function_id);
  }
  for (size_t i = 0; i < pb->n_function; i++) pb->function[i]->id = REMAP_FN(pb->function[i]->id);
  for (size_t i = 0; i < pb->n_mapping; i++) pb->mapping[i]->id = REMAP_MAP(pb->mapping[i]->id);
  for (size_t i = 0; i < pb->n_sample; i++)
    for (size_t k = 0; k < pb->sample[i]->n_location_id; k++)
      pb->sample[i]->location_id[k] = REMAP_LOC(pb->sample[i]->location_id[k]);
  size_t len;
  uint8_t *buf = pack(&pb->base, &len);
  perftools__profiles__profile__free_unpacked(pb, NULL);

  mw_arena *a = mw__arena_new(0);
  mw_profile p;
  char err[256];
  assert_int_equal(mw__pprof_decode(a, buf, len, NULL, &p, err, sizeof err), 0);
  assert_int_equal(p.n_samples, f.p.n_samples);
  for (size_t i = 0; i < p.n_samples; i++) {
    const mw_stack *x = &p.samples[i].stack, *y = &f.p.samples[i].stack;
    assert_int_equal(x->n_frames, y->n_frames);
    for (size_t k = 0; k < x->n_frames; k++) {
      assert_string_equal(x->frames[k].func, y->frames[k].func);
      assert_string_equal(x->frames[k].file, y->frames[k].file);
      assert_int_equal(x->frames[k].line, y->frames[k].line);
    }
  }
  mw__arena_free(a);
  free(buf);
  fx_free(&f);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A large CPU profile made from the fixture, shaped like a real one: Go writes
 * one sample per distinct (stack, labels) pair, so a busy service with span
 * labels has many samples, a few per span, over a limited set of stacks. Here
 * 50,000 samples reuse the fixture's 118 stacks and values, and every 3 share
 * a span with fresh span_id / trace_id strings (33,334 new strings). The
 * decode is timed and the time printed, not asserted: a bound would be wrong
 * under sanitizers or on a loaded machine. */
#ifndef MW_PPROF_BENCH_SAMPLES /* -D to time another size by hand */
#define MW_PPROF_BENCH_SAMPLES 50000
#endif
static void test_large_cpu_profile_speed(void **state) {
  enum { N = MW_PPROF_BENCH_SAMPLES, PER_SPAN = 3, SPANS = (N + PER_SPAN - 1) / PER_SPAN };
  fixture f;
  fx_load(&f, CPU, NULL);
  Perftools__Profiles__Profile *pb = perftools__profiles__profile__unpack(NULL, f.len, f.raw);
  assert_non_null(pb);
  size_t n_orig = pb->n_sample, n_strs = pb->n_string_table;
  Perftools__Profiles__Sample **orig = pb->sample;
  char **orig_strs = pb->string_table;
  /* string_table: the original, then per span a span id and a trace id */
  char **strs = malloc((n_strs + 2 * SPANS) * sizeof *strs);
  char(*ids)[2][33] = malloc(SPANS * sizeof *ids);
  Perftools__Profiles__Sample *samples = malloc(N * sizeof *samples), **sp = malloc(N * sizeof *sp);
  Perftools__Profiles__Label *labels = malloc(N * 3 * sizeof *labels), **lp = malloc(N * 3 * sizeof *lp);
  assert_true(strs && ids && samples && sp && labels && lp);
  memcpy(strs, orig_strs, n_strs * sizeof *strs);
  int64_t k_span = -1, k_trace = -1, k_span_name = -1, k_name = -1;
  for (size_t i = 0; i < n_strs; i++) {
    if (!strcmp(strs[i], "span_id")) k_span = (int64_t)i;
    if (!strcmp(strs[i], "trace_id")) k_trace = (int64_t)i;
    if (!strcmp(strs[i], "span_name")) k_span_name = (int64_t)i;
    if (!strcmp(strs[i], "price.compute")) k_name = (int64_t)i;
  }
  assert_true(k_span > 0 && k_trace > 0 && k_name > 0 && k_span_name > 0);
  for (size_t sp_i = 0; sp_i < SPANS; sp_i++) {
    snprintf(ids[sp_i][0], 33, "%016zx", sp_i * 2654435761u);
    snprintf(ids[sp_i][1], 33, "%016zx%016zx", sp_i, sp_i * 40503u);
    strs[n_strs + 2 * sp_i] = ids[sp_i][0];
    strs[n_strs + 2 * sp_i + 1] = ids[sp_i][1];
  }
  int64_t want = 0;
  for (size_t i = 0; i < N; i++) {
    const Perftools__Profiles__Sample *o = orig[i % n_orig];
    size_t span = i / PER_SPAN;
    samples[i] = *o;
    const int64_t kv[3][2] = {
        {k_span, (int64_t)(n_strs + 2 * span)}, {k_trace, (int64_t)(n_strs + 2 * span + 1)}, {k_span_name, k_name}};
    for (int k = 0; k < 3; k++) {
      perftools__profiles__label__init(&labels[3 * i + k]);
      labels[3 * i + k].key = kv[k][0];
      labels[3 * i + k].str = kv[k][1];
      lp[3 * i + k] = &labels[3 * i + k];
    }
    samples[i].label = &lp[3 * i];
    samples[i].n_label = 3;
    sp[i] = &samples[i];
    want += o->value[1];
  }
  pb->sample = sp;
  pb->n_sample = N;
  pb->string_table = strs;
  pb->n_string_table = n_strs + 2 * SPANS;
  size_t len;
  uint8_t *buf = pack(&pb->base, &len);
  pb->sample = orig;
  pb->n_sample = n_orig;
  pb->string_table = orig_strs;
  pb->n_string_table = n_strs;
  perftools__profiles__profile__free_unpacked(pb, NULL);
  free(strs), free(ids), free(samples), free(sp), free(labels), free(lp);

  double best = 1e9;
  size_t frames = 0, used = 0;
  for (int round = 0; round < 5; round++) {
    mw_arena *a = mw__arena_new(0);
    mw_profile p;
    char err[256];
    double t0 = now_ms();
    int rc = mw__pprof_decode(a, buf, len, NULL, &p, err, sizeof err);
    double dt = now_ms() - t0;
    assert_int_equal(rc, 0);
    if (dt < best) best = dt;
    assert_int_equal(p.n_samples, N);
    assert_int_equal(column_sum(&p, 1), want);
    const mw_pprof_sample *s = &p.samples[N - 1];
    char last_span[33];
    snprintf(last_span, sizeof last_span, "%016zx", (size_t)(N - 1) / PER_SPAN * 2654435761u);
    assert_string_equal(mw__pprof_span_label(s->labels, s->n_labels, NULL), last_span);
    assert_string_equal(label_str(s, "span_name"), "price.compute");
    frames = 0;
    for (size_t i = 0; i < p.n_samples; i++) frames += p.samples[i].stack.n_frames;
    used = mw__arena_used(a);
    mw__arena_free(a);
  }
  print_message("pprof: %d samples, %zu frames, %zu KiB protobuf: best of 5 decodes %.2f ms, "
                "arena %zu KiB\n",
                N, frames, len / 1024, best, used / 1024);
  free(buf);
  fx_free(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cpu_header),
      cmocka_unit_test(test_cpu_sample_stacks_and_labels),
      cmocka_unit_test(test_cpu_inlined_frames),
      cmocka_unit_test(test_cpu_labels_all_samples),
      cmocka_unit_test(test_goroutine_profile),
      cmocka_unit_test(test_goroutine_empty_stack),
      cmocka_unit_test(test_all_goroutine_profiles),
      cmocka_unit_test(test_heap),
      cmocka_unit_test(test_allocs),
      cmocka_unit_test(test_mutex),
      cmocka_unit_test(test_block),
      cmocka_unit_test(test_limits),
      cmocka_unit_test(test_tiny),
      cmocka_unit_test(test_unpacked_fields),
      cmocka_unit_test(test_span_trace_label_keys),
      cmocka_unit_test(test_bad_references),
      cmocka_unit_test(test_bad_bytes),
      cmocka_unit_test(test_sparse_ids_match_dense),
      cmocka_unit_test(test_large_cpu_profile_speed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

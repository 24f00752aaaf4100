/* Tests for the goroutine dump and pprof decoders (decode/goroutines.c,
 * model/gstate.c, decode/pprof.c) on what today's Go writes: the dumps and
 * profiles that tests/data/go-capture captured from Go 1.26.8 and Go 1.27.3
 * (debug=2 with `created by ... in goroutine N`, the new wait reasons, leaked
 * goroutines, Go 1.26's and Go 1.27's label headers; debug=1; goroutine, CPU
 * and goroutine leak profiles), every record of each compared.
 *
 * Expected values come from a second reader: tests/data/go-capture/expect.py
 * read the text dumps with regular expressions and the profiles through
 * `go tool pprof -raw`, and wrote them to tests/data/go1.2x/expected.json
 * (the command is in the file). The wait class of each goroutine there comes
 * from the script's own table of wait reasons. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_data.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/arena.h"
#include "core/error.h"
#include "decode/goroutines.h"
#include "decode/pprof.h"

static const char *const versions[] = {"go1.26", "go1.27"};

static char *read_file(const char *ver, const char *name, size_t *len) {
  return mw_test_slurp(len, "%s/%s/%s", MW_TEST_DATA, ver, name);
}

/* The entry for name in ver's expected.json (a new reference). */
static json_t *expected(const char *ver, const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s/expected.json", MW_TEST_DATA, ver);
  json_error_t je;
  json_t *all = json_load_file(path, 0, &je);
  if (!all) fail_msg("%s: %s", path, je.text);
  json_t *e = json_incref(json_object_get(all, name));
  json_decref(all);
  if (!e) fail_msg("%s has no entry for %s", path, name);
  return e;
}

static int64_t num(json_t *o, const char *key) {
  json_t *v = json_object_get(o, key);
  if (!json_is_integer(v)) fail_msg("expected.json: no integer %s", key);
  return json_integer_value(v);
}

static const char *str(json_t *o, const char *key) {
  json_t *v = json_object_get(o, key);
  if (!json_is_string(v)) fail_msg("expected.json: no string %s", key);
  return json_string_value(v);
}

/* [func, file, line] */
static void check_frame(const char *what, const mw_frame *f, json_t *want) {
  const char *func = json_string_value(json_array_get(want, 0)), *file = json_string_value(json_array_get(want, 1));
  int64_t line = json_integer_value(json_array_get(want, 2));
  if (strcmp(f->func, func) || strcmp(f->file, file) || f->line != line)
    fail_msg("%s: frame %s %s:%lld, expected %s %s:%lld", what, f->func, f->file, (long long)f->line, func, file,
             (long long)line);
}

static void check_frames(const char *what, const mw_stack *st, json_t *want) {
  if (st->n_frames != json_array_size(want))
    fail_msg("%s: %zu frames, expected %zu", what, st->n_frames, json_array_size(want));
  assert_int_equal(st->truncated, 0);
  for (size_t i = 0; i < st->n_frames; i++) check_frame(what, &st->frames[i], json_array_get(want, i));
}

/* Every label, each once, with its value (string labels). */
static void check_labels(const char *what, const mw_label *l, size_t n, json_t *want) {
  if (n != json_object_size(want)) fail_msg("%s: %zu labels, expected %zu", what, n, json_object_size(want));
  for (size_t i = 0; i < n; i++) {
    json_t *v = json_object_get(want, l[i].key);
    if (!v) fail_msg("%s: unexpected label \"%s\"", what, l[i].key);
    if (!l[i].str || strcmp(l[i].str, json_string_value(v)))
      fail_msg("%s: label %s = \"%s\", expected \"%s\"", what, l[i].key, l[i].str ? l[i].str : "(num)",
               json_string_value(v));
  }
}

/* ---- debug=2 ------------------------------------------------------------------ */

/* Goroutines by wait class, counted over the expected list. */
typedef struct by_class {
  int64_t n[MW_G_NSTATES];
} by_class;

static void check_debug2(const char *ver, const char *file, by_class *classes, size_t *labelled, size_t *leaked) {
  size_t len;
  char *data = read_file(ver, file, &len);
  json_t *want = expected(ver, file);
  json_t *gs = json_object_get(want, "goroutines");
  mw_arena *a = mw__arena_new(0);
  mw_goroutine_dump d;
  assert_int_equal(mw__goroutines_parse_text(a, data, len, NULL, &d), 0);
  assert_int_equal(d.format, 2);
  assert_int_equal(d.lines_total, num(want, "lines"));
  assert_int_equal(d.lines_skipped, 0);
  assert_int_equal(d.truncated, 0);
  assert_int_equal(d.n, json_array_size(gs));
  assert_int_equal(d.total, (int64_t)d.n);
  memset(classes, 0, sizeof *classes);
  *labelled = *leaked = 0;
  for (size_t i = 0; i < d.n; i++) {
    const mw_goroutine *g = &d.g[i];
    json_t *w = json_array_get(gs, i);
    char what[160];
    snprintf(what, sizeof what, "%s/%s goroutine %lld", ver, file, (long long)num(w, "id"));
    assert_int_equal(g->id, num(w, "id"));
    if (strcmp(g->wait_reason, str(w, "wait_reason")))
      fail_msg("%s: wait reason \"%s\", expected \"%s\"", what, g->wait_reason, str(w, "wait_reason"));
    if (strcmp(mw__gstate_name(g->state), str(w, "class")))
      fail_msg("%s (%s): state %s, expected %s", what, g->wait_reason, mw__gstate_name(g->state), str(w, "class"));
    assert_int_equal(g->wait_minutes, num(w, "minutes"));
    assert_int_equal(g->locked_to_thread, json_is_true(json_object_get(w, "locked")));
    assert_int_equal(g->scan, json_is_true(json_object_get(w, "scan")));
    assert_int_equal(g->count, 1);
    assert_int_equal(g->creator_id, num(w, "creator"));
    json_t *cb = json_object_get(w, "created_by");
    if (json_is_null(cb)) {
      assert_null(g->created_by);
    } else {
      assert_non_null(g->created_by);
      check_frame(what, g->created_by, cb);
    }
    check_frames(what, &g->stack, json_object_get(w, "frames"));
    check_labels(what, g->labels, g->n_labels, json_object_get(w, "labels"));
    classes->n[g->state]++;
    *labelled += g->n_labels > 0;
    *leaked += json_is_true(json_object_get(w, "leaked"));
  }
  mw__arena_free(a);
  json_decref(want);
  free(data);
}

/* The goroutines the capture program blocks (dumps.go), by class: every
 * goroutine's class is compared with the second reader's in check_debug2;
 * these are the totals it gives (python3 -c 'import json,collections,sys;
 * d=json.load(open(sys.argv[1])); print(collections.Counter(g["class"] for g
 * in d[sys.argv[2]]["goroutines"]))' expected.json F). The HTTP server's own
 * goroutines (io, select, runnable, syscall) vary from capture to capture and
 * are left to that comparison. */
static void check_classes(const by_class *c) {
  assert_int_equal(c->n[MW_G_MUTEX], 8); /* 5 sync.Mutex.Lock, 2 sync.RWMutex.RLock, 1 sync.RWMutex.Lock */
  assert_int_equal(c->n[MW_G_COND], 4);  /* 2 sync.Cond.Wait, 2 sync.WaitGroup.Wait */
  assert_int_equal(c->n[MW_G_CHAN], 14); /* 11 chan receive, 2 chan send, 1 chan receive (nil chan) */
  assert_int_equal(c->n[MW_G_SLEEP], 1);
  assert_int_equal(c->n[MW_G_RUNNING], 1);
  assert_true(c->n[MW_G_SYSCALL] >= 1 && c->n[MW_G_IO] >= 3 && c->n[MW_G_SELECT] >= 6);
  assert_int_equal(c->n[MW_G_OTHER] + c->n[MW_G_GC] + c->n[MW_G_IDLE], 0);
}

/* The states a service's goroutines are in, as Go 1.26 and 1.27 name them
 * (sync.Mutex.Lock, sync.RWMutex.RLock/Lock, sync.Cond.Wait,
 * sync.WaitGroup.Wait, chan, select, IO wait, sleep, syscall), `created by
 * ... in goroutine N`: each goroutine compared with the second reader, then
 * the totals by class. Go 1.26 prints no labels by default; Go 1.27 does for
 * a module whose go directive is 1.27: `[status] {k: v, ...}`. */
static void test_debug2_today(void **state) {
  (void)state;
  for (size_t v = 0; v < 2; v++) {
    by_class c;
    size_t labelled, leaked;
    check_debug2(versions[v], "goroutines-debug2.txt", &c, &labelled, &leaked);
    check_classes(&c);
    assert_int_equal(labelled, v == 0 ? 0 : 4); /* grep -c '^goroutine .*\] {' F */
    assert_int_equal(leaked, 0);
  }
}

/* Go 1.26 with GODEBUG=tracebacklabels=1: the labels inside the brackets. */
static void test_debug2_tracebacklabels(void **state) {
  (void)state;
  by_class c;
  size_t labelled, leaked;
  check_debug2("go1.26", "goroutines-debug2.tracebacklabels.txt", &c, &labelled, &leaked);
  check_classes(&c);
  assert_int_equal(labelled, 4); /* grep -c ' labels:{' F */
}

/* /debug/pprof/goroutineleak?debug=2: the full dump after the leak GC, the
 * leaked goroutines marked ` (leaked)` after their wait reason; they keep
 * their class (a leaked channel receive is a channel wait). */
static void test_leak_debug2(void **state) {
  (void)state;
  for (size_t v = 0; v < 2; v++) {
    by_class c;
    size_t labelled, leaked;
    check_debug2(versions[v], "goroutineleak-debug2.txt", &c, &labelled, &leaked);
    check_classes(&c);
    /* grep -c '(leaked)' F: 4 chan receive, 1 each of chan send, select,
     * select (no cases), sync.WaitGroup.Wait, chan receive (nil chan); the
     * detector did not prove main.leakMutex's wait */
    assert_int_equal(leaked, 9);
    assert_int_equal(labelled, v == 0 ? 0 : 4);
  }
}

/* runtime.Stack inside a testing/synctest bubble: ` (durable)` after the
 * waits only the bubble can end (a suffix the runtime adds, or part of the
 * name: "chan receive (durable)"), `, synctest bubble 1` after every bubbled
 * goroutine's status. The class is the wait's, durable or not. */
static void test_synctest(void **state) {
  (void)state;
  for (size_t v = 0; v < 2; v++) {
    by_class c;
    size_t labelled, leaked;
    check_debug2(versions[v], "goroutines-synctest.txt", &c, &labelled, &leaked);
    /* grep '^goroutine' F */
    assert_int_equal(c.n[MW_G_CHAN], 3);  /* the test's main, 2 chan receive (durable) */
    assert_int_equal(c.n[MW_G_COND], 3);  /* synctest.Run, sync.Cond.Wait, sync.WaitGroup.Wait */
    assert_int_equal(c.n[MW_G_SLEEP], 1); /* sleep (durable) */
    assert_int_equal(c.n[MW_G_SELECT], 1);
    assert_int_equal(c.n[MW_G_MUTEX], 1); /* sync.Mutex.Lock is never durable */
    assert_int_equal(c.n[MW_G_RUNNING], 1);
    assert_int_equal(c.n[MW_G_OTHER], 0);
  }
}

/* ---- debug=1 ------------------------------------------------------------------ */

static void check_debug1(const char *ver, const char *file, int64_t *total) {
  size_t len;
  char *data = read_file(ver, file, &len);
  json_t *want = expected(ver, file);
  json_t *recs = json_object_get(want, "records");
  mw_arena *a = mw__arena_new(0);
  mw_goroutine_dump d;
  int rc = mw__goroutines_parse_text(a, data, len, NULL, &d);
  if (rc) fail_msg("%s/%s: %s", ver, file, d.err);
  assert_int_equal(d.format, 1);
  assert_int_equal(d.claimed_total, num(want, "claimed_total"));
  assert_int_equal(d.lines_total, num(want, "lines"));
  assert_int_equal(d.lines_skipped, 0);
  assert_int_equal(d.n, json_array_size(recs));
  int64_t sum = 0;
  for (size_t i = 0; i < d.n; i++) {
    const mw_goroutine *g = &d.g[i];
    json_t *w = json_array_get(recs, i);
    char what[160];
    snprintf(what, sizeof what, "%s/%s record %zu", ver, file, i);
    assert_int_equal(g->count, num(w, "count"));
    assert_int_equal(g->id, 0);
    check_frames(what, &g->stack, json_object_get(w, "frames"));
    check_labels(what, g->labels, g->n_labels, json_object_get(w, "labels"));
    sum += num(w, "count");
  }
  assert_int_equal(d.total, sum);
  *total = d.total;
  mw__arena_free(a);
  json_decref(want);
  free(data);
}

static void test_debug1_today(void **state) {
  (void)state;
  for (size_t v = 0; v < 2; v++) {
    int64_t total;
    check_debug1(versions[v], "goroutines-debug1.txt", &total);
    assert_int_equal(total, 40); /* head -1 F: "goroutine profile: total 40" */
  }
}

/* /debug/pprof/goroutineleak?debug=1: the header names the profile
 * "goroutineleak"; only the leaked goroutines, grouped by stack and labels. */
static void test_leak_debug1(void **state) {
  (void)state;
  for (size_t v = 0; v < 2; v++) {
    int64_t total;
    check_debug1(versions[v], "goroutineleak-debug1.txt", &total);
    assert_int_equal(total, 9); /* head -1 F: "goroutineleak profile: total 9" */
  }
}

/* ---- pprof --------------------------------------------------------------------- */

static uint8_t *gunzip(const char *ver, const char *name, size_t *out_len) {
  size_t len;
  char *gz = read_file(ver, name, &len);
  size_t cap = 1u << 20, n = 0;
  uint8_t *out = malloc(cap);
  assert_non_null(out);
  z_stream z = {0};
  assert_int_equal(inflateInit2(&z, 16 + MAX_WBITS), Z_OK);
  z.next_in = (Bytef *)gz;
  z.avail_in = (uInt)len;
  int zr;
  do {
    z.next_out = out + n;
    z.avail_out = (uInt)(cap - n);
    zr = inflate(&z, Z_NO_FLUSH);
    n = cap - z.avail_out;
    assert_true(zr == Z_OK || zr == Z_STREAM_END);
    assert_true(n < cap);
  } while (zr != Z_STREAM_END);
  inflateEnd(&z);
  free(gz);
  *out_len = n;
  return out;
}

static void check_pprof(const char *ver, const char *file, int64_t *sum0) {
  size_t len;
  uint8_t *raw = gunzip(ver, file, &len);
  json_t *want = expected(ver, file);
  json_t *samples = json_object_get(want, "samples"), *types = json_object_get(want, "sample_types"),
         *pt = json_object_get(want, "period_type");
  mw_arena *a = mw__arena_new(0);
  mw_profile p;
  char err[256];
  assert_int_equal(mw__pprof_decode(a, raw, len, NULL, &p, err, sizeof err), 0);
  assert_string_equal(p.period_type.type, json_string_value(json_array_get(pt, 0)));
  assert_string_equal(p.period_type.unit, json_string_value(json_array_get(pt, 1)));
  assert_int_equal(p.period, num(want, "period"));
  assert_int_equal(p.n_sample_types, json_array_size(types));
  for (size_t i = 0; i < p.n_sample_types; i++) {
    assert_string_equal(p.sample_types[i].type, json_string_value(json_array_get(json_array_get(types, i), 0)));
    assert_string_equal(p.sample_types[i].unit, json_string_value(json_array_get(json_array_get(types, i), 1)));
  }
  assert_int_equal(p.n_samples, json_array_size(samples));
  *sum0 = 0;
  for (size_t i = 0; i < p.n_samples; i++) {
    const mw_pprof_sample *s = &p.samples[i];
    json_t *w = json_array_get(samples, i), *vals = json_object_get(w, "values");
    char what[160];
    snprintf(what, sizeof what, "%s/%s sample %zu", ver, file, i);
    for (size_t k = 0; k < p.n_sample_types; k++)
      assert_int_equal(s->values[k], json_integer_value(json_array_get(vals, k)));
    check_frames(what, &s->stack, json_object_get(w, "frames"));
    check_labels(what, s->labels, s->n_labels, json_object_get(w, "labels"));
    *sum0 += s->values[0];
  }
  mw__arena_free(a);
  json_decref(want);
  free(raw);
}

static void test_pprof_today(void **state) {
  (void)state;
  for (size_t v = 0; v < 2; v++) {
    int64_t sum;
    check_pprof(versions[v], "goroutines.pb.gz", &sum);
    assert_int_equal(sum, 40); /* as many as the debug=1 profile taken just before */
    check_pprof(versions[v], "cpu.pb.gz", &sum);
    assert_true(sum > 0);
    check_pprof(versions[v], "goroutineleak.pb.gz", &sum);
    assert_int_equal(sum, 9); /* as many as goroutineleak-debug1.txt */
  }
}

/* Profiles of a service on the official OpenTelemetry Go SDK whose spans run
 * with client/go's labels (deploy/demo at 50 requests/s, Go 1.26.8): every
 * sample compared with the second reader, labels included. */
static void test_pprof_sdk_service(void **state) {
  (void)state;
  int64_t sum;
  check_pprof("go1.26", "sdk-goroutines.pb.gz", &sum);
  assert_int_equal(sum, 68); /* go tool pprof -raw F: the goroutine/count values summed */
  check_pprof("go1.26", "sdk-cpu.pb.gz", &sum);
  assert_int_equal(sum, 111); /* go tool pprof -raw F: the samples/count values summed */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_debug2_today), cmocka_unit_test(test_debug2_tracebacklabels),
      cmocka_unit_test(test_leak_debug2),  cmocka_unit_test(test_synctest),
      cmocka_unit_test(test_debug1_today), cmocka_unit_test(test_leak_debug1),
      cmocka_unit_test(test_pprof_today),  cmocka_unit_test(test_pprof_sdk_service),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

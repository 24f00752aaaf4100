/* Tests for compare (query/compare.c) with execution traces, on a temporary
 * store: spans through the writer, one execution trace through the ingest
 * path (Records packed here by hand, mw__xt_build).
 *
 * Operation GET /c of shop: two spans of 100 ms (S1 at 0, S2 at 400 ms: the
 * slow group, at or above p90) and eight of 10 ms (F1 at 200 ms, the others
 * from 600 ms: the fast group, at or below p50). The trace covers [-1, 300)
 * ms: goroutine 10 runs S1, on CPU in main.work for 20 ms, then waits on a
 * channel in main.wait for 80 ms; goroutine 11 runs F1, on CPU in main.work
 * its 10 ms. No profile or snapshot labels any span. So with the trace the
 * differential flame graph, over the traced spans (one a group), is: under
 * main.handle, main.wait 0.8 slow / 0 fast, main.work 0.2 slow / 1.0 fast;
 * without F1's goroutine (the fast group untraced) it falls back to samples,
 * of which there are none. Every expected value is worked out from this plan
 * by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "decode/exectrace.h"
#include "ingest/commit.h"
#include "ingest/exectrace.h"
#include "meanwhile/exectrace/v1/records.pb-c.h"
#include "query/compare.h"
#include "store_fixture.h"

#define MS 1000000LL
static const int64_t T0 = 1796491170000000000LL;

typedef Meanwhile__Exectrace__V1__Interval Interval;
typedef Meanwhile__Exectrace__V1__Span Span;
typedef Meanwhile__Exectrace__V1__Frame Frame;
typedef Meanwhile__Exectrace__V1__Stack Stack;

enum { N_SPANS = 10 }; /* 0: S1, 1: S2, 2: F1, 3..9 the other fast ones */
static uint8_t tid[N_SPANS][16], sid[N_SPANS][8];

static int64_t start_of(int i) { return T0 + (i == 0 ? 0 : i == 1 ? 400 : i == 2 ? 200 : 600 + 20 * i) * MS; }
static int64_t dur_of(int i) { return (i < 2 ? 100 : 10) * MS; }

static int store_spans(sfx *f) {
  static mw_span_row rows[N_SPANS];
  static mw_resource_ref res = {
      .service = "shop", .instance = "i-1", .resource = (const uint8_t *)"r", .resource_len = 1};
  static mw_scope_ref scope = {.body = (const uint8_t *)"s", .body_len = 1};
  for (int i = 0; i < N_SPANS; i++) {
    memset(tid[i], 0, 16);
    memset(sid[i], 0, 8);
    tid[i][0] = 0xc0, tid[i][15] = (uint8_t)(i + 1);
    sid[i][0] = 0xc1, sid[i][7] = (uint8_t)(i + 1);
    mw_span_row *r = &rows[i];
    memset(r, 0, sizeof *r);
    memcpy(r->trace_id, tid[i], 16);
    memcpy(r->span_id, sid[i], 8);
    r->start_ns = start_of(i);
    r->dur_ns = dur_of(i);
    r->name = "GET /c";
    r->body = (const uint8_t *)"";
  }
  static mw_span_batch b;
  b = (mw_span_batch){
      .resources = &res, .n_resources = 1, .scopes = &scope, .n_scopes = 1, .rows = rows, .n_rows = N_SPANS};
  mw_write_job job;
  mw__ingest_job_spans(&job, &b, 4096);
  return sfx_commit(f, &job, 1);
}

/* The trace of the plan; with_fast: goroutine 11 running F1 is in it. */
static int store_trace(sfx *f, mw_arena *a, int with_fast) {
  Span sp[2];
  Span *spp[2];
  for (int i = 0; i < 2; i++) {
    int which = i ? 2 : 0;
    meanwhile__exectrace__v1__span__init(&sp[i]);
    sp[i].trace_id = (ProtobufCBinaryData){16, tid[which]};
    sp[i].span_id = (ProtobufCBinaryData){8, sid[which]};
    sp[i].name = "GET /c";
    spp[i] = &sp[i];
  }
  /* stack 1: main.work <- main.handle; stack 2: runtime.chanrecv1 <- main.wait <- main.handle */
  Frame fr[5];
  const char *fn[5] = {"main.work", "main.handle", "runtime.chanrecv1", "main.wait", "main.handle"};
  const char *file[5] = {"/app/main.go", "/app/main.go", "/go/src/runtime/chan.go", "/app/main.go", "/app/main.go"};
  int line[5] = {10, 5, 489, 20, 5};
  for (int i = 0; i < 5; i++) {
    meanwhile__exectrace__v1__frame__init(&fr[i]);
    fr[i].func = (char *)fn[i], fr[i].file = (char *)file[i], fr[i].line = line[i];
  }
  Frame *f1[] = {&fr[0], &fr[1]}, *f2[] = {&fr[2], &fr[3], &fr[4]};
  Stack st[2];
  Stack *stp[] = {&st[0], &st[1]};
  meanwhile__exectrace__v1__stack__init(&st[0]);
  meanwhile__exectrace__v1__stack__init(&st[1]);
  st[0].id = 1, st[0].n_frames = 2, st[0].frames = f1;
  st[1].id = 2, st[1].n_frames = 3, st[1].frames = f2;
  Interval iv[3];
  Interval *ivp[3];
  struct {
    uint64_t g;
    int state;
    char *reason;
    int64_t s, e;
    uint32_t stack, span;
  } def[] = {{10, 1, "", 0, 20, 1, 1}, {10, 3, "chan", 20, 100, 2, 1}, {11, 1, "", 200, 210, 1, 2}};
  size_t n_iv = with_fast ? 3 : 2;
  for (size_t i = 0; i < n_iv; i++) {
    meanwhile__exectrace__v1__interval__init(&iv[i]);
    iv[i].goroutine = def[i].g, iv[i].state = (Meanwhile__Exectrace__V1__State)def[i].state;
    iv[i].reason = def[i].reason, iv[i].raw_reason = def[i].state == 3 ? "chan receive" : "";
    iv[i].start_ns = T0 + def[i].s * MS, iv[i].end_ns = T0 + def[i].e * MS;
    iv[i].stack = def[i].stack, iv[i].span = def[i].span;
    ivp[i] = &iv[i];
  }
  Meanwhile__Exectrace__V1__Summary sum = MEANWHILE__EXECTRACE__V1__SUMMARY__INIT;
  sum.start_ns = T0 - MS, sum.end_ns = T0 + 300 * MS,
  sum.alignment = MEANWHILE__EXECTRACE__V1__ALIGNMENT__CLOCK_SNAPSHOT;
  sum.events = 10, sum.generations = 1, sum.goroutines = 2, sum.go_version = "go1.26.8";
  Meanwhile__Exectrace__V1__Records r = MEANWHILE__EXECTRACE__V1__RECORDS__INIT;
  r.n_stacks = 2, r.stacks = stp, r.n_spans = 2, r.spans = spp, r.n_intervals = n_iv, r.intervals = ivp;
  r.summary = &sum;
  size_t len = meanwhile__exectrace__v1__records__get_packed_size(&r);
  uint8_t *rec = malloc(len);
  meanwhile__exectrace__v1__records__pack(&r, rec);
  static const uint8_t trace[] = "go 1.26 trace\0\0\0 any bytes";
  mw_xt_params p = {.service = "shop", .instance = "i-1", .capture_ns = T0, .received_ns = T0};
  mw_runtime_batch b;
  char err[256] = "";
  mw_xt_records xr;
  int rc = mw__xt_records_decode(a, rec, len, &xr, err, sizeof err);
  if (!rc) rc = mw__xt_build(a, &p, trace, sizeof trace, &xr, NULL, &b, err, sizeof err);
  free(rec);
  if (rc) return rc;
  mw_write_job job;
  mw__ingest_job_runtime(&job, &b, mw__arena_used(a));
  return sfx_commit(f, &job, 1);
}

static json_t *compare(sfx *f) {
  mw_arena *qa = mw__arena_new(0);
  mw_query q;
  mw_answer ans;
  mw__query_begin(&q, f->s, qa, 0, NULL);
  mw_compare_query p = {.service = "shop", .name = "GET /c", .start_ns = 0, .end_ns = INT64_MAX, .per_group = 30};
  mw__q_compare(&q, &p, &ans);
  assert_int_equal(mw__query_end(&q), 0);
  assert_int_equal(ans.rc, MW_OK);
  json_t *j = json_loadb(ans.body.data, ans.body.len, 0, NULL);
  assert_non_null(j);
  mw__answer_free(&ans);
  mw__arena_free(qa);
  return j;
}

static json_t *kid(json_t *n, const char *name) {
  size_t i;
  json_t *k;
  json_array_foreach(json_object_get(n, "children"), i, k) {
    if (strcmp(json_string_value(json_object_get(k, "name")), name) == 0) return k;
  }
  return NULL;
}

static double num(json_t *o, const char *k) { return json_number_value(json_object_get(o, k)); }

static void check_group(json_t *g, const char *method, int spans, int traced, int flame_spans) {
  assert_non_null(json_object_get(g, "flame_method"));
  assert_string_equal(json_string_value(json_object_get(g, "flame_method")), method);
  assert_int_equal(json_integer_value(json_object_get(g, "spans")), spans);
  assert_int_equal(json_integer_value(json_object_get(g, "traced_spans")), traced);
  assert_int_equal(json_integer_value(json_object_get(g, "flame_spans")), flame_spans);
}

/* Both groups traced: the flame graph is the intervals' stacks. */
static void test_flame_from_traces(void **state) {
  (void)state;
  sfx f;
  mw_arena *a = mw__arena_new(0);
  assert_int_equal(sfx_open(&f), 0);
  assert_int_equal(store_spans(&f), 0);
  assert_int_equal(store_trace(&f, a, 1), 0);
  json_t *j = compare(&f);
  check_group(json_object_get(j, "slow"), "execution_trace", 2, 1, 1);
  check_group(json_object_get(j, "fast"), "execution_trace", 8, 1, 1);
  json_t *handle = kid(json_object_get(j, "flame"), "main.handle (/app/main.go:5)");
  assert_non_null(handle);
  assert_float_equal(num(handle, "slow"), 1.0, 1e-9);
  assert_float_equal(num(handle, "fast"), 1.0, 1e-9);
  json_t *wait = kid(handle, "main.wait (/app/main.go:20)"), *work = kid(handle, "main.work (/app/main.go:10)");
  assert_non_null(wait);
  assert_non_null(work);
  assert_float_equal(num(wait, "slow"), 0.8, 1e-9);
  assert_float_equal(num(wait, "fast"), 0.0, 1e-9);
  assert_float_equal(num(wait, "delta"), 0.8, 1e-9);
  assert_float_equal(num(work, "slow"), 0.2, 1e-9);
  assert_float_equal(num(work, "fast"), 1.0, 1e-9);
  assert_non_null(kid(wait, "runtime.chanrecv1 (/go/src/runtime/chan.go:489)"));
  /* the breakdown follows the trace: S1's 80 ms of channel wait, over two slow spans */
  assert_float_equal(num(json_object_get(json_object_get(j, "slow"), "breakdown_share"), "chan"), 0.4, 1e-9);
  json_decref(j);
  mw__arena_free(a);
  sfx_close(&f);
}

/* Only the slow group traced: samples for both (none here: an empty graph). */
static void test_flame_samples_when_one_group_untraced(void **state) {
  (void)state;
  sfx f;
  mw_arena *a = mw__arena_new(0);
  assert_int_equal(sfx_open(&f), 0);
  assert_int_equal(store_spans(&f), 0);
  assert_int_equal(store_trace(&f, a, 0), 0);
  json_t *j = compare(&f);
  check_group(json_object_get(j, "slow"), "samples", 2, 1, 2);
  check_group(json_object_get(j, "fast"), "samples", 8, 0, 8);
  assert_int_equal(json_array_size(json_object_get(json_object_get(j, "flame"), "children")), 0);
  json_decref(j);
  mw__arena_free(a);
  sfx_close(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_flame_from_traces),
      cmocka_unit_test(test_flame_samples_when_one_group_untraced),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

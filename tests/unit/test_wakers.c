/* Tests for the wakers of an operation's slow spans (query/wakers.c) on a
 * temporary store: spans go in through the writer, and an execution trace
 * through the ingest path (Records packed here by hand, mw__xt_build), so
 * that the blobs and span tables read back are those ingest writes.
 *
 * The operation GET /slow of shop has 17 spans of 1 ms and three of 100 ms
 * (A, B, D: the slow ones, at or above its p90). The trace covers A and B:
 *   goroutine 10 runs A over [0, 100 ms): blocked on a channel [10, 50),
 *     woken by goroutine 20 running db.flush (stored, of another trace: a
 *     cross-request waker); asleep [60, 80), woken by no goroutine (the
 *     runtime); on a mutex [85, 95), woken by goroutine 30 running a span
 *     that is not stored (unknown operation); and on a channel [96, 99)
 *     while it ran A's child C (C's wait, not A's).
 *   goroutine 11 runs B: on the network from 5 ms before B began until 5 ms,
 *     woken by the runtime (the part in B's time counts); blocked on a
 *     channel [20, 40), woken by goroutine
 *     20 (db.flush); in a select [90, 99), woken by goroutine 40, which ran
 *     no span; then on a channel from 99 ms to the trace's end (100 ms,
 *     clipped: not woken within the trace), cut to B's end.
 * D has no trace. Every expected value below is worked out from this plan
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
#include "query/wakers.h"
#include "store_fixture.h"

#define MS 1000000LL
static const int64_t T0 = 1796491170000000000LL;

typedef Meanwhile__Exectrace__V1__Interval Interval;
typedef Meanwhile__Exectrace__V1__Wake Wake;
typedef Meanwhile__Exectrace__V1__Span Span;

/* Spans: A, B, D (slow, GET /slow), C (A's child), W1 (db.flush, another
 * trace), W3 (not stored); 17 fast GET /slow spans. */
enum { SP_A, SP_B, SP_D, SP_C, SP_W1, SP_W3, N_NAMED, N_FAST = 17 };
static uint8_t tid[N_NAMED + N_FAST][16], sid[N_NAMED + N_FAST][8];

static void ids(void) {
  for (int i = 0; i < N_NAMED + N_FAST; i++) {
    memset(tid[i], 0, 16);
    memset(sid[i], 0, 8);
    tid[i][0] = 0x7a, tid[i][15] = (uint8_t)(i + 1);
    sid[i][0] = 0x5d, sid[i][7] = (uint8_t)(i + 1);
  }
  memcpy(tid[SP_C], tid[SP_A], 16); /* C is A's child */
}

static int store_spans(sfx *f) {
  static mw_span_row rows[N_NAMED + N_FAST];
  static mw_resource_ref res = {
      .service = "shop", .instance = "i-1", .resource = (const uint8_t *)"r", .resource_len = 1};
  static mw_scope_ref scope = {.body = (const uint8_t *)"s", .body_len = 1};
  size_t n = 0;
  for (int i = 0; i < N_NAMED + N_FAST; i++) {
    if (i == SP_W3) continue; /* never stored */
    mw_span_row *r = &rows[n++];
    memset(r, 0, sizeof *r);
    memcpy(r->trace_id, tid[i], 16);
    memcpy(r->span_id, sid[i], 8);
    r->start_ns = T0;
    r->dur_ns = i >= N_NAMED ? 1 * MS : i == SP_C ? 5 * MS : 100 * MS;
    r->name = i == SP_W1 ? "db.flush" : i == SP_C ? "child" : "GET /slow";
    if (i == SP_C) memcpy(r->parent_id, sid[SP_A], 8), r->has_parent = 1, r->start_ns = T0 + 95 * MS;
    r->body = (const uint8_t *)"";
  }
  static mw_span_batch b;
  b = (mw_span_batch){.resources = &res, .n_resources = 1, .scopes = &scope, .n_scopes = 1, .rows = rows, .n_rows = n};
  mw_write_job job;
  mw__ingest_job_spans(&job, &b, 4096);
  return sfx_commit(f, &job, 1);
}

/* The Records of the plan above (span refs: A 1, B 2, C 3, W1 4, W3 5). */
static uint8_t *pack(size_t *len) {
  Span sp[5];
  Span *spp[5];
  int which[5] = {SP_A, SP_B, SP_C, SP_W1, SP_W3};
  for (int i = 0; i < 5; i++) {
    meanwhile__exectrace__v1__span__init(&sp[i]);
    sp[i].trace_id = (ProtobufCBinaryData){16, tid[which[i]]};
    sp[i].span_id = (ProtobufCBinaryData){8, sid[which[i]]};
    sp[i].name = "s";
    spp[i] = &sp[i];
  }
  struct {
    uint64_t g;
    int state;
    char *reason;
    int64_t s, e;
    uint32_t span;
  } def[] = {
      {10, 1, "", 0, 10, 1},   {10, 3, "chan", 10, 50, 1},   {10, 1, "", 50, 60, 1},      {10, 3, "sleep", 60, 80, 1},
      {10, 1, "", 80, 85, 1},  {10, 3, "mutex", 85, 95, 1},  {10, 1, "", 95, 96, 3},      {10, 3, "chan", 96, 99, 3},
      {10, 1, "", 99, 100, 1}, {11, 3, "io", -5, 5, 2},      {11, 1, "", 5, 20, 2},       {11, 3, "chan", 20, 40, 2},
      {11, 1, "", 40, 90, 2},  {11, 3, "select", 90, 99, 2}, {11, 3, "chan", 99, 100, 2}, {20, 1, "", 0, 100, 4},
      {30, 1, "", 0, 100, 5},  {40, 1, "", 0, 100, 0},
  };
  enum { N_IV = sizeof def / sizeof def[0] };
  Interval iv[N_IV];
  Interval *ivp[N_IV];
  for (size_t i = 0; i < N_IV; i++) {
    meanwhile__exectrace__v1__interval__init(&iv[i]);
    iv[i].goroutine = def[i].g, iv[i].state = (Meanwhile__Exectrace__V1__State)def[i].state;
    iv[i].reason = def[i].reason, iv[i].raw_reason = "";
    iv[i].start_ns = T0 + def[i].s * MS, iv[i].end_ns = T0 + def[i].e * MS, iv[i].span = def[i].span;
    iv[i].clipped_end = def[i].g == 11 && def[i].s == 99; /* still blocked at the trace's end */
    ivp[i] = &iv[i];
  }
  struct {
    uint64_t g, waker;
    int64_t t;
    uint32_t waker_span, span;
  } wdef[] = {
      {10, 20, 50, 4, 1}, {10, 0, 80, 0, 1},  {10, 30, 95, 5, 1}, {10, 20, 99, 4, 3},
      {11, 0, 5, 0, 2},   {11, 20, 40, 4, 2}, {11, 40, 99, 0, 2},
  };
  enum { N_WK = sizeof wdef / sizeof wdef[0] };
  Wake wk[N_WK];
  Wake *wkp[N_WK];
  for (size_t i = 0; i < N_WK; i++) {
    meanwhile__exectrace__v1__wake__init(&wk[i]);
    wk[i].goroutine = wdef[i].g, wk[i].waker = wdef[i].waker, wk[i].time_ns = T0 + wdef[i].t * MS;
    wk[i].waker_span = wdef[i].waker_span, wk[i].span = wdef[i].span;
    wkp[i] = &wk[i];
  }
  Meanwhile__Exectrace__V1__Summary sum = MEANWHILE__EXECTRACE__V1__SUMMARY__INIT;
  sum.start_ns = T0 - 5 * MS, sum.end_ns = T0 + 100 * MS,
  sum.alignment = MEANWHILE__EXECTRACE__V1__ALIGNMENT__CLOCK_SNAPSHOT;
  sum.events = 40, sum.generations = 1, sum.goroutines = 5, sum.go_version = "go1.26.8";
  Meanwhile__Exectrace__V1__Records r = MEANWHILE__EXECTRACE__V1__RECORDS__INIT;
  r.n_spans = 5, r.spans = spp, r.n_intervals = N_IV, r.intervals = ivp, r.n_wakes = N_WK, r.wakes = wkp;
  r.summary = &sum;
  *len = meanwhile__exectrace__v1__records__get_packed_size(&r);
  uint8_t *out = malloc(*len);
  meanwhile__exectrace__v1__records__pack(&r, out);
  return out;
}

static int store_trace(sfx *f, mw_arena *a) {
  size_t len;
  uint8_t *rec = pack(&len);
  static const uint8_t trace[] = "go 1.26 trace\0\0\0 any bytes";
  mw_xt_params p = {.service = "shop", .instance = "i-1", .capture_ns = T0, .received_ns = T0};
  mw_runtime_batch b;
  char err[256] = "";
  mw_xt_records r;
  int rc = mw__xt_records_decode(a, rec, len, &r, err, sizeof err);
  if (!rc) rc = mw__xt_build(a, &p, trace, sizeof trace, &r, NULL, &b, err, sizeof err);
  free(rec);
  if (rc) return rc;
  mw_write_job job;
  mw__ingest_job_runtime(&job, &b, mw__arena_used(a));
  return sfx_commit(f, &job, 1);
}

typedef struct fx {
  sfx f;
  mw_arena *a;
} fx;

static int setup(void **state) {
  fx *x = calloc(1, sizeof *x);
  ids();
  if (!x || sfx_open(&x->f) || !(x->a = mw__arena_new(0)) || store_spans(&x->f) || store_trace(&x->f, x->a)) return -1;
  *state = x;
  return 0;
}

static int teardown(void **state) {
  fx *x = *state;
  mw__arena_free(x->a);
  sfx_close(&x->f);
  free(x);
  return 0;
}

/* The answer of mw__q_wakers for limit (and rc), parsed. */
static json_t *ask(fx *x, size_t limit, const char *name, int want_rc) {
  mw_arena *qa = mw__arena_new(0);
  mw_query q;
  mw_answer ans;
  mw__query_begin(&q, x->f.s, qa, 0, NULL);
  mw_wakers_query p = {.service = "shop", .name = name, .start_ns = 0, .end_ns = INT64_MAX, .limit = limit};
  mw__q_wakers(&q, &p, &ans);
  assert_int_equal(mw__query_end(&q), 0);
  assert_int_equal(ans.rc, want_rc);
  json_t *j = NULL;
  if (!want_rc) {
    j = json_loadb(ans.body.data, ans.body.len, 0, NULL);
    assert_non_null(j);
  }
  mw__answer_free(&ans);
  mw__arena_free(qa);
  return j;
}

static json_t *waker_of(json_t *j, const char *kind, const char *name) {
  size_t i;
  json_t *w;
  json_array_foreach(json_object_get(j, "wakers"), i, w) {
    if (strcmp(json_string_value(json_object_get(w, "kind")), kind) != 0) continue;
    if (name && strcmp(json_string_value(json_object_get(w, "name")), name) != 0) continue;
    return w;
  }
  return NULL;
}

static int64_t iget(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

/* The waits of A and B summed per waking operation, each kind of waker apart. */
static void test_aggregation(void **state) {
  fx *x = *state;
  json_t *j = ask(x, 50, "GET /slow", MW_OK);
  assert_int_equal(iget(j, "count"), 20);
  assert_int_equal(iget(j, "threshold_ns"), 100 * MS);
  assert_int_equal(iget(j, "slow_spans"), 3);
  assert_int_equal(iget(j, "examined"), 3);
  assert_int_equal(iget(j, "covered"), 2); /* D has no trace */
  assert_false(json_is_true(json_object_get(j, "more")));
  /* A: 40 + 20 + 10 (C's 3 ms are C's); B: 5 (of 10) + 20 + 9 + 1 */
  assert_int_equal(iget(j, "blocked_ns"), 105 * MS);
  assert_int_equal(json_array_size(json_object_get(j, "wakers")), 5);

  json_t *w = waker_of(j, "operation", "db.flush");
  assert_non_null(w);
  assert_ptr_equal(w, json_array_get(json_object_get(j, "wakers"), 0)); /* the most wait time first */
  assert_string_equal(json_string_value(json_object_get(w, "service")), "shop");
  assert_string_equal(json_string_value(json_object_get(w, "label")), "db.flush (shop)");
  assert_int_equal(iget(w, "slow_spans"), 2);
  assert_int_equal(iget(w, "waits"), 2);
  assert_int_equal(iget(w, "wait_ns"), 60 * MS);
  assert_int_equal(iget(w, "p50_wait_ns"), 20 * MS);
  assert_float_equal(json_number_value(json_object_get(w, "share")), 0.5714, 1e-9); /* 60 / 105, 4 places */
  json_t *chan = json_object_get(json_object_get(w, "by_reason"), "chan");
  assert_int_equal(iget(chan, "waits"), 2);
  assert_int_equal(iget(chan, "wait_ns"), 60 * MS);
  /* the example is the longest wait: A's, woken by goroutine 20 in W1's trace */
  json_t *ex = json_object_get(w, "example");
  assert_string_equal(json_string_value(json_object_get(ex, "trace_id")), "7a000000000000000000000000000001");
  assert_string_equal(json_string_value(json_object_get(ex, "span_id")), "5d00000000000001");
  assert_int_equal(iget(ex, "goroutine"), 10);
  assert_int_equal(iget(ex, "waker"), 20);
  assert_int_equal(iget(ex, "wait_ns"), 40 * MS);
  assert_int_equal(iget(ex, "start_ns"), T0 + 10 * MS);
  assert_string_equal(json_string_value(json_object_get(ex, "waker_span_id")), "5d00000000000005");
  assert_string_equal(json_string_value(json_object_get(ex, "waker_trace_id")), "7a000000000000000000000000000005");

  w = waker_of(j, "runtime", NULL);
  assert_non_null(w);
  assert_string_equal(json_string_value(json_object_get(w, "label")), "the runtime (timer, network, syscall)");
  assert_int_equal(iget(w, "wait_ns"), 25 * MS);
  assert_int_equal(iget(w, "slow_spans"), 2);
  assert_int_equal(iget(json_object_get(w, "example"), "waker"), 0);
  assert_non_null(json_object_get(json_object_get(w, "by_reason"), "sleep"));

  w = waker_of(j, "unknown_operation", NULL);
  assert_non_null(w);
  assert_string_equal(json_string_value(json_object_get(w, "label")), "unknown operation");
  assert_int_equal(iget(w, "wait_ns"), 10 * MS);
  assert_string_equal(json_string_value(json_object_get(json_object_get(w, "example"), "waker_span_id")),
                      "5d00000000000006");

  w = waker_of(j, "goroutine", NULL);
  assert_non_null(w);
  assert_int_equal(iget(w, "wait_ns"), 9 * MS);
  assert_int_equal(iget(json_object_get(w, "example"), "waker"), 40);
  assert_null(json_object_get(json_object_get(w, "example"), "waker_span_id"));

  w = waker_of(j, "not_woken", NULL);
  assert_non_null(w);
  assert_int_equal(iget(w, "wait_ns"), 1 * MS);
  assert_null(json_object_get(json_object_get(w, "example"), "waker"));

  const char *summary = json_string_value(json_object_get(j, "summary"));
  assert_non_null(strstr(summary, "2 of the 3 slow GET /slow spans"));
  assert_non_null(strstr(summary, "57% of it ended by db.flush (shop)"));
  json_decref(j);
}

/* limit 1 follows the first covered span and says more were left. */
static void test_limit(void **state) {
  fx *x = *state;
  json_t *j = ask(x, 1, "GET /slow", MW_OK);
  assert_int_equal(iget(j, "covered"), 1);
  assert_true(json_is_true(json_object_get(j, "more")));
  /* whichever of A and B came first, db.flush woke it */
  json_t *w = waker_of(j, "operation", "db.flush");
  assert_non_null(w);
  assert_int_equal(iget(w, "slow_spans"), 1);
  json_decref(j);
}

/* An operation without spans is a 404; the child C has its own wait, which
 * A's answer left out. */
static void test_not_found_and_child(void **state) {
  fx *x = *state;
  assert_null(ask(x, 50, "no such op", MW_ENOTFOUND));
  json_t *j = ask(x, 50, "child", MW_OK);
  assert_int_equal(iget(j, "covered"), 1);
  assert_int_equal(iget(j, "blocked_ns"), 3 * MS);
  json_t *w = waker_of(j, "operation", "db.flush");
  assert_non_null(w);
  assert_int_equal(iget(w, "wait_ns"), 3 * MS);
  assert_float_equal(json_number_value(json_object_get(w, "share")), 1.0, 1e-9);
  json_decref(j);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_aggregation),
      cmocka_unit_test(test_limit),
      cmocka_unit_test(test_not_found_and_child),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

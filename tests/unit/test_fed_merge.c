/* Tests for the merges of query federation (server/query/fed_merge.c): the
 * shards' answers written out by hand, the merged answer checked against
 * figures worked out by hand (docs/FEDERATION.md, "Per endpoint"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "query/fed.h"

static mw_fed_part ok(const char *shard, const char *body) {
  mw_fed_part p = {.shard = shard, .status = 200, .rc = MW_OK, .body = (char *)body, .len = strlen(body)};
  return p;
}

static mw_fed_part gone(const char *shard, const char *why) {
  mw_fed_part p = {.shard = shard, .rc = MW_EIO};
  snprintf(p.error, sizeof p.error, "%s", why);
  return p;
}

static mw_fed_part status(const char *shard, long st, int rc, const char *msg) {
  mw_fed_part p = {.shard = shard, .status = st, .rc = rc};
  snprintf(p.error, sizeof p.error, "%s", msg);
  return p;
}

/* The answer's JSON (the test owns it). */
static json_t *parsed(mw_answer *a) {
  assert_int_equal(a->rc, MW_OK);
  json_error_t e;
  json_t *j = json_loadb(a->body.data, a->body.len, 0, &e);
  if (!j) fail_msg("not JSON (%s): %.*s", e.text, (int)a->body.len, a->body.data);
  mw__answer_free(a);
  return j;
}

static void test_services(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  mw_fed_part p[4] = {
      ok("http://a", "{\"services\":[{\"name\":\"api\",\"span_count\":5,\"operation_count\":2,\"instance_count\":1},"
                     "{\"name\":\"db\",\"span_count\":1,\"operation_count\":1,\"instance_count\":1}],\"more\":false}"),
      ok("http://b", "{\"services\":[{\"name\":\"api\",\"span_count\":7,\"operation_count\":3,\"instance_count\":2}],"
                     "\"more\":false}"),
      gone("http://c", "connection refused")};
  mw_answer ans;
  mw__fed_merge_services(a, p, 3, 0, 10, &ans);
  json_t *j = parsed(&ans);
  json_t *sv = json_object_get(j, "services");
  assert_int_equal(json_array_size(sv), 2);
  json_t *api = json_array_get(sv, 0);
  assert_string_equal(json_string_value(json_object_get(api, "name")), "api");
  assert_int_equal(json_integer_value(json_object_get(api, "span_count")), 12);
  assert_int_equal(json_integer_value(json_object_get(api, "instance_count")), 3);
  assert_int_equal(json_integer_value(json_object_get(api, "operation_count")), 3); /* a lower bound */
  assert_true(json_is_false(json_object_get(api, "operation_count_exact")));
  assert_null(json_object_get(json_array_get(sv, 1), "operation_count_exact"));
  json_t *fed = json_object_get(j, "federation");
  assert_int_equal(json_integer_value(json_object_get(fed, "shards")), 3);
  assert_int_equal(json_integer_value(json_object_get(fed, "answered")), 2);
  json_t *m = json_array_get(json_object_get(fed, "missing"), 0);
  assert_string_equal(json_string_value(json_object_get(m, "shard")), "http://c");
  assert_string_equal(json_string_value(json_object_get(m, "error")), "connection refused");
  assert_string_equal(mw__fed_missing(a, p, 3), "http://c");
  json_decref(j);
  mw__arena_free(a);
}

/* A shard that said more with a last name before another shard's rows:
 * rows after that name may be missing, so the page stops there. */
static void test_services_cut(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  mw_fed_part p[3] = {
      ok("http://a", "{\"services\":[{\"name\":\"a\",\"span_count\":1},{\"name\":\"c\",\"span_count\":1}],"
                     "\"more\":true,\"next_offset\":2}"),
      ok("http://b", "{\"services\":[{\"name\":\"b\",\"span_count\":1},{\"name\":\"d\",\"span_count\":1}],"
                     "\"more\":false}")};
  mw_answer ans;
  mw__fed_merge_services(a, p, 2, 0, 2, &ans);
  json_t *j = parsed(&ans);
  json_t *sv = json_object_get(j, "services");
  assert_int_equal(json_array_size(sv), 2); /* a, b */
  assert_true(json_is_true(json_object_get(j, "more")));
  assert_int_equal(json_integer_value(json_object_get(j, "next_offset")), 2);
  json_decref(j);
  /* a page of 4 stops after c: d may come after a's next page */
  mw__fed_merge_services(a, p, 2, 0, 4, &ans);
  j = parsed(&ans);
  assert_int_equal(json_array_size(json_object_get(j, "services")), 3);
  assert_int_equal(json_integer_value(json_object_get(j, "next_offset")), 3);
  json_decref(j);
  mw__arena_free(a);
}

/* Sources: the same id on two shards is two rows, each with its shard, in
 * the local order (service, instance); a shard that said more cuts the page
 * after its last row. */
static void test_sources(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  mw_fed_part p[2] = {ok("http://a",
                         "{\"sources\":[{\"id\":1,\"service\":\"api\",\"instance\":\"a1\"},"
                         "{\"id\":2,\"service\":\"web\",\"instance\":\"w1\"}],\"more\":true,\"next_offset\":2}"),
                      ok("http://b", "{\"sources\":[{\"id\":1,\"service\":\"api\",\"instance\":\"a2\"},"
                                     "{\"id\":2,\"service\":\"zed\",\"instance\":\"z1\"}],\"more\":false}")};
  mw_answer ans;
  mw__fed_merge_sources(a, p, 2, 0, 10, &ans);
  json_t *j = parsed(&ans);
  json_t *sv = json_object_get(j, "sources");
  /* zed (b) comes after web, a's last row, and a has more: not on this page */
  assert_int_equal(json_array_size(sv), 3);
  static const char *const want[][3] = {{"a1", "http://a", "1"}, {"a2", "http://b", "1"}, {"w1", "http://a", "2"}};
  for (size_t i = 0; i < 3; i++) {
    json_t *x = json_array_get(sv, i);
    assert_string_equal(json_string_value(json_object_get(x, "instance")), want[i][0]);
    assert_string_equal(json_string_value(json_object_get(x, "shard")), want[i][1]);
    assert_int_equal(json_integer_value(json_object_get(x, "id")), atoi(want[i][2]));
  }
  assert_true(json_is_true(json_object_get(j, "more")));
  assert_int_equal(json_integer_value(json_object_get(j, "next_offset")), 3);
  json_decref(j);
  /* a page of one past the first */
  mw__fed_merge_sources(a, p, 2, 1, 1, &ans);
  j = parsed(&ans);
  sv = json_object_get(j, "sources");
  assert_int_equal(json_array_size(sv), 1);
  assert_string_equal(json_string_value(json_object_get(json_array_get(sv, 0), "shard")), "http://b");
  assert_int_equal(json_integer_value(json_object_get(j, "next_offset")), 2);
  json_decref(j);
  mw__arena_free(a);
}

static void test_search(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  /* t2 is on both shards: a has its root */
  mw_fed_part p[2] = {
      ok("http://a", "{\"traces\":[{\"traceID\":\"t2\",\"rootServiceName\":\"api\",\"rootTraceName\":\"GET /\","
                     "\"startTimeUnixNano\":\"2000000\",\"durationMs\":3,\"matchedSpanDurationMs\":3},"
                     "{\"traceID\":\"t5\",\"rootServiceName\":\"x\",\"startTimeUnixNano\":\"1000\","
                     "\"durationMs\":0.0005,\"matchedSpanDurationMs\":0.0005}],"
                     "\"more\":true,\"next_offset\":2}"),
      ok("http://b", "{\"traces\":[{\"traceID\":\"t2\",\"rootServiceName\":\"<root span not yet received>\","
                     "\"startTimeUnixNano\":\"1000000\",\"durationMs\":4,\"matchedSpanDurationMs\":4},"
                     "{\"traceID\":\"t9\",\"rootServiceName\":\"y\",\"startTimeUnixNano\":\"0\",\"durationMs\":0.0001,"
                     "\"matchedSpanDurationMs\":0.0001}],\"more\":false}")};
  mw_answer ans;
  mw__fed_merge_search(a, p, 2, 0, 10, 3, &ans);
  json_t *j = parsed(&ans);
  json_t *tr = json_object_get(j, "traces");
  /* t9 (0.0001 ms) is below a's last row, and a has more: it is left for the next page */
  assert_int_equal(json_array_size(tr), 2);
  json_t *t2 = json_array_get(tr, 0);
  assert_string_equal(json_string_value(json_object_get(t2, "traceID")), "t2");
  assert_string_equal(json_string_value(json_object_get(t2, "rootServiceName")), "api");
  assert_string_equal(json_string_value(json_object_get(t2, "rootTraceName")), "GET /");
  assert_string_equal(json_string_value(json_object_get(t2, "startTimeUnixNano")), "1000000");
  /* a's part ends at 2 ms + 3 ms, b's at 1 ms + 4 ms: 5 ms - 1 ms */
  assert_true(fabs(json_number_value(json_object_get(t2, "durationMs")) - 4) < 1e-9);
  assert_true(fabs(json_number_value(json_object_get(t2, "matchedSpanDurationMs")) - 4) < 1e-9);
  assert_string_equal(json_string_value(json_object_get(json_array_get(tr, 1), "traceID")), "t5");
  assert_true(json_is_true(json_object_get(j, "more")));
  assert_int_equal(json_integer_value(json_object_get(j, "next_offset")), 2);
  json_decref(j);
  mw__arena_free(a);
}

static void test_operations(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  /* op x: a holds 10, 20, 30 ms; b holds 40, 1000 ms. op y: a alone */
  char ha[256], hb[256];
  snprintf(ha, sizeof ha, "[[%d,1],[%d,1],[%d,1]]", mw__fed_bucket(10000000), mw__fed_bucket(20000000),
           mw__fed_bucket(30000000));
  snprintf(hb, sizeof hb, "[[%d,1],[%d,1]]", mw__fed_bucket(40000000), mw__fed_bucket(1000000000));
  char ba[1024], bb[1024];
  snprintf(ba, sizeof ba,
           "{\"service\":\"s\",\"operations\":[{\"name\":\"x\",\"count\":3,\"p50_ns\":20000000,\"p90_ns\":30000000,"
           "\"p99_ns\":30000000,\"max_ns\":30000000,\"hist\":%s},{\"name\":\"y\",\"count\":1,\"p50_ns\":7,"
           "\"p90_ns\":7,\"p99_ns\":7,\"max_ns\":7,\"hist\":[[0,1]]}],\"more\":false}",
           ha);
  snprintf(bb, sizeof bb,
           "{\"service\":\"s\",\"operations\":[{\"name\":\"x\",\"count\":2,\"p50_ns\":40000000,\"p90_ns\":1000000000,"
           "\"p99_ns\":1000000000,\"max_ns\":1000000000,\"sampled\":true,\"hist\":%s}],\"more\":false}",
           hb);
  mw_fed_part p[3] = {ok("http://a", ba), ok("http://b", bb), status("http://c", 404, MW_ENOTFOUND, "no service")};
  mw_answer ans;
  mw__fed_merge_operations(a, p, 3, "s", 0, 100, &ans);
  json_t *j = parsed(&ans);
  json_t *ops = json_object_get(j, "operations");
  assert_int_equal(json_array_size(ops), 2);
  json_t *x = json_array_get(ops, 0), *y = json_array_get(ops, 1);
  assert_int_equal(json_integer_value(json_object_get(x, "count")), 5);
  assert_int_equal(json_integer_value(json_object_get(x, "max_ns")), 1000000000);
  assert_true(json_is_true(json_object_get(x, "sampled")));
  assert_true(json_is_true(json_object_get(x, "approx")));
  assert_null(json_object_get(x, "hist"));
  /* nearest rank of 10, 20, 30, 40, 1000 ms: p50 the 3rd (30 ms), p90 and p99 the 5th */
  double p50 = (double)json_integer_value(json_object_get(x, "p50_ns"));
  assert_true(fabs(p50 - 30e6) <= 30e6 * 0.0055);
  assert_int_equal(json_integer_value(json_object_get(x, "p90_ns")), 1000000000); /* capped at max_ns */
  assert_int_equal(json_integer_value(json_object_get(y, "p50_ns")), 7);          /* one shard: its own */
  assert_null(json_object_get(y, "approx"));
  assert_null(json_object_get(y, "hist"));
  json_decref(j);
  /* no shard has the service */
  mw_fed_part q[2] = {status("http://a", 404, MW_ENOTFOUND, "x"), status("http://b", 404, MW_ENOTFOUND, "x")};
  mw__fed_merge_operations(a, q, 2, "s", 0, 100, &ans);
  assert_int_equal(ans.rc, MW_ENOTFOUND);
  mw__arena_free(a);
}

static void test_bucket(void **state) {
  (void)state;
  for (int64_t d = 1; d < INT64_MAX / 3; d = d * 3 + 1) {
    double v = (double)mw__fed_bucket_value(mw__fed_bucket(d));
    assert_true(fabs(v - (double)d) <= (double)d * 0.0055 + 1);
  }
  assert_int_equal(mw__fed_bucket(0), -1);
  assert_int_equal(mw__fed_bucket_value(-1), 0);
}

static void test_errors(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  mw_answer ans;
  /* a request one shard refuses is refused as it said */
  mw_fed_part p[2] = {ok("http://a", "{\"services\":[],\"more\":false}"),
                      status("http://b", 400, MW_EINVAL, "limit must be an integer from 1 to 1000, got \"x\"")};
  mw__fed_merge_services(a, p, 2, 0, 10, &ans);
  assert_int_equal(ans.rc, MW_EINVAL);
  assert_string_equal(ans.error, "limit must be an integer from 1 to 1000, got \"x\"");
  /* no shard answered */
  mw_fed_part q[2] = {gone("http://a", "timed out"), gone("http://b", "refused")};
  mw__fed_merge_services(a, q, 2, 0, 10, &ans);
  assert_int_equal(ans.rc, MW_EBUSY);
  assert_non_null(strstr(ans.error, "http://a (timed out)"));
  assert_non_null(strstr(ans.error, "http://b (refused)"));
  /* a trace no answering shard holds: 404 only when every shard answered */
  mw_fed_part r[2] = {status("http://a", 404, MW_ENOTFOUND, "nf"), gone("http://b", "refused")};
  mw__fed_merge_trace(a, r, 2, "ab", MW_FED_TRACE_V1, &ans);
  assert_int_equal(ans.rc, MW_EBUSY);
  assert_non_null(strstr(ans.error, "http://b"));
  r[1] = status("http://b", 404, MW_ENOTFOUND, "nf");
  mw__fed_merge_trace(a, r, 2, "ab", MW_FED_TRACE_V1, &ans);
  assert_int_equal(ans.rc, MW_ENOTFOUND);
  /* a part that is not JSON is a missing shard */
  mw_fed_part s[2] = {ok("http://a", "{\"batches\":[{\"resource\":{}}]}"), ok("http://b", "<html>")};
  mw__fed_merge_trace(a, s, 2, "ab", MW_FED_TRACE_V2, &ans);
  json_t *j = parsed(&ans);
  assert_string_equal(json_string_value(json_object_get(j, "status")), "PARTIAL");
  assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "federation"), "answered")), 1);
  json_decref(j);
  mw__arena_free(a);
}

/* The peer list (query/fed.c): plain URLs as given, dns+ names resolved to
 * every address, bad entries refused naming them. */
static void test_peers(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  char err[256];
  mw_fed *f;
  const char **v;
  assert_int_equal(mw__fed_new(" http://a:1 ,http://b:2/,,https://[::1]:3", 0, 1000000000, &f, err, sizeof err), MW_OK);
  assert_int_equal(mw__fed_shards(f, a, &v), 3);
  assert_string_equal(v[0], "http://a:1");
  assert_string_equal(v[1], "http://b:2");
  assert_string_equal(v[2], "https://[::1]:3");
  mw__fed_free(f);
  /* re-resolved at every call with a refresh of 1 ns */
  assert_int_equal(mw__fed_new("dns+http://localhost:4318", 1, 1000000000, &f, err, sizeof err), MW_OK);
  for (int k = 0; k < 2; k++) {
    size_t n = mw__fed_shards(f, a, &v);
    assert_true(n >= 1);
    for (size_t i = 0; i < n; i++)
      assert_true(strcmp(v[i], "http://127.0.0.1:4318") == 0 || strcmp(v[i], "http://[::1]:4318") == 0);
  }
  mw__fed_free(f);
  static const char *const bad[] = {"ftp://x:1", "http://", "dns+http://localhost", "http://a:1/path", " , "};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(mw__fed_new(bad[i], 0, 1000000000, &f, err, sizeof err), MW_EINVAL);
    assert_non_null(strstr(err, "--peers"));
  }
  mw__arena_free(a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_services), cmocka_unit_test(test_services_cut), cmocka_unit_test(test_sources),
      cmocka_unit_test(test_search),   cmocka_unit_test(test_operations),   cmocka_unit_test(test_bucket),
      cmocka_unit_test(test_errors),   cmocka_unit_test(test_peers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

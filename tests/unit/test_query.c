/* Tests for the query layer (server/query/) on a temporary store: each
 * answer of the read endpoints on a small data set, with the JSON written
 * out by hand (not taken from the code); errors as answers with a message
 * (an unknown object, a store that cannot be read), never a body; and one
 * read transaction per query, opened at the first read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <zstd.h>

#include "core/error.h"
#include "decode/span_form.h"
#include "model/snapshot_meta.h"
#include "query/catalog.h"
#include "query/runtime.h"
#include "query/traces.h"
#include "store_fixture.h"

#define MS 1000000LL
static const int64_t T0 = 1800000000000000000LL;
static const uint8_t T1[16] = {0x7e, [15] = 0x01}, T2[16] = {0x7e, [15] = 0x02};
static const char DUMP[] = "goroutine 1 [chan receive]:\nmain.main()\n\tmain.go:5 +0x1d\n";

typedef Opentelemetry__Proto__Common__V1__KeyValue kv;
typedef Opentelemetry__Proto__Common__V1__AnyValue any;

typedef struct fx {
  sfx f;
  mw_arena *a;
  size_t zstd_len; /* the dump's payload as zstd gave it */
} fx;

static kv *attr(const char *key, const char *value, any *v, kv *p) {
  opentelemetry__proto__common__v1__any_value__init(v);
  v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
  v->string_value = (char *)value;
  opentelemetry__proto__common__v1__key_value__init(p);
  p->key = (char *)key;
  p->value = v;
  return p;
}

/* A span in the stored form, as ingest makes it. */
static void put_span(mw_arena *a, const uint8_t trace[16], int id, int parent, const char *name, int kind,
                     int64_t start_ms, int64_t dur_ms, mw_otlp_span *extra, mw_span_row *row) {
  mw_otlp_span sp = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT;
  if (extra) sp = *extra;
  uint8_t sid[8] = {[7] = (uint8_t)id}, pid[8] = {[7] = (uint8_t)parent};
  sp.trace_id = (ProtobufCBinaryData){16, (uint8_t *)trace};
  sp.span_id = (ProtobufCBinaryData){8, sid};
  sp.parent_span_id = (ProtobufCBinaryData){parent ? 8 : 0, pid};
  sp.name = (char *)name;
  sp.kind = kind;
  sp.start_time_unix_nano = (uint64_t)(T0 + start_ms * MS);
  sp.end_time_unix_nano = (uint64_t)(T0 + (start_ms + dur_ms) * MS);
  assert_int_equal(mw__span_form_put_span(a, &sp, row), MW_OK);
}

/* shop/i-1, scope "lib":
 *   T1 @0     GET /cart (server) 100 ms > db.query (client) at 10 ms, 30 ms, error "timeout", db.system=postgresql
 *   T2 @1 s   GET /cart (server) 50 ms
 * runtime: a GC cycle at 2 s, a SCHED line at 2.5 s, a debug=2 dump at 3 s
 * (3 goroutines in chan receive, taken for "goroutines"). */
static int setup(void **state) {
  fx *x = calloc(1, sizeof *x);
  if (sfx_open(&x->f)) return -1;
  mw_arena *a = x->a = mw__arena_new(0);
  any v[3];
  kv p[3];
  kv *res_attrs[2] = {attr("service.name", "shop", &v[0], &p[0]), attr("service.instance.id", "i-1", &v[1], &p[1])};
  mw_otlp_resource res = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
  res.attributes = res_attrs;
  res.n_attributes = 2;
  mw_otlp_scope scope = OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
  scope.name = "lib";
  mw_resource_ref rref;
  mw_scope_ref sref;
  assert_int_equal(mw__span_form_put_resource(a, &res, "", &rref), MW_OK);
  assert_int_equal(mw__span_form_put_scope(a, &scope, "", &sref), MW_OK);
  mw_otlp_span child = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT;
  kv *child_attrs[1] = {attr("db.system", "postgresql", &v[2], &p[2])};
  child.attributes = child_attrs;
  child.n_attributes = 1;
  Opentelemetry__Proto__Trace__V1__Status st = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT;
  st.code = 2;
  st.message = "timeout";
  child.status = &st;
  mw_span_row rows[3];
  memset(rows, 0, sizeof rows); /* one resource, one scope: index 0 of each */
  put_span(a, T1, 1, 0, "GET /cart", 2, 0, 100, NULL, &rows[0]);
  put_span(a, T1, 2, 1, "db.query", 3, 10, 30, &child, &rows[1]);
  put_span(a, T2, 3, 0, "GET /cart", 2, 1000, 50, NULL, &rows[2]);
  mw_span_batch spans = {
      .resources = &rref, .n_resources = 1, .scopes = &sref, .n_scopes = 1, .rows = rows, .n_rows = 3};

  mw_gc_cycle gc = {.n = 1,
                    .start_ns = T0 + 2000 * MS,
                    .stw_sweep_term_ns = 1 * MS,
                    .concurrent_mark_ns = 2 * MS,
                    .stw_mark_term_ns = 1 * MS,
                    .heap_before = 4,
                    .heap_after = 3,
                    .heap_live = 2,
                    .goal = 5,
                    .stacks = -1,
                    .globals = -1,
                    .procs = 2};
  mw_sched_sample sched = {.stamp_ns = T0 + 2500 * MS, .gomaxprocs = 2, .threads = 5, .local_runq_sum = -1};
  mw_runtime_batch lines = {.service = "shop", .instance = "i-1", .gc = &gc, .n_gc = 1, .sched = &sched, .n_sched = 1};

  mw_snapshot_meta m;
  mw__snapshot_meta_init(&m);
  m.format = "debug=2";
  m.has_by_state = 1;
  m.by_state[MW_G_CHAN] = 3;
  m.trigger = "goroutines";
  mw_buf mb;
  mw__buf_init(&mb, 4096);
  mw_jsonw w;
  mw__jw_init(&w, &mb);
  mw__snapshot_meta_write(&w, &m);
  size_t zcap = ZSTD_compressBound(sizeof DUMP - 1);
  uint8_t *z = mw__arena_alloc(a, zcap);
  size_t zl = x->zstd_len = ZSTD_compress(z, zcap, DUMP, sizeof DUMP - 1, 1);
  static const char STACK[] = "main.main\tmain.go:5\n";
  mw_stack_text stack = {STACK, sizeof STACK - 1};
  mw_goroutine_group g = {
      .state = MW_G_CHAN, .wait_reason = "chan receive", .count = 3, .wait_min_ns = -1, .wait_max_ns = -1};
  mw_runtime_batch dump = {.service = "shop",
                           .instance = "i-1",
                           .kind = "goroutine",
                           .format = "debug=2",
                           .at_ns = T0 + 3000 * MS,
                           .total = 3,
                           .meta_json = mb.data,
                           .payload = z,
                           .payload_len = zl,
                           .raw_bytes = sizeof DUMP - 1,
                           .stacks = &stack,
                           .n_stacks = 1,
                           .groups = &g,
                           .n_groups = 1};
  mw_write_job jobs[3] = {{.kind = MW_JOB_SPANS, .payload = &spans, .cost_spans = 3},
                          {.kind = MW_JOB_RUNTIME, .payload = &lines},
                          {.kind = MW_JOB_RUNTIME, .payload = &dump}};
  int rc = sfx_commit(&x->f, jobs, 3);
  mw__buf_free(&mb);
  *state = x;
  return rc;
}

static int teardown(void **state) {
  fx *x = *state;
  mw__arena_free(x->a);
  sfx_close(&x->f);
  free(x);
  return 0;
}

/* A query as a request makes it: one query, the answer checked, then ended. */
#define ASK(x, call, want_rc)                                                                                          \
  do {                                                                                                                 \
    mw_query q;                                                                                                        \
    mw__query_begin(&q, (x)->f.s, (x)->a, 0, NULL);                                                                    \
    mw_query *qp = &q;                                                                                                 \
    (void)qp;                                                                                                          \
    int rc_ = (call);                                                                                                  \
    assert_int_equal(mw__query_end(&q), 0);                                                                            \
    if (rc_ != (want_rc)) fail_msg("%s: rc %d (%s)", #call, rc_, a.error);                                             \
  } while (0)

static void expect_json(mw_answer *a, const char *want) {
  assert_int_equal(a->rc, MW_OK);
  assert_string_equal(a->content_type, "application/json");
  assert_string_equal(a->body.data, want);
  mw__answer_free(a);
}

static void test_trace(void **state) {
  fx *x = *state;
  mw_answer a;
  ASK(x, mw__q_trace(qp, T1, &a), MW_OK);
  expect_json(
      &a, "{\"batches\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":"
          "\"shop\"}},{\"key\":\"service.instance.id\",\"value\":{\"stringValue\":\"i-1\"}}]},\"scopeSpans\":[{"
          "\"scope\":{\"name\":\"lib\"},\"spans\":["
          "{\"traceId\":\"7e000000000000000000000000000001\",\"spanId\":\"0000000000000001\",\"name\":\"GET /cart\","
          "\"kind\":2,\"startTimeUnixNano\":\"1800000000000000000\",\"endTimeUnixNano\":\"1800000000100000000\","
          "\"status\":{}},"
          "{\"traceId\":\"7e000000000000000000000000000001\",\"spanId\":\"0000000000000002\",\"parentSpanId\":"
          "\"0000000000000001\",\"name\":\"db.query\",\"kind\":3,\"startTimeUnixNano\":\"1800000000010000000\","
          "\"endTimeUnixNano\":\"1800000000040000000\",\"attributes\":[{\"key\":\"db.system\",\"value\":{"
          "\"stringValue\":\"postgresql\"}}],\"status\":{\"message\":\"timeout\",\"code\":2}}]}]}]}");
  uint8_t unknown[16] = {[15] = 9};
  ASK(x, mw__q_trace(qp, unknown, &a), MW_ENOTFOUND);
  assert_string_equal(a.error, "trace 00000000000000000000000000000009 not found");
  assert_null(a.body.data);
}

static void test_search(void **state) {
  fx *x = *state;
  mw_answer a;
  mw_search_query s = {.max_dur_ns = INT64_MAX, .end_ns = INT64_MAX, .page = {.limit = 20, .max_bytes = 1 << 20}};
  ASK(x, mw__q_search(qp, &s, &a), MW_OK);
  expect_json(
      &a, "{\"traces\":[{\"traceID\":\"7e000000000000000000000000000001\",\"rootServiceName\":\"shop\","
          "\"rootTraceName\":\"GET /cart\",\"startTimeUnixNano\":\"1800000000000000000\",\"durationMs\":100,"
          "\"matchedSpanDurationMs\":100},{\"traceID\":\"7e000000000000000000000000000002\",\"rootServiceName\":"
          "\"shop\",\"rootTraceName\":\"GET /cart\",\"startTimeUnixNano\":\"1800000001000000000\",\"durationMs\":50,"
          "\"matchedSpanDurationMs\":50}],\"more\":false}");
  /* a page of one: the next starts at 1 */
  s.page.limit = 1;
  s.name = "db.query";
  ASK(x, mw__q_search(qp, &s, &a), MW_OK);
  expect_json(&a, "{\"traces\":[{\"traceID\":\"7e000000000000000000000000000001\",\"rootServiceName\":\"shop\","
                  "\"rootTraceName\":\"GET /cart\",\"startTimeUnixNano\":\"1800000000000000000\",\"durationMs\":100,"
                  "\"matchedSpanDurationMs\":30}],\"more\":false}");
}

static void test_catalog(void **state) {
  fx *x = *state;
  mw_answer a;
  mw_page pg = {.limit = 1000, .max_bytes = 1 << 20};
  ASK(x, mw__q_services(qp, NULL, &pg, &a), MW_OK);
  expect_json(&a, "{\"services\":[{\"name\":\"shop\",\"span_count\":3,\"operation_count\":2,\"instance_count\":1}],"
                  "\"more\":false}");
  /* nearest rank over GET /cart's 50 and 100 ms: p50 the 1st, p90 and p99 the 2nd */
  mw_operations_query op = {.service = "shop", .start_ns = 0, .end_ns = INT64_MAX, .page = pg};
  ASK(x, mw__q_operations(qp, &op, &a), MW_OK);
  expect_json(&a, "{\"service\":\"shop\",\"operations\":[{\"name\":\"GET /cart\",\"count\":2,\"p50_ns\":50000000,"
                  "\"p90_ns\":100000000,\"p99_ns\":100000000,\"max_ns\":100000000},{\"name\":\"db.query\",\"count\":1,"
                  "\"p50_ns\":30000000,\"p90_ns\":30000000,\"p99_ns\":30000000,\"max_ns\":30000000}],\"more\":false}");
  op.page.limit = 1;
  ASK(x, mw__q_operations(qp, &op, &a), MW_OK);
  expect_json(&a, "{\"service\":\"shop\",\"operations\":[{\"name\":\"GET /cart\",\"count\":2,\"p50_ns\":50000000,"
                  "\"p90_ns\":100000000,\"p99_ns\":100000000,\"max_ns\":100000000}],\"more\":true,\"next_offset\":1}");
  op.service = "nosuch";
  ASK(x, mw__q_operations(qp, &op, &a), MW_ENOTFOUND);
  assert_string_equal(a.error, "service \"nosuch\" not found");
  /* the source: from the first span's start to the dump's time */
  ASK(x, mw__q_sources(qp, &pg, &a), MW_OK);
  expect_json(&a, "{\"sources\":[{\"id\":1,\"service\":\"shop\",\"instance\":\"i-1\",\"first_ns\":1800000000000000000,"
                  "\"last_ns\":1800000003000000000}],\"more\":false}");
}

static void test_runtime(void **state) {
  fx *x = *state;
  mw_answer a;
  const char *source =
      "{\"source\":{\"id\":1,\"service\":\"shop\",\"instance\":\"i-1\",\"first_ns\":1800000000000000000,"
      "\"last_ns\":1800000003000000000},";
  char want[2048];
  mw_lane_query l = {.source_id = 1, .lane = MW_LANE_SCHED, .start_ns = 0, .end_ns = INT64_MAX, .limit = 10};
  ASK(x, mw__q_lane(qp, &l, &a), MW_OK);
  snprintf(want, sizeof want,
           "%s\"samples\":[{\"time_ns\":1800000002500000000,\"gomaxprocs\":2,\"idleprocs\":0,\"threads\":5,"
           "\"spinningthreads\":0,\"idlethreads\":0,\"runqueue\":0}],\"more\":false}",
           source);
  expect_json(&a, want);
  /* the trigger comes out of the meta */
  l.lane = MW_LANE_SNAPSHOTS;
  ASK(x, mw__q_lane(qp, &l, &a), MW_OK);
  snprintf(want, sizeof want,
           "%s\"snapshots\":[{\"id\":1,\"kind\":\"goroutine\",\"format\":\"debug=2\",\"time_ns\":1800000003000000000,"
           "\"duration_ns\":0,\"total\":3,\"trigger\":\"goroutines\"}],\"more\":false}",
           source);
  expect_json(&a, want);
  l.lane = MW_LANE_GC;
  ASK(x, mw__q_lane(qp, &l, &a), MW_OK);
  assert_non_null(
      strstr(a.body.data, "\"cycles\":[{\"n\":1,\"start_ns\":1800000002000000000,\"end_ns\":1800000002004000000,"));
  mw__answer_free(&a);
  l.source_id = 7;
  ASK(x, mw__q_lane(qp, &l, &a), MW_ENOTFOUND);
  assert_string_equal(a.error, "source 7 not found");

  /* raw_bytes: the dump's 57 bytes (28 + 12 + 17 by line) */
  ASK(x, mw__q_snapshot(qp, 1, 0, 10, &a), MW_OK);
  snprintf(want, sizeof want,
           "{\"id\":1,\"source_id\":1,\"kind\":\"goroutine\",\"format\":\"debug=2\",\"time_ns\":1800000003000000000,"
           "\"duration_ns\":0,\"total\":3,\"raw_bytes\":57,\"stored_payload_bytes\":%zu,\"meta\":{\"format\":"
           "\"debug=2\",\"by_state\":{\"chan\":3},\"trigger\":\"goroutines\"},\"groups\":[{\"state\":\"chan\","
           "\"wait_reason\":\"chan receive\",\"count\":3,\"stack_id\":1,\"frames\":[{\"func\":\"main.main\","
           "\"file\":\"main.go\",\"line\":5}]}],\"more\":false}",
           x->zstd_len);
  expect_json(&a, want);
  ASK(x, mw__q_snapshot_raw(qp, 1, &a), MW_OK);
  assert_string_equal(a.content_type, "text/plain; charset=utf-8");
  assert_int_equal(a.body.len, sizeof DUMP - 1);
  assert_memory_equal(a.body.data, DUMP, sizeof DUMP - 1);
  mw__answer_free(&a);
  ASK(x, mw__q_snapshot(qp, 2, 0, 10, &a), MW_ENOTFOUND);
  assert_string_equal(a.error, "snapshot 2 not found");
}

/* A store that cannot be read makes an error answer that says so, never an
 * empty list. */
static void test_read_errors(void **state) {
  fx *x = *state;
  mw_answer a;
  mw_page pg = {.limit = 10, .max_bytes = 1 << 20};
  assert_int_equal(sfx_exec(&x->f, "ALTER TABLE operations RENAME TO gone"), 0);
  ASK(x, mw__q_services(qp, NULL, &pg, &a), MW_EIO);
  assert_string_equal(a.error, "listing services failed: I/O error");
  assert_null(a.body.data);
  ASK(x, mw__q_trace(qp, T1, &a), MW_EIO);
  assert_string_equal(a.error, "reading the trace failed: I/O error");
  assert_int_equal(sfx_exec(&x->f, "ALTER TABLE gone RENAME TO operations; ALTER TABLE sched_samples RENAME TO gone"),
                   0);
  mw_lane_query l = {.source_id = 1, .lane = MW_LANE_SCHED, .start_ns = 0, .end_ns = INT64_MAX, .limit = 10};
  ASK(x, mw__q_lane(qp, &l, &a), MW_EIO);
  assert_string_equal(a.error, "query failed: I/O error");
  assert_int_equal(sfx_exec(&x->f, "ALTER TABLE gone RENAME TO sched_samples"), 0);
  ASK(x, mw__q_services(qp, NULL, &pg, &a), MW_OK);
  mw__answer_free(&a);
}

/* A query whose limit passed before its first read gets no read transaction:
 * the answer says why. */
static void test_stopped_before_reading(void **state) {
  fx *x = *state;
  _Atomic int stop = 1;
  mw_query q;
  mw__query_begin(&q, x->f.s, x->a, 0, &stop);
  mw_answer a;
  mw_page pg = {.limit = 10, .max_bytes = 1 << 20};
  assert_int_equal(mw__q_services(&q, NULL, &pg, &a), MW_ESHUTDOWN);
  assert_string_equal(a.error, "cannot read the database: shutting down");
  assert_null(q.rd);
  assert_int_equal(mw__query_end(&q), MW_ESHUTDOWN);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_trace),   cmocka_unit_test(test_search),      cmocka_unit_test(test_catalog),
      cmocka_unit_test(test_runtime), cmocka_unit_test(test_read_errors), cmocka_unit_test(test_stopped_before_reading),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

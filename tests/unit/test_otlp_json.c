/* Unit tests for the OTLP/JSON decoder (decode/otlp_json.c): real bodies from
 * the otel-js exporter and a Go service, the spec's synthetic example, the
 * leniencies (snake_case, enum names, numbers vs strings, hex case, legacy
 * instrumentationLibrarySpans), and the inputs that must fail with MW_EINVAL.
 * Expected values were read from the fixture files with python3's json module
 * (the commands are next to the numbers), never from the decoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "test_data.h"

#include "core/error.h"
#include "decode/otlp.h"

#define VCASE(x) OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_##x

typedef struct fx {
  mw_arena *a;
  mw_otlp_request *req;
  mw_otlp_flaws flaws;
  char err[512];
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  f->a = mw__arena_new(0);
  *state = f;
  return f->a ? 0 : -1;
}

static int teardown(void **state) {
  fx *f = *state;
  mw__arena_free(f->a);
  free(f);
  return 0;
}

static int decode_lim(fx *f, const char *json, size_t len, const mw_limits *lim) {
  f->req = NULL;
  f->err[0] = '\0';
  return mw__otlp_decode_json(f->a, json, len, lim, &f->req, &f->flaws, f->err, sizeof f->err);
}

static int decode(fx *f, const char *json) {
  const mw_limits lim = MW_LIMITS_DEFAULT;
  return decode_lim(f, json, strlen(json), &lim);
}

/* Decodes one span wrapped in a minimal request and returns it. */
static mw_otlp_span *decode_span(fx *f, const char *span_json) {
  char buf[4096];
  snprintf(buf, sizeof buf, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[%s]}]}]}", span_json);
  int rc = decode(f, buf);
  if (rc) fprintf(stderr, "decode failed: %s\n", f->err);
  assert_int_equal(rc, 0);
  assert_int_equal(f->req->n_resource_spans, 1);
  assert_int_equal(f->req->resource_spans[0]->n_scope_spans, 1);
  assert_int_equal(f->req->resource_spans[0]->scope_spans[0]->n_spans, 1);
  return f->req->resource_spans[0]->scope_spans[0]->spans[0];
}

/* Expects MW_EINVAL with a message that contains want. */
static void expect_einval(fx *f, const char *json, const char *want) {
  int rc = decode(f, json);
  assert_int_equal(rc, MW_EINVAL);
  assert_null(f->req);
  assert_true(f->err[0] != '\0');
  if (want && !strstr(f->err, want)) fail_msg("error \"%s\" lacks \"%s\"", f->err, want);
}

static char *read_file(const char *rel, size_t *len) { return mw_test_slurp(len, "%s/%s", MW_TEST_DATA, rel); }

static void assert_hex(const ProtobufCBinaryData *b, const char *hex) {
  size_t n = strlen(hex) / 2;
  assert_int_equal(b->len, n);
  for (size_t i = 0; i < n; i++) {
    unsigned x;
    sscanf(hex + 2 * i, "%2x", &x);
    assert_int_equal(b->data[i], x);
  }
}

static const mw_otlp_kv *attr(mw_otlp_kv **kvs, size_t n, const char *key) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(kvs[i]->key, key)) return kvs[i];
  fail_msg("no attribute %s", key);
  return NULL;
}

static size_t count_spans(const mw_otlp_request *req) {
  size_t n = 0;
  for (size_t i = 0; i < req->n_resource_spans; i++)
    for (size_t j = 0; j < req->resource_spans[i]->n_scope_spans; j++)
      n += req->resource_spans[i]->scope_spans[j]->n_spans;
  return n;
}

/* ---- real bodies -------------------------------------------------------- */

static void test_otel_js_body(void **state) {
  fx *f = *state;
  size_t len;
  char *body = read_file("otel-js/otlp-js-json-1.bin", &len);
  const mw_limits lim = MW_LIMITS_DEFAULT;
  int rc = decode_lim(f, body, len, &lim);
  if (rc) fprintf(stderr, "%s\n", f->err);
  assert_int_equal(rc, 0);
  free(body);

  /* Values below: python3 -c 'import json; d=json.load(open("otel-js/otlp-js-json-1.bin"));
   *   spans=[s for rs in d["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]];
   *   print(len(d["resourceSpans"]), len(spans), json.dumps(spans[0], indent=1))' etc.
   * 1 resourceSpans, 1 scopeSpans, 40 spans */
  assert_int_equal(f->req->n_resource_spans, 1);
  const mw_otlp_resource_spans *rs = f->req->resource_spans[0];
  assert_int_equal(rs->n_scope_spans, 1);
  assert_int_equal(count_spans(f->req), 40);

  /* resource: service.name=cart-json, service.instance.id=cart-json-1, host.name=node-a */
  assert_non_null(rs->resource);
  assert_int_equal(rs->resource->n_attributes, 3);
  assert_string_equal(rs->resource->attributes[0]->key, "service.name");
  assert_string_equal(rs->resource->attributes[0]->value->string_value, "cart-json");
  assert_string_equal(attr(rs->resource->attributes, 3, "host.name")->value->string_value, "node-a");
  /* scope: {'name': 'capture', 'version': '1.0.0'} */
  const mw_otlp_scope_spans *ss = rs->scope_spans[0];
  assert_string_equal(ss->scope->name, "capture");
  assert_string_equal(ss->scope->version, "1.0.0");

  /* spans[0], printed with json.dumps(spans[0], indent=1) */
  const mw_otlp_span *s = ss->spans[0];
  assert_hex(&s->trace_id, "61e32aaefb889f1da4ddd07d92279f9a");
  assert_hex(&s->span_id, "22652bd414fd9a66");
  assert_int_equal(s->parent_span_id.len, 0);
  assert_string_equal(s->name, "SELECT cart");
  assert_int_equal(s->kind, 1);
  assert_int_equal(s->start_time_unix_nano, 1795333766574000000ull);
  assert_int_equal(s->end_time_unix_nano, 1795333766575218155ull);
  assert_int_equal(s->flags, 257);
  assert_int_equal(s->n_attributes, 2);
  assert_string_equal(s->attributes[0]->key, "db.system");
  assert_int_equal(s->attributes[0]->value->value_case, VCASE(STRING_VALUE));
  assert_string_equal(s->attributes[0]->value->string_value, "postgresql");
  assert_string_equal(s->attributes[1]->key, "db.rows");
  assert_int_equal(s->attributes[1]->value->value_case, VCASE(INT_VALUE));
  assert_int_equal(s->attributes[1]->value->int_value, 0);
  assert_int_equal(s->n_events, 1);
  assert_string_equal(s->events[0]->name, "rows.fetched");
  assert_int_equal(s->events[0]->time_unix_nano, 1795333766574010395ull);
  assert_int_equal(s->events[0]->n_attributes, 1);
  assert_string_equal(s->events[0]->attributes[0]->key, "count");
  assert_int_equal(s->events[0]->attributes[0]->value->int_value, 0);
  assert_non_null(s->status);
  assert_int_equal(s->status->code, 0);
  assert_int_equal(s->n_links, 0);

  /* spans[1]: GET /cart with the other value types and an error status */
  s = ss->spans[1];
  assert_hex(&s->trace_id, "cf9325fd325f06b3cde3e060059705f4");
  assert_hex(&s->span_id, "950e5ff3a418840a");
  assert_string_equal(s->name, "GET /cart");
  assert_int_equal(s->kind, 2);
  assert_int_equal(s->start_time_unix_nano, 1795333766574000000ull);
  assert_int_equal(s->end_time_unix_nano, 1795333766575311923ull);
  assert_int_equal(s->n_attributes, 5);
  const mw_otlp_value *v = attr(s->attributes, 5, "http.response.status_code")->value;
  assert_int_equal(v->value_case, VCASE(INT_VALUE));
  assert_int_equal(v->int_value, 500);
  v = attr(s->attributes, 5, "tags")->value;
  assert_int_equal(v->value_case, VCASE(ARRAY_VALUE));
  assert_int_equal(v->array_value->n_values, 2);
  assert_string_equal(v->array_value->values[0]->string_value, "a");
  assert_string_equal(v->array_value->values[1]->string_value, "b");
  v = attr(s->attributes, 5, "ratio")->value;
  assert_int_equal(v->value_case, VCASE(DOUBLE_VALUE));
  assert_true(v->double_value == 0.5);
  v = attr(s->attributes, 5, "ok")->value;
  assert_int_equal(v->value_case, VCASE(BOOL_VALUE));
  assert_true(v->bool_value);
  assert_int_equal(s->n_events, 0);
  assert_int_equal(s->status->code, 2);
  assert_string_equal(s->status->message, "upstream failed");

  /* aggregates, e.g. sum(1 for s in spans if s["status"].get("code")==2):
   * 3 spans with status code 2, 20 events, 140 span attributes, 20 SERVER
   * spans; json.dumps(spans[-1]) shows traceId 002bc0db... and ratio 19.5 */
  size_t errors = 0, events = 0, attrs = 0, servers = 0;
  for (size_t i = 0; i < ss->n_spans; i++) {
    errors += ss->spans[i]->status && ss->spans[i]->status->code == 2;
    events += ss->spans[i]->n_events;
    attrs += ss->spans[i]->n_attributes;
    servers += ss->spans[i]->kind == 2;
  }
  assert_int_equal(errors, 3);
  assert_int_equal(events, 20);
  assert_int_equal(attrs, 140);
  assert_int_equal(servers, 20);
  s = ss->spans[39];
  assert_hex(&s->trace_id, "002bc0dbc864eddc1da981ab1a14959f");
  assert_true(attr(s->attributes, s->n_attributes, "ratio")->value->double_value == 19.5);
}

static void test_go_jsonl(void **state) {
  fx *f = *state;
  size_t len;
  char *body = read_file("go1.19-checkout/spans.otlp.jsonl", &len);
  const mw_limits lim = MW_LIMITS_DEFAULT;
  /* python3: for each non-empty line l: r=json.loads(l); count spans over
   * r["resourceSpans"][*]["scopeSpans"][*]["spans"], those whose
   * len(s.get("parentSpanId",""))==16, and len(s.get("attributes",[])):
   * 17 lines, 2880 spans, 1920 with a parent, 1920 span attributes */
  static const size_t per_line[] = {177, 180, 180, 180, 180, 178, 180, 180, 180, 180, 182, 178, 182, 178, 182, 178, 5};
  size_t lines = 0, total = 0, parents = 0, attrs = 0;
  for (char *p = body, *end = body + len; p < end;) {
    char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
    if (n) {
      int rc = decode_lim(f, p, n, &lim);
      if (rc) fail_msg("line %zu: %s", lines + 1, f->err);
      size_t c = count_spans(f->req);
      assert_true(lines < sizeof per_line / sizeof per_line[0]);
      assert_int_equal(c, per_line[lines]);
      total += c;
      const mw_otlp_resource_spans *rs = f->req->resource_spans[0];
      assert_string_equal(rs->resource->attributes[0]->value->string_value, "checkout");
      for (size_t i = 0; i < rs->scope_spans[0]->n_spans; i++) {
        const mw_otlp_span *s = rs->scope_spans[0]->spans[i];
        assert_int_equal(s->trace_id.len, 16);
        assert_int_equal(s->span_id.len, 8);
        assert_true(s->end_time_unix_nano >= s->start_time_unix_nano);
        parents += s->parent_span_id.len == 8;
        attrs += s->n_attributes;
      }
      lines++;
    }
    p += n + 1;
  }
  free(body);
  assert_int_equal(lines, 17);
  assert_int_equal(total, 2880);
  assert_int_equal(parents, 1920);
  assert_int_equal(attrs, 1920);
}

/* The synthetic request of the spec, section 5. */
static void test_spec_example(void **state) {
  fx *f = *state;
  static const char json[] = "{\"resourceSpans\":[{\"resource\":{\"attributes\":["
                             "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"checkout\"}},"
                             "{\"key\":\"service.instance.id\",\"value\":{\"stringValue\":"
                             "\"3f1c9e2a-77b0-4d1e-9a53-0c2f6b1d8e44\"}},"
                             "{\"key\":\"host.name\",\"value\":{\"stringValue\":\"node-7\"}},"
                             "{\"key\":\"process.pid\",\"value\":{\"intValue\":\"4127\"}}]},"
                             "\"scopeSpans\":[{\"scope\":{\"name\":\"example/http\",\"version\":\"0.3.0\"},"
                             "\"spans\":[{\"traceId\":\"0af7651916cd43dd8448eb211c80319c\","
                             "\"spanId\":\"b7ad6b7169203331\",\"parentSpanId\":\"\",\"name\":\"GET /cart\","
                             "\"kind\":2,\"startTimeUnixNano\":\"1700000000000000000\","
                             "\"endTimeUnixNano\":\"1700000000012500000\",\"flags\":257,"
                             "\"attributes\":[{\"key\":\"http.response.status_code\",\"value\":{\"intValue\":200}}],"
                             "\"events\":[{\"timeUnixNano\":\"1700000000001000000\",\"name\":\"cache.miss\"}],"
                             "\"status\":{\"code\":1}}]}]}]}";
  assert_int_equal(decode(f, json), 0);
  const mw_otlp_resource_spans *rs = f->req->resource_spans[0];
  assert_int_equal(rs->resource->n_attributes, 4);
  assert_string_equal(rs->resource->attributes[1]->value->string_value, "3f1c9e2a-77b0-4d1e-9a53-0c2f6b1d8e44");
  assert_int_equal(rs->resource->attributes[3]->value->value_case, VCASE(INT_VALUE));
  assert_int_equal(rs->resource->attributes[3]->value->int_value, 4127);
  assert_string_equal(rs->scope_spans[0]->scope->name, "example/http");
  assert_string_equal(rs->scope_spans[0]->scope->version, "0.3.0");
  const mw_otlp_span *s = rs->scope_spans[0]->spans[0];
  assert_hex(&s->trace_id, "0af7651916cd43dd8448eb211c80319c");
  assert_hex(&s->span_id, "b7ad6b7169203331");
  assert_int_equal(s->parent_span_id.len, 0);
  assert_string_equal(s->name, "GET /cart");
  assert_int_equal(s->kind, 2);
  assert_int_equal(s->start_time_unix_nano, 1700000000000000000ull);
  assert_int_equal(s->end_time_unix_nano, 1700000000012500000ull);
  assert_int_equal(s->flags, 257);
  assert_int_equal(s->attributes[0]->value->int_value, 200);
  assert_int_equal(s->n_events, 1);
  assert_int_equal(s->events[0]->time_unix_nano, 1700000000001000000ull);
  assert_string_equal(s->events[0]->name, "cache.miss");
  assert_int_equal(s->events[0]->n_attributes, 0);
  assert_int_equal(s->status->code, 1);
  assert_string_equal(s->status->message, "");
  assert_string_equal(s->trace_state, "");
}

/* ---- leniencies --------------------------------------------------------- */

static void test_int64_numbers_and_strings(void **state) {
  fx *f = *state;
  mw_otlp_span *s = decode_span(f, "{\"startTimeUnixNano\":1700000000000000000,"
                                   "\"endTimeUnixNano\":\"18446744073709551615\","
                                   "\"attributes\":["
                                   "{\"key\":\"a\",\"value\":{\"intValue\":-5}},"
                                   "{\"key\":\"b\",\"value\":{\"intValue\":\"-5\"}},"
                                   "{\"key\":\"c\",\"value\":{\"intValue\":\"-9223372036854775808\"}},"
                                   "{\"key\":\"d\",\"value\":{\"intValue\":9223372036854775807}},"
                                   "{\"key\":\"e\",\"value\":{\"intValue\":1e3}}],"
                                   "\"droppedAttributesCount\":\"7\",\"flags\":\"4294967295\"}");
  assert_int_equal(s->start_time_unix_nano, 1700000000000000000ull);
  assert_true(s->end_time_unix_nano == UINT64_MAX);
  assert_true(s->attributes[0]->value->int_value == -5);
  assert_true(s->attributes[1]->value->int_value == -5);
  assert_true(s->attributes[2]->value->int_value == INT64_MIN);
  assert_true(s->attributes[3]->value->int_value == INT64_MAX);
  assert_true(s->attributes[4]->value->int_value == 1000);
  assert_int_equal(s->dropped_attributes_count, 7);
  assert_true(s->flags == UINT32_MAX);

  /* A uint64 above 2^63-1 as a JSON number overflows jansson: the body is refused. */
  expect_einval(f,
                "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":["
                "{\"startTimeUnixNano\":18446744073709551615}]}]}]}",
                "line 1");
  static const char *bad[] = {
      "{\"startTimeUnixNano\":\"18446744073709551616\"}", /* 2^64 */
      "{\"startTimeUnixNano\":\"-1\"}",
      "{\"startTimeUnixNano\":-1}",
      "{\"startTimeUnixNano\":\" 12\"}",
      "{\"startTimeUnixNano\":\"+12\"}",
      "{\"startTimeUnixNano\":\"12a\"}",
      "{\"startTimeUnixNano\":\"\"}",
      "{\"startTimeUnixNano\":1.5}",
      "{\"startTimeUnixNano\":true}",
      "{\"flags\":4294967296}",
      "{\"droppedEventsCount\":\"-1\"}",
      "{\"attributes\":[{\"key\":\"x\",\"value\":{\"intValue\":\"9223372036854775808\"}}]}",
      "{\"attributes\":[{\"key\":\"x\",\"value\":{\"intValue\":\"1\\u00002\"}}]}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char buf[512];
    snprintf(buf, sizeof buf, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[%s]}]}]}", bad[i]);
    expect_einval(f, buf, "resourceSpans[0].scopeSpans[0].spans[0].");
  }
}

static void test_enum_names(void **state) {
  fx *f = *state;
  mw_otlp_span *s = decode_span(f, "{\"kind\":\"SPAN_KIND_CLIENT\",\"status\":{\"code\":\"STATUS_CODE_ERROR\"}}");
  assert_int_equal(s->kind, 3);
  assert_int_equal(s->status->code, 2);
  s = decode_span(f, "{\"kind\":\"SPAN_KIND_CONSUMER\",\"status\":{\"code\":\"STATUS_CODE_OK\"}}");
  assert_int_equal(s->kind, 5);
  assert_int_equal(s->status->code, 1);
  s = decode_span(f, "{\"kind\":\"4\",\"status\":{\"code\":\"0\"}}");
  assert_int_equal(s->kind, 4);
  assert_int_equal(s->status->code, 0);
  s = decode_span(f, "{\"kind\":9}"); /* proto3 enums are open: kept for validation */
  assert_int_equal(s->kind, 9);
  expect_einval(f, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"kind\":\"SPAN_KIND_BOGUS\"}]}]}]}",
                "spans[0].kind");
  expect_einval(f, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"kind\":\"span_kind_server\"}]}]}]}", "kind");
  expect_einval(f, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"status\":{\"code\":true}}]}]}]}",
                "spans[0].status.code");
}

static void test_snake_case(void **state) {
  fx *f = *state;
  static const char json[] = "{\"resource_spans\":[{\"schema_url\":\"https://example.com/r\","
                             "\"resource\":{\"attributes\":[{\"key\":\"k\",\"value\":{\"string_value\":\"v\"}}],"
                             "\"dropped_attributes_count\":2},"
                             "\"scope_spans\":[{\"schema_url\":\"https://example.com/s\",\"spans\":[{"
                             "\"trace_id\":\"0102030405060708090a0b0c0d0e0f10\",\"span_id\":\"1112131415161718\","
                             "\"parent_span_id\":\"2122232425262728\",\"trace_state\":\"a=b\","
                             "\"start_time_unix_nano\":\"5\",\"end_time_unix_nano\":6,"
                             "\"dropped_attributes_count\":1,\"dropped_events_count\":2,\"dropped_links_count\":3,"
                             "\"attributes\":[{\"key\":\"i\",\"value\":{\"int_value\":\"42\"}},"
                             "{\"key\":\"d\",\"value\":{\"double_value\":2.5}},"
                             "{\"key\":\"b\",\"value\":{\"bool_value\":true}},"
                             "{\"key\":\"y\",\"value\":{\"bytes_value\":\"AQID\"}},"
                             "{\"key\":\"l\",\"value\":{\"kvlist_value\":{\"values\":[{\"key\":\"x\",\"value\":"
                             "{\"array_value\":{\"values\":[{\"int_value\":1}]}}}]}}}],"
                             "\"events\":[{\"time_unix_nano\":\"7\",\"name\":\"e\",\"dropped_attributes_count\":4}],"
                             "\"links\":[{\"trace_id\":\"0102030405060708090a0b0c0d0e0f10\","
                             "\"span_id\":\"3132333435363738\",\"trace_state\":\"c=d\",\"dropped_attributes_count\":5}]"
                             "}]}]}]}";
  int rc = decode(f, json);
  if (rc) fprintf(stderr, "%s\n", f->err);
  assert_int_equal(rc, 0);
  const mw_otlp_resource_spans *rs = f->req->resource_spans[0];
  assert_string_equal(rs->schema_url, "https://example.com/r");
  assert_int_equal(rs->resource->dropped_attributes_count, 2);
  assert_string_equal(rs->resource->attributes[0]->value->string_value, "v");
  assert_string_equal(rs->scope_spans[0]->schema_url, "https://example.com/s");
  const mw_otlp_span *s = rs->scope_spans[0]->spans[0];
  assert_hex(&s->trace_id, "0102030405060708090a0b0c0d0e0f10");
  assert_hex(&s->span_id, "1112131415161718");
  assert_hex(&s->parent_span_id, "2122232425262728");
  assert_string_equal(s->trace_state, "a=b");
  assert_int_equal(s->start_time_unix_nano, 5);
  assert_int_equal(s->end_time_unix_nano, 6);
  assert_int_equal(s->dropped_attributes_count, 1);
  assert_int_equal(s->dropped_events_count, 2);
  assert_int_equal(s->dropped_links_count, 3);
  assert_int_equal(s->attributes[0]->value->int_value, 42);
  assert_true(s->attributes[1]->value->double_value == 2.5);
  assert_true(s->attributes[2]->value->bool_value);
  assert_hex(&s->attributes[3]->value->bytes_value, "010203");
  const mw_otlp_value *l = s->attributes[4]->value;
  assert_int_equal(l->value_case, VCASE(KVLIST_VALUE));
  assert_int_equal(l->kvlist_value->values[0]->value->array_value->values[0]->int_value, 1);
  assert_int_equal(s->events[0]->time_unix_nano, 7);
  assert_int_equal(s->events[0]->dropped_attributes_count, 4);
  assert_hex(&s->links[0]->span_id, "3132333435363738");
  assert_string_equal(s->links[0]->trace_state, "c=d");
  assert_int_equal(s->links[0]->dropped_attributes_count, 5);
}

static void test_hex_case_insensitive(void **state) {
  fx *f = *state;
  mw_otlp_span *s = decode_span(f, "{\"traceId\":\"0AF7651916CD43DD8448EB211C80319C\","
                                   "\"spanId\":\"B7aD6b7169203331\",\"parentSpanId\":\"ABCDEFabcdef0123\","
                                   "\"links\":[{\"traceId\":\"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF\","
                                   "\"spanId\":\"0000000000000001\",\"flags\":512}]}");
  assert_hex(&s->trace_id, "0af7651916cd43dd8448eb211c80319c");
  assert_hex(&s->span_id, "b7ad6b7169203331");
  assert_hex(&s->parent_span_id, "abcdefabcdef0123");
  assert_int_equal(s->n_links, 1);
  assert_hex(&s->links[0]->trace_id, "ffffffffffffffffffffffffffffffff");
  assert_hex(&s->links[0]->span_id, "0000000000000001");
  assert_int_equal(s->links[0]->flags, 512);
}

/* Valid hex of the wrong length decodes: validation rejects the span alone. */
static void test_wrong_length_id_decodes(void **state) {
  fx *f = *state;
  mw_otlp_span *s = decode_span(f, "{\"traceId\":\"0102030405\",\"spanId\":\"\","
                                   "\"parentSpanId\":\"0a0b0c0d0e0f101112\"}");
  assert_hex(&s->trace_id, "0102030405");
  assert_int_equal(s->span_id.len, 0);
  assert_int_equal(s->parent_span_id.len, 9);
}

static void test_legacy_instrumentation_library(void **state) {
  fx *f = *state;
  assert_int_equal(decode(f, "{\"resourceSpans\":[{\"instrumentationLibrarySpans\":[{"
                             "\"instrumentationLibrary\":{\"name\":\"old\",\"version\":\"0.1\"},"
                             "\"spans\":[{\"name\":\"a\"},{\"name\":\"b\"}]}]}]}"),
                   0);
  const mw_otlp_scope_spans *ss = f->req->resource_spans[0]->scope_spans[0];
  assert_string_equal(ss->scope->name, "old");
  assert_string_equal(ss->scope->version, "0.1");
  assert_int_equal(ss->n_spans, 2);
  assert_string_equal(ss->spans[1]->name, "b");
  /* scopeSpans wins when both are present */
  assert_int_equal(decode(f, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"new\"}]}],"
                             "\"instrumentationLibrarySpans\":[{\"spans\":[{\"name\":\"old\"}]}]}]}"),
                   0);
  assert_string_equal(f->req->resource_spans[0]->scope_spans[0]->spans[0]->name, "new");
  assert_int_equal(f->req->resource_spans[0]->n_scope_spans, 1);
}

static void test_doubles_bools_and_bytes(void **state) {
  fx *f = *state;
  mw_otlp_span *s = decode_span(f, "{\"attributes\":["
                                   "{\"key\":\"nan\",\"value\":{\"doubleValue\":\"NaN\"}},"
                                   "{\"key\":\"inf\",\"value\":{\"doubleValue\":\"Infinity\"}},"
                                   "{\"key\":\"ninf\",\"value\":{\"doubleValue\":\"-Infinity\"}},"
                                   "{\"key\":\"int\",\"value\":{\"doubleValue\":3}},"
                                   "{\"key\":\"str\",\"value\":{\"doubleValue\":\"-1.25e2\"}},"
                                   "{\"key\":\"b64\",\"value\":{\"bytesValue\":\"AQI=\"}},"
                                   "{\"key\":\"b64nopad\",\"value\":{\"bytesValue\":\"AQ\"}},"
                                   "{\"key\":\"b64url\",\"value\":{\"bytesValue\":\"-_8\"}},"
                                   "{\"key\":\"empty\",\"value\":{\"bytesValue\":\"\"}},"
                                   "{\"key\":\"f\",\"value\":{\"boolValue\":false}}]}");
  assert_int_equal(s->n_attributes, 10);
  const mw_otlp_value *v[10];
  for (size_t i = 0; i < 10; i++) v[i] = s->attributes[i]->value;
  assert_true(isnan(v[0]->double_value));
  assert_true(isinf(v[1]->double_value) && v[1]->double_value > 0);
  assert_true(isinf(v[2]->double_value) && v[2]->double_value < 0);
  assert_true(v[3]->double_value == 3.0);
  assert_true(v[4]->double_value == -125.0);
  assert_int_equal(v[5]->value_case, VCASE(BYTES_VALUE));
  assert_hex(&v[5]->bytes_value, "0102");
  assert_hex(&v[6]->bytes_value, "01");
  assert_hex(&v[7]->bytes_value, "fbff"); /* -_8 = 62,63,60: 11111011 11111111 (00) */
  assert_int_equal(v[8]->value_case, VCASE(BYTES_VALUE));
  assert_int_equal(v[8]->bytes_value.len, 0);
  assert_int_equal(v[9]->value_case, VCASE(BOOL_VALUE));
  assert_false(v[9]->bool_value);

  static const char *bad[] = {
      "{\"doubleValue\":\"nan\"}",
      "{\"doubleValue\":\" 1\"}",
      "{\"doubleValue\":\"0x10\"}",
      "{\"doubleValue\":[]}",
      "{\"boolValue\":\"true\"}",
      "{\"boolValue\":1}",
      "{\"bytesValue\":\"A\"}",
      "{\"bytesValue\":\"A@==\"}",
      "{\"bytesValue\":\"AQ=\"}",
      "{\"bytesValue\":7}",
      "{\"stringValue\":7}",
      "{\"arrayValue\":[]}",
      "{\"kvlistValue\":{\"values\":{}}}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char buf[512];
    snprintf(buf, sizeof buf,
             "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"attributes\":[{\"key\":\"k\","
             "\"value\":%s}]}]}]}]}",
             bad[i]);
    expect_einval(f, buf, "spans[0].attributes[0].value.");
  }
}

/* Unknown members are ignored, null is the default, {} is an empty value, and
 * among several oneof members the last one wins, as on the protobuf wire. */
static void test_defaults_unknown_and_oneof(void **state) {
  fx *f = *state;
  mw_otlp_span *s = decode_span(f, "{\"name\":null,\"kind\":null,\"traceId\":null,\"status\":null,"
                                   "\"futureField\":{\"x\":[1,2,{\"y\":null}]},\"events\":null,"
                                   "\"attributes\":["
                                   "{\"key\":\"empty\",\"value\":{}},"
                                   "{\"key\":\"nokey\"},"
                                   "{\"key\":\"last\",\"value\":{\"stringValue\":\"s\",\"intValue\":3}},"
                                   "{\"key\":\"nullv\",\"value\":{\"stringValue\":null,\"other\":1}},"
                                   "{\"key\":\"es\",\"value\":{\"stringValue\":\"\"}}]}");
  assert_string_equal(s->name, "");
  assert_int_equal(s->kind, 0);
  assert_int_equal(s->trace_id.len, 0);
  assert_null(s->status);
  assert_int_equal(s->n_events, 0);
  assert_int_equal(s->n_attributes, 5);
  assert_int_equal(s->attributes[0]->value->value_case, VCASE(_NOT_SET));
  assert_null(s->attributes[1]->value);
  assert_int_equal(s->attributes[2]->value->value_case, VCASE(INT_VALUE));
  assert_int_equal(s->attributes[2]->value->int_value, 3);
  assert_int_equal(s->attributes[3]->value->value_case, VCASE(_NOT_SET));
  assert_int_equal(s->attributes[4]->value->value_case, VCASE(STRING_VALUE));
  assert_string_equal(s->attributes[4]->value->string_value, "");

  /* empty requests are fine */
  assert_int_equal(decode(f, "{}"), 0);
  assert_int_equal(f->req->n_resource_spans, 0);
  assert_int_equal(decode(f, " {\"resourceSpans\":[]} \n"), 0);
  assert_int_equal(decode(f, "{\"resourceSpans\":[{}]}"), 0);
  assert_int_equal(f->req->n_resource_spans, 1);
  assert_null(f->req->resource_spans[0]->resource);
  assert_int_equal(f->req->resource_spans[0]->n_scope_spans, 0);
}

/* A "\u0000" inside a string is legal JSON and a legal proto string. */
/* "\u0000" is legal JSON but breaks the name rule: the decoder reads on and
 * records a flaw that names the field, at the span, scope or resource it
 * concerns, and flattening refuses just that. */
static void test_nul_in_strings(void **state) {
  fx *f = *state;
  mw_otlp_span *s = decode_span(f, "{\"name\":\"a\\u0000b\"}");
  assert_string_equal(s->name, "a");
  assert_int_equal(f->flaws.n, 1);
  assert_int_equal(f->flaws.v[0].rs, 0);
  assert_int_equal(f->flaws.v[0].ss, 0);
  assert_int_equal(f->flaws.v[0].span, 0);
  assert_string_equal(f->flaws.v[0].why, "resourceSpans[0].scopeSpans[0].spans[0].name contains a NUL byte");
  expect_einval(f, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"spanId\":\"01020304\\u00000506\"}]}]}]}",
                "spans[0].spanId");

  /* the second resource's service.name, its scope's name, one span's
   * attribute value: three places, three flaws; the good span is kept */
  static const char body[] =
      "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"01010101010101010101010101010101\","
      "\"spanId\":\"0101010101010101\",\"startTimeUnixNano\":\"5\",\"endTimeUnixNano\":\"6\",\"name\":\"ok\"}]}]},"
      "{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"s\\u0000\"}}]},"
      "\"scopeSpans\":[{\"spans\":[{},{}]}]},"
      "{\"scopeSpans\":[{\"spans\":[{}]},{\"scope\":{\"name\":\"\\u0000\"},\"spans\":[{},{}]},"
      "{\"spans\":[{},{\"attributes\":[{\"key\":\"k\",\"value\":{\"stringValue\":\"v\\u0000\"}}]}]}]}]}";
  assert_int_equal(decode(f, body), 0);
  assert_int_equal(f->flaws.n, 3);
  assert_int_equal(f->flaws.v[0].rs, 1);
  assert_int_equal(f->flaws.v[0].ss, MW_OTLP_WHOLE);
  assert_string_equal(f->flaws.v[0].why,
                      "resourceSpans[1].resource.attributes[0].value.stringValue contains a NUL byte");
  assert_int_equal(f->flaws.v[1].rs, 2);
  assert_int_equal(f->flaws.v[1].ss, 1);
  assert_int_equal(f->flaws.v[1].span, MW_OTLP_WHOLE);
  assert_string_equal(f->flaws.v[1].why, "resourceSpans[2].scopeSpans[1].scope.name contains a NUL byte");
  assert_int_equal(f->flaws.v[2].rs, 2);
  assert_int_equal(f->flaws.v[2].ss, 2);
  assert_int_equal(f->flaws.v[2].span, 1);
  mw_limits lim = MW_LIMITS_DEFAULT;
  mw_span_batch b;
  assert_int_equal(mw__otlp_flatten(f->a, f->req, &f->flaws, &lim, &b, f->err, sizeof f->err), 0);
  /* 2 spans of resource 1, 2 of scope 1, 1 flawed span; the rest fail their
   * ids (1 in scope 0 and 1 in scope 2 of resource 2) */
  assert_int_equal(b.rejected, 7);
  assert_int_equal(b.n_rows, 1);
  assert_string_equal(b.rows[0].name, "ok");
  assert_string_equal(b.reject_reason, "resourceSpans[1].resource.attributes[0].value.stringValue contains a NUL byte");
}

/* ---- bad input ---------------------------------------------------------- */

static void test_syntax_error(void **state) {
  fx *f = *state;
  expect_einval(f, "{\"resourceSpans\":[{\n  \"scopeSpans\": [,]}]}", "line 2");
  assert_non_null(strstr(f->err, "column"));
  expect_einval(f, "", "invalid JSON");
  expect_einval(f, "{} x", "invalid JSON");
  expect_einval(f, "{\"a\":1,}", "invalid JSON");
  expect_einval(f, "{\"s\":\"\xff\"}", "a JSON body must be UTF-8");
  expect_einval(f, "[]", "top level");
  expect_einval(f, "{\"resourceSpans\":{}}", "resourceSpans: expected an array");
}

static void test_truncated(void **state) {
  fx *f = *state;
  size_t len;
  char *body = read_file("otel-js/otlp-js-json-1.bin", &len);
  const mw_limits lim = MW_LIMITS_DEFAULT;
  size_t cuts[] = {1, 100, len / 2, len - 1};
  for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
    assert_int_equal(decode_lim(f, body, cuts[i], &lim), MW_EINVAL);
    assert_null(f->req);
    assert_non_null(strstr(f->err, "invalid JSON at line 1"));
  }
  free(body);
}

static void test_bad_ids(void **state) {
  fx *f = *state;
  expect_einval(f, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"zz\"}]}]}]}",
                "resourceSpans[0].scopeSpans[0].spans[0].traceId: not a hex string");
  expect_einval(f, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"spanId\":\"abc\"}]}]}]}",
                "spans[0].spanId: odd number of hex digits");
  expect_einval(f, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"parentSpanId\":12}]}]}]}",
                "spans[0].parentSpanId: expected a hex string");
  /* base64 where hex is expected (a common sender mistake) */
  expect_einval(f, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"CvdlGRbNQ92ESOshHIAxnA==\"}]}]}]}",
                "traceId");
  expect_einval(f, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{},{\"links\":[{},{\"spanId\":\"0g\"}]}]}]}]}",
                "resourceSpans[0].scopeSpans[0].spans[1].links[1].spanId");
}

static void test_wrong_types(void **state) {
  fx *f = *state;
  expect_einval(f, "{\"resourceSpans\":[{\"scopeSpans\":[{},{\"spans\":5}]}]}", NULL);
  assert_string_equal(f->err, "resourceSpans[0].scopeSpans[1].spans: expected an array");
  expect_einval(f, "{\"resourceSpans\":[5]}", "resourceSpans[0]: expected an object");
  expect_einval(f, "{\"resourceSpans\":[{\"resource\":[]}]}", "resourceSpans[0].resource: expected an object");
  expect_einval(f, "{\"resourceSpans\":[{\"resource\":{\"attributes\":{}}}]}",
                "resourceSpans[0].resource.attributes: expected an array");
  expect_einval(f, "{\"resourceSpans\":[{\"scopeSpans\":[{\"scope\":{\"name\":1}}]}]}",
                "resourceSpans[0].scopeSpans[0].scope.name: expected a string");
  expect_einval(f, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":[]}]}]}]}",
                "spans[0].name: expected a string");
  expect_einval(f, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"events\":{}}]}]}]}",
                "spans[0].events: expected an array");
  expect_einval(f, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"events\":[{\"name\":false}]}]}]}]}",
                "spans[0].events[0].name: expected a string");
  expect_einval(f, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"status\":\"ok\"}]}]}]}",
                "spans[0].status: expected an object");
  expect_einval(f, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"attributes\":[{\"key\":5}]}]}]}]}",
                "spans[0].attributes[0].key: expected a string");
  expect_einval(f,
                "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"attributes\":[{\"key\":\"k\",\"value\":5}]}]}]}]}",
                "spans[0].attributes[0].value: expected an object");
  expect_einval(f, "{\"resource_spans\":[{\"scope_spans\":\"x\"}]}", "resourceSpans[0].scopeSpans: expected an array");
}

/* Builds an attribute value wrapped in depth arrayValue/kvlistValue layers. */
static char *nested_request(size_t depth) {
  size_t cap = 256 + depth * 64;
  char *buf = malloc(cap), *p = buf;
  p += sprintf(p, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"0101010101010101"
                  "0101010101010101\",\"spanId\":\"0101010101010101\",\"startTimeUnixNano\":\"5\","
                  "\"endTimeUnixNano\":\"6\",\"attributes\":[{\"key\":\"deep\",\"value\":");
  for (size_t i = 0; i < depth; i++)
    p +=
        sprintf(p, i % 2 ? "{\"arrayValue\":{\"values\":[" : "{\"kvlistValue\":{\"values\":[{\"key\":\"k\",\"value\":");
  p += sprintf(p, "{\"intValue\":\"1\"}");
  for (size_t i = depth; i-- > 0;) p += sprintf(p, i % 2 ? "]}}" : "}]}}");
  sprintf(p, "}]}]}]}]}");
  return buf;
}

/* Decodes and flattens json; returns the spans rejected (the reason in f->err). */
static size_t rejected(fx *f, const char *json, const mw_limits *lim) {
  int rc = decode_lim(f, json, strlen(json), lim);
  if (rc) fail_msg("decode: %s", f->err);
  mw_span_batch b;
  assert_int_equal(mw__otlp_flatten(f->a, f->req, &f->flaws, lim, &b, f->err, sizeof f->err), 0);
  snprintf(f->err, sizeof f->err, "%s", b.reject_reason ? b.reject_reason : "");
  return b.rejected;
}

/* One depth limit, checked where the protobuf path checks it: a value past
 * max_attr_depth decodes, and validation refuses its span alone; only past
 * MW_ATTR_DECODE_DEPTH (128) is the request refused whole. */
static void test_nesting_limit(void **state) {
  fx *f = *state;
  mw_limits lim = MW_LIMITS_DEFAULT;
  lim.max_attr_depth = 3;
  char *ok = nested_request(3), *deep = nested_request(4);
  int rc = decode_lim(f, ok, strlen(ok), &lim);
  if (rc) fprintf(stderr, "%s\n", f->err);
  assert_int_equal(rc, 0);
  const mw_otlp_value *v = f->req->resource_spans[0]->scope_spans[0]->spans[0]->attributes[0]->value;
  v = v->kvlist_value->values[0]->value; /* depth 1: kvlist */
  v = v->array_value->values[0];         /* depth 2: array */
  v = v->kvlist_value->values[0]->value; /* depth 3: kvlist */
  assert_int_equal(v->value_case, VCASE(INT_VALUE));
  assert_int_equal(v->int_value, 1);
  assert_int_equal(rejected(f, ok, &lim), 0);
  assert_int_equal(rejected(f, deep, &lim), 1);
  assert_string_equal(f->err, "span: an attribute value is nested more than 3 deep (max_attr_depth)");
  free(ok);
  free(deep);

  /* the default limit (16) */
  lim = MW_LIMITS_DEFAULT;
  ok = nested_request(16);
  deep = nested_request(17);
  assert_int_equal(rejected(f, ok, &lim), 0);
  assert_int_equal(rejected(f, deep, &lim), 1);
  assert_non_null(strstr(f->err, "more than 16 deep (max_attr_depth)"));
  free(ok);
  free(deep);

  /* 128 levels decode (and are refused by validation); 129 do not */
  ok = nested_request(128);
  deep = nested_request(129);
  assert_int_equal(rejected(f, ok, &lim), 1);
  assert_int_equal(decode_lim(f, deep, strlen(deep), &lim), MW_EINVAL);
  /* the path is cut in the middle so that the message still fits */
  assert_non_null(strstr(f->err, "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.kvlistValue."));
  assert_non_null(strstr(f->err, "...")); /* the tail depends on whether level 129 is an array or a kvlist */
  assert_non_null(strstr(f->err, ": attribute values nested more than 128 deep cannot be decoded (a span's values "
                                 "may nest 16 deep: max_attr_depth)"));
  free(ok);
  free(deep);

  /* deeper than jansson's own parser limit: a syntax error, not a stack overflow */
  size_t n = 100000;
  char *brackets = malloc(2 * n);
  memset(brackets, '[', n);
  memset(brackets + n, ']', n);
  assert_int_equal(decode_lim(f, brackets, 2 * n, &lim), MW_EINVAL);
  assert_non_null(strstr(f->err, "invalid JSON"));
  free(brackets);
}

/* kvlist, array and bytes survive JSON -> structs -> protobuf -> structs. */
static void test_value_round_trip(void **state) {
  fx *f = *state;
  mw_otlp_span *s = decode_span(f, "{\"traceId\":\"0af7651916cd43dd8448eb211c80319c\",\"spanId\":\"b7ad6b7169203331\","
                                   "\"attributes\":[{\"key\":\"kv\",\"value\":{\"kvlistValue\":{\"values\":["
                                   "{\"key\":\"a\",\"value\":{\"arrayValue\":{\"values\":["
                                   "{\"intValue\":\"1\"},{\"bytesValue\":\"AQID\"},{},{\"stringValue\":\"z\"}]}}},"
                                   "{\"key\":\"b\",\"value\":{\"bytesValue\":\"/w\"}},"
                                   "{\"key\":\"c\",\"value\":{\"kvlistValue\":{}}}]}}}]}");
  (void)s;
  size_t n = opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(f->req);
  uint8_t *buf = malloc(n);
  assert_int_equal(opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(f->req, buf), n);
  mw_otlp_request *back =
      opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(NULL, n, buf);
  assert_non_null(back);
  free(buf);

  const mw_otlp_span *b = back->resource_spans[0]->scope_spans[0]->spans[0];
  assert_hex(&b->trace_id, "0af7651916cd43dd8448eb211c80319c");
  const mw_otlp_value *kv = b->attributes[0]->value;
  assert_int_equal(kv->value_case, VCASE(KVLIST_VALUE));
  assert_int_equal(kv->kvlist_value->n_values, 3);
  const mw_otlp_kv *a = kv->kvlist_value->values[0];
  assert_string_equal(a->key, "a");
  assert_int_equal(a->value->value_case, VCASE(ARRAY_VALUE));
  assert_int_equal(a->value->array_value->n_values, 4);
  assert_int_equal(a->value->array_value->values[0]->int_value, 1);
  assert_int_equal(a->value->array_value->values[1]->value_case, VCASE(BYTES_VALUE));
  assert_hex(&a->value->array_value->values[1]->bytes_value, "010203"); /* AQID */
  assert_int_equal(a->value->array_value->values[2]->value_case, VCASE(_NOT_SET));
  assert_string_equal(a->value->array_value->values[3]->string_value, "z");
  assert_string_equal(kv->kvlist_value->values[1]->key, "b");
  assert_hex(&kv->kvlist_value->values[1]->value->bytes_value, "ff"); /* "/w": 111111 110000 */
  assert_int_equal(kv->kvlist_value->values[2]->value->value_case, VCASE(KVLIST_VALUE));
  assert_int_equal(kv->kvlist_value->values[2]->value->kvlist_value->n_values, 0);
  opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(back, NULL);
}

static void test_arena_exhausted(void **state) {
  (void)state;
  size_t len;
  char *body = read_file("otel-js/otlp-js-json-1.bin", &len);
  const mw_limits lim = MW_LIMITS_DEFAULT;
  mw_arena *a = mw__arena_new(4096);
  mw_otlp_request *req = (mw_otlp_request *)1;
  mw_otlp_flaws flaws;
  char err[256] = "";
  assert_int_equal(mw__otlp_decode_json(a, body, len, &lim, &req, &flaws, err, sizeof err), MW_ENOMEM);
  assert_null(req);
  assert_true(err[0] != '\0');
  mw__arena_free(a);
  /* NULL err and NULL limits are tolerated */
  a = mw__arena_new(0);
  assert_int_equal(mw__otlp_decode_json(a, "[", 1, NULL, &req, &flaws, NULL, 0), MW_EINVAL);
  assert_int_equal(mw__otlp_decode_json(a, body, len, NULL, &req, &flaws, NULL, 0), 0);
  assert_int_equal(count_spans(req), 40);
  mw__arena_free(a);
  free(body);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_otel_js_body, setup, teardown),
      cmocka_unit_test_setup_teardown(test_go_jsonl, setup, teardown),
      cmocka_unit_test_setup_teardown(test_spec_example, setup, teardown),
      cmocka_unit_test_setup_teardown(test_int64_numbers_and_strings, setup, teardown),
      cmocka_unit_test_setup_teardown(test_enum_names, setup, teardown),
      cmocka_unit_test_setup_teardown(test_snake_case, setup, teardown),
      cmocka_unit_test_setup_teardown(test_hex_case_insensitive, setup, teardown),
      cmocka_unit_test_setup_teardown(test_wrong_length_id_decodes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_legacy_instrumentation_library, setup, teardown),
      cmocka_unit_test_setup_teardown(test_doubles_bools_and_bytes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_defaults_unknown_and_oneof, setup, teardown),
      cmocka_unit_test_setup_teardown(test_nul_in_strings, setup, teardown),
      cmocka_unit_test_setup_teardown(test_syntax_error, setup, teardown),
      cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_ids, setup, teardown),
      cmocka_unit_test_setup_teardown(test_wrong_types, setup, teardown),
      cmocka_unit_test_setup_teardown(test_nesting_limit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_value_round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_arena_exhausted, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

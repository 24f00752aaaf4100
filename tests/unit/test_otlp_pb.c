/* OTLP protobuf decoding, the nesting guard, and span validation/flattening.
 * Expected values were read from the fixture with `protoc --decode_raw <
 * tests/data/otel-js/otlp-js-pb-0.bin`, not from this decoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/error.h"
#include "core/jsonw.h"
#include "decode/otlp.h"

static uint8_t *read_file(const char *name, size_t *len) {
  return (uint8_t *)mw_test_slurp(len, "%s/%s", MW_TEST_DATA, name);
}

static const mw_otlp_span *find_span(const mw_otlp_request *req, const uint8_t id[8]) {
  for (size_t r = 0; r < req->n_resource_spans; r++)
    for (size_t s = 0; s < req->resource_spans[r]->n_scope_spans; s++) {
      const mw_otlp_scope_spans *ss = req->resource_spans[r]->scope_spans[s];
      for (size_t k = 0; k < ss->n_spans; k++)
        if (ss->spans[k]->span_id.len == 8 && memcmp(ss->spans[k]->span_id.data, id, 8) == 0) return ss->spans[k];
    }
  return NULL;
}

static void test_fixture_decodes(void **state) {
  (void)state;
  size_t len;
  uint8_t *body = read_file("otel-js/otlp-js-pb-0.bin", &len);
  mw_arena *a = mw__arena_new(0);
  mw_otlp_request *req;
  mw_otlp_flaws flaws;
  char err[256];
  assert_int_equal(mw__otlp_decode_pb(a, body, len, NULL, &req, &flaws, err, sizeof err), MW_OK);
  assert_int_equal(flaws.n, 0);
  assert_int_equal(req->n_resource_spans, 1);
  assert_int_equal(req->resource_spans[0]->n_scope_spans, 1);
  const mw_otlp_scope_spans *ss = req->resource_spans[0]->scope_spans[0];
  assert_string_equal(ss->scope->name, "capture");
  assert_string_equal(ss->scope->version, "1.0.0");
  assert_int_equal(ss->n_spans, 40); /* 20 "GET /cart" + 20 "SELECT cart" */

  /* the first GET /cart span in the file */
  static const uint8_t sid[8] = {0xde, 0x10, 0x84, 0xf5, 0xd0, 0x8d, 0xc2, 0x88};
  static const uint8_t tid[16] = {0xec, 0x96, 0xc9, 0xc4, 0x7a, 0xab, 0x24, 0x8d,
                                  0x41, 0xee, 0x69, 0xaf, 0xe3, 0xbf, 0x47, 0xb1};
  const mw_otlp_span *sp = find_span(req, sid);
  assert_non_null(sp);
  assert_memory_equal(sp->trace_id.data, tid, 16);
  assert_string_equal(sp->name, "GET /cart");
  assert_int_equal(sp->kind, 2);
  assert_int_equal(sp->start_time_unix_nano, 0x18ea4e8c6980ca40ULL);
  assert_int_equal(sp->end_time_unix_nano, 0x18ea4e8c69beeebeULL);
  int saw_status = 0, saw_tags = 0;
  for (size_t i = 0; i < sp->n_attributes; i++) {
    const mw_otlp_kv *kv = sp->attributes[i];
    if (strcmp(kv->key, "http.response.status_code") == 0) {
      assert_int_equal(kv->value->int_value, 500);
      saw_status = 1;
    }
    if (strcmp(kv->key, "tags") == 0) {
      assert_int_equal(kv->value->array_value->n_values, 2);
      assert_string_equal(kv->value->array_value->values[0]->string_value, "a");
      assert_string_equal(kv->value->array_value->values[1]->string_value, "b");
      saw_tags = 1;
    }
  }
  assert_true(saw_status && saw_tags);

  mw_span_batch b;
  mw_limits lim = MW_LIMITS_DEFAULT;
  assert_int_equal(mw__otlp_flatten(a, req, &flaws, &lim, &b, err, sizeof err), MW_OK);
  assert_int_equal(b.n_rows, 40);
  assert_int_equal(b.rejected, 0);
  assert_int_equal(b.n_resources, 1);
  assert_string_equal(b.resources[0].service, "cart-proto");
  assert_string_equal(b.resources[0].instance, "cart-proto-1");
  assert_string_equal(b.resources[0].host, "node-a");
  assert_int_equal(b.n_scopes, 1);

  /* a row keeps the columns; its body is the rest of the span */
  const mw_span_row *row = NULL;
  for (size_t i = 0; i < b.n_rows; i++)
    if (memcmp(b.rows[i].span_id, sid, 8) == 0) row = &b.rows[i];
  assert_non_null(row);
  assert_string_equal(row->name, "GET /cart");
  assert_int_equal(row->dur_ns, (int64_t)(0x18ea4e8c69beeebeULL - 0x18ea4e8c6980ca40ULL));
  assert_false(row->has_parent);
  mw_otlp_span *back = opentelemetry__proto__trace__v1__span__unpack(NULL, row->body_len, row->body);
  assert_non_null(back);
  assert_int_equal(back->trace_id.len, 0);
  assert_string_equal(back->name, "");
  assert_int_equal(back->n_attributes, sp->n_attributes);
  opentelemetry__proto__trace__v1__span__free_unpacked(back, NULL);
  mw__arena_free(a);
  free(body);
}

/* Builds a request with one span per case below, packs it, decodes it back. */
static mw_otlp_request *make_request(mw_arena *a, size_t n, mw_otlp_span **spans) {
  mw_otlp_request *req = mw__arena_calloc(a, 1, sizeof *req);
  opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(req);
  mw_otlp_resource_spans *rs = mw__arena_calloc(a, 1, sizeof *rs);
  opentelemetry__proto__trace__v1__resource_spans__init(rs);
  mw_otlp_scope_spans *ss = mw__arena_calloc(a, 1, sizeof *ss);
  opentelemetry__proto__trace__v1__scope_spans__init(ss);
  ss->spans = spans;
  ss->n_spans = n;
  rs->scope_spans = mw__arena_calloc(a, 1, sizeof *rs->scope_spans);
  rs->scope_spans[0] = ss;
  rs->n_scope_spans = 1;
  req->resource_spans = mw__arena_calloc(a, 1, sizeof *req->resource_spans);
  req->resource_spans[0] = rs;
  req->n_resource_spans = 1;
  return req;
}

static uint8_t ones[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
static uint8_t zeros[16];

static mw_otlp_span *good_span(mw_arena *a) {
  mw_otlp_span *s = mw__arena_calloc(a, 1, sizeof *s);
  opentelemetry__proto__trace__v1__span__init(s);
  s->trace_id = (ProtobufCBinaryData){16, ones};
  s->span_id = (ProtobufCBinaryData){8, ones};
  s->name = "ok";
  s->start_time_unix_nano = 1000;
  s->end_time_unix_nano = 2000;
  return s;
}

static void test_validation(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  enum { N = 8 };
  mw_otlp_span *sp[N];
  for (int i = 0; i < N; i++) sp[i] = good_span(a);
  sp[0]->trace_id.len = 10;                               /* wrong trace id length */
  sp[1]->trace_id.data = zeros;                           /* all-zero trace id */
  sp[2]->span_id.data = zeros;                            /* all-zero span id */
  sp[3]->end_time_unix_nano = 999;                        /* end before start */
  sp[4]->start_time_unix_nano = 0;                        /* no start */
  sp[5]->parent_span_id = (ProtobufCBinaryData){5, ones}; /* parent of 5 bytes */
  mw_otlp_kv *kvs[3];                                     /* over max_attrs_per_span = 2 */
  for (int i = 0; i < 3; i++) {
    kvs[i] = mw__arena_calloc(a, 1, sizeof *kvs[i]);
    opentelemetry__proto__common__v1__key_value__init(kvs[i]);
    kvs[i]->key = "k";
  }
  sp[6]->attributes = kvs;
  sp[6]->n_attributes = 3;
  /* sp[7] stays good */
  mw_otlp_request *req = make_request(a, N, sp);
  mw_limits lim = MW_LIMITS_DEFAULT;
  lim.max_attrs_per_span = 2;
  mw_span_batch b;
  char err[256];
  assert_int_equal(mw__otlp_flatten(a, req, NULL, &lim, &b, err, sizeof err), MW_OK);
  assert_int_equal(b.rejected, 7);
  assert_int_equal(b.n_rows, 1);
  assert_non_null(strstr(b.reject_reason, "trace_id must be 16 bytes"));

  lim.max_spans_per_request = N - 1;
  assert_int_equal(mw__otlp_flatten(a, req, NULL, &lim, &b, err, sizeof err), MW_ETOOBIG);
  assert_non_null(strstr(err, "max_spans_per_request"));
  mw__arena_free(a);
}

/* AnyValue arrays nested `depth` deep: 0x2A len (0x0A len (... ))) */
static uint8_t *nested_request(size_t depth, size_t *len) {
  size_t cap = depth * 12 + 256;
  uint8_t *inner = calloc(1, cap), *tmp = calloc(1, cap);
  size_t n = 0;
  for (size_t i = 0; i < depth; i++) { /* wrap: AnyValue{array_value{values: [inner]}} */
    size_t m = 0;
    tmp[m++] = 0x2A; /* AnyValue.array_value */
    size_t arr_len = 1 + (n < 128 ? 1 : 2) + n;
    if (arr_len < 128) tmp[m++] = (uint8_t)arr_len;
    else tmp[m++] = (uint8_t)(arr_len | 0x80), tmp[m++] = (uint8_t)(arr_len >> 7);
    tmp[m++] = 0x0A; /* ArrayValue.values */
    if (n < 128) tmp[m++] = (uint8_t)n;
    else tmp[m++] = (uint8_t)(n | 0x80), tmp[m++] = (uint8_t)(n >> 7);
    memcpy(tmp + m, inner, n);
    m += n;
    if (m >= 16384) break; /* two-byte lengths only: deep enough */
    memcpy(inner, tmp, m);
    n = m;
  }
  /* KeyValue{key "k", value AnyValue} inside Span.attributes inside ScopeSpans... */
  uint8_t *out = calloc(1, n + 64);
  size_t o = 0;
  size_t kv_len = 3 + (n < 128 ? 2 : 3) + n;
  size_t span_len = 1 + (kv_len < 128 ? 1 : 2) + kv_len;
  size_t ss_len = 1 + (span_len < 128 ? 1 : 2) + span_len;
  size_t rs_len = 1 + (ss_len < 128 ? 1 : 2) + ss_len;
#define LEN(v)                                                                                                         \
  do {                                                                                                                 \
    if ((v) < 128) out[o++] = (uint8_t)(v);                                                                            \
    else out[o++] = (uint8_t)((v) | 0x80), out[o++] = (uint8_t)((v) >> 7);                                             \
  } while (0)
  out[o++] = 0x0A;
  LEN(rs_len); /* resource_spans */
  out[o++] = 0x12;
  LEN(ss_len); /* scope_spans */
  out[o++] = 0x12;
  LEN(span_len); /* spans */
  out[o++] = 0x4A;
  LEN(kv_len); /* attributes */
  out[o++] = 0x0A;
  out[o++] = 1;
  out[o++] = 'k';
  out[o++] = 0x12;
  LEN(n);
  memcpy(out + o, inner, n);
  o += n;
#undef LEN
  free(inner);
  free(tmp);
  *len = o;
  return out;
}

static void test_nesting_guard(void **state) {
  (void)state;
  size_t len;
  uint8_t *body = nested_request(2000, &len);
  mw_arena *a = mw__arena_new(0);
  mw_otlp_request *req;
  mw_otlp_flaws flaws;
  char err[256];
  assert_int_equal(mw__otlp_decode_pb(a, body, len, NULL, &req, &flaws, err, sizeof err), MW_EINVAL);
  assert_string_equal(err, "attribute values nested more than 128 deep cannot be decoded (a span's values may "
                           "nest 16 deep: max_attr_depth)");
  free(body);

  body = nested_request(8, &len); /* shallow: decodes */
  assert_int_equal(mw__otlp_decode_pb(a, body, len, NULL, &req, &flaws, err, sizeof err), MW_OK);
  free(body);
  mw__arena_free(a);
}

/* --- requests built from structs, packed, decoded back -------------------- */

static uint8_t *pack_request(const mw_otlp_request *req, size_t *len) {
  *len = protobuf_c_message_get_packed_size(&req->base);
  uint8_t *p = malloc(*len ? *len : 1);
  protobuf_c_message_pack(&req->base, p);
  return p;
}

static mw_otlp_kv *kv(mw_arena *a, const char *key, mw_otlp_value *v) {
  mw_otlp_kv *k = mw__arena_calloc(a, 1, sizeof *k);
  opentelemetry__proto__common__v1__key_value__init(k);
  k->key = (char *)key;
  k->value = v;
  return k;
}

static mw_otlp_value *str_value(mw_arena *a, const char *s) {
  mw_otlp_value *v = mw__arena_calloc(a, 1, sizeof *v);
  opentelemetry__proto__common__v1__any_value__init(v);
  v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
  v->string_value = (char *)s;
  return v;
}

/* A string inside depth kvlists, each holding the next. */
static mw_otlp_value *nested_kvlist(mw_arena *a, size_t depth) {
  mw_otlp_value *v = str_value(a, "leaf");
  for (size_t i = 0; i < depth; i++) {
    mw_otlp_value *w = mw__arena_calloc(a, 1, sizeof *w);
    opentelemetry__proto__common__v1__any_value__init(w);
    w->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE;
    w->kvlist_value = mw__arena_calloc(a, 1, sizeof *w->kvlist_value);
    opentelemetry__proto__common__v1__key_value_list__init(w->kvlist_value);
    w->kvlist_value->values = mw__arena_calloc(a, 1, sizeof *w->kvlist_value->values);
    w->kvlist_value->values[0] = kv(a, "k", v);
    w->kvlist_value->n_values = 1;
    v = w;
  }
  return v;
}

/* Packs req, decodes and flattens it with lim; returns the rc of decoding. */
static int round_trip(mw_arena *a, const mw_otlp_request *req, const mw_limits *lim, mw_span_batch *b, char *err,
                      size_t errsz) {
  size_t len;
  uint8_t *body = pack_request(req, &len);
  mw_otlp_request *back;
  mw_otlp_flaws flaws;
  int rc = mw__otlp_decode_pb(a, body, len, lim, &back, &flaws, err, errsz);
  free(body);
  if (rc) return rc;
  assert_int_equal(mw__otlp_flatten(a, back, &flaws, lim, b, err, errsz), MW_OK);
  return 0;
}

/* One limit, max_attr_depth, for span, event and resource values: at the
 * limit kept, past it the span alone refused; past 128 levels the request. */
static void test_attr_depth(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  mw_limits lim = MW_LIMITS_DEFAULT;
  mw_span_batch b;
  char err[256];
  static const struct {
    size_t depth;
    int rc;
    size_t rejected;
  } cases[] = {{14, MW_OK, 0}, {16, MW_OK, 0}, {17, MW_OK, 1}, {128, MW_OK, 1}, {129, MW_EINVAL, 0}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    mw_otlp_span *sp[2] = {good_span(a), good_span(a)};
    sp[0]->attributes = mw__arena_calloc(a, 1, sizeof *sp[0]->attributes);
    sp[0]->attributes[0] = kv(a, "deep", nested_kvlist(a, cases[i].depth));
    sp[0]->n_attributes = 1;
    int rc = round_trip(a, make_request(a, 2, sp), &lim, &b, err, sizeof err);
    assert_int_equal(rc, cases[i].rc);
    if (rc) {
      assert_non_null(strstr(err, "max_attr_depth"));
      continue;
    }
    assert_int_equal(b.rejected, cases[i].rejected);
    assert_int_equal(b.n_rows, 2 - cases[i].rejected);
    if (b.rejected)
      assert_string_equal(b.reject_reason, "span: an attribute value is nested more than 16 deep (max_attr_depth)");
  }
  /* an event's value, and a resource's (which refuses the resource's spans) */
  mw_otlp_span *sp[2] = {good_span(a), good_span(a)};
  Opentelemetry__Proto__Trace__V1__Span__Event ev = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__EVENT__INIT;
  mw_otlp_kv *ev_attrs[1] = {kv(a, "deep", nested_kvlist(a, 17))};
  ev.attributes = ev_attrs;
  ev.n_attributes = 1;
  Opentelemetry__Proto__Trace__V1__Span__Event *evs[1] = {&ev};
  sp[1]->events = evs;
  sp[1]->n_events = 1;
  assert_int_equal(round_trip(a, make_request(a, 2, sp), &lim, &b, err, sizeof err), MW_OK);
  assert_int_equal(b.rejected, 1);
  assert_string_equal(b.reject_reason, "span event: an attribute value is nested more than 16 deep (max_attr_depth)");
  mw_otlp_request *req = make_request(a, 2, (mw_otlp_span *[]){good_span(a), good_span(a)});
  Opentelemetry__Proto__Resource__V1__Resource res = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
  mw_otlp_kv *res_attrs[1] = {kv(a, "deep", nested_kvlist(a, 17))};
  res.attributes = res_attrs;
  res.n_attributes = 1;
  req->resource_spans[0]->resource = &res;
  assert_int_equal(round_trip(a, req, &lim, &b, err, sizeof err), MW_OK);
  assert_int_equal(b.rejected, 2);
  assert_int_equal(b.n_resources, 0);
  assert_string_equal(b.reject_reason, "resource: an attribute value is nested more than 16 deep (max_attr_depth)");
  mw__arena_free(a);
}

/* Resources and scopes obey the value and attribute limits; what breaks one
 * refuses all the spans under it. */
static void test_resource_and_scope_limits(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  mw_limits lim = MW_LIMITS_DEFAULT;
  lim.max_value_bytes = 12; /* "service.name" fits */
  lim.max_attrs_per_span = 2;
  mw_span_batch b;
  char err[256];
  Opentelemetry__Proto__Resource__V1__Resource res = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
  mw_otlp_kv *attrs[3] = {kv(a, "service.name", str_value(a, "1234567890123")), kv(a, "b", str_value(a, "x")),
                          kv(a, "c", str_value(a, "y"))};
  res.attributes = attrs;
  Opentelemetry__Proto__Common__V1__InstrumentationScope sc =
      OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
  static const struct {
    size_t n_res_attrs;
    const char *scope_name, *scope_version, *why;
  } cases[] = {
      {1, NULL, NULL, "resource: an attribute value is 13 bytes, over the limit of 12 (max_value_bytes)"},
      {3, NULL, NULL, "resource has 3 attributes, over the limit of 2 (max_attrs_per_span)"},
      {0, "1234567890123", NULL, "scope name is 13 bytes, over the limit of 12 (max_value_bytes)"},
      {0, "s", "1234567890123", "scope version is 13 bytes, over the limit of 12 (max_value_bytes)"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    mw_otlp_request *req = make_request(a, 2, (mw_otlp_span *[]){good_span(a), good_span(a)});
    res.n_attributes = cases[i].n_res_attrs;
    req->resource_spans[0]->resource = &res;
    sc.name = (char *)(cases[i].scope_name ? cases[i].scope_name : "");
    sc.version = (char *)(cases[i].scope_version ? cases[i].scope_version : "");
    req->resource_spans[0]->scope_spans[0]->scope = &sc;
    assert_int_equal(round_trip(a, req, &lim, &b, err, sizeof err), MW_OK);
    assert_int_equal(b.rejected, 2);
    assert_int_equal(b.n_rows, 0);
    assert_string_equal(b.reject_reason, cases[i].why);
  }
  mw__arena_free(a);
}

/* The name rule on the protobuf path: a NUL or invalid UTF-8 in any string
 * refuses the span, scope or resource holding it, named by its field path;
 * empty messages before it count in the indices, as unpack counts them. */
static void test_name_rule(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  mw_limits lim = MW_LIMITS_DEFAULT;
  /* resource_spans[0]: empty; [1]: a span named "a\0b" after an empty span;
   * [2]: a resource attribute key "k\xff"; [3]: a scope named "\xc3" */
  uint8_t req_bytes[] = {
      0x0A, 0x00, 0x0A, 0x0B, 0x12, 0x09, 0x12, 0x00, 0x12, 0x05, 0x2A, 0x03, 'a',  0x00, 'b',  0x0A, 0x08, 0x0A,
      0x06, 0x0A, 0x04, 0x0A, 0x02, 'k',  0xFF, 0x0A, 0x09, 0x12, 0x07, 0x0A, 0x03, 0x0A, 0x01, 0xC3, 0x12, 0x00,
  };
  mw_otlp_request *req;
  mw_otlp_flaws flaws;
  char err[256];
  assert_int_equal(mw__otlp_decode_pb(a, req_bytes, sizeof req_bytes, &lim, &req, &flaws, err, sizeof err), MW_OK);
  assert_int_equal(req->n_resource_spans, 4);
  assert_int_equal(flaws.n, 3);
  assert_int_equal(flaws.v[0].rs, 1);
  assert_int_equal(flaws.v[0].ss, 0);
  assert_int_equal(flaws.v[0].span, 1);
  assert_string_equal(flaws.v[0].why, "resource_spans[1].scope_spans[0].spans[1].name contains a NUL byte");
  assert_int_equal(flaws.v[1].rs, 2);
  assert_int_equal(flaws.v[1].ss, MW_OTLP_WHOLE);
  assert_string_equal(flaws.v[1].why, "resource_spans[2].resource.attributes[0].key is not valid UTF-8");
  assert_int_equal(flaws.v[2].rs, 3);
  assert_int_equal(flaws.v[2].ss, 0);
  assert_int_equal(flaws.v[2].span, MW_OTLP_WHOLE);
  assert_string_equal(flaws.v[2].why, "resource_spans[3].scope_spans[0].scope.name is not valid UTF-8");
  mw__arena_free(a);
}

/* Whatever validation keeps renders: a span with values nested
 * MW_ATTR_DEPTH_MAX deep, inside the levels GET /api/traces wraps it in. */
static void test_deepest_value_renders(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  mw_limits lim = MW_LIMITS_DEFAULT;
  lim.max_attr_depth = MW_ATTR_DEPTH_MAX;
  mw_otlp_span *sp[1] = {good_span(a)};
  sp[0]->attributes = mw__arena_calloc(a, 1, sizeof *sp[0]->attributes);
  sp[0]->attributes[0] = kv(a, "deep", nested_kvlist(a, MW_ATTR_DEPTH_MAX));
  sp[0]->n_attributes = 1;
  mw_span_batch b;
  char err[256];
  assert_int_equal(round_trip(a, make_request(a, 1, sp), &lim, &b, err, sizeof err), MW_OK);
  assert_int_equal(b.n_rows, 1);
  mw_otlp_span *back = opentelemetry__proto__trace__v1__span__unpack(NULL, b.rows[0].body_len, b.rows[0].body);
  assert_non_null(back);
  mw_buf out;
  mw__buf_init(&out, 1 << 20);
  mw_jsonw w;
  mw__jw_init(&w, &out);
  /* {"batches":[{"scopeSpans":[{"spans":[ ... as http/api.c writes them */
  mw__jw_obj(&w);
  mw__jw_key(&w, "batches");
  mw__jw_arr(&w);
  mw__jw_obj(&w);
  mw__jw_key(&w, "scopeSpans");
  mw__jw_arr(&w);
  mw__jw_obj(&w);
  mw__jw_key(&w, "spans");
  mw__jw_arr(&w);
  mw__otlp_json_span(&w, back);
  for (int i = 0; i < 3; i++) {
    mw__jw_arr_end(&w);
    mw__jw_obj_end(&w);
  }
  assert_int_equal(mw__jw_error(&w), 0);
  /* the leaf is there, under 64 kvlists */
  assert_non_null(strstr(out.data, "{\"key\":\"k\",\"value\":{\"stringValue\":\"leaf\"}}"));
  size_t opened = 0;
  for (const char *p = out.data; (p = strstr(p, "kvlistValue")); p++) opened++;
  assert_int_equal(opened, MW_ATTR_DEPTH_MAX);
  mw__buf_free(&out);
  opentelemetry__proto__trace__v1__span__free_unpacked(back, NULL);
  mw__arena_free(a);
}

static void test_bad_bytes(void **state) {
  (void)state;
  size_t len;
  uint8_t *body = read_file("otel-js/otlp-js-pb-0.bin", &len);
  mw_arena *a = mw__arena_new(0);
  mw_otlp_request *req;
  mw_otlp_flaws flaws;
  char err[256];
  /* every truncation inside the first message is an error, never a crash */
  for (size_t cut = 1; cut < len; cut += 97) {
    err[0] = '\0';
    int rc = mw__otlp_decode_pb(a, body, cut, NULL, &req, &flaws, err, sizeof err);
    assert_int_equal(rc, MW_EINVAL);
    assert_true(strlen(err) > 0);
  }
  uint8_t garbage[512];
  srand(7);
  for (int round = 0; round < 200; round++) {
    for (size_t i = 0; i < sizeof garbage; i++) garbage[i] = (uint8_t)rand();
    int rc = mw__otlp_decode_pb(a, garbage, sizeof garbage, NULL, &req, &flaws, err, sizeof err);
    assert_true(rc == MW_EINVAL || rc == MW_OK);
  }
  mw__arena_free(a);
  free(body);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fixture_decodes),
      cmocka_unit_test(test_validation),
      cmocka_unit_test(test_nesting_guard),
      cmocka_unit_test(test_attr_depth),
      cmocka_unit_test(test_resource_and_scope_limits),
      cmocka_unit_test(test_name_rule),
      cmocka_unit_test(test_deepest_value_renders),
      cmocka_unit_test(test_bad_bytes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

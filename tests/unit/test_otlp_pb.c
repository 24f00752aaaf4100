/* OTLP protobuf decoding, the nesting guard, and span validation/flattening.
 * Expected values were read from the fixture with `protoc --decode_raw <
 * tests/data/otel-js/otlp-js-pb-0.bin`, not from this decoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/error.h"
#include "decode/otlp.h"

static uint8_t *read_file(const char *name, size_t *len) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", MW_TEST_DATA, name);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  *len = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *p = malloc(*len);
  assert_int_equal(fread(p, 1, *len, f), *len);
  fclose(f);
  return p;
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
  char err[256];
  assert_int_equal(mw__otlp_decode_pb(a, body, len, &req, err, sizeof err), MW_OK);
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
  assert_int_equal(mw__otlp_flatten(a, req, &lim, &b, err, sizeof err), MW_OK);
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
  sp[0]->trace_id.len = 10;                 /* wrong trace id length */
  sp[1]->trace_id.data = zeros;             /* all-zero trace id */
  sp[2]->span_id.data = zeros;              /* all-zero span id */
  sp[3]->end_time_unix_nano = 999;          /* end before start */
  sp[4]->start_time_unix_nano = 0;          /* no start */
  sp[5]->parent_span_id = (ProtobufCBinaryData){5, ones}; /* parent of 5 bytes */
  mw_otlp_kv *kvs[3];                       /* over max_attrs_per_span = 2 */
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
  assert_int_equal(mw__otlp_flatten(a, req, &lim, &b, err, sizeof err), MW_OK);
  assert_int_equal(b.rejected, 7);
  assert_int_equal(b.n_rows, 1);
  assert_non_null(strstr(b.reject_reason, "trace_id must be 16 bytes"));

  lim.max_spans_per_request = N - 1;
  assert_int_equal(mw__otlp_flatten(a, req, &lim, &b, err, sizeof err), MW_ETOOBIG);
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
#define LEN(v) do { if ((v) < 128) out[o++] = (uint8_t)(v); else out[o++] = (uint8_t)((v) | 0x80), out[o++] = (uint8_t)((v) >> 7); } while (0)
  out[o++] = 0x0A; LEN(rs_len);      /* resource_spans */
  out[o++] = 0x12; LEN(ss_len);      /* scope_spans */
  out[o++] = 0x12; LEN(span_len);    /* spans */
  out[o++] = 0x4A; LEN(kv_len);      /* attributes */
  out[o++] = 0x0A; out[o++] = 1; out[o++] = 'k';
  out[o++] = 0x12; LEN(n);
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
  char err[256];
  assert_int_equal(mw__otlp_decode_pb(a, body, len, &req, err, sizeof err), MW_EINVAL);
  assert_non_null(strstr(err, "nested deeper"));
  free(body);

  body = nested_request(8, &len); /* shallow: decodes */
  assert_int_equal(mw__otlp_decode_pb(a, body, len, &req, err, sizeof err), MW_OK);
  free(body);
  mw__arena_free(a);
}

static void test_bad_bytes(void **state) {
  (void)state;
  size_t len;
  uint8_t *body = read_file("otel-js/otlp-js-pb-0.bin", &len);
  mw_arena *a = mw__arena_new(0);
  mw_otlp_request *req;
  char err[256];
  /* every truncation inside the first message is an error, never a crash */
  for (size_t cut = 1; cut < len; cut += 97) {
    err[0] = '\0';
    int rc = mw__otlp_decode_pb(a, body, cut, &req, err, sizeof err);
    assert_int_equal(rc, MW_EINVAL);
    assert_true(strlen(err) > 0);
  }
  uint8_t garbage[512];
  srand(7);
  for (int round = 0; round < 200; round++) {
    for (size_t i = 0; i < sizeof garbage; i++) garbage[i] = (uint8_t)rand();
    int rc = mw__otlp_decode_pb(a, garbage, sizeof garbage, &req, err, sizeof err);
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
      cmocka_unit_test(test_bad_bytes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

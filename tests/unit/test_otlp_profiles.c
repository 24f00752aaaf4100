/* OTLP profiles ingest (decode/otlp_profiles.h, ingest/otlp_profiles.h) on a
 * request built here by hand: the expected stacks, values, span ids and
 * refusals are read off the request as written, not from the code under test. */
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
#include "decode/otlp_profiles.h"
#include "ingest/otlp_profiles.h"

typedef Opentelemetry__Proto__Profiles__V1development__Function fn_t;
typedef Opentelemetry__Proto__Profiles__V1development__Location loc_t;
typedef Opentelemetry__Proto__Profiles__V1development__Line line_t;
typedef Opentelemetry__Proto__Profiles__V1development__Stack stack_t_;
typedef Opentelemetry__Proto__Profiles__V1development__Link link_t;
typedef Opentelemetry__Proto__Profiles__V1development__KeyValueAndUnit attr_t;
typedef Opentelemetry__Proto__Profiles__V1development__Sample sample_t;
typedef Opentelemetry__Proto__Profiles__V1development__ValueType vt_t;
typedef Opentelemetry__Proto__Common__V1__KeyValue kv_t;
typedef Opentelemetry__Proto__Common__V1__AnyValue any_t;
typedef Opentelemetry__Proto__Resource__V1__Resource res_t;

static const uint8_t TRACE[16] = {0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd,
                                  0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c};
static const uint8_t SPAN[8] = {0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31};

/* The request, as plain structs on the heap of the test (static storage). */
static char *strs[] = {"",          "samples", "count",     "cpu",     "nanoseconds",
                       "main.work", "main.go", "main.main", "handler", "buy"};
static fn_t fns[3];
static fn_t *fnp[3];
static line_t lines[2];
static line_t *linep[2][1];
static loc_t locs[3];
static loc_t *locp[3];
static int32_t st1[] = {1, 2}, st2[] = {2};
static stack_t_ stacks[3];
static stack_t_ *stackp[3];
static link_t links[2];
static link_t *linkp[2];
static any_t attr_val;
static attr_t attrs[2];
static attr_t *attrp[2];
static mw_otlp_prof_dict dict;
static int64_t vals_a[] = {3, 4};
static uint64_t ts_b[] = {1000, 2000};
static int32_t attr_a[] = {1};
static sample_t samples1[2], samples2[1];
static sample_t *samplep1[2], *samplep2[1];
static vt_t sample_type, period_type;
static mw_otlp_profile prof1, prof2;
static mw_otlp_profile *profp1[1], *profp2[1];
static mw_otlp_scope_profiles scope1, scope2;
static mw_otlp_scope_profiles *scopep1[1], *scopep2[1];
static any_t svc_v, inst_v, svc2_v;
static kv_t svc_kv, inst_kv, svc2_kv;
static kv_t *kvp1[2], *kvp2[1];
static res_t res1, res2;
static mw_otlp_resource_profiles rp1, rp2;
static mw_otlp_resource_profiles *rpp[2];
static mw_otlp_prof_request req;

static void build(void) {
  opentelemetry__proto__profiles__v1development__profiles_dictionary__init(&dict);
  dict.string_table = strs;
  dict.n_string_table = sizeof strs / sizeof *strs;
  for (int i = 0; i < 3; i++) opentelemetry__proto__profiles__v1development__function__init(&fns[i]), fnp[i] = &fns[i];
  fns[1].name_strindex = 5, fns[1].filename_strindex = 6; /* main.work, main.go */
  fns[2].name_strindex = 7, fns[2].filename_strindex = 6; /* main.main, main.go */
  dict.function_table = fnp, dict.n_function_table = 3;
  for (int i = 0; i < 3; i++)
    opentelemetry__proto__profiles__v1development__location__init(&locs[i]), locp[i] = &locs[i];
  for (int i = 0; i < 2; i++) {
    opentelemetry__proto__profiles__v1development__line__init(&lines[i]);
    linep[i][0] = &lines[i];
    locs[i + 1].lines = linep[i], locs[i + 1].n_lines = 1;
  }
  lines[0].function_index = 1, lines[0].line = 12;
  lines[1].function_index = 2, lines[1].line = 3;
  dict.location_table = locp, dict.n_location_table = 3;
  for (int i = 0; i < 3; i++)
    opentelemetry__proto__profiles__v1development__stack__init(&stacks[i]), stackp[i] = &stacks[i];
  stacks[1].location_indices = st1, stacks[1].n_location_indices = 2; /* leaf first: work, then main */
  stacks[2].location_indices = st2, stacks[2].n_location_indices = 1;
  dict.stack_table = stackp, dict.n_stack_table = 3;
  for (int i = 0; i < 2; i++)
    opentelemetry__proto__profiles__v1development__link__init(&links[i]), linkp[i] = &links[i];
  links[1].trace_id = (ProtobufCBinaryData){16, (uint8_t *)TRACE};
  links[1].span_id = (ProtobufCBinaryData){8, (uint8_t *)SPAN};
  dict.link_table = linkp, dict.n_link_table = 2;
  opentelemetry__proto__common__v1__any_value__init(&attr_val);
  attr_val.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
  attr_val.string_value = "buy";
  for (int i = 0; i < 2; i++)
    opentelemetry__proto__profiles__v1development__key_value_and_unit__init(&attrs[i]), attrp[i] = &attrs[i];
  attrs[1].key_strindex = 8, attrs[1].value = &attr_val;
  dict.attribute_table = attrp, dict.n_attribute_table = 2;

  for (int i = 0; i < 2; i++)
    opentelemetry__proto__profiles__v1development__sample__init(&samples1[i]), samplep1[i] = &samples1[i];
  samples1[0].stack_index = 1, samples1[0].link_index = 1;
  samples1[0].values = vals_a, samples1[0].n_values = 2; /* one value per observation: 3 + 4 */
  samples1[0].attribute_indices = attr_a, samples1[0].n_attribute_indices = 1;
  samples1[1].stack_index = 2;
  samples1[1].timestamps_unix_nano = ts_b, samples1[1].n_timestamps_unix_nano = 2; /* two events, 1 each */
  opentelemetry__proto__profiles__v1development__value_type__init(&sample_type);
  opentelemetry__proto__profiles__v1development__value_type__init(&period_type);
  sample_type.type_strindex = 1, sample_type.unit_strindex = 2;
  period_type.type_strindex = 3, period_type.unit_strindex = 4;
  opentelemetry__proto__profiles__v1development__profile__init(&prof1);
  prof1.sample_type = &sample_type, prof1.period_type = &period_type, prof1.period = 10000000;
  prof1.time_unix_nano = 1700000000000000000ULL, prof1.duration_nano = 1000000000;
  prof1.samples = samplep1, prof1.n_samples = 2;
  profp1[0] = &prof1;

  opentelemetry__proto__profiles__v1development__sample__init(&samples2[0]);
  samplep2[0] = &samples2[0];
  samples2[0].stack_index = 1, samples2[0].link_index = 5; /* only 2 links */
  samples2[0].values = vals_a, samples2[0].n_values = 1;
  opentelemetry__proto__profiles__v1development__profile__init(&prof2);
  prof2.sample_type = &sample_type, prof2.samples = samplep2, prof2.n_samples = 1;
  profp2[0] = &prof2;

  opentelemetry__proto__profiles__v1development__scope_profiles__init(&scope1);
  opentelemetry__proto__profiles__v1development__scope_profiles__init(&scope2);
  scope1.profiles = profp1, scope1.n_profiles = 1, scopep1[0] = &scope1;
  scope2.profiles = profp2, scope2.n_profiles = 1, scopep2[0] = &scope2;

  opentelemetry__proto__common__v1__any_value__init(&svc_v);
  opentelemetry__proto__common__v1__any_value__init(&inst_v);
  opentelemetry__proto__common__v1__any_value__init(&svc2_v);
  svc_v.value_case = inst_v.value_case = svc2_v.value_case =
      OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
  svc_v.string_value = "shop", inst_v.string_value = "i-1", svc2_v.string_value = "other";
  opentelemetry__proto__common__v1__key_value__init(&svc_kv);
  opentelemetry__proto__common__v1__key_value__init(&inst_kv);
  opentelemetry__proto__common__v1__key_value__init(&svc2_kv);
  svc_kv.key = "service.name", svc_kv.value = &svc_v;
  inst_kv.key = "service.instance.id", inst_kv.value = &inst_v;
  svc2_kv.key = "service.name", svc2_kv.value = &svc2_v;
  kvp1[0] = &svc_kv, kvp1[1] = &inst_kv, kvp2[0] = &svc2_kv;
  opentelemetry__proto__resource__v1__resource__init(&res1);
  opentelemetry__proto__resource__v1__resource__init(&res2);
  res1.attributes = kvp1, res1.n_attributes = 2;
  res2.attributes = kvp2, res2.n_attributes = 1;
  opentelemetry__proto__profiles__v1development__resource_profiles__init(&rp1);
  opentelemetry__proto__profiles__v1development__resource_profiles__init(&rp2);
  rp1.resource = &res1, rp1.scope_profiles = scopep1, rp1.n_scope_profiles = 1;
  rp2.resource = &res2, rp2.scope_profiles = scopep2, rp2.n_scope_profiles = 1;
  rpp[0] = &rp1, rpp[1] = &rp2;
  opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__init(&req);
  req.resource_profiles = rpp, req.n_resource_profiles = 2;
  req.dictionary = &dict;
}

static uint8_t *pack(size_t *len) {
  *len = protobuf_c_message_get_packed_size(&req.base);
  uint8_t *b = malloc(*len);
  assert_non_null(b);
  protobuf_c_message_pack(&req.base, b);
  return b;
}

/* The request above (as built by build()) in OTLP/JSON, written by hand. */
static const char JSON_REQ[] =
    "{\"dictionary\":{\"stringTable\":[\"\",\"samples\",\"count\",\"cpu\",\"nanoseconds\",\"main.work\",\"main.go\","
    "\"main.main\",\"handler\",\"buy\"],"
    "\"functionTable\":[{},{\"nameStrindex\":5,\"filenameStrindex\":6},{\"name_strindex\":7,\"filenameStrindex\":6}],"
    "\"locationTable\":[{},{\"lines\":[{\"functionIndex\":1,\"line\":\"12\"}]},{\"lines\":[{\"functionIndex\":2,"
    "\"line\":3}]}],"
    "\"stackTable\":[{},{\"locationIndices\":[1,2]},{\"locationIndices\":[2]}],"
    "\"linkTable\":[{},{\"traceId\":\"0af7651916cd43dd8448eb211c80319c\",\"spanId\":\"b7ad6b7169203331\"}],"
    "\"attributeTable\":[{},{\"keyStrindex\":8,\"value\":{\"stringValue\":\"buy\"}}]},"
    "\"resourceProfiles\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":"
    "\"shop\"}},{\"key\":\"service.instance.id\",\"value\":{\"stringValue\":\"i-1\"}}]},"
    "\"scopeProfiles\":[{\"profiles\":[{\"sampleType\":{\"typeStrindex\":1,\"unitStrindex\":2},"
    "\"periodType\":{\"typeStrindex\":3,\"unitStrindex\":4},\"period\":\"10000000\","
    "\"timeUnixNano\":\"1700000000000000000\",\"durationNano\":\"1000000000\","
    "\"samples\":[{\"stackIndex\":1,\"linkIndex\":1,\"values\":[\"3\",4],\"attributeIndices\":[1]},"
    "{\"stackIndex\":2,\"timestampsUnixNano\":[\"1000\",\"2000\"]}]}]}]},"
    "{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"other\"}}]},"
    "\"scopeProfiles\":[{\"profiles\":[{\"sampleType\":{\"typeStrindex\":1,\"unitStrindex\":2},"
    "\"samples\":[{\"stackIndex\":1,\"linkIndex\":5,\"values\":[3]}]}]}]}]}";

static void check_batch(const mw_otlp_prof_batch *b) {
  assert_int_equal(b->profiles, 1);
  assert_int_equal(b->samples, 2);
  assert_int_equal(b->rejected, 1);
  assert_non_null(b->reject_reason);
  assert_non_null(strstr(b->reject_reason, "resource_profiles[1].scope_profiles[0].profiles[0]"));
  assert_non_null(strstr(b->reject_reason, "link_index 5"));
  const mw_runtime_batch *rb = b->first;
  assert_non_null(rb);
  assert_null(rb->next);
  assert_string_equal(rb->service, "shop");
  assert_string_equal(rb->instance, "i-1");
  assert_string_equal(rb->kind, "cpu"); /* samples/count with a cpu period: a CPU profile */
  assert_int_equal(rb->at_ns, 1700000000000000000LL);
  assert_int_equal(rb->duration_ns, 1000000000);
  assert_int_equal(rb->n_samples, 2);
  const mw_profile_row *linked = NULL, *plain = NULL;
  for (size_t i = 0; i < rb->n_samples; i++) {
    if (rb->samples[i].has_span) linked = &rb->samples[i];
    else plain = &rb->samples[i];
  }
  assert_non_null(linked);
  assert_non_null(plain);
  assert_memory_equal(linked->span_id, SPAN, 8);
  assert_true(linked->has_trace);
  assert_memory_equal(linked->trace_id, TRACE, 16);
  assert_string_equal(linked->vals_json, "[7]");
  assert_non_null(linked->labels_json);
  assert_non_null(strstr(linked->labels_json, "\"handler\":\"buy\""));
  assert_string_equal(rb->stacks[linked->stack].text, "main.work\tmain.go:12\nmain.main\tmain.go:3\n");
  assert_false(plain->has_trace);
  assert_string_equal(plain->vals_json, "[2]");
  assert_string_equal(rb->stacks[plain->stack].text, "main.main\tmain.go:3\n");
}

static void test_protobuf(void **state) {
  (void)state;
  build();
  size_t len;
  uint8_t *body = pack(&len);
  mw_arena *a = mw__arena_new(0);
  mw_otlp_prof_batch b;
  char err[512] = "";
  const mw_limits lim = MW_LIMITS_DEFAULT;
  int rc = mw__ingest_otlp_profiles(a, MW_OTLP_PROTOBUF, body, len, &lim, 1, &b, err, sizeof err);
  assert_int_equal(rc, MW_OK);
  check_batch(&b);
  mw__arena_free(a);
  free(body);
}

static void test_json(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  mw_otlp_prof_batch b;
  char err[512] = "";
  const mw_limits lim = MW_LIMITS_DEFAULT;
  int rc = mw__ingest_otlp_profiles(a, MW_OTLP_JSON, (const uint8_t *)JSON_REQ, strlen(JSON_REQ), &lim, 1, &b, err,
                                    sizeof err);
  if (rc) fprintf(stderr, "err: %s\n", err);
  assert_int_equal(rc, MW_OK);
  check_batch(&b);
  mw__arena_free(a);
}

/* Expects rc and an err containing want for the request as it stands. */
static void expect_refused(enum mw_otlp_encoding enc, const char *body, int want_rc, const char *want) {
  size_t len;
  uint8_t *pb = NULL;
  if (enc == MW_OTLP_PROTOBUF && !body) body = (const char *)(pb = pack(&len));
  else len = strlen(body);
  mw_arena *a = mw__arena_new(0);
  mw_otlp_prof_batch b;
  char err[512] = "";
  const mw_limits lim = MW_LIMITS_DEFAULT;
  int rc = mw__ingest_otlp_profiles(a, enc, (const uint8_t *)body, len, &lim, 1, &b, err, sizeof err);
  if (!strstr(err, want)) fprintf(stderr, "err: %s\n", err);
  assert_int_equal(rc, want_rc);
  assert_non_null(strstr(err, want));
  mw__arena_free(a);
  free(pb);
}

static void test_malformed(void **state) {
  (void)state;
  build();
  strs[0] = "x";
  expect_refused(MW_OTLP_PROTOBUF, NULL, MW_EINVAL, "dictionary.string_table[0] must be the empty string");
  build();
  strs[0] = "";
  lines[1].function_index = 3; /* 3 functions: 0..2 */
  expect_refused(MW_OTLP_PROTOBUF, NULL, MW_EINVAL,
                 "dictionary.location_table[2].lines[0].function_index 3 is out of range (3 functions)");
  build();
  st2[0] = 7;
  expect_refused(MW_OTLP_PROTOBUF, NULL, MW_EINVAL, "dictionary.stack_table[2].location_indices[0] 7 is out of range");
  st2[0] = 2;
  build();
  links[1].span_id.len = 4;
  expect_refused(MW_OTLP_PROTOBUF, NULL, MW_EINVAL, "dictionary.link_table[1]");
  build();
  expect_refused(MW_OTLP_PROTOBUF, "\x0a\xff\xff\xff", MW_EINVAL, "");
  expect_refused(
      MW_OTLP_JSON,
      "{\"resourceProfiles\":[{\"scopeProfiles\":[{\"profiles\":[{\"samples\":[{\"stackIndex\":\"x\"}]}]}]}]}",
      MW_EINVAL, "resourceProfiles[0].scopeProfiles[0].profiles[0].samples[0].stackIndex: expected an integer");
  expect_refused(MW_OTLP_JSON, "{\"dictionary\":{\"linkTable\":[{\"spanId\":\"zz\"}]}}", MW_EINVAL,
                 "dictionary.linkTable[0].spanId: not a hex string");
  expect_refused(MW_OTLP_JSON, "[1]", MW_EINVAL, "expected an object");
  expect_refused(MW_OTLP_JSON, "{\"resourceProfiles\":", MW_EINVAL, "body is not JSON");
}

/* A sample with neither values nor timestamps, or with counts that differ,
 * refuses its profile alone. */
static void test_bad_samples(void **state) {
  (void)state;
  build();
  samples1[1].n_timestamps_unix_nano = 0;
  size_t len;
  uint8_t *body = pack(&len);
  mw_arena *a = mw__arena_new(0);
  mw_otlp_prof_batch b;
  char err[512] = "";
  const mw_limits lim = MW_LIMITS_DEFAULT;
  assert_int_equal(mw__ingest_otlp_profiles(a, MW_OTLP_PROTOBUF, body, len, &lim, 1, &b, err, sizeof err), MW_OK);
  assert_int_equal(b.profiles, 0);
  assert_int_equal(b.rejected, 2);
  assert_non_null(strstr(b.reject_reason, "profiles[0]: samples[1] has neither values nor timestamps_unix_nano"));
  free(body);
  build();
  samples1[1].values = vals_a, samples1[1].n_values = 1; /* 1 value, 2 timestamps */
  body = pack(&len);
  assert_int_equal(mw__ingest_otlp_profiles(a, MW_OTLP_PROTOBUF, body, len, &lim, 1, &b, err, sizeof err), MW_OK);
  assert_int_equal(b.rejected, 2);
  assert_non_null(strstr(b.reject_reason, "samples[1] has 1 values but 2 timestamps_unix_nano"));
  free(body);
  mw__arena_free(a);
}

/* A pprof profile of two sample types comes as two profiles of one each (as
 * the Collector's pprof translator writes them): they are stored as one, a
 * sample of the same stack, link and attributes holding a value of each. */
static void test_split_types_merge(void **state) {
  (void)state;
  build();
  static int64_t ns[] = {70000000};
  static sample_t cpu_sample;
  static sample_t *cpu_samplep[1];
  static vt_t cpu_type;
  static mw_otlp_profile prof1b;
  static mw_otlp_profile *both[2];
  opentelemetry__proto__profiles__v1development__sample__init(&cpu_sample);
  cpu_sample.stack_index = 1, cpu_sample.link_index = 1;
  cpu_sample.attribute_indices = attr_a, cpu_sample.n_attribute_indices = 1;
  cpu_sample.values = ns, cpu_sample.n_values = 1;
  cpu_samplep[0] = &cpu_sample;
  opentelemetry__proto__profiles__v1development__value_type__init(&cpu_type);
  cpu_type.type_strindex = 3, cpu_type.unit_strindex = 4; /* cpu/nanoseconds */
  prof1b = prof1;
  prof1b.sample_type = &cpu_type;
  prof1b.samples = cpu_samplep, prof1b.n_samples = 1;
  both[0] = &prof1, both[1] = &prof1b;
  scope1.profiles = both, scope1.n_profiles = 2;
  size_t len;
  uint8_t *body = pack(&len);
  mw_arena *a = mw__arena_new(0);
  mw_otlp_prof_batch b;
  char err[512] = "";
  const mw_limits lim = MW_LIMITS_DEFAULT;
  assert_int_equal(mw__ingest_otlp_profiles(a, MW_OTLP_PROTOBUF, body, len, &lim, 1, &b, err, sizeof err), MW_OK);
  assert_int_equal(b.profiles, 2);
  assert_non_null(b.first);
  assert_null(b.first->next);
  assert_int_equal(b.first->n_samples, 2);
  int seen = 0;
  for (size_t i = 0; i < b.first->n_samples; i++) {
    const mw_profile_row *row = &b.first->samples[i];
    if (row->has_span) assert_string_equal(row->vals_json, "[7,70000000]"), seen |= 1;
    else assert_string_equal(row->vals_json, "[2,0]"), seen |= 2;
  }
  assert_int_equal(seen, 3);
  mw__arena_free(a);
  free(body);
}

/* Nothing but a sample with a value: no dictionary, no resource. Index 0 is
 * the null entry of every table (the empty stack, the empty string), so this
 * is a profile of one sample without frames, of the unnamed service. */
static void test_minimal(void **state) {
  (void)state;
  static const char body[] =
      "{\"resourceProfiles\":[{\"scopeProfiles\":[{\"profiles\":[{\"samples\":[{\"values\":[4]}]}]}]}]}";
  mw_arena *a = mw__arena_new(0);
  mw_otlp_prof_batch b;
  char err[512] = "";
  const mw_limits lim = MW_LIMITS_DEFAULT;
  int rc =
      mw__ingest_otlp_profiles(a, MW_OTLP_JSON, (const uint8_t *)body, strlen(body), &lim, 42, &b, err, sizeof err);
  if (rc) fprintf(stderr, "err: %s\n", err);
  assert_int_equal(rc, MW_OK);
  assert_int_equal(b.rejected, 0);
  assert_non_null(b.first);
  assert_string_equal(b.first->service, "unknown_service");
  assert_string_equal(b.first->instance, "");
  assert_int_equal(b.first->at_ns, 42); /* no time: when received */
  assert_int_equal(b.first->n_samples, 1);
  assert_string_equal(b.first->samples[0].vals_json, "[4]");
  mw__arena_free(a);
}

/* The OpenTelemetry eBPF profiler reports a Go program's pprof labels as
 * attributes process.context.label.<key> (its reporter/internal/pdata): a
 * span_id label set by the program names the span, as in a pushed pprof. */
static void test_ebpf_labels(void **state) {
  (void)state;
  static const char body[] =
      "{\"dictionary\":{\"stringTable\":[\"\",\"process.context.label.span_id\",\"thread.name\"],"
      "\"attributeTable\":[{},{\"keyStrindex\":1,\"value\":{\"stringValue\":\"00f067aa0ba902b7\"}},"
      "{\"keyStrindex\":2,\"value\":{\"stringValue\":\"worker\"}}]},"
      "\"resourceProfiles\":[{\"scopeProfiles\":[{\"profiles\":[{\"samples\":["
      "{\"attributeIndices\":[1,2],\"timestampsUnixNano\":[\"5\",\"6\",\"7\"]},"
      "{\"attributeIndices\":[2],\"timestampsUnixNano\":[\"8\"]}]}]}]}]}";
  static const uint8_t span[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
  mw_arena *a = mw__arena_new(0);
  mw_otlp_prof_batch b;
  char err[512] = "";
  const mw_limits lim = MW_LIMITS_DEFAULT;
  int rc =
      mw__ingest_otlp_profiles(a, MW_OTLP_JSON, (const uint8_t *)body, strlen(body), &lim, 42, &b, err, sizeof err);
  if (rc) fprintf(stderr, "err: %s\n", err);
  assert_int_equal(rc, MW_OK);
  assert_non_null(b.first);
  assert_int_equal(b.first->n_samples, 2);
  const mw_profile_row *r0 = &b.first->samples[0], *r1 = &b.first->samples[1];
  if (!r0->has_span) r0 = r1, r1 = &b.first->samples[0];
  assert_true(r0->has_span);
  assert_memory_equal(r0->span_id, span, 8);
  assert_string_equal(r0->vals_json, "[3]");
  assert_string_equal(r0->labels_json, "{\"span_id\":\"00f067aa0ba902b7\",\"thread.name\":\"worker\"}");
  assert_false(r1->has_span);
  assert_string_equal(r1->vals_json, "[1]");
  mw__arena_free(a);
}

/* More samples in all than max_samples: 413's code, naming the limit. */
static void test_too_many_samples(void **state) {
  (void)state;
  build(); /* 3 samples over the two resources */
  size_t len;
  uint8_t *body = pack(&len);
  mw_arena *a = mw__arena_new(0);
  mw_otlp_prof_batch b;
  char err[512] = "";
  mw_limits lim = MW_LIMITS_DEFAULT;
  lim.max_samples = 2;
  assert_int_equal(mw__ingest_otlp_profiles(a, MW_OTLP_PROTOBUF, body, len, &lim, 1, &b, err, sizeof err), MW_ETOOBIG);
  assert_non_null(strstr(err, "3 samples in one request: at most 2 (max_samples)"));
  lim.max_samples = 3;
  assert_int_equal(mw__ingest_otlp_profiles(a, MW_OTLP_PROTOBUF, body, len, &lim, 1, &b, err, sizeof err), MW_OK);
  mw__arena_free(a);
  free(body);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_protobuf),          cmocka_unit_test(test_json),
      cmocka_unit_test(test_malformed),         cmocka_unit_test(test_bad_samples),
      cmocka_unit_test(test_split_types_merge), cmocka_unit_test(test_minimal),
      cmocka_unit_test(test_ebpf_labels),       cmocka_unit_test(test_too_many_samples),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* OTLP/JSON decoding (see otlp.h). jansson parses the body into a DOM, which is
 * walked once to build the same protobuf-c structs the protobuf decoder yields,
 * so validation and flattening see one in-memory form; the DOM is freed before
 * returning and everything kept comes from the request's arena. The rules are
 * the OTLP JSON mapping plus the reference collector's leniencies: snake_case
 * member names, enum names, 64-bit integers as strings or numbers, hex ids, and
 * the legacy instrumentationLibrarySpans. Ids are only checked for being hex:
 * a wrong length is left to the validation step, which rejects such spans one
 * by one (partial success) rather than the whole request. */
#include "decode/otlp.h"
#include "decode/json_walk.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "core/hex.h"
#include "core/utf8.h"

typedef Opentelemetry__Proto__Resource__V1__Resource resource_t;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope scope_t;
typedef Opentelemetry__Proto__Common__V1__ArrayValue array_t;
typedef Opentelemetry__Proto__Common__V1__KeyValueList kvlist_t;
typedef Opentelemetry__Proto__Trace__V1__Span__Event event_t;
typedef Opentelemetry__Proto__Trace__V1__Span__Link link_t;
typedef Opentelemetry__Proto__Trace__V1__Status status_t;

typedef mw_jpath path;

typedef struct dec {
  mw_arena *a;
  size_t max_attr_depth;
  mw_otlp_flaws *flaws;
  uint32_t rs, ss, span; /* where the walk is, for flaws (MW_OTLP_WHOLE above a level) */
  char *err;
  size_t errsz;
} dec;

/* An enum value's JSON name (the collector accepts names as well as numbers). */
typedef struct enum_name {
  const char *name;
  int value;
} enum_name;

static const enum_name span_kinds[] = {{"SPAN_KIND_UNSPECIFIED", 0},
                                       {"SPAN_KIND_INTERNAL", 1},
                                       {"SPAN_KIND_SERVER", 2},
                                       {"SPAN_KIND_CLIENT", 3},
                                       {"SPAN_KIND_PRODUCER", 4},
                                       {"SPAN_KIND_CONSUMER", 5},
                                       {NULL, 0}};
static const enum_name status_codes[] = {
    {"STATUS_CODE_UNSET", 0}, {"STATUS_CODE_OK", 1}, {"STATUS_CODE_ERROR", 2}, {NULL, 0}};

/* ---- errors ------------------------------------------------------------- */

__attribute__((format(printf, 3, 4))) static int fail(dec *d, const path *at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = mw__jpath_vfail(d->err, d->errsz, at, fmt, ap);
  va_end(ap);
  return rc;
}

static int nomem(dec *d) {
  if (d->err && d->errsz) snprintf(d->err, d->errsz, "out of memory decoding the OTLP/JSON body");
  return MW_ENOMEM;
}

/* ---- members and scalars ------------------------------------------------ */

/* The member spelled camel or snake (NULL when both spellings are the same),
 * or NULL when absent or null: null means the default in the JSON mapping. */
static json_t *member(const json_t *obj, const char *camel, const char *snake) {
  json_t *v = json_object_get(obj, camel);
  if ((!v || json_is_null(v)) && snake) v = json_object_get(obj, snake);
  return json_is_null(v) ? NULL : v;
}

/* Objects may also be null (the default message); anything else is an error. */
static int want_object(dec *d, const json_t *j, const path *at) {
  return json_is_object(j) || json_is_null(j) ? 0 : fail(d, at, "expected an object");
}

static void *alloc_n(dec *d, size_t n, size_t size) { return mw__arena_calloc(d->a, n, size); }

static int copy_string(dec *d, const json_t *v, const path *at, char **out) {
  if (!json_is_string(v)) return fail(d, at, "expected a string");
  size_t n = json_string_length(v);
  if (n == 0) return 0; /* keep the shared empty string that *__init() set */
  /* jansson takes only UTF-8, but "\u0000" in a string is a NUL byte: it
   * breaks the name rule, which refuses the span, scope or resource */
  if (memchr(json_string_value(v), 0, n)) {
    char why[256];
    size_t off = mw__jpath_put(why, sizeof why, 0, at);
    if (off < sizeof why) snprintf(why + off, sizeof why - off, " %s", mw__text_flaw_name(MW_TEXT_NUL));
    if (mw__otlp_flaw_add(d->a, d->flaws, d->rs, d->ss, d->span, why)) return nomem(d);
  }
  char *s = mw__arena_strndup(d->a, json_string_value(v), n);
  if (!s) return nomem(d);
  *out = s;
  return 0;
}

static int get_string(dec *d, const json_t *obj, const char *camel, const char *snake, const path *up, char **out) {
  const json_t *v = member(obj, camel, snake);
  if (!v) return 0;
  path at = {up, camel, 0};
  return copy_string(d, v, &at, out);
}

/* Exact match with a counted string (JSON strings may hold NULs). */
static int key_is(const char *key, size_t len, const char *name) {
  return strlen(name) == len && !memcmp(key, name, len);
}

static int is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/* Trace and span ids are hex in OTLP/JSON (not base64 as other bytes are). */
static int get_id(dec *d, const json_t *obj, const char *camel, const char *snake, const path *up,
                  ProtobufCBinaryData *out) {
  const json_t *v = member(obj, camel, snake);
  if (!v) return 0;
  path at = {up, camel, 0};
  if (!json_is_string(v)) return fail(d, &at, "expected a hex string");
  const char *s = json_string_value(v);
  size_t n = json_string_length(v);
  if (n == 0) return 0; /* zero length = unset */
  for (size_t i = 0; i < n; i++)
    if (!is_hex(s[i])) return fail(d, &at, "not a hex string (bad digit at offset %zu)", i);
  if (n % 2) return fail(d, &at, "odd number of hex digits (%zu)", n);
  uint8_t *b = mw__arena_alloc(d->a, n / 2);
  if (!b) return nomem(d);
  mw__hex_decode(b, n / 2, s, n); /* cannot fail: checked above */
  out->data = b;
  out->len = n / 2;
  return 0;
}

/* 2^64 and 2^63 as doubles: bounds for integral JSON reals such as 1e9. */
#define TWO_64 18446744073709551616.0
#define TWO_63 9223372036854775808.0

/* An unsigned integer field no greater than max: a JSON number (integral) or a
 * decimal string, as proto3 JSON decoders accept both for every integer type. */
static int to_uint(dec *d, const json_t *v, const path *at, uint64_t max, uint64_t *out) {
  if (json_is_integer(v)) {
    json_int_t x = json_integer_value(v);
    if (x < 0 || (uint64_t)x > max) return fail(d, at, "out of range (%lld)", (long long)x);
    *out = (uint64_t)x;
    return 0;
  }
  if (json_is_real(v)) {
    double x = json_real_value(v);
    if (x != floor(x) || x < 0 || x >= TWO_64 || (uint64_t)x > max)
      return fail(d, at, "expected an unsigned integer, got %g", x);
    *out = (uint64_t)x;
    return 0;
  }
  if (json_is_string(v)) {
    if (mw__json_dec(json_string_value(v), json_string_length(v), max, NULL, out))
      return fail(d, at, "expected an unsigned decimal integer (at most %llu)", (unsigned long long)max);
    return 0;
  }
  return fail(d, at, "expected an integer or a decimal string");
}

static int get_u64(dec *d, const json_t *obj, const char *camel, const char *snake, const path *up, uint64_t *out) {
  const json_t *v = member(obj, camel, snake);
  if (!v) return 0;
  path at = {up, camel, 0};
  return to_uint(d, v, &at, UINT64_MAX, out);
}

static int get_u32(dec *d, const json_t *obj, const char *camel, const char *snake, const path *up, uint32_t *out) {
  const json_t *v = member(obj, camel, snake);
  if (!v) return 0;
  path at = {up, camel, 0};
  uint64_t x = 0;
  int rc = to_uint(d, v, &at, UINT32_MAX, &x);
  if (!rc) *out = (uint32_t)x;
  return rc;
}

static int to_int64(dec *d, const json_t *v, const path *at, int64_t *out) {
  if (json_is_integer(v)) {
    *out = json_integer_value(v);
    return 0;
  }
  if (json_is_real(v)) {
    double x = json_real_value(v);
    if (x != floor(x) || x < -TWO_63 || x >= TWO_63) return fail(d, at, "expected an integer, got %g", x);
    *out = (int64_t)x;
    return 0;
  }
  if (json_is_string(v)) {
    int neg;
    uint64_t x;
    if (mw__json_dec(json_string_value(v), json_string_length(v), (uint64_t)INT64_MAX + 1, &neg, &x) ||
        (!neg && x > (uint64_t)INT64_MAX))
      return fail(d, at, "expected a 64-bit decimal integer");
    *out = neg ? (int64_t)(0 - x) : (int64_t)x; /* 0 - 2^63 wraps to INT64_MIN */
    return 0;
  }
  return fail(d, at, "expected an integer or a decimal string");
}

/* Enums: a number (proto3 enums are open, so unknown numbers are kept), a known
 * name, or a number in a string. */
static int get_enum(dec *d, const json_t *obj, const char *name, const enum_name *names, const path *up, int *out) {
  const json_t *v = member(obj, name, NULL);
  if (!v) return 0;
  path at = {up, name, 0};
  int64_t x;
  if (json_is_integer(v)) {
    x = json_integer_value(v);
  } else if (json_is_string(v)) {
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    for (const enum_name *e = names; e->name; e++)
      if (key_is(s, n, e->name)) {
        *out = e->value;
        return 0;
      }
    int neg;
    uint64_t u;
    if (mw__json_dec(s, n, (uint64_t)INT32_MAX + 1, &neg, &u) || (!neg && u > INT32_MAX))
      return fail(d, &at, "unknown enum name");
    x = neg ? -(int64_t)u : (int64_t)u;
  } else {
    return fail(d, &at, "expected an enum number or name");
  }
  if (x < INT32_MIN || x > INT32_MAX) return fail(d, &at, "enum value out of range");
  *out = (int)x;
  return 0;
}

static int to_double(dec *d, const json_t *v, const path *at, double *out) {
  if (json_is_number(v)) {
    *out = json_number_value(v);
    return 0;
  }
  if (json_is_string(v)) {
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (key_is(s, n, "NaN")) *out = NAN;
    else if (key_is(s, n, "Infinity")) *out = INFINITY;
    else if (key_is(s, n, "-Infinity")) *out = -INFINITY;
    else {
      /* A number in a string: strtod alone would also take spaces, hex, "inf". */
      if (n == 0 || strspn(s, "0123456789+-.eE") != n) goto bad;
      char *end;
      *out = strtod(s, &end);
      if (end != s + n) goto bad;
    }
    return 0;
  }
bad:
  return fail(d, at, "expected a number, \"NaN\", \"Infinity\" or \"-Infinity\"");
}

/* Standard base64, padding optional (several senders strip it). */
static int to_bytes(dec *d, const json_t *v, const path *at, ProtobufCBinaryData *out) {
  if (!json_is_string(v)) return fail(d, at, "expected a base64 string");
  size_t bad_at;
  int rc = mw__base64_decode(d->a, json_string_value(v), json_string_length(v), &out->data, &out->len, &bad_at);
  if (rc == MW_ENOMEM) return nomem(d);
  if (rc && bad_at == SIZE_MAX) return fail(d, at, "bad base64 length or padding");
  if (rc) return fail(d, at, "not base64 (bad character at offset %zu)", bad_at);
  return 0;
}

/* ---- AnyValue and attributes -------------------------------------------- */

static int decode_value(dec *d, const json_t *j, size_t depth, const path *at, mw_otlp_value *v);
static int decode_kv(dec *d, const json_t *j, size_t depth, const path *at, mw_otlp_kv *kv, mw_otlp_value *slot);

/* The AnyValue oneof keyed by member name, in both spellings. */
static const struct {
  const char *camel, *snake;
  int which;
} any_members[] = {
    {"stringValue", "string_value", OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE},
    {"boolValue", "bool_value", OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE},
    {"intValue", "int_value", OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE},
    {"doubleValue", "double_value", OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE},
    {"arrayValue", "array_value", OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE},
    {"kvlistValue", "kvlist_value", OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE},
    {"bytesValue", "bytes_value", OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE},
};

/* The "values" array of an arrayValue / kvlistValue wrapper, or NULL if empty. */
static int wrapper_values(dec *d, const json_t *w, const path *at, const json_t **out) {
  int rc = want_object(d, w, at);
  if (rc) return rc;
  const json_t *vals = member(w, "values", NULL);
  *out = NULL;
  if (!vals) return 0;
  if (!json_is_array(vals)) {
    path vat = {at, "values", 0};
    return fail(d, &vat, "expected an array");
  }
  *out = vals;
  return 0;
}

static int decode_array(dec *d, const json_t *w, size_t depth, const path *at, array_t **out) {
  const json_t *vals;
  int rc = wrapper_values(d, w, at, &vals);
  if (rc) return rc;
  array_t *arr = alloc_n(d, 1, sizeof *arr);
  if (!arr) return nomem(d);
  opentelemetry__proto__common__v1__array_value__init(arr);
  *out = arr;
  size_t n = json_array_size(vals);
  if (!n) return 0;
  mw_otlp_value **ps = alloc_n(d, n, sizeof *ps), *vs = alloc_n(d, n, sizeof *vs);
  if (!ps || !vs) return nomem(d);
  path vat = {at, "values", 0};
  for (size_t i = 0; i < n; i++) {
    path eat = {&vat, NULL, i};
    opentelemetry__proto__common__v1__any_value__init(&vs[i]);
    ps[i] = &vs[i];
    if ((rc = decode_value(d, json_array_get(vals, i), depth, &eat, &vs[i]))) return rc;
  }
  arr->values = ps;
  arr->n_values = n;
  return 0;
}

static int decode_kvlist(dec *d, const json_t *w, size_t depth, const path *at, kvlist_t **out) {
  const json_t *vals;
  int rc = wrapper_values(d, w, at, &vals);
  if (rc) return rc;
  kvlist_t *l = alloc_n(d, 1, sizeof *l);
  if (!l) return nomem(d);
  opentelemetry__proto__common__v1__key_value_list__init(l);
  *out = l;
  size_t n = json_array_size(vals);
  if (!n) return 0;
  mw_otlp_kv **ps = alloc_n(d, n, sizeof *ps), *kvs = alloc_n(d, n, sizeof *kvs);
  mw_otlp_value *vs = alloc_n(d, n, sizeof *vs);
  if (!ps || !kvs || !vs) return nomem(d);
  path vat = {at, "values", 0};
  for (size_t i = 0; i < n; i++) {
    path eat = {&vat, NULL, i};
    ps[i] = &kvs[i];
    if ((rc = decode_kv(d, json_array_get(vals, i), depth, &eat, &kvs[i], &vs[i]))) return rc;
  }
  l->values = ps;
  l->n_values = n;
  return 0;
}

/* depth counts the arrayValue/kvlistValue wrappers around j: an attribute's
 * value is at depth 0. Members are taken in document order so that, as on the
 * protobuf wire, the last one set wins. */
static int decode_value(dec *d, const json_t *j, size_t depth, const path *at, mw_otlp_value *v) {
  int rc = want_object(d, j, at);
  if (rc) return rc;
  const char *key;
  size_t klen;
  json_t *m;
  json_object_keylen_foreach((json_t *)j, key, klen, m) {
    if (json_is_null(m)) continue;
    size_t k = 0;
    while (k < sizeof any_members / sizeof any_members[0] && !key_is(key, klen, any_members[k].camel) &&
           !key_is(key, klen, any_members[k].snake))
      k++;
    if (k == sizeof any_members / sizeof any_members[0]) continue; /* unknown: ignored */
    path mat = {at, any_members[k].camel, 0};
    switch (any_members[k].which) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE: {
      char *s = (char *)protobuf_c_empty_string;
      if ((rc = copy_string(d, m, &mat, &s))) return rc;
      v->string_value = s;
      break;
    }
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
      if (!json_is_boolean(m)) return fail(d, &mat, "expected true or false");
      v->bool_value = json_is_true(m);
      break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE: {
      int64_t x = 0;
      if ((rc = to_int64(d, m, &mat, &x))) return rc;
      v->int_value = x;
      break;
    }
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE: {
      double x = 0;
      if ((rc = to_double(d, m, &mat, &x))) return rc;
      v->double_value = x;
      break;
    }
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE:
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE:
      /* past max_attr_depth, validation refuses the span alone; this far
       * down, the protobuf decoder would refuse the request, and so do we */
      if (depth + 1 > MW_ATTR_DECODE_DEPTH)
        return fail(d, &mat,
                    "attribute values nested more than %d deep cannot be decoded (a span's values may nest "
                    "%zu deep: max_attr_depth)",
                    MW_ATTR_DECODE_DEPTH, d->max_attr_depth);
      if (any_members[k].which == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE) {
        array_t *arr = NULL;
        if ((rc = decode_array(d, m, depth + 1, &mat, &arr))) return rc;
        v->array_value = arr;
      } else {
        kvlist_t *l = NULL;
        if ((rc = decode_kvlist(d, m, depth + 1, &mat, &l))) return rc;
        v->kvlist_value = l;
      }
      break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE: {
      ProtobufCBinaryData b;
      if ((rc = to_bytes(d, m, &mat, &b))) return rc;
      v->bytes_value = b;
      break;
    }
    }
    v->value_case = (Opentelemetry__Proto__Common__V1__AnyValue__ValueCase)any_members[k].which;
  }
  return 0;
}

/* slot is where the value goes when present; an absent value stays NULL, as
 * the protobuf decoder leaves it. */
static int decode_kv(dec *d, const json_t *j, size_t depth, const path *at, mw_otlp_kv *kv, mw_otlp_value *slot) {
  opentelemetry__proto__common__v1__key_value__init(kv);
  int rc = want_object(d, j, at);
  if (rc) return rc;
  if ((rc = get_string(d, j, "key", NULL, at, &kv->key))) return rc;
  const json_t *v = member(j, "value", NULL);
  if (!v) return 0;
  path vat = {at, "value", 0};
  opentelemetry__proto__common__v1__any_value__init(slot);
  if ((rc = decode_value(d, v, depth, &vat, slot))) return rc;
  kv->value = slot;
  return 0;
}

static int get_attrs(dec *d, const json_t *obj, const path *up, size_t *n_out, mw_otlp_kv ***out) {
  const json_t *arr = member(obj, "attributes", NULL);
  if (!arr) return 0;
  path at = {up, "attributes", 0};
  if (!json_is_array(arr)) return fail(d, &at, "expected an array");
  size_t n = json_array_size(arr);
  if (!n) return 0;
  /* One block each for pointers, pairs and values: attribute lists are the bulk
   * of a request and small arena allocations each round up to 16 bytes. */
  mw_otlp_kv **ps = alloc_n(d, n, sizeof *ps), *kvs = alloc_n(d, n, sizeof *kvs);
  mw_otlp_value *vs = alloc_n(d, n, sizeof *vs);
  if (!ps || !kvs || !vs) return nomem(d);
  for (size_t i = 0; i < n; i++) {
    path eat = {&at, NULL, i};
    ps[i] = &kvs[i];
    int rc = decode_kv(d, json_array_get(arr, i), 0, &eat, &kvs[i], &vs[i]);
    if (rc) return rc;
  }
  *out = ps;
  *n_out = n;
  return 0;
}

/* ---- the message tree --------------------------------------------------- */

/* The array member camel/snake as (array, size), or size 0 when absent. */
static int get_array(dec *d, const json_t *obj, const char *camel, const char *snake, const path *up,
                     const json_t **arr, size_t *n) {
  *arr = member(obj, camel, snake);
  *n = 0;
  if (!*arr) return 0;
  if (!json_is_array(*arr)) {
    path at = {up, camel, 0};
    return fail(d, &at, "expected an array");
  }
  *n = json_array_size(*arr);
  return 0;
}

static int decode_event(dec *d, const json_t *j, const path *at, event_t *e) {
  int rc = want_object(d, j, at);
  if (!rc) rc = get_u64(d, j, "timeUnixNano", "time_unix_nano", at, &e->time_unix_nano);
  if (!rc) rc = get_string(d, j, "name", NULL, at, &e->name);
  if (!rc) rc = get_attrs(d, j, at, &e->n_attributes, &e->attributes);
  if (!rc) rc = get_u32(d, j, "droppedAttributesCount", "dropped_attributes_count", at, &e->dropped_attributes_count);
  return rc;
}

static int decode_link(dec *d, const json_t *j, const path *at, link_t *l) {
  int rc = want_object(d, j, at);
  if (!rc) rc = get_id(d, j, "traceId", "trace_id", at, &l->trace_id);
  if (!rc) rc = get_id(d, j, "spanId", "span_id", at, &l->span_id);
  if (!rc) rc = get_string(d, j, "traceState", "trace_state", at, &l->trace_state);
  if (!rc) rc = get_attrs(d, j, at, &l->n_attributes, &l->attributes);
  if (!rc) rc = get_u32(d, j, "droppedAttributesCount", "dropped_attributes_count", at, &l->dropped_attributes_count);
  if (!rc) rc = get_u32(d, j, "flags", NULL, at, &l->flags);
  return rc;
}

static int decode_status(dec *d, const json_t *j, const path *at, status_t **out) {
  int rc = want_object(d, j, at);
  if (rc) return rc;
  status_t *st = alloc_n(d, 1, sizeof *st);
  if (!st) return nomem(d);
  opentelemetry__proto__trace__v1__status__init(st);
  *out = st;
  int code = 0;
  rc = get_string(d, j, "message", NULL, at, &st->message);
  if (!rc) rc = get_enum(d, j, "code", status_codes, at, &code);
  st->code = (Opentelemetry__Proto__Trace__V1__Status__StatusCode)code;
  return rc;
}

static int decode_span(dec *d, const json_t *j, const path *at, mw_otlp_span *s) {
  int rc = want_object(d, j, at), kind = 0;
  if (!rc) rc = get_id(d, j, "traceId", "trace_id", at, &s->trace_id);
  if (!rc) rc = get_id(d, j, "spanId", "span_id", at, &s->span_id);
  if (!rc) rc = get_string(d, j, "traceState", "trace_state", at, &s->trace_state);
  if (!rc) rc = get_id(d, j, "parentSpanId", "parent_span_id", at, &s->parent_span_id);
  if (!rc) rc = get_u32(d, j, "flags", NULL, at, &s->flags);
  if (!rc) rc = get_string(d, j, "name", NULL, at, &s->name);
  if (!rc) rc = get_enum(d, j, "kind", span_kinds, at, &kind);
  s->kind = (Opentelemetry__Proto__Trace__V1__Span__SpanKind)kind;
  if (!rc) rc = get_u64(d, j, "startTimeUnixNano", "start_time_unix_nano", at, &s->start_time_unix_nano);
  if (!rc) rc = get_u64(d, j, "endTimeUnixNano", "end_time_unix_nano", at, &s->end_time_unix_nano);
  if (!rc) rc = get_attrs(d, j, at, &s->n_attributes, &s->attributes);
  if (!rc) rc = get_u32(d, j, "droppedAttributesCount", "dropped_attributes_count", at, &s->dropped_attributes_count);
  if (!rc) rc = get_u32(d, j, "droppedEventsCount", "dropped_events_count", at, &s->dropped_events_count);
  if (!rc) rc = get_u32(d, j, "droppedLinksCount", "dropped_links_count", at, &s->dropped_links_count);
  if (rc) return rc;

  const json_t *arr;
  size_t n;
  if ((rc = get_array(d, j, "events", NULL, at, &arr, &n))) return rc;
  if (n) {
    event_t **ps = alloc_n(d, n, sizeof *ps), *es = alloc_n(d, n, sizeof *es);
    if (!ps || !es) return nomem(d);
    path aat = {at, "events", 0};
    for (size_t i = 0; i < n; i++) {
      path eat = {&aat, NULL, i};
      opentelemetry__proto__trace__v1__span__event__init(&es[i]);
      ps[i] = &es[i];
      if ((rc = decode_event(d, json_array_get(arr, i), &eat, &es[i]))) return rc;
    }
    s->events = ps;
    s->n_events = n;
  }
  if ((rc = get_array(d, j, "links", NULL, at, &arr, &n))) return rc;
  if (n) {
    link_t **ps = alloc_n(d, n, sizeof *ps), *ls = alloc_n(d, n, sizeof *ls);
    if (!ps || !ls) return nomem(d);
    path aat = {at, "links", 0};
    for (size_t i = 0; i < n; i++) {
      path eat = {&aat, NULL, i};
      opentelemetry__proto__trace__v1__span__link__init(&ls[i]);
      ps[i] = &ls[i];
      if ((rc = decode_link(d, json_array_get(arr, i), &eat, &ls[i]))) return rc;
    }
    s->links = ps;
    s->n_links = n;
  }
  const json_t *st = member(j, "status", NULL);
  if (st) {
    path sat = {at, "status", 0};
    if ((rc = decode_status(d, st, &sat, &s->status))) return rc;
  }
  return 0;
}

/* scope_name is "scope", or "instrumentationLibrary" in the legacy form; the
 * latter has only name and version, which InstrumentationScope shares. */
static int decode_scope_spans(dec *d, const json_t *j, const path *at, const char *scope_name, const char *scope_snake,
                              mw_otlp_scope_spans *ss) {
  int rc = want_object(d, j, at);
  if (rc) return rc;
  const json_t *sj = member(j, scope_name, scope_snake);
  if (sj) {
    path sat = {at, scope_name, 0};
    if ((rc = want_object(d, sj, &sat))) return rc;
    scope_t *sc = alloc_n(d, 1, sizeof *sc);
    if (!sc) return nomem(d);
    opentelemetry__proto__common__v1__instrumentation_scope__init(sc);
    ss->scope = sc;
    if ((rc = get_string(d, sj, "name", NULL, &sat, &sc->name))) return rc;
    if ((rc = get_string(d, sj, "version", NULL, &sat, &sc->version))) return rc;
    if ((rc = get_attrs(d, sj, &sat, &sc->n_attributes, &sc->attributes))) return rc;
    if ((rc =
             get_u32(d, sj, "droppedAttributesCount", "dropped_attributes_count", &sat, &sc->dropped_attributes_count)))
      return rc;
  }
  if ((rc = get_string(d, j, "schemaUrl", "schema_url", at, &ss->schema_url))) return rc;
  const json_t *arr;
  size_t n;
  if ((rc = get_array(d, j, "spans", NULL, at, &arr, &n))) return rc;
  if (!n) return 0;
  mw_otlp_span **ps = alloc_n(d, n, sizeof *ps), *spans = alloc_n(d, n, sizeof *spans);
  if (!ps || !spans) return nomem(d);
  path aat = {at, "spans", 0};
  for (size_t i = 0; i < n; i++) {
    path eat = {&aat, NULL, i};
    opentelemetry__proto__trace__v1__span__init(&spans[i]);
    ps[i] = &spans[i];
    d->span = (uint32_t)i;
    if ((rc = decode_span(d, json_array_get(arr, i), &eat, &spans[i]))) return rc;
  }
  d->span = MW_OTLP_WHOLE;
  ss->spans = ps;
  ss->n_spans = n;
  return 0;
}

static int decode_resource_spans(dec *d, const json_t *j, const path *at, mw_otlp_resource_spans *rs) {
  int rc = want_object(d, j, at);
  if (rc) return rc;
  const json_t *rj = member(j, "resource", NULL);
  if (rj) {
    path rat = {at, "resource", 0};
    if ((rc = want_object(d, rj, &rat))) return rc;
    resource_t *r = alloc_n(d, 1, sizeof *r);
    if (!r) return nomem(d);
    opentelemetry__proto__resource__v1__resource__init(r);
    rs->resource = r;
    if ((rc = get_attrs(d, rj, &rat, &r->n_attributes, &r->attributes))) return rc;
    if ((rc = get_u32(d, rj, "droppedAttributesCount", "dropped_attributes_count", &rat, &r->dropped_attributes_count)))
      return rc;
  }
  if ((rc = get_string(d, j, "schemaUrl", "schema_url", at, &rs->schema_url))) return rc;

  /* Senders before 2022 wrote instrumentationLibrarySpans; the old spec said to
   * read it only when scopeSpans is empty, as we do. */
  const char *list = "scopeSpans", *scope = "scope", *scope_snake = NULL;
  const json_t *arr;
  size_t n;
  if ((rc = get_array(d, j, list, "scope_spans", at, &arr, &n))) return rc;
  if (!n) {
    list = "instrumentationLibrarySpans";
    scope = "instrumentationLibrary";
    scope_snake = "instrumentation_library";
    if ((rc = get_array(d, j, list, "instrumentation_library_spans", at, &arr, &n))) return rc;
  }
  if (!n) return 0;
  mw_otlp_scope_spans **ps = alloc_n(d, n, sizeof *ps), *sss = alloc_n(d, n, sizeof *sss);
  if (!ps || !sss) return nomem(d);
  path aat = {at, list, 0};
  for (size_t i = 0; i < n; i++) {
    path eat = {&aat, NULL, i};
    opentelemetry__proto__trace__v1__scope_spans__init(&sss[i]);
    ps[i] = &sss[i];
    d->ss = (uint32_t)i;
    if ((rc = decode_scope_spans(d, json_array_get(arr, i), &eat, scope, scope_snake, &sss[i]))) return rc;
  }
  d->ss = MW_OTLP_WHOLE;
  rs->scope_spans = ps;
  rs->n_scope_spans = n;
  return 0;
}

static int decode_request(dec *d, const json_t *root, mw_otlp_request *req) {
  if (!json_is_object(root)) return fail(d, NULL, "expected a JSON object at the top level");
  const json_t *arr;
  size_t n;
  int rc = get_array(d, root, "resourceSpans", "resource_spans", NULL, &arr, &n);
  if (rc || !n) return rc;
  mw_otlp_resource_spans **ps = alloc_n(d, n, sizeof *ps), *rss = alloc_n(d, n, sizeof *rss);
  if (!ps || !rss) return nomem(d);
  path aat = {NULL, "resourceSpans", 0};
  for (size_t i = 0; i < n; i++) {
    path eat = {&aat, NULL, i};
    opentelemetry__proto__trace__v1__resource_spans__init(&rss[i]);
    ps[i] = &rss[i];
    d->rs = (uint32_t)i;
    if ((rc = decode_resource_spans(d, json_array_get(arr, i), &eat, &rss[i]))) return rc;
  }
  req->resource_spans = ps;
  req->n_resource_spans = n;
  return 0;
}

/* Parses body data of len bytes into *out (arena memory); see otlp.h. */
int mw__otlp_decode_json(mw_arena *a, const char *data, size_t len, const mw_limits *limits, mw_otlp_request **out,
                         mw_otlp_flaws *flaws, char *err, size_t errsz) {
  const mw_limits defaults = MW_LIMITS_DEFAULT;
  dec d = {.a = a,
           .max_attr_depth = (limits ? limits : &defaults)->max_attr_depth,
           .flaws = flaws,
           .rs = MW_OTLP_WHOLE,
           .ss = MW_OTLP_WHOLE,
           .span = MW_OTLP_WHOLE,
           .err = err,
           .errsz = errsz};
  memset(flaws, 0, sizeof *flaws);
  *out = NULL;
  if (err && errsz) err[0] = '\0';

  /* JSON_ALLOW_NUL: "\u0000" is legal JSON; such a string is refused with its
   * span (copy_string), not the whole body. Ids and numbers are checked by
   * length, so it cannot sneak through them. Duplicate members are not
   * rejected (the last one counts). */
  json_error_t jerr;
  json_t *root = json_loadb(data, len, JSON_ALLOW_NUL, &jerr);
  if (!root) {
    if (json_error_code(&jerr) == json_error_out_of_memory) return nomem(&d);
    const char *hint = json_error_code(&jerr) == json_error_numeric_overflow
                           ? " (send 64-bit values above 2^63-1 as strings)"
                       : json_error_code(&jerr) == json_error_invalid_utf8 ? " (a JSON body must be UTF-8)"
                                                                           : "";
    if (err && errsz)
      snprintf(err, errsz, "invalid JSON at line %d, column %d: %s%s", jerr.line, jerr.column, jerr.text, hint);
    return MW_EINVAL;
  }
  mw_otlp_request *req = alloc_n(&d, 1, sizeof *req);
  int rc;
  if (!req) {
    rc = nomem(&d);
  } else {
    opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(req);
    rc = decode_request(&d, root, req);
  }
  json_decref(root);
  if (!rc) *out = req;
  mw__otlp_flaws_sort(flaws);
  return rc;
}

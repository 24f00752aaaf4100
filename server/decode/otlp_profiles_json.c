/* OTLP/JSON profiles decoding (see otlp_profiles.h). jansson parses the body;
 * the tree is walked once, guided by the protobuf-c descriptors, into the same
 * structs the protobuf decoder yields, so that the dictionary checks and the
 * conversion see one form. Unlike the trace decoder (otlp_json.c), which
 * knows each message by hand, this walk is generic: the profiles messages are
 * many and still changing (v1development), and the JSON mapping is the same
 * rule for all of them (proto3 JSON, with OTLP's hex ids). */
#include "decode/otlp_profiles.h"
#include "decode/json_walk.h"
#include "core/error.h"
#include "core/hex.h"
#include "core/utf8.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef mw_jpath path;

static const char empty_string[] = "";

typedef struct dec {
  mw_arena *a;
  size_t depth, max_depth;
  char *err;
  size_t errsz;
} dec;

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

/* "type_strindex" -> "typeStrindex", into buf. */
static const char *camel(const char *snake, char *buf, size_t sz) {
  size_t j = 0;
  for (size_t i = 0; snake[i] && j + 1 < sz; i++) {
    if (snake[i] == '_' && snake[i + 1])
      buf[j++] = (char)(snake[i + 1] >= 'a' && snake[i + 1] <= 'z' ? snake[i + 1] - 32 : snake[i + 1]), i++;
    else buf[j++] = snake[i];
  }
  buf[j] = '\0';
  return buf;
}

/* Ids are hex in OTLP/JSON; other bytes are base64. */
static int is_hex_id(const char *field) {
  return !strcmp(field, "trace_id") || !strcmp(field, "span_id") || !strcmp(field, "parent_span_id") ||
         !strcmp(field, "profile_id");
}

/* An integer as a JSON number (integral) or a decimal string, within
 * [lo, hi] (as signed) or [0, uhi] (unsigned: is_unsigned). */
static int get_int(dec *d, const json_t *v, const path *at, int is_unsigned, int64_t lo, int64_t hi, uint64_t uhi,
                   uint64_t *out) {
  int neg = 0;
  uint64_t mag = 0;
  if (json_is_integer(v)) {
    json_int_t x = json_integer_value(v);
    neg = x < 0;
    mag = neg ? (uint64_t)(-(x + 1)) + 1 : (uint64_t)x;
  } else if (json_is_real(v)) {
    double x = json_real_value(v);
    if (x != floor(x) || fabs(x) >= 9223372036854775808.0) return fail(d, at, "expected an integer");
    neg = x < 0;
    mag = (uint64_t)fabs(x);
  } else if (json_is_string(v)) {
    if (mw__json_dec(json_string_value(v), json_string_length(v), UINT64_MAX, &neg, &mag))
      return fail(d, at, "expected an integer (a number or a decimal string)");
  } else {
    return fail(d, at, "expected an integer");
  }
  if (is_unsigned) {
    if (neg || mag > uhi) return fail(d, at, "out of range");
    *out = mag;
    return 0;
  }
  if (neg ? mag > (uint64_t)INT64_MAX + 1 || -(int64_t)(mag - 1) - 1 < lo : mag > (uint64_t)hi)
    return fail(d, at, "out of range");
  *out = neg ? (uint64_t)(-(int64_t)(mag - 1) - 1) : mag;
  return 0;
}

static int get_bytes(dec *d, const json_t *v, const path *at, int hex, ProtobufCBinaryData *out) {
  if (!json_is_string(v)) return fail(d, at, hex ? "expected a hex string" : "expected a base64 string");
  const char *s = json_string_value(v);
  size_t n = json_string_length(v);
  if (!n) return 0;
  if (hex) {
    if (n % 2) return fail(d, at, "odd number of hex digits (%zu)", n);
    uint8_t *b = mw__arena_alloc(d->a, n / 2);
    if (!b) return nomem(d);
    if (mw__hex_decode(b, n / 2, s, n)) return fail(d, at, "not a hex string");
    out->data = b;
    out->len = n / 2;
    return 0;
  }
  size_t bad_at;
  int rc = mw__base64_decode(d->a, s, n, &out->data, &out->len, &bad_at);
  if (rc == MW_ENOMEM) return nomem(d);
  if (rc && bad_at == SIZE_MAX) return fail(d, at, "bad base64 length or padding");
  if (rc) return fail(d, at, "not base64 (bad character at offset %zu)", bad_at);
  return 0;
}

static int decode_message(dec *d, const ProtobufCMessageDescriptor *desc, const json_t *obj, const path *at,
                          ProtobufCMessage **out);

static size_t elt_size(ProtobufCType t) {
  switch (t) {
  case PROTOBUF_C_TYPE_INT32:
  case PROTOBUF_C_TYPE_SINT32:
  case PROTOBUF_C_TYPE_SFIXED32:
  case PROTOBUF_C_TYPE_UINT32:
  case PROTOBUF_C_TYPE_FIXED32:
  case PROTOBUF_C_TYPE_FLOAT:
  case PROTOBUF_C_TYPE_ENUM: return 4;
  case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
  case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
  case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
  case PROTOBUF_C_TYPE_MESSAGE: return sizeof(void *);
  default: return 8;
  }
}

/* One value of field f from v into dst (the field's storage, or an element). */
static int decode_value(dec *d, const ProtobufCFieldDescriptor *f, const json_t *v, const path *at, void *dst) {
  uint64_t u;
  int rc;
  switch (f->type) {
  case PROTOBUF_C_TYPE_INT32:
  case PROTOBUF_C_TYPE_SINT32:
  case PROTOBUF_C_TYPE_SFIXED32:
    if ((rc = get_int(d, v, at, 0, INT32_MIN, INT32_MAX, 0, &u))) return rc;
    *(int32_t *)dst = (int32_t)(int64_t)u;
    return 0;
  case PROTOBUF_C_TYPE_UINT32:
  case PROTOBUF_C_TYPE_FIXED32:
    if ((rc = get_int(d, v, at, 1, 0, 0, UINT32_MAX, &u))) return rc;
    *(uint32_t *)dst = (uint32_t)u;
    return 0;
  case PROTOBUF_C_TYPE_INT64:
  case PROTOBUF_C_TYPE_SINT64:
  case PROTOBUF_C_TYPE_SFIXED64:
    if ((rc = get_int(d, v, at, 0, INT64_MIN, INT64_MAX, 0, &u))) return rc;
    *(int64_t *)dst = (int64_t)u;
    return 0;
  case PROTOBUF_C_TYPE_UINT64:
  case PROTOBUF_C_TYPE_FIXED64:
    if ((rc = get_int(d, v, at, 1, 0, 0, UINT64_MAX, &u))) return rc;
    *(uint64_t *)dst = u;
    return 0;
  case PROTOBUF_C_TYPE_FLOAT:
  case PROTOBUF_C_TYPE_DOUBLE: {
    double x;
    if (json_is_number(v)) x = json_number_value(v);
    else if (json_is_string(v) && !strcmp(json_string_value(v), "NaN")) x = NAN;
    else if (json_is_string(v) && !strcmp(json_string_value(v), "Infinity")) x = INFINITY;
    else if (json_is_string(v) && !strcmp(json_string_value(v), "-Infinity")) x = -INFINITY;
    else return fail(d, at, "expected a number");
    if (f->type == PROTOBUF_C_TYPE_FLOAT) *(float *)dst = (float)x;
    else *(double *)dst = x;
    return 0;
  }
  case PROTOBUF_C_TYPE_BOOL:
    if (!json_is_boolean(v)) return fail(d, at, "expected true or false");
    *(protobuf_c_boolean *)dst = json_is_true(v);
    return 0;
  case PROTOBUF_C_TYPE_ENUM: {
    const ProtobufCEnumDescriptor *ed = f->descriptor;
    if (json_is_string(v)) {
      const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value_by_name(ed, json_string_value(v));
      if (!ev) return fail(d, at, "unknown %s \"%.40s\"", ed->short_name, json_string_value(v));
      *(int *)dst = ev->value;
      return 0;
    }
    if ((rc = get_int(d, v, at, 0, INT32_MIN, INT32_MAX, 0, &u))) return rc;
    *(int *)dst = (int)(int64_t)u;
    return 0;
  }
  case PROTOBUF_C_TYPE_STRING: {
    if (!json_is_string(v)) return fail(d, at, "expected a string");
    size_t n = json_string_length(v);
    if (memchr(json_string_value(v), 0, n)) return fail(d, at, "%s", mw__text_flaw_name(MW_TEXT_NUL));
    /* a oneof's string has no default to keep: "" is set here */
    char *s = n ? mw__arena_strndup(d->a, json_string_value(v), n) : (char *)empty_string;
    if (!s) return nomem(d);
    *(char **)dst = s;
    return 0;
  }
  case PROTOBUF_C_TYPE_BYTES: return get_bytes(d, v, at, is_hex_id(f->name), dst);
  case PROTOBUF_C_TYPE_MESSAGE: return decode_message(d, f->descriptor, v, at, dst);
  }
  return fail(d, at, "unsupported field type");
}

static int decode_message(dec *d, const ProtobufCMessageDescriptor *desc, const json_t *obj, const path *at,
                          ProtobufCMessage **out) {
  if (!json_is_object(obj)) return fail(d, at, "expected an object");
  if (++d->depth > d->max_depth) {
    d->depth--;
    return fail(d, at, "nested more than %zu deep", d->max_depth);
  }
  ProtobufCMessage *m = mw__arena_alloc(d->a, desc->sizeof_message);
  if (!m) return nomem(d);
  desc->message_init(m);
  int rc = 0;
  for (unsigned i = 0; i < desc->n_fields && !rc; i++) {
    const ProtobufCFieldDescriptor *f = &desc->fields[i];
    char cname[96];
    const json_t *v = json_object_get(obj, camel(f->name, cname, sizeof cname));
    if (!v || json_is_null(v)) v = json_object_get(obj, f->name);
    if (!v || json_is_null(v)) continue;
    path here = {at, cname, 0};
    char *field = (char *)m + f->offset;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      if (!json_is_array(v)) {
        rc = fail(d, &here, "expected an array");
        break;
      }
      size_t n = json_array_size(v), sz = elt_size(f->type);
      char *arr = mw__arena_calloc(d->a, n ? n : 1, sz);
      if (!arr) return nomem(d);
      for (size_t k = 0; k < n && !rc; k++) {
        path el = {&here, NULL, k};
        rc = decode_value(d, f, json_array_get(v, k), &el, arr + k * sz);
      }
      *(size_t *)((char *)m + f->quantifier_offset) = n;
      *(void **)field = arr;
      continue;
    }
    rc = decode_value(d, f, v, &here, field);
    if (rc) break;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) *(uint32_t *)((char *)m + f->quantifier_offset) = f->id;
    else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_MESSAGE &&
             f->type != PROTOBUF_C_TYPE_STRING)
      *(protobuf_c_boolean *)((char *)m + f->quantifier_offset) = 1;
  }
  d->depth--;
  if (!rc) *out = m;
  return rc;
}

int mw__otlp_prof_decode_json(mw_arena *a, const char *data, size_t len, const mw_limits *limits,
                              mw_otlp_prof_request **out, char *err, size_t errsz) {
  *out = NULL;
  if (mw__text_check(data, len, NULL) != MW_TEXT_OK)
    return snprintf(err, errsz, "body is not UTF-8, so not JSON"), MW_EINVAL;
  json_error_t je;
  json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
  if (!root)
    return snprintf(err, errsz, "body is not JSON: %s (line %d, column %d)", je.text, je.line, je.column), MW_EINVAL;
  /* the request, its resources or dictionary and their lists take a few levels;
   * each nesting of attribute values three more */
  dec d = {.a = a, .max_depth = 8 + 3 * (MW_ATTR_DECODE_DEPTH + 1), .err = err, .errsz = errsz};
  (void)limits;
  ProtobufCMessage *m = NULL;
  int rc = decode_message(
      &d, &opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__descriptor, root,
      NULL, &m);
  json_decref(root);
  if (!rc) *out = (mw_otlp_prof_request *)m;
  return rc;
}

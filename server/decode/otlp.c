/* OTLP protobuf decoding, span validation and flattening (see otlp.h).
 *
 * Flattening does in the request's thread everything the single writer would
 * otherwise do: it puts each resource, scope and span into the stored span
 * form (decode/span_form.c: the source identity, one blob per distinct
 * resource and scope, each span's columns and body), so that the writer only
 * binds values. */
#include "decode/otlp.h"
#include "core/error.h"
#include "core/hex.h"
#include "core/utf8.h"
#include "decode/pbcheck.h"
#include "decode/span_form.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- flaws --------------------------------------------------------------- */

int mw__otlp_flaw_add(mw_arena *a, mw_otlp_flaws *fl, uint32_t rs, uint32_t ss, uint32_t span, const char *why) {
  if (fl->n == fl->cap) {
    size_t cap = fl->cap ? fl->cap * 2 : 16;
    mw_otlp_flaw *v = mw__arena_alloc(a, cap * sizeof *v);
    if (!v) return MW_ENOMEM;
    if (fl->n) memcpy(v, fl->v, fl->n * sizeof *v);
    fl->v = v;
    fl->cap = cap;
  }
  const char *w = mw__arena_strndup(a, why, strlen(why));
  if (!w) return MW_ENOMEM;
  fl->v[fl->n] = (mw_otlp_flaw){.rs = rs, .ss = ss, .span = span, .seq = (uint32_t)fl->n, .why = w};
  fl->n++;
  return MW_OK;
}

static int cmp_place(const mw_otlp_flaw *x, const mw_otlp_flaw *y) {
  if (x->rs != y->rs) return x->rs < y->rs ? -1 : 1;
  if (x->ss != y->ss) return x->ss < y->ss ? -1 : 1;
  if (x->span != y->span) return x->span < y->span ? -1 : 1;
  return 0;
}

static int cmp_flaw(const void *a, const void *b) {
  const mw_otlp_flaw *x = a, *y = b;
  int c = cmp_place(x, y);
  return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

void mw__otlp_flaws_sort(mw_otlp_flaws *fl) {
  if (fl->n > 1) qsort(fl->v, fl->n, sizeof *fl->v, cmp_flaw);
}

/* The first flaw found at exactly (rs, ss, span), or NULL. */
static const char *flaw_at(const mw_otlp_flaws *fl, uint32_t rs, uint32_t ss, uint32_t span) {
  if (!fl) return NULL;
  mw_otlp_flaw key = {.rs = rs, .ss = ss, .span = span};
  size_t lo = 0, hi = fl->n;
  while (lo < hi) { /* the first element not below key */
    size_t mid = lo + (hi - lo) / 2;
    if (cmp_place(&fl->v[mid], &key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo < fl->n && cmp_place(&fl->v[lo], &key) == 0 ? fl->v[lo].why : NULL;
}

/* --- protobuf ------------------------------------------------------------- */

typedef struct pb_names {
  mw_arena *a;
  mw_otlp_flaws *flaws;
} pb_names;

/* pbcheck's view of each string: one that breaks the name rule flaws the
 * span, scope or resource it is in, named by its path. */
static int pb_string(void *user, const mw_pb_step *path, size_t depth, const ProtobufCFieldDescriptor *f,
                     const uint8_t *s, size_t len) {
  pb_names *pn = user;
  enum mw_text_flaw flaw = mw__text_check((const char *)s, len, NULL);
  if (flaw == MW_TEXT_OK) return MW_OK;
  /* path[0] is resource_spans[i], path[1] its resource or scope_spans[j],
   * path[2] the scope or spans[k] */
  uint32_t at[3] = {MW_OTLP_WHOLE, MW_OTLP_WHOLE, MW_OTLP_WHOLE};
  if (depth < 1 || path[0].index == SIZE_MAX) return MW_OK; /* no string lies outside a resource_spans */
  at[0] = (uint32_t)path[0].index;
  if (depth >= 2 && strcmp(path[1].field->name, "scope_spans") == 0 && path[1].index != SIZE_MAX) {
    at[1] = (uint32_t)path[1].index;
    if (depth >= 3 && strcmp(path[2].field->name, "spans") == 0 && path[2].index != SIZE_MAX)
      at[2] = (uint32_t)path[2].index;
  }
  char why[256];
  size_t off = mw__pb_path_put(why, sizeof why, path, depth);
  if (off + 1 < sizeof why) snprintf(why + off, sizeof why - off, "%s %s", f->name, mw__text_flaw_name(flaw));
  return mw__otlp_flaw_add(pn->a, pn->flaws, at[0], at[1], at[2], why);
}

int mw__otlp_decode_pb(mw_arena *a, const uint8_t *data, size_t len, const mw_limits *limits, mw_otlp_request **out,
                       mw_otlp_flaws *flaws, char *err, size_t errsz) {
  const mw_limits defaults = MW_LIMITS_DEFAULT;
  if (!limits) limits = &defaults;
  memset(flaws, 0, sizeof *flaws);
  *out = NULL;
  pb_names pn = {a, flaws};
  /* A value at nesting n lies in n + 1 AnyValues; around them, request,
   * resource spans, scope spans, span, event and key-value take 6 levels and
   * each kvlist 3, so the total bound only stops what is not OTLP. */
  mw_pb_check_opts o = {
      .max_depth = 6 + 3 * (MW_ATTR_DECODE_DEPTH + 1),
      .counted = &opentelemetry__proto__common__v1__any_value__descriptor,
      .max_counted = MW_ATTR_DECODE_DEPTH + 1,
      .on_string = pb_string,
      .user = &pn,
  };
  int rc = mw__pb_check(&opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor, data,
                        len, &o, err, errsz);
  if (rc == MW_ETOOBIG) {
    snprintf(err, errsz,
             "attribute values nested more than %d deep cannot be decoded (a span's values may nest "
             "%zu deep: max_attr_depth)",
             MW_ATTR_DECODE_DEPTH, limits->max_attr_depth);
    return MW_EINVAL;
  }
  if (rc) return rc;
  mw__otlp_flaws_sort(flaws);
  ProtobufCAllocator al = mw__arena_pb_allocator(a);
  *out = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(&al, len, data);
  if (!*out) {
    snprintf(err, errsz, "body is not a valid protobuf ExportTraceServiceRequest");
    return MW_EINVAL;
  }
  return MW_OK;
}

/* --- validation ----------------------------------------------------------- */

typedef struct check_ctx {
  const mw_limits *limits;
  char *why;
  size_t whysz;
} check_ctx;

static int check_value(check_ctx *c, const mw_otlp_value *v, size_t depth, const char *what);

/* A string field against max_value_bytes. */
static int check_len(check_ctx *c, const char *s, const char *what, const char *field) {
  size_t n = s ? strlen(s) : 0;
  if (n <= c->limits->max_value_bytes) return 0;
  snprintf(c->why, c->whysz, "%s %s is %zu bytes, over the limit of %zu (max_value_bytes)", what, field, n,
           c->limits->max_value_bytes);
  return -1;
}

/* what names the owner for messages ("span", "resource", "scope", ...). */
static int check_attrs(check_ctx *c, mw_otlp_kv **kvs, size_t n, size_t depth, const char *what) {
  if (n > c->limits->max_attrs_per_span) {
    snprintf(c->why, c->whysz, "%s has %zu attributes, over the limit of %zu (max_attrs_per_span)", what, n,
             c->limits->max_attrs_per_span);
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    size_t kl = strlen(kvs[i]->key);
    if (kl > c->limits->max_value_bytes) {
      snprintf(c->why, c->whysz, "%s: an attribute key is %zu bytes, over the limit of %zu (max_value_bytes)", what, kl,
               c->limits->max_value_bytes);
      return -1;
    }
    if (kvs[i]->value && check_value(c, kvs[i]->value, depth, what) < 0) return -1;
  }
  return 0;
}

/* depth: the arrays and kvlists around v (an attribute's own value is at 0). */
static int check_value(check_ctx *c, const mw_otlp_value *v, size_t depth, const char *what) {
  if (depth > c->limits->max_attr_depth) {
    snprintf(c->why, c->whysz, "%s: an attribute value is nested more than %zu deep (max_attr_depth)", what,
             c->limits->max_attr_depth);
    return -1;
  }
  size_t sz = 0;
  switch (v->value_case) {
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE: sz = strlen(v->string_value); break;
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE: sz = v->bytes_value.len; break;
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE:
    if (v->array_value) {
      if (v->array_value->n_values > c->limits->max_attrs_per_span) {
        snprintf(c->why, c->whysz, "%s: an array attribute has %zu values, over the limit of %zu (max_attrs_per_span)",
                 what, v->array_value->n_values, c->limits->max_attrs_per_span);
        return -1;
      }
      for (size_t i = 0; i < v->array_value->n_values; i++)
        if (check_value(c, v->array_value->values[i], depth + 1, what) < 0) return -1;
    }
    break;
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE:
    if (v->kvlist_value) return check_attrs(c, v->kvlist_value->values, v->kvlist_value->n_values, depth + 1, what);
    break;
  default: break;
  }
  if (sz > c->limits->max_value_bytes) {
    snprintf(c->why, c->whysz, "%s: an attribute value is %zu bytes, over the limit of %zu (max_value_bytes)", what, sz,
             c->limits->max_value_bytes);
    return -1;
  }
  return 0;
}

/* The resource of a ResourceSpans: its attributes (service.name among them)
 * and schema URL. Returns 0, else -1 with the reason in c->why. */
static int check_resource(check_ctx *c, const mw_otlp_resource_spans *rs) {
  if (rs->resource && check_attrs(c, rs->resource->attributes, rs->resource->n_attributes, 0, "resource") < 0)
    return -1;
  return check_len(c, rs->schema_url, "resource", "schema_url");
}

static int check_scope(check_ctx *c, const mw_otlp_scope_spans *ss) {
  const Opentelemetry__Proto__Common__V1__InstrumentationScope *sc = ss->scope;
  if (sc && (check_len(c, sc->name, "scope", "name") < 0 || check_len(c, sc->version, "scope", "version") < 0 ||
             check_attrs(c, sc->attributes, sc->n_attributes, 0, "scope") < 0))
    return -1;
  return check_len(c, ss->schema_url, "scope", "schema_url");
}

/* Returns 0 when the span may be stored, else -1 with the reason in c->why. */
static int check_span(check_ctx *c, const mw_otlp_span *s) {
  if (s->trace_id.len != 16) {
    snprintf(c->why, c->whysz, "trace_id must be 16 bytes, got %zu", s->trace_id.len);
    return -1;
  }
  if (mw__is_zero(s->trace_id.data, 16)) {
    snprintf(c->why, c->whysz, "trace_id is all zeros");
    return -1;
  }
  if (s->span_id.len != 8) {
    snprintf(c->why, c->whysz, "span_id must be 8 bytes, got %zu", s->span_id.len);
    return -1;
  }
  if (mw__is_zero(s->span_id.data, 8)) {
    snprintf(c->why, c->whysz, "span_id is all zeros");
    return -1;
  }
  if (s->parent_span_id.len != 0 && s->parent_span_id.len != 8) {
    snprintf(c->why, c->whysz, "parent_span_id must be 8 bytes or empty, got %zu", s->parent_span_id.len);
    return -1;
  }
  if (s->start_time_unix_nano == 0) {
    snprintf(c->why, c->whysz, "start_time_unix_nano is missing");
    return -1;
  }
  if (s->start_time_unix_nano > INT64_MAX || s->end_time_unix_nano > INT64_MAX) {
    snprintf(c->why, c->whysz, "span time is past the year 2262");
    return -1;
  }
  if (s->end_time_unix_nano < s->start_time_unix_nano) {
    snprintf(c->why, c->whysz, "end_time_unix_nano is before start_time_unix_nano");
    return -1;
  }
  if (check_len(c, s->name, "span", "name") < 0 || check_len(c, s->trace_state, "span", "trace_state") < 0 ||
      (s->status && check_len(c, s->status->message, "span", "status message") < 0))
    return -1;
  if (check_attrs(c, s->attributes, s->n_attributes, 0, "span") < 0) return -1;
  if (s->n_events > c->limits->max_attrs_per_span || s->n_links > c->limits->max_attrs_per_span) {
    snprintf(c->why, c->whysz, "span has more than %zu events or links (max_attrs_per_span)",
             c->limits->max_attrs_per_span);
    return -1;
  }
  for (size_t i = 0; i < s->n_events; i++)
    if (check_len(c, s->events[i]->name, "span event", "name") < 0 ||
        check_attrs(c, s->events[i]->attributes, s->events[i]->n_attributes, 0, "span event") < 0)
      return -1;
  for (size_t i = 0; i < s->n_links; i++)
    if (check_len(c, s->links[i]->trace_state, "span link", "trace_state") < 0 ||
        check_attrs(c, s->links[i]->attributes, s->links[i]->n_attributes, 0, "span link") < 0)
      return -1;
  return 0;
}

/* --- flattening ----------------------------------------------------------- */

/* Index of an identical blob among the first n refs, or n. Requests carry few
 * resources and scopes, so a linear scan is cheaper than hashing. */
#define FIND_BLOB(refs, n, field, flen, blob, blen)                                                                    \
  ({                                                                                                                   \
    size_t i_ = 0;                                                                                                     \
    while (i_ < (n) && !((refs)[i_].flen == (blen) && memcmp((refs)[i_].field, (blob), (blen)) == 0)) i_++;            \
    i_;                                                                                                                \
  })

/* Counts the spans of a refused scope or resource as rejected, with why as
 * the reason when it is the first. */
static void reject(mw_arena *a, mw_span_batch *b, size_t n, const char *why) {
  if (!n) return;
  if (!b->rejected) b->reject_reason = mw__arena_strndup(a, why, strlen(why));
  b->rejected += n;
}

int mw__otlp_flatten(mw_arena *a, const mw_otlp_request *req, const mw_otlp_flaws *flaws, const mw_limits *limits,
                     mw_span_batch *b, char *err, size_t errsz) {
  memset(b, 0, sizeof *b);
  size_t total = 0, n_scopes = 0;
  for (size_t r = 0; r < req->n_resource_spans; r++) {
    const mw_otlp_resource_spans *rs = req->resource_spans[r];
    n_scopes += rs->n_scope_spans;
    for (size_t s = 0; s < rs->n_scope_spans; s++) total += rs->scope_spans[s]->n_spans;
  }
  if (total > limits->max_spans_per_request) {
    snprintf(err, errsz, "request has %zu spans, over the limit of %zu (max_spans_per_request)", total,
             limits->max_spans_per_request);
    return MW_ETOOBIG;
  }
  b->resources = mw__arena_calloc(a, req->n_resource_spans ? req->n_resource_spans : 1, sizeof *b->resources);
  b->scopes = mw__arena_calloc(a, n_scopes ? n_scopes : 1, sizeof *b->scopes);
  b->rows = mw__arena_calloc(a, total ? total : 1, sizeof *b->rows);
  if (!b->resources || !b->scopes || !b->rows) return MW_ENOMEM;

  char why[256];
  check_ctx ck = {.limits = limits, .why = why, .whysz = sizeof why};
  for (size_t r = 0; r < req->n_resource_spans; r++) {
    mw_otlp_resource_spans *rs = req->resource_spans[r];
    /* a refused resource takes all its spans with it, as a refused scope does */
    const char *flaw = flaw_at(flaws, (uint32_t)r, MW_OTLP_WHOLE, MW_OTLP_WHOLE);
    if (flaw || check_resource(&ck, rs) < 0) {
      size_t n = 0;
      for (size_t s = 0; s < rs->n_scope_spans; s++) n += rs->scope_spans[s]->n_spans;
      reject(a, b, n, flaw ? flaw : why);
      continue;
    }
    mw_resource_ref ref;
    if (mw__span_form_put_resource(a, rs->resource, rs->schema_url, &ref)) return MW_ENOMEM;
    size_t ri = FIND_BLOB(b->resources, b->n_resources, resource, resource_len, ref.resource, ref.resource_len);
    if (ri == b->n_resources) {
      b->resources[b->n_resources++] = ref;
      b->bytes += ref.resource_len;
    }
    for (size_t s = 0; s < rs->n_scope_spans; s++) {
      mw_otlp_scope_spans *ss = rs->scope_spans[s];
      flaw = flaw_at(flaws, (uint32_t)r, (uint32_t)s, MW_OTLP_WHOLE);
      if (flaw || check_scope(&ck, ss) < 0) {
        reject(a, b, ss->n_spans, flaw ? flaw : why);
        continue;
      }
      mw_scope_ref sref;
      if (mw__span_form_put_scope(a, ss->scope, ss->schema_url, &sref)) return MW_ENOMEM;
      size_t si = FIND_BLOB(b->scopes, b->n_scopes, body, body_len, sref.body, sref.body_len);
      if (si == b->n_scopes) {
        b->scopes[b->n_scopes++] = sref;
        b->bytes += sref.body_len;
      }
      for (size_t k = 0; k < ss->n_spans; k++) {
        mw_otlp_span *sp = ss->spans[k];
        flaw = flaw_at(flaws, (uint32_t)r, (uint32_t)s, (uint32_t)k);
        if (flaw || check_span(&ck, sp) < 0) {
          reject(a, b, 1, flaw ? flaw : why);
          continue;
        }
        mw_span_row *row = &b->rows[b->n_rows++];
        if (mw__span_form_put_span(a, sp, row)) return MW_ENOMEM;
        row->resource = (uint32_t)ri;
        row->scope = (uint32_t)si;
        b->bytes += sizeof *row + row->body_len + strlen(row->name);
      }
    }
  }
  return MW_OK;
}

/* OTLP trace ingest (see otlp.h). */
#include "ingest/otlp.h"
#include "core/error.h"
#include "core/utf8.h"
#include "decode/otlp.h"
#include "ingest/runtime.h"

#include <stdio.h>
#include <string.h>

static int decode(mw_arena *a, enum mw_otlp_encoding enc, const uint8_t *body, size_t len, const mw_limits *limits,
                  mw_otlp_request **req, mw_otlp_flaws *flaws, char *err, size_t errsz) {
  return enc == MW_OTLP_PROTOBUF ? mw__otlp_decode_pb(a, body, len, limits, req, flaws, err, errsz)
                                 : mw__otlp_decode_json(a, (const char *)body, len, limits, req, flaws, err, errsz);
}

/* --- runtime payloads carried in OTLP traces ------------------------------- */

static const mw_otlp_value *attr(mw_otlp_kv *const *kvs, size_t n, const char *key) {
  for (size_t i = 0; i < n; i++)
    if (kvs[i] && kvs[i]->key && strcmp(kvs[i]->key, key) == 0) return kvs[i]->value;
  return NULL;
}

static const char *attr_str(mw_otlp_kv *const *kvs, size_t n, const char *key) {
  const mw_otlp_value *v = attr(kvs, n, key);
  return v && v->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE ? v->string_value : NULL;
}

/* An int attribute (absent: 0) into *out; -1 when present but not a
 * non-negative int. */
static int attr_ns(mw_otlp_kv *const *kvs, size_t n, const char *key, int64_t *out) {
  const mw_otlp_value *v = attr(kvs, n, key);
  *out = 0;
  if (!v) return 0;
  if (v->value_case != OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE || v->int_value < 0) return -1;
  *out = v->int_value;
  return 0;
}

static int is_carrier(const mw_otlp_scope_spans *ss) {
  return ss && ss->scope && ss->scope->name && strcmp(ss->scope->name, MW_OTLP_CARRIER_SCOPE) == 0;
}

/* A carrier that cannot be read: counted, with the first reason. */
static void reject(mw_arena *a, mw_otlp_carried *c, size_t rs, size_t ss, size_t i, const char *why) {
  c->rejected++;
  if (c->reason) return;
  char msg[640];
  snprintf(msg, sizeof msg, "resource_spans[%zu].scope_spans[%zu].spans[%zu] (scope %s): %s", rs, ss, i,
           MW_OTLP_CARRIER_SCOPE, why);
  c->reason = mw__arena_strndup(a, msg, strlen(msg));
}

/* A name from the resource: the name rule, and not empty. */
static int good_name(const char *s) {
  return s && *s && strlen(s) <= 1024 && mw__text_check(s, strlen(s), NULL) == MW_TEXT_OK;
}

/* One carrier span into *b; MW_EINVAL with why for the sender's mistakes. */
static int carried_one(mw_arena *a, const mw_otlp_resource_spans *rs, const mw_otlp_span *sp, const mw_limits *limits,
                       int64_t received_ns, mw_mem_account *mem, mw_runtime_batch *b, char *why, size_t whysz) {
  mw_otlp_kv *const *res = rs->resource ? rs->resource->attributes : NULL;
  size_t n_res = rs->resource ? rs->resource->n_attributes : 0;
  mw_otlp_kv *const *kv = sp->attributes;
  size_t n = sp->n_attributes;
  mw_ingest_params p = {.received_ns = received_ns, .limits = limits, .mem = mem};
  p.service = attr_str(res, n_res, "service.name");
  p.instance = attr_str(res, n_res, "service.instance.id");
  if (!good_name(p.service))
    return snprintf(why, whysz, "the resource needs a service.name (UTF-8, no NUL, at most 1024 bytes)"), MW_EINVAL;
  if (!p.instance) p.instance = "";
  else if (*p.instance && !good_name(p.instance))
    return snprintf(why, whysz, "service.instance.id must be UTF-8 without NUL, at most 1024 bytes"), MW_EINVAL;
  p.kind = attr_str(kv, n, MW_OTLP_CARRIER_KIND);
  if (!p.kind || !mw__runtime_kind_valid(p.kind) || strcmp(p.kind, "pprof") == 0)
    return snprintf(why, whysz,
                    "%s must name an ingest kind: gctrace, schedtrace, goroutine, goroutineleak, cpu, heap, allocs, "
                    "mutex or block",
                    MW_OTLP_CARRIER_KIND),
           MW_EINVAL;
  if (attr_ns(kv, n, MW_OTLP_CARRIER_TIME, &p.time_ns) || attr_ns(kv, n, MW_OTLP_CARRIER_DURATION, &p.duration_ns) ||
      attr_ns(kv, n, MW_OTLP_CARRIER_PROCESS_START, &p.process_start_ns))
    return snprintf(why, whysz, "%s, %s and %s are non-negative ints (unix ns, ns)", MW_OTLP_CARRIER_TIME,
                    MW_OTLP_CARRIER_DURATION, MW_OTLP_CARRIER_PROCESS_START),
           MW_EINVAL;
  if (p.duration_ns > INT64_MAX - p.time_ns)
    return snprintf(why, whysz, "time + duration is past what unix nanoseconds hold (2262-04-11)"), MW_EINVAL;
  const char *trigger = attr_str(kv, n, MW_OTLP_CARRIER_TRIGGER);
  if (trigger && (strlen(trigger) > 32 || strspn(trigger, "abcdefghijklmnopqrstuvwxyz_:") != strlen(trigger)))
    return snprintf(why, whysz, "%s must be a short lowercase word (a-z, _ and :, at most 32)",
                    MW_OTLP_CARRIER_TRIGGER),
           MW_EINVAL;
  p.trigger = trigger && *trigger ? trigger : NULL;
  const mw_otlp_value *payload = attr(kv, n, MW_OTLP_CARRIER_PAYLOAD);
  if (!payload || payload->value_case != OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE)
    return snprintf(why, whysz, "%s (bytes) is missing", MW_OTLP_CARRIER_PAYLOAD), MW_EINVAL;
  mw_ingest_report rep;
  const uint8_t *data = payload->bytes_value.data ? payload->bytes_value.data : (const uint8_t *)"";
  return mw__runtime_build(a, &p, data, payload->bytes_value.len, b, &rep, why, whysz);
}

int mw__ingest_otlp_split(mw_arena *a, enum mw_otlp_encoding enc, const uint8_t *body, size_t len,
                          const mw_limits *limits, int64_t received_ns, mw_mem_account *mem, mw_span_batch *out,
                          mw_otlp_carried *carried, char *err, size_t errsz) {
  memset(carried, 0, sizeof *carried);
  mw_otlp_request *req = NULL;
  mw_otlp_flaws flaws;
  int rc = decode(a, enc, body, len, limits, &req, &flaws, err, errsz);
  if (rc) return rc;
  mw_runtime_batch **tail = &carried->first;
  for (size_t r = 0; r < req->n_resource_spans; r++) {
    const mw_otlp_resource_spans *rs = req->resource_spans[r];
    for (size_t s = 0; rs && s < rs->n_scope_spans; s++) {
      mw_otlp_scope_spans *ss = rs->scope_spans[s];
      if (!is_carrier(ss)) continue;
      for (size_t i = 0; i < ss->n_spans; i++) {
        char why[512] = "";
        mw_runtime_batch *b = mw__arena_calloc(a, 1, sizeof *b);
        if (!b) return MW_ENOMEM;
        rc = ss->spans[i] ? carried_one(a, rs, ss->spans[i], limits, received_ns, mem, b, why, sizeof why) : MW_EINVAL;
        if (rc == MW_EINVAL || rc == MW_ETOOBIG) { /* the carrier's own fault: the rest is stored */
          reject(a, carried, r, s, i,
                 why[0]             ? why
                 : rc == MW_ETOOBIG ? "larger than max_request_memory allows"
                                    : "an empty span");
          continue;
        }
        if (rc) { /* out of memory, or the memory budget is held by others: the request is retried */
          snprintf(err, errsz, "%s", why);
          return rc;
        }
        *tail = b;
        tail = &b->next;
        carried->payloads++;
      }
      ss->n_spans = 0; /* not spans: flattening leaves the scope out */
    }
  }
  if ((rc = mw__otlp_flatten(a, req, &flaws, limits, out, err, errsz))) return rc;
  if (carried->rejected) {
    out->rejected += carried->rejected;
    if (!out->reject_reason) out->reject_reason = carried->reason;
  }
  return MW_OK;
}

/* OTLP profiles ingest (see otlp_profiles.h). */
#include "ingest/otlp_profiles.h"
#include "core/error.h"
#include "decode/otlp_profiles.h"
#include "ingest/runtime.h"

#include <stdio.h>
#include <string.h>

typedef Opentelemetry__Proto__Common__V1__KeyValue kv_t;

static const char *attr_string(kv_t **kvs, size_t n, const char *key) {
  for (size_t i = 0; i < n; i++)
    if (kvs[i]->value && strcmp(kvs[i]->key, key) == 0 &&
        kvs[i]->value->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE)
      return kvs[i]->value->string_value;
  return NULL;
}

/* Counts profile (rs, ss, i) as refused, keeping the first reason. */
static void reject(mw_arena *a, mw_otlp_prof_batch *out, size_t rs, size_t ss, size_t i, const char *why) {
  if (!out->rejected++) {
    char msg[640];
    snprintf(msg, sizeof msg, "resource_profiles[%zu].scope_profiles[%zu].profiles[%zu]: %s", rs, ss, i, why);
    out->reject_reason = mw__arena_strndup(a, msg, strlen(msg));
  }
}

int mw__ingest_otlp_profiles(mw_arena *a, enum mw_otlp_encoding enc, const uint8_t *body, size_t len,
                             const mw_limits *limits, int64_t received_ns, mw_otlp_prof_batch *out, char *err,
                             size_t errsz) {
  memset(out, 0, sizeof *out);
  mw_otlp_prof_request *req = NULL;
  int rc = enc == MW_OTLP_PROTOBUF ? mw__otlp_prof_decode_pb(a, body, len, &req, err, errsz)
                                   : mw__otlp_prof_decode_json(a, (const char *)body, len, limits, &req, err, errsz);
  if (rc) return rc;
  if ((rc = mw__otlp_prof_check_dict(req, err, errsz))) return rc;
  mw_otlp_prof_remap *m = mw__otlp_prof_remap_new(a, req->dictionary);
  if (!m) return MW_ENOMEM;
  mw_runtime_batch **tail = &out->first;
  for (size_t r = 0; r < req->n_resource_profiles; r++) {
    const mw_otlp_resource_profiles *rp = req->resource_profiles[r];
    kv_t **kvs = rp->resource ? rp->resource->attributes : NULL;
    size_t n_kvs = rp->resource ? rp->resource->n_attributes : 0;
    const char *svc = attr_string(kvs, n_kvs, "service.name"), *inst = attr_string(kvs, n_kvs, "service.instance.id");
    mw_ingest_params p = {.kind = "pprof",
                          .service = svc && *svc ? svc : "unknown_service",
                          .instance = inst ? inst : "",
                          .received_ns = received_ns,
                          .limits = limits};
    for (size_t s = 0; s < rp->n_scope_profiles; s++) {
      const mw_otlp_scope_profiles *sp = rp->scope_profiles[s];
      for (size_t i = 0; i < sp->n_profiles; i++) {
        const mw_otlp_profile *pr = sp->profiles[i];
        char why[512] = "";
        uint8_t *pprof;
        size_t plen;
        rc = mw__otlp_prof_to_pprof(a, m, req->dictionary, pr, &pprof, &plen, why, sizeof why);
        if (rc == MW_EINVAL) {
          reject(a, out, r, s, i, why);
          continue;
        }
        if (rc) return rc;
        if (!pr->n_samples) continue; /* nothing to store: not an error */
        mw_runtime_batch *b = mw__arena_calloc(a, 1, sizeof *b);
        mw_ingest_report rep;
        if (!b) return MW_ENOMEM;
        rc = mw__runtime_build(a, &p, pprof, plen, b, &rep, why, sizeof why);
        if (rc == MW_EINVAL || rc == MW_ETOOBIG) {
          reject(a, out, r, s, i, why);
          continue;
        }
        if (rc) return rc;
        *tail = b;
        tail = &b->next;
        out->profiles++;
        out->samples += b->n_samples + b->n_groups;
        out->records += b->n_samples + b->n_groups + 1;
      }
    }
  }
  return MW_OK;
}

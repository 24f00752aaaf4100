/* OTLP profiles ingest (see otlp_profiles.h). */
#include "ingest/otlp_profiles.h"
#include "core/error.h"
#include "decode/otlp_profiles.h"
#include "ingest/runtime.h"

#include <stdio.h>
#include <string.h>

typedef Opentelemetry__Proto__Common__V1__KeyValue kv_t;

/* The most profiles stored as one (query/span_profile.c reads at most 8
 * sample types too). */
enum { MAX_SAMPLE_TYPES = 8 };

/* The most profiles one request may carry: each is a snapshot row and a
 * compressed payload (an eBPF profiler sends one per process and interval). */
enum { MAX_PROFILES = 10000 };

/* Refuses a request of more profiles than MAX_PROFILES or more samples in all
 * than limits->max_samples (a small body can name many). */
static int check_size(const mw_otlp_prof_request *req, const mw_limits *limits, char *err, size_t errsz) {
  size_t profiles = 0, samples = 0;
  for (size_t r = 0; r < req->n_resource_profiles; r++)
    for (size_t s = 0; s < req->resource_profiles[r]->n_scope_profiles; s++) {
      const mw_otlp_scope_profiles *sp = req->resource_profiles[r]->scope_profiles[s];
      profiles += sp->n_profiles;
      for (size_t i = 0; i < sp->n_profiles; i++) samples += sp->profiles[i]->n_samples;
    }
  if (profiles > MAX_PROFILES) {
    snprintf(err, errsz, "%zu profiles in one request: at most %d", profiles, (int)MAX_PROFILES);
    return MW_ETOOBIG;
  }
  if (limits && limits->max_samples && samples > limits->max_samples) {
    snprintf(err, errsz, "%zu samples in one request: at most %zu (max_samples)", samples, limits->max_samples);
    return MW_ETOOBIG;
  }
  return MW_OK;
}

static const char *attr_string(kv_t **kvs, size_t n, const char *key) {
  for (size_t i = 0; i < n; i++)
    if (kvs[i]->value && strcmp(kvs[i]->key, key) == 0 &&
        kvs[i]->value->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE)
      return kvs[i]->value->string_value;
  return NULL;
}

/* Counts n profiles as refused for what profile (rs, ss, i) has, keeping the
 * first reason. */
static void reject(mw_arena *a, mw_otlp_prof_batch *out, size_t rs, size_t ss, size_t i, size_t n, const char *why) {
  size_t before = out->rejected;
  out->rejected += n;
  if (!before) {
    char msg[640];
    snprintf(msg, sizeof msg, "resource_profiles[%zu].scope_profiles[%zu].profiles[%zu]: %s", rs, ss, i, why);
    out->reject_reason = mw__arena_strndup(a, msg, strlen(msg));
  }
}

static int same_vt(const Opentelemetry__Proto__Profiles__V1development__ValueType *x,
                   const Opentelemetry__Proto__Profiles__V1development__ValueType *y) {
  if (!x || !y) return !x == !y;
  return x->type_strindex == y->type_strindex && x->unit_strindex == y->unit_strindex;
}

/* How many profiles from ps[0] are one profile split by sample type, as OTLP
 * senders split a pprof profile of several: the same time, duration and
 * period, and each its own sample type. */
static size_t group_size(mw_otlp_profile *const *ps, size_t n) {
  size_t k = 1;
  /* pprof profiles have a few sample types (Go's heap profile 4); a sample of
   * the group holds a value of each, so more would only cost memory */
  for (; k < n && k < MAX_SAMPLE_TYPES; k++) {
    const mw_otlp_profile *p = ps[k], *q = ps[0];
    if (p->time_unix_nano != q->time_unix_nano || p->duration_nano != q->duration_nano || p->period != q->period ||
        !same_vt(p->period_type, q->period_type) || !p->sample_type)
      break;
    size_t j = 0;
    while (j < k && !same_vt(ps[j]->sample_type, p->sample_type)) j++;
    if (j < k) break;
  }
  return k;
}

int mw__ingest_otlp_profiles(mw_arena *a, enum mw_otlp_encoding enc, const uint8_t *body, size_t len,
                             const mw_limits *limits, int64_t received_ns, mw_otlp_prof_batch *out, char *err,
                             size_t errsz) {
  memset(out, 0, sizeof *out);
  mw_otlp_prof_request *req = NULL;
  int rc = enc == MW_OTLP_PROTOBUF ? mw__otlp_prof_decode_pb(a, body, len, &req, err, errsz)
                                   : mw__otlp_prof_decode_json(a, (const char *)body, len, limits, &req, err, errsz);
  if (rc) return rc;
  if ((rc = check_size(req, limits, err, errsz)) || (rc = mw__otlp_prof_check_dict(req, err, errsz))) return rc;
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
      for (size_t i = 0, n; i < sp->n_profiles; i += n) {
        n = group_size(sp->profiles + i, sp->n_profiles - i);
        char why[512] = "";
        uint8_t *pprof;
        size_t plen, bad;
        rc = mw__otlp_prof_to_pprof(a, m, req->dictionary, (const mw_otlp_profile *const *)sp->profiles + i, n, &pprof,
                                    &plen, &bad, why, sizeof why);
        if (rc == MW_EINVAL) {
          reject(a, out, r, s, i + bad, n, why);
          continue;
        }
        if (rc) return rc;
        size_t n_samples = 0;
        for (size_t k = 0; k < n; k++) n_samples += sp->profiles[i + k]->n_samples;
        if (!n_samples) continue; /* nothing to store: not an error */
        mw_runtime_batch *b = mw__arena_calloc(a, 1, sizeof *b);
        mw_ingest_report rep;
        if (!b) return MW_ENOMEM;
        rc = mw__runtime_build(a, &p, pprof, plen, b, &rep, why, sizeof why);
        if (rc == MW_EINVAL || rc == MW_ETOOBIG) {
          reject(a, out, r, s, i, n, why);
          continue;
        }
        if (rc) return rc;
        *tail = b;
        tail = &b->next;
        out->profiles += n;
        out->samples += b->n_samples + b->n_groups;
        out->records += b->n_samples + b->n_groups + 1;
      }
    }
  }
  return MW_OK;
}

/* POST /v1/traces and POST /v1development/profiles: OTLP/HTTP trace and
 * profile ingest.
 *
 * Answers follow the OTLP/HTTP specification: the response is encoded like the
 * request (protobuf or JSON); invalid spans give 200 with partial_success;
 * errors carry a google.rpc.Status, with the status and Retry-After of their
 * error code (status.c). The 200 is sent only after the writer has committed
 * the spans. */
#include "http/http_int.h"
#include "core/bmap.h"
#include "core/error.h"
#include "core/log.h"
#include "core/timefmt.h"
#include "google/rpc/status.pb-c.h"
#include "ingest/otlp.h"
#include "ingest/otlp_profiles.h"
#include "ingest/runtime.h"
#include "opentelemetry/proto/collector/profiles/v1development/profiles_service.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MEDIA_PROTOBUF, MEDIA_JSON };

typedef struct otlp_ctx {
  int media;
  mw_span_batch batch;
  mw_otlp_carried carried; /* runtime payloads that came as spans (docs/SHARDING.md) */
  int spans_pending;       /* the spans' job follows the carried runtime data's */
  uint64_t body_hash;
  mw_otlp_prof_batch prof; /* /v1development/profiles */
} otlp_ctx;

/* The gRPC status code an OTLP error body carries for an error code. */
static int grpc_code(int rc) {
  switch (rc) {
  case MW_EINVAL: return 3; /* INVALID_ARGUMENT */
  case MW_ETOOBIG:          /* RESOURCE_EXHAUSTED */
  case MW_EFULL: return 8;
  case MW_EBUSY: /* UNAVAILABLE */
  case MW_ESHUTDOWN:
  case MW_ENOMEM: return 14;
  default: return 13; /* INTERNAL */
  }
}

/* Replies with a google.rpc.Status in the request's encoding. */
static void reply_status(mw_req *r, int media, int rc, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void reply_status(mw_req *r, int media, int rc, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (media == MEDIA_PROTOBUF) {
    Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
    st.code = grpc_code(rc);
    st.message = msg;
    size_t len = google__rpc__status__get_packed_size(&st);
    char *out = malloc(len ? len : 1);
    if (out) google__rpc__status__pack(&st, (uint8_t *)out);
    mw__reply(r, rc, "application/x-protobuf", out, out ? len : 0);
    return;
  }
  mw_buf b;
  mw__buf_init(&b, 8192);
  mw_jsonw w;
  mw__jw_init(&w, &b);
  mw__jw_obj(&w);
  mw__jw_kint(&w, "code", grpc_code(rc));
  mw__jw_kstr(&w, "message", msg);
  mw__jw_obj_end(&w);
  mw__reply_buf(r, rc, "application/json", &b);
}

/* A refusal by mw__req_account: 503 while others hold the memory, 413 when
 * this request alone would pass max_request_memory. */
static void reply_memory(mw_req *r, otlp_ctx *c, int rc) {
  if (rc == MW_ETOOBIG) {
    char msg[512];
    mw__req_memory_msg(r, msg, sizeof msg);
    return reply_status(r, c->media, rc, "%s", msg);
  }
  reply_status(r, c->media, rc, "the server is at its limit (max_request_memory): retry after the delay");
}

/* partial_success.error_message: the first reason an item was rejected, and a
 * warning about `old` items (spans, profiles) older than the retention window
 * (stored, but deleted at the next retention pass); NULL when there is nothing
 * to say. */
static const char *partial_message(mw_req *r, size_t rejected, const char *reason, size_t old, const char *what) {
  if (!old) return rejected ? reason : NULL;
  enum { MSG_MAX = 1024 };
  char warn[256], *msg = mw__arena_alloc(r->arena, MSG_MAX);
  mw__retention_warning(r, old, what, warn, sizeof warn);
  if (msg) snprintf(msg, MSG_MAX, "%s%s%s", rejected ? reason : "", rejected ? "; also, " : "", warn);
  return msg;
}

/* The JSON answer of an export: {} or {"partialSuccess":{"<count_key>":"N","errorMessage":…}}. */
static void reply_partial_json(mw_req *r, const char *count_key, size_t rejected, const char *message) {
  mw_buf out;
  mw__buf_init(&out, 8192);
  mw_jsonw w;
  mw__jw_init(&w, &out);
  mw__jw_obj(&w);
  if (rejected || message) {
    mw__jw_key(&w, "partialSuccess");
    mw__jw_obj(&w);
    mw__jw_key(&w, count_key);
    mw__jw_int_str(&w, (int64_t)rejected);
    mw__jw_kstr(&w, "errorMessage", message ? message : "");
    mw__jw_obj_end(&w);
  }
  mw__jw_obj_end(&w);
  mw__reply_buf(r, MW_OK, "application/json", &out);
}

/* The protobuf answer of an export, packed from its response message. */
static void reply_partial_pb(mw_req *r, const ProtobufCMessage *resp) {
  size_t len = protobuf_c_message_get_packed_size(resp);
  char *out = malloc(len ? len : 1);
  if (out) protobuf_c_message_pack(resp, (uint8_t *)out);
  mw__reply(r, MW_OK, "application/x-protobuf", out, out ? len : 0);
}

static void reply_success(mw_req *r, otlp_ctx *c) {
  const mw_span_batch *b = &c->batch;
  /* a retry the writer recognised (meanwhile_ingest_resent_total): accepted,
   * but its spans were stored, and counted, by its first sending */
  if (!r->job.resent) mw__counter_add(&mw__m_spans_accepted, b->n_rows);
  mw__counter_add(&mw__m_spans_rejected, b->rejected);
  int64_t cutoff = mw__retention_cutoff(r);
  size_t old = 0;
  for (size_t i = 0; i < b->n_rows; i++) old += b->rows[i].start_ns < cutoff;
  const char *message = partial_message(r, b->rejected, b->reject_reason, old, "span");
  if (c->media != MEDIA_PROTOBUF) return reply_partial_json(r, "rejectedSpans", b->rejected, message);
  Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse resp =
      OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_RESPONSE__INIT;
  Opentelemetry__Proto__Collector__Trace__V1__ExportTracePartialSuccess ps =
      OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_PARTIAL_SUCCESS__INIT;
  if (b->rejected || message) { /* rejected_spans 0 with a message: a warning (OTLP/HTTP) */
    ps.rejected_spans = (int64_t)b->rejected;
    ps.error_message = (char *)(message ? message : "");
    resp.partial_success = &ps;
  }
  reply_partial_pb(r, &resp.base);
}

/* The request's encoding from its Content-Type, and its body: replies and
 * returns NULL when either will not do. */
static otlp_ctx *start(mw_req *r, const uint8_t **data, size_t *len) {
  otlp_ctx *c = mw__arena_calloc(r->arena, 1, sizeof *c);
  if (!c) return mw__reply_text(r, MW_ENOMEM, "out of memory"), NULL;
  r->ctx = c;
  if (strcmp(r->media, "application/x-protobuf") == 0) {
    c->media = MEDIA_PROTOBUF;
  } else if (strcmp(r->media, "application/json") == 0) {
    c->media = MEDIA_JSON;
  } else {
    mw__reply_text(r, MW_EUNSUPPORTED, "unsupported Content-Type: send application/x-protobuf or application/json");
    return NULL;
  }
  const char *unknown = mw__param_unknown(r, NULL, 0);
  if (unknown) {
    reply_status(r, c->media, MW_EINVAL, "unknown parameter \"%.40s\": OTLP/HTTP takes no parameters", unknown);
    return NULL;
  }
  char err[512] = "";
  if (r->body_rc) {
    int problem = mw__req_body_problem(r, err, sizeof err);
    reply_status(r, c->media, problem, "%s", err);
    return NULL;
  }
  *data = r->body ? (const uint8_t *)r->body->data : (const uint8_t *)"";
  *len = r->body ? r->body->len : 0;
  /* a JSON body's parsed tree takes many times the body while it exists
   * (bench/json): it counts against the memory budget too */
  if (c->media == MEDIA_JSON && !r->dom_reserved) { /* not reserved at the headers (no length, or compressed) */
    r->dom_reserved = MW_JSON_TREE_FACTOR * *len;
    int rc = mw__req_account(r, r->dom_reserved);
    if (rc != MW_OK) return reply_memory(r, c, rc), NULL;
  }
  return c;
}

/* After decoding: the JSON tree is gone, the decoded request lives in the
 * arena, which now counts against the memory budget. Replies and returns
 * -1 on a decoding error or a refusal. */
static int decoded(mw_req *r, otlp_ctx *c, int rc, const char *err) {
  atomic_fetch_sub(&r->http->body_bytes, r->dom_reserved);
  r->accounted -= r->dom_reserved;
  r->dom_reserved = 0;
  if (rc == MW_OK && (rc = mw__req_account(r, mw__arena_used(r->arena))) != MW_OK) return reply_memory(r, c, rc), -1;
  if (rc) {
    if (rc == MW_ENOMEM) return reply_status(r, c->media, rc, "out of memory decoding the request; retry later"), -1;
    if (rc == MW_EBUSY)
      return reply_status(r, c->media, rc, "the server is at its limit (max_request_memory): retry after the delay"),
             -1;
    return reply_status(r, c->media, rc == MW_ETOOBIG ? rc : MW_EINVAL, "%s", err), -1;
  }
  if (r->body) { /* the decoded structs live in the arena; the raw body is no longer needed */
    mw__body_buf_free(r->body);
    r->body = NULL;
  }
  return 0;
}

static void commit(mw_req *r, otlp_ctx *c) {
  int rc = mw__req_commit(r);
  if (rc == MW_EBUSY)
    return reply_status(r, c->media, rc, "the write queue is full (max_queue_spans): retry after the delay");
  if (rc == MW_ESHUTDOWN) return reply_status(r, c->media, rc, "the server is shutting down: retry");
}

static void commit_spans(mw_req *r, otlp_ctx *c) {
  c->spans_pending = 0;
  memset(&r->job, 0, sizeof r->job);
  mw__ingest_job_spans(&r->job, &c->batch, mw__arena_used(r->arena));
  r->job.body_hash = c->body_hash ? c->body_hash : 1; /* 0 would mean "do not check" */
  commit(r, c);
}

static void handle_traces(mw_req *r) {
  const uint8_t *data;
  size_t len;
  otlp_ctx *c = start(r, &data, &len);
  if (!c) return;
  char err[512] = "";
  /* the body as decoded (after gzip), before it is freed: the writer answers
   * a retry of a request it stored in the last 10 minutes without storing it
   * again (the encoding is part of the hash: the same spans as JSON and as
   * protobuf are two bodies) */
  c->body_hash = mw__hash(data, len) ^ (uint64_t)c->media;
  /* runtime payloads in the scope meanwhile.runtime are taken out (a profile
   * gzip'd inside one is inflated against the memory budget) */
  mw_mem_account mem = {mw__req_take, mw__req_give, r, 0};
  int rc = mw__ingest_otlp_split(r->arena, c->media == MEDIA_PROTOBUF ? MW_OTLP_PROTOBUF : MW_OTLP_JSON, data, len,
                                 &r->http->opts.limits, mw__now_ns(), &mem, &c->batch, &c->carried, err, sizeof err);
  if (decoded(r, c, rc, err)) return;
  if (c->carried.first) { /* the runtime data first, then the spans: the answer waits for both */
    c->spans_pending = c->batch.n_rows > 0;
    mw__ingest_job_runtime(&r->job, c->carried.first, mw__arena_used(r->arena));
    /* a retry of this request (the Collector's queue) must not store the
     * runtime data twice either: its own hash, apart from the spans' job */
    r->job.body_hash = (c->body_hash ^ 0x72756e74696d65ull) | 1; /* "runtime"; never 0 */
    return commit(r, c);
  }
  if (c->batch.n_rows == 0) return reply_success(r, c);
  commit_spans(r, c);
}

static void resume_traces(mw_req *r) {
  otlp_ctx *c = r->ctx;
  if (r->commit_rc == MW_OK && c->spans_pending) return commit_spans(r, c);
  switch (r->commit_rc) {
  case MW_OK: return reply_success(r, c);
  case MW_EFULL:
    return reply_status(r, c->media, MW_EFULL, "the disk holding the database is full: spans were not stored");
  case MW_ESHUTDOWN: return reply_status(r, c->media, MW_ESHUTDOWN, "the server is shutting down: retry");
  /* the writer failed (its transaction was rolled back): the client may retry */
  default:
    return reply_status(r, c->media, MW_EBUSY, "storing the spans failed (%s): retry", mw__strerror(r->commit_rc));
  }
}

/* --- profiles ------------------------------------------------------------ */

static void reply_profiles(mw_req *r, otlp_ctx *c) {
  const mw_otlp_prof_batch *b = &c->prof;
  mw__counter_add(&mw__m_profiles_accepted, b->profiles);
  mw__counter_add(&mw__m_profiles_rejected, b->rejected);
  int64_t cutoff = mw__retention_cutoff(r);
  size_t old = 0;
  for (const mw_runtime_batch *x = b->first; x; x = x->next) old += mw__runtime_count_before(x, cutoff);
  const char *message = partial_message(r, b->rejected, b->reject_reason, old, "profile");
  if (c->media != MEDIA_PROTOBUF) return reply_partial_json(r, "rejectedProfiles", b->rejected, message);
  Opentelemetry__Proto__Collector__Profiles__V1development__ExportProfilesServiceResponse resp =
      OPENTELEMETRY__PROTO__COLLECTOR__PROFILES__V1DEVELOPMENT__EXPORT_PROFILES_SERVICE_RESPONSE__INIT;
  Opentelemetry__Proto__Collector__Profiles__V1development__ExportProfilesPartialSuccess ps =
      OPENTELEMETRY__PROTO__COLLECTOR__PROFILES__V1DEVELOPMENT__EXPORT_PROFILES_PARTIAL_SUCCESS__INIT;
  if (b->rejected || message) { /* rejected_profiles 0 with a message: a warning (OTLP/HTTP) */
    ps.rejected_profiles = (int64_t)b->rejected;
    ps.error_message = (char *)(message ? message : "");
    resp.partial_success = &ps;
  }
  reply_partial_pb(r, &resp.base);
}

static void handle_profiles(mw_req *r) {
  const uint8_t *data;
  size_t len;
  otlp_ctx *c = start(r, &data, &len);
  if (!c) return;
  char err[512] = "";
  int rc = mw__ingest_otlp_profiles(r->arena, c->media == MEDIA_PROTOBUF ? MW_OTLP_PROTOBUF : MW_OTLP_JSON, data, len,
                                    &r->http->opts.limits, mw__now_ns(), &c->prof, err, sizeof err);
  if (decoded(r, c, rc, err)) return;
  if (!c->prof.first) return reply_profiles(r, c);
  mw__ingest_job_runtime(&r->job, c->prof.first, mw__arena_used(r->arena));
  commit(r, c);
}

static void resume_profiles(mw_req *r) {
  otlp_ctx *c = r->ctx;
  switch (r->commit_rc) {
  case MW_OK: return reply_profiles(r, c);
  case MW_EFULL:
    return reply_status(r, c->media, MW_EFULL, "the disk holding the database is full: profiles were not stored");
  case MW_ESHUTDOWN: return reply_status(r, c->media, MW_ESHUTDOWN, "the server is shutting down: retry");
  default:
    return reply_status(r, c->media, MW_EBUSY, "storing the profiles failed (%s): retry", mw__strerror(r->commit_rc));
  }
}

const mw_route mw__otlp_routes[] = {
    {.method = "POST",
     .access = MW_ACCESS_INGEST,
     .path = "/v1/traces",
     .body = 1,
     .handle = handle_traces,
     .resume = resume_traces},
    {.method = "POST",
     .access = MW_ACCESS_INGEST,
     .path = "/v1development/profiles",
     .body = 1,
     .handle = handle_profiles,
     .resume = resume_profiles},
    {0},
};

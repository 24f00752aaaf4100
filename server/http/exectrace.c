/* Execution traces over HTTP (docs/EXECTRACE.md): POST
 * /api/v1/ingest/exectrace and the reads under /api/v1/exectraces and
 * /api/v1/exectrace/.
 *
 * Reading a trace takes a child process (ingest/exectrace_reader.h) and up
 * to --exectrace-timeout, far too long for libmicrohttpd's threads, which
 * serve every other request. So once its body is in, an ingest is suspended
 * and queued for one of --exectrace-workers threads, each running one
 * reader at a time: that bounds the readers (and their memory) however many
 * traces arrive. A request waits for a worker at most WAIT_MS, then is
 * answered 503 with Retry-After (the reaper thread sees to it while every
 * worker is busy). A worker runs the reader, builds the batch
 * (ingest/exectrace.h) and hands it to the writer; the connection resumes
 * when it is committed, or at once on failure, and resume() answers. */
#include "http/http_int.h"
#include "core/error.h"
#include "core/log.h"
#include "core/timefmt.h"
#include "ingest/exectrace.h"
#include "ingest/exectrace_reader.h"
#include "query/exectrace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* How long an ingest waits for a worker, how many may wait per worker, and
 * how often the reaper looks. */
enum { WAIT_MS = 1000, QUEUE_PER_WORKER = 8, REAP_MS = 50 };

struct mw_xt_pool {
  mw_reqpool pool; /* not draining: at the stop the reaper answers what waits */
  mw_http *http;
  _Atomic int abort; /* kill the readers now (shutdown) */
  uv_thread_t reaper;
  int reaper_started;
  mw_xt_reader_opts reader;
  char path[4096];
  int found; /* the reader was found (path is it) */
};

typedef struct xt_ctx {
  mw_xt_params p;
  mw_runtime_batch batch;
  int rc;          /* a failure to answer with (the commit's is r->commit_rc) */
  char msg[600];   /* its message */
  int64_t wait_ns; /* monotonic: when waiting for a worker ends */
} xt_ctx;

/* Finds the reader (again, when it was missing: it may have been installed since). */
static int reader_found(struct mw_xt_pool *p) {
  uv_mutex_lock(&p->pool.lock);
  if (!p->found && mw__xt_reader_find(p->http->opts.exectrace_reader, p->path, sizeof p->path) == MW_OK) p->found = 1;
  int found = p->found;
  uv_mutex_unlock(&p->pool.lock);
  return found;
}

/* Ends a request that failed off libmicrohttpd's threads: resume() answers. */
static void fail_resume(mw_req *r, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail_resume(mw_req *r, int rc, const char *fmt, ...) {
  xt_ctx *c = r->ctx;
  c->rc = rc;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->msg, sizeof c->msg, fmt, ap);
  va_end(ap);
  r->state = REQ_RESUMED;
  MHD_resume_connection(r->conn);
}

/* On a worker: read the trace, build the batch, commit. */
static void run(void *owner, mw_req *r) {
  struct mw_xt_pool *p = owner;
  xt_ctx *c = r->ctx;
  char err[512] = "";
  mw_mem_account mem = {mw__req_take, mw__req_give, r, 0};
  const uint8_t *trace = (const uint8_t *)r->body->data;
  size_t len = r->body->len;
  int64_t t0 = mw__mono_ns();
  int rc = mw__xt_ingest(r->arena, &c->p, &p->reader, trace, len, &mem, &p->abort, &c->batch, err, sizeof err);
  mw__mem_give_back(&mem);
  if (rc == MW_OK) rc = mw__req_account(r, mw__arena_used(r->arena));
  switch (rc) {
  case MW_OK: break;
  case MW_EINVAL: return fail_resume(r, rc, "the execution trace cannot be read: %s", err);
  case MW_EBUSY: return fail_resume(r, rc, "the server is at its limit (max_request_memory): retry after the delay");
  case MW_ETOOBIG:
    if (r->mem_over) {
      mw__req_memory_msg(r, err, sizeof err);
      return fail_resume(r, rc, "%s", err);
    }
    return fail_resume(r, rc, "%s", err);
  case MW_ENOMEM: return fail_resume(r, rc, "out of memory reading the execution trace; retry later");
  case MW_EIO:
    mw__warn("reading an execution trace failed", "err=\"%s\"", err);
    return fail_resume(r, rc, "reading the execution trace failed: %s", err);
  default: return fail_resume(r, rc, "%s", err[0] ? err : mw__strerror(rc));
  }
  mw__info("read an execution trace", "bytes=%zu us=%lld goroutines=%zu intervals=%zu stored_bytes=%zu", len,
           (long long)((mw__mono_ns() - t0) / 1000), c->batch.exectrace->n_goroutines, c->batch.exectrace->n_intervals,
           c->batch.exectrace->stored_bytes);
  mw__body_buf_free(r->body);
  r->body = NULL;
  mw__ingest_job_runtime(&r->job, &c->batch, mw__arena_used(r->arena));
  if ((rc = mw__req_commit_suspended(r)))
    fail_resume(r, rc,
                rc == MW_EBUSY ? "the write queue is full (max_queue_spans): retry after the delay"
                               : "the server is shutting down: retry");
}

/* Answers 503 to what waited past WAIT_MS; at the stop, to everything waiting. */
static void reaper(void *arg) {
  struct mw_xt_pool *x = arg;
  mw_reqpool *p = &x->pool;
  uv_mutex_lock(&p->lock);
  for (;;) {
    int stopping = p->stopping;
    int64_t now = mw__mono_ns();
    mw_req *keep = NULL, *keep_tail = NULL, *expired = NULL;
    for (mw_req *r = p->head, *next; r; r = next) {
      next = r->query_next;
      r->query_next = NULL;
      if (stopping || ((xt_ctx *)r->ctx)->wait_ns <= now) {
        r->query_next = expired;
        expired = r;
        p->queued--;
      } else {
        if (keep_tail) keep_tail->query_next = r;
        else keep = r;
        keep_tail = r;
      }
    }
    p->head = keep, p->tail = keep_tail;
    uv_mutex_unlock(&p->lock);
    for (mw_req *r = expired, *next; r; r = next) {
      next = r->query_next;
      if (stopping) fail_resume(r, MW_ESHUTDOWN, "meanwhiled is shutting down: retry");
      else
        fail_resume(r, MW_EBUSY,
                    "every execution trace reader is busy (exectrace_workers=%u) and none was free within %d ms: "
                    "retry after the delay, or raise --exectrace-workers",
                    x->http->opts.exectrace_workers, WAIT_MS);
    }
    uv_mutex_lock(&p->lock);
    if (stopping) break;
    uv_cond_timedwait(&p->wake, &p->lock, (uint64_t)REAP_MS * 1000000);
  }
  uv_mutex_unlock(&p->lock);
}

int mw__xt_pool_start(mw_http *h, char *err, size_t errsz) {
  mw_http_opts *o = &h->opts;
  if (!o->exectrace_workers) o->exectrace_workers = 1;
  if (o->exectrace_timeout_ns <= 0) o->exectrace_timeout_ns = 30LL * 1000000000;
  struct mw_xt_pool *p = calloc(1, sizeof *p);
  if (!p || mw__reqpool_init(&p->pool, o->exectrace_workers, 0, run, p)) {
    free(p);
    snprintf(err, errsz, "out of memory");
    return MW_ENOMEM;
  }
  p->http = h;
  h->exectrace = p;
  p->found = mw__xt_reader_find(o->exectrace_reader, p->path, sizeof p->path) == MW_OK;
  p->reader = (mw_xt_reader_opts){.path = p->path,
                                  .timeout_ns = o->exectrace_timeout_ns,
                                  .memory_bytes = o->exectrace_memory,
                                  .max_output = o->exectrace_max_output ? (size_t)o->exectrace_max_output
                                                                        : 8 * o->limits.max_body_bytes};
  if (p->found)
    mw__info("execution trace reader", "path=%s workers=%u timeout_ms=%lld", p->path, o->exectrace_workers,
             (long long)(o->exectrace_timeout_ns / 1000000));
  else
    mw__info("meanwhile-exectrace is not installed: execution trace ingest answers 503 until it is",
             "looked_for=\"%s\"", p->path);
  if (uv_thread_create(&p->reaper, reaper, p) != 0) {
    snprintf(err, errsz, "cannot start the execution trace reaper thread");
    mw__xt_pool_free(h);
    return MW_EIO;
  }
  p->reaper_started = 1;
  if (mw__reqpool_start(&p->pool)) {
    snprintf(err, errsz, "cannot start execution trace worker %u of %u", p->pool.n_threads + 1, o->exectrace_workers);
    mw__xt_pool_free(h);
    return MW_EIO;
  }
  return MW_OK;
}

void mw__xt_pool_quiesce(mw_http *h) {
  struct mw_xt_pool *p = h->exectrace;
  if (!p) return;
  atomic_store(&p->abort, 1);
  mw__reqpool_quiesce(&p->pool);
}

void mw__xt_pool_stop(mw_http *h) {
  struct mw_xt_pool *p = h->exectrace;
  if (!p) return;
  mw__xt_pool_quiesce(h);
  if (p->reaper_started) uv_thread_join(&p->reaper); /* it answers what waits */
  p->reaper_started = 0;
  mw__reqpool_join(&p->pool);
}

void mw__xt_pool_free(mw_http *h) {
  struct mw_xt_pool *p = h->exectrace;
  if (!p) return;
  mw__xt_pool_stop(h);
  mw__reqpool_destroy(&p->pool);
  free(p);
  h->exectrace = NULL;
}

/* --- ingest ------------------------------------------------------------------ */

static const char *const ingest_params[] = {"service", "instance", "process_start", "trigger", "time"};

static void handle_ingest(mw_req *r) {
  struct mw_xt_pool *p = r->http->exectrace;
  char err[512];
  if (r->body_rc) {
    int rc = mw__req_body_problem(r, err, sizeof err);
    return mw__reply_error(r, rc, "%s", err);
  }
  xt_ctx *c = mw__arena_calloc(r->arena, 1, sizeof *c);
  if (!c) return mw__reply_error(r, MW_ENOMEM, "out of memory");
  r->ctx = c;
  c->p.received_ns = mw__now_ns();
  if (mw__param_only(r, ingest_params, sizeof ingest_params / sizeof ingest_params[0]) ||
      mw__param_name(r, "service", &c->p.service) || mw__param_name(r, "instance", &c->p.instance))
    return;
  if (!c->p.service || !*c->p.service) return mw__reply_error(r, MW_EINVAL, "the service parameter is required");
  if (!c->p.instance) c->p.instance = "";
  if (mw__param_ns(r, "process_start", &c->p.process_start_ns) || mw__param_ns(r, "time", &c->p.capture_ns) ||
      mw__param_word(r, "trigger", 32, &c->p.trigger))
    return;
  if (!r->body || !r->body->len)
    return mw__reply_error(r, MW_EINVAL,
                           "the body is empty: send a Go execution trace (runtime/trace, "
                           "FlightRecorder.WriteTo or /debug/pprof/trace)");
  if (!reader_found(p))
    return mw__reply_error(r, MW_EUNAVAILABLE,
                           "meanwhile-exectrace is not installed, so execution traces cannot be read: install it "
                           "next to meanwhiled or on PATH, or name it with --exectrace-reader (looked for %s)",
                           p->path);
  mw_reqpool *q = &p->pool;
  uv_mutex_lock(&q->lock);
  int stopping = q->stopping, full = q->queued >= (size_t)QUEUE_PER_WORKER * r->http->opts.exectrace_workers;
  if (!stopping && !full) {
    c->wait_ns = mw__mono_ns() + (int64_t)WAIT_MS * 1000000;
    r->state = REQ_WAITING;
    /* suspended before a worker can see it: it may resume it at once */
    MHD_suspend_connection(r->conn);
    q->queued++;
    mw__reqpool_list(q, r);
  }
  uv_mutex_unlock(&q->lock);
  if (stopping) return mw__reply_error(r, MW_ESHUTDOWN, "meanwhiled is shutting down: retry");
  if (full)
    return mw__reply_error(r, MW_EBUSY,
                           "too many execution traces are waiting for a reader (exectrace_workers=%u): retry after "
                           "the delay, or raise --exectrace-workers",
                           r->http->opts.exectrace_workers);
}

static void reply_report(mw_req *r, const xt_ctx *c) {
  const mw_exectrace_batch *x = c->batch.exectrace;
  mw_buf b;
  mw__buf_init(&b, 1u << 16);
  mw_jsonw w;
  mw__jw_init(&w, &b);
  mw__jw_obj(&w);
  mw__jw_kint(&w, "id", x->id);
  mw__jw_kint(&w, "source_id", c->batch.source_id);
  mw__jw_kint(&w, "start_ns", x->start_ns);
  mw__jw_kint(&w, "end_ns", x->end_ns);
  mw__jw_kint(&w, "goroutines", (int64_t)x->n_goroutines);
  mw__jw_kint(&w, "intervals", (int64_t)x->n_intervals);
  mw__jw_kint(&w, "wakes", (int64_t)x->n_wakes);
  mw__jw_kint(&w, "spans", (int64_t)x->n_spans);
  mw__jw_kstr(&w, "alignment", mw__xt_alignment_name(x->alignment));
  mw__jw_kint(&w, "clock_error_ns", x->clock_error_ns);
  mw__jw_kint(&w, "raw_bytes", (int64_t)x->raw_bytes);
  mw__jw_kint(&w, "stored_bytes", (int64_t)x->stored_bytes);
  mw__jw_obj_end(&w);
  mw__reply_buf(r, MW_OK, "application/json", &b);
}

static void resume_ingest(mw_req *r) {
  xt_ctx *c = r->ctx;
  if (c->rc) return mw__reply_error(r, c->rc, "%s", c->msg);
  if (r->commit_rc == MW_OK) return reply_report(r, c);
  if (r->commit_rc == MW_EFULL)
    return mw__reply_error(r, MW_EFULL, "the disk holding the database is full: nothing was stored");
  mw__reply_error(r, MW_EBUSY, "storing failed (%s): retry", mw__strerror(r->commit_rc));
}

/* --- reading ----------------------------------------------------------------- */

/* A time parameter that defaults to dflt when absent; -1 after replying. */
static int time_or(mw_req *r, const char *name, int64_t dflt, int64_t *out) {
  int given = mw__param_time(r, name, out);
  if (given < 0) return -1;
  if (!given) *out = dflt;
  return 0;
}

/* A positive id given as a query parameter, 0 when absent; -1 after replying. */
static int source_param(mw_req *r, int required, int64_t *out) {
  const char *v = mw__req_arg(r, "source");
  *out = 0;
  if (!v || !*v) {
    if (!required) return 0;
    mw__reply_error(r, MW_EINVAL, "the source parameter is required (a source id: GET /api/v1/sources)");
    return -1;
  }
  return mw__param_id(r, "source", v, strlen(v), out);
}

static const char *const list_params[] = {"source", "from", "to", "limit"};

/* /api/v1/exectraces?source=&from=&to=&limit= */
static void handle_list(mw_req *r) {
  int64_t source, from, to;
  size_t limit;
  if (mw__param_only(r, list_params, 4) || source_param(r, 0, &source) || time_or(r, "from", INT64_MIN, &from) ||
      time_or(r, "to", INT64_MAX, &to) || mw__param_count(r, "limit", 1, MW_XT_LIST_MAX, MW_XT_LIST_DEFAULT, &limit))
    return;
  mw_answer a;
  mw__q_exectraces(r->query, source, from, to, limit, &a);
  mw__reply_answer(r, &a);
}

/* /api/v1/exectraces/{id}/raw */
static void handle_raw(mw_req *r) {
  const char *p = r->url + strlen("/api/v1/exectraces/"), *rest = p + strcspn(p, "/");
  int64_t id;
  if (strcmp(rest, "/raw") != 0) return mw__reply_error(r, MW_ENOTFOUND, "no such endpoint: %s", r->url);
  if (mw__param_only(r, NULL, 0)) return;
  if (mw__param_id(r, "execution trace id", p, (size_t)(rest - p), &id)) return;
  mw_answer a;
  mw__q_exectrace_raw(r->query, id, &a);
  mw__reply_answer(r, &a);
}

/* /api/v1/exectrace/spans/{trace_id}/{span_id} and /api/v1/exectrace/window?source=&from=&to=&limit= */
static void handle_sub(mw_req *r) {
  const char *p = r->url + strlen("/api/v1/exectrace/");
  mw_answer a;
  if (strncmp(p, "spans/", 6) == 0) {
    const char *t = p + 6, *slash = strchr(t, '/');
    uint8_t trace_id[16], span_id[8];
    if (!slash) return mw__reply_error(r, MW_ENOTFOUND, "use /api/v1/exectrace/spans/{trace_id}/{span_id}");
    if (mw__param_only(r, NULL, 0) || mw__param_hex(r, "trace id", t, (size_t)(slash - t), trace_id, 16) ||
        mw__param_hex(r, "span id", slash + 1, strlen(slash + 1), span_id, 8))
      return;
    mw__q_exectrace_span(r->query, trace_id, span_id, &a);
    return mw__reply_answer(r, &a);
  }
  if (strcmp(p, "window") != 0) return mw__reply_error(r, MW_ENOTFOUND, "no such endpoint: %s", r->url);
  int64_t source, from, to;
  size_t limit;
  if (mw__param_only(r, list_params, 4) || source_param(r, 1, &source) || time_or(r, "from", 0, &from) ||
      time_or(r, "to", 0, &to) || mw__param_count(r, "limit", 1, MW_XT_WINDOW_MAX, MW_XT_WINDOW_DEFAULT, &limit))
    return;
  if (!mw__req_arg(r, "from") || !mw__req_arg(r, "to"))
    return mw__reply_error(r, MW_EINVAL, "from and to are required (unix ns, unix s or RFC 3339)");
  if (to <= from) return mw__reply_error(r, MW_EINVAL, "to must be after from");
  mw__q_exectrace_window(r->query, source, from, to, limit, &a);
  mw__reply_answer(r, &a);
}

const mw_route mw__exectrace_routes[] = {
    {.method = "POST",
     .access = MW_ACCESS_INGEST,
     .path = "/api/v1/ingest/exectrace",
     .body = 1,
     .handle = handle_ingest,
     .resume = resume_ingest},
    {.method = "GET", .path = "/api/v1/exectraces", .query = 1, .handle = handle_list, .by_shard = 1},
    {.method = "GET", .path = "/api/v1/exectraces/", .prefix = 1, .query = 1, .handle = handle_raw, .by_shard = 1},
    {.method = "GET", .path = "/api/v1/exectrace/", .prefix = 1, .query = 1, .handle = handle_sub, .by_shard = 1},
    {0},
};

/* Queries run on threads of their own (--query-threads), never on
 * libmicrohttpd's threads: those read and decode ingest bodies, and a slow
 * query there would hold up every request that shares its thread.
 *
 * A route marked `.query` is handed here once its request is complete: the
 * connection is suspended and the request joins a bounded queue
 * (--max-query-queue; past it, 503 at once). A query thread starts the
 * request's query (mw__query_begin: its time limit bound to the thread's
 * reads) and runs the route's handler, which parses the parameters, calls
 * one query function (which reads in the query's one read transaction) and
 * replies with the answer;
 * the reply is kept, the connection resumed, and the kept reply sent from
 * libmicrohttpd's thread (mw__query_reply). A query that passes
 * --query-timeout, counted from its arrival, is stopped inside SQLite and
 * answered as such, whatever the handler made of the interrupted reads. */
#include "http/http_int.h"
#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <uv.h>

struct mw_query_pool {
  mw_reqpool pool; /* draining: at the stop every admitted query runs (and is stopped at once) */
  mw_http *http;
  _Atomic int abort; /* stop what runs now (shutdown); read by the store */
};

/* Why a query stopped, as its answer. */
static void reply_stopped(mw_req *r, int why) {
  if (why == MW_ESHUTDOWN) return mw__reply_error(r, why, "meanwhiled is shutting down: retry");
  if (why == MW_EBUSY) /* store/checkpoint.c */
    return mw__reply_error(r, why,
                           "the query was stopped so that the write-ahead log could be emptied under heavy ingest: "
                           "retry it, or narrow it so that it finishes sooner");
  int64_t ms = r->http->opts.query_timeout_ns / 1000000;
  char limit[32];
  if (ms % 1000) snprintf(limit, sizeof limit, "%lld ms", (long long)ms);
  else snprintf(limit, sizeof limit, "%lld s", (long long)(ms / 1000));
  mw__reply_error(r, why,
                  "the query took longer than query_timeout (%s): narrow it (a shorter time window, a service or "
                  "span name, a smaller limit) or raise --query-timeout",
                  limit);
}

/* The test hook MEANWHILE_FAULT_QUERY_DELAY_MS: sleeps before the query, in
 * short steps so that a shutdown does not wait for it. */
static void fault_delay(struct mw_query_pool *p, int ms) {
  for (; ms > 0 && !atomic_load(&p->abort); ms -= 10) usleep(10000);
}

static void run(void *owner, mw_req *r) {
  struct mw_query_pool *p = owner;
  fault_delay(p, p->http->opts.fault_query_delay_ms);
  mw_query q;
  mw__query_begin(&q, r->http->opts.store, r->arena, r->query_deadline_ns, &p->abort);
  r->query = &q;
  r->route->handle(r);
  r->query = NULL;
  int stopped = mw__query_end(&q);
  if (stopped) { /* reads were cut short: what the handler made of them is not the answer */
    if (r->answer) MHD_destroy_response(r->answer);
    r->answer = NULL;
    reply_stopped(r, stopped);
  }
  r->state = REQ_RESUMED;
  MHD_resume_connection(r->conn);
}

void mw__query_submit(mw_req *r) {
  if (mw__fed_wanted(r)) return mw__fed_submit(r); /* http/fed.c */
  if (mw__fed_shard_refused(r)) return;
  if (!r->http->opts.store)
    return mw__reply_error(r, MW_ENOTFOUND, "this meanwhiled is query-only (--role query): it holds no data; %s",
                           r->route->by_shard ? "pass shard=<a shard of --peers, as the shard field of a federated "
                                                "timeline or explain answer names it> to have that shard answer"
                           : r->route->fed    ? "ask a shard for its own part"
                                              : "this endpoint is answered by each shard");
  mw__req_submit_to(r, &r->http->queries->pool);
}

void mw__req_submit_to(mw_req *r, mw_reqpool *p) {
  const mw_http_opts *o = &r->http->opts;
  uv_mutex_lock(&p->lock);
  int stopping = p->stopping, full = p->queued >= o->max_query_queue;
  if (!stopping && !full) p->queued++; /* admitted: a worker will not exit before it is listed */
  uv_mutex_unlock(&p->lock);
  if (stopping) return mw__reply_error(r, MW_ESHUTDOWN, "meanwhiled is shutting down: retry");
  if (full)
    return mw__reply_error(r, MW_EBUSY,
                           "too many queries are waiting (max_query_queue=%u, with query_threads=%u busy): retry "
                           "after the delay, or raise --query-threads or --max-query-queue",
                           o->max_query_queue, o->query_threads);
  r->query_deadline_ns = o->query_timeout_ns > 0 ? r->t0_ns + o->query_timeout_ns : 0;
  r->query_next = NULL;
  r->state = REQ_QUERY;
  /* suspended before a worker can see it: it may resume it at once */
  MHD_suspend_connection(r->conn);
  uv_mutex_lock(&p->lock);
  mw__reqpool_list(p, r);
  uv_mutex_unlock(&p->lock);
}

void mw__query_reply(mw_req *r) {
  struct MHD_Response *resp = r->answer;
  if (!resp) /* the handler made no reply, or it could not be created */
    return mw__reply_error(r, MW_EIO, "the query produced no answer");
  r->answer = NULL;
  mw__req_send(r, r->answer_status, resp);
}

int mw__query_pool_start(mw_http *h, char *err, size_t errsz) {
  unsigned n = h->opts.query_threads ? h->opts.query_threads : 2;
  h->opts.query_threads = n;
  if (!h->opts.max_query_queue) h->opts.max_query_queue = 64;
  struct mw_query_pool *p = calloc(1, sizeof *p);
  if (!p || mw__reqpool_init(&p->pool, n, 1, run, p)) {
    free(p);
    snprintf(err, errsz, "out of memory");
    return MW_ENOMEM;
  }
  p->http = h;
  h->queries = p;
  if (mw__reqpool_start(&p->pool)) {
    snprintf(err, errsz, "cannot start query thread %u of %u", p->pool.n_threads + 1, n);
    mw__query_pool_free(h);
    return MW_EIO;
  }
  return MW_OK;
}

void mw__query_pool_stop(mw_http *h) {
  struct mw_query_pool *p = h->queries;
  if (!p) return;
  atomic_store(&p->abort, 1);
  mw__reqpool_join(&p->pool);
}

void mw__query_pool_free(mw_http *h) {
  struct mw_query_pool *p = h->queries;
  if (!p) return;
  mw__query_pool_stop(h);
  mw__reqpool_destroy(&p->pool);
  free(p);
  h->queries = NULL;
}

/* Internals of the HTTP layer: the per-request context, routes, replies. */
#ifndef MW_HTTP_INT_H
#define MW_HTTP_INT_H
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdint.h>
#include <uv.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/jsonw.h"
#include "core/metrics.h"
#include "http/conn_guard.h"
#include "http/http.h"
#include "ingest/body.h"
#include "ingest/commit.h"
#include "query/query.h"
#include "query/traceql.h"

struct mw_http {
  mw_http_opts opts;
  struct MHD_Daemon *daemon;
  int listen_fd;
  _Atomic size_t in_flight;
  _Atomic int stopping;
  _Atomic size_t body_bytes; /* decoded body bytes held by requests (max_request_memory) */
  mw_conn_guard *guard;      /* header deadlines, request-line verdicts */
  int tls;
  struct mw_query_pool *queries; /* http/query.c */
  struct mw_xt_pool *exectrace;  /* http/exectrace.c */
  struct mw_fed_pool *fed_pool;  /* http/fed.c: with --peers */
};

typedef struct mw_req mw_req;

/* Who may call a route: queries need a query token, ingest an ingest token
 * (when such tokens are configured); open routes need none. */
enum mw_access { MW_ACCESS_QUERY = 0, MW_ACCESS_INGEST, MW_ACCESS_OPEN };

typedef struct mw_route {
  const char *method; /* "GET", "POST" */
  enum mw_access access;
  const char *path; /* exact path, or a prefix ending in '/' when prefix=1 */
  int prefix;
  int body; /* reads a request body */
  /* Reads the store: handle runs on a query thread (http/query.c), never on
   * the HTTP threads that read ingest bodies, within --query-timeout, with
   * the request's one read transaction open (mw_req.query). */
  int query;
  /* Called once the body (if any) is complete. Must reply (mw__reply*) or
   * suspend for a commit (mw__req_commit). */
  void (*handle)(mw_req *r);
  /* Called after a commit the request waited for; must reply. */
  void (*resume)(mw_req *r);
  /* With --peers: answers the query across the shards (http/fed.c), on a
   * federation thread, unless the request is a sub-request. */
  void (*fed)(mw_req *r);
  /* With --peers: takes shard=<one of the shards> (a GET of ids that are a
   * shard's own: sources, snapshots, execution traces), and is then sent as
   * it is to that shard, whose answer is the answer (http/fed.c). */
  int by_shard;
} mw_route;

/* REQ_QUERY: queued for or running on a query thread (suspended); its reply
 * is kept in `answer` until the connection is resumed. */
enum req_state { REQ_NEW, REQ_BODY, REQ_WAITING, REQ_QUERY, REQ_RESUMED, REQ_REPLIED };

struct mw_req {
  mw_http *http;
  struct MHD_Connection *conn;
  const mw_route *route;
  const char *url; /* path only */
  enum req_state state;
  mw_arena *arena; /* freed with the request */

  /* body */
  mw_body_decoder *dec;
  int body_rc;    /* first error while reading the body */
  mw_buf *body;   /* decoded body, once complete */
  char media[64]; /* request media type, lowercased */

  /* commit */
  mw_write_job job;
  int commit_rc;

  int cors;            /* the request's Origin may read the answer */
  size_t accounted;    /* this request's share of http->body_bytes */
  int body_read;       /* some of the body arrived (for the request log) */
  int early;           /* refused at the headers (for the request log) */
  size_t drained;      /* body bytes dropped after a refusal */
  size_t dom_reserved; /* of accounted: room for a JSON body's parsed tree */
  int expect_continue; /* the client waits for 100 Continue before its body */
  int close;           /* the answer closes the connection (Connection: close) */
  const char *allow;   /* Allow header of a 405 */

  /* query (http/query.c) */
  mw_query *query;             /* while a query route's handler runs: its read transaction */
  struct MHD_Response *answer; /* the reply a query thread made, sent on resume */
  unsigned answer_status;
  int64_t query_deadline_ns; /* monotonic; 0: no limit */
  mw_req *query_next;        /* the query queue's link */
  size_t mem_over;           /* what it held when it alone passed max_request_memory (then it is refused as too big) */
  int body_window;           /* body_rc MW_ETOOBIG is a zstd window refused, not the size */

  /* handler state */
  void *ctx;
  mw_tql *tql;             /* a parsed TraceQL query (tempo.c): its regexes live outside the arena */
  const char *fed_missing; /* a federated answer without these shards (Meanwhile-Missing-Shards) */
  int64_t t0_ns;
};

/* What the headers of a request say about its framing (framing.c). */
typedef struct mw_framing {
  int rc;              /* 0: unambiguous; else why it is refused (MW_EINVAL, MW_ENOTIMPL) */
  char why[200];       /* what was wrong, for the error message */
  int expect_continue; /* Expect: 100-continue */
} mw_framing;

/* Looks at every header of the request on conn (duplicates included) once
 * they are complete; version is the request's HTTP version string. */
void mw__framing_check(struct MHD_Connection *conn, const char *version, mw_framing *f);

/* Suspends the request until r->job (mw__ingest_job_*) is committed;
 * route->resume runs then. On MW_EBUSY / MW_ESHUTDOWN the request is not
 * suspended and the rc is returned. */
int mw__req_commit(mw_req *r);

/* Threads that run suspended requests (http/reqpool.c). lock guards the
 * list (head..tail, linked through query_next), queued (what the owner
 * admitted and no worker has taken yet) and stopping. */
typedef struct mw_reqpool {
  uv_mutex_t lock;
  uv_cond_t wake;
  mw_req *head, *tail;
  size_t queued;
  int stopping;
  int drain; /* at the stop, workers run every admitted request before they leave */
  void (*run)(void *owner, mw_req *r);
  void *owner;
  uv_thread_t *threads;
  unsigned n_threads, cap_threads;
  int inited;
} mw_reqpool;

/* Sets up a pool of n threads (started by mw__reqpool_start, which returns
 * MW_EIO when one cannot be: p->n_threads were). MW_ENOMEM. */
int mw__reqpool_init(mw_reqpool *p, unsigned n, int drain, void (*run)(void *owner, mw_req *r), void *owner);
int mw__reqpool_start(mw_reqpool *p);
/* With p->lock held, r admitted (counted in queued) and suspended: lists it
 * and wakes the workers. */
void mw__reqpool_list(mw_reqpool *p, mw_req *r);
/* Sets stopping and wakes the workers; join also waits for them; destroy
 * (after join, or instead) frees. Each is safe on a pool never set up. */
void mw__reqpool_quiesce(mw_reqpool *p);
void mw__reqpool_join(mw_reqpool *p);
void mw__reqpool_destroy(mw_reqpool *p);

/* Runs r's route on a query thread: suspends the connection, or replies 503
 * at once when the queue is full or the server stops. */
void mw__query_submit(mw_req *r);
/* mw__query_submit's admission to pool p (the query pool, or the federation pool). */
void mw__req_submit_to(mw_req *r, mw_reqpool *p);
/* Federated queries (http/fed.c): whether r is answered across the shards;
 * submit runs it on a federation thread; the pool as the query pool's. */
int mw__fed_wanted(mw_req *r);
void mw__fed_submit(mw_req *r);
int mw__fed_pool_start(mw_http *h, char *err, size_t errsz);
void mw__fed_pool_stop(mw_http *h);
void mw__fed_pool_free(mw_http *h);
/* The federated handlers of the routes (their .fed). */
void mw__fed_trace_v1(mw_req *r);
void mw__fed_trace_v2(mw_req *r);
void mw__fed_search(mw_req *r);
void mw__fed_services(mw_req *r);
void mw__fed_operations(mw_req *r);
void mw__fed_trace_sub(mw_req *r);
void mw__fed_compare(mw_req *r);
void mw__fed_tags(mw_req *r);
void mw__fed_sources(mw_req *r);
/* For a .by_shard route given shard= where it is not taken (no --peers, or a
 * sub-request): replies 400 and returns 1; else 0. */
int mw__fed_shard_refused(mw_req *r);
/* Replies with a status as it is (not from the error table): a shard's
 * answer passed through; takes ownership of body (malloc'd). */
void mw__reply_status(mw_req *r, unsigned status, const char *content_type, char *body, size_t len);
/* Sends the reply the query thread kept (once the connection is resumed). */
void mw__query_reply(mw_req *r);
/* The query pool: start starts its threads; stop stops what runs, answers
 * what waits (as busy) and joins them, so that every suspended query is resumed,
 * and later queries get 503 at once; free (after the daemon stopped) frees. */
int mw__query_pool_start(mw_http *h, char *err, size_t errsz);
void mw__query_pool_stop(mw_http *h);
void mw__query_pool_free(mw_http *h);
/* Sends resp (consumed) with status: the one place a reply leaves. */
void mw__req_send(mw_req *r, unsigned status, struct MHD_Response *resp);

/* Counts n more bytes held by r against max_request_memory (released when
 * the request ends); MW_EBUSY when all requests together would hold more, or
 * MW_ETOOBIG (r->mem_over set) when r alone would: it can never fit. */
int mw__req_account(mw_req *r, size_t n);

/* A JSON body's parsed tree and decoded structs take this many times the
 * body at their peak: 10.2-13.6x measured on 30 MB bodies of real exporters'
 * spans (docs/PERFORMANCE.md), so 14 is reserved besides the body itself. */
enum { MW_JSON_TREE_FACTOR = 14 };

/* --- shared by the ingest endpoints (ingest_rules.c) --- */

/* For r->body_rc != 0: the error code to answer with and a message naming
 * the limit hit. */
int mw__req_body_problem(mw_req *r, char *msg, size_t n);
/* The 413 message for a request that alone needs more than max_request_memory. */
void mw__req_memory_msg(mw_req *r, char *msg, size_t n);
/* mw_mem_account.take for a request (user = the mw_req): mw__req_account. */
int mw__req_take(void *user, size_t more);
/* mw_mem_account.give for a request: un-counts memory freed before the request ends. */
void mw__req_give(void *user, size_t less);
/* Data before this time (ns) is past --retention (INT64_MIN: none). */
int64_t mw__retention_cutoff(const mw_req *r);
/* "N <what>s are older than the retention window (--retention 1h): ..." */
void mw__retention_warning(const mw_req *r, size_t n_old, const char *what, char *msg, size_t n);

/* --- parameters (params.c): the one parser ----------------------------------
 * Each returns 0 (or what it says), or -1 after replying 400 with a message
 * naming the parameter; an empty parameter counts as absent. */

/* A point in time (unix s, unix ns, RFC 3339): 1 given, 0 absent, -1 bad. */
int mw__param_time(mw_req *r, const char *name, int64_t *out);
/* The time window of a query from its start and end parameters. Without
 * start, the window reaches back max_query_range from end (or now); a wider
 * window than max_query_range is refused (0: no cap). */
int mw__param_window(mw_req *r, int64_t *start, int64_t *end);
/* A duration (Go syntax) of at most max (INT64_MAX: any); dflt when absent. */
int mw__param_duration(mw_req *r, const char *name, int64_t dflt, int64_t max, int64_t *out);
/* A count of nanoseconds (digits only); 0 when absent. */
int mw__param_ns(mw_req *r, const char *name, int64_t *out);
/* An integer in [lo, hi] (digits only); dflt when absent. */
int mw__param_count(mw_req *r, const char *name, size_t lo, size_t hi, size_t dflt, size_t *out);
/* The page a request asks for: `limit` (1 to max, default dflt) and
 * `offset` (0 to MW_PAGE_MAX_OFFSET, default 0). */
enum { MW_PAGE_MAX_OFFSET = 1000000 };
int mw__param_page(mw_req *r, size_t dflt, size_t max, mw_page *pg);
/* An id of n bytes as 2n hex digits: text (len bytes, a path segment) named
 * name ("trace id"); or the query parameter name: 1 given, 0 absent, -1 bad. */
int mw__param_hex(mw_req *r, const char *name, const char *text, size_t len, uint8_t *out, size_t n);
int mw__param_hex_arg(mw_req *r, const char *name, uint8_t *out, size_t n);
/* A positive integer id from text (len bytes, a path segment). */
int mw__param_id(mw_req *r, const char *name, const char *text, size_t len, int64_t *out);
/* One of n choices (static strings); choices[0] when absent. */
int mw__param_enum(mw_req *r, const char *name, const char *const *choices, size_t n, const char **out);
/* A text parameter, NULL when absent; required: absent is refused. */
int mw__param_text(mw_req *r, const char *name, int required, const char **out);
/* A name given as a parameter (service, instance, a Pyroscope name): *out
 * NULL when absent, possibly "" when empty; refused when it breaks the name
 * rule (NUL bytes, invalid UTF-8: core/utf8.h). */
int mw__param_name(mw_req *r, const char *name, const char **out);
/* A short word of a-z and _ (at most max bytes), NULL when absent. */
int mw__param_word(mw_req *r, const char *name, size_t max, const char **out);
/* Refuses a query parameter not among names[0..n): -1 after replying 400. */
int mw__param_only(mw_req *r, const char *const *names, size_t n);
/* The first query parameter not among names, or NULL (no reply). */
const char *mw__param_unknown(mw_req *r, const char *const *names, size_t n);

/* Query parameter (URL-decoded) or NULL. */
const char *mw__req_arg(mw_req *r, const char *name);
const char *mw__req_header(mw_req *r, const char *name);

/* --- replies: each takes an error code (MW_OK for success), whose status
 * and Retry-After come from the one table (status.c), and takes ownership
 * of the body. --- */
void mw__reply(mw_req *r, int rc, const char *content_type, char *body, size_t len);
void mw__reply_buf(mw_req *r, int rc, const char *content_type, mw_buf *b);
void mw__reply_text(mw_req *r, int rc, const char *text);
void mw__reply_static(mw_req *r, int rc, const char *content_type, const void *data, size_t len);
/* {"error": message} with the status of rc (an error). */
void mw__reply_error(mw_req *r, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* What a query answered: its body (a success), or its error as {"error"}. */
void mw__reply_answer(mw_req *r, mw_answer *a);

/* Metrics of the HTTP layer. */
extern mw_counter mw__m_spans_accepted, mw__m_spans_rejected;
extern mw_counter mw__m_profiles_accepted, mw__m_profiles_rejected;
extern mw_counter_vec mw__m_requests;

/* GET /api/v1/sources/{id}/heap/growth and /api/v1/sources/{id}/alloc
 * (growth.c), reached through runtime.c's /api/v1/sources/ route. */
void mw__handle_heap_growth(mw_req *r, int64_t source_id);
void mw__handle_alloc_rate(mw_req *r, int64_t source_id);

/* Route tables of each handler file. */
extern const mw_route mw__otlp_routes[];
extern const mw_route mw__api_routes[];
extern const mw_route mw__runtime_routes[];
extern const mw_route mw__gor_routes[];
/* /api/v1/sources/{id}{rest} of goroutine growth and GC pressure (gor.c):
 * handles it and returns 1, or returns 0 for another rest. */
int mw__gor_source_sub(mw_req *r, int64_t source_id, const char *rest);
extern const mw_route mw__correlate_routes[];
extern const mw_route mw__misc_routes[];
/* 1 when the viewer's catch-all route serves url (a file, the page, a view): another
 * method there is a wrong method (MW_EMETHOD, with Allow), not an unknown path. */
int mw__viewer_has(const char *url);
extern const mw_route mw__exectrace_routes[];
extern const mw_route mw__tempo_routes[];
/* Tempo's API (http/tempo.c): trace by id v1 (v2: 1) for the id text; q as
 * a TraceQL filter (*out NULL for none or {}; -1 once refused as a bad request). */
struct mw_tql;
void mw__tempo_trace(mw_req *r, const char *id, int v2);
/* Tempo's trace by id: the id into tid and start/end checked (a range
 * Grafana sends, otherwise unused: a trace is found by its id alone);
 * -1 after replying 400. */
int mw__tempo_trace_params(mw_req *r, const char *id, uint8_t tid[16]);
/* 1 when the client asked for Tempo's protobuf (Accept: application/protobuf) */
int mw__tempo_wants_pb(mw_req *r);
int mw__tempo_tql(mw_req *r, const struct mw_tql **out);

/* The pool of execution trace readers (http/exectrace.c): start finds the
 * reader and starts --exectrace-workers threads; stop kills what runs,
 * answers what waits and joins them (before the daemon stops: their
 * connections are suspended); free frees. */
int mw__xt_pool_start(mw_http *h, char *err, size_t errsz);
/* At SIGTERM: kills the readers that run and answers their requests and the
 * waiting ones 503 (a trace is read again in full when it is sent again: there
 * is nothing to finish), so that they do not hold up the stop. */
void mw__xt_pool_quiesce(mw_http *h);
void mw__xt_pool_stop(mw_http *h);
void mw__xt_pool_free(mw_http *h);

/* For a request already suspended (off libmicrohttpd's threads): hands
 * r->job to the writer like mw__req_commit; route->resume runs once it is
 * committed. Returns 0, or MW_EBUSY / MW_ESHUTDOWN (then the caller resumes
 * the connection itself). */
int mw__req_commit_suspended(mw_req *r);

#endif

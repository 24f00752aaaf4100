/* The HTTP front: one libmicrohttpd daemon with a thread pool serves OTLP
 * ingest, the query API, /metrics and the web viewer on one port; queries
 * run on a pool of their own. */
#ifndef MW_HTTP_HTTP_H
#define MW_HTTP_HTTP_H
#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"
#include "http/auth.h"

typedef struct mw_http mw_http;
typedef struct mw_store mw_store; /* store/store.h: the HTTP layer only passes it on */

typedef struct mw_http_opts {
  const char *listen;       /* "host:port", "[v6]:port"; port 0 picks a free one */
  unsigned threads;         /* MHD thread pool size */
  unsigned query_threads;   /* threads that run queries (http/query.c) */
  unsigned max_query_queue; /* queries waiting for one of them; more: 503 */
  int64_t query_timeout_ns; /* a query still running this long after it arrived stops: 503; 0 = none */
  int fault_query_delay_ms; /* test hook: each query sleeps this long first */
  unsigned max_connections;
  unsigned max_connections_per_ip;
  unsigned conn_timeout_s;    /* idle / slow-client timeout */
  unsigned request_timeout_s; /* a body still arriving after this long is cut off */
  unsigned header_timeout_s;  /* request headers not complete after this long: the connection is closed (0: never) */
  mw_limits limits;
  size_t max_request_memory; /* bodies being received and decoded, all requests together */
  int64_t max_query_range;   /* widest time window of a query, ns; 0 = no cap */
  int64_t retention_ns;      /* --retention, for warning about older data; 0 = keep all */
  mw_store *store;
  mw_auth auth;             /* empty sets: open */
  const char *tls_cert_pem; /* both set: HTTPS */
  const char *tls_key_pem;
  const char *cors_origin; /* NULL: no CORS headers */
  /* the viewer's link to Grafana Explore (GET /api/v1/viewer-config): both or NULL */
  const char *grafana_url, *grafana_datasource_uid;
  /* execution traces (http/exectrace.c) */
  const char *exectrace_reader;  /* --exectrace-reader, or NULL: next to meanwhiled, then PATH */
  unsigned exectrace_workers;    /* readers running at once */
  int64_t exectrace_timeout_ns;  /* a reader still running after this is killed */
  uint64_t exectrace_memory;     /* its address-space limit; 0: none */
  uint64_t exectrace_max_output; /* the most it may write; 0: 8 x max_body_bytes */
  /* query federation (docs/FEDERATION.md): the shards (query/fed.h), or NULL */
  struct mw_fed *fed;
  unsigned federation_threads;
  /* store NULL: the query role (--role query): no ingest, only federated queries */
} mw_http_opts;

/* Binds and starts serving; logs the bound address. Returns 0 or an error + message. */
int mw__http_start(const mw_http_opts *opts, mw_http **out, char *err, size_t errsz);
/* Stops accepting connections; requests that arrive on open connections get
 * 503 (in-flight requests go on). */
void mw__http_quiesce(mw_http *h);
/* Requests that have started and not yet been answered. */
size_t mw__http_in_flight(mw_http *h);
/* Closes every connection and frees the daemon. */
void mw__http_stop(mw_http *h);

#endif

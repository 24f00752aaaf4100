/* libmeanwhile: push spans and Go runtime data to a meanwhiled collector.
 *
 * A mw_client is one collector URL plus what it takes to reach it reliably:
 * compression (zstd or gzip, sent as Content-Encoding), retries of the answers
 * that mean "later" (429, 502, 503, 504, and connection errors) with an
 * exponential, jittered and bounded backoff that honours Retry-After, and an
 * optional on-disk spool so that a collector that is down for minutes loses
 * nothing: a payload that cannot be delivered is written to the spool (one file
 * per payload), and mw_client_flush() sends the spool, oldest first, when the
 * collector is back. While the spool holds anything, new payloads join its end,
 * so the collector receives everything in the order it was pushed. The spool is
 * bounded by bytes and by files; when full, its oldest payloads are dropped and
 * counted.
 *
 * Threads: a handle is used by one thread at a time (a background sender
 * thread is the intended use); calls on it block while they send, retry and
 * back off. mw_client_stats_get() alone may be called from any thread at any time.
 * Different handles are independent. The library initialises libcurl
 * (curl_global_init) when a handle is made; on libcurl 7.84 and later that is
 * safe to do from any thread.
 *
 * Errors: functions return 0 (or a documented positive value) on success and a
 * negative mw_error code on failure; mw_strerror() names one. A function that
 * fails leaves its outputs untouched unless it says otherwise. */
#ifndef MEANWHILE_CLIENT_H
#define MEANWHILE_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MW_CLIENT_VERSION "0.1.0"

enum mw_error {
  MW_ERR_NOMEM = -1,    /* out of memory */
  MW_ERR_INVAL = -2,    /* a bad argument, option or URL */
  MW_ERR_CONNECT = -3,  /* the collector could not be reached, and there is no spool */
  MW_ERR_RETRY = -4,    /* the collector kept answering 429/502/503/504, and there is no spool */
  MW_ERR_REJECTED = -5, /* the collector refused the payload with a status that is not retried */
  MW_ERR_SPOOL = -6,    /* the spool directory cannot be read or written */
  MW_ERR_LOCKED = -7,   /* the spool directory is in use by another process */
  MW_ERR_TOOBIG = -8,   /* the payload is larger than the whole spool may hold: dropped */
  MW_ERR_COMPRESS = -9, /* compression failed */
  MW_ERR_AGAIN = -10,   /* flush: payloads remain in the spool (collector down, or backing off) */
};

/* Positive result of a push: the payload was not delivered yet but is safe in
 * the spool, and a later mw_client_flush() sends it. */
#define MW_PUSH_SPOOLED 1

typedef enum mw_encoding {
  MW_ENCODING_ZSTD = 0, /* Content-Encoding: zstd (the default) */
  MW_ENCODING_GZIP,     /* Content-Encoding: gzip */
  MW_ENCODING_IDENTITY, /* bodies as given */
} mw_encoding;

/* What became of one payload, reported through mw_client_options.on_outcome. */
typedef enum mw_outcome_kind {
  MW_OUTCOME_DELIVERED = 0, /* the collector answered 2xx */
  MW_OUTCOME_SPOOLED,       /* written to the spool; a later DELIVERED, REJECTED or DROPPED follows */
  MW_OUTCOME_REJECTED,      /* answered with a status that is not retried (400, 404, 413, ...): gone */
  MW_OUTCOME_DROPPED,       /* removed from a full spool (the oldest go first), or too large for it: gone */
  MW_OUTCOME_FAILED,        /* not delivered after the retries, and there is no spool: gone */
} mw_outcome_kind;

typedef struct mw_outcome {
  mw_outcome_kind outcome;
  const char *kind;   /* "spans", or the runtime kind ("gctrace", "goroutine", ...) */
  long status;        /* the last HTTP status, 0 when there was no answer */
  size_t bytes;       /* the body as sent (after compression) */
  int64_t created_ns; /* unix ns when it was pushed */
} mw_outcome;

typedef struct mw_client_options {
  const char *url;           /* collector base URL, http:// or https:// (required) */
  mw_encoding encoding;      /* MW_ENCODING_ZSTD */
  int compression_level;     /* 0: zstd 3, gzip 6 */
  size_t compress_min_bytes; /* bodies shorter than this go uncompressed (1024); so do bodies
                                 that already are gzip or zstd, such as Go's pprof output */
  long timeout_ms;           /* one request, whole (30000) */
  long connect_timeout_ms;   /* 3000 */
  int max_attempts;          /* tries per push before it spools or fails (3) */
  long backoff_initial_ms;   /* the first wait after a failure (250); doubled after each */
  long backoff_max_ms;       /* cap on any wait, Retry-After included (30000) */
  const char *spool_dir;     /* NULL: no spool; created if missing (one level) */
  uint64_t spool_max_bytes;  /* 256 MiB */
  size_t spool_max_files;    /* 10000 */
  int spool_fsync;           /* fsync each spooled file before it counts as spooled (0) */
  const char *user_agent;    /* "libmeanwhile/<version>" */
  /* Runtime pushes go to POST /v1/traces as OTLP traces instead of to
   * /api/v1/ingest/{kind}: one span of the scope "meanwhile.runtime" under the
   * resource service.name and service.instance.id, carrying the payload and its
   * parameters (docs/SHARDING.md). For an OpenTelemetry Collector that routes
   * spans by process to meanwhiled shards: the runtime data takes the same
   * route as the process's spans. The Collector answers for itself, so a push's
   * answer names no early-warning requests then. (0) */
  int runtime_as_otlp;
  /* Called in the thread that pushes or flushes, once per change of a
   * payload's fate; may be NULL. Must not call back into the handle. */
  void (*on_outcome)(void *user, const mw_outcome *o);
  void *user;
} mw_client_options;

/* Parameters of a runtime payload (POST /api/v1/ingest/{kind}); 0 and NULL
 * mean "not sent". */
typedef struct mw_runtime_params {
  const char *service; /* required */
  const char *instance;
  int64_t time_ns;          /* capture start, unix ns */
  int64_t duration_ns;      /* windowed captures (CPU profiles) */
  int64_t process_start_ns; /* anchors gctrace/schedtrace offsets */
  const char *trigger;      /* why the capture was taken outside its schedule (sent as &trigger=) */
} mw_runtime_params;

typedef struct mw_client_stats {
  uint64_t pushed;          /* payloads given to a push call */
  uint64_t delivered;       /* answered 2xx, directly or from the spool */
  uint64_t rejected;        /* answered with a status that is not retried */
  uint64_t failed;          /* given up without a spool */
  uint64_t spooled;         /* written to the spool */
  uint64_t dropped;         /* dropped from (or refused by) a full spool */
  uint64_t retries;         /* attempts after a retryable failure */
  uint64_t bytes_delivered; /* bodies as sent, of delivered payloads */
  uint64_t spool_files;     /* in the spool now */
  uint64_t spool_bytes;     /* in the spool now, headers included */
  long backoff_ms;          /* until the next attempt is due; 0 when not backing off */
} mw_client_stats;

/* Fills o with the defaults above (url and spool_dir NULL). */
void mw_client_options_init(mw_client_options *o);

typedef struct mw_client mw_client; /* opaque */

/* Makes a handle for o->url; strings in o are copied. With a spool_dir, opens
 * (and locks) the spool and counts what an earlier run left there: the next
 * flush sends it. Returns 0 with *out set, or MW_ERR_INVAL, MW_ERR_NOMEM,
 * MW_ERR_SPOOL, MW_ERR_LOCKED. Free with mw_client_free(). */
int mw_client_new(const mw_client_options *o, mw_client **out);

/* Frees the handle (what is in the spool stays there) and sets *c to NULL.
 * Accepts NULL and a pointer to NULL. */
void mw_client_free(mw_client **c);

/* Pushes spans: body is an OTLP ExportTraceServiceRequest in protobuf
 * (POST /v1/traces). See mw_client_push_runtime() for what happens and what
 * it returns. The bytes are copied (or compressed) before it returns. */
int mw_client_push_spans(mw_client *c, const void *body, size_t len);

/* The same for one OTLP ExportTraceServiceRequest in OTLP JSON (sent as
 * application/json); the collector answers in JSON. */
int mw_client_push_spans_json(mw_client *c, const void *body, size_t len);

/* Pushes runtime data of one kind (gctrace, schedtrace, goroutine, cpu, heap,
 * allocs, mutex, block) to POST /api/v1/ingest/{kind} with p's parameters.
 *
 * When the spool is empty and the handle is not backing off, the payload is
 * sent now, with up to max_attempts tries for retryable failures. Returns
 *   0                 delivered (2xx);
 *   MW_PUSH_SPOOLED   in the spool: the collector is down or busy, or the spool
 *                     already held older payloads (order is kept);
 *   MW_ERR_REJECTED   the collector refused it (4xx other than 429, or 5xx
 *                     other than 502/503/504): see mw_client_last_response();
 *   MW_ERR_CONNECT, MW_ERR_RETRY   not delivered, and there is no spool;
 *   MW_ERR_TOOBIG     larger than the spool may hold: dropped;
 *   MW_ERR_INVAL, MW_ERR_NOMEM, MW_ERR_COMPRESS, MW_ERR_SPOOL.
 * With a spool, a push waits at most about a second between its tries: a
 * longer Retry-After or backoff spools the payload instead. */
int mw_client_push_runtime(mw_client *c, const char *kind, const void *body, size_t len, const mw_runtime_params *p);

/* Sends spooled payloads, oldest first, for about budget_ms (at least one
 * attempt unless backing off; 0: one attempt at most, no waiting). A payload
 * refused with a status that is not retried is dropped from the spool (counted
 * as rejected), so that one bad payload cannot block the rest. Returns 0 when
 * the spool is empty (also without a spool), MW_ERR_AGAIN when payloads remain
 * (the collector is down, or the backoff or the budget did not allow more),
 * MW_ERR_SPOOL when a spooled file cannot be read (it is set aside as
 * <name>.bad and the flush goes on at the next call). */
int mw_client_flush(mw_client *c, long budget_ms);

/* Copies the counters into *out. Safe from any thread. */
void mw_client_stats_get(mw_client *c, mw_client_stats *out);

/* The last answer of the collector to this handle: its HTTP status (0 when
 * there was none) and up to 16 KiB of its body, NUL-terminated, in *body; or,
 * when there was no answer, the transport's error message. Valid until the
 * next call on the handle. */
long mw_client_last_response(mw_client *c, const char **body);

/* A static, human-readable name of an mw_error (or of MW_PUSH_SPOOLED). */
const char *mw_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif

/* libmeanwhile's internals, shared by its files and its unit tests
 * (tests/unit/test_client_*.c). Nothing here is public API: names are mw__. */
#ifndef MW_CLIENT_INT_H
#define MW_CLIENT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "meanwhile/client.h"

enum {
  MW__KIND_MAX = 24,        /* "spans", "goroutine", ...: short names */
  MW__RESPONSE_MAX = 16384, /* bytes of an answer kept for mw_client_last_response() */
};

/* One payload, ready to send: what a request needs and what a spool file holds. */
typedef struct mw__payload {
  char kind[MW__KIND_MAX];
  char *target;       /* path and query: "/v1/traces", "/api/v1/ingest/cpu?service=..." (owned) */
  char ctype[64];     /* Content-Type */
  char encoding[16];  /* Content-Encoding, "" for identity */
  int64_t created_ns; /* unix ns of the push */
  uint8_t *body;      /* owned */
  size_t len;
} mw__payload;

/* Frees what p owns and empties it; accepts an empty payload. */
void mw__payload_clear(mw__payload *p);

/* --- time, backoff ------------------------------------------------------------- */

int64_t mw__client_mono_ms(void);
int64_t mw__client_real_ns(void);
void mw__client_sleep_ms(long ms);

/* 1 when an answer with this HTTP status is worth retrying: 429, 502, 503, 504. */
int mw__client_retryable(long status);

/* The wait before the next try after `failures` consecutive retryable failures
 * (1 for the first): initial * 2^(failures-1), capped at max, of which a random
 * half is taken off (equal jitter: the result lies in [d/2, d]); a Retry-After
 * of retry_after_ms (0: none) raises it to at least that, still capped at max.
 * *rng is xorshift64 state (never 0). */
long mw__client_backoff_ms(int failures, long initial, long max, long retry_after_ms, uint64_t *rng);

/* --- compression --------------------------------------------------------------- */

/* 1 when the bytes already are gzip or zstd (magic numbers). */
int mw__client_is_compressed(const void *body, size_t len);

/* Compresses len bytes with enc (ZSTD or GZIP) at level (0: default) into a
 * new buffer *out of *out_len bytes (the caller frees it). Returns 0,
 * MW_ERR_NOMEM or MW_ERR_COMPRESS. */
int mw__client_compress(mw_encoding enc, int level, const void *body, size_t len, uint8_t **out, size_t *out_len);

/* --- transport ------------------------------------------------------------------ */

typedef struct mw__push_http mw__push_http;

typedef struct mw__push_result {
  long status;         /* 0: no answer (transport error) */
  long retry_after_ms; /* from a Retry-After header, 0 when none */
  int retryable;       /* a status or a transport error worth retrying */
  int fatal;           /* the request itself is bad (malformed URL, ...): never retry */
} mw__push_result;

int mw__push_http_new(const char *base_url, const char *user_agent, long timeout_ms, long connect_timeout_ms,
                      mw__push_http **out);
void mw__push_http_free(mw__push_http **h);

/* POSTs p to base_url + p->target. Fills *r; the answer's first bytes (or the
 * transport's error message) stay readable through mw__push_http_last(). Returns 0
 * when an answer or a transport error was had (see *r), MW_ERR_NOMEM else. */
int mw__push_http_post(mw__push_http *h, const mw__payload *p, mw__push_result *r);
const char *mw__push_http_last(const mw__push_http *h);

/* --- runtime payloads inside OTLP traces (carrier.c, docs/SHARDING.md) ------------ */

#define MW__CARRIER_SCOPE "meanwhile.runtime"
#define MW__CARRIER_VERSION "1"
#define MW__CARRIER_ATTR_KIND "meanwhile.kind"
#define MW__CARRIER_ATTR_TIME "meanwhile.time_ns"
#define MW__CARRIER_ATTR_DURATION "meanwhile.duration_ns"
#define MW__CARRIER_ATTR_PROCESS_START "meanwhile.process_start_ns"
#define MW__CARRIER_ATTR_TRIGGER "meanwhile.trigger"
#define MW__CARRIER_ATTR_PAYLOAD "meanwhile.payload"

/* Writes an OTLP ExportTraceServiceRequest (protobuf) holding one span of the
 * scope MW__CARRIER_SCOPE under the resource service.name = rp->service,
 * service.instance.id = rp->instance (when set), whose attributes carry kind,
 * rp's times and trigger, and the len bytes of body. Its trace and span ids
 * come from *rng (xorshift64 state); its start is rp->time_ns, or now_ns.
 * *out (the caller frees it) gets *out_len bytes. Returns 0 or MW_ERR_NOMEM. */
int mw__carrier_encode(const char *kind, const mw_runtime_params *rp, const void *body, size_t len, int64_t now_ns,
                       uint64_t *rng, uint8_t **out, size_t *out_len);

/* --- spool ----------------------------------------------------------------------- */

typedef struct mw__spool mw__spool;

/* Called for each payload the spool drops to make room (or refuses). */
typedef void (*mw__spool_drop_fn)(void *user, const char *kind, size_t bytes, int64_t created_ns);

/* Opens (creating one level) and locks dir, removes half-written files, and
 * indexes what is there. Returns 0, MW_ERR_SPOOL, MW_ERR_LOCKED, MW_ERR_NOMEM. */
int mw__spool_open(const char *dir, uint64_t max_bytes, size_t max_files, int do_fsync, mw__spool **out);
void mw__spool_close(mw__spool **s);

/* Appends p as the newest file, first dropping the oldest files while the
 * bounds would be exceeded (drop is told of each). Returns 0, MW_ERR_TOOBIG
 * (p alone is over max_bytes: not written, drop is told), MW_ERR_SPOOL,
 * MW_ERR_NOMEM. */
int mw__spool_add(mw__spool *s, const mw__payload *p, mw__spool_drop_fn drop, void *user);

/* Reads the oldest payload into *out (emptied first; the caller clears it).
 * Returns 0, MW_ERR_AGAIN when the spool is empty, MW_ERR_SPOOL when the
 * oldest file cannot be read (it is renamed <name>.bad and leaves the index),
 * MW_ERR_NOMEM. */
int mw__spool_peek(mw__spool *s, mw__payload *out);

/* Removes the oldest payload (the one peek returned) and its file. */
void mw__spool_pop(mw__spool *s);

size_t mw__spool_files(const mw__spool *s);
uint64_t mw__spool_bytes(const mw__spool *s);

#endif

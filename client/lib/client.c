/* libmeanwhile's public API (include/meanwhile/client.h): a push is
 * compressed once, then sent, retried or spooled; a flush sends the spool
 * oldest first. The handle remembers consecutive retryable failures: while it
 * backs off, pushes go straight to the spool instead of waiting on a
 * collector that is known to be down. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "client_int.h"

enum {
  TARGET_MAX = 8192,
  /* with a spool, a push waits between its tries only this long: a longer
   * wait (a Retry-After, a long backoff) is better spent in the spool */
  PUSH_WAIT_MAX_MS = 1000,
};

struct mw_client {
  mw_client_options o; /* strings point at the copies below */
  char *url, *spool_dir, *user_agent;
  mw__push_http *http;
  mw__spool *spool;
  uint64_t rng;
  int failures;             /* consecutive retryable failures */
  int64_t next_attempt_ms;  /* monotonic; no attempt before it */
  long last_status;         /* of the last attempt, 0 for none or no answer */
  long last_retry_after_ms; /* of the last answer, 0 for none */
  pthread_mutex_t mu;       /* guards st: mw_client_stats_get() may come from any thread */
  mw_client_stats st;
};

void mw_client_options_init(mw_client_options *o) {
  memset(o, 0, sizeof *o);
  o->encoding = MW_ENCODING_ZSTD;
  o->compress_min_bytes = 1024;
  o->timeout_ms = 30000;
  o->connect_timeout_ms = 3000;
  o->max_attempts = 3;
  o->backoff_initial_ms = 250;
  o->backoff_max_ms = 30000;
  o->spool_max_bytes = (uint64_t)256 << 20;
  o->spool_max_files = 10000;
}

const char *mw_strerror(int err) {
  switch (err) {
  case 0: return "ok";
  case MW_PUSH_SPOOLED: return "kept in the spool for a later flush";
  case MW_ERR_NOMEM: return "out of memory";
  case MW_ERR_INVAL: return "invalid argument";
  case MW_ERR_CONNECT: return "the collector cannot be reached";
  case MW_ERR_RETRY: return "the collector stayed busy or unavailable through every retry";
  case MW_ERR_REJECTED: return "the collector refused the payload";
  case MW_ERR_SPOOL: return "the spool directory cannot be read or written";
  case MW_ERR_LOCKED: return "the spool directory is in use by another process";
  case MW_ERR_TOOBIG: return "the payload is larger than the spool may hold";
  case MW_ERR_COMPRESS: return "compression failed";
  case MW_ERR_AGAIN: return "payloads remain in the spool";
  default: return "unknown error";
  }
}

/* --- counters and outcomes ----------------------------------------------------- */

#define BUMP(c, field, by)                                                                                             \
  do {                                                                                                                 \
    pthread_mutex_lock(&(c)->mu);                                                                                      \
    (c)->st.field += (by);                                                                                             \
    pthread_mutex_unlock(&(c)->mu);                                                                                    \
  } while (0)

static void tell(mw_client *c, mw_outcome_kind what, const char *kind, long status, size_t bytes, int64_t created) {
  pthread_mutex_lock(&c->mu);
  switch (what) {
  case MW_OUTCOME_DELIVERED:
    c->st.delivered++;
    c->st.bytes_delivered += bytes;
    break;
  case MW_OUTCOME_SPOOLED: c->st.spooled++; break;
  case MW_OUTCOME_REJECTED: c->st.rejected++; break;
  case MW_OUTCOME_DROPPED: c->st.dropped++; break;
  case MW_OUTCOME_FAILED: c->st.failed++; break;
  }
  c->st.spool_files = mw__spool_files(c->spool);
  c->st.spool_bytes = mw__spool_bytes(c->spool);
  pthread_mutex_unlock(&c->mu);
  if (c->o.on_outcome) {
    mw_outcome o = {.outcome = what, .kind = kind, .status = status, .bytes = bytes, .created_ns = created};
    c->o.on_outcome(c->o.user, &o);
  }
}

static void on_spool_drop(void *user, const char *kind, size_t bytes, int64_t created_ns) {
  tell(user, MW_OUTCOME_DROPPED, kind, 0, bytes, created_ns);
}

static void set_backoff(mw_client *c, long wait_ms) { c->next_attempt_ms = mw__client_mono_ms() + wait_ms; }

static void clear_backoff(mw_client *c) {
  c->failures = 0;
  c->next_attempt_ms = 0;
}

/* --- the handle ---------------------------------------------------------------- */

void mw_client_free(mw_client **cp) {
  mw_client *c = cp ? *cp : NULL;
  if (!c) return;
  mw__push_http_free(&c->http);
  mw__spool_close(&c->spool);
  pthread_mutex_destroy(&c->mu);
  free(c->url);
  free(c->spool_dir);
  free(c->user_agent);
  free(c);
  curl_global_cleanup();
  *cp = NULL;
}

int mw_client_new(const mw_client_options *o, mw_client **out) {
  int rc = MW_ERR_INVAL;
  if (!o || !out || !o->url || o->max_attempts < 1 || o->backoff_initial_ms < 1 ||
      o->backoff_max_ms < o->backoff_initial_ms || o->timeout_ms < 1 || o->encoding > MW_ENCODING_IDENTITY)
    return MW_ERR_INVAL;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return MW_ERR_NOMEM;
  mw_client *c = calloc(1, sizeof *c);
  if (!c) {
    curl_global_cleanup();
    return MW_ERR_NOMEM;
  }
  pthread_mutex_init(&c->mu, NULL);
  c->o = *o;
  c->url = strdup(o->url);
  c->user_agent = strdup(o->user_agent ? o->user_agent : "libmeanwhile/" MW_CLIENT_VERSION);
  c->spool_dir = o->spool_dir ? strdup(o->spool_dir) : NULL;
  if (!c->url || !c->user_agent || (o->spool_dir && !c->spool_dir)) {
    rc = MW_ERR_NOMEM;
    goto out;
  }
  c->o.url = c->url;
  c->o.user_agent = c->user_agent;
  c->o.spool_dir = c->spool_dir;
  c->rng = (uint64_t)mw__client_real_ns() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)c;
  if ((rc = mw__push_http_new(c->url, c->user_agent, o->timeout_ms, o->connect_timeout_ms, &c->http))) goto out;
  if (c->spool_dir &&
      (rc = mw__spool_open(c->spool_dir, o->spool_max_bytes, o->spool_max_files, o->spool_fsync, &c->spool)))
    goto out;
  c->st.spool_files = mw__spool_files(c->spool);
  c->st.spool_bytes = mw__spool_bytes(c->spool);
  *out = c;
  c = NULL;
  rc = 0;
out:
  mw_client_free(&c);
  return rc;
}

void mw_client_stats_get(mw_client *c, mw_client_stats *out) {
  pthread_mutex_lock(&c->mu);
  *out = c->st;
  pthread_mutex_unlock(&c->mu);
  int64_t left = c->next_attempt_ms ? c->next_attempt_ms - mw__client_mono_ms() : 0;
  out->backoff_ms = left > 0 ? (long)left : 0;
}

long mw_client_last_response(mw_client *c, const char **body) {
  if (body) *body = mw__push_http_last(c->http);
  return c->last_status;
}

/* --- sending ----------------------------------------------------------------------- */

typedef enum sent { SENT_OK, SENT_RETRY, SENT_REFUSED } sent;

/* One attempt. *wait_ms gets the backoff to apply after a retryable failure. */
static int attempt(mw_client *c, const mw__payload *p, sent *how, long *wait_ms) {
  mw__push_result r;
  if (c->failures > 0) BUMP(c, retries, 1);
  int rc = mw__push_http_post(c->http, p, &r);
  if (rc) return rc;
  c->last_status = r.status;
  c->last_retry_after_ms = r.retry_after_ms;
  if (r.status >= 200 && r.status < 300) {
    clear_backoff(c);
    *how = SENT_OK;
  } else if (r.retryable) {
    c->failures++;
    *wait_ms =
        mw__client_backoff_ms(c->failures, c->o.backoff_initial_ms, c->o.backoff_max_ms, r.retry_after_ms, &c->rng);
    *how = SENT_RETRY;
  } else {
    if (r.status) clear_backoff(c); /* an answer: the collector is up */
    *how = SENT_REFUSED;
  }
  return 0;
}

int mw_client_flush(mw_client *c, long budget_ms) {
  if (!c) return MW_ERR_INVAL;
  int rc = 0;
  mw__payload p = {0};
  int64_t deadline = mw__client_mono_ms() + (budget_ms > 0 ? budget_ms : 0);
  while (mw__spool_files(c->spool)) {
    int64_t now = mw__client_mono_ms();
    if (now < c->next_attempt_ms) {
      if (c->next_attempt_ms > deadline) {
        rc = MW_ERR_AGAIN;
        break;
      }
      mw__client_sleep_ms((long)(c->next_attempt_ms - now));
    }
    rc = mw__spool_peek(c->spool, &p);
    if (rc == MW_ERR_SPOOL) { /* set aside by peek; counted as dropped */
      tell(c, MW_OUTCOME_DROPPED, "unreadable", 0, 0, 0);
      break;
    }
    if (rc) break;
    sent how;
    long wait = 0;
    if ((rc = attempt(c, &p, &how, &wait))) break;
    if (how == SENT_RETRY) {
      set_backoff(c, wait);
    } else {
      mw__spool_pop(c->spool);
      tell(c, how == SENT_OK ? MW_OUTCOME_DELIVERED : MW_OUTCOME_REJECTED, p.kind, c->last_status, p.len, p.created_ns);
    }
    mw__payload_clear(&p);
    if (mw__client_mono_ms() >= deadline) break;
  }
  mw__payload_clear(&p);
  if (!rc && mw__spool_files(c->spool)) rc = MW_ERR_AGAIN;
  return rc;
}

/* Spools p: MW_PUSH_SPOOLED or an error (MW_ERR_TOOBIG: dropped and told). */
static int spool(mw_client *c, const mw__payload *p) {
  int rc = mw__spool_add(c->spool, p, on_spool_drop, c);
  if (rc) return rc;
  tell(c, MW_OUTCOME_SPOOLED, p->kind, c->last_status, p->len, p->created_ns);
  return MW_PUSH_SPOOLED;
}

/* Sends p (which it consumes), retrying, or spools it. */
static int push(mw_client *c, mw__payload *p) {
  int rc;
  BUMP(c, pushed, 1);
  if (c->spool && (mw__spool_files(c->spool) || mw__client_mono_ms() < c->next_attempt_ms)) {
    /* behind older payloads, or the collector is known to be down: keep the order */
    rc = spool(c, p);
    if (rc == MW_PUSH_SPOOLED) mw_client_flush(c, 0);
    goto out;
  }
  sent how = SENT_RETRY;
  long wait = 0;
  /* a handle that is backing off already (no spool to skip to) tries once: a push
   * must not sleep through the long waits of a collector that has been down a while */
  int attempts = mw__client_mono_ms() < c->next_attempt_ms ? 1 : c->o.max_attempts;
  for (int i = 1; i <= attempts; i++) {
    if ((rc = attempt(c, p, &how, &wait))) goto out;
    if (how != SENT_RETRY || i == attempts) break;
    /* the wait between this push's own tries grows with them, from the first step */
    long step = mw__client_backoff_ms(i, c->o.backoff_initial_ms, c->o.backoff_max_ms, c->last_retry_after_ms, &c->rng);
    if (c->spool && step > PUSH_WAIT_MAX_MS) break;
    mw__client_sleep_ms(step);
  }
  if (how == SENT_OK) {
    tell(c, MW_OUTCOME_DELIVERED, p->kind, c->last_status, p->len, p->created_ns);
    rc = 0;
  } else if (how == SENT_REFUSED) {
    tell(c, MW_OUTCOME_REJECTED, p->kind, c->last_status, p->len, p->created_ns);
    rc = c->last_status ? MW_ERR_REJECTED : MW_ERR_INVAL;
  } else {
    set_backoff(c, wait);
    if (c->spool) {
      rc = spool(c, p);
    } else {
      tell(c, MW_OUTCOME_FAILED, p->kind, c->last_status, p->len, p->created_ns);
      rc = c->last_status ? MW_ERR_RETRY : MW_ERR_CONNECT;
    }
  }
out:
  mw__payload_clear(p);
  return rc;
}

/* Fills p's body from the caller's bytes: compressed when that is worth it. */
static int set_body(mw_client *c, mw__payload *p, const void *body, size_t len) {
  if (c->o.encoding != MW_ENCODING_IDENTITY && len >= c->o.compress_min_bytes && !mw__client_is_compressed(body, len)) {
    int rc = mw__client_compress(c->o.encoding, c->o.compression_level, body, len, &p->body, &p->len);
    if (rc) return rc;
    snprintf(p->encoding, sizeof p->encoding, "%s", c->o.encoding == MW_ENCODING_ZSTD ? "zstd" : "gzip");
    return 0;
  }
  if (!(p->body = malloc(len ? len : 1))) return MW_ERR_NOMEM;
  if (len) memcpy(p->body, body, len);
  p->len = len;
  return 0;
}

/* Pushes an OTLP traces request of Content-Type ctype to /v1/traces. */
static int push_spans(mw_client *c, const void *body, size_t len, const char *ctype) {
  if (!c || (!body && len)) return MW_ERR_INVAL;
  mw__payload p = {.created_ns = mw__client_real_ns()};
  snprintf(p.kind, sizeof p.kind, "spans");
  snprintf(p.ctype, sizeof p.ctype, "%s", ctype);
  int rc = MW_ERR_NOMEM;
  if (!(p.target = strdup("/v1/traces"))) goto out;
  if ((rc = set_body(c, &p, body, len))) goto out;
  return push(c, &p);
out:
  mw__payload_clear(&p);
  return rc;
}

int mw_client_push_spans(mw_client *c, const void *body, size_t len) {
  return push_spans(c, body, len, "application/x-protobuf");
}

int mw_client_push_spans_json(mw_client *c, const void *body, size_t len) {
  return push_spans(c, body, len, "application/json");
}

/* Appends "&key=value" (or "?key=value") to t, percent-encoding value; -1 when
 * it does not fit. */
static int add_param(char *t, size_t cap, const char *key, const char *value) {
  static const char hex[] = "0123456789ABCDEF";
  size_t n = strlen(t);
  int w = snprintf(t + n, cap - n, "%s%s=", strchr(t, '?') ? "&" : "?", key);
  if (w < 0 || (size_t)w >= cap - n) return -1;
  n += (size_t)w;
  for (const unsigned char *v = (const unsigned char *)value; *v; v++) {
    int plain = (*v >= 'A' && *v <= 'Z') || (*v >= 'a' && *v <= 'z') || (*v >= '0' && *v <= '9') || *v == '-' ||
                *v == '.' || *v == '_' || *v == '~';
    if (n + 4 > cap) return -1;
    if (plain) {
      t[n++] = (char)*v;
    } else {
      t[n++] = '%';
      t[n++] = hex[*v >> 4];
      t[n++] = hex[*v & 15];
    }
  }
  t[n] = '\0';
  return 0;
}

static int add_int(char *t, size_t cap, const char *key, int64_t v) {
  char num[24];
  if (!v) return 0;
  snprintf(num, sizeof num, "%lld", (long long)v);
  return add_param(t, cap, key, num);
}

static int valid_kind(const char *kind) {
  size_t n = strlen(kind);
  if (n == 0 || n >= MW__KIND_MAX) return 0;
  for (size_t i = 0; i < n; i++)
    if (kind[i] < 'a' || kind[i] > 'z') return 0;
  return 1;
}

int mw_client_push_runtime(mw_client *c, const char *kind, const void *body, size_t len, const mw_runtime_params *rp) {
  if (!c || !kind || !valid_kind(kind) || !rp || !rp->service || !*rp->service || (!body && len)) return MW_ERR_INVAL;
  char target[TARGET_MAX];
  snprintf(target, sizeof target, "/api/v1/ingest/%s", kind);
  int bad = add_param(target, sizeof target, "service", rp->service);
  if (rp->instance && *rp->instance) bad |= add_param(target, sizeof target, "instance", rp->instance);
  bad |= add_int(target, sizeof target, "time", rp->time_ns);
  bad |= add_int(target, sizeof target, "duration", rp->duration_ns);
  bad |= add_int(target, sizeof target, "process_start", rp->process_start_ns);
  if (rp->trigger && *rp->trigger) bad |= add_param(target, sizeof target, "trigger", rp->trigger);
  if (bad) return MW_ERR_INVAL;

  mw__payload p = {.created_ns = mw__client_real_ns()};
  snprintf(p.kind, sizeof p.kind, "%s", kind);
  int rc = MW_ERR_NOMEM;
  if (c->o.runtime_as_otlp) { /* the same parameters, inside an OTLP trace request (carrier.c) */
    uint8_t *otlp = NULL;
    size_t otlp_len = 0;
    snprintf(p.ctype, sizeof p.ctype, "application/x-protobuf");
    if (!(p.target = strdup("/v1/traces"))) goto out;
    if ((rc = mw__carrier_encode(kind, rp, body, len, p.created_ns, &c->rng, &otlp, &otlp_len))) goto out;
    if (mw__client_is_compressed(body, len)) { /* a gzip'd profile: the envelope around it is small */
      p.body = otlp;
      p.len = otlp_len;
    } else {
      rc = set_body(c, &p, otlp, otlp_len);
      free(otlp);
      if (rc) goto out;
    }
    return push(c, &p);
  }
  snprintf(p.ctype, sizeof p.ctype, "%s",
           strcmp(kind, "gctrace") == 0 || strcmp(kind, "schedtrace") == 0 ? "text/plain" : "application/octet-stream");
  if (!(p.target = strdup(target))) goto out;
  if ((rc = set_body(c, &p, body, len))) goto out;
  return push(c, &p);
out:
  mw__payload_clear(&p);
  return rc;
}

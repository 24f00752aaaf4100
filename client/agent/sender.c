/* The agent's sender: one thread that owns the libmeanwhile handle (the
 * library's rule: one thread per handle) and pushes the captures the other
 * threads queue, in order. The queue is bounded in bytes: while the
 * collector is slow, the oldest captures in memory are dropped and counted;
 * while it is down, pushes land in the spool at disk speed, so the queue stays
 * short. When the queue is empty the thread flushes the spool. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

typedef struct item {
  struct item *next;
  char kind[16];
  uint8_t *body;
  size_t len;
  int64_t time_ns, duration_ns, process_start_ns;
  const char *trigger; /* static */
} item;

struct sender {
  mw_client *client;
  char *service, *instance;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  item *head, *tail; /* guarded by mu */
  size_t bytes, max_bytes;
  int stopping;
  int pushing; /* the sender thread is in push_item: a refusal is logged there, with the answer */
  int64_t drain_ms;
  unsigned requests;               /* guarded by mu: rules' requests not yet taken (bit i: agent_rule_names[i]) */
  void (*on_requests)(void *user); /* guarded by mu */
  void *on_requests_user;
};

const char *const agent_rule_names[AGENT_RULES] = {"heap_growth", "goroutine_growth", "gc_cpu", "pause_p99"};

/* The rules named in an answer's "requests" array ({"requests":[{"rule":
 * "heap_growth",...}],...}: docs/API.md, "Early warning"). Unknown names are
 * left out: a newer collector's rule is not this agent's to act on. */
static unsigned answer_requests(const char *answer) {
  const char *p = answer ? strstr(answer, "\"requests\":[") : NULL;
  if (!p) return 0;
  const char *end = strchr(p, ']');
  unsigned bits = 0;
  for (int i = 0; i < AGENT_RULES && end; i++) {
    char key[64];
    snprintf(key, sizeof key, "\"rule\":\"%s\"", agent_rule_names[i]);
    const char *k = strstr(p, key);
    if (k && k < end) bits |= 1u << i;
  }
  return bits;
}

static void on_outcome(void *user, const mw_outcome *o) {
  const sender *s = user;
  static const int stat[] = {[MW_OUTCOME_DELIVERED] = STAT_DELIVERED,
                             [MW_OUTCOME_SPOOLED] = STAT_SPOOLED,
                             [MW_OUTCOME_REJECTED] = STAT_REJECTED,
                             [MW_OUTCOME_DROPPED] = STAT_DROPPED,
                             [MW_OUTCOME_FAILED] = STAT_FAILED};
  agent_stats_add(o->kind, stat[o->outcome], 1);
  if (o->outcome == MW_OUTCOME_REJECTED && !s->pushing)
    agent_log(LOG_WARN, "the collector refused a payload", "kind=%s status=%ld bytes=%zu", o->kind, o->status,
              o->bytes);
  else if (o->outcome == MW_OUTCOME_DROPPED)
    agent_log(LOG_WARN, "the spool is full: dropped its oldest payload", "kind=%s bytes=%zu", o->kind, o->bytes);
}

static void push_item(sender *s, item *it) {
  mw_runtime_params p = {.service = s->service,
                         .instance = s->instance,
                         .time_ns = it->time_ns,
                         .duration_ns = it->duration_ns,
                         .process_start_ns = it->process_start_ns,
                         .trigger = it->trigger};
  s->pushing = 1;
  int rc = mw_client_push_runtime(s->client, it->kind, it->body, it->len, &p);
  s->pushing = 0;
  if (rc == 0) { /* the answer may carry the collector's requests */
    const char *answer = NULL;
    mw_client_last_response(s->client, &answer);
    unsigned bits = answer_requests(answer);
    if (bits) {
      /* called under the lock: once sender_on_requests(NULL) returns, no call is under way */
      pthread_mutex_lock(&s->mu);
      s->requests |= bits;
      if (s->on_requests) s->on_requests(s->on_requests_user);
      pthread_mutex_unlock(&s->mu);
    }
  }
  if (rc == MW_ERR_REJECTED) {
    const char *answer = NULL;
    long status = mw_client_last_response(s->client, &answer);
    char quoted[512];
    agent_quote(quoted, sizeof quoted, answer ? answer : "");
    agent_log(LOG_WARN, "the collector refused a payload", "kind=%s status=%ld bytes=%zu answer=%s", it->kind, status,
              it->len, quoted);
  } else if (rc < 0 && rc != MW_ERR_TOOBIG) { /* a payload too big was reported by on_outcome */
    agent_log(LOG_WARN, "push failed", "kind=%s error=\"%s\"", it->kind, mw_strerror(rc));
  }
  free(it->body);
  free(it);
}

static void *run(void *arg) {
  sender *s = arg;
  int was_backing_off = 0;
  pthread_mutex_lock(&s->mu);
  for (;;) {
    item *it = s->head;
    if (it) {
      s->head = it->next;
      if (!s->head) s->tail = NULL;
      s->bytes -= it->len;
      pthread_mutex_unlock(&s->mu);
      push_item(s, it);
      pthread_mutex_lock(&s->mu);
      continue;
    }
    if (s->stopping) break;
    pthread_mutex_unlock(&s->mu);
    /* the queue is empty: work on the spool for a while */
    int frc = mw_client_flush(s->client, 500);
    mw_client_stats st;
    mw_client_stats_get(s->client, &st);
    if (st.backoff_ms && !was_backing_off)
      agent_log(LOG_WARN, "the collector is unreachable: spooling", "spool_files=%llu retry_in_ms=%ld",
                (unsigned long long)st.spool_files, st.backoff_ms);
    else if (!st.backoff_ms && was_backing_off && frc == 0)
      agent_log(LOG_INFO, "the collector is back: spool delivered", "delivered=%llu", (unsigned long long)st.delivered);
    was_backing_off = st.backoff_ms != 0 || (frc == MW_ERR_AGAIN && st.spool_files);
    long wait_ms = frc == MW_ERR_AGAIN ? (st.backoff_ms && st.backoff_ms < 1000 ? st.backoff_ms : 1000) : 1000;
    if (frc == MW_ERR_AGAIN && !st.backoff_ms) wait_ms = 0; /* the budget ran out: go on soon */
    pthread_mutex_lock(&s->mu);
    if (!s->head && !s->stopping && wait_ms > 0) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_sec += wait_ms / 1000;
      ts.tv_nsec += (wait_ms % 1000) * 1000000L;
      if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
      pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    }
  }
  pthread_mutex_unlock(&s->mu);
  /* the queue is empty and no more will come: give the spool its time */
  int64_t deadline = agent_mono_ms() + s->drain_ms;
  for (;;) {
    int64_t left = deadline - agent_mono_ms();
    if (left <= 0) break;
    int frc = mw_client_flush(s->client, (long)left);
    if (frc != MW_ERR_AGAIN) break;
    mw_client_stats st;
    mw_client_stats_get(s->client, &st);
    if (st.backoff_ms > deadline - agent_mono_ms()) break; /* the next try would be too late */
  }
  return NULL;
}

int sender_start(const agent_config *cfg, sender **out, char *err, size_t errsz) {
  sender *s = calloc(1, sizeof *s);
  if (!s) return snprintf(err, errsz, "out of memory"), -1;
  mw_client_options o;
  mw_client_options_init(&o);
  o.url = cfg->collector;
  o.encoding = cfg->encoding;
  o.runtime_as_otlp = cfg->otlp_runtime;
  o.spool_dir = cfg->spool_dir;
  o.spool_max_bytes = cfg->spool_max_bytes;
  o.spool_max_files = (size_t)cfg->spool_max_files;
  o.backoff_max_ms = cfg->backoff_max_ms;
  if (o.backoff_initial_ms > o.backoff_max_ms) o.backoff_initial_ms = o.backoff_max_ms;
  o.user_agent = "meanwhile-agent/" MW_CLIENT_VERSION;
  o.on_outcome = on_outcome;
  o.user = s;
  int rc = mw_client_new(&o, &s->client);
  char own[4200];
  if (rc == MW_ERR_LOCKED && cfg->spool_dir_default) { /* another agent of the same service on this host */
    snprintf(own, sizeof own, "%s-%ld", cfg->spool_dir, (long)getpid());
    agent_log(LOG_WARN, "the spool is in use by another agent: using one of our own", "spool_dir=%s", own);
    o.spool_dir = own;
    rc = mw_client_new(&o, &s->client);
  }
  if (rc) {
    snprintf(err, errsz, "cannot set up the collector client%s%s: %s", cfg->spool_dir ? " with the spool " : "",
             cfg->spool_dir ? cfg->spool_dir : "", mw_strerror(rc));
    free(s);
    return -1;
  }
  s->service = strdup(cfg->service);
  s->instance = cfg->instance ? strdup(cfg->instance) : NULL;
  s->max_bytes = (size_t)cfg->queue_max_bytes;
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cv, NULL);
  if (!s->service || pthread_create(&s->thread, NULL, run, s)) {
    snprintf(err, errsz, "cannot start the sender thread");
    mw_client_free(&s->client);
    free(s->service);
    free(s->instance);
    free(s);
    return -1;
  }
  mw_client_stats st;
  mw_client_stats_get(s->client, &st);
  if (st.spool_files)
    agent_log(LOG_INFO, "the spool holds payloads of an earlier run: sending them", "spool_dir=%s files=%llu",
              cfg->spool_dir, (unsigned long long)st.spool_files);
  *out = s;
  return 0;
}

void sender_enqueue(sender *s, const char *kind, uint8_t *body, size_t len, int64_t time_ns, int64_t duration_ns,
                    int64_t process_start_ns, const char *trigger) {
  item *it = calloc(1, sizeof *it);
  if (!it) {
    free(body);
    agent_stats_add(kind, STAT_QUEUE_DROPPED, 1);
    return;
  }
  snprintf(it->kind, sizeof it->kind, "%s", kind);
  it->body = body;
  it->len = len;
  it->time_ns = time_ns;
  it->duration_ns = duration_ns;
  it->process_start_ns = process_start_ns;
  it->trigger = trigger;
  agent_stats_add(kind, STAT_CAPTURED, 1);
  item *dropped = NULL;
  pthread_mutex_lock(&s->mu);
  if (s->tail) s->tail->next = it;
  else s->head = it;
  s->tail = it;
  s->bytes += len;
  while (s->bytes > s->max_bytes && s->head != it) { /* the newest always gets in */
    item *old = s->head;
    s->head = old->next;
    s->bytes -= old->len;
    old->next = dropped;
    dropped = old;
  }
  pthread_cond_signal(&s->cv);
  pthread_mutex_unlock(&s->mu);
  while (dropped) {
    item *next = dropped->next;
    agent_stats_add(dropped->kind, STAT_QUEUE_DROPPED, 1);
    agent_log(LOG_WARN, "the send queue is full: dropped the oldest capture", "kind=%s bytes=%zu", dropped->kind,
              dropped->len);
    free(dropped->body);
    free(dropped);
    dropped = next;
  }
}

void sender_on_requests(sender *s, void (*cb)(void *user), void *user) {
  pthread_mutex_lock(&s->mu);
  s->on_requests = cb;
  s->on_requests_user = user;
  pthread_mutex_unlock(&s->mu);
}

unsigned sender_take_requests(sender *s) {
  pthread_mutex_lock(&s->mu);
  unsigned bits = s->requests;
  s->requests = 0;
  pthread_mutex_unlock(&s->mu);
  return bits;
}

void sender_client_stats(sender *s, mw_client_stats *out) { mw_client_stats_get(s->client, out); }

void sender_stop(sender **sp, int64_t drain_ms, mw_client_stats *final) {
  sender *s = sp ? *sp : NULL;
  if (!s) return;
  pthread_mutex_lock(&s->mu);
  s->stopping = 1;
  s->drain_ms = drain_ms;
  pthread_cond_signal(&s->cv);
  pthread_mutex_unlock(&s->mu);
  pthread_join(s->thread, NULL);
  mw_client_stats st;
  mw_client_stats_get(s->client, &st);
  if (final) *final = st;
  if (st.spool_files)
    agent_log(LOG_WARN, "payloads are left in the spool for the next run", "files=%llu bytes=%llu",
              (unsigned long long)st.spool_files, (unsigned long long)st.spool_bytes);
  mw_client_free(&s->client);
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->cv);
  free(s->service);
  free(s->instance);
  free(s);
  *sp = NULL;
}

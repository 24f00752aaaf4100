/* What every request of the soak came to, kept behind one mutex.
 *
 * Two views of the same events: a log of (end time, latency, class, kind), 12
 * bytes a request (30 minutes at 100 ingest requests a second plus the rest
 * is ~3 MB), from which any window's percentiles are computed exactly when
 * asked; and counters per second of the run, which make the per-second CSV
 * rows without scanning the log. A request belongs to the second (and the
 * minute) in which it ended, so that a row written just after its second has
 * everything that belongs to it; spans_sent goes by the second a request
 * began (sk_record_sent, called as it begins). Requests that end after the
 * run's last second count in it.
 *
 * The rates are small (about 115 requests a second in all) so one mutex is no
 * contention; the sending threads call sk_record from bi_send_cfg.on_request. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "soak.h"

typedef struct entry {
  float t_end, ms;
  uint8_t cls, kind;
} entry;

/* A minute of acknowledged batches at 10,000 spans/s (100 a second). */
enum { RECENT = 6000 };

static struct {
  pthread_mutex_t mu;
  entry *log;
  size_t n, cap;
  sk_second *sec;
  int n_sec;
  double late_max[SK_NCLASSES];
  uint64_t kind_errors[SK_NCLASSES][(int)SQ_NKINDS > (int)SR_NKINDS ? (int)SQ_NKINDS : (int)SR_NKINDS];
  char first_error[SK_NCLASSES][256];
  struct {
    uint64_t trace_k;
    uint32_t n_traces;
  } recent[RECENT];
  size_t recent_n; /* added so far; the ring holds the last RECENT */
} g = {.mu = PTHREAD_MUTEX_INITIALIZER};

const char *sk_class_name(int cls) {
  static const char *const names[] = {"ingest", "query", "runtime"};
  return cls >= 0 && cls < SK_NCLASSES ? names[cls] : "?";
}

const char *sk_query_name(int kind) {
  static const char *const names[] = {"trace_by_id", "search", "services", "operations", "timeline", "explain"};
  return kind >= 0 && kind < SQ_NKINDS ? names[kind] : "?";
}

const char *sk_runtime_name(int kind) {
  static const char *const names[] = {"stderr", "goroutine_profile", "cpu_profile", "goroutine_dump"};
  return kind >= 0 && kind < SR_NKINDS ? names[kind] : "?";
}

int sk_rec_init(double seconds) {
  g.n_sec = seconds > 1 ? (int)ceil(seconds) : 1;
  g.sec = calloc((size_t)g.n_sec, sizeof *g.sec);
  g.cap = 1 << 16;
  g.log = malloc(g.cap * sizeof *g.log);
  if (!g.sec || !g.log) {
    sk_rec_free();
    return -1;
  }
  return 0;
}

void sk_rec_free(void) {
  free(g.sec);
  free(g.log);
  g.sec = NULL;
  g.log = NULL;
  g.n = g.cap = 0;
}

static int second_of(double t) {
  int s = t < 0 ? 0 : (int)t;
  return s < g.n_sec ? s : g.n_sec - 1;
}

void sk_record(const sk_outcome *o) {
  /* from when it was due: a request that had to wait for a free connection
   * waited for the server too (no coordinated omission) */
  double ms = (o->end_s - o->due_s) * 1e3;
  double late = o->start_s - o->due_s;
  pthread_mutex_lock(&g.mu);
  if (g.n == g.cap) {
    entry *bigger = realloc(g.log, 2 * g.cap * sizeof *bigger);
    if (bigger) { /* else this sample is lost; the counters below still count it */
      g.log = bigger;
      g.cap *= 2;
    }
  }
  if (g.n < g.cap) g.log[g.n++] = (entry){(float)o->end_s, (float)ms, (uint8_t)o->cls, (uint8_t)o->kind};
  sk_second *s = &g.sec[second_of(o->end_s)];
  s->req[o->cls]++;
  if (ms > s->max_ms[o->cls]) s->max_ms[o->cls] = (float)ms;
  if (!o->ok) {
    s->errors[o->cls]++;
    if (o->cls != SK_INGEST) g.kind_errors[o->cls][o->kind]++;
  }
  if (late > SK_LATE_S) s->late[o->cls]++;
  if (late * 1e3 > g.late_max[o->cls]) g.late_max[o->cls] = late * 1e3;
  s->refusals += o->refusals;
  s->spans_acked += o->spans_ok;
  pthread_mutex_unlock(&g.mu);
}

void sk_record_sent(double start_s, uint32_t spans) {
  pthread_mutex_lock(&g.mu);
  g.sec[second_of(start_s)].spans_sent += spans;
  pthread_mutex_unlock(&g.mu);
}

void sk_rec_note_error(int cls, const char *fmt, ...) {
  pthread_mutex_lock(&g.mu);
  if (!g.first_error[cls][0]) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g.first_error[cls], sizeof g.first_error[cls], fmt, ap);
    va_end(ap);
  }
  pthread_mutex_unlock(&g.mu);
}

const char *sk_rec_first_error(int cls) { return g.first_error[cls]; }

static int cmp_f(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

/* Nearest rank on sorted v. */
static double rank(const float *v, size_t n, double p) {
  size_t r = (size_t)ceil(p * (double)n);
  return v[r ? r - 1 : 0];
}

sk_lat sk_rec_latency(int cls, int kind, double t0, double t1) {
  sk_lat out = {0};
  pthread_mutex_lock(&g.mu);
  float *v = malloc((g.n ? g.n : 1) * sizeof *v);
  size_t n = 0;
  for (size_t i = 0; v && i < g.n; i++) {
    const entry *e = &g.log[i];
    if (e->cls == cls && (kind < 0 || e->kind == kind) && e->t_end >= t0 && e->t_end < t1) v[n++] = e->ms;
  }
  pthread_mutex_unlock(&g.mu);
  if (v && n) {
    qsort(v, n, sizeof *v, cmp_f);
    out.n = n;
    out.p50 = rank(v, n, 0.50);
    out.p99 = rank(v, n, 0.99);
    out.max = v[n - 1];
  }
  free(v);
  return out;
}

sk_second sk_rec_seconds(int s0, int s1) {
  sk_second sum = {0};
  pthread_mutex_lock(&g.mu);
  for (int i = s0 < 0 ? 0 : s0; i < s1 && i < g.n_sec; i++) {
    const sk_second *s = &g.sec[i];
    sum.spans_sent += s->spans_sent;
    sum.spans_acked += s->spans_acked;
    sum.refusals += s->refusals;
    for (int c = 0; c < SK_NCLASSES; c++) {
      sum.req[c] += s->req[c];
      sum.errors[c] += s->errors[c];
      sum.late[c] += s->late[c];
      if (s->max_ms[c] > sum.max_ms[c]) sum.max_ms[c] = s->max_ms[c];
    }
  }
  pthread_mutex_unlock(&g.mu);
  return sum;
}

double sk_rec_late_max_ms(int cls) {
  pthread_mutex_lock(&g.mu);
  double v = g.late_max[cls];
  pthread_mutex_unlock(&g.mu);
  return v;
}

uint64_t sk_rec_kind_errors(int cls, int kind) {
  pthread_mutex_lock(&g.mu);
  uint64_t v = g.kind_errors[cls][kind];
  pthread_mutex_unlock(&g.mu);
  return v;
}

void sk_recent_add(uint64_t trace_k, uint32_t n_traces) {
  pthread_mutex_lock(&g.mu);
  size_t i = g.recent_n++ % RECENT;
  g.recent[i].trace_k = trace_k;
  g.recent[i].n_traces = n_traces;
  pthread_mutex_unlock(&g.mu);
}

int sk_recent_pick(uint64_t *rng, uint64_t *trace_k) {
  pthread_mutex_lock(&g.mu);
  size_t have = g.recent_n < RECENT ? g.recent_n : RECENT;
  int found = 0;
  if (have) {
    size_t back = (size_t)(bi_rand64(rng) % have); /* 0 = the newest */
    size_t i = (g.recent_n - 1 - back) % RECENT;
    uint32_t nt = g.recent[i].n_traces ? g.recent[i].n_traces : 1;
    *trace_k = g.recent[i].trace_k + bi_rand64(rng) % nt;
    found = 1;
  }
  pthread_mutex_unlock(&g.mu);
  return found;
}

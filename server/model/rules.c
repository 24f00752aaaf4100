/* Early-warning rules (see rules.h).
 *
 * Each source keeps, per window, NB buckets of window/NB each: the low of the
 * heap (and of goroutines) in the bucket, the GC CPU and bytes allocated in
 * it; and the last MAX_PAUSES pauses. "Within W" is then the buckets of the
 * last W: a value is compared with the lowest of those, so that memory and
 * work per source stay constant however many cycles a second arrive, at the
 * price of the window's edge being a bucket wide (W/32). Sources are few
 * (--rules-max-sources) and found by a linear scan of ids: cheaper than a
 * hash at that size and with no rehash to bound. */
#include "model/rules.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { NB = 32, MAX_PAUSES = 256 }; /* k = n - ceil(0.99 n) is at most 2 while n <= 256 */

/* A rule that fired re-arms once its value falls below this share of its
 * threshold (hysteresis), or else after the cooldown. */
#define REARM 0.9

typedef struct lows {
  int64_t idx[NB]; /* bucket number (time / width), -1: empty */
  double low[NB];
} lows;

typedef struct sums {
  int64_t idx[NB];
  double sum[NB];
} sums;

typedef struct rule_state {
  int fired;         /* disarmed since it fired, until its value clears */
  int64_t last_fire; /* data time; 0: never */
  int64_t pending;   /* data time of a request not yet taken; 0: none */
} rule_state;

typedef struct source {
  int64_t id;
  uint64_t fed; /* the rules' clock when last fed: the least recent goes first */
  char service[128], instance[128];
  int named;
  int64_t first_ns; /* first data seen, unix ns */
  lows heap, gor;
  sums gc_cpu, alloc;  /* CPU ns x procs share: ns of GC CPU, and bytes allocated */
  int64_t gc_first_ns; /* first cycle fed (after warm-up), for windows not yet full */
  int64_t last_cycle_ns, last_heap_after;
  int procs;
  int64_t heap_live, heap_goal, goroutines;
  int64_t pause_t[MAX_PAUSES], pause_ns[MAX_PAUSES];
  size_t n_pauses, pause_next;
  rule_state rs[MW_RULE__N];
} source;

struct mw_rules {
  mw_rules_opts o;
  pthread_mutex_t mu;
  source *src;
  size_t n;
  uint64_t clock;
};

static const char *const names[MW_RULE__N] = {"heap_growth", "goroutine_growth", "gc_cpu", "pause_p99"};

const char *mw__rule_name(enum mw_rule r) { return (unsigned)r < MW_RULE__N ? names[r] : NULL; }

mw_rules *mw__rules_new(const mw_rules_opts *o) {
  mw_rules *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->o = *o;
  if (!r->o.max_sources) r->o.max_sources = 1;
  if (!(r->src = calloc(r->o.max_sources, sizeof *r->src))) {
    free(r);
    return NULL;
  }
  pthread_mutex_init(&r->mu, NULL);
  return r;
}

void mw__rules_free(mw_rules *r) {
  if (!r) return;
  pthread_mutex_destroy(&r->mu);
  free(r->src);
  free(r);
}

/* --- windows ------------------------------------------------------------------------ */

static int64_t bucket(int64_t t, int64_t window) {
  int64_t w = window / NB > 0 ? window / NB : 1;
  return t / w;
}

static void lows_reset(lows *l) {
  for (int i = 0; i < NB; i++) l->idx[i] = -1;
}

static void lows_add(lows *l, int64_t window, int64_t t, double v) {
  int64_t b = bucket(t, window);
  int k = (int)(b % NB);
  if (l->idx[k] != b) l->idx[k] = b, l->low[k] = v;
  else if (v < l->low[k]) l->low[k] = v;
}

/* The lowest value of the buckets within window of t; -1 when none. */
static double lows_min(const lows *l, int64_t window, int64_t t) {
  int64_t b = bucket(t, window);
  double m = -1;
  for (int i = 0; i < NB; i++)
    if (l->idx[i] >= 0 && l->idx[i] > b - NB && l->idx[i] <= b && (m < 0 || l->low[i] < m)) m = l->low[i];
  return m;
}

static void sums_reset(sums *s) {
  for (int i = 0; i < NB; i++) s->idx[i] = -1;
}

static void sums_add(sums *s, int64_t window, int64_t t, double v) {
  int64_t b = bucket(t, window);
  int k = (int)(b % NB);
  if (s->idx[k] != b) s->idx[k] = b, s->sum[k] = 0;
  s->sum[k] += v;
}

static double sums_total(const sums *s, int64_t window, int64_t t) {
  int64_t b = bucket(t, window);
  double sum = 0;
  for (int i = 0; i < NB; i++)
    if (s->idx[i] >= 0 && s->idx[i] > b - NB && s->idx[i] <= b) sum += s->sum[i];
  return sum;
}

/* --- sources ------------------------------------------------------------------------ */

static source *find(mw_rules *r, int64_t id) {
  for (size_t i = 0; i < r->n; i++)
    if (r->src[i].id == id) return &r->src[i];
  return NULL;
}

static source *get(mw_rules *r, int64_t id) {
  source *s = find(r, id);
  if (s) return s;
  if (r->n < r->o.max_sources) s = &r->src[r->n++];
  else { /* full: the one fed least recently makes room */ s = &r->src[0];
    for (size_t i = 1; i < r->n; i++)
      if (r->src[i].fed < s->fed) s = &r->src[i];
  }
  memset(s, 0, sizeof *s);
  s->id = id;
  s->heap_live = s->heap_goal = s->goroutines = -1;
  s->last_heap_after = -1;
  lows_reset(&s->heap);
  lows_reset(&s->gor);
  sums_reset(&s->gc_cpu);
  sums_reset(&s->alloc);
  return s;
}

int mw__rules_known(mw_rules *r, int64_t source_id) {
  pthread_mutex_lock(&r->mu);
  source *s = find(r, source_id);
  int known = s && s->named;
  pthread_mutex_unlock(&r->mu);
  return known;
}

/* --- feeding ------------------------------------------------------------------------ */

static void feed_cycle(const mw_rules_opts *o, source *s, const mw_gc_cycle *g) {
  int64_t t = g->start_ns;
  s->heap_live = g->heap_live;
  s->heap_goal = g->goal;
  int64_t pauses[2] = {g->stw_sweep_term_ns, g->stw_mark_term_ns};
  int warm = g->offset_ns >= o->warmup_ns;
  if (warm && !s->gc_first_ns) s->gc_first_ns = t;
  if (warm) {
    lows_add(&s->heap, o->heap_window_ns, t, (double)g->heap_live);
    double cpu =
        (double)g->stw1_cpu_ns + (double)g->assist_cpu_ns + (double)g->background_cpu_ns + (double)g->stw2_cpu_ns;
    sums_add(&s->gc_cpu, o->gc_window_ns, t, cpu);
    /* bytes allocated between the last cycle's end and this one's start */
    if (s->last_heap_after >= 0 && g->heap_before >= s->last_heap_after)
      sums_add(&s->alloc, o->gc_window_ns, t, (double)(g->heap_before - s->last_heap_after));
  }
  for (int k = 0; k < 2; k++) {
    s->pause_t[s->pause_next] = t;
    s->pause_ns[s->pause_next] = pauses[k];
    s->pause_next = (s->pause_next + 1) % MAX_PAUSES;
    if (s->n_pauses < MAX_PAUSES) s->n_pauses++;
  }
  s->last_heap_after = g->heap_after;
  s->procs = g->procs > 0 ? g->procs : 1;
  if (t > s->last_cycle_ns) s->last_cycle_ns = t;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* The p50 and p99 (nearest rank) of the pauses within the GC window, for
 * /metrics: sorted, as a scrape is rare. */
static void pause_quantiles(const mw_rules_opts *o, const source *s, int64_t *p50, int64_t *p99) {
  int64_t v[MAX_PAUSES];
  size_t n = 0;
  for (size_t i = 0; i < s->n_pauses; i++)
    if (s->pause_t[i] > s->last_cycle_ns - o->gc_window_ns) v[n++] = s->pause_ns[i];
  *p50 = *p99 = -1;
  if (!n) return;
  qsort(v, n, sizeof *v, cmp_i64);
  *p50 = v[(size_t)ceil(0.50 * (double)n) - 1];
  *p99 = v[(size_t)ceil(0.99 * (double)n) - 1];
}

/* The same p99 for the rule, on every batch: the p99 by nearest rank of at
 * most MAX_PAUSES values is their k-th largest for k <= 3, kept in one pass
 * instead of a sort. */
static int64_t pause_p99(const mw_rules_opts *o, const source *s) {
  int64_t top[3] = {-1, -1, -1}; /* largest first */
  size_t n = 0;
  for (size_t i = 0; i < s->n_pauses; i++) {
    if (s->pause_t[i] <= s->last_cycle_ns - o->gc_window_ns) continue;
    int64_t v = s->pause_ns[i];
    n++;
    if (v > top[2]) {
      top[2] = v;
      if (top[2] > top[1]) top[2] = top[1], top[1] = v;
      if (top[1] > top[0]) top[1] = top[0], top[0] = v;
    }
  }
  if (!n) return -1;
  size_t k = n - (size_t)ceil(0.99 * (double)n); /* 0-based from the largest */
  return top[k];
}

/* The span the GC window covers so far: the window, or less while the
 * source's first cycles are more recent than that. */
static double gc_span_ns(const mw_rules_opts *o, const source *s) {
  if (!s->gc_first_ns) return 0;
  int64_t seen = s->last_cycle_ns - s->gc_first_ns;
  return (double)(seen < o->gc_window_ns ? seen : o->gc_window_ns);
}

static double gc_cpu_fraction(const mw_rules_opts *o, const source *s) {
  double span = gc_span_ns(o, s);
  if (span <= 0) return -1;
  return sums_total(&s->gc_cpu, o->gc_window_ns, s->last_cycle_ns) / (span * s->procs);
}

static double alloc_rate(const mw_rules_opts *o, const source *s) {
  double span = gc_span_ns(o, s);
  if (span <= 0) return -1;
  return sums_total(&s->alloc, o->gc_window_ns, s->last_cycle_ns) / (span / 1e9);
}

static const char *mib(char *buf, size_t n, double bytes) {
  snprintf(buf, n, "%.1f MiB", bytes / 1048576.0);
  return buf;
}

static const char *dur(char *buf, size_t n, int64_t ns) {
  if (ns >= 60000000000LL && ns % 60000000000LL == 0) snprintf(buf, n, "%lldm", (long long)(ns / 60000000000LL));
  else if (ns >= 1000000000LL) snprintf(buf, n, "%.3gs", (double)ns / 1e9);
  else snprintf(buf, n, "%.3gms", (double)ns / 1e6);
  return buf;
}

/* Applies hysteresis and cooldown to a rule whose value is v against
 * threshold th (holds when v >= th); fills *e and returns 1 when it fires. */
static int judge(const mw_rules_opts *o, source *s, enum mw_rule rule, int64_t t, double v, double th,
                 mw_rule_event *e) {
  rule_state *rs = &s->rs[rule];
  if (v < th) {
    if (v < th * REARM) rs->fired = 0;
    return 0;
  }
  if (rs->fired && t - rs->last_fire < o->cooldown_ns) return 0;
  rs->fired = 1;
  rs->last_fire = t;
  rs->pending = t;
  *e = (mw_rule_event){.rule = rule, .time_ns = t, .value = v, .threshold = th};
  return 1;
}

size_t mw__rules_feed(mw_rules *r, int64_t source_id, const char *service, const char *instance,
                      const mw_runtime_batch *b, mw_rule_event out[MW_RULE__N]) {
  const mw_rules_opts *o = &r->o;
  size_t n = 0;
  char x[32], y[32], w[32];
  pthread_mutex_lock(&r->mu);
  source *s = get(r, source_id);
  s->fed = ++r->clock;
  if (service && !s->named) {
    snprintf(s->service, sizeof s->service, "%s", service);
    snprintf(s->instance, sizeof s->instance, "%s", instance ? instance : "");
    s->named = 1;
  }
  for (size_t i = 0; i < b->n_gc; i++) {
    if (!s->first_ns || b->gc[i].start_ns < s->first_ns) s->first_ns = b->gc[i].start_ns;
    feed_cycle(o, s, &b->gc[i]);
  }
  if (b->n_gc) {
    int64_t t = s->last_cycle_ns;
    double low = lows_min(&s->heap, o->heap_window_ns, t);
    /* gctrace prints whole MiB: a small heap reads 0, which grows by no factor */
    if (low >= 0 && low < 1048576.0) low = 1048576.0;
    if (o->heap_factor > 0 && low > 0 && (uint64_t)s->heap_live >= o->heap_min_bytes &&
        judge(o, s, MW_RULE_HEAP, t, (double)s->heap_live, o->heap_factor * low, &out[n])) {
      snprintf(out[n].message, sizeof out[n].message, "heap live grew from %s to %s (x%.2f) within %s (rule: x%g)",
               mib(x, sizeof x, low), mib(y, sizeof y, (double)s->heap_live), (double)s->heap_live / low,
               dur(w, sizeof w, o->heap_window_ns), o->heap_factor);
      n++;
    }
    double f = o->gc_cpu_percent > 0 ? gc_cpu_fraction(o, s) : -1;
    /* a window less than half full says little: a young process's first cycles */
    if (o->gc_cpu_percent > 0 && f >= 0 && gc_span_ns(o, s) * 2 >= (double)o->gc_window_ns &&
        judge(o, s, MW_RULE_GC_CPU, t, f * 100, o->gc_cpu_percent, &out[n])) {
      snprintf(out[n].message, sizeof out[n].message, "GC used %.1f%% of the CPU over the last %s (rule: over %g%%)",
               f * 100, dur(w, sizeof w, o->gc_window_ns), o->gc_cpu_percent);
      n++;
    }
    int64_t p99 = o->pause_p99_ns > 0 ? pause_p99(o, s) : -1;
    if (o->pause_p99_ns > 0 && p99 >= 0 &&
        judge(o, s, MW_RULE_PAUSE, t, (double)p99, (double)o->pause_p99_ns, &out[n])) {
      snprintf(out[n].message, sizeof out[n].message, "GC pause p99 %s over the last %s (rule: over %s)",
               dur(x, sizeof x, p99), dur(w, sizeof w, o->gc_window_ns), dur(y, sizeof y, o->pause_p99_ns));
      n++;
    }
  }
  if (b->kind && strcmp(b->kind, "goroutine") == 0 && b->total >= 0) {
    int64_t t = b->at_ns;
    if (!s->first_ns || t < s->first_ns) s->first_ns = t;
    s->goroutines = b->total;
    if (t - s->first_ns >= o->warmup_ns) lows_add(&s->gor, o->goroutine_window_ns, t, (double)b->total);
    double low = lows_min(&s->gor, o->goroutine_window_ns, t);
    if (low >= 0 && low < 1) low = 1; /* an empty profile */
    if (o->goroutine_factor > 0 && low > 0 && (uint64_t)b->total >= o->goroutine_min &&
        judge(o, s, MW_RULE_GOROUTINES, t, (double)b->total, o->goroutine_factor * low, &out[n])) {
      snprintf(out[n].message, sizeof out[n].message, "goroutines grew from %.0f to %lld (x%.2f) within %s (rule: x%g)",
               low, (long long)b->total, (double)b->total / low, dur(w, sizeof w, o->goroutine_window_ns),
               o->goroutine_factor);
      n++;
    }
  }
  pthread_mutex_unlock(&r->mu);
  return n;
}

unsigned mw__rules_take(mw_rules *r, int64_t source_id, int64_t now_ns) {
  unsigned bits = 0;
  pthread_mutex_lock(&r->mu);
  source *s = find(r, source_id);
  for (int i = 0; s && i < MW_RULE__N; i++) {
    if (s->rs[i].pending && now_ns - s->rs[i].pending <= r->o.cooldown_ns) bits |= 1u << i;
    s->rs[i].pending = 0;
  }
  pthread_mutex_unlock(&r->mu);
  return bits;
}

static int by_fed_desc(const void *a, const void *b) {
  uint64_t x = ((const source *const *)a)[0]->fed, y = ((const source *const *)b)[0]->fed;
  return (x < y) - (x > y);
}

size_t mw__rules_gauges(mw_rules *r, mw_rules_gauges *out, size_t max) {
  pthread_mutex_lock(&r->mu);
  source **order = malloc((r->n + 1) * sizeof *order);
  size_t n = 0;
  if (order) {
    for (size_t i = 0; i < r->n; i++)
      if (r->src[i].named) order[n++] = &r->src[i];
    qsort(order, n, sizeof *order, by_fed_desc);
    if (n > max) n = max;
    for (size_t i = 0; i < n; i++) {
      const source *s = order[i];
      mw_rules_gauges *g = &out[i];
      g->source_id = s->id;
      memcpy(g->service, s->service, sizeof g->service);
      memcpy(g->instance, s->instance, sizeof g->instance);
      g->heap_live = s->heap_live;
      g->heap_goal = s->heap_goal;
      g->goroutines = s->goroutines;
      g->gc_cpu_fraction = gc_cpu_fraction(&r->o, s);
      pause_quantiles(&r->o, s, &g->pause_p50_ns, &g->pause_p99_ns);
      g->alloc_bytes_per_s = alloc_rate(&r->o, s);
    }
  }
  free(order);
  pthread_mutex_unlock(&r->mu);
  return n;
}

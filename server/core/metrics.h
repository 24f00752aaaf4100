/* Process metrics for a Prometheus scrape: lock-free counters, gauges, counter
 * families keyed by a small integer (an HTTP status) and fixed-bucket
 * histograms, all plain structs meant to be globals with static initialisers
 * (zero-initialised storage is a valid, empty metric). Updates are single
 * relaxed atomic operations, so any thread may update without locks; a scrape
 * lists the metrics in an array of mw_metric_desc and renders them in the text
 * exposition format 0.0.4. Nothing is registered behind your back: the array
 * is the registry. */
#ifndef MW_CORE_METRICS_H
#define MW_CORE_METRICS_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"

/* A monotonically increasing count: `static mw_counter c;` is ready to use. */
typedef struct mw_counter {
  _Atomic uint64_t v;
} mw_counter;

/* A value that goes up and down. */
typedef struct mw_gauge {
  _Atomic int64_t v;
} mw_gauge;

/* A counter family with one label whose value is a small integer key in
 * [0, MW_COUNTER_VEC_KEYS): every HTTP status code fits. A slot per key keeps
 * updates lock-free; only keys counted at least once are rendered. */
enum { MW_COUNTER_VEC_KEYS = 600 };
typedef struct mw_counter_vec {
  _Atomic uint64_t v[MW_COUNTER_VEC_KEYS];
} mw_counter_vec;

/* A histogram over fixed, ascending upper bounds (seconds); the +Inf bucket is
 * implicit. Bucket counts are stored per bucket (not cumulative) and _count is
 * their total at render time, so _count always equals the +Inf bucket. */
enum { MW_HISTOGRAM_MAX_BOUNDS = 32 };
typedef struct mw_histogram {
  const double *bounds; /* ascending, finite; at most MW_HISTOGRAM_MAX_BOUNDS used */
  size_t nbounds;
  _Atomic uint64_t buckets[MW_HISTOGRAM_MAX_BOUNDS + 1]; /* [nbounds] is the +Inf bucket */
  _Atomic double sum;
} mw_histogram;

/* Static initialiser from a bounds array (an array, not a pointer):
 *   static const double lat[] = {0.01, 0.1, 1};
 *   static mw_histogram h = MW_HISTOGRAM_INIT(lat); */
#define MW_HISTOGRAM_INIT(bounds_array)                                                                                \
  { .bounds = (bounds_array), .nbounds = sizeof(bounds_array) / sizeof((bounds_array)[0]) }

/* Prometheus' default latency buckets: .005 .01 .025 .05 .1 .25 .5 1 2.5 5 10. */
enum { MW_DEFAULT_SECONDS_BOUNDS_N = 11 };
extern const double mw__default_seconds_bounds[MW_DEFAULT_SECONDS_BOUNDS_N];
#define MW_HISTOGRAM_DEFAULT_INIT MW_HISTOGRAM_INIT(mw__default_seconds_bounds)

/* Adds n to c. */
static inline void mw__counter_add(mw_counter *c, uint64_t n) {
  atomic_fetch_add_explicit(&c->v, n, memory_order_relaxed);
}
/* Returns the current value of c. */
static inline uint64_t mw__counter_get(const mw_counter *c) {
  return atomic_load_explicit((_Atomic uint64_t *)&c->v, memory_order_relaxed);
}
/* Sets g to v. */
static inline void mw__gauge_set(mw_gauge *g, int64_t v) { atomic_store_explicit(&g->v, v, memory_order_relaxed); }
/* Adds delta (may be negative) to g. */
static inline void mw__gauge_add(mw_gauge *g, int64_t delta) {
  atomic_fetch_add_explicit(&g->v, delta, memory_order_relaxed);
}
/* Returns the current value of g. */
static inline int64_t mw__gauge_get(const mw_gauge *g) {
  return atomic_load_explicit((_Atomic int64_t *)&g->v, memory_order_relaxed);
}
/* Adds n to the counter of key; keys outside [0, MW_COUNTER_VEC_KEYS) are
 * dropped (callers pass HTTP statuses or small enums, so one is a bug). */
static inline void mw__counter_vec_add(mw_counter_vec *cv, int key, uint64_t n) {
  if (key >= 0 && key < MW_COUNTER_VEC_KEYS) atomic_fetch_add_explicit(&cv->v[key], n, memory_order_relaxed);
}
/* Returns the count of key (0 outside the key range). */
static inline uint64_t mw__counter_vec_get(const mw_counter_vec *cv, int key) {
  if (key < 0 || key >= MW_COUNTER_VEC_KEYS) return 0;
  return atomic_load_explicit((_Atomic uint64_t *)&cv->v[key], memory_order_relaxed);
}

/* Counts one observation of seconds into the first bucket whose bound is >= it,
 * and adds it to the sum. NaN is dropped: it would turn _sum into NaN forever. */
void mw__histogram_observe(mw_histogram *h, double seconds);
/* Returns the number of observations so far (the +Inf bucket). */
uint64_t mw__histogram_count(const mw_histogram *h);

enum mw_metric_kind {
  MW_METRIC_COUNTER,     /* uses .counter */
  MW_METRIC_GAUGE,       /* uses .gauge */
  MW_METRIC_COUNTER_VEC, /* uses .vec and .key_label */
  MW_METRIC_HISTOGRAM,   /* uses .histogram */
};

/* One entry of a scrape. Several entries may share a name (e.g. one counter
 * per constant label set): when they are adjacent, HELP and TYPE are written
 * once, as the format requires. */
typedef struct mw_metric_desc {
  const char *name; /* [a-zA-Z_:][a-zA-Z0-9_:]*; counters should end in _total */
  const char *help; /* one line (may be NULL); backslash and newline are escaped */
  enum mw_metric_kind kind;
  const char *labels;    /* optional constant labels, preformatted and escaped by you,
                         without braces: "signal=\"traces\"" */
  const char *key_label; /* COUNTER_VEC: the label name of the key, e.g. "status" */
  union {
    mw_counter *counter;
    mw_gauge *gauge;
    mw_counter_vec *vec;
    mw_histogram *histogram;
  };
} mw_metric_desc;

/* Appends the text exposition (format 0.0.4: "# HELP", "# TYPE" and sample
 * lines, each ending in '\n') of the n metrics to out. Returns 0; MW_EINVAL for
 * a bad name, a missing pointer or a COUNTER_VEC without key_label (out keeps
 * what was written before); or mw_buf's MW_ENOMEM / MW_ETOOBIG (out is then
 * freed, as mw_buf does). Serve it as "text/plain; version=0.0.4; charset=utf-8". */
int mw__metrics_render(mw_buf *out, const mw_metric_desc *descs, size_t n);

#endif

/* Early-warning rules over a source's runtime data (rules.c).
 *
 * The writer feeds each runtime batch, once its source is known, to one
 * mw_rules; the rules keep a few numbers per source in memory (bucketed
 * sliding windows, bounded in size whatever the data rate) and say which rules
 * fire: heap live grew xF within W, goroutines grew xF within W, GC CPU over
 * P% over a window, GC pause p99 over X. A firing rule leaves a pending
 * request for a goroutine dump and a heap profile that the source's next
 * runtime push takes (its answer carries it to the agent). The same state
 * gives /metrics its per-source gauges. Times are the data's own (unix ns of
 * GC cycle starts and snapshot times), so a replayed or late batch is judged
 * by when it happened. Thread-safe: one mutex; every call is short and
 * bounded. */
#ifndef MW_MODEL_RULES_H
#define MW_MODEL_RULES_H
#include <stddef.h>
#include <stdint.h>

#include "model/runtime_batch.h"

/* The rules' settings (server/core/config.c: --rule-*). A factor or limit
 * of 0 turns its rule off. */
typedef struct mw_rules_opts {
  double heap_factor;          /* heap live grew this many times ... */
  int64_t heap_window_ns;      /* ... within this long */
  uint64_t heap_min_bytes;     /* a smaller heap never fires */
  double goroutine_factor;     /* goroutines grew this many times ... */
  int64_t goroutine_window_ns; /* ... within this long */
  uint64_t goroutine_min;      /* fewer goroutines never fire */
  double gc_cpu_percent;       /* GC CPU share over gc_window */
  int64_t pause_p99_ns;        /* p99 of the GC pauses within gc_window */
  int64_t gc_window_ns;        /* the window of GC CPU, pauses and allocation rate */
  int64_t warmup_ns;           /* a process's first moments (GC: its uptime; goroutines: since first seen) */
  int64_t cooldown_ns;         /* a rule that still holds fires again after this long */
  size_t max_sources;          /* sources kept; the least recently fed goes first */
} mw_rules_opts;

/* The rules, by index: their names are what events and requests carry. */
enum mw_rule { MW_RULE_HEAP, MW_RULE_GOROUTINES, MW_RULE_GC_CPU, MW_RULE_PAUSE, MW_RULE__N };

/* "heap_growth", "goroutine_growth", "gc_cpu", "pause_p99"; NULL out of range. */
const char *mw__rule_name(enum mw_rule r);

typedef struct mw_rule_event {
  enum mw_rule rule;
  int64_t time_ns;  /* the data's time that made it fire */
  double value;     /* heap bytes, goroutines, GC CPU percent, pause ns */
  double threshold; /* what value passed: factor x the window's low, or the limit */
  char message[200];
} mw_rule_event;

/* The latest figures of a source, for /metrics. Values that are not known
 * yet are -1. */
typedef struct mw_rules_gauges {
  int64_t source_id;
  char service[128], instance[128];
  int64_t heap_live, heap_goal, goroutines;
  double gc_cpu_fraction; /* over gc_window */
  int64_t pause_p50_ns, pause_p99_ns;
  double alloc_bytes_per_s; /* over gc_window */
} mw_rules_gauges;

typedef struct mw_rules mw_rules;

/* NULL when out of memory. */
mw_rules *mw__rules_new(const mw_rules_opts *o);
void mw__rules_free(mw_rules *r);

/* 1 when source_id's names are known (mw__rules_feed was given them). */
int mw__rules_known(mw_rules *r, int64_t source_id);

/* Folds b's GC cycles (in order) and, for a goroutine snapshot, its total
 * into source_id's state and evaluates the rules once. service and instance
 * (may be NULL once known) name the source for /metrics. Writes at most
 * MW_RULE__N firing events to out; returns how many. A firing rule's request
 * stays pending until mw__rules_take or until a cooldown passes. */
size_t mw__rules_feed(mw_rules *r, int64_t source_id, const char *service, const char *instance,
                      const mw_runtime_batch *b, mw_rule_event out[MW_RULE__N]);

/* Takes (clears) the pending requests of source_id, as of now_ns (unix):
 * sets bit (1 << rule) for each. Requests older than the cooldown are
 * dropped, not returned. */
unsigned mw__rules_take(mw_rules *r, int64_t source_id, int64_t now_ns);

/* Copies the gauges of at most max sources (the most recently fed first) to
 * out; returns how many. */
size_t mw__rules_gauges(mw_rules *r, mw_rules_gauges *out, size_t max);

#endif

/* A source's runtime data summed up over a stretch of time: a minute of the
 * rollup table runtime_minutes (schema/sql/0007_runtime_minutes.sql), or a
 * step of /series and /gc/pressure made of minutes or of raw rows. The same
 * functions add raw rows to a minute at ingest and to a step at query time,
 * and merge minutes into steps, so that both resolutions count alike.
 *
 * Pauses are kept in a histogram whose buckets are the values cut to two
 * significant digits (below 100 ns: the value itself). gctrace prints pauses
 * with two significant digits below 10 ms and in whole ms above, so its
 * pauses under 100 ms fall each on its own bucket and quantiles of them are
 * exact; any other value is reported at most 10% low (a bucket spans
 * [v, v x 1.1) at worst, at 10..11 x 10^k). */
#ifndef MW_MODEL_MINUTES_H
#define MW_MODEL_MINUTES_H
#include <stddef.h>
#include <stdint.h>

#include "model/runtime.h"

#define MW_MINUTE_NS ((int64_t)60000000000)

/* What a capture was, for the per-kind counts. */
enum mw_capture {
  MW_CAP_GOROUTINE, /* goroutine profile (pprof) */
  MW_CAP_DUMP,      /* goroutine dump (debug=1, debug=2 text) */
  MW_CAP_GOROUTINELEAK,
  MW_CAP_CPU,
  MW_CAP_HEAP,
  MW_CAP_ALLOCS,
  MW_CAP_MUTEX,
  MW_CAP_BLOCK,
  MW_CAP_EXECTRACE,
  MW_CAP__N
};
/* "goroutine", "dump", ... (the JSON keys and, with "cap_", the columns). */
const char *mw__capture_name(int c);
/* The capture a snapshot of kind and format is; -1 for none. */
int mw__capture_of(const char *kind, const char *format);

/* Pause histogram buckets: keys 0..MW_PH_KEYS-1. */
enum { MW_PH_KEYS = 100 + 17 * 90 };
int mw__ph_key(int64_t ns);
int64_t mw__ph_value(int key); /* the bucket's lowest value */
/* Adds the encoded histogram blob[0..len) to hist (MW_PH_KEYS counts);
 * returns the pauses it held. A malformed tail is ignored. */
int64_t mw__ph_add(uint32_t *hist, const uint8_t *blob, size_t len);
/* Encodes hist into out (6 bytes per non-empty bucket, at most cap bytes:
 * MW_PH_KEYS * 6 always suffices); returns the length. */
size_t mw__ph_encode(const uint32_t *hist, uint8_t *out, size_t cap);
/* Nearest-rank quantile q of the n pauses in hist (0 when n is 0). */
int64_t mw__ph_quantile(const uint32_t *hist, int64_t n, double q);

typedef struct mw_minute {
  int64_t time_ns; /* the minute's or step's start */
  int64_t gc_cycles, gc_cpu_ns, assist_cpu_ns;
  int64_t gc_last_ns, procs; /* start and GOMAXPROCS of the last cycle */
  int64_t pauses, pause_max_ns;
  int64_t heap_live, heap_live_max, heap_goal;
  int64_t alloc_bytes, alloc_ns;
  int64_t snapshots, goroutines, goroutines_max, goroutines_ns;
  int64_t captures[MW_CAP__N], triggered;
  uint32_t *hist; /* MW_PH_KEYS counts, or NULL: pauses not kept */
} mw_minute;

/* Adds GC cycle g; prev is the source's previous cycle by start (NULL when
 * unknown): its allocation counts when prev is cycle g->n - 1. */
void mw__minute_add_cycle(mw_minute *m, const mw_gc_cycle *g, const mw_gc_cycle *prev);
/* Adds a snapshot (kind, format as stored) taken at at_ns with total
 * goroutines or samples; triggered: the agent named a reason. */
void mw__minute_add_snapshot(mw_minute *m, const char *kind, const char *format, int64_t at_ns, int64_t total,
                             int triggered);
/* Adds an execution trace. */
void mw__minute_add_exectrace(mw_minute *m, int triggered);
/* Adds everything of m but its histogram and time to into. */
void mw__minute_merge(mw_minute *into, const mw_minute *m);
/* The end of a cycle (its mark termination), saturating. */
int64_t mw__gc_cycle_end(const mw_gc_cycle *g);

#endif

/* bench-soak: shared declarations of the soak benchmark's parts.
 *
 * main.c parses the flags, starts meanwhiled, drives the spans through
 * bench/ingest's corpus and paced sender (mwbench_ingest), samples the files
 * and the process every 100 ms, prints a line a minute and the summary.
 * record.c keeps what every request came to (a log of latencies, per-second
 * counters) behind one mutex, and answers percentile questions over a window.
 * load.c is the rest of the load: runtime data (stderr chunks, profiles,
 * goroutine dumps) for every source of the corpus, and the query mix, each a
 * small pool of threads serving a fixed schedule. */
#ifndef BENCH_SOAK_H
#define BENCH_SOAK_H
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "bench.h"

/* ---- what requests came to (record.c) ------------------------------------ */

enum sk_class { SK_INGEST, SK_QUERY, SK_RUNTIME, SK_NCLASSES };

/* Query kinds (the kind of an SK_QUERY record) and runtime kinds (SK_RUNTIME). */
enum sk_query { SQ_TRACE, SQ_SEARCH, SQ_SERVICES, SQ_OPERATIONS, SQ_TIMELINE, SQ_EXPLAIN, SQ_NKINDS };
enum sk_runtime { SR_STDERR, SR_GOROUTINE, SR_CPU, SR_DUMP, SR_NKINDS };

const char *sk_class_name(int cls);
const char *sk_query_name(int kind);
const char *sk_runtime_name(int kind);

/* A request is late when it starts this long after its scheduled time: the
 * load is then no longer open loop (every connection was busy). */
#define SK_LATE_S 0.010
/* Nothing starts later than this after the schedule's end: what is still
 * unsent then is counted as not sent (the server fell behind), so that a
 * server far behind cannot make the run go on and on. */
#define SK_GRACE_S 10.0

typedef struct sk_outcome {
  int cls, kind;
  double due_s, start_s, end_s; /* seconds since the run's start */
  int ok;                       /* the answer was what the request expects */
  uint32_t spans_ok, refusals;  /* ingest; refusals: answers 429/503 retried */
} sk_outcome;

/* Latency percentiles of one class over a window. */
typedef struct sk_lat {
  size_t n;
  double p50, p99, max; /* ms; 0 when n == 0 */
} sk_lat;

/* Per-second counters, by the second a request ended (spans_sent: began);
 * latencies count from when a request was due. */
typedef struct sk_second {
  uint64_t spans_sent, spans_acked;
  uint32_t req[SK_NCLASSES], errors[SK_NCLASSES], late[SK_NCLASSES], refusals;
  float max_ms[SK_NCLASSES];
} sk_second;

/* Sets up for a run of `seconds` (records past it count in its last second). */
int sk_rec_init(double seconds);
void sk_rec_free(void);
void sk_record(const sk_outcome *o);
/* An ingest request of `spans` spans begins, start_s into the run. */
void sk_record_sent(double start_s, uint32_t spans);
/* The first failure of each class, as text ("" when none). */
void sk_rec_note_error(int cls, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *sk_rec_first_error(int cls);
/* Latency of cls (kind -1: all kinds) over requests that ended in [t0, t1). */
sk_lat sk_rec_latency(int cls, int kind, double t0, double t1);
/* The counters of seconds [s0, s1) added up; max_ms the largest. */
sk_second sk_rec_seconds(int s0, int s1);
/* Lateness: the most a request of cls started after its schedule, in ms. */
double sk_rec_late_max_ms(int cls);
/* Errors of one query or runtime kind over the run. */
uint64_t sk_rec_kind_errors(int cls, int kind);

/* Recently acknowledged traces, for the queries to ask about. */
void sk_recent_add(uint64_t trace_k, uint32_t n_traces);
/* A random trace among those acknowledged in about the last minute; 0 when
 * none yet, else 1 and its run-wide index in *trace_k. */
int sk_recent_pick(uint64_t *rng, uint64_t *trace_k);

/* ---- runtime data and queries (load.c) ----------------------------------- */

typedef struct sk_load_cfg {
  const char *url;         /* set by sk_load_start */
  const bi_corpus *corpus; /* its sources are the services and instances */
  const bi_ids *ids;       /* to turn a trace index into its id */
  const char *inputs_dir;  /* pprof files and goroutine dumps */
  double t0;               /* CLOCK_MONOTONIC of the run's start; set by sk_load_start */
  double seconds;          /* the schedule ends here */
  double qps;              /* queries per second (0: none) */
  int query_conns, runtime_conns;
  int no_runtime;
  _Atomic int *cancel;
  uint64_t seed;
} sk_load_cfg;

typedef struct sk_load sk_load;

/* Reads the inputs (before the server starts: a bad inputs dir fails early).
 * Returns NULL (reason on stderr). */
sk_load *sk_load_new(const sk_load_cfg *cfg);
/* Starts both pools on the server at url, the run having begun at t0.
 * Returns 0, or -1 with *cfg->cancel set (sk_load_join still due). */
int sk_load_start(sk_load *l, const char *url, double t0);
/* Whether both schedules are over and every answer is in. */
int sk_load_done(sk_load *l);
/* Waits for both schedules to end (at cfg->seconds or on *cancel) and frees
 * l (NULL: nothing). */
void sk_load_join(sk_load *l);
/* What the inputs are, for the report. */
void sk_load_describe(const sk_load *l, char *out, size_t outsz);

#endif

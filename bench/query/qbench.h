/* bench-query: shared declarations.
 *
 * gen.c builds a meanwhiled data dir (meanwhile.db made by the server's own
 * migration files, plus bench-query.meta: the generation parameters and the
 * slow traces to ask about); xtgen.c adds execution traces to it; server.c starts and stops meanwhiled; http.c
 * times GET requests over one keep-alive connection and checks the answers;
 * main.c (bench-query) and gen_main.c (bench-query-gen) are the two programs. */
#ifndef BENCH_QUERY_H
#define BENCH_QUERY_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mwb_server.h"

/* ---- generation (gen.c) -------------------------------------------------- */

typedef struct qb_gen_opts {
  const char *dir;        /* data dir: dir/meanwhile.db and dir/bench-query.meta */
  const char *schema_dir; /* schema/sql: every *.sql in name order */
  uint64_t spans;         /* spans to write (10,000,000) */
  uint64_t gc;            /* GC cycles (1,000,000) */
  uint64_t snapshots;     /* goroutine snapshots (100,000) */
  double hours;           /* time range (6) */
  double cpu_every_s;     /* one CPU profile per source every this many seconds (60; 0: none) */
  double cpu_window_s;    /* CPU profile window (10) */
  uint64_t seed;
  int analyze;   /* run ANALYZE at the end (the server never does on its own) */
  int old_spans; /* spans as `spans` rows (the form before migration 0008), not sealed blocks */
} qb_gen_opts;

typedef struct qb_gen_stats {
  uint64_t spans, traces, gc, goroutine_snapshots, cpu_snapshots, goroutine_groups, profile_samples, stacks;
  uint64_t labelled_groups, labelled_samples, candidates;
  uint64_t db_bytes;
  uint64_t blocks, runs, live_runs; /* sealed blocks, level-0 runs flushed, live runs at the end */
  double load_s, index_s, finish_s, total_s;
} qb_gen_stats;

/* Builds the data dir (replacing any database in it). Returns 0 or -1. */
int qb_generate(const qb_gen_opts *o, qb_gen_stats *st);

/* The header line that bench-query.meta starts with for these options: a
 * cached data dir is reused only when it is equal. */
void qb_meta_header(const qb_gen_opts *o, char *out, size_t outsz);

/* One slow trace of the meta file. */
typedef struct qb_trace {
  uint8_t id[16];
  int64_t dur_ns, p90_ns;
  int op_id, n_spans,
      flags; /* flags: 1 goroutine rows label a span of it, 2 CPU samples do, 4 an execution trace covers it */
} qb_trace;

#define QB_META_NAME "bench-query.meta"

/* Reads the slow traces of dir's meta file if its header is `header`.
 * Returns the count (>= 0), or -1 when absent or different (no message). */
long qb_read_meta(const char *dir, const char *header, qb_trace **out);

/* ---- execution traces (xtgen.c) ---------------------------------------------- */

typedef struct qb_xt_stats {
  uint64_t traces, spans, intervals;
  double seconds;
} qb_xt_stats;

/* Stores one execution trace for each of the n traces (slow ones of dir's
 * meta file), through ingest's code (xtgen.c says how they are made); dir's
 * database must not be open in a server. Returns 0 or -1. */
int qb_add_exectraces(const char *dir, const qb_trace *traces, size_t n, uint64_t seed, qb_xt_stats *st);

/* The list of traces given execution traces: dir/bench-query.xt, its first
 * line `header`. */
#define QB_XT_NAME "bench-query.xt"

/* ---- utilities (gen.c) ----------------------------------------------------- */

uint64_t qb_rand64(uint64_t *state);
double qb_rand01(uint64_t *state);
double qb_mono_s(void);
void qb_hex(const uint8_t *p, size_t n, char *out); /* out: 2n+1 chars */

/* ---- the server (server.c) ------------------------------------------------- */

typedef mwb_server qb_server;

/* Starts `exe --listen 127.0.0.1:0 --data DIR` (or exe + args, "{data}"
 * replaced), stderr to log_path, and waits for its msg="listening" line. */
int qb_server_start(qb_server *s, const char *exe, char **args, const char *data_dir, const char *log_path,
                    double timeout_s);
int qb_server_stop(qb_server *s); /* SIGTERM; exit status or -1 */
double qb_proc_rss_mib(pid_t pid, double *hwm_mib);

/* ---- requests (http.c) ----------------------------------------------------- */

enum qb_kind { QB_TIMELINE, QB_EXPLAIN, QB_TRACE, QB_NKINDS };

typedef struct qb_http qb_http;

qb_http *qb_http_new(const char *base_url);
void qb_http_free(qb_http *h);

/* One GET of kind k for trace id; returns the latency in ms, or < 0 when the
 * answer was not a 200 with a JSON body holding the kind's top-level keys
 * (the reason on stderr for the first few). *bytes gets the body size. With
 * ev non-NULL (explain), ev[0] += spans with a goroutine-state cause of
 * span scope, ev[1] += of operation scope, ev[2] += spans, ev[3] += spans
 * with a CPU-sample cause, ev[4] += spans with a cause of trace scope. */
double qb_http_get(qb_http *h, enum qb_kind k, const uint8_t id[16], size_t *bytes, long ev[5]);
long qb_http_connects(qb_http *h); /* connections opened so far */

const char *qb_kind_name(enum qb_kind k);

double qb_percentile(double *v, size_t n, double p); /* sorts v; nearest rank */

#endif

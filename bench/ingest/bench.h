/* bench-ingest: shared declarations of the ingest benchmark's parts.
 *
 * gen.c builds a corpus of realistic OTLP ExportTraceServiceRequest batches
 * once and records where every id and timestamp sits in each encoded batch, so
 * that a send only overwrites those bytes in place. db.c is the SQLite side:
 * the plain-SQLite baseline and the filler of the trace-by-id database. send.c
 * posts batches over N keep-alive libcurl connections; server.c starts and
 * stops meanwhiled and samples its memory; query.c times trace lookups; main.c
 * parses flags and prints one "name value" line per figure. gen.c, send.c and
 * server.c are the library mwbench_ingest, which bench/soak uses too. */
#ifndef BENCH_INGEST_H
#define BENCH_INGEST_H
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mwb_server.h"

/* ---- corpus (gen.c) ---------------------------------------------------- */

/* One span of a pre-encoded batch: where its patchable bytes are, and the
 * column values the server would store for it (used by the baseline). */
typedef struct bi_span {
  uint32_t trace_off;  /* offset of the 16 trace-id bytes in the batch */
  uint32_t span_off;   /* offset of the 8 span-id bytes */
  uint32_t parent_off; /* offset of the 8 parent-id bytes; 0 for a root */
  uint32_t start_off;  /* offset of start_time_unix_nano (fixed64, LE) */
  uint32_t end_off;    /* offset of end_time_unix_nano */
  uint16_t trace;      /* index of its trace within the batch */
  int16_t parent;      /* index of its parent span within the batch, -1 for a root */
  int64_t start_ns;    /* template start (before shifting to "now") */
  int64_t dur_ns;
  int kind;
  int status;
  uint32_t op_id; /* 1-based index into bi_corpus.ops */
  uint8_t *body;  /* Span protobuf with ids, name, times, kind, status cleared */
  size_t body_len;
} bi_span;

typedef struct bi_batch {
  uint8_t *data; /* encoded ExportTraceServiceRequest; patched in place by its owner */
  size_t len;
  uint32_t source_id; /* 1-based index into bi_corpus.sources */
  uint32_t n_traces;
  uint32_t n_spans;
  bi_span *spans;
} bi_batch;

typedef struct bi_source {
  const char *service, *instance, *host;
  int64_t pid;
  uint8_t *resource; /* meanwhile.store.v1.StoredResource */
  size_t resource_len;
} bi_source;

typedef struct bi_op {
  const char *service, *name;
} bi_op;

typedef struct bi_corpus {
  bi_batch *batches;
  size_t n_batches;
  bi_source *sources;
  size_t n_sources;
  bi_op *ops;
  size_t n_ops;
  uint8_t *scope; /* meanwhile.store.v1.StoredScope; the only scope, id 1 */
  size_t scope_len;
  int64_t base_ns; /* the "now" the template times were drawn around */
  size_t bytes;    /* total encoded size, for the report */
  /* A corpus file (bi_corpus_load): every batch is sent once, as it is (no
   * new ids, no time shift), and the baseline inserts the spans' own ids. */
  int as_is;
  uint64_t n_spans_total; /* as_is: the spans of all batches */
  void **owned;           /* strings the loader allocated, freed with the corpus */
  size_t n_owned;
} bi_corpus;

/* Builds n_batches batches of spans_per_batch spans (spans_per_trace per
 * trace). Returns 0 or -1 (message on stderr). */
int bi_corpus_build(bi_corpus *c, size_t n_batches, uint32_t spans_per_batch, uint32_t spans_per_trace, uint64_t seed);
void bi_corpus_free(bi_corpus *c);
/* Reads a bench-corpus-gen file (corpus_file.c), at most max_spans spans
 * (whole batches; 0 = all) as an as_is corpus. Returns 0 or -1. */
int bi_corpus_load(bi_corpus *c, const char *path, uint64_t max_spans);

/* Unique ids for the whole run: trace k and span k of the run are bijective
 * mixes of k, so no two are ever equal while still looking random to the
 * B-tree (sequential ids would make the unique index append-only: too kind). */
typedef struct bi_ids {
  _Atomic uint64_t next_trace;
  _Atomic uint64_t next_span;
  uint64_t seed;
} bi_ids;

void bi_ids_init(bi_ids *ids, uint64_t seed);
void bi_trace_id(const bi_ids *ids, uint64_t k, uint8_t out[16]);
void bi_span_id(const bi_ids *ids, uint64_t k, uint8_t out[8]);

/* Overwrites the ids and times of batch b in buf (b->data for the owner):
 * traces get ids trace_k.., spans span_k.., times are shifted by shift_ns. */
void bi_batch_stamp(const bi_batch *b, uint8_t *buf, const bi_ids *ids, uint64_t trace_k, uint64_t span_k,
                    int64_t shift_ns);

uint64_t bi_rand64(uint64_t *state);
int64_t bi_now_ns(void);                            /* CLOCK_REALTIME */
double bi_mono_s(void);                             /* CLOCK_MONOTONIC */
void bi_hex(const uint8_t *p, size_t n, char *out); /* out gets 2n+1 chars */

/* ---- SQLite side (db.c) ------------------------------------------------ */

typedef struct bi_db_opts {
  const char *schema_dir; /* every *.sql file in it, in name order */
  const char *sync;       /* "normal" or "full" */
} bi_db_opts;

/* Inserts rows spans (the corpus, fresh ids; an as_is corpus its own) into a
 * fresh database at path with the server's pragmas and schema, one
 * transaction per txn_rows. Writes the rows per second to *rows_per_s. With
 * bytes_prefix, reports the database's bytes (bi_db_bytes_report) under that
 * prefix before removing it. Returns 0 or -1. */
int bi_baseline_run(const bi_corpus *c, const bi_db_opts *o, const char *path, uint64_t rows, uint64_t txn_rows,
                    uint64_t seed, double *rows_per_s, double *cpu_s, const char *bytes_prefix);
/* The bytes a database at path takes: after a TRUNCATE checkpoint, the file
 * and its WAL, and the split by table and index from dbstat (read with the
 * sqlite3 library linked here when it has dbstat, else with the sqlite3 CLI).
 * Prints "<prefix>.db_bytes", ".wal_bytes", ".bytes_per_span",
 * ".dbstat_via" and "<prefix>.dbstat.<name>_bytes" (and per span) figures.
 * Returns the bytes per span, or -1. */
double bi_db_bytes_report(const char *path, uint64_t spans, const char *prefix);

/* Creates a database at path holding n spans in the server's format (sources,
 * operations, scopes, spans), as fast as SQLite goes: indexes dropped during
 * the load and rebuilt from their own CREATE statements at the end. */
int bi_fill_query_db(const bi_corpus *c, const bi_db_opts *o, const char *path, uint64_t n, uint64_t seed);

/* Picks n random trace ids (16 bytes each into out) from the spans of path. */
int bi_pick_trace_ids(const char *path, size_t n, uint8_t *out, uint64_t seed);

/* ---- the server process (server.c) ------------------------------------- */

typedef mwb_server bi_server;

/* Starts exe with args (NULL-terminated; "{data}" and "{sync}" replaced),
 * stderr to log_path, and waits up to timeout_s for its "listening" line.
 * Returns 0 or -1 (the log tail on stderr). */
int bi_server_start(bi_server *s, const char *exe, char **args, const char *data_dir, const char *sync,
                    const char *log_path, double timeout_s);
/* mwb_server_stop: SIGTERM, then SIGKILL after 20 s; the exit status or -1. */
int bi_server_stop(bi_server *s, double *took_s);

/* Samples VmRSS/VmHWM and CPU time of a pid every period in a thread. */
typedef struct bi_sampler {
  pid_t pid;
  int period_ms;
  _Atomic int stop;
  double rss_max_mib, hwm_mib, rss_last_mib;
  int samples;
  pthread_t thread;
} bi_sampler;

int bi_sampler_start(bi_sampler *s, pid_t pid, int period_ms);
void bi_sampler_stop(bi_sampler *s);
/* utime+stime of pid in seconds, or -1. */
double bi_proc_cpu_s(pid_t pid);
double bi_self_cpu_s(void);

/* ---- sending (send.c) -------------------------------------------------- */

/* One request as it completed (see bi_send_cfg.on_request). */
typedef struct bi_request_info {
  double due_s;     /* CLOCK_MONOTONIC when the schedule wanted it sent (0 without a rate) */
  double start_s;   /* when its first attempt began */
  double end_s;     /* when its last attempt ended */
  long status;      /* the last attempt's HTTP status; 0 after a transport error */
  uint32_t retries; /* attempts answered 429/502/503/504 before the last */
  uint32_t spans;
  int64_t rejected; /* partial_success.rejected_spans of a 200 */
  uint64_t trace_k; /* its traces are bi_trace_id(ids, trace_k .. trace_k + n_traces - 1) */
  uint32_t n_traces;
} bi_request_info;

typedef struct bi_send_cfg {
  const char *url; /* base URL, no path */
  int conns;
  uint64_t max_spans; /* 0 = no limit */
  double seconds;     /* 0 = no limit */
  double rate;        /* spans/s, 0 = as fast as possible */
  bi_corpus *corpus;
  bi_ids *ids;
  int quiet;
  int keep_going; /* count errors and go on sending, instead of stopping at the first */
  /* Called from the sending threads before each request (only due_s,
   * start_s, spans and the trace ids are set) and after it (retries
   * included), concurrently: they must be thread-safe and quick. May be NULL. */
  void (*on_send)(void *user, const bi_request_info *ri);
  void (*on_request)(void *user, const bi_request_info *ri);
  void *user;
  _Atomic int *cancel; /* when set and non-zero, no new request starts; may be NULL */
} bi_send_cfg;

typedef struct bi_send_result {
  uint64_t spans_sent, spans_ok, batches_ok, rejected, retries, errors;
  long connects;
  double wall_s;
  double cpu_s; /* this process, during the run */
  double lat_p50_ms, lat_p99_ms, lat_max_ms;
} bi_send_result;

int bi_send_run(const bi_send_cfg *cfg, bi_send_result *r);

/* ---- trace-by-id queries (query.c) ------------------------------------- */

typedef struct bi_query_result {
  size_t ok, errors;
  double p50_ms, p99_ms, max_ms, mean_ms;
  size_t bytes_mean;
} bi_query_result;

int bi_query_run(const char *url, const uint8_t *ids, size_t n, size_t warmup, bi_query_result *r);

/* ---- small utilities (main.c) ------------------------------------------ */

double bi_percentile(double *v, size_t n, double p); /* sorts v */
void bi_figure(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

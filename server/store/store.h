/* The store: the only module that touches SQLite.
 *
 * One writer thread owns the write connection. Requests hand it jobs through a
 * bounded queue; it commits whatever is queued in one transaction (group
 * commit) and then calls each job's done() callback, so a request is answered
 * only after its data is durable. Readers read inside read transactions
 * (mw_read) on read-only connections from a small pool (WAL lets them run
 * beside the writer): everything one request reads is one state of the
 * database.
 *
 * Inside, the parts depend one way: store.c (lifecycle) -> writer.c (the
 * loop) -> retention.c, checkpoint.c, runtime_write.c -> readers.c (the pool
 * and its gate) -> conn.c; the read queries (reader.c, runtime_read.c,
 * correlate_read.c) use readers.h alone. */
#ifndef MW_STORE_STORE_H
#define MW_STORE_STORE_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "model/runtime_batch.h"
#include "model/span.h"

typedef struct mw_store mw_store;

typedef struct mw_store_opts {
  const char *data_dir;   /* holds meanwhile.db (+ -wal, -shm) */
  int sync_full;          /* PRAGMA synchronous=FULL (else NORMAL) */
  size_t queue_max_spans; /* past it, submit answers MW_EBUSY */
  size_t queue_max_bytes;
  size_t read_connections;
  int fault_commit_delay_ms;  /* test hook: sleep before each commit */
  int fault_read_slow_us;     /* test hook: reads sleep this long every 1,000 steps (long-running queries) */
  int64_t retention_ns;       /* delete data older than this; 0 = keep */
  int64_t retention_every_ns; /* how often a retention pass starts (0: every minute) */
  uint64_t max_db_bytes;      /* delete the oldest data while larger; 0 = no limit */
  struct mw_rules *rules;     /* fed every runtime batch, firing events stored (model/rules.h); NULL: none */
  /* Spans go to span_tail and open blocks, sealed into span_blocks
   * (docs/STORAGE-WIRING.md §2): MW_STORE_BLOCKS_ON (0, the default) or
   * MW_STORE_BLOCKS_OFF: one `spans` row per span, as releases before
   * migration 0008 wrote them (--span-blocks off; tests that need old rows). */
  int blocks;
  int64_t (*fault_clock_ns)(void); /* test hook: the writer's monotonic clock for block ages (NULL: the real one) */
} mw_store_opts;
enum { MW_STORE_BLOCKS_ON = 0, MW_STORE_BLOCKS_OFF = -1 };

/* Opens (creating and migrating as needed) and starts the writer. Refuses a
 * file that is not a Meanwhile database. Returns 0, or an error with a message. */
int mw__store_open(const mw_store_opts *opts, mw_store **out, char *err, size_t errsz);
/* Commits everything queued and stops the writer: every submitted job's done()
 * has run when it returns; later submits answer MW_ESHUTDOWN. */
void mw__store_drain(mw_store *s);
/* Drains (if not done yet) and closes every connection. */
void mw__store_close(mw_store *s);

/* --- writing -------------------------------------------------------------- */

enum mw_job_kind { MW_JOB_SPANS = 1, MW_JOB_RUNTIME };

typedef struct mw_write_job mw_write_job;
struct mw_write_job {
  enum mw_job_kind kind;
  void *payload; /* MW_JOB_SPANS: mw_span_batch*; MW_JOB_RUNTIME: mw_runtime_batch* */
  size_t cost_spans, cost_bytes;
  /* Called on the writer thread once the job's transaction is committed (rc 0)
   * or failed (rc < 0: MW_EIO, MW_EFULL, MW_ESHUTDOWN). Must not block. */
  void (*done)(mw_write_job *job, int rc);
  void *user;
  /* MW_JOB_SPANS: a 64-bit hash of the decoded request body (after gzip), or
   * 0 = do not check. With blocks on, the writer answers a job whose hash it
   * stored in the last 10 minutes as done (rc 0) without storing it again: an
   * exporter's retry of a request that had landed (docs/STORAGE-WIRING.md §4). */
  uint64_t body_hash;
  int resent;         /* the writer's: 1 when the job was such a retry (nothing stored) */
  mw_write_job *next; /* the writer's */
  int rc;             /* the writer's: this job's own result */
};

/* Queues a job. Returns 0, MW_EBUSY when the queue is over its bounds (the
 * caller answers 503 / retry), or MW_ESHUTDOWN. done() is called iff 0. */
int mw__store_submit(mw_store *s, mw_write_job *job);

/* 1 when the queue is at or over pct percent of its bounds (callers refuse
 * work before reading a request body at less than 100, leaving room for the
 * requests already being decoded). */
int mw__store_full(mw_store *s, unsigned pct);

typedef struct mw_store_stats {
  size_t queue_spans, queue_bytes, queue_jobs;
  uint64_t db_bytes;          /* main file + WAL */
  uint64_t used_bytes;        /* pages in use (what --max-db-size bounds) */
  uint64_t retention_deleted; /* rows deleted by retention since start */
  uint64_t resent_jobs;       /* span jobs answered without storing: a body seen in the last 10 min */
  uint64_t resent_spans;      /* their spans */
} mw_store_stats;
void mw__store_stats(mw_store *s, mw_store_stats *out);
/* The rules the writer feeds (mw_store_opts.rules), or NULL: the HTTP side
 * takes a source's pending requests and /metrics its gauges from them. */
struct mw_rules *mw__store_rules(mw_store *s);
/* Commit latency observer (seconds); set once before traffic. */
void mw__store_on_commit(mw_store *s, void (*cb)(double seconds, size_t jobs, size_t spans));

/* --- reading -------------------------------------------------------------- */

/* A read transaction: one read-only connection, lent to one thread, with a
 * transaction open on it. Every read below runs in one; all the reads of one
 * transaction see the database as it was at its first read. Keep it short:
 * the WAL can only be emptied when no reader is inside it (checkpoint.c). */
typedef struct mw_read mw_read;

/* Begins a read transaction. Returns 0, MW_EIO, or, when the calling
 * thread's query limit has passed (mw__store_limit), the reason it stopped.
 * End it with mw__read_end, on the same thread. */
int mw__read_begin(mw_store *s, mw_read **out);
/* Ends the transaction and gives the connection back (NULL: nothing). */
void mw__read_end(mw_read *r);
/* For long queries made of independent parts (compare), between two parts:
 * when the writer waits to empty the WAL, ends the transaction, waits until
 * it is done and begins a new one (a newer snapshot); otherwise does nothing.
 * Returns 0 or as mw__read_begin; r is to be ended either way. */
int mw__read_yield(mw_read *r);

/* A time limit for the reads of one query. Bound to a thread, it stops the
 * thread's statements in SQLite (through a progress handler) once the
 * deadline passes or *abort becomes non-zero: the store call then fails, and
 * `stopped` says why. A limited read never lends a connection once stopped. */
typedef struct mw_query_limit {
  int64_t deadline_ns;      /* monotonic (mw__mono_ns); 0: none */
  const _Atomic int *abort; /* non-zero: stop now (shutdown); NULL: never */
  int stopped;              /* set by the store: MW_ETIMEDOUT, MW_ESHUTDOWN, or MW_EBUSY when
                                * its read was stopped so that the WAL could be emptied */
} mw_query_limit;

/* Binds lim to the calling thread's reads until the next call (NULL unbinds).
 * Threads that never call it read without a limit. A read cut short by it
 * fails (MW_EIO): no read returns part of its rows as if they were all. */
void mw__store_limit(mw_query_limit *lim);

/* A page of a listing: skip offset rows, return at most limit, and stop early
 * once the returned rows' text passes max_bytes (a page holds at least one
 * row, so that paging always moves on). */
typedef struct mw_page {
  size_t offset, limit, max_bytes;
} mw_page;

typedef struct mw_stored_span {
  uint8_t trace_id[16], span_id[8], parent_id[8];
  int has_parent;
  int64_t source_id, scope_id, op_id;
  const char *name;
  int64_t start_ns, dur_ns;
  int kind, status;
  const uint8_t *body;
  size_t body_len;
} mw_stored_span;

/* The stored span as a row of the span form (pointers into s), for decoding its body. */
void mw__stored_span_row(const mw_stored_span *s, mw_span_row *row);

typedef struct mw_stored_blob {
  int64_t id;
  const uint8_t *data;
  size_t len;
} mw_stored_blob;

typedef struct mw_trace_rows {
  mw_stored_span *spans; /* ordered by start time */
  size_t n_spans;
  mw_stored_blob *sources; /* StoredResource of each distinct source_id */
  size_t n_sources;
  mw_stored_blob *scopes; /* StoredScope of each distinct scope_id */
  size_t n_scopes;
} mw_trace_rows;

/* Reads one trace (at most max_spans spans) into the arena. Returns 0 (n_spans
 * may be 0: unknown trace), MW_ETOOBIG when the trace has more spans, MW_EIO. */
int mw__store_read_trace(mw_read *rd, mw_arena *a, const uint8_t trace_id[16], size_t max_spans, mw_trace_rows *out);

typedef struct mw_search_query {
  const char *service; /* NULL = any */
  const char *name;    /* NULL = any */
  int64_t min_dur_ns, max_dur_ns;
  int64_t start_ns, end_ns; /* span start in [start, end) */
  mw_page page;             /* max_bytes counts the root names */
} mw_search_query;

typedef struct mw_search_hit {
  uint8_t trace_id[16];
  const char *root_service; /* NULL when the root span has not arrived */
  const char *root_name;
  int64_t start_ns, dur_ns; /* of the whole trace */
  int64_t match_dur_ns;     /* of its slowest matching span */
} mw_search_hit;

/* The traces having a span that matches q, ordered by the duration of their
 * slowest matching span, longest first (ties: the span stored first). Every
 * plan starts from the operations q may match and reads spans through the
 * (op_id, start_ns, dur_ns) index alone, so an unknown service or name costs
 * one index lookup. *next is the offset of the next page, 0 when none. */
int mw__store_search(mw_read *rd, mw_arena *a, const mw_search_query *q, mw_search_hit **out, size_t *n, size_t *next);

/* --- Tempo's search and tag discovery (reader.c, query/tempo.c) --- */

/* Called with each span a scan reads, whole (body, source and scope ids);
 * returns non-zero to stop the scan. */
typedef int (*mw_span_visit)(void *user, const mw_stored_span *s);

/* The `rows` longest spans matching q's service, name, durations and window
 * (its page unused), found as mw__store_search finds them, read whole,
 * longest first (ties: stored first), each handed to each until it returns
 * non-zero. *visited counts the spans handed over. At most `rows` spans are
 * read, whatever they hold. */
int mw__store_scan_longest(mw_read *rd, mw_arena *a, const mw_search_query *q, size_t rows, mw_span_visit each,
                           void *user, size_t *visited);
/* Fills h, whose trace_id is set, with its trace's root names and extent. */
int mw__store_trace_hit(mw_read *rd, mw_arena *a, mw_search_hit *h);
/* The latest `rows` spans stored (by row id, newest first), read whole; those
 * starting in [start, end) are handed to each until it returns non-zero. At
 * most `rows` rows are read, whatever the window. */
int mw__store_recent_spans(mw_read *rd, mw_arena *a, int64_t start_ns, int64_t end_ns, size_t rows, mw_span_visit each,
                           void *user);
/* The stored resource of source id (data NULL when it has none). */
int mw__store_source_resource(mw_read *rd, mw_arena *a, int64_t id, mw_stored_blob *out);
/* The resources of the sources seen in [start, end), at most max (*more: there were more). */
int mw__store_source_resources(mw_read *rd, mw_arena *a, int64_t start_ns, int64_t end_ns, size_t max,
                               mw_stored_blob **out, size_t *n, int *more);
/* Distinct service names (names = 0) or span names (names = 1) that have
 * spans, sorted, at most max (*more: there were more). Read from
 * `operations`, never from spans. */
int mw__store_op_names(mw_read *rd, mw_arena *a, int names, size_t max, const char ***out, size_t *n, int *more);

typedef struct mw_service_info {
  const char *name;
  int64_t span_count, operation_count, instance_count;
} mw_service_info;

/* Services that have spans, by name; name non-NULL: only that one. *next is
 * the offset of the next page, 0 when none. */
int mw__store_services(mw_read *rd, mw_arena *a, const char *name, const mw_page *pg, mw_service_info **out, size_t *n,
                       size_t *next);

/* A bucket of a duration histogram (docs/FEDERATION.md, "Operations"):
 * floor(64 log2(d)), -1 for 0; n durations fell in it. */
typedef struct mw_dur_bin {
  int bucket;
  int64_t n;
} mw_dur_bin;
int mw__dur_bucket(int64_t d);

typedef struct mw_operation_stats {
  const char *name;
  int64_t count;
  int64_t p50_ns, p90_ns, p99_ns, max_ns;
  int sampled;            /* percentiles of the latest spans only (count > sample size) */
  const mw_dur_bin *hist; /* with hist asked: the sample the percentiles come from, by bucket */
  size_t n_hist;
} mw_operation_stats;

/* Operations of a service, by name, with duration percentiles of their spans
 * starting in [start, end); operations without such spans are left out. The
 * page counts operations, those left out too: *next is the offset of the
 * next page, 0 when none. Returns MW_ENOTFOUND for a service without spans. */
int mw__store_operations(mw_read *rd, mw_arena *a, const char *service, int64_t start_ns, int64_t end_ns,
                         const mw_page *pg, mw_operation_stats **out, size_t *n, size_t *next);
/* The same, each operation with the histogram of its sample when hist. */
int mw__store_operations_hist(mw_read *rd, mw_arena *a, const char *service, int64_t start_ns, int64_t end_ns,
                              const mw_page *pg, int hist, mw_operation_stats **out, size_t *n, size_t *next);

/* --- runtime data ------------------------------------------------------------ */

typedef struct mw_source_info {
  int64_t id;
  const char *service, *instance, *host;
  int64_t pid;
  int64_t first_ns, last_ns;
} mw_source_info;

/* Sources by service and instance; *next is the offset of the next page, 0 when none. */
int mw__store_sources(mw_read *rd, mw_arena *a, const mw_page *pg, mw_source_info **out, size_t *n, size_t *next);
/* Returns MW_ENOTFOUND for an unknown id. */
int mw__store_source(mw_read *rd, mw_arena *a, int64_t id, mw_source_info *out);

/* GC cycles of a source starting in [start, end), oldest first, at most limit
 * (more: *more = 1). start_ns of each cycle is absolute. */
int mw__store_gc(mw_read *rd, mw_arena *a, int64_t source_id, int64_t start_ns, int64_t end_ns, size_t limit,
                 mw_gc_cycle **out, size_t *n, int *more);

/* Scheduler samples of a source in [start, end), oldest first (stamp_ns is
 * the absolute time). */
int mw__store_sched(mw_read *rd, mw_arena *a, int64_t source_id, int64_t start_ns, int64_t end_ns, size_t limit,
                    mw_sched_sample **out, size_t *n, int *more);

typedef struct mw_stored_event {
  int64_t at_ns;
  const char *rule, *message;
  double value, threshold;
} mw_stored_event;

/* Early-warning events of a source (0006_runtime_events.sql) in [start, end),
 * oldest first. */
int mw__store_events(mw_read *rd, mw_arena *a, int64_t source_id, int64_t start_ns, int64_t end_ns, size_t limit,
                     mw_stored_event **out, size_t *n, int *more);

typedef struct mw_snapshot_info {
  int64_t id, source_id;
  const char *kind, *format;
  int64_t at_ns, duration_ns, total;
  const char *meta_json;
  int64_t raw_bytes, stored_bytes;
} mw_snapshot_info;

/* Snapshots of a source, kind NULL = any, at_ns in [start, end), oldest first. */
int mw__store_snapshots(mw_read *rd, mw_arena *a, int64_t source_id, const char *kind, int64_t start_ns, int64_t end_ns,
                        size_t limit, mw_snapshot_info **out, size_t *n, int *more);

/* At most k (>= 2) snapshots of kind of a source with at_ns in [start, end),
 * spread evenly over the time from the first to the last (both always
 * among them): for each of k - 1 times evenly spaced from the first, the
 * first snapshot at or after it, none twice; then the last. Oldest first.
 * One indexed lookup each, however many the window holds. */
int mw__store_snapshots_spread(mw_read *rd, mw_arena *a, int64_t source_id, const char *kind, int64_t start_ns,
                               int64_t end_ns, size_t k, mw_snapshot_info **out, size_t *n);

/* The heap profile (kind heap or allocs) of a source latest in [start, end]
 * (both included): MW_ENOTFOUND when there is none. */
int mw__store_heap_near(mw_read *rd, mw_arena *a, int64_t source_id, int64_t start_ns, int64_t end_ns,
                        mw_snapshot_info *out);
/* A source's heap profiles with at_ns in [start, end), oldest first, at most
 * limit (*more when there were more). */
int mw__store_heaps(mw_read *rd, mw_arena *a, int64_t source_id, int64_t start_ns, int64_t end_ns, size_t limit,
                    mw_snapshot_info **out, size_t *n, int *more);

/* One row of a snapshot: a goroutine group, or a profile sample. */
typedef struct mw_snapshot_row {
  int64_t stack_id;
  const char *frames; /* "func\tfile:line\n" per frame, leaf first */
  const char *state;  /* goroutines only */
  const char *wait_reason;
  int64_t count;                    /* goroutines only */
  int64_t wait_min_ns, wait_max_ns; /* -1 unknown */
  int locked;
  int has_span, has_trace;
  uint8_t span_id[8], trace_id[16];
  const char *labels_json;
  const char *goids;
  const char *vals_json; /* profiles only */
} mw_snapshot_row;

/* A snapshot and its rows (at most limit, after skipping offset). MW_ENOTFOUND
 * for an unknown id. */
int mw__store_snapshot(mw_read *rd, mw_arena *a, int64_t id, size_t offset, size_t limit, mw_snapshot_info *info,
                       mw_snapshot_row **rows, size_t *n, int *more);

/* The payload as received, still zstd-compressed. MW_ENOTFOUND for an unknown id. */
int mw__store_snapshot_payload(mw_read *rd, mw_arena *a, int64_t id, const uint8_t **data, size_t *len,
                               int64_t *raw_bytes);

/* --- correlation (timeline, explain) --------------------------------------------- */

struct mw_span_ref;

/* A labelled profile sample or goroutine group of one span, with its snapshot. */
typedef struct mw_span_sample {
  int64_t snapshot_id, snapshot_ns, snapshot_dur_ns;
  const char *kind; /* cpu, goroutine, ... */
  const char *format;
  const char *meta_json; /* the snapshot's meta (sample types, period) */
  int64_t stack_id;
  const char *frames;
  const char *vals_json;           /* profiles */
  const char *state, *wait_reason; /* goroutines */
  int64_t count;
  size_t ref; /* mw__store_spans_goroutines, _trace_samples: which span */
} mw_span_sample;

/* Samples and goroutine groups labelled with span_id (and, when both the
 * sample and the caller name one, trace_id: NULL = any trace), of snapshots of
 * the given kind (NULL = any). */
int mw__store_span_samples(mw_read *rd, mw_arena *a, const uint8_t span_id[8], const uint8_t trace_id[16],
                           const char *kind, size_t limit, mw_span_sample **out, size_t *n);

/* The labelled rows of a trace's spans, fetched for MW_TRACE_SAMPLES_CHUNK
 * spans per query instead of one query per span: kind "goroutine" reads
 * goroutine groups, any other kind the samples of profiles of that kind. For
 * each span, its first per_span rows by snapshot time (then as stored), as
 * mw__store_span_samples gives them with that limit; a row that names another
 * trace is left out. out is grouped by span in the order of spans (`ref` is
 * the index), each span's rows by time. Sets snapshot_*, kind, stack_id,
 * frames and, for profiles, meta_json and vals_json, for goroutines state,
 * wait_reason and count. Returns 0, MW_EIO (a failed read) or MW_ENOMEM. */
enum { MW_TRACE_SAMPLES_CHUNK = 200 };
int mw__store_trace_samples(mw_read *rd, mw_arena *a, const uint8_t trace_id[16], const mw_stored_span *spans, size_t n,
                            const char *kind, size_t per_span, mw_span_sample **out, size_t *n_out);

/* The goroutine groups labelled with any of the n spans (n <= MW_MULTI_SPANS),
 * ordered by span then snapshot time; each row's `ref` is the span's index in
 * refs. One query instead of one per span. */
enum { MW_MULTI_SPANS = 40 };
int mw__store_spans_goroutines(mw_read *rd, mw_arena *a, const struct mw_span_ref *refs, size_t n, size_t limit,
                               mw_span_sample **out, size_t *n_out);

/* The q-quantile (nearest rank) of durations of an operation's spans starting
 * in [start, end), and their count. */
int mw__store_op_quantile(mw_read *rd, int64_t op_id, int64_t start_ns, int64_t end_ns, double q, int64_t *value,
                          int64_t *count);

typedef struct mw_span_ref mw_span_ref;
struct mw_span_ref {
  uint8_t trace_id[16], span_id[8];
  int64_t start_ns, dur_ns;
};

/* Spans of an operation starting in [start, end) that lasted at least min_dur
 * (at most max_dur), longest first. */
int mw__store_op_spans(mw_read *rd, mw_arena *a, int64_t op_id, int64_t start_ns, int64_t end_ns, int64_t min_dur,
                       int64_t max_dur, size_t limit, mw_span_ref **out, size_t *n);

/* The spans of an operation nearest in time to at_ns: at most per_side
 * starting before it and per_side from it on, all within window_ns. Gives
 * their count, the q-quantile (nearest rank) of their durations, and those at
 * or above it, longest first (at most max_spans). One ordered scan of the
 * covering index per side, so the cost is bounded however busy the operation. */
int mw__store_op_neighbours(mw_read *rd, mw_arena *a, int64_t op_id, int64_t at_ns, int64_t window_ns, size_t per_side,
                            double q, size_t max_spans, int64_t *quantile, int64_t *count, mw_span_ref **out,
                            size_t *n);

/* The operation id of (service, name), or MW_ENOTFOUND. */
int mw__store_op_id(mw_read *rd, const char *service, const char *name, int64_t *op_id);

#endif

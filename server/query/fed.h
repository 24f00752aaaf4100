/* Query federation (docs/FEDERATION.md): the shards to ask (a static list,
 * or DNS names resolved to every address and re-resolved), one request sent
 * to several of them in parallel (libcurl's multi interface, a timeout per
 * shard), and the merges of their answers into one.
 *
 * The HTTP layer (http/fed.c) decides which requests federate, builds the
 * sub-requests and calls a merge; everything here is plain data in, an
 * mw_answer out. */
#ifndef MW_QUERY_FED_H
#define MW_QUERY_FED_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "query/query.h"

/* The header that marks a sub-request: answered from the local store, never
 * fanned out again. */
#define MW_FED_HEADER "Meanwhile-Federated"
/* The header of a merged answer that lacks some shards: their names. */
#define MW_FED_MISSING_HEADER "Meanwhile-Missing-Shards"

/* A federated page of a listing (services, operations) reaches this many
 * rows (offset + limit): a sub-request may ask a shard for that many; a
 * federated search reaches MW_FED_MAX_SEARCH_ROWS (its local limit). */
enum { MW_FED_MAX_ROWS = 10000, MW_FED_MAX_SEARCH_ROWS = 1000 };
/* The largest answer taken from one shard. */
#define MW_FED_MAX_PART_BYTES ((size_t)256 << 20)

typedef struct mw_fed mw_fed;

/* Parses the peer list (comma-separated http:// URLs, or dns+http://name:port
 * entries) and resolves its names once. MW_EINVAL with a message naming the
 * bad entry; MW_ENOMEM. Also initialises libcurl (call from the main thread
 * before other threads start). */
int mw__fed_new(const char *peers, int64_t refresh_ns, int64_t timeout_ns, mw_fed **out, char *err, size_t errsz);
void mw__fed_free(mw_fed *f);

/* One sub-request. */
typedef struct mw_fed_req {
  const char *method;        /* "GET" or "POST" */
  const char *path;          /* path and query string, already encoded */
  const char *authorization; /* forwarded as is, or NULL */
  const char *accept;        /* forwarded as is, or NULL */
  const char *body;          /* POST: a JSON body */
  size_t body_len;
} mw_fed_req;

/* What one shard said. */
typedef struct mw_fed_part {
  const char *shard; /* the peer's base URL (as resolved) */
  long status;       /* its HTTP status; 0 when none came */
  /* MW_OK: a usable answer (2xx); MW_ENOTFOUND: it holds nothing of it (404);
   * MW_EINVAL, MW_EUNAUTHORIZED, MW_EFORBIDDEN, MW_ETOOBIG, MW_ETOOLONG: the
   * request's fault, the same everywhere (passed through); MW_EIO: the shard
   * is missing (error says why) */
  int rc;
  char error[256];
  char *body; /* NUL-terminated, in the arena given to the fan-out */
  size_t len;
  const char *content_type;
} mw_fed_part;

/* The current shards (DNS names re-resolved when older than the refresh),
 * copied into a. Returns the count (0 when none resolve). */
size_t mw__fed_shards(mw_fed *f, mw_arena *a, const char ***out);

/* Sends req to each of the n shards in parallel and waits for them all, each
 * at most the peer timeout and never past deadline_ns (monotonic; 0: none),
 * or until *stop (NULL: never) turns non-zero. parts[i] is shards[i]'s
 * answer. MW_ENOMEM (nothing was sent). */
int mw__fed_fanout(mw_fed *f, mw_arena *a, const char *const *shards, size_t n, const mw_fed_req *req,
                   int64_t deadline_ns, const _Atomic int *stop, mw_fed_part **parts);

/* --- merges (query/fed_merge.c) ----------------------------------------------------
 * Each fills out from the parts: a pass-through error (a request refused
 * by a shard), 503 when no shard answered, else the merged answer. A part
 * whose body is not JSON is marked missing in place (rc MW_EIO), so that
 * mw__fed_missing, called after, names it too. */

/* "a, b" of the missing shards, or NULL when none is. */
const char *mw__fed_missing(mw_arena *a, const mw_fed_part *p, size_t n);

enum mw_fed_trace_form { MW_FED_TRACE_V1, MW_FED_TRACE_V2, MW_FED_TRACE_PB };
int mw__fed_merge_trace(mw_arena *a, mw_fed_part *p, size_t n, const char *trace_hex, enum mw_fed_trace_form form,
                        mw_answer *out);
int mw__fed_merge_search(mw_arena *a, mw_fed_part *p, size_t n, size_t offset, size_t limit, size_t spss,
                         mw_answer *out);
int mw__fed_merge_services(mw_arena *a, mw_fed_part *p, size_t n, size_t offset, size_t limit, mw_answer *out);
/* /api/v1/sources: every shard's sources in the local order (service,
 * instance), each with its "shard" (source ids are each shard's own). */
int mw__fed_merge_sources(mw_arena *a, mw_fed_part *p, size_t n, size_t offset, size_t limit, mw_answer *out);
int mw__fed_merge_operations(mw_arena *a, mw_fed_part *p, size_t n, const char *service, size_t offset, size_t limit,
                             mw_answer *out);
/* Timeline, between the rounds: the whole trace's window over the shards'
 * parts (its range plus margin_ns each side); redo[i] when shard i's lanes
 * cover another window (it is asked again with this one). Returns 0 when no
 * part has the trace. */
int mw__fed_timeline_window(mw_fed_part *p, size_t n, int64_t margin_ns, int64_t *from_ns, int64_t *to_ns, int *redo);
int mw__fed_merge_timeline(mw_arena *a, mw_fed_part *p, size_t n, const char *trace_hex, mw_answer *out);

/* Explain, round 1: from the trace answers (v1 JSON) of the n shards, the
 * body to post to each owner ({"spans": [...]}, in a) and which shards own
 * spans (owns[i] != 0). A decided answer (not found, refused, none
 * answered, too many spans) fills out and returns 1; else 0. */
typedef struct mw_fed_trace mw_fed_trace; /* the trace's spans with their owners, in a */
int mw__fed_explain_spans(mw_arena *a, mw_fed_part *p, size_t n, const char *trace_hex, mw_fed_trace **t, char **body,
                          size_t *body_len, int *owns, mw_answer *out);
/* Explain, round 2: p2[i] is the explanation of shard i (for shards that own
 * spans; others rc MW_ENOTFOUND). missing1 are round 1's parts (a shard
 * missing there is reported too). */
int mw__fed_merge_explain(mw_arena *a, const mw_fed_trace *t, const mw_fed_part *p1, mw_fed_part *p2, size_t n,
                          const char *trace_hex, mw_answer *out);

/* Compare, round 1: from the operations listings (sub-requests, with
 * histograms) of the service, the operation's count and its p50 and p90 over
 * every shard (holds[i]: shard i has it). A decided answer fills out and
 * returns 1; else 0. */
int mw__fed_compare_thresholds(mw_arena *a, mw_fed_part *p, size_t n, const char *service, const char *name,
                               int64_t *p50, int64_t *p90, int *holds, mw_answer *out);
/* Compare, round 2: p2[i] is shard i's comparison in the raw form, with
 * those thresholds (others rc MW_ENOTFOUND). */
int mw__fed_merge_compare(mw_arena *a, const mw_fed_part *p1, mw_fed_part *p2, size_t n, const char *service,
                          const char *name, int64_t p50, int64_t p90, mw_answer *out);

/* Tempo's tag names (values 0; v2: by scope) and values (values 1; v2:
 * typed): the union of the shards' lists, sorted, at most limit (per scope). */
int mw__fed_merge_tags(mw_arena *a, mw_fed_part *p, size_t n, int v2, int values, size_t limit, mw_answer *out);

/* The operation-percentile histogram a shard sends on a sub-request
 * (docs/FEDERATION.md, "Operations"): bucket of d ns. */
int mw__fed_bucket(int64_t d);
/* The value a bucket stands for (its geometric middle; 0 for bucket -1). */
int64_t mw__fed_bucket_value(int b);

#endif

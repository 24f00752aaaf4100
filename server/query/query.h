/* The way into the store's reads, and what comes out: answers.
 *
 * A request that reads runs as one mw_query. mw__query_begin binds the
 * request's time limit to the thread; the query functions of query/
 * (traces.h, catalog.h, runtime.h, explain.h, timeline.h, compare.h,
 * span_profile.h) open the query's one read transaction when they first
 * read (mw__query_open), so that everything the answer says comes from one
 * state of the database, and fill an mw_answer: a body with its content
 * type, or an error code with a message for the client. mw__query_end ends
 * the transaction and says whether the limit cut the reads short (then no
 * answer they made is the answer). A request refused for its parameters
 * never opens one.
 *
 * Callers (server/http/) parse a request's parameters into the plain structs
 * these functions take and write the answer; they never read the store. */
#ifndef MW_QUERY_QUERY_H
#define MW_QUERY_QUERY_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/jsonw.h"
#include "store/store.h"

struct mw_answer;

typedef struct mw_query {
  mw_store *store;
  mw_arena *arena; /* the request's: what the reads return lives here */
  mw_read *rd;     /* the request's one read transaction, once opened */
  mw_query_limit limit;
} mw_query;

/* Starts a query on s whose reads stop at deadline_ns (monotonic; 0: none)
 * or once *abort becomes non-zero (NULL: never); its rows live in a. End it
 * with mw__query_end, on the same thread. */
void mw__query_begin(mw_query *q, mw_store *s, mw_arena *a, int64_t deadline_ns, const _Atomic int *abort);
/* What every query function does first: makes *out an empty answer and opens
 * q's read transaction, once per query. Returns 0, or fails *out (MW_EIO, or
 * the reason the limit stopped the query already) and returns its code. */
int mw__query_open(mw_query *q, struct mw_answer *out);
/* Ends q's transaction, if one was opened. Returns 0, or why the limit
 * stopped its reads (MW_ETIMEDOUT, MW_ESHUTDOWN, or MW_EBUSY when the writer
 * needed the WAL emptied): the answer made from them is then not to be sent. */
int mw__query_end(mw_query *q);

/* --- answers ------------------------------------------------------------------ */

enum { MW_ANSWER_ERROR_MAX = 512 };

typedef struct mw_answer mw_answer;
struct mw_answer {
  int rc;                          /* MW_OK, or what went wrong (core/error.h) */
  char error[MW_ANSWER_ERROR_MAX]; /* rc != 0: what to tell the client */
  const char *content_type;        /* rc == 0 */
  mw_buf body;                     /* rc == 0; the caller takes it (mw__buf_detach) or frees it */
  char filename[64];               /* rc == 0: when set, the body is a download of this name */
};

/* An empty answer (nothing to free). */
void mw__answer_init(mw_answer *a);
/* Starts a JSON answer of at most max bytes, written through w. */
void mw__answer_json(mw_answer *a, size_t max, mw_jsonw *w);
/* Starts an answer of bytes (content_type static) of at most max bytes. */
void mw__answer_bytes(mw_answer *a, const char *content_type, size_t max);
/* Makes a an answer of bytes (content_type static): the zstd frame z (zl
 * bytes) decompressed, which must give exactly size bytes; what names it in
 * the error when it does not ("the stored payload of snapshot 7"). Returns
 * a->rc. */
int mw__answer_unzstd(mw_answer *a, const char *content_type, const uint8_t *z, size_t zl, int64_t size,
                      const char *what);
/* Ends a JSON answer: a body that did not fit or found no memory becomes the
 * error saying so (never a cut body). Returns a->rc. */
int mw__answer_end(mw_answer *a, const mw_jsonw *w);
/* Makes a an error answer (its body freed). Returns rc. */
int mw__answer_fail(mw_answer *a, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Frees the body, if any. */
void mw__answer_free(mw_answer *a);

/* Pages (docs/API.md, "Pages"): at most MW_PAGE_ROWS rows (the default
 * too), and rows only until their text passes MW_PAGE_BYTES (a page holds at
 * least one row). */
enum { MW_PAGE_ROWS = 1000, MW_PAGE_BYTES = 1 << 20 };
/* Writes "more" and, when more rows follow, "next_offset": the offset of the
 * next page (next; 0 = none). */
void mw__jw_page(mw_jsonw *w, size_t next);
/* Room a JSON answer needs for string s (escaping can make a byte six). */
size_t mw__json_room(const char *s);

#endif

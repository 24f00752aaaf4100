/* One read transaction per request, and answers (see query.h). */
#include "query/query.h"
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <zstd.h>

void mw__query_begin(mw_query *q, mw_store *s, mw_arena *a, int64_t deadline_ns, const _Atomic int *abort) {
  memset(q, 0, sizeof *q);
  q->store = s;
  q->arena = a;
  q->limit.deadline_ns = deadline_ns;
  q->limit.abort = abort;
  mw__store_limit(&q->limit);
}

int mw__query_open(mw_query *q, mw_answer *out) {
  mw__answer_init(out);
  if (q->rd) return MW_OK;
  int rc = mw__read_begin(q->store, &q->rd);
  return rc ? mw__answer_fail(out, rc, "cannot read the database: %s", mw__strerror(rc)) : MW_OK;
}

int mw__query_end(mw_query *q) {
  mw__read_end(q->rd);
  q->rd = NULL;
  mw__store_limit(NULL);
  return q->limit.stopped;
}

void mw__answer_init(mw_answer *a) {
  a->rc = MW_OK;
  a->error[0] = '\0';
  a->content_type = NULL;
  a->filename[0] = '\0';
  mw__buf_init(&a->body, 0);
}

static void start(mw_answer *a, const char *content_type, size_t max) {
  a->rc = MW_OK;
  a->error[0] = '\0';
  a->content_type = content_type;
  a->filename[0] = '\0';
  mw__buf_init(&a->body, max);
}

void mw__answer_json(mw_answer *a, size_t max, mw_jsonw *w) {
  start(a, "application/json", max);
  mw__jw_init(w, &a->body);
}

void mw__answer_bytes(mw_answer *a, const char *content_type, size_t max) { start(a, content_type, max); }

int mw__answer_unzstd(mw_answer *a, const char *content_type, const uint8_t *z, size_t zl, int64_t size,
                      const char *what) {
  size_t n = size > 0 ? (size_t)size : 0;
  start(a, content_type, n);
  char *p = n ? mw__buf_reserve(&a->body, n) : NULL;
  if (n && !p) return mw__answer_fail(a, MW_ENOMEM, "out of memory");
  size_t got = n ? ZSTD_decompress(p, n, z, zl) : 0;
  if (ZSTD_isError(got) || got != n) return mw__answer_fail(a, MW_EIO, "%s does not decompress", what);
  a->body.len = got;
  if (p) p[got] = '\0';
  return MW_OK;
}

int mw__answer_fail(mw_answer *a, int rc, const char *fmt, ...) {
  mw__buf_free(&a->body);
  a->rc = rc;
  a->content_type = NULL;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(a->error, sizeof a->error, fmt, ap);
  va_end(ap);
  return rc;
}

int mw__answer_end(mw_answer *a, const mw_jsonw *w) {
  int err = a->body.err ? a->body.err : mw__jw_error(w);
  if (err == MW_ETOOBIG)
    return mw__answer_fail(a, err,
                           "the answer would be larger than %zu MiB: ask for less (a narrower time window, a smaller "
                           "limit, or the next page)",
                           a->body.max >> 20);
  if (err) return mw__answer_fail(a, MW_ENOMEM, "out of memory rendering the answer: retry");
  return a->rc;
}

void mw__answer_free(mw_answer *a) { mw__buf_free(&a->body); }

void mw__jw_page(mw_jsonw *w, size_t next) {
  mw__jw_kbool(w, "more", next > 0);
  if (next) mw__jw_kint(w, "next_offset", (int64_t)next);
}

size_t mw__json_room(const char *s) { return s ? 6 * strlen(s) + 16 : 0; }

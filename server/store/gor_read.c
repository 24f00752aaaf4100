/* Reads for goroutine growth and GC pressure (see gor_read.h). Each runs one
 * statement through an index and stops at its limit; a statement that fails
 * part way fails the read. */
#include "store/gor_read.h"
#include "core/error.h"
#include "store/block_read.h"
#include "store/block_sql.h"
#include "store/readers.h"
#include "store/span_block.h"

#include <stdlib.h>
#include <string.h>

int mw__store_gor_counts(mw_read *r, mw_arena *a, int64_t snapshot_id, size_t limit, mw_gor_count **out, size_t *n,
                         int *more) {
  *out = NULL;
  *n = 0;
  *more = 0;
  int rc = MW_OK;
  size_t cap = 0;
  /* kept prepared: goroutine growth runs it for up to 1,000 snapshots */
  sqlite3_stmt *st = mw__reader_stmt(r, MW_RS_GOR_COUNTS,
                                     "SELECT stack_id, sum(count) FROM goroutine_groups WHERE snapshot_id = ?1 "
                                     "GROUP BY stack_id LIMIT ?2");
  if (!st) return MW_EIO;
  sqlite3_bind_int64(st, 1, snapshot_id);
  sqlite3_bind_int64(st, 2, (int64_t)limit + 1);
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == limit) {
      *more = 1;
      break;
    }
    if (!(*out = mw__grow(a, *out, *n, &cap, sizeof **out))) {
      rc = MW_ENOMEM;
      break;
    }
    (*out)[*n].stack_id = sqlite3_column_int64(st, 0);
    (*out)[(*n)++].count = sqlite3_column_int64(st, 1);
  }
  if (!rc && step != SQLITE_ROW && step != SQLITE_DONE) rc = mw__read_failed(r, step);
  sqlite3_reset(st);
  return rc;
}

int mw__store_stack_frames(mw_read *r, mw_arena *a, int64_t stack_id, const char **frames) {
  int rc = MW_ENOTFOUND;
  sqlite3_stmt *st = mw__prepare(r, "SELECT frames FROM stacks WHERE id = ?1");
  if (!st) return MW_EIO;
  sqlite3_bind_int64(st, 1, stack_id);
  int step = sqlite3_step(st);
  if (step == SQLITE_ROW) rc = (*frames = mw__col_text(a, st, 0)) ? MW_OK : MW_ENOMEM;
  else if (step != SQLITE_DONE) rc = mw__read_failed(r, step);
  sqlite3_finalize(st);
  return rc;
}

static int cmp_src_start(const void *x, const void *y) {
  const mw_src_span *p = x, *q = y;
  return (p->start_ns > q->start_ns) - (p->start_ns < q->start_ns);
}

/* The spans of source_id's sealed blocks (BW) starting in [start, end), the
 * first `keep` by start into *v (*n of *cap): blocks in first_ns order, read
 * until `keep` are held and the next block starts after all of them. */
static int block_source_spans(mw_read *r, mw_arena *a, int64_t source_id, int64_t start_ns, int64_t end_ns, size_t keep,
                              mw_src_span **v, size_t *n, size_t *cap) {
  sqlite3_stmt *st = mw__prepare(r, MW__BW_SQL);
  if (!st) return MW_EIO;
  ZSTD_DCtx *own = NULL, *dctx = r->dctx ? r->dctx : (own = ZSTD_createDCtx());
  sqlite3_bind_int64(st, 1, source_id);
  sqlite3_bind_int64(st, 2, start_ns < INT64_MIN + 120000000000LL ? INT64_MIN + 120000000000LL : start_ns);
  sqlite3_bind_int64(st, 3, end_ns);
  int rc = dctx ? MW_OK : MW_ENOMEM, step = SQLITE_DONE;
  while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n >= keep) { /* hold the first `keep`; none of a block starting after them can enter */
      qsort(*v, *n, sizeof **v, cmp_src_start);
      *n = keep;
      if (sqlite3_column_int64(st, 1) > (*v)[keep - 1].start_ns) break;
    }
    mw__sb_block *b;
    mw__sb_info info;
    const void *data = sqlite3_column_blob(st, 2);
    if ((rc = mw__sb_open(a, dctx, data ? data : "", (size_t)sqlite3_column_bytes(st, 2), &b))) break;
    mw__sb_info_get(b, &info);
    for (size_t i = 0; i < info.n && !rc; i++) {
      mw_src_span s;
      if ((rc = mw__sb_get_ids(b, i, s.trace_id, s.span_id, &s.start_ns, &s.dur_ns, &s.op_id))) break;
      if (s.start_ns < start_ns || s.start_ns >= end_ns) continue;
      if (!(*v = mw__grow(a, *v, *n, cap, sizeof **v))) rc = MW_ENOMEM;
      else (*v)[(*n)++] = s;
    }
  }
  if (!rc && step != SQLITE_ROW && step != SQLITE_DONE) rc = mw__read_failed(r, step);
  sqlite3_finalize(st);
  ZSTD_freeDCtx(own);
  return rc;
}

typedef struct src_acc {
  mw_arena *a;
  mw_src_span **v;
  size_t *n, *cap;
} src_acc;

static int view_src(void *user, const mw__sb_span *sp, int64_t source_id) {
  src_acc *c = user;
  (void)source_id;
  if (!(*c->v = mw__grow(c->a, *c->v, *c->n, c->cap, sizeof **c->v))) return MW_ENOMEM;
  mw_src_span *s = &(*c->v)[(*c->n)++];
  memcpy(s->trace_id, sp->trace_id, 16);
  memcpy(s->span_id, sp->span_id, 8);
  s->op_id = sp->op_id;
  s->start_ns = sp->start_ns;
  s->dur_ns = sp->dur_ns;
  return MW_OK;
}

int mw__store_source_spans(mw_read *r, mw_arena *a, int64_t source_id, int64_t start_ns, int64_t end_ns, size_t limit,
                           mw_src_span **out, size_t *n, int *more) {
  *out = NULL;
  *n = 0;
  *more = 0;
  size_t cap = 0;
  /* the blocks' first limit + 1 and memory's (V), then the old rows', merged by start */
  int rc = block_source_spans(r, a, source_id, start_ns, end_ns, limit + 1, out, n, &cap);
  if (!rc && r->pool && r->pool->blk) {
    src_acc v = {a, out, n, &cap};
    rc = mw__store_view_spans(r, a, source_id, 0, start_ns, end_ns, view_src, &v);
  }
  if (rc) return rc;
  size_t from_blocks = *n;
  sqlite3_stmt *st = mw__prepare(r, "SELECT trace_id, span_id, op_id, start_ns, dur_ns FROM spans INDEXED BY "
                                    "spans_by_source WHERE source_id = ?1 AND start_ns >= ?2 AND start_ns < ?3 "
                                    "ORDER BY start_ns LIMIT ?4");
  if (!st) return MW_EIO;
  sqlite3_bind_int64(st, 1, source_id);
  sqlite3_bind_int64(st, 2, start_ns);
  sqlite3_bind_int64(st, 3, end_ns);
  sqlite3_bind_int64(st, 4, (int64_t)limit + 1);
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    if (!from_blocks && *n == limit) {
      *more = 1;
      break;
    }
    if (sqlite3_column_bytes(st, 0) != 16 || sqlite3_column_bytes(st, 1) != 8) continue;
    if (!(*out = mw__grow(a, *out, *n, &cap, sizeof **out))) {
      rc = MW_ENOMEM;
      break;
    }
    mw_src_span *s = &(*out)[(*n)++];
    memcpy(s->trace_id, sqlite3_column_blob(st, 0), 16);
    memcpy(s->span_id, sqlite3_column_blob(st, 1), 8);
    s->op_id = sqlite3_column_int64(st, 2);
    s->start_ns = sqlite3_column_int64(st, 3);
    s->dur_ns = sqlite3_column_int64(st, 4);
  }
  if (!rc && step != SQLITE_ROW && step != SQLITE_DONE) rc = mw__read_failed(r, step);
  sqlite3_finalize(st);
  if (!rc && from_blocks) {
    qsort(*out, *n, sizeof **out, cmp_src_start);
    if (*n > limit) {
      *n = limit;
      *more = 1;
    }
  }
  return rc;
}

int mw__store_source_cpu(mw_read *r, mw_arena *a, int64_t source_id, int64_t start_ns, int64_t end_ns, size_t limit,
                         mw_src_cpu **out, size_t *n, int *more) {
  *out = NULL;
  *n = 0;
  *more = 0;
  int rc = MW_OK;
  size_t cap = 0;
  sqlite3_stmt *st = mw__prepare(
      r, "SELECT p.span_id, sn.id, sn.at_ns, sn.duration_ns, sn.meta, st.frames, p.vals FROM snapshots sn "
         "INDEXED BY snapshots_by_source JOIN profile_samples p ON p.snapshot_id = sn.id "
         "JOIN stacks st ON st.id = p.stack_id WHERE sn.source_id = ?1 AND sn.at_ns >= ?2 AND sn.at_ns < ?3 "
         "AND sn.kind = 'cpu' AND p.span_id IS NOT NULL ORDER BY p.span_id, sn.at_ns LIMIT ?4");
  if (!st) return MW_EIO;
  sqlite3_bind_int64(st, 1, source_id);
  sqlite3_bind_int64(st, 2, start_ns);
  sqlite3_bind_int64(st, 3, end_ns);
  sqlite3_bind_int64(st, 4, (int64_t)limit + 1);
  int step;
  /* the rows of one profile share its meta: copied once per profile */
  int64_t meta_of = -1;
  const char *meta = NULL;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == limit) {
      *more = 1;
      break;
    }
    if (sqlite3_column_bytes(st, 0) != 8) continue;
    if (!(*out = mw__grow(a, *out, *n, &cap, sizeof **out))) {
      rc = MW_ENOMEM;
      break;
    }
    mw_src_cpu *c = &(*out)[(*n)++];
    memcpy(c->span_id, sqlite3_column_blob(st, 0), 8);
    c->snapshot_id = sqlite3_column_int64(st, 1);
    c->at_ns = sqlite3_column_int64(st, 2);
    c->dur_ns = sqlite3_column_int64(st, 3);
    if (c->snapshot_id != meta_of) {
      meta = mw__col_text(a, st, 4);
      meta_of = c->snapshot_id;
    }
    c->meta_json = meta;
    c->frames = mw__col_text(a, st, 5);
    c->vals_json = mw__col_text(a, st, 6);
    if (!c->meta_json || !c->frames || !c->vals_json) {
      rc = MW_ENOMEM;
      break;
    }
  }
  if (!rc && step != SQLITE_ROW && step != SQLITE_DONE) rc = mw__read_failed(r, step);
  sqlite3_finalize(st);
  return rc;
}

int mw__store_operation(mw_read *r, mw_arena *a, int64_t op_id, const char **service, const char **name) {
  int rc = MW_ENOTFOUND;
  sqlite3_stmt *st = mw__prepare(r, "SELECT service, name FROM operations WHERE id = ?1");
  if (!st) return MW_EIO;
  sqlite3_bind_int64(st, 1, op_id);
  int step = sqlite3_step(st);
  if (step == SQLITE_ROW) {
    *service = mw__col_text(a, st, 0);
    *name = mw__col_text(a, st, 1);
    rc = *service && *name ? MW_OK : MW_ENOMEM;
  } else if (step != SQLITE_DONE) {
    rc = mw__read_failed(r, step);
  }
  sqlite3_finalize(st);
  return rc;
}

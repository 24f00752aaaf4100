/* Read queries over spans (see store.h). Each runs in the caller's read
 * transaction and copies what it returns into the caller's arena. Spans are
 * old `spans` rows, sealed blocks (span_blocks, block_ops, trace_runs) and
 * the writer's memory (the view V, store/blocks.h): every query reads all
 * three (docs/STORAGE-WIRING.md §1; block_read.h, block_sql.h). */
#include "store/readers.h"
#include "store/reader_sql.h"
#include "store/block_read.h"
#include "store/block_sql.h"
#include "store/block_write.h"
#include "store/blocks.h"
#include "store/span_block.h"
#include "store/sref.h"
#include "store/trace_runs.h"
#include "core/bmap.h"
#include "core/error.h"
#include "core/log.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Durations read per operation for a listing's percentiles: the latest
 * 10,000 of the window (a p99 from them is off by at most a few ranks), so
 * that a listing costs the same however much is kept, and stays short enough
 * not to hold the WAL open (store/checkpoint.c). */
enum { PCT_SAMPLE = 10000 };

static int prep(mw_read *r, const char *sql, sqlite3_stmt **st) { return (*st = mw__prepare(r, sql)) ? MW_OK : MW_EIO; }

/* Appends blob (id) to a small set unless present. */
static int add_blob_id(mw_stored_blob *set, size_t *n, int64_t id) {
  for (size_t i = 0; i < *n; i++)
    if (set[i].id == id) return 0;
  set[(*n)++].id = id;
  return 1;
}

/* The blob of each id of set (empty for an id that is gone). */
static int load_blobs(mw_read *r, mw_arena *a, const char *sql, mw_stored_blob *set, size_t n) {
  sqlite3_stmt *st;
  if (prep(r, sql, &st)) return MW_EIO;
  int rc = MW_OK;
  for (size_t i = 0; i < n && !rc; i++) {
    sqlite3_bind_int64(st, 1, set[i].id);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) set[i].data = mw__col_blob(a, st, 0, &set[i].len);
    else set[i].data = (const uint8_t *)"", set[i].len = 0;
    if (step != SQLITE_ROW && step != SQLITE_DONE) rc = mw__read_failed(r, step);
    else if (!set[i].data) rc = MW_ENOMEM;
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  return rc;
}

/* --- sealed blocks: TR(id) (docs/STORAGE-WIRING.md §1) ----------------------- */

/* What one query over blocks keeps: the trace index reader, the statements,
 * a zstd context and the op names met so far. */
typedef struct blk_rd {
  mw_read *r;
  mw_arena *a;
  ZSTD_DCtx *dctx, *own_dctx;
  mw__truns_rd *runs;
  sqlite3_stmt *block, *op_name;
  struct blk_op {
    int64_t id;
    const char *name, *service;
  } * ops;
  size_t n_ops, ops_cap;
} blk_rd;

/* The reader's decompression context: its connection's (readers.c makes
 * one with it); a query on a reader without one makes its own, freed by
 * blk_end. */
static ZSTD_DCtx *reader_dctx(mw_read *r, ZSTD_DCtx **own) {
  *own = NULL;
  return r->dctx ? r->dctx : (*own = ZSTD_createDCtx());
}

static void blk_end(blk_rd *b) {
  if (b->block) sqlite3_reset(b->block); /* the connection's: not finalized */
  if (b->op_name) sqlite3_reset(b->op_name);
  ZSTD_freeDCtx(b->own_dctx);
  memset(b, 0, sizeof *b);
}

static int blk_begin(mw_read *r, mw_arena *a, blk_rd *b) {
  memset(b, 0, sizeof *b);
  b->r = r;
  b->a = a;
  if (!(b->dctx = reader_dctx(r, &b->own_dctx))) return MW_ENOMEM;
  /* cached on the connection: every trace read begins here */
  int rc = r->truns ? MW_OK : mw__truns_rd_open(r->db, &r->truns);
  b->runs = r->truns;
  if (!rc && !(b->block = mw__reader_stmt(r, MW_RS_BLOCK_BY_ID, MW__BLOCK_BY_ID_SQL))) rc = MW_EIO;
  if (!rc && !(b->op_name = mw__reader_stmt(r, MW_RS_OP_NAME, MW__OP_NAME_SQL))) rc = MW_EIO;
  if (rc) blk_end(b);
  return rc;
}

/* The name and service of operation id (cached for the query); NULLs when
 * the operation is gone. */
static int op_names(blk_rd *b, int64_t id, const char **name, const char **service) {
  for (size_t i = 0; i < b->n_ops; i++)
    if (b->ops[i].id == id) {
      *name = b->ops[i].name, *service = b->ops[i].service;
      return MW_OK;
    }
  if (!(b->ops = mw__grow(b->a, b->ops, b->n_ops, &b->ops_cap, sizeof *b->ops))) return MW_ENOMEM;
  struct blk_op *o = &b->ops[b->n_ops];
  o->id = id;
  o->name = o->service = NULL;
  sqlite3_bind_int64(b->op_name, 1, id);
  int step = sqlite3_step(b->op_name);
  if (step == SQLITE_ROW) {
    o->name = mw__col_text(b->a, b->op_name, 0);
    o->service = mw__col_text(b->a, b->op_name, 1);
  }
  sqlite3_reset(b->op_name);
  if (step != SQLITE_ROW && step != SQLITE_DONE) return mw__read_failed(b->r, step);
  if (step == SQLITE_ROW && (!o->name || !o->service)) return MW_ENOMEM;
  b->n_ops++;
  *name = o->name, *service = o->service;
  return MW_OK;
}

/* Where TR hands what it finds: the spans [first, first + count) of a sealed
 * block (those of the trace, in start order), and single spans of V's open
 * blocks. A handler returns 0 to go on, 1 to stop the lookup, or an error. */
typedef struct tr_sink {
  int (*block)(void *user, blk_rd *b, mw__sb_block *blk, int64_t source_id, size_t first, size_t count);
  int (*span)(void *user, blk_rd *b, const mw_stored_span *s);
  void *user;
} tr_sink;

static int cmp_id(const void *x, const void *y) {
  int64_t p = *(const int64_t *)x, q = *(const int64_t *)y;
  return (p > q) - (p < q);
}

/* Span sp of an in-memory block (V) as a stored span: its body copied into
 * the query's arena (the view's memory lasts only as long as the read
 * transaction), its name from its operation. */
static int mem_span(blk_rd *b, const mw__sb_span *sp, int64_t source_id, mw_stored_span *out) {
  memset(out, 0, sizeof *out);
  memcpy(out->trace_id, sp->trace_id, 16);
  memcpy(out->span_id, sp->span_id, 8);
  memcpy(out->parent_id, sp->parent_id, 8);
  out->has_parent = sp->has_parent;
  out->source_id = source_id;
  out->scope_id = sp->scope_id;
  out->op_id = sp->op_id;
  out->start_ns = sp->start_ns;
  out->dur_ns = sp->dur_ns;
  out->kind = sp->kind;
  out->status = sp->status;
  out->body_len = sp->body_len;
  out->body = sp->body_len ? mw__arena_memdup(b->a, sp->body, sp->body_len) : (const uint8_t *)"";
  if (!out->body) return MW_ENOMEM;
  const char *service;
  int rc = op_names(b, sp->op_id, &out->name, &service);
  if (!rc && !out->name) out->name = "";
  return rc;
}

/* The reader's view V of memory (STORAGE-WIRING §3, store/blocks.h): hands
 * every span of trace_id in an open or retired in-memory block to s->span,
 * and adds to ids (n of cap used, sorted on return, without duplicates) the
 * block ids the partitions name; an id V holds in memory is read from there,
 * not from span_blocks (the snapshot may predate its seal). */
static int view_trace(blk_rd *b, const uint8_t trace_id[16], int64_t key, int64_t *ids, size_t cap, size_t *n,
                      const tr_sink *s) {
  mw__blk *blk = b->r->pool ? b->r->pool->blk : NULL;
  if (!blk) return MW_OK;
  mw__blk_trace t;
  int rc = mw__blk_trace_probe(blk, b->r->seq_at_begin, b->a, key, cap, &t);
  if (rc) return rc;
  for (size_t k = 0; k < t.n_ids; k++) {
    if (*n == cap) return MW_ETOOBIG;
    ids[(*n)++] = t.ids[k];
  }
  if (*n > 1) qsort(ids, *n, sizeof *ids, cmp_id);
  size_t m = 0;
  for (size_t i = 0; i < *n; i++) {
    int held = m && ids[m - 1] == ids[i];
    for (size_t k = 0; k < t.n_refs && !held; k++) held = t.refs[k].block_id == ids[i];
    if (!held) ids[m++] = ids[i];
  }
  *n = m;
  for (size_t k = 0; k < t.n_refs; k++)
    for (size_t i = 0; i < t.refs[k].n; i++) {
      const mw__sb_span *sp = mw__blk_span(&t.refs[k], i);
      if (memcmp(sp->trace_id, trace_id, 16)) continue;
      mw_stored_span st;
      if ((rc = mem_span(b, sp, t.refs[k].source_id, &st)) || (rc = s->span(s->user, b, &st))) return rc;
    }
  return MW_OK;
}

/* TR(id): the blocks the trace index names for trace_id's key (at most
 * MW_TRACE_MAX_BLOCKS, else MW_ETOOBIG), each opened and searched for the
 * full id; a block id retention deleted is skipped. */
static int tr(blk_rd *b, const uint8_t trace_id[16], const tr_sink *s) {
  int64_t key = mw__trace_key(trace_id), ids[MW_TRACE_MAX_BLOCKS];
  size_t n = 0;
  int rc = mw__truns_lookup(b->runs, NULL, key, MW_TRUNS_ONE_STATEMENT, ids, MW_TRACE_MAX_BLOCKS, &n);
  if (rc) return rc == MW_ETOOBIG ? rc : mw__read_failed(b->r, SQLITE_ERROR);
  if ((rc = view_trace(b, trace_id, key, ids, MW_TRACE_MAX_BLOCKS, &n, s))) return rc < 0 ? rc : MW_OK;
  for (size_t i = 0; i < n && !rc; i++) {
    sqlite3_bind_int64(b->block, 1, ids[i]);
    int step = sqlite3_step(b->block);
    if (step == SQLITE_ROW) {
      mw__sb_block *blk;
      size_t first, count;
      const void *data = sqlite3_column_blob(b->block, 1);
      size_t len = (size_t)sqlite3_column_bytes(b->block, 1);
      if (!(rc = mw__sb_open(b->a, b->dctx, data ? data : "", len, &blk)) &&
          !(rc = mw__sb_find_trace(blk, trace_id, &first, &count)) && count)
        rc = s->block(s->user, b, blk, sqlite3_column_int64(b->block, 0), first, count);
      if (rc == MW_EIO) mw__error("span block unreadable", "block=%lld", (long long)ids[i]);
    } else if (step != SQLITE_DONE) { /* DONE: deleted by retention since */
      rc = mw__read_failed(b->r, step);
    }
    sqlite3_reset(b->block); /* the block's data is read no more: its columns are decoded into the arena */
  }
  return rc < 0 ? rc : MW_OK;
}

#define MW__SPAN_WHOLE_COLS                                                                                            \
  "SELECT s.trace_id, s.span_id, s.parent_id, s.source_id, s.scope_id, o.name, s.start_ns, s.dur_ns, s.kind, "         \
  "s.status, s.body, s.op_id FROM spans s JOIN operations o ON o.id = s.op_id "

/* The row st stands on (MW__SPAN_WHOLE_COLS) into sp; MW_ENOMEM. */
static int whole_span(mw_arena *a, sqlite3_stmt *st, mw_stored_span *sp) {
  memset(sp, 0, sizeof *sp);
  if (sqlite3_column_bytes(st, 0) == 16) memcpy(sp->trace_id, sqlite3_column_blob(st, 0), 16);
  if (sqlite3_column_bytes(st, 1) == 8) memcpy(sp->span_id, sqlite3_column_blob(st, 1), 8);
  if (sqlite3_column_bytes(st, 2) == 8) {
    memcpy(sp->parent_id, sqlite3_column_blob(st, 2), 8);
    sp->has_parent = 1;
  }
  sp->source_id = sqlite3_column_int64(st, 3);
  sp->scope_id = sqlite3_column_int64(st, 4);
  sp->name = mw__col_text(a, st, 5);
  sp->start_ns = sqlite3_column_int64(st, 6);
  sp->dur_ns = sqlite3_column_int64(st, 7);
  sp->kind = sqlite3_column_int(st, 8);
  sp->status = sqlite3_column_int(st, 9);
  sp->body = mw__col_blob(a, st, 10, &sp->body_len);
  sp->op_id = sqlite3_column_int64(st, 11);
  return sp->name && sp->body ? MW_OK : MW_ENOMEM;
}

/* Span i of blk, whole, with its source and operation name. */
static int block_span(blk_rd *b, mw__sb_block *blk, int64_t source_id, size_t i, mw_stored_span *sp) {
  int rc = mw__sb_get(blk, i, sp);
  if (rc) return rc;
  const char *service;
  sp->source_id = source_id;
  if ((rc = op_names(b, sp->op_id, &sp->name, &service))) return rc;
  if (!sp->name) sp->name = ""; /* its operation is gone (retention), the span not yet */
  return MW_OK;
}

/* The spans of a trace read so far, from old rows and blocks. */
typedef struct trace_acc {
  const uint8_t *trace_id;
  mw_stored_span *v;
  size_t n, cap, max, check_at;
} trace_acc;

static int cmp_span_start(const void *x, const void *y) {
  const mw_stored_span *p = x, *q = y;
  if (p->start_ns != q->start_ns) return (p->start_ns > q->start_ns) - (p->start_ns < q->start_ns);
  return memcmp(p->span_id, q->span_id, 8);
}

/* Drops the spans stored twice (a re-sent request, or a span that was in
 * memory and is now also in a block): the first read of each span id stays
 * (old rows are read first). */
static int dedup_spans(trace_acc *t) {
  if (t->n < 2) return MW_OK;
  mw_bmap *seen = mw__bmap_new(0);
  if (!seen) return MW_ENOMEM;
  size_t k = 0;
  int rc = MW_OK;
  for (size_t i = 0; i < t->n && !rc; i++) {
    int64_t one;
    if (mw__bmap_get(seen, t->v[i].span_id, 8, &one)) continue;
    if (!(rc = mw__bmap_put(seen, t->v[i].span_id, 8, 1))) t->v[k++] = t->v[i];
  }
  mw__bmap_free(seen);
  if (!rc) t->n = k;
  return rc;
}

/* Room for one more span: MW_ETOOBIG once more than max distinct spans. */
static int acc_room(trace_acc *t, mw_arena *a) {
  if (t->n >= t->max && t->n >= t->check_at) {
    int rc = dedup_spans(t);
    if (rc) return rc;
    if (t->n >= t->max) return MW_ETOOBIG;
    t->check_at = 2 * t->n > t->max ? 2 * t->n : t->max;
  }
  return (t->v = mw__grow(a, t->v, t->n, &t->cap, sizeof *t->v)) ? MW_OK : MW_ENOMEM;
}

static int acc_block(void *user, blk_rd *b, mw__sb_block *blk, int64_t source_id, size_t first, size_t count) {
  trace_acc *t = user;
  for (size_t i = first; i < first + count; i++) {
    int rc = acc_room(t, b->a);
    if (!rc) rc = block_span(b, blk, source_id, i, &t->v[t->n]);
    if (rc) return rc;
    if (!memcmp(t->v[t->n].trace_id, t->trace_id, 16)) t->n++;
  }
  return MW_OK;
}

static int acc_span(void *user, blk_rd *b, const mw_stored_span *s) {
  trace_acc *t = user;
  int rc = acc_room(t, b->a);
  if (!rc) t->v[t->n++] = *s;
  return rc;
}

int mw__store_read_trace(mw_read *r, mw_arena *a, const uint8_t trace_id[16], size_t max_spans, mw_trace_rows *out) {
  memset(out, 0, sizeof *out);
  sqlite3_stmt *st = NULL;
  blk_rd b = {0};
  trace_acc t = {.trace_id = trace_id, .max = max_spans};
  int rc = prep(r, MW__SPAN_WHOLE_COLS "WHERE s.trace_id = ?1 ORDER BY s.start_ns", &st);
  if (rc) goto out;
  sqlite3_bind_blob(st, 1, trace_id, 16, SQLITE_STATIC);
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) { /* old rows: one per span id (spans_by_trace is unique) */
    if (t.n == max_spans) {
      rc = MW_ETOOBIG;
      goto out;
    }
    if (!(t.v = mw__grow(a, t.v, t.n, &t.cap, sizeof *t.v))) {
      rc = MW_ENOMEM;
      goto out;
    }
    if ((rc = whole_span(a, st, &t.v[t.n++]))) goto out;
  }
  if (step != SQLITE_DONE) {
    rc = mw__read_failed(r, step);
    goto out;
  }
  t.check_at = max_spans;
  if ((rc = blk_begin(r, a, &b))) goto out;
  size_t old = t.n;
  if ((rc = tr(&b, trace_id, &(tr_sink){acc_block, acc_span, &t}))) goto out;
  if (t.n > old) {
    if ((rc = dedup_spans(&t))) goto out;
    if (t.n > max_spans) {
      rc = MW_ETOOBIG;
      goto out;
    }
    qsort(t.v, t.n, sizeof *t.v, cmp_span_start);
  }
  out->spans = t.v;
  out->n_spans = t.n;
  out->sources = mw__arena_calloc(a, out->n_spans + 1, sizeof *out->sources);
  out->scopes = mw__arena_calloc(a, out->n_spans + 1, sizeof *out->scopes);
  if (!out->sources || !out->scopes) {
    rc = MW_ENOMEM;
    goto out;
  }
  for (size_t i = 0; i < out->n_spans; i++) {
    add_blob_id(out->sources, &out->n_sources, out->spans[i].source_id);
    add_blob_id(out->scopes, &out->n_scopes, out->spans[i].scope_id);
  }
  if ((rc = load_blobs(r, a, "SELECT resource FROM sources WHERE id = ?1", out->sources, out->n_sources))) goto out;
  rc = load_blobs(r, a, "SELECT body FROM scopes WHERE id = ?1", out->scopes, out->n_scopes);
out:
  if (rc) memset(out, 0, sizeof *out);
  blk_end(&b);
  sqlite3_finalize(st);
  return rc;
}

/* --- one span by id ----------------------------------------------------------- */

typedef struct span_find {
  const uint8_t *trace_id, *span_id;
  mw_stored_span *out;
} span_find;

static int find_block(void *user, blk_rd *b, mw__sb_block *blk, int64_t source_id, size_t first, size_t count) {
  span_find *f = user;
  for (size_t i = first; i < first + count; i++) {
    uint8_t tid[16], sid[8];
    int rc = mw__sb_get_ids(blk, i, tid, sid, NULL, NULL, NULL);
    if (rc) return rc;
    if (memcmp(sid, f->span_id, 8) || memcmp(tid, f->trace_id, 16)) continue;
    if ((rc = mw__sb_get(blk, i, f->out))) return rc;
    (void)b;
    f->out->source_id = source_id;
    f->out->body = NULL, f->out->body_len = 0;
    return 1;
  }
  return MW_OK;
}

static int find_span(void *user, blk_rd *b, const mw_stored_span *s) {
  span_find *f = user;
  (void)b;
  if (memcmp(s->span_id, f->span_id, 8) || memcmp(s->trace_id, f->trace_id, 16)) return MW_OK;
  *f->out = *s;
  f->out->body = NULL, f->out->body_len = 0;
  return 1;
}

int mw__store_span_by_id(mw_read *r, mw_arena *a, const uint8_t trace_id[16], const uint8_t span_id[8],
                         mw_stored_span *out) {
  memset(out, 0, sizeof *out);
  sqlite3_stmt *st;
  int rc = prep(r, MW__SPAN_BY_ID_SQL, &st);
  if (rc) return rc;
  sqlite3_bind_blob(st, 1, trace_id, 16, SQLITE_STATIC);
  sqlite3_bind_blob(st, 2, span_id, 8, SQLITE_STATIC);
  int step = sqlite3_step(st);
  if (step == SQLITE_ROW) {
    memcpy(out->trace_id, trace_id, 16);
    memcpy(out->span_id, span_id, 8);
    out->start_ns = sqlite3_column_int64(st, 0);
    out->dur_ns = sqlite3_column_int64(st, 1);
    out->op_id = sqlite3_column_int64(st, 2);
    out->source_id = sqlite3_column_int64(st, 3);
    out->scope_id = sqlite3_column_int64(st, 4);
    if (sqlite3_column_bytes(st, 5) == 8) {
      memcpy(out->parent_id, sqlite3_column_blob(st, 5), 8);
      out->has_parent = 1;
    }
    out->kind = sqlite3_column_int(st, 6);
    out->status = sqlite3_column_int(st, 7);
  } else if (step != SQLITE_DONE) {
    rc = mw__read_failed(r, step);
  }
  sqlite3_finalize(st);
  if (rc || step == SQLITE_ROW) return rc;
  blk_rd b;
  if ((rc = blk_begin(r, a, &b))) return rc;
  span_find f = {trace_id, span_id, out};
  rc = tr(&b, trace_id, &(tr_sink){find_block, find_span, &f});
  blk_end(&b);
  if (rc) return rc;
  return memcmp(out->span_id, span_id, 8) || memcmp(out->trace_id, trace_id, 16) ? MW_ENOTFOUND : MW_OK;
}

/* --- a trace's span ids ----------------------------------------------------- */

typedef struct id_acc {
  const uint8_t *trace_id;
  uint8_t (*v)[8];
  size_t n, cap, max;
} id_acc;

static int id_push(id_acc *t, mw_arena *a, const uint8_t id[8]) {
  if (t->n >= 2 * t->max + 64) return MW_ETOOBIG; /* more than max distinct ones, or a flood of copies */
  if (!(t->v = mw__grow(a, t->v, t->n, &t->cap, sizeof *t->v))) return MW_ENOMEM;
  memcpy(t->v[t->n++], id, 8);
  return MW_OK;
}

static int ids_block(void *user, blk_rd *b, mw__sb_block *blk, int64_t source_id, size_t first, size_t count) {
  id_acc *t = user;
  (void)source_id;
  for (size_t i = first; i < first + count; i++) {
    uint8_t tid[16], sid[8];
    int rc = mw__sb_get_ids(blk, i, tid, sid, NULL, NULL, NULL);
    if (!rc && !memcmp(tid, t->trace_id, 16)) rc = id_push(t, b->a, sid);
    if (rc) return rc;
  }
  return MW_OK;
}

static int ids_span(void *user, blk_rd *b, const mw_stored_span *s) { return id_push(user, b->a, s->span_id); }

static int cmp_id8(const void *x, const void *y) { return memcmp(x, y, 8); }

int mw__store_trace_span_ids(mw_read *r, mw_arena *a, const uint8_t trace_id[16], size_t max, uint8_t (**ids)[8],
                             size_t *n) {
  *ids = NULL;
  *n = 0;
  id_acc t = {.trace_id = trace_id, .max = max};
  sqlite3_stmt *st;
  int rc = prep(r, MW__TRACE_SPAN_IDS_SQL, &st);
  if (rc) return rc;
  sqlite3_bind_blob(st, 1, trace_id, 16, SQLITE_STATIC);
  int step;
  while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW)
    if (sqlite3_column_bytes(st, 0) == 8) rc = id_push(&t, a, sqlite3_column_blob(st, 0));
  if (!rc && step != SQLITE_DONE) rc = mw__read_failed(r, step);
  sqlite3_finalize(st);
  if (rc) return rc;
  blk_rd b;
  if ((rc = blk_begin(r, a, &b))) return rc;
  rc = tr(&b, trace_id, &(tr_sink){ids_block, ids_span, &t});
  blk_end(&b);
  if (rc) return rc;
  if (t.n) qsort(t.v, t.n, sizeof *t.v, cmp_id8);
  size_t k = 0;
  for (size_t i = 0; i < t.n; i++)
    if (!k || memcmp(t.v[i], t.v[k - 1], 8)) memmove(t.v[k++], t.v[i], 8);
  if (k > max) return MW_ETOOBIG;
  *ids = t.v;
  *n = k;
  return MW_OK;
}

/* --- a trace's root and extent ------------------------------------------------ */

typedef struct trace_meta {
  const uint8_t *trace_id;
  int have;       /* a span seen */
  int64_t lo, hi; /* min start, max end */
  int have_root;  /* a parentless span seen */
  int64_t root_start, root_op;
} trace_meta;

static void meta_add(trace_meta *m, const mw_stored_span *s) {
  int64_t end = s->start_ns + s->dur_ns;
  if (!m->have || s->start_ns < m->lo) m->lo = s->start_ns;
  if (!m->have || end > m->hi) m->hi = end;
  m->have = 1;
  if (!s->has_parent && (!m->have_root || s->start_ns < m->root_start)) {
    m->have_root = 1;
    m->root_start = s->start_ns;
    m->root_op = s->op_id;
  }
}

static int meta_block(void *user, blk_rd *b, mw__sb_block *blk, int64_t source_id, size_t first, size_t count) {
  trace_meta *m = user;
  (void)b, (void)source_id;
  for (size_t i = first; i < first + count; i++) {
    mw_stored_span sp;
    int rc = mw__sb_get(blk, i, &sp); /* the parent is in the body's frame set: see STATUS-wr */
    if (rc) return rc;
    if (!memcmp(sp.trace_id, m->trace_id, 16)) meta_add(m, &sp);
  }
  return MW_OK;
}

static int meta_span(void *user, blk_rd *b, const mw_stored_span *s) {
  (void)b;
  meta_add(user, s);
  return MW_OK;
}

/* Fills h, whose trace_id is set, with its trace's root names and extent:
 * the old rows (root and extent statements) and the blocks. */
static int read_hit(mw_read *r, mw_arena *a, sqlite3_stmt *root, sqlite3_stmt *extent, mw_search_hit *h) {
  trace_meta m = {.trace_id = h->trace_id};
  const char *root_service = NULL, *root_name = NULL;
  sqlite3_bind_blob(root, 1, h->trace_id, 16, SQLITE_STATIC);
  int rc = sqlite3_step(root);
  if (rc == SQLITE_ROW) {
    root_service = mw__col_text(a, root, 0);
    root_name = mw__col_text(a, root, 1);
    m.have_root = 1;
    m.root_start = sqlite3_column_int64(root, 2);
    m.root_op = -1;
  }
  sqlite3_reset(root);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return MW_EIO;
  sqlite3_bind_blob(extent, 1, h->trace_id, 16, SQLITE_STATIC);
  rc = sqlite3_step(extent);
  if (rc == SQLITE_ROW && sqlite3_column_type(extent, 0) != SQLITE_NULL) {
    m.have = 1;
    m.lo = sqlite3_column_int64(extent, 0);
    m.hi = sqlite3_column_int64(extent, 1);
  }
  sqlite3_reset(extent);
  if (rc != SQLITE_ROW) return MW_EIO;
  blk_rd b;
  if ((rc = blk_begin(r, a, &b))) return rc;
  rc = tr(&b, h->trace_id, &(tr_sink){meta_block, meta_span, &m});
  if (!rc && m.have_root && m.root_op >= 0) rc = op_names(&b, m.root_op, &root_name, &root_service);
  blk_end(&b);
  if (rc) return rc;
  h->root_service = root_service;
  h->root_name = root_name;
  h->start_ns = m.have ? m.lo : 0;
  h->dur_ns = m.have ? m.hi - m.lo : 0;
  return MW_OK;
}

int mw__store_trace_meta(mw_read *r, mw_arena *a, mw_search_hit *h) {
  sqlite3_stmt *root = NULL, *extent = NULL;
  int rc = prep(r, MW__SEARCH_ROOT_SQL, &root);
  if (!rc) rc = prep(r, MW__SEARCH_EXTENT_SQL, &extent);
  if (!rc) rc = read_hit(r, a, root, extent, h);
  sqlite3_finalize(root);
  sqlite3_finalize(extent);
  return rc;
}

/* A span a search found: its row and duration. */
typedef struct hit_row {
  int64_t rowid, dur_ns;
} hit_row;

static int cmp_hit_row(const void *x, const void *y) {
  const hit_row *p = x, *q = y;
  if (p->dur_ns != q->dur_ns) return (p->dur_ns < q->dur_ns) - (p->dur_ns > q->dur_ns);
  return (p->rowid > q->rowid) - (p->rowid < q->rowid);
}

/* Appends the rows of a stepped statement (row id, duration) to v. */
static int take_rows(sqlite3_stmt *st, mw_arena *a, hit_row **v, size_t *n, size_t *cap) {
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    if (!(*v = mw__grow(a, *v, *n, cap, sizeof **v))) {
      sqlite3_reset(st);
      return MW_ENOMEM;
    }
    (*v)[(*n)++] = (hit_row){sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1)};
  }
  sqlite3_reset(st);
  return step == SQLITE_DONE ? MW_OK : MW_EIO;
}

static int step_int(sqlite3_stmt *st, int64_t op, int64_t *out) {
  sqlite3_bind_int64(st, 1, op);
  int step = sqlite3_step(st);
  *out = step == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  int null = step == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_NULL;
  sqlite3_reset(st);
  return step == SQLITE_ROW && !null ? MW_OK : step == SQLITE_ROW || step == SQLITE_DONE ? MW_ENOTFOUND : MW_EIO;
}

/* Binds a search's filters (?3..?6) and its row budget (?7). */
static void bind_filters(sqlite3_stmt *st, const mw_search_query *q, int64_t rows) {
  sqlite3_bind_int64(st, 3, q->min_dur_ns);
  sqlite3_bind_int64(st, 4, q->max_dur_ns);
  sqlite3_bind_int64(st, 5, q->start_ns);
  sqlite3_bind_int64(st, 6, q->end_ns);
  sqlite3_bind_int64(st, 7, rows);
}

/* An operation's first and last span start over old rows (first, last) and
 * blocks (bfirst, blast: block bounds, the last widened by the 120 s a
 * block's starts may span). MW_ENOTFOUND: it has neither. */
/* The first and last start of each operation's spans in memory (V), for
 * the operations that have no row or block yet: op id -> start, in two maps
 * (NULL without writer memory). */
typedef struct view_bounds {
  mw_bmap *lo, *hi;
} view_bounds;

static int vb_span(void *user, const mw__sb_span *sp, int64_t source_id) {
  view_bounds *vb = user;
  (void)source_id;
  int64_t x;
  if ((!mw__bmap_get(vb->lo, &sp->op_id, sizeof sp->op_id, &x) || sp->start_ns < x) &&
      mw__bmap_put(vb->lo, &sp->op_id, sizeof sp->op_id, sp->start_ns))
    return MW_ENOMEM;
  if ((!mw__bmap_get(vb->hi, &sp->op_id, sizeof sp->op_id, &x) || sp->start_ns > x) &&
      mw__bmap_put(vb->hi, &sp->op_id, sizeof sp->op_id, sp->start_ns))
    return MW_ENOMEM;
  return MW_OK;
}

static int view_bounds_take(mw_read *r, mw_arena *a, view_bounds *vb) {
  vb->lo = vb->hi = NULL;
  if (!r->pool || !r->pool->blk) return MW_OK;
  if (!(vb->lo = mw__bmap_new(0)) || !(vb->hi = mw__bmap_new(0))) return MW_ENOMEM;
  return mw__store_view_spans(r, a, 0, 0, INT64_MIN, INT64_MAX, vb_span, vb);
}

static void view_bounds_free(view_bounds *vb) {
  mw__bmap_free(vb->lo);
  mw__bmap_free(vb->hi);
}

static int op_bounds(sqlite3_stmt *first, sqlite3_stmt *last, sqlite3_stmt *bfirst, sqlite3_stmt *blast,
                     const view_bounds *vb, int64_t id, int64_t *lo, int64_t *hi) {
  int64_t x, y;
  int have = 0, rc = step_int(first, id, &x);
  if (!rc && !(rc = step_int(last, id, &y))) *lo = x, *hi = y, have = 1;
  if (rc && rc != MW_ENOTFOUND) return rc;
  rc = step_int(bfirst, id, &x);
  if (!rc && !(rc = step_int(blast, id, &y))) {
    y = y > INT64_MAX - 120000000000LL ? INT64_MAX : y + 120000000000LL;
    if (!have || x < *lo) *lo = x;
    if (!have || y > *hi) *hi = y;
    have = 1;
  }
  if (rc && rc != MW_ENOTFOUND) return rc;
  if (vb->lo && mw__bmap_get(vb->lo, &id, sizeof id, &x) && mw__bmap_get(vb->hi, &id, sizeof id, &y)) {
    if (!have || x < *lo) *lo = x;
    if (!have || y > *hi) *hi = y;
    have = 1;
  }
  return have ? MW_OK : MW_ENOTFOUND;
}

/* An operation's block spans in a search's window and durations. */
typedef struct op_window {
  int64_t t0, t1, min_dur, max_dur;
  mw__op_span *v;
  size_t n, cap;
} op_window;

static int longest_row(void *user, const mw__op_row *row) {
  op_window *w = user;
  if (row->max_dur_ns < w->min_dur) return MW_OK; /* none of the row is long enough */
  return mw__op_row_spans(row, w->t0, w->t1, w->min_dur, w->max_dur, &w->v, &w->n, &w->cap, MW_OPQ_MAX);
}

static int cmp_op_dur_desc(const void *x, const void *y) {
  const mw__op_span *p = x, *q = y;
  if (p->dur_ns != q->dur_ns) return (p->dur_ns < q->dur_ns) - (p->dur_ns > q->dur_ns);
  return (p->sref > q->sref) - (p->sref < q->sref);
}

/* A search's spans of memory (V): hit rows name them by MEM_SREF(k). */
typedef struct mem_hits {
  mw_arena *a;
  int64_t min_dur, max_dur;
  const mw__sb_span **s;
  int64_t *source;
  size_t n, cap, cap2;
  hit_row **v;
  size_t *nv, *capv;
} mem_hits;

static int view_hit(void *user, const mw__sb_span *sp, int64_t source_id) {
  mem_hits *m = user;
  if (sp->dur_ns < m->min_dur || sp->dur_ns > m->max_dur) return MW_OK;
  if (!(m->s = mw__grow(m->a, m->s, m->n, &m->cap, sizeof *m->s)) ||
      !(m->source = mw__grow(m->a, m->source, m->n, &m->cap2, sizeof *m->source)) ||
      !(*m->v = mw__grow(m->a, *m->v, *m->nv, m->capv, sizeof **m->v)))
    return MW_ENOMEM;
  m->s[m->n] = sp;
  m->source[m->n] = source_id;
  (*m->v)[(*m->nv)++] = (hit_row){MEM_SREF(m->n), sp->dur_ns};
  m->n++;
  return MW_OK;
}

/* The longest `rows` spans of every source's sealed blocks in q's window
 * and durations (a pass over the window's blocks, as MW__SEARCH_ALL_SQL is
 * over old rows), into w->v. */
static int window_longest(mw_read *r, mw_arena *a, const mw_search_query *q, int64_t rows, op_window *w) {
  sqlite3_stmt *src = NULL, *bw = NULL;
  blk_rd b;
  int rc = blk_begin(r, a, &b);
  if (rc) return rc;
  if (!(rc = prep(r, MW__SOURCES_IN_SQL, &src))) rc = prep(r, MW__BW_SQL, &bw);
  int step = SQLITE_DONE;
  if (!rc) {
    sqlite3_bind_int64(src, 1, q->start_ns);
    sqlite3_bind_int64(src, 2, q->end_ns);
  }
  while (!rc && (step = sqlite3_step(src)) == SQLITE_ROW) {
    sqlite3_bind_int64(bw, 1, sqlite3_column_int64(src, 0));
    sqlite3_bind_int64(bw, 2, q->start_ns < INT64_MIN + 120000000000LL ? INT64_MIN + 120000000000LL : q->start_ns);
    sqlite3_bind_int64(bw, 3, q->end_ns);
    int bstep;
    while (!rc && (bstep = sqlite3_step(bw)) == SQLITE_ROW) {
      mw__sb_block *blk;
      mw__sb_info info;
      const void *data = sqlite3_column_blob(bw, 2);
      if ((rc = mw__sb_open(a, b.dctx, data ? data : "", (size_t)sqlite3_column_bytes(bw, 2), &blk))) break;
      mw__sb_info_get(blk, &info);
      int64_t id = sqlite3_column_int64(bw, 0);
      for (size_t i = 0; i < info.n && !rc; i++) {
        int64_t start, dur;
        if ((rc = mw__sb_get_ids(blk, i, NULL, NULL, &start, &dur, NULL))) break;
        if (start < q->start_ns || start >= q->end_ns || dur < q->min_dur_ns || dur > q->max_dur_ns) continue;
        if (w->n == w->cap) {
          if (w->n >= 2 * (size_t)rows + 64) { /* keep the longest `rows` */
            qsort(w->v, w->n, sizeof *w->v, cmp_op_dur_desc);
            w->n = (size_t)rows;
          } else {
            size_t c = w->cap ? 2 * w->cap : 1024;
            mw__op_span *t = realloc(w->v, c * sizeof *t);
            if (!t) {
              rc = MW_ENOMEM;
              break;
            }
            w->v = t, w->cap = c;
          }
        }
        w->v[w->n++] = (mw__op_span){mw__sref_block(id, (uint32_t)i), start, dur};
      }
    }
    if (!rc && bstep != SQLITE_DONE) rc = mw__read_failed(r, bstep);
    sqlite3_reset(bw);
  }
  if (!rc && step != SQLITE_ROW && step != SQLITE_DONE) rc = mw__read_failed(r, step);
  if (!rc && w->n > (size_t)rows) {
    qsort(w->v, w->n, sizeof *w->v, cmp_op_dur_desc);
    w->n = (size_t)rows;
  }
  sqlite3_finalize(src);
  sqlite3_finalize(bw);
  blk_end(&b);
  return rc;
}

/* The `rows` longest spans matching q, longest first, into *v. Per
 * operation, its slow spans answer when enough of them match; else (and when
 * the window covers little of the operation's history, where a walk down its
 * slow spans would mostly read spans outside it) the window is read. */
static int longest_spans(mw_read *r, mw_arena *a, const mw_search_query *q, enum mw__search_shape shape, int64_t rows,
                         hit_row **v, size_t *n, mem_hits *mh) {
  sqlite3_stmt *ops = NULL, *first = NULL, *last = NULL, *slow = NULL, *by_start = NULL, *bfirst = NULL, *blast = NULL;
  size_t cap = 0, n_ops = 0, ops_cap = 0;
  op_window blk = {.t0 = q->start_ns, .t1 = q->end_ns, .min_dur = q->min_dur_ns, .max_dur = q->max_dur_ns};
  int64_t(*op)[3] = NULL; /* id, span count, slow threshold */
  view_bounds vb = {0};
  *v = NULL;
  *n = 0;
  int rc = view_bounds_take(r, a, &vb);
  if (!rc) rc = prep(r, mw__search_ops_sql[shape], &ops);
  if (rc) goto out;
  if (q->service) sqlite3_bind_text(ops, 1, q->service, -1, SQLITE_STATIC);
  if (q->name) sqlite3_bind_text(ops, 2, q->name, -1, SQLITE_STATIC);
  int step;
  while ((step = sqlite3_step(ops)) == SQLITE_ROW) {
    if (!(op = mw__grow(a, op, n_ops, &ops_cap, sizeof *op))) {
      rc = MW_ENOMEM;
      goto out;
    }
    for (int k = 0; k < 3; k++) op[n_ops][k] = sqlite3_column_int64(ops, k);
    n_ops++;
  }
  if (step != SQLITE_DONE) {
    rc = MW_EIO;
    goto out;
  }
  if (shape == MW_SEARCH_ANY && n_ops > MW_SEARCH_MAX_OPS) {
    if ((rc = prep(r, MW__SEARCH_ALL_SQL, &by_start))) goto out;
    bind_filters(by_start, q, rows);
    if ((rc = take_rows(by_start, a, v, n, &cap))) goto out;
    /* and every source's blocks of the window (BW), the longest `rows` kept, and memory's */
    if ((rc = window_longest(r, a, q, rows, &blk))) goto out;
    mh->v = v, mh->nv = n, mh->capv = &cap;
    if (r->pool && r->pool->blk && (rc = mw__store_view_spans(r, a, 0, 0, q->start_ns, q->end_ns, view_hit, mh)))
      goto out;
    for (size_t k = 0; k < blk.n; k++) {
      if (!(*v = mw__grow(a, *v, *n, &cap, sizeof **v))) {
        rc = MW_ENOMEM;
        goto out;
      }
      (*v)[(*n)++] = (hit_row){blk.v[k].sref, blk.v[k].dur_ns};
    }
    if (*n) qsort(*v, *n, sizeof **v, cmp_hit_row);
    if (*n > (size_t)rows) *n = (size_t)rows;
    goto out;
  }
  if ((rc = prep(r, MW__OP_FIRST_SQL, &first)) || (rc = prep(r, MW__OP_LAST_SQL, &last)) ||
      (rc = prep(r, MW__BO_FIRST_SQL, &bfirst)) || (rc = prep(r, MW__BO_LAST_SQL, &blast)) ||
      (rc = prep(r, MW__OP_LONGEST_SLOW_SQL, &slow)) || (rc = prep(r, MW__OP_LONGEST_BY_START_SQL, &by_start)))
    goto out;
  bind_filters(slow, q, rows);
  bind_filters(by_start, q, rows);
  for (size_t i = 0; i < n_ops; i++) {
    int64_t lo, hi;
    if ((rc = op_bounds(first, last, bfirst, blast, &vb, op[i][0], &lo, &hi))) {
      if (rc == MW_ENOTFOUND) { /* its spans are gone since its count was read */
        rc = MW_OK;
        continue;
      }
      goto out;
    }
    int64_t a0 = lo > q->start_ns ? lo : q->start_ns, a1 = hi < q->end_ns - 1 ? hi : q->end_ns - 1;
    if (a1 < a0) continue; /* none of its spans start in the window */
    double f = (double)(a1 - a0 + 1) / (double)(hi - lo + 1);
    size_t before = *n;
    if (f >= 0.25) {
      sqlite3_bind_int64(slow, 1, op[i][0]);
      sqlite3_bind_int64(slow, 8, op[i][2]);
      if ((rc = take_rows(slow, a, v, n, &cap))) goto out;
      if (*n - before == (size_t)rows) { /* all of them at or above the threshold; and memory's */
        mh->v = v, mh->nv = n, mh->capv = &cap;
        if (r->pool && r->pool->blk &&
            (rc = mw__store_view_spans(r, a, 0, op[i][0], q->start_ns, q->end_ns, view_hit, mh)))
          goto out;
        continue;
      }
      *n = before;
    }
    sqlite3_bind_int64(by_start, 1, op[i][0]);
    if ((rc = take_rows(by_start, a, v, n, &cap))) goto out;
    /* memory's (V) spans of the operation: not in slow_spans until sealed */
    mh->v = v, mh->nv = n, mh->capv = &cap;
    if (r->pool && r->pool->blk && (rc = mw__store_view_spans(r, a, 0, op[i][0], q->start_ns, q->end_ns, view_hit, mh)))
      goto out;
    /* and the window of its spans in blocks (block_ops refs), the longest `rows` of them */
    blk.n = 0;
    if ((rc = mw__store_op_rows(r, op[i][0], q->start_ns, q->end_ns, 0, longest_row, &blk))) goto out;
    if (blk.n > (size_t)rows) {
      qsort(blk.v, blk.n, sizeof *blk.v, cmp_op_dur_desc);
      blk.n = (size_t)rows;
    }
    for (size_t k = 0; k < blk.n; k++) {
      if (!(*v = mw__grow(a, *v, *n, &cap, sizeof **v))) {
        rc = MW_ENOMEM;
        goto out;
      }
      (*v)[(*n)++] = (hit_row){blk.v[k].sref, blk.v[k].dur_ns};
    }
  }
  if (*n) qsort(*v, *n, sizeof **v, cmp_hit_row);
  if (*n > (size_t)rows) *n = (size_t)rows;
out:
  view_bounds_free(&vb);
  free(blk.v);
  sqlite3_finalize(bfirst);
  sqlite3_finalize(blast);
  sqlite3_finalize(ops);
  sqlite3_finalize(first);
  sqlite3_finalize(last);
  sqlite3_finalize(slow);
  sqlite3_finalize(by_start);
  return rc;
}

int mw__store_search(mw_read *r, mw_arena *a, const mw_search_query *q, mw_search_hit **out, size_t *n, size_t *next) {
  *out = NULL;
  *n = 0;
  *next = 0;
  const mw_page *pg = &q->page;
  /* the traces of the page, and one more to learn whether a next page exists */
  size_t want = pg->offset + pg->limit + 1;
  sqlite3_stmt *root = NULL, *extent = NULL;
  mw_bmap *seen = NULL;
  enum mw__search_shape shape = q->service && q->name ? MW_SEARCH_BOTH
                                : q->service          ? MW_SEARCH_SERVICE
                                : q->name             ? MW_SEARCH_NAME
                                                      : MW_SEARCH_ANY;
  int rc = prep(r, MW__SEARCH_ROOT_SQL, &root);
  if (!rc) rc = prep(r, MW__SEARCH_EXTENT_SQL, &extent);
  if (rc) goto out;
  *out = mw__arena_calloc(a, pg->limit ? pg->limit : 1, sizeof **out);
  seen = mw__bmap_new(0);
  if (!*out || !seen) {
    rc = MW_ENOMEM;
    goto out;
  }
  /* The longest `rows` matching spans hold the `want` longest traces, unless
   * some traces have several of them: then the search looks again, four
   * times further. */
  for (int64_t rows = want < 32 ? 64 : 2 * (int64_t)want;; rows *= 4) {
    hit_row *v;
    size_t got;
    mem_hits mh = {.a = a, .min_dur = q->min_dur_ns, .max_dur = q->max_dur_ns};
    if ((rc = longest_spans(r, a, q, shape, rows, &v, &got, &mh))) goto out;
    mw__bmap_clear(seen);
    *n = 0;
    size_t found = 0, bytes = 0;
    /* the trace of each span found: old rows by rowid, blocks' spans by reference */
    int64_t *srefs = mw__arena_alloc(a, (got + 1) * sizeof *srefs);
    mw_span_ref *ids = mw__arena_alloc(a, (got + 1) * sizeof *ids);
    int *there = mw__arena_alloc(a, (got + 1) * sizeof *there);
    if (!srefs || !ids || !there) {
      rc = MW_ENOMEM;
      goto out;
    }
    for (size_t i = 0; i < got; i++) srefs[i] = IS_MEM_SREF(v[i].rowid) ? 0 : v[i].rowid;
    if ((rc = mw__store_sref_spans(r, a, srefs, got, 0, ids, there))) goto out;
    for (size_t i = 0; i < got; i++)
      if (IS_MEM_SREF(v[i].rowid)) { /* a span of memory */
        memcpy(ids[i].trace_id, mh.s[v[i].rowid - INT64_MIN]->trace_id, 16);
        there[i] = 1;
      }
    for (size_t i = 0; i < got; i++) {
      if (!there[i]) continue; /* deleted since (retention) */
      const uint8_t *tid = ids[i].trace_id;
      int64_t one;
      if (mw__bmap_get(seen, tid, 16, &one)) continue; /* a trace counts once, at its longest span */
      if ((rc = mw__bmap_put(seen, tid, 16, 1))) goto out;
      if (found++ < pg->offset) continue;
      if (*n == pg->limit || (*n && bytes > pg->max_bytes)) { /* the page is full, and more follow */
        *next = pg->offset + *n;
        break;
      }
      mw_search_hit *h = &(*out)[(*n)++];
      memcpy(h->trace_id, tid, 16);
      h->match_dur_ns = v[i].dur_ns;
      if ((rc = read_hit(r, a, root, extent, h))) goto out;
      bytes += (h->root_service ? strlen(h->root_service) : 0) + (h->root_name ? strlen(h->root_name) : 0);
    }
    if (*next || got < (size_t)rows || found >= want) break;
  }
out:
  mw__bmap_free(seen);
  sqlite3_finalize(root);
  sqlite3_finalize(extent);
  return rc;
}

int mw__store_services(mw_read *r, mw_arena *a, const char *name, const mw_page *pg, mw_service_info **out, size_t *n,
                       size_t *next) {
  *out = NULL;
  *n = 0;
  *next = 0;
  sqlite3_stmt *st = NULL;
  int rc = prep(r, name ? MW__SERVICE_SQL : MW__SERVICES_SQL, &st);
  if (rc) goto out;
  sqlite3_bind_int64(st, 1, (int64_t)pg->offset);
  sqlite3_bind_int64(st, 2, (int64_t)pg->limit + 1);
  if (name) sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
  size_t cap = 0, bytes = 0;
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == pg->limit || (*n && bytes > pg->max_bytes)) {
      *next = pg->offset + *n;
      break;
    }
    if (!(*out = mw__grow(a, *out, *n, &cap, sizeof **out))) {
      rc = MW_ENOMEM;
      goto out;
    }
    mw_service_info *si = &(*out)[(*n)++];
    si->name = mw__col_text(a, st, 0);
    si->span_count = sqlite3_column_int64(st, 1);
    si->operation_count = sqlite3_column_int64(st, 2);
    si->instance_count = sqlite3_column_int64(st, 3);
    if (!si->name) {
      rc = MW_ENOMEM;
      goto out;
    }
    bytes += strlen(si->name);
  }
  if (step != SQLITE_ROW && step != SQLITE_DONE) rc = MW_EIO;
out:
  sqlite3_finalize(st);
  return rc;
}

static int cmp_i64(const void *x, const void *y) {
  int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
  return (a > b) - (a < b);
}

/* Nearest-rank percentile of a sorted array. */
static int64_t rank(const int64_t *v, size_t n, double p) {
  size_t k = (size_t)(p * (double)n + 0.999999999);
  if (k < 1) k = 1;
  if (k > n) k = n;
  return v[k - 1];
}

/* The spans of an operation in blocks that start in [t0, t1): rows wholly
 * inside counted by their n from the index alone, refs read for edge rows
 * only. A row's starts are in [first_ns, min(last_ns, first_ns + 120 s)]
 * (last_ns: the max end of its spans). */
typedef struct op_count {
  int64_t t0, t1, n;
} op_count;

/* Each span of a block_ops row that starts in [t0, t1), from its refs, to
 * take(user, start, duration). A row deleted since (retention) is passed. */
static int row_spans_in(mw_read *rd, mw__op_row *row, int64_t t0, int64_t t1,
                        void (*take)(void *user, int64_t start_ns, int64_t dur_ns), void *user) {
  int rc = mw__op_row_refs(rd, row);
  if (rc) return rc == MW_ENOTFOUND ? MW_OK : rc;
  mw__refs_it it;
  mw__ref ref;
  int got;
  mw__refs_init(&it, row->refs ? row->refs : (const uint8_t *)"", row->refs_len, row->first_ns);
  while ((got = mw__refs_next(&it, &ref)) == 1)
    if (ref.start_ns >= t0 && ref.start_ns < t1) take(user, ref.start_ns, ref.dur_ns);
  if (got) mw__error("block_ops refs unreadable", "block=%lld", (long long)row->block_id);
  return got ? MW_EIO : MW_OK;
}

static void count_one(void *user, int64_t start_ns, int64_t dur_ns) {
  (void)start_ns, (void)dur_ns;
  ((op_count *)user)->n++;
}

static int count_key(void *user, mw_read *rd, mw__op_row *row) {
  op_count *c = user;
  int64_t top = row->first_ns + MW_BLK_MAX_START_SPAN_NS; /* the latest start a block may hold */
  if (row->last_ns < top) top = row->last_ns;
  if (top < c->t0 || row->first_ns >= c->t1) return MW_OK; /* none of the row starts in the window */
  if (row->first_ns >= c->t0 && top < c->t1) {
    c->n += row->n; /* every start of the row is in the window */
    return MW_OK;
  }
  return row_spans_in(rd, row, c->t0, c->t1, count_one, c);
}

/* The latest `want` (start, duration) pairs of an operation's spans starting
 * in [t0, t1), of memory, blocks and old rows: a min-heap by (start,
 * duration) in v (v[0] the least held), so that the pairs kept do not depend
 * on the order they are read in (ties of start broken by the longer). */
typedef struct op_latest {
  int64_t t0, t1;
  size_t want;
  mw__op_span *v; /* want of them, allocated once */
  size_t n;
  int64_t seen; /* spans of memory handed over, for the count */
} op_latest;

static int span_less(const mw__op_span *p, const mw__op_span *q) {
  return p->start_ns < q->start_ns || (p->start_ns == q->start_ns && p->dur_ns < q->dur_ns);
}

static void latest_add(op_latest *l, int64_t start_ns, int64_t dur_ns) {
  mw__op_span x = {0, start_ns, dur_ns}, *v = l->v;
  size_t i;
  if (l->n < l->want) { /* sift up */
    for (i = l->n++; i && span_less(&x, &v[(i - 1) / 2]); i = (i - 1) / 2) v[i] = v[(i - 1) / 2];
    v[i] = x;
    return;
  }
  if (!l->want || !span_less(&v[0], &x)) return; /* no later than the least held */
  for (i = 0;;) {                                /* sift down from the root */
    size_t c = 2 * i + 1;
    if (c >= l->n) break;
    if (c + 1 < l->n && span_less(&v[c + 1], &v[c])) c++;
    if (!span_less(&v[c], &x)) break;
    v[i] = v[c];
    i = c;
  }
  v[i] = x;
}

static void latest_take(void *user, int64_t start_ns, int64_t dur_ns) { latest_add(user, start_ns, dur_ns); }

/* Block rows newest first (by first_ns), from the index: once want pairs are
 * held, a row whose starts are all below the least held (its latest possible
 * start min(last_ns, first_ns + 120 s) under it) is skipped without reading
 * its refs, and the walk stops at the first row with first_ns + 120 s below
 * it: every older row starts at most 120 s past its own first_ns, which is
 * no later than this one's. */
static int latest_key(void *user, mw_read *rd, mw__op_row *row) {
  op_latest *l = user;
  int64_t top = row->first_ns + MW_BLK_MAX_START_SPAN_NS;
  int full = l->n == l->want;
  if (full && top < l->v[0].start_ns) return 1;
  if (row->last_ns < top) top = row->last_ns;
  if (top < l->t0 || (full && top < l->v[0].start_ns)) return MW_OK;
  if (row->n == 1 && row->last_ns != INT64_MAX && row->last_ns != INT64_MIN) {
    /* one span: last_ns is its end, start + duration (unsaturated), so
     * the index holds it whole (the usual row once blocks are small) */
    int64_t start = row->last_ns - row->max_dur_ns;
    if (start >= l->t0 && start < l->t1) latest_add(l, start, row->max_dur_ns);
    return MW_OK;
  }
  return row_spans_in(rd, row, l->t0, l->t1, latest_take, l);
}

static int view_latest(void *user, const mw__sb_span *sp, int64_t source_id) {
  op_latest *l = user;
  (void)source_id;
  l->seen++;
  latest_add(l, sp->start_ns, sp->dur_ns);
  return MW_OK;
}

int mw__dur_bucket(int64_t d) { return d <= 0 ? -1 : (int)floor(64.0 * log2((double)d)); }

int mw__store_operations(mw_read *r, mw_arena *a, const char *service, int64_t start_ns, int64_t end_ns,
                         const mw_page *pg, mw_operation_stats **out, size_t *n, size_t *next) {
  return mw__store_operations_hist(r, a, service, start_ns, end_ns, pg, 0, out, n, next);
}

/* The histogram of a sorted sample, in the arena; NULL on exhaustion. */
static mw_dur_bin *sample_hist(mw_arena *a, const int64_t *v, size_t n, size_t *n_bins) {
  size_t distinct = 0; /* the sample is sorted: a bucket's durations are together */
  for (size_t i = 0; i < n; i++) distinct += !i || mw__dur_bucket(v[i]) != mw__dur_bucket(v[i - 1]);
  mw_dur_bin *b = mw__arena_calloc(a, distinct + 1, sizeof *b);
  size_t k = 0;
  for (size_t i = 0; b && i < n; i++) {
    int bk = mw__dur_bucket(v[i]);
    if (k && b[k - 1].bucket == bk) b[k - 1].n++;
    else b[k++] = (mw_dur_bin){bk, 1};
  }
  *n_bins = k;
  return b;
}

int mw__store_operations_hist(mw_read *r, mw_arena *a, const char *service, int64_t start_ns, int64_t end_ns,
                              const mw_page *pg, int hist, mw_operation_stats **out, size_t *n, size_t *next) {
  *out = NULL;
  *n = 0;
  *next = 0;
  sqlite3_stmt *ops = NULL, *durs = NULL, *count_st = NULL, *max_st = NULL, *first = NULL, *last = NULL;
  sqlite3_stmt *bfirst = NULL, *blast = NULL;
  int64_t *sample = NULL;
  op_latest lat = {.t0 = start_ns, .t1 = end_ns, .want = PCT_SAMPLE, .v = malloc(PCT_SAMPLE * sizeof *lat.v)};
  view_bounds vb = {0};
  int rc = view_bounds_take(r, a, &vb);
  if (!rc) rc = prep(r, MW__OPERATIONS_SQL, &ops);
  if (!rc) rc = prep(r, MW__OP_DURATIONS_SQL, &durs);
  if (!rc) rc = prep(r, MW__OP_COUNT_SQL, &count_st);
  if (!rc) rc = prep(r, MW__OP_MAX_SQL, &max_st);
  if (!rc) rc = prep(r, MW__OP_FIRST_SQL, &first);
  if (!rc) rc = prep(r, MW__OP_LAST_SQL, &last);
  if (!rc) rc = prep(r, MW__BO_FIRST_SQL, &bfirst);
  if (!rc) rc = prep(r, MW__BO_LAST_SQL, &blast);
  if (rc) goto out;
  sample = malloc(PCT_SAMPLE * sizeof *sample);
  if (!sample || !lat.v) {
    rc = MW_ENOMEM;
    goto out;
  }
  /* whether the service exists at all: the operations from 0 on */
  sqlite3_bind_text(ops, 1, service, -1, SQLITE_STATIC);
  sqlite3_bind_int64(ops, 2, 0);
  int step = sqlite3_step(ops);
  if (step != SQLITE_ROW) {
    rc = step == SQLITE_DONE ? MW_ENOTFOUND : MW_EIO;
    goto out;
  }
  sqlite3_reset(ops);
  sqlite3_bind_int64(ops, 2, (int64_t)pg->offset);
  sqlite3_stmt *window[] = {durs, count_st, max_st};
  for (size_t k = 0; k < sizeof window / sizeof window[0]; k++) {
    sqlite3_bind_int64(window[k], 2, start_ns);
    sqlite3_bind_int64(window[k], 3, end_ns);
  }
  sqlite3_bind_int64(durs, 4, PCT_SAMPLE);
  size_t cap = 0, used = 0, bytes = 0; /* used: operations read, listed or not */
  while ((step = sqlite3_step(ops)) == SQLITE_ROW) {
    if (*n == pg->limit || (*n && bytes > pg->max_bytes)) {
      *next = pg->offset + used;
      break;
    }
    used++;
    int64_t id = sqlite3_column_int64(ops, 0), lo, hi, count, max = 0;
    if ((rc = op_bounds(first, last, bfirst, blast, &vb, id, &lo, &hi))) {
      if (rc != MW_ENOTFOUND) goto out;
      rc = MW_OK; /* its spans are gone since its count was read */
      continue;
    }
    if (lo >= start_ns && hi < end_ns) {
      count = sqlite3_column_int64(ops, 2); /* the window holds all of its spans */
    } else {
      if ((rc = step_int(count_st, id, &count)) && rc != MW_ENOTFOUND) goto out;
      op_count bc = {start_ns, end_ns, 0};
      if ((rc = mw__store_op_keys(r, id, start_ns, end_ns, 0, count_key, &bc))) goto out;
      count += bc.n;
    }
    rc = MW_OK;
    /* the spans of memory (V), newest of all: counted (unless the listing's
     * count already holds them) and first among the latest durations */
    lat.n = 0;
    lat.seen = 0;
    if (r->pool && r->pool->blk && (rc = mw__store_view_spans(r, a, 0, id, start_ns, end_ns, view_latest, &lat)))
      goto out;
    if (!(lo >= start_ns && hi < end_ns)) count += lat.seen;
    if (count <= 0) continue;
    if ((rc = step_int(max_st, id, &max)) && rc != MW_ENOTFOUND) goto out;
    rc = MW_OK;
    /* the latest PCT_SAMPLE durations: of the blocks (newest first), then of
     * the old rows (older than every block: latest first, up to the first
     * below the least held) */
    if ((rc = mw__store_op_keys(r, id, start_ns, end_ns, 1, latest_key, &lat))) goto out;
    sqlite3_bind_int64(durs, 1, id);
    int dstep;
    while ((dstep = sqlite3_step(durs)) == SQLITE_ROW) {
      int64_t st = sqlite3_column_int64(durs, 1);
      if (lat.n == lat.want && st < lat.v[0].start_ns) break;
      latest_add(&lat, st, sqlite3_column_int64(durs, 0));
    }
    sqlite3_reset(durs);
    if (dstep != SQLITE_DONE && dstep != SQLITE_ROW) {
      rc = MW_EIO;
      goto out;
    }
    size_t kept = lat.n;
    for (size_t k = 0; k < kept; k++) sample[k] = lat.v[k].dur_ns;
    if (!kept) continue;
    qsort(sample, kept, sizeof *sample, cmp_i64);
    if (!(*out = mw__grow(a, *out, *n, &cap, sizeof **out))) {
      rc = MW_ENOMEM;
      goto out;
    }
    mw_operation_stats *os = &(*out)[(*n)++];
    os->name = mw__col_text(a, ops, 1);
    if (!os->name) {
      rc = MW_ENOMEM;
      goto out;
    }
    bytes += strlen(os->name);
    os->count = count;
    os->p50_ns = rank(sample, kept, 0.50);
    os->p90_ns = rank(sample, kept, 0.90);
    os->p99_ns = rank(sample, kept, 0.99);
    os->max_ns = max > sample[kept - 1] ? max : sample[kept - 1];
    os->sampled = (size_t)count > kept;
    os->hist = NULL;
    os->n_hist = 0;
    if (hist && !(os->hist = sample_hist(a, sample, kept, &os->n_hist))) {
      rc = MW_ENOMEM;
      goto out;
    }
  }
  if (step != SQLITE_ROW && step != SQLITE_DONE) rc = MW_EIO;
out:
  view_bounds_free(&vb);
  free(sample);
  free(lat.v);
  sqlite3_finalize(bfirst);
  sqlite3_finalize(blast);
  sqlite3_finalize(ops);
  sqlite3_finalize(durs);
  sqlite3_finalize(count_st);
  sqlite3_finalize(max_st);
  sqlite3_finalize(first);
  sqlite3_finalize(last);
  return rc;
}

/* --- Tempo's search and tag discovery ---------------------------------------- */

/* The last few sealed blocks opened by span reference, so that references
 * into the same block open it once. */
enum { BLK_CACHE = 8 };
typedef struct blk_cache {
  struct {
    int64_t id, source;
    mw__sb_block *b; /* NULL: gone (retention) */
  } e[BLK_CACHE];
  size_t n, next;
} blk_cache;

/* The span sref (< 0) names, whole, into sp; *found 0 when it is gone. */
static int sref_whole(blk_rd *b, blk_cache *c, int64_t sref, mw_stored_span *sp, int *found) {
  int64_t id;
  uint32_t index;
  mw__sref_split(sref, &id, &index);
  *found = 0;
  size_t k = 0;
  while (k < c->n && c->e[k].id != id) k++;
  if (k == c->n) {
    k = c->n < BLK_CACHE ? c->n++ : (c->next++ % BLK_CACHE);
    c->e[k].id = id;
    c->e[k].b = NULL;
    sqlite3_bind_int64(b->block, 1, id);
    int step = sqlite3_step(b->block), rc = MW_OK;
    if (step == SQLITE_ROW) {
      size_t len;
      const uint8_t *data = mw__col_blob(b->a, b->block, 1, &len); /* kept past the row: a copy */
      c->e[k].source = sqlite3_column_int64(b->block, 0);
      rc = data ? mw__sb_open(b->a, b->dctx, data, len, &c->e[k].b) : MW_ENOMEM;
    } else if (step != SQLITE_DONE) {
      rc = mw__read_failed(b->r, step);
    }
    sqlite3_reset(b->block);
    if (rc) return rc;
  }
  if (!c->e[k].b) return MW_OK;
  int rc = block_span(b, c->e[k].b, c->e[k].source, index, sp);
  if (rc == MW_EINVAL) return MW_OK; /* an index past the block: not one of ours */
  *found = !rc;
  return rc;
}

int mw__store_scan_longest(mw_read *r, mw_arena *a, const mw_search_query *q, size_t rows, mw_span_visit each,
                           void *user, size_t *visited) {
  *visited = 0;
  enum mw__search_shape shape = q->service && q->name ? MW_SEARCH_BOTH
                                : q->service          ? MW_SEARCH_SERVICE
                                : q->name             ? MW_SEARCH_NAME
                                                      : MW_SEARCH_ANY;
  hit_row *v;
  size_t got;
  mem_hits mh = {.a = a, .min_dur = q->min_dur_ns, .max_dur = q->max_dur_ns};
  int rc = longest_spans(r, a, q, shape, (int64_t)rows, &v, &got, &mh);
  if (rc) return rc;
  sqlite3_stmt *st;
  if ((rc = prep(r, MW__SPAN_WHOLE_COLS "WHERE s.rowid = ?1", &st))) return rc;
  blk_rd b = {0};
  blk_cache cache = {0};
  if ((rc = blk_begin(r, a, &b))) {
    sqlite3_finalize(st);
    return rc;
  }
  for (size_t i = 0; i < got && !rc; i++) {
    if (IS_MEM_SREF(v[i].rowid)) { /* a span of memory */
      mw_stored_span sp;
      size_t k = (size_t)(v[i].rowid - INT64_MIN);
      if (!(rc = mem_span(&b, mh.s[k], mh.source[k], &sp))) {
        ++*visited;
        if (each(user, &sp)) i = got;
      }
      continue;
    }
    if (!mw__sref_is_row(v[i].rowid)) { /* a span of a sealed block */
      mw_stored_span sp;
      int found;
      if (!(rc = sref_whole(&b, &cache, v[i].rowid, &sp, &found)) && found) {
        ++*visited;
        if (each(user, &sp)) i = got;
      }
      continue;
    }
    sqlite3_bind_int64(st, 1, v[i].rowid);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
      mw_stored_span sp;
      if (!(rc = whole_span(a, st, &sp))) {
        ++*visited;
        if (each(user, &sp)) i = got;
      }
    } else if (step != SQLITE_DONE) /* DONE: deleted since (retention) */
      rc = mw__read_failed(r, step);
    sqlite3_reset(st);
  }
  blk_end(&b);
  sqlite3_finalize(st);
  return rc;
}

int mw__store_trace_hit(mw_read *r, mw_arena *a, mw_search_hit *h) { return mw__store_trace_meta(r, a, h); }

typedef struct recent_v {
  blk_rd *b;
  mw_span_visit each;
  void *user;
  size_t rows, *read;
  int *stop;
} recent_v;

static int recent_view(void *user, const mw__sb_span *sp, int64_t source_id) {
  recent_v *v = user;
  if (*v->read >= v->rows) return 1;
  ++*v->read;
  mw_stored_span st;
  int rc = mem_span(v->b, sp, source_id, &st);
  if (rc) return rc;
  if ((*v->stop = v->each(v->user, &st))) return 1;
  return MW_OK;
}

int mw__store_recent_spans(mw_read *r, mw_arena *a, int64_t start_ns, int64_t end_ns, size_t rows, mw_span_visit each,
                           void *user) {
  /* memory first (V: the newest), then the newest sealed blocks (a walk
   * down the rowid b-tree of span_blocks) until `rows` spans are read: they
   * are newer than any old row */
  size_t read = 0;
  int stop = 0;
  blk_rd b;
  sqlite3_stmt *bl = NULL;
  int rc = blk_begin(r, a, &b);
  recent_v rv = {&b, each, user, rows, &read, &stop};
  if (!rc && r->pool && r->pool->blk) rc = mw__store_view_spans(r, a, 0, 0, start_ns, end_ns, recent_view, &rv);
  if (!rc) rc = prep(r, MW__BLOCKS_NEWEST_SQL, &bl);
  int bstep = SQLITE_DONE;
  while (!rc && !stop && read < rows && (bstep = sqlite3_step(bl)) == SQLITE_ROW) {
    mw__sb_block *blk;
    mw__sb_info info;
    const void *data = sqlite3_column_blob(bl, 2);
    if ((rc = mw__sb_open(a, b.dctx, data ? data : "", (size_t)sqlite3_column_bytes(bl, 2), &blk))) break;
    mw__sb_info_get(blk, &info);
    for (size_t i = 0; i < info.n && read < rows && !rc && !stop; i++, read++) {
      mw_stored_span sp;
      if ((rc = block_span(&b, blk, sqlite3_column_int64(bl, 1), i, &sp))) break;
      if (sp.start_ns >= start_ns && sp.start_ns < end_ns) stop = each(user, &sp);
    }
  }
  if (!rc && bstep != SQLITE_ROW && bstep != SQLITE_DONE) rc = mw__read_failed(r, bstep);
  sqlite3_finalize(bl);
  blk_end(&b);
  if (rc || stop || read >= rows) return rc;
  rows -= read;
  sqlite3_stmt *st;
  /* the newest `rows` rows of the table (a walk down its rowid b-tree), then the window */
  rc = prep(r,
            MW__SPAN_WHOLE_COLS "WHERE s.rowid IN (SELECT rowid FROM spans ORDER BY rowid DESC LIMIT ?1) "
                                "AND s.start_ns >= ?2 AND s.start_ns < ?3 ORDER BY s.rowid DESC",
            &st);
  if (rc) return rc;
  sqlite3_bind_int64(st, 1, (int64_t)rows);
  sqlite3_bind_int64(st, 2, start_ns);
  sqlite3_bind_int64(st, 3, end_ns);
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    mw_stored_span sp;
    if ((rc = whole_span(a, st, &sp))) break;
    if (each(user, &sp)) break;
  }
  if (!rc && step != SQLITE_ROW && step != SQLITE_DONE) rc = mw__read_failed(r, step);
  sqlite3_finalize(st);
  return rc;
}

int mw__store_source_resource(mw_read *r, mw_arena *a, int64_t id, mw_stored_blob *out) {
  out->id = id;
  out->data = NULL;
  out->len = 0;
  return load_blobs(r, a, "SELECT resource FROM sources WHERE id = ?1", out, 1);
}

int mw__store_source_resources(mw_read *r, mw_arena *a, int64_t start_ns, int64_t end_ns, size_t max,
                               mw_stored_blob **out, size_t *n, int *more) {
  *out = NULL;
  *n = 0;
  *more = 0;
  sqlite3_stmt *st;
  int rc = prep(r, "SELECT id, resource FROM sources WHERE last_ns >= ?1 AND first_ns < ?2 ORDER BY id LIMIT ?3", &st);
  if (rc) return rc;
  sqlite3_bind_int64(st, 1, start_ns);
  sqlite3_bind_int64(st, 2, end_ns);
  sqlite3_bind_int64(st, 3, (int64_t)max + 1);
  size_t cap = 0;
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == max) {
      *more = 1;
      break;
    }
    if (!(*out = mw__grow(a, *out, *n, &cap, sizeof **out))) {
      rc = MW_ENOMEM;
      break;
    }
    mw_stored_blob *b = &(*out)[(*n)++];
    b->id = sqlite3_column_int64(st, 0);
    b->data = mw__col_blob(a, st, 1, &b->len);
    if (!b->data) b->data = (const uint8_t *)"", b->len = 0;
  }
  if (!rc && step != SQLITE_ROW && step != SQLITE_DONE) rc = mw__read_failed(r, step);
  sqlite3_finalize(st);
  return rc;
}

int mw__store_op_names(mw_read *r, mw_arena *a, int names, size_t max, const char ***out, size_t *n, int *more) {
  *out = NULL;
  *n = 0;
  *more = 0;
  sqlite3_stmt *st;
  int rc = prep(r,
                names ? "SELECT DISTINCT name FROM operations INDEXED BY operations_by_name WHERE span_count > 0 "
                        "ORDER BY name LIMIT ?1"
                      : "SELECT DISTINCT service FROM operations WHERE span_count > 0 ORDER BY service LIMIT ?1",
                &st);
  if (rc) return rc;
  sqlite3_bind_int64(st, 1, (int64_t)max + 1);
  size_t cap = 0;
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == max) {
      *more = 1;
      break;
    }
    if (!(*out = mw__grow(a, *out, *n, &cap, sizeof **out)) || !((*out)[*n] = mw__col_text(a, st, 0))) {
      rc = MW_ENOMEM;
      break;
    }
    ++*n;
  }
  if (!rc && step != SQLITE_ROW && step != SQLITE_DONE) rc = mw__read_failed(r, step);
  sqlite3_finalize(st);
  return rc;
}

void mw__stored_span_row(const mw_stored_span *s, mw_span_row *row) {
  memset(row, 0, sizeof *row);
  memcpy(row->trace_id, s->trace_id, 16);
  memcpy(row->span_id, s->span_id, 8);
  memcpy(row->parent_id, s->parent_id, 8);
  row->has_parent = s->has_parent;
  row->start_ns = s->start_ns;
  row->dur_ns = s->dur_ns;
  row->kind = s->kind;
  row->status = s->status;
  row->name = s->name;
  row->body = s->body;
  row->body_len = s->body_len;
}

/* The writer thread (see store.h): takes every queued job, writes each inside
 * its own savepoint of one transaction, commits once, then answers each job.
 * One commit (and one fsync) is shared by all requests that arrived while the
 * previous one was being written: that is the group commit. */
#include "store/writer.h"
#include "core/error.h"
#include "core/log.h"
#include "core/timefmt.h"
#include "store/block_write.h"
#include "store/blocks.h"
#include "store/resent.h"
#include "store/conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A transaction holds at most this many spans and this many bytes of
 * decoded requests (at least one request), so that one huge backlog does not
 * delay every answer until all of it is written, and the WAL grows by a
 * bounded step between two chances to empty it (checkpoint.c). */
enum { MAX_TXN_SPANS = 50000, MAX_TXN_BYTES = 8 << 20 };

enum stmt_id {
  ST_SOURCE_UPSERT,
  ST_SCOPE_FIND,
  ST_SCOPE_INSERT,
  ST_OP_FIND,
  ST_OP_INSERT,
  ST_OP_COUNT,
  ST_SOURCE_RANGE,
  ST_SPAN_INSERT,
  ST_OP_SLOW,
  ST_OP_RECENT,
  ST_OP_RAISE,
  ST_SLOW_INSERT,
  ST_TAIL_INSERT,
  ST_TAIL_DELETE,
  ST_OP_RECENT_BLOCKS,
  ST__COUNT
};

static const char *const stmt_sql[ST__COUNT] = {
    [ST_SOURCE_UPSERT] = "INSERT INTO sources (service, instance, host, pid, resource, first_ns, last_ns) "
                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
                         "ON CONFLICT (service, instance) DO UPDATE SET host = coalesce(excluded.host, host), "
                         "pid = coalesce(excluded.pid, pid), resource = excluded.resource, "
                         "first_ns = min(first_ns, excluded.first_ns), last_ns = max(last_ns, excluded.last_ns) "
                         "RETURNING id",
    [ST_SCOPE_FIND] = "SELECT id FROM scopes WHERE body = ?1",
    [ST_SCOPE_INSERT] = "INSERT INTO scopes (body) VALUES (?1)",
    [ST_OP_FIND] = "SELECT id FROM operations WHERE service = ?1 AND name = ?2",
    [ST_OP_INSERT] = "INSERT INTO operations (service, name) VALUES (?1, ?2)",
    [ST_OP_COUNT] = "UPDATE operations SET span_count = span_count + ?2 WHERE id = ?1 RETURNING span_count",
    [ST_SOURCE_RANGE] = "UPDATE sources SET first_ns = min(first_ns, ?2), last_ns = max(last_ns, ?3) WHERE id = ?1",
    [ST_SPAN_INSERT] = "INSERT OR IGNORE INTO spans (trace_id, span_id, parent_id, source_id, op_id, "
                       "scope_id, start_ns, dur_ns, kind, status, body) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [ST_OP_SLOW] = "SELECT slow_ns FROM operations WHERE id = ?1",
    [ST_OP_RECENT] =
        "SELECT dur_ns FROM spans INDEXED BY spans_by_op WHERE op_id = ?1 ORDER BY start_ns DESC LIMIT 1024",
    [ST_OP_RAISE] = "UPDATE operations SET slow_ns = ?2 WHERE id = ?1 AND slow_ns < ?2",
    [ST_SLOW_INSERT] = "INSERT OR IGNORE INTO slow_spans (op_id, dur_ns, span_rowid, start_ns) VALUES (?1, ?2, ?3, ?4)",
    [ST_TAIL_INSERT] = "INSERT INTO span_tail (source_id, seq, n, data) VALUES (?1, ?2, ?3, ?4)",
    [ST_TAIL_DELETE] = "DELETE FROM span_tail WHERE source_id = ?1 AND seq <= ?2",
    [ST_OP_RECENT_BLOCKS] = "SELECT first_ns, refs FROM block_ops WHERE op_id = ?1 ORDER BY first_ns DESC",
};

/* Counter updates (an operation's span count, a source's time range) are
 * gathered per job, kept only if the job's savepoint is released, and written
 * once per transaction: one UPDATE per operation or source, not per request. */
typedef struct pending {
  int kind;         /* PEND_OPS or PEND_RANGE */
  int64_t id, a, b; /* ops: id, count; range: source id, first, last */
} pending;
enum { PEND_OPS, PEND_RANGE };

typedef struct pend_list {
  pending *v;
  size_t n, cap;
} pend_list;

typedef struct mw__writer_ctx {
  mw__writer *s;
  sqlite3_stmt *st[ST__COUNT];
  pend_list job, txn;
  /* blocks (mw_store_opts.blocks; docs/STORAGE-WIRING.md §2): s->blk holds
   * the open blocks and the partition, staged in the transaction and applied
   * after COMMIT */
  mw__bw *bw;           /* the seal */
  mw__truns_w *runs;    /* the partition's flush */
  ZSTD_CCtx *tail_cctx; /* span_tail rows */
  ZSTD_DCtx *dctx;      /* the restart */
  int64_t tail_seq;     /* the last span_tail seq handed out */
  int64_t last_flush_ns;
  int maintain; /* runs may need merging or deleting: mw__truns_maintain has work */
  int64_t (*clock)(void);
  uint64_t *staged_hashes; /* body hashes of this transaction's span jobs, held in s->recent after COMMIT */
  size_t n_staged, cap_staged;
  mw__sb_span *seg; /* the spans of one tail row being gathered */
  size_t seg_n, seg_cap;
  mw_buf tail_buf;
} writer_ctx;

static int pend_add(pend_list *l, int kind, int64_t id, int64_t a, int64_t b) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 256;
    pending *v = realloc(l->v, cap * sizeof *v);
    if (!v) return MW_ENOMEM;
    l->v = v;
    l->cap = cap;
  }
  l->v[l->n++] = (pending){kind, id, a, b};
  return MW_OK;
}

static int cmp_pending(const void *x, const void *y) {
  const pending *p = x, *q = y;
  if (p->kind != q->kind) return p->kind - q->kind;
  return (p->id > q->id) - (p->id < q->id);
}

static int upsert_source(writer_ctx *w, const mw_resource_ref *r, int64_t first, int64_t last, int64_t *id);

/* The source of a resource. A resource seen before (byte for byte) needs no
 * upsert: only its time range is noted for the end of the transaction. */
static int source_id(writer_ctx *w, const mw_resource_ref *r, int64_t first, int64_t last, int64_t *id) {
  if (mw__bmap_get(w->s->sources, r->resource, r->resource_len, id))
    return pend_add(&w->job, PEND_RANGE, *id, first, last);
  int rc = upsert_source(w, r, first, last, id);
  return rc ? rc : mw__bmap_put(w->s->sources, r->resource, r->resource_len, *id);
}

static int upsert_source(writer_ctx *w, const mw_resource_ref *r, int64_t first, int64_t last, int64_t *id) {
  sqlite3_stmt *st = w->st[ST_SOURCE_UPSERT];
  sqlite3_bind_text(st, 1, r->service, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, r->instance, -1, SQLITE_STATIC);
  if (r->host) sqlite3_bind_text(st, 3, r->host, -1, SQLITE_STATIC);
  if (r->pid) sqlite3_bind_int64(st, 4, r->pid);
  sqlite3_bind_blob(st, 5, r->resource, (int)r->resource_len, SQLITE_STATIC);
  sqlite3_bind_int64(st, 6, first);
  sqlite3_bind_int64(st, 7, last);
  return mw__step_id(w->s->db, st, id);
}

static int scope_id(writer_ctx *w, const mw_scope_ref *sc, int64_t *id) {
  if (mw__bmap_get(w->s->scopes, sc->body, sc->body_len, id)) return MW_OK;
  sqlite3_bind_blob(w->st[ST_SCOPE_FIND], 1, sc->body, (int)sc->body_len, SQLITE_STATIC);
  int rc = mw__step_id(w->s->db, w->st[ST_SCOPE_FIND], id);
  if (rc) return rc;
  if (*id < 0) {
    sqlite3_bind_blob(w->st[ST_SCOPE_INSERT], 1, sc->body, (int)sc->body_len, SQLITE_STATIC);
    int64_t none;
    if ((rc = mw__step_id(w->s->db, w->st[ST_SCOPE_INSERT], &none))) return rc;
    *id = sqlite3_last_insert_rowid(w->s->db);
  }
  return mw__bmap_put(w->s->scopes, sc->body, sc->body_len, *id);
}

static int op_id(writer_ctx *w, const char *service, const char *name, int64_t *id) {
  char key[1024];
  size_t sl = strlen(service), nl = strlen(name);
  int cacheable = sl + nl + 1 <= sizeof key;
  if (cacheable) {
    memcpy(key, service, sl);
    key[sl] = '\0';
    memcpy(key + sl + 1, name, nl);
    if (mw__bmap_get(w->s->ops, key, sl + 1 + nl, id)) return MW_OK;
  }
  sqlite3_stmt *st = w->st[ST_OP_FIND];
  sqlite3_bind_text(st, 1, service, (int)sl, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, name, (int)nl, SQLITE_STATIC);
  int rc = mw__step_id(w->s->db, st, id);
  if (rc) return rc;
  if (*id < 0) {
    st = w->st[ST_OP_INSERT];
    sqlite3_bind_text(st, 1, service, (int)sl, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, (int)nl, SQLITE_STATIC);
    int64_t none;
    if ((rc = mw__step_id(w->s->db, st, &none))) return rc;
    *id = sqlite3_last_insert_rowid(w->s->db);
  }
  return cacheable ? mw__bmap_put(w->s->ops, key, sl + 1 + nl, *id) : MW_OK;
}

/* An operation's slow-span threshold (migration 0004_slow_spans.sql): cached
 * per operation id, read from the database the first time. */
static int op_slow(writer_ctx *w, int64_t op, int64_t *thr) {
  if (mw__bmap_get(w->s->op_slow, &op, sizeof op, thr)) return MW_OK;
  sqlite3_stmt *st = w->st[ST_OP_SLOW];
  sqlite3_bind_int64(st, 1, op);
  int rc = mw__step_id(w->s->db, st, thr);
  if (rc) return rc;
  if (*thr < 0) *thr = 0;
  return mw__bmap_put(w->s->op_slow, &op, sizeof op, *thr);
}

static int cmp_i64(const void *x, const void *y) {
  int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
  return (a > b) - (a < b);
}

/* Raises an operation's threshold to the p90 of its latest 1,024 spans, if
 * that is higher. Run when its span count passes 1,024, 2,048, 4,096 and then
 * every 8,192, at the end of a transaction: the spans it wrote were listed
 * against the threshold as it was. */
typedef struct start_dur {
  int64_t start, dur;
} start_dur;

static int newest_first(const void *x, const void *y) {
  const start_dur *p = x, *q = y;
  return (p->start < q->start) - (p->start > q->start);
}

/* With blocks: the latest 1,024 durations of op by start, from the open
 * blocks (this transaction's spans too), the newest sealed blocks'
 * block_ops refs, then old rows, as the old rows' statement did. */
static int recent_durs_blocks(writer_ctx *w, int64_t op, int64_t *v, size_t *n_out) {
  enum { CAP = 8192 };
  start_dur *c = malloc(CAP * sizeof *c);
  int64_t *st_ = malloc(2 * 1024 * sizeof *st_);
  if (!c || !st_) {
    free(c);
    free(st_);
    return MW_ENOMEM;
  }
  size_t n = mw__blk_op_durs(w->s->blk, op, st_, st_ + 1024, 1024);
  for (size_t i = 0; i < n; i++) c[i] = (start_dur){st_[i], st_[1024 + i]};
  free(st_);
  /* sealed blocks, newest first, until 1,024 more than the open ones gave
   * (a block holds spans up to 120 s apart: whole blocks, then sorted) */
  sqlite3_stmt *bs = w->st[ST_OP_RECENT_BLOCKS];
  sqlite3_bind_int64(bs, 1, op);
  size_t from_blocks = 0;
  while (from_blocks < 1024 && n < CAP && sqlite3_step(bs) == SQLITE_ROW) {
    mw__refs_it it;
    mw__ref ref;
    mw__refs_init(&it, sqlite3_column_blob(bs, 1), (size_t)sqlite3_column_bytes(bs, 1), sqlite3_column_int64(bs, 0));
    while (n < CAP && mw__refs_next(&it, &ref) == 1) c[n++] = (start_dur){ref.start_ns, ref.dur_ns}, from_blocks++;
  }
  sqlite3_reset(bs);
  qsort(c, n, sizeof *c, newest_first);
  if (n > 1024) n = 1024;
  for (size_t i = 0; i < n; i++) v[i] = c[i].dur;
  free(c);
  *n_out = n;
  return MW_OK;
}

static int raise_slow(writer_ctx *w, int64_t op) {
  int64_t v[1024];
  size_t n = 0;
  if (w->s->blk) {
    int rc = recent_durs_blocks(w, op, v, &n);
    if (rc) return rc;
  }
  sqlite3_stmt *st = w->st[ST_OP_RECENT]; /* old rows: older than every block */
  sqlite3_bind_int64(st, 1, op);
  int step = SQLITE_DONE;
  while (n < 1024 && (step = sqlite3_step(st)) == SQLITE_ROW) v[n++] = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  if (step != SQLITE_DONE && step != SQLITE_ROW) return mw__sql_err(w->s->db);
  if (n < 1024) return MW_OK;
  qsort(v, n, sizeof v[0], cmp_i64);
  int64_t p90 = v[n * 9 / 10], thr;
  int rc = op_slow(w, op, &thr);
  if (rc || p90 <= thr) return rc;
  st = w->st[ST_OP_RAISE];
  sqlite3_bind_int64(st, 1, op);
  sqlite3_bind_int64(st, 2, p90);
  int64_t none;
  if ((rc = mw__step_id(w->s->db, st, &none))) return rc;
  return mw__bmap_put(w->s->op_slow, &op, sizeof op, p90);
}

static int crossed(int64_t before, int64_t after) {
  if (before < 8192)
    return (before < 1024 && after >= 1024) || (before < 2048 && after >= 2048) || (before < 4096 && after >= 4096) ||
           after >= 8192;
  return before / 8192 != after / 8192;
}

/* Per-operation count of inserted spans within one job. Requests name few
 * operations, so a short array beats a map. */
typedef struct op_tally {
  int64_t id, n;
} op_tally;

static int flush_tally(writer_ctx *w, op_tally *t, size_t n) {
  for (size_t i = 0; i < n; i++) {
    int rc = pend_add(&w->job, PEND_OPS, t[i].id, t[i].n, 0);
    if (rc) return rc;
  }
  return MW_OK;
}

/* Writes the transaction's gathered counter updates, merged per id. */
static int flush_pending(writer_ctx *w) {
  pend_list *l = &w->txn;
  if (!l->n) return MW_OK; /* (qsort must not be given a NULL array) */
  qsort(l->v, l->n, sizeof *l->v, cmp_pending);
  int rc = MW_OK;
  for (size_t i = 0; i < l->n && !rc;) {
    pending m = l->v[i];
    size_t j = i + 1;
    for (; j < l->n && l->v[j].kind == m.kind && l->v[j].id == m.id; j++) {
      if (m.kind == PEND_OPS) m.a += l->v[j].a;
      else {
        if (l->v[j].a < m.a) m.a = l->v[j].a;
        if (l->v[j].b > m.b) m.b = l->v[j].b;
      }
    }
    sqlite3_stmt *st = w->st[m.kind == PEND_OPS ? ST_OP_COUNT : ST_SOURCE_RANGE];
    sqlite3_bind_int64(st, 1, m.id);
    sqlite3_bind_int64(st, 2, m.a);
    if (m.kind == PEND_RANGE) sqlite3_bind_int64(st, 3, m.b);
    int64_t count;
    rc = mw__step_id(w->s->db, st, &count);
    if (!rc && m.kind == PEND_OPS && count >= 0 && crossed(count - m.a, count)) rc = raise_slow(w, m.id);
    i = j;
  }
  l->n = 0;
  return rc;
}

/* ---- blocks (docs/STORAGE-WIRING.md §2) ---------------------------------------- */

static int64_t blk_now(writer_ctx *w) { return w->clock ? w->clock() : mw__mono_ns(); }

/* Writes the gathered spans of source as one span_tail row, and notes its seq
 * in the source's staged open block (which holds those spans). */
static int tail_flush(writer_ctx *w, int64_t source) {
  if (!w->seg_n) return MW_OK;
  mw__buf_reset(&w->tail_buf);
  int rc = mw__blk_tail_encode(w->tail_cctx, w->seg, w->seg_n, &w->tail_buf);
  if (rc) return rc;
  sqlite3_stmt *st = w->st[ST_TAIL_INSERT];
  int64_t seq = ++w->tail_seq;
  sqlite3_bind_int64(st, 1, source);
  sqlite3_bind_int64(st, 2, seq);
  sqlite3_bind_int64(st, 3, (int64_t)w->seg_n);
  sqlite3_bind_blob(st, 4, w->tail_buf.data, (int)w->tail_buf.len, SQLITE_STATIC);
  int step = sqlite3_step(st);
  sqlite3_reset(st);
  if (step != SQLITE_DONE) return mw__sql_err(w->s->db);
  mw__blk_stage_tail(w->s->blk, source, seq);
  w->seg_n = 0;
  return MW_OK;
}

static int slow_of(void *user, int64_t op, int64_t *thr) { return op_slow(user, op, thr); }

/* Seals source's staged open block: its rows (mw__bw_seal), its tail rows
 * deleted, and the block staged as sealed. Nothing to seal: 0. */
static int seal_source(writer_ctx *w, int64_t source) {
  const mw__sb_span *v;
  size_t n;
  int64_t last_tail;
  int rc = mw__blk_seal_input(w->s->blk, source, &v, &n, &last_tail);
  if (rc) return rc == MW_ENOTFOUND ? MW_OK : rc;
  mw__bw_sealed out;
  if ((rc = mw__bw_seal(w->bw, source, v, n, slow_of, w, NULL, &out))) return rc;
  sqlite3_stmt *st = w->st[ST_TAIL_DELETE];
  sqlite3_bind_int64(st, 1, source);
  sqlite3_bind_int64(st, 2, last_tail);
  int step = sqlite3_step(st);
  sqlite3_reset(st);
  if (step != SQLITE_DONE) return mw__sql_err(w->s->db);
  return mw__blk_stage_sealed(w->s->blk, source, out.block_id);
}

/* One span into source's open block (staged): sealing it first when it must
 * be, the span gathered for the request's tail row of that source. */
static int stage_span(writer_ctx *w, int64_t source, int64_t *seg_source, const mw__sb_span *sp, int64_t now) {
  int rc;
  if (w->seg_n && source != *seg_source && (rc = tail_flush(w, *seg_source))) return rc;
  *seg_source = source;
  if (mw__blk_must_seal(w->s->blk, source, sp, now)) {
    if ((rc = tail_flush(w, source)) || (rc = seal_source(w, source))) return rc;
  }
  if ((rc = mw__blk_stage_span(w->s->blk, source, sp, now))) return rc;
  if (w->seg_n == w->seg_cap) {
    size_t cap = w->seg_cap ? w->seg_cap * 2 : 256;
    mw__sb_span *v = realloc(w->seg, cap * sizeof *v);
    if (!v) return MW_ENOMEM;
    w->seg = v;
    w->seg_cap = cap;
  }
  w->seg[w->seg_n++] = *sp;
  return MW_OK;
}

static int apply_spans(writer_ctx *w, const mw_span_batch *b) {
  int rc = MW_OK;
  int64_t *src = calloc(b->n_resources + b->n_scopes + 1, sizeof *src);
  int64_t *range = calloc(2 * b->n_resources + 1, sizeof *range);
  op_tally tally[32];
  size_t n_tally = 0, *order = NULL, *start = NULL;
  if (!src || !range) {
    rc = MW_ENOMEM;
    goto out;
  }
  int64_t *scp = src + b->n_resources;
  for (size_t r = 0; r < b->n_resources; r++) range[2 * r] = INT64_MAX, range[2 * r + 1] = INT64_MIN;
  for (size_t i = 0; i < b->n_rows; i++) {
    const mw_span_row *row = &b->rows[i];
    int64_t *rg = &range[2 * row->resource];
    if (row->start_ns < rg[0]) rg[0] = row->start_ns;
    if (row->start_ns + row->dur_ns > rg[1]) rg[1] = row->start_ns + row->dur_ns;
  }
  for (size_t r = 0; r < b->n_resources; r++) {
    if (range[2 * r] == INT64_MAX) continue; /* no valid span of this resource */
    if ((rc = source_id(w, &b->resources[r], range[2 * r], range[2 * r + 1], &src[r]))) goto out;
  }
  for (size_t k = 0; k < b->n_scopes; k++)
    if ((rc = scope_id(w, &b->scopes[k], &scp[k]))) goto out;

  sqlite3_stmt *st = w->st[ST_SPAN_INSERT];
  int64_t seg_source = 0, now = w->s->blk ? blk_now(w) : 0;
  w->seg_n = 0;
  if (w->s->blk && b->n_resources > 1 && b->n_rows) {
    /* blocks: the rows grouped by resource (stable), so that a request gives
     * one span_tail row per source */
    if (!(order = malloc(b->n_rows * sizeof *order)) || !(start = calloc(b->n_resources + 1, sizeof *start))) {
      rc = MW_ENOMEM;
      goto out;
    }
    for (size_t i = 0; i < b->n_rows; i++) start[b->rows[i].resource + 1]++;
    for (size_t r = 0; r < b->n_resources; r++) start[r + 1] += start[r];
    for (size_t i = 0; i < b->n_rows; i++) order[start[b->rows[i].resource]++] = i;
  }
  for (size_t k = 0; k < b->n_rows; k++) {
    const mw_span_row *row = &b->rows[order ? order[k] : k];
    int64_t op;
    if ((rc = op_id(w, b->resources[row->resource].service, row->name, &op))) goto out;
    if (w->s->blk) { /* slow spans are listed at seal */
      mw__sb_span sp = {.has_parent = row->has_parent,
                        .op_id = op,
                        .scope_id = scp[row->scope],
                        .start_ns = row->start_ns,
                        .dur_ns = row->dur_ns,
                        .kind = row->kind,
                        .status = row->status,
                        .body = row->body,
                        .body_len = row->body_len};
      memcpy(sp.trace_id, row->trace_id, 16);
      memcpy(sp.span_id, row->span_id, 8);
      if (row->has_parent) memcpy(sp.parent_id, row->parent_id, 8);
      if ((rc = stage_span(w, src[row->resource], &seg_source, &sp, now))) goto out;
      goto tally;
    }
    sqlite3_bind_blob(st, 1, row->trace_id, 16, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, row->span_id, 8, SQLITE_STATIC);
    if (row->has_parent) sqlite3_bind_blob(st, 3, row->parent_id, 8, SQLITE_STATIC);
    else sqlite3_bind_null(st, 3);
    sqlite3_bind_int64(st, 4, src[row->resource]);
    sqlite3_bind_int64(st, 5, op);
    sqlite3_bind_int64(st, 6, scp[row->scope]);
    sqlite3_bind_int64(st, 7, row->start_ns);
    sqlite3_bind_int64(st, 8, row->dur_ns);
    sqlite3_bind_int(st, 9, row->kind);
    sqlite3_bind_int(st, 10, row->status);
    sqlite3_bind_blob(st, 11, row->body, (int)row->body_len, SQLITE_STATIC);
    int s_rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (s_rc != SQLITE_DONE) {
      rc = mw__sql_err(w->s->db);
      goto out;
    }
    if (!sqlite3_changes(w->s->db)) continue; /* a re-sent span: already stored */
    int64_t thr;
    if ((rc = op_slow(w, op, &thr))) goto out;
    if (row->dur_ns >= thr) {
      sqlite3_stmt *sl = w->st[ST_SLOW_INSERT];
      sqlite3_bind_int64(sl, 1, op);
      sqlite3_bind_int64(sl, 2, row->dur_ns);
      sqlite3_bind_int64(sl, 3, sqlite3_last_insert_rowid(w->s->db));
      sqlite3_bind_int64(sl, 4, row->start_ns);
      int64_t none;
      if ((rc = mw__step_id(w->s->db, sl, &none))) goto out;
    }
  tally:;
    size_t t = 0;
    while (t < n_tally && tally[t].id != op) t++;
    if (t == n_tally) {
      if (n_tally == sizeof tally / sizeof tally[0]) {
        if ((rc = flush_tally(w, tally, n_tally))) goto out;
        n_tally = t = 0;
      }
      tally[n_tally].id = op;
      tally[n_tally++].n = 0;
    }
    tally[t].n++;
  }
  if (w->s->blk && (rc = tail_flush(w, seg_source))) goto out;
  rc = flush_tally(w, tally, n_tally);
out:
  free(src);
  free(range);
  free(order);
  free(start);
  return rc;
}

static int apply(writer_ctx *w, mw_write_job *job) {
  switch (job->kind) {
  case MW_JOB_SPANS: return apply_spans(w, job->payload);
  case MW_JOB_RUNTIME: {
    int rc = MW_OK;
    for (mw_runtime_batch *b = job->payload; b && !rc; b = b->next) rc = mw__rt_write(&w->s->rt, b);
    return rc;
  }
  }
  return MW_EINVAL;
}

static int exec(writer_ctx *w, const char *sql) {
  char err[256];
  int rc = mw__store_exec(w->s->db, sql, err, sizeof err);
  if (rc) mw__error("database statement failed", "sql=\"%s\" err=\"%s\"", sql, err);
  return rc;
}

/* ---- re-sent requests (docs/STORAGE-WIRING.md §4) ------------------------------- */

/* 1 when job's body (a job with a body_hash: the spans of an OTLP request,
 * or the runtime data carried in one) was stored by this writer in the last
 * 10 minutes, in an earlier transaction or earlier in this one. Only with
 * blocks: without them the spans table's unique index drops re-sent spans,
 * as it always did. Runtime pushes to /api/v1/ingest have no hash: two equal
 * pushes are two observations. */
static int resent(writer_ctx *w, const mw_write_job *j) {
  if (!w->s->recent || !j->body_hash) return 0;
  for (size_t k = 0; k < w->n_staged; k++)
    if (w->staged_hashes[k] == j->body_hash) return 1;
  return mw__resent_seen(w->s->recent, j->body_hash, blk_now(w));
}

/* Notes a stored job's hash until COMMIT (out of memory: it is not
 * remembered, and a retry of it would be stored again). */
static void stage_hash(writer_ctx *w, const mw_write_job *j) {
  if (!w->s->recent || !j->body_hash) return;
  if (w->n_staged == w->cap_staged) {
    size_t cap = w->cap_staged ? 2 * w->cap_staged : 64;
    uint64_t *v = realloc(w->staged_hashes, cap * sizeof *v);
    if (!v) return;
    w->staged_hashes = v;
    w->cap_staged = cap;
  }
  w->staged_hashes[w->n_staged++] = j->body_hash;
}

static void commit_jobs(writer_ctx *w, mw_write_job *jobs) {
  mw__writer *s = w->s;
  int64_t t0 = mw__mono_ns();
  size_t n_jobs = 0, n_spans = 0, n_bytes = 0, n_resent = 0, n_resent_spans = 0;
  int txn_rc = exec(w, "BEGIN IMMEDIATE");
  int failed_job = 0;
  w->n_staged = 0;
  if (s->blk) mw__blk_txn_begin(s->blk);
  for (mw_write_job *j = jobs; j; j = j->next) {
    j->rc = MW_OK;
    j->resent = 0;
    n_jobs++;
    n_spans += j->cost_spans;
    n_bytes += j->cost_bytes;
    if (txn_rc) continue;
    if (resent(w, j)) { /* answered as stored: it is, since its first sending */
      j->resent = 1;
      n_resent++;
      n_resent_spans += j->cost_spans;
      continue;
    }
    exec(w, "SAVEPOINT job");
    if (s->blk) mw__blk_job_begin(s->blk);
    w->job.n = 0;
    j->rc = apply(w, j);
    if (j->rc) {
      /* only this job is undone; the others commit */
      mw__error("write failed", "err=\"%s\" sqlite=\"%s\"", mw__strerror(j->rc), sqlite3_errmsg(s->db));
      exec(w, "ROLLBACK TO job");
      if (s->blk) mw__blk_job_rollback(s->blk);
      failed_job = 1;
      if (j->rc == MW_EFULL) txn_rc = MW_EFULL;
    }
    exec(w, "RELEASE job");
    if (!j->rc) stage_hash(w, j);
    for (size_t k = 0; !j->rc && k < w->job.n; k++)
      if (pend_add(&w->txn, w->job.v[k].kind, w->job.v[k].id, w->job.v[k].a, w->job.v[k].b)) txn_rc = MW_ENOMEM;
  }
  if (!txn_rc && (txn_rc = flush_pending(w)))
    mw__error("updating counters failed", "sqlite=\"%s\"", sqlite3_errmsg(s->db));
  w->txn.n = 0;
  if (s->fault_commit_delay_ms > 0) usleep((useconds_t)s->fault_commit_delay_ms * 1000);
  if (!txn_rc && s->blk) mw__blk_commit_begin(s->blk); /* readers: a snapshot past this commit is not of seq */
  if (!txn_rc) txn_rc = exec(w, "COMMIT");
  if (txn_rc) {
    char e[64];
    mw__store_exec(s->db, "ROLLBACK", e, sizeof e);
    if (s->blk) mw__blk_txn_rollback(s->blk);
  } else if (s->blk) {
    mw__blk_apply(s->blk); /* (logs its failure: the spans are durable) */
    int64_t now = blk_now(w);
    for (size_t k = 0; s->recent && k < w->n_staged; k++) mw__resent_add(s->recent, w->staged_hashes[k], now);
    atomic_fetch_add_explicit(&s->resent_jobs, n_resent, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->resent_spans, n_resent_spans, memory_order_relaxed);
  }
  w->n_staged = 0;
  if (txn_rc || failed_job) {
    /* ids learnt inside undone work may not exist: forget them all */
    mw__bmap_clear(s->ops);
    mw__bmap_clear(s->op_slow);
    mw__bmap_clear(s->scopes);
    mw__bmap_clear(s->stacks);
    mw__bmap_clear(s->sources);
  }
  double secs = (double)(mw__mono_ns() - t0) / 1e9;
  if (s->on_commit && !txn_rc) s->on_commit(secs, n_jobs, n_spans);
  uv_mutex_lock(&s->lock);
  s->q_spans -= n_spans;
  s->q_bytes -= n_bytes;
  s->q_jobs -= n_jobs;
  uv_mutex_unlock(&s->lock);
  for (mw_write_job *j = jobs, *next; j; j = next) {
    next = j->next;
    j->next = NULL;
    j->done(j, txn_rc ? txn_rc : j->rc); /* may free j */
  }
}

static void run_retention(writer_ctx *w) {
  mw__writer *s = w->s;
  int more = 0, ops_gone = 0;
  int rc = mw__retention_batch(&s->retention, s->db, &more, &ops_gone);
  if (rc) mw__warn("retention batch failed", "err=\"%s\" sqlite=\"%s\"", mw__strerror(rc), sqlite3_errmsg(s->db));
  /* a pass that is over and freed pages: let a checkpoint carry the smaller
   * file from the WAL to the database file */
  if (!rc && !more && s->retention.dirty) mw__checkpoint_request(&s->ckpt), s->retention.dirty = 0;
  /* rows it deleted may be cached: forget the ids that could be gone (an
   * operation goes with its last span, and must then be created anew) */
  if (ops_gone) mw__bmap_clear(s->ops), mw__bmap_clear(s->op_slow);
  mw__bmap_clear(s->stacks);
}

/* A short transaction of the writer's own: BEGIN IMMEDIATE, fn, COMMIT, then
 * the memory staged by fn applied (or dropped on failure). */
static int blk_txn(writer_ctx *w, int (*fn)(writer_ctx *, void *), void *arg, const char *what) {
  mw__writer *s = w->s;
  int rc = exec(w, "BEGIN IMMEDIATE");
  if (rc) return rc;
  mw__blk_txn_begin(s->blk);
  mw__blk_job_begin(s->blk);
  rc = fn(w, arg);
  if (!rc) mw__blk_commit_begin(s->blk);
  if (!rc) rc = exec(w, "COMMIT");
  if (rc) {
    char e[64];
    mw__warn("block maintenance failed", "step=%s err=\"%s\" sqlite=\"%s\"", what, mw__strerror(rc),
             sqlite3_errmsg(s->db));
    mw__store_exec(s->db, "ROLLBACK", e, sizeof e);
    mw__blk_txn_rollback(s->blk);
    mw__bmap_clear(s->op_slow);
    return rc;
  }
  mw__blk_apply(s->blk);
  return MW_OK;
}

typedef struct seal_list {
  int64_t *v;
  size_t n;
} seal_list;

static int seal_some(writer_ctx *w, void *arg) {
  seal_list *l = arg;
  int rc = MW_OK;
  for (size_t i = 0; i < l->n && !rc; i++) rc = seal_source(w, l->v[i]);
  return rc;
}

static int flush_mem(writer_ctx *w, void *arg) {
  (void)arg;
  int64_t run;
  int rc = mw__truns_flush(w->runs, mw__blk_mem(w->s->blk), &run);
  if (!rc) mw__blk_stage_flush(w->s->blk);
  return rc;
}

/* One bounded step of the runs' maintenance (STORAGE-WIRING §2 step 6), in
 * a transaction of its own: deleting dropped runs, or a merge under way, or
 * else a new merge of the 8 oldest runs of the lowest level that has 8 (levels
 * 0 to 3; level 4 runs stay). Merging by count, not age, bounds the live runs
 * (a lookup seeks each) whatever the rate: at most 7 a level below 4, and a
 * level-4 run holds 8^4 flushes of 32,768 entries (the soak's 10,000 spans/s
 * make ~1,000 entries/s: a flush every ~33 s, a level-4 run every ~37 h; 7
 * days keep under 35 live runs). Each entry is rewritten once a level. Nothing in memory changes:
 * readers see the runs of their snapshot. */
enum { MAINTAIN_BUDGET = 5000 };
static void maintain_runs(writer_ctx *w) {
  if (!w->maintain) return;
  size_t work = 0;
  int rc = MW_OK;
  for (int level = 0; level < MW_TRUNS_MERGED_LEVELS && !work && !rc; level++) {
    mw__truns_merge_opts o;
    mw__truns_schedule(level, MAINTAIN_BUDGET, &o);
    if ((rc = exec(w, "BEGIN IMMEDIATE"))) break;
    rc = mw__truns_maintain(w->runs, &o, &work);
    if (!rc) rc = exec(w, "COMMIT");
    if (rc) {
      char e[64];
      mw__warn("trace index maintenance failed", "err=\"%s\" sqlite=\"%s\"", mw__strerror(rc),
               sqlite3_errmsg(w->s->db));
      mw__store_exec(w->s->db, "ROLLBACK", e, sizeof e);
    }
  }
  if (!rc && !work) w->maintain = 0; /* until the next flush (or drop) */
}

/* Between commits: frees the retired memory no reader needs, seals the open
 * blocks due by age (all of them when closing), then flushes the partition
 * when due (10 minutes, 32,768 entries; when closing, whatever it holds): each in
 * a short transaction, the flush after the seals so that it takes their keys. */
static void blocks_step(writer_ctx *w, int closing) {
  mw__writer *s = w->s;
  if (!s->blk) return;
  mw__blk_free_retired(s->blk, mw__readers_min_seq(s->readers));
  /* seals a transaction: 64 between commits; at the stop, 1,024, so that a
   * stop with 20,000 sources' open blocks takes 20 commits, not 313 (under
   * ASan integration/listings' stop passed its 15 s) */
  enum { SEAL_STEP = 64, SEAL_CLOSING = 1024 };
  int64_t now = blk_now(w), due[SEAL_CLOSING];
  size_t per = closing ? SEAL_CLOSING : SEAL_STEP;
  for (int round = 0; round < 1000; round++) {
    size_t n = closing ? mw__blk_sources(s->blk, due, per) : mw__blk_due(s->blk, now, due, per);
    if (!n) break;
    seal_list l = {due, n < per ? n : per};
    if (blk_txn(w, seal_some, &l, "seal")) return;
    if (n <= per) break;
  }
  /* open blocks wholly past retention (late or backfilled spans): sealed now,
   * so that the next retention batch can delete them */
  if (!closing && s->retention.keep_ns > 0) {
    size_t n = mw__blk_ended_before(s->blk, mw__now_ns() - s->retention.keep_ns, due, 64);
    seal_list l = {due, n < 64 ? n : 64};
    if (n && blk_txn(w, seal_some, &l, "seal")) return;
  }
  /* writer memory: sources x 4 MB is too much with many sources */
  for (int round = 0; !closing && round < 64; round++) {
    size_t spans, bytes;
    mw__blk_usage(s->blk, &spans, &bytes);
    seal_list l = {due, 1};
    if (bytes <= MW_BLK_OPEN_MAX_BYTES || mw__blk_oldest(s->blk, &due[0])) break;
    if (blk_txn(w, seal_some, &l, "seal")) return;
  }
  size_t entries = mw__truns_mem_count(mw__blk_mem(s->blk));
  if (entries && (closing || now - w->last_flush_ns >= MW_BLK_FLUSH_NS || entries >= MW_BLK_FLUSH_ENTRIES) &&
      !blk_txn(w, flush_mem, NULL, "flush")) {
    w->last_flush_ns = now;
    w->maintain = 1;
  }
  if (!closing) maintain_runs(w);
}

static void writer_main(void *arg) {
  writer_ctx *w = arg;
  mw__writer *s = w->s;
  for (;;) {
    uv_mutex_lock(&s->lock);
    /* while the readers' gate is closed, it looks again every few ms for the
     * moment the last reader is back (checkpoint.c) */
    while (!s->head && !s->stopping && !mw__retention_due(&s->retention))
      if (uv_cond_timedwait(&s->wake, &s->lock, mw__checkpoint_pending(&s->ckpt) ? 5000000ULL : 1000000000ULL) &&
          (mw__checkpoint_pending(&s->ckpt) || s->blk)) /* (open blocks age even without traffic) */
        break;
    if (!s->head && s->stopping) {
      uv_mutex_unlock(&s->lock);
      break;
    }
    if (!s->head) { /* idle: the WAL's gate, time for retention, or blocks to seal */
      uv_mutex_unlock(&s->lock);
      if (!mw__checkpoint_step(&s->ckpt) && mw__retention_due(&s->retention)) run_retention(w);
      blocks_step(w, 0);
      continue;
    }
    /* take jobs up to the transaction's span budget (at least one) */
    mw_write_job *jobs = s->head, *last = s->head;
    size_t spans = last->cost_spans, bytes = last->cost_bytes;
    while (last->next && spans + last->next->cost_spans <= MAX_TXN_SPANS &&
           bytes + last->next->cost_bytes <= MAX_TXN_BYTES) {
      last = last->next;
      spans += last->cost_spans;
      bytes += last->cost_bytes;
    }
    s->head = last->next;
    if (!s->head) s->tail = NULL;
    last->next = NULL;
    uv_mutex_unlock(&s->lock);
    commit_jobs(w, jobs);
    mw__checkpoint_step(&s->ckpt);
    /* under steady ingest, retention still gets one small batch per commit */
    if (mw__retention_due(&s->retention)) run_retention(w);
    blocks_step(w, 0);
  }
  /* a clean stop leaves span_tail empty: every open block sealed, the
   * partition flushed */
  blocks_step(w, 1);
}

static void ctx_free(writer_ctx *w) {
  if (!w) return;
  for (int i = 0; i < ST__COUNT; i++) sqlite3_finalize(w->st[i]);
  free(w->job.v);
  free(w->txn.v);
  mw__bw_close(w->bw);
  mw__truns_w_close(w->runs);
  ZSTD_freeCCtx(w->tail_cctx);
  ZSTD_freeDCtx(w->dctx);
  free(w->seg);
  free(w->staged_hashes);
  mw__buf_free(&w->tail_buf);
  free(w);
}

int mw__writer_start(mw__writer *s, const mw_store_opts *o, sqlite3 *db, const char *db_path, mw__readers *readers,
                     char *err, size_t errsz) {
  s->db = db;
  s->max_spans = o->queue_max_spans;
  s->max_bytes = o->queue_max_bytes;
  s->fault_commit_delay_ms = o->fault_commit_delay_ms;
  s->rt.db = db;
  s->rt.rules = o->rules;
  mw__retention_init(&s->retention, o->retention_ns, o->retention_every_ns, o->max_db_bytes);
  uv_mutex_init(&s->lock);
  uv_cond_init(&s->wake);
  writer_ctx *w = calloc(1, sizeof *w);
  s->ctx = w;
  s->sources = mw__bmap_new(100000);
  s->ops = mw__bmap_new(100000);
  s->op_slow = mw__bmap_new(100000);
  s->scopes = mw__bmap_new(10000);
  s->stacks = mw__bmap_new(200000);
  s->rt.stacks = s->stacks;
  s->rt.sources = s->sources;
  if (!w || !s->sources || !s->ops || !s->op_slow || !s->scopes || !s->stacks) {
    snprintf(err, errsz, "out of memory");
    return MW_ENOMEM;
  }
  w->s = s;
  for (int i = 0; i < ST__COUNT; i++) {
    if (sqlite3_prepare_v3(db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &w->st[i], NULL) != SQLITE_OK) {
      snprintf(err, errsz, "cannot prepare writer statement %d: %s", i, sqlite3_errmsg(db));
      return MW_EIO;
    }
  }
  s->readers = readers;
  mw__buf_init(&w->tail_buf, SIZE_MAX);
  if (o->blocks != MW_STORE_BLOCKS_OFF) {
    int rc;
    w->clock = o->fault_clock_ns;
    if (!(s->blk = mw__blk_new()) || !(w->tail_cctx = ZSTD_createCCtx()) || !(w->dctx = ZSTD_createDCtx()) ||
        !(s->recent = mw__resent_new(MW_RESENT_CAP, MW_RESENT_WINDOW_NS))) {
      snprintf(err, errsz, "out of memory");
      return MW_ENOMEM;
    }
    if ((rc = mw__bw_open(db, &w->bw)) || (rc = mw__truns_w_open(db, &w->runs))) {
      snprintf(err, errsz, "cannot prepare the block writer: %s", sqlite3_errmsg(db));
      return rc;
    }
    if ((rc = mw__blk_recover(s->blk, db, w->dctx, blk_now(w), &w->tail_seq))) {
      snprintf(err, errsz, "cannot rebuild the open blocks from span_tail: %s", mw__strerror(rc));
      return rc;
    }
    mw__retention_use(&s->retention, w->bw, w->runs); /* (closed in ctx_free, after the thread) */
    s->rt.blk = s->blk;                               /* learned_source looks in the open blocks */
    w->last_flush_ns = blk_now(w);
    w->maintain = 1;       /* a merge may have been cut short by a stop */
    readers->blk = s->blk; /* before any reader is lent: store.c opens the store after this */
  } else {
    /* the old row writer does not read span_tail: spans acknowledged by a run with blocks and
     * not sealed yet would go unread, so it refuses rather than hide them */
    int64_t open = mw__sql_int(db, "SELECT coalesce(sum(n), 0) FROM span_tail");
    if (open < 0) {
      snprintf(err, errsz, "cannot read span_tail: %s", sqlite3_errmsg(db));
      return MW_EIO;
    }
    if (open > 0) {
      snprintf(err, errsz,
               "--span-blocks off: %lld spans of an earlier run wait in open blocks (span_tail); "
               "start once with --span-blocks on and stop cleanly to seal them",
               (long long)open);
      return MW_EINVAL;
    }
  }
  int rc = mw__checkpointer_start(&s->ckpt, db_path, db, readers, err, errsz);
  if (rc) return rc;
  if (uv_thread_create(&s->thread, writer_main, w) != 0) {
    snprintf(err, errsz, "cannot start the writer thread");
    return MW_EIO;
  }
  s->started = 1;
  return MW_OK;
}

void mw__writer_stop(mw__writer *s) {
  if (!s->started) return;
  uv_mutex_lock(&s->lock);
  s->stopping = 1;
  uv_cond_signal(&s->wake);
  uv_mutex_unlock(&s->lock);
  uv_thread_join(&s->thread);
  s->started = 0;
}

void mw__writer_close(mw__writer *s) {
  if (!s->db) return; /* never started */
  uv_mutex_lock(&s->lock);
  s->stopping = 1; /* also when it never ran: later submits are refused */
  uv_mutex_unlock(&s->lock);
  mw__writer_stop(s);
  mw__checkpointer_stop(&s->ckpt);
  mw__rt_writer_close(&s->rt);
  ctx_free(s->ctx);
  s->ctx = NULL;
  if (s->readers && s->readers->blk == s->blk) s->readers->blk = NULL;
  mw__blk_free(s->blk);
  s->blk = NULL;
  mw__resent_free(s->recent);
  s->recent = NULL;
  mw__bmap_free(s->sources);
  mw__bmap_free(s->ops);
  mw__bmap_free(s->op_slow);
  mw__bmap_free(s->scopes);
  mw__bmap_free(s->stacks);
  uv_cond_destroy(&s->wake);
  uv_mutex_destroy(&s->lock);
  s->db = NULL;
}

void mw__writer_queue(mw__writer *s, size_t *spans, size_t *bytes, size_t *jobs) {
  uv_mutex_lock(&s->lock);
  *spans = s->q_spans;
  *bytes = s->q_bytes;
  *jobs = s->q_jobs;
  uv_mutex_unlock(&s->lock);
}

int mw__writer_submit(mw__writer *s, mw_write_job *job) {
  job->next = NULL;
  uv_mutex_lock(&s->lock);
  if (s->stopping) {
    uv_mutex_unlock(&s->lock);
    return MW_ESHUTDOWN;
  }
  /* an empty queue always admits one job, however large, so that a request
   * within the body limit can never be refused forever */
  if (s->q_jobs > 0 && (s->q_spans + job->cost_spans > s->max_spans || s->q_bytes + job->cost_bytes > s->max_bytes)) {
    uv_mutex_unlock(&s->lock);
    return MW_EBUSY;
  }
  s->q_spans += job->cost_spans;
  s->q_bytes += job->cost_bytes;
  s->q_jobs++;
  if (s->tail) s->tail->next = job;
  else s->head = job;
  s->tail = job;
  uv_cond_signal(&s->wake);
  uv_mutex_unlock(&s->lock);
  return MW_OK;
}

int mw__writer_full(mw__writer *s, unsigned pct) {
  uv_mutex_lock(&s->lock);
  int full = s->q_jobs > 0 && (s->q_spans * 100 >= s->max_spans * pct || s->q_bytes * 100 >= s->max_bytes * pct);
  uv_mutex_unlock(&s->lock);
  return full;
}

/* Reads of an operation's spans over sealed blocks (block_ops and span
 * references): the shared pieces of the operation queries in reader.c and
 * correlate_read.c (docs/STORAGE-WIRING.md §1.1, §1.2). */
#include "store/block_read.h"
#include "core/error.h"
#include "core/log.h"
#include "store/block_sql.h"
#include "store/block_write.h"
#include "store/blocks.h"
#include "store/readers.h"
#include "store/span_block.h"
#include "store/sref.h"

#include <stdlib.h>
#include <string.h>

/* BO's parameters: the operation and its window [t0 - 120 s, t1) (t0
 * saturated: the statement subtracts). */
static void bo_bind(sqlite3_stmt *st, int64_t op_id, int64_t t0, int64_t t1) {
  sqlite3_bind_int64(st, 1, op_id);
  sqlite3_bind_int64(st, 2, t0 < INT64_MIN + 120000000000LL ? INT64_MIN + 120000000000LL : t0);
  sqlite3_bind_int64(st, 3, t1);
}

/* The columns every BO form yields first: block_id, first_ns, last_ns, n, max_dur_ns. */
static mw__op_row bo_row(sqlite3_stmt *st) {
  return (mw__op_row){.block_id = sqlite3_column_int64(st, 0),
                      .first_ns = sqlite3_column_int64(st, 1),
                      .last_ns = sqlite3_column_int64(st, 2),
                      .n = sqlite3_column_int64(st, 3),
                      .max_dur_ns = sqlite3_column_int64(st, 4)};
}

int mw__store_op_rows(mw_read *r, int64_t op_id, int64_t t0, int64_t t1, int newest_first,
                      int (*each)(void *user, const mw__op_row *row), void *user) {
  /* the connection's cached statement: explain runs this twice per operation */
  sqlite3_stmt *st = newest_first ? mw__reader_stmt(r, MW_RS_BO_DESC, MW__BO_DESC_SQL)
                                  : mw__reader_stmt(r, MW_RS_BO_ASC, MW__BO_ASC_SQL);
  if (!st) return MW_EIO;
  bo_bind(st, op_id, t0, t1);
  int rc = MW_OK, step;
  while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
    mw__op_row row = bo_row(st);
    row.refs = sqlite3_column_blob(st, 5);
    row.refs_len = (size_t)sqlite3_column_bytes(st, 5);
    rc = each(user, &row);
  }
  if (!rc && step != SQLITE_DONE) rc = mw__read_failed(r, step);
  sqlite3_reset(st); /* cached: not finalized */
  return rc < 0 ? rc : MW_OK;
}

int mw__store_op_keys(mw_read *r, int64_t op_id, int64_t t0, int64_t t1, int newest_first,
                      int (*each)(void *user, mw_read *rd, mw__op_row *row), void *user) {
  sqlite3_stmt *st = newest_first ? mw__reader_stmt(r, MW_RS_BO_KEYS_DESC, MW__BO_KEYS_DESC_SQL)
                                  : mw__reader_stmt(r, MW_RS_BO_KEYS_ASC, MW__BO_KEYS_ASC_SQL);
  if (!st) return MW_EIO;
  bo_bind(st, op_id, t0, t1);
  int rc = MW_OK, step;
  while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
    mw__op_row row = bo_row(st);
    row.rowid = sqlite3_column_int64(st, 5);
    rc = each(user, r, &row);
  }
  if (!rc && step != SQLITE_DONE) rc = mw__read_failed(r, step);
  sqlite3_reset(st);
  sqlite3_stmt *refs = r->stmts[MW_RS_BO_REFS];
  if (refs) sqlite3_reset(refs);
  return rc < 0 ? rc : MW_OK;
}

int mw__op_row_refs(mw_read *r, mw__op_row *row) {
  sqlite3_stmt *st = mw__reader_stmt(r, MW_RS_BO_REFS, MW__BO_REFS_SQL);
  if (!st) return MW_EIO;
  sqlite3_bind_int64(st, 1, row->rowid);
  int step = sqlite3_step(st);
  if (step == SQLITE_DONE) return MW_ENOTFOUND;
  if (step != SQLITE_ROW) return mw__read_failed(r, step);
  row->refs = sqlite3_column_blob(st, 0);
  row->refs_len = (size_t)sqlite3_column_bytes(st, 0);
  return MW_OK;
}

int mw__op_row_spans(const mw__op_row *row, int64_t t0, int64_t t1, int64_t min_dur, int64_t max_dur, mw__op_span **v,
                     size_t *n, size_t *cap, size_t max) {
  mw__refs_it it;
  mw__ref ref;
  int got;
  mw__refs_init(&it, row->refs ? row->refs : (const uint8_t *)"", row->refs_len, row->first_ns);
  while ((got = mw__refs_next(&it, &ref)) == 1) {
    if (ref.start_ns < t0 || ref.start_ns >= t1 || ref.dur_ns < min_dur || ref.dur_ns > max_dur) continue;
    if (*n == max) return MW_ETOOBIG;
    if (*n == *cap) {
      size_t c = *cap ? 2 * *cap : 1024;
      mw__op_span *t = realloc(*v, c * sizeof *t);
      if (!t) return MW_ENOMEM;
      *v = t, *cap = c;
    }
    (*v)[(*n)++] = (mw__op_span){mw__sref_block(row->block_id, ref.index), ref.start_ns, ref.dur_ns};
  }
  if (got) mw__error("block_ops refs unreadable", "block=%lld", (long long)row->block_id);
  return got ? MW_EIO : MW_OK;
}

static int cmp_pair(const void *x, const void *y) {
  const int64_t *p = x, *q = y;
  if (p[0] != q[0]) return (p[0] > q[0]) - (p[0] < q[0]);
  return (p[1] > q[1]) - (p[1] < q[1]);
}

/* An unsigned LEB128 varint at *p (below end), or *bad set. */
static uint64_t prefix_uv(const uint8_t **p, const uint8_t *end, int *bad) {
  uint64_t v = 0;
  for (unsigned shift = 0; shift < 64 && *p < end; shift += 7) {
    uint8_t x = *(*p)++;
    v |= (uint64_t)(x & 0x7f) << shift;
    if (!(x & 0x80)) return v;
  }
  *bad = 1;
  return 0;
}

/* The bytes of a block (format 1, span_block.h "Layout") up to the end of
 * column last's frame: the header, its frame directory and crc, then the
 * frames of columns 0..last (trace ids, span ids, parents, times, small), the
 * only ones mw__sb_get_ids decodes. d holds the blob's first have bytes; 0
 * when they do not hold the whole directory (the caller reads the blob whole:
 * mw__sb_open checks what it is given). */
static size_t block_prefix(const uint8_t *d, size_t have, size_t total, int last) {
  const uint8_t *p = d + 5, *end = d + have;
  int bad = have < 5;
  uint64_t n = bad ? 0 : prefix_uv(&p, end, &bad);
  prefix_uv(&p, end, &bad), prefix_uv(&p, end, &bad); /* first_ns, last_ns */
  if (bad || !n || n > MW__SB_MAX_SPANS) return 0;
  uint64_t frames = 5 + (n + MW__SB_BODY_FRAME - 1) / MW__SB_BODY_FRAME, want = 0;
  for (uint64_t i = 0; i < frames && !bad; i++) {
    uint64_t zl = prefix_uv(&p, end, &bad);
    prefix_uv(&p, end, &bad); /* rawlen */
    if (i <= (uint64_t)last) want += zl;
  }
  if (bad || end - p < 4 || want > total) return 0;
  want += (uint64_t)(p + 4 - d);
  return want < total ? (size_t)want : total;
}

/* The blob of sealed block id, in *buf (grown to its whole length, *cap),
 * of which only the bytes up to the end of column last are read: the frames
 * after (the bodies, most of a block) stay unread and are never decoded.
 * *bh: the call's blob handle (opened here, NULL after a miss). Returns 0
 * with *len, MW_ENOTFOUND (deleted by retention since), MW_EIO, MW_ENOMEM. */
static int block_blob(mw_read *r, sqlite3_blob **bh, int64_t id, int last, uint8_t **buf, size_t *cap, size_t *len) {
  int src = *bh ? sqlite3_blob_reopen(*bh, id) : sqlite3_blob_open(r->db, "main", "span_blocks", "data", id, 0, bh);
  if (src != SQLITE_OK) {
    int missing = src == SQLITE_ERROR && strstr(sqlite3_errmsg(r->db), "no such rowid");
    sqlite3_blob_close(*bh); /* a handle that missed cannot be moved again */
    *bh = NULL;
    return missing ? MW_ENOTFOUND : mw__read_failed(r, src);
  }
  size_t total = (size_t)sqlite3_blob_bytes(*bh);
  if (total + 1 > *cap) {
    uint8_t *t = realloc(*buf, total + 1);
    if (!t) return MW_ENOMEM;
    *buf = t, *cap = total + 1;
  }
  size_t head = total < 512 ? total : 512;
  if ((src = sqlite3_blob_read(*bh, *buf, (int)head, 0)) != SQLITE_OK) return mw__read_failed(r, src);
  size_t want = block_prefix(*buf, head, total, last);
  if (!want) want = total;
  if (want > head && (src = sqlite3_blob_read(*bh, *buf + head, (int)(want - head), (int)head)) != SQLITE_OK)
    return mw__read_failed(r, src);
  *len = total;
  return MW_OK;
}

/* The trace and span ids of the sealed blocks a read connection opened last,
 * for mw__store_sref_spans: an explain resolves the slow neighbours of each
 * of its trace's operations, and a block holds a source's spans of every
 * operation, so many blocks come again within one request and in the next
 * requests about the same trace. A sealed block never changes and its id is
 * never used again (AUTOINCREMENT; a seal that rolled back was never seen by
 * a reader), so an entry stays valid for the connection's life. A hit is
 * still checked against the snapshot (one rowid seek, not the blob's pages
 * and their decompression): a block retention deleted since the srefs were
 * read is not found, cached or not. Direct-mapped by block id (neighbouring
 * blocks have consecutive ids): 128 entries of at most 1,024 x 24 bytes, 3 MiB
 * a connection at most. On bench-query's 10M spans it cut explain p50 / p99
 * from 5.48 / 11.23 to 4.71 / 9.73 ms (docs/PERFORMANCE.md). */
enum { IDS_SLOTS = 128 };
typedef struct ids_entry {
  int64_t block_id; /* 0: empty */
  size_t n;
  uint8_t *ids; /* n x {trace id 16, span id 8} */
} ids_entry;
struct mw__ids_cache {
  ids_entry e[IDS_SLOTS];
};

void mw__ids_cache_free(struct mw__ids_cache *c) {
  if (!c) return;
  for (size_t i = 0; i < IDS_SLOTS; i++) free(c->e[i].ids);
  free(c);
}

static ids_entry *ids_slot(mw_read *r, int64_t block_id) {
  if (!r->ids && !(r->ids = calloc(1, sizeof *r->ids))) return NULL;
  return &r->ids->e[(uint64_t)block_id % IDS_SLOTS];
}

/* Fills e with the ids of block b (opened from block_id). On failure e is
 * left as it was: the caller reads b itself. */
static void ids_fill(ids_entry *e, int64_t block_id, mw__sb_block *b) {
  mw__sb_info info;
  mw__sb_info_get(b, &info);
  uint8_t *v = info.n ? malloc(info.n * 24) : NULL;
  if (!v) return;
  if (mw__sb_all_ids(b, v)) {
    free(v);
    return;
  }
  free(e->ids);
  *e = (ids_entry){block_id, info.n, v};
}

/* 1 when block id is in r's snapshot, 0 when not, or an error < 0. */
static int block_there(mw_read *r, int64_t id) {
  sqlite3_stmt *st = mw__reader_stmt(r, MW_RS_BLOCK_EXISTS, MW__BLOCK_EXISTS_SQL);
  if (!st) return -MW_EIO;
  sqlite3_bind_int64(st, 1, id);
  int step = sqlite3_step(st);
  sqlite3_reset(st);
  if (step == SQLITE_ROW) return 1;
  if (step == SQLITE_DONE) return 0;
  return -mw__read_failed(r, step);
}

int mw__store_sref_spans(mw_read *r, mw_arena *a, const int64_t *srefs, size_t n, int want_times, mw_span_ref *out,
                         int *found) {
  memset(out, 0, n * sizeof *out);
  memset(found, 0, n * sizeof *found);
  if (!n) return MW_OK;
  /* by sref, so that each block is opened once, read while its row is current */
  int64_t(*order)[2] = malloc(n * sizeof *order); /* {sref, i} */
  if (!order) return MW_ENOMEM;
  for (size_t i = 0; i < n; i++) order[i][0] = srefs[i], order[i][1] = (int64_t)i;
  qsort(order, n, sizeof *order, cmp_pair);
  /* old rows: the connection's cached statement (the one MW_RS_SPAN_BY_ROWID
   * always named); blocks: an incremental blob handle, moved from block to
   * block, reading each blob only up to the columns the ids (and times) are in */
  int any_row = srefs[order[n - 1][1]] > 0, any_blk = srefs[order[0][1]] < 0;
  sqlite3_stmt *row = any_row ? mw__reader_stmt(r, MW_RS_SPAN_BY_ROWID, MW__ROW_IDS_SQL) : NULL;
  sqlite3_blob *bh = NULL;
  uint8_t *buf = NULL;
  size_t cap = 0;
  ZSTD_DCtx *own = NULL, *dctx = !any_blk ? NULL : r->dctx ? r->dctx : (own = ZSTD_createDCtx());
  int rc = any_row && !row ? MW_EIO : any_blk && !dctx ? MW_ENOMEM : MW_OK;
  for (size_t k = 0; k < n && !rc;) {
    size_t i = (size_t)order[k][1];
    mw_span_ref *x = &out[i];
    if (mw__sref_is_row(srefs[i])) {
      k++;
      sqlite3_bind_int64(row, 1, srefs[i]);
      int step = sqlite3_step(row);
      if (step == SQLITE_ROW) {
        if (sqlite3_column_bytes(row, 0) == 16) memcpy(x->trace_id, sqlite3_column_blob(row, 0), 16);
        if (sqlite3_column_bytes(row, 1) == 8) memcpy(x->span_id, sqlite3_column_blob(row, 1), 8);
        x->start_ns = sqlite3_column_int64(row, 2);
        x->dur_ns = sqlite3_column_int64(row, 3);
        found[i] = 1;
      } else if (step != SQLITE_DONE) {
        rc = mw__read_failed(r, step);
      }
      sqlite3_reset(row);
      continue;
    }
    if (!srefs[i]) { /* 0: names nothing */
      k++;
      continue;
    }
    /* the srefs order[k..e) name one block */
    int64_t id, id2;
    uint32_t index;
    mw__sref_split(srefs[i], &id, &index);
    size_t e = k + 1;
    while (e < n && order[e][0] < 0 && (mw__sref_split(order[e][0], &id2, &index), id2 == id)) e++;
    ids_entry *c = want_times ? NULL : ids_slot(r, id);
    mw__sb_block *b = NULL;
    if (c && c->block_id == id) { /* cached: still in the snapshot? */
      int there = block_there(r, id);
      if (there < 0) rc = -there;
      if (there <= 0) { /* gone: deleted by retention since */
        k = e;
        continue;
      }
    } else {
      size_t len = 0;
      rc = block_blob(r, &bh, id, want_times ? 4 : 1, &buf, &cap, &len);
      if (rc == MW_ENOTFOUND) rc = MW_OK; /* deleted by retention since */
      else if (!rc && (rc = mw__sb_open(a, dctx, buf, len, &b)))
        mw__error("span block unreadable", "block=%lld", (long long)id);
      if (c && b && !rc) ids_fill(c, id, b);
    }
    if (c && c->block_id == id) { /* the block's ids, from the cache */
      for (; k < e; k++) {
        i = (size_t)order[k][1];
        mw__sref_split(srefs[i], &id, &index);
        if (index >= c->n) continue; /* past the block: not ours */
        memcpy(out[i].trace_id, c->ids + 24 * (size_t)index, 16);
        memcpy(out[i].span_id, c->ids + 24 * (size_t)index + 16, 8);
        found[i] = 1;
      }
      continue;
    }
    for (; k < e && b && !rc; k++) {
      i = (size_t)order[k][1];
      x = &out[i];
      mw__sref_split(srefs[i], &id, &index);
      int g = want_times ? mw__sb_get_ids(b, index, x->trace_id, x->span_id, &x->start_ns, &x->dur_ns, NULL)
                         : mw__sb_get_ids(b, index, x->trace_id, x->span_id, NULL, NULL, NULL);
      if (!g) found[i] = 1;
      else if (g != MW_EINVAL) rc = g; /* EINVAL: an index past the block, not ours */
    }
    k = e;
  }
  if (row) sqlite3_reset(row); /* cached: not finalized */
  sqlite3_blob_close(bh);
  free(buf);
  ZSTD_freeDCtx(own);
  free(order);
  return rc;
}

int mw__store_view_spans(mw_read *r, mw_arena *a, int64_t source, int64_t op_id, int64_t t0, int64_t t1,
                         int (*each)(void *user, const mw__sb_span *s, int64_t source_id), void *user) {
  mw__blk *blk = r->pool ? r->pool->blk : NULL;
  if (!blk) return MW_OK;
  mw__blk_view v;
  int rc = mw__blk_view_take(blk, r->seq_at_begin, a, source, &v);
  if (rc || !v.n) return rc;
  sqlite3_stmt *there = NULL;
  for (size_t k = 0; k < v.n && !rc; k++) {
    const mw__blk_ref *ref = &v.v[k];
    if (ref->block_id) { /* retired: read from span_blocks once the snapshot holds it */
      if (!there && !(there = mw__prepare(r, MW__BLOCK_EXISTS_SQL))) {
        rc = MW_EIO;
        break;
      }
      sqlite3_bind_int64(there, 1, ref->block_id);
      int step = sqlite3_step(there);
      sqlite3_reset(there);
      if (step == SQLITE_ROW) continue;
      if (step != SQLITE_DONE) {
        rc = mw__read_failed(r, step);
        break;
      }
    }
    for (size_t i = 0; i < ref->n && !rc; i++) {
      const mw__sb_span *sp = mw__blk_span(ref, i);
      if ((op_id && sp->op_id != op_id) || sp->start_ns < t0 || sp->start_ns >= t1) continue;
      rc = each(user, sp, ref->source_id);
    }
  }
  sqlite3_finalize(there);
  return rc < 0 ? rc : MW_OK;
}

/* Sealing a block, and block_ops.refs (block_write.h). */
#include "store/block_write.h"
#include "core/buf.h"
#include "core/error.h"
#include "store/conn.h"
#include "store/sref.h"

#include <stdlib.h>
#include <string.h>

enum { ST_BLOCK, ST_OP, ST_SLOW, ST_DEL_OPS_OF, ST_DEL_SLOW, ST_DEL_OPS, ST_DEL_BLOCK, ST_RECENT, N_ST };
const size_t mw__bw_sql_count = N_ST;
const char *const mw__bw_sql[N_ST] = {
    [ST_BLOCK] =
        "INSERT INTO span_blocks (source_id, first_ns, last_ns, n, format, data) VALUES (?1, ?2, ?3, ?4, 1, ?5)",
    [ST_OP] = ("INSERT INTO block_ops (op_id, first_ns, block_id, last_ns, n, max_dur_ns, slow_ns, refs) "
               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
    [ST_SLOW] = "INSERT OR IGNORE INTO slow_spans (op_id, dur_ns, span_rowid, start_ns) VALUES (?1, ?2, ?3, ?4)",
    [ST_DEL_OPS_OF] = "SELECT op_id, first_ns, n, slow_ns, refs FROM block_ops WHERE block_id = ?1",
    [ST_DEL_SLOW] = "DELETE FROM slow_spans WHERE op_id = ?1 AND dur_ns = ?2 AND span_rowid = ?3",
    [ST_DEL_OPS] = "DELETE FROM block_ops WHERE block_id = ?1",
    [ST_DEL_BLOCK] = "DELETE FROM span_blocks WHERE id = ?1",
    [ST_RECENT] = "SELECT first_ns, refs FROM block_ops WHERE op_id = ?1 ORDER BY first_ns DESC, block_id DESC",
};

/* A span in the operation order: (op, start, index in the block). */
typedef struct opkey {
  int64_t op, start, dur;
  uint32_t index;
} opkey;

struct mw__bw {
  sqlite3 *db;
  sqlite3_stmt *st[N_ST];
  mw__sb_enc *enc;
  mw_buf data, refs;
  uint32_t *perm, *tmp;
  opkey *keys;
  size_t cap;
};

int mw__bw_open(sqlite3 *db, mw__bw **out) {
  *out = NULL;
  mw__bw *w = calloc(1, sizeof *w);
  if (!w) return MW_ENOMEM;
  w->db = db;
  mw__buf_init(&w->data, (size_t)1000000000); /* SQLite's default blob limit */
  mw__buf_init(&w->refs, (size_t)1 << 24);    /* 65,536 spans x 3 varints of <= 10 bytes fit */
  if (!(w->enc = mw__sb_enc_new())) {
    mw__bw_close(w);
    return MW_ENOMEM;
  }
  for (int i = 0; i < N_ST; i++)
    if (sqlite3_prepare_v3(db, mw__bw_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &w->st[i], NULL) != SQLITE_OK) {
      mw__bw_close(w);
      return MW_EIO;
    }
  *out = w;
  return MW_OK;
}

void mw__bw_close(mw__bw *w) {
  if (!w) return;
  for (int i = 0; i < N_ST; i++) sqlite3_finalize(w->st[i]);
  mw__sb_enc_free(w->enc);
  mw__buf_free(&w->data);
  mw__buf_free(&w->refs);
  free(w->perm);
  free(w->tmp);
  free(w->keys);
  free(w);
}

static int64_t sat_end(int64_t start, int64_t dur) {
  if (dur > 0 && start > INT64_MAX - dur) return INT64_MAX;
  if (dur < 0 && start < INT64_MIN - dur) return INT64_MIN;
  return start + dur;
}

static int cmp_opkey(const void *pa, const void *pb) {
  const opkey *a = pa, *b = pb;
  if (a->op != b->op) return a->op < b->op ? -1 : 1;
  if (a->start != b->start) return a->start < b->start ? -1 : 1;
  return (a->index > b->index) - (a->index < b->index);
}

static int grow(mw__bw *w, size_t n) {
  if (w->cap >= n) return MW_OK;
  uint32_t *p = realloc(w->perm, n * sizeof *p);
  if (!p) return MW_ENOMEM;
  w->perm = p;
  if (!(p = realloc(w->tmp, n * sizeof *p))) return MW_ENOMEM;
  w->tmp = p;
  opkey *k = realloc(w->keys, n * sizeof *k);
  if (!k) return MW_ENOMEM;
  w->keys = k;
  w->cap = n;
  return MW_OK;
}

int mw__bw_add_keys(mw__truns_mem *mem, const mw__sb_span *spans, size_t n, int64_t block_id, int64_t first_ns,
                    int64_t last_ns) {
  int64_t prev = 0;
  for (size_t i = 0; i < n; i++) {
    int64_t k = mw__trace_key(spans[i].trace_id);
    if (i && k == prev) continue; /* (the partition ignores repeats; this only saves probes) */
    int rc = mw__truns_add(mem, k, block_id, first_ns, last_ns);
    if (rc) return rc;
    prev = k;
  }
  return MW_OK;
}

/* One block_ops row and the slow_spans rows of keys[0..k), one operation's
 * spans in (start, index) order. */
static int seal_op(mw__bw *w, const mw__bw_sealed *b, const opkey *keys, size_t k, mw__bw_slow_fn slow, void *user,
                   size_t *n_slow) {
  int64_t op = keys[0].op, last = INT64_MIN, max_dur = INT64_MIN, prev = b->first_ns, thr = INT64_MAX;
  mw__buf_reset(&w->refs);
  int rc = slow ? slow(user, op, &thr) : MW_OK;
  if (rc) return rc;
  for (size_t i = 0; i < k && !rc; i++) {
    int64_t end = sat_end(keys[i].start, keys[i].dur);
    if (end > last) last = end;
    if (keys[i].dur > max_dur) max_dur = keys[i].dur;
    rc = mw__buf_uvarint(&w->refs, keys[i].index);
    if (!rc) rc = mw__buf_uvarint(&w->refs, (uint64_t)keys[i].start - (uint64_t)prev);
    prev = keys[i].start;
    if (!rc) rc = mw__buf_uvarint(&w->refs, (uint64_t)keys[i].dur);
  }
  if (rc) return rc;
  sqlite3_stmt *st = w->st[ST_OP];
  sqlite3_bind_int64(st, 1, op);
  sqlite3_bind_int64(st, 2, b->first_ns);
  sqlite3_bind_int64(st, 3, b->block_id);
  sqlite3_bind_int64(st, 4, last);
  sqlite3_bind_int64(st, 5, (int64_t)k);
  sqlite3_bind_int64(st, 6, max_dur);
  sqlite3_bind_int64(st, 7, thr);
  sqlite3_bind_blob(st, 8, w->refs.data ? w->refs.data : "", (int)w->refs.len, SQLITE_STATIC);
  int64_t none;
  if ((rc = mw__step_id(w->db, st, &none))) return rc;
  if (max_dur < thr) return MW_OK;
  st = w->st[ST_SLOW];
  for (size_t i = 0; i < k; i++) {
    if (keys[i].dur < thr) continue;
    sqlite3_bind_int64(st, 1, op);
    sqlite3_bind_int64(st, 2, keys[i].dur);
    sqlite3_bind_int64(st, 3, mw__sref_block(b->block_id, keys[i].index));
    sqlite3_bind_int64(st, 4, keys[i].start);
    if ((rc = mw__step_id(w->db, st, &none))) return rc;
    *n_slow += (size_t)sqlite3_changes(w->db);
  }
  return MW_OK;
}

int mw__bw_seal(mw__bw *w, int64_t source_id, const mw__sb_span *spans, size_t n, mw__bw_slow_fn slow, void *user,
                mw__truns_mem *mem, mw__bw_sealed *out) {
  memset(out, 0, sizeof *out);
  if (!n || n > MW__SB_MAX_SPANS) return MW_EINVAL;
  int rc = grow(w, n);
  if (rc) return rc;
  mw__buf_reset(&w->data);
  if ((rc = mw__sb_encode(w->enc, spans, n, &w->data))) return rc;
  mw__sb_order(spans, n, w->perm, w->tmp);

  int64_t first = INT64_MAX, last = INT64_MIN;
  for (size_t i = 0; i < n; i++) {
    int64_t end = sat_end(spans[i].start_ns, spans[i].dur_ns);
    if (spans[i].start_ns < first) first = spans[i].start_ns;
    if (end > last) last = end;
  }
  sqlite3_stmt *st = w->st[ST_BLOCK];
  sqlite3_bind_int64(st, 1, source_id);
  sqlite3_bind_int64(st, 2, first);
  sqlite3_bind_int64(st, 3, last);
  sqlite3_bind_int64(st, 4, (int64_t)n);
  sqlite3_bind_blob(st, 5, w->data.data, (int)w->data.len, SQLITE_STATIC);
  int64_t none;
  if ((rc = mw__step_id(w->db, st, &none))) return rc;
  out->block_id = sqlite3_last_insert_rowid(w->db);
  out->first_ns = first, out->last_ns = last, out->n = n, out->data_bytes = w->data.len;
  if (out->block_id > MW__SREF_MAX_BLOCK) return MW_ETOOBIG;

  for (size_t k = 0; k < n; k++) {
    const mw__sb_span *s = &spans[w->perm[k]];
    w->keys[k] = (opkey){.op = s->op_id, .start = s->start_ns, .dur = s->dur_ns, .index = (uint32_t)k};
  }
  qsort(w->keys, n, sizeof *w->keys, cmp_opkey);
  for (size_t i = 0; i < n && !rc;) {
    size_t j = i + 1;
    while (j < n && w->keys[j].op == w->keys[i].op) j++;
    rc = seal_op(w, out, w->keys + i, j - i, slow, user, &out->slow);
    out->ops++;
    out->refs_bytes += w->refs.len;
    i = j;
  }
  if (!rc && mem) rc = mw__bw_add_keys(mem, spans, n, out->block_id, first, last);
  return rc;
}

/* One block_ops row's slow spans (refs entries lasting >= slow_ns), deleted by key. */
static int delete_slow(mw__bw *w, int64_t block_id, int64_t op, int64_t first_ns, int64_t slow_ns, const uint8_t *refs,
                       size_t len, size_t *deleted) {
  mw__refs_it it;
  mw__ref r;
  int more, rc = MW_OK;
  mw__refs_init(&it, refs, len, first_ns);
  sqlite3_stmt *st = w->st[ST_DEL_SLOW];
  while (!rc && (more = mw__refs_next(&it, &r)) == 1) {
    if (r.dur_ns < slow_ns) continue;
    sqlite3_bind_int64(st, 1, op);
    sqlite3_bind_int64(st, 2, r.dur_ns);
    sqlite3_bind_int64(st, 3, mw__sref_block(block_id, r.index));
    int64_t none;
    if (!(rc = mw__step_id(w->db, st, &none))) *deleted += (size_t)sqlite3_changes(w->db);
  }
  return rc ? rc : more;
}

int mw__bw_delete(mw__bw *w, int64_t block_id, mw__bw_op_fn each_op, void *user, size_t *slow_deleted) {
  *slow_deleted = 0;
  sqlite3_stmt *st = w->st[ST_DEL_OPS_OF];
  sqlite3_bind_int64(st, 1, block_id);
  int step, rc = MW_OK;
  while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
    int64_t op = sqlite3_column_int64(st, 0);
    rc = delete_slow(w, block_id, op, sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 3),
                     sqlite3_column_blob(st, 4), (size_t)sqlite3_column_bytes(st, 4), slow_deleted);
    if (!rc && each_op) rc = each_op(user, op, sqlite3_column_int64(st, 2));
  }
  if (!rc && step != SQLITE_DONE) rc = mw__sql_err(w->db);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (rc) return rc;
  int64_t none;
  sqlite3_bind_int64(w->st[ST_DEL_OPS], 1, block_id);
  if ((rc = mw__step_id(w->db, w->st[ST_DEL_OPS], &none))) return rc;
  sqlite3_bind_int64(w->st[ST_DEL_BLOCK], 1, block_id);
  if ((rc = mw__step_id(w->db, w->st[ST_DEL_BLOCK], &none))) return rc;
  return sqlite3_changes(w->db) ? MW_OK : MW_ENOTFOUND;
}

int mw__bw_recent_durs(mw__bw *w, int64_t op_id, int64_t *out, size_t cap, size_t *n) {
  *n = 0;
  sqlite3_stmt *st = w->st[ST_RECENT];
  sqlite3_bind_int64(st, 1, op_id);
  int step = SQLITE_DONE, rc = MW_OK;
  while (!rc && *n < cap && (step = sqlite3_step(st)) == SQLITE_ROW) {
    /* the row's durations in start order, then taken from the newest back */
    mw__refs_it it;
    mw__ref r;
    size_t at = 0;
    mw__buf_reset(&w->refs);
    mw__refs_init(&it, sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1), sqlite3_column_int64(st, 0));
    while ((rc = mw__refs_next(&it, &r)) == 1 && !(rc = mw__buf_add(&w->refs, &r.dur_ns, sizeof r.dur_ns))) at++;
    if (rc) break;
    const int64_t *d = (const int64_t *)(const void *)w->refs.data;
    while (at && *n < cap) memcpy(&out[(*n)++], &d[--at], sizeof *out);
  }
  if (!rc && *n < cap && step != SQLITE_DONE) rc = mw__sql_err(w->db);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return rc;
}

/* ---- block_ops.refs ----------------------------------------------------------- */

void mw__refs_init(mw__refs_it *it, const uint8_t *refs, size_t len, int64_t block_first_ns) {
  it->p = refs;
  it->end = refs ? refs + len : refs;
  it->prev_ns = block_first_ns;
}

static int get_uv(mw__refs_it *it, uint64_t *v) {
  *v = 0;
  for (unsigned shift = 0; shift < 64 && it->p < it->end; shift += 7) {
    uint8_t x = *it->p++;
    if (shift == 63 && x > 1) break; /* past 64 bits */
    *v |= (uint64_t)(x & 0x7f) << shift;
    if (!(x & 0x80)) return MW_OK;
  }
  it->p = it->end;
  return MW_EIO;
}

static int64_t s64(uint64_t u) {
  int64_t r;
  memcpy(&r, &u, sizeof r); /* two's complement, without the implementation-defined conversion */
  return r;
}

int mw__refs_next(mw__refs_it *it, mw__ref *out) {
  if (it->p >= it->end) return 0;
  uint64_t index, start, dur;
  if (get_uv(it, &index) || get_uv(it, &start) || get_uv(it, &dur) || index > 0xffff) {
    it->p = it->end;
    return MW_EIO;
  }
  out->index = (uint32_t)index;
  out->start_ns = s64((uint64_t)it->prev_ns + start);
  it->prev_ns = out->start_ns;
  out->dur_ns = s64(dur);
  return 1;
}

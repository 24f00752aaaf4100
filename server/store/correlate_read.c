/* Reads for correlation: what a span's labels tie to it, and what other spans
 * of the same operation look like; each in the caller's read transaction. A
 * statement that fails part way fails the read: rows already taken are not
 * an answer. */
#include "store/readers.h"
#include "core/error.h"
#include "store/block_read.h"
#include "store/block_write.h"
#include "store/span_block.h"
#include "store/sref.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mw__store_span_samples(mw_read *r, mw_arena *a, const uint8_t span_id[8], const uint8_t trace_id[16],
                           const char *kind, size_t limit, mw_span_sample **out, size_t *n) {
  *out = NULL;
  *n = 0;
  int rc = MW_OK;
  /* a span id is only 8 bytes: when the sample also names its trace, it must agree */
  static const char *const sql[2] = {
      "SELECT sn.id, sn.at_ns, sn.duration_ns, sn.kind, sn.format, sn.meta, p.stack_id, st.frames, p.vals "
      "FROM profile_samples p JOIN snapshots sn ON sn.id = p.snapshot_id JOIN stacks st ON st.id = p.stack_id "
      "WHERE p.span_id = ?1 AND (?2 IS NULL OR p.trace_id IS NULL OR p.trace_id = ?2) AND (?3 IS NULL OR sn.kind = ?3) "
      "ORDER BY sn.at_ns LIMIT ?4",
      "SELECT sn.id, sn.at_ns, sn.duration_ns, sn.kind, sn.format, sn.meta, g.stack_id, st.frames, g.state, "
      "g.wait_reason, g.count "
      "FROM goroutine_groups g JOIN snapshots sn ON sn.id = g.snapshot_id JOIN stacks st ON st.id = g.stack_id "
      "WHERE g.span_id = ?1 AND (?2 IS NULL OR g.trace_id IS NULL OR g.trace_id = ?2) AND (?3 IS NULL OR sn.kind = ?3) "
      "ORDER BY sn.at_ns LIMIT ?4"};
  size_t cap = 0;
  for (int q = 0; q < 2 && !rc; q++) {
    if (kind && (q == 0) == (strcmp(kind, "goroutine") == 0)) continue;
    sqlite3_stmt *st = mw__reader_stmt(r, q == 0 ? MW_RS_SPAN_CPU : MW_RS_SPAN_GOROUTINES, sql[q]);
    if (!st) {
      rc = MW_EIO;
      break;
    }
    sqlite3_bind_blob(st, 1, span_id, 8, SQLITE_STATIC);
    if (trace_id) sqlite3_bind_blob(st, 2, trace_id, 16, SQLITE_STATIC);
    if (kind) sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (int64_t)limit);
    int step = SQLITE_DONE;
    while (*n < limit && (step = sqlite3_step(st)) == SQLITE_ROW) {
      if (*n == cap) {
        size_t ncap = cap ? cap * 2 : 32;
        mw_span_sample *p = mw__arena_alloc(a, ncap * sizeof *p);
        if (!p) {
          rc = MW_ENOMEM;
          break;
        }
        if (*n) memcpy(p, *out, *n * sizeof *p);
        *out = p;
        cap = ncap;
      }
      mw_span_sample *x = &(*out)[(*n)++];
      memset(x, 0, sizeof *x);
      x->snapshot_id = sqlite3_column_int64(st, 0);
      x->snapshot_ns = sqlite3_column_int64(st, 1);
      x->snapshot_dur_ns = sqlite3_column_int64(st, 2);
      x->kind = mw__col_text(a, st, 3);
      x->format = mw__col_text(a, st, 4);
      x->meta_json = mw__col_text(a, st, 5);
      x->stack_id = sqlite3_column_int64(st, 6);
      x->frames = mw__col_text(a, st, 7);
      if (q == 0) {
        x->vals_json = mw__col_text(a, st, 8);
        x->count = 1;
      } else {
        x->state = mw__col_text(a, st, 8);
        x->wait_reason = mw__col_text(a, st, 9);
        x->count = sqlite3_column_int64(st, 10);
      }
    }
    if (!rc && step != SQLITE_ROW && step != SQLITE_DONE) rc = mw__read_failed(r, step);
    sqlite3_reset(st);
  }
  return rc;
}

/* An operation's spans in sealed blocks that start in [t0, t1) and last
 * [min_dur, max_dur], into *v (malloc'd, the caller frees). */
typedef struct op_acc {
  int64_t t0, t1, min_dur, max_dur;
  mw__op_span *v;
  size_t n, cap, max;
} op_acc;

static int op_acc_row(void *user, const mw__op_row *row) {
  op_acc *o = user;
  return mw__op_row_spans(row, o->t0, o->t1, o->min_dur, o->max_dur, &o->v, &o->n, &o->cap, o->max);
}

static int block_spans(mw_read *r, int64_t op_id, op_acc *o) {
  return mw__store_op_rows(r, op_id, o->t0, o->t1, 0, op_acc_row, o);
}

static int view_dur(void *user, const mw__sb_span *sp, int64_t source_id) {
  op_acc *o = user;
  (void)source_id;
  if (sp->dur_ns < o->min_dur || sp->dur_ns > o->max_dur) return MW_OK;
  if (o->n == o->max) return MW_ETOOBIG;
  if (o->n == o->cap) {
    size_t c = o->cap ? 2 * o->cap : 1024;
    mw__op_span *t = realloc(o->v, c * sizeof *t);
    if (!t) return MW_ENOMEM;
    o->v = t, o->cap = c;
  }
  o->v[o->n++] = (mw__op_span){0, sp->start_ns, sp->dur_ns};
  return MW_OK;
}

static int cmp_i64_asc(const void *x, const void *y) {
  int64_t p = *(const int64_t *)x, q = *(const int64_t *)y;
  return (p > q) - (p < q);
}

/* By duration, longest first; ties by start. */
static int cmp_op_dur_desc(const void *x, const void *y) {
  const mw__op_span *p = x, *q = y;
  if (p->dur_ns != q->dur_ns) return (p->dur_ns < q->dur_ns) - (p->dur_ns > q->dur_ns);
  return (p->start_ns > q->start_ns) - (p->start_ns < q->start_ns);
}

/* The quantile over old rows and blocks together: every duration of the
 * window in one array (at most MW_OPQ_MAX), sorted. */
static int quantile_with_blocks(mw_read *r, int64_t op_id, int64_t start_ns, int64_t end_ns, double q, op_acc *o,
                                int64_t *value, int64_t *count) {
  size_t n = o->n, cap = o->n + 1024;
  int64_t *d = malloc(cap * sizeof *d);
  if (!d) return MW_ENOMEM;
  for (size_t i = 0; i < n; i++) d[i] = o->v[i].dur_ns;
  int rc = MW_OK, step;
  sqlite3_stmt *st = mw__prepare(r, "SELECT dur_ns FROM spans INDEXED BY spans_by_op WHERE op_id = ?1 AND "
                                    "start_ns >= ?2 AND start_ns < ?3");
  if (!st) rc = MW_EIO;
  else {
    sqlite3_bind_int64(st, 1, op_id);
    sqlite3_bind_int64(st, 2, start_ns);
    sqlite3_bind_int64(st, 3, end_ns);
    while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
      if (n == MW_OPQ_MAX) rc = MW_ETOOBIG;
      else if (n == cap) {
        int64_t *t = realloc(d, (cap *= 2) * sizeof *t);
        if (!t) rc = MW_ENOMEM;
        else d = t;
      }
      if (!rc) d[n++] = sqlite3_column_int64(st, 0);
    }
    if (!rc && step != SQLITE_DONE) rc = mw__read_failed(r, step);
    sqlite3_finalize(st);
  }
  if (!rc) {
    qsort(d, n, sizeof *d, cmp_i64_asc);
    *count = (int64_t)n;
    size_t k = (size_t)(q * (double)n + 0.999999999);
    if (k < 1) k = 1;
    if (k > n) k = n;
    *value = d[k - 1];
  }
  free(d);
  return rc;
}

int mw__store_op_quantile(mw_read *r, int64_t op_id, int64_t start_ns, int64_t end_ns, double q, int64_t *value,
                          int64_t *count) {
  *value = 0;
  *count = 0;
  op_acc o = {.t0 = start_ns, .t1 = end_ns, .min_dur = INT64_MIN, .max_dur = INT64_MAX, .max = MW_OPQ_MAX};
  int rc = block_spans(r, op_id, &o);
  if (!rc && r->pool && r->pool->blk) { /* and the spans of memory (V): they count as blocks' (no sref needed) */
    mw_arena *va = mw__arena_new((size_t)16 << 20);
    rc = va ? mw__store_view_spans(r, va, 0, op_id, start_ns, end_ns, view_dur, &o) : MW_ENOMEM;
    mw__arena_free(va);
  }
  if (!rc && o.n) rc = quantile_with_blocks(r, op_id, start_ns, end_ns, q, &o, value, count);
  free(o.v);
  if (rc || o.n) return rc;
  /* old rows only: count, then one step to the rank */
  sqlite3_stmt *st = mw__prepare(r, "SELECT count(*) FROM spans WHERE op_id = ?1 AND start_ns >= ?2 AND start_ns < ?3");
  sqlite3_stmt *at = mw__prepare(r, "SELECT dur_ns FROM spans WHERE op_id = ?1 AND start_ns >= ?2 AND start_ns < ?3 "
                                    "ORDER BY dur_ns LIMIT 1 OFFSET ?4");
  if (!st || !at) {
    rc = MW_EIO;
    goto out;
  }
  sqlite3_bind_int64(st, 1, op_id);
  sqlite3_bind_int64(st, 2, start_ns);
  sqlite3_bind_int64(st, 3, end_ns);
  int step = sqlite3_step(st);
  if (step != SQLITE_ROW) {
    rc = mw__read_failed(r, step);
    goto out;
  }
  *count = sqlite3_column_int64(st, 0);
  if (*count) {
    int64_t k = (int64_t)(q * (double)*count + 0.999999999);
    if (k < 1) k = 1;
    if (k > *count) k = *count;
    sqlite3_bind_int64(at, 1, op_id);
    sqlite3_bind_int64(at, 2, start_ns);
    sqlite3_bind_int64(at, 3, end_ns);
    sqlite3_bind_int64(at, 4, k - 1);
    if ((step = sqlite3_step(at)) == SQLITE_ROW) *value = sqlite3_column_int64(at, 0);
    else if (step != SQLITE_DONE) rc = mw__read_failed(r, step);
  }
out:
  sqlite3_finalize(st);
  sqlite3_finalize(at);
  return rc;
}

/* Spans of memory (V), whose ids are at hand: kept as span refs, each
 * under a pseudo-reference (MEM_SREF, block_read.h) where a span reference
 * is expected. */
typedef struct mem_refs {
  mw_arena *a;
  int64_t min_dur, max_dur;
  mw_span_ref *v;
  size_t n, cap;
} mem_refs;

static int view_ref(void *user, const mw__sb_span *sp, int64_t source_id) {
  mem_refs *m = user;
  (void)source_id;
  if (sp->dur_ns < m->min_dur || sp->dur_ns > m->max_dur) return MW_OK;
  if (!(m->v = mw__grow(m->a, m->v, m->n, &m->cap, sizeof *m->v))) return MW_ENOMEM;
  mw_span_ref *x = &m->v[m->n++];
  memcpy(x->trace_id, sp->trace_id, 16);
  memcpy(x->span_id, sp->span_id, 8);
  x->start_ns = sp->start_ns;
  x->dur_ns = sp->dur_ns;
  return MW_OK;
}

static int cmp_ref_dur_desc(const void *x, const void *y) {
  const mw_span_ref *p = x, *q = y;
  if (p->dur_ns != q->dur_ns) return (p->dur_ns < q->dur_ns) - (p->dur_ns > q->dur_ns);
  return (p->start_ns > q->start_ns) - (p->start_ns < q->start_ns);
}

int mw__store_op_spans(mw_read *r, mw_arena *a, int64_t op_id, int64_t start_ns, int64_t end_ns, int64_t min_dur,
                       int64_t max_dur, size_t limit, mw_span_ref **out, size_t *n) {
  *n = 0;
  *out = mw__arena_calloc(a, limit + 1, sizeof **out);
  if (!*out) return MW_ENOMEM;
  /* the blocks' spans of the window, the longest `limit` kept; memory's (V) */
  op_acc o = {.t0 = start_ns, .t1 = end_ns, .min_dur = min_dur, .max_dur = max_dur, .max = MW_OPQ_MAX};
  mem_refs mr = {.a = a, .min_dur = min_dur, .max_dur = max_dur};
  int rc = block_spans(r, op_id, &o);
  if (!rc && o.n) {
    qsort(o.v, o.n, sizeof *o.v, cmp_op_dur_desc);
    if (o.n > limit) o.n = limit;
  }
  if (!rc && r->pool && r->pool->blk) rc = mw__store_view_spans(r, a, 0, op_id, start_ns, end_ns, view_ref, &mr);
  int merge = o.n || mr.n;
  mw_span_ref *old = merge ? mw__arena_calloc(a, limit + 1, sizeof *old) : *out;
  size_t n_old = 0;
  sqlite3_stmt *st = NULL;
  if (!rc && !old) rc = MW_ENOMEM;
  if (!rc && !(st = mw__prepare(r, "SELECT trace_id, span_id, start_ns, dur_ns FROM spans WHERE op_id = ?1 "
                                   "AND start_ns >= ?2 AND start_ns < ?3 AND dur_ns >= ?4 AND dur_ns <= ?5 "
                                   "ORDER BY dur_ns DESC LIMIT ?6")))
    rc = MW_EIO;
  if (!rc) {
    sqlite3_bind_int64(st, 1, op_id);
    sqlite3_bind_int64(st, 2, start_ns);
    sqlite3_bind_int64(st, 3, end_ns);
    sqlite3_bind_int64(st, 4, min_dur);
    sqlite3_bind_int64(st, 5, max_dur);
    sqlite3_bind_int64(st, 6, (int64_t)limit);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW && n_old < limit) {
      mw_span_ref *x = &old[n_old++];
      if (sqlite3_column_bytes(st, 0) == 16) memcpy(x->trace_id, sqlite3_column_blob(st, 0), 16);
      if (sqlite3_column_bytes(st, 1) == 8) memcpy(x->span_id, sqlite3_column_blob(st, 1), 8);
      x->start_ns = sqlite3_column_int64(st, 2);
      x->dur_ns = sqlite3_column_int64(st, 3);
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE) rc = mw__read_failed(r, step);
  }
  sqlite3_finalize(st);
  if (!rc && !merge) *n = n_old; /* old rows only: they are the answer */
  if (!rc && merge) {            /* the ids of the blocks' spans, then the three lists, longest first */
    size_t cap = n_old + o.n + mr.n + 1;
    int64_t *srefs = mw__arena_alloc(a, (o.n + 1) * sizeof *srefs);
    mw_span_ref *blk = mw__arena_alloc(a, (o.n + 1) * sizeof *blk), *all = mw__arena_alloc(a, cap * sizeof *all);
    int *found = mw__arena_alloc(a, (o.n + 1) * sizeof *found);
    if (!srefs || !blk || !found || !all) rc = MW_ENOMEM;
    for (size_t i = 0; !rc && i < o.n; i++) srefs[i] = o.v[i].sref;
    if (!rc) rc = mw__store_sref_spans(r, a, srefs, o.n, 0, blk, found);
    size_t m = 0;
    for (size_t i = 0; !rc && i < o.n; i++)
      if (found[i]) {
        all[m] = blk[i];
        all[m].start_ns = o.v[i].start_ns, all[m++].dur_ns = o.v[i].dur_ns;
      }
    for (size_t i = 0; !rc && i < n_old; i++) all[m++] = old[i];
    for (size_t i = 0; !rc && i < mr.n; i++) all[m++] = mr.v[i];
    if (!rc) {
      qsort(all, m, sizeof *all, cmp_ref_dur_desc);
      for (size_t i = 0; i < m && i < limit; i++) (*out)[(*n)++] = all[i];
    }
  }
  free(o.v);
  return rc;
}

int mw__store_op_id(mw_read *r, const char *service, const char *name, int64_t *op_id) {
  int rc = MW_ENOTFOUND;
  sqlite3_stmt *st = mw__prepare(r, "SELECT id FROM operations WHERE service = ?1 AND name = ?2");
  if (!st) rc = MW_EIO;
  else {
    sqlite3_bind_text(st, 1, service, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
      *op_id = sqlite3_column_int64(st, 0);
      rc = MW_OK;
    } else if (step != SQLITE_DONE) {
      rc = mw__read_failed(r, step);
    }
  }
  sqlite3_finalize(st);
  return rc;
}

static int cmp_dur_desc(const void *x, const void *y) {
  const int64_t *p = x, *q = y; /* {sref, dur, ...} */
  return (p[1] < q[1]) - (p[1] > q[1]);
}

/* One side of an operation's neighbours: the candidates (old rows and block
 * spans) of the side's window; far = the start of the farthest taken. */
typedef struct near_acc {
  int64_t at, lo, hi;
  size_t per_side;
  int side; /* 0 before at (start < at), 1 from at on */
  mw__op_span *v;
  size_t n, cap;
  int64_t far;
  /* refs of the rows read before at that hold starts from at on too (the
   * rows of the 120 s before at): read again from at on, taken from here */
  struct near_kept {
    int64_t rowid;
    uint8_t *refs;
    size_t len;
  } * kept;
  size_t n_kept, cap_kept;
} near_acc;

/* Distance of a candidate from at, on its side. */
static int64_t near_dist(const near_acc *o, const mw__op_span *x) {
  return o->side ? x->start_ns - o->at : o->at - x->start_ns;
}

/* Candidates by distance, then by sref (unique): a total order, so that the
 * nearest per_side are the same whatever the order they were pushed in and
 * however often the held ones were cut down to them. */
static int near_cmp(const near_acc *o, const mw__op_span *x, int64_t d, const mw__op_span *p, int64_t pd) {
  if (d != pd) return d < pd ? -1 : 1;
  return (x->sref > p->sref) - (x->sref < p->sref);
}

/* Moves the per_side nearest candidates to v[0..per_side) (in no order):
 * quickselect, so that keeping them costs O(n), not a sort. */
static void near_select(near_acc *o) {
  size_t lo = 0, hi = o->n, k = o->per_side;
  if (k >= o->n) return;
  while (hi - lo > 1) {
    mw__op_span *v = o->v;
    mw__op_span pv = v[lo + (hi - lo) / 2];
    int64_t pivot = near_dist(o, &pv);
    size_t i = lo, lt = lo, gt = hi; /* [lo,lt) < pivot, [lt,i) == pivot, [gt,hi) > pivot */
    while (i < gt) {
      int c = near_cmp(o, &v[i], near_dist(o, &v[i]), &pv, pivot);
      mw__op_span t;
      if (c < 0) t = v[lt], v[lt++] = v[i], v[i++] = t;
      else if (c > 0) t = v[--gt], v[gt] = v[i], v[i] = t;
      else i++;
    }
    if (k < lt) hi = lt;
    else if (k < gt) return;
    else lo = gt;
  }
}

/* Cuts the held candidates down to the nearest per_side: far tightens to
 * the farthest of them. */
static void near_cut(near_acc *o) {
  near_select(o);
  if (o->n > o->per_side) o->n = o->per_side;
  o->far = o->side ? INT64_MIN : INT64_MAX;
  for (size_t i = 0; i < o->n; i++)
    if (o->side ? o->v[i].start_ns > o->far : o->v[i].start_ns < o->far) o->far = o->v[i].start_ns;
}

static int near_push(near_acc *o, int64_t sref, int64_t start, int64_t dur) {
  if (o->n == o->cap) {
    size_t c = o->cap ? 2 * o->cap : 1024;
    mw__op_span *t = realloc(o->v, c * sizeof *t);
    if (!t) return MW_ENOMEM;
    o->v = t, o->cap = c;
  }
  o->v[o->n++] = (mw__op_span){sref, start, dur};
  if (o->side ? start > o->far : start < o->far) o->far = start;
  if (o->n >= 4 * o->per_side + 64) near_cut(o); /* keep the nearest per_side */
  return MW_OK;
}

/* block_ops rows nearest first: before at newest first, from at on oldest
 * first. Once per_side candidates are held, a row whose every start is
 * farther than all of them (its first_ns past the farthest after at; its
 * latest possible start before the farthest before at) ends the side. A row
 * with no start on the side (its op's spans all end before at, or start
 * before lo) is passed without reading its refs, and a row's refs (by start)
 * are read only up to the end of the side: neither changes what is pushed. */
static int near_row(void *user, mw_read *rd, mw__op_row *row) {
  near_acc *o = user;
  /* the row's latest start: at most 120 s past its first, and before its last end */
  int64_t latest = row->first_ns + 120000000000LL < row->last_ns ? row->first_ns + 120000000000LL : row->last_ns;
  /* more than per_side held: far is that of all of them; before reading a
   * row, tighten it to the farthest of the nearest per_side (every start not
   * read then is strictly farther than per_side held ones: never kept). The
   * side ends at a row past far whose followers are too (from at on: first_ns
   * grows; before at: the rows' starts are below first_ns + 120 s, which
   * falls); a row before at past far by its last end alone is passed. */
  if (o->n > o->per_side) near_cut(o);
  if (o->n >= o->per_side) {
    if (o->side ? row->first_ns > o->far : row->first_ns + 120000000000LL < o->far) return 1;
    if (!o->side && latest < o->far) return 0;
  }
  if (o->side ? latest < o->at || row->first_ns >= o->hi : latest < o->lo || row->first_ns >= o->at) return 0;
  int rc = MW_ENOTFOUND;
  for (size_t k = 0; o->side && k < o->n_kept && rc; k++)
    if (o->kept[k].rowid == row->rowid) row->refs = o->kept[k].refs, row->refs_len = o->kept[k].len, rc = MW_OK;
  if (rc && (rc = mw__op_row_refs(rd, row)) == MW_ENOTFOUND) return 0;
  if (rc) return rc;
  if (!o->side && row->last_ns >= o->at) { /* kept for the side from at on */
    if (o->n_kept == o->cap_kept) {
      size_t c = o->cap_kept ? 2 * o->cap_kept : 64;
      struct near_kept *t = realloc(o->kept, c * sizeof *t);
      if (!t) return MW_ENOMEM;
      o->kept = t, o->cap_kept = c;
    }
    uint8_t *copy = malloc(row->refs_len + 1);
    if (!copy) return MW_ENOMEM;
    if (row->refs_len) memcpy(copy, row->refs, row->refs_len);
    o->kept[o->n_kept++] = (struct near_kept){row->rowid, copy, row->refs_len};
  }
  mw__refs_it it;
  mw__ref ref;
  int got;
  int64_t end = o->side ? o->hi : o->at, from = o->side ? o->at : o->lo;
  mw__refs_init(&it, row->refs ? row->refs : (const uint8_t *)"", row->refs_len, row->first_ns);
  while ((got = mw__refs_next(&it, &ref)) == 1) {
    if (ref.start_ns >= end) break; /* by start: the rest are past the side */
    if (ref.start_ns < from) continue;
    if ((rc = near_push(o, mw__sref_block(row->block_id, ref.index), ref.start_ns, ref.dur_ns))) return rc;
  }
  return got < 0 ? MW_EIO : MW_OK;
}

int mw__store_op_neighbours(mw_read *r, mw_arena *a, int64_t op_id, int64_t at_ns, int64_t window_ns, size_t per_side,
                            double q, size_t max_spans, int64_t *quantile, int64_t *count, mw_span_ref **out,
                            size_t *n) {
  *quantile = *count = 0;
  *n = 0;
  *out = NULL;
  int64_t *v = malloc(2 * per_side * 3 * sizeof *v + 1); /* {sref, dur, start} triples */
  if (!v) return MW_ENOMEM;
  int rc = MW_OK;
  static const char *const sql[2] = {
      "SELECT rowid, dur_ns, start_ns FROM spans WHERE op_id = ?1 AND start_ns < ?2 AND start_ns >= ?3 "
      "ORDER BY start_ns DESC LIMIT ?4",
      "SELECT rowid, dur_ns, start_ns FROM spans WHERE op_id = ?1 AND start_ns >= ?2 AND start_ns < ?3 "
      "ORDER BY start_ns LIMIT ?4"};
  /* each side: the old rows' nearest per_side, then the blocks' (read
   * nearest block first, until no further block can hold a nearer span),
   * the nearest per_side of both kept */
  int64_t lo = at_ns - window_ns, hi = at_ns + window_ns;
  near_acc o = {.at = at_ns, .lo = lo, .hi = hi, .per_side = per_side};
  mem_refs mr = {.a = a, .min_dur = INT64_MIN, .max_dur = INT64_MAX};
  size_t m = 0;
  for (int side = 0; side < 2 && !rc; side++) {
    sqlite3_stmt *st = mw__reader_stmt(r, side ? MW_RS_OP_AFTER : MW_RS_OP_BEFORE, sql[side]);
    if (!st) {
      rc = MW_EIO;
      break;
    }
    sqlite3_bind_int64(st, 1, op_id);
    sqlite3_bind_int64(st, 2, at_ns);
    sqlite3_bind_int64(st, 3, side ? at_ns + window_ns : at_ns - window_ns);
    sqlite3_bind_int64(st, 4, (int64_t)per_side);
    int step;
    size_t side_rows = 0;
    o.n = 0;
    o.side = side;
    o.far = side ? INT64_MIN : INT64_MAX;
    while ((step = sqlite3_step(st)) == SQLITE_ROW && side_rows++ < per_side)
      if ((rc = near_push(&o, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 1))))
        break;
    if (!rc && step != SQLITE_ROW && step != SQLITE_DONE) rc = mw__read_failed(r, step);
    sqlite3_reset(st);
    if (!rc) rc = mw__store_op_keys(r, op_id, side ? at_ns : lo, side ? hi : at_ns, !side, near_row, &o);
    if (!rc && r->pool && r->pool->blk) { /* memory's (V), under pseudo-references into mr */
      size_t from = mr.n;
      rc = mw__store_view_spans(r, a, 0, op_id, side ? at_ns : lo, side ? hi : at_ns, view_ref, &mr);
      for (size_t i = from; !rc && i < mr.n; i++) rc = near_push(&o, MEM_SREF(i), mr.v[i].start_ns, mr.v[i].dur_ns);
    }
    if (rc) break;
    /* the nearest per_side of this side */
    near_select(&o);
    for (size_t i = 0; i < o.n && i < per_side; i++, m++) {
      v[3 * m] = o.v[i].sref;
      v[3 * m + 1] = o.v[i].dur_ns;
      v[3 * m + 2] = o.v[i].start_ns;
    }
  }
  free(o.v);
  for (size_t k = 0; k < o.n_kept; k++) free(o.kept[k].refs);
  free(o.kept);
  if (!rc && m) {
    qsort(v, m, 3 * sizeof *v, cmp_dur_desc);
    *count = (int64_t)m;
    size_t k = (size_t)(q * (double)m + 0.999999999); /* nearest rank, ascending */
    if (k < 1) k = 1;
    if (k > m) k = m;
    *quantile = v[3 * (m - k) + 1];
    size_t take = 0;
    while (take < m && take < max_spans && v[3 * take + 1] >= *quantile) take++;
    /* the spans themselves, by span reference (old rows and blocks), longest first */
    *out = mw__arena_calloc(a, take + 1, sizeof **out);
    int64_t *srefs = mw__arena_alloc(a, (take + 1) * sizeof *srefs);
    mw_span_ref *got = mw__arena_alloc(a, (take + 1) * sizeof *got);
    int *found = mw__arena_alloc(a, (take + 1) * sizeof *found);
    if (!*out || !srefs || !got || !found) rc = MW_ENOMEM;
    for (size_t i = 0; !rc && i < take; i++) srefs[i] = IS_MEM_SREF(v[3 * i]) ? 0 : v[3 * i]; /* 0: names nothing */
    if (!rc) rc = mw__store_sref_spans(r, a, srefs, take, 0, got, found);
    for (size_t i = 0; !rc && i < take; i++) {
      if (IS_MEM_SREF(v[3 * i])) { /* a span of memory: its ids are at hand */
        got[i] = mr.v[v[3 * i] - INT64_MIN];
        found[i] = 1;
      } else if (!mw__sref_is_row(srefs[i])) {
        got[i].dur_ns = v[3 * i + 1], got[i].start_ns = v[3 * i + 2];
      }
    }
    for (size_t i = 0; !rc && i < take; i++)
      if (found[i]) (*out)[(*n)++] = got[i];
  }
  free(v);
  return rc;
}

/* The statement of mw__store_spans_goroutines, with MW_MULTI_SPANS
 * placeholders (?2 ...); unused ones stay NULL and match nothing. */
static char multi_sql[4096];
static uv_once_t multi_once = UV_ONCE_INIT;

static void build_multi_sql(void) {
  size_t n = (size_t)snprintf(multi_sql, sizeof multi_sql,
                              "SELECT g.span_id, g.trace_id, sn.id, sn.at_ns, sn.duration_ns, g.stack_id, st.frames, "
                              "g.state, g.wait_reason, g.count FROM goroutine_groups g "
                              "JOIN snapshots sn ON sn.id = g.snapshot_id JOIN stacks st ON st.id = g.stack_id "
                              "WHERE g.span_id IN (");
  for (int i = 0; i < MW_MULTI_SPANS; i++)
    n += (size_t)snprintf(multi_sql + n, sizeof multi_sql - n, "%s?%d", i ? ", " : "", i + 2);
  snprintf(multi_sql + n, sizeof multi_sql - n, ") ORDER BY g.span_id, sn.at_ns LIMIT ?1");
}

int mw__store_spans_goroutines(mw_read *r, mw_arena *a, const mw_span_ref *refs, size_t n, size_t limit,
                               mw_span_sample **out, size_t *n_out) {
  *out = NULL;
  *n_out = 0;
  if (n > MW_MULTI_SPANS) n = MW_MULTI_SPANS;
  if (!n) return MW_OK;
  uv_once(&multi_once, build_multi_sql);
  int rc = MW_OK;
  size_t cap = 0;
  sqlite3_stmt *st = mw__reader_stmt(r, MW_RS_MULTI_GOROUTINES, multi_sql);
  if (!st) rc = MW_EIO;
  else {
    sqlite3_bind_int64(st, 1, (int64_t)limit);
    for (size_t i = 0; i < n; i++) sqlite3_bind_blob(st, (int)i + 2, refs[i].span_id, 8, SQLITE_STATIC);
  }
  int step = SQLITE_DONE;
  while (!rc && *n_out < limit && (step = sqlite3_step(st)) == SQLITE_ROW) {
    const void *sid = sqlite3_column_blob(st, 0), *tid = sqlite3_column_blob(st, 1);
    int tid_ok = tid && sqlite3_column_bytes(st, 1) == 16;
    size_t ref = n;
    for (size_t i = 0; i < n && sid && ref == n; i++)
      if (memcmp(refs[i].span_id, sid, 8) == 0 && (!tid_ok || memcmp(refs[i].trace_id, tid, 16) == 0)) ref = i;
    if (ref == n) continue; /* the same span id in another trace */
    if (!(*out = mw__grow(a, *out, *n_out, &cap, sizeof **out))) {
      rc = MW_ENOMEM;
      break;
    }
    mw_span_sample *x = &(*out)[(*n_out)++];
    memset(x, 0, sizeof *x);
    x->ref = ref;
    x->snapshot_id = sqlite3_column_int64(st, 2);
    x->snapshot_ns = sqlite3_column_int64(st, 3);
    x->snapshot_dur_ns = sqlite3_column_int64(st, 4);
    x->kind = "goroutine";
    x->stack_id = sqlite3_column_int64(st, 5);
    x->frames = mw__col_text(a, st, 6);
    x->state = mw__col_text(a, st, 7);
    x->wait_reason = mw__col_text(a, st, 8);
    x->count = sqlite3_column_int64(st, 9);
  }
  if (!rc && step != SQLITE_ROW && step != SQLITE_DONE) rc = mw__read_failed(r, step);
  if (st) sqlite3_reset(st);
  return rc;
}

typedef struct chunk_id {
  const uint8_t *id;
  size_t ref;
} chunk_id;

static int cmp_chunk_id(const void *x, const void *y) {
  return memcmp(((const chunk_id *)x)->id, ((const chunk_id *)y)->id, 8);
}

/* The statement of mw__store_trace_samples for goroutines or profiles: ?1
 * the trace, ?2 the snapshot kind, ?3... the chunk's `slots` span ids (unused
 * ones stay NULL and match nothing). */
static void trace_samples_sql(char *sql, size_t size, int goroutines, size_t slots) {
  size_t n = (size_t)snprintf(
      sql, size,
      goroutines ? "SELECT g.span_id, sn.id, sn.at_ns, sn.duration_ns, NULL, g.stack_id, st.frames, g.state, "
                   "g.wait_reason, g.count FROM goroutine_groups g JOIN snapshots sn ON sn.id = g.snapshot_id "
                   "JOIN stacks st ON st.id = g.stack_id WHERE (g.trace_id IS NULL OR g.trace_id = ?1) "
                   "AND sn.kind = ?2 AND g.span_id IN ("
                 : "SELECT p.span_id, sn.id, sn.at_ns, sn.duration_ns, sn.meta, p.stack_id, st.frames, p.vals "
                   "FROM profile_samples p JOIN snapshots sn ON sn.id = p.snapshot_id "
                   "JOIN stacks st ON st.id = p.stack_id WHERE (p.trace_id IS NULL OR p.trace_id = ?1) "
                   "AND sn.kind = ?2 AND p.span_id IN (");
  for (int i = 0; i < (int)slots && n < size; i++)
    n += (size_t)snprintf(sql + n, size - n, "%s?%d", i ? "," : "", i + 3);
  if (n < size)
    snprintf(sql + n, size - n,
             goroutines ? ") ORDER BY g.span_id, sn.at_ns, g.rowid" : ") ORDER BY p.span_id, sn.at_ns, p.rowid");
}

int mw__store_trace_samples(mw_read *r, mw_arena *a, const uint8_t trace_id[16], const mw_stored_span *spans, size_t n,
                            const char *kind, size_t per_span, mw_span_sample **out, size_t *n_out) {
  *out = NULL;
  *n_out = 0;
  if (!n || !per_span) return MW_OK;
  int goroutines = strcmp(kind, "goroutine") == 0;
  char sql[4096];
  /* a small trace gets a short statement: slots for its spans (in powers of
   * two), not for a whole chunk; parsing a long one costs more than running it */
  size_t slots = 8;
  while (slots < n && slots < MW_TRACE_SAMPLES_CHUNK) slots *= 2;
  if (slots > MW_TRACE_SAMPLES_CHUNK) slots = MW_TRACE_SAMPLES_CHUNK;
  trace_samples_sql(sql, sizeof sql, goroutines, slots);
  mw_span_sample *rows = NULL;
  size_t n_rows = 0, cap = 0;
  chunk_id ids[MW_TRACE_SAMPLES_CHUNK];
  const char *kind_copy = mw__arena_strndup(a, kind, strlen(kind));
  size_t *per_ref = mw__arena_calloc(a, n + 1, sizeof *per_ref);
  if (!kind_copy || !per_ref) return MW_ENOMEM;
  int rc = MW_OK;
  sqlite3_stmt *st = mw__prepare(r, sql);
  if (!st) rc = MW_EIO;
  /* profile rows of one span come from a few snapshots: their meta is copied once */
  struct {
    int64_t id;
    const char *meta;
  } metas[16];
  size_t n_metas = 0;
  for (size_t c0 = 0; !rc && c0 < n; c0 += slots) {
    size_t m = n - c0 < slots ? n - c0 : slots;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    sqlite3_bind_blob(st, 1, trace_id, 16, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    for (size_t j = 0; j < m; j++) {
      ids[j] = (chunk_id){spans[c0 + j].span_id, c0 + j};
      sqlite3_bind_blob(st, (int)j + 3, spans[c0 + j].span_id, 8, SQLITE_STATIC);
    }
    qsort(ids, m, sizeof *ids, cmp_chunk_id);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
      if (sqlite3_column_bytes(st, 0) != 8) continue;
      chunk_id key = {sqlite3_column_blob(st, 0), 0};
      const chunk_id *hit = bsearch(&key, ids, m, sizeof *ids, cmp_chunk_id);
      if (!hit || per_ref[hit->ref] >= per_span) continue;
      if (!(rows = mw__grow(a, rows, n_rows, &cap, sizeof *rows))) {
        rc = MW_ENOMEM;
        break;
      }
      mw_span_sample *x = &rows[n_rows++];
      memset(x, 0, sizeof *x);
      x->ref = hit->ref;
      x->snapshot_id = sqlite3_column_int64(st, 1);
      x->snapshot_ns = sqlite3_column_int64(st, 2);
      x->snapshot_dur_ns = sqlite3_column_int64(st, 3);
      x->kind = kind_copy;
      x->stack_id = sqlite3_column_int64(st, 5);
      x->frames = mw__col_text(a, st, 6);
      if (goroutines) {
        x->state = mw__col_text(a, st, 7);
        x->wait_reason = mw__col_text(a, st, 8);
        x->count = sqlite3_column_int64(st, 9);
      } else {
        size_t k = 0;
        while (k < n_metas && metas[k].id != x->snapshot_id) k++;
        if (k == n_metas) {
          k = n_metas < sizeof metas / sizeof metas[0] ? n_metas++ : (size_t)x->snapshot_id % n_metas;
          metas[k].id = x->snapshot_id;
          metas[k].meta = mw__col_text(a, st, 4);
        }
        x->meta_json = metas[k].meta;
        x->vals_json = mw__col_text(a, st, 7);
        x->count = 1;
      }
      per_ref[hit->ref]++;
    }
    if (!rc && step != SQLITE_DONE) rc = mw__read_failed(r, step);
  }
  sqlite3_finalize(st);
  if (rc || !n_rows) return rc;
  /* rows came by span id: put them in the order of spans, keeping each span's order */
  size_t *at = mw__arena_calloc(a, n + 1, sizeof *at);
  *out = mw__arena_calloc(a, n_rows, sizeof **out);
  if (!at || !*out) return MW_ENOMEM;
  for (size_t i = 1; i < n; i++) at[i] = at[i - 1] + per_ref[i - 1];
  for (size_t i = 0; i < n_rows; i++) (*out)[at[rows[i].ref]++] = rows[i];
  *n_out = n_rows;
  return MW_OK;
}

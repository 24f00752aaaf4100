/* Execution trace ingest (see exectrace.h). */
#include "ingest/exectrace.h"
#include "core/error.h"
#include "decode/exectrace_blob.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

/* The raw trace's compression: the trace is varint-packed already, so
 * higher levels buy little for much more time (a busy 10 MiB window: level 3
 * keeps 0.564 of it in 70 ms, level 9 0.549 in 260 ms). Bytes a stored row
 * costs besides its blob, for stored_bytes (SQLite's record headers and keys). */
enum { RAW_ZSTD_LEVEL = 3, ROW_BYTES_GOROUTINE = 40, ROW_BYTES_SPAN = 20, ROW_BYTES_STACK = 16 };

/* A goroutine's intervals: by start, then end, then state. */
static int cmp_interval(const mw_xt_rec_interval *a, const mw_xt_rec_interval *b) {
  if (a->start_ns != b->start_ns) return a->start_ns < b->start_ns ? -1 : 1;
  if (a->end_ns != b->end_ns) return a->end_ns < b->end_ns ? -1 : 1;
  return a->state < b->state ? -1 : a->state > b->state;
}

/* Sorts idx[0..n) (indices into recs) by cmp_interval, stably (a merge
 * sort, tmp n long): the order qsort gave the records themselves. */
static void sort_idx(const mw_xt_rec_interval *recs, uint32_t *idx, uint32_t *tmp, size_t n) {
  if (n < 2) return;
  size_t h = n / 2;
  sort_idx(recs, idx, tmp, h);
  sort_idx(recs, idx + h, tmp, n - h);
  if (cmp_interval(&recs[idx[h - 1]], &recs[idx[h]]) <= 0) return;
  memcpy(tmp, idx, h * sizeof *idx);
  size_t i = 0, j = h, k = 0;
  while (i < h && j < n) idx[k++] = cmp_interval(&recs[idx[j]], &recs[tmp[i]]) < 0 ? idx[j++] : tmp[i++];
  while (i < h) idx[k++] = tmp[i++];
}

static int cmp_wake(const void *x, const void *y) {
  const mw_xt_wake *a = x, *b = y;
  return a->time_ns < b->time_ns ? -1 : a->time_ns > b->time_ns;
}

static int cmp_run(const void *x, const void *y) {
  const mw_xt_span_run *a = x, *b = y;
  if (a->span != b->span) return a->span < b->span ? -1 : 1;
  return a->goroutine < b->goroutine ? -1 : a->goroutine > b->goroutine;
}

/* Working memory, counted. */
static void *take(mw_mem_account *mem, size_t n, int *rc) {
  if (mem && (*rc = mem->take(mem->user, n))) return NULL;
  if (mem) mem->held += n;
  void *p = malloc(n ? n : 1);
  if (!p) *rc = MW_ENOMEM;
  return p;
}

static void give(mw_mem_account *mem, void *p, size_t n) {
  free(p);
  if (!mem) return;
  if (mem->give) mem->give(mem->user, n);
  mem->held -= n;
}

/* The goroutine of an interval or a wake record: their first member. */
static uint64_t goroutine_of(const void *item) {
  uint64_t g;
  memcpy(&g, item, sizeof g);
  return g;
}

/* The order that groups items[0..n) (records of size bytes, each starting
 * with its goroutine) by goroutine, stably: *out[k] is the index of the k-th
 * (4 bytes a record, counted through mem; the caller gives them back). The
 * reader writes a record when it closes, so each goroutine's records mostly
 * come in order already, interleaved with other goroutines': a stable radix
 * sort of the indices on the goroutine (16 bits a pass) groups them in
 * linear time; *max_run gets the most records of one goroutine. The
 * records themselves are not moved: group() reads them
 * through the order once (moving a busy window's 1.4 million 56-byte
 * records into place cost a tenth of the ingest, in cache misses). */
static int order_by_goroutine(const void *items, size_t n, size_t size, uint32_t **out, size_t *max_run,
                              mw_mem_account *mem) {
  enum { BITS = 16, BUCKETS = 1 << BITS };
  *out = NULL;
  *max_run = 0;
  if (n > UINT32_MAX) return MW_ENOMEM; /* 4 G records: far past any memory limit */
  const uint8_t *a = items;
  uint64_t top = 0;
  for (size_t i = 0; i < n; i++) top |= goroutine_of(a + i * size);
  int rc = MW_OK;
  size_t perm_bytes = n * sizeof(uint32_t), count_bytes = BUCKETS * sizeof(size_t);
  uint32_t *perm = take(mem, perm_bytes, &rc);
  uint32_t *tmp = perm ? take(mem, perm_bytes, &rc) : NULL;
  size_t *count = tmp ? take(mem, count_bytes, &rc) : NULL;
  if (!count) goto out;
  for (size_t i = 0; i < n; i++) perm[i] = (uint32_t)i;
  for (int shift = 0; shift < 64 && (shift == 0 || top >> shift); shift += BITS) {
    memset(count, 0, count_bytes);
    for (size_t i = 0; i < n; i++) count[(goroutine_of(a + (size_t)perm[i] * size) >> shift) & (BUCKETS - 1)]++;
    if (top >> BITS == 0) /* one pass: a bucket is a goroutine */
      for (size_t b = 0; b < BUCKETS; b++)
        if (count[b] > *max_run) *max_run = count[b];
    for (size_t b = 0, sum = 0; b < BUCKETS; b++) {
      size_t c = count[b];
      count[b] = sum;
      sum += c;
    }
    for (size_t i = 0; i < n; i++)
      tmp[count[(goroutine_of(a + (size_t)perm[i] * size) >> shift) & (BUCKETS - 1)]++] = perm[i];
    uint32_t *t = perm;
    perm = tmp, tmp = t;
  }
  if (top >> BITS) /* goroutine ids past 16 bits: count the runs */
    for (size_t i = 0, run = 0; i < n; i++) {
      run = i && goroutine_of(a + (size_t)perm[i] * size) == goroutine_of(a + (size_t)perm[i - 1] * size) ? run + 1 : 1;
      if (run > *max_run) *max_run = run;
    }
  *out = perm;
  perm = NULL;
out:
  if (count) give(mem, count, count_bytes);
  if (tmp) give(mem, tmp, perm_bytes);
  if (perm) give(mem, perm, perm_bytes);
  return rc;
}

/* The span candidates: one per interval or wake that names a span, merged
 * with the one before when of the same span and goroutine (a goroutine's
 * records come together, so most merge: a busy window's five million
 * candidates, at 32 bytes each, were most of its decoding memory). */
typedef struct cands {
  mw_xt_span_run *items;
  size_t n, cap;
  mw_mem_account *mem;
} cands;

static int cand_add(cands *c, mw_xt_span_run run) {
  mw_xt_span_run *last = c->n ? &c->items[c->n - 1] : NULL;
  if (last && last->span == run.span && last->goroutine == run.goroutine) {
    if (run.first_ns < last->first_ns) last->first_ns = run.first_ns;
    if (run.last_ns > last->last_ns) last->last_ns = run.last_ns;
    return MW_OK;
  }
  if (c->n == c->cap) {
    size_t nc = c->cap ? c->cap + c->cap / 2 : 1024;
    int rc = MW_OK;
    mw_xt_span_run *p = take(c->mem, nc * sizeof *p, &rc);
    if (!p) return rc;
    if (c->n) memcpy(p, c->items, c->n * sizeof *p);
    if (c->items) give(c->mem, c->items, c->cap * sizeof *p);
    c->items = p, c->cap = nc;
  }
  c->items[c->n++] = run;
  return MW_OK;
}

/* Groups the intervals and wakes by goroutine (in the orders piv and pwk)
 * into blobs, each goroutine's records in time order, and collects the span
 * runs. */
static int group(mw_arena *a, const mw_xt_records *r, uint32_t *piv, size_t max_iv, const uint32_t *pwk, size_t max_wk,
                 mw_exectrace_batch *x, mw_mem_account *mem) {
  int rc = MW_OK;
  /* exact sizes first (the most intervals and wakes of one goroutine are given): a goroutine's
   * intervals stay where they are, in order through piv (sorted there, with iv the merge's room) */
  size_t iv_bytes = (max_iv / 2 + 1) * sizeof(uint32_t), wk_bytes = max_wk * sizeof(mw_xt_wake);
  cands c = {.mem = mem};
  uint32_t *iv = take(mem, iv_bytes, &rc);
  mw_xt_wake *wk = iv ? take(mem, wk_bytes, &rc) : NULL;
  ZSTD_CCtx *zc = wk ? ZSTD_createCCtx() : NULL; /* one for every goroutine's blob */
  if (wk && !zc) rc = MW_ENOMEM;
  size_t cap_g = 0;
  if (!zc) goto out;
  size_t i = 0, j = 0;
  while (i < r->n_intervals || j < r->n_wakes) {
    const mw_xt_rec_interval *ri = i < r->n_intervals ? &r->intervals[piv[i]] : NULL;
    uint64_t g = ri ? ri->goroutine : UINT64_MAX;
    if (j < r->n_wakes && r->wakes[pwk[j]].goroutine < g) g = r->wakes[pwk[j]].goroutine;
    size_t ni = 0, nw = 0;
    int sorted_iv = 1, sorted_wk = 1;
    int64_t first = INT64_MAX, last = INT64_MIN;
    size_t i0 = i;
    for (; i < r->n_intervals && (ri = &r->intervals[piv[i]])->goroutine == g; i++) {
      const mw_xt_rec_interval *v = ri;
      if (ni && sorted_iv && cmp_interval(&r->intervals[piv[i - 1]], v) > 0) sorted_iv = 0;
      ni++;
      if (v->start_ns < first) first = v->start_ns;
      if (v->end_ns > last) last = v->end_ns;
      if (v->span && (rc = cand_add(&c, (mw_xt_span_run){v->span, g, v->start_ns, v->end_ns}))) goto out;
    }
    for (; j < r->n_wakes && r->wakes[pwk[j]].goroutine == g; j++) {
      const mw_xt_wake *w = &r->wakes[pwk[j]].wk;
      wk[nw] = *w;
      if (nw && sorted_wk && cmp_wake(&wk[nw - 1], &wk[nw]) > 0) sorted_wk = 0;
      nw++;
      if (w->time_ns < first) first = w->time_ns;
      if (w->time_ns > last) last = w->time_ns;
      if (w->span && (rc = cand_add(&c, (mw_xt_span_run){w->span, g, w->time_ns, w->time_ns}))) goto out;
      if (w->waker_span && w->waker &&
          (rc = cand_add(&c, (mw_xt_span_run){w->waker_span, w->waker, w->time_ns, w->time_ns})))
        goto out;
    }
    if (!sorted_iv) sort_idx(r->intervals, piv + i0, iv, ni);
    if (!sorted_wk) qsort(wk, nw, sizeof *wk, cmp_wake);
    if (x->n_goroutines == cap_g) {
      size_t nc = cap_g ? cap_g * 2 : 256;
      mw_xt_goroutine *ng = mw__arena_alloc(a, nc * sizeof *ng);
      if (!ng) {
        rc = MW_ENOMEM;
        goto out;
      }
      if (x->n_goroutines) memcpy(ng, x->goroutines, x->n_goroutines * sizeof *ng);
      x->goroutines = ng, cap_g = nc;
    }
    mw_xt_goroutine *o = &x->goroutines[x->n_goroutines++];
    *o = (mw_xt_goroutine){
        .goroutine = g, .first_ns = first, .last_ns = last, .n_intervals = (uint32_t)ni, .n_wakes = (uint32_t)nw};
    if ((rc = mw__xt_blob_encode_recs(a, zc, r->intervals, r->strs, piv + i0, ni, wk, nw, &o->blob, &o->blob_len)))
      goto out;
    x->stored_bytes += o->blob_len + ROW_BYTES_GOROUTINE;
  }
  /* runs: one per (span, goroutine), over all its candidates */
  mw_xt_span_run *cand = c.items;
  size_t n_cand = c.n;
  if (n_cand > 1) qsort(cand, n_cand, sizeof *cand, cmp_run);
  x->runs = n_cand ? mw__arena_alloc(a, n_cand * sizeof *x->runs) : NULL;
  if (n_cand && !x->runs) {
    rc = MW_ENOMEM;
    goto out;
  }
  for (size_t k = 0; k < n_cand; k++) {
    mw_xt_span_run *last = x->n_runs ? &x->runs[x->n_runs - 1] : NULL;
    if (last && last->span == cand[k].span && last->goroutine == cand[k].goroutine) {
      if (cand[k].first_ns < last->first_ns) last->first_ns = cand[k].first_ns;
      if (cand[k].last_ns > last->last_ns) last->last_ns = cand[k].last_ns;
    } else x->runs[x->n_runs++] = cand[k];
  }

out:
  ZSTD_freeCCtx(zc);
  if (wk) give(mem, wk, wk_bytes);
  if (iv) give(mem, iv, iv_bytes);
  if (c.items) give(mem, c.items, c.cap * sizeof *c.items);
  return rc;
}

/* The trace as pushed, zstd-compressed into the arena (counted through mem
 * while the compression bound is allocated). */
static int compress_raw(mw_arena *a, const uint8_t *trace, size_t len, mw_mem_account *mem, mw_exectrace_batch *x) {
  int rc = MW_OK;
  size_t cap = ZSTD_compressBound(len);
  uint8_t *z = take(mem, cap, &rc);
  if (!z) return rc;
  size_t zn = ZSTD_compress(z, cap, trace, len, RAW_ZSTD_LEVEL);
  if (ZSTD_isError(zn)) rc = MW_ENOMEM;
  else if (!(x->raw = mw__arena_memdup(a, z, zn))) rc = MW_ENOMEM;
  else x->raw_len = zn, x->raw_bytes = len;
  give(mem, z, cap);
  return rc;
}

/* The GC and stop-the-world windows' JSON, zstd-compressed into the arena:
 * a trace of a busy heap has thousands, and their JSON repeats itself. */
static int compress_windows(mw_arena *a, const char *json, mw_exectrace_batch *x) {
  size_t n = strlen(json), cap = ZSTD_compressBound(n);
  uint8_t *z = mw__arena_alloc(a, cap);
  if (!z) return MW_ENOMEM;
  size_t zn = ZSTD_compress(z, cap, json, n, RAW_ZSTD_LEVEL);
  if (ZSTD_isError(zn)) return MW_ENOMEM;
  x->windows = z;
  x->windows_len = zn;
  return MW_OK;
}

int mw__xt_build(mw_arena *a, const mw_xt_params *p, const uint8_t *trace, size_t trace_len, mw_xt_records *r,
                 mw_mem_account *mem, mw_runtime_batch *out, char *err, size_t errsz) {
  memset(out, 0, sizeof *out);
  (void)err, (void)errsz;
  mw_exectrace_batch *x = mw__arena_calloc(a, 1, sizeof *x);
  int rc = x ? MW_OK : MW_ENOMEM;
  if (!rc) {
    uint32_t *piv = NULL, *pwk = NULL;
    size_t max_iv = 0, max_wk = 0;
    rc = order_by_goroutine(r->intervals, r->n_intervals, sizeof *r->intervals, &piv, &max_iv, mem);
    if (!rc) rc = order_by_goroutine(r->wakes, r->n_wakes, sizeof *r->wakes, &pwk, &max_wk, mem);
    if (!rc) rc = group(a, r, piv, max_iv, pwk, max_wk, x, mem);
    if (pwk) give(mem, pwk, r->n_wakes * sizeof *pwk);
    if (piv) give(mem, piv, r->n_intervals * sizeof *piv);
  }
  if (!rc) {
    x->trigger = p->trigger;
    x->capture_ns = p->capture_ns;
    x->received_ns = p->received_ns;
    x->start_ns = r->start_ns;
    x->end_ns = r->end_ns;
    x->alignment = r->alignment;
    x->clock_error_ns = r->clock_error_ns;
    x->go_version = r->go_version;
    x->events = r->events;
    x->generations = r->generations;
    x->n_intervals = r->n_intervals;
    x->n_wakes = r->n_wakes;
    x->stacks = r->stacks;
    x->stack_ids = r->stack_ids;
    x->n_stacks = r->n_stacks;
    x->spans = r->spans;
    x->n_spans = r->n_spans;
    rc = compress_windows(a, r->windows_json, x);
    if (!rc)
      rc = mw__xt_spans_encode(a, x->spans, x->n_spans, x->runs, x->n_runs, x->start_ns, &x->span_ids, &x->span_ids_len,
                               &x->span_blob, &x->span_blob_len);
    x->stored_bytes += x->windows_len + x->span_ids_len + x->span_blob_len + r->n_stacks * ROW_BYTES_STACK +
                       r->n_spans * ROW_BYTES_SPAN;
  }
  mw__xt_records_free(r);
  if (!rc) rc = compress_raw(a, trace, trace_len, mem, x);
  if (rc) return rc;
  x->stored_bytes += x->raw_len;
  out->service = p->service;
  out->instance = p->instance;
  out->exectrace = x;
  return MW_OK;
}

/* The decoder's memory, counted through the request's account. */
static int hook_take(void *user, size_t n) {
  mw_mem_account *mem = user;
  int rc = mem->take(mem->user, n);
  if (!rc) mem->held += n;
  return rc;
}

static void hook_give(void *user, size_t n) {
  mw_mem_account *mem = user;
  if (mem->give) mem->give(mem->user, n);
  mem->held -= n;
}

typedef struct sink_ctx {
  mw_xt_dec *dec;
  int rc; /* the decoder's failure, apart from the reader's */
  char err[256];
} sink_ctx;

static int sink(void *user, const uint8_t *p, size_t n) {
  sink_ctx *s = user;
  return s->rc = mw__xt_dec_feed(s->dec, p, n, s->err, sizeof s->err);
}

int mw__xt_ingest(mw_arena *a, const mw_xt_params *p, const mw_xt_reader_opts *o, const uint8_t *trace,
                  size_t trace_len, mw_mem_account *mem, const _Atomic int *abort, mw_runtime_batch *out, char *err,
                  size_t errsz) {
  mw_xt_hook hook = {hook_take, hook_give, mem};
  sink_ctx s = {.dec = mw__xt_dec_new(a, mem ? &hook : NULL)};
  if (!s.dec) return MW_ENOMEM;
  mw_xt_records r;
  int rc = mw__xt_reader_run(o, trace, trace_len, p->capture_ns, sink, &s, abort, err, errsz);
  if (!rc || s.rc) {
    if (!rc) rc = mw__xt_dec_finish(s.dec, &r, s.err, sizeof s.err);
    if (rc == MW_EINVAL) rc = MW_EIO; /* the reader broke its contract: not the client's fault */
    if (rc) snprintf(err, errsz, "%s", s.err);
  }
  mw__xt_dec_free(s.dec);
  if (rc) return rc;
  return mw__xt_build(a, p, trace, trace_len, &r, mem, out, err, errsz);
}

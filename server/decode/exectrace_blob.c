/* The goroutine blob of an execution trace (see exectrace_blob.h). */
#include "decode/exectrace_blob.h"
#include "core/buf.h"
#include "core/bmap.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>
#include <zstd.h>

/* Bodies shorter than this are kept as they are: a zstd frame costs more
 * than it saves on a few dozen bytes. */
enum { COMPRESS_FROM = 96, ZSTD_LEVEL = 6, MAX_STRINGS = 4096, MAX_BLOB = 1 << 30 };

static void put_varint(mw_buf *b, uint64_t v) { (void)mw__buf_uvarint(b, v); } /* b->err sticks */

static uint64_t zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static int64_t unzigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

/* The index + 1 of s in strs[0..*n) (added when new), 0 for "" or NULL. */
static uint64_t intern(const char **strs, size_t *n, const char *s) {
  if (!s || !*s) return 0;
  for (size_t i = 0; i < *n; i++)
    if (strcmp(strs[i], s) == 0) return i + 1;
  if (*n == MAX_STRINGS) return 0; /* never in practice: the runtime has a few dozen reasons */
  strs[(*n)++] = s;
  return *n;
}

/* The format byte and b's body (compressed when that is smaller, with zc when
 * given: a context kept over many small bodies saves its setup each time) into
 * the arena. */
static int finish(mw_arena *a, ZSTD_CCtx *zc, mw_buf *b, const uint8_t **out, size_t *len) {
  if (b->err) return MW_ENOMEM;
  const uint8_t *body = (const uint8_t *)b->data;
  size_t body_len = b->len;
  void *z = NULL;
  if (b->len - 1 >= COMPRESS_FROM) {
    size_t cap = ZSTD_compressBound(b->len - 1) + 1;
    if (!(z = malloc(cap))) return MW_ENOMEM;
    size_t zn = zc ? ZSTD_compressCCtx(zc, (uint8_t *)z + 1, cap - 1, b->data + 1, b->len - 1, ZSTD_LEVEL)
                   : ZSTD_compress((uint8_t *)z + 1, cap - 1, b->data + 1, b->len - 1, ZSTD_LEVEL);
    if (!ZSTD_isError(zn) && zn + 1 < b->len) {
      ((uint8_t *)z)[0] = 1;
      body = z;
      body_len = zn + 1;
    }
  }
  uint8_t *copy = mw__arena_memdup(a, body, body_len);
  free(z);
  if (!copy) return MW_ENOMEM;
  *out = copy;
  *len = body_len;
  return MW_OK;
}

/* The intervals a blob is made of: iv[i], or recs[idx[i]] with strs. */
typedef struct rows {
  const mw_xt_interval *iv;
  const mw_xt_rec_interval *recs;
  const char *const *strs;
  const uint32_t *idx;
} rows;

static inline mw_xt_interval row(const rows *s, size_t i) {
  if (s->iv) return s->iv[i];
  const mw_xt_rec_interval *x = &s->recs[s->idx[i]];
  return (mw_xt_interval){.state = x->state,
                          .clipped = x->clipped,
                          .reason = s->strs[x->reason],
                          .raw_reason = s->strs[x->raw_reason],
                          .start_ns = x->start_ns,
                          .end_ns = x->end_ns,
                          .stack = x->stack,
                          .span = x->span};
}

static int encode(mw_arena *a, ZSTD_CCtx *zc, const rows *iv, size_t n_iv, const mw_xt_wake *wk, size_t n_wk,
                  const uint8_t **out, size_t *len);

int mw__xt_blob_encode(mw_arena *a, ZSTD_CCtx *zc, const mw_xt_interval *iv, size_t n_iv, const mw_xt_wake *wk,
                       size_t n_wk, const uint8_t **out, size_t *len) {
  rows r = {.iv = iv};
  return encode(a, zc, &r, n_iv, wk, n_wk, out, len);
}

int mw__xt_blob_encode_recs(mw_arena *a, ZSTD_CCtx *zc, const mw_xt_rec_interval *recs, const char *const *strs,
                            const uint32_t *idx, size_t n_iv, const mw_xt_wake *wk, size_t n_wk, const uint8_t **out,
                            size_t *len) {
  rows r = {.recs = recs, .strs = strs, .idx = idx};
  return encode(a, zc, &r, n_iv, wk, n_wk, out, len);
}

static int encode(mw_arena *a, ZSTD_CCtx *zc, const rows *iv, size_t n_iv, const mw_xt_wake *wk, size_t n_wk,
                  const uint8_t **out, size_t *len) {
  int rc = MW_ENOMEM;
  mw_buf b, cols;
  mw__buf_init(&b, MAX_BLOB);
  mw__buf_init(&cols, MAX_BLOB);
  const char **strs = malloc(MAX_STRINGS * sizeof *strs);
  if (!strs) goto out;
  size_t n_strs = 0;
  /* the columns first (they name the strings), then the table before them */
  put_varint(&cols, n_iv);
  for (size_t i = 0; i < n_iv; i++) put_varint(&cols, row(iv, i).state);
  for (size_t i = 0; i < n_iv; i++) put_varint(&cols, intern(strs, &n_strs, row(iv, i).reason));
  for (size_t i = 0; i < n_iv; i++) put_varint(&cols, intern(strs, &n_strs, row(iv, i).raw_reason));
  int64_t prev = 0;
  for (size_t i = 0; i < n_iv; i++) {
    mw_xt_interval v = row(iv, i);
    put_varint(&cols, zigzag((int64_t)((uint64_t)v.start_ns - (uint64_t)prev)));
    put_varint(&cols, (uint64_t)v.end_ns - (uint64_t)v.start_ns);
    prev = v.end_ns;
  }
  for (size_t i = 0; i < n_iv; i++) put_varint(&cols, row(iv, i).stack);
  for (size_t i = 0; i < n_iv; i++) put_varint(&cols, row(iv, i).span);
  for (size_t i = 0; i < n_iv; i++) put_varint(&cols, row(iv, i).clipped);
  put_varint(&cols, n_wk);
  for (size_t i = 0; i < n_wk; i++) put_varint(&cols, wk[i].waker);
  prev = 0;
  for (size_t i = 0; i < n_wk; i++) {
    put_varint(&cols, zigzag((int64_t)((uint64_t)wk[i].time_ns - (uint64_t)prev)));
    prev = wk[i].time_ns;
  }
  for (size_t i = 0; i < n_wk; i++) put_varint(&cols, wk[i].waker_stack);
  for (size_t i = 0; i < n_wk; i++) put_varint(&cols, wk[i].waker_span);
  for (size_t i = 0; i < n_wk; i++) put_varint(&cols, wk[i].span);
  mw__buf_addc(&b, 0);
  put_varint(&b, n_strs);
  for (size_t i = 0; i < n_strs; i++) {
    size_t n = strlen(strs[i]);
    put_varint(&b, n);
    mw__buf_add(&b, strs[i], n);
  }
  mw__buf_add(&b, cols.data, cols.len);
  if (cols.err) goto out;
  rc = finish(a, zc, &b, out, len);
out:
  free(strs);
  mw__buf_free(&b);
  mw__buf_free(&cols);
  return rc;
}

/* --- decoding --------------------------------------------------------------- */

typedef struct rd {
  const uint8_t *p, *end;
  int bad;
} rd;

static uint64_t get_varint(rd *r) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (r->p >= r->end) break;
    uint8_t c = *r->p++;
    v |= (uint64_t)(c & 0x7f) << shift;
    if (!(c & 0x80)) return v;
  }
  r->bad = 1;
  return 0;
}

/* A count of items each at least one byte long: no more than the bytes left. */
static size_t get_count(rd *r) {
  uint64_t n = get_varint(r);
  if (n > (uint64_t)(r->end - r->p)) r->bad = 1;
  return r->bad ? 0 : (size_t)n;
}

static uint32_t get_u32(rd *r) {
  uint64_t v = get_varint(r);
  if (v > UINT32_MAX) r->bad = 1;
  return (uint32_t)v;
}

static int parse_body(mw_arena *a, rd *r, mw_xt_blob *out) {
  size_t n_strs = get_count(r);
  const char **strs = n_strs ? mw__arena_calloc(a, n_strs + 1, sizeof *strs) : NULL;
  if (n_strs && !strs) return MW_ENOMEM;
  for (size_t i = 0; i < n_strs && !r->bad; i++) {
    size_t n = get_count(r);
    if (r->bad || !(strs[i] = mw__arena_strndup(a, (const char *)r->p, n))) return r->bad ? MW_EINVAL : MW_ENOMEM;
    r->p += n;
  }
  size_t n = get_count(r);
  if (r->bad) return MW_EINVAL;
  mw_xt_interval *iv = n ? mw__arena_calloc(a, n, sizeof *iv) : NULL;
  if (n && !iv) return MW_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    uint64_t s = get_varint(r);
    if (s > MW_XT_STATE_MAX) r->bad = 1;
    iv[i].state = (uint8_t)s;
  }
  for (int col = 0; col < 2; col++)
    for (size_t i = 0; i < n; i++) {
      uint64_t k = get_varint(r);
      if (k > n_strs) r->bad = 1;
      const char *s = k && !r->bad ? strs[k - 1] : "";
      if (col == 0) iv[i].reason = s;
      else iv[i].raw_reason = s;
    }
  int64_t prev = 0;
  for (size_t i = 0; i < n; i++) {
    iv[i].start_ns = (int64_t)((uint64_t)prev + (uint64_t)unzigzag(get_varint(r)));
    iv[i].end_ns = prev = (int64_t)((uint64_t)iv[i].start_ns + get_varint(r));
  }
  for (size_t i = 0; i < n; i++) iv[i].stack = get_u32(r);
  for (size_t i = 0; i < n; i++) iv[i].span = get_u32(r);
  for (size_t i = 0; i < n; i++) {
    uint64_t c = get_varint(r);
    if (c > (MW_XT_CLIPPED_START | MW_XT_CLIPPED_END)) r->bad = 1;
    iv[i].clipped = (uint8_t)c;
  }
  size_t m = get_count(r);
  if (r->bad) return MW_EINVAL;
  mw_xt_wake *wk = m ? mw__arena_calloc(a, m, sizeof *wk) : NULL;
  if (m && !wk) return MW_ENOMEM;
  for (size_t i = 0; i < m; i++) wk[i].waker = get_varint(r);
  prev = 0;
  for (size_t i = 0; i < m; i++) wk[i].time_ns = prev = (int64_t)((uint64_t)prev + (uint64_t)unzigzag(get_varint(r)));
  for (size_t i = 0; i < m; i++) wk[i].waker_stack = get_u32(r);
  for (size_t i = 0; i < m; i++) wk[i].waker_span = get_u32(r);
  for (size_t i = 0; i < m; i++) wk[i].span = get_u32(r);
  if (r->bad || r->p != r->end) return MW_EINVAL;
  *out = (mw_xt_blob){iv, n, wk, m};
  return MW_OK;
}

/* Hands the body of a blob (format byte 0: as it is; 1: decompressed, at most
 * max_body bytes) to parse. */
static int with_body(mw_arena *a, const uint8_t *blob, size_t len, size_t max_body,
                     int (*parse)(mw_arena *a, rd *r, void *out), void *out) {
  if (len < 1 || blob[0] > 1) return MW_EINVAL;
  if (blob[0] == 0) {
    rd r = {blob + 1, blob + len, 0};
    return parse(a, &r, out);
  }
  unsigned long long n = ZSTD_getFrameContentSize(blob + 1, len - 1);
  if (n == ZSTD_CONTENTSIZE_ERROR || n == ZSTD_CONTENTSIZE_UNKNOWN || n > max_body) return MW_EINVAL;
  uint8_t *body = malloc(n ? (size_t)n : 1);
  if (!body) return MW_ENOMEM;
  size_t got = ZSTD_decompress(body, (size_t)n, blob + 1, len - 1);
  int rc = MW_EINVAL;
  if (!ZSTD_isError(got) && got == n) {
    rd r = {body, body + n, 0};
    rc = parse(a, &r, out);
  }
  free(body);
  return rc;
}

static int parse_goroutine(mw_arena *a, rd *r, void *out) { return parse_body(a, r, out); }

int mw__xt_blob_decode(mw_arena *a, const uint8_t *blob, size_t len, size_t max_body, mw_xt_blob *out) {
  memset(out, 0, sizeof *out);
  return with_body(a, blob, len, max_body, parse_goroutine, out);
}

/* --- the span table ------------------------------------------------------------ */

int mw__xt_spans_encode(mw_arena *a, const mw_xt_span *spans, size_t n_spans, const mw_xt_span_run *runs, size_t n_runs,
                        int64_t base_ns, const uint8_t **ids, size_t *ids_len, const uint8_t **blob, size_t *blob_len) {
  uint8_t *idv = mw__arena_alloc(a, n_spans * 8 + 1);
  uint32_t *tix = calloc(n_spans + 1, sizeof *tix);
  mw_bmap *traces = mw__bmap_new(n_spans + 16);
  mw_buf b, t;
  mw__buf_init(&b, MAX_BLOB);
  mw__buf_init(&t, MAX_BLOB);
  int rc = MW_ENOMEM;
  if (!idv || !tix || !traces) goto out;
  size_t n_traces = 0;
  for (size_t i = 0; i < n_spans; i++) {
    memcpy(idv + 8 * i, spans[i].span_id, 8);
    if (!spans[i].has_trace) continue;
    int64_t k;
    if (!mw__bmap_get(traces, spans[i].trace_id, 16, &k)) {
      k = (int64_t)n_traces++;
      if (mw__bmap_put(traces, spans[i].trace_id, 16, k)) goto out;
      mw__buf_add(&t, spans[i].trace_id, 16);
    }
    tix[i] = (uint32_t)k + 1;
  }
  mw__buf_addc(&b, 0);
  put_varint(&b, n_traces);
  mw__buf_add(&b, t.data, t.len);
  put_varint(&b, n_spans);
  for (size_t i = 0; i < n_spans; i++) put_varint(&b, tix[i]);
  put_varint(&b, n_runs);
  uint32_t prev = 0;
  for (size_t i = 0; i < n_runs; i++) put_varint(&b, runs[i].span - prev), prev = runs[i].span;
  for (size_t i = 0; i < n_runs; i++) put_varint(&b, runs[i].goroutine);
  for (size_t i = 0; i < n_runs; i++) put_varint(&b, zigzag((int64_t)((uint64_t)runs[i].first_ns - (uint64_t)base_ns)));
  for (size_t i = 0; i < n_runs; i++) put_varint(&b, (uint64_t)runs[i].last_ns - (uint64_t)runs[i].first_ns);
  if (t.err) goto out;
  if ((rc = finish(a, NULL, &b, blob, blob_len))) goto out;
  *ids = idv;
  *ids_len = n_spans * 8;
out:
  mw__buf_free(&b);
  mw__buf_free(&t);
  mw__bmap_free(traces);
  free(tix);
  return rc;
}

typedef struct spans_ctx {
  const uint8_t *ids;
  size_t n_ids;
  int64_t base_ns;
  mw_xt_span_table *out;
} spans_ctx;

static int parse_spans(mw_arena *a, rd *r, void *arg) {
  spans_ctx *c = arg;
  mw_xt_span_table *o = c->out;
  size_t n_traces = get_count(r);
  if (r->bad || (size_t)(r->end - r->p) < n_traces * 16) return MW_EINVAL;
  const uint8_t *traces = r->p;
  r->p += n_traces * 16;
  size_t n = get_count(r);
  if (r->bad || n != c->n_ids) return MW_EINVAL;
  o->spans = n ? mw__arena_calloc(a, n, sizeof *o->spans) : NULL;
  if (n && !o->spans) return MW_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    uint64_t t = get_varint(r);
    if (t > n_traces) r->bad = 1;
    if (r->bad) return MW_EINVAL;
    mw_xt_span *s = &o->spans[i];
    memcpy(s->span_id, c->ids + 8 * i, 8);
    s->name = "";
    if (t) s->has_trace = 1, memcpy(s->trace_id, traces + 16 * (t - 1), 16);
  }
  o->n_spans = n;
  size_t m = get_count(r);
  if (r->bad) return MW_EINVAL;
  o->runs = m ? mw__arena_calloc(a, m, sizeof *o->runs) : NULL;
  if (m && !o->runs) return MW_ENOMEM;
  uint64_t ref = 0;
  for (size_t i = 0; i < m; i++) {
    ref += get_varint(r);
    if (ref == 0 || ref > n) r->bad = 1;
    o->runs[i].span = (uint32_t)ref;
  }
  for (size_t i = 0; i < m; i++) o->runs[i].goroutine = get_varint(r);
  for (size_t i = 0; i < m; i++)
    o->runs[i].first_ns = (int64_t)((uint64_t)c->base_ns + (uint64_t)unzigzag(get_varint(r)));
  for (size_t i = 0; i < m; i++) o->runs[i].last_ns = (int64_t)((uint64_t)o->runs[i].first_ns + get_varint(r));
  if (r->bad || r->p != r->end) return MW_EINVAL;
  o->n_runs = m;
  return MW_OK;
}

int mw__xt_spans_decode(mw_arena *a, const uint8_t *ids, size_t ids_len, const uint8_t *blob, size_t blob_len,
                        int64_t base_ns, size_t max_body, mw_xt_span_table *out) {
  memset(out, 0, sizeof *out);
  if (ids_len % 8) return MW_EINVAL;
  spans_ctx c = {ids, ids_len / 8, base_ns, out};
  return with_body(a, blob, blob_len, max_body, parse_spans, &c);
}

/* The span block codec (span_block.h has the layout). */
#include "store/span_block.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/error.h"

enum { COL_TRACE, COL_SPAN, COL_PARENT, COL_TIME, COL_SMALL, N_COLS };
static const uint8_t magic[4] = {'M', 'W', 'S', 'B'};

/* --- varints ------------------------------------------------------------------ */

static uint64_t zz(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static int64_t unzz(uint64_t u) {
  uint64_t m = (u >> 1) ^ (~(u & 1) + 1);
  int64_t r;
  memcpy(&r, &m, sizeof r); /* two's complement, without the implementation-defined conversion */
  return r;
}
static int64_t s64(uint64_t u) {
  int64_t r;
  memcpy(&r, &u, sizeof r);
  return r;
}

typedef struct cur {
  const uint8_t *p, *end;
  int bad;
} cur;

static uint64_t get_uv(cur *c) {
  uint64_t v = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (c->p >= c->end) break;
    uint8_t x = *c->p++;
    if (shift == 63 && x > 1) break; /* past 64 bits */
    v |= (uint64_t)(x & 0x7f) << shift;
    if (!(x & 0x80)) return v;
  }
  c->bad = 1;
  c->p = c->end;
  return 0;
}
static const uint8_t *get_raw(cur *c, size_t n) {
  if (c->bad || (size_t)(c->end - c->p) < n) {
    c->bad = 1;
    c->p = c->end;
    return NULL;
  }
  const uint8_t *r = c->p;
  c->p += n;
  return r;
}

/* --- encoding ------------------------------------------------------------------- */

typedef struct ord {
  const mw__sb_span *s;
  uint32_t i;
} ord;
typedef struct idpos {
  uint8_t id[8];
  uint32_t pos;
} idpos;

struct mw__sb_enc {
  ZSTD_CCtx *cctx;
  mw_buf col, z, head, first;
  ord *ord;
  uint32_t *perm, *tmp;
  idpos *ids;
  size_t cap;
};

mw__sb_enc *mw__sb_enc_new(void) {
  mw__sb_enc *e = calloc(1, sizeof *e);
  if (!e) return NULL;
  e->cctx = ZSTD_createCCtx();
  if (!e->cctx || ZSTD_isError(ZSTD_CCtx_setParameter(e->cctx, ZSTD_c_compressionLevel, 3)) ||
      ZSTD_isError(ZSTD_CCtx_setParameter(e->cctx, ZSTD_c_checksumFlag, 1)))
    return ZSTD_freeCCtx(e->cctx), free(e), NULL;
  mw__buf_init(&e->col, SIZE_MAX);
  mw__buf_init(&e->z, SIZE_MAX);
  mw__buf_init(&e->head, SIZE_MAX);
  mw__buf_init(&e->first, SIZE_MAX);
  return e;
}

void mw__sb_enc_free(mw__sb_enc *e) {
  if (!e) return;
  ZSTD_freeCCtx(e->cctx);
  mw__buf_free(&e->col);
  mw__buf_free(&e->z);
  mw__buf_free(&e->head);
  mw__buf_free(&e->first);
  free(e->ord);
  free(e->perm);
  free(e->tmp);
  free(e->ids);
  free(e);
}

/* spans[x] before spans[y] in the block: trace id, start, input index. */
static int before(const mw__sb_span *v, uint32_t x, uint32_t y) {
  int c = memcmp(v[x].trace_id, v[y].trace_id, 16);
  if (c) return c < 0;
  if (v[x].start_ns != v[y].start_ns) return v[x].start_ns < v[y].start_ns;
  return x < y;
}

/* A bottom-up merge sort: runs of 8 by insertion, then merges between perm
 * and tmp (the order is total: the input index breaks ties). */
void mw__sb_order(const mw__sb_span *v, size_t n, uint32_t *perm, uint32_t *tmp) {
  for (size_t i = 0; i < n; i++) perm[i] = (uint32_t)i;
  for (size_t lo = 0; lo < n; lo += 8) {
    size_t hi = lo + 8 < n ? lo + 8 : n;
    for (size_t i = lo + 1; i < hi; i++) {
      uint32_t x = perm[i];
      size_t j = i;
      for (; j > lo && before(v, x, perm[j - 1]); j--) perm[j] = perm[j - 1];
      perm[j] = x;
    }
  }
  uint32_t *src = perm, *dst = tmp;
  for (size_t w = 8; w < n; w *= 2) {
    for (size_t lo = 0; lo < n; lo += 2 * w) {
      size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
      size_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi) dst[k++] = before(v, src[j], src[i]) ? src[j++] : src[i++];
      while (i < mid) dst[k++] = src[i++];
      while (j < hi) dst[k++] = src[j++];
    }
    uint32_t *t = src;
    src = dst, dst = t;
  }
  if (src != perm) memcpy(perm, src, n * sizeof *perm);
}
static int cmp_id(const void *pa, const void *pb) {
  const idpos *a = pa, *b = pb;
  int c = memcmp(a->id, b->id, 8);
  if (c) return c;
  return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* Compresses e->col as one zstd -3 frame onto e->z and its sizes onto e->head. */
static int seal(mw__sb_enc *e) {
  if (e->col.err) return e->col.err;
  if (e->col.len > MW__SB_MAX_RAW) return MW_ETOOBIG;
  size_t bound = ZSTD_compressBound(e->col.len);
  char *dst = mw__buf_reserve(&e->z, bound);
  if (!dst) return e->z.err ? e->z.err : MW_ENOMEM;
  size_t zn = ZSTD_compress2(e->cctx, dst, bound, e->col.data ? e->col.data : "", e->col.len);
  if (ZSTD_isError(zn)) return MW_EIO;
  e->z.len += zn;
  e->z.data[e->z.len] = '\0'; /* mw_buf's promise (reserve leaves room for it) */
  int rc = mw__buf_uvarint(&e->head, zn);
  if (!rc) rc = mw__buf_uvarint(&e->head, e->col.len);
  mw__buf_reset(&e->col);
  return rc;
}

static int64_t sat_end(int64_t start, int64_t dur) {
  if (dur > 0 && start > INT64_MAX - dur) return INT64_MAX;
  if (dur < 0 && start < INT64_MIN - dur) return INT64_MIN;
  return start + dur;
}

int mw__sb_encode(mw__sb_enc *e, const mw__sb_span *spans, size_t n, mw_buf *out) {
  if (!n || n > MW__SB_MAX_SPANS) return MW_EINVAL;
  if (out->err) return out->err;
  if (e->cap < n) {
    ord *o = realloc(e->ord, n * sizeof *o);
    if (!o) return MW_ENOMEM;
    e->ord = o;
    uint32_t *pm = realloc(e->perm, n * sizeof *pm);
    if (!pm) return MW_ENOMEM;
    e->perm = pm;
    uint32_t *tm = realloc(e->tmp, n * sizeof *tm);
    if (!tm) return MW_ENOMEM;
    e->tmp = tm;
    idpos *d = realloc(e->ids, n * sizeof *d);
    if (!d) return MW_ENOMEM;
    e->ids = d;
    e->cap = n;
  }
  mw__buf_reset(&e->col);
  mw__buf_reset(&e->z);
  mw__buf_reset(&e->head);
  int64_t first = spans[0].start_ns, last = sat_end(spans[0].start_ns, spans[0].dur_ns);
  for (size_t i = 0; i < n; i++) {
    if (spans[i].start_ns < first) first = spans[i].start_ns;
    int64_t end = sat_end(spans[i].start_ns, spans[i].dur_ns);
    if (end > last) last = end;
  }
  mw__sb_order(spans, n, e->perm, e->tmp);
  for (size_t i = 0; i < n; i++) e->ord[i] = (ord){&spans[e->perm[i]], e->perm[i]};
  for (size_t i = 0; i < n; i++) memcpy(e->ids[i].id, e->ord[i].s->span_id, 8), e->ids[i].pos = (uint32_t)i;
  qsort(e->ids, n, sizeof *e->ids, cmp_id); /* for parents: span id -> first position */

  int rc = 0;
  mw_buf *c = &e->col;
  for (size_t i = 0; i < n && !rc; i++) /* 0 trace ids */
    if (!i || memcmp(e->ord[i].s->trace_id, e->ord[i - 1].s->trace_id, 16)) {
      rc = mw__buf_uvarint(c, i);
      if (!rc) rc = mw__buf_add(c, e->ord[i].s->trace_id, 16);
    }
  if (!rc) rc = seal(e);
  for (size_t i = 0; i < n && !rc; i++) rc = mw__buf_add(c, e->ord[i].s->span_id, 8); /* 1 span ids */
  if (!rc) rc = seal(e);
  for (size_t i = 0; i < n && !rc; i++) { /* 2 parents */
    const mw__sb_span *s = e->ord[i].s;
    if (!s->has_parent) {
      rc = mw__buf_uvarint(c, 0);
      continue;
    }
    size_t lo = 0, hi = n; /* first entry with id >= parent */
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (memcmp(e->ids[mid].id, s->parent_id, 8) < 0) lo = mid + 1;
      else hi = mid;
    }
    if (lo < n && !memcmp(e->ids[lo].id, s->parent_id, 8)) rc = mw__buf_uvarint(c, 2 + (uint64_t)e->ids[lo].pos);
    else if (!(rc = mw__buf_uvarint(c, 1))) rc = mw__buf_add(c, s->parent_id, 8);
  }
  if (!rc) rc = seal(e);
  for (size_t i = 0; i < n && !rc; i++) { /* 3 times */
    const mw__sb_span *s = e->ord[i].s;
    rc = mw__buf_uvarint(c, (uint64_t)s->start_ns - (uint64_t)first);
    if (!rc) rc = mw__buf_uvarint(c, zz(s->dur_ns));
  }
  if (!rc) rc = seal(e);
  for (size_t i = 0; i < n && !rc; i++) { /* 4 small */
    const mw__sb_span *s = e->ord[i].s;
    rc = mw__buf_uvarint(c, (uint64_t)s->op_id);
    if (!rc) rc = mw__buf_uvarint(c, (uint64_t)s->scope_id);
    if (!rc) rc = mw__buf_uvarint(c, (uint32_t)s->kind);
    if (!rc) rc = mw__buf_uvarint(c, (uint32_t)s->status);
  }
  if (!rc) rc = seal(e);
  for (size_t f = 0; f < n && !rc; f += MW__SB_BODY_FRAME) { /* 5.. bodies */
    for (size_t i = f; i < n && i < f + MW__SB_BODY_FRAME && !rc; i++) {
      const mw__sb_span *s = e->ord[i].s;
      rc = mw__buf_uvarint(c, s->body_len);
      if (!rc && s->body_len) rc = mw__buf_add(c, s->body, s->body_len);
    }
    if (rc) break;
    if (!f) { /* the first frame is every later frame's prefix */
      mw__buf_reset(&e->first);
      rc = mw__buf_add(&e->first, c->data ? c->data : "", c->len);
    } else if (ZSTD_isError(ZSTD_CCtx_refPrefix(e->cctx, e->first.data, e->first.len))) rc = MW_EIO;
    if (!rc) rc = seal(e);
  }
  if (rc) return rc == MW_ETOOBIG || rc == MW_EIO ? rc : MW_ENOMEM;

  size_t at = out->len;
  rc = mw__buf_add(out, magic, 4);
  if (!rc) rc = mw__buf_addc(out, MW__SB_VERSION);
  if (!rc) rc = mw__buf_uvarint(out, n);
  if (!rc) rc = mw__buf_uvarint(out, zz(first));
  if (!rc) rc = mw__buf_uvarint(out, zz(last));
  if (!rc) rc = mw__buf_add(out, e->head.data, e->head.len);
  if (!rc) {
    uLong crc = crc32(0, (const Bytef *)out->data + at, (uInt)(out->len - at));
    uint8_t le[4] = {(uint8_t)crc, (uint8_t)(crc >> 8), (uint8_t)(crc >> 16), (uint8_t)(crc >> 24)};
    rc = mw__buf_add(out, le, 4);
  }
  if (!rc) rc = mw__buf_add(out, e->z.data, e->z.len);
  return rc;
}

/* --- reading -------------------------------------------------------------------- */

typedef struct frame {
  const uint8_t *z;
  size_t zlen, rawlen;
} frame;

typedef struct tgroup {
  const uint8_t *id; /* 16 bytes, in the decompressed column */
  uint32_t first;
} tgroup;

struct mw__sb_block {
  mw_arena *a;
  ZSTD_DCtx *dctx;
  size_t n, n_frames, raw_bytes;
  int64_t first_ns, last_ns;
  frame *f; /* N_COLS columns, then the body frames */
  /* decoded columns, NULL until needed */
  tgroup *groups;
  size_t n_groups;
  const uint8_t *span_ids;    /* n × 8 */
  int32_t *parent;            /* -1 none, -2 elsewhere, else an index */
  const uint8_t **parent_ext; /* the raw id of a parent elsewhere */
  int64_t *start, *dur;       /* times */
  int64_t *op, *scope;        /* small */
  int *kind, *status;
  const uint8_t **body; /* per span, set when its frame is decoded */
  size_t *body_len;
  uint8_t *frame_done;      /* per body frame */
  const uint8_t *first_raw; /* body frame 0 decompressed: the prefix of the others */
};

int mw__sb_open(mw_arena *a, ZSTD_DCtx *dctx, const uint8_t *data, size_t len, mw__sb_block **out) {
  *out = NULL;
  cur c = {data, data + len, 0};
  const uint8_t *m = get_raw(&c, 5);
  if (!m || memcmp(m, magic, 4) || m[4] != MW__SB_VERSION) return MW_EIO;
  uint64_t n = get_uv(&c);
  int64_t first = unzz(get_uv(&c)), last = unzz(get_uv(&c));
  if (c.bad || !n || n > MW__SB_MAX_SPANS) return MW_EIO;
  mw__sb_block *b = mw__arena_calloc(a, 1, sizeof *b);
  if (!b) return MW_ENOMEM;
  b->a = a;
  b->n = (size_t)n;
  b->first_ns = first;
  b->last_ns = last;
  b->n_frames = N_COLS + (b->n + MW__SB_BODY_FRAME - 1) / MW__SB_BODY_FRAME;
  b->f = mw__arena_calloc(a, b->n_frames, sizeof *b->f);
  if (!b->f) return MW_ENOMEM;
  size_t total = 0;
  for (size_t i = 0; i < b->n_frames; i++) {
    uint64_t zl = get_uv(&c), rl = get_uv(&c);
    if (c.bad || zl > len || rl > MW__SB_MAX_RAW) return MW_EIO;
    b->f[i].zlen = (size_t)zl;
    b->f[i].rawlen = (size_t)rl;
    total += (size_t)zl;
    if (total > len) return MW_EIO;
    b->raw_bytes += (size_t)rl;
  }
  size_t head = (size_t)(c.p - data);
  const uint8_t *le = get_raw(&c, 4);
  if (!le) return MW_EIO;
  uLong crc = crc32(0, data, (uInt)head);
  if (crc != ((uLong)le[0] | (uLong)le[1] << 8 | (uLong)le[2] << 16 | (uLong)le[3] << 24)) return MW_EIO;
  if ((size_t)(c.end - c.p) != total) return MW_EIO; /* the frames, and nothing after them */
  const uint8_t *p = c.p;
  for (size_t i = 0; i < b->n_frames; i++) b->f[i].z = p, p += b->f[i].zlen;
  /* sizes the layout fixes */
  if (b->f[COL_SPAN].rawlen != b->n * 8) return MW_EIO;
  if (b->f[COL_TRACE].rawlen < 17 || b->f[COL_TRACE].rawlen > b->n * 26) return MW_EIO;
  b->dctx = dctx;
  *out = b;
  return 0;
}

void mw__sb_info_get(const mw__sb_block *b, mw__sb_info *out) {
  *out = (mw__sb_info){MW__SB_VERSION, b->n, b->first_ns, b->last_ns, b->raw_bytes};
}

/* Decompresses frame i into the arena: exactly its rawlen bytes, or MW_EIO. */
static int unpack(mw__sb_block *b, size_t i, const uint8_t *prefix, size_t prefix_len, const uint8_t **out) {
  const frame *f = &b->f[i];
  uint8_t *dst = mw__arena_alloc(b->a, f->rawlen ? f->rawlen : 1);
  if (!dst) return MW_ENOMEM;
  unsigned long long declared = ZSTD_getFrameContentSize(f->z, f->zlen);
  if (declared == ZSTD_CONTENTSIZE_ERROR) return MW_EIO;
  if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != f->rawlen) return MW_EIO;
  /* a prefix is used by the next decompression only, so nothing of it stays
   * on the (shared) context */
  if (prefix && ZSTD_isError(ZSTD_DCtx_refPrefix(b->dctx, prefix, prefix_len))) return MW_EIO;
  size_t r = ZSTD_decompressDCtx(b->dctx, dst, f->rawlen, f->z, f->zlen);
  if (ZSTD_isError(r) || r != f->rawlen) return MW_EIO;
  *out = dst;
  return 0;
}

static int need_traces(mw__sb_block *b) {
  if (b->groups) return 0;
  const uint8_t *raw;
  int rc = unpack(b, COL_TRACE, NULL, 0, &raw);
  if (rc) return rc;
  size_t cap = b->f[COL_TRACE].rawlen / 17;
  tgroup *g = mw__arena_alloc(b->a, cap * sizeof *g);
  if (!g) return MW_ENOMEM;
  cur c = {raw, raw + b->f[COL_TRACE].rawlen, 0};
  size_t k = 0;
  while (c.p < c.end) {
    uint64_t first = get_uv(&c);
    const uint8_t *id = get_raw(&c, 16);
    if (c.bad || k >= cap || first >= b->n) return MW_EIO;
    if (k ? first <= g[k - 1].first || memcmp(id, g[k - 1].id, 16) <= 0 : first != 0) return MW_EIO;
    g[k++] = (tgroup){id, (uint32_t)first};
  }
  b->groups = g;
  b->n_groups = k;
  return 0;
}

static int need_spans(mw__sb_block *b) { return b->span_ids ? 0 : unpack(b, COL_SPAN, NULL, 0, &b->span_ids); }

static int need_columns(mw__sb_block *b) {
  if (b->status) return 0;
  size_t n = b->n;
  const uint8_t *raw;
  int rc = unpack(b, COL_PARENT, NULL, 0, &raw);
  if (rc) return rc;
  int32_t *parent = mw__arena_alloc(b->a, n * sizeof *parent);
  const uint8_t **ext = mw__arena_calloc(b->a, n, sizeof *ext);
  if (!parent || !ext) return MW_ENOMEM;
  cur c = {raw, raw + b->f[COL_PARENT].rawlen, 0};
  for (size_t i = 0; i < n; i++) {
    uint64_t t = get_uv(&c);
    if (t == 0) parent[i] = -1;
    else if (t == 1) parent[i] = -2, ext[i] = get_raw(&c, 8);
    else if (t - 2 < n) parent[i] = (int32_t)(t - 2);
    else return MW_EIO;
    if (c.bad) return MW_EIO;
  }
  if (c.p != c.end) return MW_EIO;

  if ((rc = unpack(b, COL_TIME, NULL, 0, &raw))) return rc;
  int64_t *start = mw__arena_alloc(b->a, n * sizeof *start), *dur = mw__arena_alloc(b->a, n * sizeof *dur);
  if (!start || !dur) return MW_ENOMEM;
  c = (cur){raw, raw + b->f[COL_TIME].rawlen, 0};
  for (size_t i = 0; i < n; i++) {
    uint64_t d = get_uv(&c);
    start[i] = s64((uint64_t)b->first_ns + d);
    dur[i] = unzz(get_uv(&c));
  }
  if (c.bad || c.p != c.end) return MW_EIO;

  if ((rc = unpack(b, COL_SMALL, NULL, 0, &raw))) return rc;
  int64_t *op = mw__arena_alloc(b->a, n * sizeof *op), *scope = mw__arena_alloc(b->a, n * sizeof *scope);
  int *kind = mw__arena_alloc(b->a, n * sizeof *kind), *status = mw__arena_alloc(b->a, n * sizeof *status);
  if (!op || !scope || !kind || !status) return MW_ENOMEM;
  c = (cur){raw, raw + b->f[COL_SMALL].rawlen, 0};
  for (size_t i = 0; i < n; i++) {
    op[i] = s64(get_uv(&c));
    scope[i] = s64(get_uv(&c));
    uint64_t k = get_uv(&c), s = get_uv(&c);
    if (k > UINT32_MAX || s > UINT32_MAX) return MW_EIO;
    int32_t ki, si;
    uint32_t k32 = (uint32_t)k, s32 = (uint32_t)s;
    memcpy(&ki, &k32, 4);
    memcpy(&si, &s32, 4);
    kind[i] = ki, status[i] = si;
  }
  if (c.bad || c.p != c.end) return MW_EIO;

  b->body = mw__arena_calloc(b->a, n, sizeof *b->body);
  b->body_len = mw__arena_calloc(b->a, n, sizeof *b->body_len);
  b->frame_done = mw__arena_calloc(b->a, b->n_frames - N_COLS, 1);
  if (!b->body || !b->body_len || !b->frame_done) return MW_ENOMEM;
  b->parent = parent, b->parent_ext = ext, b->start = start, b->dur = dur;
  b->op = op, b->scope = scope, b->kind = kind;
  b->status = status; /* last: it says the columns are decoded */
  return 0;
}

static int need_body_frame(mw__sb_block *b, size_t j) {
  if (b->frame_done[j]) return 0;
  const uint8_t *raw;
  int rc = j ? need_body_frame(b, 0) : 0;
  if (!rc) rc = unpack(b, N_COLS + j, j ? b->first_raw : NULL, b->f[N_COLS].rawlen, &raw);
  if (rc) return rc;
  if (!j) b->first_raw = raw;
  size_t lo = j * MW__SB_BODY_FRAME, hi = lo + MW__SB_BODY_FRAME < b->n ? lo + MW__SB_BODY_FRAME : b->n;
  cur c = {raw, raw + b->f[N_COLS + j].rawlen, 0};
  for (size_t i = lo; i < hi; i++) {
    uint64_t l = get_uv(&c);
    if (c.bad || l > (uint64_t)(c.end - c.p)) return MW_EIO;
    b->body[i] = c.p;
    b->body_len[i] = (size_t)l;
    c.p += l;
  }
  if (c.p != c.end) return MW_EIO;
  b->frame_done[j] = 1;
  return 0;
}

int mw__sb_find_trace(mw__sb_block *b, const uint8_t trace_id[16], size_t *first, size_t *count) {
  *first = *count = 0;
  int rc = need_traces(b);
  if (rc) return rc;
  size_t lo = 0, hi = b->n_groups;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = memcmp(b->groups[mid].id, trace_id, 16);
    if (!c) {
      *first = b->groups[mid].first;
      *count = (mid + 1 < b->n_groups ? b->groups[mid + 1].first : b->n) - *first;
      return 0;
    }
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return 0;
}

int mw__sb_find_span(mw__sb_block *b, const uint8_t span_id[8], size_t *index) {
  int rc = need_spans(b);
  if (rc) return rc;
  for (size_t i = 0; i < b->n; i++)
    if (!memcmp(b->span_ids + 8 * i, span_id, 8)) return *index = i, 0;
  return MW_ENOTFOUND;
}

/* The trace id of span i (need_traces done). */
static const uint8_t *trace_of(const mw__sb_block *b, size_t i) {
  size_t lo = 0, hi = b->n_groups; /* the last group starting at or before i */
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (b->groups[mid].first <= i) lo = mid;
    else hi = mid;
  }
  return b->groups[lo].id;
}

int mw__sb_get_ids(mw__sb_block *b, size_t i, uint8_t trace_id[16], uint8_t span_id[8], int64_t *start_ns,
                   int64_t *dur_ns, int64_t *op_id) {
  if (i >= b->n) return MW_EINVAL;
  int rc = need_traces(b);
  if (!rc) rc = need_spans(b);
  if (!rc && (start_ns || dur_ns || op_id)) rc = need_columns(b);
  if (rc) return rc;
  if (trace_id) memcpy(trace_id, trace_of(b, i), 16);
  if (span_id) memcpy(span_id, b->span_ids + 8 * i, 8);
  if (start_ns) *start_ns = b->start[i];
  if (dur_ns) *dur_ns = b->dur[i];
  if (op_id) *op_id = b->op[i];
  return 0;
}

int mw__sb_all_ids(mw__sb_block *b, uint8_t *out) {
  int rc = need_traces(b);
  if (!rc) rc = need_spans(b);
  if (rc) return rc;
  for (size_t g = 0; g < b->n_groups; g++) {
    size_t end = g + 1 < b->n_groups ? b->groups[g + 1].first : b->n;
    for (size_t i = b->groups[g].first; i < end; i++) {
      memcpy(out + 24 * i, b->groups[g].id, 16);
      memcpy(out + 24 * i + 16, b->span_ids + 8 * i, 8);
    }
  }
  return 0;
}

int mw__sb_trace_ids(mw__sb_block *b, const uint8_t **ids, size_t *n) {
  *ids = NULL, *n = 0;
  int rc = need_traces(b);
  if (rc) return rc;
  uint8_t *t = mw__arena_alloc(b->a, b->n_groups * 16);
  if (!t) return MW_ENOMEM;
  for (size_t k = 0; k < b->n_groups; k++) memcpy(t + 16 * k, b->groups[k].id, 16);
  *ids = t, *n = b->n_groups;
  return 0;
}

int mw__sb_get(mw__sb_block *b, size_t i, mw_stored_span *out) {
  memset(out, 0, sizeof *out);
  if (i >= b->n) return MW_EINVAL;
  int rc = need_traces(b);
  if (!rc) rc = need_spans(b);
  if (!rc) rc = need_columns(b);
  if (!rc) rc = need_body_frame(b, i / MW__SB_BODY_FRAME);
  if (rc) return rc;
  memcpy(out->trace_id, trace_of(b, i), 16);
  memcpy(out->span_id, b->span_ids + 8 * i, 8);
  int32_t p = b->parent[i];
  if (p == -2) memcpy(out->parent_id, b->parent_ext[i], 8);
  else if (p >= 0) memcpy(out->parent_id, b->span_ids + 8 * (size_t)p, 8);
  out->has_parent = p != -1;
  out->op_id = b->op[i];
  out->scope_id = b->scope[i];
  out->start_ns = b->start[i];
  out->dur_ns = b->dur[i];
  out->kind = b->kind[i];
  out->status = b->status[i];
  out->body = b->body[i];
  out->body_len = b->body_len[i];
  return 0;
}

long mw__sb_parent_index(const mw__sb_block *b, size_t i) {
  if (!b->parent || i >= b->n || b->parent[i] < 0) return -1;
  return b->parent[i];
}

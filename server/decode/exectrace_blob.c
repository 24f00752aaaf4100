/* The goroutine blob of an execution trace (see exectrace_blob.h). */
#include "decode/exectrace_blob.h"
#include "core/buf.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>
#include <zstd.h>

/* Bodies shorter than this are kept as they are: a zstd frame costs more
 * than it saves on a few dozen bytes. */
enum { COMPRESS_FROM = 96, ZSTD_LEVEL = 6, MAX_STRINGS = 4096, MAX_BLOB = 1 << 30 };

static void put_varint(mw_buf *b, uint64_t v) {
  uint8_t tmp[10];
  size_t n = 0;
  while (v >= 0x80) {
    tmp[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  tmp[n++] = (uint8_t)v;
  mw__buf_add(b, tmp, n);
}

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

int mw__xt_blob_encode(mw_arena *a, const mw_xt_interval *iv, size_t n_iv, const mw_xt_wake *wk, size_t n_wk,
                       const uint8_t **out, size_t *len) {
  int rc = MW_ENOMEM;
  mw_buf b, cols;
  mw__buf_init(&b, MAX_BLOB);
  mw__buf_init(&cols, MAX_BLOB);
  const char **strs = malloc(MAX_STRINGS * sizeof *strs);
  void *z = NULL;
  if (!strs) goto out;
  size_t n_strs = 0;
  /* the columns first (they name the strings), then the table before them */
  put_varint(&cols, n_iv);
  for (size_t i = 0; i < n_iv; i++) put_varint(&cols, iv[i].state);
  for (size_t i = 0; i < n_iv; i++) put_varint(&cols, intern(strs, &n_strs, iv[i].reason));
  for (size_t i = 0; i < n_iv; i++) put_varint(&cols, intern(strs, &n_strs, iv[i].raw_reason));
  int64_t prev = 0;
  for (size_t i = 0; i < n_iv; i++) {
    put_varint(&cols, zigzag((int64_t)((uint64_t)iv[i].start_ns - (uint64_t)prev)));
    put_varint(&cols, (uint64_t)iv[i].end_ns - (uint64_t)iv[i].start_ns);
    prev = iv[i].end_ns;
  }
  for (size_t i = 0; i < n_iv; i++) put_varint(&cols, iv[i].stack);
  for (size_t i = 0; i < n_iv; i++) put_varint(&cols, iv[i].span);
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
  if (b.err || cols.err) goto out;
  const uint8_t *body = (const uint8_t *)b.data;
  size_t body_len = b.len;
  if (b.len - 1 >= COMPRESS_FROM) {
    size_t cap = ZSTD_compressBound(b.len - 1) + 1;
    if (!(z = malloc(cap))) goto out;
    size_t zn = ZSTD_compress((uint8_t *)z + 1, cap - 1, b.data + 1, b.len - 1, ZSTD_LEVEL);
    if (!ZSTD_isError(zn) && zn + 1 < b.len) {
      ((uint8_t *)z)[0] = 1;
      body = z;
      body_len = zn + 1;
    }
  }
  uint8_t *copy = mw__arena_memdup(a, body, body_len);
  if (!copy) goto out;
  *out = copy;
  *len = body_len;
  rc = MW_OK;
out:
  free(z);
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

int mw__xt_blob_decode(mw_arena *a, const uint8_t *blob, size_t len, size_t max_body, mw_xt_blob *out) {
  memset(out, 0, sizeof *out);
  if (len < 1 || blob[0] > 1) return MW_EINVAL;
  if (blob[0] == 0) {
    rd r = {blob + 1, blob + len, 0};
    return parse_body(a, &r, out);
  }
  unsigned long long n = ZSTD_getFrameContentSize(blob + 1, len - 1);
  if (n == ZSTD_CONTENTSIZE_ERROR || n == ZSTD_CONTENTSIZE_UNKNOWN || n > max_body) return MW_EINVAL;
  uint8_t *body = malloc(n ? (size_t)n : 1);
  if (!body) return MW_ENOMEM;
  size_t got = ZSTD_decompress(body, (size_t)n, blob + 1, len - 1);
  int rc = MW_EINVAL;
  if (!ZSTD_isError(got) && got == n) {
    rd r = {body, body + n, 0};
    rc = parse_body(a, &r, out);
  }
  free(body);
  return rc;
}

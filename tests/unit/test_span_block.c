/* The span block codec (store/span_block.c): round trips of random and edge
 * spans, lookups by trace and span id, the header's bytes as the layout in
 * span_block.h says, and damaged blocks (every truncation, every bit flipped)
 * read as MW_EIO or as the very spans written, never a crash.
 *
 * The expected spans come from the input alone: sorted here by (trace id,
 * start, input order) with the test's own comparison. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/error.h"
#include "decode/otlp.h"
#include "store/span_block.h"

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t rnd(void) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return rng;
}
static void rnd_bytes(uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)rnd();
}

typedef struct exp_ord {
  const mw__sb_span *s;
  size_t i;
} exp_ord;
static int exp_cmp(const void *pa, const void *pb) {
  const exp_ord *a = pa, *b = pb;
  for (int k = 0; k < 16; k++)
    if (a->s->trace_id[k] != b->s->trace_id[k]) return a->s->trace_id[k] < b->s->trace_id[k] ? -1 : 1;
  if (a->s->start_ns != b->s->start_ns) return a->s->start_ns < b->s->start_ns ? -1 : 1;
  return a->i < b->i ? -1 : 1;
}

static void same_span(const mw__sb_span *want, const mw_stored_span *got) {
  assert_memory_equal(got->trace_id, want->trace_id, 16);
  assert_memory_equal(got->span_id, want->span_id, 8);
  assert_int_equal(got->has_parent, !!want->has_parent);
  if (want->has_parent) assert_memory_equal(got->parent_id, want->parent_id, 8);
  assert_true(got->op_id == want->op_id);
  assert_true(got->scope_id == want->scope_id);
  assert_true(got->start_ns == want->start_ns);
  assert_true(got->dur_ns == want->dur_ns);
  assert_int_equal(got->kind, want->kind);
  assert_int_equal(got->status, want->status);
  assert_int_equal(got->body_len, want->body_len);
  if (want->body_len) assert_memory_equal(got->body, want->body, want->body_len);
  assert_int_equal(got->source_id, 0);
  assert_null(got->name);
}

static void encode(const mw__sb_span *s, size_t n, mw_buf *out) {
  mw__sb_enc *e = mw__sb_enc_new();
  assert_non_null(e);
  mw__buf_init(out, SIZE_MAX);
  assert_int_equal(mw__sb_encode(e, s, n, out), 0);
  mw__sb_enc_free(e);
}

/* Encodes s[0..n), decodes it and checks every span, the info, every trace
 * and every span id lookup. */
static void round_trip(const mw__sb_span *s, size_t n) {
  mw_buf out;
  encode(s, n, &out);
  exp_ord *o = malloc(n * sizeof *o);
  for (size_t i = 0; i < n; i++) o[i] = (exp_ord){&s[i], i};
  qsort(o, n, sizeof *o, exp_cmp);

  mw_arena *a = mw__arena_new(0);
  ZSTD_DCtx *d = ZSTD_createDCtx();
  mw__sb_block *b;
  assert_int_equal(mw__sb_open(a, d, (const uint8_t *)out.data, out.len, &b), 0);
  mw__sb_info info;
  mw__sb_info_get(b, &info);
  assert_int_equal(info.n, n);
  assert_int_equal(info.version, 1);
  int64_t first = s[0].start_ns, last = INT64_MIN;
  for (size_t i = 0; i < n; i++) {
    if (s[i].start_ns < first) first = s[i].start_ns;
    __int128 end = (__int128)s[i].start_ns + s[i].dur_ns;
    int64_t e = end > INT64_MAX ? INT64_MAX : end < INT64_MIN ? INT64_MIN : (int64_t)end;
    if (e > last) last = e;
  }
  assert_true(info.first_ns == first);
  assert_true(info.last_ns == last);

  /* trace lookups first, on a fresh block: only the trace column decoded */
  for (size_t i = 0; i < n; i++) {
    size_t f, c, want = 0, want_first = SIZE_MAX;
    for (size_t j = 0; j < n; j++)
      if (!memcmp(o[j].s->trace_id, s[i].trace_id, 16)) {
        if (want_first == SIZE_MAX) want_first = j;
        want++;
      }
    assert_int_equal(mw__sb_find_trace(b, s[i].trace_id, &f, &c), 0);
    assert_int_equal(c, want);
    assert_int_equal(f, want_first);
  }
  uint8_t absent[16];
  memset(absent, 0xab, 16);
  size_t f, c;
  assert_int_equal(mw__sb_find_trace(b, absent, &f, &c), 0);
  int any = 0;
  for (size_t i = 0; i < n; i++) any |= !memcmp(s[i].trace_id, absent, 16);
  if (!any) assert_int_equal(c, 0);

  mw_stored_span got;
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(mw__sb_get(b, i, &got), 0);
    same_span(o[i].s, &got);
    long p = mw__sb_parent_index(b, i);
    if (p >= 0) {
      assert_true(o[i].s->has_parent);
      assert_memory_equal(o[p].s->span_id, o[i].s->parent_id, 8);
    }
  }
  assert_int_equal(mw__sb_get(b, n, &got), MW_EINVAL);
  for (size_t i = 0; i < n; i++) {
    size_t idx;
    assert_int_equal(mw__sb_find_span(b, o[i].s->span_id, &idx), 0);
    assert_memory_equal(o[idx].s->span_id, o[i].s->span_id, 8);
    assert_true(idx <= i);
  }
  free(o);
  ZSTD_freeDCtx(d);
  mw__arena_free(a);
  mw__buf_free(&out);
}

/* n random spans over n_traces traces; parents inside the trace (so mostly in
 * the block), some elsewhere, some none; bodies of random length with repeats. */
static mw__sb_span *random_spans(size_t n, size_t n_traces, uint8_t *bodies, size_t bodies_len) {
  mw__sb_span *s = calloc(n, sizeof *s);
  uint8_t(*traces)[16] = malloc(n_traces * 16);
  for (size_t t = 0; t < n_traces; t++) rnd_bytes(traces[t], 16);
  for (size_t i = 0; i < n; i++) {
    memcpy(s[i].trace_id, traces[rnd() % n_traces], 16);
    rnd_bytes(s[i].span_id, 8);
    s[i].start_ns = 1765000000000000000 + (int64_t)(rnd() % 60000000000);
    s[i].dur_ns = (int64_t)(rnd() % 5000000000);
    s[i].op_id = (int64_t)(rnd() % 60) + 1;
    s[i].scope_id = (int64_t)(rnd() % 10) + 1;
    s[i].kind = (int)(rnd() % 6);
    s[i].status = (int)(rnd() % 3);
    size_t len = rnd() % 400;
    if (len > bodies_len) len = bodies_len;
    s[i].body = bodies + rnd() % (bodies_len - len + 1);
    s[i].body_len = len;
  }
  for (size_t i = 0; i < n; i++) {
    uint64_t r = rnd() % 10;
    if (r < 6 && i) { /* a parent earlier in the input, same trace or not */
      size_t p = rnd() % i;
      s[i].has_parent = 1;
      memcpy(s[i].parent_id, s[p].span_id, 8);
      if (r < 5) memcpy(s[i].trace_id, s[p].trace_id, 16);
    } else if (r < 8) {
      s[i].has_parent = 1;
      rnd_bytes(s[i].parent_id, 8); /* elsewhere */
    }
  }
  free(traces);
  return s;
}

static uint8_t *random_bodies(size_t n) {
  uint8_t *b = malloc(n);
  for (size_t i = 0; i < n; i++) b[i] = (uint8_t) "key=value attr http.route /api/items/ 0123456789"[rnd() % 48];
  return b;
}

static void test_random(void **state) {
  (void)state;
  uint8_t *bodies = random_bodies(4096);
  size_t sizes[] = {1, 2, 3, 127, 128, 129, 300, 1000, 1024, 4097};
  for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
    size_t n = sizes[k];
    mw__sb_span *s = random_spans(n, n / 11 + 1, bodies, 4096);
    round_trip(s, n);
    free(s);
  }
  free(bodies);
}

static void test_edges(void **state) {
  (void)state;
  mw__sb_span s[6];
  memset(s, 0, sizeof s);
  /* one span, everything zero, empty body, no parent */
  round_trip(s, 1);
  /* extremes of every number; equal trace ids and equal starts */
  int64_t starts[] = {INT64_MIN, INT64_MAX, 0, -1, INT64_MAX, INT64_MIN};
  int64_t durs[] = {INT64_MAX, INT64_MAX, INT64_MIN, 0, 0, -1};
  for (int i = 0; i < 6; i++) {
    memset(s[i].trace_id, i < 3 ? 0xff : 0x00, 16);
    memset(s[i].span_id, 0x10 + i, 8);
    s[i].start_ns = starts[i];
    s[i].dur_ns = durs[i];
    s[i].op_id = i & 1 ? INT64_MAX : INT64_MIN;
    s[i].scope_id = i & 1 ? -1 : 0;
    s[i].kind = i & 1 ? INT32_MAX : INT32_MIN;
    s[i].status = i & 1 ? -1 : 0;
  }
  s[1].has_parent = 1; /* parent in the block */
  memset(s[1].parent_id, 0x10, 8);
  s[2].has_parent = 1; /* parent outside, all ones */
  memset(s[2].parent_id, 0xff, 8);
  s[3].has_parent = 1; /* its own id */
  memset(s[3].parent_id, 0x13, 8);
  s[4].has_parent = 1; /* outside, all zero */
  round_trip(s, 6);

  /* 1,024 spans of one trace, all starting at once: input order kept */
  mw__sb_span *many = calloc(1024, sizeof *many);
  static const uint8_t body[] = "one body";
  for (size_t i = 0; i < 1024; i++) {
    memset(many[i].trace_id, 7, 16);
    many[i].span_id[0] = (uint8_t)i, many[i].span_id[1] = (uint8_t)(i >> 8);
    many[i].has_parent = i > 0;
    many[i].parent_id[0] = (uint8_t)(i / 2), many[i].parent_id[1] = (uint8_t)(i / 2 >> 8);
    many[i].start_ns = 5;
    many[i].body = i % 3 ? body : NULL;
    many[i].body_len = i % 3 ? sizeof body : 0;
  }
  round_trip(many, 1024);
  free(many);
}

static void test_refuses(void **state) {
  (void)state;
  mw__sb_enc *e = mw__sb_enc_new();
  mw_buf out;
  mw__buf_init(&out, SIZE_MAX);
  mw__sb_span s = {0};
  assert_int_equal(mw__sb_encode(e, &s, 0, &out), MW_EINVAL);
  assert_int_equal(mw__sb_encode(e, &s, MW__SB_MAX_SPANS + 1, &out), MW_EINVAL);
  assert_int_equal(out.len, 0);
  mw_buf small;
  mw__buf_init(&small, 16);
  assert_int_equal(mw__sb_encode(e, &s, 1, &small), MW_ETOOBIG);
  mw__buf_free(&small);
  mw__sb_enc_free(e);
  mw__buf_free(&out);
}

/* The header as span_block.h writes it, read byte by byte. */
static void test_header_bytes(void **state) {
  (void)state;
  mw__sb_span s[2];
  memset(s, 0, sizeof s);
  s[0].start_ns = 1000, s[0].dur_ns = 50;
  s[1].start_ns = 900, s[1].dur_ns = 300;
  s[1].trace_id[0] = 1;
  mw_buf out;
  encode(s, 2, &out);
  const uint8_t *p = (const uint8_t *)out.data;
  assert_memory_equal(p, "MWSB", 4);
  assert_int_equal(p[4], 1);    /* version */
  assert_int_equal(p[5], 2);    /* n */
  assert_int_equal(p[6], 0x88); /* zigzag(900) = 1800 = 0x708: 0x88 0x0e */
  assert_int_equal(p[7], 0x0e);
  assert_int_equal(p[8], 0xe0); /* last: 1200, zigzag 2400 = 0x960: 0xe0 0x12 */
  assert_int_equal(p[9], 0x12);
  assert_true(p[10] < 0x80);   /* the trace column's zstd frame, a few dozen bytes */
  assert_int_equal(p[11], 34); /* 2 traces × (varint index + 16-byte id) */
  assert_true(p[12] < 0x80);
  assert_int_equal(p[13], 16); /* 2 span ids */
  mw__buf_free(&out);
}

/* Real bodies: the spans of an OpenTelemetry JS export, flattened as the
 * server stores them, repeated under new ids to 300 spans (3 body frames). */
static mw__sb_span *real_spans(mw_arena *a, size_t *n_out) {
  size_t len;
  uint8_t *req = (uint8_t *)mw_test_slurp(&len, "%s/%s", MW_TEST_DATA, "otel-js/otlp-js-pb-0.bin");
  assert_non_null(req);
  mw_limits lim = MW_LIMITS_DEFAULT;
  mw_otlp_request *r;
  mw_otlp_flaws flaws;
  char err[256];
  assert_int_equal(mw__otlp_decode_pb(a, req, len, &lim, &r, &flaws, err, sizeof err), 0);
  mw_span_batch batch;
  assert_int_equal(mw__otlp_flatten(a, r, &flaws, &lim, &batch, err, sizeof err), 0);
  assert_true(batch.n_rows > 0);
  size_t n = 300;
  mw__sb_span *s = calloc(n, sizeof *s);
  for (size_t i = 0; i < n; i++) {
    const mw_span_row *row = &batch.rows[i % batch.n_rows];
    memcpy(s[i].trace_id, row->trace_id, 16);
    s[i].trace_id[15] ^= (uint8_t)(i / batch.n_rows);
    memcpy(s[i].span_id, row->span_id, 8);
    s[i].span_id[7] ^= (uint8_t)(i / batch.n_rows);
    s[i].has_parent = row->has_parent;
    memcpy(s[i].parent_id, row->parent_id, 8);
    s[i].parent_id[7] ^= (uint8_t)(i / batch.n_rows);
    s[i].start_ns = row->start_ns + (int64_t)i * 1000;
    s[i].dur_ns = row->dur_ns;
    s[i].op_id = (int64_t)(i % 7);
    s[i].scope_id = row->scope;
    s[i].kind = row->kind;
    s[i].status = row->status;
    uint8_t *body = mw__arena_memdup(a, row->body_len ? row->body : (const uint8_t *)"", row->body_len);
    s[i].body = body;
    s[i].body_len = row->body_len;
  }
  free(req);
  *n_out = n;
  return s;
}

/* Reads a whole block; 0 when it decodes to exactly want[] (sorted), MW_EIO
 * when some step said so; fails the test on anything else. */
static int read_all(ZSTD_DCtx *d, const uint8_t *data, size_t len, const exp_ord *want, size_t n) {
  mw_arena *a = mw__arena_new(64u << 20);
  mw__sb_block *b;
  int rc = mw__sb_open(a, d, data, len, &b);
  if (rc) goto out;
  size_t f, c;
  rc = mw__sb_find_trace(b, want[0].s->trace_id, &f, &c);
  if (rc) goto out;
  size_t idx;
  rc = mw__sb_find_span(b, want[n - 1].s->span_id, &idx);
  if (rc == MW_ENOTFOUND) rc = MW_EIO + 100; /* decoded, but not the same */
  if (rc) goto out;
  mw__sb_info info;
  mw__sb_info_get(b, &info);
  if (info.n != n) {
    rc = MW_EIO + 100;
    goto out;
  }
  mw_stored_span got;
  for (size_t i = 0; i < n && !rc; i++) {
    rc = mw__sb_get(b, i, &got);
    if (!rc) same_span(want[i].s, &got);
  }
out:
  mw__arena_free(a);
  if (rc && rc != MW_EIO) fail_msg("damaged block: %d (%s)", rc, mw__strerror(rc));
  return rc;
}

static void test_damage(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  size_t n;
  mw__sb_span *s = real_spans(a, &n);
  mw_buf out;
  encode(s, n, &out);
  exp_ord *o = malloc(n * sizeof *o);
  for (size_t i = 0; i < n; i++) o[i] = (exp_ord){&s[i], i};
  qsort(o, n, sizeof *o, exp_cmp);
  ZSTD_DCtx *d = ZSTD_createDCtx();
  assert_int_equal(read_all(d, (const uint8_t *)out.data, out.len, o, n), 0);

  uint8_t *copy = malloc(out.len + 1);
  for (size_t cut = 0; cut < out.len; cut++) { /* every truncation, in a buffer of exactly that size */
    uint8_t *t = malloc(cut ? cut : 1);
    memcpy(t, out.data, cut);
    assert_int_equal(read_all(d, t, cut, o, n), MW_EIO);
    free(t);
  }
  memcpy(copy, out.data, out.len); /* one byte too many */
  copy[out.len] = 0;
  assert_int_equal(read_all(d, copy, out.len + 1, o, n), MW_EIO);
  size_t eio = 0, same = 0;
  for (size_t bit = 0; bit < out.len * 8; bit++) { /* every bit flipped */
    memcpy(copy, out.data, out.len);
    copy[bit / 8] ^= (uint8_t)(1u << bit % 8);
    if (read_all(d, copy, out.len, o, n)) eio++;
    else same++;
  }
  print_message("block of %zu spans, %zu bytes: %zu flips read as MW_EIO, %zu as the same spans\n", n, out.len, eio,
                same);
  assert_true(eio > out.len * 8 * 9 / 10);
  free(copy);
  free(o);
  free(s);
  ZSTD_freeDCtx(d);
  mw__buf_free(&out);
  mw__arena_free(a);
}

/* mw__sb_order: a hand-made input whose order is written out here, then
 * random inputs against the test's own sort (exp_cmp), and the block read
 * back in that order. */
static void test_order(void **state) {
  (void)state;
  mw__sb_span s[6];
  memset(s, 0, sizeof s);
  const uint8_t tr[6] = {'B', 'A', 'A', 'B', 'A', 'C'}; /* trace id = 16 × this byte */
  const int64_t st[6] = {5, 9, 3, 5, 3, 1};
  for (size_t i = 0; i < 6; i++) {
    memset(s[i].trace_id, tr[i], 16);
    memset(s[i].span_id, (int)(0x10 + i), 8);
    s[i].start_ns = st[i];
  }
  /* A@3 (input 2), A@3 (4), A@9 (1), B@5 (0), B@5 (3), C@1 (5) */
  const uint32_t want[6] = {2, 4, 1, 0, 3, 5};
  uint32_t perm[6], tmp[6];
  mw__sb_order(s, 6, perm, tmp);
  for (size_t k = 0; k < 6; k++) assert_int_equal(perm[k], want[k]);

  mw_buf out;
  encode(s, 6, &out);
  mw_arena *a = mw__arena_new(0);
  ZSTD_DCtx *d = ZSTD_createDCtx();
  mw__sb_block *b;
  assert_int_equal(mw__sb_open(a, d, (const uint8_t *)out.data, out.len, &b), 0);
  for (size_t k = 0; k < 6; k++) { /* the encoder writes them in that order */
    uint8_t span[8];
    assert_int_equal(mw__sb_get_ids(b, k, NULL, span, NULL, NULL, NULL), 0);
    assert_memory_equal(span, s[want[k]].span_id, 8);
  }
  mw__buf_free(&out);
  mw__arena_free(a);

  uint8_t *bodies = random_bodies(512);
  size_t sizes[] = {1, 2, 8, 9, 17, 1000, 4097};
  for (size_t j = 0; j < sizeof sizes / sizeof *sizes; j++) {
    size_t n = sizes[j];
    mw__sb_span *r = random_spans(n, n / 5 + 1, bodies, 512);
    for (size_t i = 0; i + 1 < n; i += 7) r[i + 1].start_ns = r[i].start_ns; /* ties in start */
    for (size_t i = 0; i + 2 < n; i += 9) {                                  /* ties in both */
      memcpy(r[i + 2].trace_id, r[i].trace_id, 16);
      r[i + 2].start_ns = r[i].start_ns;
    }
    exp_ord *o = malloc(n * sizeof *o);
    for (size_t i = 0; i < n; i++) o[i] = (exp_ord){&r[i], i};
    qsort(o, n, sizeof *o, exp_cmp);
    uint32_t *p = malloc(n * sizeof *p), *t = malloc(n * sizeof *t);
    mw__sb_order(r, n, p, t);
    for (size_t k = 0; k < n; k++) assert_int_equal(p[k], o[k].i);
    free(p);
    free(t);
    free(o);
    free(r);
  }
  free(bodies);
  ZSTD_freeDCtx(d);
}

/* mw__sb_get_ids: every span's ids, times and op, equal to the input sorted
 * here; and it reads no body frame: with the last body frame damaged,
 * mw__sb_get of a span in it is MW_EIO while mw__sb_get_ids of every span
 * still answers. */
static void test_get_ids(void **state) {
  (void)state;
  uint8_t *bodies = random_bodies(4096);
  size_t n = 300; /* body frames 0..2 */
  mw__sb_span *s = random_spans(n, 40, bodies, 4096);
  for (size_t i = 0; i < n; i++) s[i].body_len = 50 + i % 50, s[i].body = bodies + i; /* every frame non-empty */
  exp_ord *o = malloc(n * sizeof *o);
  for (size_t i = 0; i < n; i++) o[i] = (exp_ord){&s[i], i};
  qsort(o, n, sizeof *o, exp_cmp);
  mw_buf out;
  encode(s, n, &out);
  out.data[out.len - 1] ^= 0x40; /* the last body frame's zstd checksum */
  mw_arena *a = mw__arena_new(0);
  ZSTD_DCtx *d = ZSTD_createDCtx();
  mw__sb_block *b;
  assert_int_equal(mw__sb_open(a, d, (const uint8_t *)out.data, out.len, &b), 0);
  for (size_t i = 0; i < n; i++) {
    uint8_t trace[16], span[8];
    int64_t start = -1, dur = -1, op = -1;
    assert_int_equal(mw__sb_get_ids(b, i, trace, span, &start, &dur, &op), 0);
    assert_memory_equal(trace, o[i].s->trace_id, 16);
    assert_memory_equal(span, o[i].s->span_id, 8);
    assert_true(start == o[i].s->start_ns);
    assert_true(dur == o[i].s->dur_ns);
    assert_true(op == o[i].s->op_id);
  }
  uint8_t trace[16];
  assert_int_equal(mw__sb_get_ids(b, n, trace, NULL, NULL, NULL, NULL), MW_EINVAL);
  /* mw__sb_all_ids: the same ids, all at once (a fresh open: nothing decoded yet) */
  mw__sb_block *b2;
  assert_int_equal(mw__sb_open(a, d, (const uint8_t *)out.data, out.len, &b2), 0);
  uint8_t *all = malloc(24 * n);
  assert_int_equal(mw__sb_all_ids(b2, all), 0);
  for (size_t i = 0; i < n; i++) {
    assert_memory_equal(all + 24 * i, o[i].s->trace_id, 16);
    assert_memory_equal(all + 24 * i + 16, o[i].s->span_id, 8);
  }
  free(all);
  mw_stored_span got;
  assert_int_equal(mw__sb_get(b, 0, &got), 0); /* frame 0 is whole */
  same_span(o[0].s, &got);
  assert_int_equal(mw__sb_get(b, n - 1, &got), MW_EIO); /* frame 2 is not */
  mw__buf_free(&out);
  mw__arena_free(a);
  ZSTD_freeDCtx(d);
  free(o);
  free(s);
  free(bodies);
}

/* mw__sb_trace_ids: three trace ids over seven spans, in a shuffled input
 * order; the answer is the three, ascending, once each. */
static void test_trace_ids(void **state) {
  (void)state;
  static const uint8_t ids[3][16] = {
      {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f},
      {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x10},
      {0xf0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
  }; /* ascending as written */
  const int pick[7] = {2, 0, 2, 1, 0, 2, 1};
  mw__sb_span s[7];
  memset(s, 0, sizeof s);
  for (size_t i = 0; i < 7; i++) {
    memcpy(s[i].trace_id, ids[pick[i]], 16);
    memset(s[i].span_id, (int)(i + 1), 8);
    s[i].start_ns = 1000 - (int64_t)i;
  }
  mw_buf out;
  encode(s, 7, &out);
  mw_arena *a = mw__arena_new(0);
  ZSTD_DCtx *d = ZSTD_createDCtx();
  mw__sb_block *b;
  assert_int_equal(mw__sb_open(a, d, (const uint8_t *)out.data, out.len, &b), 0);
  const uint8_t *got;
  size_t n;
  assert_int_equal(mw__sb_trace_ids(b, &got, &n), 0);
  assert_int_equal(n, 3);
  for (size_t k = 0; k < 3; k++) assert_memory_equal(got + 16 * k, ids[k], 16);
  mw__buf_free(&out);
  mw__arena_free(a);
  ZSTD_freeDCtx(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_random),       cmocka_unit_test(test_edges),     cmocka_unit_test(test_refuses),
      cmocka_unit_test(test_header_bytes), cmocka_unit_test(test_damage),    cmocka_unit_test(test_order),
      cmocka_unit_test(test_get_ids),      cmocka_unit_test(test_trace_ids),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* bench-block: the span block codec (server/store/span_block.h) on a
 * bench-corpus-gen file. Each batch is decoded and flattened as the server
 * does (mw__otlp_decode_pb, mw__otlp_flatten: the stored span form); spans are
 * grouped per source (the resource's bytes) in arrival order and cut into
 * blocks of --block spans (1,024), as the writer of STORAGE-NOTES §7 would.
 * Prints the bytes per span of the blocks (all, and per column), the CPU of
 * encoding, and of reading: a trace lookup (open, find the trace, read its
 * spans) and a whole block.
 *
 *   bench-corpus-gen --spans 200000 --seed 1 --out /tmp/corpus-200k.bin
 *   bench-block --corpus /tmp/corpus-200k.bin [--block 1024] [--write-block FILE] [--seal]
 *
 * --write-block writes the first full block (fuzz seeds). --seal also seals
 * each block into an in-memory database migrated to 0008 (mw__bw_seal,
 * store/block_write.h) and prints the block_ops.refs bytes per span
 * (STORAGE-WIRING §9) and the seal's CPU per span; slow spans at each
 * operation's p90 of the blocks sealed before (as the writer's threshold,
 * raised from the spans it saw). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/error.h"
#include "decode/otlp.h"
#include "store/block_write.h"
#include "store/schema.h"
#include "store/span_block.h"

#include "mwb_server.h"

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* --- a string -> id table (sources, scopes, operations) ----------------------- */
typedef struct ent {
  char *key;
  size_t len;
  int64_t id;
} ent;
typedef struct table {
  ent *e;
  size_t cap, n;
} table;

static uint64_t fnv(const void *p, size_t n) {
  const uint8_t *b = p;
  uint64_t h = 1469598103934665603u;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211u;
  return h;
}
static int64_t intern(table *t, const void *key, size_t len) {
  if (2 * (t->n + 1) > t->cap) {
    size_t cap = t->cap ? 2 * t->cap : 64;
    ent *e = calloc(cap, sizeof *e);
    for (size_t i = 0; i < t->cap; i++)
      if (t->e[i].key) {
        size_t j = fnv(t->e[i].key, t->e[i].len) & (cap - 1);
        while (e[j].key) j = (j + 1) & (cap - 1);
        e[j] = t->e[i];
      }
    free(t->e);
    t->e = e, t->cap = cap;
  }
  size_t j = fnv(key, len) & (t->cap - 1);
  for (; t->e[j].key; j = (j + 1) & (t->cap - 1))
    if (t->e[j].len == len && !memcmp(t->e[j].key, key, len)) return t->e[j].id;
  t->e[j].key = malloc(len + 1);
  memcpy(t->e[j].key, key, len);
  t->e[j].len = len;
  t->e[j].id = (int64_t)++t->n;
  return t->e[j].id;
}

/* --- open blocks per source ------------------------------------------------------ */
typedef struct open_block {
  mw__sb_span *spans;
  size_t *body_off; /* into bodies (which moves as it grows) */
  size_t n;
  mw_buf bodies;
} open_block;

typedef struct sealed {
  size_t off, len, n;
  uint8_t probe[16]; /* the trace of one of its spans, for the lookup timing */
  int full;
} sealed;

static mw__sb_enc *enc;
static mw_buf store; /* every block, back to back */
static sealed *blocks;
static size_t n_blocks, cap_blocks, block_size = 1024;
static double enc_s;
static uint64_t enc_spans;

/* --seal: the rows of each block in an in-memory database */
static sqlite3 *seal_db;
static mw__bw *bw;
static mw__truns_mem *seal_mem;
static double seal_s, slow_s; /* slow_s: the threshold emulation inside the seal, not the seal's */
static uint64_t seal_refs, seal_ops, seal_slow, seal_spans;
/* per operation: the durations of its spans sealed so far (for a p90 threshold) */
static int64_t **op_durs;
static size_t *op_ndur, n_op_durs;

static int cmp_i64(const void *x, const void *y) {
  int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
  return (a > b) - (a < b);
}
static int p90_slow(void *user, int64_t op, int64_t *thr) {
  (void)user;
  *thr = 0;
  if ((size_t)op > n_op_durs || !op_ndur[op - 1]) return MW_OK;
  double t = now_s();
  size_t n = op_ndur[op - 1] < 1024 ? op_ndur[op - 1] : 1024; /* the latest 1,024, as raise_slow */
  int64_t *v = malloc(n * sizeof *v);
  memcpy(v, op_durs[op - 1] + op_ndur[op - 1] - n, n * sizeof *v);
  qsort(v, n, sizeof *v, cmp_i64);
  if (n >= 1024) *thr = v[n * 9 / 10];
  free(v);
  slow_s += now_s() - t;
  return MW_OK;
}
static void note_durs(const mw__sb_span *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    size_t op = (size_t)v[i].op_id;
    if (op > n_op_durs) {
      op_durs = realloc(op_durs, op * sizeof *op_durs);
      op_ndur = realloc(op_ndur, op * sizeof *op_ndur);
      for (size_t k = n_op_durs; k < op; k++) op_durs[k] = NULL, op_ndur[k] = 0;
      n_op_durs = op;
    }
    op_durs[op - 1] = realloc(op_durs[op - 1], (op_ndur[op - 1] + 1) * sizeof **op_durs);
    op_durs[op - 1][op_ndur[op - 1]++] = v[i].dur_ns;
  }
}

/* refs layouts, in varint bytes (STORAGE-WIRING §9): [0] by start: index,
 * start - first_ns, dur; [1] the same with the start as a delta from the
 * previous span of the op (the one built: block_write.h); [2] by index: index
 * delta, start - first_ns, dur; [3] no start (index, dur). */
static uint64_t alt_refs[4];
typedef struct alt {
  int64_t op, start, dur;
  uint32_t index;
} alt;
static int cmp_alt(const void *x, const void *y) {
  const alt *a = x, *b = y;
  if (a->op != b->op) return a->op < b->op ? -1 : 1;
  if (a->start != b->start) return a->start < b->start ? -1 : 1;
  return (a->index > b->index) - (a->index < b->index);
}
static int cmp_alt_index(const void *x, const void *y) {
  const alt *a = x, *b = y;
  if (a->op != b->op) return a->op < b->op ? -1 : 1;
  return (a->index > b->index) - (a->index < b->index);
}
static size_t uvlen(uint64_t v) {
  size_t k = 1;
  while (v >= 0x80) v >>= 7, k++;
  return k;
}
static void alt_sizes(const mw__sb_span *v, size_t n) {
  uint32_t *perm = malloc(n * sizeof *perm), *tmp = malloc(n * sizeof *tmp);
  alt *a = malloc(n * sizeof *a);
  mw__sb_order(v, n, perm, tmp);
  int64_t first = INT64_MAX;
  for (size_t k = 0; k < n; k++) {
    const mw__sb_span *s = &v[perm[k]];
    a[k] = (alt){s->op_id, s->start_ns, s->dur_ns, (uint32_t)k};
    if (s->start_ns < first) first = s->start_ns;
  }
  qsort(a, n, sizeof *a, cmp_alt);
  for (size_t k = 0; k < n; k++) {
    int newop = !k || a[k].op != a[k - 1].op;
    alt_refs[0] += uvlen(a[k].index) + uvlen((uint64_t)(a[k].start - first)) + uvlen((uint64_t)a[k].dur);
    alt_refs[1] += uvlen(a[k].index) + uvlen((uint64_t)(a[k].start - (newop ? first : a[k - 1].start))) +
                   uvlen((uint64_t)a[k].dur);
    alt_refs[3] += uvlen(a[k].index) + uvlen((uint64_t)a[k].dur);
  }
  qsort(a, n, sizeof *a, cmp_alt_index);
  for (size_t k = 0; k < n; k++) {
    int newop = !k || a[k].op != a[k - 1].op;
    alt_refs[2] += uvlen(a[k].index - (newop ? 0 : a[k - 1].index)) + uvlen((uint64_t)(a[k].start - first)) +
                   uvlen((uint64_t)a[k].dur);
  }
  free(perm), free(tmp), free(a);
}

static void seal_rows(int64_t source, const mw__sb_span *v, size_t n) {
  alt_sizes(v, n);
  mw__bw_sealed out;
  double t = now_s();
  int rc = mw__bw_seal(bw, source, v, n, p90_slow, NULL, seal_mem, &out);
  seal_s += now_s() - t;
  if (rc) fprintf(stderr, "bench-block: seal: %s (%s)\n", mw__strerror(rc), sqlite3_errmsg(seal_db)), exit(1);
  seal_refs += out.refs_bytes, seal_ops += out.ops, seal_slow += out.slow, seal_spans += n;
  note_durs(v, n);
}

static void seal_block(open_block *ob, int64_t source) {
  if (!ob->n) return;
  for (size_t i = 0; i < ob->n; i++) ob->spans[i].body = (const uint8_t *)ob->bodies.data + ob->body_off[i];
  size_t at = store.len;
  double t = now_s();
  int rc = mw__sb_encode(enc, ob->spans, ob->n, &store);
  enc_s += now_s() - t;
  enc_spans += ob->n;
  if (rc) fprintf(stderr, "bench-block: encode: %s\n", mw__strerror(rc)), exit(1);
  if (n_blocks == cap_blocks) {
    cap_blocks = cap_blocks ? 2 * cap_blocks : 256;
    blocks = realloc(blocks, cap_blocks * sizeof *blocks);
  }
  sealed *s = &blocks[n_blocks++];
  s->off = at, s->len = store.len - at, s->n = ob->n, s->full = ob->n == block_size;
  memcpy(s->probe, ob->spans[(n_blocks * 7919) % ob->n].trace_id, 16);
  if (bw) seal_rows(source, ob->spans, ob->n);
  ob->n = 0;
  mw__buf_reset(&ob->bodies);
}

static uint64_t uv(const uint8_t **p) {
  uint64_t v = 0;
  for (unsigned sh = 0;; sh += 7) {
    uint8_t x = *(*p)++;
    v |= (uint64_t)(x & 0x7f) << sh;
    if (!(x & 0x80)) return v;
  }
}

int main(int argc, char **argv) {
  const char *corpus = NULL, *write_block = NULL;
  int do_seal = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--corpus") && v) corpus = v, i++;
    else if (!strcmp(a, "--block") && v) block_size = (size_t)atol(v), i++;
    else if (!strcmp(a, "--write-block") && v) write_block = v, i++;
    else if (!strcmp(a, "--seal")) do_seal = 1;
    else {
      fprintf(stderr, "usage: bench-block --corpus FILE [--block N] [--write-block FILE] [--seal]\n");
      return 2;
    }
  }
  if (!corpus || block_size < 1 || block_size > MW__SB_MAX_SPANS) {
    fprintf(stderr, "bench-block: --corpus FILE, please (and 1 <= --block <= %d)\n", MW__SB_MAX_SPANS);
    return 2;
  }
  size_t fsz;
  uint8_t *all = mwb_read_file(corpus, &fsz);
  if (!all) return perror(corpus), 1;

  enc = mw__sb_enc_new();
  if (do_seal) {
    char err[256];
    if (sqlite3_open(":memory:", &seal_db) || mw__schema_apply(seal_db, 0, err, sizeof err) ||
        sqlite3_exec(seal_db, "BEGIN", NULL, NULL, NULL) || mw__bw_open(seal_db, &bw) ||
        !(seal_mem = mw__truns_mem_new()))
      return fprintf(stderr, "bench-block: the seal database: %s\n", sqlite3_errmsg(seal_db)), 1;
  }
  mw__buf_init(&store, SIZE_MAX);
  table sources = {0}, scopes = {0}, ops = {0};
  open_block *ob = NULL;
  size_t n_ob = 0;
  uint64_t spans = 0, body_bytes = 0, batches = 0;
  mw_limits lim = MW_LIMITS_DEFAULT;
  for (size_t off = 0; off + 8 <= (size_t)fsz;) {
    uint32_t len =
        (uint32_t)all[off] | (uint32_t)all[off + 1] << 8 | (uint32_t)all[off + 2] << 16 | (uint32_t)all[off + 3] << 24;
    if (off + 8 + len > (size_t)fsz) return fprintf(stderr, "bench-block: truncated corpus\n"), 1;
    mw_arena *a = mw__arena_new(0);
    mw_otlp_request *req;
    mw_otlp_flaws flaws;
    mw_span_batch batch;
    char err[256];
    if (mw__otlp_decode_pb(a, all + off + 8, len, &lim, &req, &flaws, err, sizeof err) ||
        mw__otlp_flatten(a, req, &flaws, &lim, &batch, err, sizeof err))
      return fprintf(stderr, "bench-block: batch %" PRIu64 ": %s\n", batches, err), 1;
    off += 8 + len;
    batches++;
    for (size_t i = 0; i < batch.n_rows; i++) {
      const mw_span_row *r = &batch.rows[i];
      const mw_resource_ref *res = &batch.resources[r->resource];
      int64_t src = intern(&sources, res->resource, res->resource_len);
      const mw_scope_ref *sc = &batch.scopes[r->scope];
      int64_t scope = intern(&scopes, sc->body, sc->body_len);
      char key[1024];
      int kl = snprintf(key, sizeof key, "%" PRId64 "/%s", src, r->name);
      int64_t op = intern(&ops, key, (size_t)kl < sizeof key ? (size_t)kl : sizeof key - 1);
      if ((size_t)src > n_ob) {
        ob = realloc(ob, (size_t)src * sizeof *ob);
        for (size_t k = n_ob; k < (size_t)src; k++) {
          ob[k] = (open_block){calloc(block_size, sizeof(mw__sb_span)), calloc(block_size, sizeof(size_t)), 0, {0}};
          mw__buf_init(&ob[k].bodies, SIZE_MAX);
        }
        n_ob = (size_t)src;
      }
      open_block *o = &ob[src - 1];
      mw__sb_span *s = &o->spans[o->n];
      memcpy(s->trace_id, r->trace_id, 16);
      memcpy(s->span_id, r->span_id, 8);
      memcpy(s->parent_id, r->parent_id, 8);
      s->has_parent = r->has_parent;
      s->op_id = op, s->scope_id = scope, s->start_ns = r->start_ns, s->dur_ns = r->dur_ns;
      s->kind = r->kind, s->status = r->status;
      o->body_off[o->n] = o->bodies.len;
      s->body_len = r->body_len;
      if (r->body_len) mw__buf_add(&o->bodies, r->body, r->body_len);
      body_bytes += r->body_len;
      o->n++;
      spans++;
      if (o->n == block_size) seal_block(o, src);
    }
    mw__arena_free(a);
  }
  for (size_t k = 0; k < n_ob; k++) seal_block(&ob[k], (int64_t)k + 1);
  if (store.err) return fprintf(stderr, "bench-block: %s\n", mw__strerror(store.err)), 1;

  /* bytes: all blocks, full blocks only, and per column of the full blocks */
  uint64_t bytes_all = 0, bytes_full = 0, spans_full = 0, n_full = 0, col[6] = {0}, head_full = 0, raw_full = 0;
  for (size_t i = 0; i < n_blocks; i++) {
    bytes_all += blocks[i].len;
    if (!blocks[i].full) continue;
    n_full++;
    bytes_full += blocks[i].len;
    spans_full += blocks[i].n;
    const uint8_t *p = (const uint8_t *)store.data + blocks[i].off + 5;
    size_t n = (size_t)uv(&p);
    uv(&p), uv(&p);
    size_t nf = 5 + (n + MW__SB_BODY_FRAME - 1) / MW__SB_BODY_FRAME;
    for (size_t k = 0; k < nf; k++) {
      uint64_t z = uv(&p);
      raw_full += uv(&p);
      col[k < 5 ? k : 5] += z;
    }
    head_full += (uint64_t)(p + 4 - ((const uint8_t *)store.data + blocks[i].off));
  }
  printf("corpus %s: %" PRIu64 " batches, %" PRIu64
         " spans, %zu sources, %zu operations, %zu scopes; body %.1f B/span\n",
         corpus, batches, spans, sources.n, ops.n, scopes.n, (double)body_bytes / (double)spans);
  printf("blocks of %zu: %zu blocks (%" PRIu64 " full), all blocks %.1f B/span\n", block_size, n_blocks, n_full,
         (double)bytes_all / (double)spans);
  if (spans_full) {
    double d = (double)spans_full;
    printf("full blocks: %.1f B/span (raw %.1f B/span): header %.2f, trace ids %.1f, span ids %.1f, parents %.1f, "
           "times %.1f, op/scope/kind/status %.1f, bodies %.1f\n",
           (double)bytes_full / d, (double)raw_full / d, (double)head_full / d, (double)col[0] / d, (double)col[1] / d,
           (double)col[2] / d, (double)col[3] / d, (double)col[4] / d, (double)col[5] / d);
  }
  printf("encode: %.3f us/span (CPU, mw__sb_encode alone, zstd -3 included)\n", enc_s * 1e6 / (double)enc_spans);
  if (bw) {
    double d = (double)seal_spans;
    printf("seal (--seal): block_ops.refs %.2f B/span, %.3f block_ops rows/span, %.3f slow_spans rows/span (p90 "
           "thresholds), %zu trace keys; mw__bw_seal %.3f us/span (CPU: encode, order, inserts into :memory:; "
           "the bench's threshold emulation taken out)\n",
           (double)seal_refs / d, (double)seal_ops / d, (double)seal_slow / d, mw__truns_mem_count(seal_mem),
           (seal_s - slow_s) * 1e6 / d);
    printf("refs layouts (varint bytes/span): start - first_ns %.2f; start - previous start (built) %.2f; by index "
           "(index delta, start - first, dur) %.2f; no start (index, dur) %.2f\n",
           (double)alt_refs[0] / d, (double)alt_refs[1] / d, (double)alt_refs[2] / d, (double)alt_refs[3] / d);
    mw__bw_close(bw);
    /* the partition as one run, then the bytes of each table with its indexes (dbstat) */
    mw__truns_w *tw;
    int64_t run;
    if (mw__truns_w_open(seal_db, &tw) || mw__truns_flush(tw, seal_mem, &run))
      return fprintf(stderr, "bench-block: trace runs: %s\n", sqlite3_errmsg(seal_db)), 1;
    mw__truns_w_close(tw);
    sqlite3_exec(seal_db, "COMMIT", NULL, NULL, NULL);
    static const char *const tables[][3] = {{"span_blocks", "span_blocks_by_source", "sqlite_autoindex_span_blocks"},
                                            {"block_ops", "block_ops_by_block", "block_ops_by_op"},
                                            {"slow_spans", "", ""},
                                            {"trace_runs", "trace_run_list", ""}};
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(seal_db, "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN (?1, ?2, ?3)", -1, &st,
                           NULL) == SQLITE_OK) {
      printf("seal tables (dbstat, pages with their indexes, B/span):");
      double sum = 0;
      for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        for (int k = 0; k < 3; k++) sqlite3_bind_text(st, k + 1, tables[t][k], -1, SQLITE_STATIC);
        double b = sqlite3_step(st) == SQLITE_ROW ? (double)sqlite3_column_int64(st, 0) / d : -1;
        sqlite3_reset(st);
        sum += b;
        printf(" %s %.1f;", tables[t][0], b);
      }
      printf(" all %.1f\n", sum);
      sqlite3_finalize(st);
      if (sqlite3_prepare_v2(seal_db,
                             "SELECT name, sum(pgsize), sum(unused), sum(pagetype = 'overflow') FROM dbstat "
                             "WHERE name NOT LIKE 'sqlite%' GROUP BY name HAVING sum(ncell) > 0 OR sum(pgsize) > 4096 "
                             "ORDER BY 2 DESC",
                             -1, &st, NULL) == SQLITE_OK) {
        printf("seal b-trees (B/span, of it unused, overflow pages):");
        while (sqlite3_step(st) == SQLITE_ROW)
          printf(" %s %.1f (%.1f unused, %lld overflow);", (const char *)sqlite3_column_text(st, 0),
                 (double)sqlite3_column_int64(st, 1) / d, (double)sqlite3_column_int64(st, 2) / d,
                 (long long)sqlite3_column_int64(st, 3));
        printf("\n");
        sqlite3_finalize(st);
      }
    } else printf("seal tables: no dbstat in this SQLite\n");
    sqlite3_close(seal_db);
    mw__truns_mem_free(seal_mem);
    for (size_t k = 0; k < n_op_durs; k++) free(op_durs[k]);
    free(op_durs), free(op_ndur);
  }

  /* reading: a trace lookup in each block, then each whole block, a few rounds */
  ZSTD_DCtx *d = ZSTD_createDCtx();
  mw_arena *a = mw__arena_new(0);
  int rounds = 3;
  double t_trace = 0, t_whole = 0, t_find = 0;
  uint64_t trace_spans = 0, whole_spans = 0;
  for (int r = 0; r < rounds; r++) {
    for (size_t i = 0; i < n_blocks; i++) {
      const uint8_t *data = (const uint8_t *)store.data + blocks[i].off;
      mw__arena_free(a);
      a = mw__arena_new(0);
      double t = now_s();
      mw__sb_block *b;
      size_t first, count;
      mw_stored_span s;
      int rc = mw__sb_open(a, d, data, blocks[i].len, &b);
      if (!rc) rc = mw__sb_find_trace(b, blocks[i].probe, &first, &count);
      for (size_t k = 0; !rc && k < count; k++) rc = mw__sb_get(b, first + k, &s);
      t_trace += now_s() - t;
      if (rc || !count) return fprintf(stderr, "bench-block: trace lookup: %s\n", mw__strerror(rc)), 1;
      mw__arena_free(a); /* the same, up to finding the trace's range only */
      a = mw__arena_new(0);
      t = now_s();
      rc = mw__sb_open(a, d, data, blocks[i].len, &b);
      if (!rc) rc = mw__sb_find_trace(b, blocks[i].probe, &first, &count);
      t_find += now_s() - t;
      if (rc || !count) return fprintf(stderr, "bench-block: trace lookup: %s\n", mw__strerror(rc)), 1;
      trace_spans += count;
      mw__arena_free(a);
      a = mw__arena_new(0);
      t = now_s();
      rc = mw__sb_open(a, d, data, blocks[i].len, &b);
      for (size_t k = 0; !rc && k < blocks[i].n; k++) rc = mw__sb_get(b, k, &s);
      t_whole += now_s() - t;
      if (rc) return fprintf(stderr, "bench-block: read: %s\n", mw__strerror(rc)), 1;
      whole_spans += blocks[i].n;
    }
  }
  double lookups = (double)n_blocks * rounds;
  printf("decode: trace lookup %.1f us a block (%.1f spans of the trace read; open + finding them %.1f us); whole "
         "block %.1f us a block, %.0f "
         "ns/span (CPU, %d rounds over all blocks)\n",
         t_trace * 1e6 / lookups, (double)trace_spans / lookups, t_find * 1e6 / lookups, t_whole * 1e6 / lookups,
         t_whole * 1e9 / (double)whole_spans, rounds);

  /* what the bodies would take in other frame sizes (full blocks, block order,
   * zstd -3 without checksum: the layout's 128 is the first column) */
  size_t fsizes[] = {MW__SB_BODY_FRAME, 256, 512, 1024, MW__SB_BODY_FRAME};
  uint64_t fz[5] = {0};
  mw_buf first_raw; /* the last variant: frames of 128, each after the first with the first's bytes as prefix */
  mw__buf_init(&first_raw, SIZE_MAX);
  ZSTD_CCtx *cc = ZSTD_createCCtx();
  mw_buf raw;
  mw__buf_init(&raw, SIZE_MAX);
  for (size_t i = 0; i < n_blocks; i++) {
    if (!blocks[i].full) continue;
    mw__arena_free(a);
    a = mw__arena_new(0);
    mw__sb_block *b;
    mw_stored_span s;
    if (mw__sb_open(a, d, (const uint8_t *)store.data + blocks[i].off, blocks[i].len, &b)) return 1;
    for (int k = 0; k < 5; k++)
      for (size_t lo = 0; lo < blocks[i].n; lo += fsizes[k]) {
        mw__buf_reset(&raw);
        for (size_t j = lo; j < lo + fsizes[k] && j < blocks[i].n; j++) {
          if (mw__sb_get(b, j, &s)) return 1;
          uint8_t l[10];
          size_t ll = 0;
          for (uint64_t v = s.body_len; ll == 0 || v; v >>= 7) l[ll++] = (uint8_t)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
          mw__buf_add(&raw, l, ll);
          mw__buf_add(&raw, s.body, s.body_len);
        }
        size_t bound = ZSTD_compressBound(raw.len);
        void *dst = malloc(bound);
        ZSTD_CCtx_reset(cc, ZSTD_reset_session_and_parameters);
        ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 3);
        if (k == 4 && lo) ZSTD_CCtx_refPrefix(cc, first_raw.data, first_raw.len);
        size_t z = ZSTD_compress2(cc, dst, bound, raw.data, raw.len);
        if (k == 4 && !lo) mw__buf_reset(&first_raw), mw__buf_add(&first_raw, raw.data, raw.len);
        free(dst);
        if (ZSTD_isError(z)) return 1;
        fz[k] += z;
      }
  }
  if (spans_full)
    printf("bodies in frames of 128 / 256 / 512 / 1024 spans (zstd -3, no checksum): %.1f / %.1f / %.1f / %.1f B/span; "
           "frames of 128 with the first frame as prefix: %.1f B/span\n",
           (double)fz[0] / (double)spans_full, (double)fz[1] / (double)spans_full, (double)fz[2] / (double)spans_full,
           (double)fz[3] / (double)spans_full, (double)fz[4] / (double)spans_full);
  mw__buf_free(&raw);
  mw__buf_free(&first_raw);
  ZSTD_freeCCtx(cc);

  if (write_block) {
    for (size_t i = 0; i < n_blocks; i++)
      if (blocks[i].full || i + 1 == n_blocks) {
        FILE *w = fopen(write_block, "wb");
        if (!w || fwrite(store.data + blocks[i].off, 1, blocks[i].len, w) != blocks[i].len || fclose(w))
          return perror(write_block), 1;
        printf("wrote block %zu (%zu spans, %zu bytes) to %s\n", i, blocks[i].n, blocks[i].len, write_block);
        break;
      }
  }
  mw__arena_free(a);
  ZSTD_freeDCtx(d);
  mw__sb_enc_free(enc);
  for (size_t k = 0; k < n_ob; k++) free(ob[k].spans), free(ob[k].body_off), mw__buf_free(&ob[k].bodies);
  free(ob);
  table *ts[] = {&sources, &scopes, &ops};
  for (int k = 0; k < 3; k++) {
    for (size_t i = 0; i < ts[k]->cap; i++) free(ts[k]->e[i].key);
    free(ts[k]->e);
  }
  free(blocks);
  mw__buf_free(&store);
  free(all);
  return 0;
}

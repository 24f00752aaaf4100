/* bench-growth: how long the heap diff of GET /api/v1/sources/{id}/heap/growth
 * takes on two heap profiles of 10,000 samples each, next to a baseline
 * measured in the same run: un-gzipping and decoding the two profiles alone
 * (what any answer from stored profiles must pay). The profiles are
 * synthetic but shaped like Go's: four values per sample, a numeric "bytes"
 * label, stacks of 8 to 40 frames drawn from a call tree so that they share
 * their roots, one location per frame; the target keeps 80% of the base's
 * stacks with other values and adds new ones. Timed, best of the rounds:
 *
 *   decode   gunzip + decode both profiles (the baseline)
 *   diff     decode + merge by stack + sort + flame tree + the JSON answer
 *            (and the three steps after decoding, of the best round)
 *   pprof    the diff's gzip'd profile.proto, after a diff
 *
 * Usage: bench-growth [--samples N] [--rounds R] [--wall] [--smoke]. Exit 0;
 * 1 when a step fails. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/jsonw.h"
#include "decode/pprof.h"
#include "query/flame.h"
#include "query/heap_diff.h"

enum { N_FUNCS = 3000, MAX_DEPTH = 40 };

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 11);
}

/* The clock of the timings: the thread's CPU time by default, so that the
 * figures hold on a machine others load (a request's wall time on a quiet
 * one); --wall for the monotonic clock. */
static clockid_t clock_id = CLOCK_THREAD_CPUTIME_ID;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(clock_id, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A stack as function indices, root first. Stacks come from a call tree:
 * each frame's function depends on its parent's, so stacks share prefixes. */
typedef struct stack {
  uint32_t f[MAX_DEPTH];
  int n;
} stack;

static void make_stack(stack *s) {
  s->n = 8 + (int)(next_rand() % (MAX_DEPTH - 8 + 1));
  uint32_t at = next_rand() % 8; /* few roots */
  for (int i = 0; i < s->n; i++) {
    s->f[i] = at;
    at = (at * 31 + 7 + next_rand() % (i < 4 ? 3 : 12)) % N_FUNCS;
  }
}

/* The gzip'd protobuf of a heap profile with the stacks st[0..n), values
 * scaled by mul; *len its size. Location i is function i at line 10 + i. */
static uint8_t *make_profile(const stack *st, size_t n, uint32_t mul, size_t *len) {
  static char names[N_FUNCS][48];
  static char *strs[N_FUNCS + 16];
  size_t ns = 0;
  const char *fixed[] = {"",
                         "alloc_objects",
                         "count",
                         "alloc_space",
                         "bytes",
                         "inuse_objects",
                         "inuse_space",
                         "space",
                         "example.com/shop/internal/cache/cache.go"};
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) strs[ns++] = (char *)fixed[i];
  size_t first_name = ns;
  for (int i = 0; i < N_FUNCS; i++) {
    snprintf(names[i], sizeof names[i], "example.com/shop/internal/pkg%d.(*T).Method%d", i % 97, i);
    strs[ns++] = names[i];
  }
  Perftools__Profiles__Profile p;
  perftools__profiles__profile__init(&p);
  Perftools__Profiles__ValueType vt[5], *vtp[4];
  static const int64_t vt_str[4][2] = {{1, 2}, {3, 4}, {5, 2}, {6, 4}};
  for (int i = 0; i < 4; i++) {
    perftools__profiles__value_type__init(&vt[i]);
    vt[i].type = vt_str[i][0];
    vt[i].unit = vt_str[i][1];
    vtp[i] = &vt[i];
  }
  perftools__profiles__value_type__init(&vt[4]);
  vt[4].type = 7;
  vt[4].unit = 4;
  p.period_type = &vt[4];
  p.period = 524288;
  p.sample_type = vtp;
  p.n_sample_type = 4;
  Perftools__Profiles__Function *fn = calloc(N_FUNCS, sizeof *fn), **fnp = calloc(N_FUNCS, sizeof *fnp);
  Perftools__Profiles__Location *loc = calloc(N_FUNCS, sizeof *loc), **locp = calloc(N_FUNCS, sizeof *locp);
  Perftools__Profiles__Line *ln = calloc(N_FUNCS, sizeof *ln), **lnp = calloc(N_FUNCS, sizeof *lnp);
  Perftools__Profiles__Sample *smp = calloc(n, sizeof *smp), **smpp = calloc(n, sizeof *smpp);
  Perftools__Profiles__Label *lab = calloc(n, sizeof *lab), **labp = calloc(n, sizeof *labp);
  uint64_t *ids = calloc(n * MAX_DEPTH, sizeof *ids);
  int64_t *vals = calloc(n * 4, sizeof *vals);
  for (int i = 0; i < N_FUNCS; i++) {
    perftools__profiles__function__init(&fn[i]);
    fn[i].id = (uint64_t)i + 1;
    fn[i].name = fn[i].system_name = (int64_t)(first_name + (size_t)i);
    fn[i].filename = 8;
    fnp[i] = &fn[i];
    perftools__profiles__line__init(&ln[i]);
    ln[i].function_id = (uint64_t)i + 1;
    ln[i].line = 10 + i;
    lnp[i] = &ln[i];
    perftools__profiles__location__init(&loc[i]);
    loc[i].id = (uint64_t)i + 1;
    loc[i].line = &lnp[i];
    loc[i].n_line = 1;
    locp[i] = &loc[i];
  }
  for (size_t i = 0; i < n; i++) {
    perftools__profiles__sample__init(&smp[i]);
    for (int k = 0; k < st[i].n; k++) ids[i * MAX_DEPTH + (size_t)k] = st[i].f[st[i].n - 1 - k] + 1; /* leaf first */
    int64_t size = 16 << (next_rand() % 8), objs = 1 + next_rand() % 64;
    int64_t *v = &vals[i * 4];
    v[0] = objs * 4 * mul;
    v[1] = v[0] * size;
    v[2] = objs * mul;
    v[3] = v[2] * size;
    smp[i].location_id = &ids[i * MAX_DEPTH];
    smp[i].n_location_id = (size_t)st[i].n;
    smp[i].value = v;
    smp[i].n_value = 4;
    perftools__profiles__label__init(&lab[i]);
    lab[i].key = 4; /* "bytes" */
    lab[i].num = size;
    labp[i] = &lab[i];
    smp[i].label = &labp[i];
    smp[i].n_label = 1;
    smpp[i] = &smp[i];
  }
  p.sample = smpp;
  p.n_sample = n;
  p.function = fnp;
  p.n_function = N_FUNCS;
  p.location = locp;
  p.n_location = N_FUNCS;
  p.string_table = strs;
  p.n_string_table = ns;
  size_t raw_len = perftools__profiles__profile__get_packed_size(&p);
  uint8_t *raw = malloc(raw_len);
  perftools__profiles__profile__pack(&p, raw);
  uLongf gz_len = compressBound((uLong)raw_len) + 64;
  uint8_t *gz = malloc(gz_len);
  z_stream zs = {0};
  deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  zs.next_in = raw;
  zs.avail_in = (uInt)raw_len;
  zs.next_out = gz;
  zs.avail_out = (uInt)gz_len;
  deflate(&zs, Z_FINISH);
  *len = zs.total_out;
  deflateEnd(&zs);
  free(raw), free(fn), free(fnp), free(loc), free(locp), free(ln), free(lnp), free(smp), free(smpp), free(lab);
  free(labp), free(ids), free(vals);
  return gz;
}

/* Un-gzips and decodes gz into *p (arena a); 0 or -1. */
static int load(mw_arena *a, const uint8_t *gz, size_t len, mw_profile *p) {
  size_t cap = len * 12;
  uint8_t *raw = mw__arena_alloc(a, cap);
  z_stream zs = {0};
  if (!raw || inflateInit2(&zs, 15 + 16) != Z_OK) return -1;
  zs.next_in = (Bytef *)(uintptr_t)gz;
  zs.avail_in = (uInt)len;
  zs.next_out = raw;
  zs.avail_out = (uInt)cap;
  int zr = inflate(&zs, Z_FINISH);
  size_t got = zs.total_out;
  inflateEnd(&zs);
  char err[256];
  if (zr != Z_STREAM_END || mw__pprof_decode(a, raw, got, NULL, p, err, sizeof err)) return -1;
  return 0;
}

/* The JSON answer's work: merge, sort, flame tree, the listed stacks and the
 * tree written. Returns the answer's size, or 0 on failure. */
static double phase[3]; /* merge, sort, flame + JSON: the last round's */

static size_t diff(mw_arena *a, const mw_profile *base, const mw_profile *target, mw_heap_merge *m) {
  double t0 = now_ms();
  if (mw__heap_merge_init(m, a) || mw__heap_merge_add(m, base, 0) || mw__heap_merge_add(m, target, 1)) return 0;
  double t1 = now_ms();
  mw__heap_merge_sort(m, MW_HV_INUSE_SPACE);
  double t2 = now_ms();
  mw_flame_node root = {.name = "all"};
  for (size_t i = 0; i < m->n; i++)
    if (mw__flame_add(a, &root, m->stacks[i].frames, m->stacks[i].n_frames,
                      (double)m->stacks[i].side[1][MW_HV_INUSE_SPACE], (double)m->stacks[i].side[0][MW_HV_INUSE_SPACE]))
      return 0;
  mw_buf b;
  mw__buf_init(&b, 64u << 20);
  mw_jsonw w;
  mw__jw_init(&w, &b);
  mw__jw_obj(&w);
  mw__jw_key(&w, "stacks");
  mw__jw_arr(&w);
  for (size_t i = 0; i < m->n && i < 20; i++) {
    mw__jw_obj(&w);
    mw__jw_kint(&w, "bytes", mw__heap_delta(&m->stacks[i], MW_HV_INUSE_SPACE));
    mw__jw_obj_end(&w);
  }
  mw__jw_arr_end(&w);
  mw__jw_key(&w, "flame");
  mw__flame_write(&w, &root, "target", "base", 1, 0.005);
  mw__jw_obj_end(&w);
  size_t n = mw__jw_error(&w) ? 0 : b.len;
  mw__buf_free(&b);
  phase[0] = t1 - t0, phase[1] = t2 - t1, phase[2] = now_ms() - t2;
  return n;
}

int main(int argc, char **argv) {
  size_t samples = 10000;
  int rounds = 15, smoke = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--smoke")) smoke = 1, samples = 500, rounds = 2;
    else if (!strcmp(argv[i], "--samples") && i + 1 < argc) samples = (size_t)strtol(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = (int)strtol(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--wall")) clock_id = CLOCK_MONOTONIC;
    else {
      fprintf(stderr, "usage: bench-growth [--samples N] [--rounds R] [--wall] [--smoke]\n");
      return 1;
    }
  }
  if (samples < 10 || samples > 1000000 || rounds < 1 || rounds > 10000) {
    fprintf(stderr, "bench-growth: --samples is 10 to 1,000,000 and --rounds 1 to 10,000\n");
    return 1;
  }
  stack *st = calloc(samples * 2, sizeof *st);
  for (size_t i = 0; i < samples * 2; i++) make_stack(&st[i]);
  /* base: stacks 0..n; target: 80% of them again, then new ones */
  size_t keep = samples * 4 / 5;
  size_t base_len, target_len;
  uint8_t *base_gz = make_profile(st, samples, 1, &base_len);
  uint8_t *target_gz = make_profile(st + (samples - keep), samples, 2, &target_len);
  double best_decode = 1e18, best_diff = 1e18, best_pprof = 1e18, best_phase[3] = {0};
  size_t answer = 0, pprof_bytes = 0, stacks = 0;
  for (int r = 0; r < rounds; r++) {
    mw_arena *a = mw__arena_new(0);
    mw_profile bp, tp;
    double t0 = now_ms();
    if (load(a, base_gz, base_len, &bp) || load(a, target_gz, target_len, &tp)) {
      fprintf(stderr, "bench-growth: decoding failed\n");
      return 1;
    }
    double decode = now_ms() - t0;
    mw__arena_free(a);

    a = mw__arena_new(0);
    mw_heap_merge m;
    t0 = now_ms();
    if (load(a, base_gz, base_len, &bp) || load(a, target_gz, target_len, &tp) || !(answer = diff(a, &bp, &tp, &m))) {
      fprintf(stderr, "bench-growth: the diff failed\n");
      return 1;
    }
    double t1 = now_ms();
    mw_buf out;
    mw__buf_init(&out, 256u << 20);
    if (mw__heap_diff_pprof(&m, &tp, MW_HV_INUSE_SPACE, 2, 1, &out)) {
      fprintf(stderr, "bench-growth: writing the pprof failed\n");
      return 1;
    }
    double pprof = now_ms() - t1;
    pprof_bytes = out.len;
    stacks = m.n;
    mw__buf_free(&out);
    mw__arena_free(a);
    if (decode < best_decode) best_decode = decode;
    if (t1 - t0 < best_diff) {
      best_diff = t1 - t0;
      memcpy(best_phase, phase, sizeof phase);
    }
    if (pprof < best_pprof) best_pprof = pprof;
  }
  printf("bench-growth: two heap profiles of %zu samples (%zu and %zu bytes gzip'd), %zu stacks merged, best of %d, "
         "%s\n",
         samples, base_len, target_len, stacks, rounds, clock_id == CLOCK_MONOTONIC ? "wall time" : "CPU time");
  printf("  decode (baseline)            %8.2f ms\n", best_decode);
  printf("  diff (decode + merge + JSON) %8.2f ms  = %.2fx the baseline; the JSON answer %zu bytes\n", best_diff,
         best_diff / best_decode, answer);
  printf("    of which merge %.2f ms, sort %.2f ms, flame tree + JSON %.2f ms\n", best_phase[0], best_phase[1],
         best_phase[2]);
  printf("  pprof of the diff            %8.2f ms  (%zu bytes gzip'd)\n", best_pprof, pprof_bytes);
  if (smoke) printf("  (smoke: %zu samples; the figure to quote is the default 10,000)\n", samples);
  free(st);
  free(base_gz);
  free(target_gz);
  return 0;
}

/* JSON bench: how fast jansson (the library the OTLP/JSON decoder uses) and
 * json-c parse real OTLP/JSON bodies, measured in the same run so that the
 * ratio holds on any machine, plus the whole decoder (jansson parse + walk into
 * protobuf-c structs in an arena) for scale. Inputs: a JSONL file (one
 * ExportTraceServiceRequest per line) and single-document bodies.
 *
 *   bench_json_parse [-n iters] [-r rounds] [-m MB] file.jsonl body.json...
 *
 * With -m, it reports memory instead of speed: each corpus's resourceSpans are
 * repeated into one body of about MB megabytes, and the bytes malloc holds
 * for jansson's tree, and for the tree plus the decoder's arena at its peak
 * (the tree lives until the walk ends), are given as multiples of the body:
 * what --max-request-memory must reserve for a JSON body (http_int.h).
 *
 * Each round parses every document of a corpus n times with each parser in
 * turn (jansson; json-c strict with UTF-8 checks, which is what jansson does;
 * json-c with its lenient defaults; the decoder); the best round is reported,
 * being the least disturbed by the machine. n = iters for the JSONL file and
 * is scaled up for smaller bodies. MB/s counts input bytes, 1 MB = 10^6. */
#include <jansson.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/limits.h"
#include "decode/otlp.h"
#include "jsonc_parse.h"

typedef struct corpus {
  const char *name;
  char *buf;
  bench_doc *docs;
  size_t n, bytes, spans;
} corpus;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *name) {
  fprintf(stderr, "bench_json_parse: %s: %s\n", name, what);
  exit(1);
}

/* Loads path; as JSONL (one document per non-empty line) when split is set. */
static corpus load(const char *path, int split) {
  corpus c = {.name = path};
  FILE *fp = fopen(path, "rb");
  if (!fp) die("cannot open", path);
  fseek(fp, 0, SEEK_END);
  long len = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  c.buf = malloc((size_t)len + 1);
  if (!c.buf || fread(c.buf, 1, (size_t)len, fp) != (size_t)len) die("cannot read", path);
  fclose(fp);
  c.docs = malloc(((size_t)len / 2 + 1) * sizeof *c.docs);
  if (!c.docs) die("out of memory", path);
  for (char *p = c.buf, *end = c.buf + len; p < end;) {
    char *nl = split ? memchr(p, '\n', (size_t)(end - p)) : NULL;
    size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
    if (n) {
      c.docs[c.n++] = (bench_doc){p, n};
      c.bytes += n;
    }
    p += n + 1;
  }
  return c;
}

static int jansson_parse(const bench_doc *docs, size_t n, int iters) {
  for (int it = 0; it < iters; it++)
    for (size_t i = 0; i < n; i++) {
      json_error_t e;
      /* the decoder's flags, so that this is the parse it pays for */
      json_t *j = json_loadb(docs[i].data, docs[i].len, JSON_ALLOW_NUL, &e);
      if (!j) return -1;
      json_decref(j);
    }
  return 0;
}

static size_t decoded_spans;

static int decoder_parse(const bench_doc *docs, size_t n, int iters) {
  const mw_limits lim = MW_LIMITS_DEFAULT;
  decoded_spans = 0;
  for (int it = 0; it < iters; it++)
    for (size_t i = 0; i < n; i++) {
      mw_arena *a = mw__arena_new(0);
      mw_otlp_request *req;
      mw_otlp_flaws flaws;
      char err[256];
      if (!a || mw__otlp_decode_json(a, docs[i].data, docs[i].len, &lim, &req, &flaws, err, sizeof err)) {
        fprintf(stderr, "decode: %s\n", err);
        return -1;
      }
      if (it == 0)
        for (size_t r = 0; r < req->n_resource_spans; r++)
          for (size_t s = 0; s < req->resource_spans[r]->n_scope_spans; s++)
            decoded_spans += req->resource_spans[r]->scope_spans[s]->n_spans;
      mw__arena_free(a);
    }
  return 0;
}

/* Bytes malloc hands out now (small chunks and mmapped ones). */
static size_t malloc_inuse(void) {
  struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

/* The -m report for one corpus: see the top of the file. */
static void memory_report(const corpus *c, double mb) {
  json_t *all = json_array();
  size_t bytes = 0;
  while (bytes < mb * 1e6)
    for (size_t i = 0; i < c->n && bytes < mb * 1e6; i++) {
      json_error_t e;
      json_t *d = json_loadb(c->docs[i].data, c->docs[i].len, JSON_ALLOW_NUL, &e);
      if (!d) die("parse failed", c->name);
      json_array_extend(all, json_object_get(d, "resourceSpans"));
      json_decref(d);
      bytes += c->docs[i].len;
    }
  json_t *root = json_pack("{s:o}", "resourceSpans", all);
  char *body = json_dumps(root, JSON_COMPACT);
  json_decref(root);
  if (!body) die("out of memory", c->name);
  size_t len = strlen(body), before = malloc_inuse();
  json_error_t e;
  json_t *tree = json_loadb(body, len, JSON_ALLOW_NUL, &e);
  size_t tree_bytes = malloc_inuse() - before;
  json_decref(tree);
  const mw_limits lim = MW_LIMITS_DEFAULT;
  mw_arena *a = mw__arena_new(0);
  mw_otlp_request *req;
  mw_otlp_flaws flaws;
  char err[256];
  if (!a || mw__otlp_decode_json(a, body, len, &lim, &req, &flaws, err, sizeof err)) die(err, c->name);
  size_t arena = mw__arena_used(a);
  const char *base = strrchr(c->name, '/');
  printf("%-24s body %9zu B  tree %5.2fx  tree + decoded %5.2fx\n", base ? base + 1 : c->name, len,
         (double)tree_bytes / (double)len, (double)(tree_bytes + arena) / (double)len);
  mw__arena_free(a);
  free(body);
}

typedef int (*parse_fn)(const bench_doc *, size_t, int);

/* Seconds for one pass of fn over c, iters times. */
static double timed(parse_fn fn, const corpus *c, int iters, const char *lib) {
  double t0 = now();
  if (fn(c->docs, c->n, iters)) die("parse failed", lib);
  return now() - t0;
}

int main(int argc, char **argv) {
  int iters = 20, rounds = 5, opt;
  double mem_mb = 0;
  while ((opt = getopt(argc, argv, "n:r:m:")) != -1) {
    if (opt == 'n') iters = atoi(optarg);
    else if (opt == 'r') rounds = atoi(optarg);
    else if (opt == 'm') mem_mb = atof(optarg);
    else return 2;
  }
  if (optind >= argc || iters < 1 || rounds < 1 || mem_mb < 0) {
    fprintf(stderr, "usage: bench_json_parse [-n iters] [-r rounds] [-m MB] file.jsonl [body.json...]\n");
    return 2;
  }
  if (mem_mb > 0) {
    for (int f = optind; f < argc; f++) {
      corpus c = load(argv[f], f == optind);
      memory_report(&c, mem_mb);
      free(c.docs);
      free(c.buf);
    }
    return 0;
  }
  printf("jansson %s, json-c %s; best of %d rounds; MB = 10^6 input bytes\n", JANSSON_VERSION, bench_jsonc_version(),
         rounds);
  printf("%-20s %8s %4s %6s %9s %9s %7s %9s %9s %7s\n", "corpus", "bytes", "docs", "iters", "jansson", "json-c",
         "ratio", "json-c", "decoder", "spans");
  printf("%-20s %8s %4s %6s %9s %9s %7s %9s %9s %7s\n", "", "", "", "", "MB/s", "strict", "c/jan", "default", "MB/s",
         "");
  size_t first_bytes = 0;
  for (int f = optind; f < argc; f++) {
    corpus c = load(argv[f], f == optind);
    if (!c.bytes) die("empty", c.name);
    /* every corpus gets about as many bytes per round as the first one, so
     * that a small body is timed over more than a few milliseconds */
    if (f == optind) first_bytes = c.bytes;
    int n = iters * (int)((first_bytes + c.bytes - 1) / c.bytes);

    /* warm caches and the allocator; also proves each parser accepts all */
    timed(jansson_parse, &c, 1, "jansson");
    timed(bench_jsonc_parse_strict, &c, 1, "json-c strict");
    timed(bench_jsonc_parse, &c, 1, "json-c");
    timed(decoder_parse, &c, 1, "decoder");
    /* a decoder that returns no spans would mean jansson's symbols were bound
     * to json-c's (see CMakeLists.txt) */
    if (!decoded_spans) die("the decoder found no spans", c.name);
    size_t spans = decoded_spans;

    double best[4] = {1e30, 1e30, 1e30, 1e30};
    for (int r = 0; r < rounds; r++) {
      double t[4] = {timed(jansson_parse, &c, n, "jansson"), timed(bench_jsonc_parse_strict, &c, n, "json-c strict"),
                     timed(bench_jsonc_parse, &c, n, "json-c"), timed(decoder_parse, &c, n, "decoder")};
      for (int k = 0; k < 4; k++)
        if (t[k] < best[k]) best[k] = t[k];
    }
    double mb = (double)c.bytes * n / 1e6;
    const char *base = strrchr(c.name, '/');
    base = base ? base + 1 : c.name;
    printf("%-20s %8zu %4zu %6d %9.1f %9.1f %7.2f %9.1f %9.1f %7zu\n", base, c.bytes, c.n, n, mb / best[0],
           mb / best[1], best[0] / best[1], mb / best[2], mb / best[3], spans);
    free(c.docs);
    free(c.buf);
  }
  return 0;
}

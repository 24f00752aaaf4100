/* bench-rules: what the early-warning rules (server/model/rules.c) cost
 * against the runtime ingest they ride on (issue 15: at most 1% of ingest
 * CPU).
 *
 * The input is what agents send: one gctrace batch a second per source, each
 * of --cycles GC cycles (a busy service), heap steady with noise so that the
 * rules evaluate everything and fire nothing, which is their usual case. Two
 * figures, both in the same run:
 *
 *   in-process: the batches are built as the server builds them
 *   (mw__runtime_build) and fed to mw__rules_feed; its thread CPU time,
 *   against the server's CPU time (utime + stime of /proc/<pid>/stat) for
 *   ingesting the same batches with rules on: rules_share. This is the
 *   figure the target is about: it is exact where the end-to-end one drowns
 *   in noise.
 *
 *   end to end: meanwhiled with --rules on and --rules off, alternately,
 *   --rounds times, each on a fresh database, posting the same batches over
 *   one keep-alive connection; server CPU per mode and (on - off) / off.
 *
 * Figures go to stdout, one "name value" line each; progress to stderr. Exit
 * 0 when every post got a clean 200 and every figure was printed, 1
 * otherwise. Speed is never asserted. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "core/arena.h"
#include "ingest/runtime.h"
#include "model/rules.h"
#include "mwb_server.h"

typedef struct options {
  const char *server;
  int sources, batches, cycles, rounds, smoke;
} options;

typedef struct batch {
  char *text;
  size_t len;
  int source;
} batch;

static const int64_t PROCESS_START = 1795334940LL * 1000000000LL;

/* Source s's batch b: cycles GC lines, one every 1/cycles s, heap 200-260 MB. */
static char *make_batch(const options *o, int s, int b, size_t *len) {
  size_t cap = (size_t)o->cycles * 200 + 1;
  char *t = malloc(cap);
  size_t n = 0;
  for (int i = 0; i < o->cycles && t; i++) {
    long k = (long)b * o->cycles + i;
    double at = 60.0 + (double)k / o->cycles;
    int live = 200 + (int)((k * 7919 + s * 31) % 60);
    n += (size_t)snprintf(t + n, cap - n,
                          "gc %ld @%.3fs 3%%: 0.05+4.1+0.03 ms clock, 0.2+1.5/8.2/0.4+0.12 ms cpu, "
                          "%d->%d->%d MB, %d MB goal, 0 MB stacks, 0 MB globals, 4 P\n",
                          k + 1, at, live * 2, live * 2 + 3, live, live * 2);
  }
  *len = n;
  return t;
}

static double thread_cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* utime + stime of pid, seconds. */
static double proc_cpu_s(pid_t pid) {
  char path[64], buf[2048];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  const char *p = strrchr(buf, ')');
  unsigned long ut = 0, st = 0;
  /* after the command: state, then fields 4..13, then utime (14) and stime (15) */
  if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) return -1;
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static size_t discard(char *p, size_t size, size_t n, void *arg) {
  char *last = arg; /* the answer's start, for the check */
  size_t have = strlen(last), room = 255 - have, take = size * n < room ? size * n : room;
  memcpy(last + have, p, take);
  last[have + take] = 0;
  return size * n;
}

/* Posts every batch to a fresh server with --rules mode; *cpu_s gets the
 * server's CPU for them. Returns 0 when every answer was clean. */
static int run_server(const options *o, const batch *bs, size_t nb, const char *mode, double *cpu_s) {
  char dir[] = "/tmp/mw-bench-rules-XXXXXX", log[4200];
  if (!mkdtemp(dir)) return -1;
  snprintf(log, sizeof log, "%s.log", dir);
  char *argv[] = {(char *)o->server, "--listen", "127.0.0.1:0", "--data",      dir, "--sync",
                  "normal",          "--rules",  (char *)mode,  "--retention", "0", NULL};
  mwb_server srv;
  if (mwb_server_start(&srv, "bench-rules", argv, log, 15)) return -1;
  CURL *c = curl_easy_init();
  struct curl_slist *h = curl_slist_append(NULL, "Content-Type: text/plain");
  int bad = 0;
  double c0 = proc_cpu_s(srv.pid);
  for (size_t i = 0; i < nb && !bad; i++) {
    char url[512], answer[256] = "";
    snprintf(url, sizeof url, "%s/api/v1/ingest/gctrace?service=bench&instance=i%d&process_start=%lld", srv.url,
             bs[i].source, (long long)PROCESS_START);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, bs[i].text);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)bs[i].len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, answer);
    long code = 0;
    if (curl_easy_perform(c) != CURLE_OK || curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK ||
        code != 200 || !strstr(answer, "\"errors\":[]")) {
      fprintf(stderr, "bench-rules: post %zu: status %ld answer %s\n", i, code, answer);
      bad = 1;
    }
  }
  *cpu_s = proc_cpu_s(srv.pid) - c0;
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  int st = mwb_server_stop(&srv, "bench-rules", NULL);
  char cmd[4300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", dir, log);
  if (system(cmd) != 0) fprintf(stderr, "bench-rules: could not remove %s\n", dir);
  return bad || st != 0 ? -1 : 0;
}

/* The rules' CPU for every batch, built as the server builds it. */
static double rules_cpu_s(const options *o, const batch *bs, size_t nb, size_t *fired) {
  mw_rules_opts ro = {.heap_factor = 2,
                      .heap_window_ns = 600000000000LL,
                      .heap_min_bytes = 32 << 20,
                      .goroutine_factor = 2,
                      .goroutine_window_ns = 600000000000LL,
                      .goroutine_min = 500,
                      .gc_cpu_percent = 25,
                      .pause_p99_ns = 50000000,
                      .gc_window_ns = 60000000000LL,
                      .warmup_ns = 60000000000LL,
                      .cooldown_ns = 600000000000LL,
                      .max_sources = 1000};
  mw_rules *r = mw__rules_new(&ro);
  double total = 0;
  *fired = 0;
  for (size_t i = 0; i < nb && r; i++) {
    mw_arena *a = mw__arena_new(64u << 20);
    char inst[16], err[256];
    snprintf(inst, sizeof inst, "i%d", bs[i].source);
    mw_ingest_params p = {.kind = "gctrace",
                          .service = "bench",
                          .instance = inst,
                          .process_start_ns = PROCESS_START,
                          .received_ns = PROCESS_START + 3600000000000LL};
    mw_runtime_batch b;
    mw_ingest_report rep;
    if (!a || mw__runtime_build(a, &p, (const uint8_t *)bs[i].text, bs[i].len, &b, &rep, err, sizeof err)) {
      fprintf(stderr, "bench-rules: building batch %zu failed: %s\n", i, err);
      mw__arena_free(a);
      mw__rules_free(r);
      return -1;
    }
    mw_rule_event ev[MW_RULE__N];
    double t0 = thread_cpu_s();
    *fired += mw__rules_feed(r, bs[i].source + 1, "bench", inst, &b, ev);
    total += thread_cpu_s() - t0;
    mw__arena_free(a);
  }
  mw__rules_free(r);
  return r ? total : -1;
}

int main(int argc, char **argv) {
  options o = {.sources = 20, .batches = 100, .cycles = 20, .rounds = 3};
  static const struct option longopts[] = {{"server", required_argument, NULL, 's'},
                                           {"sources", required_argument, NULL, 'n'},
                                           {"batches", required_argument, NULL, 'b'},
                                           {"cycles", required_argument, NULL, 'c'},
                                           {"rounds", required_argument, NULL, 'r'},
                                           {"smoke", no_argument, NULL, 'S'},
                                           {0}};
  int ch;
  while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (ch) {
    case 's': o.server = optarg; break;
    case 'n': o.sources = atoi(optarg); break;
    case 'b': o.batches = atoi(optarg); break;
    case 'c': o.cycles = atoi(optarg); break;
    case 'r': o.rounds = atoi(optarg); break;
    case 'S': o.smoke = 1; break;
    default:
      fprintf(stderr, "usage: bench-rules --server meanwhiled [--sources N] [--batches B] [--cycles C] "
                      "[--rounds R] [--smoke]\n");
      return 2;
    }
  }
  if (o.smoke) o.sources = 2, o.batches = 5, o.rounds = 1;
  if (!o.server || o.sources < 1 || o.batches < 1 || o.cycles < 1 || o.rounds < 1) {
    fprintf(stderr, "bench-rules: --server is required; counts must be at least 1\n");
    return 2;
  }
  size_t nb = (size_t)o.sources * (size_t)o.batches;
  batch *bs = calloc(nb, sizeof *bs);
  if (!bs) return 1;
  /* a second of every source, then the next second: as agents push */
  for (int b = 0; b < o.batches; b++)
    for (int s = 0; s < o.sources; s++) {
      batch *x = &bs[(size_t)b * o.sources + s];
      x->source = s;
      if (!(x->text = make_batch(&o, s, b, &x->len))) return 1;
    }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  double on = 0, off = 0;
  int failed = 0;
  for (int r = 0; r < o.rounds && !failed; r++) {
    double a, b;
    /* alternate which goes first: the machine's load drifts */
    const char *first = r % 2 ? "on" : "off", *second = r % 2 ? "off" : "on";
    if (run_server(&o, bs, nb, first, &a) || run_server(&o, bs, nb, second, &b)) failed = 1;
    on += r % 2 ? a : b;
    off += r % 2 ? b : a;
    fprintf(stderr, "bench-rules: round %d: server CPU rules on %.3f s, off %.3f s\n", r + 1, r % 2 ? a : b,
            r % 2 ? b : a);
  }
  size_t fired = 0;
  double rules = rules_cpu_s(&o, bs, nb, &fired);
  if (failed || rules < 0) {
    fprintf(stderr, "bench-rules: failed\n");
    return 1;
  }
  printf("batches %zu\n", nb);
  printf("gc_cycles_per_batch %d\n", o.cycles);
  printf("server_cpu_us_per_batch_rules_on %.1f\n", on / o.rounds / (double)nb * 1e6);
  printf("server_cpu_us_per_batch_rules_off %.1f\n", off / o.rounds / (double)nb * 1e6);
  printf("end_to_end_cost_ratio %.4f\n", off > 0 ? (on - off) / off : 0);
  printf("rules_feed_us_per_batch %.3f\n", rules / (double)nb * 1e6);
  printf("rules_events_fired %zu\n", fired);
  printf("rules_share_of_ingest_cpu %.5f\n", on > 0 ? rules / (on / o.rounds) : 0);
  for (size_t i = 0; i < nb; i++) free(bs[i].text);
  free(bs);
  curl_global_cleanup();
  return 0;
}

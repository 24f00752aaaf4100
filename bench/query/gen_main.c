/* bench-query-gen: the query benchmark's generator on its own. Writes a
 * meanwhiled data dir (DIR/meanwhile.db and DIR/bench-query.meta) that
 * `meanwhiled --data DIR` opens as its own; see gen.c and README.md. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qbench.h"

#ifndef MW_SCHEMA_DIR
#define MW_SCHEMA_DIR "schema/sql"
#endif

static void usage(FILE *f) {
  fprintf(f,
          "usage: bench-query-gen --out DIR [--spans N] [--gc N] [--snapshots N] [--hours H]\n"
          "                       [--cpu-every S] [--seed N] [--analyze] [--old-spans] [--schema-dir DIR]\n"
          "defaults: 1e7 spans, 1e6 GC cycles, 1e5 goroutine snapshots, 6 hours, a CPU profile\n"
          "per source every 60 s, seed 1, migrations from %s\n",
          MW_SCHEMA_DIR);
}

static int num(const char *s, double *out) {
  char *end;
  errno = 0;
  *out = strtod(s, &end);
  return errno || end == s || *end || *out < 0 ? -1 : 0;
}

int main(int argc, char **argv) {
  qb_gen_opts o = {.schema_dir = MW_SCHEMA_DIR,
                   .spans = 10000000,
                   .gc = 1000000,
                   .snapshots = 100000,
                   .hours = 6,
                   .cpu_every_s = 60,
                   .cpu_window_s = 10,
                   .seed = 1};
  static const struct option longs[] = {{"out", 1, 0, 'o'},       {"spans", 1, 0, 's'},   {"gc", 1, 0, 'g'},
                                        {"snapshots", 1, 0, 'n'}, {"hours", 1, 0, 'H'},   {"cpu-every", 1, 0, 'c'},
                                        {"seed", 1, 0, 'r'},      {"analyze", 0, 0, 'a'}, {"schema-dir", 1, 0, 'd'},
                                        {"old-spans", 0, 0, 'O'}, {"help", 0, 0, 'h'},    {0, 0, 0, 0}};
  int opt;
  double v;
  while ((opt = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
    int bad = 0;
    switch (opt) {
    case 'o': o.dir = optarg; break;
    case 'O': o.old_spans = 1; break;
    case 's':
      bad = num(optarg, &v) || v < 1;
      o.spans = (uint64_t)v;
      break;
    case 'g':
      bad = num(optarg, &v);
      o.gc = (uint64_t)v;
      break;
    case 'n':
      bad = num(optarg, &v);
      o.snapshots = (uint64_t)v;
      break;
    case 'H': bad = num(optarg, &o.hours) || o.hours <= 0; break;
    case 'c': bad = num(optarg, &o.cpu_every_s) || (o.cpu_every_s > 0 && o.cpu_every_s < o.cpu_window_s); break;
    case 'r':
      bad = num(optarg, &v);
      o.seed = (uint64_t)v;
      break;
    case 'a': o.analyze = 1; break;
    case 'd': o.schema_dir = optarg; break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
    if (bad) {
      fprintf(stderr, "bench-query-gen: bad value for %s: %s\n", argv[optind - 1], optarg);
      return 2;
    }
  }
  if (!o.dir || optind < argc) {
    usage(stderr);
    return 2;
  }
  qb_gen_stats st;
  if (qb_generate(&o, &st)) return 1;
  printf("gen.seconds %.1f\ngen.load_s %.1f\ngen.index_s %.1f\ngen.finish_s %.1f\n", st.total_s, st.load_s, st.index_s,
         st.finish_s);
  printf("gen.db_mib %.0f\ngen.spans %llu\ngen.traces %llu\ngen.gc_cycles %llu\n", (double)st.db_bytes / 1048576.0,
         (unsigned long long)st.spans, (unsigned long long)st.traces, (unsigned long long)st.gc);
  printf("gen.goroutine_snapshots %llu\ngen.cpu_snapshots %llu\ngen.goroutine_groups %llu\n"
         "gen.goroutine_groups_labelled %llu\ngen.profile_samples %llu\ngen.profile_samples_labelled %llu\n"
         "gen.stacks %llu\ngen.slow_traces %llu\n",
         (unsigned long long)st.goroutine_snapshots, (unsigned long long)st.cpu_snapshots,
         (unsigned long long)st.goroutine_groups, (unsigned long long)st.labelled_groups,
         (unsigned long long)st.profile_samples, (unsigned long long)st.labelled_samples, (unsigned long long)st.stacks,
         (unsigned long long)st.candidates);
  printf("gen.span_form %s\ngen.blocks %llu\ngen.trace_runs_flushed %llu\ngen.trace_runs_live %llu\n",
         o.old_spans ? "rows" : "blocks", (unsigned long long)st.blocks, (unsigned long long)st.runs,
         (unsigned long long)st.live_runs);
  return 0;
}

/* `meanwhile leaks --source ID`: the source's leak suspects (GET
 * /api/v1/sources/{id}/goroutines/growth), and `meanwhile gc --source ID`:
 * its GC pressure per step (.../gc/pressure) and the operations of its
 * service that lose most time to GC (/api/v1/gc/operations). Plain text, one
 * block per suspect or one line per step; --json prints the server's answer. */
#include "growth.h"

#include <getopt.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1 };
#define URL_MAX 8192

void cli_usage_leaks(FILE *f) {
  fprintf(f, "Usage: meanwhile leaks --source ID [--shard URL] [--start T] [--end T] [--limit N] [--json] [--url URL]\n"
             "\n"
             "The goroutine stacks of a source whose count keeps growing (leak suspects), fastest first:\n"
             "their growth per hour, the operations that created them, and whether a goroutine leak\n"
             "profile proved them leaked (GET /api/v1/sources/{id}/goroutines/growth). T is unix\n"
             "seconds or RFC 3339; the ids of sources are in GET /api/v1/sources. With several shards\n"
             "a source id is its shard's own: --shard URL names the shard (docs/FEDERATION.md).\n");
}

void cli_usage_gc(FILE *f) {
  fprintf(f, "Usage: meanwhile gc --source ID [--shard URL] [--start T] [--end T] [--step D] [--json] [--url URL]\n"
             "\n"
             "GC pressure of a source per step (GC CPU, pauses, heap live and goal, allocation rate,\n"
             "assist share), then the operations of its service that lose most time to GC\n"
             "(GET /api/v1/sources/{id}/gc/pressure, GET /api/v1/gc/operations). D is a duration (1m).\n"
             "With --json, the pressure answer only. With several shards a source id is its shard's\n"
             "own: --shard URL names the shard (docs/FEDERATION.md).\n");
}

/* GETs url from the server at base and parses the 2xx answer into *out (the
 * caller decrefs); else the error reported and the exit status returned. */
static int get_json(const char *base, const char *url, json_t **out) {
  cli_response r = {0};
  int rc = cli_fetch(base, url, NULL, &r);
  if (rc) return rc;
  json_error_t jerr;
  *out = json_loadb(r.body, r.len, 0, &jerr);
  cli_response_free(&r);
  if (*out) return EXIT_OK;
  fprintf(stderr, "meanwhile: the server's answer is not JSON: %s\n", jerr.text);
  return EXIT_FAIL;
}

/* An integer of the API (past 2^53 a decimal string). */
static int64_t num(const json_t *v) {
  if (json_is_string(v)) return strtoll(json_string_value(v), NULL, 10);
  return json_is_integer(v) ? (int64_t)json_integer_value(v) : (int64_t)json_number_value(v);
}

static const char *str(const json_t *o, const char *key) {
  const char *s = json_string_value(json_object_get(o, key));
  return s ? s : "?";
}

static void put_time(int64_t ns) {
  time_t s = (time_t)(ns / 1000000000);
  struct tm tm;
  char b[32];
  strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&s, &tm));
  fputs(b, stdout);
}

typedef struct args {
  const char *source, *shard, *start, *end, *limit, *step, *url;
  int raw;
} args;

static int parse(const char *cmd, int argc, char **argv, args *a, void (*usage)(FILE *)) {
  static const struct option longopts[] = {
      {"source", required_argument, NULL, 's'}, {"start", required_argument, NULL, 'a'},
      {"end", required_argument, NULL, 'e'},    {"limit", required_argument, NULL, 'l'},
      {"step", required_argument, NULL, 'p'},   {"json", no_argument, NULL, 'j'},
      {"url", required_argument, NULL, 'u'},    {"shard", required_argument, NULL, 'H'},
      {"help", no_argument, NULL, 'h'},         {0}};
  memset(a, 0, sizeof *a);
  int c, leaks = strcmp(cmd, "leaks") == 0;
  while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    switch (c) {
    case 's': a->source = optarg; break;
    case 'a': a->start = optarg; break;
    case 'e': a->end = optarg; break;
    case 'l':
      if (!leaks) return cli_bad_usage(cmd, "%s", "unknown option '--limit'");
      a->limit = optarg;
      break;
    case 'p':
      if (leaks) return cli_bad_usage(cmd, "%s", "unknown option '--step'");
      a->step = optarg;
      break;
    case 'j': a->raw = 1; break;
    case 'u': a->url = optarg; break;
    case 'H': a->shard = optarg; break;
    case 'h': usage(stdout); return -1;
    default: return cli_bad_option(cmd, c, argv);
    }
  }
  if (optind < argc) return cli_bad_usage(cmd, "unexpected argument '%s'", argv[optind]);
  if (!a->source || !*a->source || strspn(a->source, "0123456789") != strlen(a->source))
    return cli_bad_usage(cmd, "%s", "needs --source ID (a number, from GET /api/v1/sources)");
  return 0;
}

/* The server's base into base, and base + path + the window parameters into
 * url; else bad usage reported and its exit status returned. */
static int make_url(const char *cmd, const args *a, const char *path, char *base, char *url) {
  int rc = cli_server_base(cmd, a->url, base, URL_MAX);
  if (rc) return rc;
  if ((size_t)snprintf(url, URL_MAX, "%s%s", base, path) >= URL_MAX ||
      (a->start && cli_url_add_param(url, URL_MAX, "start", a->start)) ||
      (a->end && cli_url_add_param(url, URL_MAX, "end", a->end)) ||
      (a->shard && cli_url_add_param(url, URL_MAX, "shard", a->shard)))
    return cli_bad_usage(cmd, "%s", "the URL is too long");
  return 0;
}

static int emit_raw(json_t *j) {
  int rc = json_dumpf(j, stdout, JSON_COMPACT) == 0 && fputc('\n', stdout) != EOF ? EXIT_OK : EXIT_FAIL;
  json_decref(j);
  return rc;
}

static void render_suspect(size_t i, const json_t *s) {
  const json_t *stack = json_object_get(s, "stack"), *top = json_array_get(stack, 0);
  /* the first frame outside the runtime and the standard sync/chan code is the one to read */
  printf("%zu. %s (%s:%lld)", i + 1, str(top, "func"), str(top, "file"), (long long)num(json_object_get(top, "line")));
  const char *wr = json_string_value(json_object_get(s, "wait_reason"));
  printf("  %s", wr ? wr : str(s, "state"));
  if (json_is_true(json_object_get(s, "proven_leaked"))) printf("  PROVEN LEAKED");
  const json_t *counts = json_object_get(s, "counts");
  const json_t *last = json_array_get(counts, json_array_size(counts) - 1);
  printf("\n   %lld goroutines now, %+.1f per hour since ", (long long)num(json_object_get(last, "count")),
         json_number_value(json_object_get(s, "growth_per_hour")));
  put_time(num(json_object_get(s, "first_seen_ns")));
  printf(" (%zu snapshots, rank correlation %.2f)\n", json_array_size(counts),
         json_number_value(json_object_get(s, "rank_correlation")));
  const json_t *ops = json_object_get(s, "operations");
  if (json_array_size(ops)) {
    printf("   created under:");
    size_t k;
    const json_t *o;
    json_array_foreach(ops, k, o) printf("%s %s %s (%lld)", k ? "," : "", str(o, "service"), str(o, "name"),
                                         (long long)num(json_object_get(o, "count")));
    printf("; %zu spans listed\n", json_array_size(json_object_get(s, "spans")));
  }
  const json_t *ex = json_object_get(s, "example");
  printf("   example: ");
  if (json_object_get(ex, "goroutine_id"))
    printf("goroutine %lld in ", (long long)num(json_object_get(ex, "goroutine_id")));
  printf("snapshot %lld (GET /api/v1/snapshots/%lld)\n", (long long)num(json_object_get(ex, "snapshot_id")),
         (long long)num(json_object_get(ex, "snapshot_id")));
}

int cli_cmd_leaks(int argc, char **argv) {
  args a;
  int rc = parse("leaks", argc, argv, &a, cli_usage_leaks);
  if (rc) return rc < 0 ? EXIT_OK : rc;
  char path[128], base[URL_MAX], url[URL_MAX];
  snprintf(path, sizeof path, "/api/v1/sources/%s/goroutines/growth", a.source);
  if ((rc = make_url("leaks", &a, path, base, url))) return rc;
  if (a.limit && cli_url_add_param(url, sizeof url, "limit", a.limit))
    return cli_bad_usage("leaks", "%s", "the URL is too long");
  json_t *j;
  if ((rc = get_json(base, url, &j))) return rc;
  if (a.raw) return emit_raw(j);
  const json_t *src = json_object_get(j, "source"), *sn = json_object_get(j, "snapshots");
  const json_t *sus = json_object_get(j, "suspects");
  printf("Leak suspects of %s/%s (%lld goroutine snapshots, %lld leak profiles): %zu\n", str(src, "service"),
         str(src, "instance"), (long long)num(json_object_get(sn, "goroutine")),
         (long long)num(json_object_get(sn, "goroutineleak")), json_array_size(sus));
  size_t i;
  const json_t *s;
  json_array_foreach(sus, i, s) render_suspect(i, s);
  if (json_is_true(json_object_get(j, "more"))) printf("(more: narrow the window or raise --limit)\n");
  json_decref(j);
  return fflush(stdout) ? EXIT_FAIL : EXIT_OK;
}

int cli_cmd_gc(int argc, char **argv) {
  args a;
  int rc = parse("gc", argc, argv, &a, cli_usage_gc);
  if (rc) return rc < 0 ? EXIT_OK : rc;
  char path[128], base[URL_MAX], url[URL_MAX];
  snprintf(path, sizeof path, "/api/v1/sources/%s/gc/pressure", a.source);
  if ((rc = make_url("gc", &a, path, base, url))) return rc;
  if (a.step && cli_url_add_param(url, sizeof url, "step", a.step))
    return cli_bad_usage("gc", "%s", "the URL is too long");
  json_t *j;
  if ((rc = get_json(base, url, &j))) return rc;
  if (a.raw) return emit_raw(j);
  const json_t *src = json_object_get(j, "source"), *pts = json_object_get(j, "points");
  printf("GC pressure of %s/%s, steps of %.3f s\n", str(src, "service"), str(src, "instance"),
         (double)num(json_object_get(j, "step_ns")) / 1e9);
  printf("%-20s %6s %7s %10s %10s %9s %9s %12s %7s\n", "time", "cycles", "gc cpu", "pause p50", "pause p99", "live MiB",
         "goal MiB", "alloc MiB/s", "assist");
  size_t i;
  const json_t *p;
  json_array_foreach(pts, i, p) {
    put_time(num(json_object_get(p, "time_ns")));
    printf(" %6lld %6.2f%% %8.3fms %8.3fms %9.1f %9.1f ", (long long)num(json_object_get(p, "cycles")),
           100 * json_number_value(json_object_get(p, "gc_cpu")), (double)num(json_object_get(p, "pause_p50_ns")) / 1e6,
           (double)num(json_object_get(p, "pause_p99_ns")) / 1e6,
           (double)num(json_object_get(p, "heap_live")) / 1048576,
           (double)num(json_object_get(p, "heap_goal")) / 1048576);
    const json_t *al = json_object_get(p, "alloc_bytes_per_s");
    if (json_is_number(al)) printf("%12.1f", json_number_value(al) / 1048576);
    else printf("%12s", "-");
    printf(" %6.1f%%\n", 100 * json_number_value(json_object_get(p, "assist_share")));
  }
  char service[512];
  snprintf(service, sizeof service, "%s", str(src, "service"));
  json_decref(j);
  if ((rc = make_url("gc", &a, "/api/v1/gc/operations", base, url))) return rc;
  if (cli_url_add_param(url, sizeof url, "service", service) || cli_url_add_param(url, sizeof url, "limit", "10"))
    return cli_bad_usage("gc", "%s", "the URL is too long");
  if ((rc = get_json(base, url, &j))) return rc;
  const json_t *ops = json_object_get(j, "operations");
  printf("\nOperations of %s losing most time to GC:\n", service);
  const json_t *o;
  json_array_foreach(ops, i, o) {
    printf("  %-40s %6lld spans  stop-the-world %5.1f%%  assist %5.1f%%  gc %.1f ms\n", str(o, "name"),
           (long long)num(json_object_get(o, "spans")), 100 * json_number_value(json_object_get(o, "stw_share")),
           100 * json_number_value(json_object_get(o, "assist_share")), (double)num(json_object_get(o, "gc_ns")) / 1e6);
  }
  json_decref(j);
  return fflush(stdout) ? EXIT_FAIL : EXIT_OK;
}

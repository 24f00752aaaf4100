/* `meanwhile heap-growth` (see heap_growth.h). A growth of bytes prints with
 * its sign: a stack that freed memory shows as "-2.0 MiB". The shared steps
 * (arguments, the GET, --json) are main.c's, through cli.h. */
#include "heap_growth.h"
#include "cli.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int cli_heap_growth_url(char *url, size_t cap, const char *base, int64_t source, int64_t since_ns, int64_t now_s) {
  int64_t since_s = since_ns / 1000000000;
  if (since_s < 1) since_s = 1;
  int64_t start = now_s - since_s, base_start = start - since_s;
  int n = snprintf(
      url, cap, "%s/api/v1/sources/%" PRId64 "/heap/growth?start=%" PRId64 "&base_start=%" PRId64 "&base_end=%" PRId64,
      base, source, start > 0 ? start : 0, base_start > 0 ? base_start : 0, start > 0 ? start : 0);
  return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* An integer of the answer: a JSON number, or a string past 2^53. */
static int get_int(const json_t *j, const char *key, int64_t *out) {
  const json_t *v = json_object_get(j, key);
  if (json_is_integer(v)) *out = (int64_t)json_integer_value(v);
  else if (json_is_string(v)) *out = strtoll(json_string_value(v), NULL, 10);
  else return -1;
  return 0;
}

static void put_clean(FILE *f, const char *s, size_t max_cols) {
  for (size_t i = 0; s && s[i] && i < max_cols; i++) fputc((unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i], f);
}

static void signed_bytes(char *buf, size_t size, int64_t n) {
  const char *sign = n < 0 ? "-" : "+";
  double a = n < 0 ? -(double)n : (double)n;
  if (a >= 1 << 20) snprintf(buf, size, "%s%.1f MiB", sign, a / (1 << 20));
  else if (a >= 1 << 10) snprintf(buf, size, "%s%.1f KiB", sign, a / (1 << 10));
  else snprintf(buf, size, "%s%.0f B", sign, a);
}

static int snapshot(const json_t *g, const char *key, int64_t *id, int64_t *ns) {
  const json_t *s = json_object_get(g, key);
  return get_int(s, "snapshot_id", id) || get_int(s, "time_ns", ns) ? -1 : 0;
}

int cli_render_heap_growth(FILE *out, const json_t *g, const cli_render_opts *o) {
  int64_t base_id, base_ns, target_id, target_ns, bytes, objects;
  const json_t *total = json_object_get(g, "total"), *stacks = json_object_get(g, "stacks");
  const char *sample = json_string_value(json_object_get(g, "sample"));
  if (snapshot(g, "base", &base_id, &base_ns) || snapshot(g, "target", &target_id, &target_ns) ||
      get_int(total, "bytes", &bytes) || get_int(total, "objects", &objects) || !json_is_array(stacks) || !sample)
    return CLI_RENDER_ESHAPE;
  char bt[40], tt[40], b[32], dur[32];
  cli_format_time(bt, sizeof bt, base_ns);
  cli_format_time(tt, sizeof tt, target_ns);
  cli_format_duration(dur, sizeof dur, target_ns - base_ns);
  signed_bytes(b, sizeof b, bytes);
  fprintf(out, "Heap profile %" PRId64 " (%s) against %" PRId64 " (%s), %s later, by %s\n", target_id, tt, base_id, bt,
          dur, sample);
  fprintf(out, "Net: %s, %+" PRId64 " objects\n\n", b, objects);
  if (!json_array_size(stacks)) {
    fputs("No stack grew.\n", out);
    return CLI_RENDER_OK;
  }
  int width = o->width < CLI_RENDER_MIN_WIDTH ? CLI_RENDER_MIN_WIDTH : o->width;
  fprintf(out, "%12s %10s  %s\n", "bytes", "objects", "stack (leaf first)");
  size_t i;
  const json_t *s;
  json_array_foreach(stacks, i, s) {
    int64_t sb = 0, so = 0;
    if (get_int(s, "bytes", &sb) || get_int(s, "objects", &so)) return CLI_RENDER_ESHAPE;
    signed_bytes(b, sizeof b, sb);
    fprintf(out, "%12s %+10" PRId64 "  ", b, so);
    int left = width - 25;
    size_t k;
    const json_t *f;
    json_array_foreach(json_object_get(s, "frames"), k, f) {
      const char *fn = json_string_value(json_object_get(f, "function"));
      if (!fn || left <= 4) break;
      if (k) {
        fputs(" < ", out);
        left -= 3;
      }
      size_t n = strlen(fn);
      put_clean(out, fn, (size_t)left);
      left -= (int)(n < (size_t)left ? n : (size_t)left);
      if (k == 0) { /* where the leaf allocates */
        int64_t line = 0;
        const char *file = json_string_value(json_object_get(f, "file"));
        const char *slash = file ? strrchr(file, '/') : NULL;
        get_int(f, "line", &line);
        char at[96];
        int m = snprintf(at, sizeof at, " (%s:%" PRId64 ")", slash ? slash + 1 : file ? file : "?", line);
        if (m > 0 && m < left) {
          put_clean(out, at, (size_t)m);
          left -= m;
        }
      }
    }
    fputc('\n', out);
  }
  if (json_is_true(json_object_get(g, "more"))) fputs("(more stacks grew: --limit shows more)\n", out);
  return CLI_RENDER_OK;
}

void cli_usage_heap_growth(FILE *f) {
  fprintf(f, "Usage: meanwhile heap-growth --source ID [--shard URL] [--since 1h] [--limit N] [--json] [--url URL]\n"
             "\n"
             "The stacks whose in-use heap grew most (GET /api/v1/sources/{id}/heap/growth): the\n"
             "source's latest heap profile of the last D against its latest one of the D before,\n"
             "compared stack by stack like go tool pprof -base.\n"
             "\n"
             "  --source ID     the source (meanwhile's id, as /api/v1/sources lists them)\n"
             "  --shard URL     with several shards (a front started with --peers): the shard whose\n"
             "                  source id it is, as the shard field of a timeline names it\n"
             "  --since D       the window of each side (default 1h)\n"
             "  --limit N       stacks to list, 1 to 1000 (default 20)\n"
             "  --json          print the server's answer unchanged\n"
             "  --url URL       the server (default $MEANWHILE_URL, else http://127.0.0.1:4318)\n");
}

enum { URL_MAX = 8192 };

int cli_cmd_heap_growth(int argc, char **argv) {
  static const struct option longopts[] = {
      {"source", required_argument, NULL, 's'}, {"since", required_argument, NULL, 'S'},
      {"limit", required_argument, NULL, 'l'},  {"json", no_argument, NULL, 'j'},
      {"url", required_argument, NULL, 'u'},    {"shard", required_argument, NULL, 'H'},
      {"help", no_argument, NULL, 'h'},         {0}};
  const char *url_flag = NULL, *shard = NULL, *source_s = NULL, *since_s = "1h", *limit_s = "20";
  int raw = 0, c;
  int64_t since = 0;
  while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    switch (c) {
    case 's': source_s = optarg; break;
    case 'S': since_s = optarg; break;
    case 'l': limit_s = optarg; break;
    case 'j': raw = 1; break;
    case 'u': url_flag = optarg; break;
    case 'H': shard = optarg; break;
    case 'h': cli_usage_heap_growth(stdout); return 0;
    default: return cli_bad_option("heap-growth", c, argv);
    }
  }
  if (optind < argc) return cli_bad_usage("heap-growth", "unexpected argument '%s'", argv[optind]);
  char *end = NULL;
  long long source = source_s ? strtoll(source_s, &end, 10) : 0;
  if (!source_s || !*source_s || *end || source < 1)
    return cli_bad_usage("heap-growth", "%s", "needs --source ID, a positive integer");
  long limit = strtol(limit_s, &end, 10);
  if (!*limit_s || *end || limit < 1 || limit > 1000)
    return cli_bad_usage("heap-growth", "--limit must be 1 to 1000, not '%s'", limit_s);
  if (cli_parse_duration(since_s, &since) || since < 1000000000)
    return cli_bad_usage("heap-growth", "--since takes a duration of a second or more like 1h or 30m, not '%s'",
                         since_s);
  char base[URL_MAX], url[URL_MAX + 256], num[16];
  int rc = cli_server_base("heap-growth", url_flag, base, sizeof base);
  if (rc) return rc;
  snprintf(num, sizeof num, "%ld", limit);
  if (cli_heap_growth_url(url, sizeof url, base, source, since, (int64_t)time(NULL)) ||
      cli_url_add_param(url, sizeof url, "limit", num) || (shard && cli_url_add_param(url, sizeof url, "shard", shard)))
    return cli_bad_usage("heap-growth", "%s", "the arguments make too long a URL");
  cli_response r = {0};
  rc = cli_fetch(base, url, NULL, &r);
  if (rc) return rc;
  rc = cli_print_answer(&r, raw, cli_render_heap_growth, "heap growth");
  cli_response_free(&r);
  return rc;
}

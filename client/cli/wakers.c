/* `meanwhile wakers --service S --operation O`: asks GET /api/v1/wakers for
 * the operation's spans of the last --since and prints who ended their
 * waits: the answer's summary, then one line per waker, most wait time
 * first (share of the slow spans' blocked time, slow spans woken, waits,
 * their total and p50, the reason with most time, who), and the top one's
 * longest wait as a command to explain it. --json prints the server's answer
 * unchanged. */
#include "wakers.h"
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { URL_MAX = 8192 };

void cli_usage_wakers(FILE *f) {
  fprintf(f, "Usage: meanwhile wakers --service S --operation O [--since 1h] [--limit N] [--json] [--url URL]\n"
             "\n"
             "Which operations' spans keep waking (or releasing) the slow spans of operation O of\n"
             "service S (GET /api/v1/wakers): over its spans at or above its p90 that a stored\n"
             "execution trace covers, every blocked interval of their goroutines is followed to the\n"
             "goroutine that woke it and that goroutine's span; one line per waker, most wait first.\n"
             "\n"
             "  --service S     the service (required)\n"
             "  --operation O   the operation, a span name (required)\n"
             "  --since D       spans that started in the last D (default 1h)\n"
             "  --limit N       follow at most N slow spans, 1-200 (default 50)\n"
             "  --json          print the server's answer unchanged\n"
             "  --url URL       the server (default: $MEANWHILE_URL, else http://127.0.0.1:4318)\n");
}

static void ms(char *buf, size_t size, json_int_t ns) { snprintf(buf, size, "%.1f ms", (double)ns / 1e6); }

/* The reason of a waker with the most wait time. */
static const char *main_reason(const json_t *w) {
  const char *best = "", *k;
  json_int_t best_ns = -1;
  json_t *v;
  json_object_foreach((json_t *)json_object_get(w, "by_reason"), k, v) {
    json_int_t ns = json_integer_value(json_object_get(v, "wait_ns"));
    if (ns > best_ns) best_ns = ns, best = k;
  }
  return best;
}

int cli_render_wakers(FILE *out, const json_t *j, const cli_render_opts *o) {
  const json_t *list = json_object_get(j, "wakers");
  const char *summary = json_string_value(json_object_get(j, "summary"));
  if (!json_is_array(list) || !summary) return CLI_RENDER_ESHAPE;
  fprintf(out, "%s\n", summary);
  if (!json_array_size(list)) return CLI_RENDER_OK;
  fprintf(out, "\n%6s %6s %6s %11s %11s  %-8s %s\n", "SHARE", "SPANS", "WAITS", "WAIT", "P50", "REASON", "WOKEN BY");
  int room = (o->width < CLI_RENDER_MIN_WIDTH ? CLI_RENDER_MIN_WIDTH : o->width) - 55;
  size_t i;
  json_t *w;
  json_array_foreach(list, i, w) {
    char total[32], p50[32];
    ms(total, sizeof total, json_integer_value(json_object_get(w, "wait_ns")));
    ms(p50, sizeof p50, json_integer_value(json_object_get(w, "p50_wait_ns")));
    const char *label = json_string_value(json_object_get(w, "label"));
    fprintf(out, "%5.0f%% %6lld %6lld %11s %11s  %-8.8s %.*s\n", 100 * json_number_value(json_object_get(w, "share")),
            (long long)json_integer_value(json_object_get(w, "slow_spans")),
            (long long)json_integer_value(json_object_get(w, "waits")), total, p50, main_reason(w), room,
            label ? label : "?");
  }
  const json_t *ex = json_object_get(json_array_get(list, 0), "example");
  const char *trace = json_string_value(json_object_get(ex, "trace_id")),
             *span = json_string_value(json_object_get(ex, "span_id"));
  if (trace && span) {
    char wait[32];
    ms(wait, sizeof wait, json_integer_value(json_object_get(ex, "wait_ns")));
    fprintf(out, "\nThe longest wait of the first: %s in span %s; see: meanwhile explain %s\n", wait, span, trace);
  }
  return CLI_RENDER_OK;
}

int cli_cmd_wakers(int argc, char **argv) {
  static const struct option longopts[] = {
      {"service", required_argument, NULL, 's'}, {"operation", required_argument, NULL, 'o'},
      {"since", required_argument, NULL, 'S'},   {"limit", required_argument, NULL, 'l'},
      {"json", no_argument, NULL, 'j'},          {"url", required_argument, NULL, 'u'},
      {"help", no_argument, NULL, 'h'},          {0}};
  const char *url_flag = NULL, *service = NULL, *op = NULL, *since_s = "1h", *limit = NULL;
  int raw = 0, c;
  while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    switch (c) {
    case 's': service = optarg; break;
    case 'o': op = optarg; break;
    case 'S': since_s = optarg; break;
    case 'l': limit = optarg; break;
    case 'j': raw = 1; break;
    case 'u': url_flag = optarg; break;
    case 'h': cli_usage_wakers(stdout); return 0;
    default: return cli_bad_option("wakers", c, argv);
    }
  }
  if (optind < argc) return cli_bad_usage("wakers", "unexpected argument '%s'", argv[optind]);
  if (!service || !*service) return cli_bad_usage("wakers", "%s", "needs --service");
  if (!op || !*op) return cli_bad_usage("wakers", "%s", "needs --operation");
  int64_t since;
  if (cli_parse_duration(since_s, &since))
    return cli_bad_usage("wakers", "--since takes a duration like 1h or 30m, not '%s'", since_s);
  char base[URL_MAX], url[URL_MAX + 128], num[32];
  int rc = cli_server_base("wakers", url_flag, base, sizeof base);
  if (rc) return rc;
  snprintf(url, sizeof url, "%s/api/v1/wakers", base);
  int64_t start = (int64_t)time(NULL) - since / 1000000000;
  snprintf(num, sizeof num, "%lld", (long long)(start > 0 ? start : 0));
  int too_long = cli_url_add_param(url, sizeof url, "service", service);
  too_long |= cli_url_add_param(url, sizeof url, "name", op);
  too_long |= cli_url_add_param(url, sizeof url, "start", num);
  if (limit) too_long |= cli_url_add_param(url, sizeof url, "limit", limit); /* the server says what it takes */
  if (too_long) return cli_bad_usage("wakers", "%s", "the arguments make too long a URL");
  cli_response r = {0};
  if ((rc = cli_fetch(base, url, NULL, &r))) return rc;
  rc = cli_print_answer(&r, raw, cli_render_wakers, "wakers answer");
  cli_response_free(&r);
  return rc;
}

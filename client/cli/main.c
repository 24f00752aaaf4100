/* meanwhile: the command-line client of meanwhiled. This file reads the
 * arguments, asks the server (http.c) and hands the answer to the renderer
 * (render.c) or, with --json, to stdout unchanged. Commands:
 *
 *   explain <trace-id>   where a trace's time went, span by span, and why
 *   slow --service S     the slowest recent traces of a service
 *   push <kind> FILE     send spans or runtime data (push.c, on libmeanwhile)
 *   wakers --service S --operation O   who wakes an operation's slow spans (wakers.c)
 *   heap-growth --source ID   the stacks whose heap grew (heap_growth.c)
 *   leaks, gc            what keeps growing in a source (growth.c)
 *
 * Exit status: 0 done; 1 the server answered with an error (or an answer that
 * cannot be read, or the output cannot be written); 2 the server cannot be
 * reached; 64 bad usage. */
#include <ctype.h>
#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "growth.h"
#include "heap_growth.h"
#include "http.h"
#include "push.h"
#include "render.h"
#include "wakers.h"

#ifndef MW_VERSION
#define MW_VERSION "unknown"
#endif

enum cli_exit {
  CLI_EXIT_OK = 0,
  CLI_EXIT_FAIL = 1,    /* the server said no, or its answer or our output failed */
  CLI_EXIT_CONNECT = 2, /* no answer from the server */
  CLI_EXIT_USAGE = 64,  /* EX_USAGE of sysexits.h */
};

#define DEFAULT_URL "http://127.0.0.1:4318"
#define DEFAULT_WIDTH 100
#define MAX_BODY ((size_t)256 << 20) /* the server's own cap on an answer */
#define TIMEOUT_MS 120000L           /* explaining a large trace takes a while */
#define URL_MAX 8192

static const char *const prog = "meanwhile";

/* --- usage ------------------------------------------------------------------------- */

static void usage(FILE *f) {
  fprintf(f,
          "Usage: %s <command> [options]\n"
          "\n"
          "Asks meanwhiled why a request was slow.\n"
          "\n"
          "Commands:\n"
          "  explain <trace-id>   where a trace's time went, span by span, with the causes\n"
          "  heap-growth --source ID  the stacks whose heap grew in the last hour (--since)\n"
          "  slow --service S     the slowest traces of a service, one per line\n"
          "  push <kind> FILE     send spans or Go runtime data (a profile, a dump, gctrace lines)\n"
          "  wakers --service S --operation O   who wakes the operation's slow spans\n"
          "  leaks --source ID    goroutine stacks that keep growing in a source (leak suspects)\n"
          "  gc --source ID       GC pressure of a source over time, and the operations it costs\n"
          "\n"
          "Options of every command:\n"
          "  --url URL     the server (default: $MEANWHILE_URL, else %s)\n"
          "  --json        print the server's JSON answer unchanged\n"
          "  -h, --help    help on the command\n"
          "\n"
          "  %s --version   print the version\n"
          "\n"
          "Exit status: 0 done, 1 the server answered with an error, 2 the server cannot be\n"
          "reached, 64 bad usage. Colours are off when stdout is not a terminal or NO_COLOR is set.\n",
          prog, DEFAULT_URL, prog);
}

static void usage_explain(FILE *f) {
  fprintf(f,
          "Usage: %s explain <trace-id> [--json] [--url URL]\n"
          "\n"
          "Explains where the time of a trace went (GET /api/v1/traces/{id}/explain): a summary,\n"
          "the spans as a tree with their durations, self times and breakdowns (cpu, gc,\n"
          "blocked by kind, runnable, children, unknown), then for each span whose time is not\n"
          "mostly in its children the causes with their evidence: stacks, goroutine snapshots,\n"
          "GC cycles, CPU samples. Causes marked \"(from similar spans)\" are judged from slow\n"
          "spans of the same operation, not from the span's own samples; \"(execution trace)\"\n"
          "from a stored Go execution trace, with the goroutines' intervals and, for a wait, its\n"
          "chain: who released or woke it (goroutine, span, trace), at which stack, and what\n"
          "that goroutine had itself waited for, one link per indent.\n"
          "\n"
          "  <trace-id>    32 hex digits\n"
          "  --json        print the server's answer unchanged\n"
          "  --url URL     the server (default: $MEANWHILE_URL, else %s)\n",
          prog, DEFAULT_URL);
}

static void usage_slow(FILE *f) {
  fprintf(f,
          "Usage: %s slow --service S [--name N] [--since 1h] [--min DURATION] [--limit N]\n"
          "                      [--json] [--url URL]\n"
          "\n"
          "Lists the traces having a span of service S (GET /api/search), one per line: trace id,\n"
          "root service and span name, start (RFC 3339, UTC), the trace's duration. They come\n"
          "slowest first by their matching span: with --name, that span can be slower or faster\n"
          "than others of the same trace, so the trace durations need not be in order.\n"
          "\n"
          "  --service S     the service (required)\n"
          "  --name N        only spans with this name\n"
          "  --since D       spans that started in the last D (default 1h)\n"
          "  --min D         only spans at least this long\n"
          "  --limit N       at most N traces, 1-1000 (default 20)\n"
          "  --json          print the server's answer unchanged\n"
          "  --url URL       the server (default: $MEANWHILE_URL, else %s)\n"
          "\n"
          "Durations are Go's: 250ms, 1.5s, 2m, 1h30m (and 7d for days).\n",
          prog, DEFAULT_URL);
}

/* --- arguments --------------------------------------------------------------------- */

/* A Go duration ("250ms", "1.5s", "1h30m", "800us") or days ("7d"). Returns 0
 * or -1; negative and absurdly large values are refused. */
static int parse_duration(const char *s, int64_t *out) {
  static const struct {
    const char *unit;
    double ns;
  } units[] = {{"ns", 1},  {"us", 1e3}, {"\xC2\xB5s", 1e3}, {"\xCE\xBCs", 1e3}, {"ms", 1e6},
               {"s", 1e9}, {"m", 60e9}, {"h", 3600e9},      {"d", 86400e9}};
  double total = 0;
  if (!*s) return -1;
  while (*s) {
    if (!isdigit((unsigned char)*s) && *s != '.') return -1;
    char *end;
    double v = strtod(s, &end);
    if (end == s) return -1;
    s = end;
    size_t best = 0, best_len = 0; /* the longest unit that matches: "ms" before "m" */
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
      size_t n = strlen(units[i].unit);
      if (n > best_len && strncmp(s, units[i].unit, n) == 0) best = i, best_len = n;
    }
    if (!best_len) return -1;
    s += best_len;
    total += v * units[best].ns;
  }
  if (!(total >= 0 && total < 4e18)) return -1;
  *out = (int64_t)total;
  return 0;
}

static int parse_limit(const char *s, int *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (end == s || *end || v < 1 || v > 1000) return -1;
  *out = (int)v;
  return 0;
}

/* Lower-cases a trace id in place; -1 unless it is 32 hex digits. */
static int check_trace_id(char *id) {
  size_t n = strlen(id);
  if (n != 32) return -1;
  for (size_t i = 0; i < n; i++) {
    if (!isxdigit((unsigned char)id[i])) return -1;
    id[i] = (char)tolower((unsigned char)id[i]);
  }
  return 0;
}

/* The server's base URL, without trailing slashes, into buf; -1 when it is
 * not an http(s) URL or does not fit. */
static int base_url(const char *flag, char *buf, size_t size) {
  const char *u = flag ? flag : getenv("MEANWHILE_URL");
  if (!u || !*u) u = DEFAULT_URL;
  if (strncasecmp(u, "http://", 7) != 0 && strncasecmp(u, "https://", 8) != 0) return -1;
  size_t n = strlen(u);
  while (n > 8 && u[n - 1] == '/') n--;
  if (n >= size) return -1;
  memcpy(buf, u, n);
  buf[n] = '\0';
  return 0;
}

/* Reports bad usage of cmd on stderr; returns CLI_EXIT_USAGE. */
static int bad_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad_usage(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s %s: ", prog, cmd);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\nTry '%s %s --help'.\n", prog, cmd);
  va_end(ap);
  return CLI_EXIT_USAGE;
}

/* The server's base URL into base, or bad usage reported for cmd. */
static int server_base(const char *cmd, const char *url_flag, char *base, size_t size) {
  if (!base_url(url_flag, base, size)) return CLI_EXIT_OK;
  return bad_usage(cmd, "the server URL must start with http:// or https:// (%s)",
                   url_flag ? "--url" : "MEANWHILE_URL");
}

/* Reports what getopt_long refused (opterr is 0, the optstring starts with ':'). */
static int bad_option(const char *cmd, int c, char **argv) {
  const char *arg = argv[optind - 1];
  if (c == ':') return bad_usage(cmd, "option '%s' needs a value", arg);
  return bad_usage(cmd, "unknown option '%s'", arg);
}

/* --- output ----------------------------------------------------------------------- */

static cli_render_opts render_opts(void) {
  cli_render_opts o = {.width = DEFAULT_WIDTH, .color = 0};
  if (!isatty(STDOUT_FILENO)) return o;
  struct winsize ws;
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) o.width = ws.ws_col;
  const char *no_color = getenv("NO_COLOR"), *term = getenv("TERM");
  o.color = !(no_color && *no_color) && !(term && strcmp(term, "dumb") == 0);
  return o;
}

/* Prints a server-provided message with control characters replaced. */
static void put_clean(FILE *f, const char *s, size_t max) {
  for (size_t i = 0; s[i] && i < max; i++) fputc((unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i], f);
}

/* GETs url from the server at base. Returns CLI_EXIT_OK with a 2xx answer in
 * *r (the caller frees it), else reports on stderr and returns the exit code.
 * not_found, when set, is the message for a 404 without one of its own. */
static int fetch(const char *base, const char *url, const char *not_found, cli_response *r) {
  char err[CURL_ERROR_SIZE + 64];
  int rc = cli_http_get(url, MAX_BODY, TIMEOUT_MS, r, err, sizeof err);
  if (rc == CLI_HTTP_ECONNECT) {
    fprintf(stderr, "%s: cannot reach meanwhiled at %s: %s\n", prog, base, err);
    return CLI_EXIT_CONNECT;
  }
  if (rc) {
    fprintf(stderr, "%s: %s (from %s)\n", prog, err, url);
    return CLI_EXIT_FAIL;
  }
  if (r->status >= 200 && r->status < 300) return CLI_EXIT_OK;

  json_t *j = json_loadb(r->body, r->len, 0, NULL);
  const char *msg = json_string_value(json_object_get(j, "error"));
  fprintf(stderr, "%s: ", prog);
  if (msg) put_clean(stderr, msg, 1000);
  else if (r->status == 404 && not_found) fputs(not_found, stderr);
  else if (r->len) put_clean(stderr, r->body, strcspn(r->body, "\r\n") < 200 ? strcspn(r->body, "\r\n") : 200);
  else fputs("the server answered with an error", stderr);
  fprintf(stderr, " (HTTP %ld)\n", r->status);
  json_decref(j);
  cli_response_free(r);
  return CLI_EXIT_FAIL;
}

/* Writes the answer: the raw body with --json, else the rendering. */
static int print_answer(const cli_response *r, int raw, int (*render)(FILE *, const json_t *, const cli_render_opts *),
                        const char *what) {
  if (raw) {
    fwrite(r->body, 1, r->len, stdout);
    /* the bytes are the server's; a terminal also gets the prompt back on its own line */
    if (isatty(STDOUT_FILENO) && r->len && r->body[r->len - 1] != '\n') fputc('\n', stdout);
  } else {
    json_error_t jerr;
    json_t *j = json_loadb(r->body, r->len, 0, &jerr);
    if (!j) {
      fprintf(stderr, "%s: the server's %s is not JSON: %s (line %d)\n", prog, what, jerr.text, jerr.line);
      return CLI_EXIT_FAIL;
    }
    cli_render_opts o = render_opts();
    int rc = render(stdout, j, &o);
    json_decref(j);
    if (rc == CLI_RENDER_ESHAPE) {
      fprintf(stderr, "%s: the server's %s does not have the expected shape\n", prog, what);
      return CLI_EXIT_FAIL;
    }
    if (rc) {
      fprintf(stderr, "%s: out of memory\n", prog);
      return CLI_EXIT_FAIL;
    }
  }
  if (fflush(stdout) || ferror(stdout)) {
    fprintf(stderr, "%s: cannot write the output\n", prog);
    return CLI_EXIT_FAIL;
  }
  return CLI_EXIT_OK;
}

/* --- commands --------------------------------------------------------------------- */

static int cmd_explain(int argc, char **argv) {
  static const struct option longopts[] = {
      {"json", no_argument, NULL, 'j'}, {"url", required_argument, NULL, 'u'}, {"help", no_argument, NULL, 'h'}, {0}};
  const char *url_flag = NULL;
  int raw = 0, c;
  while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    switch (c) {
    case 'j': raw = 1; break;
    case 'u': url_flag = optarg; break;
    case 'h': usage_explain(stdout); return CLI_EXIT_OK;
    default: return bad_option("explain", c, argv);
    }
  }
  if (optind >= argc) return bad_usage("explain", "%s", "needs a trace id");
  if (optind + 1 < argc) return bad_usage("explain", "unexpected argument '%s'", argv[optind + 1]);
  char *id = argv[optind];
  if (check_trace_id(id)) return bad_usage("explain", "a trace id is 32 hex digits, not '%s'", id);
  char base[URL_MAX], url[URL_MAX + 128];
  int rc = server_base("explain", url_flag, base, sizeof base);
  if (rc) return rc;
  snprintf(url, sizeof url, "%s/api/v1/traces/%s/explain", base, id);

  char not_found[64];
  snprintf(not_found, sizeof not_found, "trace %s not found", id);
  cli_response r = {0};
  rc = fetch(base, url, not_found, &r);
  if (rc) return rc;
  rc = print_answer(&r, raw, cli_render_explain, "explanation");
  cli_response_free(&r);
  return rc;
}

static int cmd_slow(int argc, char **argv) {
  static const struct option longopts[] = {{"service", required_argument, NULL, 's'},
                                           {"name", required_argument, NULL, 'n'},
                                           {"since", required_argument, NULL, 'S'},
                                           {"min", required_argument, NULL, 'm'},
                                           {"limit", required_argument, NULL, 'l'},
                                           {"json", no_argument, NULL, 'j'},
                                           {"url", required_argument, NULL, 'u'},
                                           {"help", no_argument, NULL, 'h'},
                                           {0}};
  const char *url_flag = NULL, *service = NULL, *name = NULL, *since_s = "1h", *min_s = NULL;
  int raw = 0, limit = 20, c;
  int64_t since = 0, min = 0;
  while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    switch (c) {
    case 's': service = optarg; break;
    case 'n': name = optarg; break;
    case 'S': since_s = optarg; break;
    case 'm': min_s = optarg; break;
    case 'l':
      if (parse_limit(optarg, &limit)) return bad_usage("slow", "--limit must be 1 to 1000, not '%s'", optarg);
      break;
    case 'j': raw = 1; break;
    case 'u': url_flag = optarg; break;
    case 'h': usage_slow(stdout); return CLI_EXIT_OK;
    default: return bad_option("slow", c, argv);
    }
  }
  if (optind < argc) return bad_usage("slow", "unexpected argument '%s'", argv[optind]);
  if (!service || !*service) return bad_usage("slow", "%s", "needs --service");
  if (parse_duration(since_s, &since))
    return bad_usage("slow", "--since takes a duration like 1h or 30m, not '%s'", since_s);
  if (min_s && parse_duration(min_s, &min))
    return bad_usage("slow", "--min takes a duration like 250ms, not '%s'", min_s);
  char base[URL_MAX], url[URL_MAX + 128], num[32];
  int rc = server_base("slow", url_flag, base, sizeof base);
  if (rc) return rc;
  snprintf(url, sizeof url, "%s/api/search", base);
  int64_t start = (int64_t)time(NULL) - since / 1000000000;
  snprintf(num, sizeof num, "%lld", (long long)(start > 0 ? start : 0));
  int too_long = cli_url_add_param(url, sizeof url, "service", service);
  too_long |= cli_url_add_param(url, sizeof url, "start", num);
  if (name) too_long |= cli_url_add_param(url, sizeof url, "name", name);
  if (min_s) {
    snprintf(num, sizeof num, "%lldns", (long long)min); /* normalised: the server knows no days */
    too_long |= cli_url_add_param(url, sizeof url, "minDuration", num);
  }
  snprintf(num, sizeof num, "%d", limit);
  too_long |= cli_url_add_param(url, sizeof url, "limit", num);
  if (too_long) return bad_usage("slow", "%s", "the arguments make too long a URL");

  cli_response r = {0};
  rc = fetch(base, url, NULL, &r);
  if (rc) return rc;
  rc = print_answer(&r, raw, cli_render_search, "search answer");
  if (!rc && !raw) { /* say why the list is empty, on stderr: stdout stays a list */
    json_t *j = json_loadb(r.body, r.len, 0, NULL);
    if (json_array_size(json_object_get(j, "traces")) == 0) {
      fprintf(stderr, "%s: no trace of service '", prog);
      put_clean(stderr, service, 200);
      if (name) {
        fputs("' with a span named '", stderr);
        put_clean(stderr, name, 200);
      }
      fputs("' in the last ", stderr);
      put_clean(stderr, since_s, 40);
      if (min_s) {
        fputs(" at least ", stderr);
        put_clean(stderr, min_s, 40);
      }
      fputc('\n', stderr);
    }
    json_decref(j);
  }
  cli_response_free(&r);
  return rc;
}

/* --- what other commands' files share (cli.h) ---------------------------------------- */

int cli_parse_duration(const char *s, int64_t *out) { return parse_duration(s, out); }

int cli_server_base(const char *cmd, const char *url_flag, char *base, size_t size) {
  return server_base(cmd, url_flag, base, size);
}

int cli_bad_usage(const char *cmd, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return bad_usage(cmd, "%s", msg);
}

int cli_bad_option(const char *cmd, int c, char **argv) { return bad_option(cmd, c, argv); }

int cli_fetch(const char *base, const char *url, const char *not_found, cli_response *r) {
  return fetch(base, url, not_found, r);
}

int cli_print_answer(const cli_response *r, int raw, int (*render)(FILE *, const json_t *, const cli_render_opts *),
                     const char *what) {
  return print_answer(r, raw, render, what);
}

int main(int argc, char **argv) {
  int ret = CLI_EXIT_USAGE, curl_ready = 0;
  const char *cmd = argc > 1 ? argv[1] : NULL;

  if (!cmd) {
    usage(stderr);
    goto out;
  }
  if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
    usage(stdout);
    ret = CLI_EXIT_OK;
    goto out;
  }
  if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
    printf("%s %s (libcurl %s, jansson %s)\n", prog, MW_VERSION, curl_version_info(CURLVERSION_NOW)->version,
           jansson_version_str());
    ret = CLI_EXIT_OK;
    goto out;
  }
  if (strcmp(cmd, "help") == 0) {
    const char *topic = argc > 2 ? argv[2] : "";
    if (strcmp(topic, "explain") == 0) usage_explain(stdout);
    else if (strcmp(topic, "slow") == 0) usage_slow(stdout);
    else if (strcmp(topic, "push") == 0) cli_usage_push(stdout);
    else if (strcmp(topic, "wakers") == 0) cli_usage_wakers(stdout);
    else if (strcmp(topic, "heap-growth") == 0) cli_usage_heap_growth(stdout);
    else if (strcmp(topic, "leaks") == 0) cli_usage_leaks(stdout);
    else if (strcmp(topic, "gc") == 0) cli_usage_gc(stdout);
    else usage(stdout);
    ret = CLI_EXIT_OK;
    goto out;
  }
  int (*run)(int, char **) = strcmp(cmd, "explain") == 0       ? cmd_explain
                             : strcmp(cmd, "slow") == 0        ? cmd_slow
                             : strcmp(cmd, "push") == 0        ? cli_cmd_push
                             : strcmp(cmd, "wakers") == 0      ? cli_cmd_wakers
                             : strcmp(cmd, "heap-growth") == 0 ? cli_cmd_heap_growth
                             : strcmp(cmd, "leaks") == 0       ? cli_cmd_leaks
                             : strcmp(cmd, "gc") == 0          ? cli_cmd_gc
                                                               : NULL;
  if (!run) {
    fprintf(stderr, "%s: unknown command '%s'\n\n", prog, cmd);
    usage(stderr);
    goto out;
  }
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    fprintf(stderr, "%s: cannot initialise libcurl\n", prog);
    ret = CLI_EXIT_FAIL;
    goto out;
  }
  curl_ready = 1;
  opterr = 0;
  ret = run(argc - 1, argv + 1); /* the command's name is its argv[0] */

out:
  if (curl_ready) curl_global_cleanup();
  return ret;
}

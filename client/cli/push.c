/* `meanwhile push <kind> FILE`: one payload to meanwhiled through
 * libmeanwhile, the library meanwhile-agent sends with; `--flush` sends what a
 * spool directory holds. */
#include "push.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "meanwhile/client.h"

#define DEFAULT_URL "http://127.0.0.1:4318"
#define MAX_FILE ((size_t)256 << 20)

enum { PUSH_OK = 0, PUSH_FAIL = 1, PUSH_CONNECT = 2, PUSH_USAGE = 64 };

static const char *const prog = "meanwhile";

void cli_usage_push(FILE *f) {
  fprintf(f,
          "Usage: %s push <kind> FILE [--service S] [--instance I] [--time NS] [--duration NS]\n"
          "                      [--process-start NS] [--trigger REASON] [--encoding zstd|gzip|none]\n"
          "                      [--spool DIR] [--url URL]\n"
          "       %s push --flush --spool DIR [--url URL]\n"
          "\n"
          "Sends FILE ('-' for stdin) to meanwhiled, as the agent does: compressed, retried on\n"
          "429/502/503/504 and connection errors (honouring Retry-After), and with --spool kept in\n"
          "DIR when the server stays unreachable, to be sent later by `push --flush`.\n"
          "\n"
          "  <kind>              spans (an OTLP ExportTraceServiceRequest in protobuf: POST /v1/traces),\n"
          "                      or gctrace, schedtrace, goroutine, cpu, heap, allocs, mutex, block\n"
          "                      (POST /api/v1/ingest/<kind>: text or pprof as the Go runtime wrote it)\n"
          "  --service S         the service (required for runtime kinds; default $OTEL_SERVICE_NAME)\n"
          "  --instance I        the instance, as its spans name it (service.instance.id)\n"
          "  --time NS           capture start, unix ns\n"
          "  --duration NS       length of a windowed capture (a CPU profile), ns\n"
          "  --process-start NS  when the process started, unix ns: anchors gctrace offsets\n"
          "  --trigger REASON    mark the capture as taken on a trigger\n"
          "  --encoding E        zstd (default), gzip or none\n"
          "  --spool DIR         keep the payload in DIR when it cannot be delivered now\n"
          "  --flush             send what --spool DIR holds, oldest first, and stop\n"
          "  --url URL           the server (default: $MEANWHILE_URL, else %s)\n"
          "\n"
          "Prints the server's answer. Exit status: 0 delivered (or kept in the spool), 1 refused,\n"
          "2 the server cannot be reached, 64 bad usage.\n",
          prog, prog, DEFAULT_URL);
}

static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad_usage(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s push: ", prog);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\nTry '%s push --help'.\n", prog);
  va_end(ap);
  return PUSH_USAGE;
}

static int parse_ns(const char *s, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s || *end || v < 0) return -1;
  *out = v;
  return 0;
}

/* Reads all of path ('-': stdin) up to MAX_FILE; 0 or -1 with errno set. */
static int read_file(const char *path, char **data, size_t *len) {
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (!f) return -1;
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  int rc = -1;
  if (!buf) goto out;
  for (;;) {
    if (n == cap) {
      if (cap >= MAX_FILE) {
        errno = EFBIG;
        goto out;
      }
      char *p = realloc(buf, cap * 2);
      if (!p) goto out;
      buf = p;
      cap *= 2;
    }
    size_t r = fread(buf + n, 1, cap - n, f);
    n += r;
    if (r == 0) {
      if (ferror(f)) goto out;
      break;
    }
  }
  *data = buf;
  *len = n;
  buf = NULL;
  rc = 0;
out:
  free(buf);
  if (f != stdin) fclose(f);
  return rc;
}

/* Prints the server's answer to a delivered payload on stdout. */
static void print_answer(const char *body) {
  if (!body || !*body) return;
  fputs(body, stdout);
  if (body[strlen(body) - 1] != '\n') fputc('\n', stdout);
}

int cli_cmd_push(int argc, char **argv) {
  static const struct option longopts[] = {
      {"service", required_argument, NULL, 's'},  {"instance", required_argument, NULL, 'i'},
      {"time", required_argument, NULL, 't'},     {"duration", required_argument, NULL, 'd'},
      {"process-start", required_argument, NULL, 'p'}, {"trigger", required_argument, NULL, 'T'},
      {"encoding", required_argument, NULL, 'e'}, {"spool", required_argument, NULL, 'S'},
      {"flush", no_argument, NULL, 'F'},          {"url", required_argument, NULL, 'u'},
      {"help", no_argument, NULL, 'h'},           {0}};
  mw_runtime_params rp = {0};
  mw_client_options o;
  mw_client_options_init(&o);
  const char *url = NULL;
  int flush = 0, c, ret = PUSH_FAIL;
  while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    switch (c) {
    case 's': rp.service = optarg; break;
    case 'i': rp.instance = optarg; break;
    case 't':
      if (parse_ns(optarg, &rp.time_ns)) return bad_usage("--time takes unix nanoseconds, not '%s'", optarg);
      break;
    case 'd':
      if (parse_ns(optarg, &rp.duration_ns)) return bad_usage("--duration takes nanoseconds, not '%s'", optarg);
      break;
    case 'p':
      if (parse_ns(optarg, &rp.process_start_ns))
        return bad_usage("--process-start takes unix nanoseconds, not '%s'", optarg);
      break;
    case 'T': rp.trigger = optarg; break;
    case 'e':
      if (strcasecmp(optarg, "zstd") == 0) o.encoding = MW_ENCODING_ZSTD;
      else if (strcasecmp(optarg, "gzip") == 0) o.encoding = MW_ENCODING_GZIP;
      else if (strcasecmp(optarg, "none") == 0 || strcasecmp(optarg, "identity") == 0) o.encoding = MW_ENCODING_IDENTITY;
      else return bad_usage("--encoding is zstd, gzip or none, not '%s'", optarg);
      break;
    case 'S': o.spool_dir = optarg; break;
    case 'F': flush = 1; break;
    case 'u': url = optarg; break;
    case 'h': cli_usage_push(stdout); return PUSH_OK;
    default:
      if (c == ':') return bad_usage("option '%s' needs a value", argv[optind - 1]);
      return bad_usage("unknown option '%s'", argv[optind - 1]);
    }
  }
  if (!url) url = getenv("MEANWHILE_URL");
  if (!url || !*url) url = DEFAULT_URL;
  if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
    return bad_usage("the server URL must start with http:// or https:// (%s)", url);
  o.url = url;
  o.user_agent = "meanwhile-cli";

  const char *kind = NULL, *path = NULL;
  if (flush) {
    if (!o.spool_dir) return bad_usage("%s", "--flush needs --spool DIR");
    if (optind < argc) return bad_usage("--flush takes no other argument ('%s')", argv[optind]);
  } else {
    if (argc - optind != 2) return bad_usage("%s", "needs a kind and a file (or '-')");
    kind = argv[optind];
    path = argv[optind + 1];
    if (strcmp(kind, "spans") != 0) {
      if (!rp.service) rp.service = getenv("OTEL_SERVICE_NAME");
      if (!rp.service || !*rp.service) return bad_usage("%s", "runtime data needs --service");
    }
  }

  char *data = NULL;
  size_t len = 0;
  mw_client *cl = NULL;
  if (path && read_file(path, &data, &len)) {
    fprintf(stderr, "%s push: cannot read %s: %s\n", prog, path, strerror(errno));
    goto out;
  }
  int rc = mw_client_new(&o, &cl);
  if (rc) {
    fprintf(stderr, "%s push: %s%s%s\n", prog, mw_strerror(rc), o.spool_dir ? ": " : "", o.spool_dir ? o.spool_dir : "");
    goto out;
  }
  if (flush) {
    mw_client_stats st;
    /* on while payloads go through; a server still down after a few seconds of retries ends it */
    while ((rc = mw_client_flush(cl, 5000)) == MW_ERR_AGAIN) {
      mw_client_stats_get(cl, &st);
      if (st.backoff_ms) break;
    }
    mw_client_stats_get(cl, &st);
    printf("delivered %llu, rejected %llu, left in the spool %llu\n", (unsigned long long)st.delivered,
           (unsigned long long)st.rejected, (unsigned long long)st.spool_files);
    ret = rc == 0 ? PUSH_OK : st.delivered || st.rejected ? PUSH_FAIL : PUSH_CONNECT;
    goto out;
  }
  rc = strcmp(kind, "spans") == 0 ? mw_client_push_spans(cl, data, len) : mw_client_push_runtime(cl, kind, data, len, &rp);
  const char *body = NULL;
  long status = mw_client_last_response(cl, &body);
  switch (rc) {
  case 0:
    print_answer(body);
    ret = PUSH_OK;
    break;
  case MW_PUSH_SPOOLED:
    fprintf(stderr, "%s push: the server did not take it (%s); kept in %s: send it later with '%s push --flush --spool %s'\n",
            prog, status ? "busy" : body, o.spool_dir, prog, o.spool_dir);
    ret = PUSH_OK;
    break;
  case MW_ERR_REJECTED:
    fprintf(stderr, "%s push: refused with HTTP %ld: %s\n", prog, status, body && *body ? body : "(no message)");
    ret = PUSH_FAIL;
    break;
  case MW_ERR_CONNECT:
    fprintf(stderr, "%s push: cannot reach meanwhiled at %s: %s\n", prog, url, body);
    ret = PUSH_CONNECT;
    break;
  case MW_ERR_RETRY:
    fprintf(stderr, "%s push: the server stayed busy (HTTP %ld) through every retry\n", prog, status);
    ret = PUSH_FAIL;
    break;
  default:
    fprintf(stderr, "%s push: %s\n", prog, mw_strerror(rc));
    ret = rc == MW_ERR_INVAL ? PUSH_USAGE : PUSH_FAIL;
  }
out:
  mw_client_free(&cl);
  free(data);
  return ret;
}

/* `meanwhile push <kind> FILE`: one payload to meanwhiled through
 * libmeanwhile, the library meanwhile-agent sends with; `--flush` sends what a
 * spool directory holds. A file of spans is an OTLP request in protobuf, or
 * OTLP JSON requests one after the other (one a line, as exporters' file
 * outputs write them), each sent as a request of its own. Every answer is
 * printed as one line of JSON, whichever encoding was sent. */
#include "push.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "meanwhile/client.h"
#include "pbwire.h"

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
          "  <kind>              spans (POST /v1/traces: an OTLP ExportTraceServiceRequest in protobuf,\n"
          "                      or OTLP JSON requests, one a line, each sent on its own),\n"
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
          "Prints the server's answer to each request, one line of JSON each. Exit status: 0 delivered\n"
          "(or kept in the spool), 1 refused (any of a file's requests), 2 the server cannot be reached,\n"
          "64 bad usage.\n",
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

/* --- answers in protobuf ----------------------------------------------------------- */

/* The server answers a protobuf request in protobuf. The body comes from
 * mw_client_last_response, NUL-terminated: the messages read here hold no NUL
 * byte (their numbers are not 0, their strings are text). */

/* Finds field (the last one, as protobuf has it) in the message m..end: a
 * varint into *num, or a length-delimited value into *val and *vlen. 1 found, 0
 * not there, -1 when m is no protobuf message. */
static int pb_field(const uint8_t *m, const uint8_t *end, unsigned field, uint64_t *num, const uint8_t **val,
                    size_t *vlen) {
  int found = 0;
  while (m < end) {
    uint64_t key, v;
    if (mw__pb_varint(&m, end, &key) || key >> 3 == 0) return -1;
    switch (key & 7) {
    case 0:
      if (mw__pb_varint(&m, end, &v)) return -1;
      if (key >> 3 == field) *num = v, found = 1;
      break;
    case 1:
    case 5:
      if (mw__pb_skip(&m, end, key & 7)) return -1;
      break;
    case 2:
      if (mw__pb_varint(&m, end, &v) || v > (uint64_t)(end - m)) return -1;
      if (key >> 3 == field) *val = m, *vlen = (size_t)v, found = 1;
      m += v;
      break;
    default: return -1;
    }
  }
  return found;
}

/* An ExportTraceServiceResponse as OTLP JSON writes it: {} or
 * {"partialSuccess":{"rejectedSpans":"N","errorMessage":"..."}}; NULL when
 * body is not one. The caller frees it. */
static char *traces_response_json(const char *body) {
  const uint8_t *b = (const uint8_t *)body, *end = b + strlen(body), *ps = NULL, *msg = NULL;
  size_t ps_len = 0, msg_len = 0;
  uint64_t none = 0, rejected = 0;
  if (pb_field(b, end, 1, &none, &ps, &ps_len) < 0) return NULL;
  json_t *o = json_object();
  if (ps) {
    if (pb_field(ps, ps + ps_len, 1, &rejected, &msg, &msg_len) < 0 ||
        pb_field(ps, ps + ps_len, 2, &none, &msg, &msg_len) < 0) {
      json_decref(o);
      return NULL;
    }
    char n[24];
    snprintf(n, sizeof n, "%llu", (unsigned long long)rejected);
    json_object_set_new(
        o, "partialSuccess",
        json_pack("{s:s, s:s%}", "rejectedSpans", n, "errorMessage", msg ? (const char *)msg : "", msg ? msg_len : 0));
  }
  char *out = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  return out;
}

/* The message of a google.rpc.Status (the server's refusal of a protobuf
 * request), copied into out; 0, or -1 when body is not one. */
static int status_message(const char *body, char *out, size_t size) {
  const uint8_t *b = (const uint8_t *)body, *msg = NULL;
  size_t len = 0;
  uint64_t none;
  if (!*body || pb_field(b, b + strlen(body), 2, &none, &msg, &len) != 1) return -1;
  snprintf(out, size, "%.*s", (int)len, (const char *)msg);
  return 0;
}

/* Prints the server's answer to a delivered payload on stdout, one line. */
static void print_answer(const char *body, int protobuf) {
  char *json = protobuf && body ? traces_response_json(body) : NULL;
  const char *text = json ? json : body && *body ? body : "{}";
  size_t n = strlen(text);
  while (n && (text[n - 1] == '\n' || text[n - 1] == '\r')) n--;
  printf("%.*s\n", (int)n, text);
  free(json);
}

/* What a push came to, told on stdout (the answer) or stderr; where is "" or
 * "FILE:LINE: " for one of a file's requests. Returns the exit status. */
static int report(mw_client *cl, int rc, int protobuf, const char *where, const mw_client_options *o) {
  const char *body = NULL;
  char msg[1024];
  long status = mw_client_last_response(cl, &body);
  switch (rc) {
  case 0: print_answer(body, protobuf); return PUSH_OK;
  case MW_PUSH_SPOOLED:
    fprintf(stderr,
            "%s push: %sthe server did not take it (%s); kept in %s: send it later with '%s push --flush --spool %s'\n",
            prog, where, status ? "busy" : body, o->spool_dir, prog, o->spool_dir);
    return PUSH_OK;
  case MW_ERR_REJECTED:
    if (!protobuf || !body || status_message(body, msg, sizeof msg))
      snprintf(msg, sizeof msg, "%s", body && *body ? body : "(no message)");
    fprintf(stderr, "%s push: %srefused with HTTP %ld: %s\n", prog, where, status, msg);
    return PUSH_FAIL;
  case MW_ERR_CONNECT:
    fprintf(stderr, "%s push: %scannot reach meanwhiled at %s: %s\n", prog, where, o->url, body);
    return PUSH_CONNECT;
  case MW_ERR_RETRY:
    fprintf(stderr, "%s push: %sthe server stayed busy (HTTP %ld) through every retry\n", prog, where, status);
    return PUSH_FAIL;
  default:
    fprintf(stderr, "%s push: %s%s\n", prog, where, mw_strerror(rc));
    return rc == MW_ERR_INVAL ? PUSH_USAGE : PUSH_FAIL;
  }
}

/* --- a file of spans -------------------------------------------------------------------- */

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Whether spans are OTLP JSON: the first byte that is no blank is '{' and no
 * byte is a control character other than a blank. A protobuf request can begin
 * with '{' after a blank byte ("\n{": its first ResourceSpans is 123 bytes
 * long), but every protobuf request with spans holds bytes such as 0x12 (the
 * tag of ScopeSpans.spans), which text never does. */
static int looks_like_json(const char *d, size_t n) {
  size_t i = 0;
  while (i < n && is_space(d[i])) i++;
  if (i == n || d[i] != '{') return 0;
  for (; i < n; i++)
    if ((unsigned char)d[i] < 0x20 && !is_space(d[i])) return 0;
  return 1;
}

/* The end of the JSON object that starts at d[0] ('{'): strings are skipped,
 * braces counted. The offset just past it, or 0 when the object does not end. */
static size_t object_end(const char *d, size_t n) {
  size_t depth = 0;
  int in_string = 0;
  for (size_t i = 0; i < n; i++) {
    char c = d[i];
    if (in_string) {
      if (c == '\\') i++;
      else if (c == '"') in_string = 0;
    } else if (c == '"') {
      in_string = 1;
    } else if (c == '{' || c == '[') {
      depth++;
    } else if ((c == '}' || c == ']') && depth && --depth == 0) {
      return i + 1;
    }
  }
  return 0;
}

/* Sends each OTLP JSON object of d (one a line, or split over lines) as a
 * request of its own. The file is framed whole before anything is sent: one
 * whose objects do not end, or that holds something between them, sends
 * nothing. A request the server refuses does not stop the next ones; one that
 * cannot be delivered does (unless it went to the spool). */
static int push_json_spans(mw_client *cl, const char *path, const char *d, size_t n, const mw_client_options *o) {
  size_t line = 1, count = 0;
  for (size_t i = 0; i < n;) { /* framing */
    if (is_space(d[i])) {
      line += d[i++] == '\n';
      continue;
    }
    size_t len = d[i] == '{' ? object_end(d + i, n - i) : 0;
    if (!len) {
      fprintf(stderr, "%s push: %s:%zu: %s\n", prog, path, line,
              d[i] == '{' ? "this JSON object does not end" : "expected an OTLP JSON request ('{')");
      return PUSH_FAIL;
    }
    for (size_t k = i; k < i + len; k++) line += d[k] == '\n';
    i += len;
    count++;
  }
  int ret = PUSH_OK;
  line = 1;
  for (size_t i = 0; i < n;) {
    if (is_space(d[i])) {
      line += d[i++] == '\n';
      continue;
    }
    size_t len = object_end(d + i, n - i);
    char where[4200] = "";
    if (count > 1) snprintf(where, sizeof where, "%s:%zu: ", path, line);
    int r = report(cl, mw_client_push_spans_json(cl, d + i, len), 0, where, o);
    if (r > ret) ret = r;
    if (r == PUSH_CONNECT || r == PUSH_USAGE) break;
    for (size_t k = i; k < i + len; k++) line += d[k] == '\n';
    i += len;
  }
  return ret;
}

int cli_cmd_push(int argc, char **argv) {
  static const struct option longopts[] = {{"service", required_argument, NULL, 's'},
                                           {"instance", required_argument, NULL, 'i'},
                                           {"time", required_argument, NULL, 't'},
                                           {"duration", required_argument, NULL, 'd'},
                                           {"process-start", required_argument, NULL, 'p'},
                                           {"trigger", required_argument, NULL, 'T'},
                                           {"encoding", required_argument, NULL, 'e'},
                                           {"spool", required_argument, NULL, 'S'},
                                           {"flush", no_argument, NULL, 'F'},
                                           {"url", required_argument, NULL, 'u'},
                                           {"help", no_argument, NULL, 'h'},
                                           {0}};
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
      else if (strcasecmp(optarg, "none") == 0 || strcasecmp(optarg, "identity") == 0)
        o.encoding = MW_ENCODING_IDENTITY;
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
    fprintf(stderr, "%s push: %s%s%s\n", prog, mw_strerror(rc), o.spool_dir ? ": " : "",
            o.spool_dir ? o.spool_dir : "");
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
  if (strcmp(kind, "spans") != 0) ret = report(cl, mw_client_push_runtime(cl, kind, data, len, &rp), 0, "", &o);
  else if (looks_like_json(data, len)) ret = push_json_spans(cl, path, data, len, &o);
  else ret = report(cl, mw_client_push_spans(cl, data, len), 1, "", &o);
out:
  mw_client_free(&cl);
  free(data);
  return ret;
}

/* meanwhile-agent's configuration: one table of options, read from (in rising
 * precedence) the defaults, a --config file of `key = value` lines with the
 * flag names, MEANWHILE_* environment variables and the flags. The service's
 * identity also comes from OpenTelemetry's own variables, so that runtime data
 * and spans name the same source. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"

#ifndef MW_VERSION
#define MW_VERSION "unknown"
#endif

typedef enum opt_type { T_STR, T_INT, T_DOUBLE, T_DURATION, T_BYTES, T_BOOL, T_SPECIAL } opt_type;

typedef struct opt {
  const char *name;
  opt_type type;
  size_t off;
  const char *def; /* as text, parsed like any value; NULL: none */
  const char *metavar;
  const char *help;
} opt;

#define OFF(f) offsetof(agent_config, f)

/* Specials (no field): config, stdin, tail, compression,
 * log-level, tail-from, help, version. */
static const opt opts[] = {
    {"collector", T_STR, OFF(collector), "http://127.0.0.1:4318", "URL", "meanwhiled's base URL"},
    {"otlp-runtime", T_BOOL, OFF(otlp_runtime), "false", NULL,
     "send runtime data inside OTLP traces (POST /v1/traces, scope meanwhile.runtime, the\n"
     "service's service.name and service.instance.id) to --collector: for an OpenTelemetry\n"
     "Collector that routes each process to one of several meanwhiled shards, so that its\n"
     "runtime data goes where its spans go (docs/SHARDING.md)"},
    {"pprof", T_STR, OFF(pprof), "http://127.0.0.1:6060/debug/pprof", "URL", "the service's net/http/pprof base URL"},
    {"service", T_STR, OFF(service), NULL, "NAME",
     "the service, as its spans name it (default: $OTEL_SERVICE_NAME, else service.name in\n"
     "$OTEL_RESOURCE_ATTRIBUTES, else with run the command's name)"},
    {"instance", T_STR, OFF(instance), NULL, "ID",
     "the instance, as its spans name it (default: service.instance.id in\n"
     "$OTEL_RESOURCE_ATTRIBUTES; with run, when neither is set, <host>-<agent pid>, given to the\n"
     "service in OTEL_RESOURCE_ATTRIBUTES)"},
    {"config", T_SPECIAL, 0, NULL, "FILE", "read `key = value` lines (the flag names, no dashes) from FILE"},
    {"stdin", T_SPECIAL, 0, NULL, NULL,
     "read the service's stderr from standard input (a pipe); it is passed on to stderr"},
    {"tail", T_SPECIAL, 0, NULL, "FILE",
     "follow FILE, a log of the service's stderr (truncation and rotation are handled)"},
    {"tail-from", T_SPECIAL, 0, "end", "end|start",
     "where --tail starts in a FILE that exists when the agent starts (one that appears later,\n"
     "or replaces it, is read from its start)"},
    {"cpu-seconds", T_INT, OFF(cpu_seconds), "10", "N",
     "back-to-back CPU profiles of N seconds each (/profile?seconds=N); 0: only on triggers"},
    {"goroutine-rate", T_DOUBLE, OFF(goroutine_rate), "5", "R",
     "goroutine profiles with labels (/goroutine, debug=0) per second; 0: none"},
    {"goroutine-budget", T_DOUBLE, OFF(goroutine_budget), "1", "PCT",
     "goroutine profiles cost the service in proportion to its goroutines: when one takes\n"
     "longer than PCT% of the period, the next waits (at most a minute); 0: no limit"},
    {"dump-interval", T_DURATION, OFF(dump_interval_ms), "5m", "D",
     "full goroutine dumps (/goroutine?debug=2) this often; 0: only on triggers"},
    {"heap-interval", T_DURATION, OFF(heap_interval_ms), "1m", "D", "heap profiles (/heap) this often; 0: none"},
    {"leak-interval", T_DURATION, OFF(leak_interval_ms), "5m", "D",
     "goroutine leak profiles (/goroutineleak: Go 1.27, or Go 1.26 built with\n"
     "GOEXPERIMENT=goroutineleakprofile; each runs a GC cycle) this often and on triggers;\n"
     "a service without one (404) is not asked again; 0: none"},
    {"trace-seconds", T_INT, OFF(trace_seconds), "0", "N",
     "execution traces of N seconds (/trace?seconds=N) on triggers and every --trace-interval;\n"
     "they give exact GC, stop-the-world, scheduler latency and goroutine states (tied to spans\n"
     "only by time and goroutine unless the service uses client/go); 0: none"},
    {"trace-interval", T_DURATION, OFF(trace_interval_ms), "0", "D",
     "with --trace-seconds, also take a trace this often; 0: only on triggers"},
    {"trace-budget", T_DOUBLE, OFF(trace_budget), "5", "PCT",
     "traces cover at most PCT% of any ten minutes (the tracer costs the service 1-2% of CPU\n"
     "while it runs, and meanwhiled reads every trace); a trace over the budget is skipped"},
    {"batch-interval", T_DURATION, OFF(batch_interval_ms), "1s", "D",
     "stderr lines are pushed (kind gctrace) this often"},
    {"scrape-timeout", T_DURATION, OFF(scrape_timeout_ms), "30s", "D",
     "give up on a scrape after D (a CPU profile: after its window plus D)"},
    {"trigger-factor", T_DOUBLE, OFF(trigger_factor), "3", "F",
     "trigger when goroutines or the live heap grow more than F times within --trigger-window"},
    {"trigger-window", T_DURATION, OFF(trigger_window_ms), "60s", "D", "the window of --trigger-factor"},
    {"trigger-warmup", T_DURATION, OFF(trigger_warmup_ms), "30s", "D",
     "no heap or GC CPU trigger in the service's first D (its uptime, from gctrace): its heap grows\n"
     "from nothing then, and the heap's growth is measured against what it is after D"},
    {"trigger-gc-cpu", T_DOUBLE, OFF(trigger_gc_cpu), "25", "PCT",
     "trigger when gctrace's GC CPU percentage exceeds PCT; 0: off"},
    {"trigger-cooldown", T_DURATION, OFF(trigger_cooldown_ms), "2m", "D", "no trigger within D of the last one"},
    {"trigger-heap-min", T_BYTES, OFF(trigger_heap_min), "32MiB", "BYTES", "heaps smaller than this never trigger"},
    {"trigger-goroutines-min", T_INT, OFF(trigger_goroutines_min), "100", "N",
     "goroutine counts below N never trigger"},
    {"godebug", T_BOOL, OFF(godebug), "true", NULL,
     "with run, add gctrace=1 and schedtrace to the service's GODEBUG (keys it sets are kept);\n"
     "--no-godebug leaves GODEBUG alone"},
    {"schedtrace", T_INT, OFF(schedtrace_ms), "1000", "MS", "the schedtrace period added to GODEBUG; 0: none"},
    {"spool-dir", T_STR, OFF(spool_dir), NULL, "DIR",
     "keep what cannot be delivered in DIR, sent when the collector is back (default:\n"
     "$STATE_DIRECTORY, else $TMPDIR/meanwhile-agent-<uid>/<service>[-<instance>]; `none`: no spool)"},
    {"spool-max-bytes", T_BYTES, OFF(spool_max_bytes), "256MiB", "BYTES", "the spool's size; the oldest go first"},
    {"spool-max-files", T_INT, OFF(spool_max_files), "10000", "N", "the spool's number of payloads"},
    {"compression", T_SPECIAL, 0, "zstd", "zstd|gzip|none", "Content-Encoding of what is sent"},
    {"backoff-max", T_DURATION, OFF(backoff_max_ms), "30s", "D",
     "the longest wait between tries when the collector is down (Retry-After included)"},
    {"queue-max-bytes", T_BYTES, OFF(queue_max_bytes), "8MiB", "BYTES",
     "captures waiting for the sender in memory; past it the oldest are dropped"},
    {"drain-timeout", T_DURATION, OFF(drain_timeout_ms), "10s", "D", "at exit, time left to deliver the spool"},
    {"log-file", T_STR, OFF(log_file), NULL, "FILE", "the agent's own log (logfmt; default stderr)"},
    {"log-level", T_SPECIAL, 0, "info", "LEVEL", "debug, info, warn or error"},
    {"stats-file", T_STR, OFF(stats_file), NULL, "FILE",
     "write counters (captured, delivered, spooled, dropped per kind) as JSON to FILE"},
    {"stats-interval", T_DURATION, OFF(stats_interval_ms), "10s", "D", "how often --stats-file is rewritten"},
    {"help", T_SPECIAL, 0, NULL, NULL, "this help"},
    {"version", T_SPECIAL, 0, NULL, NULL, "print the version"},
};
enum { N_OPTS = sizeof opts / sizeof opts[0] };

static void usage(FILE *f) {
  fprintf(f, "Usage: meanwhile-agent [options] run [options] -- COMMAND [ARGS...]\n"
             "       meanwhile-agent --stdin [options]\n"
             "       meanwhile-agent --tail FILE [options]\n"
             "       meanwhile-agent [options]                (pprof scrapes only)\n"
             "\n"
             "Collects what the Go runtime of one service says about itself and sends it to meanwhiled:\n"
             "CPU profiles back to back, goroutine profiles with their labels several times a second,\n"
             "full goroutine dumps now and then, heap profiles, goroutine leak profiles (when the\n"
             "service has them), and the gctrace and schedtrace lines of the service's stderr. When\n"
             "goroutines or the heap grow fast, or GC takes much of the CPU, it takes an extra dump,\n"
             "leak profile and execution trace (--trace-seconds) and marks the CPU profile (trigger).\n"
             "\n"
             "With run, the agent starts COMMAND itself (GODEBUG=gctrace=1,schedtrace=1000 added), passes\n"
             "its stdout and stderr through unchanged, forwards SIGINT, SIGTERM, SIGHUP and SIGQUIT to it,\n"
             "and exits with its exit status (128+N when signal N ended it). Options may come before run\n"
             "and after it, up to the '--' (or the first word) that starts COMMAND.\n"
             "\n"
             "Options (each also a MEANWHILE_<NAME> variable, e.g. MEANWHILE_CPU_SECONDS, and a\n"
             "`name = value` line of --config; flags win over variables, variables over the file):\n");
  for (size_t i = 0; i < N_OPTS; i++) {
    const opt *o = &opts[i];
    char head[64];
    snprintf(head, sizeof head, "--%s%s%s", o->name, o->metavar ? " " : "", o->metavar ? o->metavar : "");
    fprintf(f, "  %-26s ", head);
    for (const char *h = o->help; *h; h++) {
      fputc(*h, f);
      if (*h == '\n') fprintf(f, "  %-26s ", "");
    }
    if (o->def && o->type != T_BOOL) fprintf(f, " [%s]", o->def);
    fputc('\n', f);
  }
  fprintf(f, "\n"
             "Durations: 250ms, 10s, 5m, 1h (a bare number is seconds). Sizes: 512KiB, 64MiB, 1GiB.\n"
             "Exit status: with run, the command's; else 0, or 2 for bad usage or a fatal error.\n");
}

/* --- values ---------------------------------------------------------------------------- */

int agent_parse_duration_ms(const char *s, int64_t *out) {
  static const struct {
    const char *unit;
    double ms;
  } units[] = {{"ns", 1e-6}, {"us", 1e-3}, {"ms", 1}, {"s", 1e3}, {"m", 60e3}, {"h", 3600e3}, {"d", 86400e3}};
  double total = 0;
  if (!s || !*s) return -1;
  while (*s) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || v < 0) return -1;
    s = end;
    if (!*s && total == 0) { /* a bare number: seconds */
      total = v * 1e3;
      break;
    }
    size_t best = 0, best_len = 0;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
      size_t n = strlen(units[i].unit);
      if (n > best_len && strncmp(s, units[i].unit, n) == 0) best = i, best_len = n;
    }
    if (!best_len) return -1;
    s += best_len;
    total += v * units[best].ms;
  }
  if (!(total >= 0 && total < 1e15)) return -1;
  *out = (int64_t)llround(total);
  return 0;
}

static int parse_bytes(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || errno || v < 0) return -1;
  double mult = 1;
  if (!*end || strcasecmp(end, "b") == 0) mult = 1;
  else if (strcasecmp(end, "k") == 0 || strcasecmp(end, "kib") == 0 || strcasecmp(end, "kb") == 0) mult = 1024.0;
  else if (strcasecmp(end, "m") == 0 || strcasecmp(end, "mib") == 0 || strcasecmp(end, "mb") == 0) mult = 1048576.0;
  else if (strcasecmp(end, "g") == 0 || strcasecmp(end, "gib") == 0 || strcasecmp(end, "gb") == 0) mult = 1073741824.0;
  else return -1;
  if (v * mult > 1e18) return -1;
  *out = (uint64_t)(v * mult);
  return 0;
}

static int parse_bool(const char *s, int *out) {
  if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on") || !strcmp(s, "1")) *out = 1;
  else if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "off") || !strcmp(s, "0")) *out = 0;
  else return -1;
  return 0;
}

static const opt *find_opt(const char *name, size_t len) {
  for (size_t i = 0; i < N_OPTS; i++)
    if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0) return &opts[i];
  return NULL;
}

/* Sets o from the text v; where says where it came from, for the message. */
static int set_opt(agent_config *cfg, const opt *o, const char *v, const char *where, char *err, size_t errsz) {
  char *base = (char *)cfg;
  int bad = 0;
  switch (o->type) {
  case T_STR: {
    char **p = (char **)(base + o->off);
    char *copy = strdup(v);
    if (!copy) {
      snprintf(err, errsz, "out of memory");
      return -1;
    }
    free(*p);
    *p = copy;
    break;
  }
  case T_INT: {
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    bad = end == v || *end || errno || n < 0 || n > INT_MAX;
    if (bad) break;
    if (o->off == OFF(spool_max_files)) cfg->spool_max_files = (uint64_t)n;
    else if (o->off == OFF(trigger_goroutines_min)) cfg->trigger_goroutines_min = (uint64_t)n;
    else *(int *)(base + o->off) = (int)n;
    break;
  }
  case T_DOUBLE: {
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    bad = end == v || *end || errno || !(d >= 0 && d < 1e9);
    if (!bad) *(double *)(base + o->off) = d;
    break;
  }
  case T_DURATION: bad = agent_parse_duration_ms(v, (int64_t *)(base + o->off)); break;
  case T_BYTES: bad = parse_bytes(v, (uint64_t *)(base + o->off)); break;
  case T_BOOL: bad = parse_bool(v, (int *)(base + o->off)); break;
  case T_SPECIAL:
    if (!strcmp(o->name, "stdin")) {
      int on = 0;
      bad = parse_bool(v, &on);
      if (!bad && on) cfg->mode = AGENT_STDIN;
    } else if (!strcmp(o->name, "tail")) {
      free(cfg->tail_path);
      if (!(cfg->tail_path = strdup(v))) bad = 1;
      else cfg->mode = AGENT_TAIL;
    } else if (!strcmp(o->name, "tail-from")) {
      bad = strcmp(v, "end") && strcmp(v, "start");
      cfg->tail_from_start = !strcmp(v, "start");
    } else if (!strcmp(o->name, "compression")) {
      if (!strcmp(v, "zstd")) cfg->encoding = MW_ENCODING_ZSTD;
      else if (!strcmp(v, "gzip")) cfg->encoding = MW_ENCODING_GZIP;
      else if (!strcmp(v, "none") || !strcmp(v, "identity")) cfg->encoding = MW_ENCODING_IDENTITY;
      else bad = 1;
    } else if (!strcmp(o->name, "log-level")) {
      static const char *const levels[] = {"debug", "info", "warn", "error"};
      bad = 1;
      for (int i = 0; i < 4; i++)
        if (!strcasecmp(v, levels[i])) cfg->log_level = i, bad = 0;
    }
    break;
  }
  if (bad) snprintf(err, errsz, "%s: bad value '%s' for %s", where, v, o->name);
  return bad ? -1 : 0;
}

static int apply_defaults(agent_config *cfg, char *err, size_t errsz) {
  memset(cfg, 0, sizeof *cfg);
  for (size_t i = 0; i < N_OPTS; i++)
    if (opts[i].def && set_opt(cfg, &opts[i], opts[i].def, "default", err, errsz)) return -1;
  return 0;
}

/* --- the config file and the environment -------------------------------------------------- */

static char *trim(char *s) {
  while (isspace((unsigned char)*s)) s++;
  size_t n = strlen(s);
  while (n && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
  if (n >= 2 && ((s[0] == '"' && s[n - 1] == '"') || (s[0] == '\'' && s[n - 1] == '\''))) {
    s[n - 1] = '\0';
    s++;
  }
  return s;
}

static int apply_file(agent_config *cfg, const char *path, char *err, size_t errsz) {
  FILE *f = fopen(path, "r");
  if (!f) {
    snprintf(err, errsz, "cannot read --config %s: %s", path, strerror(errno));
    return -1;
  }
  char line[4096], where[4200];
  int rc = 0, n = 0;
  while (!rc && fgets(line, sizeof line, f)) {
    n++;
    char *s = trim(line);
    if (!*s || *s == '#' || *s == ';') continue;
    char *eq = strchr(s, '=');
    snprintf(where, sizeof where, "%s:%d", path, n);
    if (!eq) {
      snprintf(err, errsz, "%s: expected `key = value`", where);
      rc = -1;
      break;
    }
    *eq = '\0';
    char *key = trim(s), *val = trim(eq + 1);
    const opt *o = find_opt(key, strlen(key));
    if (!o || !strcmp(key, "config") || !strcmp(key, "help") || !strcmp(key, "version")) {
      snprintf(err, errsz, "%s: unknown key '%s'", where, key);
      rc = -1;
      break;
    }
    rc = set_opt(cfg, o, val, where, err, errsz);
  }
  fclose(f);
  return rc;
}

static int apply_env(agent_config *cfg, char *err, size_t errsz) {
  char name[96];
  for (size_t i = 0; i < N_OPTS; i++) {
    const opt *o = &opts[i];
    if (!strcmp(o->name, "config") || !strcmp(o->name, "help") || !strcmp(o->name, "version")) continue;
    size_t n = (size_t)snprintf(name, sizeof name, "MEANWHILE_%s", o->name);
    for (size_t j = 10; j < n; j++) name[j] = o->name[j - 10] == '-' ? '_' : (char)toupper((unsigned char)name[j]);
    const char *v = getenv(name);
    if (v && *v && set_opt(cfg, o, v, name, err, errsz)) return -1;
  }
  return 0;
}

/* --- identity -------------------------------------------------------------------------------- */

/* mkdir of one level, 0700; 0 when it exists. */
static int mkdir_parent(const char *dir) { return mkdir(dir, 0700) && errno != EEXIST ? -1 : 0; }

char *agent_resource_attr(const char *attrs, const char *key) {
  size_t kl = strlen(key);
  for (const char *p = attrs; p && *p;) {
    const char *end = p + strcspn(p, ",");
    while (p < end && isspace((unsigned char)*p)) p++;
    const char *eq = memchr(p, '=', (size_t)(end - p));
    if (eq) {
      const char *ke = eq;
      while (ke > p && isspace((unsigned char)ke[-1])) ke--;
      if ((size_t)(ke - p) == kl && !strncmp(p, key, kl)) {
        const char *v = eq + 1;
        while (v < end && isspace((unsigned char)*v)) v++;
        const char *ve = end;
        while (ve > v && isspace((unsigned char)ve[-1])) ve--;
        char *out = malloc((size_t)(ve - v) + 1), *o = out;
        if (!out) return NULL;
        for (; v < ve; v++) {
          if (*v == '%' && ve - v >= 3 && isxdigit((unsigned char)v[1]) && isxdigit((unsigned char)v[2])) {
            char hex[3] = {v[1], v[2], 0};
            *o++ = (char)strtol(hex, NULL, 16);
            v += 2;
          } else {
            *o++ = *v;
          }
        }
        *o = '\0';
        return out;
      }
    }
    p = *end ? end + 1 : end;
  }
  return NULL;
}

static int fill_identity(agent_config *cfg, char *err, size_t errsz) {
  const char *attrs = getenv("OTEL_RESOURCE_ATTRIBUTES");
  if (!cfg->service) {
    const char *s = getenv("OTEL_SERVICE_NAME");
    if (s && *s) cfg->service = strdup(s);
    else cfg->service = agent_resource_attr(attrs, "service.name");
  }
  if (!cfg->service && cfg->mode == AGENT_RUN) {
    const char *slash = strrchr(cfg->child_argv[0], '/');
    cfg->service = strdup(slash ? slash + 1 : cfg->child_argv[0]);
  }
  if (!cfg->service || !*cfg->service) {
    snprintf(err, errsz, "no service: give --service, or set OTEL_SERVICE_NAME");
    return -1;
  }
  if (!cfg->instance) cfg->instance = agent_resource_attr(attrs, "service.instance.id");
  if (!cfg->spool_dir) {
    cfg->spool_dir_default = 1;
    const char *state = getenv("STATE_DIRECTORY"); /* systemd's StateDirectory= */
    char dir[4096];
    if (state && *state) {
      snprintf(dir, sizeof dir, "%.*s", (int)strcspn(state, ":"), state);
    } else {
      const char *tmp = getenv("TMPDIR");
      char parent[3000];
      snprintf(parent, sizeof parent, "%s/meanwhile-agent-%ld", tmp && *tmp ? tmp : "/tmp", (long)getuid());
      if (mkdir_parent(parent)) {
        snprintf(err, errsz, "cannot make the spool's parent %s: %s (give --spool-dir)", parent, strerror(errno));
        return -1;
      }
      snprintf(dir, sizeof dir, "%s/%s%s%s", parent, cfg->service, cfg->instance ? "-" : "",
               cfg->instance ? cfg->instance : "");
      for (char *c = dir + strlen(parent) + 1; *c; c++)
        if (*c == '/' || (unsigned char)*c < 0x20) *c = '_';
    }
    cfg->spool_dir = strdup(dir);
  }
  if (!strcmp(cfg->spool_dir, "none")) {
    free(cfg->spool_dir);
    cfg->spool_dir = NULL;
  }
  /* after the spool's name: a made-up instance must not make every run's spool a new one */
  if (!cfg->instance && cfg->mode == AGENT_RUN) {
    char host[256] = "host", id[300];
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    snprintf(id, sizeof id, "%s-%ld", host, (long)getpid());
    cfg->instance = strdup(id);
  }
  return 0;
}

/* --- the command line ------------------------------------------------------------------------ */

typedef struct flag_value {
  const opt *o;
  const char *v;
} flag_value;

void agent_config_free(agent_config *cfg) {
  for (size_t i = 0; i < N_OPTS; i++)
    if (opts[i].type == T_STR) {
      char **p = (char **)((char *)cfg + opts[i].off);
      free(*p);
      *p = NULL;
    }
  free(cfg->tail_path);
  cfg->tail_path = NULL;
}

static int validate(agent_config *cfg, char *err, size_t errsz) {
  if (cfg->cpu_seconds > 3600) return snprintf(err, errsz, "--cpu-seconds is at most 3600"), -1;
  if (cfg->otlp_runtime && cfg->trace_seconds > 0) /* meanwhiled reads those on a path of their own */
    return snprintf(err, errsz, "execution traces (--trace-seconds) cannot go inside OTLP traces (--otlp-runtime) yet"),
           -1;
  if (cfg->goroutine_rate > 100) return snprintf(err, errsz, "--goroutine-rate is at most 100 per second"), -1;
  if (cfg->trigger_factor != 0 && cfg->trigger_factor <= 1)
    return snprintf(err, errsz, "--trigger-factor must be above 1 (or 0: off)"), -1;
  if (cfg->batch_interval_ms < 10) return snprintf(err, errsz, "--batch-interval is at least 10ms"), -1;
  if (cfg->trigger_window_ms < 1000) return snprintf(err, errsz, "--trigger-window is at least 1s"), -1;
  if (cfg->scrape_timeout_ms < 100) return snprintf(err, errsz, "--scrape-timeout is at least 100ms"), -1;
  if (cfg->backoff_max_ms < 100) return snprintf(err, errsz, "--backoff-max is at least 100ms"), -1;
  if (cfg->stats_interval_ms < 100) return snprintf(err, errsz, "--stats-interval is at least 100ms"), -1;
  if (!cfg->spool_max_files || !cfg->spool_max_bytes)
    return snprintf(err, errsz, "the spool's bounds must be above 0"), -1;
  if (cfg->queue_max_bytes < 65536) return snprintf(err, errsz, "--queue-max-bytes is at least 64KiB"), -1;
  if (strncmp(cfg->collector, "http://", 7) && strncmp(cfg->collector, "https://", 8))
    return snprintf(err, errsz, "--collector must be an http:// or https:// URL"), -1;
  if (strncmp(cfg->pprof, "http://", 7) && strncmp(cfg->pprof, "https://", 8))
    return snprintf(err, errsz, "--pprof must be an http:// or https:// URL"), -1;
  size_t n = strlen(cfg->pprof); /* no trailing slash: paths are appended */
  while (n > 8 && cfg->pprof[n - 1] == '/') cfg->pprof[--n] = '\0';
  return 0;
}

int agent_config_load(int argc, char **argv, agent_config *cfg, FILE *out, char *err, size_t errsz) {
  int rc = AGENT_CONFIG_ERROR, i = 1, n_flags = 0, run = 0, tail_or_stdin = 0;
  const char *config = getenv("MEANWHILE_CONFIG");
  flag_value *flags = calloc((size_t)argc + 1, sizeof *flags);
  if (apply_defaults(cfg, err, errsz) || !flags) goto out;
  /* options may come before `run` and after it, as git's and docker's do:
   * the first word that is no option (nor an option's value) is `run`, and
   * after it the next one starts the command */
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--")) {
      i++;
      break;
    }
    if (!strcmp(a, "-h")) a = "--help";
    if (strncmp(a, "--", 2)) {
      if (run) break; /* the command starts */
      if (!strcmp(a, "run")) {
        run = 1;
        continue;
      }
      snprintf(err, errsz, "unexpected argument '%s' (run a command with: meanwhile-agent run [options] -- COMMAND)",
               a);
      goto out;
    }
    const char *name = a + 2, *eq = strchr(name, '='), *val = eq ? eq + 1 : NULL;
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const opt *o = find_opt(name, len);
    if (!o && !eq && len > 3 && !strncmp(name, "no-", 3) && (o = find_opt(name + 3, len - 3)) && o->type == T_BOOL) {
      val = "false";
    } else if (!o || (!strncmp(name, "no-", 3) && !eq && o->type != T_BOOL)) {
      snprintf(err, errsz, "unknown option '%s'", a);
      goto out;
    }
    if (!strcmp(o->name, "help")) {
      usage(out);
      rc = AGENT_CONFIG_EXIT;
      goto out;
    }
    if (!strcmp(o->name, "version")) {
      fprintf(out, "meanwhile-agent %s (libmeanwhile %s)\n", MW_VERSION, MW_CLIENT_VERSION);
      rc = AGENT_CONFIG_EXIT;
      goto out;
    }
    if (!val && (o->type == T_BOOL || !strcmp(o->name, "stdin"))) val = "true";
    if (!val) {
      if (i + 1 >= argc) {
        snprintf(err, errsz, "option '--%s' needs a value", o->name);
        goto out;
      }
      val = argv[++i];
    }
    if (!strcmp(o->name, "config")) config = val;
    else flags[n_flags++] = (flag_value){o, val};
    if (!strcmp(o->name, "stdin") || !strcmp(o->name, "tail")) tail_or_stdin = 1;
  }
  if (config && *config && apply_file(cfg, config, err, errsz)) goto out;
  if (apply_env(cfg, err, errsz)) goto out;
  for (int k = 0; k < n_flags; k++)
    if (set_opt(cfg, flags[k].o, flags[k].v, "--flag", err, errsz)) goto out;
  if (run) {
    if (tail_or_stdin || cfg->mode == AGENT_STDIN || cfg->mode == AGENT_TAIL) {
      snprintf(err, errsz, "run reads the command's own stderr: --stdin and --tail do not go with it");
      goto out;
    }
    if (i >= argc) {
      snprintf(err, errsz, "run needs a command: meanwhile-agent run [options] -- COMMAND [ARGS...]");
      goto out;
    }
    cfg->mode = AGENT_RUN;
    cfg->child_argv = argv + i;
  } else if (i < argc) {
    snprintf(err, errsz, "a command after '--' needs run: meanwhile-agent run [options] -- COMMAND");
    goto out;
  }
  if (validate(cfg, err, errsz) || fill_identity(cfg, err, errsz)) goto out;
  rc = AGENT_CONFIG_OK;
out:
  free(flags);
  return rc;
}

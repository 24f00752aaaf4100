/* meanwhile-agent's modules and what they share. The agent is one libuv loop
 * (agent.c: the child process, its pipes, signals, timers, stderr batches,
 * triggers), pprof scrapes in libuv's thread pool and a thread of their own for
 * the back-to-back CPU profiles (scrape.c), and one sender thread that owns
 * the libmeanwhile handle (sender.c). Data flows one way: captures go into the
 * sender's bounded queue; the sender pushes them (or spools them). */
#ifndef MW_AGENT_H
#define MW_AGENT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "decode/runtime_text.h"
#include "meanwhile/client.h"

/* --- configuration (config.c) ------------------------------------------------------ */

typedef enum agent_mode {
  AGENT_SCRAPE = 0, /* pprof only */
  AGENT_RUN,        /* run -- cmd args: start the service, read its stdout and stderr */
  AGENT_STDIN,      /* --stdin: runtime lines on standard input */
  AGENT_TAIL,       /* --tail FILE */
} agent_mode;

typedef struct agent_config {
  agent_mode mode;
  char **child_argv; /* AGENT_RUN: points into argv */
  char *tail_path;
  int tail_from_start;

  char *service, *instance;
  char *collector, *pprof;
  int otlp_runtime; /* runtime data as OTLP traces to the collector's /v1/traces (docs/SHARDING.md) */

  int cpu_seconds;           /* length of each CPU profile window; 0: no continuous profiling */
  double goroutine_rate;     /* goroutine profiles (debug=0) per second; 0: none */
  double goroutine_budget;   /* percent of the time goroutine scrapes may take; 0: no limit */
  int64_t dump_interval_ms;  /* full debug=2 dumps; 0: only on triggers */
  int64_t heap_interval_ms;  /* heap profiles; 0: none */
  int64_t leak_interval_ms;  /* goroutine leak profiles, when the service has them; 0: none */
  int trace_seconds;         /* execution traces (/trace?seconds=N) of N seconds; 0: none */
  int64_t trace_interval_ms; /* execution traces this often besides triggers; 0: only on triggers */
  double trace_budget;       /* percent of the last ten minutes that traces may cover */
  int64_t batch_interval_ms; /* stderr lines are pushed this often */
  int64_t scrape_timeout_ms; /* one scrape, beyond a CPU window's own length */

  double trigger_factor;
  int64_t trigger_window_ms;
  int64_t trigger_warmup_ms; /* the service's first moments (by its uptime): no heap or GC CPU trigger */
  double trigger_gc_cpu;     /* percent; 0: off */
  int64_t trigger_cooldown_ms;
  uint64_t trigger_heap_min; /* bytes: smaller heaps never trigger */
  uint64_t trigger_goroutines_min;

  int godebug; /* set GODEBUG for the child */
  int schedtrace_ms;

  char *spool_dir;
  int spool_dir_default; /* not given: another agent may hold it, then one of our own is used */
  uint64_t spool_max_bytes;
  uint64_t spool_max_files;
  mw_encoding encoding;
  int64_t backoff_max_ms;
  uint64_t queue_max_bytes;
  int64_t drain_timeout_ms;

  char *log_file;
  int log_level; /* 0 debug, 1 info, 2 warn, 3 error */
  char *stats_file;
  int64_t stats_interval_ms;
} agent_config;

enum { AGENT_CONFIG_OK = 0, AGENT_CONFIG_EXIT = 1, AGENT_CONFIG_ERROR = -1 };

/* Fills cfg from defaults, the --config file, MEANWHILE_* variables and the
 * flags, in rising precedence. AGENT_CONFIG_EXIT when --help or --version was
 * printed to out, AGENT_CONFIG_ERROR with a message in err. Strings are owned
 * by cfg (agent_config_free). */
int agent_config_load(int argc, char **argv, agent_config *cfg, FILE *out, char *err, size_t errsz);
void agent_config_free(agent_config *cfg);

/* The value of key in an OTEL_RESOURCE_ATTRIBUTES string ("k=v,k2=v2",
 * values percent-encoded), decoded into a new string; NULL when absent. */
char *agent_resource_attr(const char *attrs, const char *key);

/* Parses "250ms", "1.5s", "5m", "1h" (and a bare number of seconds); 0 or -1. */
int agent_parse_duration_ms(const char *s, int64_t *out);

/* --- logging (log.c): logfmt lines to the log file ------------------------------------ */

enum { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };
/* src as a logfmt value: in double quotes, with " and \\ escaped and line
 * breaks as spaces, cut to fit size (at least 3) bytes with its NUL. */
void agent_quote(char *dst, size_t size, const char *src);
int agent_log_open(const char *path, int level);
void agent_log_close(void);
void agent_log(int level, const char *msg, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* --- time ------------------------------------------------------------------------------ */

int64_t agent_now_ns(void);  /* CLOCK_REALTIME */
int64_t agent_mono_ms(void); /* CLOCK_MONOTONIC */

/* --- statistics (stats.c): per kind, from every thread ------------------------------- */

enum {
  STAT_CAPTURED,
  STAT_DELIVERED,
  STAT_SPOOLED,
  STAT_REJECTED,
  STAT_DROPPED,
  STAT_FAILED,
  STAT_QUEUE_DROPPED,
  STAT_SCRAPE_ERRORS,
  STAT_SCRAPE_SKIPPED,
  STAT_TRIGGERED,
  STAT_N
};

void agent_stats_add(const char *kind, int stat, uint64_t n);
void agent_stats_lines(uint64_t gc, uint64_t sched, uint64_t other);
void agent_stats_trigger(const char *reason);
/* Writes the counters as JSON to path (via a temporary file and a rename). */
int agent_stats_write(const char *path, const mw_client_stats *client);
/* The counters as one logfmt fragment, for the last log line. */
void agent_stats_summary(char *buf, size_t size);

/* --- the sender (sender.c) --------------------------------------------------------------- */

typedef struct sender sender;

int sender_start(const agent_config *cfg, sender **out, char *err, size_t errsz);
/* Queues a capture; takes body (malloc'd) in every case. trigger is a static
 * string or NULL. */
void sender_enqueue(sender *s, const char *kind, uint8_t *body, size_t len, int64_t time_ns, int64_t duration_ns,
                    int64_t process_start_ns, const char *trigger);
/* Sends what is queued, flushes the spool for at most drain_ms, stops the
 * thread, copies the client's last counters into *final (may be NULL) and
 * frees s. */
void sender_stop(sender **s, int64_t drain_ms, mw_client_stats *final);
void sender_client_stats(sender *s, mw_client_stats *out);

/* The collector's early-warning rules an answer may name in "requests"
 * (docs/API.md, "Early warning"), by bit. */
enum { AGENT_RULES = 4 };
extern const char *const agent_rule_names[AGENT_RULES];
/* cb(user) is called on the sender thread after a push whose answer named
 * rules; the agent then takes them with sender_take_requests (bit i:
 * agent_rule_names[i]) on its own thread. cb must not block. */
void sender_on_requests(sender *s, void (*cb)(void *user), void *user);
unsigned sender_take_requests(sender *s);

/* --- scrapes (scrape.c) ---------------------------------------------------------------- */

typedef struct scraper scraper;
struct uv_loop_s;

/* Called on the loop when a goroutine profile was scraped: its total. */
typedef void (*scraper_goroutines_fn)(void *user, uint64_t total, int64_t time_ns);

int scraper_start(struct uv_loop_s *loop, const agent_config *cfg, sender *snd, scraper_goroutines_fn on_goroutines,
                  void *user, scraper **out);
/* An extra debug=2 dump, CPU profile and goroutine leak profile (when the
 * service has one), marked with reason; for a collector's rule (reason
 * "rule:<name>") a heap profile too. */
void scraper_trigger(scraper *s, const char *reason);
/* Stops the timers and the CPU thread (a window in progress is abandoned);
 * scrapes in flight end on their own. Call on the loop thread; then, after
 * uv_run has returned, scraper_free. */
void scraper_stop(scraper *s);
/* The service was asked to stop (a forwarded SIGTERM or SIGINT): a scrape cut
 * that breaks off from now on (no answer, or an answer cut short) is counted as skipped and not as an error
 * (a service that exits at once resets the connection of a scrape in flight). */
void scraper_service_stopping(scraper *s);
void scraper_free(scraper **s);

/* The total of a goroutine profile (gzip'd or plain pprof): the sum of its
 * samples' first values, and its time_nanos (0 when it has none) in *time_ns.
 * 0 or -1 when it cannot be read. */
int agent_goroutine_total(const uint8_t *body, size_t len, uint64_t *total, int64_t *time_ns);

/* --- triggers (trigger.c) -------------------------------------------------------------- */

typedef struct trigger_state trigger_state;

trigger_state *trigger_new(const agent_config *cfg);
void trigger_free(trigger_state **t);
/* Each returns the reason to fire ("goroutines", "heap", "gc_cpu") or NULL,
 * the cooldown applied. now_ms is monotonic; uptime_s is the service's (a gc
 * line's @ time): within --trigger-warmup of its start nothing is fed. */
const char *trigger_goroutines(trigger_state *t, int64_t now_ms, uint64_t count);
const char *trigger_gc(trigger_state *t, int64_t now_ms, uint64_t heap_live_bytes, int gc_pct, double uptime_s);

/* Reads line (one stderr line, no line end) as a gctrace line with the
 * collector's grammar (mw__gctrace_parse_line) and feeds its live heap, GC CPU
 * percentage and time since process start to trigger_gc. Returns 0 with *gc
 * filled when line is a whole gc line, -1 when it is not (a line split by the
 * service's output, or no gc line at all: nothing is fed). *reason is what
 * fired ("heap", "gc_cpu") or NULL. */
int trigger_gc_line(trigger_state *t, int64_t now_ms, const char *line, size_t len, mw_gc_cycle *gc,
                    const char **reason);

#endif

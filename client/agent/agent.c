/* meanwhile-agent: the loop. It starts the service (run), or reads its stderr
 * from a pipe (--stdin) or a log file (--tail); passes the service's output
 * through unchanged; stamps each runtime line of its stderr with the moment it
 * was read and pushes them in batches (kind gctrace) every --batch-interval;
 * watches goroutine counts, heap sizes and GC CPU for triggers; forwards
 * signals; and at the end drains the sender and exits with the service's
 * status. Scrapes are scrape.c's, sending is sender.c's. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include <curl/curl.h>

#include "agent.h"

extern char **environ;

enum {
  READ_BUF = 65536,
  LINE_MAX_BYTES = 65536,    /* a longer stderr "line" is cut into pieces */
  BATCH_MAX_BYTES = 1 << 20, /* a batch is pushed early past this */
  PIPE_GRACE_MS = 2000,      /* after the child exits, its pipes get this long to reach EOF */
  TAIL_POLL_MS = 250,
  TAIL_MAX_PER_POLL = 4 << 20,
};

/* The child's environment: environ's strings, and the few the agent made. */
typedef struct child_env {
  char **env;
  size_t n;
  char *owned[3];
  int n_owned;
} child_env;

typedef struct agent {
  agent_config cfg;
  uv_loop_t *loop;
  sender *snd;
  scraper *sc;
  trigger_state *trig;
  int64_t start_mono_ms;
  char rbuf[READ_BUF];

  /* run */
  uv_process_t proc;
  int child_alive, child_spawned;
  int64_t exit_status;
  int term_signal;
  int64_t process_start_ns;
  uv_pipe_t out_pipe, err_pipe;
  int out_open, err_open;
  child_env env;

  /* --stdin */
  union {
    uv_pipe_t pipe;
    uv_tty_t tty;
  } in;
  int in_open;
  int in_is_file;

  /* --tail (and --stdin from a regular file) */
  uv_timer_t poll_timer;
  int poll_open;
  int tail_fd;
  off_t tail_off;
  ino_t tail_ino;
  dev_t tail_dev;
  int tail_opened_once;

  /* stderr lines */
  char *line;
  size_t line_len;
  char *batch;
  size_t batch_len, batch_cap;
  int64_t batch_first_ns, batch_last_ns;
  int64_t last_stamp;
  uint64_t batch_gc, batch_sched, batch_other;

  uv_timer_t batch_timer, stats_timer, grace_timer;
  uv_async_t requests; /* the sender saw the collector's rules' requests */
  int requests_open;
  uv_signal_t sigs[4];
  int stopping;
  int signals_after_exit;
} agent;

static const int forwarded[4] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

static void close_handle(uv_handle_t *h) {
  if (h->loop && !uv_is_closing(h)) uv_close(h, NULL);
}

/* --- output passthrough ------------------------------------------------------------- */

/* Writes all of buf to fd, waiting when fd is non-blocking and full: the
 * service's output must come out whole and in order. A broken output is
 * given up on (the bytes are lost, the service is not blocked). */
static void write_out(int fd, const char *buf, size_t len) {
  while (len) {
    ssize_t w = write(fd, buf, len);
    if (w > 0) {
      buf += w;
      len -= (size_t)w;
    } else if (w < 0 && errno == EINTR) {
      continue;
    } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      struct pollfd p = {.fd = fd, .events = POLLOUT};
      poll(&p, 1, 1000);
    } else {
      return;
    }
  }
}

/* --- stderr lines and their batches ------------------------------------------------------ */

static void push_batch(agent *a) {
  if (!a->batch_len) return;
  if (a->batch_gc + a->batch_sched == 0) { /* nothing the collector would keep */
    a->batch_len = 0;
    a->batch_other = 0;
    return;
  }
  sender_enqueue(a->snd, "gctrace", (uint8_t *)a->batch, a->batch_len, a->batch_first_ns,
                 a->batch_last_ns - a->batch_first_ns, a->cfg.mode == AGENT_RUN ? a->process_start_ns : 0, NULL);
  agent_stats_lines(a->batch_gc, a->batch_sched, a->batch_other);
  a->batch = NULL;
  a->batch_len = a->batch_cap = 0;
  a->batch_gc = a->batch_sched = a->batch_other = 0;
}

static void fire(agent *a, const char *reason, const char *detail) {
  agent_log(LOG_INFO, "trigger: an extra goroutine dump and CPU profile", "reason=%s %s", reason, detail);
  agent_stats_trigger(reason);
  scraper_trigger(a->sc, reason);
}

/* The collector's rules fired for this source (the answer to a push said
 * so): the same captures as a trigger of our own, and a heap profile. */
static void on_requests(uv_async_t *h) {
  static const char *const reasons[AGENT_RULES] = {"rule:heap_growth", "rule:goroutine_growth", "rule:gc_cpu",
                                                   "rule:pause_p99"};
  agent *a = h->data;
  unsigned bits = sender_take_requests(a->snd);
  for (int i = 0; i < AGENT_RULES; i++)
    if (bits & (1u << i) && !a->stopping) fire(a, reasons[i], "from=collector");
}

static void wake_requests(void *user) { uv_async_send(user); }

static int runtime_line(const char *s, size_t n) {
  return (n > 3 && !memcmp(s, "gc ", 3) && s[3] >= '0' && s[3] <= '9') || (n >= 6 && !memcmp(s, "SCHED ", 6)) ||
         (n >= 9 && !memcmp(s, "GC forced", 9)) || (n > 5 && !memcmp(s, "scav ", 5));
}

/* One whole line of stderr (without its newline), read at stamp. Lines read
 * together get stamps a nanosecond apart: every line keeps its own moment and
 * its order (the collector places stamped SCHED lines at their stamps). */
static void on_line(agent *a, const char *s, size_t n, int64_t stamp) {
  if (!runtime_line(s, n)) return;
  if (stamp <= a->last_stamp) stamp = a->last_stamp + 1;
  a->last_stamp = stamp;
  int is_gc = s[0] == 'g', is_sched = s[0] == 'S';
  char head[24];
  int hl = snprintf(head, sizeof head, "%lld ", (long long)stamp);
  size_t need = a->batch_len + (size_t)hl + n + 1;
  if (need > a->batch_cap) {
    size_t cap = a->batch_cap ? a->batch_cap : 16384;
    while (cap < need) cap *= 2;
    char *p = realloc(a->batch, cap);
    if (!p) return;
    a->batch = p;
    a->batch_cap = cap;
  }
  if (!a->batch_len) a->batch_first_ns = stamp;
  a->batch_last_ns = stamp;
  memcpy(a->batch + a->batch_len, head, (size_t)hl);
  memcpy(a->batch + a->batch_len + hl, s, n);
  a->batch_len += (size_t)hl + n;
  a->batch[a->batch_len++] = '\n';
  a->batch_gc += is_gc;
  a->batch_sched += is_sched;
  a->batch_other += !is_gc && !is_sched;
  if (is_gc) {
    mw_gc_cycle g;
    const char *why;
    if (trigger_gc_line(a->trig, agent_mono_ms(), s, n, &g, &why) == 0 && why) {
      char d[128];
      snprintf(d, sizeof d, "gc=%lld heap_live_mb=%lld gc_cpu_pct=%d", (long long)g.n, (long long)(g.heap_live >> 20),
               g.cpu_percent);
      fire(a, why, d);
    }
  }
  if (a->batch_len > BATCH_MAX_BYTES) push_batch(a);
}

/* Splits bytes into lines; a partial line waits for the rest. */
static void feed(agent *a, const char *buf, size_t n, int64_t stamp) {
  while (n) {
    const char *nl = memchr(buf, '\n', n);
    size_t take = nl ? (size_t)(nl - buf) : n;
    if (!a->line_len && nl) { /* the common case: a whole line in the buffer */
      on_line(a, buf, take, stamp);
    } else {
      size_t room = LINE_MAX_BYTES - a->line_len, part = take < room ? take : room;
      memcpy(a->line + a->line_len, buf, part);
      a->line_len += part;
      if (nl || a->line_len == LINE_MAX_BYTES) {
        on_line(a, a->line, a->line_len, stamp);
        a->line_len = 0;
      }
      if (part < take) { /* what did not fit starts a new piece */
        buf += part;
        n -= part;
        continue;
      }
    }
    if (!nl) break;
    buf += take + 1;
    n -= take + 1;
  }
}

/* The end of stderr: a last line without a newline is still a line. */
static void feed_end(agent *a) {
  if (a->line_len) on_line(a, a->line, a->line_len, agent_now_ns());
  a->line_len = 0;
}

/* --- the end --------------------------------------------------------------------------- */

static void shutdown_agent(agent *a) {
  if (a->stopping) return;
  a->stopping = 1;
  feed_end(a);
  push_batch(a);
  scraper_stop(a->sc);
  if (a->requests_open) sender_on_requests(a->snd, NULL, NULL), close_handle((uv_handle_t *)&a->requests);
  a->requests_open = 0;
  close_handle((uv_handle_t *)&a->batch_timer);
  close_handle((uv_handle_t *)&a->stats_timer);
  close_handle((uv_handle_t *)&a->grace_timer);
  if (a->poll_open) close_handle((uv_handle_t *)&a->poll_timer);
  if (a->out_open) close_handle((uv_handle_t *)&a->out_pipe);
  if (a->err_open) close_handle((uv_handle_t *)&a->err_pipe);
  if (a->in_open) close_handle((uv_handle_t *)&a->in);
  a->out_open = a->err_open = a->in_open = a->poll_open = 0;
  for (int i = 0; i < 4; i++) close_handle((uv_handle_t *)&a->sigs[i]);
}

static void maybe_finish(agent *a) {
  if (a->cfg.mode == AGENT_RUN && !a->child_alive && !a->out_open && !a->err_open) shutdown_agent(a);
}

static void on_grace(uv_timer_t *t) {
  agent *a = t->data;
  /* something the child started still holds its pipes: stop waiting for them */
  if (a->out_open) close_handle((uv_handle_t *)&a->out_pipe);
  if (a->err_open) close_handle((uv_handle_t *)&a->err_pipe);
  a->out_open = a->err_open = 0;
  maybe_finish(a);
}

static void on_exit_cb(uv_process_t *p, int64_t status, int term_signal) {
  agent *a = p->data;
  a->child_alive = 0;
  a->exit_status = status;
  a->term_signal = term_signal;
  agent_log(LOG_INFO, "the service exited", "pid=%d status=%lld signal=%d", p->pid, (long long)status, term_signal);
  uv_close((uv_handle_t *)p, NULL);
  uv_timer_start(&a->grace_timer, on_grace, PIPE_GRACE_MS, 0);
  maybe_finish(a);
}

static void on_signal(uv_signal_t *h, int signum) {
  agent *a = h->data;
  if (a->cfg.mode == AGENT_RUN && a->child_alive) {
    if (signum == SIGTERM || signum == SIGINT) scraper_service_stopping(a->sc);
    uv_process_kill(&a->proc, signum);
    return;
  }
  if (a->stopping && ++a->signals_after_exit > 1) {
    agent_log(LOG_WARN, "second signal while draining: exiting now", "signal=%d", signum);
    _exit(a->cfg.mode == AGENT_RUN ? 128 + signum : 1);
  }
  agent_log(LOG_INFO, "stopping", "signal=%d", signum);
  shutdown_agent(a);
}

/* --- reading ---------------------------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  agent *a = h->data;
  (void)suggested;
  *buf = uv_buf_init(a->rbuf, sizeof a->rbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  agent *a = s->data;
  int is_err = s == (uv_stream_t *)&a->err_pipe, is_out = s == (uv_stream_t *)&a->out_pipe;
  if (nread > 0) {
    int64_t stamp = agent_now_ns();
    if (is_out) {
      write_out(1, buf->base, (size_t)nread);
      return;
    }
    write_out(2, buf->base, (size_t)nread); /* the service's stderr, or --stdin's input */
    feed(a, buf->base, (size_t)nread, stamp);
    return;
  }
  if (nread == 0) return; /* EAGAIN */
  if (nread != UV_EOF)
    agent_log(LOG_WARN, "read failed", "stream=%s error=%s", is_out ? "stdout" : "stderr", uv_strerror((int)nread));
  if (!is_out) feed_end(a);
  close_handle((uv_handle_t *)s);
  if (is_out) a->out_open = 0;
  else if (is_err) a->err_open = 0;
  else {
    a->in_open = 0;
    agent_log(LOG_INFO, "end of standard input", NULL);
    shutdown_agent(a);
    return;
  }
  maybe_finish(a);
}

/* --tail FILE: follows the file by polling. A file that shrank was truncated:
 * read again from its start. A file whose name now points elsewhere was
 * rotated: finish the old one, then read the new one from its start. The same
 * poll reads standard input when it is a regular file (to its end, once). */
static void on_poll(uv_timer_t *t) {
  agent *a = t->data;
  const char *path = a->cfg.mode == AGENT_TAIL ? a->cfg.tail_path : NULL;
  struct stat st;
  if (a->tail_fd < 0 && path) {
    a->tail_fd = open(path, O_RDONLY | O_CLOEXEC);
    if (a->tail_fd < 0) { /* not there yet: when it comes, all of it is new */
      a->tail_opened_once = 1;
      return;
    }
    if (fstat(a->tail_fd, &st)) st.st_size = 0;
    a->tail_ino = st.st_ino;
    a->tail_dev = st.st_dev;
    a->tail_off = !a->tail_opened_once && !a->cfg.tail_from_start ? st.st_size : 0;
    agent_log(LOG_INFO, "following", "file=\"%s\" from=%lld", path, (long long)a->tail_off);
    a->tail_opened_once = 1;
  }
  if (a->tail_fd < 0) return;
  if (fstat(a->tail_fd, &st) == 0 && st.st_size < a->tail_off) {
    agent_log(LOG_INFO, "the file was truncated: reading it from its start", "file=\"%s\"", path ? path : "-");
    a->tail_off = 0;
    a->line_len = 0; /* the half line before the truncation will never end */
  }
  size_t got = 0;
  for (;;) {
    ssize_t n = pread(a->tail_fd, a->rbuf, sizeof a->rbuf, a->tail_off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (!path) { /* standard input read whole */
        feed_end(a);
        shutdown_agent(a);
        return;
      }
      break;
    }
    a->tail_off += n;
    got += (size_t)n;
    feed(a, a->rbuf, (size_t)n, agent_now_ns());
    if (got >= TAIL_MAX_PER_POLL) return; /* the rest at the next poll */
  }
  struct stat now;
  if (stat(path, &now) || now.st_ino != a->tail_ino || now.st_dev != a->tail_dev) {
    agent_log(LOG_INFO, "the file was rotated: following the new one", "file=\"%s\"", path);
    feed_end(a);
    close(a->tail_fd);
    a->tail_fd = -1;
    on_poll(t); /* the new file, from its start, now */
  }
}

/* --- timers --------------------------------------------------------------------------------- */

static void on_batch_timer(uv_timer_t *t) { push_batch(t->data); }

static void write_stats(agent *a) {
  if (!a->cfg.stats_file) return;
  mw_client_stats cs;
  sender_client_stats(a->snd, &cs);
  if (agent_stats_write(a->cfg.stats_file, &cs))
    agent_log(LOG_WARN, "cannot write the stats file", "file=\"%s\" error=\"%s\"", a->cfg.stats_file, strerror(errno));
}

static void on_stats_timer(uv_timer_t *t) { write_stats(t->data); }

static void on_goroutines(void *user, uint64_t total, int64_t time_ns) {
  agent *a = user;
  (void)time_ns;
  const char *why = trigger_goroutines(a->trig, agent_mono_ms(), total);
  if (why) {
    char d[64];
    snprintf(d, sizeof d, "goroutines=%llu", (unsigned long long)total);
    fire(a, why, d);
  }
}

/* --- the child ---------------------------------------------------------------------------- */

/* "k=v,k2=v2" has key k? */
static int has_key(const char *list, const char *key) {
  size_t kl = strlen(key);
  for (const char *p = list; p && *p;) {
    while (*p == ' ' || *p == ',') p++;
    if (!strncmp(p, key, kl) && (p[kl] == '=' || p[kl] == ',' || p[kl] == ' ' || !p[kl])) return 1;
    p = strchr(p, ',');
  }
  return 0;
}

static void child_env_free(child_env *e) {
  for (int i = 0; i < e->n_owned; i++) free(e->owned[i]);
  free(e->env);
  memset(e, 0, sizeof *e);
}

/* Sets name=value in e (replacing an inherited one). 0 or -1. */
static int env_set(child_env *e, const char *name, const char *value) {
  size_t nl = strlen(name), len = nl + strlen(value) + 2;
  char *entry = malloc(len);
  if (!entry || e->n_owned == 3) {
    free(entry);
    return -1;
  }
  snprintf(entry, len, "%s=%s", name, value);
  e->owned[e->n_owned++] = entry;
  for (size_t i = 0; i < e->n; i++)
    if (!strncmp(e->env[i], name, nl) && e->env[i][nl] == '=') {
      e->env[i] = entry;
      return 0;
    }
  char **p = realloc(e->env, (e->n + 2) * sizeof *p);
  if (!p) return -1;
  p[e->n++] = entry;
  p[e->n] = NULL;
  e->env = p;
  return 0;
}

/* The child's environment: GODEBUG with gctrace and schedtrace added (keys the
 * user set win), and the identity the agent pushes with when the service's
 * own OpenTelemetry variables do not name one, so that spans and runtime data
 * meet in one source. 0 or -1. */
static int child_environment(const agent_config *cfg, child_env *e) {
  int rc = -1;
  char buf[4096];
  char *named = NULL, *inst = NULL;
  while (environ[e->n]) e->n++;
  if (!(e->env = malloc((e->n + 1) * sizeof *e->env))) return -1;
  memcpy(e->env, environ, (e->n + 1) * sizeof *e->env);
  if (cfg->godebug) {
    const char *g = getenv("GODEBUG");
    snprintf(buf, sizeof buf, "%s", g ? g : "");
    if (!has_key(buf, "gctrace")) snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%sgctrace=1", *buf ? "," : "");
    if (cfg->schedtrace_ms > 0 && !has_key(buf, "schedtrace"))
      snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%sschedtrace=%d", *buf ? "," : "", cfg->schedtrace_ms);
    if (env_set(e, "GODEBUG", buf)) goto out;
  }
  const char *attrs = getenv("OTEL_RESOURCE_ATTRIBUTES");
  const char *svc = getenv("OTEL_SERVICE_NAME");
  named = agent_resource_attr(attrs, "service.name");
  if ((!svc || !*svc) && !named && env_set(e, "OTEL_SERVICE_NAME", cfg->service)) goto out;
  inst = agent_resource_attr(attrs, "service.instance.id");
  if (!inst && cfg->instance) {
    size_t o = (size_t)snprintf(buf, sizeof buf, "%s%sservice.instance.id=", attrs && *attrs ? attrs : "",
                                attrs && *attrs ? "," : "");
    for (const unsigned char *c = (const unsigned char *)cfg->instance; *c && o + 4 < sizeof buf; c++) {
      if (*c == ',' || *c == '=' || *c == '%' || *c <= ' ' || *c >= 0x7f)
        o += (size_t)snprintf(buf + o, 4, "%%%02X", *c);
      else buf[o++] = (char)*c;
    }
    buf[o] = '\0';
    if (env_set(e, "OTEL_RESOURCE_ATTRIBUTES", buf)) goto out;
  }
  rc = 0;
out:
  free(named);
  free(inst);
  return rc;
}

static int spawn_child(agent *a) {
  if (child_environment(&a->cfg, &a->env)) return UV_ENOMEM;
  uv_pipe_init(a->loop, &a->out_pipe, 0);
  uv_pipe_init(a->loop, &a->err_pipe, 0);
  a->out_pipe.data = a->err_pipe.data = a;
  uv_stdio_container_t stdio[3] = {
      {.flags = UV_INHERIT_FD, .data.fd = 0},
      {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&a->out_pipe},
      {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&a->err_pipe},
  };
  uv_process_options_t o = {.exit_cb = on_exit_cb,
                            .file = a->cfg.child_argv[0],
                            .args = a->cfg.child_argv,
                            .env = a->env.env,
                            .stdio_count = 3,
                            .stdio = stdio};
  a->proc.data = a;
  a->process_start_ns = agent_now_ns(); /* as close to the exec as libuv lets us */
  int rc = uv_spawn(a->loop, &a->proc, &o);
  if (rc) {
    uv_close((uv_handle_t *)&a->proc, NULL);
    uv_close((uv_handle_t *)&a->out_pipe, NULL);
    uv_close((uv_handle_t *)&a->err_pipe, NULL);
    return rc;
  }
  a->child_spawned = a->child_alive = 1;
  a->out_open = a->err_open = 1;
  uv_read_start((uv_stream_t *)&a->out_pipe, on_alloc, on_read);
  uv_read_start((uv_stream_t *)&a->err_pipe, on_alloc, on_read);
  agent_log(LOG_INFO, "started the service", "pid=%d command=\"%s\" process_start=%lld", a->proc.pid,
            a->cfg.child_argv[0], (long long)a->process_start_ns);
  return 0;
}

static int open_stdin(agent *a) {
  uv_handle_type t = uv_guess_handle(0);
  int rc;
  if (t == UV_FILE) { /* a regular file: read it through the poll, once */
    a->tail_fd = 0;
    a->tail_off = lseek(0, 0, SEEK_CUR) > 0 ? lseek(0, 0, SEEK_CUR) : 0;
    a->in_is_file = 1;
    return 0;
  }
  if (t == UV_TTY) rc = uv_tty_init(a->loop, &a->in.tty, 0, 1);
  else if ((rc = uv_pipe_init(a->loop, &a->in.pipe, 0)) == 0) rc = uv_pipe_open(&a->in.pipe, 0);
  if (rc) return rc;
  a->in.pipe.data = a;
  a->in_open = 1;
  return uv_read_start((uv_stream_t *)&a->in, on_alloc, on_read);
}

/* --- main ---------------------------------------------------------------------------------- */

static int run(agent *a) {
  char err[512];
  int ret = 2;
  a->loop = uv_default_loop();
  a->start_mono_ms = agent_mono_ms();
  a->tail_fd = -1;
  if (!(a->line = malloc(LINE_MAX_BYTES)) || !(a->trig = trigger_new(&a->cfg))) {
    fprintf(stderr, "meanwhile-agent: out of memory\n");
    goto out;
  }
  if (sender_start(&a->cfg, &a->snd, err, sizeof err)) {
    fprintf(stderr, "meanwhile-agent: %s\n", err);
    agent_log(LOG_ERROR, "cannot start", "error=\"%s\"", err);
    goto out;
  }
  agent_log(LOG_INFO, "starting",
            "service=\"%s\" instance=\"%s\" collector=\"%s\" runtime=%s pprof=\"%s\" spool_dir=\"%s\"", a->cfg.service,
            a->cfg.instance ? a->cfg.instance : "", a->cfg.collector, a->cfg.otlp_runtime ? "otlp" : "ingest",
            a->cfg.pprof, a->cfg.spool_dir ? a->cfg.spool_dir : "");
  uv_timer_init(a->loop, &a->batch_timer);
  uv_timer_init(a->loop, &a->stats_timer);
  uv_timer_init(a->loop, &a->grace_timer);
  a->batch_timer.data = a->stats_timer.data = a->grace_timer.data = a;
  for (int i = 0; i < 4; i++) {
    uv_signal_init(a->loop, &a->sigs[i]);
    a->sigs[i].data = a;
    if (a->cfg.mode == AGENT_RUN || forwarded[i] == SIGINT || forwarded[i] == SIGTERM)
      uv_signal_start(&a->sigs[i], on_signal, forwarded[i]);
  }
  if (a->cfg.mode == AGENT_RUN) {
    int rc = spawn_child(a);
    if (rc) {
      fprintf(stderr, "meanwhile-agent: cannot start %s: %s\n", a->cfg.child_argv[0], uv_strerror(rc));
      ret = rc == UV_ENOENT ? 127 : 126;
      shutdown_agent(a);
      uv_run(a->loop, UV_RUN_DEFAULT);
      goto out;
    }
  } else if (a->cfg.mode == AGENT_STDIN) {
    int rc = open_stdin(a);
    if (rc) {
      fprintf(stderr, "meanwhile-agent: cannot read standard input: %s\n", uv_strerror(rc));
      shutdown_agent(a);
      uv_run(a->loop, UV_RUN_DEFAULT);
      goto out;
    }
  }
  if (a->cfg.mode == AGENT_TAIL || a->in_is_file) {
    uv_timer_init(a->loop, &a->poll_timer);
    a->poll_timer.data = a;
    a->poll_open = 1;
    uv_timer_start(&a->poll_timer, on_poll, 0, TAIL_POLL_MS);
  }
  scraper_start(a->loop, &a->cfg, a->snd, on_goroutines, a, &a->sc);
  if (!a->stopping && uv_async_init(a->loop, &a->requests, on_requests) == 0) {
    a->requests.data = a;
    a->requests_open = 1;
    sender_on_requests(a->snd, wake_requests, &a->requests);
  }
  uv_timer_start(&a->batch_timer, on_batch_timer, (uint64_t)a->cfg.batch_interval_ms,
                 (uint64_t)a->cfg.batch_interval_ms);
  if (a->cfg.stats_file) {
    write_stats(a);
    uv_timer_start(&a->stats_timer, on_stats_timer, (uint64_t)a->cfg.stats_interval_ms,
                   (uint64_t)a->cfg.stats_interval_ms);
  }
  uv_run(a->loop, UV_RUN_DEFAULT);
  ret = 0;
  if (a->cfg.mode == AGENT_RUN) ret = a->term_signal ? 128 + a->term_signal : (int)(a->exit_status & 0xff);

out:
  scraper_free(&a->sc); /* joins the CPU thread: no capture comes after this */
  if (a->snd) {
    mw_client_stats cs;
    char summary[512];
    sender_stop(&a->snd, a->cfg.drain_timeout_ms, &cs);
    if (a->cfg.stats_file && agent_stats_write(a->cfg.stats_file, &cs))
      agent_log(LOG_WARN, "cannot write the stats file", "file=\"%s\"", a->cfg.stats_file);
    agent_stats_summary(summary, sizeof summary);
    agent_log(LOG_INFO, "stopped",
              "exit=%d %s pushed=%llu delivered=%llu spooled=%llu rejected=%llu dropped=%llu "
              "spool_files=%llu",
              ret, summary, (unsigned long long)cs.pushed, (unsigned long long)cs.delivered,
              (unsigned long long)cs.spooled, (unsigned long long)cs.rejected, (unsigned long long)cs.dropped,
              (unsigned long long)cs.spool_files);
  }
  if (a->loop) uv_loop_close(a->loop);
  trigger_free(&a->trig);
  free(a->line);
  free(a->batch);
  child_env_free(&a->env);
  return ret;
}

int main(int argc, char **argv) {
  static agent a; /* static: the read buffer and the handles are large */
  char err[1024];
  int rc = agent_config_load(argc, argv, &a.cfg, stdout, err, sizeof err);
  if (rc == AGENT_CONFIG_EXIT) return 0;
  if (rc) {
    fprintf(stderr, "meanwhile-agent: %s\nTry 'meanwhile-agent --help'.\n", err);
    agent_config_free(&a.cfg);
    return 2;
  }
  if (agent_log_open(a.cfg.log_file, a.cfg.log_level)) {
    fprintf(stderr, "meanwhile-agent: cannot open --log-file %s: %s\n", a.cfg.log_file, strerror(errno));
    agent_config_free(&a.cfg);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    fprintf(stderr, "meanwhile-agent: cannot initialise libcurl\n");
    return 2;
  }
  int ret = run(&a);
  curl_global_cleanup();
  agent_log_close();
  agent_config_free(&a.cfg);
  return ret;
}

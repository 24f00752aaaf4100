/* The agent's pprof scrapes. Goroutine profiles (debug=0, with labels), full
 * dumps (debug=2), heap profiles and goroutine leak profiles are GETs in
 * libuv's thread pool, started by timers on the loop; a scrape still in
 * flight when its timer fires again is skipped (and counted), never doubled.
 * CPU profiles block for their whole window (/profile?seconds=N), so they run
 * back to back in a thread of their own. Every capture goes to the sender stamped with the moment its scrape
 * started (unix ns) — a goroutine profile with the runtime's own time of it — and, for CPU profiles and
 * execution traces, the window's length.
 *
 * Goroutine profiles cost the service time in proportion to its goroutines
 * (every stack is walked: ~20 ms for 10,000 goroutines on Go 1.19). Each one's
 * duration is measured, and the next waits until the scrapes have taken no more
 * than --goroutine-budget of the time: at 10,000 goroutines and 1%, one every
 * ~2 s instead of 5 per second.
 *
 * A trigger asks for a debug=2 dump at once and marks the CPU window that is
 * in progress (the one that covers the moment of the trigger); without
 * continuous CPU profiles it starts a single window instead.
 *
 * The goroutine leak profile (/goroutineleak) exists in Go 1.27 and in Go 1.26
 * built with GOEXPERIMENT=goroutineleakprofile; elsewhere net/http/pprof
 * answers 404 "Unknown profile". The first such answer says the service has
 * none: it is logged once and never asked again. Each one runs a GC cycle, so
 * it is taken on a slow schedule (--leak-interval) and on triggers.
 *
 * Execution traces (/trace?seconds=N, --trace-seconds) are taken on triggers
 * and every --trace-interval, within --trace-budget: they record forward from
 * the request, so they show what follows a trigger, not what caused it (a
 * service that links client/go keeps the past with its flight recorder). */
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include <zlib.h>

#include "agent.h"

enum {
  MAX_SCRAPE_BYTES = 64 << 20, /* meanwhiled's default body limit */
  TRIGGER_CPU_SECONDS = 10,    /* the window of a triggered profile without continuous ones */
  TRACE_BUDGET_MS = 600000,    /* --trace-budget is a share of this much time */
  TRACE_RING = 64,             /* traces remembered for the budget */
  URL_MAX = 4096,
  CPU_RETRY_MS = 1000,      /* after a CPU profile failed once the service had answered */
  CPU_START_RETRY_MS = 100, /* while the service has not answered yet: it is starting */
  CPU_START_MS = 60000,     /* how long a service may take to start: fast tries until then */
};

typedef struct slot {
  scraper *sc;
  const char *kind;  /* what it is pushed as */
  const char *label; /* for logs: "goroutine", "dump", "heap", "cpu" */
  char url[URL_MAX];
  long timeout_ms;
  int64_t duration_ns;
  int count_goroutines;
  uv_work_t work;
  int busy;                    /* loop thread only */
  const char *pending_trigger; /* a trigger that came while busy */
  int failing;                 /* logged as failing; cleared by a success */
  CURL *curl;                  /* used by one job at a time */
  /* one job's input and result */
  const char *trigger;
  int64_t time_ns;
  int64_t took_ms; /* the GET's duration */
  long status;     /* the answer's HTTP status; 0: no answer (not listening yet, or gone) */
  int cut;         /* the transfer broke off (no answer, or an answer cut short) */
  uint8_t *body;
  size_t len;
  int ok;
  uint64_t total;
  int have_total;
  char err[CURL_ERROR_SIZE + 64];
} slot;

struct scraper {
  uv_loop_t *loop;
  const agent_config *cfg;
  sender *snd;
  scraper_goroutines_fn on_goroutines;
  void *user;
  slot goroutine, dump, heap, cpu_once, leak, trace;
  uv_timer_t t_goroutine, t_dump, t_heap, t_leak, t_trace;
  int64_t trace_started_ms[TRACE_RING]; /* monotonic starts of recent traces (loop thread) */
  unsigned trace_next;
  int trace_over_budget; /* logged that the budget skips traces */
  int leak_absent;       /* the service has no goroutine leak profile (loop thread) */
  int timers_open;
  pthread_t cpu_thread;
  int cpu_thread_started;
  slot cpu; /* the thread's own: its url, curl handle and buffers */
  atomic_int stop;
  atomic_int service_stopping;       /* scraper_service_stopping was called */
  _Atomic(const char *) cpu_trigger; /* marks the window in progress */
  int64_t goroutine_every_ms;        /* from --goroutine-rate */
  int64_t goroutine_started_ms;      /* monotonic start of the last goroutine scrape */
  int goroutine_slowed;              /* logged that the budget lowers the rate */
};

/* --- HTTP GET ------------------------------------------------------------------------- */

typedef struct sink {
  uint8_t *data;
  size_t len, cap;
  int too_big;
} sink;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *user) {
  sink *s = user;
  size_t n = size * nmemb;
  if (n > MAX_SCRAPE_BYTES - s->len) {
    s->too_big = 1;
    return 0;
  }
  if (s->len + n > s->cap) {
    size_t cap = s->cap ? s->cap : 65536;
    while (cap < s->len + n) cap *= 2;
    uint8_t *p = realloc(s->data, cap);
    if (!p) return 0;
    s->data = p;
    s->cap = cap;
  }
  memcpy(s->data + s->len, ptr, n);
  s->len += n;
  return n;
}

static int on_progress(void *user, curl_off_t dlt, curl_off_t dln, curl_off_t ult, curl_off_t uln) {
  (void)dlt, (void)dln, (void)ult, (void)uln;
  return atomic_load(&((scraper *)user)->stop) != 0; /* non-zero aborts the transfer */
}

/* GETs sl->url into sl->body/len; sl->ok says whether it is a 200. */
static void get(slot *sl) {
  sink s = {0};
  char errbuf[CURL_ERROR_SIZE] = "";
  sl->ok = 0;
  sl->cut = 0;
  sl->err[0] = '\0';
  if (!sl->curl && !(sl->curl = curl_easy_init())) {
    snprintf(sl->err, sizeof sl->err, "cannot initialise libcurl");
    return;
  }
  CURL *c = sl->curl;
  curl_easy_setopt(c, CURLOPT_URL, sl->url);
  curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, sl->timeout_ms);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, sl->sc);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "meanwhile-agent/" MW_CLIENT_VERSION);
  CURLcode cc = curl_easy_perform(c);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  sl->status = status;
  if (s.too_big) {
    snprintf(sl->err, sizeof sl->err, "answer over %d MiB", MAX_SCRAPE_BYTES >> 20);
  } else if (cc != CURLE_OK) {
    sl->cut = 1;
    snprintf(sl->err, sizeof sl->err, "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
  } else if (status != 200) {
    snprintf(sl->err, sizeof sl->err, "HTTP %ld: %.*s", status, (int)(s.len < 200 ? s.len : 200),
             s.data ? (const char *)s.data : "");
    for (char *p = sl->err; *p; p++)
      if (*p == '\n' || *p == '"') *p = ' ';
  } else {
    sl->ok = 1;
    sl->body = s.data;
    sl->len = s.len;
    return;
  }
  free(s.data);
}

static void report(slot *sl) {
  if (sl->ok) {
    if (sl->failing) agent_log(LOG_INFO, "scrapes work again", "what=%s", sl->label);
    sl->failing = 0;
    return;
  }
  /* cut short by our own stop, or by the service going away as it was told to */
  if (atomic_load(&sl->sc->stop) || (atomic_load(&sl->sc->service_stopping) && sl->cut)) {
    agent_stats_add(sl->kind, STAT_SCRAPE_SKIPPED, 1);
    agent_log(LOG_DEBUG, "scrape cut short: stopping", "what=%s error=\"%s\"", sl->label, sl->err);
    return;
  }
  agent_stats_add(sl->kind, STAT_SCRAPE_ERRORS, 1);
  agent_log(sl->failing ? LOG_DEBUG : LOG_WARN, "scrape failed", "what=%s url=\"%s\" error=\"%s\"", sl->label, sl->url,
            sl->err);
  sl->failing = 1;
}

/* --- thread-pool scrapes ------------------------------------------------------------------ */

static void start_slot(scraper *sc, slot *sl, const char *trigger);
static void schedule_goroutines(scraper *sc, int64_t took_ms);

static void work_cb(uv_work_t *w) {
  slot *sl = w->data;
  sl->time_ns = agent_now_ns();
  int64_t t0 = agent_mono_ms();
  get(sl);
  sl->took_ms = agent_mono_ms() - t0;
  int64_t taken_ns = 0;
  sl->have_total =
      sl->ok && sl->count_goroutines && agent_goroutine_total(sl->body, sl->len, &sl->total, &taken_ns) == 0;
  /* The runtime stamps the profile when it has recorded the goroutines, with the
   * clock its spans are stamped with; the scrape began earlier by the request's
   * latency, which under load is enough to place a profile taken after a span
   * ended inside that span. */
  if (sl->have_total && taken_ns > 0) sl->time_ns = taken_ns;
}

/* A leak profile answer that says the service has none: 1, and the leak
 * scrapes stop for good. */
static int leak_absent(scraper *sc, slot *sl) {
  int none = sl->status == 404 || strstr(sl->err, "nknown profile"); /* net/http/pprof: "Unknown profile" */
  if (sl != &sc->leak || sl->ok || !none) return 0;
  sc->leak_absent = 1;
  sl->pending_trigger = NULL;
  uv_timer_stop(&sc->t_leak);
  agent_log(LOG_INFO,
            "the service has no goroutine leak profile (Go 1.27, or Go 1.26 with "
            "GOEXPERIMENT=goroutineleakprofile): not asked again",
            "url=\"%s\" answer=\"%s\"", sl->url, sl->err);
  return 1;
}

static void after_cb(uv_work_t *w, int status) {
  slot *sl = w->data;
  scraper *sc = sl->sc;
  sl->busy = 0;
  if (status == UV_ECANCELED) sl->ok = 0;
  if (leak_absent(sc, sl)) return;
  report(sl);
  if (sl->ok) {
    if (sl->have_total && sc->on_goroutines) sc->on_goroutines(sc->user, sl->total, sl->time_ns);
    if (sl->trigger) agent_stats_add(sl->kind, STAT_TRIGGERED, 1);
    sender_enqueue(sc->snd, sl->kind, sl->body, sl->len, sl->time_ns, sl->duration_ns, 0, sl->trigger);
    sl->body = NULL;
  }
  const char *pending = sl->pending_trigger;
  sl->pending_trigger = NULL;
  if (pending) start_slot(sc, sl, pending);
  if (sl == &sc->goroutine) schedule_goroutines(sc, sl->took_ms);
}

static void start_slot(scraper *sc, slot *sl, const char *trigger) {
  if (atomic_load(&sc->stop)) return;
  if (sl->busy) {
    if (trigger) sl->pending_trigger = trigger;
    else agent_stats_add(sl->kind, STAT_SCRAPE_SKIPPED, 1);
    return;
  }
  sl->trigger = trigger;
  sl->status = 0;
  sl->work.data = sl;
  if (uv_queue_work(sc->loop, &sl->work, work_cb, after_cb) == 0) sl->busy = 1;
}

static void on_goroutine_timer(uv_timer_t *t) {
  scraper *sc = t->data;
  sc->goroutine_started_ms = agent_mono_ms();
  start_slot(sc, &sc->goroutine, NULL);
}

/* The next goroutine scrape: --goroutine-rate's period after the last one
 * started, or later when the last one took more than the budget allows. */
static void schedule_goroutines(scraper *sc, int64_t took_ms) {
  if (atomic_load(&sc->stop)) return;
  int64_t every = sc->goroutine_every_ms;
  double budget = sc->cfg->goroutine_budget;
  if (budget > 0 && took_ms * 100.0 / budget > (double)every) {
    every = (int64_t)(took_ms * 100.0 / budget);
    if (!sc->goroutine_slowed)
      agent_log(LOG_INFO, "goroutine profiles are slow: taking fewer", "took_ms=%lld every_ms=%lld budget_pct=%g",
                (long long)took_ms, (long long)every, budget);
    sc->goroutine_slowed = 1;
  } else if (sc->goroutine_slowed && took_ms * 100.0 / budget * 2 < (double)sc->goroutine_every_ms) {
    agent_log(LOG_INFO, "goroutine profiles are fast again", "took_ms=%lld every_ms=%lld", (long long)took_ms,
              (long long)every);
    sc->goroutine_slowed = 0;
  }
  if (every > 60000) every = 60000; /* still one a minute */
  int64_t delay = sc->goroutine_started_ms + every - agent_mono_ms();
  uv_timer_start(&sc->t_goroutine, on_goroutine_timer, (uint64_t)(delay > 0 ? delay : 0), 0);
}

static void on_dump_timer(uv_timer_t *t) {
  scraper *sc = t->data;
  start_slot(sc, &sc->dump, NULL);
}

static void on_heap_timer(uv_timer_t *t) {
  scraper *sc = t->data;
  start_slot(sc, &sc->heap, NULL);
}

static void on_leak_timer(uv_timer_t *t) {
  scraper *sc = t->data;
  if (!sc->leak_absent) start_slot(sc, &sc->leak, NULL);
}

/* An execution trace, unless it would put the traces of the last ten minutes
 * over --trace-budget of them. The tracer slows the service a little while it
 * runs and meanwhiled reads every trace: triggers must not make that constant. */
static void start_trace(scraper *sc, const char *trigger) {
  if (sc->trace.busy) { /* the trace in progress covers the moment of a trigger too */
    agent_stats_add("exectrace", STAT_SCRAPE_SKIPPED, 1);
    return;
  }
  int64_t now = agent_mono_ms(), span = sc->cfg->trace_seconds * 1000LL, covered = span;
  for (unsigned i = 0; i < TRACE_RING; i++) {
    int64_t t = sc->trace_started_ms[i];
    if (t && now - t < TRACE_BUDGET_MS) covered += span;
  }
  if (covered * 100.0 > sc->cfg->trace_budget * TRACE_BUDGET_MS) {
    agent_stats_add("exectrace", STAT_SCRAPE_SKIPPED, 1);
    if (!sc->trace_over_budget)
      agent_log(LOG_INFO, "execution trace skipped: over its budget", "budget_pct=%g seconds=%d", sc->cfg->trace_budget,
                sc->cfg->trace_seconds);
    sc->trace_over_budget = 1;
    return;
  }
  sc->trace_over_budget = 0;
  sc->trace_started_ms[sc->trace_next++ % TRACE_RING] = now;
  start_slot(sc, &sc->trace, trigger);
}

static void on_trace_timer(uv_timer_t *t) { start_trace(t->data, NULL); }

/* --- back-to-back CPU profiles ---------------------------------------------------------------- */

/* The CPU thread: one window after the other. A window that fails is tried
 * again after a pause: a long one (CPU_RETRY_MS) once the service has answered
 * at all (someone else is profiling, or the service is going away), a short
 * one while it never has: it is still starting, and every moment lost then is
 * lost from its first window (a 20 s run would keep one 10 s profile, not two). */
static void *cpu_main(void *arg) {
  scraper *sc = arg;
  slot *sl = &sc->cpu;
  int answered = 0;
  int64_t started_ms = agent_mono_ms();
  while (!atomic_load(&sc->stop)) {
    int64_t t0 = agent_now_ns();
    get(sl);
    if (atomic_load(&sc->stop)) break;
    report(sl);
    if (sl->status) answered = 1;
    if (!sl->ok) {
      int starting = !answered && agent_mono_ms() - started_ms < CPU_START_MS;
      int64_t until = agent_mono_ms() + (starting ? CPU_START_RETRY_MS : CPU_RETRY_MS);
      while (!atomic_load(&sc->stop) && agent_mono_ms() < until) uv_sleep(CPU_START_RETRY_MS);
      continue;
    }
    const char *trigger = atomic_exchange(&sc->cpu_trigger, NULL);
    if (trigger) agent_stats_add("cpu", STAT_TRIGGERED, 1);
    sender_enqueue(sc->snd, "cpu", sl->body, sl->len, t0, sl->duration_ns, 0, trigger);
    sl->body = NULL;
  }
  free(sl->body);
  sl->body = NULL;
  return NULL;
}

/* --- the scraper ----------------------------------------------------------------------------- */

static void init_slot(scraper *sc, slot *sl, const char *kind, const char *label, const char *path, long timeout_ms) {
  sl->sc = sc;
  sl->kind = kind;
  sl->label = label;
  sl->timeout_ms = timeout_ms;
  snprintf(sl->url, sizeof sl->url, "%s%s", sc->cfg->pprof, path);
}

int scraper_start(uv_loop_t *loop, const agent_config *cfg, sender *snd, scraper_goroutines_fn on_goroutines,
                  void *user, scraper **out) {
  scraper *sc = calloc(1, sizeof *sc);
  if (!sc) return -1;
  char path[64];
  long t = (long)cfg->scrape_timeout_ms;
  sc->loop = loop;
  sc->cfg = cfg;
  sc->snd = snd;
  sc->on_goroutines = on_goroutines;
  sc->user = user;
  atomic_init(&sc->stop, 0);
  atomic_init(&sc->service_stopping, 0);
  atomic_init(&sc->cpu_trigger, NULL);
  init_slot(sc, &sc->goroutine, "goroutine", "goroutine", "/goroutine", t);
  sc->goroutine.count_goroutines = 1;
  init_slot(sc, &sc->dump, "goroutine", "dump", "/goroutine?debug=2", t);
  init_slot(sc, &sc->heap, "heap", "heap", "/heap", t);
  init_slot(sc, &sc->leak, "goroutineleak", "leak", "/goroutineleak", t);
  if (cfg->trace_seconds > 0) {
    snprintf(path, sizeof path, "/trace?seconds=%d", cfg->trace_seconds);
    init_slot(sc, &sc->trace, "exectrace", "trace", path, cfg->trace_seconds * 1000L + t); /* its times are its own */
  }
  snprintf(path, sizeof path, "/profile?seconds=%d", TRIGGER_CPU_SECONDS);
  init_slot(sc, &sc->cpu_once, "cpu", "cpu", path, TRIGGER_CPU_SECONDS * 1000L + t);
  sc->cpu_once.duration_ns = TRIGGER_CPU_SECONDS * 1000000000LL;

  uv_timer_init(loop, &sc->t_goroutine);
  uv_timer_init(loop, &sc->t_dump);
  uv_timer_init(loop, &sc->t_heap);
  uv_timer_init(loop, &sc->t_leak);
  uv_timer_init(loop, &sc->t_trace);
  sc->t_goroutine.data = sc->t_dump.data = sc->t_heap.data = sc->t_leak.data = sc->t_trace.data = sc;
  sc->timers_open = 1;
  if (cfg->goroutine_rate > 0) {
    int64_t every = (int64_t)(1000.0 / cfg->goroutine_rate + 0.5);
    sc->goroutine_every_ms = every ? every : 1;
    uv_timer_start(&sc->t_goroutine, on_goroutine_timer, (uint64_t)sc->goroutine_every_ms, 0);
  }
  if (cfg->dump_interval_ms > 0)
    uv_timer_start(&sc->t_dump, on_dump_timer, (uint64_t)cfg->dump_interval_ms, (uint64_t)cfg->dump_interval_ms);
  if (cfg->heap_interval_ms > 0)
    uv_timer_start(&sc->t_heap, on_heap_timer, (uint64_t)cfg->heap_interval_ms, (uint64_t)cfg->heap_interval_ms);
  if (cfg->leak_interval_ms > 0)
    uv_timer_start(&sc->t_leak, on_leak_timer, (uint64_t)cfg->leak_interval_ms, (uint64_t)cfg->leak_interval_ms);
  if (cfg->trace_seconds > 0 && cfg->trace_interval_ms > 0)
    uv_timer_start(&sc->t_trace, on_trace_timer, (uint64_t)cfg->trace_interval_ms, (uint64_t)cfg->trace_interval_ms);
  if (cfg->cpu_seconds > 0) {
    snprintf(path, sizeof path, "/profile?seconds=%d", cfg->cpu_seconds);
    init_slot(sc, &sc->cpu, "cpu", "cpu", path, cfg->cpu_seconds * 1000L + t);
    sc->cpu.duration_ns = cfg->cpu_seconds * 1000000000LL;
    if (pthread_create(&sc->cpu_thread, NULL, cpu_main, sc) == 0) sc->cpu_thread_started = 1;
    else agent_log(LOG_ERROR, "cannot start the CPU profile thread", NULL);
  }
  *out = sc;
  return 0;
}

void scraper_trigger(scraper *sc, const char *reason) {
  if (atomic_load(&sc->stop)) return;
  start_slot(sc, &sc->dump, reason);
  /* a rule saw the heap or goroutines grow: the heap profile says where */
  if (strncmp(reason, "rule:", 5) == 0) start_slot(sc, &sc->heap, reason);
  if (sc->cfg->leak_interval_ms > 0 && !sc->leak_absent) start_slot(sc, &sc->leak, reason);
  if (sc->cfg->trace_seconds > 0) start_trace(sc, reason);
  if (sc->cpu_thread_started) atomic_store(&sc->cpu_trigger, reason);
  else start_slot(sc, &sc->cpu_once, reason);
}

void scraper_service_stopping(scraper *sc) {
  if (sc) atomic_store(&sc->service_stopping, 1);
}

void scraper_stop(scraper *sc) {
  if (!sc || atomic_load(&sc->stop)) return;
  atomic_store(&sc->stop, 1);
  if (sc->timers_open) {
    uv_close((uv_handle_t *)&sc->t_goroutine, NULL);
    uv_close((uv_handle_t *)&sc->t_dump, NULL);
    uv_close((uv_handle_t *)&sc->t_heap, NULL);
    uv_close((uv_handle_t *)&sc->t_leak, NULL);
    uv_close((uv_handle_t *)&sc->t_trace, NULL);
    sc->timers_open = 0;
  }
  slot *slots[] = {&sc->goroutine, &sc->dump, &sc->heap, &sc->cpu_once, &sc->leak, &sc->trace};
  for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++)
    if (slots[i]->busy) uv_cancel((uv_req_t *)&slots[i]->work); /* fails harmlessly once running */
}

void scraper_free(scraper **scp) {
  scraper *sc = scp ? *scp : NULL;
  if (!sc) return;
  atomic_store(&sc->stop, 1);
  if (sc->cpu_thread_started) pthread_join(sc->cpu_thread, NULL);
  slot *slots[] = {&sc->goroutine, &sc->dump, &sc->heap, &sc->cpu_once, &sc->cpu, &sc->leak, &sc->trace};
  for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++) {
    if (slots[i]->curl) curl_easy_cleanup(slots[i]->curl);
    free(slots[i]->body);
  }
  free(sc);
  *scp = NULL;
}

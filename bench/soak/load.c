/* The soak's load besides spans: runtime data and the query mix.
 *
 * Each is a schedule served by a small pool of threads, each thread with one
 * libcurl easy handle (one keep-alive connection). A thread takes the next
 * event of its schedule under the pool's mutex, sleeps until the event is due
 * and sends it, so the schedule is kept whatever the answers take, as long as
 * one thread is free; an event taken late is counted as late (record.c). The
 * schedules are fixed functions of time, never of how the server answers.
 *
 * Runtime data, for every source of the span corpus (its service and
 * instance, so that runtime data and spans land on the same source, as with
 * the agent): every second a chunk of stderr (one schedtrace line and 1-3
 * gctrace lines, stamped, with process_start, which is what the agent posts
 * as kind gctrace); every 10 s a goroutine profile and a 10 s CPU profile
 * (real pprof files read from the inputs directory, sent with time=now); every
 * 60 s a debug=2 goroutine dump when the inputs have one. A source's events
 * are spread over the second and its profiles over the 10 s, so that the load
 * is even. The stderr text is made when the event is taken, under the mutex,
 * because each source's GC numbering and heap move on from chunk to chunk.
 *
 * Queries, at --qps, rotate through a mix of ten: trace by id ×4, search by
 * service ×2 (limit 20, no time window: what the viewer's pages ask), the
 * services list, one service's operations (no window, as the viewer's home
 * page), the timeline and the explanation of a trace. The traces asked about
 * are recent ones the server has acknowledged (record.c), so a 404 is a lost
 * trace and counts as an error. An answer must be a 200 that names what was
 * asked for (the trace id, or the answer's top-level key). */
#define _GNU_SOURCE /* asprintf */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "soak.h"

enum { MAX_FILES = 64, MAX_SOURCES = 64, MAX_THREADS = 64, BODY_KEEP = 64 << 10 };

typedef struct file {
  char *name;
  uint8_t *data;
  size_t len;
} file;

typedef struct fileset {
  file f[MAX_FILES];
  int n;
} fileset;

/* A simulated Go process behind one source, for its stderr. */
typedef struct proc {
  const char *service, *instance;
  int64_t start_ns; /* process start (realtime) */
  uint32_t gc_n;
  double heap_goal_mb;
  int gomaxprocs;
} proc;

typedef struct event {
  double due; /* seconds since the run's start */
  int kind;   /* sk_runtime or sk_query */
  int source; /* runtime: index into procs; query: the service's index */
  char *body; /* a stderr chunk (malloc'd) */
  size_t body_len;
  int64_t time_ns, duration_ns; /* the chunk's first stamp and span */
} event;

typedef struct pool pool;
struct pool {
  sk_load *load;
  const char *name;
  int cls;
  pthread_mutex_t mu;
  int (*next)(pool *p, event *ev); /* under mu; 0 when the schedule is over */
  uint64_t seq;                    /* events taken */
  /* the runtime schedule: the events of second `sec`, taken in order */
  event sec_ev[4 * MAX_SOURCES];
  int sec_n, sec_i;
  int64_t sec;
  int n_threads;
  pthread_t threads[MAX_THREADS];
  int started;
  _Atomic int running; /* threads not yet at their end */
};

struct sk_load {
  sk_load_cfg cfg;
  fileset goroutine, cpu, dump;
  proc procs[MAX_SOURCES];
  int n_procs;
  const char *services[MAX_SOURCES];
  int n_services;
  int64_t t0_real_ns; /* realtime at cfg->t0 */
  uint64_t rng;       /* under runtime.mu */
  pool runtime, query;
};

/* ---- inputs ---------------------------------------------------------------- */

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int read_all(const char *path, uint8_t **data, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  uint8_t *buf = NULL;
  size_t n = 0, cap = 0;
  for (;;) {
    if (n == cap) {
      cap = cap ? 2 * cap : 1 << 16;
      uint8_t *b = realloc(buf, cap);
      if (!b) break;
      buf = b;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) break;
  }
  int bad = ferror(f) || !buf;
  fclose(f);
  if (bad) {
    free(buf);
    return -1;
  }
  *data = buf;
  *len = n;
  return 0;
}

static int cmp_file(const void *a, const void *b) { return strcmp(((const file *)a)->name, ((const file *)b)->name); }

/* Goroutine profiles: goroutine*.pb.gz; CPU profiles: cpu*.pb.gz; dumps:
 * goroutine*debug2*.txt. That matches both tests/data/go1.19-checkout and
 * what bench/runtime/gen writes. */
static int load_inputs(sk_load *l) {
  const char *dir = l->cfg.inputs_dir;
  DIR *d = opendir(dir);
  if (!d) {
    fprintf(stderr, "bench-soak: %s: %s\n", dir, strerror(errno));
    return -1;
  }
  struct dirent *e;
  int rc = 0;
  while (rc == 0 && (e = readdir(d))) {
    const char *n = e->d_name;
    fileset *set = NULL;
    if (strncmp(n, "goroutine", 9) == 0 && ends_with(n, ".pb.gz")) set = &l->goroutine;
    else if (strncmp(n, "cpu", 3) == 0 && ends_with(n, ".pb.gz")) set = &l->cpu;
    else if (strncmp(n, "goroutine", 9) == 0 && strstr(n, "debug2") && ends_with(n, ".txt")) set = &l->dump;
    if (!set || set->n == MAX_FILES) continue;
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, n);
    file *f = &set->f[set->n];
    if (read_all(path, &f->data, &f->len) != 0 || !(f->name = strdup(n))) {
      fprintf(stderr, "bench-soak: cannot read %s\n", path);
      free(f->data);
      rc = -1;
      break;
    }
    set->n++;
  }
  closedir(d);
  if (rc == 0 && (l->goroutine.n == 0 || l->cpu.n == 0)) {
    fprintf(stderr, "bench-soak: %s has no goroutine*.pb.gz or no cpu*.pb.gz (pprof files to send)\n", dir);
    rc = -1;
  }
  /* readdir's order is the file system's: sort, so that runs send the same */
  qsort(l->goroutine.f, (size_t)l->goroutine.n, sizeof(file), cmp_file);
  qsort(l->cpu.f, (size_t)l->cpu.n, sizeof(file), cmp_file);
  qsort(l->dump.f, (size_t)l->dump.n, sizeof(file), cmp_file);
  return rc;
}

static void free_set(fileset *s) {
  for (int i = 0; i < s->n; i++) {
    free(s->f[i].name);
    free(s->f[i].data);
  }
  s->n = 0;
}

void sk_load_describe(const sk_load *l, char *out, size_t outsz) {
  snprintf(out, outsz,
           "%d sources; from %s: %d goroutine profiles, %d CPU profiles, %d goroutine dumps; "
           "%.1f queries/s over %d connections",
           l->cfg.no_runtime ? 0 : l->n_procs, l->cfg.inputs_dir, l->goroutine.n, l->cpu.n, l->dump.n, l->cfg.qps,
           l->cfg.query_conns);
}

/* ---- stderr chunks ------------------------------------------------------- */

static double rnd01(uint64_t *st) { return (double)(bi_rand64(st) >> 11) / 9007199254740992.0; }

typedef struct text {
  char *p;
  size_t n, cap;
} text;

static void addf(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void addf(text *t, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int w = t->p ? vsnprintf(t->p + t->n, t->cap - t->n, fmt, ap) : -1;
    va_end(ap);
    if (w >= 0 && (size_t)w < t->cap - t->n) {
      t->n += (size_t)w;
      return;
    }
    size_t cap = t->cap ? 2 * t->cap : 2048;
    char *q = realloc(t->p, cap);
    if (!q) return; /* the chunk is cut short; the server sees fewer lines */
    t->p = q;
    t->cap = cap;
  }
}

typedef struct line {
  int64_t stamp;
  int is_gc; /* then text is what follows "gc N " */
  char text[320];
} line;

static int cmp_line(const void *a, const void *b) {
  int64_t x = ((const line *)a)->stamp, y = ((const line *)b)->stamp;
  return (x > y) - (x < y);
}

/* What the process printed in the second before now_ns, as the agent sends
 * it: "<receive stamp ns> <line>" lines in the order they were printed. With
 * schedtrace=1000 a SCHED line comes on every whole second of uptime; a gc
 * line comes at the end of its cycle, and says when the cycle began. */
static void make_stderr(sk_load *l, proc *p, int64_t now_ns, event *ev) {
  uint64_t *st = &l->rng;
  int64_t up = now_ns - p->start_ns;
  line lines[4];
  int n = 0;
  int64_t sched_ms = (up / 1000000000) * 1000;
  int idle = (int)(bi_rand64(st) % (unsigned)(p->gomaxprocs + 1));
  lines[n].stamp = p->start_ns + sched_ms * 1000000;
  lines[n].is_gc = 0;
  snprintf(lines[n++].text, sizeof lines[0].text,
           "SCHED %lldms: gomaxprocs=%d idleprocs=%d threads=%d spinningthreads=%d idlethreads=%d "
           "runqueue=%d [%d %d %d %d]",
           (long long)sched_ms, p->gomaxprocs, idle, 9 + (int)(bi_rand64(st) % 4), (int)(bi_rand64(st) % 2),
           2 + (int)(bi_rand64(st) % 3), (int)(bi_rand64(st) % 5), (int)(bi_rand64(st) % 3), (int)(bi_rand64(st) % 3),
           (int)(bi_rand64(st) % 2), (int)(bi_rand64(st) % 2));
  int n_gc = 1 + (int)(bi_rand64(st) % 3);
  for (int i = 0; i < n_gc; i++) {
    double stw1 = 0.02 + rnd01(st) * 0.2, mark = 1 + rnd01(st) * 12, stw2 = 0.02 + rnd01(st) * 0.15;
    double assist = rnd01(st) * 0.5, bg = mark * (0.3 + rnd01(st) * 0.5), idle_cpu = rnd01(st) * 2;
    /* began in the last second, ended (and was printed) before now; one
     * cycle to a slot of the second, so that they do not overlap */
    double slot = 920e6 / n_gc;
    int64_t start_off = up - 950000000 + (int64_t)(slot * i + rnd01(st) * (slot - 15e6));
    /* the heap breathes around its goal, which drifts a little */
    p->heap_goal_mb *= 0.98 + rnd01(st) * 0.04;
    if (p->heap_goal_mb < 16) p->heap_goal_mb = 16;
    if (p->heap_goal_mb > 512) p->heap_goal_mb = 512;
    int goal = (int)p->heap_goal_mb, before = (int)(goal * (0.95 + rnd01(st) * 0.1));
    int peak = before + (int)(rnd01(st) * 4), live = (int)(goal * (0.45 + rnd01(st) * 0.1));
    lines[n].stamp = p->start_ns + start_off + (int64_t)((stw1 + mark + stw2) * 1e6);
    lines[n].is_gc = 1;
    snprintf(lines[n++].text, sizeof lines[0].text,
             "@%.3fs %d%%: %.3f+%.2f+%.3f ms clock, %.3f+%.2f/%.2f/%.2f+%.3f ms cpu, %d->%d->%d MB, "
             "%d MB goal, 0 MB stacks, 0 MB globals, %d P",
             (double)start_off / 1e9, 1 + (int)(bi_rand64(st) % 4), stw1, mark, stw2, stw1 * p->gomaxprocs, assist, bg,
             idle_cpu, stw2 * p->gomaxprocs, before, peak, live, goal, p->gomaxprocs);
  }
  qsort(lines, (size_t)n, sizeof *lines, cmp_line);
  text t = {0};
  for (int i = 0; i < n; i++) {
    long long stamp = (long long)lines[i].stamp + 150000; /* read 0.15 ms after it was printed */
    if (lines[i].is_gc)                                   /* cycles are numbered in the order they end */
      addf(&t, "%lld gc %u %s\n", stamp, ++p->gc_n, lines[i].text);
    else addf(&t, "%lld %s\n", stamp, lines[i].text);
  }
  ev->body = t.p;
  ev->body_len = t.n;
  ev->time_ns = lines[0].stamp + 150000;
  ev->duration_ns = lines[n - 1].stamp - lines[0].stamp;
}

/* ---- schedules ------------------------------------------------------------ */

static void runtime_second(pool *p) {
  sk_load *l = p->load;
  int n = l->n_procs;
  p->sec_n = p->sec_i = 0;
  for (int i = 0; i < n; i++) {
    double base = (double)p->sec + (double)i / n;
    p->sec_ev[p->sec_n++] = (event){.due = base, .kind = SR_STDERR, .source = i};
    if (p->sec % 10 == i % 10) {
      p->sec_ev[p->sec_n++] = (event){.due = base + 0.25 / n, .kind = SR_GOROUTINE, .source = i};
      p->sec_ev[p->sec_n++] = (event){.due = base + 0.5 / n, .kind = SR_CPU, .source = i};
    }
    if (l->dump.n && p->sec % 60 == (i + 1) % 60)
      p->sec_ev[p->sec_n++] = (event){.due = base + 0.75 / n, .kind = SR_DUMP, .source = i};
  }
}

static int runtime_next(pool *p, event *ev) {
  sk_load *l = p->load;
  if (p->sec_i == p->sec_n) {
    if (p->seq) p->sec++;
    runtime_second(p);
  }
  *ev = p->sec_ev[p->sec_i++];
  if (ev->due >= l->cfg.seconds) return 0;
  p->seq++;
  if (ev->kind == SR_STDERR) make_stderr(l, &l->procs[ev->source], l->t0_real_ns + (int64_t)(ev->due * 1e9), ev);
  return 1;
}

static int query_next(pool *p, event *ev) {
  static const int mix[10] = {SQ_TRACE, SQ_SEARCH,  SQ_TRACE, SQ_TIMELINE,   SQ_SERVICES,
                              SQ_TRACE, SQ_EXPLAIN, SQ_TRACE, SQ_OPERATIONS, SQ_SEARCH};
  sk_load *l = p->load;
  uint64_t j = p->seq;
  *ev =
      (event){.due = (double)j / l->cfg.qps, .kind = mix[j % 10], .source = (int)((j / 10) % (uint64_t)l->n_services)};
  if (ev->due >= l->cfg.seconds) return 0;
  p->seq++;
  return 1;
}

/* ---- HTTP ------------------------------------------------------------------ */

typedef struct conn {
  CURL *h;
  char *body;
  size_t len;
} conn;

static size_t on_body(char *d, size_t size, size_t n, void *ud) {
  conn *c = ud;
  size_t k = size * n;
  size_t room = c->len < BODY_KEEP ? BODY_KEEP - c->len : 0;
  size_t take = k < room ? k : room;
  memcpy(c->body + c->len, d, take);
  c->len += take;
  return k; /* the rest is read and dropped: the checks look at the start */
}

/* One request; the answer's first BODY_KEEP bytes in c->body (NUL-ended).
 * Returns the HTTP status, 0 on a transport error (described in err). */
static long http_do(conn *c, const char *url, const void *body, size_t len, const char *ctype, char *err,
                    size_t errsz) {
  struct curl_slist *hdr = NULL;
  c->len = 0;
  curl_easy_setopt(c->h, CURLOPT_URL, url);
  if (body) {
    char ct[96];
    snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
    hdr = curl_slist_append(hdr, ct);
    hdr = curl_slist_append(hdr, "Expect:");
    curl_easy_setopt(c->h, CURLOPT_POST, 1L);
    curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE, (long)len);
  } else {
    curl_easy_setopt(c->h, CURLOPT_HTTPGET, 1L);
  }
  curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, hdr);
  CURLcode cc = curl_easy_perform(c->h);
  curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, NULL);
  curl_slist_free_all(hdr);
  c->body[c->len] = 0;
  if (cc != CURLE_OK) {
    snprintf(err, errsz, "%s", curl_easy_strerror(cc));
    return 0;
  }
  long code = 0;
  curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &code);
  return code;
}

/* The start of an answer, printable, for an error message. */
static void excerpt(const conn *c, char *out, size_t outsz) {
  size_t n = c->len < outsz - 1 ? c->len : outsz - 1;
  for (size_t i = 0; i < n; i++) out[i] = c->body[i] >= 32 && c->body[i] < 127 ? c->body[i] : '.';
  out[n] = 0;
}

static void sleep_until_mono(double mono_s) {
  struct timespec ts;
  ts.tv_sec = (time_t)mono_s;
  ts.tv_nsec = (long)((mono_s - (double)ts.tv_sec) * 1e9);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0) {
  }
}

/* Sends a runtime event; returns whether the answer was a clean 200. */
static int send_runtime(sk_load *l, conn *c, const event *ev, char *why, size_t whysz) {
  const proc *p = &l->procs[ev->source];
  /* each source sends the files in turn, the sources out of step */
  uint64_t turn = (uint64_t)ev->due / (ev->kind == SR_DUMP ? 60 : 10) + (uint64_t)ev->source;
  int64_t now_ns = l->t0_real_ns + (int64_t)(ev->due * 1e9);
  char url[1024];
  const char *kind = "gctrace", *ctype = "text/plain";
  const void *body = ev->body;
  size_t len = ev->body_len;
  int n = snprintf(url, sizeof url, "%s/api/v1/ingest/", l->cfg.url);
  const file *f = NULL;
  switch (ev->kind) {
  case SR_STDERR:
    snprintf(url + n, sizeof url - (size_t)n,
             "gctrace?service=%s&instance=%s&time=%lld&duration=%lld&process_start=%lld", p->service, p->instance,
             (long long)ev->time_ns, (long long)ev->duration_ns, (long long)p->start_ns);
    break;
  case SR_GOROUTINE:
  case SR_DUMP:
    f = ev->kind == SR_GOROUTINE ? &l->goroutine.f[turn % (uint64_t)l->goroutine.n]
                                 : &l->dump.f[turn % (uint64_t)l->dump.n];
    kind = "goroutine";
    snprintf(url + n, sizeof url - (size_t)n, "goroutine?service=%s&instance=%s&time=%lld", p->service, p->instance,
             (long long)now_ns);
    break;
  case SR_CPU:
    f = &l->cpu.f[turn % (uint64_t)l->cpu.n];
    kind = "cpu";
    snprintf(url + n, sizeof url - (size_t)n, "cpu?service=%s&instance=%s&time=%lld&duration=10000000000", p->service,
             p->instance, (long long)(now_ns - 10000000000LL));
    break;
  }
  if (f) {
    body = f->data;
    len = f->len;
    ctype = ev->kind == SR_DUMP ? "text/plain" : "application/octet-stream";
  }
  char err[256] = "";
  long code = http_do(c, url, body, len, ctype, err, sizeof err);
  int ok = code == 200 && strstr(c->body, "\"errors\":[]") != NULL;
  if (!ok) {
    char ex[160];
    excerpt(c, ex, sizeof ex);
    snprintf(why, whysz, "%s %s: %ld %s", kind, f ? f->name : "stderr chunk", code, code ? ex : err);
  }
  return ok;
}

/* Sends a query event; returns whether the answer was right. */
static int send_query(sk_load *l, conn *c, const event *ev, uint64_t *rng, char *why, size_t whysz) {
  char url[1024], hex[33] = "";
  const char *svc = l->services[ev->source], *must = NULL;
  int n = snprintf(url, sizeof url, "%s", l->cfg.url);
  if (ev->kind == SQ_TRACE || ev->kind == SQ_TIMELINE || ev->kind == SQ_EXPLAIN) {
    uint64_t k;
    if (!sk_recent_pick(rng, &k)) return -1; /* nothing acknowledged yet: not asked */
    uint8_t id[16];
    bi_trace_id(l->cfg.ids, k, id);
    bi_hex(id, 16, hex);
    must = hex;
  }
  switch (ev->kind) {
  case SQ_TRACE: snprintf(url + n, sizeof url - (size_t)n, "/api/traces/%s", hex); break;
  case SQ_TIMELINE: snprintf(url + n, sizeof url - (size_t)n, "/api/v1/traces/%s/timeline", hex); break;
  case SQ_EXPLAIN: snprintf(url + n, sizeof url - (size_t)n, "/api/v1/traces/%s/explain", hex); break;
  case SQ_SEARCH:
    snprintf(url + n, sizeof url - (size_t)n, "/api/search?service=%s&limit=20", svc);
    must = "\"traces\"";
    break;
  case SQ_SERVICES:
    snprintf(url + n, sizeof url - (size_t)n, "/api/v1/services");
    must = "\"services\"";
    break;
  case SQ_OPERATIONS:
    snprintf(url + n, sizeof url - (size_t)n, "/api/v1/services/%s/operations", svc);
    must = "\"operations\"";
    break;
  }
  char err[256] = "";
  long code = http_do(c, url, NULL, 0, NULL, err, sizeof err);
  int ok = code == 200 && strstr(c->body, must) != NULL;
  if (!ok) {
    char ex[160];
    excerpt(c, ex, sizeof ex);
    snprintf(why, whysz, "%s: %ld %s", url + strlen(l->cfg.url), code, code ? ex : err);
  }
  return ok;
}

static void *pool_main(void *arg) {
  pool *p = arg;
  sk_load *l = p->load;
  conn c = {.h = curl_easy_init(), .body = malloc(BODY_KEEP + 1)};
  if (!c.h || !c.body) {
    fprintf(stderr, "bench-soak: %s: out of memory\n", p->name);
    goto out;
  }
  curl_easy_setopt(c.h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c.h, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(c.h, CURLOPT_TIMEOUT, 120L);
  curl_easy_setopt(c.h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c.h, CURLOPT_WRITEDATA, &c);
  uint64_t rng = l->cfg.seed ^ (uint64_t)(uintptr_t)&c;
  for (;;) {
    event ev;
    pthread_mutex_lock(&p->mu);
    int have = !atomic_load(l->cfg.cancel) && p->next(p, &ev);
    pthread_mutex_unlock(&p->mu);
    if (!have) break;
    sleep_until_mono(l->cfg.t0 + ev.due);
    if (atomic_load(l->cfg.cancel) || bi_mono_s() - l->cfg.t0 >= l->cfg.seconds + SK_GRACE_S) {
      free(ev.body);
      break;
    }
    char why[512] = "";
    sk_outcome o = {.cls = p->cls, .kind = ev.kind, .due_s = ev.due};
    o.start_s = bi_mono_s() - l->cfg.t0;
    int ok =
        p->cls == SK_QUERY ? send_query(l, &c, &ev, &rng, why, sizeof why) : send_runtime(l, &c, &ev, why, sizeof why);
    o.end_s = bi_mono_s() - l->cfg.t0;
    free(ev.body);
    if (ok < 0) continue; /* not sent */
    o.ok = ok;
    if (!ok) sk_rec_note_error(p->cls, "at %.1f s: %s", o.start_s, why);
    sk_record(&o);
  }
out:
  if (c.h) curl_easy_cleanup(c.h);
  free(c.body);
  atomic_fetch_sub(&p->running, 1);
  return NULL;
}

static int pool_start(pool *p) {
  for (int i = 0; i < p->n_threads; i++) {
    atomic_fetch_add(&p->running, 1);
    if (pthread_create(&p->threads[i], NULL, pool_main, p) != 0) {
      fprintf(stderr, "bench-soak: cannot start the %s threads\n", p->name);
      atomic_fetch_sub(&p->running, 1);
      return -1;
    }
    p->started++;
  }
  return 0;
}

static void pool_join(pool *p) {
  for (int i = 0; i < p->started; i++) pthread_join(p->threads[i], NULL);
  p->started = 0; /* every stderr chunk was freed by the thread that took its event */
}

/* ---- start and stop ------------------------------------------------------- */

sk_load *sk_load_new(const sk_load_cfg *cfg) {
  sk_load *l = calloc(1, sizeof *l);
  if (!l) return NULL;
  l->cfg = *cfg;
  l->rng = cfg->seed ^ 0x50a4ULL;
  if (cfg->runtime_conns > MAX_THREADS || cfg->query_conns > MAX_THREADS) {
    fprintf(stderr, "bench-soak: 1..%d connections per pool, please\n", MAX_THREADS);
    free(l);
    return NULL;
  }
  if (load_inputs(l) != 0) {
    sk_load_join(l); /* the pools are still zero: it only frees */
    return NULL;
  }
  const bi_corpus *c = cfg->corpus;
  l->n_procs = (int)(c->n_sources < MAX_SOURCES ? c->n_sources : MAX_SOURCES);
  for (int i = 0; i < l->n_procs; i++) {
    int known = 0;
    for (int j = 0; j < l->n_services; j++) known |= strcmp(l->services[j], c->sources[i].service) == 0;
    if (!known) l->services[l->n_services++] = c->sources[i].service;
  }
  l->runtime =
      (pool){.load = l, .name = "runtime", .cls = SK_RUNTIME, .next = runtime_next, .n_threads = cfg->runtime_conns};
  l->query = (pool){.load = l, .name = "query", .cls = SK_QUERY, .next = query_next, .n_threads = cfg->query_conns};
  pthread_mutex_init(&l->runtime.mu, NULL);
  pthread_mutex_init(&l->query.mu, NULL);
  return l;
}

int sk_load_start(sk_load *l, const char *url, double t0) {
  l->cfg.url = url;
  l->cfg.t0 = t0;
  const bi_corpus *c = l->cfg.corpus;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  l->t0_real_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec - (int64_t)((bi_mono_s() - t0) * 1e9);
  for (int i = 0; i < l->n_procs; i++) {
    proc *p = &l->procs[i];
    p->service = c->sources[i].service;
    p->instance = c->sources[i].instance;
    /* up for 10 minutes to 2 hours, GC'd about 2 times a second so far */
    int64_t up = 600000000000LL + (int64_t)(bi_rand64(&l->rng) % 6600000000000ULL);
    p->start_ns = l->t0_real_ns - up;
    p->gc_n = (uint32_t)(up / 500000000);
    p->heap_goal_mb = 32 + (double)(bi_rand64(&l->rng) % 96);
    p->gomaxprocs = 4;
  }
  if ((!l->cfg.no_runtime && pool_start(&l->runtime) != 0) || (l->cfg.qps > 0 && pool_start(&l->query) != 0)) {
    atomic_store(l->cfg.cancel, 1); /* the caller joins what started */
    return -1;
  }
  return 0;
}

int sk_load_done(sk_load *l) { return atomic_load(&l->runtime.running) == 0 && atomic_load(&l->query.running) == 0; }

void sk_load_join(sk_load *l) {
  if (!l) return;
  pool_join(&l->runtime);
  pool_join(&l->query);
  if (l->runtime.load) { /* set up by sk_load_new */
    pthread_mutex_destroy(&l->runtime.mu);
    pthread_mutex_destroy(&l->query.mu);
  }
  free_set(&l->goroutine);
  free_set(&l->cpu);
  free_set(&l->dump);
  free(l);
}

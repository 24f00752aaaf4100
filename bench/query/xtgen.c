/* bench-query: execution traces for slow traces of a generated data dir.
 *
 * Running the reader (meanwhile-exectrace) on 10,000 real Go traces would
 * take most of an hour of both cores; what the benchmark measures is explain
 * reading what ingest stored. So for each chosen trace this writes the
 * Records the reader would write for the process that ran the trace's root
 * span, and stores them through ingest's own code from there on:
 * mw__xt_records_decode, mw__xt_build (goroutine blobs, span table, span
 * index, stacks) and the store's writer (mw__ingest_job_runtime), with the
 * server's store opened on the data dir. Only the raw copy is not a real
 * trace (a placeholder: /raw of these traces does not open in go tool trace).
 *
 * The Records, per trace, for the spans of the root's source (the process):
 * one goroutine per span (a Go server runs a request's fan-out on goroutines
 * of its own). A span's goroutine, while a child span runs (children that
 * overlap count as one call), is blocked on a channel receive until the
 * child that ends last wakes it; its self time is cut in pieces of ~1/40 of
 * it (at least 1 ms), each running (55%), blocked on the network (20%,
 * woken by the runtime), on a mutex (10%, released by a goroutine outside
 * any span that held it meanwhile: a background refresher), runnable
 * (10%) or in a system call (5%). Two goroutines with no span wait on the
 * network the whole trace. Times are those of the stored spans (clock
 * snapshot alignment), so the traces cover their spans exactly. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/error.h"
#include "decode/exectrace.h"
#include "ingest/commit.h"
#include "ingest/exectrace.h"
#include "meanwhile/exectrace/v1/records.pb-c.h"
#include "qbench.h"
#include "store/store.h"

#define MS 1000000LL

enum { MAX_SPANS = 256, CHUNK = 32, G_SPAN0 = 1000, G_HOLDER0 = 5000 };

typedef Meanwhile__Exectrace__V1__Interval Interval;
typedef Meanwhile__Exectrace__V1__Wake Wake;
typedef Meanwhile__Exectrace__V1__Span Span;
typedef Meanwhile__Exectrace__V1__Frame Frame;
typedef Meanwhile__Exectrace__V1__Stack Stack;

/* Stacks by id (1-based), leaf first, as the reader writes them. */
enum { STK_RUN = 1, STK_CHAN, STK_SEND, STK_IO, STK_LOCK, STK_UNLOCK, STK_SYSCALL, N_STK = STK_SYSCALL };
static const char *const stack_text[N_STK][4] = {
    {"main.(*Handler).compute", "/app/handler.go:212", "main.(*Handler).ServeHTTP", "/app/handler.go:88"},
    {"runtime.chanrecv1", "/usr/local/go/src/runtime/chan.go:489", "main.(*Handler).call", "/app/handler.go:140"},
    {"runtime.chansend1", "/usr/local/go/src/runtime/chan.go:161", "main.(*Handler).reply", "/app/handler.go:171"},
    {"internal/poll.(*FD).Read", "/usr/local/go/src/internal/poll/fd_unix.go:165", "database/sql.(*Rows).Next",
     "/usr/local/go/src/database/sql/sql.go:3004"},
    {"sync.(*Mutex).Lock", "/usr/local/go/src/sync/mutex.go:61", "main.(*Cache).Get", "/app/cache.go:42"},
    {"sync.(*Mutex).Unlock", "/usr/local/go/src/sync/mutex.go:229", "main.(*Cache).Refresh", "/app/cache.go:88"},
    {"syscall.Syscall", "/usr/local/go/src/syscall/syscall_linux.go:73", "os.(*File).Write",
     "/usr/local/go/src/os/file.go:195"},
};

typedef struct recs {
  Interval *iv;
  size_t n_iv, cap_iv;
  Wake *wk;
  size_t n_wk, cap_wk;
  uint64_t rng;
} recs;

static void *grow(void *p, size_t n, size_t *cap, size_t sz) {
  if (n < *cap) return p;
  size_t nc = *cap ? *cap * 2 : 256;
  void *q = realloc(p, nc * sz);
  if (!q) {
    fprintf(stderr, "bench-query: out of memory\n");
    exit(1);
  }
  *cap = nc;
  return q;
}

static void add_iv(recs *r, uint64_t g, int state, const char *reason, const char *raw, int64_t s, int64_t e,
                   uint32_t stack, uint32_t span) {
  r->iv = grow(r->iv, r->n_iv, &r->cap_iv, sizeof *r->iv);
  Interval *v = &r->iv[r->n_iv++];
  meanwhile__exectrace__v1__interval__init(v);
  v->goroutine = g, v->state = (Meanwhile__Exectrace__V1__State)state, v->reason = (char *)reason;
  v->raw_reason = (char *)raw, v->start_ns = s, v->end_ns = e, v->stack = stack, v->span = span;
}

static void add_wake(recs *r, uint64_t g, uint64_t waker, int64_t t, uint32_t waker_stack, uint32_t waker_span,
                     uint32_t span) {
  r->wk = grow(r->wk, r->n_wk, &r->cap_wk, sizeof *r->wk);
  Wake *w = &r->wk[r->n_wk++];
  meanwhile__exectrace__v1__wake__init(w);
  w->goroutine = g, w->waker = waker, w->time_ns = t, w->waker_stack = waker_stack, w->waker_span = waker_span;
  w->span = span;
}

/* Span ref's self time [a, b) on goroutine g, in pieces; holder holds the
 * mutex it waits for. */
static void self_time(recs *r, uint64_t g, uint32_t ref, int64_t a, int64_t b, uint64_t holder) {
  int64_t piece = (b - a) / 40 > MS ? (b - a) / 40 : MS;
  for (int64_t t = a; t < b;) {
    int64_t len = (int64_t)((double)piece * (0.5 + qb_rand01(&r->rng)));
    if (len < 1000) len = 1000;
    if (t + len > b || b - (t + len) < 1000) len = b - t;
    double k = qb_rand01(&r->rng);
    if (k < 0.55) {
      add_iv(r, g, 1, "", "", t, t + len, STK_RUN, ref);
    } else if (k < 0.75) {
      add_iv(r, g, 3, "io", "network", t, t + len, STK_IO, ref);
      add_wake(r, g, 0, t + len, 0, 0, ref);
    } else if (k < 0.85) {
      add_iv(r, g, 3, "mutex", "sync", t, t + len, STK_LOCK, ref);
      add_iv(r, holder, 1, "", "", t, t + len, STK_UNLOCK, 0);
      add_wake(r, g, holder, t + len, STK_UNLOCK, 0, ref);
    } else if (k < 0.95) {
      add_iv(r, g, 2, "", "", t, t + len, STK_RUN, ref);
    } else {
      add_iv(r, g, 4, "", "", t, t + len, STK_SYSCALL, ref);
    }
    t += len;
  }
}

/* One trace's Records, packed (malloc'd); NULL when the trace has no spans. */
static uint8_t *build(const mw_stored_span *all, size_t n_all, uint64_t *rng, size_t *len, int64_t *n_intervals) {
  const mw_stored_span *root = &all[0];
  for (size_t i = 0; i < n_all; i++)
    if (!all[i].has_parent) root = &all[i];
  const mw_stored_span *p[MAX_SPANS];
  size_t np = 0;
  for (size_t i = 0; i < n_all && np < MAX_SPANS; i++)
    if (all[i].source_id == root->source_id) p[np++] = &all[i];
  recs r = {.rng = *rng};
  int64_t lo = INT64_MAX, hi = INT64_MIN;
  for (size_t i = 0; i < np; i++) {
    const mw_stored_span *s = p[i];
    uint64_t g = G_SPAN0 + i;
    int64_t cur = s->start_ns, end = s->start_ns + s->dur_ns;
    if (s->start_ns < lo) lo = s->start_ns;
    if (end > hi) hi = end;
    /* children in start order (p is), overlapping ones as one call */
    size_t kids[MAX_SPANS], nk = 0;
    for (size_t c = 0; c < np; c++)
      if (p[c]->has_parent && memcmp(p[c]->parent_id, s->span_id, 8) == 0) kids[nk++] = c;
    for (size_t k = 0; k < nk;) {
      int64_t gs = p[kids[k]]->start_ns, ge = gs + p[kids[k]]->dur_ns;
      size_t last = kids[k++];
      for (; k < nk && p[kids[k]]->start_ns < ge; k++)
        if (p[kids[k]]->start_ns + p[kids[k]]->dur_ns > ge)
          ge = p[kids[k]]->start_ns + p[kids[k]]->dur_ns, last = kids[k];
      if (gs < cur) gs = cur;
      if (ge > end) ge = end;
      if (gs > cur) self_time(&r, g, (uint32_t)i + 1, cur, gs, G_HOLDER0 + i);
      if (ge > gs) {
        add_iv(&r, g, 3, "chan", "chan receive", gs, ge, STK_CHAN, (uint32_t)i + 1);
        add_wake(&r, g, G_SPAN0 + last, ge, STK_SEND, (uint32_t)last + 1, (uint32_t)i + 1);
        cur = ge;
      }
    }
    if (end > cur) self_time(&r, g, (uint32_t)i + 1, cur, end, G_HOLDER0 + i);
  }
  if (!np) return NULL;
  lo -= MS, hi += MS;
  add_iv(&r, 1, 3, "io", "network", lo, hi, STK_IO, 0);
  add_iv(&r, 2, 3, "io", "network", lo, hi, STK_IO, 0);
  r.iv[r.n_iv - 1].clipped_start = r.iv[r.n_iv - 1].clipped_end = 1;
  r.iv[r.n_iv - 2].clipped_start = r.iv[r.n_iv - 2].clipped_end = 1;

  Span sp[MAX_SPANS];
  Span *spp[MAX_SPANS];
  for (size_t i = 0; i < np; i++) {
    const mw_stored_span *s = p[i];
    meanwhile__exectrace__v1__span__init(&sp[i]);
    sp[i].trace_id = (ProtobufCBinaryData){16, (uint8_t *)s->trace_id};
    sp[i].span_id = (ProtobufCBinaryData){8, (uint8_t *)s->span_id};
    sp[i].name = (char *)s->name;
    spp[i] = &sp[i];
  }
  Frame fr[N_STK][2];
  Frame *frp[N_STK][2];
  Stack st[N_STK];
  Stack *stp[N_STK];
  for (int k = 0; k < N_STK; k++) {
    for (int f = 0; f < 2; f++) {
      meanwhile__exectrace__v1__frame__init(&fr[k][f]);
      const char *file = stack_text[k][2 * f + 1], *colon = strrchr(file, ':');
      fr[k][f].func = (char *)stack_text[k][2 * f];
      fr[k][f].file = strndup(file, (size_t)(colon - file));
      fr[k][f].line = atoi(colon + 1);
      frp[k][f] = &fr[k][f];
    }
    meanwhile__exectrace__v1__stack__init(&st[k]);
    st[k].id = (uint32_t)k + 1, st[k].n_frames = 2, st[k].frames = frp[k];
    stp[k] = &st[k];
  }
  Interval **ivp = malloc(r.n_iv * sizeof *ivp);
  Wake **wkp = malloc((r.n_wk + 1) * sizeof *wkp);
  if (!ivp || !wkp) {
    fprintf(stderr, "bench-query: out of memory\n");
    exit(1);
  }
  for (size_t i = 0; i < r.n_iv; i++) ivp[i] = &r.iv[i];
  for (size_t i = 0; i < r.n_wk; i++) wkp[i] = &r.wk[i];
  Meanwhile__Exectrace__V1__Summary sum = MEANWHILE__EXECTRACE__V1__SUMMARY__INIT;
  sum.start_ns = lo, sum.end_ns = hi, sum.alignment = MEANWHILE__EXECTRACE__V1__ALIGNMENT__CLOCK_SNAPSHOT;
  sum.events = 3 * r.n_iv, sum.generations = 1, sum.goroutines = (uint32_t)(2 * np + 2), sum.go_version = "go1.26.8";
  Meanwhile__Exectrace__V1__Records rec = MEANWHILE__EXECTRACE__V1__RECORDS__INIT;
  rec.n_stacks = N_STK, rec.stacks = stp, rec.n_spans = np, rec.spans = spp;
  rec.n_intervals = r.n_iv, rec.intervals = ivp, rec.n_wakes = r.n_wk, rec.wakes = wkp, rec.summary = &sum;
  *len = meanwhile__exectrace__v1__records__get_packed_size(&rec);
  uint8_t *out = malloc(*len);
  if (out) meanwhile__exectrace__v1__records__pack(&rec, out);
  *n_intervals = (int64_t)r.n_iv;
  for (int k = 0; k < N_STK; k++) free(fr[k][0].file), free(fr[k][1].file);
  free(ivp);
  free(wkp);
  free(r.iv);
  free(r.wk);
  *rng = r.rng;
  return out;
}

/* --- committing through the writer ---------------------------------------------- */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static size_t pending;
static int failed_rc;

static void job_done(mw_write_job *job, int rc) {
  (void)job;
  pthread_mutex_lock(&lock);
  if (rc && !failed_rc) failed_rc = rc;
  pending--;
  pthread_cond_broadcast(&cond);
  pthread_mutex_unlock(&lock);
}

static void wait_all(void) {
  pthread_mutex_lock(&lock);
  while (pending) pthread_cond_wait(&cond, &lock);
  pthread_mutex_unlock(&lock);
}

int qb_add_exectraces(const char *dir, const qb_trace *traces, size_t n, uint64_t seed, qb_xt_stats *st) {
  memset(st, 0, sizeof *st);
  double t0 = qb_mono_s();
  mw_store_opts so = {.data_dir = dir, .queue_max_spans = 1u << 20, .queue_max_bytes = 1u << 30};
  mw_store *s;
  char err[256];
  if (mw__store_open(&so, &s, err, sizeof err)) {
    fprintf(stderr, "bench-query: opening %s: %s\n", dir, err);
    return -1;
  }
  static const uint8_t raw[] = "go 1.26 trace\0\0\0(bench-query: Records written by bench/query/xtgen.c)";
  uint64_t rng = seed * 0x2545F4914F6CDD1DULL + 11;
  int rc = 0;
  for (size_t at = 0; at < n && !rc; at += CHUNK) {
    size_t m = n - at < CHUNK ? n - at : CHUNK;
    mw_arena *arenas[CHUNK] = {0};
    mw_write_job jobs[CHUNK];
    mw_runtime_batch batches[CHUNK];
    mw_read *rd;
    if (mw__read_begin(s, &rd)) {
      fprintf(stderr, "bench-query: cannot read %s\n", dir);
      rc = -1;
      break;
    }
    size_t built = 0;
    for (size_t i = 0; i < m && !rc; i++) {
      mw_arena *a = arenas[i] = mw__arena_new(0);
      mw_trace_rows tr;
      mw_source_info src;
      if (!a || mw__store_read_trace(rd, a, traces[at + i].id, 1000, &tr) || !tr.n_spans) {
        fprintf(stderr, "bench-query: reading a slow trace back failed\n");
        rc = -1;
        break;
      }
      const mw_stored_span *root = &tr.spans[0];
      for (size_t k = 0; k < tr.n_spans; k++)
        if (!tr.spans[k].has_parent) root = &tr.spans[k];
      if (mw__store_source(rd, a, root->source_id, &src)) {
        rc = -1;
        break;
      }
      size_t len;
      int64_t n_iv;
      uint8_t *rec = build(tr.spans, tr.n_spans, &rng, &len, &n_iv);
      mw_xt_records r;
      mw_xt_params prm = {.service = src.service, .instance = src.instance, .received_ns = root->start_ns};
      int brc = rec ? mw__xt_records_decode(a, rec, len, &r, err, sizeof err) : MW_ENOMEM;
      if (!brc) brc = mw__xt_build(a, &prm, raw, sizeof raw, &r, NULL, &batches[i], err, sizeof err);
      free(rec);
      if (brc) {
        fprintf(stderr, "bench-query: building an execution trace failed: %s\n", err);
        rc = -1;
        break;
      }
      st->intervals += (uint64_t)n_iv;
      st->spans += batches[i].exectrace->n_spans;
      mw__ingest_job_runtime(&jobs[i], &batches[i], mw__arena_used(a));
      built++;
    }
    mw__read_end(rd);
    for (size_t i = 0; i < built && !rc; i++) {
      jobs[i].done = job_done;
      pthread_mutex_lock(&lock);
      pending++;
      pthread_mutex_unlock(&lock);
      int sub = mw__store_submit(s, &jobs[i]);
      if (sub == MW_EBUSY) { /* the queue is full: let it empty, then again */
        pthread_mutex_lock(&lock);
        pending--;
        pthread_mutex_unlock(&lock);
        wait_all();
        i--;
      } else if (sub) {
        pthread_mutex_lock(&lock);
        pending--;
        pthread_mutex_unlock(&lock);
        rc = -1;
      }
    }
    wait_all();
    for (size_t i = 0; i < m; i++) mw__arena_free(arenas[i]);
    if (failed_rc) {
      fprintf(stderr, "bench-query: committing an execution trace failed: %s\n", mw__strerror(failed_rc));
      rc = -1;
    }
    st->traces += built;
    if ((at / CHUNK) % 64 == 63)
      fprintf(stderr, "bench-query: %llu execution traces stored (%.1f s)\n", (unsigned long long)st->traces,
              qb_mono_s() - t0);
  }
  mw__store_close(s);
  st->seconds = qb_mono_s() - t0;
  return rc;
}

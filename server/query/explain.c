/* The explanation engine (see explain.h and docs/CORRELATION.md).
 *
 * For each span S of source X over [start, end]:
 *   children  = the union of S's child spans, clipped to S; self = the rest;
 *   gc_stw    = overlap of S's self time with X's stop-the-world windows;
 *   cpu       = CPU samples labelled S, x their value in ns (period-weighted);
 *   gc_assist = the part of those samples in the runtime's assist functions;
 *   residual  = self - cpu - gc_stw - gc_assist, split by the states in which
 *               goroutine snapshots found S's goroutines (span scope), or, when
 *               none did, the states of the slow spans of the same operation
 *               (operation scope), or else left unknown with the reason.
 * Everything a cause claims is listed in its evidence. */
#include "query/explain.h"
#include "core/error.h"
#include "core/hex.h"
#include "core/log.h"
#include "core/sat.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The end of a CPU profile's stated window that holds no samples. */
static const int64_t CPU_PROFILE_TAIL_NS = 200000000;

static const char *const block_names[MW_B_N] = {"mutex", "chan", "select", "io", "sleep", "syscall", "cond", "other"};

/* How a goroutine state counts in a breakdown. */
enum bucket { BK_RUN, BK_GC, BK_BLOCK };
static enum bucket state_bucket(const char *state, enum mw_block_kind *kind) {
  static const struct { const char *name; enum bucket b; enum mw_block_kind k; } map[] = {
      {"running", BK_RUN, 0},           {"runnable", BK_RUN, 0},        {"gc", BK_GC, 0},
      {"mutex", BK_BLOCK, MW_B_MUTEX},  {"chan", BK_BLOCK, MW_B_CHAN},  {"select", BK_BLOCK, MW_B_SELECT},
      {"io", BK_BLOCK, MW_B_IO},        {"sleep", BK_BLOCK, MW_B_SLEEP}, {"syscall", BK_BLOCK, MW_B_SYSCALL},
      {"cond", BK_BLOCK, MW_B_COND}};
  for (size_t i = 0; state && i < sizeof map / sizeof map[0]; i++)
    if (strcmp(state, map[i].name) == 0) {
      *kind = map[i].k;
      return map[i].b;
    }
  *kind = MW_B_OTHER;
  return BK_BLOCK;
}

/* --- per-source context -------------------------------------------------------- */

typedef struct source_ctx {
  int64_t id;
  mw_gc_cycle *gc;
  size_t n_gc;
  mw_snapshot_info *cpu;      /* CPU profiles that may cover the trace */
  size_t n_cpu;
} source_ctx;

/* --- intervals --------------------------------------------------------------------- */

typedef struct ival { int64_t a, b; } ival;

static int cmp_ival(const void *x, const void *y) {
  const ival *p = x, *q = y;
  return (p->a > q->a) - (p->a < q->a);
}

static int64_t overlap(int64_t a0, int64_t a1, int64_t b0, int64_t b1) {
  int64_t lo = a0 > b0 ? a0 : b0, hi = a1 < b1 ? a1 : b1;
  return hi > lo ? hi - lo : 0;
}

/* Overlap of [a, b) with a sorted, disjoint interval list. */
static int64_t overlap_list(const ival *v, size_t n, int64_t a, int64_t b) {
  int64_t sum = 0;
  for (size_t i = 0; i < n; i++) sum += overlap(v[i].a, v[i].b, a, b);
  return sum;
}

/* --- stack text ---------------------------------------------------------------------- */

/* Iterates "func\tfile:line\n" frames. Returns 0 at the end. */
typedef struct frame_it {
  const char *p;
  const char *func, *file;
  size_t func_len, file_len;
  int64_t line;
} frame_it;

static int next_frame(frame_it *it) {
  if (!it->p || !*it->p) return 0;
  const char *nl = strchr(it->p, '\n');
  size_t n = nl ? (size_t)(nl - it->p) : strlen(it->p);
  const char *tab = memchr(it->p, '\t', n);
  it->func = it->p;
  it->func_len = tab ? (size_t)(tab - it->p) : n;
  it->file = tab ? tab + 1 : "";
  it->file_len = 0;
  it->line = 0;
  if (tab) {
    const char *loc = tab + 1, *end = it->p + n, *colon = NULL;
    for (const char *q = end; q > loc; q--)
      if (q[-1] == ':') {
        colon = q - 1;
        break;
      }
    it->file_len = colon ? (size_t)(colon - loc) : (size_t)(end - loc);
    it->line = colon ? strtoll(colon + 1, NULL, 10) : 0;
  }
  it->p += n + (nl ? 1 : 0);
  return 1;
}

static int is_runtime_frame(const char *f, size_t n) {
  return (n > 8 && strncmp(f, "runtime.", 8) == 0) || (n > 14 && strncmp(f, "internal/poll.", 14) == 0) ||
         (n > 23 && strncmp(f, "runtime/internal/atomic", 23) == 0);
}

static int stack_has(const char *frames, const char *func) {
  size_t n = strlen(func);
  frame_it it = {.p = frames};
  while (next_frame(&it))
    if (it.func_len == n && strncmp(it.func, func, n) == 0) return 1;
  return 0;
}

/* Writes up to max frames; with skip_runtime, from the first frame that is not
 * runtime machinery (for parked goroutines, where runtime.gopark says little);
 * without, from the leaf (for CPU samples, where runtime.mallocgc says a lot). */
static void json_frames(mw_jsonw *w, const char *frames, size_t max, int skip_runtime);

void mw__json_top_frames(mw_jsonw *w, const char *frames, size_t max) { json_frames(w, frames, max, 1); }

static void json_frames(mw_jsonw *w, const char *frames, size_t max, int skip_runtime) {
  frame_it it = {.p = frames};
  size_t shown = 0, total = 0;
  const char *first_user = NULL;
  while (next_frame(&it)) {
    total++;
    if (!first_user && !is_runtime_frame(it.func, it.func_len)) first_user = it.func;
  }
  mw__jw_arr(w);
  it = (frame_it){.p = frames};
  int started = first_user == NULL || !skip_runtime;
  while (shown < max && next_frame(&it)) {
    if (!started && it.func != first_user) continue;
    started = 1;
    mw__jw_obj(w);
    mw__jw_key(w, "function");
    mw__jw_strn(w, it.func, it.func_len);
    mw__jw_key(w, "file");
    mw__jw_strn(w, it.file, it.file_len);
    mw__jw_kint(w, "line", it.line);
    mw__jw_obj_end(w);
    shown++;
  }
  mw__jw_arr_end(w);
  (void)total;
}

static int is_library_frame(const char *f, size_t n) {
  static const char *const prefixes[] = {"sync.", "time.", "net.", "net/", "os.", "io.", "bufio.", "syscall.",
                                         "internal/", "context.", "database/sql.", "crypto/"};
  for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
    size_t pl = strlen(prefixes[i]);
    if (n > pl && strncmp(f, prefixes[i], pl) == 0) return 1;
  }
  return 0;
}

/* Where a stack was: the blocking call and the program's own frame that made
 * it, "sync.(*Mutex).Lock in main.reserve (main.go:88)"; runtime frames skipped. */
static const char *describe_site(mw_arena *a, const char *frames) {
  frame_it it = {.p = frames}, call = {0}, own = {0};
  while (next_frame(&it)) {
    if (is_runtime_frame(it.func, it.func_len)) continue;
    if (!call.func) call = it;
    if (!is_library_frame(it.func, it.func_len)) {
      own = it;
      break;
    }
  }
  char buf[640];
  if (!call.func) return "an unknown site";
  if (!own.func || own.func == call.func)
    snprintf(buf, sizeof buf, "%.*s (%.*s:%lld)", (int)call.func_len, call.func, (int)call.file_len, call.file,
             (long long)call.line);
  else
    snprintf(buf, sizeof buf, "%.*s in %.*s (%.*s:%lld)", (int)call.func_len, call.func, (int)own.func_len, own.func,
             (int)own.file_len, own.file, (long long)own.line);
  return mw__arena_strndup(a, buf, strlen(buf));
}

/* --- snapshot meta -------------------------------------------------------------------- */

/* Index of the value that holds CPU nanoseconds in a profile's samples, and
 * the period (ns per sample) as the fallback. */
static void cpu_value_index(const char *meta_json, int *idx, int64_t *period) {
  *idx = -1;
  *period = 10000000;
  json_t *m = meta_json ? json_loads(meta_json, 0, NULL) : NULL;
  if (!m) return;
  json_t *types = json_object_get(m, "sample_types");
  for (size_t i = 0; i < json_array_size(types); i++) {
    const char *unit = json_string_value(json_array_get(json_array_get(types, i), 1));
    if (unit && strcmp(unit, "nanoseconds") == 0) *idx = (int)i;
  }
  json_t *p = json_object_get(m, "period");
  if (json_is_integer(p) && json_integer_value(p) > 0) *period = json_integer_value(p);
  json_decref(m);
}

static int64_t nth_value(const char *vals, int idx) {
  const char *p = vals ? vals : "";
  if (*p == '[') p++;
  for (int i = 0; *p; i++) {
    char *end;
    long long v = strtoll(p, &end, 10);
    if (i == idx) return v;
    p = strchr(end, ',');
    if (!p) break;
    p++;
  }
  return 0;
}

/* --- building causes ------------------------------------------------------------------ */

static char *fmt(mw_arena *a, const char *f, ...) __attribute__((format(printf, 2, 3)));
static char *fmt(mw_arena *a, const char *f, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, f);
  vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return mw__arena_strndup(a, buf, strlen(buf));
}

typedef struct cause_list {
  mw_cause items[16];
  size_t n;
} cause_list;

static void add_cause(mw_arena *a, cause_list *cl, int64_t dur, const char *kind, int64_t ns, double conf,
                      const char *scope, const char *summary, mw_buf *evidence) {
  if (ns <= 0 || cl->n == sizeof cl->items / sizeof cl->items[0]) {
    mw__buf_free(evidence);
    return;
  }
  /* one cause per kind: GC assist, say, may be seen both in CPU samples and in
   * goroutine states; ranked apart, half of it could lose to a smaller cause */
  for (size_t i = 0; i < cl->n; i++) {
    mw_cause *c = &cl->items[i];
    if (strcmp(c->kind, kind) != 0) continue;
    double add = dur > 0 ? (double)ns / (double)dur : 0;
    c->confidence = (c->confidence * c->share + (conf < 0 ? 0 : conf > 1 ? 1 : conf) * add) / (c->share + add);
    c->share += add;
    c->summary = fmt(a, "%s; %s", c->summary, summary);
    if (strcmp(c->scope, scope) != 0) c->scope = "span"; /* a span's own evidence is part of it */
    size_t n1 = strlen(c->evidence), n2 = evidence->len;
    if (n2 > 2 && n1 > 2) { /* join the two arrays */
      char *j = mw__arena_alloc(a, n1 + n2);
      if (j) {
        memcpy(j, c->evidence, n1 - 1);
        j[n1 - 1] = ',';
        memcpy(j + n1, evidence->data + 1, n2 - 1);
        j[n1 + n2 - 1] = '\0';
        c->evidence = j;
      }
    }
    mw__buf_free(evidence);
    return;
  }
  mw_cause *c = &cl->items[cl->n++];
  c->kind = kind;
  c->share = dur > 0 ? (double)ns / (double)dur : 0;
  c->confidence = conf < 0 ? 0 : conf > 1 ? 1 : conf;
  c->scope = scope;
  c->summary = summary;
  c->evidence = evidence->data ? mw__arena_strndup(a, evidence->data, evidence->len) : "[]";
  mw__buf_free(evidence);
}

static int cmp_cause(const void *x, const void *y) {
  const mw_cause *p = x, *q = y;
  if (p->share != q->share) return (p->share < q->share) - (p->share > q->share);
  return strcmp(p->kind, q->kind); /* a stable order for equal shares */
}

static double ms(int64_t ns) { return (double)ns / 1e6; }

/* Confidence from the number of independent observations behind a figure. */
static double conf_from(double n, double scale) { return n <= 0 ? 0 : scale * n / (n + 1.5); }

/* --- goroutine state evidence ------------------------------------------------------- */

typedef struct state_obs {
  double frac[MW_B_N + 2];    /* per bucket: MW_B_N blocked kinds, then run, then gc */
  size_t snapshots;           /* observations (span, snapshot) */
  size_t spans;               /* spans that had any (operation scope) */
  mw_span_sample *rows;       /* the rows behind them, for evidence */
  size_t n_rows;
} state_obs;

enum { OBS_RUN = MW_B_N, OBS_GC = MW_B_N + 1 };

static int obs_index(const char *state) {
  enum mw_block_kind k;
  switch (state_bucket(state, &k)) {
  case BK_RUN: return OBS_RUN;
  case BK_GC: return OBS_GC;
  default: return (int)k;
  }
}

/* Adds the goroutine rows of one span (ordered by snapshot time) to obs: each
 * snapshot counts once, its goroutines' states weighted by their counts. */
static void observe(state_obs *obs, const mw_span_sample *rows, size_t n) {
  for (size_t i = 0; i < n;) {
    size_t j = i;
    int64_t total = 0;
    while (j < n && rows[j].snapshot_id == rows[i].snapshot_id) total += rows[j++].count;
    for (size_t k = i; k < j && total > 0; k++) obs->frac[obs_index(rows[k].state)] += (double)rows[k].count / (double)total;
    obs->snapshots++;
    i = j;
  }
}

/* Evidence for one bucket: up to 3 distinct stacks with the snapshots that saw them. */
static void state_evidence(mw_buf *b, const state_obs *obs, int bucket, const char *scope_note) {
  mw_jsonw w;
  mw__jw_init(&w, b);
  mw__jw_arr(&w);
  int64_t seen_stacks[3];
  size_t n_seen = 0;
  for (size_t i = 0; i < obs->n_rows && n_seen < 3; i++) {
    const mw_span_sample *r = &obs->rows[i];
    if (obs_index(r->state) != bucket) continue;
    size_t k = 0;
    while (k < n_seen && seen_stacks[k] != r->stack_id) k++;
    if (k < n_seen) continue;
    seen_stacks[n_seen++] = r->stack_id;
    mw__jw_obj(&w);
    mw__jw_kstr(&w, "type", "goroutine_sample");
    mw__jw_kint(&w, "snapshot_id", r->snapshot_id);
    mw__jw_kint(&w, "time_ns", r->snapshot_ns);
    mw__jw_kstr(&w, "state", r->state);
    if (r->wait_reason) mw__jw_kstr(&w, "wait_reason", r->wait_reason);
    mw__jw_kint(&w, "goroutines", r->count);
    mw__jw_kint(&w, "stack_id", r->stack_id);
    mw__jw_key(&w, "frames");
    mw__json_top_frames(&w, r->frames, 6);
    mw__jw_obj_end(&w);
  }
  mw__jw_obj(&w);
  mw__jw_kstr(&w, "type", "observations");
  mw__jw_kint(&w, "snapshots", (int64_t)obs->snapshots);
  if (obs->spans) mw__jw_kint(&w, "spans", (int64_t)obs->spans);
  mw__jw_kdouble(&w, "fraction", obs->snapshots ? obs->frac[bucket] / (double)obs->snapshots : 0);
  if (scope_note) mw__jw_kstr(&w, "note", scope_note);
  mw__jw_obj_end(&w);
  mw__jw_arr_end(&w);
}

/* The first row of a bucket, for summaries. */
static const mw_span_sample *first_row(const state_obs *obs, int bucket) {
  for (size_t i = 0; i < obs->n_rows; i++)
    if (obs_index(obs->rows[i].state) == bucket) return &obs->rows[i];
  return NULL;
}

static const char *block_phrase(int k) {
  switch (k) {
  case MW_B_MUTEX: return "waiting for a lock";
  case MW_B_CHAN: return "waiting on a channel";
  case MW_B_SELECT: return "waiting in a select";
  case MW_B_IO: return "waiting for network I/O";
  case MW_B_SLEEP: return "sleeping";
  case MW_B_SYSCALL: return "in a system call";
  case MW_B_COND: return "waiting for an event (sync.Cond / WaitGroup)";
  default: return "parked for another reason";
  }
}

/* Operation scope: the goroutine states of the slow spans of S's operation
 * around it. Cached per operation within one explanation. */
typedef struct op_cache {
  int64_t op_id;
  state_obs obs;
  int64_t p90, count;
  int loaded;
} op_cache;

static int load_op(mw_store *s, mw_arena *a, const mw_explain_opts *o, const mw_stored_span *sp, op_cache *oc) {
  memset(oc, 0, sizeof *oc);
  oc->op_id = sp->op_id;
  oc->loaded = 1;
  mw_span_ref *refs;
  size_t n;
  int rc = mw__store_op_neighbours(s, a, sp->op_id, sp->start_ns, o->op_window_ns, o->op_neighbours, 0.90,
                                   o->op_max_spans, &oc->p90, &oc->count, &refs, &n);
  if (rc || !oc->count) return rc;
  mw_span_sample *rows;
  size_t nr;
  if ((rc = mw__store_spans_goroutines(s, a, refs, n, 40 * 256, &rows, &nr))) return rc;
  /* rows come ordered by span, then snapshot: observe each span's run */
  for (size_t i = 0; i < nr;) {
    size_t j = i;
    while (j < nr && rows[j].ref == rows[i].ref) j++;
    oc->obs.spans++;
    observe(&oc->obs, rows + i, j - i);
    i = j;
  }
  oc->obs.rows = rows;
  oc->obs.n_rows = nr;
  return MW_OK;
}

/* --- one span ------------------------------------------------------------------------ */

typedef struct explain_ctx {
  mw_store *store;
  mw_arena *a;
  const mw_explain_opts *o;
  mw_trace_explain *t;
  source_ctx *sources;
  size_t n_sources;
  op_cache *ops;
  size_t n_ops, cap_ops;
} explain_ctx;

static source_ctx *source_of(explain_ctx *x, int64_t id) {
  for (size_t i = 0; i < x->n_sources; i++)
    if (x->sources[i].id == id) return &x->sources[i];
  return NULL;
}

static int explain_span(explain_ctx *x, size_t idx) {
  mw_arena *a = x->a;
  mw_span_explain *e = &x->t->spans[idx];
  const mw_stored_span *sp = e->span;
  int64_t start = sp->start_ns, end = sp->start_ns + sp->dur_ns, dur = sp->dur_ns;
  cause_list cl = {0};
  mw_buf ev;
  mw_jsonw w;

  /* children and self time */
  size_t n_kids = 0;
  for (size_t i = 0; i < x->t->n_spans; i++)
    if (x->t->spans[i].parent == (int)idx) n_kids++;
  ival *kids = mw__arena_calloc(a, n_kids + 1, sizeof *kids), *self = mw__arena_calloc(a, n_kids + 2, sizeof *self);
  if (!kids || !self) return MW_ENOMEM;
  size_t nk = 0, slowest = SIZE_MAX;
  for (size_t i = 0; i < x->t->n_spans; i++) {
    if (x->t->spans[i].parent != (int)idx) continue;
    const mw_stored_span *c = x->t->spans[i].span;
    int64_t a0 = c->start_ns < start ? start : c->start_ns, a1 = c->start_ns + c->dur_ns > end ? end : c->start_ns + c->dur_ns;
    if (a1 > a0) kids[nk++] = (ival){a0, a1};
    if (slowest == SIZE_MAX || c->dur_ns > x->t->spans[slowest].span->dur_ns) slowest = i;
  }
  qsort(kids, nk, sizeof *kids, cmp_ival);
  size_t ns = 0;
  int64_t cursor = start;
  for (size_t i = 0; i < nk; i++) {
    if (kids[i].a > cursor) self[ns++] = (ival){cursor, kids[i].a};
    if (kids[i].b > cursor) cursor = kids[i].b;
  }
  if (end > cursor) self[ns++] = (ival){cursor, end};
  e->self_ns = 0;
  for (size_t i = 0; i < ns; i++) e->self_ns += self[i].b - self[i].a;
  e->children_ns = dur - e->self_ns;

  if (e->children_ns > 0 && slowest != SIZE_MAX) {
    const mw_span_explain *c = &x->t->spans[slowest];
    mw__buf_init(&ev, 1u << 20);
    mw__jw_init(&w, &ev);
    mw__jw_arr(&w);
    mw__jw_obj(&w);
    mw__jw_kstr(&w, "type", "span");
    mw__jw_key(&w, "span_id");
    mw__jw_hex(&w, c->span->span_id, 8);
    mw__jw_kstr(&w, "name", c->span->name);
    mw__jw_kstr(&w, "service", c->service);
    mw__jw_kint(&w, "duration_ns", c->span->dur_ns);
    if (c->n_causes) mw__jw_kstr(&w, "top_cause", c->causes[0].kind);
    mw__jw_obj_end(&w);
    mw__jw_arr_end(&w);
    const char *child_why = c->n_causes && strcmp(c->causes[0].kind, "children") != 0 ? c->causes[0].summary : NULL;
    add_cause(a, &cl, dur, "children", e->children_ns, 1.0, "span",
              fmt(a, "%.1f ms in child spans; the slowest is %s (%s, %.1f ms)%s%s", ms(e->children_ns), c->span->name,
                  c->service, ms(c->span->dur_ns), child_why ? ": " : "", child_why ? child_why : ""),
              &ev);
  }

  source_ctx *src = source_of(x, sp->source_id);

  /* stop-the-world overlap with self time */
  mw__buf_init(&ev, 1u << 20);
  mw__jw_init(&w, &ev);
  mw__jw_arr(&w);
  char cycles[160] = "";
  size_t clen = 0;
  for (size_t i = 0; src && i < src->n_gc; i++) {
    const mw_gc_cycle *g = &src->gc[i];
    int64_t p1 = mw__sat_add(g->start_ns, g->stw_sweep_term_ns), p2 = mw__sat_add(p1, g->concurrent_mark_ns),
            p3 = mw__sat_add(p2, g->stw_mark_term_ns);
    int64_t o1 = overlap_list(self, ns, g->start_ns, p1), o2 = overlap_list(self, ns, p2, p3);
    if (o1 + o2 <= 0) continue;
    e->b.gc_stw_ns += o1 + o2;
    mw__jw_obj(&w);
    mw__jw_kstr(&w, "type", "gc_cycle");
    mw__jw_kint(&w, "n", g->n);
    mw__jw_kint(&w, "start_ns", g->start_ns);
    mw__jw_kint(&w, "stw_overlap_ns", o1 + o2);
    mw__jw_kint(&w, "heap_before_bytes", g->heap_before);
    mw__jw_kint(&w, "goal_bytes", g->goal);
    mw__jw_obj_end(&w);
    if (clen < sizeof cycles - 24) clen += (size_t)snprintf(cycles + clen, sizeof cycles - clen, "%s%lld", clen ? ", " : "", (long long)g->n);
  }
  mw__jw_arr_end(&w);
  /* cycles are placed on the spans' clock to about a millisecond: an overlap
   * much shorter than that is as likely an artefact of the placement */
  double stw_conf = 0.9 * (double)e->b.gc_stw_ns / ((double)e->b.gc_stw_ns + 500000.0);
  add_cause(a, &cl, dur, "gc_stw", e->b.gc_stw_ns, stw_conf, "span",
            fmt(a, "stopped by the garbage collector for %.2f ms (cycle %s)", ms(e->b.gc_stw_ns), cycles), &ev);

  /* labelled CPU samples */
  mw_span_sample *cpu;
  size_t n_cpu;
  int rc = mw__store_span_samples(x->store, a, sp->span_id, sp->trace_id, "cpu", 4096, &cpu, &n_cpu);
  if (rc) return rc;
  int64_t cpu_ns = 0, assist_ns = 0, cpu_samples = 0, last_snap = -1;
  int idx_ns = -1;
  int64_t period = 0;
  typedef struct leaf { const char *frames; int64_t ns, samples; } leaf;
  leaf top[64];
  size_t n_top = 0;
  for (size_t i = 0; i < n_cpu; i++) {
    if (cpu[i].snapshot_id != last_snap) {
      cpu_value_index(cpu[i].meta_json, &idx_ns, &period);
      last_snap = cpu[i].snapshot_id;
    }
    int64_t v = idx_ns >= 0 ? nth_value(cpu[i].vals_json, idx_ns) : nth_value(cpu[i].vals_json, 0) * period;
    int64_t cnt = nth_value(cpu[i].vals_json, 0);
    cpu_samples += cnt > 0 ? cnt : 1;
    if (stack_has(cpu[i].frames, "runtime.gcAssistAlloc") || stack_has(cpu[i].frames, "runtime.gcAssistAlloc1")) {
      assist_ns += v;
      continue;
    }
    cpu_ns += v;
    size_t k = 0;
    while (k < n_top && top[k].frames != cpu[i].frames && strcmp(top[k].frames, cpu[i].frames) != 0) k++;
    if (k == n_top && n_top < 64) top[n_top++] = (leaf){cpu[i].frames, 0, 0};
    if (k < n_top) top[k].ns += v, top[k].samples += cnt > 0 ? cnt : 1;
  }
  /* a span cannot spend more than its self time on CPU: samples are ~period apart */
  if (cpu_ns + assist_ns > e->self_ns && cpu_ns + assist_ns > 0) {
    double f = (double)e->self_ns / (double)(cpu_ns + assist_ns);
    cpu_ns = (int64_t)((double)cpu_ns * f);
    assist_ns = (int64_t)((double)assist_ns * f);
  }
  /* how much of the self time a CPU profile was recording: there, CPU time is
   * counted by samples; elsewhere it can only be inferred */
  int64_t covered = 0;
  for (size_t i = 0; src && i < src->n_cpu; i++) {
    /* Go's duration_nanos runs past the last sample by 100-200 ms (the
     * profile is stopped and written after the sampling ends): that tail is
     * not counted as covered, lest a busy span there look like waiting */
    int64_t sampled = src->cpu[i].duration_ns - CPU_PROFILE_TAIL_NS;
    for (size_t k = 0; k < ns && sampled > 0; k++)
      covered += overlap(src->cpu[i].at_ns, src->cpu[i].at_ns + sampled, self[k].a, self[k].b);
  }
  double cover = e->self_ns > 0 ? (double)covered / (double)e->self_ns : 0;
  if (cover > 1) cover = 1;
  e->b.cpu_ns = cpu_ns;
  e->b.gc_assist_ns = assist_ns;

  /* residual: split by goroutine states */
  int64_t residual = e->self_ns - cpu_ns - assist_ns - e->b.gc_stw_ns;
  if (residual < 0) residual = 0;
  state_obs own = {0};
  mw_span_sample *grows;
  size_t n_grows;
  if ((rc = mw__store_span_samples(x->store, a, sp->span_id, sp->trace_id, "goroutine", 1024, &grows, &n_grows))) return rc;
  observe(&own, grows, n_grows);
  own.rows = grows;
  own.n_rows = n_grows;
  const state_obs *obs = &own;
  const char *scope = "span";
  double scale = 0.9;
  const char *note = NULL;
  op_cache *oc = NULL;
  if (!own.snapshots && residual > 0) {
    for (size_t i = 0; i < x->n_ops; i++)
      if (x->ops[i].op_id == sp->op_id) oc = &x->ops[i];
    if (!oc) {
      if (x->n_ops == x->cap_ops) {
        size_t ncap = x->cap_ops ? x->cap_ops * 2 : 8;
        op_cache *p = mw__arena_alloc(a, ncap * sizeof *p);
        if (!p) return MW_ENOMEM;
        if (x->n_ops) memcpy(p, x->ops, x->n_ops * sizeof *p);
        x->ops = p;
        x->cap_ops = ncap;
      }
      oc = &x->ops[x->n_ops++];
      if ((rc = load_op(x->store, a, x->o, sp, oc))) return rc;
    }
    if (oc->obs.snapshots >= x->o->op_min_snapshots) {
      obs = &oc->obs;
      scope = "operation";
      scale = 0.5;
      note = fmt(a, "from %zu spans of %s %s at or above its p90 (%.1f ms), not this span's own samples",
                 oc->obs.spans, e->service, sp->name, ms(oc->p90));
    }
  }
  if (obs->snapshots && residual > 0) {
    double nsnap = (double)obs->snapshots;
    double conf = conf_from(nsnap, scale);
    double fr_run = obs->frac[OBS_RUN] / nsnap, fr_gc = obs->frac[OBS_GC] / nsnap;
    int64_t run_ns = (int64_t)(fr_run * (double)residual);
    /* where a CPU profile was recording, CPU time is already counted and the
     * rest of "running or runnable" was waiting for a CPU; where none was,
     * the two cannot be told apart, and it counts as (inferred) CPU */
    int64_t run_covered = (int64_t)(cover * (double)run_ns);
    e->b.runnable_ns += run_covered;
    e->b.cpu_ns += run_ns - run_covered;
    run_ns = run_covered;
    e->b.gc_assist_ns += (int64_t)(fr_gc * (double)residual);
    for (int k = 0; k < MW_B_N; k++) e->b.blocked_ns[k] += (int64_t)(obs->frac[k] / nsnap * (double)residual);
    for (int k = 0; k < MW_B_N; k++) {
      if (!e->b.blocked_ns[k]) continue;
      const mw_span_sample *r = first_row(obs, k);
      mw__buf_init(&ev, 1u << 20);
      state_evidence(&ev, obs, k, note);
      add_cause(a, &cl, dur, block_names[k], e->b.blocked_ns[k], conf, scope,
                fmt(a, "%s%s for %.1f ms at %s", strcmp(scope, "operation") == 0 ? "slow spans of this operation were " : "",
                    block_phrase(k), ms(e->b.blocked_ns[k]),
                    r ? describe_site(a, r->frames) : "an unknown site"),
                &ev);
    }
    if (run_ns > 0) {
      mw__buf_init(&ev, 1u << 20);
      state_evidence(&ev, obs, OBS_RUN, note);
      add_cause(a, &cl, dur, "runnable", run_ns, conf * 0.8, scope,
                fmt(a, "ready to run but not on a CPU for %.1f ms (goroutine snapshots found it runnable while the "
                       "CPU profile has no samples for it)", ms(run_ns)),
                &ev);
    }
    if (fr_gc > 0) {
      mw__buf_init(&ev, 1u << 20);
      state_evidence(&ev, obs, OBS_GC, note);
      add_cause(a, &cl, dur, "gc_assist", (int64_t)(fr_gc * (double)residual), conf, scope,
                fmt(a, "held up by the garbage collector for %.1f ms (parked in a GC wait)", ms((int64_t)(fr_gc * (double)residual))),
                &ev);
    }
  } else if (residual > 0) {
    e->b.unknown_ns = residual;
  }

  /* on CPU */
  int64_t cpu_total = e->b.cpu_ns;
  if (cpu_total > 0) {
    mw__buf_init(&ev, 1u << 20);
    mw__jw_init(&w, &ev);
    mw__jw_arr(&w);
    for (size_t pass = 0; pass < 5 && n_top; pass++) { /* the 5 heaviest stacks */
      size_t best = 0;
      for (size_t k = 1; k < n_top; k++)
        if (top[k].ns > top[best].ns) best = k;
      if (top[best].ns < 0) break;
      mw__jw_obj(&w);
      mw__jw_kstr(&w, "type", "cpu_samples");
      mw__jw_kint(&w, "samples", top[best].samples);
      mw__jw_kint(&w, "cpu_ns", top[best].ns);
      mw__jw_key(&w, "frames");
      json_frames(&w, top[best].frames, 8, 0);
      mw__jw_obj_end(&w);
      top[best].ns = -1;
    }
    for (size_t i = 0; i < n_cpu; i++)
      if (i == 0 || cpu[i].snapshot_id != cpu[i - 1].snapshot_id) {
        mw__jw_obj(&w);
        mw__jw_kstr(&w, "type", "cpu_profile");
        mw__jw_kint(&w, "snapshot_id", cpu[i].snapshot_id);
        mw__jw_kint(&w, "time_ns", cpu[i].snapshot_ns);
        mw__jw_kint(&w, "duration_ns", cpu[i].snapshot_dur_ns);
        mw__jw_obj_end(&w);
      }
    mw__jw_arr_end(&w);
    const char *where = NULL;
    size_t heaviest = 0; /* the evidence loop marked them; pick by samples */
    for (size_t k = 1; k < n_top; k++)
      if (top[k].samples > top[heaviest].samples) heaviest = k;
    if (n_top) where = describe_site(a, top[heaviest].frames);
    if (cpu_ns > 0) {
      add_cause(a, &cl, dur, "cpu", cpu_total, conf_from((double)cpu_samples, 0.95), "span",
                fmt(a, "on CPU for %.1f ms (%lld samples), mostly in %s", ms(cpu_total), (long long)cpu_samples,
                    where ? where : "?"),
                &ev);
    } else {
      add_cause(a, &cl, dur, "cpu", cpu_total, conf_from((double)obs->snapshots, 0.5), scope,
                fmt(a, "running for %.1f ms (goroutine snapshots found it running; no CPU profile covered the span)",
                    ms(cpu_total)),
                &ev);
    }
  }
  if (assist_ns > 0) {
    mw__buf_init(&ev, 1u << 20);
    mw__jw_init(&w, &ev);
    mw__jw_arr(&w);
    mw__jw_obj(&w);
    mw__jw_kstr(&w, "type", "cpu_samples");
    mw__jw_kstr(&w, "function", "runtime.gcAssistAlloc");
    mw__jw_kint(&w, "cpu_ns", assist_ns);
    mw__jw_obj_end(&w);
    mw__jw_arr_end(&w);
    add_cause(a, &cl, dur, "gc_assist", assist_ns, conf_from((double)cpu_samples, 0.9), "span",
              fmt(a, "assisting the garbage collector for %.1f ms (its allocations paid for marking)", ms(assist_ns)), &ev);
  }
  if (e->b.unknown_ns > 0) {
    const char *why;
    if (oc && oc->obs.snapshots)
      why = fmt(a, "no goroutine snapshot fell inside this span, and the %zu snapshots of slow spans of the same "
                   "operation are fewer than %zu", oc->obs.snapshots, x->o->op_min_snapshots);
    else if (oc)
      why = fmt(a, "no goroutine snapshot fell inside this span, and none caught the %lld similar spans of the same "
                   "operation (p90 %.1f ms)", (long long)oc->count, ms(oc->p90));
    else
      why = "no goroutine snapshot fell inside this span";
    mw__buf_init(&ev, 1u << 20);
    mw__jw_init(&w, &ev);
    mw__jw_arr(&w);
    mw__jw_obj(&w);
    mw__jw_kstr(&w, "type", "reason");
    mw__jw_kstr(&w, "text", why);
    mw__jw_obj_end(&w);
    mw__jw_arr_end(&w);
    add_cause(a, &cl, dur, "unknown", e->b.unknown_ns, 0, "span", fmt(a, "%.1f ms unexplained: %s", ms(e->b.unknown_ns), why), &ev);
  }
  /* causes under 1% of the span are noise beside the others (the breakdown keeps them) */
  size_t kept = 0;
  for (size_t i = 0; i < cl.n; i++)
    if (cl.items[i].share >= 0.01 || cl.n == 1) cl.items[kept++] = cl.items[i];
  cl.n = kept;
  qsort(cl.items, cl.n, sizeof cl.items[0], cmp_cause);
  e->causes = mw__arena_memdup(a, cl.items, cl.n * sizeof cl.items[0]);
  e->n_causes = cl.n;
  return e->causes || !cl.n ? MW_OK : MW_ENOMEM;
}

/* --- the trace ------------------------------------------------------------------------- */

static int load_sources(explain_ctx *x) {
  mw_trace_explain *t = x->t;
  x->sources = mw__arena_calloc(x->a, t->rows.n_sources + 1, sizeof *x->sources);
  if (!x->sources) return MW_ENOMEM;
  for (size_t i = 0; i < t->rows.n_sources; i++) {
    source_ctx *sc = &x->sources[x->n_sources++];
    sc->id = t->rows.sources[i].id;
    int more;
    /* a GC cycle that overlaps the trace starts at most a few seconds before it */
    int rc = mw__store_gc(x->store, x->a, sc->id, t->start_ns - 5000000000LL, t->end_ns, 10000, &sc->gc, &sc->n_gc, &more);
    if (!rc) rc = mw__store_snapshots(x->store, x->a, sc->id, "cpu", t->start_ns - 120000000000LL, t->end_ns, 1000,
                                      &sc->cpu, &sc->n_cpu, &more);
    if (rc) return rc;
  }
  return MW_OK;
}

int mw__explain_trace(mw_store *s, mw_arena *a, const uint8_t trace_id[16], const mw_explain_opts *o,
                      mw_trace_explain *out) {
  memset(out, 0, sizeof *out);
  memcpy(out->trace_id, trace_id, 16);
  int rc = mw__store_read_trace(s, a, trace_id, o->max_spans, &out->rows);
  if (rc) return rc;
  if (!out->rows.n_spans) return MW_ENOTFOUND;
  out->n_spans = out->rows.n_spans;
  out->spans = mw__arena_calloc(a, out->n_spans, sizeof *out->spans);
  if (!out->spans) return MW_ENOMEM;
  /* the explanation names each span's service */
  mw_source_info *infos = mw__arena_calloc(a, out->rows.n_sources + 1, sizeof *infos);
  if (!infos) return MW_ENOMEM;
  for (size_t i = 0; i < out->rows.n_sources; i++)
    if ((rc = mw__store_source(s, a, out->rows.sources[i].id, &infos[i])) && rc != MW_ENOTFOUND) return rc;
  out->start_ns = INT64_MAX;
  out->end_ns = INT64_MIN;
  for (size_t i = 0; i < out->n_spans; i++) {
    mw_span_explain *e = &out->spans[i];
    e->span = &out->rows.spans[i];
    e->service = "?";
    for (size_t k = 0; k < out->rows.n_sources; k++)
      if (out->rows.sources[k].id == e->span->source_id && infos[k].service) e->service = infos[k].service;
    e->parent = -1;
    if (e->span->start_ns < out->start_ns) out->start_ns = e->span->start_ns;
    if (e->span->start_ns + e->span->dur_ns > out->end_ns) out->end_ns = e->span->start_ns + e->span->dur_ns;
  }
  for (size_t i = 0; i < out->n_spans; i++) {
    const mw_stored_span *sp = out->spans[i].span;
    if (!sp->has_parent) continue;
    for (size_t k = 0; k < out->n_spans; k++)
      if (k != i && memcmp(out->rows.spans[k].span_id, sp->parent_id, 8) == 0) out->spans[i].parent = (int)k;
  }
  explain_ctx x = {.store = s, .a = a, .o = o, .t = out};
  if ((rc = load_sources(&x))) return rc;
  /* children before parents, so that a parent can name its slow child's cause:
   * process spans deepest first */
  size_t *order = mw__arena_calloc(a, out->n_spans, sizeof *order);
  int *depth = mw__arena_calloc(a, out->n_spans, sizeof *depth);
  if (!order || !depth) return MW_ENOMEM;
  for (size_t i = 0; i < out->n_spans; i++) {
    int d = 0;
    for (int p = out->spans[i].parent; p >= 0 && d < (int)out->n_spans; p = out->spans[p].parent) d++;
    depth[i] = d;
    order[i] = i;
  }
  for (size_t i = 1; i < out->n_spans; i++) { /* insertion sort by depth, deepest first */
    size_t v = order[i], j = i;
    while (j > 0 && depth[order[j - 1]] < depth[v]) order[j] = order[j - 1], j--;
    order[j] = v;
  }
  for (size_t i = 0; i < out->n_spans; i++)
    if ((rc = explain_span(&x, order[i]))) return rc;

  /* the trace's summary: from the root, follow the slowest child while children
   * dominate, and say what the span where the time stops was doing */
  size_t root = 0;
  for (size_t i = 0; i < out->n_spans; i++)
    if (out->spans[i].parent < 0 && out->spans[i].span->dur_ns > out->spans[root].span->dur_ns) root = i;
  if (out->spans[root].parent >= 0)
    for (size_t i = 0; i < out->n_spans; i++)
      if (out->spans[i].parent < 0) root = i;
  size_t at = root;
  for (int guard = 0; guard < 64; guard++) {
    const mw_span_explain *e = &out->spans[at];
    if (!e->n_causes || strcmp(e->causes[0].kind, "children") != 0) break;
    size_t next = SIZE_MAX;
    for (size_t i = 0; i < out->n_spans; i++)
      if (out->spans[i].parent == (int)at && (next == SIZE_MAX || out->spans[i].span->dur_ns > out->spans[next].span->dur_ns))
        next = i;
    if (next == SIZE_MAX) break;
    at = next;
  }
  const mw_span_explain *r = &out->spans[root], *leaf = &out->spans[at];
  const char *why = leaf->n_causes ? leaf->causes[0].summary : "nothing is known about it";
  if (at == root)
    out->summary = fmt(a, "%s (%s) took %.1f ms; most of it: %s.", r->span->name, r->service, ms(out->end_ns - out->start_ns), why);
  else
    out->summary = fmt(a, "%s (%s) took %.1f ms; %.0f%% of it was in %s (%s, %.1f ms), which was %s%s.", r->span->name,
                       r->service, ms(out->end_ns - out->start_ns),
                       100.0 * (double)leaf->span->dur_ns / (double)(out->end_ns - out->start_ns > 0 ? out->end_ns - out->start_ns : 1),
                       leaf->span->name, leaf->service, ms(leaf->span->dur_ns), why,
                       leaf->n_causes && strcmp(leaf->causes[0].scope, "operation") == 0 ? " (judged from similar spans)" : "");
  return MW_OK;
}

void mw__explain_json(mw_jsonw *w, const mw_trace_explain *t) {
  mw__jw_obj(w);
  mw__jw_key(w, "trace_id");
  mw__jw_hex(w, t->trace_id, 16);
  mw__jw_kint(w, "duration_ns", t->end_ns - t->start_ns);
  mw__jw_kint(w, "start_ns", t->start_ns);
  mw__jw_kstr(w, "summary", t->summary);
  mw__jw_key(w, "spans");
  mw__jw_arr(w);
  for (size_t i = 0; i < t->n_spans; i++) {
    const mw_span_explain *e = &t->spans[i];
    mw__jw_obj(w);
    mw__jw_key(w, "span_id");
    mw__jw_hex(w, e->span->span_id, 8);
    mw__jw_key(w, "parent_span_id");
    if (e->span->has_parent) mw__jw_hex(w, e->span->parent_id, 8);
    else mw__jw_null(w);
    mw__jw_kstr(w, "service", e->service);
    mw__jw_kstr(w, "name", e->span->name);
    mw__jw_kint(w, "start_ns", e->span->start_ns);
    mw__jw_kint(w, "duration_ns", e->span->dur_ns);
    mw__jw_kint(w, "self_ns", e->self_ns);
    mw__jw_key(w, "breakdown");
    mw__jw_obj(w);
    mw__jw_kint(w, "cpu_ns", e->b.cpu_ns);
    mw__jw_kint(w, "gc_stw_ns", e->b.gc_stw_ns);
    mw__jw_kint(w, "gc_assist_ns", e->b.gc_assist_ns);
    mw__jw_kint(w, "runnable_ns", e->b.runnable_ns);
    mw__jw_key(w, "blocked_ns");
    mw__jw_obj(w);
    for (int k = 0; k < MW_B_N; k++) mw__jw_kint(w, block_names[k], e->b.blocked_ns[k]);
    mw__jw_obj_end(w);
    mw__jw_kint(w, "unknown_ns", e->b.unknown_ns);
    mw__jw_kint(w, "children_ns", e->children_ns);
    mw__jw_obj_end(w);
    mw__jw_key(w, "causes");
    mw__jw_arr(w);
    for (size_t c = 0; c < e->n_causes; c++) {
      const mw_cause *k = &e->causes[c];
      mw__jw_obj(w);
      mw__jw_kstr(w, "kind", k->kind);
      mw__jw_kdouble(w, "share", round(k->share * 10000) / 10000);
      mw__jw_kdouble(w, "confidence", round(k->confidence * 100) / 100);
      mw__jw_kstr(w, "scope", k->scope);
      mw__jw_kstr(w, "summary", k->summary);
      mw__jw_key(w, "evidence");
      mw__jw_raw(w, k->evidence);
      mw__jw_obj_end(w);
    }
    mw__jw_arr_end(w);
    mw__jw_obj_end(w);
  }
  mw__jw_arr_end(w);
  mw__jw_obj_end(w);
}

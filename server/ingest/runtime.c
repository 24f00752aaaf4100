/* Runtime ingest (see runtime.h). */
#include "ingest/runtime.h"
#include "core/bmap.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/hex.h"
#include "core/jsonw.h"
#include "core/sat.h"
#include "decode/goroutines.h"
#include "decode/pprof.h"
#include "decode/runtime_text.h"
#include "ingest/body.h"
#include "model/snapshot_meta.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

enum { MAX_GOIDS_TEXT = 160, MAX_FRAME_TEXT = 2048, MAX_STACK_TEXT = 256u << 10 };

/* "pprof" is not a public kind: the Pyroscope endpoint uses it for a profile
 * whose kind must be read from its sample types. */
static const char *const kinds[] = {"gctrace", "schedtrace", "goroutine", "goroutineleak", "cpu",
                                    "heap",    "allocs",     "mutex",     "block",         "pprof"};

int mw__runtime_kind_valid(const char *kind) {
  for (size_t i = 0; kind && i < sizeof kinds / sizeof kinds[0]; i++)
    if (strcmp(kind, kinds[i]) == 0) return 1;
  return 0;
}

static void report_error(mw_ingest_report *rep, const char *msg) {
  if (rep->n_errors < MW_INGEST_MAX_ERRORS) rep->errors[rep->n_errors++] = msg;
}

static char *arena_printf(mw_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *arena_printf(mw_arena *a, const char *fmt, ...) {
  char tmp[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  return n < 0 ? NULL : mw__arena_strndup(a, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Moves a finished JSON buffer into the arena. */
static const char *json_to_arena(mw_arena *a, mw_jsonw *w, mw_buf *b) {
  const char *s = mw__jw_error(w) ? NULL : mw__arena_strndup(a, b->data ? b->data : "", b->len);
  mw__buf_free(b);
  return s;
}

/* --- stderr: gctrace and schedtrace ----------------------------------------- */

/* Puts the lines' times on the unix clock. With process_start, the runtime's
 * own offsets are exact relative to it, so they win over receive stamps, which
 * lag by however long the line took to reach the reader (up to 0.2 s in the
 * fixture). Without it, a gc line's stamp is taken as its cycle's end (the
 * runtime prints it at mark termination). With neither, the last line is
 * assumed to have been written when the capture ends (time + duration, or the
 * receive time) and the others are placed by their offsets from it. */
/* A cycle's wall time: its three clock phases. */
static int64_t gc_clock_ns(const mw_gc_cycle *g) {
  return mw__sat_add(mw__sat_add(g->stw_sweep_term_ns, g->concurrent_mark_ns), g->stw_mark_term_ns);
}

static void align_times(const mw_ingest_params *p, mw_runtime_text *t) {
  /* A line cannot be received before the runtime printed it: when stamps say
   * process_start would put lines in the future of their receipt, it is late
   * (it came from /proc, whose boot time has whole-second precision), so move
   * it back by the largest such gap. */
  int64_t ps = p->process_start_ns, min_lag = INT64_MAX;
  for (size_t i = 0; ps && i < t->n_gc; i++) {
    const mw_gc_cycle *g = &t->gc[i];
    int64_t printed = mw__sat_add(mw__sat_add(ps, g->offset_ns), gc_clock_ns(g));
    if (g->stamp_ns && mw__sat_sub(g->stamp_ns, printed) < min_lag) min_lag = mw__sat_sub(g->stamp_ns, printed);
  }
  for (size_t i = 0; ps && i < t->n_sched; i++) {
    int64_t lag = mw__sat_sub(t->sched[i].stamp_ns, mw__sat_add(ps, t->sched[i].offset_ns));
    if (t->sched[i].stamp_ns && lag < min_lag) min_lag = lag;
  }
  if (min_lag < 0) ps = mw__sat_add(ps, min_lag);
  int64_t last_end = 0;
  for (size_t i = 0; i < t->n_gc; i++) {
    const mw_gc_cycle *g = &t->gc[i];
    int64_t end = mw__sat_add(g->offset_ns, gc_clock_ns(g));
    if (end > last_end) last_end = end;
  }
  for (size_t i = 0; i < t->n_sched; i++)
    if (t->sched[i].offset_ns > last_end) last_end = t->sched[i].offset_ns;
  int64_t anchor_end = p->time_ns ? mw__sat_add(p->time_ns, p->duration_ns) : p->received_ns;
  for (size_t i = 0; i < t->n_gc; i++) {
    mw_gc_cycle *g = &t->gc[i];
    if (ps) g->start_ns = mw__sat_add(ps, g->offset_ns);
    else if (g->stamp_ns) g->start_ns = mw__sat_sub(g->stamp_ns, gc_clock_ns(g));
    else g->start_ns = mw__sat_sub(anchor_end, mw__sat_sub(last_end, g->offset_ns));
  }
  for (size_t i = 0; i < t->n_sched; i++) {
    mw_sched_sample *s = &t->sched[i];
    /* reuse stamp_ns as the absolute time: the writer reads it from there */
    if (ps) s->stamp_ns = mw__sat_add(ps, s->offset_ns);
    else if (!s->stamp_ns) s->stamp_ns = mw__sat_sub(anchor_end, mw__sat_sub(last_end, s->offset_ns));
  }
}

static int build_stderr(mw_arena *a, const mw_ingest_params *p, const uint8_t *body, size_t len, mw_runtime_batch *out,
                        mw_ingest_report *rep, char *err, size_t errsz) {
  mw_runtime_text t;
  mw_runtime_text_opts o = MW_RUNTIME_TEXT_OPTS_DEFAULT;
  if (p->limits) o.max_line = p->limits->max_line_bytes;
  int rc = mw__runtime_text_parse(a, (const char *)body, len, &o, &t);
  if (rc == MW_ENOMEM) return rc;
  for (size_t i = 0; i < t.n_errors; i++)
    report_error(rep, arena_printf(a, "line %zu, column %zu: %s", t.errors[i].line, t.errors[i].col, t.errors[i].msg));
  if (rc == MW_ETOOBIG) report_error(rep, "more runtime lines than one request may carry: the rest were skipped");
  if (t.n_gc + t.n_sched == 0) {
    snprintf(err, errsz, "no gctrace or schedtrace line in the body (%zu lines read, %zu malformed)", t.lines_total,
             t.lines_malformed);
    return MW_EINVAL;
  }
  align_times(p, &t);
  out->gc = t.gc;
  out->n_gc = t.n_gc;
  out->sched = t.sched;
  out->n_sched = t.n_sched;
  rep->accepted = t.n_gc + t.n_sched;
  rep->skipped = t.lines_skipped;
  return MW_OK;
}

/* --- stacks, labels ---------------------------------------------------------- */

/* The distinct stacks of one request. A dump of 10,000 goroutines has a few
 * dozen stacks: each goroutine's frames are hashed and compared in place, and
 * only a new stack is rendered as text. */
typedef struct stack_set {
  uint32_t *slots; /* index + 1 into items; 0 = empty; power-of-two size */
  uint64_t *hashes;
  size_t n_slots;
  mw_stack_text *items;
  const mw_stack **reps; /* the first stack seen of each item, for comparison */
  size_t n, cap;
} stack_set;

static uint64_t mix(uint64_t h, uint64_t v) {
  h = (h ^ v) * 0xbf58476d1ce4e5b9ULL;
  return h ^ (h >> 31);
}

static uint64_t stack_hash(const mw_stack *st) {
  uint64_t h = mix(0x9E3779B97F4A7C15ULL, st->n_frames * 2 + (uint64_t)(st->truncated != 0));
  for (size_t i = 0; i < st->n_frames; i++) {
    const char *f = st->frames[i].func ? st->frames[i].func : "?",
               *file = st->frames[i].file ? st->frames[i].file : "?";
    h = mix(h, mw__hash(f, strlen(f)));
    h = mix(h, mw__hash(file, strlen(file)));
    h = mix(h, (uint64_t)st->frames[i].line);
  }
  return h;
}

static int str_eq(const char *a, const char *b) { return a == b || (a && b && strcmp(a, b) == 0); }

static int stack_eq(const mw_stack *a, const mw_stack *b) {
  if (a->n_frames != b->n_frames || !a->truncated != !b->truncated) return 0;
  for (size_t i = 0; i < a->n_frames; i++)
    if (a->frames[i].line != b->frames[i].line || !str_eq(a->frames[i].func, b->frames[i].func) ||
        !str_eq(a->frames[i].file, b->frames[i].file))
      return 0;
  return 1;
}

static int stack_set_grow(mw_arena *a, stack_set *ss) {
  size_t n = ss->n_slots ? ss->n_slots * 2 : 256;
  uint32_t *slots = mw__arena_calloc(a, n, sizeof *slots);
  uint64_t *hashes = mw__arena_calloc(a, n, sizeof *hashes);
  if (!slots || !hashes) return MW_ENOMEM;
  for (size_t i = 0; i < ss->n_slots; i++) {
    if (!ss->slots[i]) continue;
    size_t j = ss->hashes[i] & (n - 1);
    while (slots[j]) j = (j + 1) & (n - 1);
    slots[j] = ss->slots[i];
    hashes[j] = ss->hashes[i];
  }
  ss->slots = slots;
  ss->hashes = hashes;
  ss->n_slots = n;
  return MW_OK;
}

/* Returns the index of the stack in the set (adding it), or -1. */
static long stack_add(mw_arena *a, stack_set *ss, const mw_stack *st) {
  if ((ss->n + 1) * 2 > ss->n_slots && stack_set_grow(a, ss)) return -1;
  uint64_t h = stack_hash(st);
  size_t j = h & (ss->n_slots - 1);
  for (; ss->slots[j]; j = (j + 1) & (ss->n_slots - 1))
    if (ss->hashes[j] == h && stack_eq(ss->reps[ss->slots[j] - 1], st)) return (long)ss->slots[j] - 1;
  if (ss->n == ss->cap) {
    size_t cap = ss->cap ? ss->cap * 2 : 64;
    mw_stack_text *items = mw__arena_alloc(a, cap * sizeof *items);
    const mw_stack **reps = mw__arena_alloc(a, cap * sizeof *reps);
    if (!items || !reps) return -1;
    if (ss->n) {
      memcpy(items, ss->items, ss->n * sizeof *items);
      memcpy(reps, ss->reps, ss->n * sizeof *reps);
    }
    ss->items = items;
    ss->reps = reps;
    ss->cap = cap;
  }
  /* each frame's line is capped (a hostile name can be huge), and so is the
   * stack: what does not fit is cut and marked, never silently dropped */
  mw_buf b;
  mw__buf_init(&b, MAX_STACK_TEXT + 64);
  int cut = st->truncated;
  for (size_t i = 0; i < st->n_frames && !cut; i++) {
    char line[MAX_FRAME_TEXT];
    int n = snprintf(line, sizeof line, "%s\t%s:%lld\n", st->frames[i].func ? st->frames[i].func : "?",
                     st->frames[i].file ? st->frames[i].file : "?", (long long)st->frames[i].line);
    if (n < 0) continue;
    if ((size_t)n >= sizeof line) n = (int)sizeof line - 1, line[n - 1] = '\n';
    if (b.len + (size_t)n > MAX_STACK_TEXT) cut = 1;
    else if (mw__buf_add(&b, line, (size_t)n)) return -1;
  }
  if (cut && mw__buf_adds(&b, "...\t?:0\n")) return -1;
  ss->items[ss->n].text = mw__arena_strndup(a, b.data ? b.data : "", b.len);
  ss->items[ss->n].len = b.len;
  mw__buf_free(&b);
  if (!ss->items[ss->n].text) return -1;
  ss->reps[ss->n] = st;
  ss->slots[j] = (uint32_t)ss->n + 1;
  ss->hashes[j] = h;
  return (long)ss->n++;
}

/* Picks the span and trace ids out of the labels, and renders every label as
 * a JSON object (NULL when there are none). */
static const char *take_labels(mw_arena *a, const mw_label *labels, size_t n, int *has_span, uint8_t span[8],
                               int *has_trace, uint8_t trace[16]) {
  int which;
  const char *s = mw__pprof_span_label(labels, n, &which);
  *has_span = s && mw__hex_decode(span, 8, s, strlen(s)) == MW_OK;
  const char *t = mw__pprof_trace_label(labels, n, &which);
  *has_trace = t && mw__hex_decode(trace, 16, t, strlen(t)) == MW_OK;
  if (!n) return NULL;
  mw_buf b;
  mw__buf_init(&b, 64u << 10);
  mw_jsonw w;
  mw__jw_init(&w, &b);
  mw__jw_obj(&w);
  for (size_t i = 0; i < n; i++) {
    mw__jw_key(&w, labels[i].key ? labels[i].key : "");
    if (labels[i].str) mw__jw_str(&w, labels[i].str);
    else mw__jw_int(&w, labels[i].num);
  }
  mw__jw_obj_end(&w);
  return json_to_arena(a, &w, &b);
}

/* --- goroutines ------------------------------------------------------------- */

typedef struct group_set {
  mw_bmap *index; /* group key -> index */
  mw_goroutine_group *items;
  size_t n, cap;
} group_set;

/* Adds count goroutines to the group of (stack, state, reason, labels, locked). */
static int group_add(mw_arena *a, group_set *gs, const mw_goroutine_group *g, int64_t goid) {
  mw_buf kb;
  mw__buf_init(&kb, 1u << 20);
  if (mw__buf_printf(&kb, "%u|%d|%d|%s|%s", g->stack, (int)g->state, g->locked, g->wait_reason ? g->wait_reason : "",
                     g->labels_json ? g->labels_json : ""))
    return MW_ENOMEM;
  const char *key = kb.data;
  size_t klen = kb.len;
  int64_t idx;
  int found = mw__bmap_get(gs->index, key, klen, &idx);
  int rc = found ? MW_OK : mw__bmap_put(gs->index, key, klen, (int64_t)gs->n);
  mw__buf_free(&kb);
  if (rc) return rc;
  mw_goroutine_group *dst;
  if (found) {
    dst = &gs->items[idx];
    dst->count = mw__sat_add(dst->count, g->count);
    if (g->wait_min_ns >= 0 && (dst->wait_min_ns < 0 || g->wait_min_ns < dst->wait_min_ns))
      dst->wait_min_ns = g->wait_min_ns;
    if (g->wait_max_ns > dst->wait_max_ns) dst->wait_max_ns = g->wait_max_ns;
  } else {
    if (gs->n == gs->cap) {
      size_t cap = gs->cap ? gs->cap * 2 : 64;
      mw_goroutine_group *items = mw__arena_alloc(a, cap * sizeof *items);
      if (!items) return MW_ENOMEM;
      if (gs->n) memcpy(items, gs->items, gs->n * sizeof *items);
      gs->items = items;
      gs->cap = cap;
    }
    dst = &gs->items[gs->n++];
    *dst = *g;
    dst->goids = NULL;
  }
  if (goid > 0) { /* keep a few ids, for matching a goroutine across dumps */
    size_t cur = dst->goids ? strlen(dst->goids) : 0;
    if (cur < MAX_GOIDS_TEXT) {
      char *s = arena_printf(a, "%s%s%lld", dst->goids ? dst->goids : "", cur ? "," : "", (long long)goid);
      if (!s) return MW_ENOMEM;
      dst->goids = s;
    }
  }
  return MW_OK;
}

/* The goroutines of groups, counted by state. */
static void count_states(const mw_goroutine_group *g, size_t n, mw_snapshot_meta *m) {
  m->has_by_state = 1;
  for (size_t i = 0; i < n; i++) m->by_state[g[i].state] = mw__sat_add(m->by_state[g[i].state], g[i].count);
}

/* The stored form of a snapshot's meta (model/snapshot_meta.h), in the arena. */
static const char *meta_text(mw_arena *a, const mw_snapshot_meta *m) {
  mw_buf b;
  mw__buf_init(&b, 64u << 10);
  mw_jsonw w;
  mw__jw_init(&w, &b);
  mw__snapshot_meta_write(&w, m);
  return json_to_arena(a, &w, &b);
}

static const char *goroutine_meta(mw_arena *a, const char *format, const mw_goroutine_group *g, size_t n,
                                  int64_t claimed, const char *trigger) {
  mw_snapshot_meta m;
  mw__snapshot_meta_init(&m);
  m.format = format;
  count_states(g, n, &m);
  m.claimed_total = claimed;
  m.trigger = trigger;
  return meta_text(a, &m);
}

static int build_goroutines_text(mw_arena *a, const mw_ingest_params *p, const uint8_t *body, size_t len,
                                 mw_runtime_batch *out, mw_ingest_report *rep, stack_set *ss, group_set *gs, char *err,
                                 size_t errsz) {
  mw_goroutine_dump d;
  mw_goroutine_opts o = MW_GOROUTINE_OPTS_DEFAULT;
  if (p->limits) {
    o.max_goroutines = p->limits->max_goroutines;
    o.max_frames = p->limits->max_frames;
    o.max_labels = p->limits->max_labels;
    o.max_line = p->limits->max_line_bytes;
  }
  int rc = mw__goroutines_parse_text(a, (const char *)body, len, &o, &d);
  if (rc == MW_EINVAL) {
    snprintf(err, errsz, "%s", d.err);
    return rc;
  }
  if (rc == MW_ETOOBIG) {
    snprintf(err, errsz, "%s: the limit is %zu", d.err, o.max_goroutines);
    return rc;
  }
  if (rc) return rc;
  /* a leak profile holds only the leaked goroutines, a dump all of them:
   * each is read for what it is, under its own kind */
  int want_leak = strcmp(p->kind, "goroutineleak") == 0;
  if (want_leak && !d.leak) {
    snprintf(err, errsz, "%s",
             d.format == 2 ? "a debug=2 dump lists every goroutine: POST it to /api/v1/ingest/goroutine "
                             "(a goroutineleak profile is debug=0 or debug=1)"
                           : "a goroutine profile, not a goroutineleak one: POST it to "
                             "/api/v1/ingest/goroutine");
    return MW_EINVAL;
  }
  if (!want_leak && d.leak) {
    snprintf(err, errsz,
             "a goroutineleak profile (only the leaked goroutines): POST it to "
             "/api/v1/ingest/goroutineleak");
    return MW_EINVAL;
  }
  for (size_t i = 0; i < d.n; i++) {
    const mw_goroutine *g = &d.g[i];
    mw_goroutine_group grp = {.state = g->state,
                              .wait_reason = g->wait_reason,
                              .count = g->count,
                              .wait_min_ns = g->wait_minutes >= 0 ? mw__sat_mul(g->wait_minutes, 60000000000LL) : -1,
                              .locked = g->locked_to_thread};
    grp.wait_max_ns = grp.wait_min_ns;
    long si = stack_add(a, ss, &g->stack);
    if (si < 0) return MW_ENOMEM;
    grp.stack = (uint32_t)si;
    grp.labels_json = take_labels(a, g->labels, g->n_labels, &grp.has_span, grp.span_id, &grp.has_trace, grp.trace_id);
    if ((rc = group_add(a, gs, &grp, g->id))) return rc;
  }
  out->format = d.format == 2 ? "debug=2" : "debug=1";
  out->total = d.total;
  out->meta_json = goroutine_meta(a, out->format, gs->items, gs->n, d.claimed_total, p->trigger);
  rep->accepted = (size_t)d.total;
  rep->skipped = d.lines_skipped;
  return MW_OK;
}

/* --- pprof -------------------------------------------------------------------- */

static const char *profile_meta(mw_arena *a, const mw_profile *pr, const mw_goroutine_group *g, size_t ng,
                                const char *trigger) {
  mw_snapshot_meta m;
  mw__snapshot_meta_init(&m);
  m.format = "pprof";
  m.profile = 1;
  mw_value_type *types = mw__arena_calloc(a, pr->n_sample_types + 1, sizeof *types);
  if (!types) return NULL;
  for (size_t i = 0; i < pr->n_sample_types; i++)
    types[i] = (mw_value_type){pr->sample_types[i].type, pr->sample_types[i].unit};
  m.sample_types = types;
  m.n_sample_types = pr->n_sample_types;
  m.period_type = (mw_value_type){pr->period_type.type, pr->period_type.unit};
  m.period = pr->period;
  m.default_sample_type = pr->default_sample_type;
  m.trigger = trigger;
  if (g) count_states(g, ng, &m);
  return meta_text(a, &m);
}

/* The kind of a profile whose sender did not name one, from what Go writes:
 * goroutine/count, cpu/nanoseconds, inuse_space (heap), alloc_space alone
 * (allocs), contentions+delay (mutex and block look alike: mutex is named
 * when the period type is "contentions" with a fraction-scaled delay, which
 * cannot be told apart; we say block only when the period is above 1, as
 * SetBlockProfileRate makes it). */
static const char *profile_kind(const mw_profile *pr) {
  int has_inuse = 0, has_alloc = 0, has_delay = 0;
  for (size_t i = 0; i < pr->n_sample_types; i++) {
    const char *t = pr->sample_types[i].type;
    if (!strcmp(t, "goroutine")) return "goroutine";
    if (!strcmp(t, "goroutineleak")) return "goroutineleak";
    if (!strcmp(t, "cpu")) return "cpu";
    has_inuse |= !strcmp(t, "inuse_space");
    has_alloc |= !strcmp(t, "alloc_space");
    has_delay |= !strcmp(t, "delay");
  }
  if (has_inuse) return pr->default_sample_type && !strcmp(pr->default_sample_type, "alloc_space") ? "allocs" : "heap";
  if (has_alloc) return "allocs";
  if (has_delay) return pr->period > 1 ? "block" : "mutex";
  return "cpu";
}

static int build_pprof(mw_arena *a, const mw_ingest_params *p, const uint8_t *body, size_t len, mw_runtime_batch *out,
                       mw_ingest_report *rep, stack_set *ss, group_set *gs, char *err, size_t errsz) {
  mw_buf *raw = NULL;
  /* a gzip'd profile is a body inside the body: the same limit holds for it
   * once inflated, and its memory is counted as it grows */
  const mw_limits defaults = MW_LIMITS_DEFAULT;
  size_t max = (p->limits ? p->limits : &defaults)->max_body_bytes;
  int rc = mw__maybe_gunzip(body, len, max, p->mem, &raw);
  if (rc) {
    if (rc == MW_ETOOBIG) snprintf(err, errsz, "profile is over %zu bytes once un-gzipped (max_body_bytes)", max);
    else if (rc == MW_EBUSY) snprintf(err, errsz, "no room left in max_request_memory to un-gzip the profile");
    else snprintf(err, errsz, "profile is gzip'd but the gzip data is corrupt or cut short");
    mw__mem_give_back(p->mem); /* the decoder freed what it had inflated */
    return rc;
  }
  mw_profile pr;
  mw_pprof_opts o = MW_PPROF_OPTS_DEFAULT;
  if (p->limits) {
    o.max_samples = p->limits->max_samples;
    o.max_frames = p->limits->max_frames;
    o.max_labels = p->limits->max_labels;
  }
  rc = mw__pprof_decode(a, (const uint8_t *)raw->data, raw->len, &o, &pr, err, errsz);
  mw__body_buf_free(raw);
  mw__mem_give_back(p->mem);
  if (rc) return rc;
  if (strcmp(p->kind, "pprof") == 0) out->kind = profile_kind(&pr);
  int goroutines = mw__snapshot_kind_groups(out->kind);
  /* Go names a goroutine profile's sample type "goroutine" and a leak
   * profile's "goroutineleak": one sent as the other would be read as all
   * goroutines, or as leaks, when it is not */
  const char *type = pr.n_sample_types ? pr.sample_types[0].type : "";
  int is_leak = strcmp(type, "goroutineleak") == 0;
  if (goroutines && is_leak != (strcmp(out->kind, "goroutineleak") == 0)) {
    if (is_leak)
      snprintf(err, errsz,
               "a goroutineleak profile (sample type goroutineleak): POST it to /api/v1/ingest/goroutineleak");
    else snprintf(err, errsz, "not a goroutineleak profile: its sample type is \"%.32s\", not goroutineleak", type);
    return MW_EINVAL;
  }
  if (!goroutines && !(out->samples = mw__arena_calloc(a, pr.n_samples + 1, sizeof *out->samples))) return MW_ENOMEM;
  for (size_t i = 0; i < pr.n_samples; i++) {
    const mw_pprof_sample *s = &pr.samples[i];
    long si = stack_add(a, ss, &s->stack);
    if (si < 0) return MW_ENOMEM;
    if (goroutines) {
      mw_goroutine_group grp = {.stack = (uint32_t)si,
                                .state = mw__gstate_infer(&s->stack),
                                .count = pr.n_sample_types ? s->values[0] : 1,
                                .wait_min_ns = -1,
                                .wait_max_ns = -1};
      grp.labels_json =
          take_labels(a, s->labels, s->n_labels, &grp.has_span, grp.span_id, &grp.has_trace, grp.trace_id);
      if ((rc = group_add(a, gs, &grp, 0))) return rc;
      out->total = mw__sat_add(out->total, grp.count);
      continue;
    }
    mw_profile_row *row = &out->samples[out->n_samples++];
    row->stack = (uint32_t)si;
    row->labels_json =
        take_labels(a, s->labels, s->n_labels, &row->has_span, row->span_id, &row->has_trace, row->trace_id);
    mw_buf b;
    mw__buf_init(&b, 4096);
    mw_jsonw w;
    mw__jw_init(&w, &b);
    mw__jw_arr(&w);
    for (size_t k = 0; k < pr.n_sample_types; k++) mw__jw_int(&w, s->values[k]);
    mw__jw_arr_end(&w);
    row->vals_json = json_to_arena(a, &w, &b);
    if (!row->vals_json) return MW_ENOMEM;
  }
  if (!goroutines) out->total = (int64_t)out->n_samples;
  out->format = "pprof";
  if (!p->time_ns && pr.time_nanos > 0) out->at_ns = pr.time_nanos;
  if (!p->duration_ns && pr.duration_nanos > 0) out->duration_ns = pr.duration_nanos;
  out->meta_json = profile_meta(a, &pr, goroutines ? gs->items : NULL, gs->n, p->trigger);
  rep->accepted = goroutines ? (size_t)out->total : pr.n_samples;
  return MW_OK;
}

/* Goroutine dumps in text (debug=2 and debug=1) begin with "goroutine " or
 * "goroutineleak "; anything else is taken for a pprof profile, gzip'd or
 * plain (Go writes fields in no fixed order, so a protobuf's first byte proves
 * little; but 'g' would be field 12 of wire type 7, which does not exist). */
static int is_dump_text(const uint8_t *b, size_t len) {
  static const char prefix[] = "goroutine";
  size_t i = 0;
  while (i < len && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t')) i++;
  return len - i >= sizeof prefix - 1 && memcmp(b + i, prefix, sizeof prefix - 1) == 0;
}

int mw__runtime_build(mw_arena *a, const mw_ingest_params *p, const uint8_t *body, size_t len, mw_runtime_batch *out,
                      mw_ingest_report *rep, char *err, size_t errsz) {
  memset(out, 0, sizeof *out);
  memset(rep, 0, sizeof *rep);
  out->service = p->service;
  out->instance = p->instance ? p->instance : "";
  if (!mw__runtime_kind_valid(p->kind)) {
    snprintf(err, errsz, "unknown kind \"%.32s\"", p->kind ? p->kind : "");
    return MW_EINVAL;
  }
  if (!len) {
    snprintf(err, errsz, "the body is empty");
    return MW_EINVAL;
  }
  if (strcmp(p->kind, "gctrace") == 0 || strcmp(p->kind, "schedtrace") == 0)
    return build_stderr(a, p, body, len, out, rep, err, errsz);

  out->kind = p->kind;
  out->trigger = p->trigger;
  out->at_ns = p->time_ns ? p->time_ns : 0;
  out->duration_ns = p->duration_ns;
  stack_set ss = {0};
  group_set gs = {.index = mw__bmap_new(0)};
  int rc = MW_ENOMEM;
  if (!gs.index) goto out;
  if (mw__snapshot_kind_groups(p->kind) && is_dump_text(body, len)) {
    rc = build_goroutines_text(a, p, body, len, out, rep, &ss, &gs, err, errsz);
  } else {
    rc = build_pprof(a, p, body, len, out, rep, &ss, &gs, err, errsz);
  }
  if (rc) goto out;
  if (!out->at_ns) out->at_ns = p->time_ns ? p->time_ns : p->received_ns;
  out->stacks = ss.items;
  out->n_stacks = ss.n;
  out->groups = gs.items;
  out->n_groups = gs.n;
  out->raw_bytes = len;
  size_t cap = ZSTD_compressBound(len);
  uint8_t *z = mw__arena_alloc(a, cap);
  if (!z) {
    rc = MW_ENOMEM;
    goto out;
  }
  /* level 1: on goroutine dumps both smaller and faster than 3 (bench/runtime) */
  size_t zl = ZSTD_compress(z, cap, body, len, 1);
  if (ZSTD_isError(zl)) {
    snprintf(err, errsz, "compressing the payload failed: %s", ZSTD_getErrorName(zl));
    rc = MW_EIO;
    goto out;
  }
  out->payload = z;
  out->payload_len = zl;
  rc = MW_OK;
out:
  mw__bmap_free(gs.index);
  return rc;
}

size_t mw__runtime_count_before(const mw_runtime_batch *b, int64_t t) {
  size_t n = b->kind && b->at_ns < t;
  for (size_t i = 0; i < b->n_gc; i++) n += b->gc[i].start_ns < t;
  for (size_t i = 0; i < b->n_sched; i++) n += b->sched[i].stamp_ns < t;
  return n;
}

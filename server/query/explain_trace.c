/* The execution-trace accountant (see explain_steps.h): where a stored Go
 * execution trace recorded the goroutine(s) that ran a span, their intervals
 * say exactly what the span's self time was, state by state. It runs after
 * the stop-the-world accountant and before the sampled ones: it takes the
 * traced part of the free self time (mw__ex_take_exact), so that CPU samples
 * there are not counted again and the goroutine snapshots split only the rest,
 * and claims one cause per kind with scope trace. A blocked interval that the
 * gather step followed to its waker carries its chain; the cause's sentence
 * tells it (docs/CORRELATION.md, "Exact explanations"). */
#include "query/explain_steps.h"
#include "core/error.h"
#include "core/hex.h"
#include "model/exectrace.h"
#include "query/explain_stack.h"

#include <string.h>

enum { TOP_INTERVALS = 5, MAX_TRACES = 16 };

/* Confidence of an exact record by how its clock met the spans' clock. */
static double align_conf(int alignment) { return alignment == MW_XT_ALIGN_CLOCK_SNAPSHOT ? 0.95 : 0.8; }

enum mw_cause_kind mw__ex_xt_kind(int state, const char *reason) {
  static const struct {
    const char *name;
    enum mw_cause_kind kind;
  } blocked[] = {
      {"chan", MW_K_MUTEX + MW_B_CHAN},   {"select", MW_K_MUTEX + MW_B_SELECT},   {"mutex", MW_K_MUTEX},
      {"cond", MW_K_MUTEX + MW_B_COND},   {"sync", MW_K_MUTEX + MW_B_COND},       {"io", MW_K_MUTEX + MW_B_IO},
      {"sleep", MW_K_MUTEX + MW_B_SLEEP}, {"syscall", MW_K_MUTEX + MW_B_SYSCALL}, {"gc", MW_K_GC_ASSIST},
      {"preempted", MW_K_RUNNABLE}};
  switch (state) {
  case MW_XT_RUNNING: return MW_K_CPU;
  case MW_XT_RUNNABLE: return MW_K_RUNNABLE;
  case MW_XT_SYSCALL: return MW_K_MUTEX + MW_B_SYSCALL;
  case MW_XT_GC_ASSIST: return MW_K_GC_ASSIST;
  case MW_XT_STOPPED: return MW_K_GC_STW;
  default: break;
  }
  for (size_t i = 0; reason && i < sizeof blocked / sizeof blocked[0]; i++)
    if (strcmp(reason, blocked[i].name) == 0) return blocked[i].kind;
  return MW_K_OTHER;
}

int mw__ex_xt_released(const char *reason) {
  return reason && (strcmp(reason, "mutex") == 0 || strcmp(reason, "cond") == 0 || strcmp(reason, "sync") == 0);
}

/* What a goroutine was doing, as a verb phrase with its length: "waiting for
 * a lock for 30.0 ms". */
static const char *doing(mw_arena *a, int state, const char *reason, int64_t ns) {
  int k = (int)mw__ex_xt_kind(state, reason);
  const char *what;
  switch (k) {
  case MW_K_CPU: what = "running"; break;
  case MW_K_RUNNABLE: what = "waiting for a CPU"; break;
  case MW_K_GC_ASSIST: what = "held up by the garbage collector"; break;
  case MW_K_GC_STW: what = "stopped by the garbage collector"; break;
  case MW_K_MUTEX: what = "waiting for a lock"; break;
  case MW_K_MUTEX + MW_B_CHAN: what = "waiting on a channel"; break;
  case MW_K_MUTEX + MW_B_SELECT: what = "waiting in a select"; break;
  case MW_K_MUTEX + MW_B_IO: what = "waiting for network I/O"; break;
  case MW_K_MUTEX + MW_B_SLEEP: what = "sleeping"; break;
  case MW_K_MUTEX + MW_B_SYSCALL: what = "in a system call"; break;
  case MW_K_MUTEX + MW_B_COND: what = "waiting for an event (sync.Cond / WaitGroup)"; break;
  default: what = "parked for another reason"; break;
  }
  return mw__ex_fmt(a, "%s for %.1f ms", what, mw__ex_ms(ns));
}

/* "span db.flush of trace 4bf92f35…", "span 00f067aa0ba90201", or "no span". */
static const char *link_span(mw_arena *a, const mw_ex_link *k) {
  if (!k->has_span) return "no span";
  char sid[17], tid[9];
  mw__hex_encode(sid, k->span_id, 8);
  mw__hex_encode(tid, k->trace_id, 4);
  const char *name = k->span_name ? k->span_name : sid;
  if (k->has_trace && k->service) return mw__ex_fmt(a, "span %s of %s, trace %s…", name, k->service, tid);
  if (k->has_trace) return mw__ex_fmt(a, "span %s of trace %s…", name, tid);
  return mw__ex_fmt(a, "span %s", name);
}

const char *mw__ex_chain_text(mw_arena *a, const mw_ex_chain *c, const char *wait_reason, int64_t span_start) {
  const char *s = "";
  const char *reason = wait_reason;
  for (size_t i = 0; c && i < c->n_links && s; i++) {
    const mw_ex_link *k = &c->links[i];
    const char *who = link_span(a, k);
    if (!who) return NULL;
    s = mw__ex_fmt(a, "%s%s %s goroutine %llu (%s) at %+.1f ms", s, i ? "," : "; it was",
                   mw__ex_xt_released(reason) ? "released by" : "woken by", (unsigned long long)k->goroutine, who,
                   mw__ex_ms(k->woke_ns - span_start));
    if (!s || !k->has_waited) break;
    const char *d = doing(a, k->waited.state, k->waited.reason, k->waited_ns);
    if (!d) return NULL;
    s = mw__ex_fmt(a, "%s, which had itself been %s at %s", s, d,
                   k->waited.frames ? mw__stack_site(a, k->waited.frames) : "an unknown site");
    reason = k->waited.reason;
  }
  return s;
}

/* --- the accountant ---------------------------------------------------------------- */

typedef struct top_iv {
  const mw_ex_xgor *g;
  const mw_ex_xival *iv;
  int64_t ns;
} top_iv;

/* One kind's share of the traced time. */
typedef struct kind_acc {
  int64_t ns;
  double conf_ns;            /* sum of ns x the confidence of its trace */
  top_iv top[TOP_INTERVALS]; /* the longest, longest first */
  size_t n_top;
  uint32_t traces; /* bit i: traces[i] contributed */
} kind_acc;

typedef struct trace_acc {
  const mw_ex_xtrace *x;
  int64_t covered_ns;
} trace_acc;

static void add_top(kind_acc *k, const mw_ex_xgor *g, const mw_ex_xival *iv, int64_t ns) {
  size_t at = k->n_top;
  while (at > 0 && k->top[at - 1].ns < ns) at--;
  if (at >= TOP_INTERVALS) return;
  size_t n = k->n_top < TOP_INTERVALS ? k->n_top + 1 : TOP_INTERVALS;
  memmove(&k->top[at + 1], &k->top[at], (n - 1 - at) * sizeof k->top[0]);
  k->top[at] = (top_iv){g, iv, ns};
  k->n_top = n;
}

/* The sentence of one kind's claim: what the goroutine did, where (the
 * longest interval's site), and for a wait the chain of its longest interval
 * that has one. */
static const char *kind_summary(mw_arena *a, const mw_ex_span *sp, enum mw_cause_kind kind, const kind_acc *k) {
  const mw_ex_xival *first = k->n_top ? k->top[0].iv : NULL;
  const char *site = first && first->s.frames ? mw__stack_site(a, first->s.frames) : NULL;
  const char *what;
  switch (kind) {
  case MW_K_CPU: what = "on CPU"; break;
  case MW_K_RUNNABLE: what = "ready to run but waiting for a CPU"; break;
  case MW_K_GC_ASSIST: what = "assisting or waiting for the garbage collector"; break;
  case MW_K_GC_STW: what = "stopped by the garbage collector (stop-the-world)"; break;
  default: what = NULL; break;
  }
  if (!what) { /* a wait: as the goroutine states say it, with the chain */
    const char *d = doing(a, first->s.state, first->s.reason, k->ns);
    const mw_ex_xival *with = NULL;
    for (size_t i = 0; i < k->n_top && !with; i++)
      if (k->top[i].iv->chain && k->top[i].iv->chain->n_links) with = k->top[i].iv;
    const char *chain = with ? mw__ex_chain_text(a, with->chain, with->s.reason, sp->span->start_ns) : "";
    if (!d || !chain) return NULL;
    return mw__ex_fmt(a, "%s at %s (execution trace)%s", d, site ? site : "an unknown site", chain);
  }
  if (site) return mw__ex_fmt(a, "%s for %.1f ms (execution trace), from %s", what, mw__ex_ms(k->ns), site);
  return mw__ex_fmt(a, "%s for %.1f ms (execution trace)", what, mw__ex_ms(k->ns));
}

static int kind_evidence(mw_arena *a, const kind_acc *k, const trace_acc *tr, size_t n_tr, mw_ex_evlist *ev) {
  for (size_t i = 0; i < n_tr; i++) {
    if (!(k->traces & (1u << i))) continue;
    mw_evidence *e = mw__ex_ev_add(a, ev, MW_EV_EXECTRACE);
    if (!e) return MW_ENOMEM;
    e->u.xtrace.id = tr[i].x->id;
    e->u.xtrace.start_ns = tr[i].x->start_ns;
    e->u.xtrace.end_ns = tr[i].x->end_ns;
    e->u.xtrace.covered_ns = tr[i].covered_ns;
    e->u.xtrace.alignment = tr[i].x->alignment;
  }
  for (size_t i = 0; i < k->n_top; i++) {
    const mw_ex_xival *iv = k->top[i].iv;
    mw_evidence *e = mw__ex_ev_add(a, ev, MW_EV_INTERVAL);
    if (!e) return MW_ENOMEM;
    e->u.interval.exectrace_id = k->top[i].g->trace->id;
    e->u.interval.goroutine = k->top[i].g->goroutine;
    e->u.interval.state = iv->s.state;
    e->u.interval.reason = iv->s.reason;
    e->u.interval.raw_reason = iv->s.raw_reason;
    e->u.interval.start_ns = iv->s.start_ns;
    e->u.interval.end_ns = iv->s.end_ns;
    e->u.interval.ns = k->top[i].ns;
    e->u.interval.frames = iv->s.frames;
  }
  for (size_t i = 0; i < k->n_top; i++) {
    const mw_ex_chain *c = k->top[i].iv->chain;
    if (!c || !c->n_links) continue;
    mw_evidence *e = mw__ex_ev_add(a, ev, MW_EV_CHAIN);
    if (!e) return MW_ENOMEM;
    e->u.chain.links = c->links;
    e->u.chain.n_links = c->n_links;
  }
  return MW_OK;
}

int mw__ex_account_trace(const mw_ex_view *v, const mw_ex_timing *t, mw_ex_ledger *l) {
  (void)t;
  const mw_ex_span *sp = v->span;
  if (!sp->n_xg) return MW_OK;
  mw_arena *a = v->a;
  kind_acc *kinds = mw__arena_calloc(a, MW_K_N, sizeof *kinds);
  trace_acc tr[MAX_TRACES];
  size_t n_tr = 0;
  if (!kinds) return MW_ENOMEM;
  for (size_t gi = 0; gi < sp->n_xg; gi++) {
    const mw_ex_xgor *g = &sp->xg[gi];
    size_t ti = 0;
    while (ti < n_tr && tr[ti].x != g->trace) ti++;
    if (ti == n_tr) {
      if (n_tr == MAX_TRACES) continue; /* the gather step never gives more */
      tr[n_tr++] = (trace_acc){g->trace, 0};
    }
    /* each interval's part of the free self time, before the window is taken */
    for (size_t i = 0; i < g->n_iv; i++) {
      const mw_ex_xival *iv = &g->iv[i];
      int64_t a0 = iv->s.start_ns > g->from_ns ? iv->s.start_ns : g->from_ns;
      int64_t a1 = iv->s.end_ns < g->to_ns ? iv->s.end_ns : g->to_ns;
      int64_t ns = a1 > a0 ? mw__ex_overlap_list(l->free, l->n_free, a0, a1) : 0;
      if (ns <= 0) continue;
      kind_acc *k = &kinds[mw__ex_xt_kind(iv->s.state, iv->s.reason)];
      k->ns += ns;
      k->conf_ns += (double)ns * align_conf(g->trace->alignment);
      k->traces |= 1u << ti;
      add_top(k, g, iv, ns);
    }
    int64_t taken;
    int rc = mw__ex_take_exact(a, l, g->from_ns, g->to_ns, &taken);
    if (rc) return rc;
    tr[ti].covered_ns += taken;
  }
  /* in a fixed order (the breakdown's), so that equal inputs give equal answers */
  for (int kind = 0; kind < MW_K_N; kind++) {
    const kind_acc *k = &kinds[kind];
    if (k->ns <= 0) continue;
    mw_ex_evlist ev = {0};
    int rc = kind_evidence(a, k, tr, n_tr, &ev);
    if (rc) return rc;
    mw_cause c = {.kind = (enum mw_cause_kind)kind,
                  .ns = k->ns,
                  .confidence = k->conf_ns / (double)k->ns,
                  .scope = MW_SCOPE_TRACE,
                  .summary = kind_summary(a, sp, (enum mw_cause_kind)kind, k),
                  .evidence = ev.items,
                  .n_evidence = ev.n};
    if ((rc = mw__ex_claim(a, l, &c))) return rc;
  }
  l->n_exact_claims = l->n_claims;
  /* what the traces did not see keeps the sampled method, and says so */
  if (l->free_ns > 0 && !(l->outside = mw__ex_fmt(a,
                                                  "%.1f ms of the span lay outside the traced window: explained from "
                                                  "samples",
                                                  mw__ex_ms(l->free_ns))))
    return MW_ENOMEM;
  return MW_OK;
}

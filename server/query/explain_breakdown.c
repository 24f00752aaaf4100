/* The breakdown of a span's self time (see explain_steps.h): a ledger of the
 * time still free, and the accountants that claim it, in order. Each claim
 * carries its evidence as data; the breakdown is the claims summed per kind.
 *
 * The numbers and their confidence follow docs/CORRELATION.md ("The
 * breakdown", "Confidence"). */
#include "query/explain_steps.h"
#include "core/error.h"
#include "core/sat.h"
#include "query/explain_stack.h"

#include <stdio.h>
#include <string.h>

/* The end of a CPU profile's stated window that holds no samples: Go's
 * duration_nanos runs past the last sample by 100-200 ms (the profile is
 * stopped and written after the sampling ends). Not counted as recorded, lest
 * a busy span there look like waiting. */
static const int64_t CPU_PROFILE_TAIL_NS = 200000000;

/* Cycles are placed on the spans' clock to about a millisecond: a
 * stop-the-world overlap much shorter than this is as likely an artefact of
 * the placement. */
static const double STW_PLACEMENT_NS = 500000.0;

enum { TOP_STACKS = 64, TOP_SHOWN = 5, STATE_STACKS_SHOWN = 3 };

/* --- the ledger ---------------------------------------------------------------------- */

int mw__ex_ledger_init(mw_arena *a, const mw_ex_timing *t, mw_ex_ledger *l) {
  memset(l, 0, sizeof *l);
  l->self = t->self;
  l->n_self = t->n_self;
  l->self_ns = l->free_ns = t->self_ns;
  l->free = mw__arena_calloc(a, t->n_self + 1, sizeof *l->free);
  if (!l->free) return MW_ENOMEM;
  if (t->n_self) memcpy(l->free, t->self, t->n_self * sizeof *t->self);
  l->n_free = t->n_self;
  return MW_OK;
}

int mw__ex_take(mw_arena *a, mw_ex_ledger *l, int64_t a0, int64_t a1, int64_t *taken) {
  *taken = mw__ex_overlap_list(l->free, l->n_free, a0, a1);
  if (*taken <= 0) return MW_OK;
  /* at most one interval splits in two */
  mw_ex_ival *out = mw__arena_calloc(a, l->n_free + 1, sizeof *out);
  if (!out) return MW_ENOMEM;
  size_t n = 0;
  for (size_t i = 0; i < l->n_free; i++) {
    mw_ex_ival v = l->free[i];
    if (v.b <= a0 || v.a >= a1) {
      out[n++] = v;
      continue;
    }
    if (v.a < a0) out[n++] = (mw_ex_ival){v.a, a0};
    if (v.b > a1) out[n++] = (mw_ex_ival){a1, v.b};
  }
  l->free = out;
  l->n_free = n;
  l->free_ns -= *taken;
  return MW_OK;
}

int mw__ex_take_exact(mw_arena *a, mw_ex_ledger *l, int64_t a0, int64_t a1, int64_t *taken) {
  int rc = mw__ex_take(a, l, a0, a1, taken);
  if (rc) return rc;
  mw_ex_ival *p = mw__arena_grow(a, l->exact, l->n_exact, &l->cap_exact, sizeof *p);
  if (!p) return MW_ENOMEM;
  l->exact = p;
  l->exact[l->n_exact++] = (mw_ex_ival){a0, a1};
  return MW_OK;
}

double mw__ex_unobserved_share(const mw_ex_ledger *l, int64_t a0, int64_t a1) {
  if (!l->n_exact) return 1;
  int64_t in_self = mw__ex_overlap_list(l->self, l->n_self, a0, a1), observed = 0;
  if (in_self <= 0) return 1;
  for (size_t i = 0; i < l->n_exact; i++) {
    int64_t w0 = l->exact[i].a > a0 ? l->exact[i].a : a0, w1 = l->exact[i].b < a1 ? l->exact[i].b : a1;
    if (w1 > w0) observed += mw__ex_overlap_list(l->self, l->n_self, w0, w1);
  }
  return observed >= in_self ? 0 : 1 - (double)observed / (double)in_self;
}

int64_t mw__ex_residual(const mw_ex_ledger *l) {
  int64_t r = l->self_ns - l->claimed_ns;
  return l->settled || r < 0 ? 0 : r;
}

int mw__ex_claim(mw_arena *a, mw_ex_ledger *l, const mw_cause *c) {
  if (c->ns <= 0) return MW_OK;
  mw_cause *p = mw__arena_grow(a, l->claims, l->n_claims, &l->cap_claims, sizeof *p);
  if (!p || !c->summary) return MW_ENOMEM;
  l->claims = p;
  mw_cause *x = &l->claims[l->n_claims++];
  *x = *c;
  x->confidence = c->confidence < 0 ? 0 : c->confidence > 1 ? 1 : c->confidence;
  l->claimed_ns += c->ns;
  return MW_OK;
}

mw_evidence *mw__ex_ev_add(mw_arena *a, mw_ex_evlist *e, enum mw_evidence_type type) {
  mw_evidence *p = mw__arena_grow(a, e->items, e->n, &e->cap, sizeof *p);
  if (!p) return NULL;
  e->items = p;
  memset(&p[e->n], 0, sizeof p[e->n]);
  p[e->n].type = type;
  return &p[e->n++];
}

static int claim(mw_arena *a, mw_ex_ledger *l, enum mw_cause_kind kind, int64_t ns, double conf, enum mw_scope scope,
                 const char *summary, const mw_ex_evlist *ev) {
  mw_cause c = {.kind = kind,
                .ns = ns,
                .confidence = conf,
                .scope = scope,
                .summary = summary,
                .evidence = ev->items,
                .n_evidence = ev->n};
  return mw__ex_claim(a, l, &c);
}

/* --- 1. stop-the-world ------------------------------------------------------------------ */

/* A stop-the-world pause stops every goroutine, so it is the span's time
 * whatever the span was doing: each cycle's sweep termination and mark
 * termination windows. */
int mw__ex_account_stw(const mw_ex_view *v, const mw_ex_timing *t, mw_ex_ledger *l) {
  (void)t;
  if (!v->source) return MW_OK;
  mw_ex_evlist ev = {0};
  char cycles[160] = "";
  size_t clen = 0;
  int64_t total = 0;
  for (size_t i = 0; i < v->source->n_gc; i++) {
    const mw_gc_cycle *g = &v->source->gc[i];
    int64_t p1 = mw__sat_add(g->start_ns, g->stw_sweep_term_ns), p2 = mw__sat_add(p1, g->concurrent_mark_ns),
            p3 = mw__sat_add(p2, g->stw_mark_term_ns);
    int64_t o1, o2;
    int rc = mw__ex_take(v->a, l, g->start_ns, p1, &o1);
    if (!rc) rc = mw__ex_take(v->a, l, p2, p3, &o2);
    if (rc) return rc;
    int64_t o = o1 + o2;
    if (o <= 0) continue;
    total += o;
    mw_evidence *e = mw__ex_ev_add(v->a, &ev, MW_EV_GC_CYCLE);
    if (!e) return MW_ENOMEM;
    e->u.gc.n = g->n;
    e->u.gc.start_ns = g->start_ns;
    e->u.gc.stw_overlap_ns = o;
    e->u.gc.heap_before = g->heap_before;
    e->u.gc.goal = g->goal;
    if (clen < sizeof cycles - 24)
      clen += (size_t)snprintf(cycles + clen, sizeof cycles - clen, "%s%lld", clen ? ", " : "", (long long)g->n);
  }
  if (total <= 0) return MW_OK;
  return claim(v->a, l, MW_K_GC_STW, total, 0.9 * (double)total / ((double)total + STW_PLACEMENT_NS), MW_SCOPE_SPAN,
               mw__ex_fmt(v->a, "stopped by the garbage collector for %.2f ms (cycle %s)", mw__ex_ms(total), cycles),
               &ev);
}

/* --- 2. labelled CPU samples ----------------------------------------------------------- */

/* A span's CPU samples summed up: outside and inside the assist functions,
 * and per stack (the first TOP_STACKS distinct ones). */
typedef struct cpu_tally {
  int64_t cpu_ns, assist_ns, samples;
  struct {
    const char *frames;
    int64_t ns, samples;
  } top[TOP_STACKS];
  size_t n_top;
} cpu_tally;

static void tally_cpu(const mw_ex_span *sp, const mw_ex_ledger *l, cpu_tally *t) {
  memset(t, 0, sizeof *t);
  for (size_t i = 0; i < sp->n_cpu; i++) {
    const mw_ex_cpu_row *r = &sp->cpu[i];
    /* what an exact source observed is not counted twice */
    double share = mw__ex_unobserved_share(l, r->at_ns, mw__sat_add(r->at_ns, r->dur_ns));
    int64_t ns = share < 1 ? (int64_t)((double)r->cpu_ns * share) : r->cpu_ns;
    t->samples += r->samples;
    if (mw__stack_has(r->frames, "runtime.gcAssistAlloc") || mw__stack_has(r->frames, "runtime.gcAssistAlloc1")) {
      t->assist_ns += ns;
      continue;
    }
    t->cpu_ns += ns;
    size_t k = 0;
    while (k < t->n_top && t->top[k].frames != r->frames && strcmp(t->top[k].frames, r->frames) != 0) k++;
    if (k == t->n_top && t->n_top < TOP_STACKS) {
      t->top[k].frames = r->frames;
      t->top[k].ns = t->top[k].samples = 0;
      t->n_top++;
    }
    if (k < t->n_top) t->top[k].ns += ns, t->top[k].samples += r->samples;
  }
}

/* The evidence of CPU time: the heaviest stacks, then the profiles the
 * samples came from, once each. *where: the site of the stack with the most
 * samples. */
static int cpu_evidence(mw_arena *a, const mw_ex_span *sp, cpu_tally *t, mw_ex_evlist *ev, const char **where) {
  size_t heaviest = 0;
  for (size_t k = 1; k < t->n_top; k++)
    if (t->top[k].samples > t->top[heaviest].samples) heaviest = k;
  *where = t->n_top ? mw__stack_site(a, t->top[heaviest].frames) : "?";
  for (size_t shown = 0; shown < TOP_SHOWN && t->n_top; shown++) {
    size_t best = 0;
    for (size_t k = 1; k < t->n_top; k++)
      if (t->top[k].ns > t->top[best].ns) best = k;
    if (t->top[best].ns < 0) break;
    mw_evidence *e = mw__ex_ev_add(a, ev, MW_EV_CPU_SAMPLES);
    if (!e) return MW_ENOMEM;
    e->u.cpu.frames = t->top[best].frames;
    e->u.cpu.samples = t->top[best].samples;
    e->u.cpu.cpu_ns = t->top[best].ns;
    t->top[best].ns = -1; /* shown */
  }
  for (size_t i = 0; i < sp->n_cpu; i++) {
    /* rows are by profile time: an earlier row of the same profile has its time */
    int seen = 0;
    for (size_t k = i; k-- > 0 && !seen && sp->cpu[k].at_ns == sp->cpu[i].at_ns;)
      seen = sp->cpu[k].snapshot_id == sp->cpu[i].snapshot_id;
    if (seen) continue;
    mw_evidence *e = mw__ex_ev_add(a, ev, MW_EV_CPU_PROFILE);
    if (!e) return MW_ENOMEM;
    e->u.profile.snapshot_id = sp->cpu[i].snapshot_id;
    e->u.profile.at_ns = sp->cpu[i].at_ns;
    e->u.profile.dur_ns = sp->cpu[i].dur_ns;
  }
  return *where ? MW_OK : MW_ENOMEM;
}

/* Samples of S's children carry the children's labels (each span runs in
 * pprof.Do), so these are S's own. Those in the runtime's assist functions
 * are S's allocations paying for marking: gc_assist, not cpu. */
int mw__ex_account_cpu(const mw_ex_view *v, const mw_ex_timing *t, mw_ex_ledger *l) {
  (void)t;
  mw_arena *a = v->a;
  cpu_tally c;
  tally_cpu(v->span, l, &c);
  /* samples are ~period apart, so a short span may be over-counted by one:
   * no more than the time still free */
  int64_t avail = mw__ex_residual(l);
  if (c.cpu_ns + c.assist_ns > avail && c.cpu_ns + c.assist_ns > 0) {
    double f = (double)avail / (double)(c.cpu_ns + c.assist_ns);
    c.cpu_ns = (int64_t)((double)c.cpu_ns * f);
    c.assist_ns = (int64_t)((double)c.assist_ns * f);
  }
  int rc = MW_OK;
  if (c.cpu_ns > 0) {
    mw_ex_evlist ev = {0};
    const char *where;
    if ((rc = cpu_evidence(a, v->span, &c, &ev, &where))) return rc;
    rc = claim(a, l, MW_K_CPU, c.cpu_ns, mw__ex_conf((double)c.samples, 0.95), MW_SCOPE_SPAN,
               mw__ex_fmt(a, "on CPU for %.1f ms (%lld samples), mostly in %s", mw__ex_ms(c.cpu_ns),
                          (long long)c.samples, where),
               &ev);
  }
  if (!rc && c.assist_ns > 0) {
    mw_ex_evlist ev = {0};
    mw_evidence *e = mw__ex_ev_add(a, &ev, MW_EV_CPU_SAMPLES);
    if (!e) return MW_ENOMEM;
    e->u.cpu.function = "runtime.gcAssistAlloc";
    e->u.cpu.cpu_ns = c.assist_ns;
    rc = claim(a, l, MW_K_GC_ASSIST, c.assist_ns, mw__ex_conf((double)c.samples, 0.9), MW_SCOPE_SPAN,
               mw__ex_fmt(a, "assisting the garbage collector for %.1f ms (its allocations paid for marking)",
                          mw__ex_ms(c.assist_ns)),
               &ev);
  }
  return rc;
}

/* --- 3. goroutine states ---------------------------------------------------------------- */

int mw__ex_state_bucket(const char *state) {
  static const struct {
    const char *name;
    int bucket;
  } map[] = {{"running", MW_EX_OBS_RUN}, {"runnable", MW_EX_OBS_RUN}, {"gc", MW_EX_OBS_GC}, {"mutex", MW_B_MUTEX},
             {"chan", MW_B_CHAN},        {"select", MW_B_SELECT},     {"io", MW_B_IO},      {"sleep", MW_B_SLEEP},
             {"syscall", MW_B_SYSCALL},  {"cond", MW_B_COND}};
  for (size_t i = 0; state && i < sizeof map / sizeof map[0]; i++)
    if (strcmp(state, map[i].name) == 0) return map[i].bucket;
  return MW_B_OTHER;
}

void mw__ex_observe(const mw_ex_goroutines *rows, size_t n, int by_span, mw_ex_obs *out) {
  memset(out, 0, sizeof *out);
  out->rows = rows;
  out->n_rows = n;
  for (size_t i = 0; i < n;) {
    if (by_span && (i == 0 || rows[i].span != rows[i - 1].span)) out->spans++;
    size_t j = i;
    int64_t total = 0;
    while (j < n && rows[j].snapshot_id == rows[i].snapshot_id && rows[j].span == rows[i].span)
      total += rows[j++].count;
    for (size_t k = i; k < j && total > 0; k++)
      out->frac[mw__ex_state_bucket(rows[k].state)] += (double)rows[k].count / (double)total;
    out->snapshots++;
    i = j;
  }
}

double mw__ex_cpu_coverage(const mw_ex_source *src, const mw_ex_ledger *l) {
  int64_t covered = 0;
  for (size_t i = 0; src && i < src->n_cpu; i++) {
    int64_t sampled = src->cpu[i].dur_ns - CPU_PROFILE_TAIL_NS;
    if (sampled > 0)
      covered += mw__ex_overlap_list(l->free, l->n_free, src->cpu[i].at_ns, mw__sat_add(src->cpu[i].at_ns, sampled));
  }
  double cover = l->free_ns > 0 ? (double)covered / (double)l->free_ns : 0;
  return cover > 1 ? 1 : cover;
}

/* Evidence for one bucket: up to 3 distinct stacks with the snapshots that
 * saw them, and what the fraction rests on. */
static int state_evidence(mw_arena *a, const mw_ex_obs *obs, int bucket, const char *note, mw_ex_evlist *ev) {
  int64_t seen[STATE_STACKS_SHOWN];
  size_t n_seen = 0;
  for (size_t i = 0; i < obs->n_rows && n_seen < STATE_STACKS_SHOWN; i++) {
    const mw_ex_goroutines *r = &obs->rows[i];
    if (mw__ex_state_bucket(r->state) != bucket) continue;
    size_t k = 0;
    while (k < n_seen && seen[k] != r->stack_id) k++;
    if (k < n_seen) continue;
    seen[n_seen++] = r->stack_id;
    mw_evidence *e = mw__ex_ev_add(a, ev, MW_EV_GOROUTINE_SAMPLE);
    if (!e) return MW_ENOMEM;
    e->u.goroutine.snapshot_id = r->snapshot_id;
    e->u.goroutine.at_ns = r->at_ns;
    e->u.goroutine.state = r->state;
    e->u.goroutine.wait_reason = r->wait_reason;
    e->u.goroutine.goroutines = r->count;
    e->u.goroutine.stack_id = r->stack_id;
    e->u.goroutine.frames = r->frames;
  }
  mw_evidence *e = mw__ex_ev_add(a, ev, MW_EV_OBSERVATIONS);
  if (!e) return MW_ENOMEM;
  e->u.obs.snapshots = obs->snapshots;
  e->u.obs.spans = obs->spans;
  e->u.obs.fraction = obs->snapshots ? obs->frac[bucket] / (double)obs->snapshots : 0;
  e->u.obs.note = note;
  return MW_OK;
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

/* Splits the residual by the states goroutine snapshots found the span's
 * goroutines in (span scope), or else those of the slow spans of its
 * operation when there are enough (operation scope). Running or runnable:
 * where a CPU profile was recording, CPU time is already counted and the
 * rest was waiting for a CPU (runnable); where none was, the two cannot be
 * told apart and it counts as (inferred) CPU. */
/* The goroutine observations a claim rests on. */
typedef struct states {
  const mw_ex_obs *obs;
  enum mw_scope scope;
  double conf;
  const char *note; /* operation scope: what they are */
} states;

/* Claims ns of one bucket's time, with that bucket's evidence. */
static int claim_state(mw_arena *a, mw_ex_ledger *l, const states *st, int bucket, enum mw_cause_kind kind, int64_t ns,
                       double conf, const char *summary) {
  if (ns <= 0) return MW_OK;
  mw_ex_evlist ev = {0};
  int rc = state_evidence(a, st->obs, bucket, st->note, &ev);
  return rc ? rc : claim(a, l, kind, ns, conf, st->scope, summary, &ev);
}

int mw__ex_account_states(const mw_ex_view *v, const mw_ex_timing *t, mw_ex_ledger *l) {
  (void)t;
  mw_arena *a = v->a;
  int64_t residual = mw__ex_residual(l);
  if (residual <= 0) return MW_OK;
  states st = {.obs = v->own, .scope = MW_SCOPE_SPAN, .conf = mw__ex_conf((double)v->own->snapshots, 0.9)};
  if (!st.obs->snapshots) {
    if (!v->op_obs || v->op_obs->snapshots < v->o->op_min_snapshots) return MW_OK;
    st.obs = v->op_obs;
    st.scope = MW_SCOPE_OPERATION;
    st.conf = mw__ex_conf((double)st.obs->snapshots, 0.5);
    st.note = mw__ex_fmt(a, "from %zu spans of %s %s at or above its p90 (%.1f ms), not this span's own samples",
                         st.obs->spans, v->span->service, v->span->span->name, mw__ex_ms(v->op->p90_ns));
    if (!st.note) return MW_ENOMEM;
  }
  const mw_ex_obs *obs = st.obs;
  double nsnap = (double)obs->snapshots;
  const char *prefix = st.scope == MW_SCOPE_OPERATION ? "slow spans of this operation were " : "";
  int rc = MW_OK;
  for (int k = 0; k < MW_B_N && !rc; k++) {
    int64_t ns = (int64_t)(obs->frac[k] / nsnap * (double)residual);
    if (ns <= 0) continue;
    const mw_ex_goroutines *first = NULL; /* where: the first stack seen in that state */
    for (size_t i = 0; i < obs->n_rows && !first; i++)
      if (mw__ex_state_bucket(obs->rows[i].state) == k) first = &obs->rows[i];
    rc = claim_state(a, l, &st, k, (enum mw_cause_kind)(MW_K_MUTEX + k), ns, st.conf,
                     mw__ex_fmt(a, "%s%s for %.1f ms at %s", prefix, block_phrase(k), mw__ex_ms(ns),
                                first ? mw__stack_site(a, first->frames) : "an unknown site"));
  }
  int64_t run_ns = (int64_t)(obs->frac[MW_EX_OBS_RUN] / nsnap * (double)residual);
  double cover = mw__ex_cpu_coverage(v->source, l);
  int64_t runnable_ns = (int64_t)(cover * (double)run_ns), cpu_ns = run_ns - runnable_ns;
  int64_t gc_ns = (int64_t)(obs->frac[MW_EX_OBS_GC] / nsnap * (double)residual);
  if (!rc)
    rc = claim_state(a, l, &st, MW_EX_OBS_RUN, MW_K_RUNNABLE, runnable_ns, st.conf * 0.8,
                     mw__ex_fmt(a,
                                "ready to run but not on a CPU for %.1f ms (goroutine snapshots found it runnable "
                                "while the CPU profile has no samples for it)",
                                mw__ex_ms(runnable_ns)));
  if (!rc)
    rc = claim_state(
        a, l, &st, MW_EX_OBS_GC, MW_K_GC_ASSIST, gc_ns, st.conf,
        mw__ex_fmt(a, "held up by the garbage collector for %.1f ms (parked in a GC wait)", mw__ex_ms(gc_ns)));
  if (!rc)
    rc = claim_state(a, l, &st, MW_EX_OBS_RUN, MW_K_CPU, cpu_ns, mw__ex_conf(nsnap, 0.5),
                     cover > 0 ? mw__ex_fmt(a,
                                            "running for %.1f ms while no CPU profile was recording (goroutine "
                                            "snapshots found it running)",
                                            mw__ex_ms(cpu_ns))
                               : mw__ex_fmt(a,
                                            "running for %.1f ms (goroutine snapshots found it running; no CPU "
                                            "profile covered the span)",
                                            mw__ex_ms(cpu_ns)));
  /* the fractions' rounding leaves a few ns unclaimed: they are not unknown */
  l->settled = 1;
  return rc;
}

/* --- 4. unknown -------------------------------------------------------------------------- */

int mw__ex_account_unknown(const mw_ex_view *v, const mw_ex_timing *t, mw_ex_ledger *l) {
  (void)t;
  int64_t residual = mw__ex_residual(l);
  if (residual <= 0) return MW_OK;
  const char *why;
  if (v->op && v->op_obs && v->op_obs->snapshots)
    why = mw__ex_fmt(v->a,
                     "no goroutine snapshot fell inside this span, and the %zu snapshots of slow spans of the same "
                     "operation are fewer than %zu",
                     v->op_obs->snapshots, v->o->op_min_snapshots);
  else if (v->op)
    why = mw__ex_fmt(v->a,
                     "no goroutine snapshot fell inside this span, and none caught the %lld similar spans of the "
                     "same operation (p90 %.1f ms)",
                     (long long)v->op->count, mw__ex_ms(v->op->p90_ns));
  else why = "no goroutine snapshot fell inside this span";
  if (!why) return MW_ENOMEM;
  mw_ex_evlist ev = {0};
  mw_evidence *e = mw__ex_ev_add(v->a, &ev, MW_EV_REASON);
  if (!e) return MW_ENOMEM;
  e->u.reason.text = why;
  return claim(v->a, l, MW_K_UNKNOWN, residual, 0, MW_SCOPE_SPAN,
               mw__ex_fmt(v->a, "%.1f ms unexplained: %s", mw__ex_ms(residual), why), &ev);
}

/* --- the breakdown --------------------------------------------------------------------- */

/* In order: what is located in time first, then the sampled sources, each
 * on what the ones before it left. */
static const mw_ex_accountant accountants[] = {mw__ex_account_stw, mw__ex_account_trace, mw__ex_account_cpu,
                                               mw__ex_account_states, mw__ex_account_unknown};

/* Claims of the sampled accountants on a span an execution trace covered in
 * part: each says how much of the span the trace did not see. */
static int note_outside(mw_arena *a, mw_ex_ledger *l) {
  for (size_t i = l->n_exact_claims; l->outside && i < l->n_claims; i++) {
    mw_cause *c = &l->claims[i];
    mw_evidence *ev = mw__arena_calloc(a, c->n_evidence + 1, sizeof *ev);
    if (!ev) return MW_ENOMEM;
    if (c->n_evidence) memcpy(ev, c->evidence, c->n_evidence * sizeof *ev);
    ev[c->n_evidence].type = MW_EV_REASON;
    ev[c->n_evidence].u.reason.text = l->outside;
    c->evidence = ev;
    c->n_evidence++;
  }
  return MW_OK;
}

int mw__ex_breakdown(const mw_ex_view *v, const mw_ex_timing *t, mw_ex_ledger *l, mw_breakdown *b) {
  int rc = mw__ex_ledger_init(v->a, t, l);
  for (size_t i = 0; !rc && i < sizeof accountants / sizeof accountants[0]; i++) rc = accountants[i](v, t, l);
  if (!rc) rc = note_outside(v->a, l);
  if (rc) return rc;
  memset(b, 0, sizeof *b);
  for (size_t i = 0; i < l->n_claims; i++) {
    const mw_cause *c = &l->claims[i];
    switch (c->kind) {
    case MW_K_CPU: b->cpu_ns += c->ns; break;
    case MW_K_GC_STW: b->gc_stw_ns += c->ns; break;
    case MW_K_GC_ASSIST: b->gc_assist_ns += c->ns; break;
    case MW_K_RUNNABLE: b->runnable_ns += c->ns; break;
    case MW_K_UNKNOWN: b->unknown_ns += c->ns; break;
    case MW_K_CHILDREN: break; /* not self time */
    default: b->blocked_ns[c->kind - MW_K_MUTEX] += c->ns; break;
    }
  }
  return MW_OK;
}

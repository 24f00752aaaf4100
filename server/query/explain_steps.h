/* The pure steps of an explanation (see explain.h for the pipeline). Each is
 * a function of plain structs: no store, no JSON; all memory comes from the
 * arena, and a step that can fail returns MW_ENOMEM (or says otherwise).
 *
 * The breakdown is an ordered list of accountants, each claiming part of a
 * span's self time with a kind, a confidence, a scope and evidence:
 *
 *   1. stop-the-world  GC pauses overlapping the self time (located: they take
 *                      their windows out of the free time)
 *   2. trace           the intervals of the goroutines an execution trace
 *                      recorded running the span, over the traced window (exact)
 *   3. CPU samples     labelled samples, the assist functions split out,
 *                      capped at the time still free
 *   4. goroutines      the residual split by the states snapshots found (the
 *                      span's own, else its operation's slow spans); running is
 *                      CPU where no profile was recording, runnable where one was
 *   5. unknown         what is left, with the reason
 *
 * A new source of evidence plugs in as one gatherer and one accountant. Go
 * execution traces are one (explain_trace.c, accountant 2 between the pauses
 * and the CPU samples), giving exact goroutine states over the traced window:
 *   - explain_gather.c reads the span's trace events into a new field of
 *     mw_ex_span (the one reader of the store);
 *   - an accountant placed before the sampled ones (after stop-the-world, in
 *     accountants[] of explain_breakdown.c) calls mw__ex_take_exact() for the traced window, which takes it out of
 *     the free time and marks it observed, and claims what the events say
 *     happened there (mw__ex_claim, one claim per state, their ns summing to
 *     what was taken);
 *   - the sampled accountants then see only the rest: CPU samples count at
 *     the part of their profile's window that was not observed exactly
 *     (mw__ex_unobserved_share), coverage and the residual are over the free
 *     time;
 *   - an evidence type for its events, and its case in explain_json.c.
 * The claims of one kind from both merge into one cause as any others do. */
#ifndef MW_QUERY_EXPLAIN_STEPS_H
#define MW_QUERY_EXPLAIN_STEPS_H
#include "query/explain.h"

/* --- the tree and each span's time (explain_timing.c) ------------------------------ */

/* Fills the tree of in->spans: each span's parent (by parent_span_id; -1 when
 * it is not in the trace), its kids, its depth, and in->order (deepest first,
 * then by start time, so that a parent is explained after its children). */
int mw__explain_link(mw_arena *a, mw_explain_input *in);

typedef struct mw_ex_ival {
  int64_t a, b;
} mw_ex_ival;

typedef struct mw_ex_timing {
  const mw_ex_ival *self; /* the span minus its children: sorted, disjoint */
  size_t n_self;
  int64_t self_ns;
  int64_t children_ns; /* the union of the children, clipped to the span */
  int slowest;         /* the longest child (the first of equals), -1 for none */
} mw_ex_timing;

int mw__ex_timing(mw_arena *a, const mw_explain_input *in, size_t span, mw_ex_timing *t);

/* The length of [a0, a1) within [b0, b1); of [a, b) within the intervals v. */
static inline int64_t mw__ex_overlap(int64_t a0, int64_t a1, int64_t b0, int64_t b1) {
  int64_t lo = a0 > b0 ? a0 : b0, hi = a1 < b1 ? a1 : b1;
  return hi > lo ? hi - lo : 0;
}
static inline int64_t mw__ex_overlap_list(const mw_ex_ival *v, size_t n, int64_t a, int64_t b) {
  int64_t sum = 0;
  for (size_t i = 0; i < n; i++) sum += mw__ex_overlap(v[i].a, v[i].b, a, b);
  return sum;
}

/* --- the breakdown (explain_breakdown.c) ------------------------------------------- */

/* Goroutine-state observations: each snapshot that found the span's (or the
 * operation's spans') goroutines counts once, its goroutines weighted by
 * their counts. */
enum { MW_EX_OBS_RUN = MW_B_N, MW_EX_OBS_GC = MW_B_N + 1, MW_EX_OBS_N };
typedef struct mw_ex_obs {
  double frac[MW_EX_OBS_N]; /* per bucket: the blocked kinds, then run, then gc */
  size_t snapshots;         /* observations (span, snapshot) */
  size_t spans;             /* spans that had any (operation scope; 0 for a span's own) */
  const mw_ex_goroutines *rows;
  size_t n_rows;
} mw_ex_obs;

/* rows grouped by .span (a span's own rows: all the same), each by time. */
void mw__ex_observe(const mw_ex_goroutines *rows, size_t n, int by_span, mw_ex_obs *out);
/* The bucket of a state: a mw_block_kind, MW_EX_OBS_RUN or MW_EX_OBS_GC. */
int mw__ex_state_bucket(const char *state);

/* What an accountant sees of one span. */
typedef struct mw_ex_view {
  mw_arena *a;
  const mw_explain_opts *o;
  const mw_ex_span *span;
  const mw_ex_source *source; /* NULL when the span's source is unknown */
  const mw_ex_op *op;         /* NULL when not gathered */
  const mw_ex_obs *own;       /* the span's own goroutine observations */
  const mw_ex_obs *op_obs;    /* its operation's, NULL with op */
} mw_ex_view;

/* The span's self time as the accountants share it out. */
typedef struct mw_ex_ledger {
  const mw_ex_ival *self; /* the timing's */
  size_t n_self;
  mw_ex_ival *free; /* self time not taken by a located claim */
  size_t n_free;
  int64_t self_ns, free_ns, claimed_ns;
  mw_ex_ival *exact; /* windows an exact source observed (mw__ex_take_exact) */
  size_t n_exact, cap_exact;
  int settled;           /* the residual was split: nothing is left unexplained */
  const char *outside;   /* an exact source covered part of the span: what it did not (a reason), or NULL */
  size_t n_exact_claims; /* claims[0 .. this) were made before the sampled accountants */
  mw_cause *claims;      /* in the order they were made */
  size_t n_claims, cap_claims;
} mw_ex_ledger;

int mw__ex_ledger_init(mw_arena *a, const mw_ex_timing *t, mw_ex_ledger *l);
/* Takes [a0, a1) out of the free time; *taken = the ns it held. */
int mw__ex_take(mw_arena *a, mw_ex_ledger *l, int64_t a0, int64_t a1, int64_t *taken);
/* mw__ex_take, and marks the window as observed exactly (sampled sources
 * must not count it again). *taken = the ns it held. */
int mw__ex_take_exact(mw_arena *a, mw_ex_ledger *l, int64_t a0, int64_t a1, int64_t *taken);
/* Of [a0, a1) within the self time, the part not observed exactly (1 when
 * nothing was, or when the window misses the self time). */
double mw__ex_unobserved_share(const mw_ex_ledger *l, int64_t a0, int64_t a1);
/* Self time not claimed yet (0 once settled). */
int64_t mw__ex_residual(const mw_ex_ledger *l);
/* Appends a claim (none when c->ns <= 0); confidence clamped to 0..1. */
int mw__ex_claim(mw_arena *a, mw_ex_ledger *l, const mw_cause *c);

typedef int (*mw_ex_accountant)(const mw_ex_view *v, const mw_ex_timing *t, mw_ex_ledger *l);
int mw__ex_account_stw(const mw_ex_view *v, const mw_ex_timing *t, mw_ex_ledger *l);
/* explain_trace.c: the span's goroutines' intervals over the traced window. */
int mw__ex_account_trace(const mw_ex_view *v, const mw_ex_timing *t, mw_ex_ledger *l);
int mw__ex_account_cpu(const mw_ex_view *v, const mw_ex_timing *t, mw_ex_ledger *l);
int mw__ex_account_states(const mw_ex_view *v, const mw_ex_timing *t, mw_ex_ledger *l);
int mw__ex_account_unknown(const mw_ex_view *v, const mw_ex_timing *t, mw_ex_ledger *l);

/* Runs the accountants in order on the span's self time: l holds the claims,
 * b their sum per kind. */
int mw__ex_breakdown(const mw_ex_view *v, const mw_ex_timing *t, mw_ex_ledger *l, mw_breakdown *b);

/* The share of [self] that the source's CPU profiles were recording (their
 * last 200 ms not counted: see explain_breakdown.c), over the free time. */
double mw__ex_cpu_coverage(const mw_ex_source *src, const mw_ex_ledger *l);

/* --- execution traces (explain_trace.c) ------------------------------------------- */

/* The cause kind of a goroutine state (docs/CORRELATION.md, "Exact
 * explanations"): running -> cpu, runnable and blocked "preempted" -> runnable,
 * blocked by reason (sync -> cond, gc -> gc_assist, an unknown reason -> other),
 * syscall -> syscall, gc_assist -> gc_assist, stopped -> gc_stw. */
enum mw_cause_kind mw__ex_xt_kind(int state, const char *reason);
/* Whether a wait of this reason is for something another goroutine held
 * (a lock, a condition): its waker released it. */
int mw__ex_xt_released(const char *reason);
/* The chain as a clause ("; it was woken by goroutine 57 (span x of trace
 * 4bf9…) at +97.0 ms, which had itself ..."), times relative to span_start;
 * "" for a chain without links; NULL on exhaustion. */
const char *mw__ex_chain_text(mw_arena *a, const mw_ex_chain *c, const char *wait_reason, int64_t span_start);

/* --- causes (explain_causes.c) ------------------------------------------------------- */

/* The children's claim of a span with children_ns > 0, naming its slowest
 * child (already explained) and that child's top cause. Returns 1 when it
 * made one, 0 when there is none, MW_ENOMEM. */
int mw__ex_children_claim(mw_arena *a, const mw_ex_timing *t, const mw_span_explain *slowest, mw_cause *out);

/* Merges claims of one kind (ns summed, confidence weighted by ns, summaries
 * joined with "; ", scope span when mixed, evidence concatenated, in claim
 * order), drops causes under 1% of dur unless one is left, and ranks them by
 * share, then kind name. */
int mw__ex_causes(mw_arena *a, int64_t dur_ns, const mw_cause *claims, size_t n, mw_cause **out, size_t *n_out);

/* --- the trace's summary (explain_summary.c) --------------------------------------- */

/* From the longest root span, follows the slowest child while children are
 * the top cause, and says what the span where the time stops was doing. */
const char *mw__ex_summary(mw_arena *a, const mw_trace_explain *t);

/* --- small shared helpers ------------------------------------------------------------ */

/* An evidence list being built in the arena. */
typedef struct mw_ex_evlist {
  mw_evidence *items;
  size_t n, cap;
} mw_ex_evlist;
/* Appends a zeroed entry of type; NULL on exhaustion. */
mw_evidence *mw__ex_ev_add(mw_arena *a, mw_ex_evlist *e, enum mw_evidence_type type);

/* printf into the arena (truncated at 1 KiB); NULL on exhaustion. */
char *mw__ex_fmt(mw_arena *a, const char *f, ...) __attribute__((format(printf, 2, 3)));
static inline double mw__ex_ms(int64_t ns) { return (double)ns / 1e6; }
/* Confidence from n independent observations: scale * n / (n + 1.5). */
static inline double mw__ex_conf(double n, double scale) { return n <= 0 ? 0 : scale * n / (n + 1.5); }

#endif

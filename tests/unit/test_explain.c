/* Tests for the explanation pipeline (query/explain*.c) on hand-built inputs:
 * the tree and self time, each accountant of the breakdown (stop-the-world,
 * CPU samples with assists split out and capped, goroutine states over the
 * residual in span and operation scope, unknown with each of its reasons),
 * the causes step (split causes merged, ties, the 1% filter), the trace's
 * summary, the renderer for every evidence type; and the gather step on a
 * real store, which must fetch a trace's samples in batches.
 *
 * Every expected figure is worked out by hand in the comment beside it
 * (docs/CORRELATION.md has the formulas). Times are in ms unless said. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "query/explain.h"
#include "model/exectrace.h"
#include "query/explain_steps.h"
#include "store/readers.h"
#include "store_fixture.h"

#define MS 1000000LL

/* Stacks as the store keeps them: leaf first. */
static const char *const STACK_WORK = "main.work\tmain.go:10\nmain.handle\tmain.go:20\n";
static const char *const STACK_ASSIST =
    "runtime.gcAssistAlloc\truntime/mgcmark.go:400\nruntime.mallocgc\truntime/malloc.go:900\nmain.alloc\tmain.go:30\n";
static const char *const STACK_COPY = "runtime.memmove\truntime/memmove_amd64.s:1\nmain.copy\tmain.go:40\n";
static const char *const STACK_LOCK = "runtime.gopark\truntime/proc.go:363\nsync.(*Mutex).Lock\tsync/mutex.go:81\n"
                                      "main.reserve\tmain.go:88\nmain.handle\tmain.go:20\n";
static const char *const STACK_CHAN = "runtime.gopark\truntime/proc.go:363\nruntime.chanrecv\truntime/chan.go:583\n"
                                      "main.wait\tmain.go:99\n";
static const char *const STACK_RUN = "main.spin\tmain.go:60\n";
static const char *const STACK_IO =
    "runtime.gopark\truntime/proc.go:363\ninternal/poll.runtime_pollWait\t"
    "runtime/netpoll.go:305\nnet.(*conn).Read\tnet/net.go:183\nmain.query\tmain.go:70\n";
static const char *const STACK_SLEEP = "runtime.gopark\truntime/proc.go:363\ntime.Sleep\truntime/time.go:195\n"
                                       "main.backoff\tmain.go:78\n";
static const char *const STACK_GCWAIT = "runtime.gopark\truntime/proc.go:363\nruntime.gcParkAssist\t"
                                        "runtime/mgcmark.go:500\nruntime.gcAssistAlloc\truntime/mgcmark.go:400\n"
                                        "main.alloc\tmain.go:30\n";

/* --- building inputs ------------------------------------------------------------------ */

enum { MAX_SPANS = 8 };

typedef struct fx {
  mw_arena *a;
  mw_stored_span spans[MAX_SPANS];
  mw_ex_span ex[MAX_SPANS];
  mw_ex_source src;
  mw_ex_op op;
  mw_explain_input in;
  mw_explain_opts o;
  mw_trace_explain out;
} fx;

static int fx_setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  f->a = mw__arena_new(0);
  f->o = MW_EXPLAIN_OPTS_DEFAULT;
  f->in.spans = f->ex;
  f->in.sources = &f->src;
  f->in.n_sources = 1;
  f->in.ops = &f->op;
  *state = f;
  return 0;
}

static int fx_teardown(void **state) {
  fx *f = *state;
  mw__arena_free(f->a);
  free(f);
  return 0;
}

/* Span number id (its span id ends in that byte), a child of parent (0: a
 * root), over [start, start + dur) ms, of service "shop", source 0, no op. */
static mw_ex_span *add_span(fx *f, uint8_t id, uint8_t parent, double start_ms, double dur_ms, const char *name) {
  size_t i = f->in.n_spans++;
  mw_stored_span *s = &f->spans[i];
  memset(s, 0, sizeof *s);
  memset(s->trace_id, 0xab, 16);
  s->span_id[7] = id;
  if (parent) s->parent_id[7] = parent, s->has_parent = 1;
  s->start_ns = (int64_t)(start_ms * MS);
  s->dur_ns = (int64_t)(dur_ms * MS);
  s->name = name;
  s->op_id = 1;
  f->ex[i] = (mw_ex_span){.span = s, .service = "shop", .source = 0, .op = -1};
  return &f->ex[i];
}

static void run(fx *f) {
  assert_int_equal(mw__explain_link(f->a, &f->in), MW_OK);
  assert_int_equal(mw__explain_run(f->a, &f->in, &f->o, &f->out), MW_OK);
}

static const mw_cause *cause(const mw_span_explain *e, enum mw_cause_kind k) {
  for (size_t i = 0; i < e->n_causes; i++)
    if (e->causes[i].kind == k) return &e->causes[i];
  fail_msg("no %s cause", mw__cause_kind_name(k));
  return NULL;
}

static void assert_near(double got, double want) {
  if (fabs(got - want) > 1e-9) fail_msg("got %.12f, want %.12f", got, want);
}

static mw_ex_goroutines grow_row(int64_t snapshot, double at_ms, const char *state, int64_t count, int64_t stack_id,
                                 const char *frames, size_t span) {
  return (mw_ex_goroutines){.snapshot_id = snapshot,
                            .at_ns = (int64_t)(at_ms * MS),
                            .state = state,
                            .count = count,
                            .stack_id = stack_id,
                            .frames = frames,
                            .span = span};
}

/* --- the tree and self time ------------------------------------------------------- */

static void test_link(void **state) {
  fx *f = *state;
  add_span(f, 1, 0, 0, 100, "root");
  add_span(f, 2, 1, 10, 50, "child");
  add_span(f, 3, 2, 20, 10, "grandchild");
  add_span(f, 4, 9, 30, 10, "orphan");  /* its parent is not in the trace */
  add_span(f, 5, 5, 40, 10, "selfish"); /* names itself as its parent */
  assert_int_equal(mw__explain_link(f->a, &f->in), MW_OK);
  int parents[] = {-1, 0, 1, -1, -1};
  size_t depths[] = {0, 1, 2, 0, 0};
  for (int i = 0; i < 5; i++) {
    assert_int_equal(f->ex[i].parent, parents[i]);
    assert_int_equal(f->ex[i].depth, depths[i]);
  }
  assert_int_equal(f->ex[0].n_kids, 1);
  assert_int_equal(f->ex[0].kids[0], 1);
  assert_int_equal(f->ex[1].kids[0], 2);
  /* deepest first, then by index: grandchild, child, then the three of depth 0 */
  size_t order[] = {2, 1, 0, 3, 4};
  for (int i = 0; i < 5; i++) assert_int_equal(f->in.order[i], order[i]);
}

/* Bad input: spans 6 and 7 are each other's parent, 8 hangs under 6. Every
 * one of them gets depth n = 4 (and so comes first); the explanation ends. */
static void test_link_cycle(void **state) {
  fx *f = *state;
  add_span(f, 6, 7, 0, 10, "a");
  add_span(f, 7, 6, 0, 10, "b");
  add_span(f, 8, 6, 0, 10, "c");
  add_span(f, 9, 0, 0, 20, "root");
  run(f);
  for (int i = 0; i < 3; i++) assert_int_equal(f->ex[i].depth, 4);
  assert_int_equal(f->ex[3].depth, 0);
  assert_string_equal(f->out.summary, "root (shop) took 20.0 ms; most of it: 20.0 ms unexplained: no goroutine "
                                      "snapshot fell inside this span.");
}

/* The root over [100, 1100); children [50, 300) (starts before it: clipped to
 * [100, 300)), [250, 400) (overlaps that), [600, 700), [1000, 1500) (outlives
 * it: [1000, 1100)) and [2000, 2500) (outside it). Union of the children in
 * the span: [100, 400) + [600, 700) + [1000, 1100) = 300 + 100 + 100 = 500;
 * self [400, 600) + [700, 1000) = 200 + 300 = 500. The slowest child is the
 * first of the two 500 ms ones. */
static void test_timing(void **state) {
  fx *f = *state;
  add_span(f, 2, 1, 50, 250, "early");
  add_span(f, 1, 0, 100, 1000, "root");
  add_span(f, 3, 1, 250, 150, "overlapping");
  add_span(f, 4, 1, 600, 100, "inner");
  add_span(f, 5, 1, 1000, 500, "outliving");
  add_span(f, 6, 1, 2000, 500, "outside");
  assert_int_equal(mw__explain_link(f->a, &f->in), MW_OK);
  mw_ex_timing t;
  assert_int_equal(mw__ex_timing(f->a, &f->in, 1, &t), MW_OK);
  assert_int_equal(t.n_self, 2);
  assert_int_equal(t.self[0].a, 400 * MS);
  assert_int_equal(t.self[0].b, 600 * MS);
  assert_int_equal(t.self[1].a, 700 * MS);
  assert_int_equal(t.self[1].b, 1000 * MS);
  assert_int_equal(t.self_ns, 500 * MS);
  assert_int_equal(t.children_ns, 500 * MS);
  assert_int_equal(t.slowest, 4);
  /* a leaf is all self time */
  assert_int_equal(mw__ex_timing(f->a, &f->in, 3, &t), MW_OK);
  assert_int_equal(t.n_self, 1);
  assert_int_equal(t.self_ns, 100 * MS);
  assert_int_equal(t.children_ns, 0);
  assert_int_equal(t.slowest, -1);
}

/* --- 1. stop-the-world ---------------------------------------------------------------- */

/* A [0, 10) with child B [5, 6). Cycle 7 starts at 2 with 0.5 ms sweep
 * termination [2, 2.5), 3 ms of mark, then 1 ms mark termination [5.5, 6.5).
 * A's self time is [0, 5) + [6, 10): overlap 0.5 + 0.5 ([6, 6.5)) = 1 ms,
 * confidence 0.9 * 1 / (1 + 0.5) = 0.6. B's self [5, 6) meets [5.5, 6): 0.5 ms,
 * 0.9 * 0.5 / (0.5 + 0.5) = 0.45. Cycle 8 at 50 ms misses both. */
static void test_stw(void **state) {
  fx *f = *state;
  add_span(f, 1, 0, 0, 10, "A");
  add_span(f, 2, 1, 5, 1, "B");
  mw_gc_cycle gc[2] = {
      {.n = 7,
       .start_ns = 2 * MS,
       .stw_sweep_term_ns = MS / 2,
       .concurrent_mark_ns = 3 * MS,
       .stw_mark_term_ns = MS,
       .heap_before = 64 << 20,
       .goal = 80 << 20},
      {.n = 8, .start_ns = 50 * MS, .stw_sweep_term_ns = MS, .concurrent_mark_ns = MS, .stw_mark_term_ns = MS}};
  f->src.gc = gc;
  f->src.n_gc = 2;
  run(f);
  const mw_span_explain *a = &f->out.spans[0], *b = &f->out.spans[1];
  assert_int_equal(a->b.gc_stw_ns, MS);
  const mw_cause *c = cause(a, MW_K_GC_STW);
  assert_near(c->confidence, 0.6);
  assert_near(c->share, 0.1);
  assert_int_equal(c->scope, MW_SCOPE_SPAN);
  assert_string_equal(c->summary, "stopped by the garbage collector for 1.00 ms (cycle 7)");
  assert_int_equal(c->n_evidence, 1);
  assert_int_equal(c->evidence[0].type, MW_EV_GC_CYCLE);
  assert_int_equal(c->evidence[0].u.gc.n, 7);
  assert_int_equal(c->evidence[0].u.gc.stw_overlap_ns, MS);
  assert_int_equal(c->evidence[0].u.gc.heap_before, 64 << 20);
  assert_int_equal(b->b.gc_stw_ns, MS / 2);
  assert_near(cause(b, MW_K_GC_STW)->confidence, 0.45);
  /* A: unknown 10 - 1 (children) - 1 (stw) = 8 ms first; then children and
   * gc_stw tie at 0.1 and go by kind name: children before gc_stw */
  assert_int_equal(a->n_causes, 3);
  assert_int_equal(a->causes[0].kind, MW_K_UNKNOWN);
  assert_int_equal(a->causes[0].ns, 8 * MS);
  assert_int_equal(a->causes[1].kind, MW_K_CHILDREN);
  assert_int_equal(a->causes[2].kind, MW_K_GC_STW);
}

/* --- 2. CPU samples ------------------------------------------------------------------- */

/* A span [0, 100) whose source's CPU profile records over it. Its samples: in
 * profile 11, STACK_WORK 3 samples 30 ms, STACK_ASSIST 2 samples 20 ms,
 * STACK_COPY 1 sample 5 ms; in profile 12, STACK_WORK 1 sample 10 ms.
 * cpu = 30 + 5 + 10 = 45 ms, assist 20 ms, 7 samples: confidence cpu
 * 0.95 * 7 / 8.5 = 0.7824, assist 0.9 * 7 / 8.5 = 0.7412. The heaviest stack
 * is STACK_WORK (4 samples, 40 ms), then STACK_COPY; both profiles are named
 * once each. The 35 ms left: unknown (no snapshot, no operation). */
static void test_cpu_samples(void **state) {
  fx *f = *state;
  mw_ex_span *sp = add_span(f, 1, 0, 0, 100, "work");
  mw_ex_window w = {-1000 * MS, 10000 * MS};
  f->src.cpu = &w;
  f->src.n_cpu = 1;
  mw_ex_cpu_row rows[] = {{.snapshot_id = 11,
                           .at_ns = -1000 * MS,
                           .dur_ns = 10000 * MS,
                           .frames = STACK_WORK,
                           .samples = 3,
                           .cpu_ns = 30 * MS},
                          {.snapshot_id = 11,
                           .at_ns = -1000 * MS,
                           .dur_ns = 10000 * MS,
                           .frames = STACK_ASSIST,
                           .samples = 2,
                           .cpu_ns = 20 * MS},
                          {.snapshot_id = 11,
                           .at_ns = -1000 * MS,
                           .dur_ns = 10000 * MS,
                           .frames = STACK_COPY,
                           .samples = 1,
                           .cpu_ns = 5 * MS},
                          {.snapshot_id = 12,
                           .at_ns = 9000 * MS,
                           .dur_ns = 10000 * MS,
                           .frames = STACK_WORK,
                           .samples = 1,
                           .cpu_ns = 10 * MS}};
  sp->cpu = rows;
  sp->n_cpu = 4;
  run(f);
  const mw_span_explain *e = &f->out.spans[0];
  assert_int_equal(e->b.cpu_ns, 45 * MS);
  assert_int_equal(e->b.gc_assist_ns, 20 * MS);
  assert_int_equal(e->b.unknown_ns, 35 * MS);
  const mw_cause *c = cause(e, MW_K_CPU);
  assert_near(c->confidence, 0.95 * 7 / 8.5);
  assert_string_equal(c->summary, "on CPU for 45.0 ms (7 samples), mostly in main.work (main.go:10)");
  assert_int_equal(c->n_evidence, 4);
  assert_int_equal(c->evidence[0].type, MW_EV_CPU_SAMPLES);
  assert_ptr_equal(c->evidence[0].u.cpu.frames, STACK_WORK);
  assert_int_equal(c->evidence[0].u.cpu.samples, 4);
  assert_int_equal(c->evidence[0].u.cpu.cpu_ns, 40 * MS);
  assert_ptr_equal(c->evidence[1].u.cpu.frames, STACK_COPY);
  assert_int_equal(c->evidence[2].type, MW_EV_CPU_PROFILE);
  assert_int_equal(c->evidence[2].u.profile.snapshot_id, 11);
  assert_int_equal(c->evidence[3].u.profile.snapshot_id, 12);
  const mw_cause *g = cause(e, MW_K_GC_ASSIST);
  assert_near(g->confidence, 0.9 * 7 / 8.5);
  assert_string_equal(g->summary, "assisting the garbage collector for 20.0 ms (its allocations paid for marking)");
  assert_int_equal(g->n_evidence, 1);
  assert_null(g->evidence[0].u.cpu.frames);
  assert_string_equal(g->evidence[0].u.cpu.function, "runtime.gcAssistAlloc");
  assert_int_equal(g->evidence[0].u.cpu.cpu_ns, 20 * MS);
  /* cpu 0.45, unknown 0.35, gc_assist 0.2 */
  assert_int_equal(e->causes[0].kind, MW_K_CPU);
  assert_int_equal(e->causes[1].kind, MW_K_UNKNOWN);
  assert_int_equal(e->causes[2].kind, MW_K_GC_ASSIST);
}

/* A span [0, 10) stopped by the world over [1, 3) (2 ms) has 12 ms of CPU
 * samples and 4 ms of assist: 16 ms, more than the 8 ms still free. Both are
 * scaled by 8 / 16: cpu 6 ms, assist 2 ms; with the pause, 10 ms: the parts
 * never add up to more than the self time. */
static void test_cpu_capped_at_free_time(void **state) {
  fx *f = *state;
  mw_ex_span *sp = add_span(f, 1, 0, 0, 10, "short");
  mw_gc_cycle gc = {.n = 3, .start_ns = 1 * MS, .stw_sweep_term_ns = 2 * MS, .concurrent_mark_ns = 100 * MS};
  f->src.gc = &gc;
  f->src.n_gc = 1;
  mw_ex_cpu_row rows[] = {{.snapshot_id = 1, .frames = STACK_WORK, .samples = 1, .cpu_ns = 12 * MS},
                          {.snapshot_id = 1, .frames = STACK_ASSIST, .samples = 1, .cpu_ns = 4 * MS}};
  sp->cpu = rows;
  sp->n_cpu = 2;
  run(f);
  const mw_breakdown *b = &f->out.spans[0].b;
  assert_int_equal(b->gc_stw_ns, 2 * MS);
  assert_int_equal(b->cpu_ns, 6 * MS);
  assert_int_equal(b->gc_assist_ns, 2 * MS);
  assert_int_equal(b->unknown_ns, 0);
}

/* A window observed exactly (an execution trace, say) takes its time and its
 * samples: self [0, 100); the exact source claims [0, 40). A profile over
 * [0, 100) then counts at 60 / 100 of its samples. */
static void test_exact_window(void **state) {
  fx *f = *state;
  add_span(f, 1, 0, 0, 100, "traced");
  assert_int_equal(mw__explain_link(f->a, &f->in), MW_OK);
  mw_ex_timing t;
  mw_ex_ledger l;
  assert_int_equal(mw__ex_timing(f->a, &f->in, 0, &t), MW_OK);
  assert_int_equal(mw__ex_ledger_init(f->a, &t, &l), MW_OK);
  assert_near(mw__ex_unobserved_share(&l, 0, 100 * MS), 1);
  int64_t taken;
  assert_int_equal(mw__ex_take_exact(f->a, &l, 0, 40 * MS, &taken), MW_OK);
  assert_int_equal(taken, 40 * MS);
  mw_cause c = {.kind = MW_K_CPU, .ns = 40 * MS, .confidence = 1, .summary = "traced on CPU"};
  assert_int_equal(mw__ex_claim(f->a, &l, &c), MW_OK);
  assert_int_equal(l.free_ns, 60 * MS);
  assert_int_equal(mw__ex_residual(&l), 60 * MS);
  assert_near(mw__ex_unobserved_share(&l, 0, 100 * MS), 0.6);
  assert_near(mw__ex_unobserved_share(&l, 0, 40 * MS), 0);
  assert_near(mw__ex_unobserved_share(&l, 500 * MS, 600 * MS), 1); /* misses the span */
  /* the CPU accountant on what is left: 50 ms of samples over [0, 100) count 30 */
  mw_ex_cpu_row row = {
      .snapshot_id = 1, .at_ns = 0, .dur_ns = 100 * MS, .frames = STACK_WORK, .samples = 5, .cpu_ns = 50 * MS};
  f->ex[0].cpu = &row;
  f->ex[0].n_cpu = 1;
  mw_ex_obs own = {0};
  mw_ex_view v = {.a = f->a, .o = &f->o, .span = &f->ex[0], .own = &own};
  assert_int_equal(mw__ex_account_cpu(&v, &t, &l), MW_OK);
  assert_int_equal(l.n_claims, 2);
  assert_int_equal(l.claims[1].ns, 30 * MS);
  assert_int_equal(mw__ex_residual(&l), 30 * MS);
}

/* --- 2. execution traces (explain_trace.c) ---------------------------------------- */

static mw_ex_xival xiv(int state, const char *reason, double a_ms, double b_ms) {
  return (mw_ex_xival){.s = {.state = state,
                             .reason = reason ? reason : "",
                             .raw_reason = "",
                             .start_ns = (int64_t)(a_ms * MS),
                             .end_ns = (int64_t)(b_ms * MS)}};
}

static mw_ex_xgor xgor(const mw_ex_xtrace *x, uint64_t g, double from_ms, double to_ms, const mw_ex_xival *iv,
                       size_t n) {
  return (mw_ex_xgor){.trace = x,
                      .goroutine = g,
                      .from_ns = (int64_t)(from_ms * MS),
                      .to_ns = (int64_t)(to_ms * MS),
                      .iv = iv,
                      .n_iv = n};
}

static const mw_evidence *evidence_of(const mw_cause *c, enum mw_evidence_type t, size_t nth) {
  for (size_t i = 0; i < c->n_evidence; i++)
    if (c->evidence[i].type == t && nth-- == 0) return &c->evidence[i];
  return NULL;
}

/* Every state and reason of a trace to its kind (docs/CORRELATION.md, "Exact
 * explanations"): a span [0, 100) whose goroutine the trace shows, by hand:
 * running 10 -> cpu 10; runnable 5 + blocked preempted 2 -> runnable 7; chan
 * 20; mutex 10; sync 5 -> cond 5; gc wait 5 + gc_assist 5 -> gc_assist 10;
 * syscall state 8 -> syscall 8; stopped 2 -> gc_stw 2; io 8; sleep 10;
 * select 5; an unknown reason 5 -> other. 100 ms, all scope trace at 0.95. */
static void test_trace_states_to_kinds(void **state) {
  fx *f = *state;
  mw_ex_span *sp = add_span(f, 1, 0, 0, 100, "traced");
  mw_ex_xtrace x = {.id = 7, .start_ns = -5 * MS, .end_ns = 200 * MS, .alignment = MW_XT_ALIGN_CLOCK_SNAPSHOT};
  mw_ex_xival iv[] = {xiv(MW_XT_RUNNING, NULL, 0, 10),      xiv(MW_XT_RUNNABLE, NULL, 10, 15),
                      xiv(MW_XT_BLOCKED, "chan", 15, 35),   xiv(MW_XT_BLOCKED, "mutex", 35, 45),
                      xiv(MW_XT_BLOCKED, "sync", 45, 50),   xiv(MW_XT_BLOCKED, "gc", 50, 55),
                      xiv(MW_XT_GC_ASSIST, NULL, 55, 60),   xiv(MW_XT_BLOCKED, "preempted", 60, 62),
                      xiv(MW_XT_SYSCALL, NULL, 62, 70),     xiv(MW_XT_STOPPED, NULL, 70, 72),
                      xiv(MW_XT_BLOCKED, "io", 72, 80),     xiv(MW_XT_BLOCKED, "sleep", 80, 90),
                      xiv(MW_XT_BLOCKED, "select", 90, 95), xiv(MW_XT_BLOCKED, "weird", 95, 100)};
  mw_ex_xgor g = xgor(&x, 57, 0, 100, iv, sizeof iv / sizeof iv[0]);
  sp->xg = &g;
  sp->n_xg = 1;
  run(f);
  const mw_span_explain *e = &f->out.spans[0];
  assert_int_equal(e->b.cpu_ns, 10 * MS);
  assert_int_equal(e->b.runnable_ns, 7 * MS);
  assert_int_equal(e->b.blocked_ns[MW_B_CHAN], 20 * MS);
  assert_int_equal(e->b.blocked_ns[MW_B_MUTEX], 10 * MS);
  assert_int_equal(e->b.blocked_ns[MW_B_COND], 5 * MS);
  assert_int_equal(e->b.gc_assist_ns, 10 * MS);
  assert_int_equal(e->b.blocked_ns[MW_B_SYSCALL], 8 * MS);
  assert_int_equal(e->b.gc_stw_ns, 2 * MS);
  assert_int_equal(e->b.blocked_ns[MW_B_IO], 8 * MS);
  assert_int_equal(e->b.blocked_ns[MW_B_SLEEP], 10 * MS);
  assert_int_equal(e->b.blocked_ns[MW_B_SELECT], 5 * MS);
  assert_int_equal(e->b.blocked_ns[MW_B_OTHER], 5 * MS);
  assert_int_equal(e->b.unknown_ns, 0);
  for (size_t i = 0; i < e->n_causes; i++) {
    assert_int_equal(e->causes[i].scope, MW_SCOPE_TRACE);
    assert_near(e->causes[i].confidence, 0.95);
    const mw_evidence *xe = evidence_of(&e->causes[i], MW_EV_EXECTRACE, 0);
    assert_non_null(xe);
    assert_int_equal(xe->u.xtrace.id, 7);
    assert_int_equal(xe->u.xtrace.covered_ns, 100 * MS);
  }
  const mw_cause *chan = cause(e, MW_K_MUTEX + MW_B_CHAN);
  assert_int_equal(e->causes[0].kind, MW_K_MUTEX + MW_B_CHAN); /* the largest */
  const mw_evidence *ie = evidence_of(chan, MW_EV_INTERVAL, 0);
  assert_non_null(ie);
  assert_int_equal(ie->u.interval.goroutine, 57);
  assert_int_equal(ie->u.interval.ns, 20 * MS);
  assert_null(evidence_of(chan, MW_EV_CHAIN, 0));
  assert_string_equal(chan->summary, "waiting on a channel for 20.0 ms at an unknown site (execution trace)");
  /* gc_assist: the gc wait and the assist, the longest first (equal: the earlier) */
  const mw_cause *gc = cause(e, MW_K_GC_ASSIST);
  assert_int_equal(evidence_of(gc, MW_EV_INTERVAL, 0)->u.interval.state, MW_XT_BLOCKED);
  assert_int_equal(evidence_of(gc, MW_EV_INTERVAL, 1)->u.interval.state, MW_XT_GC_ASSIST);
}

/* A span [0, 100) that a capture-time trace covers from 40 ms: the chan wait
 * there is exact (60 ms, 0.8); its CPU profile over [0, 100) holds 50 ms of
 * samples, of which the part the trace did not see counts: 50 x 40/100 = 20 ms
 * (scope span); 20 ms are left unknown. Both sampled causes say that 40 ms lay
 * outside the traced window. */
static void test_trace_partial_coverage(void **state) {
  fx *f = *state;
  mw_ex_span *sp = add_span(f, 1, 0, 0, 100, "partly");
  mw_ex_xtrace x = {.id = 3, .start_ns = 40 * MS, .end_ns = 300 * MS, .alignment = MW_XT_ALIGN_CAPTURE_TIME};
  mw_ex_xival iv[] = {xiv(MW_XT_BLOCKED, "chan", 40, 100)};
  mw_ex_xgor g = xgor(&x, 9, 40, 100, iv, 1);
  sp->xg = &g;
  sp->n_xg = 1;
  mw_ex_cpu_row row = {
      .snapshot_id = 1, .at_ns = 0, .dur_ns = 100 * MS, .frames = STACK_WORK, .samples = 5, .cpu_ns = 50 * MS};
  sp->cpu = &row;
  sp->n_cpu = 1;
  run(f);
  const mw_span_explain *e = &f->out.spans[0];
  const mw_cause *chan = cause(e, MW_K_MUTEX + MW_B_CHAN), *cpu = cause(e, MW_K_CPU), *unk = cause(e, MW_K_UNKNOWN);
  assert_int_equal(chan->ns, 60 * MS);
  assert_int_equal(chan->scope, MW_SCOPE_TRACE);
  assert_near(chan->confidence, 0.8);
  assert_int_equal(evidence_of(chan, MW_EV_EXECTRACE, 0)->u.xtrace.covered_ns, 60 * MS);
  assert_null(evidence_of(chan, MW_EV_REASON, 0));
  assert_int_equal(cpu->ns, 20 * MS);
  assert_int_equal(cpu->scope, MW_SCOPE_SPAN);
  assert_int_equal(unk->ns, 20 * MS);
  const char *outside = "40.0 ms of the span lay outside the traced window: explained from samples";
  const mw_evidence *r = evidence_of(cpu, MW_EV_REASON, 0);
  assert_non_null(r);
  assert_string_equal(r->u.reason.text, outside);
  /* unknown: its own reason first, then the note */
  assert_string_equal(evidence_of(unk, MW_EV_REASON, 1)->u.reason.text, outside);
}

/* Two goroutines in two traces cover [0, 50) (running) and [50, 100)
 * (blocked on a mutex) of a span [0, 100); a stop-the-world pause from
 * gctrace over [20, 25) is taken first: cpu 45 (trace 1 covered 45), mutex
 * 50 (trace 2 covered 50), gc_stw 5 (scope span, gctrace's). A child over
 * [90, 100) is not self time: mutex 40, its interval's ns 40. */
static void test_trace_multiple_goroutines(void **state) {
  fx *f = *state;
  mw_ex_span *sp = add_span(f, 1, 0, 0, 100, "two");
  add_span(f, 2, 1, 90, 10, "child");
  mw_gc_cycle gc = {.n = 4, .start_ns = 20 * MS, .stw_sweep_term_ns = 5 * MS, .concurrent_mark_ns = 1000 * MS};
  f->src.gc = &gc;
  f->src.n_gc = 1;
  mw_ex_xtrace x1 = {.id = 1, .start_ns = 0, .end_ns = 50 * MS, .alignment = MW_XT_ALIGN_CLOCK_SNAPSHOT};
  mw_ex_xtrace x2 = {.id = 2, .start_ns = 50 * MS, .end_ns = 100 * MS, .alignment = MW_XT_ALIGN_CLOCK_SNAPSHOT};
  mw_ex_xival iv1[] = {xiv(MW_XT_RUNNING, NULL, -10, 60)}, iv2[] = {xiv(MW_XT_BLOCKED, "mutex", 50, 100)};
  mw_ex_xgor g[] = {xgor(&x1, 5, 0, 50, iv1, 1), xgor(&x2, 6, 50, 100, iv2, 1)};
  sp->xg = g;
  sp->n_xg = 2;
  run(f);
  const mw_span_explain *e = &f->out.spans[0];
  const mw_cause *cpu = cause(e, MW_K_CPU), *mutex = cause(e, MW_K_MUTEX), *stw = cause(e, MW_K_GC_STW);
  assert_int_equal(cpu->ns, 45 * MS);
  assert_int_equal(evidence_of(cpu, MW_EV_EXECTRACE, 0)->u.xtrace.id, 1);
  assert_int_equal(evidence_of(cpu, MW_EV_EXECTRACE, 0)->u.xtrace.covered_ns, 45 * MS);
  assert_null(evidence_of(cpu, MW_EV_EXECTRACE, 1));
  assert_int_equal(evidence_of(cpu, MW_EV_INTERVAL, 0)->u.interval.ns, 45 * MS);
  assert_int_equal(mutex->ns, 40 * MS);
  assert_int_equal(evidence_of(mutex, MW_EV_EXECTRACE, 0)->u.xtrace.id, 2);
  assert_int_equal(evidence_of(mutex, MW_EV_EXECTRACE, 0)->u.xtrace.covered_ns, 40 * MS);
  assert_int_equal(evidence_of(mutex, MW_EV_INTERVAL, 0)->u.interval.goroutine, 6);
  assert_int_equal(stw->ns, 5 * MS);
  assert_int_equal(stw->scope, MW_SCOPE_SPAN);
  assert_int_equal(e->b.unknown_ns, 0);
}

/* The chain's sentence: a mutex wait's first waker released it; the next
 * link's relation follows the wait before it (chan: woke); a link without a
 * span says so, one with a stored span names it; times from the span's start. */
static void test_trace_chain_text(void **state) {
  fx *f = *state;
  mw_ex_link links[2] = {{.goroutine = 12,
                          .woke_ns = 41 * MS,
                          .has_span = 1,
                          .has_trace = 1,
                          .span_id = {0xb2, 0, 0, 0, 0, 0, 0, 2},
                          .trace_id = {0xbb, 0xbb, 0, 0, 1},
                          .span_name = "cache.refresh",
                          .service = "refresher",
                          .released = 1,
                          .has_waited = 1,
                          .waited = {.state = MW_XT_BLOCKED, .reason = "chan", .frames = STACK_CHAN},
                          .waited_ns = 30 * MS},
                         {.goroutine = 30, .woke_ns = 35 * MS}};
  mw_ex_chain c = {links, 2};
  const char *s = mw__ex_chain_text(f->a, &c, "mutex", -10 * MS);
  assert_string_equal(s, "; it was released by goroutine 12 (span cache.refresh of refresher, trace bbbb0000…) at "
                         "+51.0 ms, which had itself been waiting on a channel for 30.0 ms at main.wait (main.go:99), "
                         "woken by goroutine 30 (no span) at +45.0 ms");
  mw_ex_chain none = {links, 0};
  assert_string_equal(mw__ex_chain_text(f->a, &none, "mutex", 0), "");
  assert_true(mw__ex_xt_released("mutex") && mw__ex_xt_released("cond") && mw__ex_xt_released("sync"));
  assert_false(mw__ex_xt_released("chan") || mw__ex_xt_released("select") || mw__ex_xt_released(""));
}

/* --- 3. goroutine states ------------------------------------------------------------- */

/* Self [0, 1000). Profiles: one at -500 ms stating 1000 ms, whose last 200 ms
 * hold no samples: it recorded [-500, 300), 300 ms of the span; one at 900
 * stating 150 ms records nothing; one at 600 stating 300 ms records [600, 700).
 * Coverage (300 + 100) / 1000 = 0.4. */
static void test_cpu_coverage(void **state) {
  fx *f = *state;
  add_span(f, 1, 0, 0, 1000, "covered");
  mw_ex_window w[] = {{-500 * MS, 1000 * MS}, {900 * MS, 150 * MS}, {600 * MS, 300 * MS}};
  f->src.cpu = w;
  f->src.n_cpu = 3;
  assert_int_equal(mw__explain_link(f->a, &f->in), MW_OK);
  mw_ex_timing t;
  mw_ex_ledger l;
  assert_int_equal(mw__ex_timing(f->a, &f->in, 0, &t), MW_OK);
  assert_int_equal(mw__ex_ledger_init(f->a, &t, &l), MW_OK);
  assert_near(mw__ex_cpu_coverage(&f->src, &l), 0.4);
  assert_near(mw__ex_cpu_coverage(NULL, &l), 0);
}

/* The same span, one snapshot found its goroutine running: run fraction 1 of
 * a 1000 ms residual. Where a profile was recording (0.4) it was waiting for
 * a CPU: runnable 400 ms, confidence 0.9 * 1 / 2.5 * 0.8 = 0.288; the other
 * 600 ms are inferred CPU, confidence 0.5 * 1 / 2.5 = 0.2. */
static void test_running_split_by_coverage(void **state) {
  fx *f = *state;
  mw_ex_span *sp = add_span(f, 1, 0, 0, 1000, "covered");
  mw_ex_window w[] = {{-500 * MS, 1000 * MS}, {900 * MS, 150 * MS}, {600 * MS, 300 * MS}};
  f->src.cpu = w;
  f->src.n_cpu = 3;
  mw_ex_goroutines g = grow_row(21, 500, "running", 1, 7, STACK_RUN, 0);
  sp->gor = &g;
  sp->n_gor = 1;
  run(f);
  const mw_span_explain *e = &f->out.spans[0];
  assert_int_equal(e->b.runnable_ns, 400 * MS);
  assert_int_equal(e->b.cpu_ns, 600 * MS);
  assert_int_equal(e->b.unknown_ns, 0);
  const mw_cause *r = cause(e, MW_K_RUNNABLE), *c = cause(e, MW_K_CPU);
  assert_near(r->confidence, 0.288);
  assert_near(c->confidence, 0.2);
  assert_string_equal(c->summary, "running for 600.0 ms while no CPU profile was recording (goroutine snapshots "
                                  "found it running)");
  assert_string_equal(r->summary, "ready to run but not on a CPU for 400.0 ms (goroutine snapshots found it "
                                  "runnable while the CPU profile has no samples for it)");
  /* both rest on the running goroutine, all of the one snapshot */
  assert_int_equal(c->n_evidence, 2);
  assert_int_equal(c->evidence[0].type, MW_EV_GOROUTINE_SAMPLE);
  assert_int_equal(c->evidence[0].u.goroutine.snapshot_id, 21);
  assert_int_equal(c->evidence[1].type, MW_EV_OBSERVATIONS);
  assert_int_equal(c->evidence[1].u.obs.snapshots, 1);
  assert_near(c->evidence[1].u.obs.fraction, 1);
}

/* A span [0, 100) with 20 ms of CPU samples (2), under a profile recording
 * all of it. Snapshot 1 found 3 of its goroutines on a mutex and 1 running
 * (mutex 0.75, run 0.25), snapshot 2 one goroutine on a channel (chan 1).
 * Over 2 snapshots: mutex 0.375, chan 0.5, run 0.125 of the 80 ms residual:
 * mutex 30 ms, chan 40 ms, run 10 ms, all runnable (coverage 1). Confidence
 * 0.9 * 2 / 3.5 = 0.5143; runnable 0.8 of that. */
static void test_states_span_scope(void **state) {
  fx *f = *state;
  mw_ex_span *sp = add_span(f, 1, 0, 0, 100, "blocked");
  mw_ex_window w = {-1000 * MS, 10000 * MS};
  f->src.cpu = &w;
  f->src.n_cpu = 1;
  mw_ex_cpu_row cpu = {.snapshot_id = 9,
                       .at_ns = -1000 * MS,
                       .dur_ns = 10000 * MS,
                       .frames = STACK_WORK,
                       .samples = 2,
                       .cpu_ns = 20 * MS};
  mw_ex_goroutines g[] = {grow_row(1, 10, "mutex", 3, 5, STACK_LOCK, 0), grow_row(1, 10, "running", 1, 6, STACK_RUN, 0),
                          grow_row(2, 60, "chan", 1, 8, STACK_CHAN, 0)};
  sp->cpu = &cpu;
  sp->n_cpu = 1;
  sp->gor = g;
  sp->n_gor = 3;
  run(f);
  const mw_span_explain *e = &f->out.spans[0];
  assert_int_equal(e->b.blocked_ns[MW_B_MUTEX], 30 * MS);
  assert_int_equal(e->b.blocked_ns[MW_B_CHAN], 40 * MS);
  assert_int_equal(e->b.runnable_ns, 10 * MS);
  assert_int_equal(e->b.cpu_ns, 20 * MS);
  assert_int_equal(e->b.unknown_ns, 0);
  const mw_cause *m = cause(e, MW_K_MUTEX);
  assert_near(m->confidence, 0.9 * 2 / 3.5);
  assert_int_equal(m->scope, MW_SCOPE_SPAN);
  assert_string_equal(m->summary, "waiting for a lock for 30.0 ms at sync.(*Mutex).Lock in main.reserve (main.go:88)");
  assert_int_equal(m->n_evidence, 2);
  assert_int_equal(m->evidence[0].u.goroutine.goroutines, 3);
  assert_string_equal(m->evidence[0].u.goroutine.state, "mutex");
  assert_int_equal(m->evidence[1].u.obs.snapshots, 2);
  assert_int_equal(m->evidence[1].u.obs.spans, 0);
  assert_near(m->evidence[1].u.obs.fraction, 0.375);
  assert_null(m->evidence[1].u.obs.note);
  assert_string_equal(cause(e, MW_K_MUTEX + MW_B_CHAN)->summary,
                      "waiting on a channel for 40.0 ms at main.wait (main.go:99)");
  assert_near(cause(e, MW_K_RUNNABLE)->confidence, 0.8 * 0.9 * 2 / 3.5);
  /* chan 0.4, mutex 0.3, cpu 0.2, runnable 0.1 */
  enum mw_cause_kind want[] = {MW_K_MUTEX + MW_B_CHAN, MW_K_MUTEX, MW_K_CPU, MW_K_RUNNABLE};
  assert_int_equal(e->n_causes, 4);
  for (int i = 0; i < 4; i++) assert_int_equal(e->causes[i].kind, want[i]);
}

/* No snapshot caught the span [0, 90); its operation's slow spans were found
 * by 3 snapshots: span 0 twice in io, span 1 once asleep. io 2/3 and sleep
 * 1/3 of 90 ms: 60 and 30 ms, in operation scope with confidence
 * 0.5 * 3 / 4.5 = 0.3333 and a note on what they rest on. */
static void test_states_operation_scope(void **state) {
  fx *f = *state;
  mw_ex_span *sp = add_span(f, 1, 0, 0, 90, "db.query");
  mw_ex_goroutines g[] = {grow_row(31, -500, "io", 1, 3, STACK_IO, 0), grow_row(32, -400, "io", 1, 3, STACK_IO, 0),
                          grow_row(33, 700, "sleep", 1, 4, STACK_SLEEP, 1)};
  f->op = (mw_ex_op){.op_id = 1, .count = 500, .p90_ns = 12500000, .rows = g, .n_rows = 3};
  f->in.n_ops = 1;
  sp->op = 0;
  run(f);
  const mw_span_explain *e = &f->out.spans[0];
  assert_int_equal(e->b.blocked_ns[MW_B_IO], 60 * MS);
  assert_int_equal(e->b.blocked_ns[MW_B_SLEEP], 30 * MS);
  const mw_cause *io = cause(e, MW_K_MUTEX + MW_B_IO);
  assert_int_equal(io->scope, MW_SCOPE_OPERATION);
  assert_near(io->confidence, 0.5 * 3 / 4.5);
  assert_string_equal(io->summary, "slow spans of this operation were waiting for network I/O for 60.0 ms at "
                                   "net.(*conn).Read in main.query (main.go:70)");
  const mw_evidence *obs = &io->evidence[io->n_evidence - 1];
  assert_int_equal(obs->type, MW_EV_OBSERVATIONS);
  assert_int_equal(obs->u.obs.snapshots, 3);
  assert_int_equal(obs->u.obs.spans, 2);
  assert_near(obs->u.obs.fraction, 2.0 / 3);
  assert_string_equal(obs->u.obs.note, "from 2 spans of shop db.query at or above its p90 (12.5 ms), not this "
                                       "span's own samples");
  /* one distinct stack for io, shown once */
  assert_int_equal(io->n_evidence, 2);
  assert_string_equal(f->out.summary, "db.query (shop) took 90.0 ms; most of it: slow spans of this operation were "
                                      "waiting for network I/O for 60.0 ms at net.(*conn).Read in main.query "
                                      "(main.go:70).");
}

/* --- 4. unknown ---------------------------------------------------------------------- */

/* The three reasons: the operation's snapshots are too few (3 < 4); none of
 * its similar spans was caught; no operation was looked at. */
static void test_unknown_reasons(void **state) {
  fx *f = *state;
  mw_ex_goroutines g[] = {grow_row(31, -500, "io", 1, 3, STACK_IO, 0), grow_row(32, -400, "io", 1, 3, STACK_IO, 0),
                          grow_row(33, 700, "sleep", 1, 4, STACK_SLEEP, 1)};
  mw_ex_op ops[2] = {{.op_id = 1, .count = 500, .p90_ns = 12500000, .rows = g, .n_rows = 3},
                     {.op_id = 2, .count = 120, .p90_ns = 102100000}};
  f->in.ops = ops;
  f->in.n_ops = 2;
  f->o.op_min_snapshots = 4;
  add_span(f, 1, 0, 0, 90, "few")->op = 0;
  add_span(f, 2, 0, 100, 50, "none caught")->op = 1;
  add_span(f, 3, 0, 200, 20, "not looked at");
  run(f);
  const char *want[] = {
      "90.0 ms unexplained: no goroutine snapshot fell inside this span, and the 3 snapshots of slow spans of the "
      "same operation are fewer than 4",
      "50.0 ms unexplained: no goroutine snapshot fell inside this span, and none caught the 120 similar spans of "
      "the same operation (p90 102.1 ms)",
      "20.0 ms unexplained: no goroutine snapshot fell inside this span"};
  for (int i = 0; i < 3; i++) {
    const mw_span_explain *e = &f->out.spans[i];
    assert_int_equal(e->n_causes, 1);
    assert_int_equal(e->causes[0].kind, MW_K_UNKNOWN);
    assert_int_equal(e->causes[0].ns, e->span->dur_ns);
    assert_near(e->causes[0].confidence, 0);
    assert_string_equal(e->causes[0].summary, want[i]);
    assert_int_equal(e->causes[0].evidence[0].type, MW_EV_REASON);
    assert_string_equal(e->causes[0].evidence[0].u.reason.text, strstr(want[i], ": ") + 2);
  }
}

/* --- causes ------------------------------------------------------------------------- */

/* CPU from samples (span scope, 20 ms, 2 samples: 0.95 * 2 / 3.5 = 0.542857)
 * and CPU inferred from the operation's snapshots where no profile was
 * recording (3 snapshots all running: the 80 ms residual, 0.5 * 3 / 4.5 =
 * 0.333333) are one cause: 100 ms, share 1, confidence weighted by ns
 * (0.542857 * 20 + 0.333333 * 80) / 100 = 0.375238, scope span (mixed), the
 * two sentences joined, the evidence of both in claim order. */
static void test_split_cause(void **state) {
  fx *f = *state;
  mw_ex_span *sp = add_span(f, 1, 0, 0, 100, "price.compute");
  mw_ex_cpu_row cpu = {.snapshot_id = 9, .frames = STACK_RUN, .samples = 2, .cpu_ns = 20 * MS};
  sp->cpu = &cpu;
  sp->n_cpu = 1;
  mw_ex_goroutines g[] = {grow_row(1, -10, "running", 1, 6, STACK_RUN, 0),
                          grow_row(2, 300, "running", 1, 6, STACK_RUN, 1),
                          grow_row(3, 400, "running", 1, 6, STACK_RUN, 2)};
  f->op = (mw_ex_op){.op_id = 1, .count = 50, .p90_ns = 100 * MS, .rows = g, .n_rows = 3};
  f->in.n_ops = 1;
  sp->op = 0;
  run(f);
  const mw_span_explain *e = &f->out.spans[0];
  assert_int_equal(e->n_causes, 1);
  const mw_cause *c = &e->causes[0];
  assert_int_equal(c->kind, MW_K_CPU);
  assert_int_equal(c->ns, 100 * MS);
  assert_near(c->share, 1);
  assert_near(c->confidence, (0.95 * 2 / 3.5 * 20 + 0.5 * 3 / 4.5 * 80) / 100);
  assert_int_equal(c->scope, MW_SCOPE_SPAN);
  assert_string_equal(c->summary, "on CPU for 20.0 ms (2 samples), mostly in main.spin (main.go:60); running for 80.0 "
                                  "ms (goroutine snapshots found it running; no CPU profile covered the span)");
  /* samples: the stack and its profile; then the snapshots: one stack, observations */
  assert_int_equal(c->n_evidence, 4);
  enum mw_evidence_type types[] = {MW_EV_CPU_SAMPLES, MW_EV_CPU_PROFILE, MW_EV_GOROUTINE_SAMPLE, MW_EV_OBSERVATIONS};
  for (int i = 0; i < 4; i++) assert_int_equal(c->evidence[i].type, types[i]);
}

/* An interrupted assist: 10 ms of the span's CPU samples are in
 * runtime.gcAssistAlloc (1 sample: 0.9 * 1 / 2.5 = 0.36), and the one snapshot
 * that caught it found it parked in a GC wait: the 90 ms residual, 0.9 * 1 /
 * 2.5 = 0.36. One gc_assist cause of 100 ms. */
static void test_interrupted_assist(void **state) {
  fx *f = *state;
  mw_ex_span *sp = add_span(f, 1, 0, 0, 100, "render");
  mw_ex_cpu_row cpu = {.snapshot_id = 9, .frames = STACK_ASSIST, .samples = 1, .cpu_ns = 10 * MS};
  mw_ex_goroutines g = grow_row(4, 50, "gc", 1, 12, STACK_GCWAIT, 0);
  g.wait_reason = "GC assist wait";
  sp->cpu = &cpu;
  sp->n_cpu = 1;
  sp->gor = &g;
  sp->n_gor = 1;
  run(f);
  const mw_span_explain *e = &f->out.spans[0];
  assert_int_equal(e->b.gc_assist_ns, 100 * MS);
  assert_int_equal(e->b.cpu_ns, 0);
  assert_int_equal(e->n_causes, 1);
  const mw_cause *c = &e->causes[0];
  assert_int_equal(c->kind, MW_K_GC_ASSIST);
  assert_near(c->share, 1);
  assert_near(c->confidence, 0.36);
  assert_string_equal(c->summary, "assisting the garbage collector for 10.0 ms (its allocations paid for marking); "
                                  "held up by the garbage collector for 90.0 ms (parked in a GC wait)");
  assert_int_equal(c->n_evidence, 3);
  assert_string_equal(c->evidence[0].u.cpu.function, "runtime.gcAssistAlloc");
  assert_string_equal(c->evidence[1].u.goroutine.wait_reason, "GC assist wait");
  assert_int_equal(c->evidence[2].type, MW_EV_OBSERVATIONS);
}

static mw_cause claim_of(enum mw_cause_kind k, int64_t ns, double conf, enum mw_scope scope, const char *summary) {
  return (mw_cause){.kind = k, .ns = ns, .confidence = conf, .scope = scope, .summary = summary};
}

/* Two claims of one kind in operation and span scope, with evidence:
 * 30 ms at 0.2 and 10 ms at 0.6 merge to 40 ms at (6 + 6) / 40 = 0.3. */
static void test_causes_merge(void **state) {
  fx *f = *state;
  mw_evidence e1 = {.type = MW_EV_REASON, .u.reason.text = "one"},
              e2[2] = {{.type = MW_EV_REASON, .u.reason.text = "two"},
                       {.type = MW_EV_REASON, .u.reason.text = "three"}};
  mw_cause claims[2] = {claim_of(MW_K_MUTEX, 30 * MS, 0.2, MW_SCOPE_OPERATION, "first"),
                        claim_of(MW_K_MUTEX, 10 * MS, 0.6, MW_SCOPE_SPAN, "second")};
  claims[0].evidence = &e1, claims[0].n_evidence = 1;
  claims[1].evidence = e2, claims[1].n_evidence = 2;
  mw_cause *out;
  size_t n;
  assert_int_equal(mw__ex_causes(f->a, 100 * MS, claims, 2, &out, &n), MW_OK);
  assert_int_equal(n, 1);
  assert_int_equal(out[0].ns, 40 * MS);
  assert_near(out[0].share, 0.4);
  assert_near(out[0].confidence, 0.3);
  assert_int_equal(out[0].scope, MW_SCOPE_SPAN);
  assert_string_equal(out[0].summary, "first; second");
  assert_int_equal(out[0].n_evidence, 3);
  assert_string_equal(out[0].evidence[0].u.reason.text, "one");
  assert_string_equal(out[0].evidence[2].u.reason.text, "three");
  /* the claims themselves are left as they were */
  assert_int_equal(claims[0].n_evidence, 1);
}

/* Equal shares go by kind name, whatever order they were claimed in. */
static void test_causes_ties(void **state) {
  fx *f = *state;
  mw_cause a[3] = {claim_of(MW_K_MUTEX, 40 * MS, 0.5, MW_SCOPE_SPAN, "m"),
                   claim_of(MW_K_MUTEX + MW_B_CHAN, 40 * MS, 0.5, MW_SCOPE_SPAN, "c"),
                   claim_of(MW_K_CPU, 20 * MS, 0.5, MW_SCOPE_SPAN, "p")};
  mw_cause b[3] = {a[2], a[1], a[0]};
  mw_cause *out;
  size_t n;
  for (int pass = 0; pass < 2; pass++) {
    assert_int_equal(mw__ex_causes(f->a, 100 * MS, pass ? b : a, 3, &out, &n), MW_OK);
    assert_int_equal(n, 3);
    assert_int_equal(out[0].kind, MW_K_MUTEX + MW_B_CHAN); /* "chan" < "mutex" */
    assert_int_equal(out[1].kind, MW_K_MUTEX);
    assert_int_equal(out[2].kind, MW_K_CPU);
  }
}

/* Under 1% of the span is left out unless it is the only cause; exactly 1% stays. */
static void test_causes_one_percent(void **state) {
  fx *f = *state;
  mw_cause c[3] = {claim_of(MW_K_CPU, 98 * MS + MS / 2, 0.9, MW_SCOPE_SPAN, "cpu"),
                   claim_of(MW_K_MUTEX, MS / 2, 0.9, MW_SCOPE_SPAN, "0.5%"),
                   claim_of(MW_K_GC_STW, MS, 0.9, MW_SCOPE_SPAN, "1%")};
  mw_cause *out;
  size_t n;
  assert_int_equal(mw__ex_causes(f->a, 100 * MS, c, 3, &out, &n), MW_OK);
  assert_int_equal(n, 2);
  assert_int_equal(out[0].kind, MW_K_CPU);
  assert_int_equal(out[1].kind, MW_K_GC_STW);
  assert_int_equal(mw__ex_causes(f->a, 100 * MS, &c[1], 1, &out, &n), MW_OK);
  assert_int_equal(n, 1);
  assert_near(out[0].share, 0.005);
  /* a claim of nothing is no cause */
  mw_cause zero = claim_of(MW_K_CPU, 0, 1, MW_SCOPE_SPAN, "none");
  assert_int_equal(mw__ex_causes(f->a, 100 * MS, &zero, 1, &out, &n), MW_OK);
  assert_int_equal(n, 0);
}

/* --- the summary ------------------------------------------------------------------- */

/* GET /a [0, 100) -> handler [10, 90) -> its slower child db.query [20, 80)
 * (60 ms, asleep per its own snapshot), beside cache.get [10, 20). The root's
 * top cause is children (80 ms of 100); so is the handler's (70 of 80); the
 * time stops in db.query: 60 / 100 = 60%. */
static void test_summary_follows_slowest_child(void **state) {
  fx *f = *state;
  add_span(f, 1, 0, 0, 100, "GET /a");
  add_span(f, 2, 1, 10, 80, "handler");
  add_span(f, 3, 2, 10, 10, "cache.get");
  mw_ex_span *db = add_span(f, 4, 2, 20, 60, "db.query");
  mw_ex_goroutines g = grow_row(5, 50, "sleep", 1, 4, STACK_SLEEP, 0);
  db->gor = &g;
  db->n_gor = 1;
  run(f);
  assert_int_equal(f->out.spans[0].causes[0].kind, MW_K_CHILDREN);
  assert_int_equal(f->out.spans[1].causes[0].kind, MW_K_CHILDREN);
  assert_string_equal(f->out.summary, "GET /a (shop) took 100.0 ms; 60% of it was in db.query (shop, 60.0 ms), which "
                                      "was sleeping for 60.0 ms at time.Sleep in main.backoff (main.go:78).");
  /* the children's cause names the slowest child and its own reason */
  const mw_cause *c = &f->out.spans[1].causes[0];
  assert_string_equal(c->summary, "70.0 ms in child spans; the slowest is db.query (shop, 60.0 ms): sleeping for 60.0 "
                                  "ms at time.Sleep in main.backoff (main.go:78)");
  assert_int_equal(c->evidence[0].type, MW_EV_SPAN);
  assert_int_equal(c->evidence[0].u.span.top_cause, MW_K_MUTEX + MW_B_SLEEP);
  assert_int_equal(c->evidence[0].u.span.dur_ns, 60 * MS);
  /* whose child's top cause is children again, only names it */
  assert_string_equal(f->out.spans[0].causes[0].summary,
                      "80.0 ms in child spans; the slowest is handler (shop, 80.0 ms)");
}

/* A span whose parent is missing is a root too, and the longest root is the
 * one followed: first the orphan (120 ms), then, shortened to 50 ms, GET /b,
 * whose time went to db.query, explained from its operation's slow spans. */
static void test_summary_operation_scope_and_root(void **state) {
  fx *f = *state;
  add_span(f, 2, 1, 0, 120, "orphan of a missing root");
  add_span(f, 5, 0, 0, 100, "GET /b");
  mw_ex_span *db = add_span(f, 6, 5, 10, 80, "db.query");
  mw_ex_goroutines g[] = {grow_row(31, -500, "io", 1, 3, STACK_IO, 0), grow_row(32, -400, "io", 1, 3, STACK_IO, 1),
                          grow_row(33, 700, "io", 1, 3, STACK_IO, 2)};
  f->op = (mw_ex_op){.op_id = 1, .count = 500, .p90_ns = 12500000, .rows = g, .n_rows = 3};
  f->in.n_ops = 1;
  db->op = 0;
  run(f);
  /* the orphan (120 ms) is the longest span without a parent here */
  assert_string_equal(f->out.summary, "orphan of a missing root (shop) took 120.0 ms; most of it: 120.0 ms "
                                      "unexplained: no goroutine snapshot fell inside this span.");
  f->spans[0].dur_ns = 50 * MS;
  run(f);
  assert_string_equal(f->out.summary, "GET /b (shop) took 100.0 ms; 80% of it was in db.query (shop, 80.0 ms), which "
                                      "was slow spans of this operation were waiting for network I/O for 80.0 ms at "
                                      "net.(*conn).Read in main.query (main.go:70) (judged from similar spans).");
}

/* A child listed first that outlives its root (an async call not awaited)
 * does not make another span the root: the longest span without a parent in
 * the trace is, here GET /c (100 ms), not the shorter detached one. */
static void test_summary_root_when_child_outlives(void **state) {
  fx *f = *state;
  add_span(f, 2, 1, 0, 150, "async");
  add_span(f, 1, 0, 0, 100, "GET /c");
  add_span(f, 3, 0, 0, 80, "detached");
  run(f);
  assert_string_equal(f->out.summary, "GET /c (shop) took 150.0 ms; 100% of it was in async (shop, 150.0 ms), which "
                                      "was 150.0 ms unexplained: no goroutine snapshot fell inside this span.");
}

/* --- the renderer ------------------------------------------------------------------- */

/* One span with a cause carrying one piece of evidence of every type. */
static void test_render_every_evidence_type(void **state) {
  (void)state;
  mw_stored_span sp = {.span_id = {1, 2, 3, 4, 5, 6, 7, 8},
                       .parent_id = {8, 7, 6, 5, 4, 3, 2, 1},
                       .has_parent = 1,
                       .name = "render",
                       .start_ns = 1000,
                       .dur_ns = 5000};
  mw_stored_span child = {.span_id = {0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 0, 1}, .name = "child"};
  const char *deep = "runtime.mallocgc\truntime/malloc.go:900\na\ta.go:1\nb\tb.go:2\nc\tc.go:3\nd\td.go:4\ne\te.go:5\n"
                     "f\tf.go:6\ng\tg.go:7\nh\th.go:8\n";
  mw_evidence ev[] = {
      {.type = MW_EV_SPAN,
       .u.span = {.span_id = child.span_id,
                  .name = "child",
                  .service = "shop",
                  .dur_ns = 42,
                  .top_cause = MW_K_MUTEX + MW_B_IO}},
      {.type = MW_EV_SPAN,
       .u.span = {.span_id = child.span_id, .name = "child", .service = "shop", .dur_ns = 42, .top_cause = -1}},
      {.type = MW_EV_GC_CYCLE, .u.gc = {.n = 7, .start_ns = 2, .stw_overlap_ns = 3, .heap_before = 4, .goal = 5}},
      {.type = MW_EV_CPU_SAMPLES, .u.cpu = {.frames = deep, .samples = 3, .cpu_ns = 30}},
      {.type = MW_EV_CPU_SAMPLES, .u.cpu = {.function = "runtime.gcAssistAlloc", .cpu_ns = 20}},
      {.type = MW_EV_CPU_PROFILE, .u.profile = {.snapshot_id = 11, .at_ns = 12, .dur_ns = 13}},
      {.type = MW_EV_GOROUTINE_SAMPLE,
       .u.goroutine = {.snapshot_id = 21,
                       .at_ns = 22,
                       .goroutines = 2,
                       .stack_id = 23,
                       .state = "mutex",
                       .wait_reason = "sync.Mutex.Lock",
                       .frames = STACK_LOCK}},
      {.type = MW_EV_GOROUTINE_SAMPLE,
       .u.goroutine = {.snapshot_id = 21,
                       .at_ns = 22,
                       .goroutines = 1,
                       .stack_id = 24,
                       .state = "running",
                       .frames = "runtime.gopark\tproc.go:1\n"}},
      {.type = MW_EV_OBSERVATIONS, .u.obs = {.snapshots = 4, .fraction = 0.25}},
      {.type = MW_EV_OBSERVATIONS, .u.obs = {.snapshots = 4, .spans = 2, .fraction = 0.5, .note = "n"}},
      {.type = MW_EV_REASON, .u.reason.text = "why \"not\""}};
  mw_cause c = {.kind = MW_K_OTHER,
                .ns = 123,
                .share = 0.123456,
                .confidence = 0.456,
                .scope = MW_SCOPE_OPERATION,
                .summary = "s",
                .evidence = ev,
                .n_evidence = sizeof ev / sizeof ev[0]};
  mw_span_explain e = {.span = &sp,
                       .service = "shop",
                       .parent = 0,
                       .self_ns = 4000,
                       .children_ns = 1000,
                       .b = {.cpu_ns = 1,
                             .gc_stw_ns = 2,
                             .gc_assist_ns = 3,
                             .runnable_ns = 4,
                             .unknown_ns = 5,
                             .blocked_ns = {6, 7, 8, 9, 10, 11, 12, 13}},
                       .causes = &c,
                       .n_causes = 1};
  mw_trace_explain t = {
      .trace_id = {0xff, [15] = 0x01}, .start_ns = 1000, .end_ns = 6000, .spans = &e, .n_spans = 1, .summary = "sum"};
  mw_buf b;
  mw__buf_init(&b, 1 << 20);
  mw_jsonw w;
  mw__jw_init(&w, &b);
  mw__explain_json(&w, &t);
  assert_false(mw__jw_error(&w));
  const char *want =
      "{\"trace_id\":\"ff000000000000000000000000000001\",\"duration_ns\":5000,\"start_ns\":1000,\"summary\":\"sum\","
      "\"spans\":[{\"span_id\":\"0102030405060708\",\"parent_span_id\":\"0807060504030201\",\"service\":\"shop\","
      "\"name\":\"render\",\"start_ns\":1000,\"duration_ns\":5000,\"self_ns\":4000,\"breakdown\":{\"cpu_ns\":1,"
      "\"gc_stw_ns\":2,\"gc_assist_ns\":3,\"runnable_ns\":4,\"blocked_ns\":{\"mutex\":6,\"chan\":7,\"select\":8,"
      "\"io\":9,\"sleep\":10,\"syscall\":11,\"cond\":12,\"other\":13},\"unknown_ns\":5,\"children_ns\":1000},"
      "\"causes\":[{\"kind\":\"other\",\"share\":0.1235,\"confidence\":0.46,\"scope\":\"operation\",\"summary\":\"s\","
      "\"evidence\":["
      "{\"type\":\"span\",\"span_id\":\"0a0b0c0d0e0f0001\",\"name\":\"child\",\"service\":\"shop\",\"duration_ns\":42,"
      "\"top_cause\":\"io\"},"
      "{\"type\":\"span\",\"span_id\":\"0a0b0c0d0e0f0001\",\"name\":\"child\",\"service\":\"shop\",\"duration_ns\":42},"
      "{\"type\":\"gc_cycle\",\"n\":7,\"start_ns\":2,\"stw_overlap_ns\":3,\"heap_before_bytes\":4,\"goal_bytes\":5},"
      /* CPU stacks from the leaf, runtime frames too, at most 8 */
      "{\"type\":\"cpu_samples\",\"samples\":3,\"cpu_ns\":30,\"frames\":["
      "{\"function\":\"runtime.mallocgc\",\"file\":\"runtime/malloc.go\",\"line\":900},"
      "{\"function\":\"a\",\"file\":\"a.go\",\"line\":1},{\"function\":\"b\",\"file\":\"b.go\",\"line\":2},"
      "{\"function\":\"c\",\"file\":\"c.go\",\"line\":3},{\"function\":\"d\",\"file\":\"d.go\",\"line\":4},"
      "{\"function\":\"e\",\"file\":\"e.go\",\"line\":5},{\"function\":\"f\",\"file\":\"f.go\",\"line\":6},"
      "{\"function\":\"g\",\"file\":\"g.go\",\"line\":7}]},"
      "{\"type\":\"cpu_samples\",\"function\":\"runtime.gcAssistAlloc\",\"cpu_ns\":20},"
      "{\"type\":\"cpu_profile\",\"snapshot_id\":11,\"time_ns\":12,\"duration_ns\":13},"
      /* goroutine stacks from the first frame that is not the runtime's */
      "{\"type\":\"goroutine_sample\",\"snapshot_id\":21,\"time_ns\":22,\"state\":\"mutex\",\"wait_reason\":"
      "\"sync.Mutex.Lock\",\"goroutines\":2,\"stack_id\":23,\"frames\":["
      "{\"function\":\"sync.(*Mutex).Lock\",\"file\":\"sync/mutex.go\",\"line\":81},"
      "{\"function\":\"main.reserve\",\"file\":\"main.go\",\"line\":88},"
      "{\"function\":\"main.handle\",\"file\":\"main.go\",\"line\":20}]},"
      /* ... or all of them when there is no other */
      "{\"type\":\"goroutine_sample\",\"snapshot_id\":21,\"time_ns\":22,\"state\":\"running\",\"goroutines\":1,"
      "\"stack_id\":24,\"frames\":[{\"function\":\"runtime.gopark\",\"file\":\"proc.go\",\"line\":1}]},"
      "{\"type\":\"observations\",\"snapshots\":4,\"fraction\":0.25},"
      "{\"type\":\"observations\",\"snapshots\":4,\"spans\":2,\"fraction\":0.5,\"note\":\"n\"},"
      "{\"type\":\"reason\",\"text\":\"why \\\"not\\\"\"}]}]}]}";
  assert_string_equal(b.data, want);
  mw__buf_free(&b);
}

/* --- gather, on a real store ---------------------------------------------------------- */

enum { GATHER_SPANS = 450 }; /* three chunks of MW_TRACE_SAMPLES_CHUNK (200) */

typedef struct gather_data {
  mw_span_row rows[GATHER_SPANS];
  mw_resource_ref res;
  mw_scope_ref scope;
  mw_span_batch spans;
  mw_stack_text stacks[2];
  mw_profile_row samples[GATHER_SPANS];
  mw_goroutine_group groups[2 * GATHER_SPANS];
  mw_runtime_batch cpu, gor;
  mw_write_job jobs[3];
} gather_data;

static const uint8_t TRACE[16] = {0x5e, 0x1e, [15] = 0x01};

static void span_id_of(uint8_t out[8], size_t i) {
  memset(out, 0, 8);
  out[0] = 0x51;
  out[6] = (uint8_t)(i >> 8);
  out[7] = (uint8_t)i;
}

/* One trace: a root [0, 10 s) and GATHER_SPANS - 1 children running side by
 * side, child i over [i ms, i ms + 6 s). A CPU profile over [-1 ms, 20 s)
 * labels each span with one sample of 10 ms; a goroutine snapshot at 5 s finds
 * two goroutines of every child, one asleep (the first stored), one running;
 * none of the root. */
static void build_trace(gather_data *d) {
  memset(d, 0, sizeof *d);
  int64_t t0 = 1800000000000000000LL;
  d->res = (mw_resource_ref){.service = "shop", .instance = "i-1", .resource = (const uint8_t *)"r", .resource_len = 1};
  d->scope = (mw_scope_ref){.body = (const uint8_t *)"s", .body_len = 1};
  for (size_t i = 0; i < GATHER_SPANS; i++) {
    mw_span_row *r = &d->rows[i];
    memcpy(r->trace_id, TRACE, 16);
    span_id_of(r->span_id, i);
    if (i) span_id_of(r->parent_id, 0), r->has_parent = 1;
    r->start_ns = i ? t0 + (int64_t)i * MS : t0;
    r->dur_ns = i ? 6000 * MS : 10000 * MS;
    r->name = i ? "step" : "GET /batch";
    r->body = (const uint8_t *)"";
  }
  d->spans = (mw_span_batch){.resources = &d->res,
                             .n_resources = 1,
                             .scopes = &d->scope,
                             .n_scopes = 1,
                             .rows = d->rows,
                             .n_rows = GATHER_SPANS};
  d->stacks[0] = (mw_stack_text){STACK_WORK, strlen(STACK_WORK)};
  d->stacks[1] = (mw_stack_text){STACK_SLEEP, strlen(STACK_SLEEP)};
  for (size_t i = 0; i < GATHER_SPANS; i++) {
    d->samples[i] = (mw_profile_row){.stack = 0, .has_span = 1, .has_trace = 1, .vals_json = "[1,10000000]"};
    span_id_of(d->samples[i].span_id, i);
    memcpy(d->samples[i].trace_id, TRACE, 16);
  }
  for (size_t i = 0; i < 2 * (GATHER_SPANS - 1); i++) {
    d->groups[i] = (mw_goroutine_group){.stack = i % 2 ? 0 : 1,
                                        .state = i % 2 ? MW_G_RUNNING : MW_G_SLEEP,
                                        .count = 1,
                                        .wait_min_ns = -1,
                                        .wait_max_ns = -1,
                                        .has_span = 1,
                                        .has_trace = 1};
    span_id_of(d->groups[i].span_id, i / 2 + 1); /* the children: 1 .. GATHER_SPANS - 1 */
    memcpy(d->groups[i].trace_id, TRACE, 16);
  }
  static const char meta[] =
      "{\"sample_types\":[[\"samples\",\"count\"],[\"cpu\",\"nanoseconds\"]],\"period\":10000000}";
  d->cpu = (mw_runtime_batch){.service = "shop",
                              .instance = "i-1",
                              .kind = "cpu",
                              .format = "pprof",
                              .at_ns = t0 - MS,
                              .duration_ns = 20000 * MS,
                              .total = GATHER_SPANS,
                              .meta_json = meta,
                              .payload = (const uint8_t *)"x",
                              .payload_len = 1,
                              .raw_bytes = 1,
                              .stacks = d->stacks,
                              .n_stacks = 2,
                              .samples = d->samples,
                              .n_samples = GATHER_SPANS};
  d->gor = (mw_runtime_batch){.service = "shop",
                              .instance = "i-1",
                              .kind = "goroutine",
                              .format = "pprof",
                              .at_ns = t0 + 5000 * MS,
                              .total = 2 * (GATHER_SPANS - 1),
                              .meta_json = "{}",
                              .payload = (const uint8_t *)"x",
                              .payload_len = 1,
                              .raw_bytes = 1,
                              .stacks = d->stacks,
                              .n_stacks = 2,
                              .groups = d->groups,
                              .n_groups = 2 * (GATHER_SPANS - 1)};
  d->jobs[0] = (mw_write_job){.kind = MW_JOB_SPANS, .payload = &d->spans, .cost_spans = GATHER_SPANS};
  d->jobs[1] = (mw_write_job){.kind = MW_JOB_RUNTIME, .payload = &d->cpu};
  d->jobs[2] = (mw_write_job){.kind = MW_JOB_RUNTIME, .payload = &d->gor};
}

/* Statements run on the read connection that read labelled rows. */
static int sample_reads;
static int count_reads(unsigned type, void *ctx, void *p, void *x) {
  (void)ctx, (void)x;
  const char *sql = type == SQLITE_TRACE_STMT ? sqlite3_sql(p) : NULL;
  if (sql && (strstr(sql, "profile_samples") || strstr(sql, "goroutine_groups"))) sample_reads++;
  return 0;
}

static void test_gather_batches(void **state) {
  fx *f = *state;
  sfx s;
  assert_int_equal(sfx_open(&s), 0);
  gather_data *d = malloc(sizeof *d);
  build_trace(d);
  assert_int_equal(sfx_write(&s, d->jobs, 3), 0);
  mw_read *r;
  assert_int_equal(mw__read_begin(s.s, &r), MW_OK);
  sqlite3_trace_v2(r->db, SQLITE_TRACE_STMT, count_reads, NULL);

  mw_explain_input in;
  sample_reads = 0;
  assert_int_equal(mw__explain_gather(r, f->a, TRACE, &f->o, &in), MW_OK);
  /* CPU samples and goroutines: one read per 200 spans each (3 + 3); the root,
   * the one span with self time and no goroutines of its own, reads its
   * operation's: one more. One read per span would be 900. */
  assert_int_equal(sample_reads, 7);
  assert_int_equal(in.n_spans, GATHER_SPANS);
  assert_int_equal(in.n_ops, 1);
  assert_int_equal(in.spans[0].op, 0);
  for (size_t i = 0; i < GATHER_SPANS; i++) {
    const mw_ex_span *sp = &in.spans[i];
    uint8_t id[8];
    span_id_of(id, i);
    assert_memory_equal(sp->span->span_id, id, 8);
    assert_int_equal(sp->n_cpu, 1);
    assert_int_equal(sp->cpu[0].cpu_ns, 10 * MS); /* the nanoseconds value */
    assert_int_equal(sp->cpu[0].samples, 1);
    assert_int_equal(sp->n_gor, i ? 2 : 0);
    if (i) assert_string_equal(sp->gor[0].state, "sleep"), assert_string_equal(sp->gor[1].state, "running");
    assert_int_equal(sp->parent, i ? 0 : -1);
  }
  assert_int_equal(in.sources[0].n_cpu, 1);
  assert_int_equal(in.sources[0].cpu[0].dur_ns, 20000 * MS);

  /* per-span limits hold across a batch: at most 1 row of each span */
  mw_span_sample *rows;
  size_t n;
  mw_stored_span *spans = calloc(GATHER_SPANS, sizeof *spans);
  for (size_t i = 0; i < GATHER_SPANS; i++) spans[i] = *in.spans[GATHER_SPANS - 1 - i].span; /* reversed */
  assert_int_equal(mw__store_trace_samples(r, f->a, TRACE, spans, GATHER_SPANS, "goroutine", 1, &rows, &n), MW_OK);
  assert_int_equal(n, GATHER_SPANS - 1);
  for (size_t i = 0; i < n; i++) { /* in the order of spans given; each span's first row */
    assert_int_equal(rows[i].ref, i);
    assert_string_equal(rows[i].state, "sleep");
  }
  /* another trace's spans with the same ids find nothing */
  uint8_t other[16] = {0x07};
  assert_int_equal(mw__store_trace_samples(r, f->a, other, spans, GATHER_SPANS, "cpu", 10, &rows, &n), MW_OK);
  assert_int_equal(n, 0);
  free(spans);

  /* a failed read fails the explanation (in a read transaction begun after
   * the table went: the one open still sees it) */
  assert_int_equal(sfx_exec(&s, "DROP TABLE goroutine_groups"), 0);
  mw_trace_explain out;
  assert_int_equal(mw__explain_trace(r, f->a, TRACE, &f->o, &out), MW_OK);
  mw__read_end(r);
  assert_int_equal(mw__read_begin(s.s, &r), MW_OK);
  assert_int_equal(mw__explain_trace(r, f->a, TRACE, &f->o, &out), MW_EIO);
  mw__read_end(r);
  free(d);
  sfx_close(&s);
}

/* A goroutine keeps its span's labels after the span ended (one it started
 * and left behind): what a snapshot found after the span is not the span's,
 * nor are samples of a CPU profile that began after it. Here every child has
 * ended (by 6.9 s) when the goroutine snapshot (8 s) and the CPU profile
 * ([7 s, 8 s)) are taken; the root still runs. */
static void test_gather_only_while_running(void **state) {
  fx *f = *state;
  sfx s;
  assert_int_equal(sfx_open(&s), 0);
  gather_data *d = malloc(sizeof *d);
  build_trace(d);
  int64_t t0 = d->rows[0].start_ns;
  d->gor.at_ns = t0 + 8000 * MS;
  d->cpu.at_ns = t0 + 7000 * MS;
  d->cpu.duration_ns = 1000 * MS;
  assert_int_equal(sfx_write(&s, d->jobs, 3), 0);
  mw_read *r;
  assert_int_equal(mw__read_begin(s.s, &r), MW_OK);
  mw_explain_input in;
  assert_int_equal(mw__explain_gather(r, f->a, TRACE, &f->o, &in), MW_OK);
  assert_int_equal(in.n_spans, GATHER_SPANS);
  assert_int_equal(in.spans[0].n_cpu, 1); /* the root ran through the profile */
  for (size_t i = 1; i < GATHER_SPANS; i++) {
    assert_int_equal(in.spans[i].n_gor, 0);
    assert_int_equal(in.spans[i].n_cpu, 0);
  }
  mw__read_end(r);
  free(d);
  sfx_close(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_link, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_link_cycle, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_timing, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_stw, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_cpu_samples, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_cpu_capped_at_free_time, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_exact_window, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_trace_states_to_kinds, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_trace_partial_coverage, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_trace_multiple_goroutines, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_trace_chain_text, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_cpu_coverage, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_running_split_by_coverage, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_states_span_scope, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_states_operation_scope, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_unknown_reasons, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_split_cause, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_interrupted_assist, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_causes_merge, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_causes_ties, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_causes_one_percent, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_summary_follows_slowest_child, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_summary_operation_scope_and_root, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_summary_root_when_child_outlives, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_render_every_evidence_type, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_gather_batches, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_gather_only_while_running, fx_setup, fx_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

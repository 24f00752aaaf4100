/* Compare (see compare.h). Each span of a group is explained like in
 * /explain (so that where an execution trace covers it, its breakdown is the
 * trace's exact one); the group's breakdown is the mean of its spans' shares.
 * The differential flame graph weights each stack by the share of a span's
 * time it accounts for, one of two ways. From samples: CPU stacks by their
 * sampled ns out of the span's CPU time, goroutine stacks by how often
 * snapshots found the span there out of its explained off-CPU time. From
 * execution traces, when both groups have spans that one covers: the
 * intervals of the goroutines that ran the span, each stack weighted by its
 * intervals' ns in the span's self time (outside its children) out of the
 * span's time; only the covered spans count then. A node's value is the mean over
 * the group's spans counted, and delta = slow - fast. */
#include "query/compare.h"
#include "core/error.h"
#include "query/explain.h"
#include "model/exectrace.h"
#include "query/explain_steps.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_CHILDREN = 64, MAX_DEPTH = 48 };

typedef mw_cmp_node node;

mw_cmp_node *mw__cmp_child(mw_arena *a, mw_cmp_node *n, const char *name, size_t len) {
  size_t count = 0;
  for (node *k = n->kids; k; k = k->next, count++)
    if (strlen(k->name) == len && strncmp(k->name, name, len) == 0) return k;
  if (count >= MAX_CHILDREN) return NULL;
  node *k = mw__arena_calloc(a, 1, sizeof *k);
  if (!k || !(k->name = mw__arena_strndup(a, name, len))) return NULL;
  k->next = n->kids;
  n->kids = k;
  return k;
}

/* Adds weight to every node on a stack's path, root first. */
static void add_stack(mw_arena *a, node *root, const char *frames, int group, double weight) {
  const char *lines[MAX_DEPTH * 4];
  size_t lens[MAX_DEPTH * 4], n = 0;
  for (const char *p = frames; p && *p && n < sizeof lines / sizeof lines[0];) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    lines[n] = p;
    lens[n++] = len;
    p += len + (nl ? 1 : 0);
  }
  root->w[group] += weight;
  node *at = root;
  size_t depth = 0;
  for (size_t i = n; i-- > 0 && at && depth < MAX_DEPTH; depth++) {
    char buf[600];
    const char *tab = memchr(lines[i], '\t', lens[i]);
    int m = tab ? snprintf(buf, sizeof buf, "%.*s (%.*s)", (int)(tab - lines[i]), lines[i],
                           (int)(lens[i] - (size_t)(tab - lines[i]) - 1), tab + 1)
                : snprintf(buf, sizeof buf, "%.*s", (int)lens[i], lines[i]);
    at = mw__cmp_child(a, at, buf, (size_t)m < sizeof buf ? (size_t)m : sizeof buf - 1);
    if (at) at->w[group] += weight;
  }
}

static void write_node(mw_jsonw *w, const node *n, double n_slow, double n_fast, int depth) {
  double s = n_slow ? n->w[0] / n_slow : 0, f = n_fast ? n->w[1] / n_fast : 0;
  mw__jw_obj(w);
  mw__jw_kstr(w, "name", n->name);
  mw__jw_kdouble(w, "slow", round(s * 10000) / 10000);
  mw__jw_kdouble(w, "fast", round(f * 10000) / 10000);
  mw__jw_kdouble(w, "delta", round((s - f) * 10000) / 10000);
  mw__jw_key(w, "children");
  mw__jw_arr(w);
  for (const node *k = n->kids; k && depth < MAX_DEPTH; k = k->next) {
    double ks = n_slow ? k->w[0] / n_slow : 0, kf = n_fast ? k->w[1] / n_fast : 0;
    if (ks < 0.005 && kf < 0.005) continue; /* below half a percent: noise */
    write_node(w, k, n_slow, n_fast, depth + 1);
  }
  mw__jw_arr_end(w);
  mw__jw_obj_end(w);
}

/* The node whose share grows most from fast to slow, among the deepest ones
 * that still carry most of their parent's growth. */
static const node *most_growing(const node *n, double n_slow, double n_fast) {
  const node *best = NULL;
  double best_d = 0;
  for (const node *k = n->kids; k; k = k->next) {
    /* the runtime's parking frames under a program frame say less than it does */
    if (n->name && strncmp(k->name, "runtime.", 8) == 0 && strncmp(n->name, "runtime.", 8) != 0) continue;
    double d = (n_slow ? k->w[0] / n_slow : 0) - (n_fast ? k->w[1] / n_fast : 0);
    if (d > best_d) best_d = d, best = k;
  }
  if (!best) return n;
  double parent_d = (n_slow ? n->w[0] / n_slow : 0) - (n_fast ? n->w[1] / n_fast : 0);
  if (n->name && best_d < 0.5 * parent_d) return n;
  return most_growing(best, n_slow, n_fast);
}

typedef mw_cmp_group group; /* after add_stack, whose parameter "group" is the slow/fast index */

/* The two flame graphs: from samples, and from execution traces. */
typedef struct flames {
  node samples, trace;
} flames;

static int64_t overlap(int64_t a0, int64_t a1, int64_t b0, int64_t b1) {
  int64_t lo = a0 > b0 ? a0 : b0, hi = a1 < b1 ? a1 : b1;
  return hi > lo ? hi - lo : 0;
}

/* The part of [a0, a1) outside the span's children (their time is theirs:
 * the explanation counts the span's self time). Children come by start
 * (the input's order); overlapping ones are taken out once. */
static int64_t self_part(const mw_explain_input *in, const mw_ex_span *xs, int64_t a0, int64_t a1) {
  int64_t ns = a1 - a0, done = INT64_MIN;
  for (size_t k = 0; k < xs->n_kids && ns > 0; k++) {
    const mw_stored_span *c = in->spans[xs->kids[k]].span;
    int64_t c0 = c->start_ns > done ? c->start_ns : done, c1 = c->start_ns + c->dur_ns;
    ns -= overlap(c0, c1, a0, a1);
    if (c1 > done) done = c1;
  }
  return ns > 0 ? ns : 0;
}

/* Adds the span's interval stacks to the trace flame graph: each interval
 * of the goroutines a trace shows running it, weighted by its ns in the
 * span's self time over the span's duration d (assists are left out: they
 * overlap the running interval that carries the stack). Returns 1 when the
 * trace covered any of the span's self time. */
static int add_trace_stacks(mw_arena *a, const mw_explain_input *in, const mw_ex_span *xs, node *root, int which,
                            double d) {
  int traced = 0;
  for (size_t gi = 0; gi < xs->n_xg; gi++) {
    const mw_ex_xgor *g = &xs->xg[gi];
    for (size_t i = 0; i < g->n_iv; i++) {
      const mw_ex_state *st = &g->iv[i].s;
      if (st->state == MW_XT_GC_ASSIST) continue;
      int64_t a0 = st->start_ns > g->from_ns ? st->start_ns : g->from_ns;
      int64_t a1 = st->end_ns < g->to_ns ? st->end_ns : g->to_ns;
      int64_t ns = a1 > a0 ? self_part(in, xs, a0, a1) : 0;
      if (ns <= 0) continue;
      traced = 1;
      add_stack(a, root, st->frames ? st->frames : "(no stack in the trace)", which, (double)ns / d);
    }
  }
  return traced;
}

static const char *const share_names[] = {"cpu", "gc_stw", "gc_assist", "runnable", "mutex", "chan",     "select",
                                          "io",  "sleep",  "syscall",   "cond",     "other", "children", "unknown"};
enum { N_SHARES = MW_CMP_SHARES };

static int add_span(mw_read *rd, mw_arena *a, const mw_span_ref *ref, group *g, flames *fl, int which) {
  mw_explain_opts o = MW_EXPLAIN_OPTS_DEFAULT;
  mw_explain_input in;
  mw_trace_explain t;
  int rc = mw__explain_gather(rd, a, ref->trace_id, &o, &in);
  if (!rc) rc = mw__explain_run(a, &in, &o, &t);
  if (rc == MW_ENOTFOUND) return MW_OK;
  if (rc) return rc;
  const mw_span_explain *e = NULL;
  const mw_ex_span *xs = NULL;
  for (size_t i = 0; i < t.n_spans; i++) /* the explanation's spans are the input's, in its order */
    if (memcmp(t.spans[i].span->span_id, ref->span_id, 8) == 0) e = &t.spans[i], xs = &in.spans[i];
  if (!e || e->span->dur_ns <= 0) return MW_OK;
  node *root = &fl->samples;
  double d = (double)e->span->dur_ns;
  int64_t v[N_SHARES] = {e->b.cpu_ns, e->b.gc_stw_ns, e->b.gc_assist_ns, e->b.runnable_ns};
  for (int k = 0; k < MW_B_N; k++) v[4 + k] = e->b.blocked_ns[k];
  v[12] = e->children_ns;
  v[13] = e->b.unknown_ns;
  for (int k = 0; k < N_SHARES; k++) g->share[k] += (double)v[k] / d;
  g->spans++;
  if (e->b.gc_stw_ns > 0) g->gc_hit++;
  if (add_trace_stacks(a, &in, xs, &fl->trace, which, d)) g->traced++;

  /* stacks of this span */
  mw_span_sample *rows;
  size_t n;
  if ((rc = mw__store_span_samples(rd, a, ref->span_id, ref->trace_id, NULL, 4096, &rows, &n))) return rc;
  double cpu_total = 0;
  for (size_t i = 0; i < n; i++)
    if (rows[i].vals_json) {
      const char *c = strrchr(rows[i].vals_json, ',');
      cpu_total += c ? strtod(c + 1, NULL) : strtod(rows[i].vals_json + 1, NULL);
    }
  size_t snaps = 0;
  for (size_t i = 0; i < n; i++)
    if (!rows[i].vals_json && (i == 0 || rows[i].snapshot_id != rows[i - 1].snapshot_id)) snaps++;
  double off_cpu = (double)(e->self_ns - e->b.cpu_ns - e->b.gc_stw_ns - e->b.unknown_ns);
  if (off_cpu < 0) off_cpu = 0;
  for (size_t i = 0; i < n;) {
    if (rows[i].vals_json) {
      const char *c = strrchr(rows[i].vals_json, ',');
      double ns = c ? strtod(c + 1, NULL) : strtod(rows[i].vals_json + 1, NULL);
      if (cpu_total > 0) add_stack(a, root, rows[i].frames, which, ns / cpu_total * (double)e->b.cpu_ns / d);
      i++;
      continue;
    }
    size_t j = i;
    int64_t total = 0;
    while (j < n && !rows[j].vals_json && rows[j].snapshot_id == rows[i].snapshot_id) total += rows[j++].count;
    for (size_t k = i; k < j && total; k++)
      add_stack(a, root, rows[k].frames, which, (double)rows[k].count / (double)total / (double)snaps * off_cpu / d);
    i = j;
  }
  return MW_OK;
}

static void write_group(mw_jsonw *w, const group *g, int by_trace) {
  mw__jw_obj(w);
  mw__jw_kint(w, "threshold_ns", g->threshold);
  mw__jw_kint(w, "spans", (int64_t)g->spans);
  mw__jw_kint(w, "traced_spans", (int64_t)g->traced);
  mw__jw_kstr(w, "flame_method", by_trace ? "execution_trace" : "samples");
  mw__jw_kint(w, "flame_spans", (int64_t)(by_trace ? g->traced : g->spans));
  mw__jw_key(w, "breakdown_share");
  mw__jw_obj(w);
  for (int k = 0; k < N_SHARES; k++)
    mw__jw_kdouble(w, share_names[k], g->spans ? round(g->share[k] / (double)g->spans * 10000) / 10000 : 0);
  mw__jw_obj_end(w);
  mw__jw_kdouble(w, "gc_overlap_rate", g->spans ? round((double)g->gc_hit / (double)g->spans * 1000) / 1000 : 0);
  mw__jw_obj_end(w);
}

void mw__cmp_render(mw_jsonw *w, const char *service, const char *name, int64_t count, int64_t p50, int64_t p90,
                    const mw_cmp_group g[2], const mw_cmp_node *samples, const mw_cmp_node *trace) {
  /* exact stacks only when both groups have them: a graph of traced slow
   * spans against sampled fast ones would compare two methods */
  int by_trace = g[0].traced && g[1].traced;
  const node *root = by_trace ? trace : samples;
  double n_s = (double)(by_trace ? g[0].traced : g[0].spans), n_f = (double)(by_trace ? g[1].traced : g[1].spans);

  /* the paragraph: the component that grows most, the stack that grows most, GC */
  int grow_k = 0;
  double grow_d = -1;
  for (int k = 0; k < N_SHARES; k++) {
    double d =
        (g[0].spans ? g[0].share[k] / (double)g[0].spans : 0) - (g[1].spans ? g[1].share[k] / (double)g[1].spans : 0);
    if (d > grow_d) grow_d = d, grow_k = k;
  }
  const node *hot = most_growing(root, n_s, n_f);
  char summary[1400];
  int m = snprintf(summary, sizeof summary,
                   "Slow %s spans of %s (at or above p90 = %.1f ms, %zu compared) spent %.0f%% of their time in %s, "
                   "against %.0f%% for fast ones (at or below p50 = %.1f ms, %zu compared).",
                   name, service, (double)p90 / 1e6, g[0].spans,
                   g[0].spans ? 100 * g[0].share[grow_k] / (double)g[0].spans : 0, share_names[grow_k],
                   g[1].spans ? 100 * g[1].share[grow_k] / (double)g[1].spans : 0, (double)p50 / 1e6, g[1].spans);
  if (hot && hot != root && m > 0 && (size_t)m < sizeof summary)
    m += snprintf(summary + m, sizeof summary - (size_t)m,
                  " The stack that grows most ends in %s (+%.0f%% of span time%s).", hot->name,
                  100 * ((n_s ? hot->w[0] / n_s : 0) - (n_f ? hot->w[1] / n_f : 0)),
                  by_trace ? ", from execution traces" : "");
  if (m > 0 && (size_t)m < sizeof summary)
    snprintf(summary + m, sizeof summary - (size_t)m,
             " GC stopped the world during %.0f%% of slow spans and %.0f%% of fast ones.",
             g[0].spans ? 100.0 * (double)g[0].gc_hit / (double)g[0].spans : 0,
             g[1].spans ? 100.0 * (double)g[1].gc_hit / (double)g[1].spans : 0);

  mw__jw_kstr(w, "service", service);
  mw__jw_kstr(w, "name", name);
  mw__jw_kint(w, "count", count);
  mw__jw_kint(w, "p50_ns", p50);
  mw__jw_kint(w, "p90_ns", p90);
  mw__jw_key(w, "slow");
  write_group(w, &g[0], by_trace);
  mw__jw_key(w, "fast");
  write_group(w, &g[1], by_trace);
  mw__jw_key(w, "flame");
  write_node(w, root, n_s, n_f, 0);
  mw__jw_kstr(w, "summary", summary);
}

/* The raw form a federated front merges: sums, both graphs unpruned. */
static void raw_node(mw_jsonw *w, const node *n, int depth) {
  mw__jw_obj(w);
  mw__jw_kstr(w, "name", n->name);
  mw__jw_key(w, "w");
  mw__jw_arr(w);
  mw__jw_double(w, n->w[0]);
  mw__jw_double(w, n->w[1]);
  mw__jw_arr_end(w);
  mw__jw_key(w, "children");
  mw__jw_arr(w);
  for (const node *k = n->kids; k && depth < MAX_DEPTH; k = k->next) raw_node(w, k, depth + 1);
  mw__jw_arr_end(w);
  mw__jw_obj_end(w);
}

static void render_raw(mw_jsonw *w, const char *service, const char *name, int64_t count, int64_t p50, int64_t p90,
                       const group g[2], const flames *fl) {
  mw__jw_obj(w);
  mw__jw_kstr(w, "service", service);
  mw__jw_kstr(w, "name", name);
  mw__jw_kint(w, "count", count);
  mw__jw_kint(w, "p50_ns", p50);
  mw__jw_kint(w, "p90_ns", p90);
  mw__jw_key(w, "groups");
  mw__jw_arr(w);
  for (int k = 0; k < 2; k++) {
    mw__jw_obj(w);
    mw__jw_kint(w, "threshold_ns", g[k].threshold);
    mw__jw_kint(w, "spans", (int64_t)g[k].spans);
    mw__jw_kint(w, "traced", (int64_t)g[k].traced);
    mw__jw_kint(w, "gc_hit", (int64_t)g[k].gc_hit);
    mw__jw_key(w, "share");
    mw__jw_arr(w);
    for (int i = 0; i < N_SHARES; i++) mw__jw_double(w, g[k].share[i]);
    mw__jw_arr_end(w);
    mw__jw_obj_end(w);
  }
  mw__jw_arr_end(w);
  mw__jw_key(w, "flame_samples");
  raw_node(w, &fl->samples, 0);
  mw__jw_key(w, "flame_trace");
  raw_node(w, &fl->trace, 0);
  mw__jw_obj_end(w);
}

static int compare(mw_read *rd, mw_arena *a, const mw_compare_query *p, mw_jsonw *w) {
  const char *service = p->service, *name = p->name;
  int64_t start_ns = p->start_ns, end_ns = p->end_ns, op, p50, p90, count;
  size_t per_group = p->per_group;
  int rc = mw__store_op_id(rd, service, name, &op);
  if (!rc) rc = mw__store_op_quantile(rd, op, start_ns, end_ns, 0.5, &p50, &count);
  if (!rc) rc = mw__store_op_quantile(rd, op, start_ns, end_ns, 0.9, &p90, &count);
  if (rc) return rc;
  if (!count) return MW_ENOTFOUND;
  if (p->slow_ns > 0) p90 = p->slow_ns; /* a federated front's, over every shard */
  if (p->fast_ns > 0) p50 = p->fast_ns;
  mw_span_ref *slow, *fast;
  size_t n_slow, n_fast;
  if ((rc = mw__store_op_spans(rd, a, op, start_ns, end_ns, p90, INT64_MAX, per_group, &slow, &n_slow)) ||
      (rc = mw__store_op_spans(rd, a, op, start_ns, end_ns, 0, p50, per_group, &fast, &n_fast)))
    return rc;
  group g[2] = {{.threshold = p90}, {.threshold = p50}};
  flames fl = {.samples = {.name = "all"}, .trace = {.name = "all"}};
  /* each span is explained on its own: between two, the writer may empty
   * the WAL (a span gone by then is passed over) */
  for (size_t i = 0; i < n_slow + n_fast; i++) {
    int slow_one = i < n_slow;
    if ((rc = mw__read_yield(rd)) ||
        (rc = add_span(rd, a, slow_one ? &slow[i] : &fast[i - n_slow], &g[slow_one ? 0 : 1], &fl, slow_one ? 0 : 1)))
      return rc;
  }
  if (p->raw) {
    render_raw(w, service, name, count, p50, p90, g, &fl);
    return MW_OK;
  }
  mw__jw_obj(w);
  mw__cmp_render(w, service, name, count, p50, p90, g, &fl.samples, &fl.trace);
  mw__jw_obj_end(w);
  return MW_OK;
}

int mw__q_compare(mw_query *q, const mw_compare_query *p, mw_answer *out) {
  if (mw__query_open(q, out)) return out->rc;
  mw_jsonw w;
  mw__answer_json(out, 64u << 20, &w);
  int rc = compare(q->rd, q->arena, p, &w);
  if (rc == MW_ENOTFOUND)
    return mw__answer_fail(out, rc, "no spans of %.100s %.100s in that range", p->service, p->name);
  if (rc) return mw__answer_fail(out, rc, "comparing failed: %s", mw__strerror(rc));
  return mw__answer_end(out, &w);
}

/* Causes (see explain_steps.h): the accountants' claims become the span's
 * causes. A kind claimed twice (GC assist seen in CPU samples and as a GC
 * wait, CPU counted by samples and inferred from snapshots) is one cause:
 * ranked apart, half of it could lose to a smaller cause. */
#include "query/explain_steps.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

static const char *const kind_names[MW_K_N] = {[MW_K_CPU] = "cpu",
                                               [MW_K_GC_STW] = "gc_stw",
                                               [MW_K_GC_ASSIST] = "gc_assist",
                                               [MW_K_MUTEX] = "mutex",
                                               [MW_K_MUTEX + MW_B_CHAN] = "chan",
                                               [MW_K_MUTEX + MW_B_SELECT] = "select",
                                               [MW_K_MUTEX + MW_B_IO] = "io",
                                               [MW_K_MUTEX + MW_B_SLEEP] = "sleep",
                                               [MW_K_MUTEX + MW_B_SYSCALL] = "syscall",
                                               [MW_K_MUTEX + MW_B_COND] = "cond",
                                               [MW_K_OTHER] = "other",
                                               [MW_K_RUNNABLE] = "runnable",
                                               [MW_K_CHILDREN] = "children",
                                               [MW_K_UNKNOWN] = "unknown"};

const char *mw__cause_kind_name(enum mw_cause_kind k) { return k < MW_K_N ? kind_names[k] : "?"; }

int mw__ex_children_claim(mw_arena *a, const mw_ex_timing *t, const mw_span_explain *slowest, mw_cause *out) {
  if (t->children_ns <= 0 || !slowest) return 0;
  mw_evidence *e = mw__arena_calloc(a, 1, sizeof *e);
  if (!e) return MW_ENOMEM;
  e->type = MW_EV_SPAN;
  e->u.span.span_id = slowest->span->span_id;
  e->u.span.name = slowest->span->name;
  e->u.span.service = slowest->service;
  e->u.span.dur_ns = slowest->span->dur_ns;
  e->u.span.top_cause = slowest->n_causes ? (int)slowest->causes[0].kind : -1;
  /* its own reason, unless that is its children again (the summary follows those) */
  const char *why = slowest->n_causes && slowest->causes[0].kind != MW_K_CHILDREN ? slowest->causes[0].summary : NULL;
  *out = (mw_cause){.kind = MW_K_CHILDREN,
                    .ns = t->children_ns,
                    .confidence = 1.0,
                    .scope = MW_SCOPE_SPAN,
                    .evidence = e,
                    .n_evidence = 1,
                    .summary = mw__ex_fmt(a, "%.1f ms in child spans; the slowest is %s (%s, %.1f ms)%s%s",
                                          mw__ex_ms(t->children_ns), slowest->span->name, slowest->service,
                                          mw__ex_ms(slowest->span->dur_ns), why ? ": " : "", why ? why : "")};
  return out->summary ? 1 : MW_ENOMEM;
}

static int cmp_rank(const void *x, const void *y) {
  const mw_cause *p = x, *q = y;
  if (p->share != q->share) return (p->share < q->share) - (p->share > q->share);
  return strcmp(mw__cause_kind_name(p->kind), mw__cause_kind_name(q->kind)); /* a stable order for equal shares */
}

static int merge(mw_arena *a, mw_cause *c, const mw_cause *add) {
  /* an exact record and samples: the scope of the larger part (the trace's
   * when equal); samples of both kinds: the span's own evidence is part of it */
  if (c->scope == MW_SCOPE_TRACE || add->scope == MW_SCOPE_TRACE) {
    if (c->scope != add->scope) {
      int64_t traced = c->scope == MW_SCOPE_TRACE ? c->ns : add->ns, other = c->ns + add->ns - traced;
      c->scope = traced >= other ? MW_SCOPE_TRACE : c->scope == MW_SCOPE_TRACE ? add->scope : c->scope;
    }
  } else if (c->scope != add->scope) {
    c->scope = MW_SCOPE_SPAN;
  }
  c->confidence = (c->confidence * (double)c->ns + add->confidence * (double)add->ns) / (double)(c->ns + add->ns);
  c->ns += add->ns;
  c->summary = mw__ex_fmt(a, "%s; %s", c->summary, add->summary);
  mw_evidence *ev = mw__arena_calloc(a, c->n_evidence + add->n_evidence + 1, sizeof *ev);
  if (!ev || !c->summary) return MW_ENOMEM;
  if (c->n_evidence) memcpy(ev, c->evidence, c->n_evidence * sizeof *ev);
  if (add->n_evidence) memcpy(ev + c->n_evidence, add->evidence, add->n_evidence * sizeof *ev);
  c->evidence = ev;
  c->n_evidence += add->n_evidence;
  return MW_OK;
}

int mw__ex_causes(mw_arena *a, int64_t dur_ns, const mw_cause *claims, size_t n, mw_cause **out, size_t *n_out) {
  *out = NULL;
  *n_out = 0;
  mw_cause *list = mw__arena_calloc(a, n + 1, sizeof *list);
  if (!list) return MW_ENOMEM;
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (claims[i].ns <= 0) continue;
    size_t k = 0;
    while (k < m && list[k].kind != claims[i].kind) k++;
    if (k < m) {
      int rc = merge(a, &list[k], &claims[i]);
      if (rc) return rc;
    } else {
      list[m++] = claims[i];
    }
  }
  for (size_t i = 0; i < m; i++) list[i].share = dur_ns > 0 ? (double)list[i].ns / (double)dur_ns : 0;
  /* causes under 1% of the span are noise beside the others (the breakdown keeps them) */
  size_t kept = 0;
  for (size_t i = 0; i < m; i++)
    if (list[i].share >= 0.01 || m == 1) list[kept++] = list[i];
  qsort(list, kept, sizeof *list, cmp_rank);
  *out = list;
  *n_out = kept;
  return MW_OK;
}

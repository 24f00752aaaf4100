/* The trace's tree and each span's own time (see explain_steps.h).
 *
 * A span's children may run in parallel, overlap, or outlive it (an async
 * call not awaited): what counts is the union of the children clipped to the
 * span. The rest is the span's self time, a list of intervals that the
 * breakdown shares out. */
#include "query/explain_steps.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

typedef struct id_ix {
  const uint8_t *id;
  size_t i;
} id_ix;

static int cmp_id(const void *x, const void *y) {
  const id_ix *p = x, *q = y;
  int c = memcmp(p->id, q->id, 8);
  return c ? c : (p->i > q->i) - (p->i < q->i);
}

typedef struct depth_ix {
  size_t depth, i;
} depth_ix;

static int cmp_deepest(const void *x, const void *y) {
  const depth_ix *p = x, *q = y;
  if (p->depth != q->depth) return (p->depth < q->depth) - (p->depth > q->depth);
  return (p->i > q->i) - (p->i < q->i);
}

/* Depth of every span: parents walked once each. A span in (or under) a
 * parent cycle, which only bad input makes, gets depth n. */
static int set_depths(mw_arena *a, mw_explain_input *in) {
  size_t n = in->n_spans;
  unsigned char *state = mw__arena_calloc(a, n + 1, 1); /* 0 new, 1 on the path, 2 done */
  size_t *path = mw__arena_calloc(a, n + 1, sizeof *path);
  if (!state || !path) return MW_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    size_t len = 0;
    int j = (int)i;
    while (j >= 0 && state[j] == 0) {
      state[j] = 1;
      path[len++] = (size_t)j;
      j = in->spans[j].parent;
    }
    size_t base = j < 0 ? 0 : state[j] == 2 ? in->spans[j].depth + 1 : n;
    while (len--) {
      in->spans[path[len]].depth = base < n ? base : n;
      state[path[len]] = 2;
      base = base < n ? base + 1 : n;
    }
  }
  return MW_OK;
}

int mw__explain_link(mw_arena *a, mw_explain_input *in) {
  size_t n = in->n_spans;
  id_ix *ids = mw__arena_calloc(a, n + 1, sizeof *ids);
  size_t *n_kids = mw__arena_calloc(a, n + 1, sizeof *n_kids), *kids = mw__arena_calloc(a, n + 1, sizeof *kids);
  depth_ix *by_depth = mw__arena_calloc(a, n + 1, sizeof *by_depth);
  in->order = mw__arena_calloc(a, n + 1, sizeof *in->order);
  if (!ids || !n_kids || !kids || !by_depth || !in->order) return MW_ENOMEM;
  for (size_t i = 0; i < n; i++) ids[i] = (id_ix){in->spans[i].span->span_id, i};
  qsort(ids, n, sizeof *ids, cmp_id);
  for (size_t i = 0; i < n; i++) {
    mw_ex_span *s = &in->spans[i];
    s->parent = -1;
    if (!s->span->has_parent) continue;
    id_ix key = {s->span->parent_id, 0};
    size_t lo = 0, hi = n; /* the first id >= parent_id */
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (memcmp(ids[mid].id, key.id, 8) < 0) lo = mid + 1;
      else hi = mid;
    }
    for (; lo < n && memcmp(ids[lo].id, key.id, 8) == 0; lo++)
      if (ids[lo].i != i) s->parent = (int)ids[lo].i; /* a span is not its own parent */
    if (s->parent >= 0) n_kids[s->parent]++;
  }
  /* kids in index (start time) order, each span's a slice of one array */
  size_t at = 0;
  for (size_t i = 0; i < n; i++) {
    in->spans[i].kids = kids + at;
    at += n_kids[i];
    n_kids[i] = 0;
  }
  for (size_t i = 0; i < n; i++) {
    int p = in->spans[i].parent;
    if (p >= 0) kids[in->spans[p].kids - kids + n_kids[p]++] = i;
  }
  for (size_t i = 0; i < n; i++) in->spans[i].n_kids = n_kids[i];
  int rc = set_depths(a, in);
  if (rc) return rc;
  for (size_t i = 0; i < n; i++) by_depth[i] = (depth_ix){in->spans[i].depth, i};
  qsort(by_depth, n, sizeof *by_depth, cmp_deepest);
  for (size_t i = 0; i < n; i++) in->order[i] = by_depth[i].i;
  return MW_OK;
}

static int cmp_ival(const void *x, const void *y) {
  const mw_ex_ival *p = x, *q = y;
  return (p->a > q->a) - (p->a < q->a);
}

int mw__ex_timing(mw_arena *a, const mw_explain_input *in, size_t span, mw_ex_timing *t) {
  const mw_ex_span *s = &in->spans[span];
  int64_t start = s->span->start_ns, end = s->span->start_ns + s->span->dur_ns;
  mw_ex_ival *kids = mw__arena_calloc(a, s->n_kids + 1, sizeof *kids);
  mw_ex_ival *self = mw__arena_calloc(a, s->n_kids + 2, sizeof *self);
  if (!kids || !self) return MW_ENOMEM;
  size_t nk = 0, ns = 0;
  t->slowest = -1;
  for (size_t k = 0; k < s->n_kids; k++) {
    const mw_stored_span *c = in->spans[s->kids[k]].span;
    int64_t c0 = c->start_ns < start ? start : c->start_ns,
            c1 = c->start_ns + c->dur_ns > end ? end : c->start_ns + c->dur_ns;
    if (c1 > c0) kids[nk++] = (mw_ex_ival){c0, c1};
    if (t->slowest < 0 || c->dur_ns > in->spans[t->slowest].span->dur_ns) t->slowest = (int)s->kids[k];
  }
  qsort(kids, nk, sizeof *kids, cmp_ival);
  int64_t cursor = start;
  for (size_t i = 0; i < nk; i++) {
    if (kids[i].a > cursor) self[ns++] = (mw_ex_ival){cursor, kids[i].a};
    if (kids[i].b > cursor) cursor = kids[i].b;
  }
  if (end > cursor) self[ns++] = (mw_ex_ival){cursor, end};
  t->self = self;
  t->n_self = ns;
  t->self_ns = 0;
  for (size_t i = 0; i < ns; i++) t->self_ns += self[i].b - self[i].a;
  t->children_ns = s->span->dur_ns - t->self_ns;
  return MW_OK;
}

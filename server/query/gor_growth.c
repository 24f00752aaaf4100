/* Goroutine growth (see gor_growth.h): reads a source's goroutine snapshots
 * and leak profiles of the window, counts each stack key in each, finds the
 * keys that keep growing, and describes each suspect from the newest snapshot
 * holding it: its frames, state, an example goroutine, and the operations
 * and spans named by its goroutines' labels (a goroutine inherits the labels
 * of the goroutine that started it, so these are the spans that created it). */
#include "query/gor_growth.h"
#include "core/error.h"
#include "query/runtime_json.h"
#include "store/exectrace_read.h"
#include "store/gor_read.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int starts(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

const char *mw__gg_key(mw_arena *a, const char *frames) {
  const char *p = frames ? frames : "";
  while (*p && starts(p, "runtime.")) {
    const char *nl = strchr(p, '\n');
    if (!nl) break;
    p = nl + 1;
  }
  if (!*p || starts(p, "runtime.")) p = frames ? frames : ""; /* runtime frames only (or the last is one) */
  size_t n = strlen(p);
  const char *last = n ? p + n - 1 : p; /* a trailing runtime.goexit line goes */
  if (n && *last == '\n') last--;
  while (last > p && last[-1] != '\n') last--;
  if (last > p && starts(last, "runtime.goexit\t")) n = (size_t)(last - p);
  return mw__arena_strndup(a, p, n);
}

static int cmp_obs(const void *x, const void *y) {
  const mw_gg_obs *a = x, *b = y;
  int c = a->key == b->key ? 0 : strcmp(a->key, b->key); /* a stack's key is one string */
  if (c) return c;
  return a->snap < b->snap ? -1 : a->snap > b->snap;
}

typedef struct ranked {
  double v;
  size_t i;
} ranked;

static int cmp_ranked(const void *x, const void *y) {
  const ranked *a = x, *b = y;
  return a->v < b->v ? -1 : a->v > b->v;
}

/* Average ranks (1-based) of v[0..n), ties sharing the mean of their ranks;
 * tmp holds n. */
static void ranks(const double *v, size_t n, double *r, ranked *tmp) {
  for (size_t i = 0; i < n; i++) tmp[i] = (ranked){v[i], i};
  qsort(tmp, n, sizeof *tmp, cmp_ranked);
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && tmp[j].v == tmp[i].v) j++;
    for (size_t k = i; k < j; k++) r[tmp[k].i] = (double)(i + j + 1) / 2;
    i = j;
  }
}

/* Pearson correlation of x and y (0 when either is constant). */
static double pearson(const double *x, const double *y, size_t n) {
  double mx = 0, my = 0;
  for (size_t i = 0; i < n; i++) mx += x[i], my += y[i];
  mx /= (double)n, my /= (double)n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  return sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : 0;
}

/* Least-squares slope of y over x. */
static double slope(const double *x, const double *y, size_t n) {
  double mx = 0, my = 0;
  for (size_t i = 0; i < n; i++) mx += x[i], my += y[i];
  mx /= (double)n, my /= (double)n;
  double sxy = 0, sxx = 0;
  for (size_t i = 0; i < n; i++) sxy += (x[i] - mx) * (y[i] - my), sxx += (x[i] - mx) * (x[i] - mx);
  return sxx > 0 ? sxy / sxx : 0;
}

static int cmp_suspect(const void *x, const void *y) {
  const mw_gg_suspect *a = x, *b = y;
  if (a->per_hour != b->per_hour) return a->per_hour > b->per_hour ? -1 : 1;
  return strcmp(a->key, b->key);
}

int mw__gg_find(mw_arena *a, const mw_gg_snap *snaps, size_t n_snaps, mw_gg_obs *obs, size_t n_obs, mw_gg_suspect **out,
                size_t *n) {
  *out = NULL;
  *n = 0;
  size_t counted = 0;
  for (size_t i = 0; i < n_snaps; i++) counted += !snaps[i].leak;
  if (counted < MW_GG_MIN_SNAPSHOTS || !n_obs) return MW_OK;
  qsort(obs, n_obs, sizeof *obs, cmp_obs);
  /* the counted snapshots' times, in hours from the first (x of the fit) */
  double *t = mw__arena_alloc(a, counted * sizeof *t), *y = mw__arena_alloc(a, counted * sizeof *y);
  double *rt = mw__arena_alloc(a, counted * sizeof *rt), *ry = mw__arena_alloc(a, counted * sizeof *ry);
  size_t *slot = mw__arena_alloc(a, n_snaps * sizeof *slot);
  ranked *tmp = mw__arena_alloc(a, counted * sizeof *tmp);
  if (!t || !y || !rt || !ry || !slot || !tmp) return MW_ENOMEM;
  int64_t t0 = 0;
  for (size_t i = 0, k = 0; i < n_snaps; i++) {
    if (snaps[i].leak) continue;
    if (!k) t0 = snaps[i].at_ns;
    slot[i] = k;
    t[k++] = (double)(snaps[i].at_ns - t0) / 3.6e12;
  }
  ranks(t, counted, rt, tmp);
  mw_gg_suspect *v = NULL;
  size_t cap = 0;
  for (size_t i = 0; i < n_obs;) {
    size_t j = i;
    while (j < n_obs && (obs[j].key == obs[i].key || strcmp(obs[j].key, obs[i].key) == 0)) j++;
    memset(y, 0, counted * sizeof *y);
    size_t present = 0, first = SIZE_MAX, last = 0;
    int proven = 0;
    for (size_t k = i; k < j; k++) {
      size_t s = obs[k].snap;
      if (snaps[s].leak) {
        proven |= obs[k].count > 0;
        continue;
      }
      if (obs[k].count <= 0) continue;
      if (y[slot[s]] == 0) present++;
      y[slot[s]] += (double)obs[k].count;
      if (first == SIZE_MAX) first = s;
      last = s;
    }
    /* the fit first: it is cheap, and most stacks do not rise */
    double b = present >= MW_GG_MIN_SNAPSHOTS ? slope(t, y, counted) : 0;
    if (b * t[counted - 1] >= MW_GG_MIN_RISE) {
      ranks(y, counted, ry, tmp);
      double rho = pearson(rt, ry, counted);
      if (rho >= MW_GG_MIN_RHO) {
        if (!(v = mw__arena_grow(a, v, *n, &cap, sizeof *v))) return MW_ENOMEM;
        mw_gg_suspect *s = &v[(*n)++];
        s->key = obs[i].key;
        s->per_hour = b;
        s->rho = rho;
        s->first = first;
        s->last = last;
        s->proven = proven;
        if (!(s->counts = mw__arena_calloc(a, n_snaps, sizeof *s->counts))) return MW_ENOMEM;
        for (size_t q = 0; q < n_snaps; q++) s->counts[q] = snaps[q].leak ? 0 : (int64_t)y[slot[q]];
      }
    }
    i = j;
  }
  if (*n) qsort(v, *n, sizeof *v, cmp_suspect);
  *out = v;
  return MW_OK;
}

/* Adds count goroutines to the operation name (copied) in ops. */
static int add_name(mw_arena *a, const char *name, int64_t count, mw_gg_op *ops, size_t *n_ops) {
  size_t k = 0;
  while (k < *n_ops && strcmp(ops[k].name, name) != 0) k++;
  if (k == *n_ops && k < MW_GG_MAX_OPS) {
    const char *copy = mw__arena_strndup(a, name, strlen(name));
    if (!copy) return MW_ENOMEM;
    ops[(*n_ops)++] = (mw_gg_op){copy, 0};
  }
  if (k < *n_ops) ops[k].count += count;
  return MW_OK;
}

int mw__gg_add_op(mw_arena *a, const char *labels_json, int64_t count, mw_gg_op *ops, size_t *n_ops) {
  if (!labels_json) return 0;
  json_t *root = json_loads(labels_json, 0, NULL);
  json_t *name = json_object_get(root, "span_name");
  int rc = json_is_string(name) ? add_name(a, json_string_value(name), count, ops, n_ops) : 0;
  if (!rc && json_is_string(name)) rc = 1;
  json_decref(root);
  return rc;
}

/* --- reading ------------------------------------------------------------------ */

/* Stack id -> key, resolved once per distinct stack. */
typedef struct stack_key {
  int64_t stack_id;
  const char *key;
} stack_key;

static int cmp_stack_key(const void *x, const void *y) {
  const stack_key *a = x, *b = y;
  return a->stack_id < b->stack_id ? -1 : a->stack_id > b->stack_id;
}

/* The snapshots of the window: goroutine dumps and profiles, then leak
 * profiles, merged by time. More goroutine snapshots than the bound:
 * as many spread evenly over the window, the first and the last among them
 * (*spread). *more when leak profiles were more than the bound. */
static int read_snaps(mw_query *q, const mw_gg_query *p, mw_snapshot_info **info, mw_gg_snap **snaps, size_t *n,
                      int *more, int *spread) {
  mw_snapshot_info *g, *l;
  size_t ng, nl;
  int mg, ml;
  int rc = mw__store_snapshots(q->rd, q->arena, p->source_id, "goroutine", p->start_ns, p->end_ns, MW_GG_MAX_SNAPSHOTS,
                               &g, &ng, &mg);
  if (!rc && mg) { /* more than the bound: as many, spread over the whole window */
    rc = mw__store_snapshots_spread(q->rd, q->arena, p->source_id, "goroutine", p->start_ns, p->end_ns,
                                    MW_GG_MAX_SNAPSHOTS, &g, &ng);
    *spread = 1, mg = 0;
  }
  if (!rc)
    rc = mw__store_snapshots(q->rd, q->arena, p->source_id, "goroutineleak", p->start_ns, p->end_ns,
                             MW_GG_MAX_SNAPSHOTS, &l, &nl, &ml);
  if (rc) return rc;
  *more = mg || ml;
  *info = mw__arena_calloc(q->arena, ng + nl + 1, sizeof **info);
  *snaps = mw__arena_calloc(q->arena, ng + nl + 1, sizeof **snaps);
  if (!*info || !*snaps) return MW_ENOMEM;
  size_t i = 0, j = 0;
  for (*n = 0; i < ng || j < nl; (*n)++) {
    int take_g = j == nl || (i < ng && g[i].at_ns <= l[j].at_ns);
    (*info)[*n] = take_g ? g[i++] : l[j++];
    (*snaps)[*n] = (mw_gg_snap){(*info)[*n].id, (*info)[*n].at_ns, !take_g};
  }
  return MW_OK;
}

/* Every (snapshot, key) count of the window. *more when a snapshot had more
 * stacks than the bound. */
static int read_obs(mw_query *q, const mw_gg_snap *snaps, size_t n_snaps, mw_gg_obs **obs, size_t *n_obs, int *more) {
  mw_arena *a = q->arena;
  mw_gg_obs *o = NULL;
  int64_t *ids = NULL;
  size_t n = 0, cap = 0, cap_ids = 0;
  for (size_t s = 0; s < n_snaps; s++) {
    mw_gor_count *c;
    size_t nc;
    int m;
    int rc = mw__store_gor_counts(q->rd, a, snaps[s].id, MW_GG_MAX_STACKS, &c, &nc, &m);
    if (rc) return rc;
    *more |= m;
    for (size_t i = 0; i < nc; i++) {
      if (!(o = mw__arena_grow(a, o, n, &cap, sizeof *o)) || !(ids = mw__arena_grow(a, ids, n, &cap_ids, sizeof *ids)))
        return MW_ENOMEM;
      ids[n] = c[i].stack_id;
      o[n++] = (mw_gg_obs){s, NULL, c[i].count};
    }
  }
  /* keys: one read of each distinct stack */
  stack_key *sk = mw__arena_calloc(a, n + 1, sizeof *sk);
  if (!sk) return MW_ENOMEM;
  for (size_t i = 0; i < n; i++) sk[i] = (stack_key){ids[i], NULL};
  qsort(sk, n, sizeof *sk, cmp_stack_key);
  size_t distinct = 0;
  for (size_t i = 0; i < n; i++) {
    if (distinct && sk[distinct - 1].stack_id == sk[i].stack_id) continue;
    const char *frames;
    int rc = mw__store_stack_frames(q->rd, a, sk[i].stack_id, &frames);
    if (rc == MW_ENOTFOUND) frames = "";
    else if (rc) return rc;
    if (!(sk[distinct].key = mw__gg_key(a, frames))) return MW_ENOMEM;
    sk[distinct++].stack_id = sk[i].stack_id;
  }
  for (size_t i = 0; i < n; i++) {
    stack_key k = {ids[i], NULL}, *hit = bsearch(&k, sk, distinct, sizeof *sk, cmp_stack_key);
    o[i].key = hit ? hit->key : "";
  }
  *obs = o;
  *n_obs = n;
  return MW_OK;
}

/* What the newest snapshots holding a suspect say of it. */
typedef struct detail {
  const char *frames, *state, *wait_reason;
  int64_t snapshot_id;
  int64_t goroutine_id; /* 0: none listed */
  mw_gg_op ops[MW_GG_MAX_OPS];
  size_t n_ops;
  struct {
    uint8_t trace_id[16], span_id[8];
  } spans[MW_GG_MAX_SPANS];
  size_t n_spans;
  int labelled; /* some row carried labels or span ids */
} detail;

/* A snapshot's rows with their keys, read once. */
typedef struct snap_rows {
  int64_t id;
  mw_snapshot_row *rows;
  const char **keys;
  size_t n;
} snap_rows;

static int load_rows(mw_query *q, int64_t id, snap_rows *sr) {
  if (sr->id == id) return MW_OK;
  mw_snapshot_info info;
  int more;
  int rc = mw__store_snapshot(q->rd, q->arena, id, 0, MW_GG_MAX_ROWS, &info, &sr->rows, &sr->n, &more);
  if (rc) return rc;
  if (!(sr->keys = mw__arena_calloc(q->arena, sr->n + 1, sizeof *sr->keys))) return MW_ENOMEM;
  for (size_t i = 0; i < sr->n; i++)
    if (!(sr->keys[i] = mw__gg_key(q->arena, sr->rows[i].frames ? sr->rows[i].frames : ""))) return MW_ENOMEM;
  sr->id = id;
  return MW_OK;
}

static int add_span(detail *d, const mw_snapshot_row *row) {
  if (!row->has_span || !row->has_trace) return 0;
  for (size_t k = 0; k < d->n_spans; k++)
    if (!memcmp(d->spans[k].span_id, row->span_id, 8) && !memcmp(d->spans[k].trace_id, row->trace_id, 16)) return 1;
  if (d->n_spans == MW_GG_MAX_SPANS) return 1;
  memcpy(d->spans[d->n_spans].span_id, row->span_id, 8);
  memcpy(d->spans[d->n_spans++].trace_id, row->trace_id, 16);
  return 1;
}

/* Describes the suspect from snapshot id's rows of its key. */
static int describe(mw_query *q, const char *key, int64_t id, snap_rows *sr, detail *d) {
  int rc = load_rows(q, id, sr);
  if (rc) return rc;
  size_t lookups = 0;
  for (size_t i = 0; i < sr->n; i++) {
    const mw_snapshot_row *row = &sr->rows[i];
    if (strcmp(sr->keys[i], key) != 0) continue;
    if (!d->frames) { /* rows come largest count first */
      d->frames = row->frames;
      d->state = row->state;
      d->wait_reason = row->wait_reason;
      d->snapshot_id = id;
      d->goroutine_id = row->goids ? strtoll(row->goids, NULL, 10) : 0;
    }
    int named = mw__gg_add_op(q->arena, row->labels_json, row->count, d->ops, &d->n_ops);
    if (named < 0) return MW_ENOMEM;
    int has_ids = add_span(d, row);
    d->labelled |= named || has_ids;
    /* no span_name label: the stored span names the operation (a few lookups) */
    if (!named && has_ids && lookups < MW_GG_MAX_SPANS) {
      const char *name, *service;
      lookups++;
      rc = mw__store_span_name(q->rd, q->arena, row->trace_id, row->span_id, &name, &service);
      if (rc == MW_OK && add_name(q->arena, name, row->count, d->ops, &d->n_ops)) return MW_ENOMEM;
      if (rc != MW_OK && rc != MW_ENOTFOUND) return rc;
    }
  }
  return MW_OK;
}

static void write_suspect(mw_jsonw *w, const mw_source_info *src, const mw_gg_suspect *s, const mw_gg_snap *snaps,
                          size_t n_snaps, const detail *d) {
  mw__jw_obj(w);
  mw__jw_key(w, "stack");
  mw__json_frames(w, d->frames ? d->frames : s->key);
  mw__jw_kstr(w, "state", d->state ? d->state : "other");
  if (d->wait_reason) mw__jw_kstr(w, "wait_reason", d->wait_reason);
  mw__jw_key(w, "counts");
  mw__jw_arr(w);
  for (size_t i = s->first; i < n_snaps; i++) {
    if (snaps[i].leak) continue;
    mw__jw_obj(w);
    mw__jw_kint(w, "time_ns", snaps[i].at_ns);
    mw__jw_kint(w, "count", s->counts[i]);
    mw__jw_obj_end(w);
  }
  mw__jw_arr_end(w);
  mw__jw_kdouble(w, "growth_per_hour", s->per_hour);
  mw__jw_kdouble(w, "rank_correlation", s->rho);
  mw__jw_kint(w, "first_seen_ns", snaps[s->first].at_ns);
  mw__jw_key(w, "example");
  mw__jw_obj(w);
  mw__jw_kint(w, "snapshot_id", d->snapshot_id ? d->snapshot_id : snaps[s->last].id);
  if (d->goroutine_id > 0) mw__jw_kint(w, "goroutine_id", d->goroutine_id);
  mw__jw_obj_end(w);
  mw__jw_key(w, "operations");
  mw__jw_arr(w);
  for (size_t k = 0; k < d->n_ops; k++) {
    mw__jw_obj(w);
    mw__jw_kstr(w, "service", src->service);
    mw__jw_kstr(w, "name", d->ops[k].name);
    mw__jw_kint(w, "count", d->ops[k].count);
    mw__jw_obj_end(w);
  }
  mw__jw_arr_end(w);
  mw__jw_key(w, "spans");
  mw__jw_arr(w);
  for (size_t k = 0; k < d->n_spans; k++) {
    mw__jw_obj(w);
    mw__jw_key(w, "trace_id");
    mw__jw_hex(w, d->spans[k].trace_id, 16);
    mw__jw_key(w, "span_id");
    mw__jw_hex(w, d->spans[k].span_id, 8);
    mw__jw_obj_end(w);
  }
  mw__jw_arr_end(w);
  mw__jw_kbool(w, "proven_leaked", s->proven);
  mw__jw_obj_end(w);
}

static int cmp_op(const void *x, const void *y) {
  const mw_gg_op *a = x, *b = y;
  if (a->count != b->count) return a->count > b->count ? -1 : 1;
  return strcmp(a->name, b->name);
}

int mw__q_gor_growth(mw_query *q, const mw_gg_query *p, mw_answer *out) {
  if (mw__query_open(q, out)) return out->rc;
  mw_source_info src;
  int rc = mw__store_source(q->rd, q->arena, p->source_id, &src);
  if (rc == MW_ENOTFOUND) return mw__answer_fail(out, rc, "source %lld not found", (long long)p->source_id);
  if (rc) return mw__answer_fail(out, rc, "reading the source failed: %s", mw__strerror(rc));
  mw_snapshot_info *info = NULL;
  mw_gg_snap *snaps = NULL;
  mw_gg_obs *obs = NULL;
  mw_gg_suspect *sus = NULL;
  size_t n_snaps = 0, n_obs = 0, n_sus = 0;
  int more = 0, spread = 0;
  rc = read_snaps(q, p, &info, &snaps, &n_snaps, &more, &spread);
  if (!rc) rc = read_obs(q, snaps, n_snaps, &obs, &n_obs, &more);
  if (!rc) rc = mw__gg_find(q->arena, snaps, n_snaps, obs, n_obs, &sus, &n_sus);
  if (rc) return mw__answer_fail(out, rc, "query failed: %s", mw__strerror(rc));
  size_t shown = n_sus < p->limit ? n_sus : p->limit;
  detail *d = mw__arena_calloc(q->arena, shown + 1, sizeof *d);
  snap_rows *sr = mw__arena_calloc(q->arena, 1, sizeof *sr);
  if (!d || !sr) return mw__answer_fail(out, MW_ENOMEM, "out of memory");
  for (size_t i = 0; i < shown && !rc; i++) {
    /* the newest snapshot holding it; when that one carries no labels (a
     * debug=2 dump before Go 1.27), also the newest goroutine profile */
    const mw_gg_suspect *s = &sus[i];
    rc = describe(q, s->key, snaps[s->last].id, sr, &d[i]);
    size_t k = s->last;
    while (!d[i].labelled && k-- > s->first)
      if (!snaps[k].leak && s->counts[k] > 0 && strcmp(info[k].format, "pprof") == 0) break;
    if (!rc && !d[i].labelled && k < s->last && k >= s->first) { /* one more snapshot read, at most */
      detail more_d = {0};
      rc = describe(q, s->key, snaps[k].id, sr, &more_d);
      if (!rc && more_d.labelled) {
        memcpy(d[i].ops, more_d.ops, sizeof more_d.ops);
        d[i].n_ops = more_d.n_ops;
        memcpy(d[i].spans, more_d.spans, sizeof more_d.spans);
        d[i].n_spans = more_d.n_spans;
        d[i].labelled = 1;
      }
    }
    qsort(d[i].ops, d[i].n_ops, sizeof *d[i].ops, cmp_op);
  }
  if (rc) return mw__answer_fail(out, rc, "query failed: %s", mw__strerror(rc));
  mw_jsonw w;
  mw__answer_json(out, 32u << 20, &w);
  mw__jw_obj(&w);
  mw__jw_key(&w, "source");
  mw__json_source(&w, &src);
  size_t counted = 0, leak = 0;
  for (size_t i = 0; i < n_snaps; i++) leak += snaps[i].leak, counted += !snaps[i].leak;
  mw__jw_key(&w, "snapshots");
  mw__jw_obj(&w);
  mw__jw_kint(&w, "goroutine", (int64_t)counted);
  mw__jw_kint(&w, "goroutineleak", (int64_t)leak);
  mw__jw_obj_end(&w);
  mw__jw_kbool(&w, "spread", spread);
  mw__jw_key(&w, "suspects");
  mw__jw_arr(&w);
  for (size_t i = 0; i < shown; i++) write_suspect(&w, &src, &sus[i], snaps, n_snaps, &d[i]);
  mw__jw_arr_end(&w);
  mw__jw_kbool(&w, "more", more || n_sus > shown);
  mw__jw_obj_end(&w);
  return mw__answer_end(out, &w);
}

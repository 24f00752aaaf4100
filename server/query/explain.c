/* The explanation's run (see explain.h): after the gather, each span in turn,
 * children before parents so that a parent can name its slowest child's
 * cause, goes through timing -> breakdown -> causes; then the trace's summary. */
#include "query/explain.h"
#include "core/error.h"
#include "core/hex.h"
#include "query/explain_steps.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *mw__ex_fmt(mw_arena *a, const char *f, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, f);
  vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return mw__arena_strndup(a, buf, strlen(buf));
}

static int explain_span(mw_arena *a, const mw_explain_input *in, const mw_explain_opts *o, const mw_ex_obs *op_obs,
                        size_t i, mw_trace_explain *out) {
  const mw_ex_span *sp = &in->spans[i];
  mw_span_explain *e = &out->spans[i];
  mw_ex_timing t;
  int rc = mw__ex_timing(a, in, i, &t);
  if (rc) return rc;
  mw_ex_obs own;
  mw__ex_observe(sp->gor, sp->n_gor, 0, &own);
  mw_ex_view v = {.a = a,
                  .o = o,
                  .span = sp,
                  .source = sp->source >= 0 ? &in->sources[sp->source] : NULL,
                  .op = sp->op >= 0 ? &in->ops[sp->op] : NULL,
                  .own = &own,
                  .op_obs = sp->op >= 0 ? &op_obs[sp->op] : NULL};
  mw_ex_ledger l;
  if ((rc = mw__ex_breakdown(&v, &t, &l, &e->b))) return rc;
  /* the children's claim first: a span's causes read from the outside in */
  mw_cause *claims = mw__arena_calloc(a, l.n_claims + 1, sizeof *claims);
  if (!claims) return MW_ENOMEM;
  size_t n = 0;
  rc = mw__ex_children_claim(a, &t, t.slowest >= 0 ? &out->spans[t.slowest] : NULL, &claims[0]);
  if (rc < 0) return rc;
  n += (size_t)rc;
  if (l.n_claims) memcpy(claims + n, l.claims, l.n_claims * sizeof *claims);
  n += l.n_claims;
  e->self_ns = t.self_ns;
  e->children_ns = t.children_ns;
  return mw__ex_causes(a, sp->span->dur_ns, claims, n, &e->causes, &e->n_causes);
}

int mw__explain_run(mw_arena *a, const mw_explain_input *in, const mw_explain_opts *o, mw_trace_explain *out) {
  memset(out, 0, sizeof *out);
  memcpy(out->trace_id, in->trace_id, 16);
  if (!in->n_spans) return MW_ENOTFOUND;
  out->n_spans = in->n_spans;
  out->spans = mw__arena_calloc(a, in->n_spans, sizeof *out->spans);
  mw_ex_obs *op_obs = mw__arena_calloc(a, in->n_ops + 1, sizeof *op_obs);
  if (!out->spans || !op_obs) return MW_ENOMEM;
  /* an operation's observations serve every span of it */
  for (size_t i = 0; i < in->n_ops; i++) mw__ex_observe(in->ops[i].rows, in->ops[i].n_rows, 1, &op_obs[i]);
  out->start_ns = INT64_MAX;
  out->end_ns = INT64_MIN;
  for (size_t i = 0; i < in->n_spans; i++) {
    const mw_stored_span *sp = in->spans[i].span;
    out->spans[i].span = sp;
    out->spans[i].service = in->spans[i].service;
    out->spans[i].parent = in->spans[i].parent;
    if (sp->start_ns < out->start_ns) out->start_ns = sp->start_ns;
    if (sp->start_ns + sp->dur_ns > out->end_ns) out->end_ns = sp->start_ns + sp->dur_ns;
  }
  for (size_t k = 0; k < in->n_spans; k++) {
    int rc = explain_span(a, in, o, op_obs, in->order[k], out);
    if (rc) return rc;
  }
  out->summary = mw__ex_summary(a, out);
  return out->summary ? MW_OK : MW_ENOMEM;
}

int mw__explain_trace(mw_read *rd, mw_arena *a, const uint8_t trace_id[16], const mw_explain_opts *o,
                      mw_trace_explain *out) {
  mw_explain_input in;
  memset(out, 0, sizeof *out);
  int rc = mw__explain_gather(rd, a, trace_id, o, &in);
  return rc ? rc : mw__explain_run(a, &in, o, out);
}

int mw__q_explain(mw_query *q, const uint8_t trace_id[16], mw_answer *out) {
  if (mw__query_open(q, out)) return out->rc;
  char hex[33];
  mw__hex_encode(hex, trace_id, 16);
  mw_explain_opts o = MW_EXPLAIN_OPTS_DEFAULT;
  mw_trace_explain e;
  int rc = mw__explain_trace(q->rd, q->arena, trace_id, &o, &e);
  if (rc == MW_ENOTFOUND) return mw__answer_fail(out, rc, "trace %s not found", hex);
  if (rc == MW_ETOOBIG) return mw__answer_fail(out, rc, "trace %s has too many spans to explain", hex);
  if (rc) return mw__answer_fail(out, rc, "explaining trace %s failed: %s", hex, mw__strerror(rc));
  mw_jsonw w;
  mw__answer_json(out, 256u << 20, &w);
  mw__explain_json(&w, &e);
  return mw__answer_end(out, &w);
}

/* --- federation: the spans other shards hold (docs/FEDERATION.md, "Explain") --- */

/* The posted spans ({"spans": [{"span_id", "parent_span_id", "service",
 * "name", "start_ns", "duration_ns"}]}) into the arena; MW_EINVAL with what
 * was wrong in err. */
static int parse_posted(mw_arena *a, const char *body, size_t len, mw_ex_span **out, size_t *n, char *err,
                        size_t errsz) {
  json_error_t je;
  json_t *root = json_loadb(body ? body : "", len, 0, &je);
  json_t *arr = json_object_get(root, "spans");
  *out = NULL;
  *n = 0;
  if (!json_is_array(arr)) {
    snprintf(err, errsz, "the body must be {\"spans\": [...]}%s%s", root ? "" : ": ", root ? "" : je.text);
    json_decref(root);
    return MW_EINVAL;
  }
  size_t m = json_array_size(arr), i;
  json_t *x;
  mw_ex_span *v = mw__arena_calloc(a, m + 1, sizeof *v);
  mw_stored_span *ss = mw__arena_calloc(a, m + 1, sizeof *ss);
  int rc = v && ss ? MW_OK : MW_ENOMEM;
  json_array_foreach(arr, i, x) {
    if (rc) break;
    const char *id = json_string_value(json_object_get(x, "span_id"));
    json_t *pj = json_object_get(x, "parent_span_id");
    const char *parent = json_string_value(pj);
    const char *svc = json_string_value(json_object_get(x, "service"));
    const char *name = json_string_value(json_object_get(x, "name"));
    json_t *st = json_object_get(x, "start_ns"), *du = json_object_get(x, "duration_ns");
    if (!id || mw__hex_decode(ss[i].span_id, 8, id, strlen(id)) ||
        (parent && mw__hex_decode(ss[i].parent_id, 8, parent, strlen(parent))) || (!parent && !json_is_null(pj)) ||
        !svc || !name || !json_is_integer(st) || !json_is_integer(du) || json_integer_value(du) < 0) {
      snprintf(err, errsz,
               "spans[%zu] needs span_id (16 hex digits), parent_span_id (the same, or null), service, "
               "name, start_ns and duration_ns (integers)",
               i);
      rc = MW_EINVAL;
      break;
    }
    ss[i].has_parent = parent != NULL;
    ss[i].name = mw__arena_strndup(a, name, strlen(name));
    ss[i].start_ns = (int64_t)json_integer_value(st);
    ss[i].dur_ns = (int64_t)json_integer_value(du);
    ss[i].source_id = ss[i].op_id = -1;
    v[i] = (mw_ex_span){.span = &ss[i], .service = mw__arena_strndup(a, svc, strlen(svc)), .source = -1, .op = -1};
    if (!ss[i].name || !v[i].service) rc = MW_ENOMEM;
  }
  json_decref(root);
  if (rc == MW_ENOMEM) snprintf(err, errsz, "out of memory");
  if (rc) return rc;
  *out = v;
  *n = m;
  return MW_OK;
}

static int cmp_id_ptr(const void *x, const void *y) {
  return memcmp(*(const uint8_t *const *)x, *(const uint8_t *const *)y, 8);
}

static int cmp_ex_start(const void *x, const void *y) {
  const mw_ex_span *p = x, *q = y;
  if (p->span->start_ns != q->span->start_ns)
    return (p->span->start_ns > q->span->start_ns) - (p->span->start_ns < q->span->start_ns);
  return memcmp(p->span->span_id, q->span->span_id, 8);
}

int mw__q_explain_with(mw_query *q, const uint8_t trace_id[16], const char *body, size_t len, mw_answer *out) {
  char err[256];
  mw_ex_span *posted;
  size_t n_posted;
  mw__answer_init(out);
  int rc = parse_posted(q->arena, body, len, &posted, &n_posted, err, sizeof err);
  if (rc) return mw__answer_fail(out, rc, "%s", err);
  if (mw__query_open(q, out)) return out->rc;
  char hex[33];
  mw__hex_encode(hex, trace_id, 16);
  mw_explain_opts o = MW_EXPLAIN_OPTS_DEFAULT;
  mw_explain_input in;
  rc = mw__explain_gather(q->rd, q->arena, trace_id, &o, &in);
  if (rc == MW_ENOTFOUND) return mw__answer_fail(out, rc, "trace %s not found", hex);
  if (rc == MW_ETOOBIG) return mw__answer_fail(out, rc, "trace %s has too many spans to explain", hex);
  if (rc) return mw__answer_fail(out, rc, "explaining trace %s failed: %s", hex, mw__strerror(rc));
  /* the posted spans this shard does not hold join the tree, without runtime data */
  mw_ex_span *all = mw__arena_calloc(q->arena, in.n_spans + n_posted + 1, sizeof *all);
  if (!all) return mw__answer_fail(out, MW_ENOMEM, "out of memory");
  memcpy(all, in.spans, in.n_spans * sizeof *all);
  const uint8_t **held = mw__arena_calloc(q->arena, in.n_spans + 1, sizeof *held);
  if (!held) return mw__answer_fail(out, MW_ENOMEM, "out of memory");
  for (size_t k = 0; k < in.n_spans; k++) held[k] = in.spans[k].span->span_id;
  qsort(held, in.n_spans, sizeof *held, cmp_id_ptr);
  size_t n = in.n_spans;
  for (size_t i = 0; i < n_posted; i++) {
    const uint8_t *id = posted[i].span->span_id;
    if (!bsearch(&id, held, in.n_spans, sizeof *held, cmp_id_ptr)) all[n++] = posted[i];
  }
  if (n > o.max_spans) return mw__answer_fail(out, MW_ETOOBIG, "trace %s has too many spans to explain", hex);
  qsort(all, n, sizeof *all, cmp_ex_start);
  in.spans = all;
  in.n_spans = n;
  mw_trace_explain e;
  if ((rc = mw__explain_link(q->arena, &in)) || (rc = mw__explain_run(q->arena, &in, &o, &e)))
    return mw__answer_fail(out, rc, "explaining trace %s failed: %s", hex, mw__strerror(rc));
  mw_jsonw w;
  mw__answer_json(out, 256u << 20, &w);
  mw__explain_json(&w, &e);
  return mw__answer_end(out, &w);
}

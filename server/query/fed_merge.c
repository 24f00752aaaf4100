/* Query federation: the merges of the shards' answers (see fed.h and
 * docs/FEDERATION.md, "Per endpoint"). Answers are read with jansson and
 * written with the JSON writer, so that numbers keep the forms of a local
 * answer. */
#include "core/error.h"
#include "core/hex.h"
#include "query/compare.h"
#include "query/explain_steps.h"
#include "query/fed.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { ANSWER_MAX = 256u << 20 };

static const char NO_ROOT[] = "<root span not yet received>";

/* --- shared ----------------------------------------------------------------------------- */

const char *mw__fed_missing(mw_arena *a, const mw_fed_part *p, size_t n) {
  size_t len = 0;
  for (size_t i = 0; i < n; i++)
    if (p[i].rc == MW_EIO) len += strlen(p[i].shard) + 2;
  if (!len) return NULL;
  char *s = mw__arena_alloc(a, len + 1);
  if (!s) return "?";
  s[0] = '\0';
  for (size_t i = 0; i < n; i++)
    if (p[i].rc == MW_EIO) {
      if (s[0]) strcat(s, ", ");
      strcat(s, p[i].shard);
    }
  return s;
}

static int is_pass(int rc) {
  return rc == MW_EINVAL || rc == MW_EUNAUTHORIZED || rc == MW_EFORBIDDEN || rc == MW_ETOOBIG || rc == MW_ETOOLONG;
}

/* "http://b:4318 (no answer within 5000 ms); ..." of the missing shards. */
static void missing_text(const mw_fed_part *p, size_t n, char *out, size_t outsz) {
  size_t at = 0;
  out[0] = '\0';
  for (size_t i = 0; i < n && at + 1 < outsz; i++)
    if (p[i].rc == MW_EIO) {
      int k = snprintf(out + at, outsz - at, "%s%s (%s)", at ? "; " : "", p[i].shard, p[i].error);
      if (k < 0) break;
      at += (size_t)k;
    }
}

/* Decides the answers that no merge makes: a request refused by a shard
 * (passed through), or no shard answered. Returns 1 when decided. *n_ok:
 * the shards with a part (2xx). */
static int decide(const mw_fed_part *p, size_t n, mw_answer *out, size_t *n_ok) {
  size_t ok = 0, answered = 0;
  for (size_t i = 0; i < n; i++) {
    if (is_pass(p[i].rc)) {
      mw__answer_fail(out, p[i].rc, "%s", p[i].error);
      return 1;
    }
    ok += p[i].rc == MW_OK;
    answered += p[i].rc == MW_OK || p[i].rc == MW_ENOTFOUND;
  }
  if (n_ok) *n_ok = ok;
  if (!n) {
    mw__answer_fail(out, MW_EBUSY, "no shard to ask: --peers resolves to no address");
    return 1;
  }
  if (!answered) {
    char m[MW_ANSWER_ERROR_MAX - 64];
    missing_text(p, n, m, sizeof m);
    mw__answer_fail(out, MW_EBUSY, "no shard answered: %s", m);
    return 1;
  }
  return 0;
}

/* Nothing found where every shard answered: 404 with what; some missing: 503. */
static int not_found(const mw_fed_part *p, size_t n, mw_answer *out, const char *what) {
  char m[MW_ANSWER_ERROR_MAX - 128];
  missing_text(p, n, m, sizeof m);
  if (!m[0]) return mw__answer_fail(out, MW_ENOTFOUND, "%s not found", what);
  return mw__answer_fail(out, MW_EBUSY, "%s not found on the shards that answered; not answering: %s", what, m);
}

static void jw_federation(mw_jsonw *w, const mw_fed_part *p, size_t n) {
  size_t answered = 0;
  for (size_t i = 0; i < n; i++) answered += p[i].rc != MW_EIO;
  mw__jw_key(w, "federation");
  mw__jw_obj(w);
  mw__jw_kint(w, "shards", (int64_t)n);
  mw__jw_kint(w, "answered", (int64_t)answered);
  mw__jw_key(w, "missing");
  mw__jw_arr(w);
  for (size_t i = 0; i < n; i++)
    if (p[i].rc == MW_EIO) {
      mw__jw_obj(w);
      mw__jw_kstr(w, "shard", p[i].shard);
      mw__jw_kstr(w, "error", p[i].error);
      mw__jw_obj_end(w);
    }
  mw__jw_arr_end(w);
  mw__jw_obj_end(w);
}

/* Writes a jansson value (numbers as the JSON writer writes them). */
static void jw_value(mw_jsonw *w, json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT: {
    const char *k;
    json_t *x;
    mw__jw_obj(w);
    json_object_foreach(v, k, x) {
      mw__jw_key(w, k);
      jw_value(w, x);
    }
    mw__jw_obj_end(w);
    break;
  }
  case JSON_ARRAY: {
    size_t i;
    json_t *x;
    mw__jw_arr(w);
    json_array_foreach(v, i, x) jw_value(w, x);
    mw__jw_arr_end(w);
    break;
  }
  case JSON_STRING: mw__jw_strn(w, json_string_value(v), json_string_length(v)); break;
  case JSON_INTEGER: mw__jw_int(w, (int64_t)json_integer_value(v)); break;
  case JSON_REAL: mw__jw_double(w, json_real_value(v)); break;
  case JSON_TRUE: mw__jw_bool(w, 1); break;
  case JSON_FALSE: mw__jw_bool(w, 0); break;
  case JSON_NULL: mw__jw_null(w); break;
  }
}

/* The parsed answers of the shards with a part (others NULL). A body that is
 * not a JSON object makes its shard missing, in place (rc MW_EIO, error
 * set), so that the reply's header names it too. NULL on exhaustion. */
static json_t **parse_parts(mw_fed_part *c, size_t n) {
  json_t **j = calloc(n + 1, sizeof *j);
  if (!j) return NULL;
  for (size_t i = 0; i < n; i++) {
    if (c[i].rc != MW_OK) continue;
    json_error_t err;
    j[i] = json_loadb(c[i].body, c[i].len, JSON_ALLOW_NUL, &err);
    if (!j[i] || !json_is_object(j[i])) {
      json_decref(j[i]);
      j[i] = NULL;
      c[i].rc = MW_EIO;
      snprintf(c[i].error, sizeof c[i].error, "its answer is not JSON: %s", err.text);
    }
  }
  return j;
}

static void free_parts(json_t **j, size_t n) {
  if (!j) return;
  for (size_t i = 0; i < n; i++) json_decref(j[i]);
  free(j);
}

static int64_t jint(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  if (json_is_integer(v)) return (int64_t)json_integer_value(v);
  if (json_is_real(v)) return (int64_t)json_real_value(v);
  if (json_is_string(v)) return strtoll(json_string_value(v), NULL, 10);
  return 0;
}

static double jnum(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  return json_is_number(v) ? json_number_value(v) : 0;
}

static const char *jstr(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

/* One row of a part's list, with its shard. */
typedef struct row {
  json_t *o;
  size_t shard;
  const char *key; /* a name or id */
  double num;      /* an order key */
} row;

/* Appends the rows of arr (objects) with their key; NULL on exhaustion. */
static row *add_rows(row *v, size_t *n, size_t *cap, json_t *arr, size_t shard, const char *key_field,
                     const char *num_field) {
  size_t i;
  json_t *x;
  json_array_foreach(arr, i, x) {
    if (!json_is_object(x)) continue;
    if (*n == *cap) {
      size_t nc = *cap ? *cap * 2 : 256;
      row *nv = realloc(v, nc * sizeof *nv);
      if (!nv) {
        free(v);
        return NULL;
      }
      v = nv;
      *cap = nc;
    }
    const char *key = jstr(x, key_field);
    v[(*n)++] = (row){.o = x, .shard = shard, .key = key ? key : "", .num = num_field ? jnum(x, num_field) : 0};
  }
  if (!v && !(v = malloc(sizeof *v))) return NULL; /* an empty list is not exhaustion */
  return v;
}

static int cmp_key(const void *x, const void *y) {
  const row *a = x, *b = y;
  int c = strcmp(a->key, b->key);
  return c ? c : (a->shard > b->shard) - (a->shard < b->shard);
}

/* The page of a merged list sorted by name: a shard that said more may hold
 * names after its last one, so rows are kept up to the least such name;
 * returns how many of the n (grouped) rows are certain. */
static size_t certain_by_name(json_t **j, size_t n_parts, const char *list, const char **names, size_t n) {
  const char *cut = NULL;
  for (size_t i = 0; i < n_parts; i++) {
    if (!j[i] || !json_is_true(json_object_get(j[i], "more"))) continue;
    json_t *arr = json_object_get(j[i], list);
    size_t m = json_array_size(arr);
    const char *last = m ? jstr(json_array_get(arr, m - 1), "name") : NULL;
    if (last && (!cut || strcmp(last, cut) < 0)) cut = last;
  }
  if (!cut) return n;
  size_t k = 0;
  while (k < n && strcmp(names[k], cut) <= 0) k++;
  return k;
}

static int any_more(json_t **j, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (j[i] && json_is_true(json_object_get(j[i], "more"))) return 1;
  return 0;
}

/* The rows of every part's `list` grouped by name (services, operations):
 * group g is rows[first[g]] .. rows[first[g + 1] - 1], all named names[g];
 * the page is groups [offset, end). */
typedef struct by_name {
  json_t **j; /* the parts, parsed */
  row *rows;
  const char **names;
  size_t *first;
  size_t ng, end;
  int more;
} by_name;

static void by_name_free(by_name *g, size_t n_parts) {
  free(g->names);
  free(g->first);
  free(g->rows);
  free_parts(g->j, n_parts);
}

/* MW_OK, or MW_ENOMEM with nothing left to free. */
static int group_by_name(mw_fed_part *p, size_t n, const char *list, size_t offset, size_t limit, by_name *g) {
  memset(g, 0, sizeof *g);
  if (!(g->j = parse_parts(p, n))) return MW_ENOMEM;
  size_t nr = 0, cap = 0;
  int oom = 0;
  for (size_t i = 0; i < n && !oom; i++)
    if (g->j[i] && !(g->rows = add_rows(g->rows, &nr, &cap, json_object_get(g->j[i], list), i, "name", NULL))) oom = 1;
  g->names = oom ? NULL : calloc(nr + 1, sizeof *g->names);
  g->first = oom ? NULL : calloc(nr + 1, sizeof *g->first);
  if (!g->names || !g->first) {
    by_name_free(g, n);
    return MW_ENOMEM;
  }
  qsort(g->rows, nr, sizeof *g->rows, cmp_key);
  for (size_t i = 0; i < nr; i++)
    if (!g->ng || strcmp(g->names[g->ng - 1], g->rows[i].key) != 0) {
      g->names[g->ng] = g->rows[i].key;
      g->first[g->ng++] = i;
    }
  g->first[g->ng] = nr;
  size_t certain = certain_by_name(g->j, n, list, g->names, g->ng);
  g->end = offset + limit < certain ? offset + limit : certain;
  g->more = any_more(g->j, n) || certain > offset + limit;
  return MW_OK;
}

/* --- trace by id ------------------------------------------------------------------------- */

int mw__fed_merge_trace(mw_arena *a, mw_fed_part *p, size_t n, const char *trace_hex, enum mw_fed_trace_form form,
                        mw_answer *out) {
  mw__answer_init(out);
  size_t ok;
  if (decide(p, n, out, &ok)) return out->rc;
  char what[64];
  snprintf(what, sizeof what, "trace %s", trace_hex);
  if (!ok) return not_found(p, n, out, what);
  if (form == MW_FED_TRACE_PB) { /* concatenated protobuf messages are their merge */
    mw__answer_bytes(out, "application/protobuf", ANSWER_MAX);
    for (size_t i = 0; i < n; i++)
      if (p[i].rc == MW_OK && mw__buf_add(&out->body, p[i].body, p[i].len))
        return mw__answer_fail(out, MW_ETOOBIG, "the trace would be larger than 256 MiB in protobuf");
    return MW_OK;
  }
  mw_fed_part *c = p;
  json_t **j = parse_parts(c, n);
  if (!j) return mw__answer_fail(out, MW_ENOMEM, "out of memory");
  int v2 = form == MW_FED_TRACE_V2;
  mw_jsonw w;
  mw__answer_json(out, ANSWER_MAX, &w);
  mw__jw_obj(&w);
  if (v2) {
    mw__jw_key(&w, "trace");
    mw__jw_obj(&w);
  }
  mw__jw_key(&w, v2 ? "resourceSpans" : "batches");
  mw__jw_arr(&w);
  for (size_t i = 0; i < n; i++) {
    if (!j[i]) continue;
    json_t *arr =
        v2 ? json_object_get(json_object_get(j[i], "trace"), "resourceSpans") : json_object_get(j[i], "batches");
    size_t k;
    json_t *x;
    json_array_foreach(arr, k, x) jw_value(&w, x);
  }
  mw__jw_arr_end(&w);
  const char *missing = mw__fed_missing(a, c, n);
  if (v2) {
    mw__jw_obj_end(&w);
    mw__jw_kstr(&w, "status", missing ? "PARTIAL" : "COMPLETE");
    if (missing) {
      char m[1024];
      snprintf(m, sizeof m, "shards that did not answer: %s", missing);
      mw__jw_kstr(&w, "message", m);
    }
  }
  jw_federation(&w, c, n);
  mw__jw_obj_end(&w);
  free_parts(j, n);
  return mw__answer_end(out, &w);
}

/* --- search -------------------------------------------------------------------------------- */

typedef struct hit {
  const char *id;
  json_t *root; /* the row that names the root (else the first) */
  int64_t start, end;
  double matched;
  json_t **spans; /* the spanSet spans of every row */
  size_t n_spans, cap_spans;
  int64_t n_matched;
  int has_set, has_sets;
} hit;

static int cmp_hit(const void *x, const void *y) {
  const hit *a = x, *b = y;
  if (a->matched != b->matched) return (a->matched < b->matched) - (a->matched > b->matched);
  return strcmp(a->id, b->id);
}

static int cmp_span_dur(const void *x, const void *y) {
  int64_t a = jint(*(json_t *const *)x, "durationNanos"), b = jint(*(json_t *const *)y, "durationNanos");
  return (a < b) - (a > b);
}

static int hit_add_set(hit *h, json_t *set) {
  if (!json_is_object(set)) return 0;
  h->n_matched += jint(set, "matched");
  size_t i;
  json_t *s;
  json_array_foreach(json_object_get(set, "spans"), i, s) {
    if (h->n_spans == h->cap_spans) {
      size_t nc = h->cap_spans ? h->cap_spans * 2 : 8;
      json_t **nv = realloc(h->spans, nc * sizeof *nv);
      if (!nv) return MW_ENOMEM;
      h->spans = nv;
      h->cap_spans = nc;
    }
    h->spans[h->n_spans++] = s;
  }
  return 0;
}

static void jw_set(mw_jsonw *w, const hit *h, size_t spss) {
  mw__jw_obj(w);
  mw__jw_key(w, "spans");
  mw__jw_arr(w);
  for (size_t i = 0; i < h->n_spans && i < spss; i++) jw_value(w, h->spans[i]);
  mw__jw_arr_end(w);
  mw__jw_kint(w, "matched", h->n_matched);
  mw__jw_obj_end(w);
}

int mw__fed_merge_search(mw_arena *a, mw_fed_part *p, size_t n, size_t offset, size_t limit, size_t spss,
                         mw_answer *out) {
  mw__answer_init(out);
  if (decide(p, n, out, NULL)) return out->rc;
  mw_fed_part *c = p;
  json_t **j = parse_parts(c, n);
  if (!j) return mw__answer_fail(out, MW_ENOMEM, "out of memory");
  row *rows = NULL;
  size_t nr = 0, cap = 0;
  int oom = 0;
  for (size_t i = 0; i < n && !oom; i++)
    if (j[i] &&
        !(rows = add_rows(rows, &nr, &cap, json_object_get(j[i], "traces"), i, "traceID", "matchedSpanDurationMs")))
      oom = 1;
  hit *hits = oom ? NULL : calloc(nr + 1, sizeof *hits);
  size_t nh = 0;
  if (!hits) oom = 1;
  if (!oom) qsort(rows, nr, sizeof *rows, cmp_key);
  for (size_t i = 0; i < nr && !oom; i++) {
    json_t *o = rows[i].o;
    int64_t st = jint(o, "startTimeUnixNano");
    int64_t en = st + (int64_t)llround(jnum(o, "durationMs") * 1e6);
    hit *h = nh && strcmp(hits[nh - 1].id, rows[i].key) == 0 ? &hits[nh - 1] : NULL;
    if (!h) {
      h = &hits[nh++];
      *h = (hit){.id = rows[i].key, .root = o, .start = st, .end = en, .matched = rows[i].num};
    } else {
      const char *rs = jstr(o, "rootServiceName");
      if (rs && strcmp(rs, NO_ROOT) != 0) h->root = o;
      if (st < h->start) h->start = st;
      if (en > h->end) h->end = en;
      if (rows[i].num > h->matched) h->matched = rows[i].num;
    }
    json_t *set = json_object_get(o, "spanSet");
    if (set) h->has_set = 1;
    if (json_object_get(o, "spanSets")) h->has_sets = 1;
    if (hit_add_set(h, set)) oom = 1;
  }
  if (oom) {
    for (size_t i = 0; hits && i < nh; i++) free(hits[i].spans);
    free(hits);
    free(rows);
    free_parts(j, n);
    return mw__answer_fail(out, MW_ENOMEM, "out of memory");
  }
  qsort(hits, nh, sizeof *hits, cmp_hit);
  /* a shard that said more may hold traces below its last row */
  int more = any_more(j, n);
  double cut = -1;
  for (size_t i = 0; i < n; i++) {
    if (!j[i] || !json_is_true(json_object_get(j[i], "more"))) continue;
    json_t *arr = json_object_get(j[i], "traces");
    size_t m = json_array_size(arr);
    double last = m ? jnum(json_array_get(arr, m - 1), "matchedSpanDurationMs") : 0;
    if (last > cut) cut = last;
  }
  size_t certain = nh;
  if (cut >= 0)
    for (certain = 0; certain < nh && hits[certain].matched >= cut;) certain++;
  size_t end = offset + limit < certain ? offset + limit : certain;
  if (certain > offset + limit) more = 1;
  mw_jsonw w;
  mw__answer_json(out, ANSWER_MAX, &w);
  mw__jw_obj(&w);
  mw__jw_key(&w, "traces");
  mw__jw_arr(&w);
  for (size_t i = offset; i < end; i++) {
    hit *h = &hits[i];
    mw__jw_obj(&w);
    mw__jw_kstr(&w, "traceID", h->id);
    const char *rs = jstr(h->root, "rootServiceName"), *rn = jstr(h->root, "rootTraceName");
    mw__jw_kstr(&w, "rootServiceName", rs ? rs : NO_ROOT);
    if (rn) mw__jw_kstr(&w, "rootTraceName", rn);
    mw__jw_key(&w, "startTimeUnixNano");
    mw__jw_int_str(&w, h->start);
    mw__jw_kdouble(&w, "durationMs", (double)(h->end - h->start) / 1e6);
    mw__jw_kdouble(&w, "matchedSpanDurationMs", h->matched);
    if (h->n_spans > 1) qsort(h->spans, h->n_spans, sizeof *h->spans, cmp_span_dur);
    if (h->has_set) {
      mw__jw_key(&w, "spanSet");
      jw_set(&w, h, spss);
    }
    if (h->has_sets) {
      mw__jw_key(&w, "spanSets");
      mw__jw_arr(&w);
      jw_set(&w, h, spss);
      mw__jw_arr_end(&w);
    }
    mw__jw_obj_end(&w);
  }
  mw__jw_arr_end(&w);
  /* metrics summed (inspectedBytes is a string, as Tempo writes it) */
  json_t *m0 = NULL;
  for (size_t i = 0; i < n && !m0; i++)
    if (j[i]) m0 = json_object_get(j[i], "metrics");
  if (json_is_object(m0)) {
    mw__jw_key(&w, "metrics");
    mw__jw_obj(&w);
    const char *k;
    json_t *x;
    json_object_foreach(m0, k, x) {
      int64_t sum = 0;
      for (size_t i = 0; i < n; i++)
        if (j[i]) sum += jint(json_object_get(j[i], "metrics"), k);
      if (json_is_string(x)) {
        mw__jw_key(&w, k);
        mw__jw_int_str(&w, sum);
      } else {
        mw__jw_kint(&w, k, sum);
      }
    }
    mw__jw_obj_end(&w);
  }
  int has_limit = 0, limit_reached = 0;
  for (size_t i = 0; i < n; i++) {
    json_t *v = j[i] ? json_object_get(j[i], "spanLimitReached") : NULL;
    has_limit |= v != NULL;
    limit_reached |= json_is_true(v);
  }
  if (has_limit) mw__jw_kbool(&w, "spanLimitReached", limit_reached);
  mw__jw_page(&w, more ? end : 0);
  jw_federation(&w, c, n);
  mw__jw_obj_end(&w);
  for (size_t i = 0; i < nh; i++) free(hits[i].spans);
  free(hits);
  free(rows);
  free_parts(j, n);
  return mw__answer_end(out, &w);
}

/* --- services and operations --------------------------------------------------------------- */

int mw__fed_merge_services(mw_arena *a, mw_fed_part *p, size_t n, size_t offset, size_t limit, mw_answer *out) {
  mw__answer_init(out);
  if (decide(p, n, out, NULL)) return out->rc;
  by_name g;
  if (group_by_name(p, n, "services", offset, limit, &g)) return mw__answer_fail(out, MW_ENOMEM, "out of memory");
  const row *rows = g.rows;
  mw_jsonw w;
  mw__answer_json(out, ANSWER_MAX, &w);
  mw__jw_obj(&w);
  mw__jw_key(&w, "services");
  mw__jw_arr(&w);
  for (size_t k = offset; k < g.end; k++) {
    int64_t spans = 0, ops = 0, inst = 0;
    for (size_t i = g.first[k]; i < g.first[k + 1]; i++) {
      spans += jint(rows[i].o, "span_count");
      inst += jint(rows[i].o, "instance_count");
      int64_t o = jint(rows[i].o, "operation_count");
      if (o > ops) ops = o;
    }
    mw__jw_obj(&w);
    mw__jw_kstr(&w, "name", g.names[k]);
    mw__jw_kint(&w, "span_count", spans);
    mw__jw_kint(&w, "operation_count", ops);
    mw__jw_kint(&w, "instance_count", inst);
    if (g.first[k + 1] - g.first[k] > 1) mw__jw_kbool(&w, "operation_count_exact", 0);
    mw__jw_obj_end(&w);
  }
  mw__jw_arr_end(&w);
  mw__jw_page(&w, g.more ? g.end : 0);
  jw_federation(&w, p, n);
  mw__jw_obj_end(&w);
  by_name_free(&g, n);
  return mw__answer_end(out, &w);
}

typedef struct hbin {
  int b;
  int64_t n;
} hbin;

static int cmp_hbin(const void *x, const void *y) {
  const hbin *a = x, *b = y;
  return (a->b > b->b) - (a->b < b->b);
}

/* Appends a shard's histogram ([[bucket, count], ...]) to *bins; -1 when out
 * of memory (*bins as it was, still to be freed). */
static int add_hist(hbin **bins, size_t *nb, size_t *cb, json_t *hist) {
  size_t t;
  json_t *pair;
  json_array_foreach(hist, t, pair) {
    if (*nb == *cb) {
      size_t nc = *cb ? *cb * 2 : 256;
      hbin *nv = realloc(*bins, nc * sizeof *nv);
      if (!nv) return -1;
      *bins = nv;
      *cb = nc;
    }
    (*bins)[(*nb)++] =
        (hbin){(int)json_integer_value(json_array_get(pair, 0)), (int64_t)json_integer_value(json_array_get(pair, 1))};
  }
  return 0;
}

/* Nearest rank over the shards' bins (several shards' bins of one bucket
 * add up), capped at max: a bucket's middle may pass the largest duration. */
static int64_t hist_quantile(hbin *v, size_t nb, double q, int64_t max) {
  qsort(v, nb, sizeof *v, cmp_hbin); /* sorted already after the first call: cheap */
  int64_t total = 0;
  for (size_t i = 0; i < nb; i++) total += v[i].n;
  int64_t k = (int64_t)(q * (double)total + 0.999999999);
  if (k < 1) k = 1;
  if (k > total) k = total;
  int64_t seen = 0, value = nb ? mw__fed_bucket_value(v[nb - 1].b) : 0;
  for (size_t i = 0; i < nb; i++) {
    seen += v[i].n;
    if (seen >= k) {
      value = mw__fed_bucket_value(v[i].b);
      break;
    }
  }
  return value > max ? max : value;
}

int mw__fed_merge_operations(mw_arena *a, mw_fed_part *p, size_t n, const char *service, size_t offset, size_t limit,
                             mw_answer *out) {
  mw__answer_init(out);
  size_t ok;
  if (decide(p, n, out, &ok)) return out->rc;
  if (!ok) {
    char what[300];
    snprintf(what, sizeof what, "service %.200s", service);
    return not_found(p, n, out, what);
  }
  by_name g;
  if (group_by_name(p, n, "operations", offset, limit, &g)) return mw__answer_fail(out, MW_ENOMEM, "out of memory");
  const row *rows = g.rows;
  int oom = 0;
  mw_jsonw w;
  mw__answer_json(out, ANSWER_MAX, &w);
  mw__jw_obj(&w);
  mw__jw_kstr(&w, "service", service);
  mw__jw_key(&w, "operations");
  mw__jw_arr(&w);
  for (size_t k = offset; k < g.end && !oom; k++) {
    size_t k0 = g.first[k], k1 = g.first[k + 1];
    int64_t count = 0, max = 0;
    int sampled = 0;
    for (size_t i = k0; i < k1; i++) {
      count += jint(rows[i].o, "count");
      int64_t m = jint(rows[i].o, "max_ns");
      if (m > max) max = m;
      sampled |= json_is_true(json_object_get(rows[i].o, "sampled"));
    }
    int64_t p50 = jint(rows[k0].o, "p50_ns"), p90 = jint(rows[k0].o, "p90_ns"), p99 = jint(rows[k0].o, "p99_ns");
    int approx = 0;
    if (k1 - k0 > 1) { /* several shards: nearest rank over their histograms */
      hbin *bins = NULL;
      size_t nb = 0, cb = 0;
      for (size_t i = k0; i < k1 && !oom; i++) {
        if (add_hist(&bins, &nb, &cb, json_object_get(rows[i].o, "hist"))) oom = 1;
      }
      if (nb) {
        p50 = hist_quantile(bins, nb, 0.50, max);
        p90 = hist_quantile(bins, nb, 0.90, max);
        p99 = hist_quantile(bins, nb, 0.99, max);
        approx = 1;
      }
      free(bins);
    }
    mw__jw_obj(&w);
    mw__jw_kstr(&w, "name", g.names[k]);
    mw__jw_kint(&w, "count", count);
    mw__jw_kint(&w, "p50_ns", p50);
    mw__jw_kint(&w, "p90_ns", p90);
    mw__jw_kint(&w, "p99_ns", p99);
    mw__jw_kint(&w, "max_ns", max);
    if (sampled) mw__jw_kbool(&w, "sampled", 1);
    if (approx) mw__jw_kbool(&w, "approx", 1);
    mw__jw_obj_end(&w);
  }
  mw__jw_arr_end(&w);
  mw__jw_page(&w, g.more ? g.end : 0);
  jw_federation(&w, p, n);
  mw__jw_obj_end(&w);
  by_name_free(&g, n);
  if (oom) return mw__answer_fail(out, MW_ENOMEM, "out of memory");
  return mw__answer_end(out, &w);
}

/* --- timeline ------------------------------------------------------------------------------- */

static int cmp_start(const void *x, const void *y) {
  const row *a = x, *b = y;
  if (a->num != b->num) return (a->num > b->num) - (a->num < b->num);
  return (a->shard > b->shard) - (a->shard < b->shard);
}

/* o written with "shard" added. */
static void jw_with_shard(mw_jsonw *w, json_t *o, const char *shard) {
  const char *k;
  json_t *x;
  mw__jw_obj(w);
  json_object_foreach(o, k, x) {
    mw__jw_key(w, k);
    jw_value(w, x);
  }
  mw__jw_kstr(w, "shard", shard);
  mw__jw_obj_end(w);
}

int mw__fed_timeline_window(mw_fed_part *p, size_t n, int64_t margin_ns, int64_t *from_ns, int64_t *to_ns, int *redo) {
  json_t **j = parse_parts(p, n);
  if (!j) return 0;
  int64_t lo = INT64_MAX, hi = INT64_MIN;
  for (size_t i = 0; i < n; i++) {
    if (!j[i]) continue;
    int64_t s = jint(j[i], "start_ns"), e = jint(j[i], "end_ns");
    if (s < lo) lo = s;
    if (e > hi) hi = e;
  }
  int found = lo <= hi;
  /* saturating, as the shards do */
  *from_ns = found ? (lo < INT64_MIN + margin_ns ? INT64_MIN : lo - margin_ns) : 0;
  *to_ns = found ? (hi > INT64_MAX - margin_ns ? INT64_MAX : hi + margin_ns) : 0;
  for (size_t i = 0; i < n; i++) {
    redo[i] = 0;
    if (!j[i]) continue;
    json_t *win = json_object_get(j[i], "window");
    redo[i] = jint(win, "start_ns") != *from_ns || jint(win, "end_ns") != *to_ns;
  }
  free_parts(j, n);
  return found;
}

int mw__fed_merge_timeline(mw_arena *a, mw_fed_part *p, size_t n, const char *trace_hex, mw_answer *out) {
  mw__answer_init(out);
  size_t ok;
  if (decide(p, n, out, &ok)) return out->rc;
  char what[64];
  snprintf(what, sizeof what, "trace %s", trace_hex);
  if (!ok) return not_found(p, n, out, what);
  mw_fed_part *c = p;
  json_t **j = parse_parts(c, n);
  if (!j) return mw__answer_fail(out, MW_ENOMEM, "out of memory");
  row *spans = NULL;
  size_t ns = 0, cap = 0;
  int oom = 0;
  int64_t lo = INT64_MAX, hi = INT64_MIN, wlo = INT64_MAX, whi = INT64_MIN;
  for (size_t i = 0; i < n && !oom; i++) {
    if (!j[i]) continue;
    if (!(spans = add_rows(spans, &ns, &cap, json_object_get(j[i], "spans"), i, "span_id", "start_ns"))) oom = 1;
    int64_t s = jint(j[i], "start_ns"), e = jint(j[i], "end_ns");
    json_t *win = json_object_get(j[i], "window");
    int64_t ws = jint(win, "start_ns"), we = jint(win, "end_ns");
    if (s < lo) lo = s;
    if (e > hi) hi = e;
    if (ws < wlo) wlo = ws;
    if (we > whi) whi = we;
  }
  if (oom) {
    free_parts(j, n);
    return mw__answer_fail(out, MW_ENOMEM, "out of memory");
  }
  /* start_ns as a double orders spans to within 256 ns; exact ties keep the shard order */
  for (size_t i = 0; i < ns; i++) spans[i].num = (double)jint(spans[i].o, "start_ns");
  qsort(spans, ns, sizeof *spans, cmp_start);
  mw_jsonw w;
  mw__answer_json(out, ANSWER_MAX, &w);
  mw__jw_obj(&w);
  mw__jw_kstr(&w, "trace_id", trace_hex);
  mw__jw_kint(&w, "start_ns", lo);
  mw__jw_kint(&w, "end_ns", hi);
  mw__jw_key(&w, "window");
  mw__jw_obj(&w);
  mw__jw_kint(&w, "start_ns", wlo);
  mw__jw_kint(&w, "end_ns", whi);
  mw__jw_obj_end(&w);
  mw__jw_key(&w, "spans");
  mw__jw_arr(&w);
  for (size_t i = 0; i < ns; i++) jw_with_shard(&w, spans[i].o, c[spans[i].shard].shard);
  mw__jw_arr_end(&w);
  mw__jw_key(&w, "sources");
  mw__jw_arr(&w);
  for (size_t i = 0; i < n; i++) {
    if (!j[i]) continue;
    size_t k;
    json_t *x;
    json_array_foreach(json_object_get(j[i], "sources"), k, x) jw_with_shard(&w, x, c[i].shard);
  }
  mw__jw_arr_end(&w);
  jw_federation(&w, c, n);
  mw__jw_obj_end(&w);
  free(spans);
  free_parts(j, n);
  return mw__answer_end(out, &w);
}

/* --- explain -------------------------------------------------------------------------------- */

typedef struct fspan {
  char id[17], parent[17]; /* hex; parent "" for none */
  const char *service, *name;
  int64_t start_ns, dur_ns;
  size_t owner; /* the shard that holds it */
} fspan;

struct mw_fed_trace {
  fspan *spans; /* by start time */
  size_t n;
  size_t *by_id; /* indexes of spans, by id */
};

enum { EXPLAIN_MAX_SPANS = 20000 };

static int cmp_fspan(const void *x, const void *y) {
  const fspan *a = x, *b = y;
  if (a->start_ns != b->start_ns) return (a->start_ns > b->start_ns) - (a->start_ns < b->start_ns);
  return strcmp(a->id, b->id);
}

/* The service.name of an OTLP JSON resource. */
static const char *resource_service(mw_arena *a, json_t *res) {
  size_t i;
  json_t *kv;
  json_array_foreach(json_object_get(res, "attributes"), i, kv) {
    const char *k = jstr(kv, "key");
    const char *v = jstr(json_object_get(kv, "value"), "stringValue");
    if (k && v && strcmp(k, "service.name") == 0) return mw__arena_strndup(a, v, strlen(v));
  }
  return "";
}

static void copy_hex(char out[17], const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n != 16) n = 0;
  memcpy(out, s ? s : "", n);
  out[n] = '\0';
}

/* qsort takes no context: the trace this thread sorts */
static _Thread_local const mw_fed_trace *sort_trace;

static int cmp_by_id(const void *x, const void *y) {
  return strcmp(sort_trace->spans[*(const size_t *)x].id, sort_trace->spans[*(const size_t *)y].id);
}

int mw__fed_explain_spans(mw_arena *a, mw_fed_part *p, size_t n, const char *trace_hex, mw_fed_trace **t, char **body,
                          size_t *body_len, int *owns, mw_answer *out) {
  mw__answer_init(out);
  *t = NULL;
  *body = NULL;
  *body_len = 0;
  size_t ok;
  if (decide(p, n, out, &ok)) return 1;
  char what[64];
  snprintf(what, sizeof what, "trace %s", trace_hex);
  if (!ok) return not_found(p, n, out, what), 1;
  mw_fed_part *c = p;
  json_t **j = parse_parts(c, n);
  mw_fed_trace *ft = mw__arena_calloc(a, 1, sizeof *ft);
  if (!j || !ft) {
    free_parts(j, n);
    return mw__answer_fail(out, MW_ENOMEM, "out of memory"), 1;
  }
  size_t cap = 0;
  int oom = 0, too_many = 0;
  for (size_t i = 0; i < n && !oom && !too_many; i++) {
    owns[i] = 0;
    if (!j[i]) continue;
    size_t bi, si, k;
    json_t *batch, *ss, *sp;
    json_array_foreach(json_object_get(j[i], "batches"), bi, batch) {
      const char *svc = resource_service(a, json_object_get(batch, "resource"));
      json_array_foreach(json_object_get(batch, "scopeSpans"), si, ss) {
        json_array_foreach(json_object_get(ss, "spans"), k, sp) {
          if (ft->n >= EXPLAIN_MAX_SPANS) {
            too_many = 1;
            break;
          }
          if (ft->n == cap && !(ft->spans = mw__arena_grow(a, ft->spans, ft->n, &cap, sizeof *ft->spans))) {
            oom = 1;
            break;
          }
          fspan *f = &ft->spans[ft->n++];
          copy_hex(f->id, jstr(sp, "spanId"));
          copy_hex(f->parent, jstr(sp, "parentSpanId"));
          const char *name = jstr(sp, "name");
          f->name = mw__arena_strndup(a, name ? name : "", name ? strlen(name) : 0);
          f->service = svc ? svc : "";
          f->start_ns = jint(sp, "startTimeUnixNano");
          f->dur_ns = jint(sp, "endTimeUnixNano") - f->start_ns;
          f->owner = i;
          owns[i] = 1;
          if (!f->name) oom = 1;
        }
      }
    }
  }
  free_parts(j, n);
  if (oom) return mw__answer_fail(out, MW_ENOMEM, "out of memory"), 1;
  if (too_many) return mw__answer_fail(out, MW_ETOOBIG, "trace %s has too many spans to explain", trace_hex), 1;
  qsort(ft->spans, ft->n, sizeof *ft->spans, cmp_fspan);
  if (!(ft->by_id = mw__arena_calloc(a, ft->n + 1, sizeof *ft->by_id)))
    return mw__answer_fail(out, MW_ENOMEM, "out of memory"), 1;
  for (size_t i = 0; i < ft->n; i++) ft->by_id[i] = i;
  sort_trace = ft;
  qsort(ft->by_id, ft->n, sizeof *ft->by_id, cmp_by_id);
  sort_trace = NULL;
  mw_buf b;
  mw__buf_init(&b, ANSWER_MAX);
  mw_jsonw w;
  mw__jw_init(&w, &b);
  mw__jw_obj(&w);
  mw__jw_key(&w, "spans");
  mw__jw_arr(&w);
  for (size_t i = 0; i < ft->n; i++) {
    const fspan *f = &ft->spans[i];
    mw__jw_obj(&w);
    mw__jw_kstr(&w, "span_id", f->id);
    mw__jw_key(&w, "parent_span_id");
    if (f->parent[0]) mw__jw_str(&w, f->parent);
    else mw__jw_null(&w);
    mw__jw_kstr(&w, "service", f->service);
    mw__jw_kstr(&w, "name", f->name);
    mw__jw_kint(&w, "start_ns", f->start_ns);
    mw__jw_kint(&w, "duration_ns", f->dur_ns);
    mw__jw_obj_end(&w);
  }
  mw__jw_arr_end(&w);
  mw__jw_obj_end(&w);
  if (mw__jw_error(&w) || b.err) {
    mw__buf_free(&b);
    return mw__answer_fail(out, MW_ENOMEM, "out of memory"), 1;
  }
  size_t len;
  char *data = mw__buf_detach(&b, &len);
  *body = mw__arena_memdup(a, data ? data : "", len + 1);
  free(data);
  if (!*body) return mw__answer_fail(out, MW_ENOMEM, "out of memory"), 1;
  (*body)[len] = '\0';
  *body_len = len;
  *t = ft;
  return 0;
}

static enum mw_cause_kind kind_of(const char *name) {
  for (int k = 0; k < MW_K_N; k++)
    if (name && strcmp(mw__cause_kind_name((enum mw_cause_kind)k), name) == 0) return (enum mw_cause_kind)k;
  return MW_K_UNKNOWN;
}

/* The index of the span with this hex id in t, or -1. */
static int find_span(const mw_fed_trace *t, const char *id) {
  if (!id) return -1;
  size_t lo = 0, hi = t->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = strcmp(t->spans[t->by_id[mid]].id, id);
    if (!c) return (int)t->by_id[mid];
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return -1;
}

/* The parts of a second round (explain, compare): a shard missing in round 1
 * is missing; a refusal passed through from a shard is the answer (NULL,
 * with out failed). */
static mw_fed_part *second_round(const mw_fed_part *p1, mw_fed_part *p2, size_t n, mw_answer *out) {
  for (size_t i = 0; i < n; i++)
    if (p1[i].rc == MW_EIO) p2[i] = p1[i];
  for (size_t i = 0; i < n; i++)
    if (is_pass(p2[i].rc)) {
      mw__answer_fail(out, p2[i].rc, "%s", p2[i].error);
      return NULL;
    }
  return p2;
}

int mw__fed_merge_explain(mw_arena *a, const mw_fed_trace *t, const mw_fed_part *p1, mw_fed_part *p2, size_t n,
                          const char *trace_hex, mw_answer *out) {
  mw__answer_init(out);
  mw_fed_part *c = second_round(p1, p2, n, out);
  if (!c) return out->rc;
  json_t **j = parse_parts(c, n);
  /* each span's entry from its owner's answer */
  json_t **entry = calloc(t->n + 1, sizeof *entry);
  mw_span_explain *se = mw__arena_calloc(a, t->n + 1, sizeof *se);
  mw_stored_span *ss = mw__arena_calloc(a, t->n + 1, sizeof *ss);
  mw_cause *top = mw__arena_calloc(a, t->n + 1, sizeof *top);
  if (!j || !entry || !se || !ss || !top) {
    free(entry);
    free_parts(j, n);
    return mw__answer_fail(out, MW_ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < n; i++) {
    if (!j[i]) continue;
    size_t k;
    json_t *x;
    json_array_foreach(json_object_get(j[i], "spans"), k, x) {
      int at = find_span(t, jstr(x, "span_id"));
      if (at >= 0 && t->spans[at].owner == i) entry[at] = x;
    }
  }
  size_t lost = 0;
  for (size_t i = 0; i < t->n; i++) lost += !entry[i];
  if (lost == t->n) {
    free(entry);
    char m[MW_ANSWER_ERROR_MAX - 128];
    missing_text(c, n, m, sizeof m);
    free_parts(j, n);
    return mw__answer_fail(out, MW_EBUSY, "no shard explained trace %s%s%s", trace_hex, m[0] ? ": " : "", m);
  }
  /* the structs the shared steps read: the tree, each span's top cause */
  int64_t lo = INT64_MAX, hi = INT64_MIN;
  for (size_t i = 0; i < t->n; i++) {
    const fspan *f = &t->spans[i];
    mw__hex_decode(ss[i].span_id, 8, f->id, strlen(f->id));
    ss[i].name = f->name;
    ss[i].start_ns = f->start_ns;
    ss[i].dur_ns = f->dur_ns;
    se[i].span = &ss[i];
    se[i].service = f->service;
    se[i].parent = f->parent[0] ? find_span(t, f->parent) : -1;
    json_t *c0 = entry[i] ? json_array_get(json_object_get(entry[i], "causes"), 0) : NULL;
    if (c0) {
      top[i].kind = kind_of(jstr(c0, "kind"));
      const char *sc = jstr(c0, "scope");
      top[i].scope = sc && strcmp(sc, "operation") == 0 ? MW_SCOPE_OPERATION
                     : sc && strcmp(sc, "trace") == 0   ? MW_SCOPE_TRACE
                                                        : MW_SCOPE_SPAN;
      top[i].summary = jstr(c0, "summary");
      se[i].causes = &top[i];
      se[i].n_causes = 1;
    }
    if (f->start_ns < lo) lo = f->start_ns;
    if (f->start_ns + f->dur_ns > hi) hi = f->start_ns + f->dur_ns;
  }
  /* a children cause whose slowest child is another shard's: that child's
   * top cause comes from its owner (the shard that explained the parent saw
   * the child without its runtime data) */
  int oom = 0;
  for (size_t i = 0; i < t->n && !oom; i++) {
    if (!entry[i]) continue;
    size_t k;
    json_t *cause;
    json_array_foreach(json_object_get(entry[i], "causes"), k, cause) {
      const char *kind = jstr(cause, "kind");
      if (!kind || strcmp(kind, "children") != 0) continue;
      json_t *ev = json_array_get(json_object_get(cause, "evidence"), 0);
      int child = find_span(t, jstr(ev, "span_id"));
      if (child < 0 || t->spans[child].owner == t->spans[i].owner) continue;
      mw_ex_timing tm = {.children_ns = jint(json_object_get(entry[i], "breakdown"), "children_ns")};
      mw_cause claim;
      int rc = mw__ex_children_claim(a, &tm, &se[child], &claim);
      if (rc < 0) {
        oom = 1;
        break;
      }
      if (rc == 0) continue;
      json_object_set_new(cause, "summary", json_string(claim.summary));
      if (se[child].n_causes) json_object_set_new(ev, "top_cause", json_string(mw__cause_kind_name(top[child].kind)));
      else json_object_del(ev, "top_cause");
      /* the parent's own top cause, if it is this one, says the same now */
      if (k == 0) top[i].summary = jstr(cause, "summary");
    }
  }
  mw_trace_explain te = {.spans = se, .n_spans = t->n, .start_ns = lo, .end_ns = hi};
  const char *summary = oom ? NULL : mw__ex_summary(a, &te);
  if (!summary) {
    free(entry);
    free_parts(j, n);
    return mw__answer_fail(out, MW_ENOMEM, "out of memory");
  }
  mw_jsonw w;
  mw__answer_json(out, ANSWER_MAX, &w);
  mw__jw_obj(&w);
  mw__jw_kstr(&w, "trace_id", trace_hex);
  mw__jw_kint(&w, "duration_ns", hi - lo);
  mw__jw_kint(&w, "start_ns", lo);
  mw__jw_kstr(&w, "summary", summary);
  mw__jw_key(&w, "spans");
  mw__jw_arr(&w);
  for (size_t i = 0; i < t->n; i++)
    if (entry[i]) jw_with_shard(&w, entry[i], c[t->spans[i].owner].shard);
  mw__jw_arr_end(&w);
  jw_federation(&w, c, n);
  mw__jw_obj_end(&w);
  free(entry);
  free_parts(j, n);
  return mw__answer_end(out, &w);
}

/* --- compare -------------------------------------------------------------------------------- */

int mw__fed_compare_thresholds(mw_arena *a, mw_fed_part *p, size_t n, const char *service, const char *name,
                               int64_t *p50, int64_t *p90, int *holds, mw_answer *out) {
  mw__answer_init(out);
  char what[300];
  snprintf(what, sizeof what, "operation %.100s of %.100s", name, service);
  size_t ok;
  if (decide(p, n, out, &ok)) return 1;
  mw_fed_part *c = p;
  json_t **j = parse_parts(c, n);
  if (!j) return mw__answer_fail(out, MW_ENOMEM, "out of memory"), 1;
  hbin *bins = NULL;
  size_t nb = 0, cb = 0, holders = 0;
  int64_t max = 0, own50 = 0, own90 = 0;
  int oom = 0;
  for (size_t i = 0; i < n && !oom; i++) {
    holds[i] = 0;
    if (!j[i]) continue;
    size_t k;
    json_t *op;
    json_array_foreach(json_object_get(j[i], "operations"), k, op) {
      const char *nm = jstr(op, "name");
      if (!nm || strcmp(nm, name) != 0) continue;
      holds[i] = 1;
      holders++;
      own50 = jint(op, "p50_ns");
      own90 = jint(op, "p90_ns");
      if (jint(op, "max_ns") > max) max = jint(op, "max_ns");
      if (add_hist(&bins, &nb, &cb, json_object_get(op, "hist"))) oom = 1;
    }
  }
  free_parts(j, n);
  if (oom) {
    free(bins);
    return mw__answer_fail(out, MW_ENOMEM, "out of memory"), 1;
  }
  if (!holders) {
    free(bins);
    return not_found(c, n, out, what), 1;
  }
  if (holders == 1 || !nb) { /* one shard: its own figures */
    *p50 = own50;
    *p90 = own90;
  } else {
    *p50 = hist_quantile(bins, nb, 0.50, max);
    *p90 = hist_quantile(bins, nb, 0.90, max);
  }
  free(bins);
  if (*p50 < 1) *p50 = 1; /* the sub-request's thresholds are positive */
  if (*p90 < 1) *p90 = 1;
  return 0;
}

/* Adds the raw graph src into into (names merged level by level). */
static void merge_node(mw_arena *a, mw_cmp_node *into, json_t *src, int depth) {
  json_t *w = json_object_get(src, "w");
  into->w[0] += json_number_value(json_array_get(w, 0));
  into->w[1] += json_number_value(json_array_get(w, 1));
  if (depth >= 48) return;
  size_t i;
  json_t *k;
  json_array_foreach(json_object_get(src, "children"), i, k) {
    const char *nm = jstr(k, "name");
    mw_cmp_node *kid = nm ? mw__cmp_child(a, into, nm, strlen(nm)) : NULL;
    if (kid) merge_node(a, kid, k, depth + 1);
  }
}

int mw__fed_merge_compare(mw_arena *a, const mw_fed_part *p1, mw_fed_part *p2, size_t n, const char *service,
                          const char *name, int64_t p50, int64_t p90, mw_answer *out) {
  mw__answer_init(out);
  mw_fed_part *c = second_round(p1, p2, n, out);
  if (!c) return out->rc;
  json_t **j = parse_parts(c, n);
  if (!j) return mw__answer_fail(out, MW_ENOMEM, "out of memory");
  mw_cmp_group g[2] = {{.threshold = p90}, {.threshold = p50}};
  mw_cmp_node samples = {.name = "all"}, trace = {.name = "all"};
  int64_t count = 0;
  size_t got = 0;
  for (size_t i = 0; i < n; i++) {
    json_t *groups = j[i] ? json_object_get(j[i], "groups") : NULL;
    if (json_array_size(groups) != 2) {
      if (j[i]) { /* not the raw form: this shard's part cannot be merged */
        c[i].rc = MW_EIO;
        snprintf(c[i].error, sizeof c[i].error, "its comparison is not in the raw form");
      }
      continue;
    }
    got++;
    count += jint(j[i], "count");
    for (int k = 0; k < 2; k++) {
      json_t *gk = json_array_get(groups, (size_t)k);
      g[k].spans += (size_t)jint(gk, "spans");
      g[k].traced += (size_t)jint(gk, "traced");
      g[k].gc_hit += (size_t)jint(gk, "gc_hit");
      json_t *sh = json_object_get(gk, "share");
      for (size_t s = 0; s < MW_CMP_SHARES; s++) g[k].share[s] += json_number_value(json_array_get(sh, s));
    }
    merge_node(a, &samples, json_object_get(j[i], "flame_samples"), 0);
    merge_node(a, &trace, json_object_get(j[i], "flame_trace"), 0);
  }
  if (!got) {
    free_parts(j, n);
    char what[300];
    snprintf(what, sizeof what, "operation %.100s of %.100s", name, service);
    return not_found(c, n, out, what);
  }
  mw_jsonw w;
  mw__answer_json(out, 64u << 20, &w);
  mw__jw_obj(&w);
  mw__cmp_render(&w, service, name, count, p50, p90, g, &samples, &trace);
  jw_federation(&w, c, n);
  mw__jw_obj_end(&w);
  free_parts(j, n);
  return mw__answer_end(out, &w);
}

/* --- tag names and values (Tempo's) ----------------------------------------------------------- */

typedef struct tagv {
  const char *v, *type; /* type NULL: a plain name or v1 value */
} tagv;

static int cmp_tagv(const void *x, const void *y) {
  const tagv *a = x, *b = y;
  int c = strcmp(a->v, b->v);
  return c ? c : strcmp(a->type ? a->type : "", b->type ? b->type : "");
}

/* The union of the lists (strings, or {type, value} objects), sorted, each
 * once; NULL on exhaustion. */
static tagv *tag_union(json_t **lists, size_t n_lists, size_t *n_out) {
  size_t total = 0;
  for (size_t i = 0; i < n_lists; i++) total += json_array_size(lists[i]);
  tagv *v = malloc((total + 1) * sizeof *v);
  if (!v) return NULL;
  size_t k = 0;
  for (size_t i = 0; i < n_lists; i++) {
    size_t t;
    json_t *x;
    json_array_foreach(lists[i], t, x) {
      if (json_is_string(x)) v[k++] = (tagv){json_string_value(x), NULL};
      else if (jstr(x, "value")) v[k++] = (tagv){jstr(x, "value"), jstr(x, "type")};
    }
  }
  if (k) qsort(v, k, sizeof *v, cmp_tagv);
  size_t u = 0;
  for (size_t i = 0; i < k; i++)
    if (!u || cmp_tagv(&v[u - 1], &v[i])) v[u++] = v[i];
  *n_out = u;
  return v;
}

static void jw_tags(mw_jsonw *w, const tagv *v, size_t n, size_t limit) {
  mw__jw_arr(w);
  for (size_t i = 0; i < n && i < limit; i++) {
    if (!v[i].type) {
      mw__jw_str(w, v[i].v);
      continue;
    }
    mw__jw_obj(w);
    mw__jw_kstr(w, "type", v[i].type);
    mw__jw_kstr(w, "value", v[i].v);
    mw__jw_obj_end(w);
  }
  mw__jw_arr_end(w);
}

int mw__fed_merge_tags(mw_arena *a, mw_fed_part *p, size_t n, int v2, int values, size_t limit, mw_answer *out) {
  mw__answer_init(out);
  if (decide(p, n, out, NULL)) return out->rc;
  mw_fed_part *c = p;
  json_t **j = parse_parts(c, n);
  json_t **lists = calloc(n + 1, sizeof *lists);
  if (!j || !lists) {
    free(lists);
    free_parts(j, n);
    return mw__answer_fail(out, MW_ENOMEM, "out of memory");
  }
  int oom = 0;
  mw_jsonw w;
  mw__answer_json(out, ANSWER_MAX, &w);
  mw__jw_obj(&w);
  if (values || !v2) { /* one list: tagValues, or v1's tagNames */
    const char *key = values ? "tagValues" : "tagNames";
    size_t m = 0, u = 0;
    for (size_t i = 0; i < n; i++)
      if (j[i]) lists[m++] = json_object_get(j[i], key);
    tagv *v = tag_union(lists, m, &u);
    if (!v) oom = 1;
    mw__jw_key(&w, key);
    jw_tags(&w, v, oom ? 0 : u, limit);
    free(v);
  } else { /* v2's scopes, in the order the shards name them */
    mw__jw_key(&w, "scopes");
    mw__jw_arr(&w);
    const char *done[8];
    size_t n_done = 0;
    for (size_t i = 0; i < n && !oom; i++) {
      size_t s;
      json_t *scope;
      json_array_foreach(j[i] ? json_object_get(j[i], "scopes") : NULL, s, scope) {
        const char *name = jstr(scope, "name");
        int seen = !name;
        for (size_t d = 0; d < n_done && !seen; d++) seen = strcmp(done[d], name) == 0;
        if (seen || n_done == sizeof done / sizeof done[0]) continue;
        done[n_done++] = name;
        size_t m = 0, u = 0;
        for (size_t k = 0; k < n; k++) {
          size_t t;
          json_t *sc;
          json_array_foreach(j[k] ? json_object_get(j[k], "scopes") : NULL, t, sc) {
            const char *nm = jstr(sc, "name");
            if (nm && strcmp(nm, name) == 0 && m < n) lists[m++] = json_object_get(sc, "tags");
          }
        }
        tagv *v = tag_union(lists, m, &u);
        if (!v) oom = 1;
        mw__jw_obj(&w);
        mw__jw_kstr(&w, "name", name);
        mw__jw_key(&w, "tags");
        jw_tags(&w, v, oom ? 0 : u, limit);
        mw__jw_obj_end(&w);
        free(v);
      }
    }
    mw__jw_arr_end(&w);
  }
  int64_t bytes = 0;
  for (size_t i = 0; i < n; i++)
    if (j[i]) bytes += jint(json_object_get(j[i], "metrics"), "inspectedBytes");
  mw__jw_key(&w, "metrics");
  mw__jw_obj(&w);
  mw__jw_key(&w, "inspectedBytes");
  mw__jw_int_str(&w, bytes);
  mw__jw_obj_end(&w);
  jw_federation(&w, c, n);
  mw__jw_obj_end(&w);
  free(lists);
  free_parts(j, n);
  if (oom) return mw__answer_fail(out, MW_ENOMEM, "out of memory");
  (void)a;
  return mw__answer_end(out, &w);
}

/* --- sources (docs/FEDERATION.md, "One shard's data") --------------------------------- */

typedef struct src_row {
  json_t *o;
  size_t shard, at; /* its part, and its place there */
  const char *service, *instance;
} src_row;

/* The local listing's order (service, instance), then the shard, then the
 * shard's own order. */
static int cmp_src(const void *x, const void *y) {
  const src_row *a = x, *b = y;
  int c = strcmp(a->service, b->service);
  if (!c) c = strcmp(a->instance, b->instance);
  if (!c) c = (a->shard > b->shard) - (a->shard < b->shard);
  if (!c) c = (a->at > b->at) - (a->at < b->at);
  return c;
}

static src_row src_of(json_t *x, size_t shard, size_t at) {
  const char *s = jstr(x, "service"), *i = jstr(x, "instance");
  return (src_row){.o = x, .shard = shard, .at = at, .service = s ? s : "", .instance = i ? i : ""};
}

int mw__fed_merge_sources(mw_arena *a, mw_fed_part *p, size_t n, size_t offset, size_t limit, mw_answer *out) {
  (void)a;
  mw__answer_init(out);
  if (decide(p, n, out, NULL)) return out->rc;
  json_t **j = parse_parts(p, n);
  if (!j) return mw__answer_fail(out, MW_ENOMEM, "out of memory");
  size_t nr = 0;
  for (size_t i = 0; i < n; i++)
    if (j[i]) nr += json_array_size(json_object_get(j[i], "sources"));
  src_row *rows = calloc(nr + 1, sizeof *rows);
  if (!rows) {
    free_parts(j, n);
    return mw__answer_fail(out, MW_ENOMEM, "out of memory");
  }
  /* each shard's rows, and the first of the shards' last rows among those
   * that said more: past it, a row may come after rows a shard still holds */
  size_t k = 0;
  src_row cut = {0};
  int has_cut = 0;
  for (size_t i = 0; i < n; i++) {
    json_t *arr = j[i] ? json_object_get(j[i], "sources") : NULL, *x;
    size_t at;
    json_array_foreach(arr, at, x) if (json_is_object(x)) rows[k++] = src_of(x, i, at);
    size_t m = json_array_size(arr);
    if (m && json_is_true(json_object_get(j[i], "more"))) {
      src_row last = src_of(json_array_get(arr, m - 1), i, m - 1);
      if (!has_cut || cmp_src(&last, &cut) < 0) cut = last, has_cut = 1;
    }
  }
  qsort(rows, k, sizeof *rows, cmp_src);
  size_t certain = k;
  if (has_cut)
    for (certain = 0; certain < k && cmp_src(&rows[certain], &cut) <= 0;) certain++;
  size_t end = offset + limit < certain ? offset + limit : certain;
  int more = any_more(j, n) || certain > offset + limit;
  mw_jsonw w;
  mw__answer_json(out, ANSWER_MAX, &w);
  mw__jw_obj(&w);
  mw__jw_key(&w, "sources");
  mw__jw_arr(&w);
  for (size_t r = offset; r < end; r++) jw_with_shard(&w, rows[r].o, p[rows[r].shard].shard);
  mw__jw_arr_end(&w);
  mw__jw_page(&w, more ? (end > offset ? end : offset) : 0);
  jw_federation(&w, p, n);
  mw__jw_obj_end(&w);
  free(rows);
  free_parts(j, n);
  return mw__answer_end(out, &w);
}

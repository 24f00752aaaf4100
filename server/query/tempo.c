/* Grafana Tempo's search, tag names and tag values (see tempo.h).
 *
 * Nothing here adds an index: a filtered search reads the spans the plain
 * search would read (store/reader.c: per operation, through spans_by_op or
 * slow_spans, longest first), at most MW_TEMPO_SCAN_SPANS of them, decodes
 * each one's attributes and its resource's, and keeps the traces of those
 * that match. Tag names and values come from the resources of the sources
 * seen in the window and from the latest MW_TEMPO_TAG_SPANS spans stored;
 * service and span names, which `operations` lists, come from there whole. */
#include "query/tempo.h"
#include "core/bmap.h"
#include "core/error.h"
#include "core/hex.h"
#include "decode/span_form.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Grows an arena array of n elements of size sz so that one more fits. */
static void *grow(mw_arena *a, void *items, size_t n, size_t *cap, size_t sz) {
  if (n < *cap) return items;
  size_t nc = *cap ? 2 * *cap : 16;
  void *p = mw__arena_alloc(a, nc * sz);
  if (!p) return NULL;
  if (n) memcpy(p, items, n * sz);
  *cap = nc;
  return p;
}

/* --- logfmt ----------------------------------------------------------------- */

int mw__tempo_logfmt(mw_arena *a, const char *s, mw_tempo_tag **out, size_t *n, char *err, size_t errsz) {
  *n = 0;
  *out = mw__arena_calloc(a, MW_TEMPO_MAX_TAGS, sizeof **out);
  char *buf = mw__arena_alloc(a, strlen(s) + 1);
  if (!*out || !buf) {
    snprintf(err, errsz, "out of memory");
    return MW_ENOMEM;
  }
  const char *p = s;
  for (;;) {
    while (*p == ' ' || *p == '\t') p++;
    if (!*p) break;
    const char *k = p;
    while (*p && *p != '=' && *p != ' ' && *p != '\t' && *p != '"') p++;
    if (*p != '=' || p == k) {
      snprintf(err, errsz, "tags must be logfmt key=value pairs separated by spaces, got \"%.40s\"", k);
      return MW_EINVAL;
    }
    if (*n == MW_TEMPO_MAX_TAGS) {
      snprintf(err, errsz, "tags holds more than %d key=value pairs", MW_TEMPO_MAX_TAGS);
      return MW_EINVAL;
    }
    char *key = buf;
    memcpy(buf, k, (size_t)(p - k));
    buf += p - k;
    *buf++ = '\0';
    p++; /* '=' */
    char *val = buf;
    if (*p == '"') {
      for (p++; *p && *p != '"'; p++) {
        if (*p == '\\' && (p[1] == '"' || p[1] == '\\')) p++;
        *buf++ = *p;
      }
      if (*p != '"') {
        snprintf(err, errsz, "tags: the value of %.40s has no closing double quote", key);
        return MW_EINVAL;
      }
      p++;
      if (*p && *p != ' ' && *p != '\t') {
        snprintf(err, errsz, "tags: a space must follow the quoted value of %.40s", key);
        return MW_EINVAL;
      }
    } else {
      while (*p && *p != ' ' && *p != '\t') {
        if (*p == '"' || *p == '=') {
          snprintf(err, errsz, "tags: the value of %.40s must be quoted to hold '%c'", key, *p);
          return MW_EINVAL;
        }
        *buf++ = *p++;
      }
    }
    *buf++ = '\0';
    (*out)[(*n)++] = (mw_tempo_tag){key, val};
  }
  return MW_OK;
}

/* --- attributes ------------------------------------------------------------- */

/* The attributes of kvs that TraceQL compares (strings, integers, doubles,
 * booleans; arrays, maps and bytes are left out). */
static mw_tql_attr *attrs_of(mw_arena *a, mw_otlp_kv *const *kvs, size_t n, size_t *out_n) {
  *out_n = 0;
  mw_tql_attr *v = mw__arena_calloc(a, n + 1, sizeof *v);
  if (!v) return NULL;
  for (size_t i = 0; i < n; i++) {
    const mw_otlp_value *x = kvs[i]->value;
    mw_tql_attr t = {.key = kvs[i]->key};
    switch (x ? x->value_case : 0) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
      t.type = MW_TQL_STRING, t.s = x->string_value;
      break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE: t.type = MW_TQL_INT, t.i = x->int_value; break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
      t.type = MW_TQL_DOUBLE, t.d = x->double_value;
      break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
      t.type = MW_TQL_BOOL, t.i = x->bool_value;
      break;
    default: continue;
    }
    v[(*out_n)++] = t;
  }
  return v;
}

/* An attribute's value as text (buf when it is not a string). */
static const char *attr_text(const mw_tql_attr *t, char *buf, size_t n) {
  switch (t->type) {
  case MW_TQL_STRING: return t->s ? t->s : "";
  case MW_TQL_INT: snprintf(buf, n, "%" PRId64, t->i); return buf;
  case MW_TQL_DOUBLE: snprintf(buf, n, "%.17g", t->d); return buf;
  default: return t->i ? "true" : "false";
  }
}

static const char *type_name(int type) {
  return type == MW_TQL_STRING ? "string" : type == MW_TQL_INT ? "int" : type == MW_TQL_DOUBLE ? "float" : "bool";
}

/* 1 when needle is in hay, ASCII letters compared without case. */
static int contains_ci(const char *hay, const char *needle) {
  size_t n = strlen(needle);
  for (const char *p = hay;; p++) {
    size_t i = 0;
    while (i < n && p[i]) {
      char x = p[i], y = needle[i];
      if (x >= 'A' && x <= 'Z') x = (char)(x - 'A' + 'a');
      if (y >= 'A' && y <= 'Z') y = (char)(y - 'A' + 'a');
      if (x != y) break;
      i++;
    }
    if (i == n) return 1;
    if (!*p) return 0;
  }
}

/* A span read whole, with its attributes and its resource's. */
typedef struct span_view {
  mw_tql_span t;
  size_t body_bytes;
} span_view;

typedef struct res_entry {
  int64_t id;
  mw_tql_attr *attrs;
  size_t n;
} res_entry;

/* Resources by source id, decoded once per request. */
typedef struct res_cache {
  res_entry *v;
  size_t n, cap;
} res_cache;

static const res_entry *resource_of(mw_query *q, res_cache *c, int64_t id) {
  for (size_t i = 0; i < c->n; i++)
    if (c->v[i].id == id) return &c->v[i];
  mw_stored_blob b;
  if (mw__store_source_resource(q->rd, q->arena, id, &b)) return NULL;
  if (!(c->v = grow(q->arena, c->v, c->n, &c->cap, sizeof *c->v))) return NULL;
  res_entry *e = &c->v[c->n];
  e->id = id;
  e->attrs = NULL;
  e->n = 0;
  const char *schema_url;
  mw_otlp_resource *res = b.data && b.len ? mw__span_form_get_resource(q->arena, b.data, b.len, &schema_url) : NULL;
  if (res && !(e->attrs = attrs_of(q->arena, res->attributes, res->n_attributes, &e->n))) return NULL;
  c->n++;
  return e;
}

/* Decodes s into v; MW_ENOMEM, or MW_EIO for a body that does not decode. */
static int view_of(mw_query *q, res_cache *c, const mw_stored_span *s, span_view *v) {
  memset(v, 0, sizeof *v);
  mw_span_row *row = mw__arena_calloc(q->arena, 1, sizeof *row);
  if (!row) return MW_ENOMEM;
  mw__stored_span_row(s, row);
  mw_otlp_span *sp = mw__span_form_get_span(q->arena, row);
  if (!sp) return MW_EIO;
  const res_entry *r = resource_of(q, c, s->source_id);
  if (!r) return MW_ENOMEM;
  v->t.name = s->name;
  v->t.kind = s->kind;
  v->t.status = s->status;
  v->t.dur_ns = s->dur_ns;
  if (!(v->t.attrs = attrs_of(q->arena, sp->attributes, sp->n_attributes, &v->t.n_attrs))) return MW_ENOMEM;
  v->t.res = r->attrs;
  v->t.n_res = r->n;
  v->body_bytes = s->body_len;
  return MW_OK;
}

/* 1 when one attribute of attrs has key and a value holding want. */
static int attrs_hold(const mw_tql_attr *attrs, size_t n, const char *key, const char *want) {
  char buf[32];
  for (size_t i = 0; i < n; i++)
    if (strcmp(attrs[i].key, key) == 0 && contains_ci(attr_text(&attrs[i], buf, sizeof buf), want)) return 1;
  return 0;
}

static int tags_match(const mw_tempo_tag *tags, size_t n, const mw_tql_span *s) {
  for (size_t i = 0; i < n; i++) {
    const char *k = tags[i].key, *v = tags[i].value;
    int ok = (strcmp(k, "name") == 0 && contains_ci(s->name, v)) || attrs_hold(s->attrs, s->n_attrs, k, v) ||
             attrs_hold(s->res, s->n_res, k, v);
    if (!ok) return 0;
  }
  return 1;
}

/* --- search ------------------------------------------------------------------ */

/* A matching span as listed: its row, and the attributes the tags matched
 * (Tempo lists the attributes a query names). */
typedef struct kept_span {
  mw_stored_span s;
  const mw_tql_attr **attrs;
  size_t n_attrs;
} kept_span;

typedef struct trace_hit {
  mw_search_hit h;
  kept_span *spans; /* the first spss matching spans read */
  size_t n_spans, matched;
} trace_hit;

typedef struct search_ctx {
  mw_query *q;
  const mw_tempo_search *p;
  res_cache res;
  mw_bmap *seen;    /* trace id -> its index in hits, or -1 when its page was skipped */
  mw_bmap *visited; /* the traces of the spans read */
  trace_hit *hits;
  size_t n, found, next;
  size_t inspected_bytes;
  int trace_level;   /* q has &&, >>, ... between spansets: evaluate whole traces */
  int trace_dur;     /* minDuration/maxDuration bound the trace's duration (tags) */
  size_t eval_spans; /* spans read by whole-trace evaluations */
  int cut;           /* a bound other than the scan's stopped the search */
  int rc;
} search_ctx;

/* The attributes of v that the tags matched, one per tag but for `name`. */
static int keep(search_ctx *c, const mw_stored_span *s, const span_view *v, kept_span *k) {
  k->s = *s;
  k->n_attrs = 0;
  k->attrs = c->p->n_tags ? mw__arena_calloc(c->q->arena, c->p->n_tags, sizeof *k->attrs) : NULL;
  if (c->p->n_tags && !k->attrs) return MW_ENOMEM;
  char buf[32];
  for (size_t i = 0; i < c->p->n_tags; i++) {
    const mw_tempo_tag *t = &c->p->tags[i];
    const mw_tql_attr *found = NULL;
    for (size_t j = 0; !found && j < v->t.n_attrs; j++)
      if (!strcmp(v->t.attrs[j].key, t->key) && contains_ci(attr_text(&v->t.attrs[j], buf, sizeof buf), t->value))
        found = &v->t.attrs[j];
    for (size_t j = 0; !found && j < v->t.n_res; j++)
      if (!strcmp(v->t.res[j].key, t->key) && contains_ci(attr_text(&v->t.res[j], buf, sizeof buf), t->value))
        found = &v->t.res[j];
    if (found) k->attrs[k->n_attrs++] = found;
  }
  return MW_OK;
}

/* The spans of a trace, read whole, as mw_tql_spans with their ids. */
typedef struct whole_trace {
  mw_trace_rows rows;
  mw_tql_span *spans;
} whole_trace;

/* Reads the trace of trace_id for a whole-trace evaluation; *ok = 0 when it
 * is past a bound (c->cut says so). */
static int read_whole(search_ctx *c, const uint8_t trace_id[16], whole_trace *w, int *ok) {
  *ok = 0;
  int rc = mw__store_read_trace(c->q->rd, c->q->arena, trace_id, MW_TEMPO_TRACE_SPANS, &w->rows);
  if (rc == MW_ETOOBIG) return c->cut = 1, MW_OK; /* left out: more spans than a trace may have here */
  if (rc) return rc;
  size_t n = w->rows.n_spans;
  if (c->eval_spans + n > MW_TEMPO_EVAL_SPANS) return c->cut = 2, MW_OK;
  c->eval_spans += n;
  if (!(w->spans = mw__arena_calloc(c->q->arena, n ? n : 1, sizeof *w->spans))) return MW_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    const mw_stored_span *st = &w->rows.spans[i];
    span_view v;
    rc = view_of(c->q, &c->res, st, &v);
    if (rc == MW_EIO) { /* a body that does not decode: its row's fields, no attributes */
      v.t = (mw_tql_span){.name = st->name, .kind = st->kind, .status = st->status, .dur_ns = st->dur_ns};
      rc = MW_OK;
    }
    if (rc) return rc;
    c->inspected_bytes += st->body_len;
    w->spans[i] = v.t;
    w->spans[i].span_id = st->span_id;
    w->spans[i].parent_id = st->has_parent ? st->parent_id : NULL;
  }
  *ok = 1;
  return MW_OK;
}

typedef struct dur_ix {
  int64_t dur_ns;
  size_t i;
} dur_ix;

static int cmp_by_dur(const void *x, const void *y) { /* longest first, then in start order */
  const dur_ix *a = x, *b = y;
  if (a->dur_ns != b->dur_ns) return a->dur_ns > b->dur_ns ? -1 : 1;
  return (a->i > b->i) - (a->i < b->i);
}

/* Whether a trace seen for the first time is in the answer: its duration
 * within minDuration..maxDuration (tags), the spans a trace-level query
 * selects in it (into t, which is then filled but for h). */
static int qualify(search_ctx *c, const mw_stored_span *s, trace_hit *t, int *ok) {
  *ok = 1;
  memset(t, 0, sizeof *t);
  if (c->trace_dur) {
    mw_search_hit h = {0};
    memcpy(h.trace_id, s->trace_id, 16);
    int rc = mw__store_trace_hit(c->q->rd, c->q->arena, &h);
    if (rc) return rc;
    if (h.dur_ns < c->p->base.min_dur_ns || h.dur_ns > c->p->base.max_dur_ns) return *ok = 0, MW_OK;
  }
  if (!c->trace_level) return MW_OK;
  whole_trace w;
  int rc = read_whole(c, s->trace_id, &w, ok);
  if (rc || !*ok) return rc;
  size_t n = w.rows.n_spans, n_sel;
  unsigned char *sel = mw__arena_alloc(c->q->arena, n ? n : 1);
  if (!sel) return MW_ENOMEM;
  if ((rc = mw__tql_eval_trace(c->q->arena, c->p->tql, w.spans, n, sel, &n_sel))) return rc;
  if (!n_sel) return *ok = 0, MW_OK;
  dur_ix *order = mw__arena_alloc(c->q->arena, n_sel * sizeof *order);
  size_t k = 0, room = c->p->spss ? c->p->spss : 1;
  t->spans = mw__arena_calloc(c->q->arena, room, sizeof *t->spans);
  if (!order || !t->spans) return MW_ENOMEM;
  for (size_t i = 0; i < n; i++)
    if (sel[i]) order[k++] = (dur_ix){w.rows.spans[i].dur_ns, i};
  qsort(order, n_sel, sizeof *order, cmp_by_dur);
  for (size_t i = 0; i < n_sel && t->n_spans < c->p->spss; i++)
    t->spans[t->n_spans++] = (kept_span){.s = w.rows.spans[order[i].i]};
  t->matched = n_sel;
  t->h.match_dur_ns = order[0].dur_ns;
  return MW_OK;
}

static int search_visit(void *user, const mw_stored_span *s) {
  search_ctx *c = user;
  span_view v;
  int rc = view_of(c->q, &c->res, s, &v);
  if (rc == MW_EIO) return 0; /* logged by the decoder; not a match */
  if (rc) return c->rc = rc, 1;
  c->inspected_bytes += v.body_bytes;
  if ((c->rc = mw__bmap_put(c->visited, s->trace_id, 16, 1))) return 1;
  if (!tags_match(c->p->tags, c->p->n_tags, &v.t)) return 0;
  if (c->p->tql && !mw__tql_match(c->p->tql, &v.t)) return 0;
  int64_t at;
  if (mw__bmap_get(c->seen, s->trace_id, 16, &at)) {
    if (at < 0 || c->trace_level) return 0; /* left out, or all its spans evaluated */
    trace_hit *t = &c->hits[at];
    t->matched++;
    if (t->n_spans < c->p->spss && (c->rc = keep(c, s, &v, &t->spans[t->n_spans++]))) return 1;
    return 0;
  }
  /* a trace seen for the first time */
  trace_hit found;
  int ok;
  if ((c->rc = qualify(c, s, &found, &ok))) return 1;
  if (c->cut == 2) return 1; /* the whole-trace evaluations read all they may */
  if (!ok) {
    if ((c->rc = mw__bmap_put(c->seen, s->trace_id, 16, -1))) return 1;
    return 0;
  }
  const mw_page *pg = &c->p->base.page;
  if (c->found++ < pg->offset) {
    if ((c->rc = mw__bmap_put(c->seen, s->trace_id, 16, -1))) return 1;
    return 0;
  }
  if (c->n == pg->limit) { /* the page is full, and more follow */
    c->next = pg->offset + c->n;
    return 1;
  }
  trace_hit *t = &c->hits[c->n];
  *t = found;
  memcpy(t->h.trace_id, s->trace_id, 16);
  if (!c->trace_level) {
    t->h.match_dur_ns = s->dur_ns;
    t->spans = mw__arena_calloc(c->q->arena, c->p->spss ? c->p->spss : 1, sizeof *t->spans);
    if (!t->spans) return c->rc = MW_ENOMEM, 1;
    t->matched = 1;
    if (c->p->spss && (c->rc = keep(c, s, &v, &t->spans[t->n_spans++]))) return 1;
  }
  if ((c->rc = mw__bmap_put(c->seen, s->trace_id, 16, (int64_t)c->n))) return 1;
  c->n++;
  return 0;
}

/* An attribute as an OTLP JSON KeyValue. */
static void write_attr(mw_jsonw *w, const mw_tql_attr *a) {
  mw__jw_obj(w);
  mw__jw_kstr(w, "key", a->key);
  mw__jw_key(w, "value");
  mw__jw_obj(w);
  switch (a->type) {
  case MW_TQL_STRING: mw__jw_kstr(w, "stringValue", a->s ? a->s : ""); break;
  case MW_TQL_INT:
    mw__jw_key(w, "intValue");
    mw__jw_int_str(w, a->i);
    break;
  case MW_TQL_DOUBLE: mw__jw_kdouble(w, "doubleValue", a->d); break;
  default: mw__jw_kbool(w, "boolValue", (int)a->i);
  }
  mw__jw_obj_end(w);
  mw__jw_obj_end(w);
}

static void write_spanset(mw_jsonw *w, const trace_hit *t) {
  mw__jw_obj(w);
  mw__jw_key(w, "spans");
  mw__jw_arr(w);
  for (size_t i = 0; i < t->n_spans; i++) {
    const kept_span *k = &t->spans[i];
    const mw_stored_span *s = &k->s;
    mw__jw_obj(w);
    mw__jw_key(w, "spanID");
    mw__jw_hex(w, s->span_id, 8);
    mw__jw_kstr(w, "name", s->name);
    mw__jw_key(w, "startTimeUnixNano");
    mw__jw_int_str(w, s->start_ns);
    mw__jw_key(w, "durationNanos");
    mw__jw_int_str(w, s->dur_ns);
    if (k->n_attrs) {
      mw__jw_key(w, "attributes");
      mw__jw_arr(w);
      for (size_t j = 0; j < k->n_attrs; j++) write_attr(w, k->attrs[j]);
      mw__jw_arr_end(w);
    }
    mw__jw_obj_end(w);
  }
  mw__jw_arr_end(w);
  mw__jw_kint(w, "matched", (int64_t)t->matched);
  mw__jw_obj_end(w);
}

int mw__q_tempo_search(mw_query *q, const mw_tempo_search *p, mw_answer *out) {
  mw__answer_init(out);
  int durations = p->base.min_dur_ns > 0 || p->base.max_dur_ns != INT64_MAX;
  if (p->tql && p->n_tags) /* as Tempo: "can't specify tags and q in the same query" */
    return mw__answer_fail(out, MW_EINVAL, "tags and q are not taken together: write the tags into the query");
  if (mw__query_open(q, out)) return out->rc;
  search_ctx c = {.q = q, .p = p, .trace_level = mw__tql_trace_level(p->tql), .trace_dur = p->n_tags && durations};
  /* the scan: a trace no longer than maxDuration has no span longer; a span
   * shorter than minDuration may be in a trace that lasts longer */
  mw_search_query scan = p->base;
  if (c.trace_dur) scan.min_dur_ns = 0;
  /* an equality on resource.service.name or name narrows the scan to those operations */
  const char *svc, *name;
  mw__tql_required(p->tql, &svc, &name);
  if (svc && !scan.service) scan.service = svc;
  if (name && !scan.name) scan.name = name;
  c.hits = mw__arena_calloc(q->arena, p->base.page.limit + 1, sizeof *c.hits);
  c.seen = mw__bmap_new(0);
  c.visited = mw__bmap_new(0);
  if (!c.hits || !c.seen || !c.visited) {
    mw__bmap_free(c.seen);
    mw__bmap_free(c.visited);
    return mw__answer_fail(out, MW_ENOMEM, "out of memory");
  }
  size_t visited = 0;
  int rc = mw__store_scan_longest(q->rd, q->arena, &scan, MW_TEMPO_SCAN_SPANS, search_visit, &c, &visited);
  size_t traces = mw__bmap_count(c.visited);
  mw__bmap_free(c.seen);
  mw__bmap_free(c.visited);
  if (!rc) rc = c.rc;
  if (rc) return mw__answer_fail(out, rc, "search failed: %s", mw__strerror(rc));
  size_t room = 4096;
  for (size_t i = 0; i < c.n; i++) {
    if ((rc = mw__store_trace_hit(q->rd, q->arena, &c.hits[i].h)))
      return mw__answer_fail(out, rc, "search failed: %s", mw__strerror(rc));
    room += 512 + mw__json_room(c.hits[i].h.root_service) + mw__json_room(c.hits[i].h.root_name);
    for (size_t k = 0; k < c.hits[i].n_spans; k++) {
      const kept_span *ks = &c.hits[i].spans[k];
      room += 160 + mw__json_room(ks->s.name);
      for (size_t j = 0; j < ks->n_attrs; j++)
        room += 96 + mw__json_room(ks->attrs[j]->key) +
                (ks->attrs[j]->type == MW_TQL_STRING ? mw__json_room(ks->attrs[j]->s) : 0);
    }
  }
  mw_jsonw w;
  mw__answer_json(out, room, &w);
  mw__jw_obj(&w);
  mw__jw_key(&w, "traces");
  mw__jw_arr(&w);
  for (size_t i = 0; i < c.n; i++) {
    const trace_hit *t = &c.hits[i];
    mw__jw_obj(&w);
    mw__jw_key(&w, "traceID");
    mw__jw_hex(&w, t->h.trace_id, 16);
    mw__jw_kstr(&w, "rootServiceName", t->h.root_service ? t->h.root_service : "<root span not yet received>");
    if (t->h.root_name) mw__jw_kstr(&w, "rootTraceName", t->h.root_name);
    mw__jw_key(&w, "startTimeUnixNano");
    mw__jw_int_str(&w, t->h.start_ns);
    mw__jw_kdouble(&w, "durationMs", (double)t->h.dur_ns / 1e6);
    mw__jw_kdouble(&w, "matchedSpanDurationMs", (double)t->h.match_dur_ns / 1e6);
    mw__jw_key(&w, "spanSet"); /* the older field, which Grafana still reads when spanSets is absent */
    write_spanset(&w, t);
    mw__jw_key(&w, "spanSets");
    mw__jw_arr(&w);
    write_spanset(&w, t);
    mw__jw_arr_end(&w);
    mw__jw_obj_end(&w);
  }
  mw__jw_arr_end(&w);
  mw__jw_key(&w, "metrics");
  mw__jw_obj(&w);
  mw__jw_kint(&w, "inspectedTraces", (int64_t)traces);
  mw__jw_kint(&w, "inspectedSpans", (int64_t)(visited + c.eval_spans));
  mw__jw_key(&w, "inspectedBytes");
  mw__jw_int_str(&w, (int64_t)c.inspected_bytes);
  mw__jw_kint(&w, "completedJobs", 1);
  mw__jw_kint(&w, "totalJobs", 1);
  mw__jw_obj_end(&w);
  /* the scan stopped at its bound, not at the end of what matches: say so */
  mw__jw_kbool(&w, "spanLimitReached", !c.next && (visited == MW_TEMPO_SCAN_SPANS || c.cut));
  mw__jw_page(&w, c.next);
  mw__jw_obj_end(&w);
  return mw__answer_end(out, &w);
}

/* --- tag names and values ----------------------------------------------------- */

typedef struct typed {
  const char *v;
  int type;
} typed;

/* A set of strings (or typed values), kept in the order found, sorted at the end. */
typedef struct str_set {
  mw_bmap *seen;
  typed *v;
  size_t n, cap, max;
  int full; /* more were found than max */
} str_set;

static int set_add(mw_arena *a, str_set *s, const char *text, int type) {
  size_t len = strlen(text);
  char *key = mw__arena_alloc(a, len + 2);
  if (!key) return MW_ENOMEM;
  key[0] = (char)('0' + type);
  memcpy(key + 1, text, len + 1);
  int64_t one;
  if (mw__bmap_get(s->seen, key, len + 1, &one)) return MW_OK;
  if (s->n == s->max) {
    s->full = 1;
    return MW_OK;
  }
  int rc = mw__bmap_put(s->seen, key, len + 1, 1);
  if (rc) return rc;
  if (!(s->v = grow(a, s->v, s->n, &s->cap, sizeof *s->v))) return MW_ENOMEM;
  s->v[s->n++] = (typed){key + 1, type};
  return MW_OK;
}

static int cmp_typed(const void *x, const void *y);

static void set_sort(str_set *s) {
  if (s->n) qsort(s->v, s->n, sizeof *s->v, cmp_typed);
}

static int set_init(str_set *s, size_t max) {
  memset(s, 0, sizeof *s);
  s->max = max;
  s->seen = mw__bmap_new(0);
  return s->seen ? MW_OK : MW_ENOMEM;
}

static void set_free(str_set *s) { mw__bmap_free(s->seen); }

static const char *const intrinsics[] = {"duration", "kind", "name", "status"};

/* What a tags or values walk collects from the spans and resources it reads. */
typedef struct tag_ctx {
  mw_query *q;
  res_cache res;
  const mw_tql *tql;
  str_set *res_keys, *span_keys; /* tag names (NULL: not wanted) */
  const char *want;              /* tag values: the key */
  int want_res, want_span;       /* ... from resources, from spans */
  str_set *values;               /* ... into */
  int64_t *res_done;             /* resources already taken for values or keys */
  size_t n_res_done, cap_res_done;
  size_t inspected_bytes;
  int rc;
} tag_ctx;

static int take_attrs(tag_ctx *c, const mw_tql_attr *attrs, size_t n, str_set *keys, int values) {
  char buf[32];
  for (size_t i = 0; i < n; i++) {
    int rc = MW_OK;
    if (keys) rc = set_add(c->q->arena, keys, attrs[i].key, 0);
    if (!rc && values && strcmp(attrs[i].key, c->want) == 0) {
      const char *t = attr_text(&attrs[i], buf, sizeof buf);
      char *copy = t == buf ? mw__arena_strndup(c->q->arena, t, strlen(t)) : (char *)t;
      rc = copy ? set_add(c->q->arena, c->values, copy, attrs[i].type) : MW_ENOMEM;
    }
    if (rc) return rc;
  }
  return MW_OK;
}

/* Takes the attributes of a resource once. */
static int take_resource(tag_ctx *c, int64_t id, const mw_tql_attr *attrs, size_t n) {
  for (size_t i = 0; i < c->n_res_done; i++)
    if (c->res_done[i] == id) return MW_OK;
  if (!(c->res_done = grow(c->q->arena, c->res_done, c->n_res_done, &c->cap_res_done, sizeof *c->res_done)))
    return MW_ENOMEM;
  c->res_done[c->n_res_done++] = id;
  return take_attrs(c, attrs, n, c->res_keys, c->want && c->want_res);
}

static int tag_visit(void *user, const mw_stored_span *s) {
  tag_ctx *c = user;
  span_view v;
  int rc = view_of(c->q, &c->res, s, &v);
  if (rc == MW_EIO) return 0;
  if (rc) return c->rc = rc, 1;
  c->inspected_bytes += v.body_bytes;
  if (c->tql && !mw__tql_match(c->tql, &v.t)) return 0;
  if ((rc = take_attrs(c, v.t.attrs, v.t.n_attrs, c->span_keys, c->want && c->want_span)) ||
      (c->tql && (rc = take_resource(c, s->source_id, v.t.res, v.t.n_res))))
    return c->rc = rc, 1;
  return 0;
}

/* Walks the resources of the window (unless a TraceQL filter narrows to the
 * resources of the spans it matches) and the latest spans. */
static int tag_walk(tag_ctx *c, int64_t start_ns, int64_t end_ns) {
  int rc;
  if (!c->tql && (c->res_keys || (c->want && c->want_res))) {
    mw_stored_blob *res;
    size_t n;
    int more;
    if ((rc = mw__store_source_resources(c->q->rd, c->q->arena, start_ns, end_ns, MW_TEMPO_TAG_SOURCES, &res, &n,
                                         &more)))
      return rc;
    for (size_t i = 0; i < n; i++) {
      const char *schema_url;
      mw_otlp_resource *r =
          res[i].len ? mw__span_form_get_resource(c->q->arena, res[i].data, res[i].len, &schema_url) : NULL;
      if (!r) continue;
      size_t na;
      mw_tql_attr *attrs = attrs_of(c->q->arena, r->attributes, r->n_attributes, &na);
      if (!attrs) return MW_ENOMEM;
      c->inspected_bytes += res[i].len;
      if ((rc = take_resource(c, res[i].id, attrs, na))) return rc;
    }
  }
  if (c->span_keys || (c->want && c->want_span) || c->tql) {
    rc = mw__store_recent_spans(c->q->rd, c->q->arena, start_ns, end_ns, MW_TEMPO_TAG_SPANS, tag_visit, c);
    if (!rc) rc = c->rc;
    if (rc) return rc;
  }
  return MW_OK;
}

static void write_names(mw_jsonw *w, const str_set *s) {
  mw__jw_arr(w);
  for (size_t i = 0; i < s->n; i++) mw__jw_str(w, s->v[i].v);
  mw__jw_arr_end(w);
}

static void write_metrics(mw_jsonw *w, size_t bytes) {
  mw__jw_key(w, "metrics");
  mw__jw_obj(w);
  mw__jw_key(w, "inspectedBytes");
  mw__jw_int_str(w, (int64_t)bytes);
  mw__jw_obj_end(w);
}

/* Tag names and values take q span by span: a query that selects spans by
 * what else their trace holds is refused there. */
static int span_level_only(const mw_tql *tql, mw_answer *out) {
  if (!mw__tql_trace_level(tql)) return 0;
  mw__answer_fail(out, MW_EINVAL,
                  "q: the spanset operators other than || (&&, >>, >, ~, ...) are taken by /api/search only");
  return 1;
}

int mw__q_tempo_tags(mw_query *q, const mw_tempo_tags_query *p, mw_answer *out) {
  mw__answer_init(out);
  if (span_level_only(p->tql, out)) return out->rc;
  if (mw__query_open(q, out)) return out->rc;
  str_set res_keys, span_keys;
  int rc = set_init(&res_keys, p->limit);
  if (!rc && (rc = set_init(&span_keys, p->limit))) set_free(&res_keys);
  if (rc) return mw__answer_fail(out, rc, "out of memory");
  int want_res = p->scope == MW_TSCOPE_ALL || p->scope == MW_TSCOPE_RESOURCE;
  int want_span = p->scope == MW_TSCOPE_ALL || p->scope == MW_TSCOPE_SPAN;
  int want_intrinsic = p->scope == MW_TSCOPE_INTRINSIC || (p->v2 && p->scope == MW_TSCOPE_ALL);
  tag_ctx c = {
      .q = q, .tql = p->tql, .res_keys = want_res ? &res_keys : NULL, .span_keys = want_span ? &span_keys : NULL};
  if (want_res || want_span) rc = tag_walk(&c, p->start_ns, p->end_ns);
  if (rc) {
    set_free(&res_keys);
    set_free(&span_keys);
    return mw__answer_fail(out, rc, "reading tag names failed: %s", mw__strerror(rc));
  }
  size_t room = 4096;
  for (size_t i = 0; i < res_keys.n; i++) room += 4 + mw__json_room(res_keys.v[i].v);
  for (size_t i = 0; i < span_keys.n; i++) room += 4 + mw__json_room(span_keys.v[i].v);
  mw_jsonw w;
  mw__answer_json(out, room, &w);
  mw__jw_obj(&w);
  if (p->v2) {
    set_sort(&res_keys);
    set_sort(&span_keys);
    mw__jw_key(&w, "scopes");
    mw__jw_arr(&w);
    if (want_res) {
      mw__jw_obj(&w);
      mw__jw_kstr(&w, "name", "resource");
      mw__jw_key(&w, "tags");
      write_names(&w, &res_keys);
      mw__jw_obj_end(&w);
    }
    if (want_span) {
      mw__jw_obj(&w);
      mw__jw_kstr(&w, "name", "span");
      mw__jw_key(&w, "tags");
      write_names(&w, &span_keys);
      mw__jw_obj_end(&w);
    }
    if (want_intrinsic) {
      mw__jw_obj(&w);
      mw__jw_kstr(&w, "name", "intrinsic");
      mw__jw_key(&w, "tags");
      mw__jw_arr(&w);
      for (size_t i = 0; i < sizeof intrinsics / sizeof intrinsics[0]; i++) mw__jw_str(&w, intrinsics[i]);
      mw__jw_arr_end(&w);
      mw__jw_obj_end(&w);
    }
    mw__jw_arr_end(&w);
  } else { /* one list: resource and span names together, once each */
    for (size_t i = 0; !rc && i < span_keys.n; i++) rc = set_add(q->arena, &res_keys, span_keys.v[i].v, 0);
    if (want_intrinsic)
      for (size_t i = 0; !rc && i < sizeof intrinsics / sizeof intrinsics[0]; i++)
        rc = set_add(q->arena, &res_keys, intrinsics[i], 0);
    set_sort(&res_keys);
    mw__jw_key(&w, "tagNames");
    write_names(&w, &res_keys);
  }
  write_metrics(&w, c.inspected_bytes);
  mw__jw_obj_end(&w);
  set_free(&res_keys);
  set_free(&span_keys);
  if (rc) return mw__answer_fail(out, rc, "out of memory");
  return mw__answer_end(out, &w);
}

static int cmp_typed(const void *x, const void *y) {
  const typed *a = x, *b = y;
  int c = strcmp(a->v, b->v);
  return c ? c : (a->type > b->type) - (a->type < b->type);
}

enum { KIND_KEYWORDS = 1, STATUS_KEYWORDS, NO_VALUES };

int mw__q_tempo_tag_values(mw_query *q, const mw_tempo_values_query *p, mw_answer *out) {
  mw__answer_init(out);
  if (span_level_only(p->tql, out)) return out->rc;
  /* which attributes the tag names */
  const char *key = p->tag;
  int want_res = 1, want_span = 1, ops = -1 /* -1: none, 0: services, 1: span names */, keywords = 0;
  if (p->v2) {
    const char *t = p->tag;
    if (strncmp(t, "resource.", 9) == 0) key = t + 9, want_span = 0;
    else if (strncmp(t, "span.", 5) == 0) key = t + 5, want_res = 0;
    else if (t[0] == '.') key = t + 1;
    else if (!strcmp(t, "name") || !strcmp(t, "span:name")) keywords = -1, ops = 1;
    else if (!strcmp(t, "kind") || !strcmp(t, "span:kind")) keywords = KIND_KEYWORDS;
    else if (!strcmp(t, "status") || !strcmp(t, "span:status")) keywords = STATUS_KEYWORDS;
    else if (!strcmp(t, "duration") || !strcmp(t, "span:duration")) keywords = NO_VALUES;
    else
      return mw__answer_fail(out, MW_EINVAL,
                             "tag must be a TraceQL identifier: resource.<key>, span.<key>, .<key>, name, kind, "
                             "status or duration, got \"%.64s\"",
                             t);
    if (!*key) return mw__answer_fail(out, MW_EINVAL, "tag \"%.64s\" names no attribute", t);
  } else if (!strcmp(key, "name")) {
    keywords = -1, ops = 1;
  }
  if (want_res && !strcmp(key, "service.name") && keywords == 0) ops = 0;
  if (mw__query_open(q, out)) return out->rc;
  str_set values;
  if (set_init(&values, p->limit)) return mw__answer_fail(out, MW_ENOMEM, "out of memory");
  int rc = MW_OK;
  size_t bytes = 0;
  static const char *const kinds[] = {"unspecified", "internal", "server", "client", "producer", "consumer"};
  static const char *const statuses[] = {"error", "ok", "unset"};
  if (keywords == KIND_KEYWORDS)
    for (size_t i = 0; !rc && i < 6; i++) rc = set_add(q->arena, &values, kinds[i], MW_TQL_BOOL + 1);
  else if (keywords == STATUS_KEYWORDS)
    for (size_t i = 0; !rc && i < 3; i++) rc = set_add(q->arena, &values, statuses[i], MW_TQL_BOOL + 1);
  else if (keywords == 0 || ops >= 0) {
    if (ops >= 0 && !p->tql) { /* the whole list, from `operations` */
      const char **names;
      size_t n;
      int more;
      rc = mw__store_op_names(q->rd, q->arena, ops, p->limit, &names, &n, &more);
      for (size_t i = 0; !rc && i < n; i++) rc = set_add(q->arena, &values, names[i], MW_TQL_STRING);
      if (more) values.full = 1;
    }
    if (!rc && keywords == 0) {
      tag_ctx c = {.q = q, .tql = p->tql, .want = key, .want_res = want_res, .want_span = want_span, .values = &values};
      rc = tag_walk(&c, p->start_ns, p->end_ns);
      bytes = c.inspected_bytes;
    } else if (!rc && p->tql) { /* span names of the spans the filter matches */
      rc = MW_EINVAL;
      set_free(&values);
      return mw__answer_fail(out, rc, "q is not supported for the values of name");
    }
  }
  if (rc) {
    set_free(&values);
    return mw__answer_fail(out, rc, "reading tag values failed: %s", mw__strerror(rc));
  }
  typed *v = values.v;
  size_t room = 4096;
  for (size_t i = 0; i < values.n; i++) room += 40 + mw__json_room(v[i].v);
  set_free(&values);
  if (values.n) qsort(v, values.n, sizeof *v, cmp_typed);
  mw_jsonw w;
  mw__answer_json(out, room, &w);
  mw__jw_obj(&w);
  mw__jw_key(&w, "tagValues");
  mw__jw_arr(&w);
  for (size_t i = 0; i < values.n; i++) {
    if (!p->v2) {
      if (i && !strcmp(v[i].v, v[i - 1].v)) continue; /* v1 has no types: "200" once */
      mw__jw_str(&w, v[i].v);
      continue;
    }
    mw__jw_obj(&w);
    mw__jw_kstr(&w, "type", v[i].type > MW_TQL_BOOL ? "keyword" : type_name(v[i].type));
    mw__jw_kstr(&w, "value", v[i].v);
    mw__jw_obj_end(&w);
  }
  mw__jw_arr_end(&w);
  write_metrics(&w, bytes);
  mw__jw_obj_end(&w);
  return mw__answer_end(out, &w);
}

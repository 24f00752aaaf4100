/* --corpus FILE: a bench-corpus-gen file as a bi_corpus, so that one
 * bench-ingest run compares the server with plain SQLite on realistic data.
 *
 * The file is records of [u32 LE length][u32 LE span count][request bytes]
 * (bench/corpus/README.md). Each record becomes one batch that is sent once
 * and as it is (its ids are already unique, its times fixed): the corpus is
 * marked as_is, which the sender and the baseline honour. For the baseline
 * each span gets the columns the server stores, read here with a small
 * protobuf walker (independent of the server's decoder): its own ids (offsets
 * into the batch), service and name (an operation), start, duration, kind,
 * status code, and as body the span's other fields (attributes, events,
 * links, status, ...) copied as they are, close to what the server keeps in
 * spans.body. The source is the resource's bytes; the scope is not told
 * apart (one scope row, as the synthetic corpus). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

typedef struct rd {
  const uint8_t *p, *end;
} rd;

static int varint(rd *r, uint64_t *v) {
  *v = 0;
  for (int s = 0; s < 64 && r->p < r->end; s += 7) {
    uint8_t b = *r->p++;
    *v |= (uint64_t)(b & 0x7f) << s;
    if (!(b & 0x80)) return 0;
  }
  return -1;
}

/* The next field: its number, wire type, and for wire type 2 its payload
 * (for the others, val holds the varint or the fixed bytes start at start). */
typedef struct field {
  uint32_t num, wt;
  const uint8_t *start; /* the whole field, key included */
  const uint8_t *data;  /* payload (wt 1, 2, 5) */
  size_t len;           /* payload length */
  uint64_t val;         /* wt 0 */
} field;

static int next_field(rd *r, field *f) {
  uint64_t key;
  f->start = r->p;
  if (varint(r, &key) != 0) return -1;
  f->num = (uint32_t)(key >> 3);
  f->wt = (uint32_t)(key & 7);
  f->data = r->p;
  switch (f->wt) {
  case 0: return varint(r, &f->val);
  case 1: f->len = 8; break;
  case 5: f->len = 4; break;
  case 2: {
    uint64_t n;
    if (varint(r, &n) != 0) return -1;
    f->data = r->p;
    f->len = (size_t)n;
    break;
  }
  default: return -1;
  }
  if ((size_t)(r->end - r->p) < f->len) return -1;
  r->p += f->len;
  return 0;
}

static uint64_t le64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

static void *own(bi_corpus *c, void *p) {
  if (!p) return NULL;
  void **o = realloc(c->owned, (c->n_owned + 1) * sizeof *o);
  if (!o) return NULL;
  c->owned = o;
  c->owned[c->n_owned++] = p;
  return p;
}

static char *own_str(bi_corpus *c, const uint8_t *p, size_t n) {
  char *s = malloc(n + 1);
  if (!s) return NULL;
  memcpy(s, p, n);
  s[n] = 0;
  return own(c, s);
}

/* service.name of a packed Resource ("?" without one). */
static void service_of(const uint8_t *res, size_t len, const uint8_t **name, size_t *name_len) {
  rd r = {res, res + len};
  field f;
  *name = (const uint8_t *)"?";
  *name_len = 1;
  while (r.p < r.end && next_field(&r, &f) == 0) {
    if (f.num != 1 || f.wt != 2) continue;
    rd kv = {f.data, f.data + f.len};
    field k, any = {0};
    const uint8_t *key = NULL;
    size_t key_len = 0;
    int have_val = 0;
    while (kv.p < kv.end && next_field(&kv, &k) == 0) {
      if (k.num == 1 && k.wt == 2) key = k.data, key_len = k.len;
      else if (k.num == 2 && k.wt == 2) any = k, have_val = 1;
    }
    if (!key || key_len != 12 || memcmp(key, "service.name", 12) != 0 || !have_val) continue;
    rd v = {any.data, any.data + any.len};
    field s;
    while (v.p < v.end && next_field(&v, &s) == 0)
      if (s.num == 1 && s.wt == 2) *name = s.data, *name_len = s.len;
  }
}

/* Operation ids by (service, name): an open-addressing table of 1-based ids. */
typedef struct op_table {
  uint32_t *slot;
  size_t cap;
} op_table;

static uint64_t hash(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < an; i++) h = (h ^ a[i]) * 1099511628211ULL;
  h = (h ^ 0xff) * 1099511628211ULL;
  for (size_t i = 0; i < bn; i++) h = (h ^ b[i]) * 1099511628211ULL;
  return h;
}

static uint32_t op_id(bi_corpus *c, op_table *t, const uint8_t *svc, size_t svc_len, const uint8_t *name,
                      size_t name_len) {
  if ((c->n_ops + 1) * 2 > t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 1024;
    uint32_t *slot = calloc(cap, sizeof *slot);
    if (!slot) return 0;
    for (size_t i = 0; i < t->cap; i++) {
      if (!t->slot[i]) continue;
      const bi_op *o = &c->ops[t->slot[i] - 1];
      size_t j =
          hash((const uint8_t *)o->service, strlen(o->service), (const uint8_t *)o->name, strlen(o->name)) & (cap - 1);
      while (slot[j]) j = (j + 1) & (cap - 1);
      slot[j] = t->slot[i];
    }
    free(t->slot);
    t->slot = slot;
    t->cap = cap;
  }
  size_t j = hash(svc, svc_len, name, name_len) & (t->cap - 1);
  for (; t->slot[j]; j = (j + 1) & (t->cap - 1)) {
    const bi_op *o = &c->ops[t->slot[j] - 1];
    if (strlen(o->service) == svc_len && memcmp(o->service, svc, svc_len) == 0 && strlen(o->name) == name_len &&
        memcmp(o->name, name, name_len) == 0)
      return t->slot[j];
  }
  bi_op *ops = realloc(c->ops, (c->n_ops + 1) * sizeof *ops);
  if (!ops) return 0;
  c->ops = ops;
  ops[c->n_ops] = (bi_op){own_str(c, svc, svc_len), own_str(c, name, name_len)};
  if (!ops[c->n_ops].service || !ops[c->n_ops].name) return 0;
  t->slot[j] = (uint32_t)++c->n_ops;
  return t->slot[j];
}

static uint32_t source_id(bi_corpus *c, const uint8_t *res, size_t len) {
  for (size_t i = 0; i < c->n_sources; i++)
    if (c->sources[i].resource_len == len && memcmp(c->sources[i].resource, res, len) == 0) return (uint32_t)i + 1;
  bi_source *s = realloc(c->sources, (c->n_sources + 1) * sizeof *s);
  if (!s) return 0;
  c->sources = s;
  const uint8_t *svc;
  size_t svc_len;
  service_of(res, len, &svc, &svc_len);
  char inst[32];
  snprintf(inst, sizeof inst, "instance-%zu", c->n_sources + 1);
  bi_source *n = &s[c->n_sources];
  memset(n, 0, sizeof *n);
  n->service = own_str(c, svc, svc_len);
  n->instance = strdup(inst); /* freed by bi_corpus_free, as gen.c's */
  n->host = "corpus";
  n->pid = (int64_t)c->n_sources + 1;
  n->resource = malloc(len ? len : 1);
  if (!n->service || !n->instance || !n->resource) return 0;
  memcpy(n->resource, res, len);
  n->resource_len = len;
  return (uint32_t)++c->n_sources;
}

/* One Span message at offset off (from the batch start) into *s. */
static int read_span(bi_corpus *c, op_table *ops, const uint8_t *batch, const uint8_t *p, size_t len,
                     const uint8_t *svc, size_t svc_len, bi_span *s) {
  rd r = {p, p + len};
  field f;
  const uint8_t *name = (const uint8_t *)"";
  size_t name_len = 0, body_len = 0;
  int64_t start = 0, end = 0;
  uint8_t *body = malloc(len ? len : 1);
  if (!body) return -1;
  memset(s, 0, sizeof *s);
  s->parent = -1;
  while (r.p < r.end) {
    if (next_field(&r, &f) != 0) {
      free(body);
      return -1;
    }
    switch (f.num) {
    case 1: s->trace_off = (uint32_t)(f.data - batch); break;
    case 2: s->span_off = (uint32_t)(f.data - batch); break;
    case 4:
      if (f.len == 8) s->parent_off = (uint32_t)(f.data - batch);
      break;
    case 5: name = f.data, name_len = f.len; break;
    case 6: s->kind = (int)f.val; break;
    case 7: s->start_off = (uint32_t)(f.data - batch), start = (int64_t)le64(f.data); break;
    case 8: s->end_off = (uint32_t)(f.data - batch), end = (int64_t)le64(f.data); break;
    case 15: {
      rd st = {f.data, f.data + f.len};
      field g;
      while (st.p < st.end && next_field(&st, &g) == 0)
        if (g.num == 3 && g.wt == 0) s->status = (int)g.val;
      /* and the status stays in the body too, as the server keeps it (its
       * message is there) */
      memcpy(body + body_len, f.start, (size_t)(r.p - f.start));
      body_len += (size_t)(r.p - f.start);
      break;
    }
    default: /* attributes, events, links, flags, dropped counts, trace state: the body */
      memcpy(body + body_len, f.start, (size_t)(r.p - f.start));
      body_len += (size_t)(r.p - f.start);
    }
  }
  if (!s->trace_off || !s->span_off) {
    free(body);
    return -1;
  }
  s->start_ns = start;
  s->dur_ns = end > start ? end - start : 0;
  s->body = body;
  s->body_len = body_len;
  s->op_id = op_id(c, ops, svc, svc_len, name, name_len);
  return s->op_id ? 0 : -1;
}

/* The spans of one ExportTraceServiceRequest, into b->spans. */
static int read_batch(bi_corpus *c, op_table *ops, bi_batch *b) {
  rd r = {b->data, b->data + b->len};
  field rs, x, y;
  size_t cap = b->n_spans ? b->n_spans : 16, n = 0;
  b->spans = calloc(cap, sizeof *b->spans);
  if (!b->spans) return -1;
  while (r.p < r.end) {
    if (next_field(&r, &rs) != 0) return -1;
    if (rs.num != 1 || rs.wt != 2) continue;
    const uint8_t *res = (const uint8_t *)"", *svc;
    size_t res_len = 0, svc_len;
    rd a = {rs.data, rs.data + rs.len};
    while (a.p < a.end && next_field(&a, &x) == 0)
      if (x.num == 1 && x.wt == 2) res = x.data, res_len = x.len;
    service_of(res, res_len, &svc, &svc_len);
    uint32_t src = source_id(c, res, res_len);
    if (!src) return -1;
    if (!b->source_id) b->source_id = src;
    rd bb = {rs.data, rs.data + rs.len};
    while (bb.p < bb.end && next_field(&bb, &x) == 0) {
      if (x.num != 2 || x.wt != 2) continue;
      rd ss = {x.data, x.data + x.len};
      while (ss.p < ss.end && next_field(&ss, &y) == 0) {
        if (y.num != 2 || y.wt != 2) continue;
        if (n == cap) {
          bi_span *sp = realloc(b->spans, 2 * cap * sizeof *sp);
          if (!sp) return -1;
          b->spans = sp;
          cap *= 2;
        }
        if (read_span(c, ops, b->data, y.data, y.len, svc, svc_len, &b->spans[n]) != 0) return -1;
        n++;
      }
    }
  }
  if (n != b->n_spans) {
    fprintf(stderr, "bench-ingest: a corpus batch says %u spans, holds %zu\n", b->n_spans, n);
    return -1;
  }
  return 0;
}

int bi_corpus_load(bi_corpus *c, const char *path, uint64_t max_spans) {
  memset(c, 0, sizeof *c);
  c->as_is = 1;
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    return -1;
  }
  op_table ops = {0};
  uint8_t hdr[8];
  uint64_t spans = 0;
  size_t cap = 0;
  int rc = 0;
  while (!(max_spans && spans >= max_spans) && fread(hdr, 1, 8, f) == 8) {
    uint32_t len = hdr[0] | hdr[1] << 8 | hdr[2] << 16 | (uint32_t)hdr[3] << 24;
    uint32_t ns = hdr[4] | hdr[5] << 8 | hdr[6] << 16 | (uint32_t)hdr[7] << 24;
    if (c->n_batches == cap) {
      cap = cap ? 2 * cap : 1024;
      bi_batch *bs = realloc(c->batches, cap * sizeof *bs);
      if (!bs) {
        rc = -1;
        break;
      }
      c->batches = bs;
    }
    bi_batch *b = &c->batches[c->n_batches];
    memset(b, 0, sizeof *b);
    b->data = malloc(len ? len : 1);
    b->len = len;
    b->n_spans = ns;
    c->n_batches++;
    if (!b->data || fread(b->data, 1, len, f) != len) {
      fprintf(stderr, "bench-ingest: %s: truncated record %zu\n", path, c->n_batches);
      rc = -1;
      break;
    }
    if (read_batch(c, &ops, b) != 0) {
      fprintf(stderr, "bench-ingest: %s: record %zu is not a trace request this reader understands\n", path,
              c->n_batches);
      rc = -1;
      break;
    }
    spans += ns;
    c->bytes += len;
  }
  fclose(f);
  free(ops.slot);
  if (rc == 0 && !c->n_batches) {
    fprintf(stderr, "bench-ingest: %s: no records\n", path);
    rc = -1;
  }
  /* The baseline's one scope row (the synthetic corpus' StoredScope form is
   * not needed: nothing reads it). */
  c->scope = malloc(1);
  c->scope_len = 0;
  c->n_spans_total = spans;
  if (rc) bi_corpus_free(c);
  return rc;
}

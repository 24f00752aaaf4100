/* Decoding meanwhile-exectrace's output (see exectrace.h). */
#include "decode/exectrace.h"
#include "core/bmap.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/jsonw.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meanwhile/exectrace/v1/records.pb-c.h"

/* Distinct reason strings kept per trace (the runtime has a few dozen);
 * past it, a reason is kept as "other". Stack frames kept per stack. */
enum {
  MAX_REASONS = 1024,
  MAX_FRAMES = 256,
  MAX_FRAME_TEXT = 2048,
  MAX_STACK_TEXT = 1 << 20,
  MAX_WINDOWS_JSON = 64 << 20,
  MAX_FIELD = 64 << 20 /* one top-level field (a stack of 256 long frames is far less) */
};

enum { F_STACKS = 1, F_SPANS = 2, F_INTERVALS = 3, F_WAKES = 4, F_WINDOWS = 5, F_PROCS = 6, F_SUMMARY = 15 };

typedef struct field {
  uint32_t num;
  const uint8_t *p;
  size_t len;
} field;

typedef struct walker {
  const uint8_t *p, *end;
} walker;

static int varint(walker *w, uint64_t *v) {
  *v = 0;
  for (int shift = 0; shift < 64 && w->p < w->end; shift += 7) {
    uint8_t c = *w->p++;
    *v |= (uint64_t)(c & 0x7f) << shift;
    if (!(c & 0x80)) return 1;
  }
  return 0;
}

/* The next top-level field: 1 when one was read, 0 when the bytes end (or,
 * with partial, when they end inside a field: *used says where it began),
 * -1 when the bytes are not a protobuf message (a field of another wire type
 * than length-delimited is skipped: Records has none, a newer writer might). */
static int next_field(walker *w, field *f) {
  for (;;) {
    if (w->p >= w->end) return 0;
    const uint8_t *at = w->p;
    uint64_t key, n;
    if (!varint(w, &key)) return w->p = at, 0;
    if ((key >> 3) == 0 || (key >> 3) > UINT32_MAX) return -1;
    switch (key & 7) {
    case 0:
      if (!varint(w, &n)) return w->p = at, 0;
      continue;
    case 1:
      if (w->end - w->p < 8) return w->p = at, 0;
      w->p += 8;
      continue;
    case 5:
      if (w->end - w->p < 4) return w->p = at, 0;
      w->p += 4;
      continue;
    case 2:
      if (!varint(w, &n)) return w->p = at, 0;
      if (n > MAX_FIELD) return -1;
      if (n > (uint64_t)(w->end - w->p)) return w->p = at, 0;
      f->num = (uint32_t)(key >> 3);
      f->p = w->p;
      f->len = (size_t)n;
      w->p += n;
      return 1;
    default: return -1;
    }
  }
}

static int fail(char *err, size_t errsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errsz, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errsz, fmt, ap);
  va_end(ap);
  return MW_EINVAL;
}

struct mw_xt_dec {
  mw_arena *a;
  mw_xt_hook hook;
  mw_bmap *reasons; /* string -> index into r.strs */
  uint8_t *pending; /* bytes of a field not complete yet */
  size_t n_pending, cap_pending;
  size_t cap_iv, cap_wk, cap_stacks, cap_spans;
  mw_buf wb; /* the windows' JSON */
  mw_jsonw jw;
  mw_xt_records r;
  int rc;        /* sticky */
  size_t offset; /* bytes consumed before pending */
};

/* Memory counted through the hook before it is allocated. */
static int take(mw_xt_dec *d, size_t n) {
  if (!d->hook.take) return MW_OK;
  return d->hook.take(d->hook.user, n);
}

/* Grows a malloc'd array (counted) so that one more element fits. */
static int grow(mw_xt_dec *d, void **items, size_t n, size_t *cap, size_t sz) {
  if (n < *cap) return MW_OK;
  /* doubling while small, then a quarter more each time: what is counted
   * (the capacity) stays within a quarter of what is used */
  size_t nc = !*cap ? 1024 : *cap * sz < (1u << 20) ? *cap * 2 : *cap + *cap / 4;
  int rc = take(d, (nc - *cap) * sz);
  if (rc) return rc;
  if (d->hook.take) d->r.held += (nc - *cap) * sz;
  void *p = realloc(*items, nc * sz);
  if (!p) return MW_ENOMEM;
  *items = p;
  *cap = nc;
  return MW_OK;
}

/* A stack as the stack store keeps it: "func\tfile:line\n" per frame. */
static int stack_text(mw_xt_dec *d, const Meanwhile__Exectrace__V1__Stack *s, mw_stack_text *out) {
  mw_buf b;
  mw__buf_init(&b, MAX_STACK_TEXT);
  for (size_t i = 0; i < s->n_frames && i < MAX_FRAMES; i++) {
    const Meanwhile__Exectrace__V1__Frame *f = s->frames[i];
    const char *fn = f->func && *f->func ? f->func : "?", *file = f->file && *f->file ? f->file : "?";
    mw__buf_printf(&b, "%.*s\t%.*s:%lld\n", MAX_FRAME_TEXT, fn, MAX_FRAME_TEXT, file, (long long)f->line);
  }
  int rc = b.err ? MW_ENOMEM : MW_OK;
  if (!rc) {
    out->text = mw__arena_strndup(d->a, b.data ? b.data : "", b.len);
    out->len = b.len;
    if (!out->text) rc = MW_ENOMEM;
  }
  mw__buf_free(&b);
  return rc;
}

static void window_json(mw_jsonw *w, const Meanwhile__Exectrace__V1__Window *x) {
  mw__jw_obj(w);
  mw__jw_kstr(w, "kind", x->kind == MEANWHILE__EXECTRACE__V1__WINDOW_KIND__STW ? "stw" : "gc");
  mw__jw_kint(w, "start_ns", x->start_ns);
  mw__jw_kint(w, "end_ns", x->end_ns);
  if (x->reason && *x->reason) mw__jw_kstr(w, "reason", x->reason);
  mw__jw_obj_end(w);
}

/* Grows an arena array so that one more element fits. */
static void *arena_grow(mw_arena *a, void *items, size_t n, size_t *cap, size_t sz) {
  if (n < *cap) return items;
  size_t nc = *cap ? *cap * 2 : 64;
  void *p = mw__arena_alloc(a, nc * sz);
  if (p && n) memcpy(p, items, n * sz);
  if (p) *cap = nc;
  return p;
}

/* Unpacks one field's message; NULL when it is malformed (err says which). */
#define UNPACK(type, fn, what)                                                                                         \
  type *m = fn(NULL, f->len, f->p);                                                                                    \
  if (!m) return fail(err, errsz, "the reader's output has a malformed %s message", what);

static int field_stack(mw_xt_dec *d, const field *f, char *err, size_t errsz) {
  UNPACK(Meanwhile__Exectrace__V1__Stack, meanwhile__exectrace__v1__stack__unpack, "Stack");
  mw_xt_records *r = &d->r;
  int rc = m->id == 0 ? fail(err, errsz, "the reader's output has a stack with id 0") : MW_OK;
  if (!rc) {
    size_t cap = d->cap_stacks;
    mw_stack_text *s = arena_grow(d->a, r->stacks, r->n_stacks, &cap, sizeof *s);
    size_t cap2 = d->cap_stacks;
    uint32_t *ids = s ? arena_grow(d->a, r->stack_ids, r->n_stacks, &cap2, sizeof *ids) : NULL;
    if (!s || !ids) rc = MW_ENOMEM;
    else r->stacks = s, r->stack_ids = ids, d->cap_stacks = cap;
  }
  if (!rc && !(rc = stack_text(d, m, &r->stacks[r->n_stacks]))) r->stack_ids[r->n_stacks++] = m->id;
  meanwhile__exectrace__v1__stack__free_unpacked(m, NULL);
  return rc;
}

static int field_span(mw_xt_dec *d, const field *f, char *err, size_t errsz) {
  UNPACK(Meanwhile__Exectrace__V1__Span, meanwhile__exectrace__v1__span__unpack, "Span");
  mw_xt_records *r = &d->r;
  int rc = MW_OK;
  if ((m->trace_id.len != 0 && m->trace_id.len != 16) || m->span_id.len != 8)
    rc = fail(err, errsz, "the reader's output has a span with a %zu-byte trace id and a %zu-byte span id",
              m->trace_id.len, m->span_id.len);
  mw_xt_span *s = rc ? NULL : arena_grow(d->a, r->spans, r->n_spans, &d->cap_spans, sizeof *s);
  if (!rc && !s) rc = MW_ENOMEM;
  if (!rc) {
    r->spans = s;
    s = &r->spans[r->n_spans++];
    memset(s, 0, sizeof *s);
    s->has_trace = m->trace_id.len == 16;
    if (s->has_trace) memcpy(s->trace_id, m->trace_id.data, 16);
    memcpy(s->span_id, m->span_id.data, 8);
    s->name = mw__arena_strndup(d->a, m->name ? m->name : "", m->name ? strlen(m->name) : 0);
    if (!s->name) rc = MW_ENOMEM;
  }
  meanwhile__exectrace__v1__span__free_unpacked(m, NULL);
  return rc;
}

/* One field of an Interval or Wake message, read in place. */
typedef struct pb_field {
  uint32_t num;
  int type; /* 0 varint, 2 bytes; 1 and 5 (fixed) are skipped as unknown */
  uint64_t v;
  const uint8_t *p;
  size_t len;
} pb_field;

/* The next field of a message: 1 when read, 0 at its end, -1 when the bytes
 * are not a message (what protobuf-c's unpack refuses too: a truncated
 * field, a group, a field number 0). */
static int pb_next(walker *w, pb_field *f) {
  if (w->p >= w->end) return 0;
  uint64_t key;
  if (!varint(w, &key) || (key >> 3) == 0 || (key >> 3) > UINT32_MAX) return -1;
  f->num = (uint32_t)(key >> 3);
  f->type = (int)(key & 7);
  switch (f->type) {
  case 0: return varint(w, &f->v) ? 1 : -1;
  case 1:
    if (w->end - w->p < 8) return -1;
    w->p += 8;
    return 1;
  case 5:
    if (w->end - w->p < 4) return -1;
    w->p += 4;
    return 1;
  case 2:
    if (!varint(w, &f->v) || f->v > (uint64_t)(w->end - w->p)) return -1;
    f->p = w->p;
    f->len = (size_t)f->v;
    w->p += f->len;
    return 1;
  default: return -1;
  }
}

/* A known field's wire type must be its own (protobuf-c refuses another);
 * an unknown field is skipped. Returns 1 when f is field num as a varint,
 * 0 when it is another field, -1 when it is num of another wire type. */
static int pb_is(const pb_field *f, uint32_t num, int type) {
  if (f->num != num) return 0;
  return f->type == type ? 1 : -1;
}

/* The index in strs of a string field's bytes, interned (up to a NUL:
 * protobuf-c's unpacked strings were read as C strings); 0 for "", -1 when
 * out of memory. Past MAX_REASONS distinct ones, "other" (index 1). */
static int32_t intern_n(mw_xt_dec *d, const uint8_t *p, size_t n) {
  const uint8_t *nul = n ? memchr(p, 0, n) : NULL;
  if (nul) n = (size_t)(nul - p);
  if (!n) return 0;
  int64_t i;
  if (mw__bmap_get(d->reasons, (const char *)p, n, &i)) return (int32_t)i;
  if (d->r.n_strs == MAX_REASONS) return 1;
  const char *copy = mw__arena_strndup(d->a, (const char *)p, n);
  if (!copy || mw__bmap_put(d->reasons, copy, n, (int64_t)d->r.n_strs)) return -1;
  d->r.strs[d->r.n_strs] = copy;
  return (int32_t)d->r.n_strs++;
}

/* Intervals and wakes are most of the output (a busy window has a million
 * and a half): they are read in place, field by field, as protobuf-c would
 * unpack them but without its allocation and free per message. */
static int field_interval(mw_xt_dec *d, const field *f, char *err, size_t errsz) {
  walker w = {f->p, f->p + f->len};
  pb_field x;
  uint64_t goroutine = 0;
  int32_t state = 0;
  int64_t start_ns = 0, end_ns = 0;
  uint32_t stack = 0, span = 0;
  int clipped_start = 0, clipped_end = 0, k;
  const uint8_t *reason = NULL, *raw = NULL;
  size_t reason_len = 0, raw_len = 0;
  while ((k = pb_next(&w, &x)) > 0) {
    int ok = 0;
    switch (x.num) {
    case 1: ok = pb_is(&x, 1, 0), goroutine = x.v; break;
    case 2: ok = pb_is(&x, 2, 0), state = (int32_t)(uint32_t)x.v; break;
    case 3: ok = pb_is(&x, 3, 2), reason = x.p, reason_len = x.len; break;
    case 4: ok = pb_is(&x, 4, 2), raw = x.p, raw_len = x.len; break;
    case 5: ok = pb_is(&x, 5, 0), start_ns = (int64_t)x.v; break;
    case 6: ok = pb_is(&x, 6, 0), end_ns = (int64_t)x.v; break;
    case 7: ok = pb_is(&x, 7, 0), stack = (uint32_t)x.v; break;
    case 8: ok = pb_is(&x, 8, 0), span = (uint32_t)x.v; break;
    case 9: ok = pb_is(&x, 9, 0), clipped_start = x.v != 0; break;
    case 10: ok = pb_is(&x, 10, 0), clipped_end = x.v != 0; break;
    default: ok = 1;
    }
    if (ok < 0) k = -1;
    if (k < 0) break;
  }
  if (k < 0) return fail(err, errsz, "the reader's output has a malformed %s message", "Interval");
  mw_xt_records *r = &d->r;
  int rc = MW_OK;
  if (state < 1 || state > (int)MW_XT_STATE_MAX)
    rc = fail(err, errsz, "the reader's output has an interval of unknown state %d", (int)state);
  else if (end_ns < start_ns)
    rc = fail(err, errsz, "the reader's output has an interval that ends before it starts (goroutine %llu)",
              (unsigned long long)goroutine);
  else if (!(rc = grow(d, (void **)&r->intervals, r->n_intervals, &d->cap_iv, sizeof *r->intervals))) {
    int32_t ri = intern_n(d, reason, reason_len), rr = ri < 0 ? -1 : intern_n(d, raw, raw_len);
    if (rr < 0) rc = MW_ENOMEM;
    else
      r->intervals[r->n_intervals++] = (mw_xt_rec_interval){
          .goroutine = goroutine,
          .start_ns = start_ns,
          .end_ns = end_ns,
          .stack = stack,
          .span = span,
          .reason = (uint16_t)ri,
          .raw_reason = (uint16_t)rr,
          .state = (uint8_t)state,
          .clipped = (uint8_t)((clipped_start ? MW_XT_CLIPPED_START : 0) | (clipped_end ? MW_XT_CLIPPED_END : 0))};
  }
  return rc;
}

static int field_wake(mw_xt_dec *d, const field *f, char *err, size_t errsz) {
  walker w = {f->p, f->p + f->len};
  pb_field x;
  mw_xt_rec_wake y = {0};
  int k;
  while ((k = pb_next(&w, &x)) > 0) {
    int ok = 0;
    switch (x.num) {
    case 1: ok = pb_is(&x, 1, 0), y.goroutine = x.v; break;
    case 2: ok = pb_is(&x, 2, 0), y.wk.waker = x.v; break;
    case 3: ok = pb_is(&x, 3, 0), y.wk.time_ns = (int64_t)x.v; break;
    case 4: ok = pb_is(&x, 4, 0), y.wk.waker_stack = (uint32_t)x.v; break;
    case 5: ok = pb_is(&x, 5, 0), y.wk.waker_span = (uint32_t)x.v; break;
    case 6: ok = pb_is(&x, 6, 0), y.wk.span = (uint32_t)x.v; break;
    default: ok = 1;
    }
    if (ok < 0) k = -1;
    if (k < 0) break;
  }
  if (k < 0) return fail(err, errsz, "the reader's output has a malformed %s message", "Wake");
  mw_xt_records *r = &d->r;
  int rc = grow(d, (void **)&r->wakes, r->n_wakes, &d->cap_wk, sizeof *r->wakes);
  if (!rc) r->wakes[r->n_wakes++] = y;
  return rc;
}

static int field_window(mw_xt_dec *d, const field *f, char *err, size_t errsz) {
  UNPACK(Meanwhile__Exectrace__V1__Window, meanwhile__exectrace__v1__window__unpack, "Window");
  window_json(&d->jw, m);
  meanwhile__exectrace__v1__window__free_unpacked(m, NULL);
  return MW_OK;
}

static int field_summary(mw_xt_dec *d, const field *f, char *err, size_t errsz) {
  UNPACK(Meanwhile__Exectrace__V1__Summary, meanwhile__exectrace__v1__summary__unpack, "Summary");
  mw_xt_records *r = &d->r;
  r->has_summary = 1;
  r->start_ns = m->start_ns;
  r->end_ns = m->end_ns;
  r->alignment = (int)m->alignment;
  r->clock_error_ns = m->clock_error_ns;
  r->events = m->events;
  r->generations = m->generations;
  r->goroutines = m->goroutines;
  r->go_version =
      mw__arena_strndup(d->a, m->go_version ? m->go_version : "", m->go_version ? strlen(m->go_version) : 0);
  meanwhile__exectrace__v1__summary__free_unpacked(m, NULL);
  return r->go_version ? MW_OK : MW_ENOMEM;
}

static int one_field(mw_xt_dec *d, const field *f, char *err, size_t errsz) {
  switch (f->num) {
  case F_STACKS: return field_stack(d, f, err, errsz);
  case F_SPANS: return field_span(d, f, err, errsz);
  case F_INTERVALS: return field_interval(d, f, err, errsz);
  case F_WAKES: return field_wake(d, f, err, errsz);
  case F_WINDOWS: return field_window(d, f, err, errsz);
  case F_SUMMARY: return field_summary(d, f, err, errsz);
  default: return MW_OK; /* procs, and what a newer reader adds */
  }
}

mw_xt_dec *mw__xt_dec_new(mw_arena *a, const mw_xt_hook *hook) {
  mw_xt_dec *d = calloc(1, sizeof *d);
  if (!d) return NULL;
  d->a = a;
  if (hook) d->hook = *hook;
  d->r.hook = d->hook;
  d->reasons = mw__bmap_new(MAX_REASONS * 2);
  d->r.strs = mw__arena_calloc(a, MAX_REASONS, sizeof *d->r.strs);
  if (d->r.strs) {
    d->r.strs[0] = "";
    d->r.strs[1] = "other"; /* what a reason past MAX_REASONS becomes */
    d->r.n_strs = 2;
  }
  mw__buf_init(&d->wb, MAX_WINDOWS_JSON);
  mw__jw_init(&d->jw, &d->wb);
  mw__jw_arr(&d->jw);
  if (!d->reasons || !d->r.strs || mw__bmap_put(d->reasons, "other", 5, 1)) {
    mw__xt_dec_free(d);
    return NULL;
  }
  return d;
}

/* Decodes the complete fields of p[0..n); *used gets the bytes consumed. */
static int parse(mw_xt_dec *d, const uint8_t *p, size_t n, size_t *used, char *err, size_t errsz) {
  walker w = {p, p + n};
  field f;
  int k, rc = MW_OK;
  while (!rc && (k = next_field(&w, &f)) > 0) rc = one_field(d, &f, err, errsz);
  if (!rc && k < 0)
    rc = fail(err, errsz, "the reader's output is not a Records message (at byte %zu)", d->offset + (size_t)(w.p - p));
  *used = (size_t)(w.p - p);
  return rc;
}

int mw__xt_dec_feed(mw_xt_dec *d, const uint8_t *p, size_t n, char *err, size_t errsz) {
  if (d->rc) return d->rc;
  size_t used;
  int rc;
  if (!d->n_pending) { /* most fields are whole in the chunk: no copy */
    rc = parse(d, p, n, &used, err, errsz);
    p += used, n -= used, d->offset += used;
  } else rc = MW_OK;
  if (!rc && n) { /* the rest (a field cut by the chunk) waits for the next */
    if (d->n_pending + n > d->cap_pending) {
      size_t nc = d->cap_pending ? d->cap_pending : 4096;
      while (nc < d->n_pending + n) nc *= 2;
      if (nc > MAX_FIELD + 32)
        return d->rc = fail(err, errsz, "the reader's output has a field over %d bytes", MAX_FIELD);
      if ((rc = take(d, nc - d->cap_pending))) return d->rc = rc;
      uint8_t *q = realloc(d->pending, nc);
      d->cap_pending = nc; /* counted: given back with the decoder, whether or not it was had */
      if (!q) return d->rc = MW_ENOMEM;
      d->pending = q;
    }
    memcpy(d->pending + d->n_pending, p, n);
    d->n_pending += n;
    rc = parse(d, d->pending, d->n_pending, &used, err, errsz);
    memmove(d->pending, d->pending + used, d->n_pending - used);
    d->n_pending -= used, d->offset += used;
  }
  return d->rc = rc;
}

int mw__xt_dec_finish(mw_xt_dec *d, mw_xt_records *out, char *err, size_t errsz) {
  memset(out, 0, sizeof *out);
  int rc = d->rc;
  mw_xt_records *r = &d->r;
  if (!rc && d->n_pending)
    rc = fail(err, errsz, "the reader's output ends inside a field (%zu bytes of it)", d->n_pending);
  if (!rc && !r->has_summary) rc = fail(err, errsz, "the reader's output has no summary (it was cut short)");
  for (size_t i = 0; i < r->n_intervals && !rc; i++)
    if (r->intervals[i].span > r->n_spans)
      rc = fail(err, errsz, "the reader's output names span %u of %zu", r->intervals[i].span, r->n_spans);
  for (size_t i = 0; i < r->n_wakes && !rc; i++)
    if (r->wakes[i].wk.span > r->n_spans || r->wakes[i].wk.waker_span > r->n_spans)
      rc = fail(err, errsz, "the reader's output names a span past the %zu it lists", r->n_spans);
  if (!rc) {
    mw__jw_arr_end(&d->jw);
    if (mw__jw_error(&d->jw) || !(r->windows_json = mw__arena_strndup(d->a, d->wb.data, d->wb.len))) rc = MW_ENOMEM;
  }
  if (rc) return d->rc = rc;
  *out = *r; /* the arrays are the caller's now */
  memset(r, 0, sizeof *r);
  return MW_OK;
}

void mw__xt_dec_free(mw_xt_dec *d) {
  if (!d) return;
  mw__xt_records_free(&d->r);
  if (d->cap_pending && d->hook.give) d->hook.give(d->hook.user, d->cap_pending);
  free(d->pending);
  mw__buf_free(&d->wb);
  mw__bmap_free(d->reasons);
  free(d);
}

int mw__xt_records_decode(mw_arena *a, const uint8_t *p, size_t len, mw_xt_records *out, char *err, size_t errsz) {
  memset(out, 0, sizeof *out);
  mw_xt_dec *d = mw__xt_dec_new(a, NULL);
  if (!d) return MW_ENOMEM;
  int rc = mw__xt_dec_feed(d, p, len, err, errsz);
  if (!rc) rc = mw__xt_dec_finish(d, out, err, errsz);
  mw__xt_dec_free(d);
  return rc;
}

void mw__xt_records_free(mw_xt_records *r) {
  if (!r) return;
  free(r->intervals);
  free(r->wakes);
  if (r->held && r->hook.give) r->hook.give(r->hook.user, r->held);
  r->intervals = NULL;
  r->wakes = NULL;
  r->n_intervals = r->n_wakes = 0;
  r->held = 0;
}

/* The writer's open blocks and the readers' view of them (see blocks.h).
 *
 * Who touches what:
 * - readers, under the read lock: the slot table (source -> open block), each
 *   open block's published state (pub: n, min start, max end), its first
 *   chunks and its keys, the retired lists, mem;
 * - the writer, without the lock: everything staged (blk.st, slot.cur, the
 *   chunks past pub.n, the txn lists); under the write lock: whatever readers
 *   read (slot table inserts, publishing, retiring, freeing). */
#include "store/blocks.h"
#include "core/error.h"
#include "core/log.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* What a block holds, published (pub) or staged (st). */
typedef struct blk_state {
  size_t n;
  int64_t min_start, max_start, max_end;
  size_t bytes;     /* raw bodies */
  int64_t tail_seq; /* the last span_tail row holding its spans */
} blk_state;

/* What the block held after commit seq (published under the write lock, in
 * commit order): a reader at seq s sees the spans of the last entry with
 * seq <= s, so that it reads memory as it was at s, not newer. */
typedef struct blk_pub {
  int64_t seq;
  size_t n;
  int64_t min_start, max_end;
} blk_pub;

typedef struct blk {
  int64_t source_id;
  int64_t block_id; /* set when sealed (staged); readers read it only once stamp != 0 */
  int64_t stamp;    /* the commit that retired it: 0 while open */
  mw__sb_span *chunk[MW_BLK_CHUNKS];
  blk_state pub, st;
  int64_t opened_mono_ns;
  blk_pub *pubs; /* readers: see blk_pub */
  size_t n_pubs, cap_pubs;
  mw__truns_mem *keys; /* trace keys of spans 0..pub.n-1 (block id 0) */
  mw_arena *arena;     /* bodies */
  uint32_t *index;     /* once sealed: index[i] = span i's index in the block */
  unsigned job_logged; /* the job whose undo log holds its st already */
  struct blk *next;    /* in the retired list */
} blk;

typedef struct slot {
  int64_t source; /* 0: empty */
  blk *open;      /* published: the source's open block, or NULL */
  blk *cur;       /* staged (writer only): where its next span goes, or NULL */
  unsigned touched;
} slot;

typedef struct part {
  mw__truns_mem *m;
  int64_t stamp;
  struct part *next;
} part;

enum { UNDO_ST, UNDO_CUR };
typedef struct undo {
  int kind;
  int64_t source;
  blk *b;
  blk_state st;
} undo;

struct mw__blk {
  _Atomic int64_t commit_seq;
  _Atomic int64_t started; /* commit_seq, or + 1 while a COMMIT that will be applied runs */
  uv_rwlock_t lock;
  slot *slots; /* open addressing by source id */
  size_t cap, used;
  mw__truns_mem *mem;
  blk *retired; /* newest first */
  part *parts;  /* retired partitions, newest first */
  /* the writer's transaction */
  unsigned txn, job;
  int64_t *touched;
  size_t n_touched, cap_touched;
  blk **sealed; /* staged seals, in order */
  size_t n_sealed, cap_sealed;
  blk **fresh; /* blocks created in this transaction */
  size_t n_fresh, cap_fresh;
  undo *log; /* this job's */
  size_t n_log, cap_log;
  size_t job_sealed, job_fresh; /* counts at the job's start */
  int flush_staged;
  mw__sb_span scratch[MW_BLK_MAX_SPANS];
  uint32_t perm[MW_BLK_MAX_SPANS], tmp[MW_BLK_MAX_SPANS];
};

/* ---- small helpers ---------------------------------------------------------- */

static int push(void **v, size_t *n, size_t *cap, size_t sz, const void *item) {
  if (*n == *cap) {
    size_t c = *cap ? *cap * 2 : 16;
    void *nv = realloc(*v, c * sz);
    if (!nv) return MW_ENOMEM;
    *v = nv;
    *cap = c;
  }
  memcpy((char *)*v + *n * sz, item, sz);
  (*n)++;
  return MW_OK;
}

static uint64_t mix(int64_t k) {
  uint64_t x = (uint64_t)k;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x;
}

static slot *find_slot(mw__blk *b, int64_t source) {
  if (!b->cap) return NULL;
  for (size_t i = mix(source) & (b->cap - 1);; i = (i + 1) & (b->cap - 1)) {
    if (b->slots[i].source == source) return &b->slots[i];
    if (!b->slots[i].source) return NULL;
  }
}

/* The slot of source, inserted (under the write lock) when new. */
static slot *get_slot(mw__blk *b, int64_t source) {
  slot *s = find_slot(b, source);
  if (s) return s;
  if ((b->used + 1) * 2 > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 64;
    slot *v = calloc(cap, sizeof *v);
    if (!v) return NULL;
    for (size_t i = 0; i < b->cap; i++) {
      if (!b->slots[i].source) continue;
      size_t j = mix(b->slots[i].source) & (cap - 1);
      while (v[j].source) j = (j + 1) & (cap - 1);
      v[j] = b->slots[i];
    }
    uv_rwlock_wrlock(&b->lock);
    slot *old = b->slots;
    b->slots = v;
    b->cap = cap;
    uv_rwlock_wrunlock(&b->lock);
    free(old);
  }
  size_t i = mix(source) & (b->cap - 1);
  while (b->slots[i].source) i = (i + 1) & (b->cap - 1);
  uv_rwlock_wrlock(&b->lock);
  b->slots[i] = (slot){.source = source};
  b->used++;
  uv_rwlock_wrunlock(&b->lock);
  return &b->slots[i];
}

static void blk_free(blk *k) {
  if (!k) return;
  for (int i = 0; i < MW_BLK_CHUNKS; i++) free(k->chunk[i]);
  mw__truns_mem_free(k->keys);
  mw__arena_free(k->arena);
  free(k->index);
  free(k->pubs);
  free(k);
}

static blk *blk_new(int64_t source, int64_t now) {
  blk *k = calloc(1, sizeof *k);
  if (!k) return NULL;
  k->source_id = source;
  k->opened_mono_ns = now;
  k->keys = mw__truns_mem_new();
  k->arena = mw__arena_new(0);
  if (!k->keys || !k->arena) {
    blk_free(k);
    return NULL;
  }
  return k;
}

static inline mw__sb_span *span_at(blk *k, size_t i) { return &k->chunk[i / MW_BLK_CHUNK][i % MW_BLK_CHUNK]; }

mw__blk *mw__blk_new(void) {
  mw__blk *b = calloc(1, sizeof *b);
  if (!b) return NULL;
  if (uv_rwlock_init(&b->lock) != 0) {
    free(b);
    return NULL;
  }
  if (!(b->mem = mw__truns_mem_new())) {
    mw__blk_free(b);
    return NULL;
  }
  return b;
}

void mw__blk_free(mw__blk *b) {
  if (!b) return;
  mw__blk_txn_rollback(b);
  for (size_t i = 0; i < b->cap; i++)
    if (b->slots[i].source) blk_free(b->slots[i].open);
  mw__blk_free_retired(b, INT64_MAX);
  mw__truns_mem_free(b->mem);
  free(b->slots);
  free(b->touched);
  free(b->sealed);
  free(b->fresh);
  free(b->log);
  uv_rwlock_destroy(&b->lock);
  free(b);
}

int64_t mw__blk_seq(mw__blk *b) { return b ? atomic_load(&b->commit_seq) : 0; }

int64_t mw__blk_started(mw__blk *b) { return b ? atomic_load(&b->started) : 0; }

void mw__blk_commit_begin(mw__blk *b) { atomic_store(&b->started, atomic_load(&b->commit_seq) + 1); }

/* ---- the readers' side -------------------------------------------------------- */

/* What k held at seq (under the read lock): NULL when nothing. */
static const blk_pub *pub_at(const blk *k, int64_t seq) {
  size_t lo = 0, hi = k->n_pubs; /* the last entry with seq <= seq */
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (k->pubs[mid].seq <= seq) lo = mid + 1;
    else hi = mid;
  }
  return lo ? &k->pubs[lo - 1] : NULL;
}

static void fill_ref(mw__blk_ref *r, const blk *k, const blk_pub *p) {
  memset(r, 0, sizeof *r);
  r->source_id = k->source_id;
  r->stamp = k->stamp;
  if (k->stamp) {
    r->block_id = k->block_id;
    r->index = k->index;
  }
  r->n = p->n;
  r->first_ns = p->min_start;
  r->last_ns = p->max_end;
  for (size_t c = 0; c * MW_BLK_CHUNK < r->n; c++) r->chunk[c] = k->chunk[c];
}

/* Adds k as it was at seq, if it held spans then. */
static int add_ref(mw_arena *a, mw__blk_ref **v, size_t *n, size_t *cap, const blk *k, int64_t seq) {
  const blk_pub *p = pub_at(k, seq);
  if (!p || !p->n) return MW_OK;
  mw__blk_ref *nv = mw__arena_grow(a, *v, *n, cap, sizeof **v);
  if (!nv) return MW_ENOMEM;
  *v = nv;
  fill_ref(&nv[(*n)++], k, p);
  return MW_OK;
}

int mw__blk_view_take(mw__blk *b, int64_t seq, mw_arena *a, int64_t source, mw__blk_view *out) {
  memset(out, 0, sizeof *out);
  if (!b) return MW_OK;
  size_t cap = 0;
  int rc = MW_OK;
  uv_rwlock_rdlock(&b->lock);
  if (source) {
    slot *s = find_slot(b, source);
    if (s && s->open) rc = add_ref(a, &out->v, &out->n, &cap, s->open, seq);
  } else {
    for (size_t i = 0; i < b->cap && !rc; i++) {
      blk *k = b->slots[i].source ? b->slots[i].open : NULL;
      if (k) rc = add_ref(a, &out->v, &out->n, &cap, k, seq);
    }
  }
  out->n_open = out->n;
  for (blk *k = b->retired; k && !rc && k->stamp > seq; k = k->next)
    if (!source || k->source_id == source) rc = add_ref(a, &out->v, &out->n, &cap, k, seq);
  uv_rwlock_rdunlock(&b->lock);
  return rc;
}

static int cmp_i64(const void *x, const void *y) {
  int64_t p = *(const int64_t *)x, q = *(const int64_t *)y;
  return (p > q) - (p < q);
}

/* Appends m's blocks of key to out->ids (up to cap in all). */
static int probe_part(const mw__truns_mem *m, int64_t key, mw__blk_trace *out, size_t cap) {
  size_t got = 0;
  if (out->n_ids >= cap) {
    int64_t one;
    mw__truns_mem_find(m, key, &one, 1, &got);
    return got ? MW_ETOOBIG : MW_OK;
  }
  int rc = mw__truns_mem_find(m, key, out->ids + out->n_ids, cap - out->n_ids, &got);
  out->n_ids += got;
  return rc;
}

static int has_key(const mw__truns_mem *m, int64_t key) {
  int64_t one;
  size_t got = 0;
  mw__truns_mem_find(m, key, &one, 1, &got);
  return got > 0;
}

int mw__blk_trace_probe(mw__blk *b, int64_t seq, mw_arena *a, int64_t key, size_t cap, mw__blk_trace *out) {
  memset(out, 0, sizeof *out);
  if (!b || !cap) return MW_OK;
  if (!(out->ids = mw__arena_alloc(a, cap * sizeof *out->ids))) return MW_ENOMEM;
  size_t rcap = 0;
  int rc = MW_OK, big = 0;
  uv_rwlock_rdlock(&b->lock);
  for (size_t i = 0; i < b->cap && !rc; i++) {
    blk *k = b->slots[i].source ? b->slots[i].open : NULL;
    if (!k || !k->pub.n || !has_key(k->keys, key)) continue;
    if (out->n_refs == cap) big = 1;
    else rc = add_ref(a, &out->refs, &out->n_refs, &rcap, k, seq);
  }
  for (blk *k = b->retired; k && !rc && k->stamp > seq; k = k->next) {
    if (!has_key(k->keys, key)) continue;
    if (out->n_refs == cap) big = 1;
    else rc = add_ref(a, &out->refs, &out->n_refs, &rcap, k, seq);
  }
  if (!rc && probe_part(b->mem, key, out, cap) == MW_ETOOBIG) big = 1;
  for (part *p = b->parts; p && !rc && p->stamp > seq; p = p->next)
    if (probe_part(p->m, key, out, cap) == MW_ETOOBIG) big = 1;
  uv_rwlock_rdunlock(&b->lock);
  if (rc) return rc;
  if (out->n_ids > 1) {
    qsort(out->ids, out->n_ids, sizeof *out->ids, cmp_i64);
    size_t w = 1;
    for (size_t i = 1; i < out->n_ids; i++)
      if (out->ids[i] != out->ids[w - 1]) out->ids[w++] = out->ids[i];
    out->n_ids = w;
  }
  return big ? MW_ETOOBIG : MW_OK;
}

/* ---- staging ------------------------------------------------------------------- */

void mw__blk_txn_begin(mw__blk *b) {
  b->txn++;
  b->n_touched = b->n_sealed = b->n_fresh = b->n_log = 0;
  b->job_sealed = b->job_fresh = 0;
  b->flush_staged = 0;
}

void mw__blk_job_begin(mw__blk *b) {
  b->job++;
  b->n_log = 0;
  b->job_sealed = b->n_sealed;
  b->job_fresh = b->n_fresh;
}

static int log_st(mw__blk *b, blk *k) {
  if (k->job_logged == b->job) return MW_OK;
  undo u = {.kind = UNDO_ST, .b = k, .st = k->st};
  int rc = push((void **)&b->log, &b->n_log, &b->cap_log, sizeof u, &u);
  if (!rc) k->job_logged = b->job;
  return rc;
}

static int log_cur(mw__blk *b, slot *s) {
  undo u = {.kind = UNDO_CUR, .source = s->source, .b = s->cur};
  return push((void **)&b->log, &b->n_log, &b->cap_log, sizeof u, &u);
}

static int touch(mw__blk *b, slot *s) {
  if (s->touched == b->txn) return MW_OK;
  int rc = push((void **)&b->touched, &b->n_touched, &b->cap_touched, sizeof s->source, &s->source);
  if (!rc) s->touched = b->txn;
  return rc;
}

static void unseal(blk *k) {
  k->block_id = 0;
  free(k->index);
  k->index = NULL;
}

void mw__blk_job_rollback(mw__blk *b) {
  for (size_t i = b->job_sealed; i < b->n_sealed; i++) unseal(b->sealed[i]);
  b->n_sealed = b->job_sealed;
  for (size_t i = b->n_log; i-- > 0;) {
    undo *u = &b->log[i];
    if (u->kind == UNDO_ST) u->b->st = u->st;
    else find_slot(b, u->source)->cur = u->b;
  }
  for (size_t i = b->job_fresh; i < b->n_fresh; i++) blk_free(b->fresh[i]);
  b->n_fresh = b->job_fresh;
  b->n_log = 0;
  b->job++; /* a later job logs anew */
}

void mw__blk_txn_rollback(mw__blk *b) {
  for (size_t i = 0; i < b->n_sealed; i++) unseal(b->sealed[i]);
  for (size_t i = 0; i < b->n_touched; i++) {
    slot *s = find_slot(b, b->touched[i]);
    s->cur = s->open;
    if (s->open) s->open->st = s->open->pub;
  }
  for (size_t i = 0; i < b->n_fresh; i++) blk_free(b->fresh[i]);
  b->n_touched = b->n_sealed = b->n_fresh = b->n_log = 0;
  b->flush_staged = 0;
  b->job++;
  atomic_store(&b->started, atomic_load(&b->commit_seq)); /* that COMMIT failed */
}

int mw__blk_must_seal(mw__blk *b, int64_t source, const mw__sb_span *next, int64_t now) {
  slot *s = find_slot(b, source);
  blk *k = s ? s->cur : NULL;
  if (!k || !k->st.n) return 0;
  if (k->st.n >= MW_BLK_MAX_SPANS) return MW_BLK_SEAL_FULL;
  if (now - k->opened_mono_ns >= MW_BLK_MAX_AGE_NS) return MW_BLK_SEAL_AGE;
  if (!next) return 0;
  int64_t lo = next->start_ns < k->st.min_start ? next->start_ns : k->st.min_start;
  int64_t hi = next->start_ns > k->st.max_start ? next->start_ns : k->st.max_start;
  if ((uint64_t)hi - (uint64_t)lo > (uint64_t)MW_BLK_MAX_START_SPAN_NS) return MW_BLK_SEAL_RANGE;
  if (k->st.bytes + next->body_len > MW_BLK_MAX_BYTES) return MW_BLK_SEAL_BYTES;
  return 0;
}

static int64_t end_of(const mw__sb_span *s) {
  int64_t e;
  if (__builtin_add_overflow(s->start_ns, s->dur_ns > 0 ? s->dur_ns : 0, &e)) return INT64_MAX;
  return e;
}

int mw__blk_stage_span(mw__blk *b, int64_t source, const mw__sb_span *sp, int64_t now) {
  slot *s = get_slot(b, source);
  if (!s) return MW_ENOMEM;
  int rc = touch(b, s);
  if (rc) return rc;
  blk *k = s->cur;
  if (!k) {
    if (!(k = blk_new(source, now))) return MW_ENOMEM;
    if ((rc = push((void **)&b->fresh, &b->n_fresh, &b->cap_fresh, sizeof k, &k)) || (rc = log_cur(b, s))) {
      if (b->n_fresh && b->fresh[b->n_fresh - 1] == k) b->n_fresh--;
      blk_free(k);
      return rc;
    }
    s->cur = k;
  }
  if (k->st.n >= MW_BLK_MAX_SPANS) return MW_ETOOBIG;
  if ((rc = log_st(b, k))) return rc;
  size_t c = k->st.n / MW_BLK_CHUNK;
  if (!k->chunk[c] && !(k->chunk[c] = malloc(MW_BLK_CHUNK * sizeof(mw__sb_span)))) return MW_ENOMEM;
  mw__sb_span v = *sp;
  if (sp->body_len) {
    if (!(v.body = mw__arena_memdup(k->arena, sp->body, sp->body_len))) return MW_ENOMEM;
  } else v.body = NULL;
  *span_at(k, k->st.n) = v;
  blk_state *st = &k->st;
  int64_t end = end_of(sp);
  if (!st->n) {
    st->min_start = st->max_start = sp->start_ns;
    st->max_end = end;
  } else {
    if (sp->start_ns < st->min_start) st->min_start = sp->start_ns;
    if (sp->start_ns > st->max_start) st->max_start = sp->start_ns;
    if (end > st->max_end) st->max_end = end;
  }
  st->bytes += sp->body_len;
  st->n++;
  return MW_OK;
}

void mw__blk_stage_tail(mw__blk *b, int64_t source, int64_t seq) {
  slot *s = find_slot(b, source);
  if (!s || !s->cur || log_st(b, s->cur)) return;
  s->cur->st.tail_seq = seq;
}

int mw__blk_seal_input(mw__blk *b, int64_t source, const mw__sb_span **spans, size_t *n, int64_t *last_tail_seq) {
  slot *s = find_slot(b, source);
  blk *k = s ? s->cur : NULL;
  if (!k || !k->st.n) return MW_ENOTFOUND;
  for (size_t i = 0; i < k->st.n; i++) b->scratch[i] = *span_at(k, i);
  *spans = b->scratch;
  *n = k->st.n;
  if (last_tail_seq) *last_tail_seq = k->st.tail_seq;
  return MW_OK;
}

int mw__blk_stage_sealed(mw__blk *b, int64_t source, int64_t block_id) {
  slot *s = find_slot(b, source);
  blk *k = s ? s->cur : NULL;
  if (!k || !k->st.n) return MW_ENOTFOUND;
  size_t n = k->st.n;
  uint32_t *index = malloc(n * sizeof *index);
  if (!index) return MW_ENOMEM;
  for (size_t i = 0; i < n; i++) b->scratch[i] = *span_at(k, i);
  mw__sb_order(b->scratch, n, b->perm, b->tmp);
  for (size_t j = 0; j < n; j++) index[b->perm[j]] = (uint32_t)j;
  int rc = push((void **)&b->sealed, &b->n_sealed, &b->cap_sealed, sizeof k, &k);
  if (!rc) rc = log_cur(b, s);
  if (rc) {
    if (b->n_sealed && b->sealed[b->n_sealed - 1] == k) b->n_sealed--;
    free(index);
    return rc;
  }
  free(k->index);
  k->index = index;
  k->block_id = block_id;
  s->cur = NULL;
  return MW_OK;
}

size_t mw__blk_due(mw__blk *b, int64_t now, int64_t *out, size_t cap) {
  size_t n = 0;
  for (size_t i = 0; i < b->cap; i++) {
    slot *s = &b->slots[i];
    if (!s->source || !s->cur || !s->cur->st.n || now - s->cur->opened_mono_ns < MW_BLK_MAX_AGE_NS) continue;
    if (n < cap) out[n] = s->source;
    n++;
  }
  return n;
}

size_t mw__blk_ended_before(mw__blk *b, int64_t before_ns, int64_t *out, size_t cap) {
  size_t n = 0;
  for (size_t i = 0; i < b->cap; i++) {
    slot *s = &b->slots[i];
    if (!s->source || !s->cur || !s->cur->st.n || s->cur->st.max_end >= before_ns) continue;
    if (n < cap) out[n] = s->source;
    n++;
  }
  return n;
}

size_t mw__blk_sources(mw__blk *b, int64_t *out, size_t cap) {
  size_t n = 0;
  for (size_t i = 0; i < b->cap; i++) {
    slot *s = &b->slots[i];
    if (!s->source || !s->cur || !s->cur->st.n) continue;
    if (n < cap) out[n] = s->source;
    n++;
  }
  return n;
}

int mw__blk_oldest(mw__blk *b, int64_t *source) {
  blk *best = NULL;
  for (size_t i = 0; i < b->cap; i++) {
    slot *s = &b->slots[i];
    if (s->source && s->cur && s->cur->st.n && (!best || s->cur->opened_mono_ns < best->opened_mono_ns)) best = s->cur;
  }
  if (!best) return MW_ENOTFOUND;
  *source = best->source_id;
  return MW_OK;
}

size_t mw__blk_op_durs(mw__blk *b, int64_t op, int64_t *starts, int64_t *durs, size_t cap) {
  size_t n = 0;
  for (size_t i = 0; i < b->cap && n < cap; i++) {
    slot *s = &b->slots[i];
    if (!s->source || !s->cur) continue;
    for (size_t j = s->cur->st.n; j-- > 0 && n < cap;) {
      const mw__sb_span *sp = span_at(s->cur, j);
      if (sp->op_id != op) continue;
      starts[n] = sp->start_ns;
      durs[n++] = sp->dur_ns;
    }
  }
  return n;
}

int mw__blk_span_source(mw__blk *b, const uint8_t trace_id[16], const uint8_t span_id[8], int64_t *source) {
  int64_t key = mw__trace_key(trace_id);
  for (size_t i = 0; i < b->cap; i++) {
    blk *k = b->slots[i].source ? b->slots[i].cur : NULL;
    if (!k || !k->st.n) continue;
    /* published spans only when their key is there; the staged ones always */
    size_t from = k->pub.n && has_key(k->keys, key) ? 0 : k->pub.n;
    for (size_t j = from; j < k->st.n; j++) {
      const mw__sb_span *sp = span_at(k, j);
      if (!memcmp(sp->span_id, span_id, 8) && !memcmp(sp->trace_id, trace_id, 16)) {
        *source = k->source_id;
        return MW_OK;
      }
    }
  }
  return MW_ENOTFOUND;
}

void mw__blk_usage(mw__blk *b, size_t *spans, size_t *bytes) {
  *spans = *bytes = 0;
  for (size_t i = 0; i < b->cap; i++) {
    slot *s = &b->slots[i];
    if (!s->source || !s->cur) continue;
    *spans += s->cur->st.n;
    *bytes += s->cur->st.bytes;
  }
}

const mw__truns_mem *mw__blk_mem(mw__blk *b) { return b->mem; }

void mw__blk_stage_flush(mw__blk *b) { b->flush_staged = 1; }

/* Adds the trace keys of spans [from, to) of k to m (under the write lock). */
static int add_keys(mw__truns_mem *m, blk *k, size_t from, size_t to, int64_t block_id, int64_t first, int64_t last) {
  int rc = MW_OK;
  for (size_t i = from; i < to; i++) {
    int r = mw__truns_add(m, mw__trace_key(span_at(k, i)->trace_id), block_id, first, last);
    if (r && !rc) rc = r;
  }
  return rc;
}

/* Notes what k holds at seq c (under the write lock). */
static int add_pub(blk *k, int64_t c) {
  blk_pub p = {c, k->st.n, k->st.min_start, k->st.max_end};
  if (k->n_pubs && k->pubs[k->n_pubs - 1].n == p.n) return MW_OK; /* nothing new */
  return push((void **)&k->pubs, &k->n_pubs, &k->cap_pubs, sizeof p, &p);
}

int mw__blk_apply(mw__blk *b) {
  int rc = MW_OK;
  part *np = NULL;
  mw__truns_mem *nm = NULL;
  if (b->flush_staged) {
    np = calloc(1, sizeof *np);
    nm = mw__truns_mem_new();
    if (!np || !nm) { /* keep the old partition: its entries are in a run too (duplicates are dropped) */
      free(np);
      mw__truns_mem_free(nm);
      np = NULL;
      nm = NULL;
      rc = MW_ENOMEM;
    }
  }
  uv_rwlock_wrlock(&b->lock);
  int64_t c = atomic_load(&b->commit_seq) + 1;
  atomic_store(&b->commit_seq, c);
  atomic_store(&b->started, c);
  for (size_t i = 0; i < b->n_sealed; i++) {
    blk *k = b->sealed[i];
    int r = add_keys(k->keys, k, k->pub.n, k->st.n, 0, k->st.min_start, k->st.max_end);
    if (!r) r = add_keys(b->mem, k, 0, k->st.n, k->block_id, k->st.min_start, k->st.max_end);
    if (!r) r = add_pub(k, c);
    if (r && !rc) rc = r;
    k->pub = k->st;
    k->stamp = c;
    k->next = b->retired;
    b->retired = k;
    slot *s = find_slot(b, k->source_id);
    if (s->open == k) s->open = NULL;
  }
  for (size_t i = 0; i < b->n_touched; i++) {
    slot *s = find_slot(b, b->touched[i]);
    blk *k = s->cur;
    s->open = k;
    if (!k) continue;
    int r = add_keys(k->keys, k, k->pub.n, k->st.n, 0, k->st.min_start, k->st.max_end);
    if (!r) r = add_pub(k, c);
    if (r && !rc) rc = r;
    k->pub = k->st;
  }
  if (np) {
    np->m = b->mem;
    np->stamp = c;
    np->next = b->parts;
    b->parts = np;
    b->mem = nm;
  }
  uv_rwlock_wrunlock(&b->lock);
  b->n_touched = b->n_sealed = b->n_fresh = b->n_log = 0;
  b->flush_staged = 0;
  b->job++;
  if (rc) mw__error("keeping trace keys in memory failed", "err=\"%s\"", mw__strerror(rc));
  return rc;
}

size_t mw__blk_free_retired(mw__blk *b, int64_t min_seq) {
  blk *fb = NULL;
  part *fp = NULL;
  size_t n = 0;
  uv_rwlock_wrlock(&b->lock);
  for (blk **q = &b->retired; *q;) {
    if ((*q)->stamp <= min_seq) {
      blk *k = *q;
      *q = k->next;
      k->next = fb;
      fb = k;
    } else q = &(*q)->next;
  }
  for (part **q = &b->parts; *q;) {
    if ((*q)->stamp <= min_seq) {
      part *p = *q;
      *q = p->next;
      p->next = fp;
      fp = p;
    } else q = &(*q)->next;
  }
  uv_rwlock_wrunlock(&b->lock);
  while (fb) {
    blk *k = fb;
    fb = k->next;
    blk_free(k);
    n++;
  }
  while (fp) {
    part *p = fp;
    fp = p->next;
    mw__truns_mem_free(p->m);
    free(p);
    n++;
  }
  return n;
}

/* ---- span_tail rows -------------------------------------------------------------- */

static size_t put_varint(uint8_t *p, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80) {
    p[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  p[n++] = (uint8_t)v;
  return n;
}

static uint64_t zz(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static int64_t unzz(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

static int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*p >= end) return -1;
    uint8_t c = *(*p)++;
    v |= (uint64_t)(c & 0x7f) << shift;
    if (!(c & 0x80)) {
      *out = v;
      return 0;
    }
  }
  return -1;
}

enum { TAIL_FIXED = 16 + 8 + 8 + 1 + 7 * 10 };

int mw__blk_tail_encode(ZSTD_CCtx *c, const mw__sb_span *v, size_t n, mw_buf *out) {
  size_t raw_max = 0;
  for (size_t i = 0; i < n; i++) raw_max += TAIL_FIXED + v[i].body_len;
  if (raw_max > MW__SB_MAX_RAW) return MW_ETOOBIG;
  uint8_t *raw = malloc(raw_max ? raw_max : 1);
  if (!raw) return MW_ENOMEM;
  size_t len = 0;
  for (size_t i = 0; i < n; i++) {
    const mw__sb_span *s = &v[i];
    memcpy(raw + len, s->trace_id, 16);
    memcpy(raw + len + 16, s->span_id, 8);
    memcpy(raw + len + 24, s->parent_id, 8);
    raw[len + 32] = (uint8_t)(s->has_parent != 0);
    len += 33;
    len += put_varint(raw + len, zz(s->op_id));
    len += put_varint(raw + len, zz(s->scope_id));
    len += put_varint(raw + len, zz(s->start_ns));
    len += put_varint(raw + len, zz(s->dur_ns));
    len += put_varint(raw + len, zz(s->kind));
    len += put_varint(raw + len, zz(s->status));
    len += put_varint(raw + len, s->body_len);
    if (s->body_len) memcpy(raw + len, s->body, s->body_len);
    len += s->body_len;
  }
  size_t bound = ZSTD_compressBound(len);
  char *dst = mw__buf_reserve(out, bound);
  int rc = MW_OK;
  if (!dst) rc = out->err ? out->err : MW_ENOMEM;
  else {
    ZSTD_CCtx_reset(c, ZSTD_reset_session_and_parameters);
    ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 1);
    ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
    size_t z = ZSTD_compress2(c, dst, bound, raw, len);
    if (ZSTD_isError(z)) rc = MW_EIO;
    else out->len += z;
  }
  free(raw);
  return rc;
}

int mw__blk_tail_decode(ZSTD_DCtx *d, const uint8_t *data, size_t len, size_t n, mw_arena *a, mw__sb_span *out) {
  unsigned long long raw_len = ZSTD_getFrameContentSize(data, len);
  if (raw_len == ZSTD_CONTENTSIZE_ERROR || raw_len == ZSTD_CONTENTSIZE_UNKNOWN || raw_len > MW__SB_MAX_RAW)
    return MW_EIO;
  uint8_t *raw = mw__arena_alloc(a, raw_len ? (size_t)raw_len : 1);
  if (!raw) return MW_ENOMEM;
  size_t got = ZSTD_decompressDCtx(d, raw, (size_t)raw_len, data, len);
  if (ZSTD_isError(got) || got != raw_len) return MW_EIO;
  const uint8_t *p = raw, *end = raw + got;
  for (size_t i = 0; i < n; i++) {
    mw__sb_span *s = &out[i];
    memset(s, 0, sizeof *s);
    if (end - p < 33) return MW_EIO;
    memcpy(s->trace_id, p, 16);
    memcpy(s->span_id, p + 16, 8);
    memcpy(s->parent_id, p + 24, 8);
    s->has_parent = p[32] != 0;
    p += 33;
    uint64_t f[7];
    for (int j = 0; j < 7; j++)
      if (get_varint(&p, end, &f[j])) return MW_EIO;
    s->op_id = unzz(f[0]);
    s->scope_id = unzz(f[1]);
    s->start_ns = unzz(f[2]);
    s->dur_ns = unzz(f[3]);
    s->kind = (int)unzz(f[4]);
    s->status = (int)unzz(f[5]);
    if (f[6] > (uint64_t)(end - p)) return MW_EIO;
    s->body_len = (size_t)f[6];
    s->body = s->body_len ? p : NULL;
    p += s->body_len;
  }
  return p == end ? MW_OK : MW_EIO;
}

/* ---- the restart ------------------------------------------------------------------ */

static int sql_fail(sqlite3 *db, const char *what) {
  mw__error("rebuilding the open blocks failed", "step=\"%s\" sqlite=\"%s\"", what, sqlite3_errmsg(db));
  return MW_EIO;
}

/* The open blocks from span_tail, staged and applied as one commit. */
static int recover_tail(mw__blk *b, sqlite3 *db, ZSTD_DCtx *d, int64_t now, int64_t *max_seq) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, "SELECT source_id, seq, n, data FROM span_tail ORDER BY source_id, seq", -1, &st, NULL))
    return sql_fail(db, "span_tail");
  mw__blk_txn_begin(b);
  mw__blk_job_begin(b);
  int rc = MW_OK, step = SQLITE_DONE;
  size_t rows = 0, spans = 0;
  while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
    int64_t source = sqlite3_column_int64(st, 0), seq = sqlite3_column_int64(st, 1);
    int64_t n = sqlite3_column_int64(st, 2);
    const uint8_t *data = sqlite3_column_blob(st, 3);
    size_t len = (size_t)sqlite3_column_bytes(st, 3);
    if (seq > *max_seq) *max_seq = seq;
    mw_arena *a = mw__arena_new(0);
    mw__sb_span *v = a && n > 0 && n <= MW_BLK_MAX_SPANS ? mw__arena_alloc(a, (size_t)n * sizeof *v) : NULL;
    if (!v) rc = a && (n <= 0 || n > MW_BLK_MAX_SPANS) ? MW_EIO : MW_ENOMEM;
    else rc = mw__blk_tail_decode(d, data, len, (size_t)n, a, v);
    for (int64_t i = 0; !rc && i < n; i++) rc = mw__blk_stage_span(b, source, &v[i], now);
    if (!rc) mw__blk_stage_tail(b, source, seq);
    mw__arena_free(a);
    if (rc)
      mw__error("rebuilding the open blocks failed", "source=%lld seq=%lld err=\"%s\"", (long long)source,
                (long long)seq, mw__strerror(rc));
    rows++;
    spans += (size_t)n;
  }
  if (!rc && step != SQLITE_DONE) rc = sql_fail(db, "span_tail");
  sqlite3_finalize(st);
  if (rc) {
    mw__blk_txn_rollback(b);
    return rc;
  }
  if (rows) mw__info("open blocks rebuilt", "rows=%zu spans=%zu", rows, spans);
  return mw__blk_apply(b);
}

/* mem from the blocks sealed after the newest flush. */
static int recover_mem(mw__blk *b, sqlite3 *db, ZSTD_DCtx *d) {
  sqlite3_stmt *st;
  int64_t after = 0;
  const char *last_run = "SELECT coalesce((SELECT max(block_id) FROM trace_runs WHERE run_id = coalesce("
                         "(SELECT max(run_id) FROM trace_run_list WHERE level = 0), "
                         "(SELECT max(run_id) FROM trace_run_list WHERE level >= 0))), 0)";
  if (sqlite3_prepare_v2(db, last_run, -1, &st, NULL)) return sql_fail(db, "trace_runs");
  if (sqlite3_step(st) == SQLITE_ROW) after = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  if (sqlite3_prepare_v2(db, "SELECT id, first_ns, last_ns, data FROM span_blocks WHERE id > ?1 ORDER BY id", -1, &st,
                         NULL))
    return sql_fail(db, "span_blocks");
  sqlite3_bind_int64(st, 1, after);
  int rc = MW_OK, step;
  size_t blocks = 0;
  while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
    int64_t id = sqlite3_column_int64(st, 0), first = sqlite3_column_int64(st, 1), last = sqlite3_column_int64(st, 2);
    const uint8_t *data = sqlite3_column_blob(st, 3);
    size_t len = (size_t)sqlite3_column_bytes(st, 3);
    mw_arena *a = mw__arena_new(0);
    mw__sb_block *blk_ = NULL;
    const uint8_t *ids = NULL;
    size_t n = 0;
    rc = a ? mw__sb_open(a, d, data, len, &blk_) : MW_ENOMEM;
    if (!rc) rc = mw__sb_trace_ids(blk_, &ids, &n);
    for (size_t i = 0; !rc && i < n; i++) rc = mw__truns_add(b->mem, mw__trace_key(ids + 16 * i), id, first, last);
    mw__arena_free(a);
    if (rc)
      mw__error("rebuilding the trace partition failed", "block=%lld err=\"%s\"", (long long)id, mw__strerror(rc));
    blocks++;
  }
  if (!rc && step != SQLITE_DONE) rc = sql_fail(db, "span_blocks");
  sqlite3_finalize(st);
  if (!rc && blocks) mw__info("trace partition rebuilt", "blocks=%zu after=%lld", blocks, (long long)after);
  return rc;
}

int mw__blk_recover(mw__blk *b, sqlite3 *db, ZSTD_DCtx *d, int64_t now, int64_t *max_seq) {
  *max_seq = 0;
  char *msg = NULL;
  if (sqlite3_exec(db, "BEGIN", NULL, NULL, &msg) != SQLITE_OK) {
    sqlite3_free(msg);
    return sql_fail(db, "begin");
  }
  int rc = recover_tail(b, db, d, now, max_seq);
  if (!rc) rc = recover_mem(b, db, d);
  sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
  return rc;
}

/* Recent request bodies (see resent.h). */
#include "store/resent.h"

#include <stdlib.h>

typedef struct ring_entry {
  uint64_t h;
  int64_t ns;
} ring_entry;

struct mw__resent {
  ring_entry *ring; /* [head, head + n) mod cap, oldest first */
  size_t cap, head, n;
  uint64_t *set; /* 2 x cap slots, linear probing, 0 = empty */
  size_t set_mask;
  int64_t window_ns;
};

mw__resent *mw__resent_new(size_t cap, int64_t window_ns) {
  if (cap < 2 || (cap & (cap - 1))) return NULL;
  mw__resent *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->cap = cap;
  r->set_mask = 2 * cap - 1;
  r->window_ns = window_ns;
  r->ring = malloc(cap * sizeof *r->ring);
  r->set = calloc(2 * cap, sizeof *r->set);
  if (!r->ring || !r->set) {
    mw__resent_free(r);
    return NULL;
  }
  return r;
}

void mw__resent_free(mw__resent *r) {
  if (!r) return;
  free(r->ring);
  free(r->set);
  free(r);
}

static size_t slot_of(const mw__resent *r, uint64_t h) { return (size_t)(h ^ (h >> 29)) & r->set_mask; }

static size_t find(const mw__resent *r, uint64_t h) {
  size_t i = slot_of(r, h);
  while (r->set[i] && r->set[i] != h) i = (i + 1) & r->set_mask;
  return i;
}

/* Removes h from the set, shifting back the entries of its probe run so that
 * no lookup stops early at the hole (linear probing's deletion). */
static void set_remove(mw__resent *r, uint64_t h) {
  size_t i = find(r, h);
  if (!r->set[i]) return;
  r->set[i] = 0;
  for (size_t j = (i + 1) & r->set_mask; r->set[j]; j = (j + 1) & r->set_mask) {
    size_t home = slot_of(r, r->set[j]);
    /* the entry at j may move to the hole at i when its home is not in (i, j] */
    int stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (stays) continue;
    r->set[i] = r->set[j];
    r->set[j] = 0;
    i = j;
  }
}

static void pop_oldest(mw__resent *r) {
  set_remove(r, r->ring[r->head].h);
  r->head = (r->head + 1) & (r->cap - 1);
  r->n--;
}

static void expire(mw__resent *r, int64_t now_ns) {
  while (r->n && r->ring[r->head].ns <= now_ns - r->window_ns) pop_oldest(r);
}

int mw__resent_seen(mw__resent *r, uint64_t h, int64_t now_ns) {
  expire(r, now_ns);
  return h && r->set[find(r, h)] == h;
}

void mw__resent_add(mw__resent *r, uint64_t h, int64_t now_ns) {
  if (!h) return;
  expire(r, now_ns);
  size_t i = find(r, h);
  if (r->set[i]) return; /* held already */
  if (r->n == r->cap) {
    pop_oldest(r);
    i = find(r, h);
  }
  r->set[i] = h;
  r->ring[(r->head + r->n) & (r->cap - 1)] = (ring_entry){h, now_ns};
  r->n++;
}

size_t mw__resent_count(const mw__resent *r) { return r->n; }

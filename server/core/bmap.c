/* Byte-string -> int64 hash map (see bmap.h). */
#include "core/bmap.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

struct entry {
  uint64_t hash;
  char *key; /* NULL = empty slot */
  size_t len;
  int64_t val;
};

struct mw_bmap {
  struct entry *slots;
  size_t cap, count, max;
};

/* Eight bytes at a time, multiply-and-fold mixing, and a final avalanche:
 * keys here are stack texts of a kilobyte or more, hashed per goroutine. */
uint64_t mw__hash(const void *key, size_t len) {
  const unsigned char *p = key;
  uint64_t h = 0x9E3779B97F4A7C15ULL ^ (len * 0xff51afd7ed558ccdULL);
  while (len >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 31;
    p += 8;
    len -= 8;
  }
  uint64_t w = 0;
  memcpy(&w, p, len);
  h = (h ^ w) * 0x94d049bb133111ebULL;
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ULL;
  return h ^ (h >> 32);
}

mw_bmap *mw__bmap_new(size_t max_entries) {
  mw_bmap *m = calloc(1, sizeof *m);
  if (!m) return NULL;
  m->max = max_entries;
  m->cap = 64;
  m->slots = calloc(m->cap, sizeof *m->slots);
  if (!m->slots) {
    free(m);
    return NULL;
  }
  return m;
}

void mw__bmap_clear(mw_bmap *m) {
  for (size_t i = 0; i < m->cap; i++) {
    free(m->slots[i].key);
    m->slots[i].key = NULL;
  }
  m->count = 0;
}

void mw__bmap_free(mw_bmap *m) {
  if (!m) return;
  mw__bmap_clear(m);
  free(m->slots);
  free(m);
}

size_t mw__bmap_count(const mw_bmap *m) { return m->count; }

static struct entry *find(const mw_bmap *m, uint64_t h, const void *key, size_t len) {
  for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
    struct entry *e = &m->slots[i];
    if (!e->key || (e->hash == h && e->len == len && memcmp(e->key, key, len) == 0)) return e;
  }
}

int mw__bmap_get(const mw_bmap *m, const void *key, size_t len, int64_t *val) {
  struct entry *e = find(m, mw__hash(key, len), key, len);
  if (!e->key) return 0;
  *val = e->val;
  return 1;
}

static int grow(mw_bmap *m) {
  size_t ncap = m->cap * 2;
  struct entry *ns = calloc(ncap, sizeof *ns);
  if (!ns) return MW_ENOMEM;
  for (size_t i = 0; i < m->cap; i++) {
    struct entry *e = &m->slots[i];
    if (!e->key) continue;
    size_t j = e->hash & (ncap - 1);
    while (ns[j].key) j = (j + 1) & (ncap - 1);
    ns[j] = *e;
  }
  free(m->slots);
  m->slots = ns;
  m->cap = ncap;
  return MW_OK;
}

int mw__bmap_put(mw_bmap *m, const void *key, size_t len, int64_t val) {
  uint64_t h = mw__hash(key, len);
  struct entry *e = find(m, h, key, len);
  if (e->key) {
    e->val = val;
    return MW_OK;
  }
  if (m->max && m->count >= m->max) {
    mw__bmap_clear(m);
    e = find(m, h, key, len);
  } else if ((m->count + 1) * 4 > m->cap * 3) {
    if (grow(m)) return MW_ENOMEM;
    e = find(m, h, key, len);
  }
  e->key = malloc(len ? len : 1);
  if (!e->key) return MW_ENOMEM;
  memcpy(e->key, key, len);
  e->len = len;
  e->hash = h;
  e->val = val;
  m->count++;
  return MW_OK;
}

/* Request arena (see arena.h): a list of blocks, each at least 64 KiB; large
 * requests get a block of their own. */
#include "core/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct block {
  struct block *next;
  size_t used, cap;
  _Alignas(16) unsigned char data[];
};

struct mw_arena {
  struct block *head;
  size_t total, max;
};

enum { BLOCK_MIN = 64 * 1024 };

mw_arena *mw__arena_new(size_t max) {
  mw_arena *a = calloc(1, sizeof *a);
  if (a) a->max = max;
  return a;
}

void mw__arena_free(mw_arena *a) {
  if (!a) return;
  for (struct block *b = a->head, *next; b; b = next) {
    next = b->next;
    free(b);
  }
  free(a);
}

void *mw__arena_alloc(mw_arena *a, size_t n) {
  n = (n + 15) & ~(size_t)15;
  if (n == 0) n = 16;
  struct block *b = a->head;
  if (!b || b->cap - b->used < n) {
    size_t cap = n > BLOCK_MIN ? n : BLOCK_MIN;
    if (a->max && (cap > a->max || a->total > a->max - cap)) {
      if (n > a->max || a->total > a->max - n) return NULL;
      cap = n;
    }
    b = malloc(sizeof *b + cap);
    if (!b) return NULL;
    b->used = 0;
    b->cap = cap;
    a->total += cap;
    if (a->head && n > BLOCK_MIN) { /* keep the partly used block current */
      b->next = a->head->next;
      a->head->next = b;
      b->used = n;
      return b->data;
    }
    b->next = a->head;
    a->head = b;
  }
  void *p = b->data + b->used;
  b->used += n;
  return p;
}

void *mw__arena_calloc(mw_arena *a, size_t count, size_t size) {
  if (size && count > SIZE_MAX / size) return NULL;
  void *p = mw__arena_alloc(a, count * size);
  if (p) memset(p, 0, count * size);
  return p;
}

void *mw__arena_grow(mw_arena *a, void *items, size_t n, size_t *cap, size_t size) {
  if (n < *cap) return items;
  size_t ncap = *cap ? *cap * 2 : 16;
  void *p = mw__arena_calloc(a, ncap, size);
  if (!p) return NULL;
  if (n) memcpy(p, items, n * size);
  *cap = ncap;
  return p;
}

char *mw__arena_strndup(mw_arena *a, const char *s, size_t n) {
  char *p = mw__arena_alloc(a, n + 1);
  if (p) {
    memcpy(p, s, n);
    p[n] = '\0';
  }
  return p;
}

void *mw__arena_memdup(mw_arena *a, const void *src, size_t n) {
  void *p = mw__arena_alloc(a, n ? n : 1);
  if (p && n) memcpy(p, src, n);
  return p;
}

size_t mw__arena_used(const mw_arena *a) { return a->total; }

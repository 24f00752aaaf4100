/* A bump allocator for the life of one request: decoders allocate freely and
 * everything is released at once. Needs nothing but libc (meanwhile-agent
 * links it with the runtime text parsers); core/arena_pb.h makes it a
 * protobuf-c allocator. */
#ifndef MW_CORE_ARENA_H
#define MW_CORE_ARENA_H
#include <stddef.h>

typedef struct mw_arena mw_arena;

/* max bounds the total bytes the arena may hand out (0 = no bound). */
mw_arena *mw__arena_new(size_t max);
void mw__arena_free(mw_arena *a);
/* 16-byte aligned; returns NULL on exhaustion or when past max. */
void *mw__arena_alloc(mw_arena *a, size_t n);
void *mw__arena_calloc(mw_arena *a, size_t count, size_t size);
char *mw__arena_strndup(mw_arena *a, const char *s, size_t n);
void *mw__arena_memdup(mw_arena *a, const void *p, size_t n);
size_t mw__arena_used(const mw_arena *a);
/* An array of n elements of size bytes in the arena, grown (doubled, from 16,
 * the old elements copied) when one more would not fit in *cap: returns items
 * or the new array, and updates *cap; NULL on exhaustion (items stay valid). */
void *mw__arena_grow(mw_arena *a, void *items, size_t n, size_t *cap, size_t size);

#endif

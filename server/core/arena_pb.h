/* The request arena (core/arena.h) as a protobuf-c allocator, so that
 * protobuf_c_message_unpack() allocates from a request's arena. Kept apart
 * from arena.h so that the arena itself needs nothing but libc: the runtime
 * text library (decode/runtime_text.h), which meanwhile-agent links too, is
 * built on it. */
#ifndef MW_CORE_ARENA_PB_H
#define MW_CORE_ARENA_PB_H
#include <protobuf-c/protobuf-c.h>

#include "core/arena.h"

static inline void *mw__arena_pb_alloc(void *data, size_t size) { return mw__arena_alloc(data, size); }
static inline void mw__arena_pb_free(void *data, void *p) { (void)data, (void)p; }

/* A ProtobufCAllocator that allocates from a (frees are no-ops: the arena is
 * released as a whole). */
static inline ProtobufCAllocator mw__arena_pb_allocator(mw_arena *a) {
  ProtobufCAllocator al = {.alloc = mw__arena_pb_alloc, .free = mw__arena_pb_free, .allocator_data = a};
  return al;
}

#endif

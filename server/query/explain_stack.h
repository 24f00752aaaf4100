/* Stack text as the store keeps it, "func\tfile:line\n" per frame, leaf
 * first: walking it, and naming where a stack was (explain_stack.c). */
#ifndef MW_QUERY_EXPLAIN_STACK_H
#define MW_QUERY_EXPLAIN_STACK_H
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"

typedef struct mw_frame_it {
  const char *p; /* set to the text to start; the rest is the current frame */
  const char *func, *file;
  size_t func_len, file_len;
  int64_t line;
} mw_frame_it;

/* Steps to the next frame; 0 at the end. */
int mw__frame_next(mw_frame_it *it);
/* The Go runtime's own machinery (runtime., internal/poll., ...). */
int mw__frame_is_runtime(const char *func, size_t n);
/* 1 when a frame of the stack is exactly func. */
int mw__stack_has(const char *frames, const char *func);
/* Where a stack was: the blocking call and the program's own frame that made
 * it, "sync.(*Mutex).Lock in main.reserve (main.go:88)"; runtime frames
 * skipped; "an unknown site" for none. In the arena (NULL on exhaustion). */
const char *mw__stack_site(mw_arena *a, const char *frames);

#endif

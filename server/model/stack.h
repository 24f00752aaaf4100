/* Stacks and labels as the runtime decoders produce them (goroutine dumps,
 * pprof profiles). Strings point into the decoder's arena. */
#ifndef MW_MODEL_STACK_H
#define MW_MODEL_STACK_H
#include <stddef.h>
#include <stdint.h>

typedef struct mw_frame {
  const char *func; /* "pkg/path.(*T).Method"; never NULL ("?" when unknown) */
  const char *file; /* "pkg/file.go" or absolute; "?" when unknown */
  int64_t line;     /* 0 when unknown */
} mw_frame;

typedef struct mw_stack {
  mw_frame *frames; /* leaf (innermost) first */
  size_t n_frames;
  int truncated; /* the source elided frames */
} mw_stack;

typedef struct mw_label {
  const char *key;
  const char *str; /* string value, or NULL for a numeric label */
  int64_t num;
  const char *num_unit;
} mw_label;

#endif

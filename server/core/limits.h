/* Input limits. Every one is configurable (flags / MEANWHILE_* variables, see
 * core/config.c) and named in the error message when exceeded. */
#ifndef MW_CORE_LIMITS_H
#define MW_CORE_LIMITS_H
#include <stddef.h>

typedef struct mw_limits {
  size_t max_body_bytes;       /* request body after decompression (OTLP recommends 64 MiB) */
  size_t max_spans_per_request;
  size_t max_attrs_per_span;   /* attributes of a span, event or link */
  size_t max_value_bytes;      /* one string or bytes value */
  size_t max_nesting;          /* AnyValue array/kvlist depth */
  size_t max_goroutines;       /* goroutine records in one dump */
  size_t max_frames;           /* frames kept per stack (more: truncated) */
  size_t max_labels;           /* labels kept per sample (more: dropped) */
  size_t max_line_bytes;       /* a longer runtime text line is skipped */
  size_t max_samples;          /* samples in one profile */
} mw_limits;

#define MW_LIMITS_DEFAULT                                                                  \
  ((mw_limits){.max_body_bytes = 64u << 20, .max_spans_per_request = 100000,              \
               .max_attrs_per_span = 1024, .max_value_bytes = 64u << 10, .max_nesting = 16,               \
               .max_goroutines = 1000000, .max_frames = 256, .max_labels = 64, .max_line_bytes = 64u << 10,  \
               .max_samples = 1000000})

#endif

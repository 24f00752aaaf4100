/* Input limits. Every one is configurable (flags / MEANWHILE_* variables, see
 * core/config.c) and named in the error message when exceeded. */
#ifndef MW_CORE_LIMITS_H
#define MW_CORE_LIMITS_H
#include <stddef.h>

typedef struct mw_limits {
  size_t max_body_bytes; /* request body after decompression (OTLP recommends 64 MiB) */
  size_t max_spans_per_request;
  size_t max_attrs_per_span; /* attributes of a span, event or link */
  size_t max_value_bytes;    /* one string or bytes value */
  size_t max_attr_depth;     /* arrays/kvlists nested in an attribute value (--max-attr-depth) */
  size_t max_goroutines;     /* goroutine records in one dump */
  size_t max_frames;         /* frames kept per stack (more: truncated) */
  size_t max_labels;         /* labels kept per sample (more: dropped) */
  size_t max_line_bytes;     /* a longer runtime text line is skipped */
  size_t max_samples;        /* samples in one profile */
} mw_limits;

#define MW_LIMITS_DEFAULT                                                                                              \
  ((mw_limits){.max_body_bytes = 64u << 20,                                                                            \
               .max_spans_per_request = 100000,                                                                        \
               .max_attrs_per_span = 1024,                                                                             \
               .max_value_bytes = 64u << 10,                                                                           \
               .max_attr_depth = 16,                                                                                   \
               .max_goroutines = 1000000,                                                                              \
               .max_frames = 256,                                                                                      \
               .max_labels = 64,                                                                                       \
               .max_line_bytes = 64u << 10,                                                                            \
               .max_samples = 1000000})

/* The most --max-attr-depth may be: GET /api/traces renders every value that
 * passes it (core/jsonw.h sizes its nesting for this). */
#define MW_ATTR_DEPTH_MAX 64
/* How deep the OTLP decoders nest values at all, so that a value past
 * max_attr_depth is refused with its span alone (partial success); deeper
 * still, the request is refused whole, as decoding it would take the stack. */
#define MW_ATTR_DECODE_DEPTH 128

#endif

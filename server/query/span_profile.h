/* A span's own profile: the CPU samples or goroutine groups labelled with one
 * span, as a gzip'd pprof that `go tool pprof` opens. */
#ifndef MW_QUERY_SPAN_PROFILE_H
#define MW_QUERY_SPAN_PROFILE_H
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "store/store.h"

/* kind is "cpu" or "goroutine"; trace_id may be NULL. Fills out (gzip'd
 * protobuf). Returns 0, MW_ENOTFOUND when no sample carries the span, or an error. */
int mw__span_profile(mw_store *s, mw_arena *a, const uint8_t span_id[8], const uint8_t *trace_id, const char *kind,
                     mw_buf *out);

#endif

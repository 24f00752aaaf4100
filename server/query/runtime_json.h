/* JSON shapes of runtime records shared by the read answers (catalog.c,
 * runtime.c) and the timeline. */
#ifndef MW_QUERY_RUNTIME_JSON_H
#define MW_QUERY_RUNTIME_JSON_H
#include "core/jsonw.h"
#include "model/runtime.h"
#include "store/store.h"

/* A source: {"id","service","instance","host","pid","first_ns","last_ns"}. */
void mw__json_source(mw_jsonw *w, const mw_source_info *s);
/* A GC cycle with absolute phase windows, CPU split and heap figures. */
void mw__json_gc_cycle(mw_jsonw *w, const mw_gc_cycle *g);
/* A snapshot's listing fields, inside an object the caller opened and closes:
 * "id", "kind", "format", "time_ns", "duration_ns", "total". */
void mw__json_snapshot_head(mw_jsonw *w, const mw_snapshot_info *sn);
/* A stored stack text ("func\tfile:line\n" per frame) as [{"func","file","line"}]. */
void mw__json_frames(mw_jsonw *w, const char *frames);

#endif

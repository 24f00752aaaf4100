/* Writing pprof: a perftools.profiles.Profile built from stored rows (stack
 * text "func\tfile:line\n" per frame, leaf first), packed with protobuf-c and
 * gzip'd, as `go tool pprof` reads it. One Location per (function, file,
 * line) with one Line, one Function per (function, file); no addresses and no
 * mappings (pprof reads the symbols given). Used by the span profiles
 * (span_profile.c) and by the goroutine profiles whose groups are all that is
 * stored (GET /api/v1/snapshots/{id}/raw). Everything lives in the arena. */
#ifndef MW_QUERY_PPROF_OUT_H
#define MW_QUERY_PPROF_OUT_H
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/bmap.h"
#include "core/buf.h"
#include "model/snapshot_meta.h"
#include "perftools/profiles.pb-c.h"
#include "store/store.h"

typedef struct mw_pprof_out {
  mw_arena *a;
  mw_bmap *strings, *funcs, *locs;
  char **strtab;
  size_t n_str, cap_str;
  Perftools__Profiles__Function **funcs_v;
  size_t n_funcs, cap_funcs;
  Perftools__Profiles__Location **locs_v;
  size_t n_locs, cap_locs;
} mw_pprof_out;

/* 0; MW_ENOMEM. The string table starts with "". Free with _free, always. */
int mw__pprof_out_init(mw_pprof_out *b, mw_arena *a);
void mw__pprof_out_free(mw_pprof_out *b);
/* The string's index in the string table (added once), or -1 (no memory). */
int64_t mw__pprof_out_str(mw_pprof_out *b, const char *s, size_t len);
/* Sets sm's location ids from stack text (frames, leaf first). 0; -1. */
int mw__pprof_out_stack(mw_pprof_out *b, const char *frames, Perftools__Profiles__Sample *sm);
/* A string label key=val into *out. 0; -1. */
int mw__pprof_out_label(mw_pprof_out *b, Perftools__Profiles__Label **out, const char *key, const char *val);
/* Gives p the functions, locations and strings made so far, packs it and
 * appends it gzip'd to out. 0; MW_ENOMEM; MW_EIO. */
int mw__pprof_out_finish(mw_pprof_out *b, Perftools__Profiles__Profile *p, mw_buf *out);

/* A goroutine profile rebuilt from a snapshot's goroutine groups (all of
 * them, rows[0..n)): the meta's sample types (goroutine/count when it has
 * none) and period, time_nanos and duration_nanos of the snapshot, one sample
 * per group with its count as the first value (0 for any other), its frames,
 * and its labels (labels_json: strings as string labels, integers as numeric
 * ones). Appended gzip'd to out. 0; MW_ENOMEM; MW_EIO. */
int mw__pprof_goroutine_groups(mw_arena *a, const mw_snapshot_info *info, const mw_snapshot_meta *meta,
                               const mw_snapshot_row *rows, size_t n, mw_buf *out);

#endif

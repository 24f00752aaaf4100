/* A snapshot's metadata: what a goroutine dump or a profile says about
 * itself beyond its rows (the profile's sample types and period, the
 * goroutines by state, why it was taken). Stored as JSON in snapshots.meta;
 * this module holds its one writer (at ingest) and its one reader (every
 * query that needs a part of it), so that the stored text has one owner. */
#ifndef MW_MODEL_SNAPSHOT_META_H
#define MW_MODEL_SNAPSHOT_META_H
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/jsonw.h"
#include "model/runtime.h"

typedef struct mw_value_type {
  const char *type, *unit; /* pprof's ValueType; NULL when not stored */
} mw_value_type;

typedef struct mw_snapshot_meta {
  const char *format; /* "pprof", "debug=1", "debug=2"; NULL when not stored */
  /* a profile (pprof) */
  int profile; /* 1: sample_types ... period are set */
  const mw_value_type *sample_types;
  size_t n_sample_types;
  mw_value_type period_type;
  int64_t period;
  const char *default_sample_type; /* or NULL */
  /* goroutines: of a dump, or of a goroutine profile */
  int has_by_state;
  int64_t by_state[MW_G_NSTATES]; /* goroutines in each state (0: none) */
  int64_t claimed_total;          /* the count a debug=1 dump states, -1 when none */
  const char *trigger;            /* why the agent took it ("heap", "goroutines"), or NULL */
} mw_snapshot_meta;

/* 1 when a snapshot of kind stores goroutine groups (goroutine dumps and
 * profiles, and goroutine leak profiles: the leaked goroutines grouped by
 * stack), 0 when it stores profile samples (cpu, heap, ...). */
int mw__snapshot_kind_groups(const char *kind);

/* A meta with nothing set (claimed_total -1). */
void mw__snapshot_meta_init(mw_snapshot_meta *m);
/* Writes m as it is stored (and as GET /api/v1/snapshots/{id} shows it): a
 * JSON object whose keys keep the order of the first version (a dump:
 * format, by_state, claimed_total, trigger; a profile: format, sample_types,
 * period_type, period, default_sample_type, trigger, by_state), so that
 * meta written before and after this module reads the same. */
void mw__snapshot_meta_write(mw_jsonw *w, const mw_snapshot_meta *m);
/* Reads stored meta (NULL: none) into out, strings copied into the arena.
 * Returns 0; MW_EINVAL when it is not a JSON object (out is then as
 * mw__snapshot_meta_init leaves it); MW_ENOMEM. Members it does not know, or
 * of another type, are left out. */
int mw__snapshot_meta_read(mw_arena *a, const char *json, mw_snapshot_meta *out);

#endif

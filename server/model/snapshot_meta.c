/* The one writer and the one reader of snapshots.meta (see snapshot_meta.h). */
#include "model/snapshot_meta.h"
#include "core/error.h"

#include <jansson.h>
#include <string.h>

int mw__snapshot_kind_groups(const char *kind) {
  return kind && (strcmp(kind, "goroutine") == 0 || strcmp(kind, "goroutineleak") == 0);
}

void mw__snapshot_meta_init(mw_snapshot_meta *m) {
  memset(m, 0, sizeof *m);
  m->claimed_total = -1;
}

static void write_type(mw_jsonw *w, const mw_value_type *t) {
  mw__jw_arr(w);
  mw__jw_str(w, t->type ? t->type : "");
  mw__jw_str(w, t->unit ? t->unit : "");
  mw__jw_arr_end(w);
}

static void write_by_state(mw_jsonw *w, const mw_snapshot_meta *m) {
  mw__jw_key(w, "by_state");
  mw__jw_obj(w);
  for (int s = 0; s < MW_G_NSTATES; s++)
    if (m->by_state[s]) mw__jw_kint(w, mw__gstate_name((enum mw_gstate)s), m->by_state[s]);
  mw__jw_obj_end(w);
}

void mw__snapshot_meta_write(mw_jsonw *w, const mw_snapshot_meta *m) {
  mw__jw_obj(w);
  if (m->format) mw__jw_kstr(w, "format", m->format);
  if (m->profile) {
    mw__jw_key(w, "sample_types");
    mw__jw_arr(w);
    for (size_t i = 0; i < m->n_sample_types; i++) write_type(w, &m->sample_types[i]);
    mw__jw_arr_end(w);
    mw__jw_key(w, "period_type");
    write_type(w, &m->period_type);
    mw__jw_kint(w, "period", m->period);
    if (m->default_sample_type && *m->default_sample_type)
      mw__jw_kstr(w, "default_sample_type", m->default_sample_type);
    if (m->trigger) mw__jw_kstr(w, "trigger", m->trigger);
    if (m->has_by_state) write_by_state(w, m);
  } else {
    if (m->has_by_state) write_by_state(w, m);
    if (m->claimed_total >= 0) mw__jw_kint(w, "claimed_total", m->claimed_total);
    if (m->trigger) mw__jw_kstr(w, "trigger", m->trigger);
  }
  mw__jw_obj_end(w);
}

/* A string member copied into the arena; NULL when absent or not a string.
 * *oom is set when the copy failed. */
static const char *str(mw_arena *a, json_t *v, int *oom) {
  const char *s = json_string_value(v);
  if (!s) return NULL;
  const char *c = mw__arena_strndup(a, s, json_string_length(v));
  if (!c) *oom = 1;
  return c;
}

static void read_type(mw_arena *a, json_t *pair, mw_value_type *out, int *oom) {
  out->type = str(a, json_array_get(pair, 0), oom);
  out->unit = str(a, json_array_get(pair, 1), oom);
}

int mw__snapshot_meta_read(mw_arena *a, const char *json, mw_snapshot_meta *out) {
  mw__snapshot_meta_init(out);
  json_t *m = json ? json_loads(json, 0, NULL) : NULL;
  if (!json_is_object(m)) {
    json_decref(m);
    return MW_EINVAL;
  }
  int oom = 0;
  out->format = str(a, json_object_get(m, "format"), &oom);
  json_t *types = json_object_get(m, "sample_types");
  if (json_is_array(types)) {
    out->profile = 1;
    size_t n = json_array_size(types);
    mw_value_type *t = mw__arena_calloc(a, n + 1, sizeof *t);
    if (!t) oom = 1;
    for (size_t i = 0; t && i < n; i++) read_type(a, json_array_get(types, i), &t[i], &oom);
    out->sample_types = t;
    out->n_sample_types = t ? n : 0;
  }
  read_type(a, json_object_get(m, "period_type"), &out->period_type, &oom);
  json_t *period = json_object_get(m, "period");
  if (json_is_integer(period)) out->period = json_integer_value(period);
  out->default_sample_type = str(a, json_object_get(m, "default_sample_type"), &oom);
  json_t *bs = json_object_get(m, "by_state");
  if (json_is_object(bs)) {
    out->has_by_state = 1;
    for (int s = 0; s < MW_G_NSTATES; s++) {
      json_t *v = json_object_get(bs, mw__gstate_name((enum mw_gstate)s));
      if (json_is_integer(v)) out->by_state[s] = json_integer_value(v);
    }
  }
  json_t *claimed = json_object_get(m, "claimed_total");
  if (json_is_integer(claimed)) out->claimed_total = json_integer_value(claimed);
  out->trigger = str(a, json_object_get(m, "trigger"), &oom);
  json_decref(m);
  return oom ? MW_ENOMEM : MW_OK;
}

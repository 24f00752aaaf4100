/* The trace index in sorted runs (see trace_runs.h). */
#include "store/trace_runs.h"
#include "core/error.h"
#include "store/conn.h"

#include <stdlib.h>
#include <string.h>

int64_t mw__trace_key(const uint8_t id[16]) {
  uint64_t k = 0;
  for (int i = 0; i < 8; i++) k = k << 8 | id[i];
  return (int64_t)k;
}

/* ---- the open partition ---------------------------------------------------- */

typedef struct ent {
  int64_t key, block;
} ent;

struct mw__truns_mem {
  ent *slot;  /* open addressing by key; block < 0: empty */
  size_t cap; /* power of two */
  size_t n;   /* entries */
  int64_t first_ns, last_ns;
};

static size_t slot_of(int64_t key, size_t cap) {
  uint64_t h = (uint64_t)key * 0x9E3779B97F4A7C15ull;
  return (size_t)(h >> 17) & (cap - 1);
}

static int mem_grow(mw__truns_mem *m, size_t cap) {
  ent *s = malloc(cap * sizeof *s);
  if (!s) return MW_ENOMEM;
  for (size_t i = 0; i < cap; i++) s[i].block = -1;
  for (size_t i = 0; i < m->cap; i++) {
    if (m->slot[i].block < 0) continue;
    size_t j = slot_of(m->slot[i].key, cap);
    while (s[j].block >= 0) j = (j + 1) & (cap - 1);
    s[j] = m->slot[i];
  }
  free(m->slot);
  m->slot = s;
  m->cap = cap;
  return MW_OK;
}

mw__truns_mem *mw__truns_mem_new(void) {
  mw__truns_mem *m = calloc(1, sizeof *m);
  if (m && mem_grow(m, 1024)) {
    free(m);
    return NULL;
  }
  if (m) mw__truns_mem_clear(m);
  return m;
}

void mw__truns_mem_free(mw__truns_mem *m) {
  if (!m) return;
  free(m->slot);
  free(m);
}

int mw__truns_add(mw__truns_mem *m, int64_t key, int64_t block, int64_t first_ns, int64_t last_ns) {
  if (block < 0) return MW_EINVAL;
  if ((m->n + 1) * 2 > m->cap && mem_grow(m, m->cap * 2)) return MW_ENOMEM;
  size_t j = slot_of(key, m->cap);
  for (; m->slot[j].block >= 0; j = (j + 1) & (m->cap - 1))
    if (m->slot[j].key == key && m->slot[j].block == block) break;
  if (m->slot[j].block < 0) {
    m->slot[j].key = key;
    m->slot[j].block = block;
    m->n++;
  }
  if (first_ns < m->first_ns) m->first_ns = first_ns;
  if (last_ns > m->last_ns) m->last_ns = last_ns;
  return MW_OK;
}

size_t mw__truns_mem_count(const mw__truns_mem *m) { return m->n; }

void mw__truns_mem_clear(mw__truns_mem *m) {
  for (size_t i = 0; i < m->cap; i++) m->slot[i].block = -1;
  m->n = 0;
  m->first_ns = INT64_MAX;
  m->last_ns = INT64_MIN;
}

int mw__truns_mem_drop_blocks(mw__truns_mem *m, int64_t lo, int64_t hi, size_t *dropped) {
  *dropped = 0;
  ent *kept = malloc((m->n ? m->n : 1) * sizeof *kept);
  if (!kept) return MW_ENOMEM;
  size_t n = 0;
  for (size_t i = 0; i < m->cap; i++) {
    if (m->slot[i].block < 0) continue;
    if (m->slot[i].block >= lo && m->slot[i].block <= hi) (*dropped)++;
    else kept[n++] = m->slot[i];
  }
  for (size_t i = 0; i < m->cap; i++) m->slot[i].block = -1;
  for (size_t i = 0; i < n; i++) {
    size_t j = slot_of(kept[i].key, m->cap);
    while (m->slot[j].block >= 0) j = (j + 1) & (m->cap - 1);
    m->slot[j] = kept[i];
  }
  free(kept);
  m->n = n;
  return MW_OK;
}

static size_t mem_find(const mw__truns_mem *m, int64_t key, int64_t *out, size_t cap, size_t n, size_t *matched) {
  for (size_t j = slot_of(key, m->cap); m->slot[j].block >= 0; j = (j + 1) & (m->cap - 1)) {
    if (m->slot[j].key != key) continue;
    (*matched)++;
    if (n < cap) out[n++] = m->slot[j].block;
  }
  return n;
}

static int ent_cmp(const void *a, const void *b) {
  const ent *x = a, *y = b;
  if (x->key != y->key) return x->key < y->key ? -1 : 1;
  return x->block < y->block ? -1 : x->block > y->block;
}

/* ---- writing ----------------------------------------------------------------- */

enum {
  W_INS,       /* one entry */
  W_NEWRUN,    /* a run row; yields its id */
  W_SETN,      /* a run's entries count */
  W_DEAD,      /* a dropped run with entries left */
  W_DELCHUNK,  /* the first ?2 entries of a run (by key) */
  W_DELRUN,    /* the rest of a run's entries */
  W_DELROW,    /* a run's row */
  W_MERGING,   /* the merge under way: its target */
  W_SOURCES,   /* a target's sources */
  W_LASTENT,   /* a run's last entry */
  W_NEXT,      /* a run's entries after a cursor */
  W_CANDS,     /* runs to merge */
  W_MARK,      /* a source joins a merge */
  W_FINISH,    /* a merge's sources are dropped */
  W_COUNT,     /* entries of a run */
  W_DROPOLD,   /* retention by time */
  W_OVERLAP,   /* runs overlapping a time range */
  W_DELBLOCKS, /* a run's entries of a block range */
  W_N
};

static const char *const w_sql[W_N] = {
    [W_INS] = "INSERT INTO trace_runs (run_id, trace_key, block_id) VALUES (?1, ?2, ?3)",
    [W_NEWRUN] = "INSERT INTO trace_run_list (run_id, level, first_ns, last_ns, entries) "
                 "VALUES ((SELECT coalesce(max(run_id), 0) + 1 FROM trace_run_list), ?1, ?2, ?3, ?4) RETURNING run_id",
    [W_SETN] = "UPDATE trace_run_list SET entries = ?2 WHERE run_id = ?1",
    [W_DEAD] = "SELECT run_id FROM trace_run_list WHERE level < 0 LIMIT 1",
    [W_DELCHUNK] = "DELETE FROM trace_runs WHERE run_id = ?1 AND trace_key <= "
                   "(SELECT trace_key FROM trace_runs WHERE run_id = ?1 ORDER BY trace_key LIMIT 1 OFFSET ?2)",
    [W_DELRUN] = "DELETE FROM trace_runs WHERE run_id = ?1",
    [W_DELROW] = "DELETE FROM trace_run_list WHERE run_id = ?1",
    [W_MERGING] = "SELECT into_run FROM trace_run_list WHERE into_run IS NOT NULL LIMIT 1",
    [W_SOURCES] = "SELECT run_id FROM trace_run_list WHERE into_run = ?1 ORDER BY run_id",
    [W_LASTENT] = "SELECT trace_key, block_id FROM trace_runs WHERE run_id = ?1 "
                  "ORDER BY trace_key DESC, block_id DESC LIMIT 1",
    [W_NEXT] = "SELECT trace_key, block_id FROM trace_runs WHERE run_id = ?1 AND (trace_key, block_id) > (?2, ?3) "
               "ORDER BY trace_key, block_id LIMIT ?4",
    [W_CANDS] = "SELECT run_id, first_ns, last_ns FROM trace_run_list WHERE level = ?1 AND last_ns < ?2 "
                "AND into_run IS NULL ORDER BY first_ns, run_id LIMIT ?3",
    [W_MARK] = "UPDATE trace_run_list SET into_run = ?2 WHERE run_id = ?1",
    [W_FINISH] = "UPDATE trace_run_list SET level = -1, into_run = NULL WHERE into_run = ?1",
    [W_COUNT] = "SELECT count(*) FROM trace_runs WHERE run_id = ?1",
    [W_DROPOLD] = "UPDATE trace_run_list SET level = -1 WHERE level >= 0 AND last_ns < ?1 AND into_run IS NULL "
                  "AND run_id NOT IN (SELECT into_run FROM trace_run_list WHERE into_run IS NOT NULL)",
    [W_OVERLAP] = "SELECT run_id FROM trace_run_list WHERE level >= 0 AND first_ns <= ?2 AND last_ns >= ?1",
    [W_DELBLOCKS] = "DELETE FROM trace_runs WHERE run_id = ?1 AND block_id BETWEEN ?2 AND ?3",
};

struct mw__truns_w {
  sqlite3 *db;
  sqlite3_stmt *st[W_N];
};

int mw__truns_w_open(sqlite3 *db, mw__truns_w **out) {
  *out = NULL;
  mw__truns_w *w = calloc(1, sizeof *w);
  if (!w) return MW_ENOMEM;
  w->db = db;
  for (int i = 0; i < W_N; i++)
    if (sqlite3_prepare_v3(db, w_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &w->st[i], NULL) != SQLITE_OK) {
      mw__truns_w_close(w);
      return MW_EIO;
    }
  *out = w;
  return MW_OK;
}

void mw__truns_w_close(mw__truns_w *w) {
  if (!w) return;
  for (int i = 0; i < W_N; i++) sqlite3_finalize(w->st[i]);
  free(w);
}

/* Steps a statement that yields nothing to the end. */
static int run(mw__truns_w *w, sqlite3_stmt *st) {
  int rc = sqlite3_step(st);
  while (rc == SQLITE_ROW) rc = sqlite3_step(st);
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? MW_OK : mw__sql_err(w->db);
}

static int new_run(mw__truns_w *w, int level, int64_t first_ns, int64_t last_ns, int64_t entries, int64_t *id) {
  sqlite3_stmt *st = w->st[W_NEWRUN];
  sqlite3_bind_int(st, 1, level);
  sqlite3_bind_int64(st, 2, first_ns);
  sqlite3_bind_int64(st, 3, last_ns);
  sqlite3_bind_int64(st, 4, entries);
  return mw__step_id(w->db, st, id);
}

static int insert(mw__truns_w *w, int64_t run_id, int64_t key, int64_t block) {
  sqlite3_stmt *st = w->st[W_INS];
  sqlite3_bind_int64(st, 1, run_id);
  sqlite3_bind_int64(st, 2, key);
  sqlite3_bind_int64(st, 3, block);
  return run(w, st);
}

static int set_count(mw__truns_w *w, int64_t run_id, int64_t n) {
  sqlite3_bind_int64(w->st[W_SETN], 1, run_id);
  sqlite3_bind_int64(w->st[W_SETN], 2, n);
  return run(w, w->st[W_SETN]);
}

int mw__truns_flush(mw__truns_w *w, const mw__truns_mem *m, int64_t *run_id) {
  *run_id = 0;
  if (m->n == 0) return MW_OK;
  ent *e = malloc(m->n * sizeof *e);
  if (!e) return MW_ENOMEM;
  size_t n = 0;
  for (size_t i = 0; i < m->cap; i++)
    if (m->slot[i].block >= 0) e[n++] = m->slot[i];
  qsort(e, n, sizeof *e, ent_cmp);
  int64_t id;
  int rc = new_run(w, 0, m->first_ns, m->last_ns, (int64_t)n, &id);
  for (size_t i = 0; rc == MW_OK && i < n; i++) rc = insert(w, id, e[i].key, e[i].block);
  free(e);
  if (rc == MW_OK) *run_id = id;
  return rc;
}

/* Deletes up to budget entries of one dropped run; its row goes with its
 * last entry. */
static int delete_dead(mw__truns_w *w, int64_t id, size_t budget, size_t *work) {
  sqlite3_stmt *st = w->st[W_DELCHUNK];
  sqlite3_bind_int64(st, 1, id);
  sqlite3_bind_int64(st, 2, (int64_t)budget - 1);
  int rc = run(w, st);
  if (rc) return rc;
  int64_t n = sqlite3_changes64(w->db);
  if (n > 0) { /* a full chunk (keys equal to the bound's may make it a little more) */
    *work = (size_t)n;
    return MW_OK;
  }
  sqlite3_bind_int64(w->st[W_DELRUN], 1, id); /* fewer than budget left */
  if ((rc = run(w, w->st[W_DELRUN]))) return rc;
  *work = (size_t)sqlite3_changes64(w->db) + 1;
  sqlite3_bind_int64(w->st[W_DELROW], 1, id);
  return run(w, w->st[W_DELROW]);
}

/* One merge source's batch after the cursor. */
typedef struct src {
  int64_t id;
  size_t n; /* entries fetched */
  int full; /* fetched as many as asked: more may follow */
} src;

/* Copies the next batch of the merge into target: from each source up to
 * per entries after the target's last entry; every entry fetched that is not
 * beyond the smallest last entry of a source fetched in full is surely next
 * in key order, and is appended. When no source had more, the merge is done:
 * the sources are marked dropped (their entries go in later calls). */
static int merge_step(mw__truns_w *w, int64_t target, size_t budget, size_t *work) {
  int rc;
  src *s = NULL;
  size_t ns = 0, cap = 0;
  sqlite3_stmt *st = w->st[W_SOURCES];
  sqlite3_bind_int64(st, 1, target);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (ns == cap) {
      src *t = realloc(s, (cap = cap ? cap * 2 : 16) * sizeof *s);
      if (!t) {
        sqlite3_reset(st);
        free(s);
        return MW_ENOMEM;
      }
      s = t;
    }
    s[ns++] = (src){sqlite3_column_int64(st, 0), 0, 0};
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) {
    free(s);
    return mw__sql_err(w->db);
  }
  /* the cursor: the target's last entry */
  int64_t ck = INT64_MIN, cb = INT64_MIN;
  st = w->st[W_LASTENT];
  sqlite3_bind_int64(st, 1, target);
  if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    ck = sqlite3_column_int64(st, 0);
    cb = sqlite3_column_int64(st, 1);
    rc = SQLITE_DONE;
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) {
    free(s);
    return mw__sql_err(w->db);
  }
  size_t per = ns ? budget / ns : budget;
  if (per < 64) per = 64;
  ent *e = malloc(per * (ns ? ns : 1) * sizeof *e);
  if (!e) {
    free(s);
    return MW_ENOMEM;
  }
  size_t n = 0;
  int any_full = 0;
  ent bound = {INT64_MAX, INT64_MAX};
  st = w->st[W_NEXT];
  rc = MW_OK;
  for (size_t i = 0; i < ns && rc == MW_OK; i++) {
    sqlite3_bind_int64(st, 1, s[i].id);
    sqlite3_bind_int64(st, 2, ck);
    sqlite3_bind_int64(st, 3, cb);
    sqlite3_bind_int64(st, 4, (int64_t)per);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
      e[n].key = sqlite3_column_int64(st, 0);
      e[n].block = sqlite3_column_int64(st, 1);
      n++;
      s[i].n++;
    }
    sqlite3_reset(st);
    if (r != SQLITE_DONE) rc = mw__sql_err(w->db);
    if (rc == MW_OK && s[i].n == per) {
      s[i].full = 1;
      any_full = 1;
      if (ent_cmp(&e[n - 1], &bound) < 0) bound = e[n - 1];
    }
  }
  if (rc == MW_OK) {
    qsort(e, n, sizeof *e, ent_cmp);
    size_t written = 0;
    for (size_t i = 0; i < n && rc == MW_OK; i++) {
      if (any_full && ent_cmp(&e[i], &bound) > 0) break;
      if (i > 0 && ent_cmp(&e[i], &e[i - 1]) == 0) continue; /* in two sources */
      rc = insert(w, target, e[i].key, e[i].block);
      written++;
    }
    *work = n + written;
    if (rc == MW_OK && !any_full) { /* every source copied: the target is whole */
      sqlite3_bind_int64(w->st[W_COUNT], 1, target);
      int64_t count;
      rc = mw__step_id(w->db, w->st[W_COUNT], &count);
      if (rc == MW_OK) rc = set_count(w, target, count);
      if (rc == MW_OK) {
        sqlite3_bind_int64(w->st[W_FINISH], 1, target);
        rc = run(w, w->st[W_FINISH]);
      }
      if (*work == 0) *work = 1; /* finishing is work: the caller calls again */
    }
  }
  free(e);
  free(s);
  return rc;
}

static int start_merge(mw__truns_w *w, const mw__truns_merge_opts *o, int64_t *target) {
  *target = 0;
  size_t max = o->max_runs < 2 ? 2 : o->max_runs, min = o->min_runs < 2 ? 2 : o->min_runs;
  int64_t *ids = malloc(max * sizeof *ids);
  if (!ids) return MW_ENOMEM;
  size_t n = 0;
  int64_t first = INT64_MAX, last = INT64_MIN;
  sqlite3_stmt *st = w->st[W_CANDS];
  sqlite3_bind_int(st, 1, o->level);
  sqlite3_bind_int64(st, 2, o->before_ns);
  sqlite3_bind_int64(st, 3, (int64_t)max);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < max) {
    ids[n++] = sqlite3_column_int64(st, 0);
    int64_t f = sqlite3_column_int64(st, 1), l = sqlite3_column_int64(st, 2);
    if (f < first) first = f;
    if (l > last) last = l;
  }
  sqlite3_reset(st);
  rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? MW_OK : mw__sql_err(w->db);
  if (rc == MW_OK && n >= min) {
    rc = new_run(w, o->level + 1, first, last, 0, target);
    for (size_t i = 0; rc == MW_OK && i < n; i++) {
      sqlite3_bind_int64(w->st[W_MARK], 1, ids[i]);
      sqlite3_bind_int64(w->st[W_MARK], 2, *target);
      rc = run(w, w->st[W_MARK]);
    }
  }
  free(ids);
  return rc;
}

void mw__truns_schedule(int level, size_t budget, mw__truns_merge_opts *o) {
  *o = (mw__truns_merge_opts){
      .level = level, .before_ns = INT64_MAX, .min_runs = MW_TRUNS_FANIN, .max_runs = MW_TRUNS_FANIN, .budget = budget};
}

int mw__truns_maintain(mw__truns_w *w, const mw__truns_merge_opts *o, size_t *work) {
  *work = 0;
  size_t budget = o->budget < 64 ? 64 : o->budget;
  int64_t id;
  int rc = mw__step_id(w->db, w->st[W_DEAD], &id);
  if (rc) return rc;
  if (id >= 0) return delete_dead(w, id, budget, work);
  if ((rc = mw__step_id(w->db, w->st[W_MERGING], &id))) return rc;
  if (id < 0) {
    if ((rc = start_merge(w, o, &id))) return rc;
    if (id == 0) return MW_OK; /* nothing to merge */
  }
  return merge_step(w, id, budget, work);
}

int mw__truns_drop_before(mw__truns_w *w, int64_t before_ns, size_t *runs) {
  sqlite3_bind_int64(w->st[W_DROPOLD], 1, before_ns);
  int rc = run(w, w->st[W_DROPOLD]);
  *runs = rc ? 0 : (size_t)sqlite3_changes64(w->db);
  return rc;
}

int mw__truns_drop_blocks(mw__truns_w *w, int64_t lo, int64_t hi, int64_t first_ns, int64_t last_ns, size_t *entries) {
  *entries = 0;
  int64_t *ids = NULL;
  size_t n = 0, cap = 0;
  sqlite3_stmt *st = w->st[W_OVERLAP];
  sqlite3_bind_int64(st, 1, first_ns);
  sqlite3_bind_int64(st, 2, last_ns);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (n == cap) {
      int64_t *t = realloc(ids, (cap = cap ? cap * 2 : 32) * sizeof *ids);
      if (!t) break;
      ids = t;
    }
    ids[n++] = sqlite3_column_int64(st, 0);
  }
  sqlite3_reset(st);
  rc = rc == SQLITE_DONE ? MW_OK : rc == SQLITE_ROW ? MW_ENOMEM : mw__sql_err(w->db);
  for (size_t i = 0; rc == MW_OK && i < n; i++) {
    st = w->st[W_DELBLOCKS];
    sqlite3_bind_int64(st, 1, ids[i]);
    sqlite3_bind_int64(st, 2, lo);
    sqlite3_bind_int64(st, 3, hi);
    if ((rc = run(w, st))) break;
    int64_t d = sqlite3_changes64(w->db);
    if (d == 0) continue;
    *entries += (size_t)d;
    int64_t count;
    sqlite3_bind_int64(w->st[W_COUNT], 1, ids[i]);
    if ((rc = mw__step_id(w->db, w->st[W_COUNT], &count)) == MW_OK) rc = set_count(w, ids[i], count);
  }
  free(ids);
  return rc;
}

/* ---- reading ----------------------------------------------------------------- */

enum { R_IN, R_LIVE, R_ONE, R_COUNT, R_N };

static const char *const r_sql[R_N] = {
    [R_IN] = ("SELECT block_id FROM trace_runs WHERE run_id IN (SELECT run_id FROM trace_run_list WHERE level >= 0) "
              "AND trace_key = ?1"), /* parenthesised: clang's -Wstring-concatenation */
    [R_LIVE] = "SELECT run_id FROM trace_run_list WHERE level >= 0",
    [R_ONE] = "SELECT block_id FROM trace_runs WHERE run_id = ?1 AND trace_key = ?2",
    [R_COUNT] = "SELECT count(*) FROM trace_run_list WHERE level >= 0",
};

struct mw__truns_rd {
  sqlite3 *db;
  sqlite3_stmt *st[R_N];
  int64_t *runs;
  size_t cap;
};

int mw__truns_rd_open(sqlite3 *db, mw__truns_rd **out) {
  *out = NULL;
  mw__truns_rd *r = calloc(1, sizeof *r);
  if (!r) return MW_ENOMEM;
  r->db = db;
  for (int i = 0; i < R_N; i++)
    if (sqlite3_prepare_v3(db, r_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &r->st[i], NULL) != SQLITE_OK) {
      mw__truns_rd_close(r);
      return MW_EIO;
    }
  *out = r;
  return MW_OK;
}

void mw__truns_rd_close(mw__truns_rd *r) {
  if (!r) return;
  for (int i = 0; i < R_N; i++) sqlite3_finalize(r->st[i]);
  free(r->runs);
  free(r);
}

int64_t mw__truns_run_count(mw__truns_rd *r) {
  int64_t n;
  return mw__step_id(r->db, r->st[R_COUNT], &n) ? -1 : n;
}

/* Reads the block ids st yields into out (without repeats). */
static int collect(mw__truns_rd *r, sqlite3_stmt *st, int64_t *out, size_t cap, size_t *n, size_t *matched) {
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    int64_t b = sqlite3_column_int64(st, 0);
    size_t i = 0;
    while (i < *n && out[i] != b) i++;
    if (i < *n) continue;
    (*matched)++;
    if (*n < cap) out[(*n)++] = b;
  }
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? MW_OK : mw__sql_err(r->db);
}

static int cmp64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

int mw__truns_mem_find(const mw__truns_mem *m, int64_t key, int64_t *out, size_t cap, size_t *n) {
  size_t matched = 0;
  *n = mem_find(m, key, out, cap, 0, &matched);
  if (*n > 1) qsort(out, *n, sizeof *out, cmp64); /* the partition holds each (key, block) once */
  return matched > *n ? MW_ETOOBIG : MW_OK;
}

int mw__truns_lookup(mw__truns_rd *r, const mw__truns_mem *m, int64_t key, int how, int64_t *out, size_t cap,
                     size_t *n) {
  *n = 0;
  size_t matched = 0;
  if (m) *n = mem_find(m, key, out, cap, 0, &matched);
  int rc;
  if (how == MW_TRUNS_LOOP) {
    size_t nr = 0;
    sqlite3_stmt *st = r->st[R_LIVE];
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      if (nr == r->cap) {
        int64_t *t = realloc(r->runs, (r->cap = r->cap ? r->cap * 2 : 256) * sizeof *t);
        if (!t) {
          sqlite3_reset(st);
          return MW_ENOMEM;
        }
        r->runs = t;
      }
      r->runs[nr++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return mw__sql_err(r->db);
    st = r->st[R_ONE];
    rc = MW_OK;
    for (size_t i = 0; i < nr && rc == MW_OK; i++) {
      sqlite3_bind_int64(st, 1, r->runs[i]);
      sqlite3_bind_int64(st, 2, key);
      rc = collect(r, st, out, cap, n, &matched);
    }
  } else {
    sqlite3_bind_int64(r->st[R_IN], 1, key);
    rc = collect(r, r->st[R_IN], out, cap, n, &matched);
  }
  if (rc) return rc;
  if (matched > *n) return MW_ETOOBIG;
  qsort(out, *n, sizeof *out, cmp64);
  return MW_OK;
}

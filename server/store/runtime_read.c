/* Reading runtime data: sources, GC cycles, scheduler samples, snapshots,
 * each in the caller's read transaction. A statement that fails part way
 * fails the read: rows already taken are not an answer. */
#include "store/readers.h"
#include "core/error.h"
#include "core/log.h"
#include "model/snapshot_meta.h"

#include <stdlib.h>
#include <string.h>

static void read_source(mw_arena *a, sqlite3_stmt *st, mw_source_info *o) {
  o->id = sqlite3_column_int64(st, 0);
  o->service = mw__col_text(a, st, 1);
  o->instance = mw__col_text(a, st, 2);
  o->host = mw__col_text(a, st, 3);
  o->pid = sqlite3_column_int64(st, 4);
  o->first_ns = sqlite3_column_int64(st, 5);
  o->last_ns = sqlite3_column_int64(st, 6);
}

#define SOURCE_COLS "SELECT id, service, instance, host, pid, first_ns, last_ns FROM sources"

int mw__store_sources(mw_read *r, mw_arena *a, const mw_page *pg, mw_source_info **out, size_t *n, size_t *next) {
  *out = NULL;
  *n = 0;
  *next = 0;
  int rc = MW_OK;
  size_t cap = 0, bytes = 0;
  sqlite3_stmt *st = mw__prepare(r, SOURCE_COLS " ORDER BY service, instance LIMIT ?2 OFFSET ?1");
  if (!st) rc = MW_EIO;
  else {
    sqlite3_bind_int64(st, 1, (int64_t)pg->offset);
    sqlite3_bind_int64(st, 2, (int64_t)pg->limit + 1);
  }
  int step = SQLITE_DONE;
  while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == pg->limit || (*n && bytes > pg->max_bytes)) {
      *next = pg->offset + *n;
      break;
    }
    if (!(*out = mw__grow(a, *out, *n, &cap, sizeof **out))) {
      rc = MW_ENOMEM;
      break;
    }
    mw_source_info *si = &(*out)[(*n)++];
    read_source(a, st, si);
    if (!si->service || !si->instance) rc = MW_ENOMEM;
    else bytes += strlen(si->service) + strlen(si->instance) + (si->host ? strlen(si->host) : 0);
  }
  if (!rc && step != SQLITE_ROW && step != SQLITE_DONE) rc = mw__read_failed(r, step);
  sqlite3_finalize(st);
  return rc;
}

int mw__store_source(mw_read *r, mw_arena *a, int64_t id, mw_source_info *out) {
  int rc = MW_ENOTFOUND;
  sqlite3_stmt *st = mw__prepare(r, SOURCE_COLS " WHERE id = ?1");
  if (!st) rc = MW_EIO;
  else {
    sqlite3_bind_int64(st, 1, id);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
      read_source(a, st, out);
      rc = out->service && out->instance ? MW_OK : MW_ENOMEM;
    } else if (step != SQLITE_DONE) {
      rc = mw__read_failed(r, step);
    }
  }
  sqlite3_finalize(st);
  return rc;
}

/* Runs sql (?1 source, ?2 start, ?3 end, ?4 limit + 1) and gives each row to
 * read_row, into an arena array of elements of size sz; *more when the
 * limit cut the answer. The shared shape of a source's time-ranged lanes. */
static int read_lane(mw_read *r, mw_arena *a, const char *sql, int64_t source_id, int64_t start_ns, int64_t end_ns,
                     size_t limit, size_t sz, void (*read_row)(sqlite3_stmt *st, void *row), void **out, size_t *n,
                     int *more) {
  *out = NULL;
  *n = 0;
  *more = 0;
  int rc = MW_OK;
  size_t cap = 0;
  sqlite3_stmt *st = mw__prepare(r, sql);
  if (!st) rc = MW_EIO;
  else {
    sqlite3_bind_int64(st, 1, source_id);
    sqlite3_bind_int64(st, 2, start_ns);
    sqlite3_bind_int64(st, 3, end_ns);
    sqlite3_bind_int64(st, 4, (int64_t)limit + 1);
  }
  int step = SQLITE_DONE;
  while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == limit) {
      *more = 1;
      break;
    }
    if (!(*out = mw__grow(a, *out, *n, &cap, sz))) {
      rc = MW_ENOMEM;
      break;
    }
    void *row = (char *)*out + sz * (*n)++;
    memset(row, 0, sz);
    read_row(st, row);
  }
  if (!rc && step != SQLITE_ROW && step != SQLITE_DONE) rc = mw__read_failed(r, step);
  sqlite3_finalize(st);
  return rc;
}

static void read_gc(sqlite3_stmt *st, void *row) {
  mw_gc_cycle *g = row;
  g->n = sqlite3_column_int64(st, 0);
  g->start_ns = sqlite3_column_int64(st, 1);
  g->stw_sweep_term_ns = sqlite3_column_int64(st, 2);
  g->concurrent_mark_ns = sqlite3_column_int64(st, 3);
  g->stw_mark_term_ns = sqlite3_column_int64(st, 4);
  g->cpu_percent = sqlite3_column_int(st, 5);
  g->stw1_cpu_ns = sqlite3_column_int64(st, 6);
  g->assist_cpu_ns = sqlite3_column_int64(st, 7);
  g->background_cpu_ns = sqlite3_column_int64(st, 8);
  g->idle_cpu_ns = sqlite3_column_int64(st, 9);
  g->stw2_cpu_ns = sqlite3_column_int64(st, 10);
  g->heap_before = sqlite3_column_int64(st, 11);
  g->heap_after = sqlite3_column_int64(st, 12);
  g->heap_live = sqlite3_column_int64(st, 13);
  g->goal = sqlite3_column_int64(st, 14);
  g->stacks = sqlite3_column_int64(st, 15);
  g->globals = sqlite3_column_int64(st, 16);
  g->procs = sqlite3_column_int(st, 17);
  g->forced = sqlite3_column_int(st, 18);
}

int mw__store_gc(mw_read *r, mw_arena *a, int64_t source_id, int64_t start_ns, int64_t end_ns, size_t limit,
                 mw_gc_cycle **out, size_t *n, int *more) {
  return read_lane(r, a,
                   "SELECT n, start_ns, stw1_ns, mark_ns, stw2_ns, cpu_pct, stw1_cpu_ns, assist_cpu_ns, "
                   "background_cpu_ns, idle_cpu_ns, stw2_cpu_ns, heap_before, heap_after, heap_live, "
                   "goal, coalesce(stacks, -1), coalesce(globals, -1), procs, forced FROM gc_cycles "
                   "WHERE source_id = ?1 AND start_ns >= ?2 AND start_ns < ?3 ORDER BY start_ns LIMIT ?4",
                   source_id, start_ns, end_ns, limit, sizeof **out, read_gc, (void **)out, n, more);
}

static void read_sched(sqlite3_stmt *st, void *row) {
  mw_sched_sample *x = row;
  x->stamp_ns = sqlite3_column_int64(st, 0);
  x->gomaxprocs = sqlite3_column_int64(st, 1);
  x->idleprocs = sqlite3_column_int64(st, 2);
  x->threads = sqlite3_column_int64(st, 3);
  x->spinningthreads = sqlite3_column_int64(st, 4);
  x->idlethreads = sqlite3_column_int64(st, 5);
  x->runqueue = sqlite3_column_int64(st, 6);
  x->local_runq_sum = sqlite3_column_int64(st, 7);
  x->needspinning = -1;
}

int mw__store_sched(mw_read *r, mw_arena *a, int64_t source_id, int64_t start_ns, int64_t end_ns, size_t limit,
                    mw_sched_sample **out, size_t *n, int *more) {
  return read_lane(r, a,
                   "SELECT at_ns, gomaxprocs, idleprocs, threads, spinningthreads, idlethreads, runqueue, "
                   "coalesce(local_runq, -1) FROM sched_samples "
                   "WHERE source_id = ?1 AND at_ns >= ?2 AND at_ns < ?3 ORDER BY at_ns LIMIT ?4",
                   source_id, start_ns, end_ns, limit, sizeof **out, read_sched, (void **)out, n, more);
}

int mw__store_events(mw_read *r, mw_arena *a, int64_t source_id, int64_t start_ns, int64_t end_ns, size_t limit,
                     mw_stored_event **out, size_t *n, int *more) {
  *out = NULL;
  *n = 0;
  *more = 0;
  size_t cap = 0;
  sqlite3_stmt *st = mw__prepare(r, "SELECT at_ns, rule, message, value, threshold FROM runtime_events WHERE "
                                    "source_id = ?1 AND at_ns >= ?2 AND at_ns < ?3 ORDER BY at_ns LIMIT ?4");
  if (!st) return MW_EIO;
  sqlite3_bind_int64(st, 1, source_id);
  sqlite3_bind_int64(st, 2, start_ns);
  sqlite3_bind_int64(st, 3, end_ns);
  sqlite3_bind_int64(st, 4, (int64_t)limit + 1);
  int rc = MW_OK, step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == limit) {
      *more = 1;
      break;
    }
    if (!(*out = mw__grow(a, *out, *n, &cap, sizeof **out))) {
      rc = MW_ENOMEM;
      break;
    }
    mw_stored_event *e = &(*out)[(*n)++];
    e->at_ns = sqlite3_column_int64(st, 0);
    e->rule = mw__col_text(a, st, 1);
    e->message = mw__col_text(a, st, 2);
    e->value = sqlite3_column_double(st, 3);
    e->threshold = sqlite3_column_double(st, 4);
    if (!e->rule || !e->message) {
      rc = MW_ENOMEM;
      break;
    }
  }
  if (!rc && step != SQLITE_ROW && step != SQLITE_DONE) rc = mw__read_failed(r, step);
  sqlite3_finalize(st);
  return rc;
}

#define SNAPSHOT_COLS                                                                                                  \
  "SELECT id, source_id, kind, format, at_ns, duration_ns, total, meta, raw_bytes, length(payload) FROM snapshots"

static void read_snapshot(mw_arena *a, sqlite3_stmt *st, mw_snapshot_info *o) {
  o->id = sqlite3_column_int64(st, 0);
  o->source_id = sqlite3_column_int64(st, 1);
  o->kind = mw__col_text(a, st, 2);
  o->format = mw__col_text(a, st, 3);
  o->at_ns = sqlite3_column_int64(st, 4);
  o->duration_ns = sqlite3_column_int64(st, 5);
  o->total = sqlite3_column_int64(st, 6);
  o->meta_json = mw__col_text(a, st, 7);
  o->raw_bytes = sqlite3_column_int64(st, 8);
  o->stored_bytes = sqlite3_column_int64(st, 9);
}

int mw__store_snapshots(mw_read *r, mw_arena *a, int64_t source_id, const char *kind, int64_t start_ns, int64_t end_ns,
                        size_t limit, mw_snapshot_info **out, size_t *n, int *more) {
  *out = NULL;
  *n = 0;
  *more = 0;
  int rc = MW_OK;
  size_t cap = 0;
  /* of one kind through snapshots_by_kind, of any through snapshots_by_source */
  sqlite3_stmt *st = mw__prepare(r, kind ? SNAPSHOT_COLS " WHERE source_id = ?1 AND kind = ?4 AND at_ns >= ?2 AND "
                                                         "at_ns < ?3 ORDER BY at_ns LIMIT ?5"
                                         : SNAPSHOT_COLS " WHERE source_id = ?1 AND at_ns >= ?2 AND at_ns < ?3 "
                                                         "ORDER BY at_ns LIMIT ?5");
  if (!st) rc = MW_EIO;
  else {
    sqlite3_bind_int64(st, 1, source_id);
    sqlite3_bind_int64(st, 2, start_ns);
    sqlite3_bind_int64(st, 3, end_ns);
    if (kind) sqlite3_bind_text(st, 4, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, (int64_t)limit + 1);
  }
  int step = SQLITE_DONE;
  while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == limit) {
      *more = 1;
      break;
    }
    if (!(*out = mw__grow(a, *out, *n, &cap, sizeof **out))) rc = MW_ENOMEM;
    else read_snapshot(a, st, &(*out)[(*n)++]);
  }
  if (!rc && step != SQLITE_ROW && step != SQLITE_DONE) rc = mw__read_failed(r, step);
  sqlite3_finalize(st);
  return rc;
}

int mw__store_snapshots_spread(mw_read *r, mw_arena *a, int64_t source_id, const char *kind, int64_t start_ns,
                               int64_t end_ns, size_t k, mw_snapshot_info **out, size_t *n) {
  *out = NULL;
  *n = 0;
  if (k < 2) k = 2;
  if (!(*out = mw__arena_calloc(a, k, sizeof **out))) return MW_ENOMEM;
  sqlite3_stmt *asc = mw__prepare(r, SNAPSHOT_COLS " WHERE source_id = ?1 AND at_ns >= ?2 AND at_ns < ?3 "
                                                   "AND kind = ?4 ORDER BY at_ns LIMIT 1");
  sqlite3_stmt *desc = mw__prepare(r, SNAPSHOT_COLS " WHERE source_id = ?1 AND at_ns >= ?2 AND at_ns < ?3 "
                                                    "AND kind = ?4 ORDER BY at_ns DESC LIMIT 1");
  int rc = asc && desc ? MW_OK : MW_EIO;
  mw_snapshot_info last = {0};
  int has_last = 0;
  /* the last, then the first at or after each of k times spread from the first to it */
  if (!rc) {
    sqlite3_bind_int64(desc, 1, source_id);
    sqlite3_bind_int64(desc, 2, start_ns);
    sqlite3_bind_int64(desc, 3, end_ns);
    sqlite3_bind_text(desc, 4, kind, -1, SQLITE_STATIC);
    int step = sqlite3_step(desc);
    if (step == SQLITE_ROW) read_snapshot(a, desc, &last), has_last = 1;
    else if (step != SQLITE_DONE) rc = mw__read_failed(r, step);
  }
  int64_t t0 = start_ns;
  for (size_t i = 0; !rc && has_last && i + 1 < k; i++) {
    /* time i of k - 1 steps from the first snapshot (read at i = 0) to the last */
    int64_t t = i == 0 ? start_ns : t0 + (int64_t)((double)(last.at_ns - t0) * (double)i / (double)(k - 1));
    if (*n && t <= (*out)[*n - 1].at_ns) t = (*out)[*n - 1].at_ns + 1; /* never the same one twice */
    if (t >= last.at_ns) break;
    sqlite3_reset(asc);
    sqlite3_bind_int64(asc, 1, source_id);
    sqlite3_bind_int64(asc, 2, t);
    sqlite3_bind_int64(asc, 3, last.at_ns);
    sqlite3_bind_text(asc, 4, kind, -1, SQLITE_STATIC);
    int step = sqlite3_step(asc);
    if (step == SQLITE_ROW) {
      read_snapshot(a, asc, &(*out)[(*n)++]);
      if (i == 0) t0 = (*out)[0].at_ns;
    } else if (step != SQLITE_DONE) rc = mw__read_failed(r, step);
    else break;
  }
  if (!rc && has_last) (*out)[(*n)++] = last;
  sqlite3_finalize(asc);
  sqlite3_finalize(desc);
  return rc;
}

/* Heap profiles: Go's heap and allocs endpoints serve the same profile. */
#define HEAP_KINDS "kind IN ('heap', 'allocs')"

int mw__store_heap_near(mw_read *r, mw_arena *a, int64_t source_id, int64_t start_ns, int64_t end_ns,
                        mw_snapshot_info *out) {
  int rc = MW_ENOTFOUND;
  sqlite3_stmt *st = mw__prepare(r, SNAPSHOT_COLS " WHERE source_id = ?1 AND at_ns >= ?2 AND at_ns <= ?3 "
                                                  "AND " HEAP_KINDS " ORDER BY at_ns DESC, id DESC LIMIT 1");
  if (!st) rc = MW_EIO;
  else {
    sqlite3_bind_int64(st, 1, source_id);
    sqlite3_bind_int64(st, 2, start_ns);
    sqlite3_bind_int64(st, 3, end_ns);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
      read_snapshot(a, st, out);
      rc = out->kind ? MW_OK : MW_ENOMEM;
    } else if (step != SQLITE_DONE) {
      rc = mw__read_failed(r, step);
    }
  }
  sqlite3_finalize(st);
  return rc;
}

int mw__store_heaps(mw_read *r, mw_arena *a, int64_t source_id, int64_t start_ns, int64_t end_ns, size_t limit,
                    mw_snapshot_info **out, size_t *n, int *more) {
  *out = NULL;
  *n = 0;
  *more = 0;
  int rc = MW_OK;
  size_t cap = 0;
  sqlite3_stmt *st = mw__prepare(r, SNAPSHOT_COLS " WHERE source_id = ?1 AND at_ns >= ?2 AND at_ns < ?3 "
                                                  "AND " HEAP_KINDS " ORDER BY at_ns, id LIMIT ?4");
  if (!st) rc = MW_EIO;
  else {
    sqlite3_bind_int64(st, 1, source_id);
    sqlite3_bind_int64(st, 2, start_ns);
    sqlite3_bind_int64(st, 3, end_ns);
    sqlite3_bind_int64(st, 4, (int64_t)limit + 1);
  }
  int step = SQLITE_DONE;
  while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == limit) {
      *more = 1;
      break;
    }
    if (!(*out = mw__grow(a, *out, *n, &cap, sizeof **out))) rc = MW_ENOMEM;
    else read_snapshot(a, st, &(*out)[(*n)++]);
  }
  if (!rc && step != SQLITE_ROW && step != SQLITE_DONE) rc = mw__read_failed(r, step);
  sqlite3_finalize(st);
  return rc;
}

static void read_ids(sqlite3_stmt *st, int col, mw_snapshot_row *row) {
  if ((row->has_span = sqlite3_column_bytes(st, col) == 8)) memcpy(row->span_id, sqlite3_column_blob(st, col), 8);
  if ((row->has_trace = sqlite3_column_bytes(st, col + 1) == 16))
    memcpy(row->trace_id, sqlite3_column_blob(st, col + 1), 16);
}

int mw__store_snapshot(mw_read *r, mw_arena *a, int64_t id, size_t offset, size_t limit, mw_snapshot_info *info,
                       mw_snapshot_row **rows, size_t *n, int *more) {
  *rows = NULL;
  *n = 0;
  *more = 0;
  int rc = MW_ENOTFOUND;
  size_t cap = 0;
  sqlite3_stmt *st = mw__prepare(r, SNAPSHOT_COLS " WHERE id = ?1"), *rs = NULL;
  if (!st) {
    rc = MW_EIO;
    goto out;
  }
  sqlite3_bind_int64(st, 1, id);
  int step = sqlite3_step(st);
  if (step != SQLITE_ROW) {
    if (step != SQLITE_DONE) rc = mw__read_failed(r, step);
    goto out;
  }
  read_snapshot(a, st, info);
  if (!info->kind) {
    rc = MW_ENOMEM;
    goto out;
  }
  rc = MW_OK;
  int goroutines = mw__snapshot_kind_groups(info->kind);
  rs = mw__prepare(
      r, goroutines ? "SELECT g.stack_id, st.frames, g.state, g.wait_reason, g.count, coalesce(g.wait_min_ns, -1), "
                      "coalesce(g.wait_max_ns, -1), g.locked, g.span_id, g.trace_id, g.labels, g.goids "
                      "FROM goroutine_groups g JOIN stacks st ON st.id = g.stack_id WHERE g.snapshot_id = ?1 "
                      "ORDER BY g.count DESC, g.rowid LIMIT ?2 OFFSET ?3"
                    : "SELECT p.stack_id, st.frames, p.span_id, p.trace_id, p.labels, p.vals "
                      "FROM profile_samples p JOIN stacks st ON st.id = p.stack_id WHERE p.snapshot_id = ?1 "
                      "ORDER BY p.rowid LIMIT ?2 OFFSET ?3");
  if (!rs) {
    rc = MW_EIO;
    goto out;
  }
  sqlite3_bind_int64(rs, 1, id);
  sqlite3_bind_int64(rs, 2, (int64_t)limit + 1);
  sqlite3_bind_int64(rs, 3, (int64_t)offset);
  while ((step = sqlite3_step(rs)) == SQLITE_ROW) {
    if (*n == limit) {
      *more = 1;
      break;
    }
    if (!(*rows = mw__grow(a, *rows, *n, &cap, sizeof **rows))) {
      rc = MW_ENOMEM;
      break;
    }
    mw_snapshot_row *row = &(*rows)[(*n)++];
    memset(row, 0, sizeof *row);
    row->stack_id = sqlite3_column_int64(rs, 0);
    row->frames = mw__col_text(a, rs, 1);
    row->wait_min_ns = row->wait_max_ns = -1;
    if (goroutines) {
      row->state = mw__col_text(a, rs, 2);
      row->wait_reason = mw__col_text(a, rs, 3);
      row->count = sqlite3_column_int64(rs, 4);
      row->wait_min_ns = sqlite3_column_int64(rs, 5);
      row->wait_max_ns = sqlite3_column_int64(rs, 6);
      row->locked = sqlite3_column_int(rs, 7);
      read_ids(rs, 8, row);
      row->labels_json = mw__col_text(a, rs, 10);
      row->goids = mw__col_text(a, rs, 11);
    } else {
      read_ids(rs, 2, row);
      row->labels_json = mw__col_text(a, rs, 4);
      row->vals_json = mw__col_text(a, rs, 5);
    }
  }
  if (!rc && step != SQLITE_ROW && step != SQLITE_DONE) rc = mw__read_failed(r, step);
out:
  sqlite3_finalize(st);
  sqlite3_finalize(rs);
  return rc;
}

int mw__store_snapshot_payload(mw_read *r, mw_arena *a, int64_t id, const uint8_t **data, size_t *len,
                               int64_t *raw_bytes) {
  int rc = MW_ENOTFOUND;
  sqlite3_stmt *st = mw__prepare(r, "SELECT payload, raw_bytes FROM snapshots WHERE id = ?1");
  if (!st) rc = MW_EIO;
  else {
    sqlite3_bind_int64(st, 1, id);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
      *data = mw__col_blob(a, st, 0, len);
      *raw_bytes = sqlite3_column_int64(st, 1);
      rc = *data ? MW_OK : MW_ENOMEM;
    } else if (step != SQLITE_DONE) {
      rc = mw__read_failed(r, step);
    }
  }
  sqlite3_finalize(st);
  return rc;
}

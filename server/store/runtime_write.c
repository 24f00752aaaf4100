/* Writing runtime data (runs on the writer thread, inside its transaction).
 *
 * Which source a runtime ingest belongs to: a link learned earlier for the
 * (service, instance as named) wins; else the named instance; else, when only
 * a service is named and exactly one instance of it has sent spans, that one;
 * else the service's anonymous source (instance ''). Then, when the batch's
 * labelled samples carry span ids of stored spans that all belong to one other
 * source, the batch goes there and the link is learned for next time.
 *
 * What the sender sent before the link was learned went to the source of the
 * name it gave: learning the link moves it (GC cycles, sched samples,
 * snapshots with their rows) to the linked source in the same transaction, so
 * that one process's history is never split between two sources and the
 * readers need not know about links. The emptied source goes unless spans
 * name it. */
#include "store/runtime_write.h"
#include "core/error.h"
#include "core/log.h"
#include "model/exectrace.h"
#include "model/rules.h"
#include "core/arena.h"
#include "store/blocks.h"
#include "store/conn.h"
#include "store/span_block.h"
#include "store/trace_runs.h"

#include <stdlib.h>
#include <string.h>
#include <zstd.h>

enum rt_stmt {
  RT_LINK_FIND,
  RT_LINK_SAVE,
  RT_SOURCE_FIND,
  RT_SOURCE_SPANNED,
  RT_SOURCE_UPSERT,
  RT_SOURCE_RANGE,
  RT_SPAN_SOURCE,
  RT_GC,
  RT_SCHED,
  RT_SNAPSHOT,
  RT_STACK_FIND,
  RT_STACK_INSERT,
  RT_GROUP,
  RT_SAMPLE,
  RT_XT,
  RT_XT_GOROUTINE,
  RT_XT_STACK,
  RT_XT_SPAN,
  RT_SOURCE_NAMES,
  RT_EVENT,
  RT_BLOCK_SPAN_SOURCE,
  RT__COUNT
};

static const char *const rt_sql[RT__COUNT] = {
    [RT_LINK_FIND] = "SELECT source_id FROM source_links WHERE service = ?1 AND alias = ?2",
    [RT_LINK_SAVE] = "INSERT OR REPLACE INTO source_links (service, alias, source_id) VALUES (?1, ?2, ?3)",
    [RT_SOURCE_FIND] = "SELECT id FROM sources WHERE service = ?1 AND instance = ?2",
    /* spans: old rows, sealed blocks or the open blocks' span_tail (docs/STORAGE-WIRING.md §1.3) */
    [RT_SOURCE_SPANNED] = ("SELECT src.id FROM sources src WHERE src.service = ?1 AND "
                           "(EXISTS (SELECT 1 FROM span_blocks b WHERE b.source_id = src.id) "
                           "OR EXISTS (SELECT 1 FROM span_tail t WHERE t.source_id = src.id) "
                           "OR EXISTS (SELECT 1 FROM spans s WHERE s.source_id = src.id)) LIMIT 2"),
    [RT_SOURCE_UPSERT] = "INSERT INTO sources (service, instance, first_ns, last_ns) VALUES (?1, ?2, ?3, ?3) "
                         "ON CONFLICT (service, instance) DO UPDATE SET last_ns = last_ns RETURNING id",
    [RT_SOURCE_RANGE] = "UPDATE sources SET first_ns = min(first_ns, ?2), last_ns = max(last_ns, ?3) WHERE id = ?1",
    [RT_SPAN_SOURCE] = "SELECT source_id FROM spans WHERE trace_id = ?1 AND span_id = ?2",
    [RT_BLOCK_SPAN_SOURCE] = "SELECT source_id, data FROM span_blocks WHERE id = ?1",
    [RT_GC] = "INSERT OR IGNORE INTO gc_cycles (source_id, n, start_ns, stw1_ns, mark_ns, stw2_ns, cpu_pct, "
              "stw1_cpu_ns, assist_cpu_ns, background_cpu_ns, idle_cpu_ns, stw2_cpu_ns, heap_before, heap_after, "
              "heap_live, goal, stacks, globals, procs, forced) "
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
    [RT_SCHED] = "INSERT OR IGNORE INTO sched_samples (source_id, at_ns, gomaxprocs, idleprocs, threads, "
                 "spinningthreads, idlethreads, runqueue, local_runq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [RT_SNAPSHOT] =
        "INSERT INTO snapshots (source_id, kind, format, at_ns, duration_ns, total, meta, raw_bytes, payload) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [RT_STACK_FIND] = "SELECT id FROM stacks WHERE hash = ?2 AND frames = ?1",
    [RT_STACK_INSERT] = "INSERT INTO stacks (frames, hash) VALUES (?1, ?2)",
    [RT_GROUP] = "INSERT INTO goroutine_groups (snapshot_id, stack_id, state, wait_reason, count, wait_min_ns, "
                 "wait_max_ns, locked, span_id, trace_id, labels, goids) "
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    [RT_SAMPLE] = "INSERT INTO profile_samples (snapshot_id, stack_id, span_id, trace_id, labels, vals) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [RT_XT] =
        "INSERT INTO exectraces (source_id, start_ns, end_ns, trigger, alignment, clock_error_ns, go_version, "
        "capture_ns, received_ns, events, goroutines, intervals, wakes, spans, windows, raw_bytes, "
        "stored_bytes, raw, span_ids, span_table) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
        "?14, ?15, ?16, ?17, ?18, ?19, ?20)",
    [RT_XT_GOROUTINE] = "INSERT INTO exectrace_goroutines (exectrace_id, goroutine, first_ns, last_ns, intervals, "
                        "wakes, blob) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [RT_XT_STACK] = "INSERT OR IGNORE INTO exectrace_stacks (exectrace_id, local, stack_id) VALUES (?1, ?2, ?3)",
    [RT_XT_SPAN] = "INSERT OR IGNORE INTO exectrace_span_index (span_id, exectrace_id) VALUES (?1, ?2)",
    [RT_SOURCE_NAMES] = "SELECT service, instance FROM sources WHERE id = ?1",
    [RT_EVENT] = "INSERT INTO runtime_events (source_id, at_ns, rule, message, value, threshold) "
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
};

_Static_assert((int)RT__COUNT <= (int)MW__RT_STMTS, "mw__rt_writer holds every statement");

/* Distinct (trace, span) pairs looked up to learn a batch's source. */
enum { LEARN_PROBES = 16 };

static sqlite3_stmt *stmt(mw__rt_writer *s, enum rt_stmt id) {
  if (!s->st[id] &&
      sqlite3_prepare_v3(s->db, rt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s->st[id], NULL) != SQLITE_OK) {
    mw__error("cannot prepare a runtime statement", "err=\"%s\"", sqlite3_errmsg(s->db));
    return NULL;
  }
  return s->st[id];
}

static void bind_text(sqlite3_stmt *st, int i, const char *v) {
  if (v) sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
  else sqlite3_bind_null(st, i);
}

static int run(mw__rt_writer *s, sqlite3_stmt *st, int64_t *id) {
  int64_t none;
  return st ? mw__step_id(s->db, st, id ? id : &none) : MW_EIO;
}

/* The naming rules: the named instance; else the one instance of the service
 * that sends spans; else the service's anonymous source. */
static int resolve_source(mw__rt_writer *s, const mw_runtime_batch *b, int64_t at, int64_t *id) {
  sqlite3_stmt *st;
  if (!*b->instance && (st = stmt(s, RT_SOURCE_SPANNED))) {
    bind_text(st, 1, b->service);
    int64_t first = -1, count = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
      if (!count++) first = sqlite3_column_int64(st, 0);
    }
    sqlite3_reset(st);
    if (count == 1) {
      *id = first;
      return MW_OK;
    }
  }
  if (!(st = stmt(s, RT_SOURCE_UPSERT))) return MW_EIO;
  bind_text(st, 1, b->service);
  bind_text(st, 2, b->instance);
  sqlite3_bind_int64(st, 3, at);
  return run(s, st, id);
}

/* Candidate sealed blocks of one trace that learned_source opens at most
 * (a trace's blocks, one per source and ~minute it ran in). */
enum { LEARN_BLOCKS = 64 };

/* The source of the sealed block that holds span (trace, span), or -1: the
 * blocks the trace's key names in the writer's partition and in the trace
 * runs (this connection: sealed and flushed ones of this transaction too),
 * each checked for the full trace id and the span id. */
static int64_t sealed_span_source(mw__rt_writer *s, const uint8_t *trace, const uint8_t *span) {
  sqlite3_stmt *st = stmt(s, RT_BLOCK_SPAN_SOURCE);
  if (!st || (!s->truns && mw__truns_rd_open(s->db, &s->truns))) return -1;
  if (!s->dctx && !(s->dctx = ZSTD_createDCtx())) return -1;
  int64_t ids[LEARN_BLOCKS];
  size_t n = 0;
  int rc = mw__truns_lookup(s->truns, mw__blk_mem(s->blk), mw__trace_key(trace), MW_TRUNS_ONE_STATEMENT, ids,
                            LEARN_BLOCKS, &n);
  if (rc && rc != MW_ETOOBIG) return -1; /* (too many: the first ones found) */
  int64_t found = -1;
  for (size_t i = 0; i < n && found < 0; i++) {
    sqlite3_bind_int64(st, 1, ids[i]);
    if (sqlite3_step(st) == SQLITE_ROW) { /* else deleted by retention since */
      const void *data = sqlite3_column_blob(st, 1);
      mw_arena *a = mw__arena_new((size_t)16 << 20);
      mw__sb_block *blk;
      size_t first, count;
      if (a && data && !mw__sb_open(a, s->dctx, data, (size_t)sqlite3_column_bytes(st, 1), &blk) &&
          !mw__sb_find_trace(blk, trace, &first, &count)) {
        for (size_t k = first; k < first + count && found < 0; k++) {
          uint8_t sid[8];
          if (!mw__sb_get_ids(blk, k, NULL, sid, NULL, NULL, NULL) && !memcmp(sid, span, 8))
            found = sqlite3_column_int64(st, 0);
        }
      }
      mw__arena_free(a);
    }
    sqlite3_reset(st);
  }
  return found;
}

/* The source of stored span (trace, span), or -1. With blocks on: the open
 * blocks (this transaction's spans too), then the sealed blocks; then old
 * rows (written before blocks, or with blocks off). */
static int64_t span_source(mw__rt_writer *s, sqlite3_stmt *old, const uint8_t *trace, const uint8_t *span) {
  int64_t src;
  if (s->blk) {
    if (!mw__blk_span_source(s->blk, trace, span, &src)) return src;
    if ((src = sealed_span_source(s, trace, span)) >= 0) return src;
  }
  sqlite3_bind_blob(old, 1, trace, 16, SQLITE_STATIC);
  sqlite3_bind_blob(old, 2, span, 8, SQLITE_STATIC);
  if (mw__step_id(s->db, old, &src) || src < 0) return -1;
  return src;
}

/* Returns the one source that the batch's labelled span ids belong to, or -1
 * when none is known or they disagree. */
static int64_t learned_source(mw__rt_writer *s, const mw_runtime_batch *b) {
  sqlite3_stmt *st = stmt(s, RT_SPAN_SOURCE);
  if (!st) return -1;
  int64_t found = -1;
  int probes = 0;
  size_t n_xt = b->exectrace ? b->exectrace->n_spans : 0, n = b->n_groups + b->n_samples + n_xt;
  for (size_t i = 0; i < n && probes < LEARN_PROBES; i++) {
    int has;
    const uint8_t *trace, *span;
    if (i < b->n_groups) {
      has = b->groups[i].has_span && b->groups[i].has_trace;
      trace = b->groups[i].trace_id, span = b->groups[i].span_id;
    } else if (i >= b->n_groups + b->n_samples) { /* the spans an execution trace's goroutines ran */
      const mw_xt_span *x = &b->exectrace->spans[i - b->n_groups - b->n_samples];
      has = x->has_trace;
      trace = x->trace_id, span = x->span_id;
    } else {
      const mw_profile_row *r = &b->samples[i - b->n_groups];
      has = r->has_span && r->has_trace;
      trace = r->trace_id, span = r->span_id;
    }
    if (!has) continue;
    probes++;
    int64_t src = span_source(s, st, trace, span);
    if (src < 0) continue;
    if (found >= 0 && found != src) return -1;
    found = src;
  }
  return found;
}

/* Moving a sender's earlier rows from source ?1 to source ?2, in order. A row
 * the target holds already (the same cycle or sample) stays there once. */
static const char *const move_sql[] = {
    "UPDATE OR IGNORE gc_cycles SET source_id = ?2 WHERE source_id = ?1",
    "DELETE FROM gc_cycles WHERE source_id = ?1",
    "UPDATE OR IGNORE sched_samples SET source_id = ?2 WHERE source_id = ?1",
    "DELETE FROM sched_samples WHERE source_id = ?1",
    "UPDATE snapshots SET source_id = ?2 WHERE source_id = ?1",  /* goroutine groups and samples follow */
    "UPDATE exectraces SET source_id = ?2 WHERE source_id = ?1", /* their goroutines and index follow */
    "UPDATE runtime_events SET source_id = ?2 WHERE source_id = ?1",
    "UPDATE source_links SET source_id = ?2 WHERE source_id = ?1",
    "DELETE FROM runtime_minutes WHERE source_id = ?1", /* the target's are made anew (move_to_link) */
    ("UPDATE sources SET first_ns = min(first_ns, (SELECT first_ns FROM sources WHERE id = ?1)), "
     "last_ns = max(last_ns, (SELECT last_ns FROM sources WHERE id = ?1)) WHERE id = ?2"),
    ("DELETE FROM sources WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM spans WHERE source_id = ?1) "
     "AND NOT EXISTS (SELECT 1 FROM span_blocks WHERE source_id = ?1) "
     "AND NOT EXISTS (SELECT 1 FROM span_tail WHERE source_id = ?1)"),
};
enum { MOVE_GC = 0, MOVE_SCHED = 2, MOVE_SNAPSHOTS = 4, MOVE_SOURCE = 10, MOVE_N = sizeof move_sql / sizeof *move_sql };

/* Moves what (service, alias) sent before its link to source `to` was
 * learned: the rows of the source of that name, if there is one. Statements
 * are prepared here, not kept: a link is learned once per sender. */
static int move_to_link(mw__rt_writer *s, const char *service, const char *alias, int64_t to) {
  int64_t from;
  sqlite3_stmt *st = stmt(s, RT_SOURCE_FIND);
  if (!st) return MW_EIO;
  bind_text(st, 1, service);
  bind_text(st, 2, alias);
  int rc = run(s, st, &from);
  if (rc || from < 0 || from == to) return rc;
  /* the minutes the moved rows are summed in: the target's are rebuilt over them */
  int64_t lo = INT64_MAX, hi = INT64_MIN;
  if (sqlite3_prepare_v2(s->db, "SELECT min(minute_ns), max(minute_ns) FROM runtime_minutes WHERE source_id = ?1", -1,
                         &st, NULL) != SQLITE_OK)
    return MW_EIO;
  sqlite3_bind_int64(st, 1, from);
  if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
    lo = sqlite3_column_int64(st, 0), hi = sqlite3_column_int64(st, 1) + MW_MINUTE_NS;
  sqlite3_finalize(st);
  int changed[MOVE_N] = {0};
  for (size_t i = 0; i < MOVE_N && !rc; i++) {
    if (sqlite3_prepare_v2(s->db, move_sql[i], -1, &st, NULL) != SQLITE_OK) {
      mw__error("cannot prepare a move of runtime rows", "err=\"%s\"", sqlite3_errmsg(s->db));
      return MW_EIO;
    }
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, to);
    if (sqlite3_step(st) == SQLITE_DONE) changed[i] = sqlite3_changes(s->db);
    else rc = MW_EIO, mw__error("moving runtime rows failed", "err=\"%s\"", sqlite3_errmsg(s->db));
    sqlite3_finalize(st);
  }
  if (!rc && lo < hi) rc = mw__minutes_rebuild(s->db, to, lo, hi);
  if (rc) return rc;
  /* the span writer remembers resources' source ids: forget one that is gone */
  if (changed[MOVE_SOURCE]) mw__bmap_clear(s->sources);
  mw__info("moved a sender's earlier runtime data to its linked source",
           "service=\"%s\" instance=\"%s\" from=%lld source=%lld gc=%d sched=%d snapshots=%d from_removed=%d", service,
           alias, (long long)from, (long long)to, changed[MOVE_GC], changed[MOVE_SCHED], changed[MOVE_SNAPSHOTS],
           changed[MOVE_SOURCE]);
  return MW_OK;
}

static int stack_id(mw__rt_writer *s, const mw_stack_text *t, int64_t *id) {
  if (mw__bmap_get(s->stacks, t->text, t->len, id)) return MW_OK;
  sqlite3_stmt *st = stmt(s, RT_STACK_FIND);
  if (!st) return MW_EIO;
  int64_t h = (int64_t)mw__hash(t->text, t->len);
  sqlite3_bind_text(st, 1, t->text, (int)t->len, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, h);
  int rc = run(s, st, id);
  if (rc) return rc;
  if (*id < 0) {
    if (!(st = stmt(s, RT_STACK_INSERT))) return MW_EIO;
    sqlite3_bind_text(st, 1, t->text, (int)t->len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, h);
    if ((rc = run(s, st, NULL))) return rc;
    *id = sqlite3_last_insert_rowid(s->db);
  }
  return mw__bmap_put(s->stacks, t->text, t->len, *id);
}

static void bind_ids(sqlite3_stmt *st, int col, int has_span, const uint8_t *span, int has_trace,
                     const uint8_t *trace) {
  if (has_span) sqlite3_bind_blob(st, col, span, 8, SQLITE_STATIC);
  else sqlite3_bind_null(st, col);
  if (has_trace) sqlite3_bind_blob(st, col + 1, trace, 16, SQLITE_STATIC);
  else sqlite3_bind_null(st, col + 1);
}

/* A goroutine profile (pprof) keeps no payload: its groups and stacks hold
 * what it says (stacks, counts, labels; the meta its sample types), and GET
 * /api/v1/snapshots/{id}/raw writes it again from them (query/pprof_out.h).
 * The payload was two thirds of a busy source's bytes (docs/STORAGE-NOTES.md
 * §9) and only /raw read it. An empty payload says so; a profile stored
 * before keeps the one it has. */
static int payload_kept(const mw_runtime_batch *b) {
  if (!b->kind || strcmp(b->kind, "goroutine") != 0 || !b->format || strcmp(b->format, "pprof") != 0) return 1;
  /* a stack cut at ingest (past max_frames, or too long as text) keeps the
   * payload: the groups no longer hold all of it */
  static const char cut[] = "...\t?:0\n";
  for (size_t i = 0; i < b->n_stacks; i++)
    if (b->stacks[i].len >= sizeof cut - 1 &&
        !memcmp(b->stacks[i].text + b->stacks[i].len - (sizeof cut - 1), cut, sizeof cut - 1))
      return 1;
  return 0;
}

static int write_snapshot(mw__rt_writer *s, mw_runtime_batch *b) {
  sqlite3_stmt *st = stmt(s, RT_SNAPSHOT);
  if (!st) return MW_EIO;
  sqlite3_bind_int64(st, 1, b->source_id);
  bind_text(st, 2, b->kind);
  bind_text(st, 3, b->format);
  sqlite3_bind_int64(st, 4, b->at_ns);
  sqlite3_bind_int64(st, 5, b->duration_ns);
  sqlite3_bind_int64(st, 6, b->total);
  bind_text(st, 7, b->meta_json ? b->meta_json : "{}");
  sqlite3_bind_int64(st, 8, (int64_t)b->raw_bytes);
  if (payload_kept(b)) sqlite3_bind_blob(st, 9, b->payload, (int)b->payload_len, SQLITE_STATIC);
  else sqlite3_bind_zeroblob(st, 9, 0);
  int rc = run(s, st, NULL);
  if (rc) return rc;
  b->snapshot_id = sqlite3_last_insert_rowid(s->db);

  int64_t *ids = calloc(b->n_stacks + 1, sizeof *ids);
  if (!ids) return MW_ENOMEM;
  for (size_t i = 0; i < b->n_stacks && !rc; i++) rc = stack_id(s, &b->stacks[i], &ids[i]);
  for (size_t i = 0; i < b->n_groups && !rc; i++) {
    const mw_goroutine_group *g = &b->groups[i];
    if (!(st = stmt(s, RT_GROUP))) {
      rc = MW_EIO;
      break;
    }
    sqlite3_bind_int64(st, 1, b->snapshot_id);
    sqlite3_bind_int64(st, 2, ids[g->stack]);
    bind_text(st, 3, mw__gstate_name(g->state));
    bind_text(st, 4, g->wait_reason);
    sqlite3_bind_int64(st, 5, g->count);
    if (g->wait_min_ns >= 0) sqlite3_bind_int64(st, 6, g->wait_min_ns), sqlite3_bind_int64(st, 7, g->wait_max_ns);
    sqlite3_bind_int(st, 8, g->locked);
    bind_ids(st, 9, g->has_span, g->span_id, g->has_trace, g->trace_id);
    bind_text(st, 11, g->labels_json);
    bind_text(st, 12, g->goids);
    rc = run(s, st, NULL);
  }
  for (size_t i = 0; i < b->n_samples && !rc; i++) {
    const mw_profile_row *r = &b->samples[i];
    if (!(st = stmt(s, RT_SAMPLE))) {
      rc = MW_EIO;
      break;
    }
    sqlite3_bind_int64(st, 1, b->snapshot_id);
    sqlite3_bind_int64(st, 2, ids[r->stack]);
    bind_ids(st, 3, r->has_span, r->span_id, r->has_trace, r->trace_id);
    bind_text(st, 5, r->labels_json);
    bind_text(st, 6, r->vals_json);
    rc = run(s, st, NULL);
  }
  free(ids);
  return rc;
}

/* An execution trace: its row (with its spans), its goroutines' blobs, its
 * stacks (into the shared stack store) and the span index. */
static int write_exectrace(mw__rt_writer *s, mw_runtime_batch *b) {
  mw_exectrace_batch *x = b->exectrace;
  sqlite3_stmt *st = stmt(s, RT_XT);
  if (!st) return MW_EIO;
  int64_t v[] = {b->source_id,
                 x->start_ns,
                 x->end_ns,
                 0,
                 x->alignment,
                 x->clock_error_ns,
                 0,
                 x->capture_ns,
                 x->received_ns,
                 (int64_t)x->events,
                 (int64_t)x->n_goroutines,
                 (int64_t)x->n_intervals,
                 (int64_t)x->n_wakes,
                 (int64_t)x->n_spans,
                 0,
                 (int64_t)x->raw_bytes,
                 (int64_t)x->stored_bytes};
  for (int k = 0; k < 17; k++) sqlite3_bind_int64(st, k + 1, v[k]);
  bind_text(st, 4, x->trigger);
  bind_text(st, 7, x->go_version ? x->go_version : "");
  sqlite3_bind_blob64(st, 15, x->windows, x->windows_len, SQLITE_STATIC);
  sqlite3_bind_blob64(st, 18, x->raw, x->raw_len, SQLITE_STATIC);
  sqlite3_bind_blob64(st, 19, x->span_ids ? x->span_ids : (const uint8_t *)"", x->span_ids_len, SQLITE_STATIC);
  sqlite3_bind_blob64(st, 20, x->span_blob, x->span_blob_len, SQLITE_STATIC);
  int rc = run(s, st, NULL);
  if (rc) return rc;
  x->id = sqlite3_last_insert_rowid(s->db);
  for (size_t i = 0; i < x->n_goroutines && !rc; i++) {
    const mw_xt_goroutine *g = &x->goroutines[i];
    if (!(st = stmt(s, RT_XT_GOROUTINE))) return MW_EIO;
    sqlite3_bind_int64(st, 1, x->id);
    sqlite3_bind_int64(st, 2, (int64_t)g->goroutine);
    sqlite3_bind_int64(st, 3, g->first_ns);
    sqlite3_bind_int64(st, 4, g->last_ns);
    sqlite3_bind_int64(st, 5, g->n_intervals);
    sqlite3_bind_int64(st, 6, g->n_wakes);
    sqlite3_bind_blob64(st, 7, g->blob, g->blob_len, SQLITE_STATIC);
    rc = run(s, st, NULL);
  }
  for (size_t i = 0; i < x->n_stacks && !rc; i++) {
    int64_t id;
    if ((rc = stack_id(s, &x->stacks[i], &id))) break;
    if (!(st = stmt(s, RT_XT_STACK))) return MW_EIO;
    sqlite3_bind_int64(st, 1, x->id);
    sqlite3_bind_int64(st, 2, x->stack_ids[i]);
    sqlite3_bind_int64(st, 3, id);
    rc = run(s, st, NULL);
  }
  for (size_t i = 0; i < x->n_spans && !rc; i++) {
    if (!(st = stmt(s, RT_XT_SPAN))) return MW_EIO;
    sqlite3_bind_blob(st, 1, x->spans[i].span_id, 8, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, x->id);
    rc = run(s, st, NULL);
  }
  return rc;
}

/* Feeds the batch to the rules (model/rules.h) and stores what fires, in the
 * batch's transaction. The source's names are read once, when the rules do
 * not know it yet: they label its /metrics gauges. */
static int apply_rules(mw__rt_writer *s, const mw_runtime_batch *b) {
  if (!s->rules || (!b->n_gc && !(b->kind && strcmp(b->kind, "goroutine") == 0))) return MW_OK;
  const char *service = NULL, *instance = NULL;
  sqlite3_stmt *st = NULL;
  if (!mw__rules_known(s->rules, b->source_id)) {
    if (!(st = stmt(s, RT_SOURCE_NAMES))) return MW_EIO;
    sqlite3_bind_int64(st, 1, b->source_id);
    if (sqlite3_step(st) == SQLITE_ROW) {
      service = (const char *)sqlite3_column_text(st, 0);
      instance = (const char *)sqlite3_column_text(st, 1);
    }
  }
  mw_rule_event ev[MW_RULE__N];
  size_t n = mw__rules_feed(s->rules, b->source_id, service, instance, b, ev);
  if (st) sqlite3_reset(st); /* the names were copied */
  int rc = MW_OK;
  for (size_t i = 0; i < n && !rc; i++) {
    if (!(st = stmt(s, RT_EVENT))) return MW_EIO;
    sqlite3_bind_int64(st, 1, b->source_id);
    sqlite3_bind_int64(st, 2, ev[i].time_ns);
    bind_text(st, 3, mw__rule_name(ev[i].rule));
    bind_text(st, 4, ev[i].message);
    sqlite3_bind_double(st, 5, ev[i].value);
    sqlite3_bind_double(st, 6, ev[i].threshold);
    rc = run(s, st, NULL);
    mw__info("a rule fired", "source=%lld rule=%s message=\"%s\"", (long long)b->source_id, mw__rule_name(ev[i].rule),
             ev[i].message);
  }
  return rc;
}

int mw__rt_write(mw__rt_writer *s, mw_runtime_batch *b) {
  /* the batch's time range, for the source's first/last */
  int64_t lo = INT64_MAX, hi = INT64_MIN;
  for (size_t i = 0; i < b->n_gc; i++) {
    if (b->gc[i].start_ns < lo) lo = b->gc[i].start_ns;
    if (b->gc[i].start_ns > hi) hi = b->gc[i].start_ns;
  }
  for (size_t i = 0; i < b->n_sched; i++) {
    if (b->sched[i].stamp_ns < lo) lo = b->sched[i].stamp_ns;
    if (b->sched[i].stamp_ns > hi) hi = b->sched[i].stamp_ns;
  }
  if (b->kind) {
    if (b->at_ns < lo) lo = b->at_ns;
    if (b->at_ns + b->duration_ns > hi) hi = b->at_ns + b->duration_ns;
  }
  if (b->exectrace) {
    if (b->exectrace->start_ns < lo) lo = b->exectrace->start_ns;
    if (b->exectrace->end_ns > hi) hi = b->exectrace->end_ns;
  }
  if (lo > hi) lo = hi = 0;

  /* a link learned before wins; else what the batch's span ids prove, which
   * is then remembered; else the naming rules (resolve_source) */
  sqlite3_stmt *st = stmt(s, RT_LINK_FIND);
  if (!st) return MW_EIO;
  bind_text(st, 1, b->service);
  bind_text(st, 2, b->instance);
  int rc = run(s, st, &b->source_id);
  if (rc) return rc;
  if (b->source_id < 0 && (b->source_id = learned_source(s, b)) >= 0) {
    if (!(st = stmt(s, RT_LINK_SAVE))) return MW_EIO;
    bind_text(st, 1, b->service);
    bind_text(st, 2, b->instance);
    sqlite3_bind_int64(st, 3, b->source_id);
    if ((rc = run(s, st, NULL))) return rc;
    mw__info("learned a source link", "service=\"%s\" instance=\"%s\" source=%lld", b->service, b->instance,
             (long long)b->source_id);
    if ((rc = move_to_link(s, b->service, b->instance, b->source_id))) return rc;
  }
  if (b->source_id < 0 && (rc = resolve_source(s, b, lo, &b->source_id))) return rc;
  if (!(st = stmt(s, RT_SOURCE_RANGE))) return MW_EIO;
  sqlite3_bind_int64(st, 1, b->source_id);
  sqlite3_bind_int64(st, 2, lo);
  sqlite3_bind_int64(st, 3, hi);
  if ((rc = run(s, st, NULL))) return rc;

  /* the minutes of what this batch inserts: the source's previous cycle
   * first, for the allocation of the batch's first */
  if (!s->minutes.get && (rc = mw__minutes_prepare(s->db, &s->minutes, SQLITE_PREPARE_PERSISTENT))) return rc;
  if (!s->hist && !(s->hist = malloc(MW_PH_KEYS * sizeof *s->hist))) return MW_ENOMEM;
  mw__minutes_acc acc = {.db = s->db, .s = &s->minutes, .source_id = b->source_id, .hist = s->hist};
  mw_gc_cycle before;
  int has_before = b->n_gc ? mw__minutes_prev_cycle(s->db, &s->minutes, b->source_id, b->gc[0].start_ns, &before) : 0;
  if (has_before < 0) return has_before;
  for (size_t i = 0; i < b->n_gc; i++) {
    const mw_gc_cycle *g = &b->gc[i];
    if (!(st = stmt(s, RT_GC))) return MW_EIO;
    int64_t v[] = {b->source_id,          g->n,
                   g->start_ns,           g->stw_sweep_term_ns,
                   g->concurrent_mark_ns, g->stw_mark_term_ns,
                   g->cpu_percent,        g->stw1_cpu_ns,
                   g->assist_cpu_ns,      g->background_cpu_ns,
                   g->idle_cpu_ns,        g->stw2_cpu_ns,
                   g->heap_before,        g->heap_after,
                   g->heap_live,          g->goal};
    for (int k = 0; k < 16; k++) sqlite3_bind_int64(st, k + 1, v[k]);
    if (g->stacks >= 0) sqlite3_bind_int64(st, 17, g->stacks);
    if (g->globals >= 0) sqlite3_bind_int64(st, 18, g->globals);
    sqlite3_bind_int(st, 19, g->procs);
    sqlite3_bind_int(st, 20, g->forced);
    if ((rc = run(s, st, NULL))) return rc;
    if (sqlite3_changes(s->db) != 1) continue; /* stored before: summed then */
    if ((rc = mw__minutes_at(&acc, g->start_ns))) return rc;
    mw__minute_add_cycle(&acc.cur, g, i ? &b->gc[i - 1] : has_before ? &before : NULL);
  }
  if ((rc = mw__minutes_flush(&acc))) return rc;
  for (size_t i = 0; i < b->n_sched; i++) {
    const mw_sched_sample *x = &b->sched[i];
    if (!(st = stmt(s, RT_SCHED))) return MW_EIO;
    int64_t v[] = {b->source_id, x->stamp_ns,        x->gomaxprocs,  x->idleprocs,
                   x->threads,   x->spinningthreads, x->idlethreads, x->runqueue};
    for (int k = 0; k < 8; k++) sqlite3_bind_int64(st, k + 1, v[k]);
    if (x->local_runq_sum >= 0) sqlite3_bind_int64(st, 9, x->local_runq_sum);
    if ((rc = run(s, st, NULL))) return rc;
  }
  acc.hist = NULL; /* no more pauses */
  if (b->exectrace) {
    if (!(rc = write_exectrace(s, b)) && !(rc = mw__minutes_at(&acc, b->exectrace->start_ns)))
      mw__minute_add_exectrace(&acc.cur, b->exectrace->trigger != NULL);
  } else if (b->kind) {
    if (!(rc = write_snapshot(s, b)) && !(rc = mw__minutes_at(&acc, b->at_ns)))
      mw__minute_add_snapshot(&acc.cur, b->kind, b->format, b->at_ns, b->total, b->trigger != NULL);
  }
  if (!rc) rc = mw__minutes_flush(&acc);
  return rc ? rc : apply_rules(s, b);
}

void mw__rt_writer_close(mw__rt_writer *w) {
  for (int i = 0; i < MW__RT_STMTS; i++) sqlite3_finalize(w->st[i]);
  memset(w->st, 0, sizeof w->st);
  mw__truns_rd_close(w->truns);
  w->truns = NULL;
  ZSTD_freeDCtx(w->dctx);
  w->dctx = NULL;
  mw__minutes_finalize(&w->minutes);
  free(w->hist);
  w->hist = NULL;
}

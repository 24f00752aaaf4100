/* Runtime data answers (see runtime.h). Meta is read and written by its one
 * owner, model/snapshot_meta.c. */
#include "query/runtime.h"
#include "query/pprof_out.h"
#include "core/error.h"
#include "model/snapshot_meta.h"
#include "query/runtime_json.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static void write_sched(mw_jsonw *w, const mw_sched_sample *sc, size_t n) {
  mw__jw_key(w, "samples");
  mw__jw_arr(w);
  for (size_t i = 0; i < n; i++) {
    mw__jw_obj(w);
    mw__jw_kint(w, "time_ns", sc[i].stamp_ns);
    mw__jw_kint(w, "gomaxprocs", sc[i].gomaxprocs);
    mw__jw_kint(w, "idleprocs", sc[i].idleprocs);
    mw__jw_kint(w, "threads", sc[i].threads);
    mw__jw_kint(w, "spinningthreads", sc[i].spinningthreads);
    mw__jw_kint(w, "idlethreads", sc[i].idlethreads);
    mw__jw_kint(w, "runqueue", sc[i].runqueue);
    if (sc[i].local_runq_sum >= 0) mw__jw_kint(w, "local_runqueue", sc[i].local_runq_sum);
    mw__jw_obj_end(w);
  }
  mw__jw_arr_end(w);
}

static int write_snapshots(mw_jsonw *w, mw_arena *a, const mw_snapshot_info *sn, size_t n) {
  mw__jw_key(w, "snapshots");
  mw__jw_arr(w);
  for (size_t i = 0; i < n; i++) {
    mw_snapshot_meta meta;
    if (mw__snapshot_meta_read(a, sn[i].meta_json, &meta) == MW_ENOMEM) return MW_ENOMEM;
    mw__jw_obj(w);
    mw__json_snapshot_head(w, &sn[i]);
    if (meta.trigger) mw__jw_kstr(w, "trigger", meta.trigger);
    mw__jw_obj_end(w);
  }
  mw__jw_arr_end(w);
  return MW_OK;
}

/* Values are whole numbers for every rule but gc_cpu (a percent). */
static void write_events(mw_jsonw *w, const mw_stored_event *ev, size_t n) {
  mw__jw_key(w, "events");
  mw__jw_arr(w);
  for (size_t i = 0; i < n; i++) {
    mw__jw_obj(w);
    mw__jw_kint(w, "time_ns", ev[i].at_ns);
    mw__jw_kstr(w, "rule", ev[i].rule);
    mw__jw_kstr(w, "message", ev[i].message);
    mw__jw_key(w, "value");
    mw__jw_double(w, ev[i].value);
    mw__jw_key(w, "threshold");
    mw__jw_double(w, ev[i].threshold);
    mw__jw_obj_end(w);
  }
  mw__jw_arr_end(w);
}

int mw__q_lane(mw_query *q, const mw_lane_query *p, mw_answer *out) {
  if (mw__query_open(q, out)) return out->rc;
  mw_source_info src;
  int rc = mw__store_source(q->rd, q->arena, p->source_id, &src);
  if (rc == MW_ENOTFOUND) return mw__answer_fail(out, rc, "source %lld not found", (long long)p->source_id);
  if (rc) return mw__answer_fail(out, rc, "reading the source failed: %s", mw__strerror(rc));
  mw_gc_cycle *gc = NULL;
  mw_sched_sample *sc = NULL;
  mw_snapshot_info *sn = NULL;
  mw_stored_event *ev = NULL;
  size_t n = 0;
  int more = 0;
  switch (p->lane) {
  case MW_LANE_GC:
    rc = mw__store_gc(q->rd, q->arena, p->source_id, p->start_ns, p->end_ns, p->limit, &gc, &n, &more);
    break;
  case MW_LANE_SCHED:
    rc = mw__store_sched(q->rd, q->arena, p->source_id, p->start_ns, p->end_ns, p->limit, &sc, &n, &more);
    break;
  case MW_LANE_SNAPSHOTS:
    rc = mw__store_snapshots(q->rd, q->arena, p->source_id, p->kind, p->start_ns, p->end_ns, p->limit, &sn, &n, &more);
    break;
  case MW_LANE_EVENTS:
    rc = mw__store_events(q->rd, q->arena, p->source_id, p->start_ns, p->end_ns, p->limit, &ev, &n, &more);
    break;
  }
  if (rc) return mw__answer_fail(out, rc, "query failed: %s", mw__strerror(rc));
  mw_jsonw w;
  mw__answer_json(out, 64u << 20, &w);
  mw__jw_obj(&w);
  mw__jw_key(&w, "source");
  mw__json_source(&w, &src);
  switch (p->lane) {
  case MW_LANE_GC:
    mw__jw_key(&w, "cycles");
    mw__jw_arr(&w);
    for (size_t i = 0; i < n; i++) mw__json_gc_cycle(&w, &gc[i]);
    mw__jw_arr_end(&w);
    break;
  case MW_LANE_SCHED: write_sched(&w, sc, n); break;
  case MW_LANE_SNAPSHOTS:
    if ((rc = write_snapshots(&w, q->arena, sn, n)))
      return mw__answer_fail(out, rc, "query failed: %s", mw__strerror(rc));
    break;
  case MW_LANE_EVENTS: write_events(&w, ev, n); break;
  }
  mw__jw_kbool(&w, "more", more);
  mw__jw_obj_end(&w);
  return mw__answer_end(out, &w);
}

static void write_row(mw_jsonw *w, const mw_snapshot_row *row, int goroutines) {
  mw__jw_obj(w);
  if (goroutines) {
    mw__jw_kstr(w, "state", row->state);
    if (row->wait_reason) mw__jw_kstr(w, "wait_reason", row->wait_reason);
    mw__jw_kint(w, "count", row->count);
    if (row->wait_min_ns >= 0) {
      mw__jw_kint(w, "wait_min_ns", row->wait_min_ns);
      mw__jw_kint(w, "wait_max_ns", row->wait_max_ns);
    }
    if (row->locked) mw__jw_kbool(w, "locked_to_thread", 1);
    if (row->goids) mw__jw_kstr(w, "goroutine_ids", row->goids);
  } else {
    mw__jw_key(w, "values");
    mw__jw_raw(w, row->vals_json ? row->vals_json : "[]");
  }
  if (row->has_span) {
    mw__jw_key(w, "span_id");
    mw__jw_hex(w, row->span_id, 8);
  }
  if (row->has_trace) {
    mw__jw_key(w, "trace_id");
    mw__jw_hex(w, row->trace_id, 16);
  }
  if (row->labels_json) {
    mw__jw_key(w, "labels");
    mw__jw_raw(w, row->labels_json);
  }
  mw__jw_kint(w, "stack_id", row->stack_id);
  mw__jw_key(w, "frames");
  mw__json_frames(w, row->frames);
  mw__jw_obj_end(w);
}

int mw__q_snapshot(mw_query *q, int64_t id, size_t offset, size_t limit, mw_answer *out) {
  if (mw__query_open(q, out)) return out->rc;
  mw_snapshot_info info;
  mw_snapshot_row *rows;
  size_t n;
  int more;
  int rc = mw__store_snapshot(q->rd, q->arena, id, offset, limit, &info, &rows, &n, &more);
  if (rc == MW_ENOTFOUND) return mw__answer_fail(out, rc, "snapshot %lld not found", (long long)id);
  if (rc) return mw__answer_fail(out, rc, "reading the snapshot failed: %s", mw__strerror(rc));
  mw_snapshot_meta meta;
  if (mw__snapshot_meta_read(q->arena, info.meta_json, &meta) == MW_ENOMEM)
    return mw__answer_fail(out, MW_ENOMEM, "out of memory");
  int goroutines = mw__snapshot_kind_groups(info.kind);
  mw_jsonw w;
  mw__answer_json(out, 128u << 20, &w);
  mw__jw_obj(&w);
  mw__jw_kint(&w, "id", info.id);
  mw__jw_kint(&w, "source_id", info.source_id);
  mw__jw_kstr(&w, "kind", info.kind);
  mw__jw_kstr(&w, "format", info.format);
  mw__jw_kint(&w, "time_ns", info.at_ns);
  mw__jw_kint(&w, "duration_ns", info.duration_ns);
  mw__jw_kint(&w, "total", info.total);
  mw__jw_kint(&w, "raw_bytes", info.raw_bytes);
  mw__jw_kint(&w, "stored_payload_bytes", info.stored_bytes);
  mw__jw_key(&w, "meta");
  mw__snapshot_meta_write(&w, &meta);
  mw__jw_key(&w, goroutines ? "groups" : "samples");
  mw__jw_arr(&w);
  for (size_t i = 0; i < n; i++) write_row(&w, &rows[i], goroutines);
  mw__jw_arr_end(&w);
  mw__jw_kbool(&w, "more", more);
  mw__jw_obj_end(&w);
  return mw__answer_end(out, &w);
}

/* A goroutine profile stored without its payload (store/runtime_write.c):
 * written again from its groups, all of them (at most MW_RAW_MAX_GROUPS). */
static int goroutines_raw(mw_query *q, int64_t id, mw_answer *out) {
  mw_snapshot_info info;
  mw_snapshot_row *rows;
  size_t n;
  int more;
  int rc = mw__store_snapshot(q->rd, q->arena, id, 0, MW_RAW_MAX_GROUPS, &info, &rows, &n, &more);
  if (rc) return mw__answer_fail(out, rc, "reading the snapshot failed: %s", mw__strerror(rc));
  if (strcmp(info.kind, "goroutine") != 0 || strcmp(info.format, "pprof") != 0)
    return mw__answer_fail(out, MW_EIO, "snapshot %lld has an empty payload", (long long)id);
  if (more)
    return mw__answer_fail(out, MW_ETOOBIG, "snapshot %lld has more than %d goroutine groups", (long long)id,
                           MW_RAW_MAX_GROUPS);
  mw_snapshot_meta meta;
  if (mw__snapshot_meta_read(q->arena, info.meta_json, &meta) == MW_ENOMEM)
    return mw__answer_fail(out, MW_ENOMEM, "out of memory");
  mw__answer_bytes(out, "application/octet-stream", 256u << 20);
  if ((rc = mw__pprof_goroutine_groups(q->arena, &info, &meta, rows, n, &out->body)))
    return mw__answer_fail(out, rc, "writing the goroutine profile failed: %s", mw__strerror(rc));
  return out->rc;
}

int mw__q_snapshot_raw(mw_query *q, int64_t id, mw_answer *out) {
  if (mw__query_open(q, out)) return out->rc;
  const uint8_t *z;
  size_t zl;
  int64_t raw;
  int rc = mw__store_snapshot_payload(q->rd, q->arena, id, &z, &zl, &raw);
  if (rc == MW_ENOTFOUND) return mw__answer_fail(out, rc, "snapshot %lld not found", (long long)id);
  if (rc) return mw__answer_fail(out, rc, "reading the snapshot failed: %s", mw__strerror(rc));
  if (!zl) return goroutines_raw(q, id, out);
  char what[64];
  snprintf(what, sizeof what, "the stored payload of snapshot %lld", (long long)id);
  if (mw__answer_unzstd(out, "application/octet-stream", z, zl, raw, what)) return out->rc;
  const char *p = out->body.data;
  size_t got = out->body.len;
  int gz = got >= 2 && (unsigned char)p[0] == 0x1f && (unsigned char)p[1] == 0x8b;
  if (!gz && got && p[0] == 'g') out->content_type = "text/plain; charset=utf-8"; /* "goroutine ..." dumps */
  return MW_OK;
}

/* Listings (see catalog.h). */
#include "query/catalog.h"
#include "core/error.h"
#include "query/runtime_json.h"

int mw__q_services(mw_query *q, const char *name, const mw_page *pg, mw_answer *out) {
  if (mw__query_open(q, out)) return out->rc;
  mw_service_info *sv;
  size_t n, next;
  int rc = mw__store_services(q->rd, q->arena, name, pg, &sv, &n, &next);
  if (rc) return mw__answer_fail(out, rc, "listing services failed: %s", mw__strerror(rc));
  size_t room = 4096;
  for (size_t i = 0; i < n; i++) room += 128 + mw__json_room(sv[i].name);
  mw_jsonw w;
  mw__answer_json(out, room, &w);
  mw__jw_obj(&w);
  mw__jw_key(&w, "services");
  mw__jw_arr(&w);
  for (size_t i = 0; i < n; i++) {
    mw__jw_obj(&w);
    mw__jw_kstr(&w, "name", sv[i].name);
    mw__jw_kint(&w, "span_count", sv[i].span_count);
    mw__jw_kint(&w, "operation_count", sv[i].operation_count);
    mw__jw_kint(&w, "instance_count", sv[i].instance_count);
    mw__jw_obj_end(&w);
  }
  mw__jw_arr_end(&w);
  mw__jw_page(&w, next);
  mw__jw_obj_end(&w);
  return mw__answer_end(out, &w);
}

int mw__q_operations(mw_query *q, const mw_operations_query *p, mw_answer *out) {
  if (mw__query_open(q, out)) return out->rc;
  mw_operation_stats *ops;
  size_t n, next;
  int rc = mw__store_operations_hist(q->rd, q->arena, p->service, p->start_ns, p->end_ns, &p->page, p->hist, &ops, &n,
                                     &next);
  if (rc == MW_ENOTFOUND) return mw__answer_fail(out, rc, "service \"%.128s\" not found", p->service);
  if (rc) return mw__answer_fail(out, rc, "listing operations failed: %s", mw__strerror(rc));
  size_t room = 4096 + mw__json_room(p->service);
  for (size_t i = 0; i < n; i++) room += 256 + mw__json_room(ops[i].name) + 32 * ops[i].n_hist;
  mw_jsonw w;
  mw__answer_json(out, room, &w);
  mw__jw_obj(&w);
  mw__jw_kstr(&w, "service", p->service);
  mw__jw_key(&w, "operations");
  mw__jw_arr(&w);
  for (size_t i = 0; i < n; i++) {
    mw__jw_obj(&w);
    mw__jw_kstr(&w, "name", ops[i].name);
    mw__jw_kint(&w, "count", ops[i].count);
    mw__jw_kint(&w, "p50_ns", ops[i].p50_ns);
    mw__jw_kint(&w, "p90_ns", ops[i].p90_ns);
    mw__jw_kint(&w, "p99_ns", ops[i].p99_ns);
    mw__jw_kint(&w, "max_ns", ops[i].max_ns);
    if (ops[i].sampled) mw__jw_kbool(&w, "sampled", 1);
    if (p->hist) {
      mw__jw_key(&w, "hist");
      mw__jw_arr(&w);
      for (size_t k = 0; k < ops[i].n_hist; k++) {
        mw__jw_arr(&w);
        mw__jw_int(&w, ops[i].hist[k].bucket);
        mw__jw_int(&w, ops[i].hist[k].n);
        mw__jw_arr_end(&w);
      }
      mw__jw_arr_end(&w);
    }
    mw__jw_obj_end(&w);
  }
  mw__jw_arr_end(&w);
  mw__jw_page(&w, next);
  mw__jw_obj_end(&w);
  return mw__answer_end(out, &w);
}

int mw__q_sources(mw_query *q, const mw_page *pg, mw_answer *out) {
  if (mw__query_open(q, out)) return out->rc;
  mw_source_info *src;
  size_t n, next;
  int rc = mw__store_sources(q->rd, q->arena, pg, &src, &n, &next);
  if (rc) return mw__answer_fail(out, rc, "listing sources failed: %s", mw__strerror(rc));
  size_t room = 4096;
  for (size_t i = 0; i < n; i++)
    room += 256 + mw__json_room(src[i].service) + mw__json_room(src[i].instance) + mw__json_room(src[i].host);
  mw_jsonw w;
  mw__answer_json(out, room, &w);
  mw__jw_obj(&w);
  mw__jw_key(&w, "sources");
  mw__jw_arr(&w);
  for (size_t i = 0; i < n; i++) mw__json_source(&w, &src[i]);
  mw__jw_arr_end(&w);
  mw__jw_page(&w, next);
  mw__jw_obj_end(&w);
  return mw__answer_end(out, &w);
}

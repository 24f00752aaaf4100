/* Heap growth and allocation rate (see growth.h). Both read the stored
 * payloads of heap profiles (zstd of what was received, itself gzip'd when
 * Go served it), decode them again and merge them by stack (heap_diff.h):
 * the profile as received is the exact input `go tool pprof` would read,
 * where the stored sample rows are cut to their labels and span ids. */
#include "query/growth.h"
#include "core/error.h"
#include "core/sat.h"
#include "query/flame.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

/* A profile inflates to at most this: the body limit's ceiling. */
enum { MAX_PROFILE_BYTES = 1 << 30 };

/* Inflates the gzip data in[0..n) into the arena; MW_EINVAL when it is not
 * whole gzip data, MW_ETOOBIG past MAX_PROFILE_BYTES. */
static int gunzip(mw_arena *a, const uint8_t *in, size_t n, const uint8_t **out, size_t *len) {
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (inflateInit2(&zs, 15 + 16) != Z_OK) return MW_ENOMEM;
  size_t cap = n * 4 + 4096, got = 0;
  uint8_t *buf = mw__arena_alloc(a, cap);
  int rc = buf ? MW_OK : MW_ENOMEM;
  zs.next_in = (Bytef *)(uintptr_t)in;
  zs.avail_in = (uInt)n;
  while (!rc) {
    zs.next_out = buf + got;
    zs.avail_out = (uInt)(cap - got);
    int zr = inflate(&zs, Z_NO_FLUSH);
    got = cap - zs.avail_out;
    if (zr == Z_STREAM_END) break;
    if (zr != Z_OK && zr != Z_BUF_ERROR) rc = MW_EINVAL;
    else if (zs.avail_out) rc = MW_EINVAL; /* input ended short of the stream's end */
    else if (cap >= MAX_PROFILE_BYTES) rc = MW_ETOOBIG;
    else {
      uint8_t *grown = mw__arena_alloc(a, cap * 2);
      if (!grown) rc = MW_ENOMEM;
      else {
        memcpy(grown, buf, got);
        buf = grown;
        cap *= 2;
      }
    }
  }
  inflateEnd(&zs);
  *out = buf;
  *len = got;
  return rc;
}

/* Decodes the stored heap profile of snapshot s into *p. */
static int load_profile(mw_read *rd, mw_arena *a, const mw_snapshot_info *s, mw_profile *p) {
  const uint8_t *z, *raw;
  size_t zl, len;
  int64_t raw_bytes;
  int rc = mw__store_snapshot_payload(rd, a, s->id, &z, &zl, &raw_bytes);
  if (rc) return rc;
  size_t n = raw_bytes > 0 ? (size_t)raw_bytes : 0;
  uint8_t *body = mw__arena_alloc(a, n ? n : 1);
  if (!body) return MW_ENOMEM;
  size_t got = n ? ZSTD_decompress(body, n, z, zl) : 0;
  if (ZSTD_isError(got) || got != n) return MW_EIO;
  raw = body;
  len = n;
  if (len >= 2 && body[0] == 0x1f && body[1] == 0x8b && (rc = gunzip(a, body, n, &raw, &len)))
    return rc == MW_ENOMEM ? rc : MW_EIO;
  char err[256];
  rc = mw__pprof_decode(a, raw, len, NULL, p, err, sizeof err);
  return rc == MW_ENOMEM ? rc : rc ? MW_EIO : MW_OK;
}

/* An int64 as a JSON number, or as a string past 2^53 (where a double
 * stops holding every integer). */
static void kbig(mw_jsonw *w, const char *key, int64_t v) {
  mw__jw_key(w, key);
  if (v > (1ll << 53) || v < -(1ll << 53)) mw__jw_int_str(w, v);
  else mw__jw_int(w, v);
}

static void write_frames(mw_jsonw *w, const mw_frame *f, size_t n) {
  mw__jw_key(w, "frames");
  mw__jw_arr(w);
  for (size_t i = 0; i < n; i++) {
    mw__jw_obj(w);
    mw__jw_kstr(w, "function", f[i].func);
    mw__jw_kstr(w, "file", f[i].file);
    mw__jw_kint(w, "line", f[i].line);
    mw__jw_obj_end(w);
  }
  mw__jw_arr_end(w);
}

static void write_snapshot(mw_jsonw *w, const char *key, const mw_snapshot_info *s) {
  mw__jw_key(w, key);
  mw__jw_obj(w);
  mw__jw_kint(w, "snapshot_id", s->id);
  kbig(w, "time_ns", s->at_ns);
  mw__jw_obj_end(w);
}

static int fail_load(mw_answer *out, int rc, const mw_snapshot_info *s) {
  if (rc == MW_ENOMEM) return mw__answer_fail(out, rc, "out of memory reading heap profiles: retry");
  if (rc == MW_EINVAL || rc == MW_EIO)
    return mw__answer_fail(out, MW_EIO, "the stored heap profile of snapshot %lld does not decode", (long long)s->id);
  return mw__answer_fail(out, rc, "reading heap profiles failed: %s", mw__strerror(rc));
}

int mw__q_heap_growth(mw_query *q, const mw_heap_growth_query *p, mw_answer *out) {
  if (mw__query_open(q, out)) return out->rc;
  mw_source_info src;
  mw_snapshot_info snap[2]; /* base, target */
  int rc = mw__store_source(q->rd, q->arena, p->source_id, &src);
  if (rc == MW_ENOTFOUND) return mw__answer_fail(out, rc, "source %lld not found", (long long)p->source_id);
  if (!rc) rc = mw__store_heap_near(q->rd, q->arena, p->source_id, p->start_ns, p->end_ns, &snap[1]);
  if (rc == MW_ENOTFOUND)
    return mw__answer_fail(out, rc,
                           "source %lld has no heap profile between start and end: nothing to compare (push one to "
                           "/api/v1/ingest/heap, or widen start and end)",
                           (long long)p->source_id);
  if (!rc) rc = mw__store_heap_near(q->rd, q->arena, p->source_id, p->base_start_ns, p->base_end_ns, &snap[0]);
  if (rc == MW_ENOTFOUND || (!rc && snap[0].id == snap[1].id))
    return mw__answer_fail(out, MW_ENOTFOUND,
                           "source %lld has no heap profile between base_start and base_end other than the target "
                           "(snapshot %lld): no base to compare with (set base_start and base_end around an earlier "
                           "profile)",
                           (long long)p->source_id, (long long)snap[1].id);
  if (rc) return mw__answer_fail(out, rc, "reading heap profiles failed: %s", mw__strerror(rc));

  mw_profile prof[2];
  mw_heap_merge m;
  if ((rc = mw__heap_merge_init(&m, q->arena))) return fail_load(out, rc, &snap[0]);
  for (int side = 0; side < 2; side++) {
    if ((rc = load_profile(q->rd, q->arena, &snap[side], &prof[side])) ||
        (rc = mw__heap_merge_add(&m, &prof[side], side)))
      return fail_load(out, rc, &snap[side]);
  }
  mw__heap_merge_sort(&m, p->sample);

  if (p->pprof) {
    mw__answer_bytes(out, "application/octet-stream", 256u << 20);
    rc = mw__heap_diff_pprof(&m, &prof[1], p->sample, snap[1].at_ns, snap[1].at_ns - snap[0].at_ns, &out->body);
    if (rc == MW_ETOOBIG)
      return mw__answer_fail(out, rc, "the profile would be larger than 256 MiB: compare fewer stacks");
    if (rc) return mw__answer_fail(out, rc, "writing the profile failed: %s", mw__strerror(rc));
    snprintf(out->filename, sizeof out->filename, "heap-growth-%lld-%lld.pb.gz", (long long)snap[0].id,
             (long long)snap[1].id);
    return MW_OK;
  }

  int alloc = p->sample == MW_HV_ALLOC_SPACE || p->sample == MW_HV_ALLOC_OBJECTS;
  enum mw_heap_value vb = alloc ? MW_HV_ALLOC_SPACE : MW_HV_INUSE_SPACE;
  enum mw_heap_value vo = alloc ? MW_HV_ALLOC_OBJECTS : MW_HV_INUSE_OBJECTS;
  mw_flame_node root = {.name = "all"};
  for (size_t i = 0; i < m.n; i++) {
    const mw_heap_stack *s = &m.stacks[i];
    if (s->side[0][p->sample] == 0 && s->side[1][p->sample] == 0) continue;
    rc = mw__flame_add(q->arena, &root, s->frames, s->n_frames, (double)s->side[1][p->sample],
                       (double)s->side[0][p->sample]);
    if (rc) return mw__answer_fail(out, rc, "out of memory building the flame graph: retry");
  }

  mw_jsonw w;
  mw__answer_json(out, 64u << 20, &w);
  mw__jw_obj(&w);
  mw__jw_kint(&w, "source", p->source_id);
  mw__jw_kstr(&w, "sample", mw__heap_value_name(p->sample));
  write_snapshot(&w, "base", &snap[0]);
  write_snapshot(&w, "target", &snap[1]);
  mw__jw_key(&w, "total");
  mw__jw_obj(&w);
  kbig(&w, "bytes", mw__sat_sub(m.total[1][vb], m.total[0][vb]));
  kbig(&w, "objects", mw__sat_sub(m.total[1][vo], m.total[0][vo]));
  kbig(&w, "base_bytes", m.total[0][vb]);
  kbig(&w, "base_objects", m.total[0][vo]);
  mw__jw_obj_end(&w);
  mw__jw_key(&w, "stacks");
  mw__jw_arr(&w);
  size_t listed = 0;
  for (size_t i = 0; i < m.n && listed < p->limit; i++) {
    const mw_heap_stack *s = &m.stacks[i];
    if (mw__heap_delta(s, p->sample) <= 0) break; /* sorted: the rest did not grow */
    listed++;
    mw__jw_obj(&w);
    write_frames(&w, s->frames, s->n_frames);
    kbig(&w, "bytes", mw__heap_delta(s, vb));
    kbig(&w, "objects", mw__heap_delta(s, vo));
    kbig(&w, "base_bytes", s->side[0][vb]);
    kbig(&w, "base_objects", s->side[0][vo]);
    mw__jw_obj_end(&w);
  }
  mw__jw_arr_end(&w);
  mw__jw_kbool(&w, "more", listed < m.n && listed == p->limit && mw__heap_delta(&m.stacks[listed], p->sample) > 0);
  mw__jw_key(&w, "flame");
  mw__flame_write(&w, &root, "target", "base", 1, 0.005);
  mw__jw_obj_end(&w);
  return mw__answer_end(out, &w);
}

int mw__q_alloc_rate(mw_query *q, const mw_alloc_query *p, mw_answer *out) {
  if (mw__query_open(q, out)) return out->rc;
  mw_source_info src;
  mw_snapshot_info *snaps;
  size_t n;
  int more;
  int rc = mw__store_source(q->rd, q->arena, p->source_id, &src);
  if (rc == MW_ENOTFOUND) return mw__answer_fail(out, rc, "source %lld not found", (long long)p->source_id);
  if (!rc)
    rc = mw__store_heaps(q->rd, q->arena, p->source_id, p->start_ns, p->end_ns, MW_ALLOC_MAX_PROFILES, &snaps, &n,
                         &more);
  if (rc) return mw__answer_fail(out, rc, "reading heap profiles failed: %s", mw__strerror(rc));
  if (n < 2)
    return mw__answer_fail(out, MW_ENOTFOUND,
                           "source %lld has %zu heap profile%s between start and end: an allocation rate needs two "
                           "(widen start and end)",
                           (long long)p->source_id, n, n == 1 ? "" : "s");
  mw_heap_merge m;
  if ((rc = mw__heap_merge_init(&m, q->arena))) return fail_load(out, rc, &snaps[0]);
  /* a run: profiles whose alloc_space total never falls; it adds its last
   * profile's values less its first's */
  mw_profile first = {0}, prev = {0}, cur;
  int64_t prev_total = 0;
  size_t run_first = 0;
  for (size_t i = 0; i < n; i++) {
    if ((rc = load_profile(q->rd, q->arena, &snaps[i], &cur))) return fail_load(out, rc, &snaps[i]);
    int64_t total = 0;
    int col = mw__pprof_sample_type_index(&cur, "alloc_space");
    for (size_t k = 0; col >= 0 && k < cur.n_samples; k++) total = mw__sat_add(total, cur.samples[k].values[col]);
    if (i == 0 || total < prev_total) {
      if (i > run_first + 1 && ((rc = mw__heap_merge_add(&m, &first, 0)) || (rc = mw__heap_merge_add(&m, &prev, 1))))
        return fail_load(out, rc, &snaps[i - 1]);
      first = cur;
      run_first = i;
    }
    prev = cur;
    prev_total = total;
  }
  if (n > run_first + 1 && ((rc = mw__heap_merge_add(&m, &first, 0)) || (rc = mw__heap_merge_add(&m, &prev, 1))))
    return fail_load(out, rc, &snaps[n - 1]);
  mw__heap_merge_sort(&m, MW_HV_ALLOC_SPACE);
  double window_s = (double)(snaps[n - 1].at_ns - snaps[0].at_ns) / 1e9;

  mw_jsonw w;
  mw__answer_json(out, 64u << 20, &w);
  mw__jw_obj(&w);
  mw__jw_kint(&w, "source", p->source_id);
  mw__jw_kdouble(&w, "window_s", round(window_s * 1000) / 1000);
  mw__jw_kint(&w, "profiles", (int64_t)n);
  mw__jw_kbool(&w, "more_profiles", more);
  mw__jw_key(&w, "stacks");
  mw__jw_arr(&w);
  size_t listed = 0;
  for (size_t i = 0; i < m.n && listed < p->limit && window_s > 0; i++) {
    const mw_heap_stack *s = &m.stacks[i];
    int64_t bytes = mw__heap_delta(s, MW_HV_ALLOC_SPACE), objects = mw__heap_delta(s, MW_HV_ALLOC_OBJECTS);
    if (bytes <= 0) break;
    listed++;
    mw__jw_obj(&w);
    write_frames(&w, s->frames, s->n_frames);
    mw__jw_kdouble(&w, "bytes_per_s", round((double)bytes / window_s * 1000) / 1000);
    mw__jw_kdouble(&w, "objects_per_s", round((double)objects / window_s * 1000) / 1000);
    mw__jw_obj_end(&w);
  }
  mw__jw_arr_end(&w);
  mw__jw_obj_end(&w);
  return mw__answer_end(out, &w);
}

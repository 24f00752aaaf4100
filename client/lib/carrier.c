/* A runtime payload inside an OTLP trace request (docs/SHARDING.md, §2): for
 * an OpenTelemetry Collector that routes spans by process, the payload rides
 * as one span of the scope "meanwhile.runtime" under the resource the
 * service's own spans carry (service.name, service.instance.id), so that the
 * Collector's loadbalancing exporter hashes the same key for both and sends
 * them to the same meanwhiled shard. meanwhiled's /v1/traces takes such spans
 * out and ingests each as the POST /api/v1/ingest/{kind} it stands for.
 *
 * The protobuf is written by hand: each message is built in a buffer of its
 * own, then appended to its parent with its length. */
#include <stdlib.h>
#include <string.h>

#include "client_int.h"

typedef struct pbw {
  uint8_t *p;
  size_t len, cap;
  int oom;
} pbw;

static void put(pbw *w, const void *src, size_t n) {
  if (w->oom) return;
  if (w->len + n > w->cap) {
    size_t cap = w->cap ? w->cap : 256;
    while (cap < w->len + n) cap *= 2;
    uint8_t *np = realloc(w->p, cap);
    if (!np) {
      w->oom = 1;
      return;
    }
    w->p = np;
    w->cap = cap;
  }
  if (n) memcpy(w->p + w->len, src, n);
  w->len += n;
}

static void varint(pbw *w, uint64_t v) {
  uint8_t b[10];
  size_t n = 0;
  do {
    b[n] = (uint8_t)(v & 0x7f);
    v >>= 7;
    if (v) b[n] |= 0x80;
    n++;
  } while (v);
  put(w, b, n);
}

static void tag(pbw *w, unsigned field, unsigned wt) { varint(w, ((uint64_t)field << 3) | wt); }

static void field_bytes(pbw *w, unsigned field, const void *data, size_t n) {
  tag(w, field, 2);
  varint(w, n);
  put(w, data, n);
}

static void field_str(pbw *w, unsigned field, const char *s) { field_bytes(w, field, s, strlen(s)); }

static void field_msg(pbw *w, unsigned field, pbw *inner) {
  if (inner->oom) w->oom = 1;
  field_bytes(w, field, inner->p, inner->len);
  free(inner->p);
  memset(inner, 0, sizeof *inner);
}

static void field_fixed64(pbw *w, unsigned field, uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
  tag(w, field, 1);
  put(w, b, 8);
}

/* KeyValue{key = 1, value = 2 AnyValue{string_value = 1 | int_value = 3 | bytes_value = 7}} */
static void kv_str(pbw *w, unsigned field, const char *key, const char *value) {
  pbw v = {0}, kv = {0};
  field_str(&v, 1, value);
  field_str(&kv, 1, key);
  field_msg(&kv, 2, &v);
  field_msg(w, field, &kv);
}

static void kv_int(pbw *w, unsigned field, const char *key, int64_t value) {
  pbw v = {0}, kv = {0};
  tag(&v, 3, 0);
  varint(&v, (uint64_t)value);
  field_str(&kv, 1, key);
  field_msg(&kv, 2, &v);
  field_msg(w, field, &kv);
}

static void kv_bytes(pbw *w, unsigned field, const char *key, const void *data, size_t n) {
  pbw v = {0}, kv = {0};
  field_bytes(&v, 7, data, n);
  field_str(&kv, 1, key);
  field_msg(&kv, 2, &v);
  field_msg(w, field, &kv);
}

static uint64_t next_rand(uint64_t *s) {
  uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *s = x;
}

int mw__carrier_encode(const char *kind, const mw_runtime_params *rp, const void *body, size_t len, int64_t now_ns,
                       uint64_t *rng, uint8_t **out, size_t *out_len) {
  /* Span: trace_id 1, span_id 2, name 5, kind 6, start 7, end 8, attributes 9 */
  pbw span = {0};
  uint8_t id[16];
  for (int i = 0; i < 2; i++) {
    uint64_t r = next_rand(rng);
    for (int j = 0; j < 8; j++) id[i * 8 + j] = (uint8_t)(r >> (8 * j));
  }
  id[0] |= 1; /* never all zero */
  field_bytes(&span, 1, id, 16);
  field_bytes(&span, 2, id + 8, 8);
  field_str(&span, 5, kind);
  tag(&span, 6, 0);
  varint(&span, 1); /* SPAN_KIND_INTERNAL */
  int64_t start = rp->time_ns > 0 ? rp->time_ns : now_ns;
  int64_t end = rp->duration_ns > 0 && rp->duration_ns <= INT64_MAX - start ? start + rp->duration_ns : start;
  field_fixed64(&span, 7, (uint64_t)start);
  field_fixed64(&span, 8, (uint64_t)end);
  kv_str(&span, 9, MW__CARRIER_ATTR_KIND, kind);
  if (rp->time_ns) kv_int(&span, 9, MW__CARRIER_ATTR_TIME, rp->time_ns);
  if (rp->duration_ns) kv_int(&span, 9, MW__CARRIER_ATTR_DURATION, rp->duration_ns);
  if (rp->process_start_ns) kv_int(&span, 9, MW__CARRIER_ATTR_PROCESS_START, rp->process_start_ns);
  if (rp->trigger && *rp->trigger) kv_str(&span, 9, MW__CARRIER_ATTR_TRIGGER, rp->trigger);
  kv_bytes(&span, 9, MW__CARRIER_ATTR_PAYLOAD, body, len);

  /* ScopeSpans: scope 1 {name 1, version 2}, spans 2 */
  pbw scope = {0}, ss = {0};
  field_str(&scope, 1, MW__CARRIER_SCOPE);
  field_str(&scope, 2, MW__CARRIER_VERSION);
  field_msg(&ss, 1, &scope);
  field_msg(&ss, 2, &span);

  /* ResourceSpans: resource 1 {attributes 1}, scope_spans 2 */
  pbw res = {0}, rs = {0}, req = {0};
  kv_str(&res, 1, "service.name", rp->service);
  if (rp->instance && *rp->instance) kv_str(&res, 1, "service.instance.id", rp->instance);
  field_msg(&rs, 1, &res);
  field_msg(&rs, 2, &ss);

  /* ExportTraceServiceRequest: resource_spans 1 */
  field_msg(&req, 1, &rs);
  if (req.oom) {
    free(req.p);
    return MW_ERR_NOMEM;
  }
  *out = req.p;
  *out_len = req.len;
  return 0;
}

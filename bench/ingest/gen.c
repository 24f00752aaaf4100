/* The corpus generator: realistic OTLP ExportTraceServiceRequest batches, each
 * encoded once with protobuf-c.
 *
 * A batch is what one SDK batch exporter of one process sends: one resource
 * (service.name, service.instance.id, host.name, process.pid), one scope, and
 * spans_per_batch spans in traces of spans_per_trace (a SERVER root and a tree
 * of CLIENT/INTERNAL children) with ten mixed-type attributes each, names from
 * a small set of operations per service, durations log-uniform in
 * 50 us..500 ms, and about 3% errors with an exception event.
 *
 * Encoding is the expensive part, so it happens once per template. Every
 * template id and time is a random value that we then find again in the
 * encoded bytes (memmem from the span's position onwards: ids are random, so a
 * false match is impossible in practice and is checked anyway) and record as an
 * offset. A send then costs ~200 small stores: new ids, times shifted to now. */
#define _GNU_SOURCE /* memmem */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "meanwhile/store/v1/store.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;
typedef Opentelemetry__Proto__Trace__V1__Span Span;

/* ---- time, randomness, ids --------------------------------------------- */

int64_t bi_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

double bi_mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* splitmix64's finalizer: a bijection on 64-bit values, which is what makes
 * ids derived from distinct counters distinct. */
static uint64_t mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t bi_rand64(uint64_t *state) {
  *state += 0x9e3779b97f4a7c15ULL;
  uint64_t z = *state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static double rand01(uint64_t *st) { return (double)(bi_rand64(st) >> 11) / 9007199254740992.0; }

static uint64_t rand_below(uint64_t *st, uint64_t n) { return bi_rand64(st) % n; }

static void put64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

void bi_ids_init(bi_ids *ids, uint64_t seed) {
  atomic_init(&ids->next_trace, 0);
  atomic_init(&ids->next_span, 0);
  ids->seed = seed;
}

void bi_trace_id(const bi_ids *ids, uint64_t k, uint8_t out[16]) {
  /* The first half alone is unique (bijection of k ^ seed); the second half
   * only has to look random. */
  put64(out, mix64(k ^ ids->seed));
  put64(out + 8, mix64(k + 0x5bd1e995ULL * (ids->seed | 1)));
}

void bi_span_id(const bi_ids *ids, uint64_t k, uint8_t out[8]) {
  uint64_t v = mix64(k ^ ~ids->seed);
  put64(out, v ? v : 1); /* an all-zero id is invalid; one value in 2^64 */
}

void bi_hex(const uint8_t *p, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  out[2 * n] = 0;
}

void bi_batch_stamp(const bi_batch *b, uint8_t *buf, const bi_ids *ids, uint64_t trace_k, uint64_t span_k,
                    int64_t shift_ns) {
  uint8_t tid[64][16];
  uint8_t sid[1024][8];
  /* Bounded by bi_corpus_build: at most 1024 spans and 64 traces a batch. */
  for (uint32_t t = 0; t < b->n_traces; t++) bi_trace_id(ids, trace_k + t, tid[t]);
  for (uint32_t i = 0; i < b->n_spans; i++) bi_span_id(ids, span_k + i, sid[i]);
  for (uint32_t i = 0; i < b->n_spans; i++) {
    const bi_span *s = &b->spans[i];
    memcpy(buf + s->trace_off, tid[s->trace], 16);
    memcpy(buf + s->span_off, sid[i], 8);
    if (s->parent >= 0) memcpy(buf + s->parent_off, sid[s->parent], 8);
    put64(buf + s->start_off, (uint64_t)(s->start_ns + shift_ns));
    put64(buf + s->end_off, (uint64_t)(s->start_ns + s->dur_ns + shift_ns));
  }
}

/* ---- a bump allocator for the protobuf-c message trees ----------------- */

typedef struct arena {
  char *p;
  size_t used, cap;
} arena;

static void *aalloc(arena *a, size_t n) {
  n = (n + 15) & ~(size_t)15;
  if (a->used + n > a->cap) {
    fprintf(stderr, "bench-ingest: generator arena exhausted\n");
    abort(); /* sized below for the largest batch we allow */
  }
  void *r = a->p + a->used;
  a->used += n;
  memset(r, 0, n);
  return r;
}

static char *astrdup(arena *a, const char *s) {
  size_t n = strlen(s) + 1;
  char *r = aalloc(a, n);
  memcpy(r, s, n);
  return r;
}

static KeyValue *kv_new(arena *a, const char *key) {
  KeyValue *kv = aalloc(a, sizeof *kv);
  opentelemetry__proto__common__v1__key_value__init(kv);
  kv->key = (char *)key;
  kv->value = aalloc(a, sizeof *kv->value);
  opentelemetry__proto__common__v1__any_value__init(kv->value);
  return kv;
}

static KeyValue *kv_str(arena *a, const char *key, const char *v) {
  KeyValue *kv = kv_new(a, key);
  kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
  kv->value->string_value = (char *)v;
  return kv;
}

static KeyValue *kv_int(arena *a, const char *key, int64_t v) {
  KeyValue *kv = kv_new(a, key);
  kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
  kv->value->int_value = v;
  return kv;
}

static KeyValue *kv_double(arena *a, const char *key, double v) {
  KeyValue *kv = kv_new(a, key);
  kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
  kv->value->double_value = v;
  return kv;
}

static KeyValue *kv_bool(arena *a, const char *key, int v) {
  KeyValue *kv = kv_new(a, key);
  kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
  kv->value->bool_value = v != 0;
  return kv;
}

/* ---- the vocabulary ---------------------------------------------------- */

#define N_SERVICES 4
#define INSTANCES_PER_SERVICE 2
#define N_SOURCES (N_SERVICES * INSTANCES_PER_SERVICE)

typedef struct service_def {
  const char *name;
  const char *roots[3];    /* SERVER operations */
  const char *children[6]; /* CLIENT (outbound, db) and INTERNAL operations */
} service_def;

static const service_def k_services[N_SERVICES] = {
    {"frontend",
     {"GET /api/cart", "POST /api/checkout", "GET /api/products/{id}"},
     {"HTTP GET cart", "HTTP POST checkout", "HTTP GET catalog", "render cart", "redis GET session",
      "auth.VerifyToken"}},
    {"cart",
     {"CartService/GetCart", "CartService/AddItem", "CartService/EmptyCart"},
     {"SELECT cart_items", "INSERT cart_items", "redis GET cart", "redis SET cart", "cart.Price", "HTTP GET catalog"}},
    {"checkout",
     {"CheckoutService/PlaceOrder", "CheckoutService/Quote", "GET /healthz"},
     {"INSERT orders", "SELECT orders", "HTTP POST payments", "kafka.produce orders", "checkout.Validate",
      "HTTP POST shipping"}},
    {"payments",
     {"PaymentService/Charge", "PaymentService/Refund", "GET /healthz"},
     {"SELECT accounts", "UPDATE accounts", "HTTP POST stripe", "fraud.Score", "redis INCR ratelimit",
      "INSERT ledger"}},
};

static const char *const k_methods[] = {"GET", "POST", "GET", "GET", "PUT", "DELETE"};
static const char *const k_routes[] = {"/api/cart",        "/api/checkout", "/api/products/{id}",
                                       "/api/orders/{id}", "/healthz",      "/api/users/{id}/cart"};
static const char *const k_peers[] = {"cart.svc.cluster.local",      "checkout.svc.cluster.local",
                                      "payments.svc.cluster.local",  "postgres-0.db.internal",
                                      "redis-master.cache.internal", "api.stripe.com"};
static const char *const k_db_systems[] = {"postgresql", "redis", "postgresql", "mysql"};
static const char *const k_statements[] = {
    "SELECT id, user_id, sku, quantity, price_cents FROM cart_items WHERE user_id = $1 LIMIT 100",
    "INSERT INTO orders (id, user_id, total_cents, currency, created_at) VALUES ($1, $2, $3, $4, now())",
    "UPDATE accounts SET balance_cents = balance_cents - $1, updated_at = now() WHERE id = $2",
    "SELECT o.id, o.total_cents, o.status FROM orders o WHERE o.user_id = $1 ORDER BY created_at DESC",
};
static const char *const k_regions[] = {"eu-west-1", "eu-central-1", "us-east-1", "us-west-2"};
static const char *const k_hosts[] = {"node-a1", "node-a2", "node-b1", "node-b2",
                                      "node-c1", "node-c2", "node-d1", "node-d2"};

/* Operation ids: (service, name) in first-seen order, as the server would
 * assign them. */
static uint32_t op_id(bi_corpus *c, const char *service, const char *name) {
  for (size_t i = 0; i < c->n_ops; i++)
    if (c->ops[i].service == service && c->ops[i].name == name) return (uint32_t)i + 1;
  c->ops[c->n_ops].service = service;
  c->ops[c->n_ops].name = name;
  return (uint32_t)++c->n_ops;
}

/* Log-uniform in [lo, hi]: most spans short, a long tail of slow ones. */
static int64_t log_uniform(uint64_t *st, double lo, double hi) {
  return (int64_t)exp(log(lo) + rand01(st) * (log(hi) - log(lo)));
}

/* ---- sources and the scope ---------------------------------------------- */

static int build_sources(bi_corpus *c, uint64_t *st) {
  c->sources = calloc(N_SOURCES, sizeof *c->sources);
  if (!c->sources) return -1;
  c->n_sources = N_SOURCES;
  for (size_t i = 0; i < N_SOURCES; i++) {
    bi_source *s = &c->sources[i];
    char inst[40];
    uint64_t a = bi_rand64(st), b = bi_rand64(st);
    /* A v4 UUID, as SDKs make for service.instance.id. */
    snprintf(inst, sizeof inst, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32), (unsigned)(a >> 16) & 0xffff,
             (unsigned)a & 0xfff, (unsigned)(0x8000 | ((b >> 48) & 0x3fff)),
             (unsigned long long)(b & 0xffffffffffffULL));
    s->service = k_services[i / INSTANCES_PER_SERVICE].name;
    s->instance = strdup(inst);
    s->host = k_hosts[i];
    s->pid = 1000 + (int64_t)rand_below(st, 60000);
    if (!s->instance) return -1;
  }
  return 0;
}

static Opentelemetry__Proto__Resource__V1__Resource *make_resource(arena *a, const bi_source *s) {
  Opentelemetry__Proto__Resource__V1__Resource *r = aalloc(a, sizeof *r);
  opentelemetry__proto__resource__v1__resource__init(r);
  r->n_attributes = 7;
  r->attributes = aalloc(a, r->n_attributes * sizeof *r->attributes);
  r->attributes[0] = kv_str(a, "service.name", s->service);
  r->attributes[1] = kv_str(a, "service.instance.id", s->instance);
  r->attributes[2] = kv_str(a, "host.name", s->host);
  r->attributes[3] = kv_int(a, "process.pid", s->pid);
  r->attributes[4] = kv_str(a, "service.version", "1.14.2");
  r->attributes[5] = kv_str(a, "telemetry.sdk.language", "go");
  r->attributes[6] = kv_str(a, "telemetry.sdk.version", "1.21.0");
  return r;
}

static Opentelemetry__Proto__Common__V1__InstrumentationScope *make_scope(arena *a) {
  Opentelemetry__Proto__Common__V1__InstrumentationScope *sc = aalloc(a, sizeof *sc);
  opentelemetry__proto__common__v1__instrumentation_scope__init(sc);
  sc->name = "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp";
  sc->version = "0.46.1";
  return sc;
}

/* The stored forms the server keeps in sources.resource and scopes.body. */
static int build_stored_blobs(bi_corpus *c, arena *a) {
  for (size_t i = 0; i < c->n_sources; i++) {
    Meanwhile__Store__V1__StoredResource sr = MEANWHILE__STORE__V1__STORED_RESOURCE__INIT;
    sr.resource = make_resource(a, &c->sources[i]);
    sr.schema_url = "https://opentelemetry.io/schemas/1.21.0";
    size_t n = meanwhile__store__v1__stored_resource__get_packed_size(&sr);
    c->sources[i].resource = malloc(n);
    if (!c->sources[i].resource) return -1;
    c->sources[i].resource_len = meanwhile__store__v1__stored_resource__pack(&sr, c->sources[i].resource);
  }
  Meanwhile__Store__V1__StoredScope ss = MEANWHILE__STORE__V1__STORED_SCOPE__INIT;
  ss.scope = make_scope(a);
  size_t n = meanwhile__store__v1__stored_scope__get_packed_size(&ss);
  c->scope = malloc(n);
  if (!c->scope) return -1;
  c->scope_len = meanwhile__store__v1__stored_scope__pack(&ss, c->scope);
  return 0;
}

/* ---- one span ---------------------------------------------------------- */

typedef struct span_plan {
  uint8_t trace_id[16], span_id[8], parent_id[8];
  int parent;
  int64_t start, dur;
} span_plan;

static Span *make_span(arena *a, uint64_t *st, const span_plan *p, int is_root, const char *name, int kind, int error) {
  Span *s = aalloc(a, sizeof *s);
  opentelemetry__proto__trace__v1__span__init(s);
  s->trace_id.len = 16;
  s->trace_id.data = (uint8_t *)p->trace_id;
  s->span_id.len = 8;
  s->span_id.data = (uint8_t *)p->span_id;
  if (!is_root) {
    s->parent_span_id.len = 8;
    s->parent_span_id.data = (uint8_t *)p->parent_id;
  }
  s->flags = 0x101; /* sampled; is-remote known (not remote) */
  s->name = (char *)name;
  s->kind = kind;
  s->start_time_unix_nano = (uint64_t)p->start;
  s->end_time_unix_nano = (uint64_t)(p->start + p->dur);

  char user[24];
  snprintf(user, sizeof user, "u-%06u", (unsigned)rand_below(st, 500000));
  int code = error ? 500 : (rand_below(st, 20) == 0 ? 404 : 200);
  s->n_attributes = 10;
  s->attributes = aalloc(a, s->n_attributes * sizeof *s->attributes);
  s->attributes[0] = kv_str(a, "http.method", k_methods[rand_below(st, 6)]);
  s->attributes[1] = kv_str(a, "http.route", k_routes[rand_below(st, 6)]);
  s->attributes[2] = kv_int(a, "http.status_code", code);
  s->attributes[3] = kv_str(a, "net.peer.name", k_peers[rand_below(st, 6)]);
  s->attributes[4] = kv_str(a, "db.system", k_db_systems[rand_below(st, 4)]);
  s->attributes[5] = kv_str(a, "db.statement", k_statements[rand_below(st, 4)]);
  s->attributes[6] = kv_double(a, "cache.hit_ratio", rand01(st));
  s->attributes[7] = kv_bool(a, "cache.hit", rand_below(st, 3) != 0);
  s->attributes[8] = kv_str(a, "user.id", astrdup(a, user));
  s->attributes[9] = kv_str(a, "cloud.region", k_regions[rand_below(st, 4)]);

  if (error) {
    s->status = aalloc(a, sizeof *s->status);
    opentelemetry__proto__trace__v1__status__init(s->status);
    s->status->code = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
    s->status->message = "upstream connect error: connection reset by peer";
    Opentelemetry__Proto__Trace__V1__Span__Event *ev = aalloc(a, sizeof *ev);
    opentelemetry__proto__trace__v1__span__event__init(ev);
    ev->time_unix_nano = (uint64_t)(p->start + p->dur / 2);
    ev->name = "exception";
    ev->n_attributes = 2;
    ev->attributes = aalloc(a, 2 * sizeof *ev->attributes);
    ev->attributes[0] = kv_str(a, "exception.type", "*net.OpError");
    ev->attributes[1] =
        kv_str(a, "exception.message", "read tcp 10.0.3.7:41822->10.0.5.2:5432: connection reset by peer");
    s->n_events = 1;
    s->events = aalloc(a, sizeof *s->events);
    s->events[0] = ev;
  }
  return s;
}

/* The body column: the span with the column fields cleared, packed. */
static int pack_body(Span *s, bi_span *out) {
  Span b = *s;
  b.trace_id.len = 0;
  b.span_id.len = 0;
  b.parent_span_id.len = 0;
  b.name = (char *)protobuf_c_empty_string;
  b.kind = 0;
  b.start_time_unix_nano = 0;
  b.end_time_unix_nano = 0;
  Opentelemetry__Proto__Trace__V1__Status st;
  if (s->status) {
    st = *s->status;
    st.code = 0;
    b.status = st.message[0] ? &st : NULL;
  }
  size_t n = opentelemetry__proto__trace__v1__span__get_packed_size(&b);
  out->body = malloc(n ? n : 1);
  if (!out->body) return -1;
  out->body_len = opentelemetry__proto__trace__v1__span__pack(&b, out->body);
  return 0;
}

/* Finds tag+value (an id or a fixed64) at or after from; the value's offset
 * goes to *off. The first hit is the field we want: the caller searches from
 * the start of the span it is looking at, and a random 8-byte value turning up
 * by chance earlier in that span is a 2^-64 event; the caller also checks that
 * the offsets found have the layout protobuf-c gives a span. */
static int find_field(const uint8_t *buf, size_t len, size_t from, uint8_t tag, uint8_t lenbyte, const uint8_t *val,
                      size_t vlen, uint32_t *off) {
  uint8_t pat[24];
  size_t plen = 0;
  pat[plen++] = tag;
  if (lenbyte) pat[plen++] = lenbyte;
  memcpy(pat + plen, val, vlen);
  plen += vlen;
  const uint8_t *hit = memmem(buf + from, len - from, pat, plen);
  if (!hit) return -1;
  *off = (uint32_t)(hit - buf) + (uint32_t)(plen - vlen);
  return 0;
}

/* ---- one batch ---------------------------------------------------------- */

static int build_batch(bi_corpus *c, bi_batch *b, size_t index, uint32_t n_spans, uint32_t per_trace, uint64_t *st,
                       arena *a) {
  const bi_source *src = &c->sources[index % c->n_sources];
  const service_def *svc = &k_services[(index % c->n_sources) / INSTANCES_PER_SERVICE];
  b->source_id = (uint32_t)(index % c->n_sources) + 1;
  b->n_spans = n_spans;
  b->n_traces = (n_spans + per_trace - 1) / per_trace;
  b->spans = calloc(n_spans, sizeof *b->spans);
  span_plan *plan = aalloc(a, n_spans * sizeof *plan);
  if (!b->spans) return -1;

  Opentelemetry__Proto__Trace__V1__ScopeSpans ss = OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
  ss.scope = make_scope(a);
  ss.n_spans = n_spans;
  ss.spans = aalloc(a, n_spans * sizeof *ss.spans);
  for (uint32_t i = 0; i < n_spans; i++) {
    uint32_t t = i / per_trace, j = i % per_trace, first = t * per_trace;
    span_plan *p = &plan[i];
    bi_span *bs = &b->spans[i];
    uint64_t r;
    r = bi_rand64(st);
    memcpy(p->span_id, &r, 8);
    if (j == 0) {
      r = bi_rand64(st);
      memcpy(p->trace_id, &r, 8);
      r = bi_rand64(st);
      memcpy(p->trace_id + 8, &r, 8);
      p->parent = -1;
      p->dur = log_uniform(st, 50e3, 500e6);
      /* Ended within the last ~10 s, as a batch exporter would send it. */
      p->start = c->base_ns - p->dur - (int64_t)rand_below(st, 10000000000ULL);
    } else {
      memcpy(p->trace_id, plan[first].trace_id, 16);
      p->parent = (int)(first + rand_below(st, j));
      const span_plan *pp = &plan[p->parent];
      memcpy(p->parent_id, pp->span_id, 8);
      int64_t off = (int64_t)(rand01(st) * 0.6 * (double)pp->dur);
      p->start = pp->start + off;
      int64_t room = pp->dur - off;
      p->dur = log_uniform(st, 50e3, 500e6);
      if (p->dur > room) p->dur = room > 1000 ? room : 1000;
    }
    int is_root = j == 0;
    const char *name = is_root ? svc->roots[rand_below(st, 3)] : svc->children[rand_below(st, 6)];
    int kind;
    if (is_root) kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER;
    else if (strchr(name, ' ')) /* "HTTP ...", "SELECT ...", "redis ...": outbound calls */
      kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CLIENT;
    else kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_INTERNAL;
    int error = rand_below(st, 100) < 3;
    Span *s = make_span(a, st, p, is_root, name, kind, error);
    ss.spans[i] = s;
    bs->trace = (uint16_t)t;
    bs->parent = (int16_t)p->parent;
    bs->start_ns = p->start;
    bs->dur_ns = p->dur;
    bs->kind = kind;
    bs->status = error ? 2 : 0;
    bs->op_id = op_id(c, svc->name, name);
    if (pack_body(s, bs) != 0) return -1;
  }

  Opentelemetry__Proto__Trace__V1__ResourceSpans rs = OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
  Opentelemetry__Proto__Trace__V1__ScopeSpans *ssp = &ss;
  rs.resource = make_resource(a, src);
  rs.schema_url = "https://opentelemetry.io/schemas/1.21.0";
  rs.n_scope_spans = 1;
  rs.scope_spans = &ssp;
  Opentelemetry__Proto__Trace__V1__ResourceSpans *rsp = &rs;
  Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest req =
      OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
  req.n_resource_spans = 1;
  req.resource_spans = &rsp;
  size_t n = opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(&req);
  b->data = malloc(n);
  if (!b->data) return -1;
  b->len = opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(&req, b->data);

  /* Spans are packed in order and each span's fields in field-number order,
   * so every search starts at the previous span's position. */
  size_t cursor = 0;
  for (uint32_t i = 0; i < n_spans; i++) {
    span_plan *p = &plan[i];
    bi_span *bs = &b->spans[i];
    uint8_t t0[8], t1[8];
    put64(t0, (uint64_t)p->start);
    put64(t1, (uint64_t)(p->start + p->dur));
    if (find_field(b->data, b->len, cursor, 0x12, 8, p->span_id, 8, &bs->span_off) ||
        find_field(b->data, b->len, cursor, 0x0A, 16, p->trace_id, 16, &bs->trace_off) ||
        bs->trace_off + 16 + 2 != bs->span_off ||
        (bs->parent >= 0 && find_field(b->data, b->len, bs->span_off, 0x22, 8, p->parent_id, 8, &bs->parent_off)) ||
        find_field(b->data, b->len, bs->span_off, 0x39, 0, t0, 8, &bs->start_off) ||
        find_field(b->data, b->len, bs->start_off, 0x41, 0, t1, 8, &bs->end_off) ||
        (bs->parent >= 0 && bs->parent_off > bs->start_off) || bs->start_off + 9 != bs->end_off) {
      fprintf(stderr, "bench-ingest: cannot locate the ids of span %u in batch %zu\n", i, index);
      return -1;
    }
    cursor = bs->span_off;
  }
  return 0;
}

int bi_corpus_build(bi_corpus *c, size_t n_batches, uint32_t spans_per_batch, uint32_t spans_per_trace, uint64_t seed) {
  memset(c, 0, sizeof *c);
  if (spans_per_batch == 0 || spans_per_batch > 1024 || spans_per_trace == 0 ||
      (spans_per_batch + spans_per_trace - 1) / spans_per_trace > 64) {
    fprintf(stderr, "bench-ingest: batch of 1..1024 spans and at most 64 traces, please\n");
    return -1;
  }
  uint64_t st = seed;
  arena a = {0};
  a.cap = (size_t)spans_per_batch * 4096 + (1 << 20);
  a.p = malloc(a.cap);
  c->batches = calloc(n_batches, sizeof *c->batches);
  c->ops = calloc(N_SERVICES * 9, sizeof *c->ops);
  c->base_ns = bi_now_ns();
  if (!a.p || !c->batches || !c->ops || build_sources(c, &st) != 0) goto fail;
  if (build_stored_blobs(c, &a) != 0) goto fail;
  c->n_batches = n_batches;
  for (size_t i = 0; i < n_batches; i++) {
    a.used = 0;
    if (build_batch(c, &c->batches[i], i, spans_per_batch, spans_per_trace, &st, &a) != 0) goto fail;
    c->bytes += c->batches[i].len;
  }
  free(a.p);
  return 0;
fail:
  free(a.p);
  bi_corpus_free(c);
  return -1;
}

void bi_corpus_free(bi_corpus *c) {
  for (size_t i = 0; c->batches && i < c->n_batches; i++) {
    bi_batch *b = &c->batches[i];
    for (uint32_t j = 0; b->spans && j < b->n_spans; j++) free(b->spans[j].body);
    free(b->spans);
    free(b->data);
  }
  free(c->batches);
  for (size_t i = 0; c->sources && i < c->n_sources; i++) {
    free((char *)c->sources[i].instance);
    free(c->sources[i].resource);
  }
  free(c->sources);
  free(c->ops);
  free(c->scope);
  for (size_t i = 0; i < c->n_owned; i++) free(c->owned[i]);
  free(c->owned);
  memset(c, 0, sizeof *c);
}

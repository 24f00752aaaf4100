/* bench-corpus-gen: a realistic OTLP trace corpus (see README.md).
 *
 * A shop of eight Go services is simulated request by request: each request
 * that reaches the frontend becomes a trace whose spans carry what otelhttp,
 * otelgrpc, otelsql, redisotel and otelsarama put on them, with values drawn
 * from populations of real cardinality (users, sessions, products, orders,
 * client addresses and ports, SQL with literals). Each service instance has a
 * batch span processor as the OTel Go SDK's (up to 512 spans, or 5 s): its
 * batches go out in the order they would, each one ExportTraceServiceRequest.
 *
 * Output: records of [u32 LE length][u32 LE span count][request bytes]. The
 * same seed and base time give the same bytes. */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Trace__V1__Span Span;
typedef Opentelemetry__Proto__Trace__V1__Span__Event Event;
typedef Opentelemetry__Proto__Trace__V1__Span__Link Link;

enum { K_INTERNAL = 1, K_SERVER = 2, K_CLIENT = 3, K_PRODUCER = 4, K_CONSUMER = 5 };
enum { MAX_ATTRS = 24, MAX_EVENTS = 8, MAX_TRACE_SPANS = 2048 };

/* ---- randomness ----------------------------------------------------------- */

static uint64_t rng;
static uint64_t next64(void) {
  rng += 0x9e3779b97f4a7c15ULL;
  uint64_t z = rng;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
static uint64_t mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
static double u01(void) { return (double)(next64() >> 11) / 9007199254740992.0; }
static uint64_t below(uint64_t n) { return next64() % n; }
static int chance(double p) { return u01() < p; }
/* A skewed pick in [0, n): small indexes are popular (about a power law). */
static uint64_t skewed(uint64_t n, double a) {
  uint64_t i = (uint64_t)((double)n * pow(u01(), a));
  return i < n ? i : n - 1;
}
/* Log-normal duration around median_us, in ns. */
static int64_t lognorm_ns(double median_us, double sigma) {
  double u1 = u01(), u2 = u01();
  double z = sqrt(-2 * log(u1 > 1e-12 ? u1 : 1e-12)) * cos(2 * M_PI * u2);
  return (int64_t)(median_us * 1000 * exp(sigma * z));
}

/* ---- arena for one trace's protobuf-c trees -------------------------------- */

static char *ar_p;
static size_t ar_used, ar_cap;
static void *aalloc(size_t n) {
  n = (n + 15) & ~(size_t)15;
  if (ar_used + n > ar_cap) {
    fprintf(stderr, "bench-corpus-gen: trace arena exhausted\n");
    exit(1);
  }
  void *r = ar_p + ar_used;
  ar_used += n;
  memset(r, 0, n);
  return r;
}
static char *afmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *afmt(const char *fmt, ...) {
  char buf[8192];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  if ((size_t)n >= sizeof buf) n = sizeof buf - 1;
  char *r = aalloc((size_t)n + 1);
  memcpy(r, buf, (size_t)n);
  return r;
}

/* ---- services, instances, scopes ------------------------------------------- */

enum { SC_HTTP, SC_GRPC, SC_SQL, SC_REDIS, SC_KAFKA, SC_APP, N_SCOPES };
static const char *const scope_name[N_SCOPES] = {
    "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp",
    "go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc",
    "github.com/XSAM/otelsql",
    "github.com/redis/go-redis/extra/redisotel",
    "go.opentelemetry.io/contrib/instrumentation/github.com/IBM/sarama/otelsarama",
    NULL, /* the service's own tracer: "shop/<service>" */
};
static const char *const scope_version[N_SCOPES] = {"0.49.0", "0.49.0", "0.29.0", "9.5.1", "0.49.0", ""};

enum { S_FRONTEND, S_CATALOG, S_CART, S_CHECKOUT, S_PAYMENTS, S_USERS, S_SHIPPING, S_NOTIFY, N_SVC };
static const char *const svc_name[N_SVC] = {"frontend", "catalog", "cart",     "checkout",
                                            "payments", "users",   "shipping", "notifications"};
static const int svc_instances[N_SVC] = {4, 3, 3, 2, 2, 2, 2, 1};
static const char *const svc_version[2][N_SVC] = {
    {"2.14.3", "1.8.0", "3.2.1", "1.19.4", "0.31.2", "4.0.7", "1.3.0", "0.9.12"},
    {"2.15.0", "1.9.0", "3.2.2", "1.20.0", "0.31.3", "4.1.0", "1.3.1", "0.10.0"},
};

enum { MAX_SOURCES = 64, BATCH_MAX = 512 };
static const int64_t BATCH_DELAY_NS = 5000000000LL;

typedef struct pending_span {
  int scope;
  uint8_t *bytes;
  size_t len;
} pending_span;

typedef struct source {
  int svc, gen;
  char instance[40], host[64], pod[64], ip[20];
  int64_t pid;
  uint8_t *resource; /* packed Resource */
  size_t resource_len;
  pending_span *buf;
  size_t n;
  int64_t first_end; /* end time of the oldest span waiting */
} source;

static source sources[MAX_SOURCES];
static int n_sources;
static int svc_src[2][N_SVC][8]; /* [gen][svc][i] -> source index */
static uint8_t *scope_bytes[N_SVC][N_SCOPES];
static size_t scope_len[N_SVC][N_SCOPES];

static KeyValue *kv_s(const char *k, const char *v) {
  KeyValue *kv = aalloc(sizeof *kv);
  opentelemetry__proto__common__v1__key_value__init(kv);
  kv->key = (char *)k;
  kv->value = aalloc(sizeof *kv->value);
  opentelemetry__proto__common__v1__any_value__init(kv->value);
  kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
  kv->value->string_value = (char *)v;
  return kv;
}
static KeyValue *kv_i(const char *k, int64_t v) {
  KeyValue *kv = kv_s(k, "");
  kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
  kv->value->int_value = v;
  return kv;
}
static KeyValue *kv_d(const char *k, double v) {
  KeyValue *kv = kv_s(k, "");
  kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
  kv->value->double_value = v;
  return kv;
}
static KeyValue *kv_b(const char *k, int v) {
  KeyValue *kv = kv_s(k, "");
  kv->value->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
  kv->value->bool_value = v != 0;
  return kv;
}

static void uuid4(char out[40]) {
  uint64_t a = next64(), b = next64();
  snprintf(out, 40, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32), (unsigned)(a >> 16) & 0xffff,
           (unsigned)a & 0xfff, (unsigned)(0x8000 | ((b >> 48) & 0x3fff)), (unsigned long long)(b & 0xffffffffffffULL));
}

/* What the OTel Go SDK's resource.Default() plus WithHost, WithProcess and
 * a Kubernetes detector put on a service's resource. */
static void make_source(int svc, int gen) {
  source *s = &sources[n_sources];
  s->svc = svc;
  s->gen = gen;
  uuid4(s->instance);
  static const char *const rs = "bcdfghjklmnpqrstvwxz2456789";
  char rnd[6];
  for (int i = 0; i < 5; i++) rnd[i] = rs[below(27)];
  rnd[5] = 0;
  snprintf(s->pod, sizeof s->pod, "%s-%x-%s", svc_name[svc], (unsigned)(next64() & 0xfffffff), rnd);
  snprintf(s->host, sizeof s->host, "ip-10-0-%d-%d.eu-west-1.compute.internal", (int)below(8), (int)below(250) + 2);
  snprintf(s->ip, sizeof s->ip, "10.42.%d.%d", (int)below(16), (int)below(250) + 2);
  s->pid = 1; /* a container's main process */
  if (chance(0.3)) s->pid = 7 + (int64_t)below(40);
  ar_used = 0;
  Opentelemetry__Proto__Resource__V1__Resource r = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
  KeyValue *kv[20];
  size_t n = 0;
  kv[n++] = kv_s("service.name", svc_name[svc]);
  kv[n++] = kv_s("service.version", svc_version[gen][svc]);
  kv[n++] = kv_s("service.instance.id", s->instance);
  kv[n++] = kv_s("deployment.environment", "production");
  kv[n++] = kv_s("host.name", s->pod);
  kv[n++] = kv_s("host.arch", "amd64");
  kv[n++] = kv_s("os.type", "linux");
  kv[n++] = kv_i("process.pid", s->pid);
  kv[n++] = kv_s("process.executable.name", svc_name[svc]);
  kv[n++] = kv_s("process.executable.path", afmt("/app/%s", svc_name[svc]));
  kv[n++] = kv_s("process.owner", "nonroot");
  kv[n++] = kv_s("process.runtime.name", "go");
  kv[n++] = kv_s("process.runtime.version", gen ? "go1.23.4" : "go1.22.7");
  kv[n++] =
      kv_s("process.runtime.description", gen ? "go version go1.23.4 linux/amd64" : "go version go1.22.7 linux/amd64");
  kv[n++] = kv_s("telemetry.sdk.language", "go");
  kv[n++] = kv_s("telemetry.sdk.name", "opentelemetry");
  kv[n++] = kv_s("telemetry.sdk.version", gen ? "1.32.0" : "1.24.0");
  kv[n++] = kv_s("k8s.namespace.name", "shop");
  kv[n++] = kv_s("k8s.pod.name", s->pod);
  kv[n++] = kv_s("k8s.node.name", s->host);
  r.attributes = kv;
  r.n_attributes = n;
  s->resource_len = opentelemetry__proto__resource__v1__resource__get_packed_size(&r);
  s->resource = malloc(s->resource_len);
  opentelemetry__proto__resource__v1__resource__pack(&r, s->resource);
  s->buf = calloc(BATCH_MAX, sizeof *s->buf);
  n_sources++;
}

static void make_scopes(void) {
  for (int v = 0; v < N_SVC; v++)
    for (int k = 0; k < N_SCOPES; k++) {
      Opentelemetry__Proto__Common__V1__InstrumentationScope sc =
          OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
      char name[64];
      snprintf(name, sizeof name, "shop/%s", svc_name[v]);
      sc.name = (char *)(scope_name[k] ? scope_name[k] : name);
      sc.version = (char *)scope_version[k];
      scope_len[v][k] = opentelemetry__proto__common__v1__instrumentation_scope__get_packed_size(&sc);
      scope_bytes[v][k] = malloc(scope_len[v][k]);
      opentelemetry__proto__common__v1__instrumentation_scope__pack(&sc, scope_bytes[v][k]);
    }
}

/* ---- the output: batches as a batch span processor sends them -------------- */

static FILE *out;
static uint64_t spans_out, batches_out, bytes_out, max_spans, spans_made;

static size_t put_varint(uint8_t *p, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80) p[n++] = (uint8_t)(v | 0x80), v >>= 7;
  p[n++] = (uint8_t)v;
  return n;
}
static size_t varint_len(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) v >>= 7, n++;
  return n;
}
static size_t field_len(size_t len) { return 1 + varint_len(len) + len; }
static size_t put_field(uint8_t *p, int field, const void *data, size_t len) {
  size_t n = 0;
  p[n++] = (uint8_t)(field << 3 | 2);
  n += put_varint(p + n, len);
  if (!data) return n; /* the header only: the body follows */
  memcpy(p + n, data, len);
  return n + len;
}

static const char schema_url[] = "https://opentelemetry.io/schemas/1.24.0";

/* ExportTraceServiceRequest{resource_spans: [ResourceSpans{resource,
 * scope_spans: one per scope in first-seen order, schema_url}]} */
static void flush(source *s) {
  if (!s->n) return;
  size_t scope_body[N_SCOPES] = {0};
  int order[N_SCOPES], n_order = 0;
  for (size_t i = 0; i < s->n; i++) {
    int k = s->buf[i].scope;
    if (!scope_body[k]) {
      order[n_order++] = k;
      scope_body[k] = field_len(scope_len[s->svc][k]) + field_len(strlen(schema_url));
    }
    scope_body[k] += field_len(s->buf[i].len);
  }
  size_t rs_body = field_len(s->resource_len) + field_len(strlen(schema_url));
  for (int i = 0; i < n_order; i++) rs_body += field_len(scope_body[order[i]]);
  size_t total = field_len(rs_body);
  uint8_t *p = malloc(total), *q = p;
  q += put_field(q, 1, NULL, rs_body);
  q += put_field(q, 1, s->resource, s->resource_len);
  for (int i = 0; i < n_order; i++) {
    int k = order[i];
    q += put_field(q, 2, NULL, scope_body[k]);
    q += put_field(q, 1, scope_bytes[s->svc][k], scope_len[s->svc][k]);
    for (size_t j = 0; j < s->n; j++)
      if (s->buf[j].scope == k) q += put_field(q, 2, s->buf[j].bytes, s->buf[j].len);
    q += put_field(q, 3, schema_url, strlen(schema_url));
  }
  q += put_field(q, 3, schema_url, strlen(schema_url));
  if ((size_t)(q - p) != total) {
    fprintf(stderr, "bench-corpus-gen: framing error\n");
    exit(1);
  }
  uint8_t hdr[8];
  for (int i = 0; i < 4; i++) hdr[i] = (uint8_t)(total >> (8 * i)), hdr[4 + i] = (uint8_t)(s->n >> (8 * i));
  if (fwrite(hdr, 1, 8, out) != 8 || fwrite(p, 1, total, out) != total) {
    perror("bench-corpus-gen: write");
    exit(1);
  }
  free(p);
  for (size_t i = 0; i < s->n; i++) free(s->buf[i].bytes);
  spans_out += s->n;
  batches_out++;
  bytes_out += total + 8;
  s->n = 0;
}

/* ---- one trace ------------------------------------------------------------- */

typedef struct gspan {
  Span *pb;
  int src, scope;
  int64_t start, end;
} gspan;

static gspan tspans[MAX_TRACE_SPANS];
static int n_tspans;
static uint64_t trace_counter, span_counter, id_seed;
static int gen_now;   /* the deploy generation requests go to */
static int64_t t_now; /* the simulated time of the request being made */

static void put64le(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static int pick_source(int svc) { return svc_src[gen_now][svc][below((uint64_t)svc_instances[svc])]; }

static gspan *sp_new(int svc, int scope, const char *name, int kind, const gspan *parent, int64_t start) {
  if (n_tspans == MAX_TRACE_SPANS) {
    fprintf(stderr, "bench-corpus-gen: trace too large\n");
    exit(1);
  }
  gspan *g = &tspans[n_tspans++];
  Span *s = aalloc(sizeof *s);
  opentelemetry__proto__trace__v1__span__init(s);
  g->pb = s;
  g->scope = scope;
  /* a span runs in the process of its parent unless it is the entry of a
   * service (SERVER, CONSUMER) */
  if (parent && kind != K_SERVER && kind != K_CONSUMER && sources[parent->src].svc == svc) g->src = parent->src;
  else g->src = pick_source(svc);
  g->start = start;
  s->trace_id.len = 16;
  s->trace_id.data = aalloc(16);
  if (parent) memcpy(s->trace_id.data, parent->pb->trace_id.data, 16);
  else {
    put64le(s->trace_id.data, mix64(trace_counter++ ^ id_seed));
    put64le(s->trace_id.data + 8, next64());
  }
  s->span_id.len = 8;
  s->span_id.data = aalloc(8);
  uint64_t sid = mix64(span_counter++ ^ ~id_seed);
  put64le(s->span_id.data, sid ? sid : 1);
  if (parent) {
    s->parent_span_id.len = 8;
    s->parent_span_id.data = parent->pb->span_id.data;
  }
  /* has-is-remote known; remote when the parent is in another process */
  s->flags = 0x101 | (parent && sources[parent->src].svc != svc ? 0x200 : 0);
  s->name = (char *)name;
  s->kind = kind;
  s->start_time_unix_nano = (uint64_t)start;
  s->attributes = aalloc(MAX_ATTRS * sizeof *s->attributes);
  return g;
}

static void a_s(gspan *g, const char *k, const char *v) {
  if (g->pb->n_attributes < MAX_ATTRS) g->pb->attributes[g->pb->n_attributes++] = kv_s(k, v);
}
static void a_i(gspan *g, const char *k, int64_t v) {
  if (g->pb->n_attributes < MAX_ATTRS) g->pb->attributes[g->pb->n_attributes++] = kv_i(k, v);
}
static void a_d(gspan *g, const char *k, double v) {
  if (g->pb->n_attributes < MAX_ATTRS) g->pb->attributes[g->pb->n_attributes++] = kv_d(k, v);
}
static void a_b(gspan *g, const char *k, int v) {
  if (g->pb->n_attributes < MAX_ATTRS) g->pb->attributes[g->pb->n_attributes++] = kv_b(k, v);
}

static Event *ev_add(gspan *g, const char *name, int64_t t, int n_attrs) {
  Span *s = g->pb;
  if (!s->events) s->events = aalloc(MAX_EVENTS * sizeof *s->events);
  if (s->n_events == MAX_EVENTS) return NULL;
  Event *e = aalloc(sizeof *e);
  opentelemetry__proto__trace__v1__span__event__init(e);
  e->name = (char *)name;
  e->time_unix_nano = (uint64_t)t;
  e->attributes = aalloc((size_t)(n_attrs ? n_attrs : 1) * sizeof *e->attributes);
  s->events[s->n_events++] = e;
  return e;
}

static void sp_end(gspan *g, int64_t end) {
  if (end <= g->start) end = g->start + 1000;
  g->end = end;
  g->pb->end_time_unix_nano = (uint64_t)end;
}

static void sp_error(gspan *g, const char *desc) {
  Span *s = g->pb;
  s->status = aalloc(sizeof *s->status);
  opentelemetry__proto__trace__v1__status__init(s->status);
  s->status->code = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
  if (desc) s->status->message = (char *)desc;
}

/* span.RecordError(err, trace.WithStackTrace(withStack)): an "exception"
 * event, with the goroutine's stack as runtime/debug.Stack() prints it. */
static const char *const frames[][2] = {
    {"database/sql.(*DB).QueryContext", "/usr/local/go/src/database/sql/sql.go:1763"},
    {"github.com/jackc/pgx/v5/stdlib.(*Conn).QueryContext",
     "/go/pkg/mod/github.com/jackc/pgx/v5@v5.5.5/stdlib/sql.go:455"},
    {"github.com/XSAM/otelsql.(*otConn).QueryContext", "/go/pkg/mod/github.com/!x!s!a!m/otelsql@v0.29.0/conn.go:179"},
    {"net/http.(*Client).Do", "/usr/local/go/src/net/http/client.go:590"},
    {"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp.(*Transport).RoundTrip",
     "/go/pkg/mod/go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp@v0.49.0/transport.go:154"},
    {"github.com/redis/go-redis/v9.(*baseClient).process",
     "/go/pkg/mod/github.com/redis/go-redis/v9@v9.5.1/redis.go:386"},
    {"google.golang.org/grpc.(*ClientConn).Invoke", "/go/pkg/mod/google.golang.org/grpc@v1.62.1/call.go:35"},
    {"net/http.HandlerFunc.ServeHTTP", "/usr/local/go/src/net/http/server.go:2166"},
    {"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp.(*middleware).serveHTTP",
     "/go/pkg/mod/go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp@v0.49.0/handler.go:225"},
    {"net/http.(*ServeMux).ServeHTTP", "/usr/local/go/src/net/http/server.go:2688"},
    {"net/http.serverHandler.ServeHTTP", "/usr/local/go/src/net/http/server.go:3142"},
    {"net/http.(*conn).serve", "/usr/local/go/src/net/http/server.go:2044"},
};
static void record_error(gspan *g, int64_t t, const char *type, const char *msg, int with_stack) {
  Event *e = ev_add(g, "exception", t, 3);
  if (!e) return;
  e->attributes[e->n_attributes++] = kv_s("exception.type", type);
  e->attributes[e->n_attributes++] = kv_s("exception.message", msg);
  if (!with_stack) return;
  char buf[6000];
  const char *svc = svc_name[sources[g->src].svc];
  int n =
      snprintf(buf, sizeof buf,
               "goroutine %u [running]:\nruntime/debug.Stack()\n\t/usr/local/go/src/runtime/debug/stack.go:24 "
               "+0x5e\ngo.opentelemetry.io/otel/sdk/trace.recordStackTrace()\n\t/go/pkg/mod/go.opentelemetry.io/otel/"
               "sdk@v1.24.0/trace/span.go:486 +0x1c\ngo.opentelemetry.io/otel/sdk/trace.(*recordingSpan).RecordError("
               "0xc000%06x, {0xb2e3a0, 0xc000%06x}, {0xc000%06x, 0x1, 0x1})\n\t/go/pkg/mod/go.opentelemetry.io/otel/"
               "sdk@v1.24.0/trace/span.go:441 +0x2f5\n",
               (unsigned)(1000 + below(200000)), (unsigned)below(0xffffff), (unsigned)below(0xffffff),
               (unsigned)below(0xffffff));
  n += snprintf(
      buf + n, sizeof buf - (size_t)n,
      "github.com/acme/shop/%s/internal/store.(*Store).%s(0xc000%06x, {0xb34f18, 0xc000%06x}, 0x%x)\n\t/src/%s/"
      "internal/store/store.go:%d +0x%x\n",
      svc, chance(0.5) ? "Get" : "Put", (unsigned)below(0xffffff), (unsigned)below(0xffffff), (unsigned)below(100000),
      svc, 40 + (int)below(300), (unsigned)below(0x400));
  int depth = 4 + (int)below(8);
  for (int i = 0; i < depth && n < (int)sizeof buf - 400; i++) {
    int f = (int)below(sizeof frames / sizeof frames[0]);
    n += snprintf(buf + n, sizeof buf - (size_t)n, "%s(0xc000%06x, 0xc000%06x)\n\t%s +0x%x\n", frames[f][0],
                  (unsigned)below(0xffffff), (unsigned)below(0xffffff), frames[f][1], (unsigned)below(0x800));
  }
  snprintf(buf + n, sizeof buf - (size_t)n,
           "created by net/http.(*Server).Serve in goroutine 1\n\t/usr/local/go/src/"
           "net/http/server.go:3285 +0x4b4\n");
  e->attributes[e->n_attributes++] = kv_s("exception.stacktrace", afmt("%s", buf));
}

/* ---- the populations ------------------------------------------------------ */

enum { N_USERS = 250000, N_PRODUCTS = 20000, N_UA = 40 };
static const char *const user_agents[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 "
    "Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 "
    "Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile "
    "Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 "
    "Edg/130.0.0.0",
    "shop-ios/5.12.0 (iPhone15,3; iOS 18.1.1) CFNetwork/1568.200.51 Darwin/24.1.0",
    "shop-android/5.11.2 (Linux; U; Android 13; SM-S911B Build/TP1A.220624.014) okhttp/4.12.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "kube-probe/1.29",
};
static const char *const categories[] = {"shoes", "jackets", "bags",    "watches", "hats",
                                         "socks", "shirts",  "kitchen", "garden",  "toys"};
static const char *const currencies[] = {"EUR", "EUR", "EUR", "USD", "GBP", "CHF", "SEK"};

static int64_t user_id(void) { return 100000 + (int64_t)(mix64(skewed(N_USERS, 2.0) ^ 0x5555) % 9000000); }
/* Popularity moves: the hot products change every simulated minute. */
static int64_t product_id(void) {
  uint64_t epoch = (uint64_t)(t_now / 60000000000LL);
  return 1 + (int64_t)((skewed(N_PRODUCTS, 3.0) * 7919 + epoch * 1237) % N_PRODUCTS);
}
static const char *session_of(int64_t uid) {
  return afmt("%016" PRIx64 "%016" PRIx64, mix64((uint64_t)uid),
              mix64((uint64_t)uid ^ (uint64_t)(t_now / 3600000000000LL)));
}
static const char *client_ip(int64_t uid) {
  uint64_t h = mix64((uint64_t)uid * 31);
  return afmt("%d.%d.%d.%d", (int)(h % 200) + 20, (int)(h >> 8) % 256, (int)(h >> 16) % 256, (int)(h >> 24) % 254 + 1);
}

/* ---- instrumentation shapes ------------------------------------------------ */

/* semconv: generation 0 of the HTTP services emits the old http.* names
 * (otelhttp <= 0.49), generation 1 the stable ones (the deploy's drift). */
static void http_server_attrs(gspan *g, const char *method, const char *route, const char *target, int status,
                              const char *ua, const char *peer_ip, int64_t resp_size) {
  const source *s = &sources[g->src];
  const char *host = afmt("%s.shop.svc.cluster.local", svc_name[s->svc]);
  if (s->gen == 0) {
    a_s(g, "http.method", method);
    a_s(g, "http.scheme", "http");
    a_s(g, "net.host.name", host);
    a_i(g, "net.host.port", 8080);
    a_s(g, "net.sock.peer.addr", peer_ip);
    a_i(g, "net.sock.peer.port", 1024 + (int64_t)below(60000));
    a_s(g, "user_agent.original", ua);
    a_s(g, "http.target", target);
    a_s(g, "net.protocol.version", "1.1");
    a_s(g, "http.route", route);
    a_i(g, "http.status_code", status);
    a_i(g, "http.response_content_length", resp_size);
  } else {
    a_s(g, "http.request.method", method);
    a_s(g, "url.scheme", "http");
    a_s(g, "server.address", host);
    a_i(g, "server.port", 8080);
    a_s(g, "network.peer.address", peer_ip);
    a_i(g, "network.peer.port", 1024 + (int64_t)below(60000));
    a_s(g, "user_agent.original", ua);
    a_s(g, "client.address", peer_ip);
    a_s(g, "url.path", target);
    a_s(g, "network.protocol.version", "1.1");
    a_s(g, "http.route", route);
    a_i(g, "http.response.status_code", status);
    a_i(g, "http.response.body.size", resp_size);
  }
}

static void http_client_attrs(gspan *g, const char *method, const char *url, const char *host, int port, int status) {
  if (sources[g->src].gen == 0) {
    a_s(g, "http.method", method);
    a_s(g, "http.url", url);
    a_s(g, "net.peer.name", host);
    a_i(g, "net.peer.port", port);
    a_i(g, "http.status_code", status);
  } else {
    a_s(g, "http.request.method", method);
    a_s(g, "url.full", url);
    a_s(g, "server.address", host);
    a_i(g, "server.port", port);
    a_s(g, "network.protocol.version", "1.1");
    a_i(g, "http.response.status_code", status);
  }
}

static void grpc_attrs(gspan *g, const char *service, const char *method, int code, const char *peer, int64_t in_sz,
                       int64_t out_sz) {
  a_s(g, "rpc.system", "grpc");
  a_s(g, "rpc.service", service);
  a_s(g, "rpc.method", method);
  int server = (int)g->pb->kind == K_SERVER;
  a_s(g, server ? "net.sock.peer.addr" : "net.peer.name", peer);
  a_i(g, server ? "net.sock.peer.port" : "net.peer.port", server ? 1024 + (int64_t)below(60000) : 9090);
  a_i(g, "rpc.grpc.status_code", code);
  /* otelgrpc <= 0.49 adds a "message" event per message by default */
  int64_t t0 = g->start, t1 = g->end ? g->end : g->start;
  Event *e = ev_add(g, "message", t0 + 20000, 3);
  int sent_first = (int)g->pb->kind == K_CLIENT;
  e->attributes[e->n_attributes++] = kv_s("message.type", sent_first ? "SENT" : "RECEIVED");
  e->attributes[e->n_attributes++] = kv_i("message.id", 1);
  e->attributes[e->n_attributes++] = kv_i("message.uncompressed_size", sent_first ? out_sz : in_sz);
  e = ev_add(g, "message", t1 - 15000, 3);
  e->attributes[e->n_attributes++] = kv_s("message.type", sent_first ? "RECEIVED" : "SENT");
  e->attributes[e->n_attributes++] = kv_i("message.id", 1);
  e->attributes[e->n_attributes++] = kv_i("message.uncompressed_size", sent_first ? in_sz : out_sz);
}

/* otelsql: one span per call ("sql.conn.query", "sql.conn.exec", ...) and
 * one "sql.rows" span while the rows are read. Returns the end time. */
static int64_t sql_call(gspan *parent, int svc, const char *op, const char *stmt, int64_t t, double median_us, int rows,
                        int *failed) {
  gspan *g = sp_new(svc, SC_SQL, op, K_CLIENT, parent, t);
  a_s(g, "db.system", "postgresql");
  a_s(g, "db.name", afmt("%s", svc_name[svc]));
  a_s(g, "db.statement", stmt);
  a_s(g, "server.address", afmt("%s-db.shop.svc.cluster.local", svc_name[svc]));
  a_i(g, "server.port", 5432);
  int64_t d = lognorm_ns(median_us, 0.6);
  if (chance(0.004)) {
    d += 5000000000LL;
    sp_error(g, "context deadline exceeded");
    record_error(g, t + d, "context.deadlineExceededError", "context deadline exceeded", chance(0.5));
    if (failed) *failed = 1;
  } else if (failed && strncmp(stmt, "INSERT", 6) == 0 && chance(0.003)) {
    const char *m = "ERROR: duplicate key value violates unique constraint \"orders_pkey\" (SQLSTATE 23505)";
    sp_error(g, m);
    record_error(g, t + d, "*pgconn.PgError", m, chance(0.5));
    *failed = 1;
  }
  sp_end(g, t + d);
  t += d;
  if (rows > 0 && !g->pb->status) {
    gspan *r = sp_new(svc, SC_SQL, "sql.rows", K_CLIENT, parent, t);
    int64_t rd = 20000 + rows * lognorm_ns(15, 0.5);
    sp_end(r, t + rd);
    t += rd;
  }
  return t + 5000;
}

static int64_t redis_call(gspan *parent, int svc, const char *cmd, const char *stmt, int64_t t, int *failed) {
  gspan *g = sp_new(svc, SC_REDIS, cmd, K_CLIENT, parent, t);
  a_s(g, "db.system", "redis");
  a_s(g, "db.statement", stmt);
  a_s(g, "server.address", "redis-master.shop.svc.cluster.local");
  a_i(g, "server.port", 6379);
  a_i(g, "db.redis.database_index", 0);
  int64_t d = lognorm_ns(350, 0.5);
  if (chance(0.001)) {
    d += 3000000000LL;
    sp_error(g, "redis: connection pool timeout");
    record_error(g, t + d, "*errors.errorString", "redis: connection pool timeout", 0);
    if (failed) *failed = 1;
  }
  sp_end(g, t + d);
  return t + d + 3000;
}

/* ---- the services' handlers ---------------------------------------------- */

static int64_t catalog_get(gspan *caller, int64_t t, int64_t pid, const char *currency, int *failed);
static int64_t user_get(gspan *caller, int64_t t, int64_t uid, int *failed);

/* An otelhttp client span in caller's process and the server span of svc it
 * reaches; body runs inside the server span. */
typedef int64_t (*handler_fn)(gspan *server, int64_t t, void *arg, int *failed);
static int64_t http_call(gspan *caller, int svc, const char *method, const char *route, const char *path,
                         const char *query, int64_t t, handler_fn body, void *arg, int *failed) {
  int caller_svc = sources[caller->src].svc;
  const char *host = afmt("%s.shop.svc.cluster.local", svc_name[svc]);
  const char *url = afmt("http://%s:8080%s%s%s", host, path, query ? "?" : "", query ? query : "");
  gspan *c = sp_new(caller_svc, SC_HTTP, afmt("HTTP %s", method), K_CLIENT, caller, t);
  int64_t net = lognorm_ns(250, 0.4);
  gspan *s = sp_new(svc, SC_HTTP, afmt("%s %s", method, route), K_SERVER, c, t + net);
  int f = 0;
  int64_t end = body(s, t + net + 30000, arg, &f);
  end += lognorm_ns(40, 0.5);
  int status = f == 2 ? 404 : f ? 500 : 200; /* f == 2: not found */
  sp_end(s, end);
  http_server_attrs(s, method, route, afmt("%s%s%s", path, query ? "?" : "", query ? query : ""), status,
                    "Go-http-client/1.1", sources[c->src].ip, 200 + (int64_t)below(8000));
  if (f == 1) sp_error(s, NULL);
  end += net;
  sp_end(c, end);
  http_client_attrs(c, method, url, host, 8080, status);
  if (f) sp_error(c, NULL);
  if (f == 1) *failed = 1;
  return end + 2000;
}

static int64_t grpc_call(gspan *caller, int svc, const char *service, const char *method, int64_t t, handler_fn body,
                         void *arg, int *failed) {
  int caller_svc = sources[caller->src].svc;
  const char *full = afmt("%s/%s", service, method);
  gspan *c = sp_new(caller_svc, SC_GRPC, full, K_CLIENT, caller, t);
  int64_t net = lognorm_ns(180, 0.4);
  gspan *s = sp_new(svc, SC_GRPC, full, K_SERVER, c, t + net);
  int f = 0;
  int64_t end = body(s, t + net + 20000, arg, &f);
  end += lognorm_ns(30, 0.5);
  sp_end(s, end);
  int64_t in = 20 + (int64_t)below(400), outsz = 40 + (int64_t)below(4000);
  grpc_attrs(s, service, method, f ? 13 : 0, sources[c->src].ip, in, outsz);
  if (f) sp_error(s, "internal error");
  end += net;
  sp_end(c, end);
  grpc_attrs(c, service, method, f ? 13 : 0, afmt("%s:9090", svc_name[svc]), in, outsz);
  if (f) {
    sp_error(c, "internal error");
    *failed = 1;
  }
  return end + 2000;
}

typedef struct req {
  int64_t uid, pid, order;
  const char *currency;
  int n_items;
} req;

static int64_t h_catalog_get(gspan *s, int64_t t, void *arg, int *failed) {
  req *r = arg;
  a_s(s, "app.product.id", afmt("%" PRId64, r->pid));
  if (chance(0.015)) { /* a product that is gone: 404, an error for the client span only */
    *failed = 2;
    return sql_call(s, S_CATALOG, "sql.conn.query",
                    afmt("SELECT p.id FROM products p WHERE p.id = %" PRId64 " AND p.active = true", r->pid), t, 600, 0,
                    NULL);
  }
  int hit = chance(0.8);
  t = redis_call(s, S_CATALOG, "get", afmt("get product:%" PRId64 ":%s", r->pid, r->currency), t, failed);
  if (!hit) {
    t = sql_call(
        s, S_CATALOG, "sql.conn.query",
        afmt("SELECT p.id, p.sku, p.name, p.description, p.price_cents, p.currency, s.quantity FROM products p "
             "JOIN stock s ON s.product_id = p.id WHERE p.id = %" PRId64 " AND p.currency = '%s'",
             r->pid, r->currency),
        t, 900, 1, failed);
    t = redis_call(s, S_CATALOG, "set", afmt("set product:%" PRId64 ":%s ex 300", r->pid, r->currency), t, NULL);
  }
  a_b(s, "app.cache.hit", hit);
  return t + lognorm_ns(60, 0.5);
}

static int64_t catalog_get(gspan *caller, int64_t t, int64_t pid, const char *currency, int *failed) {
  req r = {.pid = pid, .currency = currency};
  return http_call(caller, S_CATALOG, "GET", "/api/products/{id}", afmt("/api/products/%" PRId64, pid),
                   afmt("currency=%s", currency), t, h_catalog_get, &r, failed);
}

static int64_t h_catalog_list(gspan *s, int64_t t, void *arg, int *failed) {
  (void)arg;
  const char *cat = categories[skewed(10, 1.5)];
  int page = (int)skewed(20, 3.0) + 1;
  t = sql_call(s, S_CATALOG, "sql.conn.query",
               afmt("SELECT id, sku, name, price_cents, currency FROM products WHERE category = '%s' AND active = true "
                    "ORDER BY popularity DESC LIMIT 24 OFFSET %d",
                    cat, (page - 1) * 24),
               t, 2500, 24, failed);
  a_s(s, "app.category", cat);
  a_i(s, "app.page", page);
  return t + lognorm_ns(200, 0.5);
}

static int64_t h_user_get(gspan *s, int64_t t, void *arg, int *failed) {
  req *r = arg;
  t = redis_call(s, S_USERS, "hgetall", afmt("hgetall user:%" PRId64, r->uid), t, failed);
  if (chance(0.3))
    t = sql_call(
        s, S_USERS, "sql.conn.query",
        afmt("SELECT id, email, display_name, country, tier, created_at FROM users WHERE id = %" PRId64, r->uid), t,
        700, 1, failed);
  return t + lognorm_ns(50, 0.5);
}

static int64_t user_get(gspan *caller, int64_t t, int64_t uid, int *failed) {
  req r = {.uid = uid};
  return http_call(caller, S_USERS, "GET", "/api/users/{id}", afmt("/api/users/%" PRId64, uid), NULL, t, h_user_get, &r,
                   failed);
}

static int64_t h_cart_get(gspan *s, int64_t t, void *arg, int *failed) {
  req *r = arg;
  gspan *app = sp_new(S_CART, SC_APP, "cart.Load", K_INTERNAL, s, t);
  a_i(app, "app.user.id", r->uid);
  int64_t u = redis_call(app, S_CART, "hgetall", afmt("hgetall cart:%" PRId64, r->uid), t + 10000, failed);
  if (chance(0.003)) { /* a bug: a recovered panic, logged with its stack */
    const char *m = "runtime error: index out of range [3] with length 3";
    sp_error(app, m);
    record_error(app, u, "runtime.boundsError", m, 1);
    *failed = 1;
  }
  a_i(app, "app.cart.items", r->n_items);
  sp_end(app, u + 8000);
  t = u + 10000;
  for (int i = 0; i < r->n_items; i++) t = catalog_get(s, t, product_id(), r->currency, failed);
  return t;
}

static int64_t h_cart_add(gspan *s, int64_t t, void *arg, int *failed) {
  req *r = arg;
  t = catalog_get(s, t, r->pid, r->currency, failed);
  t = redis_call(s, S_CART, "hset", afmt("hset cart:%" PRId64 " %" PRId64 " %d", r->uid, r->pid, 1 + (int)below(3)), t,
                 failed);
  t = redis_call(s, S_CART, "expire", afmt("expire cart:%" PRId64 " 2592000", r->uid), t, failed);
  return t;
}

static int64_t h_cart_empty(gspan *s, int64_t t, void *arg, int *failed) {
  req *r = arg;
  return redis_call(s, S_CART, "del", afmt("del cart:%" PRId64, r->uid), t, failed);
}

static int64_t h_pay(gspan *s, int64_t t, void *arg, int *failed) {
  req *r = arg;
  int64_t amount = 500 + (int64_t)below(50000);
  gspan *app = sp_new(S_PAYMENTS, SC_APP, "fraud.Score", K_INTERNAL, s, t);
  double score = u01();
  a_d(app, "app.fraud.score", score);
  a_s(app, "app.fraud.model", "gbt-2024-11");
  sp_end(app, t + lognorm_ns(1500, 0.5));
  t = app->end + 5000;
  t = sql_call(s, S_PAYMENTS, "sql.conn.begin_tx", "BEGIN", t, 200, 0, failed);
  t = sql_call(s, S_PAYMENTS, "sql.conn.query",
               "SELECT id, balance_cents, status FROM accounts WHERE user_id = $1 FOR UPDATE", t, 800, 1, failed);
  const char *url = "https://api.stripe.com/v1/payment_intents";
  gspan *c = sp_new(S_PAYMENTS, SC_HTTP, "HTTP POST", K_CLIENT, s, t);
  int64_t d = lognorm_ns(180000, 0.5);
  int declined = chance(0.02);
  http_client_attrs(c, "POST", url, "api.stripe.com", 443, declined ? 402 : 200);
  sp_end(c, t + d);
  t += d + 5000;
  if (declined) {
    const char *m = afmt("card_declined: Your card was declined. (request req_%012" PRIx64 ")",
                         (uint64_t)(next64() & 0xffffffffffffULL));
    sp_error(c, NULL);
    record_error(s, t, "*stripe.Error", m, chance(0.3));
    sp_error(s, m);
    *failed = 1;
    return sql_call(s, S_PAYMENTS, "sql.tx.rollback", "ROLLBACK", t, 150, 0, NULL);
  }
  t = sql_call(
      s, S_PAYMENTS, "sql.conn.exec",
      "INSERT INTO ledger (id, account_id, order_id, amount_cents, currency, created_at) VALUES ($1, $2, $3, $4, "
      "$5, now())",
      t, 900, 0, failed);
  t = sql_call(s, S_PAYMENTS, "sql.tx.commit", "COMMIT", t, 1500, 0, failed);
  a_i(s, "app.payment.amount_cents", amount);
  a_s(s, "app.payment.currency", r->currency);
  return t;
}

static int64_t h_ship_quote(gspan *s, int64_t t, void *arg, int *failed) {
  (void)arg;
  (void)failed;
  static const char *const carriers[] = {"dhl", "ups", "postnl", "dpd"};
  const char *carrier = carriers[below(4)];
  gspan *c = sp_new(S_SHIPPING, SC_HTTP, "HTTP GET", K_CLIENT, s, t);
  const char *zip = afmt("%05d", (int)below(99999));
  http_client_attrs(c, "GET",
                    afmt("https://api.%s.com/v2/rates?to=%s&weight=%d", carrier, zip, 100 + (int)below(20000)),
                    afmt("api.%s.com", carrier), 443, 200);
  sp_end(c, t + lognorm_ns(60000, 0.6));
  a_s(s, "app.shipping.carrier", carrier);
  return c->end + 5000;
}

static int64_t consume_order(int64_t t, const gspan *producer, int64_t order, int64_t uid);

static int64_t h_checkout(gspan *s, int64_t t, void *arg, int *failed) {
  req *r = arg;
  r->order = (int64_t)(mix64(next64()) >> 20);
  a_s(s, "app.order.id", afmt("ord_%013" PRIx64, r->order));
  a_i(s, "app.user.id", r->uid);
  t = grpc_call(s, S_CART, "shop.cart.v1.CartService", "GetCart", t, h_cart_get, r, failed);
  if (*failed) return t;
  gspan *v = sp_new(S_CHECKOUT, SC_APP, "checkout.Validate", K_INTERNAL, s, t);
  a_i(v, "app.cart.items", r->n_items);
  sp_end(v, t + lognorm_ns(300, 0.5));
  t = v->end + 2000;
  t = http_call(s, S_SHIPPING, "GET", "/api/quote", "/api/quote", afmt("items=%d&currency=%s", r->n_items, r->currency),
                t, h_ship_quote, r, failed);
  t = grpc_call(s, S_PAYMENTS, "shop.payments.v1.PaymentService", "Charge", t, h_pay, r, failed);
  if (*failed) return t;
  t = sql_call(
      s, S_CHECKOUT, "sql.conn.exec",
      afmt("INSERT INTO orders (id, user_id, total_cents, currency, items, status, created_at) VALUES ('ord_%013" PRIx64
           "', %" PRId64 ", %d, '%s', %d, 'paid', now())",
           r->order, r->uid, 500 + (int)below(50000), r->currency, r->n_items),
      t, 1200, 0, failed);
  gspan *p = sp_new(S_CHECKOUT, SC_KAFKA, "orders publish", K_PRODUCER, s, t);
  a_s(p, "messaging.system", "kafka");
  a_s(p, "messaging.destination.name", "orders");
  a_s(p, "messaging.operation", "publish");
  a_s(p, "messaging.kafka.message.key", afmt("ord_%013" PRIx64, r->order));
  a_i(p, "messaging.kafka.destination.partition", (int64_t)below(12));
  sp_end(p, t + lognorm_ns(2500, 0.5));
  t = p->end + 3000;
  consume_order(t + lognorm_ns(30000, 1.0), p, r->order, r->uid);
  t = grpc_call(s, S_CART, "shop.cart.v1.CartService", "EmptyCart", t, h_cart_empty, r, failed);
  return t;
}

/* The notification service reads the orders topic: a trace of its own whose
 * consumer span links to the producer's span (otelsarama's default). */
static int64_t consume_order(int64_t t, const gspan *producer, int64_t order, int64_t uid) {
  gspan *c = sp_new(S_NOTIFY, SC_KAFKA, "orders receive", K_CONSUMER, NULL, t);
  Link *l = aalloc(sizeof *l);
  opentelemetry__proto__trace__v1__span__link__init(l);
  l->trace_id = producer->pb->trace_id;
  l->span_id = producer->pb->span_id;
  l->flags = 0x301;
  c->pb->links = aalloc(sizeof *c->pb->links);
  c->pb->links[0] = l;
  c->pb->n_links = 1;
  a_s(c, "messaging.system", "kafka");
  a_s(c, "messaging.destination.name", "orders");
  a_s(c, "messaging.operation", "receive");
  a_s(c, "messaging.kafka.consumer.group", "notifications");
  a_i(c, "messaging.kafka.message.offset", (int64_t)(t / 1000000));
  a_s(c, "messaging.kafka.message.key", afmt("ord_%013" PRIx64, order));
  int64_t u = t + 20000;
  gspan *m = sp_new(S_NOTIFY, SC_HTTP, "HTTP POST", K_CLIENT, c, u);
  http_client_attrs(m, "POST", "https://api.sendgrid.com/v3/mail/send", "api.sendgrid.com", 443, 202);
  sp_end(m, u + lognorm_ns(90000, 0.5));
  gspan *a = sp_new(S_NOTIFY, SC_APP, "notify.OrderConfirmation", K_INTERNAL, c, m->end + 2000);
  a_i(a, "app.user.id", uid);
  a_s(a, "app.template", "order-confirmation-v3");
  sp_end(a, a->start + lognorm_ns(300, 0.5));
  sp_end(c, a->end + 4000);
  return c->end;
}

/* The entry: the frontend's otelhttp server span and what it does. */
static void request(int64_t t) {
  int64_t uid = user_id();
  const char *ua = user_agents[skewed(sizeof user_agents / sizeof user_agents[0], 2.0)];
  const char *ip = client_ip(uid);
  const char *currency = currencies[mix64((uint64_t)uid) % 7];
  double x = u01();
  const char *method = "GET", *route, *path;
  int kind;
  req r = {.uid = uid, .currency = currency, .n_items = (int)skewed(9, 1.5)};
  if (x < 0.10) kind = 0, route = path = "/healthz", ua = "kube-probe/1.29", ip = "10.0.0.1";
  else if (x < 0.48)
    kind = 1, route = "/api/products/{id}", r.pid = product_id(), path = afmt("/api/products/%" PRId64, r.pid);
  else if (x < 0.63) kind = 2, route = path = "/api/products";
  else if (x < 0.80) kind = 3, route = path = "/api/cart";
  else if (x < 0.91) kind = 4, method = "POST", route = path = "/api/cart/items", r.pid = product_id();
  else if (x < 0.96) kind = 5, method = "POST", route = path = "/api/checkout", r.n_items = 1 + (int)skewed(8, 1.5);
  else kind = 6, route = "/api/orders/{id}", path = afmt("/api/orders/ord_%013" PRIx64, mix64((uint64_t)uid) >> 20);

  gspan *s = sp_new(S_FRONTEND, SC_HTTP, afmt("%s %s", method, route), K_SERVER, NULL, t);
  int failed = 0;
  int64_t u = t + 15000;
  if (kind != 0) {
    gspan *auth = sp_new(S_FRONTEND, SC_APP, "auth.VerifySession", K_INTERNAL, s, u);
    int64_t v = redis_call(auth, S_FRONTEND, "get", afmt("get session:%s", session_of(uid)), u + 5000, &failed);
    a_i(auth, "app.user.id", uid);
    sp_end(auth, v + 3000);
    u = v + 5000;
  }
  const char *query = NULL;
  switch (kind) {
  case 1: u = catalog_get(s, u, r.pid, currency, &failed); break;
  case 2:
    query = afmt("category=%s&page=%d", categories[skewed(10, 1.5)], 1 + (int)skewed(20, 3.0));
    u = http_call(s, S_CATALOG, "GET", "/api/products", "/api/products", query, u, h_catalog_list, &r, &failed);
    break;
  case 3:
    u = user_get(s, u, uid, &failed);
    u = grpc_call(s, S_CART, "shop.cart.v1.CartService", "GetCart", u, h_cart_get, &r, &failed);
    break;
  case 4: u = grpc_call(s, S_CART, "shop.cart.v1.CartService", "AddItem", u, h_cart_add, &r, &failed); break;
  case 5:
    u = user_get(s, u, uid, &failed);
    u = grpc_call(s, S_CHECKOUT, "shop.checkout.v1.CheckoutService", "PlaceOrder", u, h_checkout, &r, &failed);
    break;
  case 6:
    u = http_call(s, S_USERS, "GET", "/api/users/{id}/orders/{order}", afmt("/api/users/%" PRId64 "/orders", uid), NULL,
                  u, h_user_get, &r, &failed);
    break;
  }
  if (kind == 1 || kind == 2 || kind == 3) {
    gspan *rd = sp_new(S_FRONTEND, SC_APP, "frontend.Render", K_INTERNAL, s, u);
    a_s(rd, "app.template", kind == 3 ? "cart.html" : "product.html");
    sp_end(rd, u + lognorm_ns(kind == 2 ? 2500 : 900, 0.6));
    u = rd->end;
  }
  sp_end(s, u + lognorm_ns(kind ? 80 : 30, 0.5));
  http_server_attrs(s, method, route, query ? afmt("%s?%s", path, query) : path, failed ? 500 : 200, ua, ip,
                    kind ? 500 + (int64_t)below(60000) : 2);
  if (kind) {
    a_i(s, "app.user.id", uid);
    a_s(s, "app.session.id", session_of(uid));
  }
  if (failed) sp_error(s, NULL);
}

/* ---- the run ----------------------------------------------------------------- */

static int cmp_end(const void *a, const void *b) {
  const gspan *x = a, *y = b;
  return (x->end > y->end) - (x->end < y->end);
}

/* Ended spans go to their process's batch span processor in end order. */
static void hand_over(void) {
  qsort(tspans, (size_t)n_tspans, sizeof tspans[0], cmp_end);
  for (int i = 0; i < n_tspans; i++) {
    gspan *g = &tspans[i];
    source *s = &sources[g->src];
    if (s->n == 0) s->first_end = g->end;
    size_t len = opentelemetry__proto__trace__v1__span__get_packed_size(g->pb);
    uint8_t *b = malloc(len);
    opentelemetry__proto__trace__v1__span__pack(g->pb, b);
    s->buf[s->n++] = (pending_span){g->scope, b, len};
    spans_made++;
    if (s->n == BATCH_MAX) flush(s);
  }
  n_tspans = 0;
}

static void tick(int64_t now) {
  for (int i = 0; i < n_sources; i++)
    if (sources[i].n && now - sources[i].first_end >= BATCH_DELAY_NS) flush(&sources[i]);
}

int main(int argc, char **argv) {
  uint64_t seed = 1;
  double rate = 400, deploy_at = 0.5;
  int64_t base = 1796083200LL * 1000000000LL; /* 2026-12-01T00:00:00Z */
  const char *path = NULL;
  max_spans = 1000000;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--spans") && v) max_spans = strtoull(v, NULL, 10), i++;
    else if (!strcmp(a, "--seed") && v) seed = strtoull(v, NULL, 10), i++;
    else if (!strcmp(a, "--rate") && v) rate = atof(v), i++;
    else if (!strcmp(a, "--deploy-at") && v) deploy_at = atof(v), i++;
    else if (!strcmp(a, "--base-ns") && v) base = strtoll(v, NULL, 10), i++;
    else if (!strcmp(a, "--out") && v) path = v, i++;
    else {
      fprintf(stderr, "usage: bench-corpus-gen --out FILE [--spans N (1000000)] [--seed N (1)] [--rate REQ/S (400)]\n"
                      "                        [--deploy-at FRACTION (0.5)] [--base-ns UNIX_NS (2026-12-01)]\n");
      return 2;
    }
  }
  if (!path || rate <= 0) return fprintf(stderr, "bench-corpus-gen: --out FILE, and --rate > 0\n"), 2;
  out = fopen(path, "wb");
  if (!out) return perror(path), 1;
  rng = seed * 0x2545f4914f6cdd1dULL + 1;
  id_seed = mix64(seed);
  ar_cap = 64 << 20;
  ar_p = malloc(ar_cap);
  for (int gen = 0; gen < 2; gen++)
    for (int v = 0; v < N_SVC; v++)
      for (int i = 0; i < svc_instances[v]; i++) svc_src[gen][v][i] = n_sources, make_source(v, gen);
  make_scopes();
  t_now = base;
  uint64_t requests = 0;
  while (spans_made < max_spans) {
    /* Poisson arrivals; the deploy switches new requests to generation 1 */
    t_now += (int64_t)(-log(1 - u01()) / rate * 1e9);
    gen_now = (double)spans_made >= deploy_at * (double)max_spans;
    ar_used = 0;
    request(t_now);
    requests++;
    hand_over();
    tick(t_now);
  }
  for (int i = 0; i < n_sources; i++) flush(&sources[i]);
  if (fclose(out) != 0) return perror(path), 1;
  fprintf(stderr,
          "bench-corpus-gen: %" PRIu64 " spans, %" PRIu64 " requests, %" PRIu64 " batches, %" PRIu64
          " bytes (%.1f B/span on the wire), %d sources, %.0f s of traffic\n",
          spans_out, requests, batches_out, bytes_out, (double)bytes_out / (double)spans_out, n_sources,
          (double)(t_now - base) / 1e9);
  printf("spans %" PRIu64 "\nrequests %" PRIu64 "\nbatches %" PRIu64 "\nbytes %" PRIu64 "\nsources %d\n", spans_out,
         requests, batches_out, bytes_out, n_sources);
  return 0;
}

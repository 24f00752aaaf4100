/* The query database generator: a meanwhiled data dir holding N spans, GC
 * cycles, goroutine snapshots and CPU profiles of 50 sources over H hours,
 * written straight into SQLite in the server's format.
 *
 * The schema is the server's: the migration files (schema/sql/NNNN_*.sql) run
 * in name order, each in its own transaction followed by the application_id
 * and user_version pragmas, exactly as mw__store_open does, so meanwhiled
 * opens the file as one of its own. For speed the secondary indexes of the
 * three big tables are dropped during the load and re-created afterwards from
 * their own CREATE statements (so they are still exactly the server's), the
 * load runs with synchronous=OFF and no journal, one transaction per 100,000
 * rows, and the file is switched to WAL at the end.
 *
 * Shape (see README.md): 10 services x 5 instances; 4 server operations and
 * 16 client/internal operations per service; traces of 5-15 spans, a tree
 * whose cross-service calls land in the callee's server operation on one
 * instance per service per trace; durations built bottom-up (a span lasts its
 * own log-normal self time plus its children, called one after the other or
 * in parallel) with a slow tail (1.2% of spans have a self time 5-60x their
 * usual); trace starts spread evenly over the range. Runtime data goes to the
 * same sources: GC cycles evenly spaced (~1 s apart per source at the default
 * sizes), goroutine snapshots (debug=0 pprof: kind goroutine, format pprof)
 * with ~20 groups, of which the ones of spans in flight at that instant carry
 * their span_id/trace_id labels, and CPU profiles (10 s windows) whose
 * labelled samples follow the on-CPU self time of the spans they overlap.
 * Spans are generated in start-time order and each source keeps a ring of
 * its recent spans, which is how a snapshot at time t finds what was in
 * flight without holding the whole data set in memory.
 *
 * Spans go into sealed blocks (span_blocks, block_ops, slow_spans, trace_runs:
 * migration 0008) as the server's writer seals them (docs/STORAGE-WIRING.md
 * §2): per source an open block, sealed before a span that would make it
 * hold more than 1,024 spans or widen its start range past 120 s, and once
 * it is 60 s old (in generated time, by trace start); each seal through the
 * server's own seal function (store/block_write.h); the trace keys of sealed
 * blocks flushed as a level-0 run every 10 minutes, and runs merged on the
 * writer's schedule (6 level-0 runs older than an hour into one of level 1,
 * 24 of level 1 older than a day into one of level 2). A span's slow
 * threshold is its operation's p90 over its latest 1,024 spans at the time
 * (INT64_MAX before it has 1,024). --old-spans writes `spans` rows instead,
 * as the server did before migration 0008 (and slow_spans from the final
 * thresholds), for the before figure.
 *
 * At the end, the p90 duration of every operation that has root spans is
 * read back from the database (nearest rank, all time), and every trace whose
 * root lasted at least that long is written to bench-query.meta, with flags
 * saying whether goroutine rows or CPU samples are labelled with its spans. */
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>
#include <zstd.h>

#include "core/bmap.h" /* mw__hash: stacks.hash is the server's hash of the frames */
#include "meanwhile/store/v1/store.pb-c.h"
#include "opentelemetry/proto/trace/v1/trace.pb-c.h"
#include "qbench.h"
#include "store/block_write.h"
#include "store/blocks.h"
#include "store/trace_runs.h"

typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;
typedef Opentelemetry__Proto__Trace__V1__Span Span;

enum {
  N_SVC = 10,
  N_INST = 5,
  N_SRC = N_SVC * N_INST,
  N_SERVER_OPS = 4,
  N_CHILD_OPS = 16,
  OPS_PER_SVC = N_SERVER_OPS + N_CHILD_OPS,
  N_OPS = N_SVC * OPS_PER_SVC,
  MIN_TRACE = 5,
  MAX_TRACE = 15,
  MAX_DEPTH = 5,
  RING = 8192,       /* recent spans kept per source (~15 min at the default rate) */
  BODY_VARIANTS = 4, /* encoded bodies per operation, plus one with an error */
  TXN_ROWS = 100000,
  MAX_LABELLED = 8, /* labelled goroutine groups per snapshot */
  N_PAYLOADS = 8,
};

static const int64_t MAX_DUR_NS = 30LL * 1000000000;
static const int64_t T0_NS = 1767571200LL * 1000000000; /* 2026-01-05T00:00:00Z: fixed, so a seed is a data set */
static const int64_t CPU_PERIOD_NS = 10000000;          /* 100 Hz */

/* ---- randomness, time, ids --------------------------------------------------- */

uint64_t qb_rand64(uint64_t *state) {
  *state += 0x9e3779b97f4a7c15ULL;
  uint64_t z = *state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

double qb_rand01(uint64_t *st) { return (double)(qb_rand64(st) >> 11) / 9007199254740992.0; }

static uint64_t below(uint64_t *st, uint64_t n) { return n ? qb_rand64(st) % n : 0; }

static double uniform(uint64_t *st, double a, double b) { return a + (b - a) * qb_rand01(st); }

static double normal(uint64_t *st) {
  double u = qb_rand01(st), v = qb_rand01(st);
  if (u < 1e-300) u = 1e-300;
  return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static double lognormal(uint64_t *st, double median, double sigma) { return median * exp(sigma * normal(st)); }

static size_t pick_weighted(uint64_t *st, const double *w, size_t n) {
  double sum = 0;
  for (size_t i = 0; i < n; i++) sum += w[i];
  double x = qb_rand01(st) * sum;
  for (size_t i = 0; i < n; i++) {
    if (x < w[i]) return i;
    x -= w[i];
  }
  return n - 1;
}

double qb_mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void qb_hex(const uint8_t *p, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  out[2 * n] = 0;
}

static uint64_t mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static void put64be(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* Trace k and span k of a data set: bijective mixes of k, unique and random-looking. */
static void trace_id(uint64_t seed, uint64_t k, uint8_t out[16]) {
  put64be(out, mix64(k ^ seed));
  put64be(out + 8, mix64(k + 0x5bd1e995ULL * (seed | 1)));
}

static void span_id(uint64_t seed, uint64_t k, uint8_t out[8]) {
  uint64_t v = mix64(k ^ ~seed);
  put64be(out, v ? v : 1);
}

/* ---- vocabulary ------------------------------------------------------------- */

enum op_class { C_SERVER, C_DB, C_CACHE, C_HTTP, C_MSG, C_INTERNAL, C_N };

typedef struct svc_def {
  const char *name, *noun, *proto_service; /* proto_service NULL: plain HTTP */
  const char *server_ops[N_SERVER_OPS];
  int callees[6]; /* -1 terminated */
  double root_weight;
} svc_def;

static const svc_def k_svc[N_SVC] = {
    {"frontend",
     "sessions",
     NULL,
     {"GET /api/products/{id}", "GET /", "POST /api/cart", "POST /api/checkout"},
     {4, 1, 2, 8, 9, -1},
     0.50},
    {"cart",
     "cart_items",
     "hipstershop.CartService",
     {"CartService/GetCart", "CartService/AddItem", "CartService/EmptyCart", "CartService/MergeCart"},
     {4, 7, -1},
     0.06},
    {"checkout",
     "orders",
     "hipstershop.CheckoutService",
     {"CheckoutService/PlaceOrder", "CheckoutService/Quote", "CheckoutService/GetOrder", "CheckoutService/CancelOrder"},
     {1, 3, 5, 6, 7, -1},
     0.08},
    {"payment",
     "payments",
     "hipstershop.PaymentService",
     {"PaymentService/Charge", "PaymentService/Authorize", "PaymentService/Capture", "PaymentService/Refund"},
     {7, -1},
     0.04},
    {"catalog",
     "products",
     "hipstershop.ProductCatalogService",
     {"CatalogService/GetProduct", "CatalogService/ListProducts", "CatalogService/SearchProducts",
      "CatalogService/GetCategories"},
     {-1},
     0.08},
    {"shipping",
     "shipments",
     "hipstershop.ShippingService",
     {"ShippingService/GetQuote", "ShippingService/ShipOrder", "ShippingService/Track", "ShippingService/ListCarriers"},
     {7, -1},
     0.04},
    {"email",
     "templates",
     "hipstershop.EmailService",
     {"EmailService/SendOrderConfirmation", "EmailService/SendShipped", "EmailService/Render",
      "EmailService/SendReset"},
     {-1},
     0.04},
    {"currency",
     "rates",
     "hipstershop.CurrencyService",
     {"CurrencyService/Convert", "CurrencyService/GetSupportedCurrencies", "CurrencyService/GetRates",
      "CurrencyService/Refresh"},
     {-1},
     0.06},
    {"recommendation",
     "affinities",
     "hipstershop.RecommendationService",
     {"RecommendationService/ListRecommendations", "RecommendationService/Similar", "RecommendationService/Trending",
      "RecommendationService/Personal"},
     {4, -1},
     0.05},
    {"ad",
     "campaigns",
     "hipstershop.AdService",
     {"AdService/GetAds", "AdService/Targeting", "AdService/Impression", "AdService/Click"},
     {-1},
     0.05},
};

static const double k_server_op_w[N_SERVER_OPS] = {0.4, 0.3, 0.2, 0.1};

typedef struct child_tpl {
  const char *fmt; /* %s: the service's noun (or name for internal ones) */
  enum op_class cls;
  int kind;       /* OTLP SpanKind */
  double self_ms; /* median self time */
  int use_name;
} child_tpl;

static const child_tpl k_child[N_CHILD_OPS] = {
    {"SELECT %s", C_DB, 3, 1.5, 0},           {"INSERT %s", C_DB, 3, 2.0, 0},
    {"UPDATE %s", C_DB, 3, 2.5, 0},           {"DELETE %s", C_DB, 3, 1.8, 0},
    {"redis GET %s", C_CACHE, 3, 0.3, 0},     {"redis SET %s", C_CACHE, 3, 0.35, 0},
    {"redis DEL %s", C_CACHE, 3, 0.3, 0},     {"HTTP GET %s-api", C_HTTP, 3, 6.0, 0},
    {"HTTP POST %s-api", C_HTTP, 3, 8.0, 0},  {"kafka.produce %s", C_MSG, 4, 1.2, 0},
    {"%s.Validate", C_INTERNAL, 1, 0.2, 1},   {"%s.Render", C_INTERNAL, 1, 1.5, 1},
    {"%s.Compute", C_INTERNAL, 1, 0.8, 1},    {"auth.VerifyToken", C_INTERNAL, 1, 0.4, 0},
    {"json.Marshal", C_INTERNAL, 1, 0.15, 0}, {"pool.Acquire", C_INTERNAL, 1, 0.05, 0},
};

typedef struct op_def {
  int svc;
  char name[96];
  enum op_class cls;
  int kind, scope, can_parent;
  double self_ms;
  double weight; /* among the service's child operations */
  uint64_t count;
  uint8_t *body[BODY_VARIANTS + 1];
  size_t body_len[BODY_VARIANTS + 1];
} op_def;

/* Goroutine states (the server's normalized names). */
enum gstate { G_RUNNING, G_RUNNABLE, G_SYSCALL, G_IO, G_CHAN, G_SELECT, G_MUTEX, G_SLEEP, G_COND, G_GC, G_IDLE, G_N };
static const char *const k_gstate[G_N] = {"running", "runnable", "syscall", "io", "chan", "select",
                                          "mutex",   "sleep",    "cond",    "gc", "idle"};
enum { LABELLED_STATES = G_IDLE }; /* a span's goroutine is never idle */

/* Which state a labelled goroutine of a span of each class is found in. */
static const double k_state_w[C_N][G_N] = {
    [C_SERVER] =
        {[G_RUNNING] = 0.2, [G_RUNNABLE] = 0.1, [G_IO] = 0.2, [G_CHAN] = 0.2, [G_SELECT] = 0.2, [G_MUTEX] = 0.1},
    [C_DB] = {[G_RUNNING] = 0.05, [G_RUNNABLE] = 0.05, [G_IO] = 0.75, [G_SELECT] = 0.05, [G_MUTEX] = 0.1},
    [C_CACHE] = {[G_RUNNING] = 0.1, [G_RUNNABLE] = 0.1, [G_IO] = 0.8},
    [C_HTTP] = {[G_RUNNING] = 0.1, [G_IO] = 0.7, [G_SELECT] = 0.2},
    [C_MSG] = {[G_IO] = 0.3, [G_CHAN] = 0.5, [G_SELECT] = 0.2},
    [C_INTERNAL] =
        {[G_RUNNING] = 0.5, [G_RUNNABLE] = 0.2, [G_MUTEX] = 0.15, [G_GC] = 0.05, [G_SLEEP] = 0.05, [G_COND] = 0.05},
};
/* Fraction of a span's self time spent on a CPU, by class. */
static const double k_cpu_frac[C_N] = {
    [C_SERVER] = 0.35, [C_DB] = 0.05, [C_CACHE] = 0.05, [C_HTTP] = 0.03, [C_MSG] = 0.1, [C_INTERNAL] = 0.7};

/* ---- small text builder ----------------------------------------------------- */

typedef struct sbuf {
  char *p;
  size_t n, cap;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(sbuf *b, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
    va_end(ap);
    if (k < 0) return;
    if (b->p && b->n + (size_t)k < b->cap) {
      b->n += (size_t)k;
      return;
    }
    size_t ncap = b->cap ? b->cap * 2 : 256;
    while (ncap < b->n + (size_t)k + 1) ncap *= 2;
    char *q = realloc(b->p, ncap);
    if (!q) abort();
    b->p = q;
    b->cap = ncap;
  }
}

/* One frame: "func\tfile:line\n". */
#define FR(b, fn, file, line) sb_add((b), "%s\t%s:%d\n", (fn), (file), (int)(line))

/* ---- stacks ------------------------------------------------------------------ */

typedef struct stack_def {
  char *text;
  int64_t id;
} stack_def;

typedef struct stack_lib {
  stack_def svc_state[N_SVC][G_N][2]; /* goroutine stacks of a service's request handlers */
  stack_def background[14];           /* goroutines every process has */
  int bg_state[14];
  stack_def svc_cpu[N_SVC][6];    /* on-CPU stacks of request handling */
  stack_def svc_assist[N_SVC][2]; /* ... paying for GC (runtime.gcAssistAlloc) */
  stack_def bg_cpu[3];            /* the runtime's own CPU */
  int64_t next_id;
} stack_lib;

static void user_frames(sbuf *b, int svc, int variant, uint64_t *rng) {
  const svc_def *s = &k_svc[svc];
  static const char *const methods[] = {"load", "price", "lookup", "assemble", "persist", "notify"};
  char fn[160], file[160];
  snprintf(fn, sizeof fn, "github.com/acme/shop/%s.(*service).%s", s->name, methods[(variant + svc) % 6]);
  snprintf(file, sizeof file, "/src/%s/service.go", s->name);
  FR(b, fn, file, 40 + below(rng, 400));
  const char *op = s->server_ops[variant % N_SERVER_OPS];
  const char *slash = strchr(op, '/');
  snprintf(fn, sizeof fn, "github.com/acme/shop/%s.(*Server).%s", s->name,
           s->proto_service && slash ? slash + 1
           : (variant & 1)           ? "handleAPI"
                                     : "handlePage");
  snprintf(file, sizeof file, "/src/%s/server.go", s->name);
  FR(b, fn, file, 30 + below(rng, 200));
  if (s->proto_service) {
    FR(b, "google.golang.org/grpc.(*Server).processUnaryRPC", "/go/pkg/mod/google.golang.org/grpc@v1.62.1/server.go",
       1386);
    FR(b, "google.golang.org/grpc.(*Server).handleStream", "/go/pkg/mod/google.golang.org/grpc@v1.62.1/server.go",
       1797);
    FR(b, "google.golang.org/grpc.(*Server).serveStreams.func2.1",
       "/go/pkg/mod/google.golang.org/grpc@v1.62.1/server.go", 1027);
  } else {
    FR(b, "net/http.HandlerFunc.ServeHTTP", "/usr/local/go/src/net/http/server.go", 2166);
    FR(b, "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp.(*middleware).serveHTTP",
       "/go/pkg/mod/go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp@v0.49.0/handler.go", 225);
    FR(b, "net/http.(*ServeMux).ServeHTTP", "/usr/local/go/src/net/http/server.go", 2683);
    FR(b, "net/http.serverHandler.ServeHTTP", "/usr/local/go/src/net/http/server.go", 3137);
    FR(b, "net/http.(*conn).serve", "/usr/local/go/src/net/http/server.go", 2039);
  }
}

static const char *GO = "/usr/local/go/src/";

static void park(sbuf *b) { sb_add(b, "runtime.gopark\t%sruntime/proc.go:398\n", GO); }

static void state_frames(sbuf *b, enum gstate st, int variant) {
  switch (st) {
  case G_IO:
    park(b);
    sb_add(b, "runtime.netpollblock\t%sruntime/netpoll.go:564\n", GO);
    sb_add(b, "internal/poll.runtime_pollWait\t%sruntime/netpoll.go:343\n", GO);
    sb_add(b, "internal/poll.(*pollDesc).wait\t%sinternal/poll/fd_poll_runtime.go:84\n", GO);
    sb_add(b, "internal/poll.(*pollDesc).waitRead\t%sinternal/poll/fd_poll_runtime.go:89\n", GO);
    sb_add(b, "internal/poll.(*FD).Read\t%sinternal/poll/fd_unix.go:164\n", GO);
    sb_add(b, "net.(*netFD).Read\t%snet/fd_posix.go:55\n", GO);
    sb_add(b, "net.(*conn).Read\t%snet/net.go:179\n", GO);
    if (variant)
      FR(b, "github.com/jackc/pgx/v5/pgconn.(*PgConn).receiveMessage",
         "/go/pkg/mod/github.com/jackc/pgx/v5@v5.5.5/pgconn/pgconn.go", 518);
    else
      FR(b, "github.com/redis/go-redis/v9/internal/pool.(*Conn).WithReader",
         "/go/pkg/mod/github.com/redis/go-redis/v9@v9.5.1/internal/pool/conn.go", 84);
    break;
  case G_SELECT:
    park(b);
    sb_add(b, "runtime.selectgo\t%sruntime/select.go:327\n", GO);
    if (variant)
      FR(b, "google.golang.org/grpc.(*ClientConn).Invoke", "/go/pkg/mod/google.golang.org/grpc@v1.62.1/call.go", 35);
    break;
  case G_CHAN:
    park(b);
    sb_add(b, "runtime.chanrecv\t%sruntime/chan.go:583\n", GO);
    sb_add(b, "runtime.chanrecv1\t%sruntime/chan.go:442\n", GO);
    break;
  case G_MUTEX:
    park(b);
    sb_add(b, "runtime.goparkunlock\t%sruntime/proc.go:404\n", GO);
    sb_add(b, "runtime.semacquire1\t%sruntime/sema.go:160\n", GO);
    sb_add(b, "sync.runtime_SemacquireMutex\t%sruntime/sema.go:77\n", GO);
    sb_add(b, "sync.(*Mutex).lockSlow\t%ssync/mutex.go:171\n", GO);
    sb_add(b, "sync.(*Mutex).Lock\t%ssync/mutex.go:90\n", GO);
    if (variant) sb_add(b, "database/sql.(*DB).conn\t%sdatabase/sql/sql.go:1331\n", GO);
    break;
  case G_SLEEP:
    park(b);
    sb_add(b, "time.Sleep\t%sruntime/time.go:195\n", GO);
    break;
  case G_COND:
    park(b);
    sb_add(b, "runtime.goparkunlock\t%sruntime/proc.go:404\n", GO);
    if (variant) {
      sb_add(b, "sync.runtime_Semacquire\t%sruntime/sema.go:62\n", GO);
      sb_add(b, "sync.(*WaitGroup).Wait\t%ssync/waitgroup.go:116\n", GO);
    } else {
      sb_add(b, "sync.runtime_notifyListWait\t%sruntime/sema.go:527\n", GO);
      sb_add(b, "sync.(*Cond).Wait\t%ssync/cond.go:70\n", GO);
    }
    break;
  case G_SYSCALL:
    sb_add(b, "syscall.Syscall\t%ssyscall/syscall_linux.go:69\n", GO);
    sb_add(b, "syscall.read\t%ssyscall/zsyscall_linux_amd64.go:721\n", GO);
    sb_add(b, "syscall.Read\t%ssyscall/syscall_unix.go:181\n", GO);
    sb_add(b, "os.(*File).read\t%sos/file_posix.go:29\n", GO);
    sb_add(b, "os.(*File).Read\t%sos/file.go:118\n", GO);
    break;
  case G_GC:
    park(b);
    sb_add(b, "runtime.gcParkAssist\t%sruntime/mgcmark.go:709\n", GO);
    sb_add(b, "runtime.gcAssistAlloc\t%sruntime/mgcmark.go:478\n", GO);
    sb_add(b, "runtime.mallocgc\t%sruntime/malloc.go:1052\n", GO);
    sb_add(b, "runtime.makeslice\t%sruntime/slice.go:103\n", GO);
    break;
  case G_RUNNING:
    if (variant) {
      sb_add(b, "encoding/json.(*encodeState).string\t%sencoding/json/encode.go:1051\n", GO);
      sb_add(b, "encoding/json.Marshal\t%sencoding/json/encode.go:161\n", GO);
    } else {
      sb_add(b, "runtime.mapaccess2_faststr\t%sruntime/map_faststr.go:117\n", GO);
    }
    break;
  case G_RUNNABLE:
    if (variant) sb_add(b, "runtime.mallocgc\t%sruntime/malloc.go:1188\n", GO);
    else sb_add(b, "crypto/sha256.block\t%scrypto/sha256/sha256block_amd64.s:1032\n", GO);
    break;
  default: park(b); break;
  }
}

static char *take(sbuf *b) {
  if (b->n && b->p[b->n - 1] == '\n') b->p[--b->n] = 0; /* no trailing newline, as the server stores them */
  char *r = b->p;
  b->p = NULL;
  b->n = b->cap = 0;
  return r;
}

static void build_stacks(stack_lib *L, uint64_t *rng) {
  sbuf b = {0};
  for (int s = 0; s < N_SVC; s++)
    for (int st = 0; st < G_N; st++)
      for (int v = 0; v < 2; v++) {
        state_frames(&b, (enum gstate)st, v);
        user_frames(&b, s, st * 2 + v, rng);
        L->svc_state[s][st][v].text = take(&b);
      }
  static const struct {
    int state;
    const char *frames[8];
  } bg[14] = {
      {G_IO,
       {"runtime.gopark\truntime/proc.go:398", "runtime.netpollblock\truntime/netpoll.go:564",
        "internal/poll.runtime_pollWait\truntime/netpoll.go:343",
        "internal/poll.(*FD).Accept\tinternal/poll/fd_unix.go:611", "net.(*netFD).accept\tnet/fd_unix.go:172",
        "net.(*TCPListener).Accept\tnet/tcpsock.go:315", "net/http.(*Server).Serve\tnet/http/server.go:3255",
        "main.main\t/src/cmd/server/main.go:88"}},
      {G_IO,
       {"runtime.gopark\truntime/proc.go:398", "runtime.netpollblock\truntime/netpoll.go:564",
        "internal/poll.runtime_pollWait\truntime/netpoll.go:343",
        "internal/poll.(*FD).Read\tinternal/poll/fd_unix.go:164", "net.(*conn).Read\tnet/net.go:179",
        "net/http.(*connReader).backgroundRead\tnet/http/server.go:683", NULL}},
      {G_IO,
       {"runtime.gopark\truntime/proc.go:398", "runtime.netpollblock\truntime/netpoll.go:564",
        "internal/poll.runtime_pollWait\truntime/netpoll.go:343",
        "internal/poll.(*FD).Read\tinternal/poll/fd_unix.go:164", "net.(*conn).Read\tnet/net.go:179",
        "bufio.(*Reader).Read\tbufio/bufio.go:244",
        "google.golang.org/grpc/internal/transport.(*http2Server).HandleStreams\tgrpc/internal/transport/"
        "http2_server.go:636",
        NULL}},
      {G_SELECT,
       {"runtime.gopark\truntime/proc.go:398", "runtime.selectgo\truntime/select.go:327",
        "database/sql.(*DB).connectionOpener\tdatabase/sql/sql.go:1218", NULL}},
      {G_SELECT,
       {"runtime.gopark\truntime/proc.go:398", "runtime.selectgo\truntime/select.go:327",
        "go.opentelemetry.io/otel/sdk/trace.(*batchSpanProcessor).processQueue\tsdk/trace/batch_span_processor.go:298",
        NULL}},
      {G_SELECT,
       {"runtime.gopark\truntime/proc.go:398", "runtime.selectgo\truntime/select.go:327",
        "google.golang.org/grpc/internal/transport.(*controlBuffer).get\tgrpc/internal/transport/controlbuf.go:418",
        "google.golang.org/grpc/internal/transport.(*loopyWriter).run\tgrpc/internal/transport/controlbuf.go:552",
        NULL}},
      {G_IDLE, {"runtime.gopark\truntime/proc.go:398", "runtime.gcBgMarkWorker\truntime/mgc.go:1293", NULL}},
      {G_IDLE, {"runtime.gopark\truntime/proc.go:398", "runtime.forcegchelper\truntime/proc.go:322", NULL}},
      {G_IDLE,
       {"runtime.gopark\truntime/proc.go:398", "runtime.goparkunlock\truntime/proc.go:404",
        "runtime.bgsweep\truntime/mgcsweep.go:280", NULL}},
      {G_IDLE,
       {"runtime.gopark\truntime/proc.go:398", "runtime.goparkunlock\truntime/proc.go:404",
        "runtime.bgscavenge\truntime/mgcscavenge.go:425", NULL}},
      {G_SYSCALL,
       {"os/signal.signal_recv\truntime/sigqueue.go:152", "os/signal.loop\tos/signal/signal_unix.go:23", NULL}},
      {G_CHAN,
       {"runtime.gopark\truntime/proc.go:398", "runtime.chanrecv\truntime/chan.go:583",
        "runtime.chanrecv1\truntime/chan.go:442", "main.main\t/src/cmd/server/main.go:121", NULL}},
      {G_SLEEP,
       {"runtime.gopark\truntime/proc.go:398", "time.Sleep\truntime/time.go:195",
        "github.com/acme/shop/internal/metrics.(*Reporter).loop\t/src/internal/metrics/reporter.go:57", NULL}},
      {G_COND,
       {"runtime.gopark\truntime/proc.go:398", "runtime.goparkunlock\truntime/proc.go:404",
        "sync.runtime_notifyListWait\truntime/sema.go:527", "sync.(*Cond).Wait\tsync/cond.go:70",
        "github.com/jackc/puddle/v2.(*Pool).backgroundHealthCheck\tpuddle/v2/pool.go:220", NULL}},
  };
  for (int i = 0; i < 14; i++) {
    for (int k = 0; k < 8 && bg[i].frames[k]; k++) sb_add(&b, "%s\n", bg[i].frames[k]);
    L->background[i].text = take(&b);
    L->bg_state[i] = bg[i].state;
  }
  static const char *const cpu_leaf[6][3] = {
      {"runtime.mallocgc\truntime/malloc.go:1115", "runtime.newobject\truntime/malloc.go:1324", NULL},
      {"encoding/json.(*encodeState).string\tencoding/json/encode.go:1051",
       "encoding/json.Marshal\tencoding/json/encode.go:161", NULL},
      {"crypto/sha256.block\tcrypto/sha256/sha256block_amd64.s:1032",
       "crypto/sha256.(*digest).Write\tcrypto/sha256/sha256.go:194", NULL},
      {"runtime.memmove\truntime/memmove_amd64.s:190", "bytes.(*Buffer).Write\tbytes/buffer.go:182", NULL},
      {"syscall.Syscall\tsyscall/syscall_linux.go:69", "internal/poll.(*FD).Write\tinternal/poll/fd_unix.go:380",
       "net.(*conn).Write\tnet/net.go:191"},
      {"github.com/jackc/pgx/v5/pgproto3.(*DataRow).Decode\tpgx/v5/pgproto3/data_row.go:50",
       "github.com/jackc/pgx/v5.(*baseRows).Next\tpgx/v5/rows.go:186", NULL},
  };
  for (int s = 0; s < N_SVC; s++) {
    for (int k = 0; k < 6; k++) {
      for (int f = 0; f < 3 && cpu_leaf[k][f]; f++) sb_add(&b, "%s\n", cpu_leaf[k][f]);
      user_frames(&b, s, k, rng);
      L->svc_cpu[s][k].text = take(&b);
    }
    for (int k = 0; k < 2; k++) {
      sb_add(&b,
             "runtime.gcDrainN\truntime/mgcmark.go:1227\nruntime.gcAssistAlloc1\truntime/mgcmark.go:630\n"
             "runtime.gcAssistAlloc.func1\truntime/mgcmark.go:509\nruntime.systemstack\truntime/asm_amd64.s:509\n"
             "runtime.gcAssistAlloc\truntime/mgcmark.go:508\nruntime.mallocgc\truntime/malloc.go:%d\n",
             k ? 1052 : 1188);
      user_frames(&b, s, 6 + k, rng);
      L->svc_assist[s][k].text = take(&b);
    }
  }
  static const char *const bgcpu[3] = {
      ("runtime.scanobject\truntime/mgcmark.go:1445\nruntime.gcDrain\truntime/mgcmark.go:1157\n"
       "runtime.gcBgMarkWorker.func2\truntime/mgc.go:1385\nruntime.systemstack\truntime/asm_amd64.s:509\n"
       "runtime.gcBgMarkWorker\truntime/mgc.go:1353"),
      ("runtime.futex\truntime/sys_linux_amd64.s:557\nruntime.futexsleep\truntime/os_linux.go:69\n"
       "runtime.notesleep\truntime/lock_futex.go:160\nruntime.stopm\truntime/proc.go:2512\n"
       "runtime.findRunnable\truntime/proc.go:3207\nruntime.schedule\truntime/proc.go:3577"),
      ("runtime.epollwait\truntime/sys_linux_amd64.s:678\nruntime.netpoll\truntime/netpoll_epoll.go:125\n"
       "runtime.findRunnable\truntime/proc.go:3115\nruntime.schedule\truntime/proc.go:3577"),
  };
  for (int k = 0; k < 3; k++) L->bg_cpu[k].text = strdup(bgcpu[k]);
  free(b.p);
}

static void free_stacks(stack_lib *L) {
  for (int s = 0; s < N_SVC; s++) {
    for (int st = 0; st < G_N; st++)
      for (int v = 0; v < 2; v++) free(L->svc_state[s][st][v].text);
    for (int k = 0; k < 6; k++) free(L->svc_cpu[s][k].text);
    for (int k = 0; k < 2; k++) free(L->svc_assist[s][k].text);
  }
  for (int i = 0; i < 14; i++) free(L->background[i].text);
  for (int k = 0; k < 3; k++) free(L->bg_cpu[k].text);
}

/* ---- protobuf blobs ---------------------------------------------------------- */

typedef struct kvset {
  KeyValue kv[16];
  AnyValue v[16];
  KeyValue *ptr[16];
  size_t n;
  char strs[16][192];
} kvset;

static void kv_s(kvset *s, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void kv_s(kvset *s, const char *key, const char *fmt, ...) {
  size_t i = s->n++;
  opentelemetry__proto__common__v1__key_value__init(&s->kv[i]);
  opentelemetry__proto__common__v1__any_value__init(&s->v[i]);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->strs[i], sizeof s->strs[i], fmt, ap);
  va_end(ap);
  s->kv[i].key = (char *)key;
  s->kv[i].value = &s->v[i];
  s->v[i].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
  s->v[i].string_value = s->strs[i];
  s->ptr[i] = &s->kv[i];
}

static void kv_i(kvset *s, const char *key, int64_t v) {
  size_t i = s->n++;
  opentelemetry__proto__common__v1__key_value__init(&s->kv[i]);
  opentelemetry__proto__common__v1__any_value__init(&s->v[i]);
  s->kv[i].key = (char *)key;
  s->kv[i].value = &s->v[i];
  s->v[i].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
  s->v[i].int_value = v;
  s->ptr[i] = &s->kv[i];
}

static void kv_b(kvset *s, const char *key, int v) {
  size_t i = s->n++;
  opentelemetry__proto__common__v1__key_value__init(&s->kv[i]);
  opentelemetry__proto__common__v1__any_value__init(&s->v[i]);
  s->kv[i].key = (char *)key;
  s->kv[i].value = &s->v[i];
  s->v[i].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
  s->v[i].bool_value = v != 0;
  s->ptr[i] = &s->kv[i];
}

static uint8_t *pack_msg(const ProtobufCMessage *m, size_t *len) {
  *len = protobuf_c_message_get_packed_size(m);
  uint8_t *p = malloc(*len ? *len : 1);
  if (!p) abort();
  protobuf_c_message_pack(m, p);
  return p;
}

/* A span's body as the server stores it: its OTLP encoding with the column
 * fields (ids, name, kind, times) cleared; status, attributes, events kept. */
static uint8_t *encode_body(const op_def *op, int variant, int error, uint64_t *rng, size_t *len) {
  const svc_def *s = &k_svc[op->svc];
  kvset a = {0};
  const char *method = strchr(op->name, '/');
  switch (op->cls) {
  case C_SERVER:
    if (!s->proto_service) {
      char verb[8] = "GET";
      sscanf(op->name, "%7s", verb);
      kv_s(&a, "http.method", "%s", verb);
      kv_s(&a, "http.route", "%s", strchr(op->name, ' ') ? strchr(op->name, ' ') + 1 : "/");
      kv_s(&a, "http.scheme", "http");
      kv_i(&a, "http.status_code", error ? 500 : 200);
      kv_s(&a, "net.host.name", "%s.shop.svc.cluster.local", s->name);
      kv_i(&a, "net.host.port", 8080);
      kv_s(&a, "user_agent.original",
           "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/12%d.0.0.0 Safari/537.36",
           variant);
      kv_i(&a, "http.request_content_length", (int64_t)below(rng, 2000));
      kv_s(&a, "enduser.id", "user-%06llu", (unsigned long long)below(rng, 1000000));
    } else {
      kv_s(&a, "rpc.system", "grpc");
      kv_s(&a, "rpc.service", "%s", s->proto_service);
      kv_s(&a, "rpc.method", "%s", method ? method + 1 : op->name);
      kv_i(&a, "rpc.grpc.status_code", error ? 13 : 0);
      kv_s(&a, "net.sock.peer.addr", "10.12.%d.%d", (int)below(rng, 255), (int)below(rng, 255));
      kv_i(&a, "net.sock.peer.port", 40000 + (int64_t)below(rng, 20000));
    }
    break;
  case C_DB: {
    char verb[16] = "SELECT";
    sscanf(op->name, "%15s", verb);
    kv_s(&a, "db.system", "postgresql");
    kv_s(&a, "db.name", "shop");
    kv_s(&a, "db.operation", "%s", verb);
    kv_s(&a, "db.sql.table", "%s", s->noun);
    kv_s(&a, "db.statement", "%s %s FROM %s WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL LIMIT %d", verb,
         strcmp(verb, "SELECT") ? "" : "id, tenant_id, payload, created_at, updated_at", s->noun, 10 + variant);
    kv_s(&a, "net.peer.name", "postgres.shop.svc.cluster.local");
    kv_i(&a, "net.peer.port", 5432);
    break;
  }
  case C_CACHE:
    kv_s(&a, "db.system", "redis");
    {
      char verb[8] = "GET";
      sscanf(op->name, "redis %7s", verb);
      kv_s(&a, "db.statement", "%s %s:%llu", verb, s->noun, (unsigned long long)below(rng, 100000));
    }
    kv_s(&a, "net.peer.name", "redis.shop.svc.cluster.local");
    kv_i(&a, "net.peer.port", 6379);
    kv_i(&a, "db.redis.database_index", 0);
    break;
  case C_HTTP:
    kv_s(&a, "http.method", "%s", strstr(op->name, "POST") ? "POST" : "GET");
    kv_s(&a, "http.url", "https://%s-api.partner.example.com/v2/%s/%llu", s->noun, s->noun,
         (unsigned long long)below(rng, 100000));
    kv_i(&a, "http.status_code", error ? 502 : 200);
    kv_s(&a, "net.peer.name", "%s-api.partner.example.com", s->noun);
    kv_i(&a, "http.response_content_length", (int64_t)below(rng, 20000));
    break;
  case C_MSG:
    kv_s(&a, "messaging.system", "kafka");
    kv_s(&a, "messaging.destination.name", "%s", s->noun);
    kv_s(&a, "messaging.operation", "publish");
    kv_i(&a, "messaging.kafka.destination.partition", (int64_t)below(rng, 12));
    kv_s(&a, "messaging.message.id", "%016llx", (unsigned long long)qb_rand64(rng));
    break;
  case C_INTERNAL:
    kv_s(&a, "code.namespace", "github.com/acme/shop/%s", s->name);
    kv_s(&a, "code.function", "%s", op->name);
    kv_i(&a, "app.items", (int64_t)below(rng, 50));
    kv_b(&a, "app.cache_hit", (int)below(rng, 2));
    break;
  default: break;
  }
  Span sp = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT;
  sp.name = (char *)protobuf_c_empty_string;
  sp.n_attributes = a.n;
  sp.attributes = a.ptr;
  Opentelemetry__Proto__Trace__V1__Status status = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT;
  sp.status = &status;
  Opentelemetry__Proto__Trace__V1__Span__Event ev = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__EVENT__INIT;
  Opentelemetry__Proto__Trace__V1__Span__Event *evp = &ev;
  kvset ea = {0};
  if (error) {
    status.code = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
    status.message = op->cls == C_DB ? "context deadline exceeded" : "upstream returned an error";
    ev.name = "exception";
    kv_s(&ea, "exception.type", op->cls == C_DB ? "*pgconn.PgError" : "*errors.errorString");
    kv_s(&ea, "exception.message", "%s: %s", op->name, status.message);
    ev.n_attributes = ea.n;
    ev.attributes = ea.ptr;
    sp.n_events = 1;
    sp.events = &evp;
  }
  return pack_msg(&sp.base, len);
}

/* ---- database helpers --------------------------------------------------------- */

static int exec(sqlite3 *db, const char *sql) {
  char *err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
    fprintf(stderr, "bench-query: sqlite: %s\n  in: %.300s\n", err ? err : sqlite3_errmsg(db), sql);
    sqlite3_free(err);
    return -1;
  }
  return 0;
}

static char *read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
  if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
    free(s);
    s = NULL;
  }
  if (s) s[n] = 0;
  fclose(f);
  return s;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The migrations, applied as mw__store_open's migrate() does: each file in its
 * own transaction, then application_id and user_version. Returns the count. */
static int migrate(sqlite3 *db, const char *dir) {
  DIR *d = opendir(dir);
  if (!d) {
    fprintf(stderr, "bench-query: %s: %s\n", dir, strerror(errno));
    return -1;
  }
  char *names[256];
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 256) {
    size_t l = strlen(e->d_name);
    if (l > 4 && strcmp(e->d_name + l - 4, ".sql") == 0) names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof *names, cmp_str);
  int rc = n ? 0 : -1;
  if (!n) fprintf(stderr, "bench-query: no *.sql in %s\n", dir);
  for (size_t i = 0; i < n; i++) {
    char path[4096], marks[128];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    char *sql = rc ? NULL : read_text(path);
    if (!rc && !sql) {
      fprintf(stderr, "bench-query: cannot read %s\n", path);
      rc = -1;
    }
    snprintf(marks, sizeof marks, "PRAGMA application_id=%d; PRAGMA user_version=%zu;", 0x4D57484C, i + 1);
    if (!rc && (exec(db, "BEGIN IMMEDIATE") || exec(db, sql) || exec(db, marks) || exec(db, "COMMIT"))) rc = -1;
    free(sql);
    free(names[i]);
  }
  return rc ? -1 : (int)n;
}

enum stmt_id { S_SOURCE, S_OP, S_SCOPE, S_SPAN, S_STACK, S_SNAP, S_GROUP, S_SAMPLE, S_GC, S_OPCOUNT, S_N };
static const char *const k_sql[S_N] = {
    [S_SOURCE] = "INSERT INTO sources (id, service, instance, host, pid, resource, first_ns, last_ns) "
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [S_OP] = "INSERT INTO operations (id, service, name) VALUES (?1, ?2, ?3)",
    [S_SCOPE] = "INSERT INTO scopes (id, body) VALUES (?1, ?2)",
    [S_SPAN] = "INSERT INTO spans (trace_id, span_id, parent_id, source_id, op_id, scope_id, start_ns, dur_ns, kind, "
               "status, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [S_STACK] = "INSERT INTO stacks (id, frames) VALUES (?1, ?2)", /* + hash, when the schema has it */
    [S_SNAP] = "INSERT INTO snapshots (source_id, kind, format, at_ns, duration_ns, total, meta, raw_bytes, payload) "
               "VALUES (?1, ?2, 'pprof', ?3, ?4, ?5, ?6, ?7, ?8)",
    [S_GROUP] = "INSERT INTO goroutine_groups (snapshot_id, stack_id, state, wait_reason, count, wait_min_ns, "
                "wait_max_ns, locked, span_id, trace_id, labels, goids) "
                "VALUES (?1, ?2, ?3, NULL, ?4, NULL, NULL, 0, ?5, ?6, ?7, NULL)",
    [S_SAMPLE] = "INSERT INTO profile_samples (snapshot_id, stack_id, span_id, trace_id, labels, vals) "
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [S_GC] = "INSERT INTO gc_cycles (source_id, n, start_ns, stw1_ns, mark_ns, stw2_ns, cpu_pct, stw1_cpu_ns, "
             "assist_cpu_ns, background_cpu_ns, idle_cpu_ns, stw2_cpu_ns, heap_before, heap_after, heap_live, goal, "
             "stacks, globals, procs, forced) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
             "?15, ?16, ?17, ?18, ?19, ?20)",
    [S_OPCOUNT] = "UPDATE operations SET span_count = ?2 WHERE id = ?1",
};

/* ---- the generator's state ------------------------------------------------------ */

typedef struct ring_ent {
  int64_t start, end, self;
  uint8_t sid[8];
  uint32_t trace;
  uint16_t op;
  uint8_t fanout; /* its children ran in parallel goroutines, which inherit its labels */
} ring_ent;

typedef struct src_state {
  ring_ent *ring;
  uint32_t head, n;
  uint64_t g_done, g_total; /* goroutine snapshots */
  int64_t g_next;
  uint64_t c_done, c_total; /* CPU profiles */
  int64_t c_next;
  int procs;
} src_state;

typedef struct root_info {
  int64_t dur;
  uint16_t op;
  uint8_t n, flags;
} root_info;

typedef struct gen {
  const qb_gen_opts *o;
  qb_gen_stats *st;
  sqlite3 *db;
  sqlite3_stmt *s[S_N];
  uint64_t rng, rows_in_txn;
  op_def ops[N_OPS];
  int svc_ops[N_SVC][N_CHILD_OPS]; /* op index of each child operation */
  stack_lib stacks;
  src_state src[N_SRC];
  root_info *roots;
  size_t n_roots, cap_roots;
  int64_t t_len; /* the time range, ns */
  uint8_t *payload[N_PAYLOADS];
  size_t payload_len[N_PAYLOADS], payload_raw[N_PAYLOADS];
  int64_t due;    /* earliest pending runtime event */
  int stack_hash; /* the stacks table has a hash column */
  /* sealed blocks (unless o->old_spans) */
  struct open_blk *blk; /* per source */
  mw__bw *bw;
  mw__truns_w *tw;
  mw__truns_mem *mem;
  int64_t run_start; /* generated time the partition began */
  struct op_durs {
    int64_t recent[1024]; /* the latest 1,024 durations, a ring */
    size_t n_recent, since;
    int64_t slow_ns;
    int64_t *all; /* every duration, for the p90 of bench-query.meta */
    size_t n_all, cap_all;
  } * durs; /* per operation */
} gen;

/* blocks sealed and the partition flushed as the writer does (store/blocks.h) */
enum { BLK_MAX = MW_BLK_MAX_SPANS };

typedef struct open_blk {
  mw__sb_span v[BLK_MAX];
  size_t n;
  int64_t opened, min_start, max_start;
} open_blk;

static int step(gen *g, enum stmt_id id) {
  sqlite3_stmt *st = g->s[id];
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) {
    fprintf(stderr, "bench-query: insert (%d): %s\n", (int)id, sqlite3_errmsg(g->db));
    return -1;
  }
  if (++g->rows_in_txn >= TXN_ROWS) {
    g->rows_in_txn = 0;
    if (exec(g->db, "COMMIT") || exec(g->db, "BEGIN")) return -1;
  }
  return 0;
}

/* ---- sealed blocks ------------------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static int slow_of(void *user, int64_t op_id, int64_t *slow_ns) {
  gen *g = user;
  *slow_ns = op_id >= 1 && op_id <= N_OPS ? g->durs[op_id - 1].slow_ns : INT64_MAX;
  return 0;
}

/* A new span's duration: its operation's threshold (p90 of the latest 1,024,
 * recomputed every 128 spans, as the writer raises it) and the list of all. */
static int note_dur(gen *g, int op, int64_t dur) {
  struct op_durs *d = &g->durs[op];
  d->recent[d->n_recent++ % 1024] = dur;
  if (d->n_recent >= 1024 && ++d->since >= 128) {
    int64_t v[1024];
    memcpy(v, d->recent, sizeof v);
    qsort(v, 1024, sizeof *v, cmp_i64);
    d->slow_ns = v[921];
    d->since = 0;
  }
  if (d->n_all == d->cap_all) {
    size_t cap = d->cap_all ? 2 * d->cap_all : 4096;
    int64_t *t = realloc(d->all, cap * sizeof *t);
    if (!t) return -1;
    d->all = t, d->cap_all = cap;
  }
  d->all[d->n_all++] = dur;
  return 0;
}

static int seal(gen *g, int src) {
  open_blk *b = &g->blk[src];
  if (!b->n) return 0;
  mw__bw_sealed out;
  int rc = mw__bw_seal(g->bw, src + 1, b->v, b->n, slow_of, g, g->mem, &out);
  if (rc) {
    fprintf(stderr, "bench-query: seal: %d: %s\n", rc, sqlite3_errmsg(g->db));
    return -1;
  }
  g->st->blocks++;
  g->rows_in_txn += b->n;
  b->n = 0;
  if (g->rows_in_txn >= TXN_ROWS) {
    g->rows_in_txn = 0;
    if (exec(g->db, "COMMIT") || exec(g->db, "BEGIN")) return -1;
  }
  return 0;
}

/* Flushes the partition as a level-0 run and merges runs as the writer's
 * schedule does (STORAGE-WIRING §2 step 6), at generated time now. */
static int flush_runs(gen *g, int64_t now) {
  int64_t run;
  if (mw__truns_flush(g->tw, g->mem, &run)) {
    fprintf(stderr, "bench-query: run flush: %s\n", sqlite3_errmsg(g->db));
    return -1;
  }
  if (run) g->st->runs++;
  mw__truns_mem_clear(g->mem);
  g->run_start = now;
  for (int level = 0; level < MW_TRUNS_MERGED_LEVELS; level++)
    for (;;) {
      mw__truns_merge_opts o;
      mw__truns_schedule(level, 5000, &o);
      size_t work = 0;
      if (mw__truns_maintain(g->tw, &o, &work)) {
        fprintf(stderr, "bench-query: run merge: %s\n", sqlite3_errmsg(g->db));
        return -1;
      }
      if (!work) break;
    }
  return 0;
}

/* Appends a span to its source's open block, sealing it first when the span
 * would overfill it or widen its start range too far, or when it is old. */
static int add_block_span(gen *g, int src, int64_t now, const mw__sb_span *sp) {
  open_blk *b = &g->blk[src];
  if (b->n) {
    int64_t lo = sp->start_ns < b->min_start ? sp->start_ns : b->min_start;
    int64_t hi = sp->start_ns > b->max_start ? sp->start_ns : b->max_start;
    if (b->n == BLK_MAX || hi - lo > MW_BLK_MAX_START_SPAN_NS || now - b->opened >= MW_BLK_MAX_AGE_NS)
      if (seal(g, src)) return -1;
  }
  if (!b->n) {
    b->opened = now;
    b->min_start = b->max_start = sp->start_ns;
  }
  if (sp->start_ns < b->min_start) b->min_start = sp->start_ns;
  if (sp->start_ns > b->max_start) b->max_start = sp->start_ns;
  b->v[b->n++] = *sp;
  return 0;
}

/* ---- dimensions: sources, scopes, operations, stacks ---------------------------- */

static const char *const k_scopes[][2] = {
    {"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp", "0.49.0"},
    {"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc", "0.49.0"},
    {"github.com/XSAM/otelsql", "0.29.0"},
    {"github.com/redis/go-redis/extra/redisotel", "9.5.1"},
    {"github.com/acme/shop", ""},
};

static int write_dimensions(gen *g) {
  uint64_t *rng = &g->rng;
  /* sources: service x instance, each with its StoredResource */
  for (int s = 0; s < N_SVC; s++)
    for (int i = 0; i < N_INST; i++) {
      char inst[40], host[64];
      uint64_t a = qb_rand64(rng), b = qb_rand64(rng);
      snprintf(inst, sizeof inst, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32), (unsigned)(a >> 16) & 0xffff,
               (unsigned)a & 0xfff, 0x8000 | ((unsigned)(b >> 48) & 0x3fff),
               (unsigned long long)(b & 0xffffffffffffULL));
      snprintf(host, sizeof host, "%s-%07llx-%05llx", k_svc[s].name, (unsigned long long)(a % 0xfffffff),
               (unsigned long long)(b % 0xfffff));
      int64_t pid = 1 + (int64_t)below(rng, 60000);
      kvset r = {0};
      kv_s(&r, "service.name", "%s", k_svc[s].name);
      kv_s(&r, "service.instance.id", "%s", inst);
      kv_s(&r, "service.version", "1.%d.%d", 4 + s % 3, (int)below(rng, 10));
      kv_s(&r, "host.name", "%s", host);
      kv_i(&r, "process.pid", pid);
      kv_s(&r, "process.runtime.name", "go");
      kv_s(&r, "process.runtime.version", "go1.22.%d", 1 + s % 4);
      kv_s(&r, "telemetry.sdk.language", "go");
      kv_s(&r, "telemetry.sdk.name", "opentelemetry");
      kv_s(&r, "telemetry.sdk.version", "1.24.0");
      kv_s(&r, "k8s.namespace.name", "shop");
      kv_s(&r, "k8s.pod.name", "%s", host);
      Opentelemetry__Proto__Resource__V1__Resource res = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
      res.n_attributes = r.n;
      res.attributes = r.ptr;
      Meanwhile__Store__V1__StoredResource sr = MEANWHILE__STORE__V1__STORED_RESOURCE__INIT;
      sr.resource = &res;
      sr.schema_url = "https://opentelemetry.io/schemas/1.24.0";
      size_t len;
      uint8_t *blob = pack_msg(&sr.base, &len);
      sqlite3_stmt *st = g->s[S_SOURCE];
      int id = s * N_INST + i + 1;
      sqlite3_bind_int64(st, 1, id);
      sqlite3_bind_text(st, 2, k_svc[s].name, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(st, 3, inst, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(st, 4, host, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(st, 5, pid);
      sqlite3_bind_blob(st, 6, blob, (int)len, SQLITE_TRANSIENT);
      sqlite3_bind_int64(st, 7, T0_NS - 3600LL * 1000000000);
      sqlite3_bind_int64(st, 8, T0_NS + g->t_len);
      free(blob);
      if (step(g, S_SOURCE)) return -1;
      g->src[id - 1].procs = (s % 3 == 0) ? 8 : 4;
    }
  for (size_t k = 0; k < sizeof k_scopes / sizeof k_scopes[0]; k++) {
    Opentelemetry__Proto__Common__V1__InstrumentationScope sc =
        OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
    sc.name = (char *)k_scopes[k][0];
    sc.version = (char *)k_scopes[k][1];
    Meanwhile__Store__V1__StoredScope ss = MEANWHILE__STORE__V1__STORED_SCOPE__INIT;
    ss.scope = &sc;
    size_t len;
    uint8_t *blob = pack_msg(&ss.base, &len);
    sqlite3_bind_int64(g->s[S_SCOPE], 1, (int64_t)k + 1);
    sqlite3_bind_blob(g->s[S_SCOPE], 2, blob, (int)len, SQLITE_TRANSIENT);
    free(blob);
    if (step(g, S_SCOPE)) return -1;
  }
  /* operations: 4 server + 16 child per service; child popularity is Zipf-like
   * in a per-service random order */
  for (int s = 0; s < N_SVC; s++) {
    int perm[N_CHILD_OPS];
    for (int k = 0; k < N_CHILD_OPS; k++) perm[k] = k;
    for (int k = N_CHILD_OPS - 1; k > 0; k--) {
      int j = (int)below(&g->rng, (uint64_t)k + 1), t = perm[k];
      perm[k] = perm[j];
      perm[j] = t;
    }
    for (int k = 0; k < OPS_PER_SVC; k++) {
      op_def *op = &g->ops[s * OPS_PER_SVC + k];
      op->svc = s;
      if (k < N_SERVER_OPS) {
        snprintf(op->name, sizeof op->name, "%s", k_svc[s].server_ops[k]);
        op->cls = C_SERVER;
        op->kind = 2;
        op->scope = k_svc[s].proto_service ? 2 : 1;
        op->can_parent = 1;
        op->self_ms = (s == 0 ? 2.0 : 0.8) * uniform(&g->rng, 0.6, 1.8);
        op->weight = k_server_op_w[k];
      } else {
        const child_tpl *t = &k_child[k - N_SERVER_OPS];
        /* t->fmt has one %s: the noun or the service name */
        const char *pct = strstr(t->fmt, "%s"), *word = t->use_name ? k_svc[s].name : k_svc[s].noun;
        if (pct) snprintf(op->name, sizeof op->name, "%.*s%s%s", (int)(pct - t->fmt), t->fmt, word, pct + 2);
        else snprintf(op->name, sizeof op->name, "%s", t->fmt);
        op->cls = t->cls;
        op->kind = t->kind;
        op->scope = t->cls == C_DB ? 3 : t->cls == C_CACHE ? 4 : t->cls == C_HTTP ? 1 : 5;
        op->can_parent =
            t->cls == C_INTERNAL && strstr(op->name, "Marshal") == NULL && strstr(op->name, "Acquire") == NULL;
        op->self_ms = t->self_ms * uniform(&g->rng, 0.5, 2.0);
        op->weight = 1.0 / pow((double)perm[k - N_SERVER_OPS] + 1, 0.9);
        g->svc_ops[s][k - N_SERVER_OPS] = s * OPS_PER_SVC + k;
      }
      for (int v = 0; v <= BODY_VARIANTS; v++)
        op->body[v] = encode_body(op, v, v == BODY_VARIANTS, &g->rng, &op->body_len[v]);
      sqlite3_bind_int64(g->s[S_OP], 1, s * OPS_PER_SVC + k + 1);
      sqlite3_bind_text(g->s[S_OP], 2, k_svc[s].name, -1, SQLITE_STATIC);
      sqlite3_bind_text(g->s[S_OP], 3, op->name, -1, SQLITE_STATIC);
      if (step(g, S_OP)) return -1;
    }
  }
  /* stacks */
  build_stacks(&g->stacks, &g->rng);
  stack_def *all[N_SVC * G_N * 2 + 14 + N_SVC * 8 + 3];
  size_t n = 0;
  for (int s = 0; s < N_SVC; s++)
    for (int st = 0; st < G_N; st++)
      for (int v = 0; v < 2; v++) all[n++] = &g->stacks.svc_state[s][st][v];
  for (int i = 0; i < 14; i++) all[n++] = &g->stacks.background[i];
  for (int s = 0; s < N_SVC; s++) {
    for (int k = 0; k < 6; k++) all[n++] = &g->stacks.svc_cpu[s][k];
    for (int k = 0; k < 2; k++) all[n++] = &g->stacks.svc_assist[s][k];
  }
  for (int k = 0; k < 3; k++) all[n++] = &g->stacks.bg_cpu[k];
  for (size_t i = 0; i < n; i++) {
    all[i]->id = (int64_t)i + 1;
    sqlite3_bind_int64(g->s[S_STACK], 1, all[i]->id);
    sqlite3_bind_text(g->s[S_STACK], 2, all[i]->text, -1, SQLITE_STATIC);
    if (g->stack_hash) sqlite3_bind_int64(g->s[S_STACK], 3, (int64_t)mw__hash(all[i]->text, strlen(all[i]->text)));
    if (step(g, S_STACK)) return -1;
  }
  g->st->stacks = n;
  /* snapshot payloads: what was received, zstd-compressed; the content is
   * never read by these queries, only its size matters for the file */
  for (int k = 0; k < N_PAYLOADS; k++) {
    sbuf b = {0};
    for (int i = 0; i < 24; i++) sb_add(&b, "%s\n", all[below(&g->rng, n)]->text);
    size_t cap = ZSTD_compressBound(b.n);
    g->payload[k] = malloc(cap);
    size_t z = ZSTD_compress(g->payload[k], cap, b.p, b.n, 3);
    if (ZSTD_isError(z)) abort();
    g->payload_len[k] = z;
    g->payload_raw[k] = b.n;
    free(b.p);
  }
  return 0;
}

/* ---- runtime events ------------------------------------------------------------ */

static void bind_ids(sqlite3_stmt *st, int col, const uint8_t *sid, const uint8_t *tid) {
  sqlite3_bind_blob(st, col, sid, 8, SQLITE_TRANSIENT);
  sqlite3_bind_blob(st, col + 1, tid, 16, SQLITE_TRANSIENT);
}

static void labels_json(char *out, size_t outsz, const uint8_t *sid, const uint8_t *tid) {
  char hs[17], ht[33];
  qb_hex(sid, 8, hs);
  qb_hex(tid, 16, ht);
  snprintf(out, outsz, "{\"span_id\":\"%s\",\"trace_id\":\"%s\"}", hs, ht);
}

static int64_t insert_snapshot(gen *g, int src, const char *kind, int64_t at, int64_t dur, int64_t total,
                               const char *meta) {
  sqlite3_stmt *st = g->s[S_SNAP];
  int k = (int)below(&g->rng, N_PAYLOADS);
  sqlite3_bind_int64(st, 1, src + 1);
  sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, at);
  sqlite3_bind_int64(st, 4, dur);
  sqlite3_bind_int64(st, 5, total);
  sqlite3_bind_text(st, 6, meta, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 7, (int64_t)g->payload_raw[k]);
  sqlite3_bind_blob(st, 8, g->payload[k], (int)g->payload_len[k], SQLITE_STATIC);
  if (step(g, S_SNAP)) return -1;
  return sqlite3_last_insert_rowid(g->db);
}

/* The spans of source src in flight at some point of [a, b]: newest first,
 * scanning back until no older span can still be running. */
static size_t in_flight(gen *g, int src, int64_t a, int64_t b, ring_ent **out, size_t max) {
  src_state *s = &g->src[src];
  size_t n = 0;
  for (uint32_t k = 0; k < s->n; k++) {
    ring_ent *e = &s->ring[(s->head + RING - 1 - k) % RING];
    if (e->start < a - 2 * MAX_DUR_NS) break; /* its trace began before anything still running */
    if (e->start <= b && e->end > a && n < max) out[n++] = e;
  }
  return n;
}

static int goroutine_snapshot(gen *g, int src, int64_t at) {
  int svc = src / N_INST;
  ring_ent *fl[64];
  size_t nf = in_flight(g, src, at, at, fl, 64);
  /* several labelled groups: the spans in flight (a random subset when many) */
  for (size_t i = 0; i < nf && i < MAX_LABELLED; i++) {
    size_t j = i + below(&g->rng, nf - i);
    ring_ent *t = fl[i];
    fl[i] = fl[j];
    fl[j] = t;
  }
  size_t nl = nf < MAX_LABELLED ? nf : MAX_LABELLED;
  typedef struct grp {
    int64_t stack;
    int state;
    int64_t count;
    ring_ent *e;
  } grp;
  grp gs[MAX_LABELLED * 5 + 40];
  size_t ng = 0;
  /* goroutines with the same stack, state and labels are one group, as the server stores them */
#define ADD_GROUP(stk, stt, cnt, ent)                                                                                  \
  do {                                                                                                                 \
    size_t q_ = 0;                                                                                                     \
    while (q_ < ng && !(gs[q_].stack == (stk) && gs[q_].e == (ent))) q_++;                                             \
    if (q_ < ng) gs[q_].count += (cnt);                                                                                \
    else gs[ng++] = (grp){(stk), (stt), (cnt), (ent)};                                                                 \
  } while (0)
  for (size_t i = 0; i < nl; i++) {
    const op_def *op = &g->ops[fl[i]->op];
    int st = (int)pick_weighted(&g->rng, k_state_w[op->cls], G_N);
    if (fl[i]->fanout) { /* the span's goroutine waits for its workers, which carry its labels too */
      st = below(&g->rng, 2) ? G_SELECT : G_COND;
      int workers = fl[i]->fanout < 4 ? fl[i]->fanout : 4;
      for (int w = 0; w < workers; w++) {
        int ws = (int)pick_weighted(&g->rng, k_state_w[C_DB + (int)below(&g->rng, C_N - C_DB)], G_N);
        ADD_GROUP(g->stacks.svc_state[svc][ws][below(&g->rng, 2)].id, ws, 1, fl[i]);
      }
    }
    ADD_GROUP(g->stacks.svc_state[svc][st][below(&g->rng, 2)].id, st, 1, fl[i]);
    g->roots[fl[i]->trace].flags |= 1;
  }
  for (int i = 0; i < 14; i++) {
    int64_t c =
        g->stacks.bg_state[i] == G_IDLE && i == 6 ? g->src[src].procs : 1 + (int64_t)below(&g->rng, i == 1 ? 60 : 4);
    gs[ng++] = (grp){g->stacks.background[i].id, g->stacks.bg_state[i], c, NULL};
  }
  /* untraced request goroutines (health checks, streams) fill up to ~20 */
  size_t target = 18 + below(&g->rng, 5);
  for (int tries = 0; ng < target && tries < 40; tries++) {
    int st = (int)below(&g->rng, LABELLED_STATES);
    ADD_GROUP(g->stacks.svc_state[svc][st][below(&g->rng, 2)].id, st, 1 + (int64_t)below(&g->rng, 3), (ring_ent *)NULL);
  }
#undef ADD_GROUP
  int64_t by_state[G_N] = {0}, total = 0;
  for (size_t i = 0; i < ng; i++) by_state[gs[i].state] += gs[i].count, total += gs[i].count;
  char meta[512];
  size_t m = (size_t)snprintf(meta, sizeof meta,
                              "{\"format\":\"pprof\",\"sample_types\":[[\"goroutine\",\"count\"]],"
                              "\"period_type\":[\"goroutine\",\"count\"],\"period\":1,\"by_state\":{");
  int first = 1;
  for (int s = 0; s < G_N; s++)
    if (by_state[s]) {
      m += (size_t)snprintf(meta + m, sizeof meta - m, "%s\"%s\":%lld", first ? "" : ",", k_gstate[s],
                            (long long)by_state[s]);
      first = 0;
    }
  snprintf(meta + m, sizeof meta - m, "}}");
  int64_t id = insert_snapshot(g, src, "goroutine", at, 0, total, meta);
  if (id < 0) return -1;
  g->st->goroutine_snapshots++;
  sqlite3_stmt *st = g->s[S_GROUP];
  for (size_t i = 0; i < ng; i++) {
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, gs[i].stack);
    sqlite3_bind_text(st, 3, k_gstate[gs[i].state], -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, gs[i].count);
    if (gs[i].e) {
      uint8_t tid[16];
      char lab[128];
      trace_id(g->o->seed, gs[i].e->trace, tid);
      bind_ids(st, 5, gs[i].e->sid, tid);
      labels_json(lab, sizeof lab, gs[i].e->sid, tid);
      sqlite3_bind_text(st, 7, lab, -1, SQLITE_TRANSIENT);
      g->st->labelled_groups++;
    } else {
      sqlite3_bind_null(st, 5);
      sqlite3_bind_null(st, 6);
      sqlite3_bind_null(st, 7);
    }
    if (step(g, S_GROUP)) return -1;
    g->st->goroutine_groups++;
  }
  return 0;
}

static int sample_row(gen *g, int64_t snap, int64_t stack, const ring_ent *e, int64_t n) {
  sqlite3_stmt *st = g->s[S_SAMPLE];
  char vals[64];
  snprintf(vals, sizeof vals, "[%lld,%lld]", (long long)n, (long long)(n * CPU_PERIOD_NS));
  sqlite3_bind_int64(st, 1, snap);
  sqlite3_bind_int64(st, 2, stack);
  if (e) {
    uint8_t tid[16];
    char lab[128];
    trace_id(g->o->seed, e->trace, tid);
    bind_ids(st, 3, e->sid, tid);
    labels_json(lab, sizeof lab, e->sid, tid);
    sqlite3_bind_text(st, 5, lab, -1, SQLITE_TRANSIENT);
    g->st->labelled_samples++;
  } else {
    sqlite3_bind_null(st, 3);
    sqlite3_bind_null(st, 4);
    sqlite3_bind_null(st, 5);
  }
  sqlite3_bind_text(st, 6, vals, -1, SQLITE_TRANSIENT);
  g->st->profile_samples++;
  return step(g, S_SAMPLE);
}

static int cpu_profile(gen *g, int src, int64_t at) {
  int svc = src / N_INST;
  int64_t w = (int64_t)(g->o->cpu_window_s * 1e9);
  ring_ent *fl[4096];
  size_t nf = in_flight(g, src, at, at + w, fl, 4096);
  /* the labelled samples of each span: its on-CPU self time within the window
   * over the sampling period, rounded at random */
  typedef struct row {
    int64_t stack;
    ring_ent *e;
    int64_t n;
  } row;
  size_t cap = nf * 2 + 16, nr = 0;
  row *rows = malloc(cap * sizeof *rows);
  if (!rows) return -1;
  for (size_t i = 0; i < nf; i++) {
    ring_ent *e = fl[i];
    int64_t lo = e->start > at ? e->start : at, hi = e->end < at + w ? e->end : at + w;
    double frac = e->end > e->start ? (double)(hi - lo) / (double)(e->end - e->start) : 0;
    double cpu = k_cpu_frac[g->ops[e->op].cls] * (double)e->self * frac;
    double x = cpu / (double)CPU_PERIOD_NS;
    int64_t n = (int64_t)x + (qb_rand01(&g->rng) < x - floor(x));
    if (n <= 0) continue;
    g->roots[e->trace].flags |= 2;
    int64_t a = n > 1 ? 1 + (int64_t)below(&g->rng, (uint64_t)n - 1) : n;
    int assist = qb_rand01(&g->rng) < 0.05;
    rows[nr++] = (row){
        assist ? g->stacks.svc_assist[svc][below(&g->rng, 2)].id : g->stacks.svc_cpu[svc][below(&g->rng, 6)].id, e, a};
    if (n > a) rows[nr++] = (row){g->stacks.svc_cpu[svc][below(&g->rng, 6)].id, e, n - a};
  }
  for (int k = 0; k < 3; k++) rows[nr++] = (row){g->stacks.bg_cpu[k].id, NULL, 1 + (int64_t)below(&g->rng, 40)};
  for (int k = 0; k < 6; k++)
    if (below(&g->rng, 3)) rows[nr++] = (row){g->stacks.svc_cpu[svc][k].id, NULL, 1 + (int64_t)below(&g->rng, 20)};
  char meta[] = "{\"format\":\"pprof\",\"sample_types\":[[\"samples\",\"count\"],[\"cpu\",\"nanoseconds\"]],"
                "\"period_type\":[\"cpu\",\"nanoseconds\"],\"period\":10000000,\"default_sample_type\":\"cpu\"}";
  int64_t id = insert_snapshot(g, src, "cpu", at, w, (int64_t)nr, meta);
  int rc = id < 0 ? -1 : 0;
  for (size_t i = 0; i < nr && !rc; i++) rc = sample_row(g, id, rows[i].stack, rows[i].e, rows[i].n);
  free(rows);
  g->st->cpu_snapshots++;
  return rc;
}

/* Goroutine snapshot j of a source: at a random point of the j-th of its
 * equal slots; CPU profile j: in the j-th cpu_every slot. */
static void schedule(gen *g, int src) {
  src_state *s = &g->src[src];
  s->g_next = s->g_done < s->g_total ? T0_NS + (int64_t)(((double)s->g_done + uniform(&g->rng, 0.05, 0.95)) *
                                                         (double)g->t_len / (double)s->g_total)
                                     : INT64_MAX;
  int64_t w = (int64_t)(g->o->cpu_window_s * 1e9), every = (int64_t)(g->o->cpu_every_s * 1e9);
  s->c_next = s->c_done < s->c_total ? T0_NS + (int64_t)s->c_done * every +
                                           (int64_t)(qb_rand01(&g->rng) * (double)(every > w ? every - w : 0))
                                     : INT64_MAX;
}

static void recompute_due(gen *g) {
  int64_t w = (int64_t)(g->o->cpu_window_s * 1e9);
  g->due = INT64_MAX;
  for (int s = 0; s < N_SRC; s++) {
    if (g->src[s].g_next < g->due) g->due = g->src[s].g_next;
    if (g->src[s].c_next != INT64_MAX && g->src[s].c_next + w < g->due) g->due = g->src[s].c_next + w;
  }
}

/* Emits every snapshot whose data is complete once traces start at `now`. */
static int run_events(gen *g, int64_t now) {
  if (now <= g->due) return 0;
  int64_t w = (int64_t)(g->o->cpu_window_s * 1e9);
  for (int s = 0; s < N_SRC; s++) {
    src_state *ss = &g->src[s];
    for (;;) {
      if (ss->g_next < now && ss->g_next <= (ss->c_next == INT64_MAX ? INT64_MAX : ss->c_next + w)) {
        if (goroutine_snapshot(g, s, ss->g_next)) return -1;
        ss->g_done++;
      } else if (ss->c_next != INT64_MAX && ss->c_next + w < now) {
        if (cpu_profile(g, s, ss->c_next)) return -1;
        ss->c_done++;
      } else {
        break;
      }
      schedule(g, s);
    }
  }
  recompute_due(g);
  return 0;
}

/* ---- traces ------------------------------------------------------------------- */

typedef struct node {
  int parent, op, src, depth, parallel;
  int64_t self, pre, dur, start;
  int status;
} node;

static int pick_child_op(gen *g, int svc) {
  double w[N_CHILD_OPS];
  for (int k = 0; k < N_CHILD_OPS; k++) w[k] = g->ops[g->svc_ops[svc][k]].weight;
  return g->svc_ops[svc][pick_weighted(&g->rng, w, N_CHILD_OPS)];
}

static int write_trace(gen *g, uint64_t k, uint64_t span_base, int n, int64_t t0) {
  uint64_t *rng = &g->rng;
  node nd[MAX_TRACE];
  int inst[N_SVC];
  for (int s = 0; s < N_SVC; s++) inst[s] = (int)below(rng, N_INST);
  double rw[N_SVC];
  for (int s = 0; s < N_SVC; s++) rw[s] = k_svc[s].root_weight;
  int rsvc = (int)pick_weighted(rng, rw, N_SVC);
  nd[0] = (node){.parent = -1, .op = rsvc * OPS_PER_SVC + (int)pick_weighted(rng, k_server_op_w, N_SERVER_OPS)};
  /* the tree: each span's parent is the latest span that can have children
   * half of the time, else any such span */
  for (int i = 1; i < n; i++) {
    int cand[MAX_TRACE], nc = 0;
    for (int j = 0; j < i; j++)
      if (g->ops[nd[j].op].can_parent && nd[j].depth < MAX_DEPTH) cand[nc++] = j;
    int p = nc == 0 ? 0 : below(rng, 2) ? cand[nc - 1] : cand[below(rng, (uint64_t)nc)];
    int psvc = g->ops[nd[p].op].svc, op;
    const int *callees = k_svc[psvc].callees;
    int ncall = 0;
    while (ncall < 6 && callees[ncall] >= 0) ncall++;
    if (ncall && g->ops[nd[p].op].cls == C_SERVER && qb_rand01(rng) < 0.4) {
      int c = callees[below(rng, (uint64_t)ncall)];
      op = c * OPS_PER_SVC + (int)pick_weighted(rng, k_server_op_w, N_SERVER_OPS);
    } else {
      op = pick_child_op(g, psvc);
    }
    nd[i] = (node){.parent = p, .op = op, .depth = nd[p].depth + 1};
  }
  /* durations bottom-up: own self time (log-normal, 1.2% slow), then the
   * children one after the other (or, a quarter of the time, in parallel) */
  for (int i = n - 1; i >= 0; i--) {
    const op_def *op = &g->ops[nd[i].op];
    double self = lognormal(rng, op->self_ms * 1.5e6, 0.7);
    if (qb_rand01(rng) < 0.012) self *= exp(uniform(rng, log(5.0), log(60.0)));
    nd[i].self = (int64_t)self + 1000;
    nd[i].parallel = qb_rand01(rng) < 0.25;
    int64_t kids = 0;
    for (int j = i + 1; j < n; j++)
      if (nd[j].parent == i) {
        if (nd[i].parallel) kids = nd[j].dur + 20000 > kids ? nd[j].dur + 20000 : kids;
        else kids += nd[j].dur + 20000;
      }
    nd[i].pre = (int64_t)((double)nd[i].self * uniform(rng, 0.1, 0.6));
    nd[i].dur = nd[i].self + kids;
    if (nd[i].dur > MAX_DUR_NS) nd[i].dur = MAX_DUR_NS;
    double perr = op->cls == C_SERVER || op->cls == C_INTERNAL ? 0.004 : 0.012;
    nd[i].status = qb_rand01(rng) < perr ? 2 : 0;
  }
  /* starts top-down */
  nd[0].start = t0;
  for (int i = 0; i < n; i++) {
    int64_t cur = nd[i].start + nd[i].pre;
    for (int j = i + 1; j < n; j++)
      if (nd[j].parent == i) {
        nd[j].start = cur + 10000;
        if (!nd[i].parallel) cur += nd[j].dur + 20000;
      }
  }
  uint8_t tid[16], sid[MAX_TRACE][8];
  trace_id(g->o->seed, k, tid);
  for (int i = 0; i < n; i++) span_id(g->o->seed, span_base + (uint64_t)i, sid[i]);
  sqlite3_stmt *st = g->s[S_SPAN];
  for (int i = 0; i < n; i++) {
    op_def *op = &g->ops[nd[i].op];
    int src = op->svc * N_INST + inst[op->svc];
    int v = nd[i].status == 2 ? BODY_VARIANTS : (int)below(rng, BODY_VARIANTS);
    if (g->o->old_spans) {
      sqlite3_bind_blob(st, 1, tid, 16, SQLITE_STATIC);
      sqlite3_bind_blob(st, 2, sid[i], 8, SQLITE_STATIC);
      if (nd[i].parent >= 0) sqlite3_bind_blob(st, 3, sid[nd[i].parent], 8, SQLITE_STATIC);
      else sqlite3_bind_null(st, 3);
      sqlite3_bind_int64(st, 4, src + 1);
      sqlite3_bind_int64(st, 5, nd[i].op + 1);
      sqlite3_bind_int64(st, 6, op->scope);
      sqlite3_bind_int64(st, 7, nd[i].start);
      sqlite3_bind_int64(st, 8, nd[i].dur);
      sqlite3_bind_int(st, 9, op->kind);
      sqlite3_bind_int(st, 10, nd[i].status);
      sqlite3_bind_blob(st, 11, op->body[v], (int)op->body_len[v], SQLITE_STATIC);
      if (step(g, S_SPAN)) return -1;
    } else {
      mw__sb_span sp = {.has_parent = nd[i].parent >= 0,
                        .op_id = nd[i].op + 1,
                        .scope_id = op->scope,
                        .start_ns = nd[i].start,
                        .dur_ns = nd[i].dur,
                        .kind = op->kind,
                        .status = nd[i].status,
                        .body = op->body[v],
                        .body_len = op->body_len[v]};
      memcpy(sp.trace_id, tid, 16);
      memcpy(sp.span_id, sid[i], 8);
      if (nd[i].parent >= 0) memcpy(sp.parent_id, sid[nd[i].parent], 8);
      if (note_dur(g, nd[i].op, nd[i].dur) || add_block_span(g, src, t0, &sp)) return -1;
    }
    op->count++;
    src_state *ss = &g->src[src];
    ring_ent *e = &ss->ring[ss->head];
    ss->head = (ss->head + 1) % RING;
    if (ss->n < RING) ss->n++;
    int kids = 0;
    for (int j = i + 1; j < n; j++) kids += nd[j].parent == i;
    *e = (ring_ent){.start = nd[i].start,
                    .end = nd[i].start + nd[i].dur,
                    .self = nd[i].self,
                    .trace = (uint32_t)k,
                    .op = (uint16_t)nd[i].op,
                    .fanout = (uint8_t)(nd[i].parallel && kids > 1 ? kids : 0)};
    memcpy(e->sid, sid[i], 8);
  }
  if (g->n_roots == g->cap_roots) {
    size_t ncap = g->cap_roots ? g->cap_roots * 2 : 1 << 16;
    root_info *r = realloc(g->roots, ncap * sizeof *r);
    if (!r) return -1;
    g->roots = r;
    g->cap_roots = ncap;
  }
  g->roots[g->n_roots++] = (root_info){.dur = nd[0].dur, .op = (uint16_t)nd[0].op, .n = (uint8_t)n};
  return 0;
}

/* ---- GC cycles -------------------------------------------------------------------- */

static int write_gc(gen *g) {
  uint64_t *rng = &g->rng;
  for (int s = 0; s < N_SRC; s++) {
    uint64_t k = g->o->gc / N_SRC + ((uint64_t)s < g->o->gc % N_SRC);
    int64_t n = 1 + (int64_t)below(rng, 5000);
    double live = uniform(rng, 30e6, 150e6);
    int procs = g->src[s].procs;
    for (uint64_t j = 0; j < k; j++, n++) {
      int64_t start = T0_NS + (int64_t)(((double)j + uniform(rng, 0.05, 0.95)) * (double)g->t_len / (double)k);
      live *= exp(0.05 * normal(rng));
      if (live < 20e6) live = 20e6;
      if (live > 400e6) live = 400e6;
      int64_t goal = (int64_t)(live * 2), before = (int64_t)((double)goal * uniform(rng, 0.95, 1.05));
      int64_t after = (int64_t)(live * uniform(rng, 0.98, 1.1));
      int64_t stw1 = (int64_t)lognormal(rng, 60e3, 0.6), stw2 = (int64_t)lognormal(rng, 120e3, 0.6);
      int64_t mark = (int64_t)lognormal(rng, 4e6, 0.7);
      if (qb_rand01(rng) < 0.01) stw2 *= 20; /* the odd long mark termination */
      int64_t bg = (int64_t)((double)mark * procs * 0.25), assist = (int64_t)((double)bg * uniform(rng, 0, 0.4));
      int64_t v[20] = {s + 1,
                       n,
                       start,
                       stw1,
                       mark,
                       stw2,
                       1 + (int64_t)below(rng, 6),
                       stw1 * procs,
                       assist,
                       bg,
                       (int64_t)((double)mark * uniform(rng, 0, 1)),
                       stw2 * procs,
                       before,
                       after,
                       (int64_t)live,
                       goal,
                       (int64_t)uniform(rng, 200e3, 2e6),
                       350000 + s * 1000,
                       procs,
                       qb_rand01(rng) < 0.001};
      sqlite3_stmt *st = g->s[S_GC];
      for (int c = 0; c < 20; c++) sqlite3_bind_int64(st, c + 1, v[c]);
      if (step(g, S_GC)) return -1;
      g->st->gc++;
    }
  }
  return 0;
}

/* ---- the meta file ---------------------------------------------------------------- */

/* FNV-1a over the migration files (names and contents, in name order): a
 * cached data dir made with other migrations is not reused. */
static int table_exists(sqlite3 *db, const char *name) {
  sqlite3_stmt *st;
  int yes = 0;
  if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", -1, &st, NULL) ==
      SQLITE_OK) {
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    yes = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
  }
  return yes;
}

static uint64_t schema_fingerprint(const char *dir) {
  uint64_t h = 0xcbf29ce484222325ULL;
  DIR *d = opendir(dir);
  if (!d) return 0;
  char *names[256];
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 256) {
    size_t l = strlen(e->d_name);
    if (l > 4 && strcmp(e->d_name + l - 4, ".sql") == 0) names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof *names, cmp_str);
  for (size_t i = 0; i < n; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    char *text = read_text(path);
    for (const char *p = names[i]; *p; p++) h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
    for (const char *p = text ? text : ""; *p; p++) h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
    free(text);
    free(names[i]);
  }
  return h;
}

void qb_meta_header(const qb_gen_opts *o, char *out, size_t outsz) {
  snprintf(
      out, outsz,
      "# bench-query v1 spans=%llu gc=%llu snapshots=%llu hours=%g cpu_every=%g cpu_window=%g seed=%llu analyze=%d "
      "schema=%016llx%s",
      (unsigned long long)o->spans, (unsigned long long)o->gc, (unsigned long long)o->snapshots, o->hours,
      o->cpu_every_s, o->cpu_window_s, (unsigned long long)o->seed, o->analyze,
      (unsigned long long)schema_fingerprint(o->schema_dir), o->old_spans ? " form=rows" : " form=blocks");
}

long qb_read_meta(const char *dir, const char *header, qb_trace **out) {
  char path[4200], line[512];
  snprintf(path, sizeof path, "%s/%s", dir, QB_META_NAME);
  *out = NULL;
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  if (!fgets(line, sizeof line, f) || strncmp(line, header, strlen(header)) != 0 || line[strlen(header)] != '\n') {
    fclose(f);
    return -1;
  }
  size_t n = 0, cap = 0;
  qb_trace *v = NULL;
  while (fgets(line, sizeof line, f)) {
    if (line[0] == '#') continue;
    char hex[40];
    long long dur, p90;
    int op, ns, fl;
    if (sscanf(line, "%39s %d %lld %lld %d %d", hex, &op, &dur, &p90, &ns, &fl) != 6 || strlen(hex) != 32) continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 4096;
      qb_trace *p = realloc(v, cap * sizeof *v);
      if (!p) break;
      v = p;
    }
    qb_trace *t = &v[n];
    for (int i = 0; i < 16; i++) {
      unsigned b;
      sscanf(hex + 2 * i, "%2x", &b);
      t->id[i] = (uint8_t)b;
    }
    t->op_id = op;
    t->dur_ns = dur;
    t->p90_ns = p90;
    t->n_spans = ns;
    t->flags = fl;
    n++;
  }
  fclose(f);
  *out = v;
  return (long)n;
}

/* p90 of every operation that has root spans (nearest rank, all time), then
 * the traces whose root took at least that long. */
static int write_meta(gen *g, const char *path_tmp, const char *path) {
  int64_t p90[N_OPS];
  int has_root[N_OPS] = {0};
  for (size_t i = 0; i < g->n_roots; i++) has_root[g->roots[i].op] = 1;
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(g->db, "SELECT dur_ns FROM spans WHERE op_id = ?1 ORDER BY dur_ns LIMIT 1 OFFSET ?2", -1, &st,
                         NULL) != SQLITE_OK)
    return -1;
  for (int k = 0; k < N_OPS; k++) {
    p90[k] = INT64_MAX;
    if (!has_root[k] || !g->ops[k].count) continue;
    uint64_t rank = (uint64_t)ceil(0.9 * (double)g->ops[k].count);
    if (rank < 1) rank = 1;
    if (!g->o->old_spans) { /* the spans are in blocks: the durations the generator kept */
      struct op_durs *d = &g->durs[k];
      qsort(d->all, d->n_all, sizeof *d->all, cmp_i64);
      if (rank <= d->n_all) p90[k] = d->all[rank - 1];
      continue;
    }
    sqlite3_bind_int64(st, 1, k + 1);
    sqlite3_bind_int64(st, 2, (int64_t)rank - 1);
    if (sqlite3_step(st) == SQLITE_ROW) p90[k] = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  FILE *f = fopen(path_tmp, "w");
  if (!f) {
    fprintf(stderr, "bench-query: %s: %s\n", path_tmp, strerror(errno));
    return -1;
  }
  char header[512];
  qb_meta_header(g->o, header, sizeof header);
  fprintf(f, "%s\n# trace_id root_op_id root_dur_ns op_p90_ns spans flags(1 goroutine rows, 2 cpu samples)\n", header);
  for (size_t i = 0; i < g->n_roots; i++) {
    const root_info *r = &g->roots[i];
    if (r->dur < p90[r->op]) continue;
    uint8_t tid[16];
    char hex[33];
    trace_id(g->o->seed, i, tid);
    qb_hex(tid, 16, hex);
    fprintf(f, "%s %d %lld %lld %d %d\n", hex, r->op + 1, (long long)r->dur, (long long)p90[r->op], r->n, r->flags);
    g->st->candidates++;
  }
  if (fclose(f) != 0 || rename(path_tmp, path) != 0) {
    fprintf(stderr, "bench-query: writing %s: %s\n", path, strerror(errno));
    return -1;
  }
  return 0;
}

/* ---- main entry ------------------------------------------------------------------- */

int qb_generate(const qb_gen_opts *o, qb_gen_stats *st) {
  memset(st, 0, sizeof *st);
  double t_start = qb_mono_s();
  if (mkdir(o->dir, 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "bench-query: %s: %s\n", o->dir, strerror(errno));
    return -1;
  }
  char db_path[4200], meta_path[4200], meta_tmp[4300];
  snprintf(db_path, sizeof db_path, "%s/meanwhile.db", o->dir);
  snprintf(meta_path, sizeof meta_path, "%s/%s", o->dir, QB_META_NAME);
  snprintf(meta_tmp, sizeof meta_tmp, "%s.tmp", meta_path);
  unlink(meta_path); /* no meta file: not a finished data dir */
  mwb_remove_db(db_path);

  gen *g = calloc(1, sizeof *g);
  if (!g) return -1;
  g->o = o;
  g->st = st;
  g->rng = o->seed * 0x2545F4914F6CDD1DULL + 1;
  g->t_len = (int64_t)(o->hours * 3600e9);
  int rc = -1, n_index = 0;
  char *index_sql[16] = {0};
  if (sqlite3_open_v2(db_path, &g->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
      SQLITE_OK) {
    fprintf(stderr, "bench-query: open %s: %s\n", db_path, sqlite3_errmsg(g->db));
    goto out;
  }
  if (migrate(g->db, o->schema_dir) < 0) goto out;
  /* drop the secondary indexes of the big tables; re-created from their own SQL at the end */
  {
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(g->db,
                           "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND "
                           "tbl_name IN ('spans', 'goroutine_groups', 'profile_samples')",
                           -1, &q, NULL) != SQLITE_OK)
      goto out;
    char *names[16];
    while (sqlite3_step(q) == SQLITE_ROW && n_index < 16) {
      names[n_index] = strdup((const char *)sqlite3_column_text(q, 0));
      index_sql[n_index++] = strdup((const char *)sqlite3_column_text(q, 1));
    }
    sqlite3_finalize(q);
    int bad = 0;
    for (int i = 0; i < n_index; i++) {
      char drop[300];
      snprintf(drop, sizeof drop, "DROP INDEX \"%s\"", names[i]);
      if (!bad && exec(g->db, drop)) bad = 1;
      free(names[i]);
    }
    if (bad) goto out;
  }
  if (exec(g->db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-262144; "
                  "PRAGMA temp_store=FILE; PRAGMA locking_mode=EXCLUSIVE;"))
    goto out;
  {
    /* stacks.hash (migration 2 since 5416cc1): the server looks stacks up by mw__hash(frames) */
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(g->db, "SELECT 1 FROM pragma_table_info('stacks') WHERE name = 'hash'", -1, &q, NULL) !=
        SQLITE_OK)
      goto out;
    g->stack_hash = sqlite3_step(q) == SQLITE_ROW;
    sqlite3_finalize(q);
  }
  for (int i = 0; i < S_N; i++)
    if (sqlite3_prepare_v3(g->db,
                           i == S_STACK && g->stack_hash ? "INSERT INTO stacks (id, frames, hash) VALUES (?1, ?2, ?3)"
                                                         : k_sql[i],
                           -1, SQLITE_PREPARE_PERSISTENT, &g->s[i], NULL) != SQLITE_OK) {
      fprintf(stderr, "bench-query: prepare: %s\n", sqlite3_errmsg(g->db));
      goto out;
    }
  for (int s = 0; s < N_SRC; s++) {
    g->src[s].ring = calloc(RING, sizeof(ring_ent));
    if (!g->src[s].ring) goto out;
    g->src[s].g_total = o->snapshots / N_SRC + ((uint64_t)s < o->snapshots % N_SRC);
    g->src[s].c_total = o->cpu_every_s > 0 ? (uint64_t)(o->hours * 3600 / o->cpu_every_s) : 0;
  }
  if (!o->old_spans) {
    g->blk = calloc(N_SRC, sizeof *g->blk);
    g->durs = calloc(N_OPS, sizeof *g->durs);
    g->mem = mw__truns_mem_new();
    if (!g->blk || !g->durs || !g->mem || mw__bw_open(g->db, &g->bw) || mw__truns_w_open(g->db, &g->tw)) {
      fprintf(stderr, "bench-query: the block writer: %s\n", sqlite3_errmsg(g->db));
      goto out;
    }
    for (int k2 = 0; k2 < N_OPS; k2++)
      g->durs[k2].slow_ns = 0; /* as the writer: every span is listed slow until a threshold exists */
    g->run_start = T0_NS;
  }
  if (exec(g->db, "BEGIN") || write_dimensions(g)) goto out;
  for (int s = 0; s < N_SRC; s++) schedule(g, s);
  recompute_due(g);

  /* spans, in trace start order, with the runtime snapshots that they make complete */
  uint64_t written = 0, k = 0;
  double t_prog = qb_mono_s();
  while (written < o->spans) {
    int n = MIN_TRACE + (int)below(&g->rng, MAX_TRACE - MIN_TRACE + 1);
    if ((uint64_t)n > o->spans - written) n = (int)(o->spans - written);
    int64_t t0 = T0_NS + (int64_t)(((double)written + qb_rand01(&g->rng) * n) / (double)o->spans * (double)g->t_len);
    if (!o->old_spans &&
        (t0 - g->run_start >= MW_BLK_FLUSH_NS || mw__truns_mem_count(g->mem) >= MW_BLK_FLUSH_ENTRIES) &&
        flush_runs(g, t0))
      goto out;
    if (run_events(g, t0) || write_trace(g, k, written, n, t0)) goto out;
    written += (uint64_t)n;
    k++;
    if (written / 1000000 != (written - (uint64_t)n) / 1000000) {
      double now = qb_mono_s();
      fprintf(stderr, "bench-query: gen: %llu spans (%.0f/s), %llu goroutine + %llu cpu snapshots\n",
              (unsigned long long)written, 1e6 / (now - t_prog), (unsigned long long)st->goroutine_snapshots,
              (unsigned long long)st->cpu_snapshots);
      t_prog = now;
    }
  }
  st->spans = written;
  st->traces = k;
  if (!o->old_spans) { /* the writer's close path: seal every open block, flush the partition */
    for (int s2 = 0; s2 < N_SRC; s2++)
      if (seal(g, s2)) goto out;
    if (flush_runs(g, T0_NS + g->t_len)) goto out;
  }
  if (run_events(g, INT64_MAX) || write_gc(g) || exec(g->db, "COMMIT")) goto out;
  for (int s = 0; s < N_OPS; s++) {
    sqlite3_bind_int64(g->s[S_OPCOUNT], 1, s + 1);
    sqlite3_bind_int64(g->s[S_OPCOUNT], 2, (int64_t)g->ops[s].count);
    if (sqlite3_step(g->s[S_OPCOUNT]) != SQLITE_DONE) goto out;
    sqlite3_reset(g->s[S_OPCOUNT]);
  }
  double t_loaded = qb_mono_s();
  st->load_s = t_loaded - t_start;
  fprintf(stderr, "bench-query: gen: loaded %llu spans, %llu gc, %llu+%llu snapshots in %.1f s; indexing\n",
          (unsigned long long)st->spans, (unsigned long long)st->gc, (unsigned long long)st->goroutine_snapshots,
          (unsigned long long)st->cpu_snapshots, st->load_s);
  for (int i = 0; i < n_index; i++)
    if (exec(g->db, index_sql[i])) goto out;
  /* the slow spans, as the server's writer lists them (schema/sql/0004):
   * each operation's threshold the p90 of its latest 1,024 spans, and every
   * span at or above it listed */
  if (!o->old_spans) { /* the thresholds the seals used last */
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(g->db, "UPDATE operations SET slow_ns = ?2 WHERE id = ?1", -1, &q, NULL) != SQLITE_OK ||
        exec(g->db, "BEGIN"))
      goto out;
    for (int k2 = 0; k2 < N_OPS; k2++) {
      sqlite3_bind_int64(q, 1, k2 + 1);
      sqlite3_bind_int64(q, 2, g->durs[k2].slow_ns == INT64_MAX ? 0 : g->durs[k2].slow_ns);
      int r2 = sqlite3_step(q);
      sqlite3_reset(q);
      if (r2 != SQLITE_DONE) {
        sqlite3_finalize(q);
        goto out;
      }
    }
    sqlite3_finalize(q);
    if (exec(g->db, "COMMIT")) goto out;
    if (sqlite3_prepare_v2(g->db, "SELECT count(*) FROM trace_run_list WHERE level >= 0", -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
      st->live_runs = (uint64_t)sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
  } else if (table_exists(g->db, "slow_spans") &&
             exec(g->db,
                  "BEGIN; UPDATE operations SET slow_ns = coalesce((SELECT dur_ns FROM (SELECT dur_ns FROM spans "
                  "INDEXED BY spans_by_op WHERE op_id = operations.id ORDER BY start_ns DESC LIMIT 1024) "
                  "ORDER BY dur_ns LIMIT 1 OFFSET 921), 0); "
                  "INSERT INTO slow_spans (op_id, dur_ns, span_rowid, start_ns) SELECT s.op_id, s.dur_ns, s.rowid, "
                  "s.start_ns FROM spans s JOIN operations o ON o.id = s.op_id WHERE s.dur_ns >= o.slow_ns; COMMIT"))
    goto out;
  double t_indexed = qb_mono_s();
  st->index_s = t_indexed - t_loaded;
  if (o->analyze && exec(g->db, "ANALYZE")) goto out;
  if (write_meta(g, meta_tmp, meta_path)) goto out;
  for (int i = 0; i < S_N; i++) {
    sqlite3_finalize(g->s[i]);
    g->s[i] = NULL;
  }
  if (exec(g->db, "PRAGMA locking_mode=NORMAL; PRAGMA journal_mode=WAL;")) goto out;
  st->finish_s = qb_mono_s() - t_indexed;
  rc = 0;
out:
  for (int i = 0; i < S_N; i++) sqlite3_finalize(g->s[i]);
  mw__bw_close(g->bw);
  mw__truns_w_close(g->tw);
  mw__truns_mem_free(g->mem);
  free(g->blk);
  if (g->durs)
    for (int k2 = 0; k2 < N_OPS; k2++) free(g->durs[k2].all);
  free(g->durs);
  if (g->db && sqlite3_close(g->db) != SQLITE_OK) rc = -1;
  for (int i = 0; i < n_index; i++) free(index_sql[i]);
  for (int s = 0; s < N_SRC; s++) free(g->src[s].ring);
  for (int k2 = 0; k2 < N_OPS; k2++)
    for (int v = 0; v <= BODY_VARIANTS; v++) free(g->ops[k2].body[v]);
  for (int k2 = 0; k2 < N_PAYLOADS; k2++) free(g->payload[k2]);
  if (g->stacks.background[0].text) free_stacks(&g->stacks);
  free(g->roots);
  free(g);
  struct stat sb;
  if (stat(db_path, &sb) == 0) st->db_bytes = (uint64_t)sb.st_size;
  st->total_s = qb_mono_s() - t_start;
  if (rc) {
    unlink(meta_path);
    fprintf(stderr, "bench-query: generation failed\n");
  }
  return rc;
}

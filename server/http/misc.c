/* Health, Prometheus metrics, and the web viewer's static files (compiled into
 * the binary from web/app, see cmake/embed.cmake). */
#include "http/http_int.h"
#include "core/embed.h"
#include "core/error.h"

#include <string.h>

static void handle_healthz(mw_req *r) { mw__reply_static(r, 200, "text/plain; charset=utf-8", "ok\n", 3); }

static mw_gauge queue_spans, queue_jobs, db_bytes, used_bytes;
static mw_counter retention_deleted;

static void handle_metrics(mw_req *r) {
  mw_store_stats st;
  mw__store_stats(r->http->opts.store, &st);
  mw__gauge_set(&queue_spans, (int64_t)st.queue_spans);
  mw__gauge_set(&queue_jobs, (int64_t)st.queue_jobs);
  mw__gauge_set(&db_bytes, (int64_t)st.db_bytes);
  mw__gauge_set(&used_bytes, (int64_t)st.used_bytes);
  atomic_store(&retention_deleted.v, st.retention_deleted);
  const mw_metric_desc descs[] = {
      {.name = "meanwhile_spans_accepted_total", .help = "Spans stored.", .kind = MW_METRIC_COUNTER,
       .counter = &mw__m_spans_accepted},
      {.name = "meanwhile_spans_rejected_total", .help = "Spans refused as invalid (partial success).",
       .kind = MW_METRIC_COUNTER, .counter = &mw__m_spans_rejected},
      {.name = "meanwhile_http_requests_total", .help = "HTTP requests answered, by status code.",
       .kind = MW_METRIC_COUNTER_VEC, .key_label = "code", .vec = &mw__m_requests},
      {.name = "meanwhile_write_queue_spans", .help = "Spans waiting for or in a commit.", .kind = MW_METRIC_GAUGE,
       .gauge = &queue_spans},
      {.name = "meanwhile_write_queue_jobs", .help = "Write jobs waiting for or in a commit.",
       .kind = MW_METRIC_GAUGE, .gauge = &queue_jobs},
      {.name = "meanwhile_commit_duration_seconds", .help = "Time to write and commit one group transaction.",
       .kind = MW_METRIC_HISTOGRAM, .histogram = &mw__m_commit_seconds},
      {.name = "meanwhile_db_bytes", .help = "Size of the database file and its WAL.", .kind = MW_METRIC_GAUGE,
       .gauge = &db_bytes},
      {.name = "meanwhile_db_used_bytes", .help = "Bytes of database pages in use (what --max-db-size bounds).",
       .kind = MW_METRIC_GAUGE, .gauge = &used_bytes},
      {.name = "meanwhile_retention_deleted_rows_total", .help = "Rows deleted by retention since start.",
       .kind = MW_METRIC_COUNTER, .counter = &retention_deleted},
  };
  mw_buf b;
  mw__buf_init(&b, (size_t)1 << 20);
  if (mw__metrics_render(&b, descs, sizeof descs / sizeof descs[0]) != MW_OK) {
    mw__buf_free(&b);
    return mw__reply_text(r, 500, "rendering metrics failed");
  }
  mw__reply_buf(r, 200, "text/plain; version=0.0.4; charset=utf-8", &b);
}

static const char *content_type_of(const char *path) {
  static const struct { const char *ext, *type; } types[] = {
      {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"}, {".png", "image/png"}, {".json", "application/json"},
      {".ico", "image/x-icon"}, {".woff2", "font/woff2"}};
  const char *dot = strrchr(path, '.');
  for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
    if (strcmp(dot, types[i].ext) == 0) return types[i].type;
  return "application/octet-stream";
}

static void handle_static(mw_req *r) {
  const char *path = r->url + 1;
  const struct mw__embedded *index = NULL;
  for (size_t i = 0; i < mw__web_files_count; i++) {
    if (strcmp(mw__web_files[i].path, "index.html") == 0) index = &mw__web_files[i];
    if (*path && strcmp(mw__web_files[i].path, path) == 0)
      return mw__reply_static(r, 200, content_type_of(path), mw__web_files[i].data, mw__web_files[i].len);
  }
  /* the viewer routes in the browser: its own paths get the page, so that a
   * deep link works; any other unknown path stays a 404 */
  static const char *const views[] = {"trace/", "service/", "operation/", "compare/", "snapshot/", "search"};
  int view = !*path;
  for (size_t i = 0; i < sizeof views / sizeof views[0]; i++)
    if (strncmp(path, views[i], strlen(views[i])) == 0) view = 1;
  if (index && view) return mw__reply_static(r, 200, "text/html; charset=utf-8", index->data, index->len);
  if (!index && !*path)
    return mw__reply_text(r, 200, "meanwhiled is running. The web viewer is not built into this binary; "
                                  "the API is under /api/ and OTLP ingest at /v1/traces.\n");
  mw__reply_text(r, 404, "not found");
}

const mw_route mw__misc_routes[] = {
    {.method = "GET", .access = MW_ACCESS_OPEN, .path = "/healthz", .handle = handle_healthz},
    {.method = "GET", .path = "/metrics", .handle = handle_metrics},
    /* the viewer's files hold no data; the data comes from the API, behind the query tokens */
    {.method = "GET", .access = MW_ACCESS_OPEN, .path = "/", .prefix = 1, .handle = handle_static},
    {0},
};

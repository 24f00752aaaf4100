/* Health, Prometheus metrics (query/metrics.h), the web viewer's settings
 * (GET /api/v1/viewer-config) and its static files (compiled into the
 * binary from web/app, see cmake/embed.cmake). */
#include "http/http_int.h"
#include "core/embed.h"
#include "core/error.h"
#include "query/metrics.h"

#include <string.h>

static void handle_healthz(mw_req *r) {
  if (mw__param_only(r, NULL, 0)) return;
  mw__reply_static(r, MW_OK, "text/plain; charset=utf-8", "ok\n", 3);
}

static void handle_metrics(mw_req *r) {
  if (mw__param_only(r, NULL, 0)) return;
  const mw_metric_desc http[] = {
      {.name = "meanwhile_spans_accepted_total",
       .help = "Spans stored.",
       .kind = MW_METRIC_COUNTER,
       .counter = &mw__m_spans_accepted},
      {.name = "meanwhile_spans_rejected_total",
       .help = "Spans refused as invalid (partial success).",
       .kind = MW_METRIC_COUNTER,
       .counter = &mw__m_spans_rejected},
      {.name = "meanwhile_profiles_accepted_total",
       .help = "OTLP profiles stored (POST /v1development/profiles).",
       .kind = MW_METRIC_COUNTER,
       .counter = &mw__m_profiles_accepted},
      {.name = "meanwhile_profiles_rejected_total",
       .help = "OTLP profiles refused as invalid (partial success).",
       .kind = MW_METRIC_COUNTER,
       .counter = &mw__m_profiles_rejected},
      {.name = "meanwhile_http_requests_total",
       .help = "HTTP requests answered, by status code.",
       .kind = MW_METRIC_COUNTER_VEC,
       .key_label = "code",
       .vec = &mw__m_requests},
  };
  mw_answer a;
  if (mw__q_metrics(r->http->opts.store, http, sizeof http / sizeof http[0], &a)) {
    mw__answer_free(&a);
    return mw__reply_text(r, a.rc, a.error);
  }
  mw__reply_buf(r, MW_OK, a.content_type, &a.body);
}

/* GET /api/v1/viewer-config: what the viewer needs to know of the server's
 * options: the Grafana to link traces to (--grafana-url and
 * --grafana-datasource-uid, both checked at start), or null. */
static void handle_viewer_config(mw_req *r) {
  if (mw__param_only(r, NULL, 0)) return;
  const mw_http_opts *o = &r->http->opts;
  mw_buf b;
  mw__buf_init(&b, 8192);
  mw_jsonw w;
  mw__jw_init(&w, &b);
  mw__jw_obj(&w);
  mw__jw_key(&w, "grafana");
  if (o->grafana_url && o->grafana_datasource_uid) {
    mw__jw_obj(&w);
    mw__jw_kstr(&w, "url", o->grafana_url);
    mw__jw_kstr(&w, "datasource_uid", o->grafana_datasource_uid);
    mw__jw_obj_end(&w);
  } else {
    mw__jw_null(&w);
  }
  mw__jw_obj_end(&w);
  mw__reply_buf(r, MW_OK, "application/json", &b);
}

static const char *content_type_of(const char *path) {
  static const struct {
    const char *ext, *type;
  } types[] = {{".html", "text/html; charset=utf-8"},
               {".js", "text/javascript; charset=utf-8"},
               {".mjs", "text/javascript; charset=utf-8"},
               {".css", "text/css; charset=utf-8"},
               {".svg", "image/svg+xml"},
               {".png", "image/png"},
               {".json", "application/json"},
               {".ico", "image/x-icon"},
               {".woff2", "font/woff2"}};
  const char *dot = strrchr(path, '.');
  for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
    if (strcmp(dot, types[i].ext) == 0) return types[i].type;
  return "application/octet-stream";
}

/* What the viewer serves at url ("/..."): its file, or the page for "/" and
 * the viewer's own routes (so that a deep link works); *index gets the page
 * (NULL when the viewer is not built in). NULL when url is none of those. */
static const struct mw__embedded *viewer_file(const char *url, const struct mw__embedded **index) {
  const char *path = url + 1;
  *index = NULL;
  const struct mw__embedded *file = NULL;
  for (size_t i = 0; i < mw__web_files_count; i++) {
    if (strcmp(mw__web_files[i].path, "index.html") == 0) *index = &mw__web_files[i];
    if (*path && strcmp(mw__web_files[i].path, path) == 0) file = &mw__web_files[i];
  }
  if (file) return file;
  static const char *const views[] = {"trace/", "service/", "operation/", "compare/", "snapshot/", "source/", "search"};
  int view = !*path;
  for (size_t i = 0; i < sizeof views / sizeof views[0]; i++)
    if (strncmp(path, views[i], strlen(views[i])) == 0) view = 1;
  return view ? *index : NULL;
}

int mw__viewer_has(const char *url) {
  const struct mw__embedded *index;
  return viewer_file(url, &index) != NULL || strcmp(url, "/") == 0;
}

static void handle_static(mw_req *r) {
  const char *path = r->url + 1;
  const struct mw__embedded *index, *f = viewer_file(r->url, &index);
  if (f && f != index) return mw__reply_static(r, MW_OK, content_type_of(path), f->data, f->len);
  if (f) return mw__reply_static(r, MW_OK, "text/html; charset=utf-8", index->data, index->len);
  if (!index && !*path)
    return mw__reply_text(r, MW_OK,
                          "meanwhiled is running. The web viewer is not built into this binary; "
                          "the API is under /api/ and OTLP ingest at /v1/traces.\n");
  mw__reply_text(r, MW_ENOTFOUND, "not found");
}

const mw_route mw__misc_routes[] = {
    {.method = "GET", .access = MW_ACCESS_OPEN, .path = "/healthz", .handle = handle_healthz},
    {.method = "GET", .path = "/metrics", .handle = handle_metrics},
    /* a query route (behind the query tokens) that reads no data */
    {.method = "GET", .path = "/api/v1/viewer-config", .handle = handle_viewer_config},
    /* the viewer's files hold no data; the data comes from the API, behind the query tokens */
    {.method = "GET", .access = MW_ACCESS_OPEN, .path = "/", .prefix = 1, .handle = handle_static},
    {0},
};

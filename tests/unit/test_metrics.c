/* Unit tests for core/metrics.c: the exact text exposition of a small registry
 * (every metric kind, shared families, escaping, number formats), descriptor
 * validation, and lock-free updates from several threads adding up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/metrics.h"

/* Globals with static initialisers, as the server will declare them. */
static mw_counter_vec http_requests;
static mw_gauge queue_depth;
static mw_counter records_traces, records_logs;
static const double latency_bounds[] = {1e-05, 0.005, 0.25, 1, 2.5, 1e6};
static mw_histogram latency = MW_HISTOGRAM_INIT(latency_bounds);
static const double one_bound[] = {0.1};
static mw_histogram labelled = MW_HISTOGRAM_INIT(one_bound);
static mw_histogram defaults = MW_HISTOGRAM_DEFAULT_INIT;

static const mw_metric_desc registry[] = {
    {.name = "meanwhile_http_requests_total",
     .help = "HTTP requests answered, by status.",
     .kind = MW_METRIC_COUNTER_VEC,
     .key_label = "status",
     .vec = &http_requests},
    {.name = "meanwhile_queue_depth",
     .help = "Batches waiting to be stored.",
     .kind = MW_METRIC_GAUGE,
     .gauge = &queue_depth},
    {.name = "meanwhile_records_total",
     .help = "Records received.\nBy signal; a \\ too.",
     .kind = MW_METRIC_COUNTER,
     .labels = "signal=\"traces\"",
     .counter = &records_traces},
    {.name = "meanwhile_records_total",
     .help = "ignored: same family",
     .kind = MW_METRIC_COUNTER,
     .labels = "signal=\"logs\"",
     .counter = &records_logs},
    {.name = "meanwhile_request_duration_seconds",
     .help = "Request latency.",
     .kind = MW_METRIC_HISTOGRAM,
     .histogram = &latency},
    {.name = "meanwhile_store_seconds",
     .kind = MW_METRIC_HISTOGRAM,
     .labels = "table=\"spans\"",
     .histogram = &labelled},
};

static const char expected[] = "# HELP meanwhile_http_requests_total HTTP requests answered, by status.\n"
                               "# TYPE meanwhile_http_requests_total counter\n"
                               "meanwhile_http_requests_total{status=\"200\"} 3\n"
                               "meanwhile_http_requests_total{status=\"413\"} 1\n"
                               "# HELP meanwhile_queue_depth Batches waiting to be stored.\n"
                               "# TYPE meanwhile_queue_depth gauge\n"
                               "meanwhile_queue_depth -2\n"
                               "# HELP meanwhile_records_total Records received.\\nBy signal; a \\\\ too.\n"
                               "# TYPE meanwhile_records_total counter\n"
                               "meanwhile_records_total{signal=\"traces\"} 18446744073709551615\n"
                               "meanwhile_records_total{signal=\"logs\"} 0\n"
                               "# HELP meanwhile_request_duration_seconds Request latency.\n"
                               "# TYPE meanwhile_request_duration_seconds histogram\n"
                               "meanwhile_request_duration_seconds_bucket{le=\"1e-05\"} 0\n"
                               "meanwhile_request_duration_seconds_bucket{le=\"0.005\"} 1\n"
                               "meanwhile_request_duration_seconds_bucket{le=\"0.25\"} 2\n"
                               "meanwhile_request_duration_seconds_bucket{le=\"1\"} 3\n"
                               "meanwhile_request_duration_seconds_bucket{le=\"2.5\"} 4\n"
                               "meanwhile_request_duration_seconds_bucket{le=\"1e+06\"} 5\n"
                               "meanwhile_request_duration_seconds_bucket{le=\"+Inf\"} 6\n"
                               /* 3000003.251953125, written as the Go client writes floats */
                               "meanwhile_request_duration_seconds_sum 3.000003251953125e+06\n"
                               "meanwhile_request_duration_seconds_count 6\n"
                               "# TYPE meanwhile_store_seconds histogram\n"
                               "meanwhile_store_seconds_bucket{table=\"spans\",le=\"0.1\"} 0\n"
                               "meanwhile_store_seconds_bucket{table=\"spans\",le=\"+Inf\"} 0\n"
                               "meanwhile_store_seconds_sum{table=\"spans\"} 0\n"
                               "meanwhile_store_seconds_count{table=\"spans\"} 0\n";

static void test_render_exact(void **state) {
  (void)state;
  mw__counter_vec_add(&http_requests, 200, 1);
  mw__counter_vec_add(&http_requests, 200, 2);
  mw__counter_vec_add(&http_requests, 413, 1);
  mw__counter_vec_add(&http_requests, 600, 1); /* out of range: dropped */
  mw__counter_vec_add(&http_requests, -1, 1);
  assert_int_equal(mw__counter_vec_get(&http_requests, 200), 3);
  assert_int_equal(mw__counter_vec_get(&http_requests, 600), 0);
  mw__gauge_set(&queue_depth, 5);
  mw__gauge_add(&queue_depth, -7);
  mw__counter_add(&records_traces, UINT64_MAX); /* integers print exactly, no float */
  /* Dyadic values keep the sum exact; 0.25, 2.5 and 1e6 land on their bounds
   * (le is <=); NaN is dropped. */
  double obs[] = {0.001953125, 0.25, 0.5, 2.5, 1e6, 2e6, NAN};
  for (size_t i = 0; i < sizeof obs / sizeof obs[0]; i++) mw__histogram_observe(&latency, obs[i]);
  assert_int_equal(mw__histogram_count(&latency), 6);

  mw_buf out;
  mw__buf_init(&out, 1 << 16);
  assert_int_equal(mw__metrics_render(&out, registry, sizeof registry / sizeof registry[0]), MW_OK);
  assert_string_equal(out.data, expected);
  assert_int_equal(out.len, strlen(expected));
  mw__buf_free(&out);
}

static void test_default_buckets(void **state) {
  (void)state;
  static const mw_metric_desc d[] = {{.name = "x_seconds", .kind = MW_METRIC_HISTOGRAM, .histogram = &defaults}};
  mw__histogram_observe(&defaults, 0.0078125); /* 2^-7: in le="0.01" */
  mw__histogram_observe(&defaults, 20);
  mw_buf out;
  mw__buf_init(&out, 1 << 16);
  assert_int_equal(mw__metrics_render(&out, d, 1), MW_OK);
  assert_string_equal(out.data, "# TYPE x_seconds histogram\n"
                                "x_seconds_bucket{le=\"0.005\"} 0\n"
                                "x_seconds_bucket{le=\"0.01\"} 1\n"
                                "x_seconds_bucket{le=\"0.025\"} 1\n"
                                "x_seconds_bucket{le=\"0.05\"} 1\n"
                                "x_seconds_bucket{le=\"0.1\"} 1\n"
                                "x_seconds_bucket{le=\"0.25\"} 1\n"
                                "x_seconds_bucket{le=\"0.5\"} 1\n"
                                "x_seconds_bucket{le=\"1\"} 1\n"
                                "x_seconds_bucket{le=\"2.5\"} 1\n"
                                "x_seconds_bucket{le=\"5\"} 1\n"
                                "x_seconds_bucket{le=\"10\"} 1\n"
                                "x_seconds_bucket{le=\"+Inf\"} 2\n"
                                "x_seconds_sum 20.0078125\n"
                                "x_seconds_count 2\n");
  mw__buf_free(&out);
}

static void test_render_errors(void **state) {
  (void)state;
  static mw_counter c;
  static mw_counter_vec v;
  static mw_gauge g;
  const mw_metric_desc bad[][2] = {
      {{.name = "9starts_with_digit", .kind = MW_METRIC_COUNTER, .counter = &c}},
      {{.name = "has-dash", .kind = MW_METRIC_COUNTER, .counter = &c}},
      {{.name = "", .kind = MW_METRIC_COUNTER, .counter = &c}},
      {{.name = "no_pointer", .kind = MW_METRIC_COUNTER}},
      {{.name = "no_key_label", .kind = MW_METRIC_COUNTER_VEC, .vec = &v}},
      {{.name = "colon_label", .kind = MW_METRIC_COUNTER_VEC, .key_label = "a:b", .vec = &v}},
      {{.name = "two_types", .kind = MW_METRIC_COUNTER, .counter = &c},
       {.name = "two_types", .kind = MW_METRIC_GAUGE, .gauge = &g}},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    mw_buf out;
    mw__buf_init(&out, 1 << 16);
    size_t n = bad[i][1].name ? 2 : 1;
    assert_int_equal(mw__metrics_render(&out, bad[i], n), MW_EINVAL);
    mw__buf_free(&out);
  }
  /* A colon is fine in metric names; a family may mix a counter and a counter vec. */
  mw__counter_vec_add(&v, 7, 2);
  const mw_metric_desc ok[] = {
      {.name = "ns:sub_total", .kind = MW_METRIC_COUNTER, .labels = "k=\"a\"", .counter = &c},
      {.name = "ns:sub_total", .kind = MW_METRIC_COUNTER_VEC, .key_label = "code", .vec = &v},
  };
  mw_buf out;
  mw__buf_init(&out, 1 << 16);
  assert_int_equal(mw__metrics_render(&out, ok, 2), MW_OK);
  assert_string_equal(out.data, "# TYPE ns:sub_total counter\n"
                                "ns:sub_total{k=\"a\"} 0\n"
                                "ns:sub_total{code=\"7\"} 2\n");
  mw__buf_free(&out);
  /* A buffer too small for the text: mw_buf's error, buffer freed. */
  mw__buf_init(&out, 20);
  assert_int_equal(mw__metrics_render(&out, ok, 2), MW_ETOOBIG);
  assert_null(out.data);
  /* Nothing to render is fine. */
  mw__buf_init(&out, 20);
  assert_int_equal(mw__metrics_render(&out, NULL, 0), MW_OK);
  assert_int_equal(out.len, 0);
  mw__buf_free(&out);
}

/* ---- concurrency ---------------------------------------------------------- */

enum { THREADS = 4, ITER = 200000 };
static mw_counter conc_counter;
static mw_gauge conc_gauge;
static mw_counter_vec conc_vec;
static const double conc_bounds[] = {0.25, 1};
static mw_histogram conc_hist = MW_HISTOGRAM_INIT(conc_bounds);

static void *hammer(void *arg) {
  int t = (int)(intptr_t)arg;
  for (int i = 0; i < ITER; i++) {
    mw__counter_add(&conc_counter, 1);
    mw__gauge_add(&conc_gauge, (i & 1) ? -1 : 2);
    mw__counter_vec_add(&conc_vec, 200 + (t & 1), 1);
    mw__histogram_observe(&conc_hist, (i & 1) ? 0.5 : 2.0);
  }
  return NULL;
}

static void test_concurrent(void **state) {
  (void)state;
  pthread_t th[THREADS];
  for (int t = 0; t < THREADS; t++) assert_int_equal(pthread_create(&th[t], NULL, hammer, (void *)(intptr_t)t), 0);
  for (int t = 0; t < THREADS; t++) assert_int_equal(pthread_join(th[t], NULL), 0);
  assert_int_equal(mw__counter_get(&conc_counter), (uint64_t)THREADS * ITER);
  assert_int_equal(mw__gauge_get(&conc_gauge), (int64_t)THREADS * (ITER / 2));
  assert_int_equal(mw__counter_vec_get(&conc_vec, 200), (uint64_t)THREADS / 2 * ITER);
  assert_int_equal(mw__counter_vec_get(&conc_vec, 201), (uint64_t)THREADS / 2 * ITER);
  assert_int_equal(mw__histogram_count(&conc_hist), (uint64_t)THREADS * ITER);

  const mw_metric_desc d[] = {{.name = "h_seconds", .help = "h", .kind = MW_METRIC_HISTOGRAM, .histogram = &conc_hist}};
  mw_buf out;
  mw__buf_init(&out, 1 << 16);
  assert_int_equal(mw__metrics_render(&out, d, 1), MW_OK);
  /* Halves and twos add exactly: 4 * 100000 * (0.5 + 2) = 1000000. */
  assert_string_equal(out.data, "# HELP h_seconds h\n"
                                "# TYPE h_seconds histogram\n"
                                "h_seconds_bucket{le=\"0.25\"} 0\n"
                                "h_seconds_bucket{le=\"1\"} 400000\n"
                                "h_seconds_bucket{le=\"+Inf\"} 800000\n"
                                "h_seconds_sum 1e+06\n"
                                "h_seconds_count 800000\n");
  mw__buf_free(&out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_render_exact),
      cmocka_unit_test(test_default_buckets),
      cmocka_unit_test(test_render_errors),
      cmocka_unit_test(test_concurrent),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

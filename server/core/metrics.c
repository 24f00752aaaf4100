/* Metrics updates and the Prometheus text exposition (see metrics.h). Numbers
 * are written the way the Go client library writes them (integers for our
 * integer counters and gauges; the shortest round-trip form of a float, with
 * Go's 'g' layout, for bucket bounds and sums), so our output looks like what
 * Prometheus users already know and le label values stay stable. */
#include "core/metrics.h"
#include "core/error.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double mw__default_seconds_bounds[MW_DEFAULT_SECONDS_BOUNDS_N] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                                        0.5,   1,    2.5,   5,    10};

static size_t hist_nbounds(const mw_histogram *h) {
  return h->nbounds < MW_HISTOGRAM_MAX_BOUNDS ? h->nbounds : MW_HISTOGRAM_MAX_BOUNDS;
}

void mw__histogram_observe(mw_histogram *h, double seconds) {
  if (isnan(seconds)) return;
  size_t nb = hist_nbounds(h), i = 0;
  /* Bounds are few (<= 32): a linear scan beats a binary search's branches. */
  while (i < nb && seconds > h->bounds[i]) i++;
  atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
  /* C11 has no atomic add for doubles: compare-and-swap until our sum lands. */
  double old = atomic_load_explicit(&h->sum, memory_order_relaxed);
  while (!atomic_compare_exchange_weak_explicit(&h->sum, &old, old + seconds, memory_order_relaxed,
                                                memory_order_relaxed)) {
  }
}

uint64_t mw__histogram_count(const mw_histogram *h) {
  mw_histogram *m = (mw_histogram *)h; /* atomic loads want a non-const pointer in C11 */
  uint64_t total = 0;
  for (size_t i = 0; i <= hist_nbounds(h); i++) total += atomic_load_explicit(&m->buckets[i], memory_order_relaxed);
  return total;
}

/* ---- number formatting ---------------------------------------------------- */

/* Go's strconv.FormatFloat(v, 'g', -1, 64), which the Go client uses: the
 * shortest digits that read back as v, in exponent form when the decimal
 * exponent is < -4 or >= 6 ("1e+06", "0.005", "2.5", "100"). */
static void fmt_float(char *out, size_t size, double v) {
  if (isnan(v)) {
    snprintf(out, size, "NaN");
    return;
  }
  if (isinf(v)) {
    snprintf(out, size, v > 0 ? "+Inf" : "-Inf");
    return;
  }
  char tmp[40];
  int prec = 1;
  for (; prec < 17; prec++) {
    snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
    if (strtod(tmp, NULL) == v) break;
  }
  snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
  const char *e = strchr(tmp, 'e');
  int exp = e ? atoi(e + 1) : 0;
  if (exp < -4 || exp >= 6) snprintf(out, size, "%s", tmp);
  else snprintf(out, size, "%.*f", prec - 1 - exp > 0 ? prec - 1 - exp : 0, v);
}

/* ---- rendering ------------------------------------------------------------ */

static int valid_name(const char *s) {
  if (!s || !*s) return 0;
  for (const char *p = s; *p; p++) {
    char c = *p;
    int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(p != s && c >= '0' && c <= '9')) return 0;
  }
  return 1;
}

/* Label names: like metric names without the colon. */
static int valid_label(const char *s) { return valid_name(s) && !strchr(s, ':'); }

static const char *type_name(enum mw_metric_kind k) {
  switch (k) {
  case MW_METRIC_COUNTER:
  case MW_METRIC_COUNTER_VEC: return "counter";
  case MW_METRIC_GAUGE: return "gauge";
  case MW_METRIC_HISTOGRAM: return "histogram";
  }
  return NULL;
}

static int check_desc(const mw_metric_desc *d) {
  if (!valid_name(d->name) || !type_name(d->kind)) return MW_EINVAL;
  switch (d->kind) {
  case MW_METRIC_COUNTER: return d->counter ? MW_OK : MW_EINVAL;
  case MW_METRIC_GAUGE: return d->gauge ? MW_OK : MW_EINVAL;
  case MW_METRIC_COUNTER_VEC: return d->vec && valid_label(d->key_label) ? MW_OK : MW_EINVAL;
  case MW_METRIC_HISTOGRAM:
    return d->histogram && (d->histogram->bounds || d->histogram->nbounds == 0) ? MW_OK : MW_EINVAL;
  }
  return MW_EINVAL;
}

/* HELP text escaping of format 0.0.4: only backslash and line feed. */
static int put_help(mw_buf *out, const char *name, const char *help) {
  int rc = mw__buf_printf(out, "# HELP %s ", name);
  for (const char *p = help; rc == MW_OK && *p; p++) {
    if (*p == '\\') rc = mw__buf_adds(out, "\\\\");
    else if (*p == '\n') rc = mw__buf_adds(out, "\\n");
    else rc = mw__buf_addc(out, *p);
  }
  return rc ? rc : mw__buf_addc(out, '\n');
}

/* Writes "name[suffix]{labels[,extra]} " ; braces only when there are labels. */
static int put_series(mw_buf *out, const char *name, const char *suffix, const char *labels, const char *extra) {
  int has_const = labels && *labels, has_extra = extra && *extra;
  int rc = mw__buf_printf(out, "%s%s", name, suffix);
  if (rc == MW_OK && (has_const || has_extra))
    rc = mw__buf_printf(out, "{%s%s%s}", has_const ? labels : "", has_const && has_extra ? "," : "",
                        has_extra ? extra : "");
  return rc ? rc : mw__buf_addc(out, ' ');
}

static int render_histogram(mw_buf *out, const mw_metric_desc *d) {
  mw_histogram *h = d->histogram;
  size_t nb = hist_nbounds(h);
  char num[48], le[64];
  uint64_t cum = 0;
  int rc = MW_OK;
  /* Buckets are read one by one while other threads observe; the cumulative
   * counts stay monotonic and _count equals the +Inf bucket because both come
   * from this one pass. _sum may be a moment ahead or behind, as in the Go client. */
  for (size_t i = 0; rc == MW_OK && i <= nb; i++) {
    cum += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
    if (i < nb) fmt_float(num, sizeof num, h->bounds[i]);
    else snprintf(num, sizeof num, "+Inf");
    snprintf(le, sizeof le, "le=\"%s\"", num);
    rc = put_series(out, d->name, "_bucket", d->labels, le);
    if (rc == MW_OK) rc = mw__buf_printf(out, "%" PRIu64 "\n", cum);
  }
  if (rc == MW_OK) rc = put_series(out, d->name, "_sum", d->labels, NULL);
  if (rc == MW_OK) {
    fmt_float(num, sizeof num, atomic_load_explicit(&h->sum, memory_order_relaxed));
    rc = mw__buf_printf(out, "%s\n", num);
  }
  if (rc == MW_OK) rc = put_series(out, d->name, "_count", d->labels, NULL);
  if (rc == MW_OK) rc = mw__buf_printf(out, "%" PRIu64 "\n", cum);
  return rc;
}

static int render_one(mw_buf *out, const mw_metric_desc *d) {
  int rc = MW_OK;
  switch (d->kind) {
  case MW_METRIC_COUNTER:
    rc = put_series(out, d->name, "", d->labels, NULL);
    if (rc == MW_OK) rc = mw__buf_printf(out, "%" PRIu64 "\n", mw__counter_get(d->counter));
    break;
  case MW_METRIC_GAUGE:
    rc = put_series(out, d->name, "", d->labels, NULL);
    if (rc == MW_OK) rc = mw__buf_printf(out, "%" PRId64 "\n", mw__gauge_get(d->gauge));
    break;
  case MW_METRIC_COUNTER_VEC:
    for (int k = 0; rc == MW_OK && k < MW_COUNTER_VEC_KEYS; k++) {
      uint64_t v = mw__counter_vec_get(d->vec, k);
      if (v == 0) continue; /* series appear once used, like promhttp's status codes */
      char kv[128];
      snprintf(kv, sizeof kv, "%s=\"%d\"", d->key_label, k);
      rc = put_series(out, d->name, "", d->labels, kv);
      if (rc == MW_OK) rc = mw__buf_printf(out, "%" PRIu64 "\n", v);
    }
    break;
  case MW_METRIC_HISTOGRAM: rc = render_histogram(out, d); break;
  }
  return rc;
}

int mw__metrics_render(mw_buf *out, const mw_metric_desc *descs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const mw_metric_desc *d = &descs[i];
    int rc = check_desc(d);
    if (rc) return rc;
    /* One HELP/TYPE per family: entries sharing a name continue it. */
    int continues = i > 0 && strcmp(descs[i - 1].name, d->name) == 0;
    if (continues && descs[i - 1].kind != d->kind && strcmp(type_name(descs[i - 1].kind), type_name(d->kind)) != 0)
      return MW_EINVAL; /* one family, two types */
    if (!continues) {
      if (d->help && (rc = put_help(out, d->name, d->help))) return rc;
      if ((rc = mw__buf_printf(out, "# TYPE %s %s\n", d->name, type_name(d->kind)))) return rc;
    }
    if ((rc = render_one(out, d))) return rc;
  }
  return MW_OK;
}

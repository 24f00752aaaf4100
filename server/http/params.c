/* The one parser of request parameters (query parameters and the ids in
 * paths): times, durations, nanosecond counts, hex ids, positive integer ids,
 * counts (limits, offsets), pages, enums, names and words. Every endpoint
 * parses through these, so a kind of value has one grammar (core/timefmt.h,
 * docs/API.md "Parameter grammar") and one error: a 400 whose message names
 * the parameter and says what it must be, "<name> must be <what>, got
 * \"<value>\"". An empty parameter (`?limit=`) counts as absent. */
#include "http/http_int.h"
#include "core/error.h"
#include "core/hex.h"
#include "core/timefmt.h"
#include "core/utf8.h"

#include <stdio.h>
#include <string.h>

/* The value of a query parameter, NULL when absent or empty. */
static const char *arg(mw_req *r, const char *name) {
  const char *v = mw__req_arg(r, name);
  return v && *v ? v : NULL;
}

static int bad(mw_req *r, const char *name, const char *what, const char *value, size_t len) {
  mw__reply_error(r, MW_EINVAL, "%s must be %s, got \"%.*s\"", name, what, (int)(len < 64 ? len : 64), value);
  return -1;
}

int mw__param_time(mw_req *r, const char *name, int64_t *out) {
  const char *v = arg(r, name);
  if (!v) return 0;
  if (mw__parse_time(v, out) != MW_OK) return bad(r, name, "unix seconds, unix nanoseconds or RFC 3339", v, strlen(v));
  return 1;
}

int mw__param_window(mw_req *r, int64_t *start, int64_t *end) {
  int given_start = mw__param_time(r, "start", start);
  int given_end = given_start < 0 ? -1 : mw__param_time(r, "end", end);
  if (given_start < 0 || given_end < 0) return -1;
  int64_t max = r->http->opts.max_query_range;
  int64_t hi = given_end ? *end : mw__now_ns();
  if (!given_end) *end = INT64_MAX; /* data stamped slightly ahead of our clock still counts */
  if (!given_start) *start = max > 0 && hi > INT64_MIN + max ? hi - max : 0;
  if (given_start && given_end && *end <= *start) {
    mw__reply_error(r, MW_EINVAL, "end must be after start");
    return -1;
  }
  if (max > 0 && hi - *start > max) {
    mw__reply_error(r, MW_EINVAL, "the time range is wider than max_query_range (%lld s): narrow start and end",
                    (long long)(max / 1000000000));
    return -1;
  }
  return 0;
}

int mw__param_duration(mw_req *r, const char *name, int64_t dflt, int64_t max, int64_t *out) {
  const char *v = arg(r, name);
  *out = dflt;
  if (!v) return 0;
  int64_t d;
  if (mw__parse_duration(v, &d) == MW_OK && d <= max) {
    *out = d;
    return 0;
  }
  if (max == INT64_MAX) return bad(r, name, "a duration like 250ms or 1.5s", v, strlen(v));
  char m[32], what[96];
  mw__format_duration(m, sizeof m, max);
  snprintf(what, sizeof what, "a duration up to %s, like 250ms or 1.5s", m);
  return bad(r, name, what, v, strlen(v));
}

int mw__param_ns(mw_req *r, const char *name, int64_t *out) {
  const char *v = arg(r, name);
  *out = 0;
  if (!v || mw__parse_ns(v, out) == MW_OK) return 0;
  char what[96];
  snprintf(what, sizeof what, "an integer of nanoseconds (digits only, at most %lld)", (long long)INT64_MAX);
  return bad(r, name, what, v, strlen(v));
}

/* A decimal integer of digits only in [lo, hi], from len bytes of s. */
static int parse_count(const char *s, size_t len, uint64_t lo, uint64_t hi, uint64_t *out) {
  if (!len || len > 20) return -1;
  uint64_t n = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    unsigned d = (unsigned)(s[i] - '0');
    if (n > (UINT64_MAX - d) / 10) return -1;
    n = n * 10 + d;
  }
  if (n < lo || n > hi) return -1;
  *out = n;
  return 0;
}

int mw__param_count(mw_req *r, const char *name, size_t lo, size_t hi, size_t dflt, size_t *out) {
  const char *v = arg(r, name);
  *out = dflt;
  if (!v) return 0;
  uint64_t n;
  if (!parse_count(v, strlen(v), lo, hi, &n)) {
    *out = (size_t)n;
    return 0;
  }
  char what[96];
  snprintf(what, sizeof what, "an integer from %zu to %zu", lo, hi);
  return bad(r, name, what, v, strlen(v));
}

int mw__param_page(mw_req *r, size_t dflt, size_t max, mw_page *pg) {
  pg->max_bytes = MW_PAGE_BYTES;
  return mw__param_count(r, "limit", 1, max, dflt, &pg->limit) ||
                 mw__param_count(r, "offset", 0, MW_PAGE_MAX_OFFSET, 0, &pg->offset)
             ? -1
             : 0;
}

int mw__param_hex(mw_req *r, const char *name, const char *text, size_t len, uint8_t *out, size_t n) {
  if (mw__hex_decode(out, n, text, len) == MW_OK) return 0;
  char what[32];
  snprintf(what, sizeof what, "%zu hex digits", 2 * n);
  return bad(r, name, what, text, len);
}

int mw__param_hex_arg(mw_req *r, const char *name, uint8_t *out, size_t n) {
  const char *v = arg(r, name);
  if (!v) return 0;
  return mw__param_hex(r, name, v, strlen(v), out, n) ? -1 : 1;
}

int mw__param_id(mw_req *r, const char *name, const char *text, size_t len, int64_t *out) {
  uint64_t n;
  if (!parse_count(text, len, 1, INT64_MAX, &n)) {
    *out = (int64_t)n;
    return 0;
  }
  return bad(r, name, "a positive integer", text, len);
}

int mw__param_enum(mw_req *r, const char *name, const char *const *choices, size_t n, const char **out) {
  const char *v = arg(r, name);
  *out = choices[0];
  if (!v) return 0;
  for (size_t i = 0; i < n; i++)
    if (strcmp(v, choices[i]) == 0) {
      *out = choices[i];
      return 0;
    }
  char what[160] = "";
  size_t at = 0;
  for (size_t i = 0; i < n && at < sizeof what; i++)
    at += (size_t)snprintf(what + at, sizeof what - at, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ", choices[i]);
  return bad(r, name, what, v, strlen(v));
}

int mw__param_text(mw_req *r, const char *name, int required, const char **out) {
  *out = arg(r, name);
  if (*out || !required) return 0;
  mw__reply_error(r, MW_EINVAL, "the %s parameter is required", name);
  return -1;
}

int mw__param_name(mw_req *r, const char *name, const char **out) {
  const char *v = NULL;
  size_t n = 0;
  *out = NULL;
  if (MHD_lookup_connection_value_n(r->conn, MHD_GET_ARGUMENT_KIND, name, strlen(name), &v, &n) != MHD_YES || !v)
    return 0;
  size_t at;
  enum mw_text_flaw f = mw__text_check(v, n, &at);
  if (f != MW_TEXT_OK) {
    mw__reply_error(r, MW_EINVAL,
                    "the %s parameter %s (at byte %zu): names are kept byte for byte, so they must be UTF-8 "
                    "without NUL bytes",
                    name, mw__text_flaw_name(f), at);
    return -1;
  }
  *out = v;
  return 0;
}

int mw__param_word(mw_req *r, const char *name, size_t max, const char **out) {
  const char *v = arg(r, name);
  *out = v;
  if (!v || (strlen(v) <= max && strspn(v, "abcdefghijklmnopqrstuvwxyz_:") == strlen(v))) return 0;
  char what[112];
  snprintf(what, sizeof what, "a short lowercase word (a-z, _ and :, at most %zu), like heap or rule:gc_cpu", max);
  return bad(r, name, what, v, strlen(v));
}

typedef struct only_ctx {
  const char *const *names;
  size_t n;
  const char *bad; /* the first unknown name */
} only_ctx;

static enum MHD_Result only_one(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
  only_ctx *c = cls;
  (void)kind, (void)value;
  for (size_t i = 0; i < c->n; i++)
    if (strcmp(key, c->names[i]) == 0) return MHD_YES;
  c->bad = key;
  return MHD_NO;
}

const char *mw__param_unknown(mw_req *r, const char *const *names, size_t n) {
  only_ctx c = {names, n, NULL};
  MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, only_one, &c);
  return c.bad;
}

int mw__param_only(mw_req *r, const char *const *names, size_t n) {
  only_ctx c = {names, n, mw__param_unknown(r, names, n)};
  if (!c.bad) return 0;
  char list[256] = "";
  for (size_t i = 0; i < n; i++)
    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", names[i]);
  mw__reply_error(r, MW_EINVAL, "unknown parameter \"%.40s\": this endpoint takes %s", c.bad, n ? list : "none");
  return -1;
}

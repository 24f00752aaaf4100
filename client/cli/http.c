/* The CLI's HTTP GET (see http.h). libcurl does the work; this file keeps the
 * body under its maximum and turns curl's outcome into status, body or error. */
#include "http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONNECT_TIMEOUT_MS 5000L

typedef struct sink {
  char *data;
  size_t len, cap, max;
  int too_big, no_mem;
} sink;

/* Grows the body by doubling, never past max: returning a short count makes
 * curl stop the transfer with CURLE_WRITE_ERROR, and the flags say why. */
static size_t on_body(char *ptr, size_t size, size_t nmemb, void *user) {
  sink *s = user;
  size_t n = size * nmemb;
  if (n > s->max - s->len) {
    s->too_big = 1;
    return 0;
  }
  if (s->len + n + 1 > s->cap) {
    size_t cap = s->cap ? s->cap : 16384;
    while (cap < s->len + n + 1) cap *= 2;
    if (cap > s->max + 1) cap = s->max + 1;
    char *p = realloc(s->data, cap);
    if (!p) {
      s->no_mem = 1;
      return 0;
    }
    s->data = p;
    s->cap = cap;
  }
  memcpy(s->data + s->len, ptr, n);
  s->len += n;
  s->data[s->len] = '\0';
  return n;
}

int cli_http_get(const char *url, size_t max_body, long timeout_ms, cli_response *out, char *err, size_t err_size) {
  int rc = CLI_HTTP_ENOMEM;
  sink s = {.max = max_body};
  char curl_err[CURL_ERROR_SIZE] = "";
  memset(out, 0, sizeof *out);
  if (err_size) err[0] = '\0';

  CURL *c = curl_easy_init();
  if (!c) {
    snprintf(err, err_size, "cannot initialise libcurl");
    goto out;
  }
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, ""); /* whatever this libcurl can decode */
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max_body);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "meanwhile-cli");
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);

  CURLcode cc = curl_easy_perform(c);
  if (s.no_mem) {
    rc = CLI_HTTP_ENOMEM;
    snprintf(err, err_size, "out of memory reading the answer");
    goto out;
  }
  if (s.too_big || cc == CURLE_FILESIZE_EXCEEDED) {
    rc = CLI_HTTP_ETOOBIG;
    snprintf(err, err_size, "the answer is larger than %zu MiB", max_body >> 20);
    goto out;
  }
  if (cc != CURLE_OK) {
    rc = CLI_HTTP_ECONNECT;
    snprintf(err, err_size, "%s", curl_err[0] ? curl_err : curl_easy_strerror(cc));
    goto out;
  }
  if (!s.data) { /* an empty body is still a string */
    s.data = malloc(1);
    if (!s.data) {
      snprintf(err, err_size, "out of memory reading the answer");
      goto out;
    }
    s.data[0] = '\0';
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
  out->body = s.data;
  out->len = s.len;
  s.data = NULL;
  rc = CLI_HTTP_OK;

out:
  free(s.data);
  if (c) curl_easy_cleanup(c);
  return rc;
}

void cli_response_free(cli_response *r) {
  free(r->body);
  r->body = NULL;
  r->len = 0;
}

int cli_url_add_param(char *url, size_t cap, const char *key, const char *value) {
  static const char hex[] = "0123456789ABCDEF";
  size_t n = strlen(url), start = n;
  const char *sep = strchr(url, '?') ? "&" : "?";
  int w = snprintf(url + n, cap - n, "%s%s=", sep, key);
  if (w < 0 || (size_t)w >= cap - n) goto too_long;
  n += (size_t)w;
  for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
    int plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
                *p == '.' || *p == '_' || *p == '~';
    if (n + (plain ? 1 : 3) >= cap) goto too_long;
    if (plain) {
      url[n++] = (char)*p;
    } else {
      url[n++] = '%';
      url[n++] = hex[*p >> 4];
      url[n++] = hex[*p & 15];
    }
  }
  url[n] = '\0';
  return 0;
too_long:
  url[start] = '\0';
  return -1;
}

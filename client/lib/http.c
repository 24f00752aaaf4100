/* libmeanwhile's transport: one libcurl easy handle per client (its
 * connection is kept alive between requests), one POST at a time. It knows
 * HTTP and what an answer means for retrying; what to do about it is
 * client.c's business. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_int.h"

struct mw__push_http {
  CURL *curl;
  char *base; /* without trailing slashes */
  char *url;  /* base + target, grown as needed */
  size_t url_cap;
  char last[MW__RESPONSE_MAX]; /* the answer's first bytes, or curl's message */
  size_t last_len;
  char errbuf[CURL_ERROR_SIZE];
};

/* Keeps the answer's first bytes; the rest is read and thrown away (a short
 * return would abort the transfer and close a connection worth keeping). */
static size_t on_body(char *ptr, size_t size, size_t nmemb, void *user) {
  mw__push_http *h = user;
  size_t n = size * nmemb, room = sizeof h->last - 1 - h->last_len;
  size_t take = n < room ? n : room;
  memcpy(h->last + h->last_len, ptr, take);
  h->last_len += take;
  h->last[h->last_len] = '\0';
  return n;
}

int mw__push_http_new(const char *base_url, const char *user_agent, long timeout_ms, long connect_timeout_ms,
                      mw__push_http **out) {
  if (!base_url || (strncmp(base_url, "http://", 7) != 0 && strncmp(base_url, "https://", 8) != 0)) return MW_ERR_INVAL;
  mw__push_http *h = calloc(1, sizeof *h);
  if (!h) return MW_ERR_NOMEM;
  size_t n = strlen(base_url);
  while (n > 8 && base_url[n - 1] == '/') n--;
  h->base = strndup(base_url, n);
  h->curl = curl_easy_init();
  if (!h->base || !h->curl) {
    mw__push_http_free(&h);
    return MW_ERR_NOMEM;
  }
  CURL *c = h->curl;
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms);
  curl_easy_setopt(c, CURLOPT_USERAGENT, user_agent);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  *out = h;
  return 0;
}

void mw__push_http_free(mw__push_http **hp) {
  mw__push_http *h = hp ? *hp : NULL;
  if (!h) return;
  if (h->curl) curl_easy_cleanup(h->curl);
  free(h->base);
  free(h->url);
  free(h);
  *hp = NULL;
}

const char *mw__push_http_last(const mw__push_http *h) { return h->last; }

/* Transport errors that no retry can mend: the request itself is wrong. */
static int curl_fatal(CURLcode cc) {
  return cc == CURLE_URL_MALFORMAT || cc == CURLE_UNSUPPORTED_PROTOCOL || cc == CURLE_BAD_FUNCTION_ARGUMENT ||
         cc == CURLE_OUT_OF_MEMORY;
}

int mw__push_http_post(mw__push_http *h, const mw__payload *p, mw__push_result *r) {
  int rc = MW_ERR_NOMEM;
  struct curl_slist *hdrs = NULL, *tmp;
  char line[128];
  memset(r, 0, sizeof *r);
  h->last_len = 0;
  h->last[0] = h->errbuf[0] = '\0';

  size_t need = strlen(h->base) + strlen(p->target) + 1;
  if (need > h->url_cap) {
    char *u = realloc(h->url, need);
    if (!u) goto out;
    h->url = u;
    h->url_cap = need;
  }
  snprintf(h->url, h->url_cap, "%s%s", h->base, p->target);

  snprintf(line, sizeof line, "Content-Type: %s", p->ctype);
  if (!(tmp = curl_slist_append(hdrs, line))) goto out;
  hdrs = tmp;
  if (p->encoding[0]) {
    snprintf(line, sizeof line, "Content-Encoding: %s", p->encoding);
    if (!(tmp = curl_slist_append(hdrs, line))) goto out;
    hdrs = tmp;
  }
  /* no "Expect: 100-continue" round trip before large bodies */
  if (!(tmp = curl_slist_append(hdrs, "Expect:"))) goto out;
  hdrs = tmp;

  CURL *c = h->curl;
  curl_easy_setopt(c, CURLOPT_URL, h->url);
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)p->body);
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)p->len);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  CURLcode cc = curl_easy_perform(c);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
  if (cc != CURLE_OK) {
    snprintf(h->last, sizeof h->last, "%s", h->errbuf[0] ? h->errbuf : curl_easy_strerror(cc));
    h->last_len = strlen(h->last);
    r->fatal = curl_fatal(cc);
    r->retryable = !r->fatal;
    rc = 0;
    goto out;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
  curl_off_t ra = 0;
  if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
    r->retry_after_ms = ra > 86400 ? 86400000L : (long)ra * 1000;
  r->retryable = mw__client_retryable(r->status);
  rc = 0;
out:
  curl_slist_free_all(hdrs);
  return rc;
}

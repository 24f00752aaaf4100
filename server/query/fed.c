/* Query federation: the shards and the fan-out (see fed.h). */
#include "query/fed.h"
#include "core/error.h"
#include "core/log.h"
#include "core/timefmt.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <uv.h>

/* One entry of --peers: a URL, or a DNS name standing for every address it
 * resolves to. */
typedef struct peer {
  char *url; /* a plain entry: the base URL, no trailing slash */
  /* a dns+ entry */
  char *scheme, *host, *port;
  char **addrs; /* "http://10.0.0.7:4318" */
  size_t n_addrs;
  int64_t resolved_ns; /* monotonic; 0: never */
} peer;

struct mw_fed {
  peer *peers;
  size_t n;
  int64_t refresh_ns, timeout_ns;
  uv_mutex_t lock; /* guards the dns entries' addresses */
};

static void free_addrs(peer *p) {
  for (size_t i = 0; i < p->n_addrs; i++) free(p->addrs[i]);
  free(p->addrs);
  p->addrs = NULL;
  p->n_addrs = 0;
}

void mw__fed_free(mw_fed *f) {
  if (!f) return;
  for (size_t i = 0; i < f->n; i++) {
    free(f->peers[i].url);
    free(f->peers[i].scheme);
    free(f->peers[i].host);
    free(f->peers[i].port);
    free_addrs(&f->peers[i]);
  }
  free(f->peers);
  uv_mutex_destroy(&f->lock);
  free(f);
  curl_global_cleanup();
}

/* Resolves p's name: every address, once each. On failure the addresses it
 * had stay (a DNS hiccup must not empty the cluster) and a warning is logged. */
static void resolve(peer *p) {
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
  p->resolved_ns = mw__mono_ns();
  int rc = getaddrinfo(p->host, p->port, &hints, &res);
  if (rc) {
    mw__warn("cannot resolve a peer: keeping its previous addresses", "host=%s err=\"%s\" addresses=%zu", p->host,
             gai_strerror(rc), p->n_addrs);
    return;
  }
  char **v = NULL;
  size_t n = 0;
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    char ip[INET6_ADDRSTRLEN], url[INET6_ADDRSTRLEN + 64];
    if (ai->ai_family == AF_INET) inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, ip, sizeof ip);
    else if (ai->ai_family == AF_INET6)
      inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, ip, sizeof ip);
    else continue;
    snprintf(url, sizeof url, ai->ai_family == AF_INET6 ? "%s://[%s]:%s" : "%s://%s:%s", p->scheme, ip, p->port);
    int dup = 0;
    for (size_t i = 0; i < n; i++) dup |= strcmp(v[i], url) == 0;
    if (dup) continue;
    char **nv = realloc(v, (n + 1) * sizeof *v);
    char *s = strdup(url);
    if (!nv || !s) {
      free(s);
      if (nv) v = nv;
      break;
    }
    v = nv;
    v[n++] = s;
  }
  freeaddrinfo(res);
  if (!n) {
    free(v);
    mw__warn("a peer resolved to no address: keeping its previous addresses", "host=%s", p->host);
    return;
  }
  free_addrs(p);
  p->addrs = v;
  p->n_addrs = n;
}

/* Checks one entry: scheme://host:port with nothing after but an optional
 * slash. */
static int parse_entry(const char *e, size_t len, peer *p, char *err, size_t errsz) {
  char buf[512];
  if (len == 0 || len >= sizeof buf) goto bad;
  memcpy(buf, e, len);
  buf[len] = '\0';
  while (len && buf[len - 1] == '/') buf[--len] = '\0';
  int dns = strncasecmp(buf, "dns+", 4) == 0;
  char *u = dns ? buf + 4 : buf;
  const char *scheme = strncasecmp(u, "http://", 7) == 0 ? "http" : strncasecmp(u, "https://", 8) == 0 ? "https" : NULL;
  if (!scheme) goto bad;
  char *host = u + strlen(scheme) + 3;
  if (!*host || strpbrk(host, "/?#@ \t")) goto bad;
  if (!dns) return (p->url = strdup(u)) ? MW_OK : MW_ENOMEM;
  char *colon = strrchr(host, ':');
  if (!colon || !colon[1] || host[0] == '[') goto bad; /* a name and a port */
  *colon = '\0';
  p->scheme = strdup(scheme);
  p->host = strdup(host);
  p->port = strdup(colon + 1);
  if (!p->scheme || !p->host || !p->port) return MW_ENOMEM;
  return MW_OK;
bad:
  snprintf(err, errsz, "--peers: \"%.*s\" is not a peer (http://host:port, https://host:port, or dns+http://name:port)",
           (int)(len > 200 ? 200 : len), e);
  return MW_EINVAL;
}

int mw__fed_new(const char *peers, int64_t refresh_ns, int64_t timeout_ns, mw_fed **out, char *err, size_t errsz) {
  *out = NULL;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    snprintf(err, errsz, "cannot initialise libcurl");
    return MW_ENOMEM;
  }
  mw_fed *f = calloc(1, sizeof *f);
  if (!f || uv_mutex_init(&f->lock)) {
    free(f);
    curl_global_cleanup();
    snprintf(err, errsz, "out of memory");
    return MW_ENOMEM;
  }
  f->refresh_ns = refresh_ns;
  f->timeout_ns = timeout_ns;
  int rc = MW_OK;
  for (const char *s = peers; *s && !rc;) {
    size_t len = strcspn(s, ",");
    const char *e = s;
    size_t elen = len;
    while (elen && (*e == ' ' || *e == '\t')) e++, elen--;
    while (elen && (e[elen - 1] == ' ' || e[elen - 1] == '\t')) elen--;
    if (elen) {
      peer *np = realloc(f->peers, (f->n + 1) * sizeof *np);
      if (!np) rc = MW_ENOMEM;
      else {
        f->peers = np;
        memset(&f->peers[f->n], 0, sizeof *np);
        f->n++;
        rc = parse_entry(e, elen, &f->peers[f->n - 1], err, errsz);
      }
    }
    s += len;
    if (*s == ',') s++;
  }
  if (!rc && !f->n) {
    snprintf(err, errsz, "--peers names no peer");
    rc = MW_EINVAL;
  }
  if (rc) {
    if (rc == MW_ENOMEM) snprintf(err, errsz, "out of memory");
    mw__fed_free(f);
    return rc;
  }
  for (size_t i = 0; i < f->n; i++)
    if (f->peers[i].host) resolve(&f->peers[i]);
  *out = f;
  return MW_OK;
}

size_t mw__fed_shards(mw_fed *f, mw_arena *a, const char ***out) {
  *out = NULL;
  uv_mutex_lock(&f->lock);
  int64_t now = mw__mono_ns();
  size_t n = 0;
  for (size_t i = 0; i < f->n; i++) {
    peer *p = &f->peers[i];
    if (p->host && (!p->resolved_ns || (f->refresh_ns > 0 && now - p->resolved_ns >= f->refresh_ns))) resolve(p);
    n += p->url ? 1 : p->n_addrs;
  }
  const char **v = mw__arena_calloc(a, n + 1, sizeof *v);
  size_t k = 0;
  for (size_t i = 0; v && i < f->n; i++) {
    peer *p = &f->peers[i];
    if (p->url) v[k++] = mw__arena_strndup(a, p->url, strlen(p->url));
    for (size_t j = 0; !p->url && j < p->n_addrs; j++) v[k++] = mw__arena_strndup(a, p->addrs[j], strlen(p->addrs[j]));
  }
  uv_mutex_unlock(&f->lock);
  for (size_t i = 0; v && i < k; i++)
    if (!v[i]) v = NULL;
  *out = v;
  return v ? k : 0;
}

/* --- the fan-out -------------------------------------------------------------------- */

typedef struct xfer {
  mw_fed_part *part;
  CURL *h;
  struct curl_slist *headers;
  char *buf;
  size_t len, cap;
  int too_big;
  char errbuf[CURL_ERROR_SIZE];
} xfer;

static size_t on_data(char *data, size_t size, size_t nmemb, void *user) {
  xfer *x = user;
  size_t n = size * nmemb;
  if (x->len + n > MW_FED_MAX_PART_BYTES) {
    x->too_big = 1;
    return 0; /* aborts the transfer */
  }
  if (x->len + n + 1 > x->cap) {
    size_t cap = x->cap ? x->cap : 65536;
    while (cap < x->len + n + 1) cap *= 2;
    char *nb = realloc(x->buf, cap);
    if (!nb) return 0;
    x->buf = nb;
    x->cap = cap;
  }
  memcpy(x->buf + x->len, data, n);
  x->len += n;
  return n;
}

/* What a shard's status means for the merge (fed.h, mw_fed_part.rc). */
static int classify(long status) {
  if (status >= 200 && status < 300) return MW_OK;
  switch (status) {
  case 404: return MW_ENOTFOUND;
  case 400: return MW_EINVAL;
  case 401: return MW_EUNAUTHORIZED;
  case 403: return MW_EFORBIDDEN;
  case 413: return MW_ETOOBIG;
  case 414: return MW_ETOOLONG;
  default: return MW_EIO;
  }
}

/* The "error" of a shard's {"error": ...} body, else its first bytes. */
static void error_text(const char *body, size_t len, char *out, size_t outsz) {
  const char *k = body ? strstr(body, "\"error\"") : NULL;
  const char *s = k ? strchr(k + 7, '"') : NULL;
  if (s) {
    size_t i = 0;
    for (s++; *s && *s != '"' && i + 1 < outsz; s++) {
      if (*s == '\\' && s[1]) s++;
      out[i++] = *s;
    }
    out[i] = '\0';
    return;
  }
  snprintf(out, outsz, "%.*s", (int)(len > 120 ? 120 : len), body ? body : "");
}

/* Each thread's multi handle: its connection cache keeps the connections to
 * the shards open from one query to the next (freed when the thread ends). */
static pthread_key_t multi_key;
static pthread_once_t multi_once = PTHREAD_ONCE_INIT;
static int multi_key_ok;

static void multi_free(void *m) { curl_multi_cleanup(m); }
static void multi_key_make(void) { multi_key_ok = pthread_key_create(&multi_key, multi_free) == 0; }

static CURLM *thread_multi(void) {
  pthread_once(&multi_once, multi_key_make);
  if (!multi_key_ok) return NULL;
  CURLM *m = pthread_getspecific(multi_key);
  if (!m && (m = curl_multi_init()) && pthread_setspecific(multi_key, m)) {
    curl_multi_cleanup(m);
    m = NULL;
  }
  return m;
}

int mw__fed_fanout(mw_fed *f, mw_arena *a, const char *const *shards, size_t n, const mw_fed_req *req,
                   int64_t deadline_ns, const _Atomic int *stop, mw_fed_part **parts) {
  mw_fed_part *p = mw__arena_calloc(a, n + 1, sizeof *p);
  xfer *x = calloc(n + 1, sizeof *x);
  CURLM *m = thread_multi();
  *parts = p;
  if (!p || !x || !m) {
    free(x);
    return MW_ENOMEM;
  }
  int64_t timeout_ns = f->timeout_ns;
  if (deadline_ns) {
    int64_t left = deadline_ns - mw__mono_ns();
    if (left < timeout_ns) timeout_ns = left > 1000000 ? left : 1000000;
  }
  long timeout_ms = (long)(timeout_ns / 1000000);
  char auth[4096 + 32], accept[512];
  if (req->authorization) snprintf(auth, sizeof auth, "Authorization: %s", req->authorization);
  if (req->accept) snprintf(accept, sizeof accept, "Accept: %s", req->accept);
  int rc = MW_OK;
  for (size_t i = 0; i < n; i++) {
    p[i].shard = shards[i];
    p[i].rc = MW_EIO;
    x[i].part = &p[i];
    char *url = mw__arena_alloc(a, strlen(shards[i]) + strlen(req->path) + 1);
    CURL *h = url ? curl_easy_init() : NULL;
    if (!h) {
      rc = MW_ENOMEM;
      break;
    }
    strcpy(url, shards[i]);
    strcat(url, req->path);
    x[i].h = h;
    struct curl_slist *hl = curl_slist_append(NULL, MW_FED_HEADER ": 1");
    if (hl && req->authorization) hl = curl_slist_append(hl, auth);
    if (hl && req->accept) hl = curl_slist_append(hl, accept);
    if (hl && req->body) hl = curl_slist_append(hl, "Content-Type: application/json");
    if (hl) hl = curl_slist_append(hl, "Expect:"); /* no 100-continue round trip */
    x[i].headers = hl;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L); /* the path as routed here: no . or .. resolved into another */
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &x[i]);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x[i].errbuf);
    curl_easy_setopt(h, CURLOPT_PRIVATE, &x[i]);
    if (req->body) {
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
    }
    curl_multi_add_handle(m, h);
  }
  int running = 1;
  while (!rc && running && !(stop && atomic_load(stop))) {
    if (curl_multi_perform(m, &running) != CURLM_OK) break;
    if (running) curl_multi_poll(m, NULL, 0, 100, NULL);
  }
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(m, &left))) {
    if (msg->msg != CURLMSG_DONE) continue;
    xfer *t;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
    mw_fed_part *part = t->part;
    if (msg->data.result != CURLE_OK) {
      if (t->too_big)
        snprintf(part->error, sizeof part->error, "its answer is larger than %zu MiB", MW_FED_MAX_PART_BYTES >> 20);
      else if (msg->data.result == CURLE_OPERATION_TIMEDOUT)
        snprintf(part->error, sizeof part->error, "no answer within %ld ms", timeout_ms);
      else
        snprintf(part->error, sizeof part->error, "%s",
                 t->errbuf[0] ? t->errbuf : curl_easy_strerror(msg->data.result));
      continue;
    }
    long status = 0;
    char *ct = NULL;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(msg->easy_handle, CURLINFO_CONTENT_TYPE, &ct);
    part->status = status;
    part->rc = classify(status);
    part->body = mw__arena_alloc(a, t->len + 1);
    if (!part->body) {
      part->rc = MW_EIO;
      snprintf(part->error, sizeof part->error, "out of memory for its answer");
      continue;
    }
    if (t->len) memcpy(part->body, t->buf, t->len);
    part->body[t->len] = '\0';
    part->len = t->len;
    part->content_type = ct ? mw__arena_strndup(a, ct, strlen(ct)) : NULL;
    if (part->rc) { /* passed through: the shard's message; missing: with its status */
      char e[200];
      error_text(part->body, part->len, e, sizeof e);
      if (part->rc == MW_EIO) snprintf(part->error, sizeof part->error, "HTTP %ld: %s", status, e);
      else snprintf(part->error, sizeof part->error, "%s", e);
    }
  }
  for (size_t i = 0; i < n; i++) {
    if (x[i].h) {
      curl_multi_remove_handle(m, x[i].h);
      curl_easy_cleanup(x[i].h);
    }
    curl_slist_free_all(x[i].headers);
    free(x[i].buf);
    if (p[i].rc == MW_EIO && !p[i].error[0]) snprintf(p[i].error, sizeof p[i].error, "no answer");
  }
  free(x); /* m stays, with its connections, for this thread's next fan-out */
  return rc;
}

/* --- the operations' histogram --------------------------------------------------------- */

int mw__fed_bucket(int64_t d) { return mw__dur_bucket(d); }

int64_t mw__fed_bucket_value(int b) {
  if (b < 0) return 0;
  return (int64_t)llround(exp2(((double)b + 0.5) / 64.0));
}

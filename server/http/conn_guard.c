/* Connection tracking and the header deadline (see conn_guard.h).
 *
 * libmicrohttpd tells us when a connection starts and closes
 * (MHD_OPTION_NOTIFY_CONNECTION), when a request line has arrived (the URI
 * log callback), and, through our access handler, when a request's headers
 * are complete. Each open connection has a record in one list, under one
 * lock; the record holds the deadline its current request's headers must
 * meet. A watchdog thread looks at the list a few times a second and shuts
 * down (shutdown(2), both ways) the socket of every connection past its
 * deadline: libmicrohttpd then reads end-of-file and closes the connection
 * itself, in its own thread, releasing its slot and its per-address count.
 *
 * The fd is never shut down after libmicrohttpd closed it (it may belong to
 * a new connection by then): 0.9.75 sends the CLOSED notification before it
 * closes the socket (MHD_cleanup_connections in daemon.c, and the failure
 * path of new_connection_process_), the notification takes the record out
 * of the list under the lock, and the watchdog only touches fds in the list
 * while it holds the lock. */
#include "http/conn_guard.h"
#include "core/error.h"
#include "core/log.h"
#include "core/timefmt.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

typedef struct conn_rec {
  struct conn_rec *prev, *next;
  MHD_socket fd;
  int64_t deadline_ns; /* the headers are due by then; 0 while a request is past its headers */
  int cut;             /* shut down by the watchdog */
  int line;            /* the current request's line has come (under the lock) */
  /* set and read by the connection's own thread only, so without the lock */
  enum mw_uri_verdict verdict;
  size_t params;
  char bad_param[48]; /* MW_URI_BAD_QUERY: the parameter that holds it */
} conn_rec;

struct mw_conn_guard {
  pthread_mutex_t mu;
  pthread_cond_t cv; /* wakes the watchdog to stop */
  conn_rec *head;
  int64_t header_ns, idle_ns, tick_ns;
  int stop;
  int has_thread;
  pthread_t thread;
};

static conn_rec *rec_of(struct MHD_Connection *conn) {
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return ci ? ci->socket_context : NULL;
}

static void *watch(void *arg) {
  mw_conn_guard *g = arg;
  pthread_mutex_lock(&g->mu);
  while (!g->stop) {
    int64_t now = mw__mono_ns();
    size_t cut = 0, quiet = 0;
    for (conn_rec *c = g->head; c; c = c->next) {
      if (!c->deadline_ns || c->cut || now < c->deadline_ns) continue;
      shutdown(c->fd, SHUT_RDWR);
      c->cut = 1;
      if (c->line) cut++;
      else quiet++;
    }
    if (cut || quiet) {
      pthread_mutex_unlock(&g->mu);
      /* a request line and then headers too slow: a client misbehaving, or
       * a slow-headers attack; no request line at all is also what an HTTP
       * client's spare connection looks like (Go's transport dials one while
       * it waits, and keeps it if another freed first): closed all the same,
       * without a warning */
      if (cut)
        mw__warn("request headers too slow: closing", "connections=%zu after_s=%lld", cut,
                 (long long)(g->header_ns / 1000000000));
      if (quiet)
        mw__info("no request on a new connection: closing", "connections=%zu after_s=%lld", quiet,
                 (long long)(g->header_ns / 1000000000));
      pthread_mutex_lock(&g->mu);
    }
    if (g->stop) break; /* asked while the lock was let go to log */
    int64_t wake = mw__mono_ns() + g->tick_ns;
    struct timespec ts = {.tv_sec = (time_t)(wake / 1000000000), .tv_nsec = (long)(wake % 1000000000)};
    pthread_cond_timedwait(&g->cv, &g->mu, &ts);
  }
  pthread_mutex_unlock(&g->mu);
  return NULL;
}

int mw__guard_new(unsigned header_timeout_s, unsigned idle_timeout_s, mw_conn_guard **out) {
  mw_conn_guard *g = calloc(1, sizeof *g);
  if (!g) return MW_ENOMEM;
  g->header_ns = (int64_t)header_timeout_s * 1000000000;
  g->idle_ns = (int64_t)idle_timeout_s * 1000000000;
  /* a deadline is met within a quarter of the timeout, and at most 1 s late */
  g->tick_ns = g->header_ns / 4;
  if (g->tick_ns > 1000000000) g->tick_ns = 1000000000;
  if (g->tick_ns < 50000000) g->tick_ns = 50000000;
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* mw__mono_ns's clock */
  pthread_mutex_init(&g->mu, NULL);
  pthread_cond_init(&g->cv, &ca);
  pthread_condattr_destroy(&ca);
  if (header_timeout_s) {
    if (pthread_create(&g->thread, NULL, watch, g) != 0) {
      mw__guard_free(g);
      return MW_ENOMEM;
    }
    g->has_thread = 1;
  }
  *out = g;
  return MW_OK;
}

void mw__guard_free(mw_conn_guard *g) {
  if (!g) return;
  if (g->has_thread) {
    pthread_mutex_lock(&g->mu);
    g->stop = 1;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->thread, NULL);
  }
  while (g->head) { /* none once the daemon has stopped; freed all the same */
    conn_rec *c = g->head;
    g->head = c->next;
    free(c);
  }
  pthread_cond_destroy(&g->cv);
  pthread_mutex_destroy(&g->mu);
  free(g);
}

void mw__guard_on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                             enum MHD_ConnectionNotificationCode code) {
  mw_conn_guard *g = cls;
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    conn_rec *c = ci ? calloc(1, sizeof *c) : NULL;
    *socket_context = c;
    if (!c) {
      /* untracked, it could trickle for ever: refuse it now */
      if (ci) shutdown(ci->connect_fd, SHUT_RDWR);
      return;
    }
    c->fd = ci->connect_fd;
    c->deadline_ns = g->header_ns ? mw__mono_ns() + g->header_ns : 0;
    pthread_mutex_lock(&g->mu);
    c->next = g->head;
    if (g->head) g->head->prev = c;
    g->head = c;
    pthread_mutex_unlock(&g->mu);
    return;
  }
  conn_rec *c = *socket_context;
  if (!c) return;
  pthread_mutex_lock(&g->mu);
  if (c->prev) c->prev->next = c->next;
  else g->head = c->next;
  if (c->next) c->next->prev = c->prev;
  pthread_mutex_unlock(&g->mu);
  free(c);
  *socket_context = NULL;
}

void *mw__guard_on_uri(void *cls, const char *uri, struct MHD_Connection *conn) {
  mw_conn_guard *g = cls;
  conn_rec *c = rec_of(conn);
  if (!c) return NULL;
  c->verdict = mw__uri_check(uri, &c->params);
  c->bad_param[0] = '\0';
  if (c->verdict == MW_URI_BAD_QUERY) mw__uri_bad_param(uri, c->bad_param, sizeof c->bad_param);
  if (c->verdict != MW_URI_OK && uri) {
    /* uri points into the connection's read buffer, which libmicrohttpd
     * itself writes to as it splits the query: ending the query here leaves
     * it nothing to split (the refusal does not need the parameters) */
    char *q = strchr((char *)uri, '?');
    if (q) q[1] = '\0';
  }
  if (g->header_ns) {
    /* a request line has come: its headers get header_timeout from now, if
     * that is sooner than the deadline the connection already has */
    int64_t due = mw__mono_ns() + g->header_ns;
    pthread_mutex_lock(&g->mu);
    if (c->deadline_ns > due) c->deadline_ns = due;
    c->line = 1;
    pthread_mutex_unlock(&g->mu);
  }
  return NULL;
}

enum mw_uri_verdict mw__guard_headers_done(mw_conn_guard *g, struct MHD_Connection *conn, size_t *params,
                                           const char **bad_param) {
  conn_rec *c = rec_of(conn);
  *params = 0;
  *bad_param = "";
  if (!c) return MW_URI_OK;
  pthread_mutex_lock(&g->mu);
  c->deadline_ns = 0;
  pthread_mutex_unlock(&g->mu);
  *params = c->params;
  *bad_param = c->bad_param;
  enum mw_uri_verdict v = c->verdict;
  c->verdict = MW_URI_OK; /* judged for this request only */
  c->params = 0;
  return v;
}

void mw__guard_request_done(mw_conn_guard *g, struct MHD_Connection *conn) {
  conn_rec *c = rec_of(conn);
  if (!c || !g->header_ns) return;
  int64_t due = mw__mono_ns() + g->idle_ns + g->header_ns;
  pthread_mutex_lock(&g->mu);
  c->deadline_ns = due;
  c->line = 0;
  pthread_mutex_unlock(&g->mu);
}

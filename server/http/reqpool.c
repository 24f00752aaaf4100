/* Threads that run suspended requests, each one request at a time, in the
 * order they were listed: the query pool (http/query.c) and the execution
 * trace readers (http/exectrace.c) are two. The owner admits a request
 * (counting it in queued under the lock), suspends its connection and lists
 * it; a worker takes the first listed, uncounts it and runs it outside the
 * lock. What differs between owners is what happens to listed requests at
 * the stop: a draining pool runs them all before its workers leave (queries
 * are quick and the stop interrupts their reads), one that does not drain
 * leaves them to its owner (execution traces answer 503: a reader can take
 * seconds). */
#include "http/http_int.h"
#include "core/error.h"

#include <stdlib.h>

static void worker(void *arg) {
  mw_reqpool *p = arg;
  uv_mutex_lock(&p->lock);
  for (;;) {
    while (!p->head && !(p->stopping && (!p->drain || !p->queued))) uv_cond_wait(&p->wake, &p->lock);
    mw_req *r = p->head;
    if (!r) break; /* stopping, and nothing is listed (or, draining, about to be) */
    p->head = r->query_next;
    if (!p->head) p->tail = NULL;
    p->queued--;
    uv_mutex_unlock(&p->lock);
    p->run(p->owner, r);
    uv_mutex_lock(&p->lock);
  }
  uv_cond_broadcast(&p->wake); /* the others may be waiting for the last admitted one */
  uv_mutex_unlock(&p->lock);
}

int mw__reqpool_init(mw_reqpool *p, unsigned n, int drain, void (*run)(void *owner, mw_req *r), void *owner) {
  *p = (mw_reqpool){.drain = drain, .run = run, .owner = owner};
  if (!(p->threads = calloc(n ? n : 1, sizeof *p->threads))) return MW_ENOMEM;
  p->cap_threads = n;
  uv_mutex_init(&p->lock);
  uv_cond_init(&p->wake);
  p->inited = 1;
  return MW_OK;
}

int mw__reqpool_start(mw_reqpool *p) {
  for (; p->n_threads < p->cap_threads; p->n_threads++)
    if (uv_thread_create(&p->threads[p->n_threads], worker, p) != 0) return MW_EIO;
  return MW_OK;
}

void mw__reqpool_list(mw_reqpool *p, mw_req *r) {
  r->query_next = NULL;
  if (p->tail) p->tail->query_next = r;
  else p->head = r;
  p->tail = r;
  uv_cond_broadcast(&p->wake);
}

void mw__reqpool_quiesce(mw_reqpool *p) {
  if (!p->inited) return;
  uv_mutex_lock(&p->lock);
  p->stopping = 1;
  uv_cond_broadcast(&p->wake);
  uv_mutex_unlock(&p->lock);
}

void mw__reqpool_join(mw_reqpool *p) {
  if (!p->inited || !p->threads) return;
  mw__reqpool_quiesce(p);
  for (unsigned i = 0; i < p->n_threads; i++) uv_thread_join(&p->threads[i]);
  free(p->threads);
  p->threads = NULL;
  p->n_threads = 0;
}

void mw__reqpool_destroy(mw_reqpool *p) {
  if (!p->inited) return;
  mw__reqpool_join(p);
  uv_cond_destroy(&p->wake);
  uv_mutex_destroy(&p->lock);
  p->inited = 0;
}

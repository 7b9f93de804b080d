/* pool.c — a fork-join thread pool: the caller hands out one range split over the workers and waits.
 * Workers sleep on a condition variable between jobs; a job is published by bumping a generation. */
#include <pthread.h>
#include <stdlib.h>

#include "rt_internal.h"

struct vitc_rt_pool {
  int nthreads; /* including the caller */
  pthread_t *workers;
  pthread_mutex_t lock;
  pthread_cond_t wake, done;
  uint64_t generation;
  int pending; /* workers still running the current job */
  int stopping;
  vitc_rt_task fn;
  void *arg;
  int64_t n;
};

static void run_share(vitc_rt_pool *p, int index) {
  int64_t chunk = (p->n + p->nthreads - 1) / p->nthreads;
  int64_t begin = chunk * index, end = begin + chunk < p->n ? begin + chunk : p->n;
  if (begin < end) p->fn(p->arg, begin, end);
}

typedef struct worker_arg {
  vitc_rt_pool *pool;
  int index;
} worker_arg;

static void *worker_main(void *raw) {
  worker_arg *wa = raw;
  vitc_rt_pool *p = wa->pool;
  int index = wa->index;
  free(wa);
  uint64_t seen = 0;
  pthread_mutex_lock(&p->lock);
  for (;;) {
    while (p->generation == seen && !p->stopping) pthread_cond_wait(&p->wake, &p->lock);
    if (p->stopping) break;
    seen = p->generation;
    pthread_mutex_unlock(&p->lock);
    run_share(p, index);
    pthread_mutex_lock(&p->lock);
    if (--p->pending == 0) pthread_cond_signal(&p->done);
  }
  pthread_mutex_unlock(&p->lock);
  return NULL;
}

static void pool_free(vitc_rt_pool *p, int started) {
  pthread_mutex_lock(&p->lock);
  p->stopping = 1;
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->lock);
  for (int i = 0; i < started; i++) pthread_join(p->workers[i], NULL);
  pthread_mutex_destroy(&p->lock);
  pthread_cond_destroy(&p->wake);
  pthread_cond_destroy(&p->done);
  free(p->workers);
  free(p);
}

vitc_rt_pool *vitc_rt_pool_new(int nthreads) {
  if (nthreads <= 0) nthreads = vitc_rt_default_threads();
  vitc_rt_pool *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->nthreads = nthreads;
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->wake, NULL);
  pthread_cond_init(&p->done, NULL);
  if (!(p->workers = calloc((size_t)nthreads, sizeof *p->workers))) {
    pool_free(p, 0);
    return NULL;
  }
  for (int i = 1; i < nthreads; i++) {
    worker_arg *wa = malloc(sizeof *wa);
    if (wa) *wa = (worker_arg){p, i};
    if (!wa || pthread_create(&p->workers[i - 1], NULL, worker_main, wa)) {
      free(wa);
      pool_free(p, i - 1);
      return NULL;
    }
  }
  return p;
}

void vitc_rt_pool_free(vitc_rt_pool *p) {
  if (p) pool_free(p, p->nthreads - 1);
}

void vitc_rt_parallel_for(vitc_rt_ctx *ctx, vitc_rt_task fn, void *arg, int64_t n) {
  vitc_rt_pool *p = ctx->pool;
  if (n <= 0) return;
  if (!p || p->nthreads == 1 || n == 1) {
    fn(arg, 0, n);
    return;
  }
  pthread_mutex_lock(&p->lock);
  p->fn = fn;
  p->arg = arg;
  p->n = n;
  p->pending = p->nthreads - 1;
  p->generation++;
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->lock);
  run_share(p, 0);
  pthread_mutex_lock(&p->lock);
  while (p->pending) pthread_cond_wait(&p->done, &p->lock);
  pthread_mutex_unlock(&p->lock);
}

int vitc_rt_num_threads(const vitc_rt_ctx *ctx) { return ctx->pool ? ctx->pool->nthreads : 1; }

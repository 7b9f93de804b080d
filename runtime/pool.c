/* pool.c — a fork-join thread pool: the caller hands out one range split over the workers and waits.
 *
 * A job is published by bumping a generation. Between jobs a worker first polls the generation for a
 * short while, then sleeps on a condition variable; the caller likewise polls the count of workers still
 * running before it sleeps. A model runs one parallel kernel after another with microseconds between
 * them, and a futex wake-up costs microseconds to tens of them per kernel and thread: polling keeps the
 * workers ready across the kernels of a run, and the sleep keeps an idle pool off the CPUs. Each poll
 * yields the CPU: with more runnable threads than cores (a shared machine), a pause-only spin burned the
 * time slices the other thread needed (2000 jobs of 2 x 16000 adds on 2 cores at load 19: 0.3-0.4 ms per
 * job with sleeping only or polls that yield, 1.0-1.3 ms with 4000 pause polls).
 *
 * The range is split into one share per thread, as before, but a share belongs to whoever claims it
 * first: the caller, done with its own, claims and runs the shares no worker has started. On a shared
 * machine a worker often waits for a core long after the job was published; the caller then runs the
 * whole job instead of idling a time slice or more for it (full-size CaiT-XXS24 on 2 threads at load 21,
 * old and new pool interleaved: 700-1050 -> 260-440 ms mean per run; ORT/vitc 0.45 -> 1.79). The shares,
 * and so the results, are the same whoever runs them. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "rt_internal.h"

/* Polls of the generation (or of the pending count) before sleeping: with a sched_yield each (a fraction
 * of a microsecond when no other thread waits), longer than the gap between two kernels of a run. */
#define SPIN_POLLS 200

struct vitc_rt_pool {
  int nthreads; /* including the caller */
  pthread_t *workers;
  pthread_mutex_t lock; /* guards sleeping: changes of generation, pending and stopping broadcast under it */
  pthread_cond_t wake, done;
  atomic_uint_fast64_t generation;
  atomic_int pending;  /* shares 1 … nthreads-1 of the current job not yet done */
  atomic_int *claimed; /* claimed[i]: share i of the current job is taken (i >= 1) */
  atomic_int stopping;
  vitc_rt_task fn; /* the current job: written before its generation is published */
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

/* Waits for a generation other than seen (or for stopping); returns it. */
static uint64_t next_job(vitc_rt_pool *p, uint64_t seen) {
  for (int i = 0; i < SPIN_POLLS; i++) {
    uint64_t g = atomic_load_explicit(&p->generation, memory_order_acquire);
    if (g != seen || atomic_load_explicit(&p->stopping, memory_order_relaxed)) return g;
    sched_yield();
  }
  pthread_mutex_lock(&p->lock);
  while (atomic_load(&p->generation) == seen && !atomic_load(&p->stopping)) pthread_cond_wait(&p->wake, &p->lock);
  uint64_t g = atomic_load(&p->generation);
  pthread_mutex_unlock(&p->lock);
  return g;
}

/* Runs share i of the current job unless another thread has claimed it; the last share done wakes the
 * caller. A worker late for a job may claim the next job's share: the job is written before the claims
 * are reset (release), and the claim acquires it. */
static void claim_share(vitc_rt_pool *p, int i) {
  if (atomic_exchange_explicit(&p->claimed[i], 1, memory_order_acq_rel)) return;
  run_share(p, i);
  if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
    pthread_mutex_lock(&p->lock); /* the caller may be about to sleep: signal under the lock */
    pthread_cond_signal(&p->done);
    pthread_mutex_unlock(&p->lock);
  }
}

static void *worker_main(void *raw) {
  worker_arg *wa = raw;
  vitc_rt_pool *p = wa->pool;
  int index = wa->index;
  free(wa);
  uint64_t seen = 0;
  for (;;) {
    seen = next_job(p, seen);
    if (atomic_load(&p->stopping)) break;
    claim_share(p, index);
  }
  return NULL;
}

static void pool_free(vitc_rt_pool *p, int started) {
  pthread_mutex_lock(&p->lock);
  atomic_store(&p->stopping, 1);
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->lock);
  for (int i = 0; i < started; i++) pthread_join(p->workers[i], NULL);
  pthread_mutex_destroy(&p->lock);
  pthread_cond_destroy(&p->wake);
  pthread_cond_destroy(&p->done);
  free(p->workers);
  free(p->claimed);
  free(p);
}

vitc_rt_pool *vitc_rt_pool_new(int nthreads) {
  if (nthreads <= 0) nthreads = vitc_rt_default_threads();
  vitc_rt_pool *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->nthreads = nthreads;
  atomic_init(&p->generation, 0);
  atomic_init(&p->pending, 0);
  atomic_init(&p->stopping, 0);
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->wake, NULL);
  pthread_cond_init(&p->done, NULL);
  p->claimed = calloc((size_t)nthreads, sizeof *p->claimed);
  for (int i = 0; p->claimed && i < nthreads; i++) atomic_init(&p->claimed[i], 1);
  if (!p->claimed || !(p->workers = calloc((size_t)nthreads, sizeof *p->workers))) {
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
  p->fn = fn;
  p->arg = arg;
  p->n = n;
  atomic_store_explicit(&p->pending, p->nthreads - 1, memory_order_relaxed);
  for (int i = 1; i < p->nthreads; i++) atomic_store_explicit(&p->claimed[i], 0, memory_order_release);
  pthread_mutex_lock(&p->lock); /* a worker past its spin checks the generation under the lock */
  atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->lock);
  run_share(p, 0);
  for (int i = 1; i < p->nthreads; i++) claim_share(p, i);
  for (int i = 0; i < SPIN_POLLS && atomic_load_explicit(&p->pending, memory_order_acquire); i++) sched_yield();
  if (atomic_load_explicit(&p->pending, memory_order_acquire)) {
    pthread_mutex_lock(&p->lock);
    while (atomic_load(&p->pending)) pthread_cond_wait(&p->done, &p->lock);
    pthread_mutex_unlock(&p->lock);
  }
}

int vitc_rt_num_threads(const vitc_rt_ctx *ctx) { return ctx->pool ? ctx->pool->nthreads : 1; }

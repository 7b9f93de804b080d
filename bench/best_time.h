/* best_time.h — the kernel benchmarks' clock: the best of `reps` runs of a compiled test graph. */
#ifndef VITC_BENCH_BEST_TIME_H
#define VITC_BENCH_BEST_TIME_H

#include <time.h>

#include "backend_harness.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Seconds of the fastest of reps runs writing outs. */
static double best_time(test_graph *t, void *const *outs, int reps) {
  double best = 1e30;
  for (int rep = 0; rep < reps; rep++) {
    double t0 = now();
    tg_run(t, outs);
    double dt = now() - t0;
    if (dt < best) best = dt;
  }
  return best;
}

#endif

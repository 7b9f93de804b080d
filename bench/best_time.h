/* best_time.h — the kernel benchmarks' clocks and statistics, for all of them: the fastest of `reps` runs
 * of a compiled test graph by the wall clock and by the calling thread's CPU time (on a shared machine the
 * quiet moments are what the kernel can do, and CPU time is disturbed less), and the machine's peak from a
 * peak file. */
#ifndef VITC_BENCH_BEST_TIME_H
#define VITC_BENCH_BEST_TIME_H

#include <stdio.h>
#include <time.h>

#include "backend_harness.h"

static inline double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline double thread_cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The fastest of reps runs writing outs, in wall-clock and calling-thread CPU seconds (each its own fastest). */
static inline void best_times(test_graph *t, void *const *outs, int reps, double *wall, double *cpu) {
  *wall = *cpu = 1e30;
  for (int rep = 0; rep < reps; rep++) {
    double t0 = now(), c0 = thread_cpu();
    tg_run(t, outs);
    double dc = thread_cpu() - c0, dt = now() - t0;
    if (dt < *wall) *wall = dt;
    if (dc < *cpu) *cpu = dc;
  }
}

/* Wall-clock seconds of the fastest of reps runs writing outs. */
static inline double best_time(test_graph *t, void *const *outs, int reps) {
  double wall, cpu;
  best_times(t, outs, reps, &wall, &cpu);
  return wall;
}

/* The machine's peak GFLOP/s at `threads` threads from a peak file ("THREADS GFLOPS" lines, as
 * /work/shared-bench/peak.txt), or 0 when it has none. */
static inline double peak_of(const char *path, int threads) {
  FILE *f = path ? fopen(path, "r") : NULL;
  double peak = 0, g;
  int n;
  char line[256];
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "%d %lf", &n, &g) == 2 && n == threads) peak = g;
  if (f) fclose(f);
  return peak;
}

#endif

/* cli_progress.c — a compilation's progress on a terminal: one line on stderr, rewritten in place, once
 * the compilation has taken a second; nothing when stderr is not a terminal or the compile is quick. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

void cli_progress(void *user, const char *stage, int done, int total) {
  cli_progress_state *p = user;
  if (!p->start) p->start = now();
  if (!stage) { /* the end: clear the line if there is one */
    if (p->shown) fprintf(stderr, "\r\033[K");
    p->start = 0;
    p->shown = false;
    return;
  }
  double t = now();
  if (t - p->start < 1 || t - p->last < 0.1 || !isatty(STDERR_FILENO)) return;
  p->last = t;
  p->shown = true;
  if (total) fprintf(stderr, "\rvitc: compiling: %s %d/%d\033[K", stage, done, total);
  else fprintf(stderr, "\rvitc: compiling: %s\033[K", stage);
}

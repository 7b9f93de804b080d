/* cli_progress.c — a compilation's progress on a terminal: one line on stderr, rewritten in place, once
 * the compilation has taken a second; nothing when stderr is not a terminal or the compile is quick. */
#include <stdio.h>
#include <unistd.h>

#include "cli.h"

void cli_progress(void *user, const char *stage, int done, int total) {
  cli_progress_state *p = user;
  if (!p->start) p->start = cli_now_ms();
  if (!stage) { /* the end: clear the line if there is one */
    if (p->shown) fprintf(stderr, "\r\033[K");
    p->start = 0;
    p->shown = false;
    return;
  }
  double t = cli_now_ms();
  if (t - p->start < 1000 || t - p->last < 100 || !isatty(STDERR_FILENO)) return;
  p->last = t;
  p->shown = true;
  if (total) fprintf(stderr, "\rvitc: compiling: %s %d/%d\033[K", stage, done, total);
  else fprintf(stderr, "\rvitc: compiling: %s\033[K", stage);
}

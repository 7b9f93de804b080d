/* trace.c — a trace of a context's runs in Chrome's trace-event format, which Perfetto
 * (ui.perfetto.dev) and chrome://tracing open: one complete event ("ph":"X") per node per run, named
 * "node (Op)", on the thread that ran the node, with the run's index and the node's index as arguments.
 *
 * Recording happens in the node hook that generated code calls (vitc_rt_trace_record, installed with
 * vitc_rt_set_node_hook), into a buffer
 * allocated when tracing starts, so a traced run still never allocates; events past its capacity are
 * counted, not kept, and the file says how many were dropped. Labels point into the compiled code's
 * constant strings, which live as long as the code. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt_internal.h"

struct vitc_rt_trace {
  vitc_rt_trace_event *events;
  size_t count, capacity, dropped;
  int run;           /* index of the run under way: a node index that does not grow starts a new run */
  int last_node;
  uint64_t origin_ns; /* timestamps are microseconds since tracing started */
};

void vitc_rt_trace_record(void *trace, int node, const char *label, uint64_t nanoseconds) {
  vitc_rt_trace *t = trace;
  uint64_t now = vitc_rt_clock_ns();
  if (node <= t->last_node) t->run++;
  t->last_node = node;
  if (t->count == t->capacity) {
    t->dropped++;
    return;
  }
  t->events[t->count++] = (vitc_rt_trace_event){label, now - nanoseconds, nanoseconds, node, t->run, gettid()};
}

vitc_rt_trace *vitc_rt_trace_new(size_t max_events) {
  vitc_rt_trace *t = calloc(1, sizeof *t);
  if (!t || !(t->events = malloc((max_events ? max_events : 1) * sizeof *t->events))) {
    free(t);
    return NULL;
  }
  t->capacity = max_events;
  t->run = -1;
  t->last_node = 1 << 30;
  t->origin_ns = vitc_rt_clock_ns();
  return t;
}

/* A JSON string body: quotes, backslashes and control characters escaped. */
static void put_json_text(FILE *f, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c < 0x20) fprintf(f, "\\u%04x", c);
    else fputc(c, f);
  }
}

/* "name (Op)": the op is the text in the last parentheses. */
static void write_event(FILE *f, const vitc_rt_trace *t, const vitc_rt_trace_event *e, pid_t pid) {
  const char *open = strrchr(e->label, '(');
  size_t name_len = open && open > e->label ? (size_t)(open - e->label - 1) : strlen(e->label);
  uint64_t start = e->start_ns - t->origin_ns;
  fputs("{\"name\":\"", f);
  put_json_text(f, e->label, strlen(e->label));
  fputs("\",\"cat\":\"", f);
  if (open) put_json_text(f, open + 1, strcspn(open + 1, ")"));
  fprintf(f, "\",\"ph\":\"X\",\"ts\":%.3f,\"dur\":%.3f,\"pid\":%d,\"tid\":%d,\"args\":{\"run\":%d,\"node\":%d,\"name\":\"",
          (double)start / 1e3, (double)e->duration_ns / 1e3, (int)pid, (int)e->thread, e->run, e->node);
  put_json_text(f, e->label, name_len);
  fputs("\"}}", f);
}

int vitc_rt_trace_write(const vitc_rt_trace *t, const char *path, char *err, size_t errlen) {
  size_t n = strlen(path) + sizeof ".tmp.XXXXXX";
  char *tmp = malloc(n);
  if (!tmp) return snprintf(err, errlen, "out of memory"), -1;
  snprintf(tmp, n, "%s.tmp.XXXXXX", path);
  int fd = mkstemp(tmp);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!f) {
    snprintf(err, errlen, "%s: cannot create a temporary file: %s", path, strerror(errno));
    if (fd >= 0) close(fd), unlink(tmp);
    free(tmp);
    return -1;
  }
  pid_t pid = getpid();
  fprintf(f, "{\"displayTimeUnit\":\"ms\",\"otherData\":{\"runs\":%d,\"dropped_events\":%zu},\"traceEvents\":[\n",
          t->run + 1, t->dropped);
  for (size_t i = 0; i < t->count; i++) {
    write_event(f, t, &t->events[i], pid);
    fputs(i + 1 < t->count ? ",\n" : "\n", f);
  }
  fputs("]}\n", f);
  bool ok = !ferror(f) && fchmod(fd, 0644) == 0;
  ok = fclose(f) == 0 && ok;
  if (!ok || rename(tmp, path)) {
    snprintf(err, errlen, "%s: cannot write the trace: %s", path, strerror(errno));
    unlink(tmp);
    free(tmp);
    return -1;
  }
  free(tmp);
  return 0;
}

const vitc_rt_trace_event *vitc_rt_trace_events(const vitc_rt_trace *t, size_t *count) {
  *count = t->count;
  return t->events;
}

void vitc_rt_trace_free(vitc_rt_trace *t) {
  if (!t) return;
  free(t->events);
  free(t);
}

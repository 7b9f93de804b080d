/* cpus.c — how many threads a context starts when the host does not say: what this process may really
 * use, not how many CPUs the machine has. Under `taskset -c 0`, or in a container given two CPUs of a
 * 64-core host, sysconf(_SC_NPROCESSORS_ONLN) would oversubscribe badly.
 *
 *   VITC_NUM_THREADS (1..VITC_RT_MAX_THREADS)  if set and valid
 *   else min(CPUs in sched_getaffinity, ceil(cgroup CPU quota / period))
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "rt_internal.h"

int vitc_rt_parse_threads(const char *text) {
  if (!text || !*text) return 0;
  char *end;
  long n = strtol(text, &end, 10);
  return *end || n < 1 || n > VITC_RT_MAX_THREADS ? -1 : (int)n;
}

/* The CPU bandwidth limit of the process's cgroup, rounded up to whole CPUs; 0 when unlimited or unknown.
 * cgroup v2 keeps "QUOTA PERIOD" (or "max PERIOD") in cpu.max, v1 two files in the cpu controller. */
static int cgroup_cpu_limit(void) {
  long long quota = -1, period = 0;
  FILE *f = fopen("/sys/fs/cgroup/cpu.max", "r");
  if (f) {
    if (fscanf(f, "%lld %lld", &quota, &period) != 2) quota = -1;
    fclose(f);
  } else if ((f = fopen("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "r"))) {
    if (fscanf(f, "%lld", &quota) != 1) quota = -1;
    fclose(f);
    if ((f = fopen("/sys/fs/cgroup/cpu/cpu.cfs_period_us", "r"))) {
      if (fscanf(f, "%lld", &period) != 1) period = 0;
      fclose(f);
    }
  }
  if (quota <= 0 || period <= 0) return 0;
  return (int)((quota + period - 1) / period);
}

int vitc_rt_default_threads(void) {
  int n = vitc_rt_parse_threads(getenv("VITC_NUM_THREADS"));
  if (n > 0) return n;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
  if (n <= 0) {
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    n = online > 0 ? (int)online : 1;
  }
  int limit = cgroup_cpu_limit();
  if (limit > 0 && limit < n) n = limit;
  return n < VITC_RT_MAX_THREADS ? n : VITC_RT_MAX_THREADS;
}

/* cpus.c — what the CPUs under this process can do.
 *
 * Features: compiled code records the CPU features it was built for (LLVM's "+avx2,+fma,…"), and a
 * context is refused on a CPU that lacks one, with its name, instead of dying later with SIGILL.
 *
 * Threads: how many a context starts when the host does not say: what this process may really use, not
 * how many CPUs the machine has. Under `taskset -c 0`, or in a container given two CPUs of a 64-core host,
 * sysconf(_SC_NPROCESSORS_ONLN) would oversubscribe badly.
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

#if defined(__aarch64__)
#include <sys/auxv.h>
#elif defined(__x86_64__)
#include <cpuid.h>
#endif
#include <string.h>

/* Whether this CPU has the LLVM feature `name`; true for features the runtime cannot test (they are not
 * ones that make code fault: tuning flags, or instructions every CPU of the target has). */
static bool has_feature(const char *name, size_t len) {
#define IS(s) (len == sizeof s - 1 && !memcmp(name, s, len))
#if defined(__x86_64__)
  __builtin_cpu_init();
#define X86(llvm, gcc) if (IS(llvm)) return __builtin_cpu_supports(gcc);
  X86("sse4.1", "sse4.1") X86("sse4.2", "sse4.2") X86("avx", "avx") X86("avx2", "avx2") X86("fma", "fma")
  X86("bmi", "bmi") X86("bmi2", "bmi2") X86("avx512f", "avx512f") X86("avx512bw", "avx512bw")
  X86("avx512dq", "avx512dq") X86("avx512vl", "avx512vl") X86("avx512cd", "avx512cd")
  X86("avx512vnni", "avx512vnni") X86("avx512bf16", "avx512bf16") X86("avx512vbmi", "avx512vbmi")
  X86("avx512ifma", "avx512ifma") X86("avx512vp2intersect", "avx512vp2intersect")
#undef X86
  /* Newer than clang 16's __builtin_cpu_supports: CPUID leaf 7 directly, on top of the OS-enabled base. */
  unsigned a, b, c, d;
  if (IS("avx512fp16")) return __builtin_cpu_supports("avx512f") && __get_cpuid_count(7, 0, &a, &b, &c, &d) && (d >> 23 & 1);
  if (IS("avxvnni")) return __builtin_cpu_supports("avx2") && __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a >> 4 & 1);
#elif defined(__aarch64__)
  unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
  if (IS("neon")) return hw & HWCAP_ASIMD;
  if (IS("fullfp16")) return hw & HWCAP_FPHP;
  if (IS("dotprod")) return hw & HWCAP_ASIMDDP;
  if (IS("sve")) return hw & HWCAP_SVE;
  if (IS("sve2")) return hw2 & HWCAP2_SVE2;
  if (IS("bf16")) return hw2 & HWCAP2_BF16;
  if (IS("i8mm")) return hw2 & HWCAP2_I8MM;
#endif
#undef IS
  return true;
}

bool vitc_rt_cpu_supports(const char *features, char *missing, size_t missing_len) {
  for (const char *p = features; p && *p;) {
    size_t len = strcspn(p, ",");
    if (*p == '+' && !has_feature(p + 1, len - 1)) {
      snprintf(missing, missing_len, "%.*s", (int)len - 1, p + 1);
      return false;
    }
    p += len + (p[len] == ',');
  }
  return true;
}

static _Thread_local char last_error[256];

const char *vitc_rt_last_error(void) { return last_error; }
void vitc_rt_set_last_error(const char *msg) { snprintf(last_error, sizeof last_error, "%s", msg); }

int vitc_rt_require_cpu(const char *features, char *err, size_t errlen) {
  char missing[64];
  if (vitc_rt_cpu_supports(features, missing, sizeof missing)) return 0;
  snprintf(last_error, sizeof last_error,
           "this CPU lacks '%s', which the compiled code needs: compile it for this CPU, or name one it can run "
           "on with --mcpu/--mattr",
           missing);
  if (err && errlen) snprintf(err, errlen, "%s", last_error);
  return -1;
}

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

int vitc_rt_resolve_threads(int nthreads) {
  if (nthreads > VITC_RT_MAX_THREADS) {
    snprintf(last_error, sizeof last_error, "%d threads asked for: at most %d", nthreads, VITC_RT_MAX_THREADS);
    return -1;
  }
  if (nthreads > 0) return nthreads;
  const char *env = getenv("VITC_NUM_THREADS");
  if (vitc_rt_parse_threads(env) < 0) {
    snprintf(last_error, sizeof last_error, "VITC_NUM_THREADS is '%.64s': expected a whole number from 1 to %d", env,
             VITC_RT_MAX_THREADS);
    return -1;
  }
  return vitc_rt_default_threads();
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

/* cli_peak.c — this machine's peak fp32 GFLOP/s for `vitc bench`: a short FMA probe, cached per CPU
 * model and thread count.
 *
 * The probe runs independent chains of vector FMAs (acc = acc·m + c), enough of them to cover the FMA
 * latency on every pipe, on each thread at once; it is compiled for the widest vector ISA the CPU has
 * (AVX-512, AVX2+FMA, or the build's default), as the JIT's code is, each chain one register of that ISA:
 * chains of 16 floats on AVX2 are two ymm each, 24 of 16 registers, and spilled (8.5 GFLOP/s on a Zen 3
 * core that does 100.9). Best of several short rounds. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

enum { ROUNDS = 5 };
#define PROBE_ITERS (1L << 23)
/* Twelve independent chains: named variables, so that they live in registers (an array would not). */
#define CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define COUNT_CHAIN(k) +1
enum { NCHAINS = 0 CHAINS(COUNT_CHAIN) };

/* A probe `name` on vectors of `lanes` floats: NCHAINS × lanes FMAs per iteration, each chain depending
 * only on itself; a·m + c is contracted into one FMA (GNU C's -ffp-contract=fast). */
#define FMA_PROBE(name, lanes)                                                                                       \
  static float name(long iters, float seed) {                                                                      \
    typedef float vfloat __attribute__((vector_size(4 * (lanes))));                                                \
    vfloat m = (vfloat){0} + 0.9999999f, c = (vfloat){0} + 1e-7f, sum = {0};                                       \
    CHAINS(DECLARE)                                                                                                \
    for (long i = 0; i < iters; i++) {                                                                             \
      CHAINS(STEP)                                                                                                 \
    }                                                                                                              \
    CHAINS(ADD)                                                                                                    \
    float s = 0;                                                                                                   \
    for (int l = 0; l < (lanes); l++) s += sum[l];                                                                 \
    return s;                                                                                                      \
  }
#define DECLARE(k) vfloat a##k = (vfloat){0} + seed + k;
#define STEP(k) a##k = a##k * m + c;
#define ADD(k) sum += a##k;

#if defined(__x86_64__)
__attribute__((target("avx512f"))) FMA_PROBE(fma_avx512, 16)
__attribute__((target("avx2,fma"))) FMA_PROBE(fma_avx2, 8)
#endif
FMA_PROBE(fma_default, 4) /* SSE's or NEON's 4 floats */

typedef struct probe {
  float (*fn)(long, float);
  int lanes; /* floats per vector of fn */
  int go; /* 0: wait, 1: run, -1: give up (a thread could not start) */
  volatile float sink;
} probe;

static void *probe_thread(void *arg) {
  probe *p = arg;
  int go;
  while (!(go = __atomic_load_n(&p->go, __ATOMIC_ACQUIRE))) sched_yield();
  if (go > 0) p->sink = p->fn(PROBE_ITERS, 1.0f);
  return NULL;
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

/* One round on `threads` threads (the caller is one of them); GFLOP/s, or 0 if threads cannot start. */
static double probe_round(probe *p, int threads) {
  pthread_t *tid = calloc((size_t)threads, sizeof *tid);
  int started = 0;
  p->go = 0;
  while (tid && started < threads - 1 && !pthread_create(&tid[started], NULL, probe_thread, p)) started++;
  bool all = tid && started == threads - 1;
  double t0 = now_s();
  __atomic_store_n(&p->go, all ? 1 : -1, __ATOMIC_RELEASE);
  if (all) p->sink = p->fn(PROBE_ITERS, 2.0f);
  for (int k = 0; k < started; k++) pthread_join(tid[k], NULL);
  double seconds = now_s() - t0;
  free(tid);
  return all ? 2.0 * NCHAINS * p->lanes * PROBE_ITERS * threads / seconds / 1e9 : 0;
}

static double measure_peak(int threads) {
  probe p = {fma_default, 4};
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) p = (probe){fma_avx512, 16};
  else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) p = (probe){fma_avx2, 8};
#endif
  double best = 0;
  for (int r = 0; r < ROUNDS; r++) {
    double g = probe_round(&p, threads);
    if (g > best) best = g;
  }
  return best;
}

/* The CPU's model name from /proc/cpuinfo, or the machine name from uname. */
static void cpu_model(char *buf, size_t n) {
  FILE *f = fopen("/proc/cpuinfo", "r");
  char line[512];
  while (f && fgets(line, sizeof line, f)) {
    char *colon = strchr(line, ':');
    if (strncmp(line, "model name", 10) || !colon) continue;
    snprintf(buf, n, "%s", colon + 1 + strspn(colon + 1, " \t"));
    buf[strcspn(buf, "\n")] = 0;
    fclose(f);
    return;
  }
  if (f) fclose(f);
  struct utsname u;
  snprintf(buf, n, "%s", uname(&u) ? "unknown" : u.machine);
}

/* $XDG_CACHE_HOME/vitc/peak.txt or ~/.cache/vitc/peak.txt; its directory is created. False without either. */
static bool cache_path(char *path, size_t n) {
  const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
  char dir[4096];
  if (xdg && *xdg) snprintf(dir, sizeof dir, "%s/vitc", xdg);
  else if (home && *home) snprintf(dir, sizeof dir, "%s/.cache/vitc", home);
  else return false;
  for (char *p = dir + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    mkdir(dir, 0777);
    *p = '/';
  }
  if (mkdir(dir, 0777) && errno != EEXIST) return false;
  snprintf(path, n, "%s/peak.txt", dir);
  return true;
}

double cli_peak_gflops(int threads, double at_least, char *source, size_t n) {
  char model[256], path[4200], line[512];
  cpu_model(model, sizeof model);
  bool cacheable = cache_path(path, sizeof path);
  FILE *f = cacheable ? fopen(path, "r") : NULL;
  double cached = 0;
  /* Lines of "THREADS GFLOPS CPU MODEL…"; a later, higher measurement is appended, so take the largest. */
  while (f && fgets(line, sizeof line, f)) {
    int t, used = 0;
    double gflops;
    line[strcspn(line, "\n")] = 0;
    if (sscanf(line, "%d %lf %n", &t, &gflops, &used) == 2 && used && t == threads && gflops > cached &&
        !strcmp(line + used, model))
      cached = gflops;
  }
  if (f) fclose(f);
  if (cached > 0 && cached >= at_least) {
    snprintf(source, n, "cached in %s", path);
    return cached;
  }
  /* Not cached, or the cached figure is below a speed just measured: it was taken on a busy machine. */
  double gflops = measure_peak(threads);
  snprintf(source, n, "FMA probe");
  if (gflops > cached && cacheable && (f = fopen(path, "a"))) {
    fprintf(f, "%d %.1f %s\n", threads, gflops, model);
    fclose(f);
  }
  return gflops > cached ? gflops : cached;
}

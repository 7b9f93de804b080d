/* eval_gemm.c — GFLOP/s of the evaluator's float32 GEMM on ViT-B/16 shapes. A benchmark, not a test:
 *   cc -O3 -I. bench/eval_gemm.c ir/ops/gemm_kernel.c -o eval_gemm && ./eval_gemm */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ir/ops/gemm_kernel.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Runs [m x k] x [k x n] (b transposed when b_transposed) until a quarter second has passed. */
static void bench(const char *what, int64_t m, int64_t n, int64_t k, int b_transposed) {
  float *a = malloc(sizeof(float) * (size_t)(m * k)), *b = malloc(sizeof(float) * (size_t)(k * n));
  float *c = malloc(sizeof(float) * (size_t)(m * n));
  for (int64_t i = 0; i < m * k; i++) a[i] = (float)(i % 7) - 3;
  for (int64_t i = 0; i < k * n; i++) b[i] = (float)(i % 5) - 2;
  vitc_fmat bm = b_transposed ? vitc_fmat_cols(b, k) : vitc_fmat_rows(b, n);
  int runs = 0;
  double t0 = now(), t;
  do {
    vitc_sgemm(m, n, k, 1.0f, vitc_fmat_rows(a, k), bm, 0.0f, c, n);
    runs++;
  } while ((t = now() - t0) < 0.25);
  printf("%-28s %5lld x %5lld x %5lld: %6.2f GFLOP/s\n", what, (long long)m, (long long)n, (long long)k,
         2.0 * (double)(m * n * k) * runs / t * 1e-9);
  free(a);
  free(b);
  free(c);
}

int main(void) {
  bench("qkv projection", 197, 2304, 768, 0);
  bench("mlp down projection", 197, 768, 3072, 0);
  bench("mlp up projection", 197, 3072, 768, 0);
  bench("attention scores (q k^T)", 197, 197, 64, 1);
  bench("attention values (p v)", 197, 64, 197, 0);
  return 0;
}

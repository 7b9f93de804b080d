/* eval_gemm.c — GFLOP/s (per CPU second) of the evaluator's float32 GEMM on ViT-B/16 shapes. A benchmark, not a test:
 *   cc -O3 -I. bench/eval_gemm.c ir/ops/gemm_kernel.c -o eval_gemm && ./eval_gemm */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ir/ops/gemm_kernel.h"

/* CPU time of this process: the machine may be shared, and the question is what one core does. */
static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
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

/* The GEMMs of one ViT-B/16 forward pass (12 layers; patch embedding as a 196 x 768 x 768 GEMM). */
static void vit_b16(void) {
  struct { int64_t m, n, k, count; int bt; } g[] = {
      {196, 768, 768, 1, 0},       {197, 2304, 768, 12, 0}, {197, 197, 64, 144, 1}, {197, 64, 197, 144, 0},
      {197, 768, 768, 12, 0},      {197, 3072, 768, 12, 0}, {197, 768, 3072, 12, 0}};
  float *a = calloc(197 * 3072, sizeof(float)), *b = calloc(3072 * 2304, sizeof(float)), *c = calloc(197 * 3072, sizeof(float));
  double flops = 0, t0 = now();
  for (size_t i = 0; i < sizeof g / sizeof *g; i++)
    for (int64_t r = 0; r < g[i].count; r++) {
      vitc_fmat bm = g[i].bt ? vitc_fmat_cols(b, g[i].k) : vitc_fmat_rows(b, g[i].n);
      vitc_sgemm(g[i].m, g[i].n, g[i].k, 1.0f, vitc_fmat_rows(a, g[i].k), bm, 0.0f, c, g[i].n);
      flops += 2.0 * (double)(g[i].m * g[i].n * g[i].k);
    }
  double t = now() - t0;
  printf("ViT-B/16 GEMMs: %.1f GFLOP in %.2f s (%.2f GFLOP/s)\n", flops * 1e-9, t, flops / t * 1e-9);
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
  vit_b16();
  return 0;
}

/* gemm_kernel.c — a Goto-style blocked float32 GEMM in portable C.
 *
 *   for each NC-wide column block of B            (jc)
 *     for each KC-deep slice of K                   (pc)   pack B[pc.., jc..] into NR-wide panels
 *       for each MC-tall row block of A             (ic)   pack A[ic.., pc..] into MR-tall panels
 *         for each NR panel, for each MR panel              MR x NR micro-kernel over kc
 *
 * The packed panels make every operand layout (row-major, transposed, broadcast) look the same to the
 * micro-kernel, and keep its working set in L1 (one B panel) and L2 (the A block). The micro-kernel is a
 * plain C loop over a fixed MR x NR accumulator block: with constant trip counts GCC and Clang keep the
 * accumulators in vector registers and vectorise along NR without any intrinsics or -march flag.
 * MR x NR = 4 x 8 keeps its 8 accumulators, the B row and the A broadcasts in the 16 SSE registers baseline
 * x86-64 has; 6 x 8 and 8 x 8 spilled and ran at half speed or less (bench/eval_gemm.c). MC = 256 covers
 * the 197 token rows of a ViT in one A block, so each B panel is packed once. */
#include "gemm_kernel.h"

#include <stdlib.h>
#include <string.h>

#ifndef GEMM_MR
#define GEMM_MR 4
#endif
#ifndef GEMM_NR
#define GEMM_NR 8
#endif
#define MR GEMM_MR
#define NR GEMM_NR
#define KC 256
#define MC 256 /* multiple of MR: MC x KC floats (256 KB) of packed A stay in L2 */
#define NC 2048 /* multiple of NR */

/* dst[p*MR + i] = a(i0+i, p0+p), zero rows past m. Reads along the operand's unit stride. */
static void pack_a(float *restrict dst, vitc_fmat a, int64_t i0, int64_t mr, int64_t p0, int64_t kc) {
  const float *src = a.p + i0 * a.row_stride + p0 * a.col_stride;
  if (mr < MR) memset(dst, 0, sizeof(float) * (size_t)(MR * kc));
  if (a.col_stride == 1 || a.row_stride != 1) {
    for (int64_t i = 0; i < mr; i++)
      for (int64_t p = 0; p < kc; p++) dst[p * MR + i] = src[i * a.row_stride + p * a.col_stride];
  } else {
    for (int64_t p = 0; p < kc; p++)
      for (int64_t i = 0; i < mr; i++) dst[p * MR + i] = src[i + p * a.col_stride];
  }
}

/* dst[p*NR + j] = b(p0+p, j0+j), zero columns past n. */
static void pack_b(float *restrict dst, vitc_fmat b, int64_t p0, int64_t kc, int64_t j0, int64_t nr) {
  const float *src = b.p + p0 * b.row_stride + j0 * b.col_stride;
  if (nr < NR) memset(dst, 0, sizeof(float) * (size_t)(NR * kc));
  if (b.col_stride == 1) {
    for (int64_t p = 0; p < kc; p++)
      for (int64_t j = 0; j < nr; j++) dst[p * NR + j] = src[p * b.row_stride + j];
  } else {
    for (int64_t j = 0; j < nr; j++)
      for (int64_t p = 0; p < kc; p++) dst[p * NR + j] = src[p * b.row_stride + j * b.col_stride];
  }
}

/* acc = sum over kc of the outer products of a packed A column and a packed B row. */
static void micro_kernel(int64_t kc, const float *restrict a, const float *restrict b, float acc[MR][NR]) {
  float t[MR][NR];
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++) t[i][j] = 0;
  for (int64_t p = 0; p < kc; p++) {
    for (int i = 0; i < MR; i++)
      for (int j = 0; j < NR; j++) t[i][j] += a[i] * b[j];
    a += MR;
    b += NR;
  }
  memcpy(acc, t, sizeof t);
}

/* c = alpha * acc + first_beta * c on the mr x nr corner; first_beta == 0 means c is not read. */
static void store_tile(float *c, int64_t ldc, int64_t mr, int64_t nr, float acc[MR][NR], float alpha,
                       float first_beta) {
  if (mr == MR && nr == NR) {
    for (int i = 0; i < MR; i++) {
      float *row = c + i * ldc;
      if (first_beta == 0)
        for (int j = 0; j < NR; j++) row[j] = alpha * acc[i][j];
      else
        for (int j = 0; j < NR; j++) row[j] = alpha * acc[i][j] + first_beta * row[j];
    }
    return;
  }
  for (int64_t i = 0; i < mr; i++) {
    float *row = c + i * ldc;
    for (int64_t j = 0; j < nr; j++) row[j] = alpha * acc[i][j] + (first_beta == 0 ? 0 : first_beta * row[j]);
  }
}

/* beta * c (or zero) where there is nothing to add: k == 0 or alpha == 0. */
static void scale_c(int64_t m, int64_t n, float beta, float *c, int64_t ldc) {
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j];
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

bool vitc_sgemm(int64_t m, int64_t n, int64_t k, float alpha, vitc_fmat a, vitc_fmat b, float beta, float *c,
                int64_t ldc) {
  if (m <= 0 || n <= 0) return true;
  if (k <= 0 || alpha == 0) {
    scale_c(m, n, beta, c, ldc);
    return true;
  }
  int64_t nc_max = min64(NC, (n + NR - 1) / NR * NR), kc_max = min64(KC, k);
  int64_t mc_max = min64(MC, (m + MR - 1) / MR * MR);
  float *bpack = malloc(sizeof(float) * (size_t)(nc_max * kc_max));
  float *apack = malloc(sizeof(float) * (size_t)(mc_max * kc_max));
  if (!bpack || !apack) {
    free(bpack);
    free(apack);
    return false;
  }
  float acc[MR][NR];
  for (int64_t jc = 0; jc < n; jc += NC) {
    int64_t nc = min64(NC, n - jc);
    for (int64_t pc = 0; pc < k; pc += KC) {
      int64_t kc = min64(KC, k - pc);
      float first_beta = pc == 0 ? beta : 1.0f; /* later K slices accumulate onto the first */
      for (int64_t jr = 0; jr < nc; jr += NR)
        pack_b(bpack + jr * kc, b, pc, kc, jc + jr, min64(NR, nc - jr));
      for (int64_t ic = 0; ic < m; ic += MC) {
        int64_t mc = min64(MC, m - ic);
        for (int64_t ir = 0; ir < mc; ir += MR) pack_a(apack + ir * kc, a, ic + ir, min64(MR, mc - ir), pc, kc);
        for (int64_t jr = 0; jr < nc; jr += NR)
          for (int64_t ir = 0; ir < mc; ir += MR) {
            micro_kernel(kc, apack + ir * kc, bpack + jr * kc, acc);
            store_tile(c + (ic + ir) * ldc + jc + jr, ldc, min64(MR, mc - ir), min64(NR, nc - jr), acc, alpha,
                       first_beta);
          }
      }
    }
  }
  free(bpack);
  free(apack);
  return true;
}

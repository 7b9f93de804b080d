/* gemm_kernel.h — the cache-blocked float32 GEMM that MatMul, Gemm, Einsum, Conv and ConvTranspose run
 * on. Internal to ir/ops/. */
#ifndef VITC_IR_OPS_GEMM_KERNEL_H
#define VITC_IR_OPS_GEMM_KERNEL_H

#include <stdbool.h>
#include <stdint.h>

/* A strided read-only matrix view: element (i, j) is at p[i * row_stride + j * col_stride]. A transposed
 * operand is the same memory with the two strides swapped; a broadcast one has a zero stride. */
typedef struct vitc_fmat {
  const float *p;
  int64_t row_stride, col_stride;
} vitc_fmat;

static inline vitc_fmat vitc_fmat_rows(const float *p, int64_t ld) { return (vitc_fmat){p, ld, 1}; }
static inline vitc_fmat vitc_fmat_cols(const float *p, int64_t ld) { return (vitc_fmat){p, 1, ld}; }

/* c[i*ldc + j] = alpha * sum_p a(i,p) * b(p,j) + beta * c[i*ldc + j] for i < m, j < n.
 * With beta == 0, c is only written (it may hold garbage, even NaN). c must not overlap a or b.
 * Returns false when the packing buffers cannot be allocated (c is then unspecified). */
bool vitc_sgemm(int64_t m, int64_t n, int64_t k, float alpha, vitc_fmat a, vitc_fmat b, float beta, float *c,
                int64_t ldc);

#endif

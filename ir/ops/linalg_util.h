/* linalg_util.h — what linalg.c, einsum.c, conv.c and pool.c share besides the float32 GEMM: dtype checks,
 * the generic-dtype GEMM and the evaluators' walk over a window (vitc_window is public, in ir.h).
 * Internal to ir/ops/. */
#ifndef VITC_IR_OPS_LINALG_UTIL_H
#define VITC_IR_OPS_LINALG_UTIL_H

#include "ops.h"

/* Numeric dtypes (everything but bool): the ones MatMul, Gemm, Einsum and Conv accept. */
bool vitc_is_arith_dtype(vitc_dtype t);
/* Fails with "WHAT has dtype bool, which has no arithmetic" for a non-numeric dtype. */
vitc_status vitc_check_arith_dtype(const vitc_value *v, const char *what, vitc_error *err);
/* Fails naming both dtypes when they differ. */
vitc_status vitc_check_same_dtype(const vitc_value *a, const vitc_value *b, vitc_error *err);

/* The slow path for every dtype but float32: element (i,j) of c (at c_off + i*ldc + j) becomes
 * alpha * sum_p a(i,p) b(p,j), plus its previous value when accumulate. Sums in double. */
void vitc_generic_gemm(int64_t m, int64_t n, int64_t k, double alpha, const vitc_value *a, int64_t a_off,
                       int64_t a_rs, int64_t a_cs, const vitc_value *b, int64_t b_off, int64_t b_rs,
                       int64_t b_cs, vitc_value *c, int64_t c_off, int64_t ldc, bool accumulate);

/* Spatial offset of input element (out_idx * stride - pad_begin + k_idx * dilation) in a dense input
 * plane; false when it falls into the padding. */
bool vitc_window_input_offset(const vitc_window *w, const int64_t *out_idx, const int64_t *k_idx, int64_t *off);
/* Advances a row-major multi-index over dims; false after the last one (the index is then all zeros). */
bool vitc_next_index(int64_t *idx, const int64_t *dims, int nd);

#endif

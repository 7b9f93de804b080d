/* emit_window.h — what the sliding-window kernels (emit_conv.c, emit_conv_transpose.c, emit_pool.c) share
 * besides emit_unflatten (emit_gemm.h): index arithmetic over the window geometry of ir.h (vitc_window, the
 * evaluator's, so both agree) and their column buffer. Internal to backend/. */
#ifndef VITC_EMIT_WINDOW_H
#define VITC_EMIT_WINDOW_H

#include "cg.h"

#define COL_BUDGET ((int64_t)1 << 22) /* floats of an im2col / col2im buffer (16 MB) */

/* a * b for a static b, and a + b: index arithmetic, which never wraps (nsw). */
static inline LLVMValueRef mul_i(vitc_cg *cg, LLVMValueRef a, int64_t b) {
  return b == 1 ? a : LLVMBuildNSWMul(cg->b, a, cg_i64(cg, b), "");
}
static inline LLVMValueRef add_i(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildNSWAdd(cg->b, a, b, "");
}

/* A float32 buffer of `floats` from malloc, for a kernel to free before it returns (the memory planner
 * has no per-node scratch yet); a failed allocation traps rather than leaving the output unwritten. */
LLVMValueRef emit_col_alloc(vitc_cg *cg, int64_t floats);
/* Offset in a dense input plane of the window tap kidx at output position oidx, and whether it lies
 * inside the input (outside, the offset is 0 so that a load from it stays in bounds). */
LLVMValueRef emit_window_offset(vitc_cg *cg, const vitc_window *w, const LLVMValueRef *oidx,
                                const LLVMValueRef *kidx, LLVMValueRef *inside);

#endif

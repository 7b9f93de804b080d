/* emit_swiglu.c — vitc.SwiGLU: x [.., 2H] → y [.., H], per row
 *
 *   for j < H:  g = x[row, gate + j], v = x[row, H - gate + j]      gate = silu_half · H
 *               y[row, j] = g / (1 + e^-g) · v
 *
 * in double like the evaluator (ir/ops/fused_activation.c); rows run across the runtime pool when large. */
#include "emit_rows.h"
#include "emitters.h"

vitc_status emit_SwiGLU(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  const vitc_value *x = cg_in_value(cg, 0), *y = cg_out_value(cg, 0);
  int64_t half = vitc_attr_int(n, "silu_half", 0);
  if (half != 0 && half != 1)
    return vitc_fail(err, VITC_ERR_INVALID, "SwiGLU silu_half is %lld, expected 0 or 1", (long long)half);
  int64_t h = y->dims[y->rank - 1];
  if (vitc_numel(y) == 0) return VITC_OK;
  LLVMValueRef ptrs[2] = {cg_in(cg, 0), cg_out(cg, 0)};
  row_loop rl;
  LLVMValueRef r = rows_begin(cg, &rl, vitc_numel(y) / h, vitc_numel(x), ptrs, 2);
  LLVMValueRef in_row = LLVMBuildMul(cg->b, r, cg_i64(cg, 2 * h), ""), out_row = LLVMBuildMul(cg->b, r, cg_i64(cg, h), "");
  cg_loop j = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, h), 1);
  LLVMValueRef at = LLVMBuildAdd(cg->b, in_row, j.iv, "");
  LLVMValueRef g = load_f64(cg, ptrs[0], LLVMBuildAdd(cg->b, at, cg_i64(cg, half * h), ""), x->dtype);
  LLVMValueRef v = load_f64(cg, ptrs[0], LLVMBuildAdd(cg->b, at, cg_i64(cg, (1 - half) * h), ""), x->dtype);
  LLVMValueRef e = vec_call1(cg, "llvm.exp", LLVMBuildFNeg(cg->b, g, ""));
  LLVMValueRef silu = LLVMBuildFDiv(cg->b, g, LLVMBuildFAdd(cg->b, cg_const(cg, cg->f64, 1), e, ""), "");
  store_f64(cg, ptrs[1], LLVMBuildAdd(cg->b, out_row, j.iv, ""), y->dtype, LLVMBuildFMul(cg->b, silu, v, ""));
  cg_loop_end(cg, &j);
  rows_end(cg, &rl);
  return VITC_OK;
}

/* emit_rope.c — vitc.Rope (ir/ops/rope.c): X [.., N, D] → Y, a row of D at a time
 *
 *   for r < rows:                       (across the runtime pool when large)
 *     t = r mod N - offset
 *     t < 0:   y[r, :] = x[r, :]                                      (class tokens pass through)
 *     else     for each pair (lo, hi):  lo = 2i, hi = 2i + 1 (interleaved) or lo = i, hi = i + D/2
 *                y[lo] = x[lo] · cos[t, lo] - x[hi] · sin[t, lo]
 *                y[hi] = x[hi] · cos[t, hi] + x[lo] · sin[t, hi]
 *
 * in double like the evaluator, so the two agree to the rounding of the stored result. */
#include "emit_rows.h"
#include "emitters.h"

vitc_status emit_Rope(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  const vitc_value *x = cg_in_value(cg, 0), *y = cg_out_value(cg, 0);
  int64_t offset = vitc_attr_int(n, "offset", 0), interleaved = vitc_attr_int(n, "interleaved", 0);
  if (interleaved != 0 && interleaved != 1)
    return vitc_fail(err, VITC_ERR_INVALID, "Rope interleaved is %lld, expected 0 or 1", (long long)interleaved);
  int64_t tokens = x->dims[x->rank - 2], dim = x->dims[x->rank - 1];
  if (vitc_numel(y) == 0) return VITC_OK;
  LLVMValueRef ptrs[4] = {cg_in(cg, 0), cg_in(cg, 1), cg_in(cg, 2), cg_out(cg, 0)};
  row_loop rl;
  LLVMValueRef r = rows_begin(cg, &rl, vitc_numel(y) / dim, 2 * vitc_numel(y), ptrs, 4);
  LLVMValueRef row = LLVMBuildMul(cg->b, r, cg_i64(cg, dim), "");
  LLVMValueRef t = LLVMBuildSub(cg->b, LLVMBuildURem(cg->b, r, cg_i64(cg, tokens), ""), cg_i64(cg, offset), "");
  LLVMValueRef rotated = LLVMBuildICmp(cg->b, LLVMIntSGE, t, cg_i64(cg, 0), "");

  cg_if pass = cg_if_begin(cg, LLVMBuildNot(cg->b, rotated, ""));
  cg_loop d = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, dim), 1);
  LLVMValueRef at = LLVMBuildAdd(cg->b, row, d.iv, "");
  store_f64(cg, ptrs[3], at, y->dtype, load_f64(cg, ptrs[0], at, x->dtype));
  cg_loop_end(cg, &d);
  cg_if_end(cg, &pass);

  cg_if rotate = cg_if_begin(cg, rotated);
  LLVMValueRef table = LLVMBuildMul(cg->b, t, cg_i64(cg, dim), "");
  cg_loop i = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, dim / 2), 1);
  LLVMValueRef lo = interleaved ? LLVMBuildMul(cg->b, i.iv, cg_i64(cg, 2), "") : i.iv;
  LLVMValueRef hi = LLVMBuildAdd(cg->b, lo, cg_i64(cg, interleaved ? 1 : dim / 2), "");
  LLVMValueRef x_lo = load_f64(cg, ptrs[0], LLVMBuildAdd(cg->b, row, lo, ""), x->dtype);
  LLVMValueRef x_hi = load_f64(cg, ptrs[0], LLVMBuildAdd(cg->b, row, hi, ""), x->dtype);
  LLVMValueRef t_lo = LLVMBuildAdd(cg->b, table, lo, ""), t_hi = LLVMBuildAdd(cg->b, table, hi, "");
  LLVMValueRef c_lo = load_f64(cg, ptrs[1], t_lo, x->dtype), s_lo = load_f64(cg, ptrs[2], t_lo, x->dtype);
  LLVMValueRef c_hi = load_f64(cg, ptrs[1], t_hi, x->dtype), s_hi = load_f64(cg, ptrs[2], t_hi, x->dtype);
  LLVMValueRef y_lo = LLVMBuildFSub(cg->b, LLVMBuildFMul(cg->b, x_lo, c_lo, ""), LLVMBuildFMul(cg->b, x_hi, s_lo, ""), "");
  LLVMValueRef y_hi = LLVMBuildFAdd(cg->b, LLVMBuildFMul(cg->b, x_hi, c_hi, ""), LLVMBuildFMul(cg->b, x_lo, s_hi, ""), "");
  store_f64(cg, ptrs[3], LLVMBuildAdd(cg->b, row, lo, ""), y->dtype, y_lo);
  store_f64(cg, ptrs[3], LLVMBuildAdd(cg->b, row, hi, ""), y->dtype, y_hi);
  cg_loop_end(cg, &i);
  cg_if_end(cg, &rotate);
  rows_end(cg, &rl);
  return VITC_OK;
}

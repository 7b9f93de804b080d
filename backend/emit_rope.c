/* emit_rope.c — vitc.Rope (ir/ops/rope.c): X [.., N, F] → Y, a row of F at a time, its first R (rotated)
 * columns in groups of the tables' D
 *
 *   for r < rows:                       (across the runtime pool when large)
 *     t = r mod N - offset
 *     t < 0:   y[r, :] = x[r, :]                                      (class tokens pass through)
 *     else     for each group at c0 < R, each pair (lo, hi):  lo = 2i, hi = 2i + 1 (interleaved)
 *                                                             or lo = i, hi = i + D/2
 *                y[c0 + lo] = x[c0 + lo] · cos[t, lo] - x[c0 + hi] · sin[t, lo]
 *                y[c0 + hi] = x[c0 + hi] · cos[t, hi] + x[c0 + lo] · sin[t, hi]
 *              y[r, R:] = x[r, R:]
 *
 * in double like the evaluator, so the two agree to the rounding of the stored result. */
#include "emit_rows.h"
#include "emitters.h"

/* y[row + c] = x[row + c] for c in [from, to). */
static void copy_columns(vitc_cg *cg, LLVMValueRef *ptrs, vitc_dtype t, LLVMValueRef row, int64_t from, int64_t to) {
  if (from == to) return;
  cg_loop c = cg_loop_begin(cg, cg_i64(cg, from), cg_i64(cg, to), 1);
  LLVMValueRef at = vec_iadd(cg, row, c.iv);
  store_f64(cg, ptrs[3], at, t, load_f64(cg, ptrs[0], at, t));
  cg_loop_end(cg, &c);
}

vitc_status emit_Rope(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  const vitc_value *x = cg_in_value(cg, 0), *y = cg_out_value(cg, 0);
  int64_t offset = vitc_attr_int(n, "offset", 0), interleaved = vitc_attr_int(n, "interleaved", 0);
  if (interleaved != 0 && interleaved != 1)
    return vitc_fail(err, VITC_ERR_INVALID, "Rope interleaved is %lld, expected 0 or 1", (long long)interleaved);
  int64_t tokens = x->dims[x->rank - 2], width = x->dims[x->rank - 1], dim = cg_in_value(cg, 1)->dims[1];
  int64_t rotated = vitc_attr_int(n, "rotated", width);
  if (vitc_numel(y) == 0) return VITC_OK;
  LLVMValueRef ptrs[4] = {cg_in(cg, 0), cg_in(cg, 1), cg_in(cg, 2), cg_out(cg, 0)};
  row_loop rl;
  LLVMValueRef r = rows_begin(cg, &rl, vitc_numel(y) / width, 2 * vitc_numel(y), ptrs, 4);
  LLVMValueRef row = vec_imul(cg, r, cg_i64(cg, width));
  LLVMValueRef t = vec_isub(cg, ix_rem(cg, r, cg_i64(cg, tokens)), cg_i64(cg, offset));
  LLVMValueRef in_table = vec_icmp(cg, LLVMIntSGE, t, cg_i64(cg, 0));

  cg_if pass = cg_if_begin(cg, vec_not(cg, in_table));
  copy_columns(cg, ptrs, x->dtype, row, 0, width);
  cg_if_end(cg, &pass);

  cg_if rotate = cg_if_begin(cg, in_table);
  LLVMValueRef table = vec_imul(cg, t, cg_i64(cg, dim));
  cg_loop group = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, rotated), dim);
  LLVMValueRef first = vec_iadd(cg, row, group.iv);
  cg_loop i = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, dim / 2), 1);
  LLVMValueRef lo = interleaved ? vec_imul(cg, i.iv, cg_i64(cg, 2)) : i.iv;
  LLVMValueRef hi = vec_iadd(cg, lo, cg_i64(cg, interleaved ? 1 : dim / 2));
  LLVMValueRef x_lo = load_f64(cg, ptrs[0], vec_iadd(cg, first, lo), x->dtype);
  LLVMValueRef x_hi = load_f64(cg, ptrs[0], vec_iadd(cg, first, hi), x->dtype);
  LLVMValueRef t_lo = vec_iadd(cg, table, lo), t_hi = vec_iadd(cg, table, hi);
  LLVMValueRef c_lo = load_f64(cg, ptrs[1], t_lo, x->dtype), s_lo = load_f64(cg, ptrs[2], t_lo, x->dtype);
  LLVMValueRef c_hi = load_f64(cg, ptrs[1], t_hi, x->dtype), s_hi = load_f64(cg, ptrs[2], t_hi, x->dtype);
  LLVMValueRef y_lo = vec_sub(cg, vec_mul(cg, x_lo, c_lo), vec_mul(cg, x_hi, s_lo));
  LLVMValueRef y_hi = vec_add(cg, vec_mul(cg, x_hi, c_hi), vec_mul(cg, x_lo, s_hi));
  store_f64(cg, ptrs[3], vec_iadd(cg, first, lo), y->dtype, y_lo);
  store_f64(cg, ptrs[3], vec_iadd(cg, first, hi), y->dtype, y_hi);
  cg_loop_end(cg, &i);
  cg_loop_end(cg, &group);
  copy_columns(cg, ptrs, x->dtype, row, rotated, width);
  cg_if_end(cg, &rotate);
  rows_end(cg, &rl);
  return VITC_OK;
}

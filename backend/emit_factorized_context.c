/* emit_factorized_context.c — vitc.FactorizedContext (ir/ops/factorized_context.c), an output row
 * (b, c) at a time:
 *
 *   for r = (b, c) < B·D:                        (across the runtime pool when large)
 *     w[j] = exp(k[b, j, c] - max_j k[b, j, c])   the column's softmax weights, on the task's stack
 *     y[b, c, e] = Σ_j w[j] · v[b, j, e] / Σ_j w[j]
 *
 * The weights of a column are computed once and stay in cache while every column of v is summed
 * against them; the softmax never reaches memory the graph sees. In double like the evaluator. */
#include <math.h>

#include "emit_rows.h"
#include "emitters.h"
#include "vmath.h"

enum { P_K, P_V, P_Y, NPTRS };

vitc_status emit_FactorizedContext(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  (void)n;
  (void)err;
  const vitc_value *k = cg_in_value(cg, 0), *y = cg_out_value(cg, 0);
  int64_t tokens = k->dims[k->rank - 2], width = k->dims[k->rank - 1], cols = y->dims[y->rank - 1];
  if (vitc_numel(y) == 0) return VITC_OK;
  LLVMValueRef ptrs[NPTRS] = {cg_in(cg, 0), cg_in(cg, 1), cg_out(cg, 0)};
  row_loop rl;
  int64_t rows = vitc_numel(y) / cols;
  LLVMValueRef r = rows_begin(cg, &rl, rows, rows * tokens * (cols + 2), ptrs, NPTRS);
  LLVMValueRef w = cg_var(cg, LLVMArrayType(cg->f64, (unsigned)(tokens + 1)), NULL);
  LLVMValueRef top = cg_var(cg, cg->f64, NULL), sum = cg_var(cg, cg->f64, NULL), acc = cg_var(cg, cg->f64, NULL);
  LLVMValueRef batch = ix_div(cg, r, cg_i64(cg, width)), c = ix_rem(cg, r, cg_i64(cg, width));
  LLVMValueRef k_col = vec_iadd(cg, vec_imul(cg, batch, cg_i64(cg, tokens * width)), c);
  LLVMValueRef v_rows = vec_imul(cg, batch, cg_i64(cg, tokens * cols));

  vec_store1(cg, cg_const(cg, cg->f64, -HUGE_VAL), top); /* w[j] = k[b, j, c], its maximum */
  cg_loop j = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, tokens), 1);
  LLVMValueRef x = load_f64(cg, ptrs[P_K], vec_iadd(cg, k_col, vec_imul(cg, j.iv, cg_i64(cg, width))), VITC_F32);
  vec_store1(cg, x, cg_gep(cg, cg->f64, w, j.iv));
  LLVMValueRef t = vec_load1(cg, cg->f64, top);
  vec_store1(cg, vec_select(cg, vec_cmp(cg, LLVMRealOGT, x, t), x, t), top);
  cg_loop_end(cg, &j);

  vec_store1(cg, cg_const(cg, cg->f64, 0), sum); /* w[j] = exp(w[j] - max), their sum */
  j = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, tokens), 1);
  LLVMValueRef at = cg_gep(cg, cg->f64, w, j.iv);
  LLVMValueRef e = vm_exp(cg, vec_sub(cg, vec_load1(cg, cg->f64, at), vec_load1(cg, cg->f64, top)));
  vec_store1(cg, e, at);
  vec_store1(cg, vec_add(cg, vec_load1(cg, cg->f64, sum), e), sum);
  cg_loop_end(cg, &j);

  cg_loop col = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, cols), 1); /* y[b, c, e] */
  vec_store1(cg, cg_const(cg, cg->f64, 0), acc);
  j = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, tokens), 1);
  LLVMValueRef v_at = vec_iadd(cg, vec_iadd(cg, v_rows, vec_imul(cg, j.iv, cg_i64(cg, cols))), col.iv);
  LLVMValueRef term = vec_mul(cg, vec_load1(cg, cg->f64, cg_gep(cg, cg->f64, w, j.iv)), load_f64(cg, ptrs[P_V], v_at, VITC_F32));
  vec_store1(cg, vec_add(cg, vec_load1(cg, cg->f64, acc), term), acc);
  cg_loop_end(cg, &j);
  LLVMValueRef y_at = vec_iadd(cg, vec_imul(cg, r, cg_i64(cg, cols)), col.iv);
  store_f64(cg, ptrs[P_Y], y_at, VITC_F32,
            vec_div(cg, vec_load1(cg, cg->f64, acc), vec_load1(cg, cg->f64, sum)));
  cg_loop_end(cg, &col);
  rows_end(cg, &rl);
  return VITC_OK;
}

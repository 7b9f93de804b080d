/* emit_factorized_context.c — vitc.FactorizedContext (ir/ops/factorized_context.c), an output row
 * (b, c) at a time:
 *
 *   for r = (b, c) < B·D:                        (across the runtime pool when large)
 *     w[j] = exp(k[b, j, c] - max_j k[b, j, c])   the column's softmax weights, on the task's stack
 *     y[b, c, e] = Σ_j w[j] · v[b, j, e] / Σ_j w[j]
 *
 * The weights of a column are computed once and stay in cache while v is summed against them; the
 * softmax never reaches memory the graph sees. float32 in vectors of the target's width (vec.h, vm_exp):
 * the column of k is copied to the stack once, its maximum, exp and sum run along j, the product with v
 * along e. (A scalar loop in double ran CoaT-Lite Small's 16 of them at 0.3 GFLOP/s, a quarter of the
 * model's time.) */
#include <math.h>

#include "emit_rows.h"
#include "emitters.h"

enum { P_K, P_V, P_Y, NPTRS };

/* One output row's state, read by the vec_for bodies below. */
typedef struct fc_row {
  int64_t tokens, cols;
  LLVMValueRef *ptrs;
  LLVMValueRef w;             /* the column's weights [N] on the stack */
  LLVMValueRef top, inv;      /* their maximum, 1 / their sum */
  LLVMValueRef v_rows, y_row; /* offsets of v[b, 0, 0] and y[b, c, 0] */
  cg_mut acc;
} fc_row;

static LLVMTypeRef vt(vitc_cg *cg) { return vec_f32(cg); }

/* The lanes of a tail step are off past `lanes`; they take `fill` so a fold over whole vectors ignores them. */
static LLVMValueRef only_lanes(vitc_cg *cg, LLVMValueRef v, int lanes, double fill) {
  if (lanes == vec_width(cg)) return v;
  return vec_select(cg, vec_mask(cg, vec_width(cg), lanes), v, vec_const(cg, vt(cg), fill));
}

static void max_step(vitc_cg *cg, LLVMValueRef j, int lanes, void *state) {
  fc_row *t = state;
  LLVMValueRef x = only_lanes(cg, vec_load(cg, vt(cg), gep_f32(cg, t->w, j), lanes), lanes, -HUGE_VALF);
  cg_set(cg, t->acc, vec_max(cg, cg_get(cg, t->acc), x));
}

static void exp_step(vitc_cg *cg, LLVMValueRef j, int lanes, void *state) {
  fc_row *t = state;
  LLVMValueRef at = gep_f32(cg, t->w, j);
  LLVMValueRef e = vm_exp(cg, vec_sub(cg, vec_load(cg, vt(cg), at, lanes), vec_splat(cg, t->top, vt(cg))));
  vec_store(cg, e, at, lanes);
  cg_set(cg, t->acc, vec_add(cg, cg_get(cg, t->acc), only_lanes(cg, e, lanes, 0)));
}

/* y[b, c, e..] = Σ_j w[j] · v[b, j, e..] / Σ_j w[j] */
static void value_step(vitc_cg *cg, LLVMValueRef e, int lanes, void *state) {
  fc_row *t = state;
  cg_set(cg, t->acc, vec_const(cg, vt(cg), 0));
  cg_loop j = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, t->tokens), 1);
  LLVMValueRef w = vec_load1(cg, cg->f32, gep_f32(cg, t->w, j.iv));
  LLVMValueRef v = vec_load(cg, vt(cg), gep_f32(cg, t->ptrs[P_V], ix_add(cg, ix_add(cg, t->v_rows, ix_mulk(cg, j.iv, t->cols)), e)), lanes);
  cg_set(cg, t->acc, vec_fma(cg, vec_splat(cg, w, vt(cg)), v, cg_get(cg, t->acc)));
  cg_loop_end(cg, &j);
  vec_store(cg, vec_mul(cg, cg_get(cg, t->acc), vec_splat(cg, t->inv, vt(cg))),
            gep_f32(cg, t->ptrs[P_Y], ix_add(cg, t->y_row, e)), lanes);
}

vitc_status emit_FactorizedContext(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  (void)n;
  (void)err;
  const vitc_value *k = cg_in_value(cg, 0), *y = cg_out_value(cg, 0);
  int64_t width = k->dims[k->rank - 1];
  fc_row t = {.tokens = k->dims[k->rank - 2], .cols = y->dims[y->rank - 1]};
  if (vitc_numel(y) == 0) return VITC_OK;
  LLVMValueRef ptrs[NPTRS] = {cg_in(cg, 0), cg_in(cg, 1), cg_out(cg, 0)};
  t.ptrs = ptrs;
  row_loop rl;
  int64_t rows = vitc_numel(y) / t.cols;
  LLVMValueRef r = rows_begin(cg, &rl, rows, rows * t.tokens * (t.cols + 2), ptrs, NPTRS);
  t.w = cg_var(cg, LLVMArrayType(cg->f32, (unsigned)t.tokens), NULL);
  t.acc = cg_mut_new(cg, vt(cg), NULL);
  LLVMValueRef batch = ix_divk(cg, r, width), c = ix_remk(cg, r, width);
  LLVMValueRef k_col = ix_add(cg, ix_mulk(cg, batch, t.tokens * width), c);
  t.v_rows = ix_mulk(cg, batch, t.tokens * t.cols);
  t.y_row = ix_mulk(cg, r, t.cols);

  cg_loop j = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, t.tokens), 1); /* w[j] = k[b, j, c] */
  LLVMValueRef x = vec_load1(cg, cg->f32, gep_f32(cg, ptrs[P_K], ix_add(cg, k_col, ix_mulk(cg, j.iv, width))));
  vec_store1(cg, x, gep_f32(cg, t.w, j.iv));
  cg_loop_end(cg, &j);

  cg_set(cg, t.acc, vec_const(cg, vt(cg), -HUGE_VALF));
  vec_for(cg, cg_i64(cg, 0), t.tokens, vec_width(cg), max_step, &t);
  t.top = vec_reduce(cg, VEC_MAX, cg_get(cg, t.acc));
  cg_set(cg, t.acc, vec_const(cg, vt(cg), 0));
  vec_for(cg, cg_i64(cg, 0), t.tokens, vec_width(cg), exp_step, &t);
  t.inv = vec_div(cg, cg_const(cg, cg->f32, 1), vec_reduce(cg, VEC_SUM, cg_get(cg, t.acc)));
  vec_for(cg, cg_i64(cg, 0), t.cols, vec_width(cg), value_step, &t);
  rows_end(cg, &rl);
  return VITC_OK;
}

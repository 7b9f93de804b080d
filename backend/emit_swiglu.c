/* emit_swiglu.c — vitc.SwiGLU: x [.., 2H] → y [.., H], per row
 *
 *   for j < H:  g = x[row, gate + j], v = x[row, H - gate + j]      gate = silu_half · H
 *               y[row, j] = g / (1 + e^-g) · v
 *
 * float32 in vectors of the target's width with vm_silu (vmath.h); other dtypes in double like the evaluator
 * (ir/ops/fused_activation.c). Rows run across the runtime pool when large. */
#include "emit_rows.h"
#include "emitters.h"

typedef struct swiglu_row {
  LLVMValueRef x, y, in_row, out_row;
  int64_t gate, value; /* offsets of the gate and value halves in an input row */
} swiglu_row;

static void swiglu_vector(vitc_cg *cg, LLVMValueRef j, int lanes, void *state) {
  swiglu_row *r = state;
  LLVMTypeRef vt = vec_f32(cg);
  LLVMValueRef at = ix_add(cg, r->in_row, j);
  LLVMValueRef g = vec_load(cg, vt, gep_f32(cg, r->x, ix_addk(cg, at, r->gate)), lanes);
  LLVMValueRef v = vec_load(cg, vt, gep_f32(cg, r->x, ix_addk(cg, at, r->value)), lanes);
  vec_store(cg, vec_mul(cg, vm_silu(cg, g), v), gep_f32(cg, r->y, ix_add(cg, r->out_row, j)), lanes);
}

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
  swiglu_row row = {ptrs[0], ptrs[1], ix_mulk(cg, r, 2 * h), ix_mulk(cg, r, h), half * h, (1 - half) * h};
  if (x->dtype == VITC_F32 && y->dtype == VITC_F32) {
    vec_for(cg, cg_i64(cg, 0), h, vec_width(cg), swiglu_vector, &row);
  } else {
    cg_loop j = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, h), 1);
    LLVMValueRef at = ix_add(cg, row.in_row, j.iv);
    LLVMValueRef g = load_f64(cg, ptrs[0], ix_addk(cg, at, row.gate), x->dtype);
    LLVMValueRef v = load_f64(cg, ptrs[0], ix_addk(cg, at, row.value), x->dtype);
    store_f64(cg, ptrs[1], ix_add(cg, row.out_row, j.iv), y->dtype, vec_mul(cg, vm_silu(cg, g), v));
    cg_loop_end(cg, &j);
  }
  rows_end(cg, &rl);
  return VITC_OK;
}

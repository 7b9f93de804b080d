/* emit_patch_merging.c — vitc.PatchMerging (ir/ops/patch_merging.c) in two phases per slab of output rows:
 *
 *   merge:  col[r, q*C .. q*C+C) = X[.., 2i + dy_q, 2j + dx_q, :]      r = output position (.., i, j)
 *           col[r, :] = (col[r, :] - mean) · inv_std ⊙ gamma + beta    with gamma, norm_after = 0 (statistics
 *                                                                      in double)
 *   reduce: Y[rows of the slab, :] = col · Wr + bias                   the GEMM of emit_gemm.h
 *   norm:   Y[r, :] = (Y[r, :] - mean) · inv_std ⊙ gamma + beta        with gamma, norm_after = 1: the slab's
 *                                                                      rows are complete after the GEMM
 *
 * The merged rows go through a buffer of at most COL_BUDGET floats in the node's work space (cg_scratch),
 * as im2col does (emit_conv.c); the merge runs across the runtime pool when large, each task on its own
 * rows of the one buffer. */
#include "emit_gemm.h"
#include "emit_rows.h"
#include "emit_window.h"
#include "emitters.h"

typedef struct merge_geom {
  int64_t h, w, c, c4, n, rows; /* X [.., h, w, c]; Y rows of n */
  double eps;
  bool norm_after;
} merge_geom;

/* Copies the four neighbours of output row `at` into the col row at dst. */
static void emit_gather(vitc_cg *cg, const merge_geom *p, LLVMValueRef x, LLVMValueRef dst, LLVMValueRef at) {
  static const int dy[4] = {0, 1, 0, 1}, dx[4] = {0, 0, 1, 1};
  LLVMValueRef j = ix_remk(cg, at, p->w / 2);
  LLVMValueRef above = ix_divk(cg, at, p->w / 2);
  LLVMValueRef i = ix_remk(cg, above, p->h / 2);
  LLVMValueRef img = ix_divk(cg, above, p->h / 2);
  LLVMValueRef bytes = cg_i64(cg, p->c * (int64_t)sizeof(float));
  for (int q = 0; q < 4; q++) {
    LLVMValueRef y = ix_add(cg, ix_add(cg, ix_mulk(cg, img, p->h), ix_mulk(cg, i, 2)), cg_i64(cg, dy[q]));
    LLVMValueRef xpos = ix_add(cg, ix_add(cg, ix_mulk(cg, y, p->w), ix_mulk(cg, j, 2)), cg_i64(cg, dx[q]));
    LLVMValueRef src = cg_gep(cg, cg->f32, x, ix_mulk(cg, xpos, p->c));
    cg_memcpy(cg, cg_gep(cg, cg->f32, dst, cg_i64(cg, q * p->c)), src, bytes);
  }
}

/* With norm_after: the LayerNorm of output rows first .. first+count, in place in Y. */
static void emit_norm_rows(vitc_cg *cg, const merge_geom *p, LLVMValueRef first, int64_t count) {
  vitc_value yv = {.dtype = VITC_F32, .rank = 2, .dims = {count, p->n}};
  row_shape s;
  row_shape_range(&s, &yv, 1, 1);
  LLVMValueRef ptrs[4] = {cg_out(cg, 0), cg_in(cg, 2), cg_in(cg, 3), first};
  row_loop rl;
  LLVMValueRef r = rows_begin(cg, &rl, count, count * p->n, ptrs, 4);
  LLVMValueRef base = ix_mulk(cg, ix_add(cg, ptrs[3], r), p->n);
  emit_layer_norm_f32_rows(cg, ptrs[0], ptrs[0], base, 1, s.len, p->eps, ptrs[1], ptrs[2]);
  rows_end(cg, &rl);
}

/* Output rows first .. first+count: merge into col, then the GEMM into Y (then its LayerNorm). */
static vitc_status emit_slab(vitc_cg *cg, const merge_geom *p, LLVMValueRef col, LLVMValueRef first, int64_t count,
                             vitc_error *err) {
  vitc_value colv = {.dtype = VITC_F32, .rank = 2, .dims = {count, p->c4}};
  row_shape s;
  row_shape_range(&s, &colv, 1, 1);
  LLVMValueRef ptrs[5] = {cg_in(cg, 0), col, cg_in(cg, 2), cg_in(cg, 3), first};
  row_loop rl;
  LLVMValueRef r = rows_begin(cg, &rl, count, count * p->c4, ptrs, 5);
  LLVMValueRef base = ix_mulk(cg, r, p->c4);
  emit_gather(cg, p, ptrs[0], cg_gep(cg, cg->f32, ptrs[1], base), ix_add(cg, ptrs[4], r));
  if (ptrs[2] && !p->norm_after) emit_layer_norm_f32_rows(cg, ptrs[1], ptrs[1], base, 1, s.len, p->eps, ptrs[2], ptrs[3]);
  rows_end(cg, &rl);
  gemm_desc d = {.dtype = VITC_F32, .m = count, .n = p->n, .k = p->c4, .alpha = 1, .beta = 1};
  d.a = col;
  d.a_rs = p->c4;
  d.a_cs = 1;
  d.b = cg_in(cg, 1);
  d.b_const = cg_in_value(cg, 1)->data;
  d.b_rs = p->n;
  d.b_cs = 1;
  d.c = cg_gep(cg, cg->f32, cg_out(cg, 0), ix_mulk(cg, first, p->n));
  d.ldc = p->n;
  d.d = cg_in(cg, 4);
  d.d_cs = 1;
  vitc_status st = emit_gemm(cg, &d, err);
  if (st == VITC_OK && p->norm_after && cg_in(cg, 2)) emit_norm_rows(cg, p, first, count);
  return st;
}

vitc_status emit_PatchMerging(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  const vitc_value *x = cg_in_value(cg, 0), *w = cg_in_value(cg, 1);
  merge_geom p = {.h = x->dims[x->rank - 3], .w = x->dims[x->rank - 2], .c = x->dims[x->rank - 1], .n = w->dims[1],
                  .eps = vitc_attr_float(n, "epsilon", 1e-5), .norm_after = vitc_attr_int(n, "norm_after", 0)};
  p.c4 = 4 * p.c;
  p.rows = p.n ? vitc_numel(cg_out_value(cg, 0)) / p.n : 0;
  if (p.rows == 0) return VITC_OK;
  int64_t slab = p.c4 ? COL_BUDGET / p.c4 : p.rows;
  if (slab < 1) slab = 1;
  if (slab > p.rows) slab = p.rows;
  LLVMValueRef col = cg_scratch(cg, (size_t)(slab * p.c4) * sizeof(float));
  vitc_status st = VITC_OK;
  if (p.rows / slab) {
    cg_loop s = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, p.rows / slab), 1);
    st = emit_slab(cg, &p, col, ix_mulk(cg, s.iv, slab), slab, err);
    cg_loop_end(cg, &s);
  }
  if (st == VITC_OK && p.rows % slab) st = emit_slab(cg, &p, col, cg_i64(cg, p.rows / slab * slab), p.rows % slab, err);
  return st;
}

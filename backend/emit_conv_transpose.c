/* emit_conv_transpose.c — ConvTranspose kernels over any number of spatial dims, with groups, strides,
 * dilations, pads, output_padding, output_shape and auto_pad (all resolved by the evaluator's geometry,
 * vitc_conv_geometry_of). Input position i feeds output o = i*stride - pad_begin + k*dilation under tap k,
 * so each output element gathers, per tap, the one input
 *
 *     i(o, k) = (o + pad_begin - k*dilation) / stride      when the division is exact and i is inside X
 *
 * and no two threads ever write the same element. float32 puts the multiply-adds in a GEMM, then gathers
 * (col2im), per image, group and chunk of output channels:
 *
 *     col[(m,k), i] = sum_c W[g*Cg + c, m, k] * X_bg[c, i]          (W_g^T X_bg, through emit_gemm)
 *     Y_bg[m, o]    = bias[m] + sum over taps k of col[(m,k), i(o,k)]
 *
 * col lives in the node's work space (cg_scratch): at most COL_BUDGET floats, one channel's worth at the
 * least, one buffer whatever the thread count (the GEMM's tasks write it by tiles). Other dtypes
 * gather straight from X and W, summing in double as the evaluator does (emit_direct_conv, shared with
 * Conv). */
#include "emit_gemm.h"
#include "emit_window.h"
#include "emitters.h"

/* ---------------------------------------------------------------- float32: GEMM, then col2im */

/* Y[m, o] for the `count` channels of one chunk: yc and col start at the chunk, bias (NULL: none) too.
 * A task per (channel, first output spatial index). */
static void emit_col2im(vitc_cg *cg, const vitc_conv_geometry *p, LLVMValueRef col, LLVMValueRef yc,
                        LLVMValueRef bias, int64_t count) {
  const vitc_window *w = &p->w;
  int64_t rows = w->out[0], per_row = w->out_plane / rows;
  LLVMValueRef captured[3] = {col, yc, bias ? bias : LLVMConstNull(cg->ptr)};
  cg_task t = cg_task_begin(cg, captured, 3);
  cg_loop q = cg_loop_begin(cg, t.begin, t.end, 1);
  LLVMValueRef m = ix_div(cg, q.iv, cg_i64(cg, rows));
  LLVMValueRef row = ix_rem(cg, q.iv, cg_i64(cg, rows));
  LLVMValueRef col_m = cg_gep(cg, cg->f32, t.vals[0], mul_i(cg, m, w->taps * w->in_plane));
  LLVMValueRef y_m = cg_gep(cg, cg->f32, t.vals[1], mul_i(cg, m, w->out_plane));
  LLVMValueRef b = bias ? cg_load(cg, t.vals[2], m, VITC_F32) : cg_f32(cg, 0);
  cg_loop j = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, per_row), 1);
  LLVMValueRef o = add_i(cg, mul_i(cg, row, per_row), j.iv), oidx[VITC_MAX_RANK], kidx[VITC_MAX_RANK], inside;
  emit_unflatten(cg, o, w->out, w->nd, oidx);
  LLVMValueRef sum = cg_var(cg, cg->f32, b);
  cg_loop k = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, w->taps), 1);
  emit_unflatten(cg, k.iv, w->kernel, w->nd, kidx);
  LLVMValueRef off = emit_transpose_source_offset(cg, w, oidx, kidx, &inside);
  cg_if in = cg_if_begin(cg, inside);
  LLVMValueRef v = cg_load(cg, col_m, add_i(cg, mul_i(cg, k.iv, w->in_plane), off), VITC_F32);
  vec_store1(cg, vec_add(cg, vec_load1(cg, cg->f32, sum), v), sum);
  cg_if_end(cg, &in);
  cg_loop_end(cg, &k);
  cg_store(cg, y_m, o, VITC_F32, vec_load1(cg, cg->f32, sum));
  cg_loop_end(cg, &j);
  cg_loop_end(cg, &q);
  cg_task_end(cg, &t, count * rows);
}

/* Output channels [first, first+count) of one group: col = their rows of W_g^T times X_bg, then col2im. */
static vitc_status emit_gemm_col2im_chunk(vitc_cg *cg, const vitc_conv_geometry *p, const conv_slice *s,
                                          vitc_error *err) {
  const vitc_window *w = &p->w;
  /* A(r, c) = W_g[c, first*K + r]: rows (m, k) of W_g^T, which has Mg*K of them */
  gemm_desc d = {.dtype = VITC_F32, .m = s->count * w->taps, .n = w->in_plane, .k = p->cin_g, .alpha = 1};
  d.a = cg_gep(cg, cg->f32, s->w, mul_i(cg, s->first, w->taps));
  d.a_rs = 1;
  d.a_cs = p->cout_g * w->taps;
  d.b = s->x;
  d.b_rs = w->in_plane;
  d.b_cs = 1;
  d.c = s->col;
  d.ldc = w->in_plane;
  vitc_status st = emit_gemm(cg, &d, err);
  emit_col2im(cg, p, s->col, cg_gep(cg, cg->f32, s->y, mul_i(cg, s->first, w->out_plane)),
              s->bias ? cg_gep(cg, cg->f32, s->bias, s->first) : NULL, s->count);
  return st;
}

static vitc_status emit_gemm_col2im(vitc_cg *cg, const vitc_conv_geometry *p, vitc_error *err) {
  const vitc_window *w = &p->w;
  int64_t chunk = COL_BUDGET / (w->taps * w->in_plane);
  if (chunk < 1) chunk = 1;
  if (chunk > p->cout_g) chunk = p->cout_g;
  return emit_conv_slices(cg, p, p->cout_g, chunk, chunk * w->taps * w->in_plane, emit_gemm_col2im_chunk, err);
}

vitc_status emit_ConvTranspose(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  const vitc_value *in[3] = {cg_in_value(cg, 0), cg_in_value(cg, 1), cg_in_value(cg, 2)};
  vitc_conv_geometry p;
  vitc_status st = vitc_conv_geometry_of(n, in, &p, err);
  if (st) return st;
  vitc_dtype t = in[0]->dtype;
  if (p.batch * p.cout * p.w.out_plane == 0) return VITC_OK;
  /* without inputs to multiply, the GEMM would leave col unwritten: the direct loop stores the bias */
  if (t != VITC_F32 || p.cin_g * p.w.in_plane == 0) {
    emit_direct_conv(cg, &p, t, true);
    return VITC_OK;
  }
  return emit_gemm_col2im(cg, &p, err);
}

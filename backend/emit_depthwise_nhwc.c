/* emit_depthwise_nhwc.c — vitc.DepthwiseConvNHWC (ir/ops/depthwise_conv_nhwc.c). Channels-last makes
 * the depthwise conv a stream of vector FMAs along C: a task per output row (n, oy), which it builds in
 * place (the row, Wo*C floats, stays in cache):
 *
 *   y[oy, ox, :] = bias
 *   for ky with iy inside X, for kx (unrolled), for ox in [lo, hi) (static: ix = ox*sw + shift inside X):
 *       y[oy, ox, :] += w[ky, kx, :] * x[iy, ox*sw + shift, :]          <16 x float>, masked tail
 *   y[oy, :, :] = act(y[oy, :, :])                                     (the epilogue, while the row is in cache)
 *
 * so no tap tests a bound per element. Token rows (attribute image) are the same with each image past its
 * leading rows, which the task of the image's first row copies. */
#include "emit_gemm.h"
#include "emit_window.h"
#include "emitters.h"

/* y[0..c) = bias[0..c) (0 when bias is NULL), a vector at a time. */
static void emit_fill_channels(vitc_cg *cg, LLVMValueRef y, LLVMValueRef bias, int64_t c) {
  int64_t full = c / F32V_LANES * F32V_LANES;
  int tail = (int)(c - full);
  LLVMValueRef zero = LLVMConstNull(f32v_type(cg));
  if (full) {
    cg_loop j = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, full), F32V_LANES);
    LLVMValueRef v = bias ? f32v_load(cg, cg_gep(cg, cg->f32, bias, j.iv), F32V_LANES) : zero;
    f32v_store(cg, v, cg_gep(cg, cg->f32, y, j.iv), F32V_LANES);
    cg_loop_end(cg, &j);
  }
  if (tail) {
    LLVMValueRef at = cg_i64(cg, full);
    LLVMValueRef v = bias ? f32v_load(cg, cg_gep(cg, cg->f32, bias, at), tail) : zero;
    f32v_store(cg, v, cg_gep(cg, cg->f32, y, at), tail);
  }
}

/* y[0..c) += w[0..c) * x[0..c). */
static void emit_fma_channels(vitc_cg *cg, LLVMValueRef y, LLVMValueRef x, LLVMValueRef w, int64_t c) {
  int64_t full = c / F32V_LANES * F32V_LANES;
  int tail = (int)(c - full);
  for (int part = 0; part < 2; part++) {
    int lanes = part ? tail : F32V_LANES;
    if (part ? !tail : !full) continue;
    cg_loop j = {0};
    LLVMValueRef at = cg_i64(cg, full);
    if (!part) {
      j = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, full), F32V_LANES);
      at = j.iv;
    }
    LLVMValueRef yp = cg_gep(cg, cg->f32, y, at);
    LLVMValueRef args[3] = {f32v_load(cg, cg_gep(cg, cg->f32, w, at), lanes),
                            f32v_load(cg, cg_gep(cg, cg->f32, x, at), lanes), f32v_load(cg, yp, lanes)};
    LLVMTypeRef vt = f32v_type(cg);
    f32v_store(cg, cg_intrinsic(cg, "llvm.fmuladd", &vt, 1, args, 3), yp, lanes);
    if (!part) cg_loop_end(cg, &j);
  }
}

/* The taps of one kernel row ky, whose input row xrow is inside X, into the output row yrow. */
static void emit_kernel_row(vitc_cg *cg, const vitc_window *w, int64_t c, LLVMValueRef yrow, LLVMValueRef xrow,
                            LLVMValueRef wrow) {
  int64_t iw = w->in[1], ow = w->out[1], sw = w->stride[1];
  for (int64_t kx = 0; kx < w->kernel[1]; kx++) {
    int64_t shift = kx * w->dilation[1] - w->pad_begin[1];
    /* ox with 0 <= ox*sw + shift < iw */
    int64_t lo = shift >= 0 ? 0 : (-shift + sw - 1) / sw;
    int64_t hi = iw - 1 - shift < 0 ? 0 : (iw - 1 - shift) / sw + 1;
    if (hi > ow) hi = ow;
    if (lo >= hi) continue;
    LLVMValueRef wk = cg_gep(cg, cg->f32, wrow, cg_i64(cg, kx * c));
    cg_loop ox = cg_loop_begin(cg, cg_i64(cg, lo), cg_i64(cg, hi), 1);
    LLVMValueRef ix = add_i(cg, mul_i(cg, ox.iv, sw), cg_i64(cg, shift));
    emit_fma_channels(cg, cg_gep(cg, cg->f32, yrow, mul_i(cg, ox.iv, c)),
                      cg_gep(cg, cg->f32, xrow, mul_i(cg, ix, c)), wk, c);
    cg_loop_end(cg, &ox);
  }
}

vitc_status emit_DepthwiseConvNHWC(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  const vitc_value *in[3] = {cg_in_value(cg, 0), cg_in_value(cg, 1), n->nin > 2 && n->in[2] >= 0 ? cg_in_value(cg, 2) : NULL};
  vitc_window w;
  int64_t lead;
  vitc_status st = vitc_depthwise_nhwc_window(n, in, &w, &lead, err);
  if (st != VITC_OK) return st;
  int64_t c = in[0]->dims[in[0]->rank - 1], rows = in[0]->dims[0] * w.out[0], oh = w.out[0], ih = w.in[0];
  /* token rows: each image follows `lead` rows, copied through */
  int64_t x_image = (lead + ih * w.in[1]) * c, y_image = (lead + oh * w.out[1]) * c;
  if (rows * w.out[1] * c == 0) return VITC_OK;
  LLVMValueRef null = LLVMConstNull(cg->ptr);
  LLVMValueRef captured[4] = {cg_in(cg, 0), cg_in(cg, 1), in[2] ? cg_in(cg, 2) : null, cg_out(cg, 0)};
  cg_task t = cg_task_begin(cg, captured, 4);
  cg_loop r = cg_loop_begin(cg, t.begin, t.end, 1);
  LLVMValueRef image = ix_div(cg, r.iv, cg_i64(cg, oh));
  LLVMValueRef oy = ix_rem(cg, r.iv, cg_i64(cg, oh));
  LLVMValueRef xtokens = cg_gep(cg, cg->f32, t.vals[0], mul_i(cg, image, x_image));
  LLVMValueRef ytokens = cg_gep(cg, cg->f32, t.vals[3], mul_i(cg, image, y_image));
  if (lead) {
    cg_if first = cg_if_begin(cg, vec_icmp(cg, LLVMIntEQ, oy, cg_i64(cg, 0)));
    cg_memcpy(cg, ytokens, xtokens, cg_i64(cg, lead * c * (int64_t)sizeof(float)));
    cg_if_end(cg, &first);
  }
  LLVMValueRef ximage = cg_gep(cg, cg->f32, xtokens, cg_i64(cg, lead * c));
  LLVMValueRef yrow = cg_gep(cg, cg->f32, ytokens, add_i(cg, cg_i64(cg, lead * c), mul_i(cg, oy, w.out[1] * c)));
  cg_loop ox = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, w.out[1]), 1);
  emit_fill_channels(cg, cg_gep(cg, cg->f32, yrow, mul_i(cg, ox.iv, c)), in[2] ? t.vals[2] : NULL, c);
  cg_loop_end(cg, &ox);
  cg_loop ky = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, w.kernel[0]), 1);
  LLVMValueRef iy = ix_sub(cg, mul_i(cg, oy, w.stride[0]), cg_i64(cg, w.pad_begin[0]));
  iy = add_i(cg, iy, mul_i(cg, ky.iv, w.dilation[0]));
  cg_if inside = cg_if_begin(cg, vec_icmp(cg, LLVMIntULT, iy, cg_i64(cg, ih)));
  emit_kernel_row(cg, &w, c, yrow, cg_gep(cg, cg->f32, ximage, mul_i(cg, iy, w.in[1] * c)),
                  cg_gep(cg, cg->f32, t.vals[1], mul_i(cg, ky.iv, w.kernel[1] * c)));
  cg_if_end(cg, &inside);
  cg_loop_end(cg, &ky);
  gemm_act act = emit_gemm_act_of(n);
  if (act != GEMM_ACT_NONE) emit_epilogue_run(cg, act, yrow, NULL, w.out[1] * c);
  cg_loop_end(cg, &r);
  cg_task_end(cg, &t, rows);
  return VITC_OK;
}

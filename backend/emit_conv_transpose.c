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
 * col is a heap buffer of at most COL_BUDGET floats (one channel's worth at the least). Other dtypes
 * gather straight from X and W, summing in double as the evaluator does. */
#include "emit_gemm.h"
#include "emit_window.h"
#include "emitters.h"

/* Input offset i(o, k) in a dense input plane, and whether it exists (otherwise the offset is 0, so that a
 * load from it stays in bounds). */
static LLVMValueRef emit_source_offset(vitc_cg *cg, const vitc_window *w, const LLVMValueRef *oidx,
                                       const LLVMValueRef *kidx, LLVMValueRef *inside) {
  LLVMValueRef off = cg_i64(cg, 0), ok = LLVMConstInt(cg->i1, 1, false);
  for (int d = 0; d < w->nd; d++) {
    LLVMValueRef num = add_i(cg, oidx[d], cg_i64(cg, w->pad_begin[d]));
    num = LLVMBuildNSWSub(cg->b, num, mul_i(cg, kidx[d], w->dilation[d]), "");
    LLVMValueRef i = num;
    if (w->stride[d] != 1) {
      LLVMValueRef s = cg_i64(cg, w->stride[d]);
      LLVMValueRef exact = LLVMBuildICmp(cg->b, LLVMIntEQ, LLVMBuildURem(cg->b, num, s, ""), cg_i64(cg, 0), "");
      ok = LLVMBuildAnd(cg->b, ok, LLVMBuildICmp(cg->b, LLVMIntSGE, num, cg_i64(cg, 0), ""), "");
      ok = LLVMBuildAnd(cg->b, ok, exact, "");
      i = LLVMBuildUDiv(cg->b, num, s, "");
    }
    ok = LLVMBuildAnd(cg->b, ok, LLVMBuildICmp(cg->b, LLVMIntULT, i, cg_i64(cg, w->in[d]), ""), "");
    off = add_i(cg, mul_i(cg, off, w->in[d]), i);
  }
  *inside = ok;
  return LLVMBuildSelect(cg->b, ok, off, cg_i64(cg, 0), "");
}

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
  LLVMValueRef m = LLVMBuildUDiv(cg->b, q.iv, cg_i64(cg, rows), "");
  LLVMValueRef row = LLVMBuildURem(cg->b, q.iv, cg_i64(cg, rows), "");
  LLVMValueRef col_m = cg_gep(cg, cg->f32, t.vals[0], mul_i(cg, m, w->taps * w->in_plane));
  LLVMValueRef y_m = cg_gep(cg, cg->f32, t.vals[1], mul_i(cg, m, w->out_plane));
  LLVMValueRef b = bias ? cg_load(cg, t.vals[2], m, VITC_F32) : cg_f32(cg, 0);
  cg_loop j = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, per_row), 1);
  LLVMValueRef o = add_i(cg, mul_i(cg, row, per_row), j.iv), oidx[VITC_MAX_RANK], kidx[VITC_MAX_RANK], inside;
  emit_unflatten(cg, o, w->out, w->nd, oidx);
  LLVMValueRef sum = cg_var(cg, cg->f32, b);
  cg_loop k = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, w->taps), 1);
  emit_unflatten(cg, k.iv, w->kernel, w->nd, kidx);
  LLVMValueRef off = emit_source_offset(cg, w, oidx, kidx, &inside);
  cg_if in = cg_if_begin(cg, inside);
  LLVMValueRef v = cg_load(cg, col_m, add_i(cg, mul_i(cg, k.iv, w->in_plane), off), VITC_F32);
  LLVMBuildStore(cg->b, LLVMBuildFAdd(cg->b, LLVMBuildLoad2(cg->b, cg->f32, sum, ""), v, ""), sum);
  cg_if_end(cg, &in);
  cg_loop_end(cg, &k);
  cg_store(cg, y_m, o, VITC_F32, LLVMBuildLoad2(cg->b, cg->f32, sum, ""));
  cg_loop_end(cg, &j);
  cg_loop_end(cg, &q);
  cg_task_end(cg, &t, count * rows);
}

static vitc_status emit_gemm_col2im(vitc_cg *cg, const vitc_conv_geometry *p, vitc_error *err) {
  const vitc_window *w = &p->w;
  int64_t rows = p->cout_g * w->taps; /* W_g^T's rows: (m, k) */
  int64_t chunk = COL_BUDGET / (w->taps * w->in_plane);
  if (chunk < 1) chunk = 1;
  if (chunk > p->cout_g) chunk = p->cout_g;
  int64_t full = p->cout_g / chunk, tail = p->cout_g % chunk;
  LLVMValueRef col = emit_col_alloc(cg, chunk * w->taps * w->in_plane);
  vitc_status st = VITC_OK;
  cg_loop bg = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, p->batch * p->group), 1);
  LLVMValueRef g = LLVMBuildURem(cg->b, bg.iv, cg_i64(cg, p->group), "");
  LLVMValueRef xg = cg_gep(cg, cg->f32, cg_in(cg, 0), mul_i(cg, bg.iv, p->cin_g * w->in_plane));
  LLVMValueRef yg = cg_gep(cg, cg->f32, cg_out(cg, 0), mul_i(cg, bg.iv, p->cout_g * w->out_plane));
  LLVMValueRef wg = cg_gep(cg, cg->f32, cg_in(cg, 1), mul_i(cg, g, p->cin_g * rows));
  LLVMValueRef bias = cg_in(cg, 2) ? cg_gep(cg, cg->f32, cg_in(cg, 2), mul_i(cg, g, p->cout_g)) : NULL;
  for (int part = 0; part < 2 && !st; part++) {
    int64_t count = part == 0 ? chunk : tail;
    if (count == 0 || (part == 0 && full == 0)) continue;
    cg_loop c = cg_loop_begin(cg, cg_i64(cg, part == 0 ? 0 : full), cg_i64(cg, part == 0 ? full : full + 1), 1);
    LLVMValueRef m0 = mul_i(cg, c.iv, chunk);
    gemm_desc d = {.dtype = VITC_F32, .m = count * w->taps, .n = w->in_plane, .k = p->cin_g, .alpha = 1};
    d.a = cg_gep(cg, cg->f32, wg, mul_i(cg, m0, w->taps));
    d.a_rs = 1;
    d.a_cs = rows;
    d.b = xg;
    d.b_rs = w->in_plane;
    d.b_cs = 1;
    d.c = col;
    d.ldc = w->in_plane;
    st = emit_gemm(cg, &d, err);
    emit_col2im(cg, p, col, cg_gep(cg, cg->f32, yg, mul_i(cg, m0, w->out_plane)),
                bias ? cg_gep(cg, cg->f32, bias, m0) : NULL, count);
    cg_loop_end(cg, &c);
  }
  cg_loop_end(cg, &bg);
  cg_call(cg, "free", cg->void_t, &col, 1);
  return st;
}

/* ---------------------------------------------------------------- every dtype */

/* A task per (image, output channel) plane; per output element, per tap, per input channel of the group. */
static void emit_direct(vitc_cg *cg, const vitc_conv_geometry *p, vitc_dtype t) {
  const vitc_window *w = &p->w;
  LLVMValueRef null = LLVMConstNull(cg->ptr);
  LLVMValueRef captured[4] = {cg_in(cg, 0), cg_in(cg, 1), cg_in(cg, 2) ? cg_in(cg, 2) : null, cg_out(cg, 0)};
  cg_task task = cg_task_begin(cg, captured, 4);
  cg_loop plane = cg_loop_begin(cg, task.begin, task.end, 1); /* (b, m) */
  LLVMValueRef m = LLVMBuildURem(cg->b, plane.iv, cg_i64(cg, p->cout), "");
  LLVMValueRef b = LLVMBuildUDiv(cg->b, plane.iv, cg_i64(cg, p->cout), "");
  LLVMValueRef g = LLVMBuildUDiv(cg->b, m, cg_i64(cg, p->cout_g), "");
  LLVMValueRef m_g = LLVMBuildURem(cg->b, m, cg_i64(cg, p->cout_g), "");
  LLVMValueRef x_base = mul_i(cg, add_i(cg, mul_i(cg, b, p->cin), mul_i(cg, g, p->cin_g)), w->in_plane);
  /* W[g*Cg + c, m_g, k] = w[(g*Cg*Mg + c*Mg + m_g) * K + k] */
  LLVMValueRef w_base = mul_i(cg, add_i(cg, mul_i(cg, g, p->cin_g * p->cout_g), m_g), w->taps);
  LLVMValueRef bias = cg_in(cg, 2) ? cg_convert(cg, cg_load(cg, task.vals[2], m, t), t, VITC_F64)
                                   : LLVMConstReal(cg->f64, 0);
  cg_loop o = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, w->out_plane), 1);
  LLVMValueRef oidx[VITC_MAX_RANK], kidx[VITC_MAX_RANK], inside;
  emit_unflatten(cg, o.iv, w->out, w->nd, oidx);
  LLVMValueRef sum = cg_var(cg, cg->f64, bias);
  cg_loop k = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, w->taps), 1);
  emit_unflatten(cg, k.iv, w->kernel, w->nd, kidx);
  LLVMValueRef off = emit_source_offset(cg, w, oidx, kidx, &inside);
  cg_if in = cg_if_begin(cg, inside);
  cg_loop c = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, p->cin_g), 1);
  LLVMValueRef xv = cg_load(cg, task.vals[0], add_i(cg, add_i(cg, x_base, mul_i(cg, c.iv, w->in_plane)), off), t);
  LLVMValueRef wv = cg_load(cg, task.vals[1], add_i(cg, add_i(cg, w_base, mul_i(cg, c.iv, p->cout_g * w->taps)), k.iv), t);
  LLVMValueRef prod = LLVMBuildFMul(cg->b, cg_convert(cg, xv, t, VITC_F64), cg_convert(cg, wv, t, VITC_F64), "");
  LLVMBuildStore(cg->b, LLVMBuildFAdd(cg->b, LLVMBuildLoad2(cg->b, cg->f64, sum, ""), prod, ""), sum);
  cg_loop_end(cg, &c);
  cg_if_end(cg, &in);
  cg_loop_end(cg, &k);
  LLVMValueRef y = cg_convert(cg, LLVMBuildLoad2(cg->b, cg->f64, sum, ""), VITC_F64, t);
  cg_store(cg, task.vals[3], add_i(cg, mul_i(cg, plane.iv, w->out_plane), o.iv), t, y);
  cg_loop_end(cg, &o);
  cg_loop_end(cg, &plane);
  cg_task_end(cg, &task, p->batch * p->cout);
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
    emit_direct(cg, &p, t);
    return VITC_OK;
  }
  return emit_gemm_col2im(cg, &p, err);
}

/* emit_conv.c — Conv kernels, 1-D to 3-D, with groups, strides, dilations and pads (auto_pad resolved by
 * the evaluator's window geometry). float32 takes one of three shapes:
 *
 *   depthwise 2-D (one channel per group, e.g. ConvNeXt 7x7): per plane, per output row and tap,
 *       y[oy, lo:hi] += w[ky, kx] * x[iy, lo*s + shift : ...]          (the [lo, hi) range is static)
 *   pointwise (1x1, stride 1, no pads): Y_bg[Mg, P] = W_g[Mg, Cg] X_bg[Cg, P], one batched GEMM, or for
 *       one group on a small map Y_bᵀ = X_bᵀ Wᵀ (the pixels as rows, stored transposed)
 *   otherwise im2col into the node's work space, then the GEMM, a slab of output columns at a time:
 *       col[(c,k), j] = X_g[c, input of output position first+j under tap k]   (0 in the padding)
 *       Y_bg[:, first:first+S] = W_g[Mg, Cg*K] col[Cg*K, S] + bias
 *     col is one buffer in the node's work space (cg_scratch), stored in panels of columns (the GEMM's),
 *     of COL_BUDGET floats at most unless a slab's minimum of 256 columns needs more; the im2col tasks
 *     fill it by rows, whatever the thread count.
 * vitc.FusedConv (ir/ops/fused_conv.c) is the same float32 kernel with an epilogue, act(y) + R: the GEMM
 * applies it to its tiles; the depthwise loop makes a vector pass over each plane it has just built.
 * Other dtypes: a direct loop per output element, summing in double as the evaluator does; ConvTranspose
 * (emit_conv_transpose.c) shares it, and the loop over (image, group) of the GEMM kernels. */
#include "emit_gemm.h"
#include "emit_window.h"
#include "emitters.h"

void emit_unflatten(vitc_cg *cg, LLVMValueRef linear, const int64_t *dims, int nd, LLVMValueRef *idx) {
  LLVMValueRef v[VITC_MAX_RANK];
  for (int d = 0; d < nd; d++) v[d] = cg_i64(cg, dims[d]);
  emit_unflatten_n(cg, linear, v, nd, idx);
}

void emit_unflatten_n(vitc_cg *cg, LLVMValueRef linear, const LLVMValueRef *dims, int nd, LLVMValueRef *idx) {
  for (int d = nd - 1; d >= 0; d--) {
    idx[d] = d == 0 ? linear : ix_rem(cg, linear, dims[d]);
    if (d) linear = ix_div(cg, linear, dims[d]);
  }
}

LLVMValueRef emit_window_offset(vitc_cg *cg, const vitc_window *w, const LLVMValueRef *oidx,
                                const LLVMValueRef *kidx, LLVMValueRef *inside) {
  LLVMValueRef off = cg_i64(cg, 0), ok = LLVMConstInt(cg->i1, 1, false);
  for (int d = 0; d < w->nd; d++) {
    LLVMValueRef i = ix_sub(cg, mul_i(cg, oidx[d], w->stride[d]), cg_i64(cg, w->pad_begin[d]));
    i = add_i(cg, i, mul_i(cg, kidx[d], w->dilation[d]));
    ok = vec_and(cg, ok, vec_icmp(cg, LLVMIntULT, i, cg_i64(cg, w->in[d])));
    off = add_i(cg, mul_i(cg, off, w->in[d]), i);
  }
  *inside = ok;
  return vec_select(cg, ok, off, cg_i64(cg, 0));
}

LLVMValueRef emit_transpose_source_offset(vitc_cg *cg, const vitc_window *w, const LLVMValueRef *oidx,
                                          const LLVMValueRef *kidx, LLVMValueRef *inside) {
  LLVMValueRef off = cg_i64(cg, 0), ok = LLVMConstInt(cg->i1, 1, false);
  for (int d = 0; d < w->nd; d++) {
    LLVMValueRef num = add_i(cg, oidx[d], cg_i64(cg, w->pad_begin[d]));
    num = ix_sub(cg, num, mul_i(cg, kidx[d], w->dilation[d]));
    LLVMValueRef i = num;
    if (w->stride[d] != 1) {
      LLVMValueRef s = cg_i64(cg, w->stride[d]);
      LLVMValueRef exact = vec_icmp(cg, LLVMIntEQ, ix_rem(cg, num, s), cg_i64(cg, 0));
      ok = vec_and(cg, ok, vec_icmp(cg, LLVMIntSGE, num, cg_i64(cg, 0)));
      ok = vec_and(cg, ok, exact);
      i = ix_div(cg, num, s);
    }
    ok = vec_and(cg, ok, vec_icmp(cg, LLVMIntULT, i, cg_i64(cg, w->in[d])));
    off = add_i(cg, mul_i(cg, off, w->in[d]), i);
  }
  *inside = ok;
  return vec_select(cg, ok, off, cg_i64(cg, 0));
}

vitc_status emit_conv_slices(vitc_cg *cg, const vitc_conv_geometry *p, int64_t total, int64_t size,
                             int64_t col_floats, conv_slice_fn body, vitc_error *err) {
  int64_t lo[2] = {0, total / size}, hi[2] = {total / size, total / size + 1}, count[2] = {size, total % size};
  conv_slice sl = {.col = cg_scratch(cg, (size_t)col_floats * sizeof(float))};
  cg_loop bg = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, p->batch * p->group), 1);
  LLVMValueRef g = ix_rem(cg, bg.iv, cg_i64(cg, p->group));
  sl.x = cg_gep(cg, cg->f32, cg_in(cg, 0), mul_i(cg, bg.iv, p->cin_g * p->w.in_plane));
  sl.y = cg_gep(cg, cg->f32, cg_out(cg, 0), mul_i(cg, bg.iv, p->cout_g * p->w.out_plane));
  sl.r = cg_in(cg, 3) ? cg_gep(cg, cg->f32, cg_in(cg, 3), mul_i(cg, bg.iv, p->cout_g * p->w.out_plane)) : NULL;
  sl.w = cg_gep(cg, cg->f32, cg_in(cg, 1), mul_i(cg, g, p->cin_g * p->cout_g * p->w.taps));
  sl.bias = cg_in(cg, 2) ? cg_gep(cg, cg->f32, cg_in(cg, 2), mul_i(cg, g, p->cout_g)) : NULL;
  vitc_status st = VITC_OK;
  for (int part = 0; part < 2 && !st; part++) { /* the full chunks, then the shorter tail */
    if (lo[part] == hi[part] || count[part] == 0) continue;
    cg_loop c = cg_loop_begin(cg, cg_i64(cg, lo[part]), cg_i64(cg, hi[part]), 1);
    sl.first = mul_i(cg, c.iv, size);
    sl.count = count[part];
    st = body(cg, p, &sl, err);
    cg_loop_end(cg, &c);
  }
  cg_loop_end(cg, &bg);
  return st;
}

typedef struct epilogue_run {
  gemm_act act;
  LLVMValueRef y, r;
} epilogue_run;

/* y[i..i+lanes) = act(y[i..i+lanes)) + r[i..i+lanes). */
static void epilogue_vector(vitc_cg *cg, LLVMValueRef i, int lanes, void *state) {
  const epilogue_run *e = state;
  LLVMValueRef yp = gep_f32(cg, e->y, i), v = emit_gemm_activate(cg, e->act, vec_load(cg, vec_f32(cg), yp, lanes));
  if (e->r) v = vec_add(cg, v, vec_load(cg, vec_f32(cg), gep_f32(cg, e->r, i), lanes));
  vec_store(cg, v, yp, lanes);
}

/* y[0..count) = act(y[0..count)) + r[0..count) (r NULL: + 0), a vector at a time with a masked tail: the
 * epilogue of FusedConv's depthwise NCHW loop. */
static void emit_epilogue_run(vitc_cg *cg, gemm_act act, LLVMValueRef y, LLVMValueRef r, int64_t count) {
  epilogue_run e = {.act = act, .y = y, .r = r};
  vec_for(cg, cg_i64(cg, 0), count, vec_width(cg), epilogue_vector, &e);
}

/* ---------------------------------------------------------------- float32 depthwise 2-D */

/* One output row of a depthwise plane, as emit_depthwise_2d walks it. */
typedef struct dw_row {
  const vitc_window *w;
  int lanes;            /* output pixels a vector: the target's width, fewer when strided loads would pass 64 */
  LLVMValueRef xrow, y; /* input row iy, output row oy */
  LLVMValueRef wv[64];  /* the taps of row ky, splat (kw <= 64) */
} dw_row;

/* Lanes [a, b) of the vector whose lane i is xrow[first + i·stride] (0 elsewhere): one load of the span
 * they cover, masked to it, then the strided lanes picked out. */
static LLVMValueRef dw_taps(vitc_cg *cg, const dw_row *r, LLVMValueRef first, int a, int b) {
  int s = (int)r->w->stride[1], wide = s * r->lanes, lanes[64];
  LLVMTypeRef t = vec_of(cg, cg->f32, wide);
  LLVMValueRef mask = vec_and(cg, vec_mask(cg, wide, s * (b - 1) + 1), vec_not(cg, vec_mask(cg, wide, s * a)));
  LLVMValueRef v = vec_load_masked(cg, t, gep_f32(cg, r->xrow, first), mask);
  if (s == 1) return v;
  for (int i = 0; i < r->lanes; i++) lanes[i] = i * s;
  return vec_shuffle(cg, v, v, lanes, r->lanes);
}

/* y[ox0 .. ox0+count) += Σ_kx w[ky, kx] · x[iy, ox·sw + kx·dw - pad] over the taps inside the row, the
 * sum held in a register: at a static ox0 (at >= 0) each tap's lanes inside the row are known; at a run-time
 * ox0 (at < 0) every tap lies inside. */
static void dw_chunk(vitc_cg *cg, const dw_row *r, LLVMValueRef ox0, int64_t at, int count) {
  const vitc_window *w = r->w;
  LLVMValueRef yp = gep_f32(cg, r->y, ox0), acc = vec_load(cg, vec_of(cg, cg->f32, r->lanes), yp, count);
  for (int64_t kx = 0; kx < w->kernel[1]; kx++) {
    int64_t shift = kx * w->dilation[1] - w->pad_begin[1], a = 0, b = count;
    if (at >= 0) { /* the lanes whose tap kx reads inside the row */
      int64_t first, end;
      window_tap_outputs(w, 1, kx, 0, w->in[1], &first, &end);
      a = first > at ? first - at : 0;
      b = end - at < count ? end - at : count;
      if (a >= b) continue;
    }
    LLVMValueRef first = ix_addk(cg, ix_mulk(cg, ox0, w->stride[1]), shift);
    acc = vec_fma(cg, r->wv[kx], dw_taps(cg, r, first, (int)a, (int)b), acc);
  }
  vec_store(cg, acc, yp, count);
}

/* One channel plane per task step: y = bias, then per output row and kernel row, the row's vectors at
 * 0, L, 2L, ... (L lanes): those whose taps fall partly in the padding at static positions, the run of
 * those between whose taps all lie inside in a loop; then FusedConv's epilogue. A row narrower than L
 * (14 or 7 pixels in the last stages) is one vector. A channel multiplier (cin_g 1,
 * cout_g > 1: FastViT's 7x7 stride-2 downsampling) reads input plane m / cout_g. Before, a scalar
 * read-modify-write of y per tap ran at a tenth of the GEMM convs' speed per flop. */
static void emit_depthwise_2d(vitc_cg *cg, const vitc_conv_geometry *p) {
  const vitc_window *w = &p->w;
  int64_t ih = w->in[0], iw = w->in[1], oh = w->out[0], ow = w->out[1], kh = w->kernel[0], kw = w->kernel[1];
  int64_t sw = w->stride[1];
  LLVMValueRef null = LLVMConstNull(cg->ptr);
  LLVMValueRef captured[5] = {cg_in(cg, 0), cg_in(cg, 1), cg_in(cg, 2) ? cg_in(cg, 2) : null, cg_out(cg, 0),
                              cg_in(cg, 3) ? cg_in(cg, 3) : null};
  dw_row r = {.w = w, .lanes = vec_width(cg)};
  while (r.lanes > 1 && r.lanes * sw > 64) r.lanes /= 2;
  /* ox with every tap inside: [inner_lo, inner_hi); the vectors [j0, j1) hold only such */
  int64_t inner_lo, inner_hi;
  window_inner_outputs(w, 1, &inner_lo, &inner_hi);
  int64_t vectors = (ow + r.lanes - 1) / r.lanes, j0 = (inner_lo + r.lanes - 1) / r.lanes;
  int64_t j1 = inner_hi / r.lanes;
  if (j1 < j0) j1 = j0;
  cg_task t = cg_task_begin(cg, captured, 5);
  cg_loop plane = cg_loop_begin(cg, t.begin, t.end, 1);
  LLVMValueRef c = ix_rem(cg, plane.iv, cg_i64(cg, p->cout));
  LLVMValueRef xplane = ix_add(cg, mul_i(cg, ix_div(cg, plane.iv, cg_i64(cg, p->cout)), p->cin), ix_divk(cg, c, p->cout_g));
  LLVMValueRef xc = cg_gep(cg, cg->f32, t.vals[0], mul_i(cg, xplane, ih * iw));
  LLVMValueRef wc = cg_gep(cg, cg->f32, t.vals[1], mul_i(cg, c, kh * kw));
  LLVMValueRef yc = cg_gep(cg, cg->f32, t.vals[3], mul_i(cg, plane.iv, oh * ow));
  LLVMValueRef bias = cg_in(cg, 2) ? cg_load(cg, t.vals[2], c, VITC_F32) : cg_f32(cg, 0);
  cg_loop init = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, oh * ow), 1);
  cg_store(cg, yc, init.iv, VITC_F32, bias);
  cg_loop_end(cg, &init);
  cg_loop oy = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, oh), 1);
  r.y = cg_gep(cg, cg->f32, yc, mul_i(cg, oy.iv, ow));
  cg_loop ky = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, kh), 1);
  LLVMValueRef iy = ix_sub(cg, mul_i(cg, oy.iv, w->stride[0]), cg_i64(cg, w->pad_begin[0]));
  iy = add_i(cg, iy, mul_i(cg, ky.iv, w->dilation[0]));
  cg_if row_inside = cg_if_begin(cg, vec_icmp(cg, LLVMIntULT, iy, cg_i64(cg, ih)));
  r.xrow = cg_gep(cg, cg->f32, xc, mul_i(cg, iy, iw));
  for (int64_t kx = 0; kx < kw; kx++)
    r.wv[kx] = vec_splat(cg, cg_load(cg, wc, ix_addk(cg, mul_i(cg, ky.iv, kw), kx), VITC_F32), vec_of(cg, cg->f32, r.lanes));
  for (int64_t j = 0; j < vectors; j++) {
    if (j == j0 && j1 > j0) {
      cg_loop v = cg_loop_begin(cg, cg_i64(cg, j0), cg_i64(cg, j1), 1);
      dw_chunk(cg, &r, mul_i(cg, v.iv, r.lanes), -1, r.lanes);
      cg_loop_end(cg, &v);
      j = j1 - 1;
      continue;
    }
    int64_t ox = j * r.lanes;
    dw_chunk(cg, &r, cg_i64(cg, ox), ox, (int)(ox + r.lanes < ow ? r.lanes : ow - ox));
  }
  cg_if_end(cg, &row_inside);
  cg_loop_end(cg, &ky);
  cg_loop_end(cg, &oy);
  gemm_act act = emit_gemm_act_of(cg->node);
  if (act != GEMM_ACT_NONE || cg_in(cg, 3))
    emit_epilogue_run(cg, act, yc, cg_in(cg, 3) ? cg_gep(cg, cg->f32, t.vals[4], mul_i(cg, plane.iv, oh * ow)) : NULL,
                      oh * ow);
  cg_loop_end(cg, &plane);
  cg_task_end(cg, &t, p->batch * p->cout);
}

/* ---------------------------------------------------------------- float32 through the GEMM */

/* The GEMM of one group: Y[Mg, cols] = W_g[Mg, rows] B[rows, cols] + bias_g, B row-major with ldb. */
static gemm_desc group_gemm(vitc_cg *cg, const vitc_conv_geometry *p, int64_t rows, int64_t cols, int64_t ldb) {
  gemm_desc d = {.dtype = VITC_F32, .m = p->cout_g, .n = cols, .k = rows, .alpha = 1, .beta = 1};
  d.a_rs = rows;
  d.a_cs = 1;
  d.b_rs = ldb;
  d.b_cs = 1;
  d.ldc = p->w.out_plane;
  if (cg_in(cg, 2)) {
    d.d_rs = 1;
    d.d_cs = 0;
  }
  d.act = emit_gemm_act_of(cg->node);
  return d;
}

/* The share of a vector axis of x elements that its 16-lane vectors fill. */
static double lanes_filled(int64_t x) { return (double)x / (double)((x + F32V_LANES - 1) / F32V_LANES * F32V_LANES); }

/* A pointwise conv of one group with its pixels as the GEMM's rows (emit_gemm.h's c_t): per image
 * Y[P, M]ᵀ = X[C, P]ᵀ Wᵀ[C, M] + bias, the weight the constant B (prepacked at compile time), the
 * vectors along the output channels. Taken when they fill the vectors better than the pixels do: a 7x7
 * map fills 49 of 64 lanes, the last panel of a 14x14 one 4 of 16 lanes (bench/jit_gemm --nchw 1 --model
 * poolformer_s12, 1 thread, thread CPU time against an FMA probe, pixels x C -> M: 49x512x2048 73% -> 97%,
 * 49x2048x512 72% -> 88%, 196x320x1280 90% -> 94%, 196x1280x320 89% -> 98%; 56x56 and 28x28 maps, whole
 * vectors, stay as they were at 94-98%). */
static vitc_status emit_pointwise_by_pixels(vitc_cg *cg, const vitc_conv_geometry *p, vitc_error *err) {
  int64_t plane = p->w.out_plane;
  gemm_desc d = {.dtype = VITC_F32, .m = plane, .n = p->cout, .k = p->cin, .alpha = 1, .beta = 1, .c_t = true};
  d.a = cg_in(cg, 0);
  d.a_rs = 1;
  d.a_cs = plane;
  d.b = cg_in(cg, 1);
  d.b_const = cg_in_value(cg, 1)->data;
  d.b_rs = 1;
  d.b_cs = p->cin;
  d.c = cg_out(cg, 0);
  d.ldc = plane;
  d.d = cg_in(cg, 2);
  d.d_cs = 1;
  d.r = cg_in(cg, 3);
  d.act = emit_gemm_act_of(cg->node);
  d.nbatch = 1;
  d.batch[0] = p->batch;
  d.a_bs[0] = p->cin * plane;
  d.c_bs[0] = p->cout * plane;
  return emit_gemm(cg, &d, err);
}

/* A bf16 product (vitc_bf16_product: one group, a constant weight) always runs by pixels: its weight is then
 * the B that the bf16 kernel prepacks in pairs. */
static vitc_status emit_pointwise(vitc_cg *cg, const vitc_conv_geometry *p, vitc_error *err) {
  if (vitc_bf16_product(cg->g, cg->node) ||
      (p->group == 1 && cg_in_value(cg, 1)->data && lanes_filled(p->cout) > lanes_filled(p->w.out_plane)))
    return emit_pointwise_by_pixels(cg, p, err);
  gemm_desc d = group_gemm(cg, p, p->cin_g, p->w.out_plane, p->w.in_plane);
  d.a = cg_in(cg, 1);
  d.b = cg_in(cg, 0);
  d.c = cg_out(cg, 0);
  d.d = cg_in(cg, 2);
  d.r = cg_in(cg, 3);
  d.nbatch = 2;
  d.batch[0] = p->batch;
  d.batch[1] = p->group;
  d.a_bs[1] = p->cout_g * p->cin_g;
  d.b_bs[0] = p->cin * p->w.in_plane;
  d.b_bs[1] = p->cin_g * p->w.in_plane;
  d.c_bs[0] = p->cout * p->w.out_plane;
  d.c_bs[1] = p->cout_g * p->w.out_plane;
  d.d_bs[1] = p->cout_g;
  return emit_gemm(cg, &d, err);
}

/* dst[j + dshift] = 0 for j in [lo, hi) (runtime bounds), or = src[j*stride + sshift] when src is given;
 * the shifts go into the indices because the run's own start may lie before dst or src. Contiguous runs
 * (zeros, or a copy at stride 1) go a vector at a time, the last one masked: element by element, im2col
 * took longer than the GEMM after it (a grouped 3x3 conv of 32 channels a group at 56x56: 0.30 ms of
 * 0.54, the GEMM alone 0.23). */
static void emit_span(vitc_cg *cg, LLVMValueRef dst, LLVMValueRef dshift, LLVMValueRef src, int64_t stride,
                      LLVMValueRef sshift, LLVMValueRef lo, LLVMValueRef hi) {
  if (src && stride != 1) {
    cg_loop j = cg_loop_begin(cg, lo, hi, 1);
    LLVMValueRef v = cg_load(cg, src, add_i(cg, mul_i(cg, j.iv, stride), sshift), VITC_F32);
    cg_store(cg, dst, add_i(cg, j.iv, dshift), VITC_F32, v);
    cg_loop_end(cg, &j);
    return;
  }
  int w = vec_width(cg);
  cg_loop j = cg_loop_begin(cg, lo, hi, w);
  LLVMValueRef mask = vec_mask_dyn(cg, w, ix_sub(cg, hi, j.iv));
  LLVMValueRef v = src ? vec_load_masked(cg, vec_f32(cg), gep_f32(cg, src, add_i(cg, j.iv, sshift)), mask)
                       : vec_const(cg, vec_f32(cg), 0);
  vec_store_masked(cg, v, gep_f32(cg, dst, add_i(cg, j.iv, dshift)), mask);
  cg_loop_end(cg, &j);
}

static LLVMValueRef ix_clamp(vitc_cg *cg, LLVMValueRef v, LLVMValueRef lo, LLVMValueRef hi) {
  v = vec_select(cg, vec_icmp(cg, LLVMIntSLT, v, lo), lo, v);
  return ix_min(cg, v, hi);
}

/* im2col's columns go in panels of the GEMM's own width (emit_gemm_panel_width: 48, or 16 with AVX2),
 * col[j / panel][r][j % panel], so that the GEMM reads each panel's rows as one contiguous stream, a tile
 * column. Read in place from rows of a whole slab instead, B's rows lay a slab apart and the GEMM ran at a
 * third of its speed (64->64 3x3 at 112x112: 70 GFLOP/s). */

/* col for the rows (c, tap) of one group's input xg and output positions first .. first+count, in
 * panels. A row is built a run of output positions at a time, a run being the part of one line of the
 * last output dimension that falls in a panel: its taps lie on one input line (or in the padding), so
 * the run is zeros, then a strided copy of that line, then zeros, and no division or bounds test is done
 * per element (the per-element form took longer than the GEMM). The copy's bounds along the line, for
 * tap kx with shift = kx*dilation - pad_begin:
 *     lo = ceil(-shift / stride) (0 when shift >= 0),  hi = floor((in - 1 - shift) / stride) + 1 */
static void emit_im2col(vitc_cg *cg, const vitc_conv_geometry *p, LLVMValueRef xg, LLVMValueRef col, LLVMValueRef first,
                        int64_t count) {
  const vitc_window *w = &p->w;
  int last = w->nd - 1;
  int64_t line = w->out[last], in_line = w->in[last], s = w->stride[last], rows = p->cin_g * w->taps;
  int64_t panel = emit_gemm_panel_width(cg);
  vitc_window lead = *w; /* the dimensions before the last: which input line a run reads */
  lead.nd = last;
  LLVMValueRef captured[3] = {xg, col, first};
  cg_task t = cg_task_begin(cg, captured, 3);
  cg_loop r = cg_loop_begin(cg, t.begin, t.end, 1);
  LLVMValueRef c = ix_divk(cg, r.iv, w->taps);
  LLVMValueRef kidx[VITC_MAX_RANK], oidx[VITC_MAX_RANK], inside;
  emit_unflatten(cg, ix_remk(cg, r.iv, w->taps), w->kernel, w->nd, kidx);
  LLVMValueRef xc = cg_gep(cg, cg->f32, t.vals[0], mul_i(cg, c, w->in_plane));
  LLVMValueRef zero = cg_i64(cg, 0), width = cg_i64(cg, line);
  LLVMValueRef shift = ix_addk(cg, mul_i(cg, kidx[last], w->dilation[last]), -w->pad_begin[last]);
  LLVMValueRef neg = vec_icmp(cg, LLVMIntSLT, shift, zero);
  LLVMValueRef lo = vec_select(cg, neg, ix_divk(cg, ix_addk(cg, vec_ineg(cg, shift), s - 1), s), zero);
  LLVMValueRef room = ix_addk(cg, vec_ineg(cg, shift), in_line - 1); /* in - 1 - shift */
  LLVMValueRef hi = vec_select(cg, vec_icmp(cg, LLVMIntSLT, room, zero), zero, ix_addk(cg, ix_divk(cg, room, s), 1));
  cg_loop pan = cg_loop_begin(cg, zero, cg_i64(cg, (count + panel - 1) / panel), 1);
  LLVMValueRef dst =
      cg_gep(cg, cg->f32, t.vals[1], ix_add(cg, mul_i(cg, pan.iv, rows * panel), mul_i(cg, r.iv, panel)));
  LLVMValueRef from = ix_add(cg, t.vals[2], mul_i(cg, pan.iv, panel)); /* the panel's first position */
  LLVMValueRef to = ix_min(cg, ix_addk(cg, from, panel), ix_addk(cg, t.vals[2], count));
  cg_loop o = cg_loop_begin(cg, ix_divk(cg, from, line), ix_addk(cg, ix_divk(cg, ix_addk(cg, to, -1), line), 1), 1);
  LLVMValueRef start = mul_i(cg, o.iv, line);
  LLVMValueRef a = ix_clamp(cg, ix_sub(cg, from, start), zero, width);
  LLVMValueRef b = ix_clamp(cg, ix_sub(cg, to, start), zero, width);
  emit_unflatten(cg, o.iv, w->out, last, oidx);
  LLVMValueRef off = emit_window_offset(cg, &lead, oidx, kidx, &inside);
  LLVMValueRef copy_lo = vec_select(cg, inside, ix_clamp(cg, lo, a, b), b);
  LLVMValueRef copy_hi = ix_clamp(cg, hi, copy_lo, b);
  LLVMValueRef dshift = ix_sub(cg, start, from);
  LLVMValueRef sshift = add_i(cg, mul_i(cg, off, in_line), shift);
  emit_span(cg, dst, dshift, NULL, 0, NULL, a, copy_lo);
  emit_span(cg, dst, dshift, xc, s, sshift, copy_lo, copy_hi);
  emit_span(cg, dst, dshift, NULL, 0, NULL, copy_hi, b);
  cg_loop_end(cg, &o);
  cg_loop_end(cg, &pan);
  cg_loop_end(cg, &r);
  cg_task_end(cg, &t, rows);
}

/* One slab of output columns: im2col, then Y_bg[:, first:first+count] = W_g col + bias, a batch of
 * GEMMs over the full panels and one for the shorter last panel. */
static vitc_status emit_im2col_slab(vitc_cg *cg, const vitc_conv_geometry *p, const conv_slice *s,
                                    vitc_error *err) {
  int64_t rows = p->cin_g * p->w.taps, panel = emit_gemm_panel_width(cg), full = s->count / panel;
  int64_t tail = s->count % panel;
  emit_im2col(cg, p, s->x, s->col, s->first, s->count);
  vitc_status st = VITC_OK;
  for (int part = 0; part < 2 && !st; part++) {
    int64_t panels = part ? 1 : full, skip = part ? full : 0;
    if (!panels || (part && !tail)) continue;
    gemm_desc d = group_gemm(cg, p, rows, part ? tail : panel, panel);
    LLVMValueRef y0 = ix_addk(cg, s->first, skip * panel);
    d.a = s->w;
    d.b = cg_gep(cg, cg->f32, s->col, cg_i64(cg, skip * rows * panel));
    d.c = cg_gep(cg, cg->f32, s->y, y0);
    d.r = s->r ? cg_gep(cg, cg->f32, s->r, y0) : NULL;
    d.d = s->bias;
    d.nbatch = 1;
    d.batch[0] = panels;
    d.b_bs[0] = rows * panel;
    d.c_bs[0] = panel;
    st = emit_gemm(cg, &d, err);
  }
  return st;
}

static vitc_status emit_im2col_gemm(vitc_cg *cg, const vitc_conv_geometry *p, vitc_error *err) {
  int64_t rows = p->cin_g * p->w.taps, slab = p->w.out_plane, panel = emit_gemm_panel_width(cg);
  if (rows * slab > COL_BUDGET) {
    slab = COL_BUDGET / rows / panel * panel;
    if (slab < 256) slab = 256;
    if (slab > p->w.out_plane) slab = p->w.out_plane;
  }
  int64_t panels = (slab + panel - 1) / panel;
  return emit_conv_slices(cg, p, p->w.out_plane, slab, rows * panels * panel, emit_im2col_slab, err);
}

/* ---------------------------------------------------------------- every dtype */

void emit_direct_conv(vitc_cg *cg, const vitc_conv_geometry *p, vitc_dtype t, bool transpose) {
  const vitc_window *w = &p->w;
  LLVMValueRef null = LLVMConstNull(cg->ptr);
  LLVMValueRef captured[4] = {cg_in(cg, 0), cg_in(cg, 1), cg_in(cg, 2) ? cg_in(cg, 2) : null, cg_out(cg, 0)};
  cg_task task = cg_task_begin(cg, captured, 4);
  cg_loop plane = cg_loop_begin(cg, task.begin, task.end, 1); /* (b, m) */
  LLVMValueRef m = ix_rem(cg, plane.iv, cg_i64(cg, p->cout));
  LLVMValueRef b = ix_div(cg, plane.iv, cg_i64(cg, p->cout));
  LLVMValueRef g = ix_div(cg, m, cg_i64(cg, p->cout_g));
  LLVMValueRef x_base = mul_i(cg, add_i(cg, mul_i(cg, b, p->cin), mul_i(cg, g, p->cin_g)), p->w.in_plane);
  /* W[m, c, k] of Conv, or W[g*Cg + c, m mod Mg, k] of ConvTranspose, at w_base + c*w_cs + k */
  LLVMValueRef w_base = mul_i(cg, m, p->cin_g * p->w.taps);
  int64_t w_cs = p->w.taps;
  if (transpose) {
    LLVMValueRef m_g = ix_rem(cg, m, cg_i64(cg, p->cout_g));
    w_base = mul_i(cg, add_i(cg, mul_i(cg, g, p->cin_g * p->cout_g), m_g), p->w.taps);
    w_cs = p->cout_g * p->w.taps;
  }
  LLVMValueRef bias = cg_in(cg, 2) ? cg_convert(cg, cg_load(cg, task.vals[2], m, t), t, VITC_F64)
                                   : LLVMConstReal(cg->f64, 0);
  cg_loop o = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, p->w.out_plane), 1);
  LLVMValueRef oidx[VITC_MAX_RANK], kidx[VITC_MAX_RANK], inside;
  emit_unflatten(cg, o.iv, w->out, w->nd, oidx);
  LLVMValueRef sum = cg_var(cg, cg->f64, bias);
  cg_loop c = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, p->cin_g), 1);
  cg_loop k = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, p->w.taps), 1);
  emit_unflatten(cg, k.iv, w->kernel, w->nd, kidx);
  LLVMValueRef off = transpose ? emit_transpose_source_offset(cg, w, oidx, kidx, &inside)
                               : emit_window_offset(cg, w, oidx, kidx, &inside);
  cg_if in = cg_if_begin(cg, inside);
  LLVMValueRef xv = cg_load(cg, task.vals[0], add_i(cg, add_i(cg, x_base, mul_i(cg, c.iv, p->w.in_plane)), off), t);
  LLVMValueRef wv = cg_load(cg, task.vals[1], add_i(cg, add_i(cg, w_base, mul_i(cg, c.iv, w_cs)), k.iv), t);
  LLVMValueRef prod_v = vec_mul(cg, cg_convert(cg, xv, t, VITC_F64), cg_convert(cg, wv, t, VITC_F64));
  vec_store1(cg, vec_add(cg, vec_load1(cg, cg->f64, sum), prod_v), sum);
  cg_if_end(cg, &in);
  cg_loop_end(cg, &k);
  cg_loop_end(cg, &c);
  LLVMValueRef y = cg_convert(cg, vec_load1(cg, cg->f64, sum), VITC_F64, t);
  cg_store(cg, task.vals[3], add_i(cg, mul_i(cg, plane.iv, p->w.out_plane), o.iv), t, y);
  cg_loop_end(cg, &o);
  cg_loop_end(cg, &plane);
  cg_task_end(cg, &task, p->batch * p->cout);
}

vitc_status emit_Conv(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  const vitc_value *in[3] = {cg_in_value(cg, 0), cg_in_value(cg, 1), cg_in_value(cg, 2)};
  vitc_conv_geometry p;
  vitc_status st = vitc_conv_geometry_of(n, in, &p, err);
  if (st) return st;
  vitc_dtype t = cg_in_value(cg, 0)->dtype;
  if (p.batch * p.cout * p.w.out_plane == 0) return VITC_OK;
  if (t != VITC_F32) {
    emit_direct_conv(cg, &p, t, false);
    return VITC_OK;
  }
  if (p.w.nd == 2 && p.cin_g == 1 && p.w.kernel[1] <= 64) {
    emit_depthwise_2d(cg, &p);
    return VITC_OK;
  }
  return vitc_conv_pointwise(&p) ? emit_pointwise(cg, &p, err) : emit_im2col_gemm(cg, &p, err);
}

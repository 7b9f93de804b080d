/* emit_pool.c — AveragePool, MaxPool (and its Indices output) over 1 to 3 spatial dims, and the global
 * pools. A task per (n, c) plane; per output position a loop over the window's taps:
 *
 *   AveragePool: y = sum of taps inside X / count       (count_include_pad: taps inside the padded X)
 *   MaxPool:     y = first maximum of taps inside X,   index = n*C*plane + its spatial offset
 *                (row-major, or column-major for storage_order 1)
 *
 * float32 2-D pools without Indices (PoolFormer's and EfficientFormer's 3x3 token mixer, a fifth of their
 * time when they ran per tap) run per output row as the depthwise conv does (emit_conv.c): for each tap
 * row inside X and each tap column, one pass over the output columns it reaches, a range known at compile
 * time, which O3 vectorises; the average then divides each output by its count of taps, a product of
 * the row's and the column's. Every other pool shares one scalar loop nest; sums are
 * in double, comparisons in the dtype's compute type, matching the evaluator (ir/ops/pool.c). The
 * channels-last global average (MBConv's squeeze, once per block on the largest maps) sums vectors of
 * channels in float instead, a task per vector of channels. */
#include <math.h>

#include "emit_gemm.h"
#include "emit_rows.h"
#include "emit_window.h"
#include "emitters.h"

static bool is_unsigned(vitc_dtype t) { return !vitc_dtype_is_float(t) && !vitc_dtype_is_signed(t); }

/* v > best in the dtype's compute type (false when v is NaN). */
static LLVMValueRef greater(vitc_cg *cg, vitc_dtype t, LLVMValueRef v, LLVMValueRef best) {
  if (vitc_dtype_is_float(t)) return vec_cmp(cg, LLVMRealOGT, v, best);
  return vec_icmp(cg, is_unsigned(t) ? LLVMIntUGT : LLVMIntSGT, v, best);
}

/* The smallest value of the compute type: the maximum's start, as the evaluator's -inf. */
static LLVMValueRef lowest(vitc_cg *cg, vitc_dtype t) {
  if (vitc_dtype_is_float(t)) return cg_const(cg, cg_compute_type(cg, t), -INFINITY);
  return LLVMConstInt(cg->i64, is_unsigned(t) ? 0 : (unsigned long long)INT64_MIN, false);
}

static vitc_status pool_window(vitc_cg *cg, const vitc_node *n, vitc_window *w, vitc_error *err) {
  int64_t storage_order = vitc_attr_int(n, "storage_order", 0);
  if (storage_order != 0 && storage_order != 1)
    return vitc_fail(err, VITC_ERR_INVALID, "storage_order is %lld, not 0 or 1", (long long)storage_order);
  return vitc_window_geometry(n, cg_in_value(cg, 0), NULL, vitc_attr_int(n, "ceil_mode", 0) != 0, w, err);
}

/* Taps of the window at oidx inside the padded input: per dim, k with o*s - pb + k*dil < in + pe. */
static LLVMValueRef taps_in_padded_input(vitc_cg *cg, const vitc_window *w, const LLVMValueRef *oidx) {
  LLVMValueRef count = cg_i64(cg, 1);
  for (int d = 0; d < w->nd; d++) {
    LLVMValueRef room = ix_sub(cg, cg_i64(cg, w->in[d] + w->pad_begin[d] + w->pad_end[d]), ix_mulk(cg, oidx[d], w->stride[d]));
    LLVMValueRef taps = vec_sdiv(cg, ix_add(cg, room, cg_i64(cg, w->dilation[d] - 1)), cg_i64(cg, w->dilation[d]));
    taps = vec_select(cg, vec_icmp(cg, LLVMIntSLT, room, cg_i64(cg, 1)), cg_i64(cg, 0), taps);
    LLVMValueRef k = cg_i64(cg, w->kernel[d]);
    taps = vec_select(cg, vec_icmp(cg, LLVMIntSLT, taps, k), taps, k);
    count = ix_mul(cg, count, taps);
  }
  return count;
}

static vitc_status emit_window_pool(vitc_cg *cg, const vitc_node *n, bool average, vitc_error *err) {
  vitc_window w;
  vitc_status st = pool_window(cg, n, &w, err);
  if (st) return st;
  const vitc_value *x = cg_in_value(cg, 0);
  vitc_dtype t = x->dtype;
  int64_t planes = x->dims[0] * x->dims[1], plane_in = w.in_plane, plane_out = w.out_plane, ktotal = w.taps;
  bool include_pad = vitc_attr_int(n, "count_include_pad", 0) != 0;
  bool col_major = vitc_attr_int(n, "storage_order", 0) == 1;
  LLVMValueRef indices = n->nout > 1 ? cg_out(cg, 1) : NULL;
  if (planes * plane_out == 0) return VITC_OK;
  LLVMTypeRef ct = cg_compute_type(cg, t);

  LLVMValueRef captured[3] = {cg_in(cg, 0), cg_out(cg, 0), indices ? indices : LLVMConstNull(cg->ptr)};
  cg_task task = cg_task_begin(cg, captured, 3);
  cg_loop plane = cg_loop_begin(cg, task.begin, task.end, 1);
  LLVMValueRef x_base = ix_mulk(cg, plane.iv, plane_in);
  cg_loop o = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, plane_out), 1);
  LLVMValueRef oidx[VITC_MAX_RANK], kidx[VITC_MAX_RANK], inside;
  emit_unflatten(cg, o.iv, w.out, w.nd, oidx);
  LLVMValueRef at = ix_add(cg, ix_mulk(cg, plane.iv, plane_out), o.iv);
  LLVMValueRef acc = average ? cg_var(cg, cg->f64, LLVMConstReal(cg->f64, 0)) : cg_var(cg, ct, lowest(cg, t));
  LLVMValueRef count = cg_var(cg, cg->i64, cg_i64(cg, 0));
  LLVMValueRef best_off = cg_var(cg, cg->i64, cg_i64(cg, -1));
  cg_loop k = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, ktotal), 1);
  emit_unflatten(cg, k.iv, w.kernel, w.nd, kidx);
  LLVMValueRef off = emit_window_offset(cg, &w, oidx, kidx, &inside);
  cg_if in = cg_if_begin(cg, inside);
  LLVMValueRef v = cg_load(cg, task.vals[0], ix_add(cg, x_base, off), t);
  if (average) {
    LLVMValueRef s = vec_load1(cg, cg->f64, acc);
    vec_store1(cg, vec_add(cg, s, cg_convert(cg, v, t, VITC_F64)), acc);
    vec_store1(cg, ix_add(cg, vec_load1(cg, cg->i64, count), cg_i64(cg, 1)), count);
  } else {
    LLVMValueRef best = vec_load1(cg, ct, acc);
    LLVMValueRef none = vec_icmp(cg, LLVMIntSLT, vec_load1(cg, cg->i64, best_off), cg_i64(cg, 0));
    cg_if take = cg_if_begin(cg, vec_or(cg, greater(cg, t, v, best), none));
    vec_store1(cg, v, acc);
    vec_store1(cg, off, best_off);
    cg_if_end(cg, &take);
  }
  cg_if_end(cg, &in);
  cg_loop_end(cg, &k);

  if (average) {
    LLVMValueRef divisor = include_pad ? taps_in_padded_input(cg, &w, oidx) : vec_load1(cg, cg->i64, count);
    LLVMValueRef mean = vec_div(cg, vec_load1(cg, cg->f64, acc), vec_sitofp(cg, divisor, cg->f64));
    LLVMValueRef zero = vec_icmp(cg, LLVMIntEQ, divisor, cg_i64(cg, 0));
    mean = vec_select(cg, zero, LLVMConstReal(cg->f64, 0), mean);
    cg_store(cg, task.vals[1], at, t, cg_convert(cg, mean, VITC_F64, t));
  } else {
    cg_store(cg, task.vals[1], at, t, vec_load1(cg, ct, acc));
  }
  if (indices) {
    LLVMValueRef off_best = vec_load1(cg, cg->i64, best_off);
    LLVMValueRef spatial = off_best;
    if (col_major) {
      LLVMValueRef idx[VITC_MAX_RANK];
      emit_unflatten(cg, off_best, w.in, w.nd, idx);
      spatial = cg_i64(cg, 0);
      for (int d = w.nd - 1; d >= 0; d--) spatial = ix_add(cg, ix_mulk(cg, spatial, w.in[d]), idx[d]);
    }
    LLVMValueRef none = vec_icmp(cg, LLVMIntSLT, off_best, cg_i64(cg, 0));
    LLVMValueRef flat = vec_select(cg, none, cg_i64(cg, -1), ix_add(cg, x_base, spatial));
    cg_store(cg, task.vals[2], at, VITC_I64, flat);
  }
  cg_loop_end(cg, &o);
  cg_loop_end(cg, &plane);
  cg_task_end(cg, &task, planes);
  return VITC_OK;
}

/* ---------------------------------------------------------------- float32 2-D windows by rows */

/* The bounds [*lo, *hi) of dim d that the average counts taps in: X, or X with its pads (count_include_pad). */
static void counted_bounds(const vitc_window *w, int d, bool include_pad, int64_t *lo, int64_t *hi) {
  *lo = include_pad ? -w->pad_begin[d] : 0;
  *hi = w->in[d] + (include_pad ? w->pad_end[d] : 0);
}

/* yrow[ox] for ox in [0, ow) = yrow[ox] / (rows · taps of column ox in the counted bounds), 0 when none. A
 * column's count of taps is known at compile time: the columns go in runs of one count (the edges' few
 * columns, the inner run), each a loop dividing by its run's divisor, computed once before it. */
static void divide_by_taps(vitc_cg *cg, const vitc_window *w, bool include_pad, LLVMValueRef yrow, LLVMValueRef rows) {
  int64_t lo, hi, ow = w->out[1];
  counted_bounds(w, 1, include_pad, &lo, &hi);
  for (int64_t run = 0, next; run < ow; run = next) {
    int64_t cols = vitc_window_taps_within(w, 1, run, lo, hi), first, end;
    next = ow; /* the run ends where a tap's range of outputs starts or ends */
    for (int64_t kx = 0; kx < w->kernel[1]; kx++) {
      window_tap_outputs(w, 1, kx, lo, hi, &first, &end);
      if (first > run && first < next) next = first;
      if (end > run && end < next) next = end;
    }
    LLVMValueRef count = ix_mulk(cg, rows, cols), none = vec_icmp(cg, LLVMIntEQ, count, cg_i64(cg, 0));
    LLVMValueRef divisor = vec_sitofp(cg, count, cg->f32);
    cg_loop ox = cg_loop_begin(cg, cg_i64(cg, run), cg_i64(cg, next), 1);
    LLVMValueRef mean = vec_div(cg, cg_load(cg, yrow, ox.iv, VITC_F32), divisor);
    cg_store(cg, yrow, ox.iv, VITC_F32, vec_select(cg, none, cg_f32(cg, 0), mean));
    cg_loop_end(cg, &ox);
  }
}

/* A task per plane; per output row, the taps row by row (those inside X), each tap column a static run of
 * output columns: y[ox] = y[ox] + x[ox*sw + shift] (or the larger of the two, the later tap only when
 * greater, as the evaluator takes the first maximum and skips NaN). */
static void emit_pool_rows_f32(vitc_cg *cg, const vitc_window *w, bool average, bool include_pad, int64_t planes) {
  int64_t ih = w->in[0], iw = w->in[1], oh = w->out[0], ow = w->out[1];
  LLVMValueRef captured[2] = {cg_in(cg, 0), cg_out(cg, 0)};
  cg_task task = cg_task_begin(cg, captured, 2);
  cg_loop plane = cg_loop_begin(cg, task.begin, task.end, 1);
  LLVMValueRef xc = gep_f32(cg, task.vals[0], ix_mulk(cg, plane.iv, ih * iw));
  LLVMValueRef yc = gep_f32(cg, task.vals[1], ix_mulk(cg, plane.iv, oh * ow));
  cg_loop oy = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, oh), 1);
  LLVMValueRef yrow = gep_f32(cg, yc, ix_mulk(cg, oy.iv, ow));
  cg_loop init = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, ow), 1);
  cg_store(cg, yrow, init.iv, VITC_F32, cg_f32(cg, average ? 0.0f : -INFINITY));
  cg_loop_end(cg, &init);
  int64_t row_lo, row_hi;
  counted_bounds(w, 0, include_pad, &row_lo, &row_hi);
  cg_mut rows = cg_mut_new(cg, cg->i64, cg_i64(cg, 0));
  cg_loop ky = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, w->kernel[0]), 1);
  LLVMValueRef iy = ix_add(cg, ix_mulk(cg, oy.iv, w->stride[0]), ix_mulk(cg, ky.iv, w->dilation[0]));
  iy = ix_sub(cg, iy, cg_i64(cg, w->pad_begin[0]));
  LLVMValueRef counted = vec_and(cg, vec_icmp(cg, LLVMIntSGE, iy, cg_i64(cg, row_lo)),
                                 vec_icmp(cg, LLVMIntSLT, iy, cg_i64(cg, row_hi)));
  cg_set(cg, rows, ix_add(cg, cg_get(cg, rows), vec_select(cg, counted, cg_i64(cg, 1), cg_i64(cg, 0))));
  cg_if inside = cg_if_begin(cg, vec_icmp(cg, LLVMIntULT, iy, cg_i64(cg, ih)));
  LLVMValueRef xrow = gep_f32(cg, xc, ix_mulk(cg, iy, iw));
  for (int64_t kx = 0; kx < w->kernel[1]; kx++) {
    int64_t first, end, shift = kx * w->dilation[1] - w->pad_begin[1];
    window_tap_outputs(w, 1, kx, 0, iw, &first, &end);
    if (first == end) continue;
    cg_loop ox = cg_loop_begin(cg, cg_i64(cg, first), cg_i64(cg, end), 1);
    LLVMValueRef x = cg_load(cg, xrow, ix_addk(cg, ix_mulk(cg, ox.iv, w->stride[1]), shift), VITC_F32);
    LLVMValueRef y = cg_load(cg, yrow, ox.iv, VITC_F32);
    cg_store(cg, yrow, ox.iv, VITC_F32, average ? vec_add(cg, y, x) : vec_max_ordered(cg, y, x));
    cg_loop_end(cg, &ox);
  }
  cg_if_end(cg, &inside);
  cg_loop_end(cg, &ky);
  if (average) divide_by_taps(cg, w, include_pad, yrow, cg_get(cg, rows));
  cg_loop_end(cg, &oy);
  cg_loop_end(cg, &plane);
  cg_task_end(cg, &task, planes);
}

/* The row form for float32 2-D pools without Indices, else the scalar loop nest. */
static vitc_status emit_pool(vitc_cg *cg, const vitc_node *n, bool average, vitc_error *err) {
  const vitc_value *x = cg_in_value(cg, 0);
  vitc_window w;
  vitc_status st = pool_window(cg, n, &w, err);
  if (st || x->dtype != VITC_F32 || w.nd != 2 || n->nout > 1) return st ? st : emit_window_pool(cg, n, average, err);
  if (x->dims[0] * x->dims[1] * w.out_plane == 0) return VITC_OK;
  emit_pool_rows_f32(cg, &w, average, vitc_attr_int(n, "count_include_pad", 0) != 0, x->dims[0] * x->dims[1]);
  return VITC_OK;
}

vitc_status emit_AveragePool(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  return emit_pool(cg, n, true, err);
}

vitc_status emit_MaxPool(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  return emit_pool(cg, n, false, err);
}

/* One value per (n, c) plane, a row fold (emit_rows.h): its mean (summed in double, in vectors for
 * float32) or its maximum (NaN skipped: in vectors for float32, in the compute type otherwise, where
 * int64 would not survive a double). */
static void emit_global_pool(vitc_cg *cg, bool average) {
  const vitc_value *x = cg_in_value(cg, 0);
  vitc_dtype t = x->dtype;
  row_shape s;
  row_shape_range(&s, x, 2, x->rank - 1);
  if (x->dims[0] * x->dims[1] == 0) return;
  LLVMValueRef ptrs[2] = {cg_in(cg, 0), cg_out(cg, 0)};
  row_loop rl;
  LLVMValueRef r = rows_begin(cg, &rl, x->dims[0] * x->dims[1], vitc_numel(x), ptrs, 2);
  LLVMValueRef base = ix_mulk(cg, r, s.len);
  if (average || t == VITC_F32) {
    LLVMValueRef y = fold_row(cg, &s, ptrs[0], t, base, MAP_ID, NULL, average ? VEC_SUM : VEC_MAX);
    if (average) y = s.len ? vec_div(cg, y, cg_const(cg, cg->f64, (double)s.len)) : cg_const(cg, cg->f64, 0);
    store_f64(cg, ptrs[1], r, t, y);
  } else {
    LLVMTypeRef ct = cg_compute_type(cg, t);
    LLVMValueRef acc = cg_var(cg, ct, lowest(cg, t));
    cg_loop i = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, s.len), 1);
    LLVMValueRef v = cg_load(cg, ptrs[0], ix_add(cg, base, i.iv), t), best = vec_load1(cg, ct, acc);
    vec_store1(cg, vec_select(cg, greater(cg, t, v, best), v, best), acc);
    cg_loop_end(cg, &i);
    cg_store(cg, ptrs[1], r, t, vec_load1(cg, ct, acc));
  }
  rows_end(cg, &rl);
}

vitc_status emit_GlobalAveragePool(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  emit_global_pool(cg, true);
  return VITC_OK;
}

vitc_status emit_GlobalMaxPool(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  emit_global_pool(cg, false);
  return VITC_OK;
}

/* ---------------------------------------------------------------- channels-last global average */

/* The means of `runs` runs of `per` vectors of `lanes` channels from channel c0 on (lanes < W: one vector),
 * a task per (image, run): vector sums down the H·W positions, which read X's rows in order across the
 * tasks of one image. */
static void emit_channel_means(vitc_cg *cg, int64_t c0, int64_t runs, int per, int lanes) {
  const vitc_value *x = cg_in_value(cg, 0);
  int64_t plane = x->dims[1] * x->dims[2], c = x->dims[3];
  int w = vec_width(cg);
  LLVMTypeRef vt = vec_f32(cg);
  LLVMValueRef captured[2] = {cg_in(cg, 0), cg_out(cg, 0)};
  cg_task task = cg_task_begin(cg, captured, 2);
  cg_loop r = cg_loop_begin(cg, task.begin, task.end, 1);
  LLVMValueRef image = ix_divk(cg, r.iv, runs), ch = ix_addk(cg, ix_mulk(cg, ix_remk(cg, r.iv, runs), per * w), c0);
  LLVMValueRef xs = gep_f32(cg, task.vals[0], ix_add(cg, ix_mulk(cg, image, plane * c), ch));
  LLVMValueRef acc[VEC_CACHE_LINE / sizeof(float)];
  for (int j = 0; j < per; j++) acc[j] = cg_var(cg, vt, vec_const(cg, vt, 0));
  cg_loop p = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, plane), 1);
  for (int j = 0; j < per; j++) {
    LLVMValueRef v = vec_load(cg, vt, gep_f32_at(cg, xs, p.iv, c, j * w), lanes);
    vec_store1(cg, vec_add(cg, vec_load1(cg, vt, acc[j]), v), acc[j]);
  }
  cg_loop_end(cg, &p);
  for (int j = 0; j < per; j++) {
    LLVMValueRef mean = vec_mul(cg, vec_load1(cg, vt, acc[j]), vec_const(cg, vt, plane ? 1.0 / (double)plane : 0));
    vec_store(cg, mean, gep_f32_at(cg, task.vals[1], ix_add(cg, ix_mulk(cg, image, c), ch), 1, j * w), lanes);
  }
  cg_loop_end(cg, &r);
  cg_task_end(cg, &task, x->dims[0] * runs);
}

/* vitc.GlobalAveragePoolNHWC (ir/ops/global_pool_nhwc.c): the whole vectors of channels, then the tail. */
vitc_status emit_GlobalAveragePoolNHWC(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  int64_t c = cg_in_value(cg, 0)->dims[3], w = vec_width(cg), full = c / w;
  /* A task's vectors fill whole cache lines (AVX2: two of 32 bytes): tasks of one vector each fetched every
   * line of X twice, once per half, when its rows are farther apart than the cache keeps (MaxViT's
   * squeeze-excitation pools, C = 256..2048; Zen 3, 1 thread, best of 2x100 by thread CPU time: 56x56x256
   * 0.221 -> 0.094 ms, 28x28x512 0.205 -> 0.055, 14x14x1024 0.142 -> 0.065, 7x7x2048 0.065 -> 0.027). */
  int per = vec_per_line(cg);
  if (cg_in_value(cg, 0)->dims[0] == 0) return VITC_OK;
  if (full / per) emit_channel_means(cg, 0, full / per, per, (int)w);
  if (full % per) emit_channel_means(cg, full / per * per * w, full % per, 1, (int)w);
  if (c % w) emit_channel_means(cg, full * w, 1, 1, (int)(c % w));
  return VITC_OK;
}

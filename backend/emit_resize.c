/* emit_resize.c — Resize as one weighted gather whose taps are read off the evaluator.
 *
 * Resize is separable: along each axis d, output coordinate j reads a few input indices with weights
 * (nearest: one, linear: two, cubic: four, antialiased downscaling: a wider footprint). With scales,
 * sizes and roi compile-time constants, those taps are compile-time facts. Rather than restate the
 * coordinate and kernel math of ir/ops/resize.c, the taps of axis d are measured: the node is evaluated
 * with its `axes` narrowed to d, on a probe that is 1 along every other dim and a unit impulse e_i along
 * d; the result's column is exactly row i of the tap matrix. A zero probe with extrapolation_value NaN
 * marks the coordinates tf_crop_and_resize puts outside its box. The taps go to the weights blob:
 *
 *   for each output coordinate j:                        (first dim of size > 1 split across threads)
 *     out[j] = outside(j) ? extrapolation_value
 *            : Σ_{t_d} Π_d w_d[j_d, t_d] · x[Σ_d idx_d[j_d, t_d]]      (d over the resized axes)
 *
 * Axes the probe shows to be the identity are plain strides; when every resized axis has single taps
 * of weight 1 (nearest) the kernel copies elements bit for bit instead of multiplying. Sums are in
 * double like the evaluator's; the evaluator applies the axes one after another, which changes only
 * rounding (and, outside the tf_crop_and_resize box, multiplies extrapolation_value by tap sums that are
 * 1 up to rounding). keep_aspect_ratio_policy takes its common scale from the extreme axis, so that axis
 * joins the probe of each other axis (at one coordinate; its tap sum, 1 up to rounding, scales the
 * measured weights). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "emit_rows.h"
#include "emitters.h"
#include "vec.h"

#define PARALLEL_MIN_WORK 65536

/* Taps of one axis: row j holds width (index · input stride, weight) pairs, padded with weight 0. */
typedef struct axis_taps {
  int64_t width;
  int64_t *idx;
  double *w;
  unsigned char *outside; /* per output coordinate; NULL when none is */
  bool identity, unit;    /* unit: every row one tap of weight 1 */
  int64_t idx_off, w_off, outside_off; /* in the weights blob */
} axis_taps;

static void free_taps(axis_taps *t) {
  free(t->idx);
  free(t->w);
  free(t->outside);
}

/* Appends tap (i, w) to row j, widening every row when it is full. */
static bool push_tap(axis_taps *t, int64_t *count, int64_t rows, int64_t j, int64_t i, double w) {
  if (count[j] == t->width) {
    int64_t wide = t->width ? 2 * t->width : 4;
    int64_t *idx = calloc((size_t)(rows * wide), sizeof *idx);
    double *ws = calloc((size_t)(rows * wide), sizeof *ws);
    if (!idx || !ws) {
      free(idx);
      free(ws);
      return false;
    }
    for (int64_t r = 0; r < rows; r++)
      for (int64_t k = 0; k < count[r]; k++) {
        idx[r * wide + k] = t->idx[r * t->width + k];
        ws[r * wide + k] = t->w[r * t->width + k];
      }
    free(t->idx);
    free(t->w);
    t->idx = idx;
    t->w = ws;
    t->width = wide;
  }
  t->idx[j * t->width + count[j]] = i;
  t->w[j * t->width + count[j]++] = w;
  return true;
}

/* Narrows every row to the widest row's count: push_tap widens by doubling, and each padding tap of
 * weight 0 would cost the kernel a load and a multiply-add per output element (a linear axis measured
 * 2 wide is held 4 wide, so a 2-D linear Resize would run 16 taps where 4 contribute). */
static void trim_taps(axis_taps *t, const int64_t *count, int64_t rows) {
  int64_t used = 1;
  for (int64_t j = 0; j < rows; j++) used = count[j] > used ? count[j] : used;
  if (used >= t->width) return;
  for (int64_t r = 0; r < rows; r++) /* rows move down only, so the copy never overwrites a row unread */
    for (int64_t k = 0; k < used; k++) {
      t->idx[r * used + k] = t->idx[r * t->width + k];
      t->w[r * used + k] = t->w[r * t->width + k];
    }
  t->width = used;
}

/* The resized axes in the order scales / sizes / roi list them. */
static int resized_axes(const vitc_node *n, int rank, int *axes) {
  int len;
  const int64_t *attr = vitc_attr_ints(n, "axes", &len);
  if (!attr) {
    for (int d = 0; d < rank; d++) axes[d] = d;
    return rank;
  }
  for (int i = 0; i < len; i++) axes[i] = cg_axis(attr[i], rank);
  return len;
}

static const vitc_value *given(vitc_cg *cg, int k) {
  const vitc_value *v = cg_in_value(cg, k);
  return v && vitc_numel(v) > 0 ? v : NULL;
}

/* The node with axes narrowed to `axes` (1 or 2 of them), its scales / sizes / roi cut to match and
 * extrapolation_value NaN, evaluated on x (doubles). */
typedef struct axis_probe {
  vitc_node node;
  vitc_attr attrs[64];
  int64_t axes[2];
  int naxes;
  int ids[4];
  vitc_value x, roi, scales, sizes;
  double roi_data[4], scale_data[2];
  int64_t size_data[2];
  const vitc_value *in[4];
} axis_probe;

static vitc_status make_probe(vitc_cg *cg, const vitc_node *n, const int *axes, int naxes, int *pos, axis_probe *p,
                              vitc_error *err) {
  const vitc_value *x = cg_in_value(cg, 0), *roi = given(cg, 1), *scales = given(cg, 2), *sizes = given(cg, 3);
  int nat = 0;
  for (int a = 0; a < n->nattr; a++) {
    if (!strcmp(n->attrs[a].name, "axes") || !strcmp(n->attrs[a].name, "extrapolation_value")) continue;
    if (nat == 62) return vitc_fail(err, VITC_ERR_UNSUPPORTED, "Resize has too many attributes");
    p->attrs[nat++] = n->attrs[a];
  }
  p->attrs[nat++] = (vitc_attr){.name = "axes", .type = VITC_ATTR_INTS, .n = naxes, .ints = p->axes};
  p->attrs[nat++] = (vitc_attr){.name = "extrapolation_value", .type = VITC_ATTR_FLOAT, .f = NAN};
  p->node = *n;
  p->node.attrs = p->attrs;
  p->node.nattr = nat;
  p->node.nin = 4;
  p->node.in = p->ids;
  p->naxes = naxes;
  p->x = (vitc_value){.dtype = VITC_F64, .rank = x->rank};
  for (int d = 0; d < x->rank; d++) p->x.dims[d] = 1;
  int all[VITC_MAX_RANK], nresized = resized_axes(n, x->rank, all);
  if (strcmp(vitc_attr_str(n, "coordinate_transformation_mode", ""), "tf_crop_and_resize")) roi = NULL;
  for (int k = 0; k < naxes; k++) {
    p->axes[k] = axes[k];
    p->x.dims[axes[k]] = x->dims[axes[k]];
    if (scales) p->scale_data[k] = vitc_load_f(scales, pos[k]);
    if (sizes) p->size_data[k] = vitc_load_i(sizes, pos[k]);
    if (roi) {
      p->roi_data[k] = vitc_load_f(roi, pos[k]);
      p->roi_data[naxes + k] = vitc_load_f(roi, nresized + pos[k]);
    }
  }
  p->roi = (vitc_value){.dtype = VITC_F64, .rank = 1, .dims = {2 * naxes}, .data = p->roi_data};
  p->scales = (vitc_value){.dtype = VITC_F64, .rank = 1, .dims = {naxes}, .data = p->scale_data};
  p->sizes = (vitc_value){.dtype = VITC_I64, .rank = 1, .dims = {naxes}, .data = p->size_data};
  p->in[0] = &p->x;
  p->in[1] = roi ? &p->roi : NULL;
  p->in[2] = scales ? &p->scales : NULL;
  p->in[3] = sizes ? &p->sizes : NULL;
  return VITC_OK;
}

/* keep_aspect_ratio_policy's common scale comes from one axis: the one with the smallest (not_larger)
 * or largest (not_smaller) size ratio. -1 when the scales are per axis. */
static int extreme_axis(vitc_cg *cg, const vitc_node *n, const int *axes, int naxes, int *pos) {
  const char *policy = vitc_attr_str(n, "keep_aspect_ratio_policy", "stretch");
  const vitc_value *x = cg_in_value(cg, 0), *sizes = given(cg, 3);
  bool larger = !strcmp(policy, "not_smaller");
  if (!sizes || !strcmp(policy, "stretch")) return -1;
  int best = -1;
  double best_ratio = 0;
  for (int k = 0; k < naxes; k++) {
    double r = (double)vitc_load_i(sizes, k) / (double)x->dims[axes[k]];
    if (best < 0 || (larger ? r > best_ratio : r < best_ratio)) {
      best = axes[k];
      best_ratio = r;
      *pos = k;
    }
  }
  return best;
}

static void strides_of(const vitc_value *v, int64_t *s) {
  for (int d = v->rank - 1; d >= 0; d--) s[d] = d == v->rank - 1 ? 1 : s[d + 1] * v->dims[d + 1];
}

/* Measures the taps of axis d (listed at position pos of the resized axes). */
static vitc_status measure_axis(vitc_cg *cg, const vitc_node *n, int d, int pos, axis_taps *t, vitc_error *err) {
  const vitc_value *x = cg_in_value(cg, 0);
  int all[VITC_MAX_RANK], nresized = resized_axes(n, x->rank, all), probe_axes[2] = {d, -1}, probe_pos[2] = {pos, 0};
  int naxes = 1, a = extreme_axis(cg, n, all, nresized, &probe_pos[1]);
  if (a >= 0 && a != d) probe_axes[naxes++] = a;
  int64_t in_len = x->dims[d], out_len = cg_out_value(cg, 0)->dims[d], in_stride[VITC_MAX_RANK];
  int64_t xs[VITC_MAX_RANK], ys[VITC_MAX_RANK], col = 0;
  strides_of(x, in_stride);
  axis_probe *p = calloc(1, sizeof *p);
  int64_t *count = calloc((size_t)out_len + 1, sizeof *count);
  vitc_value y = {0};
  vitc_status st = p && count ? make_probe(cg, n, probe_axes, naxes, probe_pos, p, err) : vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  if (!st && !(p->x.data = calloc((size_t)vitc_numel(&p->x), sizeof(double)))) st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  /* The zero probe: NaN marks coordinates outside the box; col is a coordinate of the extreme axis
   * inside it, if there is one. */
  if (!st) st = vitc_eval_node(cg->g, &p->node, p->in, &y, err);
  if (!st && y.dims[d] != out_len) st = vitc_fail(err, VITC_ERR_INTERNAL, "Resize probe of axis %d has %lld outputs, not %lld", d, (long long)y.dims[d], (long long)out_len);
  if (!st) {
    strides_of(&p->x, xs);
    strides_of(&y, ys);
    const double *yd = y.data;
    int64_t cols = naxes == 2 ? y.dims[a] : 1, col_stride = naxes == 2 ? ys[a] : 0;
    for (int64_t c = cols - 1; c >= 0; c--)
      for (int64_t j = 0; j < out_len; j++)
        if (!isnan(yd[j * ys[d] + c * col_stride])) col = c * col_stride;
    for (int64_t j = 0; j < out_len && !st; j++) {
      if (!isnan(yd[j * ys[d] + col])) continue;
      if (!t->outside && !(t->outside = calloc((size_t)out_len, 1))) st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
      else t->outside[j] = 1;
    }
  }
  free(y.data);
  y.data = NULL;
  /* One probe per input index i: e_i along d, 1 along the extreme axis. */
  int64_t spread = naxes == 2 ? x->dims[a] : 1, spread_stride = naxes == 2 ? xs[a] : 0;
  for (int64_t i = 0; i < in_len && !st; i++) {
    double *xd = p->x.data;
    memset(xd, 0, sizeof(double) * (size_t)vitc_numel(&p->x));
    for (int64_t k = 0; k < spread; k++) xd[i * xs[d] + k * spread_stride] = 1;
    if ((st = vitc_eval_node(cg->g, &p->node, p->in, &y, err))) break;
    for (int64_t j = 0; j < out_len && !st; j++) {
      double w = ((const double *)y.data)[j * ys[d] + col];
      if ((t->outside && t->outside[j]) || w == 0) continue;
      if (!push_tap(t, count, out_len, j, i * in_stride[d], w)) st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
    }
    free(y.data);
    y.data = NULL;
  }
  if (!st) {
    t->identity = !t->outside && in_len == out_len;
    t->unit = !t->outside;
    for (int64_t j = 0; j < out_len; j++) {
      bool single = count[j] == 1 && t->w[j * t->width] == 1;
      t->unit &= single;
      t->identity &= single && t->idx[j * t->width] == j * in_stride[d];
    }
    if (!t->width && !push_tap(t, count, out_len, 0, 0, 0)) st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
    else trim_taps(t, count, out_len);
  }
  if (p) free(p->x.data);
  free(p);
  free(count);
  return st;
}

/* Appends the tables of axis t to the blob. */
static vitc_status store_taps(vitc_cg *cg, axis_taps *t, int64_t out_len, vitc_error *err) {
  size_t n = (size_t)(out_len * t->width);
  vitc_status st = cg_add_blob(cg, t->idx, n * sizeof(int64_t), &t->idx_off, err);
  if (!st) st = cg_add_blob(cg, t->w, n * sizeof(double), &t->w_off, err);
  if (!st && t->outside) st = cg_add_blob(cg, t->outside, (size_t)out_len, &t->outside_off, err);
  return st;
}

static LLVMValueRef blob_elem(vitc_cg *cg, LLVMValueRef weights, int64_t offset, LLVMTypeRef et, LLVMValueRef i) {
  LLVMValueRef base = cg_gep(cg, cg->i8, weights, cg_i64(cg, offset));
  return vec_load1(cg, et, cg_gep(cg, et, base, i));
}

static vitc_status emit_kernel(vitc_cg *cg, const vitc_node *n, axis_taps *taps) {
  const vitc_value *x = cg_in_value(cg, 0), *out = cg_out_value(cg, 0);
  int r = x->rank, split = -1;
  int64_t in_stride[VITC_MAX_RANK], work = vitc_numel(out);
  bool unit = true, any_outside = false;
  for (int d = r - 1; d >= 0; d--) {
    in_stride[d] = d == r - 1 ? 1 : in_stride[d + 1] * x->dims[d + 1];
    if (!taps[d].identity) work *= taps[d].width;
    unit &= taps[d].identity || taps[d].unit;
    any_outside |= taps[d].outside != NULL;
  }
  for (int d = 0; d < r && split < 0; d++)
    if (out->dims[d] > 1) split = d;
  LLVMValueRef ptrs[3] = {cg_in(cg, 0), cg_out(cg, 0), cg->weights};
  cg_task task;
  bool parallel = split >= 0 && work >= PARALLEL_MIN_WORK;
  if (parallel) {
    task = cg_task_begin(cg, ptrs, 3);
    memcpy(ptrs, task.vals, sizeof ptrs);
  }
  cg_loop loops[2 * VITC_MAX_RANK];
  LLVMValueRef o = cg_i64(cg, 0), base = cg_i64(cg, 0), outside = LLVMConstInt(cg->i1, 0, false), row[VITC_MAX_RANK];
  for (int d = 0; d < r; d++) {
    bool s = parallel && d == split;
    loops[d] = cg_loop_begin(cg, s ? task.begin : cg_i64(cg, 0), s ? task.end : cg_i64(cg, out->dims[d]), 1);
    LLVMValueRef j = loops[d].iv;
    o = ix_add(cg, ix_mulk(cg, o, out->dims[d]), j);
    if (taps[d].identity) base = ix_add(cg, base, ix_mulk(cg, j, in_stride[d]));
    else row[d] = ix_mulk(cg, j, taps[d].width);
    if (taps[d].outside) {
      LLVMValueRef flag = blob_elem(cg, ptrs[2], taps[d].outside_off, cg->i8, j);
      outside = vec_or(cg, outside, vec_icmp(cg, LLVMIntNE, flag, LLVMConstInt(cg->i8, 0, false)));
    }
  }
  vitc_dtype dt = out->dtype;
  if (unit) { /* nearest: one tap per resized axis (never outside a box), copied bit for bit */
    LLVMTypeRef et = cg_storage_type(cg, dt);
    LLVMValueRef src = base;
    for (int d = 0; d < r; d++)
      if (!taps[d].identity) src = ix_add(cg, src, blob_elem(cg, ptrs[2], taps[d].idx_off, cg->i64, row[d]));
    LLVMValueRef v = vec_load1(cg, et, cg_gep(cg, et, ptrs[0], src));
    vec_store1(cg, v, cg_gep(cg, et, ptrs[1], o));
  } else {
    LLVMValueRef acc = cg_var(cg, cg->f64, LLVMConstReal(cg->f64, 0));
    LLVMValueRef src = base, weight = LLVMConstReal(cg->f64, 1);
    int nt = r;
    for (int d = 0; d < r; d++) {
      if (taps[d].identity) continue;
      loops[nt] = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, taps[d].width), 1);
      LLVMValueRef k = ix_add(cg, row[d], loops[nt++].iv);
      src = ix_add(cg, src, blob_elem(cg, ptrs[2], taps[d].idx_off, cg->i64, k));
      weight = vec_mul(cg, weight, blob_elem(cg, ptrs[2], taps[d].w_off, cg->f64, k));
    }
    LLVMValueRef v = cg_convert(cg, cg_load(cg, ptrs[0], src, x->dtype), x->dtype, VITC_F64);
    LLVMValueRef sum = vec_add(cg, vec_load1(cg, cg->f64, acc), vec_mul(cg, weight, v));
    vec_store1(cg, sum, acc);
    for (int l = nt - 1; l >= r; l--) cg_loop_end(cg, &loops[l]);
    LLVMValueRef y = vec_load1(cg, cg->f64, acc);
    if (any_outside) y = vec_select(cg, outside, LLVMConstReal(cg->f64, vitc_attr_float(n, "extrapolation_value", 0)), y);
    cg_store(cg, ptrs[1], o, dt, cg_convert(cg, y, VITC_F64, dt));
  }
  for (int d = r - 1; d >= 0; d--) cg_loop_end(cg, &loops[d]);
  if (parallel) cg_task_end(cg, &task, out->dims[split]);
  return VITC_OK;
}

vitc_status emit_Resize(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  const vitc_value *x = cg_in_value(cg, 0), *out = cg_out_value(cg, 0);
  for (int k = 1; k < n->nin; k++)
    if (cg_in_value(cg, k) && !cg_in_value(cg, k)->data)
      return vitc_fail(err, VITC_ERR_DATA_DEPENDENT, "Resize's input %d must be known at compile time for code generation", k);
  if (!vitc_numel(out)) return VITC_OK;
  axis_taps taps[VITC_MAX_RANK] = {0};
  int axes[VITC_MAX_RANK], naxes = resized_axes(n, x->rank, axes);
  vitc_status st = VITC_OK;
  for (int d = 0; d < x->rank; d++) taps[d].identity = true;
  for (int k = 0; k < naxes && !st; k++) {
    int d = axes[k];
    taps[d].identity = false;
    st = measure_axis(cg, n, d, k, &taps[d], err);
    if (!st && !taps[d].identity) st = store_taps(cg, &taps[d], out->dims[d], err);
  }
  if (!st) st = emit_kernel(cg, n, taps);
  for (int d = 0; d < x->rank; d++) free_taps(&taps[d]);
  return st;
}

/* vitc.ResizeTokens (ir/ops/resize.c): a task per output image row (b, oy), which first copies the
 * leading rows when oy = 0; each output pixel is its four source pixels' rows blended along C in vectors:
 *
 *   y[L + oy·OW + ox, c..] = (1-wy)·((1-wx)·x[y0, x0] + wx·x[y0, x1]) + wy·((1-wx)·x[y1, x0] + wx·x[y1, x1])
 *
 * The taps of each axis (vitc_bilinear_taps) are computed here and kept in the weights blob: per output
 * position its two source positions (int64) and the second one's weight (float). */
typedef struct token_taps {
  int64_t idx_off, w_off;
} token_taps;

static vitc_status store_token_taps(vitc_cg *cg, int64_t in_len, int64_t out_len, token_taps *t, vitc_error *err) {
  int64_t *idx = malloc(sizeof(int64_t) * (size_t)(2 * out_len));
  float *w = malloc(sizeof(float) * (size_t)out_len);
  vitc_status st = idx && w ? VITC_OK : vitc_fail(err, VITC_ERR_NOMEM, "out of memory for %lld resize taps", (long long)out_len);
  for (int64_t o = 0; st == VITC_OK && o < out_len; o++) {
    double w1;
    vitc_bilinear_taps(o, in_len, out_len, &idx[2 * o], &idx[2 * o + 1], &w1);
    w[o] = (float)w1;
  }
  if (st == VITC_OK) st = cg_add_blob(cg, idx, sizeof(int64_t) * (size_t)(2 * out_len), &t->idx_off, err);
  if (st == VITC_OK) st = cg_add_blob(cg, w, sizeof(float) * (size_t)out_len, &t->w_off, err);
  free(idx);
  free(w);
  return st;
}

/* One output pixel's state for the blend along C. */
typedef struct blend {
  LLVMValueRef x, y;      /* input image and output pixel row, as float pointers */
  LLVMValueRef src[4];    /* offsets of the four source pixels: (y0, x0), (y0, x1), (y1, x0), (y1, x1) */
  LLVMValueRef wy, wx;    /* the second taps' weights, splat */
} blend;

static void blend_step(vitc_cg *cg, LLVMValueRef c, int lanes, void *state) {
  blend *b = state;
  LLVMTypeRef vt = vec_f32(cg);
  LLVMValueRef v[4];
  for (int k = 0; k < 4; k++) v[k] = vec_load(cg, vt, cg_gep(cg, cg->f32, b->x, ix_add(cg, b->src[k], c)), lanes);
  LLVMValueRef top = vec_fma(cg, b->wx, vec_sub(cg, v[1], v[0]), v[0]);
  LLVMValueRef bottom = vec_fma(cg, b->wx, vec_sub(cg, v[3], v[2]), v[2]);
  vec_store(cg, vec_fma(cg, b->wy, vec_sub(cg, bottom, top), top), cg_gep(cg, cg->f32, b->y, c), lanes);
}

vitc_status emit_ResizeTokens(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  const vitc_value *x = cg_in_value(cg, 0), *y = cg_out_value(cg, 0);
  int len;
  const int64_t *image = vitc_attr_ints(n, "image", &len), *size = vitc_attr_ints(n, "size", &len);
  int64_t ih = image[0], iw = image[1], oh = size[0], ow = size[1], c = x->dims[2], lead = x->dims[1] - ih * iw;
  if (vitc_numel(y) == 0) return VITC_OK;
  token_taps ty, tx;
  vitc_status st = store_token_taps(cg, ih, oh, &ty, err);
  if (st == VITC_OK) st = store_token_taps(cg, iw, ow, &tx, err);
  if (st != VITC_OK) return st;
  LLVMValueRef ptrs[3] = {cg_in(cg, 0), cg_out(cg, 0), cg->weights};
  row_loop rl;
  LLVMValueRef r = rows_begin(cg, &rl, x->dims[0] * oh, vitc_numel(y) * 4, ptrs, 3);
  LLVMValueRef b = ix_divk(cg, r, oh), oy = ix_remk(cg, r, oh);
  LLVMValueRef xtokens = cg_gep(cg, cg->f32, ptrs[0], ix_mulk(cg, b, (lead + ih * iw) * c));
  LLVMValueRef ytokens = cg_gep(cg, cg->f32, ptrs[1], ix_mulk(cg, b, (lead + oh * ow) * c));
  if (lead) {
    cg_if first = cg_if_begin(cg, vec_icmp(cg, LLVMIntEQ, oy, cg_i64(cg, 0)));
    cg_memcpy(cg, ytokens, xtokens, cg_i64(cg, lead * c * (int64_t)sizeof(float)));
    cg_if_end(cg, &first);
  }
  blend s = {.x = cg_gep(cg, cg->f32, xtokens, cg_i64(cg, lead * c))};
  LLVMValueRef row[2];
  for (int k = 0; k < 2; k++)
    row[k] = ix_mulk(cg, blob_elem(cg, ptrs[2], ty.idx_off, cg->i64, ix_addk(cg, ix_mulk(cg, oy, 2), k)), iw * c);
  s.wy = vec_splat(cg, blob_elem(cg, ptrs[2], ty.w_off, cg->f32, oy), vec_f32(cg));
  LLVMValueRef yrow = cg_gep(cg, cg->f32, ytokens, ix_addk(cg, ix_mulk(cg, oy, ow * c), lead * c));
  cg_loop ox = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, ow), 1);
  for (int k = 0; k < 2; k++) {
    LLVMValueRef col = ix_mulk(cg, blob_elem(cg, ptrs[2], tx.idx_off, cg->i64, ix_addk(cg, ix_mulk(cg, ox.iv, 2), k)), c);
    s.src[k] = ix_add(cg, row[0], col);
    s.src[2 + k] = ix_add(cg, row[1], col);
  }
  s.wx = vec_splat(cg, blob_elem(cg, ptrs[2], tx.w_off, cg->f32, ox.iv), vec_f32(cg));
  s.y = cg_gep(cg, cg->f32, yrow, ix_mulk(cg, ox.iv, c));
  vec_for(cg, cg_i64(cg, 0), c, vec_width(cg), blend_step, &s);
  cg_loop_end(cg, &ox);
  rows_end(cg, &rl);
  return VITC_OK;
}

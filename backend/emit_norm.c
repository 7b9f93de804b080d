/* emit_norm.c — kernels for LayerNormalization, BatchNormalization (inference), InstanceNormalization,
 * GroupNormalization, LpNormalization, MeanVarianceNormalization, vitc.LayerNormChannels, vitc.RMSNorm and
 * vitc.LayerNormResidual, with the evaluator's semantics (ir/ops/norm.c, ir/ops/fused_norm.c): statistics
 * in double, two-pass (mean, then squared deviations).
 *
 *   for each row (LayerNorm: x[:axis]; Instance/GroupNorm: one channel group of one sample;
 *                 LayerNormChannels: the channels at one position of one sample, strided):
 *     mean = Σx / len;  inv = 1 / sqrt(Σ(x - mean)² / len + eps)
 *     y = (x - mean) · inv · scale + bias        (float32 in float, other dtypes in double)
 *   (RMSNorm: no mean, inv = 1 / sqrt(Σx² / len + eps), y = x · inv · scale)
 *
 * Rows run across the runtime pool when the tensor is large; float32 rows fold in vectors (emit_rows.h). */
#include <math.h>

#include "emit_rows.h"
#include "emitters.h"


static LLVMValueRef f64(vitc_cg *cg, double v) { return cg_const(cg, cg->f64, v); }

#define NORM_GROUP 4 /* float32 LayerNorm rows whose statistics are emitted together (rows_stats) */
#define NORM_GROUP_FLOATS 384 /* and their floats at most: LLVM keeps each row's values in registers from its
                                 first fold to its second, and more spill (4 rows of 192: 10% slower than 1) */

/* Mean and 1/sqrt(var + eps) of the n rows at base[0 .. n), as doubles; an empty row has mean 0 and
 * variance 0. Each step is emitted for every row before the next step: a row's steps (fold, mean, fold of
 * squared deviations, sqrt, divide) each wait on the one before, and rows of a few vectors (Swin's and
 * ConvNeXt's 96 channels) are bound by that chain, which the core then runs for n rows at once. The means
 * and variances are times 1/len rather than divided by len: two divisions (13 cycles each) off the chain,
 * the double's rounding different in its last bit at most, far below the float result's. */
static void rows_stats(vitc_cg *cg, const row_shape *s, LLVMValueRef x, vitc_dtype t, const LLVMValueRef *base, int n,
                       double eps, LLVMValueRef *mean, LLVMValueRef *inv_std) {
  LLVMValueRef var[NORM_GROUP], inv_n = f64(cg, s->len ? 1.0 / (double)s->len : 0);
  for (int g = 0; g < n; g++) mean[g] = s->len ? fold_row(cg, s, x, t, base[g], MAP_ID, NULL, VEC_SUM) : f64(cg, 0);
  for (int g = 0; g < n; g++) mean[g] = vec_mul(cg, mean[g], inv_n);
  for (int g = 0; g < n; g++) var[g] = s->len ? fold_row(cg, s, x, t, base[g], MAP_SQDEV, mean[g], VEC_SUM) : f64(cg, 0);
  for (int g = 0; g < n; g++) inv_std[g] = vec_div(cg, f64(cg, 1), vec_sqrt(cg, vec_add(cg, vec_mul(cg, var[g], inv_n), f64(cg, eps))));
}

static void row_stats(vitc_cg *cg, const row_shape *s, LLVMValueRef x, vitc_dtype t, LLVMValueRef base, double eps,
                      LLVMValueRef *mean, LLVMValueRef *inv_std) {
  rows_stats(cg, s, x, t, &base, 1, eps, mean, inv_std);
}

/* Arithmetic of the output pass: float when x and y are float32 (what the vectoriser likes best),
 * otherwise double. */
typedef struct affine_ctx {
  bool f32;
  LLVMTypeRef t;
  vitc_dtype xt, yt;
} affine_ctx;

static affine_ctx affine_for(vitc_cg *cg, vitc_dtype xt, vitc_dtype yt) {
  bool f32 = xt == VITC_F32 && yt == VITC_F32;
  return (affine_ctx){f32, f32 ? cg->f32 : cg->f64, xt, yt};
}

/* A double (known per row) or an element of p (dtype pt) in the pass's type. */
static LLVMValueRef in_type(vitc_cg *cg, const affine_ctx *a, LLVMValueRef d) {
  return a->f32 ? vec_fcast(cg, d, cg->f32) : d;
}
static LLVMValueRef load_as(vitc_cg *cg, const affine_ctx *a, LLVMValueRef p, LLVMValueRef e, vitc_dtype pt) {
  return cg_convert(cg, cg_load(cg, p, e, pt), pt, a->f32 ? VITC_F32 : VITC_F64);
}
static void store_from(vitc_cg *cg, const affine_ctx *a, LLVMValueRef y, LLVMValueRef e, LLVMValueRef v) {
  cg_store(cg, y, e, a->yt, cg_convert(cg, v, a->f32 ? VITC_F32 : VITC_F64, a->yt));
}

/* (x - mean) · gain + bias, everything in the pass's type. */
static LLVMValueRef affine(vitc_cg *cg, LLVMValueRef x, LLVMValueRef mean, LLVMValueRef gain, LLVMValueRef bias) {
  LLVMValueRef y = vec_mul(cg, vec_sub(cg, x, mean), gain);
  return bias ? vec_add(cg, y, bias) : y;
}

/* The start of a mean/variance normalisation's row pass: rows of s across the pool (ptrs[0] is x),
 * each row's statistics as doubles (for the stash outputs) and in the output pass's type. */
typedef struct norm_row {
  row_loop loop;
  LLVMValueRef r, base;       /* the row, the offset of its first element */
  LLVMValueRef mean, inv_std; /* doubles */
  affine_ctx a;
  LLVMValueRef m, inv; /* mean and inv_std in a's type */
} norm_row;

static void norm_rows_begin(vitc_cg *cg, norm_row *nr, const row_shape *s, const vitc_value *x, vitc_dtype yt,
                            double eps, LLVMValueRef *ptrs, int nptrs) {
  nr->r = rows_begin(cg, &nr->loop, s->rows, vitc_numel(x), ptrs, nptrs);
  nr->base = row_base(cg, s, nr->r);
  row_stats(cg, s, ptrs[0], x->dtype, nr->base, eps, &nr->mean, &nr->inv_std);
  nr->a = affine_for(cg, x->dtype, yt);
  nr->m = in_type(cg, &nr->a, nr->mean);
  nr->inv = in_type(cg, &nr->a, nr->inv_std);
}

/* ---------------------------------------------------------------- LayerNormalization */

/* p (broadcast onto the normalised dims x[axis:], right-aligned) holds one element per position, in
 * order: position j is p[j]. */
static bool param_covers(const vitc_value *p, const vitc_value *x, int axis) {
  int64_t below = 1, pstride = 1;
  for (int xd = x->rank - 1, pd = p->rank - 1; xd >= axis; xd--, pd--) {
    bool bcast = pd < 0 || p->dims[pd] == 1;
    if (x->dims[xd] != 1 && (bcast || pstride != below)) return false;
    if (!bcast) pstride *= p->dims[pd];
    below *= x->dims[xd];
  }
  return true;
}

/* Offset in p of position j of the normalised dims x[axis:]. */
static LLVMValueRef param_offset(vitc_cg *cg, const vitc_value *p, const vitc_value *x, int axis, LLVMValueRef j) {
  if (param_covers(p, x, axis)) return j;
  LLVMValueRef at = cg_i64(cg, 0);
  int64_t below = 1, pstride = 1;
  for (int xd = x->rank - 1, pd = p->rank - 1; xd >= axis; xd--, pd--) {
    if (pd >= 0 && p->dims[pd] != 1) {
      at = ix_add(cg, at, ix_mulk(cg, ix_remk(cg, ix_divk(cg, j, below), x->dims[xd]), pstride));
      pstride *= p->dims[pd];
    }
    below *= x->dims[xd];
  }
  return at;
}

/* The float32 row pass in vectors: every operand float32, scale and bias one element per position. */
typedef struct ln_vec {
  LLVMValueRef x, scale, bias, y, r; /* scale, bias, r NULL when absent */
  LLVMValueRef base, mean, inv;      /* float scalars mean, inv */
  LLVMValueRef r_base;               /* the row's offset in r */
} ln_vec;

static void layer_norm_vector(vitc_cg *cg, LLVMValueRef j, int lanes, void *state) {
  ln_vec *p = state;
  LLVMTypeRef vt = vec_f32(cg);
  LLVMValueRef at = ix_add(cg, p->base, j), inv = vec_splat(cg, p->inv, vt);
  LLVMValueRef gain = p->scale ? vec_mul(cg, inv, vec_load(cg, vt, gep_f32(cg, p->scale, j), lanes)) : inv;
  LLVMValueRef v = vec_mul(cg, vec_sub(cg, vec_load(cg, vt, gep_f32(cg, p->x, at), lanes), vec_splat(cg, p->mean, vt)), gain);
  if (p->bias) v = vec_add(cg, v, vec_load(cg, vt, gep_f32(cg, p->bias, j), lanes));
  if (p->r) v = vec_add(cg, v, vec_load(cg, vt, gep_f32(cg, p->r, ix_add(cg, p->r_base, j)), lanes));
  vec_store(cg, v, gep_f32(cg, p->y, at), lanes);
}

void emit_layer_norm_f32_rows(vitc_cg *cg, LLVMValueRef x, LLVMValueRef y, LLVMValueRef base, int n, int64_t len,
                              double eps, LLVMValueRef scale, LLVMValueRef bias) {
  row_shape s;
  row_shape_range(&s, &(vitc_value){.dtype = VITC_F32, .rank = 1, .dims = {len}}, 0, 0);
  LLVMValueRef bases[NORM_GROUP], mean[NORM_GROUP], inv_std[NORM_GROUP];
  for (int g = 0; g < n; g++) bases[g] = ix_addk(cg, base, g * len);
  rows_stats(cg, &s, x, VITC_F32, bases, n, eps, mean, inv_std);
  for (int g = 0; g < n; g++) {
    ln_vec p = {x, scale, bias, y, NULL, bases[g], vec_fcast(cg, mean[g], cg->f32), vec_fcast(cg, inv_std[g], cg->f32)};
    vec_for(cg, cg_i64(cg, 0), len, vec_width(cg), layer_norm_vector, &p);
  }
}

/* The most rows up to NORM_GROUP, and up to NORM_GROUP_FLOATS floats together, that divide `rows`: whole
 * groups, no tail. */
int emit_layer_norm_group(int64_t rows, int64_t len) {
  int g = len > 0 && len * NORM_GROUP > NORM_GROUP_FLOATS ? (int)(NORM_GROUP_FLOATS / len) : NORM_GROUP;
  if (g < 1) g = 1;
  while (g > 1 && rows % g) g--;
  return g;
}

static bool f32_param(const vitc_value *p, const vitc_value *x, int axis) {
  return !p || (p->dtype == VITC_F32 && param_covers(p, x, axis));
}

/* Mean and InvStdDev (outputs 1 and 2, optional) hold one value per row in stash_type; `residual`, the
 * index of an input of x's shape (or of whole rows repeated down x), is added to each normalised element
 * (-1: none). */
static vitc_status layer_norm(vitc_cg *cg, const vitc_node *n, int residual) {
  const vitc_value *x = cg_in_value(cg, 0), *scale = cg_in_value(cg, 1), *bias = cg_in_value(cg, 2);
  const vitc_value *y = cg_out_value(cg, 0);
  int axis = cg_axis(vitc_attr_int(n, "axis", -1), x->rank);
  double eps = vitc_attr_float(n, "epsilon", 1e-5);
  row_shape s;
  row_shape_range(&s, x, axis, x->rank - 1);
  if (s.rows == 0) return VITC_OK;
  LLVMValueRef ptrs[7] = {cg_in(cg, 0), cg_in(cg, 1), cg_in(cg, 2), cg_out(cg, 0),
                          n->nout > 1 ? cg_out(cg, 1) : NULL, n->nout > 2 ? cg_out(cg, 2) : NULL,
                          residual >= 0 ? cg_in(cg, residual) : NULL};
  int group = emit_layer_norm_group(s.rows, s.len);
  if (group > 1 && residual < 0 && !ptrs[4] && !ptrs[5] && row_contiguous(&s) && x->dtype == VITC_F32 &&
      y->dtype == VITC_F32 && f32_param(scale, x, axis) && f32_param(bias, x, axis)) {
    row_loop loop; /* consecutive rows of len floats, a group of them at a time (rows_stats) */
    LLVMValueRef g = rows_begin(cg, &loop, s.rows / group, vitc_numel(x), ptrs, 7);
    emit_layer_norm_f32_rows(cg, ptrs[0], ptrs[3], ix_mulk(cg, g, group * s.len), group, s.len, eps,
                             scale ? ptrs[1] : NULL, bias ? ptrs[2] : NULL);
    rows_end(cg, &loop);
    return VITC_OK;
  }
  norm_row nr;
  norm_rows_begin(cg, &nr, &s, x, y->dtype, eps, ptrs, 7);
  if (ptrs[4]) store_f64(cg, ptrs[4], nr.r, cg_out_value(cg, 1)->dtype, nr.mean);
  if (ptrs[5]) store_f64(cg, ptrs[5], nr.r, cg_out_value(cg, 2)->dtype, nr.inv_std);
  const affine_ctx *a = &nr.a;
  int64_t period = residual >= 0 ? vitc_numel(cg_in_value(cg, residual)) : 0;
  LLVMValueRef r_base = period && period < vitc_numel(x) ? ix_remk(cg, nr.base, period) : nr.base;
  if (a->f32 && f32_param(scale, x, axis) && f32_param(bias, x, axis)) {
    ln_vec p = {ptrs[0], scale ? ptrs[1] : NULL, bias ? ptrs[2] : NULL, ptrs[3], ptrs[6], nr.base, nr.m, nr.inv,
                r_base};
    vec_for(cg, cg_i64(cg, 0), s.len, vec_width(cg), layer_norm_vector, &p);
    rows_end(cg, &nr.loop);
    return VITC_OK;
  }
  cg_loop l = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, s.len), 1);
  LLVMValueRef at = ix_add(cg, nr.base, l.iv), gain = nr.inv, b = NULL;
  if (scale) gain = vec_mul(cg, nr.inv, load_as(cg, a, ptrs[1], param_offset(cg, scale, x, axis, l.iv), scale->dtype));
  if (bias) b = load_as(cg, a, ptrs[2], param_offset(cg, bias, x, axis, l.iv), bias->dtype);
  LLVMValueRef v = affine(cg, load_as(cg, a, ptrs[0], at, x->dtype), nr.m, gain, b);
  if (ptrs[6]) { /* rounded to y's dtype first, as LayerNormalization's output would be */
    vitc_dtype pass = a->f32 ? VITC_F32 : VITC_F64;
    v = cg_convert(cg, cg_convert(cg, v, pass, y->dtype), y->dtype, pass);
    v = vec_add(cg, v, load_as(cg, a, ptrs[6], ix_add(cg, r_base, l.iv), x->dtype));
  }
  store_from(cg, a, ptrs[3], at, v);
  cg_loop_end(cg, &l);
  rows_end(cg, &nr.loop);
  return VITC_OK;
}

vitc_status emit_LayerNormalization(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  return layer_norm(cg, n, -1);
}

/* vitc.LayerNormResidual: LayerNormalization's row pass, R (input 3) added before the store. */
vitc_status emit_LayerNormResidual(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  return layer_norm(cg, n, 3);
}

/* ---------------------------------------------------------------- vitc.LayerNormChannels */

/* float32 x [N, C, S]: L positions at a time (L rows side by side, one a lane), each pass a loop over
 * the channels reading L contiguous floats; the statistics in double vectors, two-pass, as the row pass
 * keeps them. One strided row at a time ran at 2-3 GFLOP/s (FocalNet's NCHW norms: 8% of its time).
 * A task step is one block of L positions of one sample, the last of a sample masked to what remains. */
static void emit_channels_norm_f32(vitc_cg *cg, const vitc_value *x, double eps) {
  int64_t c = x->dims[1], plane = vitc_numel(x) / (x->dims[0] * c);
  int lanes = vec_width(cg);
  int64_t blocks = (plane + lanes - 1) / lanes;
  LLVMTypeRef vf = vec_of(cg, cg->f32, lanes), vd = vec_of(cg, cg->f64, lanes);
  LLVMValueRef captured[4] = {cg_in(cg, 0), cg_in(cg, 1), cg_in(cg, 2), cg_out(cg, 0)};
  cg_task t = cg_task_begin(cg, captured, 4);
  cg_mut sum = cg_mut_new(cg, vd, NULL), dev = cg_mut_new(cg, vd, NULL); /* zeroed for each block */
  cg_loop blk = cg_loop_begin(cg, t.begin, t.end, 1);
  LLVMValueRef q0 = ix_mulk(cg, ix_remk(cg, blk.iv, blocks), lanes);
  LLVMValueRef at = ix_add(cg, ix_mulk(cg, ix_divk(cg, blk.iv, blocks), c * plane), q0); /* x[n, 0, q0] */
  LLVMValueRef mask = vec_mask_dyn(cg, lanes, ix_sub(cg, cg_i64(cg, plane), q0));
  LLVMValueRef inv_c = vec_const(cg, vd, 1.0 / (double)c);
  cg_set(cg, sum, vec_const(cg, vd, 0));
  cg_set(cg, dev, vec_const(cg, vd, 0));
  cg_loop k = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, c), 1);
  LLVMValueRef xp = gep_f32(cg, t.vals[0], ix_add(cg, at, ix_mulk(cg, k.iv, plane)));
  cg_set(cg, sum, vec_add(cg, cg_get(cg, sum), vec_fcast(cg, vec_load_masked(cg, vf, xp, mask), vd)));
  cg_loop_end(cg, &k);
  LLVMValueRef mean = vec_mul(cg, cg_get(cg, sum), inv_c);
  k = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, c), 1);
  xp = gep_f32(cg, t.vals[0], ix_add(cg, at, ix_mulk(cg, k.iv, plane)));
  LLVMValueRef d = vec_sub(cg, vec_fcast(cg, vec_load_masked(cg, vf, xp, mask), vd), mean);
  cg_set(cg, dev, vec_fma(cg, d, d, cg_get(cg, dev)));
  cg_loop_end(cg, &k);
  LLVMValueRef var = vec_add(cg, vec_mul(cg, cg_get(cg, dev), inv_c), vec_const(cg, vd, eps));
  LLVMValueRef inv = vec_fcast(cg, vec_div(cg, vec_const(cg, vd, 1), vec_sqrt(cg, var)), vf);
  LLVMValueRef m = vec_fcast(cg, mean, vf);
  k = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, c), 1);
  LLVMValueRef off = ix_add(cg, at, ix_mulk(cg, k.iv, plane));
  LLVMValueRef gain = vec_mul(cg, inv, vec_splat(cg, cg_load(cg, t.vals[1], k.iv, VITC_F32), vf));
  LLVMValueRef b = vec_splat(cg, cg_load(cg, t.vals[2], k.iv, VITC_F32), vf);
  LLVMValueRef y = affine(cg, vec_load_masked(cg, vf, gep_f32(cg, t.vals[0], off), mask), m, gain, b);
  vec_store_masked(cg, y, gep_f32(cg, t.vals[3], off), mask);
  cg_loop_end(cg, &k);
  cg_loop_end(cg, &blk);
  cg_task_end(cg, &t, x->dims[0] * blocks);
}

/* x [N, C, spatial…]: a row is the C channels at one position, spatial elements apart; scale and bias
 * are read at the channel, the row's element index. */
vitc_status emit_LayerNormChannels(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  const vitc_value *x = cg_in_value(cg, 0);
  if (x->rank < 2) return vitc_fail(err, VITC_ERR_INVALID, "input has rank %d, expected [N, C, ...]", x->rank);
  for (int k = 1; k < 3; k++)
    if (vitc_numel(cg_in_value(cg, k)) != x->dims[1])
      return vitc_fail(err, VITC_ERR_INVALID, "input %d has %lld elements, expected %lld (one per channel)", k,
                       (long long)vitc_numel(cg_in_value(cg, k)), (long long)x->dims[1]);
  bool reduced[VITC_MAX_RANK] = {false, true};
  row_shape s;
  row_shape_init(&s, x, reduced);
  if (vitc_numel(x) == 0) return VITC_OK;
  if (x->dtype == VITC_F32 && cg_out_value(cg, 0)->dtype == VITC_F32 && cg_in_value(cg, 1)->dtype == VITC_F32 &&
      cg_in_value(cg, 2)->dtype == VITC_F32) {
    emit_channels_norm_f32(cg, x, vitc_attr_float(n, "epsilon", 1e-5));
    return VITC_OK;
  }
  LLVMValueRef ptrs[4] = {cg_in(cg, 0), cg_in(cg, 1), cg_in(cg, 2), cg_out(cg, 0)};
  norm_row nr;
  norm_rows_begin(cg, &nr, &s, x, cg_out_value(cg, 0)->dtype, vitc_attr_float(n, "epsilon", 1e-5), ptrs, 4);
  const affine_ctx *a = &nr.a;
  elem_loop e;
  elems_begin(cg, &e, &s, nr.base);
  LLVMValueRef gain = vec_mul(cg, nr.inv, load_as(cg, a, ptrs[1], e.j, cg_in_value(cg, 1)->dtype));
  LLVMValueRef b = load_as(cg, a, ptrs[2], e.j, cg_in_value(cg, 2)->dtype);
  store_from(cg, a, ptrs[3], e.offset, affine(cg, load_as(cg, a, ptrs[0], e.offset, x->dtype), nr.m, gain, b));
  elems_end(cg, &e);
  rows_end(cg, &nr.loop);
  return VITC_OK;
}

/* ---------------------------------------------------------------- vitc.RMSNorm */

/* Rows of the last axis: inv = 1 / sqrt(Σx² / len + eps), y = x · inv · scale[j] (scale[0] when it holds
 * one value). */
vitc_status emit_RMSNorm(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  const vitc_value *x = cg_in_value(cg, 0), *scale = cg_in_value(cg, 1);
  if (x->rank < 1) return vitc_fail(err, VITC_ERR_INVALID, "input is a scalar, expected [..., C]");
  int64_t per = scale ? vitc_numel(scale) : 0; /* scale elements: 1 (one for all) or the last dim */
  if (scale && per != 1 && per != x->dims[x->rank - 1])
    return vitc_fail(err, VITC_ERR_INVALID, "scale has %lld elements, expected 1 or %lld", (long long)per,
                     (long long)x->dims[x->rank - 1]);
  row_shape s;
  row_shape_range(&s, x, x->rank - 1, x->rank - 1);
  if (vitc_numel(x) == 0) return VITC_OK;
  LLVMValueRef ptrs[3] = {cg_in(cg, 0), scale ? cg_in(cg, 1) : NULL, cg_out(cg, 0)};
  row_loop rl;
  LLVMValueRef base = row_base(cg, &s, rows_begin(cg, &rl, s.rows, vitc_numel(x), ptrs, 3));
  LLVMValueRef ms = vec_div(cg, fold_row(cg, &s, ptrs[0], x->dtype, base, MAP_SQUARE, NULL, VEC_SUM), f64(cg, (double)s.len));
  LLVMValueRef rms = vec_sqrt(cg, vec_add(cg, ms, f64(cg, vitc_attr_float(n, "epsilon", 1e-5))));
  affine_ctx a = affine_for(cg, x->dtype, cg_out_value(cg, 0)->dtype);
  LLVMValueRef inv = in_type(cg, &a, vec_div(cg, f64(cg, 1), rms));
  cg_loop l = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, s.len), 1);
  LLVMValueRef at = ix_add(cg, base, l.iv), gain = inv;
  if (scale) gain = vec_mul(cg, inv, load_as(cg, &a, ptrs[1], per == 1 ? cg_i64(cg, 0) : l.iv, scale->dtype));
  store_from(cg, &a, ptrs[2], at, vec_mul(cg, load_as(cg, &a, ptrs[0], at, x->dtype), gain));
  cg_loop_end(cg, &l);
  rows_end(cg, &rl);
  return VITC_OK;
}

/* ---------------------------------------------------------------- InstanceNormalization, GroupNormalization */

/* x [N, C, spatial…] in rows of one group of C / groups channels; scale and bias are read per channel at
 * scale[c / param_div]. */
static vitc_status emit_group_norm(vitc_cg *cg, const vitc_node *n, int64_t groups, int64_t param_div,
                                   vitc_error *err) {
  const vitc_value *x = cg_in_value(cg, 0);
  if (x->rank < 2) return vitc_fail(err, VITC_ERR_INVALID, "input has rank %d, expected [N, C, ...]", x->rank);
  int64_t channels = x->dims[1], spatial = 1;
  for (int d = 2; d < x->rank; d++) spatial *= x->dims[d];
  int64_t per_group = channels / groups;
  const vitc_value rows_view = {.dtype = x->dtype, .rank = 2,
                                .dims = {x->dims[0] * groups, per_group * spatial}};
  row_shape s;
  row_shape_range(&s, &rows_view, 1, 1);
  if (vitc_numel(x) == 0) return VITC_OK;
  vitc_dtype scale_t = cg_in_value(cg, 1)->dtype, bias_t = cg_in_value(cg, 2)->dtype;
  LLVMValueRef ptrs[4] = {cg_in(cg, 0), cg_in(cg, 1), cg_in(cg, 2), cg_out(cg, 0)};
  norm_row nr;
  norm_rows_begin(cg, &nr, &s, x, cg_out_value(cg, 0)->dtype, vitc_attr_float(n, "epsilon", 1e-5), ptrs, 4);
  const affine_ctx *a = &nr.a;
  LLVMValueRef first = ix_mulk(cg, ix_remk(cg, nr.r, groups), per_group);
  cg_loop lc = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, per_group), 1);
  LLVMValueRef p = ix_divk(cg, ix_add(cg, first, lc.iv), param_div);
  LLVMValueRef gain = vec_mul(cg, nr.inv, load_as(cg, a, ptrs[1], p, scale_t));
  LLVMValueRef b = load_as(cg, a, ptrs[2], p, bias_t);
  LLVMValueRef row_at = ix_add(cg, nr.base, ix_mulk(cg, lc.iv, spatial));
  cg_loop ls = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, spatial), 1);
  LLVMValueRef at = ix_add(cg, row_at, ls.iv);
  store_from(cg, a, ptrs[3], at, affine(cg, load_as(cg, a, ptrs[0], at, x->dtype), nr.m, gain, b));
  cg_loop_end(cg, &ls);
  cg_loop_end(cg, &lc);
  rows_end(cg, &nr.loop);
  return VITC_OK;
}

vitc_status emit_InstanceNormalization(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  const vitc_value *x = cg_in_value(cg, 0);
  if (x->rank < 2) return vitc_fail(err, VITC_ERR_INVALID, "input has rank %d, expected [N, C, ...]", x->rank);
  return emit_group_norm(cg, n, x->dims[1] ? x->dims[1] : 1, 1, err);
}

/* scale and bias hold one value per group in opsets 18-20 and one per channel from opset 21. */
vitc_status emit_GroupNormalization(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  const vitc_value *x = cg_in_value(cg, 0);
  int64_t groups = vitc_attr_int(n, "num_groups", 0);
  if (x->rank < 2) return vitc_fail(err, VITC_ERR_INVALID, "input has rank %d, expected [N, C, ...]", x->rank);
  if (groups <= 0 || x->dims[1] % groups)
    return vitc_fail(err, VITC_ERR_INVALID, "num_groups %lld does not divide %lld channels", (long long)groups,
                     (long long)x->dims[1]);
  return emit_group_norm(cg, n, groups, n->opset >= 21 ? 1 : x->dims[1] / groups, err);
}

/* ---------------------------------------------------------------- BatchNormalization */

/* Inference form, per channel c: y = x · a + b with a = scale / sqrt(var + eps), b = B - mean · a. */
vitc_status emit_BatchNormalization(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  const vitc_value *x = cg_in_value(cg, 0);
  if (vitc_attr_int(n, "training_mode", 0))
    return vitc_fail(err, VITC_ERR_UNSUPPORTED, "training_mode=1 (batch statistics) is not supported");
  if (x->rank < 2) return vitc_fail(err, VITC_ERR_INVALID, "input has rank %d, expected [N, C, ...]", x->rank);
  int64_t channels = x->dims[1];
  for (int k = 1; k < 5; k++)
    if (vitc_numel(cg_in_value(cg, k)) != channels)
      return vitc_fail(err, VITC_ERR_INVALID, "input %d has %lld elements, expected %lld (one per channel)", k,
                       (long long)vitc_numel(cg_in_value(cg, k)), (long long)channels);
  int64_t spatial = 1;
  for (int d = 2; d < x->rank; d++) spatial *= x->dims[d];
  if (vitc_numel(x) == 0) return VITC_OK;
  double eps = vitc_attr_float(n, "epsilon", 1e-5);
  LLVMValueRef ptrs[6] = {cg_in(cg, 0), cg_in(cg, 1), cg_in(cg, 2), cg_in(cg, 3), cg_in(cg, 4), cg_out(cg, 0)};
  row_loop rl;
  LLVMValueRef r = rows_begin(cg, &rl, x->dims[0] * channels, vitc_numel(x), ptrs, 6);
  LLVMValueRef c = ix_remk(cg, r, channels), p[4];
  for (int k = 0; k < 4; k++) p[k] = load_f64(cg, ptrs[1 + k], c, cg_in_value(cg, 1 + k)->dtype);
  LLVMValueRef a = vec_div(cg, p[0], vec_sqrt(cg, vec_add(cg, p[3], f64(cg, eps))));
  LLVMValueRef b = vec_sub(cg, p[1], vec_mul(cg, p[2], a));
  LLVMValueRef base = ix_mulk(cg, r, spatial);
  cg_loop l = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, spatial), 1);
  LLVMValueRef at = ix_add(cg, base, l.iv);
  LLVMValueRef v = vec_add(cg, vec_mul(cg, load_f64(cg, ptrs[0], at, x->dtype), a), b);
  store_f64(cg, ptrs[5], at, cg_out_value(cg, 0)->dtype, v);
  cg_loop_end(cg, &l);
  rows_end(cg, &rl);
  return VITC_OK;
}

/* ---------------------------------------------------------------- LpNormalization */

/* y = x / ||x||_p along axis (p 1 or 2); a zero norm gives NaN, as the evaluator. */
vitc_status emit_LpNormalization(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  const vitc_value *x = cg_in_value(cg, 0);
  int64_t p = vitc_attr_int(n, "p", 2);
  if (p != 1 && p != 2) return vitc_fail(err, VITC_ERR_INVALID, "p is %lld, expected 1 or 2", (long long)p);
  int axis = cg_axis(vitc_attr_int(n, "axis", -1), x->rank);
  row_shape s;
  row_shape_range(&s, x, axis, axis);
  if (vitc_numel(x) == 0) return VITC_OK;
  LLVMValueRef ptrs[2] = {cg_in(cg, 0), cg_out(cg, 0)};
  row_loop rl;
  LLVMValueRef base = row_base(cg, &s, rows_begin(cg, &rl, s.rows, vitc_numel(x), ptrs, 2));
  LLVMValueRef norm = fold_row(cg, &s, ptrs[0], x->dtype, base, p == 1 ? MAP_ABS : MAP_SQUARE, NULL, VEC_SUM);
  if (p == 2) norm = vec_sqrt(cg, norm);
  elem_loop e;
  elems_begin(cg, &e, &s, base);
  store_f64(cg, ptrs[1], e.offset, x->dtype, vec_div(cg, load_f64(cg, ptrs[0], e.offset, x->dtype), norm));
  elems_end(cg, &e);
  rows_end(cg, &rl);
  return VITC_OK;
}

/* ---------------------------------------------------------------- MeanVarianceNormalization */

/* y = (x - mean) / (sqrt(var) + 1e-9) over `axes` (default [0, 2, 3]), as ONNX's function body. */
vitc_status emit_MeanVarianceNormalization(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  static const int64_t default_axes[] = {0, 2, 3};
  const vitc_value *x = cg_in_value(cg, 0);
  int naxes;
  const int64_t *axes = vitc_attr_ints(n, "axes", &naxes);
  if (!axes) axes = default_axes, naxes = 3;
  bool reduced[VITC_MAX_RANK] = {false};
  for (int i = 0; i < naxes; i++) {
    if (axes[i] < -x->rank || axes[i] >= x->rank)
      return vitc_fail(err, VITC_ERR_INVALID, "axis %lld is out of range for rank %d", (long long)axes[i], x->rank);
    reduced[cg_axis(axes[i], x->rank)] = true;
  }
  row_shape s;
  row_shape_init(&s, x, reduced);
  if (vitc_numel(x) == 0) return VITC_OK;
  LLVMValueRef ptrs[2] = {cg_in(cg, 0), cg_out(cg, 0)};
  row_loop rl;
  LLVMValueRef base = row_base(cg, &s, rows_begin(cg, &rl, s.rows, vitc_numel(x), ptrs, 2));
  LLVMValueRef count = f64(cg, (double)s.len);
  LLVMValueRef mean = vec_div(cg, fold_row(cg, &s, ptrs[0], x->dtype, base, MAP_ID, NULL, VEC_SUM), count);
  LLVMValueRef var = vec_div(cg, fold_row(cg, &s, ptrs[0], x->dtype, base, MAP_SQDEV, mean, VEC_SUM), count);
  LLVMValueRef denom = vec_add(cg, vec_sqrt(cg, var), f64(cg, 1e-9));
  elem_loop e;
  elems_begin(cg, &e, &s, base);
  LLVMValueRef d = vec_sub(cg, load_f64(cg, ptrs[0], e.offset, x->dtype), mean);
  store_f64(cg, ptrs[1], e.offset, x->dtype, vec_div(cg, d, denom));
  elems_end(cg, &e);
  rows_end(cg, &rl);
  return VITC_OK;
}

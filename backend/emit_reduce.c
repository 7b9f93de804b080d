/* emit_reduce.c — kernels for Reduce*, ArgMax/ArgMin, Softmax/LogSoftmax/Hardmax, TopK and CumSum, all row
 * folds (emit_rows.h) with the evaluator's semantics (ir/ops/reduce.c):
 *
 *   Reduce*:   out[r] = finish(fold over row r of map(x)), rows indexed by the kept axes
 *   ArgMax:    out[r] = first index of the row's extreme (NaN wins, select_last_index moves ties)
 *   Softmax:   per row (axis, or axis… before opset 13): max, exp(x - max), sum, scale
 *   TopK:      the k best of the row by insertion, ties in index order
 *   CumSum:    running sum along the row
 *
 * float32 rows over the innermost axis — attention scores, decomposed LayerNorm — fold in vectors; float32
 * Reduce* keeping the innermost axis (a mean over H and W of [N, H, W, C]) and a float32 Softmax over a
 * middle axis of few columns run the columns as vector lanes; the rest one
 * element at a time in double (but for the float32 softmax family's typed element passes). */
#include <math.h>

#include "emit_rows.h"
#include "emitters.h"

static vitc_status const_ints(const vitc_value *v, const char *what, int64_t *out, int cap, int *n,
                              vitc_error *err) {
  if (!v->data) return vitc_fail(err, VITC_ERR_DATA_DEPENDENT, "%s must be a compile-time constant", what);
  if (vitc_numel(v) > cap)
    return vitc_fail(err, VITC_ERR_INVALID, "%s has %lld entries, more than %d", what, (long long)vitc_numel(v), cap);
  *n = (int)vitc_numel(v);
  for (int i = 0; i < *n; i++) out[i] = vitc_load_i(v, i);
  return VITC_OK;
}

static int64_t work_of(vitc_cg *cg) { return vitc_numel(cg_in_value(cg, 0)); }

/* ================================================================ Reduce* */

typedef struct reduce_kind {
  fold_map map;
  vec_fold fold;
  enum { FINISH_NONE, FINISH_MEAN, FINISH_SQRT, FINISH_LOG, FINISH_LSE } finish;
} reduce_kind;

/* Finishes a fold (a double, or a vector of them). */
static LLVMValueRef finish(vitc_cg *cg, reduce_kind k, LLVMValueRef acc, int64_t len, LLVMValueRef shift) {
  switch (k.finish) {
  case FINISH_MEAN: return vec_div(cg, acc, vec_k(cg, acc, (double)len));
  case FINISH_SQRT: return vec_sqrt(cg, acc);
  case FINISH_LOG: return vm_log(cg, acc);
  case FINISH_LSE: return vec_add(cg, vm_log(cg, acc), shift);
  default: return acc;
  }
}

/* float32 with the innermost dim kept (rows_side_by_side): a task per vec_width consecutive rows of one
 * run of it, the last block of a run under a lane mask, each output vector stored at once. */
static void reduce_columns(vitc_cg *cg, reduce_kind k, const row_shape *s, LLVMValueRef *ptrs) {
  int w = vec_width(cg);
  int64_t inner = s->kept_dims[s->nkept - 1], blocks = (inner + w - 1) / w;
  row_loop rl;
  LLVMValueRef u = rows_begin(cg, &rl, s->rows / inner * blocks, work_of(cg), ptrs, 2);
  LLVMValueRef c0 = ix_mulk(cg, ix_remk(cg, u, blocks), w);
  LLVMValueRef r0 = ix_add(cg, ix_mulk(cg, ix_divk(cg, u, blocks), inner), c0);
  LLVMValueRef mask = inner % w ? vec_mask_dyn(cg, w, ix_sub(cg, cg_i64(cg, inner), c0)) : NULL;
  LLVMValueRef acc = finish(cg, k, fold_columns(cg, s, ptrs[0], row_base(cg, s, r0), mask, k.map, k.fold), s->len, NULL);
  LLVMValueRef y = vec_fcast(cg, acc, vec_f32(cg)), p = gep_f32(cg, ptrs[1], r0);
  if (mask) vec_store_masked(cg, y, p, mask);
  else vec_store(cg, y, p, w);
  rows_end(cg, &rl);
}

static vitc_status emit_reduce(vitc_cg *cg, const vitc_node *n, reduce_kind k, vitc_error *err) {
  const vitc_value *x = cg_in_value(cg, 0), *axes_v = cg_in_value(cg, 1), *out = cg_out_value(cg, 0);
  bool reduced[VITC_MAX_RANK];
  int64_t axes[VITC_MAX_RANK];
  int naxes = 0;
  if (axes_v && vitc_numel(axes_v)) {
    vitc_status st = const_ints(axes_v, "axes", axes, VITC_MAX_RANK, &naxes, err);
    if (st) return st;
  }
  for (int d = 0; d < x->rank; d++) reduced[d] = !naxes && !vitc_attr_int(n, "noop_with_empty_axes", 0);
  for (int i = 0; i < naxes; i++) reduced[cg_axis(axes[i], x->rank)] = true;
  row_shape s;
  row_shape_init(&s, x, reduced);
  if (vitc_numel(out) == 0) return VITC_OK;

  LLVMValueRef ptrs[2] = {cg_in(cg, 0), cg_out(cg, 0)};
  if (x->dtype == VITC_F32 && out->dtype == VITC_F32 && k.finish != FINISH_LSE && rows_side_by_side(&s)) {
    reduce_columns(cg, k, &s, ptrs);
    return VITC_OK;
  }
  row_loop rl;
  LLVMValueRef r = rows_begin(cg, &rl, s.rows, work_of(cg), ptrs, 2);
  LLVMValueRef base = row_base(cg, &s, r), shift = NULL;
  if (k.finish == FINISH_LSE) { /* an infinite maximum would make exp(x - max) NaN: shift by 0 then */
    LLVMValueRef max = fold_row(cg, &s, ptrs[0], x->dtype, base, MAP_ID, NULL, VEC_MAX_NAN);
    LLVMValueRef finite = vec_cmp(cg, LLVMRealONE, vec_call1(cg, "llvm.fabs", max), cg_const(cg, cg->f64, INFINITY));
    shift = vec_select(cg, finite, max, cg_const(cg, cg->f64, 0));
  }
  LLVMValueRef acc = finish(cg, k, fold_row(cg, &s, ptrs[0], x->dtype, base, k.map, shift, k.fold), s.len, shift);
  store_f64(cg, ptrs[1], r, out->dtype, acc);
  rows_end(cg, &rl);
  return VITC_OK;
}

#define REDUCE_EMITTER(Op, map, fold, finish)                                         \
  vitc_status emit_##Op(vitc_cg *cg, const vitc_node *n, vitc_error *err) {           \
    return emit_reduce(cg, n, (reduce_kind){map, fold, finish}, err);                 \
  }
REDUCE_EMITTER(ReduceSum, MAP_ID, VEC_SUM, FINISH_NONE)
REDUCE_EMITTER(ReduceMean, MAP_ID, VEC_SUM, FINISH_MEAN)
REDUCE_EMITTER(ReduceMax, MAP_ID, VEC_MAX_NAN, FINISH_NONE)
REDUCE_EMITTER(ReduceMin, MAP_ID, VEC_MIN_NAN, FINISH_NONE)
REDUCE_EMITTER(ReduceProd, MAP_ID, VEC_PROD, FINISH_NONE)
REDUCE_EMITTER(ReduceL1, MAP_ABS, VEC_SUM, FINISH_NONE)
REDUCE_EMITTER(ReduceL2, MAP_SQUARE, VEC_SUM, FINISH_SQRT)
REDUCE_EMITTER(ReduceSumSquare, MAP_SQUARE, VEC_SUM, FINISH_NONE)
REDUCE_EMITTER(ReduceLogSum, MAP_ID, VEC_SUM, FINISH_LOG)
REDUCE_EMITTER(ReduceLogSumExp, MAP_EXP, VEC_SUM, FINISH_LSE)
#undef REDUCE_EMITTER

/* ================================================================ ArgMax, ArgMin */

static vitc_status emit_arg_reduce(vitc_cg *cg, const vitc_node *n, bool want_max, vitc_error *err) {
  const vitc_value *x = cg_in_value(cg, 0);
  int axis = cg_axis(vitc_attr_int(n, "axis", 0), x->rank);
  bool last = vitc_attr_int(n, "select_last_index", 0) != 0;
  row_shape s;
  row_shape_range(&s, x, axis, axis);
  if (vitc_numel(x) == 0) return VITC_OK;
  LLVMValueRef ptrs[2] = {cg_in(cg, 0), cg_out(cg, 0)};
  row_loop rl;
  LLVMValueRef r = rows_begin(cg, &rl, s.rows, work_of(cg), ptrs, 2);
  LLVMValueRef base = row_base(cg, &s, r);
  LLVMValueRef best = cg_var(cg, cg->f64, load_f64(cg, ptrs[0], base, x->dtype));
  LLVMValueRef best_j = cg_var(cg, cg->i64, cg_i64(cg, 0));
  elem_loop e;
  elems_begin(cg, &e, &s, base);
  /* Once the best is NaN it stays: the first NaN wins. */
  LLVMValueRef v = load_f64(cg, ptrs[0], e.offset, x->dtype), b = vec_load1(cg, cg->f64, best);
  LLVMValueRef take = vec_cmp(cg, want_max ? LLVMRealOGT : LLVMRealOLT, v, b);
  take = vec_or(cg, take, vec_cmp(cg, LLVMRealUNO, v, v));
  if (last) take = vec_or(cg, take, vec_cmp(cg, LLVMRealOEQ, v, b));
  take = vec_and(cg, take, vec_cmp(cg, LLVMRealORD, b, b));
  vec_store1(cg, vec_select(cg, take, v, b), best);
  vec_store1(cg, vec_select(cg, take, e.j, vec_load1(cg, cg->i64, best_j)), best_j);
  elems_end(cg, &e);
  cg_store(cg, ptrs[1], r, VITC_I64, vec_load1(cg, cg->i64, best_j));
  rows_end(cg, &rl);
  return VITC_OK;
}

vitc_status emit_ArgMax(vitc_cg *cg, const vitc_node *n, vitc_error *err) { return emit_arg_reduce(cg, n, true, err); }
vitc_status emit_ArgMin(vitc_cg *cg, const vitc_node *n, vitc_error *err) { return emit_arg_reduce(cg, n, false, err); }

/* ================================================================ Softmax, LogSoftmax, Hardmax */

typedef enum softmax_kind { SOFTMAX, LOG_SOFTMAX, HARDMAX } softmax_kind;

/* Before opset 13 the input is coerced to 2-D at `axis` (default 1): rows run over the flattened
 * trailing dims; from 13 on over the single `axis` (default -1). */
static void softmax_rows(const vitc_node *n, const vitc_value *x, row_shape *s) {
  bool legacy = n->opset < 13;
  int axis = cg_axis(vitc_attr_int(n, "axis", legacy ? 1 : -1), x->rank);
  row_shape_range(s, x, axis, legacy ? x->rank - 1 : axis);
}

/* One element pass of a float32 softmax row, y[at] = f(src[at]) over the row: exp(x - max) into y, y·inv
 * in place, or LogSoftmax's (x - max) - log(sum) (x - max is exact near the max). */
typedef enum row_pass { PASS_EXP, PASS_SCALE, PASS_LOG } row_pass;
typedef struct pass_state {
  row_pass pass;
  LLVMValueRef src, y, base, max, k; /* k: inv for PASS_SCALE, log(sum) for PASS_LOG (float scalars) */
} pass_state;

static LLVMValueRef pass_value(vitc_cg *cg, const pass_state *p, LLVMValueRef v) {
  switch (p->pass) {
  case PASS_EXP: return vm_exp(cg, vec_sub(cg, v, vec_cast_like(cg, p->max, v)));
  case PASS_SCALE: return vec_mul(cg, v, vec_cast_like(cg, p->k, v));
  default: return vec_sub(cg, vec_sub(cg, v, vec_cast_like(cg, p->max, v)), vec_cast_like(cg, p->k, v));
  }
}

static void pass_vector(vitc_cg *cg, LLVMValueRef i, int lanes, void *state) {
  pass_state *p = state;
  LLVMValueRef at = ix_add(cg, p->base, i);
  LLVMValueRef v = vec_load(cg, vec_f32(cg), gep_f32(cg, p->src, at), lanes);
  vec_store(cg, pass_value(cg, p, v), gep_f32(cg, p->y, at), lanes);
}

/* Vectors along a contiguous row; one element at a time, `stride` apart, otherwise. */
static void run_pass(vitc_cg *cg, pass_state *p, const row_shape *s) {
  int64_t stride = s->nred ? s->red_strides[0] : 1;
  if (stride == 1) {
    vec_for(cg, cg_i64(cg, 0), s->len, vec_width(cg), pass_vector, p);
    return;
  }
  cg_loop l = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, s->len), 1);
  LLVMValueRef at = ix_add(cg, p->base, ix_mulk(cg, l.iv, stride));
  cg_store(cg, p->y, at, VITC_F32, pass_value(cg, p, cg_load(cg, p->src, at, VITC_F32)));
  cg_loop_end(cg, &l);
}

/* float32 over one axis, as the evaluator's typed loop: y = exp(x - max) in float, its sum in double;
 * LogSoftmax y = x - max - log(sum). */
static void softmax_row_f32(vitc_cg *cg, softmax_kind k, const row_shape *s, LLVMValueRef x, LLVMValueRef y,
                            LLVMValueRef base) {
  LLVMValueRef max = fold_row(cg, s, x, VITC_F32, base, MAP_ID, NULL, VEC_MAX);
  pass_state p = {.src = x, .y = y, .base = base, .max = vec_fcast(cg, max, cg->f32)};
  if (k == LOG_SOFTMAX) {
    LLVMValueRef sum = fold_row(cg, s, x, VITC_F32, base, MAP_EXP, max, VEC_SUM);
    p.pass = PASS_LOG;
    p.k = vec_fcast(cg, vm_log(cg, sum), cg->f32);
    run_pass(cg, &p, s);
    return;
  }
  p.pass = PASS_EXP;
  run_pass(cg, &p, s);
  LLVMValueRef sum = fold_row(cg, s, y, VITC_F32, base, MAP_ID, NULL, VEC_SUM);
  p.pass = PASS_SCALE;
  p.src = y;
  p.k = vec_fcast(cg, vec_div(cg, cg_const(cg, cg->f64, 1), sum), cg->f32);
  run_pass(cg, &p, s);
}

/* float32 Softmax along a middle axis of few consecutive columns, CaiT's scores with the heads last:
 * x[o] is [len, inner]. Each step loads g rows of all columns as one vector of W = g·inner lanes
 * (W <= vec_width, g dividing len), so lane i belongs to column i % inner; the columns' max and sum fold the g lane groups
 * together and are broadcast back to W lanes. Per column it is the evaluator's typed loop (max in float,
 * exp in float, sum in double). */
enum { MAX_LANES = 64 }; /* bound of vec_width */

static LLVMValueRef lanes_shuffle(vitc_cg *cg, LLVMValueRef v, int n, int from, int modulo) {
  int lanes[MAX_LANES];
  for (int i = 0; i < n; i++) lanes[i] = from + i % modulo;
  return vec_shuffle(cg, v, NULL, lanes, n);
}

/* Column c of the W-lane v folded over its g groups (max, or sum), then repeated to W lanes. */
static LLVMValueRef fold_groups(vitc_cg *cg, LLVMValueRef v, int inner, int g, bool sum) {
  LLVMValueRef acc = lanes_shuffle(cg, v, inner, 0, inner);
  for (int q = 1; q < g; q++) {
    LLVMValueRef part = lanes_shuffle(cg, v, inner, q * inner, inner);
    acc = sum ? vec_add(cg, acc, part) : vec_max_ordered(cg, acc, part);
  }
  return lanes_shuffle(cg, acc, inner * g, 0, inner);
}

static LLVMValueRef lanes_at(vitc_cg *cg, LLVMValueRef p, LLVMValueRef base, LLVMValueRef step, int w) {
  return gep_f32(cg, p, ix_add(cg, base, ix_mulk(cg, step, w)));
}

static void softmax_columns_f32(vitc_cg *cg, LLVMValueRef x, LLVMValueRef y, LLVMValueRef base, int64_t len,
                                int inner) {
  int g = 1;
  for (int c = vec_width(cg) / inner; c > 1 && g == 1; c--)
    if (len % c == 0) g = c;
  int w = g * inner;
  LLVMTypeRef ft = vec_of(cg, cg->f32, w), dt = vec_of(cg, cg->f64, w);
  LLVMValueRef max = cg_var(cg, ft, vec_const(cg, ft, -INFINITY)), sum = cg_var(cg, dt, vec_const(cg, dt, 0));
  cg_loop l = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, len / g), 1);
  LLVMValueRef v = vec_load1(cg, ft, lanes_at(cg, x, base, l.iv, w)), m = vec_load1(cg, ft, max);
  vec_store1(cg, vec_max_ordered(cg, m, v), max);
  cg_loop_end(cg, &l);
  LLVMValueRef maxv = fold_groups(cg, vec_load1(cg, ft, max), inner, g, false);
  l = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, len / g), 1);
  LLVMValueRef e = vm_exp(cg, vec_sub(cg, vec_load1(cg, ft, lanes_at(cg, x, base, l.iv, w)), maxv));
  vec_store(cg, e, lanes_at(cg, y, base, l.iv, w), w);
  LLVMValueRef s = vec_load1(cg, dt, sum);
  vec_store1(cg, vec_add(cg, s, vec_fcast(cg, e, dt)), sum);
  cg_loop_end(cg, &l);
  LLVMValueRef total = fold_groups(cg, vec_load1(cg, dt, sum), inner, g, true);
  LLVMValueRef inv = vec_fcast(cg, vec_div(cg, vec_const(cg, dt, 1), total), ft);
  l = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, len / g), 1);
  LLVMValueRef at = lanes_at(cg, y, base, l.iv, w);
  vec_store(cg, vec_mul(cg, vec_load1(cg, ft, at), inv), at, w);
  cg_loop_end(cg, &l);
}

/* Any dtype and layout, in double: max (and its first index), sum of exp(x - max), then each output. */
static void softmax_row_any(vitc_cg *cg, softmax_kind k, const row_shape *s, LLVMValueRef x, LLVMValueRef y,
                            vitc_dtype t, LLVMValueRef base) {
  LLVMValueRef max = cg_var(cg, cg->f64, cg_const(cg, cg->f64, -INFINITY));
  LLVMValueRef argmax = cg_var(cg, cg->i64, cg_i64(cg, 0));
  elem_loop e;
  elems_begin(cg, &e, s, base);
  LLVMValueRef v = load_f64(cg, x, e.offset, t), m = vec_load1(cg, cg->f64, max);
  LLVMValueRef gt = vec_cmp(cg, LLVMRealOGT, v, m);
  vec_store1(cg, vec_select(cg, gt, v, m), max);
  vec_store1(cg, vec_select(cg, gt, e.j, vec_load1(cg, cg->i64, argmax)), argmax);
  elems_end(cg, &e);
  LLVMValueRef mx = vec_load1(cg, cg->f64, max), am = vec_load1(cg, cg->i64, argmax);
  LLVMValueRef sum = k == HARDMAX ? NULL : fold_row(cg, s, x, t, base, MAP_EXP, mx, VEC_SUM);
  elems_begin(cg, &e, s, base);
  LLVMValueRef out;
  if (k == HARDMAX) {
    out = vec_uitofp(cg, vec_icmp(cg, LLVMIntEQ, e.j, am), cg->f64);
  } else {
    LLVMValueRef d = vec_sub(cg, load_f64(cg, x, e.offset, t), mx);
    out = k == SOFTMAX ? vec_div(cg, vm_exp(cg, d), sum)
                       : vec_sub(cg, d, vm_log(cg, sum));
  }
  store_f64(cg, y, e.offset, t, out);
  elems_end(cg, &e);
}

static vitc_status emit_softmax_family(vitc_cg *cg, const vitc_node *n, softmax_kind k, vitc_error *err) {
  const vitc_value *x = cg_in_value(cg, 0);
  row_shape s;
  softmax_rows(n, x, &s);
  if (vitc_numel(x) == 0) return VITC_OK;
  LLVMValueRef ptrs[2] = {cg_in(cg, 0), cg_out(cg, 0)};
  row_loop rl;
  int64_t inner = s.nred == 1 ? s.red_strides[0] : 1;
  if (x->dtype == VITC_F32 && k == SOFTMAX && inner > 1 && inner <= vec_width(cg)) {
    int64_t blocks = vitc_numel(x) / (s.len * inner);
    LLVMValueRef o = rows_begin(cg, &rl, blocks, work_of(cg), ptrs, 2);
    softmax_columns_f32(cg, ptrs[0], ptrs[1], ix_mulk(cg, o, s.len * inner), s.len, (int)inner);
    rows_end(cg, &rl);
    return VITC_OK;
  }
  LLVMValueRef base = row_base(cg, &s, rows_begin(cg, &rl, s.rows, work_of(cg), ptrs, 2));
  if (x->dtype == VITC_F32 && k != HARDMAX && s.nred <= 1) softmax_row_f32(cg, k, &s, ptrs[0], ptrs[1], base);
  else softmax_row_any(cg, k, &s, ptrs[0], ptrs[1], x->dtype, base);
  rows_end(cg, &rl);
  return VITC_OK;
}

vitc_status emit_Softmax(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  return emit_softmax_family(cg, n, SOFTMAX, err);
}
vitc_status emit_LogSoftmax(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  return emit_softmax_family(cg, n, LOG_SOFTMAX, err);
}
vitc_status emit_Hardmax(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  return emit_softmax_family(cg, n, HARDMAX, err);
}

/* ================================================================ TopK */

/* a ranks strictly before b: by value (largest or smallest first), NaN above every number. Floats compare
 * as doubles, integers as int64 (exact), as the evaluator. */
static LLVMValueRef ranks_before(vitc_cg *cg, bool is_float, bool largest, LLVMValueRef a, LLVMValueRef b) {
  if (!is_float) return vec_icmp(cg, largest ? LLVMIntSGT : LLVMIntSLT, a, b);
  LLVMValueRef a_nan = vec_cmp(cg, LLVMRealUNO, a, a), b_nan = vec_cmp(cg, LLVMRealUNO, b, b);
  LLVMValueRef nan_order = largest ? vec_and(cg, a_nan, vec_not(cg, b_nan))
                                   : vec_and(cg, b_nan, vec_not(cg, a_nan));
  LLVMValueRef cmp = vec_cmp(cg, largest ? LLVMRealOGT : LLVMRealOLT, a, b);
  return vec_select(cg, vec_or(cg, a_nan, b_nan), nan_order, cmp);
}

/* Offset of slot p of an output row; the value at a slot of y as a key. */
static LLVMValueRef slot(vitc_cg *cg, LLVMValueRef base, int64_t stride, LLVMValueRef p) {
  return ix_add(cg, base, ix_mulk(cg, p, stride));
}

static LLVMValueRef key_at(vitc_cg *cg, LLVMValueRef y, vitc_dtype yt, vitc_dtype kt, LLVMValueRef at) {
  return cg_convert(cg, cg_load(cg, y, at, yt), yt, kt);
}

/* Per row, an insertion into the k best seen so far, kept sorted in the outputs themselves: an element
 * goes after the ones it does not rank before, so ties keep ascending index order (sorted=0 allows any
 * order; sorted is one). O(len · k) per row. */
vitc_status emit_TopK(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  const vitc_value *x = cg_in_value(cg, 0), *y = cg_out_value(cg, 0);
  int axis = cg_axis(vitc_attr_int(n, "axis", -1), x->rank);
  int64_t k = x->rank ? y->dims[axis] : 1;
  bool largest = vitc_attr_int(n, "largest", 1) != 0, is_float = vitc_dtype_is_float(x->dtype);
  row_shape xs, ys;
  row_shape_range(&xs, x, axis, axis);
  row_shape_range(&ys, y, axis, axis);
  if (vitc_numel(y) == 0) return VITC_OK;
  int64_t xstride = xs.nred ? xs.red_strides[0] : 0, ystride = ys.nred ? ys.red_strides[0] : 0;
  vitc_dtype kt = is_float ? VITC_F64 : VITC_I64; /* the type keys compare in */
  LLVMValueRef ptrs[3] = {cg_in(cg, 0), cg_out(cg, 0), cg_out(cg, 1)};
  row_loop rl;
  LLVMValueRef r = rows_begin(cg, &rl, xs.rows, xs.len * k, ptrs, 3);
  LLVMValueRef xbase = row_base(cg, &xs, r), ybase = row_base(cg, &ys, r);
  LLVMValueRef count = cg_var(cg, cg->i64, cg_i64(cg, 0)), pos = cg_var(cg, cg->i64, NULL);
  cg_loop l = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, xs.len), 1);
  LLVMValueRef xat = ix_add(cg, xbase, ix_mulk(cg, l.iv, xstride));
  LLVMValueRef v = cg_convert(cg, cg_load(cg, ptrs[0], xat, x->dtype), x->dtype, kt);
  LLVMValueRef c = vec_load1(cg, cg->i64, count);
  LLVMValueRef full = vec_icmp(cg, LLVMIntEQ, c, cg_i64(cg, k));
  LLVMValueRef last = vec_isub(cg, vec_select(cg, full, c, vec_iadd(cg, c, cg_i64(cg, 1))), cg_i64(cg, 1));
  /* Enters when there is room, or when v beats the last of k. With room, `last` is the free slot (< k,
   * so its load stays in range) and its key does not matter. */
  LLVMValueRef last_key = key_at(cg, ptrs[1], y->dtype, kt, slot(cg, ybase, ystride, last));
  cg_if enters = cg_if_begin(cg, vec_or(cg, vec_not(cg, full), ranks_before(cg, is_float, largest, v, last_key)));
  vec_store1(cg, last, pos);
  /* while (pos > 0 && v ranks before slot pos-1) move slot pos-1 down; at pos 0 slot 0 is read (in range)
   * and the comparison ignored */
  cg_while shift = cg_while_begin(cg);
  LLVMValueRef p = vec_load1(cg, cg->i64, pos);
  LLVMValueRef movable = vec_icmp(cg, LLVMIntSGT, p, cg_i64(cg, 0));
  LLVMValueRef above = vec_select(cg, movable, vec_isub(cg, p, cg_i64(cg, 1)), cg_i64(cg, 0));
  LLVMValueRef above_key = key_at(cg, ptrs[1], y->dtype, kt, slot(cg, ybase, ystride, above));
  cg_while_test(cg, &shift, vec_and(cg, movable, ranks_before(cg, is_float, largest, v, above_key)));
  cg_store(cg, ptrs[1], slot(cg, ybase, ystride, p), y->dtype, cg_convert(cg, above_key, kt, y->dtype));
  cg_store(cg, ptrs[2], slot(cg, ybase, ystride, p), VITC_I64, cg_load(cg, ptrs[2], slot(cg, ybase, ystride, above), VITC_I64));
  vec_store1(cg, above, pos);
  cg_while_end(cg, &shift);
  LLVMValueRef at = slot(cg, ybase, ystride, vec_load1(cg, cg->i64, pos));
  cg_store(cg, ptrs[1], at, y->dtype, cg_convert(cg, v, kt, y->dtype));
  cg_store(cg, ptrs[2], at, VITC_I64, l.iv);
  vec_store1(cg, vec_select(cg, full, c, vec_iadd(cg, c, cg_i64(cg, 1))), count);
  cg_if_end(cg, &enters);
  cg_loop_end(cg, &l);
  rows_end(cg, &rl);
  return VITC_OK;
}

/* ================================================================ CumSum */

/* Floats sum in double, integers in int64 (exact), as the evaluator; `reverse` walks the row backwards
 * and `exclusive` stores the sum before adding the element. */
static void emit_cumsum_along(vitc_cg *cg, const vitc_node *n, int axis) {
  const vitc_value *x = cg_in_value(cg, 0);
  bool exclusive = vitc_attr_int(n, "exclusive", 0) != 0, reverse = vitc_attr_int(n, "reverse", 0) != 0;
  bool is_float = vitc_dtype_is_float(x->dtype);
  row_shape s;
  row_shape_range(&s, x, axis, axis);
  int64_t stride = s.nred ? s.red_strides[0] : 0;
  LLVMValueRef ptrs[2] = {cg_in(cg, 0), cg_out(cg, 0)};
  row_loop rl;
  LLVMValueRef base = row_base(cg, &s, rows_begin(cg, &rl, s.rows, work_of(cg), ptrs, 2));
  LLVMTypeRef acc_t = is_float ? cg->f64 : cg->i64;
  LLVMValueRef acc = cg_var(cg, acc_t, cg_const(cg, acc_t, 0));
  cg_loop l = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, s.len), 1);
  LLVMValueRef j = reverse ? vec_isub(cg, cg_i64(cg, s.len - 1), l.iv) : l.iv;
  LLVMValueRef at = ix_add(cg, base, ix_mulk(cg, j, stride));
  LLVMValueRef before = vec_load1(cg, acc_t, acc), after;
  if (is_float) {
    after = vec_add(cg, before, load_f64(cg, ptrs[0], at, x->dtype));
    store_f64(cg, ptrs[1], at, x->dtype, exclusive ? before : after);
  } else {
    after = vec_iadd(cg, before, cg_convert(cg, cg_load(cg, ptrs[0], at, x->dtype), x->dtype, VITC_I64));
    cg_store(cg, ptrs[1], at, x->dtype, cg_convert(cg, exclusive ? before : after, VITC_I64, x->dtype));
  }
  vec_store1(cg, after, acc);
  cg_loop_end(cg, &l);
  rows_end(cg, &rl);
}

/* An axis known only at run time (a graph input) selects one of the rank kernels; an axis out of range
 * zero-fills the output. */
vitc_status emit_CumSum(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  const vitc_value *x = cg_in_value(cg, 0), *axis_v = cg_in_value(cg, 1);
  if (vitc_numel(axis_v) != 1)
    return vitc_fail(err, VITC_ERR_INVALID, "axis must hold one value, not %lld", (long long)vitc_numel(axis_v));
  if (vitc_numel(x) == 0) return VITC_OK;
  if (axis_v->data) {
    emit_cumsum_along(cg, n, cg_axis(vitc_load_i(axis_v, 0), x->rank));
    return VITC_OK;
  }
  int rank = x->rank ? x->rank : 1;
  LLVMValueRef axis = cg_convert(cg, cg_load(cg, cg_in(cg, 1), cg_i64(cg, 0), axis_v->dtype), axis_v->dtype, VITC_I64);
  LLVMValueRef negative = vec_icmp(cg, LLVMIntSLT, axis, cg_i64(cg, 0));
  axis = vec_select(cg, negative, vec_iadd(cg, axis, cg_i64(cg, x->rank)), axis);
  for (int a = 0; a < rank; a++) {
    cg_if c = cg_if_begin(cg, vec_icmp(cg, LLVMIntEQ, axis, cg_i64(cg, a)));
    emit_cumsum_along(cg, n, a);
    cg_if_end(cg, &c);
  }
  cg_if c = cg_if_begin(cg, vec_icmp(cg, LLVMIntUGE, axis, cg_i64(cg, rank)));
  cg_memzero(cg, cg_out(cg, 0), cg_i64(cg, (int64_t)vitc_nbytes(x)));
  cg_if_end(cg, &c);
  return VITC_OK;
}

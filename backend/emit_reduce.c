/* emit_reduce.c — kernels for Reduce*, ArgMax/ArgMin, Softmax/LogSoftmax/Hardmax, TopK and CumSum, all row
 * folds (emit_rows.h) with the evaluator's semantics (ir/ops/reduce.c):
 *
 *   Reduce*:   out[r] = finish(fold over row r of map(x)), rows indexed by the kept axes
 *   ArgMax:    out[r] = first index of the row's extreme (NaN wins, select_last_index moves ties)
 *   Softmax:   per row (axis, or axis… before opset 13): max, exp(x - max), sum, scale
 *   TopK:      the k best of the row by insertion, ties in index order
 *   CumSum:    running sum along the row
 *
 * float32 rows over the innermost axis — attention scores, decomposed LayerNorm — fold in vectors, and
 * a float32 Softmax over a middle axis of few columns runs the columns as vector lanes; the rest one
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
  row_loop rl;
  LLVMValueRef r = rows_begin(cg, &rl, s.rows, work_of(cg), ptrs, 2);
  LLVMValueRef base = row_base(cg, &s, r), shift = NULL;
  if (k.finish == FINISH_LSE) { /* an infinite maximum would make exp(x - max) NaN: shift by 0 then */
    LLVMValueRef max = fold_row(cg, &s, ptrs[0], x->dtype, base, MAP_ID, NULL, VEC_MAX_NAN);
    LLVMValueRef finite = LLVMBuildFCmp(cg->b, LLVMRealONE, vec_call1(cg, "llvm.fabs", max), cg_const(cg, cg->f64, INFINITY), "");
    shift = LLVMBuildSelect(cg->b, finite, max, cg_const(cg, cg->f64, 0), "");
  }
  LLVMValueRef acc = fold_row(cg, &s, ptrs[0], x->dtype, base, k.map, shift, k.fold);
  switch (k.finish) {
  case FINISH_MEAN: acc = LLVMBuildFDiv(cg->b, acc, cg_const(cg, cg->f64, (double)s.len), ""); break;
  case FINISH_SQRT: acc = vec_sqrt(cg, acc); break;
  case FINISH_LOG: acc = vec_call1(cg, "llvm.log", acc); break;
  case FINISH_LSE: acc = LLVMBuildFAdd(cg->b, vec_call1(cg, "llvm.log", acc), shift, ""); break;
  case FINISH_NONE: break;
  }
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
  LLVMValueRef v = load_f64(cg, ptrs[0], e.offset, x->dtype), b = LLVMBuildLoad2(cg->b, cg->f64, best, "");
  LLVMValueRef take = LLVMBuildFCmp(cg->b, want_max ? LLVMRealOGT : LLVMRealOLT, v, b, "");
  take = LLVMBuildOr(cg->b, take, LLVMBuildFCmp(cg->b, LLVMRealUNO, v, v, ""), "");
  if (last) take = LLVMBuildOr(cg->b, take, LLVMBuildFCmp(cg->b, LLVMRealOEQ, v, b, ""), "");
  take = LLVMBuildAnd(cg->b, take, LLVMBuildFCmp(cg->b, LLVMRealORD, b, b, ""), "");
  LLVMBuildStore(cg->b, LLVMBuildSelect(cg->b, take, v, b, ""), best);
  LLVMBuildStore(cg->b, LLVMBuildSelect(cg->b, take, e.j, LLVMBuildLoad2(cg->b, cg->i64, best_j, ""), ""), best_j);
  elems_end(cg, &e);
  cg_store(cg, ptrs[1], r, VITC_I64, LLVMBuildLoad2(cg->b, cg->i64, best_j, ""));
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
  pass_state p = {.src = x, .y = y, .base = base, .max = LLVMBuildFPTrunc(cg->b, max, cg->f32, "")};
  if (k == LOG_SOFTMAX) {
    LLVMValueRef sum = fold_row(cg, s, x, VITC_F32, base, MAP_EXP, max, VEC_SUM);
    p.pass = PASS_LOG;
    p.k = LLVMBuildFPTrunc(cg->b, vec_call1(cg, "llvm.log", sum), cg->f32, "");
    run_pass(cg, &p, s);
    return;
  }
  p.pass = PASS_EXP;
  run_pass(cg, &p, s);
  LLVMValueRef sum = fold_row(cg, s, y, VITC_F32, base, MAP_ID, NULL, VEC_SUM);
  p.pass = PASS_SCALE;
  p.src = y;
  p.k = LLVMBuildFPTrunc(cg->b, vec_div(cg, cg_const(cg, cg->f64, 1), sum), cg->f32, "");
  run_pass(cg, &p, s);
}

/* float32 Softmax along a middle axis of few consecutive columns, CaiT's scores with the heads last:
 * x[o] is [len, inner]. Each step loads g rows of all columns as one vector of W = g·inner lanes (W <= 16,
 * g dividing len), so lane i belongs to column i % inner; the columns' max and sum fold the g lane groups
 * together and are broadcast back to W lanes. Per column it is the evaluator's typed loop (max in float,
 * exp in float, sum in double). */
enum { MAX_LANES = 16 };

static LLVMValueRef lanes_shuffle(vitc_cg *cg, LLVMValueRef v, int n, int from, int modulo) {
  LLVMValueRef mask[MAX_LANES];
  for (int i = 0; i < n; i++) mask[i] = LLVMConstInt(cg->i32, (unsigned)(from + i % modulo), 0);
  return LLVMBuildShuffleVector(cg->b, v, LLVMGetPoison(LLVMTypeOf(v)), LLVMConstVector(mask, (unsigned)n), "");
}

/* Column c of the W-lane v folded over its g groups (max, or sum), then repeated to W lanes. */
static LLVMValueRef fold_groups(vitc_cg *cg, LLVMValueRef v, int inner, int g, bool sum) {
  LLVMValueRef acc = lanes_shuffle(cg, v, inner, 0, inner);
  for (int q = 1; q < g; q++) {
    LLVMValueRef part = lanes_shuffle(cg, v, inner, q * inner, inner);
    acc = sum ? LLVMBuildFAdd(cg->b, acc, part, "")
              : LLVMBuildSelect(cg->b, LLVMBuildFCmp(cg->b, LLVMRealOGT, part, acc, ""), part, acc, "");
  }
  return lanes_shuffle(cg, acc, inner * g, 0, inner);
}

static LLVMValueRef lanes_at(vitc_cg *cg, LLVMValueRef p, LLVMValueRef base, LLVMValueRef step, int w) {
  return cg_gep(cg, cg->f32, p, LLVMBuildNSWAdd(cg->b, base, LLVMBuildNSWMul(cg->b, step, cg_i64(cg, w), ""), ""));
}
static LLVMValueRef load_lanes(vitc_cg *cg, LLVMTypeRef t, LLVMValueRef p) {
  LLVMValueRef v = LLVMBuildLoad2(cg->b, t, p, "");
  LLVMSetAlignment(v, 4);
  return v;
}
static void store_lanes(vitc_cg *cg, LLVMValueRef v, LLVMValueRef p) {
  LLVMSetAlignment(LLVMBuildStore(cg->b, v, p), 4);
}

static void softmax_columns_f32(vitc_cg *cg, LLVMValueRef x, LLVMValueRef y, LLVMValueRef base, int64_t len,
                                int inner) {
  int g = 1;
  for (int c = MAX_LANES / inner; c > 1 && g == 1; c--)
    if (len % c == 0) g = c;
  int w = g * inner;
  LLVMTypeRef ft = LLVMVectorType(cg->f32, (unsigned)w), dt = LLVMVectorType(cg->f64, (unsigned)w);
  LLVMValueRef max = cg_var(cg, ft, vec_const(cg, ft, -INFINITY)), sum = cg_var(cg, dt, vec_const(cg, dt, 0));
  cg_loop l = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, len / g), 1);
  LLVMValueRef v = load_lanes(cg, ft, lanes_at(cg, x, base, l.iv, w)), m = LLVMBuildLoad2(cg->b, ft, max, "");
  LLVMBuildStore(cg->b, LLVMBuildSelect(cg->b, LLVMBuildFCmp(cg->b, LLVMRealOGT, v, m, ""), v, m, ""), max);
  cg_loop_end(cg, &l);
  LLVMValueRef maxv = fold_groups(cg, LLVMBuildLoad2(cg->b, ft, max, ""), inner, g, false);
  l = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, len / g), 1);
  LLVMValueRef e = vm_exp(cg, LLVMBuildFSub(cg->b, load_lanes(cg, ft, lanes_at(cg, x, base, l.iv, w)), maxv, ""));
  store_lanes(cg, e, lanes_at(cg, y, base, l.iv, w));
  LLVMValueRef s = LLVMBuildLoad2(cg->b, dt, sum, "");
  LLVMBuildStore(cg->b, LLVMBuildFAdd(cg->b, s, LLVMBuildFPExt(cg->b, e, dt, ""), ""), sum);
  cg_loop_end(cg, &l);
  LLVMValueRef total = fold_groups(cg, LLVMBuildLoad2(cg->b, dt, sum, ""), inner, g, true);
  LLVMValueRef inv = LLVMBuildFPTrunc(cg->b, LLVMBuildFDiv(cg->b, vec_const(cg, dt, 1), total, ""), ft, "");
  l = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, len / g), 1);
  LLVMValueRef at = lanes_at(cg, y, base, l.iv, w);
  store_lanes(cg, LLVMBuildFMul(cg->b, load_lanes(cg, ft, at), inv, ""), at);
  cg_loop_end(cg, &l);
}

/* Any dtype and layout, in double: max (and its first index), sum of exp(x - max), then each output. */
static void softmax_row_any(vitc_cg *cg, softmax_kind k, const row_shape *s, LLVMValueRef x, LLVMValueRef y,
                            vitc_dtype t, LLVMValueRef base) {
  LLVMValueRef max = cg_var(cg, cg->f64, cg_const(cg, cg->f64, -INFINITY));
  LLVMValueRef argmax = cg_var(cg, cg->i64, cg_i64(cg, 0));
  elem_loop e;
  elems_begin(cg, &e, s, base);
  LLVMValueRef v = load_f64(cg, x, e.offset, t), m = LLVMBuildLoad2(cg->b, cg->f64, max, "");
  LLVMValueRef gt = LLVMBuildFCmp(cg->b, LLVMRealOGT, v, m, "");
  LLVMBuildStore(cg->b, LLVMBuildSelect(cg->b, gt, v, m, ""), max);
  LLVMBuildStore(cg->b, LLVMBuildSelect(cg->b, gt, e.j, LLVMBuildLoad2(cg->b, cg->i64, argmax, ""), ""), argmax);
  elems_end(cg, &e);
  LLVMValueRef mx = LLVMBuildLoad2(cg->b, cg->f64, max, ""), am = LLVMBuildLoad2(cg->b, cg->i64, argmax, "");
  LLVMValueRef sum = k == HARDMAX ? NULL : fold_row(cg, s, x, t, base, MAP_EXP, mx, VEC_SUM);
  elems_begin(cg, &e, s, base);
  LLVMValueRef out;
  if (k == HARDMAX) {
    out = LLVMBuildUIToFP(cg->b, LLVMBuildICmp(cg->b, LLVMIntEQ, e.j, am, ""), cg->f64, "");
  } else {
    LLVMValueRef d = LLVMBuildFSub(cg->b, load_f64(cg, x, e.offset, t), mx, "");
    out = k == SOFTMAX ? LLVMBuildFDiv(cg->b, vec_call1(cg, "llvm.exp", d), sum, "")
                       : LLVMBuildFSub(cg->b, d, vec_call1(cg, "llvm.log", sum), "");
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
  if (x->dtype == VITC_F32 && k == SOFTMAX && inner > 1 && inner <= MAX_LANES) {
    int64_t blocks = vitc_numel(x) / (s.len * inner);
    LLVMValueRef o = rows_begin(cg, &rl, blocks, work_of(cg), ptrs, 2);
    softmax_columns_f32(cg, ptrs[0], ptrs[1], LLVMBuildNSWMul(cg->b, o, cg_i64(cg, s.len * inner), ""), s.len, (int)inner);
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
  if (!is_float) return LLVMBuildICmp(cg->b, largest ? LLVMIntSGT : LLVMIntSLT, a, b, "");
  LLVMValueRef a_nan = LLVMBuildFCmp(cg->b, LLVMRealUNO, a, a, ""), b_nan = LLVMBuildFCmp(cg->b, LLVMRealUNO, b, b, "");
  LLVMValueRef nan_order = largest ? LLVMBuildAnd(cg->b, a_nan, LLVMBuildNot(cg->b, b_nan, ""), "")
                                   : LLVMBuildAnd(cg->b, b_nan, LLVMBuildNot(cg->b, a_nan, ""), "");
  LLVMValueRef cmp = LLVMBuildFCmp(cg->b, largest ? LLVMRealOGT : LLVMRealOLT, a, b, "");
  return LLVMBuildSelect(cg->b, LLVMBuildOr(cg->b, a_nan, b_nan, ""), nan_order, cmp, "");
}

/* Offset of slot p of an output row; the value at a slot of y as a key. */
static LLVMValueRef slot(vitc_cg *cg, LLVMValueRef base, int64_t stride, LLVMValueRef p) {
  return LLVMBuildNSWAdd(cg->b, base, LLVMBuildNSWMul(cg->b, p, cg_i64(cg, stride), ""), "");
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
  LLVMValueRef xat = LLVMBuildNSWAdd(cg->b, xbase, LLVMBuildNSWMul(cg->b, l.iv, cg_i64(cg, xstride), ""), "");
  LLVMValueRef v = cg_convert(cg, cg_load(cg, ptrs[0], xat, x->dtype), x->dtype, kt);
  LLVMValueRef c = LLVMBuildLoad2(cg->b, cg->i64, count, "");
  LLVMValueRef full = LLVMBuildICmp(cg->b, LLVMIntEQ, c, cg_i64(cg, k), "");
  LLVMValueRef last = LLVMBuildSub(cg->b, LLVMBuildSelect(cg->b, full, c, LLVMBuildAdd(cg->b, c, cg_i64(cg, 1), ""), ""),
                                   cg_i64(cg, 1), "");
  /* Enters when there is room, or when v beats the last of k (a full list: load is in range). */
  LLVMBasicBlockRef check_bb = LLVMGetInsertBlock(cg->b);
  LLVMValueRef fn = LLVMGetBasicBlockParent(check_bb);
  LLVMBasicBlockRef beats_bb = LLVMAppendBasicBlockInContext(cg->llvm, fn, "beats");
  LLVMBasicBlockRef insert_bb = LLVMAppendBasicBlockInContext(cg->llvm, fn, "insert");
  LLVMBasicBlockRef shift_test = LLVMAppendBasicBlockInContext(cg->llvm, fn, "shift.test");
  LLVMBasicBlockRef shift_body = LLVMAppendBasicBlockInContext(cg->llvm, fn, "shift");
  LLVMBasicBlockRef place_bb = LLVMAppendBasicBlockInContext(cg->llvm, fn, "place");
  LLVMBasicBlockRef next_bb = LLVMAppendBasicBlockInContext(cg->llvm, fn, "next");
  LLVMBuildCondBr(cg->b, full, beats_bb, insert_bb);
  LLVMPositionBuilderAtEnd(cg->b, beats_bb);
  LLVMBuildCondBr(cg->b, ranks_before(cg, is_float, largest, v, key_at(cg, ptrs[1], y->dtype, kt, slot(cg, ybase, ystride, last))), insert_bb, next_bb);
  LLVMPositionBuilderAtEnd(cg->b, insert_bb);
  LLVMBuildStore(cg->b, last, pos);
  LLVMBuildBr(cg->b, shift_test);
  /* while (pos > 0 && v ranks before slot pos-1) move slot pos-1 down */
  LLVMPositionBuilderAtEnd(cg->b, shift_test);
  LLVMValueRef p = LLVMBuildLoad2(cg->b, cg->i64, pos, "");
  LLVMBasicBlockRef compare_bb = LLVMAppendBasicBlockInContext(cg->llvm, fn, "shift.compare");
  LLVMBuildCondBr(cg->b, LLVMBuildICmp(cg->b, LLVMIntSGT, p, cg_i64(cg, 0), ""), compare_bb, place_bb);
  LLVMPositionBuilderAtEnd(cg->b, compare_bb);
  LLVMValueRef above = LLVMBuildSub(cg->b, p, cg_i64(cg, 1), "");
  LLVMValueRef above_key = key_at(cg, ptrs[1], y->dtype, kt, slot(cg, ybase, ystride, above));
  LLVMBuildCondBr(cg->b, ranks_before(cg, is_float, largest, v, above_key), shift_body, place_bb);
  LLVMPositionBuilderAtEnd(cg->b, shift_body);
  cg_store(cg, ptrs[1], slot(cg, ybase, ystride, p), y->dtype, cg_convert(cg, above_key, kt, y->dtype));
  cg_store(cg, ptrs[2], slot(cg, ybase, ystride, p), VITC_I64, cg_load(cg, ptrs[2], slot(cg, ybase, ystride, above), VITC_I64));
  LLVMBuildStore(cg->b, above, pos);
  LLVMBuildBr(cg->b, shift_test);
  LLVMPositionBuilderAtEnd(cg->b, place_bb);
  LLVMValueRef at = slot(cg, ybase, ystride, LLVMBuildLoad2(cg->b, cg->i64, pos, ""));
  cg_store(cg, ptrs[1], at, y->dtype, cg_convert(cg, v, kt, y->dtype));
  cg_store(cg, ptrs[2], at, VITC_I64, l.iv);
  LLVMBuildStore(cg->b, LLVMBuildSelect(cg->b, full, c, LLVMBuildAdd(cg->b, c, cg_i64(cg, 1), ""), ""), count);
  LLVMBuildBr(cg->b, next_bb);
  LLVMPositionBuilderAtEnd(cg->b, next_bb);
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
  LLVMValueRef j = reverse ? LLVMBuildSub(cg->b, cg_i64(cg, s.len - 1), l.iv, "") : l.iv;
  LLVMValueRef at = LLVMBuildNSWAdd(cg->b, base, LLVMBuildNSWMul(cg->b, j, cg_i64(cg, stride), ""), "");
  LLVMValueRef before = LLVMBuildLoad2(cg->b, acc_t, acc, ""), after;
  if (is_float) {
    after = LLVMBuildFAdd(cg->b, before, load_f64(cg, ptrs[0], at, x->dtype), "");
    store_f64(cg, ptrs[1], at, x->dtype, exclusive ? before : after);
  } else {
    after = LLVMBuildAdd(cg->b, before, cg_convert(cg, cg_load(cg, ptrs[0], at, x->dtype), x->dtype, VITC_I64), "");
    cg_store(cg, ptrs[1], at, x->dtype, cg_convert(cg, exclusive ? before : after, VITC_I64, x->dtype));
  }
  LLVMBuildStore(cg->b, after, acc);
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
  LLVMValueRef negative = LLVMBuildICmp(cg->b, LLVMIntSLT, axis, cg_i64(cg, 0), "");
  axis = LLVMBuildSelect(cg->b, negative, LLVMBuildAdd(cg->b, axis, cg_i64(cg, x->rank), ""), axis, "");
  for (int a = 0; a < rank; a++) {
    cg_if c = cg_if_begin(cg, LLVMBuildICmp(cg->b, LLVMIntEQ, axis, cg_i64(cg, a), ""));
    emit_cumsum_along(cg, n, a);
    cg_if_end(cg, &c);
  }
  cg_if c = cg_if_begin(cg, LLVMBuildICmp(cg->b, LLVMIntUGE, axis, cg_i64(cg, rank), ""));
  LLVMBuildMemSet(cg->b, cg_out(cg, 0), LLVMConstInt(cg->i8, 0, false), cg_i64(cg, (int64_t)vitc_nbytes(x)), 1);
  cg_if_end(cg, &c);
  return VITC_OK;
}

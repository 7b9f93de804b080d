/* emit_rows.c — rows, the row loop, folds and an inline expf for the reduction and normalisation
 * emitters (emit_rows.h). */
#include <math.h>
#include <string.h>

#include "emit_rows.h"

#define VEC 16                 /* floats per vector partial */
#define PARALLEL_WORK 65536    /* elements below which a row loop stays on the calling thread */

void row_shape_init(row_shape *s, const vitc_value *x, const bool *reduced) {
  memset(s, 0, sizeof *s);
  s->rows = s->len = 1;
  int64_t stride = 1, strides[VITC_MAX_RANK];
  for (int d = x->rank - 1; d >= 0; d--) {
    strides[d] = stride;
    stride *= x->dims[d];
  }
  int last = -1; /* kind of the previous dim of size > 1: consecutive dims of one kind merge (x is contiguous) */
  for (int d = 0; d < x->rank; d++) {
    if (x->dims[d] == 1) continue;
    int red = reduced[d];
    int64_t *dims = red ? s->red_dims : s->kept_dims, *st = red ? s->red_strides : s->kept_strides;
    int *n = red ? &s->nred : &s->nkept;
    if (last == red) {
      dims[*n - 1] *= x->dims[d];
      st[*n - 1] = strides[d];
    } else {
      dims[*n] = x->dims[d];
      st[(*n)++] = strides[d];
    }
    *(red ? &s->len : &s->rows) *= x->dims[d];
    last = red;
  }
}

void row_shape_range(row_shape *s, const vitc_value *x, int first, int last) {
  bool reduced[VITC_MAX_RANK];
  for (int d = 0; d < x->rank; d++) reduced[d] = d >= first && d <= last;
  row_shape_init(s, x, reduced);
}

bool row_contiguous(const row_shape *s) { return s->nred == 0 || (s->nred == 1 && s->red_strides[0] == 1); }

LLVMValueRef rows_begin(vitc_cg *cg, row_loop *l, int64_t rows, int64_t work, LLVMValueRef *ptrs, int nptrs) {
  LLVMValueRef lo = cg_i64(cg, 0), hi = cg_i64(cg, rows);
  l->rows = rows;
  l->parallel = rows > 1 && work >= PARALLEL_WORK;
  if (l->parallel) {
    LLVMValueRef captured[CG_MAX_CAPTURE];
    int slot[CG_MAX_CAPTURE], ncaptured = 0;
    for (int i = 0; i < nptrs; i++)
      if (ptrs[i]) slot[i] = ncaptured, captured[ncaptured++] = ptrs[i];
    l->task = cg_task_begin(cg, captured, ncaptured);
    for (int i = 0; i < nptrs; i++)
      if (ptrs[i]) ptrs[i] = l->task.vals[slot[i]];
    lo = l->task.begin;
    hi = l->task.end;
  }
  l->loop = cg_loop_begin(cg, lo, hi, 1);
  return l->loop.iv;
}

void rows_end(vitc_cg *cg, row_loop *l) {
  cg_loop_end(cg, &l->loop);
  if (l->parallel) cg_task_end(cg, &l->task, l->rows);
}

LLVMValueRef row_base(vitc_cg *cg, const row_shape *s, LLVMValueRef r) {
  LLVMValueRef base = cg_i64(cg, 0);
  int64_t below = 1; /* rows per step of kept dim d */
  for (int d = s->nkept - 1; d >= 0; d--) {
    LLVMValueRef digit = below == 1 ? r : LLVMBuildUDiv(cg->b, r, cg_i64(cg, below), "");
    if (d > 0) digit = LLVMBuildURem(cg->b, digit, cg_i64(cg, s->kept_dims[d]), "");
    base = LLVMBuildNSWAdd(cg->b, base, LLVMBuildNSWMul(cg->b, digit, cg_i64(cg, s->kept_strides[d]), ""), "");
    below *= s->kept_dims[d];
  }
  return base;
}

void elems_begin(vitc_cg *cg, elem_loop *l, const row_shape *s, LLVMValueRef base) {
  l->n = s->nred;
  l->offset = base;
  l->j = cg_i64(cg, 0);
  int64_t below = s->len;
  for (int d = 0; d < s->nred; d++) {
    below /= s->red_dims[d] ? s->red_dims[d] : 1;
    l->loops[d] = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, s->red_dims[d]), 1);
    LLVMValueRef iv = l->loops[d].iv;
    l->offset = LLVMBuildNSWAdd(cg->b, l->offset, LLVMBuildNSWMul(cg->b, iv, cg_i64(cg, s->red_strides[d]), ""), "");
    l->j = LLVMBuildNSWAdd(cg->b, l->j, LLVMBuildNSWMul(cg->b, iv, cg_i64(cg, below), ""), "");
  }
}

void elems_end(vitc_cg *cg, elem_loop *l) {
  for (int d = l->n - 1; d >= 0; d--) cg_loop_end(cg, &l->loops[d]);
}

/* ---------------------------------------------------------------- scalars and vectors alike */

LLVMValueRef const_of(vitc_cg *cg, LLVMTypeRef t, double v) {
  if (LLVMGetTypeKind(t) != LLVMVectorTypeKind) return cg_const(cg, t, v);
  unsigned n = LLVMGetVectorSize(t);
  LLVMValueRef lanes[64], one = cg_const(cg, LLVMGetElementType(t), v);
  for (unsigned i = 0; i < n; i++) lanes[i] = one;
  return LLVMConstVector(lanes, n);
}

static LLVMValueRef K(vitc_cg *cg, LLVMValueRef like, double v) { return const_of(cg, LLVMTypeOf(like), v); }

LLVMValueRef call1(vitc_cg *cg, const char *intrinsic, LLVMValueRef x) {
  LLVMTypeRef t = LLVMTypeOf(x);
  return cg_intrinsic(cg, intrinsic, &t, 1, &x, 1);
}

static LLVMValueRef fmuladd(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c) {
  LLVMTypeRef t = LLVMTypeOf(a);
  LLVMValueRef args[3] = {a, b, c};
  return cg_intrinsic(cg, "llvm.fmuladd", &t, 1, args, 3);
}

static LLVMValueRef sel(vitc_cg *cg, LLVMValueRef c, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildSelect(cg->b, c, a, b, "");
}

static LLVMValueRef fcmp(vitc_cg *cg, LLVMRealPredicate p, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildFCmp(cg->b, p, a, b, "");
}

/* Scalar v as a vector like `like` (or v itself when like is scalar). */
static LLVMValueRef splat(vitc_cg *cg, LLVMValueRef v, LLVMTypeRef like) {
  if (LLVMGetTypeKind(like) != LLVMVectorTypeKind) return v;
  unsigned n = LLVMGetVectorSize(like);
  LLVMValueRef one = LLVMBuildInsertElement(cg->b, LLVMGetPoison(like), v, cg_i32(cg, 0), "");
  return LLVMBuildShuffleVector(cg->b, one, LLVMGetPoison(like), LLVMConstNull(LLVMVectorType(cg->i32, n)), "");
}

/* The same shape of vector (or scalar) with element type e. */
static LLVMTypeRef with_elem(LLVMTypeRef t, LLVMTypeRef e) {
  return LLVMGetTypeKind(t) == LLVMVectorTypeKind ? LLVMVectorType(e, LLVMGetVectorSize(t)) : e;
}

/* exp(x) = 2^n · p(r), x = n·ln2 + r, |r| <= ln2/2 (Cody–Waite split of ln2, Cephes' expf polynomial).
 * 2^n is built from exponent bits in two halves so that n from -150 to 128 stays representable. */
LLVMValueRef emit_expf(vitc_cg *cg, LLVMValueRef x) {
  const double lo = -103.972084045410, hi = 88.7228393554688;
  LLVMTypeRef it = with_elem(LLVMTypeOf(x), cg->i32);
  LLVMValueRef xc = sel(cg, fcmp(cg, LLVMRealOLT, x, K(cg, x, lo)), K(cg, x, lo), x);
  xc = sel(cg, fcmp(cg, LLVMRealOGT, xc, K(cg, x, hi)), K(cg, x, hi), xc);
  LLVMValueRef magic = K(cg, x, 12582912.0); /* 1.5·2^23: adding it rounds to an integer */
  LLVMValueRef t = fmuladd(cg, xc, K(cg, x, 1.44269504088896341), magic);
  LLVMValueRef n = LLVMBuildFSub(cg->b, t, magic, "");
  LLVMValueRef r = fmuladd(cg, n, K(cg, x, -0.693359375), xc);
  r = fmuladd(cg, n, K(cg, x, 2.12194440e-4), r);
  static const double c[] = {1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2,
                             1.6666665459e-1, 5.0000001201e-1};
  LLVMValueRef p = K(cg, x, c[0]);
  for (int i = 1; i < 6; i++) p = fmuladd(cg, p, r, K(cg, x, c[i]));
  LLVMValueRef y = LLVMBuildFAdd(cg->b, fmuladd(cg, p, LLVMBuildFMul(cg->b, r, r, ""), r), K(cg, x, 1), "");
  LLVMValueRef ni = LLVMBuildSub(cg->b, LLVMBuildBitCast(cg->b, t, it, ""), const_of(cg, it, 0x4B400000), "");
  LLVMValueRef n1 = LLVMBuildAShr(cg->b, ni, const_of(cg, it, 1), ""), n2 = LLVMBuildSub(cg->b, ni, n1, "");
  LLVMValueRef s1 = LLVMBuildShl(cg->b, LLVMBuildAdd(cg->b, n1, const_of(cg, it, 127), ""), const_of(cg, it, 23), "");
  LLVMValueRef s2 = LLVMBuildShl(cg->b, LLVMBuildAdd(cg->b, n2, const_of(cg, it, 127), ""), const_of(cg, it, 23), "");
  y = LLVMBuildFMul(cg->b, y, LLVMBuildBitCast(cg->b, s1, LLVMTypeOf(x), ""), "");
  y = LLVMBuildFMul(cg->b, y, LLVMBuildBitCast(cg->b, s2, LLVMTypeOf(x), ""), "");
  y = sel(cg, fcmp(cg, LLVMRealOLT, x, K(cg, x, lo)), K(cg, x, 0), y);
  return sel(cg, fcmp(cg, LLVMRealOGT, x, K(cg, x, hi)), K(cg, x, INFINITY), y);
}

/* ---------------------------------------------------------------- folds */

LLVMValueRef load_f64(vitc_cg *cg, LLVMValueRef x, LLVMValueRef e, vitc_dtype t) {
  return cg_convert(cg, cg_load(cg, x, e, t), t, VITC_F64);
}

void store_f64(vitc_cg *cg, LLVMValueRef y, LLVMValueRef e, vitc_dtype t, LLVMValueRef v) {
  cg_store(cg, y, e, t, cg_convert(cg, v, VITC_F64, t));
}

/* The identity of a fold over dtype t: Max and Min of nothing are the type's extremes, as in the
 * evaluator. */
static double fold_identity(fold_op f, vitc_dtype t) {
  switch (f) {
  case FOLD_SUM: return 0;
  case FOLD_PROD: return 1;
  case FOLD_MAX_NUM: return -INFINITY;
  default: break;
  }
  bool max = f == FOLD_MAX;
  switch (t) {
  case VITC_I8: return max ? INT8_MIN : INT8_MAX;
  case VITC_I16: return max ? INT16_MIN : INT16_MAX;
  case VITC_I32: return max ? INT32_MIN : INT32_MAX;
  case VITC_I64: return max ? (double)INT64_MIN : 9223372036854775807.0;
  case VITC_U8: return max ? 0 : UINT8_MAX;
  case VITC_U16: return max ? 0 : UINT16_MAX;
  case VITC_U32: return max ? 0 : UINT32_MAX;
  case VITC_U64: return max ? 0 : 18446744073709551615.0;
  case VITC_BOOL: return max ? 0 : 1;
  default: return max ? -INFINITY : INFINITY;
  }
}

/* map(v) in v's (scalar or vector) float type; shift already of that type. */
static LLVMValueRef apply_map(vitc_cg *cg, fold_map m, LLVMValueRef v, LLVMValueRef shift) {
  switch (m) {
  case MAP_ABS: return call1(cg, "llvm.fabs", v);
  case MAP_SQUARE: return LLVMBuildFMul(cg->b, v, v, "");
  case MAP_SQDEV: {
    LLVMValueRef d = LLVMBuildFSub(cg->b, v, shift, "");
    return LLVMBuildFMul(cg->b, d, d, "");
  }
  case MAP_EXP: {
    LLVMValueRef d = LLVMBuildFSub(cg->b, v, shift, "");
    return LLVMGetTypeKind(LLVMTypeOf(d)) == LLVMDoubleTypeKind ? call1(cg, "llvm.exp", d) : emit_expf(cg, d);
  }
  default: return v;
  }
}

static LLVMValueRef apply_fold(vitc_cg *cg, fold_op f, LLVMValueRef acc, LLVMValueRef v) {
  switch (f) {
  case FOLD_SUM: return LLVMBuildFAdd(cg->b, acc, v, "");
  case FOLD_PROD: return LLVMBuildFMul(cg->b, acc, v, "");
  case FOLD_MAX_NUM: return sel(cg, fcmp(cg, LLVMRealOGT, v, acc), v, acc);
  default: {
    LLVMValueRef better = fcmp(cg, f == FOLD_MAX ? LLVMRealOGT : LLVMRealOLT, v, acc);
    return sel(cg, LLVMBuildOr(cg->b, better, fcmp(cg, LLVMRealUNO, v, v), ""), v, acc);
  }
  }
}

/* A float's contribution: exp is taken in float (emit_expf), the other maps after widening to the
 * accumulator's type (double for sums, float for max and min). */
static LLVMValueRef contribution(vitc_cg *cg, fold_map m, fold_op f, LLVMValueRef v, LLVMValueRef shift_f64) {
  LLVMTypeRef elem = f == FOLD_SUM || f == FOLD_PROD ? cg->f64 : cg->f32, acc_t = with_elem(LLVMTypeOf(v), elem);
  LLVMTypeRef shift_elem = m == MAP_EXP ? cg->f32 : elem;
  LLVMValueRef shift = NULL;
  if (shift_f64) {
    shift = shift_elem == cg->f32 ? LLVMBuildFPTrunc(cg->b, shift_f64, cg->f32, "") : shift_f64;
    shift = splat(cg, shift, with_elem(LLVMTypeOf(v), shift_elem));
  }
  if (m == MAP_EXP) {
    LLVMValueRef e = apply_map(cg, m, v, shift);
    return elem == cg->f32 ? e : LLVMBuildFPExt(cg->b, e, acc_t, "");
  }
  if (elem != cg->f32) v = LLVMBuildFPExt(cg->b, v, acc_t, "");
  return apply_map(cg, m, v, shift);
}

/* The lanes of v folded pairwise, halves at a time (the folds are associative up to rounding, and NaN
 * propagates through any order). */
static LLVMValueRef fold_lanes(vitc_cg *cg, fold_op f, LLVMValueRef v) {
  for (unsigned w = LLVMGetVectorSize(LLVMTypeOf(v)) / 2; w >= 1; w /= 2) {
    LLVMValueRef lo[VEC], hi[VEC];
    for (unsigned i = 0; i < w; i++) lo[i] = cg_i32(cg, (int32_t)i), hi[i] = cg_i32(cg, (int32_t)(w + i));
    LLVMValueRef a = LLVMBuildShuffleVector(cg->b, v, v, LLVMConstVector(lo, w), "");
    LLVMValueRef b = LLVMBuildShuffleVector(cg->b, v, v, LLVMConstVector(hi, w), "");
    v = apply_fold(cg, f, a, b);
  }
  return LLVMBuildExtractElement(cg->b, v, cg_i32(cg, 0), "");
}

/* float32, consecutive elements: VEC-wide partials, then the lanes, then the tail. */
static LLVMValueRef fold_row_f32(vitc_cg *cg, LLVMValueRef x, LLVMValueRef base, int64_t len, fold_map m,
                                 LLVMValueRef shift, fold_op f) {
  bool wide = f == FOLD_SUM || f == FOLD_PROD;
  LLVMTypeRef acc_t = wide ? cg->f64 : cg->f32, vec_t = LLVMVectorType(acc_t, VEC);
  LLVMValueRef acc = cg_var(cg, acc_t, cg_const(cg, acc_t, fold_identity(f, VITC_F32)));
  int64_t vlen = len / VEC * VEC;
  if (vlen) {
    LLVMValueRef vacc = cg_var(cg, vec_t, const_of(cg, vec_t, fold_identity(f, VITC_F32)));
    cg_loop l = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, vlen), VEC);
    LLVMValueRef p = cg_gep(cg, cg->f32, x, LLVMBuildNSWAdd(cg->b, base, l.iv, ""));
    LLVMValueRef v = LLVMBuildLoad2(cg->b, LLVMVectorType(cg->f32, VEC), p, "");
    LLVMSetAlignment(v, 4);
    LLVMBuildStore(cg->b, apply_fold(cg, f, LLVMBuildLoad2(cg->b, vec_t, vacc, ""), contribution(cg, m, f, v, shift)),
                   vacc);
    cg_loop_end(cg, &l);
    LLVMValueRef lanes = fold_lanes(cg, f, LLVMBuildLoad2(cg->b, vec_t, vacc, ""));
    LLVMBuildStore(cg->b, apply_fold(cg, f, LLVMBuildLoad2(cg->b, acc_t, acc, ""), lanes), acc);
  }
  if (vlen < len) {
    cg_loop l = cg_loop_begin(cg, cg_i64(cg, vlen), cg_i64(cg, len), 1);
    LLVMValueRef v = cg_load(cg, x, LLVMBuildNSWAdd(cg->b, base, l.iv, ""), VITC_F32);
    LLVMBuildStore(cg->b, apply_fold(cg, f, LLVMBuildLoad2(cg->b, acc_t, acc, ""), contribution(cg, m, f, v, shift)),
                   acc);
    cg_loop_end(cg, &l);
  }
  LLVMValueRef a = LLVMBuildLoad2(cg->b, acc_t, acc, "");
  return wide ? a : LLVMBuildFPExt(cg->b, a, cg->f64, "");
}

LLVMValueRef fold_row(vitc_cg *cg, const row_shape *s, LLVMValueRef x, vitc_dtype t, LLVMValueRef base,
                      fold_map map, LLVMValueRef shift, fold_op fold) {
  if (t == VITC_F32 && row_contiguous(s)) return fold_row_f32(cg, x, base, s->len, map, shift, fold);
  LLVMValueRef acc = cg_var(cg, cg->f64, cg_const(cg, cg->f64, fold_identity(fold, t)));
  elem_loop e;
  elems_begin(cg, &e, s, base);
  LLVMValueRef v = apply_map(cg, map, load_f64(cg, x, e.offset, t), shift);
  LLVMBuildStore(cg->b, apply_fold(cg, fold, LLVMBuildLoad2(cg->b, cg->f64, acc, ""), v), acc);
  elems_end(cg, &e);
  return LLVMBuildLoad2(cg->b, cg->f64, acc, "");
}

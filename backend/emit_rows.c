/* emit_rows.c — rows, the row loop and folds for the reduction and normalisation emitters (emit_rows.h). */
#include <math.h>
#include <string.h>

#include "emit_rows.h"

/* Elements below which a row loop stays on the calling thread. A job costs its caller about 1 us (publishing
 * it, then waiting for the other share; thread CPU time at 2 threads, MaxViT-T's LayerNorms), and a row kernel
 * passes 6000 elements a us: halving a loop of 32768 saves twice what the job costs. (65536 left MaxViT-T's
 * and CaiT-XXS24's 196 x 256 and 197 x 192 LayerNorms, 5-8 us each, on one thread.) */
#define PARALLEL_WORK 32768

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
    LLVMValueRef digit = ix_divk(cg, r, below);
    if (d > 0) digit = ix_remk(cg, digit, s->kept_dims[d]);
    base = ix_add(cg, base, ix_mulk(cg, digit, s->kept_strides[d]));
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
    l->offset = ix_add(cg, l->offset, ix_mulk(cg, iv, s->red_strides[d]));
    l->j = ix_add(cg, l->j, ix_mulk(cg, iv, below));
  }
}

void elems_end(vitc_cg *cg, elem_loop *l) {
  for (int d = l->n - 1; d >= 0; d--) cg_loop_end(cg, &l->loops[d]);
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
static double fold_identity(vec_fold f, vitc_dtype t) {
  switch (f) {
  case VEC_SUM: return 0;
  case VEC_PROD: return 1;
  case VEC_MAX: return -INFINITY;
  default: break;
  }
  bool max = f == VEC_MAX_NAN;
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
  case MAP_ABS: return vec_abs(cg, v);
  case MAP_SQUARE: return vec_mul(cg, v, v);
  case MAP_SQDEV: {
    LLVMValueRef d = vec_sub(cg, v, shift);
    return vec_mul(cg, d, d);
  }
  case MAP_EXP: return vm_exp(cg, vec_sub(cg, v, shift));
  default: return v;
  }
}

static bool wide_fold(vec_fold f) { return f == VEC_SUM || f == VEC_PROD; }

/* A float's contribution: exp is taken in float (vm_exp), the other maps after widening to the
 * accumulator's type (double for sums, float for max and min). */
static LLVMValueRef contribution(vitc_cg *cg, fold_map m, vec_fold f, LLVMValueRef v, LLVMValueRef shift_f64) {
  LLVMTypeRef elem = wide_fold(f) ? cg->f64 : cg->f32, acc_t = vec_with_elem(LLVMTypeOf(v), elem);
  LLVMValueRef shift = NULL;
  if (m == MAP_EXP) {
    LLVMValueRef e = apply_map(cg, m, v, vec_cast_like(cg, shift_f64, v));
    return elem == cg->f32 ? e : vec_fcast(cg, e, acc_t);
  }
  if (elem != cg->f32) v = vec_fcast(cg, v, acc_t);
  if (shift_f64) shift = vec_cast_like(cg, shift_f64, v);
  return apply_map(cg, m, v, shift);
}

/* float32, consecutive elements: partials of the target's width, then the lanes, then the tail. */
static LLVMValueRef fold_row_f32(vitc_cg *cg, LLVMValueRef x, LLVMValueRef base, int64_t len, fold_map m,
                                 LLVMValueRef shift, vec_fold f) {
  int w = vec_width(cg);
  LLVMTypeRef acc_t = wide_fold(f) ? cg->f64 : cg->f32, vec_t = vec_of(cg, acc_t, w);
  cg_mut acc = cg_mut_new(cg, acc_t, cg_const(cg, acc_t, fold_identity(f, VITC_F32)));
  int64_t vlen = len / w * w;
  if (vlen) {
    cg_mut vacc = cg_mut_new(cg, vec_t, vec_const(cg, vec_t, fold_identity(f, VITC_F32)));
    cg_loop l = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, vlen), w);
    LLVMValueRef v = vec_load(cg, vec_f32(cg), gep_f32(cg, x, ix_add(cg, base, l.iv)), w);
    cg_set(cg, vacc, vec_combine(cg, f, cg_get(cg, vacc), contribution(cg, m, f, v, shift)));
    cg_loop_end(cg, &l);
    cg_set(cg, acc, vec_combine(cg, f, cg_get(cg, acc), vec_reduce(cg, f, cg_get(cg, vacc))));
  }
  if (vlen < len) {
    cg_loop l = cg_loop_begin(cg, cg_i64(cg, vlen), cg_i64(cg, len), 1);
    LLVMValueRef v = cg_load(cg, x, ix_add(cg, base, l.iv), VITC_F32);
    cg_set(cg, acc, vec_combine(cg, f, cg_get(cg, acc), contribution(cg, m, f, v, shift)));
    cg_loop_end(cg, &l);
  }
  LLVMValueRef a = cg_get(cg, acc);
  return wide_fold(f) ? a : vec_fcast(cg, a, cg->f64);
}

LLVMValueRef fold_row(vitc_cg *cg, const row_shape *s, LLVMValueRef x, vitc_dtype t, LLVMValueRef base,
                      fold_map map, LLVMValueRef shift, vec_fold fold) {
  if (t == VITC_F32 && row_contiguous(s)) return fold_row_f32(cg, x, base, s->len, map, shift, fold);
  cg_mut acc = cg_mut_new(cg, cg->f64, cg_const(cg, cg->f64, fold_identity(fold, t)));
  elem_loop e;
  elems_begin(cg, &e, s, base);
  cg_set(cg, acc, vec_combine(cg, fold, cg_get(cg, acc), apply_map(cg, map, load_f64(cg, x, e.offset, t), shift)));
  elems_end(cg, &e);
  return cg_get(cg, acc);
}

bool rows_side_by_side(const row_shape *s) {
  return s->nkept >= 1 && s->nred >= 1 && s->kept_strides[s->nkept - 1] == 1;
}

LLVMValueRef fold_columns(vitc_cg *cg, const row_shape *s, LLVMValueRef x, LLVMValueRef base, LLVMValueRef mask,
                          fold_map map, vec_fold fold) {
  int w = vec_width(cg);
  LLVMTypeRef acc_t = vec_of(cg, wide_fold(fold) ? cg->f64 : cg->f32, w);
  cg_mut acc = cg_mut_new(cg, acc_t, vec_const(cg, acc_t, fold_identity(fold, VITC_F32)));
  elem_loop e;
  elems_begin(cg, &e, s, base);
  LLVMValueRef p = gep_f32(cg, x, e.offset);
  LLVMValueRef v = mask ? vec_load_masked(cg, vec_f32(cg), p, mask) : vec_load(cg, vec_f32(cg), p, w);
  cg_set(cg, acc, vec_combine(cg, fold, cg_get(cg, acc), contribution(cg, map, fold, v, NULL)));
  elems_end(cg, &e);
  LLVMValueRef a = cg_get(cg, acc);
  return wide_fold(fold) ? a : vec_fcast(cg, a, vec_of(cg, cg->f64, w));
}

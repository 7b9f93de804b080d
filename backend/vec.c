/* vec.c — the vector vocabulary of generated code (vec.h). */
#include "vec.h"

#define MAX_LANES 64

/* A vitc_cg that vitc_codegen did not set up counts as the baseline every target has. */
int vec_width(vitc_cg *cg) { return cg->vlanes ? cg->vlanes : 4; }
int vec_per_line(vitc_cg *cg) {
  int bytes = vec_width(cg) * (int)sizeof(float);
  return bytes < VEC_CACHE_LINE ? VEC_CACHE_LINE / bytes : 1;
}

LLVMTypeRef vec_of(vitc_cg *cg, LLVMTypeRef elem, int lanes) {
  (void)cg;
  return lanes == 1 ? elem : LLVMVectorType(elem, (unsigned)lanes);
}

LLVMTypeRef vec_f32(vitc_cg *cg) { return vec_of(cg, cg->f32, vec_width(cg)); }

int vec_lanes(LLVMTypeRef t) { return LLVMGetTypeKind(t) == LLVMVectorTypeKind ? (int)LLVMGetVectorSize(t) : 1; }

LLVMTypeRef vec_elem(LLVMTypeRef t) { return LLVMGetTypeKind(t) == LLVMVectorTypeKind ? LLVMGetElementType(t) : t; }

LLVMTypeRef vec_with_elem(LLVMTypeRef t, LLVMTypeRef e) {
  return LLVMGetTypeKind(t) == LLVMVectorTypeKind ? LLVMVectorType(e, LLVMGetVectorSize(t)) : e;
}

bool vec_is_float(LLVMValueRef v) {
  LLVMTypeKind k = LLVMGetTypeKind(vec_elem(LLVMTypeOf(v)));
  return k == LLVMFloatTypeKind || k == LLVMDoubleTypeKind || k == LLVMHalfTypeKind;
}

/* ---------------------------------------------------------------- constants and broadcasts */

LLVMValueRef vec_const(vitc_cg *cg, LLVMTypeRef t, double v) {
  if (LLVMGetTypeKind(t) != LLVMVectorTypeKind) return cg_const(cg, t, v);
  unsigned n = LLVMGetVectorSize(t);
  LLVMValueRef lanes[MAX_LANES], one = cg_const(cg, LLVMGetElementType(t), v);
  for (unsigned i = 0; i < n; i++) lanes[i] = one;
  return LLVMConstVector(lanes, n);
}

LLVMValueRef vec_k(vitc_cg *cg, LLVMValueRef like, double v) { return vec_const(cg, LLVMTypeOf(like), v); }

LLVMValueRef vec_splat(vitc_cg *cg, LLVMValueRef s, LLVMTypeRef t) {
  if (LLVMGetTypeKind(t) != LLVMVectorTypeKind) return s;
  unsigned n = LLVMGetVectorSize(t);
  LLVMValueRef one = LLVMBuildInsertElement(cg->b, LLVMGetPoison(t), s, cg_i32(cg, 0), "");
  return LLVMBuildShuffleVector(cg->b, one, LLVMGetPoison(t), LLVMConstNull(LLVMVectorType(cg->i32, n)), "");
}

/* ---------------------------------------------------------------- memory */

LLVMValueRef vec_mask(vitc_cg *cg, int lanes, int n) {
  LLVMValueRef bits[MAX_LANES];
  for (int i = 0; i < lanes; i++) bits[i] = LLVMConstInt(cg->i1, i < n, false);
  return LLVMConstVector(bits, (unsigned)lanes);
}

LLVMValueRef vec_mask_dyn(vitc_cg *cg, int lanes, LLVMValueRef n) {
  LLVMValueRef idx[MAX_LANES];
  for (int i = 0; i < lanes; i++) idx[i] = cg_i64(cg, i);
  LLVMTypeRef t = LLVMVectorType(cg->i64, (unsigned)lanes);
  return LLVMBuildICmp(cg->b, LLVMIntSLT, LLVMConstVector(idx, (unsigned)lanes), vec_splat(cg, n, t), "");
}

/* Vectors are unaligned (a row of a tensor starts at any element); their elements are not. */
static unsigned elem_align(LLVMTypeRef t) {
  LLVMTypeRef e = vec_elem(t);
  switch (LLVMGetTypeKind(e)) {
  case LLVMHalfTypeKind: return 2;
  case LLVMFloatTypeKind: return 4;
  case LLVMDoubleTypeKind: return 8;
  case LLVMIntegerTypeKind: return LLVMGetIntTypeWidth(e) >= 8 ? LLVMGetIntTypeWidth(e) / 8 : 1;
  default: return 1;
  }
}

LLVMValueRef vec_load(vitc_cg *cg, LLVMTypeRef t, LLVMValueRef p, int n) {
  if (n == vec_lanes(t)) return vec_load1(cg, t, p);
  return vec_load_masked(cg, t, p, vec_mask(cg, vec_lanes(t), n));
}

LLVMValueRef vec_load_masked(vitc_cg *cg, LLVMTypeRef t, LLVMValueRef p, LLVMValueRef mask) {
  LLVMTypeRef types[2] = {t, cg->ptr};
  LLVMValueRef args[4] = {p, cg_i32(cg, (int32_t)elem_align(t)), mask, LLVMConstNull(t)};
  return cg_intrinsic(cg, "llvm.masked.load", types, 2, args, 4);
}

void vec_store(vitc_cg *cg, LLVMValueRef v, LLVMValueRef p, int n) {
  if (n == vec_lanes(LLVMTypeOf(v))) {
    LLVMSetAlignment(LLVMBuildStore(cg->b, v, p), elem_align(LLVMTypeOf(v)));
    return;
  }
  vec_store_masked(cg, v, p, vec_mask(cg, vec_lanes(LLVMTypeOf(v)), n));
}

void vec_store_masked(vitc_cg *cg, LLVMValueRef v, LLVMValueRef p, LLVMValueRef mask) {
  LLVMTypeRef types[2] = {LLVMTypeOf(v), cg->ptr};
  LLVMValueRef args[4] = {v, p, cg_i32(cg, (int32_t)elem_align(LLVMTypeOf(v))), mask};
  cg_intrinsic(cg, "llvm.masked.store", types, 2, args, 4);
}

LLVMValueRef vec_load1(vitc_cg *cg, LLVMTypeRef t, LLVMValueRef p) {
  LLVMValueRef v = LLVMBuildLoad2(cg->b, t, p, "");
  LLVMSetAlignment(v, elem_align(t));
  return v;
}

void vec_store1(vitc_cg *cg, LLVMValueRef v, LLVMValueRef p) {
  LLVMSetAlignment(LLVMBuildStore(cg->b, v, p), elem_align(LLVMTypeOf(v)));
}

void vec_prefetch_l2(vitc_cg *cg, LLVMValueRef p) {
  /* read, locality 2 (prefetcht1 on x86), data */
  LLVMValueRef args[4] = {p, cg_i32(cg, 0), cg_i32(cg, 2), cg_i32(cg, 1)};
  cg_intrinsic(cg, "llvm.prefetch", &cg->ptr, 1, args, 4);
}

LLVMValueRef vec_gep(vitc_cg *cg, LLVMTypeRef elem, LLVMValueRef base, LLVMValueRef i) {
  return cg_gep(cg, elem, base, i);
}

LLVMValueRef gep_f32(vitc_cg *cg, LLVMValueRef base, LLVMValueRef i) { return cg_gep(cg, cg->f32, base, i); }

LLVMValueRef gep_f32_at(vitc_cg *cg, LLVMValueRef base, LLVMValueRef i, int64_t scale, int64_t plus) {
  return gep_f32(cg, base, ix_addk(cg, ix_mulk(cg, i, scale), plus));
}

/* ---------------------------------------------------------------- float arithmetic */

LLVMValueRef vec_add(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFAdd(cg->b, a, b, ""); }
LLVMValueRef vec_sub(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFSub(cg->b, a, b, ""); }
LLVMValueRef vec_mul(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFMul(cg->b, a, b, ""); }
LLVMValueRef vec_div(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFDiv(cg->b, a, b, ""); }
LLVMValueRef vec_neg(vitc_cg *cg, LLVMValueRef a) { return LLVMBuildFNeg(cg->b, a, ""); }

/* vrcp14ps of each 16-lane part of b (16, 32, 48 or 64 lanes), the parts joined pairwise back into one
 * vector (a lone last part joined with itself, the copy cut off at the end). */
static LLVMValueRef rcp14_parts(vitc_cg *cg, LLVMValueRef b) {
  int n = vec_lanes(LLVMTypeOf(b)), nparts = n / 16, idx[64];
  LLVMValueRef part[4];
  for (int p = 0; p < nparts; p++) {
    for (int e = 0; e < 16; e++) idx[e] = p * 16 + e;
    LLVMValueRef bp = nparts == 1 ? b : vec_shuffle(cg, b, NULL, idx, 16);
    LLVMValueRef args[3] = {bp, vec_k(cg, bp, 0), LLVMConstInt(cg->i16, 0xffff, false)};
    part[p] = cg_intrinsic(cg, "llvm.x86.avx512.rcp14.ps.512", NULL, 0, args, 3);
  }
  for (int width = 16; nparts > 1; width *= 2, nparts = (nparts + 1) / 2) {
    for (int e = 0; e < 2 * width; e++) idx[e] = e;
    for (int p = 0; p < nparts; p += 2)
      part[p / 2] = vec_shuffle(cg, part[p], part[p + 1 < nparts ? p + 1 : p], idx, 2 * width);
  }
  for (int e = 0; e < n; e++) idx[e] = e;
  return vec_lanes(LLVMTypeOf(part[0])) == n ? part[0] : vec_shuffle(cg, part[0], NULL, idx, n);
}

LLVMValueRef vec_div_by_normal(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b) {
  LLVMTypeRef t = LLVMTypeOf(b);
  if (cg->vlanes != 16 || vec_lanes(t) % 16 || vec_lanes(t) > 64 || vec_elem(t) != cg->f32) return vec_div(cg, a, b);
  LLVMValueRef r = rcp14_parts(cg, b);
  LLVMValueRef e = vec_fma(cg, vec_neg(cg, b), r, vec_k(cg, b, 1)); /* 1 - b·r */
  return vec_mul(cg, a, vec_fma(cg, r, e, r));
}

static LLVMValueRef intrinsic2(vitc_cg *cg, const char *name, LLVMValueRef a, LLVMValueRef b) {
  LLVMTypeRef t = LLVMTypeOf(a);
  LLVMValueRef args[2] = {a, b};
  return cg_intrinsic(cg, name, &t, 1, args, 2);
}

static LLVMValueRef intrinsic3(vitc_cg *cg, const char *name, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c) {
  LLVMTypeRef t = LLVMTypeOf(a);
  LLVMValueRef args[3] = {a, b, c};
  return cg_intrinsic(cg, name, &t, 1, args, 3);
}

LLVMValueRef vec_fma(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c) {
  return intrinsic3(cg, "llvm.fma", a, b, c);
}
LLVMValueRef vec_muladd(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c) {
  return intrinsic3(cg, "llvm.fmuladd", a, b, c);
}
LLVMValueRef vec_max(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b) { return intrinsic2(cg, "llvm.maxnum", a, b); }
LLVMValueRef vec_max_ordered(vitc_cg *cg, LLVMValueRef m, LLVMValueRef x) {
  return vec_select(cg, vec_cmp(cg, LLVMRealOGT, x, m), x, m);
}
LLVMValueRef vec_min(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b) { return intrinsic2(cg, "llvm.minnum", a, b); }
LLVMValueRef vec_clamp(vitc_cg *cg, LLVMValueRef x, double lo, double hi) {
  return vec_min(cg, vec_max(cg, x, vec_k(cg, x, lo)), vec_k(cg, x, hi));
}

LLVMValueRef vec_call1(vitc_cg *cg, const char *intrinsic, LLVMValueRef x) {
  LLVMTypeRef t = LLVMTypeOf(x);
  return cg_intrinsic(cg, intrinsic, &t, 1, &x, 1);
}

LLVMValueRef vec_abs(vitc_cg *cg, LLVMValueRef a) { return vec_call1(cg, "llvm.fabs", a); }
LLVMValueRef vec_sqrt(vitc_cg *cg, LLVMValueRef a) { return vec_call1(cg, "llvm.sqrt", a); }

LLVMValueRef vec_cmp(vitc_cg *cg, LLVMRealPredicate p, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildFCmp(cg->b, p, a, b, "");
}

LLVMValueRef vec_select(vitc_cg *cg, LLVMValueRef cond, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildSelect(cg->b, cond, a, b, "");
}

LLVMValueRef vec_cast_like(vitc_cg *cg, LLVMValueRef s, LLVMValueRef like) {
  LLVMTypeRef e = vec_elem(LLVMTypeOf(like));
  if (LLVMTypeOf(s) != e) s = LLVMBuildFPCast(cg->b, s, e, "");
  return vec_splat(cg, s, LLVMTypeOf(like));
}

/* ---------------------------------------------------------------- integers, bits and masks */

LLVMValueRef vec_iadd(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildAdd(cg->b, a, b, ""); }
LLVMValueRef vec_isub(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildSub(cg->b, a, b, ""); }
LLVMValueRef vec_imul(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildMul(cg->b, a, b, ""); }
LLVMValueRef vec_ineg(vitc_cg *cg, LLVMValueRef a) { return LLVMBuildNeg(cg->b, a, ""); }
LLVMValueRef vec_sdiv(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildSDiv(cg->b, a, b, ""); }
LLVMValueRef vec_srem(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildSRem(cg->b, a, b, ""); }
LLVMValueRef vec_and(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildAnd(cg->b, a, b, ""); }
LLVMValueRef vec_or(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildOr(cg->b, a, b, ""); }
LLVMValueRef vec_xor(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildXor(cg->b, a, b, ""); }
LLVMValueRef vec_not(vitc_cg *cg, LLVMValueRef a) { return LLVMBuildNot(cg->b, a, ""); }
LLVMValueRef vec_shl(vitc_cg *cg, LLVMValueRef a, LLVMValueRef bits) { return LLVMBuildShl(cg->b, a, bits, ""); }
LLVMValueRef vec_lshr(vitc_cg *cg, LLVMValueRef a, LLVMValueRef bits) { return LLVMBuildLShr(cg->b, a, bits, ""); }
LLVMValueRef vec_ashr(vitc_cg *cg, LLVMValueRef a, LLVMValueRef bits) { return LLVMBuildAShr(cg->b, a, bits, ""); }
LLVMValueRef vec_icmp(vitc_cg *cg, LLVMIntPredicate p, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildICmp(cg->b, p, a, b, "");
}

/* ---------------------------------------------------------------- conversions */

LLVMValueRef vec_bitcast(vitc_cg *cg, LLVMValueRef v, LLVMTypeRef t) { return LLVMBuildBitCast(cg->b, v, t, ""); }
LLVMValueRef vec_fcast(vitc_cg *cg, LLVMValueRef v, LLVMTypeRef t) { return LLVMBuildFPCast(cg->b, v, t, ""); }
LLVMValueRef vec_sitofp(vitc_cg *cg, LLVMValueRef v, LLVMTypeRef t) { return LLVMBuildSIToFP(cg->b, v, t, ""); }
LLVMValueRef vec_uitofp(vitc_cg *cg, LLVMValueRef v, LLVMTypeRef t) { return LLVMBuildUIToFP(cg->b, v, t, ""); }
LLVMValueRef vec_fptosi(vitc_cg *cg, LLVMValueRef v, LLVMTypeRef t) { return LLVMBuildFPToSI(cg->b, v, t, ""); }
LLVMValueRef vec_zext(vitc_cg *cg, LLVMValueRef v, LLVMTypeRef t) { return LLVMBuildZExt(cg->b, v, t, ""); }

/* ---------------------------------------------------------------- lanes */

LLVMValueRef vec_combine(vitc_cg *cg, vec_fold f, LLVMValueRef a, LLVMValueRef b) {
  switch (f) {
  case VEC_SUM: return vec_add(cg, a, b);
  case VEC_PROD: return vec_mul(cg, a, b);
  case VEC_MAX: return vec_max(cg, a, b);
  case VEC_MIN: return vec_min(cg, a, b);
  default: { /* the NaN-keeping forms: b wins where it is better or NaN */
    LLVMValueRef better = vec_cmp(cg, f == VEC_MAX_NAN ? LLVMRealOGT : LLVMRealOLT, b, a);
    return vec_select(cg, LLVMBuildOr(cg->b, better, vec_cmp(cg, LLVMRealUNO, b, b), ""), b, a);
  }
  }
}

LLVMValueRef vec_reduce(vitc_cg *cg, vec_fold f, LLVMValueRef v) {
  for (int w = vec_lanes(LLVMTypeOf(v)) / 2; w >= 1; w /= 2) {
    LLVMValueRef lo[MAX_LANES], hi[MAX_LANES];
    for (int i = 0; i < w; i++) lo[i] = cg_i32(cg, i), hi[i] = cg_i32(cg, w + i);
    LLVMValueRef a = LLVMBuildShuffleVector(cg->b, v, v, LLVMConstVector(lo, (unsigned)w), "");
    LLVMValueRef b = LLVMBuildShuffleVector(cg->b, v, v, LLVMConstVector(hi, (unsigned)w), "");
    v = vec_combine(cg, f, a, b);
  }
  return LLVMGetTypeKind(LLVMTypeOf(v)) == LLVMVectorTypeKind ? vec_lane(cg, v, 0) : v;
}

LLVMValueRef vec_lane(vitc_cg *cg, LLVMValueRef v, int i) { return LLVMBuildExtractElement(cg->b, v, cg_i32(cg, i), ""); }
LLVMValueRef vec_with_lane(vitc_cg *cg, LLVMValueRef v, LLVMValueRef x, int i) {
  return LLVMBuildInsertElement(cg->b, v, x, cg_i32(cg, i), "");
}

LLVMValueRef vec_shuffle(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b, const int *lanes, int n) {
  LLVMValueRef mask[VEC_MAX_SHUFFLE];
  if (n > VEC_MAX_SHUFFLE) n = VEC_MAX_SHUFFLE; /* never: the widest vector built is 64 lanes */
  for (int k = 0; k < n; k++) mask[k] = cg_i32(cg, lanes[k]);
  return LLVMBuildShuffleVector(cg->b, a, b ? b : LLVMGetPoison(LLVMTypeOf(a)), LLVMConstVector(mask, (unsigned)n), "");
}

/* ---------------------------------------------------------------- index arithmetic */

LLVMValueRef ix_add(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWAdd(cg->b, a, b, ""); }
LLVMValueRef ix_sub(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWSub(cg->b, a, b, ""); }
LLVMValueRef ix_addk(vitc_cg *cg, LLVMValueRef a, int64_t b) { return b ? ix_add(cg, a, cg_i64(cg, b)) : a; }
LLVMValueRef ix_mul(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWMul(cg->b, a, b, ""); }
LLVMValueRef ix_mulk(vitc_cg *cg, LLVMValueRef a, int64_t b) { return b == 1 ? a : ix_mul(cg, a, cg_i64(cg, b)); }
LLVMValueRef ix_min(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildSelect(cg->b, LLVMBuildICmp(cg->b, LLVMIntSLT, a, b, ""), a, b, "");
}
LLVMValueRef ix_divk(vitc_cg *cg, LLVMValueRef a, int64_t b) {
  return b == 1 ? a : LLVMBuildUDiv(cg->b, a, cg_i64(cg, b), "");
}
LLVMValueRef ix_remk(vitc_cg *cg, LLVMValueRef a, int64_t b) { return LLVMBuildURem(cg->b, a, cg_i64(cg, b), ""); }
LLVMValueRef ix_div(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildUDiv(cg->b, a, b, ""); }
LLVMValueRef ix_rem(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildURem(cg->b, a, b, ""); }

/* ---------------------------------------------------------------- vector loops */

void vec_for(vitc_cg *cg, LLVMValueRef lo, int64_t len, int w, vec_loop_body body, void *state) {
  int64_t full = len / w * w;
  if (full > w) {
    cg_loop l = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, full), w);
    body(cg, ix_add(cg, lo, l.iv), w, state);
    cg_loop_end(cg, &l);
  } else if (full == w) {
    body(cg, lo, w, state);
  }
  if (full < len) body(cg, ix_addk(cg, lo, full), (int)(len - full), state);
}

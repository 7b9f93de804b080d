/* vmath.c — inline transcendentals on floats and float vectors (vmath.h). Each comment states the error
 * tests/unit/test_vmath.c measured (and asserts) against libm in double. */
#include <math.h>
#include <stdio.h>

#include "vmath.h"

static bool is_double(LLVMValueRef x) { return LLVMGetTypeKind(vec_elem(LLVMTypeOf(x))) == LLVMDoubleTypeKind; }

/* float64 keeps libm's precision, as the evaluator computes: a scalar call ("erf", "tanh"). */
static LLVMValueRef libm_double(vitc_cg *cg, const char *name, LLVMValueRef x) {
  LLVMValueRef call = cg_call(cg, name, LLVMTypeOf(x), &x, 1);
  LLVMSetInstructionCallConv(call, LLVMCCallConv);
  return call;
}

/* NaN in, NaN out, where a clamp would have turned it into a number. */
static LLVMValueRef keep_nan(vitc_cg *cg, LLVMValueRef x, LLVMValueRef y) {
  return vec_select(cg, vec_cmp(cg, LLVMRealUNO, x, x), x, y);
}

static LLVMValueRef ik(vitc_cg *cg, LLVMValueRef like_int, int64_t v) { return vec_k(cg, like_int, (double)v); }

/* Cephes' expf polynomial in r, highest power first. */
static const double exp_poly[] = {1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2,
                                  1.6666665459e-1, 5.0000001201e-1};

/* exp(x) = 2^n · p(r), x = n·ln2 + r, |r| <= ln2/2 (Cody–Waite split of ln2, Cephes' expf polynomial).
 * 2^n is built from exponent bits in two halves so that n from -150 to 128 stays representable; 0 below
 * the smallest subnormal, inf above FLT_MAX, NaN kept.
 * Error over [-104, 89]: 1.0 ulp. */
LLVMValueRef vm_exp(vitc_cg *cg, LLVMValueRef x) {
  if (is_double(x)) return vec_call1(cg, "llvm.exp", x);
  const double lo = -103.972084045410, hi = 88.7228393554688;
  LLVMTypeRef it = vec_with_elem(LLVMTypeOf(x), cg->i32);
  LLVMValueRef xc = vec_select(cg, vec_cmp(cg, LLVMRealOLT, x, vec_k(cg, x, lo)), vec_k(cg, x, lo), x);
  xc = vec_select(cg, vec_cmp(cg, LLVMRealOGT, xc, vec_k(cg, x, hi)), vec_k(cg, x, hi), xc);
  LLVMValueRef magic = vec_k(cg, x, 12582912.0); /* 1.5·2^23: adding it rounds to an integer */
  LLVMValueRef t = vec_muladd(cg, xc, vec_k(cg, x, 1.44269504088896341), magic);
  LLVMValueRef n = vec_sub(cg, t, magic);
  LLVMValueRef r = vec_muladd(cg, n, vec_k(cg, x, -0.693359375), xc);
  r = vec_muladd(cg, n, vec_k(cg, x, 2.12194440e-4), r);
  LLVMValueRef p = vec_k(cg, x, exp_poly[0]);
  for (int i = 1; i < 6; i++) p = vec_muladd(cg, p, r, vec_k(cg, x, exp_poly[i]));
  LLVMValueRef y = vec_add(cg, vec_muladd(cg, p, vec_mul(cg, r, r), r), vec_k(cg, x, 1));
  LLVMValueRef ni = LLVMBuildSub(cg->b, LLVMBuildBitCast(cg->b, t, it, ""), vec_const(cg, it, 0x4B400000), "");
  LLVMValueRef n1 = LLVMBuildAShr(cg->b, ni, vec_const(cg, it, 1), ""), n2 = LLVMBuildSub(cg->b, ni, n1, "");
  LLVMValueRef s1 = LLVMBuildShl(cg->b, LLVMBuildAdd(cg->b, n1, vec_const(cg, it, 127), ""), vec_const(cg, it, 23), "");
  LLVMValueRef s2 = LLVMBuildShl(cg->b, LLVMBuildAdd(cg->b, n2, vec_const(cg, it, 127), ""), vec_const(cg, it, 23), "");
  y = vec_mul(cg, y, LLVMBuildBitCast(cg->b, s1, LLVMTypeOf(x), ""));
  y = vec_mul(cg, y, LLVMBuildBitCast(cg->b, s2, LLVMTypeOf(x), ""));
  y = vec_select(cg, vec_cmp(cg, LLVMRealOLT, x, vec_k(cg, x, lo)), vec_k(cg, x, 0), y);
  return vec_select(cg, vec_cmp(cg, LLVMRealOGT, x, vec_k(cg, x, hi)), vec_k(cg, x, INFINITY), y);
}

/* exp(x) for the softmax's x = s - max <= 0: vm_exp's reduction and polynomial without its edges. x below
 * -87.33 (2^n would leave the normal floats) is taken as -87.33 (exp ≈ 1.2e-38 instead of less or 0: nothing
 * beside the row's max, whose term is 1), and 2^n is one multiply. On [-87.33, 0] every operation is vm_exp's
 * on the same values and the power of two is exact either way, so the results are vm_exp's (1.0 ulp); NaN
 * stays NaN. Ten instructions fewer than vm_exp: the softmax of 49 keys × head dim 32 spends a third of its
 * time in exp. */
LLVMValueRef vm_exp_nonpositive(vitc_cg *cg, LLVMValueRef x) {
  if (is_double(x)) return vec_call1(cg, "llvm.exp", x);
  const double lo = -87.33;
  LLVMTypeRef it = vec_with_elem(LLVMTypeOf(x), cg->i32);
  LLVMValueRef xc = vec_select(cg, vec_cmp(cg, LLVMRealOLT, x, vec_k(cg, x, lo)), vec_k(cg, x, lo), x);
  LLVMValueRef magic = vec_k(cg, x, 12582912.0); /* 1.5·2^23: adding it rounds to an integer */
  LLVMValueRef t = vec_muladd(cg, xc, vec_k(cg, x, 1.44269504088896341), magic);
  LLVMValueRef n = vec_sub(cg, t, magic);
  LLVMValueRef r = vec_muladd(cg, n, vec_k(cg, x, -0.693359375), xc);
  r = vec_muladd(cg, n, vec_k(cg, x, 2.12194440e-4), r);
  LLVMValueRef p = vec_k(cg, x, exp_poly[0]);
  for (int i = 1; i < 6; i++) p = vec_muladd(cg, p, r, vec_k(cg, x, exp_poly[i]));
  LLVMValueRef y = vec_add(cg, vec_muladd(cg, p, vec_mul(cg, r, r), r), vec_k(cg, x, 1));
  LLVMValueRef e = LLVMBuildAdd(cg->b, LLVMBuildBitCast(cg->b, t, it, ""), vec_const(cg, it, 127 - 0x4B400000), "");
  LLVMValueRef two_n = LLVMBuildBitCast(cg->b, LLVMBuildShl(cg->b, e, vec_const(cg, it, 23), ""), LLVMTypeOf(x), "");
  return vec_mul(cg, y, two_n);
}

/* log(x) = e·ln2 + log(m), x = m·2^e with m in [√½, √2) (Cephes' logf polynomial in m - 1, ln2 split in
 * two). Subnormals are scaled by 2^23 first; log(0) = -inf, log(negative) = NaN, log(inf) = inf.
 * Error over (0, FLT_MAX]: 0.78 ulp. */
LLVMValueRef vm_log(vitc_cg *cg, LLVMValueRef x) {
  if (is_double(x)) return vec_call1(cg, "llvm.log", x);
  LLVMTypeRef it = vec_with_elem(LLVMTypeOf(x), cg->i32);
  LLVMValueRef tiny = vec_cmp(cg, LLVMRealOLT, x, vec_k(cg, x, 1.17549435e-38));
  LLVMValueRef xs = vec_select(cg, tiny, vec_mul(cg, x, vec_k(cg, x, 8388608.0)), x);
  LLVMValueRef bits = LLVMBuildBitCast(cg->b, xs, it, "");
  LLVMValueRef e = LLVMBuildSub(cg->b, LLVMBuildLShr(cg->b, bits, ik(cg, bits, 23), ""), ik(cg, bits, 126), "");
  e = LLVMBuildSub(cg->b, e, vec_select(cg, tiny, ik(cg, bits, 23), ik(cg, bits, 0)), "");
  LLVMValueRef mbits = LLVMBuildOr(cg->b, LLVMBuildAnd(cg->b, bits, ik(cg, bits, 0x007fffff), ""), ik(cg, bits, 0x3f000000), "");
  LLVMValueRef m = LLVMBuildBitCast(cg->b, mbits, LLVMTypeOf(x), ""); /* [0.5, 1) */
  LLVMValueRef small = vec_cmp(cg, LLVMRealOLT, m, vec_k(cg, x, 0.707106781186547524));
  e = LLVMBuildSub(cg->b, e, LLVMBuildZExt(cg->b, small, it, ""), "");
  LLVMValueRef f = vec_sub(cg, vec_select(cg, small, vec_add(cg, m, m), m), vec_k(cg, x, 1));
  static const double c[] = {7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
                             -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1};
  LLVMValueRef p = vec_k(cg, x, c[0]);
  for (int i = 1; i < 9; i++) p = vec_muladd(cg, p, f, vec_k(cg, x, c[i]));
  LLVMValueRef z = vec_mul(cg, f, f), ef = LLVMBuildSIToFP(cg->b, e, LLVMTypeOf(x), "");
  LLVMValueRef y = vec_mul(cg, vec_mul(cg, p, f), z);
  y = vec_muladd(cg, ef, vec_k(cg, x, -2.12194440e-4), y);
  y = vec_muladd(cg, z, vec_k(cg, x, -0.5), y);
  y = vec_muladd(cg, ef, vec_k(cg, x, 0.693359375), vec_add(cg, f, y));
  y = vec_select(cg, vec_cmp(cg, LLVMRealOEQ, x, vec_k(cg, x, INFINITY)), x, y);
  y = vec_select(cg, vec_cmp(cg, LLVMRealOEQ, x, vec_k(cg, x, 0)), vec_k(cg, x, -INFINITY), y);
  return vec_select(cg, vec_cmp(cg, LLVMRealULT, x, vec_k(cg, x, 0)), vec_k(cg, x, NAN), y);
}

/* erf as a rational function of x on [-4, 4] (±1 beyond), Eigen's and XLA's float erf.
 * Error over [-10, 10]: 5.6 ulp, abs 3.3e-7. */
LLVMValueRef vm_erf(vitc_cg *cg, LLVMValueRef x) {
  if (is_double(x)) return libm_double(cg, "erf", x);
  static const double num[] = {-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06,
                               -5.69250639462346e-05, -7.34990630326855e-04, -2.95459980854025e-03,
                               -1.60960333262415e-02};
  static const double den[] = {-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03,
                               -7.37332916720468e-03, -1.42647390514189e-02};
  LLVMValueRef xc = vec_clamp(cg, x, -4, 4);
  LLVMValueRef x2 = vec_mul(cg, xc, xc), p = vec_k(cg, x, num[0]), q = vec_k(cg, x, den[0]);
  for (int i = 1; i < 7; i++) p = vec_fma(cg, x2, p, vec_k(cg, x, num[i]));
  for (int i = 1; i < 5; i++) q = vec_fma(cg, x2, q, vec_k(cg, x, den[i]));
  return keep_nan(cg, x, vec_mul(cg, xc, vec_div(cg, p, q))); /* x last: x·p would lose bits for tiny x */
}

/* tanh as Eigen's rational function (odd degree 13 over even degree 6) of x clamped to ±7.9988, x itself
 * where |x| < 0.0004.
 * Error over [-10, 10]: 4.3 ulp, abs 2.6e-7. */
LLVMValueRef vm_tanh(vitc_cg *cg, LLVMValueRef x) {
  if (is_double(x)) return libm_double(cg, "tanh", x);
  static const double num[] = {-2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11,
                               5.12229709037114e-08,  1.48572235717979e-05, 6.37261928875436e-04,
                               4.89352455891786e-03};
  static const double den[] = {1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03,
                               4.89352518554385e-03};
  LLVMValueRef xc = vec_clamp(cg, x, -7.99881172180175781, 7.99881172180175781);
  LLVMValueRef x2 = vec_mul(cg, xc, xc), p = vec_k(cg, x, num[0]), q = vec_k(cg, x, den[0]);
  for (int i = 1; i < 7; i++) p = vec_fma(cg, x2, p, vec_k(cg, x, num[i]));
  for (int i = 1; i < 4; i++) q = vec_fma(cg, x2, q, vec_k(cg, x, den[i]));
  LLVMValueRef y = vec_div(cg, vec_mul(cg, xc, p), q);
  LLVMValueRef tiny = vec_cmp(cg, LLVMRealOLT, vec_abs(cg, x), vec_k(cg, x, 0.0004));
  return keep_nan(cg, x, vec_select(cg, tiny, x, y));
}

/* 1 / (1 + exp(-x)). Error over [-88, 88]: 2.4 ulp, abs 8.9e-8 (below -88 the result is under 6e-39). */
LLVMValueRef vm_sigmoid(vitc_cg *cg, LLVMValueRef x) {
  LLVMValueRef one = vec_k(cg, x, 1);
  return vec_div(cg, one, vec_add(cg, one, vm_exp(cg, vec_neg(cg, x))));
}

/* Error over [0, 10]: 3.1 ulp; over [-10, 10] abs 9.2e-7: where 1 + erf cancels (x < -1) the relative
 * error grows, erf's absolute error scaled by x/2. */
LLVMValueRef vm_gelu_erf(vitc_cg *cg, LLVMValueRef x) {
  LLVMValueRef inner = vm_erf(cg, vec_mul(cg, x, vec_k(cg, x, 0.70710678118654752440)));
  return vec_mul(cg, vec_mul(cg, x, vec_k(cg, x, 0.5)), vec_add(cg, inner, vec_k(cg, x, 1)));
}

/* (1 + tanh(u))/2 is sigmoid(2u): x / (1 + exp(-2u)) has no cancellation for negative x.
 * Error over [-10, 10]: abs 5.2e-7, 164 ulp in the far tail (x near -9, 2u near -50: the float rounding
 * of 2u, amplified by exp). */
LLVMValueRef vm_gelu_tanh(vitc_cg *cg, LLVMValueRef x) {
  LLVMValueRef cube = vec_mul(cg, vec_mul(cg, x, x), x);
  LLVMValueRef two_u = vec_mul(cg, vec_k(cg, x, 2 * 0.79788456080286535588), vec_fma(cg, cube, vec_k(cg, x, 0.044715), x));
  return vec_mul(cg, x, vm_sigmoid(cg, two_u));
}

/* Error over [-10, 10] (alpha 1.702): 20 ulp at x near -9.5 (the float product alpha·x rounds, amplified
 * by exp), abs 7.4e-7. */
LLVMValueRef vm_quick_gelu(vitc_cg *cg, LLVMValueRef x, double alpha) {
  return vec_mul(cg, x, vm_sigmoid(cg, vec_mul(cg, x, vec_k(cg, x, alpha))));
}

/* Error over [-10, 10]: 2.4 ulp, abs 1.2e-6 (at 8.7, where an ulp is 9.5e-7). */
LLVMValueRef vm_silu(vitc_cg *cg, LLVMValueRef x) { return vec_mul(cg, x, vm_sigmoid(cg, x)); }

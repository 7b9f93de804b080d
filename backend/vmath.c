/* vmath.c — inline transcendentals on floats, doubles and vectors of either (vmath.h). Each comment states
 * the error tests/unit/test_vmath.c measured (and asserts) against libm. */
#include <math.h>
#include <stdio.h>

#include "vmath.h"

static bool is_double(LLVMValueRef x) { return LLVMGetTypeKind(vec_elem(LLVMTypeOf(x))) == LLVMDoubleTypeKind; }

/* NaN in, NaN out, where a clamp would have turned it into a number. */
static LLVMValueRef keep_nan(vitc_cg *cg, LLVMValueRef x, LLVMValueRef y) {
  return vec_select(cg, vec_cmp(cg, LLVMRealUNO, x, x), x, y);
}

static LLVMValueRef ik(vitc_cg *cg, LLVMValueRef like_int, int64_t v) { return vec_k(cg, like_int, (double)v); }

/* c[0]·z^(n-1) + c[1]·z^(n-2) + … + c[n-1], by Horner's rule. */
static LLVMValueRef horner(vitc_cg *cg, LLVMValueRef z, const double *c, int n) {
  LLVMValueRef p = vec_k(cg, z, c[0]);
  for (int i = 1; i < n; i++) p = vec_muladd(cg, p, z, vec_k(cg, z, c[i]));
  return p;
}

static LLVMValueRef exp_f64(vitc_cg *cg, LLVMValueRef x);
static LLVMValueRef log_f64(vitc_cg *cg, LLVMValueRef x);
static LLVMValueRef erf_f64(vitc_cg *cg, LLVMValueRef d);
static LLVMValueRef tanh_f64(vitc_cg *cg, LLVMValueRef d);

/* What exp and log need to know of float and double: the width of their bit patterns and mantissa, the
 * exponent bias, and the smallest normal number. */
typedef struct float_format {
  LLVMTypeRef bits; /* i32 or i64, the same lanes as the value */
  int mant, bias;
  double min_normal;
} float_format;

static float_format format_of(vitc_cg *cg, LLVMValueRef x) {
  bool d = is_double(x);
  return (float_format){vec_with_elem(LLVMTypeOf(x), d ? cg->i64 : cg->i32), d ? 52 : 23, d ? 1023 : 127,
                        d ? 2.2250738585072014e-308 : 1.17549435e-38};
}

/* x clamped to [lo, hi], then n = round(x/ln2) as t - magic, t = x/ln2 + magic (magic = 1.5·2^mant:
 * adding it rounds to an integer, which then sits in t's low mantissa bits). */
static LLVMValueRef exp_round(vitc_cg *cg, const float_format *f, LLVMValueRef x, double lo, double hi,
                              LLVMValueRef *xc, LLVMValueRef *t) {
  *xc = vec_select(cg, vec_cmp(cg, LLVMRealOLT, x, vec_k(cg, x, lo)), vec_k(cg, x, lo), x);
  *xc = vec_select(cg, vec_cmp(cg, LLVMRealOGT, *xc, vec_k(cg, x, hi)), vec_k(cg, x, hi), *xc);
  LLVMValueRef magic = vec_k(cg, x, 1.5 * ldexp(1, f->mant));
  *t = vec_muladd(cg, *xc, vec_k(cg, x, 1.44269504088896338700), magic);
  return vec_sub(cg, *t, magic);
}

/* y·2^n for the n that t holds (exp_round), the power built from exponent bits in two halves so that n
 * from below the smallest subnormal to above the largest number stays representable; then 0 for x below
 * lo, inf above hi (NaN kept). */
static LLVMValueRef exp_scale(vitc_cg *cg, const float_format *f, LLVMValueRef x, LLVMValueRef y, LLVMValueRef t,
                              double lo, double hi) {
  LLVMTypeRef it = f->bits;
  LLVMValueRef magic_bits = vec_bitcast(cg, vec_k(cg, t, 1.5 * ldexp(1, f->mant)), it);
  LLVMValueRef ni = vec_isub(cg, vec_bitcast(cg, t, it), magic_bits);
  LLVMValueRef n1 = vec_ashr(cg, ni, vec_const(cg, it, 1)), n2 = vec_isub(cg, ni, n1);
  LLVMValueRef s1 = vec_shl(cg, vec_iadd(cg, n1, vec_const(cg, it, f->bias)), vec_const(cg, it, f->mant));
  LLVMValueRef s2 = vec_shl(cg, vec_iadd(cg, n2, vec_const(cg, it, f->bias)), vec_const(cg, it, f->mant));
  y = vec_mul(cg, y, vec_bitcast(cg, s1, LLVMTypeOf(x)));
  y = vec_mul(cg, y, vec_bitcast(cg, s2, LLVMTypeOf(x)));
  y = vec_select(cg, vec_cmp(cg, LLVMRealOLT, x, vec_k(cg, x, lo)), vec_k(cg, x, 0), y);
  return vec_select(cg, vec_cmp(cg, LLVMRealOGT, x, vec_k(cg, x, hi)), vec_k(cg, x, INFINITY), y);
}

/* x = 2^e·(1 + f) with 1 + f in [√½, √2): returns f, e as a float of x's type. Subnormals are scaled by
 * 2^(mant+1) first. */
static LLVMValueRef log_split(vitc_cg *cg, const float_format *f, LLVMValueRef x, LLVMValueRef *e_float) {
  LLVMTypeRef it = f->bits;
  LLVMValueRef tiny = vec_cmp(cg, LLVMRealOLT, x, vec_k(cg, x, f->min_normal));
  LLVMValueRef xs = vec_select(cg, tiny, vec_mul(cg, x, vec_k(cg, x, ldexp(1, f->mant + 1))), x);
  LLVMValueRef bits = vec_bitcast(cg, xs, it);
  LLVMValueRef e = vec_isub(cg, vec_lshr(cg, bits, ik(cg, bits, f->mant)), ik(cg, bits, f->bias - 1));
  e = vec_isub(cg, e, vec_select(cg, tiny, ik(cg, bits, f->mant + 1), ik(cg, bits, 0)));
  LLVMValueRef mant_mask = vec_const(cg, it, ldexp(1, f->mant) - 1);
  LLVMValueRef half = vec_const(cg, it, ldexp(f->bias - 1, f->mant)); /* the bits of 0.5 */
  LLVMValueRef m = vec_bitcast(cg, vec_or(cg, vec_and(cg, bits, mant_mask), half), LLVMTypeOf(x)); /* [0.5, 1) */
  LLVMValueRef small = vec_cmp(cg, LLVMRealOLT, m, vec_k(cg, x, 0.707106781186547524));
  e = vec_isub(cg, e, vec_zext(cg, small, it));
  *e_float = vec_sitofp(cg, e, LLVMTypeOf(x));
  return vec_sub(cg, vec_select(cg, small, vec_add(cg, m, m), m), vec_k(cg, x, 1));
}

/* log's answers where the polynomial's is not: inf at inf, -inf at 0, NaN below 0 (and at NaN). */
static LLVMValueRef log_specials(vitc_cg *cg, LLVMValueRef x, LLVMValueRef y) {
  y = vec_select(cg, vec_cmp(cg, LLVMRealOEQ, x, vec_k(cg, x, INFINITY)), x, y);
  y = vec_select(cg, vec_cmp(cg, LLVMRealOEQ, x, vec_k(cg, x, 0)), vec_k(cg, x, -INFINITY), y);
  return vec_select(cg, vec_cmp(cg, LLVMRealULT, x, vec_k(cg, x, 0)), vec_k(cg, x, NAN), y);
}

/* exp(x - n·ln2) for the n of exp_round: Cephes' expf polynomial in r = x - n·ln2 (ln2 in two parts,
 * Cody–Waite). */
static LLVMValueRef expf_reduced(vitc_cg *cg, LLVMValueRef xc, LLVMValueRef n) {
  LLVMValueRef r = vec_muladd(cg, n, vec_k(cg, xc, -0.693359375), xc);
  r = vec_muladd(cg, n, vec_k(cg, xc, 2.12194440e-4), r);
  static const double c[] = {1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2,
                             1.6666665459e-1, 5.0000001201e-1};
  LLVMValueRef p = horner(cg, r, c, 6);
  return vec_add(cg, vec_muladd(cg, p, vec_mul(cg, r, r), r), vec_k(cg, xc, 1));
}

/* exp(x) = 2^n · p(r), x = n·ln2 + r, |r| <= ln2/2 (Cody–Waite split of ln2, Cephes' expf polynomial).
 * 2^n is built from exponent bits in two halves so that n from -150 to 128 stays representable; 0 below
 * the smallest subnormal, inf above FLT_MAX, NaN kept.
 * Error over [-104, 89]: 1.0 ulp. */
LLVMValueRef vm_exp(vitc_cg *cg, LLVMValueRef x) {
  if (is_double(x)) return exp_f64(cg, x);
  const double lo = -103.972084045410, hi = 88.7228393554688;
  float_format f = format_of(cg, x);
  LLVMValueRef xc, t, n = exp_round(cg, &f, x, lo, hi, &xc, &t);
  return exp_scale(cg, &f, x, expf_reduced(cg, xc, n), t, lo, hi);
}

/* exp(x) for the softmax's x = s - max <= 0: vm_exp's reduction and polynomial without its edges. x below
 * -87.33 (2^n would leave the normal floats) is taken as -87.33 (exp ≈ 1.2e-38 instead of less or 0: nothing
 * beside the row's max, whose term is 1), and 2^n is one multiply. On [-87.33, 0] every operation is vm_exp's
 * on the same values and the power of two is exact either way, so the results are vm_exp's (1.0 ulp); NaN
 * stays NaN. Ten instructions fewer than vm_exp: the softmax of 49 keys × head dim 32 spends a third of its
 * time in exp. */
LLVMValueRef vm_exp_nonpositive(vitc_cg *cg, LLVMValueRef x) {
  if (is_double(x)) return exp_f64(cg, x);
  float_format f = format_of(cg, x);
  /* no upper clamp: x > inf is false, and LLVM folds that select away */
  LLVMValueRef xc, t, n = exp_round(cg, &f, x, -87.33, INFINITY, &xc, &t);
  LLVMValueRef magic_bits = vec_bitcast(cg, vec_k(cg, t, 1.5 * ldexp(1, f.mant)), f.bits);
  LLVMValueRef e = vec_iadd(cg, vec_isub(cg, vec_bitcast(cg, t, f.bits), magic_bits), vec_const(cg, f.bits, f.bias));
  LLVMValueRef two_n = vec_bitcast(cg, vec_shl(cg, e, vec_const(cg, f.bits, f.mant)), LLVMTypeOf(x));
  return vec_mul(cg, expf_reduced(cg, xc, n), two_n);
}

/* log(x) = e·ln2 + log(m), x = m·2^e with m in [√½, √2) (Cephes' logf polynomial in m - 1, ln2 split in
 * two). Subnormals are scaled by 2^23 first; log(0) = -inf, log(negative) = NaN, log(inf) = inf.
 * Error over (0, FLT_MAX]: 0.78 ulp. */
LLVMValueRef vm_log(vitc_cg *cg, LLVMValueRef x) {
  if (is_double(x)) return log_f64(cg, x);
  float_format fmt = format_of(cg, x);
  LLVMValueRef ef, f = log_split(cg, &fmt, x, &ef);
  static const double c[] = {7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
                             -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1};
  LLVMValueRef p = horner(cg, f, c, 9);
  LLVMValueRef z = vec_mul(cg, f, f);
  LLVMValueRef y = vec_mul(cg, vec_mul(cg, p, f), z);
  y = vec_muladd(cg, ef, vec_k(cg, x, -2.12194440e-4), y);
  y = vec_muladd(cg, z, vec_k(cg, x, -0.5), y);
  y = vec_muladd(cg, ef, vec_k(cg, x, 0.693359375), vec_add(cg, f, y));
  return log_specials(cg, x, y);
}

/* erf as a rational function of x on [-4, 4] (±1 beyond), Eigen's and XLA's float erf.
 * Error over [-10, 10]: 5.5 ulp, abs 3.3e-7 (the division as vec_div_by_normal). A double x takes erf_f64:
 * 1 ulp over [-7, 7]. */
static const double erf_num[] = {-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06,
                                 -5.69250639462346e-05, -7.34990630326855e-04, -2.95459980854025e-03,
                                 -1.60960333262415e-02};
static const double erf_den[] = {-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03,
                                 -7.37332916720468e-03, -1.42647390514189e-02};

LLVMValueRef vm_erf(vitc_cg *cg, LLVMValueRef x) {
  if (is_double(x)) return erf_f64(cg, x);
  LLVMValueRef xc = vec_clamp(cg, x, -4, 4);
  LLVMValueRef x2 = vec_mul(cg, xc, xc), p = vec_k(cg, x, erf_num[0]), q = vec_k(cg, x, erf_den[0]);
  for (int i = 1; i < 7; i++) p = vec_fma(cg, x2, p, vec_k(cg, x, erf_num[i]));
  for (int i = 1; i < 5; i++) q = vec_fma(cg, x2, q, vec_k(cg, x, erf_den[i]));
  return keep_nan(cg, x, vec_mul(cg, xc, vec_div_by_normal(cg, p, q))); /* x last: x·p would lose bits for tiny x */
}

/* tanh as Eigen's rational function (odd degree 13 over even degree 6) of x clamped to ±7.9988, x itself
 * where |x| < 0.0004.
 * Error over [-10, 10]: 4.6 ulp, abs 2.8e-7 (the division as vec_div_by_normal). A double x takes tanh_f64:
 * 6 ulp over [-30, 30] (the most near |x| = 0.5, from expm1's few ulp). */
LLVMValueRef vm_tanh(vitc_cg *cg, LLVMValueRef x) {
  if (is_double(x)) return tanh_f64(cg, x);
  static const double num[] = {-2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11,
                               5.12229709037114e-08,  1.48572235717979e-05, 6.37261928875436e-04,
                               4.89352455891786e-03};
  static const double den[] = {1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03,
                               4.89352518554385e-03};
  LLVMValueRef xc = vec_clamp(cg, x, -7.99881172180175781, 7.99881172180175781);
  LLVMValueRef x2 = vec_mul(cg, xc, xc), p = vec_k(cg, x, num[0]), q = vec_k(cg, x, den[0]);
  for (int i = 1; i < 7; i++) p = vec_fma(cg, x2, p, vec_k(cg, x, num[i]));
  for (int i = 1; i < 4; i++) q = vec_fma(cg, x2, q, vec_k(cg, x, den[i]));
  LLVMValueRef y = vec_div_by_normal(cg, vec_mul(cg, xc, p), q);
  LLVMValueRef tiny = vec_cmp(cg, LLVMRealOLT, vec_abs(cg, x), vec_k(cg, x, 0.0004));
  return keep_nan(cg, x, vec_select(cg, tiny, x, y));
}

/* 1 / (1 + exp(-x)). Error over [-88, 88]: 2.4 ulp, abs 8.9e-8 (below -88 the result is under 6e-39). */
LLVMValueRef vm_sigmoid(vitc_cg *cg, LLVMValueRef x) {
  LLVMValueRef one = vec_k(cg, x, 1);
  return vec_div(cg, one, vec_add(cg, one, vm_exp(cg, vec_neg(cg, x))));
}

/* x·(1/2 + erf(x/√2)/2) with vm_erf's rational function whose numerator takes the 1/2: the same roundings as
 * 0.5x·(1 + vm_erf(x/√2)) scaled by exact powers of two, so the same results, with one multiply less and
 * without keep_nan's compare and select (a NaN x gives NaN through the last product): a tenth of a GELU
 * epilogue's cost at K = 96. Folding the 1/√2 into the coefficients too would save one more multiply but
 * moves them off the floats they were fitted as (1.5e-6 abs near the clamp, over the 1e-6 bound).
 * Error over [0, 10]: 3.1 ulp; over [-10, 10] abs 9.8e-7: where 1/2 + erf/2 cancels (x < -1) the relative
 * error grows, erf's absolute error scaled by x/2. */
LLVMValueRef vm_gelu_erf(vitc_cg *cg, LLVMValueRef x) {
  LLVMValueRef u = vec_mul(cg, x, vec_k(cg, x, 0.70710678118654752440));
  if (is_double(x)) return vec_mul(cg, vec_mul(cg, x, vec_k(cg, x, 0.5)), vec_add(cg, vm_erf(cg, u), vec_k(cg, x, 1)));
  LLVMValueRef uc = vec_clamp(cg, u, -4, 4);
  LLVMValueRef u2 = vec_mul(cg, uc, uc), p = vec_k(cg, x, 0.5 * erf_num[0]), q = vec_k(cg, x, erf_den[0]);
  for (int i = 1; i < 7; i++) p = vec_fma(cg, u2, p, vec_k(cg, x, 0.5 * erf_num[i]));
  for (int i = 1; i < 5; i++) q = vec_fma(cg, u2, q, vec_k(cg, x, erf_den[i]));
  LLVMValueRef half_erf = vec_mul(cg, uc, vec_div_by_normal(cg, p, q));
  return vec_mul(cg, x, vec_add(cg, half_erf, vec_k(cg, x, 0.5)));
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

/* ---------------------------------------------------------------- float64 exp and log */

/* exp(x) = 2^n · exp(r), x = n·ln2 + r, |r| <= ln2/2 (ln2 in two parts), exp(r) from fdlibm's rational
 * form 1 + 2r/(2 - c(r)) + ….
 * Error over [-745, 709.8]: 1 ulp (of the double result). */
static LLVMValueRef exp_f64(vitc_cg *cg, LLVMValueRef x) {
  const double lo = -745.13321910194122, hi = 709.782712893383973;
  float_format f = format_of(cg, x);
  LLVMValueRef xc, t, n = exp_round(cg, &f, x, lo, hi, &xc, &t);
  LLVMValueRef r_hi = vec_muladd(cg, n, vec_k(cg, x, -6.93147180369123816490e-01), xc);
  LLVMValueRef r_lo = vec_mul(cg, n, vec_k(cg, x, 1.90821492927058770002e-10));
  LLVMValueRef r = vec_sub(cg, r_hi, r_lo), r2 = vec_mul(cg, r, r);
  static const double p[] = {4.13813679705723846039e-08, -1.65339022054652515390e-06, 6.61375632143793436117e-05,
                             -2.77777777770155933842e-03, 1.66666666666666019037e-01};
  LLVMValueRef c = vec_sub(cg, r, vec_mul(cg, r2, horner(cg, r2, p, 5)));
  LLVMValueRef frac = vec_div(cg, vec_mul(cg, r, c), vec_sub(cg, vec_k(cg, x, 2), c));
  LLVMValueRef y = vec_sub(cg, vec_k(cg, x, 1), vec_sub(cg, vec_sub(cg, r_lo, frac), r_hi));
  return exp_scale(cg, &f, x, y, t, lo, hi);
}

/* k·ln2 + log(1 + f) for 1 + f in [√½, √2): log(1 + f) = 2s + s·R(s²) with s = f/(2 + f) (fdlibm's
 * polynomial, ln2 in two parts). `no_division` (for results rounded to float): s from the float quotient's
 * reciprocal r and one correction s0 + (f - s0·(2 + f))·r, relative error about 2^-46, which the form
 * f - (f²/2 - s·(f²/2 + R)) shrinks by |f²/2 + R| < 0.1. */
static LLVMValueRef log_of_split(vitc_cg *cg, LLVMValueRef f, LLVMValueRef k, bool no_division) {
  LLVMValueRef den = vec_add(cg, vec_k(cg, f, 2), f), s;
  if (no_division) {
    LLVMValueRef den_f = vec_fcast(cg, den, vec_with_elem(LLVMTypeOf(f), cg->f32));
    LLVMValueRef r = vec_fcast(cg, vec_div(cg, vec_k(cg, den_f, 1), den_f), LLVMTypeOf(f));
    LLVMValueRef s0 = vec_mul(cg, f, r);
    s = vec_muladd(cg, vec_fma(cg, vec_neg(cg, s0), den, f), r, s0);
  } else {
    s = vec_div(cg, f, den);
  }
  static const double lg[] = {1.479819860511658591e-01, 1.531383769920937332e-01, 1.818357216161805012e-01,
                              2.222219843214978396e-01, 2.857142874366239149e-01, 3.999999999940941908e-01,
                              6.666666666666735130e-01};
  LLVMValueRef z = vec_mul(cg, s, s);
  LLVMValueRef big_r = vec_mul(cg, z, horner(cg, z, lg, 7));
  LLVMValueRef hfsq = vec_mul(cg, vec_k(cg, f, 0.5), vec_mul(cg, f, f));
  LLVMValueRef inner = vec_muladd(cg, s, vec_add(cg, hfsq, big_r), vec_mul(cg, k, vec_k(cg, f, 1.90821492927058770002e-10)));
  return vec_sub(cg, vec_mul(cg, k, vec_k(cg, f, 6.93147180369123816490e-01)), vec_sub(cg, vec_sub(cg, hfsq, inner), f));
}

/* log(x) = k·ln2 + log(1 + f), x = 2^k·(1 + f) (log_of_split); the specials as the float version's.
 * Error over (0, DBL_MAX]: 1 ulp (of the double result). */
static LLVMValueRef log_f64(vitc_cg *cg, LLVMValueRef x) {
  float_format fmt = format_of(cg, x);
  LLVMValueRef k, f = log_split(cg, &fmt, x, &k);
  return log_specials(cg, x, log_of_split(cg, f, k, false));
}

/* ---------------------------------------------------------------- the other functions, in double
 *
 * Each function below is one double kernel: a double x takes it directly, a float x is widened, takes it and
 * is rounded once, so the range reductions and the identities (log(x + √(x²+1)), exp(y·log b), …) cost no
 * float precision. Cancellation near 0 is avoided with expm1 and log1p (Kahan's and Goldberg's forms over
 * exp_f64 and log_f64), and the argument reductions keep their rounding errors (two-sums). Errors written
 * at each function: double results in double ulps, float results (all 0.5 ulp: the final rounding) are
 * asserted alongside in tests/unit/test_vmath.c. */

typedef LLVMValueRef (*f64_kernel)(vitc_cg *cg, LLVMValueRef d);

static LLVMValueRef to_f64(vitc_cg *cg, LLVMValueRef x) {
  return vec_fcast(cg, x, vec_with_elem(LLVMTypeOf(x), cg->f64));
}
static LLVMValueRef to_f32(vitc_cg *cg, LLVMValueRef d) {
  return vec_fcast(cg, d, vec_with_elem(LLVMTypeOf(d), cg->f32));
}

/* f(x) for a double x; for a float x, f of x widened, rounded once. */
static LLVMValueRef in_double(vitc_cg *cg, f64_kernel f, LLVMValueRef x) {
  return is_double(x) ? f(cg, x) : to_f32(cg, f(cg, to_f64(cg, x)));
}

static LLVMValueRef is_inf(vitc_cg *cg, LLVMValueRef d) {
  return vec_cmp(cg, LLVMRealOEQ, vec_abs(cg, d), vec_k(cg, d, INFINITY));
}

/* |y| with x's sign (x's sign bit: -0 and NaN with the bit set count as negative), x and y of one type. In
 * bit operations, not llvm.copysign: LLVM 16's DAG combiner turns a float rounded from a double copysign
 * into a float copysign with a double sign operand, and a lane of that (a float vector's one-lane tail)
 * fails instruction selection on every x86 target ("Cannot select: f32 = extract_vector_elt v2f64"). */
static LLVMValueRef with_sign_of(vitc_cg *cg, LLVMValueRef y, LLVMValueRef x) {
  LLVMTypeRef bits = format_of(cg, y).bits;
  LLVMValueRef sign = vec_bitcast(cg, vec_k(cg, y, -0.0), bits);
  LLVMValueRef magnitude = vec_and(cg, vec_bitcast(cg, y, bits), vec_not(cg, sign));
  return vec_bitcast(cg, vec_or(cg, magnitude, vec_and(cg, vec_bitcast(cg, x, bits), sign)), LLVMTypeOf(y));
}

/* s + err = a + b exactly (Knuth's two-sum: no condition on the operands' sizes). */
static LLVMValueRef two_sum(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b, LLVMValueRef *err) {
  LLVMValueRef s = vec_add(cg, a, b), bb = vec_sub(cg, s, a);
  *err = vec_add(cg, vec_sub(cg, a, vec_sub(cg, s, bb)), vec_sub(cg, b, bb));
  return s;
}

/* e^x - 1 from u = e^x (Kahan): (u - 1)·x / log u, whose rounding errors cancel where u - 1 alone would
 * lose x's digits; x itself where u rounds to 1, -1 where u - 1 does, inf for u = inf. */
static LLVMValueRef expm1_from(vitc_cg *cg, LLVMValueRef u, LLVMValueRef x) {
  LLVMValueRef one = vec_k(cg, x, 1), um1 = vec_sub(cg, u, one);
  LLVMValueRef y = vec_div(cg, vec_mul(cg, um1, x), log_f64(cg, u));
  y = vec_select(cg, vec_cmp(cg, LLVMRealOEQ, um1, vec_k(cg, x, -1)), um1, y);
  y = vec_select(cg, vec_cmp(cg, LLVMRealOEQ, u, vec_k(cg, x, INFINITY)), u, y);
  return vec_select(cg, vec_cmp(cg, LLVMRealOEQ, u, one), x, y);
}

/* log(1 + x) (Goldberg): log u · x / (u - 1) for u = 1 + x, exact to a few ulp because u - 1 is exact;
 * x itself where u rounds to 1, inf for x = inf. */
static LLVMValueRef log1p_f64(vitc_cg *cg, LLVMValueRef x) {
  LLVMValueRef one = vec_k(cg, x, 1), u = vec_add(cg, one, x);
  LLVMValueRef y = vec_div(cg, vec_mul(cg, log_f64(cg, u), x), vec_sub(cg, u, one));
  y = vec_select(cg, vec_cmp(cg, LLVMRealOEQ, u, vec_k(cg, x, INFINITY)), u, y);
  return vec_select(cg, vec_cmp(cg, LLVMRealOEQ, u, one), x, y);
}

/* Any lane of a comparison's result on (an i1 for a scalar). */
static LLVMValueRef any_lane(vitc_cg *cg, LLVMValueRef mask) {
  int lanes = vec_lanes(LLVMTypeOf(mask));
  if (lanes == 1) return mask;
  LLVMValueRef bits = vec_bitcast(cg, mask, LLVMIntTypeInContext(cg->llvm, (unsigned)lanes));
  return vec_icmp(cg, LLVMIntNE, bits, LLVMConstInt(LLVMTypeOf(bits), 0, false));
}

/* y, with the lanes where `off` is on replaced by libm's name(x[0], ..) — a branch taken only when some
 * lane is off the range the inline form covers: sin, cos, tan beyond SINCOS_LIMIT (their reduction needs
 * π to more bits than four parts: Payne–Hanek's table, which stays libm's), and fmod's rare lanes. */
static LLVMValueRef libm_where(vitc_cg *cg, const char *name, LLVMValueRef off, const LLVMValueRef *x, int nx,
                               LLVMValueRef y) {
  cg_mut out = cg_mut_new(cg, LLVMTypeOf(y), y);
  cg_if c = cg_if_begin(cg, any_lane(cg, off));
  int lanes = vec_lanes(LLVMTypeOf(y));
  LLVMValueRef fixed = y;
  for (int i = 0; i < lanes; i++) {
    LLVMValueRef xi[2];
    for (int k = 0; k < nx; k++) xi[k] = lanes > 1 ? vec_lane(cg, x[k], i) : x[k];
    LLVMValueRef call = cg_call(cg, name, LLVMTypeOf(xi[0]), xi, nx);
    LLVMSetInstructionCallConv(call, LLVMCCallConv);
    LLVMValueRef oi = lanes > 1 ? vec_lane(cg, off, i) : off;
    LLVMValueRef keep = lanes > 1 ? vec_lane(cg, fixed, i) : fixed;
    LLVMValueRef v = vec_select(cg, oi, call, keep);
    fixed = lanes > 1 ? vec_with_lane(cg, fixed, v, i) : v;
  }
  cg_set(cg, out, fixed);
  cg_if_end(cg, &c);
  return cg_get(cg, out);
}

/* C's fmod: a - q·b with q = trunc(a/b), one fma, exact whenever q is the true quotient (|q| below 2^mant,
 * the remainder then within (-|b|, |b|) with a's sign). Lanes where a/b rounded across an integer, |q| is
 * larger, or an operand is inf or NaN or b is 0 take libm's fmod. */
LLVMValueRef vm_fmod(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b) {
  float_format f = format_of(cg, a);
  LLVMValueRef q = vec_call1(cg, "llvm.trunc", vec_div(cg, a, b)), r = vec_fma(cg, vec_neg(cg, q), b, a);
  LLVMValueRef zero = vec_k(cg, a, 0), ar = vec_abs(cg, r);
  LLVMValueRef same_sign =
      vec_or(cg, vec_cmp(cg, LLVMRealOEQ, r, zero),
             vec_icmp(cg, LLVMIntEQ, vec_cmp(cg, LLVMRealOLT, r, zero), vec_cmp(cg, LLVMRealOLT, a, zero)));
  LLVMValueRef ok = vec_and(cg, vec_cmp(cg, LLVMRealOLT, vec_abs(cg, q), vec_k(cg, a, ldexp(1, f.mant))),
                            vec_and(cg, vec_cmp(cg, LLVMRealOLT, ar, vec_abs(cg, b)), same_sign));
  LLVMValueRef args[2] = {a, b};
  return libm_where(cg, is_double(a) ? "fmod" : "fmodf", vec_not(cg, ok), args, 2, with_sign_of(cg, r, a));
}

/* ---------------------------------------------------------------- sin, cos, tan */

/* d = q·π/2 + (hi + lo), |hi| <= π/4: q (an i64 vector, only its two low bits count) from n = round(d·2/π);
 * π/2 in four parts, the first three of 33 bits, so that n·part is exact while |n| < 2^20 (|d| <
 * SINCOS_LIMIT) and d - n·part1 is exact (Sterbenz); the other parts are subtracted with two-sums, so hi +
 * lo keeps about 100 bits even where d is close to a multiple of π/2. */
#define SINCOS_LIMIT 1.5e6
static LLVMValueRef sincos_reduce(vitc_cg *cg, LLVMValueRef d, LLVMValueRef *q, LLVMValueRef *lo) {
  LLVMValueRef magic = vec_k(cg, d, 6755399441055744.0); /* 1.5·2^52 */
  LLVMValueRef t = vec_muladd(cg, d, vec_k(cg, d, 6.36619772367581382433e-01), magic);
  LLVMValueRef n = vec_sub(cg, t, magic);
  *q = vec_bitcast(cg, t, vec_with_elem(LLVMTypeOf(d), cg->i64));
  LLVMValueRef a = vec_fma(cg, n, vec_k(cg, d, -1.57079632673412561417e+00), d);
  LLVMValueRef e1, e2;
  LLVMValueRef s = two_sum(cg, a, vec_mul(cg, n, vec_k(cg, d, -6.07710050630396597660e-11)), &e1);
  s = two_sum(cg, s, vec_mul(cg, n, vec_k(cg, d, -2.02226624871116645580e-21)), &e2);
  LLVMValueRef tail = vec_sub(cg, vec_add(cg, e1, e2), vec_mul(cg, n, vec_k(cg, d, 8.47842766036889956997e-32)));
  LLVMValueRef hi = vec_add(cg, s, tail);
  *lo = vec_sub(cg, tail, vec_sub(cg, hi, s));
  return hi;
}

/* sin(x + y) and cos(x + y) for |x| <= π/4, |y| below x's ulp: the Taylor polynomials of fdlibm's kernels
 * (sin x = x + x³·S(x²), cos x = 1 - x²/2 + x⁴·C(x²)) with y's first-order term. */
static LLVMValueRef sin_kernel(vitc_cg *cg, LLVMValueRef x, LLVMValueRef y) {
  static const double s[] = {1.58969099521155010221e-10, -2.50507602534068634195e-08, 2.75573137070700676789e-06,
                             -1.98412698298579493134e-04, 8.33333333332248946124e-03};
  LLVMValueRef z = vec_mul(cg, x, x), v = vec_mul(cg, z, x), r = horner(cg, z, s, 5);
  LLVMValueRef inner =
      vec_sub(cg, vec_mul(cg, z, vec_sub(cg, vec_mul(cg, vec_k(cg, x, 0.5), y), vec_mul(cg, v, r))), y);
  return vec_sub(cg, x, vec_sub(cg, inner, vec_mul(cg, v, vec_k(cg, x, -1.66666666666666324348e-01))));
}
static LLVMValueRef cos_kernel(vitc_cg *cg, LLVMValueRef x, LLVMValueRef y) {
  static const double c[] = {-1.13596475577881948265e-11, 2.08757232129817482790e-09, -2.75573143513906633035e-07,
                             2.48015872894767294178e-05, -1.38888888888741095749e-03, 4.16666666666666019037e-02};
  LLVMValueRef z = vec_mul(cg, x, x), r = vec_mul(cg, z, horner(cg, z, c, 6));
  LLVMValueRef hz = vec_mul(cg, vec_k(cg, x, 0.5), z), w = vec_sub(cg, vec_k(cg, x, 1), hz);
  LLVMValueRef fix =
      vec_add(cg, vec_sub(cg, vec_sub(cg, vec_k(cg, x, 1), w), hz), vec_sub(cg, vec_mul(cg, z, r), vec_mul(cg, x, y)));
  return vec_add(cg, w, fix);
}

/* Bit `bit` of the quadrant on: a lane mask. */
static LLVMValueRef quadrant_bit(vitc_cg *cg, LLVMValueRef q, int bit) {
  LLVMValueRef b = vec_and(cg, q, vec_const(cg, LLVMTypeOf(q), bit));
  return vec_icmp(cg, LLVMIntNE, b, vec_const(cg, LLVMTypeOf(q), 0));
}

typedef enum trig_fn { TRIG_SIN, TRIG_COS, TRIG_TAN } trig_fn;

static LLVMValueRef trig_f64(vitc_cg *cg, trig_fn fn, LLVMValueRef d) {
  LLVMValueRef q, lo, hi = sincos_reduce(cg, d, &q, &lo);
  LLVMValueRef s = sin_kernel(cg, hi, lo), c = cos_kernel(cg, hi, lo), odd = quadrant_bit(cg, q, 1);
  if (fn == TRIG_TAN) return vec_select(cg, odd, vec_neg(cg, vec_div(cg, c, s)), vec_div(cg, s, c));
  /* sin: s, c, -s, -c for q = 0..3; cos: c, -s, -c, s */
  LLVMValueRef base = fn == TRIG_SIN ? vec_select(cg, odd, c, s) : vec_select(cg, odd, s, c);
  LLVMValueRef neg = fn == TRIG_SIN ? quadrant_bit(cg, q, 2) : vec_xor(cg, quadrant_bit(cg, q, 2), odd);
  return vec_select(cg, neg, vec_neg(cg, base), base);
}

static LLVMValueRef trig(vitc_cg *cg, trig_fn fn, LLVMValueRef x) {
  static const char *const libm_name[][2] = {{"sin", "sinf"}, {"cos", "cosf"}, {"tan", "tanf"}};
  LLVMValueRef y = trig_f64(cg, fn, is_double(x) ? x : to_f64(cg, x));
  LLVMValueRef far = vec_cmp(cg, LLVMRealOGT, vec_abs(cg, x), vec_k(cg, x, SINCOS_LIMIT));
  return libm_where(cg, libm_name[fn][!is_double(x)], far, &x, 1, is_double(x) ? y : to_f32(cg, y));
}

/* Error over [-1.5e6, 1.5e6]: double 1 ulp; float 0.5 ulp. Beyond, libm's sin (glibc's sinf: 0.56 ulp
 * over [-1e7, 1e7]). */
LLVMValueRef vm_sin(vitc_cg *cg, LLVMValueRef x) { return trig(cg, TRIG_SIN, x); }
/* Error over [-1.5e6, 1.5e6]: double 1 ulp; float 0.5 ulp. Beyond, libm's cos (glibc's cosf: 0.56 ulp). */
LLVMValueRef vm_cos(vitc_cg *cg, LLVMValueRef x) { return trig(cg, TRIG_COS, x); }
/* sin/cos of the reduced argument. Error over [-1.5e6, 1.5e6]: double 2 ulp; float 0.5 ulp. Beyond, libm's
 * tan (glibc's tanf: 1.08 ulp). */
LLVMValueRef vm_tan(vitc_cg *cg, LLVMValueRef x) { return trig(cg, TRIG_TAN, x); }

/* ---------------------------------------------------------------- inverse trigonometric */

/* atan of a double: |d| reduced to [0, 0.66] by π/2 - atan(1/|d|) above tan(3π/8) and π/4 + atan((|d| -
 * 1)/(|d| + 1)) above 0.66, then Cephes' rational function; π/2 and π/4 carry their low parts, the sign
 * is restored. */
static LLVMValueRef atan_f64(vitc_cg *cg, LLVMValueRef d) {
  LLVMValueRef a = vec_abs(cg, d), one = vec_k(cg, d, 1), zero = vec_k(cg, d, 0);
  LLVMValueRef far = vec_cmp(cg, LLVMRealOGT, a, vec_k(cg, d, 2.41421356237309504880));
  LLVMValueRef mid = vec_cmp(cg, LLVMRealOGT, a, vec_k(cg, d, 0.66));
  LLVMValueRef u = vec_select(cg, far, vec_div(cg, vec_k(cg, d, -1), a),
                              vec_select(cg, mid, vec_div(cg, vec_sub(cg, a, one), vec_add(cg, a, one)), a));
  LLVMValueRef base = vec_select(cg, far, vec_k(cg, d, 1.57079632679489661923),
                                 vec_select(cg, mid, vec_k(cg, d, 0.78539816339744830962), zero));
  LLVMValueRef base_lo = vec_select(cg, far, vec_k(cg, d, 6.123233995736765886e-17),
                                    vec_select(cg, mid, vec_k(cg, d, 3.061616997868382943e-17), zero));
  static const double p[] = {-8.750608600031904122785e-01, -1.615753718733365076637e+01, -7.500855792314704667340e+01,
                             -1.228866684490136173410e+02, -6.485021904942025371773e+01};
  static const double q[] = {1, 2.485846490142306297962e+01, 1.650270098316988542046e+02,
                             4.328810604912902668951e+02, 4.853903996359136964868e+02, 1.945506571482613964425e+02};
  LLVMValueRef z = vec_mul(cg, u, u);
  LLVMValueRef ratio = vec_div(cg, vec_mul(cg, z, horner(cg, z, p, 5)), horner(cg, z, q, 6));
  LLVMValueRef y = vec_add(cg, base, vec_add(cg, vec_muladd(cg, u, ratio, u), base_lo));
  return with_sign_of(cg, y, d);
}

/* asin x = atan(x / √((1 - x)(1 + x))); NaN outside [-1, 1]. */
static LLVMValueRef asin_f64(vitc_cg *cg, LLVMValueRef d) {
  LLVMValueRef one = vec_k(cg, d, 1);
  return atan_f64(cg, vec_div(cg, d, vec_sqrt(cg, vec_mul(cg, vec_sub(cg, one, d), vec_add(cg, one, d)))));
}

/* acos x = 2·atan(√((1 - x)/(1 + x))): no cancellation near x = 1. */
static LLVMValueRef acos_f64(vitc_cg *cg, LLVMValueRef d) {
  LLVMValueRef one = vec_k(cg, d, 1);
  LLVMValueRef t = atan_f64(cg, vec_sqrt(cg, vec_div(cg, vec_sub(cg, one, d), vec_add(cg, one, d))));
  return vec_add(cg, t, t);
}

/* Error over [-1e6, 1e6]: double 1 ulp; float 0.5 ulp. */
LLVMValueRef vm_atan(vitc_cg *cg, LLVMValueRef x) { return in_double(cg, atan_f64, x); }
/* Error over [-1, 1]: double 2 ulp; float 0.5 ulp. */
LLVMValueRef vm_asin(vitc_cg *cg, LLVMValueRef x) { return in_double(cg, asin_f64, x); }
/* Error over [-1, 1]: double 2 ulp; float 0.5 ulp. */
LLVMValueRef vm_acos(vitc_cg *cg, LLVMValueRef x) { return in_double(cg, acos_f64, x); }

/* ---------------------------------------------------------------- hyperbolic */

/* e^|d|/2 where e^|d| itself would overflow (|d| > 709.7): (e^(|d|/2)/2)·e^(|d|/2). */
static LLVMValueRef half_exp_big(vitc_cg *cg, LLVMValueRef a) {
  LLVMValueRef w = exp_f64(cg, vec_mul(cg, a, vec_k(cg, a, 0.5)));
  return vec_mul(cg, vec_mul(cg, w, vec_k(cg, a, 0.5)), w);
}

/* (e^a - e^-a)/2 = (t + t/(t + 1))/2 with t = e^a - 1 below 1 (no cancellation), (u - 1/u)/2 with u = e^a
 * above, half_exp_big beyond 709.7; the sign restored. */
static LLVMValueRef sinh_f64(vitc_cg *cg, LLVMValueRef d) {
  LLVMValueRef a = vec_abs(cg, d), u = exp_f64(cg, a), t = expm1_from(cg, u, a), half = vec_k(cg, d, 0.5);
  LLVMValueRef small = vec_mul(cg, half, vec_add(cg, t, vec_div(cg, t, vec_add(cg, t, vec_k(cg, d, 1)))));
  LLVMValueRef y = vec_mul(cg, half, vec_sub(cg, u, vec_div(cg, vec_k(cg, d, 1), u)));
  y = vec_select(cg, vec_cmp(cg, LLVMRealOLT, a, vec_k(cg, d, 1)), small, y);
  y = vec_select(cg, vec_cmp(cg, LLVMRealOGT, a, vec_k(cg, d, 709.7)), half_exp_big(cg, a), y);
  return with_sign_of(cg, y, d);
}

/* (u + 1/u)/2 with u = e^|d|, half_exp_big beyond 709.7. */
static LLVMValueRef cosh_f64(vitc_cg *cg, LLVMValueRef d) {
  LLVMValueRef a = vec_abs(cg, d), u = exp_f64(cg, a);
  LLVMValueRef y = vec_mul(cg, vec_k(cg, d, 0.5), vec_add(cg, u, vec_div(cg, vec_k(cg, d, 1), u)));
  return vec_select(cg, vec_cmp(cg, LLVMRealOGT, a, vec_k(cg, d, 709.7)), half_exp_big(cg, a), y);
}

/* tanh |d| = -t/(t + 2) with t = e^(-2|d|) - 1 below 1, 1 - 2/(t + 2) with t = e^(2|d|) - 1 above (1 for
 * t = inf); the sign restored. */
static LLVMValueRef tanh_f64(vitc_cg *cg, LLVMValueRef d) {
  LLVMValueRef a = vec_abs(cg, d), two = vec_k(cg, d, 2), small = vec_cmp(cg, LLVMRealOLT, a, vec_k(cg, d, 1));
  LLVMValueRef arg = vec_select(cg, small, vec_mul(cg, a, vec_k(cg, d, -2)), vec_mul(cg, a, two));
  LLVMValueRef t = expm1_from(cg, exp_f64(cg, arg), arg), t2 = vec_add(cg, t, two);
  LLVMValueRef y =
      vec_select(cg, small, vec_div(cg, vec_neg(cg, t), t2), vec_sub(cg, vec_k(cg, d, 1), vec_div(cg, two, t2)));
  return with_sign_of(cg, y, d);
}

/* Above 2^28, x² + 1 is x² (and x² may overflow): asinh x and acosh x are log x + ln 2. */
#define HYP_BIG 268435456.0
static LLVMValueRef log_twice(vitc_cg *cg, LLVMValueRef a) {
  return vec_add(cg, log_f64(cg, a), vec_k(cg, a, 6.93147180559945286227e-01));
}

/* asinh |d| = log1p(a + a²/(1 + √(1 + a²))) up to 2, log(2a + 1/(a + √(a² + 1))) above, log a + ln 2 above
 * 2^28; the sign restored. */
static LLVMValueRef asinh_f64(vitc_cg *cg, LLVMValueRef d) {
  LLVMValueRef a = vec_abs(cg, d), one = vec_k(cg, d, 1), a2 = vec_mul(cg, a, a),
               root = vec_sqrt(cg, vec_add(cg, a2, one));
  LLVMValueRef y = log1p_f64(cg, vec_add(cg, a, vec_div(cg, a2, vec_add(cg, one, root))));
  LLVMValueRef mid = log_f64(cg, vec_add(cg, vec_add(cg, a, a), vec_div(cg, one, vec_add(cg, a, root))));
  y = vec_select(cg, vec_cmp(cg, LLVMRealOGT, a, vec_k(cg, d, 2)), mid, y);
  y = vec_select(cg, vec_cmp(cg, LLVMRealOGT, a, vec_k(cg, d, HYP_BIG)), log_twice(cg, a), y);
  return with_sign_of(cg, y, d);
}

/* acosh d = log1p(t + √(2t + t²)), t = d - 1, up to 2; log(2d - 1/(d + √(d² - 1))) above; log d + ln 2
 * above 2^28; NaN below 1. */
static LLVMValueRef acosh_f64(vitc_cg *cg, LLVMValueRef d) {
  LLVMValueRef one = vec_k(cg, d, 1), t = vec_sub(cg, d, one);
  LLVMValueRef y = log1p_f64(cg, vec_add(cg, t, vec_sqrt(cg, vec_muladd(cg, t, t, vec_add(cg, t, t)))));
  LLVMValueRef root = vec_sqrt(cg, vec_muladd(cg, d, d, vec_neg(cg, one)));
  LLVMValueRef mid = log_f64(cg, vec_sub(cg, vec_add(cg, d, d), vec_div(cg, one, vec_add(cg, d, root))));
  y = vec_select(cg, vec_cmp(cg, LLVMRealOGT, d, vec_k(cg, d, 2)), mid, y);
  y = vec_select(cg, vec_cmp(cg, LLVMRealOGT, d, vec_k(cg, d, HYP_BIG)), log_twice(cg, d), y);
  return vec_select(cg, vec_cmp(cg, LLVMRealOLT, d, one), vec_k(cg, d, NAN), y);
}

/* atanh |d| = log1p(2a + 2a²/(1 - a))/2 below 1/2, log1p(2a/(1 - a))/2 above: ±inf at ±1, NaN beyond;
 * the sign restored. */
static LLVMValueRef atanh_f64(vitc_cg *cg, LLVMValueRef d) {
  LLVMValueRef a = vec_abs(cg, d), two_a = vec_add(cg, a, a), rest = vec_sub(cg, vec_k(cg, d, 1), a);
  LLVMValueRef small = vec_add(cg, two_a, vec_div(cg, vec_mul(cg, two_a, a), rest));
  LLVMValueRef arg = vec_select(cg, vec_cmp(cg, LLVMRealOLT, a, vec_k(cg, d, 0.5)), small, vec_div(cg, two_a, rest));
  return with_sign_of(cg, vec_mul(cg, vec_k(cg, d, 0.5), log1p_f64(cg, arg)), d);
}

/* Error over [-710, 710]: double 3 ulp; float (over [-90, 90]) 0.5 ulp. */
LLVMValueRef vm_sinh(vitc_cg *cg, LLVMValueRef x) { return in_double(cg, sinh_f64, x); }
/* Error over [-710, 710]: double 3 ulp; float (over [-90, 90]) 0.5 ulp. */
LLVMValueRef vm_cosh(vitc_cg *cg, LLVMValueRef x) { return in_double(cg, cosh_f64, x); }
/* Error over [-1e300, 1e300]: double 2 ulp; float (over [-FLT_MAX, FLT_MAX]) 0.5 ulp. */
LLVMValueRef vm_asinh(vitc_cg *cg, LLVMValueRef x) { return in_double(cg, asinh_f64, x); }
/* Error over [1, 1e300]: double 3 ulp (near 1); float (over [1, FLT_MAX]) 0.5 ulp. */
LLVMValueRef vm_acosh(vitc_cg *cg, LLVMValueRef x) { return in_double(cg, acosh_f64, x); }
/* Error over [-1, 1]: double 2 ulp; float 0.5 ulp. */
LLVMValueRef vm_atanh(vitc_cg *cg, LLVMValueRef x) { return in_double(cg, atanh_f64, x); }

/* ---------------------------------------------------------------- erf of a double */

/* erf x = x + x·Q(x²) below 1; 1 - e^(-x²)·R_i(|x| - i) on [i, i + 1) for i = 1, 2, 3 and on [4, 6) (R_i a
 * polynomial for erfc(x)·e^(x²) there); ±1 from 6 on (erfc 6 = 2e-17). The coefficients are Chebyshev
 * fits (mpmath) of degree 11 and 16 with relative error below 1e-17. */
static LLVMValueRef erf_f64(vitc_cg *cg, LLVMValueRef d) {
  static const double small[] = {-7.79589882700214246e-10, 1.37200645467776862e-08,  -1.62084838018717052e-07,
                                 1.64474247033173623e-06,  -1.49247369074196605e-05, 1.20552949048397074e-04,
                                 -8.54832597538969182e-04, 5.22397760711642255e-03,  -2.68661706432377703e-02,
                                 1.12837916709450065e-01,  -3.76126389031835429e-01, 1.28379167095512559e-01};
  static const double scaled[4][17] = {
      {1.32425415068495858e-08, -1.55486139893698290e-07, 9.36012733016530843e-07, -3.99205197637737323e-06,
       1.40580490715924637e-05, -4.46099180763104218e-05, 1.33352030327308502e-04, -3.81817524600245629e-04,
       1.05022407461203031e-03, -2.76905368071813035e-03, 6.97014041186892579e-03, -1.66618688480930748e-02,
       3.75722961955084409e-02, -7.92269689403444499e-02, 1.54371561371882710e-01, -2.73212014783898283e-01,
       4.27583576155806999e-01},
      {2.11688926271443876e-10, -2.62637742423894771e-09, 1.71590139890718120e-08, -8.21367722501991294e-08,
       3.35958348771310890e-07, -1.27260855712807934e-06, 4.62411713125052683e-06, -1.62919204610250885e-05,
       5.57277174630083530e-05, -1.84778220327444032e-04, 5.92469969282581805e-04, -1.83166427251658351e-03,
       5.44073853720883262e-03, -1.54606377642779076e-02, 4.18027526035262068e-02, -1.06796461853489594e-01,
       2.55395676310505748e-01},
      {6.17099099735617719e-12, -8.10772745935377578e-11, 5.76983564067316291e-10, -3.11003788817194042e-09,
       1.47652019758689463e-08, -6.63002975525485992e-08, 2.89168283424590888e-07, -1.23332391231752834e-06,
       5.14642194993226677e-06, -2.09894608612996927e-05, 8.35541389889668811e-05, -3.24125544417604400e-04,
       1.22303905237031748e-03, -4.47943101837225237e-03, 1.58843711598713293e-02, -5.43722600071728721e-02,
       1.79001151181389956e-01},
      {7.93510637300474770e-14, -1.77291857370741444e-12, 1.98940060955272867e-11, -1.54283538427423890e-10,
       9.65344686687063586e-10, -5.37105363494120373e-09, 2.81798992853505164e-08, -1.43463705689159541e-07,
       7.15958462724214751e-07, -3.51032418837602096e-06, 1.69056342942421316e-05, -7.99088766230453073e-05,
       3.70352468395721902e-04, -1.68118207668664708e-03, 7.46543324497245860e-03, -3.23835060950213929e-02,
       1.36999457625061383e-01}};
  static const double from[4] = {1, 2, 3, 4};
  LLVMValueRef a = vec_abs(cg, d), z = vec_mul(cg, d, d), region[4], coef[17];
  for (int r = 1; r < 4; r++) region[r] = vec_cmp(cg, LLVMRealOGE, a, vec_k(cg, d, from[r]));
  LLVMValueRef start = vec_k(cg, d, from[0]);
  for (int r = 1; r < 4; r++) start = vec_select(cg, region[r], vec_k(cg, d, from[r]), start);
  for (int i = 0; i < 17; i++) {
    coef[i] = vec_k(cg, d, scaled[0][i]);
    for (int r = 1; r < 4; r++) coef[i] = vec_select(cg, region[r], vec_k(cg, d, scaled[r][i]), coef[i]);
  }
  LLVMValueRef s = vec_sub(cg, a, start), p = coef[0];
  for (int i = 1; i < 17; i++) p = vec_muladd(cg, p, s, coef[i]);
  LLVMValueRef tail = vec_sub(cg, vec_k(cg, d, 1), vec_mul(cg, exp_f64(cg, vec_neg(cg, z)), p));
  tail = vec_select(cg, vec_cmp(cg, LLVMRealOGE, a, vec_k(cg, d, 6)), vec_k(cg, d, 1), tail);
  LLVMValueRef y = vec_select(cg, vec_cmp(cg, LLVMRealOLT, a, vec_k(cg, d, 1)),
                              vec_muladd(cg, d, horner(cg, z, small, 12), d), with_sign_of(cg, tail, d));
  return keep_nan(cg, d, y);
}

/* ---------------------------------------------------------------- pow */

/* log|b| as hi + lo to about 2^-60 relative: |b| = 2^k·(1 + f), log(1 + f) = 2s + s·R(s²) with s = f/(2 + f)
 * carried as s_hi + s_lo (the division's remainder by fma), k·ln2 in two parts, joined by a two-sum.
 * -inf at 0, inf at inf (lo 0). */
static LLVMValueRef log_double_double(vitc_cg *cg, LLVMValueRef b, LLVMValueRef *lo) {
  float_format fmt = format_of(cg, b);
  LLVMValueRef a = vec_abs(cg, b), k, f = log_split(cg, &fmt, a, &k), two = vec_k(cg, b, 2);
  LLVMValueRef den = vec_add(cg, two, f), den_lo = vec_sub(cg, f, vec_sub(cg, den, two));
  LLVMValueRef s = vec_div(cg, f, den);
  LLVMValueRef s_lo = vec_div(cg, vec_sub(cg, vec_fma(cg, vec_neg(cg, s), den, f), vec_mul(cg, s, den_lo)), den);
  static const double lg[] = {1.479819860511658591e-01, 1.531383769920937332e-01, 1.818357216161805012e-01,
                              2.222219843214978396e-01, 2.857142874366239149e-01, 3.999999999940941908e-01,
                              6.666666666666735130e-01};
  LLVMValueRef z = vec_mul(cg, s, s), r = vec_mul(cg, z, horner(cg, z, lg, 7)), err;
  LLVMValueRef hi = two_sum(cg, vec_mul(cg, k, vec_k(cg, b, 6.93147180369123816490e-01)), vec_add(cg, s, s), &err);
  LLVMValueRef rest =
      vec_muladd(cg, k, vec_k(cg, b, 1.90821492927058770002e-10), vec_muladd(cg, s, r, vec_add(cg, s_lo, s_lo)));
  rest = vec_add(cg, err, rest);
  LLVMValueRef sum = vec_add(cg, hi, rest); /* hi + lo renormalised: lo below half an ulp of hi */
  *lo = vec_sub(cg, rest, vec_sub(cg, sum, hi));
  hi = sum;
  LLVMValueRef special = vec_or(cg, is_inf(cg, a), vec_cmp(cg, LLVMRealOEQ, a, vec_k(cg, b, 0)));
  *lo = vec_select(cg, special, vec_k(cg, b, 0), *lo);
  return log_specials(cg, a, hi);
}

/* b^e exactly when e is an integer of |e| < 128 and every product of b's squares on the way is exact (an
 * integer or dyadic result, as libm's): *exact is off in the lanes where one is not. */
static LLVMValueRef pow_by_squaring(vitc_cg *cg, LLVMValueRef b, LLVMValueRef e, LLVMValueRef *exact) {
  LLVMValueRef n = vec_abs(cg, e), y = vec_k(cg, b, 1), sq = b, zero = vec_k(cg, b, 0);
  *exact = vec_and(cg, vec_cmp(cg, LLVMRealOEQ, vec_call1(cg, "llvm.trunc", e), e),
                   vec_cmp(cg, LLVMRealOLT, n, vec_k(cg, e, 128)));
  for (int bit = 0; bit < 7; bit++) {
    LLVMValueRef half = vec_call1(cg, "llvm.trunc", vec_mul(cg, n, vec_k(cg, e, 0.5)));
    LLVMValueRef odd = vec_cmp(cg, LLVMRealONE, vec_add(cg, half, half), n);
    LLVMValueRef p = vec_mul(cg, y, sq);
    LLVMValueRef p_exact = vec_cmp(cg, LLVMRealOEQ, vec_fma(cg, y, sq, vec_neg(cg, p)), zero);
    *exact = vec_and(cg, *exact, vec_or(cg, vec_not(cg, odd), p_exact));
    y = vec_select(cg, odd, p, y);
    n = half;
    if (bit == 6) break;
    LLVMValueRef sq2 = vec_mul(cg, sq, sq);
    LLVMValueRef more = vec_cmp(cg, LLVMRealOGT, n, zero); /* a square only counts while bits remain */
    LLVMValueRef sq_exact = vec_cmp(cg, LLVMRealOEQ, vec_fma(cg, sq, sq, vec_neg(cg, sq2)), zero);
    *exact = vec_and(cg, *exact, vec_or(cg, vec_not(cg, more), sq_exact));
    sq = sq2;
  }
  *exact = vec_and(cg, *exact, vec_cmp(cg, LLVMRealONE, y, zero)); /* 1/0 and underflow: the general path */
  return vec_select(cg, vec_cmp(cg, LLVMRealOLT, e, zero), vec_div(cg, vec_k(cg, b, 1), y), y);
}

/* e·log|b| as p + p_lo (p_lo 0 where p is infinite). */
static LLVMValueRef pow_exponent(vitc_cg *cg, LLVMValueRef b, LLVMValueRef e, LLVMValueRef *p_lo) {
  LLVMValueRef lo, hi = log_double_double(cg, b, &lo), p = vec_mul(cg, e, hi);
  *p_lo = vec_muladd(cg, e, lo, vec_fma(cg, e, hi, vec_neg(cg, p)));
  *p_lo = vec_select(cg, is_inf(cg, p), vec_k(cg, p, 0), *p_lo);
  return p;
}

/* b^e of floats b, e before pow_specials: |b| = 2^k·(1 + f) split in float lanes (exact), then in double
 * p = e·log|b| (log_of_split without a division: within about 2^-50 relative) and exp(p) = 2^n·exp(r) with
 * exp(r) a weighted least-squares fit of degree 8 (2^-40 relative on |r| <= ln2/2), rounded once to float.
 * p is clamped to [-104, 89], where exp already rounds to float 0 and inf, so 2^n is one normal double. */
static LLVMValueRef pow_float(vitc_cg *cg, LLVMValueRef b, LLVMValueRef e) {
  float_format ff = format_of(cg, b);
  LLVMValueRef a = vec_abs(cg, b), k, f = log_split(cg, &ff, a, &k);
  LLVMValueRef l = log_specials(cg, to_f64(cg, a), log_of_split(cg, to_f64(cg, f), to_f64(cg, k), true));
  LLVMValueRef p = vec_mul(cg, to_f64(cg, e), l), pc, t;
  float_format fd = format_of(cg, p);
  LLVMValueRef n = exp_round(cg, &fd, p, -104, 89, &pc, &t);
  LLVMValueRef r = vec_muladd(cg, n, vec_k(cg, p, -6.93147180369123816490e-01), pc);
  r = vec_muladd(cg, n, vec_k(cg, p, -1.90821492927058770002e-10), r);
  static const double fit[] = {2.4718985635746613e-05, 1.9915377459511169e-04, 1.3889198301438245e-03,
                               8.3332671269788407e-03, 4.1666664073844790e-02, 1.6666666884871051e-01,
                               5.0000000006528933e-01, 9.9999999998070965e-01, 9.9999999999975031e-01};
  LLVMValueRef ni = vec_isub(cg, vec_bitcast(cg, t, fd.bits), vec_bitcast(cg, vec_k(cg, t, 1.5 * ldexp(1, fd.mant)), fd.bits));
  LLVMValueRef scale = vec_shl(cg, vec_iadd(cg, ni, vec_const(cg, fd.bits, fd.bias)), vec_const(cg, fd.bits, fd.mant));
  return to_f32(cg, vec_mul(cg, horner(cg, r, fit, 9), vec_bitcast(cg, scale, LLVMTypeOf(p))));
}

/* C's pow special cases on y = |b|^e: a negative (or -0) base gives the sign of an odd integer exponent and
 * NaN for a non-integer one (-0 and -inf: +0 or +inf); b^0 = 1 and 1^e = 1 even for NaN, (-1)^±inf = 1.
 * `squared` (NULL for none) replaces y in the `exact` lanes, its sign its own. */
static LLVMValueRef pow_specials(vitc_cg *cg, LLVMValueRef b, LLVMValueRef e, LLVMValueRef y, LLVMValueRef exact,
                                 LLVMValueRef squared) {
  LLVMValueRef whole = vec_cmp(cg, LLVMRealOEQ, vec_call1(cg, "llvm.floor", e), e);
  LLVMValueRef half = vec_mul(cg, e, vec_k(cg, e, 0.5));
  LLVMValueRef odd = vec_and(cg, whole, vec_cmp(cg, LLVMRealONE, vec_call1(cg, "llvm.floor", half), half));
  LLVMTypeRef it = format_of(cg, b).bits;
  LLVMValueRef negative = vec_icmp(cg, LLVMIntSLT, vec_bitcast(cg, b, it), vec_const(cg, it, 0));
  LLVMValueRef neg_base = vec_and(cg, negative, vec_cmp(cg, LLVMRealORD, b, b));
  y = vec_select(cg, vec_and(cg, neg_base, odd), vec_neg(cg, y), y);
  if (squared) y = vec_select(cg, exact, squared, y);
  LLVMValueRef finite_negative = vec_and(cg, vec_cmp(cg, LLVMRealOLT, b, vec_k(cg, b, 0)), vec_not(cg, is_inf(cg, b)));
  y = vec_select(cg, vec_and(cg, finite_negative, vec_not(cg, whole)), vec_k(cg, b, NAN), y);
  LLVMValueRef minus_one_inf = vec_and(cg, vec_cmp(cg, LLVMRealOEQ, b, vec_k(cg, b, -1)), is_inf(cg, e));
  LLVMValueRef is_one =
      vec_or(cg, vec_cmp(cg, LLVMRealOEQ, b, vec_k(cg, b, 1)), vec_cmp(cg, LLVMRealOEQ, e, vec_k(cg, e, 0)));
  return vec_select(cg, vec_or(cg, is_one, minus_one_inf), vec_k(cg, b, 1), y);
}

/* Double: log|b| and the product carried to about 2^-60 (log_double_double, pow_exponent), powers that are
 * products of exact squares exact, as libm's. Float: pow_float.
 * Error over bases [-100, 100], exponents [-30, 30]: double 1 ulp (growing as |e·log b| nears 709: about
 * |e·log b|·2^-60 relative), exact where the result is a product of exact squares; float 0.5 ulp. */
LLVMValueRef vm_pow(vitc_cg *cg, LLVMValueRef b, LLVMValueRef e) {
  if (!is_double(b)) return pow_specials(cg, b, e, pow_float(cg, b, e), NULL, NULL);
  LLVMValueRef p_lo, exact, big = exp_f64(cg, pow_exponent(cg, b, e, &p_lo));
  LLVMValueRef y = vec_select(cg, is_inf(cg, big), big, vec_muladd(cg, big, p_lo, big));
  LLVMValueRef squared = pow_by_squaring(cg, b, e, &exact);
  return pow_specials(cg, b, e, y, exact, squared);
}

/* b^e of floats for an exponent known when the kernel is built, where a cheaper form gives vm_pow's
 * results: an integer |e| <= 64 as a product of b's squares in double (relative error below |e|·2^-53
 * before the one rounding to float; 1/b^-e for a negative e; NaN, ±0 and ±inf follow from the products
 * as C's pow has them), ±0.5 through a square root of b + 0 (+0 for -0, as C's pow; 1/√ in double) with
 * C's +inf / +0 at -inf. NULL where none applies. */
LLVMValueRef vm_pow_known(vitc_cg *cg, LLVMValueRef b, double e) {
  if (is_double(b)) return NULL;
  if (e == 0.5 || e == -0.5) {
    LLVMValueRef d = e > 0 ? b : to_f64(cg, b), root = vec_sqrt(cg, vec_add(cg, d, vec_k(cg, d, 0)));
    LLVMValueRef y = e > 0 ? root : to_f32(cg, vec_div(cg, vec_k(cg, root, 1), root));
    return vec_select(cg, vec_cmp(cg, LLVMRealOEQ, b, vec_k(cg, b, -INFINITY)), vec_k(cg, b, e > 0 ? INFINITY : 0), y);
  }
  if (e != floor(e) || fabs(e) > 64) return NULL;
  LLVMValueRef y = NULL, sq = to_f64(cg, b);
  for (int m = (int)fabs(e); m; m >>= 1) {
    if (m & 1) y = y ? vec_mul(cg, y, sq) : sq;
    if (m > 1) sq = vec_mul(cg, sq, sq);
  }
  if (!y) return vec_k(cg, b, 1);
  return to_f32(cg, e < 0 ? vec_div(cg, vec_k(cg, y, 1), y) : y);
}

/* b^e of integers by squaring, wrapping (i64 lanes), as the evaluator's Pow of integers: a negative
 * exponent gives the truncated 1/b^-e (1 for b = 1, ±1 for b = -1, else 0). The loop runs over the bits of
 * the largest exponent of the vector. */
LLVMValueRef vm_ipow(vitc_cg *cg, LLVMValueRef b, LLVMValueRef e) {
  LLVMTypeRef t = LLVMTypeOf(b);
  LLVMValueRef zero = vec_const(cg, t, 0), one = vec_const(cg, t, 1);
  LLVMValueRef negative = vec_icmp(cg, LLVMIntSLT, e, zero), n = vec_select(cg, negative, zero, e);
  int lanes = vec_lanes(t);
  LLVMValueRef bits_of = lanes > 1 ? vec_lane(cg, n, 0) : n;
  for (int i = 1; i < lanes; i++) bits_of = vec_or(cg, bits_of, vec_lane(cg, n, i));
  LLVMValueRef args[2] = {bits_of, LLVMConstInt(cg->i1, 0, false)};
  LLVMTypeRef st = LLVMTypeOf(bits_of);
  LLVMValueRef steps = ix_sub(cg, cg_i64(cg, 64), cg_intrinsic(cg, "llvm.ctlz", &st, 1, args, 2));
  cg_mut y = cg_mut_new(cg, t, one), sq = cg_mut_new(cg, t, b), rest = cg_mut_new(cg, t, n);
  cg_loop l = cg_loop_begin(cg, cg_i64(cg, 0), steps, 1);
  LLVMValueRef odd = vec_icmp(cg, LLVMIntNE, vec_and(cg, cg_get(cg, rest), one), zero);
  cg_set(cg, y, vec_select(cg, odd, vec_imul(cg, cg_get(cg, y), cg_get(cg, sq)), cg_get(cg, y)));
  cg_set(cg, sq, vec_imul(cg, cg_get(cg, sq), cg_get(cg, sq)));
  cg_set(cg, rest, vec_lshr(cg, cg_get(cg, rest), one));
  cg_loop_end(cg, &l);
  LLVMValueRef odd_e = vec_icmp(cg, LLVMIntNE, vec_and(cg, e, one), zero);
  LLVMValueRef minus_one = vec_icmp(cg, LLVMIntEQ, b, vec_const(cg, t, -1));
  LLVMValueRef inverse = vec_select(cg, vec_icmp(cg, LLVMIntEQ, b, one), one,
                                    vec_select(cg, minus_one, vec_select(cg, odd_e, vec_const(cg, t, -1), one), zero));
  return vec_select(cg, negative, inverse, cg_get(cg, y));
}

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

/* c[0]·z^(n-1) + c[1]·z^(n-2) + … + c[n-1], by Horner's rule. */
static LLVMValueRef horner(vitc_cg *cg, LLVMValueRef z, const double *c, int n) {
  LLVMValueRef p = vec_k(cg, z, c[0]);
  for (int i = 1; i < n; i++) p = vec_muladd(cg, p, z, vec_k(cg, z, c[i]));
  return p;
}

static LLVMValueRef exp_f64(vitc_cg *cg, LLVMValueRef x);
static LLVMValueRef log_f64(vitc_cg *cg, LLVMValueRef x);

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
 * Error over [-10, 10]: 5.5 ulp, abs 3.3e-7 (the division as vec_div_by_normal). */
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
  return keep_nan(cg, x, vec_mul(cg, xc, vec_div_by_normal(cg, p, q))); /* x last: x·p would lose bits for tiny x */
}

/* tanh as Eigen's rational function (odd degree 13 over even degree 6) of x clamped to ±7.9988, x itself
 * where |x| < 0.0004.
 * Error over [-10, 10]: 4.6 ulp, abs 2.8e-7 (the division as vec_div_by_normal). */
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
  LLVMValueRef y = vec_div_by_normal(cg, vec_mul(cg, xc, p), q);
  LLVMValueRef tiny = vec_cmp(cg, LLVMRealOLT, vec_abs(cg, x), vec_k(cg, x, 0.0004));
  return keep_nan(cg, x, vec_select(cg, tiny, x, y));
}

/* 1 / (1 + exp(-x)). Error over [-88, 88]: 2.4 ulp, abs 8.9e-8 (below -88 the result is under 6e-39). */
LLVMValueRef vm_sigmoid(vitc_cg *cg, LLVMValueRef x) {
  LLVMValueRef one = vec_k(cg, x, 1);
  return vec_div(cg, one, vec_add(cg, one, vm_exp(cg, vec_neg(cg, x))));
}

/* Error over [0, 10]: 3.1 ulp; over [-10, 10] abs 9.8e-7: where 1 + erf cancels (x < -1) the relative
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

/* log(x) = k·ln2 + log(1 + f), x = 2^k·(1 + f) with 1 + f in [√½, √2); log(1 + f) = 2s + s·R(s²) with
 * s = f/(2 + f) (fdlibm's polynomial, ln2 in two parts); the specials as the float version's.
 * Error over (0, DBL_MAX]: 1 ulp (of the double result). */
static LLVMValueRef log_f64(vitc_cg *cg, LLVMValueRef x) {
  float_format fmt = format_of(cg, x);
  LLVMValueRef k, f = log_split(cg, &fmt, x, &k);
  static const double lg[] = {1.479819860511658591e-01, 1.531383769920937332e-01, 1.818357216161805012e-01,
                              2.222219843214978396e-01, 2.857142874366239149e-01, 3.999999999940941908e-01,
                              6.666666666666735130e-01};
  LLVMValueRef s = vec_div(cg, f, vec_add(cg, vec_k(cg, x, 2), f)), z = vec_mul(cg, s, s);
  LLVMValueRef big_r = vec_mul(cg, z, horner(cg, z, lg, 7));
  LLVMValueRef hfsq = vec_mul(cg, vec_k(cg, x, 0.5), vec_mul(cg, f, f));
  LLVMValueRef inner = vec_muladd(cg, s, vec_add(cg, hfsq, big_r), vec_mul(cg, k, vec_k(cg, x, 1.90821492927058770002e-10)));
  LLVMValueRef y = vec_sub(cg, vec_mul(cg, k, vec_k(cg, x, 6.93147180369123816490e-01)), vec_sub(cg, vec_sub(cg, hfsq, inner), f));
  return log_specials(cg, x, y);
}

/* ---------------------------------------------------------------- float functions computed in double
 *
 * The rarer functions of a float x are evaluated in double and rounded once: the range reductions and
 * the identities below (log(x + √(x²+1)), exp(y·log b), …) then cost no float precision, and each needs
 * only double exp, log, atan and sin/cos kernels. Their error is that final rounding (<= 0.5 ulp plus the
 * double kernels' 1e-16). A float64 tensor keeps libm's (scalar loops only). */

static LLVMValueRef to_f64(vitc_cg *cg, LLVMValueRef x) {
  return vec_fcast(cg, x, vec_with_elem(LLVMTypeOf(x), cg->f64));
}
static LLVMValueRef to_f32(vitc_cg *cg, LLVMValueRef d) {
  return vec_fcast(cg, d, vec_with_elem(LLVMTypeOf(d), cg->f32));
}

/* Any lane of a comparison's result on (an i1 for a scalar). */
static LLVMValueRef any_lane(vitc_cg *cg, LLVMValueRef mask) {
  int lanes = vec_lanes(LLVMTypeOf(mask));
  if (lanes == 1) return mask;
  LLVMValueRef bits = vec_bitcast(cg, mask, LLVMIntTypeInContext(cg->llvm, (unsigned)lanes));
  return vec_icmp(cg, LLVMIntNE, bits, LLVMConstInt(LLVMTypeOf(bits), 0, false));
}

/* y, with the lanes where `off` is on replaced by libm's name(x) — a branch taken only when some lane is
 * off the range an inline form covers. */
static LLVMValueRef libm_where(vitc_cg *cg, const char *name, LLVMValueRef off, LLVMValueRef x, LLVMValueRef y) {
  cg_mut out = cg_mut_new(cg, LLVMTypeOf(y), y);
  cg_if c = cg_if_begin(cg, any_lane(cg, off));
  int lanes = vec_lanes(LLVMTypeOf(x));
  LLVMValueRef fixed = y;
  for (int i = 0; i < lanes; i++) {
    LLVMValueRef xi = lanes > 1 ? vec_lane(cg, x, i) : x;
    LLVMValueRef call = cg_call(cg, name, LLVMTypeOf(xi), &xi, 1);
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

/* The quadrant q (an i64 vector, only its two low bits count) and sin r, cos r of the double d, d = q·π/2
 * + r with |r| <= π/4: π/2 in three parts, the first of 33 bits, so q·part is exact while |q| < 2^20. */
#define SINCOS_LIMIT 1.5e6
static void sincos_reduce(vitc_cg *cg, LLVMValueRef d, LLVMValueRef *q, LLVMValueRef *sin_r, LLVMValueRef *cos_r) {
  LLVMValueRef magic = vec_k(cg, d, 6755399441055744.0);
  LLVMValueRef t = vec_muladd(cg, d, vec_k(cg, d, 6.36619772367581382433e-01), magic);
  LLVMValueRef n = vec_sub(cg, t, magic);
  *q = vec_bitcast(cg, t, vec_with_elem(LLVMTypeOf(d), cg->i64));
  LLVMValueRef r = vec_muladd(cg, n, vec_k(cg, d, -1.57079632673412561417e+00), d);
  r = vec_muladd(cg, n, vec_k(cg, d, -6.07710050630396597660e-11), r);
  r = vec_muladd(cg, n, vec_k(cg, d, -2.02226624879595063154e-21), r);
  static const double s[] = {1.58969099521155010221e-10, -2.50507602534068634195e-08, 2.75573137070700676789e-06,
                             -1.98412698298579493134e-04, 8.33333333332248946124e-03, -1.66666666666666324348e-01};
  static const double c[] = {-1.13596475577881948265e-11, 2.08757232129817482790e-09, -2.75573143513906633035e-07,
                             2.48015872894767294178e-05, -1.38888888888741095749e-03, 4.16666666666666019037e-02};
  LLVMValueRef z = vec_mul(cg, r, r);
  *sin_r = vec_muladd(cg, vec_mul(cg, r, z), horner(cg, z, s, 6), r);
  *cos_r = vec_muladd(cg, vec_mul(cg, z, z), horner(cg, z, c, 6), vec_muladd(cg, z, vec_k(cg, d, -0.5), vec_k(cg, d, 1)));
}

/* Bit `bit` of the quadrant on: a lane mask. */
static LLVMValueRef quadrant_bit(vitc_cg *cg, LLVMValueRef q, int bit) {
  LLVMValueRef b = vec_and(cg, q, vec_const(cg, LLVMTypeOf(q), bit));
  return vec_icmp(cg, LLVMIntNE, b, vec_const(cg, LLVMTypeOf(q), 0));
}

typedef enum trig_fn { TRIG_SIN, TRIG_COS, TRIG_TAN } trig_fn;

static LLVMValueRef trig(vitc_cg *cg, trig_fn fn, LLVMValueRef x) {
  static const char *const libm_name[] = {"sin", "cos", "tan"};
  if (is_double(x)) return libm_double(cg, libm_name[fn], x);
  LLVMValueRef d = to_f64(cg, x), q, s, c;
  sincos_reduce(cg, d, &q, &s, &c);
  LLVMValueRef odd = quadrant_bit(cg, q, 1), y;
  if (fn == TRIG_TAN) {
    y = vec_select(cg, odd, vec_neg(cg, vec_div(cg, c, s)), vec_div(cg, s, c));
  } else {
    /* sin: s, c, -s, -c for q = 0..3; cos: c, -s, -c, s */
    LLVMValueRef base = fn == TRIG_SIN ? vec_select(cg, odd, c, s) : vec_select(cg, odd, s, c);
    LLVMValueRef neg = fn == TRIG_SIN ? quadrant_bit(cg, q, 2)
                                      : vec_xor(cg, quadrant_bit(cg, q, 2), odd);
    y = vec_select(cg, neg, vec_neg(cg, base), base);
  }
  char fname[8];
  snprintf(fname, sizeof fname, "%sf", libm_name[fn]);
  LLVMValueRef far = vec_cmp(cg, LLVMRealOGT, vec_abs(cg, x), vec_k(cg, x, SINCOS_LIMIT));
  return libm_where(cg, fname, far, x, to_f32(cg, y));
}

/* Error over [-1.5e6, 1.5e6]: 0.5 ulp; beyond, libm's sinf (glibc's: 0.56 ulp over [-1e7, 1e7]). */
LLVMValueRef vm_sin(vitc_cg *cg, LLVMValueRef x) { return trig(cg, TRIG_SIN, x); }
/* Error over [-1.5e6, 1.5e6]: 0.5 ulp; beyond, libm's cosf (glibc's: 0.56 ulp over [-1e7, 1e7]). */
LLVMValueRef vm_cos(vitc_cg *cg, LLVMValueRef x) { return trig(cg, TRIG_COS, x); }
/* Error over [-1.5e6, 1.5e6]: 0.5 ulp; beyond, libm's tanf (glibc's: 1.08 ulp over [-1e7, 1e7]). */
LLVMValueRef vm_tan(vitc_cg *cg, LLVMValueRef x) { return trig(cg, TRIG_TAN, x); }

/* atan of a double: |d| reduced to [0, 0.66] by π/2 - atan(1/|d|) above tan(3π/8) and π/4 + atan((|d| -
 * 1)/(|d| + 1)) above 0.66, then Cephes' rational function (double precision), the sign restored. */
static LLVMValueRef atan_f64(vitc_cg *cg, LLVMValueRef d) {
  LLVMValueRef a = vec_abs(cg, d), one = vec_k(cg, d, 1);
  LLVMValueRef far = vec_cmp(cg, LLVMRealOGT, a, vec_k(cg, d, 2.41421356237309504880));
  LLVMValueRef mid = vec_cmp(cg, LLVMRealOGT, a, vec_k(cg, d, 0.66));
  LLVMValueRef u = vec_select(cg, far, vec_div(cg, vec_k(cg, d, -1), a),
                              vec_select(cg, mid, vec_div(cg, vec_sub(cg, a, one), vec_add(cg, a, one)), a));
  LLVMValueRef base = vec_select(cg, far, vec_k(cg, d, 1.57079632679489661923), vec_select(cg, mid, vec_k(cg, d, 0.78539816339744830962), vec_k(cg, d, 0)));
  static const double p[] = {-8.750608600031904122785e-01, -1.615753718733365076637e+01, -7.500855792314704667340e+01,
                             -1.228866684490136173410e+02, -6.485021904942025371773e+01};
  static const double q[] = {1, 2.485846490142306297962e+01, 1.650270098316988542046e+02,
                             4.328810604912902668951e+02, 4.853903996359136964868e+02, 1.945506571482613964425e+02};
  LLVMValueRef z = vec_mul(cg, u, u);
  LLVMValueRef ratio = vec_div(cg, vec_mul(cg, z, horner(cg, z, p, 5)), horner(cg, z, q, 6));
  LLVMValueRef y = vec_add(cg, base, vec_muladd(cg, u, ratio, u));
  return vec_select(cg, vec_cmp(cg, LLVMRealOLT, d, vec_k(cg, d, 0)), vec_neg(cg, y), y);
}

/* Error over [-1e6, 1e6]: 0.5 ulp. */
LLVMValueRef vm_atan(vitc_cg *cg, LLVMValueRef x) {
  if (is_double(x)) return libm_double(cg, "atan", x);
  return to_f32(cg, atan_f64(cg, to_f64(cg, x)));
}

/* asin x = atan(x / √((1 - x)(1 + x))); NaN outside [-1, 1]. Error over [-1, 1]: 0.5 ulp. */
LLVMValueRef vm_asin(vitc_cg *cg, LLVMValueRef x) {
  if (is_double(x)) return libm_double(cg, "asin", x);
  LLVMValueRef d = to_f64(cg, x), one = vec_k(cg, d, 1);
  LLVMValueRef root = vec_sqrt(cg, vec_mul(cg, vec_sub(cg, one, d), vec_add(cg, one, d)));
  return to_f32(cg, atan_f64(cg, vec_div(cg, d, root)));
}

/* acos x = 2·atan(√((1 - x)/(1 + x))): no cancellation near x = 1. Error over [-1, 1]: 0.5 ulp. */
LLVMValueRef vm_acos(vitc_cg *cg, LLVMValueRef x) {
  if (is_double(x)) return libm_double(cg, "acos", x);
  LLVMValueRef d = to_f64(cg, x), one = vec_k(cg, d, 1);
  LLVMValueRef t = atan_f64(cg, vec_sqrt(cg, vec_div(cg, vec_sub(cg, one, d), vec_add(cg, one, d))));
  return to_f32(cg, vec_add(cg, t, t));
}

/* Below this |x| the odd functions here are x itself in float (their cubic term is under half an ulp),
 * and where their double identities would cancel. */
#define ODD_LINEAR_BELOW 2.44140625e-4 /* 2^-12 */

static LLVMValueRef linear_near_zero(vitc_cg *cg, LLVMValueRef x, LLVMValueRef y) {
  return vec_select(cg, vec_cmp(cg, LLVMRealOLT, vec_abs(cg, x), vec_k(cg, x, ODD_LINEAR_BELOW)), x, y);
}

/* (e^x - e^-x)/2. Error over [-90, 90]: 0.5 ulp. */
LLVMValueRef vm_sinh(vitc_cg *cg, LLVMValueRef x) {
  if (is_double(x)) return libm_double(cg, "sinh", x);
  LLVMValueRef d = to_f64(cg, x);
  LLVMValueRef y = vec_mul(cg, vec_k(cg, d, 0.5), vec_sub(cg, exp_f64(cg, d), exp_f64(cg, vec_neg(cg, d))));
  return linear_near_zero(cg, x, to_f32(cg, y));
}

/* (e^x + e^-x)/2. Error over [-90, 90]: 0.5 ulp. */
LLVMValueRef vm_cosh(vitc_cg *cg, LLVMValueRef x) {
  if (is_double(x)) return libm_double(cg, "cosh", x);
  LLVMValueRef d = to_f64(cg, x);
  return to_f32(cg, vec_mul(cg, vec_k(cg, d, 0.5), vec_add(cg, exp_f64(cg, d), exp_f64(cg, vec_neg(cg, d)))));
}

/* sign(x)·log(|x| + √(x² + 1)). Error over [-FLT_MAX, FLT_MAX]: 0.5 ulp. */
LLVMValueRef vm_asinh(vitc_cg *cg, LLVMValueRef x) {
  if (is_double(x)) return libm_double(cg, "asinh", x);
  LLVMValueRef d = to_f64(cg, x), a = vec_abs(cg, d);
  LLVMValueRef y = log_f64(cg, vec_add(cg, a, vec_sqrt(cg, vec_muladd(cg, a, a, vec_k(cg, d, 1)))));
  y = vec_select(cg, vec_cmp(cg, LLVMRealOLT, d, vec_k(cg, d, 0)), vec_neg(cg, y), y);
  return linear_near_zero(cg, x, to_f32(cg, y));
}

/* log(x + √(x² - 1)), NaN below 1 (x² - 1 is exact in double for a float x). Error over [1, FLT_MAX]:
 * 0.5 ulp. */
LLVMValueRef vm_acosh(vitc_cg *cg, LLVMValueRef x) {
  if (is_double(x)) return libm_double(cg, "acosh", x);
  LLVMValueRef d = to_f64(cg, x);
  return to_f32(cg, log_f64(cg, vec_add(cg, d, vec_sqrt(cg, vec_muladd(cg, d, d, vec_k(cg, d, -1))))));
}

/* log((1 + x)/(1 - x))/2: ±inf at ±1, NaN beyond. Error over [-1, 1]: 0.5 ulp. */
LLVMValueRef vm_atanh(vitc_cg *cg, LLVMValueRef x) {
  if (is_double(x)) return libm_double(cg, "atanh", x);
  LLVMValueRef d = to_f64(cg, x), one = vec_k(cg, d, 1);
  LLVMValueRef y = vec_mul(cg, vec_k(cg, d, 0.5), log_f64(cg, vec_div(cg, vec_add(cg, one, d), vec_sub(cg, one, d))));
  return linear_near_zero(cg, x, to_f32(cg, y));
}

/* b^e = exp(e·log|b|), as C's powf for the special cases: a negative (or -0) base gives the sign of an
 * odd integer exponent and NaN for a non-integer one (-0 and -inf: +0 or +inf); b^0 = 1 and 1^e = 1 even for NaN. Float operands
 * only: a double pow keeps libm's (llvm.pow), whose integer results must not be off by an ulp. Error over
 * bases [-100, 100], exponents [-30, 30]: 0.5 ulp. */
LLVMValueRef vm_pow(vitc_cg *cg, LLVMValueRef b, LLVMValueRef e) {
  if (is_double(b)) {
    LLVMTypeRef t = LLVMTypeOf(b);
    LLVMValueRef args[2] = {b, e};
    return cg_intrinsic(cg, "llvm.pow", &t, 1, args, 2);
  }
  LLVMValueRef bd = to_f64(cg, b), ed = to_f64(cg, e);
  LLVMValueRef y = exp_f64(cg, vec_mul(cg, ed, log_f64(cg, vec_abs(cg, bd))));
  LLVMValueRef whole = vec_cmp(cg, LLVMRealOEQ, vec_call1(cg, "llvm.floor", ed), ed);
  LLVMValueRef half = vec_mul(cg, ed, vec_k(cg, ed, 0.5));
  LLVMValueRef odd = vec_and(cg, whole, vec_cmp(cg, LLVMRealONE, vec_call1(cg, "llvm.floor", half), half));
  LLVMTypeRef it = vec_with_elem(LLVMTypeOf(b), cg->i32);
  LLVMValueRef negative = vec_icmp(cg, LLVMIntSLT, vec_bitcast(cg, b, it), vec_const(cg, it, 0));
  LLVMValueRef not_nan_base = vec_cmp(cg, LLVMRealORD, bd, bd);
  LLVMValueRef neg_base = vec_and(cg, negative, not_nan_base);
  y = vec_select(cg, vec_and(cg, neg_base, odd), vec_neg(cg, y), y);
  LLVMValueRef finite_negative = vec_and(cg, vec_cmp(cg, LLVMRealOLT, bd, vec_k(cg, bd, 0)), vec_cmp(cg, LLVMRealONE, bd, vec_k(cg, bd, -INFINITY)));
  LLVMValueRef no_real_root = vec_and(cg, finite_negative, vec_not(cg, whole));
  y = vec_select(cg, no_real_root, vec_k(cg, bd, NAN), y);
  LLVMValueRef minus_one_inf = vec_and(cg, vec_cmp(cg, LLVMRealOEQ, bd, vec_k(cg, bd, -1)), vec_cmp(cg, LLVMRealOEQ, vec_abs(cg, ed), vec_k(cg, ed, INFINITY)));
  LLVMValueRef is_one = vec_or(cg, vec_cmp(cg, LLVMRealOEQ, bd, vec_k(cg, bd, 1)), vec_cmp(cg, LLVMRealOEQ, ed, vec_k(cg, ed, 0)));
  y = vec_select(cg, vec_or(cg, is_one, minus_one_inf), vec_k(cg, bd, 1), y);
  return to_f32(cg, y);
}

/* vmath.h — the one inline implementation of each transcendental the kernels use, built with vec.h on a
 * float, a double, or a vector of either of any width (a call to libm would be one call per lane). No
 * element calls libm, except the lanes of sin, cos and tan beyond ±1.5e6 and the rare lanes of fmod,
 * which branch to it.
 *
 * Maximum error against libm, written at each definition (tests/unit/test_vmath.c asserts these bounds):
 * for floats, every 97th float bit pattern over the range named, ulp counts of the float result over
 * results of magnitude >= FLT_MIN, "abs" the largest |got - libm|; for doubles, ulps of the double result
 * over 200003 points of the range. Internal to backend/. */
#ifndef VITC_VMATH_H
#define VITC_VMATH_H

#include "vec.h"

LLVMValueRef vm_exp(vitc_cg *cg, LLVMValueRef x);
/* exp(x) for x <= 0 (a softmax's s - max): vm_exp's values on [-87.33, 0], about 1.2e-38 below */
LLVMValueRef vm_exp_nonpositive(vitc_cg *cg, LLVMValueRef x);
LLVMValueRef vm_log(vitc_cg *cg, LLVMValueRef x);
LLVMValueRef vm_erf(vitc_cg *cg, LLVMValueRef x);
LLVMValueRef vm_tanh(vitc_cg *cg, LLVMValueRef x);
LLVMValueRef vm_sigmoid(vitc_cg *cg, LLVMValueRef x);
/* x·Φ(x) = x/2·(1 + erf(x/√2)) */
LLVMValueRef vm_gelu_erf(vitc_cg *cg, LLVMValueRef x);
/* x/2·(1 + tanh(√(2/π)·(x + 0.044715·x³))) */
LLVMValueRef vm_gelu_tanh(vitc_cg *cg, LLVMValueRef x);
/* x·sigmoid(alpha·x) (QuickGelu; alpha 1 is SiLU) */
LLVMValueRef vm_quick_gelu(vitc_cg *cg, LLVMValueRef x, double alpha);
LLVMValueRef vm_silu(vitc_cg *cg, LLVMValueRef x);
/* The rarer functions, one double kernel each: a float x is evaluated in double and rounded once (0.5 ulp). */
LLVMValueRef vm_sin(vitc_cg *cg, LLVMValueRef x);
LLVMValueRef vm_cos(vitc_cg *cg, LLVMValueRef x);
LLVMValueRef vm_tan(vitc_cg *cg, LLVMValueRef x);
LLVMValueRef vm_asin(vitc_cg *cg, LLVMValueRef x);
LLVMValueRef vm_acos(vitc_cg *cg, LLVMValueRef x);
LLVMValueRef vm_atan(vitc_cg *cg, LLVMValueRef x);
LLVMValueRef vm_sinh(vitc_cg *cg, LLVMValueRef x);
LLVMValueRef vm_cosh(vitc_cg *cg, LLVMValueRef x);
LLVMValueRef vm_asinh(vitc_cg *cg, LLVMValueRef x);
LLVMValueRef vm_acosh(vitc_cg *cg, LLVMValueRef x);
LLVMValueRef vm_atanh(vitc_cg *cg, LLVMValueRef x);
/* b^e for floats or doubles of the same type (C's pow special cases). */
LLVMValueRef vm_pow(vitc_cg *cg, LLVMValueRef b, LLVMValueRef e);
/* b^e of floats for an e known at build time where a cheaper form than vm_pow's gives its results (small
 * integers, ±0.5); NULL where none does. */
LLVMValueRef vm_pow_known(vitc_cg *cg, LLVMValueRef b, double e);
/* C's fmod of floats or doubles of the same type (exact). */
LLVMValueRef vm_fmod(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b);
/* b^e of i64 scalars or vectors, wrapping, as the evaluator's integer Pow (a negative e: truncated 1/b^-e). */
LLVMValueRef vm_ipow(vitc_cg *cg, LLVMValueRef b, LLVMValueRef e);

#endif

/* vec.h — the vector vocabulary of generated code: every emitter builds its arithmetic, vector loads and
 * stores, lane folds and index arithmetic from these, so a kernel reads like the math it emits and a new
 * ISA is a new width, not an edit of every kernel. Internal to backend/.
 *
 *   W = vec_width(cg)                        floats per register of the target (16 AVX-512, 8 AVX, 4 else)
 *   v = vec_load(cg, vec_f32(cg), p, n)      the first n of W floats at p (n < W: masked, the rest 0)
 *   a = vec_fma(cg, x, y, a)                 a + x·y, per lane
 *   s = vec_reduce(cg, VEC_SUM, a)           the lanes folded to one scalar
 *   vec_for(cg, len, W, body, state)         body(i, W) over whole vectors, body(i, len % W) for the tail
 *
 * The arithmetic builders take scalars or vectors of any width alike (constants take their type from an
 * operand: vec_k(cg, x, 0.5)), so the transcendentals of vmath.h are written once for both. Index
 * arithmetic (ix_*) is on i64 and never wraps (nsw). */
#ifndef VITC_VEC_H
#define VITC_VEC_H

#include "cg.h"

/* Floats per vector register of the compilation's target (vitc_cg.vlanes, from its features). */
int vec_width(vitc_cg *cg);
/* Bytes per cache line (x86-64 and AArch64 cores alike), and how many of the target's float vectors fill
 * one: 1 with AVX-512, 2 with AVX2, 4 with SSE or NEON. A kernel whose step reads one vector from each of
 * many lines far apart reads a line's vectors in consecutive steps where it is more than one, or fetches
 * the line once per vector when those lines do not all stay in the cache. */
enum { VEC_CACHE_LINE = 64 };
int vec_per_line(vitc_cg *cg);
/* <lanes x elem>; elem itself when lanes is 1. */
LLVMTypeRef vec_of(vitc_cg *cg, LLVMTypeRef elem, int lanes);
/* <vec_width x float>. */
LLVMTypeRef vec_f32(vitc_cg *cg);
/* Lanes of t (1 for a scalar) and its element type. */
int vec_lanes(LLVMTypeRef t);
LLVMTypeRef vec_elem(LLVMTypeRef t);
/* The same shape of vector (or a scalar) with element type e. */
LLVMTypeRef vec_with_elem(LLVMTypeRef t, LLVMTypeRef e);
bool vec_is_float(LLVMValueRef v); /* a float or double scalar, or a vector of them */

/* ---------------------------------------------------------------- constants and broadcasts */

/* v in type t (a float or integer scalar, or a vector of them: every lane v). */
LLVMValueRef vec_const(vitc_cg *cg, LLVMTypeRef t, double v);
/* v in the type of `like`. */
LLVMValueRef vec_k(vitc_cg *cg, LLVMValueRef like, double v);
/* The scalar s in every lane of type t (s itself when t is a scalar type). */
LLVMValueRef vec_splat(vitc_cg *cg, LLVMValueRef s, LLVMTypeRef t);

/* ---------------------------------------------------------------- memory */

/* Lanes i < n of a lanes-wide vector on (a constant <lanes x i1>). */
LLVMValueRef vec_mask(vitc_cg *cg, int lanes, int n);
/* Lanes i < n on, n an i64 known only at run time. */
LLVMValueRef vec_mask_dyn(vitc_cg *cg, int lanes, LLVMValueRef n);
/* The first n lanes of a vector of type t at p, unaligned: a plain load when n is all of them, else
 * llvm.masked.load with the other lanes 0 (nothing beyond p[n-1] is read). */
LLVMValueRef vec_load(vitc_cg *cg, LLVMTypeRef t, LLVMValueRef p, int n);
/* The lanes of v where mask is on, the others 0. */
LLVMValueRef vec_load_masked(vitc_cg *cg, LLVMTypeRef t, LLVMValueRef p, LLVMValueRef mask);
/* The first n lanes of v to p (nothing beyond p[n-1] is written). */
void vec_store(vitc_cg *cg, LLVMValueRef v, LLVMValueRef p, int n);
void vec_store_masked(vitc_cg *cg, LLVMValueRef v, LLVMValueRef p, LLVMValueRef mask);
/* A value of type t at p (a scalar, or a whole vector held in a cg_var), aligned as its elements. */
LLVMValueRef vec_load1(vitc_cg *cg, LLVMTypeRef t, LLVMValueRef p);
void vec_store1(vitc_cg *cg, LLVMValueRef v, LLVMValueRef p);
/* A hint to bring the cache line holding p into the second-level cache (no fault, no value): for
 * streams the hardware prefetcher would start too late. */
void vec_prefetch_l2(vitc_cg *cg, LLVMValueRef p);

/* &base[i] for elements of type elem; &base[i·scale + plus]. */
LLVMValueRef vec_gep(vitc_cg *cg, LLVMTypeRef elem, LLVMValueRef base, LLVMValueRef i);
LLVMValueRef gep_f32(vitc_cg *cg, LLVMValueRef base, LLVMValueRef i);
LLVMValueRef gep_f32_at(vitc_cg *cg, LLVMValueRef base, LLVMValueRef i, int64_t scale, int64_t plus);

/* ---------------------------------------------------------------- float arithmetic (scalar or vector) */

LLVMValueRef vec_add(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef vec_sub(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef vec_mul(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef vec_div(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b);
/* a/b for b finite and away from 0 (a rational function's denominator): on AVX-512 float vectors of 16, 32,
 * 48 or 64 lanes b's 14-bit reciprocal (vrcp14ps, per 16 lanes) refined by one Newton step (relative error
 * below 2^-26) times a, which pipelines where a division would not; elsewhere a division. */
LLVMValueRef vec_div_by_normal(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef vec_neg(vitc_cg *cg, LLVMValueRef a);
/* a·b + c, fused (llvm.fma: one rounding, on every target). */
LLVMValueRef vec_fma(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c);
/* a·b + c, fused where the target has fma, else a multiply and an add (llvm.fmuladd). */
LLVMValueRef vec_muladd(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c);
/* IEEE maxNum/minNum: a NaN operand loses to a number (llvm.maxnum/minnum). */
LLVMValueRef vec_max(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b);
/* x > m ? x : m, one vmaxps: keeps m where x is NaN (maxnum's fix-up for a NaN m costs a compare and a
 * blend more), for a running max whose start is never NaN. */
LLVMValueRef vec_max_ordered(vitc_cg *cg, LLVMValueRef m, LLVMValueRef x);
LLVMValueRef vec_min(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b);
/* x clamped to [lo, hi] with maxnum/minnum (NaN becomes lo). */
LLVMValueRef vec_clamp(vitc_cg *cg, LLVMValueRef x, double lo, double hi);
LLVMValueRef vec_abs(vitc_cg *cg, LLVMValueRef a);
LLVMValueRef vec_sqrt(vitc_cg *cg, LLVMValueRef a);
LLVMValueRef vec_cmp(vitc_cg *cg, LLVMRealPredicate p, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef vec_select(vitc_cg *cg, LLVMValueRef cond, LLVMValueRef a, LLVMValueRef b);
/* A one-operand intrinsic overloaded on x's type, e.g. vec_call1(cg, "llvm.floor", x). */
LLVMValueRef vec_call1(vitc_cg *cg, const char *intrinsic, LLVMValueRef x);
/* Scalar s widened to or narrowed from double: to the float type of `like`'s elements, splatted. */
LLVMValueRef vec_cast_like(vitc_cg *cg, LLVMValueRef s, LLVMValueRef like);

/* ---------------------------------------------------------------- integers, bits and masks (scalar or vector)
 * Two's complement, wrapping (index arithmetic that cannot wrap is ix_*'s); the bit operations serve
 * i1 masks as well. */

LLVMValueRef vec_iadd(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef vec_isub(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef vec_imul(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef vec_ineg(vitc_cg *cg, LLVMValueRef a);
LLVMValueRef vec_sdiv(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b); /* toward zero; b != 0 */
LLVMValueRef vec_srem(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b); /* the sign of a; b != 0 */
LLVMValueRef vec_and(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef vec_or(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef vec_xor(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef vec_not(vitc_cg *cg, LLVMValueRef a);
LLVMValueRef vec_shl(vitc_cg *cg, LLVMValueRef a, LLVMValueRef bits);
LLVMValueRef vec_lshr(vitc_cg *cg, LLVMValueRef a, LLVMValueRef bits);
LLVMValueRef vec_ashr(vitc_cg *cg, LLVMValueRef a, LLVMValueRef bits);
LLVMValueRef vec_icmp(vitc_cg *cg, LLVMIntPredicate p, LLVMValueRef a, LLVMValueRef b);

/* ---------------------------------------------------------------- conversions to type t (same lanes) */

LLVMValueRef vec_bitcast(vitc_cg *cg, LLVMValueRef v, LLVMTypeRef t); /* the same bits */
LLVMValueRef vec_fcast(vitc_cg *cg, LLVMValueRef v, LLVMTypeRef t);   /* float widened or rounded */
LLVMValueRef vec_sitofp(vitc_cg *cg, LLVMValueRef v, LLVMTypeRef t);
LLVMValueRef vec_uitofp(vitc_cg *cg, LLVMValueRef v, LLVMTypeRef t);
LLVMValueRef vec_fptosi(vitc_cg *cg, LLVMValueRef v, LLVMTypeRef t);  /* toward zero */
LLVMValueRef vec_zext(vitc_cg *cg, LLVMValueRef v, LLVMTypeRef t);

/* ---------------------------------------------------------------- lanes */

/* How lanes combine: a sum, a product, maxNum/minNum (NaN loses), or max/min that keep a NaN (as the
 * evaluator's ReduceMax/ReduceMin). */
typedef enum vec_fold { VEC_SUM, VEC_PROD, VEC_MAX, VEC_MIN, VEC_MAX_NAN, VEC_MIN_NAN } vec_fold;
/* a combined with b lane by lane. */
LLVMValueRef vec_combine(vitc_cg *cg, vec_fold f, LLVMValueRef a, LLVMValueRef b);
/* The lanes of v combined pairwise, halves at a time (W → W/2 → … → 1): a scalar. */
LLVMValueRef vec_reduce(vitc_cg *cg, vec_fold f, LLVMValueRef v);
/* Lane i of v (a constant index); v with lane i replaced by x. */
LLVMValueRef vec_lane(vitc_cg *cg, LLVMValueRef v, int i);
LLVMValueRef vec_with_lane(vitc_cg *cg, LLVMValueRef v, LLVMValueRef x, int i);
/* n lanes (n <= VEC_MAX_SHUFFLE) picked from a's lanes followed by b's (b NULL: a's alone): lane k is
 * lanes[k] of that row. */
enum { VEC_MAX_SHUFFLE = 128 };
LLVMValueRef vec_shuffle(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b, const int *lanes, int n);

/* ---------------------------------------------------------------- index arithmetic (i64, nsw) */

LLVMValueRef ix_add(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef ix_sub(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef ix_addk(vitc_cg *cg, LLVMValueRef a, int64_t b);
LLVMValueRef ix_mul(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef ix_mulk(vitc_cg *cg, LLVMValueRef a, int64_t b); /* a itself when b is 1 */
LLVMValueRef ix_min(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef ix_divk(vitc_cg *cg, LLVMValueRef a, int64_t b); /* unsigned: a >= 0 */
LLVMValueRef ix_remk(vitc_cg *cg, LLVMValueRef a, int64_t b);
LLVMValueRef ix_div(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b); /* unsigned: a >= 0, b > 0 */
LLVMValueRef ix_rem(vitc_cg *cg, LLVMValueRef a, LLVMValueRef b);

/* ---------------------------------------------------------------- vector loops */

/* The body of a loop over vectors: element index i (an i64) and the valid lanes of this step, a
 * compile-time count (the full width, or the tail's). */
typedef void (*vec_loop_body)(vitc_cg *cg, LLVMValueRef i, int lanes, void *state);
/* body(lo + i, w) for i = 0, w, … while a whole vector fits in len, then body(lo + len - len % w,
 * len % w) once when a tail remains. len is known at compile time. */
void vec_for(vitc_cg *cg, LLVMValueRef lo, int64_t len, int w, vec_loop_body body, void *state);

#endif

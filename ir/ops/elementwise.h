/* elementwise.h — the machinery shared by the elementwise op files (elementwise.c, unary.c,
 * activations.c, arith.c, compare.c): a broadcast walker, and drivers that run an op described by a few
 * scalar/row functions over any dtype. Internal to ir/ops/.
 *
 * An op is a small descriptor: a float32 kernel over contiguous rows (the hot path, written so the
 * compiler vectorises it), a double function for float64 and the half types, and int64 / uint64
 * functions for integer and bool inputs. A NULL entry means "not defined for that kind of input", and
 * the driver fails naming the op and the dtype. */
#ifndef VITC_IR_OPS_ELEMENTWISE_H
#define VITC_IR_OPS_ELEMENTWISE_H

#include "ops.h"

/* Attribute values and bounds an op reads, gathered once per node by its evaluator. */
typedef struct ew_params {
  double alpha, beta, gamma;
  double lo, hi;       /* Clip bounds on floats */
  int64_t ilo, ihi;    /* Clip bounds on integers */
  int64_t flag;        /* Mod: fmod; BitShift: 1 for LEFT; IsInf: detect_negative | detect_positive << 1 */
} ew_params;

/* ---------------------------------------------------------------- broadcast walker */

#define EW_MAX_IN 3

/* Visits the output in rows: the output shape with size-1 dims dropped and dims merged wherever every
 * input is contiguous (or broadcast) across them, so [B,197,768] + [768] is walked as B*197 rows of 768.
 * The innermost stride of an input is 0 (broadcast) or 1. */
typedef struct ew_walk {
  int rank, nin;
  int64_t dims[VITC_MAX_RANK];
  int64_t strides[EW_MAX_IN][VITC_MAX_RANK]; /* element strides of each input; the output is contiguous */
} ew_walk;

/* A row: n output elements starting at out_off; input k starts at in_off[k] and steps by step[k]. */
typedef void (*ew_row_fn)(void *ctx, const int64_t *in_off, int64_t out_off, int64_t n, const int64_t *step);

void ew_walk_init(ew_walk *w, const vitc_value *out, const vitc_value *const *ins, int nin);
void ew_walk_rows(const ew_walk *w, ew_row_fn row, void *ctx);

/* ---------------------------------------------------------------- unary ops */

typedef struct ew_unary {
  const char *name;
  void (*f32)(const float *x, float *y, int64_t n, const ew_params *p);
  double (*f64)(double x, const ew_params *p);
  int64_t (*i64)(int64_t x, const ew_params *p);
} ew_unary;

/* y = op(x) elementwise; y has x's dtype and shape. */
vitc_status ew_run_unary(const ew_unary *op, const ew_params *p, const vitc_value *x, vitc_value *y,
                         vitc_error *err);

/* Defines NAME_f32 (a row loop) and NAME_f64 from one statement BODY that sets `y` from `x`; it is
 * compiled once with `real` = float and once with `real` = double. Files using it include <tgmath.h>,
 * so exp(x) is expf on floats. alpha, beta, gamma, lo, hi are the params in that type. */
#define EW_REAL_PARAMS(T)                                                                      \
  typedef T real;                                                                              \
  const real alpha = (real)p->alpha, beta = (real)p->beta, gamma = (real)p->gamma;             \
  const real lo = (real)p->lo, hi = (real)p->hi;                                               \
  (void)alpha, (void)beta, (void)gamma, (void)lo, (void)hi, (void)sizeof(real)

#define EW_DEFINE_REAL_UNARY(NAME, BODY)                                                       \
  static void NAME##_f32(const float *xs, float *ys, int64_t count, const ew_params *p) {       \
    EW_REAL_PARAMS(float);                                                                     \
    for (int64_t i = 0; i < count; i++) {                                                      \
      const real x = xs[i];                                                                    \
      real y;                                                                                  \
      BODY;                                                                                    \
      ys[i] = y;                                                                               \
    }                                                                                          \
  }                                                                                            \
  static double NAME##_f64(double x, const ew_params *p) {                                     \
    EW_REAL_PARAMS(double);                                                                    \
    real y;                                                                                    \
    BODY;                                                                                      \
    return y;                                                                                  \
  }

/* ---------------------------------------------------------------- binary ops */

typedef struct ew_binary {
  const char *name;
  /* y[i] = a[i*sa] op b[i*sb]; NULL sends float32 through f64. */
  void (*f32)(const float *a, int64_t sa, const float *b, int64_t sb, float *y, int64_t n, const ew_params *p);
  double (*f64)(double a, double b, const ew_params *p);
  int64_t (*i64)(int64_t a, int64_t b, const ew_params *p);
  uint64_t (*u64)(uint64_t a, uint64_t b, const ew_params *p); /* uint64 where it differs from i64 */
} ew_binary;

/* out = op(a, b) with a and b broadcast to out's shape. Computes in double when either input is a float,
 * else in uint64 when either is uint64 and op has u64, else in int64; stores into out's dtype. out may
 * be a (the variadic ops accumulate in place). */
vitc_status ew_run_binary(const ew_binary *op, const ew_params *p, const vitc_value *a, const vitc_value *b,
                          vitc_value *out, vitc_error *err);

/* Defines NAME (an f32 row function for ew_binary) from an expression in float `a` and `b`, with the
 * loops for equal shapes and for either side broadcast as a scalar written out so each vectorises. */
#define EW_DEFINE_F32_BINARY(NAME, EXPR)                                                       \
  static void NAME(const float *as, int64_t sa, const float *bs, int64_t sb, float *y, int64_t n, \
                   const ew_params *p) {                                                       \
    if (sa == 1 && sb == 1) {                                                                  \
      for (int64_t i = 0; i < n; i++) {                                                        \
        const float a = as[i], b = bs[i];                                                      \
        y[i] = (EXPR);                                                                         \
      }                                                                                        \
    } else if (sa == 1 && sb == 0) {                                                           \
      const float b = bs[0];                                                                   \
      for (int64_t i = 0; i < n; i++) {                                                        \
        const float a = as[i];                                                                 \
        y[i] = (EXPR);                                                                         \
      }                                                                                        \
    } else if (sa == 0 && sb == 1) {                                                           \
      const float a = as[0];                                                                   \
      for (int64_t i = 0; i < n; i++) {                                                        \
        const float b = bs[i];                                                                 \
        y[i] = (EXPR);                                                                         \
      }                                                                                        \
    } else {                                                                                   \
      for (int64_t i = 0; i < n; i++) {                                                        \
        const float a = as[i * sa], b = bs[i * sb];                                            \
        y[i] = (EXPR);                                                                         \
      }                                                                                        \
    }                                                                                          \
  }

/* Fails unless v is bool (what names the operand in the message). */
vitc_status ew_require_bool(const vitc_value *v, const char *what, vitc_error *err);

#endif

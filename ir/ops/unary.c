/* unary.c — unary math ops: y = f(x) elementwise, same dtype and shape. Each op is one line: a statement
 * setting y from x, compiled for float (the float32 / half kernels) and double (float64) through
 * <tgmath.h>, plus an int64 expression for the few ONNX defines on integers. */
#include <tgmath.h>

#include "elementwise.h"

#define EVAL_UNARY(NAME, F32, F64, I64)                                                                  \
  vitc_status eval_##NAME(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { \
    static const ew_unary op = {#NAME, F32, F64, I64};                                                   \
    return ew_run_unary(&op, &(ew_params){0}, in[0], &out[0], err);                                      \
  }

/* An op defined on floats only. */
#define REAL_UNARY(NAME, BODY)          \
  EW_DEFINE_REAL_UNARY(NAME, BODY)      \
  EVAL_UNARY(NAME, NAME##_f32, NAME##_f64, NULL)

/* An op also defined on integers; INT_EXPR maps int64_t x to the result (wrapping like the hardware). */
#define NUMERIC_UNARY(NAME, BODY, INT_EXPR)                                      \
  EW_DEFINE_REAL_UNARY(NAME, BODY)                                               \
  static int64_t NAME##_i64(int64_t x, const ew_params *p) { return INT_EXPR; }   \
  EVAL_UNARY(NAME, NAME##_f32, NAME##_f64, NAME##_i64)

#define WRAPPING_NEG(x) ((int64_t)(0 - (uint64_t)(x)))

NUMERIC_UNARY(Abs, y = fabs(x), x < 0 ? WRAPPING_NEG(x) : x)
NUMERIC_UNARY(Neg, y = -x, WRAPPING_NEG(x))
/* Sign keeps NaN (and the sign of zero) as numpy does. */
NUMERIC_UNARY(Sign, y = x > 0 ? 1 : x < 0 ? -1 : x, (x > 0) - (x < 0))

REAL_UNARY(Sqrt, y = sqrt(x))
REAL_UNARY(Reciprocal, y = 1 / x)
REAL_UNARY(Exp, y = exp(x))
REAL_UNARY(Log, y = log(x))
REAL_UNARY(Erf, y = erf(x))
REAL_UNARY(Tanh, y = tanh(x))
REAL_UNARY(Sigmoid, y = 1 / (1 + exp(-x)))
REAL_UNARY(Floor, y = floor(x))
REAL_UNARY(Ceil, y = ceil(x))
/* rint rounds half to even in the default rounding mode, as ONNX Round requires. */
REAL_UNARY(Round, y = rint(x))
REAL_UNARY(Sin, y = sin(x))
REAL_UNARY(Cos, y = cos(x))
REAL_UNARY(Tan, y = tan(x))
REAL_UNARY(Asin, y = asin(x))
REAL_UNARY(Acos, y = acos(x))
REAL_UNARY(Atan, y = atan(x))
REAL_UNARY(Sinh, y = sinh(x))
REAL_UNARY(Cosh, y = cosh(x))
REAL_UNARY(Asinh, y = asinh(x))
REAL_UNARY(Acosh, y = acosh(x))
REAL_UNARY(Atanh, y = atanh(x))

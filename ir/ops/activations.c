/* activations.c — activation functions, including the ones with attributes (alpha, beta, gamma) or
 * bound inputs (Clip), and PRelu, whose slope is a broadcast input. Formulas follow the ONNX operator
 * definitions; each is one statement compiled for float and double through <tgmath.h>. */
#include <string.h>
#include <tgmath.h>

#include "elementwise.h"

/* Defines the kernels and a descriptor NAME_op; the evaluator below reads the attributes. */
#define ACTIVATION(NAME, BODY, I64)  \
  EW_DEFINE_REAL_UNARY(NAME, BODY)   \
  static const ew_unary NAME##_op = {#NAME, NAME##_f32, NAME##_f64, I64};

#define EVAL(NAME)                                                                                          \
  vitc_status eval_##NAME(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err)

/* Relu, Shrink and Clip are defined on integers too. Shrink's bias is a float: as numpy does, the
 * result is computed in double and truncated back. */
static int64_t relu_i64(int64_t x, const ew_params *p) { return x < 0 ? 0 : x; }
static int64_t shrink_i64(int64_t x, const ew_params *p) {
  double r = (double)x < -p->alpha ? (double)x + p->beta : (double)x > p->alpha ? (double)x - p->beta : 0;
  return (int64_t)r;
}
static int64_t clip_i64(int64_t x, const ew_params *p) {
  int64_t y = x < p->ilo ? p->ilo : x;
  return y > p->ihi ? p->ihi : y;
}

/* `x < 0 ? 0 : x` rather than fmax: NaN stays NaN. */
ACTIVATION(Relu, y = x < 0 ? 0 : x, relu_i64)
ACTIVATION(LeakyRelu, y = x < 0 ? alpha * x : x, NULL)
ACTIVATION(Elu, y = x < 0 ? alpha * expm1(x) : x, NULL)
ACTIVATION(Selu, y = x > 0 ? gamma * x : gamma * (alpha * exp(x) - alpha), NULL)
ACTIVATION(Celu, y = x > 0 ? x : alpha * expm1(x / alpha), NULL)
ACTIVATION(ThresholdedRelu, y = x > alpha ? x : 0, NULL)
ACTIVATION(HardSigmoid, y = alpha * x + beta; y = y < 0 ? 0 : y > 1 ? 1 : y, NULL)
ACTIVATION(HardSwish, real h = x / 6 + (real)0.5; h = h < 0 ? 0 : h > 1 ? 1 : h; y = x * h, NULL)
/* log(1 + e^x) rearranged so large |x| neither overflows nor loses the small term. */
ACTIVATION(Softplus, y = (x > 0 ? x : 0) + log1p(exp(-fabs(x))), NULL)
ACTIVATION(Softsign, y = x / (1 + fabs(x)), NULL)
ACTIVATION(Mish, real sp = (x > 0 ? x : 0) + log1p(exp(-fabs(x))); y = x * tanh(sp), NULL)
ACTIVATION(GeluErf, y = (real)0.5 * x * (1 + erf(x * (real)0.70710678118654752440)), NULL)
ACTIVATION(GeluTanh,
           y = (real)0.5 * x * (1 + tanh((real)0.79788456080286535588 * (x + (real)0.044715 * x * x * x))),
           NULL)
/* alpha = lambd, beta = bias */
ACTIVATION(Shrink, y = x < -alpha ? x + beta : x > alpha ? x - beta : 0, shrink_i64)
/* max then min, so lo > hi gives hi as ONNX's min(max(x, lo), hi) does; NaN passes through. */
ACTIVATION(Clip, y = x < lo ? lo : x; y = y > hi ? hi : y, clip_i64)

EVAL(Relu) { return ew_run_unary(&Relu_op, &(ew_params){0}, in[0], &out[0], err); }

EVAL(LeakyRelu) {
  ew_params p = {.alpha = vitc_attr_float(n, "alpha", 0.01)};
  return ew_run_unary(&LeakyRelu_op, &p, in[0], &out[0], err);
}

EVAL(Elu) {
  ew_params p = {.alpha = vitc_attr_float(n, "alpha", 1.0)};
  return ew_run_unary(&Elu_op, &p, in[0], &out[0], err);
}

EVAL(Selu) {
  ew_params p = {.alpha = vitc_attr_float(n, "alpha", 1.67326319217681884765625),
                 .gamma = vitc_attr_float(n, "gamma", 1.05070102214813232421875)};
  return ew_run_unary(&Selu_op, &p, in[0], &out[0], err);
}

EVAL(Celu) {
  ew_params p = {.alpha = vitc_attr_float(n, "alpha", 1.0)};
  if (p.alpha == 0) return vitc_fail(err, VITC_ERR_INVALID, "Celu alpha must not be 0");
  return ew_run_unary(&Celu_op, &p, in[0], &out[0], err);
}

EVAL(ThresholdedRelu) {
  ew_params p = {.alpha = vitc_attr_float(n, "alpha", 1.0)};
  return ew_run_unary(&ThresholdedRelu_op, &p, in[0], &out[0], err);
}

EVAL(HardSigmoid) {
  ew_params p = {.alpha = vitc_attr_float(n, "alpha", 0.2), .beta = vitc_attr_float(n, "beta", 0.5)};
  return ew_run_unary(&HardSigmoid_op, &p, in[0], &out[0], err);
}

EVAL(HardSwish) { return ew_run_unary(&HardSwish_op, &(ew_params){0}, in[0], &out[0], err); }
EVAL(Softplus) { return ew_run_unary(&Softplus_op, &(ew_params){0}, in[0], &out[0], err); }
EVAL(Softsign) { return ew_run_unary(&Softsign_op, &(ew_params){0}, in[0], &out[0], err); }
EVAL(Mish) { return ew_run_unary(&Mish_op, &(ew_params){0}, in[0], &out[0], err); }

EVAL(Gelu) {
  const char *approximate = vitc_attr_str(n, "approximate", "none");
  if (!strcmp(approximate, "none")) return ew_run_unary(&GeluErf_op, &(ew_params){0}, in[0], &out[0], err);
  if (!strcmp(approximate, "tanh")) return ew_run_unary(&GeluTanh_op, &(ew_params){0}, in[0], &out[0], err);
  return vitc_fail(err, VITC_ERR_INVALID, "Gelu approximate must be \"none\" or \"tanh\", not \"%s\"", approximate);
}

EVAL(Shrink) {
  ew_params p = {.alpha = vitc_attr_float(n, "lambd", 0.5), .beta = vitc_attr_float(n, "bias", 0.0)};
  return ew_run_unary(&Shrink_op, &p, in[0], &out[0], err);
}

/* Reads an optional scalar bound of Clip into both its float and integer forms. */
static vitc_status read_bound(const vitc_value *v, const char *what, double *f, int64_t *i, vitc_error *err) {
  if (!v) return VITC_OK;
  if (vitc_numel(v) != 1) {
    char buf[128];
    return vitc_fail(err, VITC_ERR_INVALID, "Clip %s must be a single value, not %s", what,
                     vitc_value_type_str(v, buf, sizeof buf));
  }
  *f = vitc_load_f(v, 0);
  *i = vitc_load_i(v, 0);
  return VITC_OK;
}

EVAL(Clip) {
  ew_params p = {.lo = -INFINITY, .hi = INFINITY, .ilo = INT64_MIN, .ihi = INT64_MAX};
  vitc_status st = read_bound(n->nin > 1 ? in[1] : NULL, "min", &p.lo, &p.ilo, err);
  if (st == VITC_OK) st = read_bound(n->nin > 2 ? in[2] : NULL, "max", &p.hi, &p.ihi, err);
  if (st != VITC_OK) return st;
  return ew_run_unary(&Clip_op, &p, in[0], &out[0], err);
}

/* PRelu: y = x < 0 ? slope * x : x, slope broadcast to x. */
EW_DEFINE_F32_BINARY(prelu_f32, a < 0 ? a * b : a)
static double prelu_f64(double a, double b, const ew_params *p) { return a < 0 ? a * b : a; }
static int64_t prelu_i64(int64_t a, int64_t b, const ew_params *p) {
  return a < 0 ? (int64_t)((uint64_t)a * (uint64_t)b) : a;
}

EVAL(PRelu) {
  static const ew_binary op = {"PRelu", prelu_f32, prelu_f64, prelu_i64, NULL};
  return ew_run_binary(&op, &(ew_params){0}, in[0], in[1], &out[0], err);
}

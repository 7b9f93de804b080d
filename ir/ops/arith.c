/* arith.c — binary and variadic arithmetic with numpy broadcasting: Add Sub Mul Div Pow Mod BitShift, and
 * Min Max Sum Mean over 1..N inputs.
 *
 * Integer semantics (ONNX leaves some to the implementation; these match numpy where numpy defines them):
 * arithmetic wraps like the hardware; Div truncates toward zero; x / 0 and x % 0 are 0 rather than a
 * trap; Mod with fmod=0 takes the sign of the divisor (Python), with fmod=1 the sign of the dividend (C). */
#include <math.h>
#include <string.h>

#include "elementwise.h"

#define EVAL(NAME)                                                                                          \
  vitc_status eval_##NAME(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err)

#define WRAP(a, op, b) ((int64_t)((uint64_t)(a) op (uint64_t)(b)))

/* ---------------------------------------------------------------- Add Sub Mul Div */

EW_DEFINE_F32_BINARY(add_f32, a + b)
EW_DEFINE_F32_BINARY(sub_f32, a - b)
EW_DEFINE_F32_BINARY(mul_f32, a * b)
EW_DEFINE_F32_BINARY(div_f32, a / b)
static double add_f64(double a, double b, const ew_params *p) { return a + b; }
static double sub_f64(double a, double b, const ew_params *p) { return a - b; }
static double mul_f64(double a, double b, const ew_params *p) { return a * b; }
static double div_f64(double a, double b, const ew_params *p) { return a / b; }
static int64_t add_i64(int64_t a, int64_t b, const ew_params *p) { return WRAP(a, +, b); }
static int64_t sub_i64(int64_t a, int64_t b, const ew_params *p) { return WRAP(a, -, b); }
static int64_t mul_i64(int64_t a, int64_t b, const ew_params *p) { return WRAP(a, *, b); }
static int64_t div_i64(int64_t a, int64_t b, const ew_params *p) {
  if (b == 0) return 0;
  if (b == -1) return WRAP(0, -, a); /* INT64_MIN / -1 overflows in C */
  return a / b;
}
static uint64_t div_u64(uint64_t a, uint64_t b, const ew_params *p) { return b ? a / b : 0; }

static const ew_binary add_op = {"Add", add_f32, add_f64, add_i64, NULL};
static const ew_binary sub_op = {"Sub", sub_f32, sub_f64, sub_i64, NULL};
static const ew_binary mul_op = {"Mul", mul_f32, mul_f64, mul_i64, NULL};
static const ew_binary div_op = {"Div", div_f32, div_f64, div_i64, div_u64};

EVAL(Add) { return ew_run_binary(&add_op, &(ew_params){0}, in[0], in[1], &out[0], err); }
EVAL(Sub) { return ew_run_binary(&sub_op, &(ew_params){0}, in[0], in[1], &out[0], err); }
EVAL(Mul) { return ew_run_binary(&mul_op, &(ew_params){0}, in[0], in[1], &out[0], err); }
EVAL(Div) { return ew_run_binary(&div_op, &(ew_params){0}, in[0], in[1], &out[0], err); }

/* ---------------------------------------------------------------- Pow */

/* A broadcast scalar exponent is the common case (x^2 and x^0.5 in decomposed norms): pick the cheap
 * operation once per row instead of calling powf per element. */
static void pow_f32(const float *as, int64_t sa, const float *bs, int64_t sb, float *y, int64_t n,
                    const ew_params *p) {
  if (sa == 1 && sb == 0) {
    float e = bs[0];
    if (e == 2.0f) {
      for (int64_t i = 0; i < n; i++) y[i] = as[i] * as[i];
    } else if (e == 0.5f) { /* powf's +0 at -0 and +inf at -inf, which sqrtf alone gives as -0 and NaN */
      for (int64_t i = 0; i < n; i++) y[i] = as[i] == -INFINITY ? INFINITY : sqrtf(as[i] + 0.0f);
    } else if (e == 1.0f) {
      memmove(y, as, sizeof *y * (size_t)n);
    } else {
      for (int64_t i = 0; i < n; i++) y[i] = powf(as[i], e);
    }
    return;
  }
  for (int64_t i = 0; i < n; i++) y[i] = powf(as[i * sa], bs[i * sb]);
}
static double pow_f64(double a, double b, const ew_params *p) { return pow(a, b); }
/* Integer power by squaring, wrapping; a negative exponent gives the truncated 1 / a^-b. */
static int64_t pow_i64(int64_t a, int64_t b, const ew_params *p) {
  if (b < 0) return a == 1 ? 1 : a == -1 ? (b % 2 ? -1 : 1) : 0;
  uint64_t result = 1, base = (uint64_t)a;
  for (uint64_t e = (uint64_t)b; e; e >>= 1) {
    if (e & 1) result *= base;
    base *= base;
  }
  return (int64_t)result;
}

/* The output has the base's dtype; the exponent may have any numeric dtype. */
EVAL(Pow) {
  static const ew_binary op = {"Pow", pow_f32, pow_f64, pow_i64, NULL};
  const vitc_value *base = in[0], *exponent = in[1];
  if (base->dtype == VITC_F32 && exponent->dtype != VITC_F32 && vitc_numel(exponent) == 1 &&
      vitc_dtype_size(exponent->dtype)) {
    /* Keep the float32 path for a scalar exponent of another dtype (e.g. an int64 2). */
    float e = (float)vitc_load_f(exponent, 0);
    vitc_value as_f32 = *exponent;
    as_f32.dtype = VITC_F32;
    as_f32.data = &e;
    return ew_run_binary(&op, &(ew_params){0}, base, &as_f32, &out[0], err);
  }
  return ew_run_binary(&op, &(ew_params){0}, base, exponent, &out[0], err);
}

/* ---------------------------------------------------------------- Mod */

static double mod_f64(double a, double b, const ew_params *p) {
  double r = fmod(a, b);
  if (!p->flag && r != 0 && (r < 0) != (b < 0)) r += b;
  return r;
}
static int64_t mod_i64(int64_t a, int64_t b, const ew_params *p) {
  if (b == 0 || b == -1) return 0; /* INT64_MIN % -1 overflows in C */
  int64_t r = a % b;
  if (!p->flag && r != 0 && (r < 0) != (b < 0)) r += b;
  return r;
}
static uint64_t mod_u64(uint64_t a, uint64_t b, const ew_params *p) { return b ? a % b : 0; }

EVAL(Mod) {
  static const ew_binary op = {"Mod", NULL, mod_f64, mod_i64, mod_u64};
  ew_params p = {.flag = vitc_attr_int(n, "fmod", 0)};
  if (p.flag != 0 && p.flag != 1)
    return vitc_fail(err, VITC_ERR_INVALID, "Mod fmod must be 0 or 1, not %lld", (long long)p.flag);
  return ew_run_binary(&op, &p, in[0], in[1], &out[0], err);
}

/* ---------------------------------------------------------------- BitShift */

/* Operands are unsigned (loaded zero-extended); shifting by the width or more gives 0, and the store
 * into the narrower dtype drops the bits shifted out on the left. */
static int64_t bitshift_i64(int64_t a, int64_t b, const ew_params *p) {
  uint64_t x = (uint64_t)a, s = (uint64_t)b;
  if (s >= 64) return 0;
  return (int64_t)(p->flag ? x << s : x >> s);
}

EVAL(BitShift) {
  static const ew_binary op = {"BitShift", NULL, NULL, bitshift_i64, NULL};
  const char *direction = vitc_attr_str(n, "direction", "");
  ew_params p = {.flag = !strcmp(direction, "LEFT")};
  if (!p.flag && strcmp(direction, "RIGHT"))
    return vitc_fail(err, VITC_ERR_INVALID, "BitShift direction must be \"LEFT\" or \"RIGHT\", not \"%s\"",
                     direction);
  if (vitc_dtype_is_signed(in[0]->dtype) || in[0]->dtype == VITC_BOOL)
    return vitc_fail(err, VITC_ERR_UNSUPPORTED, "BitShift is not defined for %s inputs",
                     vitc_dtype_name(in[0]->dtype));
  return ew_run_binary(&op, &p, in[0], in[1], &out[0], err);
}

/* ---------------------------------------------------------------- Min Max Sum Mean */

/* NaN in either operand gives NaN (numpy's minimum / maximum). */
EW_DEFINE_F32_BINARY(min_f32, a < b || a != a ? a : b)
EW_DEFINE_F32_BINARY(max_f32, a > b || a != a ? a : b)
static double min_f64(double a, double b, const ew_params *p) { return a < b || a != a ? a : b; }
static double max_f64(double a, double b, const ew_params *p) { return a > b || a != a ? a : b; }
static int64_t min_i64(int64_t a, int64_t b, const ew_params *p) { return a < b ? a : b; }
static int64_t max_i64(int64_t a, int64_t b, const ew_params *p) { return a > b ? a : b; }
static uint64_t min_u64(uint64_t a, uint64_t b, const ew_params *p) { return a < b ? a : b; }
static uint64_t max_u64(uint64_t a, uint64_t b, const ew_params *p) { return a > b ? a : b; }

/* out = in0 op in1 op ... over the present inputs, accumulating in place in out. */
static vitc_status fold_variadic(const ew_binary *op, int nin, const vitc_value *const *in, vitc_value *out,
                                 vitc_error *err) {
  const vitc_value *present[64];
  int count = 0;
  for (int k = 0; k < nin && count < 64; k++)
    if (in[k]) present[count++] = in[k];
  if (count == 0) return vitc_fail(err, VITC_ERR_INVALID, "%s needs at least one input", op->name);
  if (count == 1) {
    /* The lone input already has the output's shape and dtype. */
    memcpy(out->data, present[0]->data, vitc_nbytes(out));
    return VITC_OK;
  }
  vitc_status st = ew_run_binary(op, &(ew_params){0}, present[0], present[1], out, err);
  for (int k = 2; k < count && st == VITC_OK; k++) st = ew_run_binary(op, &(ew_params){0}, out, present[k], out, err);
  return st;
}

EVAL(Min) {
  static const ew_binary op = {"Min", min_f32, min_f64, min_i64, min_u64};
  return fold_variadic(&op, n->nin, in, &out[0], err);
}

EVAL(Max) {
  static const ew_binary op = {"Max", max_f32, max_f64, max_i64, max_u64};
  return fold_variadic(&op, n->nin, in, &out[0], err);
}

EVAL(Sum) { return fold_variadic(&add_op, n->nin, in, &out[0], err); }

/* ONNX defines Mean on floats only. */
EVAL(Mean) {
  if (!vitc_dtype_is_float(out[0].dtype))
    return vitc_fail(err, VITC_ERR_UNSUPPORTED, "Mean is not defined for %s inputs",
                     vitc_dtype_name(out[0].dtype) ? vitc_dtype_name(out[0].dtype) : "unknown-dtype");
  vitc_status st = fold_variadic(&add_op, n->nin, in, &out[0], err);
  if (st != VITC_OK) return st;
  int count = 0;
  for (int k = 0; k < n->nin; k++) count += in[k] != NULL;
  int64_t total = vitc_numel(&out[0]);
  if (out[0].dtype == VITC_F32) {
    float *y = out[0].data;
    for (int64_t i = 0; i < total; i++) y[i] /= (float)count;
  } else {
    for (int64_t i = 0; i < total; i++) vitc_store_f(&out[0], i, vitc_load_f(&out[0], i) / count);
  }
  return VITC_OK;
}

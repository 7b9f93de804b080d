/* fused_activation.c — activations in vitc's own domain, which passes/recompose_gelu rebuilds from the
 * ONNX nodes exporters spell them with:
 *
 *   QuickGelu(x) = x · σ(alpha · x)    alpha 1.702 by default (CLIP's GELU approximation)
 *   Silu(x)      = x · σ(x)            (swish)
 *
 * x · σ(z) is computed as x / (1 + e^-z): one division, and -0 rather than NaN where e^-z overflows. */
#include <tgmath.h>

#include "elementwise.h"

EW_DEFINE_REAL_UNARY(QuickGelu, y = x / (1 + exp(-alpha * x)))
EW_DEFINE_REAL_UNARY(Silu, y = x / (1 + exp(-x)))
static const ew_unary QuickGelu_op = {"QuickGelu", QuickGelu_f32, QuickGelu_f64, NULL};
static const ew_unary Silu_op = {"Silu", Silu_f32, Silu_f64, NULL};

vitc_status eval_QuickGelu(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  ew_params p = {.alpha = vitc_attr_float(n, "alpha", 1.702)};
  return ew_run_unary(&QuickGelu_op, &p, in[0], &out[0], err);
}

vitc_status eval_Silu(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  return ew_run_unary(&Silu_op, &(ew_params){0}, in[0], &out[0], err);
}

/* SwiGLU(x) = Silu(g) · v where g and v are the halves of x's last dim [.., 2H] → [.., H]: g the first
 * half when silu_half = 0 (EVA-02), the second when 1 (timm's GluMlp with the gate last). */
static vitc_status swiglu_half(const vitc_node *n, int64_t *half, vitc_error *err) {
  *half = vitc_attr_int(n, "silu_half", 0);
  if (*half != 0 && *half != 1)
    return vitc_fail(err, VITC_ERR_INVALID, "SwiGLU silu_half is %lld, expected 0 or 1", (long long)*half);
  return VITC_OK;
}

vitc_status shape_swiglu(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  int64_t half;
  vitc_status st = swiglu_half(n, &half, err);
  if (st != VITC_OK) return st;
  if (!vitc_dtype_is_float(in[0]->dtype) || in[0]->rank == 0 || in[0]->dims[in[0]->rank - 1] % 2)
    return vitc_fail(err, VITC_ERR_INVALID, "SwiGLU needs a floating-point tensor whose last dim is even");
  vitc_copy_type(&out[0], in[0]);
  out[0].dims[out[0].rank - 1] /= 2;
  return VITC_OK;
}

vitc_status eval_SwiGLU(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  int64_t half;
  vitc_status st = swiglu_half(n, &half, err);
  if (st != VITC_OK) return st;
  int64_t h = out[0].rank ? out[0].dims[out[0].rank - 1] : 1, rows = h ? vitc_numel(&out[0]) / h : 0;
  for (int64_t r = 0; r < rows; r++)
    for (int64_t j = 0; j < h; j++) {
      double g = vitc_load_f(in[0], 2 * h * r + half * h + j), v = vitc_load_f(in[0], 2 * h * r + (1 - half) * h + j);
      vitc_store_f(&out[0], h * r + j, g / (1 + exp(-g)) * v);
    }
  return VITC_OK;
}

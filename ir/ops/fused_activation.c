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

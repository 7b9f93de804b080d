/* fused_norm.c — vitc.LayerNormChannels, LayerNorm over the channels of a channels-first tensor (ConvNeXt's
 * LayerNorm2d), built by passes/fuse_channels_layer_norm:
 *
 *   inputs  X [N, C, spatial..], scale [C], bias [C]
 *   attr    epsilon (default 1e-5)
 *
 *   at every sample n and position p:  Y[n, :, p] = (X[n, :, p] - mean) / sqrt(var + eps) ⊙ scale + bias
 *
 * Statistics in double, two-pass (mean, then squared deviations), as LayerNormalization in norm.c.
 *
 * vitc.RMSNorm, LayerNorm without the mean (T5, LLaMA-style blocks), built by passes/recompose_layer_norm:
 *
 *   inputs  X [..., C], scale of C elements or one (optional: ones)
 *   attr    epsilon (default 1e-5)
 *
 *   every row r of the last axis:  Y[r, :] = X[r, :] / sqrt(Σ X[r, :]² / C + eps) ⊙ scale
 *
 * The sum of squares in double.
 *
 * vitc.LayerNormResidual, a post-norm block's residual join (Swin V2: x + norm(f(x))), built by
 * passes/fuse_norm_residual:
 *
 *   inputs  X, scale, bias (as LayerNormalization's), R of X's dtype and shape, or of X's shape with leading
 *           dims 1 (repeated over them, whole rows at a time)
 *   attrs   axis (default -1), epsilon (default 1e-5)
 *
 *   Y = R + LayerNormalization(X, scale, bias), the normalised value rounded to X's dtype before the
 *   add, as the two ops apart compute it. */
#include <math.h>

#include "ops.h"

vitc_status eval_LayerNormChannels(const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                                   vitc_error *err) {
  const vitc_value *x = in[0], *scale = in[1], *bias = in[2];
  if (x->rank < 2) return vitc_fail(err, VITC_ERR_INVALID, "input has rank %d, expected [N, C, ...]", x->rank);
  int64_t channels = x->dims[1], spatial = 1;
  for (int d = 2; d < x->rank; d++) spatial *= x->dims[d];
  for (int k = 1; k < 3; k++)
    if (in[k]->rank != 1 || in[k]->dims[0] != channels)
      return vitc_fail(err, VITC_ERR_INVALID, "%s must be [%lld]", k == 1 ? "scale" : "bias", (long long)channels);
  double eps = vitc_attr_float(n, "epsilon", 1e-5);
  int64_t samples = x->dims[0];
  for (int64_t s = 0; s < samples; s++) {
    for (int64_t p = 0; p < spatial; p++) {
      int64_t first = s * channels * spatial + p;
      double sum = 0, sq = 0;
      for (int64_t c = 0; c < channels; c++) sum += vitc_load_f(x, first + c * spatial);
      double mean = channels ? sum / (double)channels : 0;
      for (int64_t c = 0; c < channels; c++) {
        double d = vitc_load_f(x, first + c * spatial) - mean;
        sq += d * d;
      }
      double inv_std = 1.0 / sqrt((channels ? sq / (double)channels : 0) + eps);
      for (int64_t c = 0; c < channels; c++) {
        double v = (vitc_load_f(x, first + c * spatial) - mean) * inv_std;
        vitc_store_f(&out[0], first + c * spatial, v * vitc_load_f(scale, c) + vitc_load_f(bias, c));
      }
    }
  }
  return VITC_OK;
}

vitc_status eval_RMSNorm(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  const vitc_value *x = in[0], *scale = n->nin > 1 ? in[1] : NULL;
  if (x->rank < 1) return vitc_fail(err, VITC_ERR_INVALID, "input is a scalar, expected [..., C]");
  int64_t len = x->dims[x->rank - 1], rows = len ? vitc_numel(x) / len : 0;
  int64_t per = scale ? vitc_numel(scale) : 0; /* scale elements: 1 (one for all) or len */
  if (scale && per != len && per != 1)
    return vitc_fail(err, VITC_ERR_INVALID, "scale has %lld elements, expected 1 or %lld", (long long)per,
                     (long long)len);
  double eps = vitc_attr_float(n, "epsilon", 1e-5);
  for (int64_t r = 0; r < rows; r++) {
    double sq = 0;
    for (int64_t c = 0; c < len; c++) {
      double v = vitc_load_f(x, r * len + c);
      sq += v * v;
    }
    double inv_rms = 1.0 / sqrt(sq / (double)len + eps);
    for (int64_t c = 0; c < len; c++) {
      double v = vitc_load_f(x, r * len + c) * inv_rms;
      vitc_store_f(&out[0], r * len + c, scale ? v * vitc_load_f(scale, per == 1 ? 0 : c) : v);
    }
  }
  return VITC_OK;
}

vitc_status shape_layer_norm_residual(const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                                      vitc_error *err) {
  vitc_status st = shape_layer_norm(n, in, out, err);
  if (st != VITC_OK) return st;
  const vitc_value *x = in[0], *r = in[3];
  int axis;
  int64_t row = 1;
  st = vitc_normalize_axis(vitc_attr_int(n, "axis", -1), x->rank, &axis, err);
  if (st != VITC_OK) return st;
  for (int d = axis; d < x->rank; d++) row *= x->dims[d];
  return vitc_repeat_period(r, x, row ? row : 1) >= 0
             ? VITC_OK
             : vitc_fail(err, VITC_ERR_INVALID, "residual must have X's dtype and shape (leading dims may be 1)");
}

vitc_status eval_LayerNormResidual(const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                                   vitc_error *err) {
  vitc_status st = eval_LayerNormalization(n, in, out, err);
  int64_t period = vitc_numel(in[3]);
  for (int64_t i = 0; st == VITC_OK && i < vitc_numel(&out[0]); i++)
    vitc_store_f(&out[0], i, vitc_load_f(&out[0], i) + vitc_load_f(in[3], i % period));
  return st;
}

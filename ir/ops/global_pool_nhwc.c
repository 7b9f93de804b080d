/* global_pool_nhwc.c — vitc.GlobalAveragePoolNHWC, GlobalAveragePool on a channels-last tensor (the
 * squeeze of MaxViT's squeeze-excitation and ConvNeXt's head, with the trunk kept channels-last by
 * passes/to_channels_last):
 *
 *   inputs  X [N, H, W, C] f32
 *   Y [n, 0, 0, c] = (1 / (H·W)) Σ_{h,w} X[n, h, w, c]          (0 when H·W = 0), summed in double */
#include "ops.h"

vitc_status shape_global_pool_nhwc(const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                                   vitc_error *err) {
  const vitc_value *x = in[0];
  if (x->dtype != VITC_F32 || x->rank != 4)
    return vitc_fail(err, VITC_ERR_INVALID, "GlobalAveragePoolNHWC needs a float32 X [N, H, W, C]");
  vitc_copy_type(&out[0], x);
  out->dims[1] = out->dims[2] = 1;
  return VITC_OK;
}

vitc_status eval_GlobalAveragePoolNHWC(const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                                       vitc_error *err) {
  const vitc_value *x = in[0];
  const float *src = x->data;
  float *y = out->data;
  int64_t batch = x->dims[0], plane = x->dims[1] * x->dims[2], c = x->dims[3];
  for (int64_t b = 0; b < batch; b++)
    for (int64_t ch = 0; ch < c; ch++) {
      double sum = 0;
      for (int64_t p = 0; p < plane; p++) sum += src[(b * plane + p) * c + ch];
      y[b * c + ch] = plane ? (float)(sum / (double)plane) : 0.0f;
    }
  return VITC_OK;
}

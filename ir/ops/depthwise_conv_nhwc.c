/* depthwise_conv_nhwc.c — vitc.DepthwiseConvNHWC, a 2-D depthwise convolution on a channels-last tensor
 * (ConvNeXt's 7x7 with the trunk kept channels-last by passes/to_channels_last):
 *
 *   inputs  X [N, H, W, C] f32, W [kh, kw, C] f32, bias [C] (optional),
 *           norm scale [C], norm bias [C] (optional: a LayerNorm over C after the conv, ConvNeXt's)
 *   attrs   strides [2], pads [4] (top, left, bottom, right), dilations [2], as Conv's;
 *           activation ∈ {"none", "relu", "gelu_erf", "gelu_tanh"} (MBConv's GELU after its depthwise conv);
 *           epsilon (the LayerNorm's, read when norm scale is given)
 *
 *   Z[n, oy, ox, c] = act(bias[c] + Σ_{ky,kx} W[ky, kx, c] · X[n, oy*sh - pt + ky*dh, ox*sw - pl + kx*dw, c])
 *   Y = Z, or with norm scale: Y[n, oy, ox, :] = LayerNormalization(Z[n, oy, ox, :], scale, norm bias, epsilon)
 *
 * (taps in the padding count 0). The window is Conv's (vitc_window_geometry, read on X seen as
 * [N, C, H, W]), so the output dims agree with the Conv it replaces. Sums in double; Z is rounded to
 * float32 before the norm, as the LayerNormalization node it replaces would read it. */
#include <stdlib.h>

#include "ops.h"

enum { IN_X, IN_W, IN_BIAS, IN_SCALE, IN_NORM_BIAS };

/* The window of n on in, checking the operands. */
static vitc_status window_of(const vitc_node *n, const vitc_value *const *in, vitc_window *w, vitc_error *err) {
  const vitc_value *x = in[IN_X], *wt = in[IN_W];
  for (int k = 0; k < n->nin; k++)
    if (in[k] && in[k]->dtype != VITC_F32)
      return vitc_fail(err, VITC_ERR_UNSUPPORTED, "DepthwiseConvNHWC runs on float32 only (input %d)", k);
  if (x->rank != 4 || wt->rank != 3 || wt->dims[2] != x->dims[3])
    return vitc_fail(err, VITC_ERR_INVALID, "DepthwiseConvNHWC needs X [N, H, W, C] and W [kh, kw, C]");
  if (vitc_epilogue_activation(n) < 0)
    return vitc_fail(err, VITC_ERR_INVALID, "DepthwiseConvNHWC activation \"%s\" is none of none, relu, gelu_erf, gelu_tanh",
                     vitc_attr_str(n, "activation", "none"));
  static const char *const what[] = {[IN_BIAS] = "bias", [IN_SCALE] = "norm scale", [IN_NORM_BIAS] = "norm bias"};
  for (int k = IN_BIAS; k < n->nin; k++)
    if (in[k] && (in[k]->rank != 1 || in[k]->dims[0] != x->dims[3]))
      return vitc_fail(err, VITC_ERR_INVALID, "DepthwiseConvNHWC %s must be [%lld]", what[k], (long long)x->dims[3]);
  if (n->nin > IN_NORM_BIAS && in[IN_NORM_BIAS] && !in[IN_SCALE])
    return vitc_fail(err, VITC_ERR_INVALID, "DepthwiseConvNHWC has a norm bias without a norm scale");
  vitc_value nchw = {.dtype = x->dtype, .rank = 4, .dims = {x->dims[0], x->dims[3], x->dims[1], x->dims[2]}};
  return vitc_window_geometry(n, &nchw, wt->dims, false, w, err);
}

vitc_status shape_depthwise_conv_nhwc(const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                                      vitc_error *err) {
  vitc_window w;
  vitc_status st = window_of(n, in, &w, err);
  if (st != VITC_OK) return st;
  vitc_copy_type(&out[0], in[IN_X]);
  out->dims[1] = w.out[0];
  out->dims[2] = w.out[1];
  return VITC_OK;
}

vitc_status eval_DepthwiseConvNHWC(const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                                   vitc_error *err) {
  vitc_window w;
  vitc_status st = window_of(n, in, &w, err);
  if (st != VITC_OK) return st;
  const float *x = in[IN_X]->data, *wt = in[IN_W]->data;
  const float *bias = n->nin > IN_BIAS && in[IN_BIAS] ? in[IN_BIAS]->data : NULL;
  float *y = out->data;
  int64_t batch = in[IN_X]->dims[0], c = in[IN_X]->dims[3], ih = w.in[0], iw = w.in[1];
  int act = vitc_epilogue_activation(n);
  const vitc_value *scale = n->nin > IN_SCALE ? in[IN_SCALE] : NULL;
  const vitc_value *nbias = n->nin > IN_NORM_BIAS ? in[IN_NORM_BIAS] : NULL;
  double *affine = NULL; /* the norm's scale and bias as normalize_row takes them */
  if (scale) {
    affine = malloc(sizeof(double) * 2 * (size_t)(c ? c : 1));
    if (!affine) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory for %lld norm parameters", (long long)c);
    for (int64_t ch = 0; ch < c; ch++) {
      affine[ch] = ((const float *)scale->data)[ch];
      affine[c + ch] = nbias ? ((const float *)nbias->data)[ch] : 0;
    }
  }
  for (int64_t b = 0; b < batch; b++)
    for (int64_t oy = 0; oy < w.out[0]; oy++)
      for (int64_t ox = 0; ox < w.out[1]; ox++) {
        int64_t pixel = ((b * w.out[0] + oy) * w.out[1] + ox) * c;
        for (int64_t ch = 0; ch < c; ch++) {
          double acc = bias ? bias[ch] : 0;
          for (int64_t ky = 0; ky < w.kernel[0]; ky++) {
            int64_t iy = oy * w.stride[0] - w.pad_begin[0] + ky * w.dilation[0];
            if (iy < 0 || iy >= ih) continue;
            for (int64_t kx = 0; kx < w.kernel[1]; kx++) {
              int64_t ix = ox * w.stride[1] - w.pad_begin[1] + kx * w.dilation[1];
              if (ix < 0 || ix >= iw) continue;
              acc += (double)wt[(ky * w.kernel[1] + kx) * c + ch] * x[((b * ih + iy) * iw + ix) * c + ch];
            }
          }
          y[pixel + ch] = (float)vitc_epilogue_activate(act, (float)acc);
        }
        if (affine) vitc_normalize_row(out, out, pixel, c, vitc_attr_float(n, "epsilon", 1e-5), affine, affine + c, 1, NULL, NULL);
      }
  free(affine);
  return VITC_OK;
}

double flops_depthwise_conv_nhwc(const vitc_node *n, const vitc_value *const *in, const vitc_value *out) {
  double taps = (double)(in[IN_W]->dims[0] * in[IN_W]->dims[1]);
  double norm = n->nin > IN_SCALE && in[IN_SCALE] ? flops_norm(n, &out, out) : 0;
  return (2.0 * taps + (vitc_epilogue_activation(n) > ACT_NONE)) * (double)vitc_numel(&out[0]) + norm;
}

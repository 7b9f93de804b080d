/* depthwise_conv_nhwc.c — vitc.DepthwiseConvNHWC, a 2-D depthwise convolution on a channels-last tensor
 * (ConvNeXt's 7x7 with the trunk kept channels-last by passes/to_channels_last):
 *
 *   inputs  X [N, H, W, C] f32, W [kh, kw, C] f32, bias [C] (optional),
 *           norm scale [C], norm bias [C] (optional: a LayerNorm over C after the conv, ConvNeXt's)
 *   attrs   strides [2], pads [4] (top, left, bottom, right), dilations [2], as Conv's;
 *           activation ∈ {"none", "relu", "gelu_erf", "gelu_tanh", "silu"} (MBConv's GELU after its depthwise conv);
 *           epsilon (the LayerNorm's, read when norm scale is given)
 *
 *   Z[n, oy, ox, c] = act(bias[c] + Σ_{ky,kx} W[ky, kx, c] · X[n, oy*sh - pt + ky*dh, ox*sw - pl + kx*dw, c])
 *   Y = Z, or with norm scale: Y[n, oy, ox, :] = LayerNormalization(Z[n, oy, ox, :], scale, norm bias, epsilon)
 *
 * (taps in the padding count 0). The window is Conv's (vitc_window_geometry, read on X seen as
 * [N, C, H, W]), so the output dims agree with the Conv it replaces. Sums in double; Z is rounded to
 * float32 before the norm, as the LayerNormalization node it replaces would read it.
 *
 * Token rows: with attribute image = [H, W], X is [N, L + H·W, C] and the conv, which must keep the
 * image's size, runs on rows L .. seen as the image [N, H, W, C]; Y [N, L + H·W, C] keeps the first L
 * rows of X unchanged (CoaT's class token beside its conv position encoding, built by
 * passes/fuse_token_image). */
#include <stdlib.h>
#include <string.h>

#include "ops.h"

enum { IN_X, IN_W, IN_BIAS, IN_SCALE, IN_NORM_BIAS };

vitc_status vitc_depthwise_nhwc_window(const vitc_node *n, const vitc_value *const *in, vitc_window *w,
                                       int64_t *lead, vitc_error *err) {
  const vitc_value *x = in[IN_X], *wt = in[IN_W];
  vitc_status st = vitc_check_f32_inputs(n, in, err);
  if (st != VITC_OK) return st;
  int len;
  const int64_t *image = vitc_attr_ints(n, "image", &len);
  int64_t c = x->dims[x->rank - 1];
  *lead = image && len == 2 && x->rank == 3 ? x->dims[1] - image[0] * image[1] : 0;
  if (image ? len != 2 || x->rank != 3 || image[0] < 0 || image[1] < 0 || *lead < 0 : x->rank != 4)
    return vitc_fail(err, VITC_ERR_INVALID, "DepthwiseConvNHWC needs X [N, H, W, C], or X [N, L + H·W, C] with image = [H, W]");
  if (wt->rank != 3 || wt->dims[2] != c)
    return vitc_fail(err, VITC_ERR_INVALID, "DepthwiseConvNHWC needs W [kh, kw, C]");
  vitc_status act = vitc_check_epilogue_activation(n, "DepthwiseConvNHWC", err);
  if (act) return act;
  static const char *const what[] = {[IN_BIAS] = "bias", [IN_SCALE] = "norm scale", [IN_NORM_BIAS] = "norm bias"};
  for (int k = IN_BIAS; k < n->nin; k++)
    if (in[k] && (in[k]->rank != 1 || in[k]->dims[0] != c))
      return vitc_fail(err, VITC_ERR_INVALID, "DepthwiseConvNHWC %s must be [%lld]", what[k], (long long)c);
  if (n->nin > IN_NORM_BIAS && in[IN_NORM_BIAS] && !in[IN_SCALE])
    return vitc_fail(err, VITC_ERR_INVALID, "DepthwiseConvNHWC has a norm bias without a norm scale");
  vitc_value nchw = {.dtype = x->dtype, .rank = 4, .dims = {x->dims[0], c, image ? image[0] : x->dims[1], image ? image[1] : x->dims[2]}};
  st = vitc_window_geometry(n, &nchw, wt->dims, false, w, err);
  if (st == VITC_OK && image && (w->out[0] != image[0] || w->out[1] != image[1]))
    return vitc_fail(err, VITC_ERR_INVALID, "DepthwiseConvNHWC on token rows must keep the image's size");
  return st;
}

vitc_status shape_depthwise_conv_nhwc(const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                                      vitc_error *err) {
  vitc_window w;
  int64_t lead;
  vitc_status st = vitc_depthwise_nhwc_window(n, in, &w, &lead, err);
  if (st != VITC_OK) return st;
  vitc_copy_type(&out[0], in[IN_X]);
  if (out->rank == 4) {
    out->dims[1] = w.out[0];
    out->dims[2] = w.out[1];
  }
  return VITC_OK;
}

vitc_status eval_DepthwiseConvNHWC(const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                                   vitc_error *err) {
  vitc_window w;
  int64_t lead;
  vitc_status st = vitc_depthwise_nhwc_window(n, in, &w, &lead, err);
  if (st != VITC_OK) return st;
  const float *wt = in[IN_W]->data;
  const float *bias = n->nin > IN_BIAS && in[IN_BIAS] ? in[IN_BIAS]->data : NULL;
  int64_t batch = in[IN_X]->dims[0], c = in[IN_X]->dims[in[IN_X]->rank - 1], ih = w.in[0], iw = w.in[1];
  /* each image's rows follow `lead` token rows, copied through */
  int64_t x_image = (lead + ih * iw) * c, y_image = (lead + w.out[0] * w.out[1]) * c;
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
  float *y = out->data;
  for (int64_t b = 0; b < batch; b++) {
    const float *x = (const float *)in[IN_X]->data + b * x_image + lead * c;
    memcpy(y + b * y_image, x - lead * c, sizeof(float) * (size_t)(lead * c));
    for (int64_t oy = 0; oy < w.out[0]; oy++)
      for (int64_t ox = 0; ox < w.out[1]; ox++) {
        int64_t pixel = b * y_image + (lead + oy * w.out[1] + ox) * c;
        for (int64_t ch = 0; ch < c; ch++) {
          double acc = bias ? bias[ch] : 0;
          for (int64_t ky = 0; ky < w.kernel[0]; ky++) {
            int64_t iy = oy * w.stride[0] - w.pad_begin[0] + ky * w.dilation[0];
            if (iy < 0 || iy >= ih) continue;
            for (int64_t kx = 0; kx < w.kernel[1]; kx++) {
              int64_t ix = ox * w.stride[1] - w.pad_begin[1] + kx * w.dilation[1];
              if (ix < 0 || ix >= iw) continue;
              acc += (double)wt[(ky * w.kernel[1] + kx) * c + ch] * x[(iy * iw + ix) * c + ch];
            }
          }
          y[pixel + ch] = (float)vitc_epilogue_activate(act, (float)acc);
        }
        if (affine) vitc_normalize_row(out, out, pixel, c, vitc_attr_float(n, "epsilon", 1e-5), affine, affine + c, 1, NULL, NULL);
      }
  }
  free(affine);
  return VITC_OK;
}

double flops_depthwise_conv_nhwc(const vitc_node *n, const vitc_value *const *in, const vitc_value *out) {
  double taps = (double)(in[IN_W]->dims[0] * in[IN_W]->dims[1]);
  double norm = n->nin > IN_SCALE && in[IN_SCALE] ? flops_norm(n, &out, out) : 0;
  return (2.0 * taps + (vitc_epilogue_activation(n) > ACT_NONE)) * (double)vitc_numel(&out[0]) + norm;
}

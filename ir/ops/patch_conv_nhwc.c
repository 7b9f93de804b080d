/* patch_conv_nhwc.c — vitc.PatchConvNHWC, a 2-D Conv (group 1) on a channels-last input as one GEMM over
 * its patches: PVT's spatial reduction on its token rows and ConvNeXt's 2x2 downsampling (windows that
 * tile the input), PVT v2's 3x3 stride-2 downsampling (windows that overlap, padded), built by
 * passes/to_channels_last:
 *
 *   inputs  X [N, H, W, C] f32, W [kh·kw·C, M] f32 (rows in (ky, kx, c) order: the GEMM's weight),
 *           bias [M] (optional)
 *   attrs   kernel_shape [kh, kw], strides [2], pads [4] (top, left, bottom, right), dilations [2], as Conv's;
 *           activation ∈ {"none", "relu", "gelu_erf", "gelu_tanh", "silu"} (the GELU after MaxViT's and TinyViT's
 *           stem convs, taken by passes/fuse_gemm_epilogue)
 *
 *   Y[n, oy, ox, m] = act(bias[m] + Σ_{ky,kx,c} X[n, oy·sh - pt + ky·dh, ox·sw - pl + kx·dw, c] · W[(ky·kw + kx)·C + c, m])
 *
 * (taps in the padding count 0). The window is Conv's (vitc_window_geometry on X seen as [N, C, H, W]),
 * so Y [N, Ho, Wo, M] agrees with the Conv it replaces. A patch is kh runs of kw·C floats of X when
 * dw = 1: without pads the backend reads them in place (emit_gemm.h's row groups and K segments), where
 * the Conv needed Reshape → Transpose → Reshape or an NCHW round trip. Summed in double. */
#include "ops.h"

enum { IN_X, IN_W, IN_BIAS };

vitc_status vitc_patch_conv_window(const vitc_node *n, const vitc_value *const *in, vitc_window *w, vitc_error *err) {
  const vitc_value *x = in[IN_X], *wt = in[IN_W], *bias = n->nin > IN_BIAS ? in[IN_BIAS] : NULL;
  vitc_status st = vitc_check_f32_inputs(n, in, err);
  if (st != VITC_OK) return st;
  int len;
  const int64_t *kernel = vitc_attr_ints(n, "kernel_shape", &len);
  if (!kernel || len != 2 || kernel[0] < 1 || kernel[1] < 1)
    return vitc_fail(err, VITC_ERR_INVALID, "PatchConvNHWC needs kernel_shape [kh, kw] of positive sizes");
  if (x->rank != 4) return vitc_fail(err, VITC_ERR_INVALID, "PatchConvNHWC needs X [N, H, W, C]");
  if (wt->rank != 2 || wt->dims[0] != kernel[0] * kernel[1] * x->dims[3])
    return vitc_fail(err, VITC_ERR_INVALID, "PatchConvNHWC needs W [kh·kw·C = %lld, M]",
                     (long long)(kernel[0] * kernel[1] * x->dims[3]));
  vitc_status act = vitc_check_epilogue_activation(n, "PatchConvNHWC", err);
  if (act) return act;
  if (bias && !vitc_is_vector(bias, wt->dims[1]))
    return vitc_fail(err, VITC_ERR_INVALID, "PatchConvNHWC bias must be [%lld]", (long long)wt->dims[1]);
  vitc_value nchw = {.dtype = x->dtype, .rank = 4, .dims = {x->dims[0], x->dims[3], x->dims[1], x->dims[2]}};
  return vitc_window_geometry(n, &nchw, kernel, false, w, err);
}

vitc_status shape_patch_conv_nhwc(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  vitc_window w;
  vitc_status st = vitc_patch_conv_window(n, in, &w, err);
  if (st != VITC_OK) return st;
  vitc_copy_type(&out[0], in[IN_X]);
  out->dims[1] = w.out[0];
  out->dims[2] = w.out[1];
  out->dims[3] = in[IN_W]->dims[1];
  return VITC_OK;
}

vitc_status eval_PatchConvNHWC(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  vitc_window w;
  vitc_status st = vitc_patch_conv_window(n, in, &w, err);
  if (st != VITC_OK) return st;
  const float *x = in[IN_X]->data, *wt = in[IN_W]->data;
  const float *bias = n->nin > IN_BIAS && in[IN_BIAS] ? in[IN_BIAS]->data : NULL;
  int64_t ih = w.in[0], iw = w.in[1], c = in[IN_X]->dims[3], m = in[IN_W]->dims[1];
  int act = vitc_epilogue_activation(n);
  float *y = out->data;
  for (int64_t b = 0; b < out->dims[0]; b++)
    for (int64_t oy = 0; oy < w.out[0]; oy++)
      for (int64_t ox = 0; ox < w.out[1]; ox++)
        for (int64_t o = 0; o < m; o++) {
          double acc = bias ? bias[o] : 0;
          for (int64_t ky = 0; ky < w.kernel[0]; ky++) {
            int64_t iy = oy * w.stride[0] - w.pad_begin[0] + ky * w.dilation[0];
            for (int64_t kx = 0; kx < w.kernel[1] && iy >= 0 && iy < ih; kx++) {
              int64_t ix = ox * w.stride[1] - w.pad_begin[1] + kx * w.dilation[1];
              if (ix < 0 || ix >= iw) continue;
              const float *px = x + ((b * ih + iy) * iw + ix) * c, *wrow = wt + (ky * w.kernel[1] + kx) * c * m + o;
              for (int64_t ch = 0; ch < c; ch++) acc += (double)px[ch] * wrow[ch * m];
            }
          }
          y[((b * w.out[0] + oy) * w.out[1] + ox) * m + o] = (float)vitc_epilogue_activate(act, (float)acc);
        }
  return VITC_OK;
}

double flops_patch_conv_nhwc(const vitc_node *n, const vitc_value *const *in, const vitc_value *out) {
  return (2.0 * (double)in[IN_W]->dims[0] + (vitc_epilogue_activation(n) > ACT_NONE)) * (double)vitc_numel(&out[0]);
}

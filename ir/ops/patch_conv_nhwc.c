/* patch_conv_nhwc.c — vitc.PatchConvNHWC, a 2-D Conv whose kh × kw windows tile a channels-last input
 * (stride = kernel, no pads, no dilation, group 1): PVT's spatial reduction on its token rows, ConvNeXt's
 * 2x2 downsampling, built by passes/to_channels_last:
 *
 *   inputs  X [N, H, W, C] f32 (H, W multiples of kh, kw), W [kh·kw·C, M] f32 (rows in (ky, kx, c)
 *           order: the GEMM's weight), bias [M] (optional)
 *   attr    kernel_shape [kh, kw]
 *
 *   Y[n, oy, ox, m] = bias[m] + Σ_{ky,kx,c} X[n, oy·kh + ky, ox·kw + kx, c] · W[(ky·kw + kx)·C + c, m]
 *
 * Y [N, H/kh, W/kw, M] is a GEMM of the patches, each patch a row of kh runs of kw·C floats that lie
 * in X as they are: the backend reads them in place (emit_gemm.h's row groups and K segments) where the
 * Conv it replaces needed Reshape → Transpose → Reshape to gather them. Summed in double. */
#include "ops.h"

enum { IN_X, IN_W, IN_BIAS };

/* kh, kw of n's kernel_shape, checked against X and W. */
static vitc_status patch_kernel(const vitc_node *n, const vitc_value *const *in, int64_t *kh, int64_t *kw,
                                vitc_error *err) {
  const vitc_value *x = in[IN_X], *w = in[IN_W], *bias = n->nin > IN_BIAS ? in[IN_BIAS] : NULL;
  for (int k = 0; k < n->nin; k++)
    if (in[k] && in[k]->dtype != VITC_F32)
      return vitc_fail(err, VITC_ERR_UNSUPPORTED, "PatchConvNHWC runs on float32 only (input %d)", k);
  int len;
  const int64_t *kernel = vitc_attr_ints(n, "kernel_shape", &len);
  if (!kernel || len != 2 || kernel[0] < 1 || kernel[1] < 1)
    return vitc_fail(err, VITC_ERR_INVALID, "PatchConvNHWC needs kernel_shape [kh, kw] of positive sizes");
  *kh = kernel[0];
  *kw = kernel[1];
  if (x->rank != 4 || x->dims[1] % *kh || x->dims[2] % *kw)
    return vitc_fail(err, VITC_ERR_INVALID, "PatchConvNHWC needs X [N, H, W, C] with H a multiple of %lld and W of %lld",
                     (long long)*kh, (long long)*kw);
  if (w->rank != 2 || w->dims[0] != *kh * *kw * x->dims[3])
    return vitc_fail(err, VITC_ERR_INVALID, "PatchConvNHWC needs W [kh·kw·C = %lld, M]",
                     (long long)(*kh * *kw * x->dims[3]));
  if (bias && (bias->rank != 1 || bias->dims[0] != w->dims[1]))
    return vitc_fail(err, VITC_ERR_INVALID, "PatchConvNHWC bias must be [%lld]", (long long)w->dims[1]);
  return VITC_OK;
}

vitc_status shape_patch_conv_nhwc(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  int64_t kh, kw;
  vitc_status st = patch_kernel(n, in, &kh, &kw, err);
  if (st != VITC_OK) return st;
  vitc_copy_type(&out[0], in[IN_X]);
  out->dims[1] /= kh;
  out->dims[2] /= kw;
  out->dims[3] = in[IN_W]->dims[1];
  return VITC_OK;
}

vitc_status eval_PatchConvNHWC(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  int64_t kh, kw;
  vitc_status st = patch_kernel(n, in, &kh, &kw, err);
  if (st != VITC_OK) return st;
  const float *x = in[IN_X]->data, *w = in[IN_W]->data;
  const float *bias = n->nin > IN_BIAS && in[IN_BIAS] ? in[IN_BIAS]->data : NULL;
  int64_t iw = in[IN_X]->dims[2], c = in[IN_X]->dims[3], m = in[IN_W]->dims[1];
  int64_t rows = out->dims[0] * out->dims[1], ow = out->dims[2]; /* rows: (n, oy) */
  float *y = out->data;
  for (int64_t r = 0; r < rows; r++)
    for (int64_t ox = 0; ox < ow; ox++)
      for (int64_t o = 0; o < m; o++) {
        double acc = bias ? bias[o] : 0;
        for (int64_t ky = 0; ky < kh; ky++) { /* one run of kw·C floats of X per ky */
          const float *run = x + ((r * kh + ky) * iw + ox * kw) * c;
          const float *wrow = w + ky * kw * c * m + o;
          for (int64_t e = 0; e < kw * c; e++) acc += (double)run[e] * wrow[e * m];
        }
        y[(r * ow + ox) * m + o] = (float)acc;
      }
  return VITC_OK;
}

double flops_patch_conv_nhwc(const vitc_node *n, const vitc_value *const *in, const vitc_value *out) {
  return 2.0 * (double)in[IN_W]->dims[0] * (double)vitc_numel(&out[0]);
}

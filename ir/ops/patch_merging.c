/* patch_merging.c — vitc.PatchMerging, Swin's downsampling between stages, built by
 * passes/fuse_patch_merging:
 *
 *   inputs  X [.., H, W, C] f32 (H, W even), Wr [4C, N] f32, gamma [L] (optional), beta [L] (optional),
 *           bias [N] (optional); L = 4C, or N with norm_after
 *   attrs   epsilon (default 1e-5), norm_after (default 0); bf16 (default 0), given by the evaluator to a
 *           bf16 product (ir/eval.c, ops.def's BF16_ROWS): its rows are rounded to bfloat16, as the
 *           backend's GEMM rounds them, after the LayerNorm before the product
 *
 *   every output position (.., i, j), with x_q = X[.., 2i + dy_q, 2j + dx_q, :] for
 *   (dy, dx) = (0, 0), (1, 0), (0, 1), (1, 1) (torchvision's x0, x1, x2, x3):
 *     row = [x_0, x_1, x_2, x_3]                                 4C values
 *     row = (row - mean) / sqrt(var + eps) ⊙ gamma + beta        with gamma, norm_after = 0 (Swin V1)
 *     y = row · Wr + bias                                        N values
 *     y = (y - mean) / sqrt(var + eps) ⊙ gamma + beta            with gamma, norm_after = 1 (Swin V2)
 *     Y[.., i, j, :] = y                                         Y [.., H/2, W/2, N]
 *
 * The reference: the rows (LayerNorm in double, as norm.c) into a buffer, then one float32 GEMM, then
 * with norm_after the LayerNorm of each output row in place. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gemm_kernel.h"
#include "ops.h"

enum { IN_X, IN_W, IN_GAMMA, IN_BETA, IN_BIAS };

static const vitc_value *input(const vitc_node *n, const vitc_value *const *in, int k) {
  return n->nin > k ? in[k] : NULL;
}

vitc_status shape_patch_merging(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  const vitc_value *x = in[IN_X], *w = in[IN_W];
  vitc_status st = vitc_check_f32_inputs(n, in, err);
  if (st != VITC_OK) return st;
  if (x->rank < 3 || x->dims[x->rank - 3] % 2 || x->dims[x->rank - 2] % 2)
    return vitc_fail(err, VITC_ERR_INVALID, "PatchMerging needs X [.., H, W, C] with H and W even");
  int64_t c4 = 4 * x->dims[x->rank - 1];
  if (w->rank != 2 || w->dims[0] != c4)
    return vitc_fail(err, VITC_ERR_INVALID, "PatchMerging needs a reduction weight [%lld, N]", (long long)c4);
  const vitc_value *gamma = input(n, in, IN_GAMMA), *beta = input(n, in, IN_BETA), *bias = input(n, in, IN_BIAS);
  int64_t len = vitc_attr_int(n, "norm_after", 0) ? w->dims[1] : c4;
  if ((gamma && !vitc_is_vector(gamma, len)) || (beta && !vitc_is_vector(beta, len)) || (beta && !gamma))
    return vitc_fail(err, VITC_ERR_INVALID, "PatchMerging gamma and beta must be [%lld], beta only with gamma",
                     (long long)len);
  if (bias && !vitc_is_vector(bias, w->dims[1]))
    return vitc_fail(err, VITC_ERR_INVALID, "PatchMerging bias must be [%lld]", (long long)w->dims[1]);
  vitc_copy_type(&out[0], x);
  out->dims[out->rank - 3] /= 2;
  out->dims[out->rank - 2] /= 2;
  out->dims[out->rank - 1] = w->dims[1];
  return VITC_OK;
}

/* LayerNorm of row[0 .. len) in place, in double as norm.c. */
static void normalize(const vitc_node *n, const vitc_value *const *in, float *row, int64_t len) {
  const vitc_value *gamma = input(n, in, IN_GAMMA), *beta = input(n, in, IN_BETA);
  double sum = 0, sq = 0;
  for (int64_t e = 0; e < len; e++) sum += row[e];
  double mean = sum / (double)len;
  for (int64_t e = 0; e < len; e++) sq += (row[e] - mean) * (row[e] - mean);
  double inv_std = 1.0 / sqrt(sq / (double)len + vitc_attr_float(n, "epsilon", 1e-5));
  const float *g = gamma->data, *b = beta ? beta->data : NULL;
  for (int64_t e = 0; e < len; e++) row[e] = (float)((row[e] - mean) * inv_std * g[e] + (b ? b[e] : 0));
}

/* Row r (one output position) of the merged, optionally normalised, 4C values. */
static void merged_row(const vitc_node *n, const vitc_value *const *in, int64_t r, float *row) {
  const vitc_value *x = in[IN_X];
  int64_t h = x->dims[x->rank - 3], w = x->dims[x->rank - 2], c = x->dims[x->rank - 1];
  int64_t j = r % (w / 2), i = r / (w / 2) % (h / 2), img = r / (w / 2) / (h / 2);
  static const int dy[4] = {0, 1, 0, 1}, dx[4] = {0, 0, 1, 1};
  const float *xp = x->data;
  for (int q = 0; q < 4; q++)
    memcpy(row + q * c, xp + ((img * h + 2 * i + dy[q]) * w + 2 * j + dx[q]) * c, sizeof(float) * (size_t)c);
  if (input(n, in, IN_GAMMA) && !vitc_attr_int(n, "norm_after", 0)) normalize(n, in, row, 4 * c);
}

vitc_status eval_PatchMerging(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  int64_t c4 = in[IN_W]->dims[0], cols = in[IN_W]->dims[1], rows = cols ? vitc_numel(out) / cols : 0;
  float *merged = malloc(sizeof(float) * (size_t)(rows * c4 + 1)), *y = out->data;
  if (!merged) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory for PatchMerging rows");
  for (int64_t r = 0; r < rows; r++) merged_row(n, in, r, merged + r * c4);
  for (int64_t e = 0; vitc_attr_int(n, "bf16", 0) && e < rows * c4; e++) merged[e] = vitc_bf16_round(merged[e]);
  bool ok = vitc_sgemm(rows, cols, c4, 1.0f, vitc_fmat_rows(merged, c4), vitc_fmat_rows(in[IN_W]->data, cols), 0.0f,
                       y, cols);
  free(merged);
  if (!ok) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory for GEMM packing buffers");
  const vitc_value *bias = input(n, in, IN_BIAS);
  for (int64_t r = 0; bias && r < rows; r++)
    for (int64_t j = 0; j < cols; j++) y[r * cols + j] += ((const float *)bias->data)[j];
  for (int64_t r = 0; input(n, in, IN_GAMMA) && vitc_attr_int(n, "norm_after", 0) && r < rows; r++)
    normalize(n, in, y + r * cols, cols);
  return VITC_OK;
}

/* The product, and the LayerNorm's eight operations per normalised value when there is one. */
double flops_patch_merging(const vitc_node *n, const vitc_value *const *in, const vitc_value *out) {
  double rows = (double)vitc_numel(out) / (double)(in[IN_W]->dims[1] ? in[IN_W]->dims[1] : 1);
  int64_t len = in[IN_W]->dims[vitc_attr_int(n, "norm_after", 0) ? 1 : 0];
  double norm = input(n, in, IN_GAMMA) ? 8.0 * (double)len * rows : 0;
  return 2.0 * (double)in[IN_W]->dims[0] * (double)vitc_numel(out) + norm;
}

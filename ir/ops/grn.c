/* grn.c — vitc.GRN, ConvNeXt V2's global response normalisation, built by passes/fuse_grn:
 *
 *   inputs  X [N, spatial.., C] float32, channels-last (rank >= 3: batch first, channels last, every axis
 *           between them spatial), gamma [C], beta [C] float32
 *   attr    epsilon (default 1e-6)
 *
 *   per sample n and channel c:  G[n, c] = sqrt(Σ_p X[n, p, c]²)               (L2 norm over the image)
 *                                Nx[n, c] = G[n, c] / (Σ_c G[n, c] / C + eps)
 *   Y[n, p, c] = gamma[c] · (X[n, p, c] · Nx[n, c]) + beta[c] + X[n, p, c]
 *
 * The sums of squares and the mean in double. */
#include <math.h>
#include <stdlib.h>

#include "ops.h"

vitc_status shape_grn(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  const vitc_value *x = in[0];
  if (x->dtype != VITC_F32 || x->rank < 3)
    return vitc_fail(err, VITC_ERR_INVALID, "GRN needs a float32 [N, spatial.., C] tensor of rank >= 3");
  int64_t channels = x->dims[x->rank - 1];
  for (int k = 1; k < 3; k++)
    if (in[k]->rank != 1 || in[k]->dims[0] != channels || in[k]->dtype != VITC_F32)
      return vitc_fail(err, VITC_ERR_INVALID, "%s must be float32 [%lld]", k == 1 ? "gamma" : "beta",
                       (long long)channels);
  vitc_copy_type(&out[0], x);
  return VITC_OK;
}

/* The global responses G[c] / (mean G + eps) of one sample (spatial positions × channels) into nx. */
static void responses(const vitc_value *x, int64_t first, int64_t spatial, int64_t channels, double eps,
                      double *nx) {
  double mean = 0;
  for (int64_t c = 0; c < channels; c++) {
    double sq = 0;
    for (int64_t p = 0; p < spatial; p++) {
      double v = vitc_load_f(x, first + p * channels + c);
      sq += v * v;
    }
    nx[c] = sqrt(sq);
    mean += nx[c];
  }
  mean /= (double)channels;
  for (int64_t c = 0; c < channels; c++) nx[c] /= mean + eps;
}

vitc_status eval_GRN(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  const vitc_value *x = in[0], *gamma = in[1], *beta = in[2];
  int64_t channels = x->dims[x->rank - 1], samples = x->dims[0], spatial = 1;
  for (int d = 1; d < x->rank - 1; d++) spatial *= x->dims[d];
  if (channels == 0 || samples == 0) return VITC_OK;
  double eps = vitc_attr_float(n, "epsilon", 1e-6);
  double *nx = malloc((size_t)channels * sizeof *nx);
  if (!nx) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory for %lld channel responses", (long long)channels);
  for (int64_t s = 0; s < samples; s++) {
    int64_t first = s * spatial * channels;
    responses(x, first, spatial, channels, eps, nx);
    for (int64_t p = 0; p < spatial; p++)
      for (int64_t c = 0; c < channels; c++) {
        int64_t at = first + p * channels + c;
        double v = vitc_load_f(x, at);
        vitc_store_f(&out[0], at, vitc_load_f(gamma, c) * (v * nx[c]) + vitc_load_f(beta, c) + v);
      }
  }
  free(nx);
  return VITC_OK;
}

/* Per element: square and add for the norm, then two products and two sums. */
double flops_grn(const vitc_node *n, const vitc_value *const *in, const vitc_value *out) {
  return 6.0 * (double)vitc_numel(in[0]);
}

/* factorized_context.c — vitc.FactorizedContext, the first product of CoaT's factorized attention
 * (timm coat.FactoratAttnConvRelPosEnc) with the softmax over the tokens fused in:
 *
 *   inputs  k [..., N, D], v [..., N, E] (the same leading dims)
 *   P[..., j, c] = softmax over the tokens j of k[..., j, c]
 *   Y[..., c, e] = Σ_j P[..., j, c] · v[..., j, e]            [..., D, E] = softmax(k)ᵀ · v
 *
 * Q · Y (the second product) stays a MatMul: Y is a small D × E matrix per head. Computed in double. */
#include <math.h>
#include <stdlib.h>

#include "ops.h"

enum { IN_K, IN_V };

vitc_status shape_factorized_context(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  (void)n;
  const vitc_value *k = in[IN_K], *v = in[IN_V];
  if (k->dtype != VITC_F32 || v->dtype != VITC_F32)
    return vitc_fail(err, VITC_ERR_UNSUPPORTED, "FactorizedContext runs on float32 only");
  bool same = k->rank >= 2 && k->rank == v->rank;
  for (int d = 0; same && d < k->rank - 1; d++) same = k->dims[d] == v->dims[d];
  if (!same) return vitc_fail(err, VITC_ERR_INVALID, "FactorizedContext needs k [..., N, D] and v [..., N, E] with the same leading dims");
  vitc_copy_type(&out[0], k);
  out[0].dims[k->rank - 2] = k->dims[k->rank - 1];
  out[0].dims[k->rank - 1] = v->dims[v->rank - 1];
  return VITC_OK;
}

double flops_factorized_context(const vitc_node *n, const vitc_value *const *in, const vitc_value *out) {
  (void)n;
  const vitc_value *k = in[IN_K];
  double tokens = (double)k->dims[k->rank - 2];
  return (double)vitc_numel(k) * 4 + (double)vitc_numel(out) * tokens * 2;
}

vitc_status eval_FactorizedContext(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  (void)n;
  const vitc_value *k = in[IN_K], *v = in[IN_V];
  int64_t tokens = k->dims[k->rank - 2], width = k->dims[k->rank - 1], cols = v->dims[v->rank - 1];
  int64_t batch = tokens > 0 && width > 0 ? vitc_numel(k) / (tokens * width) : 0;
  double *w = malloc(sizeof(double) * (size_t)(tokens + 1));
  if (!w) return vitc_fail(err, VITC_ERR_NOMEM, "FactorizedContext: out of memory for %lld weights", (long long)tokens);
  for (int64_t b = 0; b < batch; b++)
    for (int64_t c = 0; c < width; c++) {
      double top = -INFINITY, sum = 0;
      for (int64_t j = 0; j < tokens; j++) {
        w[j] = vitc_load_f(k, (b * tokens + j) * width + c);
        top = w[j] > top ? w[j] : top;
      }
      for (int64_t j = 0; j < tokens; j++) sum += w[j] = exp(w[j] - top);
      for (int64_t e = 0; e < cols; e++) {
        double y = 0;
        for (int64_t j = 0; j < tokens; j++) y += w[j] * vitc_load_f(v, (b * tokens + j) * cols + e);
        vitc_store_f(&out[0], (b * width + c) * cols + e, y / sum);
      }
    }
  free(w);
  return VITC_OK;
}

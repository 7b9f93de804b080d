/* lower_batch_norm — a BatchNormalization that fold_batch_norm could fold into no Conv or Gemm (XCiT's
 * LPI: depthwise conv → GELU → BatchNorm → depthwise conv, the second one padded) becomes the per-channel
 * affine it computes, which to_channels_last carries channels-last like any Mul and Add of a constant:
 *
 *     %y = BatchNormalization(%x, γ, β, μ, σ²) {ε}      %x float32 [N, C, ..], γ, β, μ, σ² known [C]
 *                                   ─→  %s = Mul(%x, g)     g = γ / √(σ² + ε)    [1, C, 1, ..]
 *                                       %y = Add(%s, h)     h = β − μ·g          [1, C, 1, ..]
 *
 * Left channels-first, the BatchNormalization would cost a Transpose on each side of it in an otherwise
 * channels-last trunk. A training-mode one, one with unknown statistics, or one over fewer than 2 dims
 * stays. */
#include <stdlib.h>

#include "passes/pattern.h"

/* A known float32 [1, C, 1, ..] (rank `rank`) holding v[0..C), named "<base>.<suffix>"; -1 with err set. */
static int channel_constant(vitc_rewriter *rw, const double *v, int64_t channels, int rank, const char *base,
                            const char *suffix, vitc_error *err) {
  vitc_value c = {.dtype = VITC_F32, .rank = rank};
  for (int d = 0; d < rank; d++) c.dims[d] = d == 1 ? channels : 1;
  float *data = malloc(sizeof(float) * (size_t)channels + 1);
  if (!data) return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory lowering a BatchNormalization", rw->g->path), -1;
  for (int64_t k = 0; k < channels; k++) data[k] = (float)v[k];
  c.data = data;
  int id = vitc_rewrite_constant(rw, base, suffix, &c, err);
  free(data);
  return id;
}

static vitc_status lower(vitc_rewriter *rw, int i, void *ctx, vitc_error *err) {
  (void)ctx;
  vitc_graph *g = rw->g;
  const vitc_node *bn = &g->nodes[i];
  if (bn->op != VITC_OP_BatchNormalization || !g->tensors[bn->in[0]].shape_known) return VITC_OK;
  vitc_value type = g->tensors[bn->in[0]].v; /* adding tensors moves the array */
  if (type.dtype != VITC_F32 || type.rank < 2 || !vitc_match_batch_norm(g, bn, type.dims[1])) return VITC_OK;
  type.data = NULL;
  int in = bn->in[0], out = bn->out[0];
  const char *base = g->tensors[out].name;
  double *gain = vitc_batch_norm_affine(g, bn, type.dims[1]);
  if (!gain) return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory lowering a BatchNormalization", g->path);
  int scale = channel_constant(rw, gain, type.dims[1], type.rank, base, "bn_gain", err);
  int shift = scale < 0 ? -1 : channel_constant(rw, gain + type.dims[1], type.dims[1], type.rank, base, "bn_shift", err);
  free(gain);
  if (shift < 0) return VITC_ERR_NOMEM;
  int scaled = vitc_rewrite_node(rw, VITC_OP_Mul, (int[]){in, scale}, 2, &type, NULL, 0, base, "bn_scaled", err);
  if (scaled < 0) return VITC_ERR_NOMEM;
  vitc_node *matched = &g->nodes[i];
  return vitc_rewrite(rw, &matched, 1, VITC_OP_Add, (int[]){scaled, shift}, 2, out, NULL, 0, err);
}

vitc_status vitc_lower_batch_norm(vitc_graph *g, vitc_error *err) {
  return vitc_rewrite_each_node(g, "lower_batch_norm", false, lower, NULL, err);
}

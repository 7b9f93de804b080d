/* fold_pad_into_pool — a zero Pad of the spatial dims in front of an AveragePool (or a Conv) becomes the pool's own
 * padding, counted in the divisor:
 *
 *     %p = Pad(%x, pads P) {mode constant}      value absent or a known 0; N and C not padded
 *     %y = AveragePool(%p) {pads Q, count_include_pad c}      Q = 0 or c = 1; ceil_mode 0
 *                               ─→  %y = AveragePool(%x) {pads P + Q, count_include_pad 1}
 *
 * With count_include_pad the pool divides every window by its full tap count and sums zeros for the taps
 * in the padding, which is what it does over the explicitly zero-padded %p. MaxViT's MBConv shortcut
 * pads by 1 before a 3×3 stride-2 average: four Pads of MaxViT-T. ceil_mode stays 0: with it a window
 * may start inside the padding, where the two forms differ. %p must be read only by the pool.
 *
 * A Conv pads with zeros itself, so the same Pad in front of one always folds:
 *
 *     %y = Conv(%p, %w, %b) {pads Q}      ─→  %y = Conv(%x, %w, %b) {pads P + Q}
 *
 * timm's TF-ported models ("same" padding) pad the right and bottom by 1 before every stride-2 conv;
 * as a Pad node it keeps the conv out of the channels-last trunk (to_channels_last takes Convs only). */
#include <string.h>

#include "passes/pattern.h"

/* Pad n's pads, of length 2·rank, in %pads: whether they are known, non-negative and leave dims 0 and 1
 * alone (one pad value of 0, no axes input, constant mode). */
static bool zero_pad_of_spatial_dims(const vitc_graph *g, const vitc_node *pad, int rank, int64_t *pads) {
  const char *mode = vitc_attr_str(pad, "mode", "constant");
  if (strcmp(mode, "constant") || pad->nin < 2 || !vitc_match_known(g, pad->in[1])) return false;
  if (pad->nin > 2 && pad->in[2] >= 0 && !vitc_match_scalar(g, pad->in[2], 0.0)) return false;
  if (pad->nin > 3 && pad->in[3] >= 0) return false; /* opset 18 axes: pads of only some dims */
  const vitc_value *p = &g->tensors[pad->in[1]].v;
  if (vitc_numel(p) != 2 * rank) return false;
  for (int i = 0; i < 2 * rank; i++)
    if ((pads[i] = vitc_load_i(p, i)) < 0 || (i % rank < 2 && pads[i] != 0)) return false;
  return true;
}

static vitc_status visit(vitc_rewriter *rw, int i, void *ctx, vitc_error *err) {
  (void)ctx;
  const vitc_graph *g = rw->g;
  vitc_node *pool = &rw->g->nodes[i]; /* the AveragePool or Conv */
  bool conv = pool->op == VITC_OP_Conv;
  if ((!conv && pool->op != VITC_OP_AveragePool) || vitc_attr_int(pool, "ceil_mode", 0) ||
      strcmp(vitc_attr_str(pool, "auto_pad", "NOTSET"), "NOTSET"))
    return VITC_OK;
  vitc_node *pad = vitc_match_inner(rw, pool->in[0], VITC_OP_Pad, 1);
  if (!pad || !g->tensors[pad->in[0]].shape_known) return VITC_OK;
  int rank = g->tensors[pad->in[0]].v.rank, spatial = rank - 2, len = 0;
  int64_t pads[2 * VITC_MAX_RANK];
  const int64_t *q = vitc_attr_ints(pool, "pads", &len);
  bool include = conv || vitc_attr_int(pool, "count_include_pad", 0) != 0, q_zero = true;
  if (spatial < 1 || (q && len != 2 * spatial) || !zero_pad_of_spatial_dims(g, pad, rank, pads)) return VITC_OK;
  for (int k = 0; q && k < len; k++) q_zero = q_zero && q[k] == 0;
  if (!q_zero && !include) return VITC_OK; /* its windows divide by the taps inside its input only */
  int64_t sum[2 * VITC_MAX_RANK];
  for (int k = 0; k < spatial; k++) { /* Pad: begins then ends over all dims; pool: over spatial dims */
    sum[k] = pads[2 + k] + (q ? q[k] : 0);
    sum[spatial + k] = pads[rank + 2 + k] + (q ? q[spatial + k] : 0);
  }
  vitc_attr attrs[16]; /* ONNX's AveragePool has 7 attributes, Conv 6 */
  int nattr = 0;
  if (pool->nattr > 14) return VITC_OK;
  for (int k = 0; k < pool->nattr; k++)
    if (strcmp(pool->attrs[k].name, "pads") && strcmp(pool->attrs[k].name, "count_include_pad"))
      attrs[nattr++] = pool->attrs[k];
  attrs[nattr++] = (vitc_attr){.name = "pads", .type = VITC_ATTR_INTS, .n = 2 * spatial, .ints = sum};
  if (!conv) attrs[nattr++] = (vitc_attr){.name = "count_include_pad", .type = VITC_ATTR_INT, .i = 1};
  vitc_node *matched[2] = {pool, pad};
  int in[3]; /* Conv's X, W, B */
  if (pool->nin > 3) return VITC_OK;
  memcpy(in, pool->in, sizeof(int) * (size_t)pool->nin);
  in[0] = pad->in[0];
  return vitc_rewrite(rw, matched, 2, pool->op, in, pool->nin, pool->out[0], attrs, nattr, err);
}

vitc_status vitc_fold_pad_into_pool(vitc_graph *g, vitc_error *err) {
  return vitc_rewrite_each_node(g, "fold_pad_into_pool", false, visit, NULL, err);
}

/* lower_spatial_mean — a mean over the spatial dims of an image tensor, dims kept, is a GlobalAveragePool:
 *
 *     %y : [N, C, 1, .., 1] = ReduceMean(%x : [N, C, H, ..], axes) {keepdims 1}
 *                               ─→  %y = GlobalAveragePool(%x)
 *
 * timm's squeeze-excitation (MaxViT's and EfficientNet's MBConv) takes x.mean((2, 3), keepdim=True)
 * where torchvision writes AdaptiveAvgPool2d(1); to_channels_last knows GlobalAveragePool, and the
 * ReduceMean kept every MBConv block's depthwise conv output in NCHW, behind two Transposes.
 *
 * The shapes decide, not the axes: %y keeps dims 0 and 1 and has 1 elsewhere, so every axis the mean
 * folds is spatial or of size 1, and every spatial axis it leaves is of size 1; a mean over an axis of
 * size 1 changes nothing. It runs late, after the passes that recompose norms from ReduceMean. */
#include "passes/passes.h"
#include "passes/pattern.h"

static vitc_status visit(vitc_rewriter *rw, int i, void *ctx, vitc_error *err) {
  (void)ctx;
  const vitc_graph *g = rw->g;
  vitc_node *mean = &rw->g->nodes[i];
  if (mean->op != VITC_OP_ReduceMean || !vitc_attr_int(mean, "keepdims", 1)) return VITC_OK;
  const vitc_tensor *x = &g->tensors[mean->in[0]], *y = &g->tensors[mean->out[0]];
  if (!x->shape_known || !y->shape_known || x->v.dtype != VITC_F32 || x->v.rank < 3 || y->v.rank != x->v.rank)
    return VITC_OK;
  for (int d = 0; d < x->v.rank; d++)
    if (y->v.dims[d] != (d < 2 ? x->v.dims[d] : 1)) return VITC_OK;
  vitc_node *matched[1] = {mean};
  return vitc_rewrite(rw, matched, 1, VITC_OP_GlobalAveragePool, &mean->in[0], 1, mean->out[0], NULL, 0, err);
}

vitc_status vitc_lower_spatial_mean(vitc_graph *g, vitc_error *err) {
  return vitc_rewrite_each_node(g, "lower_spatial_mean", false, visit, NULL, err);
}

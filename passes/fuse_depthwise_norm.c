/* fuse_depthwise_norm — the LayerNorm over the channels right after a channels-last depthwise conv
 * (ConvNeXt's block: 7x7 depthwise conv, LayerNorm, MLP) joins the conv as its epilogue, so the conv's
 * output is normalised while its row is in cache instead of being written out and read back:
 *
 *     %z = DepthwiseConvNHWC(%x, W, b) {window, activation}          no norm of its own
 *     %y = LayerNormalization(%z, %s, %nb) {axis last, epsilon}      %s (and %nb) float32 [C];
 *                                                                    Mean, InvStdDev unused
 *                         ─→  %y = DepthwiseConvNHWC(%x, W, b, %s, %nb) {window, activation, epsilon}
 *
 * %z must be read by the LayerNorm alone. Runs after fuse_gemm_epilogue, which gives the conv the
 * activation that comes before the norm. */
#include <string.h>

#include "passes/pattern.h"

enum { MAX_ATTRS = 8 };

/* A float32 [c] input. */
static bool per_channel(const vitc_graph *g, int t, int64_t c) {
  const vitc_tensor *v = &g->tensors[t];
  return v->shape_known && v->v.dtype == VITC_F32 && v->v.rank == 1 && v->v.dims[0] == c;
}

static vitc_status visit(vitc_rewriter *rw, int i, void *ctx, vitc_error *err) {
  (void)ctx;
  vitc_graph *g = rw->g;
  vitc_node *ln = &g->nodes[i];
  if (ln->op != VITC_OP_LayerNormalization) return VITC_OK;
  vitc_node *conv = vitc_match_inner(rw, ln->in[0], VITC_OP_DepthwiseConvNHWC, 1);
  if (!conv || conv->nin > 3 || conv->nattr >= MAX_ATTRS || !g->tensors[ln->out[0]].shape_known) return VITC_OK;
  /* on token rows the norm would also cover the leading rows the conv only copies */
  if (vitc_attr_find(conv, "image")) return VITC_OK;
  for (int k = 1; k < ln->nout; k++)
    if (ln->out[k] >= 0 && rw->uses[ln->out[k]] > 0) return VITC_OK;
  const vitc_value *z = &g->tensors[ln->in[0]].v;
  int64_t c = z->dims[z->rank - 1], axis = vitc_attr_int(ln, "axis", -1);
  int nb = ln->nin > 2 ? ln->in[2] : -1;
  if ((axis != -1 && axis != z->rank - 1) || g->tensors[ln->out[0]].v.dtype != VITC_F32 || ln->nin < 2 ||
      ln->in[1] < 0 || !per_channel(g, ln->in[1], c) || (nb >= 0 && !per_channel(g, nb, c)))
    return VITC_OK;
  vitc_attr attrs[MAX_ATTRS];
  memcpy(attrs, conv->attrs, sizeof(vitc_attr) * (size_t)conv->nattr);
  attrs[conv->nattr] = (vitc_attr){.name = "epsilon", .type = VITC_ATTR_FLOAT, .f = vitc_attr_float(ln, "epsilon", 1e-5)};
  int in[5] = {conv->in[0], conv->in[1], conv->nin > 2 ? conv->in[2] : -1, ln->in[1], nb};
  vitc_node *matched[2] = {conv, ln};
  return vitc_rewrite(rw, matched, 2, VITC_OP_DepthwiseConvNHWC, in, nb >= 0 ? 5 : 4, ln->out[0], attrs,
                      conv->nattr + 1, err);
}

vitc_status vitc_fuse_depthwise_norm(vitc_graph *g, vitc_error *err) {
  return vitc_rewrite_each_node(g, "fuse_depthwise_norm", false, visit, NULL, err);
}

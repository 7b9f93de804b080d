/* fuse_channels_layer_norm — LayerNorm over the channels of a channels-first tensor (ConvNeXt's
 * LayerNorm2d), exported between a move of the channels last and back, becomes one
 * vitc.LayerNormChannels that reads and writes [N, C, spatial..] in place of the two Transposes:
 *
 *     %t = Transpose(%x) {perm = [0, 2, .., r-1, 1]}      %x [N, C, spatial..], rank r >= 3
 *     %n = LayerNormalization(%t, %w, %b) {last axis}     %w, %b [C]; Mean and InvStdDev unused
 *     %y = Transpose(%n) {perm = [0, r-1, 1, .., r-2]}
 *                               ─→  %y = LayerNormChannels(%x, %w, %b) {epsilon}
 *
 * (One LayerNormalization over axis 1 would normalise C and every spatial dim together.) %t and %n
 * must be read only inside the pattern. */
#include "passes/pattern.h"

/* Transpose n moves the channels (dim 1) of a rank-r tensor last, or with `back` from last to dim 1. */
static bool moves_channels(const vitc_node *n, int rank, bool back) {
  int len;
  const int64_t *perm = vitc_attr_ints(n, "perm", &len);
  if (!perm || len != rank || perm[0] != 0) return false;
  for (int d = 1; d < rank; d++) {
    int64_t want = back ? (d == 1 ? rank - 1 : d - 1) : (d == rank - 1 ? 1 : d + 1);
    if (perm[d] != want) return false;
  }
  return true;
}

/* A 1-D [c] input. */
static bool per_channel(const vitc_graph *g, int t, int64_t c) {
  return t >= 0 && g->tensors[t].shape_known && g->tensors[t].v.rank == 1 && g->tensors[t].v.dims[0] == c;
}

/* Matches the pattern ending at %y = back(%n); fills nodes[3] and returns %x, or -1. */
static int match_channels_norm(const vitc_rewriter *rw, vitc_node *back, vitc_node **nodes) {
  const vitc_graph *g = rw->g;
  vitc_node *ln = vitc_match_inner(rw, back->in[0], VITC_OP_LayerNormalization, 1);
  if (!ln || ln->nin != 3) return -1;
  for (int k = 1; k < ln->nout; k++)
    if (ln->out[k] >= 0 && rw->uses[ln->out[k]] > 0) return -1;
  vitc_node *front = vitc_match_inner(rw, ln->in[0], VITC_OP_Transpose, 1);
  if (!front || !g->tensors[front->in[0]].shape_known) return -1;
  const vitc_value *x = &g->tensors[front->in[0]].v;
  int rank = x->rank, axis = (int)vitc_attr_int(ln, "axis", -1);
  if (axis < 0) axis += rank;
  if (rank < 3 || axis != rank - 1 || !vitc_dtype_is_float(x->dtype) || !moves_channels(front, rank, false) ||
      !moves_channels(back, rank, true) || !per_channel(g, ln->in[1], x->dims[1]) ||
      !per_channel(g, ln->in[2], x->dims[1]))
    return -1;
  nodes[0] = back;
  nodes[1] = ln;
  nodes[2] = front;
  return front->in[0];
}

static vitc_status visit(vitc_rewriter *rw, int i, void *ctx, vitc_error *err) {
  (void)ctx;
  vitc_node *n = &rw->g->nodes[i], *nodes[3];
  int x = n->op == VITC_OP_Transpose ? match_channels_norm(rw, n, nodes) : -1;
  if (x < 0) return VITC_OK;
  int in[3] = {x, nodes[1]->in[1], nodes[1]->in[2]};
  vitc_attr eps = {.name = "epsilon", .type = VITC_ATTR_FLOAT, .f = vitc_attr_float(nodes[1], "epsilon", 1e-5)};
  return vitc_rewrite(rw, nodes, 3, VITC_OP_LayerNormChannels, in, 3, n->out[0], &eps, 1, err);
}

vitc_status vitc_fuse_channels_layer_norm(vitc_graph *g, vitc_error *err) {
  return vitc_rewrite_each_node(g, "fuse_channels_layer_norm", false, visit, NULL, err);
}

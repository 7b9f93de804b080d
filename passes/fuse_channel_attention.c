/* fuse_channel_attention — XCiT's cross-covariance attention (timm xcit.XCA), which fuse_attention made an
 * Attention over the transposed q, k, v (rows = channels, normalize_qk, the temperature as its per-row
 * scale), becomes one vitc.ChannelAttention (ir/ops/channel_attention.c) reading the qkv projection's rows
 * and writing the rows the output projection reads: the transposes to [B, H, D, N] and back go.
 *
 *   %qkv                                                  [B, N, 3·C]     (C = H·D)
 *   %q, %k, %v = Reshape, Transpose {perm [2, 0, 3, 4, 1]}, Split, Squeeze ..(%qkv)    [B, H, D, N] each
 *   %a = Attention(%q, %k, %v, _, T [H, 1, 1]) {normalize_qk = 1, scale}              [B, H, D, N]
 *   %y = Transpose {perm [0, 3, 1, 2]}, Reshape ..(%a)    [B, N, C]
 *                        ─→   %y = vitc.ChannelAttention(%qkv, T) {heads = H, tokens = N, scale, y_shape = dims of %y}
 *
 * The movement chains are recognised by where their elements come from (vitc_match_view), not by their
 * ops. Runs after fuse_attention and before absorb_attention_layout, while the Attention reads its
 * operands unmapped. Tensors in between that others read stay for them; eliminate_dead sweeps the rest. */
#include "passes/pattern.h"

enum { IN_Q, IN_K, IN_V, IN_BIAS, IN_SCALE, NIN_PLAIN };

/* Whether s holds one known factor per head h of the scores [B, H, Nq, Nk]: dims [.., H, 1, 1], 1 before H. */
static bool per_head(const vitc_graph *g, int s, int64_t heads) {
  const vitc_value *v = &g->tensors[s].v;
  if (!vitc_match_known(g, s) || v->dtype != VITC_F32 || v->rank < 3 || v->rank > 4 || v->dims[v->rank - 3] != heads ||
      v->dims[v->rank - 2] != 1 || v->dims[v->rank - 1] != 1)
    return false;
  return v->rank == 3 || v->dims[0] == 1;
}

static vitc_status visit(vitc_rewriter *rw, int i, void *ctx, vitc_error *err) {
  (void)ctx;
  vitc_graph *g = rw->g;
  vitc_node *last = &g->nodes[i], *att;
  int y = last->out[0];
  if (!vitc_moved_inputs(g, last) || !g->tensors[y].shape_known ||
      !(att = vitc_match_op(rw, vitc_match_movement_source(g, y), VITC_OP_Attention)) || att->nin != NIN_PLAIN ||
      att->in[IN_BIAS] >= 0 || att->in[IN_SCALE] < 0 || !vitc_attr_int(att, "normalize_qk", 0) ||
      vitc_attr_int(att, "k_transposed", 0) || !g->tensors[att->out[0]].shape_known)
    return VITC_OK;
  const vitc_value *a = &g->tensors[att->out[0]].v, *out = &g->tensors[y].v;
  int qkv = vitc_match_movement_source(g, att->in[IN_Q]);
  if (a->rank != 4 || qkv == att->in[IN_Q] || !g->tensors[qkv].shape_known || !per_head(g, att->in[IN_SCALE], a->dims[1]))
    return VITC_OK;
  const vitc_value *base = &g->tensors[qkv].v;
  int64_t b = a->dims[0], h = a->dims[1], d = a->dims[2], n = a->dims[3], c = h * d;
  if (base->dtype != VITC_F32 || base->rank < 2 || base->dims[base->rank - 1] != 3 * c || vitc_numel(base) != b * n * 3 * c ||
      out->dtype != VITC_F32 || out->rank < 2 || out->dims[out->rank - 1] != c || vitc_numel(out) != b * n * c)
    return VITC_OK;
  bool ok = true;
  vitc_status st = VITC_OK;
  for (int x = IN_Q; x <= IN_V && st == VITC_OK && ok; x++) { /* x(b, h, i, n) = qkv[b, n, x·C + h·D + i] */
    vitc_view4 v = {{b, h, d, n}, {n * 3 * c, d, 1, 3 * c}, x * c, 0};
    st = vitc_match_view(g, qkv, att->in[x], &v, &ok, err);
  }
  if (st == VITC_OK && ok) { /* y[b, n, h·D + i] = a(b, h, i, n) */
    vitc_view4 v = {{b, n, h, d}, {h * d * n, 1, d * n, n}, 0, 0};
    st = vitc_match_view(g, att->out[0], y, &v, &ok, err);
  }
  if (st != VITC_OK || !ok) return st;
  vitc_attr attrs[4] = {{.name = "heads", .type = VITC_ATTR_INT, .i = h},
                        {.name = "tokens", .type = VITC_ATTR_INT, .i = n},
                        {.name = "scale", .type = VITC_ATTR_FLOAT, .f = vitc_attr_float(att, "scale", 1)},
                        {.name = "y_shape", .type = VITC_ATTR_INTS, .n = out->rank, .ints = (int64_t *)out->dims}};
  int in[2] = {qkv, att->in[IN_SCALE]};
  vitc_node *matched[1] = {last};
  return vitc_rewrite(rw, matched, 1, VITC_OP_ChannelAttention, in, 2, y, attrs, 4, err);
}

vitc_status vitc_fuse_channel_attention(vitc_graph *g, vitc_error *err) {
  return vitc_rewrite_each_node(g, "fuse_channel_attention", true, visit, NULL, err);
}

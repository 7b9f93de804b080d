/* merge_parallel_convs — branches over one image that are added (or subtracted) become one Conv: the
 * train-time form of reparameterisable blocks (MobileOne, FastViT, RepVGG), exported as they are when a
 * model was not reparameterised for inference:
 *
 *   %a = Conv(%x, Wa, ba)                 "same" odd kernels (pads k/2, dilation 1), one group count,
 *   %b = Conv(%x, Wb, bb)                 one stride
 *      | BatchNormalization(%x)           the identity branch: a 1x1 conv of weight g on channel m itself
 *   %y = Add(%a, %b) | Sub(%a, %b)    ─→  %y = Conv(%x, Wa ± Wb, ba ± bb)   smaller kernels centred in the larger
 *
 * Both operands of the Add or Sub have %y's shape and are read by it alone; weights, biases and the
 * BatchNormalization's parameters are known float32 values. A chain of Adds merges one Add at a time (the
 * sweep reaches the next Add after the merged Conv replaced the first). The result is unchanged up to
 * float rounding: each output is the same sum of taps, grouped differently. */
#include <stdlib.h>
#include <string.h>

#include "passes/pattern.h"

/* One operand of the Add or Sub: a Conv, or an identity BatchNormalization (bn_gain non-NULL). */
typedef struct branch {
  vitc_node *node;
  int64_t kh, kw;
  double *bn_gain; /* g[C] then h[C] (vitc_batch_norm_affine) */
} branch;

static bool known_f32(const vitc_graph *g, int t) {
  return t >= 0 && vitc_match_known(g, t) && g->tensors[t].v.dtype == VITC_F32;
}

/* conv: a 2-D float32 Conv of odd "same" kernel, dilation 1, known weight and bias. */
static bool same_conv(const vitc_graph *g, vitc_node *conv, branch *b) {
  const vitc_value *w = &g->tensors[conv->in[1]].v;
  if (!known_f32(g, conv->in[1]) || (conv->nin > 2 && conv->in[2] >= 0 && !known_f32(g, conv->in[2])) || w->rank != 4 ||
      !vitc_match_centred_window(conv, w->dims[2], w->dims[3]))
    return false;
  *b = (branch){.node = conv, .kh = w->dims[2], .kw = w->dims[3]};
  return true;
}

static bool ints_equal(const vitc_node *a, const vitc_node *b, const char *name) {
  int la, lb;
  const int64_t *va = vitc_attr_ints(a, name, &la), *vb = vitc_attr_ints(b, name, &lb);
  if (!va || !vb) return vitc_match_all_ones(a, name) && vitc_match_all_ones(b, name);
  return la == lb && !memcmp(va, vb, sizeof(int64_t) * (size_t)la);
}

/* Operand t of y: a branch over image x (the first branch's input when x >= 0). */
static bool match_branch(const vitc_rewriter *rw, int t, int y, int x, branch *b) {
  const vitc_graph *g = rw->g;
  if (!vitc_match_same_type(g, t, y)) return false;
  vitc_node *n = vitc_match_inner(rw, t, VITC_OP_Conv, 1);
  if (n) return (x < 0 || n->in[0] == x) && same_conv(g, n, b);
  n = vitc_match_inner(rw, t, VITC_OP_BatchNormalization, 1);
  if (!n || (x >= 0 && n->in[0] != x) || g->tensors[t].v.rank != 4 || !vitc_match_batch_norm(g, n, g->tensors[t].v.dims[1]))
    return false;
  *b = (branch){.node = n, .kh = 1, .kw = 1};
  return true;
}

/* Adds sign · branch b into W [M, Cg, kh, kw] and bias [M], centred. */
static void add_branch(const vitc_graph *g, const branch *b, double sign, int64_t m, int64_t cg, int64_t kh, int64_t kw,
                       float *w, float *bias) {
  int64_t dy = (kh - b->kh) / 2, dx = (kw - b->kw) / 2;
  for (int64_t o = 0; o < m; o++) {
    if (b->bn_gain) { /* output channel o reads input channel o: its tap j = o mod Cg, as Mg = Cg */
      w[((o * cg + o % cg) * kh + dy) * kw + dx] += (float)(sign * b->bn_gain[o]);
      bias[o] += (float)(sign * b->bn_gain[m + o]);
      continue;
    }
    const vitc_node *conv = b->node;
    const vitc_value *wv = &g->tensors[conv->in[1]].v;
    if (conv->nin > 2 && conv->in[2] >= 0) bias[o] += (float)(sign * vitc_load_f(&g->tensors[conv->in[2]].v, o));
    for (int64_t j = 0; j < cg; j++)
      for (int64_t y = 0; y < b->kh; y++)
        for (int64_t x = 0; x < b->kw; x++)
          w[((o * cg + j) * kh + y + dy) * kw + x + dx] +=
              (float)(sign * vitc_load_f(wv, ((o * cg + j) * b->kh + y) * b->kw + x));
  }
}

static vitc_status merge(vitc_rewriter *rw, vitc_node *sum, branch *br, const vitc_node *conv, vitc_error *err) {
  const vitc_graph *g = rw->g;
  const vitc_value *w0 = &g->tensors[conv->in[1]].v;
  int64_t m = w0->dims[0], cg = w0->dims[1], kh = br[0].kh > br[1].kh ? br[0].kh : br[1].kh;
  int64_t kw = br[0].kw > br[1].kw ? br[0].kw : br[1].kw;
  float *w = calloc((size_t)(m * cg * kh * kw + m), sizeof(float));
  if (!w) return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory merging parallel convs", g->path);
  for (int k = 0; k < 2; k++) add_branch(g, &br[k], k == 1 && sum->op == VITC_OP_Sub ? -1 : 1, m, cg, kh, kw, w, w + m * cg * kh * kw);
  vitc_value wv = {.dtype = VITC_F32, .rank = 4, .dims = {m, cg, kh, kw}, .data = w};
  vitc_value bv = {.dtype = VITC_F32, .rank = 1, .dims = {m}, .data = w + m * cg * kh * kw};
  const char *base = g->tensors[sum->out[0]].name;
  int in[3] = {conv->in[0], vitc_rewrite_constant(rw, base, "merged_weight", &wv, err), -1};
  if (in[1] >= 0) in[2] = vitc_rewrite_constant(rw, base, "merged_bias", &bv, err);
  free(w);
  if (in[1] < 0 || in[2] < 0) return err->status;
  /* the Conv's attributes, with the merged kernel's shape and pads */
  vitc_attr attrs[8];
  int nattr = 0;
  for (int a = 0; a < conv->nattr && nattr < 6; a++)
    if (strcmp(conv->attrs[a].name, "pads") && strcmp(conv->attrs[a].name, "kernel_shape")) attrs[nattr++] = conv->attrs[a];
  int64_t kernel[2] = {kh, kw}, pads[4];
  attrs[nattr++] = (vitc_attr){.name = "kernel_shape", .type = VITC_ATTR_INTS, .n = 2, .ints = kernel};
  attrs[nattr++] = vitc_centred_pads(kh, kw, pads);
  vitc_node *matched[3] = {br[0].node, br[1].node, sum};
  return vitc_rewrite(rw, matched, 3, VITC_OP_Conv, in, 3, sum->out[0], attrs, nattr, err);
}

static vitc_status visit(vitc_rewriter *rw, int i, void *ctx, vitc_error *err) {
  (void)ctx;
  vitc_node *sum = &rw->g->nodes[i];
  branch br[2] = {{0}};
  if ((sum->op != VITC_OP_Add && sum->op != VITC_OP_Sub) || sum->nin != 2 || sum->in[0] == sum->in[1] ||
      !rw->g->tensors[sum->out[0]].shape_known || !match_branch(rw, sum->in[0], sum->out[0], -1, &br[0]) ||
      !match_branch(rw, sum->in[1], sum->out[0], br[0].node->in[0], &br[1]))
    return VITC_OK;
  const vitc_graph *g = rw->g;
  int c = br[0].node->op == VITC_OP_Conv ? 0 : 1; /* the branch whose attributes the merged Conv takes */
  const vitc_node *conv = br[c].node, *other = br[1 - c].node;
  if (conv->op != VITC_OP_Conv) return VITC_OK; /* two BatchNormalizations: lower_batch_norm's affair */
  const vitc_value *w = &g->tensors[conv->in[1]].v;
  int64_t group = vitc_attr_int(conv, "group", 1);
  if (other->op == VITC_OP_Conv) {
    const vitc_value *wo = &g->tensors[other->in[1]].v;
    if (wo->dims[0] != w->dims[0] || wo->dims[1] != w->dims[1] || vitc_attr_int(other, "group", 1) != group ||
        !ints_equal(conv, other, "strides"))
      return VITC_OK;
    return merge(rw, sum, br, conv, err);
  }
  /* the identity: output channel m reads input channel m, so M = C and each group maps its channels to itself */
  int64_t channels = g->tensors[conv->in[0]].v.dims[1];
  if (w->dims[0] != channels || group <= 0 || w->dims[0] / group != w->dims[1]) return VITC_OK;
  br[1 - c].bn_gain = vitc_batch_norm_affine(g, other, channels);
  if (!br[1 - c].bn_gain) return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory merging parallel convs", g->path);
  vitc_status st = merge(rw, sum, br, conv, err);
  free(br[1 - c].bn_gain);
  return st;
}

vitc_status vitc_merge_parallel_convs(vitc_graph *g, vitc_error *err) {
  return vitc_rewrite_each_node(g, "merge_parallel_convs", false, visit, NULL, err);
}

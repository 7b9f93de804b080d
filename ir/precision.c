/* precision.c — which products multiply in bfloat16 (vitc_bf16_product). The evaluator and the backend
 * both ask here, so that they round the same operands.
 *
 * In BF16 precision every product (ops.def's BF16 column) with a constant float32 weight rounds both
 * operands to bfloat16 (8 significant bits: about 0.2% of each product's output, measured on the family
 * models), except two that stay float32 because their error reaches the logits undamped, whatever the
 * model:
 *
 *   image ──(element-wise, movement)──▶ product          the first product sees the input as given:
 *                                                          unnormalised, any offset and scale, and its
 *                                                          error is carried by every later layer
 *   product ──(element-wise, movement)──▶ graph output   the classifier head: nothing after it
 *                                                          normalises its error away
 *
 * Both are one product each on the way in and out (ViT-B/16: the patch embedding and the head are 0.7%
 * of its products' work), so they cost little of bf16's speed.
 *
 * A third kind stays float32: the products that compute an attention's queries or keys when its scores
 * are not scaled down for the length of their sums (amplified_scores, below). Such scores are large, a
 * softmax over them is nearly one-hot, and it passes on the scores' absolute error, which grows with the
 * scores while bfloat16's relative error stays. Measured, it is the projections' rounding that counts
 * there, not the attention's own (DaViT-T below): plausibly because a rounded weight errs alike on every
 * token, which a score's sum over the tokens adds up, while independent roundings of Q's and K's elements
 * average out in it. */
#include <math.h>
#include <stdlib.h>

#include "ir.h"

/* Ops through which a value keeps its scale and its errors: nothing normalises or mixes it. */
static bool passes_error_on(vitc_op op) {
  return vitc_op_has(op, VITC_OPF_ELEMWISE) || vitc_op_has(op, VITC_OPF_MOVE) || vitc_op_has(op, VITC_OPF_VIEW);
}

/* Whether tensor `from` is computed from tensor `target` (target -1: from a graph input) through
 * passes_error_on ops alone: a walk back along producers, each tensor visited once. */
static bool traces_back(const vitc_graph *g, int from, int target) {
  bool *seen = calloc((size_t)g->ntensors, sizeof *seen);
  int *stack = malloc(sizeof(int) * (size_t)g->ntensors);
  bool found = false;
  int top = 0;
  if (!seen || !stack) { /* out of memory: the product keeps float32, never the less accurate choice */
    found = true;
    goto done;
  }
  stack[top++] = from;
  seen[from] = true;
  while (top) {
    int t = stack[--top], p = g->tensors[t].producer;
    if (target >= 0 ? t == target : p < 0 && !g->tensors[t].v.data) {
      found = true;
      break;
    }
    if (p < 0 || !passes_error_on(g->nodes[p].op)) continue;
    const vitc_node *n = &g->nodes[p];
    for (int k = 0; k < n->nin; k++)
      if (n->in[k] >= 0 && !seen[n->in[k]] && !g->tensors[n->in[k]].v.data) {
        seen[n->in[k]] = true;
        stack[top++] = n->in[k];
      }
  }
done:
  free(seen);
  free(stack);
  return found;
}

/* The product n computes a graph output through passes_error_on ops alone (a classifier head). */
static bool feeds_output(const vitc_graph *g, const vitc_node *n) {
  for (int o = 0; o < g->noutputs; o++)
    if (n->out[0] >= 0 && traces_back(g, g->outputs[o], n->out[0])) return true;
  return false;
}

/* Attention's rows of operand x (0 Q, 2 V): its row map's columns (input 5 + x), else the rows of the
 * operand itself; 0 when unknown. */
static int64_t attention_rows(const vitc_graph *g, const vitc_node *n, int x) {
  const vitc_value *v = n->nin > 5 + x && n->in[5 + x] >= 0 ? &g->tensors[n->in[5 + x]].v : NULL;
  if (v) return v->rank == 2 ? v->dims[1] : 0;
  v = &g->tensors[n->in[x]].v;
  return v->rank >= 2 ? v->dims[v->rank - 2] : 0;
}

/* The scale of operand t of an attention's scores beyond the attention's own: walking back through
 * movement ops, the known scalars it was multiplied or divided by where fuse_attention did not take them
 * into the scale (DaViT scales K before transposing it into the Q operand, GC ViT its global query after
 * the head split); ending at a constant (a learnt query with the scale folded in: SigLIP's attention
 * pooling), that constant's root mean square, so that a unit-scale operand gives 1 either way. An operand
 * computed otherwise counts as unit scale, as a normalised token's projection is. */
static double operand_scale(const vitc_graph *g, int t) {
  double f = 1;
  for (int p; t >= 0 && (p = g->tensors[t].producer) >= 0; ) {
    const vitc_node *n = &g->nodes[p];
    int next = -1;
    if (vitc_op_has(n->op, VITC_OPF_MOVE) || vitc_op_has(n->op, VITC_OPF_VIEW)) next = n->in[0];
    else if ((n->op == VITC_OP_Mul || n->op == VITC_OP_Div) && n->nin == 2)
      for (int k = 0; k < 2; k++) {
        const vitc_value *c = n->in[k] >= 0 ? &g->tensors[n->in[k]].v : NULL;
        if (c && c->data && vitc_numel(c) == 1 && vitc_dtype_is_float(c->dtype) && vitc_load_f(c, 0) != 0 &&
            (k == 1 || n->op == VITC_OP_Mul)) {
          f *= n->op == VITC_OP_Mul ? fabs(vitc_load_f(c, 0)) : 1 / fabs(vitc_load_f(c, 0));
          next = n->in[1 - k];
        }
      }
    if (next < 0) return f;
    t = next;
  }
  const vitc_value *v = t >= 0 ? &g->tensors[t].v : NULL;
  if (!v || !v->data || !vitc_dtype_is_float(v->dtype) || !vitc_numel(v)) return f;
  double sq = 0;
  for (int64_t i = 0; i < vitc_numel(v); i++) sq += vitc_load_f(v, i) * vitc_load_f(v, i);
  return f * sqrt(sq / (double)vitc_numel(v));
}

/* Whether attention n's scores are scaled by more than twice 1/√D, D the length of each score's sum:
 * ordinary attention scales by 1/√D (head_dim, or Q's rows' length), which keeps the scores of unit-scale
 * Q and K near unit scale whatever D; the scale here is the attention's times its operands'
 * (operand_scale). Channel attention (DaViT's: the scores are Kᵀ·V over the tokens, D = 49..3136 summed
 * with 1/√(C/H)) is the kind that is not. Measured on DaViT-T (bench/accuracy.c, 100 inputs, one thread):
 * its logits 1.18% of their range off float32 with its channel attentions' qkv products in bf16, 0.68%
 * with them float32 (0.69% with the attentions float32 too, so those stay bf16); by parts, 30 inputs:
 * the qkv products over 3136 tokens alone 1.18 → 0.57%, the attentions alone 0.99%, the window
 * attentions' qkv products 0.76%. The margin of 2 is for scales an export rounds: the families' are
 * 0.25..1.0, DaViT's channel attentions' 9.9, 4.9, 2.5 and 1.2 (49 tokens: its products stay bf16);
 * cosine attention has its own rule (bf16_activations). */
static bool amplified_scores(const vitc_graph *g, const vitc_node *n) {
  if (vitc_attr_int(n, "normalize_qk", 0)) return false;
  const vitc_value *q = &g->tensors[n->in[0]].v;
  int64_t d = vitc_attr_int(n, "head_dim", q->rank ? q->dims[q->rank - 1] : 0);
  return vitc_attr_float(n, "scale", 1) * operand_scale(g, n->in[0]) * operand_scale(g, n->in[1]) * sqrt((double)d) > 2;
}

/* The product n computes the queries or keys (inputs 0, 1) of an attention with amplified_scores through
 * passes_error_on ops alone: the projections feeding its scores. */
static bool feeds_amplified_scores(const vitc_graph *g, const vitc_node *n) {
  for (int a = 0; a < g->nnodes; a++) {
    const vitc_node *att = &g->nodes[a];
    if (!vitc_op_has(att->op, VITC_OPF_BF16_ACTS) || att->nin < 2 || !amplified_scores(g, att)) continue;
    for (int k = 0; k < 2; k++)
      if (att->in[k] >= 0 && n->out[0] >= 0 && traces_back(g, att->in[k], n->out[0])) return true;
  }
  return false;
}

/* An op multiplying activations (BF16_ACTS: Attention's Q·Kᵀ and P·V) rounds Q, K, V and the softmax's
 * probabilities; scale, bias, mask and softmax stay float32. Neither of the two rules above concerns it: no
 * attention sees the image or makes an output, and each block's residual and LayerNorm follow it. Two
 * kinds keep float32:
 *   cosine attention (normalize_qk: Swin V2): its scores are cosines times a learnt logit scale of up to
 *     100, which multiplies their rounding error as much;
 *   fewer keys than queries (PVT's spatial-reduction attention: 3136 queries over 49 keys): each rounded
 *     key and value row is read by every query, so its error does not average out over the tokens. Measured
 *     (bench/accuracy.c, 300 inputs): PVT v2's logits 1.22% → 1.42% of their range with it in bf16, PVT
 *     0.59% → 0.82%; ViT 0.39% → 0.57%, Swin 0.22% → 0.30%, the other families' less;
 *   a QDQ model's attention (grids on its operands): it multiplies grid levels, which float32 sums exactly. */
static bool bf16_activations(const vitc_graph *g, const vitc_node *n) {
  for (int k = 0; k < 3; k++)
    if (k >= n->nin || n->in[k] < 0 || g->tensors[n->in[k]].v.dtype != VITC_F32) return false;
  vitc_qgrid grid[VITC_NGRIDS];
  vitc_attention_grids_of(n, grid);
  for (int x = 0; x < VITC_NGRIDS; x++)
    if (grid[x].on) return false;
  return !vitc_attr_int(n, "normalize_qk", 0) && attention_rows(g, n, 2) >= attention_rows(g, n, 0);
}

/* The weight b of product n is a matrix: rank 2, or a convolution's (BF16_CONV) [M, C, 1, 1] when the conv is a
 * pointwise GEMM of one group. */
static bool weight_is_matrix(const vitc_graph *g, const vitc_node *n, const vitc_value *b) {
  if (!vitc_op_has(n->op, VITC_OPF_BF16_CONV)) return b->rank == 2;
  const vitc_value *in[3] = {&g->tensors[n->in[0]].v, b, n->nin > 2 && n->in[2] >= 0 ? &g->tensors[n->in[2]].v : NULL};
  vitc_conv_geometry p;
  vitc_error err = {0};
  return vitc_conv_geometry_of(n, in, &p, &err) == VITC_OK && p.group == 1 && vitc_conv_pointwise(&p);
}

bool vitc_bf16_product(const vitc_graph *g, const vitc_node *n) {
  if (!g || g->precision != VITC_PRECISION_BF16 || !vitc_op_has(n->op, VITC_OPF_BF16) || n->nin < 2 ||
      n->in[0] < 0 || n->in[1] < 0)
    return false;
  if (vitc_op_has(n->op, VITC_OPF_BF16_ACTS)) return bf16_activations(g, n);
  const vitc_value *a = &g->tensors[n->in[0]].v, *b = &g->tensors[n->in[1]].v;
  if (a->dtype != VITC_F32 || b->dtype != VITC_F32 || !b->data || !weight_is_matrix(g, n, b)) return false;
  return !traces_back(g, n->in[0], -1) && !feeds_output(g, n) && !feeds_amplified_scores(g, n);
}

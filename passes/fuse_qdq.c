/* fuse_qdq — a product of ONNX's QDQ form (what ORT's quantizer writes around MatMul and Gemm) becomes one
 * int8 GEMM:
 *
 *     %q  = QuantizeLinear(%x, s, z)            s a known float32 scalar, z a known int8/uint8 scalar
 *     %a  = DequantizeLinear(%q, s, z)          the same s and z
 *     %b  = DequantizeLinear(W, sw[, 0])        W a known int8 [K, N] ([N, K] under Gemm's transB), sw a
 *                                               scalar or one per column, zero point absent or 0
 *     %y  = MatMul(%a, %b)  or  Gemm(%a, %b[, C]) {transA 0, alpha 1, beta 1}    C a known float32 [N]
 *     %y1 = Add(%y, c)                          optional: c a known float32 [N] (MatMul only)
 *     %y2 = DequantizeLinear(QuantizeLinear(%y1, t, u), t, u)   optional: t, u known scalars
 *     %y3 = Add(%y2, d)                         optional (after %y2 only): d a known float32 [N]
 *                 ─→  %y3 = Int8Gemm(%x, s, z, W as [K, N], sw, C or c, t, u, d)     (absent ones -1)
 *
 * Each tensor of the chain after %y is the only reader of the one before (%y2 may have any readers when
 * the chain stops there). ORT's quantizer puts the Quantize-Dequantize on the product's output and the
 * torch export's bias Add after it, so a linear layer of a QDQ ViT is one node.
 *
 * Int8Gemm (ir/ops/quant.c) quantises %x exactly as the QuantizeLinear does and sums the products of the
 * same integers exactly; only the float rounding of the sums differs from the QDQ graph's. The Q and DQ
 * nodes stay for any other reader (the same %a often feeds the q, k and v products) and are dead
 * otherwise. Runs before fold_constants, while the weight's DequantizeLinear still says W is int8.
 * Products of two run-time tensors (attention's) keep their Q and DQ nodes.
 *
 * A second sweep drops a Quantize-Dequantize that an Int8Gemm repeats after movement alone (the QDQ
 * ViT's attention output: quantised after its product, then head-merged, then quantised again by the
 * out-projection with the same scale and zero point):
 *
 *     %a = DequantizeLinear(QuantizeLinear(%y, s, z), s, z)
 *     %v = Transpose(%a) | Reshape | ..      movement only, each tensor read once, by the next
 *     Int8Gemm(%v, s, z, ..)                 the same s and z      ─→   the movement reads %y
 *
 * Exact: (q - z)·s divided by s rounds back to q - z (|q - z| ≤ 255, the quotient within a few ulp of
 * it), so the Int8Gemm quantises %y's elements to the same integers as %a's. */
#include <stdlib.h>
#include <string.h>

#include "passes/pattern.h"

static bool known_scalar(const vitc_graph *g, int t) {
  return t >= 0 && g->tensors[t].v.data && vitc_numel(&g->tensors[t].v) == 1;
}

/* The activation side: %a = DQ(Q(%x, s, z), s, z) (any readers); *x, *s, *z receive %x and the Q node's s and z. */
static bool quantised_activation(const vitc_rewriter *rw, int a, int *x, int *s, int *z) {
  return vitc_match_fake_quant(rw, a, 0, x, s, z, NULL);
}

/* The weight side: %b = DQ(W, sw[, 0]) with W int8 of 2 dims, its columns (N) along axis `col_axis`; *w
 * and *sw receive W and sw. */
static bool quantised_weight(const vitc_rewriter *rw, int b, int col_axis, int *w, int *sw) {
  const vitc_graph *g = rw->g;
  vitc_node *dq = vitc_match_op(rw, b, VITC_OP_DequantizeLinear);
  if (!dq || !vitc_match_known(g, dq->in[0]) || !vitc_match_known(g, dq->in[1])) return false;
  const vitc_value *wv = &g->tensors[dq->in[0]].v, *sv = &g->tensors[dq->in[1]].v;
  if (wv->dtype != VITC_I8 || wv->rank != 2) return false;
  if (dq->nin > 2 && dq->in[2] >= 0) {
    if (!vitc_match_known(g, dq->in[2])) return false;
    for (int64_t i = 0; i < vitc_numel(&g->tensors[dq->in[2]].v); i++)
      if (vitc_load_i(&g->tensors[dq->in[2]].v, i) != 0) return false;
  }
  int64_t axis = vitc_attr_int(dq, "axis", 1);
  if (vitc_numel(sv) != 1 && (sv->rank != 1 || (axis < 0 ? axis + 2 : axis) != col_axis)) return false;
  *w = dq->in[0], *sw = dq->in[1];
  return true;
}

/* A known float32 vector of n values (any shape of n elements, [N] or [1, N]). */
static bool bias_vector(const vitc_graph *g, int t, int64_t n) {
  const vitc_value *v = t >= 0 ? &g->tensors[t].v : NULL;
  return v && v->data && v->dtype == VITC_F32 && vitc_numel(v) == n && (v->rank < 2 || v->dims[v->rank - 1] == n);
}

/* W as [K, N]: itself, or a transposed copy added as a constant (Gemm's transB). -1 when out of memory. */
static int weight_as_k_by_n(vitc_graph *g, int w, bool transposed) {
  if (!transposed) return w;
  vitc_value v = g->tensors[w].v;
  int64_t n = v.dims[0], k = v.dims[1];
  int8_t *t = malloc((size_t)(n * k) + 1), *src = v.data;
  if (!t) return -1;
  for (int64_t p = 0; p < k; p++)
    for (int64_t j = 0; j < n; j++) t[p * n + j] = src[j * k + p];
  v.dims[0] = k, v.dims[1] = n, v.data = t;
  int id = vitc_graph_add_constant(g, NULL, &v);
  free(t);
  return id;
}

/* The node that alone reads t with op `op`, or NULL. */
static vitc_node *sole_reader(const vitc_rewriter *rw, const int *reader, int t, vitc_op op) {
  if (t < 0 || t >= rw->counted || rw->uses[t] != 1 || reader[t] < 0) return NULL;
  vitc_node *r = &rw->g->nodes[reader[t]];
  return r->op == op && !r->dead ? r : NULL;
}

/* An Add of t and a known float32 vector of n values that alone reads t; *bias receives the vector. */
static vitc_node *bias_add(const vitc_rewriter *rw, const int *reader, int t, int64_t n, int *bias) {
  vitc_node *add = sole_reader(rw, reader, t, VITC_OP_Add);
  if (!add || !bias_vector(rw->g, *bias = vitc_match_other(add, t), n)) return NULL;
  return add;
}

/* Node i, a MatMul or Gemm: rewritten with what follows it when it matches. */
static vitc_status fuse(vitc_rewriter *rw, int i, const int *reader, vitc_error *err) {
  vitc_graph *g = rw->g;
  vitc_node *p = &g->nodes[i];
  bool gemm = p->op == VITC_OP_Gemm, trans_b = gemm && vitc_attr_int(p, "transB", 0);
  if (gemm && (vitc_attr_int(p, "transA", 0) || vitc_attr_float(p, "alpha", 1) != 1 || vitc_attr_float(p, "beta", 1) != 1))
    return VITC_OK;
  int x, s, z, w, sw;
  if (!quantised_activation(rw, p->in[0], &x, &s, &z) || !quantised_weight(rw, p->in[1], trans_b ? 0 : 1, &w, &sw))
    return VITC_OK;
  int64_t n = g->tensors[w].v.dims[trans_b ? 0 : 1];
  int bias = gemm && p->nin > 2 ? p->in[2] : -1, post = -1, out = p->out[0], nmatched = 1, y_scale = -1, y_zp = -1;
  if (bias >= 0 && !bias_vector(g, bias, n)) return VITC_OK;
  vitc_node *matched[5] = {p}, *add = bias < 0 ? bias_add(rw, reader, out, n, &bias) : NULL;
  if (add) out = (matched[nmatched++] = add)->out[0];
  else if (!gemm) bias = -1;
  vitc_node *q = sole_reader(rw, reader, out, VITC_OP_QuantizeLinear), *dq = NULL;
  if (q && q->nin > 2 && known_scalar(g, q->in[1]) && known_scalar(g, q->in[2]) &&
      (dq = sole_reader(rw, reader, q->out[0], VITC_OP_DequantizeLinear)) && dq->nin > 2 &&
      known_scalar(g, dq->in[1]) && known_scalar(g, dq->in[2]) && g->tensors[q->in[2]].v.dtype == g->tensors[dq->in[2]].v.dtype &&
      vitc_load_f(&g->tensors[q->in[1]].v, 0) == vitc_load_f(&g->tensors[dq->in[1]].v, 0) &&
      vitc_load_i(&g->tensors[q->in[2]].v, 0) == vitc_load_i(&g->tensors[dq->in[2]].v, 0)) {
    matched[nmatched++] = q, matched[nmatched++] = dq;
    y_scale = q->in[1], y_zp = q->in[2], out = dq->out[0];
    vitc_node *post_add = bias_add(rw, reader, out, n, &post);
    if (post_add) out = (matched[nmatched++] = post_add)->out[0];
    else post = -1;
  }
  int wk = weight_as_k_by_n(g, w, trans_b);
  if (wk < 0) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory transposing an int8 weight");
  int in[9] = {x, s, z, wk, sw, bias, y_scale, y_zp, post}, nin = 9;
  while (nin > 5 && in[nin - 1] < 0) nin--;
  return vitc_rewrite(rw, matched, nmatched, VITC_OP_Int8Gemm, in, nin, out, NULL, 0, err);
}

/* ctx: the reader of each tensor (vitc_last_readers). */
static vitc_status visit(vitc_rewriter *rw, int i, void *ctx, vitc_error *err) {
  vitc_op op = rw->g->nodes[i].op;
  return op == VITC_OP_MatMul || op == VITC_OP_Gemm ? fuse(rw, i, ctx, err) : VITC_OK;
}

static bool same_scalar(const vitc_graph *g, int a, int b) {
  const vitc_value *x = &g->tensors[a].v, *y = &g->tensors[b].v;
  if (x->dtype != y->dtype) return false;
  return x->dtype == VITC_F32 ? vitc_load_f(x, 0) == vitc_load_f(y, 0) : vitc_load_i(x, 0) == vitc_load_i(y, 0);
}

/* Node i, an Int8Gemm: its input reads around a Quantize-Dequantize it repeats (above). */
static vitc_status skip_requantised_input(vitc_rewriter *rw, int i, void *ctx, vitc_error *err) {
  (void)ctx, (void)err;
  vitc_graph *g = rw->g;
  vitc_node *n = &g->nodes[i];
  int t = n->op == VITC_OP_Int8Gemm ? n->in[0] : -1, first = -1, x, s, z;
  for (int depth = 0; t >= 0 && depth < 64 && !vitc_match_op(rw, t, VITC_OP_DequantizeLinear); depth++) {
    int up = vitc_match_movement_step(g, t);
    if (up == t || rw->uses[t] != 1 || vitc_graph_is_output(g, t)) return VITC_OK;
    first = g->tensors[t].producer;
    t = up;
  }
  if (first < 0 || t < 0 || !quantised_activation(rw, t, &x, &s, &z) || !same_scalar(g, s, n->in[1]) ||
      !same_scalar(g, z, n->in[2]))
    return VITC_OK;
  vitc_node *m = &g->nodes[first];
  for (int k = 0; k < m->nin; k++)
    if (m->in[k] == t) {
      m->in[k] = x;
      rw->uses[t]--, rw->uses[x]++;
    }
  return VITC_OK;
}

vitc_status vitc_fuse_qdq(vitc_graph *g, vitc_error *err) {
  int *reader = vitc_last_readers(g);
  if (!reader) return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory in fuse_qdq", g->path);
  vitc_status st = vitc_rewrite_each_node(g, "fuse_qdq", false, visit, reader, err);
  free(reader);
  /* the activations' Quantize and Dequantize nodes left unread go first: they would count as readers */
  if (st == VITC_OK) st = vitc_eliminate_dead(g, err);
  if (st == VITC_OK) st = vitc_rewrite_each_node(g, "fuse_qdq", false, skip_requantised_input, NULL, err);
  return st;
}

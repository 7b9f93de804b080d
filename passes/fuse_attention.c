/* fuse_attention — scaled dot-product attention becomes one vitc.Attention, whose kernel streams the
 * scores of one query row at a time and never writes the [.., N, N] tensor:
 *
 *     %q' = Mul(%q, c) | Div(%q, c)         optional, c a known scalar (also on K, before or after %kt)
 *     %kt = Transpose(%k) {perm swaps the last two dims}   or any %kt [.., D, Nk]
 *     %s  = MatMul(%q', %kt)
 *     %s' = Mul(%s, c) | Div(%s, c)         optional, c a known scalar
 *     %s" = Add(%s', %bias)                 optional, %bias broadcasting to %s' without growing it
 *     %p  = Softmax(%s") {last axis}
 *     %y  = MatMul(%p, %v)
 *                              ─→  %y = Attention(%q, %k, %v, %bias) {scale = Π c (1/c for Div)}
 *                                       k_transposed = 0 when the Transpose is absorbed, else 1 with %kt
 *
 * Q, K and V must share rank and batch dims (no broadcasting inside the product), all float32. Every
 * tensor between them is read once, by the next node. The head split and merge (Reshape, Transpose)
 * around the pattern stay. */
#include "passes/pattern.h"

typedef struct attn_match {
  vitc_node *nodes[9]; /* PV, Softmax, Add, scores scale, QK, Q scale, K scales either side of Transpose */
  int nnodes;
  int q, k, v, bias;
  bool k_transposed;
  double scale;
} attn_match;

static bool is_f32(const vitc_graph *g, int t) { return t >= 0 && g->tensors[t].shape_known && g->tensors[t].v.dtype == VITC_F32; }

/* t = Mul(x, c) or Div(x, c) with c a known scalar, read once: folds c into m->scale, returns x.
 * Otherwise returns t. */
static int strip_scale(const vitc_rewriter *rw, int t, attn_match *m) {
  vitc_node *n = vitc_match_inner(rw, t, VITC_OP_Mul, 1);
  if (!n) n = vitc_match_inner(rw, t, VITC_OP_Div, 1);
  if (!n) return t;
  double c;
  int x;
  if (n->op == VITC_OP_Div) {
    if (!vitc_match_scalar_value(rw->g, n->in[1], &c) || c == 0) return t;
    x = n->in[0];
    c = 1 / c;
  } else if (vitc_match_scalar_value(rw->g, n->in[1], &c)) {
    x = n->in[0];
  } else if (vitc_match_scalar_value(rw->g, n->in[0], &c)) {
    x = n->in[1];
  } else {
    return t;
  }
  if (!vitc_match_same_type(rw->g, x, t)) return t; /* the scalar must not broadcast x to a larger shape */
  m->scale *= c;
  m->nodes[m->nnodes++] = n;
  return x;
}

/* t is Q·Kᵀ, possibly scaled, and read once: the scores rather than the bias of an Add. */
static bool leads_to_product(const vitc_rewriter *rw, int t) {
  attn_match probe = {.scale = 1};
  return vitc_match_inner(rw, strip_scale(rw, t, &probe), VITC_OP_MatMul, 1) != NULL;
}

/* Q, K, V of one rank >= 2 with equal batch dims. */
static bool same_batch(const vitc_graph *g, const attn_match *m) {
  const vitc_value *q = &g->tensors[m->q].v, *k = &g->tensors[m->k].v, *v = &g->tensors[m->v].v;
  if (q->rank < 2 || k->rank != q->rank || v->rank != q->rank) return false;
  for (int d = 0; d < q->rank - 2; d++)
    if (k->dims[d] != q->dims[d] || v->dims[d] != q->dims[d]) return false;
  return true;
}

/* A Transpose exchanging the last two dims of a rank-r tensor and keeping the others. */
static bool swaps_last_two(const vitc_node *n, int rank) {
  int len;
  const int64_t *perm = vitc_attr_ints(n, "perm", &len);
  if (!perm || len != rank || rank < 2) return false;
  for (int d = 0; d < rank - 2; d++)
    if (perm[d] != d) return false;
  return perm[rank - 2] == rank - 1 && perm[rank - 1] == rank - 2;
}

/* Matches the pattern ending at y = MatMul(%p, %v). */
static bool match_attention(const vitc_rewriter *rw, vitc_node *pv, attn_match *m) {
  const vitc_graph *g = rw->g;
  *m = (attn_match){.nodes = {pv}, .nnodes = 1, .v = pv->in[1], .bias = -1, .scale = 1};
  vitc_node *sm = vitc_match_inner(rw, pv->in[0], VITC_OP_Softmax, 1);
  if (!sm || !is_f32(g, sm->in[0])) return false;
  int rank = g->tensors[sm->in[0]].v.rank, axis = (int)vitc_attr_int(sm, "axis", -1);
  if (axis < 0) axis += rank;
  if (axis != rank - 1) return false;
  m->nodes[m->nnodes++] = sm;
  int s = sm->in[0];
  vitc_node *add = vitc_match_inner(rw, s, VITC_OP_Add, 1);
  if (add) {
    int k = leads_to_product(rw, add->in[0]) ? 0 : 1;
    if (!leads_to_product(rw, add->in[k]) || !vitc_match_same_type(g, add->in[k], s) || !is_f32(g, add->in[1 - k]))
      return false;
    m->bias = add->in[1 - k];
    m->nodes[m->nnodes++] = add;
    s = add->in[k];
  }
  s = strip_scale(rw, s, m);
  vitc_node *qk = vitc_match_inner(rw, s, VITC_OP_MatMul, 1);
  if (!qk) return false;
  m->nodes[m->nnodes++] = qk;
  m->q = strip_scale(rw, qk->in[0], m);
  m->k = strip_scale(rw, qk->in[1], m);
  m->k_transposed = true;
  vitc_node *tr = vitc_match_inner(rw, m->k, VITC_OP_Transpose, 1);
  if (tr && swaps_last_two(tr, g->tensors[m->k].v.rank)) {
    m->nodes[m->nnodes++] = tr;
    m->k = strip_scale(rw, tr->in[0], m);
    m->k_transposed = false;
  }
  return is_f32(g, m->q) && is_f32(g, m->k) && is_f32(g, m->v) && same_batch(g, m);
}

vitc_status vitc_fuse_attention(vitc_graph *g, vitc_error *err) {
  vitc_rewriter rw;
  vitc_status st = vitc_rewriter_begin(&rw, g, "fuse_attention", err);
  if (st != VITC_OK) return st;
  int nn = g->nnodes;
  for (int i = 0; st == VITC_OK && i < nn; i++) {
    vitc_node *n = &g->nodes[i];
    attn_match m;
    if (n->dead || n->op != VITC_OP_MatMul || !match_attention(&rw, n, &m)) continue;
    int in[4] = {m.q, m.k, m.v, m.bias};
    vitc_attr attrs[2] = {{.name = "scale", .type = VITC_ATTR_FLOAT, .f = m.scale},
                          {.name = "k_transposed", .type = VITC_ATTR_INT, .i = m.k_transposed}};
    st = vitc_rewrite(&rw, m.nodes, m.nnodes, VITC_OP_Attention, in, m.bias >= 0 ? 4 : 3, n->out[0], attrs, 2, err);
  }
  vitc_status end = vitc_rewriter_end(&rw, err);
  return st != VITC_OK ? st : end;
}

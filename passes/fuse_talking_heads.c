/* fuse_talking_heads — CaiT's talking-heads attention (timm cait.TalkingHeadAttn) becomes one
 * vitc.TalkingHeads reading the qkv projection's rows and writing the rows the output projection reads:
 *
 *   %t = Transpose(Reshape(%qkv, [B, N, 3, H, Dh])) {perm = [2, 0, 3, 1, 4]}
 *   %q, %k, %v = Gather(%t, 0 | 1 | 2) {axis = 0}
 *   %s = MatMul(Mul(%q, scale), Transpose(%k) {perm = [0, 1, 3, 2]})     (or Mul(MatMul(%q, ..), scale))
 *   %l = FusedGemm(Transpose(%s) {perm = [0, 2, 3, 1]}, Wl, bl)            heads mixed (proj_l)
 *   %w = FusedGemm(Softmax(%l) {axis = 2}, Ww, bw)                         heads mixed (proj_w)
 *   %y = Reshape(Transpose(MatMul(Transpose(%w) {perm = [0, 3, 1, 2]}, %v)) {perm = [0, 2, 1, 3]}, [B, N, H·Dh])
 *                                                          ─→   %y = vitc.TalkingHeads(%qkv, Wl, bl, Ww, bw) {heads, scale}
 *
 * after fuse_gemm_epilogue (the mixing Linears are FusedGemms without epilogue) and fold_softmax_transposes
 * (the Softmax runs over the keys' axis without its Transposes). Every inner tensor is read only inside
 * the pattern; %t by the three Gathers. */
#include <string.h>

#include "passes/pattern.h"

#define MAX_MATCHED 18

typedef struct th_match {
  vitc_node *nodes[MAX_MATCHED];
  int n;
  int qkv, wl, bl, ww, bw, heads;
  double scale;
} th_match;

static vitc_node *keep(th_match *m, vitc_node *n) {
  if (n) m->nodes[m->n++] = n;
  return n;
}

static vitc_node *transpose_of(const vitc_rewriter *rw, int t, int uses, const int64_t *perm, int rank, th_match *m) {
  vitc_node *n = vitc_match_inner(rw, t, VITC_OP_Transpose, uses);
  int len;
  const int64_t *p = n ? vitc_attr_ints(n, "perm", &len) : NULL;
  return p && len == rank && !memcmp(p, perm, sizeof(int64_t) * (size_t)rank) ? keep(m, n) : NULL;
}

/* A FusedGemm by known [H, H] weights and [H] bias, nothing else in its epilogue. */
static vitc_node *head_mixing(const vitc_rewriter *rw, int t, int heads, int *w, int *b, th_match *m) {
  const vitc_graph *g = rw->g;
  vitc_node *n = vitc_match_inner(rw, t, VITC_OP_FusedGemm, 1);
  if (!n || n->nin != 3 || n->in[2] < 0 || strcmp(vitc_attr_str(n, "activation", "none"), "none") ||
      !vitc_match_known(g, n->in[1]) || !vitc_match_known(g, n->in[2]))
    return NULL;
  const vitc_value *wv = &g->tensors[n->in[1]].v, *bv = &g->tensors[n->in[2]].v;
  if (wv->rank != 2 || wv->dims[0] != heads || wv->dims[1] != heads || bv->rank != 1 || bv->dims[0] != heads) return NULL;
  *w = n->in[1];
  *b = n->in[2];
  return keep(m, n);
}

/* Gather(%t, p) {axis = 0}: part p of the qkv layout Transpose t. */
static vitc_node *qkv_gather(const vitc_rewriter *rw, int t, int64_t p) {
  const vitc_graph *g = rw->g;
  vitc_node *gather = vitc_match_inner(rw, t, VITC_OP_Gather, 1);
  if (!gather || vitc_attr_int(gather, "axis", 0) != 0 || !vitc_match_known(g, gather->in[1]) ||
      g->tensors[gather->in[1]].v.rank != 0 || vitc_load_i(&g->tensors[gather->in[1]].v, 0) != p)
    return NULL;
  return gather;
}

/* q = Gather(Transpose(Reshape(qkv)), 0): sets m->qkv and m->heads. */
static bool qkv_query(const vitc_rewriter *rw, int t, th_match *m) {
  static const int64_t perm[5] = {2, 0, 3, 1, 4};
  const vitc_graph *g = rw->g;
  vitc_node *gather = keep(m, qkv_gather(rw, t, 0));
  if (!gather) return false;
  vitc_node *tr = transpose_of(rw, gather->in[0], 3, perm, 5, m), *rs;
  if (!tr || !(rs = keep(m, vitc_match_inner(rw, tr->in[0], VITC_OP_Reshape, 1)))) return false;
  const vitc_value *qkv = &g->tensors[rs->in[0]].v, *split = &g->tensors[rs->out[0]].v;
  if (!g->tensors[rs->in[0]].shape_known || qkv->rank != 3 || split->rank != 5 || split->dims[0] != qkv->dims[0] ||
      split->dims[1] != qkv->dims[1] || split->dims[2] != 3)
    return false;
  m->qkv = rs->in[0];
  m->heads = (int)split->dims[3];
  return true;
}

static bool match(const vitc_rewriter *rw, vitc_node *out, th_match *m) {
  static const int64_t back[4] = {0, 2, 1, 3}, heads_first[4] = {0, 3, 1, 2}, heads_last[4] = {0, 2, 3, 1},
                       keys_t[4] = {0, 1, 3, 2};
  const vitc_graph *g = rw->g;
  m->n = 0;
  keep(m, out);
  vitc_node *t6 = transpose_of(rw, out->in[0], 1, back, 4, m), *mm1, *t5, *fw, *sm, *fl, *t2, *mm0, *mul, *t1;
  if (!t6 || !(mm1 = keep(m, vitc_match_inner(rw, t6->in[0], VITC_OP_MatMul, 1))) ||
      !(t5 = transpose_of(rw, mm1->in[0], 1, heads_first, 4, m)))
    return false;
  int heads = (int)g->tensors[t5->out[0]].v.dims[1];
  if (!(fw = head_mixing(rw, t5->in[0], heads, &m->ww, &m->bw, m)) ||
      !(sm = keep(m, vitc_match_inner(rw, fw->in[0], VITC_OP_Softmax, 1))))
    return false;
  int64_t axis = vitc_attr_int(sm, "axis", -1);
  if ((axis != 2 && axis != -2) || !(fl = head_mixing(rw, sm->in[0], heads, &m->wl, &m->bl, m)) ||
      !(t2 = transpose_of(rw, fl->in[0], 1, heads_last, 4, m)))
    return false;
  /* the scale on q or on the product */
  int scores = t2->in[0], q;
  if ((mul = vitc_match_inner(rw, scores, VITC_OP_Mul, 1))) {
    int k = vitc_match_scalar_value(g, mul->in[1], &m->scale) ? 0 : 1;
    if (!vitc_match_scalar_value(g, mul->in[1 - k], &m->scale) || !(mm0 = vitc_match_inner(rw, mul->in[k], VITC_OP_MatMul, 1)))
      return false;
    keep(m, mul);
    keep(m, mm0);
    q = mm0->in[0];
  } else {
    if (!(mm0 = keep(m, vitc_match_inner(rw, scores, VITC_OP_MatMul, 1))) ||
        !(mul = keep(m, vitc_match_inner(rw, mm0->in[0], VITC_OP_Mul, 1))))
      return false;
    int k = vitc_match_scalar_value(g, mul->in[1], &m->scale) ? 0 : 1;
    if (!vitc_match_scalar_value(g, mul->in[1 - k], &m->scale)) return false;
    q = mul->in[k];
  }
  if (!(t1 = transpose_of(rw, mm0->in[1], 1, keys_t, 4, m)) || !qkv_query(rw, q, m) || m->heads != heads)
    return false;
  int t_qkv = m->nodes[m->n - 2]->out[0]; /* the layout Transpose qkv_query kept */
  vitc_node *gk = keep(m, qkv_gather(rw, t1->in[0], 1)), *gv = keep(m, qkv_gather(rw, mm1->in[1], 2));
  if (!gk || !gv || gk->in[0] != t_qkv || gv->in[0] != t_qkv) return false;
  const vitc_value *y = &g->tensors[out->out[0]].v, *qkv = &g->tensors[m->qkv].v;
  return y->rank == 3 && y->dims[0] == qkv->dims[0] && y->dims[1] == qkv->dims[1] && 3 * y->dims[2] == qkv->dims[2];
}

static vitc_status visit(vitc_rewriter *rw, int i, void *ctx, vitc_error *err) {
  (void)ctx;
  vitc_node *out = &rw->g->nodes[i];
  th_match m;
  if (out->op != VITC_OP_Reshape || !match(rw, out, &m)) return VITC_OK;
  int in[5] = {m.qkv, m.wl, m.bl, m.ww, m.bw};
  vitc_attr attrs[2] = {{.name = "heads", .type = VITC_ATTR_INT, .i = m.heads},
                        {.name = "scale", .type = VITC_ATTR_FLOAT, .f = m.scale}};
  return vitc_rewrite(rw, m.nodes, m.n, VITC_OP_TalkingHeads, in, 5, out->out[0], attrs, 2, err);
}

vitc_status vitc_fuse_talking_heads(vitc_graph *g, vitc_error *err) {
  return vitc_rewrite_each_node(g, "fuse_talking_heads", true, visit, NULL, err);
}

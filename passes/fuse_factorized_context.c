/* fuse_factorized_context — the first product of CoaT's factorized attention (timm
 * coat.FactoratAttnConvRelPosEnc: k.softmax(dim=2), then k_softmaxᵀ · v) becomes one vitc.FactorizedContext,
 * the softmax over the tokens computed while the product reads k:
 *
 *   %p = Softmax(%k) {axis = rank-2}                (over the tokens)
 *   %t = Transpose(%p) {perm = [.., rank-1, rank-2]}  (the last two dims swapped)
 *   %y = MatMul(%t, %v)                             ─→   %y = vitc.FactorizedContext(%k, %v)
 *
 * %p and %t are read only inside the pattern; %k and %v have the same leading dims (no broadcasting). */
#include "passes/pattern.h"

/* Transpose n swaps the last two of its rank dims and keeps the others. */
static bool swaps_last_two(const vitc_node *n, int rank) {
  int len;
  const int64_t *perm = vitc_attr_ints(n, "perm", &len);
  if (!perm || len != rank) return false;
  for (int d = 0; d < rank - 2; d++)
    if (perm[d] != d) return false;
  return perm[rank - 2] == rank - 1 && perm[rank - 1] == rank - 2;
}

static vitc_status visit(vitc_rewriter *rw, int i, void *ctx, vitc_error *err) {
  (void)ctx;
  const vitc_graph *g = rw->g;
  vitc_node *mm = &g->nodes[i], *tr, *sm;
  if (mm->op != VITC_OP_MatMul || !(tr = vitc_match_inner(rw, mm->in[0], VITC_OP_Transpose, 1)) ||
      !(sm = vitc_match_inner(rw, tr->in[0], VITC_OP_Softmax, 1)) || !g->tensors[sm->in[0]].shape_known ||
      !g->tensors[mm->in[1]].shape_known)
    return VITC_OK;
  const vitc_value *k = &g->tensors[sm->in[0]].v, *v = &g->tensors[mm->in[1]].v;
  int64_t axis = vitc_attr_int(sm, "axis", -1);
  if (k->rank < 2 || (axis != k->rank - 2 && axis != -2) || !swaps_last_two(tr, k->rank) || v->rank != k->rank)
    return VITC_OK;
  for (int d = 0; d < k->rank - 1; d++)
    if (k->dims[d] != v->dims[d]) return VITC_OK;
  vitc_node *matched[3] = {sm, tr, mm};
  int in[2] = {sm->in[0], mm->in[1]};
  return vitc_rewrite(rw, matched, 3, VITC_OP_FactorizedContext, in, 2, mm->out[0], NULL, 0, err);
}

vitc_status vitc_fuse_factorized_context(vitc_graph *g, vitc_error *err) {
  return vitc_rewrite_each_node(g, "fuse_factorized_context", false, visit, NULL, err);
}

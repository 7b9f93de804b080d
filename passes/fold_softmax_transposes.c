/* fold_softmax_transposes — a Softmax between a Transpose and its inverse normalises one axis of the
 * untransposed tensor, so it can read that tensor along the axis instead of the two copies:
 *
 *     %a = Transpose(%x) {perm p}
 *     %s = Softmax(%a) {axis}               also LogSoftmax, Hardmax; one axis (opset >= 13)
 *     %y = Transpose(%s) {perm q}           q undoes p: p[q[j]] = j
 *                               ─→  %y = Softmax(%x) {axis = p[axis]}
 *
 * CaiT's talking heads mix heads with a FusedGemm over the last dim before and after the Softmax, so the
 * export moves the heads last for each mix and first again for the Softmax: [B, H, N, N] → [B, N, N, H]
 * → mix → back → Softmax → forth → mix. The Softmax then runs along axis 2 of [B, N, N, H], the H
 * columns as the lanes of a vector (backend/emit_reduce.c). %a and %s must be read only inside the
 * pattern. */
#include "passes/pattern.h"

/* Transpose n's perm, of length rank, or NULL. */
static const int64_t *perm_of(const vitc_node *n, int rank) {
  int len;
  const int64_t *perm = vitc_attr_ints(n, "perm", &len);
  return perm && len == rank ? perm : NULL;
}

/* The live softmax-family node computing t, read once. */
static vitc_node *match_softmax(const vitc_rewriter *rw, int t) {
  static const vitc_op family[] = {VITC_OP_Softmax, VITC_OP_LogSoftmax, VITC_OP_Hardmax};
  vitc_node *s = NULL;
  for (int k = 0; !s && k < 3; k++) s = vitc_match_inner(rw, t, family[k], 1);
  return s;
}

/* Matches the pattern ending at %y = back(%s); fills nodes[3] and returns the axis of %x the softmax
 * runs along, or -1. */
static int match_folded(const vitc_rewriter *rw, vitc_node *back, vitc_node **nodes) {
  const vitc_graph *g = rw->g;
  vitc_node *s = match_softmax(rw, back->in[0]);
  if (!s || s->opset < 13 || g->opset < 13) return -1; /* older Softmax flattens from axis on */
  vitc_node *front = vitc_match_inner(rw, s->in[0], VITC_OP_Transpose, 1);
  if (!front || !g->tensors[front->in[0]].shape_known) return -1;
  int rank = g->tensors[front->in[0]].v.rank, axis = (int)vitc_attr_int(s, "axis", -1);
  const int64_t *p = perm_of(front, rank), *q = perm_of(back, rank);
  if (axis < 0) axis += rank;
  if (!p || !q || axis < 0 || axis >= rank) return -1;
  for (int j = 0; j < rank; j++)
    if (q[j] < 0 || q[j] >= rank || p[q[j]] != j) return -1;
  nodes[0] = back;
  nodes[1] = s;
  nodes[2] = front;
  return (int)p[axis];
}

static vitc_status visit(vitc_rewriter *rw, int i, void *ctx, vitc_error *err) {
  (void)ctx;
  vitc_node *n = &rw->g->nodes[i], *nodes[3];
  int axis = n->op == VITC_OP_Transpose ? match_folded(rw, n, nodes) : -1;
  if (axis < 0) return VITC_OK;
  int x = nodes[2]->in[0];
  vitc_attr a = {.name = "axis", .type = VITC_ATTR_INT, .i = axis};
  return vitc_rewrite(rw, nodes, 3, nodes[1]->op, &x, 1, n->out[0], &a, 1, err);
}

vitc_status vitc_fold_softmax_transposes(vitc_graph *g, vitc_error *err) {
  return vitc_rewrite_each_node(g, "fold_softmax_transposes", false, visit, NULL, err);
}

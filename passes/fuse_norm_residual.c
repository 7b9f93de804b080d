/* fuse_norm_residual — a post-norm block's residual join (Swin V2: x + norm(f(x))) adds its residual
 * while the LayerNorm writes, instead of reading the normalised tensor again:
 *
 *     %n = LayerNormalization(%x, %scale, %bias) {axis, epsilon}     Mean, InvStdDev unused
 *     %y = Add(%r, %n)   or Add(%n, %r)                              %r of %n's dtype and shape, or
 *                                                                    its shape with leading dims 1 that
 *                                                                    repeat whole rows (PVT's position
 *                                                                    embedding at batch N)
 *                               ─→  %y = LayerNormResidual(%x, %scale, %bias, %r) {axis, epsilon}
 *
 * %n must be read only by the Add. It runs after fuse_gemm_epilogue, which takes an Add that follows a
 * matrix product as that product's residual first. */
#include "passes/pattern.h"

/* The LayerNormalization computing t, read once, with scale and bias and no other output read. */
static vitc_node *match_norm(const vitc_rewriter *rw, int t) {
  vitc_node *ln = vitc_match_inner(rw, t, VITC_OP_LayerNormalization, 1);
  if (!ln || ln->nin != 3 || ln->in[1] < 0 || ln->in[2] < 0) return NULL;
  for (int k = 1; k < ln->nout; k++)
    if (ln->out[k] >= 0 && rw->uses[ln->out[k]] > 0) return NULL;
  return ln;
}

/* The elements ln normalises together: the dims from its axis on (0 for an axis out of range). */
static int64_t row_length(const vitc_graph *g, const vitc_node *ln) {
  const vitc_value *x = &g->tensors[ln->in[0]].v;
  int64_t axis = vitc_attr_int(ln, "axis", -1), row = 1;
  if (axis < 0) axis += x->rank;
  if (axis < 0 || axis >= x->rank) return 0;
  for (int d = (int)axis; d < x->rank; d++) row *= x->dims[d];
  return row;
}

static vitc_status visit(vitc_rewriter *rw, int i, void *ctx, vitc_error *err) {
  (void)ctx;
  const vitc_graph *g = rw->g;
  vitc_node *add = &rw->g->nodes[i];
  if (add->op != VITC_OP_Add) return VITC_OK;
  int k = match_norm(rw, add->in[0]) ? 0 : 1;
  vitc_node *ln = match_norm(rw, add->in[k]);
  int r = add->in[1 - k];
  if (!ln || !vitc_match_same_type(g, ln->out[0], add->out[0]) ||
      !vitc_match_repeats(g, r, ln->out[0], row_length(g, ln)))
    return VITC_OK;
  int in[4] = {ln->in[0], ln->in[1], ln->in[2], r};
  vitc_attr attrs[2] = {{.name = "axis", .type = VITC_ATTR_INT, .i = vitc_attr_int(ln, "axis", -1)},
                        {.name = "epsilon", .type = VITC_ATTR_FLOAT, .f = vitc_attr_float(ln, "epsilon", 1e-5)}};
  vitc_node *nodes[2] = {add, ln};
  return vitc_rewrite(rw, nodes, 2, VITC_OP_LayerNormResidual, in, 4, add->out[0], attrs, 2, err);
}

vitc_status vitc_fuse_norm_residual(vitc_graph *g, vitc_error *err) {
  return vitc_rewrite_each_node(g, "fuse_norm_residual", false, visit, NULL, err);
}

/* fuse_swiglu — the gated MLP of EVA-02 (and timm's GluMlp), once recompose_gelu has made its Silu:
 *
 *   %g, %v = Split(%x) {axis = last}          or   %g = Slice(%x, 0, H, last)
 *                                                  %v = Slice(%x, H, 2H, last)
 *   %y = Mul(Silu(%g), %v)                   ─→   %y = vitc.SwiGLU(%x) {silu_half}
 *
 * %x is [.., 2H] and each half [.., H]; silu_half says which half the Silu reads (0 first, 1 second), so
 * Silu(second) · first fuses too, keeping its order. The halves, the Silu and the Split or Slices must be
 * read only inside the pattern; the Mul in either operand order, without broadcasting. */
#include "passes/pattern.h"

/* A known single int64 input k of n, or def when the input is absent; false when present but not known. */
static bool known_int(const vitc_graph *g, const vitc_node *n, int k, int64_t def, int64_t *out) {
  if (k >= n->nin || n->in[k] < 0) {
    *out = def;
    return true;
  }
  const vitc_value *v = &g->tensors[n->in[k]].v;
  if (!v->data || vitc_dtype_is_float(v->dtype) || vitc_numel(v) != 1) return false;
  *out = vitc_load_i(v, 0);
  return true;
}

/* Which half of the last dim of its input t is (0, 1, or -1 for neither), its producer in *p and that
 * input in *x. */
static int half_of(const vitc_rewriter *rw, int t, vitc_node **p, int *x) {
  const vitc_graph *g = rw->g;
  vitc_node *split = vitc_match_inner(rw, t, VITC_OP_Split, 1), *slice = vitc_match_inner(rw, t, VITC_OP_Slice, 1);
  *p = split ? split : slice;
  if (!*p || !g->tensors[t].shape_known || !g->tensors[(*p)->in[0]].shape_known) return -1;
  *x = (*p)->in[0];
  const vitc_value *in = &g->tensors[*x].v;
  int last = in->rank - 1;
  if (last < 0 || in->dims[last] % 2 || g->tensors[t].v.dims[last] != in->dims[last] / 2) return -1;
  int64_t h = in->dims[last] / 2, axis, start, step;
  if (split) {
    axis = vitc_attr_int(split, "axis", 0);
    if (split->nout != 2 || (axis != last && axis != -1)) return -1;
    return split->out[0] == t ? 0 : 1;
  }
  if (!known_int(g, slice, 3, 0, &axis) || !known_int(g, slice, 4, 1, &step) || !known_int(g, slice, 1, 0, &start))
    return -1;
  if ((axis != last && axis != -1) || step != 1) return -1;
  if (start < 0) start += 2 * h;
  return start == 0 ? 0 : start == h ? 1 : -1;
}

static vitc_status visit(vitc_rewriter *rw, int i, void *ctx, vitc_error *err) {
  (void)ctx;
  const vitc_graph *g = rw->g;
  vitc_node *y = &rw->g->nodes[i];
  for (int k = 0; y->op == VITC_OP_Mul && k < 2; k++) {
    vitc_node *silu = vitc_match_inner(rw, y->in[k], VITC_OP_Silu, 1), *pg, *pv;
    int xg = -1, xv = -2;
    int hg = silu ? half_of(rw, silu->in[0], &pg, &xg) : -1, hv = silu ? half_of(rw, y->in[1 - k], &pv, &xv) : -1;
    if (hg < 0 || hv != 1 - hg || xg != xv || !vitc_match_same_type(g, y->out[0], silu->in[0]) ||
        !vitc_match_same_type(g, y->out[0], y->in[1 - k]))
      continue;
    vitc_node *matched[4] = {y, silu, pg, pv};
    vitc_attr attr = {.name = "silu_half", .type = VITC_ATTR_INT, .i = hg};
    return vitc_rewrite(rw, matched, pg == pv ? 3 : 4, VITC_OP_SwiGLU, &xg, 1, y->out[0], &attr, 1, err);
  }
  return VITC_OK;
}

vitc_status vitc_fuse_swiglu(vitc_graph *g, vitc_error *err) {
  return vitc_rewrite_each_node(g, "fuse_swiglu", true, visit, NULL, err);
}

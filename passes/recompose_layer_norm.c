/* recompose_layer_norm — LayerNorm as exporters decompose it (opset < 17) back into one node.
 *
 *     %m = ReduceMean(%x, axes)
 *     %d = Sub(%x, %m)
 *     %q = Pow(%d, 2)             or Mul(%d, %d)
 *     %v = ReduceMean(%q, axes)
 *     %e = Add(%v, eps)
 *     %s = Sqrt(%e)
 *     %n = Div(%d, %s)            or Mul(%d, Reciprocal(%s))
 *     %t = Mul(%n, %w)            optional
 *     %y = Add(%t, %b)            optional          ─→   %y = LayerNormalization(%x, %w, %b)
 *                                                               {axis = first of axes, epsilon = eps}
 *
 * axes must be the trailing axes of x (any spelling: [-1], [2] of a rank-3 x, [-2, -1]) with keepdims,
 * the same for both means, and the Sub must subtract the mean of the very x it reads. %w and %b are
 * folded in when they are known and vary along the normalised axes only; without %w the node gets a
 * scale of ones (ONNX's LayerNormalization requires one). Every inner tensor must be read only inside
 * the pattern. Binary ops match in either operand order.
 *
 * recompose_rms_norm (run after, so a LayerNorm is never taken for the RMSNorm of its centred x):
 *
 *     %q = Pow(%x, 2)             or Mul(%x, %x)
 *     %v = ReduceMean(%q, [-1])   the last axis only, keepdims
 *     %e = Add(%v, eps)
 *     %s = Sqrt(%e)
 *     %n = Div(%x, %s)            or Mul(%x, Reciprocal(%s))
 *     %y = Mul(%n, %w)            optional     ─→   %y = vitc.RMSNorm(%x, %w) {epsilon = eps}
 *
 * %w as a LayerNorm scale, varying along the last axis only (one value or one per element of it). */
#include <stdlib.h>

#include "passes/pattern.h"

#define MAX_MATCHED 12

typedef struct ln_match {
  vitc_node *nodes[MAX_MATCHED];
  int nnodes;
  int x, axis;
  double eps;
  int scale, bias; /* -1 when absent */
} ln_match;

static void take(ln_match *lm, vitc_node *n) { lm->nodes[lm->nnodes++] = n; }

/* The node computing t with op: read exactly `uses` times when uses >= 0, any number of times
 * otherwise (the tensor the whole pattern computes). */
static vitc_node *node_of(const vitc_rewriter *rw, int t, vitc_op op, int uses) {
  return uses < 0 ? vitc_match_op(rw, t, op) : vitc_match_inner(rw, t, op, uses);
}

/* The first reduced axis when ReduceMean r keeps dims and reduces exactly the trailing axes of its
 * input (all of them when axes are absent or empty); -1 otherwise. */
static int trailing_axis(const vitc_graph *g, const vitc_node *r) {
  int rank = g->tensors[r->in[0]].v.rank, axes = r->nin > 1 ? r->in[1] : -1;
  if (!vitc_attr_int(r, "keepdims", 1) || rank == 0) return -1;
  if (axes >= 0 && (!vitc_match_known(g, axes) || vitc_dtype_is_float(g->tensors[axes].v.dtype))) return -1;
  int64_t n = axes >= 0 ? vitc_numel(&g->tensors[axes].v) : 0;
  if (n == 0) return vitc_attr_int(r, "noop_with_empty_axes", 0) ? -1 : 0;
  if (n > rank) return -1;
  bool reduced[VITC_MAX_RANK] = {false};
  for (int64_t i = 0; i < n; i++) {
    int64_t a = vitc_load_i(&g->tensors[axes].v, i);
    if (a < 0) a += rank;
    if (a < 0 || a >= rank || reduced[a]) return -1;
    reduced[a] = true;
  }
  for (int d = rank - (int)n; d < rank; d++)
    if (!reduced[d]) return -1;
  return rank - (int)n;
}

/* Whether known p, applied by a node whose output `out` keeps x's type, varies along the normalised axes
 * only: what a LayerNormalization scale or bias may do. */
static bool is_norm_param(const vitc_graph *g, int p, const ln_match *lm, int out) {
  if (!vitc_match_known(g, p) || !vitc_match_same_type(g, out, lm->x)) return false;
  const vitc_value *pv = &g->tensors[p].v, *xv = &g->tensors[lm->x].v;
  if (pv->dtype != xv->dtype) return false;
  for (int i = 0; i < pv->rank; i++)
    if (xv->rank - pv->rank + i < lm->axis && pv->dims[i] != 1) return false;
  return true;
}

/* %q = Pow(%d, 2) or Mul(%d, %d); returns the node and in *d_uses how often it reads %d. */
static vitc_node *match_square(const vitc_rewriter *rw, int q, int d, int *d_uses) {
  vitc_node *n = vitc_match_inner(rw, q, VITC_OP_Pow, 1);
  if (n && n->in[0] == d && vitc_match_scalar(rw->g, n->in[1], 2)) {
    *d_uses = 1;
    return n;
  }
  n = vitc_match_inner(rw, q, VITC_OP_Mul, 1);
  *d_uses = 2;
  return n && n->in[0] == d && n->in[1] == d ? n : NULL;
}

/* %d = Sub(%x, ReduceMean(%x, axes)), read `uses` times; the normalised axis into lm. */
static bool match_centered(const vitc_rewriter *rw, int d, int uses, ln_match *lm) {
  vitc_node *sub = vitc_match_inner(rw, d, VITC_OP_Sub, uses);
  vitc_node *mean = sub ? vitc_match_inner(rw, sub->in[1], VITC_OP_ReduceMean, 1) : NULL;
  if (!mean || mean->in[0] != sub->in[0] || (lm->axis = trailing_axis(rw->g, mean)) < 0) return false;
  lm->x = sub->in[0];
  take(lm, sub);
  take(lm, mean);
  return true;
}

/* t = Div(%d, Sqrt(Add(ReduceMean(%q), eps))) or Mul(%d, Reciprocal(Sqrt(...))): those nodes into lm, eps
 * into lm->eps and %d into *d; returns the ReduceMean, or NULL when t is not that. */
static vitc_node *match_inv_rms(const vitc_rewriter *rw, int t, int uses, ln_match *lm, int *d) {
  const vitc_graph *g = rw->g;
  vitc_node *top = node_of(rw, t, VITC_OP_Div, uses), *rcp = NULL, *sqrt = NULL;
  *d = -1;
  if (top) {
    *d = top->in[0];
    sqrt = vitc_match_inner(rw, top->in[1], VITC_OP_Sqrt, 1);
  } else if ((top = node_of(rw, t, VITC_OP_Mul, uses))) {
    for (int k = 0; k < 2 && !rcp; k++)
      if ((rcp = vitc_match_inner(rw, top->in[k], VITC_OP_Reciprocal, 1))) *d = top->in[1 - k];
    sqrt = rcp ? vitc_match_inner(rw, rcp->in[0], VITC_OP_Sqrt, 1) : NULL;
  }
  vitc_node *add = sqrt ? vitc_match_inner(rw, sqrt->in[0], VITC_OP_Add, 1) : NULL, *var = NULL;
  for (int k = 0; add && k < 2 && !var; k++)
    if (vitc_match_scalar_value(g, add->in[1 - k], &lm->eps))
      var = vitc_match_inner(rw, add->in[k], VITC_OP_ReduceMean, 1);
  if (!var || !vitc_match_same_type(g, add->out[0], var->out[0])) return NULL;
  take(lm, top);
  if (rcp) take(lm, rcp);
  take(lm, sqrt);
  take(lm, add);
  take(lm, var);
  return var;
}

/* t = %d / sqrt(ReduceMean(%d²) + eps) with %d = x - ReduceMean(x), both means over the same trailing axes. */
static bool match_normalised(const vitc_rewriter *rw, int t, int uses, ln_match *lm) {
  const vitc_graph *g = rw->g;
  int d, d_uses;
  vitc_node *var = match_inv_rms(rw, t, uses, lm, &d);
  vitc_node *square = var ? match_square(rw, var->in[0], d, &d_uses) : NULL;
  if (!square || !match_centered(rw, d, d_uses + 1, lm)) return false;
  if (trailing_axis(g, var) != lm->axis || !vitc_match_same_type(g, t, lm->x)) return false;
  if (!vitc_dtype_is_float(g->tensors[lm->x].v.dtype)) return false;
  take(lm, square);
  return true;
}

/* t = x / sqrt(ReduceMean(x², last axis) + eps): RMSNorm, x read any number of times. */
static bool match_rms_normalised(const vitc_rewriter *rw, int t, int uses, ln_match *lm) {
  const vitc_graph *g = rw->g;
  int d_uses;
  vitc_node *var = match_inv_rms(rw, t, uses, lm, &lm->x);
  vitc_node *square = var ? match_square(rw, var->in[0], lm->x, &d_uses) : NULL;
  if (!square || !vitc_match_same_type(g, t, lm->x) || !vitc_dtype_is_float(g->tensors[lm->x].v.dtype)) return false;
  lm->axis = g->tensors[lm->x].v.rank - 1;
  if (lm->axis < 0 || trailing_axis(g, var) != lm->axis) return false;
  take(lm, square);
  return true;
}

typedef bool (*normalised_fn)(const vitc_rewriter *rw, int t, int uses, ln_match *lm);

/* t = Mul(normalised, %w) with %w a norm parameter, or the normalised tensor itself. */
static bool match_scaled(const vitc_rewriter *rw, int t, int uses, ln_match *lm, normalised_fn normalised) {
  vitc_node *mul = node_of(rw, t, VITC_OP_Mul, uses);
  for (int k = 0; mul && k < 2; k++) {
    lm->nnodes = 0;
    if (normalised(rw, mul->in[k], 1, lm) && is_norm_param(rw->g, mul->in[1 - k], lm, t)) {
      lm->scale = mul->in[1 - k];
      take(lm, mul);
      return true;
    }
  }
  lm->nnodes = 0;
  return normalised(rw, t, uses, lm);
}

/* The longest pattern ending at node a: with a bias, with a scale, or the normalisation alone. */
static bool match_layer_norm(const vitc_rewriter *rw, vitc_node *a, ln_match *lm) {
  *lm = (ln_match){.scale = -1, .bias = -1};
  for (int k = 0; a->op == VITC_OP_Add && k < 2; k++) {
    lm->scale = -1;
    if (match_scaled(rw, a->in[k], 1, lm, match_normalised) && is_norm_param(rw->g, a->in[1 - k], lm, a->out[0])) {
      lm->bias = a->in[1 - k];
      take(lm, a);
      return true;
    }
  }
  lm->scale = -1;
  return match_scaled(rw, a->out[0], -1, lm, match_normalised);
}

/* A scale of ones over the normalised dims x[axis:]. */
static int add_unit_scale(vitc_rewriter *rw, const ln_match *lm, vitc_error *err) {
  const vitc_value *x = &rw->g->tensors[lm->x].v;
  vitc_value ones = {.dtype = x->dtype, .rank = x->rank - lm->axis};
  for (int d = 0; d < ones.rank; d++) ones.dims[d] = x->dims[lm->axis + d];
  size_t bytes = vitc_nbytes(&ones);
  if (!(ones.data = malloc(bytes ? bytes : 1))) {
    vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory for a LayerNormalization scale", rw->g->path);
    return -1;
  }
  for (int64_t i = 0; i < vitc_numel(&ones); i++) vitc_store_f(&ones, i, 1.0);
  int id = vitc_rewrite_constant(rw, rw->g->tensors[lm->x].name, "ln_scale", &ones, err);
  free(ones.data);
  return id;
}

static vitc_status rewrite_layer_norm(vitc_rewriter *rw, ln_match *lm, int y, vitc_error *err) {
  if (lm->scale < 0 && (lm->scale = add_unit_scale(rw, lm, err)) < 0) return err->status;
  int in[3] = {lm->x, lm->scale, lm->bias};
  vitc_attr attrs[2] = {{.name = "axis", .type = VITC_ATTR_INT, .i = lm->axis},
                        {.name = "epsilon", .type = VITC_ATTR_FLOAT, .f = lm->eps}};
  return vitc_rewrite(rw, lm->nodes, lm->nnodes, VITC_OP_LayerNormalization, in, lm->bias >= 0 ? 3 : 2, y, attrs, 2,
                      err);
}

static vitc_status visit_layer_norm(vitc_rewriter *rw, int i, void *ctx, vitc_error *err) {
  (void)ctx;
  ln_match lm;
  vitc_node *n = &rw->g->nodes[i];
  return n->nout == 1 && match_layer_norm(rw, n, &lm) ? rewrite_layer_norm(rw, &lm, n->out[0], err) : VITC_OK;
}

/* Backwards, so the node applying the bias is seen before the normalisation it ends. */
vitc_status vitc_recompose_layer_norm(vitc_graph *g, vitc_error *err) {
  return vitc_rewrite_each_node(g, "recompose_layer_norm", true, visit_layer_norm, NULL, err);
}

/* The RMSNorm ending at node a: with a scale, or the normalisation alone. */
static bool match_rms_norm(const vitc_rewriter *rw, const vitc_node *a, ln_match *lm) {
  *lm = (ln_match){.scale = -1, .bias = -1};
  return match_scaled(rw, a->out[0], -1, lm, match_rms_normalised);
}

static vitc_status visit_rms_norm(vitc_rewriter *rw, int i, void *ctx, vitc_error *err) {
  (void)ctx;
  ln_match lm;
  vitc_node *n = &rw->g->nodes[i];
  if (n->nout != 1 || !match_rms_norm(rw, n, &lm)) return VITC_OK;
  int in[2] = {lm.x, lm.scale};
  vitc_attr eps = {.name = "epsilon", .type = VITC_ATTR_FLOAT, .f = lm.eps};
  return vitc_rewrite(rw, lm.nodes, lm.nnodes, VITC_OP_RMSNorm, in, lm.scale >= 0 ? 2 : 1, n->out[0], &eps, 1, err);
}

/* Backwards, so the node applying the scale is seen before the normalisation it ends. */
vitc_status vitc_recompose_rms_norm(vitc_graph *g, vitc_error *err) {
  return vitc_rewrite_each_node(g, "recompose_rms_norm", true, visit_rms_norm, NULL, err);
}

/* fuse_swiglu_linears — the gated MLP as timm's SwiGLU writes it (EVA-02): two Linears of the same input,
 * one gated by the Silu of the other, become one Linear of twice the width and a SwiGLU:
 *
 *   %g = Add(MatMul(%x, Wg), bg)                        %h = Add(MatMul(%x, [Wg | Wx]), [bg | bx])
 *   %v = Add(MatMul(%x, Wx), bx)                 ─→    %y = vitc.SwiGLU(%h) {silu_half = 0}
 *   %y = Mul(Silu(%g), %v)
 *
 * Wg and Wx known [D, H], bg and bx known [H] (or both biases absent), the Mul and Adds in either operand
 * order; fuse_gemm_epilogue then makes the MatMul and Add one FusedGemm, so x is read once and the two
 * products run as one GEMM of 2H columns. Inner tensors are read only inside the pattern. */
#include <stdlib.h>
#include <string.h>

#include "passes/pattern.h"

typedef struct linear {
  vitc_node *matmul, *add; /* add NULL without a bias */
  int x, w, b;
} linear;

/* t = x·W (+ b) with W known [D, H] and b known [H]; read `uses` times. */
static bool match_linear(const vitc_rewriter *rw, int t, int uses, linear *l) {
  const vitc_graph *g = rw->g;
  l->add = vitc_match_inner(rw, t, VITC_OP_Add, uses);
  l->b = -1;
  if (l->add)
    for (int k = 0; k < 2 && l->b < 0; k++)
      if (vitc_match_known(g, l->add->in[k]) && (l->matmul = vitc_match_inner(rw, l->add->in[1 - k], VITC_OP_MatMul, 1)))
        l->b = l->add->in[k];
  if (l->b < 0) l->matmul = vitc_match_inner(rw, t, VITC_OP_MatMul, uses), l->add = NULL;
  if (!l->matmul) return false;
  l->x = l->matmul->in[0];
  l->w = l->matmul->in[1];
  const vitc_value *w = &g->tensors[l->w].v, *x = &g->tensors[l->x].v;
  if (!vitc_match_known(g, l->w) || w->rank != 2 || w->dtype != VITC_F32 || !g->tensors[l->x].shape_known ||
      x->rank < 2 || x->dims[x->rank - 1] != w->dims[0])
    return false;
  if (l->b < 0) return true;
  const vitc_value *b = &g->tensors[l->b].v;
  return b->dtype == VITC_F32 && b->rank == 1 && b->dims[0] == w->dims[1];
}

/* [a | b] along the last axis of two float32 [R, C] (or [C]) values. */
static vitc_value side_by_side(const vitc_value *a, const vitc_value *b) {
  vitc_value v = *a;
  int last = a->rank - 1;
  v.dims[last] = 2 * a->dims[last];
  int64_t rows = vitc_numel(a) / a->dims[last], cols = a->dims[last];
  float *data = malloc(vitc_nbytes(&v) + 1);
  size_t row = sizeof(float) * (size_t)cols; /* bytes: a weight may be read in place, unaligned (ir.h) */
  for (int64_t r = 0; data && r < rows; r++) {
    memcpy(data + 2 * cols * r, (const char *)a->data + row * (size_t)r, row);
    memcpy(data + 2 * cols * r + cols, (const char *)b->data + row * (size_t)r, row);
  }
  v.data = data;
  return v;
}

/* A new tensor of x's type with the last dim `last`, or -1. */
static int add_tensor_like(vitc_graph *g, int x, int64_t last, const char *name) {
  int t = vitc_graph_add_tensor(g, name);
  if (t < 0) return -1;
  g->tensors[t].v = g->tensors[x].v;
  g->tensors[t].v.data = NULL;
  g->tensors[t].v.dims[g->tensors[t].v.rank - 1] = last;
  g->tensors[t].shape_known = true;
  return t;
}

static vitc_status fuse(vitc_rewriter *rw, vitc_node *mul, vitc_node *silu, const linear *gate, const linear *value,
                        vitc_error *err) {
  vitc_graph *g = rw->g;
  int y = mul->out[0];
  const char *base = g->tensors[y].name, *name = mul->name;
  vitc_value w = side_by_side(&g->tensors[gate->w].v, &g->tensors[value->w].v);
  vitc_value b = gate->b < 0 ? (vitc_value){0} : side_by_side(&g->tensors[gate->b].v, &g->tensors[value->b].v);
  int w_id = w.data ? vitc_rewrite_constant(rw, base, "swiglu_weight", &w, err) : -1;
  int b_id = gate->b < 0 ? -2 : b.data ? vitc_rewrite_constant(rw, base, "swiglu_bias", &b, err) : -1;
  free(w.data);
  free(b.data);
  if (w_id < 0 || b_id == -1) return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory fusing %s", g->path, name);
  vitc_node *matched[] = {mul, silu, gate->matmul, value->matmul, gate->add, value->add};
  int nmatched = gate->b < 0 ? 4 : 6;
  for (int k = 0; k < nmatched; k++) matched[k]->dead = true;
  char tname[512];
  snprintf(tname, sizeof tname, "%s.swiglu_product", base);
  int64_t width = 2 * g->tensors[gate->w].v.dims[1];
  int x = gate->x, h = add_tensor_like(g, x, width, tname), in[2] = {x, w_id};
  if (h < 0 || vitc_graph_add_node(g, VITC_OP_MatMul, name, in, 2, &h, 1, NULL, 0) < 0)
    return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory fusing %s", g->path, name);
  if (b_id >= 0) {
    snprintf(tname, sizeof tname, "%s.swiglu_biased", base);
    int biased = add_tensor_like(g, x, width, tname);
    in[0] = h, in[1] = b_id;
    if (biased < 0 || vitc_graph_add_node(g, VITC_OP_Add, name, in, 2, &biased, 1, NULL, 0) < 0)
      return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory fusing %s", g->path, name);
    h = biased;
  }
  vitc_attr attr = {.name = "silu_half", .type = VITC_ATTR_INT, .i = 0};
  return vitc_rewrite(rw, NULL, 0, VITC_OP_SwiGLU, &h, 1, y, &attr, 1, err);
}

static vitc_status visit(vitc_rewriter *rw, int i, void *ctx, vitc_error *err) {
  (void)ctx;
  const vitc_graph *g = rw->g;
  vitc_node *mul = &g->nodes[i];
  if (mul->op != VITC_OP_Mul) return VITC_OK;
  for (int k = 0; k < 2; k++) {
    vitc_node *silu = vitc_match_inner(rw, mul->in[k], VITC_OP_Silu, 1);
    linear gate, value;
    if (silu && match_linear(rw, silu->in[0], 1, &gate) && match_linear(rw, mul->in[1 - k], 1, &value) &&
        gate.x == value.x && (gate.b < 0) == (value.b < 0) && vitc_match_same_type(g, gate.w, value.w) &&
        vitc_match_same_type(g, mul->out[0], mul->in[1 - k]))
      return fuse(rw, mul, silu, &gate, &value, err);
  }
  return VITC_OK;
}

vitc_status vitc_fuse_swiglu_linears(vitc_graph *g, vitc_error *err) {
  return vitc_rewrite_each_node(g, "fuse_swiglu_linears", true, visit, NULL, err);
}

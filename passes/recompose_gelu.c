/* recompose_gelu — GELU and its sigmoid-gated relatives as exporters spell them out, back into one node.
 *
 *   erf form                            tanh form
 *     %u = Div(%x, 1.41421…)              %c = Pow(%x, 3)  or Mul(Mul(%x, %x), %x)
 *       or Mul(%x, 0.70710…)              %k = Mul(%c, 0.044715)
 *     %e = Erf(%u)                        %s = Add(%x, %k)
 *                                         %u = Mul(%s, 0.79788…)          (√(2/π))
 *                                         %e = Tanh(%u)
 *   then, for both
 *     %a = Add(%e, 1)
 *     %y = %x · %a · 0.5        two Muls, associated any way   ─→   %y = Gelu(%x)
 *                                                                     {approximate = "none" | "tanh"}
 *   sigmoid-gated forms, into vitc's own ops (ir/ops/fused_activation.c)
 *     %y = Mul(%x, Sigmoid(%x))                               ─→   %y = vitc.Silu(%x)
 *     %y = Mul(%x, Sigmoid(Mul(%x, 1.702)))                   ─→   %y = vitc.QuickGelu(%x) {alpha}
 *   hard-sigmoid-gated (PyTorch's nn.Hardswish below opset 14), into ONNX's own op
 *     %y = Mul(%x, HardSigmoid(%x) {alpha = 1/6, beta = 0.5})   ─→   %y = HardSwish(%x)
 *     %c = Clip(Add(%x, 3), 0, 6)
 *     %y = %x · %c / 6          Div by 6 or Mul by 1/6, associated any way
 *
 * Constants match within VITC_PATTERN_RTOL; binary ops in either operand order. Inner tensors must be
 * read only inside the pattern; %x may be read anywhere. */
#include <math.h>

#include "passes/pattern.h"

#define MAX_MATCHED 10

typedef struct gelu_match {
  vitc_node *nodes[MAX_MATCHED];
  int nnodes;
  int x;
  vitc_op op;              /* Gelu, QuickGelu, Silu or HardSwish */
  const char *approximate; /* Gelu's */
  double alpha;            /* QuickGelu's, as the model wrote it */
} gelu_match;

static void take(gelu_match *gm, vitc_node *n) { gm->nodes[gm->nnodes++] = n; }

/* %u = x / √2 or x · 1/√2. */
static bool match_erf_argument(const vitc_rewriter *rw, int u, int x, gelu_match *gm) {
  vitc_node *div = vitc_match_inner(rw, u, VITC_OP_Div, 1);
  if (div && div->in[0] == x && vitc_match_scalar(rw->g, div->in[1], M_SQRT2)) {
    take(gm, div);
    return true;
  }
  vitc_node *mul = vitc_match_inner(rw, u, VITC_OP_Mul, 1);
  if (mul && vitc_match_scalar(rw->g, vitc_match_other(mul, x), M_SQRT1_2)) {
    take(gm, mul);
    return true;
  }
  return false;
}

/* %c = x³ as Pow(x, 3), Mul(Mul(x, x), x) or Mul(x, Mul(x, x)). */
static bool match_cube(const vitc_rewriter *rw, int c, int x, gelu_match *gm) {
  vitc_node *pow = vitc_match_inner(rw, c, VITC_OP_Pow, 1);
  if (pow && pow->in[0] == x && vitc_match_scalar(rw->g, pow->in[1], 3)) {
    take(gm, pow);
    return true;
  }
  vitc_node *mul = vitc_match_inner(rw, c, VITC_OP_Mul, 1);
  vitc_node *square = mul ? vitc_match_inner(rw, vitc_match_other(mul, x), VITC_OP_Mul, 1) : NULL;
  if (!square || square->in[0] != x || square->in[1] != x) return false;
  take(gm, mul);
  take(gm, square);
  return true;
}

/* %u = √(2/π) · (x + 0.044715 · x³). */
static bool match_tanh_argument(const vitc_rewriter *rw, int u, int x, gelu_match *gm) {
  vitc_node *outer = vitc_match_inner(rw, u, VITC_OP_Mul, 1);
  for (int k = 0; outer && k < 2; k++) {
    if (!vitc_match_scalar(rw->g, outer->in[1 - k], M_2_SQRTPI * M_SQRT1_2)) continue;
    vitc_node *sum = vitc_match_inner(rw, outer->in[k], VITC_OP_Add, 1);
    vitc_node *term = sum ? vitc_match_inner(rw, vitc_match_other(sum, x), VITC_OP_Mul, 1) : NULL;
    for (int j = 0; term && j < 2; j++)
      if (vitc_match_scalar(rw->g, term->in[1 - j], 0.044715) && match_cube(rw, term->in[j], x, gm)) {
        take(gm, outer);
        take(gm, sum);
        take(gm, term);
        return true;
      }
  }
  return false;
}

/* %a = 1 + Erf(...) or 1 + Tanh(...) of x. */
static bool match_one_plus(const vitc_rewriter *rw, int a, int x, gelu_match *gm) {
  vitc_node *add = vitc_match_inner(rw, a, VITC_OP_Add, 1);
  for (int k = 0; add && k < 2; k++) {
    if (!vitc_match_scalar(rw->g, add->in[1 - k], 1)) continue;
    int saved = gm->nnodes;
    vitc_node *erf = vitc_match_inner(rw, add->in[k], VITC_OP_Erf, 1);
    vitc_node *tanh = vitc_match_inner(rw, add->in[k], VITC_OP_Tanh, 1);
    if (erf && match_erf_argument(rw, erf->in[0], x, gm)) {
      gm->approximate = "none";
      take(gm, erf);
    } else if (tanh && match_tanh_argument(rw, tanh->in[0], x, gm)) {
      gm->approximate = "tanh";
      take(gm, tanh);
    } else {
      gm->nnodes = saved;
      continue;
    }
    take(gm, add);
    return true;
  }
  return false;
}

/* Of the three factors, one is 0.5, one is 1 + erf/tanh(...) of x, and the remaining one is that x. */
static bool match_factors(const vitc_rewriter *rw, const int f[3], gelu_match *gm) {
  for (int h = 0; h < 3; h++) {
    if (!vitc_match_scalar(rw->g, f[h], 0.5)) continue;
    for (int a = 0; a < 3; a++) {
      if (a == h) continue;
      int x = f[3 - h - a];
      if (!vitc_dtype_is_float(rw->g->tensors[x].v.dtype)) continue;
      if (match_one_plus(rw, f[a], x, gm)) {
        gm->x = x;
        return true;
      }
    }
  }
  return false;
}

/* %y = Mul(leaf, Mul(f1, f2)) in either order, its three factors matching 0.5, x and 1 + erf/tanh. */
static bool match_gelu(const vitc_rewriter *rw, vitc_node *y, gelu_match *gm) {
  if (y->op != VITC_OP_Mul) return false;
  for (int k = 0; k < 2; k++) {
    vitc_node *inner = vitc_match_inner(rw, y->in[1 - k], VITC_OP_Mul, 1);
    if (!inner) continue;
    *gm = (gelu_match){.op = VITC_OP_Gelu};
    take(gm, y);
    take(gm, inner);
    const int f[3] = {y->in[k], inner->in[0], inner->in[1]};
    if (match_factors(rw, f, gm) && vitc_match_same_type(rw->g, y->out[0], gm->x)) return true;
  }
  return false;
}

/* %y = Mul(%x, Sigmoid(%x)) or Mul(%x, Sigmoid(Mul(%x, 1.702))), in either operand order. */
static bool match_sigmoid_gated(const vitc_rewriter *rw, vitc_node *y, gelu_match *gm) {
  if (y->op != VITC_OP_Mul) return false;
  for (int k = 0; k < 2; k++) {
    int x = y->in[k];
    vitc_node *sigmoid = vitc_match_inner(rw, y->in[1 - k], VITC_OP_Sigmoid, 1);
    if (!sigmoid || !vitc_dtype_is_float(rw->g->tensors[x].v.dtype)) continue;
    *gm = (gelu_match){.op = VITC_OP_Silu, .x = x};
    take(gm, y);
    take(gm, sigmoid);
    if (sigmoid->in[0] == x) return true;
    vitc_node *scale = vitc_match_inner(rw, sigmoid->in[0], VITC_OP_Mul, 1);
    int alpha = scale ? vitc_match_other(scale, x) : -1;
    if (vitc_match_scalar(rw->g, alpha, 1.702) && vitc_match_scalar_value(rw->g, alpha, &gm->alpha)) {
      gm->op = VITC_OP_QuickGelu;
      take(gm, scale);
      return true;
    }
  }
  return false;
}

/* %c = Clip(Add(%x, 3), 0, 6), the Add in either operand order. */
static bool match_relu6_shifted(const vitc_rewriter *rw, int c, int x, gelu_match *gm) {
  vitc_node *clip = vitc_match_inner(rw, c, VITC_OP_Clip, 1);
  if (!clip || clip->nin != 3 || !vitc_match_scalar(rw->g, clip->in[1], 0) || !vitc_match_scalar(rw->g, clip->in[2], 6))
    return false;
  vitc_node *add = vitc_match_inner(rw, clip->in[0], VITC_OP_Add, 1);
  if (!add || !vitc_match_scalar(rw->g, vitc_match_other(add, x), 3)) return false;
  take(gm, clip);
  take(gm, add);
  return true;
}

/* Of the factors f[0..nf), one is Clip(x + 3, 0, 6) of the float x among the others; with three, the
 * third is 1/6. */
static bool match_hard_swish_factors(const vitc_rewriter *rw, const int *f, int nf, gelu_match *gm) {
  for (int c = 0; c < nf; c++)
    for (int x = 0; x < nf; x++) {
      if (x == c || !vitc_dtype_is_float(rw->g->tensors[f[x]].v.dtype)) continue;
      if (nf == 3 && !vitc_match_scalar(rw->g, f[3 - c - x], 1.0 / 6)) continue;
      if (match_relu6_shifted(rw, f[c], f[x], gm)) {
        gm->x = f[x];
        return true;
      }
    }
  return false;
}

/* %y = HardSwish of x spelt out: x · HardSigmoid(x) {1/6, 0.5}, or x · Clip(x + 3, 0, 6) divided by 6 or
 * multiplied by 1/6 in any association: Div(Mul(x, c), 6), Mul(x, Div(c, 6)), Mul(Div(x, 6), c) or two
 * Muls over x, c and 1/6. */
static bool match_hard_swish(const vitc_rewriter *rw, vitc_node *y, gelu_match *gm) {
  *gm = (gelu_match){.op = VITC_OP_HardSwish};
  take(gm, y);
  if (y->op == VITC_OP_Div) {
    vitc_node *mul = vitc_match_inner(rw, y->in[0], VITC_OP_Mul, 1);
    if (!mul || !vitc_match_scalar(rw->g, y->in[1], 6)) return false;
    take(gm, mul);
    return match_hard_swish_factors(rw, mul->in, 2, gm) && vitc_match_same_type(rw->g, y->out[0], gm->x);
  }
  if (y->op != VITC_OP_Mul) return false;
  for (int k = 0; k < 2; k++) {
    int x = y->in[k];
    vitc_node *hs = vitc_match_inner(rw, y->in[1 - k], VITC_OP_HardSigmoid, 1);
    if (hs && hs->in[0] == x && vitc_dtype_is_float(rw->g->tensors[x].v.dtype) &&
        fabs(vitc_attr_float(hs, "alpha", 0.2) - 1.0 / 6) <= VITC_PATTERN_RTOL / 6 &&
        fabs(vitc_attr_float(hs, "beta", 0.5) - 0.5) <= VITC_PATTERN_RTOL / 2) {
      take(gm, hs);
      gm->x = x;
      return true;
    }
    vitc_node *mul = vitc_match_inner(rw, y->in[1 - k], VITC_OP_Mul, 1);
    vitc_node *div = vitc_match_inner(rw, y->in[1 - k], VITC_OP_Div, 1);
    gm->nnodes = 1;
    if (mul) {
      take(gm, mul);
      const int f[3] = {y->in[k], mul->in[0], mul->in[1]};
      if (match_hard_swish_factors(rw, f, 3, gm) && vitc_match_same_type(rw->g, y->out[0], gm->x)) return true;
    } else if (div && vitc_match_scalar(rw->g, div->in[1], 6)) {
      take(gm, div);
      const int f[2] = {y->in[k], div->in[0]};
      if (match_hard_swish_factors(rw, f, 2, gm) && vitc_match_same_type(rw->g, y->out[0], gm->x)) return true;
    }
  }
  return false;
}

static vitc_status visit(vitc_rewriter *rw, int i, void *ctx, vitc_error *err) {
  (void)ctx;
  gelu_match gm;
  vitc_node *n = &rw->g->nodes[i];
  if (!(match_gelu(rw, n, &gm) || match_sigmoid_gated(rw, n, &gm) || match_hard_swish(rw, n, &gm))) return VITC_OK;
  vitc_attr attr = gm.op == VITC_OP_Gelu
                       ? (vitc_attr){.name = "approximate", .type = VITC_ATTR_STRING, .s = gm.approximate}
                       : (vitc_attr){.name = "alpha", .type = VITC_ATTR_FLOAT, .f = gm.alpha};
  return vitc_rewrite(rw, gm.nodes, gm.nnodes, gm.op, &gm.x, 1, n->out[0], &attr,
                      gm.op == VITC_OP_Gelu || gm.op == VITC_OP_QuickGelu, err);
}

/* Backwards, so the last node of a pattern is seen before the nodes it ends. */
vitc_status vitc_recompose_gelu(vitc_graph *g, vitc_error *err) {
  return vitc_rewrite_each_node(g, "recompose_gelu", true, visit, NULL, err);
}

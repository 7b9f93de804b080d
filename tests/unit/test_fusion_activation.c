/* test_fusion_activation.c — recompose_gelu's hard swish and fuse_swiglu on tiny graphs: each form they
 * rebuild and the near misses that must stay. Each case checks the histogram, the evaluator before/after
 * the pass and the JIT of the whole pipeline (fusion_harness.h). */
#include "fusion_harness.h"

enum { ROWS = 3, COLS = 5, H = 20 };

static int scalar(test_graph *t, float f) {
  vitc_value v = {.dtype = VITC_F32, .rank = 0, .data = &f};
  return vitc_graph_add_constant(t->g, NULL, &v);
}

static int ints(test_graph *t, int n, const int64_t *vals) {
  vitc_value v = {.dtype = VITC_I64, .rank = 1, .dims = {n}, .data = (void *)vals};
  return vitc_graph_add_constant(t->g, NULL, &v);
}

enum {
  HS_HARD_SIGMOID,  /* Mul(x, HardSigmoid(x) {1/6, 0.5}) */
  HS_DIV_OUTER,     /* Div(Mul(x, c), 6) */
  HS_DIV_INNER,     /* Mul(Div(c, 6), x) */
  HS_DIV_X,         /* Mul(c, Div(x, 6)) */
  HS_MUL_SIXTH,     /* Mul(Mul(x, c), 1/6) */
  HS_MUL_SIXTH_X,   /* Mul(c, Mul(1/6, x)) */
  HS_MISS_ALPHA,    /* HardSigmoid with ONNX's default alpha 0.2 */
  HS_MISS_CLIP,     /* Clip(x + 3, 0, 5) */
};

/* x = 5 · input spans the clip's edges at -3 and 3. */
static void build_hard_swish(test_graph *t, int variant) {
  const int64_t dims[] = {ROWS, COLS};
  int x = fh_op(t, VITC_OP_Mul, tg_input(t, VITC_F32, 2, dims), scalar(t, 5)), y;
  if (variant == HS_HARD_SIGMOID || variant == HS_MISS_ALPHA) {
    vitc_attr ab[2] = {{.name = "alpha", .type = VITC_ATTR_FLOAT, .f = variant == HS_MISS_ALPHA ? 0.2f : 1.0f / 6},
                       {.name = "beta", .type = VITC_ATTR_FLOAT, .f = 0.5f}};
    tg_output(t, fh_op(t, VITC_OP_Mul, x, tg_node(t, VITC_OP_HardSigmoid, &x, 1, 1, ab, 2)));
    return;
  }
  int clip_in[3] = {fh_op(t, VITC_OP_Add, scalar(t, 3), x), scalar(t, 0), scalar(t, variant == HS_MISS_CLIP ? 5 : 6)};
  int c = tg_node(t, VITC_OP_Clip, clip_in, 3, 1, NULL, 0);
  switch (variant) {
  case HS_DIV_INNER: y = fh_op(t, VITC_OP_Mul, fh_op(t, VITC_OP_Div, c, scalar(t, 6)), x); break;
  case HS_DIV_X: y = fh_op(t, VITC_OP_Mul, c, fh_op(t, VITC_OP_Div, x, scalar(t, 6))); break;
  case HS_MUL_SIXTH: y = fh_op(t, VITC_OP_Mul, fh_op(t, VITC_OP_Mul, x, c), scalar(t, 1.0f / 6)); break;
  case HS_MUL_SIXTH_X: y = fh_op(t, VITC_OP_Mul, c, fh_op(t, VITC_OP_Mul, scalar(t, 1.0f / 6), x)); break;
  default: y = fh_op(t, VITC_OP_Div, fh_op(t, VITC_OP_Mul, x, c), scalar(t, 6)); break;
  }
  tg_output(t, y);
}

static void test_hard_swish(void) {
  const fh_count fused[] = {{VITC_OP_HardSwish, 1}, {VITC_OP_Clip, 0}, {VITC_OP_HardSigmoid, 0}, {VITC_OP_Div, 0}};
  static const char *names[] = {"hard sigmoid", "div outer", "div inner", "div x", "mul sixth", "mul sixth x"};
  for (int v = HS_HARD_SIGMOID; v <= HS_MUL_SIXTH_X; v++)
    vitc_graph_free(fh_check(names[v], build_hard_swish, v, vitc_recompose_gelu, fused, 4));
  const fh_count alpha[] = {{VITC_OP_HardSwish, 0}, {VITC_OP_HardSigmoid, 1}};
  vitc_graph_free(fh_check("hard sigmoid alpha 0.2", build_hard_swish, HS_MISS_ALPHA, vitc_recompose_gelu, alpha, 2));
  const fh_count clip[] = {{VITC_OP_HardSwish, 0}, {VITC_OP_Clip, 1}};
  vitc_graph_free(fh_check("clip to 5", build_hard_swish, HS_MISS_CLIP, vitc_recompose_gelu, clip, 2));
}

enum {
  SG_SPLIT,          /* Split(x) → Silu(a) · b */
  SG_SLICES,         /* two Slices (the second by a negative start) → b · Silu(a) */
  SG_SIGMOID,        /* Split, then a · σ(a) · b as exported: recompose_gelu first */
  SG_SWAPPED,        /* Split → a · Silu(b): fuses with silu_half 1 */
  SG_MISS_UNEVEN,    /* Slices [0, H) and [H, 2H) of a [.., 2H + 2] tensor */
  SG_MISS_SAME_HALF, /* Silu(a) · a */
};

static void build_swiglu(test_graph *t, int variant) {
  const int64_t dims[] = {ROWS, COLS, variant == SG_MISS_UNEVEN ? 2 * H + 2 : 2 * H};
  static const int64_t zero[] = {0}, h[] = {H}, minus_h[] = {-H}, two_h[] = {2 * H}, last[] = {-1};
  int x = tg_input(t, VITC_F32, 3, dims), a, b;
  if (variant == SG_SLICES || variant == SG_MISS_UNEVEN) {
    int first[4] = {x, ints(t, 1, zero), ints(t, 1, h), ints(t, 1, last)};
    int second[4] = {x, ints(t, 1, variant == SG_SLICES ? minus_h : h), ints(t, 1, two_h), ints(t, 1, last)};
    a = tg_node(t, VITC_OP_Slice, first, 4, 1, NULL, 0);
    b = tg_node(t, VITC_OP_Slice, second, 4, 1, NULL, 0);
  } else {
    vitc_attr axis = {.name = "axis", .type = VITC_ATTR_INT, .i = -1};
    a = tg_node(t, VITC_OP_Split, &x, 1, 2, &axis, 1);
    b = a + 1;
  }
  if (variant == SG_SWAPPED) {
    tg_output(t, fh_op(t, VITC_OP_Mul, a, fh_op(t, VITC_OP_Silu, b, -1)));
    return;
  }
  if (variant == SG_MISS_SAME_HALF) {
    tg_output(t, fh_op(t, VITC_OP_Mul, fh_op(t, VITC_OP_Silu, a, -1), a));
    tg_output(t, b);
    return;
  }
  int g = variant == SG_SIGMOID ? fh_op(t, VITC_OP_Mul, a, fh_op(t, VITC_OP_Sigmoid, a, -1))
                                : fh_op(t, VITC_OP_Silu, a, -1);
  tg_output(t, variant == SG_SLICES ? fh_op(t, VITC_OP_Mul, b, g) : fh_op(t, VITC_OP_Mul, g, b));
}

static vitc_status gelu_then_swiglu(vitc_graph *g, vitc_error *err) {
  vitc_status st = vitc_recompose_gelu(g, err);
  return st != VITC_OK ? st : vitc_fuse_swiglu(g, err);
}

static void test_swiglu(void) {
  const fh_count fused[] = {{VITC_OP_SwiGLU, 1}, {VITC_OP_Silu, 0}, {VITC_OP_Mul, 0}, {VITC_OP_Split, 0}, {VITC_OP_Slice, 0}};
  static const char *names[] = {"split", "slices", "sigmoid", "swapped"};
  for (int v = SG_SPLIT; v <= SG_SWAPPED; v++) {
    vitc_graph *g = fh_check(names[v], build_swiglu, v, gelu_then_swiglu, fused, 5);
    const vitc_node *n = fh_find_op(g, VITC_OP_SwiGLU);
    CHECK(n && vitc_attr_int(n, "silu_half", -1) == (v == SG_SWAPPED));
    vitc_graph_free(g);
  }
  const fh_count kept[] = {{VITC_OP_SwiGLU, 0}, {VITC_OP_Silu, 1}, {VITC_OP_Mul, 1}};
  vitc_graph_free(fh_check("uneven", build_swiglu, SG_MISS_UNEVEN, gelu_then_swiglu, kept, 3));
  vitc_graph_free(fh_check("same half", build_swiglu, SG_MISS_SAME_HALF, gelu_then_swiglu, kept, 3));
}

int main(void) {
  test_hard_swish();
  test_swiglu();
  CHECK_DONE();
}

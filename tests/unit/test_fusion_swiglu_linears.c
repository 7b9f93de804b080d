/* test_fusion_swiglu_linears.c — fuse_swiglu_linears on tiny graphs: timm's SwiGLU (two Linears of one
 * input, Silu of the first times the second) with and without biases, operands in either order, and the
 * near misses that must stay. Each case checks the histogram, the evaluator before/after the pass and
 * the JIT of the whole pipeline (fusion_harness.h), where the merged Linear becomes one FusedGemm. */
#include "fusion_harness.h"

enum { ROWS = 3, TOKENS = 5, D = 12, H = 9 };

enum {
  SL_BIAS,          /* Silu(x·Wg + bg) · (x·Wx + bx) */
  SL_NO_BIAS,       /* Silu(x·Wg) · (x·Wx) */
  SL_SWAPPED,       /* (bx + x·Wx) · Silu(bg + x·Wg) */
  SL_MISS_INPUTS,   /* the two Linears read different tensors */
  SL_MISS_ONE_BIAS, /* only the gate has a bias */
  SL_MISS_WIDTH,    /* Wx [D, 1]: the product broadcasts */
  SL_MISS_SHARED,   /* the gate's Linear is also a graph output */
};

static int linear(test_graph *t, int x, int64_t width, bool bias, bool swap, unsigned seed) {
  const int64_t w[] = {D, width}, b[] = {width};
  int y = fh_op(t, VITC_OP_MatMul, x, tg_const(t, VITC_F32, 2, w, seed));
  if (!bias) return y;
  int c = tg_const(t, VITC_F32, 1, b, seed + 1);
  return swap ? fh_op(t, VITC_OP_Add, c, y) : fh_op(t, VITC_OP_Add, y, c);
}

static void build(test_graph *t, int variant) {
  const int64_t dims[] = {ROWS, TOKENS, D};
  int x = tg_input(t, VITC_F32, 3, dims);
  int x2 = variant == SL_MISS_INPUTS ? fh_op(t, VITC_OP_Neg, x, -1) : x;
  bool swap = variant == SL_SWAPPED;
  int g = linear(t, x, H, variant != SL_NO_BIAS, swap, 3);
  int v = linear(t, x2, variant == SL_MISS_WIDTH ? 1 : H, variant != SL_NO_BIAS && variant != SL_MISS_ONE_BIAS, swap, 5);
  int s = fh_op(t, VITC_OP_Silu, g, -1);
  tg_output(t, swap ? fh_op(t, VITC_OP_Mul, v, s) : fh_op(t, VITC_OP_Mul, s, v));
  if (variant == SL_MISS_SHARED) tg_output(t, g);
}

static void test_swiglu_linears(void) {
  static const char *names[] = {"biases", "no biases", "operands swapped"};
  const fh_count fused[] = {{VITC_OP_SwiGLU, 1}, {VITC_OP_MatMul, 1}, {VITC_OP_Silu, 0}, {VITC_OP_Mul, 0}};
  for (int v = SL_BIAS; v <= SL_SWAPPED; v++) {
    const fh_count adds = {VITC_OP_Add, v == SL_NO_BIAS ? 0 : 1};
    fh_count want[5];
    memcpy(want, fused, sizeof fused);
    want[4] = adds;
    vitc_graph *g = fh_check(names[v], build, v, vitc_fuse_swiglu_linears, want, 5);
    const vitc_node *n = fh_find_op(g, VITC_OP_SwiGLU);
    CHECK(n && vitc_attr_int(n, "silu_half", -1) == 0 && g->tensors[n->in[0]].v.dims[2] == 2 * H);
    vitc_graph_free(g);
  }
  const fh_count kept[] = {{VITC_OP_SwiGLU, 0}, {VITC_OP_MatMul, 2}, {VITC_OP_Silu, 1}};
  vitc_graph_free(fh_check("different inputs", build, SL_MISS_INPUTS, vitc_fuse_swiglu_linears, kept, 3));
  vitc_graph_free(fh_check("one bias", build, SL_MISS_ONE_BIAS, vitc_fuse_swiglu_linears, kept, 3));
  vitc_graph_free(fh_check("broadcast width", build, SL_MISS_WIDTH, vitc_fuse_swiglu_linears, kept, 3));
  vitc_graph_free(fh_check("gate read outside", build, SL_MISS_SHARED, vitc_fuse_swiglu_linears, kept, 3));
}

int main(void) {
  test_swiglu_linears();
  CHECK_DONE();
}

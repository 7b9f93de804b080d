/* test_fusion_elementwise_chains.c — fuse_elementwise_chains on tiny graphs: PoolFormer's token mixer and
 * LayerScale residual, a per-channel affine after a norm, QuickGELU as Mul·Sigmoid·Mul, StarReLU's square
 * (Pow by 2: a Mul step), and the near misses
 * that must stay apart. Each case checks the histogram, the evaluator before/after the pass and the JIT of
 * the whole pipeline (fusion_harness.h). */
#include "fusion_harness.h"

enum { B = 2, C = 5, H = 3, W = 7 };

enum {
  EC_POOLFORMER,    /* x + s·(AveragePool(x) − x): Sub, Mul, Add, s [C,1,1] */
  EC_AFFINE,        /* Add(Mul(Tanh(x), s), b): a per-channel affine, s and b [C,1,1] */
  EC_QUICK_GELU,    /* x · Sigmoid(x · 1.702) with the constant as an input */
  EC_MISS_SHARED,   /* the Sub is also a graph output: Mul and Add fuse, the Sub stays */
  EC_MISS_OP,       /* Softmax between the Mul and the Add: neither side is a chain of two */
  EC_MISS_SHAPE,    /* Mul of two [C,1,1] tensors (one a graph input) before an Add to [B,C,H,W] */
  EC_MISS_ATTR,     /* LeakyRelu (it has an attribute) between the Mul and the Add */
  EC_STAR_RELU,     /* s·Relu(x)^2 + b (MetaFormer's StarReLU), s and b scalars: the Pow is Mul(r, r) */
  EC_CUBE,          /* the same with the exponent 3: the Pow stays a Pow step, its exponent an input */
};

static void build(test_graph *t, int variant) {
  const int64_t xd[] = {B, C, H, W}, cd[] = {C, 1, 1};
  int x = tg_input(t, VITC_F32, 4, xd), s = tg_const(t, VITC_F32, 3, cd, 3), b = tg_const(t, VITC_F32, 3, cd, 5);
  int y;
  if (variant == EC_POOLFORMER || variant == EC_MISS_SHARED) {
    const int64_t k[] = {3, 3}, pads[] = {1, 1, 1, 1};
    vitc_attr pa[3] = {{.name = "kernel_shape", .type = VITC_ATTR_INTS, .n = 2, .ints = (int64_t *)k},
                       {.name = "pads", .type = VITC_ATTR_INTS, .n = 4, .ints = (int64_t *)pads},
                       {.name = "count_include_pad", .type = VITC_ATTR_INT, .i = 0}};
    int p = tg_node(t, VITC_OP_AveragePool, &x, 1, 1, pa, 3);
    int d = fh_op(t, VITC_OP_Sub, p, x);
    y = fh_op(t, VITC_OP_Add, x, fh_op(t, VITC_OP_Mul, s, d));
    if (variant == EC_MISS_SHARED) tg_output(t, d);
  } else if (variant == EC_AFFINE) {
    y = fh_op(t, VITC_OP_Add, fh_op(t, VITC_OP_Mul, fh_op(t, VITC_OP_Tanh, x, -1), s), b);
  } else if (variant == EC_QUICK_GELU) {
    const int64_t one[] = {1};
    int a = tg_input(t, VITC_F32, 1, one);
    y = fh_op(t, VITC_OP_Mul, x, fh_op(t, VITC_OP_Sigmoid, fh_op(t, VITC_OP_Mul, x, a), -1));
  } else if (variant == EC_MISS_OP) {
    int m = fh_op(t, VITC_OP_Mul, x, s);
    y = fh_op(t, VITC_OP_Add, tg_node(t, VITC_OP_Softmax, &m, 1, 1, NULL, 0), b);
  } else if (variant == EC_MISS_SHAPE) {
    int g = tg_input(t, VITC_F32, 3, cd);
    y = fh_op(t, VITC_OP_Add, x, fh_op(t, VITC_OP_Mul, g, b));
  } else if (variant == EC_STAR_RELU || variant == EC_CUBE) {
    const int64_t one[] = {1};
    float e = variant == EC_CUBE ? 3 : 2;
    vitc_value ev = {.dtype = VITC_F32, .data = &e};
    int r = fh_op(t, VITC_OP_Relu, x, -1), p = fh_op(t, VITC_OP_Pow, r, vitc_graph_add_constant(t->g, NULL, &ev));
    y = fh_op(t, VITC_OP_Add, fh_op(t, VITC_OP_Mul, tg_const(t, VITC_F32, 1, one, 7), p), tg_const(t, VITC_F32, 1, one, 9));
  } else {
    vitc_attr alpha = {.name = "alpha", .type = VITC_ATTR_FLOAT, .f = 0.2};
    int m = fh_op(t, VITC_OP_Mul, x, s);
    y = fh_op(t, VITC_OP_Add, tg_node(t, VITC_OP_LeakyRelu, &m, 1, 1, &alpha, 1), b);
  }
  tg_output(t, y);
}

static void expect_program(const vitc_graph *g, const char *ops, int nin) {
  const vitc_node *n = fh_find_op(g, VITC_OP_ElementwiseChain);
  CHECK(n && !strcmp(vitc_attr_str(n, "ops", ""), ops) && n->nin == nin);
  if (n && strcmp(vitc_attr_str(n, "ops", ""), ops)) fprintf(stderr, "ops %s, expected %s\n", vitc_attr_str(n, "ops", ""), ops);
}

static void test_chains(void) {
  const fh_count pool[] = {{VITC_OP_ElementwiseChain, 1}, {VITC_OP_Sub, 0}, {VITC_OP_Mul, 0}, {VITC_OP_Add, 0}};
  vitc_graph *g = fh_check("poolformer", build, EC_POOLFORMER, vitc_fuse_elementwise_chains, pool, 4);
  expect_program(g, "Sub,Mul,Add", 3); /* pool, x, s */
  vitc_graph_free(g);
  const fh_count affine[] = {{VITC_OP_ElementwiseChain, 1}, {VITC_OP_Tanh, 0}, {VITC_OP_Mul, 0}, {VITC_OP_Add, 0}};
  g = fh_check("affine", build, EC_AFFINE, vitc_fuse_elementwise_chains, affine, 4);
  expect_program(g, "Tanh,Mul,Add", 3);
  vitc_graph_free(g);
  const fh_count quick[] = {{VITC_OP_ElementwiseChain, 1}, {VITC_OP_Sigmoid, 0}, {VITC_OP_Mul, 0}};
  g = fh_check("quick gelu", build, EC_QUICK_GELU, vitc_fuse_elementwise_chains, quick, 3);
  expect_program(g, "Mul,Sigmoid,Mul", 2); /* x read by two steps: one input */
  vitc_graph_free(g);

  const fh_count star[] = {{VITC_OP_ElementwiseChain, 1}, {VITC_OP_Pow, 0}, {VITC_OP_Relu, 0}};
  g = fh_check("star relu", build, EC_STAR_RELU, vitc_fuse_elementwise_chains, star, 3);
  expect_program(g, "Relu,Mul,Mul,Add", 3); /* x, s, b: the exponent is no input */
  vitc_graph_free(g);
  g = fh_check("cube", build, EC_CUBE, vitc_fuse_elementwise_chains, star, 3);
  expect_program(g, "Relu,Pow,Mul,Add", 4);
  vitc_graph_free(g);

  const fh_count shared[] = {{VITC_OP_ElementwiseChain, 1}, {VITC_OP_Sub, 1}, {VITC_OP_Mul, 0}, {VITC_OP_Add, 0}};
  vitc_graph_free(fh_check("sub read outside", build, EC_MISS_SHARED, vitc_fuse_elementwise_chains, shared, 4));
  const fh_count op[] = {{VITC_OP_ElementwiseChain, 0}, {VITC_OP_Mul, 1}, {VITC_OP_Add, 1}};
  vitc_graph_free(fh_check("softmax between", build, EC_MISS_OP, vitc_fuse_elementwise_chains, op, 3));
  const fh_count shape[] = {{VITC_OP_ElementwiseChain, 0}, {VITC_OP_Mul, 1}, {VITC_OP_Add, 1}};
  vitc_graph_free(fh_check("smaller intermediate", build, EC_MISS_SHAPE, vitc_fuse_elementwise_chains, shape, 3));
  const fh_count attr[] = {{VITC_OP_ElementwiseChain, 0}, {VITC_OP_LeakyRelu, 1}, {VITC_OP_Mul, 1}, {VITC_OP_Add, 1}};
  vitc_graph_free(fh_check("attribute between", build, EC_MISS_ATTR, vitc_fuse_elementwise_chains, attr, 4));
}

int main(void) {
  test_chains();
  CHECK_DONE();
}

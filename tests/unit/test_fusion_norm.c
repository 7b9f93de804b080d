/* test_fusion_norm.c — recompose_layer_norm, recompose_gelu and fold_batch_norm on tiny hand-built
 * graphs: each export variant of a pattern, and near misses that must stay as they are; fold_batch_norm
 * both after a Conv/product and before a Conv, a per-channel Mul or Add after a Conv, and lower_batch_norm
 * for what folds nowhere.
 *
 * Every case is checked twice: the op histogram after shape inference and the pass, and the values
 * (vitc_eval_graph of the rewritten graph against the same graph built again and left alone, rtol 1e-4).
 * The fused ops then go through the LLVM backend against the evaluator. */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "fusion_harness.h"

/* ---------------------------------------------------------------- building graphs */

/* Adds a one-output node and returns its output tensor. */
static int node(vitc_graph *g, vitc_op op, const int *in, int nin, const vitc_attr *attrs, int nattr) {
  int out = vitc_graph_add_tensor(g, NULL);
  vitc_graph_add_node(g, op, NULL, in, nin, &out, 1, attrs, nattr);
  return out;
}

static int unary(vitc_graph *g, vitc_op op, int a) { return node(g, op, (int[]){a}, 1, NULL, 0); }
static int binary(vitc_graph *g, vitc_op op, int a, int b) { return node(g, op, (int[]){a, b}, 2, NULL, 0); }

static int scalar(vitc_graph *g, float f) {
  vitc_value v = {.dtype = VITC_F32, .rank = 0, .data = &f};
  return vitc_graph_add_constant(g, NULL, &v);
}

/* A known f32 tensor of the given shape with reproducible values in [lo, lo + span). */
static int tensor(vitc_graph *g, int rank, const int64_t *dims, unsigned seed, float lo, float span) {
  vitc_value v = {.dtype = VITC_F32, .rank = rank};
  for (int d = 0; d < rank; d++) v.dims[d] = dims[d];
  int64_t n = vitc_numel(&v);
  float *data = malloc(sizeof(float) * (size_t)n);
  for (int64_t i = 0; i < n; i++) {
    seed = seed * 1103515245u + 12345u;
    data[i] = lo + span * (float)((seed >> 8) & 0xffff) / 65536.0f;
  }
  v.data = data;
  int id = vitc_graph_add_constant(g, NULL, &v);
  free(data);
  return id;
}

static int axes(vitc_graph *g, int n, const int64_t *vals) {
  vitc_value v = {.dtype = VITC_I64, .rank = 1, .dims = {n}, .data = (void *)vals};
  return vitc_graph_add_constant(g, NULL, &v);
}

/* ---------------------------------------------------------------- checking a pass */

/* fusion_harness.h's checks of the rewrite, and `nodes` live nodes in all after it. */
static vitc_graph *check_case(const char *what, fh_builder build, int variant, vitc_pass_fn pass, int nodes,
                              const fh_count *want, int nwant) {
  vitc_graph *g = fh_check_rewrite(what, build, variant, pass, want, nwant);
  int live = 0;
  for (int i = 0; i < g->nnodes; i++) live += !g->nodes[i].dead;
  if (live != nodes) fprintf(stderr, "%s: %d nodes, expected %d\n", what, live, nodes);
  CHECK(live == nodes);
  return g;
}

/* ---------------------------------------------------------------- recompose_layer_norm */

enum {
  LN_TORCH,          /* Pow(d, 2), Div, axes [-1], scale and bias */
  LN_SQUARE_MUL,     /* Mul(d, d), Add(eps, v) */
  LN_RECIPROCAL,     /* Mul(Reciprocal(Sqrt), d) */
  LN_POSITIVE_AXIS,  /* axes [2] of a rank-3 x */
  LN_TWO_AXES,       /* axes [-2, -1], scale and bias [3, 8] */
  LN_NO_AFFINE,      /* no scale, no bias: a scale of ones is made */
  LN_BIAS_ONLY,      /* no scale */
  LN_SCALE_RANK3,    /* scale [1, 1, 8] */
  LN_MISS_MIDDLE,    /* both means over axis 1: not trailing */
  LN_MISS_MEAN,      /* Sub reads the mean over axis 1, the variance is over -1 */
  LN_MISS_EPS,       /* Sqrt(v) + eps instead of Sqrt(v + eps) */
  LN_MISS_SCALE,     /* scale [3, 1] varies along axis 1, which is not normalised */
};

static void build_layer_norm(test_graph *t, int variant) {
  static const int64_t last[] = {-1}, third[] = {2}, middle[] = {1}, two[] = {-2, -1};
  const int64_t xd[] = {2, 3, 8}, vec[] = {8}, plane[] = {3, 8}, rank3[] = {1, 1, 8}, rows[] = {3, 1};
  vitc_graph *g = t->g;
  g->opset = 13;
  int x = tg_input(t, VITC_F32, 3, xd);
  const int64_t *ax = variant == LN_POSITIVE_AXIS ? third : variant == LN_TWO_AXES ? two : variant == LN_MISS_MIDDLE ? middle : last;
  int a = axes(g, variant == LN_TWO_AXES ? 2 : 1, ax);
  int mean = node(g, VITC_OP_ReduceMean, (int[]){x, variant == LN_MISS_MEAN ? axes(g, 1, middle) : a}, 2, NULL, 0);
  int d = binary(g, VITC_OP_Sub, x, mean);
  int q = variant == LN_SQUARE_MUL ? binary(g, VITC_OP_Mul, d, d) : binary(g, VITC_OP_Pow, d, scalar(g, 2));
  int v = node(g, VITC_OP_ReduceMean, (int[]){q, a}, 2, NULL, 0);
  int eps = scalar(g, 1e-5f), n;
  if (variant == LN_MISS_EPS) {
    n = binary(g, VITC_OP_Div, d, binary(g, VITC_OP_Add, unary(g, VITC_OP_Sqrt, v), eps));
  } else {
    int e = variant == LN_SQUARE_MUL ? binary(g, VITC_OP_Add, eps, v) : binary(g, VITC_OP_Add, v, eps);
    int s = unary(g, VITC_OP_Sqrt, e);
    n = variant == LN_RECIPROCAL ? binary(g, VITC_OP_Mul, unary(g, VITC_OP_Reciprocal, s), d)
                                 : binary(g, VITC_OP_Div, d, s);
  }
  int y = n;
  if (variant != LN_NO_AFFINE && variant != LN_BIAS_ONLY) {
    const int64_t *wd = variant == LN_TWO_AXES ? plane : variant == LN_SCALE_RANK3 ? rank3 : variant == LN_MISS_SCALE ? rows : vec;
    int wr = variant == LN_TWO_AXES || variant == LN_MISS_SCALE ? 2 : variant == LN_SCALE_RANK3 ? 3 : 1;
    y = binary(g, VITC_OP_Mul, y, tensor(g, wr, wd, 11, 0.5f, 1.0f));
  }
  if (variant != LN_NO_AFFINE)
    y = binary(g, VITC_OP_Add, tensor(g, variant == LN_TWO_AXES ? 2 : 1, variant == LN_TWO_AXES ? plane : vec, 13, -1, 2), y);
  tg_output(t, y);
}

static void test_layer_norm_variants(void) {
  static const char *const names[] = {"torch", "square_mul", "reciprocal", "positive_axis", "two_axes",
                                      "no_affine", "bias_only", "scale_rank3"};
  const fh_count fused[] = {{VITC_OP_LayerNormalization, 1}, {VITC_OP_ReduceMean, 0}, {VITC_OP_Sqrt, 0}};
  for (int variant = LN_TORCH; variant <= LN_SCALE_RANK3; variant++) {
    vitc_graph *g = check_case(names[variant], build_layer_norm, variant, vitc_recompose_layer_norm, 1, fused, 3);
    const vitc_node *ln = fh_find_op(g, VITC_OP_LayerNormalization);
    if (ln) {
      CHECK(vitc_attr_int(ln, "axis", -1) == (variant == LN_TWO_AXES ? 1 : 2));
      CHECK_NEAR(vitc_attr_float(ln, "epsilon", 0), 1e-5, 1e-9);
      CHECK(ln->nin == (variant == LN_NO_AFFINE ? 2 : 3));
      CHECK(ln->in[0] == g->inputs[0]);
      const vitc_value *scale = &g->tensors[ln->in[1]].v;
      CHECK(scale->data != NULL);
      if (variant == LN_NO_AFFINE && scale->data) {
        CHECK(scale->rank == 1 && scale->dims[0] == 8);
        for (int i = 0; i < 8; i++) CHECK(vitc_load_f(scale, i) == 1.0);
      }
    }
    vitc_graph_free(g);
  }
}

static void test_layer_norm_near_misses(void) {
  const fh_count unchanged[] = {{VITC_OP_LayerNormalization, 0}, {VITC_OP_ReduceMean, 2}};
  vitc_graph_free(check_case("middle axis", build_layer_norm, LN_MISS_MIDDLE, vitc_recompose_layer_norm, 9, unchanged, 2));
  vitc_graph_free(check_case("other mean", build_layer_norm, LN_MISS_MEAN, vitc_recompose_layer_norm, 9, unchanged, 2));
  vitc_graph_free(check_case("eps after sqrt", build_layer_norm, LN_MISS_EPS, vitc_recompose_layer_norm, 9, unchanged, 2));
  /* The normalisation itself fuses; the scale and the bias after it stay. */
  const fh_count kept[] = {{VITC_OP_LayerNormalization, 1}, {VITC_OP_Mul, 1}, {VITC_OP_Add, 1}};
  vitc_graph_free(check_case("row scale", build_layer_norm, LN_MISS_SCALE, vitc_recompose_layer_norm, 3, kept, 3));
}

/* A LayerNorm whose centred input is also a graph output keeps its nodes: removing them would lose it. */
static void test_layer_norm_shared_inner(void) {
  static const int64_t last[] = {-1};
  const int64_t xd[] = {4, 6};
  test_graph t = tg_new();
  vitc_graph *g = t.g;
  g->opset = 13;
  int x = tg_input(&t, VITC_F32, 2, xd);
  int a = axes(g, 1, last);
  int d = binary(g, VITC_OP_Sub, x, node(g, VITC_OP_ReduceMean, (int[]){x, a}, 2, NULL, 0));
  int v = node(g, VITC_OP_ReduceMean, (int[]){binary(g, VITC_OP_Pow, d, scalar(g, 2)), a}, 2, NULL, 0);
  int y = binary(g, VITC_OP_Div, d, unary(g, VITC_OP_Sqrt, binary(g, VITC_OP_Add, v, scalar(g, 1e-6f))));
  tg_output(&t, y);
  tg_output(&t, d);
  vitc_error err = {0};
  CHECK(vitc_infer_shapes(g, &err) == VITC_OK && vitc_recompose_layer_norm(g, &err) == VITC_OK);
  CHECK(count_op(g, VITC_OP_LayerNormalization) == 0 && g->nnodes == 7);
  vitc_graph_free(g);
}

/* ---------------------------------------------------------------- recompose_gelu */

enum {
  GELU_TORCH,       /* Mul(Mul(x, Add(Erf(Div(x, √2)), 1)), 0.5) */
  GELU_HF,          /* Mul(Mul(x, 0.5), Add(1, Erf(Mul(1/√2, x)))) */
  GELU_HALF_INNER,  /* Mul(x, Mul(0.5, 1 + erf)) */
  GELU_TANH_POW,    /* tanh form, Pow(x, 3) */
  GELU_TANH_MUL,    /* tanh form, Mul(x, Mul(x, x)), constants on the left */
  GELU_MISS_HALF,   /* x · (1 + erf(x/√2)) */
  GELU_MISS_COEFF,  /* tanh form with 0.04 for 0.044715 */
  GELU_MISS_SCALE,  /* erf(x) without the 1/√2 */
  GELU_SILU,        /* Mul(Sigmoid(x), x) */
  GELU_QUICK,       /* Mul(x, Sigmoid(Mul(1.702, x))) */
  GELU_MISS_QUICK,  /* x · σ(1.5 x) */
};

static int one_plus_tanh(vitc_graph *g, int x, int variant) {
  float kappa = variant == GELU_MISS_COEFF ? 0.04f : 0.044715f;
  int cube = variant == GELU_TANH_MUL ? binary(g, VITC_OP_Mul, x, binary(g, VITC_OP_Mul, x, x))
                                      : binary(g, VITC_OP_Pow, x, scalar(g, 3));
  int inner = binary(g, VITC_OP_Add, x, binary(g, VITC_OP_Mul, scalar(g, kappa), cube));
  int u = binary(g, VITC_OP_Mul, scalar(g, 0.7978845608f), inner);
  return binary(g, VITC_OP_Add, scalar(g, 1), unary(g, VITC_OP_Tanh, u));
}

static void build_gelu(test_graph *t, int variant) {
  const int64_t xd[] = {2, 5};
  vitc_graph *g = t->g;
  g->opset = 13;
  int x = tg_input(t, VITC_F32, 2, xd);
  int a, half = scalar(g, 0.5f), y;
  if (variant == GELU_SILU) {
    y = binary(g, VITC_OP_Mul, unary(g, VITC_OP_Sigmoid, x), x);
    tg_output(t, y);
    return;
  }
  if (variant == GELU_QUICK || variant == GELU_MISS_QUICK) {
    int z = binary(g, VITC_OP_Mul, scalar(g, variant == GELU_QUICK ? 1.702f : 1.5f), x);
    y = binary(g, VITC_OP_Mul, x, unary(g, VITC_OP_Sigmoid, z));
    tg_output(t, y);
    return;
  }
  if (variant == GELU_TANH_POW || variant == GELU_TANH_MUL || variant == GELU_MISS_COEFF) {
    a = one_plus_tanh(g, x, variant);
  } else {
    int u = variant == GELU_HF ? binary(g, VITC_OP_Mul, scalar(g, 0.70710678f), x)
            : variant == GELU_MISS_SCALE ? x
                                         : binary(g, VITC_OP_Div, x, scalar(g, 1.4142135f));
    int e = unary(g, VITC_OP_Erf, u);
    a = variant == GELU_HF ? binary(g, VITC_OP_Add, scalar(g, 1), e) : binary(g, VITC_OP_Add, e, scalar(g, 1));
  }
  if (variant == GELU_HF) y = binary(g, VITC_OP_Mul, binary(g, VITC_OP_Mul, x, half), a);
  else if (variant == GELU_HALF_INNER) y = binary(g, VITC_OP_Mul, x, binary(g, VITC_OP_Mul, half, a));
  else if (variant == GELU_MISS_HALF) y = binary(g, VITC_OP_Mul, x, a);
  else if (variant == GELU_TANH_MUL) y = binary(g, VITC_OP_Mul, half, binary(g, VITC_OP_Mul, x, a));
  else y = binary(g, VITC_OP_Mul, binary(g, VITC_OP_Mul, x, a), half);
  tg_output(t, y);
}

static void test_gelu_variants(void) {
  static const char *const names[] = {"torch", "hf", "half_inner", "tanh_pow", "tanh_mul"};
  const fh_count fused[] = {{VITC_OP_Gelu, 1}};
  for (int variant = GELU_TORCH; variant <= GELU_TANH_MUL; variant++) {
    vitc_graph *g = check_case(names[variant], build_gelu, variant, vitc_recompose_gelu, 1, fused, 1);
    const vitc_node *gelu = fh_find_op(g, VITC_OP_Gelu);
    bool tanh = variant == GELU_TANH_POW || variant == GELU_TANH_MUL;
    if (gelu) {
      CHECK(!strcmp(vitc_attr_str(gelu, "approximate", ""), tanh ? "tanh" : "none"));
      CHECK(gelu->in[0] == g->inputs[0]);
    }
    vitc_graph_free(g);
  }
}

static void test_gelu_near_misses(void) {
  const fh_count erf_kept[] = {{VITC_OP_Gelu, 0}, {VITC_OP_Erf, 1}}, tanh_kept[] = {{VITC_OP_Gelu, 0}, {VITC_OP_Tanh, 1}};
  vitc_graph_free(check_case("no 0.5", build_gelu, GELU_MISS_HALF, vitc_recompose_gelu, 4, erf_kept, 2));
  vitc_graph_free(check_case("0.04", build_gelu, GELU_MISS_COEFF, vitc_recompose_gelu, 8, tanh_kept, 2));
  vitc_graph_free(check_case("erf(x)", build_gelu, GELU_MISS_SCALE, vitc_recompose_gelu, 4, erf_kept, 2));
  const fh_count sigmoid_kept[] = {{VITC_OP_QuickGelu, 0}, {VITC_OP_Silu, 0}, {VITC_OP_Sigmoid, 1}};
  vitc_graph_free(check_case("x sigmoid(1.5 x)", build_gelu, GELU_MISS_QUICK, vitc_recompose_gelu, 3, sigmoid_kept, 3));
}

static void test_sigmoid_gated(void) {
  const fh_count silu[] = {{VITC_OP_Silu, 1}}, quick[] = {{VITC_OP_QuickGelu, 1}};
  vitc_graph_free(check_case("silu", build_gelu, GELU_SILU, vitc_recompose_gelu, 1, silu, 1));
  vitc_graph *g = check_case("quick_gelu", build_gelu, GELU_QUICK, vitc_recompose_gelu, 1, quick, 1);
  const vitc_node *n = fh_find_op(g, VITC_OP_QuickGelu);
  if (n) CHECK_NEAR(vitc_attr_float(n, "alpha", 0), 1.702, 1e-6);
  vitc_graph_free(g);
}

/* ---------------------------------------------------------------- fold_batch_norm */

enum {
  BN_CONV,         /* Conv with bias */
  BN_CONV_NO_BIAS, /* Conv without bias, grouped */
  BN_MATMUL,       /* MatMul of a 2-D input */
  BN_GEMM,         /* Gemm transB, alpha, beta, C [3] */
  BN_MISS_SHARED,  /* the Conv's output is also a graph output */
};

static void build_batch_norm(test_graph *t, int variant) {
  bool conv = variant == BN_CONV || variant == BN_CONV_NO_BIAS || variant == BN_MISS_SHARED;
  const int64_t image[] = {1, 2, 5, 5}, rows[] = {4, 6}, w4[] = {3, 2, 3, 3}, grouped[] = {4, 1, 3, 3},
                kn[] = {6, 3}, nk[] = {3, 6};
  int64_t channels = variant == BN_CONV_NO_BIAS ? 4 : 3;
  vitc_graph *g = t->g;
  g->opset = 13;
  int x = tg_input(t, VITC_F32, conv ? 4 : 2, conv ? image : rows);
  int c;
  if (conv) {
    int64_t pads[] = {1, 1, 1, 1};
    vitc_attr attrs[2] = {{.name = "pads", .type = VITC_ATTR_INTS, .n = 4, .ints = pads},
                          {.name = "group", .type = VITC_ATTR_INT, .i = variant == BN_CONV_NO_BIAS ? 2 : 1}};
    int w = tensor(g, 4, variant == BN_CONV_NO_BIAS ? grouped : w4, 3, -1, 2);
    if (variant == BN_CONV_NO_BIAS) c = node(g, VITC_OP_Conv, (int[]){x, w}, 2, attrs, 2);
    else c = node(g, VITC_OP_Conv, (int[]){x, w, tensor(g, 1, &channels, 5, -1, 2)}, 3, attrs, 2);
  } else if (variant == BN_MATMUL) {
    c = binary(g, VITC_OP_MatMul, x, tensor(g, 2, kn, 3, -1, 2));
  } else {
    vitc_attr attrs[3] = {{.name = "transB", .type = VITC_ATTR_INT, .i = 1},
                          {.name = "alpha", .type = VITC_ATTR_FLOAT, .f = 0.5},
                          {.name = "beta", .type = VITC_ATTR_FLOAT, .f = 2.0}};
    c = node(g, VITC_OP_Gemm, (int[]){x, tensor(g, 2, nk, 3, -1, 2), tensor(g, 1, &channels, 5, -1, 2)}, 3, attrs, 3);
  }
  vitc_attr eps = {.name = "epsilon", .type = VITC_ATTR_FLOAT, .f = 1e-3};
  int y = node(g, VITC_OP_BatchNormalization,
               (int[]){c, tensor(g, 1, &channels, 7, 0.5f, 1), tensor(g, 1, &channels, 9, -1, 2),
                       tensor(g, 1, &channels, 11, -0.5f, 1), tensor(g, 1, &channels, 13, 0.2f, 2)},
               5, &eps, 1);
  tg_output(t, y);
  if (variant == BN_MISS_SHARED) tg_output(t, c);
}

static void test_batch_norm_folds(void) {
  static const char *const names[] = {"conv", "conv_no_bias", "matmul", "gemm"};
  for (int variant = BN_CONV; variant <= BN_GEMM; variant++) {
    vitc_op into = variant == BN_CONV || variant == BN_CONV_NO_BIAS ? VITC_OP_Conv : VITC_OP_Gemm;
    const fh_count fused[] = {{into, 1}, {VITC_OP_BatchNormalization, 0}};
    vitc_graph *g = check_case(names[variant], build_batch_norm, variant, vitc_fold_batch_norm, 1, fused, 2);
    const vitc_node *n = fh_find_op(g, into);
    if (n) {
      CHECK(n->nin == 3);
      if (into == VITC_OP_Conv) CHECK(vitc_attr_int(n, "group", 1) == (variant == BN_CONV_NO_BIAS ? 2 : 1));
      if (into == VITC_OP_Gemm) CHECK(vitc_attr_int(n, "transB", 0) == (variant == BN_GEMM));
    }
    vitc_graph_free(g);
  }
  const fh_count kept[] = {{VITC_OP_Conv, 1}, {VITC_OP_BatchNormalization, 1}};
  vitc_graph_free(check_case("shared conv", build_batch_norm, BN_MISS_SHARED, vitc_fold_batch_norm, 2, kept, 2));
}

/* A Mul or Add by a per-channel constant after a Conv (NCHW LayerScale) folds the same way. */
enum {
  CA_MUL,          /* Conv → Mul(γ [C, 1, 1]) */
  CA_MUL_LEFT,     /* Conv → Mul(γ [1, C, 1, 1], conv): the constant first */
  CA_ADD,          /* grouped Conv without bias → Add(β [C, 1, 1]) */
  CA_MISS_SPATIAL, /* Mul by [1, 1, 4]: as many values as channels, but along W */
  CA_MISS_SCALAR,  /* Mul by one value: broadcasts over every axis (fuse_gemm_epilogue's affair), kept */
  CA_MISS_SHARED,  /* the Conv's output is also a graph output */
  CA_MISS_INPUT,   /* γ a graph input, not known */
};

static void build_channel_affine(test_graph *t, int variant) {
  const int64_t image[] = {1, 2, 4, 4}, w4[] = {4, 2, 3, 3}, grouped[] = {4, 1, 3, 3}, chw[] = {4, 1, 1},
                nchw[] = {1, 4, 1, 1}, wide[] = {1, 1, 4}, one[] = {1}, channels = 4;
  vitc_graph *g = t->g;
  int x = tg_input(t, VITC_F32, 4, image);
  int64_t pads[] = {1, 1, 1, 1};
  vitc_attr attrs[2] = {{.name = "pads", .type = VITC_ATTR_INTS, .n = 4, .ints = pads},
                        {.name = "group", .type = VITC_ATTR_INT, .i = 2}};
  int c = variant == CA_ADD ? node(g, VITC_OP_Conv, (int[]){x, tensor(g, 4, grouped, 3, -1, 2)}, 2, attrs, 2)
                            : node(g, VITC_OP_Conv, (int[]){x, tensor(g, 4, w4, 3, -1, 2), tensor(g, 1, &channels, 5, -1, 2)},
                                   3, attrs, 1);
  int k = variant == CA_MUL_LEFT       ? tensor(g, 4, nchw, 7, 0.5f, 1)
          : variant == CA_MISS_SPATIAL ? tensor(g, 3, wide, 7, 0.5f, 1)
          : variant == CA_MISS_SCALAR  ? tensor(g, 1, one, 7, 0.5f, 1)
          : variant == CA_MISS_INPUT   ? tg_input(t, VITC_F32, 3, chw)
                                       : tensor(g, 3, chw, 7, 0.5f, 1);
  int y = variant == CA_ADD ? binary(g, VITC_OP_Add, c, k)
          : variant == CA_MUL_LEFT ? binary(g, VITC_OP_Mul, k, c) : binary(g, VITC_OP_Mul, c, k);
  tg_output(t, y);
  if (variant == CA_MISS_SHARED) tg_output(t, c);
}

static void test_channel_affine_folds(void) {
  static const char *const names[] = {"layer scale", "layer scale first", "channel bias", "along W", "scalar",
                                      "shared conv", "unknown scale"};
  for (int variant = CA_MUL; variant <= CA_MISS_INPUT; variant++) {
    bool folds = variant <= CA_ADD;
    vitc_op other = variant == CA_ADD ? VITC_OP_Add : VITC_OP_Mul;
    const fh_count want[] = {{VITC_OP_Conv, 1}, {other, !folds}};
    vitc_graph *g = check_case(names[variant], build_channel_affine, variant, vitc_fold_batch_norm, folds ? 1 : 2, want, 2);
    const vitc_node *n = fh_find_op(g, VITC_OP_Conv);
    if (n && folds) CHECK(n->nin == 3 && vitc_attr_int(n, "group", 1) == (variant == CA_ADD ? 2 : 1));
    vitc_graph_free(g);
  }
}

/* merge_parallel_convs: reparameterisable branches over one image (MobileOne, FastViT). */
enum {
  PC_ADD,          /* Conv 3x3 + Conv 1x1, group 2 */
  PC_SUB_IDENTITY, /* depthwise Conv 3x3 - BatchNorm(x) */
  PC_CHAIN,        /* (Conv 1x1 + BatchNorm(x)) + Conv 3x3, dense: the identity on channel m itself */
  PC_STRIDED,      /* Conv 3x3 + Conv 1x1, both stride 2 (MobileOne's downsampling) */
  PC_MISS_INPUTS,  /* the two Convs read different images */
  PC_MISS_OFFSET,  /* a 3x3 Conv padded after only (pads 0, 0, 2, 2): the same shape, its taps not centred on the 1x1's */
  PC_MISS_SHARED,  /* a Conv's output is also a graph output */
};

/* pad < 0: pads 0 before and -pad after */
static int pc_conv(test_graph *t, int x, const int64_t *wd, unsigned seed, int64_t group, int64_t pad, int64_t stride) {
  int64_t before = pad < 0 ? 0 : pad, after = pad < 0 ? -pad : pad;
  int64_t pads[4] = {before, before, after, after}, strides[2] = {stride, stride};
  vitc_attr attrs[3] = {{.name = "pads", .type = VITC_ATTR_INTS, .n = 4, .ints = pads},
                        {.name = "group", .type = VITC_ATTR_INT, .i = group},
                        {.name = "strides", .type = VITC_ATTR_INTS, .n = 2, .ints = strides}};
  int64_t m = wd[0];
  return node(t->g, VITC_OP_Conv, (int[]){x, tensor(t->g, 4, wd, seed, -1, 2), tensor(t->g, 1, &m, seed + 1, -1, 2)}, 3,
              attrs, 3);
}

static int pc_norm(test_graph *t, int x, int64_t channels) {
  vitc_attr eps = {.name = "epsilon", .type = VITC_ATTR_FLOAT, .f = 1e-3};
  vitc_graph *g = t->g;
  return node(g, VITC_OP_BatchNormalization,
              (int[]){x, tensor(g, 1, &channels, 7, 0.5f, 1), tensor(g, 1, &channels, 9, -1, 2),
                      tensor(g, 1, &channels, 11, -0.5f, 1), tensor(g, 1, &channels, 13, 0.2f, 2)},
              5, &eps, 1);
}

static void build_parallel_convs(test_graph *t, int variant) {
  const int64_t image[] = {1, 4, 6, 5}, dense3[] = {4, 4, 3, 3}, dense1[] = {4, 4, 1, 1}, grouped3[] = {4, 2, 3, 3},
                grouped1[] = {4, 2, 1, 1}, dw3[] = {4, 1, 3, 3};
  vitc_graph *g = t->g;
  g->opset = 13;
  int x = tg_input(t, VITC_F32, 4, image), y;
  if (variant == PC_SUB_IDENTITY) {
    y = binary(g, VITC_OP_Sub, pc_conv(t, x, dw3, 3, 4, 1, 1), pc_norm(t, x, 4));
  } else if (variant == PC_CHAIN) {
    int a = binary(g, VITC_OP_Add, pc_conv(t, x, dense1, 3, 1, 0, 1), pc_norm(t, x, 4));
    y = binary(g, VITC_OP_Add, a, pc_conv(t, x, dense3, 5, 1, 1, 1));
  } else {
    int other = variant == PC_MISS_INPUTS ? tg_input(t, VITC_F32, 4, image) : x;
    int64_t stride = variant == PC_STRIDED ? 2 : 1;
    int a = pc_conv(t, x, grouped3, 3, 2, variant == PC_MISS_OFFSET ? -2 : 1, stride);
    int b = pc_conv(t, other, grouped1, 5, 2, 0, stride);
    y = binary(g, VITC_OP_Add, a, b);
    if (variant == PC_MISS_SHARED) tg_output(t, b);
  }
  tg_output(t, y);
}

static void test_parallel_convs(void) {
  static const char *const names[] = {"conv + conv", "conv - identity", "chain", "strided pair", "two images",
                                      "3x3 padded after only", "shared branch"};
  for (int variant = PC_ADD; variant <= PC_MISS_SHARED; variant++) {
    bool merges = variant <= PC_STRIDED;
    const fh_count want[] = {{VITC_OP_Conv, merges ? 1 : 2}, {VITC_OP_BatchNormalization, 0}, {VITC_OP_Add, !merges},
                             {VITC_OP_Sub, 0}};
    vitc_graph *g = check_case(names[variant], build_parallel_convs, variant, vitc_merge_parallel_convs, merges ? 1 : 3,
                               want, 4);
    vitc_graph_free(g);
  }
}

/* A BatchNormalization before a Conv (MaxViT's MBConv pre-norm): folds into the input channels when no
 * tap reads the padding. */
enum {
  BNB_POINTWISE, /* BN → 1x1 Conv with bias */
  BNB_GROUPED,   /* BN → 3x3 Conv, group 2, no pads, no bias, stride 2 */
  BNB_MISS_PADS, /* BN → 3x3 Conv with pads 1: the padding would read 0, not the shift */
  BNB_MISS_SHARED, /* the BN's output is also a graph output */
};

static void build_norm_before(test_graph *t, int variant) {
  const int64_t image[] = {1, 4, 7, 5}, w1[] = {3, 4, 1, 1}, w3[] = {6, 2, 3, 3}, bias[] = {3}, channels = 4;
  vitc_graph *g = t->g;
  int x = tg_input(t, VITC_F32, 4, image);
  vitc_attr eps = {.name = "epsilon", .type = VITC_ATTR_FLOAT, .f = 1e-3};
  int n = node(g, VITC_OP_BatchNormalization,
               (int[]){x, tensor(g, 1, &channels, 7, 0.5f, 1), tensor(g, 1, &channels, 9, -1, 2),
                       tensor(g, 1, &channels, 11, -0.5f, 1), tensor(g, 1, &channels, 13, 0.2f, 2)},
               5, &eps, 1);
  int64_t pads[] = {1, 1, 1, 1}, strides[] = {2, 2};
  vitc_attr attrs[3] = {{.name = "group", .type = VITC_ATTR_INT, .i = 2},
                        {.name = "strides", .type = VITC_ATTR_INTS, .n = 2, .ints = strides},
                        {.name = "pads", .type = VITC_ATTR_INTS, .n = 4, .ints = pads}};
  int y;
  if (variant == BNB_POINTWISE || variant == BNB_MISS_SHARED)
    y = node(g, VITC_OP_Conv, (int[]){n, tensor(g, 4, w1, 3, -1, 2), tensor(g, 1, bias, 5, -1, 2)}, 3, NULL, 0);
  else
    y = node(g, VITC_OP_Conv, (int[]){n, tensor(g, 4, w3, 3, -1, 2)}, 2, attrs, variant == BNB_MISS_PADS ? 3 : 2);
  tg_output(t, y);
  if (variant == BNB_MISS_SHARED) tg_output(t, n);
}

static void test_batch_norm_before_conv(void) {
  const fh_count fused[] = {{VITC_OP_Conv, 1}, {VITC_OP_BatchNormalization, 0}};
  vitc_graph *g = check_case("norm before 1x1", build_norm_before, BNB_POINTWISE, vitc_fold_batch_norm, 1, fused, 2);
  const vitc_node *c = fh_find_op(g, VITC_OP_Conv);
  CHECK(c && c->nin == 3 && g->tensors[c->in[0]].producer < 0); /* reads x itself */
  vitc_graph_free(g);
  g = check_case("norm before grouped", build_norm_before, BNB_GROUPED, vitc_fold_batch_norm, 1, fused, 2);
  c = fh_find_op(g, VITC_OP_Conv);
  CHECK(c && c->nin == 3 && vitc_attr_int(c, "group", 1) == 2);
  vitc_graph_free(g);
  const fh_count kept[] = {{VITC_OP_Conv, 1}, {VITC_OP_BatchNormalization, 1}};
  vitc_graph_free(check_case("norm before padded", build_norm_before, BNB_MISS_PADS, vitc_fold_batch_norm, 2, kept, 2));
  vitc_graph_free(check_case("norm before, shared", build_norm_before, BNB_MISS_SHARED, vitc_fold_batch_norm, 2, kept, 2));
}

/* A BatchNormalization folded into nothing (XCiT's LPI: GELU → BatchNorm → padded depthwise conv)
 * becomes Mul and Add of per-channel constants (lower_batch_norm). */
enum {
  BNL_IMAGE,        /* Relu → BatchNorm over an image [1, 4, 3, 5] */
  BNL_ROWS,         /* Relu → BatchNorm over rows [6, 4] */
  BNL_MISS_F64,     /* a float64 image: the affine's constants would be float32 */
  BNL_MISS_UNKNOWN, /* the running mean a graph input */
};

static void build_norm_alone(test_graph *t, int variant) {
  const int64_t image[] = {1, 4, 3, 5}, rows[] = {6, 4}, channels = 4;
  vitc_graph *g = t->g;
  vitc_dtype dtype = variant == BNL_MISS_F64 ? VITC_F64 : VITC_F32;
  int x = unary(g, VITC_OP_Relu, tg_input(t, dtype, variant == BNL_ROWS ? 2 : 4, variant == BNL_ROWS ? rows : image));
  int mean = variant == BNL_MISS_UNKNOWN ? tg_input(t, VITC_F32, 1, &channels) : tensor(g, 1, &channels, 11, -0.5f, 1);
  vitc_attr eps = {.name = "epsilon", .type = VITC_ATTR_FLOAT, .f = 1e-3};
  tg_output(t, node(g, VITC_OP_BatchNormalization,
                    (int[]){x, tensor(g, 1, &channels, 7, 0.5f, 1), tensor(g, 1, &channels, 9, -1, 2), mean,
                            tensor(g, 1, &channels, 13, 0.2f, 2)},
                    5, &eps, 1));
}

static void test_batch_norm_lowered(void) {
  const fh_count lowered[] = {{VITC_OP_BatchNormalization, 0}, {VITC_OP_Mul, 1}, {VITC_OP_Add, 1}};
  vitc_graph *g = check_case("norm alone, image", build_norm_alone, BNL_IMAGE, vitc_lower_batch_norm, 3, lowered, 3);
  const vitc_node *m = fh_find_op(g, VITC_OP_Mul);
  const vitc_value *gain = m ? &g->tensors[m->in[1]].v : NULL;
  CHECK(gain && gain->rank == 4 && gain->dims[1] == 4 && vitc_numel(gain) == 4);
  vitc_graph_free(g);
  vitc_graph_free(check_case("norm alone, rows", build_norm_alone, BNL_ROWS, vitc_lower_batch_norm, 3, lowered, 3));
  const fh_count kept[] = {{VITC_OP_BatchNormalization, 1}, {VITC_OP_Mul, 0}};
  vitc_graph_free(check_case("float64", build_norm_alone, BNL_MISS_F64, vitc_lower_batch_norm, 2, kept, 2));
  vitc_graph_free(check_case("unknown mean", build_norm_alone, BNL_MISS_UNKNOWN, vitc_lower_batch_norm, 2, kept, 2));
}

/* The folded weight is a new constant: the original may be a read-only mapping, or read elsewhere. */
static void test_batch_norm_keeps_weight(void) {
  test_graph t = tg_new();
  build_batch_norm(&t, BN_CONV);
  vitc_graph *g = t.g;
  vitc_error err = {0};
  int w = g->nodes[0].in[1];
  float before = ((const float *)g->tensors[w].v.data)[0];
  CHECK(vitc_infer_shapes(g, &err) == VITC_OK && vitc_fold_batch_norm(g, &err) == VITC_OK);
  CHECK(((const float *)g->tensors[w].v.data)[0] == before);
  CHECK(g->nnodes == 1 && g->nodes[0].in[1] != w);
  vitc_graph_free(g);
}

/* ---------------------------------------------------------------- the pipeline */

/* -O1 runs the recomposing passes: a LayerNorm feeding a GELU becomes two nodes. */
static void test_pipeline_recomposes(void) {
  test_graph t = tg_new();
  build_layer_norm(&t, LN_TORCH);
  vitc_graph *g = t.g;
  int y = g->outputs[0];
  int u = binary(g, VITC_OP_Div, y, scalar(g, 1.4142135f));
  int a = binary(g, VITC_OP_Add, unary(g, VITC_OP_Erf, u), scalar(g, 1));
  int z = binary(g, VITC_OP_Mul, binary(g, VITC_OP_Mul, y, a), scalar(g, 0.5f));
  g->outputs[0] = z;
  vitc_error err = {0};
  vitc_pass_options o = {.opt_level = 1, .verify_each = true};
  CHECK(vitc_run_passes(g, &o, &err) == VITC_OK);
  CHECK(g->nnodes == 2 && count_op(g, VITC_OP_LayerNormalization) == 1 && count_op(g, VITC_OP_Gelu) == 1);
  vitc_graph_free(g);
}

/* A LayerNorm, then each activation, compiled: the recomposed ops' kernels against the evaluator. */
static void test_fused_ops_compile(void) {
  test_graph t = tg_new();
  const int64_t xd[] = {3, 16}, vec[] = {16};
  static const int64_t last[] = {-1};
  int x = tg_input(&t, VITC_F32, 2, xd);
  vitc_graph *g = t.g;
  int a = axes(g, 1, last);
  int d = binary(g, VITC_OP_Sub, x, node(g, VITC_OP_ReduceMean, (int[]){x, a}, 2, NULL, 0));
  int v = node(g, VITC_OP_ReduceMean, (int[]){binary(g, VITC_OP_Mul, d, d), a}, 2, NULL, 0);
  int s = unary(g, VITC_OP_Sqrt, binary(g, VITC_OP_Add, v, scalar(g, 1e-5f)));
  int n = binary(g, VITC_OP_Add, binary(g, VITC_OP_Mul, binary(g, VITC_OP_Div, d, s), tg_const(&t, VITC_F32, 1, vec, 3)),
                 tg_const(&t, VITC_F32, 1, vec, 5));
  int e = binary(g, VITC_OP_Add, unary(g, VITC_OP_Erf, binary(g, VITC_OP_Mul, n, scalar(g, 0.70710678f))), scalar(g, 1));
  int gelu = binary(g, VITC_OP_Mul, binary(g, VITC_OP_Mul, n, scalar(g, 0.5f)), e);
  int silu = binary(g, VITC_OP_Mul, gelu, unary(g, VITC_OP_Sigmoid, gelu));
  int quick = binary(g, VITC_OP_Mul, silu, unary(g, VITC_OP_Sigmoid, binary(g, VITC_OP_Mul, silu, scalar(g, 1.702f))));
  tg_output(&t, quick);
  vitc_error err = {0};
  vitc_status st = tg_compile(&t, 1, &err);
  if (st != VITC_OK) fprintf(stderr, "compile: %s\n", err.msg);
  CHECK(st == VITC_OK);
  if (st == VITC_OK) {
    CHECK(t.g->nnodes == 4 && count_op(t.g, VITC_OP_LayerNormalization) == 1 && count_op(t.g, VITC_OP_Gelu) == 1 &&
          count_op(t.g, VITC_OP_Silu) == 1 && count_op(t.g, VITC_OP_QuickGelu) == 1);
    CHECK(tg_compare(&t, "fused ops", 1e-4, 1e-6) == 0);
  }
  tg_free(&t);
}

int main(void) {
  test_layer_norm_variants();
  test_layer_norm_near_misses();
  test_layer_norm_shared_inner();
  test_gelu_variants();
  test_gelu_near_misses();
  test_sigmoid_gated();
  test_batch_norm_folds();
  test_batch_norm_keeps_weight();
  test_channel_affine_folds();
  test_parallel_convs();
  test_batch_norm_before_conv();
  test_batch_norm_lowered();
  test_pipeline_recomposes();
  test_fused_ops_compile();
  CHECK_DONE();
}

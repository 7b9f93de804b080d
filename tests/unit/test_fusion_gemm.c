/* test_fusion_gemm.c — fuse_gemm_epilogue on tiny graphs: each epilogue it absorbs, and near misses that
 * must stay (or stop the chain early). Each case checks the histogram, the evaluator before/after the
 * pass and the JIT of the whole pipeline (fusion_harness.h).
 *
 * Shapes exercise the kernel's edges: N = 56 one full 48-wide panel and a masked one, M = 2·13 rows a short
 * last row block (K in several blocks before the epilogue: test_backend_gemm.c's FusedGemm cases).
 * The view cases are ViT's attention out-projection: rows regrouped around a Gemm before the residual. */
#include "fusion_harness.h"

enum { M0 = 2, M1 = 13, K = 300, N = 56 };

enum {
  G_BIAS,               /* MatMul + Add(b [N]) */
  G_BIAS_LEFT,          /* Add(b [1, 1, N], MatMul) */
  G_RELU,               /* + Relu */
  G_GELU,               /* + Gelu */
  G_GELU_TANH,          /* + Gelu {approximate tanh} */
  G_SILU,               /* + vitc.Silu (MobileViT) */
  G_RESIDUAL,           /* + Gelu + Add(r) */
  G_LAYERSCALE,         /* + Mul(γ) + Add(r) */
  G_GAMMA_ONLY,         /* + Gelu + Mul(γ), then a Transpose before the residual (ConvNeXt) */
  G_GEMM_TRANSB,        /* Gemm(x 2-D, W [N, K], C [N]) {transB} + Relu */
  G_RESIDUAL_ONLY,      /* MatMul + Add(r): no bias */
  MISS_BIAS_ROWS,       /* bias [M1, N] varies along rows */
  MISS_BIAS_COLUMN,     /* bias [N, 1] on a [N, N] product */
  MISS_ACT_SHARED,      /* the activation's input is also a graph output: bias fuses, Relu stays */
  MISS_RESIDUAL_BCAST,  /* residual [N] broadcasts: bias fuses, the Add stays */
  G_RESIDUAL_REPEATED,  /* + Add(r [1, M1, N]): one image's residual repeated over M0 (a position embedding) */
  MISS_RESIDUAL_MIDDLE, /* residual [M0, 1, N] broadcasts along a middle dim: bias fuses, the Add stays */
  MISS_RESIDUAL_RANK,   /* residual [M1, N] of lower rank: bias fuses, the Add stays */
  G_VIEW,               /* x [1, M, K] → Reshape [M, K] → Gemm {transB} + C → Reshape [1, M, N] → Add(r) */
  G_VIEW_TRANSPOSE,     /* x [M, 4, K/4] → Reshape [M, K] → Gemm → Reshape [M, 1, N] → Transpose → Add(r) */
  MISS_VIEW_LAST_DIM,   /* as G_VIEW, but the Reshape after the Gemm splits N: [1, M, 2, N/2] */
  MISS_VIEW_TRANSPOSE,  /* MatMul [M0, M1, N] → Transpose {1, 0, 2} (moves a dim > 1) → Add(r) */
};

/* A known int64 shape for Reshape. */
static int shape(test_graph *t, int rank, const int64_t *dims) {
  vitc_value v = {.dtype = VITC_I64, .rank = 1, .dims = {rank}, .data = (void *)dims};
  return vitc_graph_add_constant(t->g, NULL, &v);
}

/* The view cases: a linear layer between Reshapes (and a Transpose), then the residual. */
static void build_view(test_graph *t, int variant) {
  static int64_t swap[] = {1, 0, 2}; /* the graph keeps the pointer */
  vitc_attr perm = {.name = "perm", .type = VITC_ATTR_INTS, .n = 3, .ints = swap};
  const int64_t xd[] = {1, M0 * M1, K}, heads[] = {M0 * M1, 4, K / 4}, rows[] = {M0 * M1, K}, wt[] = {N, K},
                vec[] = {N}, yd[] = {1, M0 * M1, N}, yt[] = {M0 * M1, 1, N}, split[] = {1, M0 * M1, 2, N / 2},
                xm[] = {M0, M1, K}, wd[] = {K, N}, ym[] = {M1, M0, N};
  if (variant == MISS_VIEW_TRANSPOSE) {
    int y = fh_op(t, VITC_OP_MatMul, tg_input(t, VITC_F32, 3, xm), tg_const(t, VITC_F32, 2, wd, 1));
    y = tg_node(t, VITC_OP_Transpose, &y, 1, 1, &perm, 1);
    tg_output(t, fh_op(t, VITC_OP_Add, y, tg_input(t, VITC_F32, 3, ym)));
    return;
  }
  int x = variant == G_VIEW_TRANSPOSE ? tg_input(t, VITC_F32, 3, heads) : tg_input(t, VITC_F32, 3, xd);
  int in[3] = {fh_op(t, VITC_OP_Reshape, x, shape(t, 2, rows)), tg_const(t, VITC_F32, 2, wt, 1),
               tg_const(t, VITC_F32, 1, vec, 2)};
  vitc_attr tb = {.name = "transB", .type = VITC_ATTR_INT, .i = 1};
  int y = tg_node(t, VITC_OP_Gemm, in, 3, 1, &tb, 1);
  const int64_t *out = variant == G_VIEW_TRANSPOSE ? yt : variant == MISS_VIEW_LAST_DIM ? split : yd;
  int rank = variant == MISS_VIEW_LAST_DIM ? 4 : 3;
  y = fh_op(t, VITC_OP_Reshape, y, shape(t, rank, out));
  if (variant == G_VIEW_TRANSPOSE) y = tg_node(t, VITC_OP_Transpose, &y, 1, 1, &perm, 1);
  tg_output(t, fh_op(t, VITC_OP_Add, tg_input(t, VITC_F32, rank, variant == MISS_VIEW_LAST_DIM ? split : yd), y));
}

static void build(test_graph *t, int variant) {
  const int64_t xd[] = {M0, M1, K}, square[] = {N, K}, wd[] = {K, N}, wt[] = {N, K}, vec[] = {N}, lead[] = {1, 1, N},
                rows[] = {M1, N}, col[] = {N, 1}, yd[] = {M0, M1, N}, image[] = {1, M1, N}, middle[] = {M0, 1, N};
  if (variant >= G_VIEW) {
    build_view(t, variant);
    return;
  }
  bool two_d = variant == G_GEMM_TRANSB || variant == MISS_BIAS_COLUMN;
  int x = tg_input(t, VITC_F32, two_d ? 2 : 3, two_d ? square : xd);
  int y;
  if (variant == G_GEMM_TRANSB) {
    int in[3] = {x, tg_const(t, VITC_F32, 2, wt, 1), tg_const(t, VITC_F32, 1, vec, 2)};
    vitc_attr tb = {.name = "transB", .type = VITC_ATTR_INT, .i = 1};
    y = tg_node(t, VITC_OP_Gemm, in, 3, 1, &tb, 1);
    tg_output(t, fh_op(t, VITC_OP_Relu, y, -1));
    return;
  }
  y = fh_op(t, VITC_OP_MatMul, x, tg_const(t, VITC_F32, 2, wd, 1));
  if (variant == G_RESIDUAL_ONLY) {
    tg_output(t, fh_op(t, VITC_OP_Add, y, tg_input(t, VITC_F32, 3, yd)));
    return;
  }
  int bias = variant == MISS_BIAS_ROWS     ? tg_const(t, VITC_F32, 2, rows, 2)
             : variant == MISS_BIAS_COLUMN ? tg_const(t, VITC_F32, 2, col, 2)
             : variant == G_BIAS_LEFT      ? tg_const(t, VITC_F32, 3, lead, 2)
                                           : tg_const(t, VITC_F32, 1, vec, 2);
  y = variant == G_BIAS_LEFT ? fh_op(t, VITC_OP_Add, bias, y) : fh_op(t, VITC_OP_Add, y, bias);
  if (variant == MISS_ACT_SHARED) tg_output(t, y);
  if (variant == G_RELU || variant == MISS_ACT_SHARED) y = fh_op(t, VITC_OP_Relu, y, -1);
  if (variant == G_SILU) y = fh_op(t, VITC_OP_Silu, y, -1);
  if (variant == G_GELU || variant == G_GELU_TANH || variant == G_RESIDUAL || variant == G_GAMMA_ONLY) {
    vitc_attr approx = {.name = "approximate", .type = VITC_ATTR_STRING, .s = variant == G_GELU_TANH ? "tanh" : "none"};
    y = tg_node(t, VITC_OP_Gelu, &y, 1, 1, &approx, 1);
  }
  if (variant == G_LAYERSCALE || variant == G_GAMMA_ONLY) y = fh_op(t, VITC_OP_Mul, tg_const(t, VITC_F32, 1, vec, 3), y);
  if (variant == G_GAMMA_ONLY) {
    static int64_t swap[] = {0, 2, 1}; /* the graph keeps the pointer */
    vitc_attr perm = {.name = "perm", .type = VITC_ATTR_INTS, .n = 3, .ints = swap};
    y = tg_node(t, VITC_OP_Transpose, &y, 1, 1, &perm, 1);
    const int64_t td[] = {M0, N, M1};
    y = fh_op(t, VITC_OP_Add, y, tg_input(t, VITC_F32, 3, td));
  }
  if (variant == G_RESIDUAL || variant == G_LAYERSCALE) y = fh_op(t, VITC_OP_Add, tg_input(t, VITC_F32, 3, yd), y);
  if (variant == MISS_RESIDUAL_BCAST) y = fh_op(t, VITC_OP_Add, y, tg_input(t, VITC_F32, 1, vec));
  if (variant == G_RESIDUAL_REPEATED) y = fh_op(t, VITC_OP_Add, tg_input(t, VITC_F32, 3, image), y);
  if (variant == MISS_RESIDUAL_MIDDLE) y = fh_op(t, VITC_OP_Add, y, tg_input(t, VITC_F32, 3, middle));
  if (variant == MISS_RESIDUAL_RANK) y = fh_op(t, VITC_OP_Add, y, tg_input(t, VITC_F32, 2, rows));
  tg_output(t, y);
}

static const char *activation(const vitc_graph *g) {
  const vitc_node *n = fh_find_op(g, VITC_OP_FusedGemm);
  return n ? vitc_attr_str(n, "activation", "none") : "";
}

static int fused_inputs(const vitc_graph *g) {
  const vitc_node *n = fh_find_op(g, VITC_OP_FusedGemm);
  int c = 0;
  for (int k = 0; n && k < n->nin; k++) c += n->in[k] >= 0;
  return c;
}

static void test_fuses(void) {
  static const struct {
    const char *what;
    int variant;
    const char *act;
    int inputs; /* A, B, then bias, residual, gamma when present */
  } cases[] = {
      {"bias", G_BIAS, "none", 3},
      {"bias on the left, [1, 1, N]", G_BIAS_LEFT, "none", 3},
      {"relu", G_RELU, "relu", 3},
      {"gelu", G_GELU, "gelu_erf", 3},
      {"gelu tanh", G_GELU_TANH, "gelu_tanh", 3},
      {"silu", G_SILU, "silu", 3},
      {"gelu and residual", G_RESIDUAL, "gelu_erf", 4},
      {"layerscale and residual", G_LAYERSCALE, "none", 5},
      {"layerscale, residual after a Transpose", G_GAMMA_ONLY, "gelu_erf", 4},
      {"Gemm transB", G_GEMM_TRANSB, "relu", 3},
      {"residual without bias", G_RESIDUAL_ONLY, "none", 3},
      {"residual repeated per image", G_RESIDUAL_REPEATED, "none", 4},
      {"residual after a Reshape", G_VIEW, "none", 4},
      {"residual after a Reshape and a Transpose", G_VIEW_TRANSPOSE, "none", 4},
  };
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    int adds = cases[c].variant == G_GAMMA_ONLY; /* the residual after the Transpose */
    const fh_count want[] = {{VITC_OP_FusedGemm, 1}, {VITC_OP_MatMul, 0}, {VITC_OP_Gemm, 0}, {VITC_OP_Add, adds},
                             {VITC_OP_Relu, 0},      {VITC_OP_Gelu, 0},   {VITC_OP_Mul, 0},   {VITC_OP_Silu, 0}};
    vitc_graph *g = fh_check(cases[c].what, build, cases[c].variant, vitc_fuse_gemm_epilogue, want, 8);
    CHECK(!strcmp(activation(g), cases[c].act));
    CHECK(fused_inputs(g) == cases[c].inputs);
    CHECK(count_op(g, VITC_OP_Transpose) == (cases[c].variant == G_GAMMA_ONLY));
    vitc_graph_free(g);
  }
}

/* A is viewed with the residual's leading dims: the input of A's Reshape itself when it has them (the
 * old Reshape is left to eliminate_dead), else a new Reshape of that input. */
static void test_views(void) {
  vitc_graph *g = fh_check("view: A read through", build, G_VIEW, vitc_fuse_gemm_epilogue, NULL, 0);
  const vitc_node *f = fh_find_op(g, VITC_OP_FusedGemm);
  CHECK(f && f->in[0] == g->inputs[0] && f->in[3] == g->inputs[1]);
  CHECK(count_op(g, VITC_OP_Reshape) == 1);
  vitc_graph_free(g);
  g = fh_check("view: A reshaped", build, G_VIEW_TRANSPOSE, vitc_fuse_gemm_epilogue, NULL, 0);
  f = fh_find_op(g, VITC_OP_FusedGemm);
  const vitc_tensor *a = f ? &g->tensors[f->in[0]] : NULL;
  CHECK(a && a->producer >= 0 && g->nodes[a->producer].op == VITC_OP_Reshape);
  CHECK(a && a->v.rank == 3 && a->v.dims[0] == 1 && a->v.dims[1] == M0 * M1 && a->v.dims[2] == K);
  CHECK(a && g->nodes[a->producer].in[0] == g->inputs[0]);
  vitc_graph_free(g);
}

static void test_near_misses(void) {
  const fh_count untouched[] = {{VITC_OP_FusedGemm, 0}, {VITC_OP_MatMul, 1}, {VITC_OP_Add, 1}};
  vitc_graph_free(fh_check("bias [M, N]", build, MISS_BIAS_ROWS, vitc_fuse_gemm_epilogue, untouched, 3));
  vitc_graph_free(fh_check("bias [N, 1]", build, MISS_BIAS_COLUMN, vitc_fuse_gemm_epilogue, untouched, 3));
  const fh_count bias_only[] = {{VITC_OP_FusedGemm, 1}, {VITC_OP_Relu, 1}, {VITC_OP_MatMul, 0}};
  vitc_graph_free(fh_check("shared activation input", build, MISS_ACT_SHARED, vitc_fuse_gemm_epilogue, bias_only, 3));
  const fh_count no_residual[] = {{VITC_OP_FusedGemm, 1}, {VITC_OP_Add, 1}, {VITC_OP_MatMul, 0}};
  vitc_graph *g = fh_check("broadcast residual", build, MISS_RESIDUAL_BCAST, vitc_fuse_gemm_epilogue, no_residual, 3);
  CHECK(fused_inputs(g) == 3);
  vitc_graph_free(g);
  g = fh_check("residual broadcast along a middle dim", build, MISS_RESIDUAL_MIDDLE, vitc_fuse_gemm_epilogue,
               no_residual, 3);
  CHECK(fused_inputs(g) == 3);
  vitc_graph_free(g);
  g = fh_check("residual of lower rank", build, MISS_RESIDUAL_RANK, vitc_fuse_gemm_epilogue, no_residual, 3);
  CHECK(fused_inputs(g) == 3);
  vitc_graph_free(g);
  const fh_count plain_gemm[] = {{VITC_OP_FusedGemm, 0}, {VITC_OP_Gemm, 1}, {VITC_OP_Reshape, 2}, {VITC_OP_Add, 1}};
  vitc_graph_free(fh_check("Reshape splits N", build, MISS_VIEW_LAST_DIM, vitc_fuse_gemm_epilogue, plain_gemm, 4));
  const fh_count plain_matmul[] = {{VITC_OP_FusedGemm, 0}, {VITC_OP_MatMul, 1}, {VITC_OP_Transpose, 1}, {VITC_OP_Add, 1}};
  vitc_graph_free(fh_check("Transpose moves rows", build, MISS_VIEW_TRANSPOSE, vitc_fuse_gemm_epilogue, plain_matmul, 4));
}

int main(void) {
  test_fuses();
  test_views();
  test_near_misses();
  CHECK_DONE();
}

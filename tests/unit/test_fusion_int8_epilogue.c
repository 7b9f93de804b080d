/* test_fusion_int8_epilogue.c — fuse_gemm_epilogue on an Int8Gemm (as passes/fuse_qdq leaves it): the
 * activation and the residual after it join it, also across row views (ViT's attention out-projection);
 * and the near misses that must stay: a bias or γ after it (the chain stops), a residual that broadcasts,
 * an activation whose input is also read elsewhere, and an Int8Gemm that has its activation already.
 * Each case checks the histogram, the evaluator before/after the pass and the JIT (fusion_harness.h).
 *
 * Shapes: K = 70 (not a multiple of 4), N = 70 (a full 64-column panel and a masked one), M = 2·13 rows
 * (a short last block of 6). */
#include <string.h>

#include "fusion_harness.h"
#include "runtime/vitc_rt.h"

enum { M0 = 2, M1 = 13, K = 70, N = 70 };

enum {
  G_GELU,              /* Int8Gemm → Gelu */
  G_RELU_RESIDUAL,     /* Int8Gemm → Relu → Add(r) */
  G_RESIDUAL_REPEATED, /* Int8Gemm → Add(r [1, M1, N]): one image's residual repeated over M0 */
  G_VIEW_RESIDUAL,     /* x [1, M, K] → Reshape [M, K] → Int8Gemm → Reshape [1, M, N] → Add(r) */
  MISS_BIAS,           /* Int8Gemm → Add(b [N]): a bias after it is not joined */
  MISS_GAMMA,          /* Int8Gemm → Gelu → Mul(γ) → Add(r): the Gelu joins, γ and the residual stay */
  MISS_ACT_SHARED,     /* the Int8Gemm's output is also a graph output: the Gelu stays */
  MISS_RESIDUAL_BCAST, /* Add(r [N]) broadcasts: it stays */
  MISS_HAS_ACTIVATION, /* an Int8Gemm with activation relu already: the Gelu after it stays */
};

static int constant(test_graph *t, vitc_dtype dt, int rank, int64_t n, const void *data) {
  vitc_value v = {.dtype = dt, .rank = rank, .dims = {n}, .data = (void *)data};
  return vitc_graph_add_constant(t->g, NULL, &v);
}

static int shape(test_graph *t, int rank, const int64_t *dims) {
  vitc_value v = {.dtype = VITC_I64, .rank = 1, .dims = {rank}, .data = (void *)dims};
  return vitc_graph_add_constant(t->g, NULL, &v);
}

/* Int8Gemm(x, 0.02, 120 (uint8), W [K, N] int8, per-column scales, bias) */
static int int8_gemm(test_graph *t, int x, bool relu) {
  static const float s = 0.02f;
  static const uint8_t z = 120;
  static float scales[N];
  for (int j = 0; j < N; j++) scales[j] = 0.002f * (float)(1 + j % 7);
  int in[6] = {x, constant(t, VITC_F32, 0, 1, &s), constant(t, VITC_U8, 0, 1, &z),
               tg_const(t, VITC_I8, 2, (int64_t[]){K, N}, 3), constant(t, VITC_F32, 1, N, scales),
               tg_const(t, VITC_F32, 1, (int64_t[]){N}, 4)};
  vitc_attr act = {.name = "activation", .type = VITC_ATTR_STRING, .s = "relu"};
  return tg_node(t, VITC_OP_Int8Gemm, in, 6, 1, relu ? &act : NULL, relu ? 1 : 0);
}

static void build(test_graph *t, int variant) {
  const int64_t xd[] = {M0, M1, K}, yd[] = {M0, M1, N}, image[] = {1, M1, N}, vec[] = {N}, flat_x[] = {1, M0 * M1, K},
                rows[] = {M0 * M1, K}, flat_y[] = {1, M0 * M1, N};
  if (variant == G_VIEW_RESIDUAL) {
    int x = fh_op(t, VITC_OP_Reshape, tg_input(t, VITC_F32, 3, flat_x), shape(t, 2, rows));
    int y = fh_op(t, VITC_OP_Reshape, int8_gemm(t, x, false), shape(t, 3, flat_y));
    tg_output(t, fh_op(t, VITC_OP_Add, tg_input(t, VITC_F32, 3, flat_y), y));
    return;
  }
  int p = int8_gemm(t, tg_input(t, VITC_F32, 3, xd), variant == MISS_HAS_ACTIVATION), y = p;
  switch (variant) {
  case G_GELU:
  case MISS_ACT_SHARED:
  case MISS_HAS_ACTIVATION:
    y = fh_op(t, VITC_OP_Gelu, p, -1);
    if (variant == MISS_ACT_SHARED) tg_output(t, p);
    break;
  case G_RELU_RESIDUAL: y = fh_op(t, VITC_OP_Add, fh_op(t, VITC_OP_Relu, p, -1), tg_input(t, VITC_F32, 3, yd)); break;
  case G_RESIDUAL_REPEATED: y = fh_op(t, VITC_OP_Add, p, tg_input(t, VITC_F32, 3, image)); break;
  case MISS_BIAS: y = fh_op(t, VITC_OP_Add, p, tg_const(t, VITC_F32, 1, vec, 6)); break;
  case MISS_GAMMA:
    y = fh_op(t, VITC_OP_Mul, fh_op(t, VITC_OP_Gelu, p, -1), tg_const(t, VITC_F32, 1, vec, 7));
    y = fh_op(t, VITC_OP_Add, y, tg_input(t, VITC_F32, 3, yd));
    break;
  case MISS_RESIDUAL_BCAST: y = fh_op(t, VITC_OP_Add, p, tg_input(t, VITC_F32, 1, vec)); break;
  }
  tg_output(t, y);
}

int main(void) {
  char missing[64];
  if (!vitc_rt_cpu_supports("+avx2", missing, sizeof missing)) {
    fprintf(stderr, "skipped: this CPU lacks %s\n", missing);
    return 0;
  }
  static const struct {
    const char *what;
    int variant;
    const char *activation; /* of the Int8Gemm after the pass */
    int nin, gelu, add, reshape;
  } cases[] = {
      {"Gelu joins", G_GELU, "gelu_erf", 6, 0, 0, 0},
      {"Relu and the residual join", G_RELU_RESIDUAL, "relu", 10, 0, 0, 0},
      {"a residual repeated over the images joins", G_RESIDUAL_REPEATED, "none", 10, 0, 0, 0},
      {"the residual joins across a row view", G_VIEW_RESIDUAL, "none", 10, 0, 0, 1},
      {"near miss: a bias Add after it stays", MISS_BIAS, NULL, 6, 0, 1, 0},
      {"near miss: γ stops the chain after the Gelu", MISS_GAMMA, "gelu_erf", 6, 0, 1, 0},
      {"near miss: the product is also an output", MISS_ACT_SHARED, NULL, 6, 1, 0, 0},
      {"near miss: a broadcasting residual stays", MISS_RESIDUAL_BCAST, NULL, 6, 0, 1, 0},
      {"near miss: an activation already joined", MISS_HAS_ACTIVATION, "relu", 6, 1, 0, 0},
  };
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    const fh_count want[] = {{VITC_OP_Int8Gemm, 1}, {VITC_OP_Gelu, cases[c].gelu}, {VITC_OP_Add, cases[c].add},
                             {VITC_OP_Reshape, cases[c].reshape}};
    vitc_graph *g = fh_check(cases[c].what, build, cases[c].variant, vitc_fuse_gemm_epilogue, want, 4);
    const vitc_node *n = fh_find_op(g, VITC_OP_Int8Gemm);
    CHECK(n && n->nin == cases[c].nin);
    const char *act = n && n->nattr ? vitc_attr_str(n, "activation", "none") : NULL;
    CHECK(cases[c].activation ? act && !strcmp(act, cases[c].activation) : !act);
    vitc_graph_free(g);
  }
  CHECK_DONE();
}

/* test_fusion_grn.c — fuse_grn on tiny graphs: ConvNeXt V2's GRN as torch exports it, in other operand
 * orders and axis spellings, near misses that must stay, the GELU before it still joining its GEMM; then
 * the vitc.GRN kernel against the evaluator on awkward sizes (C = 20, 48, 100; H·W = 1, 49, 1024) with
 * one and three threads. */
#include "fusion_harness.h"

enum {
  GRN_EXPORTED, /* x [1, 7, 7, 20]: the exported order, axes [1, 2] and [-1], gamma/beta [1, 1, 1, 20] */
  GRN_SWAPPED,  /* x [2, 1, 1, 100]: every binary op swapped, axes [-3, -2] and [3], gamma/beta [100] */
  GRN_RANK5,    /* x [1, 2, 3, 4, 20]: three spatial axes */
  MISS_NORM,    /* the norm over axis 1 only */
  MISS_MEAN,    /* x [2, 7, 7, 20], the mean over the batch axis, not the channels */
  MISS_RESIDUAL,/* no final Add of x */
  MISS_GAMMA,   /* gamma [1, 1, 7, 20]: varies along W */
};

static int scalar(test_graph *t, float f) {
  vitc_value v = {.dtype = VITC_F32, .rank = 0, .data = &f};
  return vitc_graph_add_constant(t->g, NULL, &v);
}

static int axes(test_graph *t, int n, const int64_t *a) {
  vitc_value v = {.dtype = VITC_I64, .rank = 1, .dims = {n}, .data = (void *)a};
  return vitc_graph_add_constant(t->g, NULL, &v);
}

/* ReduceL2 over `norm_axes`, then the rest of the exported pattern; x's shape from the variant. */
static int grn_pattern(test_graph *t, int variant, int x, int rank, const int64_t *dims) {
  static const int64_t spatial[] = {1, 2}, spatial_neg[] = {-3, -2}, spatial3[] = {1, 2, 3}, first[] = {1};
  static const int64_t last[] = {-1}, last_pos[] = {3}, batch[] = {0};
  bool swap = variant == GRN_SWAPPED;
  const int64_t *na = variant == GRN_RANK5 ? spatial3 : variant == MISS_NORM ? first : swap ? spatial_neg : spatial;
  int nn = variant == GRN_RANK5 ? 3 : variant == MISS_NORM ? 1 : 2;
  int g = tg_node(t, VITC_OP_ReduceL2, (int[]){x, axes(t, nn, na)}, 2, 1, NULL, 0);
  const int64_t *ma = variant == MISS_MEAN ? batch : swap ? last_pos : last;
  int m = tg_node(t, VITC_OP_ReduceMean, (int[]){g, axes(t, 1, ma)}, 2, 1, NULL, 0);
  int e = swap ? fh_op(t, VITC_OP_Add, scalar(t, 1e-6f), m) : fh_op(t, VITC_OP_Add, m, scalar(t, 1e-6f));
  int n = fh_op(t, VITC_OP_Div, g, e);
  int64_t pdims[VITC_MAX_RANK] = {0};
  int prank = swap ? 1 : rank;
  for (int d = 0; d < prank; d++) pdims[d] = d == prank - 1 ? dims[rank - 1] : 1;
  if (variant == MISS_GAMMA) pdims[2] = dims[2];
  int gamma = tg_const(t, VITC_F32, prank, pdims, 3), beta = tg_const(t, VITC_F32, prank, pdims, 4);
  int p = swap ? fh_op(t, VITC_OP_Mul, n, x) : fh_op(t, VITC_OP_Mul, x, n);
  int q = swap ? fh_op(t, VITC_OP_Mul, p, gamma) : fh_op(t, VITC_OP_Mul, gamma, p);
  int r = swap ? fh_op(t, VITC_OP_Add, beta, q) : fh_op(t, VITC_OP_Add, q, beta);
  if (variant == MISS_RESIDUAL) return r;
  return swap ? fh_op(t, VITC_OP_Add, x, r) : fh_op(t, VITC_OP_Add, r, x);
}

static void build(test_graph *t, int variant) {
  static const int64_t exported[] = {1, 7, 7, 20}, swapped[] = {2, 1, 1, 100}, rank5[] = {1, 2, 3, 4, 20};
  static const int64_t batch2[] = {2, 7, 7, 20};
  const int64_t *dims = variant == GRN_SWAPPED ? swapped
                        : variant == GRN_RANK5 ? rank5
                        : variant == MISS_MEAN ? batch2
                                               : exported;
  int rank = variant == GRN_RANK5 ? 5 : 4;
  tg_output(t, grn_pattern(t, variant, tg_input(t, VITC_F32, rank, dims), rank, dims));
}

static void test_fuses(void) {
  static const char *what[] = {"exported", "swapped", "rank 5"};
  const fh_count want[] = {{VITC_OP_GRN, 1}, {VITC_OP_ReduceL2, 0}, {VITC_OP_ReduceMean, 0},
                           {VITC_OP_Div, 0}, {VITC_OP_Mul, 0}, {VITC_OP_Add, 0}};
  for (int variant = GRN_EXPORTED; variant <= GRN_RANK5; variant++) {
    vitc_graph *g = fh_check(what[variant], build, variant, vitc_fuse_grn, want, 6);
    const vitc_node *n = fh_find_op(g, VITC_OP_GRN);
    CHECK(n != NULL);
    if (n) {
      CHECK_NEAR(vitc_attr_float(n, "epsilon", 0), 1e-6, 1e-12);
      const vitc_value *x = &g->tensors[n->in[0]].v, *gamma = &g->tensors[n->in[1]].v;
      CHECK(gamma->rank == 1 && gamma->dims[0] == x->dims[x->rank - 1]);
      CHECK(g->tensors[n->in[0]].producer < 0); /* reads the graph input x itself */
    }
    vitc_graph_free(g);
  }
}

static void test_near_misses(void) {
  static const char *what[] = {"norm over axis 1", "mean over the batch", "no residual", "gamma along W"};
  const fh_count untouched[] = {{VITC_OP_GRN, 0}, {VITC_OP_ReduceL2, 1}, {VITC_OP_ReduceMean, 1}};
  for (int variant = MISS_NORM; variant <= MISS_GAMMA; variant++)
    vitc_graph_free(fh_check(what[variant - MISS_NORM], build, variant, vitc_fuse_grn, untouched, 3));
}

/* ConvNeXt V2's pwconv1 and its erf GELU feed the GRN: x is read by three nodes of the pattern. */
static void build_block(test_graph *t, int variant) {
  (void)variant;
  static const int64_t in_dims[] = {1, 7, 7, 16}, w_dims[] = {16, 20}, b_dims[] = {20}, x_dims[] = {1, 7, 7, 20};
  int in = tg_input(t, VITC_F32, 4, in_dims);
  int h = fh_op(t, VITC_OP_Add, fh_op(t, VITC_OP_MatMul, in, tg_const(t, VITC_F32, 2, w_dims, 7)),
                tg_const(t, VITC_F32, 1, b_dims, 8));
  int erf = fh_op(t, VITC_OP_Erf, fh_op(t, VITC_OP_Div, h, scalar(t, 1.4142135f)), -1);
  int x = fh_op(t, VITC_OP_Mul, fh_op(t, VITC_OP_Mul, h, fh_op(t, VITC_OP_Add, erf, scalar(t, 1))), scalar(t, 0.5f));
  tg_output(t, grn_pattern(t, GRN_EXPORTED, x, 4, x_dims));
}

static vitc_status whole_pipeline(vitc_graph *g, vitc_error *err) {
  vitc_pass_options po = {.opt_level = 1, .verify_each = true};
  return vitc_run_passes(g, &po, err);
}

static void test_after_gelu_gemm(void) {
  const fh_count want[] = {{VITC_OP_GRN, 1}, {VITC_OP_FusedGemm, 1}, {VITC_OP_Gelu, 0}, {VITC_OP_Erf, 0},
                           {VITC_OP_MatMul, 0}, {VITC_OP_Add, 0}};
  vitc_graph *g = fh_check("after gelu gemm", build_block, 0, whole_pipeline, want, 6);
  const vitc_node *grn = fh_find_op(g, VITC_OP_GRN), *gemm = fh_find_op(g, VITC_OP_FusedGemm);
  CHECK(grn && gemm && grn->in[0] == gemm->out[0]);
  vitc_graph_free(g);
}

/* fuse_grn comes before fuse_gemm_epilogue, whose GELU it must leave in place. */
static void test_pipeline_order(void) {
  int count, grn = -1, gemm = -1;
  const vitc_pass *p = vitc_pipeline(&count);
  for (int i = 0; i < count; i++) {
    if (p[i].run == vitc_fuse_grn) grn = i;
    if (p[i].run == vitc_fuse_gemm_epilogue) gemm = i;
  }
  CHECK(grn >= 0 && grn < gemm);
}

/* ---------------------------------------------------------------- the kernel */

/* GRN(x, gamma, beta) with all three graph inputs, compiled with `threads` against the evaluator. */
static void check_kernel(int rank, const int64_t *dims, int threads) {
  char what[96];
  snprintf(what, sizeof what, "GRN [%lld, .., %lld] rank %d, %d threads", (long long)dims[0],
           (long long)dims[rank - 1], rank, threads);
  test_graph t = tg_new();
  int in[3] = {tg_input(&t, VITC_F32, rank, dims), tg_input(&t, VITC_F32, 1, &dims[rank - 1]),
               tg_input(&t, VITC_F32, 1, &dims[rank - 1])};
  vitc_attr eps = {.name = "epsilon", .type = VITC_ATTR_FLOAT, .f = 1e-6};
  tg_output(&t, tg_node(&t, VITC_OP_GRN, in, 3, 1, &eps, 1));
  tg_check(&t, what, threads, 1e-5, 1e-5);
}

static void test_kernel(void) {
  static const int64_t shapes[][5] = {
      {1, 7, 7, 20},   /* H·W 49, C not a multiple of 16 */
      {2, 1, 1, 100},  /* one position, two samples */
      {1, 1, 1, 20},   /* one position: Nx = |x| / mean |x| */
      {3, 7, 7, 100},  /* several samples */
      {1, 5, 5, 48},   /* full vectors only */
      {2, 32, 32, 100} /* large enough for both passes to run across the pool */
  };
  for (int threads = 1; threads <= 3; threads += 2)
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) check_kernel(4, shapes[i], threads);
  static const int64_t rank3[] = {2, 49, 20}, rank5[] = {1, 2, 3, 4, 100};
  check_kernel(3, rank3, 3);
  check_kernel(5, rank5, 3);
}

/* A gamma that is not one value per channel fails shape inference, naming it. */
static void test_shape_errors(void) {
  static const int64_t x_dims[] = {1, 2, 2, 20}, bad[] = {19};
  test_graph t = tg_new();
  int in[3] = {tg_input(&t, VITC_F32, 4, x_dims), tg_input(&t, VITC_F32, 1, bad),
               tg_input(&t, VITC_F32, 1, &x_dims[3])};
  tg_output(&t, tg_node(&t, VITC_OP_GRN, in, 3, 1, NULL, 0));
  vitc_error err = {0};
  CHECK(vitc_infer_shapes(t.g, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "gamma must be float32 [20]");
  vitc_graph_free(t.g);
}

int main(void) {
  test_fuses();
  test_near_misses();
  test_after_gelu_gemm();
  test_pipeline_order();
  test_kernel();
  test_shape_errors();
  CHECK_DONE();
}

/* test_fusion_grn.c — fuse_grn on tiny graphs: ConvNeXt V2's GRN as torch exports it, in other operand
 * orders and axis spellings, channels last and first, near misses that must stay, the GELU before it still
 * joining its GEMM, a channels-first block running channels-last through the pipeline; then
 * the vitc.GRN kernel against the evaluator on awkward sizes (C = 20, 48, 100; H·W = 1, 49, 1024) with
 * one and three threads. */
#include "fusion_harness.h"

/* One GRN pattern: x's shape, the axes of its ReduceL2 and ReduceMean, gamma's and beta's shape. */
typedef struct grn_case {
  const char *what;
  int rank;
  int64_t dims[5];
  int nnorm;
  int64_t norm[3], mean;
  int prank;
  int64_t pdims[5];
  bool swapped;  /* every binary op with its operands swapped */
  bool residual; /* the final Add of x */
} grn_case;

static const grn_case fused_cases[] = {
    {"exported", 4, {1, 7, 7, 20}, 2, {1, 2}, -1, 4, {1, 1, 1, 20}, false, true},
    {"swapped", 4, {2, 1, 1, 100}, 2, {-3, -2}, 3, 1, {100}, true, true},
    {"rank 5", 5, {1, 2, 3, 4, 20}, 3, {1, 2, 3}, -1, 5, {1, 1, 1, 1, 20}, false, true},
    /* timm's conv_mlp ConvNeXt V2 (nano and smaller): channels first, between two Transposes */
    {"channels first", 4, {1, 20, 7, 7}, 2, {2, 3}, 1, 4, {1, 20, 1, 1}, false, true},
    {"channels first, swapped", 4, {2, 100, 1, 3}, 2, {-1, -2}, -3, 3, {100, 1, 1}, true, true},
    {"channels first, rank 3", 3, {2, 20, 9}, 1, {2}, 1, 2, {20, 1}, false, true},
};

static const grn_case missed_cases[] = {
    {"norm over axis 1", 4, {1, 7, 7, 20}, 1, {1}, -1, 4, {1, 1, 1, 20}, false, true},
    {"mean over the batch", 4, {2, 7, 7, 20}, 2, {1, 2}, 0, 4, {1, 1, 1, 20}, false, true},
    {"no residual", 4, {1, 7, 7, 20}, 2, {1, 2}, -1, 4, {1, 1, 1, 20}, false, false},
    {"gamma along W", 4, {1, 7, 7, 20}, 2, {1, 2}, -1, 4, {1, 1, 7, 20}, false, true},
    {"channels first, mean over the last axis", 4, {1, 20, 7, 7}, 2, {2, 3}, -1, 4, {1, 20, 1, 1}, false, true},
    {"channels first, norm over axes 1 and 2", 4, {1, 20, 7, 7}, 2, {1, 2}, 1, 4, {1, 20, 1, 1}, false, true},
    {"channels first, gamma along W", 4, {1, 20, 7, 7}, 2, {2, 3}, 1, 4, {1, 1, 1, 7}, false, true},
    {"channels first, gamma [20] along W", 4, {1, 20, 7, 20}, 2, {2, 3}, 1, 1, {20}, false, true},
};

static int scalar(test_graph *t, float f) {
  vitc_value v = {.dtype = VITC_F32, .rank = 0, .data = &f};
  return vitc_graph_add_constant(t->g, NULL, &v);
}

static int axes(test_graph *t, int n, const int64_t *a) {
  vitc_value v = {.dtype = VITC_I64, .rank = 1, .dims = {n}, .data = (void *)a};
  return vitc_graph_add_constant(t->g, NULL, &v);
}

/* The exported pattern on x, as c spells it. */
static int grn_pattern(test_graph *t, const grn_case *c, int x) {
  bool swap = c->swapped;
  int g = tg_node(t, VITC_OP_ReduceL2, (int[]){x, axes(t, c->nnorm, c->norm)}, 2, 1, NULL, 0);
  int m = tg_node(t, VITC_OP_ReduceMean, (int[]){g, axes(t, 1, &c->mean)}, 2, 1, NULL, 0);
  int e = swap ? fh_op(t, VITC_OP_Add, scalar(t, 1e-6f), m) : fh_op(t, VITC_OP_Add, m, scalar(t, 1e-6f));
  int n = fh_op(t, VITC_OP_Div, g, e);
  int gamma = tg_const(t, VITC_F32, c->prank, c->pdims, 3), beta = tg_const(t, VITC_F32, c->prank, c->pdims, 4);
  int p = swap ? fh_op(t, VITC_OP_Mul, n, x) : fh_op(t, VITC_OP_Mul, x, n);
  int q = swap ? fh_op(t, VITC_OP_Mul, p, gamma) : fh_op(t, VITC_OP_Mul, gamma, p);
  int r = swap ? fh_op(t, VITC_OP_Add, beta, q) : fh_op(t, VITC_OP_Add, q, beta);
  if (!c->residual) return r;
  return swap ? fh_op(t, VITC_OP_Add, x, r) : fh_op(t, VITC_OP_Add, r, x);
}

static void build_fused(test_graph *t, int i) {
  tg_output(t, grn_pattern(t, &fused_cases[i], tg_input(t, VITC_F32, fused_cases[i].rank, fused_cases[i].dims)));
}

static void build_missed(test_graph *t, int i) {
  tg_output(t, grn_pattern(t, &missed_cases[i], tg_input(t, VITC_F32, missed_cases[i].rank, missed_cases[i].dims)));
}

static void test_fuses(void) {
  for (int i = 0; i < (int)(sizeof fused_cases / sizeof *fused_cases); i++) {
    const grn_case *c = &fused_cases[i];
    int channel = c->mean < 0 ? c->mean + c->rank : c->mean;
    bool first = channel == 1;
    const fh_count want[] = {{VITC_OP_GRN, 1},  {VITC_OP_ReduceL2, 0}, {VITC_OP_ReduceMean, 0},
                             {VITC_OP_Div, 0},  {VITC_OP_Mul, 0},      {VITC_OP_Add, 0},
                             {VITC_OP_Transpose, first ? 2 : 0}};
    vitc_graph *g = fh_check(c->what, build_fused, i, vitc_fuse_grn, want, 7);
    const vitc_node *n = fh_find_op(g, VITC_OP_GRN);
    CHECK(n != NULL);
    if (n) {
      CHECK_NEAR(vitc_attr_float(n, "epsilon", 0), 1e-6, 1e-12);
      const vitc_value *x = &g->tensors[n->in[0]].v, *gamma = &g->tensors[n->in[1]].v;
      CHECK(gamma->rank == 1 && gamma->dims[0] == c->dims[channel] && x->dims[x->rank - 1] == c->dims[channel]);
      /* channels last it reads the graph input x itself, channels first x's channels-last Transpose */
      int producer = g->tensors[n->in[0]].producer;
      CHECK(first ? producer >= 0 && g->nodes[producer].op == VITC_OP_Transpose : producer < 0);
    }
    vitc_graph_free(g);
  }
}

static void test_near_misses(void) {
  const fh_count untouched[] = {{VITC_OP_GRN, 0}, {VITC_OP_ReduceL2, 1}, {VITC_OP_ReduceMean, 1}};
  for (int i = 0; i < (int)(sizeof missed_cases / sizeof *missed_cases); i++)
    vitc_graph_free(fh_check(missed_cases[i].what, build_missed, i, vitc_fuse_grn, untouched, 3));
}

/* ConvNeXt V2's pwconv1 and its erf GELU feed the GRN: x is read by three nodes of the pattern. */
static void build_block(test_graph *t, int variant) {
  (void)variant;
  static const int64_t in_dims[] = {1, 7, 7, 16}, w_dims[] = {16, 20}, b_dims[] = {20};
  int in = tg_input(t, VITC_F32, 4, in_dims);
  int h = fh_op(t, VITC_OP_Add, fh_op(t, VITC_OP_MatMul, in, tg_const(t, VITC_F32, 2, w_dims, 7)),
                tg_const(t, VITC_F32, 1, b_dims, 8));
  int erf = fh_op(t, VITC_OP_Erf, fh_op(t, VITC_OP_Div, h, scalar(t, 1.4142135f)), -1);
  int x = fh_op(t, VITC_OP_Mul, fh_op(t, VITC_OP_Mul, h, fh_op(t, VITC_OP_Add, erf, scalar(t, 1))), scalar(t, 0.5f));
  tg_output(t, grn_pattern(t, &fused_cases[0], x));
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

/* Conv k x k, stride `stride`, pads k / 2 unless the stride is the kernel (patchify). */
static int conv(test_graph *t, int x, int64_t cin, int64_t cout, int64_t k, int64_t stride, int64_t group,
                unsigned seed) {
  int64_t p = stride == k ? 0 : k / 2, kernel[2] = {k, k}, strides[2] = {stride, stride}, pads[4] = {p, p, p, p};
  const int64_t wd[] = {cout, cin / group, k, k}, bd[] = {cout};
  vitc_attr a[4] = {{.name = "kernel_shape", .type = VITC_ATTR_INTS, .n = 2, .ints = kernel},
                    {.name = "strides", .type = VITC_ATTR_INTS, .n = 2, .ints = strides},
                    {.name = "pads", .type = VITC_ATTR_INTS, .n = 4, .ints = pads},
                    {.name = "group", .type = VITC_ATTR_INT, .i = group}};
  int in[3] = {x, tg_const(t, VITC_F32, 4, wd, seed), tg_const(t, VITC_F32, 1, bd, seed + 1)};
  return tg_node(t, VITC_OP_Conv, in, 3, 1, a, 4);
}

/* A patchify stem (Conv 2x2/2) on an NCHW image [1, 3, 14, 14], then timm's conv_mlp ConvNeXt V2 block on
 * its x [1, 20, 7, 7]: depthwise 3x3 → 1x1 → ReLU → GRN → 1x1 → residual. */
static void build_nchw_block(test_graph *t, int variant) {
  (void)variant;
  static const int64_t image[] = {1, 3, 14, 14};
  int x = conv(t, tg_input(t, VITC_F32, 4, image), 3, 20, 2, 2, 1, 9);
  int h = fh_op(t, VITC_OP_Relu, conv(t, conv(t, x, 20, 20, 3, 1, 20, 11), 20, 20, 1, 1, 1, 13), -1);
  tg_output(t, fh_op(t, VITC_OP_Add, conv(t, grn_pattern(t, &fused_cases[3], h), 20, 20, 1, 1, 1, 15), x));
}

/* The channels-first GRN's Transposes cancel against the trunk's: the block runs channels-last from the
 * stem's patches to the output's one Transpose back. */
static void test_channels_last_block(void) {
  const fh_count want[] = {{VITC_OP_GRN, 1}, {VITC_OP_Conv, 0}, {VITC_OP_DepthwiseConvNHWC, 1},
                           {VITC_OP_FusedGemm, 3}, {VITC_OP_Transpose, 2}};
  vitc_graph_free(fh_check("NCHW block", build_nchw_block, 0, whole_pipeline, want, 5));
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
  test_channels_last_block();
  test_kernel();
  test_shape_errors();
  CHECK_DONE();
}

/* test_backend_fused_conv.c — vitc.FusedConv (a Conv with activation and residual) and the
 * fuse_gemm_epilogue rule that makes it.
 *
 * Kernel: the JIT against the evaluator (backend_harness.h tg_check) at 1 and 3 threads on each path of
 * Conv's emitter: im2col + GEMM (odd channels 3 → 17, 13x13, stride 2; dilation 2; a map big enough that
 * the columns come in several slabs, so the residual is read at each slab's offset), grouped (group 2; odd
 * channels a group in 2 and 3 groups on lines wider than a vector and than a column panel, so im2col's
 * vector runs end masked and split across panels, in the padding too; stride 2, its strided copy),
 * the 1x1 GEMM on X itself (its pixels as the GEMM's columns, or as its rows where the channels fill the vectors
 * better: 7x7, 13x13, 3x5 maps), and the direct depthwise loop (group = C = 17); with each activation, with
 * and without a residual; in bf16, the pointwise conv. Then the shape rule's refusals, one per message.
 * Pass: Conv → GELU, Conv → ReLU → residual Add, Conv → residual Add, and near misses (the Conv's output
 * read twice; a residual computed after the Conv; an Add that broadcasts), each checked by the histogram,
 * the evaluator before/after and the JIT (fusion_harness.h). */
#include "fusion_harness.h"

typedef struct conv_case {
  const char *what;
  int64_t cin, cout, h, w, k, stride, pad, dilation, group;
  const char *act;
  bool residual;
} conv_case;

static int conv_node(test_graph *t, vitc_op op, int x, const conv_case *k, int r) {
  int64_t kernel[2] = {k->k, k->k}, strides[2] = {k->stride, k->stride}, pads[4] = {k->pad, k->pad, k->pad, k->pad},
          dil[2] = {k->dilation, k->dilation};
  const int64_t wd[] = {k->cout, k->cin / k->group, k->k, k->k}, bd[] = {k->cout};
  vitc_attr a[6] = {{.name = "kernel_shape", .type = VITC_ATTR_INTS, .n = 2, .ints = kernel},
                    {.name = "strides", .type = VITC_ATTR_INTS, .n = 2, .ints = strides},
                    {.name = "pads", .type = VITC_ATTR_INTS, .n = 4, .ints = pads},
                    {.name = "dilations", .type = VITC_ATTR_INTS, .n = 2, .ints = dil},
                    {.name = "group", .type = VITC_ATTR_INT, .i = k->group},
                    {.name = "activation", .type = VITC_ATTR_STRING, .s = k->act}};
  int in[4] = {x, tg_const(t, VITC_F32, 4, wd, 11), tg_const(t, VITC_F32, 1, bd, 12), r};
  return tg_node(t, op, in, r >= 0 ? 4 : 3, 1, a, op == VITC_OP_FusedConv ? 6 : 5);
}

/* The output dims of k on its input. */
static void out_dims(const conv_case *k, int64_t *d) {
  int64_t span = k->dilation * (k->k - 1) + 1;
  d[0] = 1;
  d[1] = k->cout;
  d[2] = (k->h + 2 * k->pad - span) / k->stride + 1;
  d[3] = (k->w + 2 * k->pad - span) / k->stride + 1;
}

static test_graph build_kernel(const conv_case *k) {
  test_graph t = tg_new();
  const int64_t xd[] = {1, k->cin, k->h, k->w};
  int64_t yd[4];
  out_dims(k, yd);
  int x = tg_input(&t, VITC_F32, 4, xd), r = k->residual ? tg_input(&t, VITC_F32, 4, yd) : -1;
  tg_output(&t, conv_node(&t, VITC_OP_FusedConv, x, k, r));
  return t;
}

/* In BF16 precision a pointwise conv of one group rounds X and W as the evaluator does (tg_check_bf16): X
 * and Y pass through tg_same_values, so that the conv is neither on the input nor an output. Its pixels are
 * the GEMM's rows whatever the map (56x56 would otherwise be by columns); odd K (a zero high half in the last
 * pair), rows of 8 and 7, two images, a residual. */
static void test_kernel_bf16(void) {
  static const conv_case cases[] = {
      {"bf16 37 -> 64, 1x1, 13x13, gelu_erf, residual", 37, 64, 13, 13, 1, 1, 0, 1, 1, "gelu_erf", true},
      {"bf16 64 -> 20, 1x1, 16x16, relu", 64, 20, 16, 16, 1, 1, 0, 1, 1, "relu", false},
      {"bf16 1030 -> 32, 1x1, 3x5, silu, residual", 1030, 32, 3, 5, 1, 1, 0, 1, 1, "silu", true},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    for (int threads = 1; threads <= 3; threads += 2) {
      const conv_case *k = &cases[i];
      test_graph t = tg_new();
      const int64_t xd[] = {2, k->cin, k->h, k->w};
      int64_t yd[4];
      out_dims(k, yd);
      yd[0] = 2;
      int x = tg_same_values(&t, tg_input(&t, VITC_F32, 4, xd)), r = k->residual ? tg_input(&t, VITC_F32, 4, yd) : -1;
      tg_output(&t, tg_same_values(&t, conv_node(&t, VITC_OP_FusedConv, x, k, r)));
      tg_check_bf16(&t, k->what, threads, 1e-4, 1e-5);
    }
}

static void test_kernel(void) {
  static const conv_case cases[] = {
      {"3 -> 17, 3x3 stride 2, 13x13, gelu_erf, residual", 3, 17, 13, 13, 3, 2, 1, 1, 1, "gelu_erf", true},
      {"40 -> 40 group 2, 3x3, 7x7, relu", 40, 40, 7, 7, 3, 1, 1, 1, 2, "relu", false},
      {"17 depthwise, 3x3 stride 2, 13x13, gelu_tanh, residual", 17, 17, 13, 13, 3, 2, 1, 1, 17, "gelu_tanh", true},
      {"17 depthwise, 5x5, 7x7, none, residual", 17, 17, 7, 7, 5, 1, 2, 1, 17, "none", true},
      {"17 -> 40, 1x1, 7x7, none, residual", 17, 40, 7, 7, 1, 1, 0, 1, 1, "none", true},
      {"37 -> 64, 1x1, 13x13, gelu_erf, residual", 37, 64, 13, 13, 1, 1, 0, 1, 1, "gelu_erf", true},
      {"1030 -> 32, 1x1, 3x5, silu, residual", 1030, 32, 3, 5, 1, 1, 0, 1, 1, "silu", true},
      {"24 -> 64, 1x1, 16x16, relu", 24, 64, 16, 16, 1, 1, 0, 1, 1, "relu", false},
      {"5 -> 19, 3x3, 11x9, silu", 5, 19, 11, 9, 3, 1, 1, 1, 1, "silu", false},
      {"19 depthwise, 3x3, 9x11, silu, residual", 19, 19, 9, 11, 3, 1, 1, 1, 19, "silu", true},
      {"3 -> 16, 3x3 dilation 2, 13x7, gelu_erf", 3, 16, 13, 7, 3, 1, 2, 2, 1, "gelu_erf", false},
      {"64 -> 16, 3x3, 84x84 (slabs), gelu_erf, residual", 64, 16, 84, 84, 3, 1, 1, 1, 1, "gelu_erf", true},
      {"21 -> 15 group 3, 3x3, 19x53, relu, residual", 21, 15, 19, 53, 3, 1, 1, 1, 3, "relu", true},
      {"10 -> 6 group 2, 5x5 pad 2, 9x70, none, residual", 10, 6, 9, 70, 5, 1, 2, 1, 2, "none", true},
      {"9 -> 12 group 3, 3x3 stride 2, 15x37, gelu_erf", 9, 12, 15, 37, 3, 2, 1, 1, 3, "gelu_erf", false},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    for (int threads = 1; threads <= 3; threads += 2) {
      test_graph t = build_kernel(&cases[i]);
      tg_check(&t, cases[i].what, threads, 1e-4, 1e-5);
    }
}

static void refused(conv_case k, int64_t residual_channels, const char *msg) {
  test_graph t = tg_new();
  const int64_t xd[] = {1, k.cin, k.h, k.w};
  int64_t yd[4];
  out_dims(&k, yd);
  yd[1] = residual_channels;
  int x = tg_input(&t, VITC_F32, 4, xd);
  conv_node(&t, VITC_OP_FusedConv, x, &k, tg_input(&t, VITC_F32, 4, yd));
  vitc_error err = {0};
  CHECK(vitc_infer_shapes(t.g, &err) != VITC_OK);
  CHECK_MSG(err.msg, msg);
  tg_free(&t);
}

static void test_refusals(void) {
  conv_case k = {"bad", 4, 8, 5, 5, 3, 1, 1, 1, 1, "swish", true};
  refused(k, 8, "FusedConv activation \"swish\" is none of");
  k.act = "relu";
  refused(k, 4, "FusedConv residual must have the output's shape");
  test_graph t = tg_new();
  const int64_t xd[] = {1, 2, 3, 3}, wd[] = {2, 2, 1, 1};
  int in[2] = {tg_input(&t, VITC_F64, 4, xd), tg_const(&t, VITC_F64, 4, wd, 3)};
  tg_node(&t, VITC_OP_FusedConv, in, 2, 1, NULL, 0);
  vitc_error err = {0};
  CHECK(vitc_infer_shapes(t.g, &err) != VITC_OK);
  CHECK_MSG(err.msg, "FusedConv runs on float32 only");
  tg_free(&t);
}

/* ---------------------------------------------------------------- the pass */

enum { C = 17, H = 13, W = 13 };

enum {
  S_GELU,          /* Conv 3x3 stride 2 → Gelu */
  S_RELU_RESIDUAL, /* Conv 3x3 → Relu → Add(x) */
  S_RESIDUAL,      /* Add(x, Conv 3x3 group 17) */
  MISS_SHARED,     /* Conv → Gelu, the Conv's output also a graph output */
  MISS_LATE,       /* Conv → Gelu → Add(Neg(x)), the Neg built after the Conv: the Gelu joins, the Add not */
  MISS_BROADCAST,  /* Conv → Add(c [C, 1, 1]): a broadcast, not a residual */
};

static void build_pass(test_graph *t, int variant) {
  const int64_t xd[] = {1, C, H, W}, cd[] = {C, 1, 1};
  conv_case k = {"", C, C, H, W, 3, variant == S_GELU ? 2 : 1, 1, 1, variant == S_RESIDUAL ? C : 1, NULL, false};
  int x = tg_input(t, VITC_F32, 4, xd), y = conv_node(t, VITC_OP_Conv, x, &k, -1);
  switch (variant) {
  case S_GELU: y = fh_op(t, VITC_OP_Gelu, y, -1); break;
  case S_RELU_RESIDUAL: y = fh_op(t, VITC_OP_Add, fh_op(t, VITC_OP_Relu, y, -1), x); break;
  case S_RESIDUAL: y = fh_op(t, VITC_OP_Add, x, y); break;
  case MISS_SHARED: tg_output(t, y); y = fh_op(t, VITC_OP_Gelu, y, -1); break;
  case MISS_LATE: y = fh_op(t, VITC_OP_Add, fh_op(t, VITC_OP_Gelu, y, -1), fh_op(t, VITC_OP_Neg, x, -1)); break;
  default: y = fh_op(t, VITC_OP_Add, y, tg_const(t, VITC_F32, 3, cd, 5)); break;
  }
  tg_output(t, y);
}

static void expect_fused(const char *what, int variant, const char *act, bool residual, int adds) {
  const fh_count want[] = {{VITC_OP_FusedConv, 1}, {VITC_OP_Conv, 0}, {VITC_OP_Add, adds}, {VITC_OP_Gelu, 0},
                           {VITC_OP_Relu, 0}};
  vitc_graph *g = fh_check(what, build_pass, variant, vitc_fuse_gemm_epilogue, want, 5);
  const vitc_node *n = fh_find_op(g, VITC_OP_FusedConv);
  CHECK(n && !strcmp(vitc_attr_str(n, "activation", ""), act) && (n->nin == 4) == residual);
  if (n) CHECK(vitc_attr_int(n, "group", 1) == (variant == S_RESIDUAL ? C : 1));
  vitc_graph_free(g);
}

static void test_pass(void) {
  expect_fused("conv gelu", S_GELU, "gelu_erf", false, 0);
  expect_fused("conv relu residual", S_RELU_RESIDUAL, "relu", true, 0);
  expect_fused("conv residual", S_RESIDUAL, "none", true, 0);
  expect_fused("residual computed late", MISS_LATE, "gelu_erf", false, 1);
  const fh_count stays[] = {{VITC_OP_FusedConv, 0}, {VITC_OP_Conv, 1}};
  vitc_graph_free(fh_check("conv read twice", build_pass, MISS_SHARED, vitc_fuse_gemm_epilogue, stays, 2));
  vitc_graph_free(fh_check("broadcast add", build_pass, MISS_BROADCAST, vitc_fuse_gemm_epilogue, stays, 2));
}

int main(void) {
  test_kernel();
  test_kernel_bf16();
  test_refusals();
  test_pass();
  CHECK_DONE();
}

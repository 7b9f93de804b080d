/* test_backend_depthwise_nhwc.c — vitc.DepthwiseConvNHWC: the JIT-compiled kernel against the evaluator
 * (backend_harness.h tg_check), on sizes that reach its edges: C = 20 (one vector and a masked tail),
 * 96 (six vectors), 5 (a tail only); 7x7 with pads 3; stride 2; dilation 2 with uneven pads; H != W;
 * kernels wider than the input; no bias; two images; each activation of the epilogue (MBConv's GELU) on
 * C = 3, 17, 40 and 7x7 / 13x13 maps at 1 and 3 threads; the LayerNorm epilogue (ConvNeXt's norm, with
 * and without its bias, after an activation) on C = 5, 20, 33, 96 with edge-only rows (W 3), a
 * block remainder (W 13), blocks of two widths with a loop between edge blocks (W 57) and stride 2, at 1
 * and 3 threads; AVX2's blocks of 8 with its channel vectors inside each block (W 40, C 12 and 64); token rows (attribute image: the leading rows copied, the image after them). And the
 * shape rule's refusals. Also vitc.GlobalAveragePoolNHWC, the other channels-last kernel of an MBConv block,
 * on the same kind of sizes (C 40 and 256: AVX2's tasks of two vectors, a vector left over, a tail). */
#include "backend_harness.h"

typedef struct dw_case {
  const char *what;
  int64_t n, h, w, c, kh, kw, stride[2], pads[4], dilation[2];
  bool bias;
  const char *act; /* the activation attribute, NULL for none */
  int norm;        /* LayerNorm epilogue inputs: 0 none, 1 scale, 2 scale and bias */
} dw_case;

static test_graph build(const dw_case *k) {
  test_graph t = tg_new();
  const int64_t xd[] = {k->n, k->h, k->w, k->c}, wd[] = {k->kh, k->kw, k->c}, bd[] = {k->c};
  vitc_attr a[5] = {{.name = "strides", .type = VITC_ATTR_INTS, .n = 2, .ints = (int64_t *)k->stride},
                    {.name = "pads", .type = VITC_ATTR_INTS, .n = 4, .ints = (int64_t *)k->pads},
                    {.name = "dilations", .type = VITC_ATTR_INTS, .n = 2, .ints = (int64_t *)k->dilation},
                    {.name = "epsilon", .type = VITC_ATTR_FLOAT, .f = 1e-6f},
                    {.name = "activation", .type = VITC_ATTR_STRING, .s = k->act}};
  int in[5] = {tg_input(&t, VITC_F32, 4, xd), tg_const(&t, VITC_F32, 3, wd, 7),
               k->bias ? tg_const(&t, VITC_F32, 1, bd, 8) : -1, tg_const(&t, VITC_F32, 1, bd, 9),
               tg_const(&t, VITC_F32, 1, bd, 10)};
  int nin = k->norm ? 3 + k->norm : k->bias ? 3 : 2;
  tg_output(&t, tg_node(&t, VITC_OP_DepthwiseConvNHWC, in, nin, 1, a, k->act ? 5 : 4));
  return t;
}

static void test_kernel(void) {
  static const dw_case cases[] = {
      {"C 20, 7x7 pad 3, 9x13", 1, 9, 13, 20, 7, 7, {1, 1}, {3, 3, 3, 3}, {1, 1}, true},
      {"C 96, 7x7 pad 3, stride 2, 14x10", 2, 14, 10, 96, 7, 7, {2, 2}, {3, 3, 3, 3}, {1, 1}, true},
      {"C 5, 3x3 dilation 2, uneven pads", 1, 8, 6, 5, 3, 3, {1, 2}, {1, 2, 0, 1}, {2, 2}, false},
      {"C 16, 7x7 on 3x2", 2, 3, 2, 16, 7, 7, {1, 1}, {3, 3, 3, 3}, {1, 1}, true},
      {"C 33, 1x5, 4x17", 1, 4, 17, 33, 1, 5, {1, 3}, {0, 2, 0, 2}, {1, 1}, true},
      {"C 20, 7x7 pad 3, 3x57: two wider edge blocks, a loop of two, an edge block", 1, 3, 57, 20, 7, 7, {1, 1},
       {3, 3, 3, 3}, {1, 1}, true},
      {"C 12, 3x3, 3x40: AVX2's blocks of 8 (a loop of three), a vector and a tail inside each block", 1, 3, 40, 12, 3,
       3, {1, 1}, {1, 1, 1, 1}, {1, 1}, true},
      {"C 64, 3x3 stride 2, 9x33: a power-of-two C, channel vectors inside the blocks, 17 wide", 2, 9, 33, 64, 3, 3,
       {2, 2}, {1, 1, 1, 1}, {1, 1}, true},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    for (int threads = 1; threads <= 3; threads++) {
      test_graph t = build(&cases[i]);
      tg_check(&t, cases[i].what, threads, 1e-4, 1e-5);
    }
}

static void test_activation(void) {
  static const dw_case cases[] = {
      {"C 17, gelu_erf, 3x3 stride 2, 13x13", 1, 13, 13, 17, 3, 3, {2, 2}, {1, 1, 1, 1}, {1, 1}, true, "gelu_erf"},
      {"C 40, gelu_tanh, 3x3, 7x7", 2, 7, 7, 40, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, true, "gelu_tanh"},
      {"C 3, relu, 5x5 stride 2, 13x7", 1, 13, 7, 3, 5, 5, {2, 1}, {2, 2, 2, 2}, {1, 1}, false, "relu"},
      {"C 21, silu, 3x3 stride 2, 9x11", 1, 9, 11, 21, 3, 3, {2, 2}, {1, 1, 1, 1}, {1, 1}, true, "silu"},
      {"C 16, none, 3x3, 7x7", 1, 7, 7, 16, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, true, "none"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    for (int threads = 1; threads <= 3; threads += 2) {
      test_graph t = build(&cases[i]);
      tg_check(&t, cases[i].what, threads, 1e-4, 1e-5);
    }
}

static void test_norm(void) {
  static const dw_case cases[] = {
      {"C 96, 7x7 pad 3, norm, 9x13", 1, 9, 13, 96, 7, 7, {1, 1}, {3, 3, 3, 3}, {1, 1}, true, NULL, 2},
      {"C 20, 7x7 pad 3, norm scale only, 5x3", 2, 5, 3, 20, 7, 7, {1, 1}, {3, 3, 3, 3}, {1, 1}, false, NULL, 1},
      {"C 33, gelu_erf, norm, 3x3 stride 2, 11x12", 1, 11, 12, 33, 3, 3, {2, 2}, {1, 1, 1, 1}, {1, 1}, true, "gelu_erf", 2},
      {"C 5, 5x5, norm, 6x21", 1, 6, 21, 5, 5, 5, {1, 1}, {2, 2, 2, 2}, {1, 1}, true, NULL, 2},
      {"C 24, 7x7 pad 3, norm, 4x57 (blocks 12, 12, 11, 11, 11)", 1, 4, 57, 24, 7, 7, {1, 1}, {3, 3, 3, 3}, {1, 1},
       true, NULL, 2},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    for (int threads = 1; threads <= 3; threads += 2) {
      test_graph t = build(&cases[i]);
      tg_check(&t, cases[i].what, threads, 1e-4, 1e-5);
    }
}

static void test_global_pool(void) {
  static const int64_t sizes[][4] = {{1, 13, 13, 17}, {2, 7, 7, 40}, {1, 7, 13, 3}, {3, 1, 1, 32}, {1, 56, 56, 64},
                                     {2, 9, 9, 256}};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
    for (int threads = 1; threads <= 3; threads += 2) {
      test_graph t = tg_new();
      int x = tg_input(&t, VITC_F32, 4, sizes[i]);
      tg_output(&t, tg_node(&t, VITC_OP_GlobalAveragePoolNHWC, &x, 1, 1, NULL, 0));
      char what[64];
      snprintf(what, sizeof what, "global pool %lldx%lldx%lldx%lld", (long long)sizes[i][0], (long long)sizes[i][1],
               (long long)sizes[i][2], (long long)sizes[i][3]);
      tg_check(&t, what, threads, 1e-4, 1e-5);
    }
}

static void test_refusals(void) {
  dw_case k = {"bad", 1, 5, 5, 8, 3, 3, {1, 1}, {1, 1, 1, 1}, {1, 1}, true};
  test_graph t = build(&k);
  vitc_tensor *w = &t.g->tensors[t.g->nodes[0].in[1]];
  w->v.dims[2] = 7; /* W's channels differ from X's */
  vitc_error err = {0};
  CHECK(vitc_infer_shapes(t.g, &err) != VITC_OK);
  CHECK_MSG(err.msg, "W [kh, kw, C]");
  tg_free(&t);
  k.act = "swish";
  t = build(&k);
  CHECK(vitc_infer_shapes(t.g, &err) != VITC_OK);
  CHECK_MSG(err.msg, "DepthwiseConvNHWC activation \"swish\" is none of");
  tg_free(&t);
  k.act = NULL;
  k.norm = 2;
  t = build(&k);
  t.g->tensors[t.g->nodes[0].in[3]].v.dims[0] = 7; /* one scale per channel: 8 */
  CHECK(vitc_infer_shapes(t.g, &err) != VITC_OK);
  CHECK_MSG(err.msg, "DepthwiseConvNHWC norm scale must be [8]");
  tg_free(&t);
  t = build(&k);
  t.g->nodes[0].in[3] = -1; /* a norm bias alone */
  CHECK(vitc_infer_shapes(t.g, &err) != VITC_OK);
  CHECK_MSG(err.msg, "DepthwiseConvNHWC has a norm bias without a norm scale");
  tg_free(&t);
  t = tg_new();
  const int64_t rank3[] = {2, 5, 8};
  int x = tg_input(&t, VITC_F32, 3, rank3);
  tg_output(&t, tg_node(&t, VITC_OP_GlobalAveragePoolNHWC, &x, 1, 1, NULL, 0));
  CHECK(vitc_infer_shapes(t.g, &err) != VITC_OK);
  CHECK_MSG(err.msg, "GlobalAveragePoolNHWC needs a float32 X [N, H, W, C]");
  tg_free(&t);
}

/* X [n, lead + h·w, c] with image = [h, w], a "same" kh × kw conv (stride `stride`, which must be 1). */
static test_graph build_tokens(int64_t n, int64_t lead, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw,
                               int64_t stride, const char *act) {
  test_graph t = tg_new();
  const int64_t xd[] = {n, lead + h * w, c}, wd[] = {kh, kw, c}, bd[] = {c};
  int64_t strides[2] = {stride, stride}, pads[4] = {kh / 2, kw / 2, kh / 2, kw / 2}, image[2] = {h, w};
  vitc_attr a[4] = {{.name = "strides", .type = VITC_ATTR_INTS, .n = 2, .ints = strides},
                    {.name = "pads", .type = VITC_ATTR_INTS, .n = 4, .ints = pads},
                    {.name = "image", .type = VITC_ATTR_INTS, .n = 2, .ints = image},
                    {.name = "activation", .type = VITC_ATTR_STRING, .s = act}};
  int in[3] = {tg_input(&t, VITC_F32, 3, xd), tg_const(&t, VITC_F32, 3, wd, 7), tg_const(&t, VITC_F32, 1, bd, 8)};
  tg_output(&t, tg_node(&t, VITC_OP_DepthwiseConvNHWC, in, 3, 1, a, act ? 4 : 3));
  return t;
}

static void test_tokens(void) {
  static const struct {
    const char *what;
    int64_t n, lead, h, w, c, kh, kw;
    const char *act;
  } cases[] = {
      {"tokens: a class token, C 20, 7x7 on 5x6", 2, 1, 5, 6, 20, 7, 7, NULL},
      {"tokens: no leading row, C 5, 3x5 on 4x3", 1, 0, 4, 3, 5, 3, 5, NULL},
      {"tokens: 2 leading rows, C 33, 3x3 on 1x1, gelu_erf", 3, 2, 1, 1, 33, 3, 3, "gelu_erf"},
      {"tokens: CoaT-Lite's first stage, C 64, 3x3 on 56x56", 1, 1, 56, 56, 64, 3, 3, NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    for (int threads = 1; threads <= 3; threads += 2) {
      test_graph t = build_tokens(cases[i].n, cases[i].lead, cases[i].h, cases[i].w, cases[i].c, cases[i].kh,
                                  cases[i].kw, 1, cases[i].act);
      tg_check(&t, cases[i].what, threads, 1e-4, 1e-5);
    }
  vitc_error err = {0};
  test_graph t = build_tokens(1, 1, 4, 4, 8, 3, 3, 2, NULL); /* stride 2 would shrink the image */
  CHECK(vitc_infer_shapes(t.g, &err) != VITC_OK);
  CHECK_MSG(err.msg, "on token rows must keep the image's size");
  tg_free(&t);
  t = build_tokens(1, 1, 4, 4, 8, 3, 3, 1, NULL);
  t.g->tensors[t.g->inputs[0]].v.dims[1] = 15; /* fewer rows than the image's 16 pixels */
  CHECK(vitc_infer_shapes(t.g, &err) != VITC_OK);
  CHECK_MSG(err.msg, "or X [N, L + H·W, C] with image = [H, W]");
  tg_free(&t);
}

int main(void) {
  test_kernel();
  test_activation();
  test_norm();
  test_global_pool();
  test_tokens();
  test_refusals();
  CHECK_DONE();
}

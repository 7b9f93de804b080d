/* test_backend_patch_conv.c — vitc.PatchConvNHWC: the JIT-compiled GEMM over the patches against the
 * evaluator at 1 and 3 threads.
 *
 * Read in place (no pads: emit_gemm.h's row groups and K segments), on sizes that reach its edges:
 * windows that tile the input with kh ≠ kw; a segment of one float (C 1, kw 1); segments longer than a K
 * block (kw·C 1100 > 1024, cut into blocks within each segment; 3·500 padded) and segments that are not a
 * multiple of a vector; M below one vector, of one panel with a masked tail (50) and of several panels;
 * row groups of one row (Wo 1) and more rows than a tile; two images; no bias; overlapping windows
 * (stride below the kernel), also with segments of an odd length (in bf16, pairs that straddle two
 * segments) and a row dilation (segments more than a line apart); PVT v2's reductions at 224 (8x8 on
 * 56x56x64, 2x2 on 14x14x320: 49 rows of K 4096 and 1280). Each case also in BF16 precision.
 * Padded (read in place from a padded copy of X): PVT v2's 3x3 stride-2 downsampling with pads 1
 * (56x56x64 → 28x28x128), MaxViT's and TinyViT's stems (3x3 pads 1 stride 2 on 3 channels, stride 1 on
 * 64, with GELU), uneven pads, pads wider than the kernel needs (a bottom pad no window reaches), two
 * images, pads on one side only, and a large K (9·500). Gathered (a column dilation): with and without
 * pads, and rows beyond one gathering slab (K 9·500: COL_BUDGET / K rows a slab, 1000 rows). Activations
 * (relu, gelu_erf, gelu_tanh, silu) on both paths. And the shape rule's refusals. */
#include "backend_harness.h"

#define RTOL 1e-4
#define ATOL 1e-4 /* as test_backend_gemm.c: float32 sums of thousands of O(1) terms that cancel to near 0 */

typedef struct patch_case {
  const char *what;
  int64_t n, h, w, c, kh, kw, m;
  bool bias;
  int64_t stride[2], pads[4], dilation[2]; /* stride {0, 0}: the kernel's (windows that tile) */
  const char *activation;                   /* NULL: none */
} patch_case;

/* The case's graph; bf16: X and Y pass through tg_same_values, so that the product is neither on the input
 * nor computing the output and runs in bfloat16 under BF16 precision (ir/precision.c). */
static test_graph build(const patch_case *k, bool bf16) {
  test_graph t = tg_new();
  const int64_t xd[] = {k->n, k->h, k->w, k->c}, wd[] = {k->kh * k->kw * k->c, k->m}, bd[] = {k->m};
  int64_t kernel[2] = {k->kh, k->kw}, tile[2] = {k->kh, k->kw}, one[2] = {1, 1};
  vitc_attr a[5] = {{.name = "kernel_shape", .type = VITC_ATTR_INTS, .n = 2, .ints = kernel},
                    {.name = "strides", .type = VITC_ATTR_INTS, .n = 2, .ints = k->stride[0] ? (int64_t *)k->stride : tile},
                    {.name = "pads", .type = VITC_ATTR_INTS, .n = 4, .ints = (int64_t *)k->pads},
                    {.name = "dilations", .type = VITC_ATTR_INTS, .n = 2, .ints = k->dilation[0] ? (int64_t *)k->dilation : one},
                    {.name = "activation", .type = VITC_ATTR_STRING, .s = k->activation}};
  int x = tg_input(&t, VITC_F32, 4, xd);
  int in[3] = {bf16 ? tg_same_values(&t, x) : x, tg_const(&t, VITC_F32, 2, wd, 7),
               k->bias ? tg_const(&t, VITC_F32, 1, bd, 8) : -1};
  int y = tg_node(&t, VITC_OP_PatchConvNHWC, in, k->bias ? 3 : 2, 1, a, k->activation ? 5 : 4);
  tg_output(&t, bf16 ? tg_same_values(&t, y) : y);
  return t;
}

/* Each case in float32, then in BF16 precision against the evaluator rounding
 * X and W as the GEMM does (tg_check_bf16), on one thread and three. */
static void check_cases(const patch_case *cases, size_t count) {
  for (size_t i = 0; i < count; i++)
    for (int threads = 1; threads <= 3; threads += 2) {
      test_graph t = build(&cases[i], false);
      tg_check(&t, cases[i].what, threads, RTOL, ATOL);
      char what[160];
      snprintf(what, sizeof what, "bf16 %s", cases[i].what);
      t = build(&cases[i], true);
      tg_check_bf16(&t, what, threads, RTOL, ATOL);
    }
}

static void test_in_place(void) {
  static const patch_case cases[] = {
      {"3x2 on 9x8, C 5, M 7", 1, 9, 8, 5, 3, 2, 7, true},
      {"1x1 segments: C 1, 2x1 on 6x5, M 3, no bias", 2, 6, 5, 1, 2, 1, 3, false},
      {"2x2 on 6x4, C 550 (segments of 1100), M 50", 1, 6, 4, 550, 2, 2, 50, true},
      {"2x2 on 14x14, C 320 (segments of 640), M 97", 1, 14, 14, 320, 2, 2, 97, true},
      {"4x4 on 4x12 (Wo 3, one row group), C 3, M 16", 2, 4, 12, 3, 4, 4, 16, true},
      {"2x2 on 40x2 (Wo 1), C 17, M 33", 1, 40, 2, 17, 2, 2, 33, true},
      {"3x3 stride 2 on 9x11 (overlapping), C 6, M 20", 2, 9, 11, 6, 3, 3, 20, true, {2, 2}},
      {"3x3 stride 2 on 9x11, C 5 (odd segments of 15), M 20", 1, 9, 11, 5, 3, 3, 20, true, {2, 2}},
      {"3x2 stride 1, row dilation 2 on 8x7, C 4, M 5", 1, 8, 7, 4, 3, 2, 5, false, {1, 1}, {0}, {2, 1}},
      {"PVT v2 stage 1: 8x8 on 56x56, C 64", 1, 56, 56, 64, 8, 8, 64, true},
  };
  check_cases(cases, sizeof cases / sizeof *cases);
}

static void test_padded(void) {
  static const patch_case cases[] = {
      {"PVT v2 downsampling: 3x3 stride 2 pads 1, 56x56, C 64 → 128", 1, 56, 56, 64, 3, 3, 128, true, {2, 2}, {1, 1, 1, 1}},
      {"MaxViT stem 0: 3x3 stride 2 pads 1, 30x26, C 3 → 64, gelu", 1, 30, 26, 3, 3, 3, 64, true, {2, 2}, {1, 1, 1, 1}, {0}, "gelu_erf"},
      {"MaxViT stem 1: 3x3 stride 1 pads 1, 13x15, C 64 → 64", 1, 13, 15, 64, 3, 3, 64, true, {1, 1}, {1, 1, 1, 1}},
      {"3x3 stride 2 pads 1 on 7x9 (odd), C 5, M 3, two images, relu", 2, 7, 9, 5, 3, 3, 3, true, {2, 2}, {1, 1, 1, 1}, {0}, "relu"},
      {"3x3 pads 1 on 9x7, C 6, M 19, silu", 1, 9, 7, 6, 3, 3, 19, true, {1, 1}, {1, 1, 1, 1}, {0}, "silu"},
      {"uneven pads 2x3 stride 1x2, pads 0,2,1,1, C 7, M 17, no bias", 1, 5, 8, 7, 2, 3, 17, false, {1, 2}, {0, 2, 1, 1}},
      {"pads 3 below, beyond the last window: 3x3 stride 2 on 8x8, C 4, M 9", 1, 8, 8, 4, 3, 3, 9, true, {2, 2}, {0, 1, 3, 1}},
      {"pads on the right only, 2x3 with row dilation 2, C 6, M 20, gelu_tanh", 2, 5, 7, 6, 2, 3, 20, true, {1, 1}, {0, 0, 0, 2}, {2, 1}, "gelu_tanh"},
      {"K 9·500: 3x3 pads 1 on 40x25, C 500, M 4", 1, 40, 25, 500, 3, 3, 4, true, {1, 1}, {1, 1, 1, 1}},
  };
  check_cases(cases, sizeof cases / sizeof *cases);
}

static void test_gathered(void) {
  static const patch_case cases[] = {
      {"column dilation 2, 3x3 on 6x9, C 3, M 8", 1, 6, 9, 3, 3, 3, 8, true, {1, 1}, {0}, {1, 2}},
      {"column dilation 2 with pads 1,2,0,2, C 5, M 11, gelu", 2, 6, 9, 5, 3, 3, 11, true, {1, 1}, {1, 2, 0, 2}, {1, 2}, "gelu_erf"},
      {"a whole slab and a tail: 3x3 pads 1, column dilation 2 on 40x25, C 500, M 4", 1, 40, 25, 500, 3, 3, 4, true, {1, 1}, {1, 1, 1, 1}, {1, 2}},
  };
  check_cases(cases, sizeof cases / sizeof *cases);
}

static void test_refusals(void) {
  vitc_error err = {0};
  patch_case k = {"bad", 1, 4, 4, 3, 2, 2, 5, true};
  test_graph t = build(&k, false);
  t.g->tensors[t.g->nodes[0].in[1]].v.dims[0] = 13; /* not kh·kw·C = 12 */
  CHECK(vitc_infer_shapes(t.g, &err) != VITC_OK);
  CHECK_MSG(err.msg, "PatchConvNHWC needs W [kh·kw·C = 12, M]");
  tg_free(&t);
  t = build(&k, false);
  t.g->tensors[t.g->nodes[0].in[2]].v.dims[0] = 4;
  CHECK(vitc_infer_shapes(t.g, &err) != VITC_OK);
  CHECK_MSG(err.msg, "PatchConvNHWC bias must be [5]");
  tg_free(&t);
  t = build(&k, false);
  t.g->nodes[0].attrs[0].n = 1;
  CHECK(vitc_infer_shapes(t.g, &err) != VITC_OK);
  CHECK_MSG(err.msg, "PatchConvNHWC needs kernel_shape [kh, kw] of positive sizes");
  tg_free(&t);
  t = build(&k, false);
  t.g->tensors[t.g->inputs[0]].v.rank = 3;
  CHECK(vitc_infer_shapes(t.g, &err) != VITC_OK);
  CHECK_MSG(err.msg, "PatchConvNHWC needs X [N, H, W, C]");
  tg_free(&t);
  t = build(&k, false);
  t.g->tensors[t.g->nodes[0].in[1]].v.dtype = VITC_F16;
  CHECK(vitc_infer_shapes(t.g, &err) != VITC_OK);
  CHECK_MSG(err.msg, "PatchConvNHWC runs on float32 only (input 1)");
  tg_free(&t);
  k.activation = "swish";
  t = build(&k, false);
  CHECK(vitc_infer_shapes(t.g, &err) != VITC_OK);
  CHECK_MSG(err.msg, "PatchConvNHWC activation \"swish\" is none of none, relu, gelu_erf, gelu_tanh, silu");
  tg_free(&t);
}

int main(void) {
  test_in_place();
  test_padded();
  test_gathered();
  test_refusals();
  CHECK_DONE();
}

/* test_backend_patch_conv.c — vitc.PatchConvNHWC: the JIT-compiled GEMM reading its patches in place
 * (emit_gemm.h's row groups and K segments) against the evaluator at 1 and 3 threads, on sizes that reach
 * its edges: kh ≠ kw; a segment of one float (C 1, kw 1); segments longer than a K block (kw·C 400 and
 * 640 > 256, cut into blocks within each segment) and segments that are not a multiple of a vector; M
 * below one vector, of one panel with a masked tail (50) and of several panels; row groups of one row
 * (Wo 1) and more rows than a tile; two images; no bias; PVT v2's reductions at 224 (8x8 on 56x56x64,
 * 2x2 on 14x14x320, 49 rows of K 4096 and 1280). And the shape rule's refusals. */
#include "backend_harness.h"

#define RTOL 1e-4
#define ATOL 1e-4 /* as test_backend_gemm.c: float32 sums of thousands of O(1) terms that cancel to near 0 */

typedef struct patch_case {
  const char *what;
  int64_t n, h, w, c, kh, kw, m;
  bool bias;
} patch_case;

static test_graph build(const patch_case *k) {
  test_graph t = tg_new();
  const int64_t xd[] = {k->n, k->h, k->w, k->c}, wd[] = {k->kh * k->kw * k->c, k->m}, bd[] = {k->m};
  int64_t kernel[2] = {k->kh, k->kw};
  vitc_attr a = {.name = "kernel_shape", .type = VITC_ATTR_INTS, .n = 2, .ints = kernel};
  int in[3] = {tg_input(&t, VITC_F32, 4, xd), tg_const(&t, VITC_F32, 2, wd, 7),
               k->bias ? tg_const(&t, VITC_F32, 1, bd, 8) : -1};
  tg_output(&t, tg_node(&t, VITC_OP_PatchConvNHWC, in, k->bias ? 3 : 2, 1, &a, 1));
  return t;
}

static void test_kernel(void) {
  static const patch_case cases[] = {
      {"3x2 on 9x8, C 5, M 7", 1, 9, 8, 5, 3, 2, 7, true},
      {"1x1 segments: C 1, 2x1 on 6x5, M 3, no bias", 2, 6, 5, 1, 2, 1, 3, false},
      {"2x2 on 6x4, C 200 (segments of 400), M 50", 1, 6, 4, 200, 2, 2, 50, true},
      {"2x2 on 14x14, C 320 (segments of 640), M 97", 1, 14, 14, 320, 2, 2, 97, true},
      {"4x4 on 4x12 (Wo 3, one row group), C 3, M 16", 2, 4, 12, 3, 4, 4, 16, true},
      {"2x2 on 40x2 (Wo 1), C 17, M 33", 1, 40, 2, 17, 2, 2, 33, true},
      {"PVT v2 stage 1: 8x8 on 56x56, C 64", 1, 56, 56, 64, 8, 8, 64, true},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    for (int threads = 1; threads <= 3; threads += 2) {
      test_graph t = build(&cases[i]);
      tg_check(&t, cases[i].what, threads, RTOL, ATOL);
    }
}

static void test_refusals(void) {
  static const struct {
    patch_case k;
    const char *msg;
  } cases[] = {
      {{"H not a multiple of kh", 1, 7, 8, 4, 2, 2, 5, true}, "X [N, H, W, C] with H a multiple of 2 and W of 2"},
      {{"W not a multiple of kw", 1, 6, 8, 4, 2, 3, 5, true}, "with H a multiple of 2 and W of 3"},
  };
  vitc_error err = {0};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    test_graph t = build(&cases[i].k);
    CHECK(vitc_infer_shapes(t.g, &err) != VITC_OK);
    CHECK_MSG(err.msg, cases[i].msg);
    tg_free(&t);
  }
  patch_case k = {"bad", 1, 4, 4, 3, 2, 2, 5, true};
  test_graph t = build(&k);
  t.g->tensors[t.g->nodes[0].in[1]].v.dims[0] = 13; /* not kh·kw·C = 12 */
  CHECK(vitc_infer_shapes(t.g, &err) != VITC_OK);
  CHECK_MSG(err.msg, "PatchConvNHWC needs W [kh·kw·C = 12, M]");
  tg_free(&t);
  t = build(&k);
  t.g->tensors[t.g->nodes[0].in[2]].v.dims[0] = 4;
  CHECK(vitc_infer_shapes(t.g, &err) != VITC_OK);
  CHECK_MSG(err.msg, "PatchConvNHWC bias must be [5]");
  tg_free(&t);
  t = build(&k);
  t.g->nodes[0].attrs[0].n = 1;
  CHECK(vitc_infer_shapes(t.g, &err) != VITC_OK);
  CHECK_MSG(err.msg, "PatchConvNHWC needs kernel_shape [kh, kw] of positive sizes");
  tg_free(&t);
}

int main(void) {
  test_kernel();
  test_refusals();
  CHECK_DONE();
}

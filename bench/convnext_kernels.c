/* convnext_kernels.c — the kernels of ConvNeXt besides its GEMMs, on ConvNeXt-T's four stages:
 *   - the channels-last depthwise conv (vitc.DepthwiseConvNHWC, 7x7, pads 3), alone and with its LayerNorm
 *     epilogue: GFLOP/s against the FMA roofline (PEAK GFLOP/s given), and GB/s of the input read and the
 *     output written once (the memory roofline);
 *   - ConvNeXt V2's GRN (vitc.GRN) on the MLP's hidden [1, H, W, 4C]: GB/s of its three passes over the
 *     tensor (two reads and a write).
 * Best of 50 runs. Built by hand like bench/jit_gemm.c:
 *   gcc -std=gnu11 -O2 -I include -I . -I tests/unit -I/usr/lib/llvm-16/include bench/convnext_kernels.c \
 *       -o /tmp/convnext_kernels BUILD/libvitc.a BUILD/libonnx_proto.a BUILD/libvitc_rt.a -lprotobuf-c \
 *       -L/usr/lib/llvm-16/lib -lLLVM-16 -lffi -lz -lm -lpthread
 * Usage: convnext_kernels THREADS [PEAK] */
#include "best_time.h"

static const int64_t stages[][2] = {{56, 96}, {28, 192}, {14, 384}, {7, 768}};

static void bench_grn(int threads) {
  for (size_t s = 0; s < sizeof stages / sizeof *stages; s++) {
    int64_t hw = stages[s][0], c = 4 * stages[s][1];
    const int64_t xd[] = {1, hw, hw, c}, cd[] = {c};
    vitc_attr eps = {.name = "epsilon", .type = VITC_ATTR_FLOAT, .f = 1e-6f};
    test_graph t = tg_new();
    int in[3] = {tg_input(&t, VITC_F32, 4, xd), tg_const(&t, VITC_F32, 1, cd, 3), tg_const(&t, VITC_F32, 1, cd, 4)};
    tg_output(&t, tg_node(&t, VITC_OP_GRN, in, 3, 1, &eps, 1));
    vitc_error err = {0};
    if (tg_compile(&t, threads, &err)) {
      fprintf(stderr, "GRN %lldx%lldx%lld: %s\n", (long long)hw, (long long)hw, (long long)c, err.msg);
      tg_free(&t);
      continue;
    }
    float *y = malloc(sizeof(float) * (size_t)(hw * hw * c));
    void *outs[1] = {y};
    double best = best_time(&t, outs, 50);
    printf("%2lldx%2lldx%4lld GRN       threads=%d: %.4f ms, %.1f GB/s\n", (long long)hw, (long long)hw, (long long)c,
           threads, best * 1e3, 12.0 * (double)(hw * hw * c) / best * 1e-9);
    free(y);
    tg_free(&t);
  }
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s THREADS [PEAK]\n", argv[0]);
    return 2;
  }
  int threads = atoi(argv[1]);
  double peak = argc > 2 ? atof(argv[2]) : 0;
  for (size_t s = 0; s < sizeof stages / sizeof *stages; s++)
    for (int norm = 0; norm < 2; norm++) {
      int64_t hw = stages[s][0], c = stages[s][1];
      const int64_t xd[] = {1, hw, hw, c}, wd[] = {7, 7, c}, cd[] = {c};
      static const int64_t ones[] = {1, 1}, pads[] = {3, 3, 3, 3};
      vitc_attr a[4] = {{.name = "strides", .type = VITC_ATTR_INTS, .n = 2, .ints = (int64_t *)ones},
                        {.name = "pads", .type = VITC_ATTR_INTS, .n = 4, .ints = (int64_t *)pads},
                        {.name = "dilations", .type = VITC_ATTR_INTS, .n = 2, .ints = (int64_t *)ones},
                        {.name = "epsilon", .type = VITC_ATTR_FLOAT, .f = 1e-6f}};
      test_graph t = tg_new();
      int in[5] = {tg_input(&t, VITC_F32, 4, xd), tg_const(&t, VITC_F32, 3, wd, 7), tg_const(&t, VITC_F32, 1, cd, 8),
                   tg_const(&t, VITC_F32, 1, cd, 9), tg_const(&t, VITC_F32, 1, cd, 10)};
      tg_output(&t, tg_node(&t, VITC_OP_DepthwiseConvNHWC, in, norm ? 5 : 3, 1, a, norm ? 4 : 3));
      vitc_error err = {0};
      if (tg_compile(&t, threads, &err)) {
        fprintf(stderr, "%lldx%lldx%lld%s: %s\n", (long long)hw, (long long)hw, (long long)c, norm ? " +norm" : "", err.msg);
        tg_free(&t);
        continue;
      }
      float *y = malloc(sizeof(float) * (size_t)(hw * hw * c));
      void *outs[1] = {y};
      double best = best_time(&t, outs, 50), flops = 98.0 * (double)(hw * hw * c);
      printf("%2lldx%2lldx%3lld %-9s threads=%d: %.4f ms, %6.1f GFLOP/s", (long long)hw, (long long)hw, (long long)c,
             norm ? "+norm" : "", threads, best * 1e3, flops / best * 1e-9);
      if (peak > 0) printf(" (%.0f%% of peak)", 100 * flops / best * 1e-9 / peak);
      printf(", %.1f GB/s\n", 8.0 * (double)(hw * hw * c) / best * 1e-9);
      free(y);
      tg_free(&t);
    }
  bench_grn(threads);
  return 0;
}

/* jit_gemm.c — GFLOP/s of the generated GEMM for the ViT-B/16 linear layers: X[M,K] @ W[K,N] with W a
 * constant (prepacked at compile time), in float32 or bfloat16 products (vitc --precision). Built by hand:
 *   gcc -std=gnu11 -O2 -I include -I . -I tests/unit -I /usr/lib/llvm-16/include bench/jit_gemm.c -o /tmp/jit_gemm BUILD/libvitc.a \
 *       BUILD/libonnx_proto.a BUILD/libvitc_rt.a -lprotobuf-c -L/usr/lib/llvm-16/lib -lLLVM-16 -lffi -lz -lm -lpthread
 * Usage: jit_gemm M K N THREADS [const|input] [fp32|bf16] */
#include "best_time.h"

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s M K N THREADS [const|input] [fp32|bf16]\n", argv[0]);
    return 2;
  }
  int64_t m = atoll(argv[1]), k = atoll(argv[2]), n = atoll(argv[3]);
  int threads = atoi(argv[4]);
  bool const_b = argc < 6 || strcmp(argv[5], "input"), bf16 = argc > 6 && !strcmp(argv[6], "bf16");
  test_graph t = tg_new();
  int in[2];
  in[0] = tg_input(&t, VITC_F32, 2, (int64_t[]){m, k});
  in[1] = const_b ? tg_const(&t, VITC_F32, 2, (int64_t[]){k, n}, 7) : tg_input(&t, VITC_F32, 2, (int64_t[]){k, n});
  tg_output(&t, tg_node(&t, VITC_OP_MatMul, in, 2, 1, NULL, 0));
  t.g->precision = bf16 ? VITC_PRECISION_BF16 : VITC_PRECISION_FP32;
  vitc_error err = {0};
  if (tg_compile(&t, threads, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  float *y = malloc(sizeof(float) * (size_t)(m * n));
  void *outs[1] = {y};
  double best = best_time(&t, outs, 30);
  printf("M=%lld K=%lld N=%lld threads=%d B=%s %s: %.3f ms, %.1f GFLOP/s\n", (long long)m, (long long)k, (long long)n,
         threads, const_b ? "const" : "input", bf16 ? "bf16" : "fp32", best * 1e3, 2.0 * (double)(m * n * k) / best * 1e-9);
  free(y);
  tg_free(&t);
  return 0;
}

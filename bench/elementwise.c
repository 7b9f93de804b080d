/* elementwise.c — GB/s of the generated elementwise kernels on one contiguous float32 tensor (bytes read
 * plus written over the best time), the ops whose math is inline (vmath.h): Gelu (erf and tanh forms),
 * Erf, Tanh, Exp, Sigmoid, Silu. Built by hand like bench/jit_gemm.c:
 *   gcc -std=gnu11 -O2 -I include -I . -I tests/unit bench/elementwise.c -o /tmp/elementwise BUILD/libvitc.a \
 *       BUILD/libonnx_proto.a BUILD/libvitc_rt.a -lprotobuf-c -L/usr/lib/llvm-16/lib -lLLVM-16 -lffi -lm -lpthread
 * Usage: elementwise ELEMENTS THREADS */
#include "best_time.h"

typedef struct bench_op {
  const char *name;
  vitc_op op;
  const char *approximate; /* Gelu's attribute, or NULL */
} bench_op;

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s ELEMENTS THREADS\n", argv[0]);
    return 2;
  }
  int64_t n = atoll(argv[1]);
  int threads = atoi(argv[2]);
  const bench_op ops[] = {{"Gelu", VITC_OP_Gelu, "none"}, {"Gelu(tanh)", VITC_OP_Gelu, "tanh"},
                          {"Erf", VITC_OP_Erf, NULL},     {"Tanh", VITC_OP_Tanh, NULL},
                          {"Exp", VITC_OP_Exp, NULL},     {"Sigmoid", VITC_OP_Sigmoid, NULL},
                          {"Silu", VITC_OP_Silu, NULL}};
  float *y = malloc(sizeof(float) * (size_t)n);
  void *outs[1] = {y};
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
    test_graph t = tg_new();
    int x = tg_input(&t, VITC_F32, 1, &n);
    vitc_attr approx = {.name = "approximate", .type = VITC_ATTR_STRING, .s = ops[i].approximate};
    tg_output(&t, tg_node(&t, ops[i].op, &x, 1, 1, &approx, ops[i].approximate ? 1 : 0));
    vitc_error err = {0};
    if (tg_compile(&t, threads, &err)) {
      fprintf(stderr, "%s: %s\n", ops[i].name, err.msg);
      return 1;
    }
    double best = best_time(&t, outs, 30);
    printf("%-11s n=%lld threads=%d: %.3f ms, %.1f GB/s\n", ops[i].name, (long long)n, threads, best * 1e3,
           8.0 * (double)n / best * 1e-9);
    tg_free(&t);
  }
  free(y);
  return 0;
}

/* jit_gemm.c — GFLOP/s and % of the machine's peak of the generated GEMM: X[M,K] @ W[K,N] with W a
 * constant (prepacked at compile time, as every linear layer of a model) or an input, in float32 or
 * bfloat16 products (vitc --precision), for given shapes or for every linear-layer shape of a model.
 * Built by hand:
 *   gcc -std=gnu11 -O2 -I include -I . -I tests/unit -I /usr/lib/llvm-16/include bench/jit_gemm.c -o /tmp/jit_gemm BUILD/libvitc.a \
 *       BUILD/libonnx_proto.a BUILD/libvitc_rt.a -lprotobuf-c -L/usr/lib/llvm-16/lib -lLLVM-16 -lffi -lz -lm -lpthread
 * Usage: jit_gemm [--threads T] [--chain L] [--input] [--bf16] [--gelu] [--residual] [--nchw KSIZE] [--peak GFLOPS]
 *                 (--model NAME | M K N ..)
 *   --model    the products of vit_b_16, vit_b_32, swin_t or convnext_tiny (linear layers and patch convs), or of
 *              poolformer_s12 or efficientformer_l1 (their NCHW 1x1 convs; with --nchw)
 *   --chain L  L products in one graph, K->N and N->K alternately, each with its own weight: with L large
 *              enough for the weights to exceed the last-level cache, every product streams its weight from
 *              memory as it does inside a model (L = 1: the weight stays cached between runs)
 *   --gelu     each product a vitc.FusedGemm with a bias and GELU (erf) in its epilogue, as an MLP's first
 *              linear layer (the weight constant)
 *   --residual each product a vitc.FusedGemm with a bias and a residual added in its epilogue, as an MLP's second
 *              linear layer: the residual is the product's input two links back (the first reads a further input)
 *   --nchw K   each product a Conv (FusedConv with --gelu or --residual) of a KxK kernel, stride 1, pads K/2,
 *              on an NCHW image [1, K, h, w] of M = h·w pixels (h the largest divisor of M up to its square
 *              root) to N channels, its weight constant: the GEMM Y[N, M] = W[N, K·K·K] X[K·K·K, M] of a
 *              convolutional trunk that stays channels-first
 *   --peak     GFLOP/s of the machine at T threads; default the line "T GFLOPS" of /work/shared-bench/peak.txt
 * Prints per shape the best wall time per product of 20 runs, its GFLOP/s and % of peak, and the same by
 * the calling thread's CPU time (steadier when other processes share the cores; with T threads the caller
 * runs its 1/T of the tasks and waits for the rest, so this is the rate were the others as fast), and that
 * rate against an FMA probe timed the same way around the shape's runs ("probe": the best of its runs before
 * and after, per thread), which follows the clock when other work on the machine lowers it, where the
 * idle peak of peak.txt does not. */
#include "best_time.h"
#include "op_harness.h"

typedef struct shape {
  int64_t m, k, n;
} shape;

/* Rows, K and N of each product (qkv, projection, MLP up and down; patch merging / downsampling and the
 * patch embedding as their implicit GEMMs), batch 1 at 224x224. */
static const struct model_shapes {
  const char *name;
  shape s[20];
} models[] = {
    {"vit_b_16", {{196, 768, 768}, {197, 768, 2304}, {197, 768, 768}, {197, 768, 3072}, {197, 3072, 768}}},
    {"vit_b_32", {{49, 3072, 768}, {50, 768, 2304}, {50, 768, 768}, {50, 768, 3072}, {50, 3072, 768}}},
    {"swin_t",
     {{3136, 96, 288}, {3136, 96, 96}, {3136, 96, 384}, {3136, 384, 96}, {784, 384, 192}, {784, 192, 576},
      {784, 192, 192}, {784, 192, 768}, {784, 768, 192}, {196, 768, 384}, {196, 384, 1152}, {196, 384, 384},
      {196, 384, 1536}, {196, 1536, 384}, {49, 1536, 768}, {49, 768, 2304}, {49, 768, 768}, {49, 768, 3072},
      {49, 3072, 768}}},
    {"convnext_tiny",
     {{3136, 48, 96}, {3136, 96, 384}, {3136, 384, 96}, {784, 384, 192}, {784, 192, 768}, {784, 768, 192},
      {196, 768, 384}, {196, 384, 1536}, {196, 1536, 384}, {49, 1536, 768}, {49, 768, 3072}, {49, 3072, 768}}},
    {"poolformer_s12",
     {{3136, 64, 256}, {3136, 256, 64}, {784, 128, 512}, {784, 512, 128}, {196, 320, 1280}, {196, 1280, 320},
      {49, 512, 2048}, {49, 2048, 512}}},
    {"efficientformer_l1",
     {{3136, 48, 192}, {3136, 192, 48}, {784, 96, 384}, {784, 384, 96}, {196, 224, 896}, {196, 896, 224},
      {49, 448, 1792}, {49, 1792, 448}}},
};

/* GFLOP/s of one thread's FMAs by its CPU time, the best of `runs` runs of 12 independent chains held in
 * registers (as /work/shared/tools/peak.c counts them), each chain one register of `lanes` floats (16-float
 * chains on AVX2 would be 24 ymm of 16, and spill). */
#define FMA_PROBE(name, lanes)                                                                                      \
  static double name(int runs) {                                                                                \
    typedef float vf __attribute__((vector_size(4 * (lanes))));                                                 \
    enum { ITERS = 200000 };                                                                                    \
    double best = 0;                                                                                            \
    for (int r = 0; r < runs; r++) {                                                                            \
      vf b = {0}, c = {0}, x0 = {0}, x1 = {0}, x2 = {0}, x3 = {0}, x4 = {0}, x5 = {0}, x6 = {0}, x7 = {0},        \
         x8 = {0}, x9 = {0}, x10 = {0}, x11 = {0};                                                              \
      b += 0.999999f, c += 1e-7f;                                                                               \
      double t0 = thread_cpu();                                                                                 \
      for (int k = 0; k < ITERS; k++) {                                                                         \
        STEP(x0), STEP(x1), STEP(x2), STEP(x3), STEP(x4), STEP(x5), STEP(x6), STEP(x7), STEP(x8), STEP(x9),     \
            STEP(x10), STEP(x11);                                                                               \
        /* the chains stay in registers, each step kept (no folding across steps) */                            \
        __asm__ volatile("" : "+v"(x0), "+v"(x1), "+v"(x2), "+v"(x3), "+v"(x4), "+v"(x5), "+v"(x6), "+v"(x7),  \
                         "+v"(x8), "+v"(x9), "+v"(x10), "+v"(x11));                                             \
      }                                                                                                         \
      double gf = (double)ITERS * 12 * (lanes) * 2 / (thread_cpu() - t0) * 1e-9;                                \
      if (gf > best) best = gf;                                                                                 \
    }                                                                                                           \
    return best;                                                                                                \
  }
#define STEP(x) x = x * b + c
__attribute__((target("avx512f"))) FMA_PROBE(fma_probe_avx512, 16)
__attribute__((target("avx2,fma"))) FMA_PROBE(fma_probe_avx2, 8)
#undef STEP

static double fma_probe(int runs) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") ? fma_probe_avx512(runs) : fma_probe_avx2(runs);
}

typedef struct options {
  int threads, chain, nchw; /* nchw: the conv's kernel size, 0 for a MatMul */
  bool const_b, bf16, gelu, residual;
  double peak;
} options;

/* A KxK conv (FusedConv with `act` when fused) of x [1, kin, h, M/h] to nout channels, stride 1, pads K/2. */
static int conv_link(test_graph *t, const options *o, int x, int64_t kin, int64_t nout, int back, unsigned seed) {
  int64_t ks = o->nchw, pad = ks / 2, pads[4] = {pad, pad, pad, pad}, kernel[2] = {ks, ks};
  int64_t wd[4] = {nout, kin, ks, ks};
  vitc_attr attrs[3] = {attr_ints("pads", 4, pads), attr_ints("kernel_shape", 2, kernel),
                        attr_str("activation", o->gelu ? "gelu_erf" : "none")};
  int in[4] = {x, tg_const(t, VITC_F32, 4, wd, seed), tg_const(t, VITC_F32, 1, &nout, seed + 100), back};
  if (!o->gelu && !o->residual) return tg_node(t, VITC_OP_Conv, in, 2, 1, attrs, 2);
  return tg_node(t, VITC_OP_FusedConv, in, o->residual ? 4 : 3, 1, attrs, 3);
}

static int64_t image_height(int64_t m) {
  int64_t h = 1;
  for (int64_t d = 1; d * d <= m; d++)
    if (m % d == 0) h = d;
  return h;
}

static int bench_shape(shape s, const options *o) {
  test_graph t = tg_new();
  int64_t h = image_height(s.m);
  /* in bf16 the chain's ends are copies (tg_same_values), so that its first and last products stay bf16;
   * their time, a pass over M x K and M x N floats, is counted */
  int x = o->nchw ? tg_input(&t, VITC_F32, 4, (int64_t[]){1, s.k, h, s.m / h}) : tg_input(&t, VITC_F32, 2, (int64_t[]){s.m, s.k});
  if (o->bf16) x = tg_same_values(&t, x);
  int back = -1; /* [M, nout] of this link (NCHW: [1, nout, h, w]) */
  if (o->residual)
    back = o->nchw ? tg_input(&t, VITC_F32, 4, (int64_t[]){1, s.n, h, s.m / h}) : tg_input(&t, VITC_F32, 2, (int64_t[]){s.m, s.n});
  for (int l = 0; l < o->chain; l++) {
    int64_t kin = l % 2 ? s.n : s.k, nout = l % 2 ? s.k : s.n;
    if (o->nchw) {
      int prev = x;
      x = conv_link(&t, o, x, kin, nout, back, 7 + l);
      back = prev;
      continue;
    }
    int w = o->const_b ? tg_const(&t, VITC_F32, 2, (int64_t[]){kin, nout}, 7 + l)
                       : tg_input(&t, VITC_F32, 2, (int64_t[]){kin, nout});
    if (o->gelu || o->residual) {
      vitc_attr act = attr_str("activation", o->gelu ? "gelu_erf" : "none");
      int in[4] = {x, w, tg_const(&t, VITC_F32, 1, &nout, 3 + l), back}, prev = x;
      x = tg_node(&t, VITC_OP_FusedGemm, in, o->residual ? 4 : 3, 1, &act, 1);
      back = prev;
    } else {
      x = tg_node(&t, VITC_OP_MatMul, (int[]){x, w}, 2, 1, NULL, 0);
    }
  }
  tg_output(&t, o->bf16 ? tg_same_values(&t, x) : x);
  t.g->precision = o->bf16 ? VITC_PRECISION_BF16 : VITC_PRECISION_FP32;
  t.compile_threads = 1; /* as the JIT compiles: each kernel at its own level (the GEMM's a clean-up, not O3) */
  vitc_error err = {0};
  if (tg_compile(&t, o->threads, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    tg_free(&t);
    return 1;
  }
  float *y = malloc(sizeof(float) * (size_t)(s.m * (s.k > s.n ? s.k : s.n)));
  void *outs[1] = {y};
  double best, best_cpu, probe = fma_probe(5);
  best_times(&t, outs, 20, &best, &best_cpu);
  double after = fma_probe(5), flop = 2.0 * (double)(s.m * s.n * s.k * (o->nchw ? o->nchw * o->nchw : 1)) * o->chain, gf = flop / best * 1e-9;
  if (after > probe) probe = after;
  printf("%5lld %5lld %5lld  %2d  %8.3f  %6.1f", (long long)s.m, (long long)s.k, (long long)s.n, o->threads,
         best * 1e3 / o->chain, gf);
  if (o->peak > 0) printf("  %5.1f%%", 100 * gf / o->peak);
  printf("  cpu %6.1f  %5.1f%%", flop / best_cpu * 1e-9, o->peak > 0 ? 100 * flop / best_cpu * 1e-9 / o->peak : 0);
  printf("  probe %6.1f  %5.1f%%", probe, 100 * flop / best_cpu * 1e-9 / probe);
  printf("\n");
  fflush(stdout);
  free(y);
  tg_free(&t);
  return 0;
}

int main(int argc, char **argv) {
  options o = {.threads = 1, .chain = 1, .const_b = true};
  const struct model_shapes *model = NULL;
  shape given[64];
  int ngiven = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--threads") && i + 1 < argc) o.threads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--chain") && i + 1 < argc) o.chain = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--peak") && i + 1 < argc) o.peak = atof(argv[++i]);
    else if (!strcmp(argv[i], "--input")) o.const_b = false;
    else if (!strcmp(argv[i], "--bf16")) o.bf16 = true;
    else if (!strcmp(argv[i], "--gelu")) o.gelu = o.const_b = true;
    else if (!strcmp(argv[i], "--residual")) o.residual = o.const_b = true;
    else if (!strcmp(argv[i], "--nchw") && i + 1 < argc) o.nchw = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--model") && i + 1 < argc) {
      const char *name = argv[++i];
      for (size_t m = 0; m < sizeof models / sizeof *models; m++)
        if (!strcmp(models[m].name, name)) model = &models[m];
      if (!model) {
        fprintf(stderr, "unknown model %s\n", name);
        return 2;
      }
    } else if (i + 2 < argc && ngiven < 64) {
      given[ngiven++] = (shape){atoll(argv[i]), atoll(argv[i + 1]), atoll(argv[i + 2])};
      i += 2;
    } else {
      fprintf(stderr, "usage: %s [--threads T] [--chain L] [--input] [--bf16] [--gelu] [--residual] [--nchw KSIZE] [--peak GFLOPS] (--model NAME | M K N ..)\n",
              argv[0]);
      return 2;
    }
  }
  if (o.threads < 1 || o.chain < 1 || o.nchw < 0 || (!model && !ngiven)) {
    fprintf(stderr, "need shapes or --model, threads and chain >= 1\n");
    return 2;
  }
  if (o.peak <= 0) o.peak = peak_of("/work/shared-bench/peak.txt", o.threads);
  char what[32];
  if (o.nchw) snprintf(what, sizeof what, "NCHW conv %dx%d", o.nchw, o.nchw);
  else snprintf(what, sizeof what, "B %s", o.const_b ? "const" : "input");
  printf("    M     K     N   T   ms/prod  GFLOP/s  %%peak (%s, %s%s%s, chain %d, peak %.1f)\n", what, o.bf16 ? "bf16" : "fp32", o.gelu ? ", bias+gelu" : "", o.residual ? ", bias+residual" : "", o.chain, o.peak);
  int rc = 0;
  if (model)
    for (int i = 0; i < 20 && model->s[i].m; i++) rc |= bench_shape(model->s[i], &o);
  for (int i = 0; i < ngiven; i++) rc |= bench_shape(given[i], &o);
  return rc;
}

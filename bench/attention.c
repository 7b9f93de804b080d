/* attention.c — GFLOP/s and % of the machine's peak of the generated vitc.Attention kernel, counting the
 * two products (4·G·H·N²·D flops), in the layouts the fusions leave:
 *   dense  operands [G, H, N, D]
 *   vit    row maps reading Q, K, V from one packed qkv [N, G, 3·H·D], Y written as [N, G, H·D]
 *   swin   row maps reading windows of N tokens (a fixed permutation: partition and cyclic shift) from qkv
 *          [G·N, 3·H·D], Y back to [G·N, H·D], rel-pos bias [H, N, N]; swin+mask: the shifted blocks'
 *          bias + mask [G, H, N, N]; swin2: Swin V2's cosine attention (normalize_qk, a per-head scale S
 *          [H, 1, 1]) with the rel-pos bias [H, N, N]
 *   vit+qdq  vit with the grids of ORT's QDQ ViT-B/16 (its first layer's q_quant .. p_quant)
 * The default set: ViT-B/16 (H 12, D 64) at 197, 577 and 1025 tokens (224, 384, 512 pixels), ViT-B/32's
 * 50 tokens, Swin-T's four stages (49 tokens, D 32; 64 windows × 3 heads .. 1 × 24), MaxViT-T's (49 tokens,
 * D 32; 64 windows or grid cells × 2 heads .. 1 × 16) and Swin V2-T's first two at 224 pixels (64 tokens,
 * D 32, cosine; 49 windows × 3 heads, 16 × 6), on 1 and 2 threads.
 * Times are the best of about a second of runs (wall clock; at 1 thread also the calling thread's CPU time,
 * which a shared machine disturbs less). Each case runs in float32 and then in bf16 precision (Q·Kᵀ and P·V on
 * vdpbf16ps, ir/precision.c), side by side. Built by hand:
 *   gcc -std=gnu11 -O2 -I include -I . -I tests/unit -I /usr/lib/llvm-16/include bench/attention.c -o /tmp/attention BUILD/libvitc.a \
 *       BUILD/libonnx_proto.a BUILD/libvitc_rt.a -lprotobuf-c -L/usr/lib/llvm-16/lib -lLLVM-16 -lffi -lz -lm -lpthread
 * Usage: attention [PEAK_FILE [G H N D THREADS LAYOUT [PRECISION]]]   (LAYOUT dense, vit, swin, swin+mask, swin2;
 *        PRECISION fp32, the default, or bf16)
 * PEAK_FILE has lines "THREADS GFLOPS" (/work/shared-bench/peak.txt). */
#include "best_time.h"

typedef enum { DENSE, VIT, SWIN, SWIN_MASK, VIT_QDQ, SWIN2, NLAYOUTS } layout;
static const char *const layout_names[] = {"dense", "vit", "swin", "swin+mask", "vit+qdq", "swin2"};

typedef struct bench_case {
  int64_t g, h, n, d;
  layout lay;
} bench_case;

static int map_const(test_graph *t, int64_t g, int64_t n, const int64_t *offsets) {
  vitc_value v = {.dtype = VITC_I64, .rank = 2, .dims = {g, n}, .data = (void *)offsets};
  return vitc_graph_add_constant(t->g, NULL, &v);
}

/* The Attention node; the attribute arrays must outlive the graph, hence the caller's maps, hs and ys. */
static void build(test_graph *t, const bench_case *c, int64_t *maps, int64_t *hs, int64_t *ys) {
  int64_t g = c->g, h = c->h, n = c->n, d = c->d, w = h * d, l = g * n;
  int in[9];
  vitc_attr at[13];
  int na = 0, nin = 3;
  at[na++] = (vitc_attr){.name = "scale", .type = VITC_ATTR_FLOAT, .f = c->lay == SWIN2 ? 1 : 0.125};
  if (c->lay == SWIN2) at[na++] = (vitc_attr){.name = "normalize_qk", .type = VITC_ATTR_INT, .i = 1};
  static double grids[VITC_NGRIDS][4] = {{0.00495325, 130, 0, 255}, {0.0399091, 131, 0, 255}, {0.0398465, 120, 0, 255},
                               {0.0456505, 125, 0, 255}, {0.00169735, 0, 0, 255}};
  for (int x = 0; c->lay == VIT_QDQ && x < VITC_NGRIDS; x++)
    at[na++] = (vitc_attr){.name = vitc_attention_grids[x], .type = VITC_ATTR_FLOATS, .n = 4, .floats = grids[x]};
  bool vit = c->lay == VIT || c->lay == VIT_QDQ;
  if (c->lay == DENSE) {
    for (int x = 0; x < 3; x++) in[x] = tg_input(t, VITC_F32, 4, (int64_t[]){g, h, n, d});
  } else {
    int64_t *perm = maps + 4 * l;
    int qkv = vit ? tg_input(t, VITC_F32, 3, (int64_t[]){n, g, 3 * w}) : tg_input(t, VITC_F32, 2, (int64_t[]){l, 3 * w});
    tg_permutation(perm, l, 99);
    for (int x = 0; x < 4; x++)
      for (int64_t gi = 0; gi < g; gi++)
        for (int64_t i = 0; i < n; i++) {
          int64_t row = vit ? i * g + gi : perm[gi * n + i];
          maps[(x * g + gi) * n + i] = x < 3 ? row * 3 * w + x * w : row * w;
        }
    for (int x = 0; x < 3; x++) in[x] = qkv;
    in[3] = c->lay == SWIN || c->lay == SWIN2 ? tg_const(t, VITC_F32, 3, (int64_t[]){h, n, n}, 5)
            : c->lay == SWIN_MASK ? tg_const(t, VITC_F32, 4, (int64_t[]){g, h, n, n}, 5) : -1;
    in[4] = c->lay == SWIN2 ? tg_const(t, VITC_F32, 3, (int64_t[]){h, 1, 1}, 6) : -1; /* S: exp(clamp(logit_scale)) */
    for (int x = 0; x < 4; x++) in[5 + x] = map_const(t, g, n, maps + x * l);
    nin = 9;
    for (int x = 0; x < 4; x++) hs[x] = d;
    ys[0] = vit ? n : l;
    ys[1] = vit ? g : w;
    ys[2] = w;
    at[na++] = (vitc_attr){.name = "heads", .type = VITC_ATTR_INT, .i = h};
    at[na++] = (vitc_attr){.name = "head_dim", .type = VITC_ATTR_INT, .i = d};
    at[na++] = (vitc_attr){.name = "value_dim", .type = VITC_ATTR_INT, .i = d};
    at[na++] = (vitc_attr){.name = "head_strides", .type = VITC_ATTR_INTS, .n = 4, .ints = hs};
    at[na++] = (vitc_attr){.name = "y_shape", .type = VITC_ATTR_INTS, .n = vit ? 3 : 2, .ints = ys};
  }
  tg_output(t, tg_node(t, VITC_OP_Attention, in, nin, 1, at, na));
}

static int run(int threads, const bench_case *c, double peak, vitc_precision precision) {
  int64_t l = c->g * c->n, *maps = malloc(sizeof(int64_t) * (size_t)(5 * l)), hs[4], ys[3];
  test_graph t = tg_new();
  build(&t, c, maps, hs, ys);
  t.g->precision = precision;
  vitc_error err = {0};
  if (tg_compile(&t, threads, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  float *y = malloc(sizeof(float) * (size_t)(l * c->h * c->d));
  void *outs[1] = {y};
  /* best of about a second of runs: on a shared machine the quiet moments are what the kernel can do */
  double once = best_time(&t, outs, 3), wall, cpu;
  best_times(&t, outs, once < 1.0 / 100 ? (int)(1.0 / once) : 100, &wall, &cpu);
  double flops = 4.0 * (double)(c->g * c->h * c->n * c->n * c->d), gflops = flops / wall * 1e-9;
  printf("G=%-3lld H=%-3lld N=%-5lld D=%-3lld threads=%d %-9s %s: %8.3f ms, %6.1f GFLOP/s", (long long)c->g,
         (long long)c->h, (long long)c->n, (long long)c->d, threads, layout_names[c->lay],
         precision == VITC_PRECISION_BF16 ? "bf16" : "fp32", wall * 1e3, gflops);
  if (peak > 0) printf(", %3.0f%% of peak", 100 * gflops / peak);
  if (threads == 1 && peak > 0) printf(" (CPU time: %6.1f GFLOP/s, %3.0f%%)", flops / cpu * 1e-9, 100 * flops / cpu * 1e-9 / peak);
  printf("\n");
  fflush(stdout);
  free(y);
  free(maps);
  tg_free(&t);
  return 0;
}

int main(int argc, char **argv) {
  const char *peak_file = argc > 1 ? argv[1] : NULL;
  int bad = 0;
  if (argc > 7) { /* one case */
    bench_case c = {atoll(argv[2]), atoll(argv[3]), atoll(argv[4]), atoll(argv[5]), DENSE};
    int threads = atoi(argv[6]);
    for (int k = 0; k < NLAYOUTS; k++)
      if (!strcmp(argv[7], layout_names[k])) c.lay = (layout)k;
    bool bf16 = argc > 8 && !strcmp(argv[8], "bf16");
    return run(threads, &c, peak_of(peak_file, threads), bf16 ? VITC_PRECISION_BF16 : VITC_PRECISION_FP32);
  }
  static const bench_case cases[] = {
      {1, 12, 197, 64, VIT},  {1, 12, 577, 64, VIT},  {1, 12, 1025, 64, VIT},  {1, 12, 197, 64, DENSE},
      {1, 12, 50, 64, VIT},   {64, 3, 49, 32, SWIN},  {64, 3, 49, 32, SWIN_MASK}, {16, 6, 49, 32, SWIN_MASK},
      {4, 12, 49, 32, SWIN_MASK}, {1, 24, 49, 32, SWIN},
      {64, 2, 49, 32, SWIN},  {16, 4, 49, 32, SWIN},  {4, 8, 49, 32, SWIN},    {1, 16, 49, 32, SWIN},
      {49, 3, 64, 32, SWIN2}, {16, 6, 64, 32, SWIN2},
  };
  for (int threads = 1; threads <= 2; threads++)
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
      for (int p = 0; p < 2; p++)
        bad |= run(threads, &cases[i], peak_of(peak_file, threads), p ? VITC_PRECISION_BF16 : VITC_PRECISION_FP32);
  return bad;
}

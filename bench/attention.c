/* attention.c — GFLOP/s and % of the machine's peak of the generated vitc.Attention kernel on ViT-B/16
 * sized attention (H = 12, D = 64, batch 1) at 197, 577 and 1025 tokens (224, 384 and 512 pixels) on 1 and
 * 2 threads, counting the two products (4·H·N²·D flops): dense operands [1, H, N, D], and row maps
 * reading Q, K, V from the packed qkv [N, 1, 3·H·D] and writing Y as [N, H·D]. Built by hand:
 *   gcc -std=gnu11 -O2 -I include -I . -I tests/unit -I /usr/lib/llvm-16/include bench/attention.c -o /tmp/attention BUILD/libvitc.a \
 *       BUILD/libonnx_proto.a BUILD/libvitc_rt.a -lprotobuf-c -L/usr/lib/llvm-16/lib -lLLVM-16 -lffi -lm -lpthread
 * Usage: attention [PEAK_FILE [H N D THREADS]]   (one size: dense and mapped, each also with normalize_qk)
 * PEAK_FILE has lines "THREADS GFLOPS" (/work/shared-bench/peak.txt). */
#include "best_time.h"

static int map_const(test_graph *t, int64_t n, const int64_t *offsets) {
  vitc_value v = {.dtype = VITC_I64, .rank = 2, .dims = {1, n}, .data = (void *)offsets};
  return vitc_graph_add_constant(t->g, NULL, &v);
}

/* The Attention node; the attribute arrays must outlive the graph, hence the caller's hs and ys. */
static void build(test_graph *t, int64_t h, int64_t n, int64_t d, bool mapped, bool cosine, int64_t *maps,
                  int64_t *hs, int64_t *ys) {
  int64_t c = h * d;
  int in[9];
  vitc_attr at[8];
  int na = 0, nin = 3;
  at[na++] = (vitc_attr){.name = "scale", .type = VITC_ATTR_FLOAT, .f = 0.125};
  at[na++] = (vitc_attr){.name = "normalize_qk", .type = VITC_ATTR_INT, .i = cosine};
  if (!mapped) {
    for (int x = 0; x < 3; x++) in[x] = tg_input(t, VITC_F32, 4, (int64_t[]){1, h, n, d});
  } else {
    int qkv = tg_input(t, VITC_F32, 3, (int64_t[]){n, 1, 3 * c});
    for (int x = 0; x < 4; x++)
      for (int64_t i = 0; i < n; i++) maps[x * n + i] = x < 3 ? i * 3 * c + x * c : i * c;
    for (int x = 0; x < 3; x++) in[x] = qkv;
    in[3] = in[4] = -1;
    for (int x = 0; x < 4; x++) in[5 + x] = map_const(t, n, maps + x * n);
    nin = 9;
    for (int x = 0; x < 4; x++) hs[x] = d;
    ys[0] = n;
    ys[1] = c;
    at[na++] = (vitc_attr){.name = "heads", .type = VITC_ATTR_INT, .i = h};
    at[na++] = (vitc_attr){.name = "head_dim", .type = VITC_ATTR_INT, .i = d};
    at[na++] = (vitc_attr){.name = "value_dim", .type = VITC_ATTR_INT, .i = d};
    at[na++] = (vitc_attr){.name = "head_strides", .type = VITC_ATTR_INTS, .n = 4, .ints = hs};
    at[na++] = (vitc_attr){.name = "y_shape", .type = VITC_ATTR_INTS, .n = 2, .ints = ys};
  }
  tg_output(t, tg_node(t, VITC_OP_Attention, in, nin, 1, at, na));
}

/* The machine's peak GFLOP/s at `threads` threads from a peak file ("THREADS GFLOPS" lines, as
 * /work/shared-bench/peak.txt), or 0 when it has none. */
static double peak_of(const char *path, int threads) {
  FILE *f = path ? fopen(path, "r") : NULL;
  double peak = 0, g;
  int n;
  char line[256];
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "%d %lf", &n, &g) == 2 && n == threads) peak = g;
  if (f) fclose(f);
  return peak;
}

static int run(int threads, int64_t h, int64_t n, int64_t d, bool mapped, bool cosine, double peak) {
  int64_t *maps = malloc(sizeof(int64_t) * (size_t)(4 * n)), hs[4], ys[2];
  test_graph t = tg_new();
  build(&t, h, n, d, mapped, cosine, maps, hs, ys);
  vitc_error err = {0};
  if (tg_compile(&t, threads, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  float *y = malloc(sizeof(float) * (size_t)(h * n * d));
  void *outs[1] = {y};
  /* best of about a second of runs: on a shared machine the quiet moments are what the kernel can do */
  double once = best_time(&t, outs, 3), best = best_time(&t, outs, once < 1.0 / 30 ? (int)(1.0 / once) : 30);
  double gflops = 4.0 * (double)(h * n * n * d) / best * 1e-9;
  printf("H=%lld N=%lld D=%lld threads=%d %-6s %-6s: %8.3f ms, %6.1f GFLOP/s", (long long)h, (long long)n,
         (long long)d, threads, mapped ? "mapped" : "dense", cosine ? "cosine" : "", best * 1e3, gflops);
  if (peak > 0) printf(", %3.0f%% of peak", 100 * gflops / peak);
  printf("\n");
  free(y);
  free(maps);
  tg_free(&t);
  return 0;
}

int main(int argc, char **argv) {
  const char *peak_file = argc > 1 ? argv[1] : NULL;
  int bad = 0;
  if (argc > 5) { /* one size */
    int threads = atoi(argv[5]);
    int64_t h = atoll(argv[2]), n = atoll(argv[3]), d = atoll(argv[4]);
    for (int mapped = 0; mapped < 2; mapped++)
      for (int cosine = 0; cosine < 2; cosine++) bad |= run(threads, h, n, d, mapped, cosine, peak_of(peak_file, threads));
    return bad;
  }
  static const int64_t tokens[] = {197, 577, 1025}; /* ViT-B/16 at 224, 384 and 512 */
  for (int threads = 1; threads <= 2; threads++)
    for (int i = 0; i < 3; i++)
      for (int mapped = 0; mapped < 2; mapped++)
        bad |= run(threads, 12, tokens[i], 64, mapped, false, peak_of(peak_file, threads));
  return bad;
}

/* test_backend_attention_maps.c — the compiled vitc.Attention with row maps and normalize_qk against the
 * evaluator (ir/ops/fused_attention.c), on hand-built nodes in the layouts exports leave:
 *
 *   ViT   one packed qkv tensor [N, G, 3C] (sequence first): Q, K, V rows at columns 0, C, 2C, heads
 *         C/H apart; Y merged back to [N, G, C]
 *   Swin  qkv of the tokens [L, 3C] and windows as a random permutation of the tokens (the partition and
 *         cyclic shift together), Y written back to the token order [L, C]
 *   mixed some operands mapped, the others dense
 *   padded  Swin's windows over a map they do not tile: rows past the L tokens read P (negative map
 *         entries), and their Y rows are dropped (Ymap -1)
 *
 * with rel-pos bias [H, N, N] or [G, H, N, N] (a constant: the kernel's table of distinct slabs, with the
 * shifted windows' repeated ones; or a graph input, read in place), Swin V2's per-head scale S [H, 1, 1]
 * and cosine attention.
 * Sizes are awkward on purpose: D = 24 and 20 (partial vectors), Nk = 49, 17 and 1, Dv != D, and
 * G·H·Nq never a multiple of 16; dense operands at 1 to 577 tokens; every case runs on one and on three
 * threads. Then the errors: maps out
 * of range or of the wrong shape, a wrong y_shape, normalize_qk with Kᵀ, maps known only at run time.
 * The compiled cases run again in BF16 precision (Q·Kᵀ and P·V on bfloat16 pairs, against the evaluator
 * rounding the same operands), D and Dv odd among them. */
#include "backend_harness.h"
#include "test_values.h"

#define RTOL 1e-4
#define ATOL 1e-5
/* bf16: kernel and evaluator round the same Q, K and V, but the probabilities they round come from exps a
 * few ulps apart, and one that falls on the other side of a bfloat16 rounding moves Y by 2^-8 of its share
 * (up to 1.2e-5 here); bf16 against float32 differs by 1e-4 .. 7e-4 */
#define RTOL_BF16 1e-4
#define ATOL_BF16 3e-5

/* test_compiled's second round: every case compiled in BF16 precision against the evaluator rounding the same
 * operands (tg_check_bf16); cosine attention and fewer keys than queries stay float32 (ir/precision.c) and
 * are held to float32's tolerances there. */
static bool bf16;

static void check(test_graph *t, const char *what, int threads, bool float32) {
  if (bf16 && !float32) {
    tg_check_bf16(t, what, threads, RTOL_BF16, ATOL_BF16);
    return;
  }
  if (bf16) t->g->precision = VITC_PRECISION_BF16;
  tg_check(t, what, threads, RTOL, ATOL);
}

enum { IN_Q, IN_K, IN_V, IN_BIAS, IN_SCALE, IN_QMAP, IN_KMAP, IN_VMAP, IN_YMAP, IN_PAD, NIN };

/* An Attention node's inputs and attributes; the attribute arrays live here while the graph points at
 * them. */
typedef struct attn_args {
  int in[NIN]; /* -1: absent */
  float scale;
  int64_t heads, head_dim, value_dim, normalize_qk, k_transposed;
  int64_t head_strides[4], y_shape[VITC_MAX_RANK];
  int y_rank;
} attn_args;

static attn_args no_inputs(void) {
  attn_args a = {.scale = 0.37f};
  for (int k = 0; k < NIN; k++) a.in[k] = -1;
  return a;
}

static int attention(test_graph *t, attn_args *a) {
  vitc_attr at[8];
  int na = 0, nin = NIN;
  at[na++] = (vitc_attr){.name = "scale", .type = VITC_ATTR_FLOAT, .f = a->scale};
  at[na++] = (vitc_attr){.name = "normalize_qk", .type = VITC_ATTR_INT, .i = a->normalize_qk};
  at[na++] = (vitc_attr){.name = "k_transposed", .type = VITC_ATTR_INT, .i = a->k_transposed};
  if (a->heads) {
    at[na++] = (vitc_attr){.name = "heads", .type = VITC_ATTR_INT, .i = a->heads};
    at[na++] = (vitc_attr){.name = "head_dim", .type = VITC_ATTR_INT, .i = a->head_dim};
    at[na++] = (vitc_attr){.name = "value_dim", .type = VITC_ATTR_INT, .i = a->value_dim};
    at[na++] = (vitc_attr){.name = "head_strides", .type = VITC_ATTR_INTS, .n = 4, .ints = a->head_strides};
  }
  if (a->y_rank) at[na++] = (vitc_attr){.name = "y_shape", .type = VITC_ATTR_INTS, .n = a->y_rank, .ints = a->y_shape};
  while (a->in[nin - 1] < 0) nin--;
  return tg_node(t, VITC_OP_Attention, a->in, nin, 1, at, na);
}

/* An int64 [G, N] map. */
static int map_const(test_graph *t, int64_t g, int64_t n, const int64_t *offsets) {
  vitc_value v = {.dtype = VITC_I64, .rank = 2, .dims = {g, n}, .data = (void *)offsets};
  return vitc_graph_add_constant(t->g, NULL, &v);
}

static int f32_input(test_graph *t, int rank, const int64_t *dims) { return tg_input(t, VITC_F32, rank, dims); }

/* Swin V2's exp(clamp(logit_scale)) [H, 1, 1]: large factors, which sharpen the softmax. */
static int head_scale(test_graph *t, int64_t h) {
  float f[4] = {4.5f, 0.7f, 9.0f, 2.0f};
  vitc_value v = {.dtype = VITC_F32, .rank = 3, .dims = {h, 1, 1}, .data = f};
  return vitc_graph_add_constant(t->g, NULL, &v);
}

/* ViT: qkv [N, G, 3C] from one Linear, sequence first; Q, K, V of (g, h) at columns 0, C, 2C plus h·D;
 * Y into [N, G, C] ([N, C] when G = 1) or dense [G, H, N, D]. */
static void vit_packed(const char *what, int64_t g, int64_t h, int64_t n, int64_t d, bool ymap, int threads) {
  int64_t c = h * d, *maps = malloc(sizeof(int64_t) * (size_t)(4 * g * n));
  test_graph t = tg_new();
  attn_args a = no_inputs();
  int qkv = f32_input(&t, 3, (int64_t[]){n, g, 3 * c});
  for (int x = 0; x < 4; x++)
    for (int64_t gi = 0; gi < g; gi++)
      for (int64_t i = 0; i < n; i++) maps[(x * g + gi) * n + i] = (i * g + gi) * (x < 3 ? 3 * c : c) + (x < 3 ? x * c : 0);
  for (int x = 0; x < 3; x++) {
    a.in[IN_Q + x] = qkv;
    a.in[IN_QMAP + x] = map_const(&t, g, n, maps + x * g * n);
  }
  if (ymap) {
    a.in[IN_YMAP] = map_const(&t, g, n, maps + 3 * g * n);
    a.y_rank = g == 1 ? 2 : 3; /* [N, C], or [N, G, C] */
    memcpy(a.y_shape, g == 1 ? (int64_t[]){n, c} : (int64_t[]){n, g, c}, sizeof(int64_t) * (size_t)a.y_rank);
  }
  a.heads = h;
  a.head_dim = a.value_dim = d;
  for (int x = 0; x < 4; x++) a.head_strides[x] = d;
  tg_output(&t, attention(&t, &a));
  check(&t, what, threads, false);
  free(maps);
}

enum { BIAS_NONE, BIAS_HNN, BIAS_GHNN, BIAS_MASKED, BIAS_SHIFTED, BIAS_INPUT };

/* Swin's shifted-window bias [G, H, N, N]: small random values, and -100 (the export's mask) between
 * tokens on either side of the shift's cut in every odd window, whose masked scores then lie some 100
 * below their row's max: far past exp's clamp at -87.33. */
static int masked_bias(test_graph *t, int64_t g, int64_t h, int64_t n) {
  vitc_value v = {.dtype = VITC_F32, .rank = 4, .dims = {g, h, n, n}};
  unsigned seed = 5;
  float *b = v.data = malloc(vitc_nbytes(&v));
  tg_fill(&v, &seed);
  for (int64_t w = 1; w < g; w += 2)
    for (int64_t e = 0; e < h * n * n; e++) {
      int64_t i = e / n % n, j = e % n;
      if ((i % 7 < 4) != (j % 7 < 4)) b[w * h * n * n + e] -= 100;
    }
  int id = vitc_graph_add_constant(t->g, NULL, &v);
  free(b);
  return id;
}

/* Swin's shifted windows as the export folds them: rel-pos bias [H, N, N] plus a mask [G, 1, N, N] that
 * only the windows of the last row and column have (here every third window and the last one, in two
 * patterns): [G, H, N, N] with repeated slabs, which the kernel keeps once each (its bias table). */
static int shifted_bias(test_graph *t, int64_t g, int64_t h, int64_t n) {
  vitc_value rel = {.dtype = VITC_F32, .rank = 3, .dims = {h, n, n}}, v = {.dtype = VITC_F32, .rank = 4, .dims = {g, h, n, n}};
  unsigned seed = 17;
  float *r = rel.data = malloc(vitc_nbytes(&rel)), *b = v.data = malloc(vitc_nbytes(&v));
  tg_fill(&rel, &seed);
  for (int64_t w = 0; w < g; w++)
    for (int64_t e = 0; e < h * n * n; e++) {
      int64_t i = e / n % n, j = e % n, kind = w == g - 1 ? 2 : w % 3 == 2;
      bool cut = kind == 1 ? (i % 7 < 4) != (j % 7 < 4) : kind == 2 && (i < 28) != (j < 28);
      b[w * h * n * n + e] = r[e] - (cut ? 100.0f : 0.0f);
    }
  int id = vitc_graph_add_constant(t->g, NULL, &v);
  free(r);
  free(b);
  return id;
}

/* The heads of Swin's window attention over rows of [L, H·D] (V2: cosine attention with a per-head scale),
 * Y [L, H·D], compiled and checked against the evaluator. */
static void swin_check(test_graph *t, attn_args *a, int64_t h, int64_t d, int64_t l, bool v2, const char *what,
                       int threads) {
  if (v2) {
    a->in[IN_SCALE] = head_scale(t, h);
    a->normalize_qk = 1;
    a->scale = 1;
  }
  a->heads = h;
  a->head_dim = a->value_dim = d;
  for (int x = 0; x < 4; x++) a->head_strides[x] = d;
  a->y_rank = 2;
  memcpy(a->y_shape, (int64_t[]){l, h * d}, sizeof(int64_t) * 2);
  tg_output(t, attention(t, a));
  check(t, what, threads, v2);
}

/* Swin: qkv [L, 3C] of L = G·N tokens, window g's row i the token perm[g·N + i]; Y back to [L, C]. */
static void swin_windows(const char *what, int64_t g, int64_t h, int64_t n, int64_t d, int bias, bool v2,
                         int threads) {
  int64_t l = g * n, c = h * d, *perm = malloc(sizeof(int64_t) * (size_t)(5 * l)), *maps = perm + l;
  tg_permutation(perm, l, 99);
  test_graph t = tg_new();
  attn_args a = no_inputs();
  int qkv = f32_input(&t, 2, (int64_t[]){l, 3 * c});
  for (int x = 0; x < 4; x++)
    for (int64_t r = 0; r < l; r++) maps[x * l + r] = x < 3 ? perm[r] * 3 * c + x * c : perm[r] * c;
  for (int x = 0; x < 4; x++) {
    if (x < 3) a.in[IN_Q + x] = qkv;
    a.in[IN_QMAP + x] = map_const(&t, g, n, maps + x * l);
  }
  if (bias == BIAS_HNN) a.in[IN_BIAS] = tg_const(&t, VITC_F32, 3, (int64_t[]){h, n, n}, 5);
  if (bias == BIAS_GHNN) a.in[IN_BIAS] = tg_const(&t, VITC_F32, 4, (int64_t[]){g, h, n, n}, 5);
  if (bias == BIAS_MASKED) a.in[IN_BIAS] = masked_bias(&t, g, h, n);
  if (bias == BIAS_SHIFTED) a.in[IN_BIAS] = shifted_bias(&t, g, h, n);
  if (bias == BIAS_INPUT) a.in[IN_BIAS] = f32_input(&t, 4, (int64_t[]){g, h, n, n});
  swin_check(&t, &a, h, d, l, v2, what, threads);
  free(perm);
}

/* Swin with padding: G·N window rows over L < G·N tokens (perm as in swin_windows), window rows of tokens
 * >= L read P [3C] (the projection's bias) and write nothing; Y is [L, C]. */
static void padded_windows(const char *what, int64_t g, int64_t h, int64_t n, int64_t d, int64_t l, bool v2,
                           int threads) {
  int64_t rows = g * n, c = h * d, *perm = malloc(sizeof(int64_t) * (size_t)(5 * rows)), *maps = perm + rows;
  tg_permutation(perm, rows, 41);
  test_graph t = tg_new();
  attn_args a = no_inputs();
  int qkv = f32_input(&t, 2, (int64_t[]){l, 3 * c});
  for (int x = 0; x < 4; x++)
    for (int64_t r = 0; r < rows; r++) {
      bool pad = perm[r] >= l;
      maps[x * rows + r] = x < 3 ? (pad ? -1 - x * c : perm[r] * 3 * c + x * c) : pad ? -1 : perm[r] * c;
    }
  for (int x = 0; x < 4; x++) {
    if (x < 3) a.in[IN_Q + x] = qkv;
    a.in[IN_QMAP + x] = map_const(&t, g, n, maps + x * rows);
  }
  a.in[IN_PAD] = tg_const(&t, VITC_F32, 1, (int64_t[]){3 * c}, 9);
  a.in[IN_BIAS] = tg_const(&t, VITC_F32, 4, (int64_t[]){g, h, n, n}, 5);
  swin_check(&t, &a, h, d, l, v2, what, threads);
  free(perm);
}

/* Operands x named in `mapped` (bit x: 0 Q, 1 K, 2 V, 3 Y) read rows of their own base [G·N, H·C] in a
 * shuffled order, the others are dense [G, H, N, C]; Nq != Nk, Dv != D; a bias [H, Nq, Nk] or none;
 * normalize_qk optional. */
enum { MQ = 1, MK = 2, MV = 4, MY = 8 };
static void mixed(const char *what, unsigned mapped, int64_t nk, bool bias, bool unit, int threads) {
  enum { G = 3, H = 2, NQ = 10, D = 24, DV = 20 };
  const int64_t rows[4] = {NQ, nk, nk, NQ}, cols[4] = {D, D, DV, DV}, most = G * (NQ > nk ? NQ : nk);
  int64_t *maps = malloc(sizeof(int64_t) * (size_t)(5 * most)), *perm = maps + 4 * most;
  test_graph t = tg_new();
  attn_args a = no_inputs();
  for (int x = 0; x < 4; x++) {
    int64_t r = rows[x], *m = maps + x * most;
    if (!(mapped >> x & 1)) {
      if (x < 3) a.in[IN_Q + x] = f32_input(&t, 4, (int64_t[]){G, H, r, cols[x]});
      continue;
    }
    tg_permutation(perm, G * r, 7u + (unsigned)x);
    for (int64_t i = 0; i < G * r; i++) m[i] = perm[i] * H * cols[x];
    if (x < 3) a.in[IN_Q + x] = f32_input(&t, 2, (int64_t[]){G * r, H * cols[x]});
    else {
      a.y_rank = 2;
      memcpy(a.y_shape, (int64_t[]){G * r, H * cols[x]}, sizeof(int64_t) * 2);
    }
    a.in[IN_QMAP + x] = map_const(&t, G, r, m);
    a.head_strides[x] = cols[x];
  }
  if (bias) a.in[IN_BIAS] = tg_const(&t, VITC_F32, 3, (int64_t[]){H, NQ, nk}, 5);
  a.normalize_qk = unit;
  a.heads = H;
  a.head_dim = D;
  a.value_dim = DV;
  tg_output(&t, attention(&t, &a));
  check(&t, what, threads, unit || nk < NQ);
  free(maps);
}

/* Cosine attention without maps: dense [2, 3, 21, 20] operands, S [3, 1, 1], bias [3, 21, 21]. */
static void dense_cosine(int threads) {
  const int64_t dims[] = {2, 3, 21, 20};
  test_graph t = tg_new();
  attn_args a = no_inputs();
  for (int x = 0; x < 3; x++) a.in[IN_Q + x] = f32_input(&t, 4, dims);
  a.in[IN_BIAS] = tg_const(&t, VITC_F32, 3, (int64_t[]){3, 21, 21}, 5);
  a.in[IN_SCALE] = head_scale(&t, 3);
  a.normalize_qk = 1;
  tg_output(&t, attention(&t, &a));
  check(&t, "dense normalize_qk", threads, true);
}

/* Dense attention at the sizes the blocked kernel cuts awkwardly: token counts that leave partial micro-
 * blocks of 6 query rows, partial blocks of up to 24, partial vectors and tiles of 64 keys and key blocks
 * of 128 (1, 7, 50, 197, 577), head dims 32, 64, 80, 1 and 3 heads; K as rows or as Kᵀ; Nq != Nk, and a
 * bias [H, Nq, Nk] on some; then 8 and 9 heads of few tokens (one task per head) with 16-key blocks of
 * the Kᵀ packing whole, partial and alone. */
static void dense_sizes(int threads) {
  static const struct { int64_t h, nq, nk, d, dv; bool kt, bias; } cases[] = {
      {1, 1, 1, 32, 32, false, false},   {3, 7, 7, 64, 64, false, true},   {3, 50, 50, 80, 80, true, false},
      {1, 197, 197, 64, 64, false, false}, {3, 197, 50, 32, 80, false, true}, {1, 577, 577, 64, 64, false, true},
      {3, 50, 197, 80, 32, true, true},  {1, 7, 577, 64, 64, true, false},
      /* eight heads or more whose scores fit one block: one task per head, packing its own Kᵀ */
      {8, 49, 49, 32, 32, false, true},  {8, 50, 50, 80, 64, true, false}, {9, 7, 16, 64, 32, false, true},
      {8, 1, 1, 32, 32, false, false},   {8, 33, 65, 20, 24, true, true},
      /* odd D and Dv: bf16's last pairs half zero */
      {2, 13, 21, 17, 9, false, true},   {9, 13, 21, 17, 9, true, false},
      /* micro-blocks sized to the tile's width (micro_rows_most, for_micro): MaxViT's and Swin's 49 × 32
       * per head (scores 7 × 7 rows over 3 key vectors and a few key, P·V 3 × 13 + 10), 64 × 32 (Swin V2:
       * scores 10 × 6 + 4, P·V 4 × 13 + 12), 197 × 32 in blocks of 24 rows (P·V 13 + 11, the last block's
       * 5 rows one micro-block), Dv 16 (one vector: 13 + 3 × 12) and 40 (3 vectors: 3 × 8 + 5) */
      {11, 49, 49, 32, 32, false, true}, {9, 64, 64, 32, 32, false, false}, {2, 197, 197, 32, 32, false, true},
      {10, 49, 49, 32, 16, false, false}, {10, 29, 35, 16, 40, true, true},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    int64_t h = cases[i].h, nq = cases[i].nq, nk = cases[i].nk, d = cases[i].d;
    test_graph t = tg_new();
    attn_args a = no_inputs();
    a.in[IN_Q] = f32_input(&t, 4, (int64_t[]){1, h, nq, d});
    a.in[IN_K] = f32_input(&t, 4, cases[i].kt ? (int64_t[]){1, h, d, nk} : (int64_t[]){1, h, nk, d});
    a.in[IN_V] = f32_input(&t, 4, (int64_t[]){1, h, nk, cases[i].dv});
    if (cases[i].bias) a.in[IN_BIAS] = tg_const(&t, VITC_F32, 3, (int64_t[]){h, nq, nk}, 5);
    a.k_transposed = cases[i].kt;
    tg_output(&t, attention(&t, &a));
    char what[96];
    snprintf(what, sizeof what, "dense H %lld Nq %lld Nk %lld D %lld Dv %lld%s%s", (long long)h, (long long)nq,
             (long long)nk, (long long)d, (long long)cases[i].dv, cases[i].kt ? " K^T" : "", cases[i].bias ? " bias" : "");
    check(&t, what, threads, nk < nq);
  }
}

/* A bias constant along the keys, [H, Nq, 1] (one value per score row, which the softmax cancels but the
 * kernel still adds, in the tiles and in the few keys' dot products): 49 and 197 keys. */
static void row_bias(int threads) {
  for (int64_t n = 49; n <= 197; n += 148) {
    test_graph t = tg_new();
    attn_args a = no_inputs();
    for (int x = 0; x < 3; x++) a.in[IN_Q + x] = f32_input(&t, 4, (int64_t[]){1, 8, n, 32});
    a.in[IN_BIAS] = tg_const(&t, VITC_F32, 3, (int64_t[]){8, n, 1}, 5);
    tg_output(&t, attention(&t, &a));
    check(&t, n == 49 ? "bias [H, Nq, 1], 49 keys" : "bias [H, Nq, 1], 197 keys", threads, false);
  }
}

/* A NaN score (from the bias) makes its row of Y NaN and leaves the others: one in the score tiles (key 3)
 * and one among the few keys past them (key 48 of 49), as the evaluator's softmax does, whatever the
 * running max does with it (running_max keeps the max and lets the exp and the sum carry the NaN). */
static void nan_scores(int threads) {
  static float b[8 * 49 * 49];
  for (int i = 0; i < 8 * 49 * 49; i++) b[i] = (float)(i % 13) * 0.05f - 0.3f;
  b[(2 * 49 + 10) * 49 + 3] = NAN;
  b[(5 * 49 + 20) * 49 + 48] = NAN;
  test_graph t = tg_new();
  attn_args a = no_inputs();
  for (int x = 0; x < 3; x++) a.in[IN_Q + x] = f32_input(&t, 4, (int64_t[]){1, 8, 49, 32});
  vitc_value v = {.dtype = VITC_F32, .rank = 3, .dims = {8, 49, 49}, .data = b};
  a.in[IN_BIAS] = vitc_graph_add_constant(t.g, NULL, &v);
  tg_output(&t, attention(&t, &a));
  check(&t, "NaN scores: their rows NaN", threads, false);
}

static void test_compiled(void) {
  for (int threads = 1; threads <= 3; threads += 2) {
    vit_packed("ViT qkv [N,1,3C] -> [N,C]", 1, 3, 21, 20, true, threads);
    vit_packed("ViT qkv [N,2,3C], dense Y", 2, 3, 15, 24, false, threads);
    vit_packed("ViT qkv [N,1,3C], three rows", 1, 2, 3, 20, true, threads);
    vit_packed("ViT qkv [N,2,3C] -> [N,2,C], D 64", 2, 2, 13, 64, true, threads);
    swin_windows("Swin windows, bias [H,N,N]", 4, 2, 49, 24, BIAS_HNN, false, threads);
    swin_windows("Swin windows, bias [G,H,N,N]", 3, 3, 49, 20, BIAS_GHNN, false, threads);
    swin_windows("Swin V2 windows, cosine, S, bias [G,H,N,N]", 3, 2, 49, 24, BIAS_GHNN, true, threads);
    swin_windows("Swin V2 windows, cosine, S, no bias", 2, 3, 16, 20, BIAS_NONE, true, threads);
    padded_windows("Swin padded windows, 151 of 196 rows real", 4, 2, 49, 24, 151, false, threads);
    padded_windows("Swin V2 padded windows, 29 of 32 rows real", 2, 3, 16, 20, 29, true, threads);
    swin_windows("Swin V2 windows, cosine, S, bias [H,N,N], 8 heads", 4, 2, 49, 32, BIAS_HNN, true, threads);
    /* the window sizes of the models, with enough windows and heads for one task each (the kernel's
     * small-window path): Swin-T's, TinyViT's and MaxViT's 49 tokens with the shift mask, Swin V2-T's 64 */
    swin_windows("Swin shifted windows, mask -100 in odd windows", 4, 3, 49, 32, BIAS_MASKED, false, threads);
    swin_windows("Swin V2-T 8x8 windows, cosine, S, bias [G,H,N,N]", 3, 3, 64, 32, BIAS_GHNN, true, threads);
    swin_windows("Swin shifted windows, bias + mask with repeated slabs", 8, 3, 49, 32, BIAS_SHIFTED, false, threads);
    /* an odd count of windows and heads (7 × 3): tasks of one entry split unevenly over the threads */
    swin_windows("Swin 49-token windows, 7 windows x 3 heads, mask", 7, 3, 49, 32, BIAS_MASKED, false, threads);
    swin_windows("Swin V2 49-token windows, 7 windows x 3 heads, cosine", 7, 3, 49, 32, BIAS_GHNN, true, threads);
    swin_windows("Swin V2 shifted windows, cosine, repeated slabs, D 20", 5, 2, 49, 20, BIAS_SHIFTED, true, threads);
    swin_windows("Swin windows, bias [G,H,N,N] an input (read in place)", 4, 3, 49, 32, BIAS_INPUT, false, threads);
    swin_windows("Swin V2-T 8x8 shifted windows, cosine, S, mask", 4, 2, 64, 32, BIAS_MASKED, true, threads);
    /* Swin-T's first stage at batch 4: 768 windows and heads whose rows (19 MB) pass PREFETCH_BYTES, so
     * each task prefetches the next entry's rows (the last task none). Float32 only: over 226 000 outputs
     * bf16's probability roundings (RTOL_BF16) leave a few dozen just past its tolerance, and the prefetch
     * is the same code in both. */
    if (!bf16) swin_windows("Swin windows past the prefetch budget, bias [H,N,N]", 256, 3, 49, 32, BIAS_HNN, false, threads);
    mixed("Q, V mapped; K, Y dense", MQ | MV, 17, true, false, threads);
    mixed("K, Y mapped; Q, V dense", MK | MY, 17, false, false, threads);
    mixed("all mapped, Nk 49, cosine", MQ | MK | MV | MY, 49, true, true, threads);
    mixed("K, V mapped, one key", MK | MV, 1, true, false, threads);
    mixed("Q mapped, one key, cosine", MQ, 1, false, true, threads);
    dense_cosine(threads);
    dense_sizes(threads);
    row_bias(threads);
    nan_scores(threads);
  }
}

/* A graph with one Attention over mapped Q, K, V: base [12, 8], G = 2, H = 2, N = 3, D = 4; `edit`
 * spoils it. */
typedef void (*spoil_fn)(test_graph *t, attn_args *a, int64_t *maps);

static attn_args small_mapped(test_graph *t, int64_t *maps, spoil_fn edit) {
  attn_args a = no_inputs();
  int base = f32_input(t, 2, (int64_t[]){12, 8});
  for (int64_t r = 0; r < 6; r++) maps[r] = 8 * r;
  for (int x = 0; x < 3; x++) a.in[IN_Q + x] = base;
  a.heads = 2;
  a.head_dim = a.value_dim = 4;
  for (int x = 0; x < 4; x++) a.head_strides[x] = 4;
  if (edit) edit(t, &a, maps);
  for (int x = 0; x < 3; x++)
    if (a.in[IN_QMAP + x] < 0) a.in[IN_QMAP + x] = map_const(t, 2, 3, maps);
  return a;
}

static void kmap_past_end(test_graph *t, attn_args *a, int64_t *maps) {
  a->in[IN_KMAP] = map_const(t, 2, 3, (int64_t[]){0, 8, 16, 24, 32, 92});
}
static void kmap_wrong_shape(test_graph *t, attn_args *a, int64_t *maps) { a->in[IN_KMAP] = map_const(t, 1, 3, maps); }
static void ymap_wrong_y_shape(test_graph *t, attn_args *a, int64_t *maps) {
  a->in[IN_YMAP] = map_const(t, 2, 3, maps);
  a->y_rank = 2;
  memcpy(a->y_shape, (int64_t[]){6, 7}, sizeof(int64_t) * 2);
}
static void negative_vmap(test_graph *t, attn_args *a, int64_t *maps) {
  a->in[IN_VMAP] = map_const(t, 2, 3, (int64_t[]){0, -8, 16, 24, 32, 40});
}
/* P [8]: entry -1 - 1 reads P[1 ..] with heads 4 apart: 1 + 4 + 4 floats pass its end */
static void vmap_past_pad(test_graph *t, attn_args *a, int64_t *maps) {
  a->in[IN_VMAP] = map_const(t, 2, 3, (int64_t[]){0, -1, -2, 24, 32, 40});
  a->in[IN_PAD] = tg_const(t, VITC_F32, 1, (int64_t[]){8}, 1);
}
static void ymap_negative_two(test_graph *t, attn_args *a, int64_t *maps) {
  a->in[IN_YMAP] = map_const(t, 2, 3, (int64_t[]){0, -2, 8, 16, 24, 32});
  a->y_rank = 2;
  memcpy(a->y_shape, (int64_t[]){6, 8}, sizeof(int64_t) * 2);
}

/* The shape rule refuses the node with VITC_ERR_INVALID and a message naming the problem. */
static void check_refused(const char *what, spoil_fn edit, const char *msg) {
  int64_t maps[6];
  test_graph t = tg_new();
  attn_args a = small_mapped(&t, maps, edit);
  tg_output(&t, attention(&t, &a));
  vitc_error err = {0};
  vitc_pass_options po = {.opt_level = 2};
  vitc_status st = vitc_run_passes(t.g, &po, &err);
  if (st != VITC_ERR_INVALID) fprintf(stderr, "%s: status %d (%s)\n", what, st, err.msg);
  CHECK(st == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, msg);
  vitc_graph_free(t.g);
}

/* normalize_qk with Kᵀ: the evaluator and the emitter both refuse it. */
static void check_cosine_kt_refused(void) {
  test_graph t = tg_new();
  attn_args a = no_inputs();
  for (int x = 0; x < 3; x++) a.in[IN_Q + x] = f32_input(&t, 3, (int64_t[]){2, 5, 5});
  a.normalize_qk = a.k_transposed = 1;
  tg_output(&t, attention(&t, &a));
  vitc_error err = {0};
  CHECK(tg_compile(&t, 1, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "normalize_qk needs k_transposed = 0");
  vitc_value in[3], out[1];
  for (int x = 0; x < 3; x++) in[x] = random_value(VITC_F32, 3, (int64_t[]){2, 5, 5}, 3u + (unsigned)x);
  err = (vitc_error){0};
  CHECK(vitc_eval_graph(t.g, in, out, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "normalize_qk needs k_transposed = 0");
  for (int x = 0; x < 3; x++) free(in[x].data);
  tg_free(&t);
}

/* A map that is a graph input has no value at compile time: the emitter says so. */
static void check_runtime_map_refused(void) {
  int64_t maps[6];
  test_graph t = tg_new();
  attn_args a = small_mapped(&t, maps, NULL);
  a.in[IN_KMAP] = tg_input(&t, VITC_I64, 2, (int64_t[]){2, 3});
  tg_output(&t, attention(&t, &a));
  vitc_error err = {0};
  CHECK(tg_compile(&t, 1, &err) == VITC_ERR_DATA_DEPENDENT);
  CHECK_MSG(err.msg, "row maps must be known at compile time");
  tg_free(&t);
}

static void test_errors(void) {
  check_refused("Kmap past the end", kmap_past_end, "Kmap entry 5 (92) reads outside its tensor of 96 elements");
  check_refused("negative Vmap", negative_vmap, "Vmap entry 1 (-8) reads outside");
  check_refused("negative Vmap past P", vmap_past_pad, "Vmap entry 2 (-2) reads outside");
  check_refused("Ymap entry -2", ymap_negative_two, "Ymap entry 1 (-2) reads outside");
  check_refused("Kmap [1, 3]", kmap_wrong_shape, "Kmap must be int64 [2, 3]");
  check_refused("y_shape of 42 elements", ymap_wrong_y_shape, "needs a y_shape of 48 elements");
  check_cosine_kt_refused();
  check_runtime_map_refused();
}

int main(void) {
  test_compiled();
  bf16 = true; /* vdpbf16ps with avx512bf16, else emulated: the same numbers */
  test_compiled();
  bf16 = false;
  test_errors();
  CHECK_DONE();
}

/* test_fusion_attention_qdq.c — fuse_attention on the QDQ attention ORT's quantizer writes (a Quantize-
 * Dequantize pair on q / √D, on Kᵀ, on the scores, on the probabilities and on V, each its own scale and
 * uint8 zero point), and the Attention kernel's grids against the evaluator running those unfused ops.
 *
 * Pass cases (fusion_harness.h: histogram, evaluator before/after, JIT): the whole pattern; grids on the
 * probabilities and V alone with a scale on the scores; and the near misses: a pair whose Quantize and
 * Dequantize zero points differ (it stays, the rest fuses), a per-channel scale on V (likewise), the
 * scores' pair missing (fused, no s_quant), a scale on the scores when Q has a grid (nothing fuses).
 *
 * Kernel cases: the unfused QDQ graph compiled (the pipeline fuses it) against the evaluator on the same
 * graph left unfused, at ViT's 197 tokens × 64 (blocks over packed keys and values, a few keys past the
 * tiles), 49 × 32 windows over 16 entries (a task per entry packing its own keys and values), and 21
 * queries of D 20 and Dv 36 (partial vectors), at 1 and 3 threads; and an Attention node with every grid
 * and normalize_qk (which the pass does not make: Q and K are normalised before their grids) against the
 * evaluator. A value that lands within float32
 * rounding of a tie between two grid levels may round either way in the two (the kernel sums exact
 * products of levels, the evaluator products of dequantised values), and moves its row; so nearly all
 * elements must match tightly and all of them within a few levels of the probabilities' grid. */
#include "fusion_harness.h"

enum { B = 2, H = 3 };

enum {
  A_ALL,        /* ViT: Div(q, 8) then pairs on q, Kᵀ, scores, probabilities, V */
  A_PV_ONLY,    /* pairs on the probabilities and V only, scores scaled by 0.125 after the product */
  A_NO_SCORES,  /* the scores' pair missing: fused without s_quant */
  MISS_ZP,      /* K's Dequantize zero point differs from its Quantize's: that pair stays */
  MISS_CHANNEL, /* V's scale per channel: that pair stays */
  MISS_SCALE,   /* Q has a grid and the scores are scaled too: nothing fuses */
};

static int scalar(test_graph *t, vitc_dtype dt, double x) {
  uint8_t u = (uint8_t)x;
  float f = (float)x;
  vitc_value v = {.dtype = dt, .rank = 0, .data = dt == VITC_F32 ? (void *)&f : (void *)&u};
  return vitc_graph_add_constant(t->g, NULL, &v);
}

/* DequantizeLinear(QuantizeLinear(x, s, z), s', z') (uint8); s' = s and z' = z unless given (>= 0). */
static int grid(test_graph *t, int x, double s, int z, double s_dq, int z_dq) {
  int sq = scalar(t, VITC_F32, s), zq = scalar(t, VITC_U8, z);
  int q = tg_node(t, VITC_OP_QuantizeLinear, (int[]){x, sq, zq}, 3, 1, NULL, 0);
  int in[3] = {q, s_dq >= 0 ? scalar(t, VITC_F32, s_dq) : sq, z_dq >= 0 ? scalar(t, VITC_U8, z_dq) : zq};
  return tg_node(t, VITC_OP_DequantizeLinear, in, 3, 1, NULL, 0);
}

/* Per-channel: DQ(Q(x, s[c], z[c])) along the last axis of x [.., C]. */
static int channel_grid(test_graph *t, int x, int64_t c) {
  float *s = malloc(sizeof(float) * (size_t)c);
  uint8_t *z = calloc((size_t)c, 1);
  for (int64_t i = 0; i < c; i++) s[i] = 0.008f + 0.0005f * (float)(i % 5), z[i] = 127;
  vitc_value sv = {.dtype = VITC_F32, .rank = 1, .dims = {c}, .data = s}, zv = {.dtype = VITC_U8, .rank = 1, .dims = {c}, .data = z};
  int in[3] = {x, vitc_graph_add_constant(t->g, NULL, &sv), vitc_graph_add_constant(t->g, NULL, &zv)};
  vitc_attr axis = {.name = "axis", .type = VITC_ATTR_INT, .i = -1};
  in[0] = tg_node(t, VITC_OP_QuantizeLinear, in, 3, 1, &axis, 1);
  int y = tg_node(t, VITC_OP_DequantizeLinear, in, 3, 1, &axis, 1);
  free(s);
  free(z);
  return y;
}

/* The QDQ attention over batch dims [b, H]: Q [.., nq, d], K given as Kᵀ [.., d, nk], V [.., nk, dv]. */
static void build_sized(test_graph *t, int variant, int64_t b, int64_t nq, int64_t nk, int64_t d, int64_t dv) {
  const int64_t qd[] = {b, H, nq, d}, kt[] = {b, H, d, nk}, vd[] = {b, H, nk, dv};
  int q = tg_input(t, VITC_F32, 4, qd), k = tg_input(t, VITC_F32, 4, kt), v = tg_input(t, VITC_F32, 4, vd);
  bool qk_grids = variant != A_PV_ONLY;
  q = fh_op(t, VITC_OP_Div, q, scalar(t, VITC_F32, 8));
  if (qk_grids) {
    q = grid(t, q, 0.002, 128, -1, -1);
    k = grid(t, k, 0.01, 120, -1, variant == MISS_ZP ? 121 : -1);
  }
  int s = fh_op(t, VITC_OP_MatMul, q, k);
  if (variant == A_PV_ONLY || variant == MISS_SCALE) s = fh_op(t, VITC_OP_Mul, s, scalar(t, VITC_F32, 0.125));
  if (qk_grids && variant != A_NO_SCORES) s = grid(t, s, 0.005, 128, -1, -1);
  vitc_attr axis = {.name = "axis", .type = VITC_ATTR_INT, .i = -1};
  int p = grid(t, tg_node(t, VITC_OP_Softmax, &s, 1, 1, &axis, 1), 1 / 255.0, 0, -1, -1);
  v = variant == MISS_CHANNEL ? channel_grid(t, v, dv) : grid(t, v, 0.01, 127, -1, -1);
  tg_output(t, fh_op(t, VITC_OP_MatMul, p, v));
}

static void build(test_graph *t, int variant) { build_sized(t, variant, B, 21, 21, 20, 36); }

/* vitc.Attention itself with every grid, normalize_qk and scale 0.3 (variant unused). */
static void build_node(test_graph *t, int variant, int64_t b, int64_t nq, int64_t nk, int64_t d, int64_t dv) {
  (void)variant;
  static double grids[VITC_NGRIDS][4] = {{0.002, 128, 0, 255}, {0.002, 120, 0, 255}, {0.01, 127, 0, 255},
                                         {0.002, 128, 0, 255}, {1 / 255.0, 0, 0, 255}};
  vitc_attr at[2 + VITC_NGRIDS] = {{.name = "scale", .type = VITC_ATTR_FLOAT, .f = 0.3},
                                   {.name = "normalize_qk", .type = VITC_ATTR_INT, .i = 1}};
  for (int x = 0; x < VITC_NGRIDS; x++)
    at[2 + x] = (vitc_attr){.name = vitc_attention_grids[x], .type = VITC_ATTR_FLOATS, .n = 4, .floats = grids[x]};
  int in[3] = {tg_input(t, VITC_F32, 4, (int64_t[]){b, H, nq, d}), tg_input(t, VITC_F32, 4, (int64_t[]){b, H, nk, d}),
               tg_input(t, VITC_F32, 4, (int64_t[]){b, H, nk, dv})};
  tg_output(t, tg_node(t, VITC_OP_Attention, in, 3, 1, at, 2 + VITC_NGRIDS));
}

static void test_pass(void) {
  static const struct {
    const char *what;
    int variant, attention, quantize; /* Attention and QuantizeLinear nodes after the pass */
    const char *absent;               /* a grid attribute the Attention must not have, or NULL */
  } cases[] = {
      {"every pair", A_ALL, 1, 0, NULL},
      {"probabilities and V only, scores scaled", A_PV_ONLY, 1, 0, "q_quant"},
      {"the scores' pair missing", A_NO_SCORES, 1, 0, "s_quant"},
      {"near miss: K's zero points differ", MISS_ZP, 1, 1, "k_quant"},
      {"near miss: V's scale per channel", MISS_CHANNEL, 1, 1, "v_quant"},
      {"near miss: Q has a grid and the scores a scale", MISS_SCALE, 0, 5, NULL},
  };
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    const fh_count want[] = {{VITC_OP_Attention, cases[c].attention}, {VITC_OP_QuantizeLinear, cases[c].quantize}};
    vitc_graph *g = fh_check(cases[c].what, build, cases[c].variant, vitc_fuse_attention, want, 2);
    const vitc_node *n = fh_find_op(g, VITC_OP_Attention);
    if (n && cases[c].variant == A_ALL) {
      int len;
      const double *qg = vitc_attr_floats(n, "q_quant", &len), *pg = vitc_attr_floats(n, "p_quant", &len);
      CHECK(qg && len == 4 && qg[1] == 128 && qg[2] == 0 && qg[3] == 255 && pg && pg[1] == 0);
      CHECK_NEAR(vitc_attr_float(n, "scale", 0), 0.125, 1e-9); /* inside Q's grid */
    }
    if (n && cases[c].absent) CHECK(vitc_attr_find(n, cases[c].absent) == NULL);
    if (n && cases[c].variant == A_PV_ONLY) CHECK_NEAR(vitc_attr_float(n, "scale", 0), 0.125 / 8, 1e-9);
    vitc_graph_free(g);
  }
}

typedef void (*sized_builder)(test_graph *t, int variant, int64_t b, int64_t nq, int64_t nk, int64_t d, int64_t dv);

/* Compiled (fused) against the evaluator on the graph as built (unfused): at most 1% of the elements beyond
 * rtol 1e-4 (a tie's rounding, header), none beyond two levels of the probabilities' grid times the largest
 * |V|. */
static void check_kernel(const char *what, sized_builder build_with, int64_t b, int64_t nq, int64_t nk, int64_t d, int64_t dv,
                         int nthreads) {
  test_graph fused = tg_new(), plain = tg_new();
  build_with(&fused, A_ALL, b, nq, nk, d, dv);
  build_with(&plain, A_ALL, b, nq, nk, d, dv);
  vitc_error err = {0};
  vitc_status st = tg_compile(&fused, nthreads, &err);
  if (st == VITC_OK) st = vitc_infer_shapes(plain.g, &err);
  if (st) fprintf(stderr, "%s: %s\n", what, err.msg);
  CHECK(st == VITC_OK);
  CHECK(st || count_op(fused.g, VITC_OP_Attention) == 1);
  vitc_value ref[1], got;
  for (int i = 0; !st && i < plain.g->ninputs; i++) {
    plain.in[i] = fused.in[i];
    plain.in[i].data = malloc(vitc_nbytes(&fused.in[i]));
    memcpy(plain.in[i].data, fused.in[i].data, vitc_nbytes(&fused.in[i]));
  }
  if (!st && vitc_eval_graph(plain.g, plain.in, ref, &err) == VITC_OK) {
    got = ref[0];
    got.data = malloc(vitc_nbytes(&ref[0]));
    CHECK(tg_run(&fused, (void *[]){got.data}) == 0);
    int64_t n = vitc_numel(&ref[0]), loose = 0, tight = 0;
    double bound = 2 / 255.0 * 1.27; /* two probability levels times |V| ≤ 127 levels of 0.01 */
    for (int64_t i = 0; i < n; i++) {
      double x = vitc_load_f(&got, i), y = vitc_load_f(&ref[0], i);
      tight += fabs(x - y) > 1e-4 * fabs(y) + 1e-6;
      if (fabs(x - y) > bound && loose++ < 3) fprintf(stderr, "%s: [%lld] = %.9g, unfused %.9g\n", what, (long long)i, x, y);
    }
    if (tight) fprintf(stderr, "%s: %lld of %lld elements off by more than rtol 1e-4\n", what, (long long)tight, (long long)n);
    CHECK(loose == 0 && tight * 100 <= n);
    free(got.data);
    free(ref[0].data);
  } else {
    CHECK(!"evaluated");
  }
  tg_free(&fused);
  tg_free(&plain);
}

int main(void) {
  test_pass();
  for (int threads = 1; threads <= 3; threads += 2) {
    check_kernel("ViT-B: 197 tokens, D 64", build_sized, 1, 197, 197, 64, 64, threads);
    check_kernel("windows 49 x 32 over 16 entries", build_sized, 8, 49, 49, 32, 32, threads);
    check_kernel("21 queries, D 20, Dv 36", build_sized, B, 21, 21, 20, 36, threads);
    check_kernel("Attention node, normalize_qk, 21 queries", build_node, B, 21, 21, 20, 36, threads);
  }
  CHECK_DONE();
}

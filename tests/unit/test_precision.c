/* test_precision.c — which products multiply in bfloat16 (ir/precision.c): on one small graph, the
 * product on the input image and the classifier head stay float32, and their near misses do not; on
 * another, the BF16 column's other products (PatchConvNHWC, PatchMerging); which convs; Attention's own rule;
 * and the products computing the Q and K of attentions whose scores are not scaled down for their length. */
#include "backend_harness.h"
#include "op_harness.h"

#define DIMS(...) (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__}

static int product(test_graph *t, int a, int64_t k, int64_t n, unsigned seed) {
  int in[2] = {a, tg_const(t, VITC_F32, DIMS(k, n), seed)};
  return tg_node(t, VITC_OP_MatMul, in, 2, 1, NULL, 0);
}

static int unary(test_graph *t, vitc_op op, int x) { return tg_node(t, op, (int[]){x}, 1, 1, NULL, 0); }

/*   x ─Transpose─▶ P_in ─Softmax─▶ P_mid ─Softmax─▶ P_head ─Add(const)─▶ Mul ─▶ y0
 *                    │                │
 *                    └─Relu─▶ P_relu  └─▶ P_norm ─Softmax─▶ y1
 *   x2 ─▶ MatMul(x2, x2ᵀ-shaped input: no constant weight) ─▶ y2
 * P_in (the image through movement) and P_head (element-wise to an output) stay float32; P_relu reads the
 * image through an element-wise op and stays float32 too; P_mid, and P_norm whose output is normalised
 * before the output, are bf16; the product of two inputs is never bf16. */
static void test_rule(void) {
  test_graph t = tg_new();
  int x = tg_input(&t, VITC_F32, DIMS(8, 6));
  int xt = tg_node(&t, VITC_OP_Transpose, (int[]){x}, 1, 1, (vitc_attr[]){attr_ints("perm", DIMS(1, 0))}, 1);
  int p_in = product(&t, xt, 8, 16, 1);
  int p_relu = product(&t, unary(&t, VITC_OP_Relu, xt), 8, 16, 2);
  int p_mid = product(&t, unary(&t, VITC_OP_Softmax, p_in), 16, 16, 3);
  int p_head = product(&t, unary(&t, VITC_OP_Softmax, p_mid), 16, 4, 4);
  int biased = tg_node(&t, VITC_OP_Add, (int[]){p_head, tg_const(&t, VITC_F32, DIMS(4), 5)}, 2, 1, NULL, 0);
  int scaled = tg_node(&t, VITC_OP_Mul, (int[]){biased, tg_const(&t, VITC_F32, DIMS(4), 6)}, 2, 1, NULL, 0);
  int p_norm = product(&t, p_mid, 16, 4, 7);
  int x2 = tg_input(&t, VITC_F32, DIMS(5, 5));
  int p_two = tg_node(&t, VITC_OP_MatMul, (int[]){x2, x2}, 2, 1, NULL, 0);
  tg_output(&t, scaled);
  tg_output(&t, unary(&t, VITC_OP_Softmax, p_norm));
  tg_output(&t, p_two);
  tg_output(&t, p_relu);
  vitc_pass_options po = {.opt_level = 0}; /* shapes only: the graph stays as built */
  vitc_error err = {0};
  CHECK(vitc_run_passes(t.g, &po, &err) == VITC_OK);

  const struct { int out; bool bf16; const char *what; } want[] = {
      {p_in, false, "the product on the image"}, {p_relu, false, "the product on Relu of the image"},
      {p_mid, true, "a product between softmaxes"}, {p_head, false, "the head"},
      {p_norm, true, "a product normalised before the output"}, {p_two, false, "a product of two inputs"}};
  for (int precision = VITC_PRECISION_FP32; precision <= VITC_PRECISION_BF16; precision++) {
    t.g->precision = (vitc_precision)precision;
    for (int i = 0; i < (int)(sizeof want / sizeof *want); i++) {
      const vitc_node *n = &t.g->nodes[t.g->tensors[want[i].out].producer];
      bool got = vitc_bf16_product(t.g, n), expect = precision == VITC_PRECISION_BF16 && want[i].bf16;
      if (got != expect) fprintf(stderr, "%s precision %d: bf16 %d, want %d\n", want[i].what, precision, got, expect);
      CHECK(got == expect);
    }
  }
  tg_free(&t);
}

/*   x [1, 4, 4, 3] ─Softmax─▶ s ─PatchConvNHWC(W [12, 5])─▶ P_conv ─Softmax─▶ y0
 *                            s ─PatchMerging(W [12, 5])─▶ P_merge ─Softmax─▶ y1
 *                            s ─Add(constant [4, 3])─▶ Softmax ─▶ y2
 *   x ─PatchConvNHWC─▶ P_image ─Softmax─▶ y3
 * The products of ops.def's BF16 column beyond MatMul, Gemm and FusedGemm are bf16 between normalisations;
 * an op outside the column with a constant matrix as input 1 is not, nor the product on the image. */
static void test_other_products(void) {
  test_graph t = tg_new();
  int x = tg_input(&t, VITC_F32, DIMS(1, 4, 4, 3)), s = unary(&t, VITC_OP_Softmax, x);
  vitc_attr conv[1] = {attr_ints("kernel_shape", DIMS(2, 2))};
  int p_conv = tg_node(&t, VITC_OP_PatchConvNHWC, (int[]){s, tg_const(&t, VITC_F32, DIMS(12, 5), 1)}, 2, 1, conv, 1);
  int p_merge = tg_node(&t, VITC_OP_PatchMerging, (int[]){s, tg_const(&t, VITC_F32, DIMS(12, 5), 2)}, 2, 1, NULL, 0);
  int add = tg_node(&t, VITC_OP_Add, (int[]){s, tg_const(&t, VITC_F32, DIMS(4, 3), 3)}, 2, 1, NULL, 0);
  int p_image = tg_node(&t, VITC_OP_PatchConvNHWC, (int[]){x, tg_const(&t, VITC_F32, DIMS(12, 5), 4)}, 2, 1, conv, 1);
  const int outs[] = {p_conv, p_merge, add, p_image};
  for (int i = 0; i < 4; i++) tg_output(&t, unary(&t, VITC_OP_Softmax, outs[i]));
  vitc_pass_options po = {.opt_level = 0};
  vitc_error err = {0};
  CHECK(vitc_run_passes(t.g, &po, &err) == VITC_OK);
  t.g->precision = VITC_PRECISION_BF16;
  const struct { int out; bool bf16; const char *what; } want[] = {
      {p_conv, true, "PatchConvNHWC"}, {p_merge, true, "PatchMerging"}, {add, false, "Add of a constant matrix"},
      {p_image, false, "PatchConvNHWC on the image"}};
  for (int i = 0; i < 4; i++) {
    bool got = vitc_bf16_product(t.g, &t.g->nodes[t.g->tensors[want[i].out].producer]);
    if (got != want[i].bf16) fprintf(stderr, "%s: bf16 %d, want %d\n", want[i].what, got, want[i].bf16);
    CHECK(got == want[i].bf16);
  }
  tg_free(&t);
}

/* Attention (BF16_ACTS: no weight) on graph inputs Q [2, 3, 5, 8] and K, V [2, 3, Nk, 8], its output an
 * output: bf16 although it reads inputs and makes an output (the image and head rules are for products with
 * a weight); not with normalize_qk, nor with fewer keys than queries (Nk 3 < 5; Nk 7 is bf16); never in
 * float32 precision. */
static void test_attention(void) {
  test_graph t = tg_new();
  int q = tg_input(&t, VITC_F32, DIMS(2, 3, 5, 8));
  const struct { int64_t nk, unit; bool bf16; const char *what; } cases[] = {
      {5, 0, true, "attention"}, {5, 1, false, "cosine attention"}, {3, 0, false, "3 keys for 5 queries"},
      {7, 0, true, "7 keys for 5 queries"}};
  int outs[4];
  for (int i = 0; i < 4; i++) {
    int kv = tg_input(&t, VITC_F32, DIMS(2, 3, cases[i].nk, 8));
    vitc_attr unit = {.name = "normalize_qk", .type = VITC_ATTR_INT, .i = cases[i].unit};
    outs[i] = tg_node(&t, VITC_OP_Attention, (int[]){q, kv, kv}, 3, 1, &unit, 1);
    tg_output(&t, outs[i]);
  }
  vitc_pass_options po = {.opt_level = 0};
  vitc_error err = {0};
  CHECK(vitc_run_passes(t.g, &po, &err) == VITC_OK);
  for (int precision = VITC_PRECISION_FP32; precision <= VITC_PRECISION_BF16; precision++) {
    t.g->precision = (vitc_precision)precision;
    for (int i = 0; i < 4; i++) {
      bool got = vitc_bf16_product(t.g, &t.g->nodes[t.g->tensors[outs[i]].producer]);
      bool expect = precision == VITC_PRECISION_BF16 && cases[i].bf16;
      if (got != expect) fprintf(stderr, "%s precision %d: bf16 %d, want %d\n", cases[i].what, precision, got, expect);
      CHECK(got == expect);
    }
  }
  tg_free(&t);
}

/* A constant of shape dims (rank 0: a scalar) with every element v. */
static int filled(test_graph *t, float v, int rank, const int64_t *dims) {
  vitc_value c = {.dtype = VITC_F32, .rank = rank};
  if (rank) memcpy(c.dims, dims, sizeof(int64_t) * (size_t)rank);
  float *data = malloc(vitc_nbytes(&c));
  for (int64_t i = 0; i < vitc_numel(&c); i++) data[i] = v;
  c.data = data;
  int id = vitc_graph_add_constant(t->g, NULL, &c);
  free(data);
  return id;
}

/* Attentions over tokens s [1, 16, 64] (D = 64), Q, K and V each a product of s (P_q, P_k, P_v) unless
 * Q is a constant; Q optionally times (or K divided by) a scalar and transposed twice on the way. The
 * attention itself keeps its own rule (bf16 but for cosine attention); P_v is bf16 in every case:
 *   scale 1                      scores 8× 1/√D's: P_q and P_k float32
 *   scale 1/8                    1/√D: all bf16
 *   scale 1, Q × 1/8             the same through Mul and two Transposes: all bf16
 *   scale 1, K ÷ 8               through Div: all bf16
 *   scale 1, Q × 1/4             exactly twice 1/√D, the margin: all bf16
 *   scale 1, Q × 0.3             2.4 times: P_q and P_k float32
 *   scale 1, normalize_qk        cosine attention (bounded by its scale): the products bf16
 *   scale 1, Q constant 1/8      a learnt query of root mean square 1/8: all bf16
 *   scale 1, Q constant 1        8 times: P_k float32 (P_q, read elsewhere, bf16) */
static void test_amplified_scores(void) {
  test_graph t = tg_new();
  int s = unary(&t, VITC_OP_Softmax, tg_input(&t, VITC_F32, DIMS(1, 16, 64)));
  const struct { double scale, qmul, kdiv, qconst; int unit; bool att, pq, pk; const char *what; } cases[] = {
      {1, 0, 0, 0, 0, true, false, false, "scale 1"},
      {0.125, 0, 0, 0, 0, true, true, true, "scale 1/8"},
      {1, 0.125, 0, 0, 0, true, true, true, "Q times 1/8"},
      {1, 0, 8, 0, 0, true, true, true, "K divided by 8"},
      {1, 0.25, 0, 0, 0, true, true, true, "Q times 1/4"},
      {1, 0.3, 0, 0, 0, true, false, false, "Q times 0.3"},
      {1, 0, 0, 0, 1, false, true, true, "cosine attention"},
      {1, 0, 0, 0.125, 0, true, true, true, "constant Q of 1/8"},
      {1, 0, 0, 1, 0, true, true, false, "constant Q of 1"}};
  enum { NCASES = sizeof cases / sizeof *cases };
  int att[NCASES], pq[NCASES], pk[NCASES], pv[NCASES];
  vitc_attr swap = attr_ints("perm", DIMS(0, 2, 1));
  for (int i = 0; i < NCASES; i++) {
    pq[i] = product(&t, s, 64, 64, 3 * (unsigned)i + 1);
    pk[i] = product(&t, s, 64, 64, 3 * (unsigned)i + 2);
    pv[i] = product(&t, s, 64, 64, 3 * (unsigned)i + 3);
    int q = cases[i].qconst ? filled(&t, (float)cases[i].qconst, DIMS(1, 16, 64)) : pq[i], k = pk[i];
    if (cases[i].qmul) {
      q = tg_node(&t, VITC_OP_Mul, (int[]){q, filled(&t, (float)cases[i].qmul, 0, NULL)}, 2, 1, NULL, 0);
      q = tg_node(&t, VITC_OP_Transpose, (int[]){tg_node(&t, VITC_OP_Transpose, (int[]){q}, 1, 1, &swap, 1)}, 1, 1, &swap, 1);
    }
    if (cases[i].kdiv) k = tg_node(&t, VITC_OP_Div, (int[]){k, filled(&t, (float)cases[i].kdiv, 0, NULL)}, 2, 1, NULL, 0);
    vitc_attr a[2] = {attr_float("scale", cases[i].scale), attr_int("normalize_qk", cases[i].unit)};
    att[i] = tg_node(&t, VITC_OP_Attention, (int[]){q, k, pv[i]}, 3, 1, a, 2);
    tg_output(&t, unary(&t, VITC_OP_Softmax, att[i]));
    if (cases[i].qconst) tg_output(&t, unary(&t, VITC_OP_Softmax, pq[i])); /* P_q read elsewhere */
  }
  vitc_pass_options po = {.opt_level = 0};
  vitc_error err = {0};
  CHECK(vitc_run_passes(t.g, &po, &err) == VITC_OK);
  t.g->precision = VITC_PRECISION_BF16;
  for (int i = 0; i < NCASES; i++) {
    const struct { int out; bool bf16; const char *which; } want[] = {
        {att[i], cases[i].att, "attention"}, {pq[i], cases[i].pq, "P_q"}, {pk[i], cases[i].pk, "P_k"}, {pv[i], true, "P_v"}};
    for (int w = 0; w < 4; w++) {
      bool got = vitc_bf16_product(t.g, &t.g->nodes[t.g->tensors[want[w].out].producer]);
      if (got != want[w].bf16) fprintf(stderr, "%s: %s bf16 %d, want %d\n", cases[i].what, want[w].which, got, want[w].bf16);
      CHECK(got == want[w].bf16);
    }
  }
  tg_free(&t);
}

/*   x [1, 6, 5, 5] ─Softmax─▶ s ─Conv 1x1 (6 → 8)──────────▶ P_1x1 ─Softmax─▶ y0
 *                            s ─FusedConv 1x1 (relu)────────▶ P_fused ─Softmax─▶ y1
 *                            s ─Conv 3x3 pads 1─────────────▶ P_3x3 ─Softmax─▶ y2
 *                            s ─Conv 1x1 group 2────────────▶ P_group ─Softmax─▶ y3
 *                            s ─Conv 1x1 stride 2───────────▶ P_stride ─Softmax─▶ y4
 * A conv (BF16_CONV) is a bf16 product only as a pointwise GEMM of one group; the 3x3, the grouped and the
 * strided 1x1 keep float32. */
static void test_convs(void) {
  test_graph t = tg_new();
  int x = tg_input(&t, VITC_F32, DIMS(1, 6, 5, 5)), s = unary(&t, VITC_OP_Softmax, x);
  vitc_attr relu[1] = {attr_str("activation", "relu")}, pads[1] = {attr_ints("pads", DIMS(1, 1, 1, 1))},
            group[1] = {attr_int("group", 2)}, stride[1] = {attr_ints("strides", DIMS(2, 2))};
  int p_1x1 = tg_node(&t, VITC_OP_Conv, (int[]){s, tg_const(&t, VITC_F32, DIMS(8, 6, 1, 1), 1)}, 2, 1, NULL, 0);
  int p_fused = tg_node(&t, VITC_OP_FusedConv, (int[]){s, tg_const(&t, VITC_F32, DIMS(8, 6, 1, 1), 2)}, 2, 1, relu, 1);
  int p_3x3 = tg_node(&t, VITC_OP_Conv, (int[]){s, tg_const(&t, VITC_F32, DIMS(8, 6, 3, 3), 3)}, 2, 1, pads, 1);
  int p_group = tg_node(&t, VITC_OP_Conv, (int[]){s, tg_const(&t, VITC_F32, DIMS(8, 3, 1, 1), 4)}, 2, 1, group, 1);
  int p_stride = tg_node(&t, VITC_OP_Conv, (int[]){s, tg_const(&t, VITC_F32, DIMS(8, 6, 1, 1), 5)}, 2, 1, stride, 1);
  const int outs[] = {p_1x1, p_fused, p_3x3, p_group, p_stride};
  for (int i = 0; i < 5; i++) tg_output(&t, unary(&t, VITC_OP_Softmax, outs[i]));
  vitc_pass_options po = {.opt_level = 0};
  vitc_error err = {0};
  CHECK(vitc_run_passes(t.g, &po, &err) == VITC_OK);
  t.g->precision = VITC_PRECISION_BF16;
  const struct { int out; bool bf16; const char *what; } want[] = {
      {p_1x1, true, "Conv 1x1"}, {p_fused, true, "FusedConv 1x1"}, {p_3x3, false, "Conv 3x3"},
      {p_group, false, "Conv 1x1 of two groups"}, {p_stride, false, "Conv 1x1 stride 2"}};
  for (int i = 0; i < 5; i++) {
    bool got = vitc_bf16_product(t.g, &t.g->nodes[t.g->tensors[want[i].out].producer]);
    if (got != want[i].bf16) fprintf(stderr, "%s: bf16 %d, want %d\n", want[i].what, got, want[i].bf16);
    CHECK(got == want[i].bf16);
  }
  tg_free(&t);
}

int main(void) {
  test_rule();
  test_other_products();
  test_convs();
  test_attention();
  test_amplified_scores();
  CHECK_DONE();
}

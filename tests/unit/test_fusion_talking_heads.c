/* test_fusion_talking_heads.c — fuse_talking_heads on tiny graphs shaped as CaiT's attention is when the
 * pass runs (mixing Linears already FusedGemms, the Softmax over the keys' axis), with the scale on q or
 * on the product, and the near misses that must stay; then vitc.TalkingHeads' kernel against the
 * evaluator on awkward sizes at 1 and 3 threads. */
#include "fusion_harness.h"

enum { TOKENS = 7, HEADS = 3, DH = 5 };

enum {
  TH_SCALE_Q,        /* MatMul(Mul(q, scale), kᵀ) as timm writes it */
  TH_SCALE_PRODUCT,  /* Mul(MatMul(q, kᵀ), scale) */
  TH_MISS_AXIS,      /* Softmax over the heads instead of the keys */
  TH_MISS_ACTIVATION, /* the first mixing Linear with a ReLU */
  TH_MISS_PARTS,     /* k and v taken from parts 2 and 1 */
};

static int scalar_index(test_graph *t, int64_t i) {
  vitc_value v = {.dtype = VITC_I64, .rank = 0, .data = &i};
  return vitc_graph_add_constant(t->g, NULL, &v);
}

static int transpose(test_graph *t, int x, int rank, const int64_t *perm) {
  vitc_attr pa = {.name = "perm", .type = VITC_ATTR_INTS, .n = rank, .ints = (int64_t *)perm};
  return tg_node(t, VITC_OP_Transpose, &x, 1, 1, &pa, 1);
}

static int mixing(test_graph *t, int x, bool relu, unsigned seed) {
  const int64_t w[] = {HEADS, HEADS}, b[] = {HEADS};
  int in[3] = {x, tg_const(t, VITC_F32, 2, w, seed), tg_const(t, VITC_F32, 1, b, seed + 1)};
  vitc_attr act = {.name = "activation", .type = VITC_ATTR_STRING, .s = relu ? "relu" : "none"};
  return tg_node(t, VITC_OP_FusedGemm, in, 3, 1, &act, 1);
}

static void build(test_graph *t, int variant) {
  static const int64_t layout[] = {2, 0, 3, 1, 4}, keys_t[] = {0, 1, 3, 2}, heads_last[] = {0, 2, 3, 1},
                       heads_first[] = {0, 3, 1, 2}, back[] = {0, 2, 1, 3};
  const int64_t dims[] = {1, TOKENS, 3 * HEADS * DH}, split[] = {1, TOKENS, 3, HEADS, DH}, rows[] = {1, TOKENS, HEADS * DH};
  vitc_value sv = {.dtype = VITC_I64, .rank = 1, .dims = {5}, .data = (void *)split};
  vitc_value rv = {.dtype = VITC_I64, .rank = 1, .dims = {3}, .data = (void *)rows};
  int qkv = fh_op(t, VITC_OP_Reshape, tg_input(t, VITC_F32, 3, dims), vitc_graph_add_constant(t->g, NULL, &sv));
  int parts = transpose(t, qkv, 5, layout);
  vitc_attr axis0 = {.name = "axis", .type = VITC_ATTR_INT, .i = 0};
  int part[3];
  for (int p = 0; p < 3; p++) {
    int in[2] = {parts, scalar_index(t, variant == TH_MISS_PARTS && p ? 3 - p : p)};
    part[p] = tg_node(t, VITC_OP_Gather, in, 2, 1, &axis0, 1);
  }
  float scale = 0.37f;
  vitc_value scv = {.dtype = VITC_F32, .rank = 0, .data = &scale};
  int s = vitc_graph_add_constant(t->g, NULL, &scv), kt = transpose(t, part[1], 4, keys_t), scores;
  if (variant == TH_SCALE_PRODUCT) scores = fh_op(t, VITC_OP_Mul, fh_op(t, VITC_OP_MatMul, part[0], kt), s);
  else scores = fh_op(t, VITC_OP_MatMul, fh_op(t, VITC_OP_Mul, s, part[0]), kt);
  int l = mixing(t, transpose(t, scores, 4, heads_last), variant == TH_MISS_ACTIVATION, 5);
  vitc_attr sa = {.name = "axis", .type = VITC_ATTR_INT, .i = variant == TH_MISS_AXIS ? 3 : 2};
  int w = mixing(t, tg_node(t, VITC_OP_Softmax, &l, 1, 1, &sa, 1), false, 7);
  int y = transpose(t, fh_op(t, VITC_OP_MatMul, transpose(t, w, 4, heads_first), part[2]), 4, back);
  tg_output(t, fh_op(t, VITC_OP_Reshape, y, vitc_graph_add_constant(t->g, NULL, &rv)));
}

static void test_pass(void) {
  const fh_count fused[] = {{VITC_OP_TalkingHeads, 1}, {VITC_OP_Softmax, 0}, {VITC_OP_Transpose, 0},
                            {VITC_OP_Gather, 0}, {VITC_OP_FusedGemm, 0}, {VITC_OP_Reshape, 0}};
  static const char *names[] = {"scale on q", "scale on the product"};
  for (int v = TH_SCALE_Q; v <= TH_SCALE_PRODUCT; v++) {
    vitc_graph *g = fh_check(names[v], build, v, vitc_fuse_talking_heads, fused, 6);
    const vitc_node *n = fh_find_op(g, VITC_OP_TalkingHeads);
    CHECK(n && vitc_attr_int(n, "heads", 0) == HEADS && fabs(vitc_attr_float(n, "scale", 0) - 0.37) < 1e-6);
    vitc_graph_free(g);
  }
  const fh_count kept[] = {{VITC_OP_TalkingHeads, 0}, {VITC_OP_Softmax, 1}, {VITC_OP_FusedGemm, 2}};
  vitc_graph_free(fh_check("softmax over the heads", build, TH_MISS_AXIS, vitc_fuse_talking_heads, kept, 3));
  vitc_graph_free(fh_check_rewrite("mixing with relu", build, TH_MISS_ACTIVATION, vitc_fuse_talking_heads, kept, 3));
  vitc_graph_free(fh_check("k and v swapped", build, TH_MISS_PARTS, vitc_fuse_talking_heads, kept, 3));
}

/* atol: 1e-6, or 1e-5 where float32 sums run over ~100 keys and products (the evaluator's are double). */
static void check_kernel(int64_t batch, int64_t tokens, int64_t heads, int64_t dh, int nthreads, double atol) {
  test_graph t = tg_new();
  const int64_t dims[] = {batch, tokens, 3 * heads * dh}, w[] = {heads, heads}, b[] = {heads};
  int in[5] = {tg_input(&t, VITC_F32, 3, dims), tg_const(&t, VITC_F32, 2, w, 3), tg_const(&t, VITC_F32, 1, b, 4),
               tg_const(&t, VITC_F32, 2, w, 5), tg_const(&t, VITC_F32, 1, b, 6)};
  vitc_attr at[2] = {{.name = "heads", .type = VITC_ATTR_INT, .i = heads},
                     {.name = "scale", .type = VITC_ATTR_FLOAT, .f = 0.4}};
  tg_output(&t, tg_node(&t, VITC_OP_TalkingHeads, in, 5, 1, at, 2));
  char what[96];
  snprintf(what, sizeof what, "TalkingHeads B %lld N %lld H %lld Dh %lld, %d threads", (long long)batch,
           (long long)tokens, (long long)heads, (long long)dh, nthreads);
  tg_check(&t, what, nthreads, 1e-5, atol);
}

static void test_kernel(void) {
  for (int threads = 1; threads <= 3; threads += 2) {
    check_kernel(2, 13, 3, 5, threads, 1e-6);   /* blocks of 6 rows and a last one of 1 */
    check_kernel(1, 1, 1, 1, threads, 1e-6);    /* one token, one head */
    check_kernel(1, 67, 4, 7, threads, 1e-6);   /* across the pool; a key tile of 4 vectors and one of 1 */
    check_kernel(3, 5, 6, 2, threads, 1e-6);    /* more heads than tokens: one block of 5 rows */
    check_kernel(1, 150, 2, 70, threads, 1e-5); /* two whole key tiles and two vectors; Dh in two passes */
    check_kernel(1, 931, 3, 2, threads, 1e-6);  /* the stack budget cuts blocks to 5 rows, the last has 1 */
    check_kernel(2, 99, 4, 96, threads, 1e-5);  /* Kᵀ packed across the pool, its rows cut across entries */
  }
}

int main(void) {
  test_pass();
  test_kernel();
  CHECK_DONE();
}

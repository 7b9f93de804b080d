/* test_fusion_channel_attention.c — fuse_channel_attention on tiny graphs shaped as XCiT's cross-covariance
 * attention is when the pass runs (fuse_attention made it an Attention over the transposed q, k, v with
 * normalize_qk and the temperature as its per-row scale), and the near misses that must stay; then
 * vitc.ChannelAttention's kernel against the evaluator on XCiT-like sizes at 1 and 3 threads (the awkward
 * small ones are test_all_ops' rows). */
#include "fusion_harness.h"

enum { B = 2, N = 7, H = 2, D = 5, C = H * D };

enum {
  XCA,              /* timm xcit.XCA: Reshape, Transpose [2, 0, 3, 4, 1], Split, Squeeze; merge [0, 3, 1, 2] */
  XCA_SCALED,       /* scale 0.5 and the temperature as [1, H, 1, 1] */
  MISS_TOKEN_ROWS,  /* q, k, v [B, H, N, D] (ordinary attention over tokens, normalised: Swin V2's) */
  MISS_UNNORMED,    /* normalize_qk = 0 */
  MISS_ROW_FACTOR,  /* the factor varies with the row, not only the head: [H, D, 1] */
  MISS_QK_SWAPPED,  /* Attention(k, q, v) */
  MISS_MERGE,       /* the heads merged channel-major: Transpose [0, 3, 2, 1] */
  MISS_BIAS,        /* an additive bias on the scores */
};

static void build(test_graph *t, int variant) {
  static const int64_t qkvd[] = {B, N, 3 * C}, split5[] = {B, N, 3, H, D}, channels[] = {2, 0, 3, 4, 1},
                       tokens[] = {2, 0, 3, 1, 4}, ones[] = {1, 1, 1}, axis0[] = {0}, merge[] = {0, 3, 1, 2},
                       merge_tokens[] = {0, 2, 1, 3}, merge_wrong[] = {0, 3, 2, 1}, rows[] = {B, N, C},
                       head3[] = {H, 1, 1}, head4[] = {1, H, 1, 1}, per_row[] = {H, D, 1}, bias[] = {H, D, D};
  bool token_rows = variant == MISS_TOKEN_ROWS;
  int qkv = tg_input(t, VITC_F32, 3, qkvd);
  int split_in[2] = {fh_permute(t, fh_reshape(t, qkv, 5, split5), 5, token_rows ? tokens : channels), fh_i64s(t, 3, ones)};
  vitc_attr axis = {.name = "axis", .type = VITC_ATTR_INT, .i = 0};
  int first = tg_node(t, VITC_OP_Split, split_in, 2, 3, &axis, 1), x[3];
  for (int k = 0; k < 3; k++) x[k] = fh_op(t, VITC_OP_Squeeze, first + k, fh_i64s(t, 1, axis0));
  int temperature = variant == XCA_SCALED      ? tg_const(t, VITC_F32, 4, head4, 3)
                    : variant == MISS_ROW_FACTOR ? tg_const(t, VITC_F32, 3, per_row, 3)
                                                 : tg_const(t, VITC_F32, 3, head3, 3);
  int in[5] = {x[variant == MISS_QK_SWAPPED], x[variant != MISS_QK_SWAPPED], x[2],
               variant == MISS_BIAS ? tg_const(t, VITC_F32, 3, bias, 4) : -1, temperature};
  vitc_attr at[2] = {{.name = "scale", .type = VITC_ATTR_FLOAT, .f = variant == XCA_SCALED ? 0.5 : 1},
                     {.name = "normalize_qk", .type = VITC_ATTR_INT, .i = variant != MISS_UNNORMED}};
  int a = tg_node(t, VITC_OP_Attention, in, 5, 1, at, 2);
  const int64_t *perm = token_rows ? merge_tokens : variant == MISS_MERGE ? merge_wrong : merge;
  tg_output(t, fh_reshape(t, fh_permute(t, a, 4, perm), 3, rows));
}

/* The pass and then the sweep of what it disconnected. */
static vitc_status fuse_and_sweep(vitc_graph *g, vitc_error *err) {
  vitc_status st = vitc_fuse_channel_attention(g, err);
  return st == VITC_OK ? vitc_eliminate_dead(g, err) : st;
}

static void test_pass(void) {
  const fh_count fused[] = {{VITC_OP_ChannelAttention, 1}, {VITC_OP_Attention, 0}, {VITC_OP_Transpose, 0},
                            {VITC_OP_Reshape, 0}, {VITC_OP_Split, 0}, {VITC_OP_Squeeze, 0}};
  vitc_graph *g = fh_check("XCiT's cross-covariance attention", build, XCA, fuse_and_sweep, fused, 6);
  const vitc_node *n = fh_find_op(g, VITC_OP_ChannelAttention);
  int len;
  const int64_t *shape = n ? vitc_attr_ints(n, "y_shape", &len) : NULL;
  CHECK(n && vitc_attr_int(n, "heads", 0) == H && vitc_attr_int(n, "tokens", 0) == N && shape && len == 3 &&
        shape[0] == B && shape[1] == N && shape[2] == C);
  vitc_graph_free(g);
  g = fh_check("scaled, the temperature [1, H, 1, 1]", build, XCA_SCALED, fuse_and_sweep, fused, 6);
  n = fh_find_op(g, VITC_OP_ChannelAttention);
  CHECK(n && vitc_attr_float(n, "scale", 1) == 0.5);
  vitc_graph_free(g);
  const fh_count kept[] = {{VITC_OP_ChannelAttention, 0}, {VITC_OP_Attention, 1}};
  vitc_graph_free(fh_check("attention over the tokens", build, MISS_TOKEN_ROWS, fuse_and_sweep, kept, 2));
  vitc_graph_free(fh_check_rewrite("q and k not normalised", build, MISS_UNNORMED, fuse_and_sweep, kept, 2));
  vitc_graph_free(fh_check_rewrite("a factor per row", build, MISS_ROW_FACTOR, fuse_and_sweep, kept, 2));
  vitc_graph_free(fh_check("q and k swapped", build, MISS_QK_SWAPPED, fuse_and_sweep, kept, 2));
  vitc_graph_free(fh_check("heads merged channel-major", build, MISS_MERGE, fuse_and_sweep, kept, 2));
  vitc_graph_free(fh_check_rewrite("a bias on the scores", build, MISS_BIAS, fuse_and_sweep, kept, 2));
}

static void check_kernel(int64_t images, int64_t tokens, int64_t heads, int64_t d, int nthreads) {
  test_graph t = tg_new();
  int64_t c = heads * d, y_shape[3] = {images, tokens, c};
  const int64_t qkvd[] = {images, tokens, 3 * c}, td[] = {heads, 1, 1};
  int in[2] = {tg_input(&t, VITC_F32, 3, qkvd), tg_const(&t, VITC_F32, 3, td, 5)};
  vitc_attr at[3] = {{.name = "heads", .type = VITC_ATTR_INT, .i = heads},
                     {.name = "tokens", .type = VITC_ATTR_INT, .i = tokens},
                     {.name = "y_shape", .type = VITC_ATTR_INTS, .n = 3, .ints = y_shape}};
  tg_output(&t, tg_node(&t, VITC_OP_ChannelAttention, in, 2, 1, at, 3));
  char what[128];
  snprintf(what, sizeof what, "ChannelAttention B %lld N %lld H %lld D %lld, %d threads", (long long)images,
           (long long)tokens, (long long)heads, (long long)d, nthreads);
  tg_check(&t, what, nthreads, 1e-4, 1e-5);
}

static void test_kernel(void) {
  for (int threads = 1; threads <= 3; threads += 2) {
    check_kernel(1, 196, 8, 48, threads); /* XCiT-S at 224: across the pool */
    check_kernel(3, 50, 3, 17, threads);  /* three images, D a vector and a tail */
  }
}

int main(void) {
  test_pass();
  test_kernel();
  CHECK_DONE();
}

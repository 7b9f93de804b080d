/* test_fusion_layout2.c — where simplify_layout leaves a FusedGemm's row views: before a projection
 * read by computing ops (Swin V2's post-norm LayerNorm) the head merge stays in front of the FusedGemm,
 * so absorb_attention_layout folds it into the Attention's output rows, and no Reshape is left between
 * the projection and the LayerNorm. Each case checks the histogram, the evaluator on the rewritten graph
 * against the graph left alone, and the JIT-compiled pipeline against the evaluator (fusion_harness.h).
 *
 * Sizes: N = 5 tokens, H = 3 heads of D = 4. */
#include "fusion_harness.h"

enum { N = 5, H = 3, D = 4, E = H * D };

enum {
  POST_NORM,   /* Y → head merge → [1, N, E] → projection → LayerNorm → Add(x, ·) */
  TWO_READERS, /* the projection also read by a Reshape: one computing reader is enough to keep it */
  MOVED_ONLY,  /* the projection read by a Reshape alone: it moves above the merge, as for ViT's qkv */
};

static int i64s(test_graph *t, int n, const int64_t *v) {
  vitc_value c = {.dtype = VITC_I64, .rank = 1, .dims = {n}, .data = (void *)v};
  return vitc_graph_add_constant(t->g, NULL, &c);
}

static int reshape(test_graph *t, int x, int n, const int64_t *dims) {
  return fh_op(t, VITC_OP_Reshape, x, i64s(t, n, dims));
}

static int layer_norm(test_graph *t, int x) {
  vitc_attr a = {.name = "axis", .type = VITC_ATTR_INT, .i = -1};
  int in[3] = {x, tg_const(t, VITC_F32, 1, (int64_t[]){E}, 5), tg_const(t, VITC_F32, 1, (int64_t[]){E}, 6)};
  return tg_node(t, VITC_OP_LayerNormalization, in, 3, 1, &a, 1);
}

/* Q, K, V inputs [H, N, D] → Attention → Transpose {1, 0, 2} → Reshape [N, E] → Reshape [1, N, E] →
 * projection, read as the variant says. */
static void build(test_graph *t, int variant) {
  static const int64_t swap01[] = {1, 0, 2};
  int x = tg_input(t, VITC_F32, 3, (int64_t[]){1, N, E}), qkv[3];
  for (int i = 0; i < 3; i++) qkv[i] = tg_input(t, VITC_F32, 3, (int64_t[]){H, N, D});
  vitc_attr a[2] = {{.name = "scale", .type = VITC_ATTR_FLOAT, .f = 0.5},
                    {.name = "perm", .type = VITC_ATTR_INTS, .n = 3, .ints = (int64_t *)swap01}};
  int y = tg_node(t, VITC_OP_Attention, qkv, 3, 1, a, 1);
  int merged = reshape(t, reshape(t, tg_node(t, VITC_OP_Transpose, &y, 1, 1, a + 1, 1), 2, (int64_t[]){N, E}), 3,
                       (int64_t[]){1, N, E});
  int in[3] = {merged, tg_const(t, VITC_F32, 2, (int64_t[]){E, E}, 3), tg_const(t, VITC_F32, 1, (int64_t[]){E}, 4)};
  int proj = tg_node(t, VITC_OP_FusedGemm, in, 3, 1, NULL, 0);
  if (variant != MOVED_ONLY) tg_output(t, fh_op(t, VITC_OP_Add, x, layer_norm(t, proj)));
  if (variant != POST_NORM) tg_output(t, reshape(t, proj, 2, (int64_t[]){N, E}));
}

/* The layout passes as the pipeline runs them. */
static vitc_status layout_passes(vitc_graph *g, vitc_error *err) {
  vitc_status st = vitc_simplify_layout(g, err);
  if (st == VITC_OK) st = vitc_absorb_attention_layout(g, err);
  return st;
}

/* Whether the FusedGemm reads the Attention's output directly. */
static bool gemm_reads_attention(const vitc_graph *g) {
  const vitc_node *gemm = fh_find_op(g, VITC_OP_FusedGemm), *att = fh_find_op(g, VITC_OP_Attention);
  return gemm && att && gemm->in[0] == att->out[0];
}

int main(void) {
  /* the merge goes into Y's map; the Attention writes [1, N, E] for the projection and LayerNorm */
  const fh_count post[] = {{VITC_OP_Attention, 1}, {VITC_OP_Reshape, 0}, {VITC_OP_Transpose, 0},
                           {VITC_OP_FusedGemm, 1}, {VITC_OP_LayerNormalization, 1}};
  vitc_graph *g = fh_check("post-norm projection", build, POST_NORM, layout_passes, post, 5);
  const vitc_node *n = fh_find_op(g, VITC_OP_Attention);
  CHECK(n && n->nin == 9 && g->tensors[n->out[0]].v.rank == 3 && gemm_reads_attention(g));
  vitc_graph_free(g);

  /* the same, and the second reader's Reshape stays */
  const fh_count two[] = {{VITC_OP_Attention, 1}, {VITC_OP_Reshape, 1}, {VITC_OP_Transpose, 0}, {VITC_OP_FusedGemm, 1}};
  g = fh_check("projection read twice", build, TWO_READERS, layout_passes, two, 4);
  CHECK(gemm_reads_attention(g));
  vitc_graph_free(g);

  /* the FusedGemm moves above the merge and reads its [N, E] rows, a Reshape giving back [1, N, E]
   * before the reader's */
  const fh_count moved[] = {{VITC_OP_Attention, 1}, {VITC_OP_Reshape, 2}, {VITC_OP_Transpose, 0},
                            {VITC_OP_FusedGemm, 1}};
  g = fh_check("projection read by a Reshape", build, MOVED_ONLY, layout_passes, moved, 4);
  CHECK(gemm_reads_attention(g));
  vitc_graph_free(g);
  CHECK_DONE();
}

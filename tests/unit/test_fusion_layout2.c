/* test_fusion_layout2.c — movement left between ops that can absorb it:
 *   - where simplify_layout leaves a FusedGemm's row views: before a projection read by computing ops
 *     (Swin V2's post-norm LayerNorm) the head merge stays in front of the FusedGemm, so
 *     absorb_attention_layout folds it into the Attention's output rows;
 *   - PVT's spatial reduction (tokens → image → patches → GEMM → tokens): the Reshapes in a row become one,
 *     and the GEMM writes the tokens directly, with near misses;
 *   - fold_softmax_transposes on CaiT's talking heads (mix, Softmax, mix between head-last and head-first
 *     views), and near misses whose Transposes must stay.
 * Each case checks the histogram, the evaluator on the rewritten graph against the graph left alone, and
 * the JIT-compiled pipeline against the evaluator (fusion_harness.h).
 *
 * Sizes: N = 5 tokens, H = 3 heads of D = 4. */
#include "fusion_harness.h"

enum { N = 5, H = 3, D = 4, E = H * D };

enum {
  POST_NORM,   /* Y → head merge → [1, N, E] → projection → LayerNorm → Add(x, ·) */
  TWO_READERS, /* the projection also read by a Reshape: one computing reader is enough to keep it */
  MOVED_ONLY,  /* the projection read by a Reshape alone: it moves above the merge, as for ViT's qkv */
};

enum {
  HEADS,             /* scores [1, H, N, N] → heads last → mix → heads first → Softmax → heads last → mix */
  HEADS_LOG,         /* the same with LogSoftmax */
  MISS_NOT_INVERSE,  /* the Transpose after the Softmax does not undo the one before */
  MISS_SOFTMAX_READ, /* the Softmax's output is also a graph output */
  MISS_OPSET_12,     /* Softmax before opset 13 normalises the flattened trailing dims */
};

enum {
  REDUCTION,         /* the chain as exported */
  MISS_IMAGE_READ,   /* the image [1, E, 4, 4] also a graph output: its Reshape and the next stay two */
  MISS_RESIDUAL,     /* the GEMM adds a residual [1, 2, 2, N]: the token Reshape stays after it */
  MISS_ROW_CHANGED,  /* the tokens are [1, 4·N]: that Reshape changes the rows, and stays */
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

static int transpose(test_graph *t, int x, const int64_t *perm) {
  vitc_attr a = {.name = "perm", .type = VITC_ATTR_INTS, .n = 4, .ints = (int64_t *)perm};
  return tg_node(t, VITC_OP_Transpose, &x, 1, 1, &a, 1);
}

/* FusedGemm mixing the H heads of a heads-last tensor. */
static int mix(test_graph *t, int x, unsigned seed) {
  const int64_t h = H;
  int in[3] = {x, tg_const(t, VITC_F32, 2, (int64_t[]){H, H}, seed), tg_const(t, VITC_F32, 1, &h, seed + 1)};
  return tg_node(t, VITC_OP_FusedGemm, in, 3, 1, NULL, 0);
}

/* CaiT's talking heads between the two attention products. */
static void build_heads(test_graph *t, int variant) {
  static const int64_t last[] = {0, 2, 3, 1}, first[] = {0, 3, 1, 2}, swap[] = {0, 1, 3, 2};
  if (variant == MISS_OPSET_12) t->g->opset = 12;
  int x = tg_input(t, VITC_F32, 4, (int64_t[]){1, H, N, N});
  int a = transpose(t, mix(t, transpose(t, x, last), 3), first);
  int s = fh_op(t, variant == HEADS_LOG ? VITC_OP_LogSoftmax : VITC_OP_Softmax, a, -1);
  if (variant == MISS_SOFTMAX_READ) tg_output(t, s);
  if (variant == MISS_NOT_INVERSE) tg_output(t, transpose(t, s, swap));
  else tg_output(t, transpose(t, mix(t, transpose(t, s, last), 5), first));
}

/* The Softmax-family node of g along `axis`. */
static bool softmax_along(const vitc_graph *g, vitc_op op, int64_t axis) {
  const vitc_node *n = fh_find_op(g, op);
  return n && vitc_attr_int(n, "axis", -1) == axis && g->tensors[n->in[0]].v.dims[3] == H;
}

static void test_softmax_transposes(void) {
  const fh_count folded[] = {{VITC_OP_Transpose, 2}, {VITC_OP_Softmax, 1}, {VITC_OP_FusedGemm, 2}};
  vitc_graph *g = fh_check("talking heads", build_heads, HEADS, vitc_fold_softmax_transposes, folded, 3);
  CHECK(softmax_along(g, VITC_OP_Softmax, 2));
  vitc_graph_free(g);
  const fh_count log[] = {{VITC_OP_Transpose, 2}, {VITC_OP_LogSoftmax, 1}};
  g = fh_check("talking heads, LogSoftmax", build_heads, HEADS_LOG, vitc_fold_softmax_transposes, log, 2);
  CHECK(softmax_along(g, VITC_OP_LogSoftmax, 2));
  vitc_graph_free(g);

  const fh_count kept[] = {{VITC_OP_Transpose, 3}, {VITC_OP_Softmax, 1}};
  g = fh_check("not the inverse", build_heads, MISS_NOT_INVERSE, vitc_fold_softmax_transposes, kept, 2);
  const vitc_node *n = fh_find_op(g, VITC_OP_Softmax);
  CHECK(n && vitc_attr_int(n, "axis", -1) == -1);
  vitc_graph_free(g);
  const fh_count all[] = {{VITC_OP_Transpose, 4}, {VITC_OP_Softmax, 1}};
  vitc_graph_free(fh_check("Softmax read twice", build_heads, MISS_SOFTMAX_READ, vitc_fold_softmax_transposes, all, 2));
  vitc_graph_free(fh_check("opset 12", build_heads, MISS_OPSET_12, vitc_fold_softmax_transposes, all, 2));
}

/* PVT's spatial reduction of 16 tokens [1, 16, E] by a 2×2 stride-2 conv as a patch GEMM, as
 * to_channels_last leaves it: Transpose → Reshape [1, E, 4, 4] → Reshape [1, E, 2, 2, 2, 2] → Transpose →
 * Reshape [1, 2, 2, 4E] → FusedGemm [1, 2, 2, N] → Reshape [1, 4, N] → LayerNorm. */
static void build_reduction(test_graph *t, int variant) {
  static const int64_t swap[] = {0, 2, 1}, patches[] = {0, 2, 4, 3, 5, 1};
  vitc_attr p1 = {.name = "perm", .type = VITC_ATTR_INTS, .n = 3, .ints = (int64_t *)swap};
  vitc_attr p2 = {.name = "perm", .type = VITC_ATTR_INTS, .n = 6, .ints = (int64_t *)patches};
  int x = tg_input(t, VITC_F32, 3, (int64_t[]){1, 16, E});
  int image = reshape(t, tg_node(t, VITC_OP_Transpose, &x, 1, 1, &p1, 1), 4, (int64_t[]){1, E, 4, 4});
  if (variant == MISS_IMAGE_READ) tg_output(t, image);
  int split = reshape(t, image, 6, (int64_t[]){1, E, 2, 2, 2, 2});
  int p = reshape(t, tg_node(t, VITC_OP_Transpose, &split, 1, 1, &p2, 1), 4, (int64_t[]){1, 2, 2, 4 * E});
  int in[4] = {p, tg_const(t, VITC_F32, 2, (int64_t[]){4 * E, N}, 3), tg_const(t, VITC_F32, 1, (int64_t[]){N}, 4),
               variant == MISS_RESIDUAL ? tg_input(t, VITC_F32, 4, (int64_t[]){1, 2, 2, N}) : -1};
  int y = tg_node(t, VITC_OP_FusedGemm, in, variant == MISS_RESIDUAL ? 4 : 3, 1, NULL, 0);
  if (variant == MISS_ROW_CHANGED) return tg_output(t, reshape(t, y, 2, (int64_t[]){1, 4 * N}));
  vitc_attr axis = {.name = "axis", .type = VITC_ATTR_INT, .i = -1};
  int ln[3] = {reshape(t, y, 3, (int64_t[]){1, 4, N}), tg_const(t, VITC_F32, 1, (int64_t[]){N}, 5),
               tg_const(t, VITC_F32, 1, (int64_t[]){N}, 6)};
  tg_output(t, tg_node(t, VITC_OP_LayerNormalization, ln, 3, 1, &axis, 1));
}

static vitc_status simplify_and_sweep(vitc_graph *g, vitc_error *err) {
  vitc_status st = vitc_simplify_layout(g, err);
  return st ? st : vitc_eliminate_dead(g, err);
}

static void test_reduction(void) {
  const fh_count one[] = {{VITC_OP_Reshape, 2}, {VITC_OP_Transpose, 2}, {VITC_OP_FusedGemm, 1}};
  vitc_graph *g = fh_check("spatial reduction", build_reduction, REDUCTION, simplify_and_sweep, one, 3);
  const vitc_node *gemm = fh_find_op(g, VITC_OP_FusedGemm);
  CHECK(gemm && g->tensors[gemm->out[0]].v.rank == 3 && g->tensors[gemm->in[0]].v.dims[1] == 4);
  vitc_graph_free(g);
  const fh_count image_read[] = {{VITC_OP_Reshape, 3}, {VITC_OP_Transpose, 2}};
  vitc_graph_free(fh_check("image read twice", build_reduction, MISS_IMAGE_READ, simplify_and_sweep, image_read, 2));
  const fh_count residual[] = {{VITC_OP_Reshape, 3}, {VITC_OP_Transpose, 2}};
  vitc_graph_free(fh_check("GEMM with residual", build_reduction, MISS_RESIDUAL, simplify_and_sweep, residual, 2));
  vitc_graph_free(fh_check("rows changed after", build_reduction, MISS_ROW_CHANGED, simplify_and_sweep, residual, 2));
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

  /* the FusedGemm moves above the merge and reads its [N, E] rows; the Reshape giving back [1, N, E] and
   * the reader's are one */
  const fh_count moved[] = {{VITC_OP_Attention, 1}, {VITC_OP_Reshape, 1}, {VITC_OP_Transpose, 0},
                            {VITC_OP_FusedGemm, 1}};
  g = fh_check("projection read by a Reshape", build, MOVED_ONLY, layout_passes, moved, 4);
  CHECK(gemm_reads_attention(g));
  vitc_graph_free(g);

  test_softmax_transposes();
  test_reduction();
  CHECK_DONE();
}

/* test_merge_row_views.c — merge_row_views on views that regroup rows between row-wise ops (timm's
 * Swin V2 and TinyViT MLPs between image and tokens), and the near misses that must keep them. Each case
 * checks the histogram, the evaluator on the rewritten graph against the graph left alone, and the
 * JIT-compiled pipeline against the evaluator (fusion_harness.h).
 *
 * Sizes: a 3×4 image of C = 6 channels, 12 tokens, an MLP of F = 10. */
#include "fusion_harness.h"

enum { HH = 3, WW = 4, T = HH * WW, C = 6, F = 10 };

enum {
  BLOCK,          /* image → tokens → LayerNorm, MLP, LayerNormResidual(·, tokens) → image → Transpose */
  BIAS_ROW,       /* tokens → image → Add(·, bias [C]) → tokens → Relu: the image side goes */
  MISS_BIAS_RANK, /* the same with a bias [1, 1, 1, C]: on tokens it would broadcast to 4 dims */
  MISS_ONE_VIEW,  /* image → tokens → FusedGemm → graph output: removing the view costs one */
  MISS_OUTPUT,    /* image → tokens → Relu (a graph output) → image → Relu: both shapes are outputs */
  MISS_LAST_DIM,  /* the views change the last dim: they regroup more than rows */
  WRITER,         /* heads [1, T, 2, 3] → Reshape [1, T, C] → image view → Add(·, image): the first Reshape
                     writes the image's dims instead (XCiT's head merge) */
  MISS_WRITER,    /* the same with a Transpose [1, C, T] → [1, T, C] instead: it cannot */
  FLAT,           /* image → tokens → qkv FusedGemm → ChannelAttention → FusedGemm(·, tokens) → image: a
                     FLAT_ROWS op reads and writes any grouping (XCiT's attention) */
  MISS_FLAT,      /* the same with FactorizedAttention, which reads qkv [B, N, 3·C] by its dims */
};

static int i64s(test_graph *t, int n, const int64_t *v) {
  vitc_value c = {.dtype = VITC_I64, .rank = 1, .dims = {n}, .data = (void *)v};
  return vitc_graph_add_constant(t->g, NULL, &c);
}

static int reshape(test_graph *t, int x, int n, const int64_t *dims) {
  return fh_op(t, VITC_OP_Reshape, x, i64s(t, n, dims));
}

static int gemm(test_graph *t, int x, int64_t k, int64_t n, int residual, unsigned seed) {
  int in[4] = {x, tg_const(t, VITC_F32, 2, (int64_t[]){k, n}, seed), tg_const(t, VITC_F32, 1, &n, seed + 1), residual};
  return tg_node(t, VITC_OP_FusedGemm, in, residual >= 0 ? 4 : 3, 1, NULL, 0);
}

static int norm(test_graph *t, vitc_op op, int x, int residual) {
  const int64_t c = C;
  vitc_attr a[2] = {{.name = "axis", .type = VITC_ATTR_INT, .i = -1},
                    {.name = "epsilon", .type = VITC_ATTR_FLOAT, .f = 1e-5}};
  int in[4] = {x, tg_const(t, VITC_F32, 1, &c, 7), tg_const(t, VITC_F32, 1, &c, 8), residual};
  return tg_node(t, op, in, residual >= 0 ? 4 : 3, 1, a, 2);
}

static void build(test_graph *t, int variant) {
  static const int64_t image[] = {1, HH, WW, C}, tokens[] = {1, T, C}, halves[] = {1, 2 * T, C / 2},
                       to_nchw[] = {0, 3, 1, 2};
  if (variant == BIAS_ROW || variant == MISS_BIAS_RANK) {
    int x = tg_input(t, VITC_F32, 3, tokens);
    int bias = variant == BIAS_ROW ? tg_const(t, VITC_F32, 1, (int64_t[]){C}, 3)
                                   : tg_const(t, VITC_F32, 4, (int64_t[]){1, 1, 1, C}, 3);
    int y = fh_op(t, VITC_OP_Add, reshape(t, x, 4, image), bias);
    tg_output(t, fh_op(t, VITC_OP_Relu, reshape(t, y, 3, tokens), -1));
    return;
  }
  if (variant == FLAT || variant == MISS_FLAT) {
    int x = tg_input(t, VITC_F32, 4, image), tok = reshape(t, x, 3, tokens), qkv = gemm(t, tok, C, 3 * C, -1, 3);
    int64_t hw[2] = {HH, WW}, y_shape[3] = {1, T, C};
    vitc_attr a[3] = {{.name = "heads", .type = VITC_ATTR_INT, .i = 2},
                      {.name = "tokens", .type = VITC_ATTR_INT, .i = T},
                      {.name = "y_shape", .type = VITC_ATTR_INTS, .n = 3, .ints = y_shape}};
    int in[3] = {qkv, tg_const(t, VITC_F32, 3, (int64_t[]){2, 1, 1}, 4), -1}, att;
    if (variant == FLAT) {
      att = tg_node(t, VITC_OP_ChannelAttention, in, 2, 1, a, 3);
    } else {
      in[1] = tg_const(t, VITC_F32, 3, (int64_t[]){3, 3, C}, 4);
      in[2] = tg_const(t, VITC_F32, 1, (int64_t[]){C}, 5);
      a[1] = (vitc_attr){.name = "image", .type = VITC_ATTR_INTS, .n = 2, .ints = hw};
      att = tg_node(t, VITC_OP_FactorizedAttention, in, 3, 1, a, 2);
    }
    int y = reshape(t, gemm(t, att, C, C, tok, 6), 4, image);
    vitc_attr back = {.name = "perm", .type = VITC_ATTR_INTS, .n = 4, .ints = (int64_t *)to_nchw};
    tg_output(t, tg_node(t, VITC_OP_Transpose, &y, 1, 1, &back, 1));
    return;
  }
  if (variant == WRITER || variant == MISS_WRITER) {
    static const int64_t heads[] = {1, T, 2, C / 2}, channels_first[] = {1, C, T}, swap[] = {0, 2, 1};
    vitc_attr perm = {.name = "perm", .type = VITC_ATTR_INTS, .n = 3, .ints = (int64_t *)swap};
    int h = tg_input(t, VITC_F32, variant == WRITER ? 4 : 3, variant == WRITER ? heads : channels_first);
    h = variant == WRITER ? reshape(t, h, 3, tokens) : tg_node(t, VITC_OP_Transpose, &h, 1, 1, &perm, 1);
    int y = fh_op(t, VITC_OP_Add, reshape(t, h, 4, image), tg_input(t, VITC_F32, 4, image));
    vitc_attr back = {.name = "perm", .type = VITC_ATTR_INTS, .n = 4, .ints = (int64_t *)to_nchw};
    tg_output(t, tg_node(t, VITC_OP_Transpose, &y, 1, 1, &back, 1));
    return;
  }
  int x = tg_input(t, VITC_F32, 4, image);
  if (variant == MISS_LAST_DIM) {
    tg_output(t, reshape(t, fh_op(t, VITC_OP_Relu, reshape(t, x, 3, halves), -1), 4, image));
    return;
  }
  int tok = reshape(t, x, 3, tokens);
  if (variant == MISS_ONE_VIEW) {
    tg_output(t, gemm(t, tok, C, F, -1, 3));
    return;
  }
  if (variant == MISS_OUTPUT) {
    int r = fh_op(t, VITC_OP_Relu, tok, -1);
    tg_output(t, r);
    tg_output(t, fh_op(t, VITC_OP_Relu, reshape(t, r, 4, image), -1));
    return;
  }
  int h = gemm(t, gemm(t, norm(t, VITC_OP_LayerNormalization, tok, -1), C, F, -1, 3), F, C, -1, 5);
  int y = reshape(t, norm(t, VITC_OP_LayerNormResidual, h, tok), 4, image);
  vitc_attr perm = {.name = "perm", .type = VITC_ATTR_INTS, .n = 4, .ints = (int64_t *)to_nchw};
  tg_output(t, tg_node(t, VITC_OP_Transpose, &y, 1, 1, &perm, 1));
}

/* The dims of the output of g's first node of op `op`. */
static const vitc_value *output_of(const vitc_graph *g, vitc_op op) {
  const vitc_node *n = fh_find_op(g, op);
  return n ? &g->tensors[n->out[0]].v : NULL;
}

static void test_merged(void) {
  const fh_count block[] = {{VITC_OP_Reshape, 0}, {VITC_OP_FusedGemm, 2}, {VITC_OP_LayerNormResidual, 1},
                            {VITC_OP_Transpose, 1}};
  vitc_graph *g = fh_check("Swin V2 block MLP", build, BLOCK, vitc_merge_row_views, block, 4);
  const vitc_value *v = output_of(g, VITC_OP_LayerNormResidual);
  CHECK(v && v->rank == 4 && v->dims[1] == HH && v->dims[2] == WW && v->dims[3] == C);
  vitc_graph_free(g);
  const fh_count bias[] = {{VITC_OP_Reshape, 0}, {VITC_OP_Add, 1}, {VITC_OP_Relu, 1}};
  g = fh_check("bias along the rows", build, BIAS_ROW, vitc_merge_row_views, bias, 3);
  v = output_of(g, VITC_OP_Add);
  CHECK(v && v->rank == 3 && v->dims[1] == T);
  vitc_graph_free(g);
  const fh_count writer[] = {{VITC_OP_Reshape, 1}, {VITC_OP_Add, 1}};
  g = fh_check("a Reshape writes the group", build, WRITER, vitc_merge_row_views, writer, 2);
  v = output_of(g, VITC_OP_Reshape);
  CHECK(v && v->rank == 4 && v->dims[1] == HH && v->dims[3] == C);
  vitc_graph_free(g);
  const fh_count flat[] = {{VITC_OP_Reshape, 0}, {VITC_OP_ChannelAttention, 1}, {VITC_OP_FusedGemm, 2}};
  g = fh_check("a FLAT_ROWS op inside the group", build, FLAT, vitc_merge_row_views, flat, 3);
  v = output_of(g, VITC_OP_ChannelAttention);
  CHECK(v && v->rank == 4 && v->dims[1] == HH && v->dims[2] == WW && v->dims[3] == C);
  v = output_of(g, VITC_OP_FusedGemm);
  CHECK(v && v->rank == 4 && v->dims[1] == HH && v->dims[3] == 3 * C);
  vitc_graph_free(g);
}

static void test_kept(void) {
  const fh_count two[] = {{VITC_OP_Reshape, 2}};
  vitc_graph_free(fh_check("bias of rank 4", build, MISS_BIAS_RANK, vitc_merge_row_views, two, 1));
  vitc_graph_free(fh_check("group tensors are outputs", build, MISS_OUTPUT, vitc_merge_row_views,
                           (const fh_count[]){{VITC_OP_Reshape, 2}, {VITC_OP_Relu, 2}}, 2));
  vitc_graph_free(fh_check("last dim changed", build, MISS_LAST_DIM, vitc_merge_row_views, two, 1));
  vitc_graph_free(fh_check("a Transpose writes the group", build, MISS_WRITER, vitc_merge_row_views,
                           (const fh_count[]){{VITC_OP_Reshape, 1}, {VITC_OP_Transpose, 2}}, 2));
  vitc_graph_free(fh_check("qkv read by its dims", build, MISS_FLAT, vitc_merge_row_views,
                           (const fh_count[]){{VITC_OP_Reshape, 2}, {VITC_OP_FactorizedAttention, 1}}, 2));
  const fh_count one[] = {{VITC_OP_Reshape, 1}, {VITC_OP_FusedGemm, 1}};
  vitc_graph *g = fh_check("one view, one cost", build, MISS_ONE_VIEW, vitc_merge_row_views, one, 2);
  const vitc_value *v = output_of(g, VITC_OP_FusedGemm);
  CHECK(v && v->rank == 3 && v->dims[1] == T);
  vitc_graph_free(g);
}

int main(void) {
  test_merged();
  test_kept();
  CHECK_DONE();
}

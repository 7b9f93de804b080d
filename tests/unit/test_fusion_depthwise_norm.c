/* test_fusion_depthwise_norm.c — fuse_depthwise_norm on tiny graphs: ConvNeXt's depthwise conv and the
 * LayerNorm after it (with and without the norm's bias and the conv's bias, the axis spelled -1 or 3,
 * an activation the conv already took) become one DepthwiseConvNHWC; near misses that must stay: a norm
 * over W and C, a conv output read elsewhere too, the norm's Mean output used, a norm without a scale, a
 * view between the two, a scale that is not one value per channel, a conv on token rows (the norm would
 * also cover the leading rows the conv copies). Each case also runs the whole pipeline
 * through the backend against the evaluator (fusion_harness.h). */
#include "fusion_harness.h"

enum {
  FUSE_BASIC,    /* x [1, 9, 13, 20], 7x7 pads 3, conv bias, norm scale and bias, axis -1 */
  FUSE_BARE,     /* x [2, 5, 6, 17], 3x3 stride 2, no conv bias, gelu_erf, norm scale only, axis 3 */
  MISS_AXIS,     /* the norm over W and C (axis 2) */
  MISS_SHARED,   /* the conv's output also added to the norm's */
  MISS_STASH,    /* the norm's Mean is a graph output */
  MISS_NO_SCALE, /* LayerNormalization(z) alone */
  MISS_VIEW,     /* a Reshape to [N, H·W, C] between them */
  MISS_SCALE,    /* scale [1, 20]: one value per channel, but not [C] */
  MISS_TOKENS,   /* the conv on token rows x [1, 3 + 9·13, 20] (attribute image), a norm over every row */
};

static void build(test_graph *t, int variant) {
  bool bare = variant == FUSE_BARE;
  const int64_t xd[] = {bare ? 2 : 1, bare ? 5 : 9, bare ? 6 : 13, bare ? 17 : 20};
  int64_t c = xd[3], k = bare ? 3 : 7;
  const int64_t wd[] = {k, k, c}, cd[] = {c}, scale2[] = {1, c};
  static const int64_t pads7[] = {3, 3, 3, 3}, pads3[] = {1, 1, 1, 1}, ones[] = {1, 1}, twos[] = {2, 2};
  static const int64_t image[] = {9, 13};
  bool tokens = variant == MISS_TOKENS;
  vitc_attr a[5] = {{.name = "strides", .type = VITC_ATTR_INTS, .n = 2, .ints = (int64_t *)(bare ? twos : ones)},
                    {.name = "pads", .type = VITC_ATTR_INTS, .n = 4, .ints = (int64_t *)(bare ? pads3 : pads7)},
                    {.name = "dilations", .type = VITC_ATTR_INTS, .n = 2, .ints = (int64_t *)ones},
                    {.name = "activation", .type = VITC_ATTR_STRING, .s = "gelu_erf"},
                    {.name = "image", .type = VITC_ATTR_INTS, .n = 2, .ints = (int64_t *)image}};
  if (tokens) a[3] = a[4];
  const int64_t token_dims[] = {1, 3 + image[0] * image[1], c};
  int x = tokens ? tg_input(t, VITC_F32, 3, token_dims) : tg_input(t, VITC_F32, 4, xd);
  int in[3] = {x, tg_const(t, VITC_F32, 3, wd, 7), tg_const(t, VITC_F32, 1, cd, 8)};
  int z = tg_node(t, VITC_OP_DepthwiseConvNHWC, in, bare ? 2 : 3, 1, a, bare || tokens ? 4 : 3);
  int ln_in = z;
  if (variant == MISS_VIEW) {
    vitc_value shape = {.dtype = VITC_I64, .rank = 1, .dims = {3}, .data = (int64_t[]){xd[0], -1, c}};
    ln_in = fh_op(t, VITC_OP_Reshape, z, vitc_graph_add_constant(t->g, NULL, &shape));
  }
  int64_t axis = variant == MISS_AXIS ? 2 : bare ? 3 : -1;
  vitc_attr la[2] = {{.name = "axis", .type = VITC_ATTR_INT, .i = axis},
                     {.name = "epsilon", .type = VITC_ATTR_FLOAT, .f = 1e-6f}};
  int scale = variant == MISS_SCALE ? tg_const(t, VITC_F32, 2, scale2, 9) : tg_const(t, VITC_F32, 1, cd, 9);
  if (variant == MISS_AXIS) scale = tg_const(t, VITC_F32, 2, (int64_t[]){xd[2], c}, 9);
  int lin[3] = {ln_in, scale, tg_const(t, VITC_F32, 1, cd, 10)};
  int nin = variant == MISS_NO_SCALE ? 1 : bare ? 2 : 3;
  int y = tg_node(t, VITC_OP_LayerNormalization, lin, nin, variant == MISS_STASH ? 2 : 1, la, 2);
  tg_output(t, variant == MISS_SHARED ? fh_op(t, VITC_OP_Add, y, z) : y);
  if (variant == MISS_STASH) tg_output(t, y + 1);
}

static void test_fuses(void) {
  static const char *what[] = {"ConvNeXt's block", "no biases, stride 2, gelu"};
  const fh_count want[] = {{VITC_OP_DepthwiseConvNHWC, 1}, {VITC_OP_LayerNormalization, 0}};
  for (int variant = FUSE_BASIC; variant <= FUSE_BARE; variant++) {
    vitc_graph *g = fh_check(what[variant], build, variant, vitc_fuse_depthwise_norm, want, 2);
    const vitc_node *n = fh_find_op(g, VITC_OP_DepthwiseConvNHWC);
    CHECK(n != NULL);
    if (n) {
      CHECK(n->nin == (variant == FUSE_BARE ? 4 : 5));
      CHECK((n->in[2] >= 0) == (variant == FUSE_BASIC));
      CHECK_NEAR(vitc_attr_float(n, "epsilon", 0), 1e-6, 1e-12);
      int npads = 0;
      CHECK(vitc_attr_ints(n, "pads", &npads) && npads == 4);
      if (variant == FUSE_BARE) CHECK(!strcmp(vitc_attr_str(n, "activation", ""), "gelu_erf"));
    }
    vitc_graph_free(g);
  }
}

static void test_near_misses(void) {
  static const char *what[] = {"norm over W and C", "conv output read twice", "Mean used", "no scale",
                               "view between", "scale [1, C]", "token rows"};
  const fh_count untouched[] = {{VITC_OP_DepthwiseConvNHWC, 1}, {VITC_OP_LayerNormalization, 1}};
  for (int variant = MISS_AXIS; variant <= MISS_TOKENS; variant++) {
    vitc_graph *g = fh_check(what[variant - MISS_AXIS], build, variant, vitc_fuse_depthwise_norm, untouched, 2);
    const vitc_node *n = fh_find_op(g, VITC_OP_DepthwiseConvNHWC);
    CHECK(n && n->nin <= 3);
    vitc_graph_free(g);
  }
}

/* The activation joins the conv first (fuse_gemm_epilogue), then the norm. */
static void test_pipeline_order(void) {
  int count, gemm = -1, norm = -1;
  const vitc_pass *p = vitc_pipeline(&count);
  for (int i = 0; i < count; i++) {
    if (p[i].run == vitc_fuse_gemm_epilogue) gemm = i;
    if (p[i].run == vitc_fuse_depthwise_norm) norm = i;
  }
  CHECK(gemm >= 0 && gemm < norm);
}

int main(void) {
  test_fuses();
  test_near_misses();
  test_pipeline_order();
  CHECK_DONE();
}

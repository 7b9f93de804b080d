/* test_fusion_channels_norm.c — fuse_channels_layer_norm on tiny graphs: ConvNeXt's LayerNorm2d as
 * exported (Transpose to channels last, LayerNormalization over the last axis, Transpose back), and near
 * misses that must stay. Each case checks the histogram, the evaluator before/after the pass and the JIT
 * of the whole pipeline (fusion_harness.h).
 *
 * C = 5 and 37 channels (a row shorter and longer than a vector), spatial dims of odd sizes. */
#include "fusion_harness.h"

enum {
  C_RANK4,       /* x [2, 5, 3, 7] */
  C_RANK3,       /* x [2, 37, 11]: one spatial dim */
  MISS_BACK,     /* the second Transpose is [0, 3, 2, 1], not the inverse of the first */
  MISS_AXIS,     /* LayerNormalization over the last two axes */
  MISS_MEAN_OUT, /* Mean is a graph output */
};

static int transpose(test_graph *t, int x, int rank, int64_t *perm) {
  vitc_attr a = {.name = "perm", .type = VITC_ATTR_INTS, .n = rank, .ints = perm};
  return tg_node(t, VITC_OP_Transpose, &x, 1, 1, &a, 1);
}

static void build(test_graph *t, int variant) {
  static int64_t to_last4[] = {0, 2, 3, 1}, to_first4[] = {0, 3, 1, 2}, swap4[] = {0, 3, 2, 1}, swap3[] = {0, 2, 1};
  bool rank3 = variant == C_RANK3;
  const int64_t x4[] = {2, 5, 3, 7}, x3[] = {2, 37, 11}, c[] = {rank3 ? 37 : 5}, wc[] = {7, 5};
  int rank = rank3 ? 3 : 4;
  int x = tg_input(t, VITC_F32, rank, rank3 ? x3 : x4);
  int h = transpose(t, x, rank, rank3 ? swap3 : to_last4);
  bool axis2 = variant == MISS_AXIS;
  int in[3] = {h, tg_const(t, VITC_F32, axis2 ? 2 : 1, axis2 ? wc : c, 3),
               tg_const(t, VITC_F32, axis2 ? 2 : 1, axis2 ? wc : c, 4)};
  vitc_attr attrs[2] = {{.name = "axis", .type = VITC_ATTR_INT, .i = axis2 ? -2 : -1},
                        {.name = "epsilon", .type = VITC_ATTR_FLOAT, .f = 1e-6}};
  int nout = variant == MISS_MEAN_OUT ? 2 : 1;
  int n = tg_node(t, VITC_OP_LayerNormalization, in, 3, nout, attrs, 2);
  tg_output(t, transpose(t, n, rank, rank3 ? swap3 : variant == MISS_BACK ? swap4 : to_first4));
  if (nout == 2) tg_output(t, n + 1); /* Mean, the tensor added after Y */
}

static void test_fuses(void) {
  const fh_count want[] = {{VITC_OP_LayerNormChannels, 1}, {VITC_OP_LayerNormalization, 0}, {VITC_OP_Transpose, 0}};
  vitc_graph *g = fh_check("rank 4", build, C_RANK4, vitc_fuse_channels_layer_norm, want, 3);
  const vitc_node *n = fh_find_op(g, VITC_OP_LayerNormChannels);
  CHECK(n != NULL);
  if (n) CHECK_NEAR(vitc_attr_float(n, "epsilon", 0), 1e-6, 1e-12);
  vitc_graph_free(g);
  vitc_graph_free(fh_check("rank 3", build, C_RANK3, vitc_fuse_channels_layer_norm, want, 3));
}

static void test_near_misses(void) {
  const fh_count untouched[] = {
      {VITC_OP_LayerNormChannels, 0}, {VITC_OP_LayerNormalization, 1}, {VITC_OP_Transpose, 2}};
  vitc_graph_free(fh_check("not the inverse", build, MISS_BACK, vitc_fuse_channels_layer_norm, untouched, 3));
  vitc_graph_free(fh_check("last two axes", build, MISS_AXIS, vitc_fuse_channels_layer_norm, untouched, 3));
  vitc_graph_free(fh_check("mean output", build, MISS_MEAN_OUT, vitc_fuse_channels_layer_norm, untouched, 3));
}

int main(void) {
  test_fuses();
  test_near_misses();
  CHECK_DONE();
}

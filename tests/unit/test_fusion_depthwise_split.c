/* test_fusion_depthwise_split.c — merge_depthwise_split on tiny graphs shaped as CoaT's convolutional
 * relative position encoding (depthwise 3×3, 5×5 and 7×7 "same" Convs over a Split's channel groups,
 * concatenated), and the near misses that must stay. The merged Conv runs the existing depthwise
 * kernel, so the harness's JIT check covers it. */
#include "fusion_harness.h"

enum { H = 5, W = 6 };

enum {
  DS_COAT,       /* 2, 3, 3 channels with 3×3, 5×5, 7×7 kernels */
  DS_NO_BIAS,    /* the same without biases */
  DS_MISS_PADS,  /* the 3×3 group padded on one side only: shifted, not centred */
  DS_MISS_ORDER, /* the Concat takes the groups in another order */
  DS_MISS_DILATION, /* the last group a dilated Conv */
  DS_MISS_READER, /* a Split output read twice */
};

static int conv(test_graph *t, int x, int64_t c, int64_t k, int variant, bool shifted, unsigned seed) {
  const int64_t wd[] = {c, 1, k, k}, bd[] = {c};
  int64_t pads[4] = {k / 2, k / 2, k / 2, k / 2}, shift[4] = {0, 0, 2 * (k / 2), 2 * (k / 2)}, kernel[2] = {k, k},
          dil[2] = {2, 2};
  int in[3] = {x, tg_const(t, VITC_F32, 4, wd, seed), variant == DS_NO_BIAS ? -1 : tg_const(t, VITC_F32, 1, bd, seed + 1)};
  bool dilated = variant == DS_MISS_DILATION && k == 7;
  if (dilated) pads[0] = pads[1] = pads[2] = pads[3] = 2 * (k / 2);
  vitc_attr at[4] = {{.name = "group", .type = VITC_ATTR_INT, .i = c},
                     {.name = "kernel_shape", .type = VITC_ATTR_INTS, .n = 2, .ints = kernel},
                     {.name = "pads", .type = VITC_ATTR_INTS, .n = 4, .ints = shifted ? shift : pads},
                     {.name = "dilations", .type = VITC_ATTR_INTS, .n = 2, .ints = dil}};
  return tg_node(t, VITC_OP_Conv, in, variant == DS_NO_BIAS ? 2 : 3, 1, at, dilated ? 4 : 3);
}

static void build(test_graph *t, int variant) {
  const int64_t sizes_same[] = {3, 3, 3}, sizes[] = {2, 3, 3};
  const int64_t *sz = variant == DS_MISS_ORDER ? sizes_same : sizes;
  const int64_t xd[] = {1, sz[0] + sz[1] + sz[2], H, W}, k[] = {3, 5, 7};
  vitc_value sv = {.dtype = VITC_I64, .rank = 1, .dims = {3}, .data = (void *)sz};
  int in[2] = {tg_input(t, VITC_F32, 4, xd), vitc_graph_add_constant(t->g, NULL, &sv)};
  vitc_attr axis = {.name = "axis", .type = VITC_ATTR_INT, .i = 1};
  int first = tg_node(t, VITC_OP_Split, in, 2, 3, &axis, 1); /* its outputs are first, first + 1, first + 2 */
  int y[3];
  for (int g = 0; g < 3; g++) y[g] = conv(t, first + g, sz[g], k[g], variant, variant == DS_MISS_PADS && g == 0, 3 + 2 * (unsigned)g);
  if (variant == DS_MISS_ORDER) {
    int swap = y[0];
    y[0] = y[1];
    y[1] = swap;
  }
  tg_output(t, tg_node(t, VITC_OP_Concat, y, 3, 1, &axis, 1));
  if (variant == DS_MISS_READER) tg_output(t, fh_op(t, VITC_OP_Add, first, first));
}

static void test_pass(void) {
  const fh_count merged[] = {{VITC_OP_Conv, 1}, {VITC_OP_Split, 0}, {VITC_OP_Concat, 0}};
  vitc_graph_free(fh_check("CoaT's 3x3, 5x5, 7x7 groups", build, DS_COAT, vitc_merge_depthwise_split, merged, 3));
  vitc_graph_free(fh_check("without biases", build, DS_NO_BIAS, vitc_merge_depthwise_split, merged, 3));
  const fh_count kept[] = {{VITC_OP_Conv, 3}, {VITC_OP_Split, 1}, {VITC_OP_Concat, 1}};
  vitc_graph_free(fh_check("one group padded on one side", build, DS_MISS_PADS, vitc_merge_depthwise_split, kept, 3));
  vitc_graph_free(fh_check("groups concatenated out of order", build, DS_MISS_ORDER, vitc_merge_depthwise_split, kept, 3));
  vitc_graph_free(fh_check("a dilated group", build, DS_MISS_DILATION, vitc_merge_depthwise_split, kept, 3));
  vitc_graph_free(fh_check("a group read twice", build, DS_MISS_READER, vitc_merge_depthwise_split, kept, 3));
}

int main(void) {
  test_pass();
  CHECK_DONE();
}

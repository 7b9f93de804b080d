/* test_lower_spatial_mean.c — lower_spatial_mean on ReduceMeans of image tensors: over H and W with
 * dims kept (timm's squeeze-excitation), with negative axes, over the three spatial dims of a 5-D tensor,
 * and over the channels too where they are 1; the near misses: dims dropped, channels of 3 reduced,
 * one spatial axis only, a rank-2 tensor. Each case checks the histogram, the evaluator before/after the
 * pass and the JIT (fusion_harness.h). */
#include "fusion_harness.h"

enum {
  LOWER,          /* [2, 3, 5, 7], axes [2, 3] */
  LOWER_NEGATIVE, /* axes [-1, -2] */
  LOWER_5D,       /* [1, 2, 3, 4, 5], axes [2, 3, 4] */
  LOWER_UNIT_C,   /* [2, 1, 5, 7], axes [1, 2, 3]: the channel axis has one element */
  MISS_KEEPDIMS,  /* keepdims 0 */
  MISS_CHANNELS,  /* axes [1, 2, 3] over 3 channels */
  MISS_ONE_AXIS,  /* axes [3] */
  MISS_RANK2,     /* [6, 7], axes [1] */
};

static void build(test_graph *t, int variant) {
  static const int64_t d4[] = {2, 3, 5, 7}, d5[] = {1, 2, 3, 4, 5}, unit_c[] = {2, 1, 5, 7}, d2[] = {6, 7},
                       hw[] = {2, 3}, neg[] = {-1, -2}, dhw[] = {2, 3, 4}, chw[] = {1, 2, 3}, w[] = {3}, col[] = {1};
  const int64_t *dims = variant == LOWER_5D ? d5 : variant == LOWER_UNIT_C ? unit_c : variant == MISS_RANK2 ? d2 : d4;
  int rank = variant == LOWER_5D ? 5 : variant == MISS_RANK2 ? 2 : 4;
  const int64_t *axes = variant == LOWER_NEGATIVE                              ? neg
                        : variant == LOWER_5D                                  ? dhw
                        : variant == LOWER_UNIT_C || variant == MISS_CHANNELS ? chw
                        : variant == MISS_ONE_AXIS                             ? w
                        : variant == MISS_RANK2                                ? col
                                                                               : hw;
  int naxes = variant == LOWER_5D || variant == LOWER_UNIT_C || variant == MISS_CHANNELS ? 3
              : variant == MISS_ONE_AXIS || variant == MISS_RANK2                        ? 1
                                                                                         : 2;
  vitc_value av = {.dtype = VITC_I64, .rank = 1, .dims = {naxes}, .data = (void *)axes};
  int in[2] = {tg_input(t, VITC_F32, rank, dims), vitc_graph_add_constant(t->g, NULL, &av)};
  vitc_attr keep = {.name = "keepdims", .type = VITC_ATTR_INT, .i = variant != MISS_KEEPDIMS};
  tg_output(t, fh_op(t, VITC_OP_Relu, tg_node(t, VITC_OP_ReduceMean, in, 2, 1, &keep, 1), -1));
}

int main(void) {
  static const struct {
    const char *what;
    int variant;
    int lowered;
  } cases[] = {
      {"mean over H and W", LOWER, 1},
      {"negative axes", LOWER_NEGATIVE, 1},
      {"mean over D, H and W", LOWER_5D, 1},
      {"one channel reduced too", LOWER_UNIT_C, 1},
      {"near miss: keepdims 0", MISS_KEEPDIMS, 0},
      {"near miss: 3 channels reduced too", MISS_CHANNELS, 0},
      {"near miss: W only", MISS_ONE_AXIS, 0},
      {"near miss: rank 2", MISS_RANK2, 0},
  };
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    const fh_count want[] = {{VITC_OP_GlobalAveragePool, cases[c].lowered}, {VITC_OP_ReduceMean, !cases[c].lowered}};
    vitc_graph_free(fh_check(cases[c].what, build, cases[c].variant, vitc_lower_spatial_mean, want, 2));
  }
  CHECK_DONE();
}

/* test_fold_pad_into_pool.c — fold_pad_into_pool on a zero Pad in front of a 3×3 stride-2 AveragePool
 * over an odd-sized [1, 3, 7, 9] input (MaxViT's MBConv shortcut), with uneven pads added to the pool's
 * own, and the near misses the fold would get wrong: channels padded, a non-zero pad value, reflect
 * mode, pool pads that do not count in the divisor, ceil_mode, a second reader of the padded tensor.
 * Each case checks the histogram, the evaluator before/after the pass and the JIT (fusion_harness.h). */
#include "fusion_harness.h"

enum {
  FOLD,           /* pads 1 on each side of H and W, pool pads 0 */
  FOLD_UNEVEN,    /* Pad H by 0 and 1, W by 2 and 1; pool pads 1 before H and W, counted */
  MISS_CHANNELS,  /* one pad of the channel dim */
  MISS_VALUE,     /* pad value 0.5 */
  MISS_REFLECT,   /* mode reflect */
  MISS_EXCLUDED,  /* pool pads that its divisor does not count */
  MISS_CEIL,      /* ceil_mode 1 */
  MISS_SHARED,    /* the padded tensor read by a Relu too */
};

static int ints(test_graph *t, int n, const int64_t *v) {
  vitc_value val = {.dtype = VITC_I64, .rank = 1, .dims = {n}, .data = (void *)v};
  return vitc_graph_add_constant(t->g, NULL, &val);
}

static void build(test_graph *t, int variant) {
  const int64_t dims[] = {1, 3, 7, 9};
  static const int64_t ones[8] = {0, 0, 1, 1, 0, 0, 1, 1}, uneven[8] = {0, 0, 0, 2, 0, 0, 1, 1},
                       channel[8] = {0, 1, 1, 1, 0, 0, 1, 1}, kernel[] = {3, 3}, strides[] = {2, 2},
                       pool_pads[] = {1, 1, 0, 0}; /* the graph keeps the pointers */
  int x = tg_input(t, VITC_F32, 4, dims);
  const int64_t *pads = variant == FOLD_UNEVEN ? uneven : variant == MISS_CHANNELS ? channel : ones;
  int in[3] = {x, ints(t, 8, pads), -1};
  if (variant == MISS_VALUE) {
    float half = 0.5f;
    vitc_value v = {.dtype = VITC_F32, .rank = 0, .data = &half};
    in[2] = vitc_graph_add_constant(t->g, NULL, &v);
  }
  vitc_attr mode = {.name = "mode", .type = VITC_ATTR_STRING, .s = variant == MISS_REFLECT ? "reflect" : "constant"};
  int p = tg_node(t, VITC_OP_Pad, in, in[2] < 0 ? 2 : 3, 1, &mode, 1);
  bool pool_padded = variant == FOLD_UNEVEN || variant == MISS_EXCLUDED;
  vitc_attr attrs[] = {
      {.name = "kernel_shape", .type = VITC_ATTR_INTS, .n = 2, .ints = (int64_t *)kernel},
      {.name = "strides", .type = VITC_ATTR_INTS, .n = 2, .ints = (int64_t *)strides},
      {.name = "ceil_mode", .type = VITC_ATTR_INT, .i = variant == MISS_CEIL},
      {.name = "count_include_pad", .type = VITC_ATTR_INT, .i = variant == FOLD_UNEVEN},
      {.name = "pads", .type = VITC_ATTR_INTS, .n = 4, .ints = (int64_t *)pool_pads},
  };
  int y = tg_node(t, VITC_OP_AveragePool, &p, 1, 1, attrs, pool_padded ? 5 : 4);
  tg_output(t, fh_op(t, VITC_OP_Relu, y, -1));
  if (variant == MISS_SHARED) tg_output(t, fh_op(t, VITC_OP_Relu, p, -1));
}

int main(void) {
  static const struct {
    const char *what;
    int variant;
    int pads_kept;
  } cases[] = {
      {"Pad of H and W by 1", FOLD, 0},
      {"uneven Pad added to counted pool pads", FOLD_UNEVEN, 0},
      {"near miss: channels padded", MISS_CHANNELS, 1},
      {"near miss: pad value 0.5", MISS_VALUE, 1},
      {"near miss: reflect", MISS_REFLECT, 1},
      {"near miss: pool pads not counted", MISS_EXCLUDED, 1},
      {"near miss: ceil_mode", MISS_CEIL, 1},
      {"near miss: padded tensor read twice", MISS_SHARED, 1},
  };
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    const fh_count want[] = {{VITC_OP_Pad, cases[c].pads_kept}, {VITC_OP_AveragePool, 1}};
    vitc_graph *g = fh_check(cases[c].what, build, cases[c].variant, vitc_fold_pad_into_pool, want, 2);
    const vitc_node *pool = fh_find_op(g, VITC_OP_AveragePool);
    if (!cases[c].pads_kept) CHECK(pool && vitc_attr_int(pool, "count_include_pad", 0) == 1);
    vitc_graph_free(g);
  }
  CHECK_DONE();
}

/* test_fold_pad_into_pool.c — fold_pad_into_pool on a zero Pad in front of a 3×3 stride-2 AveragePool
 * over an odd-sized [1, 3, 7, 9] input (MaxViT's MBConv shortcut), with uneven pads added to the pool's
 * own, and the near misses the fold would get wrong: channels padded, a non-zero pad value, reflect
 * mode, pool pads that do not count in the divisor, ceil_mode, a second reader of the padded tensor.
 * The same Pads in front of a 3×3 stride-2 Conv (timm's "same" padding: right and bottom by 1) fold into
 * its pads, added to the conv's own, whatever they are; the near misses there: a non-zero pad value,
 * reflect mode, channels padded.
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
  CONV,           /* a Conv (with bias) instead of the pool from here on: Pad H and W by 0 and 1 */
  CONV_UNEVEN,    /* the uneven Pad, conv pads 1 before H and W */
  CONV_MISS_VALUE,
  CONV_MISS_REFLECT,
  CONV_MISS_CHANNELS,
};

static int ints(test_graph *t, int n, const int64_t *v) {
  vitc_value val = {.dtype = VITC_I64, .rank = 1, .dims = {n}, .data = (void *)v};
  return vitc_graph_add_constant(t->g, NULL, &val);
}

static void build(test_graph *t, int variant) {
  const int64_t dims[] = {1, 3, 7, 9};
  static const int64_t ones[8] = {0, 0, 1, 1, 0, 0, 1, 1}, uneven[8] = {0, 0, 0, 2, 0, 0, 1, 1},
                       same[8] = {0, 0, 0, 0, 0, 0, 1, 1}, bdims[] = {4},
                       channel[8] = {0, 1, 1, 1, 0, 0, 1, 1}, kernel[] = {3, 3}, strides[] = {2, 2},
                       pool_pads[] = {1, 1, 0, 0}; /* the graph keeps the pointers */
  int x = tg_input(t, VITC_F32, 4, dims);
  bool conv = variant >= CONV;
  const int64_t *pads = variant == FOLD_UNEVEN || variant == CONV_UNEVEN               ? uneven
                        : variant == MISS_CHANNELS || variant == CONV_MISS_CHANNELS ? channel
                        : conv                                                      ? same
                                                                                    : ones;
  int in[3] = {x, ints(t, 8, pads), -1};
  if (variant == MISS_VALUE || variant == CONV_MISS_VALUE) {
    float half = 0.5f;
    vitc_value v = {.dtype = VITC_F32, .rank = 0, .data = &half};
    in[2] = vitc_graph_add_constant(t->g, NULL, &v);
  }
  vitc_attr mode = {.name = "mode", .type = VITC_ATTR_STRING, .s = variant == MISS_REFLECT || variant == CONV_MISS_REFLECT ? "reflect" : "constant"};
  int p = tg_node(t, VITC_OP_Pad, in, in[2] < 0 ? 2 : 3, 1, &mode, 1);
  bool pool_padded = variant == FOLD_UNEVEN || variant == MISS_EXCLUDED || variant == CONV_UNEVEN;
  vitc_attr attrs[] = {
      {.name = "kernel_shape", .type = VITC_ATTR_INTS, .n = 2, .ints = (int64_t *)kernel},
      {.name = "strides", .type = VITC_ATTR_INTS, .n = 2, .ints = (int64_t *)strides},
      {.name = "ceil_mode", .type = VITC_ATTR_INT, .i = variant == MISS_CEIL},
      {.name = "count_include_pad", .type = VITC_ATTR_INT, .i = variant == FOLD_UNEVEN},
      {.name = "pads", .type = VITC_ATTR_INTS, .n = 4, .ints = (int64_t *)pool_pads},
  };
  int y;
  if (conv) { /* kernel_shape, strides and pads: a Conv has no ceil_mode or count_include_pad */
    vitc_attr conv_attrs[] = {attrs[0], attrs[1], attrs[4]};
    const int64_t wdims[] = {4, variant == CONV_MISS_CHANNELS ? 4 : 3, 3, 3}; /* the padded channel count */
    int cin[3] = {p, tg_const(t, VITC_F32, 4, wdims, 5), tg_const(t, VITC_F32, 1, bdims, 6)};
    y = tg_node(t, VITC_OP_Conv, cin, 3, 1, conv_attrs, pool_padded ? 3 : 2);
  } else {
    y = tg_node(t, VITC_OP_AveragePool, &p, 1, 1, attrs, pool_padded ? 5 : 4);
  }
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
      {"Conv: Pad of H and W by 0 and 1", CONV, 0},
      {"Conv: uneven Pad added to the conv's pads", CONV_UNEVEN, 0},
      {"Conv near miss: pad value 0.5", CONV_MISS_VALUE, 1},
      {"Conv near miss: reflect", CONV_MISS_REFLECT, 1},
      {"Conv near miss: channels padded", CONV_MISS_CHANNELS, 1},
  };
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    bool conv = cases[c].variant >= CONV;
    const fh_count want[] = {{VITC_OP_Pad, cases[c].pads_kept}, {VITC_OP_AveragePool, !conv}, {VITC_OP_Conv, conv}};
    vitc_graph *g = fh_check(cases[c].what, build, cases[c].variant, vitc_fold_pad_into_pool, want, 3);
    const vitc_node *pool = fh_find_op(g, VITC_OP_AveragePool);
    if (!cases[c].pads_kept && !conv) CHECK(pool && vitc_attr_int(pool, "count_include_pad", 0) == 1);
    if (cases[c].variant == CONV_UNEVEN) { /* Pad begins H 0, W 2, ends 1, 1; plus the conv's 1, 1, 0, 0 */
      int len = 0;
      const int64_t *q = vitc_attr_ints(fh_find_op(g, VITC_OP_Conv), "pads", &len);
      CHECK(q && len == 4 && q[0] == 1 && q[1] == 3 && q[2] == 1 && q[3] == 1);
    }
    vitc_graph_free(g);
  }
  CHECK_DONE();
}

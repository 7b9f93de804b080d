/* test_remove_no_ops.c — remove_identity on movement nodes that change nothing (a Pad of zeros, a Slice
 * of the whole range, a Reshape to the same dims, a Transpose of dims of 1, an Expand or Tile that adds
 * nothing) and their near misses, which keep the same dims but move elements, or change the dims.
 * Each case checks the histogram, the evaluator before/after the pass and the JIT (fusion_harness.h). */
#include "fusion_harness.h"

enum {
  PAD_ZEROS,
  SLICE_WHOLE,      /* ends past the dims, steps 1 */
  RESHAPE_SAME,
  TRANSPOSE_ONES,   /* [2, 1, 1, 5] perm [0, 2, 1, 3] */
  EXPAND_NOTHING,   /* to [1, 5] */
  TILE_ONCE,
  CONCAT_ONE,       /* Concat of a single input */
  MISS_PAD_ONE,     /* one pad of 1 */
  MISS_SLICE_REVERSED, /* the whole range with step -1: same dims, reversed */
  MISS_SLICE_SHORT, /* ends one short */
  MISS_RESHAPE,     /* [2, 3, 5] → [3, 2, 5] */
  MISS_TRANSPOSE,   /* [2, 3, 3] perm [0, 2, 1]: same dims, moved */
  MISS_TILE,        /* repeats [1, 2, 1] */
  MISS_GRAPH_OUTPUT, /* a no-op Reshape whose output is the graph's */
};

static int ints(test_graph *t, int n, const int64_t *v) {
  vitc_value val = {.dtype = VITC_I64, .rank = 1, .dims = {n}, .data = (void *)v};
  return vitc_graph_add_constant(t->g, NULL, &val);
}

static void build(test_graph *t, int variant) {
  const int64_t dims[] = {2, 3, variant == MISS_TRANSPOSE ? 3 : 5}, ones[] = {2, 1, 1, 5};
  bool transpose_ones = variant == TRANSPOSE_ONES;
  int x = tg_input(t, VITC_F32, transpose_ones ? 4 : 3, transpose_ones ? ones : dims), y = -1;
  static int64_t swap_ones[] = {0, 2, 1, 3}, swap_last[] = {0, 2, 1}; /* the graph keeps the pointers */
  const int64_t zeros[6] = {0}, pad_one[6] = {0, 0, 1, 0, 0, 0}, starts[] = {0, 0, 0}, whole[] = {9, 9, 9},
                short_end[] = {2, 3, 4}, rstart[] = {-1, -1, -1}, rend[] = {INT64_MIN, INT64_MIN, INT64_MIN},
                axes[] = {0, 1, 2}, step1[] = {1, 1, 1}, stepm1[] = {-1, -1, -1}, same[] = {2, 3, 5},
                other[] = {3, 2, 5}, row[] = {1, 5}, once[] = {1, 1, 1}, twice[] = {1, 2, 1};
  vitc_attr perm = {.name = "perm", .type = VITC_ATTR_INTS, .n = transpose_ones ? 4 : 3,
                    .ints = transpose_ones ? swap_ones : swap_last};
  vitc_attr axis = {.name = "axis", .type = VITC_ATTR_INT, .i = 1};
  switch (variant) {
  case PAD_ZEROS: case MISS_PAD_ONE:
    y = fh_op(t, VITC_OP_Pad, x, ints(t, 6, variant == PAD_ZEROS ? zeros : pad_one));
    break;
  case SLICE_WHOLE: case MISS_SLICE_REVERSED: case MISS_SLICE_SHORT: {
    bool rev = variant == MISS_SLICE_REVERSED;
    int in[5] = {x, ints(t, 3, rev ? rstart : starts), ints(t, 3, rev ? rend : variant == SLICE_WHOLE ? whole : short_end),
                 ints(t, 3, axes), ints(t, 3, rev ? stepm1 : step1)};
    y = tg_node(t, VITC_OP_Slice, in, 5, 1, NULL, 0);
    break;
  }
  case RESHAPE_SAME: case MISS_GRAPH_OUTPUT: case MISS_RESHAPE:
    y = fh_op(t, VITC_OP_Reshape, x, ints(t, 3, variant == MISS_RESHAPE ? other : same));
    break;
  case TRANSPOSE_ONES: case MISS_TRANSPOSE:
    y = tg_node(t, VITC_OP_Transpose, &x, 1, 1, &perm, 1);
    break;
  case EXPAND_NOTHING:
    y = fh_op(t, VITC_OP_Expand, x, ints(t, 2, row));
    break;
  case TILE_ONCE: case MISS_TILE:
    y = fh_op(t, VITC_OP_Tile, x, ints(t, 3, variant == TILE_ONCE ? once : twice));
    break;
  case CONCAT_ONE:
    y = tg_node(t, VITC_OP_Concat, &x, 1, 1, &axis, 1);
    break;
  }
  tg_output(t, variant == MISS_GRAPH_OUTPUT ? y : fh_op(t, VITC_OP_Relu, y, -1));
}

int main(void) {
  static const struct {
    const char *what;
    int variant;
    vitc_op op;
    int kept;
  } cases[] = {
      {"Pad of zeros", PAD_ZEROS, VITC_OP_Pad, 0},
      {"Slice of the whole range", SLICE_WHOLE, VITC_OP_Slice, 0},
      {"Reshape to the same dims", RESHAPE_SAME, VITC_OP_Reshape, 0},
      {"Transpose of dims of 1", TRANSPOSE_ONES, VITC_OP_Transpose, 0},
      {"Expand adding nothing", EXPAND_NOTHING, VITC_OP_Expand, 0},
      {"Tile once", TILE_ONCE, VITC_OP_Tile, 0},
      {"Concat of one input", CONCAT_ONE, VITC_OP_Concat, 0},
      {"near miss: Pad of one", MISS_PAD_ONE, VITC_OP_Pad, 1},
      {"near miss: reversing Slice", MISS_SLICE_REVERSED, VITC_OP_Slice, 1},
      {"near miss: Slice one short", MISS_SLICE_SHORT, VITC_OP_Slice, 1},
      {"near miss: Reshape regrouping", MISS_RESHAPE, VITC_OP_Reshape, 1},
      {"near miss: Transpose of equal dims", MISS_TRANSPOSE, VITC_OP_Transpose, 1},
      {"near miss: Tile twice", MISS_TILE, VITC_OP_Tile, 1},
      {"near miss: graph output", MISS_GRAPH_OUTPUT, VITC_OP_Reshape, 1},
  };
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    const fh_count want[] = {{cases[c].op, cases[c].kept}};
    vitc_graph_free(fh_check(cases[c].what, build, cases[c].variant, vitc_remove_identity, want, 1));
  }
  CHECK_DONE();
}

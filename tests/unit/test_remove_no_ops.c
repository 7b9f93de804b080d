/* test_remove_no_ops.c — remove_identity on movement nodes that change nothing (a Pad of zeros, a Slice
 * of the whole range, a Reshape to the same dims, a Transpose of dims of 1, an Expand or Tile that adds
 * nothing) and their near misses, which keep the same dims but move elements, or change the dims; and
 * arithmetic with a neutral operand (x·1, 1·x, x/1, x − 0) and its near misses (x + 0, 0 − x, a non-uniform
 * or broadcasting operand).
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
  MUL_ONE,          /* Mul(x, [1, 5] of ones) */
  ONE_MUL,          /* Mul(1, x) */
  DIV_ONE,          /* Div(x, 1) */
  SUB_ZERO,         /* Sub(x, 0) */
  MISS_ADD_ZERO,    /* Add(x, 0): -0 + 0 is +0 */
  MISS_ZERO_SUB,    /* Sub(0, x) = -x */
  MISS_MUL_ONES_TWO, /* Mul(x, [1, 2]): not one number */
  MISS_MUL_BROADCAST, /* Mul(x [2, 3, 5], ones [4, 2, 3, 5]): the output is larger than x */
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
  default: { /* an arithmetic op of x and a known operand */
    static const float one[] = {1, 1, 1, 1, 1}, zero[] = {0}, one_two[] = {1, 1, 1, 1, 2};
    static const struct { int variant; vitc_op op; bool first; const float *c; int rank; int64_t dims[3]; } ar[] = {
        {MUL_ONE, VITC_OP_Mul, false, one, 2, {1, 5}},     {ONE_MUL, VITC_OP_Mul, true, one, 0, {0}},
        {DIV_ONE, VITC_OP_Div, false, one, 0, {0}},        {SUB_ZERO, VITC_OP_Sub, false, zero, 0, {0}},
        {MISS_ADD_ZERO, VITC_OP_Add, false, zero, 0, {0}}, {MISS_ZERO_SUB, VITC_OP_Sub, true, zero, 0, {0}},
        {MISS_MUL_ONES_TWO, VITC_OP_Mul, false, one_two, 2, {1, 5}}};
    if (variant == MISS_MUL_BROADCAST) { /* x [2, 3, 5] · ones [4, 2, 3, 5] */
      static float ones[120];
      for (int i = 0; i < 120; i++) ones[i] = 1;
      vitc_value v = {.dtype = VITC_F32, .rank = 4, .dims = {4, 2, 3, 5}, .data = ones};
      y = fh_op(t, VITC_OP_Mul, x, vitc_graph_add_constant(t->g, NULL, &v));
      break;
    }
    for (size_t i = 0; i < sizeof ar / sizeof *ar; i++)
      if (ar[i].variant == variant) {
        vitc_value v = {.dtype = VITC_F32, .rank = ar[i].rank, .data = (void *)ar[i].c};
        memcpy(v.dims, ar[i].dims, sizeof ar[i].dims);
        int c = vitc_graph_add_constant(t->g, NULL, &v);
        y = ar[i].first ? fh_op(t, ar[i].op, c, x) : fh_op(t, ar[i].op, x, c);
      }
    break;
  }
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
      {"Mul by ones", MUL_ONE, VITC_OP_Mul, 0},
      {"Mul of 1 by x", ONE_MUL, VITC_OP_Mul, 0},
      {"Div by 1", DIV_ONE, VITC_OP_Div, 0},
      {"Sub of 0", SUB_ZERO, VITC_OP_Sub, 0},
      {"near miss: Add of 0", MISS_ADD_ZERO, VITC_OP_Add, 1},
      {"near miss: 0 - x", MISS_ZERO_SUB, VITC_OP_Sub, 1},
      {"near miss: Mul by ones and a 2", MISS_MUL_ONES_TWO, VITC_OP_Mul, 1},
      {"near miss: Mul by 1 broadcasting x", MISS_MUL_BROADCAST, VITC_OP_Mul, 1},
  };
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    const fh_count want[] = {{cases[c].op, cases[c].kept}};
    vitc_graph_free(fh_check(cases[c].what, build, cases[c].variant, vitc_remove_identity, want, 1));
  }
  CHECK_DONE();
}

/* test_fusion_partitions.c — absorb_partitions through the whole pipeline, on MaxViT's block and grid
 * attention in miniature (torchvision's WindowPartition, SwapAxes, einsum attention with a relative-
 * position bias, WindowDepartition) over a channels-first 6×6 image of 8 channels, partition 2: the
 * block attention has 9 windows of 4 pixels, the grid attention 9 cells of 4 pixels 3 apart (the two
 * orders differ). After the passes one Transpose enters the image's rows and one leaves; the Attention
 * reads the windows through its maps. Near misses keep the partitions: a reverse that is not the
 * partition's inverse (it swaps H and W), a node mixing rows inside the block, a block tensor that is a
 * graph output. Each case checks the histogram, the evaluator before/after and the JIT (fusion_harness.h). */
#include "fusion_harness.h"

enum { C = 8, S = 6, P = 2, HEADS = 2, D = C / HEADS };
enum { BLOCK, GRID, MISS_NOT_INVERSE, MISS_ROW_MIXING, MISS_OUTPUT };

static int shape(test_graph *t, int rank, const int64_t *dims) {
  vitc_value v = {.dtype = VITC_I64, .rank = 1, .dims = {rank}, .data = (void *)dims};
  return vitc_graph_add_constant(t->g, NULL, &v);
}

static int reshape(test_graph *t, int x, int rank, const int64_t *dims) {
  return fh_op(t, VITC_OP_Reshape, x, shape(t, rank, dims));
}

static int transpose(test_graph *t, int x, int rank, int64_t *perm) {
  vitc_attr a = {.name = "perm", .type = VITC_ATTR_INTS, .n = rank, .ints = perm};
  return tg_node(t, VITC_OP_Transpose, &x, 1, 1, &a, 1);
}

/* torchvision's WindowPartition(x [1, C, S, S], p): [1, (S/p)², p², C]. */
static int partition(test_graph *t, int x, int64_t p) {
  static int64_t perm[] = {0, 2, 4, 3, 5, 1};
  const int64_t split[] = {1, C, S / p, p, S / p, p}, rows[] = {1, (S / p) * (S / p), p * p, C};
  return reshape(t, transpose(t, reshape(t, x, 6, split), 6, perm), 4, rows);
}

/* torchvision's WindowDepartition(x, p, gh, gw): [1, C, gh·p, gw·p]; `wrong` swaps H and W. */
static int departition(test_graph *t, int x, int64_t p, int64_t g, bool wrong) {
  static int64_t perm[] = {0, 5, 1, 3, 2, 4}, swapped[] = {0, 5, 2, 4, 1, 3};
  const int64_t split[] = {1, g, g, p, p, C}, image[] = {1, C, S, S};
  return reshape(t, transpose(t, reshape(t, x, 6, split), 6, wrong ? swapped : perm), 4, image);
}

static int swap_axes(test_graph *t, int x) {
  static int64_t perm[] = {0, 2, 1, 3};
  return transpose(t, x, 4, perm);
}

static int layer_norm(test_graph *t, int x) {
  const int64_t c[] = {C};
  int in[3] = {x, tg_const(t, VITC_F32, 1, c, 11), tg_const(t, VITC_F32, 1, c, 12)};
  vitc_attr axis = {.name = "axis", .type = VITC_ATTR_INT, .i = -1};
  return tg_node(t, VITC_OP_LayerNormalization, in, 3, 1, &axis, 1);
}

static int linear(test_graph *t, int x, int64_t in, int64_t out, unsigned seed) {
  const int64_t w[] = {in, out}, b[] = {out};
  return fh_op(t, VITC_OP_Add, fh_op(t, VITC_OP_MatMul, x, tg_const(t, VITC_F32, 2, w, seed)),
               tg_const(t, VITC_F32, 1, b, seed + 1));
}

static int einsum(test_graph *t, int a, int b, const char *equation) {
  int in[2] = {a, b};
  vitc_attr eq = {.name = "equation", .type = VITC_ATTR_STRING, .s = equation};
  return tg_node(t, VITC_OP_Einsum, in, 2, 1, &eq, 1);
}

/* RelativePositionalMultiHeadAttention on x [1, G, N, C]. */
static int attention(test_graph *t, int x, int64_t g, int64_t n) {
  static int64_t heads_first[] = {0, 1, 3, 2, 4};
  const int64_t split[] = {1, g, n, HEADS, D}, merged[] = {1, g, n, C}, bias[] = {1, HEADS, n, n};
  int qkv = linear(t, x, C, 3 * C, 21), part[3];
  for (int k = 0; k < 3; k++) {
    const int64_t starts[] = {k * C}, ends[] = {(k + 1) * C}, axes[] = {-1};
    int in[4] = {qkv, shape(t, 1, starts), shape(t, 1, ends), shape(t, 1, axes)};
    part[k] = transpose(t, reshape(t, tg_node(t, VITC_OP_Slice, in, 4, 1, NULL, 0), 5, split), 5, heads_first);
  }
  vitc_value scale = {.dtype = VITC_F32, .rank = 0, .data = &(float){0.5f}};
  int k = fh_op(t, VITC_OP_Mul, part[1], vitc_graph_add_constant(t->g, NULL, &scale));
  int s = fh_op(t, VITC_OP_Add, einsum(t, part[0], k, "B G H I D, B G H J D -> B G H I J"),
                tg_const(t, VITC_F32, 4, bias, 23));
  vitc_attr axis = {.name = "axis", .type = VITC_ATTR_INT, .i = -1};
  int p = tg_node(t, VITC_OP_Softmax, &s, 1, 1, &axis, 1);
  int y = transpose(t, einsum(t, p, part[2], "B G H I J, B G H J D -> B G H I D"), 5, heads_first);
  return linear(t, reshape(t, y, 4, merged), C, C, 25);
}

static void build(test_graph *t, int variant) {
  const int64_t image[] = {1, C, S, S}, per_channel[] = {C, 1, 1};
  bool grid = variant == GRID;
  int64_t g = (S / P) * (S / P), n = P * P;
  int x = tg_input(t, VITC_F32, 4, image);
  int xp = grid ? swap_axes(t, partition(t, x, S / P)) : partition(t, x, P);
  int a = fh_op(t, VITC_OP_Add, xp, attention(t, layer_norm(t, xp), g, n));
  if (variant == MISS_ROW_MIXING) { /* a mean over the window's pixels: rows meet */
    const int64_t axes[] = {2};
    int in[2] = {a, shape(t, 1, axes)};
    a = fh_op(t, VITC_OP_Add, a, tg_node(t, VITC_OP_ReduceMean, in, 2, 1, NULL, 0));
  }
  int h = fh_op(t, VITC_OP_Relu, linear(t, layer_norm(t, a), C, 2 * C, 31), -1);
  int b = fh_op(t, VITC_OP_Add, a, linear(t, h, 2 * C, C, 33));
  if (variant == MISS_OUTPUT) tg_output(t, a);
  int y = grid ? departition(t, swap_axes(t, b), S / P, P, false) : departition(t, b, P, S / P, variant == MISS_NOT_INVERSE);
  tg_output(t, fh_op(t, VITC_OP_Add, y, tg_const(t, VITC_F32, 3, per_channel, 41)));
}

/* The pipeline but merge_row_views, which would merge some of the views the near misses keep (its own
 * test covers it): the counts below are what absorb_partitions leaves. */
static vitc_status pipeline(vitc_graph *g, vitc_error *err) {
  static const char *const off[] = {"merge_row_views"};
  static const vitc_pass_options opts = {.opt_level = 2, .verify_each = true, .disabled = off, .ndisabled = 1};
  return vitc_run_passes(g, &opts, err);
}

int main(void) {
  const fh_count absorbed[] = {{VITC_OP_Attention, 1}, {VITC_OP_Transpose, 2}, {VITC_OP_Reshape, 0},
                               {VITC_OP_Slice, 0}, {VITC_OP_Softmax, 0}};
  vitc_graph_free(fh_check("block attention", build, BLOCK, pipeline, absorbed, 5));
  vitc_graph_free(fh_check("grid attention", build, GRID, pipeline, absorbed, 5));
  const fh_count kept[] = {{VITC_OP_Attention, 1}, {VITC_OP_Reshape, 4}};
  vitc_graph_free(fh_check("reverse not the inverse", build, MISS_NOT_INVERSE, pipeline, kept, 2));
  vitc_graph_free(fh_check("rows mixed in the block", build, MISS_ROW_MIXING, pipeline, kept, 2));
  vitc_graph_free(fh_check("block tensor a graph output", build, MISS_OUTPUT, pipeline, kept, 2));
  CHECK_DONE();
}

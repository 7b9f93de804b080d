/* test_batch_choice.c — the driver's choice between folding a batch into the rows and running the
 * batch-1 graph image by image (api/driver.c): which graphs are separable by image, on tiny graphs built
 * at batch 1 and 3 with the near misses that mix the images (a Softmax or Concat over the batch, a mean
 * over it, batch statistics, a view that reorders images, ops on indices that keep the batch's shape but
 * flip, repeat, gather, shift or accumulate along it), and the rows-per-image rule. */
#include "api/driver.h"
#include "check.h"
#include "graph_inputs.h"

enum { IMAGES = 3, E = 8 };

typedef enum shape_kind {
  ROWS,            /* x·W, Softmax over the last axis: per image */
  INTERLEAVED,     /* torchvision's attention: [N,L,E] -> [L,N,E] -> [L·N,E] · W + b -> [L,N,E] -> [N,L,E] */
  SOFTMAX_BATCH,   /* Softmax over axis 0 */
  MEAN_BATCH,      /* x - mean over the batch */
  BATCHNORM_TRAIN, /* BatchNormalization with training_mode=1 */
  CONCAT_BATCH,    /* Concat(x, x) over axis 0, back to N images by a Reshape */
  SHUFFLE,         /* [N,L,E] -> [L,N,E] -> [L·N,E] viewed as [N,L,E]: images reordered by a view */
  SLICE_ROWS,      /* Slice axes [0,1]: the batch whole (0 to INT64_MAX, step 1), rows 1.. */
  SLICE_FLIP,      /* Slice axis 0 with step -1: the images in reverse order */
  TILE_ROWS,       /* Tile repeats [1,2,1]: each image's rows twice */
  TILE_BATCH,      /* Tile repeats [2,1,1]: the whole batch twice, not each image twice in place */
  CUMSUM_BATCH,    /* CumSum over axis 0 (an input): running sums across the images */
  GATHER_ROWS,     /* Gather axis 1, rows [1,0] */
  GATHER_BATCH,    /* Gather without an axis attribute (axis 0) at N-1..0 (sliced from 7..0): images reversed */
  GATHER_LAST_ROW, /* Gather axis 1 at index N-1: a batch-specific index, another row at batch 1 */
  PAD_SHIFT,       /* Pad axis 0 by [1, -1]: every image moved to the next */
  MVN_DEFAULT,     /* MeanVarianceNormalization with its default axes [0,2,3]: statistics over the batch */
  SCALE_BY_BATCH,  /* x · Cast(Shape(x)[0]): a parameter computed from the batch size, 1 at batch 1 */
  PER_IMAGE_PARAM, /* x + the last N of a constant [8] (Slice sized by the batch), expanded: another per image */
} shape_kind;

static int add_i64s(vitc_graph *g, const char *name, int64_t len, const int64_t *vals) {
  vitc_value v = {.dtype = VITC_I64, .rank = 1, .dims = {len}, .data = (void *)vals};
  return vitc_graph_add_constant(g, name, &v);
}

static int add_i64(vitc_graph *g, const char *name, int64_t v) { return add_i64s(g, name, 1, (int64_t[]){v}); }

static vitc_attr int_attr(const char *name, int64_t i) { return (vitc_attr){.name = name, .type = VITC_ATTR_INT, .i = i}; }
static vitc_attr ints_attr(const char *name, int n, int64_t *v) {
  return (vitc_attr){.name = name, .type = VITC_ATTR_INTS, .ints = v, .n = n};
}

/* Input x f32[batch, rows, E] (batch symbolic, here bound to n), shapes inferred. */
static vitc_graph *build(shape_kind kind, int64_t n, int64_t rows) {
  static float w[E * E], scale[E], bias[E];
  static int64_t perm[] = {1, 0, 2};
  static const int64_t axes0[] = {0};
  vitc_graph *g = vitc_graph_new("batch.onnx");
  g->opset = 17;
  int x = add_input(g, "x", VITC_F32, 3, (int64_t[]){n, rows, E}), y = x;
  g->tensors[x].dim_param[0] = "batch";
  vitc_value wv = {.dtype = VITC_F32, .rank = 2, .dims = {E, E}, .data = w};
  int wt = vitc_graph_add_constant(g, "w", &wv);
  switch (kind) {
  case ROWS:
    y = add_node(g, VITC_OP_MatMul, "mm", (int[]){x, wt}, 2, NULL, 0);
    y = add_node(g, VITC_OP_Softmax, "softmax", &y, 1, (vitc_attr[]){int_attr("axis", -1)}, 1);
    break;
  case INTERLEAVED:
  case SHUFFLE: {
    static int64_t flat[2], back[3], again[3];
    flat[0] = rows * n, flat[1] = E;
    back[0] = rows, back[1] = n, back[2] = E;
    again[0] = n, again[1] = rows, again[2] = E;
    y = add_node(g, VITC_OP_Transpose, "t", &x, 1, (vitc_attr[]){ints_attr("perm", 3, perm)}, 1);
    y = add_node(g, VITC_OP_Reshape, "flat", (int[]){y, add_i64s(g, "flat_shape", 2, flat)}, 2, NULL, 0);
    if (kind == SHUFFLE) {
      y = add_node(g, VITC_OP_Reshape, "again", (int[]){y, add_i64s(g, "again_shape", 3, again)}, 2, NULL, 0);
      break;
    }
    y = add_node(g, VITC_OP_MatMul, "mm", (int[]){y, wt}, 2, NULL, 0);
    vitc_value bv = {.dtype = VITC_F32, .rank = 1, .dims = {E}, .data = bias}; /* the images second */
    y = add_node(g, VITC_OP_Add, "bias", (int[]){vitc_graph_add_constant(g, "b", &bv), y}, 2, NULL, 0);
    y = add_node(g, VITC_OP_Reshape, "back", (int[]){y, add_i64s(g, "back_shape", 3, back)}, 2, NULL, 0);
    y = add_node(g, VITC_OP_Transpose, "t2", &y, 1, (vitc_attr[]){ints_attr("perm", 3, perm)}, 1);
    break;
  }
  case SOFTMAX_BATCH:
    y = add_node(g, VITC_OP_Softmax, "softmax", &x, 1, (vitc_attr[]){int_attr("axis", 0)}, 1);
    break;
  case MEAN_BATCH: {
    int m = add_node(g, VITC_OP_ReduceMean, "mean", (int[]){x, add_i64s(g, "axes", 1, axes0)}, 2,
                     (vitc_attr[]){int_attr("keepdims", 1)}, 1);
    y = add_node(g, VITC_OP_Sub, "centre", (int[]){x, m}, 2, NULL, 0);
    break;
  }
  case BATCHNORM_TRAIN: {
    vitc_value pv = {.dtype = VITC_F32, .rank = 1, .dims = {rows}, .data = scale}, bv = pv;
    bv.data = bias;
    int s = vitc_graph_add_constant(g, "scale", &pv), b = vitc_graph_add_constant(g, "bias", &bv);
    y = add_node(g, VITC_OP_BatchNormalization, "bn", (int[]){x, s, b, b, s}, 5, (vitc_attr[]){int_attr("training_mode", 1)}, 1);
    break;
  }
  case CONCAT_BATCH: {
    static int64_t shape[3];
    shape[0] = n, shape[1] = 2 * rows, shape[2] = E;
    y = add_node(g, VITC_OP_Concat, "cat", (int[]){x, x}, 2, (vitc_attr[]){int_attr("axis", 0)}, 1);
    y = add_node(g, VITC_OP_Reshape, "fold", (int[]){y, add_i64s(g, "fold_shape", 3, shape)}, 2, NULL, 0);
    break;
  }
  case SLICE_ROWS:
  case SLICE_FLIP: {
    static const int64_t rows_starts[] = {0, 1}, rows_ends[] = {INT64_MAX, INT64_MAX}, rows_axes[] = {0, 1};
    bool flip = kind == SLICE_FLIP;
    int in[] = {x, flip ? add_i64(g, "starts", -1) : add_i64s(g, "starts", 2, rows_starts),
                flip ? add_i64(g, "ends", INT64_MIN) : add_i64s(g, "ends", 2, rows_ends),
                flip ? add_i64(g, "axes", 0) : add_i64s(g, "axes", 2, rows_axes),
                flip ? add_i64(g, "steps", -1) : add_i64s(g, "steps", 2, (int64_t[]){1, 1})};
    y = add_node(g, VITC_OP_Slice, "slice", in, 5, NULL, 0);
    break;
  }
  case TILE_ROWS:
  case TILE_BATCH: {
    static const int64_t rows_twice[] = {1, 2, 1}, batch_twice[] = {2, 1, 1};
    y = add_node(g, VITC_OP_Tile, "tile", (int[]){x, add_i64s(g, "repeats", 3, kind == TILE_ROWS ? rows_twice : batch_twice)},
                 2, NULL, 0);
    break;
  }
  case CUMSUM_BATCH:
    y = add_node(g, VITC_OP_CumSum, "cumsum", (int[]){x, add_i64s(g, "axis", 1, axes0)}, 2, NULL, 0);
    break;
  case GATHER_ROWS:
  case GATHER_BATCH:
  case GATHER_LAST_ROW: {
    /* the batch's indices reversed: the last N of 7..0, their shape following the batch */
    static const int64_t down[] = {7, 6, 5, 4, 3, 2, 1, 0};
    int idx = kind == GATHER_ROWS ? add_i64s(g, "idx", 2, (int64_t[]){1, 0}) : add_i64(g, "idx", n - 1);
    if (kind == GATHER_BATCH)
      idx = add_node(g, VITC_OP_Slice, "last_n", (int[]){add_i64s(g, "down", 8, down), add_i64(g, "starts", 8 - n), add_i64(g, "ends", 8)},
                     3, NULL, 0);
    vitc_attr axis1 = int_attr("axis", 1);
    y = add_node(g, VITC_OP_Gather, "gather", (int[]){x, idx}, 2, kind == GATHER_BATCH ? NULL : &axis1, kind != GATHER_BATCH);
    break;
  }
  case PAD_SHIFT: {
    static const int64_t pads[] = {1, 0, 0, -1, 0, 0};
    y = add_node(g, VITC_OP_Pad, "pad", (int[]){x, add_i64s(g, "pads", 6, pads)}, 2, NULL, 0);
    break;
  }
  case MVN_DEFAULT: { /* on [N,L,E,1] */
    y = add_node(g, VITC_OP_Unsqueeze, "nchw", (int[]){x, add_i64(g, "last", 3)}, 2, NULL, 0);
    y = add_node(g, VITC_OP_MeanVarianceNormalization, "mvn", &y, 1, NULL, 0);
    y = add_node(g, VITC_OP_Squeeze, "back", (int[]){y, add_i64(g, "last_again", 3)}, 2, NULL, 0);
    break;
  }
  case SCALE_BY_BATCH: {
    int shape = add_node(g, VITC_OP_Shape, "shape", &x, 1, NULL, 0);
    int batch = add_node(g, VITC_OP_Gather, "batch", (int[]){shape, add_i64(g, "zero", 0)}, 2, NULL, 0);
    int scale = add_node(g, VITC_OP_Cast, "scale", &batch, 1, (vitc_attr[]){int_attr("to", VITC_F32)}, 1);
    y = add_node(g, VITC_OP_Mul, "scaled", (int[]){x, scale}, 2, NULL, 0);
    break;
  }
  case PER_IMAGE_PARAM: {
    static const float eight[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    vitc_value ev = {.dtype = VITC_F32, .rank = 1, .dims = {8}, .data = (void *)eight};
    int p = add_node(g, VITC_OP_Slice, "last_n", (int[]){vitc_graph_add_constant(g, "eight", &ev), add_i64(g, "starts", 8 - n), add_i64(g, "ends", 8)},
                     3, NULL, 0);
    p = add_node(g, VITC_OP_Unsqueeze, "column", (int[]){p, add_i64s(g, "axes12", 2, (int64_t[]){1, 2})}, 2, NULL, 0);
    p = add_node(g, VITC_OP_Expand, "like_x", (int[]){p, add_i64s(g, "x_shape", 3, (int64_t[]){n, rows, E})}, 2, NULL, 0);
    y = add_node(g, VITC_OP_Add, "shifted", (int[]){x, p}, 2, NULL, 0);
    break;
  }
  }
  set_outputs(g, &y, 1);
  vitc_pass_options o = {.opt_level = VITC_OPT_REQUIRED};
  vitc_error err = {0};
  if (vitc_run_passes(g, &o, &err) != VITC_OK) fprintf(stderr, "passes: %s\n", err.msg);
  return g;
}

static bool separable(shape_kind kind, int64_t rows) {
  vitc_graph *g1 = build(kind, 1, rows), *gn = build(kind, IMAGES, rows);
  bool s = vitc_graph_separable_by_image(g1, gn, IMAGES);
  CHECK(!vitc_graph_separable_by_image(g1, g1, 1)); /* one image has nothing to separate */
  vitc_graph_free(g1);
  vitc_graph_free(gn);
  return s;
}

static bool rows_suffice(shape_kind kind, int64_t rows) {
  vitc_graph *g1 = build(kind, 1, rows);
  bool s = vitc_graph_rows_per_image_suffice(g1);
  vitc_graph_free(g1);
  return s;
}

int main(void) {
  CHECK(separable(ROWS, 4));
  CHECK(separable(INTERLEAVED, 4));
  CHECK(!separable(SOFTMAX_BATCH, 4));
  CHECK(!separable(MEAN_BATCH, 4));
  CHECK(!separable(BATCHNORM_TRAIN, 4));
  CHECK(!separable(CONCAT_BATCH, 4));
  CHECK(!separable(SHUFFLE, 4));
  /* ops on indices: only those that leave the batch axis alone */
  CHECK(separable(SLICE_ROWS, 4));
  CHECK(!separable(SLICE_FLIP, 4));
  CHECK(separable(TILE_ROWS, 4));
  CHECK(!separable(TILE_BATCH, 4));
  CHECK(!separable(CUMSUM_BATCH, 4));
  CHECK(separable(GATHER_ROWS, 4));
  CHECK(!separable(GATHER_BATCH, 4));
  CHECK(!separable(GATHER_LAST_ROW, 4));
  CHECK(!separable(PAD_SHIFT, 4));
  CHECK(!separable(MVN_DEFAULT, 4));
  /* parameters that differ between batch 1 and N */
  CHECK(!separable(SCALE_BY_BATCH, 4));
  CHECK(!separable(PER_IMAGE_PARAM, 4));
  /* rows per image: ViT-B/16's 197 tokens suffice, ViT-B/32's 50 do not; no product: nothing to gain */
  CHECK(rows_suffice(ROWS, 197));
  CHECK(rows_suffice(INTERLEAVED, 192));
  CHECK(!rows_suffice(ROWS, 191));
  CHECK(!rows_suffice(ROWS, 50));
  CHECK(!rows_suffice(SOFTMAX_BATCH, 400));
  CHECK_DONE();
}

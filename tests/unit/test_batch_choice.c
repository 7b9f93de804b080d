/* test_batch_choice.c — the driver's choice between folding a batch into the rows and running the
 * batch-1 graph image by image (api/driver.c): which graphs are separable by image, on tiny graphs built
 * at batch 1 and 3 with the near misses that mix the images (a Softmax or Concat over the batch, a mean
 * over it, batch statistics, a view that reorders images), and the rows-per-image rule. */
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
} shape_kind;

static int add_i64s(vitc_graph *g, const char *name, int64_t len, const int64_t *vals) {
  vitc_value v = {.dtype = VITC_I64, .rank = 1, .dims = {len}, .data = (void *)vals};
  return vitc_graph_add_constant(g, name, &v);
}

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
  /* rows per image: ViT-B/16's 197 tokens suffice, ViT-B/32's 50 do not; no product: nothing to gain */
  CHECK(rows_suffice(ROWS, 197));
  CHECK(rows_suffice(INTERLEAVED, 192));
  CHECK(!rows_suffice(ROWS, 191));
  CHECK(!rows_suffice(ROWS, 50));
  CHECK(!rows_suffice(SOFTMAX_BATCH, 400));
  CHECK_DONE();
}

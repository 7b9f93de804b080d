/* test_eval.c — the evaluator driver (ir/eval.c): a small graph against hand-computed numbers,
 * outputs that are inputs or constants, and errors that name the node. Run under the sanitizer build
 * (VITC_SANITIZE=ON) it also shows that intermediates are freed after their last use. */
#include <stdlib.h>

#include "check.h"
#include "graph_inputs.h"

static int add_f32(vitc_graph *g, const char *name, int rank, const int64_t *dims, float *vals) {
  vitc_value v = {.dtype = VITC_F32, .rank = rank, .data = vals};
  for (int d = 0; d < rank; d++) v.dims[d] = dims[d];
  return vitc_graph_add_constant(g, name, &v);
}

/* y = Relu(x * w + b) with x f32[2,3], w f32[3], b f32[1]; also outputs x itself and the constant w. */
static void test_three_nodes(void) {
  vitc_graph *g = vitc_graph_new("three.onnx");
  int64_t xd[] = {2, 3}, wd[] = {3}, bd[] = {1};
  float w[] = {1.0f, -2.0f, 0.5f}, b[] = {-1.0f};
  int x = add_input(g, "x", VITC_F32, 2, xd);
  int wt = add_f32(g, "w", 1, wd, w), bt = add_f32(g, "b", 1, bd, b);
  int m = add_node(g, VITC_OP_Mul, "mul0", (int[]){x, wt}, 2, NULL, 0);
  int a = add_node(g, VITC_OP_Add, "add0", (int[]){m, bt}, 2, NULL, 0);
  int y = add_node(g, VITC_OP_Relu, "relu0", (int[]){a}, 1, NULL, 0);
  set_outputs(g, (int[]){y, x, wt}, 3);

  float xv[] = {1, 2, 3, -4, -0.5f, 8};
  vitc_value in = {.dtype = VITC_F32, .rank = 2, .dims = {2, 3}, .data = xv};
  vitc_value out[3];
  vitc_error err = {0};
  vitc_status st = vitc_eval_graph(g, &in, out, &err);
  CHECK(st == VITC_OK);
  if (st != VITC_OK) fprintf(stderr, "%s\n", err.msg);
  else {
    /* x*w = [1,-4,1.5,-4,1,4]; +b = [0,-5,0.5,-5,0,3]; relu */
    const float want[] = {0, 0, 0.5f, 0, 0, 3};
    CHECK(out[0].rank == 2 && out[0].dims[0] == 2 && out[0].dims[1] == 3 && out[0].dtype == VITC_F32);
    for (int i = 0; i < 6; i++) CHECK_NEAR(((float *)out[0].data)[i], want[i], 0);
    CHECK(out[1].data != xv); /* outputs are the caller's own copies */
    for (int i = 0; i < 6; i++) CHECK_NEAR(((float *)out[1].data)[i], xv[i], 0);
    CHECK(out[2].rank == 1 && out[2].dims[0] == 3);
    for (int i = 0; i < 3; i++) CHECK_NEAR(((float *)out[2].data)[i], w[i], 0);
    for (int k = 0; k < 3; k++) free(out[k].data);
  }
  vitc_graph_free(g);
}

/* One tensor that is two outputs gets two buffers (freeing both must be safe). */
static void test_output_twice(void) {
  vitc_graph *g = vitc_graph_new("twice.onnx");
  int64_t d[] = {2};
  int x = add_input(g, "x", VITC_F32, 1, d);
  int y = add_node(g, VITC_OP_Add, "add0", (int[]){x, x}, 2, NULL, 0);
  set_outputs(g, (int[]){y, y}, 2);
  float xv[] = {1.5f, -2};
  vitc_value in = {.dtype = VITC_F32, .rank = 1, .dims = {2}, .data = xv};
  vitc_value out[2];
  vitc_error err = {0};
  CHECK(vitc_eval_graph(g, &in, out, &err) == VITC_OK);
  CHECK(out[0].data && out[1].data && out[0].data != out[1].data);
  if (out[0].data && out[1].data) {
    CHECK_NEAR(((float *)out[1].data)[0], 3.0, 0);
    CHECK_NEAR(((float *)out[1].data)[1], -4.0, 0);
  }
  free(out[0].data);
  free(out[1].data);
  vitc_graph_free(g);
}

/* A failing node reports the file, its name and its op; no output is left allocated. */
static void test_error_names_node(void) {
  vitc_graph *g = vitc_graph_new("bad.onnx");
  int64_t xd[] = {2, 3}, cd[] = {4};
  float c[] = {1, 2, 3, 4};
  int x = add_input(g, "x", VITC_F32, 2, xd);
  int ct = add_f32(g, "c", 1, cd, c);
  int r = add_node(g, VITC_OP_Relu, "relu0", (int[]){x}, 1, NULL, 0);
  int y = add_node(g, VITC_OP_Add, "bad_add", (int[]){r, ct}, 2, NULL, 0);
  set_outputs(g, &y, 1);
  float xv[6] = {0};
  vitc_value in = {.dtype = VITC_F32, .rank = 2, .dims = {2, 3}, .data = xv};
  vitc_value out[1];
  vitc_error err = {0};
  CHECK(vitc_eval_graph(g, &in, out, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "bad.onnx: node 'bad_add' (Add): ");
  CHECK_MSG(err.msg, "broadcast");
  CHECK(out[0].data == NULL);
  vitc_graph_free(g);
}

/* A graph input without a value is an error naming the input, not a crash. */
static void test_missing_input_value(void) {
  vitc_graph *g = vitc_graph_new("missing.onnx");
  int64_t d[] = {3};
  int x = add_input(g, "x", VITC_F32, 1, d);
  int y = add_node(g, VITC_OP_Relu, "relu0", (int[]){x}, 1, NULL, 0);
  set_outputs(g, &y, 1);
  vitc_value in = {.dtype = VITC_F32, .rank = 1, .dims = {3}, .data = NULL};
  vitc_value out[1];
  vitc_error err = {0};
  CHECK(vitc_eval_graph(g, &in, out, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "node 'relu0' (Relu): input 'x' has no value");
  vitc_graph_free(g);
}

int main(void) {
  test_three_nodes();
  test_output_twice();
  test_error_names_node();
  test_missing_input_value();
  CHECK_DONE();
}

/* test_limits.c — resource limits: shape inference refuses, naming the node, any output that would
 * overflow its element count or exceed the graph's memory limit (default: physical memory), before
 * anything is allocated; near misses at the limit pass. */
#include <stdlib.h>

#include "check.h"
#include "graph_inputs.h"
#include "passes/passes.h"

static int constant(vitc_graph *g, const char *name, vitc_dtype dt, int64_t n, const void *data) {
  vitc_value v = {.dtype = dt, .rank = 1, .dims = {n}, .data = (void *)data};
  return vitc_graph_add_constant(g, name, &v);
}

/* Resize of a 1x1x4x4 image by scales (1, 1, s, s). */
static vitc_status resize_by(float s, vitc_error *err) {
  vitc_graph *g = vitc_graph_new("resize.onnx");
  int x = add_input(g, "x", VITC_F32, 4, (int64_t[]){1, 1, 4, 4});
  int scales = constant(g, "scales", VITC_F32, 4, (float[]){1, 1, s, s});
  int y = add_node(g, VITC_OP_Resize, "up", (int[]){x, -1, scales}, 3, NULL, 0);
  set_outputs(g, &y, 1);
  vitc_status st = vitc_infer_shapes(g, err);
  vitc_graph_free(g);
  return st;
}

/* ConstantOfShape of the given dims, under a memory limit (0: the default). */
static vitc_status constant_of_shape(int n, const int64_t *dims, int64_t limit, vitc_error *err) {
  vitc_graph *g = vitc_graph_new("fill.onnx");
  g->memory_limit = limit;
  int shape = constant(g, "shape", VITC_I64, n, dims);
  int y = add_node(g, VITC_OP_ConstantOfShape, "fill", &shape, 1, NULL, 0);
  set_outputs(g, &y, 1);
  vitc_status st = vitc_infer_shapes(g, err);
  vitc_graph_free(g);
  return st;
}

int main(void) {
  vitc_error err = {0};
  CHECK(resize_by(2, &err) == VITC_OK);
  CHECK(resize_by(1e6f, &err) == VITC_ERR_INVALID); /* 1.6e13 floats */
  CHECK_MSG(err.msg, "resize.onnx: node 'up' (Resize): output 'up.out' would take 64000000000000 bytes, above the memory limit of");
  CHECK(resize_by(1e30f, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "node 'up' (Resize): scale 1e+30 of axis 2 gives a size too large to represent");

  CHECK(constant_of_shape(2, (int64_t[]){1 << 20, 1 << 20}, 0, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "fill.onnx: node 'fill' (ConstantOfShape): output 'fill.out' would take 4398046511104 bytes");
  CHECK(constant_of_shape(3, (int64_t[]){1LL << 40, 1LL << 40, 1LL << 40}, 0, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "node 'fill' (ConstantOfShape): output shape [1099511627776,1099511627776,1099511627776] is negative or too large");
  /* The limit is the graph's: exactly at it passes, one element above fails. */
  CHECK(constant_of_shape(1, (int64_t[]){250}, 1000, &err) == VITC_OK);
  CHECK(constant_of_shape(1, (int64_t[]){251}, 1000, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "would take 1004 bytes, above the memory limit of 1000");
  CHECK(vitc_default_memory_limit() > (1LL << 26));
  CHECK_DONE();
}

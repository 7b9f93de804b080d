/* test_gather.c — the indexing ops (ir/ops/gather.c, scatter.c) against values from the ONNX operator
 * documentation's examples, hand-computed cases, and their error messages. */
#include "move_harness.h"

static void test_gather(void) {
  float data[] = {1, 2, 3, 4, 5, 6};
  int64_t idx[] = {0, -1, 1, 0};
  vitc_value x = val(VITC_F32, data, 2, 3, 2), i = val(VITC_I64, idx, 2, 2, 2), out[1];
  const vitc_value *in[] = {&x, &i};
  CHECK(run_op(VITC_OP_Gather, harness_opset, in, 2, out, 1, NULL, 0, &harness_err) == VITC_OK);
  CHECK_DIMS(&out[0], 2, 2, 2);
  CHECK_VALUES(&out[0], 1, 2, 5, 6, 3, 4, 1, 2);
  free_outputs(out, 1);

  /* axis 1 of a [2, 3, 2] with int32 indices */
  int16_t d3[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  int32_t i3[] = {2, 0};
  vitc_value x3 = val(VITC_I16, d3, 3, 2, 3, 2), v3 = val(VITC_I32, i3, 1, 2);
  const vitc_value *in3[] = {&x3, &v3};
  vitc_attr axis = attr_int("axis", 1);
  CHECK(run_op(VITC_OP_Gather, harness_opset, in3, 2, out, 1, &axis, 1, &harness_err) == VITC_OK);
  CHECK_DIMS(&out[0], 2, 2, 2);
  CHECK_VALUES(&out[0], 4, 5, 0, 1, 10, 11, 6, 7);
  free_outputs(out, 1);

  /* last axis, one element per index: np.take(arange(12).reshape(3, 4), [3, 0, -2], axis=-1) */
  int64_t d4[12], i4[] = {3, 0, -2};
  for (int k = 0; k < 12; k++) d4[k] = k;
  vitc_value x4 = val(VITC_I64, d4, 2, 3, 4), v4 = val(VITC_I64, i4, 1, 3);
  const vitc_value *in4[] = {&x4, &v4};
  axis.i = -1;
  CHECK(run_op(VITC_OP_Gather, harness_opset, in4, 2, out, 1, &axis, 1, &harness_err) == VITC_OK);
  CHECK_DIMS(&out[0], 3, 3);
  CHECK_VALUES(&out[0], 3, 0, 2, 7, 4, 6, 11, 8, 10);
  free_outputs(out, 1);

  /* scalar index drops the axis */
  int64_t two = 2;
  vitc_value s = val(VITC_I64, &two, 0);
  const vitc_value *ins[] = {&x, &s};
  CHECK(run_op(VITC_OP_Gather, harness_opset, ins, 2, out, 1, NULL, 0, &harness_err) == VITC_OK);
  CHECK_DIMS(&out[0], 2);
  CHECK_VALUES(&out[0], 5, 6);
  free_outputs(out, 1);

  int64_t bad[] = {0, 3};
  i = val(VITC_I64, bad, 1, 2);
  CHECK(run_op(VITC_OP_Gather, harness_opset, in, 2, out, 1, NULL, 0, &harness_err) == VITC_ERR_INVALID);
  CHECK_MSG(harness_err.msg, "index 3 is out of range for an axis of size 3");
  int64_t neg[] = {-4};
  i = val(VITC_I64, neg, 1, 1);
  CHECK(run_op(VITC_OP_Gather, harness_opset, in, 2, out, 1, NULL, 0, &harness_err) == VITC_ERR_INVALID);
  CHECK_MSG(harness_err.msg, "index -4 is out of range");
  float fidx[] = {0};
  i = val(VITC_F32, fidx, 1, 1);
  CHECK(run_op(VITC_OP_Gather, harness_opset, in, 2, out, 1, NULL, 0, &harness_err) == VITC_ERR_INVALID);
  CHECK_MSG(harness_err.msg, "Gather's indices must be int32 or int64, not float32");
  axis.i = 2;
  i = val(VITC_I64, idx, 1, 1);
  CHECK(run_op(VITC_OP_Gather, harness_opset, in, 2, out, 1, &axis, 1, &harness_err) == VITC_ERR_INVALID);
  CHECK_MSG(harness_err.msg, "axis 2 is out of range for rank 2");
}

static void test_gather_elements(void) {
  float d[] = {1, 2, 3, 4};
  int64_t idx[] = {0, 0, 1, 0};
  vitc_value x = val(VITC_F32, d, 2, 2, 2), i = val(VITC_I64, idx, 2, 2, 2), out[1];
  const vitc_value *in[] = {&x, &i};
  vitc_attr axis = attr_int("axis", 1);
  CHECK(run_op(VITC_OP_GatherElements, harness_opset, in, 2, out, 1, &axis, 1, &harness_err) == VITC_OK);
  CHECK_VALUES(&out[0], 1, 1, 4, 3);
  free_outputs(out, 1);

  int32_t d9[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  int32_t i9[] = {1, 2, 0, -1, 0, 0};
  vitc_value x9 = val(VITC_I32, d9, 2, 3, 3), v9 = val(VITC_I32, i9, 2, 2, 3);
  const vitc_value *in9[] = {&x9, &v9};
  CHECK(run_op(VITC_OP_GatherElements, harness_opset, in9, 2, out, 1, NULL, 0, &harness_err) == VITC_OK);
  CHECK_DIMS(&out[0], 2, 3);
  CHECK_VALUES(&out[0], 4, 8, 3, 7, 2, 3);
  free_outputs(out, 1);

  int64_t bad[] = {0, 2, 0, 0};
  i.data = bad;
  CHECK(run_op(VITC_OP_GatherElements, harness_opset, in, 2, out, 1, &axis, 1, &harness_err) == VITC_ERR_INVALID);
  CHECK_MSG(harness_err.msg, "index 2 is out of range for an axis of size 2");
}

static void test_gather_nd(void) {
  int32_t d2[] = {0, 1, 2, 3};
  int64_t pairs[] = {0, 0, 1, 1}, singles[] = {1, 0};
  vitc_value x = val(VITC_I32, d2, 2, 2, 2), i = val(VITC_I64, pairs, 2, 2, 2), out[1];
  const vitc_value *in[] = {&x, &i};
  CHECK(run_op(VITC_OP_GatherND, harness_opset, in, 2, out, 1, NULL, 0, &harness_err) == VITC_OK);
  CHECK_DIMS(&out[0], 2);
  CHECK_VALUES(&out[0], 0, 3);
  free_outputs(out, 1);
  i = val(VITC_I64, singles, 2, 2, 1);
  CHECK(run_op(VITC_OP_GatherND, harness_opset, in, 2, out, 1, NULL, 0, &harness_err) == VITC_OK);
  CHECK_DIMS(&out[0], 2, 2);
  CHECK_VALUES(&out[0], 2, 3, 0, 1);
  free_outputs(out, 1);

  /* [2, 2, 2] data: indices [[[0, 1]], [[1, 0]]] give [[[2, 3]], [[4, 5]]] */
  float d3[] = {0, 1, 2, 3, 4, 5, 6, 7};
  int64_t i3[] = {0, 1, 1, 0};
  vitc_value x3 = val(VITC_F32, d3, 3, 2, 2, 2), v3 = val(VITC_I64, i3, 3, 2, 1, 2);
  const vitc_value *in3[] = {&x3, &v3};
  CHECK(run_op(VITC_OP_GatherND, harness_opset, in3, 2, out, 1, NULL, 0, &harness_err) == VITC_OK);
  CHECK_DIMS(&out[0], 2, 1, 2);
  CHECK_VALUES(&out[0], 2, 3, 4, 5);
  free_outputs(out, 1);

  /* batch_dims = 1: indices [[1], [0]] pick row 1 of batch 0 and row 0 of batch 1 */
  vitc_value vb = val(VITC_I64, singles, 2, 2, 1);
  const vitc_value *inb[] = {&x3, &vb};
  vitc_attr batch = attr_int("batch_dims", 1);
  CHECK(run_op(VITC_OP_GatherND, harness_opset, inb, 2, out, 1, &batch, 1, &harness_err) == VITC_OK);
  CHECK_DIMS(&out[0], 2, 2);
  CHECK_VALUES(&out[0], 2, 3, 4, 5);
  free_outputs(out, 1);

  int64_t three[] = {1, 0, 0};
  vitc_value vm = val(VITC_I64, three, 2, 3, 1);
  const vitc_value *inm[] = {&x3, &vm};
  CHECK(run_op(VITC_OP_GatherND, harness_opset, inm, 2, out, 1, &batch, 1, &harness_err) == VITC_ERR_INVALID);
  CHECK_MSG(harness_err.msg, "differ in batch dim 0");
  int64_t far[] = {0, 2};
  i = val(VITC_I64, far, 2, 1, 2);
  CHECK(run_op(VITC_OP_GatherND, harness_opset, in, 2, out, 1, NULL, 0, &harness_err) == VITC_ERR_INVALID);
  CHECK_MSG(harness_err.msg, "index 2 is out of range for an axis of size 2");
  int64_t long_tuple[] = {0, 0, 0};
  i = val(VITC_I64, long_tuple, 2, 1, 3);
  CHECK(run_op(VITC_OP_GatherND, harness_opset, in, 2, out, 1, NULL, 0, &harness_err) == VITC_ERR_INVALID);
  CHECK_MSG(harness_err.msg, "index tuples of length 3 do not fit data i32[2,2]");
}

static void test_scatter_nd(void) {
  float d[] = {1, 2, 3, 4, 5, 6}, u[] = {10, 20, 30, 40};
  int64_t idx[] = {2, 0};
  vitc_value x = val(VITC_F32, d, 2, 3, 2), i = val(VITC_I64, idx, 2, 2, 1), up = val(VITC_F32, u, 2, 2, 2), out[1];
  const vitc_value *in[] = {&x, &i, &up};
  CHECK(run_op(VITC_OP_ScatterND, harness_opset, in, 3, out, 1, NULL, 0, &harness_err) == VITC_OK);
  CHECK_DIMS(&out[0], 3, 2);
  CHECK_VALUES(&out[0], 30, 40, 3, 4, 10, 20);
  free_outputs(out, 1);
  vitc_attr red = attr_str("reduction", "add");
  CHECK(run_op(VITC_OP_ScatterND, harness_opset, in, 3, out, 1, &red, 1, &harness_err) == VITC_OK);
  CHECK_VALUES(&out[0], 31, 42, 3, 4, 15, 26);
  free_outputs(out, 1);
  /* repeated index: add accumulates, mul multiplies */
  int64_t same[] = {0, 0};
  i.data = same;
  CHECK(run_op(VITC_OP_ScatterND, harness_opset, in, 3, out, 1, &red, 1, &harness_err) == VITC_OK);
  CHECK_VALUES(&out[0], 41, 62, 3, 4, 5, 6);
  free_outputs(out, 1);
  red.s = "mul";
  CHECK(run_op(VITC_OP_ScatterND, harness_opset, in, 3, out, 1, &red, 1, &harness_err) == VITC_OK);
  CHECK_VALUES(&out[0], 300, 1600, 3, 4, 5, 6);
  free_outputs(out, 1);

  /* ONNX example 1: element updates into an int64 vector */
  int64_t v8[] = {1, 2, 3, 4, 5, 6, 7, 8}, i8[] = {4, 3, 1, 7}, u8[] = {9, 10, 11, 12};
  vitc_value x8 = val(VITC_I64, v8, 1, 8), vi8 = val(VITC_I64, i8, 2, 4, 1), vu8 = val(VITC_I64, u8, 1, 4);
  const vitc_value *in8[] = {&x8, &vi8, &vu8};
  CHECK(run_op(VITC_OP_ScatterND, harness_opset, in8, 3, out, 1, NULL, 0, &harness_err) == VITC_OK);
  CHECK_VALUES(&out[0], 1, 11, 3, 10, 9, 6, 7, 12);
  free_outputs(out, 1);
  vitc_attr mx = attr_str("reduction", "max");
  CHECK(run_op(VITC_OP_ScatterND, harness_opset, in8, 3, out, 1, &mx, 1, &harness_err) == VITC_OK);
  CHECK_VALUES(&out[0], 1, 11, 3, 10, 9, 6, 7, 12);
  free_outputs(out, 1);
  mx.s = "min";
  CHECK(run_op(VITC_OP_ScatterND, harness_opset, in8, 3, out, 1, &mx, 1, &harness_err) == VITC_OK);
  CHECK_VALUES(&out[0], 1, 2, 3, 4, 5, 6, 7, 8);
  free_outputs(out, 1);

  /* full index tuples into a [3, 2] */
  int64_t tuples[] = {0, 1, 2, -2};
  float u2[] = {7, 8};
  vitc_value it = val(VITC_I64, tuples, 2, 2, 2), ut = val(VITC_F32, u2, 1, 2);
  const vitc_value *int_[] = {&x, &it, &ut};
  CHECK(run_op(VITC_OP_ScatterND, harness_opset, int_, 3, out, 1, NULL, 0, &harness_err) == VITC_OK);
  CHECK_VALUES(&out[0], 1, 7, 3, 4, 8, 6);
  free_outputs(out, 1);

  int64_t far[] = {3, 0};
  i = val(VITC_I64, far, 2, 2, 1);
  CHECK(run_op(VITC_OP_ScatterND, harness_opset, in, 3, out, 1, NULL, 0, &harness_err) == VITC_ERR_INVALID);
  CHECK_MSG(harness_err.msg, "index 3 is out of range for an axis of size 3");
  i = val(VITC_I64, idx, 2, 2, 1);
  up = val(VITC_F32, u, 2, 2, 1);
  CHECK(run_op(VITC_OP_ScatterND, harness_opset, in, 3, out, 1, NULL, 0, &harness_err) == VITC_ERR_INVALID);
  CHECK_MSG(harness_err.msg, "updates f32[2,1] do not match indices i64[2,1] and data f32[3,2]");
}

static void test_scatter_elements(void) {
  float zeros[9] = {0}, u[] = {1.0f, 1.1f, 1.2f, 2.0f, 2.1f, 2.2f};
  int64_t idx[] = {1, 0, 2, 0, 2, 1};
  vitc_value x = val(VITC_F32, zeros, 2, 3, 3), i = val(VITC_I64, idx, 2, 2, 3), up = val(VITC_F32, u, 2, 2, 3), out[1];
  const vitc_value *in[] = {&x, &i, &up};
  CHECK(run_op(VITC_OP_ScatterElements, harness_opset, in, 3, out, 1, NULL, 0, &harness_err) == VITC_OK);
  CHECK_VALUES(&out[0], 2.0f, 1.1f, 0, 1.0f, 0, 2.2f, 0, 2.1f, 1.2f);
  free_outputs(out, 1);

  float row[] = {1, 2, 3, 4, 5}, u2[] = {1.1f, 2.1f};
  int64_t i13[] = {1, 3}, i11[] = {1, -4};
  vitc_value xr = val(VITC_F32, row, 2, 1, 5), ir = val(VITC_I64, i13, 2, 1, 2), ur = val(VITC_F32, u2, 2, 1, 2);
  const vitc_value *inr[] = {&xr, &ir, &ur};
  vitc_attr attrs[] = {attr_int("axis", 1), attr_str("reduction", "add")};
  CHECK(run_op(VITC_OP_ScatterElements, harness_opset, inr, 3, out, 1, attrs, 1, &harness_err) == VITC_OK);
  CHECK_VALUES(&out[0], 1, 1.1f, 3, 2.1f, 5);
  free_outputs(out, 1);
  ir.data = i11;
  CHECK(run_op(VITC_OP_ScatterElements, harness_opset, inr, 3, out, 1, attrs, 2, &harness_err) == VITC_OK);
  CHECK_VALUES(&out[0], 1, 2 + 1.1f + 2.1f, 3, 4, 5);
  free_outputs(out, 1);
  attrs[1].s = "max";
  CHECK(run_op(VITC_OP_ScatterElements, harness_opset, inr, 3, out, 1, attrs, 2, &harness_err) == VITC_OK);
  CHECK_VALUES(&out[0], 1, 2.1f, 3, 4, 5);
  free_outputs(out, 1);
  attrs[1].s = "average";
  CHECK(run_op(VITC_OP_ScatterElements, harness_opset, inr, 3, out, 1, attrs, 2, &harness_err) == VITC_ERR_INVALID);
  CHECK_MSG(harness_err.msg, "reduction 'average' is not none, add, mul, max or min");
  int64_t far[] = {1, 5};
  ir.data = far;
  CHECK(run_op(VITC_OP_ScatterElements, harness_opset, inr, 3, out, 1, attrs, 1, &harness_err) == VITC_ERR_INVALID);
  CHECK_MSG(harness_err.msg, "index 5 is out of range for an axis of size 5");
}

static void test_one_hot(void) {
  int64_t idx[] = {0, -1, 3, 5}, depth = 4;
  float values[] = {0, 1};
  vitc_value i = val(VITC_I64, idx, 1, 4), d = val(VITC_I64, &depth, 0), v = val(VITC_F32, values, 1, 2), out[1];
  const vitc_value *in[] = {&i, &d, &v};
  CHECK(run_op(VITC_OP_OneHot, harness_opset, in, 3, out, 1, NULL, 0, &harness_err) == VITC_OK);
  CHECK_DIMS(&out[0], 4, 4);
  CHECK_VALUES(&out[0], 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0);
  free_outputs(out, 1);
  vitc_attr axis = attr_int("axis", 0);
  int32_t onoff[] = {-1, 7};
  v = val(VITC_I32, onoff, 1, 2);
  CHECK(run_op(VITC_OP_OneHot, harness_opset, in, 3, out, 1, &axis, 1, &harness_err) == VITC_OK);
  CHECK(out[0].dtype == VITC_I32);
  CHECK_VALUES(&out[0], 7, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 7, 7, -1);
  free_outputs(out, 1);
  d.data = NULL;
  CHECK(run_op(VITC_OP_OneHot, harness_opset, in, 3, out, 1, NULL, 0, &harness_err) == VITC_ERR_DATA_DEPENDENT);
  CHECK_MSG(harness_err.msg, "data-dependent shape");
}

static void test_nonzero(void) {
  int32_t m[] = {1, 0, 1, 1};
  vitc_value x = val(VITC_I32, m, 2, 2, 2), out[1];
  const vitc_value *in[] = {&x};
  CHECK(run_op(VITC_OP_NonZero, harness_opset, in, 1, out, 1, NULL, 0, &harness_err) == VITC_OK);
  CHECK(out[0].dtype == VITC_I64);
  CHECK_DIMS(&out[0], 2, 3);
  CHECK_VALUES(&out[0], 0, 1, 1, 0, 0, 1);
  free_outputs(out, 1);
  uint8_t b[] = {0, 1, 0, 0, 1, 0, 0, 1};
  x = val(VITC_BOOL, b, 3, 2, 2, 2);
  CHECK(run_op(VITC_OP_NonZero, harness_opset, in, 1, out, 1, NULL, 0, &harness_err) == VITC_OK);
  CHECK_DIMS(&out[0], 3, 3);
  CHECK_VALUES(&out[0], 0, 1, 1, 0, 0, 1, 1, 0, 1);
  free_outputs(out, 1);
  float f[] = {0.0f, -0.0f, NAN, 2};
  x = val(VITC_F32, f, 1, 4);
  CHECK(run_op(VITC_OP_NonZero, harness_opset, in, 1, out, 1, NULL, 0, &harness_err) == VITC_OK);
  CHECK_DIMS(&out[0], 1, 2);
  CHECK_VALUES(&out[0], 2, 3);
  free_outputs(out, 1);
  x.data = NULL;
  CHECK(run_op(VITC_OP_NonZero, harness_opset, in, 1, out, 1, NULL, 0, &harness_err) == VITC_ERR_DATA_DEPENDENT);
  CHECK_MSG(harness_err.msg, "data-dependent shape");
}

int main(void) {
  test_gather();
  test_gather_elements();
  test_gather_nd();
  test_scatter_nd();
  test_scatter_elements();
  test_one_hot();
  test_nonzero();
  CHECK_DONE();
}

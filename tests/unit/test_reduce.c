/* test_reduce.c — Reduce*, ArgMax/ArgMin, Softmax/LogSoftmax/Hardmax, TopK and CumSum against values
 * computed by hand or once with numpy. */
#include <stdint.h>

#include "check.h"
#include "op_harness.h"

#define RUN(op, opset, ins, nout, out, ...)                                                          \
  run_op(VITC_OP_##op, opset, ins, (int)(sizeof ins / sizeof *ins), out, nout, (vitc_attr[]){__VA_ARGS__}, \
         (int)(sizeof((vitc_attr[]){__VA_ARGS__}) / sizeof(vitc_attr)), &err)

static vitc_error err;

/* x[2,2,3] used by most reduction cases. */
static float x3[] = {0.5f, -1.0f, 2.0f, 3.0f, 0.25f, -2.0f, 1.5f, 1.0f, -0.5f, 2.0f, -3.0f, 4.0f};

static void check_f32(const vitc_value *v, const double *want, int n, double tol) {
  CHECK(vitc_numel(v) == n);
  for (int i = 0; i < n && i < vitc_numel(v); i++) CHECK_NEAR(((float *)v->data)[i], want[i], tol);
}

static void test_reductions(void) {
  vitc_value x = F32(x3, 2, 2, 3), out[1];
  int64_t ax[] = {0, 2}, last[] = {-1}, mid[] = {1}, first[] = {0}, first_two[] = {0, 1};
  vitc_value axes02 = I64(ax, 2), axes_last = I64(last, 1), axes1 = I64(mid, 1), axes0 = I64(first, 1),
             axes01 = I64(first_two, 2);

  /* Non-trailing axes take the general path; keepdims defaults to 1. */
  CHECK(RUN(ReduceSum, 18, ((const vitc_value *[]){&x, &axes02}), 1, out, attr_int("keepdims", 1)) == VITC_OK);
  CHECK(out[0].rank == 3 && out[0].dims[0] == 1 && out[0].dims[1] == 2 && out[0].dims[2] == 1);
  check_f32(&out[0], (double[]){3.5, 4.25}, 2, 1e-6);
  free_outputs(out, 1);

  /* keepdims=0 with a negative axis: the float32 inner-axis path. */
  CHECK(RUN(ReduceMean, 18, ((const vitc_value *[]){&x, &axes_last}), 1, out, attr_int("keepdims", 0)) == VITC_OK);
  CHECK(out[0].rank == 2 && out[0].dims[0] == 2 && out[0].dims[1] == 2);
  check_f32(&out[0], (double[]){0.5, 0.416666667, 0.666666667, 1.0}, 4, 1e-6);
  free_outputs(out, 1);

  CHECK(RUN(ReduceMax, 18, ((const vitc_value *[]){&x, &axes1}), 1, out, attr_int("keepdims", 0)) == VITC_OK);
  check_f32(&out[0], (double[]){3, 0.25, 2, 2, 1, 4}, 6, 0);
  free_outputs(out, 1);
  CHECK(RUN(ReduceMin, 18, ((const vitc_value *[]){&x, &axes0}), 1, out, attr_int("keepdims", 0)) == VITC_OK);
  check_f32(&out[0], (double[]){0.5, -1, -0.5, 2, -3, -2}, 6, 0);
  free_outputs(out, 1);
  CHECK(RUN(ReduceProd, 18, ((const vitc_value *[]){&x, &axes01}), 1, out, attr_int("keepdims", 0)) == VITC_OK);
  check_f32(&out[0], (double[]){4.5, 0.75, 8}, 3, 1e-6);
  free_outputs(out, 1);
  CHECK(RUN(ReduceL2, 18, ((const vitc_value *[]){&x, &axes1}), 1, out, attr_int("keepdims", 0)) == VITC_OK);
  check_f32(&out[0], (double[]){3.041381265, 1.030776406, 2.828427125, 2.5, 3.16227766, 4.031128874}, 6, 1e-6);
  free_outputs(out, 1);
  CHECK(RUN(ReduceLogSumExp, 18, ((const vitc_value *[]){&x, &axes02}), 1, out, attr_int("keepdims", 0)) == VITC_OK);
  check_f32(&out[0], (double[]){2.845616016, 4.425348193}, 2, 1e-6);
  free_outputs(out, 1);

  /* No axes input: every axis, L1 = sum of |x|. */
  CHECK(RUN(ReduceL1, 18, ((const vitc_value *[]){&x}), 1, out, attr_int("keepdims", 0)) == VITC_OK);
  CHECK(out[0].rank == 0);
  check_f32(&out[0], (double[]){20.75}, 1, 1e-6);
  free_outputs(out, 1);

  /* noop_with_empty_axes: reduce over no axis, so SumSquare squares each element. */
  int64_t none[1];
  vitc_value empty = I64(none, 0);
  CHECK(RUN(ReduceSumSquare, 18, ((const vitc_value *[]){&x, &empty}), 1, out, attr_int("noop_with_empty_axes", 1)) ==
        VITC_OK);
  CHECK(out[0].rank == 3 && out[0].dims[2] == 3);
  check_f32(&out[0], (double[]){0.25, 1, 4, 9, 0.0625, 4, 2.25, 1, 0.25, 4, 9, 16}, 12, 1e-6);
  free_outputs(out, 1);

  /* LogSum of [[1,2],[3,4]] over axis 0: log 4, log 6. */
  float pos[] = {1, 2, 3, 4};
  vitc_value p = F32(pos, 2, 2);
  CHECK(RUN(ReduceLogSum, 18, ((const vitc_value *[]){&p, &axes0}), 1, out, attr_int("keepdims", 0)) == VITC_OK);
  check_f32(&out[0], (double[]){1.386294361, 1.791759469}, 2, 1e-6);
  free_outputs(out, 1);
}

static void test_empty_reductions(void) {
  float none_f[1];
  int32_t none_i[1];
  int64_t axis0[] = {0};
  vitc_value x = F32(none_f, 0, 3), axes = I64(axis0, 1), xi = VALUE(VITC_I32, none_i, 0, 2), out[1];
  CHECK(RUN(ReduceSum, 18, ((const vitc_value *[]){&x, &axes}), 1, out, attr_int("keepdims", 0)) == VITC_OK);
  check_f32(&out[0], (double[]){0, 0, 0}, 3, 0);
  free_outputs(out, 1);
  CHECK(RUN(ReduceProd, 18, ((const vitc_value *[]){&x, &axes}), 1, out, attr_int("keepdims", 0)) == VITC_OK);
  check_f32(&out[0], (double[]){1, 1, 1}, 3, 0);
  free_outputs(out, 1);
  CHECK(RUN(ReduceMax, 18, ((const vitc_value *[]){&x, &axes}), 1, out, attr_int("keepdims", 0)) == VITC_OK);
  CHECK(isinf(((float *)out[0].data)[0]) && ((float *)out[0].data)[0] < 0);
  free_outputs(out, 1);
  CHECK(RUN(ReduceMin, 18, ((const vitc_value *[]){&x, &axes}), 1, out, attr_int("keepdims", 1)) == VITC_OK);
  CHECK(out[0].rank == 2 && out[0].dims[0] == 1 && isinf(((float *)out[0].data)[2]));
  free_outputs(out, 1);
  CHECK(RUN(ReduceMax, 18, ((const vitc_value *[]){&xi, &axes}), 1, out, attr_int("keepdims", 0)) == VITC_OK);
  CHECK(out[0].dtype == VITC_I32 && ((int32_t *)out[0].data)[1] == INT32_MIN);
  free_outputs(out, 1);
}

static void test_reduce_errors(void) {
  vitc_value x = F32(x3, 2, 2, 3), out[1];
  int64_t bad[] = {3}, twice[] = {1, -2};
  vitc_value axes_bad = I64(bad, 1), axes_twice = I64(twice, 2), unknown = I64(NULL, 1);
  CHECK(RUN(ReduceMean, 18, ((const vitc_value *[]){&x, &axes_bad}), 1, out, attr_int("keepdims", 1)) ==
        VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "axis 3 is out of range for rank 3");
  CHECK_MSG(err.msg, "(ReduceMean)");
  CHECK(RUN(ReduceSum, 18, ((const vitc_value *[]){&x, &axes_twice}), 1, out, attr_int("keepdims", 1)) ==
        VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "axis -2 is listed twice in axes");
  CHECK(RUN(ReduceSum, 18, ((const vitc_value *[]){&x, &unknown}), 1, out, attr_int("keepdims", 1)) ==
        VITC_ERR_DATA_DEPENDENT);
  CHECK_MSG(err.msg, "data-dependent shape: axes");
  CHECK(RUN(ArgMax, 13, ((const vitc_value *[]){&x}), 1, out, attr_int("axis", -4)) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "axis -4 is out of range for rank 3");
}

static void test_arg_reduce(void) {
  float v[] = {1, 3, 3, 2, 2, 1};
  vitc_value x = F32(v, 2, 3), out[1];
  CHECK(RUN(ArgMax, 13, ((const vitc_value *[]){&x}), 1, out, attr_int("axis", 1)) == VITC_OK);
  CHECK(out[0].dtype == VITC_I64 && out[0].rank == 2 && out[0].dims[1] == 1);
  CHECK(((int64_t *)out[0].data)[0] == 1 && ((int64_t *)out[0].data)[1] == 0);
  free_outputs(out, 1);
  CHECK(RUN(ArgMax, 13, ((const vitc_value *[]){&x}), 1, out, attr_int("axis", 1), attr_int("select_last_index", 1)) ==
        VITC_OK);
  CHECK(((int64_t *)out[0].data)[0] == 2 && ((int64_t *)out[0].data)[1] == 1);
  free_outputs(out, 1);
  CHECK(RUN(ArgMin, 13, ((const vitc_value *[]){&x}), 1, out, attr_int("axis", 0), attr_int("keepdims", 0)) == VITC_OK);
  CHECK(out[0].rank == 1 && out[0].dims[0] == 3);
  CHECK(((int64_t *)out[0].data)[0] == 0 && ((int64_t *)out[0].data)[1] == 1 && ((int64_t *)out[0].data)[2] == 1);
  free_outputs(out, 1);
}

/* s[2,2,2] normalised along axis 1: opset 13 over that axis only, opset 11 over the flattened [2, 4]. */
static void test_softmax(void) {
  float s[] = {1, 2, 3, 0.5f, -1, 0, 2, 2};
  vitc_value x = F32(s, 2, 2, 2), out[1];
  CHECK(RUN(Softmax, 13, ((const vitc_value *[]){&x}), 1, out, attr_int("axis", 1)) == VITC_OK);
  check_f32(&out[0],
            (double[]){0.119202922, 0.817574476, 0.880797078, 0.182425524, 0.047425873, 0.119202922, 0.952574127,
                       0.880797078},
            8, 1e-6);
  free_outputs(out, 1);
  CHECK(RUN(Softmax, 11, ((const vitc_value *[]){&x}), 1, out, attr_int("axis", 1)) == VITC_OK);
  check_f32(&out[0],
            (double[]){0.085368894, 0.232056712, 0.630795543, 0.051778851, 0.022784568, 0.061934877, 0.457640278,
                       0.457640278},
            8, 1e-6);
  free_outputs(out, 1);
  /* Default axes differ: -1 from opset 13 (the inner fast path), 1 before. */
  CHECK(RUN(LogSoftmax, 13, ((const vitc_value *[]){&x}), 1, out, attr_int("unused", 0)) == VITC_OK);
  check_f32(&out[0],
            (double[]){-1.313261688, -0.313261688, -0.078889734, -2.578889734, -1.313261688, -0.313261688,
                       -0.693147181, -0.693147181},
            8, 1e-6);
  free_outputs(out, 1);
  CHECK(RUN(Softmax, 11, ((const vitc_value *[]){&x}), 1, out, attr_int("unused", 0)) == VITC_OK);
  CHECK_NEAR(((float *)out[0].data)[7], 0.457640278, 1e-6);
  free_outputs(out, 1);
  /* Hardmax: the first maximum of each row gets 1. */
  CHECK(RUN(Hardmax, 13, ((const vitc_value *[]){&x}), 1, out, attr_int("axis", -1)) == VITC_OK);
  check_f32(&out[0], (double[]){0, 1, 1, 0, 0, 1, 1, 0}, 8, 0);
  free_outputs(out, 1);
  /* float64 takes the generic path and must agree. */
  double sd[] = {1, 2, 3, 0.5, -1, 0, 2, 2};
  vitc_value xd = VALUE(VITC_F64, sd, 2, 2, 2);
  CHECK(RUN(Softmax, 13, ((const vitc_value *[]){&xd}), 1, out, attr_int("axis", 1)) == VITC_OK);
  CHECK_NEAR(((double *)out[0].data)[1], 0.817574476, 1e-9);
  free_outputs(out, 1);
  CHECK(RUN(Softmax, 13, ((const vitc_value *[]){&x}), 1, out, attr_int("axis", 3)) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "axis 3 is out of range for rank 3");
}

static void test_topk(void) {
  float v[] = {3, 1, 3, 2, 3};
  int64_t two[] = {2};
  vitc_value x = F32(v, 5), k = I64(two, 1), out[2];
  CHECK(RUN(TopK, 11, ((const vitc_value *[]){&x, &k}), 2, out, attr_int("axis", -1)) == VITC_OK);
  CHECK(out[0].dims[0] == 2 && out[1].dtype == VITC_I64);
  CHECK(((float *)out[0].data)[0] == 3 && ((float *)out[0].data)[1] == 3);
  CHECK(((int64_t *)out[1].data)[0] == 0 && ((int64_t *)out[1].data)[1] == 2); /* ties: lower index first */
  free_outputs(out, 2);
  CHECK(RUN(TopK, 11, ((const vitc_value *[]){&x, &k}), 2, out, attr_int("largest", 0)) == VITC_OK);
  CHECK(((float *)out[0].data)[0] == 1 && ((float *)out[0].data)[1] == 2);
  CHECK(((int64_t *)out[1].data)[0] == 1 && ((int64_t *)out[1].data)[1] == 3);
  free_outputs(out, 2);
  /* Along axis 0 of [3, 2]: columns {5, 7, 5} and {1, 1, 9}. */
  int64_t iv[] = {5, 1, 7, 1, 5, 9};
  vitc_value xi = I64(iv, 3, 2);
  CHECK(RUN(TopK, 11, ((const vitc_value *[]){&xi, &k}), 2, out, attr_int("axis", 0)) == VITC_OK);
  CHECK(out[0].dims[0] == 2 && out[0].dims[1] == 2);
  int64_t *vals = out[0].data, *idx = out[1].data;
  CHECK(vals[0] == 7 && vals[1] == 9 && vals[2] == 5 && vals[3] == 1);
  CHECK(idx[0] == 1 && idx[1] == 2 && idx[2] == 0 && idx[3] == 0);
  free_outputs(out, 2);
  int64_t six[] = {6};
  vitc_value k6 = I64(six, 1), k_unknown = I64(NULL, 1);
  CHECK(RUN(TopK, 11, ((const vitc_value *[]){&x, &k6}), 2, out, attr_int("axis", -1)) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "k 6 is outside [0, 5]");
  CHECK(RUN(TopK, 11, ((const vitc_value *[]){&x, &k_unknown}), 2, out, attr_int("axis", -1)) == VITC_ERR_DATA_DEPENDENT);
  CHECK_MSG(err.msg, "data-dependent shape: k");
}

static void test_cumsum(void) {
  float v[] = {1, 2, 3, 4};
  int64_t zero[] = {0};
  vitc_value x = F32(v, 4), axis = value(VITC_I64, zero, 0, NULL), out[1];
  CHECK(RUN(CumSum, 14, ((const vitc_value *[]){&x, &axis}), 1, out, attr_int("exclusive", 0)) == VITC_OK);
  check_f32(&out[0], (double[]){1, 3, 6, 10}, 4, 0);
  free_outputs(out, 1);
  CHECK(RUN(CumSum, 14, ((const vitc_value *[]){&x, &axis}), 1, out, attr_int("exclusive", 1)) == VITC_OK);
  check_f32(&out[0], (double[]){0, 1, 3, 6}, 4, 0);
  free_outputs(out, 1);
  CHECK(RUN(CumSum, 14, ((const vitc_value *[]){&x, &axis}), 1, out, attr_int("reverse", 1)) == VITC_OK);
  check_f32(&out[0], (double[]){10, 9, 7, 4}, 4, 0);
  free_outputs(out, 1);
  CHECK(RUN(CumSum, 14, ((const vitc_value *[]){&x, &axis}), 1, out, attr_int("reverse", 1), attr_int("exclusive", 1)) ==
        VITC_OK);
  check_f32(&out[0], (double[]){9, 7, 4, 0}, 4, 0);
  free_outputs(out, 1);
  /* int64 [2, 2] along axis 0 (given as a 1-element tensor). */
  int64_t iv[] = {1, 2, 3, 4};
  vitc_value xi = I64(iv, 2, 2), axis1 = I64(zero, 1);
  CHECK(RUN(CumSum, 14, ((const vitc_value *[]){&xi, &axis1}), 1, out, attr_int("exclusive", 0)) == VITC_OK);
  CHECK(((int64_t *)out[0].data)[2] == 4 && ((int64_t *)out[0].data)[3] == 6 && ((int64_t *)out[0].data)[0] == 1);
  free_outputs(out, 1);
}

int main(void) {
  test_reductions();
  test_empty_reductions();
  test_reduce_errors();
  test_arg_reduce();
  test_softmax();
  test_topk();
  test_cumsum();
  CHECK_DONE();
}

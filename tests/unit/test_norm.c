/* test_norm.c — the normalisation ops against values computed once with numpy. */
#include "check.h"
#include "op_harness.h"

#define RUN(op, opset, ins, nout, out, ...)                                                          \
  run_op(VITC_OP_##op, opset, ins, (int)(sizeof ins / sizeof *ins), out, nout, (vitc_attr[]){__VA_ARGS__}, \
         (int)(sizeof((vitc_attr[]){__VA_ARGS__}) / sizeof(vitc_attr)), &err)

static vitc_error err;

static void check_f32(const vitc_value *v, const double *want, int n, double tol) {
  CHECK(vitc_numel(v) == n);
  for (int i = 0; i < n && i < vitc_numel(v); i++) CHECK_NEAR(((float *)v->data)[i], want[i], tol);
}

static void test_layer_norm(void) {
  float xv[] = {1, 2, 4, -1, 0.5f, 3}, sv[] = {0.5f, 1, 2}, bv[] = {0.1f, 0, -0.1f};
  vitc_value x = F32(xv, 2, 3), scale = F32(sv, 3), bias = F32(bv, 3), out[3];
  CHECK(RUN(LayerNormalization, 17, ((const vitc_value *[]){&x, &scale, &bias}), 3, out, attr_int("axis", -1)) ==
        VITC_OK);
  check_f32(&out[0], (double[]){-0.434520766, -0.267260383, 2.572603829, -0.455582879, -0.202030138, 2.526391792}, 6,
            1e-5);
  CHECK(out[1].rank == 2 && out[1].dims[0] == 2 && out[1].dims[1] == 1 && out[1].dtype == VITC_F32);
  check_f32(&out[1], (double[]){2.333333333, 0.833333333}, 2, 1e-6);
  check_f32(&out[2], (double[]){0.801781149, 0.606090414}, 2, 1e-6);
  free_outputs(out, 3);

  /* axis 1 of [2,2,2] normalises the trailing [2,2] block; scale [2,2], no bias. */
  float x3v[] = {1, 2, 3, 5, 0, -1, 2, 2}, s2v[] = {1, 2, 0.5f, 1};
  vitc_value x3 = F32(x3v, 2, 2, 2), s2 = F32(s2v, 2, 2);
  CHECK(RUN(LayerNormalization, 17, ((const vitc_value *[]){&x3, &s2}), 1, out, attr_int("axis", 1)) == VITC_OK);
  check_f32(&out[0],
            (double[]){-1.183213252, -1.014182788, 0.084515232, 1.521274181, -0.577348559, -2.694293273, 0.481123799,
                       0.962247598},
            8, 1e-5);
  free_outputs(out, 1);

  /* A scale of 3 values cannot scale the trailing [2,2] block. */
  CHECK(RUN(LayerNormalization, 17, ((const vitc_value *[]){&x3, &scale}), 1, out, attr_int("axis", 1)) ==
        VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "scale f32[3] does not broadcast to the last 2 dims of f32[2,2,2]");
  CHECK(RUN(LayerNormalization, 17, ((const vitc_value *[]){&x3, &s2}), 1, out, attr_int("axis", 3)) ==
        VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "axis 3 is out of range for rank 3");
}

static void test_batch_norm(void) {
  float xv[] = {1, 2, 3, 4}, sv[] = {1, 2}, bv[] = {0, 1}, mv[] = {1.5f, 3}, vv[] = {0.25f, 4};
  vitc_value x = F32(xv, 1, 2, 1, 2), s = F32(sv, 2), b = F32(bv, 2), m = F32(mv, 2), v = F32(vv, 2), out[1];
  CHECK(RUN(BatchNormalization, 15, ((const vitc_value *[]){&x, &s, &b, &m, &v}), 1, out, attr_int("unused", 0)) ==
        VITC_OK);
  check_f32(&out[0], (double[]){-0.999980001, 0.999980001, 1, 1.99999875}, 4, 1e-6);
  free_outputs(out, 1);
  CHECK(RUN(BatchNormalization, 15, ((const vitc_value *[]){&x, &s, &b, &m, &v}), 1, out,
            attr_int("training_mode", 1)) == VITC_ERR_UNSUPPORTED);
  CHECK_MSG(err.msg, "training_mode=1");
  vitc_value short_mean = F32(mv, 1);
  CHECK(RUN(BatchNormalization, 15, ((const vitc_value *[]){&x, &s, &b, &short_mean, &v}), 1, out,
            attr_int("unused", 0)) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "mean is f32[1], expected 2 elements");
}

static void test_instance_and_group_norm(void) {
  float xi[] = {1, 2, 3, 2, 4, 9}, si[] = {1, 0.5f}, bi[] = {0, 1};
  vitc_value x = F32(xi, 1, 2, 3), s = F32(si, 2), b = F32(bi, 2), out[1];
  CHECK(RUN(InstanceNormalization, 6, ((const vitc_value *[]){&x, &s, &b}), 1, out, attr_int("unused", 0)) == VITC_OK);
  check_f32(&out[0], (double[]){-1.224735686, 0, 1.224735686, 0.490475629, 0.830158543, 1.679365829}, 6, 1e-5);
  free_outputs(out, 1);

  /* [1,4,2] in 2 groups: opset 18 scales per group, opset 21 per channel. */
  float xg[] = {1, 2, 3, 4, 0, 2, 4, 10}, s18[] = {2, 0.5f}, b18[] = {1, -1}, s21[] = {1, 2, 3, 4},
        b21[] = {0, 0.1f, 0.2f, 0.3f};
  vitc_value g = F32(xg, 1, 4, 2), gs18 = F32(s18, 2), gb18 = F32(b18, 2), gs21 = F32(s21, 4), gb21 = F32(b21, 4);
  CHECK(RUN(GroupNormalization, 18, ((const vitc_value *[]){&g, &gs18, &gb18}), 1, out, attr_int("num_groups", 2)) ==
        VITC_OK);
  check_f32(&out[0],
            (double[]){-1.68327084, 0.105576387, 1.894423613, 3.68327084, -1.534522293, -1.267261146, -1,
                       -0.198216561},
            8, 1e-5);
  free_outputs(out, 1);
  CHECK(RUN(GroupNormalization, 21, ((const vitc_value *[]){&g, &gs21, &gb21}), 1, out, attr_int("num_groups", 2)) ==
        VITC_OK);
  check_f32(&out[0],
            (double[]){-1.34163542, -0.447211807, 0.994423613, 2.78327084, -3.007133758, -1.403566879, 0.3,
                       6.714267515},
            8, 1e-5);
  free_outputs(out, 1);
  CHECK(RUN(GroupNormalization, 18, ((const vitc_value *[]){&g, &gs21, &gb21}), 1, out, attr_int("num_groups", 2)) ==
        VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "scale (one per group) is f32[4], expected 2 elements");
  CHECK(RUN(GroupNormalization, 21, ((const vitc_value *[]){&g, &gs21, &gb21}), 1, out, attr_int("num_groups", 3)) ==
        VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "num_groups 3 does not divide 4 channels");
}

static void test_lp_and_mvn(void) {
  float xl[] = {3, 4, 1, -3};
  vitc_value x = F32(xl, 2, 2), out[1];
  CHECK(RUN(LpNormalization, 1, ((const vitc_value *[]){&x}), 1, out, attr_int("p", 2)) == VITC_OK);
  check_f32(&out[0], (double[]){0.6, 0.8, 0.316227766, -0.948683298}, 4, 1e-6);
  free_outputs(out, 1);
  CHECK(RUN(LpNormalization, 1, ((const vitc_value *[]){&x}), 1, out, attr_int("p", 1), attr_int("axis", 0)) == VITC_OK);
  check_f32(&out[0], (double[]){0.75, 0.571428571, 0.25, -0.428571429}, 4, 1e-6);
  free_outputs(out, 1);
  CHECK(RUN(LpNormalization, 1, ((const vitc_value *[]){&x}), 1, out, attr_int("p", 3)) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "p is 3, expected 1 or 2");

  float xm[] = {1, 2, 3, 5, 0, 4, -1, 1};
  vitc_value m = F32(xm, 2, 2, 1, 2);
  CHECK(RUN(MeanVarianceNormalization, 13, ((const vitc_value *[]){&m}), 1, out, attr_int("unused", 0)) == VITC_OK);
  check_f32(&out[0],
            (double[]){-0.507092552, 0.169030851, 0.447213595, 1.341640786, -1.183215956, 1.521277657, -1.341640786,
                       -0.447213595},
            8, 1e-5);
  free_outputs(out, 1);
}

int main(void) {
  test_layer_norm();
  test_batch_norm();
  test_instance_and_group_norm();
  test_lp_and_mvn();
  CHECK_DONE();
}

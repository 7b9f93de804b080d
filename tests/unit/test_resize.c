/* test_resize.c — Resize against ONNX's spec examples and values computed once with a numpy transcription
 * of ONNX's recursive reference interpolation (independent of vitc's axis-by-axis one). */
#include "check.h"
#include "op_harness.h"

#define RUN(ins, out, ...)                                                                                 \
  run_op(VITC_OP_Resize, 19, ins, (int)(sizeof ins / sizeof *ins), out, 1, (vitc_attr[]){__VA_ARGS__},       \
         (int)(sizeof((vitc_attr[]){__VA_ARGS__}) / sizeof(vitc_attr)), &err)

static vitc_error err;
static float x22v[] = {1, 2, 3, 4};
static float x44v[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static float no_roi_v[1];

static void check_out(const vitc_value *v, int64_t h, int64_t w, const double *want, double tol) {
  CHECK(v->rank == 4 && v->dims[0] == 1 && v->dims[1] == 1 && v->dims[2] == h && v->dims[3] == w);
  if (v->rank != 4 || v->dims[2] != h || v->dims[3] != w) return;
  for (int64_t i = 0; i < h * w; i++) CHECK_NEAR(((float *)v->data)[i], want[i], tol);
}

static void test_linear_and_nearest(void) {
  float up2[] = {1, 1, 2, 2}, down[] = {1, 1, 0.6f, 0.6f};
  float x24v[] = {1, 2, 3, 4, 5, 6, 7, 8};
  vitc_value x22 = F32(x22v, 1, 1, 2, 2), x24 = F32(x24v, 1, 1, 2, 4), roi = F32(no_roi_v, 0);
  vitc_value s_up = F32(up2, 4), s_down = F32(down, 4), out[1];

  /* Spec: resize_upsample_scales_linear (half_pixel). */
  CHECK(RUN(((const vitc_value *[]){&x22, &roi, &s_up}), out, attr_str("mode", "linear")) == VITC_OK);
  check_out(&out[0], 4, 4,
            (double[]){1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4}, 1e-6);
  free_outputs(out, 1);

  /* Spec: resize_upsample_scales_linear_half_pixel_symmetric, 2 x 2 by [2.3, 2.94] into 4 x 5. */
  float odd[] = {1, 1, 2.3f, 2.94f};
  vitc_value s_odd = F32(odd, 4);
  CHECK(RUN(((const vitc_value *[]){&x22, &roi, &s_odd}), out, attr_str("mode", "linear"),
            attr_str("coordinate_transformation_mode", "half_pixel_symmetric")) == VITC_OK);
  check_out(&out[0], 4, 5,
            (double[]){1, 1.15986395, 1.5, 1.84013605, 2, 1.56521738, 1.72508133, 2.06521738, 2.40535343, 2.56521738,
                       2.43478262, 2.59464657, 2.93478262, 3.27491867, 3.43478262, 3, 3.15986395, 3.5, 3.84013605, 4},
            1e-5);
  free_outputs(out, 1);

  /* Spec: resize_downsample_scales_nearest: floor(2 * 0.6) x floor(4 * 0.6) = 1 x 2. */
  CHECK(RUN(((const vitc_value *[]){&x24, &roi, &s_down}), out, attr_str("mode", "nearest")) == VITC_OK);
  check_out(&out[0], 1, 2, (double[]){1, 3}, 0);
  free_outputs(out, 1);

  /* Spec: resize_upsample_sizes_nearest, sizes [1,1,7,8] with an empty scales placeholder. */
  int64_t sz[] = {1, 1, 7, 8};
  vitc_value sizes = I64(sz, 4), no_scales = F32(no_roi_v, 0);
  CHECK(RUN(((const vitc_value *[]){&x22, &roi, &no_scales, &sizes}), out, attr_str("mode", "nearest")) == VITC_OK);
  double want[56];
  for (int i = 0; i < 56; i++) want[i] = (i / 8 < 4 ? 1 : 3) + (i % 8 >= 4);
  check_out(&out[0], 7, 8, want, 0);
  free_outputs(out, 1);

  /* not_larger over axes [2,3]: sizes [7,8] become a common scale 3.5, so 7 x 7. */
  int64_t sz2[] = {7, 8}, hw[] = {2, 3};
  vitc_value sizes2 = I64(sz2, 2);
  CHECK(RUN(((const vitc_value *[]){&x22, &roi, &no_scales, &sizes2}), out, attr_str("mode", "nearest"),
            attr_ints("axes", 2, hw), attr_str("keep_aspect_ratio_policy", "not_larger")) == VITC_OK);
  for (int i = 0; i < 49; i++) want[i] = (i / 7 < 4 ? 1 : 3) + (i % 7 >= 4);
  check_out(&out[0], 7, 7, want, 0);
  free_outputs(out, 1);

  /* 1-D nearest_mode=ceil, asymmetric, scale 1.5. */
  float x4v[] = {1, 2, 3, 4}, s15[] = {1.5f};
  vitc_value x4 = F32(x4v, 4), s = F32(s15, 1);
  CHECK(RUN(((const vitc_value *[]){&x4, &roi, &s}), out, attr_str("nearest_mode", "ceil"),
            attr_str("coordinate_transformation_mode", "asymmetric")) == VITC_OK);
  CHECK(out[0].rank == 1 && out[0].dims[0] == 6);
  double want6[] = {1, 2, 3, 3, 4, 4};
  for (int i = 0; i < 6 && out[0].dims[0] == 6; i++) CHECK_NEAR(((float *)out[0].data)[i], want6[i], 0);
  free_outputs(out, 1);
}

static void test_cubic_and_antialias(void) {
  float up2[] = {1, 1, 2, 2}, down6[] = {1, 1, 0.6f, 0.6f}, down8[] = {1, 1, 0.8f, 0.8f};
  vitc_value x44 = F32(x44v, 1, 1, 4, 4), roi = F32(no_roi_v, 0), s_up = F32(up2, 4), s6 = F32(down6, 4),
             s8 = F32(down8, 4), out[1];

  /* Spec: resize_upsample_scales_cubic_align_corners. */
  CHECK(RUN(((const vitc_value *[]){&x44, &roi, &s_up}), out, attr_str("mode", "cubic"),
            attr_str("coordinate_transformation_mode", "align_corners")) == VITC_OK);
  check_out(&out[0], 8, 8,
            (double[]){1,           1.341107872, 1.800291545, 2.329446064, 2.670553936, 3.199708455, 3.658892128,
                       4,           2.364431487, 2.705539359, 3.164723032, 3.693877551, 4.034985423, 4.564139942,
                       5.023323615, 5.364431487, 4.201166181, 4.542274052, 5.001457726, 5.530612245, 5.871720117,
                       6.400874636, 6.860058309, 7.201166181, 6.317784257, 6.658892128, 7.118075802, 7.647230321,
                       7.988338192, 8.517492711, 8.976676385, 9.317784257, 7.682215743, 8.023323615, 8.482507289,
                       9.011661808, 9.352769679, 9.881924198, 10.341107872, 10.682215743, 9.798833819, 10.139941691,
                       10.599125364, 11.128279883, 11.469387755, 11.998542274, 12.457725948, 12.798833819,
                       11.635568513, 11.976676385, 12.435860058, 12.965014577, 13.306122449, 13.835276968,
                       14.294460641, 14.635568513, 13, 13.341107872, 13.800291545, 14.329446064, 14.670553936,
                       15.199708455, 15.658892128, 16},
            1e-5);
  free_outputs(out, 1);

  /* Spec: resize_downsample_scales_cubic_A_n0p5_exclude_outside. */
  CHECK(RUN(((const vitc_value *[]){&x44, &roi, &s8}), out, attr_str("mode", "cubic"), attr_float("cubic_coeff_a", -0.5),
            attr_int("exclude_outside", 1)) == VITC_OK);
  check_out(&out[0], 3, 3,
            (double[]){1.368126716, 2.669501345, 4.013336632, 6.573625231, 7.87499986, 9.218835148, 11.94896638,
                       13.250341009, 14.594176296},
            1e-5);
  free_outputs(out, 1);

  /* Spec: resize_downsample_scales_linear_antialias, and its cubic twin with A = -0.5. */
  CHECK(RUN(((const vitc_value *[]){&x44, &roi, &s6}), out, attr_str("mode", "linear"), attr_int("antialias", 1)) ==
        VITC_OK);
  check_out(&out[0], 2, 2, (double[]){2.875, 4.5, 9.375, 11}, 1e-5);
  free_outputs(out, 1);
  CHECK(RUN(((const vitc_value *[]){&x44, &roi, &s6}), out, attr_str("mode", "cubic"), attr_int("antialias", 1),
            attr_float("cubic_coeff_a", -0.5)) == VITC_OK);
  check_out(&out[0], 2, 2, (double[]){2.666666533, 4.380726492, 9.522906369, 11.236966328}, 1e-5);
  free_outputs(out, 1);
}

static void test_crop_and_resize(void) {
  /* Spec: resize_tf_crop_and_resize_extrapolation_value. */
  float roi_v[] = {0, 0, 0.4f, 0.6f, 1, 1, 1.2f, 1.7f}, no_scales_v[1];
  int64_t sz[] = {1, 1, 3, 3};
  vitc_value x44 = F32(x44v, 1, 1, 4, 4), roi = F32(roi_v, 8), no_scales = F32(no_scales_v, 0), sizes = I64(sz, 4),
             out[1];
  CHECK(RUN(((const vitc_value *[]){&x44, &roi, &no_scales, &sizes}), out, attr_str("mode", "linear"),
            attr_str("coordinate_transformation_mode", "tf_crop_and_resize"),
            attr_float("extrapolation_value", 10)) == VITC_OK);
  check_out(&out[0], 3, 3, (double[]){7.6, 10, 10, 12.4, 10, 10, 10, 10, 10}, 1e-5);
  free_outputs(out, 1);
  vitc_value no_roi = F32(no_scales_v, 0);
  CHECK(RUN(((const vitc_value *[]){&x44, &no_roi, &no_scales, &sizes}), out,
            attr_str("coordinate_transformation_mode", "tf_crop_and_resize")) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "tf_crop_and_resize needs roi");
}

static void test_resize_errors(void) {
  float up2[] = {1, 1, 2, 2}, three[] = {1, 2, 2};
  int64_t sz[] = {1, 1, 4, 4};
  vitc_value x22 = F32(x22v, 1, 1, 2, 2), roi = F32(no_roi_v, 0), scales = F32(up2, 4), sizes = I64(sz, 4),
             short_scales = F32(three, 3), unknown = F32(NULL, 4), out[1];
  CHECK(RUN(((const vitc_value *[]){&x22, &roi}), out, attr_str("mode", "linear")) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "neither scales nor sizes is given");
  CHECK_MSG(err.msg, "(Resize)");
  CHECK(RUN(((const vitc_value *[]){&x22, &roi, &scales, &sizes}), out, attr_str("mode", "linear")) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "scales and sizes are both given");
  CHECK(RUN(((const vitc_value *[]){&x22, &roi, &short_scales}), out, attr_str("mode", "linear")) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "scales has 3 values for 4 axes");
  CHECK(RUN(((const vitc_value *[]){&x22, &roi, &unknown}), out, attr_str("mode", "linear")) == VITC_ERR_DATA_DEPENDENT);
  CHECK_MSG(err.msg, "data-dependent shape: scales");
  CHECK(RUN(((const vitc_value *[]){&x22, &roi, &scales}), out, attr_str("mode", "bilinear")) == VITC_ERR_UNSUPPORTED);
  CHECK_MSG(err.msg, "mode 'bilinear' is not supported");
}

int main(void) {
  test_linear_and_nearest();
  test_cubic_and_antialias();
  test_crop_and_resize();
  test_resize_errors();
  CHECK_DONE();
}

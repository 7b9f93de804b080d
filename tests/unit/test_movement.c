/* test_movement.c — the movement ops (ir/ops/movement.c, transpose.c, slice.c) against values computed
 * by hand or once with numpy (pasted), plus their error messages. */
#include "move_harness.h"

static float iota_f[48] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
                           24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47};

static void test_transpose(void) {
  vitc_value x = val(VITC_F32, iota_f, 3, 2, 3, 4), out[1];
  const vitc_value *in[] = {&x};
  int64_t perm[] = {1, 0, 2};
  vitc_attr a = {.name = "perm", .type = VITC_ATTR_INTS, .n = 3, .ints = perm};
  CHECK(run_op(VITC_OP_Transpose, harness_opset, in, 1, out, 1, &a, 1, &harness_err) == VITC_OK);
  CHECK_DIMS(&out[0], 3, 2, 4);
  CHECK_VALUES(&out[0], 0, 1, 2, 3, 12, 13, 14, 15, 4, 5, 6, 7, 16, 17, 18, 19, 8, 9, 10, 11, 20, 21, 22, 23);
  free_outputs(out, 1);
  CHECK(run_op(VITC_OP_Transpose, harness_opset, in, 1, out, 1, NULL, 0, &harness_err) ==
        VITC_OK); /* default: reversed dims */
  CHECK_DIMS(&out[0], 4, 3, 2);
  CHECK_VALUES(&out[0], 0, 12, 4, 16, 8, 20, 1, 13, 5, 17, 9, 21, 2, 14, 6, 18, 10, 22, 3, 15, 7, 19, 11, 23);
  free_outputs(out, 1);
  int64_t bad[] = {0, 0, 1};
  a.ints = bad;
  CHECK(run_op(VITC_OP_Transpose, harness_opset, in, 1, out, 1, &a, 1, &harness_err) == VITC_ERR_INVALID);
  CHECK_MSG(harness_err.msg, "perm repeats axis 0");
}

/* Larger transposes through the tiled path (innermost dim moved) and the run-copy path (Swin's window
 * partition keeps channels innermost), for 1-, 2- and 8-byte elements; expected from index formulas. */
static void test_transpose_paths(void) {
  enum { B = 2, R = 37, C = 45 };
  static int64_t x64[B * R * C];
  static uint8_t x8[B * R * C];
  static uint16_t x16[B * R * C];
  for (int i = 0; i < B * R * C; i++) x64[i] = i * 7 + 1, x8[i] = (uint8_t)(i * 13), x16[i] = (uint16_t)(i * 3);
  int64_t perm[] = {0, 2, 1};
  vitc_attr a = {.name = "perm", .type = VITC_ATTR_INTS, .n = 3, .ints = perm};
  vitc_value vs[3] = {val(VITC_I64, x64, 3, B, R, C), val(VITC_U8, x8, 3, B, R, C), val(VITC_F16, x16, 3, B, R, C)};
  for (int t = 0; t < 3; t++) {
    vitc_value out[1];
    const vitc_value *in[] = {&vs[t]};
    CHECK(run_op(VITC_OP_Transpose, harness_opset, in, 1, out, 1, &a, 1, &harness_err) == VITC_OK);
    CHECK_DIMS(&out[0], B, C, R);
    bool ok = true;
    for (int b = 0; b < B; b++)
      for (int c = 0; c < C; c++)
        for (int r = 0; r < R; r++) {
          int src = (b * R + r) * C + c, dst = (b * C + c) * R + r;
          size_t es = vitc_dtype_size(vs[t].dtype);
          ok &= !memcmp((char *)out[0].data + dst * es, (char *)vs[t].data + src * es, es);
        }
    CHECK(ok);
    free_outputs(out, 1);
  }
  /* [1, 2, 4, 2, 4, 3] -> perm [0, 1, 3, 2, 4, 5]: windows of 4x4 pixels with 3 channels */
  static float img[2 * 4 * 2 * 4 * 3];
  for (int i = 0; i < 96; i++) img[i] = (float)i;
  int64_t wperm[] = {0, 1, 3, 2, 4, 5};
  vitc_attr wa = {.name = "perm", .type = VITC_ATTR_INTS, .n = 6, .ints = wperm};
  vitc_value x = val(VITC_F32, img, 6, 1, 2, 4, 2, 4, 3), out[1];
  const vitc_value *in[] = {&x};
  CHECK(run_op(VITC_OP_Transpose, harness_opset, in, 1, out, 1, &wa, 1, &harness_err) == VITC_OK);
  CHECK_DIMS(&out[0], 1, 2, 2, 4, 4, 3);
  bool ok = true;
  for (int h = 0; h < 2; h++)
    for (int w = 0; w < 2; w++)
      for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
          for (int c = 0; c < 3; c++)
            ok &= ((float *)out[0].data)[(((h * 2 + w) * 4 + i) * 4 + j) * 3 + c] == img[(((h * 4 + i) * 2 + w) * 4 + j) * 3 + c];
  CHECK(ok);
  free_outputs(out, 1);
}

static void test_reshape(void) {
  vitc_value x = val(VITC_F32, iota_f, 3, 2, 3, 4), out[1];
  int64_t s1[] = {0, -1}, s2[] = {-1, 0}, s3[] = {5, -1}, s4[] = {-1, -1}, s5[] = {4, 5};
  vitc_value shape = val(VITC_I64, s1, 1, 2);
  const vitc_value *in[] = {&x, &shape};
  CHECK(run_op(VITC_OP_Reshape, harness_opset, in, 2, out, 1, NULL, 0, &harness_err) == VITC_OK);
  CHECK_DIMS(&out[0], 2, 12);
  CHECK_VALUES(&out[0], 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23);
  free_outputs(out, 1);
  shape.data = s2;
  CHECK(run_op(VITC_OP_Reshape, harness_opset, in, 2, out, 1, NULL, 0, &harness_err) == VITC_OK);
  CHECK_DIMS(&out[0], 8, 3);
  free_outputs(out, 1);
  shape.data = s3;
  CHECK(run_op(VITC_OP_Reshape, harness_opset, in, 2, out, 1, NULL, 0, &harness_err) == VITC_ERR_INVALID);
  CHECK_MSG(harness_err.msg, "cannot reshape f32[2,3,4] (24 elements) to [5,-1]");
  CHECK_MSG(harness_err.msg, "node 'n' (Reshape)");
  shape.data = s4;
  CHECK(run_op(VITC_OP_Reshape, harness_opset, in, 2, out, 1, NULL, 0, &harness_err) == VITC_ERR_INVALID);
  CHECK_MSG(harness_err.msg, "more than one -1");
  shape.data = s5;
  CHECK(run_op(VITC_OP_Reshape, harness_opset, in, 2, out, 1, NULL, 0, &harness_err) == VITC_ERR_INVALID);
  CHECK_MSG(harness_err.msg, "to [4,5] (20 elements)");
  /* allowzero: a 0 is a real zero-size dim */
  int64_t s6[] = {4, 0};
  vitc_value empty = val(VITC_F32, iota_f, 2, 0, 4), shape6 = val(VITC_I64, s6, 1, 2);
  const vitc_value *in6[] = {&empty, &shape6};
  vitc_attr allowzero = attr_int("allowzero", 1);
  CHECK(run_op(VITC_OP_Reshape, harness_opset, in6, 2, out, 1, &allowzero, 1, &harness_err) == VITC_OK);
  CHECK_DIMS(&out[0], 4, 0);
  free_outputs(out, 1);
  /* an unknown shape input is a data-dependent shape */
  shape.data = NULL;
  CHECK(run_op(VITC_OP_Reshape, harness_opset, in, 2, out, 1, NULL, 0, &harness_err) == VITC_ERR_DATA_DEPENDENT);
  CHECK_MSG(harness_err.msg, "data-dependent shape");
}

static void test_flatten_squeeze_unsqueeze(void) {
  vitc_value x = val(VITC_F32, iota_f, 3, 2, 3, 4), out[1];
  const vitc_value *in[] = {&x};
  struct { int64_t axis, d0, d1; } cases[] = {{-1, 6, 4}, {0, 1, 24}, {3, 24, 1}, {1, 2, 12}};
  for (int i = 0; i < 4; i++) {
    vitc_attr a = attr_int("axis", cases[i].axis);
    CHECK(run_op(VITC_OP_Flatten, harness_opset, in, 1, out, 1, &a, 1, &harness_err) == VITC_OK);
    CHECK_DIMS(&out[0], cases[i].d0, cases[i].d1);
    free_outputs(out, 1);
  }
  vitc_attr bad = attr_int("axis", 4);
  CHECK(run_op(VITC_OP_Flatten, harness_opset, in, 1, out, 1, &bad, 1, &harness_err) == VITC_ERR_INVALID);
  CHECK_MSG(harness_err.msg, "axis 4 is out of range for Flatten of rank 3");

  vitc_value y = val(VITC_F32, iota_f, 4, 1, 3, 1, 2);
  int64_t ax1[] = {-2}, ax2[] = {1}, ax3[] = {0, -1}, ax4[] = {5};
  vitc_value axes = val(VITC_I64, ax1, 1, 1);
  const vitc_value *sq[] = {&y, &axes};
  CHECK(run_op(VITC_OP_Squeeze, harness_opset, sq, 2, out, 1, NULL, 0, &harness_err) == VITC_OK);
  CHECK_DIMS(&out[0], 1, 3, 2);
  CHECK_VALUES(&out[0], 0, 1, 2, 3, 4, 5);
  free_outputs(out, 1);
  const vitc_value *sq_all[] = {&y, NULL};
  CHECK(run_op(VITC_OP_Squeeze, harness_opset, sq_all, 2, out, 1, NULL, 0, &harness_err) == VITC_OK);
  CHECK_DIMS(&out[0], 3, 2);
  free_outputs(out, 1);
  axes.data = ax2;
  CHECK(run_op(VITC_OP_Squeeze, harness_opset, sq, 2, out, 1, NULL, 0, &harness_err) == VITC_ERR_INVALID);
  CHECK_MSG(harness_err.msg, "cannot squeeze axis 1 of size 3");

  vitc_value z = val(VITC_F32, iota_f, 2, 3, 2), uaxes = val(VITC_I64, ax3, 1, 2);
  const vitc_value *un[] = {&z, &uaxes};
  CHECK(run_op(VITC_OP_Unsqueeze, harness_opset, un, 2, out, 1, NULL, 0, &harness_err) == VITC_OK);
  CHECK_DIMS(&out[0], 1, 3, 2, 1);
  CHECK_VALUES(&out[0], 0, 1, 2, 3, 4, 5);
  free_outputs(out, 1);
  uaxes = val(VITC_I64, ax4, 1, 1);
  CHECK(run_op(VITC_OP_Unsqueeze, harness_opset, un, 2, out, 1, NULL, 0, &harness_err) == VITC_ERR_INVALID);
  CHECK_MSG(harness_err.msg, "axis 5 is out of range for rank 3");
}

static void test_concat_split(void) {
  int32_t a[] = {1, 2, 3, 4}, b[] = {5, 6, 7, 8, 9, 10};
  vitc_value va = val(VITC_I32, a, 2, 2, 2), vb = val(VITC_I32, b, 2, 2, 3), out[5];
  const vitc_value *in[] = {&va, &vb};
  vitc_attr axis = attr_int("axis", -1);
  CHECK(run_op(VITC_OP_Concat, harness_opset, in, 2, out, 1, &axis, 1, &harness_err) == VITC_OK);
  CHECK_DIMS(&out[0], 2, 5);
  CHECK_VALUES(&out[0], 1, 2, 5, 6, 7, 3, 4, 8, 9, 10);
  free_outputs(out, 1);
  axis.i = 0;
  CHECK(run_op(VITC_OP_Concat, harness_opset, in, 2, out, 1, &axis, 1, &harness_err) == VITC_ERR_INVALID);
  CHECK_MSG(harness_err.msg, "Concat input 1 is i32[2,3], input 0 is i32[2,2]: they differ off axis 0");
  axis.i = 2;
  CHECK(run_op(VITC_OP_Concat, harness_opset, in, 2, out, 1, &axis, 1, &harness_err) == VITC_ERR_INVALID);
  CHECK_MSG(harness_err.msg, "axis 2 is out of range for rank 2");

  /* uneven equal split (opset 18): 5 into 3 is 2, 2, 1 */
  float v[] = {1, 2, 3, 4, 5};
  vitc_value x = val(VITC_F32, v, 1, 5);
  const vitc_value *sin1[] = {&x};
  CHECK(run_op(VITC_OP_Split, harness_opset, sin1, 1, out, 3, NULL, 0, &harness_err) == VITC_OK);
  CHECK_DIMS(&out[0], 2);
  CHECK_DIMS(&out[2], 1);
  CHECK_VALUES(&out[0], 1, 2);
  CHECK_VALUES(&out[1], 3, 4);
  CHECK_VALUES(&out[2], 5);
  free_outputs(out, 3);
  harness_opset = 13;
  CHECK(run_op(VITC_OP_Split, harness_opset, sin1, 1, out, 3, NULL, 0, &harness_err) == VITC_ERR_INVALID);
  CHECK_MSG(harness_err.msg, "an axis of size 5 does not split into 3 parts");
  harness_opset = 18;
  /* explicit sizes along axis 1 of [2, 3] */
  int64_t sizes[] = {1, 2}, bad_sizes[] = {2, 2};
  vitc_value y = val(VITC_I32, b, 2, 2, 3), vs = val(VITC_I64, sizes, 1, 2);
  const vitc_value *sin2[] = {&y, &vs};
  vitc_attr ax1 = attr_int("axis", 1);
  CHECK(run_op(VITC_OP_Split, harness_opset, sin2, 2, out, 2, &ax1, 1, &harness_err) == VITC_OK);
  CHECK_DIMS(&out[0], 2, 1);
  CHECK_DIMS(&out[1], 2, 2);
  CHECK_VALUES(&out[0], 5, 8);
  CHECK_VALUES(&out[1], 6, 7, 9, 10);
  free_outputs(out, 2);
  vs.data = bad_sizes;
  CHECK(run_op(VITC_OP_Split, harness_opset, sin2, 2, out, 2, &ax1, 1, &harness_err) == VITC_ERR_INVALID);
  CHECK_MSG(harness_err.msg, "Split sizes add up to 4, the axis has 3");
}

static void test_slice(void) {
  int64_t ten[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  int64_t st1[] = {-1}, en1[] = {INT64_MIN}, sp1[] = {-2};
  vitc_value x = val(VITC_I64, ten, 1, 10), starts = val(VITC_I64, st1, 1, 1), ends = val(VITC_I64, en1, 1, 1);
  vitc_value steps = val(VITC_I64, sp1, 1, 1), out[1];
  const vitc_value *in[] = {&x, &starts, &ends, NULL, &steps};
  CHECK(run_op(VITC_OP_Slice, harness_opset, in, 5, out, 1, NULL, 0, &harness_err) == VITC_OK);
  CHECK_VALUES(&out[0], 9, 7, 5, 3, 1);
  free_outputs(out, 1);

  vitc_value y = val(VITC_F32, iota_f, 2, 3, 4);
  int64_t st2[] = {0, 1}, en2[] = {INT64_MAX, 3}, ax2[] = {0, -1};
  vitc_value s2 = val(VITC_I64, st2, 1, 2), e2 = val(VITC_I64, en2, 1, 2), a2 = val(VITC_I64, ax2, 1, 2);
  const vitc_value *in2[] = {&y, &s2, &e2, &a2};
  CHECK(run_op(VITC_OP_Slice, harness_opset, in2, 4, out, 1, NULL, 0, &harness_err) == VITC_OK);
  CHECK_DIMS(&out[0], 3, 2);
  CHECK_VALUES(&out[0], 1, 2, 5, 6, 9, 10);
  free_outputs(out, 1);

  /* y[:, 2::-1] with end -1000 clamping to before the front */
  int32_t st3[] = {2}, en3[] = {-1000}, ax3[] = {1}, sp3[] = {-1};
  vitc_value s3 = val(VITC_I32, st3, 1, 1), e3 = val(VITC_I32, en3, 1, 1), a3 = val(VITC_I32, ax3, 1, 1);
  vitc_value p3 = val(VITC_I32, sp3, 1, 1);
  const vitc_value *in3[] = {&y, &s3, &e3, &a3, &p3};
  CHECK(run_op(VITC_OP_Slice, harness_opset, in3, 5, out, 1, NULL, 0, &harness_err) == VITC_OK);
  CHECK_DIMS(&out[0], 3, 3);
  CHECK_VALUES(&out[0], 2, 1, 0, 6, 5, 4, 10, 9, 8);
  free_outputs(out, 1);

  /* y[::2, ::-3] */
  int64_t st4[] = {0, -1}, en4[] = {INT64_MAX, INT64_MIN}, sp4[] = {2, -3};
  vitc_value s4 = val(VITC_I64, st4, 1, 2), e4 = val(VITC_I64, en4, 1, 2), p4 = val(VITC_I64, sp4, 1, 2);
  const vitc_value *in4[] = {&y, &s4, &e4, NULL, &p4};
  CHECK(run_op(VITC_OP_Slice, harness_opset, in4, 5, out, 1, NULL, 0, &harness_err) == VITC_OK);
  CHECK_DIMS(&out[0], 2, 2);
  CHECK_VALUES(&out[0], 3, 0, 11, 8);
  free_outputs(out, 1);

  /* start past the end: empty */
  int64_t st5[] = {7}, en5[] = {9};
  vitc_value s5 = val(VITC_I64, st5, 1, 1), e5 = val(VITC_I64, en5, 1, 1), a5 = val(VITC_I64, ax3, 1, 1);
  a5.dtype = VITC_I32;
  const vitc_value *in5[] = {&y, &s5, &e5, &a5};
  CHECK(run_op(VITC_OP_Slice, harness_opset, in5, 4, out, 1, NULL, 0, &harness_err) == VITC_OK);
  CHECK_DIMS(&out[0], 3, 0);
  free_outputs(out, 1);

  int64_t zero[] = {0};
  steps = val(VITC_I64, zero, 1, 1);
  CHECK(run_op(VITC_OP_Slice, harness_opset, in, 5, out, 1, NULL, 0, &harness_err) == VITC_ERR_INVALID);
  CHECK_MSG(harness_err.msg, "Slice step on axis 0 is 0");
  int64_t ax_bad[] = {2};
  vitc_value abad = val(VITC_I64, ax_bad, 1, 1);
  const vitc_value *in6[] = {&x, &starts, &ends, &abad};
  CHECK(run_op(VITC_OP_Slice, harness_opset, in6, 4, out, 1, NULL, 0, &harness_err) == VITC_ERR_INVALID);
  CHECK_MSG(harness_err.msg, "axis 2 is out of range for rank 1");
}

static void test_expand_tile(void) {
  float col[] = {1, 2, 3};
  int64_t shape[] = {2, 1, 4};
  vitc_value x = val(VITC_F32, col, 2, 3, 1), s = val(VITC_I64, shape, 1, 3), out[1];
  const vitc_value *in[] = {&x, &s};
  CHECK(run_op(VITC_OP_Expand, harness_opset, in, 2, out, 1, NULL, 0, &harness_err) == VITC_OK);
  CHECK_DIMS(&out[0], 2, 3, 4);
  CHECK_VALUES(&out[0], 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
  free_outputs(out, 1);
  int64_t bad[] = {2, 4};
  s = val(VITC_I64, bad, 1, 2);
  CHECK(run_op(VITC_OP_Expand, harness_opset, in, 2, out, 1, NULL, 0, &harness_err) == VITC_ERR_INVALID);
  CHECK_MSG(harness_err.msg, "do not broadcast");

  int16_t m[] = {1, 2, 3, 4};
  int64_t reps[] = {2, 3};
  vitc_value t = val(VITC_I16, m, 2, 2, 2), r = val(VITC_I64, reps, 1, 2);
  const vitc_value *tin[] = {&t, &r};
  CHECK(run_op(VITC_OP_Tile, harness_opset, tin, 2, out, 1, NULL, 0, &harness_err) == VITC_OK);
  CHECK_DIMS(&out[0], 4, 6);
  CHECK_VALUES(&out[0], 1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4, 1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4);
  free_outputs(out, 1);
  r = val(VITC_I64, reps, 1, 1);
  CHECK(run_op(VITC_OP_Tile, harness_opset, tin, 2, out, 1, NULL, 0, &harness_err) == VITC_ERR_INVALID);
  CHECK_MSG(harness_err.msg, "Tile has 1 repeats for rank 2");
}

static void test_pad(void) {
  float m[] = {1, 2, 3, 4, 5, 6}, nine = 9;
  int64_t pads[] = {1, 0, 0, 2};
  vitc_value x = val(VITC_F32, m, 2, 2, 3), p = val(VITC_I64, pads, 1, 4), c = val(VITC_F32, &nine, 0), out[1];
  const vitc_value *in[] = {&x, &p, &c};
  CHECK(run_op(VITC_OP_Pad, harness_opset, in, 3, out, 1, NULL, 0, &harness_err) == VITC_OK);
  CHECK_DIMS(&out[0], 3, 5);
  CHECK_VALUES(&out[0], 9, 9, 9, 9, 9, 1, 2, 3, 9, 9, 4, 5, 6, 9, 9);
  free_outputs(out, 1);

  int32_t v[] = {1, 2, 3, 4};
  int64_t p23[] = {2, 3}, crop[] = {-1, 1};
  vitc_value xv = val(VITC_I32, v, 1, 4), pv = val(VITC_I64, p23, 1, 2);
  const vitc_value *vin[] = {&xv, &pv};
  const char *modes[] = {"reflect", "edge", "wrap"};
  const double expect[3][9] = {{3, 2, 1, 2, 3, 4, 3, 2, 1}, {1, 1, 1, 2, 3, 4, 4, 4, 4}, {3, 4, 1, 2, 3, 4, 1, 2, 3}};
  for (int k = 0; k < 3; k++) {
    vitc_attr mode = attr_str("mode", modes[k]);
    CHECK(run_op(VITC_OP_Pad, harness_opset, vin, 2, out, 1, &mode, 1, &harness_err) == VITC_OK);
    check_values_(&out[0], expect[k], 9, __LINE__);
    free_outputs(out, 1);
  }
  /* reflect wider than the axis: np.pad([1, 2, 3], (5, 4), 'reflect') */
  int64_t p54[] = {5, 4};
  vitc_value x3 = val(VITC_I32, v, 1, 3), pv54 = val(VITC_I64, p54, 1, 2);
  const vitc_value *in3[] = {&x3, &pv54};
  vitc_attr reflect = attr_str("mode", "reflect");
  CHECK(run_op(VITC_OP_Pad, harness_opset, in3, 2, out, 1, &reflect, 1, &harness_err) == VITC_OK);
  CHECK_VALUES(&out[0], 2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3);
  free_outputs(out, 1);
  /* negative pads crop */
  pv = val(VITC_I64, crop, 1, 2);
  CHECK(run_op(VITC_OP_Pad, harness_opset, vin, 2, out, 1, NULL, 0, &harness_err) == VITC_OK);
  CHECK_VALUES(&out[0], 2, 3, 4, 0);
  free_outputs(out, 1);
  /* axes input: reflect only the last axis of a [3, 4] */
  int64_t p12[] = {1, 2}, axes[] = {-1};
  vitc_value y = val(VITC_F32, iota_f, 2, 3, 4), py = val(VITC_I64, p12, 1, 2), ay = val(VITC_I64, axes, 1, 1);
  const vitc_value *yin[] = {&y, &py, NULL, &ay};
  CHECK(run_op(VITC_OP_Pad, harness_opset, yin, 4, out, 1, &reflect, 1, &harness_err) == VITC_OK);
  CHECK_DIMS(&out[0], 3, 7);
  CHECK_VALUES(&out[0], 1, 0, 1, 2, 3, 2, 1, 5, 4, 5, 6, 7, 6, 5, 9, 8, 9, 10, 11, 10, 9);
  free_outputs(out, 1);
  const vitc_value *yin2[] = {&y, &py};
  CHECK(run_op(VITC_OP_Pad, harness_opset, yin2, 2, out, 1, NULL, 0, &harness_err) == VITC_ERR_INVALID);
  CHECK_MSG(harness_err.msg, "Pad has 2 pads for 2 axes");
  vitc_attr bad_mode = attr_str("mode", "mirror");
  CHECK(run_op(VITC_OP_Pad, harness_opset, yin, 4, out, 1, &bad_mode, 1, &harness_err) == VITC_ERR_INVALID);
  CHECK_MSG(harness_err.msg, "Pad mode 'mirror'");
}

static void test_shape_size_constant(void) {
  vitc_value x = val(VITC_F32, NULL, 3, 2, 3, 4), out[1]; /* no data: Shape and Size read dims only */
  const vitc_value *in[] = {&x};
  CHECK(run_op(VITC_OP_Shape, harness_opset, in, 1, out, 1, NULL, 0, &harness_err) == VITC_OK);
  CHECK_DIMS(&out[0], 3);
  CHECK_VALUES(&out[0], 2, 3, 4);
  free_outputs(out, 1);
  vitc_attr range[] = {attr_int("start", -2), attr_int("end", 100)};
  CHECK(run_op(VITC_OP_Shape, harness_opset, in, 1, out, 1, range, 2, &harness_err) == VITC_OK);
  CHECK_VALUES(&out[0], 3, 4);
  free_outputs(out, 1);
  CHECK(run_op(VITC_OP_Size, harness_opset, in, 1, out, 1, NULL, 0, &harness_err) == VITC_OK);
  CHECK(out[0].rank == 0 && out[0].dtype == VITC_I64);
  CHECK_VALUES(&out[0], 24);
  free_outputs(out, 1);

  int64_t shape[] = {2, 2}, seven = 7;
  vitc_value s = val(VITC_I64, shape, 1, 2);
  const vitc_value *cin[] = {&s};
  vitc_attr value = {.name = "value", .type = VITC_ATTR_TENSOR, .t = val(VITC_I64, &seven, 1, 1)};
  CHECK(run_op(VITC_OP_ConstantOfShape, harness_opset, cin, 1, out, 1, &value, 1, &harness_err) == VITC_OK);
  CHECK(out[0].dtype == VITC_I64);
  CHECK_DIMS(&out[0], 2, 2);
  CHECK_VALUES(&out[0], 7, 7, 7, 7);
  free_outputs(out, 1);
  CHECK(run_op(VITC_OP_ConstantOfShape, harness_opset, cin, 1, out, 1, NULL, 0, &harness_err) == VITC_OK);
  CHECK(out[0].dtype == VITC_F32);
  CHECK_VALUES(&out[0], 0, 0, 0, 0);
  free_outputs(out, 1);
}

static void test_range(void) {
  int64_t i1 = 1, i10 = 10, i3 = 3, m4 = -4;
  vitc_value a = val(VITC_I64, &i1, 0), b = val(VITC_I64, &i10, 0), d = val(VITC_I64, &i3, 0), out[1];
  const vitc_value *in[] = {&a, &b, &d};
  CHECK(run_op(VITC_OP_Range, harness_opset, in, 3, out, 1, NULL, 0, &harness_err) == VITC_OK);
  CHECK_VALUES(&out[0], 1, 4, 7);
  free_outputs(out, 1);
  const vitc_value *down[] = {&b, &a, &(vitc_value){.dtype = VITC_I64, .data = &m4}};
  CHECK(run_op(VITC_OP_Range, harness_opset, down, 3, out, 1, NULL, 0, &harness_err) == VITC_OK);
  CHECK_VALUES(&out[0], 10, 6, 2);
  free_outputs(out, 1);
  float f0 = 0, f1 = 1, fq = 0.25f;
  vitc_value fa = val(VITC_F32, &f0, 0), fb = val(VITC_F32, &f1, 0), fd = val(VITC_F32, &fq, 0);
  const vitc_value *fin[] = {&fa, &fb, &fd};
  CHECK(run_op(VITC_OP_Range, harness_opset, fin, 3, out, 1, NULL, 0, &harness_err) == VITC_OK);
  CHECK(out[0].dtype == VITC_F32);
  CHECK_VALUES(&out[0], 0, 0.25, 0.5, 0.75);
  free_outputs(out, 1);
  int64_t zero = 0;
  const vitc_value *stuck[] = {&a, &b, &(vitc_value){.dtype = VITC_I64, .data = &zero}};
  CHECK(run_op(VITC_OP_Range, harness_opset, stuck, 3, out, 1, NULL, 0, &harness_err) == VITC_ERR_INVALID);
  CHECK_MSG(harness_err.msg, "Range needs a nonzero delta");
  vitc_value unknown = val(VITC_I64, NULL, 0);
  const vitc_value *dyn[] = {&a, &unknown, &d};
  CHECK(run_op(VITC_OP_Range, harness_opset, dyn, 3, out, 1, NULL, 0, &harness_err) == VITC_ERR_DATA_DEPENDENT);
  CHECK_MSG(harness_err.msg, "data-dependent shape: Range's inputs");
  const vitc_value *mixed[] = {&a, &fb, &fd};
  CHECK(run_op(VITC_OP_Range, harness_opset, mixed, 3, out, 1, NULL, 0, &harness_err) == VITC_ERR_INVALID);
  CHECK_MSG(harness_err.msg, "scalars of one type");
}

static void test_trilu(void) {
  vitc_value y = val(VITC_F32, iota_f, 2, 3, 4), out[1];
  int64_t one = 1, minus_one = -1;
  vitc_value k = val(VITC_I64, &one, 0);
  const vitc_value *in[] = {&y, &k};
  CHECK(run_op(VITC_OP_Trilu, harness_opset, in, 2, out, 1, NULL, 0, &harness_err) == VITC_OK);
  CHECK_VALUES(&out[0], 0, 1, 2, 3, 0, 0, 6, 7, 0, 0, 0, 11);
  free_outputs(out, 1);
  k.data = &minus_one;
  vitc_attr lower = attr_int("upper", 0);
  CHECK(run_op(VITC_OP_Trilu, harness_opset, in, 2, out, 1, &lower, 1, &harness_err) == VITC_OK);
  CHECK_VALUES(&out[0], 0, 0, 0, 0, 4, 0, 0, 0, 8, 9, 0, 0);
  free_outputs(out, 1);
  const vitc_value *in1[] = {&y};
  CHECK(run_op(VITC_OP_Trilu, harness_opset, in1, 1, out, 1, NULL, 0, &harness_err) == VITC_OK);
  CHECK_VALUES(&out[0], 0, 1, 2, 3, 0, 5, 6, 7, 0, 0, 10, 11);
  free_outputs(out, 1);
}

static void test_depth_space(void) {
  vitc_value x = val(VITC_F32, iota_f, 4, 1, 8, 2, 3), out[1];
  const vitc_value *in[] = {&x};
  vitc_attr attrs[] = {attr_int("blocksize", 2), attr_str("mode", "DCR")};
  CHECK(run_op(VITC_OP_DepthToSpace, harness_opset, in, 1, out, 1, attrs, 2, &harness_err) == VITC_OK);
  CHECK_DIMS(&out[0], 1, 2, 4, 6);
  CHECK_VALUES(&out[0], 0, 12, 1, 13, 2, 14, 24, 36, 25, 37, 26, 38, 3, 15, 4, 16, 5, 17, 27, 39, 28, 40, 29, 41, 6, 18,
               7, 19, 8, 20, 30, 42, 31, 43, 32, 44, 9, 21, 10, 22, 11, 23, 33, 45, 34, 46, 35, 47);
  free_outputs(out, 1);
  attrs[1].s = "CRD";
  CHECK(run_op(VITC_OP_DepthToSpace, harness_opset, in, 1, out, 1, attrs, 2, &harness_err) == VITC_OK);
  CHECK_VALUES(&out[0], 0, 6, 1, 7, 2, 8, 12, 18, 13, 19, 14, 20, 3, 9, 4, 10, 5, 11, 15, 21, 16, 22, 17, 23, 24, 30, 25,
               31, 26, 32, 36, 42, 37, 43, 38, 44, 27, 33, 28, 34, 29, 35, 39, 45, 40, 46, 41, 47);
  free_outputs(out, 1);
  vitc_value s = val(VITC_F32, iota_f, 4, 1, 2, 4, 6);
  const vitc_value *sin[] = {&s};
  CHECK(run_op(VITC_OP_SpaceToDepth, harness_opset, sin, 1, out, 1, attrs, 1, &harness_err) == VITC_OK);
  CHECK_DIMS(&out[0], 1, 8, 2, 3);
  CHECK_VALUES(&out[0], 0, 2, 4, 12, 14, 16, 24, 26, 28, 36, 38, 40, 1, 3, 5, 13, 15, 17, 25, 27, 29, 37, 39, 41, 6, 8,
               10, 18, 20, 22, 30, 32, 34, 42, 44, 46, 7, 9, 11, 19, 21, 23, 31, 33, 35, 43, 45, 47);
  free_outputs(out, 1);
  attrs[0].i = 3;
  CHECK(run_op(VITC_OP_DepthToSpace, harness_opset, in, 1, out, 1, attrs, 1, &harness_err) == VITC_ERR_INVALID);
  CHECK_MSG(harness_err.msg, "channels 8 are not divisible by blocksize 3 squared");
}

static void test_identity_dropout(void) {
  vitc_value x = val(VITC_F32, iota_f, 2, 2, 3), out[2];
  const vitc_value *in[] = {&x};
  CHECK(run_op(VITC_OP_Identity, harness_opset, in, 1, out, 1, NULL, 0, &harness_err) == VITC_OK);
  CHECK_VALUES(&out[0], 0, 1, 2, 3, 4, 5);
  free_outputs(out, 1);
  float ratio = 0.5f;
  uint8_t training = 0;
  vitc_value r = val(VITC_F32, &ratio, 0), t = val(VITC_BOOL, &training, 0);
  const vitc_value *din[] = {&x, &r, &t};
  CHECK(run_op(VITC_OP_Dropout, harness_opset, din, 3, out, 2, NULL, 0, &harness_err) == VITC_OK);
  CHECK_VALUES(&out[0], 0, 1, 2, 3, 4, 5);
  CHECK(out[1].dtype == VITC_BOOL);
  CHECK_VALUES(&out[1], 1, 1, 1, 1, 1, 1);
  free_outputs(out, 2);
  training = 1;
  CHECK(run_op(VITC_OP_Dropout, harness_opset, din, 3, out, 2, NULL, 0, &harness_err) == VITC_ERR_UNSUPPORTED);
  CHECK_MSG(harness_err.msg, "training_mode true and a nonzero ratio");
  ratio = 0; /* training with ratio 0 drops nothing: Swin exports its attention dropout so */
  CHECK(run_op(VITC_OP_Dropout, harness_opset, din, 3, out, 2, NULL, 0, &harness_err) == VITC_OK);
  CHECK_VALUES(&out[0], 0, 1, 2, 3, 4, 5);
  CHECK_VALUES(&out[1], 1, 1, 1, 1, 1, 1);
  free_outputs(out, 2);
}

int main(void) {
  test_transpose();
  test_transpose_paths();
  test_reshape();
  test_flatten_squeeze_unsqueeze();
  test_concat_split();
  test_slice();
  test_expand_tile();
  test_pad();
  test_shape_size_constant();
  test_range();
  test_trilu();
  test_depth_space();
  test_identity_dropout();
  CHECK_DONE();
}

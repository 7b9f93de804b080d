/* test_quant.c — the quantisation ops' evaluators (ir/ops/quant.c) on values worked out by hand: rounding
 * half to even, saturation, per-axis scales and zero points, the integer products' zero-point and
 * requantisation arithmetic, and their error messages. */
#include <math.h>

#include "check.h"
#include "op_harness.h"

#define I8(data, ...) VALUE(VITC_I8, data, __VA_ARGS__)
#define U8(data, ...) VALUE(VITC_U8, data, __VA_ARGS__)
#define I32(data, ...) VALUE(VITC_I32, data, __VA_ARGS__)

static void test_quantize_rounds_half_to_even_and_saturates(void) {
  float x[] = {2.5f, 3.5f, -2.5f, -0.5f, 1000.f, -1000.f, 0.4f}, s = 1.0f;
  int8_t zp = 0;
  vitc_value vx = F32(x, 7), vs = F32(&s), vz = I8(&zp), y;
  vitc_error err;
  CHECK(run_op(VITC_OP_QuantizeLinear, 13, (const vitc_value *[]){&vx, &vs, &vz}, 3, &y, 1, NULL, 0, &err) == VITC_OK);
  CHECK(y.dtype == VITC_I8 && y.rank == 1 && y.dims[0] == 7);
  int8_t want[] = {2, 4, -2, 0, 127, -128, 0};
  for (int i = 0; i < 7; i++) CHECK(((int8_t *)y.data)[i] == want[i]);
  free_outputs(&y, 1);

  /* no zero point: uint8, zero point 0, negatives saturate to 0 */
  float s2 = 0.5f;
  vitc_value vs2 = F32(&s2);
  CHECK(run_op(VITC_OP_QuantizeLinear, 13, (const vitc_value *[]){&vx, &vs2}, 2, &y, 1, NULL, 0, &err) == VITC_OK);
  uint8_t want_u8[] = {5, 7, 0, 0, 255, 0, 1};
  CHECK(y.dtype == VITC_U8);
  for (int i = 0; i < 7; i++) CHECK(((uint8_t *)y.data)[i] == want_u8[i]);
  free_outputs(&y, 1);
}

static void test_quantize_per_axis(void) {
  /* x [2, 3], scales along axis 0: row 0 by 1 (zero point 10), row 1 by 0.25 (zero point 200) */
  float x[] = {1, 2, 3, 1, 2, 3}, s[] = {1.0f, 0.25f};
  uint8_t zp[] = {10, 200};
  vitc_value vx = F32(x, 2, 3), vs = F32(s, 2), vz = U8(zp, 2), y, back;
  vitc_attr axis0 = attr_int("axis", 0);
  vitc_error err;
  CHECK(run_op(VITC_OP_QuantizeLinear, 13, (const vitc_value *[]){&vx, &vs, &vz}, 3, &y, 1, &axis0, 1, &err) == VITC_OK);
  uint8_t want[] = {11, 12, 13, 204, 208, 212};
  for (int i = 0; i < 6; i++) CHECK(((uint8_t *)y.data)[i] == want[i]);
  CHECK(run_op(VITC_OP_DequantizeLinear, 13, (const vitc_value *[]){&y, &vs, &vz}, 3, &back, 1, &axis0, 1, &err) == VITC_OK);
  CHECK(back.dtype == VITC_F32);
  for (int i = 0; i < 6; i++) CHECK(((float *)back.data)[i] == x[i]);
  free_outputs(&back, 1);

  /* near misses: the default axis 1 has 3 elements, not 2; blocked quantisation */
  CHECK(run_op(VITC_OP_QuantizeLinear, 13, (const vitc_value *[]){&vx, &vs, &vz}, 3, &back, 1, NULL, 0, &err) != VITC_OK);
  CHECK_MSG(err.msg, "is neither a scalar nor 1-D along axis 1");
  vitc_attr blocked[] = {attr_int("axis", 0), attr_int("block_size", 2)};
  CHECK(run_op(VITC_OP_DequantizeLinear, 21, (const vitc_value *[]){&y, &vs, &vz}, 3, &back, 1, blocked, 2, &err) != VITC_OK);
  CHECK_MSG(err.msg, "blocked quantisation (block_size 2) is not supported");
  CHECK(run_op(VITC_OP_QuantizeLinear, 13, (const vitc_value *[]){&y, &vs, &vz}, 3, &back, 1, &axis0, 1, &err) != VITC_OK);
  CHECK_MSG(err.msg, "QuantizeLinear input has dtype uint8; vitc quantises float32");
  free_outputs(&y, 1);
}

static void test_dequantize_int32_bias(void) {
  int32_t q[] = {-70000, 3};
  float s = 0.5f;
  vitc_value vq = I32(q, 2), vs = F32(&s), y;
  vitc_error err;
  CHECK(run_op(VITC_OP_DequantizeLinear, 13, (const vitc_value *[]){&vq, &vs}, 2, &y, 1, NULL, 0, &err) == VITC_OK);
  CHECK(((float *)y.data)[0] == -35000.f && ((float *)y.data)[1] == 1.5f);
  free_outputs(&y, 1);
}

static void test_dynamic_quantize(void) {
  /* range [-1, 2.06] -> scale 0.012, zero point round(83.33) = 83 */
  float x[] = {-1.0f, 0.0f, 2.06f, 0.5f};
  vitc_value vx = F32(x, 4), y[3];
  vitc_error err;
  CHECK(run_op(VITC_OP_DynamicQuantizeLinear, 11, (const vitc_value *[]){&vx}, 1, y, 3, NULL, 0, &err) == VITC_OK);
  float scale = *(float *)y[1].data;
  CHECK_NEAR(scale, 3.06 / 255, 1e-7);
  CHECK(*(uint8_t *)y[2].data == 83 && y[1].rank == 0 && y[2].rank == 0);
  uint8_t want[] = {0, 83, 255, 125}; /* 0.5 / 0.012 = 41.67 -> 42 */
  for (int i = 0; i < 4; i++) CHECK(((uint8_t *)y[0].data)[i] == want[i]);
  free_outputs(y, 3);

  /* all zeros: ORT's scale 1, zero point 0 (ONNX's formula would divide by zero) */
  float zeros[3] = {0};
  vitc_value vz = F32(zeros, 3);
  CHECK(run_op(VITC_OP_DynamicQuantizeLinear, 11, (const vitc_value *[]){&vz}, 1, y, 3, NULL, 0, &err) == VITC_OK);
  CHECK(*(float *)y[1].data == 1.0f && *(uint8_t *)y[2].data == 0 && ((uint8_t *)y[0].data)[2] == 0);
  free_outputs(y, 3);
}

/* A [2, 3] uint8 with a zero point per row, B [3, 2] int8 with one per column. */
static uint8_t mm_a[] = {10, 11, 12, 200, 0, 255}, mm_azp[] = {10, 100};
static int8_t mm_b[] = {1, -128, 2, 127, 3, 0}, mm_bzp[] = {1, -1};

static void test_matmul_integer(void) {
  vitc_value a = U8(mm_a, 2, 3), azp = U8(mm_azp, 2), b = I8(mm_b, 3, 2), bzp = I8(mm_bzp, 2), y;
  vitc_error err;
  CHECK(run_op(VITC_OP_MatMulInteger, 10, (const vitc_value *[]){&a, &azp, &b, &bzp}, 4, &y, 1, NULL, 0, &err) != VITC_OK);
  CHECK_MSG(err.msg, "inner dimensions do not match"); /* inputs in the wrong order: A's zero point taken as B */
  CHECK(run_op(VITC_OP_MatMulInteger, 10, (const vitc_value *[]){&a, &b, &azp, &bzp}, 4, &y, 1, NULL, 0, &err) == VITC_OK);
  CHECK(y.dtype == VITC_I32 && y.rank == 2 && y.dims[0] == 2 && y.dims[1] == 2);
  /* A - azp = [[0 1 2] [100 -100 155]], B - bzp = [[0 -127] [1 128] [2 1]] */
  int32_t want[] = {5, 130, 210, -25345};
  for (int i = 0; i < 4; i++) CHECK(((int32_t *)y.data)[i] == want[i]);
  free_outputs(&y, 1);
}

static void test_qlinear_matmul(void) {
  /* per-tensor a zero point 10 only (QLinearMatMul's A zero point is a scalar) */
  uint8_t azp = 10, yzp = 128;
  float as = 0.5f, bs[] = {0.25f, 0.125f}, ys = 2.0f;
  vitc_value a = U8(mm_a, 2, 3), vas = F32(&as), vazp = U8(&azp), b = I8(mm_b, 3, 2), vbs = F32(bs, 2),
             vbzp = I8(mm_bzp, 2), vys = F32(&ys), vyzp = U8(&yzp), y;
  vitc_error err;
  CHECK(run_op(VITC_OP_QLinearMatMul, 10, (const vitc_value *[]){&a, &vas, &vazp, &b, &vbs, &vbzp, &vys, &vyzp}, 8, &y,
               1, NULL, 0, &err) == VITC_OK);
  CHECK(y.dtype == VITC_U8);
  /* A - 10 = [[0 1 2] [190 -10 245]] times B - bzp as in test_matmul_integer */
  int32_t sums[] = {5, 130, 480, -25165};
  float mult[] = {0.5f * 0.25f / 2.0f, 0.5f * 0.125f / 2.0f};
  for (int i = 0; i < 4; i++) {
    float q = nearbyintf((float)sums[i] * mult[i % 2]) + 128;
    CHECK(((uint8_t *)y.data)[i] == (q < 0 ? 0 : q > 255 ? 255 : q));
  }
  CHECK(((uint8_t *)y.data)[3] == 0); /* -25165 * 0.03125 saturates */
  free_outputs(&y, 1);
}

static void test_conv_integer(void) {
  /* x [1, 1, 2, 2] uint8 zero point 3, w [2, 1, 1, 1] int8 with a zero point per output channel */
  uint8_t x[] = {3, 4, 5, 13}, xzp = 3;
  int8_t w[] = {2, -3}, wzp[] = {0, 1};
  vitc_value vx = U8(x, 1, 1, 2, 2), vxzp = U8(&xzp), vw = I8(w, 2, 1, 1, 1), vwzp = I8(wzp, 2), y;
  vitc_error err;
  CHECK(run_op(VITC_OP_ConvInteger, 10, (const vitc_value *[]){&vx, &vw, &vxzp, &vwzp}, 4, &y, 1, NULL, 0, &err) == VITC_OK);
  CHECK(y.dtype == VITC_I32 && y.rank == 4 && y.dims[1] == 2 && y.dims[2] == 2);
  int32_t want[] = {0, 2, 4, 20, 0, -4, -8, -40};
  for (int i = 0; i < 8; i++) CHECK(((int32_t *)y.data)[i] == want[i]);
  free_outputs(&y, 1);

  /* QLinearConv: the same sums plus an int32 bias per channel, scaled by 1 * [1, 0.5] / 2, zero point -1 */
  float xs = 1, ws[] = {1, 0.5f}, ys = 2;
  int8_t yzp = -1;
  int32_t bias[] = {1, -100};
  vitc_value vxs = F32(&xs), vws = F32(ws, 2), vys = F32(&ys), vyzp = I8(&yzp), vb = I32(bias, 2);
  CHECK(run_op(VITC_OP_QLinearConv, 10, (const vitc_value *[]){&vx, &vxs, &vxzp, &vw, &vws, &vwzp, &vys, &vyzp, &vb}, 9,
               &y, 1, NULL, 0, &err) == VITC_OK);
  CHECK(y.dtype == VITC_I8);
  /* channel 0: (s + 1) / 2 = 0.5 1.5 2.5 10.5 -> 0 2 2 10; channel 1: (s - 100) / 4 = -25 -26 -27 -35 */
  int8_t want_q[] = {-1, 1, 1, 9, -26, -27, -28, -36};
  for (int i = 0; i < 8; i++) CHECK(((int8_t *)y.data)[i] == want_q[i]);
  free_outputs(&y, 1);
  vitc_value wrong_bias = I32(bias, 1, 2);
  CHECK(run_op(VITC_OP_QLinearConv, 10, (const vitc_value *[]){&vx, &vxs, &vxzp, &vw, &vws, &vwzp, &vys, &vyzp, &wrong_bias},
               9, &y, 1, NULL, 0, &err) != VITC_OK);
  CHECK_MSG(err.msg, "bias i32[1,2] is neither a scalar nor 1-D along axis 1");
}

int main(void) {
  test_quantize_rounds_half_to_even_and_saturates();
  test_quantize_per_axis();
  test_dequantize_int32_bias();
  test_dynamic_quantize();
  test_matmul_integer();
  test_qlinear_matmul();
  test_conv_integer();
  CHECK_DONE();
}

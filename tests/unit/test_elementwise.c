/* test_elementwise.c — the elementwise ops through vitc_eval_node (shape rule + evaluator), against
 * values computed by hand or once with numpy / Python's math module and pasted here. */
#include <stdlib.h>

#include "check.h"
#include "op_harness.h"

static vitc_error error;

static vitc_value val(vitc_dtype t, int rank, const int64_t *dims, const void *data) {
  vitc_value v = {.dtype = t, .rank = rank, .data = (void *)data};
  for (int i = 0; i < rank; i++) v.dims[i] = dims[i];
  return v;
}


static void check_shape(const vitc_value *v, vitc_dtype t, int rank, const int64_t *dims) {
  CHECK(v->dtype == t);
  CHECK(v->rank == rank);
  for (int i = 0; i < rank && i < v->rank; i++) CHECK(v->dims[i] == dims[i]);
}

/* ---------------------------------------------------------------- broadcasting */

static void test_broadcast_add(void) {
  int64_t da[] = {2, 1, 3}, db[] = {4, 1}, dout[] = {2, 4, 3};
  float a[] = {0, 1, 2, 3, 4, 5}, b[] = {10, 20, 30, 40};
  vitc_value va = val(VITC_F32, 3, da, a), vb = val(VITC_F32, 2, db, b), out;
  const vitc_value *in[] = {&va, &vb};
  CHECK(run_op(VITC_OP_Add, 21, in, 2, &out, 1, NULL, 0, &error) == VITC_OK);
  check_shape(&out, VITC_F32, 3, dout);
  /* numpy: (np.arange(6.).reshape(2,1,3) + np.array([10.,20,30,40]).reshape(4,1)).ravel() */
  const float expect[] = {10, 11, 12, 20, 21, 22, 30, 31, 32, 40, 41, 42,
                          13, 14, 15, 23, 24, 25, 33, 34, 35, 43, 44, 45};
  for (int i = 0; i < 24; i++) CHECK_NEAR(((float *)out.data)[i], expect[i], 0);
  free(out.data);

  /* The same broadcast on int32 and float64 goes through the generic walker. */
  int32_t ia[] = {0, 1, 2, 3, 4, 5}, ib[] = {10, 20, 30, 40};
  vitc_value via = val(VITC_I32, 3, da, ia), vib = val(VITC_I32, 2, db, ib);
  const vitc_value *iin[] = {&vib, &via}; /* Sub(b, a) */
  CHECK(run_op(VITC_OP_Sub, 21, iin, 2, &out, 1, NULL, 0, &error) == VITC_OK);
  check_shape(&out, VITC_I32, 3, dout);
  /* numpy: (np.array([10,20,30,40]).reshape(4,1) - np.arange(6).reshape(2,1,3)).ravel() */
  const int32_t isub[] = {10, 9, 8, 20, 19, 18, 30, 29, 28, 40, 39, 38, 7, 6, 5, 17, 16, 15, 27, 26, 25, 37, 36, 35};
  for (int i = 0; i < 24; i++) CHECK(((int32_t *)out.data)[i] == isub[i]);
  free(out.data);
}

/* A 4-D case against a naive index computation: x[2,3,4,5] * s[3,1,5] and s * x. */
static void test_broadcast_4d(void) {
  int64_t dx[] = {2, 3, 4, 5}, ds[] = {3, 1, 5};
  float x[120], s[15];
  for (int i = 0; i < 120; i++) x[i] = (float)(i % 17) - 8;
  for (int i = 0; i < 15; i++) s[i] = (float)i * 0.5f - 3;
  vitc_value vx = val(VITC_F32, 4, dx, x), vs = val(VITC_F32, 3, ds, s), out;
  for (int order = 0; order < 2; order++) {
    const vitc_value *in[] = {order ? &vs : &vx, order ? &vx : &vs};
    CHECK(run_op(VITC_OP_Mul, 21, in, 2, &out, 1, NULL, 0, &error) == VITC_OK);
    check_shape(&out, VITC_F32, 4, dx);
    int bad = 0;
    for (int n = 0; n < 2; n++)
      for (int c = 0; c < 3; c++)
        for (int h = 0; h < 4; h++)
          for (int w = 0; w < 5; w++) {
            int i = ((n * 3 + c) * 4 + h) * 5 + w;
            bad += ((float *)out.data)[i] != x[i] * s[c * 5 + w];
          }
    CHECK(bad == 0);
    free(out.data);
  }
}

static void test_broadcast_error(void) {
  int64_t da[] = {2, 3}, db[] = {4};
  float a[6] = {0}, b[4] = {0};
  vitc_value va = val(VITC_F32, 2, da, a), vb = val(VITC_F32, 1, db, b), out;
  const vitc_value *in[] = {&va, &vb};
  CHECK(run_op(VITC_OP_Add, 21, in, 2, &out, 1, NULL, 0, &error) == VITC_ERR_INVALID);
  CHECK_MSG(error.msg, "shapes f32[2,3] and f32[4] do not broadcast");
  CHECK_MSG(error.msg, "node 'n' (Add)");
}

/* ---------------------------------------------------------------- integer arithmetic */

static void test_int_div_mod(void) {
  int64_t d[] = {6};
  int32_t a[] = {7, -7, 7, -7, 5, INT32_MIN}, b[] = {2, 2, -2, -2, 0, -1};
  vitc_value va = val(VITC_I32, 1, d, a), vb = val(VITC_I32, 1, d, b), out;
  const vitc_value *in[] = {&va, &vb};
  CHECK(run_op(VITC_OP_Div, 21, in, 2, &out, 1, NULL, 0, &error) == VITC_OK);
  const int32_t div_expect[] = {3, -3, -3, 3, 0, INT32_MIN}; /* truncation; /0 -> 0; MIN/-1 wraps */
  for (int i = 0; i < 6; i++) CHECK(((int32_t *)out.data)[i] == div_expect[i]);
  free(out.data);

  int64_t d5[] = {5};
  int64_t ma[] = {7, -7, 7, -7, 5}, mb[] = {3, 3, -3, -3, 0};
  vitc_value vma = val(VITC_I64, 1, d5, ma), vmb = val(VITC_I64, 1, d5, mb);
  const vitc_value *min[] = {&vma, &vmb};
  /* numpy: np.mod([7,-7,7,-7],[3,3,-3,-3]) = [1,2,-2,-1]; np.fmod = [1,-1,1,-1] */
  const int64_t python_mod[] = {1, 2, -2, -1, 0}, c_fmod[] = {1, -1, 1, -1, 0};
  for (int fm = 0; fm < 2; fm++) {
    vitc_attr at = attr_int("fmod", fm);
    CHECK(run_op(VITC_OP_Mod, 21, min, 2, &out, 1, &at, 1, &error) == VITC_OK);
    for (int i = 0; i < 5; i++) CHECK(((int64_t *)out.data)[i] == (fm ? c_fmod : python_mod)[i]);
    free(out.data);
  }

  /* Float Mod: np.fmod(-7.5, 2) = -1.5, np.mod(-7.5, 2) = 0.5, np.mod(7.5, -2) = -0.5 */
  int64_t d2[] = {2};
  float fa[] = {-7.5f, 7.5f}, fb[] = {2, -2};
  vitc_value vfa = val(VITC_F32, 1, d2, fa), vfb = val(VITC_F32, 1, d2, fb);
  const vitc_value *fin[] = {&vfa, &vfb};
  vitc_attr at = attr_int("fmod", 1);
  CHECK(run_op(VITC_OP_Mod, 21, fin, 2, &out, 1, &at, 1, &error) == VITC_OK);
  CHECK_NEAR(((float *)out.data)[0], -1.5, 0);
  CHECK_NEAR(((float *)out.data)[1], 1.5, 0);
  free(out.data);
  CHECK(run_op(VITC_OP_Mod, 21, fin, 2, &out, 1, NULL, 0, &error) == VITC_OK);
  CHECK_NEAR(((float *)out.data)[0], 0.5, 0);
  CHECK_NEAR(((float *)out.data)[1], -0.5, 0);
  free(out.data);
}

static void test_pow_bitshift(void) {
  int64_t d[] = {4}, scalar_dims[1];
  float x[] = {-2, 0.5f, 3, 4};
  int64_t two = 2;
  vitc_value vx = val(VITC_F32, 1, d, x), vtwo = val(VITC_I64, 0, scalar_dims, &two), out;
  const vitc_value *in[] = {&vx, &vtwo};
  CHECK(run_op(VITC_OP_Pow, 21, in, 2, &out, 1, NULL, 0, &error) == VITC_OK);
  CHECK(out.dtype == VITC_F32); /* the base's dtype */
  const float sq[] = {4, 0.25f, 9, 16};
  for (int i = 0; i < 4; i++) CHECK_NEAR(((float *)out.data)[i], sq[i], 0);
  free(out.data);

  float e[] = {3, -1, 0.5f, 1.5f};
  vitc_value ve = val(VITC_F32, 1, d, e);
  const vitc_value *in2[] = {&vx, &ve};
  CHECK(run_op(VITC_OP_Pow, 21, in2, 2, &out, 1, NULL, 0, &error) == VITC_OK);
  const float pw[] = {-8, 2, 1.7320508f, 8};
  for (int i = 0; i < 4; i++) CHECK_NEAR(((float *)out.data)[i], pw[i], 1e-6);
  free(out.data);

  int32_t ib[] = {3, -2, 2, 1}, ie[] = {4, 3, 10, -1};
  vitc_value vib = val(VITC_I32, 1, d, ib), vie = val(VITC_I32, 1, d, ie);
  const vitc_value *in3[] = {&vib, &vie};
  CHECK(run_op(VITC_OP_Pow, 21, in3, 2, &out, 1, NULL, 0, &error) == VITC_OK);
  const int32_t ipw[] = {81, -8, 1024, 1};
  for (int i = 0; i < 4; i++) CHECK(((int32_t *)out.data)[i] == ipw[i]);
  free(out.data);

  uint8_t sa[] = {1, 255, 128, 16}, sb[] = {3, 1, 7, 9};
  vitc_value vsa = val(VITC_U8, 1, d, sa), vsb = val(VITC_U8, 1, d, sb);
  const vitc_value *in4[] = {&vsa, &vsb};
  vitc_attr left = attr_str("direction", "LEFT"), right = attr_str("direction", "RIGHT");
  CHECK(run_op(VITC_OP_BitShift, 21, in4, 2, &out, 1, &left, 1, &error) == VITC_OK);
  const uint8_t sl[] = {8, 254, 0, 0};
  for (int i = 0; i < 4; i++) CHECK(((uint8_t *)out.data)[i] == sl[i]);
  free(out.data);
  CHECK(run_op(VITC_OP_BitShift, 21, in4, 2, &out, 1, &right, 1, &error) == VITC_OK);
  const uint8_t sr[] = {0, 127, 1, 0};
  for (int i = 0; i < 4; i++) CHECK(((uint8_t *)out.data)[i] == sr[i]);
  free(out.data);
}

/* ---------------------------------------------------------------- variadic */

static void test_variadic(void) {
  int64_t d3[] = {3}, d21[] = {2, 1}, none[1], d23[] = {2, 3};
  float a[] = {1, NAN, 3}, b[] = {2, 2, NAN};
  vitc_value va = val(VITC_F32, 1, d3, a), vb = val(VITC_F32, 1, d3, b), out;
  const vitc_value *in[] = {&va, &vb};
  CHECK(run_op(VITC_OP_Max, 21, in, 2, &out, 1, NULL, 0, &error) == VITC_OK);
  CHECK_NEAR(((float *)out.data)[0], 2, 0);
  CHECK(isnan(((float *)out.data)[1]) && isnan(((float *)out.data)[2]));
  free(out.data);
  CHECK(run_op(VITC_OP_Min, 21, in, 2, &out, 1, NULL, 0, &error) == VITC_OK);
  CHECK_NEAR(((float *)out.data)[0], 1, 0);
  CHECK(isnan(((float *)out.data)[1]) && isnan(((float *)out.data)[2]));
  free(out.data);

  /* Three inputs broadcast together: [2,1], [3], scalar. */
  float p[] = {1, 5}, q[] = {0, 4, 8}, r = 3;
  vitc_value vp = val(VITC_F32, 2, d21, p), vq = val(VITC_F32, 1, d3, q), vr = val(VITC_F32, 0, none, &r);
  const vitc_value *three[] = {&vp, &vq, &vr};
  CHECK(run_op(VITC_OP_Max, 21, three, 3, &out, 1, NULL, 0, &error) == VITC_OK);
  check_shape(&out, VITC_F32, 2, d23);
  const float mx[] = {3, 4, 8, 5, 5, 8};
  for (int i = 0; i < 6; i++) CHECK_NEAR(((float *)out.data)[i], mx[i], 0);
  free(out.data);
  CHECK(run_op(VITC_OP_Sum, 21, three, 3, &out, 1, NULL, 0, &error) == VITC_OK);
  const float sm[] = {4, 8, 12, 8, 12, 16};
  for (int i = 0; i < 6; i++) CHECK_NEAR(((float *)out.data)[i], sm[i], 0);
  free(out.data);
  CHECK(run_op(VITC_OP_Mean, 21, three, 3, &out, 1, NULL, 0, &error) == VITC_OK);
  for (int i = 0; i < 6; i++) CHECK_NEAR(((float *)out.data)[i], sm[i] / 3, 1e-6);
  free(out.data);
  CHECK(run_op(VITC_OP_Min, 21, three, 1, &out, 1, NULL, 0, &error) == VITC_OK); /* a single input is copied */
  check_shape(&out, VITC_F32, 2, d21);
  CHECK_NEAR(((float *)out.data)[1], 5, 0);
  free(out.data);

  int64_t ia[] = {-5, 7, 0}, ib[] = {3, -9, 0};
  vitc_value via = val(VITC_I64, 1, d3, ia), vib = val(VITC_I64, 1, d3, ib);
  const vitc_value *iin[] = {&via, &vib};
  CHECK(run_op(VITC_OP_Min, 21, iin, 2, &out, 1, NULL, 0, &error) == VITC_OK);
  CHECK(((int64_t *)out.data)[0] == -5 && ((int64_t *)out.data)[1] == -9);
  free(out.data);
  CHECK(run_op(VITC_OP_Mean, 21, iin, 2, &out, 1, NULL, 0, &error) == VITC_ERR_UNSUPPORTED);
  CHECK_MSG(error.msg, "Mean is not defined for int64 inputs");
}

/* ---------------------------------------------------------------- unary and activations */

static const float X7[] = {-3, -1, -0.25f, 0, 0.5f, 2, 4};

static void check_unary(vitc_op op, const vitc_attr *attrs, int nattr, const double *expect, double tol) {
  int64_t d[] = {7};
  vitc_value vx = val(VITC_F32, 1, d, X7), out;
  const vitc_value *in[] = {&vx};
  vitc_status st = run_op(op, 21, in, 1, &out, 1, attrs, nattr, &error);
  CHECK(st == VITC_OK);
  if (st != VITC_OK) return;
  for (int i = 0; i < 7; i++) CHECK_NEAR(((float *)out.data)[i], expect[i], tol);
  free(out.data);
}

static void test_unary(void) {
  /* np.exp, math.erf, 1/(1+np.exp(-x)), np.tanh in float64 */
  const double ex[] = {0.049787068367863938, 0.36787944117144239, 0.77880078307140488, 1,
                       1.6487212707001282, 7.3890560989306504, 54.598150033144236};
  const double er[] = {-0.9999779095030014, -0.8427007929497149, -0.2763263901682369, 0,
                       0.5204998778130465, 0.9953222650189527, 0.9999999845827421};
  const double sg[] = {0.04742587317756678, 0.2689414213699951, 0.43782349911420193, 0.5,
                       0.6224593312018546, 0.8807970779778825, 0.9820137900379085};
  const double th[] = {-0.9950547536867305, -0.7615941559557649, -0.24491866240370913, 0,
                       0.46211715726000974, 0.9640275800758169, 0.999329299739067};
  const double ab[] = {3, 1, 0.25, 0, 0.5, 2, 4}, sn[] = {-1, -1, -1, 0, 1, 1, 1};
  const double fl[] = {-3, -1, -1, 0, 0, 2, 4}, ce[] = {-3, -1, 0, 0, 1, 2, 4};
  check_unary(VITC_OP_Exp, NULL, 0, ex, 1e-5);
  check_unary(VITC_OP_Erf, NULL, 0, er, 1e-6);
  check_unary(VITC_OP_Sigmoid, NULL, 0, sg, 1e-6);
  check_unary(VITC_OP_Tanh, NULL, 0, th, 1e-6);
  check_unary(VITC_OP_Abs, NULL, 0, ab, 0);
  check_unary(VITC_OP_Sign, NULL, 0, sn, 0);
  check_unary(VITC_OP_Floor, NULL, 0, fl, 0);
  check_unary(VITC_OP_Ceil, NULL, 0, ce, 0);

  /* Round is half to even: np.round([0.5,1.5,2.5,-0.5,-1.5,2.4,-2.6]) */
  int64_t d[] = {7};
  const float rx[] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 2.4f, -2.6f}, rexp[] = {0, 2, 2, -0.0f, -2, 2, -3};
  vitc_value vr = val(VITC_F32, 1, d, rx), out;
  const vitc_value *rin[] = {&vr};
  CHECK(run_op(VITC_OP_Round, 21, rin, 1, &out, 1, NULL, 0, &error) == VITC_OK);
  for (int i = 0; i < 7; i++) CHECK_NEAR(((float *)out.data)[i], rexp[i], 0);
  free(out.data);

  /* float64 goes through the double kernels */
  double dx[] = {0.25, 4};
  int64_t d2[] = {2};
  vitc_value vd = val(VITC_F64, 1, d2, dx);
  const vitc_value *din[] = {&vd};
  CHECK(run_op(VITC_OP_Sqrt, 21, din, 1, &out, 1, NULL, 0, &error) == VITC_OK);
  CHECK(((double *)out.data)[0] == 0.5 && ((double *)out.data)[1] == 2);
  free(out.data);
  CHECK(run_op(VITC_OP_Reciprocal, 21, din, 1, &out, 1, NULL, 0, &error) == VITC_OK);
  CHECK(((double *)out.data)[0] == 4 && ((double *)out.data)[1] == 0.25);
  free(out.data);

  /* Integers: Abs / Neg / Sign are defined, Sqrt is not. */
  int32_t ix[] = {-7, 9};
  vitc_value vi = val(VITC_I32, 1, d2, ix);
  const vitc_value *iin[] = {&vi};
  CHECK(run_op(VITC_OP_Neg, 21, iin, 1, &out, 1, NULL, 0, &error) == VITC_OK);
  CHECK(((int32_t *)out.data)[0] == 7 && ((int32_t *)out.data)[1] == -9);
  free(out.data);
  CHECK(run_op(VITC_OP_Abs, 21, iin, 1, &out, 1, NULL, 0, &error) == VITC_OK);
  CHECK(((int32_t *)out.data)[0] == 7 && ((int32_t *)out.data)[1] == 9);
  free(out.data);
  CHECK(run_op(VITC_OP_Sqrt, 21, iin, 1, &out, 1, NULL, 0, &error) == VITC_ERR_UNSUPPORTED);
  CHECK_MSG(error.msg, "Sqrt is not defined for int32 inputs");
}

static void test_activations(void) {
  /* Formulas of the ONNX spec evaluated with numpy in float64 on X7. */
  const double gelu[] = {-0.00404969409489031, -0.15865525393145707, -0.10032341857926907, 0,
                         0.34573123063700656, 1.9544997361036416, 3.9998733150326675};
  const double gelu_tanh[] = {-3.6373920817729943e-03, -1.5880800939172329e-01, -1.0032464929831500e-01, 0,
                              3.4571400982514394e-01, 1.9545976940877750e+00, 3.9999297540518075e+00};
  const double elu[] = {-0.950212931632136, -0.6321205588285577, -0.22119921692859512, 0, 0.5, 2, 4};
  const double selu[] = {-1.670568733989153, -1.1113307412864781, -0.3888901986937533, 0,
                         0.5253505110740662, 2.1014020442962646, 4.202804088592529};
  const double softplus[] = {0.048587351573742055, 0.31326168751822286, 0.5759394198788436, 0.6931471805599453,
                             0.9740769841801067, 2.1269280110429722, 4.0181499279178094};
  const double mish[] = {-0.14564746127562458, -0.30340146137410895, -0.129926963679141, 0,
                         0.3752452113048951, 1.9439589595339946, 3.9974128069762385};
  const double hswish[] = {0, -0.33333333333333337, -0.11458333333333333, 0, 0.2916666666666667,
                           1.6666666666666665, 4};
  const double hsig[] = {0, 0.3, 0.45, 0.5, 0.6, 0.9, 1};
  const double celu2[] = {-1.5537396797031404, -0.7869386805747332, -0.2350061948308093, 0, 0.5, 2, 4};
  const double softsign[] = {-0.75, -0.5, -0.2, 0, 0.3333333333333333, 0.6666666666666666, 0.8};
  const double relu[] = {0, 0, 0, 0, 0.5, 2, 4}, leaky[] = {-0.03, -0.01, -0.0025, 0, 0.5, 2, 4};
  const double thresholded[] = {0, 0, 0, 0, 0, 2, 4}; /* alpha 1: x > 1 */
  const double shrink[] = {-2, 0, 0, 0, 0, 1, 3};      /* lambd 0.5 bias 1 */
  check_unary(VITC_OP_Gelu, NULL, 0, gelu, 1e-6);
  vitc_attr tanh_attr = attr_str("approximate", "tanh");
  check_unary(VITC_OP_Gelu, &tanh_attr, 1, gelu_tanh, 1e-6);
  check_unary(VITC_OP_Elu, NULL, 0, elu, 1e-6);
  check_unary(VITC_OP_Selu, NULL, 0, selu, 1e-6);
  check_unary(VITC_OP_Softplus, NULL, 0, softplus, 1e-6);
  check_unary(VITC_OP_Mish, NULL, 0, mish, 1e-6);
  check_unary(VITC_OP_HardSwish, NULL, 0, hswish, 1e-6);
  check_unary(VITC_OP_HardSigmoid, NULL, 0, hsig, 1e-6);
  vitc_attr alpha2 = attr_float("alpha", 2);
  check_unary(VITC_OP_Celu, &alpha2, 1, celu2, 1e-6);
  check_unary(VITC_OP_Softsign, NULL, 0, softsign, 1e-6);
  check_unary(VITC_OP_Relu, NULL, 0, relu, 0);
  check_unary(VITC_OP_LeakyRelu, NULL, 0, leaky, 1e-7);
  check_unary(VITC_OP_ThresholdedRelu, NULL, 0, thresholded, 0);
  vitc_attr bias = attr_float("bias", 1);
  check_unary(VITC_OP_Shrink, &bias, 1, shrink, 0);

  int64_t d[] = {7};
  vitc_value vx = val(VITC_F32, 1, d, X7), out;
  const vitc_value *in[] = {&vx};
  vitc_attr bad = attr_str("approximate", "fast");
  CHECK(run_op(VITC_OP_Gelu, 21, in, 1, &out, 1, &bad, 1, &error) == VITC_ERR_INVALID);
  CHECK_MSG(error.msg, "Gelu approximate must be \"none\" or \"tanh\", not \"fast\"");

  /* Half types compute in float: Relu on float16 and bfloat16. */
  int64_t d3[] = {3};
  uint16_t h[3], bf[3];
  const float hx[] = {-1.5f, 2.5f, 0.125f};
  for (int i = 0; i < 3; i++) h[i] = vitc_f32_to_f16(hx[i]), bf[i] = vitc_f32_to_bf16(hx[i]);
  vitc_value vh = val(VITC_F16, 1, d3, h), vbf = val(VITC_BF16, 1, d3, bf);
  const vitc_value *hin[] = {&vh}, *bfin[] = {&vbf};
  CHECK(run_op(VITC_OP_Relu, 21, hin, 1, &out, 1, NULL, 0, &error) == VITC_OK);
  CHECK(((uint16_t *)out.data)[0] == 0 && ((uint16_t *)out.data)[1] == 0x4100 && ((uint16_t *)out.data)[2] == 0x3000);
  free(out.data);
  CHECK(run_op(VITC_OP_Relu, 21, bfin, 1, &out, 1, NULL, 0, &error) == VITC_OK);
  CHECK(((uint16_t *)out.data)[0] == 0 && ((uint16_t *)out.data)[1] == 0x4020 && ((uint16_t *)out.data)[2] == 0x3e00);
  free(out.data);
}

static void test_clip_prelu(void) {
  int64_t d[] = {7}, none[1];
  vitc_value vx = val(VITC_F32, 1, d, X7), out;
  float lo = -0.5f, hi = 1;
  vitc_value vlo = val(VITC_F32, 0, none, &lo), vhi = val(VITC_F32, 0, none, &hi);
  const vitc_value *both[] = {&vx, &vlo, &vhi}, *only_max[] = {&vx, NULL, &vhi}, *neither[] = {&vx};
  const double clip_both[] = {-0.5, -0.5, -0.25, 0, 0.5, 1, 1}, clip_max[] = {-3, -1, -0.25, 0, 0.5, 1, 1};
  CHECK(run_op(VITC_OP_Clip, 21, both, 3, &out, 1, NULL, 0, &error) == VITC_OK);
  for (int i = 0; i < 7; i++) CHECK_NEAR(((float *)out.data)[i], clip_both[i], 0);
  free(out.data);
  CHECK(run_op(VITC_OP_Clip, 21, only_max, 3, &out, 1, NULL, 0, &error) == VITC_OK);
  for (int i = 0; i < 7; i++) CHECK_NEAR(((float *)out.data)[i], clip_max[i], 0);
  free(out.data);
  CHECK(run_op(VITC_OP_Clip, 21, neither, 1, &out, 1, NULL, 0, &error) == VITC_OK);
  for (int i = 0; i < 7; i++) CHECK_NEAR(((float *)out.data)[i], X7[i], 0);
  free(out.data);

  int64_t d4[] = {4};
  int64_t ix[] = {-100, -3, 5, 100}, ilo = -4, ihi = 6;
  vitc_value vix = val(VITC_I64, 1, d4, ix), vilo = val(VITC_I64, 0, none, &ilo), vihi = val(VITC_I64, 0, none, &ihi);
  const vitc_value *iboth[] = {&vix, &vilo, &vihi};
  CHECK(run_op(VITC_OP_Clip, 21, iboth, 3, &out, 1, NULL, 0, &error) == VITC_OK);
  const int64_t iclip[] = {-4, -3, 5, 6};
  for (int i = 0; i < 4; i++) CHECK(((int64_t *)out.data)[i] == iclip[i]);
  free(out.data);

  /* PRelu with a per-channel slope [3,1] on x[1,3,2] */
  int64_t dxx[] = {1, 3, 2}, dsl[] = {3, 1};
  float x[] = {-1, 2, -3, 4, -5, 6}, slope[] = {0.5f, 2, -1};
  vitc_value vxx = val(VITC_F32, 3, dxx, x), vsl = val(VITC_F32, 2, dsl, slope);
  const vitc_value *pin[] = {&vxx, &vsl};
  CHECK(run_op(VITC_OP_PRelu, 21, pin, 2, &out, 1, NULL, 0, &error) == VITC_OK);
  check_shape(&out, VITC_F32, 3, dxx);
  const float pr[] = {-0.5f, 2, -6, 4, 5, 6};
  for (int i = 0; i < 6; i++) CHECK_NEAR(((float *)out.data)[i], pr[i], 0);
  free(out.data);
}

/* ---------------------------------------------------------------- comparisons, logic, Where */

static void test_compare_logic(void) {
  int64_t d[] = {4}, none[1];
  float a[] = {1, 2, NAN, 4}, b = 2;
  vitc_value va = val(VITC_F32, 1, d, a), vb = val(VITC_F32, 0, none, &b), out;
  const vitc_value *in[] = {&va, &vb};
  struct { vitc_op op; uint8_t expect[4]; } cases[] = {
      {VITC_OP_Equal, {0, 1, 0, 0}},   {VITC_OP_Less, {1, 0, 0, 0}},          {VITC_OP_LessOrEqual, {1, 1, 0, 0}},
      {VITC_OP_Greater, {0, 0, 0, 1}}, {VITC_OP_GreaterOrEqual, {0, 1, 0, 1}},
  };
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    CHECK(run_op(cases[c].op, 21, in, 2, &out, 1, NULL, 0, &error) == VITC_OK);
    CHECK(out.dtype == VITC_BOOL);
    for (int i = 0; i < 4; i++) CHECK(((uint8_t *)out.data)[i] == cases[c].expect[i]);
    free(out.data);
  }

  uint64_t ua[] = {UINT64_MAX, 1}, ub[] = {1, UINT64_MAX};
  int64_t d2[] = {2};
  vitc_value vua = val(VITC_U64, 1, d2, ua), vub = val(VITC_U64, 1, d2, ub);
  const vitc_value *uin[] = {&vua, &vub};
  CHECK(run_op(VITC_OP_Greater, 21, uin, 2, &out, 1, NULL, 0, &error) == VITC_OK); /* unsigned, not int64 */
  CHECK(((uint8_t *)out.data)[0] == 1 && ((uint8_t *)out.data)[1] == 0);
  free(out.data);

  uint8_t p[] = {0, 0, 1, 1}, q[] = {0, 1, 0, 1};
  vitc_value vp = val(VITC_BOOL, 1, d, p), vq = val(VITC_BOOL, 1, d, q);
  const vitc_value *lin[] = {&vp, &vq};
  struct { vitc_op op; uint8_t expect[4]; } logic[] = {
      {VITC_OP_And, {0, 0, 0, 1}}, {VITC_OP_Or, {0, 1, 1, 1}}, {VITC_OP_Xor, {0, 1, 1, 0}}};
  for (size_t c = 0; c < sizeof logic / sizeof *logic; c++) {
    CHECK(run_op(logic[c].op, 21, lin, 2, &out, 1, NULL, 0, &error) == VITC_OK);
    for (int i = 0; i < 4; i++) CHECK(((uint8_t *)out.data)[i] == logic[c].expect[i]);
    free(out.data);
  }
  CHECK(run_op(VITC_OP_Not, 21, lin, 1, &out, 1, NULL, 0, &error) == VITC_OK);
  for (int i = 0; i < 4; i++) CHECK(((uint8_t *)out.data)[i] == !p[i]);
  free(out.data);
  CHECK(run_op(VITC_OP_And, 21, in, 2, &out, 1, NULL, 0, &error) == VITC_ERR_INVALID);
  CHECK_MSG(error.msg, "input A must be bool, not float32");

  float f[] = {INFINITY, -INFINITY, NAN, 1};
  vitc_value vf = val(VITC_F32, 1, d, f);
  const vitc_value *fin[] = {&vf};
  CHECK(run_op(VITC_OP_IsNaN, 21, fin, 1, &out, 1, NULL, 0, &error) == VITC_OK);
  CHECK(out.dtype == VITC_BOOL);
  for (int i = 0; i < 4; i++) CHECK(((uint8_t *)out.data)[i] == (i == 2));
  free(out.data);
  vitc_attr no_neg = attr_int("detect_negative", 0);
  CHECK(run_op(VITC_OP_IsInf, 21, fin, 1, &out, 1, &no_neg, 1, &error) == VITC_OK);
  for (int i = 0; i < 4; i++) CHECK(((uint8_t *)out.data)[i] == (i == 0));
  free(out.data);
  CHECK(run_op(VITC_OP_IsInf, 21, fin, 1, &out, 1, NULL, 0, &error) == VITC_OK);
  for (int i = 0; i < 4; i++) CHECK(((uint8_t *)out.data)[i] == (i < 2));
  free(out.data);
}

static void test_where(void) {
  int64_t dc[] = {2, 1}, dx[] = {3}, none[1], dout[] = {2, 3};
  uint8_t cond[] = {1, 0};
  float x[] = {1, 2, 3}, y = -1;
  vitc_value vc = val(VITC_BOOL, 2, dc, cond), vx = val(VITC_F32, 1, dx, x), vy = val(VITC_F32, 0, none, &y), out;
  const vitc_value *in[] = {&vc, &vx, &vy};
  CHECK(run_op(VITC_OP_Where, 21, in, 3, &out, 1, NULL, 0, &error) == VITC_OK);
  check_shape(&out, VITC_F32, 2, dout);
  const float expect[] = {1, 2, 3, -1, -1, -1};
  for (int i = 0; i < 6; i++) CHECK_NEAR(((float *)out.data)[i], expect[i], 0);
  free(out.data);

  /* int64 elements, condition broadcast along the last axis: np.where([[T,F,T]], [[10],[20]], [[7,8,9]]) */
  int64_t dc2[] = {1, 3}, dx2[] = {2, 1}, dy2[] = {1, 3};
  uint8_t c2[] = {1, 0, 1};
  int64_t x2[] = {10, 20}, y2[] = {7, 8, 9};
  vitc_value vc2 = val(VITC_BOOL, 2, dc2, c2), vx2 = val(VITC_I64, 2, dx2, x2), vy2 = val(VITC_I64, 2, dy2, y2);
  const vitc_value *in2[] = {&vc2, &vx2, &vy2};
  CHECK(run_op(VITC_OP_Where, 21, in2, 3, &out, 1, NULL, 0, &error) == VITC_OK);
  check_shape(&out, VITC_I64, 2, dout);
  const int64_t e2[] = {10, 8, 10, 20, 8, 20};
  for (int i = 0; i < 6; i++) CHECK(((int64_t *)out.data)[i] == e2[i]);
  free(out.data);

  const vitc_value *bad[] = {&vx, &vx, &vy};
  CHECK(run_op(VITC_OP_Where, 21, bad, 3, &out, 1, NULL, 0, &error) == VITC_ERR_INVALID);
  CHECK_MSG(error.msg, "the condition must be bool, not float32");
}

/* ---------------------------------------------------------------- Cast */

static void test_cast(void) {
  int64_t d[] = {7};
  /* numpy: np.float32([1,0.1,65504,70000,-2.5,1e-8,3.14159]).astype(np.float16) */
  const float f[] = {1.0f, 0.1f, 65504, 70000, -2.5f, 1e-8f, 3.14159f};
  const uint16_t f16_bits[] = {0x3c00, 0x2e66, 0x7bff, 0x7c00, 0xc100, 0x0000, 0x4248};
  const float back[] = {1.0f, 0.0999755859375f, 65504, INFINITY, -2.5f, 0, 3.140625f};
  vitc_value vf = val(VITC_F32, 1, d, f), half, out;
  const vitc_value *in[] = {&vf};
  vitc_attr to_f16 = attr_int("to", VITC_F16), to_f32 = attr_int("to", VITC_F32);
  CHECK(run_op(VITC_OP_Cast, 21, in, 1, &half, 1, &to_f16, 1, &error) == VITC_OK);
  CHECK(half.dtype == VITC_F16);
  for (int i = 0; i < 7; i++) CHECK(((uint16_t *)half.data)[i] == f16_bits[i]);
  const vitc_value *hin[] = {&half};
  CHECK(run_op(VITC_OP_Cast, 21, hin, 1, &out, 1, &to_f32, 1, &error) == VITC_OK);
  for (int i = 0; i < 7; i++) CHECK(((float *)out.data)[i] == back[i]);
  free(out.data);
  /* float16 -> float64 through the generic path */
  vitc_attr to_f64 = attr_int("to", VITC_F64);
  CHECK(run_op(VITC_OP_Cast, 21, hin, 1, &out, 1, &to_f64, 1, &error) == VITC_OK);
  CHECK(((double *)out.data)[1] == 0.0999755859375);
  free(out.data);
  free(half.data);

  int64_t d5[] = {5};
  const float g[] = {2.7f, -2.7f, 0, -0.0f, NAN};
  vitc_value vg = val(VITC_F32, 1, d5, g);
  const vitc_value *gin[] = {&vg};
  vitc_attr to_i32 = attr_int("to", VITC_I32), to_bool = attr_int("to", VITC_BOOL);
  CHECK(run_op(VITC_OP_Cast, 21, gin, 1, &out, 1, &to_i32, 1, &error) == VITC_OK);
  const int32_t gi[] = {2, -2, 0, 0};
  for (int i = 0; i < 4; i++) CHECK(((int32_t *)out.data)[i] == gi[i]);
  free(out.data);
  CHECK(run_op(VITC_OP_Cast, 21, gin, 1, &out, 1, &to_bool, 1, &error) == VITC_OK);
  CHECK(out.dtype == VITC_BOOL);
  const uint8_t gb[] = {1, 1, 0, 0, 1}; /* np.float32(...).astype(bool): NaN is True */
  for (int i = 0; i < 5; i++) CHECK(((uint8_t *)out.data)[i] == gb[i]);
  free(out.data);

  /* int64 -> uint8 wraps; int64 -> float32 */
  int64_t d3[] = {3};
  const int64_t big[] = {300, -1, (int64_t)1 << 40};
  vitc_value vbig = val(VITC_I64, 1, d3, big);
  const vitc_value *bin[] = {&vbig};
  vitc_attr to_u8 = attr_int("to", VITC_U8);
  CHECK(run_op(VITC_OP_Cast, 21, bin, 1, &out, 1, &to_u8, 1, &error) == VITC_OK);
  CHECK(((uint8_t *)out.data)[0] == 44 && ((uint8_t *)out.data)[1] == 255 && ((uint8_t *)out.data)[2] == 0);
  free(out.data);
  CHECK(run_op(VITC_OP_Cast, 21, bin, 1, &out, 1, &to_f32, 1, &error) == VITC_OK);
  CHECK(((float *)out.data)[0] == 300 && ((float *)out.data)[1] == -1 && ((float *)out.data)[2] == 1099511627776.0f);
  free(out.data);

  /* CastLike takes the target dtype from its second input. */
  int32_t like = 0;
  int64_t one[] = {1};
  vitc_value vlike = val(VITC_I32, 1, one, &like);
  const vitc_value *cl[] = {&vg, &vlike};
  CHECK(run_op(VITC_OP_CastLike, 21, cl, 2, &out, 1, NULL, 0, &error) == VITC_OK);
  CHECK(out.dtype == VITC_I32 && ((int32_t *)out.data)[1] == -2);
  free(out.data);

  vitc_attr to_string = attr_int("to", 8);
  CHECK(run_op(VITC_OP_Cast, 21, gin, 1, &out, 1, &to_string, 1, &error) == VITC_ERR_UNSUPPORTED);
  CHECK_MSG(error.msg, "casting to dtype 8 (string) is not supported");
  CHECK(run_op(VITC_OP_Cast, 21, gin, 1, &out, 1, NULL, 0, &error) == VITC_ERR_INVALID);
  CHECK_MSG(error.msg, "attribute 'to' is missing");
}

/* shape_same is generic: any dtype and rank, the output copies the first input's type. */
static void test_shape_rules(void) {
  int64_t d[] = {2, 3, 4};
  vitc_value a = val(VITC_U16, 3, d, NULL), b = val(VITC_F32, 1, d, NULL), out = {0};
  const vitc_value *in[] = {&a, &b};
  vitc_node n = {.op = VITC_OP_Softmax, .name = "s", .nin = 1, .nout = 1};
  CHECK(vitc_ops[VITC_OP_Softmax].shape(&n, in, &out, &error) == VITC_OK);
  check_shape(&out, VITC_U16, 3, d);
  n.op = VITC_OP_IsNaN;
  CHECK(vitc_ops[VITC_OP_IsNaN].shape(&n, in, &out, &error) == VITC_OK);
  check_shape(&out, VITC_BOOL, 3, d);
  n.op = VITC_OP_Equal;
  n.nin = 2;
  CHECK(vitc_ops[VITC_OP_Equal].shape(&n, in, &out, &error) == VITC_ERR_INVALID); /* [2,3,4] vs [2] */
  CHECK_MSG(error.msg, "shapes u16[2,3,4] and f32[2] do not broadcast");
}

int main(void) {
  test_broadcast_add();
  test_broadcast_4d();
  test_broadcast_error();
  test_int_div_mod();
  test_pow_bitshift();
  test_variadic();
  test_unary();
  test_activations();
  test_clip_prelu();
  test_compare_logic();
  test_where();
  test_cast();
  test_shape_rules();
  CHECK_DONE();
}

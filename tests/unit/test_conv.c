/* test_conv.c — Conv against a naive direct convolution written here; ConvTranspose against a hand-computed
 * 1-D case and a numpy-computed 2-D case; the pools against numpy-computed values; error messages. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "op_harness.h"
#include "test_values.h"

/* Reference values computed once with numpy by direct loops (scatter for ConvTranspose; pools with
 * onnxruntime's ceil_mode and count_include_pad rules). */
/* ConvTranspose (1, 6, 7, 10) */
static const double convt_ref[] = {1.25, 0, -0.5, -2.625, 0.5, 1, 0.5, 0.5, -0.125, 0, -1.125, 0, -0.5, 2, 0.125, 0.375, -1.875, -1.25, 0.375, 0, -1.25, 0, -0.25, 1.375, 0.75, 0.875, 1.375, -2.375, -0.625, 0, -2, 0, 0, -1.5, 2, 1, 0.75, -2, 0.25, 0, -1, 0, 0, 1.25, 1, 0.75, 0.875, -2.5, -1.125, 0, -0.375, 0, -0.375, -1.625, 1, 0.375, 0.625, 1, 1.125, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.5, 0, -0.125, 1, -2.125, -0.375, 1.5, -0.375, -0.625, 0, -1.875, 0, 0.375, -0.5, 2.625, -0.5, 2.625, -0.5, 0.375, 0, 1.375, 0, -0.625, -0.375, 1.5, -0.375, -2.125, 1, -0.125, 0, 0.75, 0, 0.25, -0.5, -1.625, -0.5, 0, 2.25, 0.5, 0, 0.875, 0, -1.125, -0.375, 1, -0.375, -1.625, 1, 0.375, 0, 0.625, 0, 1.125, 0.25, -2.5, -0.75, -1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1.5, 0, -0.625, -2.375, 1.375, 0.875, 0.75, 1.375, -0.25, 0, 2.625, 0, 0.375, -1.25, -1.875, 0.375, 0.125, 2, -0.5, 0, -2.125, 0, -0.125, 0.5, 0.5, 1, 0.5, -2.625, -0.5, 0, 0, 0, 0.5, 2.25, -1.75, -0.25, 1, -1.375, -1, 0, -1.625, 0, 0.375, 0.625, 1, 1.125, 0.25, -2.5, -0.75, 0, -1, 0, 0, 1.25, 1, 0.75, 0.875, -2.5, -1.125, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1.125, 0, -2.5, -0.75, 0.75, 1, 0, 0, 1, 0, -0.875, 0, -2, -1.5, 1, 2, 0.5, 0, 2.5, 0, 1.25, 0, -2.375, -1, 0.875, 0.75, 0.25, -0.25, 1.25, 0, -1.5, 0, -1.25, -2, 0.375, 0.125, 1, -0.5, -1.125, 0, 1.375, 0, 0.5, -1.25, 1, 0.5, 0.5, -0.5, -1.25, 0, 0.5, 0, 1.375, -2.125, 0.875, 1.375, -0.375, -0.625, -0.375, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0.75, -0.75, -2.5, -1.125, 1.125, 1, 0, 0.5, 0, 2.5, 1.625, -1, -1.375, 0.125, -0.25, -1.75, 0, 0.25, 0, 1.25, 0.625, -0.5, -2.625, -1.625, 1, 0.5, 0, 1, 0, -1.125, 2.25, -0.5, 2, 0, 0.375, -1.875, 0, 0.5, 0, -1.25, 0.5, -0.25, 1.375, -2.125, 0.875, 1.375, 0, -0.375, 0, -0.375, 1.375, -0.375, -2.125, 1.375, -0.125, 0.5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1.125, 0, 1, -0.375, 0.375, 1, 0.375, -0.375, 1, 0, 0.125, 0, -1.75, -0.5, 0.5, 2.25, 0.625, -0.5, -1.625, 0, -1.625, 0, 0.5, -0.375, -0.125, 1, 0.875, -0.375, 1.5, 0, 0, 0, -1.875, -0.5, 0.375, -0.5, 0.75, -0.5, 2.625, 0, -2.125, 0, 1.375, -0.375, -0.625, -0.375, 1.375, -0.375, -2.125, 0, 1.375, 0, 0.5, -1.25, 1, 0.5, 0.5, -0.5, -1.25, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
/* MaxPool 4x5 k(2,3) s2 pads [0,1,0,1] ceil (2, 3) */
static const double maxpool_ref[] = {17, 24, 21, 20, 19, 23};
static const int64_t maxpool_idx_row[] = {6, 7, 3, 10, 17, 14};
static const int64_t maxpool_idx_col[] = {5, 9, 12, 2, 11, 18};
/* AveragePool 6x6 k3 s2 pads 1 ceil count_include_pad=0 (4, 4) */
static const double avgpool_ref_0[] = {2.25, 2.75, 3.41667, 3.75, 3.08333, 2.5, 3.16667, 3.5, 3.83333, 2.88889, 2.83333, 3.16667, 4.75, 4.16667, 2.66667, 3};
/* AveragePool 6x6 k3 s2 pads 1 ceil count_include_pad=1 (4, 4) */
static const double avgpool_ref_1[] = {1, 1.83333, 2.27778, 1.25, 2.05556, 2.5, 3.16667, 1.75, 2.55556, 2.88889, 2.83333, 1.58333, 1.58333, 2.08333, 1.33333, 0.75};

static double max_diff(const vitc_value *v, const double *ref, int64_t count) {
  double m = vitc_numel(v) == count ? 0 : INFINITY;
  for (int64_t i = 0; i < count && i < vitc_numel(v); i++) {
    double d = fabs(vitc_load_f(v, i) - ref[i]);
    m = d != d ? INFINITY : d > m ? d : m;
  }
  return m;
}

/* ---------------------------------------------------------------- Conv */

/* Geometry of one naive conv, always with three spatial dims (leading ones 1 for 1-D and 2-D). */
typedef struct naive_conv {
  int64_t n, c, m, group, in[3], k[3], s[3], d[3], pb[3], out[3];
} naive_conv;

/* y[b, m, o] = bias[m] + sum_{c in group, k} x[b, c, o*s - pb + k*d] * w[m, c, k], straight from the
 * definition. */
static double *naive_conv_ref(const naive_conv *g, const vitc_value *x, const vitc_value *w, const vitc_value *bias) {
  int64_t cg = g->c / g->group, mg = g->m / g->group;
  int64_t plane_out = g->out[0] * g->out[1] * g->out[2], plane_in = g->in[0] * g->in[1] * g->in[2];
  double *y = calloc((size_t)(g->n * g->m * plane_out), sizeof(double));
  for (int64_t b = 0; b < g->n; b++)
    for (int64_t m = 0; m < g->m; m++)
      for (int64_t o0 = 0; o0 < g->out[0]; o0++)
        for (int64_t o1 = 0; o1 < g->out[1]; o1++)
          for (int64_t o2 = 0; o2 < g->out[2]; o2++) {
            double s = bias ? vitc_load_f(bias, m) : 0;
            for (int64_t c = 0; c < cg; c++)
              for (int64_t k0 = 0; k0 < g->k[0]; k0++)
                for (int64_t k1 = 0; k1 < g->k[1]; k1++)
                  for (int64_t k2 = 0; k2 < g->k[2]; k2++) {
                    int64_t i0 = o0 * g->s[0] - g->pb[0] + k0 * g->d[0], i1 = o1 * g->s[1] - g->pb[1] + k1 * g->d[1];
                    int64_t i2 = o2 * g->s[2] - g->pb[2] + k2 * g->d[2];
                    if (i0 < 0 || i0 >= g->in[0] || i1 < 0 || i1 >= g->in[1] || i2 < 0 || i2 >= g->in[2]) continue;
                    int64_t xc = b * g->c + (m / mg) * cg + c;
                    s += vitc_load_f(x, xc * plane_in + (i0 * g->in[1] + i1) * g->in[2] + i2) *
                         vitc_load_f(w, ((m * cg + c) * g->k[0] + k0) * g->k[1] * g->k[2] + k1 * g->k[2] + k2);
                  }
            y[((b * g->m + m) * g->out[0] + o0) * g->out[1] * g->out[2] + o1 * g->out[2] + o2] = s;
          }
  return y;
}

/* Runs Conv with attrs on random x [n, c, spatial(nd)] and w [m, c/group, kernel], with a bias when
 * with_bias, and compares against the naive reference with geometry g (which states the expected output). */
static void check_conv(vitc_dtype t, int nd, const naive_conv *g, const vitc_attr *attrs, int nattr, bool with_bias,
                       double tol) {
  int64_t xd[5] = {g->n, g->c}, wd[5] = {g->m, g->c / g->group};
  for (int i = 0; i < nd; i++) {
    xd[2 + i] = g->in[3 - nd + i];
    wd[2 + i] = g->k[3 - nd + i];
  }
  vitc_value x = random_value(t, 2 + nd, xd, 41), w = random_value(t, 2 + nd, wd, 42);
  vitc_value b = random_value(t, 1, (int64_t[]){g->m}, 43), y;
  vitc_error err = {0};
  vitc_status st =
      run_op(VITC_OP_Conv, 17, (const vitc_value *[]){&x, &w, &b}, with_bias ? 3 : 2, &y, 1, attrs, nattr, &err);
  CHECK(st == VITC_OK);
  if (st != VITC_OK) {
    fprintf(stderr, "  %s\n", err.msg);
    return;
  }
  bool shape_ok = y.rank == 2 + nd && y.dims[0] == g->n && y.dims[1] == g->m;
  for (int i = 0; i < nd; i++) shape_ok &= y.dims[2 + i] == g->out[3 - nd + i];
  CHECK(shape_ok);
  if (!shape_ok) fprintf(stderr, "  got %lld x %lld x %lld\n", (long long)y.dims[2], (long long)(nd > 1 ? y.dims[3] : 0), (long long)(nd > 2 ? y.dims[4] : 0));
  double *ref = naive_conv_ref(g, &x, &w, with_bias ? &b : NULL);
  CHECK_NEAR(max_diff(&y, ref, g->n * g->m * g->out[0] * g->out[1] * g->out[2]), 0, tol);
  free(ref);
  free(x.data);
  free(w.data);
  free(b.data);
  free(y.data);
}

static void test_conv(void) {
  /* 2-D, group 2, dilation 2, stride 2, asymmetric pads [top 1, left 0, bottom 2, right 1]:
   * out H = (9 + 3 - 5) / 2 + 1 = 4, out W = (8 + 1 - 3) / 2 + 1 = 4 */
  naive_conv g1 = {.n = 2, .c = 4, .m = 6, .group = 2, .in = {1, 9, 8}, .k = {1, 3, 2}, .s = {1, 2, 2},
                   .d = {1, 2, 2}, .pb = {0, 1, 0}, .out = {1, 4, 4}};
  vitc_attr a1[] = {attr_ints("strides", 2, (int64_t[]){2, 2}), attr_ints("dilations", 2, (int64_t[]){2, 2}),
                    attr_ints("pads", 4, (int64_t[]){1, 0, 2, 1}), attr_int("group", 2)};
  check_conv(VITC_F32, 2, &g1, a1, 4, true, 1e-5);
  check_conv(VITC_F64, 2, &g1, a1, 4, true, 1e-12);
  /* SAME_UPPER, stride 2, kernel 3 on 6x7: out 3x4; pads H total 1 -> [0, 1], W total 2 -> [1, 1] */
  naive_conv g2 = {.n = 1, .c = 3, .m = 5, .group = 1, .in = {1, 6, 7}, .k = {1, 3, 3}, .s = {1, 2, 2},
                   .d = {1, 1, 1}, .pb = {0, 0, 1}, .out = {1, 3, 4}};
  vitc_attr a2[] = {attr_ints("strides", 2, (int64_t[]){2, 2}), attr_str("auto_pad", "SAME_UPPER"),
                    attr_ints("kernel_shape", 2, (int64_t[]){3, 3})};
  check_conv(VITC_F32, 2, &g2, a2, 3, false, 1e-5);
  /* SAME_LOWER puts the odd pad first: H pads [1, 0] */
  naive_conv g2l = g2;
  g2l.pb[1] = 1;
  vitc_attr a2l[] = {attr_ints("strides", 2, (int64_t[]){2, 2}), attr_str("auto_pad", "SAME_LOWER")};
  check_conv(VITC_F32, 2, &g2l, a2l, 2, true, 1e-5);
  /* depthwise 7x7 pad 3 (ConvNeXt) and depthwise stride 2 */
  naive_conv g3 = {.n = 2, .c = 8, .m = 8, .group = 8, .in = {1, 10, 11}, .k = {1, 7, 7}, .s = {1, 1, 1},
                   .d = {1, 1, 1}, .pb = {0, 3, 3}, .out = {1, 10, 11}};
  vitc_attr a3[] = {attr_ints("pads", 4, (int64_t[]){3, 3, 3, 3}), attr_int("group", 8)};
  check_conv(VITC_F32, 2, &g3, a3, 2, true, 1e-5);
  naive_conv g3s = {.n = 1, .c = 4, .m = 4, .group = 4, .in = {1, 9, 9}, .k = {1, 3, 3}, .s = {1, 2, 2},
                    .d = {1, 1, 1}, .pb = {0, 1, 1}, .out = {1, 5, 5}};
  vitc_attr a3s[] = {attr_ints("pads", 4, (int64_t[]){1, 1, 1, 1}), attr_int("group", 4),
                     attr_ints("strides", 2, (int64_t[]){2, 2})};
  check_conv(VITC_F32, 2, &g3s, a3s, 3, false, 1e-5);
  /* 1-D with stride, pads and bias; VALID */
  naive_conv g4 = {.n = 2, .c = 3, .m = 4, .group = 1, .in = {1, 1, 20}, .k = {1, 1, 5}, .s = {1, 1, 3},
                   .d = {1, 1, 1}, .pb = {0, 0, 2}, .out = {1, 1, 7}};
  vitc_attr a4[] = {attr_ints("strides", 1, (int64_t[]){3}), attr_ints("pads", 2, (int64_t[]){2, 1})};
  check_conv(VITC_F32, 1, &g4, a4, 2, true, 1e-5);
  naive_conv g4v = {.n = 1, .c = 2, .m = 3, .group = 1, .in = {1, 1, 10}, .k = {1, 1, 4}, .s = {1, 1, 1},
                    .d = {1, 1, 1}, .pb = {0, 0, 0}, .out = {1, 1, 7}};
  vitc_attr a4v[] = {attr_str("auto_pad", "VALID"), attr_ints("pads", 2, (int64_t[]){5, 5})};
  check_conv(VITC_F32, 1, &g4v, a4v, 2, false, 1e-5);
  /* 3-D */
  naive_conv g5 = {.n = 1, .c = 2, .m = 3, .group = 1, .in = {4, 5, 6}, .k = {2, 3, 2}, .s = {1, 2, 1},
                   .d = {2, 1, 1}, .pb = {1, 1, 0}, .out = {4, 2, 5}};
  vitc_attr a5[] = {attr_ints("strides", 3, (int64_t[]){1, 2, 1}), attr_ints("dilations", 3, (int64_t[]){2, 1, 1}),
                    attr_ints("pads", 6, (int64_t[]){1, 1, 0, 1, 0, 0})};
  check_conv(VITC_F32, 3, &g5, a5, 3, true, 1e-5);
  /* 1x1 (no im2col) and ViT patch embedding (kernel = stride = 4) */
  naive_conv g6 = {.n = 2, .c = 6, .m = 5, .group = 1, .in = {1, 7, 9}, .k = {1, 1, 1}, .s = {1, 1, 1},
                   .d = {1, 1, 1}, .out = {1, 7, 9}};
  check_conv(VITC_F32, 2, &g6, NULL, 0, true, 1e-5);
  naive_conv g7 = {.n = 1, .c = 3, .m = 8, .group = 1, .in = {1, 16, 16}, .k = {1, 4, 4}, .s = {1, 4, 4},
                   .d = {1, 1, 1}, .out = {1, 4, 4}};
  vitc_attr a7[] = {attr_ints("strides", 2, (int64_t[]){4, 4})};
  check_conv(VITC_F32, 2, &g7, a7, 1, true, 1e-5);
  /* big enough for several im2col slabs: rows = 64*9, 100*100 output positions */
  naive_conv g8 = {.n = 1, .c = 64, .m = 3, .group = 1, .in = {1, 100, 100}, .k = {1, 3, 3}, .s = {1, 1, 1},
                   .d = {1, 1, 1}, .pb = {0, 1, 1}, .out = {1, 100, 100}};
  vitc_attr a8[] = {attr_ints("pads", 4, (int64_t[]){1, 1, 1, 1})};
  check_conv(VITC_F32, 2, &g8, a8, 1, true, 1e-4);

  /* errors and flops */
  vitc_value x = make(VITC_F32, 4, (int64_t[]){1, 4, 5, 5}), w = make(VITC_F32, 4, (int64_t[]){6, 2, 3, 3}), y;
  vitc_error err = {0};
  vitc_attr g3a = attr_int("group", 3);
  CHECK(run_op(VITC_OP_Conv, 17, (const vitc_value *[]){&x, &w}, 2, &y, 1, &g3a, 1, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "Conv group 3 does not fit 4 input channels and weights f32[6,2,3,3]");
  CHECK(run_op(VITC_OP_Conv, 17, (const vitc_value *[]){&x, &w}, 2, &y, 1, NULL, 0, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "Conv group 1 does not fit");
  vitc_attr big = attr_ints("kernel_shape", 2, (int64_t[]){3, 3}), g2a = attr_int("group", 2);
  vitc_value wbig = make(VITC_F32, 4, (int64_t[]){6, 2, 7, 7});
  vitc_attr a9[] = {g2a};
  CHECK(run_op(VITC_OP_Conv, 17, (const vitc_value *[]){&x, &wbig}, 2, &y, 1, a9, 1, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "window of 7 along spatial dim 0 exceeds the padded input of 5");
  vitc_attr a10[] = {g2a, big};
  CHECK(run_op(VITC_OP_Conv, 17, (const vitc_value *[]){&x, &w}, 2, &y, 1, a10, 2, &err) == VITC_OK);
  int ids[3] = {0};
  vitc_node cn = {.op = VITC_OP_Conv, .name = "t", .nin = 2, .nout = 1, .in = ids, .out = ids, .nattr = 2, .attrs = a10};
  /* 2 * N * Cout * 3 * 3 outputs * (Cin / group) * 9 */
  CHECK_NEAR(vitc_ops[VITC_OP_Conv].flops(&cn, (const vitc_value *[]){&x, &w}, &y), 2.0 * 6 * 9 * 2 * 9, 0);
  free(y.data);
  free(x.data);
  free(w.data);
  free(wbig.data);
}

/* ---------------------------------------------------------------- ConvTranspose */

static void test_conv_transpose(void) {
  vitc_error err = {0};
  vitc_value y;
  /* 1-D by hand: x = [1, 2, 3], w = [1, 1], stride 2 -> each input twice: [1, 1, 2, 2, 3, 3] */
  vitc_value x = make(VITC_F32, 3, (int64_t[]){1, 1, 3}), w = make(VITC_F32, 3, (int64_t[]){1, 1, 2});
  for (int i = 0; i < 3; i++) ((float *)x.data)[i] = (float)(i + 1);
  ((float *)w.data)[0] = ((float *)w.data)[1] = 1;
  vitc_attr s2 = attr_ints("strides", 1, (int64_t[]){2});
  CHECK(run_op(VITC_OP_ConvTranspose, 17, (const vitc_value *[]){&x, &w}, 2, &y, 1, &s2, 1, &err) == VITC_OK);
  CHECK_NEAR(max_diff(&y, (double[]){1, 1, 2, 2, 3, 3}, 6), 0, 0);
  free(y.data);
  /* pads [1, 0] crop the first: [1, 2, 2, 3, 3] */
  vitc_attr a1[] = {s2, attr_ints("pads", 2, (int64_t[]){1, 0})};
  CHECK(run_op(VITC_OP_ConvTranspose, 17, (const vitc_value *[]){&x, &w}, 2, &y, 1, a1, 2, &err) == VITC_OK);
  CHECK_NEAR(max_diff(&y, (double[]){1, 2, 2, 3, 3}, 5), 0, 0);
  free(y.data);
  /* stride 1, w = [1, 2]: y[i + k] += x[i] w[k] -> [1, 4, 7, 6]; float64 too */
  ((float *)w.data)[1] = 2;
  CHECK(run_op(VITC_OP_ConvTranspose, 17, (const vitc_value *[]){&x, &w}, 2, &y, 1, NULL, 0, &err) == VITC_OK);
  CHECK_NEAR(max_diff(&y, (double[]){1, 4, 7, 6}, 4), 0, 0);
  free(y.data);
  vitc_value xd = make(VITC_F64, 3, (int64_t[]){1, 1, 3}), wd = make(VITC_F64, 3, (int64_t[]){1, 1, 2});
  vitc_value bd = make(VITC_F64, 1, (int64_t[]){1});
  for (int i = 0; i < 3; i++) ((double *)xd.data)[i] = i + 1;
  ((double *)wd.data)[0] = 1;
  ((double *)wd.data)[1] = 2;
  ((double *)bd.data)[0] = 0.5;
  CHECK(run_op(VITC_OP_ConvTranspose, 17, (const vitc_value *[]){&xd, &wd, &bd}, 3, &y, 1, NULL, 0, &err) == VITC_OK);
  CHECK(y.dtype == VITC_F64);
  CHECK_NEAR(max_diff(&y, (double[]){1.5, 4.5, 7.5, 6.5}, 4), 0, 0);
  free(y.data);

  /* 2-D against numpy: group 2, strides 2, pads [1, 0, 0, 1], output_padding [1, 0], dilations [1, 3] */
  vitc_value x2 = make(VITC_F32, 4, (int64_t[]){1, 4, 3, 3}), w2 = make(VITC_F32, 4, (int64_t[]){4, 3, 3, 3});
  for (int i = 0; i < 36; i++) ((float *)x2.data)[i] = (float)(((i * 7) % 11 - 5) * 0.25);
  for (int i = 0; i < 108; i++) ((float *)w2.data)[i] = (float)(((i * 5) % 7 - 3) * 0.5);
  vitc_attr a2[] = {attr_int("group", 2), attr_ints("strides", 2, (int64_t[]){2, 2}),
                    attr_ints("pads", 4, (int64_t[]){1, 0, 0, 1}), attr_ints("output_padding", 2, (int64_t[]){1, 0}),
                    attr_ints("dilations", 2, (int64_t[]){1, 3})};
  CHECK(run_op(VITC_OP_ConvTranspose, 17, (const vitc_value *[]){&x2, &w2}, 2, &y, 1, a2, 5, &err) == VITC_OK);
  CHECK(y.rank == 4 && y.dims[1] == 6 && y.dims[2] == 7 && y.dims[3] == 10);
  CHECK_NEAR(max_diff(&y, convt_ref, 420), 0, 1e-6);
  free(y.data);
  /* output_shape [6, 10] of the unpadded 7 x 11 result: total pads 1 and 1, NOTSET puts them first, so
   * the result is that of pads [1, 1, 0, 0] */
  vitc_attr a3[] = {attr_int("group", 2), attr_ints("strides", 2, (int64_t[]){2, 2}),
                    attr_ints("dilations", 2, (int64_t[]){1, 3}), attr_ints("output_shape", 2, (int64_t[]){6, 10})};
  vitc_attr a4[] = {attr_int("group", 2), attr_ints("strides", 2, (int64_t[]){2, 2}),
                    attr_ints("dilations", 2, (int64_t[]){1, 3}), attr_ints("pads", 4, (int64_t[]){1, 1, 0, 0})};
  vitc_value y2;
  CHECK(run_op(VITC_OP_ConvTranspose, 17, (const vitc_value *[]){&x2, &w2}, 2, &y, 1, a3, 4, &err) == VITC_OK);
  CHECK(run_op(VITC_OP_ConvTranspose, 17, (const vitc_value *[]){&x2, &w2}, 2, &y2, 1, a4, 4, &err) == VITC_OK);
  CHECK(y.dims[2] == 6 && y.dims[3] == 10 && y2.dims[2] == 6 && y2.dims[3] == 10);
  CHECK(!memcmp(y.data, y2.data, vitc_nbytes(&y)));
  free(y.data);
  free(y2.data);
  /* SAME_UPPER: output = input * stride */
  vitc_attr a5[] = {attr_int("group", 2), attr_ints("strides", 2, (int64_t[]){2, 2}),
                    attr_str("auto_pad", "SAME_UPPER")};
  CHECK(run_op(VITC_OP_ConvTranspose, 17, (const vitc_value *[]){&x2, &w2}, 2, &y, 1, a5, 3, &err) == VITC_OK);
  CHECK(y.dims[2] == 6 && y.dims[3] == 6);
  free(y.data);
  /* bad group */
  vitc_attr g3 = attr_int("group", 3);
  CHECK(run_op(VITC_OP_ConvTranspose, 17, (const vitc_value *[]){&x2, &w2}, 2, &y, 1, &g3, 1, &err) ==
        VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "ConvTranspose group 3 does not fit 4 input channels");
  vitc_value *all[] = {&x, &w, &xd, &wd, &bd, &x2, &w2};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) free(all[i]->data);
}

/* ---------------------------------------------------------------- pools */

static void test_pools(void) {
  vitc_error err = {0};
  vitc_value y[2];
  /* MaxPool 4x5, kernel [2, 3], strides 2, pads [0, 1, 0, 1] (left and right), ceil_mode: H = 2,
   * W = ceil(4/2)+1 = 3 */
  vitc_value x = make(VITC_F32, 4, (int64_t[]){1, 1, 4, 5});
  for (int i = 0; i < 20; i++) ((float *)x.data)[i] = (float)((i * 7) % 25);
  vitc_attr a1[] = {attr_ints("kernel_shape", 2, (int64_t[]){2, 3}), attr_ints("strides", 2, (int64_t[]){2, 2}),
                    attr_ints("pads", 4, (int64_t[]){0, 1, 0, 1}), attr_int("ceil_mode", 1),
                    attr_int("storage_order", 0)};
  CHECK(run_op(VITC_OP_MaxPool, 17, (const vitc_value *[]){&x}, 1, y, 2, a1, 5, &err) == VITC_OK);
  CHECK(y[0].dims[2] == 2 && y[0].dims[3] == 3 && y[1].dtype == VITC_I64 && y[1].dims[3] == 3);
  CHECK_NEAR(max_diff(&y[0], maxpool_ref, 6), 0, 0);
  for (int i = 0; i < 6; i++) CHECK(((int64_t *)y[1].data)[i] == maxpool_idx_row[i]);
  free(y[0].data);
  free(y[1].data);
  a1[4].i = 1; /* column-major indices */
  CHECK(run_op(VITC_OP_MaxPool, 17, (const vitc_value *[]){&x}, 1, y, 2, a1, 5, &err) == VITC_OK);
  for (int i = 0; i < 6; i++) CHECK(((int64_t *)y[1].data)[i] == maxpool_idx_col[i]);
  free(y[0].data);
  free(y[1].data);
  /* ceil_mode drops a window that would start in the end pad: [4] with kernel 2, stride 2, pads [0, 1]
   * gives ceil(3/2)+1 = 3 windows, the last starting at 4, so 2 remain */
  vitc_value x4 = make(VITC_F32, 3, (int64_t[]){1, 1, 4});
  vitc_attr a4[] = {attr_ints("kernel_shape", 1, (int64_t[]){2}), attr_ints("strides", 1, (int64_t[]){2}),
                    attr_ints("pads", 2, (int64_t[]){0, 1}), attr_int("ceil_mode", 1)};
  CHECK(run_op(VITC_OP_MaxPool, 17, (const vitc_value *[]){&x4}, 1, y, 1, a4, 4, &err) == VITC_OK);
  CHECK(y[0].dims[2] == 2);
  free(y[0].data);
  free(x4.data);

  /* AveragePool 6x6, kernel 3, strides 2, pads 1, ceil_mode: 4x4 whose last windows hang past the pad */
  vitc_value x6 = make(VITC_F32, 4, (int64_t[]){1, 1, 6, 6});
  for (int i = 0; i < 36; i++) ((float *)x6.data)[i] = (float)(((i * 5) % 13) * 0.5);
  vitc_attr a2[] = {attr_ints("kernel_shape", 2, (int64_t[]){3, 3}), attr_ints("strides", 2, (int64_t[]){2, 2}),
                    attr_ints("pads", 4, (int64_t[]){1, 1, 1, 1}), attr_int("ceil_mode", 1),
                    attr_int("count_include_pad", 0)};
  CHECK(run_op(VITC_OP_AveragePool, 17, (const vitc_value *[]){&x6}, 1, y, 1, a2, 5, &err) == VITC_OK);
  CHECK(y[0].dims[2] == 4 && y[0].dims[3] == 4);
  CHECK_NEAR(max_diff(&y[0], avgpool_ref_0, 16), 0, 1e-5);
  free(y[0].data);
  a2[4].i = 1;
  CHECK(run_op(VITC_OP_AveragePool, 17, (const vitc_value *[]){&x6}, 1, y, 1, a2, 5, &err) == VITC_OK);
  CHECK_NEAR(max_diff(&y[0], avgpool_ref_1, 16), 0, 1e-5);
  free(y[0].data);
  /* 1-D AveragePool with dilation and SAME_UPPER on float64: x = 0..5, k 2, d 2 -> window span 3,
   * out 6, pads [1, 1]: windows {-1,1} {0,2} {1,3} {2,4} {3,5} {4,6} */
  vitc_value x1 = make(VITC_F64, 3, (int64_t[]){1, 1, 6});
  for (int i = 0; i < 6; i++) ((double *)x1.data)[i] = i;
  vitc_attr a3[] = {attr_ints("kernel_shape", 1, (int64_t[]){2}), attr_ints("dilations", 1, (int64_t[]){2}),
                    attr_str("auto_pad", "SAME_UPPER")};
  CHECK(run_op(VITC_OP_AveragePool, 17, (const vitc_value *[]){&x1}, 1, y, 1, a3, 3, &err) == VITC_OK);
  CHECK_NEAR(max_diff(&y[0], (double[]){1, 1, 2, 3, 4, 4}, 6), 0, 1e-12);
  free(y[0].data);

  /* global pools over [2, 2, 2, 3] holding 0..23 */
  vitc_value xg = make(VITC_F32, 4, (int64_t[]){2, 2, 2, 3});
  for (int i = 0; i < 24; i++) ((float *)xg.data)[i] = (float)i;
  CHECK(run_op(VITC_OP_GlobalAveragePool, 17, (const vitc_value *[]){&xg}, 1, y, 1, NULL, 0, &err) == VITC_OK);
  CHECK(y[0].rank == 4 && y[0].dims[1] == 2 && y[0].dims[2] == 1 && y[0].dims[3] == 1);
  CHECK_NEAR(max_diff(&y[0], (double[]){2.5, 8.5, 14.5, 20.5}, 4), 0, 1e-6);
  free(y[0].data);
  CHECK(run_op(VITC_OP_GlobalMaxPool, 17, (const vitc_value *[]){&xg}, 1, y, 1, NULL, 0, &err) == VITC_OK);
  CHECK_NEAR(max_diff(&y[0], (double[]){5, 11, 17, 23}, 4), 0, 0);
  free(y[0].data);

  /* errors and flops */
  CHECK(run_op(VITC_OP_MaxPool, 17, (const vitc_value *[]){&x}, 1, y, 1, NULL, 0, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "kernel_shape is missing");
  int ids[2] = {0};
  vitc_node pn = {.op = VITC_OP_AveragePool, .name = "t", .nin = 1, .nout = 1, .in = ids, .out = ids, .nattr = 5, .attrs = a2};
  vitc_value fo = {.dtype = VITC_F32, .rank = 4, .dims = {1, 1, 4, 4}};
  CHECK_NEAR(vitc_ops[VITC_OP_AveragePool].flops(&pn, (const vitc_value *[]){&x6}, &fo), 16.0 * 9, 0);
  free(x.data);
  free(x6.data);
  free(x1.data);
  free(xg.data);
}

int main(void) {
  test_conv();
  test_conv_transpose();
  test_pools();
  CHECK_DONE();
}

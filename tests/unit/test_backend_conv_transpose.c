/* test_backend_conv_transpose.c — the generated ConvTranspose kernels (GEMM + col2im for float32, the
 * direct gather for other dtypes) against the evaluator, over its attributes. */
#include "backend_harness.h"
#include "check.h"
#include "op_harness.h"

#define RTOL 1e-4
#define ATOL 1e-4 /* sums of many O(1) terms cancel to near 0: absolute float rounding */

#define DIMS(...) (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__}
#define INTS(name, ...) attr_ints(name, DIMS(__VA_ARGS__))

typedef struct case_opts {
  int64_t group;
  bool bias, const_weights;
  int nthreads;
} case_opts;

/* ConvTranspose of x [n, cin, spatial..] with weights [cin, cout/group, kernel..] (a constant, or a
 * graph input) and optional bias, checked against the evaluator. */
static void conv_transpose(const char *what, vitc_dtype t, int rx, const int64_t *dx, int64_t cout,
                           const int64_t *kernel, vitc_attr *attrs, int nattr, case_opts o) {
  test_graph g = tg_new();
  int64_t dw[VITC_MAX_RANK] = {dx[1], cout / o.group};
  for (int d = 2; d < rx; d++) dw[d] = kernel[d - 2];
  int in[3] = {tg_input(&g, t, rx, dx), o.const_weights ? tg_const(&g, t, rx, dw, 3) : tg_input(&g, t, rx, dw),
               o.bias ? tg_const(&g, t, DIMS(cout), 4) : -1};
  vitc_attr all[8];
  if (nattr) memcpy(all, attrs, sizeof *attrs * (size_t)nattr);
  all[nattr++] = attr_int("group", o.group);
  tg_output(&g, tg_node(&g, VITC_OP_ConvTranspose, in, o.bias ? 3 : 2, 1, all, nattr));
  vitc_error err = {0};
  vitc_status st = tg_compile(&g, o.nthreads, &err);
  if (st) fprintf(stderr, "%s: %s\n", what, err.msg);
  CHECK(st == VITC_OK);
  if (!st) {
    int64_t bad = tg_compare(&g, what, RTOL, ATOL);
    if (bad) fprintf(stderr, "%s: %lld mismatches\n", what, (long long)bad);
    CHECK(bad == 0);
  }
  tg_free(&g);
}

static const case_opts plain = {.group = 1, .bias = true, .const_weights = true, .nthreads = 2};

static void test_float32(void) {
  case_opts no_bias = plain, weights_in = plain, grouped = plain, one_thread = plain;
  no_bias.bias = false;
  weights_in.const_weights = false;
  grouped.group = 3;
  one_thread.nthreads = 1;
  conv_transpose("3x3", VITC_F32, DIMS(2, 4, 5, 6), 6, (int64_t[]){3, 3}, NULL, 0, plain);
  conv_transpose("3x3 no bias, weights an input", VITC_F32, DIMS(1, 3, 4, 4), 5, (int64_t[]){3, 3}, NULL, 0,
                 weights_in);
  conv_transpose("2x2 stride 2", VITC_F32, DIMS(1, 8, 7, 9), 4, (int64_t[]){2, 2},
                 (vitc_attr[]){INTS("strides", 2, 2)}, 1, no_bias);
  conv_transpose("stride 3x2 pads output_padding", VITC_F32, DIMS(2, 3, 5, 4), 4, (int64_t[]){3, 3},
                 (vitc_attr[]){INTS("strides", 3, 2), INTS("pads", 1, 2, 0, 1), INTS("output_padding", 1, 1)}, 3,
                 plain);
  conv_transpose("dilations groups", VITC_F32, DIMS(1, 6, 6, 5), 9, (int64_t[]){3, 2},
                 (vitc_attr[]){INTS("dilations", 2, 3), INTS("strides", 2, 1)}, 2, grouped);
  conv_transpose("SAME_UPPER", VITC_F32, DIMS(1, 2, 5, 5), 3, (int64_t[]){4, 3},
                 (vitc_attr[]){INTS("strides", 2, 2), attr_str("auto_pad", "SAME_UPPER")}, 2, plain);
  conv_transpose("SAME_LOWER", VITC_F32, DIMS(1, 2, 5, 4), 3, (int64_t[]){3, 4},
                 (vitc_attr[]){INTS("strides", 3, 2), attr_str("auto_pad", "SAME_LOWER")}, 2, one_thread);
  conv_transpose("output_shape", VITC_F32, DIMS(1, 3, 4, 4), 2, (int64_t[]){3, 3},
                 (vitc_attr[]){INTS("strides", 3, 3), INTS("output_shape", 12, 13)}, 2, plain);
  conv_transpose("VALID", VITC_F32, DIMS(1, 2, 3, 4), 2, (int64_t[]){2, 3},
                 (vitc_attr[]){INTS("pads", 1, 1, 1, 1), attr_str("auto_pad", "VALID")}, 2, plain);
  conv_transpose("1-D", VITC_F32, DIMS(2, 3, 9), 4, (int64_t[]){4},
                 (vitc_attr[]){INTS("strides", 2), INTS("pads", 1, 2)}, 2, plain);
  conv_transpose("3-D", VITC_F32, DIMS(1, 2, 3, 4, 3), 3, (int64_t[]){2, 3, 2},
                 (vitc_attr[]){INTS("strides", 2, 1, 2), INTS("pads", 0, 1, 0, 1, 0, 1)}, 2, plain);
  conv_transpose("depthwise", VITC_F32, DIMS(1, 4, 6, 6), 4, (int64_t[]){3, 3},
                 (vitc_attr[]){INTS("strides", 2, 2), INTS("pads", 1, 1, 1, 1)}, 2,
                 (case_opts){.group = 4, .bias = true, .const_weights = true, .nthreads = 2});
  /* 500 channels of 9 taps x 1024 inputs exceed one column buffer: full chunks and a tail */
  conv_transpose("chunked", VITC_F32, DIMS(1, 4, 32, 32), 500, (int64_t[]){3, 3},
                 (vitc_attr[]){INTS("strides", 2, 2)}, 1, plain);
  conv_transpose("chunked, one thread", VITC_F32, DIMS(1, 4, 32, 32), 500, (int64_t[]){3, 3},
                 (vitc_attr[]){INTS("strides", 2, 2)}, 1, one_thread);
}

static void test_other_dtypes(void) {
  conv_transpose("f64 stride pads groups", VITC_F64, DIMS(1, 4, 4, 5), 6, (int64_t[]){3, 3},
                 (vitc_attr[]){INTS("strides", 2, 2), INTS("pads", 1, 0, 0, 1)}, 2,
                 (case_opts){.group = 2, .bias = true, .const_weights = true, .nthreads = 2});
  conv_transpose("i32 output_shape", VITC_I32, DIMS(1, 2, 3, 3), 3, (int64_t[]){2, 2},
                 (vitc_attr[]){INTS("strides", 2, 2), INTS("output_shape", 7, 8)}, 2, plain);
  conv_transpose("f16 1-D dilations", VITC_F16, DIMS(1, 2, 6), 2, (int64_t[]){3},
                 (vitc_attr[]){INTS("dilations", 2)}, 1, plain);
}

int main(void) {
  test_float32();
  test_other_dtypes();
  CHECK_DONE();
}

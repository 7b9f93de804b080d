/* test_fuse_qdq.c — fuse_qdq on the QDQ forms ORT's quantizer writes: a MatMul with a bias Add, a Gemm
 * with transB and a per-column weight scale, an int8 activation; and the near misses it must leave alone:
 * Quantize and Dequantize scales that differ, a weight zero point, a per-row weight scale, a run-time
 * weight, Gemm's alpha, and a product read twice (which keeps its Add); and the second sweep, a
 * Quantize-Dequantize the Int8Gemm repeats after a Transpose, with its near misses. Each case checks the histogram,
 * the evaluator before/after the pass and the JIT (fusion_harness.h). */
#include <string.h>

#include "fusion_harness.h"
#include "runtime/vitc_rt.h"

enum {
  FUSE_MATMUL_ADD, /* [2,5,9] x [9,13], per-column scales, uint8 activation, then + bias */
  FUSE_GEMM,       /* Gemm(transB) of [3,9] by [13,9] with C, scales per output channel (axis 0) */
  FUSE_INT8,       /* int8 activation zero point -3, one weight scale */
  MISS_SCALES,     /* the Dequantize of x scales by 0.03, its Quantize by 0.02 */
  MISS_WEIGHT_ZP,  /* weight zero point 1 */
  MISS_ROW_SCALE,  /* weight scales along K (axis 0 of a MatMul weight) */
  MISS_RUNTIME_W,  /* the int8 weight is a graph input */
  MISS_ALPHA,      /* Gemm alpha 0.5 */
  SHARED_PRODUCT,  /* the MatMul read by the Add and a Relu: fused without the Add */
  FUSE_REQUANT,    /* ORT's linear layer: MatMul, Quantize-Dequantize of its output, then + bias */
  MISS_REQUANT,    /* that output's Quantize and Dequantize scales differ: they stay */
  REQUANT_VIEW,    /* x = Transpose(DQ(Q(y))) at x's own scale and zero point: the Transpose reads y */
  MISS_VIEW_SCALE, /* ... y quantised at another scale: that pair stays */
  MISS_VIEW_READ,  /* ... the Transpose's output is a graph output too: the pair stays */
};

static int constant(test_graph *t, vitc_dtype dt, int rank, int64_t n, const void *data) {
  vitc_value v = {.dtype = dt, .rank = rank, .dims = {n}, .data = (void *)data};
  return vitc_graph_add_constant(t->g, NULL, &v);
}

static void build(test_graph *t, int variant) {
  static const float s = 0.02f, s_other = 0.03f;
  static const uint8_t zu = 120;
  static const int8_t zi = -3, wz1 = 1, wz0[13] = {0};
  static const float col_scales[13] = {0.1f, 0.2f, 0.05f, 0.3f, 0.1f, 0.15f, 0.2f, 0.25f, 0.1f, 0.05f, 0.3f, 0.2f, 0.1f};
  bool gemm = variant == FUSE_GEMM || variant == MISS_ALPHA;
  int64_t xdims[3] = {2, 5, 9}, gdims[2] = {3, 9}, wdims[2] = {9, 13}, wtdims[2] = {13, 9};
  int x = gemm ? tg_input(t, VITC_F32, 2, gdims) : tg_input(t, VITC_F32, 3, xdims);
  int sx = constant(t, VITC_F32, 0, 1, &s);
  int zx = variant == FUSE_INT8 ? constant(t, VITC_I8, 0, 1, &zi) : constant(t, VITC_U8, 0, 1, &zu);
  if (variant >= REQUANT_VIEW) { /* x is y [5, 2, 9] quantised, dequantised and transposed */
    static int64_t swap[] = {1, 0, 2};
    vitc_attr perm = {.name = "perm", .type = VITC_ATTR_INTS, .n = 3, .ints = swap};
    int yq[3] = {tg_input(t, VITC_F32, 3, (int64_t[]){5, 2, 9}), variant == MISS_VIEW_SCALE ? constant(t, VITC_F32, 0, 1, &s_other) : sx, zx};
    int yd[3] = {tg_node(t, VITC_OP_QuantizeLinear, yq, 3, 1, NULL, 0), yq[1], zx};
    int a = tg_node(t, VITC_OP_DequantizeLinear, yd, 3, 1, NULL, 0);
    x = tg_node(t, VITC_OP_Transpose, &a, 1, 1, &perm, 1);
    if (variant == MISS_VIEW_READ) tg_output(t, x);
  }
  int qin[3] = {x, sx, zx};
  int q = tg_node(t, VITC_OP_QuantizeLinear, qin, 3, 1, NULL, 0);
  int dqin[3] = {q, variant == MISS_SCALES ? constant(t, VITC_F32, 0, 1, &s_other) : sx, zx};
  int a = tg_node(t, VITC_OP_DequantizeLinear, dqin, 3, 1, NULL, 0);

  int w = variant == MISS_RUNTIME_W ? tg_input(t, VITC_I8, 2, wdims) : tg_const(t, VITC_I8, 2, gemm ? wtdims : wdims, 5);
  int sw = variant == FUSE_INT8 || variant == MISS_RUNTIME_W ? sx : constant(t, VITC_F32, 1, variant == MISS_ROW_SCALE ? 9 : 13, col_scales);
  int wzp = variant == MISS_WEIGHT_ZP ? constant(t, VITC_I8, 0, 1, &wz1) : constant(t, VITC_I8, 1, 13, wz0);
  int dwin[3] = {w, sw, variant == MISS_ROW_SCALE || variant == FUSE_INT8 || variant == MISS_RUNTIME_W ? -1 : wzp};
  vitc_attr axis = {.name = "axis", .type = VITC_ATTR_INT, .i = gemm || variant == MISS_ROW_SCALE ? 0 : 1};
  int b = tg_node(t, VITC_OP_DequantizeLinear, dwin, dwin[2] < 0 ? 2 : 3, 1, &axis, 1);
  int bias = tg_const(t, VITC_F32, 1, (int64_t[]){13}, 9);
  if (gemm) {
    vitc_attr attrs[] = {{.name = "transB", .type = VITC_ATTR_INT, .i = 1},
                         {.name = "alpha", .type = VITC_ATTR_FLOAT, .f = variant == MISS_ALPHA ? 0.5 : 1.0}};
    int in[3] = {a, b, bias};
    tg_output(t, tg_node(t, VITC_OP_Gemm, in, 3, 1, attrs, 2));
    return;
  }
  int y = fh_op(t, VITC_OP_MatMul, a, b);
  if (variant == FUSE_REQUANT || variant == MISS_REQUANT) {
    static const float ys = 0.05f;
    int yq[3] = {y, constant(t, VITC_F32, 0, 1, &ys), zx};
    int yd[3] = {tg_node(t, VITC_OP_QuantizeLinear, yq, 3, 1, NULL, 0), variant == MISS_REQUANT ? sx : yq[1], zx};
    y = tg_node(t, VITC_OP_DequantizeLinear, yd, 3, 1, NULL, 0);
  }
  tg_output(t, fh_op(t, VITC_OP_Add, y, bias));
  if (variant == SHARED_PRODUCT) tg_output(t, fh_op(t, VITC_OP_Relu, y, -1));
}

/* The Int8Gemm kernel against the evaluator on a graph of that node alone: x [rows.., k], zero point of
 * type zt, weight [k, n] with per-column scales and bias. Values of x reach past the quantised range, so
 * that saturation is exercised too. */
static void check_kernel(const vitc_target_options *to, const char *what, int rank, const int64_t *xdims, int64_t n, vitc_dtype zt,
                         int nthreads) {
  static const float s = 0.004f;
  static const uint8_t zu = 131;
  static const int8_t zi = 5;
  test_graph t = tg_new();
  int64_t k = xdims[rank - 1], wdims[2] = {k, n};
  int in[6] = {tg_input(&t, VITC_F32, rank, xdims), constant(&t, VITC_F32, 0, 1, &s),
               zt == VITC_U8 ? constant(&t, VITC_U8, 0, 1, &zu) : constant(&t, VITC_I8, 0, 1, &zi),
               tg_const(&t, VITC_I8, 2, wdims, 3), tg_const(&t, VITC_F32, 1, &n, 4), tg_const(&t, VITC_F32, 1, &n, 5)};
  tg_output(&t, tg_node(&t, VITC_OP_Int8Gemm, in, 6, 1, NULL, 0));
  vitc_error err = {0};
  vitc_status st = tg_compile_for(&t, to, nthreads, &err);
  if (st) fprintf(stderr, "%s on %s: %s\n", what, to->cpu ? to->cpu : "this CPU", err.msg);
  CHECK(st == VITC_OK);
  if (!st) CHECK(tg_compare(&t, what, 1e-6, 1e-6) == 0);
  tg_free(&t);
}

/* The kernels on a target: K not a multiple of 4, N of three full panels and 8
 * more (of 64 or 16 columns), M of 11 row blocks and one row, a single row, a batched x; uint8 and int8
 * activations. */
static void check_kernels(const vitc_target_options *to) {
  for (int threads = 1; threads <= 3; threads += 2) {
    check_kernel(to, "int8 gemm 67x770x200 uint8", 2, (int64_t[]){67, 770}, 200, VITC_U8, threads);
    check_kernel(to, "int8 gemm 67x770x56 int8", 2, (int64_t[]){67, 770}, 56, VITC_I8, threads);
    check_kernel(to, "int8 gemm 1x33x5 int8", 2, (int64_t[]){1, 33}, 5, VITC_I8, threads);
    check_kernel(to, "int8 gemm batched 2x3x7x64 int8", 4, (int64_t[]){2, 3, 7, 64}, 64, VITC_I8, threads);
  }
}

static void test_kernel(void) {
  char missing[64];
  if (!vitc_rt_cpu_supports("+avx2", missing, sizeof missing)) {
    fprintf(stderr, "int8 kernels skipped: this CPU lacks %s\n", missing);
  } else {
    check_kernels(&(vitc_target_options){.opt_level = 3});
    /* vpmaddwd's form wherever AVX2 runs, also on a CPU whose own form is vpdpbusd */
    if (vitc_rt_cpu_supports("+avx512vnni", missing, sizeof missing))
      check_kernels(&(vitc_target_options){.cpu = "haswell", .features = "+avx2,+fma,+f16c,+bmi,+bmi2", .opt_level = 3});
  }
  /* AVX-VNNI's 256-bit vpdpbusd is selected (compiled only: this CPU may not run it) */
  test_graph t = tg_new();
  build(&t, FUSE_MATMUL_ADD);
  vitc_target_options to = {.cpu = "alderlake", .features = "+avx2,+avxvnni,+fma", .opt_level = 3};
  vitc_error err = {0};
  vitc_status st = tg_compile_for(&t, &to, 1, &err);
  if (st) fprintf(stderr, "alderlake: %s\n", err.msg);
  CHECK(st == VITC_OK);
  tg_free(&t);
  /* a target without AVX2 is refused at compile time, naming the node */
  t = tg_new();
  build(&t, FUSE_MATMUL_ADD);
  to = (vitc_target_options){.cpu = "x86-64", .opt_level = 3};
  CHECK(tg_compile_for(&t, &to, 1, &err) == VITC_ERR_UNSUPPORTED && strstr(err.msg, "(Int8Gemm) needs an x86-64 target with avx2"));
  tg_free(&t);
}

/* fuse_qdq, then the nodes it left unread go (as eliminate_dead does later in the pipeline). */
static vitc_status fuse_qdq_and_drop_dead(vitc_graph *g, vitc_error *err) {
  vitc_status st = vitc_fuse_qdq(g, err);
  return st == VITC_OK ? vitc_eliminate_dead(g, err) : st;
}

int main(void) {
  test_kernel();
  static const struct {
    const char *what;
    int variant;
    int fused, add_kept;
  } cases[] = {
      {"MatMul with per-column scales and a bias Add", FUSE_MATMUL_ADD, 1, 0},
      {"Gemm transB with C, scales per output channel", FUSE_GEMM, 1, 0},
      {"int8 activation", FUSE_INT8, 1, 0},
      {"near miss: Quantize and Dequantize scales differ", MISS_SCALES, 0, 1},
      {"near miss: weight zero point 1", MISS_WEIGHT_ZP, 0, 1},
      {"near miss: weight scales along K", MISS_ROW_SCALE, 0, 1},
      {"near miss: run-time weight", MISS_RUNTIME_W, 0, 1},
      {"near miss: Gemm alpha 0.5", MISS_ALPHA, 0, 0},
      {"product read twice: its Add stays", SHARED_PRODUCT, 1, 1},
      {"output quantised and dequantised, then + bias", FUSE_REQUANT, 1, 0},
      {"near miss: output Quantize and Dequantize scales differ", MISS_REQUANT, 1, 1},
  };
  /* the second sweep: a Quantize-Dequantize the Int8Gemm repeats after a Transpose goes */
  static const struct {
    const char *what;
    int variant, quantize_kept;
  } views[] = {
      {"y quantised, transposed, quantised again alike: the Transpose reads y", REQUANT_VIEW, 0},
      {"near miss: y quantised at another scale", MISS_VIEW_SCALE, 1},
      {"near miss: the transposed tensor is read again", MISS_VIEW_READ, 1},
  };
  for (size_t c = 0; c < sizeof views / sizeof *views; c++) {
    const fh_count want[] = {{VITC_OP_Int8Gemm, 1}, {VITC_OP_QuantizeLinear, views[c].quantize_kept},
                             {VITC_OP_DequantizeLinear, views[c].quantize_kept}};
    vitc_graph_free(fh_check(views[c].what, build, views[c].variant, fuse_qdq_and_drop_dead, want, 3));
  }
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    const fh_count want[] = {{VITC_OP_Int8Gemm, cases[c].fused}, {VITC_OP_Add, cases[c].add_kept}};
    vitc_graph *g = fh_check(cases[c].what, build, cases[c].variant, vitc_fuse_qdq, want, 2);
    const vitc_node *n = fh_find_op(g, VITC_OP_Int8Gemm);
    /* the bias joined it, from C or the Add, unless the product had another reader */
    int nin = cases[c].variant == SHARED_PRODUCT || cases[c].variant == MISS_REQUANT ? 5 : cases[c].variant == FUSE_REQUANT ? 9 : 6;
    if (cases[c].fused) CHECK(n && n->nin == nin);
    vitc_graph_free(g);
  }
  CHECK_DONE();
}

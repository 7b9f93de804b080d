/* test_backend_gemm.c — the generated MatMul, Gemm, Conv and pool kernels against the evaluator. */
#include "backend_harness.h"
#include "check.h"
#include "op_harness.h"

#define RTOL 1e-4
#define ATOL 1e-4 /* sums of hundreds of O(1) terms cancel to near 0: absolute float rounding */

/* Compiles t with nthreads and checks it (tg_check at this file's tolerances); frees t. */
static void check_graph(test_graph *t, const char *what, int nthreads) { tg_check(t, what, nthreads, RTOL, ATOL); }

#define DIMS(...) (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__}

/* a @ b, b an input or (const_b) a constant. */
static void matmul(const char *what, vitc_dtype t, int ra, const int64_t *da, int rb, const int64_t *db,
                   bool const_b, int nthreads) {
  test_graph g = tg_new();
  int in[2] = {tg_input(&g, t, ra, da), const_b ? tg_const(&g, t, rb, db, 99) : tg_input(&g, t, rb, db)};
  tg_output(&g, tg_node(&g, VITC_OP_MatMul, in, 2, 1, NULL, 0));
  check_graph(&g, what, nthreads);
}

static void test_matmul(void) {
  matmul("matmul 37x53x29", VITC_F32, DIMS(37, 53), DIMS(53, 29), false, 2);
  matmul("matmul 37x53x29 const", VITC_F32, DIMS(37, 53), DIMS(53, 29), true, 2);
  matmul("matmul 1x768x10", VITC_F32, DIMS(1, 768), DIMS(768, 10), false, 1);
  matmul("matmul 1x768x10 const", VITC_F32, DIMS(1, 768), DIMS(768, 10), true, 2);
  matmul("matmul batched broadcast", VITC_F32, DIMS(2, 3, 17, 9), DIMS(9, 13), false, 2);
  matmul("matmul batched both", VITC_F32, DIMS(2, 3, 17, 9), DIMS(3, 9, 50), false, 2);
  /* rows past one chunk of row blocks over a narrower B, batched: tasks run the panels innermost */
  matmul("matmul batched many rows", VITC_F32, DIMS(2, 110, 9), DIMS(2, 9, 13), false, 3);
  matmul("matmul batch broadcast a", VITC_F32, DIMS(1, 17, 9), DIMS(4, 9, 50), true, 2);
  matmul("matmul 1-D a", VITC_F32, DIMS(9), DIMS(2, 9, 50), false, 1);
  matmul("matmul 1-D b", VITC_F32, DIMS(3, 5, 9), DIMS(9), false, 1);
  matmul("matmul 1-D both", VITC_F32, DIMS(300), DIMS(300), true, 1);
  matmul("matmul K blocks", VITC_F32, DIMS(70, 2100), DIMS(2100, 100), true, 2);
  matmul("matmul K blocks input", VITC_F32, DIMS(70, 2100), DIMS(2100, 100), false, 2);
  matmul("matmul vit qkv", VITC_F32, DIMS(1, 197, 768), DIMS(768, 2304), true, 2);
  matmul("matmul attention", VITC_F32, DIMS(1, 12, 197, 64), DIMS(1, 12, 64, 197), false, 2);
  matmul("matmul k=0", VITC_F32, DIMS(5, 0), DIMS(0, 7), false, 1);
  matmul("matmul f64", VITC_F64, DIMS(2, 7, 5), DIMS(5, 3), false, 2);
  matmul("matmul f16", VITC_F16, DIMS(7, 5), DIMS(5, 3), true, 1);
  matmul("matmul i32", VITC_I32, DIMS(3, 7, 5), DIMS(5, 6), false, 1);
  matmul("matmul i64", VITC_I64, DIMS(7, 5), DIMS(5, 6), true, 1);
  /* row counts whose tiles are of two heights (AVX-512's 8-row tiles, 50: one of 8 and six of 7; 197: 22 of 8
   * and three of 7; AVX2's 6-row ones, 31: one of 6 and five of 5; 197: 32 of 6 and one of 5), one height below
   * the tile's (49: seven of 7; 7; 5; 1), one height the tile's (56, 64; 6, 36: the linear layers' kernel, which
   * reads its sizes at run time, counts them tiles of 8 and none of 7, or of 6 and none of 5), N ending in a
   * masked panel, K in two blocks of 550 (the tiles prefetch a packed B one block ahead, past the last block
   * into the next panel), B packed at compile time and read in place, on one thread and three */
  static const int64_t rows[] = {1, 5, 6, 7, 9, 31, 36, 49, 50, 56, 64, 197};
  for (int threads = 1; threads <= 3; threads += 2)
    for (int r = 0; r < (int)(sizeof rows / sizeof *rows); r++) {
      int64_t m = rows[r], n = r % 2 ? 100 : 61;
      char what[64];
      snprintf(what, sizeof what, "matmul %lldx1100x%lld const, %d threads", (long long)m, (long long)n, threads);
      matmul(what, VITC_F32, DIMS(m, 1100), DIMS(1100, n), true, threads);
      snprintf(what, sizeof what, "matmul %lldx1100x%lld input, %d threads", (long long)m, (long long)n, threads);
      matmul(what, VITC_F32, DIMS(m, 1100), DIMS(1100, n), false, threads);
    }
  /* the threads' shares cut in units of a row tile x a vector (emit_sgemm): on three threads the cuts fall
   * inside blocks, inside a part panel and across batch indices, with row chunks outer (19 rows, 13 columns)
   * and panels outer (9 rows of 100 columns: a panel and a third per tile row) */
  for (int threads = 1; threads <= 3; threads += 2) {
    matmul("matmul batched 5x19x40x13", VITC_F32, DIMS(5, 19, 40), DIMS(5, 40, 13), false, threads);
    matmul("matmul batched 3x9x40x100", VITC_F32, DIMS(3, 9, 40), DIMS(3, 40, 100), false, threads);
  }
}

static void gemm(const char *what, int64_t m, int64_t k, int64_t n, bool ta, bool tb, int rc, const int64_t *dc,
                 bool const_b, double alpha, double beta, int nthreads) {
  test_graph g = tg_new();
  int64_t da[2] = {ta ? k : m, ta ? m : k}, db[2] = {tb ? n : k, tb ? k : n};
  int in[3] = {tg_input(&g, VITC_F32, 2, da),
               const_b ? tg_const(&g, VITC_F32, 2, db, 5) : tg_input(&g, VITC_F32, 2, db),
               rc >= 0 ? tg_const(&g, VITC_F32, rc, dc, 6) : -1};
  vitc_attr attrs[4] = {attr_int("transA", ta), attr_int("transB", tb), attr_float("alpha", alpha),
                        attr_float("beta", beta)};
  tg_output(&g, tg_node(&g, VITC_OP_Gemm, in, rc >= 0 ? 3 : 2, 1, attrs, 4));
  check_graph(&g, what, nthreads);
}

static void test_gemm(void) {
  gemm("gemm plain", 37, 53, 29, false, false, -1, NULL, false, 1, 1, 2);
  gemm("gemm transA", 37, 53, 29, true, false, 2, (int64_t[]){37, 29}, false, 0.5, 2, 2);
  gemm("gemm transB const", 37, 53, 29, false, true, 1, (int64_t[]){29}, true, 1, 1, 2);
  gemm("gemm transB input", 37, 53, 29, false, true, 1, (int64_t[]){29}, false, 1, 1, 2);
  gemm("gemm transA transB", 19, 300, 70, true, true, 2, (int64_t[]){19, 1}, true, 1.5, 0.25, 2);
  gemm("gemm scalar C", 9, 8, 100, false, false, 0, (int64_t[]){0}, true, 1, -1, 2);
  gemm("gemm C [1,1]", 9, 8, 100, false, false, 2, (int64_t[]){1, 1}, false, 1, 1, 2);
  gemm("gemm beta 0", 9, 8, 33, false, true, 2, (int64_t[]){9, 33}, true, 2, 0, 2);
  /* B read by columns (transB, not a constant): packed at run time into panels for the micro-kernel; K
   * past one K block, N past one panel with a partial last one, on one and three threads */
  for (int threads = 1; threads <= 3; threads += 2) {
    gemm("gemm transB input, K blocks", 50, 1100, 97, false, true, 1, (int64_t[]){97}, false, 1, 1, threads);
    gemm("gemm transA transB input", 7, 33, 49, true, true, -1, NULL, false, 0.5, 1, threads);
    gemm("gemm transB input, one row", 1, 768, 10, false, true, -1, NULL, false, 1, 1, threads);
  }
}

/* vitc.FusedGemm: x [m, k] @ constant w [k, n] + bias, then act, gamma and the residual in the epilogue. */
static void fused_gemm(const char *what, int64_t m, int64_t k, int64_t n, const char *act, int nthreads) {
  test_graph g = tg_new();
  int in[5] = {tg_input(&g, VITC_F32, DIMS(m, k)), tg_const(&g, VITC_F32, DIMS(k, n), 5),
               tg_const(&g, VITC_F32, DIMS(n), 6), tg_input(&g, VITC_F32, DIMS(m, n)), tg_const(&g, VITC_F32, DIMS(n), 7)};
  vitc_attr a = attr_str("activation", act);
  tg_output(&g, tg_node(&g, VITC_OP_FusedGemm, in, 5, 1, &a, 1));
  check_graph(&g, what, nthreads);
}

static void test_fused_gemm(void) {
  /* K in several blocks (partial sums through Y, the epilogue after the last block only): three row chunks
   * (197 rows: tiles of 8 and 7) of each panel, the last panel masked; many rows over few panels (3000 rows
   * in 32 chunks of 96 x 3 panels: panels innermost); one row chunk (49 rows) over a K of four blocks; on
   * one thread and three; a GELU over tile rows of three vectors, one (N 100) and two (N 68) */
  for (int threads = 1; threads <= 3; threads += 2) {
    fused_gemm("fused gemm 197x1100x100 gelu", 197, 1100, 100, "gelu_erf", threads);
    fused_gemm("fused gemm 37x96x68 gelu", 37, 96, 68, "gelu_erf", threads);
    fused_gemm("fused gemm 3000x300x100 relu", 3000, 300, 100, "relu", threads);
    fused_gemm("fused gemm 49x3100x61", 49, 3100, 61, "none", threads);
    fused_gemm("fused gemm 37x70x53 silu", 37, 70, 53, "silu", threads);
  }
}

/* The CPU the bf16 tests compile for (test_graph.cpu): this machine, then on a machine with avx512bf16 an
 * AVX2 one as well, whose products are emulated (emit_gemm.h). */
static const char *bf16_cpu;

static void check_bf16(test_graph *t, const char *what, int nthreads) {
  t->cpu = bf16_cpu;
  tg_check_bf16(t, what, nthreads, RTOL, ATOL);
}

/* LayerNormalization of x over its last dim (c) with a random scale. */
static int layer_norm(test_graph *g, int x, int64_t c, unsigned seed) {
  int in[2] = {x, tg_const(g, VITC_F32, 1, &c, seed)};
  return tg_node(g, VITC_OP_LayerNormalization, in, 2, 1, NULL, 0);
}

static void bf16_linear(const char *what, vitc_op op, int ra, const int64_t *da, int64_t k, int64_t n, bool ta, bool tb,
                        const char *act, int nthreads) {
  test_graph g = tg_new();
  int64_t db[2] = {tb ? n : k, tb ? k : n};
  /* A product on the input or computing the output stays float32 (ir/precision.c): A is the input through
   * tg_same_values (the same bits in kernel and evaluator, so that both round the same A), and a layer norm
   * follows the product. */
  int a = tg_same_values(&g, tg_input(&g, VITC_F32, ra, da));
  int in[3] = {a, tg_const(&g, VITC_F32, 2, db, 5), tg_const(&g, VITC_F32, 1, &n, 6)};
  vitc_attr attrs[2] = {attr_int("transA", ta), attr_int("transB", tb)};
  if (op == VITC_OP_FusedGemm) attrs[0] = attr_str("activation", act);
  int nin = op == VITC_OP_MatMul ? 2 : 3, nattr = op == VITC_OP_MatMul ? 0 : op == VITC_OP_Gemm ? 2 : 1;
  int y = tg_node(&g, op, in, nin, 1, attrs, nattr);
  tg_output(&g, layer_norm(&g, y, n, 8));
  check_bf16(&g, what, nthreads);
}

/* A's rounding at its edges, kernel against the evaluator (vitc_bf16_bits) with no tolerance: ties to even
 * and subnormals (made visible by a weight of 2^100, exact in bfloat16). */
enum { EDGE_VALUES = 12 };
static const uint32_t a_bits[EDGE_VALUES] = {
    0x807fffff, 0x007f8000, 0x00000001, 0x80000000, /* subnormals (and zeros) alone in a row */
    0x3f808000, 0x3f818000, 0xbf808000, 0x3f80c000, /* ties (to 1, to 1 + 2^-6, to -1) and just above one */
    0x40490fdb, 0x3f800001, 0x4049fff0, 0x3f7fffff}; /* ordinary values */

/* A [3, k] of the bits a times the constant w [k, n] in BF16 precision, kernel against evaluator: the same
 * bits, no tolerance. */
static void check_rounding(const char *what, int64_t k, int64_t n, float *w, const uint32_t *a, int nthreads) {
  test_graph g = tg_new();
  vitc_value wv = {.dtype = VITC_F32, .rank = 2, .dims = {k, n}, .data = w};
  int x = tg_input(&g, VITC_F32, DIMS(3, k)), in[2] = {tg_same_values(&g, x), vitc_graph_add_constant(g.g, NULL, &wv)};
  tg_output(&g, tg_same_values(&g, tg_node(&g, VITC_OP_MatMul, in, 2, 1, NULL, 0)));
  g.g->precision = VITC_PRECISION_BF16;
  g.cpu = bf16_cpu;
  vitc_error err = {0};
  vitc_status st = tg_compile(&g, nthreads, &err);
  if (st) fprintf(stderr, "%s: %s\n", what, err.msg);
  CHECK(st == VITC_OK);
  if (!st) {
    memcpy(g.in[0].data, a, sizeof(uint32_t) * (size_t)(3 * k));
    CHECK(tg_compare(&g, what, 0, 0) == 0);
  }
  tg_free(&g);
}

static void test_bf16_rounding_edges(int nthreads) {
  enum { K = 4, N = 5, ROWS_K = 37 };
  float w[K * N];
  for (int e = 0; e < K * N; e++) w[e] = e % 2 ? 0x1p100f : -0x1p100f;
  check_rounding("bf16 rounding edges", K, N, w, a_bits, nthreads);
  /* the same values cycled along rows of 37 (a whole vector of 32 values rounded at once, then a tail of 5:
   * an odd K's last pair), the weight 2^100 times the identity: each rounded value reaches Y alone */
  static float id[ROWS_K * ROWS_K];
  uint32_t a[3 * ROWS_K];
  for (int e = 0; e < ROWS_K * ROWS_K; e++) id[e] = e / ROWS_K == e % ROWS_K ? 0x1p100f : 0;
  for (int e = 0; e < 3 * ROWS_K; e++) a[e] = a_bits[(e + e / ROWS_K) % EDGE_VALUES]; /* each row one value on */
  check_rounding("bf16 rounding rows of 37", ROWS_K, ROWS_K, id, a, nthreads);
}

static void test_bf16(void) {
  {
    /* odd K (a last pair with a zero half), K past two K blocks of 1024 pairs, N with a partial last panel,
     * M with a short last row block, a batched A, a transposed A (read by columns while rounding) and the
     * epilogue, on one thread and three */
    for (int threads = 1; threads <= 3; threads += 2) {
      bf16_linear("bf16 matmul 37x53x29", VITC_OP_MatMul, DIMS(37, 53), 53, 29, false, false, NULL, threads);
      bf16_linear("bf16 matmul K blocks 70x2101x100", VITC_OP_MatMul, DIMS(70, 2101), 2101, 100, false, false, NULL,
                  threads);
      bf16_linear("bf16 matmul batched 2x3x17x9x50", VITC_OP_MatMul, DIMS(2, 3, 17, 9), 9, 50, false, false, NULL,
                  threads);
      bf16_linear("bf16 matmul one row 1x768x10", VITC_OP_MatMul, DIMS(1, 768), 768, 10, false, false, NULL, threads);
      bf16_linear("bf16 gemm transA transB", VITC_OP_Gemm, DIMS(301, 19), 301, 70, true, true, NULL, threads);
      /* more rows than columns, over two K blocks and a partial panel; and a transposed A of many rows */
      bf16_linear("bf16 matmul 700x2101x100", VITC_OP_MatMul, DIMS(700, 2101), 2101, 100, false,
                  false, NULL, threads);
      bf16_linear("bf16 gemm transA 150 rows", VITC_OP_Gemm, DIMS(45, 150), 45, 20, true, true, NULL,
                  threads);
      bf16_linear("bf16 fused gemm gelu", VITC_OP_FusedGemm, DIMS(2, 13, 96), 96, 200, false, false, "gelu_erf",
                  threads);
      test_bf16_rounding_edges(threads);
    }
  }
}

/* Conv of x [1 or 2, cin, spatial..] with constant weights [cout, cin/group, kernel..] and bias, on one
 * thread and on three (im2col fills one buffer in the node's work space from all tasks). */
static void conv(const char *what, vitc_dtype t, int rx, const int64_t *dx, int64_t cout, int64_t group,
                 const int64_t *kernel, vitc_attr *attrs, int nattr, bool bias) {
  vitc_attr all[8];
  if (nattr) memcpy(all, attrs, sizeof *attrs * (size_t)nattr);
  all[nattr++] = attr_int("group", group);
  for (int nthreads = 1; nthreads <= 3; nthreads += 2) {
    test_graph g = tg_new();
    int64_t dw[VITC_MAX_RANK] = {cout, dx[1] / group};
    for (int d = 2; d < rx; d++) dw[d] = kernel[d - 2];
    int64_t db[1] = {cout};
    int in[3] = {tg_input(&g, t, rx, dx), tg_const(&g, t, rx, dw, 3), bias ? tg_const(&g, t, 1, db, 4) : -1};
    tg_output(&g, tg_node(&g, VITC_OP_Conv, in, bias ? 3 : 2, 1, all, nattr));
    check_graph(&g, what, nthreads);
  }
}

#define INTS(name, ...) attr_ints(name, DIMS(__VA_ARGS__))

static void test_conv(void) {
  conv("conv 3x3 pads", VITC_F32, DIMS(2, 5, 11, 9), 7, 1, (int64_t[]){3, 3}, (vitc_attr[]){INTS("pads", 1, 1, 1, 1)}, 1, true);
  conv("conv stride dilation", VITC_F32, DIMS(1, 4, 13, 12), 6, 1, (int64_t[]){3, 2},
       (vitc_attr[]){INTS("strides", 2, 3), INTS("dilations", 2, 1), INTS("pads", 1, 0, 2, 1)}, 3, true);
  conv("conv groups", VITC_F32, DIMS(2, 6, 9, 9), 9, 3, (int64_t[]){3, 3}, (vitc_attr[]){attr_str("auto_pad", "SAME_UPPER")}, 1, true);
  conv("conv depthwise 7x7", VITC_F32, DIMS(2, 8, 14, 14), 8, 8, (int64_t[]){7, 7}, (vitc_attr[]){INTS("pads", 3, 3, 3, 3)}, 1, true);
  conv("conv depthwise strided", VITC_F32, DIMS(1, 4, 15, 15), 4, 4, (int64_t[]){3, 3},
       (vitc_attr[]){INTS("pads", 1, 2, 1, 0), INTS("strides", 2, 2)}, 2, false);
  conv("conv 1x1", VITC_F32, DIMS(2, 16, 7, 9), 20, 1, (int64_t[]){1, 1}, NULL, 0, true);
  conv("conv 1x1 groups", VITC_F32, DIMS(1, 16, 5, 5), 8, 4, (int64_t[]){1, 1}, NULL, 0, false);
  /* 1x1 with the pixels as the GEMM's rows (Y stored transposed): a 7x7 map to 50 channels (a panel of 2
   * columns after one of 48, or three of 16), K past one K block of the row-major kernels, two images; and 15
   * pixels (tiles of 8 and 7 rows, or three of 5) to 32 channels */
  conv("conv 1x1 by pixels", VITC_F32, DIMS(2, 1100, 7, 7), 50, 1, (int64_t[]){1, 1}, NULL, 0, false);
  conv("conv 1x1 by pixels, 15", VITC_F32, DIMS(1, 24, 3, 5), 32, 1, (int64_t[]){1, 1}, NULL, 0, true);
  conv("conv patch 4x4/4", VITC_F32, DIMS(1, 3, 32, 32), 24, 1, (int64_t[]){4, 4}, (vitc_attr[]){INTS("strides", 4, 4)}, 1, true);
  conv("conv patch 16x16/16", VITC_F32, DIMS(1, 3, 64, 64), 50, 1, (int64_t[]){16, 16}, (vitc_attr[]){INTS("strides", 16, 16)}, 1, true);
  /* 288 rows of 16900 columns exceed one im2col buffer: slabs of 14560 columns and a tail */
  conv("conv slabs", VITC_F32, DIMS(1, 32, 130, 130), 4, 1, (int64_t[]){3, 3}, (vitc_attr[]){INTS("pads", 1, 1, 1, 1)}, 1, true);
  /* strided, dilated, pads past the dilation (whole runs of a row in the padding), slabs of 7280 columns
   * that start inside an output line */
  conv("conv slabs strided", VITC_F32, DIMS(1, 64, 250, 131), 4, 1, (int64_t[]){3, 3},
       (vitc_attr[]){INTS("strides", 2, 2), INTS("dilations", 2, 2), INTS("pads", 3, 0, 3, 2)}, 3, false);
  conv("conv 1-D", VITC_F32, DIMS(2, 3, 20), 5, 1, (int64_t[]){4}, (vitc_attr[]){INTS("pads", 2, 1)}, 1, true);
  conv("conv 3-D", VITC_F32, DIMS(1, 2, 5, 6, 7), 3, 1, (int64_t[]){2, 3, 2}, (vitc_attr[]){INTS("pads", 1, 0, 1, 0, 1, 1)}, 1, true);
  conv("conv f64", VITC_F64, DIMS(1, 4, 6, 6), 4, 2, (int64_t[]){3, 3}, (vitc_attr[]){INTS("pads", 1, 1, 1, 1)}, 1, true);
  conv("conv i32", VITC_I32, DIMS(1, 2, 6, 5), 3, 1, (int64_t[]){2, 2}, NULL, 0, false);
}

static void pool(const char *what, vitc_op op, vitc_dtype t, int rx, const int64_t *dx, vitc_attr *attrs, int nattr,
                 int nout) {
  for (int threads = 1; threads <= 3; threads += 2) {
    test_graph g = tg_new();
    int in[1] = {tg_input(&g, t, rx, dx)};
    int y = tg_node(&g, op, in, 1, nout, attrs, nattr);
    tg_output(&g, y);
    if (nout > 1) tg_output(&g, y + 1);
    check_graph(&g, what, threads);
  }
}

static void test_pools(void) {
  pool("avgpool 3x3 pads", VITC_OP_AveragePool, VITC_F32, DIMS(2, 3, 9, 8),
       (vitc_attr[]){INTS("kernel_shape", 3, 3), INTS("pads", 1, 1, 1, 1), INTS("strides", 2, 2)}, 3, 1);
  pool("avgpool include pad ceil", VITC_OP_AveragePool, VITC_F32, DIMS(1, 2, 10, 7),
       (vitc_attr[]){INTS("kernel_shape", 3, 2), INTS("pads", 1, 0, 1, 1), INTS("strides", 2, 2),
                     attr_int("count_include_pad", 1), attr_int("ceil_mode", 1)}, 5, 1);
  /* float32 2-D by rows: PoolFormer's token mixer on rows longer than a vector with a tail, dilated and
   * strided windows with uneven pads, a max over windows reaching past the input */
  pool("avgpool 3x3/1 pads, rows", VITC_OP_AveragePool, VITC_F32, DIMS(1, 5, 19, 37),
       (vitc_attr[]){INTS("kernel_shape", 3, 3), INTS("pads", 1, 1, 1, 1)}, 2, 1);
  pool("avgpool dilated strided include pad, rows", VITC_OP_AveragePool, VITC_F32, DIMS(2, 3, 13, 29),
       (vitc_attr[]){INTS("kernel_shape", 2, 3), INTS("dilations", 3, 2), INTS("strides", 1, 3),
                     INTS("pads", 2, 0, 1, 3), attr_int("count_include_pad", 1)}, 5, 1);
  pool("maxpool 5x4 ceil, rows", VITC_OP_MaxPool, VITC_F32, DIMS(1, 4, 23, 18),
       (vitc_attr[]){INTS("kernel_shape", 5, 4), INTS("pads", 2, 0, 2, 3), INTS("strides", 2, 3),
                     attr_int("ceil_mode", 1)}, 4, 1);
  pool("avgpool dilated 1-D", VITC_OP_AveragePool, VITC_F64, DIMS(2, 3, 17),
       (vitc_attr[]){INTS("kernel_shape", 3), INTS("dilations", 2), INTS("pads", 2, 2)}, 3, 1);
  pool("maxpool 3x3/2", VITC_OP_MaxPool, VITC_F32, DIMS(2, 3, 11, 10),
       (vitc_attr[]){INTS("kernel_shape", 3, 3), INTS("pads", 1, 1, 1, 1), INTS("strides", 2, 2)}, 3, 1);
  pool("maxpool indices col-major", VITC_OP_MaxPool, VITC_F32, DIMS(2, 3, 7, 6),
       (vitc_attr[]){INTS("kernel_shape", 2, 3), INTS("strides", 2, 1), attr_int("storage_order", 1),
                     attr_int("ceil_mode", 1)}, 4, 2);
  pool("maxpool 3-D indices", VITC_OP_MaxPool, VITC_F32, DIMS(1, 2, 5, 6, 4),
       (vitc_attr[]){INTS("kernel_shape", 2, 2, 2), INTS("pads", 1, 0, 1, 0, 1, 0), INTS("dilations", 1, 2, 1)}, 3, 2);
  pool("maxpool i32", VITC_OP_MaxPool, VITC_I32, DIMS(1, 2, 6, 6), (vitc_attr[]){INTS("kernel_shape", 3, 3)}, 1, 1);
  pool("global avgpool", VITC_OP_GlobalAveragePool, VITC_F32, DIMS(2, 5, 7, 7), NULL, 0, 1);
  pool("global maxpool 3-D", VITC_OP_GlobalMaxPool, VITC_F32, DIMS(2, 5, 3, 4, 5), NULL, 0, 1);
  pool("global avgpool f16", VITC_OP_GlobalAveragePool, VITC_F16, DIMS(1, 4, 6, 6), NULL, 0, 1);
  /* planes of 71·71 floats: vector folds with a tail, rows across threads */
  pool("global avgpool large", VITC_OP_GlobalAveragePool, VITC_F32, DIMS(1, 13, 71, 71), NULL, 0, 1);
  pool("global maxpool large", VITC_OP_GlobalMaxPool, VITC_F32, DIMS(1, 13, 71, 71), NULL, 0, 1);
  pool("global maxpool i32", VITC_OP_GlobalMaxPool, VITC_I32, DIMS(2, 3, 5, 5), NULL, 0, 1);
}

int main(void) {
  test_matmul();
  test_gemm();
  test_fused_gemm();
  test_bf16();
  if (vitc_rt_cpu_supports("+avx512bf16", NULL, 0)) {
    bf16_cpu = "x86-64-v3";
    test_bf16();
  }
  test_conv();
  test_pools();
  CHECK_DONE();
}

/* test_linalg.c — MatMul, Gemm and Einsum against naive loops written here (independent of the blocked
 * GEMM), plus their error messages and flops. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "op_harness.h"
#include "test_values.h"

static double max_diff(const vitc_value *v, const double *ref) {
  double m = 0;
  for (int64_t i = 0; i < vitc_numel(v); i++) {
    double d = fabs(vitc_load_f(v, i) - ref[i]);
    if (d > m || d != d) m = d != d ? INFINITY : d;
  }
  return m;
}

/* ---------------------------------------------------------------- MatMul */

/* ref[b, i, j] = sum_p a[b_a, i, p] * b[b_b, p, j] over a flattened batch with explicit batch offsets. */
static void naive_matmul(const vitc_value *a, const vitc_value *b, int64_t nbatch, const int64_t *a_off,
                         const int64_t *b_off, int64_t m, int64_t n, int64_t k, double *ref) {
  for (int64_t r = 0; r < nbatch; r++)
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++) {
        double s = 0;
        for (int64_t p = 0; p < k; p++) s += vitc_load_f(a, a_off[r] + i * k + p) * vitc_load_f(b, b_off[r] + p * n + j);
        ref[(r * m + i) * n + j] = s;
      }
}

static void check_matmul_2d(int64_t m, int64_t n, int64_t k, vitc_dtype t, double tol) {
  vitc_value a = random_value(t, 2, (int64_t[]){m, k}, 1), b = random_value(t, 2, (int64_t[]){k, n}, 2), y;
  vitc_error err = {0};
  CHECK(run_op(VITC_OP_MatMul, 17, (const vitc_value *[]){&a, &b}, 2, &y, 1, NULL, 0, &err) == VITC_OK);
  CHECK(y.rank == 2 && y.dims[0] == m && y.dims[1] == n && y.dtype == t);
  double *ref = malloc(sizeof(double) * (size_t)(m * n));
  naive_matmul(&a, &b, 1, (int64_t[]){0}, (int64_t[]){0}, m, n, k, ref);
  CHECK_NEAR(max_diff(&y, ref), 0, tol);
  free(ref);
  free(a.data);
  free(b.data);
  free(y.data);
}

static void test_matmul(void) {
  check_matmul_2d(37, 29, 53, VITC_F32, 1e-4);
  check_matmul_2d(1, 1, 1, VITC_F32, 1e-6);
  check_matmul_2d(300, 263, 530, VITC_F32, 1e-3); /* several K slices, M blocks and ragged edges */
  check_matmul_2d(5, 6, 7, VITC_F64, 1e-12);
  check_matmul_2d(5, 6, 7, VITC_I32, 0);
  check_matmul_2d(4, 3, 2, VITC_F16, 2e-2);

  /* [2,1,5,7] x [3,7,4] -> [2,3,5,4]: a broadcasts over dim 1, b over dim 0 */
  vitc_value a = random_value(VITC_F32, 4, (int64_t[]){2, 1, 5, 7}, 3), b = random_value(VITC_F32, 3, (int64_t[]){3, 7, 4}, 4), y;
  vitc_error err = {0};
  CHECK(run_op(VITC_OP_MatMul, 17, (const vitc_value *[]){&a, &b}, 2, &y, 1, NULL, 0, &err) == VITC_OK);
  CHECK(y.rank == 4 && y.dims[0] == 2 && y.dims[1] == 3 && y.dims[2] == 5 && y.dims[3] == 4);
  int64_t a_off[6], b_off[6];
  for (int r = 0; r < 6; r++) {
    a_off[r] = (r / 3) * 35;
    b_off[r] = (r % 3) * 28;
  }
  double ref[120];
  naive_matmul(&a, &b, 6, a_off, b_off, 5, 4, 7, ref);
  CHECK_NEAR(max_diff(&y, ref), 0, 1e-5);
  free(y.data);

  /* [2,37,53] x [53,29]: one GEMM over the folded batch */
  vitc_value a3 = random_value(VITC_F32, 3, (int64_t[]){2, 37, 53}, 5), b2 = random_value(VITC_F32, 2, (int64_t[]){53, 29}, 6);
  CHECK(run_op(VITC_OP_MatMul, 17, (const vitc_value *[]){&a3, &b2}, 2, &y, 1, NULL, 0, &err) == VITC_OK);
  double *ref3 = malloc(sizeof(double) * 2 * 37 * 29);
  naive_matmul(&a3, &b2, 2, (int64_t[]){0, 37 * 53}, (int64_t[]){0, 0}, 37, 29, 53, ref3);
  CHECK_NEAR(max_diff(&y, ref3), 0, 1e-4);
  free(ref3);
  free(y.data);

  /* 1-D operands: [7] x [7,4] -> [4]; [3,7] x [7] -> [3]; [7] x [7] -> scalar; [7] x [2,7,4] -> [2,4] */
  vitc_value v = random_value(VITC_F32, 1, (int64_t[]){7}, 7), m74 = random_value(VITC_F32, 2, (int64_t[]){7, 4}, 8);
  vitc_value m37 = random_value(VITC_F32, 2, (int64_t[]){3, 7}, 9), b274 = random_value(VITC_F32, 3, (int64_t[]){2, 7, 4}, 10);
  double r1[8];
  CHECK(run_op(VITC_OP_MatMul, 17, (const vitc_value *[]){&v, &m74}, 2, &y, 1, NULL, 0, &err) == VITC_OK);
  CHECK(y.rank == 1 && y.dims[0] == 4);
  naive_matmul(&v, &m74, 1, (int64_t[]){0}, (int64_t[]){0}, 1, 4, 7, r1);
  CHECK_NEAR(max_diff(&y, r1), 0, 1e-5);
  free(y.data);
  CHECK(run_op(VITC_OP_MatMul, 17, (const vitc_value *[]){&m37, &v}, 2, &y, 1, NULL, 0, &err) == VITC_OK);
  CHECK(y.rank == 1 && y.dims[0] == 3);
  naive_matmul(&m37, &v, 1, (int64_t[]){0}, (int64_t[]){0}, 3, 1, 7, r1);
  CHECK_NEAR(max_diff(&y, r1), 0, 1e-5);
  free(y.data);
  CHECK(run_op(VITC_OP_MatMul, 17, (const vitc_value *[]){&v, &v}, 2, &y, 1, NULL, 0, &err) == VITC_OK);
  CHECK(y.rank == 0);
  naive_matmul(&v, &v, 1, (int64_t[]){0}, (int64_t[]){0}, 1, 1, 7, r1);
  CHECK_NEAR(max_diff(&y, r1), 0, 1e-5);
  free(y.data);
  CHECK(run_op(VITC_OP_MatMul, 17, (const vitc_value *[]){&v, &b274}, 2, &y, 1, NULL, 0, &err) == VITC_OK);
  CHECK(y.rank == 2 && y.dims[0] == 2 && y.dims[1] == 4);
  naive_matmul(&v, &b274, 2, (int64_t[]){0, 0}, (int64_t[]){0, 28}, 1, 4, 7, r1);
  CHECK_NEAR(max_diff(&y, r1), 0, 1e-5);
  free(y.data);

  /* errors */
  vitc_value e1 = make(VITC_F32, 2, (int64_t[]){2, 3}), e2 = make(VITC_F32, 2, (int64_t[]){4, 5});
  CHECK(run_op(VITC_OP_MatMul, 17, (const vitc_value *[]){&e1, &e2}, 2, &y, 1, NULL, 0, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "inner dimensions do not match: f32[2,3] x f32[4,5] (3 != 4)");
  CHECK_MSG(err.msg, "node 'n' (MatMul)");
  vitc_value e3 = make(VITC_F32, 3, (int64_t[]){2, 3, 4}), e4 = make(VITC_F32, 3, (int64_t[]){3, 4, 5});
  CHECK(run_op(VITC_OP_MatMul, 17, (const vitc_value *[]){&e3, &e4}, 2, &y, 1, NULL, 0, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "batch dimensions do not broadcast");

  /* flops: 2 * batch * M * N * K */
  int ids[2] = {0};
  vitc_node mm = {.op = VITC_OP_MatMul, .name = "t", .nin = 2, .nout = 1, .in = ids, .out = ids};
  vitc_value fo = make(VITC_F32, 3, (int64_t[]){2, 3, 5});
  CHECK_NEAR(vitc_ops[VITC_OP_MatMul].flops(&mm, (const vitc_value *[]){&e3, &e2}, &fo), 2.0 * 2 * 3 * 5 * 4, 0);

  vitc_value *all[] = {&a, &b, &a3, &b2, &v, &m74, &m37, &b274, &e1, &e2, &e3, &e4, &fo};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) free(all[i]->data);
}

/* ---------------------------------------------------------------- Gemm */

static void check_gemm(vitc_dtype t, int trans_a, int trans_b, double alpha, double beta, int c_rank,
                       const int64_t *c_dims, double tol) {
  int64_t m = 13, n = 19, k = 11;
  vitc_value a = random_value(t, 2, trans_a ? (int64_t[]){k, m} : (int64_t[]){m, k}, 11);
  vitc_value b = random_value(t, 2, trans_b ? (int64_t[]){n, k} : (int64_t[]){k, n}, 12);
  vitc_value c = c_rank >= 0 ? random_value(t, c_rank, c_dims, 13) : (vitc_value){0}, y;
  vitc_attr attrs[] = {{.name = "transA", .type = VITC_ATTR_INT, .i = trans_a},
                       {.name = "transB", .type = VITC_ATTR_INT, .i = trans_b},
                       {.name = "alpha", .type = VITC_ATTR_FLOAT, .f = alpha},
                       {.name = "beta", .type = VITC_ATTR_FLOAT, .f = beta}};
  vitc_error err = {0};
  CHECK(run_op(VITC_OP_Gemm, 17, (const vitc_value *[]){&a, &b, &c}, c_rank >= 0 ? 3 : 2, &y, 1, attrs, 4, &err) ==
        VITC_OK);
  CHECK(y.rank == 2 && y.dims[0] == m && y.dims[1] == n);
  double ref[13 * 19];
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) {
      double s = 0;
      for (int64_t p = 0; p < k; p++)
        s += vitc_load_f(&a, trans_a ? p * m + i : i * k + p) * vitc_load_f(&b, trans_b ? j * k + p : p * n + j);
      double cv = 0;
      if (c_rank == 0) cv = vitc_load_f(&c, 0);
      if (c_rank == 1) cv = vitc_load_f(&c, c_dims[0] == 1 ? 0 : j);
      if (c_rank == 2) cv = vitc_load_f(&c, (c_dims[0] == 1 ? 0 : i) * c_dims[1] + (c_dims[1] == 1 ? 0 : j));
      ref[i * n + j] = alpha * s + beta * cv;
    }
  CHECK_NEAR(max_diff(&y, ref), 0, tol);
  free(a.data);
  free(b.data);
  free(c.data);
  free(y.data);
}

static void test_gemm(void) {
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++) {
      check_gemm(VITC_F32, ta, tb, 1.0, 1.0, -1, NULL, 1e-5);
      check_gemm(VITC_F32, ta, tb, 0.5, 2.0, 1, (int64_t[]){19}, 1e-5);
      check_gemm(VITC_F64, ta, tb, 0.5, 2.0, 2, (int64_t[]){13, 19}, 1e-12);
    }
  check_gemm(VITC_F32, 0, 1, 1.5, -1.0, 2, (int64_t[]){13, 1}, 1e-5);
  check_gemm(VITC_F32, 1, 0, 1.0, 0.25, 0, NULL, 1e-5);
  check_gemm(VITC_F32, 0, 0, 1.0, 0.0, 2, (int64_t[]){1, 19}, 1e-5);

  vitc_value a = make(VITC_F32, 2, (int64_t[]){3, 4}), b = make(VITC_F32, 2, (int64_t[]){3, 5}), y;
  vitc_error err = {0};
  CHECK(run_op(VITC_OP_Gemm, 17, (const vitc_value *[]){&a, &b}, 2, &y, 1, NULL, 0, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "Gemm inner dimensions do not match");
  vitc_attr ta = {.name = "transA", .type = VITC_ATTR_INT, .i = 1};
  vitc_value c = make(VITC_F32, 1, (int64_t[]){3});
  CHECK(run_op(VITC_OP_Gemm, 17, (const vitc_value *[]){&a, &b, &c}, 3, &y, 1, &ta, 1, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "Gemm C f32[3] does not broadcast to [4,5]");
  free(a.data);
  free(b.data);
  free(c.data);
}

/* ---------------------------------------------------------------- Einsum */

static vitc_status einsum(const char *eq, const vitc_value **in, int nin, vitc_value *y, vitc_error *err) {
  vitc_attr attr = {.name = "equation", .type = VITC_ATTR_STRING, .s = eq};
  return run_op(VITC_OP_Einsum, 17, in, nin, y, 1, &attr, 1, err);
}

static void test_einsum(void) {
  vitc_error err = {0};
  vitc_value y;
  /* transpose */
  vitc_value a = random_value(VITC_F32, 2, (int64_t[]){3, 4}, 21);
  CHECK(einsum("ij->ji", (const vitc_value *[]){&a}, 1, &y, &err) == VITC_OK);
  CHECK(y.rank == 2 && y.dims[0] == 4 && y.dims[1] == 3);
  double ref[4096];
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 4; j++) ref[j * 3 + i] = vitc_load_f(&a, i * 4 + j);
  CHECK_NEAR(max_diff(&y, ref), 0, 0);
  free(y.data);
  /* implicit output of one term: sorted labels, "ba" -> "ab" is a transpose too */
  CHECK(einsum("ba", (const vitc_value *[]){&a}, 1, &y, &err) == VITC_OK);
  CHECK(y.dims[0] == 4 && y.dims[1] == 3);
  CHECK_NEAR(max_diff(&y, ref), 0, 0);
  free(y.data);
  /* sum of everything, and of rows */
  CHECK(einsum("ij->", (const vitc_value *[]){&a}, 1, &y, &err) == VITC_OK);
  CHECK(y.rank == 0);
  double total = 0, rows[3] = {0};
  for (int i = 0; i < 12; i++) {
    total += vitc_load_f(&a, i);
    rows[i / 4] += vitc_load_f(&a, i);
  }
  CHECK_NEAR(vitc_load_f(&y, 0), total, 1e-5);
  free(y.data);
  CHECK(einsum("ij->i", (const vitc_value *[]){&a}, 1, &y, &err) == VITC_OK);
  CHECK_NEAR(max_diff(&y, rows), 0, 1e-5);
  free(y.data);

  /* diagonal and trace */
  vitc_value sq = random_value(VITC_F32, 2, (int64_t[]){5, 5}, 22);
  CHECK(einsum("ii->i", (const vitc_value *[]){&sq}, 1, &y, &err) == VITC_OK);
  double trace = 0;
  for (int i = 0; i < 5; i++) trace += ref[i] = vitc_load_f(&sq, i * 6);
  CHECK(y.rank == 1 && y.dims[0] == 5);
  CHECK_NEAR(max_diff(&y, ref), 0, 0);
  free(y.data);
  CHECK(einsum("ii", (const vitc_value *[]){&sq}, 1, &y, &err) == VITC_OK);
  CHECK(y.rank == 0);
  CHECK_NEAR(vitc_load_f(&y, 0), trace, 1e-5);
  free(y.data);

  /* attention: q k^T per head, then p v per head */
  int64_t B = 2, H = 3, I = 7, J = 9, D = 5;
  vitc_value q = random_value(VITC_F32, 4, (int64_t[]){B, H, I, D}, 23), k = random_value(VITC_F32, 4, (int64_t[]){B, H, J, D}, 24);
  vitc_value p = random_value(VITC_F32, 4, (int64_t[]){B, H, I, J}, 25), v = random_value(VITC_F32, 4, (int64_t[]){B, H, J, D}, 26);
  CHECK(einsum("bhid,bhjd->bhij", (const vitc_value *[]){&q, &k}, 2, &y, &err) == VITC_OK);
  CHECK(y.rank == 4 && y.dims[2] == I && y.dims[3] == J);
  for (int64_t bh = 0; bh < B * H; bh++)
    for (int64_t i = 0; i < I; i++)
      for (int64_t j = 0; j < J; j++) {
        double s = 0;
        for (int64_t d = 0; d < D; d++) s += vitc_load_f(&q, (bh * I + i) * D + d) * vitc_load_f(&k, (bh * J + j) * D + d);
        ref[(bh * I + i) * J + j] = s;
      }
  CHECK_NEAR(max_diff(&y, ref), 0, 1e-5);
  free(y.data);
  CHECK(einsum("bhij,bhjd->bhid", (const vitc_value *[]){&p, &v}, 2, &y, &err) == VITC_OK);
  CHECK(y.rank == 4 && y.dims[2] == I && y.dims[3] == D);
  for (int64_t bh = 0; bh < B * H; bh++)
    for (int64_t i = 0; i < I; i++)
      for (int64_t d = 0; d < D; d++) {
        double s = 0;
        for (int64_t j = 0; j < J; j++) s += vitc_load_f(&p, (bh * I + i) * J + j) * vitc_load_f(&v, (bh * J + j) * D + d);
        ref[(bh * I + i) * D + d] = s;
      }
  CHECK_NEAR(max_diff(&y, ref), 0, 1e-5);
  free(y.data);
  /* the same contraction with the output labels out of [batch, m, n] order: "bhij,bhjd->bdhi" */
  CHECK(einsum("bhij,bhjd->bdhi", (const vitc_value *[]){&p, &v}, 2, &y, &err) == VITC_OK);
  CHECK(y.rank == 4 && y.dims[1] == D && y.dims[2] == H && y.dims[3] == I);
  double ref2[4096];
  for (int64_t b = 0; b < B; b++)
    for (int64_t h = 0; h < H; h++)
      for (int64_t i = 0; i < I; i++)
        for (int64_t d = 0; d < D; d++) ref2[((b * D + d) * H + h) * I + i] = ref[(((b * H + h) * I) + i) * D + d];
  CHECK_NEAR(max_diff(&y, ref2), 0, 1e-5);
  free(y.data);

  /* ellipsis with broadcasting: [2,1,4,3] x [5,3,6] -> [2,5,4,6] */
  vitc_value ea = random_value(VITC_F32, 4, (int64_t[]){2, 1, 4, 3}, 27), eb = random_value(VITC_F32, 3, (int64_t[]){5, 3, 6}, 28);
  CHECK(einsum("...ij,...jk->...ik", (const vitc_value *[]){&ea, &eb}, 2, &y, &err) == VITC_OK);
  CHECK(y.rank == 4 && y.dims[0] == 2 && y.dims[1] == 5 && y.dims[2] == 4 && y.dims[3] == 6);
  for (int64_t x = 0; x < 2; x++)
    for (int64_t z = 0; z < 5; z++)
      for (int64_t i = 0; i < 4; i++)
        for (int64_t kk = 0; kk < 6; kk++) {
          double s = 0;
          for (int64_t j = 0; j < 3; j++) s += vitc_load_f(&ea, (x * 4 + i) * 3 + j) * vitc_load_f(&eb, (z * 3 + j) * 6 + kk);
          ref[((x * 5 + z) * 4 + i) * 6 + kk] = s;
        }
  CHECK_NEAR(max_diff(&y, ref), 0, 1e-5);
  free(y.data);
  /* the same in implicit form: "...ij,...jk" keeps the ellipsis dims first, then i and k */
  CHECK(einsum("...ij,...jk", (const vitc_value *[]){&ea, &eb}, 2, &y, &err) == VITC_OK);
  CHECK(y.rank == 4 && y.dims[3] == 6);
  CHECK_NEAR(max_diff(&y, ref), 0, 1e-5);
  free(y.data);

  /* K labels that do not merge in B (b is [j,k,l], contracted as (k, j)): b gets copied first */
  vitc_value ta = random_value(VITC_F32, 3, (int64_t[]){4, 3, 2}, 29), tb = random_value(VITC_F32, 3, (int64_t[]){2, 3, 5}, 30);
  CHECK(einsum("ikj,jkl->il", (const vitc_value *[]){&ta, &tb}, 2, &y, &err) == VITC_OK);
  for (int64_t i = 0; i < 4; i++)
    for (int64_t l = 0; l < 5; l++) {
      double s = 0;
      for (int64_t kk = 0; kk < 3; kk++)
        for (int64_t j = 0; j < 2; j++) s += vitc_load_f(&ta, (i * 3 + kk) * 2 + j) * vitc_load_f(&tb, (j * 3 + kk) * 5 + l);
      ref[i * 5 + l] = s;
    }
  CHECK_NEAR(max_diff(&y, ref), 0, 1e-5);
  free(y.data);

  /* three operands (general path) and float64 */
  vitc_value m1 = random_value(VITC_F64, 2, (int64_t[]){2, 3}, 31), m2 = random_value(VITC_F64, 2, (int64_t[]){3, 4}, 32);
  vitc_value m3 = random_value(VITC_F64, 2, (int64_t[]){4, 2}, 33);
  CHECK(einsum("ij,jk,kl->il", (const vitc_value *[]){&m1, &m2, &m3}, 3, &y, &err) == VITC_OK);
  CHECK(y.dtype == VITC_F64 && y.dims[0] == 2 && y.dims[1] == 2);
  for (int i = 0; i < 2; i++)
    for (int l = 0; l < 2; l++) {
      double s = 0;
      for (int j = 0; j < 3; j++)
        for (int kk = 0; kk < 4; kk++) s += vitc_load_f(&m1, i * 3 + j) * vitc_load_f(&m2, j * 4 + kk) * vitc_load_f(&m3, kk * 2 + l);
      ref[i * 2 + l] = s;
    }
  CHECK_NEAR(max_diff(&y, ref), 0, 1e-12);
  free(y.data);
  /* a label summed inside one operand only: "ij,jk->k" (general path for float32) */
  vitc_value f1 = random_value(VITC_F32, 2, (int64_t[]){2, 3}, 34), f2 = random_value(VITC_F32, 2, (int64_t[]){3, 4}, 35);
  CHECK(einsum("ij,jk->k", (const vitc_value *[]){&f1, &f2}, 2, &y, &err) == VITC_OK);
  for (int kk = 0; kk < 4; kk++) {
    double s = 0;
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 3; j++) s += vitc_load_f(&f1, i * 3 + j) * vitc_load_f(&f2, j * 4 + kk);
    ref[kk] = s;
  }
  CHECK_NEAR(max_diff(&y, ref), 0, 1e-5);
  free(y.data);

  /* errors */
  CHECK(einsum("ij,jk->ik", (const vitc_value *[]){&f1, &f1}, 2, &y, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "einsum label 'j' has sizes 3 and 2");
  CHECK(einsum("ijk->i", (const vitc_value *[]){&f1}, 1, &y, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "einsum term 'ijk' does not fit input 0 of rank 2");
  CHECK(einsum("ij->iz", (const vitc_value *[]){&f1}, 1, &y, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "einsum output label 'z' appears in no input");

  vitc_value *all[] = {&a, &sq, &q, &k, &p, &v, &ea, &eb, &ta, &tb, &m1, &m2, &m3, &f1, &f2};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) free(all[i]->data);
}

int main(void) {
  test_matmul();
  test_gemm();
  test_einsum();
  CHECK_DONE();
}

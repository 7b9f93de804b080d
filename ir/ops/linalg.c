/* linalg.c — MatMul (numpy matmul: 1-D promotion, batch broadcasting) and Gemm (transA, transB, alpha,
 * beta, optional C broadcast to [M, N]). float32 runs on the blocked GEMM of gemm_kernel.c; the other
 * numeric dtypes take a plain triple loop that accumulates in double and rounds once on store. */
#include <stdlib.h>
#include <string.h>

#include "gemm_kernel.h"
#include "linalg_util.h"
#include "ops.h"

bool vitc_is_arith_dtype(vitc_dtype t) { return t != VITC_BOOL && vitc_dtype_size(t) != 0; }

vitc_status vitc_check_arith_dtype(const vitc_value *v, const char *what, vitc_error *err) {
  if (!vitc_is_arith_dtype(v->dtype))
    return vitc_fail(err, VITC_ERR_UNSUPPORTED, "%s has dtype %s, which has no arithmetic", what,
                     vitc_dtype_name(v->dtype) ? vitc_dtype_name(v->dtype) : "undefined");
  return VITC_OK;
}

vitc_status vitc_check_same_dtype(const vitc_value *a, const vitc_value *b, vitc_error *err) {
  if (a->dtype != b->dtype)
    return vitc_fail(err, VITC_ERR_INVALID, "operand dtypes differ: %s and %s", vitc_dtype_name(a->dtype),
                     vitc_dtype_name(b->dtype));
  return VITC_OK;
}

void vitc_generic_gemm(int64_t m, int64_t n, int64_t k, double alpha, const vitc_value *a, int64_t a_off,
                       int64_t a_rs, int64_t a_cs, const vitc_value *b, int64_t b_off, int64_t b_rs,
                       int64_t b_cs, vitc_value *c, int64_t c_off, int64_t ldc, bool accumulate) {
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) {
      double s = 0;
      for (int64_t p = 0; p < k; p++)
        s += vitc_load_f(a, a_off + i * a_rs + p * a_cs) * vitc_load_f(b, b_off + p * b_rs + j * b_cs);
      int64_t at = c_off + i * ldc + j;
      vitc_store_f(c, at, alpha * s + (accumulate ? vitc_load_f(c, at) : 0));
    }
}

/* ---------------------------------------------------------------- MatMul */

/* MatMul operands after numpy's promotion: a is [batch.., m, k], b is [batch.., k, n]. */
typedef struct matmul_dims {
  int64_t m, n, k;
  int batch_rank;
  int64_t batch[VITC_MAX_RANK];
  int64_t a_batch_stride[VITC_MAX_RANK], b_batch_stride[VITC_MAX_RANK];
} matmul_dims;

/* Strides of v's batch dims (all but its last two) against the broadcast batch shape: 0 along dims v
 * lacks or broadcasts. */
static void batch_strides(const vitc_value *v, const matmul_dims *d, int64_t *out) {
  int own_rank = v->rank > 2 ? v->rank - 2 : 0;
  int64_t own[VITC_MAX_RANK];
  int64_t s = v->rank >= 2 ? v->dims[v->rank - 1] * v->dims[v->rank - 2] : v->dims[0];
  for (int i = own_rank - 1; i >= 0; i--) {
    own[i] = s;
    s *= v->dims[i];
  }
  for (int i = 0; i < d->batch_rank; i++) {
    int iv = i - (d->batch_rank - own_rank);
    out[i] = iv < 0 || (v->dims[iv] == 1 && d->batch[i] != 1) ? 0 : own[iv];
  }
}

static vitc_status matmul_analyse(const vitc_value *a, const vitc_value *b, matmul_dims *d, vitc_error *err) {
  char sa[128], sb[128];
  if (a->rank < 1 || b->rank < 1)
    return vitc_fail(err, VITC_ERR_INVALID, "MatMul operands must have rank >= 1, not %s and %s",
                     vitc_value_type_str(a, sa, sizeof sa), vitc_value_type_str(b, sb, sizeof sb));
  int64_t ka = a->dims[a->rank - 1], kb = b->rank == 1 ? b->dims[0] : b->dims[b->rank - 2];
  if (ka != kb)
    return vitc_fail(err, VITC_ERR_INVALID, "MatMul inner dimensions do not match: %s x %s (%lld != %lld)",
                     vitc_value_type_str(a, sa, sizeof sa), vitc_value_type_str(b, sb, sizeof sb),
                     (long long)ka, (long long)kb);
  d->k = ka;
  d->m = a->rank == 1 ? 1 : a->dims[a->rank - 2];
  d->n = b->rank == 1 ? 1 : b->dims[b->rank - 1];
  int ra = a->rank - 2 > 0 ? a->rank - 2 : 0, rb = b->rank - 2 > 0 ? b->rank - 2 : 0;
  d->batch_rank = ra > rb ? ra : rb;
  for (int i = 0; i < d->batch_rank; i++) {
    int ia = i - (d->batch_rank - ra), ib = i - (d->batch_rank - rb);
    int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
    if (da != db && da != 1 && db != 1)
      return vitc_fail(err, VITC_ERR_INVALID, "MatMul batch dimensions do not broadcast: %s x %s",
                       vitc_value_type_str(a, sa, sizeof sa), vitc_value_type_str(b, sb, sizeof sb));
    d->batch[i] = da == 1 ? db : da;
  }
  batch_strides(a, d, d->a_batch_stride);
  batch_strides(b, d, d->b_batch_stride);
  return VITC_OK;
}

vitc_status shape_matmul(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  matmul_dims d = {0};
  vitc_status st = matmul_analyse(in[0], in[1], &d, err);
  if (st == VITC_OK) st = vitc_check_same_dtype(in[0], in[1], err);
  if (st == VITC_OK) st = vitc_check_arith_dtype(in[0], "MatMul input", err);
  if (st != VITC_OK) return st;
  out->dtype = in[0]->dtype;
  out->rank = d.batch_rank;
  memcpy(out->dims, d.batch, sizeof(int64_t) * (size_t)d.batch_rank);
  if (in[0]->rank > 1) out->dims[out->rank++] = d.m;
  if (in[1]->rank > 1) out->dims[out->rank++] = d.n;
  return VITC_OK;
}

vitc_status eval_MatMul(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  const vitc_value *a = in[0], *b = in[1];
  matmul_dims d = {0};
  vitc_status st = matmul_analyse(a, b, &d, err);
  if (st != VITC_OK) return st;
  int64_t nbatch = 1;
  for (int i = 0; i < d.batch_rank; i++) nbatch *= d.batch[i];
  /* [batch.., m, k] x [k, n] with a not broadcast is one GEMM of batch*m rows (the linear layers). */
  bool b_shared = true, a_dense = true;
  int64_t dense = d.m * d.k;
  for (int i = d.batch_rank - 1; i >= 0; i--) {
    b_shared &= d.b_batch_stride[i] == 0 || d.batch[i] == 1;
    a_dense &= d.a_batch_stride[i] == dense || d.batch[i] == 1;
    dense *= d.batch[i];
  }
  int64_t m = d.m, rounds = nbatch;
  if (b_shared && a_dense) {
    m *= nbatch;
    rounds = 1;
  }
  int64_t b_rs = b->rank == 1 ? 1 : d.n; /* a 1-D b is a [k, 1] column */
  for (int64_t r = 0; r < rounds; r++) {
    int64_t a_off = 0, b_off = 0, rest = r;
    for (int i = d.batch_rank - 1; i >= 0; i--) {
      int64_t idx = rest % d.batch[i];
      rest /= d.batch[i];
      a_off += idx * d.a_batch_stride[i];
      b_off += idx * d.b_batch_stride[i];
    }
    int64_t c_off = r * d.m * d.n;
    if (a->dtype == VITC_F32) {
      const float *ap = (const float *)a->data + a_off, *bp = (const float *)b->data + b_off;
      if (!vitc_sgemm(m, d.n, d.k, 1.0f, vitc_fmat_rows(ap, d.k), vitc_fmat_rows(bp, b_rs), 0.0f,
                      (float *)out->data + c_off, d.n))
        return vitc_fail(err, VITC_ERR_NOMEM, "out of memory for GEMM packing buffers");
    } else {
      vitc_generic_gemm(m, d.n, d.k, 1.0, a, a_off, d.k, 1, b, b_off, b_rs, 1, out, c_off, d.n, false);
    }
  }
  return VITC_OK;
}

double flops_matmul(const vitc_node *n, const vitc_value *const *in, const vitc_value *out) {
  return 2.0 * (double)vitc_numel(&out[0]) * (double)in[0]->dims[in[0]->rank - 1];
}

/* ---------------------------------------------------------------- Gemm */

typedef struct gemm_dims {
  int64_t m, n, k;
  bool trans_a, trans_b;
} gemm_dims;

static vitc_status gemm_analyse(const vitc_node *n, const vitc_value *const *in, gemm_dims *d, vitc_error *err) {
  const vitc_value *a = in[0], *b = in[1], *c = n->nin > 2 ? in[2] : NULL;
  char sa[128], sb[128];
  if (a->rank != 2 || b->rank != 2)
    return vitc_fail(err, VITC_ERR_INVALID, "Gemm operands must be 2-D, not %s and %s",
                     vitc_value_type_str(a, sa, sizeof sa), vitc_value_type_str(b, sb, sizeof sb));
  d->trans_a = vitc_attr_int(n, "transA", 0) != 0;
  d->trans_b = vitc_attr_int(n, "transB", 0) != 0;
  d->m = a->dims[d->trans_a ? 1 : 0];
  d->k = a->dims[d->trans_a ? 0 : 1];
  int64_t kb = b->dims[d->trans_b ? 1 : 0];
  d->n = b->dims[d->trans_b ? 0 : 1];
  if (d->k != kb)
    return vitc_fail(err, VITC_ERR_INVALID,
                     "Gemm inner dimensions do not match: %s (transA=%d) x %s (transB=%d) (%lld != %lld)",
                     vitc_value_type_str(a, sa, sizeof sa), d->trans_a, vitc_value_type_str(b, sb, sizeof sb),
                     d->trans_b, (long long)d->k, (long long)kb);
  if (c) {
    bool ok = c->rank <= 2;
    for (int i = 0; ok && i < c->rank; i++) {
      int64_t want = i == c->rank - 1 ? d->n : d->m;
      ok = c->dims[i] == 1 || c->dims[i] == want;
    }
    if (!ok)
      return vitc_fail(err, VITC_ERR_INVALID, "Gemm C %s does not broadcast to [%lld,%lld]",
                       vitc_value_type_str(c, sa, sizeof sa), (long long)d->m, (long long)d->n);
  }
  return VITC_OK;
}

vitc_status shape_gemm(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  gemm_dims d = {0};
  vitc_status st = gemm_analyse(n, in, &d, err);
  if (st == VITC_OK) st = vitc_check_same_dtype(in[0], in[1], err);
  if (st == VITC_OK && n->nin > 2 && in[2]) st = vitc_check_same_dtype(in[0], in[2], err);
  if (st == VITC_OK) st = vitc_check_arith_dtype(in[0], "Gemm input", err);
  if (st != VITC_OK) return st;
  out->dtype = in[0]->dtype;
  out->rank = 2;
  out->dims[0] = d.m;
  out->dims[1] = d.n;
  return VITC_OK;
}

vitc_status eval_Gemm(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  const vitc_value *a = in[0], *b = in[1], *c = n->nin > 2 ? in[2] : NULL;
  gemm_dims d = {0};
  vitc_status st = gemm_analyse(n, in, &d, err);
  if (st != VITC_OK) return st;
  double alpha = vitc_attr_float(n, "alpha", 1.0), beta = vitc_attr_float(n, "beta", 1.0);
  bool with_c = c && beta != 0;
  if (with_c) { /* out = C broadcast to [m, n]; the GEMM then adds alpha*AB onto beta*out */
    int64_t strides[2], dims[2] = {d.m, d.n};
    vitc_broadcast_strides(c, 2, dims, strides);
    for (int64_t i = 0; i < d.m; i++)
      for (int64_t j = 0; j < d.n; j++) vitc_store_f(out, i * d.n + j, vitc_load_f(c, i * strides[0] + j * strides[1]));
  }
  int64_t a_rs = d.trans_a ? 1 : d.k, a_cs = d.trans_a ? d.m : 1;
  int64_t b_rs = d.trans_b ? 1 : d.n, b_cs = d.trans_b ? d.k : 1;
  if (a->dtype == VITC_F32) {
    vitc_fmat am = {a->data, a_rs, a_cs}, bm = {b->data, b_rs, b_cs};
    if (!vitc_sgemm(d.m, d.n, d.k, (float)alpha, am, bm, with_c ? (float)beta : 0.0f, out->data, d.n))
      return vitc_fail(err, VITC_ERR_NOMEM, "out of memory for GEMM packing buffers");
    return VITC_OK;
  }
  if (with_c)
    for (int64_t i = 0; i < d.m * d.n; i++) vitc_store_f(out, i, beta * vitc_load_f(out, i));
  vitc_generic_gemm(d.m, d.n, d.k, alpha, a, 0, a_rs, a_cs, b, 0, b_rs, b_cs, out, 0, d.n, with_c);
  return VITC_OK;
}

double flops_gemm(const vitc_node *n, const vitc_value *const *in, const vitc_value *out) {
  const vitc_value *a = in[0];
  int64_t k = a->dims[vitc_attr_int(n, "transA", 0) ? 0 : 1];
  return 2.0 * (double)vitc_numel(&out[0]) * (double)k;
}

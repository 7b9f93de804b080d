/* fused_attention.c — vitc.Attention, scaled dot-product attention, built by passes/fuse_attention:
 *
 *   inputs  Q [.., Nq, D], K [.., Nk, D] (or Kᵀ [.., D, Nk] when k_transposed = 1), V [.., Nk, Dv],
 *           bias (optional, may be absent when S is given) broadcasting to [.., Nq, Nk]: relative-position
 *           bias, Swin's window mask
 *           S (optional) broadcasting to [.., Nq, 1], one factor per query row: Swin V2's per-head logit
 *           scale [H, 1, 1]
 *   attrs   scale (float, default 1), k_transposed (int, default 0)
 *
 *   Y [.., Nq, Dv] = softmax(scale · S · Q·Kᵀ + bias, over the last axis) · V
 *
 * Q, K and V share their batch dims ([B, H] for multi-head attention, any number of them). The reference
 * materialises the scores of one batch index at a time. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gemm_kernel.h"
#include "ops.h"

enum { IN_Q, IN_K, IN_V, IN_BIAS, IN_SCALE };

typedef struct attn_dims {
  int batch_rank;
  int64_t batch, nq, nk, d, dv;
} attn_dims;

static vitc_status attn_analyse(const vitc_node *n, const vitc_value *const *in, attn_dims *a, vitc_error *err) {
  const vitc_value *q = in[IN_Q], *k = in[IN_K], *v = in[IN_V];
  for (int i = 0; i < n->nin; i++)
    if (in[i] && in[i]->dtype != VITC_F32)
      return vitc_fail(err, VITC_ERR_UNSUPPORTED, "Attention runs on float32 only (input %d)", i);
  int r = q->rank;
  if (r < 2 || k->rank != r || v->rank != r)
    return vitc_fail(err, VITC_ERR_INVALID, "Attention needs Q, K, V of one rank >= 2; got %d, %d, %d", q->rank,
                     k->rank, v->rank);
  a->batch_rank = r - 2;
  a->batch = 1;
  for (int i = 0; i < r - 2; i++) {
    if (k->dims[i] != q->dims[i] || v->dims[i] != q->dims[i])
      return vitc_fail(err, VITC_ERR_INVALID, "Attention Q, K and V differ in batch dim %d", i);
    a->batch *= q->dims[i];
  }
  bool kt = vitc_attr_int(n, "k_transposed", 0) != 0;
  a->nq = q->dims[r - 2];
  a->d = q->dims[r - 1];
  a->nk = k->dims[kt ? r - 1 : r - 2];
  a->dv = v->dims[r - 1];
  if (k->dims[kt ? r - 2 : r - 1] != a->d || v->dims[r - 2] != a->nk)
    return vitc_fail(err, VITC_ERR_INVALID, "Attention K or V does not match Q [.., %lld, %lld]", (long long)a->nq,
                     (long long)a->d);
  return VITC_OK;
}

/* The broadcast strides of input `which` (the bias or S) against the scores' shape [.., Nq, Nk], or
 * [.., Nq, 1] for S. */
static vitc_status operand_strides(const vitc_value *const *in, int which, const attn_dims *a, int64_t *strides,
                                   vitc_error *err) {
  const vitc_value *q = in[IN_Q], *x = in[which];
  const char *what = which == IN_BIAS ? "bias" : "scale input";
  int64_t dims[VITC_MAX_RANK];
  memcpy(dims, q->dims, sizeof(int64_t) * (size_t)q->rank);
  dims[q->rank - 1] = which == IN_BIAS ? a->nk : 1;
  if (x->rank > q->rank) return vitc_fail(err, VITC_ERR_INVALID, "Attention %s has a higher rank than Q", what);
  for (int i = 0; i < x->rank; i++) {
    int64_t want = dims[q->rank - x->rank + i];
    if (x->dims[i] != 1 && x->dims[i] != want)
      return vitc_fail(err, VITC_ERR_INVALID, "Attention %s dim %d is %lld, not 1 or %lld", what, i,
                       (long long)x->dims[i], (long long)want);
  }
  vitc_broadcast_strides(x, q->rank, dims, strides);
  return VITC_OK;
}

/* The offset of batch index b (row-major over Q's batch dims) under broadcast strides. */
static int64_t batch_offset(const vitc_value *q, const attn_dims *a, const int64_t *strides, int64_t b) {
  int64_t off = 0;
  for (int i = a->batch_rank - 1; i >= 0; i--) {
    off += b % q->dims[i] * strides[i];
    b /= q->dims[i];
  }
  return off;
}

vitc_status shape_attention(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  attn_dims a;
  int64_t strides[VITC_MAX_RANK];
  vitc_status st = attn_analyse(n, in, &a, err);
  if (st == VITC_OK && n->nin > IN_BIAS && in[IN_BIAS]) st = operand_strides(in, IN_BIAS, &a, strides, err);
  if (st == VITC_OK && n->nin > IN_SCALE && in[IN_SCALE]) st = operand_strides(in, IN_SCALE, &a, strides, err);
  if (st != VITC_OK) return st;
  vitc_copy_type(&out[0], in[IN_Q]);
  out->dims[out->rank - 1] = a.dv;
  return VITC_OK;
}

vitc_status eval_Attention(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  attn_dims a;
  int64_t bs[VITC_MAX_RANK] = {0}, ss[VITC_MAX_RANK] = {0};
  const vitc_value *bias = n->nin > IN_BIAS ? in[IN_BIAS] : NULL, *rs = n->nin > IN_SCALE ? in[IN_SCALE] : NULL;
  vitc_status st = attn_analyse(n, in, &a, err);
  if (st == VITC_OK && bias) st = operand_strides(in, IN_BIAS, &a, bs, err);
  if (st == VITC_OK && rs) st = operand_strides(in, IN_SCALE, &a, ss, err);
  if (st != VITC_OK) return st;
  bool kt = vitc_attr_int(n, "k_transposed", 0) != 0;
  float scale = (float)vitc_attr_float(n, "scale", 1.0);
  float *s = malloc(sizeof(float) * (size_t)(a.nq * a.nk + 1));
  if (!s) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory for attention scores");
  int r = in[IN_Q]->rank;
  for (int64_t b = 0; b < a.batch && st == VITC_OK; b++) {
    const float *q = (const float *)in[IN_Q]->data + b * a.nq * a.d;
    const float *k = (const float *)in[IN_K]->data + b * a.nk * a.d;
    const float *v = (const float *)in[IN_V]->data + b * a.nk * a.dv;
    vitc_fmat kmat = kt ? vitc_fmat_rows(k, a.nk) : vitc_fmat_cols(k, a.d);
    if (!vitc_sgemm(a.nq, a.nk, a.d, scale, vitc_fmat_rows(q, a.d), kmat, 0.0f, s, a.nk)) {
      st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory for GEMM packing buffers");
      break;
    }
    int64_t bias_off = batch_offset(in[IN_Q], &a, bs, b), scale_off = batch_offset(in[IN_Q], &a, ss, b);
    for (int64_t i = 0; i < a.nq; i++) {
      float *row = s + i * a.nk;
      if (rs)
        for (int64_t j = 0; j < a.nk; j++) row[j] *= ((const float *)rs->data)[scale_off + i * ss[r - 2]];
      if (bias)
        for (int64_t j = 0; j < a.nk; j++)
          row[j] += ((const float *)bias->data)[bias_off + i * bs[r - 2] + j * bs[r - 1]];
      float m = -INFINITY;
      for (int64_t j = 0; j < a.nk; j++) m = row[j] > m ? row[j] : m;
      double sum = 0;
      for (int64_t j = 0; j < a.nk; j++) sum += row[j] = expf(row[j] - m);
      for (int64_t j = 0; j < a.nk; j++) row[j] = (float)(row[j] / sum);
    }
    if (!vitc_sgemm(a.nq, a.dv, a.nk, 1.0f, vitc_fmat_rows(s, a.nk), vitc_fmat_rows(v, a.dv), 0.0f,
                    (float *)out->data + b * a.nq * a.dv, a.dv))
      st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory for GEMM packing buffers");
  }
  free(s);
  return st;
}

/* Q·Kᵀ and P·V, plus scale, bias, max, exp, sum and divide over the scores. */
double flops_attention(const vitc_node *n, const vitc_value *const *in, const vitc_value *out) {
  const vitc_value *q = in[IN_Q], *v = in[IN_V];
  double batch = 1;
  for (int i = 0; i < q->rank - 2; i++) batch *= (double)q->dims[i];
  double nq = (double)q->dims[q->rank - 2], d = (double)q->dims[q->rank - 1];
  double nk = (double)v->dims[v->rank - 2], dv = (double)v->dims[v->rank - 1];
  return batch * nq * nk * (2 * d + 2 * dv + 6);
}

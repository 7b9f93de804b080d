/* channel_attention.c — vitc.ChannelAttention, XCiT's cross-covariance attention (timm xcit.XCA) from the
 * qkv projection's rows to the rows the output projection reads, built by passes/fuse_channel_attention.
 * The export transposes q, k and v to [B, H, D, N] (channels × tokens) and the result back; here both
 * transposes are index arithmetic:
 *
 *   inputs  qkv [.., 3·C] float32: rows of q, k, v side by side, R = numel / (3·C) rows in images of
 *             `tokens` (N) consecutive rows each (any leading dims: they only group the rows)
 *           T (H float32 values, XCiT's temperature [H, 1, 1]): one factor per head
 *   attrs   heads (H, dividing C into heads of D = C / H), tokens (N, dividing R), scale (default 1),
 *           y_shape (Y's dims: last C, R rows)
 *
 *   q(b, h, n, i) = qkv[b·N + n, h·D + i]     k at C + h·D + i     v at 2·C + h·D + i     (rows flat)
 *   q̂(b, h, n, i) = q(b, h, n, i) / max(‖q(b, h, ·, i)‖₂, 1e-12), k̂ alike     (F.normalize over tokens)
 *   A(b, h, i, j) = softmax over j of scale · T[h] · Σ_n q̂(b, h, n, i) · k̂(b, h, n, j)      [D × D]
 *   Y[b·N + n, h·D + i] = Σ_j A(b, h, i, j) · v(b, h, n, j)
 *
 * The reference computes in double. */
#include <math.h>
#include <stdlib.h>

#include "ops.h"

enum { IN_QKV, IN_T };

typedef struct ca_dims {
  int64_t images, tokens, c, heads, d;
} ca_dims;

static vitc_status ca_analyse(const vitc_node *n, const vitc_value *const *in, ca_dims *a, vitc_error *err) {
  const vitc_value *qkv = in[IN_QKV], *t = in[IN_T];
  if (qkv->dtype != VITC_F32 || t->dtype != VITC_F32)
    return vitc_fail(err, VITC_ERR_UNSUPPORTED, "ChannelAttention runs on float32 only");
  int64_t width = qkv->rank ? qkv->dims[qkv->rank - 1] : 0, rows = width > 0 ? vitc_numel(qkv) / width : 0;
  *a = (ca_dims){.tokens = vitc_attr_int(n, "tokens", 0), .c = width / 3, .heads = vitc_attr_int(n, "heads", 0)};
  if (width < 3 || width % 3 || a->heads < 1 || a->c % a->heads || a->tokens < 1 || rows % a->tokens)
    return vitc_fail(err, VITC_ERR_INVALID, "ChannelAttention needs qkv [.., 3·C] with heads dividing C and tokens dividing its %lld rows",
                     (long long)rows);
  a->images = rows / a->tokens;
  a->d = a->c / a->heads;
  if (vitc_numel(t) != a->heads)
    return vitc_fail(err, VITC_ERR_INVALID, "ChannelAttention needs %lld temperatures (one per head), got %lld",
                     (long long)a->heads, (long long)vitc_numel(t));
  int rank;
  const int64_t *shape = vitc_attr_ints(n, "y_shape", &rank);
  int64_t numel = 1;
  for (int i = 0; shape && i < rank; i++) numel *= shape[i] < 0 ? -1 : shape[i];
  if (!shape || rank < 1 || rank > VITC_MAX_RANK || shape[rank - 1] != a->c || numel != rows * a->c)
    return vitc_fail(err, VITC_ERR_INVALID, "ChannelAttention needs a y_shape of %lld rows of %lld", (long long)rows,
                     (long long)a->c);
  return VITC_OK;
}

vitc_status shape_channel_attention(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  ca_dims a;
  vitc_status st = ca_analyse(n, in, &a, err);
  if (st != VITC_OK) return st;
  const int64_t *shape = vitc_attr_ints(n, "y_shape", &out->rank);
  out->dtype = VITC_F32;
  for (int i = 0; i < out->rank; i++) out->dims[i] = shape[i];
  return VITC_OK;
}

/* The norms (3 per element of q and k), the scores and the product with v (2·D each per output
 * element), the softmax (4 per score). */
double flops_channel_attention(const vitc_node *n, const vitc_value *const *in, const vitc_value *out) {
  ca_dims a;
  vitc_error err;
  if (ca_analyse(n, in, &a, &err) != VITC_OK) return 0;
  double rows = (double)(a.images * a.tokens), c = (double)a.c, d = (double)a.d;
  return rows * c * (6 + 4 * d) + (double)a.images * c * d * 4;
}

vitc_status eval_ChannelAttention(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  ca_dims a;
  vitc_status st = ca_analyse(n, in, &a, err);
  if (st != VITC_OK) return st;
  const vitc_value *qkv = in[IN_QKV];
  double scale = vitc_attr_float(n, "scale", 1);
  int64_t c3 = 3 * a.c, d = a.d;
  double *att = malloc(sizeof(double) * (size_t)(d * d + 2 * d + 1)), *inv = att + d * d; /* inv: q's D, then k's */
  if (!att) return vitc_fail(err, VITC_ERR_NOMEM, "ChannelAttention: out of memory for a %lld × %lld matrix", (long long)d, (long long)d);
  for (int64_t b = 0; b < a.images; b++)
    for (int64_t h = 0; h < a.heads; h++) {
      int64_t rows = b * a.tokens * c3, q = h * d, k = a.c + h * d, v = 2 * a.c + h * d;
      for (int64_t i = 0; i < 2 * d; i++) {
        double ss = 0;
        for (int64_t t = 0; t < a.tokens; t++) {
          double x = vitc_load_f(qkv, rows + t * c3 + (i < d ? q + i : k + i - d));
          ss += x * x;
        }
        inv[i] = 1 / fmax(sqrt(ss), 1e-12);
      }
      double factor = scale * vitc_load_f(in[IN_T], h);
      for (int64_t i = 0; i < d; i++) {
        double *row = att + i * d, top = -INFINITY, sum = 0;
        for (int64_t j = 0; j < d; j++) {
          double s = 0;
          for (int64_t t = 0; t < a.tokens; t++)
            s += vitc_load_f(qkv, rows + t * c3 + q + i) * vitc_load_f(qkv, rows + t * c3 + k + j);
          row[j] = factor * s * inv[i] * inv[d + j];
          top = row[j] > top ? row[j] : top;
        }
        for (int64_t j = 0; j < d; j++) sum += row[j] = exp(row[j] - top);
        for (int64_t j = 0; j < d; j++) row[j] /= sum;
      }
      for (int64_t t = 0; t < a.tokens; t++)
        for (int64_t i = 0; i < d; i++) {
          double y = 0;
          for (int64_t j = 0; j < d; j++) y += att[i * d + j] * vitc_load_f(qkv, rows + t * c3 + v + j);
          vitc_store_f(&out[0], (b * a.tokens + t) * a.c + h * d + i, y);
        }
    }
  free(att);
  return VITC_OK;
}

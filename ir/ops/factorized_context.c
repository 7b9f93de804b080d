/* factorized_context.c — vitc.FactorizedContext, the first product of CoaT's factorized attention
 * (timm coat.FactoratAttnConvRelPosEnc) with the softmax over the tokens fused in:
 *
 *   inputs  k [..., N, D], v [..., N, E] (the same leading dims)
 *   P[..., j, c] = softmax over the tokens j of k[..., j, c]
 *   Y[..., c, e] = Σ_j P[..., j, c] · v[..., j, e]            [..., D, E] = softmax(k)ᵀ · v
 *
 * Q · Y (the second product) stays a MatMul: Y is a small D × E matrix per head. Computed in double. */
#include <math.h>
#include <stdlib.h>

#include "ops.h"

enum { IN_K, IN_V };

vitc_status shape_factorized_context(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  (void)n;
  const vitc_value *k = in[IN_K], *v = in[IN_V];
  if (k->dtype != VITC_F32 || v->dtype != VITC_F32)
    return vitc_fail(err, VITC_ERR_UNSUPPORTED, "FactorizedContext runs on float32 only");
  bool same = k->rank >= 2 && k->rank == v->rank;
  for (int d = 0; same && d < k->rank - 1; d++) same = k->dims[d] == v->dims[d];
  if (!same) return vitc_fail(err, VITC_ERR_INVALID, "FactorizedContext needs k [..., N, D] and v [..., N, E] with the same leading dims");
  vitc_copy_type(&out[0], k);
  out[0].dims[k->rank - 2] = k->dims[k->rank - 1];
  out[0].dims[k->rank - 1] = v->dims[v->rank - 1];
  return VITC_OK;
}

double flops_factorized_context(const vitc_node *n, const vitc_value *const *in, const vitc_value *out) {
  (void)n;
  const vitc_value *k = in[IN_K];
  double tokens = (double)k->dims[k->rank - 2];
  return (double)vitc_numel(k) * 4 + (double)vitc_numel(out) * tokens * 2;
}

vitc_status eval_FactorizedContext(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  (void)n;
  const vitc_value *k = in[IN_K], *v = in[IN_V];
  int64_t tokens = k->dims[k->rank - 2], width = k->dims[k->rank - 1], cols = v->dims[v->rank - 1];
  int64_t batch = tokens > 0 && width > 0 ? vitc_numel(k) / (tokens * width) : 0;
  double *w = malloc(sizeof(double) * (size_t)(tokens + 1));
  if (!w) return vitc_fail(err, VITC_ERR_NOMEM, "FactorizedContext: out of memory for %lld weights", (long long)tokens);
  for (int64_t b = 0; b < batch; b++)
    for (int64_t c = 0; c < width; c++) {
      double top = -INFINITY, sum = 0;
      for (int64_t j = 0; j < tokens; j++) {
        w[j] = vitc_load_f(k, (b * tokens + j) * width + c);
        top = w[j] > top ? w[j] : top;
      }
      for (int64_t j = 0; j < tokens; j++) sum += w[j] = exp(w[j] - top);
      for (int64_t e = 0; e < cols; e++) {
        double y = 0;
        for (int64_t j = 0; j < tokens; j++) y += w[j] * vitc_load_f(v, (b * tokens + j) * cols + e);
        vitc_store_f(&out[0], (b * width + c) * cols + e, y / sum);
      }
    }
  free(w);
  return VITC_OK;
}

/* vitc.FactorizedAttention — the whole of CoaT's factorized attention with its convolutional relative
 * position encoding (timm coat.FactorAttnConvRelPosEnc, after the qkv projection, before the output
 * projection), read from the qkv rows and written as token rows, built by passes/fuse_factorized_attention:
 *
 *   inputs  qkv [B, N, 3·C], w [KH, KW, C] (depthwise weight, channels last, KH and KW odd), bias [C]
 *   attrs   heads (H, dividing C into heads of D = C / H), scale, image = [IH, IW] with IH·IW <= N
 *
 *   q(b, h, n, i) = qkv[b, n, h·D + i]      k = the same at C + h·D + i      v at 2·C + h·D + i
 *   ctx(b, h, i, j) = Σ_n softmax over n of k(b, h, n, i) · v(b, h, n, j)
 *   Y[b, n, h·D + j] = scale · Σ_i q(b, h, n, i) · ctx(b, h, i, j) + crpe(b, n, h·D + j)
 *   crpe(b, L + y·IW + x, c) = qkv[b, L + y·IW + x, c] · (bias[c] + Σ w[ky, kx, c] · vimg[b, y + ky - KH/2, x + kx - KW/2, c])
 *
 * with L = N - IH·IW leading rows (the class token) whose crpe is 0, and vimg[b, y, x, c] =
 * qkv[b, L + y·IW + x, 2·C + c] (0 outside the image). ctx in double as FactorizedContext, the rest
 * in double. */
enum { IN_QKV, IN_W, IN_BIAS };

/* C, D, the image and the kernel of node n, checked against its inputs. */
typedef struct fa_dims {
  int64_t batch, tokens, c, heads, d, ih, iw, lead, kh, kw;
} fa_dims;

static vitc_status fa_analyse(const vitc_node *n, const vitc_value *const *in, fa_dims *a, vitc_error *err) {
  const vitc_value *qkv = in[IN_QKV], *w = in[IN_W], *bias = in[IN_BIAS];
  int len;
  const int64_t *image = vitc_attr_ints(n, "image", &len);
  if (qkv->dtype != VITC_F32 || w->dtype != VITC_F32 || bias->dtype != VITC_F32)
    return vitc_fail(err, VITC_ERR_UNSUPPORTED, "FactorizedAttention runs on float32 only");
  if (qkv->rank != 3 || qkv->dims[2] % 3 || !image || len != 2)
    return vitc_fail(err, VITC_ERR_INVALID, "FactorizedAttention needs qkv [B, N, 3·C] and image = [IH, IW]");
  *a = (fa_dims){.batch = qkv->dims[0], .tokens = qkv->dims[1], .c = qkv->dims[2] / 3,
                 .heads = vitc_attr_int(n, "heads", 0), .ih = image[0], .iw = image[1]};
  a->lead = a->tokens - a->ih * a->iw;
  if (a->heads < 1 || a->c % a->heads || a->ih < 0 || a->iw < 0 || a->lead < 0)
    return vitc_fail(err, VITC_ERR_INVALID, "FactorizedAttention needs heads dividing C = %lld and an image of at most N = %lld tokens",
                     (long long)a->c, (long long)a->tokens);
  a->d = a->c / a->heads;
  if (w->rank != 3 || w->dims[2] != a->c || w->dims[0] % 2 == 0 || w->dims[1] % 2 == 0 || bias->rank != 1 ||
      bias->dims[0] != a->c)
    return vitc_fail(err, VITC_ERR_INVALID, "FactorizedAttention needs w [KH, KW, %lld] with KH, KW odd and bias [%lld]",
                     (long long)a->c, (long long)a->c);
  a->kh = w->dims[0];
  a->kw = w->dims[1];
  return VITC_OK;
}

vitc_status shape_factorized_attention(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  fa_dims a;
  vitc_status st = fa_analyse(n, in, &a, err);
  if (st != VITC_OK) return st;
  vitc_copy_type(&out[0], in[IN_QKV]);
  out[0].dims[2] = a.c;
  return VITC_OK;
}

double flops_factorized_attention(const vitc_node *n, const vitc_value *const *in, const vitc_value *out) {
  const vitc_value *w = in[IN_W];
  double c = (double)out->dims[2], tokens = (double)out->dims[1], batch = (double)out->dims[0];
  double d = c / (double)vitc_attr_int(n, "heads", 1);
  return batch * tokens * c * (4 + 4 * d + 2 * (double)(w->dims[0] * w->dims[1]) + 2);
}

vitc_status eval_FactorizedAttention(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  fa_dims a;
  vitc_status st = fa_analyse(n, in, &a, err);
  if (st != VITC_OK) return st;
  const vitc_value *qkv = in[IN_QKV], *w = in[IN_W], *bias = in[IN_BIAS];
  double scale = vitc_attr_float(n, "scale", 1);
  int64_t c3 = 3 * a.c, d = a.d;
  double *ctx = malloc(sizeof(double) * (size_t)(d * d + a.tokens + 1)), *wt = ctx + d * d;
  if (!ctx) return vitc_fail(err, VITC_ERR_NOMEM, "FactorizedAttention: out of memory for a context");
  for (int64_t b = 0; b < a.batch; b++)
    for (int64_t h = 0; h < a.heads; h++) {
      int64_t rows = b * a.tokens * c3;
      for (int64_t i = 0; i < d; i++) {
        double top = -INFINITY, sum = 0;
        for (int64_t j = 0; j < a.tokens; j++) {
          wt[j] = vitc_load_f(qkv, rows + j * c3 + a.c + h * d + i);
          top = wt[j] > top ? wt[j] : top;
        }
        for (int64_t j = 0; j < a.tokens; j++) sum += wt[j] = exp(wt[j] - top);
        for (int64_t e = 0; e < d; e++) {
          double y = 0;
          for (int64_t j = 0; j < a.tokens; j++) y += wt[j] * vitc_load_f(qkv, rows + j * c3 + 2 * a.c + h * d + e);
          ctx[i * d + e] = (float)(y / sum);
        }
      }
      for (int64_t t = 0; t < a.tokens; t++)
        for (int64_t e = 0; e < d; e++) {
          int64_t ch = h * d + e;
          double y = 0;
          for (int64_t i = 0; i < d; i++) y += vitc_load_f(qkv, rows + t * c3 + h * d + i) * ctx[i * d + e];
          y *= scale;
          if (t >= a.lead) {
            int64_t oy = (t - a.lead) / a.iw, ox = (t - a.lead) % a.iw;
            double conv = vitc_load_f(bias, ch);
            for (int64_t ky = 0; ky < a.kh; ky++)
              for (int64_t kx = 0; kx < a.kw; kx++) {
                int64_t iy = oy + ky - a.kh / 2, ix = ox + kx - a.kw / 2;
                if (iy < 0 || iy >= a.ih || ix < 0 || ix >= a.iw) continue;
                conv += vitc_load_f(w, (ky * a.kw + kx) * a.c + ch) *
                        vitc_load_f(qkv, rows + (a.lead + iy * a.iw + ix) * c3 + 2 * a.c + ch);
              }
            y += vitc_load_f(qkv, rows + t * c3 + ch) * conv;
          }
          vitc_store_f(&out[0], (b * a.tokens + t) * a.c + ch, y);
        }
    }
  free(ctx);
  return VITC_OK;
}

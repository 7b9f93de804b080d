/* talking_heads.c — vitc.TalkingHeads, CaiT's talking-heads attention as passes/fuse_talking_heads finds it:
 *
 *   inputs  qkv [B, N, 3·H·Dh] (a fused projection's rows: q, k, v, each H heads of Dh), Wl, Ww [H, H],
 *           bl, bw [H]           attrs heads = H, scale
 *
 *   S[h, j] = scale · q[i, h] · k[j, h]                    for a query row i, every head h and key j
 *   L[j, g] = Σ_h S[h, j] · Wl[h, g] + bl[g]                heads mixed before the softmax
 *   P[j, g] = softmax over j of L[j, g]
 *   M[j, f] = Σ_g P[j, g] · Ww[g, f] + bw[f]                and after it
 *   Y[i, f·Dh + d] = Σ_j M[j, f] · v[j, f, d]               [B, N, H·Dh], heads side by side
 *
 * All heads' scores of a query row are needed at once (the mixing crosses heads), so the op works a
 * query row at a time. Computed in double. */
#include <math.h>
#include <stdlib.h>

#include "ops.h"

enum { IN_QKV, IN_WL, IN_BL, IN_WW, IN_BW };

static bool is_matrix(const vitc_value *v, int64_t n) { return v->rank == 2 && v->dims[0] == n && v->dims[1] == n; }

vitc_status shape_talking_heads(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  const vitc_value *qkv = in[IN_QKV];
  int64_t heads = vitc_attr_int(n, "heads", 0);
  vitc_status st = vitc_check_f32_inputs(n, in, err);
  if (st != VITC_OK) return st;
  if (heads <= 0 || qkv->rank != 3 || qkv->dims[2] % (3 * heads))
    return vitc_fail(err, VITC_ERR_INVALID, "TalkingHeads needs qkv [B, N, 3·H·Dh] with H = heads %lld > 0",
                     (long long)heads);
  if (!is_matrix(in[IN_WL], heads) || !is_matrix(in[IN_WW], heads) || in[IN_BL]->rank != 1 ||
      in[IN_BL]->dims[0] != heads || in[IN_BW]->rank != 1 || in[IN_BW]->dims[0] != heads)
    return vitc_fail(err, VITC_ERR_INVALID, "TalkingHeads mixes %lld heads: Wl, Ww must be [%lld, %lld], bl, bw [%lld]",
                     (long long)heads, (long long)heads, (long long)heads, (long long)heads);
  vitc_copy_type(&out[0], qkv);
  out[0].dims[2] = qkv->dims[2] / 3;
  return VITC_OK;
}

double flops_talking_heads(const vitc_node *n, const vitc_value *const *in, const vitc_value *out) {
  (void)n;
  double rows = (double)in[IN_QKV]->dims[0] * (double)in[IN_QKV]->dims[1], width = (double)out->dims[2];
  double heads = (double)in[IN_WL]->dims[0], tokens = (double)in[IN_QKV]->dims[1];
  return rows * (4 * tokens * width + 4 * tokens * heads * heads + 4 * tokens * heads);
}

vitc_status eval_TalkingHeads(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  const vitc_value *qkv = in[IN_QKV];
  int64_t heads = vitc_attr_int(n, "heads", 0), batch = qkv->dims[0], tokens = qkv->dims[1];
  int64_t width = qkv->dims[2] / 3, dh = width / heads;
  double scale = vitc_attr_float(n, "scale", 1.0);
  double *s = malloc(sizeof(double) * (size_t)(heads * tokens + 1)), *m = malloc(sizeof(double) * (size_t)(heads * tokens + 1));
  if (!s || !m) {
    free(s);
    free(m);
    return vitc_fail(err, VITC_ERR_NOMEM, "TalkingHeads: out of memory for %lld scores", (long long)(heads * tokens));
  }
  for (int64_t b = 0; b < batch; b++)
    for (int64_t i = 0; i < tokens; i++) {
      int64_t row = (b * tokens + i) * 3 * width;
      for (int64_t h = 0; h < heads; h++) /* s[h][j]: scaled scores */
        for (int64_t j = 0; j < tokens; j++) {
          double dot = 0;
          for (int64_t d = 0; d < dh; d++)
            dot += vitc_load_f(qkv, row + h * dh + d) * vitc_load_f(qkv, (b * tokens + j) * 3 * width + width + h * dh + d);
          s[h * tokens + j] = scale * dot;
        }
      for (int64_t g = 0; g < heads; g++) { /* m[g][j]: mixed, then softmax over j */
        double top = -INFINITY, sum = 0;
        for (int64_t j = 0; j < tokens; j++) {
          double l = vitc_load_f(in[IN_BL], g);
          for (int64_t h = 0; h < heads; h++) l += s[h * tokens + j] * vitc_load_f(in[IN_WL], h * heads + g);
          m[g * tokens + j] = l;
          top = l > top ? l : top;
        }
        for (int64_t j = 0; j < tokens; j++) sum += m[g * tokens + j] = exp(m[g * tokens + j] - top);
        for (int64_t j = 0; j < tokens; j++) m[g * tokens + j] /= sum;
      }
      for (int64_t f = 0; f < heads; f++) /* mixed again (into s), then times v */
        for (int64_t j = 0; j < tokens; j++) {
          double w = vitc_load_f(in[IN_BW], f);
          for (int64_t g = 0; g < heads; g++) w += m[g * tokens + j] * vitc_load_f(in[IN_WW], g * heads + f);
          s[f * tokens + j] = w;
        }
      for (int64_t f = 0; f < heads; f++)
        for (int64_t d = 0; d < dh; d++) {
          double y = 0;
          for (int64_t j = 0; j < tokens; j++)
            y += s[f * tokens + j] * vitc_load_f(qkv, (b * tokens + j) * 3 * width + 2 * width + f * dh + d);
          vitc_store_f(&out[0], (b * tokens + i) * width + f * dh + d, y);
        }
    }
  free(s);
  free(m);
  return VITC_OK;
}

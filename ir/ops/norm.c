/* norm.c — normalisations: BatchNormalization (inference), LayerNormalization, InstanceNormalization,
 * GroupNormalization, LpNormalization, MeanVarianceNormalization.
 *
 * Statistics are accumulated in double, two-pass (mean, then squared deviations), which is what ONNX's
 * function bodies compute and avoids the cancellation of E[x²] - E[x]². LayerNorm, InstanceNorm and
 * GroupNorm all normalise contiguous rows and share vitc_normalize_row (so does DepthwiseConvNHWC's LayerNorm
 * epilogue), whose float32 case is a typed loop: the evaluator runs a LayerNorm twice per transformer block. */
#include <math.h>
#include <stdlib.h>

#include "ops.h"

static inline double load_f32_or_any(const vitc_value *v, int64_t i) {
  return v->dtype == VITC_F32 ? ((const float *)v->data)[i] : vitc_load_f(v, i);
}

void vitc_normalize_row(const vitc_value *x, vitc_value *y, int64_t start, int64_t len, double eps,
                          const double *scale, const double *bias, int64_t period, double *mean_out,
                          double *inv_std_out) {
  double sum = 0, sq = 0;
  for (int64_t j = 0; j < len; j++) sum += load_f32_or_any(x, start + j);
  double mean = len ? sum / (double)len : 0;
  for (int64_t j = 0; j < len; j++) {
    double d = load_f32_or_any(x, start + j) - mean;
    sq += d * d;
  }
  double inv_std = 1.0 / sqrt((len ? sq / (double)len : 0) + eps);
  if (x->dtype == VITC_F32 && y->dtype == VITC_F32 && period == 1) {
    const float *xp = (const float *)x->data + start;
    float *yp = (float *)y->data + start;
    for (int64_t j = 0; j < len; j++) yp[j] = (float)(((double)xp[j] - mean) * inv_std * scale[j] + bias[j]);
  } else {
    for (int64_t j = 0; j < len; j++) {
      int64_t c = j / period;
      vitc_store_f(y, start + j, (load_f32_or_any(x, start + j) - mean) * inv_std * scale[c] + bias[c]);
    }
  }
  if (mean_out) *mean_out = mean;
  if (inv_std_out) *inv_std_out = inv_std;
}

/* Reads a per-channel parameter (scale, bias, mean, variance) of `count` elements into dst. */
static vitc_status read_param(const vitc_value *p, const char *what, int64_t count, double *dst, vitc_error *err) {
  if (vitc_numel(p) != count || p->rank != 1) {
    char buf[128];
    return vitc_fail(err, VITC_ERR_INVALID, "%s is %s, expected %lld elements", what,
                     vitc_value_type_str(p, buf, sizeof buf), (long long)count);
  }
  for (int64_t c = 0; c < count; c++) dst[c] = vitc_load_f(p, c);
  return VITC_OK;
}

/* An input [N, C, spatial...]: the channel count and the elements per channel of one sample. */
static vitc_status channels_of(const vitc_value *x, int64_t *channels, int64_t *spatial, vitc_error *err) {
  if (x->rank < 2) return vitc_fail(err, VITC_ERR_INVALID, "input has rank %d, expected [N, C, ...]", x->rank);
  *channels = x->dims[1];
  *spatial = 1;
  for (int d = 2; d < x->rank; d++) *spatial *= x->dims[d];
  return VITC_OK;
}

double flops_norm(const vitc_node *n, const vitc_value *const *in, const vitc_value *out) {
  return 8.0 * (double)vitc_numel(in[0]);
}

/* ---------------------------------------------------------------- BatchNormalization */

/* Inference form: y = (x - mean) / sqrt(var + eps) * scale + B, folded per channel into y = x * a + b. */
vitc_status eval_BatchNormalization(const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                                    vitc_error *err) {
  if (vitc_attr_int(n, "training_mode", 0))
    return vitc_fail(err, VITC_ERR_UNSUPPORTED, "training_mode=1 (batch statistics) is not supported");
  const vitc_value *x = in[0];
  int64_t channels = 0, spatial = 0;
  vitc_status st = channels_of(x, &channels, &spatial, err);
  if (st != VITC_OK) return st;
  double eps = vitc_attr_float(n, "epsilon", 1e-5);
  double *p = malloc(sizeof(double) * 4 * (size_t)(channels ? channels : 1));
  if (!p) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory for %lld channels", (long long)channels);
  double *a = p, *b = p + channels, *mean = p + 2 * channels, *var = p + 3 * channels;
  static const char *const names[] = {"scale", "B", "mean", "var"};
  for (int k = 0; k < 4 && st == VITC_OK; k++) st = read_param(in[k + 1], names[k], channels, p + k * channels, err);
  if (st == VITC_OK) {
    for (int64_t c = 0; c < channels; c++) {
      double gain = a[c] / sqrt(var[c] + eps);
      b[c] -= mean[c] * gain;
      a[c] = gain;
    }
    int64_t rows = x->dims[0] * channels;
    for (int64_t r = 0; r < rows; r++) {
      int64_t c = r % channels, base = r * spatial;
      if (x->dtype == VITC_F32) {
        const float *xp = (const float *)x->data + base;
        float *yp = (float *)out[0].data + base;
        for (int64_t j = 0; j < spatial; j++) yp[j] = (float)(xp[j] * a[c] + b[c]);
      } else {
        for (int64_t j = 0; j < spatial; j++) vitc_store_f(&out[0], base + j, vitc_load_f(x, base + j) * a[c] + b[c]);
      }
    }
  }
  free(p);
  return st;
}

/* ---------------------------------------------------------------- LayerNormalization */

/* Checks that an optional scale or bias broadcasts onto the normalised dims x[axis:]. */
static vitc_status check_norm_param(const vitc_value *p, const char *what, const vitc_value *x, int axis,
                                    vitc_error *err) {
  if (!p) return VITC_OK;
  int norm_rank = x->rank - axis;
  bool ok = true;
  for (int i = 0; i < p->rank; i++) {
    int xd = x->rank - p->rank + i; /* right-aligned */
    int64_t pd = p->dims[i];
    ok &= xd < axis ? pd == 1 : pd == 1 || pd == x->dims[xd];
  }
  if (ok) return VITC_OK;
  char pb[128], xb[128];
  return vitc_fail(err, VITC_ERR_INVALID, "%s %s does not broadcast to the last %d dims of %s", what,
                   vitc_value_type_str(p, pb, sizeof pb), norm_rank, vitc_value_type_str(x, xb, sizeof xb));
}

/* Mean and InvStdDev have the element type stash_type (a TensorProto code, float32 by default). */
static vitc_status stash_dtype(const vitc_node *n, vitc_dtype *out, vitc_error *err) {
  int64_t t = vitc_attr_int(n, "stash_type", VITC_F32);
  if (t != VITC_F32 && t != VITC_F64 && t != VITC_F16 && t != VITC_BF16)
    return vitc_fail(err, VITC_ERR_INVALID, "stash_type %lld is not a floating-point type", (long long)t);
  *out = (vitc_dtype)t;
  return VITC_OK;
}

vitc_status shape_layer_norm(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  const vitc_value *x = in[0];
  int axis;
  vitc_dtype stash = VITC_F32;
  vitc_status st = vitc_normalize_axis(vitc_attr_int(n, "axis", -1), x->rank, &axis, err);
  if (st == VITC_OK) st = check_norm_param(n->nin > 1 ? in[1] : NULL, "scale", x, axis, err);
  if (st == VITC_OK) st = check_norm_param(n->nin > 2 ? in[2] : NULL, "bias", x, axis, err);
  if (st == VITC_OK) st = stash_dtype(n, &stash, err);
  if (st != VITC_OK) return st;
  vitc_copy_type(&out[0], x);
  for (int k = 1; k < n->nout; k++) {
    vitc_copy_type(&out[k], x);
    out[k].dtype = stash;
    for (int d = axis; d < x->rank; d++) out[k].dims[d] = 1;
  }
  return VITC_OK;
}

/* Expands an optional scale or bias (already checked by check_norm_param) to one value per position
 * of the normalised dims x[axis:]. */
static void expand_norm_param(const vitc_value *p, const vitc_value *x, int axis, int64_t len, double dflt,
                              double *dst) {
  if (!p) {
    for (int64_t j = 0; j < len; j++) dst[j] = dflt;
    return;
  }
  int norm_rank = x->rank - axis;
  int64_t strides[VITC_MAX_RANK];
  vitc_broadcast_strides(p, norm_rank, x->dims + axis, strides);
  for (int64_t j = 0; j < len; j++) {
    int64_t rem = j, at = 0;
    for (int d = norm_rank - 1; d >= 0; d--) {
      at += rem % x->dims[axis + d] * strides[d];
      rem /= x->dims[axis + d];
    }
    dst[j] = vitc_load_f(p, at);
  }
}

vitc_status eval_LayerNormalization(const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                                    vitc_error *err) {
  const vitc_value *x = in[0];
  const vitc_value *scale = n->nin > 1 ? in[1] : NULL, *bias = n->nin > 2 ? in[2] : NULL;
  int axis;
  vitc_status st = vitc_normalize_axis(vitc_attr_int(n, "axis", -1), x->rank, &axis, err);
  if (st != VITC_OK) return st;
  double eps = vitc_attr_float(n, "epsilon", 1e-5);
  int64_t len = 1, rows = 1;
  for (int d = 0; d < x->rank; d++) *(d < axis ? &rows : &len) *= x->dims[d];
  double *affine = malloc(sizeof(double) * 2 * (size_t)(len ? len : 1));
  if (!affine) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory for %lld scale values", (long long)len);
  expand_norm_param(scale, x, axis, len, 1.0, affine);
  expand_norm_param(bias, x, axis, len, 0.0, affine + len);
  vitc_value *mean_out = n->nout > 1 && out[1].data ? &out[1] : NULL;
  vitc_value *inv_out = n->nout > 2 && out[2].data ? &out[2] : NULL;
  for (int64_t r = 0; r < rows; r++) {
    double mean, inv_std;
    vitc_normalize_row(x, &out[0], r * len, len, eps, affine, affine + len, 1, &mean, &inv_std);
    if (mean_out) vitc_store_f(mean_out, r, mean);
    if (inv_out) vitc_store_f(inv_out, r, inv_std);
  }
  free(affine);
  return VITC_OK;
}

/* ---------------------------------------------------------------- InstanceNormalization, GroupNormalization */

/* Normalises each of `groups` consecutive channel blocks of every sample; scale and bias hold one value
 * per channel. */
static void normalize_groups(const vitc_value *x, vitc_value *y, int64_t groups, int64_t channels,
                             int64_t spatial, double eps, const double *scale, const double *bias) {
  int64_t per_group = channels / groups, len = per_group * spatial;
  int64_t rows = channels && spatial ? vitc_numel(x) / len : 0;
  for (int64_t r = 0; r < rows; r++) {
    int64_t first_channel = r % groups * per_group;
    vitc_normalize_row(x, y, r * len, len, eps, scale + first_channel, bias + first_channel, spatial, NULL, NULL);
  }
}

vitc_status eval_InstanceNormalization(const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                                       vitc_error *err) {
  int64_t channels = 0, spatial = 0;
  vitc_status st = channels_of(in[0], &channels, &spatial, err);
  if (st != VITC_OK) return st;
  double *affine = malloc(sizeof(double) * 2 * (size_t)(channels ? channels : 1));
  if (!affine) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory for %lld channels", (long long)channels);
  st = read_param(in[1], "scale", channels, affine, err);
  if (st == VITC_OK) st = read_param(in[2], "B", channels, affine + channels, err);
  if (st == VITC_OK && channels)
    normalize_groups(in[0], &out[0], channels, channels, spatial, vitc_attr_float(n, "epsilon", 1e-5), affine,
                     affine + channels);
  free(affine);
  return st;
}

/* scale and bias hold one value per group in opsets 18-20 and one per channel from opset 21. */
vitc_status eval_GroupNormalization(const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                                    vitc_error *err) {
  int64_t channels = 0, spatial = 0, groups = vitc_attr_int(n, "num_groups", 0);
  vitc_status st = channels_of(in[0], &channels, &spatial, err);
  if (st != VITC_OK) return st;
  if (groups <= 0 || channels % groups)
    return vitc_fail(err, VITC_ERR_INVALID, "num_groups %lld does not divide %lld channels", (long long)groups,
                     (long long)channels);
  bool per_channel = n->opset >= 21;
  int64_t count = per_channel ? channels : groups;
  double *p = malloc(sizeof(double) * 2 * (size_t)(channels + count + 1));
  if (!p) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory for %lld channels", (long long)channels);
  double *scale = p, *bias = p + channels, *raw_scale = p + 2 * channels, *raw_bias = raw_scale + count;
  st = read_param(in[1], per_channel ? "scale (one per channel)" : "scale (one per group)", count, raw_scale, err);
  if (st == VITC_OK)
    st = read_param(in[2], per_channel ? "bias (one per channel)" : "bias (one per group)", count, raw_bias, err);
  if (st == VITC_OK && channels) {
    for (int64_t c = 0; c < channels; c++) {
      int64_t k = per_channel ? c : c / (channels / groups);
      scale[c] = raw_scale[k];
      bias[c] = raw_bias[k];
    }
    normalize_groups(in[0], &out[0], groups, channels, spatial, vitc_attr_float(n, "epsilon", 1e-5), scale, bias);
  }
  free(p);
  return st;
}

/* ---------------------------------------------------------------- LpNormalization */

/* y = x / ||x||_p along axis; a zero norm gives NaN, as ONNX's reference does. */
vitc_status eval_LpNormalization(const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                                 vitc_error *err) {
  const vitc_value *x = in[0];
  int axis;
  int64_t p = vitc_attr_int(n, "p", 2);
  if (p != 1 && p != 2) return vitc_fail(err, VITC_ERR_INVALID, "p is %lld, expected 1 or 2", (long long)p);
  vitc_status st = vitc_normalize_axis(vitc_attr_int(n, "axis", -1), x->rank, &axis, err);
  if (st != VITC_OK) return st;
  int64_t outer = 1, len = x->rank ? x->dims[axis] : 1, inner = 1;
  for (int d = 0; d < x->rank; d++) {
    if (d < axis) outer *= x->dims[d];
    if (d > axis) inner *= x->dims[d];
  }
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      int64_t base = o * len * inner + i;
      double norm = 0;
      for (int64_t j = 0; j < len; j++) {
        double e = vitc_load_f(x, base + j * inner);
        norm += p == 1 ? fabs(e) : e * e;
      }
      if (p == 2) norm = sqrt(norm);
      for (int64_t j = 0; j < len; j++) vitc_store_f(&out[0], base + j * inner, vitc_load_f(x, base + j * inner) / norm);
    }
  return VITC_OK;
}

/* ---------------------------------------------------------------- MeanVarianceNormalization */

/* y = (x - mean) / (sqrt(var) + 1e-9) over `axes` (default [0, 2, 3]), as ONNX's function body. */
vitc_status eval_MeanVarianceNormalization(const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                                           vitc_error *err) {
  static const int64_t default_axes[] = {0, 2, 3};
  const vitc_value *x = in[0];
  int naxes;
  const int64_t *axes = vitc_attr_ints(n, "axes", &naxes);
  if (!axes) axes = default_axes, naxes = 3;
  bool reduced[VITC_MAX_RANK] = {false};
  for (int i = 0; i < naxes; i++) {
    int a;
    vitc_status st = vitc_normalize_axis(axes[i], x->rank, &a, err);
    if (st != VITC_OK) return st;
    if (reduced[a]) return vitc_fail(err, VITC_ERR_INVALID, "axis %lld is listed twice in axes", (long long)axes[i]);
    reduced[a] = true;
  }
  /* Statistics slot of an element: its index with the reduced axes dropped. */
  int64_t slots = 1, count = 1, slot_stride[VITC_MAX_RANK], in_total = vitc_numel(x);
  for (int d = x->rank - 1; d >= 0; d--) {
    slot_stride[d] = reduced[d] ? 0 : slots;
    if (reduced[d]) count *= x->dims[d];
    else slots *= x->dims[d];
  }
  double *stats = calloc((size_t)slots * 2 + 1, sizeof(double));
  int64_t *slot = malloc(sizeof(int64_t) * (size_t)(in_total ? in_total : 1));
  if (!stats || !slot) {
    free(stats);
    free(slot);
    return vitc_fail(err, VITC_ERR_NOMEM, "out of memory for %lld elements", (long long)in_total);
  }
  double *mean = stats, *sq = stats + slots;
  for (int64_t i = 0; i < in_total; i++) {
    int64_t rem = i, s = 0;
    for (int d = x->rank - 1; d >= 0; d--) {
      s += rem % x->dims[d] * slot_stride[d];
      rem /= x->dims[d];
    }
    slot[i] = s;
    mean[s] += vitc_load_f(x, i);
  }
  for (int64_t s = 0; s < slots; s++) mean[s] /= (double)count;
  for (int64_t i = 0; i < in_total; i++) {
    double d = vitc_load_f(x, i) - mean[slot[i]];
    sq[slot[i]] += d * d;
  }
  for (int64_t i = 0; i < in_total; i++) {
    double std = sqrt(sq[slot[i]] / (double)count);
    vitc_store_f(&out[0], i, (vitc_load_f(x, i) - mean[slot[i]]) / (std + 1e-9));
  }
  free(stats);
  free(slot);
  return VITC_OK;
}

/* resize.c — Resize (opsets 11-19): nearest, N-D linear and cubic interpolation, every coordinate
 * transformation mode, and opset 18's antialias, axes and keep_aspect_ratio_policy.
 *
 * Interpolation is separable, so the evaluator resizes one axis at a time: for each output coordinate of
 * an axis it computes a short list of taps (source index, weight), then applies them along that axis to
 * the whole tensor. Nearest is one tap, linear two, cubic four, antialiased downscaling a footprint
 * widened by 1/scale. This gives the same values as ONNX's reference, which interpolates the N axes
 * recursively, up to rounding. Intermediate values are doubles. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

typedef enum resize_mode { MODE_NEAREST, MODE_LINEAR, MODE_CUBIC } resize_mode;
typedef enum coord_mode {
  COORD_HALF_PIXEL,
  COORD_HALF_PIXEL_SYMMETRIC,
  COORD_PYTORCH_HALF_PIXEL,
  COORD_ALIGN_CORNERS,
  COORD_ASYMMETRIC,
  COORD_TF_HALF_PIXEL_FOR_NN,
  COORD_TF_CROP_AND_RESIZE,
} coord_mode;
typedef enum nearest_mode { ROUND_PREFER_FLOOR, ROUND_PREFER_CEIL, NEAREST_FLOOR, NEAREST_CEIL } nearest_mode;

static const char *const mode_names[] = {"nearest", "linear", "cubic", NULL};
static const char *const coord_names[] = {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel",
                                          "align_corners", "asymmetric", "tf_half_pixel_for_nn",
                                          "tf_crop_and_resize", NULL};
static const char *const nearest_names[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil", NULL};
static const char *const policy_names[] = {"stretch", "not_larger", "not_smaller", NULL};

/* Everything Resize needs to know, from attributes and the roi / scales / sizes inputs. */
typedef struct resize_plan {
  resize_mode mode;
  coord_mode coord;
  nearest_mode nearest;
  double cubic_a, extrapolation;
  bool exclude_outside, antialias;
  int rank;
  int64_t out_dims[VITC_MAX_RANK];
  double scale[VITC_MAX_RANK], roi_start[VITC_MAX_RANK], roi_end[VITC_MAX_RANK];
} resize_plan;

static vitc_status pick_name(const vitc_node *n, const char *attr, const char *const *names, int *out,
                             vitc_error *err) {
  const char *s = vitc_attr_str(n, attr, names[0]);
  for (int i = 0; names[i]; i++)
    if (!strcmp(s, names[i])) {
      *out = i;
      return VITC_OK;
    }
  return vitc_fail(err, VITC_ERR_UNSUPPORTED, "%s '%s' is not supported", attr, s);
}

/* An optional input counts as given only when it has elements (exporters pass empty placeholders). */
static const vitc_value *given(const vitc_node *n, const vitc_value *const *in, int k) {
  return k < n->nin && in[k] && vitc_numel(in[k]) > 0 ? in[k] : NULL;
}

static vitc_status read_float_list(const vitc_value *v, const char *what, double *out, int cap, int *len,
                                   vitc_error *err) {
  if (!v->data)
    return vitc_fail(err, VITC_ERR_DATA_DEPENDENT, "data-dependent shape: %s is not known at compile time", what);
  if (!vitc_dtype_is_float(v->dtype))
    return vitc_fail(err, VITC_ERR_INVALID, "%s must be floating-point, not %s", what, vitc_dtype_name(v->dtype));
  int64_t count = vitc_numel(v);
  if (v->rank > 1 || count > cap)
    return vitc_fail(err, VITC_ERR_INVALID, "%s must be 1-D with at most %d values", what, cap);
  for (int64_t i = 0; i < count; i++) out[i] = vitc_load_f(v, i);
  *len = (int)count;
  return VITC_OK;
}

/* The axes scales / sizes / roi refer to: opset 18's `axes`, or all of them. */
static vitc_status resized_axes(const vitc_node *n, int rank, int *axes, int *naxes, vitc_error *err) {
  int len;
  const int64_t *attr = vitc_attr_ints(n, "axes", &len);
  if (!attr) {
    for (int d = 0; d < rank; d++) axes[d] = d;
    *naxes = rank;
    return VITC_OK;
  }
  bool seen[VITC_MAX_RANK] = {false};
  if (len > rank) return vitc_fail(err, VITC_ERR_INVALID, "axes has %d entries for rank %d", len, rank);
  for (int i = 0; i < len; i++) {
    vitc_status st = vitc_normalize_axis(attr[i], rank, &axes[i], err);
    if (st != VITC_OK) return st;
    if (seen[axes[i]]) return vitc_fail(err, VITC_ERR_INVALID, "axis %lld is listed twice in axes", (long long)attr[i]);
    seen[axes[i]] = true;
  }
  *naxes = len;
  return VITC_OK;
}

/* Output size and scale of each axis from scales (out = floor(in * scale)) or from sizes (scale =
 * out / in, or one common scale under keep_aspect_ratio_policy). */
static vitc_status size_axes(const vitc_node *n, const vitc_value *x, const vitc_value *scales,
                             const vitc_value *sizes, const int *axes, int naxes, resize_plan *p, vitc_error *err) {
  int len;
  vitc_status st;
  if (scales) {
    double s[VITC_MAX_RANK];
    if ((st = read_float_list(scales, "scales", s, VITC_MAX_RANK, &len, err)) != VITC_OK) return st;
    if (len != naxes) return vitc_fail(err, VITC_ERR_INVALID, "scales has %d values for %d axes", len, naxes);
    for (int i = 0; i < naxes; i++) {
      if (!(s[i] > 0)) return vitc_fail(err, VITC_ERR_INVALID, "scale %g of axis %d is not positive", s[i], axes[i]);
      p->scale[axes[i]] = s[i];
      double size = floor((double)x->dims[axes[i]] * s[i]);
      if (!(size < 0x1p62)) /* also NaN: the conversion below would be undefined */
        return vitc_fail(err, VITC_ERR_INVALID, "scale %g of axis %d gives a size too large to represent", s[i],
                         axes[i]);
      p->out_dims[axes[i]] = (int64_t)size;
    }
    return VITC_OK;
  }
  int64_t sz[VITC_MAX_RANK];
  int policy = 0;
  if ((st = vitc_read_int_list(sizes, "sizes", sz, VITC_MAX_RANK, &len, err)) != VITC_OK) return st;
  if ((st = pick_name(n, "keep_aspect_ratio_policy", policy_names, &policy, err)) != VITC_OK) return st;
  if (len != naxes) return vitc_fail(err, VITC_ERR_INVALID, "sizes has %d values for %d axes", len, naxes);
  double common = policy == 1 ? INFINITY : 0;
  for (int i = 0; i < naxes; i++) {
    int64_t in_len = x->dims[axes[i]];
    if (sz[i] < 0 || (in_len == 0 && sz[i] > 0))
      return vitc_fail(err, VITC_ERR_INVALID, "size %lld of axis %d cannot come from an input of %lld",
                       (long long)sz[i], axes[i], (long long)in_len);
    double s = in_len ? (double)sz[i] / (double)in_len : 1;
    common = policy == 1 ? fmin(common, s) : fmax(common, s);
    p->scale[axes[i]] = s;
    p->out_dims[axes[i]] = sz[i];
  }
  if (policy != 0)
    for (int i = 0; i < naxes; i++) {
      p->scale[axes[i]] = common;
      p->out_dims[axes[i]] = (int64_t)(common * (double)x->dims[axes[i]] + 0.5); /* round half up */
    }
  return VITC_OK;
}

static vitc_status plan_resize(const vitc_node *n, const vitc_value *const *in, resize_plan *p, vitc_error *err) {
  const vitc_value *x = in[0], *roi = given(n, in, 1), *scales = given(n, in, 2), *sizes = given(n, in, 3);
  int mode = 0, coord = 0, nearest = 0, axes[VITC_MAX_RANK], naxes = 0;
  vitc_status st = pick_name(n, "mode", mode_names, &mode, err);
  if (st == VITC_OK) st = pick_name(n, "coordinate_transformation_mode", coord_names, &coord, err);
  if (st == VITC_OK) st = pick_name(n, "nearest_mode", nearest_names, &nearest, err);
  if (st == VITC_OK) st = resized_axes(n, x->rank, axes, &naxes, err);
  if (st != VITC_OK) return st;
  if (scales && sizes) return vitc_fail(err, VITC_ERR_INVALID, "scales and sizes are both given; exactly one is allowed");
  if (!scales && !sizes) return vitc_fail(err, VITC_ERR_INVALID, "neither scales nor sizes is given (or both are empty)");
  memset(p, 0, sizeof *p);
  p->mode = (resize_mode)mode;
  p->coord = (coord_mode)coord;
  p->nearest = (nearest_mode)nearest;
  p->cubic_a = vitc_attr_float(n, "cubic_coeff_a", -0.75);
  p->extrapolation = vitc_attr_float(n, "extrapolation_value", 0.0);
  p->exclude_outside = vitc_attr_int(n, "exclude_outside", 0) != 0;
  p->antialias = vitc_attr_int(n, "antialias", 0) != 0;
  p->rank = x->rank;
  for (int d = 0; d < x->rank; d++) {
    p->out_dims[d] = x->dims[d];
    p->scale[d] = 1;
    p->roi_end[d] = 1;
  }
  if ((st = size_axes(n, x, scales, sizes, axes, naxes, p, err)) != VITC_OK) return st;
  if (p->coord == COORD_TF_CROP_AND_RESIZE) {
    double r[2 * VITC_MAX_RANK];
    int len;
    if (!roi) return vitc_fail(err, VITC_ERR_INVALID, "tf_crop_and_resize needs roi, which is absent");
    if ((st = read_float_list(roi, "roi", r, 2 * VITC_MAX_RANK, &len, err)) != VITC_OK) return st;
    if (len != 2 * naxes) return vitc_fail(err, VITC_ERR_INVALID, "roi has %d values, expected %d", len, 2 * naxes);
    for (int i = 0; i < naxes; i++) {
      p->roi_start[axes[i]] = r[i];
      p->roi_end[axes[i]] = r[naxes + i];
    }
  }
  return VITC_OK;
}

vitc_status shape_resize(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  resize_plan p;
  vitc_status st = plan_resize(n, in, &p, err);
  if (st != VITC_OK) return st;
  vitc_copy_type(&out[0], in[0]);
  memcpy(out[0].dims, p.out_dims, sizeof p.out_dims);
  return VITC_OK;
}

/* ---------------------------------------------------------------- taps of one axis */

/* Where output coordinate x of axis d falls in the input (ONNX's coordinate_transformation_mode). */
static double source_coord(const resize_plan *p, int d, int64_t x, int64_t in_len) {
  double s = p->scale[d], out_len = (double)p->out_dims[d], len = (double)in_len, xf = (double)x;
  switch (p->coord) {
  case COORD_HALF_PIXEL: return (xf + 0.5) / s - 0.5;
  case COORD_HALF_PIXEL_SYMMETRIC: {
    double adjustment = out_len / (s * len), center = len / 2;
    return center * (1 - adjustment) + (xf + 0.5) / s - 0.5;
  }
  case COORD_PYTORCH_HALF_PIXEL: return out_len > 1 ? (xf + 0.5) / s - 0.5 : 0;
  case COORD_ALIGN_CORNERS: return out_len > 1 ? xf * (len - 1) / (out_len - 1) : 0;
  case COORD_ASYMMETRIC: return xf / s;
  case COORD_TF_HALF_PIXEL_FOR_NN: return (xf + 0.5) / s;
  case COORD_TF_CROP_AND_RESIZE: {
    double a = p->roi_start[d], b = p->roi_end[d];
    return out_len > 1 ? a * (len - 1) + xf * (b - a) * (len - 1) / (out_len - 1) : 0.5 * (a + b) * (len - 1);
  }
  }
  return xf;
}

/* The cubic convolution kernel with coefficient a (Keys). */
static double cubic_kernel(double t, double a) {
  t = fabs(t);
  if (t <= 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
  return 0;
}

/* Taps of one axis: output coordinate j reads count[j] input indices idx[j * width + t] with weights w;
 * count -1 marks a coordinate outside tf_crop_and_resize's box (it gets extrapolation_value). */
typedef struct axis_taps {
  int64_t width;
  int *count;
  int64_t *idx;
  double *w;
} axis_taps;

static void free_taps(axis_taps *t) {
  free(t->count);
  free(t->idx);
  free(t->w);
}

/* Antialiased downscaling stretches the kernel by 1/scale; otherwise linear spans 2 taps, cubic 4. */
static double kernel_stretch(const resize_plan *p, int d) {
  return p->antialias && p->scale[d] < 1 ? p->scale[d] : 1;
}

static vitc_status build_taps(const resize_plan *p, int d, int64_t in_len, axis_taps *t, vitc_error *err) {
  int64_t out_len = p->out_dims[d];
  double stretch = kernel_stretch(p, d), radius = p->mode == MODE_CUBIC ? 2 : 1;
  int64_t first = p->mode == MODE_NEAREST ? 0 : (int64_t)floor(-radius / stretch) + 1;
  t->width = p->mode == MODE_NEAREST ? 1 : 2 - 2 * first;
  t->count = malloc(sizeof(int) * (size_t)out_len);
  t->idx = malloc(sizeof(int64_t) * (size_t)(out_len * t->width));
  t->w = malloc(sizeof(double) * (size_t)(out_len * t->width));
  if (!t->count || !t->idx || !t->w) {
    free_taps(t);
    return vitc_fail(err, VITC_ERR_NOMEM, "out of memory for %lld resize taps", (long long)(out_len * t->width));
  }
  for (int64_t j = 0; j < out_len; j++) {
    double x = source_coord(p, d, j, in_len), base = floor(x), frac = x - base;
    int64_t *idx = t->idx + j * t->width;
    double *w = t->w + j * t->width;
    if (p->coord == COORD_TF_CROP_AND_RESIZE && (x < 0 || x > (double)(in_len - 1))) {
      t->count[j] = -1;
      continue;
    }
    if (p->mode == MODE_NEAREST) {
      bool up = frac > 0 && (p->nearest == ROUND_PREFER_FLOOR ? frac > 0.5
                             : p->nearest == ROUND_PREFER_CEIL ? frac >= 0.5
                                                                : p->nearest == NEAREST_CEIL);
      int64_t i = (int64_t)base + up;
      idx[0] = i < 0 ? 0 : i >= in_len ? in_len - 1 : i;
      w[0] = 1;
      t->count[j] = 1;
      continue;
    }
    /* Samples past the border repeat the edge value, unless exclude_outside drops them. */
    int count = 0;
    double sum = 0;
    for (int64_t k = first; k < first + t->width; k++) {
      int64_t i = (int64_t)base + k;
      double dist = ((double)k - frac) * stretch;
      double weight = p->mode == MODE_CUBIC ? cubic_kernel(dist, p->cubic_a) : fmax(0, 1 - fabs(dist));
      if (p->exclude_outside && (i < 0 || i >= in_len)) weight = 0;
      sum += weight;
      if (weight == 0) continue;
      idx[count] = i < 0 ? 0 : i >= in_len ? in_len - 1 : i;
      w[count++] = weight;
    }
    if ((p->antialias || p->exclude_outside) && sum != 0)
      for (int k = 0; k < count; k++) w[k] /= sum;
    t->count[j] = count;
  }
  return VITC_OK;
}

static bool taps_are_identity(const axis_taps *t, int64_t in_len, int64_t out_len) {
  if (in_len != out_len) return false;
  for (int64_t j = 0; j < out_len; j++)
    if (t->count[j] != 1 || t->idx[j * t->width] != j || t->w[j * t->width] != 1) return false;
  return true;
}

/* ---------------------------------------------------------------- evaluator */

/* Resizes axis d of src (dims) into dst, whose axis d has out_len entries. */
static void apply_taps(const resize_plan *p, const axis_taps *t, const double *src, double *dst,
                       const int64_t *dims, int d, int64_t out_len) {
  int64_t outer = 1, inner = 1, in_len = dims[d];
  for (int k = 0; k < d; k++) outer *= dims[k];
  for (int k = d + 1; k < p->rank; k++) inner *= dims[k];
  for (int64_t o = 0; o < outer; o++)
    for (int64_t j = 0; j < out_len; j++) {
      double *y = dst + (o * out_len + j) * inner;
      const int64_t *idx = t->idx + j * t->width;
      const double *w = t->w + j * t->width;
      for (int64_t i = 0; i < inner; i++) y[i] = t->count[j] < 0 ? p->extrapolation : 0;
      for (int k = 0; k < t->count[j]; k++) {
        const double *x = src + (o * in_len + idx[k]) * inner;
        for (int64_t i = 0; i < inner; i++) y[i] += w[k] * x[i];
      }
    }
}

vitc_status eval_Resize(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  const vitc_value *x = in[0];
  resize_plan p;
  vitc_status st = plan_resize(n, in, &p, err);
  if (st != VITC_OK) return st;
  int64_t total = vitc_numel(&out[0]);
  if (total == 0) return VITC_OK;
  int64_t dims[VITC_MAX_RANK], cur_total = vitc_numel(x);
  memcpy(dims, x->dims, sizeof dims);
  double *cur = malloc(sizeof(double) * (size_t)cur_total);
  if (!cur) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory for %lld elements", (long long)cur_total);
  for (int64_t i = 0; i < cur_total; i++) cur[i] = vitc_load_f(x, i);
  for (int d = 0; d < p.rank && st == VITC_OK; d++) {
    axis_taps t;
    if ((st = build_taps(&p, d, dims[d], &t, err)) != VITC_OK) break;
    if (!taps_are_identity(&t, dims[d], p.out_dims[d])) {
      int64_t next_total = cur_total / dims[d] * p.out_dims[d];
      double *next = malloc(sizeof(double) * (size_t)(next_total ? next_total : 1));
      if (!next) st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory for %lld elements", (long long)next_total);
      else {
        apply_taps(&p, &t, cur, next, dims, d, p.out_dims[d]);
        free(cur);
        cur = next;
        cur_total = next_total;
        dims[d] = p.out_dims[d];
      }
    }
    free_taps(&t);
  }
  if (st == VITC_OK)
    for (int64_t i = 0; i < total; i++) vitc_store_f(&out[0], i, cur[i]);
  free(cur);
  return st;
}

/* vitc.ResizeTokens — the bilinear Resize of the image held by token rows, with their leading rows (a
 * class token) passed through, built by passes/fuse_token_image from CoaT's parallel blocks (tokens →
 * image → F.interpolate(bilinear) → tokens, the class token split off and concatenated back):
 *
 *   X [B, L + IH·IW, C], attrs image = [IH, IW], size = [OH, OW]        Y [B, L + OH·OW, C]
 *   Y[b, n < L, :] = X[b, n, :]
 *   Y[b, L + oy·OW + ox, :] = Σ taps of oy and ox (vitc_bilinear_taps) w_y·w_x · X[b, L + iy·IW + ix, :]
 *
 * Resize's value for mode "linear", coordinate_transformation_mode "half_pixel", no antialias, with the
 * scales OH/IH and OW/IW. Sums in double. */
void vitc_bilinear_taps(int64_t o, int64_t in_len, int64_t out_len, int64_t *i0, int64_t *i1, double *w1) {
  double x = ((double)o + 0.5) / ((double)out_len / (double)in_len) - 0.5, base = floor(x);
  int64_t b = (int64_t)base;
  *i0 = b < 0 ? 0 : b >= in_len ? in_len - 1 : b;
  *i1 = b + 1 < 0 ? 0 : b + 1 >= in_len ? in_len - 1 : b + 1;
  *w1 = x - base;
}

/* The image and output sizes of n on x, checked. */
static vitc_status token_sizes(const vitc_node *n, const vitc_value *x, int64_t *ih, int64_t *iw, int64_t *oh,
                               int64_t *ow, int64_t *lead, vitc_error *err) {
  int li, ls;
  const int64_t *image = vitc_attr_ints(n, "image", &li), *size = vitc_attr_ints(n, "size", &ls);
  if (x->dtype != VITC_F32) return vitc_fail(err, VITC_ERR_UNSUPPORTED, "ResizeTokens runs on float32 only");
  if (x->rank != 3 || !image || li != 2 || !size || ls != 2 || image[0] < 1 || image[1] < 1 || size[0] < 1 ||
      size[1] < 1 || x->dims[1] < image[0] * image[1])
    return vitc_fail(err, VITC_ERR_INVALID, "ResizeTokens needs X [B, L + IH·IW, C], image = [IH, IW] and size = [OH, OW]");
  *ih = image[0], *iw = image[1], *oh = size[0], *ow = size[1];
  *lead = x->dims[1] - *ih * *iw;
  return VITC_OK;
}

vitc_status shape_resize_tokens(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  int64_t ih, iw, oh, ow, lead;
  vitc_status st = token_sizes(n, in[0], &ih, &iw, &oh, &ow, &lead, err);
  if (st != VITC_OK) return st;
  vitc_copy_type(&out[0], in[0]);
  out[0].dims[1] = lead + oh * ow;
  return VITC_OK;
}

vitc_status eval_ResizeTokens(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  const vitc_value *x = in[0];
  int64_t ih, iw, oh, ow, lead;
  vitc_status st = token_sizes(n, x, &ih, &iw, &oh, &ow, &lead, err);
  if (st != VITC_OK) return st;
  int64_t c = x->dims[2], in_rows = lead + ih * iw, out_rows = lead + oh * ow;
  for (int64_t b = 0; b < x->dims[0]; b++) {
    const float *xb = (const float *)x->data + b * in_rows * c, *img = xb + lead * c;
    float *yb = (float *)out->data + b * out_rows * c;
    memcpy(yb, xb, sizeof(float) * (size_t)(lead * c));
    for (int64_t oy = 0; oy < oh; oy++) {
      int64_t y[2];
      double wy;
      vitc_bilinear_taps(oy, ih, oh, &y[0], &y[1], &wy);
      for (int64_t ox = 0; ox < ow; ox++) {
        int64_t xs[2];
        double wx;
        vitc_bilinear_taps(ox, iw, ow, &xs[0], &xs[1], &wx);
        float *row = yb + (lead + oy * ow + ox) * c;
        for (int64_t ch = 0; ch < c; ch++) {
          double top = (1 - wx) * img[(y[0] * iw + xs[0]) * c + ch] + wx * img[(y[0] * iw + xs[1]) * c + ch];
          double bottom = (1 - wx) * img[(y[1] * iw + xs[0]) * c + ch] + wx * img[(y[1] * iw + xs[1]) * c + ch];
          row[ch] = (float)((1 - wy) * top + wy * bottom);
        }
      }
    }
  }
  return VITC_OK;
}

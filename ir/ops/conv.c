/* conv.c — Conv and ConvTranspose over 1-D, 2-D and 3-D inputs, with groups, dilations, strides, pads,
 * auto_pad; ConvTranspose also output_padding and output_shape. Also the window geometry (ir.h) that the
 * pools and the backend's kernels share.
 *
 * float32 Conv is im2col + the blocked GEMM, per image and group:
 *     Y_g[Mg, P] = W_g[Mg, Cg*K] x col[Cg*K, P]      col[(c,k), p] = X_g[c, p*stride - pad + k*dilation]
 * built a slab of output columns at a time so col stays a few MB. A 1x1 stride-1 unpadded conv needs no
 * col at all (X_g is the matrix); a 2-D depthwise conv (one input and one output channel per group, e.g.
 * ConvNeXt's 7x7) is a direct loop instead, since its GEMMs would have a single row.
 * float32 ConvTranspose is the GEMM the other way round followed by col2im:
 *     col[Mg*K, Pin] = W_g^T x X_g,   Y_g[m, i*stride - pad + k*dilation] += col[(m,k), i]
 * Other dtypes run direct loops that accumulate in double. */
#include <stdlib.h>
#include <string.h>

#include "gemm_kernel.h"
#include "linalg_util.h"
#include "ops.h"

#define COL_BUDGET ((int64_t)1 << 22) /* floats of im2col scratch per slab (16 MB) */

/* ---------------------------------------------------------------- window geometry */

/* Reads an ints attribute of exactly `len` entries, each >= min, into out; absent means dflt everywhere. */
static vitc_status read_ints(const vitc_node *n, const char *name, int len, int64_t dflt, int64_t min,
                             int64_t *out, vitc_error *err) {
  int have;
  const int64_t *v = vitc_attr_ints(n, name, &have);
  if (v && have != len)
    return vitc_fail(err, VITC_ERR_INVALID, "%s has %d entries, expected %d", name, have, len);
  for (int i = 0; i < len; i++) {
    out[i] = v ? v[i] : dflt;
    if (out[i] < min)
      return vitc_fail(err, VITC_ERR_INVALID, "%s[%d] is %lld, must be >= %lld", name, i, (long long)out[i],
                       (long long)min);
  }
  return VITC_OK;
}

typedef enum auto_pad { PAD_NOTSET, PAD_SAME_UPPER, PAD_SAME_LOWER, PAD_VALID } auto_pad;

static vitc_status read_auto_pad(const vitc_node *n, auto_pad *out, vitc_error *err) {
  const char *s = vitc_attr_str(n, "auto_pad", "NOTSET");
  if (!strcmp(s, "NOTSET") || !*s) *out = PAD_NOTSET;
  else if (!strcmp(s, "SAME_UPPER")) *out = PAD_SAME_UPPER;
  else if (!strcmp(s, "SAME_LOWER")) *out = PAD_SAME_LOWER;
  else if (!strcmp(s, "VALID")) *out = PAD_VALID;
  else return vitc_fail(err, VITC_ERR_INVALID, "auto_pad '%s' is not NOTSET, SAME_UPPER, SAME_LOWER or VALID", s);
  return VITC_OK;
}

/* The reads shared by Conv, ConvTranspose and the pools: kernel (attribute or given), strides, dilations. */
static vitc_status read_window(const vitc_node *n, const vitc_value *x, const int64_t *kernel, vitc_window *w,
                               auto_pad *pad, int64_t *pads, vitc_error *err) {
  char sx[128];
  if (x->rank < 3 || x->rank > 5)
    return vitc_fail(err, VITC_ERR_UNSUPPORTED, "input %s is not [N, C, spatial] with 1 to 3 spatial dims",
                     vitc_value_type_str(x, sx, sizeof sx));
  w->nd = x->rank - 2;
  for (int d = 0; d < w->nd; d++) w->in[d] = x->dims[2 + d];
  int klen;
  const int64_t *kattr = vitc_attr_ints(n, "kernel_shape", &klen);
  if (!kattr && !kernel) return vitc_fail(err, VITC_ERR_INVALID, "kernel_shape is missing");
  if (kattr && klen != w->nd)
    return vitc_fail(err, VITC_ERR_INVALID, "kernel_shape has %d entries for %d spatial dims", klen, w->nd);
  for (int d = 0; d < w->nd; d++) {
    w->kernel[d] = kattr ? kattr[d] : kernel[d];
    if (w->kernel[d] < 1 || (kernel && kernel[d] != w->kernel[d]))
      return vitc_fail(err, VITC_ERR_INVALID, "kernel_shape[%d] = %lld does not match the weights' %lld", d,
                       (long long)w->kernel[d], (long long)(kernel ? kernel[d] : 1));
  }
  vitc_status st = read_ints(n, "strides", w->nd, 1, 1, w->stride, err);
  if (st == VITC_OK) st = read_ints(n, "dilations", w->nd, 1, 1, w->dilation, err);
  if (st == VITC_OK) st = read_auto_pad(n, pad, err);
  if (st == VITC_OK) st = read_ints(n, "pads", 2 * w->nd, 0, 0, pads, err);
  return st;
}

/* Fills in the products once the dims are known. */
static void window_planes(vitc_window *w) {
  w->in_plane = w->out_plane = w->taps = 1;
  for (int d = 0; d < w->nd; d++) {
    w->in_plane *= w->in[d];
    w->out_plane *= w->out[d];
    w->taps *= w->kernel[d];
  }
}

vitc_status vitc_window_geometry(const vitc_node *n, const vitc_value *x, const int64_t *kernel, bool ceil_mode,
                                 vitc_window *w, vitc_error *err) {
  auto_pad pad;
  int64_t pads[2 * VITC_MAX_RANK];
  vitc_status st = read_window(n, x, kernel, w, &pad, pads, err);
  if (st != VITC_OK) return st;
  for (int d = 0; d < w->nd; d++) {
    int64_t in = w->in[d], s = w->stride[d], span = (w->kernel[d] - 1) * w->dilation[d] + 1;
    if (pad == PAD_SAME_UPPER || pad == PAD_SAME_LOWER) {
      w->out[d] = (in + s - 1) / s;
      int64_t total = (w->out[d] - 1) * s + span - in;
      if (total < 0) total = 0;
      w->pad_begin[d] = pad == PAD_SAME_UPPER ? total / 2 : total - total / 2;
      w->pad_end[d] = total - w->pad_begin[d];
      continue;
    }
    w->pad_begin[d] = pad == PAD_VALID ? 0 : pads[d];
    w->pad_end[d] = pad == PAD_VALID ? 0 : pads[w->nd + d];
    int64_t room = in + w->pad_begin[d] + w->pad_end[d] - span;
    if (room < 0)
      return vitc_fail(err, VITC_ERR_INVALID, "window of %lld along spatial dim %d exceeds the padded input of %lld",
                       (long long)span, d, (long long)(in + w->pad_begin[d] + w->pad_end[d]));
    w->out[d] = (ceil_mode ? room + s - 1 : room) / s + 1;
    if (ceil_mode && (w->out[d] - 1) * s >= in + w->pad_begin[d]) w->out[d]--;
  }
  window_planes(w);
  return VITC_OK;
}

/* Row-major offset over dims `bound` of position idx*stride - pad_begin + k_idx*dilation; false when it
 * falls outside (into the padding). */
static bool window_offset(const vitc_window *w, const int64_t *idx, const int64_t *k_idx, const int64_t *bound,
                          int64_t *off) {
  int64_t o = 0;
  for (int d = 0; d < w->nd; d++) {
    int64_t i = idx[d] * w->stride[d] - w->pad_begin[d] + k_idx[d] * w->dilation[d];
    if (i < 0 || i >= bound[d]) return false;
    o = o * bound[d] + i;
  }
  *off = o;
  return true;
}

bool vitc_window_input_offset(const vitc_window *w, const int64_t *out_idx, const int64_t *k_idx, int64_t *off) {
  return window_offset(w, out_idx, k_idx, w->in, off);
}

int64_t vitc_window_taps_within(const vitc_window *w, int d, int64_t o, int64_t lo, int64_t hi) {
  int64_t count = 0;
  for (int64_t k = 0; k < w->kernel[d]; k++) {
    int64_t at = o * w->stride[d] - w->pad_begin[d] + k * w->dilation[d];
    count += at >= lo && at < hi;
  }
  return count;
}

bool vitc_next_index(int64_t *idx, const int64_t *dims, int nd) {
  for (int d = nd - 1; d >= 0; d--) {
    if (++idx[d] < dims[d]) return true;
    idx[d] = 0;
  }
  return false;
}

/* ---------------------------------------------------------------- Conv */

/* Conv's window and channels (vitc_conv_geometry_of checks the ranks and the bias). */
static vitc_status conv_analyse(const vitc_node *n, const vitc_value *const *in, vitc_conv_geometry *p,
                                vitc_error *err) {
  const vitc_value *x = in[0], *wt = in[1];
  char sw[128];
  vitc_status st = vitc_window_geometry(n, x, wt->dims + 2, false, &p->w, err);
  if (st != VITC_OK) return st;
  p->batch = x->dims[0];
  p->cin = x->dims[1];
  p->cout = wt->dims[0];
  p->group = vitc_attr_int(n, "group", 1);
  if (p->group < 1 || p->cin % p->group || p->cout % p->group || wt->dims[1] * p->group != p->cin)
    return vitc_fail(err, VITC_ERR_INVALID,
                     "Conv group %lld does not fit %lld input channels and weights %s (need [M, C/group, ...] "
                     "with C and M divisible by group)",
                     (long long)p->group, (long long)p->cin, vitc_value_type_str(wt, sw, sizeof sw));
  p->cin_g = p->cin / p->group;
  p->cout_g = p->cout / p->group;
  return VITC_OK;
}

static vitc_status check_dtypes(const vitc_node *n, const vitc_value *const *in, vitc_error *err) {
  vitc_status st = vitc_check_arith_dtype(in[0], "input", err);
  for (int i = 1; st == VITC_OK && i < n->nin; i++)
    if (in[i]) st = vitc_check_same_dtype(in[0], in[i], err);
  return st;
}

/* col[(c*K + k) * count + j] = x[c][input of output position first+j under kernel tap k], 0 in padding.
 * Walks output positions a run along the last spatial dim at a time. */
static void im2col(float *col, const float *x, const vitc_window *w, int64_t channels, int64_t first,
                   int64_t count) {
  int nd = w->nd, last = nd - 1;
  int64_t ktotal = w->taps, plane = w->in_plane;
  for (int64_t c = 0; c < channels; c++)
    for (int64_t k = 0; k < ktotal; k++) {
      int64_t kidx[VITC_MAX_RANK], oidx[VITC_MAX_RANK];
      int64_t rest = k;
      for (int d = last; d >= 0; d--) {
        kidx[d] = rest % w->kernel[d];
        rest /= w->kernel[d];
      }
      rest = first;
      for (int d = last; d >= 0; d--) {
        oidx[d] = rest % w->out[d];
        rest /= w->out[d];
      }
      float *dst = col + (c * ktotal + k) * count;
      const float *xc = x + c * plane;
      int64_t s = w->stride[last], shift = kidx[last] * w->dilation[last] - w->pad_begin[last], in_last = w->in[last];
      for (int64_t done = 0; done < count;) {
        int64_t off = 0;
        bool inside = true;
        for (int d = 0; d < last; d++) {
          int64_t i = oidx[d] * w->stride[d] - w->pad_begin[d] + kidx[d] * w->dilation[d];
          inside &= i >= 0 && i < w->in[d];
          off = off * w->in[d] + i;
        }
        int64_t run = w->out[last] - oidx[last];
        if (run > count - done) run = count - done;
        if (!inside) {
          memset(dst + done, 0, sizeof(float) * (size_t)run);
        } else {
          const float *row = xc + off * in_last;
          for (int64_t j = 0; j < run; j++) {
            int64_t i = (oidx[last] + j) * s + shift;
            dst[done + j] = i >= 0 && i < in_last ? row[i] : 0.0f;
          }
        }
        done += run;
        oidx[last] += run - 1;
        vitc_next_index(oidx, w->out, nd);
      }
    }
}

/* 2-D depthwise: y[c] = sum over taps of w[c, tap] * shifted x[c], the inner loop contiguous for stride 1. */
static void depthwise_2d(const vitc_conv_geometry *p, const float *x, const float *wt, const float *bias,
                         float *y) {
  const vitc_window *w = &p->w;
  int64_t ih = w->in[0], iw = w->in[1], oh = w->out[0], ow = w->out[1], kh = w->kernel[0], kw = w->kernel[1];
  int64_t sh = w->stride[0], sw = w->stride[1];
  for (int64_t bc = 0; bc < p->batch * p->cout; bc++) {
    int64_t c = bc % p->cout;
    const float *xc = x + bc * ih * iw, *wc = wt + c * kh * kw;
    float *yc = y + bc * oh * ow;
    for (int64_t i = 0; i < oh * ow; i++) yc[i] = bias ? bias[c] : 0.0f;
    for (int64_t ky = 0; ky < kh; ky++)
      for (int64_t kx = 0; kx < kw; kx++) {
        float wv = wc[ky * kw + kx];
        int64_t shift = kx * w->dilation[1] - w->pad_begin[1];
        /* ox range with 0 <= ox*sw + shift < iw */
        int64_t lo = shift >= 0 ? 0 : (-shift + sw - 1) / sw;
        int64_t hi = iw - 1 - shift < 0 ? 0 : (iw - 1 - shift) / sw + 1;
        if (hi > ow) hi = ow;
        for (int64_t oy = 0; oy < oh; oy++) {
          int64_t iy = oy * sh - w->pad_begin[0] + ky * w->dilation[0];
          if (iy < 0 || iy >= ih) continue;
          const float *row = xc + iy * iw;
          float *yrow = yc + oy * ow;
          if (sw == 1)
            for (int64_t ox = lo; ox < hi; ox++) yrow[ox] += wv * row[ox + shift];
          else
            for (int64_t ox = lo; ox < hi; ox++) yrow[ox] += wv * row[ox * sw + shift];
        }
      }
  }
}

static vitc_status conv_f32(const vitc_conv_geometry *p, const vitc_value *const *in, const vitc_value *bias_v,
                            vitc_value *out, vitc_error *err) {
  const vitc_window *w = &p->w;
  const float *x = in[0]->data, *wt = in[1]->data, *bias = bias_v ? bias_v->data : NULL;
  float *y = out->data;
  if (w->nd == 2 && p->cin_g == 1 && p->cout_g == 1) {
    depthwise_2d(p, x, wt, bias, y);
    return VITC_OK;
  }
  int64_t plane_in = w->in_plane, plane_out = w->out_plane, ktotal = w->taps;
  int64_t rows = p->cin_g * ktotal; /* the GEMM's K */
  bool pointwise = ktotal == 1;
  for (int d = 0; d < w->nd; d++) pointwise &= w->stride[d] == 1 && w->pad_begin[d] == 0 && w->pad_end[d] == 0;
  int64_t slab = pointwise ? 0 : COL_BUDGET / (rows ? rows : 1);
  if (!pointwise && slab < 256) slab = 256;
  if (slab > plane_out) slab = plane_out;
  float *col = pointwise ? NULL : malloc(sizeof(float) * (size_t)(rows * slab > 0 ? rows * slab : 1));
  if (!pointwise && !col) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory for the im2col buffer");
  bool ok = true;
  for (int64_t b = 0; b < p->batch && ok; b++)
    for (int64_t g = 0; g < p->group && ok; g++) {
      const float *xg = x + (b * p->cin + g * p->cin_g) * plane_in;
      const float *wg = wt + g * p->cout_g * rows;
      float *yg = y + (b * p->cout + g * p->cout_g) * plane_out;
      if (pointwise) {
        ok = vitc_sgemm(p->cout_g, plane_out, rows, 1.0f, vitc_fmat_rows(wg, rows), vitc_fmat_rows(xg, plane_in),
                        0.0f, yg, plane_out);
        continue;
      }
      for (int64_t first = 0; first < plane_out && ok; first += slab) {
        int64_t count = plane_out - first < slab ? plane_out - first : slab;
        im2col(col, xg, w, p->cin_g, first, count);
        ok = vitc_sgemm(p->cout_g, count, rows, 1.0f, vitc_fmat_rows(wg, rows), vitc_fmat_rows(col, count), 0.0f,
                        yg + first, plane_out);
      }
    }
  free(col);
  if (!ok) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory for GEMM packing buffers");
  if (bias)
    for (int64_t bm = 0; bm < p->batch * p->cout; bm++) {
      float bv = bias[bm % p->cout], *yp = y + bm * plane_out;
      for (int64_t i = 0; i < plane_out; i++) yp[i] += bv;
    }
  return VITC_OK;
}

/* Every dtype: one double sum per output element. */
static void conv_generic(const vitc_conv_geometry *p, const vitc_value *const *in, const vitc_value *bias,
                         vitc_value *out) {
  const vitc_window *w = &p->w;
  int64_t plane_in = w->in_plane, plane_out = w->out_plane, ktotal = w->taps;
  int64_t at = 0;
  for (int64_t b = 0; b < p->batch; b++)
    for (int64_t m = 0; m < p->cout; m++) {
      int64_t g = m / p->cout_g, oidx[VITC_MAX_RANK] = {0};
      for (int64_t o = 0; o < plane_out; o++, at++) {
        double s = bias ? vitc_load_f(bias, m) : 0;
        for (int64_t c = 0; c < p->cin_g; c++) {
          int64_t kidx[VITC_MAX_RANK] = {0}, x_base = (b * p->cin + g * p->cin_g + c) * plane_in;
          int64_t w_base = (m * p->cin_g + c) * ktotal;
          for (int64_t k = 0; k < ktotal; k++, vitc_next_index(kidx, w->kernel, w->nd)) {
            int64_t off;
            if (vitc_window_input_offset(w, oidx, kidx, &off))
              s += vitc_load_f(in[0], x_base + off) * vitc_load_f(in[1], w_base + k);
          }
        }
        vitc_store_f(out, at, s);
        vitc_next_index(oidx, w->out, w->nd);
      }
    }
}

vitc_status eval_Conv(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  vitc_conv_geometry p;
  vitc_status st = vitc_conv_geometry_of(n, in, &p, err);
  if (st != VITC_OK) return st;
  const vitc_value *bias = n->nin > 2 ? in[2] : NULL;
  if (in[0]->dtype == VITC_F32) return conv_f32(&p, in, bias, out, err);
  conv_generic(&p, in, bias, out);
  return VITC_OK;
}

double flops_conv(const vitc_node *n, const vitc_value *const *in, const vitc_value *out) {
  const vitc_value *wt = in[1];
  return 2.0 * (double)vitc_numel(&out[0]) * (double)(vitc_numel(wt) / (wt->dims[0] ? wt->dims[0] : 1));
}

/* ---------------------------------------------------------------- ConvTranspose */

/* For ConvTranspose the window runs from the output back to the input: w.in holds the input dims,
 * w.out the output dims, and input position i feeds output i*stride - pad_begin + k*dilation. */
static vitc_status conv_transpose_analyse(const vitc_node *n, const vitc_value *const *in, vitc_conv_geometry *p,
                                          vitc_error *err) {
  const vitc_value *x = in[0], *wt = in[1];
  char sw[128];
  vitc_window *w = &p->w;
  auto_pad pad;
  int64_t pads[2 * VITC_MAX_RANK], out_pad[VITC_MAX_RANK];
  vitc_status st = read_window(n, x, wt->dims + 2, w, &pad, pads, err);
  if (st == VITC_OK) st = read_ints(n, "output_padding", w->nd, 0, 0, out_pad, err);
  if (st != VITC_OK) return st;
  int oslen;
  const int64_t *out_shape = vitc_attr_ints(n, "output_shape", &oslen);
  if (out_shape && oslen != w->nd && oslen != x->rank)
    return vitc_fail(err, VITC_ERR_INVALID, "output_shape has %d entries for %d spatial dims", oslen, w->nd);
  for (int d = 0; d < w->nd; d++) {
    int64_t full = w->stride[d] * (w->in[d] - 1) + out_pad[d] + (w->kernel[d] - 1) * w->dilation[d] + 1;
    if (out_shape || pad == PAD_SAME_UPPER || pad == PAD_SAME_LOWER) {
      w->out[d] = out_shape ? out_shape[oslen - w->nd + d] : w->in[d] * w->stride[d];
      int64_t total = full - w->out[d]; /* an output larger than full gets zeros at its end, as in onnx */
      if (total < 0) total = 0;
      w->pad_begin[d] = pad == PAD_SAME_UPPER ? total / 2 : total - total / 2;
      w->pad_end[d] = total - w->pad_begin[d];
    } else {
      w->pad_begin[d] = pad == PAD_VALID ? 0 : pads[d];
      w->pad_end[d] = pad == PAD_VALID ? 0 : pads[w->nd + d];
      w->out[d] = full - w->pad_begin[d] - w->pad_end[d];
    }
    if (w->out[d] < 0)
      return vitc_fail(err, VITC_ERR_INVALID, "ConvTranspose output dim %d would be %lld", d, (long long)w->out[d]);
  }
  window_planes(w);
  p->batch = x->dims[0];
  p->cin = x->dims[1];
  p->group = vitc_attr_int(n, "group", 1);
  if (p->group < 1 || wt->dims[0] != p->cin || p->cin % p->group)
    return vitc_fail(err, VITC_ERR_INVALID,
                     "ConvTranspose group %lld does not fit %lld input channels and weights %s (need [C, M/group, "
                     "...] with C divisible by group)",
                     (long long)p->group, (long long)p->cin, vitc_value_type_str(wt, sw, sizeof sw));
  p->cin_g = p->cin / p->group;
  p->cout_g = wt->dims[1];
  p->cout = p->cout_g * p->group;
  return VITC_OK;
}

vitc_status eval_ConvTranspose(const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                               vitc_error *err) {
  vitc_conv_geometry p;
  vitc_status st = vitc_conv_geometry_of(n, in, &p, err);
  if (st != VITC_OK) return st;
  const vitc_window *w = &p.w;
  const vitc_value *bias = n->nin > 2 ? in[2] : NULL;
  int64_t plane_in = w->in_plane, plane_out = w->out_plane, ktotal = w->taps;
  int64_t rows = p.cout_g * ktotal, nout = vitc_numel(out), ncol = rows * plane_in;
  bool f32 = in[0]->dtype == VITC_F32;
  /* f32 accumulates in place; other dtypes in a double buffer stored once at the end */
  double *acc = f32 ? NULL : malloc(sizeof(double) * (size_t)(nout ? nout : 1));
  float *col = f32 ? malloc(sizeof(float) * (size_t)(ncol > 0 ? ncol : 1)) : NULL;
  if (f32 ? !col : !acc) {
    free(acc);
    return vitc_fail(err, VITC_ERR_NOMEM, "out of memory in ConvTranspose");
  }
  float *y = out->data;
  for (int64_t i = 0; i < nout; i++) {
    double b = bias ? vitc_load_f(bias, i / plane_out % p.cout) : 0;
    if (f32) y[i] = (float)b;
    else acc[i] = b;
  }
  for (int64_t b = 0; b < p.batch; b++)
    for (int64_t g = 0; g < p.group; g++) {
      int64_t x_base = (b * p.cin + g * p.cin_g) * plane_in, w_base = g * p.cin_g * rows;
      int64_t y_base = (b * p.cout + g * p.cout_g) * plane_out;
      if (f32) {
        vitc_fmat wt_t = {(const float *)in[1]->data + w_base, 1, rows};
        if (!vitc_sgemm(rows, plane_in, p.cin_g, 1.0f, wt_t, vitc_fmat_rows((const float *)in[0]->data + x_base, plane_in),
                        0.0f, col, plane_in)) {
          free(col);
          return vitc_fail(err, VITC_ERR_NOMEM, "out of memory for GEMM packing buffers");
        }
      }
      for (int64_t m = 0; m < p.cout_g; m++) {
        int64_t kidx[VITC_MAX_RANK] = {0};
        for (int64_t k = 0; k < ktotal; k++, vitc_next_index(kidx, w->kernel, w->nd)) {
          int64_t iidx[VITC_MAX_RANK] = {0}, off;
          for (int64_t i = 0; i < plane_in; i++, vitc_next_index(iidx, w->in, w->nd)) {
            if (!window_offset(w, iidx, kidx, w->out, &off)) continue; /* the output fed, or cropped */
            int64_t at = y_base + m * plane_out + off;
            if (f32) {
              y[at] += col[(m * ktotal + k) * plane_in + i];
              continue;
            }
            double s = 0;
            for (int64_t c = 0; c < p.cin_g; c++)
              s += vitc_load_f(in[0], x_base + c * plane_in + i) * vitc_load_f(in[1], w_base + c * rows + m * ktotal + k);
            acc[at] += s;
          }
        }
      }
    }
  if (!f32)
    for (int64_t i = 0; i < nout; i++) vitc_store_f(out, i, acc[i]);
  free(acc);
  free(col);
  return VITC_OK;
}

double flops_conv_transpose(const vitc_node *n, const vitc_value *const *in, const vitc_value *out) {
  const vitc_value *wt = in[1];
  return 2.0 * (double)vitc_numel(in[0]) * (double)(vitc_numel(wt) / (wt->dims[0] ? wt->dims[0] : 1));
}

/* ---------------------------------------------------------------- both */

vitc_status vitc_conv_geometry_of(const vitc_node *n, const vitc_value *const *in, vitc_conv_geometry *c,
                                  vitc_error *err) {
  const vitc_value *x = in[0], *wt = in[1], *b = n->nin > 2 ? in[2] : NULL;
  const char *op = vitc_ops[n->op].name;
  char sx[128], sw[128];
  if (wt->rank != x->rank)
    return vitc_fail(err, VITC_ERR_INVALID, "%s weights %s do not match input %s in rank", op,
                     vitc_value_type_str(wt, sw, sizeof sw), vitc_value_type_str(x, sx, sizeof sx));
  vitc_status st = n->op == VITC_OP_ConvTranspose ? conv_transpose_analyse(n, in, c, err) : conv_analyse(n, in, c, err);
  if (st == VITC_OK && b && !vitc_is_vector(b, c->cout))
    return vitc_fail(err, VITC_ERR_INVALID, "%s bias %s is not [%lld]", op, vitc_value_type_str(b, sx, sizeof sx),
                     (long long)c->cout);
  return st;
}

bool vitc_conv_pointwise(const vitc_conv_geometry *c) {
  bool pointwise = c->w.taps == 1;
  for (int d = 0; d < c->w.nd; d++) pointwise &= c->w.stride[d] == 1 && c->w.pad_begin[d] == 0 && c->w.pad_end[d] == 0;
  return pointwise;
}

/* The shape rule of Conv and ConvTranspose: [N, M, output spatial..]. */
vitc_status shape_conv(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  vitc_conv_geometry p;
  vitc_status st = check_dtypes(n, in, err);
  if (st == VITC_OK) st = vitc_conv_geometry_of(n, in, &p, err);
  if (st != VITC_OK) return st;
  out->dtype = in[0]->dtype;
  out->rank = in[0]->rank;
  out->dims[0] = p.batch;
  out->dims[1] = p.cout;
  for (int d = 0; d < p.w.nd; d++) out->dims[2 + d] = p.w.out[d];
  return VITC_OK;
}

/* pool.c — AveragePool, MaxPool (with its optional Indices output) and the global pools, over 1 to 3
 * spatial dims, sharing Conv's window geometry (vitc_window_geometry in conv.c).
 *
 * AveragePool divides by the taps inside the input, or with count_include_pad by the taps inside the
 * padded input — a ceil_mode window that hangs past the end pad does not count that overhang, as in
 * onnxruntime. MaxPool ignores padding; Indices are flat offsets into X, the spatial part row-major
 * (storage_order 0) or column-major (1). Values go through double: pools are not where time is spent. */
#include <math.h>

#include "linalg_util.h"
#include "ops.h"

static inline double load(const vitc_value *v, int64_t i) {
  return v->dtype == VITC_F32 ? ((const float *)v->data)[i] : vitc_load_f(v, i);
}

static inline void store(vitc_value *v, int64_t i, double x) {
  if (v->dtype == VITC_F32) ((float *)v->data)[i] = (float)x;
  else vitc_store_f(v, i, x);
}

static int64_t prod(const int64_t *v, int n) {
  int64_t p = 1;
  for (int i = 0; i < n; i++) p *= v[i];
  return p;
}

static vitc_status pool_analyse(const vitc_node *n, const vitc_value *x, vitc_window *w, vitc_error *err) {
  vitc_status st = vitc_check_arith_dtype(x, "pool input", err);
  if (st != VITC_OK) return st;
  int64_t storage_order = vitc_attr_int(n, "storage_order", 0);
  if (storage_order != 0 && storage_order != 1)
    return vitc_fail(err, VITC_ERR_INVALID, "storage_order is %lld, not 0 or 1", (long long)storage_order);
  return vitc_window_geometry(n, x, NULL, vitc_attr_int(n, "ceil_mode", 0) != 0, w, err);
}

vitc_status shape_pool(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  vitc_window w;
  vitc_status st = pool_analyse(n, in[0], &w, err);
  if (st != VITC_OK) return st;
  for (int k = 0; k < n->nout; k++) {
    out[k].dtype = k == 0 ? in[0]->dtype : VITC_I64;
    out[k].rank = in[0]->rank;
    out[k].dims[0] = in[0]->dims[0];
    out[k].dims[1] = in[0]->dims[1];
    for (int d = 0; d < w.nd; d++) out[k].dims[2 + d] = w.out[d];
  }
  return VITC_OK;
}

/* Number of taps of the window at out_idx that lie inside the padded input [-pad_begin, in + pad_end). */
static int64_t taps_in_padded_input(const vitc_window *w, const int64_t *out_idx) {
  int64_t count = 1;
  for (int d = 0; d < w->nd; d++) count *= vitc_window_taps_within(w, d, out_idx[d], -w->pad_begin[d], w->in[d] + w->pad_end[d]);
  return count;
}

vitc_status eval_AveragePool(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  vitc_window w;
  vitc_status st = pool_analyse(n, in[0], &w, err);
  if (st != VITC_OK) return st;
  bool include_pad = vitc_attr_int(n, "count_include_pad", 0) != 0;
  int64_t planes = in[0]->dims[0] * in[0]->dims[1], plane_in = w.in_plane, plane_out = w.out_plane;
  int64_t ktotal = w.taps, at = 0;
  for (int64_t pl = 0; pl < planes; pl++) {
    int64_t oidx[VITC_MAX_RANK] = {0};
    for (int64_t o = 0; o < plane_out; o++, at++, vitc_next_index(oidx, w.out, w.nd)) {
      int64_t kidx[VITC_MAX_RANK] = {0}, inside = 0, off;
      double s = 0;
      for (int64_t k = 0; k < ktotal; k++, vitc_next_index(kidx, w.kernel, w.nd))
        if (vitc_window_input_offset(&w, oidx, kidx, &off)) {
          s += load(in[0], pl * plane_in + off);
          inside++;
        }
      int64_t divisor = include_pad ? taps_in_padded_input(&w, oidx) : inside;
      store(&out[0], at, divisor ? s / (double)divisor : 0);
    }
  }
  return VITC_OK;
}

/* Flat offset of spatial position (window input index, row-major `off`) in storage order: column-major
 * reverses the roles of the dims. */
static int64_t column_major(const vitc_window *w, int64_t off) {
  int64_t idx[VITC_MAX_RANK], r = 0;
  for (int d = w->nd - 1; d >= 0; d--) {
    idx[d] = off % w->in[d];
    off /= w->in[d];
  }
  for (int d = w->nd - 1; d >= 0; d--) r = r * w->in[d] + idx[d];
  return r;
}

vitc_status eval_MaxPool(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  vitc_window w;
  vitc_status st = pool_analyse(n, in[0], &w, err);
  if (st != VITC_OK) return st;
  bool want_indices = n->nout > 1, col_major = vitc_attr_int(n, "storage_order", 0) == 1;
  int64_t planes = in[0]->dims[0] * in[0]->dims[1], plane_in = w.in_plane, plane_out = w.out_plane;
  int64_t ktotal = w.taps, at = 0;
  for (int64_t pl = 0; pl < planes; pl++) {
    int64_t oidx[VITC_MAX_RANK] = {0};
    for (int64_t o = 0; o < plane_out; o++, at++, vitc_next_index(oidx, w.out, w.nd)) {
      int64_t kidx[VITC_MAX_RANK] = {0}, best_off = -1, off;
      double best = -INFINITY;
      for (int64_t k = 0; k < ktotal; k++, vitc_next_index(kidx, w.kernel, w.nd))
        if (vitc_window_input_offset(&w, oidx, kidx, &off)) {
          double v = load(in[0], pl * plane_in + off);
          if (v > best || best_off < 0) {
            best = v;
            best_off = off;
          }
        }
      store(&out[0], at, best);
      if (want_indices)
        ((int64_t *)out[1].data)[at] = best_off < 0 ? -1 : pl * plane_in + (col_major ? column_major(&w, best_off) : best_off);
    }
  }
  return VITC_OK;
}

double flops_pool(const vitc_node *n, const vitc_value *const *in, const vitc_value *out) {
  int klen;
  const int64_t *k = vitc_attr_ints(n, "kernel_shape", &klen);
  return (double)vitc_numel(&out[0]) * (double)prod(k, klen);
}

/* ---------------------------------------------------------------- global pools */

vitc_status shape_global_pool(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  char sx[128];
  vitc_status st = vitc_check_arith_dtype(in[0], "pool input", err);
  if (st != VITC_OK) return st;
  if (in[0]->rank < 3)
    return vitc_fail(err, VITC_ERR_INVALID, "global pool input %s is not [N, C, spatial...]",
                     vitc_value_type_str(in[0], sx, sizeof sx));
  vitc_copy_type(out, in[0]);
  for (int d = 2; d < out->rank; d++) out->dims[d] = 1;
  return VITC_OK;
}

static void global_pool(const vitc_value *x, vitc_value *out, bool average) {
  int64_t planes = x->dims[0] * x->dims[1], plane = prod(x->dims + 2, x->rank - 2);
  for (int64_t pl = 0; pl < planes; pl++) {
    double acc = average ? 0 : -INFINITY;
    for (int64_t i = 0; i < plane; i++) {
      double v = load(x, pl * plane + i);
      acc = average ? acc + v : v > acc ? v : acc;
    }
    store(out, pl, average ? (plane ? acc / (double)plane : 0) : acc);
  }
}

vitc_status eval_GlobalAveragePool(const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                                   vitc_error *err) {
  global_pool(in[0], out, true);
  return VITC_OK;
}

vitc_status eval_GlobalMaxPool(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  global_pool(in[0], out, false);
  return VITC_OK;
}

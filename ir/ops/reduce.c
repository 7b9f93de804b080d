/* reduce.c — ops that fold a tensor along axes: ReduceSum … ReduceLogSumExp, ArgMax/ArgMin, the softmax
 * family, TopK and CumSum.
 *
 * Arithmetic goes through double whatever the element type. The evaluator runs ViT-style models through
 * ReduceMean and Softmax on every block, so float32 over the innermost axis (and the softmax family over
 * any axis) has typed loops; every other case goes through vitc_load_f / vitc_store_f. Integer
 * reductions are exact up to 2^53. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

/* ================================================================ Reduce* */

typedef enum reduce_kind {
  REDUCE_SUM,
  REDUCE_MEAN,
  REDUCE_MAX,
  REDUCE_MIN,
  REDUCE_PROD,
  REDUCE_L1,
  REDUCE_L2,
  REDUCE_SUM_SQUARE,
  REDUCE_LOG_SUM,
  REDUCE_LOG_SUM_EXP,
} reduce_kind;

/* The smallest and largest value of an element type: Max and Min of nothing. */
static double dtype_lowest(vitc_dtype t) {
  switch (t) {
  case VITC_I8: return INT8_MIN;
  case VITC_I16: return INT16_MIN;
  case VITC_I32: return INT32_MIN;
  case VITC_I64: return (double)INT64_MIN;
  case VITC_U8: case VITC_U16: case VITC_U32: case VITC_U64: case VITC_BOOL: return 0;
  default: return -INFINITY;
  }
}

static double dtype_highest(vitc_dtype t) {
  switch (t) {
  case VITC_I8: return INT8_MAX;
  case VITC_I16: return INT16_MAX;
  case VITC_I32: return INT32_MAX;
  case VITC_I64: return 9223372036854775807.0;
  case VITC_U8: return UINT8_MAX;
  case VITC_U16: return UINT16_MAX;
  case VITC_U32: return UINT32_MAX;
  case VITC_U64: return 18446744073709551615.0;
  case VITC_BOOL: return 1;
  default: return INFINITY;
  }
}

static double reduce_identity(reduce_kind k, vitc_dtype t) {
  switch (k) {
  case REDUCE_PROD: return 1;
  case REDUCE_MAX: return dtype_lowest(t);
  case REDUCE_MIN: return dtype_highest(t);
  default: return 0;
  }
}

/* What one element contributes; shift is the slice's maximum for LogSumExp (exp would overflow). */
static inline double reduce_map(reduce_kind k, double v, double shift) {
  switch (k) {
  case REDUCE_L1: return fabs(v);
  case REDUCE_L2: case REDUCE_SUM_SQUARE: return v * v;
  case REDUCE_LOG_SUM_EXP: return exp(v - shift);
  default: return v;
  }
}

/* Max and Min propagate NaN, as numpy does. */
static inline double reduce_fold(reduce_kind k, double acc, double v) {
  switch (k) {
  case REDUCE_MAX: return v > acc || isnan(v) ? v : acc;
  case REDUCE_MIN: return v < acc || isnan(v) ? v : acc;
  case REDUCE_PROD: return acc * v;
  default: return acc + v;
  }
}

static double reduce_finish(reduce_kind k, double acc, double shift, int64_t count) {
  switch (k) {
  case REDUCE_MEAN: return acc / (double)count;
  case REDUCE_L2: return sqrt(acc);
  case REDUCE_LOG_SUM: return log(acc);
  case REDUCE_LOG_SUM_EXP: return log(acc) + shift;
  default: return acc;
  }
}

/* An infinite maximum would make exp(v - shift) NaN; shifting by 0 then gives the right infinity. */
static double lse_shift(double max) { return isfinite(max) ? max : 0; }

static inline double load_f32_or_any(const vitc_value *v, int64_t i) {
  return v->dtype == VITC_F32 ? ((const float *)v->data)[i] : vitc_load_f(v, i);
}

/* Reduces the contiguous elements x[start, start + len). */
static double reduce_row(reduce_kind k, const vitc_value *x, int64_t start, int64_t len) {
  if (x->dtype == VITC_F32 && (k == REDUCE_SUM || k == REDUCE_MEAN)) {
    const float *p = (const float *)x->data + start;
    double sum = 0;
    for (int64_t j = 0; j < len; j++) sum += p[j];
    return k == REDUCE_MEAN ? sum / (double)len : sum;
  }
  double shift = 0;
  if (k == REDUCE_LOG_SUM_EXP) {
    double max = -INFINITY;
    for (int64_t j = 0; j < len; j++) max = reduce_fold(REDUCE_MAX, max, load_f32_or_any(x, start + j));
    shift = lse_shift(max);
  }
  double acc = reduce_identity(k, x->dtype);
  for (int64_t j = 0; j < len; j++) acc = reduce_fold(k, acc, reduce_map(k, load_f32_or_any(x, start + j), shift));
  return reduce_finish(k, acc, shift, len);
}

/* Walks a tensor in row-major order while tracking the offset of the current element in an output
 * whose strides are 0 along the reduced axes. */
typedef struct odometer {
  int rank;
  int64_t dims[VITC_MAX_RANK], idx[VITC_MAX_RANK], out_strides[VITC_MAX_RANK];
  int64_t out_offset;
} odometer;

static void odometer_init(odometer *o, const vitc_value *x, const bool *reduced) {
  int64_t kept[VITC_MAX_RANK];
  memset(o, 0, sizeof *o);
  o->rank = x->rank;
  for (int d = 0; d < x->rank; d++) {
    o->dims[d] = x->dims[d];
    kept[d] = reduced[d] ? 1 : x->dims[d];
  }
  vitc_contiguous_strides(kept, x->rank, o->out_strides);
  for (int d = 0; d < x->rank; d++)
    if (reduced[d]) o->out_strides[d] = 0;
}

static void odometer_next(odometer *o) {
  for (int d = o->rank - 1; d >= 0; d--) {
    o->out_offset += o->out_strides[d];
    if (++o->idx[d] < o->dims[d]) return;
    o->out_offset -= o->out_strides[d] * o->dims[d];
    o->idx[d] = 0;
  }
}

/* Which axes a Reduce* node folds: those of input 1, or all of them when it is absent or empty —
 * unless noop_with_empty_axes, which reduces over no axis at all (each element on its own). */
static vitc_status reduced_axes(const vitc_node *n, const vitc_value *const *in, bool *reduced, vitc_error *err) {
  const vitc_value *x = in[0];
  const vitc_value *axes_in = n->nin > 1 ? in[1] : NULL;
  bool no_axes = !axes_in || vitc_numel(axes_in) == 0;
  for (int d = 0; d < x->rank; d++) reduced[d] = no_axes && !vitc_attr_int(n, "noop_with_empty_axes", 0);
  if (no_axes) return VITC_OK;
  int64_t axes[VITC_MAX_RANK];
  int naxes;
  vitc_status st = vitc_read_int_list(axes_in, "axes", axes, VITC_MAX_RANK, &naxes, err);
  if (st != VITC_OK) return st;
  for (int i = 0; i < naxes; i++) {
    int a;
    if ((st = vitc_normalize_axis(axes[i], x->rank, &a, err)) != VITC_OK) return st;
    if (reduced[a]) return vitc_fail(err, VITC_ERR_INVALID, "axis %lld is listed twice in axes", (long long)axes[i]);
    reduced[a] = true;
  }
  return VITC_OK;
}

vitc_status shape_reduce(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  bool reduced[VITC_MAX_RANK];
  vitc_status st = reduced_axes(n, in, reduced, err);
  if (st != VITC_OK) return st;
  bool keepdims = vitc_attr_int(n, "keepdims", 1) != 0;
  out[0].dtype = in[0]->dtype;
  out[0].rank = 0;
  for (int d = 0; d < in[0]->rank; d++) {
    if (!reduced[d]) out[0].dims[out[0].rank++] = in[0]->dims[d];
    else if (keepdims) out[0].dims[out[0].rank++] = 1;
  }
  return VITC_OK;
}

static vitc_status eval_reduce(reduce_kind k, const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                               vitc_error *err) {
  const vitc_value *x = in[0];
  bool reduced[VITC_MAX_RANK];
  vitc_status st = reduced_axes(n, in, reduced, err);
  if (st != VITC_OK) return st;
  int64_t nout = vitc_numel(&out[0]), nin = vitc_numel(x), count = 1;
  for (int d = 0; d < x->rank; d++)
    if (reduced[d]) count *= x->dims[d];
  if (nout == 0) return VITC_OK;

  /* When the reduced axes are the trailing ones, every output element folds one contiguous row. */
  bool trailing = true;
  for (int d = 0; d + 1 < x->rank; d++) trailing &= !reduced[d] || reduced[d + 1];
  if (trailing) {
    for (int64_t r = 0; r < nout; r++) vitc_store_f(&out[0], r, reduce_row(k, x, r * count, count));
    return VITC_OK;
  }

  double *acc = malloc(sizeof(double) * (size_t)nout * 2);
  if (!acc) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory for %lld accumulators", (long long)nout);
  double *shift = acc + nout;
  odometer o;
  for (int64_t r = 0; r < nout; r++) shift[r] = 0;
  if (k == REDUCE_LOG_SUM_EXP) {
    for (int64_t r = 0; r < nout; r++) shift[r] = -INFINITY;
    odometer_init(&o, x, reduced);
    for (int64_t i = 0; i < nin; i++, odometer_next(&o))
      shift[o.out_offset] = reduce_fold(REDUCE_MAX, shift[o.out_offset], vitc_load_f(x, i));
    for (int64_t r = 0; r < nout; r++) shift[r] = lse_shift(shift[r]);
  }
  for (int64_t r = 0; r < nout; r++) acc[r] = reduce_identity(k, x->dtype);
  odometer_init(&o, x, reduced);
  for (int64_t i = 0; i < nin; i++, odometer_next(&o)) {
    int64_t r = o.out_offset;
    acc[r] = reduce_fold(k, acc[r], reduce_map(k, vitc_load_f(x, i), shift[r]));
  }
  for (int64_t r = 0; r < nout; r++) vitc_store_f(&out[0], r, reduce_finish(k, acc[r], shift[r], count));
  free(acc);
  return VITC_OK;
}

#define REDUCE_EVALUATOR(name, kind)                                                                     \
  vitc_status eval_##name(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) { \
    return eval_reduce(kind, n, in, out, err);                                                           \
  }
REDUCE_EVALUATOR(ReduceSum, REDUCE_SUM)
REDUCE_EVALUATOR(ReduceMean, REDUCE_MEAN)
REDUCE_EVALUATOR(ReduceMax, REDUCE_MAX)
REDUCE_EVALUATOR(ReduceMin, REDUCE_MIN)
REDUCE_EVALUATOR(ReduceProd, REDUCE_PROD)
REDUCE_EVALUATOR(ReduceL1, REDUCE_L1)
REDUCE_EVALUATOR(ReduceL2, REDUCE_L2)
REDUCE_EVALUATOR(ReduceSumSquare, REDUCE_SUM_SQUARE)
REDUCE_EVALUATOR(ReduceLogSum, REDUCE_LOG_SUM)
REDUCE_EVALUATOR(ReduceLogSumExp, REDUCE_LOG_SUM_EXP)
#undef REDUCE_EVALUATOR

/* ================================================================ one axis: outer × len × inner */

/* x viewed as [outer, len, inner] around `axis`: element (o, j, i) is at (o * len + j) * inner + i. */
typedef struct axis_view {
  int64_t outer, len, inner;
} axis_view;

static axis_view view_around(const vitc_value *x, int first, int last) {
  axis_view v = {1, 1, 1};
  for (int d = 0; d < x->rank; d++) {
    if (d < first) v.outer *= x->dims[d];
    else if (d <= last) v.len *= x->dims[d];
    else v.inner *= x->dims[d];
  }
  return v;
}

/* ---------------------------------------------------------------- ArgMax, ArgMin */

vitc_status shape_arg_reduce(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  const vitc_value *x = in[0];
  int axis;
  vitc_status st = vitc_normalize_axis(vitc_attr_int(n, "axis", 0), x->rank, &axis, err);
  if (st != VITC_OK) return st;
  if (x->rank > 0 && x->dims[axis] == 0)
    return vitc_fail(err, VITC_ERR_INVALID, "axis %d has no elements to take the index of", axis);
  bool keepdims = vitc_attr_int(n, "keepdims", 1) != 0;
  out[0].dtype = VITC_I64;
  out[0].rank = 0;
  for (int d = 0; d < x->rank; d++)
    if (d != axis || keepdims) out[0].dims[out[0].rank++] = d == axis ? 1 : x->dims[d];
  return VITC_OK;
}

/* The first NaN wins, as in numpy; select_last_index moves ties to the last position. */
static vitc_status eval_arg_reduce(bool want_max, const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                                   vitc_error *err) {
  const vitc_value *x = in[0];
  int axis;
  vitc_status st = vitc_normalize_axis(vitc_attr_int(n, "axis", 0), x->rank, &axis, err);
  if (st != VITC_OK) return st;
  bool last = vitc_attr_int(n, "select_last_index", 0) != 0;
  axis_view v = view_around(x, axis, axis);
  int64_t *idx = out[0].data;
  for (int64_t o = 0; o < v.outer; o++)
    for (int64_t i = 0; i < v.inner; i++) {
      int64_t base = o * v.len * v.inner + i, best_j = 0;
      double best = vitc_load_f(x, base);
      for (int64_t j = 1; j < v.len && !isnan(best); j++) {
        double e = vitc_load_f(x, base + j * v.inner);
        bool better = want_max ? e > best : e < best;
        if (better || isnan(e) || (last && e == best)) best = e, best_j = j;
      }
      idx[o * v.inner + i] = best_j;
    }
  return VITC_OK;
}

vitc_status eval_ArgMax(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  return eval_arg_reduce(true, n, in, out, err);
}

vitc_status eval_ArgMin(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  return eval_arg_reduce(false, n, in, out, err);
}

/* ---------------------------------------------------------------- Softmax, LogSoftmax, Hardmax */

/* Before opset 13 the input is coerced to 2-D at `axis` (default 1) and normalised over the flattened
 * trailing dims; from 13 on over the single `axis` (default -1). */
static vitc_status softmax_view(const vitc_node *n, const vitc_value *x, axis_view *v, vitc_error *err) {
  bool legacy = n->opset < 13;
  int axis;
  vitc_status st = vitc_normalize_axis(vitc_attr_int(n, "axis", legacy ? 1 : -1), x->rank, &axis, err);
  if (st != VITC_OK) return st;
  *v = view_around(x, axis, legacy ? x->rank - 1 : axis);
  return VITC_OK;
}

/* Softmax, LogSoftmax and Hardmax keep their input's shape; their axis must lie within its rank. */
vitc_status shape_softmax(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  axis_view v;
  vitc_status st = softmax_view(n, in[0], &v, err);
  if (!st) vitc_copy_type(&out[0], in[0]);
  return st;
}

typedef enum softmax_kind { SOFTMAX, LOG_SOFTMAX, HARDMAX } softmax_kind;

/* One float32 row of len elements `stride` apart: attention scores (stride 1), or CaiT's talking-heads
 * scores with the heads last (stride H). */
static void softmax_row_f32(softmax_kind k, const float *x, float *y, int64_t len, int64_t stride) {
  float max = -INFINITY;
  for (int64_t j = 0; j < len; j++) max = x[j * stride] > max ? x[j * stride] : max;
  double sum = 0;
  if (k == LOG_SOFTMAX) {
    for (int64_t j = 0; j < len; j++) sum += exp((double)x[j * stride] - max);
    double log_sum = log(sum);
    for (int64_t j = 0; j < len; j++) y[j * stride] = (float)((double)x[j * stride] - max - log_sum);
    return;
  }
  for (int64_t j = 0; j < len; j++) {
    y[j * stride] = expf(x[j * stride] - max);
    sum += y[j * stride];
  }
  float inv = (float)(1.0 / sum);
  for (int64_t j = 0; j < len; j++) y[j * stride] *= inv;
}

static vitc_status eval_softmax_family(softmax_kind k, const vitc_node *n, const vitc_value *const *in,
                                       vitc_value *out, vitc_error *err) {
  const vitc_value *x = in[0];
  axis_view v;
  vitc_status st = softmax_view(n, x, &v, err);
  if (st != VITC_OK || vitc_numel(x) == 0) return st;
  if (x->dtype == VITC_F32 && k != HARDMAX) {
    for (int64_t o = 0; o < v.outer; o++)
      for (int64_t i = 0; i < v.inner; i++) {
        int64_t base = o * v.len * v.inner + i;
        softmax_row_f32(k, (const float *)x->data + base, (float *)out[0].data + base, v.len, v.inner);
      }
    return VITC_OK;
  }
  double *row = malloc(sizeof(double) * (size_t)v.len);
  if (!row) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory for a row of %lld", (long long)v.len);
  for (int64_t o = 0; o < v.outer; o++)
    for (int64_t i = 0; i < v.inner; i++) {
      int64_t base = o * v.len * v.inner + i, argmax = 0;
      double max = -INFINITY, sum = 0;
      for (int64_t j = 0; j < v.len; j++) {
        row[j] = vitc_load_f(x, base + j * v.inner);
        if (row[j] > max) max = row[j], argmax = j;
      }
      for (int64_t j = 0; j < v.len; j++) sum += exp(row[j] - max);
      for (int64_t j = 0; j < v.len; j++) {
        double y = k == SOFTMAX ? exp(row[j] - max) / sum
                   : k == LOG_SOFTMAX ? row[j] - max - log(sum)
                                      : (double)(j == argmax);
        vitc_store_f(&out[0], base + j * v.inner, y);
      }
    }
  free(row);
  return VITC_OK;
}

vitc_status eval_Softmax(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  return eval_softmax_family(SOFTMAX, n, in, out, err);
}

vitc_status eval_LogSoftmax(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  return eval_softmax_family(LOG_SOFTMAX, n, in, out, err);
}

vitc_status eval_Hardmax(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  return eval_softmax_family(HARDMAX, n, in, out, err);
}

/* max, subtract, exp, sum, divide */
double flops_softmax(const vitc_node *n, const vitc_value *const *in, const vitc_value *out) {
  return 5.0 * (double)vitc_numel(in[0]);
}

/* ---------------------------------------------------------------- TopK */

static vitc_status topk_params(const vitc_node *n, const vitc_value *const *in, int *axis, int64_t *k,
                               vitc_error *err) {
  int64_t ks[1];
  int nk;
  vitc_status st = vitc_normalize_axis(vitc_attr_int(n, "axis", -1), in[0]->rank, axis, err);
  if (st == VITC_OK) st = vitc_read_int_list(in[1], "k", ks, 1, &nk, err);
  if (st != VITC_OK) return st;
  if (nk != 1) return vitc_fail(err, VITC_ERR_INVALID, "k must hold one value, not %d", nk);
  int64_t dim = in[0]->rank ? in[0]->dims[*axis] : 1;
  if (ks[0] < 0 || ks[0] > dim)
    return vitc_fail(err, VITC_ERR_INVALID, "k %lld is outside [0, %lld], the size of axis %d", (long long)ks[0],
                     (long long)dim, *axis);
  *k = ks[0];
  return VITC_OK;
}

vitc_status shape_topk(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  int axis = 0;
  int64_t k = 0;
  vitc_status st = topk_params(n, in, &axis, &k, err);
  if (st != VITC_OK) return st;
  vitc_copy_type(&out[0], in[0]);
  vitc_copy_type(&out[1], in[0]);
  out[1].dtype = VITC_I64;
  if (in[0]->rank) out[0].dims[axis] = out[1].dims[axis] = k;
  return VITC_OK;
}

/* Keys of one slice: doubles for floats, int64 for integers (exact beyond 2^53). NaN ranks above every
 * number, so it comes first for largest and last for smallest. */
typedef struct topk_keys {
  const double *f;
  const int64_t *i;
  bool largest;
} topk_keys;

static bool ranks_before(const topk_keys *c, int64_t a, int64_t b) {
  if (c->i) return c->largest ? c->i[a] > c->i[b] : c->i[a] < c->i[b];
  double x = c->f[a], y = c->f[b];
  if (isnan(x) || isnan(y)) return c->largest ? isnan(x) && !isnan(y) : isnan(y) && !isnan(x);
  return c->largest ? x > y : x < y;
}

/* Stable merge sort of positions: equal keys keep ascending index order, which TopK's ties require. */
static void sort_positions(const topk_keys *c, int64_t *pos, int64_t *tmp, int64_t len) {
  if (len < 2) return;
  int64_t half = len / 2;
  sort_positions(c, pos, tmp, half);
  sort_positions(c, pos + half, tmp, len - half);
  int64_t a = 0, b = half, t = 0;
  while (a < half && b < len) tmp[t++] = ranks_before(c, pos[b], pos[a]) ? pos[b++] : pos[a++];
  while (a < half) tmp[t++] = pos[a++];
  while (b < len) tmp[t++] = pos[b++];
  memcpy(pos, tmp, sizeof *pos * (size_t)len);
}

vitc_status eval_TopK(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  const vitc_value *x = in[0];
  int axis = 0;
  int64_t k = 0;
  vitc_status st = topk_params(n, in, &axis, &k, err);
  if (st != VITC_OK) return st;
  axis_view v = view_around(x, axis, axis);
  bool is_float = vitc_dtype_is_float(x->dtype);
  /* sorted=0 leaves the order to the implementation: sorted output is one valid choice. */
  int64_t *pos = malloc(sizeof(int64_t) * 3 * (size_t)(v.len ? v.len : 1));
  double *fkeys = malloc(sizeof(double) * (size_t)(v.len ? v.len : 1));
  if (!pos || !fkeys) {
    free(pos);
    free(fkeys);
    return vitc_fail(err, VITC_ERR_NOMEM, "out of memory sorting %lld elements", (long long)v.len);
  }
  int64_t *tmp = pos + v.len, *ikeys = pos + 2 * v.len;
  topk_keys keys = {is_float ? fkeys : NULL, is_float ? NULL : ikeys, vitc_attr_int(n, "largest", 1) != 0};
  int64_t *indices = out[1].data;
  for (int64_t o = 0; o < v.outer; o++)
    for (int64_t i = 0; i < v.inner; i++) {
      int64_t base = o * v.len * v.inner + i, out_base = o * k * v.inner + i;
      for (int64_t j = 0; j < v.len; j++) {
        pos[j] = j;
        if (is_float) fkeys[j] = vitc_load_f(x, base + j * v.inner);
        else ikeys[j] = vitc_load_i(x, base + j * v.inner);
      }
      sort_positions(&keys, pos, tmp, v.len);
      for (int64_t j = 0; j < k; j++) {
        int64_t dst = out_base + j * v.inner;
        if (is_float) vitc_store_f(&out[0], dst, fkeys[pos[j]]);
        else vitc_store_i(&out[0], dst, ikeys[pos[j]]);
        indices[dst] = pos[j];
      }
    }
  free(pos);
  free(fkeys);
  return VITC_OK;
}

/* ---------------------------------------------------------------- CumSum */

vitc_status eval_CumSum(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  const vitc_value *x = in[0];
  int64_t axes[1];
  int naxes, axis;
  vitc_status st = vitc_read_int_list(in[1], "axis", axes, 1, &naxes, err);
  if (st != VITC_OK) return st;
  if (naxes != 1) return vitc_fail(err, VITC_ERR_INVALID, "axis must hold one value, not %d", naxes);
  if ((st = vitc_normalize_axis(axes[0], x->rank, &axis, err)) != VITC_OK) return st;
  bool exclusive = vitc_attr_int(n, "exclusive", 0) != 0, reverse = vitc_attr_int(n, "reverse", 0) != 0;
  bool is_float = vitc_dtype_is_float(x->dtype);
  axis_view v = view_around(x, axis, axis);
  for (int64_t o = 0; o < v.outer; o++)
    for (int64_t i = 0; i < v.inner; i++) {
      double fsum = 0;
      int64_t isum = 0;
      for (int64_t step = 0; step < v.len; step++) {
        int64_t j = reverse ? v.len - 1 - step : step, at = (o * v.len + j) * v.inner + i;
        if (is_float) {
          double e = vitc_load_f(x, at);
          vitc_store_f(&out[0], at, exclusive ? fsum : fsum + e);
          fsum += e;
        } else {
          int64_t e = vitc_load_i(x, at);
          vitc_store_i(&out[0], at, exclusive ? isum : isum + e);
          isum += e;
        }
      }
    }
  return VITC_OK;
}

/* movement.c — ops that copy or describe a tensor without rearranging it: Identity, Dropout (inference),
 * the Reshape family (Reshape, Flatten, Squeeze, Unsqueeze: same bytes, new dims), Shape, Size,
 * ConstantOfShape, Range and Trilu. */
#include <math.h>

#include "movement.h"

/* An empty input may have no data at all (the evaluator allows it), hence the size test. */
static vitc_status copy_input(const vitc_value *in, vitc_value *out) {
  size_t bytes = vitc_nbytes(in);
  if (bytes) memcpy(out->data, in->data, bytes);
  return VITC_OK;
}

vitc_status eval_Identity(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  return copy_input(in[0], &out[0]);
}

/* ---------------------------------------------------------------- Dropout */

/* vitc evaluates inference graphs only: training mode would need a random mask, unless the ratio is 0
 * (exporters emit training_mode true with ratio 0 for dropouts disabled at export, as in Swin). */
static vitc_status check_not_training(const vitc_node *n, const vitc_value *const *in, vitc_error *err) {
  const vitc_value *ratio = vitc_optional_input(n, in, 1), *training = vitc_optional_input(n, in, 2);
  if (!training || !training->data || vitc_numel(training) < 1 || !vitc_load_i(training, 0)) return VITC_OK;
  if (ratio && ratio->data && vitc_numel(ratio) >= 1 && vitc_load_f(ratio, 0) == 0) return VITC_OK;
  return vitc_fail(err, VITC_ERR_UNSUPPORTED, "Dropout with training_mode true and a nonzero ratio is not supported");
}

vitc_status shape_dropout(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  vitc_status st = check_not_training(n, in, err);
  if (st != VITC_OK) return st;
  vitc_copy_type(&out[0], in[0]);
  if (n->nout == 2) {
    vitc_copy_type(&out[1], in[0]);
    out[1].dtype = VITC_BOOL;
  }
  return VITC_OK;
}

vitc_status eval_Dropout(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  vitc_status st = check_not_training(n, in, err);
  if (st != VITC_OK) return st;
  copy_input(in[0], &out[0]);
  if (n->nout == 2) memset(out[1].data, 1, (size_t)vitc_numel(&out[1])); /* nothing dropped */
  return VITC_OK;
}

/* ---------------------------------------------------------------- the Reshape family */

vitc_status shape_reshape(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  int64_t shape[VITC_MAX_RANK], dims[VITC_MAX_RANK], total, known = 1;
  int len, infer = -1;
  vitc_status st = vitc_read_int_list(in[1], "Reshape's shape", shape, VITC_MAX_RANK, &len, err);
  if (st != VITC_OK) return st;
  bool allowzero = vitc_attr_int(n, "allowzero", 0) != 0;
  char s_in[256], s_shape[256];
  vitc_value_type_str(in[0], s_in, sizeof s_in);
  vitc_dims_str(shape, len, s_shape, sizeof s_shape);
  for (int i = 0; i < len; i++) {
    dims[i] = shape[i];
    if (shape[i] == 0 && !allowzero) {
      if (i >= in[0]->rank)
        return vitc_fail(err, VITC_ERR_INVALID, "cannot reshape %s to %s: entry %d is 0 but the input has rank %d",
                         s_in, s_shape, i, in[0]->rank);
      dims[i] = in[0]->dims[i];
    } else if (shape[i] == -1) {
      if (infer >= 0)
        return vitc_fail(err, VITC_ERR_INVALID, "cannot reshape %s to %s: more than one -1", s_in, s_shape);
      infer = i;
      continue;
    } else if (shape[i] < 0) {
      return vitc_fail(err, VITC_ERR_INVALID, "cannot reshape %s to %s: negative entry %lld", s_in, s_shape,
                       (long long)shape[i]);
    }
    if (dims[i] && known > INT64_MAX / 16 / dims[i])
      return vitc_fail(err, VITC_ERR_INVALID, "cannot reshape %s to %s: too many elements", s_in, s_shape);
    known *= dims[i];
  }
  if (!vitc_checked_numel(in[0]->dims, in[0]->rank, &total))
    return vitc_fail(err, VITC_ERR_INVALID, "input shape %s is too large", s_in);
  if (infer >= 0) {
    if (known == 0 || total % known)
      return vitc_fail(err, VITC_ERR_INVALID, "cannot reshape %s (%lld elements) to %s", s_in, (long long)total,
                       s_shape);
    dims[infer] = total / known;
  } else if (known != total) {
    return vitc_fail(err, VITC_ERR_INVALID, "cannot reshape %s (%lld elements) to %s (%lld elements)", s_in,
                     (long long)total, s_shape, (long long)known);
  }
  return vitc_set_shape(&out[0], in[0]->dtype, dims, len, err);
}

vitc_status shape_flatten(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  int r = in[0]->rank;
  int64_t axis = vitc_attr_int(n, "axis", 1), dims[2];
  if (axis < -r || axis > r)
    return vitc_fail(err, VITC_ERR_INVALID, "axis %lld is out of range for Flatten of rank %d", (long long)axis, r);
  if (axis < 0) axis += r;
  if (!vitc_checked_numel(in[0]->dims, (int)axis, &dims[0]) ||
      !vitc_checked_numel(in[0]->dims + axis, r - (int)axis, &dims[1]))
    return vitc_fail(err, VITC_ERR_INVALID, "input shape is too large");
  return vitc_set_shape(&out[0], in[0]->dtype, dims, 2, err);
}

/* Reads an axes input and marks each normalised axis in is_axis[0..rank); fails on a repeated axis. */
static vitc_status read_axes(const vitc_value *axes_in, const char *what, int rank, bool *is_axis, vitc_error *err) {
  int64_t axes[VITC_MAX_RANK];
  int len;
  vitc_status st = vitc_read_int_list(axes_in, what, axes, VITC_MAX_RANK, &len, err);
  if (st != VITC_OK) return st;
  memset(is_axis, 0, sizeof(bool) * (size_t)rank);
  for (int i = 0; i < len; i++) {
    int a;
    if (axes[i] < -rank || axes[i] >= rank)
      return vitc_fail(err, VITC_ERR_INVALID, "axis %lld is out of range for rank %d", (long long)axes[i], rank);
    a = (int)(axes[i] < 0 ? axes[i] + rank : axes[i]);
    if (is_axis[a]) return vitc_fail(err, VITC_ERR_INVALID, "axis %lld is repeated", (long long)axes[i]);
    is_axis[a] = true;
  }
  return VITC_OK;
}

vitc_status shape_squeeze(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  const vitc_value *axes = vitc_optional_input(n, in, 1);
  int r = in[0]->rank, rank = 0;
  bool squeeze[VITC_MAX_RANK];
  int64_t dims[VITC_MAX_RANK];
  if (axes) {
    vitc_status st = read_axes(axes, "Squeeze's axes", r, squeeze, err);
    if (st != VITC_OK) return st;
  }
  for (int i = 0; i < r; i++) {
    if (!axes) squeeze[i] = in[0]->dims[i] == 1;
    if (squeeze[i] && in[0]->dims[i] != 1)
      return vitc_fail(err, VITC_ERR_INVALID, "cannot squeeze axis %d of size %lld", i, (long long)in[0]->dims[i]);
    if (!squeeze[i]) dims[rank++] = in[0]->dims[i];
  }
  return vitc_set_shape(&out[0], in[0]->dtype, dims, rank, err);
}

vitc_status shape_unsqueeze(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  int r = in[0]->rank, nnew = (int)vitc_numel(in[1]), j = 0;
  if (r + nnew > VITC_MAX_RANK)
    return vitc_fail(err, VITC_ERR_UNSUPPORTED, "Unsqueeze to rank %d exceeds the maximum rank %d", r + nnew,
                     VITC_MAX_RANK);
  bool inserted[VITC_MAX_RANK];
  int64_t dims[VITC_MAX_RANK];
  vitc_status st = read_axes(in[1], "Unsqueeze's axes", r + nnew, inserted, err);
  if (st != VITC_OK) return st;
  for (int i = 0; i < r + nnew; i++) dims[i] = inserted[i] ? 1 : in[0]->dims[j++];
  return vitc_set_shape(&out[0], in[0]->dtype, dims, r + nnew, err);
}

/* Serves Reshape, Flatten, Squeeze and Unsqueeze: the bytes do not move. */
vitc_status eval_Reshape(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  return copy_input(in[0], &out[0]);
}

/* ---------------------------------------------------------------- Shape, Size */

/* Shape's [start, end) attributes clamped to [0, rank] (opset 15). */
static void shape_range_of_dims(const vitc_node *n, int rank, int64_t *start, int64_t *end) {
  int64_t s = vitc_attr_int(n, "start", 0), e = vitc_attr_int(n, "end", rank);
  if (s < 0) s += rank;
  if (e < 0) e += rank;
  *start = s < 0 ? 0 : s > rank ? rank : s;
  *end = e < 0 ? 0 : e > rank ? rank : e;
}

vitc_status shape_shape(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  int64_t start, end;
  shape_range_of_dims(n, in[0]->rank, &start, &end);
  out[0].dtype = VITC_I64;
  out[0].rank = 1;
  out[0].dims[0] = end > start ? end - start : 0;
  return VITC_OK;
}

/* Reads only in[0]'s dims: shape inference runs it on tensors whose data is unknown. */
vitc_status eval_Shape(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  int64_t start, end;
  shape_range_of_dims(n, in[0]->rank, &start, &end);
  for (int64_t i = start; i < end; i++) ((int64_t *)out[0].data)[i - start] = in[0]->dims[i];
  return VITC_OK;
}

vitc_status shape_size(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  out[0].dtype = VITC_I64;
  out[0].rank = 0;
  return VITC_OK;
}

vitc_status eval_Size(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  *(int64_t *)out[0].data = vitc_numel(in[0]);
  return VITC_OK;
}

/* ---------------------------------------------------------------- ConstantOfShape */

static vitc_status constant_of_shape_value(const vitc_node *n, const vitc_value **value, vitc_error *err) {
  static const float zero = 0;
  static const vitc_value dflt = {.dtype = VITC_F32, .rank = 0, .data = (void *)&zero};
  const vitc_attr *a = vitc_attr_find(n, "value");
  *value = &dflt;
  if (!a) return VITC_OK;
  if (a->type != VITC_ATTR_TENSOR || vitc_numel(&a->t) != 1 || !a->t.data || !vitc_dtype_size(a->t.dtype))
    return vitc_fail(err, VITC_ERR_INVALID, "ConstantOfShape's value must be a tensor of one element");
  *value = &a->t;
  return VITC_OK;
}

vitc_status shape_constant_of_shape(const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                                    vitc_error *err) {
  const vitc_value *value;
  int64_t dims[VITC_MAX_RANK];
  int rank;
  vitc_status st = constant_of_shape_value(n, &value, err);
  if (st == VITC_OK) st = vitc_read_int_list(in[0], "ConstantOfShape's shape", dims, VITC_MAX_RANK, &rank, err);
  if (st != VITC_OK) return st;
  return vitc_set_shape(&out[0], value->dtype, dims, rank, err);
}

vitc_status eval_ConstantOfShape(const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                                 vitc_error *err) {
  const vitc_value *value;
  vitc_status st = constant_of_shape_value(n, &value, err);
  if (st != VITC_OK) return st;
  vitc_fill_elements(out[0].data, vitc_numel(&out[0]), value->data, vitc_dtype_size(value->dtype));
  return VITC_OK;
}

/* ---------------------------------------------------------------- Range */

/* Element count max(ceil((limit - start) / delta), 0), computed in the inputs' own arithmetic. */
static vitc_status range_count(const vitc_value *const *in, int64_t *count, vitc_error *err) {
  vitc_dtype t = in[0]->dtype;
  for (int i = 0; i < 3; i++) {
    if (!in[i]->data)
      return vitc_fail(err, VITC_ERR_DATA_DEPENDENT, "data-dependent shape: Range's inputs are not known at compile time");
    if (in[i]->dtype != t || vitc_numel(in[i]) != 1)
      return vitc_fail(err, VITC_ERR_INVALID, "Range's start, limit and delta must be scalars of one type");
  }
  if (!vitc_dtype_size(t) || t == VITC_BOOL)
    return vitc_fail(err, VITC_ERR_INVALID, "Range does not take %s", vitc_dtype_name(t) ? vitc_dtype_name(t) : "this type");
  double n;
  if (vitc_dtype_is_float(t)) {
    double start = vitc_load_f(in[0], 0), limit = vitc_load_f(in[1], 0), delta = vitc_load_f(in[2], 0);
    if (delta == 0 || !isfinite(start) || !isfinite(limit) || !isfinite(delta))
      return vitc_fail(err, VITC_ERR_INVALID, "Range needs finite inputs and a nonzero delta");
    n = ceil((limit - start) / delta);
  } else {
    __int128 start = vitc_load_i(in[0], 0), limit = vitc_load_i(in[1], 0), delta = vitc_load_i(in[2], 0);
    if (delta == 0) return vitc_fail(err, VITC_ERR_INVALID, "Range needs a nonzero delta");
    __int128 diff = limit - start, q = diff / delta;
    if (q * delta != diff && (diff > 0) == (delta > 0)) q++; /* ceil of the exact quotient */
    n = (double)q;
  }
  if (n > (double)(INT64_MAX / 16)) return vitc_fail(err, VITC_ERR_INVALID, "Range would have %g elements", n);
  *count = n > 0 ? (int64_t)n : 0;
  return VITC_OK;
}

vitc_status shape_range(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  int64_t count;
  vitc_status st = range_count(in, &count, err);
  if (st != VITC_OK) return st;
  return vitc_set_shape(&out[0], in[0]->dtype, &count, 1, err);
}

vitc_status eval_Range(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  int64_t count = out[0].dims[0];
  if (vitc_dtype_is_float(in[0]->dtype)) {
    double start = vitc_load_f(in[0], 0), delta = vitc_load_f(in[2], 0);
    for (int64_t i = 0; i < count; i++) vitc_store_f(&out[0], i, start + (double)i * delta);
  } else {
    int64_t start = vitc_load_i(in[0], 0), delta = vitc_load_i(in[2], 0);
    for (int64_t i = 0; i < count; i++) vitc_store_i(&out[0], i, start + i * delta);
  }
  return VITC_OK;
}

/* ---------------------------------------------------------------- Trilu */

/* Keeps the upper (j - i >= k) or lower (j - i <= k) triangle of each matrix in the last two dims and
 * zeroes the rest; all-zero bytes are zero in every dtype. */
vitc_status eval_Trilu(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  const vitc_value *x = in[0], *k_in = vitc_optional_input(n, in, 1);
  if (x->rank < 2) return vitc_fail(err, VITC_ERR_INVALID, "Trilu needs rank >= 2, not %d", x->rank);
  int64_t k = 0;
  if (k_in) {
    int len;
    vitc_status st = vitc_read_int_list(k_in, "Trilu's k", &k, 1, &len, err);
    if (st != VITC_OK) return st;
    if (len != 1) return vitc_fail(err, VITC_ERR_INVALID, "Trilu's k must hold one value");
  }
  bool upper = vitc_attr_int(n, "upper", 1) != 0;
  int64_t rows = x->dims[x->rank - 2], cols = x->dims[x->rank - 1], plane = rows * cols;
  int64_t mats = plane ? vitc_numel(x) / plane : 0;
  size_t esize = vitc_dtype_size(x->dtype);
  if (k > cols + 1) k = cols + 1; /* beyond these bounds every k gives the same mask */
  if (k < -rows - 1) k = -rows - 1;
  copy_input(x, &out[0]);
  char *p = out[0].data;
  for (int64_t m = 0; m < mats; m++)
    for (int64_t i = 0; i < rows; i++) {
      char *row = p + ((m * rows + i) * cols) * (int64_t)esize;
      int64_t from = upper ? 0 : i + k + 1, to = upper ? i + k : cols; /* zeroed columns [from, to) */
      if (from < 0) from = 0;
      if (to > cols) to = cols;
      if (to > from) memset(row + from * (int64_t)esize, 0, (size_t)(to - from) * esize);
    }
  return VITC_OK;
}

/* gather.c — ops that read elements at computed positions: Gather, GatherElements, GatherND, OneHot and
 * NonZero. Indices are int32 or int64, negative ones count from the end of their axis, and an index out
 * of range fails with its value rather than reading past the data. */
#include <stdlib.h>

#include "movement.h"

/* ---------------------------------------------------------------- Gather */

vitc_status shape_gather(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  const vitc_value *x = in[0], *idx = in[1];
  int axis;
  if (x->rank == 0) return vitc_fail(err, VITC_ERR_INVALID, "Gather cannot index a scalar");
  vitc_status st = vitc_normalize_axis(vitc_attr_int(n, "axis", 0), x->rank, &axis, err);
  if (st == VITC_OK) st = vitc_check_index_dtype(idx, "Gather's indices", err);
  if (st != VITC_OK) return st;
  int rank = x->rank - 1 + idx->rank;
  if (rank > VITC_MAX_RANK)
    return vitc_fail(err, VITC_ERR_UNSUPPORTED, "Gather's output rank %d exceeds %d", rank, VITC_MAX_RANK);
  out[0].dtype = x->dtype;
  out[0].rank = rank;
  memcpy(out[0].dims, x->dims, sizeof(int64_t) * (size_t)axis);
  memcpy(out[0].dims + axis, idx->dims, sizeof(int64_t) * (size_t)idx->rank);
  memcpy(out[0].dims + axis + idx->rank, x->dims + axis + 1, sizeof(int64_t) * (size_t)(x->rank - axis - 1));
  return VITC_OK;
}

/* Indices are checked and normalised once, then each (outer, index) pair moves one block of inner
 * elements. */
vitc_status eval_Gather(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  const vitc_value *x = in[0], *idx = in[1];
  int axis = (int)vitc_attr_int(n, "axis", 0);
  if (axis < 0) axis += x->rank;
  int64_t count = vitc_numel(idx), dim = x->dims[axis];
  int64_t outer = vitc_dims_product(x->dims, 0, axis), inner = vitc_dims_product(x->dims, axis + 1, x->rank);
  int64_t *pos = malloc(sizeof(int64_t) * (size_t)(count ? count : 1));
  if (!pos) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  for (int64_t j = 0; j < count; j++) {
    vitc_status st = vitc_load_index(idx, j, dim, &pos[j], err);
    if (st != VITC_OK) {
      free(pos);
      return st;
    }
  }
  size_t block = (size_t)inner * vitc_dtype_size(x->dtype);
  const char *src = x->data;
  char *dst = out[0].data;
  for (int64_t o = 0; o < outer && block; o++) /* block 0: empty data, which may lack a buffer */
    for (int64_t j = 0; j < count; j++, dst += block)
      vitc_copy_bytes(dst, src + (size_t)(o * dim + pos[j]) * block, block);
  free(pos);
  return VITC_OK;
}

/* ---------------------------------------------------------------- GatherElements */

vitc_status shape_gather_elements(const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                                  vitc_error *err) {
  const vitc_value *x = in[0], *idx = in[1];
  int axis;
  char sx[256], si[256];
  if (x->rank == 0) return vitc_fail(err, VITC_ERR_INVALID, "GatherElements cannot index a scalar");
  vitc_status st = vitc_normalize_axis(vitc_attr_int(n, "axis", 0), x->rank, &axis, err);
  if (st == VITC_OK) st = vitc_check_index_dtype(idx, "GatherElements' indices", err);
  if (st != VITC_OK) return st;
  if (idx->rank != x->rank)
    return vitc_fail(err, VITC_ERR_INVALID, "GatherElements' indices %s and data %s differ in rank",
                     vitc_value_type_str(idx, si, sizeof si), vitc_value_type_str(x, sx, sizeof sx));
  for (int d = 0; d < x->rank; d++)
    if (d != axis && idx->dims[d] > x->dims[d])
      return vitc_fail(err, VITC_ERR_INVALID, "GatherElements' indices %s exceed data %s on axis %d",
                       vitc_value_type_str(idx, si, sizeof si), vitc_value_type_str(x, sx, sizeof sx), d);
  vitc_copy_type(&out[0], idx);
  out[0].dtype = x->dtype;
  return VITC_OK;
}

vitc_status eval_GatherElements(const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                                vitc_error *err) {
  const vitc_value *x = in[0], *idx = in[1];
  int axis = (int)vitc_attr_int(n, "axis", 0), r = x->rank;
  if (axis < 0) axis += r;
  size_t esize = vitc_dtype_size(x->dtype);
  int64_t strides[VITC_MAX_RANK], pos[VITC_MAX_RANK] = {0}, count = vitc_numel(idx);
  vitc_contiguous_strides(x->dims, r, strides);
  for (int64_t k = 0; k < count; k++) {
    int64_t along, src = 0;
    vitc_status st = vitc_load_index(idx, k, x->dims[axis], &along, err);
    if (st != VITC_OK) return st;
    for (int d = 0; d < r; d++) src += (d == axis ? along : pos[d]) * strides[d];
    vitc_copy_bytes((char *)out[0].data + k * (int64_t)esize, (const char *)x->data + src * (int64_t)esize, esize);
    for (int d = r - 1; d >= 0 && ++pos[d] == idx->dims[d]; d--) pos[d] = 0;
  }
  return VITC_OK;
}

/* ---------------------------------------------------------------- GatherND */

/* indices [B..., G..., k] pick, within each of the batch_dims leading dims B shared with data, slices
 * data[b, i_1..i_k, ...]: the output is [B..., G..., data dims after batch_dims + k]. */
vitc_status shape_gather_nd(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  const vitc_value *x = in[0], *idx = in[1];
  int64_t b = vitc_attr_int(n, "batch_dims", 0);
  char sx[256], si[256];
  vitc_value_type_str(x, sx, sizeof sx);
  vitc_value_type_str(idx, si, sizeof si);
  vitc_status st = vitc_check_index_dtype(idx, "GatherND's indices", err);
  if (st != VITC_OK) return st;
  if (x->rank < 1 || idx->rank < 1)
    return vitc_fail(err, VITC_ERR_INVALID, "GatherND needs data and indices of rank >= 1, not %s and %s", sx, si);
  if (b < 0 || b >= x->rank || b >= idx->rank)
    return vitc_fail(err, VITC_ERR_INVALID, "GatherND's batch_dims %lld is out of range for data %s and indices %s",
                     (long long)b, sx, si);
  int64_t k = idx->dims[idx->rank - 1];
  if (k < 1 || k > x->rank - b)
    return vitc_fail(err, VITC_ERR_INVALID, "GatherND's index tuples of length %lld do not fit data %s after %lld batch dims",
                     (long long)k, sx, (long long)b);
  for (int d = 0; d < b; d++)
    if (x->dims[d] != idx->dims[d])
      return vitc_fail(err, VITC_ERR_INVALID, "GatherND's data %s and indices %s differ in batch dim %d", sx, si, d);
  int rank = idx->rank - 1 + x->rank - (int)b - (int)k;
  if (rank > VITC_MAX_RANK)
    return vitc_fail(err, VITC_ERR_UNSUPPORTED, "GatherND's output rank %d exceeds %d", rank, VITC_MAX_RANK);
  out[0].dtype = x->dtype;
  out[0].rank = rank;
  memcpy(out[0].dims, idx->dims, sizeof(int64_t) * (size_t)(idx->rank - 1));
  memcpy(out[0].dims + idx->rank - 1, x->dims + b + k, sizeof(int64_t) * (size_t)(x->rank - b - k));
  return VITC_OK;
}

vitc_status eval_GatherND(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  const vitc_value *x = in[0], *idx = in[1];
  int b = (int)vitc_attr_int(n, "batch_dims", 0), k = (int)idx->dims[idx->rank - 1];
  size_t esize = vitc_dtype_size(x->dtype);
  int64_t batches = vitc_dims_product(x->dims, 0, b), per_batch = vitc_dims_product(idx->dims, b, idx->rank - 1);
  int64_t slice = vitc_dims_product(x->dims, b + k, x->rank), batch_size = vitc_dims_product(x->dims, b, x->rank);
  size_t block = (size_t)slice * esize;
  char *dst = out[0].data;
  for (int64_t bi = 0; bi < batches; bi++)
    for (int64_t g = 0; g < per_batch; g++, dst += block) {
      int64_t tuple = (bi * per_batch + g) * k, offset = 0;
      for (int j = 0; j < k; j++) {
        int64_t pos;
        vitc_status st = vitc_load_index(idx, tuple + j, x->dims[b + j], &pos, err);
        if (st != VITC_OK) return st;
        offset = offset * x->dims[b + j] + pos;
      }
      if (block) vitc_copy_bytes(dst, (const char *)x->data + (size_t)(bi * batch_size + offset * slice) * esize, block);
    }
  return VITC_OK;
}

/* ---------------------------------------------------------------- OneHot */

static vitc_status one_hot_depth(const vitc_value *depth, int64_t *out, vitc_error *err) {
  if (!depth->data)
    return vitc_fail(err, VITC_ERR_DATA_DEPENDENT, "data-dependent shape: OneHot's depth is not known at compile time");
  if (vitc_numel(depth) != 1) return vitc_fail(err, VITC_ERR_INVALID, "OneHot's depth must hold one value");
  double d = vitc_load_f(depth, 0);
  if (!(d >= 1 && d <= (double)(INT64_MAX / 16)))
    return vitc_fail(err, VITC_ERR_INVALID, "OneHot's depth %g must be positive", d);
  *out = (int64_t)d;
  return VITC_OK;
}

vitc_status shape_one_hot(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  const vitc_value *idx = in[0], *values = in[2];
  int64_t depth = 0, count;
  int axis;
  vitc_status st = one_hot_depth(in[1], &depth, err);
  if (st != VITC_OK) return st;
  if (idx->rank + 1 > VITC_MAX_RANK)
    return vitc_fail(err, VITC_ERR_UNSUPPORTED, "OneHot's output rank %d exceeds %d", idx->rank + 1, VITC_MAX_RANK);
  if (values->rank != 1 || values->dims[0] != 2)
    return vitc_fail(err, VITC_ERR_INVALID, "OneHot's values must be [off, on]");
  st = vitc_normalize_axis(vitc_attr_int(n, "axis", -1), idx->rank + 1, &axis, err);
  if (st != VITC_OK) return st;
  out[0].dtype = values->dtype;
  out[0].rank = idx->rank + 1;
  memcpy(out[0].dims, idx->dims, sizeof(int64_t) * (size_t)axis);
  out[0].dims[axis] = depth;
  memcpy(out[0].dims + axis + 1, idx->dims + axis, sizeof(int64_t) * (size_t)(idx->rank - axis));
  if (!vitc_checked_numel(out[0].dims, out[0].rank, &count))
    return vitc_fail(err, VITC_ERR_INVALID, "OneHot's output is too large");
  return VITC_OK;
}

/* Output viewed as [outer, depth, inner] over indices viewed as [outer, inner]; indices outside
 * [-depth, depth) leave their row all off. */
vitc_status eval_OneHot(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  const vitc_value *idx = in[0], *values = in[2];
  int axis = (int)vitc_attr_int(n, "axis", -1);
  if (axis < 0) axis += idx->rank + 1;
  int64_t depth = out[0].dims[axis], outer = vitc_dims_product(idx->dims, 0, axis);
  int64_t inner = vitc_dims_product(idx->dims, axis, idx->rank);
  size_t esize = vitc_dtype_size(values->dtype);
  const char *off = values->data, *on = off + esize;
  vitc_fill_elements(out[0].data, vitc_numel(&out[0]), off, esize);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      double v = vitc_load_f(idx, o * inner + i);
      if (!(v >= (double)-depth && v < (double)depth)) continue;
      int64_t pos = (int64_t)v;
      if (pos < 0) pos += depth;
      vitc_copy_bytes((char *)out[0].data + ((o * depth + pos) * inner + i) * (int64_t)esize, on, esize);
    }
  return VITC_OK;
}

/* ---------------------------------------------------------------- NonZero */

static bool is_nonzero(const vitc_value *v, int64_t i) {
  return vitc_dtype_is_float(v->dtype) ? vitc_load_f(v, i) != 0 : vitc_load_i(v, i) != 0;
}

/* [rank, count] coordinates of the nonzero elements in row-major order; a scalar counts as rank 1. */
vitc_status shape_nonzero(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  const vitc_value *x = in[0];
  if (!x->data)
    return vitc_fail(err, VITC_ERR_DATA_DEPENDENT, "data-dependent shape: NonZero's input is not known at compile time");
  int64_t total = vitc_numel(x), count = 0;
  for (int64_t i = 0; i < total; i++) count += is_nonzero(x, i);
  out[0].dtype = VITC_I64;
  out[0].rank = 2;
  out[0].dims[0] = x->rank ? x->rank : 1;
  out[0].dims[1] = count;
  return VITC_OK;
}

vitc_status eval_NonZero(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  const vitc_value *x = in[0];
  int r = x->rank;
  int64_t total = vitc_numel(x), count = out[0].dims[1], found = 0, pos[VITC_MAX_RANK] = {0};
  int64_t *coords = out[0].data;
  for (int64_t i = 0; i < total; i++) {
    if (is_nonzero(x, i)) {
      if (found == count) return vitc_fail(err, VITC_ERR_INTERNAL, "NonZero's input changed since its shape was computed");
      for (int d = 0; d < (r ? r : 1); d++) coords[d * count + found] = r ? pos[d] : 0;
      found++;
    }
    for (int d = r - 1; d >= 0 && ++pos[d] == x->dims[d]; d--) pos[d] = 0;
  }
  if (found != count) return vitc_fail(err, VITC_ERR_INTERNAL, "NonZero's input changed since its shape was computed");
  return VITC_OK;
}

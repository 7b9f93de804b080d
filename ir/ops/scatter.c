/* scatter.c — ScatterND and ScatterElements: the output is a copy of data with updates written (or
 * combined by reduction add / mul / max / min) at indexed positions. */
#include "movement.h"

vitc_status vitc_scatter_reduction_of(const vitc_node *n, vitc_scatter_reduction *r, vitc_error *err) {
  static const char *const names[] = {"none", "add", "mul", "max", "min"};
  const char *s = vitc_attr_str(n, "reduction", "none");
  for (int i = 0; i < 5; i++)
    if (!strcmp(s, names[i])) {
      *r = (vitc_scatter_reduction)i;
      return VITC_OK;
    }
  return vitc_fail(err, VITC_ERR_INVALID, "reduction '%s' is not none, add, mul, max or min", s);
}

/* out[o] = reduce(out[o], upd[u]); integers wrap on overflow rather than invoking undefined behaviour. */
static void combine(vitc_value *out, int64_t o, const vitc_value *upd, int64_t u, vitc_scatter_reduction r) {
  if (vitc_dtype_is_float(out->dtype)) {
    double a = vitc_load_f(out, o), b = vitc_load_f(upd, u);
    double v = r == VITC_SCATTER_ADD ? a + b : r == VITC_SCATTER_MUL ? a * b : r == VITC_SCATTER_MAX ? (a > b ? a : b) : r == VITC_SCATTER_MIN ? (a < b ? a : b) : b;
    vitc_store_f(out, o, v);
  } else {
    int64_t a = vitc_load_i(out, o), b = vitc_load_i(upd, u);
    int64_t v = r == VITC_SCATTER_ADD   ? (int64_t)((uint64_t)a + (uint64_t)b)
                : r == VITC_SCATTER_MUL ? (int64_t)((uint64_t)a * (uint64_t)b)
                : r == VITC_SCATTER_MAX ? (a > b ? a : b)
                : r == VITC_SCATTER_MIN ? (a < b ? a : b)
                                  : b;
    vitc_store_i(out, o, v);
  }
}

/* Writes count updates starting at upd[u] to out[o...]: a block move without reduction. */
static void scatter_block(vitc_value *out, int64_t o, const vitc_value *upd, int64_t u, int64_t count,
                          vitc_scatter_reduction r) {
  size_t esize = vitc_dtype_size(out->dtype);
  if (count == 0) return; /* empty tensors may lack data */
  if (r == VITC_SCATTER_NONE) {
    memcpy((char *)out->data + o * (int64_t)esize, (const char *)upd->data + u * (int64_t)esize, (size_t)count * esize);
    return;
  }
  for (int64_t i = 0; i < count; i++) combine(out, o + i, upd, u + i, r);
}

static vitc_status check_updates_dtype(const vitc_value *data, const vitc_value *upd, vitc_error *err) {
  if (upd->dtype != data->dtype)
    return vitc_fail(err, VITC_ERR_INVALID, "updates are %s, data is %s", vitc_dtype_name(upd->dtype),
                     vitc_dtype_name(data->dtype));
  return VITC_OK;
}

/* ---------------------------------------------------------------- ScatterND */

/* indices [G..., k] address slices data[i_1..i_k, ...]; updates are [G..., data dims after k]. */
static vitc_status check_scatter_nd(const vitc_value *const *in, vitc_error *err) {
  const vitc_value *x = in[0], *idx = in[1], *upd = in[2];
  char sx[256], si[256], su[256];
  vitc_value_type_str(x, sx, sizeof sx);
  vitc_value_type_str(idx, si, sizeof si);
  vitc_value_type_str(upd, su, sizeof su);
  vitc_status st = vitc_check_index_dtype(idx, "ScatterND's indices", err);
  if (st == VITC_OK) st = check_updates_dtype(x, upd, err);
  if (st != VITC_OK) return st;
  if (x->rank < 1 || idx->rank < 1)
    return vitc_fail(err, VITC_ERR_INVALID, "ScatterND needs data and indices of rank >= 1, not %s and %s", sx, si);
  int64_t k = idx->dims[idx->rank - 1];
  if (k < 1 || k > x->rank)
    return vitc_fail(err, VITC_ERR_INVALID, "ScatterND's index tuples of length %lld do not fit data %s", (long long)k, sx);
  int want = idx->rank - 1 + x->rank - (int)k;
  bool ok = upd->rank == want;
  for (int d = 0; ok && d < idx->rank - 1; d++) ok = upd->dims[d] == idx->dims[d];
  for (int d = (int)k; ok && d < x->rank; d++) ok = upd->dims[idx->rank - 1 + d - k] == x->dims[d];
  if (!ok)
    return vitc_fail(err, VITC_ERR_INVALID, "ScatterND's updates %s do not match indices %s and data %s", su, si, sx);
  return VITC_OK;
}

vitc_status eval_ScatterND(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  const vitc_value *x = in[0], *idx = in[1], *upd = in[2];
  vitc_scatter_reduction r;
  vitc_status st = vitc_scatter_reduction_of(n, &r, err);
  if (st == VITC_OK) st = check_scatter_nd(in, err);
  if (st != VITC_OK) return st;
  int k = (int)idx->dims[idx->rank - 1];
  int64_t tuples = vitc_numel(idx) / k, slice = 1;
  for (int d = k; d < x->rank; d++) slice *= x->dims[d];
  if (vitc_nbytes(x)) memcpy(out[0].data, x->data, vitc_nbytes(x)); /* an empty input may lack data */
  for (int64_t t = 0; t < tuples; t++) {
    int64_t offset = 0;
    for (int j = 0; j < k; j++) {
      int64_t pos;
      st = vitc_load_index(idx, t * k + j, x->dims[j], &pos, err);
      if (st != VITC_OK) return st;
      offset = offset * x->dims[j] + pos;
    }
    scatter_block(&out[0], offset * slice, upd, t * slice, slice, r);
  }
  return VITC_OK;
}

/* ---------------------------------------------------------------- ScatterElements */

vitc_status eval_ScatterElements(const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                                 vitc_error *err) {
  const vitc_value *x = in[0], *idx = in[1], *upd = in[2];
  vitc_scatter_reduction r;
  int axis, rank = x->rank;
  char sx[256], si[256], su[256];
  vitc_status st = vitc_scatter_reduction_of(n, &r, err);
  if (st == VITC_OK) st = vitc_check_index_dtype(idx, "ScatterElements' indices", err);
  if (st == VITC_OK) st = check_updates_dtype(x, upd, err);
  if (st == VITC_OK && rank == 0) st = vitc_fail(err, VITC_ERR_INVALID, "ScatterElements cannot index a scalar");
  if (st == VITC_OK) st = vitc_normalize_axis(vitc_attr_int(n, "axis", 0), rank, &axis, err);
  if (st != VITC_OK) return st;
  bool ok = idx->rank == rank && upd->rank == rank;
  for (int d = 0; ok && d < rank; d++) ok = idx->dims[d] == upd->dims[d] && (d == axis || idx->dims[d] <= x->dims[d]);
  if (!ok)
    return vitc_fail(err, VITC_ERR_INVALID, "ScatterElements' indices %s and updates %s do not fit data %s",
                     vitc_value_type_str(idx, si, sizeof si), vitc_value_type_str(upd, su, sizeof su),
                     vitc_value_type_str(x, sx, sizeof sx));
  int64_t strides[VITC_MAX_RANK], pos[VITC_MAX_RANK] = {0}, count = vitc_numel(idx);
  vitc_contiguous_strides(x->dims, rank, strides);
  if (vitc_nbytes(x)) memcpy(out[0].data, x->data, vitc_nbytes(x)); /* an empty input may lack data */
  for (int64_t u = 0; u < count; u++) {
    int64_t along, o = 0;
    st = vitc_load_index(idx, u, x->dims[axis], &along, err);
    if (st != VITC_OK) return st;
    for (int d = 0; d < rank; d++) o += (d == axis ? along : pos[d]) * strides[d];
    scatter_block(&out[0], o, upd, u, 1, r);
    for (int d = rank - 1; d >= 0 && ++pos[d] == idx->dims[d]; d--) pos[d] = 0;
  }
  return VITC_OK;
}

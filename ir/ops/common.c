/* common.c — helpers shared by the op implementations: broadcasting, axes, integer-list inputs. */
#include <string.h>

#include "ops.h"

vitc_status vitc_broadcast_shape(const vitc_value *a, const vitc_value *b, int64_t *out_dims, int *out_rank,
                                 vitc_error *err) {
  int r = a->rank > b->rank ? a->rank : b->rank;
  for (int i = 0; i < r; i++) {
    int ia = i - (r - a->rank), ib = i - (r - b->rank);
    int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
    if (da != db && da != 1 && db != 1) {
      char sa[128], sb[128];
      return vitc_fail(err, VITC_ERR_INVALID, "shapes %s and %s do not broadcast",
                       vitc_value_type_str(a, sa, sizeof sa), vitc_value_type_str(b, sb, sizeof sb));
    }
    out_dims[i] = da == 1 ? db : da;
  }
  *out_rank = r;
  return VITC_OK;
}

void vitc_contiguous_strides(const int64_t *dims, int rank, int64_t *strides) {
  int64_t s = 1;
  for (int i = rank - 1; i >= 0; i--) {
    strides[i] = s;
    s *= dims[i];
  }
}

void vitc_broadcast_strides(const vitc_value *v, int out_rank, const int64_t *out_dims, int64_t *strides) {
  int64_t own[VITC_MAX_RANK];
  vitc_contiguous_strides(v->dims, v->rank, own);
  for (int i = 0; i < out_rank; i++) {
    int iv = i - (out_rank - v->rank);
    strides[i] = iv < 0 || (v->dims[iv] == 1 && out_dims[i] != 1) ? 0 : own[iv];
  }
}

vitc_status vitc_normalize_axis(int64_t axis, int rank, int *out, vitc_error *err) {
  if (axis < -rank || axis >= (rank ? rank : 1))
    return vitc_fail(err, VITC_ERR_INVALID, "axis %lld is out of range for rank %d", (long long)axis, rank);
  *out = (int)(axis < 0 ? axis + rank : axis);
  return VITC_OK;
}

vitc_status vitc_read_int_list(const vitc_value *v, const char *what, int64_t *out, int cap, int *len,
                               vitc_error *err) {
  if (!v->data)
    return vitc_fail(err, VITC_ERR_DATA_DEPENDENT, "data-dependent shape: %s is not known at compile time", what);
  if (v->dtype != VITC_I64 && v->dtype != VITC_I32)
    return vitc_fail(err, VITC_ERR_INVALID, "%s must be int32 or int64, not %s", what, vitc_dtype_name(v->dtype));
  if (v->rank > 1) return vitc_fail(err, VITC_ERR_INVALID, "%s must be 1-D, not rank %d", what, v->rank);
  int64_t n = vitc_numel(v);
  if (n > cap) return vitc_fail(err, VITC_ERR_UNSUPPORTED, "%s has %lld entries, more than %d", what, (long long)n, cap);
  for (int64_t i = 0; i < n; i++) out[i] = vitc_load_i(v, i);
  *len = (int)n;
  return VITC_OK;
}

void vitc_copy_type(vitc_value *out, const vitc_value *in) {
  out->dtype = in->dtype;
  out->rank = in->rank;
  memcpy(out->dims, in->dims, sizeof out->dims);
}

double flops_elementwise(const vitc_node *n, const vitc_value *const *in, const vitc_value *out) {
  return (double)vitc_numel(&out[0]);
}

double flops_input(const vitc_node *n, const vitc_value *const *in, const vitc_value *out) {
  return (double)vitc_numel(in[0]);
}

/* transpose.c — ops that rearrange or repeat elements through one strided copy (movement_kernels.c):
 * Transpose, DepthToSpace and SpaceToDepth (transposes of a 6-D view), Expand (stride 0 along broadcast
 * dims) and Tile (each dim viewed as (repeat, extent)). */
#include "movement.h"

/* ---------------------------------------------------------------- Transpose */

/* perm attribute, reversed dims when absent; fails unless it is a permutation of [0, rank). */
static vitc_status read_perm(const vitc_node *n, int rank, int *perm, vitc_error *err) {
  int len;
  const int64_t *p = vitc_attr_ints(n, "perm", &len);
  if (!p) {
    for (int i = 0; i < rank; i++) perm[i] = rank - 1 - i;
    return VITC_OK;
  }
  if (len != rank) return vitc_fail(err, VITC_ERR_INVALID, "perm has %d entries for rank %d", len, rank);
  bool seen[VITC_MAX_RANK] = {false};
  for (int i = 0; i < rank; i++) {
    if (p[i] < 0 || p[i] >= rank)
      return vitc_fail(err, VITC_ERR_INVALID, "perm entry %lld is out of range for rank %d", (long long)p[i], rank);
    if (seen[p[i]]) return vitc_fail(err, VITC_ERR_INVALID, "perm repeats axis %lld", (long long)p[i]);
    seen[p[i]] = true;
    perm[i] = (int)p[i];
  }
  return VITC_OK;
}

vitc_status shape_transpose(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  int perm[VITC_MAX_RANK];
  vitc_status st = read_perm(n, in[0]->rank, perm, err);
  if (st != VITC_OK) return st;
  vitc_copy_type(&out[0], in[0]);
  for (int i = 0; i < in[0]->rank; i++) out[0].dims[i] = in[0]->dims[perm[i]];
  return VITC_OK;
}

vitc_status eval_Transpose(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  int perm[VITC_MAX_RANK], r = in[0]->rank;
  int64_t in_strides[VITC_MAX_RANK], src[VITC_MAX_RANK], dst[VITC_MAX_RANK];
  vitc_status st = read_perm(n, r, perm, err);
  if (st != VITC_OK) return st;
  vitc_contiguous_strides(in[0]->dims, r, in_strides);
  vitc_contiguous_strides(out[0].dims, r, dst);
  for (int i = 0; i < r; i++) src[i] = in_strides[perm[i]];
  vitc_copy_strided(out[0].data, dst, in[0]->data, src, out[0].dims, r, vitc_dtype_size(in[0]->dtype));
  return VITC_OK;
}

/* ---------------------------------------------------------------- DepthToSpace, SpaceToDepth */

static vitc_status read_blocksize(const vitc_node *n, const vitc_value *x, int64_t *b, vitc_error *err) {
  if (x->rank != 4) return vitc_fail(err, VITC_ERR_INVALID, "%s needs a rank-4 NCHW input, not rank %d",
                                     vitc_ops[n->op].name, x->rank);
  *b = vitc_attr_int(n, "blocksize", 0);
  if (*b <= 0 || *b > (int64_t)1 << 20)
    return vitc_fail(err, VITC_ERR_INVALID, "blocksize %lld must be positive", (long long)*b);
  return VITC_OK;
}

/* The blocksize, and the mode: DCR reads channel (b1 * b + b2) * C' + c, CRD reads c * b * b + b1 * b + b2. */
static vitc_status read_depth_params(const vitc_node *n, const vitc_value *x, int64_t *b, bool *crd, vitc_error *err) {
  vitc_status st = read_blocksize(n, x, b, err);
  if (st != VITC_OK) return st;
  const char *mode = vitc_attr_str(n, "mode", "DCR");
  *crd = !strcmp(mode, "CRD");
  if (!*crd && strcmp(mode, "DCR"))
    return vitc_fail(err, VITC_ERR_INVALID, "DepthToSpace mode '%s' is neither DCR nor CRD", mode);
  return VITC_OK;
}

vitc_status shape_depth_to_space(const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                                 vitc_error *err) {
  int64_t b;
  bool crd;
  vitc_status st = read_depth_params(n, in[0], &b, &crd, err);
  if (st != VITC_OK) return st;
  const int64_t *d = in[0]->dims;
  if (d[1] % (b * b))
    return vitc_fail(err, VITC_ERR_INVALID, "channels %lld are not divisible by blocksize %lld squared",
                     (long long)d[1], (long long)b);
  int64_t dims[4] = {d[0], d[1] / (b * b), d[2] * b, d[3] * b};
  return vitc_set_shape(&out[0], in[0]->dtype, dims, 4, err);
}

/* Output viewed as [N, C', H, b1, W, b2]. */
vitc_status eval_DepthToSpace(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  int64_t b;
  bool crd;
  vitc_status st = read_depth_params(n, in[0], &b, &crd, err);
  if (st != VITC_OK) return st;
  const int64_t *d = in[0]->dims;
  int64_t c = d[1] / (b * b), sC = d[2] * d[3], sH = d[3];
  int64_t s_c = crd ? b * b * sC : sC, s_b1 = crd ? b * sC : b * c * sC, s_b2 = crd ? sC : c * sC;
  int64_t dims[6] = {d[0], c, d[2], b, d[3], b}, dst[6];
  int64_t src[6] = {d[1] * sC, s_c, sH, s_b1, 1, s_b2};
  vitc_contiguous_strides(dims, 6, dst);
  vitc_copy_strided(out[0].data, dst, in[0]->data, src, dims, 6, vitc_dtype_size(in[0]->dtype));
  return VITC_OK;
}

vitc_status shape_space_to_depth(const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                                 vitc_error *err) {
  int64_t b;
  vitc_status st = read_blocksize(n, in[0], &b, err);
  if (st != VITC_OK) return st;
  const int64_t *d = in[0]->dims;
  if (d[2] % b || d[3] % b)
    return vitc_fail(err, VITC_ERR_INVALID, "spatial dims %lldx%lld are not divisible by blocksize %lld",
                     (long long)d[2], (long long)d[3], (long long)b);
  int64_t dims[4] = {d[0], d[1] * b * b, d[2] / b, d[3] / b};
  return vitc_set_shape(&out[0], in[0]->dtype, dims, 4, err);
}

/* Output channel (b1 * b + b2) * C + c, viewed as [N, b1, b2, C, H', W']. */
vitc_status eval_SpaceToDepth(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  int64_t b;
  vitc_status st = read_blocksize(n, in[0], &b, err);
  if (st != VITC_OK) return st;
  const int64_t *d = in[0]->dims;
  int64_t sC = d[2] * d[3], sH = d[3];
  int64_t dims[6] = {d[0], b, b, d[1], d[2] / b, d[3] / b}, dst[6];
  int64_t src[6] = {d[1] * sC, sH, 1, sC, b * sH, b};
  vitc_contiguous_strides(dims, 6, dst);
  vitc_copy_strided(out[0].data, dst, in[0]->data, src, dims, 6, vitc_dtype_size(in[0]->dtype));
  return VITC_OK;
}

/* ---------------------------------------------------------------- Expand */

vitc_status shape_expand(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  vitc_value target = {.dtype = in[0]->dtype};
  int len;
  vitc_status st = vitc_read_int_list(in[1], "Expand's shape", target.dims, VITC_MAX_RANK, &len, err);
  if (st != VITC_OK) return st;
  target.rank = len;
  for (int i = 0; i < len; i++)
    if (target.dims[i] < 0)
      return vitc_fail(err, VITC_ERR_INVALID, "Expand's shape has a negative entry %lld", (long long)target.dims[i]);
  int64_t dims[VITC_MAX_RANK];
  int rank;
  st = vitc_broadcast_shape(in[0], &target, dims, &rank, err);
  if (st != VITC_OK) return st;
  return vitc_set_shape(&out[0], in[0]->dtype, dims, rank, err);
}

vitc_status eval_Expand(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  int64_t src[VITC_MAX_RANK], dst[VITC_MAX_RANK];
  vitc_broadcast_strides(in[0], out[0].rank, out[0].dims, src);
  vitc_contiguous_strides(out[0].dims, out[0].rank, dst);
  vitc_copy_strided(out[0].data, dst, in[0]->data, src, out[0].dims, out[0].rank, vitc_dtype_size(in[0]->dtype));
  return VITC_OK;
}

/* ---------------------------------------------------------------- Tile */

static vitc_status read_repeats(const vitc_value *const *in, int64_t *repeats, vitc_error *err) {
  int len, r = in[0]->rank;
  vitc_status st = vitc_read_int_list(in[1], "Tile's repeats", repeats, VITC_MAX_RANK, &len, err);
  if (st != VITC_OK) return st;
  if (len != r) return vitc_fail(err, VITC_ERR_INVALID, "Tile has %d repeats for rank %d", len, r);
  for (int i = 0; i < r; i++)
    if (repeats[i] < 0) return vitc_fail(err, VITC_ERR_INVALID, "Tile's repeat %lld is negative", (long long)repeats[i]);
  return VITC_OK;
}

vitc_status shape_tile(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  int64_t repeats[VITC_MAX_RANK], dims[VITC_MAX_RANK];
  vitc_status st = read_repeats(in, repeats, err);
  if (st != VITC_OK) return st;
  for (int i = 0; i < in[0]->rank; i++) {
    int64_t pair[2] = {in[0]->dims[i], repeats[i]};
    if (!vitc_checked_numel(pair, 2, &dims[i]))
      return vitc_fail(err, VITC_ERR_INVALID, "Tile's output is too large");
  }
  return vitc_set_shape(&out[0], in[0]->dtype, dims, in[0]->rank, err);
}

/* Output dim i viewed as (repeat, extent): dst index rep * extent + x reads source index x. */
vitc_status eval_Tile(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  int r = in[0]->rank;
  int64_t repeats[VITC_MAX_RANK], in_strides[VITC_MAX_RANK], out_strides[VITC_MAX_RANK];
  int64_t dims[VITC_COPY_MAX_RANK], src[VITC_COPY_MAX_RANK], dst[VITC_COPY_MAX_RANK];
  vitc_status st = read_repeats(in, repeats, err);
  if (st != VITC_OK) return st;
  vitc_contiguous_strides(in[0]->dims, r, in_strides);
  vitc_contiguous_strides(out[0].dims, r, out_strides);
  for (int i = 0; i < r; i++) {
    dims[2 * i] = repeats[i];
    dims[2 * i + 1] = in[0]->dims[i];
    src[2 * i] = 0;
    src[2 * i + 1] = in_strides[i];
    dst[2 * i] = in[0]->dims[i] * out_strides[i];
    dst[2 * i + 1] = out_strides[i];
  }
  vitc_copy_strided(out[0].data, dst, in[0]->data, src, dims, 2 * r, vitc_dtype_size(in[0]->dtype));
  return VITC_OK;
}

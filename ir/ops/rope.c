/* rope.c — vitc.Rope, the rotary position embedding passes/fuse_rope recognises (EVA-02, RoPE ViTs):
 *
 *   Y[.., t, d] = X[.., t, d]                                           t < offset   (class tokens)
 *   Y[.., t, d] = X[.., t, d] · cos[t - offset, d] + R(X)[.., t, d] · sin[t - offset, d]   otherwise
 *
 *   R interleaved (pairs):  R[2i] = -X[2i + 1],  R[2i + 1] = X[2i]
 *   R rotate-half:          R[i]  = -X[i + D/2], R[i + D/2] = X[i]        i < D/2
 *
 * X is [.., N, D] with D even; cos and sin are [N - offset, D], the same for every leading index (heads,
 * batch). With `rotated` = R, X is [.., N, F] instead: its first R columns (R a multiple of D, at most F) are
 * groups of D rotated alike, the rest pass through: the heads of q and k side by side in the rows of a
 * fused qkv projection, where fuse_rope moves the rotation so the attention reads q, k and v as in a plain
 * ViT. Computed in double like the other evaluators. */
#include "ops.h"

/* The partner of column d under R and the sign it enters with. */
static int64_t rope_partner(int64_t d, int64_t dim, bool interleaved, double *sign) {
  if (interleaved) {
    *sign = d % 2 ? 1.0 : -1.0;
    return d ^ 1;
  }
  *sign = d < dim / 2 ? -1.0 : 1.0;
  return d < dim / 2 ? d + dim / 2 : d - dim / 2;
}

vitc_status shape_rope(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  const vitc_value *x = in[0];
  int64_t offset = vitc_attr_int(n, "offset", 0), interleaved = vitc_attr_int(n, "interleaved", 0);
  if (!vitc_dtype_is_float(x->dtype) || x->rank < 2)
    return vitc_fail(err, VITC_ERR_INVALID, "Rope needs a floating-point X of rank >= 2");
  if (interleaved != 0 && interleaved != 1)
    return vitc_fail(err, VITC_ERR_INVALID, "Rope interleaved is %lld, expected 0 or 1", (long long)interleaved);
  int64_t tokens = x->dims[x->rank - 2], width = x->dims[x->rank - 1], dim = in[1]->rank == 2 ? in[1]->dims[1] : 0;
  int64_t rotated = vitc_attr_int(n, "rotated", width);
  if (dim <= 0 || dim % 2 || rotated < 0 || rotated > width || rotated % dim)
    return vitc_fail(err, VITC_ERR_INVALID, "Rope rotates %lld of %lld columns in groups of the tables' %lld: not a "
                     "multiple of an even group within the row", (long long)rotated, (long long)width, (long long)dim);
  if (offset < 0 || offset > tokens)
    return vitc_fail(err, VITC_ERR_INVALID, "Rope offset %lld is outside the %lld tokens", (long long)offset,
                     (long long)tokens);
  for (int k = 1; k <= 2; k++)
    if (in[k]->dtype != x->dtype || in[k]->rank != 2 || in[k]->dims[0] != tokens - offset || in[k]->dims[1] != dim)
      return vitc_fail(err, VITC_ERR_INVALID, "Rope %s must be [%lld, %lld] of X's dtype (tokens after the offset, D)",
                       k == 1 ? "cos" : "sin", (long long)(tokens - offset), (long long)dim);
  vitc_copy_type(&out[0], x);
  return VITC_OK;
}

vitc_status eval_Rope(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  const vitc_value *x = in[0], *cos = in[1], *sin = in[2];
  int64_t offset = vitc_attr_int(n, "offset", 0);
  bool interleaved = vitc_attr_int(n, "interleaved", 0);
  int64_t tokens = x->dims[x->rank - 2], width = x->dims[x->rank - 1], dim = cos->dims[1];
  int64_t rotated = vitc_attr_int(n, "rotated", width), rows = width ? vitc_numel(x) / width : 0;
  (void)err;
  for (int64_t r = 0; r < rows; r++) {
    int64_t t = r % tokens - offset;
    for (int64_t c = 0; c < width; c++) {
      double v = vitc_load_f(x, r * width + c), sign;
      if (t >= 0 && c < rotated) {
        int64_t d = c % dim, p = c - d + rope_partner(d, dim, interleaved, &sign);
        v = v * vitc_load_f(cos, t * dim + d) + sign * vitc_load_f(x, r * width + p) * vitc_load_f(sin, t * dim + d);
      }
      vitc_store_f(&out[0], r * width + c, v);
    }
  }
  return VITC_OK;
}

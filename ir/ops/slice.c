/* slice.c — ops that cut or join tensors along axes: Concat, Split, Slice and Pad. Concat and Split
 * move whole contiguous blocks; Slice and Pad go through the strided copy. */
#include <stdlib.h>

#include "movement.h"

/* ---------------------------------------------------------------- Concat */

vitc_status shape_concat(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  const vitc_attr *axis_attr = vitc_attr_find(n, "axis");
  if (!axis_attr) return vitc_fail(err, VITC_ERR_INVALID, "Concat needs an axis attribute");
  const vitc_value *first = in[0];
  for (int i = 0; i < n->nin; i++)
    if (!in[i]) return vitc_fail(err, VITC_ERR_INVALID, "Concat input %d is missing", i);
  if (first->rank == 0) return vitc_fail(err, VITC_ERR_INVALID, "Concat cannot join scalars");
  int axis;
  vitc_status st = vitc_normalize_axis(vitc_attr_int(n, "axis", 0), first->rank, &axis, err);
  if (st != VITC_OK) return st;
  vitc_copy_type(&out[0], first);
  out[0].dims[axis] = 0;
  for (int i = 0; i < n->nin; i++) {
    const vitc_value *v = in[i];
    char s0[256], si[256];
    if (v->dtype != first->dtype || v->rank != first->rank)
      return vitc_fail(err, VITC_ERR_INVALID, "Concat input %d is %s, input 0 is %s", i,
                       vitc_value_type_str(v, si, sizeof si), vitc_value_type_str(first, s0, sizeof s0));
    for (int d = 0; d < v->rank; d++)
      if (d != axis && v->dims[d] != first->dims[d])
        return vitc_fail(err, VITC_ERR_INVALID, "Concat input %d is %s, input 0 is %s: they differ off axis %d", i,
                         vitc_value_type_str(v, si, sizeof si), vitc_value_type_str(first, s0, sizeof s0), axis);
    out[0].dims[axis] += v->dims[axis];
  }
  int64_t count;
  if (!vitc_checked_numel(out[0].dims, out[0].rank, &count))
    return vitc_fail(err, VITC_ERR_INVALID, "Concat's output is too large");
  return VITC_OK;
}

/* Each outer index takes one block of dims[axis] * inner elements from every input in turn. */
vitc_status eval_Concat(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  int axis = (int)vitc_attr_int(n, "axis", 0);
  if (axis < 0) axis += out[0].rank;
  size_t esize = vitc_dtype_size(out[0].dtype);
  int64_t outer = vitc_dims_product(out[0].dims, 0, axis), inner = vitc_dims_product(out[0].dims, axis + 1, out[0].rank);
  char *dst = out[0].data;
  for (int64_t o = 0; o < outer; o++)
    for (int i = 0; i < n->nin; i++) {
      size_t block = (size_t)(in[i]->dims[axis] * inner) * esize;
      if (block) memcpy(dst, (const char *)in[i]->data + (size_t)o * block, block); /* empty inputs may lack data */
      dst += block;
    }
  return VITC_OK;
}

/* ---------------------------------------------------------------- Split */

/* Sizes from input 1; else num_outputs chunks (opset 18) or n->nout chunks of ceil(dim / n) with the
 * last one smaller. */
static vitc_status split_sizes(const vitc_node *n, const vitc_value *const *in, int *axis, int64_t *sizes,
                               vitc_error *err) {
  const vitc_value *x = in[0], *split = vitc_optional_input(n, in, 1);
  vitc_status st = vitc_normalize_axis(vitc_attr_int(n, "axis", 0), x->rank, axis, err);
  if (st != VITC_OK) return st;
  if (x->rank == 0) return vitc_fail(err, VITC_ERR_INVALID, "Split cannot split a scalar");
  int64_t dim = x->dims[*axis];
  if (split) {
    int len;
    int64_t total = 0;
    st = vitc_read_int_list(split, "Split's sizes", sizes, n->nout, &len, err);
    if (st != VITC_OK) return st;
    if (len != n->nout) return vitc_fail(err, VITC_ERR_INVALID, "Split has %d sizes for %d outputs", len, n->nout);
    for (int k = 0; k < len; k++) {
      if (sizes[k] < 0 || sizes[k] > dim)
        return vitc_fail(err, VITC_ERR_INVALID, "Split size %lld is out of range for an axis of size %lld",
                         (long long)sizes[k], (long long)dim);
      total += sizes[k];
    }
    if (total != dim)
      return vitc_fail(err, VITC_ERR_INVALID, "Split sizes add up to %lld, the axis has %lld", (long long)total,
                       (long long)dim);
    return VITC_OK;
  }
  int64_t parts = vitc_attr_int(n, "num_outputs", n->nout);
  if (parts != n->nout)
    return vitc_fail(err, VITC_ERR_INVALID, "Split's num_outputs %lld differs from its %d outputs", (long long)parts,
                     n->nout);
  int64_t chunk = (dim + parts - 1) / parts, last = dim - chunk * (parts - 1);
  if (last < 0 || (last != chunk && n->opset < 18))
    return vitc_fail(err, VITC_ERR_INVALID, "an axis of size %lld does not split into %lld parts", (long long)dim,
                     (long long)parts);
  for (int k = 0; k < n->nout; k++) sizes[k] = k + 1 < n->nout ? chunk : last;
  return VITC_OK;
}

vitc_status shape_split(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  int64_t *sizes = malloc(sizeof(int64_t) * (size_t)n->nout);
  int axis;
  if (!sizes) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  vitc_status st = split_sizes(n, in, &axis, sizes, err);
  for (int k = 0; st == VITC_OK && k < n->nout; k++) {
    vitc_copy_type(&out[k], in[0]);
    out[k].dims[axis] = sizes[k];
  }
  free(sizes);
  return st;
}

vitc_status eval_Split(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  const vitc_value *x = in[0];
  int axis = (int)vitc_attr_int(n, "axis", 0);
  if (axis < 0) axis += x->rank;
  size_t esize = vitc_dtype_size(x->dtype);
  int64_t outer = vitc_dims_product(x->dims, 0, axis), inner = vitc_dims_product(x->dims, axis + 1, x->rank);
  size_t row = (size_t)(x->dims[axis] * inner) * esize, offset = 0;
  for (int k = 0; k < n->nout; k++) {
    size_t block = (size_t)(out[k].dims[axis] * inner) * esize;
    for (int64_t o = 0; o < outer && block; o++) /* an empty input may lack data */
      memcpy((char *)out[k].data + (size_t)o * block, (const char *)x->data + (size_t)o * row + offset, block);
    offset += block;
  }
  return VITC_OK;
}

/* ---------------------------------------------------------------- Slice */

/* First element and step per dim of x (0 and 1 for dims not sliced), and the output dims. */
typedef struct slice_plan {
  int64_t start[VITC_MAX_RANK], step[VITC_MAX_RANK], count[VITC_MAX_RANK];
} slice_plan;

/* ONNX's clamping: negative starts and ends count from the end; then for step > 0 both clamp to
 * [0, dim], for step < 0 start clamps to [0, dim - 1] and end to [-1, dim - 1] (so INT64_MIN reaches
 * the front). */
static void clamp_slice_axis(int64_t dim, int64_t start, int64_t end, int64_t step, int64_t *first,
                             int64_t *capped_step, int64_t *count) {
  int64_t lo = step > 0 ? 0 : -1, hi = step > 0 ? dim : dim - 1;
  if (start < 0) start += dim;
  if (end < 0) end += dim;
  start = start < 0 ? 0 : start > hi ? hi : start;
  end = end < lo ? lo : end > hi ? hi : end;
  /* |step| beyond dim selects at most one element either way; capping it keeps stride products small. */
  int64_t cap = dim > 1 ? dim : 1;
  int64_t s = step > cap ? cap : step < -cap ? -cap : step;
  int64_t span = s > 0 ? end - start : start - end, mag = s > 0 ? s : -s;
  *count = span > 0 ? (span + mag - 1) / mag : 0;
  *first = *count ? start : 0;
  *capped_step = s;
}

static vitc_status make_slice_plan(const vitc_node *n, const vitc_value *const *in, slice_plan *p,
                                   vitc_error *err) {
  const vitc_value *x = in[0], *axes_in = vitc_optional_input(n, in, 3), *steps_in = vitc_optional_input(n, in, 4);
  int64_t starts[VITC_MAX_RANK], ends[VITC_MAX_RANK], axes[VITC_MAX_RANK], steps[VITC_MAX_RANK];
  int ns, ne, na, nst, r = x->rank;
  vitc_status st = vitc_read_int_list(in[1], "Slice's starts", starts, VITC_MAX_RANK, &ns, err);
  if (st == VITC_OK) st = vitc_read_int_list(in[2], "Slice's ends", ends, VITC_MAX_RANK, &ne, err);
  if (st == VITC_OK && axes_in) st = vitc_read_int_list(axes_in, "Slice's axes", axes, VITC_MAX_RANK, &na, err);
  if (st == VITC_OK && steps_in) st = vitc_read_int_list(steps_in, "Slice's steps", steps, VITC_MAX_RANK, &nst, err);
  if (st != VITC_OK) return st;
  if (!axes_in)
    for (na = 0; na < ns; na++) axes[na] = na;
  if (!steps_in)
    for (nst = 0; nst < ns; nst++) steps[nst] = 1;
  if (ne != ns || na != ns || nst != ns)
    return vitc_fail(err, VITC_ERR_INVALID, "Slice has %d starts, %d ends, %d axes and %d steps", ns, ne, na, nst);
  bool sliced[VITC_MAX_RANK] = {false};
  for (int d = 0; d < r; d++) {
    p->start[d] = 0;
    p->step[d] = 1;
    p->count[d] = x->dims[d];
  }
  for (int i = 0; i < ns; i++) {
    int a;
    if (r == 0) return vitc_fail(err, VITC_ERR_INVALID, "Slice cannot slice a scalar");
    st = vitc_normalize_axis(axes[i], r, &a, err);
    if (st != VITC_OK) return st;
    if (sliced[a]) return vitc_fail(err, VITC_ERR_INVALID, "Slice repeats axis %d", a);
    if (steps[i] == 0) return vitc_fail(err, VITC_ERR_INVALID, "Slice step on axis %d is 0", a);
    sliced[a] = true;
    clamp_slice_axis(x->dims[a], starts[i], ends[i], steps[i], &p->start[a], &p->step[a], &p->count[a]);
  }
  return VITC_OK;
}

vitc_status shape_slice(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  slice_plan p;
  vitc_status st = make_slice_plan(n, in, &p, err);
  if (st != VITC_OK) return st;
  vitc_copy_type(&out[0], in[0]);
  memcpy(out[0].dims, p.count, sizeof(int64_t) * (size_t)in[0]->rank);
  return VITC_OK;
}

vitc_status eval_Slice(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  slice_plan p;
  vitc_status st = make_slice_plan(n, in, &p, err);
  if (st != VITC_OK) return st;
  int r = in[0]->rank;
  size_t esize = vitc_dtype_size(in[0]->dtype);
  int64_t in_strides[VITC_MAX_RANK], src[VITC_MAX_RANK], dst[VITC_MAX_RANK], offset = 0;
  vitc_contiguous_strides(in[0]->dims, r, in_strides);
  vitc_contiguous_strides(out[0].dims, r, dst);
  for (int d = 0; d < r; d++) {
    offset += p.start[d] * in_strides[d];
    src[d] = in_strides[d] * p.step[d];
  }
  if (vitc_numel(&out[0]) == 0) return VITC_OK;
  vitc_copy_strided(out[0].data, dst, (const char *)in[0]->data + offset * (int64_t)esize, src, out[0].dims, r, esize);
  return VITC_OK;
}

/* ---------------------------------------------------------------- Pad */

typedef enum pad_mode { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP } pad_mode;

/* Elements added before and after each dim (negative crops), from pads [b_1..b_k, e_1..e_k] over the
 * optional axes input, and the mode. */
typedef struct pad_plan {
  int64_t before[VITC_MAX_RANK], after[VITC_MAX_RANK];
  pad_mode mode;
} pad_plan;

static vitc_status make_pad_plan(const vitc_node *n, const vitc_value *const *in, pad_plan *p, vitc_error *err) {
  const vitc_value *x = in[0], *axes_in = vitc_optional_input(n, in, 3);
  int r = x->rank, npads, naxes;
  int64_t pads[2 * VITC_MAX_RANK], axes[VITC_MAX_RANK];
  vitc_status st = vitc_read_int_list(in[1], "Pad's pads", pads, 2 * VITC_MAX_RANK, &npads, err);
  if (st == VITC_OK && axes_in) st = vitc_read_int_list(axes_in, "Pad's axes", axes, VITC_MAX_RANK, &naxes, err);
  if (st != VITC_OK) return st;
  if (!axes_in)
    for (naxes = 0; naxes < r; naxes++) axes[naxes] = naxes;
  if (npads != 2 * naxes)
    return vitc_fail(err, VITC_ERR_INVALID, "Pad has %d pads for %d axes (needs twice as many)", npads, naxes);
  const char *mode = vitc_attr_str(n, "mode", "constant");
  if (!strcmp(mode, "constant")) p->mode = PAD_CONSTANT;
  else if (!strcmp(mode, "reflect")) p->mode = PAD_REFLECT;
  else if (!strcmp(mode, "edge")) p->mode = PAD_EDGE;
  else if (!strcmp(mode, "wrap")) p->mode = PAD_WRAP;
  else return vitc_fail(err, VITC_ERR_INVALID, "Pad mode '%s' is not constant, reflect, edge or wrap", mode);
  bool seen[VITC_MAX_RANK] = {false};
  memset(p->before, 0, sizeof p->before);
  memset(p->after, 0, sizeof p->after);
  for (int i = 0; i < naxes; i++) {
    int a;
    if (axes[i] < -r || axes[i] >= r)
      return vitc_fail(err, VITC_ERR_INVALID, "axis %lld is out of range for rank %d", (long long)axes[i], r);
    a = (int)(axes[i] < 0 ? axes[i] + r : axes[i]);
    if (seen[a]) return vitc_fail(err, VITC_ERR_INVALID, "Pad repeats axis %d", a);
    seen[a] = true;
    p->before[a] = pads[i];
    p->after[a] = pads[naxes + i];
    int64_t dim = x->dims[a], limit = INT64_MAX / 16;
    if (pads[i] > limit || pads[i] < -limit || pads[naxes + i] > limit || pads[naxes + i] < -limit ||
        dim + pads[i] + pads[naxes + i] < 0)
      return vitc_fail(err, VITC_ERR_INVALID, "pads %lld and %lld do not fit axis %d of size %lld",
                       (long long)pads[i], (long long)pads[naxes + i], a, (long long)dim);
    if (p->mode != PAD_CONSTANT && dim == 0 && (pads[i] > 0 || pads[naxes + i] > 0))
      return vitc_fail(err, VITC_ERR_INVALID, "Pad in %s mode cannot extend the empty axis %d", mode, a);
  }
  return VITC_OK;
}

vitc_status shape_pad(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  pad_plan p;
  vitc_status st = make_pad_plan(n, in, &p, err);
  if (st != VITC_OK) return st;
  vitc_copy_type(&out[0], in[0]);
  for (int d = 0; d < in[0]->rank; d++) out[0].dims[d] += p.before[d] + p.after[d];
  int64_t count;
  if (!vitc_checked_numel(out[0].dims, out[0].rank, &count))
    return vitc_fail(err, VITC_ERR_INVALID, "Pad's output is too large");
  return VITC_OK;
}

/* Fills the output with the constant, then copies the part of the input that survives cropping. */
static vitc_status pad_constant(const vitc_node *n, const vitc_value *const *in, const pad_plan *p, vitc_value *out,
                                vitc_error *err) {
  const vitc_value *x = in[0], *value = vitc_optional_input(n, in, 2);
  size_t esize = vitc_dtype_size(x->dtype);
  int r = x->rank;
  uint64_t zero = 0;
  const void *fill = &zero;
  if (value && vitc_numel(value) > 0) {
    if (value->dtype != x->dtype)
      return vitc_fail(err, VITC_ERR_INVALID, "Pad's constant_value is %s, the data is %s",
                       vitc_dtype_name(value->dtype), vitc_dtype_name(x->dtype));
    fill = value->data;
  }
  vitc_fill_elements(out->data, vitc_numel(out), fill, esize);
  int64_t in_strides[VITC_MAX_RANK], out_strides[VITC_MAX_RANK], dims[VITC_MAX_RANK], src = 0, dst = 0;
  vitc_contiguous_strides(x->dims, r, in_strides);
  vitc_contiguous_strides(out->dims, r, out_strides);
  for (int d = 0; d < r; d++) {
    int64_t crop_front = p->before[d] < 0 ? -p->before[d] : 0, crop_back = p->after[d] < 0 ? -p->after[d] : 0;
    dims[d] = x->dims[d] - crop_front - crop_back;
    if (dims[d] <= 0) return VITC_OK; /* everything cropped: only the constant remains */
    src += crop_front * in_strides[d];
    dst += (p->before[d] > 0 ? p->before[d] : 0) * out_strides[d];
  }
  vitc_copy_strided((char *)out->data + dst * (int64_t)esize, out_strides, (const char *)x->data + src * (int64_t)esize,
                    in_strides, dims, r, esize);
  return VITC_OK;
}

/* Source index of output position i along an axis of size dim padded by `before`. */
static int64_t pad_source_index(pad_mode mode, int64_t i, int64_t before, int64_t dim) {
  int64_t x = i - before;
  if (mode == PAD_EDGE) return x < 0 ? 0 : x >= dim ? dim - 1 : x;
  if (mode == PAD_WRAP) return ((x % dim) + dim) % dim;
  if (dim == 1) return 0;
  int64_t period = 2 * (dim - 1), m = ((x % period) + period) % period; /* reflect: 0 1 .. d-1 d-2 .. 1 */
  return m < dim ? m : period - m;
}

/* reflect, edge and wrap: every output element reads one input element through per-axis index maps. */
static vitc_status pad_gather(const vitc_value *x, const pad_plan *p, vitc_value *out, vitc_error *err) {
  int r = x->rank;
  size_t esize = vitc_dtype_size(x->dtype);
  int64_t in_strides[VITC_MAX_RANK], total_map = 0;
  vitc_contiguous_strides(x->dims, r, in_strides);
  for (int d = 0; d < r; d++) total_map += out->dims[d];
  if (vitc_numel(out) == 0) return VITC_OK;
  int64_t *maps = malloc(sizeof(int64_t) * (size_t)(total_map ? total_map : 1)), *map[VITC_MAX_RANK];
  if (!maps) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  int64_t used = 0;
  for (int d = 0; d < r; used += out->dims[d], d++) {
    map[d] = maps + used;
    for (int64_t i = 0; i < out->dims[d]; i++)
      map[d][i] = pad_source_index(p->mode, i, p->before[d], x->dims[d]) * in_strides[d];
  }
  int64_t idx[VITC_MAX_RANK] = {0}, count = vitc_numel(out);
  char *dst = out->data;
  for (int64_t k = 0; k < count; k++) {
    int64_t src = 0;
    for (int d = 0; d < r; d++) src += map[d][idx[d]];
    vitc_copy_bytes(dst + k * (int64_t)esize, (const char *)x->data + src * (int64_t)esize, esize);
    for (int d = r - 1; d >= 0 && ++idx[d] == out->dims[d]; d--) idx[d] = 0;
  }
  free(maps);
  return VITC_OK;
}

vitc_status eval_Pad(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  pad_plan p;
  vitc_status st = make_pad_plan(n, in, &p, err);
  if (st != VITC_OK) return st;
  return p.mode == PAD_CONSTANT ? pad_constant(n, in, &p, &out[0], err) : pad_gather(in[0], &p, &out[0], err);
}

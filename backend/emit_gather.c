/* emit_gather.c — gathers and scatters that index at run time, and OneHot.
 *
 * emit_probe.c turns a Gather or Scatter whose indices are compile-time constants into plain copies. When
 * the indices arrive only at run time (or a scatter combines rather than moves), it hands the node to
 * emit_indexed here, whose kernels read each index as they go:
 *
 *   Gather           out[o, j, i] = x[o, fix(idx[j]), i]
 *   GatherElements   out[p]       = x[p with p[axis] = fix(idx[p])]
 *   GatherND         out[b, g, :] = x[b, fix(idx[b, g, 0]), …, fix(idx[b, g, k-1]), :]
 *   ScatterND        out = x;  out[tuple t, :] ⊕= upd[t, :]              (⊕: none add mul max min)
 *   ScatterElements  out = x;  out[p with p[axis] = idx[p]] ⊕= upd[p]
 *   OneHot           out[o, d, i] = fix(idx[o, i]) == d ? on : off
 *
 * Negative indices count from the end of their axis. An index still out of range is an error, as for the
 * evaluator: the kernel records it in the context (cg_index_error; the run stops after the node) and
 * finishes without leaving its buffers, gathers reading a clamped index, scatters dropping the update.
 * OneHot is not checked: ONNX defines an index outside [-depth, depth) as a row of off values. */
#include <string.h>

#include "emitters.h"
#include "vec.h"

static int64_t dims_product(const int64_t *dims, int from, int to) {
  int64_t p = 1;
  for (int d = from; d < to; d++) p *= dims[d];
  return p;
}

static int attr_axis(const vitc_node *n, int64_t dflt, int rank) { return cg_axis(vitc_attr_int(n, "axis", dflt), rank); }

/* Address of element i of an array of esize-byte elements. */
static LLVMValueRef elem_ptr(vitc_cg *cg, LLVMValueRef base, LLVMValueRef i, size_t esize) {
  return cg_gep(cg, cg->i8, base, ix_mulk(cg, i, (int64_t)esize));
}

static LLVMValueRef in_range(vitc_cg *cg, LLVMValueRef v, int64_t dim) {
  return vec_icmp(cg, LLVMIntULT, v, cg_i64(cg, dim)); /* unsigned: negatives are huge */
}

/* Index i of input k, negative ones counted from the end of an axis of length dim; one still outside
 * [0, dim) is recorded as the node's error (branching to the rare call keeps the loop's path short).
 * *valid (when not NULL) receives whether it was in range. */
static LLVMValueRef load_index(vitc_cg *cg, int k, LLVMValueRef i, int64_t dim, LLVMValueRef *valid) {
  LLVMValueRef v = cg_load(cg, cg_in(cg, k), i, cg_in_value(cg, k)->dtype);
  LLVMValueRef neg = vec_icmp(cg, LLVMIntSLT, v, cg_i64(cg, 0));
  LLVMValueRef pos = vec_select(cg, neg, ix_add(cg, v, cg_i64(cg, dim)), v), ok = in_range(cg, pos, dim);
  cg_if bad = cg_if_begin(cg, vec_not(cg, ok));
  cg_index_error(cg, v, dim);
  cg_if_end(cg, &bad);
  if (valid) *valid = ok;
  return pos;
}

/* The index clamped into [0, dim): what a gather reads for one out of range, so that it stays inside
 * its buffer while the error stops the run. */
static LLVMValueRef clamp_index(vitc_cg *cg, LLVMValueRef v, int64_t dim) {
  LLVMValueRef low = vec_icmp(cg, LLVMIntSLT, v, cg_i64(cg, 0));
  v = vec_select(cg, low, cg_i64(cg, 0), v);
  LLVMValueRef high = vec_icmp(cg, LLVMIntSGE, v, cg_i64(cg, dim));
  return vec_select(cg, high, cg_i64(cg, dim - 1), v);
}

/* Loops over a shape: begin leaves the builder innermost with ivs[d] set and returns the row-major
 * linear index; end closes them. Rank 0 is one iteration. */
typedef struct nest {
  int rank;
  cg_loop loops[VITC_MAX_RANK];
} nest;

static LLVMValueRef nest_begin(vitc_cg *cg, nest *ns, const int64_t *dims, int rank, LLVMValueRef *ivs) {
  LLVMValueRef linear = cg_i64(cg, 0);
  ns->rank = rank;
  for (int d = 0; d < rank; d++) {
    ns->loops[d] = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, dims[d]), 1);
    ivs[d] = ns->loops[d].iv;
    linear = ix_add(cg, ix_mulk(cg, linear, dims[d]), ivs[d]);
  }
  return linear;
}

static void nest_end(vitc_cg *cg, nest *ns) {
  for (int d = ns->rank - 1; d >= 0; d--) cg_loop_end(cg, &ns->loops[d]);
}

/* ---------------------------------------------------------------- gathers */

static vitc_status emit_gather(vitc_cg *cg, const vitc_node *n) {
  const vitc_value *x = cg_in_value(cg, 0), *idx = cg_in_value(cg, 1);
  int axis = attr_axis(n, 0, x->rank);
  int64_t dim = x->dims[axis], count = vitc_numel(idx);
  int64_t outer = dims_product(x->dims, 0, axis), inner = dims_product(x->dims, axis + 1, x->rank);
  size_t es = vitc_dtype_size(x->dtype);
  if (!outer || !count || !inner || !dim) return VITC_OK; /* nothing to read (dim 0: nothing valid either) */
  cg_loop j = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, count), 1);
  LLVMValueRef pos = clamp_index(cg, load_index(cg, 1, j.iv, dim, NULL), dim);
  cg_loop o = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, outer), 1);
  LLVMValueRef src = ix_mulk(cg, ix_add(cg, ix_mulk(cg, o.iv, dim), pos), inner);
  LLVMValueRef dst = ix_mulk(cg, ix_add(cg, ix_mulk(cg, o.iv, count), j.iv), inner);
  cg_memcpy(cg, elem_ptr(cg, cg_out(cg, 0), dst, es), elem_ptr(cg, cg_in(cg, 0), src, es), cg_i64(cg, inner * (int64_t)es));
  cg_loop_end(cg, &o);
  cg_loop_end(cg, &j);
  return VITC_OK;
}

static vitc_status emit_gather_elements(vitc_cg *cg, const vitc_node *n) {
  const vitc_value *x = cg_in_value(cg, 0), *idx = cg_in_value(cg, 1);
  int r = x->rank, axis = attr_axis(n, 0, r);
  size_t es = vitc_dtype_size(x->dtype);
  if (!vitc_numel(idx) || !x->dims[axis]) return VITC_OK;
  LLVMValueRef ivs[VITC_MAX_RANK];
  nest ns;
  LLVMValueRef k = nest_begin(cg, &ns, idx->dims, r, ivs);
  LLVMValueRef src = cg_i64(cg, 0);
  for (int d = 0; d < r; d++) {
    LLVMValueRef at = d == axis ? clamp_index(cg, load_index(cg, 1, k, x->dims[d], NULL), x->dims[d]) : ivs[d];
    src = ix_add(cg, ix_mulk(cg, src, x->dims[d]), at);
  }
  cg_memcpy(cg, elem_ptr(cg, cg_out(cg, 0), k, es), elem_ptr(cg, cg_in(cg, 0), src, es), cg_i64(cg, (int64_t)es));
  nest_end(cg, &ns);
  return VITC_OK;
}

/* Row-major offset of index tuple t (k entries at idx[t*k…]) within data dims [first, first+k); *valid
 * (when not NULL) says whether every entry was in range, otherwise entries are clamped. Entries out of
 * range are the node's error either way. */
static LLVMValueRef tuple_offset(vitc_cg *cg, LLVMValueRef t, int k, const int64_t *dims, LLVMValueRef *valid) {
  LLVMValueRef offset = cg_i64(cg, 0);
  if (valid) *valid = LLVMConstInt(cg->i1, 1, false);
  for (int j = 0; j < k; j++) {
    LLVMValueRef ok, pos = load_index(cg, 1, ix_add(cg, ix_mulk(cg, t, k), cg_i64(cg, j)), dims[j], &ok);
    if (valid) *valid = vec_and(cg, *valid, ok);
    else pos = clamp_index(cg, pos, dims[j]);
    offset = ix_add(cg, ix_mulk(cg, offset, dims[j]), pos);
  }
  return offset;
}

static vitc_status emit_gather_nd(vitc_cg *cg, const vitc_node *n) {
  const vitc_value *x = cg_in_value(cg, 0), *idx = cg_in_value(cg, 1);
  int b = (int)vitc_attr_int(n, "batch_dims", 0), k = (int)idx->dims[idx->rank - 1];
  int64_t batches = dims_product(x->dims, 0, b), per_batch = dims_product(idx->dims, b, idx->rank - 1);
  int64_t slice = dims_product(x->dims, b + k, x->rank), batch_size = dims_product(x->dims, b, x->rank);
  size_t es = vitc_dtype_size(x->dtype);
  if (!batches || !per_batch || !slice || !batch_size) return VITC_OK;
  cg_loop bi = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, batches), 1);
  cg_loop g = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, per_batch), 1);
  LLVMValueRef t = ix_add(cg, ix_mulk(cg, bi.iv, per_batch), g.iv);
  LLVMValueRef src = ix_add(cg, ix_mulk(cg, bi.iv, batch_size), ix_mulk(cg, tuple_offset(cg, t, k, x->dims + b, NULL), slice));
  cg_memcpy(cg, elem_ptr(cg, cg_out(cg, 0), ix_mulk(cg, t, slice), es), elem_ptr(cg, cg_in(cg, 0), src, es),
            cg_i64(cg, slice * (int64_t)es));
  cg_loop_end(cg, &g);
  cg_loop_end(cg, &bi);
  return VITC_OK;
}

/* ---------------------------------------------------------------- scatters */

/* out[o] = out[o] ⊕ upd[u], in the data's compute type (bool through i64, as the evaluator does);
 * integers wrap. */
static void combine(vitc_cg *cg, LLVMValueRef o, LLVMValueRef u, vitc_dtype t, vitc_scatter_reduction r) {
  LLVMValueRef out = cg_out(cg, 0), upd = cg_in(cg, 2);
  if (r == VITC_SCATTER_NONE) {
    size_t es = vitc_dtype_size(t);
    cg_memcpy(cg, elem_ptr(cg, out, o, es), elem_ptr(cg, upd, u, es), cg_i64(cg, (int64_t)es));
    return;
  }
  vitc_dtype work = t == VITC_BOOL ? VITC_I64 : t;
  LLVMValueRef a = cg_convert(cg, cg_load(cg, out, o, t), t, work), b = cg_convert(cg, cg_load(cg, upd, u, t), t, work);
  LLVMValueRef v;
  if (vitc_dtype_is_float(t)) {
    v = r == VITC_SCATTER_ADD   ? vec_add(cg, a, b)
        : r == VITC_SCATTER_MUL ? vec_mul(cg, a, b)
                       : vec_select(cg, vec_cmp(cg, r == VITC_SCATTER_MAX ? LLVMRealOGT : LLVMRealOLT, a, b), a, b);
  } else {
    v = r == VITC_SCATTER_ADD   ? vec_iadd(cg, a, b)
        : r == VITC_SCATTER_MUL ? vec_imul(cg, a, b)
                       : vec_select(cg, vec_icmp(cg, r == VITC_SCATTER_MAX ? LLVMIntSGT : LLVMIntSLT, a, b), a, b);
  }
  cg_store(cg, out, o, t, cg_convert(cg, v, work, t));
}

static void copy_data(vitc_cg *cg) {
  size_t bytes = vitc_nbytes(cg_in_value(cg, 0));
  if (bytes) cg_memcpy(cg, cg_out(cg, 0), cg_in(cg, 0), cg_i64(cg, (int64_t)bytes));
}

static vitc_status emit_scatter_nd(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  const vitc_value *x = cg_in_value(cg, 0), *idx = cg_in_value(cg, 1);
  vitc_scatter_reduction r;
  vitc_status st = vitc_scatter_reduction_of(n, &r, err);
  if (st) return st;
  int k = (int)idx->dims[idx->rank - 1];
  int64_t tuples = vitc_numel(idx) / k, slice = dims_product(x->dims, k, x->rank);
  copy_data(cg);
  if (!tuples || !slice) return VITC_OK;
  cg_loop t = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, tuples), 1);
  LLVMValueRef valid, offset = ix_mulk(cg, tuple_offset(cg, t.iv, k, x->dims, &valid), slice);
  cg_if ok = cg_if_begin(cg, valid);
  cg_loop i = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, slice), 1);
  combine(cg, ix_add(cg, offset, i.iv), ix_add(cg, ix_mulk(cg, t.iv, slice), i.iv), x->dtype, r);
  cg_loop_end(cg, &i);
  cg_if_end(cg, &ok);
  cg_loop_end(cg, &t);
  return VITC_OK;
}

static vitc_status emit_scatter_elements(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  const vitc_value *x = cg_in_value(cg, 0), *idx = cg_in_value(cg, 1);
  int rank = x->rank, axis = attr_axis(n, 0, rank);
  vitc_scatter_reduction r;
  vitc_status st = vitc_scatter_reduction_of(n, &r, err);
  if (st) return st;
  copy_data(cg);
  if (!vitc_numel(idx)) return VITC_OK;
  LLVMValueRef ivs[VITC_MAX_RANK], valid = NULL;
  nest ns;
  LLVMValueRef u = nest_begin(cg, &ns, idx->dims, rank, ivs), o = cg_i64(cg, 0);
  for (int d = 0; d < rank; d++)
    o = ix_add(cg, ix_mulk(cg, o, x->dims[d]), d == axis ? load_index(cg, 1, u, x->dims[d], &valid) : ivs[d]);
  cg_if ok = cg_if_begin(cg, valid);
  combine(cg, o, u, x->dtype, r);
  cg_if_end(cg, &ok);
  nest_end(cg, &ns);
  return VITC_OK;
}

vitc_status emit_indexed(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  switch (n->op) {
  case VITC_OP_Gather: return emit_gather(cg, n);
  case VITC_OP_GatherElements: return emit_gather_elements(cg, n);
  case VITC_OP_GatherND: return emit_gather_nd(cg, n);
  case VITC_OP_ScatterND: return emit_scatter_nd(cg, n, err);
  case VITC_OP_ScatterElements: return emit_scatter_elements(cg, n, err);
  default: return vitc_fail(err, VITC_ERR_INTERNAL, "%s does not index at run time", vitc_ops[n->op].name);
  }
}

/* ---------------------------------------------------------------- OneHot */

/* Indices of any numeric type go through double, as the evaluator reads them; on and off are copied
 * bit for bit. */
vitc_status emit_OneHot(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  const vitc_value *idx = cg_in_value(cg, 0), *out = cg_out_value(cg, 0);
  int axis = attr_axis(n, -1, idx->rank + 1);
  int64_t depth = out->dims[axis], outer = dims_product(idx->dims, 0, axis);
  int64_t inner = dims_product(idx->dims, axis, idx->rank);
  size_t es = vitc_dtype_size(out->dtype);
  LLVMTypeRef et = LLVMIntTypeInContext(cg->llvm, (unsigned)(8 * es));
  if (!vitc_numel(out)) return VITC_OK;
  LLVMValueRef off = vec_load1(cg, et, cg_in(cg, 2));
  LLVMValueRef on = vec_load1(cg, et, cg_gep(cg, et, cg_in(cg, 2), cg_i64(cg, 1)));
  cg_loop o = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, outer), 1);
  cg_loop d = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, depth), 1);
  cg_loop i = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, inner), 1);
  LLVMValueRef v = cg_convert(cg, cg_load(cg, cg_in(cg, 0), ix_add(cg, ix_mulk(cg, o.iv, inner), i.iv), idx->dtype), idx->dtype, VITC_F64);
  LLVMValueRef ok = vec_and(cg, vec_cmp(cg, LLVMRealOGE, v, LLVMConstReal(cg->f64, (double)-depth)), vec_cmp(cg, LLVMRealOLT, v, LLVMConstReal(cg->f64, (double)depth)));
  LLVMValueRef pos = vec_fptosi(cg, vec_select(cg, ok, v, LLVMConstReal(cg->f64, 0)), cg->i64);
  pos = vec_select(cg, vec_icmp(cg, LLVMIntSLT, pos, cg_i64(cg, 0)), ix_add(cg, pos, cg_i64(cg, depth)), pos);
  LLVMValueRef hit = vec_and(cg, ok, vec_icmp(cg, LLVMIntEQ, pos, d.iv));
  LLVMValueRef at = ix_add(cg, ix_mulk(cg, ix_add(cg, ix_mulk(cg, o.iv, depth), d.iv), inner), i.iv);
  vec_store1(cg, vec_select(cg, hit, on, off), cg_gep(cg, et, cg_out(cg, 0), at));
  cg_loop_end(cg, &i);
  cg_loop_end(cg, &d);
  cg_loop_end(cg, &o);
  return VITC_OK;
}

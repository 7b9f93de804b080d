/* elementwise.c — shape rules of the elementwise ops (shared with every op whose output is typed like its
 * first input), the broadcast walker, and the drivers that run unary and binary ops over any dtype.
 * The ops themselves live in unary.c, activations.c, arith.c, compare.c and cast.c. */
#include <string.h>

#include "elementwise.h"

/* ---------------------------------------------------------------- shape rules */

vitc_status shape_same(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  vitc_copy_type(&out[0], in[0]);
  return VITC_OK;
}

vitc_status shape_same_bool(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  vitc_copy_type(&out[0], in[0]);
  out[0].dtype = VITC_BOOL;
  return VITC_OK;
}

/* Broadcasts every present input together; the result takes the first input's dtype. */
static vitc_status broadcast_all(int nin, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  vitc_value acc = {0};
  vitc_copy_type(&acc, in[0]);
  for (int k = 1; k < nin; k++) {
    if (!in[k]) continue;
    vitc_value next = {.dtype = acc.dtype};
    vitc_status st = vitc_broadcast_shape(&acc, in[k], next.dims, &next.rank, err);
    if (st != VITC_OK) return st;
    acc = next;
  }
  vitc_copy_type(out, &acc);
  return VITC_OK;
}

vitc_status shape_broadcast(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  return broadcast_all(n->nin, in, &out[0], err);
}

vitc_status shape_broadcast_bool(const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                                 vitc_error *err) {
  vitc_status st = broadcast_all(n->nin, in, &out[0], err);
  out[0].dtype = VITC_BOOL;
  return st;
}

vitc_status ew_require_bool(const vitc_value *v, const char *what, vitc_error *err) {
  if (v->dtype == VITC_BOOL) return VITC_OK;
  return vitc_fail(err, VITC_ERR_INVALID, "%s must be bool, not %s", what,
                   vitc_dtype_name(v->dtype) ? vitc_dtype_name(v->dtype) : "an unknown dtype");
}

vitc_status shape_where(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  vitc_status st = ew_require_bool(in[0], "the condition", err);
  if (st != VITC_OK) return st;
  if (in[1]->dtype != in[2]->dtype)
    return vitc_fail(err, VITC_ERR_INVALID, "X and Y have different dtypes %s and %s",
                     vitc_dtype_name(in[1]->dtype), vitc_dtype_name(in[2]->dtype));
  st = broadcast_all(3, in, &out[0], err);
  out[0].dtype = in[1]->dtype;
  return st;
}

/* ONNX TensorProto.DataType names of the codes vitc has no dtype for, to say what was asked. */
static const char *onnx_dtype_name(int64_t code) {
  static const char *const names[] = {
      [0] = "undefined", [8] = "string",          [14] = "complex64",      [15] = "complex128",
      [17] = "float8e4m3fn", [18] = "float8e4m3fnuz", [19] = "float8e5m2", [20] = "float8e5m2fnuz",
      [21] = "uint4",     [22] = "int4",            [23] = "float4e2m1",
  };
  if (code >= 0 && code < (int64_t)(sizeof names / sizeof *names) && names[code]) return names[code];
  return vitc_dtype_name((vitc_dtype)code) ? vitc_dtype_name((vitc_dtype)code) : "unknown";
}

/* Cast: attribute "to" (an ONNX dtype code). CastLike: the dtype of its second input. */
vitc_status shape_cast(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  int64_t to;
  if (n->nin >= 2 && in[1]) {
    to = in[1]->dtype;
  } else {
    if (!vitc_attr_find(n, "to")) return vitc_fail(err, VITC_ERR_INVALID, "attribute 'to' is missing");
    to = vitc_attr_int(n, "to", 0);
  }
  if (!vitc_dtype_size(in[0]->dtype))
    return vitc_fail(err, VITC_ERR_UNSUPPORTED, "casting from dtype %d (%s) is not supported", (int)in[0]->dtype,
                     onnx_dtype_name(in[0]->dtype));
  if (to <= 0 || to > 64 || !vitc_dtype_size((vitc_dtype)to))
    return vitc_fail(err, VITC_ERR_UNSUPPORTED, "casting to dtype %lld (%s) is not supported", (long long)to,
                     onnx_dtype_name(to));
  vitc_copy_type(&out[0], in[0]);
  out[0].dtype = (vitc_dtype)to;
  return VITC_OK;
}

/* ---------------------------------------------------------------- broadcast walker */

void ew_walk_init(ew_walk *w, const vitc_value *out, const vitc_value *const *ins, int nin) {
  int64_t full[EW_MAX_IN][VITC_MAX_RANK];
  for (int k = 0; k < nin; k++) vitc_broadcast_strides(ins[k], out->rank, out->dims, full[k]);
  memset(w, 0, sizeof *w);
  w->nin = nin;
  int r = 0;
  for (int d = 0; d < out->rank; d++) {
    int64_t len = out->dims[d];
    if (len == 1) continue; /* contributes no movement */
    bool merges = r > 0;
    for (int k = 0; k < nin && merges; k++) merges = w->strides[k][r - 1] == full[k][d] * len;
    if (merges) {
      w->dims[r - 1] *= len;
      for (int k = 0; k < nin; k++) w->strides[k][r - 1] = full[k][d];
    } else {
      w->dims[r] = len;
      for (int k = 0; k < nin; k++) w->strides[k][r] = full[k][d];
      r++;
    }
  }
  if (r == 0) w->dims[r++] = 1; /* a single element: one row of one */
  w->rank = r;
}

void ew_walk_rows(const ew_walk *w, ew_row_fn row, void *ctx) {
  int last = w->rank - 1;
  int64_t inner = w->dims[last], rows = 1;
  for (int d = 0; d < last; d++) rows *= w->dims[d];
  if (inner == 0 || rows == 0) return;
  int64_t idx[VITC_MAX_RANK] = {0}, off[EW_MAX_IN] = {0}, step[EW_MAX_IN];
  for (int k = 0; k < w->nin; k++) step[k] = w->strides[k][last];
  int64_t out_off = 0;
  for (int64_t r = 0; r < rows; r++, out_off += inner) {
    row(ctx, off, out_off, inner, step);
    /* Odometer over the outer dims: carry instead of dividing the row number. */
    for (int d = last - 1; d >= 0; d--) {
      for (int k = 0; k < w->nin; k++) off[k] += w->strides[k][d];
      if (++idx[d] < w->dims[d]) break;
      for (int k = 0; k < w->nin; k++) off[k] -= w->strides[k][d] * w->dims[d];
      idx[d] = 0;
    }
  }
}

/* ---------------------------------------------------------------- unary driver */

static vitc_status undefined_for(const char *op, vitc_dtype t, vitc_error *err) {
  return vitc_fail(err, VITC_ERR_UNSUPPORTED, "%s is not defined for %s inputs", op,
                   vitc_dtype_name(t) ? vitc_dtype_name(t) : "unknown-dtype");
}

vitc_status ew_run_unary(const ew_unary *op, const ew_params *p, const vitc_value *x, vitc_value *y,
                         vitc_error *err) {
  int64_t count = vitc_numel(x);
  switch (x->dtype) {
  case VITC_F32:
    if (!op->f32) return undefined_for(op->name, x->dtype, err);
    op->f32(x->data, y->data, count, p);
    return VITC_OK;
  case VITC_F64: {
    if (!op->f64) return undefined_for(op->name, x->dtype, err);
    const double *xs = x->data;
    double *ys = y->data;
    for (int64_t i = 0; i < count; i++) ys[i] = op->f64(xs[i], p);
    return VITC_OK;
  }
  case VITC_F16:
  case VITC_BF16: {
    /* Half types compute in float: widen a chunk, run the float32 kernel, round back. */
    if (!op->f32) return undefined_for(op->name, x->dtype, err);
    float buf[256];
    for (int64_t i = 0; i < count; i += 256) {
      int64_t m = count - i < 256 ? count - i : 256;
      for (int64_t j = 0; j < m; j++) buf[j] = (float)vitc_load_f(x, i + j);
      op->f32(buf, buf, m, p);
      for (int64_t j = 0; j < m; j++) vitc_store_f(y, i + j, buf[j]);
    }
    return VITC_OK;
  }
  default:
    if (!op->i64 || !vitc_dtype_size(x->dtype)) return undefined_for(op->name, x->dtype, err);
    for (int64_t i = 0; i < count; i++) vitc_store_i(y, i, op->i64(vitc_load_i(x, i), p));
    return VITC_OK;
  }
}

/* ---------------------------------------------------------------- binary driver */

typedef enum { COMPUTE_F32, COMPUTE_DOUBLE, COMPUTE_U64, COMPUTE_I64 } compute_kind;

typedef struct binary_ctx {
  const ew_binary *op;
  const ew_params *p;
  const vitc_value *a, *b;
  vitc_value *out;
  compute_kind kind;
} binary_ctx;

static void binary_row(void *vctx, const int64_t *off, int64_t out_off, int64_t n, const int64_t *step) {
  const binary_ctx *c = vctx;
  const vitc_value *a = c->a, *b = c->b;
  int64_t ia = off[0], ib = off[1];
  switch (c->kind) {
  case COMPUTE_F32:
    c->op->f32((const float *)a->data + ia, step[0], (const float *)b->data + ib, step[1],
               (float *)c->out->data + out_off, n, c->p);
    return;
  case COMPUTE_DOUBLE:
    for (int64_t i = 0; i < n; i++, ia += step[0], ib += step[1])
      vitc_store_f(c->out, out_off + i, c->op->f64(vitc_load_f(a, ia), vitc_load_f(b, ib), c->p));
    return;
  case COMPUTE_U64:
    for (int64_t i = 0; i < n; i++, ia += step[0], ib += step[1]) {
      uint64_t r = c->op->u64((uint64_t)vitc_load_i(a, ia), (uint64_t)vitc_load_i(b, ib), c->p);
      vitc_store_i(c->out, out_off + i, (int64_t)r);
    }
    return;
  case COMPUTE_I64:
    for (int64_t i = 0; i < n; i++, ia += step[0], ib += step[1])
      vitc_store_i(c->out, out_off + i, c->op->i64(vitc_load_i(a, ia), vitc_load_i(b, ib), c->p));
    return;
  }
}

vitc_status ew_run_binary(const ew_binary *op, const ew_params *p, const vitc_value *a, const vitc_value *b,
                          vitc_value *out, vitc_error *err) {
  binary_ctx c = {op, p, a, b, out, COMPUTE_I64};
  if (!vitc_dtype_size(a->dtype) || !vitc_dtype_size(b->dtype))
    return undefined_for(op->name, vitc_dtype_size(a->dtype) ? b->dtype : a->dtype, err);
  bool float_in = vitc_dtype_is_float(a->dtype) || vitc_dtype_is_float(b->dtype);
  if (float_in) {
    if (!op->f64) return undefined_for(op->name, vitc_dtype_is_float(a->dtype) ? a->dtype : b->dtype, err);
    bool all_f32 = a->dtype == VITC_F32 && b->dtype == VITC_F32 && out->dtype == VITC_F32;
    c.kind = all_f32 && op->f32 ? COMPUTE_F32 : COMPUTE_DOUBLE;
  } else {
    if (!op->i64) return undefined_for(op->name, a->dtype, err);
    if ((a->dtype == VITC_U64 || b->dtype == VITC_U64) && op->u64) c.kind = COMPUTE_U64;
  }
  ew_walk w;
  const vitc_value *ins[2] = {a, b};
  ew_walk_init(&w, out, ins, 2);
  ew_walk_rows(&w, binary_row, &c);
  return VITC_OK;
}

/* quant.c — ONNX's quantisation ops: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, and the integer
 * products MatMulInteger, ConvInteger, QLinearMatMul, QLinearConv.
 *
 * Arithmetic follows ONNX and ONNX Runtime's CPU kernels step by step, so that the evaluator is the oracle
 * for ORT-quantised models:
 *   quantise    q = saturate(nearbyintf(x / scale) + zero_point)      float32 division, round half to even
 *   dequantise  x = (float)(q - zero_point) * scale                   in int32, then float32
 *   requantise  y = saturate(nearbyintf((float)acc * (a_scale * b_scale / y_scale)) + y_zero_point)
 * saturate clamps to the output type's range. A scale or zero point is a scalar (per tensor) or 1-D along
 * `axis` (per axis: DequantizeLinear / QuantizeLinear's attribute; a MatMul's weight per column, a Conv's
 * weight per output channel; MatMulInteger's A zero point per row). Integer products run as MatMul / Conv
 * on int32 copies of the operands less their zero points, so they are exact (sums in double; int8 products
 * stay far below 2^53). */
#include <math.h>
#include <stdlib.h>

#include "linalg_util.h"
#include "ops.h"

/* ---------------------------------------------------------------- per-axis parameters */

/* A scale or zero point and the axis of its owner it runs along (-1: one value for the whole tensor). */
typedef struct qparam {
  const vitc_value *v; /* NULL: absent (zero point 0) */
  int axis;
  int64_t inner, len; /* elements of the owner after axis, and along it */
} qparam;

/* Reads p for an owner of shape `of` along `axis` (already normalised): a scalar or 1-element value is
 * per tensor, a 1-D value must have of->dims[axis] elements. */
static vitc_status qparam_of(const vitc_value *v, const vitc_value *of, int axis, const char *what, qparam *p,
                             vitc_error *err) {
  *p = (qparam){.v = v, .axis = -1, .inner = 1, .len = 1};
  if (!v || vitc_numel(v) == 1) return VITC_OK;
  char sv[128], so[128];
  if (v->rank != 1 || axis < 0 || axis >= of->rank || v->dims[0] != of->dims[axis])
    return vitc_fail(err, VITC_ERR_INVALID, "%s %s is neither a scalar nor 1-D along axis %d of %s", what,
                     vitc_value_type_str(v, sv, sizeof sv), axis, vitc_value_type_str(of, so, sizeof so));
  p->axis = axis;
  p->len = v->dims[0];
  for (int d = axis + 1; d < of->rank; d++) p->inner *= of->dims[d];
  return VITC_OK;
}

/* The parameter's value for element i of its owner. */
static int64_t qparam_int(const qparam *p, int64_t i) {
  return p->v ? vitc_load_i(p->v, p->axis < 0 ? 0 : i / p->inner % p->len) : 0;
}
static float qparam_float(const qparam *p, int64_t i) {
  return (float)vitc_load_f(p->v, p->axis < 0 ? 0 : i / p->inner % p->len);
}

bool vitc_quant_range(vitc_dtype t, int64_t *lo, int64_t *hi) {
  switch (t) {
  case VITC_I8: *lo = INT8_MIN, *hi = INT8_MAX; return true;
  case VITC_U8: *lo = 0, *hi = UINT8_MAX; return true;
  case VITC_I16: *lo = INT16_MIN, *hi = INT16_MAX; return true;
  case VITC_U16: *lo = 0, *hi = UINT16_MAX; return true;
  case VITC_I32: *lo = INT32_MIN, *hi = INT32_MAX; return true;
  default: return false;
  }
}

static vitc_status check_quant_type(vitc_dtype t, const char *what, vitc_error *err) {
  int64_t lo, hi;
  if (!vitc_quant_range(t, &lo, &hi))
    return vitc_fail(err, VITC_ERR_UNSUPPORTED, "%s has dtype %s; vitc quantises to int8, uint8, int16, uint16%s",
                     what, vitc_dtype_name(t) ? vitc_dtype_name(t) : "undefined", " (and dequantises int32)");
  return VITC_OK;
}

static vitc_status check_scale(const vitc_value *s, const char *what, vitc_error *err) {
  if (s->dtype != VITC_F32)
    return vitc_fail(err, VITC_ERR_UNSUPPORTED, "%s has dtype %s; vitc takes float32 scales", what,
                     vitc_dtype_name(s->dtype) ? vitc_dtype_name(s->dtype) : "undefined");
  return VITC_OK;
}

/* nearbyintf(x) + zp, saturated to [lo, hi]: ORT clamps in float, then converts; NaN becomes lo, as the
 * backend's clamp makes it. */
static int64_t saturate_round(float x, int64_t zp, int64_t lo, int64_t hi) {
  float q = nearbyintf(x) + (float)zp;
  return !(q > (float)lo) ? lo : q >= (float)hi ? hi : (int64_t)q;
}

float vitc_qgrid_level(const vitc_qgrid *g, float x) {
  return (float)(saturate_round(x / g->scale, (int64_t)g->zp, (int64_t)g->lo, (int64_t)g->hi) - (int64_t)g->zp);
}

/* The axis a per-axis scale runs along; ONNX ignores the attribute when the scale is a scalar. Opset 21's
 * blocked quantisation (block_size > 0) is not taken: its scales are N-D. */
static vitc_status quant_axis(const vitc_node *n, const vitc_value *x, const vitc_value *scale, int *axis,
                              vitc_error *err) {
  if (vitc_attr_int(n, "block_size", 0) != 0)
    return vitc_fail(err, VITC_ERR_UNSUPPORTED, "blocked quantisation (block_size %lld) is not supported",
                     (long long)vitc_attr_int(n, "block_size", 0));
  if (vitc_numel(scale) == 1) {
    *axis = -1;
    return VITC_OK;
  }
  return vitc_normalize_axis(vitc_attr_int(n, "axis", 1), x->rank, axis, err);
}

/* ---------------------------------------------------------------- QuantizeLinear, DequantizeLinear */

/* The scale and zero point per element of a QuantizeLinear's (quantize: inputs y_scale, y_zero_point) or
 * DequantizeLinear's (x_scale, x_zero_point) input, checked against its shape and axis. */
static vitc_status quant_params(const vitc_node *n, const vitc_value *const *in, bool quantize, qparam *s, qparam *z,
                                vitc_error *err) {
  int axis;
  vitc_status st = quant_axis(n, in[0], in[1], &axis, err);
  if (st == VITC_OK) st = qparam_of(in[1], in[0], axis, quantize ? "y_scale" : "x_scale", s, err);
  if (st == VITC_OK)
    st = qparam_of(n->nin > 2 ? in[2] : NULL, in[0], axis, quantize ? "y_zero_point" : "x_zero_point", z, err);
  return st;
}

vitc_status shape_quantize_linear(const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                                  vitc_error *err) {
  qparam s, z;
  const vitc_value *zp = n->nin > 2 ? in[2] : NULL;
  vitc_dtype t = zp ? zp->dtype : (vitc_dtype)vitc_attr_int(n, "output_dtype", 0);
  if (t == VITC_UNDEFINED) t = VITC_U8;
  vitc_status st = check_scale(in[1], "y_scale", err);
  if (st == VITC_OK && in[0]->dtype != VITC_F32)
    st = vitc_fail(err, VITC_ERR_UNSUPPORTED, "QuantizeLinear input has dtype %s; vitc quantises float32",
                   vitc_dtype_name(in[0]->dtype) ? vitc_dtype_name(in[0]->dtype) : "undefined");
  if (st == VITC_OK) st = check_quant_type(t, "QuantizeLinear output", err);
  if (st == VITC_OK && t == VITC_I32) st = vitc_fail(err, VITC_ERR_UNSUPPORTED, "QuantizeLinear to int32");
  if (st == VITC_OK) st = quant_params(n, in, true, &s, &z, err);
  if (st != VITC_OK) return st;
  vitc_copy_type(out, in[0]);
  out->dtype = t;
  return VITC_OK;
}

vitc_status eval_QuantizeLinear(const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                                vitc_error *err) {
  qparam s, z;
  int64_t lo, hi;
  vitc_status st = quant_params(n, in, true, &s, &z, err);
  if (st != VITC_OK) return st;
  vitc_quant_range(out->dtype, &lo, &hi);
  const float *x = in[0]->data;
  for (int64_t i = 0, count = vitc_numel(in[0]); i < count; i++)
    vitc_store_i(out, i, saturate_round(x[i] / qparam_float(&s, i), qparam_int(&z, i), lo, hi));
  return VITC_OK;
}

vitc_status shape_dequantize_linear(const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                                    vitc_error *err) {
  qparam s, z;
  const vitc_value *zp = n->nin > 2 ? in[2] : NULL;
  vitc_status st = check_scale(in[1], "x_scale", err);
  if (st == VITC_OK) st = check_quant_type(in[0]->dtype, "DequantizeLinear input", err);
  if (st == VITC_OK && zp) st = vitc_check_same_dtype(in[0], zp, err);
  if (st == VITC_OK) st = quant_params(n, in, false, &s, &z, err);
  if (st != VITC_OK) return st;
  vitc_copy_type(out, in[0]);
  out->dtype = VITC_F32;
  return VITC_OK;
}

vitc_status eval_DequantizeLinear(const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                                  vitc_error *err) {
  qparam s, z;
  vitc_status st = quant_params(n, in, false, &s, &z, err);
  if (st != VITC_OK) return st;
  float *y = out->data;
  for (int64_t i = 0, count = vitc_numel(in[0]); i < count; i++)
    y[i] = (float)(int32_t)(vitc_load_i(in[0], i) - qparam_int(&z, i)) * qparam_float(&s, i);
  return VITC_OK;
}

/* ---------------------------------------------------------------- DynamicQuantizeLinear */

vitc_status shape_dynamic_quantize(const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                                          vitc_error *err) {
  (void)n;
  if (in[0]->dtype != VITC_F32)
    return vitc_fail(err, VITC_ERR_UNSUPPORTED, "DynamicQuantizeLinear input has dtype %s; it takes float32",
                     vitc_dtype_name(in[0]->dtype) ? vitc_dtype_name(in[0]->dtype) : "undefined");
  vitc_copy_type(&out[0], in[0]);
  out[0].dtype = VITC_U8;
  out[1] = (vitc_value){.dtype = VITC_F32};
  out[2] = (vitc_value){.dtype = VITC_U8};
  return VITC_OK;
}

/* uint8 over [min(x, 0), max(x, 0)]; ORT takes scale 1 when x is all zeros (ONNX's formula divides by 0). */
vitc_status eval_DynamicQuantizeLinear(const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                                       vitc_error *err) {
  (void)n, (void)err;
  const float *x = in[0]->data;
  int64_t count = vitc_numel(in[0]);
  float lo = 0, hi = 0;
  for (int64_t i = 0; i < count; i++) {
    lo = x[i] < lo ? x[i] : lo;
    hi = x[i] > hi ? x[i] : hi;
  }
  float scale = hi == lo ? 1.0f : (hi - lo) / 255.0f, zp_real = 0.0f - lo / scale;
  uint8_t zp = (uint8_t)nearbyintf(zp_real < 0 ? 0 : zp_real > 255 ? 255 : zp_real);
  uint8_t *y = out[0].data;
  for (int64_t i = 0; i < count; i++) y[i] = (uint8_t)saturate_round(x[i] / scale, zp, 0, 255);
  *(float *)out[1].data = scale;
  *(uint8_t *)out[2].data = zp;
  return VITC_OK;
}

/* ---------------------------------------------------------------- integer products */

/* An int32 copy of v less its zero point (per tensor, or along axis `axis` of v); free its data. */
static vitc_status centered(const vitc_value *v, const vitc_value *zp, int axis, const char *what, vitc_value *c,
                            vitc_error *err) {
  qparam z;
  vitc_status st = check_quant_type(v->dtype, what, err);
  if (st == VITC_OK && zp) st = vitc_check_same_dtype(v, zp, err);
  if (st == VITC_OK) st = qparam_of(zp, v, axis, what, &z, err);
  if (st != VITC_OK) return st;
  *c = *v;
  c->dtype = VITC_I32;
  int64_t count = vitc_numel(v);
  int32_t *d = malloc(sizeof(int32_t) * (size_t)(count ? count : 1));
  if (!d) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory centring %s", what);
  for (int64_t i = 0; i < count; i++) d[i] = (int32_t)(vitc_load_i(v, i) - qparam_int(&z, i));
  c->data = d;
  return VITC_OK;
}

/* The operand layout of the four products: where A, B, their zero points and the output's scales are. */
typedef struct qproduct {
  bool conv;                                    /* Conv geometry (else MatMul) */
  int a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp, bias; /* input indices, -1: none */
} qproduct;

static qproduct qproduct_of(vitc_op op) {
  switch (op) {
  case VITC_OP_QLinearMatMul: return (qproduct){false, 0, 1, 2, 3, 4, 5, 6, 7, -1};
  case VITC_OP_QLinearConv: return (qproduct){true, 0, 1, 2, 3, 4, 5, 6, 7, 8};
  case VITC_OP_ConvInteger: return (qproduct){true, 0, -1, 2, 1, -1, 3, -1, -1, -1};
  default: return (qproduct){false, 0, -1, 2, 1, -1, 3, -1, -1, -1}; /* MatMulInteger */
  }
}

static const vitc_value *input(const vitc_node *n, const vitc_value *const *in, int k) {
  return k >= 0 && k < n->nin ? in[k] : NULL;
}

/* The float product the integer one stands for: Conv (the node's attributes, no bias) or MatMul. */
static vitc_node product_node(const vitc_node *n, const qproduct *q) {
  vitc_node p = *n;
  p.op = q->conv ? VITC_OP_Conv : VITC_OP_MatMul;
  p.nin = 2;
  return p;
}

/* Axes of the zero points and per-channel scales: A's per row (MatMulInteger), B's per column of a MatMul
 * weight or per output channel of a Conv weight, and the output's channel axis. */
static int a_axis(const qproduct *q, const vitc_value *a) { return q->conv ? -1 : a->rank - 2; }
static int b_axis(const qproduct *q, const vitc_value *b) { return q->conv ? 0 : b->rank - 1; }
static int y_axis(const qproduct *q, const vitc_value *y) { return q->conv ? 1 : y->rank - 1; }

vitc_status shape_quant_product(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  qproduct q = qproduct_of(n->op);
  vitc_value a = *in[q.a], b = *in[q.b];
  vitc_status st = check_quant_type(a.dtype, "A", err);
  if (st == VITC_OK) st = check_quant_type(b.dtype, "B", err);
  if (st != VITC_OK) return st;
  a.dtype = b.dtype = VITC_I32;
  vitc_node p = product_node(n, &q);
  const vitc_value *operands[2] = {&a, &b};
  st = q.conv ? shape_conv(&p, operands, out, err) : shape_matmul(&p, operands, out, err);
  if (st != VITC_OK) return st;
  const vitc_value *y_zp = input(n, in, q.y_zp);
  out->dtype = q.y_scale < 0 ? VITC_I32 : y_zp ? y_zp->dtype : VITC_U8;
  for (int k = 0; st == VITC_OK && k < n->nin; k++)
    if (in[k] && (k == q.a_scale || k == q.b_scale || k == q.y_scale)) st = check_scale(in[k], "scale", err);
  if (st == VITC_OK && q.y_scale >= 0) st = check_quant_type(out->dtype, "output", err);
  return st;
}

/* Every integer product: the exact int32 sums of (A - a_zp)(B - b_zp) (plus QLinearConv's int32 bias), then
 * for QLinear* the requantisation into the output type. */
vitc_status eval_quant_product(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  qproduct q = qproduct_of(n->op);
  const vitc_value *a = in[q.a], *b = in[q.b];
  vitc_value ca = {0}, cb = {0}, acc = *out;
  vitc_node p = product_node(n, &q);
  int64_t count = vitc_numel(out);
  vitc_status st = centered(a, input(n, in, q.a_zp), a_axis(&q, a), "A zero point", &ca, err);
  if (st == VITC_OK) st = centered(b, input(n, in, q.b_zp), b_axis(&q, b), "B zero point", &cb, err);
  acc.dtype = VITC_I32;
  if (st == VITC_OK && q.y_scale >= 0 && !(acc.data = malloc(sizeof(int32_t) * (size_t)(count ? count : 1))))
    st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory for the int32 sums");
  const vitc_value *operands[2] = {&ca, &cb};
  if (st == VITC_OK) st = q.conv ? eval_Conv(&p, operands, &acc, err) : eval_MatMul(&p, operands, &acc, err);
  if (st == VITC_OK && q.y_scale >= 0) {
    qparam sa, sb, sy, zy, bias;
    int yaxis = y_axis(&q, out);
        st = qparam_of(in[q.a_scale], a, -1, "a_scale", &sa, err);
    if (st == VITC_OK) st = qparam_of(in[q.b_scale], out, yaxis, "b_scale", &sb, err);
    if (st == VITC_OK) st = qparam_of(in[q.y_scale], out, -1, "y_scale", &sy, err);
    if (st == VITC_OK) st = qparam_of(input(n, in, q.y_zp), out, -1, "y_zero_point", &zy, err);
    if (st == VITC_OK) st = qparam_of(input(n, in, q.bias), out, yaxis, "bias", &bias, err);
    int64_t lo, hi;
    vitc_quant_range(out->dtype, &lo, &hi);
    const int32_t *sums = acc.data;
    for (int64_t i = 0; st == VITC_OK && i < count; i++) {
      float multiplier = qparam_float(&sa, i) * qparam_float(&sb, i) / qparam_float(&sy, i);
      int32_t s = (int32_t)((int64_t)sums[i] + qparam_int(&bias, i));
      vitc_store_i(out, i, saturate_round((float)s * multiplier, qparam_int(&zy, i), lo, hi));
    }
    free(acc.data);
  }
  free(ca.data);
  free(cb.data);
  return st;
}

double flops_quant_product(const vitc_node *n, const vitc_value *const *in, const vitc_value *out) {
  qproduct q = qproduct_of(n->op);
  const vitc_value *operands[2] = {in[q.a], in[q.b]};
  return q.conv ? flops_conv(n, operands, out) : flops_matmul(n, operands, out);
}

/* ---------------------------------------------------------------- Int8Gemm (passes/fuse_qdq) */

/* vitc.Int8Gemm(x, x_scale, x_zero_point, w, w_scale[, bias[, y_scale, y_zero_point[, post_bias]]]):
 * x [.., K] float32 quantised per tensor as QuantizeLinear does (int8 or uint8, the zero point's type),
 * times the int8 weight w [K, N] (zero point 0) summed exactly in integers, dequantised per column:
 *   t(i, j) = (float)sum_k (q(i, k) - x_zp) w(k, j) * (x_scale * w_scale(j)) + bias(j)
 * then, with y_scale, quantised and dequantised again (QuantizeLinear then DequantizeLinear of the
 * product's output, which ORT's quantizer writes), and post_bias added:
 *   y(i, j) = (saturate(roundeven(t / y_scale) + y_zp) - y_zp) * y_scale + post_bias(j)
 * It stands for those nodes around DequantizeLinear(QuantizeLinear(x)) · DequantizeLinear(w), which round
 * the same quantised operands and sum their float products instead. Absent inputs are -1 (bias 0).
 * passes/fuse_gemm_epilogue then joins the float32 steps after it, as FusedGemm's: attribute activation
 * (vitc_epilogue_activation) and input 9, a residual of y's shape (leading dims may be 1):
 *   out(i, j) = activation(y(i, j)) + residual(i, j) */
enum { I8G_X, I8G_XS, I8G_XZ, I8G_W, I8G_WS, I8G_BIAS, I8G_YS, I8G_YZ, I8G_POST, I8G_RESIDUAL };


vitc_status shape_int8_gemm(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  const vitc_value *x = in[I8G_X], *w = in[I8G_W], *ys = input(n, in, I8G_YS), *yz = input(n, in, I8G_YZ);
  char sx[128], sw[128];
  qparam p;
  vitc_status st = check_scale(in[I8G_XS], "x_scale", err);
  if (st == VITC_OK) st = check_scale(in[I8G_WS], "w_scale", err);
  if (st == VITC_OK && (x->dtype != VITC_F32 || w->dtype != VITC_I8 || w->rank != 2 || x->rank < 1 ||
                        x->dims[x->rank - 1] != w->dims[0] || vitc_numel(in[I8G_XS]) != 1 ||
                        (in[I8G_XZ]->dtype != VITC_U8 && in[I8G_XZ]->dtype != VITC_I8) || vitc_numel(in[I8G_XZ]) != 1))
    st = vitc_fail(err, VITC_ERR_INVALID, "Int8Gemm takes float32 [.., K] with a scalar scale and int8/uint8 zero "
                   "point times int8 [K, N], not %s times %s", vitc_value_type_str(x, sx, sizeof sx),
                   vitc_value_type_str(w, sw, sizeof sw));
  if (st == VITC_OK) st = qparam_of(in[I8G_WS], w, 1, "w_scale", &p, err);
  for (int k = I8G_BIAS; st == VITC_OK && k <= I8G_POST; k += I8G_POST - I8G_BIAS)
    if (input(n, in, k)) {
      st = check_scale(in[k], "bias", err);
      if (st == VITC_OK) st = qparam_of(in[k], w, 1, "bias", &p, err);
    }
  if (st == VITC_OK && (!ys != !yz || (ys && (vitc_numel(ys) != 1 || vitc_numel(yz) != 1 || !vitc_quant_range(yz->dtype, &(int64_t){0}, &(int64_t){0})))))
    st = vitc_fail(err, VITC_ERR_INVALID, "Int8Gemm's y_scale and y_zero_point must both be scalars, or both absent");
  if (st == VITC_OK && ys) st = check_scale(ys, "y_scale", err);
  if (st == VITC_OK) st = vitc_check_epilogue_activation(n, "Int8Gemm", err);
  if (st != VITC_OK) return st;
  vitc_copy_type(out, x);
  out->dims[out->rank - 1] = w->dims[1];
  const vitc_value *r = input(n, in, I8G_RESIDUAL);
  if (r && vitc_repeat_period(r, out, w->dims[1] ? w->dims[1] : 1) < 0)
    return vitc_fail(err, VITC_ERR_INVALID, "Int8Gemm residual must have the output's shape (leading dims may be 1)");
  return VITC_OK;
}

vitc_status eval_Int8Gemm(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  const vitc_value *x = in[I8G_X], *w = in[I8G_W], *ys = input(n, in, I8G_YS), *yz = input(n, in, I8G_YZ);
  int64_t k = w->dims[0], cols = w->dims[1], rows = k ? vitc_numel(x) / k : 0, lo, hi, ylo = 0, yhi = 0;
  int64_t zp = vitc_load_i(in[I8G_XZ], 0), yzp = yz ? vitc_load_i(yz, 0) : 0;
  float xs = *(const float *)in[I8G_XS]->data, ysc = ys ? *(const float *)ys->data : 1.0f;
  qparam ws, bias, post;
  vitc_status st = qparam_of(in[I8G_WS], w, 1, "w_scale", &ws, err);
  if (st == VITC_OK) st = qparam_of(input(n, in, I8G_BIAS), w, 1, "bias", &bias, err);
  if (st == VITC_OK) st = qparam_of(input(n, in, I8G_POST), w, 1, "post_bias", &post, err);
  if (st != VITC_OK) return st;
  vitc_quant_range(in[I8G_XZ]->dtype, &lo, &hi);
  if (yz) vitc_quant_range(yz->dtype, &ylo, &yhi);
  int32_t *q = malloc(sizeof(int32_t) * (size_t)(k ? k : 1));
  if (!q) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory quantising a row");
  const float *xp = x->data, *r = input(n, in, I8G_RESIDUAL) ? in[I8G_RESIDUAL]->data : NULL;
  const int8_t *wp = w->data;
  float *y = out->data;
  int act = vitc_epilogue_activation(n);
  int64_t period = r ? vitc_numel(in[I8G_RESIDUAL]) : 0; /* the residual repeats every `period` elements */
  for (int64_t i = 0; i < rows; i++) {
    for (int64_t p = 0; p < k; p++) q[p] = (int32_t)(saturate_round(xp[i * k + p] / xs, zp, lo, hi) - zp);
    for (int64_t j = 0; j < cols; j++) {
      int32_t s = 0;
      for (int64_t p = 0; p < k; p++) s += q[p] * wp[p * cols + j];
      float t = (float)s * (xs * qparam_float(&ws, j)) + (bias.v ? qparam_float(&bias, j) : 0.0f);
      if (ys) t = (float)(saturate_round(t / ysc, yzp, ylo, yhi) - yzp) * ysc;
      t += post.v ? qparam_float(&post, j) : 0.0f;
      if (act != ACT_NONE) t = (float)vitc_epilogue_activate(act, t);
      y[i * cols + j] = t + (r ? r[(i * cols + j) % period] : 0.0f);
    }
  }
  free(q);
  return VITC_OK;
}

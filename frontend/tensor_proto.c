/* tensor_proto.c — TensorProto to vitc_value: dtype, shape and inline data.
 *
 * One decoder serves initializers, Constant nodes, tensor attributes and .pb tensor files. ONNX keeps a
 * tensor's values either in raw_data (little-endian bytes) or in the typed field its dtype belongs to:
 *   float_data   float32
 *   int32_data   int32 int16 int8 uint16 uint8 bool, and float16 / bfloat16 as uint16 bit patterns
 *   int64_data   int64
 *   double_data  float64
 *   uint64_data  uint32 uint64
 */
#include <string.h>

#include "frontend_internal.h"

/* raw_data is little-endian; vitc values are host order and copied byte for byte. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "vitc reads ONNX raw_data as host order");

const char *fe_dtype_label(int32_t code, char *buf, size_t n) {
  const char *name = vitc_dtype_name((vitc_dtype)code);
  if (!name) {
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(&onnx__tensor_proto__data_type__descriptor, code);
    if (ev) name = ev->name;
  }
  if (name) snprintf(buf, n, "%s", name);
  else snprintf(buf, n, "data type %d", (int)code);
  return buf;
}

vitc_status fe_tensor_type(const Onnx__TensorProto *tp, const char *label, vitc_value *v, vitc_error *err) {
  memset(v, 0, sizeof *v);
  int32_t code = tp->has_data_type ? tp->data_type : 0;
  char dt[48];
  if (code == 0) return vitc_fail(err, VITC_ERR_INVALID, "%s has no data type", label);
  if (!vitc_dtype_size((vitc_dtype)code))
    return vitc_fail(err, VITC_ERR_UNSUPPORTED, "%s has data type %s, which vitc does not support", label,
                     fe_dtype_label(code, dt, sizeof dt));
  if (tp->n_dims > VITC_MAX_RANK)
    return vitc_fail(err, VITC_ERR_UNSUPPORTED, "%s has rank %zu; vitc supports rank up to %d", label, tp->n_dims,
                     VITC_MAX_RANK);
  v->dtype = (vitc_dtype)code;
  v->rank = (int)tp->n_dims;
  for (int i = 0; i < v->rank; i++) v->dims[i] = tp->dims[i];
  int64_t numel;
  if (!vitc_checked_numel(v->dims, v->rank, &numel)) {
    char ty[160];
    return vitc_fail(err, VITC_ERR_INVALID, "%s has shape %s: a dim is negative or the element count overflows",
                     label, vitc_value_type_str(v, ty, sizeof ty));
  }
  return VITC_OK;
}

bool fe_tensor_is_external(const Onnx__TensorProto *tp) {
  return tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
}

/* Number of values the typed field of v's dtype holds. */
static size_t typed_count(const Onnx__TensorProto *tp, vitc_dtype t) {
  switch (t) {
  case VITC_F32: return tp->n_float_data;
  case VITC_F64: return tp->n_double_data;
  case VITC_I64: return tp->n_int64_data;
  case VITC_U32:
  case VITC_U64: return tp->n_uint64_data;
  default: return tp->n_int32_data;
  }
}

/* Narrows the typed field into dst, which holds count elements of v's dtype. */
static void copy_typed(const Onnx__TensorProto *tp, vitc_dtype t, void *dst, size_t count) {
  if (!count) return; /* an empty tensor's typed field is NULL, which memcpy may not be given */
  switch (t) {
  case VITC_F32: memcpy(dst, tp->float_data, count * 4); return;
  case VITC_F64: memcpy(dst, tp->double_data, count * 8); return;
  case VITC_I64: memcpy(dst, tp->int64_data, count * 8); return;
  case VITC_U64: memcpy(dst, tp->uint64_data, count * 8); return;
  case VITC_U32:
    for (size_t i = 0; i < count; i++) ((uint32_t *)dst)[i] = (uint32_t)tp->uint64_data[i];
    return;
  case VITC_I32: memcpy(dst, tp->int32_data, count * 4); return;
  case VITC_BOOL:
    for (size_t i = 0; i < count; i++) ((uint8_t *)dst)[i] = tp->int32_data[i] != 0;
    return;
  default:
    if (vitc_dtype_size(t) == 2) /* int16 uint16 float16 bfloat16: the low 16 bits */
      for (size_t i = 0; i < count; i++) ((uint16_t *)dst)[i] = (uint16_t)tp->int32_data[i];
    else /* int8 uint8 */
      for (size_t i = 0; i < count; i++) ((uint8_t *)dst)[i] = (uint8_t)tp->int32_data[i];
    return;
  }
}

vitc_status fe_tensor_decode_inline(const Onnx__TensorProto *tp, const char *label, vitc_value *v,
                                    fe_alloc_fn alloc, void *ctx, vitc_error *err) {
  size_t need = vitc_nbytes(v), elem = vitc_dtype_size(v->dtype);
  size_t count = tp->has_raw_data ? 0 : typed_count(tp, v->dtype);
  size_t have = tp->has_raw_data ? tp->raw_data.len : count * elem;
  if (have != need) {
    char ty[160];
    return vitc_fail(err, VITC_ERR_INVALID, "%s %s: its data has %zu bytes but its shape needs %zu bytes", label,
                     vitc_value_type_str(v, ty, sizeof ty), have, need);
  }
  /* Zero-element tensors still get a buffer: data != NULL is how the IR marks a known value. */
  if (!(v->data = alloc(ctx, need ? need : 1)))
    return vitc_fail(err, VITC_ERR_NOMEM, "out of memory for the %zu bytes of %s", need, label);
  if (tp->has_raw_data) {
    if (need) memcpy(v->data, tp->raw_data.data, need);
  } else {
    copy_typed(tp, v->dtype, v->data, count);
  }
  return VITC_OK;
}

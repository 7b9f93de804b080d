/* cast.c — Cast and CastLike: convert every element to the output's dtype (chosen by shape_cast).
 *
 * Float to integer truncates toward zero (NaN gives 0, out-of-range saturates: ONNX leaves both
 * undefined); anything to bool is x != 0; half types round to nearest even. Integer to integer goes
 * through int64 so int64 values are not rounded through double. */
#include <string.h>

#include "elementwise.h"

static void f32_to_f16(const float *x, uint16_t *y, int64_t count) {
  for (int64_t i = 0; i < count; i++) y[i] = vitc_f32_to_f16(x[i]);
}
static void f16_to_f32(const uint16_t *x, float *y, int64_t count) {
  for (int64_t i = 0; i < count; i++) y[i] = vitc_f16_to_f32(x[i]);
}

vitc_status eval_Cast(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  const vitc_value *x = in[0];
  vitc_value *y = &out[0];
  int64_t count = vitc_numel(x);
  if (x->dtype == y->dtype) {
    memcpy(y->data, x->data, vitc_nbytes(x));
  } else if (x->dtype == VITC_F32 && y->dtype == VITC_F16) {
    f32_to_f16(x->data, y->data, count);
  } else if (x->dtype == VITC_F16 && y->dtype == VITC_F32) {
    f16_to_f32(x->data, y->data, count);
  } else if (vitc_dtype_is_float(x->dtype) || vitc_dtype_is_float(y->dtype)) {
    for (int64_t i = 0; i < count; i++) vitc_store_f(y, i, vitc_load_f(x, i));
  } else {
    for (int64_t i = 0; i < count; i++) vitc_store_i(y, i, vitc_load_i(x, i));
  }
  return VITC_OK;
}

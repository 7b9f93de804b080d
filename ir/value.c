/* value.c — dtypes and generic element access of dense tensors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

const char *vitc_dtype_name(vitc_dtype t) {
  switch (t) {
#define X(id, code, size, name) \
  case VITC_##id: return name;
    VITC_DTYPES(X)
#undef X
  default: return NULL;
  }
}

size_t vitc_dtype_size(vitc_dtype t) {
  switch (t) {
#define X(id, code, size, name) \
  case VITC_##id: return size;
    VITC_DTYPES(X)
#undef X
  default: return 0;
  }
}

bool vitc_dtype_is_float(vitc_dtype t) {
  return t == VITC_F32 || t == VITC_F64 || t == VITC_F16 || t == VITC_BF16;
}

bool vitc_dtype_is_signed(vitc_dtype t) {
  return t == VITC_I8 || t == VITC_I16 || t == VITC_I32 || t == VITC_I64;
}

int64_t vitc_numel(const vitc_value *v) {
  int64_t n = 1;
  for (int i = 0; i < v->rank; i++) n *= v->dims[i];
  return n;
}

int64_t vitc_repeat_period(const vitc_value *r, const vitc_value *y, int64_t unit) {
  if (r->dtype != y->dtype || r->rank != y->rank || r->rank < 1) return -1;
  int d = r->rank - 1;
  while (d > 0 && r->dims[d - 1] == y->dims[d - 1]) d--;
  if (r->dims[r->rank - 1] != y->dims[y->rank - 1]) return -1;
  for (int k = 0; k < d; k++)
    if (r->dims[k] != 1) return -1;
  int64_t n = vitc_numel(r);
  return unit > 0 && n % unit == 0 ? n : -1;
}

size_t vitc_nbytes(const vitc_value *v) { return (size_t)vitc_numel(v) * vitc_dtype_size(v->dtype); }

bool vitc_checked_numel(const int64_t *dims, int rank, int64_t *out) {
  const int64_t limit = INT64_MAX / 16; /* leaves room to multiply by an element size */
  int64_t n = 1;
  for (int i = 0; i < rank; i++) {
    if (dims[i] < 0) return false;
    if (dims[i] && n > limit / dims[i]) return false;
    n *= dims[i];
  }
  *out = n;
  return true;
}

float vitc_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (man << 13);
  } else if (exp) {
    bits = sign | ((exp + 112) << 23) | (man << 13);
  } else if (man) { /* subnormal: value = man * 2^-24 */
    float f = ldexpf((float)man, -24);
    return sign ? -f : f;
  } else {
    bits = sign;
  }
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

uint16_t vitc_f32_to_f16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint16_t sign = (x >> 16) & 0x8000;
  uint32_t absx = x & 0x7fffffffu;
  if (absx >= 0x7f800000u) return sign | 0x7c00 | (absx > 0x7f800000u ? 0x200 : 0);
  if (absx >= 0x477ff000u) return sign | 0x7c00; /* rounds to >= 65520: infinity */
  if (absx < 0x38800000u) {                       /* below the smallest normal: round to subnormal */
    float a;
    memcpy(&a, &absx, 4);
    return sign | (uint16_t)lrintf(a * 16777216.0f); /* 2^24, round to nearest even */
  }
  uint32_t rounded = absx + 0xfff + ((absx >> 13) & 1); /* round to nearest even on the 13 dropped bits */
  return sign | (uint16_t)((rounded - 0x38000000u) >> 13);
}

float vitc_bf16_to_f32(uint16_t h) {
  uint32_t bits = (uint32_t)h << 16;
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

uint16_t vitc_f32_to_bf16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40);
  return (uint16_t)((x + 0x7fff + ((x >> 16) & 1)) >> 16);
}

/* Element i of the array of T at p, read through memcpy: p may be a constant read in place (unaligned). */
#define LOADER(name, T)                                           \
  static T name(const void *p, int64_t i) {                       \
    T x;                                                          \
    memcpy(&x, (const char *)p + sizeof x * (size_t)i, sizeof x); \
    return x;                                                     \
  }
LOADER(load_f64, double)
LOADER(load_u16, uint16_t)
LOADER(load_i16, int16_t)
LOADER(load_i32, int32_t)
LOADER(load_u32, uint32_t)
LOADER(load_i64, int64_t)
LOADER(load_u64, uint64_t)

bool vitc_value_is_aligned(const vitc_value *v) {
  size_t size = vitc_dtype_size(v->dtype);
  return !size || (uintptr_t)v->data % size == 0;
}

vitc_status vitc_aligned_inputs(const vitc_value *const *in, int n, vitc_value *copies, const vitc_value **use,
                                vitc_copy_buf *buf, vitc_error *err) {
  size_t need = 0;
  for (int k = 0; k < n; k++) {
    use[k] = in[k];
    if (in[k] && in[k]->data && !vitc_value_is_aligned(in[k])) need += (vitc_nbytes(in[k]) + 63) / 64 * 64;
  }
  if (!need) return VITC_OK;
  if (need + 63 > buf->cap) {
    free(buf->data); /* its contents are not needed: realloc would copy them */
    if (!(buf->data = malloc(need + 63))) {
      buf->cap = 0;
      return vitc_fail(err, VITC_ERR_NOMEM, "out of memory for aligned copies of %zu bytes", need);
    }
    buf->cap = need + 63;
  }
  unsigned char *at = (unsigned char *)(((uintptr_t)buf->data + 63) & ~(uintptr_t)63);
  for (int k = 0; k < n; k++) {
    if (!in[k] || !in[k]->data || vitc_value_is_aligned(in[k])) continue;
    size_t bytes = vitc_nbytes(in[k]);
    copies[k] = *in[k];
    copies[k].data = memcpy(at, in[k]->data, bytes);
    use[k] = &copies[k];
    at += (bytes + 63) / 64 * 64;
  }
  return VITC_OK;
}

double vitc_load_f(const vitc_value *v, int64_t i) {
  const void *p = v->data;
  switch (v->dtype) {
  case VITC_F32: return vitc_f32_at(p, i);
  case VITC_F64: return load_f64(p, i);
  case VITC_F16: return vitc_f16_to_f32(load_u16(p, i));
  case VITC_BF16: return vitc_bf16_to_f32(load_u16(p, i));
  case VITC_U64: return (double)load_u64(p, i);
  case VITC_I64: case VITC_I32: case VITC_I16: case VITC_I8: case VITC_U8: case VITC_BOOL: case VITC_U16:
  case VITC_U32: return (double)vitc_load_i(v, i);
  default: return 0; /* no element type: shape rules reject such values before anything loads them */
  }
}

void vitc_store_f(vitc_value *v, int64_t i, double x) {
  void *p = v->data;
  switch (v->dtype) {
  case VITC_F32: ((float *)p)[i] = (float)x; return;
  case VITC_F64: ((double *)p)[i] = x; return;
  case VITC_F16: ((uint16_t *)p)[i] = vitc_f32_to_f16((float)x); return;
  case VITC_BF16: ((uint16_t *)p)[i] = vitc_f32_to_bf16((float)x); return;
  case VITC_BOOL: ((uint8_t *)p)[i] = x != 0; return;
  default:
    /* Float to integer truncates toward zero, as C and ONNX Cast do; NaN and out-of-range saturate
     * rather than invoking undefined behaviour. */
    if (isnan(x)) x = 0;
    if (v->dtype == VITC_U64) {
      ((uint64_t *)p)[i] = x <= 0 ? 0 : x >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)x;
      return;
    }
    vitc_store_i(v, i, x >= 9223372036854775807.0 ? INT64_MAX : x <= -9223372036854775808.0 ? INT64_MIN : (int64_t)x);
  }
}

int64_t vitc_load_i(const vitc_value *v, int64_t i) {
  const void *p = v->data;
  switch (v->dtype) {
  case VITC_I64: return load_i64(p, i);
  case VITC_I32: return load_i32(p, i);
  case VITC_I16: return load_i16(p, i);
  case VITC_I8: return ((const int8_t *)p)[i];
  case VITC_U8: return ((const uint8_t *)p)[i];
  case VITC_BOOL: return ((const uint8_t *)p)[i] != 0;
  case VITC_U16: return load_u16(p, i);
  case VITC_U32: return load_u32(p, i);
  case VITC_U64: return (int64_t)load_u64(p, i);
  case VITC_F32: case VITC_F64: case VITC_F16: case VITC_BF16: {
    double x = vitc_load_f(v, i);
    if (isnan(x)) return 0;
    return x >= 9223372036854775807.0 ? INT64_MAX : x <= -9223372036854775808.0 ? INT64_MIN : (int64_t)x;
  }
  default: return 0;
  }
}

void vitc_store_i(vitc_value *v, int64_t i, int64_t x) {
  void *p = v->data;
  switch (v->dtype) {
  case VITC_I64: ((int64_t *)p)[i] = x; return;
  case VITC_I32: ((int32_t *)p)[i] = (int32_t)x; return;
  case VITC_I16: ((int16_t *)p)[i] = (int16_t)x; return;
  case VITC_I8: ((int8_t *)p)[i] = (int8_t)x; return;
  case VITC_U8: ((uint8_t *)p)[i] = (uint8_t)x; return;
  case VITC_BOOL: ((uint8_t *)p)[i] = x != 0; return;
  case VITC_U16: ((uint16_t *)p)[i] = (uint16_t)x; return;
  case VITC_U32: ((uint32_t *)p)[i] = (uint32_t)x; return;
  case VITC_U64: ((uint64_t *)p)[i] = (uint64_t)x; return;
  case VITC_F32: case VITC_F64: case VITC_F16: case VITC_BF16: vitc_store_f(v, i, (double)x); return;
  default: return;
  }
}

const char *vitc_value_type_str(const vitc_value *v, char *buf, size_t n) {
  static const char *const short_names[] = {
      [VITC_F32] = "f32", [VITC_U8] = "u8",   [VITC_I8] = "i8",   [VITC_U16] = "u16",
      [VITC_I16] = "i16", [VITC_I32] = "i32", [VITC_I64] = "i64", [VITC_BOOL] = "bool",
      [VITC_F16] = "f16", [VITC_F64] = "f64", [VITC_U32] = "u32", [VITC_U64] = "u64",
      [VITC_BF16] = "bf16",
  };
  const char *t = (unsigned)v->dtype < sizeof short_names / sizeof *short_names && short_names[v->dtype]
                      ? short_names[v->dtype]
                      : "?";
  size_t k = (size_t)snprintf(buf, n, "%s[", t);
  for (int i = 0; i < v->rank && k < n; i++) k += (size_t)snprintf(buf + k, n - k, i ? ",%lld" : "%lld", (long long)v->dims[i]);
  if (k < n) snprintf(buf + k, n - k, "]");
  return buf;
}

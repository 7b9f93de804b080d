/* vitc.h — the public contract of vitc, a compiler from ONNX vision-transformer models to native code.
 *
 * Every function returns a vitc_status; on failure the message naming file, node and op is kept per
 * thread and read with vitc_last_error(). The library never prints and never exits. */
#ifndef VITC_H
#define VITC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum vitc_status {
  VITC_OK = 0,
  VITC_ERR_IO,          /* a file could not be opened, read, mapped or written */
  VITC_ERR_PARSE,       /* malformed protobuf or text */
  VITC_ERR_INVALID,     /* well-formed input that breaks a rule: bad shape, bad attribute, cycle */
  VITC_ERR_UNSUPPORTED, /* valid ONNX that vitc does not implement: op, dtype, opset, attribute value */
  VITC_ERR_NOMEM,
  VITC_ERR_INTERNAL,
} vitc_status;

/* Element types carry ONNX TensorProto.DataType numbers so the frontend needs no translation table. */
#define VITC_DTYPES(X)                  \
  X(F32, 1, 4, "float32")               \
  X(U8, 2, 1, "uint8")                  \
  X(I8, 3, 1, "int8")                   \
  X(U16, 4, 2, "uint16")                \
  X(I16, 5, 2, "int16")                 \
  X(I32, 6, 4, "int32")                 \
  X(I64, 7, 8, "int64")                 \
  X(BOOL, 9, 1, "bool")                 \
  X(F16, 10, 2, "float16")              \
  X(F64, 11, 8, "float64")              \
  X(U32, 12, 4, "uint32")               \
  X(U64, 13, 8, "uint64")               \
  X(BF16, 16, 2, "bfloat16")

typedef enum vitc_dtype {
  VITC_UNDEFINED = 0,
#define X(id, code, size, name) VITC_##id = code,
  VITC_DTYPES(X)
#undef X
} vitc_dtype;

#define VITC_MAX_RANK 8

const char *vitc_status_name(vitc_status s);
const char *vitc_dtype_name(vitc_dtype t); /* "float32", …; NULL for an unknown code */
size_t vitc_dtype_size(vitc_dtype t);      /* 0 for an unknown code */

/* The message of the last failure on the calling thread ("" if none). */
const char *vitc_last_error(void);

#ifdef __cplusplus
}
#endif
#endif

/* dtype.h — element types of tensors, their sizes and names, their ONNX
 * codes, and exact conversions for the 16-bit float formats. */
#ifndef QKC_DTYPE_H
#define QKC_DTYPE_H

#include <stdbool.h>
#include <stdint.h>

/* X(enum suffix, name in IR text, size in bytes, ONNX TensorProto code) */
#define QK_DTYPES(X)        \
    X(F32, "f32", 4, 1)     \
    X(F16, "f16", 2, 10)    \
    X(BF16, "bf16", 2, 16)  \
    X(F64, "f64", 8, 11)    \
    X(I8, "i8", 1, 3)       \
    X(U8, "u8", 1, 2)       \
    X(I16, "i16", 2, 5)     \
    X(U16, "u16", 2, 4)     \
    X(I32, "i32", 4, 6)     \
    X(U32, "u32", 4, 12)    \
    X(I64, "i64", 8, 7)     \
    X(U64, "u64", 8, 13)    \
    X(BOOL, "bool", 1, 9)

typedef enum DType {
    DT_UNDEF = 0,
#define X(e, name, size, onnx) DT_##e,
    QK_DTYPES(X)
#undef X
    DT_COUNT
} DType;

const char *dtype_name(DType t);          /* "f32"; "undef" for DT_UNDEF */
int dtype_size(DType t);                  /* bytes per element; 0 for DT_UNDEF */
DType dtype_from_name(const char *name);  /* DT_UNDEF when unknown */
DType dtype_from_onnx(int code);          /* DT_UNDEF when unsupported */
int dtype_to_onnx(DType t);
/* ONNX name of a TensorProto code ("FLOAT", "STRING", ...), for messages. */
const char *dtype_onnx_code_name(int code);
bool dtype_is_float(DType t);             /* f32 f16 bf16 f64 */
bool dtype_is_signed_int(DType t);        /* i8 i16 i32 i64 */
bool dtype_is_unsigned_int(DType t);      /* u8 u16 u32 u64 bool */

/* IEEE binary16 and bfloat16 <-> binary32; narrowing rounds to nearest even,
 * keeps NaN a (quiet) NaN, overflows to infinity. */
float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);
float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);

#endif

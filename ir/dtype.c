/* dtype.c — the dtype table and 16-bit float conversions. */
#include "dtype.h"

#include <string.h>

static const struct {
    const char *name;
    int size, onnx;
} table[DT_COUNT] = {
    [DT_UNDEF] = {"undef", 0, 0},
#define X(e, name, size, onnx) [DT_##e] = {name, size, onnx},
    QK_DTYPES(X)
#undef X
};

const char *dtype_name(DType t) { return (unsigned)t < DT_COUNT ? table[t].name : "undef"; }
int dtype_size(DType t) { return (unsigned)t < DT_COUNT ? table[t].size : 0; }
int dtype_to_onnx(DType t) { return (unsigned)t < DT_COUNT ? table[t].onnx : 0; }

DType dtype_from_name(const char *name)
{
    for (int t = 1; t < DT_COUNT; t++)
        if (strcmp(table[t].name, name) == 0)
            return (DType)t;
    return DT_UNDEF;
}

DType dtype_from_onnx(int code)
{
    for (int t = 1; t < DT_COUNT; t++)
        if (table[t].onnx == code)
            return (DType)t;
    return DT_UNDEF;
}

const char *dtype_onnx_code_name(int code)
{
    static const char *names[] = {"UNDEFINED", "FLOAT",  "UINT8",  "INT8",      "UINT16",     "INT16",
                                  "INT32",     "INT64",  "STRING", "BOOL",      "FLOAT16",    "DOUBLE",
                                  "UINT32",    "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16"};
    if (code >= 0 && code < (int)(sizeof names / sizeof names[0]))
        return names[code];
    return "unknown";
}

bool dtype_is_float(DType t) { return t == DT_F32 || t == DT_F16 || t == DT_BF16 || t == DT_F64; }
bool dtype_is_signed_int(DType t) { return t == DT_I8 || t == DT_I16 || t == DT_I32 || t == DT_I64; }
bool dtype_is_unsigned_int(DType t)
{
    return t == DT_U8 || t == DT_U16 || t == DT_U32 || t == DT_U64 || t == DT_BOOL;
}

static uint32_t bits_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float float_of(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    if (exp == 0x1f) /* inf / nan */
        return float_of(sign | 0x7f800000u | (man << 13));
    if (exp == 0) {
        if (man == 0)
            return float_of(sign);
        /* subnormal: value = man * 2^-24 */
        float v = (float)man * (1.0f / 16777216.0f);
        return sign ? -v : v;
    }
    return float_of(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t f32_to_f16(float f)
{
    uint32_t u = bits_of(f);
    uint32_t sign = (u >> 16) & 0x8000;
    uint32_t absu = u & 0x7fffffffu;
    if (absu > 0x7f800000u) /* NaN: keep it quiet, keep top mantissa bits */
        return (uint16_t)(sign | 0x7e00 | ((absu >> 13) & 0x3ff));
    if (absu >= 0x477ff000u) /* >= 65520 rounds to inf */
        return (uint16_t)(sign | 0x7c00);
    if (absu < 0x38800000u) { /* below 2^-14: subnormal or zero */
        /* value / 2^-24, rounded to nearest even */
        float a = float_of(absu) * 16777216.0f; /* exact scaling by 2^24 */
        uint32_t m = (uint32_t)a;
        float rem = a - (float)m;
        if (rem > 0.5f || (rem == 0.5f && (m & 1)))
            m++;
        return (uint16_t)(sign | m);
    }
    /* normal: rebias exponent, round mantissa 23 -> 10 bits, RNE */
    uint32_t r = absu - 0x38000000u; /* exponent - 112 */
    uint32_t lsb = (r >> 13) & 1;
    r += 0xfff + lsb;
    return (uint16_t)(sign | (r >> 13));
}

float bf16_to_f32(uint16_t h) { return float_of((uint32_t)h << 16); }

uint16_t f32_to_bf16(float f)
{
    uint32_t u = bits_of(f);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fff + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

/* mathfn.c — elementwise math in LLVM IR, identical on every target.
 *
 * No libm: NVPTX has none, libm calls do not vectorize, and an artifact
 * should need nothing but libc. exp and tanh follow Cephes' single
 * precision algorithms (about 1 ulp); NaN handling is explicit so no
 * poison value (fptosi of NaN) ever reaches a result. Works on scalars and
 * vectors alike (constants are splatted to the operand's type). */
#include <math.h>

#include "cg.h"

/* A constant f32 of x's type (scalar or vector splat). */
static LLVMValueRef fc(Cg *cg, LLVMValueRef like, double v)
{
    LLVMTypeRef t = LLVMTypeOf(like);
    if (LLVMGetTypeKind(t) == LLVMVectorTypeKind) {
        unsigned n = LLVMGetVectorSize(t);
        LLVMValueRef s = LLVMConstReal(LLVMGetElementType(t), v);
        LLVMValueRef elems[64];
        for (unsigned i = 0; i < n && i < 64; i++)
            elems[i] = s;
        return LLVMConstVector(elems, n);
    }
    return LLVMConstReal(t, v);
}

/* The integer type with x's shape (i32 lanes for f32). */
static LLVMTypeRef int_like(Cg *cg, LLVMValueRef x)
{
    LLVMTypeRef t = LLVMTypeOf(x);
    if (LLVMGetTypeKind(t) == LLVMVectorTypeKind)
        return LLVMVectorType(cg->i32, LLVMGetVectorSize(t));
    return cg->i32;
}

static LLVMValueRef ic(Cg *cg, LLVMTypeRef t, int64_t v)
{
    if (LLVMGetTypeKind(t) == LLVMVectorTypeKind) {
        unsigned n = LLVMGetVectorSize(t);
        LLVMValueRef s = LLVMConstInt(LLVMGetElementType(t), (unsigned long long)v, 1);
        LLVMValueRef elems[64];
        for (unsigned i = 0; i < n && i < 64; i++)
            elems[i] = s;
        return LLVMConstVector(elems, n);
    }
    return LLVMConstInt(t, (unsigned long long)v, 1);
}

static LLVMValueRef fabs_(Cg *cg, LLVMValueRef x)
{
    LLVMTypeRef t = LLVMTypeOf(x);
    return cg_intrin(cg, "llvm.fabs", &t, 1, &x, 1);
}

static LLVMValueRef isnan_(Cg *cg, LLVMValueRef x) { return LLVMBuildFCmp(cg->b, LLVMRealUNO, x, x, "isnan"); }

LLVMValueRef cg_fmax_nan(Cg *cg, LLVMValueRef a, LLVMValueRef b)
{
    /* a >= b or a is NaN: a (ties, such as -0 and +0, keep the first, as
     * the interpreter and NumPy); else b (a NaN in b is then taken) */
    LLVMValueRef take_a = LLVMBuildOr(cg->b, LLVMBuildFCmp(cg->b, LLVMRealOGE, a, b, ""), isnan_(cg, a), "");
    return LLVMBuildSelect(cg->b, take_a, a, b, "max");
}

LLVMValueRef cg_fmin_nan(Cg *cg, LLVMValueRef a, LLVMValueRef b)
{
    LLVMValueRef take_a = LLVMBuildOr(cg->b, LLVMBuildFCmp(cg->b, LLVMRealOLE, a, b, ""), isnan_(cg, a), "");
    return LLVMBuildSelect(cg->b, take_a, a, b, "min");
}

LLVMValueRef cg_exp(Cg *cg, LLVMValueRef x)
{
    LLVMBuilderRef b = cg->b;
    LLVMValueRef nan = isnan_(cg, x);
    /* clamp to where 2^n stays a normal float */
    LLVMValueRef hi = fc(cg, x, 88.3762626647949), lo = fc(cg, x, -88.3762626647949);
    LLVMValueRef xc = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, x, hi, ""), hi, x, "");
    xc = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLT, xc, lo, ""), lo, xc, "");
    xc = LLVMBuildSelect(b, nan, fc(cg, x, 0.0), xc, "");
    /* n = round(x / ln2), by the 1.5*2^23 trick (no libm, no SSE4.1) */
    LLVMValueRef t = LLVMBuildFMul(b, xc, fc(cg, x, 1.44269504088896341), "");
    LLVMValueRef magic = fc(cg, x, 12582912.0);
    LLVMValueRef fx = LLVMBuildFSub(b, LLVMBuildFAdd(b, t, magic, ""), magic, "fx");
    /* r = x - n*ln2, in two parts */
    LLVMValueRef r = LLVMBuildFSub(b, xc, LLVMBuildFMul(b, fx, fc(cg, x, 0.693359375), ""), "");
    r = LLVMBuildFSub(b, r, LLVMBuildFMul(b, fx, fc(cg, x, -2.12194440e-4), ""), "r");
    LLVMValueRef z = LLVMBuildFMul(b, r, r, "");
    LLVMValueRef p = fc(cg, x, 1.9875691500E-4);
    static const double c[] = {1.3981999507E-3, 8.3334519073E-3, 4.1665795894E-2, 1.6666665459E-1, 5.0000001201E-1};
    for (int i = 0; i < 5; i++)
        p = LLVMBuildFAdd(b, LLVMBuildFMul(b, p, r, ""), fc(cg, x, c[i]), "");
    LLVMValueRef y = LLVMBuildFAdd(b, LLVMBuildFAdd(b, LLVMBuildFMul(b, p, z, ""), r, ""), fc(cg, x, 1.0), "");
    /* scale by 2^n through the exponent bits */
    LLVMTypeRef it = int_like(cg, x);
    LLVMValueRef n = LLVMBuildFPToSI(b, fx, it, "");
    LLVMValueRef bits = LLVMBuildShl(b, LLVMBuildAdd(b, n, ic(cg, it, 127), ""), ic(cg, it, 23), "");
    y = LLVMBuildFMul(b, y, LLVMBuildBitCast(b, bits, LLVMTypeOf(x), ""), "exp");
    return LLVMBuildSelect(b, nan, x, y, "");
}

LLVMValueRef cg_sigmoid(Cg *cg, LLVMValueRef x)
{
    /* e = exp(-|x|); x >= 0: 1/(1+e), else e/(1+e): never overflows */
    LLVMBuilderRef b = cg->b;
    LLVMValueRef e = cg_exp(cg, LLVMBuildFNeg(b, fabs_(cg, x), ""));
    LLVMValueRef r = LLVMBuildFDiv(b, fc(cg, x, 1.0), LLVMBuildFAdd(b, fc(cg, x, 1.0), e, ""), "");
    LLVMValueRef neg = LLVMBuildFCmp(b, LLVMRealOLT, x, fc(cg, x, 0.0), "");
    return LLVMBuildSelect(b, neg, LLVMBuildFMul(b, e, r, ""), r, "sigmoid");
}

LLVMValueRef cg_tanh(Cg *cg, LLVMValueRef x)
{
    LLVMBuilderRef b = cg->b;
    LLVMValueRef z = fabs_(cg, x);
    /* |x| > 0.625: 1 - 2/(exp(2|x|) + 1) */
    LLVMValueRef e = cg_exp(cg, LLVMBuildFMul(b, z, fc(cg, x, 2.0), ""));
    LLVMValueRef big = LLVMBuildFSub(b, fc(cg, x, 1.0),
                                     LLVMBuildFDiv(b, fc(cg, x, 2.0), LLVMBuildFAdd(b, e, fc(cg, x, 1.0), ""), ""), "");
    /* else an odd polynomial */
    LLVMValueRef s = LLVMBuildFMul(b, x, x, "");
    LLVMValueRef p = fc(cg, x, -5.70498872745E-3);
    static const double c[] = {2.06390887954E-2, -5.37397155531E-2, 1.33314422036E-1, -3.33332819422E-1};
    for (int i = 0; i < 4; i++)
        p = LLVMBuildFAdd(b, LLVMBuildFMul(b, p, s, ""), fc(cg, x, c[i]), "");
    LLVMValueRef small = LLVMBuildFAdd(b, LLVMBuildFMul(b, LLVMBuildFMul(b, p, s, ""), z, ""), z, "");
    LLVMValueRef r = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, z, fc(cg, x, 0.625), ""), big, small, "");
    LLVMTypeRef t = LLVMTypeOf(x);
    LLVMValueRef args[2] = {r, x};
    r = cg_intrin(cg, "llvm.copysign", &t, 1, args, 2);
    return LLVMBuildSelect(b, isnan_(cg, x), x, r, "tanh");
}

LLVMValueRef cg_act(Cg *cg, Act act, float alpha, float beta, LLVMValueRef x)
{
    LLVMBuilderRef b = cg->b;
    switch (act) {
    case ACT_NONE:
        return x;
    case ACT_RELU: /* x < 0 ? 0 : x; NaN stays NaN */
        return LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLT, x, fc(cg, x, 0.0), ""), fc(cg, x, 0.0), x, "relu");
    case ACT_LEAKY_RELU:
        return LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLT, x, fc(cg, x, 0.0), ""),
                               LLVMBuildFMul(b, x, fc(cg, x, alpha), ""), x, "leaky");
    case ACT_CLIP: {
        LLVMValueRef lo = fc(cg, x, alpha), hi = fc(cg, x, beta);
        LLVMValueRef y = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLT, x, lo, ""), lo, x, "");
        return LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, y, hi, ""), hi, y, "clip");
    }
    case ACT_SIGMOID:
        return cg_sigmoid(cg, x);
    case ACT_TANH:
        return cg_tanh(cg, x);
    default:
        return x;
    }
}

/* ---- 16-bit floats ------------------------------------------------------ */

LLVMValueRef cg_f16_to_f32(Cg *cg, LLVMValueRef h)
{
    LLVMBuilderRef b = cg->b;
    if (cg->t->f16_convert)
        return LLVMBuildFPExt(b, LLVMBuildBitCast(b, h, cg->f16, ""), cg->f32, "");
    LLVMValueRef u = LLVMBuildZExt(b, h, cg->i32, "");
    LLVMValueRef sign = LLVMBuildShl(b, LLVMBuildAnd(b, u, cg_i32(cg, 0x8000), ""), cg_i32(cg, 16), "");
    LLVMValueRef e = LLVMBuildAnd(b, LLVMBuildLShr(b, u, cg_i32(cg, 10), ""), cg_i32(cg, 0x1f), "");
    LLVMValueRef m = LLVMBuildAnd(b, u, cg_i32(cg, 0x3ff), "");
    LLVMValueRef normal = LLVMBuildOr(b, LLVMBuildShl(b, LLVMBuildAdd(b, e, cg_i32(cg, 112), ""), cg_i32(cg, 23), ""),
                                      LLVMBuildShl(b, m, cg_i32(cg, 13), ""), "");
    LLVMValueRef special = LLVMBuildOr(b, cg_i32(cg, 0x7f800000), LLVMBuildShl(b, m, cg_i32(cg, 13), ""), "");
    /* subnormal: m * 2^-24, exact in f32 */
    LLVMValueRef sub = LLVMBuildBitCast(
        b, LLVMBuildFMul(b, LLVMBuildUIToFP(b, m, cg->f32, ""), cg_f32(cg, 1.0f / 16777216.0f), ""), cg->i32, "");
    LLVMValueRef r = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntEQ, e, cg_i32(cg, 0x1f), ""), special, normal, "");
    r = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntEQ, e, cg_i32(cg, 0), ""), sub, r, "");
    return LLVMBuildBitCast(b, LLVMBuildOr(b, r, sign, ""), cg->f32, "");
}

LLVMValueRef cg_f32_to_f16(Cg *cg, LLVMValueRef f)
{
    LLVMBuilderRef b = cg->b;
    if (cg->t->f16_convert)
        return LLVMBuildBitCast(b, LLVMBuildFPTrunc(b, f, cg->f16, ""), cg->i16, "");
    LLVMValueRef u = LLVMBuildBitCast(b, f, cg->i32, "");
    LLVMValueRef sign = LLVMBuildAnd(b, LLVMBuildLShr(b, u, cg_i32(cg, 16), ""), cg_i32(cg, 0x8000), "");
    LLVMValueRef a = LLVMBuildAnd(b, u, cg_i32(cg, 0x7fffffff), "");
    LLVMValueRef nanv = LLVMBuildOr(
        b, cg_i32(cg, 0x7e00), LLVMBuildAnd(b, LLVMBuildLShr(b, a, cg_i32(cg, 13), ""), cg_i32(cg, 0x3ff), ""), "");
    /* subnormal results: adding 0.5f puts the rounded value in the low bits */
    LLVMValueRef af = LLVMBuildBitCast(b, a, cg->f32, "");
    LLVMValueRef sub = LLVMBuildSub(b, LLVMBuildBitCast(b, LLVMBuildFAdd(b, af, cg_f32(cg, 0.5f), ""), cg->i32, ""),
                                    cg_i32(cg, 0x3f000000), "");
    /* normal: rebias the exponent, round the mantissa to nearest even */
    LLVMValueRef odd = LLVMBuildAnd(b, LLVMBuildLShr(b, a, cg_i32(cg, 13), ""), cg_i32(cg, 1), "");
    LLVMValueRef nrm = LLVMBuildAdd(b, LLVMBuildSub(b, a, cg_i32(cg, 0x38000000), ""), cg_i32(cg, 0xfff), "");
    nrm = LLVMBuildLShr(b, LLVMBuildAdd(b, nrm, odd, ""), cg_i32(cg, 13), "");
    LLVMValueRef r = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntULT, a, cg_i32(cg, 0x38800000), ""), sub, nrm, "");
    r = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntUGE, a, cg_i32(cg, 0x477ff000), ""), cg_i32(cg, 0x7c00), r, "");
    r = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntUGT, a, cg_i32(cg, 0x7f800000), ""), nanv, r, "");
    return LLVMBuildTrunc(b, LLVMBuildOr(b, r, sign, ""), cg->i16, "");
}

LLVMValueRef cg_bf16_to_f32(Cg *cg, LLVMValueRef h)
{
    LLVMValueRef u = LLVMBuildShl(cg->b, LLVMBuildZExt(cg->b, h, cg->i32, ""), cg_i32(cg, 16), "");
    return LLVMBuildBitCast(cg->b, u, cg->f32, "");
}

LLVMValueRef cg_f32_to_bf16(Cg *cg, LLVMValueRef f)
{
    LLVMBuilderRef b = cg->b;
    LLVMValueRef u = LLVMBuildBitCast(b, f, cg->i32, "");
    LLVMValueRef odd = LLVMBuildAnd(b, LLVMBuildLShr(b, u, cg_i32(cg, 16), ""), cg_i32(cg, 1), "");
    LLVMValueRef r = LLVMBuildLShr(b, LLVMBuildAdd(b, LLVMBuildAdd(b, u, cg_i32(cg, 0x7fff), ""), odd, ""),
                                   cg_i32(cg, 16), "");
    LLVMValueRef nanv = LLVMBuildOr(b, LLVMBuildLShr(b, u, cg_i32(cg, 16), ""), cg_i32(cg, 0x40), "");
    LLVMValueRef a = LLVMBuildAnd(b, u, cg_i32(cg, 0x7fffffff), "");
    r = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntUGT, a, cg_i32(cg, 0x7f800000), ""), nanv, r, "");
    return LLVMBuildTrunc(b, r, cg->i16, "");
}

/* ---- Cast --------------------------------------------------------------- */

static bool is_unsigned(DType t) { return dtype_is_unsigned_int(t); }

/* f64 -> f32 rounded to odd: exact values stay, inexact ones keep a sticky
 * low bit, so a later nearest-even rounding to f16/bf16 rounds once, as
 * if straight from the double (the interpreter's rule). */
static LLVMValueRef f64_to_f32_odd(Cg *cg, LLVMValueRef d)
{
    LLVMBuilderRef b = cg->b;
    LLVMValueRef f = LLVMBuildFPTrunc(b, d, cg->f32, "");
    LLVMValueRef back = LLVMBuildFPExt(b, f, cg->f64, "");
    LLVMValueRef inexact = LLVMBuildFCmp(b, LLVMRealONE, back, d, "");
    LLVMTypeRef t = cg->f64;
    LLVMValueRef over = LLVMBuildFCmp(b, LLVMRealOGT, cg_intrin(cg, "llvm.fabs", &t, 1, &back, 1),
                                      cg_intrin(cg, "llvm.fabs", &t, 1, &d, 1), "");
    LLVMValueRef bits = LLVMBuildBitCast(b, f, cg->i32, "");
    LLVMValueRef tz = LLVMBuildSelect(b, over, LLVMBuildSub(b, bits, cg_i32(cg, 1), ""), bits, "");
    LLVMValueRef odd = LLVMBuildOr(b, tz, cg_i32(cg, 1), "");
    return LLVMBuildBitCast(b, LLVMBuildSelect(b, inexact, odd, bits, ""), cg->f32, "");
}

LLVMValueRef cg_convert(Cg *cg, LLVMValueRef v, DType from, DType to)
{
    LLVMBuilderRef b = cg->b;
    LLVMTypeRef tt = cg_calc_type(cg, to);
    if (to == DT_BOOL) { /* nonzero (NaN too) is true */
        LLVMValueRef nz = dtype_is_float(from) ? LLVMBuildFCmp(b, LLVMRealUNE, v, LLVMConstReal(LLVMTypeOf(v), 0), "")
                                               : LLVMBuildICmp(b, LLVMIntNE, v, LLVMConstInt(LLVMTypeOf(v), 0, 0), "");
        return LLVMBuildZExt(b, nz, tt, "");
    }
    if (dtype_is_float(from) && dtype_is_float(to)) {
        LLVMTypeRef ft = LLVMTypeOf(v);
        if (ft == tt)
            return v;
        if (from == DT_F64 && (to == DT_F16 || to == DT_BF16))
            return f64_to_f32_odd(cg, v);
        return tt == cg->f64 ? LLVMBuildFPExt(b, v, tt, "") : LLVMBuildFPTrunc(b, v, tt, "");
    }
    if (dtype_is_float(from)) { /* truncate toward zero, saturate, NaN -> 0 */
        LLVMTypeRef ovl[2] = {tt, LLVMTypeOf(v)};
        return cg_intrin(cg, is_unsigned(to) ? "llvm.fptoui.sat" : "llvm.fptosi.sat", ovl, 2, &v, 1);
    }
    if (to == DT_BF16 && LLVMGetIntTypeWidth(LLVMTypeOf(v)) > 16) /* one rounding: via f64, then to odd */
        return f64_to_f32_odd(cg, is_unsigned(from) ? LLVMBuildUIToFP(b, v, cg->f64, "") : LLVMBuildSIToFP(b, v, cg->f64, ""));
    if (dtype_is_float(to))
        return is_unsigned(from) ? LLVMBuildUIToFP(b, v, tt, "") : LLVMBuildSIToFP(b, v, tt, "");
    unsigned fw = LLVMGetIntTypeWidth(LLVMTypeOf(v)), tw = LLVMGetIntTypeWidth(tt);
    if (fw == tw)
        return v;
    if (fw > tw)
        return LLVMBuildTrunc(b, v, tt, "");
    return is_unsigned(from) ? LLVMBuildZExt(b, v, tt, "") : LLVMBuildSExt(b, v, tt, "");
}

/* ---- quantized arithmetic --------------------------------------------- */

LLVMValueRef cg_rne(Cg *cg, LLVMValueRef v)
{
    LLVMBuilderRef b = cg->b;
    bool dbl = LLVMTypeOf(v) == cg->f64;
    /* adding and subtracting 1.5 * 2^(mantissa bits) rounds to nearest even */
    double magic = dbl ? 6755399441055744.0 : 12582912.0, lim = dbl ? 2251799813685248.0 : 4194304.0;
    LLVMValueRef m = fc(cg, v, magic);
    LLVMValueRef r = LLVMBuildFSub(b, LLVMBuildFAdd(b, v, m, ""), m, "");
    LLVMTypeRef t = LLVMTypeOf(v);
    LLVMValueRef small = LLVMBuildFCmp(b, LLVMRealOLT, cg_intrin(cg, "llvm.fabs", &t, 1, &v, 1), fc(cg, v, lim), "");
    return LLVMBuildSelect(b, small, r, v, "rne");
}

void cg_qrange(Cg *cg, DType t, LLVMValueRef *qmin, LLVMValueRef *qmax)
{
    *qmin = cg_i32(cg, t == DT_I8 ? -128 : t == DT_U8 ? 0 : INT32_MIN);
    *qmax = cg_i32(cg, t == DT_I8 ? 127 : t == DT_U8 ? 255 : INT32_MAX);
}

static LLVMValueRef clamp_i32(Cg *cg, LLVMValueRef v, LLVMValueRef lo, LLVMValueRef hi)
{
    LLVMBuilderRef b = cg->b;
    v = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, v, lo, ""), lo, v, "");
    return LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSGT, v, hi, ""), hi, v, "");
}

LLVMValueRef cg_quantize(Cg *cg, LLVMValueRef x, LLVMValueRef s, LLVMValueRef zp, DType t)
{
    LLVMBuilderRef b = cg->b;
    LLVMValueRef q = LLVMBuildFDiv(b, x, s, "");
    LLVMValueRef nan = LLVMBuildFCmp(b, LLVMRealUNO, q, q, "");
    q = cg_rne(cg, q);
    /* clamp in float first (no poison from fptosi; inf saturates) */
    LLVMValueRef lim = cg_f32(cg, 1073741824.0f);
    q = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, q, lim, ""), lim, q, "");
    q = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLT, q, LLVMBuildFNeg(b, lim, ""), ""), LLVMBuildFNeg(b, lim, ""), q, "");
    q = LLVMBuildSelect(b, nan, cg_f32(cg, 0), q, "");
    LLVMValueRef qi = LLVMBuildAdd(b, LLVMBuildFPToSI(b, q, cg->i32, ""), zp, "");
    LLVMValueRef qmin, qmax;
    cg_qrange(cg, t, &qmin, &qmax);
    return clamp_i32(cg, qi, qmin, qmax);
}

LLVMValueRef cg_requant(Cg *cg, LLVMValueRef acc, LLVMValueRef m, LLVMValueRef zp, DType t)
{
    LLVMBuilderRef b = cg->b;
    LLVMValueRef v = LLVMBuildFMul(b, LLVMBuildSIToFP(b, acc, cg->f64, ""), LLVMBuildFPExt(b, m, cg->f64, ""), "");
    LLVMValueRef lim = LLVMConstReal(cg->f64, 1099511627776.0); /* 2^40: beyond, saturate */
    v = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, v, lim, ""), lim, v, "");
    v = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLT, v, LLVMBuildFNeg(b, lim, ""), ""), LLVMBuildFNeg(b, lim, ""), v, "");
    v = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealUNO, v, v, ""), LLVMConstReal(cg->f64, 0), v, ""); /* M NaN */
    LLVMValueRef r = LLVMBuildFPToSI(b, cg_rne(cg, v), cg->i64, "");
    r = LLVMBuildAdd(b, r, LLVMBuildSExt(b, zp, cg->i64, ""), "");
    LLVMValueRef qmin, qmax;
    cg_qrange(cg, t, &qmin, &qmax);
    LLVMValueRef lo = LLVMBuildSExt(b, qmin, cg->i64, ""), hi = LLVMBuildSExt(b, qmax, cg->i64, "");
    r = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, r, lo, ""), lo, r, "");
    r = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSGT, r, hi, ""), hi, r, "");
    return LLVMBuildTrunc(b, r, cg->i32, "q");
}

LLVMValueRef cg_qact(Cg *cg, const Attrs *a, LLVMValueRef q, LLVMValueRef y_s, LLVMValueRef y_zp, DType t)
{
    LLVMValueRef qmin, qmax;
    cg_qrange(cg, t, &qmin, &qmax);
    switch (a->act) {
    case ACT_RELU:
        return clamp_i32(cg, q, y_zp, qmax);
    case ACT_CLIP:
        return clamp_i32(cg, q, cg_quantize(cg, cg_f32(cg, a->act_alpha), y_s, y_zp, t),
                         cg_quantize(cg, cg_f32(cg, a->act_beta), y_s, y_zp, t));
    default:
        return q;
    }
}

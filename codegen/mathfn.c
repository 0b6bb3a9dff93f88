/* mathfn.c — elementwise math in LLVM IR, identical on every target.
 *
 * No libm: NVPTX has none, libm calls do not vectorize, and an artifact
 * should need nothing but libc. Nor LLVM intrinsics that become libm calls
 * on some target (llvm.floor/ceil/trunc/rint without SSE4.1, llvm.fma
 * without FMA, llvm.exp/log/sin...): only fabs, copysign, arithmetic, bit
 * manipulation, and fptosi behind a select that keeps NaN and out-of-range
 * values away from it (no poison). No branches either: special cases are
 * selects, so a loop calling these vectorizes. Works on scalars and vectors
 * alike (constants are splatted to the operand's type), and gives the same
 * bits on x86-64 (any CPU), AArch64 and, by construction, NVPTX: no
 * multiply-add is ever fused. Some functions compute in f64 and round once
 * (exact products, no hi/lo splitting; slower where f64 is, as on consumer
 * GPUs).
 *
 * Accuracy, the max error in ulps of the f32 result against libm in double
 * (tests/codegen/test_mathfn.c; "all": every one of the 2^32 inputs, with
 * QKC_MATHFN_ALL):
 *   exp      0.990 (all)  Cephes' single precision algorithm; inf past
 *                     ln(FLT_MAX), subnormal results as libm's
 *   tanh sigmoid  Cephes' single precision algorithms, about 1 ulp
 *   floor ceil trunc rne   exact (all f32; f64 too)
 *   log      0.840 (all)  f32, FreeBSD's logf scheme with our own fit
 *   log1p    0.866 (all)  f32, log(1 + x rounded) + the rounding error's share
 *   erf      1.256 (all)  f32, x + x Q(x^2) below 0.9375, 1 - exp(h(x) - x^2) above
 *   sin cos tan  0.5001 (all |x| < 1e8)  f64 after Cody-Waite reduction;
 *                     beyond 1e8 an absolute error of about |x| 2^-53
 *   atan     0.5004 (all) f64
 *   pow      0.5000 (over 1.1M samples: y log2 x spread over [-160, 160],
 *                     x near 1 with large y, negative x) f64 log2 and exp2
 *   fmod     exact        f64 long division, ten steps
 * The polynomials noted "our fit" are near-minimax fits made for this file
 * (tests/codegen/mathfn_fit.py remakes them), not copied from anywhere. */
#include <assert.h>
#include <math.h>

#include "cg.h"
#include "qkc/qkrt_abi.h"

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

/* The type with x's shape (scalar or as many lanes) and element type e. */
static LLVMTypeRef shape_of(LLVMValueRef x, LLVMTypeRef e)
{
    LLVMTypeRef t = LLVMTypeOf(x);
    if (LLVMGetTypeKind(t) == LLVMVectorTypeKind)
        return LLVMVectorType(e, LLVMGetVectorSize(t));
    return e;
}

/* x's element type (x's type when a scalar). */
static LLVMTypeRef elem_of(LLVMValueRef x)
{
    LLVMTypeRef t = LLVMTypeOf(x);
    return LLVMGetTypeKind(t) == LLVMVectorTypeKind ? LLVMGetElementType(t) : t;
}

/* The integer type with x's shape (i32 lanes for f32). */
static LLVMTypeRef int_like(Cg *cg, LLVMValueRef x) { return shape_of(x, cg->i32); }

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

/* Shorthands for the longer functions below; operands share one type. */
static LLVMValueRef fadd_(Cg *cg, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFAdd(cg->b, a, b, ""); }
static LLVMValueRef fsub_(Cg *cg, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFSub(cg->b, a, b, ""); }
static LLVMValueRef fmul_(Cg *cg, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFMul(cg->b, a, b, ""); }
static LLVMValueRef fdiv_(Cg *cg, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFDiv(cg->b, a, b, ""); }
static LLVMValueRef fcmp(Cg *cg, LLVMRealPredicate p, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildFCmp(cg->b, p, a, b, "");
}
static LLVMValueRef sel(Cg *cg, LLVMValueRef c, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildSelect(cg->b, c, a, b, "");
}

static LLVMValueRef copysign_(Cg *cg, LLVMValueRef mag, LLVMValueRef sign)
{
    LLVMTypeRef t = LLVMTypeOf(mag);
    LLVMValueRef args[2] = {mag, sign};
    return cg_intrin(cg, "llvm.copysign", &t, 1, args, 2);
}

/* c[0] + c[1] x + ... + c[n-1] x^(n-1), by Horner's rule in x's type (the
 * coefficients are rounded to it). No fused multiply-add: llvm.fma becomes
 * a call to fmaf where the CPU has none, and llvm.fmuladd would give other
 * bits on other CPUs. */
static LLVMValueRef poly(Cg *cg, LLVMValueRef x, const double *c, int n)
{
    LLVMValueRef p = fc(cg, x, c[n - 1]);
    for (int i = n - 2; i >= 0; i--)
        p = fadd_(cg, fmul_(cg, p, x), fc(cg, x, c[i]));
    return p;
}

/* |x| < +inf (false for NaN). */
static LLVMValueRef isfinite_(Cg *cg, LLVMValueRef x)
{
    return fcmp(cg, LLVMRealOLT, fabs_(cg, x), fc(cg, x, INFINITY));
}

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

/* exp(x); `specials` false when the caller knows x is a number whose exp is
 * a normal float (|x| < 87): the clamps, the NaN select and the split
 * scaling go, the result's bits are the same. */
static LLVMValueRef exp_f32(Cg *cg, LLVMValueRef x, bool specials)
{
    LLVMBuilderRef b = cg->b;
    LLVMValueRef nan = NULL, xc = x;
    if (specials) {
        nan = isnan_(cg, x);
        /* clamp to where the result is inf or 0 anyway: 2^n is applied in two
         * normal halves below, so exp overflows past ln(FLT_MAX) = 88.7228 and
         * underflows through the subnormals as libm's does */
        LLVMValueRef hi = fc(cg, x, 89.0), lo = fc(cg, x, -104.0);
        xc = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, x, hi, ""), hi, x, "");
        xc = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLT, xc, lo, ""), lo, xc, "");
        xc = LLVMBuildSelect(b, nan, fc(cg, x, 0.0), xc, "");
    }
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
    /* scale by 2^n through the exponent bits (one normal power of two when
     * the result is normal, else two halves) */
    LLVMTypeRef it = int_like(cg, x);
    LLVMValueRef n = LLVMBuildFPToSI(b, fx, it, "");
    if (!specials) {
        LLVMValueRef s1 = LLVMBuildShl(b, LLVMBuildAdd(b, n, ic(cg, it, 127), ""), ic(cg, it, 23), "");
        return LLVMBuildFMul(b, y, LLVMBuildBitCast(b, s1, LLVMTypeOf(x), ""), "exp");
    }
    LLVMValueRef n1 = LLVMBuildAShr(b, n, ic(cg, it, 1), ""), n2 = LLVMBuildSub(b, n, n1, "");
    LLVMValueRef s1 = LLVMBuildShl(b, LLVMBuildAdd(b, n1, ic(cg, it, 127), ""), ic(cg, it, 23), "");
    LLVMValueRef s2 = LLVMBuildShl(b, LLVMBuildAdd(b, n2, ic(cg, it, 127), ""), ic(cg, it, 23), "");
    y = LLVMBuildFMul(b, y, LLVMBuildBitCast(b, s1, LLVMTypeOf(x), ""), "");
    y = LLVMBuildFMul(b, y, LLVMBuildBitCast(b, s2, LLVMTypeOf(x), ""), "exp");
    return LLVMBuildSelect(b, nan, x, y, "");
}

LLVMValueRef cg_exp(Cg *cg, LLVMValueRef x) { return exp_f32(cg, x, true); }

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

/* ---- rounding to integers ---------------------------------------------- */
/* No llvm.floor/ceil/trunc/rint: without SSE4.1 (plain x86-64) they become
 * calls to floorf and co. Magnitudes from 2^23 (f32) or 2^52 (f64) on are
 * integers already, as are the infinities; NaN passes through. */

static double int_limit(Cg *cg, LLVMValueRef x) { return elem_of(x) == cg->f64 ? 4503599627370496.0 : 8388608.0; }

LLVMValueRef cg_trunc(Cg *cg, LLVMValueRef x)
{
    LLVMBuilderRef b = cg->b;
    /* through an integer and back; the operand of fptosi is selected first,
     * so big values and NaN never reach it (no poison) */
    LLVMValueRef small = fcmp(cg, LLVMRealOLT, fabs_(cg, x), fc(cg, x, int_limit(cg, x)));
    LLVMTypeRef it = shape_of(x, elem_of(x) == cg->f64 ? cg->i64 : cg->i32);
    LLVMValueRef i = LLVMBuildFPToSI(b, sel(cg, small, x, fc(cg, x, 0.0)), it, "");
    LLVMValueRef t = copysign_(cg, LLVMBuildSIToFP(b, i, LLVMTypeOf(x), ""), x); /* -0.5 -> -0 */
    return LLVMBuildSelect(b, small, t, x, "trunc");
}

LLVMValueRef cg_floor(Cg *cg, LLVMValueRef x)
{
    /* trunc went up for negative non-integers: one less (-0 stays -0) */
    LLVMValueRef t = cg_trunc(cg, x);
    return LLVMBuildSelect(cg->b, fcmp(cg, LLVMRealOGT, t, x), fsub_(cg, t, fc(cg, x, 1.0)), t, "floor");
}

LLVMValueRef cg_ceil(Cg *cg, LLVMValueRef x)
{
    /* ceil(-0.5) is -0: trunc gives it, and nothing is added */
    LLVMValueRef t = cg_trunc(cg, x);
    return LLVMBuildSelect(cg->b, fcmp(cg, LLVMRealOLT, t, x), fadd_(cg, t, fc(cg, x, 1.0)), t, "ceil");
}

/* ---- logarithms --------------------------------------------------------- */

/* log(x) for finite x > 0, subnormals included (anything else gives some
 * number, never poison), after FreeBSD's logf: x = 2^k m with m in
 * [sqrt(1/2), sqrt(2)), f = m - 1, s = f / (2 + f),
 *     log(1 + f) = f - hfsq + s (hfsq + R(s^2)),   hfsq = f^2 / 2,
 * where R(z) ~ 2 atanh(s)/s - 2 (our minimax fit, |error| < 1.2e-9 z);
 * k ln2 is added in two parts, the low one with `corr` (NULL: none), a
 * small term the caller wants added before the last roundings (log1p). */
static LLVMValueRef log_core(Cg *cg, LLVMValueRef x, LLVMValueRef corr)
{
    LLVMBuilderRef b = cg->b;
    LLVMTypeRef it = int_like(cg, x);
    LLVMValueRef sub = fcmp(cg, LLVMRealOLT, x, fc(cg, x, 0x1p-126));
    LLVMValueRef xs = sel(cg, sub, fmul_(cg, x, fc(cg, x, 0x1p23)), x);
    /* the exponent of x / sqrt(1/2), and the mantissa moved into [sqrt(1/2), sqrt(2)) */
    LLVMValueRef ix = LLVMBuildAdd(b, LLVMBuildBitCast(b, xs, it, ""), ic(cg, it, 0x3f800000 - 0x3f3504f3), "");
    LLVMValueRef k = LLVMBuildSub(b, LLVMBuildLShr(b, ix, ic(cg, it, 23), ""), ic(cg, it, 127), "");
    LLVMValueRef mb = LLVMBuildAdd(b, LLVMBuildAnd(b, ix, ic(cg, it, 0x7fffff), ""), ic(cg, it, 0x3f3504f3), "");
    LLVMValueRef f = fsub_(cg, LLVMBuildBitCast(b, mb, LLVMTypeOf(x), ""), fc(cg, x, 1.0));
    LLVMValueRef dk = fadd_(cg, LLVMBuildSIToFP(b, k, LLVMTypeOf(x), ""),
                            sel(cg, sub, fc(cg, x, -23.0), fc(cg, x, 0.0)));

    LLVMValueRef s = fdiv_(cg, f, fadd_(cg, fc(cg, x, 2.0), f));
    LLVMValueRef z = fmul_(cg, s, s), w = fmul_(cg, z, z);
    static const double lg[] = {6.6666666553e-01, 4.0000122716e-01, 2.8550741356e-01, 2.3332267739e-01};
    LLVMValueRef t1 = fmul_(cg, w, fadd_(cg, fc(cg, x, lg[1]), fmul_(cg, w, fc(cg, x, lg[3]))));
    LLVMValueRef t2 = fmul_(cg, z, fadd_(cg, fc(cg, x, lg[0]), fmul_(cg, w, fc(cg, x, lg[2]))));
    LLVMValueRef hfsq = fmul_(cg, fmul_(cg, fc(cg, x, 0.5), f), f);
    LLVMValueRef lo = fmul_(cg, dk, fc(cg, x, 9.0580006145e-06)); /* ln2 - ln2_hi */
    if (corr)
        lo = fadd_(cg, lo, corr);
    LLVMValueRef tail = fsub_(cg, fsub_(cg, hfsq, fadd_(cg, fmul_(cg, s, fadd_(cg, hfsq, fadd_(cg, t2, t1))), lo)), f);
    return fsub_(cg, fmul_(cg, dk, fc(cg, x, 6.9313812256e-01)), tail); /* ln2_hi: 0x3f317180 */
}

LLVMValueRef cg_log(Cg *cg, LLVMValueRef x)
{
    LLVMValueRef r = log_core(cg, x, NULL);
    r = sel(cg, fcmp(cg, LLVMRealOEQ, x, fc(cg, x, 0.0)), fc(cg, x, -INFINITY), r); /* -0 too */
    r = sel(cg, fcmp(cg, LLVMRealOLT, x, fc(cg, x, 0.0)), fc(cg, x, NAN), r);
    r = sel(cg, fcmp(cg, LLVMRealOEQ, x, fc(cg, x, INFINITY)), x, r);
    return LLVMBuildSelect(cg->b, isnan_(cg, x), x, r, "log");
}

LLVMValueRef cg_log1p(Cg *cg, LLVMValueRef x)
{
    /* u = 1 + x rounded, c = (1 + x) - u exactly; log1p(x) = log(u) + c/u
     * to well within an ulp, with c/u added before log's last roundings */
    LLVMValueRef one = fc(cg, x, 1.0);
    LLVMValueRef u = fadd_(cg, one, x);
    LLVMValueRef c = sel(cg, fcmp(cg, LLVMRealOGE, x, one), fsub_(cg, one, fsub_(cg, u, x)),
                         fsub_(cg, x, fsub_(cg, u, one)));
    LLVMValueRef r = log_core(cg, u, fdiv_(cg, c, u));
    r = sel(cg, fcmp(cg, LLVMRealOEQ, u, one), x, r); /* |x| <= 2^-24: x itself (keeps -0) */
    r = sel(cg, fcmp(cg, LLVMRealOEQ, x, fc(cg, x, -1.0)), fc(cg, x, -INFINITY), r);
    r = sel(cg, fcmp(cg, LLVMRealOLT, x, fc(cg, x, -1.0)), fc(cg, x, NAN), r);
    r = sel(cg, fcmp(cg, LLVMRealOEQ, x, fc(cg, x, INFINITY)), x, r);
    return LLVMBuildSelect(cg->b, isnan_(cg, x), x, r, "log1p");
}

/* ---- erf ---------------------------------------------------------------- */

LLVMValueRef cg_erf(Cg *cg, LLVMValueRef x)
{
    /* Two pieces, both computed, one selected (our own minimax fits):
     *   |x| < 0.9375:  x + x Q(x^2)             (|Q error| < 5.1e-10)
     *   else:          1 - exp(h(|x|) - x^2)    h(t) ~ log(erfc(t)) + t^2,
     * h a polynomial in t - 2.5 on [0.9375, 4] (|error| < 1.2e-8, the
     * relative error it gives erfc); |x| is clamped at 4, where erf is 1 in
     * f32 (erfc(3.92) < 2^-25). Max error 1.26 ulp, just above the switch. */
    static const double q[] = {1.283791666e-01,  -3.761263320e-01, 1.128368635e-01, -2.685885124e-02,
                               5.199599913e-03,  -8.125807215e-04, 8.296612799e-05};
    static const double h[] = {-1.556815279e+00, -3.526806869e-01, 5.610638906e-02,
                               -1.085849538e-02, 2.165090438e-03,  -4.201636996e-04,
                               7.744598969e-05,  -1.330472334e-05, 1.602438075e-06};
    LLVMValueRef a = fabs_(cg, x);
    LLVMValueRef small = fadd_(cg, x, fmul_(cg, x, poly(cg, fmul_(cg, x, x), q, 7)));
    LLVMValueRef t = sel(cg, fcmp(cg, LLVMRealOLT, a, fc(cg, x, 4.0)), a, fc(cg, x, 4.0));
    /* h(t) - t^2 lies in [-19, 1] for every t in [0, 4] (t is never NaN):
     * exp's special cases cannot arise */
    LLVMValueRef e = exp_f32(cg, fsub_(cg, poly(cg, fsub_(cg, t, fc(cg, x, 2.5)), h, 9), fmul_(cg, t, t)), false);
    LLVMValueRef big = copysign_(cg, fsub_(cg, fc(cg, x, 1.0), e), x);
    LLVMValueRef r = sel(cg, fcmp(cg, LLVMRealOLT, a, fc(cg, x, 0.9375)), small, big);
    return LLVMBuildSelect(cg->b, isnan_(cg, x), x, r, "erf");
}

/* ---- trigonometric functions -------------------------------------------- */

/* sin (0), cos (1) or tan (2) of f32 x, computed in f64 and rounded once.
 * Cody & Waite reduction: j = rne(x 2/pi), r = x - j pi/2 with pi/2 in
 * three parts, the first of 27 bits so that j*P1 and x - j*P1 are exact
 * for |j| < 2^26: r is good to ~2^-56 absolute for |x| < 2^26 pi/2 ~ 1e8,
 * which keeps every f32 result within 0.5001 ulp there. Beyond, the
 * error grows as |x| 2^-53 (1e-4 at 1e12) and from ~2^50 on the result
 * means nothing (r is clamped to [-pi/4, pi/4]: a value in [-1, 1] for sin
 * and cos, never NaN or poison). sin(r), cos(r): our minimax polynomials
 * on [-pi/4, pi/4] (relative error < 5.2e-12 and 1.2e-13). */
static LLVMValueRef trig(Cg *cg, LLVMValueRef x, int which)
{
    LLVMBuilderRef b = cg->b;
    LLVMValueRef xd = LLVMBuildFPExt(b, x, shape_of(x, cg->f64), "");
    LLVMValueRef j = cg_rne(cg, fmul_(cg, xd, fc(cg, xd, 0.63661977236758134)));
    LLVMValueRef r = fsub_(cg, xd, fmul_(cg, j, fc(cg, xd, 1.570796325802803)));   /* 0x1.921fb54p+0 */
    r = fsub_(cg, r, fmul_(cg, j, fc(cg, xd, 9.920935796805404e-10)));
    r = fsub_(cg, r, fmul_(cg, j, fc(cg, xd, 1.6446256936324258e-26)));
    LLVMValueRef lim = fc(cg, xd, 0.7854);
    r = sel(cg, fcmp(cg, LLVMRealOGT, r, lim), lim, r);
    r = sel(cg, fcmp(cg, LLVMRealOLT, r, LLVMBuildFNeg(b, lim, "")), LLVMBuildFNeg(b, lim, ""), r);
    /* the quadrant, j mod 4: j - 4 rne(j/4) is exact and in [-2, 2] */
    LLVMValueRef m = fsub_(cg, j, fmul_(cg, fc(cg, xd, 4.0), cg_rne(cg, fmul_(cg, j, fc(cg, xd, 0.25)))));
    m = sel(cg, isnan_(cg, m), fc(cg, xd, 0.0), m); /* x = inf */
    LLVMTypeRef it = int_like(cg, x);
    LLVMValueRef q = LLVMBuildAnd(b, LLVMBuildFPToSI(b, m, it, ""), ic(cg, it, 3), "");
    LLVMValueRef odd = LLVMBuildICmp(b, LLVMIntNE, LLVMBuildAnd(b, q, ic(cg, it, 1), ""), ic(cg, it, 0), "");

    static const double sc[] = {-1.6666666640786607e-01, 8.3333293036287025e-03, -1.9839311877253426e-04,
                                2.7181178724185714e-06};
    static const double cc[] = {4.1666666619472874e-02, -1.3888883498496438e-03, 2.4799459739572845e-05,
                                -2.7205720000712203e-07};
    LLVMValueRef z = fmul_(cg, r, r);
    LLVMValueRef s = fadd_(cg, r, fmul_(cg, fmul_(cg, r, z), poly(cg, z, sc, 4)));
    LLVMValueRef c = fadd_(cg, fsub_(cg, fc(cg, xd, 1.0), fmul_(cg, fc(cg, xd, 0.5), z)),
                           fmul_(cg, fmul_(cg, z, z), poly(cg, z, cc, 4)));
    LLVMValueRef v;
    if (which == 2) { /* odd quadrants: -cos/sin */
        v = fdiv_(cg, sel(cg, odd, LLVMBuildFNeg(b, c, ""), s), sel(cg, odd, s, c));
    } else {
        /* sin: quadrants 2, 3 negative; cos: 1, 2 */
        LLVMValueRef qn = which == 0 ? q : LLVMBuildAdd(b, q, ic(cg, it, 1), "");
        LLVMValueRef neg = LLVMBuildICmp(b, LLVMIntNE, LLVMBuildAnd(b, qn, ic(cg, it, 2), ""), ic(cg, it, 0), "");
        v = which == 0 ? sel(cg, odd, c, s) : sel(cg, odd, s, c);
        v = sel(cg, neg, LLVMBuildFNeg(b, v, ""), v);
    }
    LLVMValueRef y = LLVMBuildFPTrunc(b, v, LLVMTypeOf(x), "");
    if (which != 1) /* |x| < 2^-12: sin x and tan x round to x (and -0 stays -0) */
        y = sel(cg, fcmp(cg, LLVMRealOLT, fabs_(cg, x), fc(cg, x, 0x1p-12)), x, y);
    return LLVMBuildSelect(b, isfinite_(cg, x), y, fc(cg, x, NAN), which == 0 ? "sin" : which == 1 ? "cos" : "tan");
}

LLVMValueRef cg_sin(Cg *cg, LLVMValueRef x) { return trig(cg, x, 0); }
LLVMValueRef cg_cos(Cg *cg, LLVMValueRef x) { return trig(cg, x, 1); }
LLVMValueRef cg_tan(Cg *cg, LLVMValueRef x) { return trig(cg, x, 2); }

LLVMValueRef cg_atan(Cg *cg, LLVMValueRef x)
{
    /* in f64, on |x| reduced to [0, tan(pi/8)] (Cephes' ranges):
     *   |x| > tan(3pi/8): pi/2 + atan(-1/|x|);  > tan(pi/8): pi/4 + atan((|x|-1)/(|x|+1));
     * atan(t) = t + t^3 P(t^2), our minimax fit (relative error < 2.3e-11) */
    LLVMBuilderRef b = cg->b;
    LLVMValueRef a = LLVMBuildFPExt(b, fabs_(cg, x), shape_of(x, cg->f64), "");
    LLVMValueRef one = fc(cg, a, 1.0);
    LLVMValueRef big = fcmp(cg, LLVMRealOGT, a, fc(cg, a, 2.4142135623730950));
    LLVMValueRef mid = fcmp(cg, LLVMRealOGT, a, fc(cg, a, 0.41421356237309503));
    LLVMValueRef t = sel(cg, mid, fdiv_(cg, fsub_(cg, a, one), fadd_(cg, a, one)), a);
    t = sel(cg, big, fdiv_(cg, fc(cg, a, -1.0), a), t);
    LLVMValueRef off = sel(cg, mid, fc(cg, a, 0.78539816339744831), fc(cg, a, 0.0));
    off = sel(cg, big, fc(cg, a, 1.5707963267948966), off);
    static const double ac[] = {-3.3333332498655188e-01, 1.9999903863638271e-01,  -1.4282006425858954e-01,
                                1.1044674386052140e-01,  -8.4761690335532838e-02, 4.7438334224104123e-02};
    LLVMValueRef z = fmul_(cg, t, t);
    LLVMValueRef r = fadd_(cg, off, fadd_(cg, t, fmul_(cg, fmul_(cg, t, z), poly(cg, z, ac, 6))));
    return copysign_(cg, LLVMBuildFPTrunc(b, r, LLVMTypeOf(x), ""), x); /* NaN stays NaN */
}

/* ---- pow ---------------------------------------------------------------- */

/* log2(a) for finite f64 a > 0: a = 2^k m, m in [sqrt(1/2), sqrt(2)),
 * s = (m - 1)/(m + 1), log(m) = 2s + s^3 P(s^2) (our minimax fit, relative
 * error < 2.1e-16): relative error a few 2^-53. */
static LLVMValueRef log2_f64(Cg *cg, LLVMValueRef a)
{
    const int64_t sqrt_half = 0x3fe6a09e667f3bcd; /* the bits of sqrt(1/2) */
    LLVMBuilderRef b = cg->b;
    LLVMTypeRef lt = shape_of(a, cg->i64), it = shape_of(a, cg->i32);
    LLVMValueRef ix = LLVMBuildAdd(b, LLVMBuildBitCast(b, a, lt, ""), ic(cg, lt, 0x3ff0000000000000 - sqrt_half), "");
    LLVMValueRef k = LLVMBuildTrunc(b, LLVMBuildLShr(b, ix, ic(cg, lt, 52), ""), it, "");
    k = LLVMBuildSub(b, k, ic(cg, it, 1023), "");
    LLVMValueRef mb = LLVMBuildAnd(b, ix, ic(cg, lt, 0x000fffffffffffff), "");
    mb = LLVMBuildAdd(b, mb, ic(cg, lt, sqrt_half), "");
    LLVMValueRef f = fsub_(cg, LLVMBuildBitCast(b, mb, LLVMTypeOf(a), ""), fc(cg, a, 1.0));
    LLVMValueRef s = fdiv_(cg, f, fadd_(cg, fc(cg, a, 2.0), f));
    LLVMValueRef z = fmul_(cg, s, s);
    static const double lc[] = {6.6666666666587249e-01, 4.0000000052286078e-01, 2.8571417130424032e-01,
                                2.2223371519605478e-01, 1.8123649391340804e-01, 1.6819741818789205e-01};
    LLVMValueRef lnm = fadd_(cg, fmul_(cg, fc(cg, a, 2.0), s), fmul_(cg, fmul_(cg, s, z), poly(cg, z, lc, 6)));
    return fadd_(cg, LLVMBuildSIToFP(b, k, LLVMTypeOf(a), ""), fmul_(cg, lnm, fc(cg, a, 1.4426950408889634)));
}

/* 2^e as f64, for e (i32 lanes) in [-1022, 1023]: built in the exponent. */
static LLVMValueRef pow2_f64(Cg *cg, LLVMValueRef e)
{
    LLVMBuilderRef b = cg->b;
    LLVMTypeRef lt = shape_of(e, cg->i64);
    LLVMValueRef biased = LLVMBuildZExt(b, LLVMBuildAdd(b, e, ic(cg, LLVMTypeOf(e), 1023), ""), lt, "");
    return LLVMBuildBitCast(b, LLVMBuildShl(b, biased, ic(cg, lt, 52), ""), shape_of(e, cg->f64), "");
}

/* The biased exponent of f64 a >= 0, as i32 lanes. */
static LLVMValueRef exponent_f64(Cg *cg, LLVMValueRef a)
{
    LLVMBuilderRef b = cg->b;
    LLVMTypeRef lt = shape_of(a, cg->i64);
    LLVMValueRef e = LLVMBuildLShr(b, LLVMBuildBitCast(b, a, lt, ""), ic(cg, lt, 52), "");
    return LLVMBuildTrunc(b, e, shape_of(a, cg->i32), "");
}

/* 2^t for f64 t in [-1000, 1000]: n = rne(t), 2^(t-n) by our minimax
 * polynomial (relative error < 8.2e-13), times 2^n built in the exponent. */
static LLVMValueRef exp2_f64(Cg *cg, LLVMValueRef t)
{
    LLVMValueRef n = cg_rne(cg, t);
    LLVMValueRef f = fsub_(cg, t, n);
    static const double ec[] = {6.9314718054821156e-01, 2.4022650698110712e-01, 5.5504109352686064e-02,
                                9.6181286160062704e-03, 1.3333454858639633e-03, 1.5403825571685958e-04,
                                1.5309156536053026e-05, 1.3178907538602402e-06};
    LLVMValueRef e = fadd_(cg, fc(cg, t, 1.0), fmul_(cg, f, poly(cg, f, ec, 8)));
    return fmul_(cg, e, pow2_f64(cg, LLVMBuildFPToSI(cg->b, n, shape_of(t, cg->i32), "")));
}

LLVMValueRef cg_pow(Cg *cg, LLVMValueRef x, LLVMValueRef y)
{
    /* |x|^y = 2^(y log2|x|) in f64, then rounded once: log2 good to a few
     * 2^-53 relative and y log2|x| within [-200, 200] (beyond, the f32
     * result is 0 or inf anyway) keep the error under 0.5 ulp + 2^-10;
     * then C's special cases, one select each */
    LLVMBuilderRef b = cg->b;
    LLVMTypeRef dt = shape_of(x, cg->f64), it = int_like(cg, x);
    LLVMValueRef ax = LLVMBuildFPExt(b, fabs_(cg, x), dt, "");
    LLVMValueRef L = log2_f64(cg, ax);
    L = sel(cg, fcmp(cg, LLVMRealOEQ, ax, fc(cg, ax, 0.0)), fc(cg, ax, -INFINITY), L);
    L = sel(cg, fcmp(cg, LLVMRealOEQ, ax, fc(cg, ax, INFINITY)), fc(cg, ax, INFINITY), L);
    LLVMValueRef t = fmul_(cg, LLVMBuildFPExt(b, y, dt, ""), L);
    LLVMValueRef tnan = isnan_(cg, t);
    t = sel(cg, fcmp(cg, LLVMRealOGT, t, fc(cg, t, 200.0)), fc(cg, t, 200.0), t);
    t = sel(cg, fcmp(cg, LLVMRealOLT, t, fc(cg, t, -200.0)), fc(cg, t, -200.0), t);
    t = sel(cg, tnan, fc(cg, t, 0.0), t);
    LLVMValueRef r = LLVMBuildFPTrunc(b, exp2_f64(cg, t), LLVMTypeOf(x), "");
    LLVMValueRef nan = fc(cg, x, NAN), one = fc(cg, x, 1.0);
    r = sel(cg, tnan, nan, r);
    /* negative x: an odd integer y gives the sign; a non-integer y, NaN */
    LLVMValueRef ay = fabs_(cg, y);
    LLVMValueRef isint = fcmp(cg, LLVMRealOEQ, cg_trunc(cg, y), y); /* inf too */
    LLVMValueRef small = fcmp(cg, LLVMRealOLT, ay, fc(cg, x, 16777216.0)); /* from 2^24 on, y is even */
    LLVMValueRef yi = LLVMBuildFPToSI(b, sel(cg, small, y, fc(cg, x, 0.0)), it, "");
    LLVMValueRef odd = LLVMBuildAnd(b, LLVMBuildAnd(b, isint, small, ""),
                                    LLVMBuildTrunc(b, yi, shape_of(x, cg->i1), ""), "");
    LLVMValueRef xneg = LLVMBuildICmp(b, LLVMIntSLT, LLVMBuildBitCast(b, x, it, ""), ic(cg, it, 0), ""); /* -0 too */
    r = sel(cg, LLVMBuildAnd(b, odd, xneg, ""), LLVMBuildFNeg(b, r, ""), r);
    LLVMValueRef negfin = LLVMBuildAnd(b, fcmp(cg, LLVMRealOLT, x, fc(cg, x, 0.0)), isfinite_(cg, x), "");
    r = sel(cg, LLVMBuildAnd(b, negfin, LLVMBuildNot(b, isint, ""), ""), nan, r);
    r = sel(cg, LLVMBuildOr(b, isnan_(cg, x), isnan_(cg, y), ""), nan, r);
    /* pow(-1, +-inf) = 1, pow(1, y) = 1, pow(x, +-0) = 1: NaN or not */
    LLVMValueRef one_inf = LLVMBuildAnd(b, fcmp(cg, LLVMRealOEQ, fabs_(cg, x), one),
                                        fcmp(cg, LLVMRealOEQ, ay, fc(cg, x, INFINITY)), "");
    r = sel(cg, one_inf, one, r);
    r = sel(cg, fcmp(cg, LLVMRealOEQ, x, one), one, r);
    return LLVMBuildSelect(b, fcmp(cg, LLVMRealOEQ, y, fc(cg, x, 0.0)), one, r, "pow");
}

/* ---- fmod --------------------------------------------------------------- */

LLVMValueRef cg_fmod(Cg *cg, LLVMValueRef x, LLVMValueRef y)
{
    /* Exact, by long division in f64 on |x|, |y|, 28 quotient bits a step:
     * with d the difference of their exponents (at most 276), step
     * j = 1..10 reduces r (first |x|) modulo ys = |y| 2^s, s = max(d - 28j, 0):
     * r < 2^29 ys, so q = trunc(r / ys), estimated as r * (1/|y|) 2^-s,
     * is off by at most one (fixed after), q ys has at most 53 bits and
     * r - q ys is exact. The last step has s = 0: r = |x| mod |y|, which
     * f32 holds exactly. Ten steps for every element (no branches). */
    LLVMBuilderRef b = cg->b;
    LLVMTypeRef dt = shape_of(x, cg->f64), it = int_like(cg, x);
    LLVMValueRef inf = fc(cg, x, INFINITY);
    LLVMValueRef yinf = fcmp(cg, LLVMRealOEQ, fabs_(cg, y), inf);
    /* fmod(inf or NaN, y) and fmod(x, 0 or NaN) are NaN (the comparisons are false for NaN) */
    LLVMValueRef ok = LLVMBuildAnd(b, fcmp(cg, LLVMRealOLT, fabs_(cg, x), inf),
                                   fcmp(cg, LLVMRealOGT, fabs_(cg, y), fc(cg, x, 0.0)), "");
    LLVMValueRef go = LLVMBuildAnd(b, ok, LLVMBuildNot(b, yinf, ""), "");
    LLVMValueRef a = sel(cg, go, LLVMBuildFPExt(b, fabs_(cg, x), dt, ""), LLVMConstNull(dt));
    LLVMValueRef bb = sel(cg, go, LLVMBuildFPExt(b, fabs_(cg, y), dt, ""), fc(cg, a, 1.0));
    LLVMValueRef d = LLVMBuildSub(b, exponent_f64(cg, a), exponent_f64(cg, bb), ""); /* a = 0: < 0, so s = 0 */
    LLVMValueRef inv = fdiv_(cg, fc(cg, a, 1.0), bb);
    LLVMValueRef r = a;
    for (int j = 1; j <= 10; j++) {
        LLVMValueRef s = LLVMBuildSub(b, d, ic(cg, it, 28 * j), "");
        s = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSGT, s, ic(cg, it, 0), ""), s, ic(cg, it, 0), "");
        LLVMValueRef ys = fmul_(cg, bb, pow2_f64(cg, s));
        LLVMValueRef qe = fmul_(cg, r, fmul_(cg, inv, pow2_f64(cg, LLVMBuildNeg(b, s, ""))));
        LLVMValueRef q = LLVMBuildSIToFP(b, LLVMBuildFPToSI(b, qe, it, ""), dt, ""); /* qe < 2^29 + 1 */
        r = fsub_(cg, r, fmul_(cg, q, ys));
        r = sel(cg, fcmp(cg, LLVMRealOLT, r, fc(cg, r, 0.0)), fadd_(cg, r, ys), r);
        r = sel(cg, fcmp(cg, LLVMRealOGE, r, ys), fsub_(cg, r, ys), r);
    }
    LLVMValueRef res = copysign_(cg, LLVMBuildFPTrunc(b, r, LLVMTypeOf(x), ""), x);
    res = sel(cg, yinf, x, res); /* fmod(x, inf) = x for finite x */
    return LLVMBuildSelect(b, ok, res, fc(cg, x, NAN), "fmod");
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
    /* one instruction where the target has it (SSE4.1 roundps/pd with
     * imm 8, AArch64 frintn, PTX cvt.rni): the same values, -0.3 gives -0 */
    const Target *t = cg->t;
    if (t->arch != ARCH_X86_64 || (t->cpu_features >> QKRT_CPU_SSE41 & 1)) {
        LLVMTypeRef ty = LLVMTypeOf(v);
        return cg_intrin(cg, "llvm.roundeven", &ty, 1, &v, 1);
    }
    /* else |v| + 2^23 (2^52 for f64) - 2^23 rounds |v| < 2^23 to nearest
     * even (no llvm.rint: a libm call on plain x86-64); the sign is put
     * back after, so -0.3 gives -0 */
    LLVMValueRef m = fc(cg, v, int_limit(cg, v));
    LLVMValueRef a = fabs_(cg, v);
    LLVMValueRef r = copysign_(cg, fsub_(cg, fadd_(cg, a, m), m), v);
    return LLVMBuildSelect(cg->b, fcmp(cg, LLVMRealOLT, a, m), r, v, "rne");
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

LLVMValueRef cg_requant_to(Cg *cg, LLVMValueRef acc, LLVMValueRef m, LLVMValueRef zp, LLVMValueRef lo,
                           LLVMValueRef hi, bool m_finite)
{
    /* acc * M in f64, rounded to nearest even, + zp, saturated: all in f64
     * (exact: a rounded |v| below 2^52 is an integer, + zp exact; beyond,
     * it saturates either way), so the only conversion is f64 -> i32 of a
     * value in range, which vectorizes on every ISA (an i64 one has no
     * AVX2 instruction). A vector acc takes the scalars splatted. */
    LLVMBuilderRef b = cg->b;
    LLVMTypeRef at = LLVMTypeOf(acc);
    bool vec = LLVMGetTypeKind(at) == LLVMVectorTypeKind;
    int w = vec ? (int)LLVMGetVectorSize(at) : 1;
    LLVMTypeRef f64 = vec ? LLVMVectorType(cg->f64, (unsigned)w) : cg->f64;
    LLVMValueRef md = LLVMTypeOf(m) == cg->f64 ? m : LLVMBuildFPExt(b, m, cg->f64, "");
    LLVMValueRef zd = LLVMBuildSIToFP(b, zp, cg->f64, "");
    LLVMValueRef lod = LLVMBuildSIToFP(b, lo, cg->f64, ""), hid = LLVMBuildSIToFP(b, hi, cg->f64, "");
    if (vec)
        md = cg_splat(cg, md, w), zd = cg_splat(cg, zd, w), lod = cg_splat(cg, lod, w), hid = cg_splat(cg, hid, w);
    LLVMValueRef v = LLVMBuildFMul(b, LLVMBuildSIToFP(b, acc, f64, ""), md, "");
    if (!m_finite) /* M NaN, or inf times 0 */
        v = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealUNO, v, v, ""), LLVMConstNull(f64), v, "");
    LLVMValueRef r = LLVMBuildFAdd(b, cg_rne(cg, v), zd, "");
    r = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLT, r, lod, ""), lod, r, "");
    r = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, r, hid, ""), hid, r, "");
    return LLVMBuildFPToSI(b, r, at, "q");
}

LLVMValueRef cg_requant(Cg *cg, LLVMValueRef acc, LLVMValueRef m, LLVMValueRef zp, DType t)
{
    LLVMValueRef qmin, qmax;
    cg_qrange(cg, t, &qmin, &qmax);
    return cg_requant_to(cg, acc, m, zp, qmin, qmax, false);
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
    default: /* no other activation reaches a requantizing kernel (passes/qdq_fold.c) */
        assert(a->act == ACT_NONE);
        return q;
    }
}

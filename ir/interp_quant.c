/* interp_quant.c — reference semantics of the quantized ops, exactly as
 * docs/quantization.md ("Integer semantics") defines them: QuantizeLinear,
 * DequantizeLinear, DynamicQuantizeLinear, MatMulInteger, ConvInteger,
 * QLinearMatMul, QLinearConv, QLinearAdd, QLinearGlobalAveragePool.
 *
 * Integer sums are exact in int64 and wrapped to int32 (modulo 2^32) once
 * at the end, which equals int32 wrap-around at every step. Every f32 step
 * of the definition is one C float operation in its own statement (C11 with
 * FLT_EVAL_METHOD 0, no contraction, no fast-math), the requantization
 * product is one double multiplication, and rne is round half to even done
 * here, independent of the rounding mode. A NaN before the final rounding
 * (QuantizeLinear of NaN; a scale that is 0, inf or NaN) gives the zero
 * point; ±inf saturates. Scales and zero points are read from the input
 * tensors, so they may be graph inputs or constants: a scalar ([] or [1])
 * is per tensor, a 1-D tensor of n values runs along the axis (Quantize,
 * Dequantize), the rows of a / columns of b (MatMul) or the output channels
 * (Conv weights). An absent zero point is 0. */
#include "interp_impl.h"

#include <float.h>
#include <math.h>

#if FLT_EVAL_METHOD != 0
#error "the f32 steps of the quantized ops need FLT_EVAL_METHOD 0"
#endif
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

#define NAME(n) (op_info[(n)->op].name)

/* ---- the arithmetic of the definition ----------------------------------- */

/* Round half to even, whatever the current rounding mode. */
static double rne(double v)
{
    double r = round(v); /* half away from zero */
    if (fabs(v - trunc(v)) == 0.5)
        r = 2.0 * round(v / 2.0); /* a tie: the even neighbour */
    return r;
}

static bool is_q8(DType t) { return t == DT_U8 || t == DT_I8; }

static void qrange(DType t, int64_t *lo, int64_t *hi)
{
    *lo = t == DT_I8 ? -128 : 0;
    *hi = t == DT_I8 ? 127 : 255;
}

/* sat_T(rne(v) + zp) for T = [lo, hi]: NaN gives zp, ±inf saturate, and
 * rne of values beyond ±2^40 saturates (to ±2^40: far past any rail). */
static int64_t sat_rne(double v, int64_t zp, int64_t lo, int64_t hi)
{
    double r = isnan(v) ? 0 : rne(v);
    r = r > 0x1p40 ? 0x1p40 : r < -0x1p40 ? -0x1p40 : r;
    int64_t q = (int64_t)r + zp;
    return q < lo ? lo : q > hi ? hi : q;
}

/* y = sat(rne(x / s) + zp) with the division in f32. */
static int64_t quantize(float x, float s, int64_t zp, int64_t lo, int64_t hi)
{
    float q = x / s;
    return sat_rne(q, zp, lo, hi);
}

float interp_req_scale(float as, float bs, float ys)
{
    float p = as * bs;
    float m = p / ys;
    return m;
}

/* y = sat(rne((f64)acc * (f64)M) + zp): one f64 multiplication. */
static int64_t requantize(int32_t acc, float m, int64_t zp, int64_t lo, int64_t hi)
{
    double v = (double)acc * (double)m;
    return sat_rne(v, zp, lo, hi);
}

/* The low 32 bits of an exact sum, as int32 (wrap-around). */
static int32_t wrap32(int64_t v) { return (int32_t)(uint32_t)(uint64_t)v; }

/* ---- quantization parameters -------------------------------------------- */

static bool bad_shape(const Node *n, const char *what, const Shape *s, Diag *d)
{
    char b[96];
    return diag_error(d, n->loc, "%s: %s has shape %s", NAME(n), what, shape_str(s, b, sizeof b));
}

/* A scale (want f32) or zero point (want the operand's dtype; NULL allowed):
 * one value, or a 1-D tensor of `len` values when len > 0. */
static bool qparam(const Node *n, const Tensor *t, DType want, int64_t len, const char *what, Diag *d)
{
    if (!t)
        return true;
    if (t->dtype != want)
        return diag_error(d, n->loc, "%s: %s is %s, want %s", NAME(n), what, dtype_name(t->dtype),
                          dtype_name(want));
    int64_t cnt = tensor_numel(t);
    if ((cnt == 1 && t->shape.rank <= 1) || (len > 0 && t->shape.rank == 1 && cnt == len))
        return true;
    return bad_shape(n, what, &t->shape, d);
}

/* Element i of a per-tensor (one value) or per-axis parameter. */
static float scale_at(const Tensor *s, int64_t i) { return ((const float *)s->data)[tensor_numel(s) == 1 ? 0 : i]; }
static int64_t zp_at(const Tensor *z, int64_t i) { return z ? interp_ldi(z, tensor_numel(z) == 1 ? 0 : i) : 0; }

/* The output's dtype: u8 or i8, and the y zero point's when there is one. */
static bool q8_out(const Node *n, const Tensor *y, const Tensor *yzp, Diag *d)
{
    if (!is_q8(y->dtype) || (yzp && yzp->dtype != y->dtype))
        return diag_error(d, n->loc, "%s: output is %s, y zero point %s", NAME(n), dtype_name(y->dtype),
                          yzp ? dtype_name(yzp->dtype) : "absent (u8)");
    return true;
}

/* The fused activation as clamp bounds [*lo, *hi] on the quantized result
 * (docs/quantization.md): relu [zp, max], clip(a, b)
 * [sat(rne(a / y_s) + zp), sat(rne(b / y_s) + zp)]; min(max(q, lo), hi), so
 * lo > hi gives hi, as Clip does. */
static bool act_bounds(const Node *n, float ys, int64_t zp, int64_t *lo, int64_t *hi, Diag *d)
{
    int64_t tlo = *lo, thi = *hi;
    switch (n->a.act) {
    case ACT_NONE: return true;
    case ACT_RELU: *lo = zp; return true;
    case ACT_CLIP:
        *lo = quantize(n->a.act_alpha, ys, zp, tlo, thi);
        *hi = quantize(n->a.act_beta, ys, zp, tlo, thi);
        return true;
    default:
        return diag_error(d, n->loc, "%s: fused %s is not defined on quantized values", NAME(n),
                          act_name[n->a.act]);
    }
}

static int64_t clamp_act(int64_t q, int64_t lo, int64_t hi)
{
    q = q < lo ? lo : q;
    return q > hi ? hi : q;
}

/* ---- QuantizeLinear and DequantizeLinear -------------------------------- */

/* in: x, scale, zp (optional). Per tensor, or per axis (Attrs.axis,
 * normalized) when the scale holds more than one value. Quantize: x is
 * rounded to f32 (exact for f16/bf16) and divided in f32. Dequantize:
 * y = f32((f32)(x - zp) * s), x - zp exact; i32 inputs take a zero point of
 * i32 if one is given (ONNX requires it to be 0). */
bool interp_quant_linear(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    const Tensor *x = in[0], *s = in[1], *zp = in[2];
    Tensor *y = out[0];
    bool q = n->op == OP_QUANTIZE;
    int r = x->shape.rank;
    if (!shape_eq(&x->shape, &y->shape))
        return bad_shape(n, "the output", &y->shape, d);
    if (q && !q8_out(n, y, zp, d))
        return false;
    if (q ? !dtype_is_float(x->dtype) : !(is_q8(x->dtype) || x->dtype == DT_I32) || y->dtype != DT_F32)
        return diag_error(d, n->loc, "%s of %s to %s is not supported", NAME(n), dtype_name(x->dtype),
                          dtype_name(y->dtype));
    int64_t len = 0, inner = 1;
    if (tensor_numel(s) > 1) { /* per axis */
        if (n->a.axis < 0 || n->a.axis >= r)
            return diag_error(d, n->loc, "%s: axis %lld out of range for rank %d", NAME(n), (long long)n->a.axis, r);
        len = x->shape.d[n->a.axis];
        for (int k = (int)n->a.axis + 1; k < r; k++)
            inner *= x->shape.d[k];
    }
    if (!qparam(n, s, DT_F32, len, "the scale", d) ||
        !qparam(n, zp, q ? y->dtype : x->dtype, len, "the zero point", d))
        return false;
    if (zp && tensor_numel(zp) != tensor_numel(s))
        return bad_shape(n, "the zero point (unlike the scale)", &zp->shape, d);
    int64_t lo, hi;
    qrange(y->dtype, &lo, &hi);
    for (int64_t i = 0, ne = tensor_numel(x); i < ne; i++) {
        int64_t c = len ? i / inner % len : 0;
        float sc = scale_at(s, c);
        if (q) {
            interp_stu(y, i, (uint64_t)quantize((float)interp_ldf(x, i), sc, zp_at(zp, c), lo, hi));
        } else {
            float v = (float)(interp_ldi(x, i) - zp_at(zp, c)); /* exact below 2^24, else one rounding */
            float p = v * sc;
            ((float *)y->data)[i] = p;
        }
    }
    return true;
}

/* ---- DynamicQuantizeLinear ---------------------------------------------- */

/* The range [lo, hi] of x with 0 in it (lo starts at +0, hi at +0; an x
 * replaces lo only when x < lo, hi only when x > hi, so NaNs and -0 leave
 * them); s = f32(f32(hi - lo) / 255), 1 when that is 0 (x all zeros);
 * zp = sat_u8(rne(f32(0 - f32(lo / s)))); y = sat_u8(rne(f32(x / s)) + zp),
 * as QuantizeLinear. Infinities make s infinite (y is then zp, or the
 * rails for the infinities themselves). */
static void dql_params(const float *x, int64_t n, float *scale, int64_t *zp)
{
    float lo = 0.0f, hi = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        if (x[i] < lo)
            lo = x[i];
        if (x[i] > hi)
            hi = x[i];
    }
    float w = hi - lo;
    float s = w / 255.0f;
    if (s == 0.0f)
        s = 1.0f;
    float q = lo / s;
    float z = 0.0f - q;
    *scale = s;
    *zp = sat_rne(z, 0, 0, 255);
}

bool interp_dql(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    const Tensor *x = in[0];
    if (x->dtype != DT_F32 || out[0]->dtype != DT_U8 || out[1]->dtype != DT_F32 || out[2]->dtype != DT_U8 ||
        !shape_eq(&x->shape, &out[0]->shape) || tensor_numel(out[1]) != 1 || tensor_numel(out[2]) != 1)
        return diag_error(d, n->loc, "%s: wants f32 in, u8 [x's shape], f32 [] and u8 [] out", NAME(n));
    float s;
    int64_t zp, ne = tensor_numel(x);
    dql_params(x->data, ne, &s, &zp);
    const float *xd = x->data;
    uint8_t *y = out[0]->data;
    for (int64_t i = 0; i < ne; i++)
        y[i] = (uint8_t)quantize(xd[i], s, zp, 0, 255);
    *(float *)out[1]->data = s;
    *(uint8_t *)out[2]->data = (uint8_t)zp;
    return true;
}

/* ---- MatMulInteger and QLinearMatMul ------------------------------------ */

/* MatMulInteger/ConvInteger's outputs: the i32 sum (low 32 bits), or with
 * qkc's dequantizing epilogue (in[4] bias, in[5] scale f32, scalars or one
 * per column c) f32: act(f32(wrap32(wrap32(acc) + bias)) * scale) for an
 * i32 bias, exactly the Add, DequantizeLinear and activation it replaces;
 * act(f32(wrap32(acc)) * scale + bias) for an f32 bias (dynamic int8, whose
 * scale is known only at run time), the Cast, Mul and Add it replaces. */
static bool int_out_check(const Node *n, const Tensor *const *in, const Tensor *y, int64_t cols, Diag *d)
{
    DType bt = n->nin > 4 && in[4] && in[4]->dtype == DT_F32 ? DT_F32 : DT_I32;
    const Tensor *bias = n->nin > 4 ? in[4] : NULL, *sc = n->nin > 5 ? in[5] : NULL;
    if (!sc) {
        if (y->dtype != DT_I32)
            return diag_error(d, n->loc, "%s: output is %s, want i32", NAME(n), dtype_name(y->dtype));
        return true;
    }
    if (y->dtype != DT_F32)
        return diag_error(d, n->loc, "%s: output is %s, want f32 (it dequantizes)", NAME(n), dtype_name(y->dtype));
    return qparam(n, bias, bt, cols, "the bias", d) && qparam(n, sc, DT_F32, cols, "the scale", d);
}

static void int_out_store(const Node *n, const Tensor *const *in, Tensor *y, int64_t yi, int64_t c, int64_t acc)
{
    const Tensor *bias = n->nin > 4 ? in[4] : NULL, *sc = n->nin > 5 ? in[5] : NULL;
    if (!sc) {
        interp_stu(y, yi, (uint64_t)acc); /* low 32 bits */
        return;
    }
    int64_t v = wrap32(acc);
    bool fbias = bias && bias->dtype == DT_F32;
    if (bias && !fbias)
        v = wrap32(v + zp_at(bias, c));
    float p = (float)v * scale_at(sc, c); /* exact below 2^24, else one rounding; one f32 product */
    if (fbias) /* (dynamic int8: the float bias after the scale, one f32 sum) */
        p = p + scale_at(bias, c);
    interp_stf(y, yi, interp_act(n->a.act, n->a.act_alpha, n->a.act_beta, p));
}

/* in: a, b, a_zp, b_zp (MatMulInteger) or a, a_s, a_zp, b, b_s, b_zp, y_s,
 * y_zp, bias (QLinearMatMul). numpy matmul: a 1-D a is a row, a 1-D b a
 * column, batch dims broadcast. a's parameters per tensor or per row (the
 * M dim), b's per tensor or per column (the N dim); the bias (qkc's
 * extension, i32[N]) is added to the exact sum. */
bool interp_qmatmul(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    bool ql = n->op == OP_QLINEAR_MATMUL;
    const Tensor *a = in[0], *b = in[ql ? 3 : 1], *azp = in[2], *bzp = in[ql ? 5 : 3];
    const Tensor *as = ql ? in[1] : NULL, *bs = ql ? in[4] : NULL, *ys = ql ? in[6] : NULL;
    const Tensor *yzp = ql ? in[7] : NULL, *bias = ql ? in[8] : NULL;
    Tensor *y = out[0];
    if (!is_q8(a->dtype) || !is_q8(b->dtype))
        return diag_error(d, n->loc, "%s: operands are %s and %s, want u8 or i8", NAME(n), dtype_name(a->dtype),
                          dtype_name(b->dtype));
    if (ql && !q8_out(n, y, yzp, d))
        return false;
    int ra = a->shape.rank, rb = b->shape.rank;
    if (ra < 1 || rb < 1)
        return bad_shape(n, ra < 1 ? "input a" : "input b", ra < 1 ? &a->shape : &b->shape, d);
    int64_t M = ra >= 2 ? a->shape.d[ra - 2] : 1, K = a->shape.d[ra - 1];
    int64_t Kb = rb >= 2 ? b->shape.d[rb - 2] : b->shape.d[0], N = rb >= 2 ? b->shape.d[rb - 1] : 1;
    Shape ba = {.rank = ra > 2 ? ra - 2 : 0}, bb = {.rank = rb > 2 ? rb - 2 : 0}, bsh, want;
    for (int k = 0; k < ba.rank; k++)
        ba.d[k] = a->shape.d[k];
    for (int k = 0; k < bb.rank; k++)
        bb.d[k] = b->shape.d[k];
    if (K != Kb || !shape_broadcast(&ba, &bb, &bsh))
        return bad_shape(n, "input b (does not match input a)", &b->shape, d);
    want = bsh;
    if (ra >= 2)
        want.d[want.rank++] = M;
    if (rb >= 2)
        want.d[want.rank++] = N;
    if (!shape_eq(&want, &y->shape))
        return bad_shape(n, "the output", &y->shape, d);
    if (!qparam(n, azp, a->dtype, M, "a_zero_point", d) || !qparam(n, bzp, b->dtype, N, "b_zero_point", d))
        return false;
    if (!ql && !int_out_check(n, in, y, N, d))
        return false;
    int64_t lo = 0, hi = 0;
    float ysc = 0;
    if (ql) {
        if (!qparam(n, as, DT_F32, M, "a_scale", d) || !qparam(n, bs, DT_F32, N, "b_scale", d) ||
            !qparam(n, ys, DT_F32, 0, "y_scale", d))
            return false;
        if (bias && (bias->dtype != DT_I32 || bias->shape.rank != 1 || bias->shape.d[0] != N))
            return bad_shape(n, "the bias (want i32[N])", &bias->shape, d);
        ysc = scale_at(ys, 0);
        qrange(y->dtype, &lo, &hi);
    }
    int64_t alo = lo, ahi = hi, yz = zp_at(yzp, 0);
    if (ql && !act_bounds(n, ysc, yz, &alo, &ahi, d))
        return false;

    int64_t sa[QK_MAX_RANK], sb[QK_MAX_RANK], nb = 1;
    interp_bcast_strides(&ba, &bsh, sa);
    interp_bcast_strides(&bb, &bsh, sb);
    for (int k = 0; k < bsh.rank; k++)
        nb *= bsh.d[k];
    for (int64_t bi = 0; bi < nb; bi++) {
        int64_t oa = interp_bcast_index(bi, &bsh, sa) * M * K, ob = interp_bcast_index(bi, &bsh, sb) * K * N;
        for (int64_t m = 0; m < M; m++)
            for (int64_t j = 0; j < N; j++) {
                int64_t acc = 0, za = zp_at(azp, m), zb = zp_at(bzp, j), yi = (bi * M + m) * N + j;
                for (int64_t k = 0; k < K; k++)
                    acc += (interp_ldi(a, oa + m * K + k) - za) * (interp_ldi(b, ob + k * N + j) - zb);
                if (bias)
                    acc += interp_ldi(bias, j);
                if (!ql) {
                    int_out_store(n, in, y, yi, j, acc);
                    continue;
                }
                float mul = interp_req_scale(scale_at(as, m), scale_at(bs, j), ysc);
                interp_stu(y, yi, (uint64_t)clamp_act(requantize(wrap32(acc), mul, yz, lo, hi), alo, ahi));
            }
    }
    return true;
}

/* ---- ConvInteger and QLinearConv ---------------------------------------- */

/* in: x, w, x_zp, w_zp (ConvInteger) or x, x_s, x_zp, w, w_s, w_zp, y_s,
 * y_zp, bias (QLinearConv). The window geometry is Conv's (normalized
 * attributes); padding holds x_zp, i.e. contributes 0 to the sum. x's
 * parameters per tensor; w's per tensor or per output channel; bias i32[M]. */
bool interp_qconv(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    bool ql = n->op == OP_QLINEAR_CONV;
    const Tensor *x = in[0], *wt = in[ql ? 3 : 1], *xzp = in[2], *wzp = in[ql ? 5 : 3];
    const Tensor *xs = ql ? in[1] : NULL, *ws = ql ? in[4] : NULL, *ys = ql ? in[6] : NULL;
    const Tensor *yzp = ql ? in[7] : NULL, *bias = ql ? in[8] : NULL;
    Tensor *y = out[0];
    Win w;
    if (!is_q8(x->dtype) || !is_q8(wt->dtype))
        return diag_error(d, n->loc, "%s: operands are %s and %s, want u8 or i8", NAME(n), dtype_name(x->dtype),
                          dtype_name(wt->dtype));
    if (ql && !q8_out(n, y, yzp, d))
        return false;
    if (wt->shape.rank != x->shape.rank)
        return bad_shape(n, "the weight", &wt->shape, d);
    if (!interp_window(n, x, y, wt->shape.d + 2, &w, d))
        return false;
    int64_t C = x->shape.d[1], M = wt->shape.d[0], G = n->a.group;
    if (G < 1 || C % G || M % G)
        return diag_error(d, n->loc, "%s: group %lld does not divide %lld input and %lld output channels", NAME(n),
                          (long long)G, (long long)C, (long long)M);
    int64_t Cg = C / G, Mg = M / G;
    if (wt->shape.d[1] != Cg)
        return bad_shape(n, "the weight", &wt->shape, d);
    if (y->shape.d[1] != M)
        return bad_shape(n, "the output", &y->shape, d);
    if (!qparam(n, xzp, x->dtype, 0, "x_zero_point", d) || !qparam(n, wzp, wt->dtype, M, "w_zero_point", d))
        return false;
    if (!ql && !int_out_check(n, in, y, M, d))
        return false;
    int64_t lo = 0, hi = 0;
    float ysc = 0, xsc = 0;
    if (ql) {
        if (!qparam(n, xs, DT_F32, 0, "x_scale", d) || !qparam(n, ws, DT_F32, M, "w_scale", d) ||
            !qparam(n, ys, DT_F32, 0, "y_scale", d))
            return false;
        if (bias && (bias->dtype != DT_I32 || bias->shape.rank != 1 || bias->shape.d[0] != M))
            return bad_shape(n, "the bias (want i32[M])", &bias->shape, d);
        xsc = scale_at(xs, 0);
        ysc = scale_at(ys, 0);
        qrange(y->dtype, &lo, &hi);
    }
    int64_t alo = lo, ahi = hi, yz = zp_at(yzp, 0), zx = zp_at(xzp, 0);
    if (ql && !act_bounds(n, ysc, yz, &alo, &ahi, d))
        return false;

    int64_t nout = w.out[0] * w.out[1] * w.out[2], ntap = w.k[0] * w.k[1] * w.k[2], yi = 0;
    for (int64_t b = 0; b < x->shape.d[0]; b++)
        for (int64_t m = 0; m < M; m++) {
            int64_t zw = zp_at(wzp, m);
            float mul = ql ? interp_req_scale(xsc, scale_at(ws, m), ysc) : 0;
            for (int64_t op = 0; op < nout; op++, yi++) {
                int64_t o[3], t[3], p[3], acc = 0;
                interp_unflat(op, w.out, o);
                for (int64_t c = 0; c < Cg; c++) {
                    int64_t xc = b * C + m / Mg * Cg + c; /* input channel c of m's group */
                    for (int64_t tp = 0; tp < ntap; tp++) {
                        interp_unflat(tp, w.k, t);
                        if (!interp_inside(&w, o, t, p))
                            continue; /* padding: x_zp - x_zp = 0 */
                        int64_t xi = ((xc * w.in[0] + p[0]) * w.in[1] + p[1]) * w.in[2] + p[2];
                        acc += (interp_ldi(x, xi) - zx) * (interp_ldi(wt, (m * Cg + c) * ntap + tp) - zw);
                    }
                }
                if (bias)
                    acc += interp_ldi(bias, m);
                if (ql)
                    interp_stu(y, yi, (uint64_t)clamp_act(requantize(wrap32(acc), mul, yz, lo, hi), alo, ahi));
                else
                    int_out_store(n, in, y, yi, m, acc);
            }
        }
    return true;
}

/* ---- QLinearAdd ---------------------------------------------------------- */

/* in: a, a_s, a_zp, b, b_s, b_zp, y_s, y_zp (zero points optional), all
 * parameters per tensor; numpy broadcasting. ra = f32(a_s / y_s),
 * rb = f32(b_s / y_s), v = f32(f32((f32)(a - a_zp) * ra) + f32((f32)(b - b_zp) * rb)),
 * y = sat(rne(v) + y_zp). */
bool interp_qadd(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    const Tensor *a = in[0], *as = in[1], *azp = in[2], *b = in[3], *bs = in[4], *bzp = in[5], *ys = in[6];
    const Tensor *yzp = n->nin > 7 ? in[7] : NULL;
    Tensor *y = out[0];
    char sa[96], sb[96], sy[96];
    if (!is_q8(a->dtype) || b->dtype != a->dtype || y->dtype != a->dtype)
        return diag_error(d, n->loc, "%s: %s + %s to %s is not supported", NAME(n), dtype_name(a->dtype),
                          dtype_name(b->dtype), dtype_name(y->dtype));
    Shape s;
    if (!shape_broadcast(&a->shape, &b->shape, &s) || !shape_eq(&s, &y->shape))
        return diag_error(d, n->loc, "%s: shapes %s and %s do not broadcast to %s", NAME(n),
                          shape_str(&a->shape, sa, sizeof sa), shape_str(&b->shape, sb, sizeof sb),
                          shape_str(&y->shape, sy, sizeof sy));
    if (!qparam(n, as, DT_F32, 0, "a_scale", d) || !qparam(n, azp, a->dtype, 0, "a_zero_point", d) ||
        !qparam(n, bs, DT_F32, 0, "b_scale", d) || !qparam(n, bzp, a->dtype, 0, "b_zero_point", d) ||
        !qparam(n, ys, DT_F32, 0, "y_scale", d) || !qparam(n, yzp, a->dtype, 0, "y_zero_point", d))
        return false;
    int64_t lo, hi, za = zp_at(azp, 0), zb = zp_at(bzp, 0), zy = zp_at(yzp, 0);
    qrange(y->dtype, &lo, &hi);
    float ysc = scale_at(ys, 0);
    float ra = scale_at(as, 0) / ysc;
    float rb = scale_at(bs, 0) / ysc;
    int64_t alo = lo, ahi = hi;
    if (!act_bounds(n, ysc, zy, &alo, &ahi, d))
        return false;
    int64_t sta[QK_MAX_RANK], stb[QK_MAX_RANK];
    interp_bcast_strides(&a->shape, &y->shape, sta);
    interp_bcast_strides(&b->shape, &y->shape, stb);
    for (int64_t i = 0, ne = tensor_numel(y); i < ne; i++) {
        int64_t ia = interp_bcast_index(i, &y->shape, sta), ib = interp_bcast_index(i, &y->shape, stb);
        float da = (float)(interp_ldi(a, ia) - za), db = (float)(interp_ldi(b, ib) - zb); /* exact */
        float pa = da * ra;
        float pb = db * rb;
        float v = pa + pb;
        interp_stu(y, i, (uint64_t)clamp_act(sat_rne(v, zy, lo, hi), alo, ahi));
    }
    return true;
}

/* ---- QLinearGlobalAveragePool -------------------------------------------- */

/* in: x [N,C,spatial...], x_s, x_zp, y_s, y_zp (zero points optional), per
 * tensor. acc = sum of (x - x_zp) over the n spatial positions (wrapped to
 * int32), M = f32(f32(x_s / y_s) / (f32)n), y = sat(rne((f64)acc * M) + y_zp). */
bool interp_qgap(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    const Tensor *x = in[0], *xs = in[1], *xzp = in[2], *ys = in[3], *yzp = n->nin > 4 ? in[4] : NULL;
    Tensor *y = out[0];
    if (!is_q8(x->dtype) || y->dtype != x->dtype)
        return diag_error(d, n->loc, "%s: %s to %s is not supported", NAME(n), dtype_name(x->dtype),
                          dtype_name(y->dtype));
    if (x->shape.rank < 3)
        return bad_shape(n, "input 0", &x->shape, d);
    int64_t NC = x->shape.d[0] * x->shape.d[1], plane = 1;
    for (int k = 2; k < x->shape.rank; k++)
        plane *= x->shape.d[k];
    if (y->shape.rank != x->shape.rank || y->shape.d[0] != x->shape.d[0] || y->shape.d[1] != x->shape.d[1] ||
        tensor_numel(y) != NC)
        return bad_shape(n, "the output", &y->shape, d);
    if (!qparam(n, xs, DT_F32, 0, "x_scale", d) || !qparam(n, xzp, x->dtype, 0, "x_zero_point", d) ||
        !qparam(n, ys, DT_F32, 0, "y_scale", d) || !qparam(n, yzp, x->dtype, 0, "y_zero_point", d))
        return false;
    int64_t lo, hi, zx = zp_at(xzp, 0), zy = zp_at(yzp, 0);
    qrange(y->dtype, &lo, &hi);
    float r = scale_at(xs, 0) / scale_at(ys, 0);
    float mul = r / (float)plane;
    for (int64_t nc = 0; nc < NC; nc++) {
        int64_t acc = 0;
        for (int64_t i = 0; i < plane; i++)
            acc += interp_ldi(x, nc * plane + i) - zx;
        interp_stu(y, nc, (uint64_t)requantize(wrap32(acc), mul, zy, lo, hi));
    }
    return true;
}

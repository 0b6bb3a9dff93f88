/* k_quant.c — kernels of the quantized ops: QuantizeLinear,
 * DequantizeLinear, DynamicQuantizeLinear, ConvInteger/QLinearConv, QLinearAdd,
 * QLinearGlobalAveragePool (the integer matrix products are in
 * k_gemm.c). Every one follows docs/quantization.md to the bit: integer
 * accumulation in i32, the f32 steps as single IEEE operations, the f64
 * requantization product, round half to even without libm.
 *
 * Quantization parameters are read from their tensors (constants or run-
 * time inputs alike); a per-axis parameter is an operand of the loop nest
 * broadcast along its axis. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"

/* A per-tensor or per-axis parameter as a nest operand: rank of x, all 1
 * but the axis. */
static Shape param_shape(const Value *p, const Shape *xs, int64_t axis)
{
    Shape s = {.rank = 0};
    if (!p || shape_numel(&p->shape) == 1)
        return s;
    s.rank = xs->rank;
    for (int i = 0; i < s.rank; i++)
        s.d[i] = i == axis ? shape_numel(&p->shape) : 1;
    return s;
}

LLVMValueRef cg_widen_i32(Cg *cg, DType t, LLVMValueRef v)
{
    return dtype_is_unsigned_int(t) ? LLVMBuildZExt(cg->b, v, cg->i32, "") : LLVMBuildSExt(cg->b, v, cg->i32, "");
}

LLVMValueRef cg_qparam(Cg *cg, const Node *n, int i, LLVMValueRef idx, bool scale)
{
    const Value *v = i < n->nin ? n->in[i] : NULL;
    if (!v)
        return scale ? cg_f32(cg, 1.0f) : cg_i32(cg, 0);
    if (shape_numel(&v->shape) == 1)
        idx = cg_i64(cg, 0);
    LLVMValueRef x = cg_load(cg, v->dtype, cg->arg[i], idx);
    return scale ? x : cg_widen_i32(cg, v->dtype, x);
}

/* ---- QuantizeLinear / DequantizeLinear --------------------------------- */

typedef struct QdqCtx {
    const Node *n;
    DType tx, ty, tz;
    bool has_zp;
} QdqCtx;

static void qdq_body(Cg *cg, void *vctx, LLVMValueRef *off)
{
    QdqCtx *c = vctx;
    LLVMBuilderRef b = cg->b;
    LLVMValueRef x = cg_load(cg, c->tx, cg->arg[0], off[1]);
    LLVMValueRef s = cg_load(cg, DT_F32, cg->arg[1], off[2]);
    LLVMValueRef zp = c->has_zp ? cg_widen_i32(cg, c->tz, cg_load(cg, c->tz, cg->arg[2], off[3])) : cg_i32(cg, 0);
    LLVMValueRef y = cg->arg[c->n->nin];
    if (c->n->op == OP_QUANTIZE) {
        if (LLVMTypeOf(x) == cg->f64) /* the division is an f32 one */
            x = LLVMBuildFPTrunc(b, x, cg->f32, "");
        LLVMValueRef q = cg_quantize(cg, x, s, zp, c->ty);
        cg_store(cg, c->ty, y, off[0], LLVMBuildTrunc(b, q, cg_mem_type(cg, c->ty), ""));
        return;
    }
    /* (f32)(x - zp) * s; i32 inputs subtract in 64 bits */
    LLVMValueRef xi = c->tx == DT_I32 ? LLVMBuildSExt(b, x, cg->i64, "") : cg_widen_i32(cg, c->tx, x);
    LLVMValueRef zi = c->tx == DT_I32 ? LLVMBuildSExt(b, zp, cg->i64, "") : zp;
    LLVMValueRef v = LLVMBuildSIToFP(b, LLVMBuildSub(b, xi, zi, ""), cg->f32, "");
    cg_store(cg, DT_F32, y, off[0], LLVMBuildFMul(b, v, s, ""));
}

bool cg_k_qdq(Cg *cg, const Node *n)
{
    const Value *x = n->in[0], *sc = n->in[1], *zp = n->nin > 2 ? n->in[2] : NULL;
    QdqCtx c = {n, x->dtype, n->out[0]->dtype, zp ? zp->dtype : DT_U8, zp != NULL};
    Nest ns;
    cg_nest_init(&ns, &x->shape);
    cg_nest_operand(&ns, &n->out[0]->shape);
    cg_nest_operand(&ns, &x->shape);
    Shape ps = param_shape(sc, &x->shape, n->a.axis);
    cg_nest_operand(&ns, &ps);
    Shape pz = param_shape(zp, &x->shape, n->a.axis);
    cg_nest_operand(&ns, &pz);
    cg_nest_collapse(&ns);
    cg_nest_emit(cg, &ns, qdq_body, &c);
    return true;
}

/* ---- DynamicQuantizeLinear --------------------------------------------- */

/* One pass for the range (lo, hi from +0: x < lo and x > hi, as the
 * interpreter, so NaNs are skipped), the scale and zero point as
 * interp_dql computes them, then QuantizeLinear's loop. One thread: the
 * tensors it quantizes (a transformer's activations) take microseconds
 * next to the matrix products that read them. */
/* lo = x < lo ? x : lo, hi = x > hi ? x : hi (either may be NULL), on
 * scalars or vectors of type t: NaNs never enter (the comparisons are false),
 * nor does -0 where the range already holds +0. */
static void range_step(Cg *cg, LLVMValueRef x, LLVMValueRef lo, LLVMValueRef hi, LLVMTypeRef t)
{
    LLVMBuilderRef b = cg->b;
    if (lo) {
        LLVMValueRef v = LLVMBuildLoad2(b, t, lo, "");
        LLVMBuildStore(b, LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLT, x, v, ""), x, v, ""), lo);
    }
    if (hi) {
        LLVMValueRef v = LLVMBuildLoad2(b, t, hi, "");
        LLVMBuildStore(b, LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, x, v, ""), x, v, ""), hi);
    }
}

bool cg_k_dql(Cg *cg, const Node *n)
{
    LLVMBuilderRef b = cg->b;
    const Shape *xs = &n->in[0]->shape;
    bool batch = shape_has_batch(xs);
    int64_t per = batch ? shape_rows(xs) : 1;
    for (int i = batch ? 1 : 0; i < xs->rank; i++)
        per *= xs->d[i];
    CgLoop par, l1, l2;
    cg_par_begin(cg, &par, 1, 0);
    LLVMValueRef total = batch ? LLVMBuildNSWMul(b, cg->batch, cg_i64(cg, per), "n") : cg_i64(cg, per);
    LLVMValueRef X = cg->arg[0], Y = cg->arg[1], S = cg->arg[2], Z = cg->arg[3];
    LLVMValueRef lo = cg_alloca(cg, cg->f32, "lo"), hi = cg_alloca(cg, cg->f32, "hi");
    LLVMValueRef i0 = cg_i64(cg, 0);
    if (!cg->t->gpu) { /* vectors of the target's lanes, then their lanes (the order does not matter) */
        int W = cg_lanes32(cg->t);
        LLVMTypeRef vt = LLVMVectorType(cg->f32, (unsigned)W);
        LLVMValueRef vlo = cg_alloca(cg, vt, "vlo"), vhi = cg_alloca(cg, vt, "vhi");
        LLVMBuildStore(b, LLVMConstNull(vt), vlo);
        LLVMBuildStore(b, LLVMConstNull(vt), vhi);
        i0 = LLVMBuildMul(b, LLVMBuildUDiv(b, total, cg_i64(cg, W), ""), cg_i64(cg, W), "nv");
        LLVMValueRef i = cg_for_begin(cg, &l1, cg_i64(cg, 0), i0, cg_i64(cg, W), "iv");
        LLVMValueRef x = LLVMBuildLoad2(b, vt, cg_gep(cg, DT_F32, X, i), "");
        LLVMSetAlignment(x, 4);
        range_step(cg, x, vlo, vhi, vt);
        cg_for_end(cg, &l1);
        LLVMValueRef a = LLVMBuildLoad2(b, vt, vlo, ""), z = LLVMBuildLoad2(b, vt, vhi, "");
        LLVMBuildStore(b, LLVMBuildExtractElement(b, a, cg_i32(cg, 0), ""), lo);
        LLVMBuildStore(b, LLVMBuildExtractElement(b, z, cg_i32(cg, 0), ""), hi);
        for (int k = 1; k < W; k++) {
            range_step(cg, LLVMBuildExtractElement(b, a, cg_i32(cg, k), ""), lo, NULL, cg->f32);
            range_step(cg, LLVMBuildExtractElement(b, z, cg_i32(cg, k), ""), NULL, hi, cg->f32);
        }
    } else {
        LLVMBuildStore(b, cg_f32(cg, 0.0f), lo);
        LLVMBuildStore(b, cg_f32(cg, 0.0f), hi);
    }
    LLVMValueRef i = cg_for_begin(cg, &l1, i0, total, cg_i64(cg, 1), "i");
    range_step(cg, cg_load(cg, DT_F32, X, i), lo, hi, cg->f32);
    cg_for_end(cg, &l1);
    LLVMValueRef rlo = LLVMBuildLoad2(b, cg->f32, lo, ""), rhi = LLVMBuildLoad2(b, cg->f32, hi, "");
    LLVMValueRef s = LLVMBuildFDiv(b, LLVMBuildFSub(b, rhi, rlo, ""), cg_f32(cg, 255.0f), "");
    s = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOEQ, s, cg_f32(cg, 0.0f), ""), cg_f32(cg, 1.0f), s, "s");
    LLVMValueRef z = LLVMBuildFSub(b, cg_f32(cg, 0.0f), LLVMBuildFDiv(b, rlo, s, ""), "");
    LLVMValueRef zp = cg_quantize(cg, z, cg_f32(cg, 1.0f), cg_i32(cg, 0), DT_U8); /* z / 1 is z */
    cg_store(cg, DT_F32, S, cg_i64(cg, 0), s);
    cg_store(cg, DT_U8, Z, cg_i64(cg, 0), LLVMBuildTrunc(b, zp, cg->i8, ""));
    i = cg_for_begin(cg, &l2, cg_i64(cg, 0), total, cg_i64(cg, 1), "j");
    LLVMValueRef q = cg_quantize(cg, cg_load(cg, DT_F32, X, i), s, zp, DT_U8);
    cg_store(cg, DT_U8, Y, i, LLVMBuildTrunc(b, q, cg->i8, ""));
    cg_for_end(cg, &l2);
    cg_par_end(cg, &par);
    return true;
}

/* ---- ConvInteger / QLinearConv ------------------------------------------ */

typedef struct QConv {
    bool ql, batch;
    int ix, iw, ixz, iwz;
    DType tx, tw, ty;
    int64_t N_static, C, M, G, Cg, Mg;
    int64_t I[3], O[3], K[3], S[3], P[3], D[3];
} QConv;

static void qconv_describe(const Node *n, QConv *c)
{
    c->ql = n->op == OP_QLINEAR_CONV;
    c->ix = 0, c->iw = c->ql ? 3 : 1, c->ixz = 2, c->iwz = c->ql ? 5 : 3;
    const Shape *xs = &n->in[c->ix]->shape, *ys = &n->out[0]->shape;
    c->tx = n->in[c->ix]->dtype, c->tw = n->in[c->iw]->dtype, c->ty = n->out[0]->dtype;
    c->batch = shape_has_batch(xs);
    c->N_static = c->batch ? 1 : xs->d[0];
    c->C = xs->d[1], c->M = ys->d[1], c->G = n->a.group;
    c->Cg = c->C / c->G, c->Mg = c->M / c->G;
    int off = 3 - n->a.nsp;
    for (int i = 0; i < 3; i++) {
        int j = i - off;
        bool real = j >= 0;
        c->I[i] = real ? xs->d[2 + j] : 1;
        c->O[i] = real ? ys->d[2 + j] : 1;
        c->K[i] = real ? n->a.kernel[j] : 1;
        c->S[i] = real ? n->a.strides[j] : 1;
        c->P[i] = real ? n->a.pads[j] : 0;
        c->D[i] = real ? n->a.dilations[j] : 1;
    }
}

static LLVMValueRef mul_add(Cg *cg, LLVMValueRef a, int64_t s, LLVMValueRef b)
{
    return LLVMBuildNSWAdd(cg->b, LLVMBuildNSWMul(cg->b, a, cg_i64(cg, s), ""), b, "");
}

void cg_int_out(Cg *cg, const Node *n, LLVMValueRef acc, LLVMValueRef col, LLVMValueRef Y, LLVMValueRef yi)
{
    LLVMBuilderRef b = cg->b;
    const Value *sc = n->nin > 5 ? n->in[5] : NULL;
    if (!sc) {
        cg_store(cg, DT_I32, Y, yi, acc);
        return;
    }
    const Value *bias = n->in[4];
    LLVMValueRef bi = bias && shape_numel(&bias->shape) == 1 ? cg_i64(cg, 0) : col;
    if (bias && bias->dtype == DT_I32)
        acc = LLVMBuildAdd(b, acc, cg_load(cg, DT_I32, cg->arg[4], bi), "");
    LLVMValueRef s = cg_load(cg, DT_F32, cg->arg[5], shape_numel(&sc->shape) == 1 ? cg_i64(cg, 0) : col);
    LLVMValueRef v = LLVMBuildFMul(b, LLVMBuildSIToFP(b, acc, cg->f32, ""), s, "");
    if (bias && bias->dtype == DT_F32) /* dynamic int8: the float bias after the scale */
        v = LLVMBuildFAdd(b, v, cg_load(cg, DT_F32, cg->arg[4], bi), "");
    cg_store(cg, DT_F32, Y, yi, cg_act(cg, n->a.act, n->a.act_alpha, n->a.act_beta, v));
}

static LLVMValueRef coord(Cg *cg, const QConv *c, int dim, LLVMValueRef o, LLVMValueRef k)
{
    LLVMBuilderRef b = cg->b;
    return LLVMBuildNSWSub(b, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, o, cg_i64(cg, c->S[dim]), ""),
                                              LLVMBuildNSWMul(b, k, cg_i64(cg, c->D[dim]), ""), ""),
                           cg_i64(cg, c->P[dim]), "");
}

/* The result of output channel m from its i32 accumulator: stored as i32
 * (ConvInteger) or requantized (QLinearConv: + bias, * M[m], + y_zp, act). */
static void qconv_store(Cg *cg, const Node *n, const QConv *c, LLVMValueRef acc, LLVMValueRef m, LLVMValueRef yi)
{
    LLVMBuilderRef b = cg->b;
    LLVMValueRef Y = cg->arg[n->nin];
    if (!c->ql) {
        cg_int_out(cg, n, acc, m, Y, yi);
        return;
    }
    if (n->nin > 8 && n->in[8])
        acc = LLVMBuildAdd(b, acc, cg_load(cg, DT_I32, cg->arg[8], m), "");
    LLVMValueRef xs = cg_qparam(cg, n, 1, m, true), ws = cg_qparam(cg, n, 4, m, true), ys = cg_qparam(cg, n, 6, m, true);
    LLVMValueRef mult = LLVMBuildFDiv(b, LLVMBuildFMul(b, xs, ws, ""), ys, "M");
    LLVMValueRef yzp = cg_qparam(cg, n, 7, cg_i64(cg, 0), false);
    LLVMValueRef q = cg_qact(cg, &n->a, cg_requant(cg, acc, mult, yzp, c->ty), ys, yzp, c->ty);
    cg_store(cg, c->ty, Y, yi, LLVMBuildTrunc(b, q, cg_mem_type(cg, c->ty), ""));
}

/* One output element (n, m, od, oh, ow): the exact dot product over the
 * group's input channels and the taps inside the input. */
static void qconv_one(Cg *cg, const Node *n, const QConv *c, LLVMValueRef nn, LLVMValueRef m, LLVMValueRef o[3],
                      LLVMValueRef yi)
{
    LLVMBuilderRef b = cg->b;
    LLVMValueRef X = cg->arg[c->ix], W = cg->arg[c->iw];
    int64_t iplane = c->I[0] * c->I[1] * c->I[2], taps = c->K[0] * c->K[1] * c->K[2];
    LLVMValueRef g = LLVMBuildUDiv(b, m, cg_i64(cg, c->Mg), "g");
    LLVMValueRef xzp = cg_qparam(cg, n, c->ixz, cg_i64(cg, 0), false), wzp = cg_qparam(cg, n, c->iwz, m, false);
    LLVMValueRef acc = cg_alloca(cg, cg->i32, "acc");
    LLVMBuildStore(b, cg_i32(cg, 0), acc);
    CgLoop lc, lk[3];
    LLVMValueRef ci = cg_for_begin(cg, &lc, cg_i64(cg, 0), cg_i64(cg, c->Cg), cg_i64(cg, 1), "ci");
    LLVMValueRef xbase = LLVMBuildNSWMul(b, mul_add(cg, nn, c->C, mul_add(cg, g, c->Cg, ci)), cg_i64(cg, iplane), "");
    LLVMValueRef wbase = LLVMBuildNSWMul(b, mul_add(cg, m, c->Cg, ci), cg_i64(cg, taps), "");
    LLVMValueRef k[3], p[3], inside = NULL;
    for (int dd = 0; dd < 3; dd++) {
        static const char *names[] = {"kd", "kh", "kw"};
        k[dd] = cg_for_begin(cg, &lk[dd], cg_i64(cg, 0), cg_i64(cg, c->K[dd]), cg_i64(cg, 1), names[dd]);
        p[dd] = coord(cg, c, dd, o[dd], k[dd]);
        LLVMValueRef in = LLVMBuildICmp(b, LLVMIntULT, p[dd], cg_i64(cg, c->I[dd]), "");
        inside = inside ? LLVMBuildAnd(b, inside, in, "") : in;
    }
    CgIf cond;
    cg_if_begin(cg, &cond, inside); /* padded positions add (x_zp - x_zp) * w = 0 */
    LLVMValueRef xi = LLVMBuildNSWAdd(b, xbase, mul_add(cg, mul_add(cg, p[0], c->I[1], p[1]), c->I[2], p[2]), "");
    LLVMValueRef wi = LLVMBuildNSWAdd(b, wbase, mul_add(cg, mul_add(cg, k[0], c->K[1], k[1]), c->K[2], k[2]), "");
    LLVMValueRef xv = LLVMBuildSub(b, cg_widen_i32(cg, c->tx, cg_load(cg, c->tx, X, xi)), xzp, "");
    LLVMValueRef wv = LLVMBuildSub(b, cg_widen_i32(cg, c->tw, cg_load(cg, c->tw, W, wi)), wzp, "");
    LLVMBuildStore(b, LLVMBuildAdd(b, LLVMBuildLoad2(b, cg->i32, acc, ""), LLVMBuildMul(b, xv, wv, ""), ""), acc);
    cg_if_end(cg, &cond);
    for (int dd = 2; dd >= 0; dd--)
        cg_for_end(cg, &lk[dd]);
    cg_for_end(cg, &lc);
    qconv_store(cg, n, c, LLVMBuildLoad2(b, cg->i32, acc, ""), m, yi);
}

/* CPU, constant weights and weight zero points: (w - w_zp) packed as
 * [g][ci][taps][mg] at compile time — i8 when every zero point is 0 (the
 * symmetric weights qkc makes), else i16 (w - w_zp fits); per output pixel, the group's
 * accumulators take one input value per tap (the channel-vectorized form
 * of k_conv.c, in exact integers). */
/* Element i of a constant u8/s8 tensor (a weight or a zero point). */
static int32_t qconst(const Value *v, int64_t i)
{
    return v->dtype == DT_U8 ? ((const uint8_t *)v->data)[i] : ((const int8_t *)v->data)[i];
}

/* The constant weight zero point of output channel m (0 without one). */
static int32_t qconst_wzp(const Value *wz, int64_t m)
{
    return wz ? qconst(wz, shape_numel(&wz->shape) == 1 ? 0 : m) : 0;
}

static LLVMValueRef pack_qweights(Cg *cg, const Node *n, const QConv *c, DType *pt)
{
    const Value *w = n->in[c->iw], *wz = n->nin > c->iwz ? n->in[c->iwz] : NULL;
    if (cg->t->gpu || c->Mg < 8 || w->kind != VAL_CONST || (wz && wz->kind != VAL_CONST))
        return NULL;
    bool zero = true;
    for (int64_t i = 0; wz && i < shape_numel(&wz->shape); i++)
        zero = zero && qconst(wz, i) == 0;
    *pt = zero && w->dtype == DT_I8 ? DT_I8 : DT_I16;
    int64_t taps = c->K[0] * c->K[1] * c->K[2], total = c->M * c->Cg * taps;
    int32_t *dst = malloc(sizeof(int32_t) * (size_t)total);
    void *packed = malloc((size_t)(total * dtype_size(*pt)) + 1);
    if (!dst || !packed) {
        free(dst);
        free(packed);
        return NULL;
    }
    for (int64_t m = 0; m < c->M; m++) {
        int64_t g = m / c->Mg, mg = m % c->Mg;
        int32_t zp = qconst_wzp(wz, m);
        for (int64_t ci = 0; ci < c->Cg; ci++)
            for (int64_t t = 0; t < taps; t++) {
                int64_t si = (m * c->Cg + ci) * taps + t;
                int32_t v = qconst(w, si);
                dst[((g * c->Cg + ci) * taps + t) * c->Mg + mg] = v - zp;
            }
    }
    for (int64_t i = 0; i < total; i++) {
        if (*pt == DT_I8)
            ((int8_t *)packed)[i] = (int8_t)dst[i];
        else
            ((int16_t *)packed)[i] = (int16_t)dst[i];
    }
    LLVMValueRef gv = cg_const_blob(cg, "qk.qwpack", packed, (size_t)(total * dtype_size(*pt)));
    free(dst);
    free(packed);
    return gv;
}

static void qconv_channels(Cg *cg, const Node *n, const QConv *c, LLVMValueRef WP, DType pt)
{
    LLVMBuilderRef b = cg->b;
    LLVMValueRef X = cg->arg[c->ix];
    int64_t taps = c->K[0] * c->K[1] * c->K[2], iplane = c->I[0] * c->I[1] * c->I[2];
    int64_t oplane = c->O[0] * c->O[1] * c->O[2], rows = c->O[0] * c->O[1];
    LLVMValueRef acc = cg_alloca(cg, LLVMArrayType2(cg->i32, (uint64_t)c->Mg), "acc");
    LLVMValueRef xzp = cg_qparam(cg, n, c->ixz, cg_i64(cg, 0), false);
    CgLoop par, lg, low, lm, lc, lk[3], lm2, lm3;
    LLVMValueRef r = cg_par_begin(cg, &par, c->batch ? 0 : c->N_static * rows, c->batch ? rows : 0);
    LLVMValueRef nn = LLVMBuildUDiv(b, r, cg_i64(cg, rows), "n"), rr = LLVMBuildURem(b, r, cg_i64(cg, rows), "");
    LLVMValueRef o[3];
    o[0] = LLVMBuildUDiv(b, rr, cg_i64(cg, c->O[1]), "od");
    o[1] = LLVMBuildURem(b, rr, cg_i64(cg, c->O[1]), "oh");
    LLVMValueRef g = cg_for_begin(cg, &lg, cg_i64(cg, 0), cg_i64(cg, c->G), cg_i64(cg, 1), "g");
    o[2] = cg_for_begin(cg, &low, cg_i64(cg, 0), cg_i64(cg, c->O[2]), cg_i64(cg, 1), "ow");
    LLVMValueRef mm = cg_for_begin(cg, &lm, cg_i64(cg, 0), cg_i64(cg, c->Mg), cg_i64(cg, 1), "m");
    cg_store(cg, DT_I32, acc, mm, cg_i32(cg, 0));
    cg_for_end(cg, &lm);
    LLVMValueRef ci = cg_for_begin(cg, &lc, cg_i64(cg, 0), cg_i64(cg, c->Cg), cg_i64(cg, 1), "ci");
    LLVMValueRef xbase = LLVMBuildNSWMul(b, mul_add(cg, nn, c->C, mul_add(cg, g, c->Cg, ci)), cg_i64(cg, iplane), "");
    LLVMValueRef k[3], p[3], inside = NULL;
    for (int dd = 0; dd < 3; dd++) {
        static const char *names[] = {"kd", "kh", "kw"};
        k[dd] = cg_for_begin(cg, &lk[dd], cg_i64(cg, 0), cg_i64(cg, c->K[dd]), cg_i64(cg, 1), names[dd]);
        p[dd] = coord(cg, c, dd, o[dd], k[dd]);
        LLVMValueRef in = LLVMBuildICmp(b, LLVMIntULT, p[dd], cg_i64(cg, c->I[dd]), "");
        inside = inside ? LLVMBuildAnd(b, inside, in, "") : in;
    }
    /* a clamped (always valid) address, then the value or 0 in the padding */
    LLVMValueRef xi = LLVMBuildNSWAdd(b, xbase, mul_add(cg, mul_add(cg, p[0], c->I[1], p[1]), c->I[2], p[2]), "");
    xi = LLVMBuildSelect(b, inside, xi, xbase, "");
    LLVMValueRef xv = LLVMBuildSub(b, cg_widen_i32(cg, c->tx, cg_load(cg, c->tx, X, xi)), xzp, "");
    xv = LLVMBuildSelect(b, inside, xv, cg_i32(cg, 0), "x");
    LLVMValueRef tap = mul_add(cg, mul_add(cg, k[0], c->K[1], k[1]), c->K[2], k[2]);
    LLVMValueRef wp = cg_gep(cg, pt, WP, LLVMBuildNSWMul(b, mul_add(cg, mul_add(cg, g, c->Cg, ci), taps, tap), cg_i64(cg, c->Mg), ""));
    mm = cg_for_begin(cg, &lm2, cg_i64(cg, 0), cg_i64(cg, c->Mg), cg_i64(cg, 1), "m");
    LLVMValueRef a = cg_load(cg, DT_I32, acc, mm);
    LLVMValueRef wv = LLVMBuildSExt(b, cg_load(cg, pt, wp, mm), cg->i32, "");
    cg_store(cg, DT_I32, acc, mm, LLVMBuildAdd(b, a, LLVMBuildMul(b, wv, xv, ""), ""));
    cg_for_end(cg, &lm2);
    for (int dd = 2; dd >= 0; dd--)
        cg_for_end(cg, &lk[dd]);
    cg_for_end(cg, &lc);
    LLVMValueRef ypix = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, rr, cg_i64(cg, c->O[2]), ""), o[2], "");
    mm = cg_for_begin(cg, &lm3, cg_i64(cg, 0), cg_i64(cg, c->Mg), cg_i64(cg, 1), "m");
    LLVMValueRef m = mul_add(cg, g, c->Mg, mm);
    LLVMValueRef yi = mul_add(cg, mul_add(cg, nn, c->M, m), oplane, ypix);
    qconv_store(cg, n, c, cg_load(cg, DT_I32, acc, mm), m, yi);
    cg_for_end(cg, &lm3);
    cg_for_end(cg, &low);
    cg_for_end(cg, &lg);
    cg_par_end(cg, &par);
}

/* CPU, few output channels per group (depthwise): row-wise, like
 * k_conv.c's conv_cpu in exact integers. The parallel loop runs over
 * output rows (n, m, od, oh); a row of i32 accumulators on the stack takes
 * (w - w_zp) * (x - x_zp) for each input channel of the group and each tap,
 * over the output positions where the tap lands inside the input
 * (cg_tap_range: the padding adds (x_zp - x_zp) * w = 0, so it is
 * skipped), along the row; then the row is stored or requantized. A
 * depthwise 2-D row's interior is one pass instead (qconv_interior): only
 * its edges take the per-tap loops. */
enum { QROW_MAX = 16384 }; /* accumulators of one row on the stack */

/* A depthwise 2-D row's interior [lo, hi) (every tap inside the input):
 * the taps of the kernel rows that exist (the others' weights 0) summed in
 * registers and stored or requantized at once. */
static void qconv_interior(Cg *cg, const Node *n, const QConv *c, LLVMValueRef xplane, LLVMValueRef wbase,
                           LLVMValueRef xzp, LLVMValueRef wzp, LLVMValueRef o[2], LLVMValueRef m, LLVMValueRef ybase,
                           int64_t lo, int64_t hi)
{
    LLVMBuilderRef b = cg->b;
    LLVMValueRef W = cg->arg[c->iw];
    int64_t KH = c->K[1], KW = c->K[2];
    LLVMValueRef xrow[64], w[64];
    LLVMValueRef pd = coord(cg, c, 0, o[0], cg_i64(cg, 0));
    for (int64_t kh = 0; kh < KH; kh++) {
        LLVMValueRef ph = coord(cg, c, 1, o[1], cg_i64(cg, kh));
        LLVMValueRef ok = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntULT, pd, cg_i64(cg, c->I[0]), ""),
                                       LLVMBuildICmp(b, LLVMIntULT, ph, cg_i64(cg, c->I[1]), ""), "");
        LLVMValueRef pdc = LLVMBuildSelect(b, ok, pd, cg_i64(cg, 0), ""), phc = LLVMBuildSelect(b, ok, ph, cg_i64(cg, 0), "");
        xrow[kh] = LLVMBuildNSWMul(b, mul_add(cg, pdc, c->I[1], phc), cg_i64(cg, c->I[2]), "");
        for (int64_t kw = 0; kw < KW; kw++) {
            LLVMValueRef wv = cg_widen_i32(cg, c->tw, cg_load(cg, c->tw, W, LLVMBuildNSWAdd(b, wbase, cg_i64(cg, kh * KW + kw), "")));
            w[kh * KW + kw] = LLVMBuildSelect(b, ok, LLVMBuildSub(b, wv, wzp, ""), cg_i32(cg, 0), "");
        }
    }
    /* unit stride: whole vectors, the last one overlapping (cg_vec_spans),
     * no scalar rest (strided rows: LLVM's choice, measured better) */
    int V = c->S[2] == 1 ? cg_lanes32(cg->t) : 0;
    int64_t span[2][2];
    for (int si = 0, ns = cg_vec_spans(lo, hi, V, span); si < ns; si++) {
        CgLoop l;
        LLVMValueRef ow = cg_for_begin(cg, &l, cg_i64(cg, span[si][0]), cg_i64(cg, span[si][1]), cg_i64(cg, 1), "ow");
        LLVMValueRef acc = cg_i32(cg, 0);
        for (int64_t kh = 0; kh < KH; kh++)
            for (int64_t kw = 0; kw < KW; kw++) {
                LLVMValueRef xi = LLVMBuildNSWAdd(b, xrow[kh], coord(cg, c, 2, ow, cg_i64(cg, kw)), "");
                LLVMValueRef xv = LLVMBuildSub(b, cg_widen_i32(cg, c->tx, cg_load(cg, c->tx, xplane, xi)), xzp, "");
                acc = LLVMBuildAdd(b, acc, LLVMBuildMul(b, w[kh * KW + kw], xv, ""), "");
            }
        qconv_store(cg, n, c, acc, m, LLVMBuildNSWAdd(b, ybase, ow, ""));
        if (V && (span[si][1] - span[si][0]) % V == 0)
            l.vec_width = V;
        cg_for_end(cg, &l);
    }
}

static void qconv_rows(Cg *cg, const Node *n, const QConv *c)
{
    LLVMBuilderRef b = cg->b;
    LLVMValueRef X = cg->arg[c->ix], W = cg->arg[c->iw];
    int64_t iplane = c->I[0] * c->I[1] * c->I[2], oplane = c->O[0] * c->O[1] * c->O[2];
    int64_t taps = c->K[0] * c->K[1] * c->K[2], rows = c->M * c->O[0] * c->O[1];
    LLVMValueRef acc = cg_alloca(cg, LLVMArrayType2(cg->i32, (uint64_t)c->O[2]), "acc");
    CgLoop par, li, lc, lk[3], lw, lo_;
    LLVMValueRef r = cg_par_begin(cg, &par, c->batch ? 0 : c->N_static * rows, c->batch ? rows : 0);
    LLVMValueRef nn = LLVMBuildUDiv(b, r, cg_i64(cg, rows), "n"), rr = LLVMBuildURem(b, r, cg_i64(cg, rows), "");
    int64_t prow = c->O[0] * c->O[1]; /* output rows per plane */
    LLVMValueRef m = LLVMBuildUDiv(b, rr, cg_i64(cg, prow), "m"), pr = LLVMBuildURem(b, rr, cg_i64(cg, prow), "");
    LLVMValueRef o[3];
    o[0] = LLVMBuildUDiv(b, pr, cg_i64(cg, c->O[1]), "od");
    o[1] = LLVMBuildURem(b, pr, cg_i64(cg, c->O[1]), "oh");
    LLVMValueRef g = LLVMBuildUDiv(b, m, cg_i64(cg, c->Mg), "g");
    LLVMValueRef xzp = cg_qparam(cg, n, c->ixz, cg_i64(cg, 0), false), wzp = cg_qparam(cg, n, c->iwz, m, false);
    LLVMValueRef ybase = mul_add(cg, mul_add(cg, nn, c->M, m), oplane, LLVMBuildNSWMul(b, pr, cg_i64(cg, c->O[2]), ""));
    /* depthwise 2-D: the row's interior in one pass (qconv_interior), the
     * loops below over its edges [0, ilo) and [ihi, O) only */
    int64_t ilo, ihi, part[2][2];
    int nparts = cg_dw_row_parts(c->Cg, c->K, c->I, c->O, c->S, c->P, c->D, &ilo, &ihi, part);
    if (ihi > ilo) {
        LLVMValueRef xp0 = cg_gep(cg, c->tx, X, LLVMBuildNSWMul(b, mul_add(cg, nn, c->C, g), cg_i64(cg, iplane), ""));
        qconv_interior(cg, n, c, xp0, LLVMBuildNSWMul(b, m, cg_i64(cg, taps), ""), xzp, wzp, o, m, ybase, ilo, ihi);
    }
    LLVMValueRef i;
    for (int pi = 0; pi < nparts; pi++) {
        i = cg_for_begin(cg, &li, cg_i64(cg, part[pi][0]), cg_i64(cg, part[pi][1]), cg_i64(cg, 1), "init");
        cg_store(cg, DT_I32, acc, i, cg_i32(cg, 0));
        cg_for_end(cg, &li);
    }
    LLVMValueRef ci = cg_for_begin(cg, &lc, cg_i64(cg, 0), cg_i64(cg, c->Cg), cg_i64(cg, 1), "ci");
    LLVMValueRef xplane = cg_gep(cg, c->tx, X, LLVMBuildNSWMul(b, mul_add(cg, nn, c->C, mul_add(cg, g, c->Cg, ci)),
                                                               cg_i64(cg, iplane), ""));
    LLVMValueRef wbase = LLVMBuildNSWMul(b, mul_add(cg, m, c->Cg, ci), cg_i64(cg, taps), "");
    LLVMValueRef k[3], p[2];
    k[0] = cg_for_begin(cg, &lk[0], cg_i64(cg, 0), cg_i64(cg, c->K[0]), cg_i64(cg, 1), "kd");
    p[0] = coord(cg, c, 0, o[0], k[0]);
    k[1] = cg_for_begin(cg, &lk[1], cg_i64(cg, 0), cg_i64(cg, c->K[1]), cg_i64(cg, 1), "kh");
    p[1] = coord(cg, c, 1, o[1], k[1]);
    CgIf inside;
    cg_if_begin(cg, &inside, LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntULT, p[0], cg_i64(cg, c->I[0]), ""),
                                          LLVMBuildICmp(b, LLVMIntULT, p[1], cg_i64(cg, c->I[1]), ""), ""));
    LLVMValueRef xrow0 = LLVMBuildNSWMul(b, mul_add(cg, p[0], c->I[1], p[1]), cg_i64(cg, c->I[2]), "");
    k[2] = cg_for_begin(cg, &lk[2], cg_i64(cg, 0), cg_i64(cg, c->K[2]), cg_i64(cg, 1), "kw");
    LLVMValueRef wi = LLVMBuildNSWAdd(b, wbase, mul_add(cg, mul_add(cg, k[0], c->K[1], k[1]), c->K[2], k[2]), "");
    LLVMValueRef wv = LLVMBuildSub(b, cg_widen_i32(cg, c->tw, cg_load(cg, c->tw, W, wi)), wzp, "w");
    LLVMValueRef lo, hi;
    cg_tap_range(cg, c->I[2], c->O[2], c->S[2], c->P[2], c->D[2], k[2], &lo, &hi);
    /* x index of output position ow: xrow + ow*S */
    LLVMValueRef xrow = cg_gep(cg, c->tx, xplane, LLVMBuildNSWAdd(b, xrow0, coord(cg, c, 2, cg_i64(cg, 0), k[2]), ""));
    for (int pi = 0; pi < nparts; pi++) { /* (the tap's span within each edge part) */
        LLVMValueRef plo = lo, phi = hi;
        if (nparts == 2) {
            LLVMValueRef a = cg_i64(cg, part[pi][0]), z = cg_i64(cg, part[pi][1]);
            plo = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSGT, lo, a, ""), lo, a, "");
            phi = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, hi, z, ""), hi, z, "");
        }
        LLVMValueRef ow = cg_for_begin(cg, &lw, plo, phi, cg_i64(cg, 1), "ow");
        LLVMValueRef xv = cg_widen_i32(cg, c->tx, cg_load(cg, c->tx, xrow, LLVMBuildNSWMul(b, ow, cg_i64(cg, c->S[2]), "")));
        LLVMValueRef prod = LLVMBuildMul(b, wv, LLVMBuildSub(b, xv, xzp, ""), "");
        cg_store(cg, DT_I32, acc, ow, LLVMBuildAdd(b, cg_load(cg, DT_I32, acc, ow), prod, ""));
        cg_for_end(cg, &lw);
    }
    cg_for_end(cg, &lk[2]);
    cg_if_end(cg, &inside);
    cg_for_end(cg, &lk[1]);
    cg_for_end(cg, &lk[0]);
    cg_for_end(cg, &lc);
    for (int pi = 0; pi < nparts; pi++) {
        LLVMValueRef ow = cg_for_begin(cg, &lo_, cg_i64(cg, part[pi][0]), cg_i64(cg, part[pi][1]), cg_i64(cg, 1), "ow");
        qconv_store(cg, n, c, cg_load(cg, DT_I32, acc, ow), m, LLVMBuildNSWAdd(b, ybase, ow, ""));
        cg_for_end(cg, &lo_);
    }
    cg_par_end(cg, &par);
}

/* ---- depthwise int8 on byte permutes and 4-way dots ----------------------
 * A depthwise 1-D/2-D QLinearConv (or ConvInteger, i32 out or with its f32
 * epilogue) with constant s8 weights (zero points 0), on a
 * target with vpdpbusd and a one-instruction byte permute over 512-bit
 * vectors (Target.dot, Target.byte_perm: AVX512-VNNI and -VBMI), runs a
 * plane (n, m) at a time. The plane is copied into a buffer padded with
 * x_zp, so every tap lands inside it and
 *   sum w (x - x_zp) = sum w x_padded - x_zp sum w
 * exactly (the second term once per channel). Each vector of 16 outputs
 * takes, per kernel row and per 4 kernel columns, a window of 64 bytes (two
 * when it is wider), one byte permute putting the 4 input bytes of each
 * output's taps side by side, and one vpdpbusd with the 4 weights: 4 taps
 * of 16 outputs in 3 instructions. The vectors run along each output row
 * when rows have 16 outputs or more (the same permute for every vector, the
 * last one overlapping), else over the whole plane across rows (a permute
 * per vector, unrolled), the way 7x7 and 14x14 planes fill the lanes. s8
 * activations are biased to u8 (x ^ 0x80, x_zp + 128: the same sums). */
enum { QDW_LANES = 16, QDW_MAX_VECS = 16, QDW_BUF_MAX = 65536 };

typedef struct QDw {
    int64_t Hp, Wp, G4; /* the padded plane; kernel columns in groups of 4 */
    bool rows;          /* vectors along a row (OW >= 16), else over the plane */
    int nvec;           /* plane mode: vectors, starting at q0[v] */
    int64_t q0[QDW_MAX_VECS];
} QDw;

/* The byte offset in the padded plane of output q's tap (kh, kw) for a plane
 * of OW-wide output rows (row mode: OW large, q within one row). */
static int64_t qdw_pos(const QConv *c, const QDw *d, int64_t q, int64_t kh, int64_t kw)
{
    int64_t oh = q / c->O[2], ow = q % c->O[2];
    return (oh * c->S[1] + kh * c->D[1]) * d->Wp + ow * c->S[2] + kw * c->D[2];
}

/* The window of a vector starting at output q0 for 4 kernel columns from
 * kw: its bytes from the first lane's first tap to the last lane's last. */
static int64_t qdw_span(const QConv *c, const QDw *d, int64_t q0, int64_t kw)
{
    return qdw_pos(c, d, q0 + QDW_LANES - 1, 0, kw + 3) - qdw_pos(c, d, q0, 0, kw) + 1;
}

static bool qdw_plan(const Target *t, const Node *n, const QConv *c, QDw *d)
{
    if (t->gpu || t->dot != DOT_VNNI || !t->byte_perm || c->Cg != 1 || c->Mg != 1)
        return false;
    if (c->K[0] != 1 || c->I[0] != 1 || c->O[0] != 1 || (c->tx != DT_U8 && c->tx != DT_I8))
        return false;
    /* QLinearConv to the input's type; ConvInteger to i32, or with the
     * dequantizing epilogue to f32 (cg_int_out) */
    if (c->ql ? c->ty != c->tx : c->ty != (n->nin > 5 && n->in[5] ? DT_F32 : DT_I32))
        return false;
    const Value *w = n->in[c->iw], *wz = n->nin > c->iwz ? n->in[c->iwz] : NULL;
    if (w->kind != VAL_CONST || w->dtype != DT_I8 || (wz && wz->kind != VAL_CONST))
        return false;
    for (int64_t i = 0; wz && i < shape_numel(&wz->shape); i++)
        if (qconst(wz, i) != 0)
            return false;
    d->G4 = (c->K[2] + 3) / 4;
    if (c->K[1] * d->G4 > 32)
        return false;
    cg_dw_padded(c->I, c->O, c->K, c->S, c->P, c->D, &d->Hp, &d->Wp);
    if (d->Hp * d->Wp + 128 > QDW_BUF_MAX)
        return false;
    int64_t total = c->O[1] * c->O[2];
    d->rows = c->O[2] >= QDW_LANES;
    d->nvec = 0;
    if (d->rows)
        return qdw_span(c, d, 0, 4 * (d->G4 - 1)) <= 128; /* the widest: the last group's */
    if (total < QDW_LANES || total > QDW_LANES * QDW_MAX_VECS)
        return false;
    for (int64_t q = 0; q < total; q += QDW_LANES) /* the last vector ends at the plane's end */
        d->q0[d->nvec++] = q + QDW_LANES <= total ? q : total - QDW_LANES;
    for (int v = 0; v < d->nvec; v++)
        for (int64_t g = 0; g < d->G4; g++)
            if (qdw_span(c, d, d->q0[v], 4 * g) > 128)
                return false;
    return true;
}

/* The 16 lanes' 4 taps from kw on, as u8 bytes of a <16 x i32>: from the
 * window at byte `at` of the padded plane, permuted by the lanes' offsets
 * from the window's first byte (one load, or two for a window over 64). */
static LLVMValueRef qdw_window(Cg *cg, const QConv *c, const QDw *d, LLVMValueRef buf, LLVMValueRef at, int64_t q0,
                               int64_t kw)
{
    LLVMBuilderRef b = cg->b;
    LLVMTypeRef v64 = LLVMVectorType(cg->i8, 64);
    int64_t base = qdw_pos(c, d, q0, 0, kw);
    LLVMValueRef idx[64];
    for (int l = 0; l < QDW_LANES; l++)
        for (int k = 0; k < 4; k++)
            idx[4 * l + k] = cg_i32(cg, (int32_t)(qdw_pos(c, d, q0 + l, 0, kw + k) - base));
    LLVMValueRef src[2];
    int nsrc = qdw_span(c, d, q0, kw) > 64 ? 2 : 1;
    for (int s = 0; s < nsrc; s++) {
        LLVMValueRef p = cg_gep(cg, DT_U8, buf, LLVMBuildNSWAdd(b, at, cg_i64(cg, 64 * s), ""));
        src[s] = LLVMBuildLoad2(b, v64, p, "win");
        LLVMSetAlignment(src[s], 1);
    }
    LLVMValueRef x = LLVMBuildShuffleVector(b, src[0], nsrc == 2 ? src[1] : LLVMGetPoison(v64), LLVMConstVector(idx, 64), "taps");
    return LLVMBuildBitCast(b, x, LLVMVectorType(cg->i32, QDW_LANES), "");
}

/* What a plane's results need (per channel): the accumulators' start corr
 * (the i32 bias added), QLinearConv's requantization (multiplier, zero
 * point, bounds with the activation folded in), or ConvInteger's
 * dequantizing epilogue (scale, f32 bias; none: i32 out). */
typedef struct QDwOut {
    LLVMValueRef corr;
    LLVMValueRef mult, yzp, lo, hi;
    bool mult_finite; /* mult is known finite (a compile-time table's) */
    LLVMValueRef scale, fbias;
} QDwOut;

/* Channel m's QDwOut, its accumulators starting from corr0 + bias. */
static QDwOut qdw_out(Cg *cg, const Node *n, const QConv *c, LLVMValueRef m, LLVMValueRef corr0)
{
    LLVMBuilderRef b = cg->b;
    QDwOut o = {.corr = corr0};
    if (c->ql) {
        if (n->nin > 8 && n->in[8])
            o.corr = LLVMBuildAdd(b, o.corr, cg_load(cg, DT_I32, cg->arg[8], m), "corr");
        LLVMValueRef xs = cg_qparam(cg, n, 1, m, true), ws = cg_qparam(cg, n, 4, m, true), ys = cg_qparam(cg, n, 6, m, true);
        LLVMValueRef qmin, qmax;
        o.mult = LLVMBuildFDiv(b, LLVMBuildFMul(b, xs, ws, ""), ys, "M"); /* as qconv_store */
        o.yzp = cg_qparam(cg, n, 7, cg_i64(cg, 0), false);
        cg_qrange(cg, c->ty, &qmin, &qmax);
        o.lo = cg_qact(cg, &n->a, qmin, ys, o.yzp, c->ty); /* the activation's clamp, folded */
        o.hi = cg_qact(cg, &n->a, qmax, ys, o.yzp, c->ty);
    } else if (n->nin > 5 && n->in[5]) { /* ConvInteger's epilogue, as cg_int_out */
        const Value *bias = n->in[4], *sc = n->in[5];
        LLVMValueRef bi = bias && shape_numel(&bias->shape) == 1 ? cg_i64(cg, 0) : m;
        if (bias && bias->dtype == DT_I32)
            o.corr = LLVMBuildAdd(b, o.corr, cg_load(cg, DT_I32, cg->arg[4], bi), "corr");
        if (bias && bias->dtype == DT_F32)
            o.fbias = cg_load(cg, DT_F32, cg->arg[4], bi);
        o.scale = cg_load(cg, DT_F32, cg->arg[5], shape_numel(&sc->shape) == 1 ? cg_i64(cg, 0) : m);
    }
    return o;
}

/* The results of a vector of accumulators, in the output's type. */
static LLVMValueRef qdw_value(Cg *cg, const Node *n, const QConv *c, const QDwOut *o, LLVMValueRef acc)
{
    LLVMBuilderRef b = cg->b;
    LLVMValueRef v = acc;
    unsigned lanes = LLVMGetVectorSize(LLVMTypeOf(acc));
    if (c->ql) {
        v = cg_requant_to(cg, acc, o->mult, o->yzp, o->lo, o->hi, o->mult_finite);
        v = LLVMBuildTrunc(b, v, LLVMVectorType(cg->i8, lanes), "");
    } else if (o->scale) { /* as cg_int_out: act(f32(acc) * s [+ f32 bias]) */
        v = LLVMBuildFMul(b, LLVMBuildSIToFP(b, acc, LLVMVectorType(cg->f32, lanes), ""),
                          cg_splat(cg, o->scale, (int)lanes), "");
        if (o->fbias)
            v = LLVMBuildFAdd(b, v, cg_splat(cg, o->fbias, (int)lanes), "");
        v = cg_act(cg, n->a.act, n->a.act_alpha, n->a.act_beta, v);
    }
    return v;
}

static void qdw_store(Cg *cg, const Node *n, const QConv *c, const QDwOut *o, LLVMValueRef acc, LLVMValueRef Y,
                      LLVMValueRef yi)
{
    LLVMValueRef st = LLVMBuildStore(cg->b, qdw_value(cg, n, c, o, acc), cg_gep(cg, c->ty, Y, yi));
    LLVMSetAlignment(st, 1);
}

/* One vector: outputs q0.. of the plane (row mode: q0 = ow0 of row oh, at
 * runtime), accumulated from corr, requantized (or dequantized), stored at
 * Y[yi]. */
static void qdw_vector(Cg *cg, const Node *n, const QConv *c, const QDw *d, LLVMValueRef buf, LLVMValueRef rowat,
                       int64_t q0, LLVMValueRef ow0, const LLVMValueRef *wv, const QDwOut *o, LLVMValueRef Y,
                       LLVMValueRef yi)
{
    LLVMBuilderRef b = cg->b;
    LLVMValueRef acc = cg_splat(cg, o->corr, QDW_LANES);
    for (int64_t kh = 0; kh < c->K[1]; kh++)
        for (int64_t g = 0; g < d->G4; g++) {
            /* the window's first byte: the first lane's tap (kh, 4g) */
            LLVMValueRef at = LLVMBuildNSWAdd(b, rowat, cg_i64(cg, qdw_pos(c, d, q0, kh, 4 * g)), "");
            if (ow0)
                at = LLVMBuildNSWAdd(b, at, LLVMBuildNSWMul(b, ow0, cg_i64(cg, c->S[2]), ""), "");
            LLVMValueRef args[3] = {acc, qdw_window(cg, c, d, buf, at, q0, 4 * g), wv[kh * d->G4 + g]};
            acc = cg_intrin(cg, "llvm.x86.avx512.vpdpbusd.512", NULL, 0, args, 3);
        }
    qdw_store(cg, n, c, o, acc, Y, yi);
}

static bool qconv_dw_dot(Cg *cg, const Node *n, const QConv *c, const QDw *d)
{
    LLVMBuilderRef b = cg->b;
    LLVMValueRef X = cg->arg[c->ix], Y = cg->arg[n->nin];
    const Value *w = n->in[c->iw];
    int64_t KH = c->K[1], KW = c->K[2], nw = KH * d->G4;
    /* compile time: [m][kh][g] words of 4 weights (zeros past KW), sum w [m] */
    int32_t *words = calloc((size_t)(c->M * nw), sizeof(int32_t)), *wsum = calloc((size_t)c->M, sizeof(int32_t));
    if (!words || !wsum) {
        free(words);
        free(wsum);
        return false;
    }
    const int8_t *wd = w->data;
    for (int64_t m = 0; m < c->M; m++)
        for (int64_t kh = 0; kh < KH; kh++)
            for (int64_t kw = 0; kw < KW; kw++) {
                int8_t v = wd[(m * KH + kh) * KW + kw];
                uint32_t *word = (uint32_t *)&words[(m * KH + kh) * d->G4 + kw / 4];
                *word |= (uint32_t)(uint8_t)v << (8 * (kw % 4));
                wsum[m] += v;
            }
    LLVMValueRef WW = cg_const_blob(cg, "qk.dwwords", words, sizeof(int32_t) * (size_t)(c->M * nw));
    LLVMValueRef WS = cg_const_blob(cg, "qk.dwsum", wsum, sizeof(int32_t) * (size_t)c->M);
    free(words);
    free(wsum);
    cg_packed_input(cg, c->iw);

    int64_t iplane = c->I[1] * c->I[2], oplane = c->O[1] * c->O[2], bytes = d->Hp * d->Wp + 128;
    LLVMValueRef buf = cg_alloca(cg, LLVMArrayType2(cg->i8, (uint64_t)bytes), "plane");
    LLVMSetAlignment(buf, 64);
    CgLoop par, lr, lc, loh, low;
    LLVMValueRef r = cg_par_begin(cg, &par, c->batch ? 0 : c->N_static * c->M, c->batch ? c->M : 0);
    LLVMValueRef m = LLVMBuildURem(b, r, cg_i64(cg, c->M), "m");
    /* the padded plane: x_zp everywhere, then the input rows (s8: biased to u8) */
    bool flip = c->tx == DT_I8;
    LLVMValueRef xzp = cg_qparam(cg, n, c->ixz, cg_i64(cg, 0), false);
    if (flip)
        xzp = LLVMBuildAdd(b, xzp, cg_i32(cg, 128), "");
    LLVMBuildMemSet(b, buf, LLVMBuildTrunc(b, xzp, cg->i8, ""), cg_i64(cg, bytes), 64);
    LLVMValueRef xplane = cg_gep(cg, c->tx, X, LLVMBuildNSWMul(b, r, cg_i64(cg, iplane), "")); /* (n*C + m): C == M */
    LLVMValueRef ih = cg_for_begin(cg, &lr, cg_i64(cg, 0), cg_i64(cg, c->I[1]), cg_i64(cg, 1), "ih");
    LLVMValueRef dst = cg_gep(cg, DT_U8, buf, mul_add(cg, LLVMBuildNSWAdd(b, ih, cg_i64(cg, c->P[1]), ""), d->Wp,
                                                      cg_i64(cg, c->P[2])));
    LLVMValueRef src = cg_gep(cg, c->tx, xplane, LLVMBuildNSWMul(b, ih, cg_i64(cg, c->I[2]), ""));
    if (!flip) {
        LLVMBuildMemCpy(b, dst, 1, src, 1, cg_i64(cg, c->I[2]));
    } else {
        LLVMValueRef iw = cg_for_begin(cg, &lc, cg_i64(cg, 0), cg_i64(cg, c->I[2]), cg_i64(cg, 1), "iw");
        LLVMValueRef v = LLVMBuildXor(b, cg_load(cg, DT_I8, src, iw), LLVMConstInt(cg->i8, 0x80, 0), "");
        cg_store(cg, DT_U8, dst, iw, v);
        cg_for_end(cg, &lc);
    }
    cg_for_end(cg, &lr);
    /* per channel: the weights' words, corr = bias - x_zp sum w, the requant */
    LLVMValueRef wv[32];
    for (int64_t i = 0; i < nw; i++)
        wv[i] = cg_splat(cg, cg_load(cg, DT_I32, WW, mul_add(cg, m, nw, cg_i64(cg, i))), QDW_LANES);
    LLVMValueRef corr = LLVMBuildNSWMul(b, LLVMBuildNeg(b, xzp, ""), cg_load(cg, DT_I32, WS, m), "");
    QDwOut o = qdw_out(cg, n, c, m, corr);
    LLVMValueRef ybase = LLVMBuildNSWMul(b, r, cg_i64(cg, oplane), ""); /* (n*M + m) */
    if (d->rows) {
        LLVMValueRef oh = cg_for_begin(cg, &loh, cg_i64(cg, 0), cg_i64(cg, c->O[1]), cg_i64(cg, 1), "oh");
        LLVMValueRef rowat = LLVMBuildNSWMul(b, oh, cg_i64(cg, c->S[1] * d->Wp), "");
        LLVMValueRef yrow = mul_add(cg, oh, c->O[2], ybase);
        int64_t span[2][2];
        for (int si = 0, ns = cg_vec_spans(0, c->O[2], QDW_LANES, span); si < ns; si++) {
            LLVMValueRef ow0 = cg_for_begin(cg, &low, cg_i64(cg, span[si][0]), cg_i64(cg, span[si][1]),
                                            cg_i64(cg, QDW_LANES), "ow");
            qdw_vector(cg, n, c, d, buf, rowat, 0, ow0, wv, &o, Y, LLVMBuildNSWAdd(b, yrow, ow0, ""));
            cg_for_end(cg, &low);
        }
        cg_for_end(cg, &loh);
    } else {
        for (int v = 0; v < d->nvec; v++)
            qdw_vector(cg, n, c, d, buf, cg_i64(cg, 0), d->q0[v], NULL, wv, &o, Y,
                       LLVMBuildNSWAdd(b, ybase, cg_i64(cg, d->q0[v]), ""));
    }
    cg_par_end(cg, &par);
    return true;
}

/* ---- depthwise int8 on i16 pairs (x86 pmaddwd) ---------------------------
 * The same convolutions on x86 without the kernel above (AVX2 as on Zen 3,
 * SSE2, AVX-512 without VBMI), with any constant u8/s8 weights and weight
 * zero points. The plane (n, m) is copied into a stack buffer as i16
 * x - x_zp, padded with 0 (the padding's taps add nothing). A vector of L
 * i32 outputs takes, per kernel row and per 2 adjacent kernel columns,
 * one load of 2L i16 and one pmaddwd with the word of the 2 weights
 * (w - w_zp): 2 taps of L outputs in 2 instructions, the load folded into
 * pmaddwd. A load at element e holds in its i32 lane l the pair
 * (x[e + 2l], x[e + 2l + 1]): the 2 taps of output l at stride 2, of output
 * 2l at stride 1 - so at stride 1 a block is 2 vectors, the even and the
 * odd outputs (loads from e and e + 1), shuffled into order once. Dilated
 * columns take one tap per pmaddwd (the partner's weight 0). Unit strides
 * run the plane as one row of OH x Wp outputs (an output row's pitch is
 * the padded input row's), so that small planes (7x7, 14x14) fill whole
 * vectors; those results go through a buffer, then OW of each row to Y.
 * Other strides run along each output row, the last block overlapping. */
enum { QDP_PLANE_MAX = 98304, QDP_OUT_MAX = 65536 }; /* stack bytes */

typedef struct QDp {
    int L, nsub;    /* i32 lanes a vector; vectors a block (stride 1: 2) */
    bool pairs;     /* 2 adjacent columns a weight word (dilation 1), else 1 */
    int npair;      /* weight words a kernel row */
    bool flat;      /* unit strides: the plane as one run of blocks */
    int64_t Hp, Wp; /* the padded plane */
    int64_t nblk;   /* flat: the run's blocks */
    int64_t len;    /* i16 elements of the buffer: the plane and what the last loads reach */
} QDp;

/* The element offset of weight word p of kernel row kh from an output's
 * window start. */
/* The operands of the pair kernels (depthwise and pointwise): QLinearConv
 * to u8 or s8, ConvInteger to i32 or with its epilogue to f32 (cg_int_out);
 * constant u8/s8 weights and weight zero points. */
static bool qconst_operands(const Node *n, const QConv *c)
{
    if (c->ql ? c->ty != DT_U8 && c->ty != DT_I8 : c->ty != (n->nin > 5 && n->in[5] ? DT_F32 : DT_I32))
        return false;
    const Value *w = n->in[c->iw], *wz = n->nin > c->iwz ? n->in[c->iwz] : NULL;
    return w->kind == VAL_CONST && (w->dtype == DT_I8 || w->dtype == DT_U8) && (!wz || wz->kind == VAL_CONST);
}

static int64_t qdp_tap(const QConv *c, const QDp *d, int64_t kh, int64_t p)
{
    return kh * c->D[1] * d->Wp + (d->pairs ? 2 * p : p) * c->D[2];
}

static bool qdp_plan(const Target *t, const Node *n, const QConv *c, QDp *d)
{
    if (t->gpu || t->arch != ARCH_X86_64 || c->Cg != 1 || c->Mg != 1 || c->S[2] > 2)
        return false;
    if (c->K[0] != 1 || c->I[0] != 1 || c->O[0] != 1 || (c->tx != DT_U8 && c->tx != DT_I8))
        return false;
    if (!qconst_operands(n, c))
        return false;
    d->pairs = c->D[2] == 1;
    d->npair = (int)(d->pairs ? (c->K[2] + 1) / 2 : c->K[2]);
    if (c->K[1] * d->npair > 32) /* the words stay in registers */
        return false;
    d->L = t->vector_bits >= 256 ? 8 : 4; /* 512-bit pmaddwd: not yet run anywhere */
    d->nsub = c->S[2] == 1 ? 2 : 1;
    d->flat = c->S[1] == 1 && c->S[2] == 1;
    cg_dw_padded(c->I, c->O, c->K, c->S, c->P, c->D, &d->Hp, &d->Wp);
    /* the furthest load: the last block's last vector at its last word */
    int64_t tapmax = qdp_tap(c, d, c->K[1] - 1, d->npair - 1), reach;
    if (d->flat) {
        int64_t B = 2 * d->L, run = (c->O[1] - 1) * d->Wp + c->O[2];
        d->nblk = (run + B - 1) / B;
        if (d->nblk * B * dtype_size(c->ty) > QDP_OUT_MAX)
            return false;
        reach = (d->nblk - 1) * B + 1 + tapmax + 2 * d->L;
    } else {
        if (c->O[2] < d->nsub * d->L) /* rows narrower than a block: vectors of 4 */
            d->L = 4;
        if (c->O[2] < d->nsub * d->L)
            return false;
        reach = (c->O[1] - 1) * c->S[1] * d->Wp + c->S[2] * (c->O[2] - d->nsub * d->L) + (d->nsub - 1) + tapmax +
                2 * d->L;
    }
    d->len = reach > d->Hp * d->Wp ? reach : d->Hp * d->Wp;
    return 2 * d->len <= QDP_PLANE_MAX;
}

/* acc + pmaddwd(x, w): L i32 lanes, each + x[2l] w[2l] + x[2l+1] w[2l+1]. */
static LLVMValueRef qdp_madd(Cg *cg, int L, LLVMValueRef acc, LLVMValueRef x, LLVMValueRef w)
{
    LLVMValueRef args[2] = {x, w};
    return LLVMBuildAdd(cg->b, acc, cg_intrin(cg, L == 8 ? "llvm.x86.avx2.pmadd.wd" : "llvm.x86.sse2.pmadd.wd", NULL, 0,
                                              args, 2), "");
}

/* One block: outputs from the one whose window starts at element `at` of
 * the plane, stored at Y[yi] (Y of the output's type). */
static void qdp_block(Cg *cg, const Node *n, const QConv *c, const QDp *d, LLVMValueRef buf, LLVMValueRef at,
                      const LLVMValueRef *wv, const QDwOut *o, LLVMValueRef Y, LLVMValueRef yi)
{
    LLVMBuilderRef b = cg->b;
    LLVMTypeRef v16 = LLVMVectorType(cg->i16, (unsigned)(2 * d->L));
    LLVMValueRef acc[2] = {0};
    for (int j = 0; j < d->nsub; j++) { /* stride 1: j = 0 the even outputs, 1 the odd */
        acc[j] = cg_splat(cg, o->corr, d->L);
        for (int64_t kh = 0; kh < c->K[1]; kh++)
            for (int64_t p = 0; p < d->npair; p++) {
                LLVMValueRef e = LLVMBuildNSWAdd(b, at, cg_i64(cg, j + qdp_tap(c, d, kh, p)), "");
                LLVMValueRef x = LLVMBuildLoad2(b, v16, cg_gep(cg, DT_I16, buf, e), "x");
                LLVMSetAlignment(x, 2);
                acc[j] = qdp_madd(cg, d->L, acc[j], x, wv[kh * d->npair + p]);
            }
    }
    LLVMValueRef all = acc[0];
    if (d->nsub == 2) {
        LLVMValueRef idx[16];
        for (int i = 0; i < 2 * d->L; i++)
            idx[i] = cg_i32(cg, (i % 2) * d->L + i / 2);
        all = LLVMBuildShuffleVector(b, acc[0], acc[1], LLVMConstVector(idx, (unsigned)(2 * d->L)), "");
    }
    qdw_store(cg, n, c, o, all, Y, yi);
}

static bool qconv_dw_pairs(Cg *cg, const Node *n, const QConv *c, const QDp *d)
{
    LLVMBuilderRef b = cg->b;
    LLVMValueRef X = cg->arg[c->ix], Y = cg->arg[n->nin];
    const Value *w = n->in[c->iw], *wz = n->nin > c->iwz ? n->in[c->iwz] : NULL;
    int64_t KH = c->K[1], KW = c->K[2], nw = KH * d->npair;
    /* compile time: [m][kh][p] words of 2 i16 weights w - w_zp (0 past KW) */
    uint32_t *words = calloc((size_t)(c->M * nw), sizeof(uint32_t));
    if (!words)
        return false;
    for (int64_t m = 0; m < c->M; m++)
        for (int64_t kh = 0; kh < KH; kh++)
            for (int64_t kw = 0; kw < KW; kw++) {
                int32_t v = qconst(w, (m * KH + kh) * KW + kw) - qconst_wzp(wz, m);
                int64_t p = d->pairs ? kw / 2 : kw, half = d->pairs ? kw % 2 : 0;
                words[(m * KH + kh) * d->npair + p] |= (uint32_t)(uint16_t)(int16_t)v << (16 * half);
            }
    LLVMValueRef WW = cg_const_blob(cg, "qk.dwpairs", words, sizeof(uint32_t) * (size_t)(c->M * nw));
    free(words);
    cg_packed_input(cg, c->iw);

    int64_t iplane = c->I[1] * c->I[2], oplane = c->O[1] * c->O[2], B = d->nsub * d->L;
    LLVMValueRef buf = cg_alloca(cg, LLVMArrayType2(cg->i16, (uint64_t)d->len), "plane");
    LLVMSetAlignment(buf, 64);
    LLVMValueRef tmp = NULL;
    if (d->flat) {
        tmp = cg_alloca(cg, LLVMArrayType2(cg_mem_type(cg, c->ty), (uint64_t)(d->nblk * B)), "out");
        LLVMSetAlignment(tmp, 64);
    }
    CgLoop par, lr, lc, lk, loh, low;
    LLVMValueRef r = cg_par_begin(cg, &par, c->batch ? 0 : c->N_static * c->M, c->batch ? c->M : 0);
    LLVMValueRef m = LLVMBuildURem(b, r, cg_i64(cg, c->M), "m");
    /* the padded plane: 0 everywhere, then the input rows as x - x_zp */
    LLVMValueRef xzp = cg_qparam(cg, n, c->ixz, cg_i64(cg, 0), false);
    LLVMValueRef xzp16 = LLVMBuildTrunc(b, xzp, cg->i16, "");
    LLVMBuildMemSet(b, buf, LLVMConstInt(cg->i8, 0, 0), cg_i64(cg, 2 * d->len), 64);
    LLVMValueRef xplane = cg_gep(cg, c->tx, X, LLVMBuildNSWMul(b, r, cg_i64(cg, iplane), "")); /* (n*C + m): C == M */
    LLVMValueRef ih = cg_for_begin(cg, &lr, cg_i64(cg, 0), cg_i64(cg, c->I[1]), cg_i64(cg, 1), "ih");
    LLVMValueRef dst = cg_gep(cg, DT_I16, buf, mul_add(cg, LLVMBuildNSWAdd(b, ih, cg_i64(cg, c->P[1]), ""), d->Wp,
                                                       cg_i64(cg, c->P[2])));
    LLVMValueRef src = cg_gep(cg, c->tx, xplane, LLVMBuildNSWMul(b, ih, cg_i64(cg, c->I[2]), ""));
    LLVMValueRef iw = cg_for_begin(cg, &lc, cg_i64(cg, 0), cg_i64(cg, c->I[2]), cg_i64(cg, 1), "iw");
    LLVMValueRef x = cg_load(cg, c->tx, src, iw);
    x = c->tx == DT_U8 ? LLVMBuildZExt(b, x, cg->i16, "") : LLVMBuildSExt(b, x, cg->i16, "");
    cg_store(cg, DT_I16, dst, iw, LLVMBuildSub(b, x, xzp16, ""));
    cg_for_end(cg, &lc);
    cg_for_end(cg, &lr);
    /* per channel: the weight words, the epilogue */
    LLVMValueRef wv[32];
    LLVMTypeRef v16 = LLVMVectorType(cg->i16, (unsigned)(2 * d->L));
    for (int64_t i = 0; i < nw; i++)
        wv[i] = LLVMBuildBitCast(b, cg_splat(cg, cg_load(cg, DT_I32, WW, mul_add(cg, m, nw, cg_i64(cg, i))), d->L), v16,
                                 "");
    QDwOut o = qdw_out(cg, n, c, m, cg_i32(cg, 0));
    LLVMValueRef ybase = LLVMBuildNSWMul(b, r, cg_i64(cg, oplane), ""); /* (n*M + m) */
    if (d->flat) { /* the run's blocks into tmp, then each row's OW outputs */
        LLVMValueRef q0 = cg_for_begin(cg, &lk, cg_i64(cg, 0), cg_i64(cg, d->nblk * B), cg_i64(cg, B), "q");
        qdp_block(cg, n, c, d, buf, q0, wv, &o, tmp, q0);
        cg_for_end(cg, &lk);
        LLVMValueRef oh = cg_for_begin(cg, &loh, cg_i64(cg, 0), cg_i64(cg, c->O[1]), cg_i64(cg, 1), "oh");
        int64_t es = dtype_size(c->ty);
        LLVMBuildMemCpy(b, cg_gep(cg, c->ty, Y, mul_add(cg, oh, c->O[2], ybase)), 1,
                        cg_gep(cg, c->ty, tmp, LLVMBuildNSWMul(b, oh, cg_i64(cg, d->Wp), "")), 1,
                        cg_i64(cg, c->O[2] * es));
        cg_for_end(cg, &loh);
    } else {
        LLVMValueRef oh = cg_for_begin(cg, &loh, cg_i64(cg, 0), cg_i64(cg, c->O[1]), cg_i64(cg, 1), "oh");
        LLVMValueRef rowat = LLVMBuildNSWMul(b, oh, cg_i64(cg, c->S[1] * d->Wp), "");
        LLVMValueRef yrow = mul_add(cg, oh, c->O[2], ybase);
        int64_t span[2][2];
        for (int si = 0, ns = cg_vec_spans(0, c->O[2], (int)B, span); si < ns; si++) {
            LLVMValueRef ow0 = cg_for_begin(cg, &low, cg_i64(cg, span[si][0]), cg_i64(cg, span[si][1]), cg_i64(cg, B),
                                            "ow");
            LLVMValueRef at = LLVMBuildNSWAdd(b, rowat, LLVMBuildNSWMul(b, ow0, cg_i64(cg, c->S[2]), ""), "");
            qdp_block(cg, n, c, d, buf, at, wv, &o, Y, LLVMBuildNSWAdd(b, yrow, ow0, ""));
            cg_for_end(cg, &low);
        }
        cg_for_end(cg, &loh);
    }
    cg_par_end(cg, &par);
    return true;
}

/* ---- pointwise int8 on i16 pairs (x86 pmaddwd) ----------------------------
 * A 1x1 ConvInteger/QLinearConv (stride 1, unpadded, one group) with
 * constant weights and weight zero points, on x86 whose int8 dot is
 * pmaddwd, as the product Y[n] = W' X[n] of the NCHW rows themselves
 * (k_pw.c's f32 tiles in exact integers): W' = w - w_zp packed at compile
 * time as words of 2 i16 weights, [tile][k/2][MR]; per block of 2L
 * pixels, each pair of input channels has its 2 rows widened to i16 and
 * interleaved once (unpack low and high: pixel pairs in each 128-bit lane,
 * put back in order once per stored row) into a buffer the block's tiles
 * share; per pair, each of MR output channels takes one broadcast word
 * and 2 pmaddwd. x is taken as it is, so
 *   sum (x - x_zp) w' = sum x w' - x_zp sum w'
 * with sum w' per channel from compile time. The parallel index runs over
 * (image, block of 2L pixels), the last block overlapping the one before
 * and storing only its new pixels. */
enum { QPW_MR = 6, QPW_MAX_WEIGHT_BYTES = 256 << 10, QPW_MAX_PAIR_BYTES = 64 << 10, QPW_MAX_K = 48, QPW_MAX_K_NARROW = 192 };

typedef struct QPw {
    int L;          /* i32 lanes: a block is 2L pixels, two vectors of pairs */
    int64_t K, M, P, kp, tiles;
} QPw;

static bool qpw_plan(const Target *t, const Node *n, const QConv *c, QPw *p)
{
    if (t->gpu || t->arch != ARCH_X86_64 || t->dot != DOT_PMADDWD || t->vector_bits > 256 || c->G != 1)
        return false;
    if (c->tx != DT_U8 && c->tx != DT_I8)
        return false;
    if (!qconst_operands(n, c))
        return false;
    if (n->a.nsp > 2 || shape_rows(&n->in[c->ix]->shape) > 1)
        return false;
    for (int i = 0; i < 3; i++)
        if (c->K[i] != 1 || c->S[i] != 1 || c->P[i] != 0 || c->O[i] != c->I[i])
            return false;
    for (int i = 0; i < n->a.nsp; i++)
        if (n->a.pads[n->a.nsp + i])
            return false;
    p->L = t->vector_bits >= 256 ? 8 : 4;
    p->K = c->C, p->M = c->M, p->P = c->I[0] * c->I[1] * c->I[2];
    p->kp = (p->K + 1) / 2;
    if (p->P < 4 * 2 * p->L || p->M * p->kp * 4 > QPW_MAX_WEIGHT_BYTES || p->kp * 8 * p->L * 2 > QPW_MAX_PAIR_BYTES)
        return false;
    /* where k_mm.c's tiles lose (measured on Zen 3): few input channels,
     * whose products are small next to the transposes and the epilogue,
     * or fewer output channels than two of its panels (columns wasted);
     * with 64 or more channels and wide outputs its tiles are faster */
    if (!(p->K <= QPW_MAX_K || (p->M < 4 * p->L && p->K <= QPW_MAX_K_NARROW)))
        return false;
    p->tiles = (p->M + QPW_MR - 1) / QPW_MR;
    return true;
}

/* The block's inputs at p0 of image nn, for every pair of input channels:
 * the 2L pixels of both rows widened to i16 and interleaved (unpack low
 * and high: pixel pairs in each 128-bit lane), into bb[k/2][2][2L] once
 * for all the block's tiles. */
static void qpw_pairs(Cg *cg, const QConv *c, const QPw *p, LLVMValueRef xb, LLVMValueRef p0, LLVMValueRef bb)
{
    LLVMBuilderRef b = cg->b;
    int L = p->L;
    LLVMTypeRef vb = LLVMVectorType(cg->i8, (unsigned)(2 * L)), vh = LLVMVectorType(cg->i16, (unsigned)(2 * L));
    /* the unpacks: pixel pairs (a[8h + i], b[8h + i]) of each 128-bit lane h,
     * i in 0..3 (lo) or 4..7 (hi) */
    LLVMValueRef ilo[32], ihi[32];
    for (int h = 0; h < L / 4; h++)
        for (int i = 0; i < 4; i++) {
            ilo[8 * h + 2 * i] = cg_i32(cg, 8 * h + i), ilo[8 * h + 2 * i + 1] = cg_i32(cg, 2 * L + 8 * h + i);
            ihi[8 * h + 2 * i] = cg_i32(cg, 8 * h + 4 + i), ihi[8 * h + 2 * i + 1] = cg_i32(cg, 2 * L + 8 * h + 4 + i);
        }
    CgLoop lk;
    LLVMValueRef kq = cg_for_begin(cg, &lk, cg_i64(cg, 0), cg_i64(cg, p->kp), cg_i64(cg, 1), "kq");
    LLVMValueRef k0 = LLVMBuildNSWMul(b, kq, cg_i64(cg, 2), "");
    LLVMValueRef xv[2];
    for (int j = 0; j < 2; j++) { /* rows k0 and k0 + 1 (odd K: the last row twice, its weight 0) */
        LLVMValueRef k = j ? LLVMBuildNSWAdd(b, k0, cg_i64(cg, 1), "") : k0;
        if (j && p->K % 2)
            k = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, k, cg_i64(cg, p->K), ""), k, k0, "");
        LLVMValueRef at = LLVMBuildNSWAdd(b, xb, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, k, cg_i64(cg, p->P), ""), p0, ""), "");
        LLVMValueRef x = LLVMBuildLoad2(b, vb, cg_gep(cg, c->tx, cg->arg[c->ix], at), "x");
        LLVMSetAlignment(x, 1);
        xv[j] = c->tx == DT_U8 ? LLVMBuildZExt(b, x, vh, "") : LLVMBuildSExt(b, x, vh, "");
    }
    LLVMValueRef pr[2] = {LLVMBuildShuffleVector(b, xv[0], xv[1], LLVMConstVector(ilo, (unsigned)(2 * L)), "lo"),
                          LLVMBuildShuffleVector(b, xv[0], xv[1], LLVMConstVector(ihi, (unsigned)(2 * L)), "hi")};
    for (int h = 0; h < 2; h++) {
        LLVMValueRef at = LLVMBuildNSWMul(b, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, kq, cg_i64(cg, 2), ""), cg_i64(cg, h), ""),
                                          cg_i64(cg, 2 * L), "");
        LLVMValueRef st = LLVMBuildStore(b, pr[h], cg_gep(cg, DT_I16, bb, at));
        LLVMSetAlignment(st, 32);
    }
    cg_for_end(cg, &lk);
}

/* One tile of output channels [co0, co0 + MR) over the block's pairs bb
 * (pixels from p0 of Y's image at yb); tail > 0: only the block's last
 * `tail` pixels are stored. */
static void qpw_tile(Cg *cg, const Node *n, const QConv *c, const QPw *p, LLVMValueRef WP, LLVMValueRef WS,
                     LLVMValueRef MT, bool mfin, LLVMValueRef xzp, LLVMValueRef bb, LLVMValueRef yb,
                     LLVMValueRef tile, LLVMValueRef p0, int64_t tail)
{
    LLVMBuilderRef b = cg->b;
    int L = p->L;
    LLVMTypeRef vi = LLVMVectorType(cg->i32, (unsigned)L);
    LLVMTypeRef vh = LLVMVectorType(cg->i16, (unsigned)(2 * L));
    LLVMValueRef acc[QPW_MR][2];
    for (int i = 0; i < QPW_MR; i++)
        for (int h = 0; h < 2; h++) {
            acc[i][h] = cg_alloca(cg, vi, "acc");
            LLVMBuildStore(b, LLVMConstNull(vi), acc[i][h]);
        }
    LLVMValueRef wt = LLVMBuildNSWMul(b, tile, cg_i64(cg, p->kp * QPW_MR), "");
    CgLoop lk;
    LLVMValueRef kq = cg_for_begin(cg, &lk, cg_i64(cg, 0), cg_i64(cg, p->kp), cg_i64(cg, 1), "kq");
    LLVMValueRef pr[2];
    for (int h = 0; h < 2; h++) {
        pr[h] = LLVMBuildLoad2(b, vh, cg_gep(cg, DT_I16, bb, LLVMBuildNSWMul(b, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, kq,
                                                                                                        cg_i64(cg, 2), ""),
                                                                                          cg_i64(cg, h), ""),
                                                                            cg_i64(cg, 2 * L), "")), "pairs");
        LLVMSetAlignment(pr[h], 32);
    }
    LLVMValueRef wk = LLVMBuildNSWAdd(b, wt, LLVMBuildNSWMul(b, kq, cg_i64(cg, QPW_MR), ""), "");
    for (int i = 0; i < QPW_MR; i++) {
        LLVMValueRef wv = cg_splat(cg, cg_load(cg, DT_I32, WP, LLVMBuildNSWAdd(b, wk, cg_i64(cg, i), "")), L);
        wv = LLVMBuildBitCast(b, wv, vh, "");
        for (int h = 0; h < 2; h++)
            LLVMBuildStore(b, qdp_madd(cg, L, LLVMBuildLoad2(b, vi, acc[i][h], ""), pr[h], wv), acc[i][h]);
    }
    cg_for_end(cg, &lk);
    /* the rows in pixel order, + the correction, requantized (or the
     * ConvInteger epilogue), stored (masked: an overlapping block's tail) */
    LLVMValueRef order[32];
    for (int q = 0; q < 2 * L; q++) /* pixel q: lane 4h + r of lo (r < 4) or hi */
        order[q] = cg_i32(cg, (q % 8 < 4 ? 0 : L) + 4 * (q / 8) + q % 4);
    LLVMValueRef co0 = LLVMBuildNSWMul(b, tile, cg_i64(cg, QPW_MR), "");
    for (int i = 0; i < QPW_MR; i++) {
        LLVMValueRef co = LLVMBuildNSWAdd(b, co0, cg_i64(cg, i), "co");
        CgIf in;
        bool partial = p->M % QPW_MR && i >= p->M % QPW_MR;
        if (partial) /* (rows past M in the last tile) */
            cg_if_begin(cg, &in, LLVMBuildICmp(b, LLVMIntSLT, co, cg_i64(cg, p->M), ""));
        LLVMValueRef corr = LLVMBuildNSWMul(b, LLVMBuildNeg(b, xzp, ""), cg_load(cg, DT_I32, WS, co), "");
        QDwOut o = qdw_out(cg, n, c, co, corr);
        if (MT) /* the multipliers from compile time */
            o.mult = cg_load(cg, DT_F64, MT, co), o.mult_finite = mfin;
        LLVMValueRef all = LLVMBuildShuffleVector(b, LLVMBuildLoad2(b, vi, acc[i][0], ""), LLVMBuildLoad2(b, vi, acc[i][1], ""),
                                                  LLVMConstVector(order, (unsigned)(2 * L)), "");
        all = LLVMBuildAdd(b, all, cg_splat(cg, o.corr, 2 * L), "");
        LLVMValueRef yi = LLVMBuildNSWAdd(b, yb, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, co, cg_i64(cg, p->P), ""), p0, ""), "");
        if (!tail) {
            qdw_store(cg, n, c, &o, all, cg->arg[n->nin], yi);
        } else { /* (the last tail pixels: new; the rest the block before stored) */
            LLVMValueRef v = qdw_value(cg, n, c, &o, all), mask[32];
            for (int q = 0; q < 2 * L; q++)
                mask[q] = LLVMConstInt(cg->i1, q >= 2 * L - tail, 0);
            LLVMTypeRef ovl[2] = {LLVMTypeOf(v), cg->ptr};
            LLVMValueRef args[4] = {v, cg_gep(cg, c->ty, cg->arg[n->nin], yi), cg_i32(cg, 1),
                                    LLVMConstVector(mask, (unsigned)(2 * L))};
            cg_intrin(cg, "llvm.masked.store", ovl, 2, args, 4);
        }
        if (partial)
            cg_if_end(cg, &in);
    }
}

typedef struct QPwBlock {
    const Node *n;
    const QConv *c;
    const QPw *p;
    LLVMValueRef WP, WS, MT, bb, xzp;
    bool mfin;
} QPwBlock;

/* A block (cg_pw_blocks): its pairs, then every tile of output channels. */
static void qpw_block(Cg *cg, void *ctx, LLVMValueRef nn, LLVMValueRef p0, int64_t tail)
{
    const QPwBlock *k = ctx;
    const QPw *p = k->p;
    LLVMBuilderRef b = cg->b;
    LLVMValueRef xb = LLVMBuildNSWMul(b, nn, cg_i64(cg, p->K * p->P), ""), yb = LLVMBuildNSWMul(b, nn, cg_i64(cg, p->M * p->P), "");
    qpw_pairs(cg, k->c, p, xb, p0, k->bb);
    CgLoop lt;
    LLVMValueRef t = cg_for_begin(cg, &lt, cg_i64(cg, 0), cg_i64(cg, p->tiles), cg_i64(cg, 1), "tile");
    qpw_tile(cg, k->n, k->c, p, k->WP, k->WS, k->MT, k->mfin, k->xzp, k->bb, yb, t, p0, tail);
    cg_for_end(cg, &lt);
}

static bool qconv_pw(Cg *cg, const Node *n, const QConv *c, const QPw *p)
{
    const Value *w = n->in[c->iw], *wz = n->nin > c->iwz ? n->in[c->iwz] : NULL;
    /* compile time: words of (w - w_zp) pairs [tile][k/2][MR] (0 past K and
     * M), sum (w - w_zp) per output channel */
    size_t nwords = (size_t)(p->tiles * p->kp * QPW_MR);
    uint32_t *words = calloc(nwords, sizeof(uint32_t));
    int32_t *wsum = calloc((size_t)p->tiles * QPW_MR, sizeof(int32_t));
    if (!words || !wsum) {
        free(words);
        free(wsum);
        return false;
    }
    for (int64_t co = 0; co < p->M; co++)
        for (int64_t k = 0; k < p->K; k++) {
            int32_t v = qconst(w, co * p->K + k) - qconst_wzp(wz, co);
            words[((co / QPW_MR) * p->kp + k / 2) * QPW_MR + co % QPW_MR] |= (uint32_t)(uint16_t)(int16_t)v << (16 * (k % 2));
            wsum[co] += v;
        }
    /* QLinearConv with constant scales: the multipliers as the interpreter's
     * f32 (interp_req_scale), tabled as f64 */
    LLVMValueRef MT = NULL;
    bool mfin = true;
    const Value *xs = c->ql ? n->in[1] : NULL, *ws = c->ql ? n->in[4] : NULL, *ys = c->ql ? n->in[6] : NULL;
    if (xs && ws && ys && xs->kind == VAL_CONST && ws->kind == VAL_CONST && ys->kind == VAL_CONST &&
        xs->dtype == DT_F32 && ws->dtype == DT_F32 && ys->dtype == DT_F32) {
        double *mt = calloc((size_t)p->tiles * QPW_MR, sizeof(double));
        if (mt) {
            int64_t nws = shape_numel(&ws->shape);
            for (int64_t co = 0; co < p->M; co++) {
                float mj = interp_req_scale(((const float *)xs->data)[0], ((const float *)ws->data)[nws == 1 ? 0 : co],
                                            ((const float *)ys->data)[0]);
                mt[co] = mj;
                mfin = mfin && isfinite(mj);
            }
            MT = cg_const_blob(cg, "qk.pwmult", mt, sizeof(double) * (size_t)p->tiles * QPW_MR);
            free(mt);
        }
    }
    LLVMValueRef WP = cg_const_blob(cg, "qk.pwpairs", words, nwords * sizeof(uint32_t));
    LLVMValueRef WS = cg_const_blob(cg, "qk.pwsum", wsum, sizeof(int32_t) * (size_t)p->tiles * QPW_MR);
    free(words);
    free(wsum);
    cg_packed_input(cg, c->iw);

    int64_t NB = 2 * p->L;
    QPwBlock blk = {.n = n, .c = c, .p = p, .WP = WP, .WS = WS, .MT = MT, .mfin = mfin};
    blk.bb = cg_alloca(cg, LLVMArrayType2(cg->i16, (uint64_t)(p->kp * 2 * NB)), "pairs");
    LLVMSetAlignment(blk.bb, 64);
    blk.xzp = cg_qparam(cg, n, c->ixz, cg_i64(cg, 0), false);
    cg_pw_blocks(cg, c->batch, c->N_static, p->P, NB, qpw_block, &blk);
    return true;
}

CgResult cg_k_qpw(Cg *cg, const Node *n)
{
    QConv c;
    QPw p;
    if (n->op != OP_QLINEAR_CONV && n->op != OP_CONV_INTEGER)
        return CG_DECLINE;
    qconv_describe(n, &c);
    if (!qpw_plan(cg->t, n, &c, &p))
        return CG_DECLINE;
    if (!qconv_pw(cg, n, &c, &p)) {
        diag_error(cg->d, n->loc, "out of memory packing the weights");
        return CG_FAIL;
    }
    return CG_DONE;
}

const char *cg_qpw_tag(const Target *t, const Node *n, char *buf, size_t len)
{
    QConv c;
    QPw p;
    if (n->op != OP_QLINEAR_CONV && n->op != OP_CONV_INTEGER)
        return NULL;
    qconv_describe(n, &c);
    if (!qpw_plan(t, n, &c, &p))
        return NULL;
    snprintf(buf, len, "pw%dx%dc2", QPW_MR, 2 * p.L);
    return buf;
}

/* The depthwise kernel's tag: dw16c4 (byte permutes, 4-way dots), dw8c2 or
 * dw4c2 (i16 pairs, L lanes). */
const char *cg_qdw_tag(const Target *t, const Node *n, char *buf, size_t len)
{
    QConv c;
    QDw d;
    QDp p;
    if (n->op != OP_QLINEAR_CONV && n->op != OP_CONV_INTEGER)
        return NULL;
    qconv_describe(n, &c);
    if (qdw_plan(t, n, &c, &d))
        snprintf(buf, len, "dw%dc4", QDW_LANES);
    else if (qdp_plan(t, n, &c, &p))
        snprintf(buf, len, "dw%dc2", p.L);
    else
        return NULL;
    return buf;
}

bool cg_k_qconv(Cg *cg, const Node *n)
{
    QConv c;
    qconv_describe(n, &c);
    LLVMBuilderRef b = cg->b;
    QDw dw;
    if (qdw_plan(cg->t, n, &c, &dw) && qconv_dw_dot(cg, n, &c, &dw))
        return true;
    QDp dp;
    if (qdp_plan(cg->t, n, &c, &dp) && qconv_dw_pairs(cg, n, &c, &dp))
        return true;
    DType pt;
    LLVMValueRef wp = pack_qweights(cg, n, &c, &pt);
    if (wp) {
        cg_packed_input(cg, c.iw);
        qconv_channels(cg, n, &c, wp, pt);
        return true;
    }
    if (!cg->t->gpu && c.O[2] <= QROW_MAX) {
        qconv_rows(cg, n, &c);
        return true;
    }
    int64_t plane = c.O[0] * c.O[1] * c.O[2], per_n = c.M * plane;
    CgLoop par;
    LLVMValueRef idx = cg_par_begin(cg, &par, c.batch ? 0 : c.N_static * per_n, c.batch ? per_n : 0);
    LLVMValueRef nm = LLVMBuildUDiv(b, idx, cg_i64(cg, plane), ""), pos = LLVMBuildURem(b, idx, cg_i64(cg, plane), "");
    LLVMValueRef nn = LLVMBuildUDiv(b, nm, cg_i64(cg, c.M), "n"), m = LLVMBuildURem(b, nm, cg_i64(cg, c.M), "m");
    LLVMValueRef o[3];
    o[2] = LLVMBuildURem(b, pos, cg_i64(cg, c.O[2]), "");
    LLVMValueRef t = LLVMBuildUDiv(b, pos, cg_i64(cg, c.O[2]), "");
    o[1] = LLVMBuildURem(b, t, cg_i64(cg, c.O[1]), "");
    o[0] = LLVMBuildUDiv(b, t, cg_i64(cg, c.O[1]), "");
    qconv_one(cg, n, &c, nn, m, o, idx);
    cg_par_end(cg, &par);
    return true;
}

/* ---- QLinearAdd ---------------------------------------------------------- */

typedef struct QAddCtx {
    const Node *n;
    DType t;
    LLVMValueRef ra, rb, azp, bzp, ys, yzp;
} QAddCtx;

static void qadd_body(Cg *cg, void *vctx, LLVMValueRef *off)
{
    QAddCtx *c = vctx;
    LLVMBuilderRef b = cg->b;
    LLVMValueRef a = LLVMBuildSub(b, cg_widen_i32(cg, c->t, cg_load(cg, c->t, cg->arg[0], off[1])), c->azp, "");
    LLVMValueRef bb = LLVMBuildSub(b, cg_widen_i32(cg, c->t, cg_load(cg, c->t, cg->arg[3], off[2])), c->bzp, "");
    LLVMValueRef va = LLVMBuildFMul(b, LLVMBuildSIToFP(b, a, cg->f32, ""), c->ra, "");
    LLVMValueRef vb = LLVMBuildFMul(b, LLVMBuildSIToFP(b, bb, cg->f32, ""), c->rb, "");
    LLVMValueRef v = cg_rne(cg, LLVMBuildFAdd(b, va, vb, ""));
    /* |v| <= 2^9 * max ratio: clamp in float, then add the zero point */
    LLVMValueRef lim = cg_f32(cg, 1073741824.0f);
    v = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, v, lim, ""), lim, v, "");
    v = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLT, v, LLVMBuildFNeg(b, lim, ""), ""), LLVMBuildFNeg(b, lim, ""), v, "");
    v = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealUNO, v, v, ""), cg_f32(cg, 0), v, "");
    LLVMValueRef q = LLVMBuildAdd(b, LLVMBuildFPToSI(b, v, cg->i32, ""), c->yzp, "");
    LLVMValueRef qmin, qmax;
    cg_qrange(cg, c->t, &qmin, &qmax);
    q = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, q, qmin, ""), qmin, q, "");
    q = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSGT, q, qmax, ""), qmax, q, "");
    q = cg_qact(cg, &c->n->a, q, c->ys, c->yzp, c->t);
    cg_store(cg, c->t, cg->arg[c->n->nin], off[0], LLVMBuildTrunc(b, q, cg_mem_type(cg, c->t), ""));
}

bool cg_k_qadd(Cg *cg, const Node *n)
{
    LLVMBuilderRef b = cg->b;
    LLVMValueRef z = cg_i64(cg, 0);
    QAddCtx c = {n, n->out[0]->dtype};
    /* the parameters are scalars: read once, before the loop */
    LLVMValueRef as = cg_qparam(cg, n, 1, z, true), bs = cg_qparam(cg, n, 4, z, true);
    c.ys = cg_qparam(cg, n, 6, z, true);
    c.azp = cg_qparam(cg, n, 2, z, false), c.bzp = cg_qparam(cg, n, 5, z, false), c.yzp = cg_qparam(cg, n, 7, z, false);
    c.ra = LLVMBuildFDiv(b, as, c.ys, "ra");
    c.rb = LLVMBuildFDiv(b, bs, c.ys, "rb");
    Nest ns;
    cg_nest_init(&ns, &n->out[0]->shape);
    cg_nest_operand(&ns, &n->out[0]->shape);
    cg_nest_operand(&ns, &n->in[0]->shape);
    cg_nest_operand(&ns, &n->in[3]->shape);
    cg_nest_collapse(&ns);
    cg_nest_emit(cg, &ns, qadd_body, &c);
    return true;
}

/* ---- QLinearGlobalAveragePool -------------------------------------------- */

bool cg_k_qgap(Cg *cg, const Node *n)
{
    const Shape *xs = &n->in[0]->shape;
    DType t = n->in[0]->dtype;
    bool batch = shape_has_batch(xs);
    int64_t planes = (batch ? 1 : xs->d[0]) * xs->d[1], size = 1;
    for (int i = 2; i < xs->rank; i++)
        size *= xs->d[i];
    LLVMBuilderRef b = cg->b;
    LLVMValueRef z = cg_i64(cg, 0);
    CgLoop par, l;
    LLVMValueRef plane = cg_par_begin(cg, &par, batch ? 0 : planes, batch ? xs->d[1] : 0);
    LLVMValueRef xzp = cg_qparam(cg, n, 2, z, false), yzp = cg_qparam(cg, n, 4, z, false);
    LLVMValueRef xsc = cg_qparam(cg, n, 1, z, true), ysc = cg_qparam(cg, n, 3, z, true);
    LLVMValueRef acc = cg_alloca(cg, cg->i32, "acc");
    LLVMBuildStore(b, cg_i32(cg, 0), acc);
    LLVMValueRef base = LLVMBuildNSWMul(b, plane, cg_i64(cg, size), "");
    LLVMValueRef i = cg_for_begin(cg, &l, cg_i64(cg, 0), cg_i64(cg, size), cg_i64(cg, 1), "i");
    LLVMValueRef x = LLVMBuildSub(b, cg_widen_i32(cg, t, cg_load(cg, t, cg->arg[0], LLVMBuildNSWAdd(b, base, i, ""))), xzp, "");
    LLVMBuildStore(b, LLVMBuildAdd(b, LLVMBuildLoad2(b, cg->i32, acc, ""), x, ""), acc);
    cg_for_end(cg, &l);
    /* M = f32(f32(x_s / y_s) / f32(n)) */
    LLVMValueRef mult = LLVMBuildFDiv(b, LLVMBuildFDiv(b, xsc, ysc, ""), cg_f32(cg, (float)size), "M");
    LLVMValueRef q = cg_requant(cg, LLVMBuildLoad2(b, cg->i32, acc, ""), mult, yzp, t);
    cg_store(cg, t, cg->arg[n->nin], plane, LLVMBuildTrunc(b, q, cg_mem_type(cg, t), ""));
    cg_par_end(cg, &par);
    return true;
}

/* k_conv.c — Conv (1-D to 3-D, grouped, strided, dilated, padded) with the
 * fused bias and activation.
 *
 * Every conv is seen as 3-D (a 1-D or 2-D conv has unit leading spatial
 * dims). The CPU kernels, chosen per layer:
 *  - channel-vectorized (constant weights, >= 8 output channels per
 *    group): weights packed at compile time as [g][ci][taps][m]; for each
 *    output pixel, accumulators for the group's output channels take one
 *    broadcast input value per tap (zero in the padding), so the inner loop
 *    is a unit-stride FMA over channels whatever the image size;
 *  - row-wise (depthwise and narrow convs): the parallel loop runs over
 *    output rows (n, m, od, oh); a row (f32, or for f16/bf16 outputs an
 *    f32 row buffer rounded once at the end) starts as the bias and accumulates
 *    w * x-row for each input channel and tap whose input row exists, over
 *    the output positions where the tap lands inside the input (bounds
 *    computed per tap: no padded buffer, no im2col); the inner loop runs
 *    along the row, which stays in L1 across the taps. A 2-D depthwise
 *    row's interior (where every tap lands inside) is one loop instead,
 *    the taps summed in registers in the same order and stored once with
 *    the activation; only its edges take the per-tap loops.
 *  - f32 depthwise planes (conv_dw_plane, first when it applies): a plane
 *    at a time from a zero-padded copy, vectors along the rows or, for
 *    planes narrower than a vector, across them; the row-wise kernel's sums.
 * GPU (and CPU for f64, or f16/bf16 rows wider than ROW_ACC_MAX): one
 * output element per iteration of the parallel loop, with bounds checks
 * per tap. */
#include <stdlib.h>
#include <string.h>

#include "cg.h"

typedef struct ConvDesc {
    DType dt;         /* storage type of x, w, bias, y */
    LLVMTypeRef ct;   /* accumulation type */
    int64_t N_static; /* batch extent when static */
    bool batch;
    int64_t C, M, G, Cg, Mg;
    int64_t I[3], O[3], K[3], S[3], P[3], D[3];
} ConvDesc;

static void describe(const Node *n, ConvDesc *c)
{
    const Shape *xs = &n->in[0]->shape, *ys = &n->out[0]->shape;
    const Attrs *a = &n->a;
    c->batch = shape_has_batch(xs);
    c->N_static = c->batch ? 1 : xs->d[0];
    c->C = xs->d[1];
    c->M = ys->d[1];
    c->G = a->group;
    c->Cg = c->C / c->G;
    c->Mg = c->M / c->G;
    int off = 3 - a->nsp;
    for (int i = 0; i < 3; i++) {
        int j = i - off;
        bool real = j >= 0;
        c->I[i] = real ? xs->d[2 + j] : 1;
        c->O[i] = real ? ys->d[2 + j] : 1;
        c->K[i] = real ? a->kernel[j] : 1;
        c->S[i] = real ? a->strides[j] : 1;
        c->P[i] = real ? a->pads[j] : 0; /* end pads only bound the output size */
        c->D[i] = real ? a->dilations[j] : 1;
    }
}

/* The fused activation in the accumulation type (exp/tanh run in f32). */
static LLVMValueRef act(Cg *cg, const Node *n, const ConvDesc *c, LLVMValueRef v)
{
    if (c->ct == cg->f64 && (n->a.act == ACT_SIGMOID || n->a.act == ACT_TANH))
        return LLVMBuildFPExt(cg->b, cg_act(cg, n->a.act, n->a.act_alpha, n->a.act_beta, LLVMBuildFPTrunc(cg->b, v, cg->f32, "")),
                              cg->f64, "");
    return cg_act(cg, n->a.act, n->a.act_alpha, n->a.act_beta, v);
}

/* Output range [lo, hi) where o*S - P + k*D lies in [0, I), for tap k. */
static void tap_range(Cg *cg, const ConvDesc *c, int dim, LLVMValueRef k, LLVMValueRef *lo, LLVMValueRef *hi)
{
    cg_tap_range(cg, c->I[dim], c->O[dim], c->S[dim], c->P[dim], c->D[dim], k, lo, hi);
}

/* input coordinate o*S - P + k*D */
static LLVMValueRef in_coord(Cg *cg, const ConvDesc *c, int dim, LLVMValueRef o, LLVMValueRef k)
{
    LLVMBuilderRef b = cg->b;
    return LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, o, cg_i64(cg, c->S[dim]), ""),
                           LLVMBuildNSWSub(b, LLVMBuildNSWMul(b, k, cg_i64(cg, c->D[dim]), ""), cg_i64(cg, c->P[dim]), ""),
                           "");
}

static LLVMValueRef mul_add(Cg *cg, LLVMValueRef a, int64_t s, LLVMValueRef b)
{
    return LLVMBuildNSWAdd(cg->b, LLVMBuildNSWMul(cg->b, a, cg_i64(cg, s), ""), b, "");
}

/* A depthwise 2-D row's interior [lo, hi): the taps of every kernel row
 * whose input row exists, summed in registers in the order the tap loops
 * use (so the sums are the same) and stored once into yp (of the output's
 * type: f16/bf16 rounded once), the activation fused. */
static void depthwise_interior(Cg *cg, const Node *n, const ConvDesc *c, LLVMValueRef xp, LLVMValueRef W,
                               LLVMValueRef wbase, LLVMValueRef init, LLVMValueRef od, LLVMValueRef oh,
                               LLVMValueRef yp, int64_t lo, int64_t hi)
{
    LLVMBuilderRef b = cg->b;
    int64_t KH = c->K[1], KW = c->K[2];
    LLVMValueRef ok[64], xrow[64], w[64];
    LLVMValueRef id = in_coord(cg, c, 0, od, cg_i64(cg, 0));
    for (int64_t kh = 0; kh < KH; kh++) {
        LLVMValueRef ih = in_coord(cg, c, 1, oh, cg_i64(cg, kh));
        ok[kh] = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntULT, id, cg_i64(cg, c->I[0]), ""),
                              LLVMBuildICmp(b, LLVMIntULT, ih, cg_i64(cg, c->I[1]), ""), "");
        ih = LLVMBuildSelect(b, ok[kh], ih, cg_i64(cg, 0), ""); /* (a row that exists: its loads are unused) */
        xrow[kh] = LLVMBuildNSWMul(b, mul_add(cg, id, c->I[1], ih), cg_i64(cg, c->I[2]), "");
        for (int64_t kw = 0; kw < KW; kw++)
            w[kh * KW + kw] = cg_load(cg, c->dt, W, LLVMBuildNSWAdd(b, wbase, cg_i64(cg, kh * KW + kw), ""));
    }
    /* unit stride: whole vectors, the last one overlapping (cg_vec_spans),
     * no scalar rest (strided rows: LLVM's choice, measured better) */
    int V = c->S[2] == 1 ? cg_lanes32(cg->t) : 0;
    int64_t span[2][2];
    for (int si = 0, ns = cg_vec_spans(lo, hi, V, span); si < ns; si++) {
        CgLoop lo_;
        LLVMValueRef ow = cg_for_begin(cg, &lo_, cg_i64(cg, span[si][0]), cg_i64(cg, span[si][1]), cg_i64(cg, 1), "ow");
        LLVMValueRef acc = init;
        for (int64_t kh = 0; kh < KH; kh++) {
            LLVMValueRef sum = acc;
            for (int64_t kw = 0; kw < KW; kw++) {
                LLVMValueRef xi = LLVMBuildNSWAdd(b, xrow[kh], in_coord(cg, c, 2, ow, cg_i64(cg, kw)), "");
                sum = LLVMBuildFAdd(b, sum, LLVMBuildFMul(b, w[kh * KW + kw], cg_load(cg, c->dt, xp, xi), ""), "");
            }
            acc = LLVMBuildSelect(b, ok[kh], sum, acc, "");
        }
        cg_store(cg, c->dt, yp, ow, cg_act(cg, n->a.act, n->a.act_alpha, n->a.act_beta, acc));
        if (V && (span[si][1] - span[si][0]) % V == 0)
            lo_.vec_width = V;
        cg_for_end(cg, &lo_);
    }
}

/* The widest output row conv_cpu sums in a stack buffer (f16/bf16 outputs) */
enum { ROW_ACC_MAX = 16384 };

/* The row-wise kernel: each output row accumulates tap by tap (a span of
 * the row per tap) in f32: in the output itself when it is f32, else in a
 * row buffer rounded once to f16/bf16 at the end. */
static void conv_cpu(Cg *cg, const Node *n, const ConvDesc *c, LLVMValueRef X, LLVMValueRef W, LLVMValueRef B,
                     LLVMValueRef Y)
{
    LLVMBuilderRef b = cg->b;
    DType dt = c->dt;
    bool half = dt != DT_F32;
    LLVMValueRef rowacc = half ? cg_alloca(cg, LLVMArrayType2(cg->f32, (uint64_t)c->O[2]), "rowacc") : NULL;
    int64_t plane = c->O[0] * c->O[1] * c->O[2], iplane = c->I[0] * c->I[1] * c->I[2];
    int64_t taps = c->K[0] * c->K[1] * c->K[2], prow = c->O[0] * c->O[1], rows = c->M * prow;
    CgLoop par;
    LLVMValueRef r = cg_par_begin(cg, &par, c->batch ? 0 : c->N_static * rows, c->batch ? rows : 0);
    LLVMValueRef nm = LLVMBuildUDiv(b, r, cg_i64(cg, prow), ""), pr = LLVMBuildURem(b, r, cg_i64(cg, prow), "");
    LLVMValueRef nn = LLVMBuildUDiv(b, nm, cg_i64(cg, c->M), "n"), m = LLVMBuildURem(b, nm, cg_i64(cg, c->M), "m");
    LLVMValueRef od = LLVMBuildUDiv(b, pr, cg_i64(cg, c->O[1]), "od"), oh = LLVMBuildURem(b, pr, cg_i64(cg, c->O[1]), "oh");
    LLVMValueRef g = LLVMBuildUDiv(b, m, cg_i64(cg, c->Mg), "g");
    LLVMValueRef yp = cg_gep(cg, dt, Y, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, nm, cg_i64(cg, plane), ""),
                                                        LLVMBuildNSWMul(b, pr, cg_i64(cg, c->O[2]), ""), ""));
    LLVMValueRef ap = half ? rowacc : yp; /* where the row's f32 sums are */
    LLVMValueRef init = B ? cg_load(cg, dt, B, m) : cg_f32(cg, 0);
    /* depthwise 2-D: the interior of the row in one pass (depthwise_interior),
     * the loops below over the edges [0, ilo) and [ihi, O) only */
    int64_t ilo, ihi, part[2][2];
    int nparts = cg_dw_row_parts(c->Cg, c->K, c->I, c->O, c->S, c->P, c->D, &ilo, &ihi, part);
    if (ihi > ilo) {
        LLVMValueRef xp0 = cg_gep(cg, dt, X, LLVMBuildNSWMul(b, mul_add(cg, nn, c->C, g), cg_i64(cg, iplane), ""));
        depthwise_interior(cg, n, c, xp0, W, LLVMBuildNSWMul(b, m, cg_i64(cg, taps), ""), init, od, oh, yp, ilo, ihi);
    }
    LLVMValueRef i;
    for (int pi = 0; pi < nparts; pi++) {
        CgLoop l;
        i = cg_for_begin(cg, &l, cg_i64(cg, part[pi][0]), cg_i64(cg, part[pi][1]), cg_i64(cg, 1), "init");
        cg_store(cg, DT_F32, ap, i, init);
        cg_for_end(cg, &l);
    }

    CgLoop lc, lkd, lkh, lkw;
    LLVMValueRef ci = cg_for_begin(cg, &lc, cg_i64(cg, 0), cg_i64(cg, c->Cg), cg_i64(cg, 1), "ci");
    LLVMValueRef ch = mul_add(cg, g, c->Cg, ci);
    LLVMValueRef xp = cg_gep(cg, dt, X, LLVMBuildNSWMul(b, mul_add(cg, nn, c->C, ch), cg_i64(cg, iplane), ""));
    LLVMValueRef wbase = LLVMBuildNSWMul(b, mul_add(cg, m, c->Cg, ci), cg_i64(cg, taps), "");
    LLVMValueRef kd = cg_for_begin(cg, &lkd, cg_i64(cg, 0), cg_i64(cg, c->K[0]), cg_i64(cg, 1), "kd");
    LLVMValueRef kh = cg_for_begin(cg, &lkh, cg_i64(cg, 0), cg_i64(cg, c->K[1]), cg_i64(cg, 1), "kh");
    LLVMValueRef id = in_coord(cg, c, 0, od, kd), ih = in_coord(cg, c, 1, oh, kh);
    CgIf inside;
    cg_if_begin(cg, &inside, LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntULT, id, cg_i64(cg, c->I[0]), ""),
                                          LLVMBuildICmp(b, LLVMIntULT, ih, cg_i64(cg, c->I[1]), ""), ""));
    LLVMValueRef kw = cg_for_begin(cg, &lkw, cg_i64(cg, 0), cg_i64(cg, c->K[2]), cg_i64(cg, 1), "kw");
    LLVMValueRef widx = LLVMBuildNSWAdd(b, wbase, mul_add(cg, mul_add(cg, kd, c->K[1], kh), c->K[2], kw), "");
    LLVMValueRef w = cg_load(cg, dt, W, widx);
    LLVMValueRef lo, hi;
    tap_range(cg, c, 2, kw, &lo, &hi);
    /* x row start so that x index = xrow + ow*S */
    LLVMValueRef xrow = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, mul_add(cg, id, c->I[1], ih), cg_i64(cg, c->I[2]), ""),
                                        in_coord(cg, c, 2, cg_i64(cg, 0), kw), "");
    for (int pi = 0; pi < nparts; pi++) { /* (the tap's span within each edge part) */
        LLVMValueRef plo = lo, phi = hi;
        if (nparts == 2) {
            LLVMValueRef a = cg_i64(cg, part[pi][0]), z = cg_i64(cg, part[pi][1]);
            plo = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSGT, lo, a, ""), lo, a, "");
            phi = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, hi, z, ""), hi, z, "");
        }
        CgLoop low;
        LLVMValueRef ow = cg_for_begin(cg, &low, plo, phi, cg_i64(cg, 1), "ow");
        LLVMValueRef xv = cg_load(cg, dt, xp, mul_add(cg, ow, c->S[2], xrow));
        cg_store(cg, DT_F32, ap, ow, LLVMBuildFAdd(b, cg_load(cg, DT_F32, ap, ow), LLVMBuildFMul(b, w, xv, ""), ""));
        cg_for_end(cg, &low);
    }
    cg_for_end(cg, &lkw);
    cg_if_end(cg, &inside);
    cg_for_end(cg, &lkh);
    cg_for_end(cg, &lkd);
    cg_for_end(cg, &lc);

    for (int pi = 0; pi < nparts && (half || n->a.act != ACT_NONE); pi++) { /* (halves: rounded once, here) */
        CgLoop le;
        i = cg_for_begin(cg, &le, cg_i64(cg, part[pi][0]), cg_i64(cg, part[pi][1]), cg_i64(cg, 1), "act");
        cg_store(cg, dt, yp, i, cg_act(cg, n->a.act, n->a.act_alpha, n->a.act_beta, cg_load(cg, DT_F32, ap, i)));
        cg_for_end(cg, &le);
    }
    cg_par_end(cg, &par);
}

static void conv_elem(Cg *cg, const Node *n, const ConvDesc *c, LLVMValueRef X, LLVMValueRef W, LLVMValueRef B,
                     LLVMValueRef Y)
{
    LLVMBuilderRef b = cg->b;
    int64_t plane = c->O[0] * c->O[1] * c->O[2], iplane = c->I[0] * c->I[1] * c->I[2];
    int64_t per_n = c->M * plane;
    CgLoop par;
    LLVMValueRef idx = cg_par_begin(cg, &par, c->batch ? 0 : c->N_static * per_n, c->batch ? per_n : 0);
    LLVMValueRef nm = LLVMBuildUDiv(b, idx, cg_i64(cg, plane), ""), pos = LLVMBuildURem(b, idx, cg_i64(cg, plane), "");
    LLVMValueRef nn = LLVMBuildUDiv(b, nm, cg_i64(cg, c->M), "n"), m = LLVMBuildURem(b, nm, cg_i64(cg, c->M), "m");
    LLVMValueRef ow = LLVMBuildURem(b, pos, cg_i64(cg, c->O[2]), "");
    LLVMValueRef t = LLVMBuildUDiv(b, pos, cg_i64(cg, c->O[2]), "");
    LLVMValueRef oh = LLVMBuildURem(b, t, cg_i64(cg, c->O[1]), ""), od = LLVMBuildUDiv(b, t, cg_i64(cg, c->O[1]), "");
    LLVMValueRef g = LLVMBuildUDiv(b, m, cg_i64(cg, c->Mg), "g");
    LLVMValueRef acc = cg_alloca(cg, c->ct, "acc");
    LLVMBuildStore(b, B ? cg_load(cg, c->dt, B, m) : LLVMConstReal(c->ct, 0), acc);
    CgLoop lc, lkd, lkh, lkw;
    LLVMValueRef ci = cg_for_begin(cg, &lc, cg_i64(cg, 0), cg_i64(cg, c->Cg), cg_i64(cg, 1), "ci");
    LLVMValueRef ch = mul_add(cg, g, c->Cg, ci);
    LLVMValueRef xbase = LLVMBuildNSWMul(b, mul_add(cg, nn, c->C, ch), cg_i64(cg, iplane), "");
    LLVMValueRef wbase = LLVMBuildNSWMul(b, mul_add(cg, m, c->Cg, ci), cg_i64(cg, c->K[0] * c->K[1] * c->K[2]), "");
    LLVMValueRef kd = cg_for_begin(cg, &lkd, cg_i64(cg, 0), cg_i64(cg, c->K[0]), cg_i64(cg, 1), "kd");
    LLVMValueRef kh = cg_for_begin(cg, &lkh, cg_i64(cg, 0), cg_i64(cg, c->K[1]), cg_i64(cg, 1), "kh");
    LLVMValueRef kw = cg_for_begin(cg, &lkw, cg_i64(cg, 0), cg_i64(cg, c->K[2]), cg_i64(cg, 1), "kw");
    LLVMValueRef id = in_coord(cg, c, 0, od, kd), ih = in_coord(cg, c, 1, oh, kh), iw = in_coord(cg, c, 2, ow, kw);
    /* unsigned compare: negative coordinates are huge */
    LLVMValueRef ok = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntULT, id, cg_i64(cg, c->I[0]), ""),
                                   LLVMBuildICmp(b, LLVMIntULT, ih, cg_i64(cg, c->I[1]), ""), "");
    ok = LLVMBuildAnd(b, ok, LLVMBuildICmp(b, LLVMIntULT, iw, cg_i64(cg, c->I[2]), ""), "");
    CgIf inside;
    cg_if_begin(cg, &inside, ok);
    LLVMValueRef xi = LLVMBuildNSWAdd(b, xbase, mul_add(cg, mul_add(cg, id, c->I[1], ih), c->I[2], iw), "");
    LLVMValueRef wi = LLVMBuildNSWAdd(b, wbase, mul_add(cg, mul_add(cg, kd, c->K[1], kh), c->K[2], kw), "");
    LLVMValueRef prod = LLVMBuildFMul(b, cg_load(cg, c->dt, W, wi), cg_load(cg, c->dt, X, xi), "");
    LLVMBuildStore(b, LLVMBuildFAdd(b, LLVMBuildLoad2(b, c->ct, acc, ""), prod, ""), acc);
    cg_if_end(cg, &inside);
    cg_for_end(cg, &lkw);
    cg_for_end(cg, &lkh);
    cg_for_end(cg, &lkd);
    cg_for_end(cg, &lc);
    LLVMValueRef v = act(cg, n, c, LLVMBuildLoad2(b, c->ct, acc, ""));
    cg_store(cg, c->dt, Y, idx, v);
    cg_par_end(cg, &par);
}

/* Weights as [g][ci][kd][kh][kw][mg] (a CPU constant), or NULL. */
static LLVMValueRef pack_weights(Cg *cg, const Node *n, const ConvDesc *c)
{
    const Value *w = n->in[1];
    if (w->kind != VAL_CONST)
        return NULL;
    int64_t taps = c->K[0] * c->K[1] * c->K[2], total = c->M * c->Cg * taps;
    int es = dtype_size(w->dtype);
    unsigned char *dst = malloc((size_t)(total * es) + 1);
    if (!dst)
        return NULL;
    const unsigned char *src = w->data;
    for (int64_t m = 0; m < c->M; m++) {
        int64_t g = m / c->Mg, mg = m % c->Mg;
        for (int64_t ci = 0; ci < c->Cg; ci++)
            for (int64_t t = 0; t < taps; t++)
                memcpy(dst + (((g * c->Cg + ci) * taps + t) * c->Mg + mg) * es, src + ((m * c->Cg + ci) * taps + t) * es,
                       (size_t)es);
    }
    LLVMValueRef gv = cg_const_blob(cg, "qk.wpack", dst, (size_t)(total * es));
    free(dst);
    cg_packed_input(cg, 1);
    return gv;
}

static void conv_cpu_channels(Cg *cg, const Node *n, const ConvDesc *c, LLVMValueRef X, LLVMValueRef WP,
                              LLVMValueRef B, LLVMValueRef Y)
{
    LLVMBuilderRef b = cg->b;
    int64_t taps = c->K[0] * c->K[1] * c->K[2], iplane = c->I[0] * c->I[1] * c->I[2];
    int64_t oplane = c->O[0] * c->O[1] * c->O[2];
    LLVMValueRef acc = cg_alloca(cg, LLVMArrayType2(c->ct, (uint64_t)c->Mg), "acc");
    DType at = c->ct == cg->f64 ? DT_F64 : DT_F32; /* the accumulators' type */
    /* the parallel loop runs over output rows (n, od, oh) */
    int64_t rows = c->O[0] * c->O[1];
    CgLoop par, lg, low, lm, lc, lkd, lkh, lkw, lm2, lm3;
    LLVMValueRef r = cg_par_begin(cg, &par, c->batch ? 0 : c->N_static * rows, c->batch ? rows : 0);
    LLVMValueRef nn = LLVMBuildUDiv(b, r, cg_i64(cg, rows), "n"), rr = LLVMBuildURem(b, r, cg_i64(cg, rows), "");
    LLVMValueRef od = LLVMBuildUDiv(b, rr, cg_i64(cg, c->O[1]), "od"), oh = LLVMBuildURem(b, rr, cg_i64(cg, c->O[1]), "oh");
    LLVMValueRef g = cg_for_begin(cg, &lg, cg_i64(cg, 0), cg_i64(cg, c->G), cg_i64(cg, 1), "g");
    LLVMValueRef ow = cg_for_begin(cg, &low, cg_i64(cg, 0), cg_i64(cg, c->O[2]), cg_i64(cg, 1), "ow");
    LLVMValueRef m = cg_for_begin(cg, &lm, cg_i64(cg, 0), cg_i64(cg, c->Mg), cg_i64(cg, 1), "m");
    LLVMValueRef init = B ? cg_load(cg, c->dt, B, mul_add(cg, g, c->Mg, m)) : LLVMConstReal(c->ct, 0);
    cg_store(cg, at, acc, m, init);
    cg_for_end(cg, &lm);

    LLVMValueRef ci = cg_for_begin(cg, &lc, cg_i64(cg, 0), cg_i64(cg, c->Cg), cg_i64(cg, 1), "ci");
    LLVMValueRef xbase = LLVMBuildNSWMul(b, mul_add(cg, nn, c->C, mul_add(cg, g, c->Cg, ci)), cg_i64(cg, iplane), "");
    LLVMValueRef kd = cg_for_begin(cg, &lkd, cg_i64(cg, 0), cg_i64(cg, c->K[0]), cg_i64(cg, 1), "kd");
    LLVMValueRef id = in_coord(cg, c, 0, od, kd);
    LLVMValueRef kh = cg_for_begin(cg, &lkh, cg_i64(cg, 0), cg_i64(cg, c->K[1]), cg_i64(cg, 1), "kh");
    LLVMValueRef ih = in_coord(cg, c, 1, oh, kh);
    LLVMValueRef kw = cg_for_begin(cg, &lkw, cg_i64(cg, 0), cg_i64(cg, c->K[2]), cg_i64(cg, 1), "kw");
    LLVMValueRef iw = in_coord(cg, c, 2, ow, kw);
    /* inside the input? read a clamped (always valid) address, then select */
    LLVMValueRef ok = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntULT, id, cg_i64(cg, c->I[0]), ""),
                                   LLVMBuildICmp(b, LLVMIntULT, ih, cg_i64(cg, c->I[1]), ""), "");
    ok = LLVMBuildAnd(b, ok, LLVMBuildICmp(b, LLVMIntULT, iw, cg_i64(cg, c->I[2]), ""), "inside");
    LLVMValueRef xi = LLVMBuildNSWAdd(b, xbase, mul_add(cg, mul_add(cg, id, c->I[1], ih), c->I[2], iw), "");
    xi = LLVMBuildSelect(b, ok, xi, xbase, "");
    LLVMValueRef xv = LLVMBuildSelect(b, ok, cg_load(cg, c->dt, X, xi), LLVMConstReal(c->ct, 0), "x");
    LLVMValueRef tap = mul_add(cg, mul_add(cg, kd, c->K[1], kh), c->K[2], kw);
    LLVMValueRef wrow = LLVMBuildNSWMul(b, mul_add(cg, mul_add(cg, g, c->Cg, ci), taps, tap), cg_i64(cg, c->Mg), "");
    LLVMValueRef wp = cg_gep(cg, c->dt, WP, wrow);
    m = cg_for_begin(cg, &lm2, cg_i64(cg, 0), cg_i64(cg, c->Mg), cg_i64(cg, 1), "m");
    LLVMValueRef a = cg_load(cg, at, acc, m);
    cg_store(cg, at, acc, m, LLVMBuildFAdd(b, a, LLVMBuildFMul(b, cg_load(cg, c->dt, wp, m), xv, ""), ""));
    cg_for_end(cg, &lm2);
    cg_for_end(cg, &lkw);
    cg_for_end(cg, &lkh);
    cg_for_end(cg, &lkd);
    cg_for_end(cg, &lc);

    /* y[n, g*Mg + m, od, oh, ow] = act(acc[m]) */
    LLVMValueRef ypix = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, rr, cg_i64(cg, c->O[2]), ""), ow, "");
    m = cg_for_begin(cg, &lm3, cg_i64(cg, 0), cg_i64(cg, c->Mg), cg_i64(cg, 1), "m");
    LLVMValueRef ch = mul_add(cg, nn, c->M, mul_add(cg, g, c->Mg, m));
    LLVMValueRef v = act(cg, n, c, cg_load(cg, at, acc, m));
    cg_store(cg, c->dt, Y, mul_add(cg, ch, oplane, ypix), v);
    cg_for_end(cg, &lm3);
    cg_for_end(cg, &low);
    cg_for_end(cg, &lg);
    cg_par_end(cg, &par);
}

/* ---- depthwise f32 from a padded plane ------------------------------------
 * A depthwise 1-D/2-D f32 conv of unit-stride rows, or of a plane narrower
 * than a vector, runs a plane (n, m) at a time from a copy
 * on the stack padded with zeros, so every tap lands inside it: no edge
 * code, and each vector of outputs is, per tap, one vector of the plane
 * times the weight, added in the order of the row-wise kernel (the bias,
 * then the taps row by row, multiply then add: the same sums; a padded tap
 * adds w * 0). Vectors run along each output row when rows have a vector
 * of outputs or more (the last overlapping), else over the whole plane
 * across rows, unrolled (7x7 and 14x14 planes fill the lanes). A vector
 * whose taps are not consecutive floats (across rows, or strided) is a
 * permute of two loads: one vpermt2ps, so only on 512-bit x86. (Strided
 * rows of a vector or more keep the row-wise kernel: measured faster.) */
enum { DWF_BUF_MAX = 16384, DWF_MAX_VECS = 16 }; /* floats of the padded plane */

typedef struct DwPlan {
    int V;             /* f32 lanes */
    int64_t Hp, Wp;    /* the padded plane */
    bool rows;         /* vectors along a row (OW >= V), else over the plane */
    bool split;        /* stride 2 rows: each padded row stored as its even
                        * columns, then its odd ones (He = (Wp + 1) / 2 of
                        * them), so a tap's inputs are consecutive */
    int64_t He;
    int nvec;          /* plane mode: vectors, starting at q0[v] */
    int64_t q0[DWF_MAX_VECS];
} DwPlan;

/* The offset in the padded plane of output q's tap (kh, kw). */
static int64_t dwf_pos(const ConvDesc *c, const DwPlan *d, int64_t q, int64_t kh, int64_t kw)
{
    int64_t oh = q / c->O[2], ow = q % c->O[2], row = (oh * c->S[1] + kh * c->D[1]) * d->Wp;
    if (d->split) /* column 2 ow + kw D: in its half, ow + (kw D) / 2 */
        return row + (kw * c->D[2] % 2) * d->He + kw * c->D[2] / 2 + ow;
    return row + ow * c->S[2] + kw * c->D[2];
}

/* A vector's floats for one tap, from its first lane's to its last's. */
static int64_t dwf_span(const ConvDesc *c, const DwPlan *d, int64_t q0)
{
    return dwf_pos(c, d, q0 + d->V - 1, 0, 0) - dwf_pos(c, d, q0, 0, 0) + 1;
}

static bool dwf_plan(const Target *t, const ConvDesc *c, DwPlan *d)
{
    if (t->gpu || c->dt != DT_F32 || c->Cg != 1 || c->Mg != 1 || c->K[0] != 1 || c->I[0] != 1 || c->O[0] != 1 ||
        c->K[1] * c->K[2] > 64)
        return false;
    d->V = cg_lanes32(t);
    bool permute = t->arch == ARCH_X86_64 && t->vector_bits == 512;
    cg_dw_padded(c->I, c->O, c->K, c->S, c->P, c->D, &d->Hp, &d->Wp);
    if (d->V < 4 || d->Hp * d->Wp + 2 * d->V > DWF_BUF_MAX)
        return false;
    int64_t total = c->O[1] * c->O[2];
    d->rows = c->O[2] >= d->V;
    d->nvec = 0;
    /* stride 2 rows from the split plane: measured on AVX2 (Zen 3); on
     * 512-bit x86 the row-wise kernel measured faster than permutes, the
     * split plane is not measured there yet */
    d->split = d->rows && c->S[2] == 2 && !permute && t->arch == ARCH_X86_64;
    d->He = (d->Wp + 1) / 2;
    if (d->rows) /* consecutive floats */
        return c->S[2] == 1 || d->split;
    if (!permute || total < d->V || total > d->V * DWF_MAX_VECS)
        return false;
    for (int64_t q = 0; q < total; q += d->V) /* the last vector ends at the plane's end */
        d->q0[d->nvec++] = q + d->V <= total ? q : total - d->V;
    for (int v = 0; v < d->nvec; v++)
        if (dwf_span(c, d, d->q0[v]) > 2 * d->V)
            return false;
    return true;
}

/* The V lanes of one tap starting at float `at` of the padded plane: one
 * load when they are consecutive, else two permuted. */
static LLVMValueRef dwf_window(Cg *cg, const ConvDesc *c, const DwPlan *d, LLVMValueRef buf, LLVMValueRef at,
                               int64_t q0)
{
    LLVMBuilderRef b = cg->b;
    LLVMTypeRef vt = LLVMVectorType(cg->f32, (unsigned)d->V);
    LLVMValueRef idx[16];
    bool consecutive = true;
    for (int l = 0; l < d->V; l++) {
        int64_t off = dwf_pos(c, d, q0 + l, 0, 0) - dwf_pos(c, d, q0, 0, 0);
        idx[l] = cg_i32(cg, (int32_t)off);
        consecutive = consecutive && off == l;
    }
    LLVMValueRef src[2];
    for (int s = 0; s < (consecutive ? 1 : 2); s++) {
        src[s] = LLVMBuildLoad2(b, vt, cg_gep(cg, DT_F32, buf, LLVMBuildNSWAdd(b, at, cg_i64(cg, s * d->V), "")), "win");
        LLVMSetAlignment(src[s], 4);
    }
    if (consecutive)
        return src[0];
    return LLVMBuildShuffleVector(b, src[0], src[1], LLVMConstVector(idx, (unsigned)d->V), "taps");
}

/* One vector of outputs (row mode: from ow0 of the row at rowat, at run
 * time; plane mode: from q0), stored at Y[yi] with the activation. */
static void dwf_vector(Cg *cg, const Node *n, const ConvDesc *c, const DwPlan *d, LLVMValueRef buf,
                       LLVMValueRef rowat, int64_t q0, LLVMValueRef ow0, const LLVMValueRef *w, LLVMValueRef bias,
                       LLVMValueRef Y, LLVMValueRef yi)
{
    LLVMBuilderRef b = cg->b;
    LLVMValueRef acc = cg_splat(cg, bias, d->V);
    for (int64_t kh = 0; kh < c->K[1]; kh++)
        for (int64_t kw = 0; kw < c->K[2]; kw++) {
            LLVMValueRef at = LLVMBuildNSWAdd(b, rowat, cg_i64(cg, dwf_pos(c, d, q0, kh, kw)), "");
            if (ow0)
                at = LLVMBuildNSWAdd(b, at, d->split ? ow0 : LLVMBuildNSWMul(b, ow0, cg_i64(cg, c->S[2]), ""), "");
            LLVMValueRef x = dwf_window(cg, c, d, buf, at, q0);
            acc = LLVMBuildFAdd(b, acc, LLVMBuildFMul(b, w[kh * c->K[2] + kw], x, ""), "");
        }
    LLVMValueRef st = LLVMBuildStore(b, act(cg, n, c, acc), cg_gep(cg, DT_F32, Y, yi));
    LLVMSetAlignment(st, 4);
}

/* Inputs iw .. iw + 2V of a row (column iw + P even) into the split
 * plane's row at `row`: two loads, whose even lanes are a vector of the
 * even half at (iw + P) / 2 and odd lanes one of the odd half. */
static void dwf_split_chunk(Cg *cg, const ConvDesc *c, const DwPlan *d, LLVMValueRef src, LLVMValueRef buf,
                            LLVMValueRef row, LLVMValueRef iw)
{
    LLVMBuilderRef b = cg->b;
    int V = d->V;
    LLVMTypeRef vt = LLVMVectorType(cg->f32, (unsigned)V);
    LLVMValueRef x[2], sel[2][16];
    for (int l = 0; l < V; l++)
        sel[0][l] = cg_i32(cg, 2 * l), sel[1][l] = cg_i32(cg, 2 * l + 1);
    for (int s = 0; s < 2; s++) {
        x[s] = LLVMBuildLoad2(b, vt, cg_gep(cg, DT_F32, src, LLVMBuildNSWAdd(b, iw, cg_i64(cg, s * V), "")), "");
        LLVMSetAlignment(x[s], 4);
    }
    LLVMValueRef t = LLVMBuildNSWAdd(b, row, LLVMBuildSDiv(b, LLVMBuildNSWAdd(b, iw, cg_i64(cg, c->P[2]), ""),
                                                           cg_i64(cg, 2), ""), "");
    for (int h = 0; h < 2; h++) {
        LLVMValueRef v = LLVMBuildShuffleVector(b, x[0], x[1], LLVMConstVector(sel[h], (unsigned)V), "");
        LLVMValueRef st = LLVMBuildStore(b, v, cg_gep(cg, DT_F32, buf, LLVMBuildNSWAdd(b, t, cg_i64(cg, h * d->He), "")));
        LLVMSetAlignment(st, 4);
    }
}

/* An input row into its padded row at `row` of the split plane: column
 * iw + P goes to half (iw + P) % 2 at (iw + P) / 2. From the first input
 * whose column is even, chunks of 2V (dwf_split_chunk), the last one
 * ending near the row's end and overlapping the one before (the same
 * values); the at most 2 inputs outside the chunks one at a time. */
static void dwf_split_row(Cg *cg, const ConvDesc *c, const DwPlan *d, LLVMValueRef src, LLVMValueRef buf,
                          LLVMValueRef row)
{
    LLVMBuilderRef b = cg->b;
    int64_t V2 = 2 * (int64_t)d->V, I = c->I[2], P = c->P[2], i0 = P % 2, nchunk = (I - i0) / V2;
    int64_t last = nchunk ? I - V2 - (I - V2 + P) % 2 : i0, end = nchunk ? last + V2 : i0; /* [i0, end): chunks */
    if (nchunk) {
        CgLoop lc;
        LLVMValueRef j = cg_for_begin(cg, &lc, cg_i64(cg, 0), cg_i64(cg, nchunk), cg_i64(cg, 1), "chunk");
        dwf_split_chunk(cg, c, d, src, buf, row, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, j, cg_i64(cg, V2), ""), cg_i64(cg, i0), ""));
        cg_for_end(cg, &lc);
        if (last > i0 + (nchunk - 1) * V2)
            dwf_split_chunk(cg, c, d, src, buf, row, cg_i64(cg, last));
    }
    for (int64_t iw = 0; iw < I; iw++) { /* the singles: [0, i0) and [end, I) */
        if (iw >= i0 && iw < end)
            iw = end;
        if (iw >= I)
            break;
        int64_t col = iw + P;
        cg_store(cg, DT_F32, buf, LLVMBuildNSWAdd(b, row, cg_i64(cg, col % 2 * d->He + col / 2), ""),
                 cg_load(cg, DT_F32, src, cg_i64(cg, iw)));
    }
}

static void conv_dw_plane(Cg *cg, const Node *n, const ConvDesc *c, const DwPlan *d, LLVMValueRef X, LLVMValueRef W,
                          LLVMValueRef B, LLVMValueRef Y)
{
    LLVMBuilderRef b = cg->b;
    int64_t taps = c->K[1] * c->K[2], iplane = c->I[1] * c->I[2], oplane = c->O[1] * c->O[2];
    int64_t floats = d->Hp * d->Wp + 2 * d->V;
    LLVMValueRef buf = cg_alloca(cg, LLVMArrayType2(cg->f32, (uint64_t)floats), "plane");
    LLVMSetAlignment(buf, 64);
    CgLoop par, lr, loh, low;
    LLVMValueRef r = cg_par_begin(cg, &par, c->batch ? 0 : c->N_static * c->M, c->batch ? c->M : 0);
    LLVMValueRef m = LLVMBuildURem(b, r, cg_i64(cg, c->M), "m");
    /* the padded plane: zeros, then the input rows */
    LLVMBuildMemSet(b, buf, LLVMConstInt(cg->i8, 0, 0), cg_i64(cg, floats * 4), 64);
    LLVMValueRef xplane = cg_gep(cg, DT_F32, X, LLVMBuildNSWMul(b, r, cg_i64(cg, iplane), "")); /* (n*C + m): C == M */
    LLVMValueRef ih = cg_for_begin(cg, &lr, cg_i64(cg, 0), cg_i64(cg, c->I[1]), cg_i64(cg, 1), "ih");
    LLVMValueRef src = cg_gep(cg, DT_F32, xplane, LLVMBuildNSWMul(b, ih, cg_i64(cg, c->I[2]), ""));
    if (!d->split) {
        LLVMValueRef dst = cg_gep(cg, DT_F32, buf, mul_add(cg, LLVMBuildNSWAdd(b, ih, cg_i64(cg, c->P[1]), ""), d->Wp,
                                                           cg_i64(cg, c->P[2])));
        LLVMBuildMemCpy(b, dst, 4, src, 4, cg_i64(cg, c->I[2] * 4));
    } else {
        dwf_split_row(cg, c, d, src, buf, LLVMBuildNSWMul(b, LLVMBuildNSWAdd(b, ih, cg_i64(cg, c->P[1]), ""),
                                                          cg_i64(cg, d->Wp), ""));
    }
    cg_for_end(cg, &lr);
    LLVMValueRef w[64];
    for (int64_t i = 0; i < taps; i++)
        w[i] = cg_splat(cg, cg_load(cg, DT_F32, W, mul_add(cg, m, taps, cg_i64(cg, i))), d->V);
    LLVMValueRef bias = B ? cg_load(cg, DT_F32, B, m) : LLVMConstReal(cg->f32, 0.0);
    LLVMValueRef ybase = LLVMBuildNSWMul(b, r, cg_i64(cg, oplane), ""); /* (n*M + m) */
    if (d->rows) {
        LLVMValueRef oh = cg_for_begin(cg, &loh, cg_i64(cg, 0), cg_i64(cg, c->O[1]), cg_i64(cg, 1), "oh");
        LLVMValueRef rowat = LLVMBuildNSWMul(b, oh, cg_i64(cg, c->S[1] * d->Wp), "");
        LLVMValueRef yrow = mul_add(cg, oh, c->O[2], ybase);
        int64_t span[2][2];
        for (int si = 0, ns = cg_vec_spans(0, c->O[2], d->V, span); si < ns; si++) {
            LLVMValueRef ow0 = cg_for_begin(cg, &low, cg_i64(cg, span[si][0]), cg_i64(cg, span[si][1]),
                                            cg_i64(cg, d->V), "ow");
            dwf_vector(cg, n, c, d, buf, rowat, 0, ow0, w, bias, Y, LLVMBuildNSWAdd(b, yrow, ow0, ""));
            cg_for_end(cg, &low);
        }
        cg_for_end(cg, &loh);
    } else {
        for (int v = 0; v < d->nvec; v++)
            dwf_vector(cg, n, c, d, buf, cg_i64(cg, 0), d->q0[v], NULL, w, bias, Y,
                       LLVMBuildNSWAdd(b, ybase, cg_i64(cg, d->q0[v]), ""));
    }
    cg_par_end(cg, &par);
}

bool cg_k_conv(Cg *cg, const Node *n)
{
    ConvDesc c;
    describe(n, &c);
    c.dt = n->out[0]->dtype;
    c.ct = cg_calc_type(cg, c.dt);
    LLVMValueRef B = n->nin > 2 && n->in[2] ? cg->arg[2] : NULL;
    LLVMValueRef packed;
    DwPlan dw;
    if (dwf_plan(cg->t, &c, &dw))
        conv_dw_plane(cg, n, &c, &dw, cg->arg[0], cg->arg[1], B, cg->arg[n->nin]);
    else if (cg->t->gpu)
        conv_elem(cg, n, &c, cg->arg[0], cg->arg[1], B, cg->arg[n->nin]);
    else if (c.Mg >= 8 && (packed = pack_weights(cg, n, &c)))
        conv_cpu_channels(cg, n, &c, cg->arg[0], packed, B, cg->arg[n->nin]);
    else if (c.dt == DT_F32 || ((c.dt == DT_F16 || c.dt == DT_BF16) && c.O[2] <= ROW_ACC_MAX))
        conv_cpu(cg, n, &c, cg->arg[0], cg->arg[1], B, cg->arg[n->nin]); /* (row-wise, f32 sums) */
    else
        conv_elem(cg, n, &c, cg->arg[0], cg->arg[1], B, cg->arg[n->nin]);
    return true;
}

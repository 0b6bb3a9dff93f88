/* k_pw.c — pointwise (1x1, stride 1, unpadded, one group) f32
 * convolutions on CPUs, as the matrix product Y[n] = W X[n] of the NCHW
 * layout itself: X[n] is C rows of H*W contiguous pixels, Y[n] M rows.
 *
 * k_mm.c's conv tiles put pixels in the rows and output channels in the
 * columns, so they transpose the input into a ring and each tile's
 * results back to NCHW. For a 1x1 conv that work is as large as the
 * product when C is small (MobileNet's and EfficientNet's expansions read
 * 16 to 40 channels over 112x112 to 28x28 planes). Here a tile is MR
 * output channels by NV vectors of consecutive pixels: per input channel
 * k, NV vector loads of X's row k, MR broadcasts of the weights (packed
 * at compile time as [tile][k][MR], so they are one stream), MR*NV
 * multiply-adds; the results are rows of Y, stored as they are with the
 * bias and the activation. The parallel index runs over (image, block of
 * NV*W pixels); a block runs every tile of output channels, so its
 * K x NV*W inputs stay in cache while the weights stream past. The last
 * block of a plane that is not a whole block ends at the plane's end,
 * overlapping the one before, and stores only its new pixels (masked), so
 * no output is written by two threads.
 *
 * The sums run over k in order from 0, multiply-add as llvm.fmuladd, then
 * the bias: as k_mm.c's tiles compute a 1x1 conv. Taken on x86 up to
 * AVX2 (measured on Zen 3; AVX-512's wider tiles and NEON not yet) where
 * the planes hold 4 blocks or more and the weights fit in L2; late layers
 * (7x7 planes, hundreds of channels) keep k_mm.c, whose weights stream
 * once per band (measured slower here). */
#include <stdlib.h>

#include "cg.h"

enum { PW_MR = 6, PW_NV = 2, PW_MAX_WEIGHT_BYTES = 256 << 10 };

typedef struct PwPlan {
    int W;           /* f32 lanes */
    int64_t C, M, P; /* input channels, output channels, pixels per plane */
    int64_t N_static;
    bool batch;
    int64_t tiles;   /* tiles of MR output channels (the last may be partial) */
} PwPlan;

static bool pw_plan(const Target *t, const Node *n, PwPlan *p)
{
    /* measured on AVX2 (Zen 3); AVX-512's 14x32 tiles and NEON keep k_mm.c
     * until measured there */
    if (t->gpu || t->arch != ARCH_X86_64 || t->vector_bits > 256 || n->op != OP_CONV || n->nin < 2 ||
        n->out[0]->dtype != DT_F32 || n->a.group != 1)
        return false;
    const Value *x = n->in[0], *w = n->in[1], *bias = n->nin > 2 ? n->in[2] : NULL;
    if (x->dtype != DT_F32 || w->dtype != DT_F32 || w->kind != VAL_CONST || (bias && bias->dtype != DT_F32))
        return false;
    const Shape *xs = &x->shape, *ys = &n->out[0]->shape;
    if (n->a.nsp < 1 || n->a.nsp > 2 || xs->rank != 2 + n->a.nsp || shape_rows(xs) > 1)
        return false;
    p->P = 1;
    for (int i = 0; i < n->a.nsp; i++) {
        if (n->a.kernel[i] != 1 || n->a.strides[i] != 1 || n->a.pads[i] || n->a.pads[n->a.nsp + i] ||
            ys->d[2 + i] != xs->d[2 + i])
            return false;
        p->P *= xs->d[2 + i];
    }
    p->W = cg_lanes32(t);
    p->C = xs->d[1], p->M = ys->d[1];
    p->batch = shape_has_batch(xs);
    p->N_static = p->batch ? 1 : xs->d[0];
    int64_t NB = (int64_t)PW_NV * p->W;
    if (p->W < 4 || p->P < 4 * NB || p->M * p->C * 4 > PW_MAX_WEIGHT_BYTES)
        return false;
    p->tiles = (p->M + PW_MR - 1) / PW_MR;
    return true;
}

const char *cg_pw_tag(const Target *t, const Node *n, char *buf, size_t len)
{
    PwPlan p;
    if (!pw_plan(t, n, &p))
        return NULL;
    snprintf(buf, len, "pw%dx%d", PW_MR, PW_NV * p.W);
    return buf;
}

const char *cg_pw_desc(const Target *t, const Node *n, char *buf, size_t len)
{
    PwPlan p;
    if (!pw_plan(t, n, &p))
        return NULL;
    snprintf(buf, len, "1x1 conv as weights x NCHW rows: tiles of %d output channels x %d pixels, no transposes",
             PW_MR, PW_NV * p.W);
    return buf;
}

/* One tile: output channels [co, co + MR) (rows past M computed from zero
 * weights, not stored) of the block at pixel p0; tail > 0: the block
 * overlaps the one before, only its last `tail` pixels are stored. */
static void pw_tile(Cg *cg, const Node *n, const PwPlan *p, LLVMValueRef WP, LLVMValueRef xb, LLVMValueRef yb,
                    LLVMValueRef tile, LLVMValueRef p0, int64_t tail)
{
    LLVMBuilderRef b = cg->b;
    LLVMTypeRef vt = LLVMVectorType(cg->f32, (unsigned)p->W);
    LLVMValueRef acc[PW_MR][PW_NV];
    for (int i = 0; i < PW_MR; i++)
        for (int v = 0; v < PW_NV; v++) {
            acc[i][v] = cg_alloca(cg, vt, "acc");
            LLVMBuildStore(b, LLVMConstNull(vt), acc[i][v]);
        }
    LLVMValueRef wt = LLVMBuildNSWMul(b, tile, cg_i64(cg, p->C * PW_MR), ""); /* the tile's packed weights */
    CgLoop lk;
    LLVMValueRef k = cg_for_begin(cg, &lk, cg_i64(cg, 0), cg_i64(cg, p->C), cg_i64(cg, 1), "k");
    LLVMValueRef xrow = LLVMBuildNSWAdd(b, xb, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, k, cg_i64(cg, p->P), ""), p0, ""), "");
    LLVMValueRef xv[PW_NV];
    for (int v = 0; v < PW_NV; v++) {
        xv[v] = LLVMBuildLoad2(b, vt, cg_gep(cg, DT_F32, cg->arg[0], LLVMBuildNSWAdd(b, xrow, cg_i64(cg, v * p->W), "")), "x");
        LLVMSetAlignment(xv[v], 4);
    }
    LLVMValueRef wk = LLVMBuildNSWAdd(b, wt, LLVMBuildNSWMul(b, k, cg_i64(cg, PW_MR), ""), "");
    for (int i = 0; i < PW_MR; i++) {
        LLVMValueRef a = cg_splat(cg, cg_load(cg, DT_F32, WP, LLVMBuildNSWAdd(b, wk, cg_i64(cg, i), "")), p->W);
        for (int v = 0; v < PW_NV; v++) {
            LLVMValueRef args[3] = {a, xv[v], LLVMBuildLoad2(b, vt, acc[i][v], "")};
            LLVMBuildStore(b, cg_intrin(cg, "llvm.fmuladd", &vt, 1, args, 3), acc[i][v]);
        }
    }
    cg_for_end(cg, &lk);
    /* the rows: + bias, the activation, stored (masked: the overlap's tail) */
    LLVMValueRef co0 = LLVMBuildNSWMul(b, tile, cg_i64(cg, PW_MR), "");
    for (int i = 0; i < PW_MR; i++) {
        LLVMValueRef co = LLVMBuildNSWAdd(b, co0, cg_i64(cg, i), "co");
        CgIf in;
        if (p->M % PW_MR && i >= p->M % PW_MR) /* (rows past M in the last tile) */
            cg_if_begin(cg, &in, LLVMBuildICmp(b, LLVMIntSLT, co, cg_i64(cg, p->M), ""));
        LLVMValueRef bias = n->nin > 2 && n->in[2] ? cg_splat(cg, cg_load(cg, DT_F32, cg->arg[2], co), p->W) : NULL;
        LLVMValueRef yrow = LLVMBuildNSWAdd(b, yb, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, co, cg_i64(cg, p->P), ""), p0, ""), "");
        for (int v = 0; v < PW_NV; v++) {
            LLVMValueRef s = LLVMBuildLoad2(b, vt, acc[i][v], "");
            if (bias)
                s = LLVMBuildFAdd(b, s, bias, "");
            s = cg_act(cg, n->a.act, n->a.act_alpha, n->a.act_beta, s);
            LLVMValueRef ptr = cg_gep(cg, DT_F32, cg->arg[n->nin], LLVMBuildNSWAdd(b, yrow, cg_i64(cg, v * p->W), ""));
            if (!tail) {
                LLVMValueRef st = LLVMBuildStore(b, s, ptr);
                LLVMSetAlignment(st, 4);
                continue;
            }
            int64_t first = (int64_t)PW_NV * p->W - tail; /* lanes of the block from here on are new */
            if ((v + 1) * p->W <= first)
                continue;
            LLVMValueRef mask[64];
            for (int l = 0; l < p->W; l++)
                mask[l] = LLVMConstInt(cg->i1, v * p->W + l >= first, 0);
            LLVMTypeRef ovl[2] = {vt, cg->ptr};
            LLVMValueRef args[4] = {s, ptr, cg_i32(cg, 4), LLVMConstVector(mask, (unsigned)p->W)};
            cg_intrin(cg, "llvm.masked.store", ovl, 2, args, 4);
        }
        if (p->M % PW_MR && i >= p->M % PW_MR)
            cg_if_end(cg, &in);
    }
}

typedef struct PwBlock {
    const Node *n;
    const PwPlan *p;
    LLVMValueRef WP;
} PwBlock;

/* A block (cg_pw_blocks): every tile of output channels over it. */
static void pw_block(Cg *cg, void *ctx, LLVMValueRef nn, LLVMValueRef p0, int64_t tail)
{
    const PwBlock *k = ctx;
    const PwPlan *p = k->p;
    LLVMBuilderRef b = cg->b;
    LLVMValueRef xb = LLVMBuildNSWMul(b, nn, cg_i64(cg, p->C * p->P), ""), yb = LLVMBuildNSWMul(b, nn, cg_i64(cg, p->M * p->P), "");
    CgLoop lt;
    LLVMValueRef t = cg_for_begin(cg, &lt, cg_i64(cg, 0), cg_i64(cg, p->tiles), cg_i64(cg, 1), "tile");
    pw_tile(cg, k->n, p, k->WP, xb, yb, t, p0, tail);
    cg_for_end(cg, &lt);
}

CgResult cg_k_pw(Cg *cg, const Node *n)
{
    PwPlan p;
    if (!pw_plan(cg->t, n, &p))
        return CG_DECLINE;
    /* compile time: the weights as [tile][k][MR], zero rows past M */
    const float *w = n->in[1]->data;
    size_t count = (size_t)(p.tiles * p.C * PW_MR);
    float *pk = calloc(count, sizeof(float));
    if (!pk) {
        diag_error(cg->d, n->loc, "out of memory packing the weights");
        return CG_FAIL;
    }
    for (int64_t co = 0; co < p.M; co++)
        for (int64_t k = 0; k < p.C; k++)
            pk[((co / PW_MR) * p.C + k) * PW_MR + co % PW_MR] = w[co * p.C + k];
    LLVMValueRef WP = cg_const_blob(cg, "qk.pw", pk, count * sizeof(float));
    free(pk);
    cg_packed_input(cg, 1);

    PwBlock blk = {.n = n, .p = &p, .WP = WP};
    cg_pw_blocks(cg, p.batch, p.N_static, p.P, (int64_t)PW_NV * p.W, pw_block, &blk);
    return CG_DONE;
}

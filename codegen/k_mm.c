/* k_mm.c — register-blocked microkernels for matrix products whose B (the
 * weights) is a constant: Gemm and MatMul in f32 (or f16 storage), and
 * MatMulInteger / QLinearMatMul in exact int8 arithmetic, and bf16 (on
 * vdpbf16ps where the target has it).
 *
 * B is packed at compile time into groups of G panels of W columns (W: the
 * lanes of one vector register), columns past N zero; within a group, k
 * runs outermost, so a microkernel streams it once:
 *     float:          [group][k][G*W]             f32, f16 or bf16
 *     bf16, vdpbf16ps: [group][k/2][G*W][2]       bf16 (2 products per f32 lane)
 *     int8, VNNI/sdot/pmaddubsw: [group][k/4][G*W][4]  i8 (4 products per i32 lane)
 *     int8, pmaddwd:  [group][k/2][G*W][2]        i16  (2 products per i32 lane)
 *     int8, generic:  [group][k][G*W]             i16
 * A tile of `mr` rows × G panels keeps mr*G vector accumulators in
 * registers; each step broadcasts one (group of) A element(s) per row and
 * multiplies it into the G B vectors. Few rows (batch 1) unroll k into U
 * independent accumulator sets instead, so the FMA or dot latency is
 * hidden while every B byte is read once.
 *
 * Work split: the parallel index runs over (group, row) pairs, group-major;
 * a thread's slice is cut into row tiles of MR rows and a remainder, per
 * group. The last group, when N does not fill it, has its own code.
 *
 * Convolutions (Conv, ConvInteger, QLinearConv: 1-D or 2-D; one group, or
 * groups of >= 8 output channels, each group its own GEMM whose k reads its
 * channels of the ring) run on the
 * same tiles as an implicit GEMM without an im2col buffer: columns are the
 * output channels, k runs over (kh, kw, c) and the rows of a tile are MR
 * consecutive output pixels of a band, counted row-major (a tile may span
 * output rows: a 7x7 plane is 8 full tiles and one pixel, not 7 rows of
 * 6 + 1). A band is up to BR output rows of one image, as many as their
 * input rows fit BAND_BYTES; the parallel index runs over output rows
 * (n, oh), cut into bands, and each band runs every group of channels over
 * all its pixels, so a group's packed weights are read from cache by every
 * tile of the band rather than from memory once per output row. Each call
 * packs the input rows its bands need into a ring of Rb = (BR-1)*SH + R
 * rows (R = (KH-1)*DH+1) on the stack, laid out [iw][c] with the padding
 * written in (0, or the input's zero point) and c rounded up to the dot's
 * k-group (pmaddwd: widened to 16 bits, so each pair is one broadcast
 * load), so the microkernel reads A without bounds checks; an input row is
 * packed once per call, whatever the number of windows that read it, by
 * 8x8 (WxW) transposes in registers. A tile's results are transposed back
 * the same way: Y is NCHW, the tile's pixels are consecutive in it, so each
 * output channel's pixels are one vector store.
 *
 * Integer exactness (docs/quantization.md): the sums are exact int32. VNNI
 * (vpdpbusd: u8 x s8), pmaddubsw (u8 x s8 pairs into a saturating i16,
 * then pairs of those by pmaddwd with 1s: taken only for weights that
 * prove it never saturates, MmPlan.pairs_fit) and sdot (s8 x s8) take A
 * with its top bit flipped when its signedness differs (a' = a ± 128),
 * pmaddwd and the generic form widen both sides; with colsum[n] = sum_k B[k, n] and the zero points,
 *     sum_k (a - za)(b - zb) = S + c0[n] + za * c1[n] - zb[n] * rowsum(a)
 * where S is the kernel's sum, c0 = -delta * colsum, c1 = K * zb - colsum,
 * all folded at compile time (rowsum only when some zb is not 0). Every
 * term wraps mod 2^32 alike, so the result equals the interpreter's. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"
#include "qkc/qkrt_abi.h"

typedef struct MmPlan {
    bool integer;
    DotKind dot;          /* integer: how k-groups multiply */
    int W;                /* 32-bit lanes per vector */
    int G;                /* panels (vectors of W columns) per group */
    int MR;               /* rows of a full tile */
    int kg;               /* k per packed step: 1, 2 (pmaddwd, vdpbf16ps) or 4 (VNNI, sdot) */
    bool bf16dot;         /* bf16 A and B: pairs into f32 lanes by vdpbf16ps (Target.bf16_dot) */
    int64_t M, N, K;
    int64_t rows_static;  /* rows of Y per batch item (or in all, without a batch) */
    bool batch0;
    int64_t npg;          /* groups */
    DType ta, tb, ty;     /* storage types of A, B, Y */
    /* convolutions: the input (C, H, Wd), output (OH, OW; N is M), kernel,
     * strides, pads, dilations; Cp: C rounded up to kg; Wp: the width of a
     * padded input row; R: the input rows one output row reads; BR: the
     * output rows of a band, Rb: the rows of the ring (a band's input) */
    bool conv;
    int64_t C, Cp, H, Wd, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW, Wp, R, BR, Rb;
    /* integer: s8 weights whose every pair (k, k+1), k even, of a column
     * sums within [-128, 128] on each sign (|w| <= 64 does): a u8 x s8 pair
     * sum then fits i16 (255 * 128 = 32640), so pmaddubsw cannot saturate */
    bool pairs_fit;
    /* a 1-D conv whose padded row would not fit the ring: its output row in
     * OH chunks of OW pixels, each a row of its own (H = OH of them) whose
     * ring slot holds only the Wp input columns its windows read, `chunk`
     * columns after the previous one's; 0: not chunked */
    int64_t chunk;
    /* grouped convs: groups of Ng output channels reading Cw input
     * channels each; a group's k runs over (kh, kw, Cg channels) (Cg: Cp
     * with one group, else Cw) from channel offset g*Cw of the ring; its
     * columns are cpg groups of G*W (the last maybe narrower). One group
     * (and every GEMM): Ng = N, cpg = npg. */
    int64_t groups, Cw, Cg, Ng, cpg;
} MmPlan;

enum { RING_MAX_BYTES = 256 << 10, BAND_BYTES = 128 << 10, CONV_MAX_KW = 11 };

/* Matrix products with fewer weights run the plain kernels of k_gemm.c:
 * as fast at that size (measured: a 16x16 MatMul at batch 1 and 64), while
 * a microkernel's code (tiles of every height, ~40 ms of LLVM's time) per
 * node would dominate the compile time of models with many small layers. */
enum { MM_MIN_KN = 4096 };


static bool const_2d(const Value *v) { return v && v->kind == VAL_CONST && v->shape.rank == 2; }

static int64_t numel_or_1(const Value *v) { return v ? shape_numel(&v->shape) : 1; }

static bool all_zero(const Value *v)
{
    const unsigned char *d = v->data;
    for (int64_t i = 0, n = value_bytes(v); i < n; i++)
        if (d[i])
            return false;
    return true;
}

/* The dot instruction, k-group, tile shape and groups of a plan whose
 * types and M, N, K are set. */
static void plan_tiles(const Target *t, MmPlan *p)
{
    p->W = cg_lanes32(t);
    p->kg = 1;
    if (!p->integer && p->ta == DT_BF16 && p->tb == DT_BF16 && t->bf16_dot && p->W >= 8) {
        p->bf16dot = true;
        p->kg = 2;
    }
    if (p->integer) {
        p->dot = t->dot;
        if ((p->dot == DOT_VNNI || p->dot == DOT_SDOT) && p->tb != DT_I8) /* both want s8 weights */
            p->dot = t->arch == ARCH_X86_64 ? DOT_PMADDWD : DOT_GENERIC;
        if (p->dot == DOT_VNNI && p->W < 8)
            p->dot = DOT_PMADDWD;
        if (p->dot == DOT_PMADDWD && p->pairs_fit && (t->cpu_features >> QKRT_CPU_SSSE3 & 1))
            p->dot = DOT_PMADDUBSW;
        p->kg = p->dot == DOT_PMADDWD ? 2 : p->dot == DOT_GENERIC ? 1 : 4;
    }
    int gmax = t->vregs >= 32 && p->W == 4 ? 4 : 2;
    /* f32 GEMMs on 16 lanes and 32 registers: 9x48 tiles (27 accumulators)
     * load 12 vectors per 27 FMAs where 14x32 ones load 16 per 28 (Zen 4:
     * GEMM 64x1024x1024 1.23x faster); taken when the columns padded to 48
     * cost at most 10% more than padded to 32 (768, 1024, 3072: yes; a
     * conv's 64..256 channels would not, and its tiles of 9 pixels measured
     * slower: convs keep 14x32) */
    if (!p->integer && !p->bf16dot && !p->conv && p->W == 16 && t->vregs >= 32 &&
        (p->N + 47) / 48 * 48 * 10 <= (p->N + 31) / 32 * 32 * 11)
        gmax = 3;
    int64_t panels = (p->N + p->W - 1) / p->W;
    p->G = (int)(panels < gmax ? panels : gmax);
    /* (a register for the widened A pair, or pmaddubsw's ones) */
    int budget = t->vregs - p->G - 1 - (p->dot == DOT_PMADDWD || p->dot == DOT_GENERIC || p->dot == DOT_PMADDUBSW);
    p->MR = budget / p->G;
    if (p->MR > 14)
        p->MR = 14;
    if (p->MR < 1)
        p->MR = 1;
    p->npg = (p->N + (int64_t)p->G * p->W - 1) / ((int64_t)p->G * p->W);
    p->groups = 1, p->Ng = p->N, p->cpg = p->npg;
}

/* Whether constant s8 weights have every pair that one pmaddubsw lane adds
 * within its range (MmPlan.pairs_fit), for each column n: a GEMM's B[K][N]
 * pairs rows (k, k+1), k even; a conv's W[N][C][taps] pairs channels
 * (c, c+1), c even, of each tap (B's k order is (tap, c), C rounded up
 * with zeros). */
static bool weights_pair_fit(const Value *w, bool conv, int64_t N, int64_t K, int64_t taps)
{
    if (w->kind != VAL_CONST || w->dtype != DT_I8)
        return false;
    const int8_t *d = w->data;
    for (int64_t n = 0; n < N; n++)
        for (int64_t t = 0; t < taps; t++)
            for (int64_t k = 0; k < K; k += 2) {
                int64_t i0 = conv ? (n * K + k) * taps + t : k * N + n, i1 = conv ? i0 + taps : i0 + N;
                int a = d[i0], b = k + 1 < K ? d[i1] : 0;
                if ((a > 0 ? a : 0) + (b > 0 ? b : 0) > 128 || (a < 0 ? a : 0) + (b < 0 ? b : 0) < -128)
                    return false;
            }
    return true;
}

/* A 1-D or 2-D convolution with one group and constant weights (see the
 * header); 1-D as 2-D of height 1 (the same memory layout). */
static bool plan_conv(const Target *t, const Node *n, MmPlan *p)
{
    bool ql = n->op == OP_QLINEAR_CONV;
    const Value *x = n->in[0], *w = n->in[ql ? 3 : 1], *y = n->out[0];
    const Attrs *a = &n->a;
    int nsp = a->nsp;
    if ((nsp != 1 && nsp != 2) || a->group < 1 || !w || w->kind != VAL_CONST || x->shape.rank != 2 + nsp ||
        y->shape.rank != 2 + nsp)
        return false;
    if (n->op == OP_CONV) {
        if ((y->dtype != DT_F32 && y->dtype != DT_F16 && y->dtype != DT_BF16) || x->dtype != y->dtype ||
            w->dtype != y->dtype || (y->dtype == DT_F16 && !t->f16_convert))
            return false;
        if (n->nin > 2 && n->in[2] && n->in[2]->dtype != y->dtype)
            return false;
    } else {
        const Value *xz = n->nin > 2 ? n->in[2] : NULL, *wz = n->nin > (ql ? 5 : 3) ? n->in[ql ? 5 : 3] : NULL;
        if (numel_or_1(xz) != 1 || (wz && (wz->kind != VAL_CONST || !all_zero(wz))))
            return false; /* (a weight zero point would need row sums over the window) */
        if (ql && (numel_or_1(n->in[1]) != 1 || numel_or_1(n->in[6]) != 1 ||
                   numel_or_1(n->nin > 7 ? n->in[7] : NULL) != 1))
            return false;
        p->integer = true;
    }
    p->conv = true;
    p->ta = x->dtype, p->tb = w->dtype, p->ty = y->dtype;
    int h = nsp == 2 ? 0 : -1, w_ = nsp - 1; /* the spatial dims' indices (h -1: height 1) */
    p->C = x->shape.d[1], p->H = h < 0 ? 1 : x->shape.d[2], p->Wd = x->shape.d[2 + w_];
    p->N = y->shape.d[1], p->OH = h < 0 ? 1 : y->shape.d[2], p->OW = y->shape.d[2 + w_];
    p->KH = h < 0 ? 1 : a->kernel[0], p->KW = a->kernel[w_];
    p->SH = h < 0 ? 1 : a->strides[0], p->SW = a->strides[w_];
    p->PH = h < 0 ? 0 : a->pads[0], p->PW = a->pads[w_];
    p->DH = h < 0 ? 1 : a->dilations[0], p->DW = a->dilations[w_];
    int64_t groups = a->group, N = p->N;
    if (p->C % groups || N % groups || N / groups < 8 || p->KW > CONV_MAX_KW || p->C < 1 || p->OH < 1 ||
        p->OW < 1 || p->KH < 1 || p->KW < 1)
        return false; /* (few output channels per group: the row-wise kernels) */
    p->Cw = p->C / groups;
    p->pairs_fit = p->integer && weights_pair_fit(w, true, N, p->Cw, p->KH * p->KW);
    p->N = N / groups; /* (the tile's columns: one group's) */
    plan_tiles(t, p);
    p->groups = groups, p->Ng = p->N, p->cpg = p->npg;
    p->N = N, p->npg = groups * p->cpg;
    p->Cp = (p->C + p->kg - 1) / p->kg * p->kg;
    p->Cg = groups == 1 ? p->Cp : p->Cw;
    if (p->Cg % p->kg)
        return false; /* (a group's channels must fill the dot's k-groups) */
    p->K = p->KH * p->KW * p->Cg;
    p->Wp = (p->OW - 1) * p->SW + (p->KW - 1) * p->DW + 1;
    p->R = (p->KH - 1) * p->DH + 1;
    /* a ring element: f32 (f16 and bf16 converted), bf16 pairs for
     * vdpbf16ps, integers (pmaddwd: widened) */
    int64_t es = p->bf16dot ? 2 : !p->integer ? 4 : p->dot == DOT_PMADDWD ? 2 : 1;
    if (p->R * p->Wp * p->Cp * es > RING_MAX_BYTES) {
        /* 1-D (a speech front end's 384 channels over 500 steps): the
         * largest chunk of output pixels that divides the row and fits */
        int64_t owc = 0;
        for (int64_t c = p->OW - 1; nsp == 1 && c >= p->MR && !owc; c--)
            if (p->OW % c == 0 && ((c - 1) * p->SW + (p->KW - 1) * p->DW + 1) * p->Cp * es <= RING_MAX_BYTES)
                owc = c;
        if (!owc)
            return false;
        p->chunk = owc * p->SW;
        p->OH = p->H = p->OW / owc;
        p->OW = owc;
        p->Wp = (owc - 1) * p->SW + (p->KW - 1) * p->DW + 1;
    }
    /* a band: as many output rows as their input rows fit BAND_BYTES (at
     * least one), so that a group's packed weights, read once per tile,
     * serve every pixel of the band from cache */
    int64_t rowb = p->Wp * p->Cp * es;
    p->BR = 1;
    while (p->BR < p->OH && (p->BR * p->SH + p->R) * rowb <= BAND_BYTES)
        p->BR++;
    int64_t bands = (p->OH + p->BR - 1) / p->BR;
    p->BR = (p->OH + bands - 1) / bands; /* (as even as they can be) */
    p->Rb = (p->BR - 1) * p->SH + p->R;
    p->batch0 = x->shape.d[0] == DIM_BATCH;
    p->rows_static = p->OH * (p->batch0 ? 1 : x->shape.d[0]);
    p->M = p->OH * p->OW;
    return true;
}

/* Whether node n gets a microkernel on target t, and its shape. */
static bool plan(const Target *t, const Node *n, MmPlan *p)
{
    memset(p, 0, sizeof *p);
    if (t->gpu || t->vregs <= 0)
        return false;
    const Value *a, *b, *y = n->out[0];
    switch (n->op) {
    case OP_GEMM:
    case OP_MATMUL:
        a = n->in[0], b = n->in[1];
        if (!const_2d(b) || (y->dtype != DT_F32 && y->dtype != DT_F16 && y->dtype != DT_BF16) ||
            a->dtype != y->dtype || b->dtype != y->dtype)
            return false;
        if ((n->op == OP_GEMM && n->a.trans_a) || (y->dtype == DT_F16 && !t->f16_convert))
            return false; /* (f16 without hardware conversion: the plain kernel) */
        if (n->nin > 2 && n->in[2]) { /* a bias along N only */
            const Shape *cs = &n->in[2]->shape;
            for (int i = 0; i < cs->rank - 1; i++)
                if (cs->d[i] != 1)
                    return false;
            if (n->in[2]->dtype != y->dtype)
                return false;
        }
        break;
    case OP_MATMUL_INTEGER:
    case OP_QLINEAR_MATMUL: {
        bool ql = n->op == OP_QLINEAR_MATMUL;
        a = n->in[0], b = n->in[ql ? 3 : 1];
        const Value *bz = n->nin > (ql ? 5 : 3) ? n->in[ql ? 5 : 3] : NULL;
        if (!const_2d(b) || (bz && bz->kind != VAL_CONST))
            return false;
        if (ql && (numel_or_1(n->in[6]) != 1 || numel_or_1(n->nin > 7 ? n->in[7] : NULL) != 1))
            return false;
        p->integer = true;
        break;
    }
    case OP_CONV:
    case OP_CONV_INTEGER:
    case OP_QLINEAR_CONV:
        return plan_conv(t, n, p);
    default:
        return false;
    }
    if (a->shape.rank < 1 || (a->shape.rank == 1 && n->op == OP_GEMM))
        return false;
    p->ta = a->dtype, p->tb = b->dtype, p->ty = y->dtype;
    /* rows: Y's dims before N (A is dense over them: B has no batch dims) */
    p->K = a->shape.d[a->shape.rank - 1];
    p->N = n->op == OP_GEMM && n->a.trans_b ? b->shape.d[0] : b->shape.d[1];
    p->rows_static = 1;
    for (int i = 0; i + 1 < y->shape.rank; i++) {
        if (y->shape.d[i] == DIM_BATCH)
            p->batch0 = true;
        p->rows_static *= shape_dim(&y->shape, i);
    }
    p->M = a->shape.rank >= 2 ? a->shape.d[a->shape.rank - 2] : 1;
    if (p->integer) { /* a per-row A zero point must index rows of a static M */
        const Value *az = n->nin > 2 ? n->in[2] : NULL;
        if (numel_or_1(az) != 1 && (p->M == DIM_BATCH || numel_or_1(az) != p->M))
            return false;
        if (n->op == OP_QLINEAR_MATMUL && numel_or_1(n->in[1]) != 1)
            return false;
    }
    if (p->K < 1 || p->N < 1 || p->rows_static < 1)
        return false;
    if (p->K * p->N < MM_MIN_KN)
        return false;
    p->pairs_fit = p->integer && weights_pair_fit(b, false, p->N, p->K, 1);
    plan_tiles(t, p);
    return true;
}

static const char *dot_name(DotKind d)
{
    switch (d) {
    case DOT_VNNI: return "vnni";
    case DOT_SDOT: return "sdot";
    case DOT_PMADDWD: return "pmaddwd";
    case DOT_PMADDUBSW: return "pmaddubsw (no weight pair can saturate it)";
    default: return "widen";
    }
}

const char *cg_mm_desc(const Target *t, const Node *n, char *buf, size_t len)
{
    MmPlan p;
    if (!plan(t, n, &p))
        return NULL;
    const char *how = p.conv ? ", implicit GEMM over a ring of packed input rows" : "";
    if (p.integer)
        snprintf(buf, len, "%dx%dc%d tiles, packed weights, %s, exact i32%s", p.MR, p.G * p.W, p.kg, dot_name(p.dot),
                 how);
    else
        snprintf(buf, len, "%dx%d%s tiles, packed %s weights%s%s", p.MR, p.G * p.W, p.bf16dot ? "c2" : "",
                 dtype_name(p.tb), p.bf16dot ? ", vdpbf16ps into f32" : "", how);
    return buf;
}

const char *cg_mm_tag(const Target *t, const Node *n, char *buf, size_t len)
{
    MmPlan p;
    if (!plan(t, n, &p))
        return NULL;
    bool c = p.integer || p.bf16dot;
    snprintf(buf, len, "%dx%d%s%s", p.MR, p.G * p.W, c ? "c" : "", c ? (p.kg == 4 ? "4" : p.kg == 2 ? "2" : "1") : "");
    return buf;
}

/* ---- packing (compile time) --------------------------------------------- */

/* Bytes of a packed B element: the float type's, i8 for the 4-wide dots,
 * else i16 (pmaddwd, generic). */
static int b_bytes(const MmPlan *p)
{
    return !p->integer ? dtype_size(p->tb) : p->kg == 4 ? 1 : 2;
}

/* The element of the weights that is B[k, n]: through the desc's strides,
 * or for a conv W[n][c][kh][kw] with k = (kh*KW + kw)*Cg + c; false for the
 * zeros of the channels past Cw. */
static bool b_index(const MmPlan *p, const GemmDesc *g, int64_t k, int64_t n, int64_t *i)
{
    if (!p->conv) {
        *i = k * g->sbk + n * g->sbn;
        return true;
    }
    int64_t tap = k / p->Cg, c = k % p->Cg;
    *i = (n * p->Cw + c) * p->KH * p->KW + tap;
    return c < p->Cw;
}

/* Pack B into the microkernel's layout; for integers also colsum[n]. */
static void *pack(const MmPlan *p, const Value *b, const GemmDesc *g, size_t *bytes, int32_t *colsum)
{
    int64_t GW = (int64_t)p->G * p->W, Kp = (p->K + p->kg - 1) / p->kg * p->kg;
    int es = b_bytes(p);
    *bytes = (size_t)(p->npg * Kp * GW * es);
    unsigned char *dst = calloc(*bytes + 64, 1);
    if (!dst)
        return NULL;
    for (int64_t n = 0; n < p->N; n++) {
        int64_t grp = n / p->Ng * p->cpg + n % p->Ng / GW, c = n % p->Ng % GW;
        int64_t base = grp * Kp * GW;
        int32_t sum = 0;
        for (int64_t k = 0; k < p->K; k++) {
            int64_t at = base + (k / p->kg) * GW * p->kg + c * p->kg + k % p->kg; /* element index */
            int64_t i;
            if (!b_index(p, g, k, n, &i))
                continue; /* zero */
            if (!p->integer) {
                memcpy(dst + at * es, (const char *)b->data + i * es, (size_t)es);
                continue;
            }
            int32_t v = b->dtype == DT_U8 ? ((const uint8_t *)b->data)[i] : ((const int8_t *)b->data)[i];
            sum += v;
            if (es == 1)
                dst[at] = (unsigned char)(int8_t)v;
            else
                memcpy(dst + at * 2, &(int16_t){(int16_t)v}, 2);
        }
        if (colsum)
            colsum[n] = sum;
    }
    return dst;
}

/* ---- code ---------------------------------------------------------------- */

typedef struct Mm {
    const MmPlan *p;
    const Node *n;
    GemmDesc g;
    LLVMValueRef A, Bp, Y;    /* A and Y from the arguments, Bp the packed constant */
    DType tam;                /* the type of A in memory where the tiles read it */
    LLVMTypeRef vt;           /* <W x f32> or <W x i32> */
    LLVMValueRef tile;        /* [MR * G * W] accumulator spill for the epilogue */
    LLVMValueRef tout;        /* conv: [MR * G * W] of the epilogue's results (tout_type) */
    LLVMValueRef c0, c1;      /* integer corrections per column (constants), or NULL */
    bool c0_bias;             /* c0 includes QLinear*'s constant i32 bias */
    bool c0_za;               /* c0 includes za * c1 (A's zero point a constant, one for all rows) */
    LLVMValueRef mult;        /* QLinear*: the multiplier per column (interp_req_scale) as f64 when
                               * the scales are constants, or NULL */
    bool mult_finite;         /* every one of them finite */
    bool rowsum;              /* some B zero point is not 0 */
    bool flip;                /* A's top bit flipped for the dot instruction */
    bool awide;               /* pmaddwd: the tile's A rows widened to i16 first (a_wide) */
    int32_t delta;            /* what the flip adds to each A value */
    LLVMValueRef col0;        /* the first column of the group being generated */
    LLVMValueRef gch;         /* conv: its conv group's first input channel */
    /* conv: the ring, and the band being generated (image n, its first
     * output row oh and that row's first input row) */
    LLVMValueRef ring, cn, coh, cih;
    int64_t ystride;          /* Y elements between columns: 1, or OH*OW */
} Mm;

static LLVMValueRef load_align1(Cg *cg, LLVMTypeRef t, LLVMValueRef ptr)
{
    LLVMValueRef v = LLVMBuildLoad2(cg->b, t, ptr, "");
    LLVMSetAlignment(v, 1);
    return v;
}

static LLVMValueRef byte_ptr(Cg *cg, LLVMValueRef base, LLVMValueRef off)
{
    return LLVMBuildInBoundsGEP2(cg->b, cg->i8, base, &off, 1, "");
}

/* The B vector of panel j at packed step kq of the group at `grp`. */
static LLVMValueRef load_b(Cg *cg, const Mm *m, LLVMValueRef grp, LLVMValueRef kq, int j)
{
    const MmPlan *p = m->p;
    int64_t GW = (int64_t)p->G * p->W;
    int es = b_bytes(p);
    int64_t step = GW * p->kg * es; /* bytes per packed step */
    LLVMValueRef off = LLVMBuildNSWAdd(cg->b, LLVMBuildNSWMul(cg->b, kq, cg_i64(cg, step), ""),
                                       cg_i64(cg, (int64_t)j * p->W * p->kg * es), "");
    LLVMValueRef ptr = byte_ptr(cg, grp, off);
    if (!p->integer) {
        if (p->tb == DT_F32)
            return load_align1(cg, m->vt, ptr);
        if (p->bf16dot) /* W lanes of bf16 pairs */
            return LLVMBuildBitCast(cg->b, load_align1(cg, LLVMVectorType(cg->i16, (unsigned)(2 * p->W)), ptr),
                                    LLVMVectorType(LLVMBFloatTypeInContext(cg->ctx), (unsigned)(2 * p->W)), "");
        LLVMValueRef h = load_align1(cg, LLVMVectorType(cg->i16, (unsigned)p->W), ptr);
        if (p->tb == DT_BF16) { /* bf16 is f32's top half */
            LLVMValueRef w = LLVMBuildShl(cg->b, LLVMBuildZExt(cg->b, h, LLVMVectorType(cg->i32, (unsigned)p->W), ""),
                                          cg_splat(cg, cg_i32(cg, 16), p->W), "");
            return LLVMBuildBitCast(cg->b, w, m->vt, "");
        }
        return LLVMBuildFPExt(cg->b, LLVMBuildBitCast(cg->b, h, LLVMVectorType(cg->f16, (unsigned)p->W), ""), m->vt, "");
    }
    if (p->dot == DOT_GENERIC)
        return LLVMBuildSExt(cg->b, load_align1(cg, LLVMVectorType(cg->i16, (unsigned)p->W), ptr), m->vt, "");
    return load_align1(cg, m->vt, ptr); /* i32 lanes of 4 i8 or 2 i16 */
}

/* The A operand at `ptr` (an element of A's row at a packed step),
 * broadcast: one float, or kg integers in an i32 lane. `tail` (static)
 * marks the last, partial k-group, read byte by byte. */
static LLVMValueRef load_a(Cg *cg, const Mm *m, LLVMValueRef ptr, int tail)
{
    const MmPlan *p = m->p;
    LLVMBuilderRef b = cg->b;
    if (p->bf16dot) { /* a pair of bf16 in an i32, broadcast (the tail's: one, and a +0) */
        LLVMValueRef w = tail ? LLVMBuildZExt(b, load_align1(cg, cg->i16, ptr), cg->i32, "") : load_align1(cg, cg->i32, ptr);
        return LLVMBuildBitCast(b, cg_splat(cg, w, p->W), LLVMVectorType(LLVMBFloatTypeInContext(cg->ctx), (unsigned)(2 * p->W)),
                                "");
    }
    if (!p->integer)
        return cg_splat(cg, cg_load(cg, m->tam, ptr, cg_i64(cg, 0)), p->W);
    bool s = p->ta == DT_I8;
    switch (p->dot) {
    case DOT_VNNI:
    case DOT_SDOT:
    case DOT_PMADDUBSW: {
        LLVMValueRef w;
        if (!tail) {
            w = load_align1(cg, cg->i32, ptr);
        } else { /* the bytes there are; B is 0 beyond K */
            w = cg_i32(cg, 0);
            for (int u = 0; u < tail; u++) {
                LLVMValueRef x = LLVMBuildZExt(b, load_align1(cg, cg->i8, byte_ptr(cg, ptr, cg_i64(cg, u))), cg->i32, "");
                w = LLVMBuildOr(b, w, LLVMBuildShl(b, x, cg_i32(cg, 8 * u), ""), "");
            }
        }
        if (m->flip)
            w = LLVMBuildXor(b, w, cg_i32(cg, (int32_t)0x80808080u), "");
        return cg_splat(cg, w, p->W);
    }
    case DOT_PMADDWD: {
        if (m->awide) /* the pair, already widened and padded: one broadcast load */
            return cg_splat(cg, load_align1(cg, cg->i32, ptr), p->W);
        if (!tail) { /* the pair as one 16-bit load, widened as a vector (vpmovzxbw) */
            LLVMTypeRef v2b = LLVMVectorType(cg->i8, 2), v2w = LLVMVectorType(cg->i16, 2);
            LLVMValueRef x = LLVMBuildBitCast(b, load_align1(cg, cg->i16, ptr), v2b, "");
            x = s ? LLVMBuildSExt(b, x, v2w, "") : LLVMBuildZExt(b, x, v2w, "");
            return cg_splat(cg, LLVMBuildBitCast(b, x, cg->i32, ""), p->W);
        }
        LLVMValueRef lo = load_align1(cg, cg->i8, ptr), hi;
        hi = tail ? LLVMConstInt(cg->i8, 0, 0) : load_align1(cg, cg->i8, byte_ptr(cg, ptr, cg_i64(cg, 1)));
        lo = s ? LLVMBuildSExt(b, lo, cg->i16, "") : LLVMBuildZExt(b, lo, cg->i16, "");
        hi = s ? LLVMBuildSExt(b, hi, cg->i16, "") : LLVMBuildZExt(b, hi, cg->i16, "");
        LLVMValueRef w = LLVMBuildOr(b, LLVMBuildZExt(b, lo, cg->i32, ""),
                                     LLVMBuildShl(b, LLVMBuildZExt(b, hi, cg->i32, ""), cg_i32(cg, 16), ""), "");
        return cg_splat(cg, w, p->W);
    }
    default: {
        LLVMValueRef x = load_align1(cg, cg->i8, ptr);
        return cg_splat(cg, s ? LLVMBuildSExt(b, x, cg->i32, "") : LLVMBuildZExt(b, x, cg->i32, ""), p->W);
    }
    }
}

/* acc + a * b in the plan's arithmetic. */
static LLVMValueRef madd(Cg *cg, const Mm *m, LLVMValueRef acc, LLVMValueRef a, LLVMValueRef bv)
{
    const MmPlan *p = m->p;
    LLVMBuilderRef b = cg->b;
    if (p->bf16dot) { /* acc + a[2i]*b[2i] + a[2i+1]*b[2i+1] per lane, each product exact */
        LLVMValueRef args[3] = {acc, a, bv};
        return cg_intrin(cg, p->W == 16 ? "llvm.x86.avx512bf16.dpbf16ps.512" : "llvm.x86.avx512bf16.dpbf16ps.256", NULL, 0,
                         args, 3);
    }
    if (!p->integer) {
        LLVMTypeRef t = m->vt;
        LLVMValueRef args[3] = {a, bv, acc};
        return cg_intrin(cg, "llvm.fmuladd", &t, 1, args, 3);
    }
    switch (p->dot) {
    case DOT_VNNI: {
        LLVMValueRef args[3] = {acc, a, bv};
        return cg_intrin(cg, p->W == 16 ? "llvm.x86.avx512.vpdpbusd.512" : "llvm.x86.avx512.vpdpbusd.256", NULL, 0,
                         args, 3);
    }
    case DOT_SDOT: {
        LLVMTypeRef v16 = LLVMVectorType(cg->i8, 16), ovl[2] = {m->vt, v16};
        LLVMValueRef args[3] = {acc, LLVMBuildBitCast(b, a, v16, ""), LLVMBuildBitCast(b, bv, v16, "")};
        return cg_intrin(cg, "llvm.aarch64.neon.sdot", ovl, 2, args, 3);
    }
    case DOT_PMADDUBSW: { /* u8 x s8 pairs -> i16 (exact: pairs_fit), pairs of those -> i32 */
        LLVMTypeRef v8 = LLVMVectorType(cg->i8, (unsigned)(4 * p->W));
        LLVMValueRef args[2] = {LLVMBuildBitCast(b, a, v8, ""), LLVMBuildBitCast(b, bv, v8, "")};
        const char *ub = p->W == 16 ? "llvm.x86.avx512.pmaddubs.w.512"
                         : p->W == 8 ? "llvm.x86.avx2.pmadd.ub.sw"
                                     : "llvm.x86.ssse3.pmadd.ub.sw.128";
        const char *wd = p->W == 16 ? "llvm.x86.avx512.pmaddw.d.512"
                         : p->W == 8 ? "llvm.x86.avx2.pmadd.wd"
                                     : "llvm.x86.sse2.pmadd.wd";
        LLVMValueRef pairs[2] = {cg_intrin(cg, ub, NULL, 0, args, 2),
                                 cg_splat(cg, LLVMConstInt(cg->i16, 1, 0), 2 * p->W)};
        return LLVMBuildAdd(b, acc, cg_intrin(cg, wd, NULL, 0, pairs, 2), "");
    }
    case DOT_PMADDWD: {
        LLVMTypeRef h = LLVMVectorType(cg->i16, (unsigned)(2 * p->W));
        LLVMValueRef args[2] = {LLVMBuildBitCast(b, a, h, ""), LLVMBuildBitCast(b, bv, h, "")};
        const char *name = p->W == 16 ? "llvm.x86.avx512.pmaddw.d.512"
                           : p->W == 8 ? "llvm.x86.avx2.pmadd.wd"
                                       : "llvm.x86.sse2.pmadd.wd";
        return LLVMBuildAdd(b, acc, cg_intrin(cg, name, NULL, 0, args, 2), "");
    }
    default:
        return LLVMBuildAdd(b, acc, LLVMBuildMul(b, a, bv, ""), "");
    }
}

/* The accumulators of one tile: mr rows, G panels, U unrolled k sets. */
typedef struct Acc {
    LLVMValueRef slot[4][14][4];
    int mr, U;
} Acc;

/* One packed step into accumulator set u: B at packed step kq of the
 * group at `grp`, A at aptr[i] + aoff elements for row i. */
static void step(Cg *cg, const Mm *m, Acc *acc, LLVMValueRef grp, LLVMValueRef kq, LLVMValueRef *aptr,
                 LLVMValueRef aoff, int u, int tail)
{
    const MmPlan *p = m->p;
    LLVMBuilderRef b = cg->b;
    LLVMValueRef bv[4];
    for (int j = 0; j < p->G; j++)
        bv[j] = load_b(cg, m, grp, kq, j);
    for (int i = 0; i < acc->mr; i++) {
        LLVMValueRef av = load_a(cg, m, cg_gep(cg, m->awide ? DT_I16 : m->tam, aptr[i], aoff), tail);
        for (int j = 0; j < p->G; j++) {
            LLVMValueRef s = acc->slot[u][i][j];
            LLVMBuildStore(b, madd(cg, m, LLVMBuildLoad2(b, m->vt, s, ""), av, bv[j]), s);
        }
    }
}

/* Packed steps [0, nsteps) (and a partial one of `tail` bytes) from A at
 * aptr[i], B from packed step kq0, U-unrolled. */
static void k_steps(Cg *cg, const Mm *m, Acc *acc, LLVMValueRef grp, LLVMValueRef kq0, LLVMValueRef *aptr,
                    int64_t nsteps, int tail)
{
    LLVMBuilderRef b = cg->b;
    int U = acc->U, kg = m->p->kg;
    int64_t main = nsteps - nsteps % U;
    if (main > 0) {
        CgLoop lk;
        LLVMValueRef kq = cg_for_begin(cg, &lk, cg_i64(cg, 0), cg_i64(cg, main), cg_i64(cg, U), "kq");
        for (int u = 0; u < U; u++) {
            LLVMValueRef k = u ? LLVMBuildNSWAdd(b, kq, cg_i64(cg, u), "") : kq;
            step(cg, m, acc, grp, LLVMBuildNSWAdd(b, kq0, k, ""), aptr, LLVMBuildNSWMul(b, k, cg_i64(cg, kg), ""), u, 0);
        }
        lk.no_unroll = true;
        cg_for_end(cg, &lk);
    }
    for (int64_t kq = main; kq < nsteps + (tail > 0); kq++)
        step(cg, m, acc, grp, LLVMBuildNSWAdd(b, kq0, cg_i64(cg, kq), ""), aptr, cg_i64(cg, kq * kg), 0,
             kq == nsteps ? tail : 0);
}

static void tile_epilogue(Cg *cg, const Mm *m, LLVMValueRef row, LLVMValueRef *yb, int mr, int64_t ncols);

/* The W x W transpose of rows v[0..W) (vectors of W lanes, W a power of
 * two; rows no one reads may be undef): for d = W/2, ..., 1, pairs of
 * rows (r, r + d) exchange the blocks that swap bit d of the row and the
 * lane index (two shuffles each: unpack/shuffle/permute on x86). */
static void transpose(Cg *cg, LLVMValueRef *v, int W)
{
    LLVMBuilderRef b = cg->b;
    for (int d = W / 2; d >= 1; d /= 2)
        for (int r = 0; r < W; r++) {
            if (r & d)
                continue;
            LLVMValueRef m0[16], m1[16];
            for (int k = 0; k < W; k++) {
                m0[k] = cg_i32(cg, (k & d) ? W + k - d : k);
                m1[k] = cg_i32(cg, (k & d) ? W + k : k + d);
            }
            LLVMValueRef x = v[r], y = v[r + d];
            v[r] = LLVMBuildShuffleVector(b, x, y, LLVMConstVector(m0, (unsigned)W), "");
            v[r + d] = LLVMBuildShuffleVector(b, x, y, LLVMConstVector(m1, (unsigned)W), "");
        }
}

/* The element type of a conv's tout: Y's, or i32 for QLinearConv's 8-bit
 * results (transposed as i32: byte vectors would be scalarized) */
static LLVMTypeRef tout_type(Cg *cg, const Mm *m)
{
    return m->n->op == OP_QLINEAR_CONV ? cg->i32 : cg_mem_type(cg, m->p->ty);
}

/* A conv tile's results (tout: [pixel][column]) into Y, whose pixels are
 * consecutive per column (NCHW): blocks of W pixels x W columns
 * transposed in registers, each column's pixels one vector store at
 * Y[y0 + i0 + col * ystride], instead of a scalar store per element. */
static void transpose_store(Cg *cg, const Mm *m, LLVMValueRef y0, int mr, int64_t ncols)
{
    const MmPlan *p = m->p;
    LLVMBuilderRef b = cg->b;
    int W = p->W;
    int64_t GW = (int64_t)p->G * W;
    LLVMTypeRef yt = cg_mem_type(cg, p->ty), et = tout_type(cg, m), vt = LLVMVectorType(et, (unsigned)W);
    LLVMTargetDataRef dl = LLVMGetModuleDataLayout(cg->mod);
    unsigned al = (unsigned)LLVMABISizeOfType(dl, et), yal = (unsigned)LLVMABISizeOfType(dl, yt);
    for (int j = 0; j < p->G && j * W < ncols; j++)
        for (int i0 = 0; i0 < mr; i0 += W) {
            int nr = mr - i0 < W ? mr - i0 : W;
            LLVMValueRef v[16];
            for (int t = 0; t < W; t++) {
                if (t >= nr) {
                    v[t] = LLVMGetUndef(vt);
                    continue;
                }
                LLVMValueRef at = LLVMBuildInBoundsGEP2(b, et, m->tout, (LLVMValueRef[]){cg_i64(cg, (i0 + t) * GW + j * W)}, 1, "");
                v[t] = LLVMBuildLoad2(b, vt, at, "");
                LLVMSetAlignment(v[t], al);
            }
            transpose(cg, v, W);
            LLVMValueRef keep[16];
            for (int t = 0; t < nr; t++)
                keep[t] = cg_i32(cg, t);
            for (int c = 0; c < W && j * W + c < ncols; c++) {
                LLVMValueRef col = LLVMBuildNSWAdd(b, m->col0, cg_i64(cg, j * W + c), "");
                LLVMValueRef at = LLVMBuildNSWAdd(b, LLVMBuildNSWAdd(b, y0, cg_i64(cg, i0), ""),
                                                  LLVMBuildNSWMul(b, col, cg_i64(cg, m->ystride), ""), "");
                LLVMValueRef x = nr == W ? v[c] : LLVMBuildShuffleVector(b, v[c], LLVMGetUndef(vt), LLVMConstVector(keep, (unsigned)nr), "");
                if (yt != et)
                    x = LLVMBuildTrunc(b, x, LLVMVectorType(yt, (unsigned)nr), "");
                LLVMValueRef st = LLVMBuildStore(b, x, LLVMBuildInBoundsGEP2(b, yt, m->Y, &at, 1, ""));
                LLVMSetAlignment(st, yal);
            }
        }
}

/* The ring slot of input row ih (which may be negative: the padding) */
static LLVMValueRef ring_slot(Cg *cg, const Mm *m, LLVMValueRef ih)
{
    LLVMBuilderRef b = cg->b;
    LLVMValueRef rb = cg_i64(cg, m->p->Rb), slot = LLVMBuildSRem(b, ih, rb, "");
    return LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, slot, cg_i64(cg, 0), ""), LLVMBuildNSWAdd(b, slot, rb, ""),
                           slot, "slot");
}

/* pmaddwd without a wide A in memory would assemble each broadcast pair
 * from two bytes (loads, a widening shuffle and a broadcast shuffle per
 * row and step: the shuffle port, not the multiplier, bounds the loop).
 * Instead the tile's rows are widened once into an i16 buffer on the stack
 * (K rounded up to even with a 0, which B's zero padding multiplies), so a
 * step broadcasts each pair with one load; aptr[i] then point into it. The
 * values are the same, so is every sum. At most AWIDE_MAX_BYTES of stack.
 * A conv's ring is that buffer already: pmaddwd packs its input rows
 * widened (pack_ring_row), so the tiles read pairs the same way. */
enum { AWIDE_MAX_BYTES = 64 << 10 };

static void widen_rows(Cg *cg, const Mm *m, LLVMValueRef *aptr, int mr)
{
    const MmPlan *p = m->p;
    LLVMBuilderRef b = cg->b;
    int64_t Kp = p->K + (p->K & 1);
    LLVMValueRef buf = cg_alloca(cg, LLVMArrayType(cg->i16, (unsigned)(p->MR * Kp)), "awide");
    bool s = p->ta == DT_I8;
    for (int i = 0; i < mr; i++) {
        LLVMValueRef dst = cg_gep(cg, DT_I16, buf, cg_i64(cg, i * Kp));
        CgLoop lk;
        LLVMValueRef k = cg_for_begin(cg, &lk, cg_i64(cg, 0), cg_i64(cg, p->K), cg_i64(cg, 1), "wk");
        LLVMValueRef x = cg_load(cg, p->ta, aptr[i], k);
        cg_store(cg, DT_I16, dst, k, s ? LLVMBuildSExt(b, x, cg->i16, "") : LLVMBuildZExt(b, x, cg->i16, ""));
        cg_for_end(cg, &lk);
        if (Kp != p->K)
            cg_store(cg, DT_I16, dst, cg_i64(cg, p->K), LLVMConstInt(cg->i16, 0, 0));
        aptr[i] = dst;
    }
}

/* One tile: rows [row, row + mr) of the group whose packed B is at `grp`
 * (conv: output pixels row.. of the band that starts at output row m->coh
 * of image m->cn, counted row-major over the band: a tile may span rows);
 * ncols: its valid columns (G*W, or fewer in the last group). */
static void emit_tile(Cg *cg, const Mm *m, LLVMValueRef grp, LLVMValueRef row, int mr, int64_t ncols)
{
    const MmPlan *p = m->p;
    LLVMBuilderRef b = cg->b;
    int full = p->MR * p->G;
    Acc acc = {.mr = mr, .U = full / (mr * p->G)};
    acc.U = acc.U < 1 ? 1 : acc.U > 4 ? 4 : acc.U;
    /* packed steps of the inner loop: a conv's taps of one kernel row are
     * one run of the ring when DW is 1 (iw = ow*SW + kw: the windows'
     * [kw][c] are consecutive, as B's k is), else a run per kw */
    int64_t csteps = p->Cg / p->kg;
    int64_t rsteps = !p->conv ? p->K / p->kg : p->DW == 1 && p->groups == 1 ? p->KW * csteps : csteps;
    if (acc.U > 1 && rsteps < 2 * acc.U)
        acc.U = 1;
    LLVMValueRef zero = LLVMConstNull(m->vt);
    for (int u = 0; u < acc.U; u++)
        for (int i = 0; i < mr; i++)
            for (int j = 0; j < p->G; j++) {
                acc.slot[u][i][j] = cg_alloca(cg, m->vt, "acc");
                LLVMBuildStore(b, zero, acc.slot[u][i][j]);
            }
    LLVMValueRef aptr[14], yb[14];
    if (!p->conv) {
        for (int i = 0; i < mr; i++) {
            LLVMValueRef r = LLVMBuildNSWAdd(b, row, cg_i64(cg, i), "");
            aptr[i] = cg_gep(cg, m->tam, m->A, LLVMBuildNSWMul(b, r, cg_i64(cg, p->K), ""));
            yb[i] = LLVMBuildNSWMul(b, r, cg_i64(cg, p->N), "");
        }
        if (m->awide)
            widen_rows(cg, m, aptr, mr);
        k_steps(cg, m, &acc, grp, cg_i64(cg, 0), aptr, p->K / p->kg, (int)(p->K % p->kg));
    } else {
        /* taps: kh (a loop; each pixel's ring row), kw (unrolled), then
         * channels. Pixel i of the tile: band row r_i, column ow_i; its Y
         * offset is linear in i (the band's rows are consecutive) */
        LLVMValueRef ybase = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, m->cn, cg_i64(cg, p->N * p->M), ""),
                                             LLVMBuildNSWMul(b, m->coh, cg_i64(cg, p->OW), ""), "");
        LLVMValueRef s0[14], owi[14];
        LLVMValueRef slot0 = p->BR == 1 ? ring_slot(cg, m, m->cih) : NULL;
        for (int i = 0; i < mr; i++) {
            LLVMValueRef pix = LLVMBuildNSWAdd(b, row, cg_i64(cg, i), "pix");
            yb[i] = LLVMBuildNSWAdd(b, ybase, pix, "");
            if (p->BR == 1) {
                s0[i] = slot0, owi[i] = pix;
            } else { /* the ring slot of its first input row */
                LLVMValueRef r = LLVMBuildSDiv(b, pix, cg_i64(cg, p->OW), "brow");
                owi[i] = LLVMBuildNSWSub(b, pix, LLVMBuildNSWMul(b, r, cg_i64(cg, p->OW), ""), "ow");
                s0[i] = ring_slot(cg, m, LLVMBuildNSWAdd(b, m->cih, LLVMBuildNSWMul(b, r, cg_i64(cg, p->SH), ""), ""));
            }
        }
        CgLoop lh;
        LLVMValueRef kh = cg_for_begin(cg, &lh, cg_i64(cg, 0), cg_i64(cg, p->KH), cg_i64(cg, 1), "kh");
        LLVMValueRef dh = LLVMBuildNSWMul(b, kh, cg_i64(cg, p->DH), "");
        LLVMValueRef rbase[14];
        for (int i = 0; i < mr; i++) { /* slot s0 + kh*DH, wrapped (kh*DH < R <= Rb) */
            if (i > 0 && s0[i] == s0[i - 1]) {
                rbase[i] = rbase[i - 1];
                continue;
            }
            LLVMValueRef sl = LLVMBuildNSWAdd(b, s0[i], dh, "");
            sl = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSGE, sl, cg_i64(cg, p->Rb), ""),
                                 LLVMBuildNSWSub(b, sl, cg_i64(cg, p->Rb), ""), sl, "");
            rbase[i] = cg_gep(cg, m->tam, m->ring, LLVMBuildNSWMul(b, sl, cg_i64(cg, p->Wp * p->Cp), ""));
        }
        LLVMValueRef kq_h = LLVMBuildNSWMul(b, kh, cg_i64(cg, p->KW * csteps), "");
        for (int64_t kw = 0; kw < p->KW; kw += rsteps / csteps) {
            for (int i = 0; i < mr; i++) {
                LLVMValueRef iw = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, owi[i], cg_i64(cg, p->SW), ""),
                                                  cg_i64(cg, kw * p->DW), "");
                aptr[i] = cg_gep(cg, m->tam, rbase[i],
                                 LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, iw, cg_i64(cg, p->Cp), ""), m->gch, ""));
            }
            k_steps(cg, m, &acc, grp, LLVMBuildNSWAdd(b, kq_h, cg_i64(cg, kw * csteps), ""), aptr, rsteps, 0);
        }
        lh.no_unroll = true;
        cg_for_end(cg, &lh);
    }
    /* the sets into set 0, spilled to the tile buffer for the epilogue */
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < p->G; j++) {
            LLVMValueRef v = LLVMBuildLoad2(b, m->vt, acc.slot[0][i][j], "");
            for (int u = 1; u < acc.U; u++) {
                LLVMValueRef w = LLVMBuildLoad2(b, m->vt, acc.slot[u][i][j], "");
                v = p->integer ? LLVMBuildAdd(b, v, w, "") : LLVMBuildFAdd(b, v, w, "");
            }
            LLVMValueRef at = LLVMBuildInBoundsGEP2(b, p->integer ? cg->i32 : cg->f32, m->tile,
                                                    (LLVMValueRef[]){cg_i64(cg, ((int64_t)i * p->G + j) * p->W)}, 1, "");
            LLVMValueRef st = LLVMBuildStore(b, v, at);
            LLVMSetAlignment(st, 4);
        }
    tile_epilogue(cg, m, row, yb, mr, ncols);
    if (p->conv)
        transpose_store(cg, m, yb[0], mr, ncols);
}

/* The epilogue of a tile: for each row and valid column, the float
 * epilogue (Gemm's of k_gemm.c, or a conv's bias and activation) or the
 * integer corrections and requantization, read from the tile buffer (a
 * loop the vectorizer turns into vectors); Y[yb[i] + col * ystride], or
 * for a conv tout[i][c], for transpose_store. */
static void tile_epilogue(Cg *cg, const Mm *m, LLVMValueRef row, LLVMValueRef *yb, int mr, int64_t ncols)
{
    const MmPlan *p = m->p;
    const Node *n = m->n;
    LLVMBuilderRef b = cg->b;
    int64_t GW = (int64_t)p->G * p->W;
    for (int i = 0; i < mr; i++) {
        /* integer: this row's zero point and, when needed, its sum */
        LLVMValueRef za = NULL, rs = NULL;
        if (p->integer) {
            if (n->nin > 2 && n->in[2] && !m->c0_za) /* (per row: GEMM with a static M) */
                za = cg_qparam(cg, n, 2, LLVMBuildSRem(b, LLVMBuildNSWAdd(b, row, cg_i64(cg, i), ""),
                                                       cg_i64(cg, p->M), ""), false);
            if (m->rowsum) { /* (GEMM only) */
                LLVMValueRef r = LLVMBuildNSWAdd(b, row, cg_i64(cg, i), "r");
                LLVMValueRef sum = cg_alloca(cg, cg->i32, "rowsum");
                LLVMBuildStore(b, cg_i32(cg, 0), sum);
                CgLoop lk;
                LLVMValueRef k = cg_for_begin(cg, &lk, cg_i64(cg, 0), cg_i64(cg, p->K), cg_i64(cg, 1), "rk");
                LLVMValueRef x = cg_load(cg, p->ta, m->A, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, r, cg_i64(cg, p->K), ""), k, ""));
                LLVMBuildStore(b, LLVMBuildAdd(b, LLVMBuildLoad2(b, cg->i32, sum, ""), cg_widen_i32(cg, p->ta, x), ""), sum);
                lk.no_unroll = true;
                cg_for_end(cg, &lk);
                rs = LLVMBuildLoad2(b, cg->i32, sum, "");
            }
        }
        /* QLinear*: the output's scale and zero point, the range of the
         * result (the type's, narrowed by a fused relu or clip) */
        LLVMValueRef ys = NULL, yz = NULL, qlo = NULL, qhi = NULL;
        if (n->op == OP_QLINEAR_MATMUL || n->op == OP_QLINEAR_CONV) {
            ys = cg_qparam(cg, n, 6, cg_i64(cg, 0), true), yz = cg_qparam(cg, n, 7, cg_i64(cg, 0), false);
            cg_qrange(cg, p->ty, &qlo, &qhi);
            qlo = cg_qact(cg, &n->a, qlo, ys, yz, p->ty), qhi = cg_qact(cg, &n->a, qhi, ys, yz, p->ty);
        }
        CgLoop lc;
        LLVMValueRef c = cg_for_begin(cg, &lc, cg_i64(cg, 0), cg_i64(cg, ncols), cg_i64(cg, 1), "c");
        LLVMValueRef col = LLVMBuildNSWAdd(b, m->col0, c, "col");
        LLVMValueRef ti = LLVMBuildNSWAdd(b, cg_i64(cg, (int64_t)i * GW), c, "");
        /* (a conv's results go to tout, stored by transpose_store) */
        LLVMValueRef Yd = p->conv ? m->tout : m->Y;
        LLVMValueRef yi = p->conv ? ti : LLVMBuildNSWAdd(b, yb[i], LLVMBuildNSWMul(b, col, cg_i64(cg, m->ystride), ""), "");
        if (!p->integer) {
            LLVMValueRef v = LLVMBuildLoad2(b, cg->f32, LLVMBuildInBoundsGEP2(b, cg->f32, m->tile, &ti, 1, ""), "");
            if (p->conv) {
                if (n->nin > 2 && n->in[2])
                    v = LLVMBuildFAdd(b, v, cg_load(cg, p->ty, cg->arg[2], col), "");
                v = cg_act(cg, n->a.act, n->a.act_alpha, n->a.act_beta, v);
            } else {
                v = cg_gemm_epilogue(cg, n, &m->g, v, LLVMBuildNSWMul(b, col, cg_i64(cg, m->g.scn), ""));
            }
            cg_store(cg, p->ty, Yd, yi, v);
        } else {
            bool ql = n->op == OP_QLINEAR_MATMUL || n->op == OP_QLINEAR_CONV;
            LLVMValueRef v = LLVMBuildLoad2(b, cg->i32, LLVMBuildInBoundsGEP2(b, cg->i32, m->tile, &ti, 1, ""), "");
            v = LLVMBuildAdd(b, v, cg_load(cg, DT_I32, m->c0, col), "");
            if (za)
                v = LLVMBuildAdd(b, v, LLVMBuildMul(b, za, cg_load(cg, DT_I32, m->c1, col), ""), "");
            if (rs) {
                v = LLVMBuildSub(b, v, LLVMBuildMul(b, cg_qparam(cg, n, ql ? 5 : 3, col, false), rs, ""), "");
            }
            if (!ql) {
                cg_int_out(cg, n, v, col, Yd, yi);
            } else {
                if (n->nin > 8 && n->in[8] && !m->c0_bias) /* the i32 bias */
                    v = LLVMBuildAdd(b, v, cg_load(cg, DT_I32, cg->arg[8], col), "");
                LLVMValueRef mult;
                if (m->mult) {
                    mult = cg_load(cg, DT_F64, m->mult, col);
                } else {
                    LLVMValueRef as = cg_qparam(cg, n, 1, cg_i64(cg, 0), true), bsv = cg_qparam(cg, n, 4, col, true);
                    mult = LLVMBuildFDiv(b, LLVMBuildFMul(b, as, bsv, ""), ys, "M");
                }
                /* (the activation's clamp folded into the saturation) */
                LLVMValueRef q = cg_requant_to(cg, v, mult, yz, qlo, qhi, m->mult && m->mult_finite);
                if (p->conv) /* (transposed as i32, then narrowed) */
                    LLVMBuildStore(b, q, LLVMBuildInBoundsGEP2(b, cg->i32, Yd, &yi, 1, ""));
                else
                    cg_store(cg, p->ty, Yd, yi, LLVMBuildTrunc(b, q, cg_mem_type(cg, p->ty), ""));
            }
        }
        lc.no_unroll = true; /* (vectorized, not unrolled: it runs once per tile) */
        cg_for_end(cg, &lc);
    }
}

/* Rows [start, end) of one group: full tiles, then the remainder as tiles
 * of the powers of two below MR, largest first (13 = 8 + 4 + 1: three tile
 * shapes of code, not MR - 1). A conv's single-row band narrower than MR
 * is one tile. */
static void emit_rows(Cg *cg, const Mm *m, LLVMValueRef grp, LLVMValueRef start, LLVMValueRef end, int64_t ncols)
{
    const MmPlan *p = m->p;
    LLVMBuilderRef b = cg->b;
    if (p->conv && p->BR == 1 && p->OW < p->MR) {
        emit_tile(cg, m, grp, start, (int)p->OW, ncols);
        return;
    }
    LLVMValueRef rslot = cg_alloca(cg, cg->i64, "r");
    LLVMBuildStore(b, start, rslot);
    /* while (r + MR <= end) */
    LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "tiles.head");
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "tiles.body");
    LLVMBasicBlockRef exit = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "tiles.exit");
    LLVMBuildBr(b, head);
    LLVMPositionBuilderAtEnd(b, head);
    LLVMValueRef r = LLVMBuildLoad2(b, cg->i64, rslot, "");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLE, LLVMBuildNSWAdd(b, r, cg_i64(cg, p->MR), ""), end, ""), body, exit);
    LLVMPositionBuilderAtEnd(b, body);
    emit_tile(cg, m, grp, r, p->MR, ncols);
    LLVMBuildStore(b, LLVMBuildNSWAdd(b, r, cg_i64(cg, p->MR), ""), rslot);
    LLVMBuildBr(b, head);
    LLVMPositionBuilderAtEnd(b, exit);
    int top = 1;
    while (top * 2 < p->MR)
        top *= 2;
    for (int mr = top; mr >= 1 && p->MR > 1; mr /= 2) {
        r = LLVMBuildLoad2(b, cg->i64, rslot, "");
        CgIf fits;
        cg_if_begin(cg, &fits, LLVMBuildICmp(b, LLVMIntSLE, LLVMBuildNSWAdd(b, r, cg_i64(cg, mr), ""), end, ""));
        emit_tile(cg, m, grp, r, mr, ncols);
        LLVMBuildStore(b, LLVMBuildNSWAdd(b, r, cg_i64(cg, mr), ""), rslot);
        cg_if_end(cg, &fits);
    }
}

/* Rows [start, end) of the group gi: its packed B, first column, and the
 * last group's own code when N (a grouped conv's: Ng) does not fill it. */
static void emit_group(Cg *cg, Mm *m, LLVMValueRef gi, LLVMValueRef start, LLVMValueRef end)
{
    const MmPlan *p = m->p;
    LLVMBuilderRef b = cg->b;
    int64_t GW = (int64_t)p->G * p->W;
    int64_t es = b_bytes(p);
    int64_t gbytes = (p->K + p->kg - 1) / p->kg * p->kg * GW * es;
    LLVMValueRef grp = byte_ptr(cg, m->Bp, LLVMBuildNSWMul(b, gi, cg_i64(cg, gbytes), ""));
    /* (a grouped conv: column group gi is part sub of conv group g) */
    LLVMValueRef g = cg_i64(cg, 0), sub = gi;
    if (p->groups > 1) {
        g = LLVMBuildSDiv(b, gi, cg_i64(cg, p->cpg), "cgrp");
        sub = LLVMBuildSRem(b, gi, cg_i64(cg, p->cpg), "sub");
    }
    m->col0 = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, g, cg_i64(cg, p->Ng), ""), LLVMBuildNSWMul(b, sub, cg_i64(cg, GW), ""),
                              "col0");
    m->gch = LLVMBuildNSWMul(b, g, cg_i64(cg, p->groups > 1 ? p->Cw : 0), "gch");
    int64_t last_cols = p->Ng - (p->cpg - 1) * GW;
    if (last_cols == GW) {
        emit_rows(cg, m, grp, start, end, GW);
    } else if (p->cpg == 1) {
        emit_rows(cg, m, grp, start, end, last_cols);
    } else {
        LLVMBasicBlockRef bl = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "grp.last");
        LLVMBasicBlockRef bf = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "grp.full");
        LLVMBasicBlockRef bd = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "grp.done");
        LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntEQ, sub, cg_i64(cg, p->cpg - 1), ""), bl, bf);
        LLVMPositionBuilderAtEnd(b, bl);
        emit_rows(cg, m, grp, start, end, last_cols);
        LLVMBuildBr(b, bd);
        LLVMPositionBuilderAtEnd(b, bf);
        emit_rows(cg, m, grp, start, end, GW);
        LLVMBuildBr(b, bd);
        LLVMPositionBuilderAtEnd(b, bd);
    }
}

/* GEMM: the parallel index runs over (group, row) pairs, group-major. */
static void emit_gemm(Cg *cg, Mm *m)
{
    const MmPlan *p = m->p;
    LLVMBuilderRef b = cg->b;
    LLVMValueRef rows = p->batch0 ? LLVMBuildNSWMul(b, cg->batch, cg_i64(cg, p->rows_static), "rows")
                                  : cg_i64(cg, p->rows_static);
    LLVMValueRef lo = cg->par_lo, hi = cg->par_hi;
    CgIf nonempty;
    cg_if_begin(cg, &nonempty, LLVMBuildICmp(b, LLVMIntSLT, lo, hi, ""));
    LLVMValueRef g_first = LLVMBuildSDiv(b, lo, rows, ""), g_last = LLVMBuildSDiv(b, LLVMBuildSub(b, hi, cg_i64(cg, 1), ""), rows, "");
    CgLoop lg;
    LLVMValueRef gi = cg_for_begin(cg, &lg, g_first, LLVMBuildNSWAdd(b, g_last, cg_i64(cg, 1), ""), cg_i64(cg, 1), "grp");
    LLVMValueRef base = LLVMBuildNSWMul(b, gi, rows, "");
    LLVMValueRef start = LLVMBuildSub(b, lo, base, ""), end = LLVMBuildSub(b, hi, base, "");
    start = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, start, cg_i64(cg, 0), ""), cg_i64(cg, 0), start, "start");
    end = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSGT, end, rows, ""), rows, end, "end");
    emit_group(cg, m, gi, start, end);
    cg_for_end(cg, &lg);
    cg_if_end(cg, &nonempty);
}

/* The index in A of input row ih, channel c, column col0 (of image m->cn;
 * a chunk's row: of the one input row) */
static LLVMValueRef ring_src(Cg *cg, const Mm *m, LLVMValueRef c, LLVMValueRef ih, LLVMValueRef col0)
{
    const MmPlan *p = m->p;
    LLVMBuilderRef b = cg->b;
    int64_t hr = p->chunk ? 1 : p->H;
    LLVMValueRef src = LLVMBuildNSWMul(b, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, m->cn, cg_i64(cg, p->C), ""), c, ""),
                                       cg_i64(cg, hr * p->Wd), "");
    if (!p->chunk)
        src = LLVMBuildNSWAdd(b, src, LLVMBuildNSWMul(b, ih, cg_i64(cg, p->Wd), ""), "");
    return LLVMBuildNSWAdd(b, src, col0, "");
}

/* Pack input row ih of image m->cn into its ring slot: [iw][c] over the
 * padded width; the padding (and the channels past C) `pad`. The pad is
 * filled in (a vectorized fill), then the input row transposed in: blocks
 * of W channels x W columns through registers, and what is left over
 * channel by channel (unit-stride loads, stores Cp apart, kept scalar: as
 * vectors they would be byte scatters). */
static void pack_ring_row(Cg *cg, const Mm *m, LLVMValueRef ih, LLVMValueRef pad)
{
    const MmPlan *p = m->p;
    LLVMBuilderRef b = cg->b;
    LLVMValueRef dst = cg_gep(cg, m->tam, m->ring, LLVMBuildNSWMul(b, ring_slot(cg, m, ih), cg_i64(cg, p->Wp * p->Cp), ""));
    LLVMValueRef inrow = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntSGE, ih, cg_i64(cg, 0), ""),
                                      LLVMBuildICmp(b, LLVMIntSLT, ih, cg_i64(cg, p->H), ""), "");
    /* ring column j holds input column col0 + j of row ih (a chunk: of the
     * one row), j over the columns that exist: [jlo, jhi) */
    int64_t hr = p->chunk ? 1 : p->H; /* the input's own rows */
    LLVMValueRef col0 = p->chunk ? LLVMBuildNSWSub(b, LLVMBuildNSWMul(b, ih, cg_i64(cg, p->chunk), ""),
                                                   cg_i64(cg, p->PW), "col0")
                                 : cg_i64(cg, -p->PW);
    LLVMValueRef jlo = LLVMBuildNSWSub(b, cg_i64(cg, 0), col0, ""), jhi = LLVMBuildNSWSub(b, cg_i64(cg, p->Wd), col0, "");
    jlo = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSGT, jlo, cg_i64(cg, 0), ""), jlo, cg_i64(cg, 0), "jlo");
    jhi = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, jhi, cg_i64(cg, p->Wp), ""), jhi, cg_i64(cg, p->Wp), "jhi");
    /* the pad: everywhere in a row of the padding, else (when C is Cp:
     * no channel padding) in the columns outside [jlo, jhi) only */
    LLVMValueRef all = cg_i64(cg, p->Wp * p->Cp), flo = all, fhi = all;
    if (p->Cp == p->C) {
        LLVMValueRef jl = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, jhi, jlo, ""), jhi, jlo, "");
        flo = LLVMBuildSelect(b, inrow, LLVMBuildNSWMul(b, jl, cg_i64(cg, p->Cp), ""), all, "");
        fhi = LLVMBuildSelect(b, inrow, LLVMBuildNSWMul(b, jhi, cg_i64(cg, p->Cp), ""), all, "");
    }
    CgLoop lf, lf2;
    LLVMValueRef i = cg_for_begin(cg, &lf, cg_i64(cg, 0), flo, cg_i64(cg, 1), "fill");
    cg_store(cg, m->tam, dst, i, pad);
    cg_for_end(cg, &lf);
    i = cg_for_begin(cg, &lf2, fhi, all, cg_i64(cg, 1), "fill2");
    cg_store(cg, m->tam, dst, i, pad);
    cg_for_end(cg, &lf2);
    CgIf inside;
    cg_if_begin(cg, &inside, inrow);
    /* f32 and the integer rings: blocks of W channels x W columns, loaded
     * as W vectors (one per channel; integers widened to 32 bits),
     * transposed in registers and stored as W vectors (one per column,
     * integers narrowed to the ring's type); the columns past the last
     * block one by one */
    bool wide = m->tam == DT_I16, s = p->ta == DT_I8;
    bool bits = p->integer || m->tam == DT_BF16; /* moved as integers (bf16: its bits) */
    int64_t cfrom = 0;
    if ((bits || p->ta == DT_F32) && p->C >= p->W) {
        int W = p->W;
        LLVMTypeRef at_ = cg_mem_type(cg, p->ta), rt = cg_mem_type(cg, m->tam);
        LLVMTypeRef vt = LLVMVectorType(at_, (unsigned)W), wt = LLVMVectorType(cg->i32, (unsigned)W);
        LLVMTargetDataRef dl = LLVMGetModuleDataLayout(cg->mod);
        unsigned aal = (unsigned)LLVMABISizeOfType(dl, at_), ral = (unsigned)LLVMABISizeOfType(dl, rt);
        LLVMValueRef span = LLVMBuildNSWSub(b, jhi, jlo, "");
        span = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSGT, span, cg_i64(cg, 0), ""), span, cg_i64(cg, 0), "");
        LLVMValueRef jv = LLVMBuildNSWAdd(b, jlo, LLVMBuildAnd(b, span, cg_i64(cg, -(int64_t)W), ""), "jv");
        cfrom = p->C / W * W;
        CgLoop lb, lv, lt;
        LLVMValueRef c0 = cg_for_begin(cg, &lb, cg_i64(cg, 0), cg_i64(cg, cfrom), cg_i64(cg, W), "cb");
        LLVMValueRef src = ring_src(cg, m, c0, ih, col0);
        LLVMValueRef j = cg_for_begin(cg, &lv, jlo, jv, cg_i64(cg, W), "jb");
        LLVMValueRef v[16];
        for (int t = 0; t < W; t++) {
            LLVMValueRef at = LLVMBuildNSWAdd(b, src, LLVMBuildNSWAdd(b, j, cg_i64(cg, t * hr * p->Wd), ""), "");
            v[t] = LLVMBuildLoad2(b, vt, LLVMBuildInBoundsGEP2(b, at_, m->A, &at, 1, ""), "");
            LLVMSetAlignment(v[t], aal);
            if (bits)
                v[t] = s ? LLVMBuildSExt(b, v[t], wt, "") : LLVMBuildZExt(b, v[t], wt, "");
        }
        transpose(cg, v, W);
        for (int u = 0; u < W; u++) {
            LLVMValueRef at = LLVMBuildNSWAdd(b, c0, LLVMBuildNSWMul(b, LLVMBuildNSWAdd(b, j, cg_i64(cg, u), ""), cg_i64(cg, p->Cp), ""), "");
            LLVMValueRef x = bits ? LLVMBuildTrunc(b, v[u], LLVMVectorType(rt, (unsigned)W), "") : v[u];
            LLVMValueRef st = LLVMBuildStore(b, x, LLVMBuildInBoundsGEP2(b, rt, dst, &at, 1, ""));
            LLVMSetAlignment(st, ral);
        }
        lv.no_unroll = lv.no_vectorize = true;
        cg_for_end(cg, &lv);
        j = cg_for_begin(cg, &lt, jv, jhi, cg_i64(cg, 1), "jt");
        for (int t = 0; t < W; t++) {
            LLVMValueRef x = cg_load(cg, p->ta, m->A, LLVMBuildNSWAdd(b, src, LLVMBuildNSWAdd(b, j, cg_i64(cg, t * hr * p->Wd), ""), ""));
            if (wide)
                x = s ? LLVMBuildSExt(b, x, cg->i16, "") : LLVMBuildZExt(b, x, cg->i16, "");
            cg_store(cg, m->tam, dst, LLVMBuildNSWAdd(b, LLVMBuildNSWAdd(b, c0, cg_i64(cg, t), ""),
                                                  LLVMBuildNSWMul(b, j, cg_i64(cg, p->Cp), ""), ""), x);
        }
        lt.no_unroll = lt.no_vectorize = true;
        cg_for_end(cg, &lt);
        cg_for_end(cg, &lb);
    }
    /* integers 32 bits at a time: 4 channels of 8 bits, or 2 widened to
     * 16 bits (pmaddwd), from as many loads */
    int per = wide ? 2 : 4, cstep = p->integer && p->C % per == 0 ? per : 1;
    CgLoop lc, lw;
    LLVMValueRef c = cg_for_begin(cg, &lc, cg_i64(cg, cfrom), cg_i64(cg, p->C), cg_i64(cg, cstep), "c");
    LLVMValueRef src = ring_src(cg, m, c, ih, col0);
    LLVMValueRef iw = cg_for_begin(cg, &lw, jlo, jhi, cg_i64(cg, 1), "j");
    LLVMValueRef at = LLVMBuildNSWAdd(b, c, LLVMBuildNSWMul(b, iw, cg_i64(cg, p->Cp), ""), "");
    if (cstep == 1) {
        LLVMValueRef x = cg_load(cg, p->ta, m->A, LLVMBuildNSWAdd(b, src, iw, ""));
        if (wide)
            x = s ? LLVMBuildSExt(b, x, cg->i16, "") : LLVMBuildZExt(b, x, cg->i16, "");
        cg_store(cg, m->tam, dst, at, x);
    } else {
        LLVMValueRef w = cg_i32(cg, 0);
        for (int u = 0; u < cstep; u++) {
            LLVMValueRef idx = LLVMBuildNSWAdd(b, src, LLVMBuildNSWAdd(b, iw, cg_i64(cg, u * hr * p->Wd), ""), "");
            LLVMValueRef x = cg_load(cg, p->ta, m->A, idx);
            if (wide)
                x = s ? LLVMBuildSExt(b, x, cg->i16, "") : LLVMBuildZExt(b, x, cg->i16, "");
            x = LLVMBuildZExt(b, x, cg->i32, "");
            w = LLVMBuildOr(b, w, LLVMBuildShl(b, x, cg_i32(cg, (wide ? 16 : 8) * u), ""), "");
        }
        LLVMValueRef st = LLVMBuildStore(b, w, cg_gep(cg, m->tam, dst, at));
        LLVMSetAlignment(st, 4);
    }
    lw.no_vectorize = true;
    cg_for_end(cg, &lw);
    cg_for_end(cg, &lc);
    cg_if_end(cg, &inside);
}

/* Conv: the parallel index runs over output rows (n, oh), cut into bands
 * of at most BR rows of one image; each band packs the input rows it needs
 * that the call has not packed yet (rows between windows, SH > R, are
 * skipped), then runs every group of output channels over the band's
 * pixels, so a group's weights stay in cache for all of them. */
static void emit_conv(Cg *cg, Mm *m)
{
    const MmPlan *p = m->p;
    LLVMBuilderRef b = cg->b;
    m->ring = cg_alloca(cg, LLVMArrayType2(cg_mem_type(cg, m->tam), (uint64_t)(p->Rb * p->Wp * p->Cp)), "ring");
    LLVMSetAlignment(m->ring, 64);
    LLVMValueRef pad = p->integer ? ((m->n->nin > 2 && m->n->in[2]) ? cg_load(cg, p->ta, cg->arg[2], cg_i64(cg, 0))
                                                    : LLVMConstInt(cg->i8, 0, 0))
                                  : LLVMConstReal(cg->f32, 0.0);
    if (m->tam == DT_I16) /* (a widened ring) */
        pad = p->ta == DT_I8 ? LLVMBuildSExt(b, pad, cg->i16, "") : LLVMBuildZExt(b, pad, cg->i16, "");
    /* the input rows packed so far: [next_n, next_ih) is the state */
    LLVMValueRef next_n = cg_alloca(cg, cg->i64, "ring.n"), next_ih = cg_alloca(cg, cg->i64, "ring.ih");
    LLVMBuildStore(b, cg_i64(cg, -1), next_n);
    LLVMBuildStore(b, cg_i64(cg, 0), next_ih);
    /* for (r = lo; r < hi; r += nb) */
    LLVMValueRef rslot = cg_alloca(cg, cg->i64, "orow");
    LLVMBuildStore(b, cg->par_lo, rslot);
    LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "band.head");
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "band.body");
    LLVMBasicBlockRef exit = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "band.exit");
    LLVMBuildBr(b, head);
    LLVMPositionBuilderAtEnd(b, head);
    LLVMValueRef r = LLVMBuildLoad2(b, cg->i64, rslot, "");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, r, cg->par_hi, ""), body, exit);
    LLVMPositionBuilderAtEnd(b, body);
    m->cn = LLVMBuildSDiv(b, r, cg_i64(cg, p->OH), "n");
    m->coh = LLVMBuildSRem(b, r, cg_i64(cg, p->OH), "oh");
    LLVMValueRef nb = cg_i64(cg, 1);
    if (p->BR > 1) { /* min(BR, rows left in the image, rows left in the slice) */
        LLVMValueRef left = LLVMBuildNSWSub(b, cg_i64(cg, p->OH), m->coh, "");
        LLVMValueRef hl = LLVMBuildNSWSub(b, cg->par_hi, r, "");
        left = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, hl, left, ""), hl, left, "");
        nb = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, left, cg_i64(cg, p->BR), ""), left, cg_i64(cg, p->BR), "nb");
    }
    m->cih = LLVMBuildNSWSub(b, LLVMBuildNSWMul(b, m->coh, cg_i64(cg, p->SH), ""), cg_i64(cg, p->PH), "ih0");
    LLVMValueRef ih_end = LLVMBuildNSWAdd(b, m->cih, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, LLVMBuildNSWSub(b, nb, cg_i64(cg, 1), ""),
                                                                                     cg_i64(cg, p->SH), ""),
                                                                  cg_i64(cg, p->R), ""), "ih_end");
    LLVMValueRef same = LLVMBuildICmp(b, LLVMIntEQ, LLVMBuildLoad2(b, cg->i64, next_n, ""), m->cn, "");
    LLVMValueRef from = LLVMBuildLoad2(b, cg->i64, next_ih, "");
    from = LLVMBuildSelect(b, LLVMBuildAnd(b, same, LLVMBuildICmp(b, LLVMIntSGT, from, m->cih, ""), ""), from, m->cih,
                           "from");
    CgLoop lp;
    LLVMValueRef ih = cg_for_begin(cg, &lp, from, ih_end, cg_i64(cg, 1), "ih");
    if (p->SH > p->R) { /* (ih + PH) % SH < R: a row some window reads */
        CgIf read;
        LLVMValueRef t = LLVMBuildURem(b, LLVMBuildNSWAdd(b, ih, cg_i64(cg, p->PH), ""), cg_i64(cg, p->SH), "");
        cg_if_begin(cg, &read, LLVMBuildICmp(b, LLVMIntULT, t, cg_i64(cg, p->R), ""));
        pack_ring_row(cg, m, ih, pad);
        cg_if_end(cg, &read);
    } else {
        pack_ring_row(cg, m, ih, pad);
    }
    cg_for_end(cg, &lp);
    LLVMBuildStore(b, m->cn, next_n);
    LLVMBuildStore(b, ih_end, next_ih);
    LLVMValueRef npix = p->BR == 1 ? cg_i64(cg, p->OW) : LLVMBuildNSWMul(b, nb, cg_i64(cg, p->OW), "npix");
    CgLoop lg;
    LLVMValueRef gi = cg_for_begin(cg, &lg, cg_i64(cg, 0), cg_i64(cg, p->npg), cg_i64(cg, 1), "grp");
    emit_group(cg, m, gi, cg_i64(cg, 0), npix);
    cg_for_end(cg, &lg);
    LLVMBuildStore(b, LLVMBuildNSWAdd(b, r, nb, ""), rslot);
    LLVMBuildBr(b, head);
    LLVMPositionBuilderAtEnd(b, exit);
}

CgResult cg_k_mm(Cg *cg, const Node *n)
{
    MmPlan p;
    if (!plan(cg->t, n, &p))
        return CG_DECLINE;
    Mm m = {.p = &p, .n = n, .ystride = 1};
    bool ql = n->op == OP_QLINEAR_MATMUL || n->op == OP_QLINEAR_CONV;
    int ib = ql ? 3 : 1;
    if (!p.conv) {
        cg_gemm_describe(cg, n, 0, ib, &m.g);
        m.g.dt = p.ty;
        m.g.ct = cg->f32;
    } else {
        m.ystride = p.OH * p.OW;
    }
    m.A = cg->arg[0];
    /* a conv's ring holds f32 (bf16 for vdpbf16ps), or for pmaddwd the
     * input widened to i16 */
    m.tam = p.conv && p.bf16dot ? DT_BF16 : p.conv && !p.integer ? DT_F32 : p.conv && p.dot == DOT_PMADDWD ? DT_I16 : p.ta;
    m.Y = cg->arg[n->nin];
    m.vt = LLVMVectorType(p.integer ? cg->i32 : cg->f32, (unsigned)p.W);
    int64_t GW = (int64_t)p.G * p.W, Np = p.npg * GW;
    size_t bytes;
    int32_t *colsum = p.integer ? calloc((size_t)Np, sizeof(int32_t)) : NULL;
    void *packed = pack(&p, n->in[ib], &m.g, &bytes, colsum);
    if (!packed || (p.integer && !colsum)) {
        free(packed);
        free(colsum);
        diag_error(cg->d, n->loc, "out of memory packing the weights");
        return CG_FAIL;
    }
    m.Bp = cg_const_blob(cg, "qk.wp", packed, bytes);
    free(packed);
    cg_packed_input(cg, ib);
    if (p.integer) {
        /* corrections per column (docs/quantization.md; see the header) */
        const Value *bz = n->nin > (ql ? 5 : 3) ? n->in[ql ? 5 : 3] : NULL;
        m.flip = ((p.dot == DOT_VNNI || p.dot == DOT_PMADDUBSW) && p.ta == DT_I8) || (p.dot == DOT_SDOT && p.ta == DT_U8);
        m.delta = !m.flip ? 0 : p.ta == DT_I8 ? 128 : -128;
        m.awide = p.dot == DOT_PMADDWD && (p.conv || (int64_t)p.MR * (p.K + 1) * 2 <= AWIDE_MAX_BYTES);
        int32_t *c = calloc((size_t)Np * 2, sizeof(int32_t));
        if (!c) {
            free(colsum);
            diag_error(cg->d, n->loc, "out of memory");
            return CG_FAIL;
        }
        for (int64_t j = 0; j < p.N; j++) {
            int32_t zb = 0;
            if (bz) {
                int64_t k = numel_or_1(bz) == 1 ? 0 : j;
                zb = bz->dtype == DT_U8 ? ((const uint8_t *)bz->data)[k] : ((const int8_t *)bz->data)[k];
            }
            m.rowsum = m.rowsum || zb != 0;
            c[j] = (int32_t)((uint32_t)0 - (uint32_t)m.delta * (uint32_t)colsum[j]);
            c[Np + j] = (int32_t)((uint32_t)p.K * (uint32_t)zb - (uint32_t)colsum[j]);
        }
        /* A's zero point, a constant for every row: za * c1 joins c0 (the
         * same sum mod 2^32) */
        const Value *az = n->nin > 2 ? n->in[2] : NULL;
        if (az && az->kind == VAL_CONST && shape_numel(&az->shape) == 1 && (az->dtype == DT_U8 || az->dtype == DT_I8)) {
            int32_t za = az->dtype == DT_U8 ? ((const uint8_t *)az->data)[0] : ((const int8_t *)az->data)[0];
            for (int64_t j = 0; j < p.N; j++)
                c[j] = (int32_t)((uint32_t)c[j] + (uint32_t)za * (uint32_t)c[Np + j]);
            m.c0_za = true;
        }
        /* QLinear*: a constant i32 bias joins c0 (the same sum mod 2^32),
         * constant scales give the multipliers (interp_req_scale: the
         * interpreter's own f32 arithmetic) */
        const Value *bias = ql && n->nin > 8 ? n->in[8] : NULL;
        if (bias && bias->kind == VAL_CONST && bias->dtype == DT_I32 && shape_numel(&bias->shape) == p.N) {
            for (int64_t j = 0; j < p.N; j++)
                c[j] = (int32_t)((uint32_t)c[j] + (uint32_t)((const int32_t *)bias->data)[j]);
            m.c0_bias = true;
        }
        const Value *as = ql ? n->in[1] : NULL, *bs = ql ? n->in[4] : NULL, *ys = ql ? n->in[6] : NULL;
        double *mult = NULL;
        if (as && bs && ys && as->kind == VAL_CONST && bs->kind == VAL_CONST && ys->kind == VAL_CONST &&
            as->dtype == DT_F32 && bs->dtype == DT_F32 && ys->dtype == DT_F32 && (mult = calloc((size_t)Np, 8))) {
            int64_t nb = shape_numel(&bs->shape);
            m.mult_finite = true;
            for (int64_t j = 0; j < p.N; j++) {
                float mj = interp_req_scale(((const float *)as->data)[0], ((const float *)bs->data)[nb == 1 ? 0 : j],
                                            ((const float *)ys->data)[0]);
                mult[j] = mj; /* (f64 of the f32: what the requantization multiplies by) */
                m.mult_finite = m.mult_finite && isfinite(mj);
            }
            m.mult = cg_const_blob(cg, "qk.mult", mult, sizeof(double) * (size_t)Np);
            free(mult);
        }
        m.c0 = cg_const_blob(cg, "qk.c0", c, sizeof(int32_t) * (size_t)Np);
        m.c1 = cg_const_blob(cg, "qk.c1", c + Np, sizeof(int32_t) * (size_t)Np);
        free(c);
    }
    free(colsum);
    m.tile = cg_alloca(cg, LLVMArrayType2(p.integer ? cg->i32 : cg->f32, (uint64_t)(p.MR * GW)), "tile");
    if (p.conv)
        m.tout = cg_alloca(cg, LLVMArrayType2(tout_type(cg, &m), (uint64_t)(p.MR * GW)), "tout");

    /* the parallel index: GEMM (group, row) pairs; conv output rows */
    CgKernel *k = &cg->kernels[cg->nkernels - 1];
    int64_t work = p.conv ? p.rows_static : p.npg * p.rows_static;
    k->work_static = p.batch0 ? 0 : work;
    k->work_batch = p.batch0 ? work : 0;
    cg->par_open = true;
    if (p.conv)
        emit_conv(cg, &m);
    else
        emit_gemm(cg, &m);
    return CG_DONE;
}

/* k_gemm.c — MatMul and Gemm, with the fused bias and activation.
 *
 * Both are lowered to one description: rows r of Y (all batch dims times
 * M), each row y[r, 0..N) = act(alpha * sum_k A[r,k] B[k,n] + C[r,n]),
 * where A, B and C are addressed through strides (transposes, broadcast
 * batch dims and 1-D promotion are only strides).
 *
 * CPU: the parallel loop runs over rows; a row accumulates in its output
 * (rank-1 updates over k with a unit-stride inner loop over n, which
 * vectorizes); constant B with transB is transposed at compile time so
 * that inner loop is unit-stride. GPU: one thread per output element.
 * (The register-blocked, packed microkernels are a later step.) */
#include <stdlib.h>
#include <string.h>

#include "cg.h"

typedef struct GemmDesc {
    int64_t M, N, K;
    int nb;                    /* batch dims of Y (before M) */
    int64_t bext[QK_MAX_RANK]; /* their extents; bext[0] is scaled by the batch when batch0 */
    bool batch0;
    int64_t sab[QK_MAX_RANK], sbb[QK_MAX_RANK], scb[QK_MAX_RANK]; /* per batch dim strides */
    int64_t sam, sak, sbk, sbn, scm, scn;
    float alpha, beta;
    bool has_c;
    LLVMValueRef A, B, C, Y;
} GemmDesc;

/* Strides of operand shape `s` (right-aligned) against Y's batch dims. */
static void batch_strides(const Shape *s, int mat_dims, const GemmDesc *g, int64_t *out)
{
    int64_t st[QK_MAX_RANK];
    shape_strides(s, st);
    int sb = s->rank - mat_dims; /* operand's batch dims */
    for (int i = 0; i < g->nb; i++) {
        int j = i - (g->nb - sb);
        int64_t dim = j >= 0 ? s->d[j] : 1;
        out[i] = j >= 0 && (dim == DIM_BATCH || dim != 1) ? st[j] : 0;
    }
}

static bool describe(Cg *cg, const Node *n, GemmDesc *g)
{
    memset(g, 0, sizeof *g);
    const Shape *as = &n->in[0]->shape, *bs = &n->in[1]->shape, *ys = &n->out[0]->shape;
    g->A = cg->arg[0];
    g->B = cg->arg[1];
    g->Y = cg->arg[n->nin];
    g->alpha = 1.0f;
    g->beta = 1.0f;
    if (n->op == OP_GEMM) {
        g->M = n->a.trans_a ? as->d[1] : as->d[0];
        g->K = n->a.trans_a ? as->d[0] : as->d[1];
        g->N = n->a.trans_b ? bs->d[0] : bs->d[1];
        g->sam = n->a.trans_a ? 1 : g->K;
        g->sak = n->a.trans_a ? g->M : 1;
        g->sbk = n->a.trans_b ? 1 : g->N;
        g->sbn = n->a.trans_b ? g->K : 1;
        g->alpha = n->a.alpha;
        g->beta = n->a.beta;
        if (g->M == DIM_BATCH) { /* rows are the batch */
            g->M = 1;
            g->nb = 1, g->bext[0] = 1, g->batch0 = true;
            g->sab[0] = g->K;
        }
        if (n->nin > 2 && n->in[2]) {
            const Shape *cs = &n->in[2]->shape;
            g->has_c = true;
            g->C = cg->arg[2];
            /* C broadcast to [M, N]: right-aligned */
            int64_t cst[QK_MAX_RANK];
            shape_strides(cs, cst);
            int64_t dn = cs->rank >= 1 ? cs->d[cs->rank - 1] : 1, dm = cs->rank >= 2 ? cs->d[cs->rank - 2] : 1;
            g->scn = dn == 1 ? 0 : cst[cs->rank - 1];
            g->scm = cs->rank >= 2 && dm != 1 ? cst[cs->rank - 2] : 0;
            if (g->batch0)
                g->scb[0] = cs->rank >= 2 && dm == DIM_BATCH ? cst[cs->rank - 2] : 0;
        }
        return true;
    }
    /* MatMul: numpy promotion of 1-D operands */
    bool va = as->rank == 1, vb = bs->rank == 1;
    g->K = as->d[as->rank - 1];
    g->M = va ? 1 : as->d[as->rank - 2];
    g->N = vb ? 1 : bs->d[bs->rank - 1];
    g->sam = g->K, g->sak = 1;
    g->sbk = g->N, g->sbn = 1;
    int ya = va ? 0 : 1, yb = vb ? 0 : 1; /* matrix dims present in Y */
    g->nb = ys->rank - ya - yb;
    for (int i = 0; i < g->nb; i++)
        g->bext[i] = ys->d[i] == DIM_BATCH ? 1 : ys->d[i];
    g->batch0 = shape_has_batch(ys);
    if (g->M == DIM_BATCH) { /* A is [batch, K]: Y is [batch, N] */
        g->M = 1;
        g->nb = 1, g->bext[0] = 1;
        g->sab[0] = g->K;
        g->sbb[0] = 0;
    } else {
        batch_strides(as, va ? 1 : 2, g, g->sab);
        batch_strides(bs, vb ? 1 : 2, g, g->sbb);
    }
    if (n->nin > 2 && n->in[2]) { /* bias over the last dim */
        g->has_c = true;
        g->C = cg->arg[2];
        g->scn = 1;
    }
    return true;
}

/* Constant B read with sbn != 1: a transposed copy so rows of B are
 * contiguous. Only for a 2-D (or broadcast-free) constant on CPUs. */
static void pack_b(Cg *cg, const Node *n, GemmDesc *g)
{
    const Value *b = n->in[1];
    if (cg->t->gpu || g->sbn == 1 || b->kind != VAL_CONST || b->dtype != DT_F32 || b->shape.rank != 2)
        return;
    const float *src = b->data;
    float *dst = malloc(sizeof(float) * (size_t)(g->K * g->N));
    if (!dst)
        return;
    for (int64_t k = 0; k < g->K; k++)
        for (int64_t j = 0; j < g->N; j++)
            dst[k * g->N + j] = src[k * g->sbk + j * g->sbn];
    g->B = cg_const_blob(cg, "qk.wt", dst, sizeof(float) * (size_t)(g->K * g->N));
    free(dst);
    g->sbk = g->N;
    g->sbn = 1;
}

/* Offsets of A, B, C at batch index b (a flat index over the batch dims). */
static void batch_offsets(Cg *cg, const GemmDesc *g, LLVMValueRef bidx, LLVMValueRef *ao, LLVMValueRef *bo,
                          LLVMValueRef *co)
{
    LLVMBuilderRef b = cg->b;
    *ao = *bo = *co = cg_i64(cg, 0);
    LLVMValueRef rest = bidx;
    for (int i = g->nb - 1; i >= 0; i--) {
        LLVMValueRef digit = rest;
        if (i > 0) {
            digit = LLVMBuildURem(b, rest, cg_i64(cg, g->bext[i]), "");
            rest = LLVMBuildUDiv(b, rest, cg_i64(cg, g->bext[i]), "");
        }
        if (g->sab[i])
            *ao = LLVMBuildNSWAdd(b, *ao, LLVMBuildNSWMul(b, digit, cg_i64(cg, g->sab[i]), ""), "");
        if (g->sbb[i])
            *bo = LLVMBuildNSWAdd(b, *bo, LLVMBuildNSWMul(b, digit, cg_i64(cg, g->sbb[i]), ""), "");
        if (g->scb[i])
            *co = LLVMBuildNSWAdd(b, *co, LLVMBuildNSWMul(b, digit, cg_i64(cg, g->scb[i]), ""), "");
    }
}

/* y = act(alpha * acc + beta * C[...]) */
static LLVMValueRef epilogue(Cg *cg, const Node *n, const GemmDesc *g, LLVMValueRef acc, LLVMValueRef coff)
{
    LLVMBuilderRef b = cg->b;
    LLVMValueRef v = acc;
    if (g->alpha != 1.0f)
        v = LLVMBuildFMul(b, v, cg_f32(cg, g->alpha), "");
    if (g->has_c) {
        LLVMValueRef c = cg_load(cg, DT_F32, g->C, coff);
        if (g->beta != 1.0f)
            c = LLVMBuildFMul(b, c, cg_f32(cg, g->beta), "");
        v = LLVMBuildFAdd(b, v, c, "");
    }
    return cg_act(cg, n->a.act, n->a.act_alpha, n->a.act_beta, v);
}

bool cg_k_gemm(Cg *cg, const Node *n)
{
    if (n->out[0]->dtype != DT_F32)
        return diag_error(cg->d, n->loc, "%s of %s has no kernel yet", op_info[n->op].name,
                          dtype_name(n->out[0]->dtype));
    GemmDesc g;
    describe(cg, n, &g);
    pack_b(cg, n, &g);
    LLVMBuilderRef b = cg->b;
    int64_t rows = g.M;
    for (int i = 0; i < g.nb; i++)
        rows *= g.bext[i];
    LLVMValueRef M = cg_i64(cg, g.M), N = cg_i64(cg, g.N);

    if (cg->t->gpu) { /* one thread per output element */
        CgLoop par;
        LLVMValueRef idx = cg_par_begin(cg, &par, g.batch0 ? 0 : rows * g.N, g.batch0 ? rows * g.N : 0);
        LLVMValueRef r = LLVMBuildUDiv(b, idx, N, "r"), col = LLVMBuildURem(b, idx, N, "n");
        LLVMValueRef bi = LLVMBuildUDiv(b, r, M, ""), m = LLVMBuildURem(b, r, M, "m");
        LLVMValueRef ao, bo, co;
        batch_offsets(cg, &g, bi, &ao, &bo, &co);
        ao = LLVMBuildNSWAdd(b, ao, LLVMBuildNSWMul(b, m, cg_i64(cg, g.sam), ""), "");
        bo = LLVMBuildNSWAdd(b, bo, LLVMBuildNSWMul(b, col, cg_i64(cg, g.sbn), ""), "");
        LLVMValueRef accp = cg_alloca(cg, cg->f32, "acc");
        LLVMBuildStore(b, cg_f32(cg, 0), accp);
        CgLoop lk;
        LLVMValueRef k = cg_for_begin(cg, &lk, cg_i64(cg, 0), cg_i64(cg, g.K), cg_i64(cg, 1), "k");
        LLVMValueRef av = cg_load(cg, DT_F32, g.A, LLVMBuildNSWAdd(b, ao, LLVMBuildNSWMul(b, k, cg_i64(cg, g.sak), ""), ""));
        LLVMValueRef bv = cg_load(cg, DT_F32, g.B, LLVMBuildNSWAdd(b, bo, LLVMBuildNSWMul(b, k, cg_i64(cg, g.sbk), ""), ""));
        LLVMBuildStore(b, LLVMBuildFAdd(b, LLVMBuildLoad2(b, cg->f32, accp, ""), LLVMBuildFMul(b, av, bv, ""), ""), accp);
        cg_for_end(cg, &lk);
        co = LLVMBuildNSWAdd(b, co, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, m, cg_i64(cg, g.scm), ""),
                                                    LLVMBuildNSWMul(b, col, cg_i64(cg, g.scn), ""), ""), "");
        LLVMValueRef v = epilogue(cg, n, &g, LLVMBuildLoad2(b, cg->f32, accp, ""), co);
        cg_store(cg, DT_F32, g.Y, idx, v);
        cg_par_end(cg, &par);
        return true;
    }

    /* CPU: a row per parallel iteration */
    CgLoop par;
    LLVMValueRef r = cg_par_begin(cg, &par, g.batch0 ? 0 : rows, g.batch0 ? rows : 0);
    LLVMValueRef bi = LLVMBuildUDiv(b, r, M, ""), m = LLVMBuildURem(b, r, M, "m");
    LLVMValueRef ao, bo, co;
    batch_offsets(cg, &g, bi, &ao, &bo, &co);
    ao = LLVMBuildNSWAdd(b, ao, LLVMBuildNSWMul(b, m, cg_i64(cg, g.sam), ""), "a0");
    co = LLVMBuildNSWAdd(b, co, LLVMBuildNSWMul(b, m, cg_i64(cg, g.scm), ""), "c0");
    LLVMValueRef yrow = LLVMBuildNSWMul(b, r, N, "y0");
    LLVMValueRef yp = cg_gep(cg, DT_F32, g.Y, yrow);

    CgLoop l0;
    LLVMValueRef j = cg_for_begin(cg, &l0, cg_i64(cg, 0), N, cg_i64(cg, 1), "zero");
    cg_store(cg, DT_F32, yp, j, cg_f32(cg, 0));
    cg_for_end(cg, &l0);

    CgLoop lk;
    LLVMValueRef k = cg_for_begin(cg, &lk, cg_i64(cg, 0), cg_i64(cg, g.K), cg_i64(cg, 1), "k");
    LLVMValueRef av = cg_load(cg, DT_F32, g.A, LLVMBuildNSWAdd(b, ao, LLVMBuildNSWMul(b, k, cg_i64(cg, g.sak), ""), ""));
    LLVMValueRef brow = cg_gep(cg, DT_F32, g.B, LLVMBuildNSWAdd(b, bo, LLVMBuildNSWMul(b, k, cg_i64(cg, g.sbk), ""), ""));
    CgLoop ln;
    j = cg_for_begin(cg, &ln, cg_i64(cg, 0), N, cg_i64(cg, 1), "n");
    LLVMValueRef bv = cg_load(cg, DT_F32, brow, LLVMBuildNSWMul(b, j, cg_i64(cg, g.sbn), ""));
    LLVMValueRef yv = cg_load(cg, DT_F32, yp, j);
    cg_store(cg, DT_F32, yp, j, LLVMBuildFAdd(b, yv, LLVMBuildFMul(b, av, bv, ""), ""));
    cg_for_end(cg, &ln);
    cg_for_end(cg, &lk);

    if (g.has_c || g.alpha != 1.0f || n->a.act != ACT_NONE) {
        CgLoop le;
        j = cg_for_begin(cg, &le, cg_i64(cg, 0), N, cg_i64(cg, 1), "epi");
        LLVMValueRef cj = LLVMBuildNSWAdd(b, co, LLVMBuildNSWMul(b, j, cg_i64(cg, g.scn), ""), "");
        cg_store(cg, DT_F32, yp, j, epilogue(cg, n, &g, cg_load(cg, DT_F32, yp, j), cj));
        cg_for_end(cg, &le);
    }
    cg_par_end(cg, &par);
    return true;
}

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

bool cg_gemm_describe(Cg *cg, const Node *n, int ia, int ib, GemmDesc *g)
{
    memset(g, 0, sizeof *g);
    const Shape *as = &n->in[ia]->shape, *bs = &n->in[ib]->shape, *ys = &n->out[0]->shape;
    g->A = cg->arg[ia];
    g->B = cg->arg[ib];
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
        if (g->M == DIM_BATCH) { /* rows are the batch (and what was merged into it) */
            g->M = 1;
            g->nb = 1, g->bext[0] = shape_rows(as), g->batch0 = true;
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
        g->bext[i] = shape_dim(ys, i);
    g->batch0 = shape_has_batch(ys);
    if (g->M == DIM_BATCH) { /* A is [batch, K]: Y is [batch, N] */
        g->M = 1;
        g->nb = 1, g->bext[0] = shape_rows(as);
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
    if (cg->t->gpu || g->sbn == 1 || b->kind != VAL_CONST || b->shape.rank != 2)
        return;
    int es = dtype_size(b->dtype);
    const unsigned char *src = b->data;
    unsigned char *dst = malloc((size_t)(g->K * g->N * es) + 1);
    if (!dst)
        return;
    for (int64_t k = 0; k < g->K; k++)
        for (int64_t j = 0; j < g->N; j++)
            memcpy(dst + (k * g->N + j) * es, src + (k * g->sbk + j * g->sbn) * es, (size_t)es);
    g->B = cg_const_blob(cg, "qk.wt", dst, (size_t)(g->K * g->N * es));
    free(dst);
    cg_packed_input(cg, 1);
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

LLVMValueRef cg_gemm_epilogue(Cg *cg, const Node *n, const GemmDesc *g, LLVMValueRef acc, LLVMValueRef coff)
{
    LLVMBuilderRef b = cg->b;
    LLVMValueRef v = acc;
    if (g->alpha != 1.0f)
        v = LLVMBuildFMul(b, v, LLVMConstReal(g->ct, g->alpha), "");
    if (g->has_c) {
        LLVMValueRef c = cg_load(cg, g->dt, g->C, coff);
        if (g->beta != 1.0f)
            c = LLVMBuildFMul(b, c, LLVMConstReal(g->ct, g->beta), "");
        v = LLVMBuildFAdd(b, v, c, "");
    }
    if (g->ct == cg->f64 && (n->a.act == ACT_SIGMOID || n->a.act == ACT_TANH)) /* exp/tanh run in f32 */
        return LLVMBuildFPExt(b, cg_act(cg, n->a.act, n->a.act_alpha, n->a.act_beta, LLVMBuildFPTrunc(b, v, cg->f32, "")),
                              cg->f64, "");
    return cg_act(cg, n->a.act, n->a.act_alpha, n->a.act_beta, v);
}

/* ---- f32 products with a B computed at run time (CPUs) -------------------
 * Attention's Q K^T and P V: B is an activation, so k_mm.c's packed
 * microkernels do not apply, but its rows are contiguous (sbn = 1). Tiles of
 * TILE_MR rows by NV vectors of columns keep their sums in registers while
 * k runs; each output is still sum_k a*b added in k order without fusing, as
 * the plain loop below computes it (the same bits). Columns past the last
 * full block and rows past the last full tile take the plain loops. */
enum { TILE_MR = 6, TILE_NV = 2 };

typedef struct Tile {
    const GemmDesc *g;
    const Node *n;
    int W;                      /* f32 lanes per vector */
    LLVMValueRef ao, bo, co, y; /* the batch item's A, B, C offsets and Y row 0 */
} Tile;

/* rows [m, m + mr) of one batch item */
static void tile_rows(Cg *cg, const Tile *t, LLVMValueRef m, int mr)
{
    const GemmDesc *g = t->g;
    LLVMBuilderRef b = cg->b;
    int64_t jb = (int64_t)t->W * TILE_NV, nfull = g->N / jb * jb;
    LLVMTypeRef vt = LLVMVectorType(cg->f32, (unsigned)t->W);
    LLVMValueRef arow[TILE_MR], yrow[TILE_MR];
    for (int i = 0; i < mr; i++) {
        LLVMValueRef mi = LLVMBuildNSWAdd(b, m, cg_i64(cg, i), "");
        arow[i] = LLVMBuildNSWAdd(b, t->ao, LLVMBuildNSWMul(b, mi, cg_i64(cg, g->sam), ""), "");
        yrow[i] = LLVMBuildNSWAdd(b, t->y, LLVMBuildNSWMul(b, mi, cg_i64(cg, g->N), ""), "");
    }
    if (nfull > 0) {
        LLVMValueRef acc[TILE_MR][TILE_NV];
        for (int i = 0; i < mr; i++)
            for (int v = 0; v < TILE_NV; v++)
                acc[i][v] = cg_alloca(cg, vt, "acc");
        CgLoop lj, lk;
        LLVMValueRef j0 = cg_for_begin(cg, &lj, cg_i64(cg, 0), cg_i64(cg, nfull), cg_i64(cg, jb), "j");
        for (int i = 0; i < mr; i++)
            for (int v = 0; v < TILE_NV; v++)
                LLVMBuildStore(b, LLVMConstNull(vt), acc[i][v]);
        LLVMValueRef k = cg_for_begin(cg, &lk, cg_i64(cg, 0), cg_i64(cg, g->K), cg_i64(cg, 1), "k");
        LLVMValueRef brow = LLVMBuildNSWAdd(b, LLVMBuildNSWAdd(b, t->bo, LLVMBuildNSWMul(b, k, cg_i64(cg, g->sbk), ""), ""), j0, "");
        LLVMValueRef bv[TILE_NV];
        for (int v = 0; v < TILE_NV; v++) {
            LLVMValueRef p = cg_gep(cg, DT_F32, g->B, LLVMBuildNSWAdd(b, brow, cg_i64(cg, (int64_t)v * t->W), ""));
            bv[v] = LLVMBuildLoad2(b, vt, p, "");
            LLVMSetAlignment(bv[v], 4);
        }
        for (int i = 0; i < mr; i++) {
            LLVMValueRef ai = LLVMBuildNSWAdd(b, arow[i], LLVMBuildNSWMul(b, k, cg_i64(cg, g->sak), ""), "");
            LLVMValueRef a = cg_splat(cg, cg_load(cg, DT_F32, g->A, ai), t->W);
            for (int v = 0; v < TILE_NV; v++) {
                LLVMValueRef s = LLVMBuildFAdd(b, LLVMBuildLoad2(b, vt, acc[i][v], ""), LLVMBuildFMul(b, a, bv[v], ""), "");
                LLVMBuildStore(b, s, acc[i][v]);
            }
        }
        lk.no_unroll = true;
        cg_for_end(cg, &lk);
        for (int i = 0; i < mr; i++)
            for (int v = 0; v < TILE_NV; v++) {
                LLVMValueRef yi = LLVMBuildNSWAdd(b, yrow[i], LLVMBuildNSWAdd(b, j0, cg_i64(cg, (int64_t)v * t->W), ""), "");
                LLVMValueRef st = LLVMBuildStore(b, LLVMBuildLoad2(b, vt, acc[i][v], ""), cg_gep(cg, DT_F32, g->Y, yi));
                LLVMSetAlignment(st, 4);
            }
        cg_for_end(cg, &lj);
    }
    for (int i = 0; i < mr; i++) {
        CgLoop lj, lk;
        if (nfull < g->N) { /* the columns past the last full block */
            LLVMValueRef j = cg_for_begin(cg, &lj, cg_i64(cg, nfull), cg_i64(cg, g->N), cg_i64(cg, 1), "jr");
            LLVMValueRef sum = cg_alloca(cg, cg->f32, "sum");
            LLVMBuildStore(b, cg_f32(cg, 0.0f), sum);
            LLVMValueRef bcol = LLVMBuildNSWAdd(b, t->bo, j, "");
            LLVMValueRef k = cg_for_begin(cg, &lk, cg_i64(cg, 0), cg_i64(cg, g->K), cg_i64(cg, 1), "kr");
            LLVMValueRef a = cg_load(cg, DT_F32, g->A, LLVMBuildNSWAdd(b, arow[i], LLVMBuildNSWMul(b, k, cg_i64(cg, g->sak), ""), ""));
            LLVMValueRef bb = cg_load(cg, DT_F32, g->B, LLVMBuildNSWAdd(b, bcol, LLVMBuildNSWMul(b, k, cg_i64(cg, g->sbk), ""), ""));
            LLVMBuildStore(b, LLVMBuildFAdd(b, LLVMBuildLoad2(b, cg->f32, sum, ""), LLVMBuildFMul(b, a, bb, ""), ""), sum);
            cg_for_end(cg, &lk);
            cg_store(cg, DT_F32, g->Y, LLVMBuildNSWAdd(b, yrow[i], j, ""), LLVMBuildLoad2(b, cg->f32, sum, ""));
            cg_for_end(cg, &lj);
        }
        if (g->has_c || g->alpha != 1.0f || t->n->a.act != ACT_NONE) {
            LLVMValueRef mi = LLVMBuildNSWAdd(b, m, cg_i64(cg, i), "");
            LLVMValueRef crow = LLVMBuildNSWAdd(b, t->co, LLVMBuildNSWMul(b, mi, cg_i64(cg, g->scm), ""), "");
            LLVMValueRef j = cg_for_begin(cg, &lj, cg_i64(cg, 0), cg_i64(cg, g->N), cg_i64(cg, 1), "epi");
            LLVMValueRef yi = LLVMBuildNSWAdd(b, yrow[i], j, "");
            LLVMValueRef cj = LLVMBuildNSWAdd(b, crow, LLVMBuildNSWMul(b, j, cg_i64(cg, g->scn), ""), "");
            cg_store(cg, DT_F32, g->Y, yi, cg_gemm_epilogue(cg, t->n, g, cg_load(cg, DT_F32, g->Y, yi), cj));
            cg_for_end(cg, &lj);
        }
    }
}

static void gemm_tiled(Cg *cg, const Node *n, const GemmDesc *g)
{
    LLVMBuilderRef b = cg->b;
    int64_t items = 1, tiles = (g->M + TILE_MR - 1) / TILE_MR;
    for (int i = 0; i < g->nb; i++)
        items *= g->bext[i];
    Tile t = {.g = g, .n = n, .W = cg_lanes32(cg->t)};
    CgLoop par, lr;
    LLVMValueRef ti = cg_par_begin(cg, &par, g->batch0 ? 0 : items * tiles, g->batch0 ? items * tiles : 0);
    LLVMValueRef bi = LLVMBuildUDiv(b, ti, cg_i64(cg, tiles), "");
    LLVMValueRef m = LLVMBuildNSWMul(b, LLVMBuildURem(b, ti, cg_i64(cg, tiles), ""), cg_i64(cg, TILE_MR), "m");
    batch_offsets(cg, g, bi, &t.ao, &t.bo, &t.co);
    t.y = LLVMBuildNSWMul(b, bi, cg_i64(cg, g->M * g->N), "");
    LLVMValueRef full = LLVMBuildICmp(b, LLVMIntSLE, LLVMBuildNSWAdd(b, m, cg_i64(cg, TILE_MR), ""), cg_i64(cg, g->M), "");
    CgIf c;
    cg_if_begin(cg, &c, full);
    tile_rows(cg, &t, m, TILE_MR);
    cg_if_end(cg, &c);
    cg_if_begin(cg, &c, LLVMBuildNot(b, full, ""));
    LLVMValueRef r = cg_for_begin(cg, &lr, m, cg_i64(cg, g->M), cg_i64(cg, 1), "mr");
    tile_rows(cg, &t, r, 1);
    cg_for_end(cg, &lr);
    cg_if_end(cg, &c);
    cg_par_end(cg, &par);
}

bool cg_k_gemm(Cg *cg, const Node *n)
{
    GemmDesc g;
    cg_gemm_describe(cg, n, 0, 1, &g);
    g.dt = n->out[0]->dtype;
    g.ct = cg_calc_type(cg, g.dt);
    pack_b(cg, n, &g);
    DType dt = g.dt;
    LLVMTypeRef ct = g.ct;
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
        LLVMValueRef accp = cg_alloca(cg, ct, "acc");
        LLVMBuildStore(b, LLVMConstReal(ct, 0), accp);
        CgLoop lk;
        LLVMValueRef k = cg_for_begin(cg, &lk, cg_i64(cg, 0), cg_i64(cg, g.K), cg_i64(cg, 1), "k");
        LLVMValueRef av = cg_load(cg, dt, g.A, LLVMBuildNSWAdd(b, ao, LLVMBuildNSWMul(b, k, cg_i64(cg, g.sak), ""), ""));
        LLVMValueRef bv = cg_load(cg, dt, g.B, LLVMBuildNSWAdd(b, bo, LLVMBuildNSWMul(b, k, cg_i64(cg, g.sbk), ""), ""));
        LLVMBuildStore(b, LLVMBuildFAdd(b, LLVMBuildLoad2(b, ct, accp, ""), LLVMBuildFMul(b, av, bv, ""), ""), accp);
        cg_for_end(cg, &lk);
        co = LLVMBuildNSWAdd(b, co, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, m, cg_i64(cg, g.scm), ""),
                                                    LLVMBuildNSWMul(b, col, cg_i64(cg, g.scn), ""), ""), "");
        LLVMValueRef v = cg_gemm_epilogue(cg, n, &g, LLVMBuildLoad2(b, ct, accp, ""), co);
        cg_store(cg, dt, g.Y, idx, v);
        cg_par_end(cg, &par);
        return true;
    }

    if (dt == DT_F32 && g.sbn == 1 && g.N >= (int64_t)cg_lanes32(cg->t) * TILE_NV && n->in[1]->kind != VAL_CONST) {
        gemm_tiled(cg, n, &g);
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
    LLVMValueRef yp = cg_gep(cg, dt, g.Y, yrow);
    /* f32/f64 rows accumulate in the output itself; narrower types in a
     * row of their calc type (one rounding at the end) */
    bool in_place = ct == cg_mem_type(cg, dt);
    DType at = in_place ? dt : DT_F32;
    LLVMValueRef acc = in_place ? yp : cg_alloca(cg, LLVMArrayType2(ct, (uint64_t)g.N), "row");

    CgLoop l0;
    LLVMValueRef j = cg_for_begin(cg, &l0, cg_i64(cg, 0), N, cg_i64(cg, 1), "zero");
    cg_store(cg, at, acc, j, LLVMConstReal(ct, 0));
    cg_for_end(cg, &l0);

    CgLoop lk;
    LLVMValueRef k = cg_for_begin(cg, &lk, cg_i64(cg, 0), cg_i64(cg, g.K), cg_i64(cg, 1), "k");
    LLVMValueRef av = cg_load(cg, dt, g.A, LLVMBuildNSWAdd(b, ao, LLVMBuildNSWMul(b, k, cg_i64(cg, g.sak), ""), ""));
    LLVMValueRef brow = cg_gep(cg, dt, g.B, LLVMBuildNSWAdd(b, bo, LLVMBuildNSWMul(b, k, cg_i64(cg, g.sbk), ""), ""));
    CgLoop ln;
    j = cg_for_begin(cg, &ln, cg_i64(cg, 0), N, cg_i64(cg, 1), "n");
    LLVMValueRef bv = cg_load(cg, dt, brow, LLVMBuildNSWMul(b, j, cg_i64(cg, g.sbn), ""));
    LLVMValueRef yv = cg_load(cg, at, acc, j);
    cg_store(cg, at, acc, j, LLVMBuildFAdd(b, yv, LLVMBuildFMul(b, av, bv, ""), ""));
    cg_for_end(cg, &ln);
    cg_for_end(cg, &lk);

    if (g.has_c || g.alpha != 1.0f || n->a.act != ACT_NONE || !in_place) {
        CgLoop le;
        j = cg_for_begin(cg, &le, cg_i64(cg, 0), N, cg_i64(cg, 1), "epi");
        LLVMValueRef cj = LLVMBuildNSWAdd(b, co, LLVMBuildNSWMul(b, j, cg_i64(cg, g.scn), ""), "");
        cg_store(cg, dt, yp, j, cg_gemm_epilogue(cg, n, &g, cg_load(cg, at, acc, j), cj));
        cg_for_end(cg, &le);
    }
    cg_par_end(cg, &par);
    return true;
}

/* ---- integer matrix products -------------------------------------------- */

/* Constant 2-D B read column-wise: a copy as [N][K] so the dot product
 * over k is unit-stride (CPU). */
static void pack_bt(Cg *cg, const Node *n, int ib, GemmDesc *g)
{
    const Value *b = n->in[ib];
    if (cg->t->gpu || b->kind != VAL_CONST || b->shape.rank != 2 || g->sbk == 1)
        return;
    int es = dtype_size(b->dtype);
    unsigned char *dst = malloc((size_t)(g->K * g->N * es) + 1);
    if (!dst)
        return;
    const unsigned char *src = b->data;
    for (int64_t k = 0; k < g->K; k++)
        for (int64_t j = 0; j < g->N; j++)
            memcpy(dst + (j * g->K + k) * es, src + (k * g->sbk + j * g->sbn) * es, (size_t)es);
    g->B = cg_const_blob(cg, "qk.wt", dst, (size_t)(g->K * g->N * es));
    free(dst);
    cg_packed_input(cg, ib);
    g->sbk = 1;
    g->sbn = g->K;
}

/* MatMulInteger (i32 out) and QLinearMatMul (requantized out): each output
 * element is an exact int32 dot product of (a - a_zp) and (b - b_zp). The
 * parallel loop runs over rows (CPU) or elements (GPU). */
bool cg_k_qgemm(Cg *cg, const Node *n)
{
    bool ql = n->op == OP_QLINEAR_MATMUL;
    int ia = 0, ib = ql ? 3 : 1, iaz = ql ? 2 : 2, ibz = ql ? 5 : 3;
    GemmDesc g;
    cg_gemm_describe(cg, n, ia, ib, &g);
    pack_bt(cg, n, ib, &g);
    DType ta = n->in[ia]->dtype, tb = n->in[ib]->dtype, ty = n->out[0]->dtype;
    LLVMBuilderRef b = cg->b;
    int64_t rows = g.M;
    for (int i = 0; i < g.nb; i++)
        rows *= g.bext[i];
    LLVMValueRef M = cg_i64(cg, g.M), N = cg_i64(cg, g.N);
    bool gpu = cg->t->gpu;
    CgLoop par, ln, lk;
    LLVMValueRef idx = gpu ? cg_par_begin(cg, &par, g.batch0 ? 0 : rows * g.N, g.batch0 ? rows * g.N : 0)
                           : cg_par_begin(cg, &par, g.batch0 ? 0 : rows, g.batch0 ? rows : 0);
    LLVMValueRef r = gpu ? LLVMBuildUDiv(b, idx, N, "r") : idx;
    LLVMValueRef bi = LLVMBuildUDiv(b, r, M, ""), m = LLVMBuildURem(b, r, M, "m");
    LLVMValueRef ao, bo, co;
    batch_offsets(cg, &g, bi, &ao, &bo, &co);
    ao = LLVMBuildNSWAdd(b, ao, LLVMBuildNSWMul(b, m, cg_i64(cg, g.sam), ""), "");
    LLVMValueRef azp = cg_qparam(cg, n, iaz, m, false);
    LLVMValueRef col = gpu ? LLVMBuildURem(b, idx, N, "n") : cg_for_begin(cg, &ln, cg_i64(cg, 0), N, cg_i64(cg, 1), "n");
    LLVMValueRef bzp = cg_qparam(cg, n, ibz, col, false);
    LLVMValueRef bcol = LLVMBuildNSWAdd(b, bo, LLVMBuildNSWMul(b, col, cg_i64(cg, g.sbn), ""), "");
    LLVMValueRef acc = cg_alloca(cg, cg->i32, "acc");
    LLVMBuildStore(b, cg_i32(cg, 0), acc);
    LLVMValueRef k = cg_for_begin(cg, &lk, cg_i64(cg, 0), cg_i64(cg, g.K), cg_i64(cg, 1), "k");
    LLVMValueRef av = LLVMBuildSub(b, cg_widen_i32(cg, ta, cg_load(cg, ta, g.A, LLVMBuildNSWAdd(b, ao, LLVMBuildNSWMul(b, k, cg_i64(cg, g.sak), ""), ""))), azp, "");
    LLVMValueRef bv = LLVMBuildSub(b, cg_widen_i32(cg, tb, cg_load(cg, tb, g.B, LLVMBuildNSWAdd(b, bcol, LLVMBuildNSWMul(b, k, cg_i64(cg, g.sbk), ""), ""))), bzp, "");
    LLVMBuildStore(b, LLVMBuildAdd(b, LLVMBuildLoad2(b, cg->i32, acc, ""), LLVMBuildMul(b, av, bv, ""), ""), acc);
    cg_for_end(cg, &lk);
    LLVMValueRef yi = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, r, N, ""), col, "");
    LLVMValueRef a = LLVMBuildLoad2(b, cg->i32, acc, "");
    if (!ql) {
        cg_int_out(cg, n, a, col, g.Y, yi);
    } else {
        if (n->nin > 8 && n->in[8]) /* the i32 bias, over the last dim */
            a = LLVMBuildAdd(b, a, cg_load(cg, DT_I32, cg->arg[8], col), "");
        LLVMValueRef as = cg_qparam(cg, n, 1, m, true), bs = cg_qparam(cg, n, 4, col, true), ys = cg_qparam(cg, n, 6, cg_i64(cg, 0), true);
        LLVMValueRef mult = LLVMBuildFDiv(b, LLVMBuildFMul(b, as, bs, ""), ys, "M");
        LLVMValueRef yzp = cg_qparam(cg, n, 7, cg_i64(cg, 0), false);
        LLVMValueRef q = cg_qact(cg, &n->a, cg_requant(cg, a, mult, yzp, ty), ys, yzp, ty);
        cg_store(cg, ty, g.Y, yi, LLVMBuildTrunc(b, q, cg_mem_type(cg, ty), ""));
    }
    if (!gpu)
        cg_for_end(cg, &ln);
    cg_par_end(cg, &par);
    return true;
}

/* loop.c — loops, the parallel loop, conditionals and strided loop nests
 * in LLVM IR. Induction variables are i64; loops are bottom-tested through
 * a header block so LLVM's loop passes (vectorizer, LSR) recognize them. */
#include <string.h>

#include <llvm-c/DebugInfo.h>

#include "cg.h"

LLVMValueRef cg_for_begin(Cg *cg, CgLoop *l, LLVMValueRef lo, LLVMValueRef hi, LLVMValueRef step, const char *name)
{
    char buf[64];
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(cg->b);
    snprintf(buf, sizeof buf, "%s.head", name);
    l->header = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, buf);
    snprintf(buf, sizeof buf, "%s.body", name);
    l->body = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, buf);
    snprintf(buf, sizeof buf, "%s.exit", name);
    l->exit = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, buf);
    l->step = step;
    l->no_unroll = false;
    l->no_vectorize = false;
    l->interleave = 0;
    l->vec_width = 0;
    LLVMBuildBr(cg->b, l->header);
    LLVMPositionBuilderAtEnd(cg->b, l->header);
    l->iv = LLVMBuildPhi(cg->b, cg->i64, name);
    LLVMAddIncoming(l->iv, &lo, &pre, 1);
    LLVMValueRef cond = LLVMBuildICmp(cg->b, LLVMIntSLT, l->iv, hi, "");
    LLVMBuildCondBr(cg->b, cond, l->body, l->exit);
    LLVMPositionBuilderAtEnd(cg->b, l->body);
    return l->iv;
}

/* !llvm.loop !{self, hints...} on a loop's latch: "llvm.loop.unroll.disable",
 * !{"llvm.loop.vectorize.enable", i1 false}, !{"llvm.loop.interleave.count", N}. */
static LLVMMetadataRef hint(Cg *cg, const char *key, LLVMValueRef v)
{
    LLVMMetadataRef ops[2] = {LLVMMDStringInContext2(cg->ctx, key, strlen(key)), v ? LLVMValueAsMetadata(v) : NULL};
    return LLVMMDNodeInContext2(cg->ctx, ops, v ? 2 : 1);
}

static void set_loop_hints(Cg *cg, LLVMValueRef br, const CgLoop *l)
{
    LLVMMetadataRef tmp = LLVMTemporaryMDNode(cg->ctx, NULL, 0);
    LLVMMetadataRef ops[5] = {tmp};
    int n = 1;
    if (l->no_unroll || l->no_vectorize)
        ops[n++] = hint(cg, "llvm.loop.unroll.disable", NULL);
    if (l->no_vectorize) {
        ops[n++] = hint(cg, "llvm.loop.vectorize.enable", LLVMConstInt(LLVMInt1TypeInContext(cg->ctx), 0, 0));
    } else if (l->vec_width > 0) {
        ops[n++] = hint(cg, "llvm.loop.vectorize.width", LLVMConstInt(cg->i32, (unsigned)l->vec_width, 0));
        ops[n++] = hint(cg, "llvm.loop.interleave.count", LLVMConstInt(cg->i32, 1, 0));
    } else if (l->interleave > 1) {
        ops[n++] = hint(cg, "llvm.loop.interleave.count", LLVMConstInt(cg->i32, (unsigned)l->interleave, 0));
    }
    LLVMMetadataRef loop = LLVMMDNodeInContext2(cg->ctx, ops, (size_t)n);
    LLVMMetadataReplaceAllUsesWith(tmp, loop);
    LLVMSetMetadata(br, LLVMGetMDKindIDInContext(cg->ctx, "llvm.loop", 9), LLVMMetadataAsValue(cg->ctx, loop));
}

void cg_for_end(Cg *cg, CgLoop *l)
{
    LLVMValueRef next = LLVMBuildNSWAdd(cg->b, l->iv, l->step, "");
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(cg->b);
    LLVMValueRef br = LLVMBuildBr(cg->b, l->header);
    if (l->no_unroll || l->no_vectorize || l->interleave > 1 || l->vec_width > 0)
        set_loop_hints(cg, br, l);
    LLVMAddIncoming(l->iv, &next, &latch, 1);
    LLVMPositionBuilderAtEnd(cg->b, l->exit);
}

static LLVMValueRef sreg(Cg *cg, const char *name)
{
    LLVMValueRef v = cg_intrin(cg, name, NULL, 0, NULL, 0);
    return LLVMBuildZExt(cg->b, v, cg->i64, "");
}

LLVMValueRef cg_par_begin(Cg *cg, CgLoop *l, int64_t work_static, int64_t work_batch)
{
    CgKernel *k = &cg->kernels[cg->nkernels - 1];
    k->work_static = work_static;
    k->work_batch = work_batch;
    cg->par_open = true;
    if (!cg->t->gpu) /* this call's slice of [0, work), given by the entry */
        return cg_for_begin(cg, l, cg->par_lo, cg->par_hi, cg_i64(cg, 1), "par");
    LLVMValueRef total = cg_i64(cg, work_static);
    if (work_batch)
        total = LLVMBuildNSWAdd(cg->b, total, LLVMBuildNSWMul(cg->b, cg->batch, cg_i64(cg, work_batch), ""), "work");
    /* grid-stride: i = ctaid*ntid + tid; i += nctaid*ntid */
    LLVMValueRef tid = sreg(cg, "llvm.nvvm.read.ptx.sreg.tid.x");
    LLVMValueRef ntid = sreg(cg, "llvm.nvvm.read.ptx.sreg.ntid.x");
    LLVMValueRef ctaid = sreg(cg, "llvm.nvvm.read.ptx.sreg.ctaid.x");
    LLVMValueRef nctaid = sreg(cg, "llvm.nvvm.read.ptx.sreg.nctaid.x");
    LLVMValueRef start = LLVMBuildNSWAdd(cg->b, LLVMBuildNSWMul(cg->b, ctaid, ntid, ""), tid, "gid");
    LLVMValueRef step = LLVMBuildNSWMul(cg->b, nctaid, ntid, "gstride");
    return cg_for_begin(cg, l, start, total, step, "par");
}

void cg_par_end(Cg *cg, CgLoop *l) { cg_for_end(cg, l); }

void cg_if_begin(Cg *cg, CgIf *c, LLVMValueRef cond)
{
    c->then = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "then");
    c->done = LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, "endif");
    LLVMBuildCondBr(cg->b, cond, c->then, c->done);
    LLVMPositionBuilderAtEnd(cg->b, c->then);
}

void cg_if_end(Cg *cg, CgIf *c)
{
    LLVMBuildBr(cg->b, c->done);
    LLVMPositionBuilderAtEnd(cg->b, c->done);
}

/* Window taps (conv, pool): the output range [lo, hi) whose position
 * o*S - P + k*D lies in [0, I), for tap k; O bounds it. */
void cg_tap_range(Cg *cg, int64_t I, int64_t O, int64_t S, int64_t P, int64_t D, LLVMValueRef k, LLVMValueRef *lo,
                  LLVMValueRef *hi)
{
    LLVMBuilderRef b = cg->b;
    LLVMValueRef zero = cg_i64(cg, 0), Sv = cg_i64(cg, S);
    LLVMValueRef t = LLVMBuildNSWSub(b, cg_i64(cg, P), LLVMBuildNSWMul(b, k, cg_i64(cg, D), ""), "");
    LLVMValueRef l = LLVMBuildSDiv(b, LLVMBuildNSWAdd(b, t, cg_i64(cg, S - 1), ""), Sv, "");
    *lo = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSGT, t, zero, ""), l, zero, "lo");
    LLVMValueRef u = LLVMBuildNSWAdd(b, t, cg_i64(cg, I - 1), "");
    LLVMValueRef h = LLVMBuildNSWAdd(b, LLVMBuildSDiv(b, u, Sv, ""), cg_i64(cg, 1), "");
    h = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, h, cg_i64(cg, O), ""), h, cg_i64(cg, O), "");
    *hi = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, u, zero, ""), zero, h, "hi");
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

void cg_tap_interior(int64_t I, int64_t O, int64_t K, int64_t S, int64_t P, int64_t D, int64_t *lo, int64_t *hi)
{
    *lo = 0, *hi = O;
    for (int64_t k = 0; k < K; k++) {
        int64_t off = k * D - P; /* o*S + off in [0, I) */
        int64_t l = -floor_div(off, S), h = floor_div(I - 1 - off, S) + 1;
        *lo = l > *lo ? l : *lo;
        *hi = h < *hi ? h : *hi;
    }
    if (*hi < *lo)
        *hi = *lo = 0;
}

int cg_vec_spans(int64_t lo, int64_t hi, int V, int64_t span[2][2])
{
    span[0][0] = lo, span[0][1] = hi;
    if (V < 2 || hi - lo <= V || (hi - lo) % V == 0)
        return 1;
    span[0][1] = lo + (hi - lo) / V * V;
    span[1][0] = hi - V, span[1][1] = hi;
    return 2;
}

void cg_pw_blocks(Cg *cg, bool batch, int64_t n_static, int64_t P, int64_t NB, CgBlockBody body, void *ctx)
{
    LLVMBuilderRef b = cg->b;
    int64_t nblk = (P + NB - 1) / NB, tail = P % NB;
    CgLoop par;
    LLVMValueRef r = cg_par_begin(cg, &par, batch ? 0 : n_static * nblk, batch ? nblk : 0);
    LLVMValueRef nn = LLVMBuildUDiv(b, r, cg_i64(cg, nblk), "n"), j = LLVMBuildURem(b, r, cg_i64(cg, nblk), "blk");
    for (int last = 0; last < (tail ? 2 : 1); last++) { /* whole blocks; then the overlapping last one */
        CgIf which;
        LLVMValueRef is_last = LLVMBuildICmp(b, LLVMIntEQ, j, cg_i64(cg, nblk - 1), "");
        if (tail)
            cg_if_begin(cg, &which, last ? is_last : LLVMBuildNot(b, is_last, ""));
        body(cg, ctx, nn, last ? cg_i64(cg, P - NB) : LLVMBuildNSWMul(b, j, cg_i64(cg, NB), "p0"), last ? tail : 0);
        if (tail)
            cg_if_end(cg, &which);
    }
    cg_par_end(cg, &par);
}

void cg_dw_padded(const int64_t I[3], const int64_t O[3], const int64_t K[3], const int64_t S[3], const int64_t P[3],
                  const int64_t D[3], int64_t *Hp, int64_t *Wp)
{
    int64_t need[2];
    for (int i = 0; i < 2; i++)
        need[i] = (O[1 + i] - 1) * S[1 + i] + (K[1 + i] - 1) * D[1 + i] + 1;
    *Hp = I[1] + P[1] > need[0] ? I[1] + P[1] : need[0];
    *Wp = I[2] + P[2] > need[1] ? I[2] + P[2] : need[1];
}

int cg_dw_row_parts(int64_t Cg, const int64_t K[3], const int64_t I[3], const int64_t O[3], const int64_t S[3],
                    const int64_t P[3], const int64_t D[3], int64_t *lo, int64_t *hi, int64_t part[2][2])
{
    *lo = *hi = 0;
    if (Cg == 1 && K[0] == 1 && K[1] <= 64 && K[1] * K[2] <= 64)
        cg_tap_interior(I[2], O[2], K[2], S[2], P[2], D[2], lo, hi);
    if (*hi - *lo < DW_MIN_INTERIOR)
        *lo = *hi = 0;
    part[0][0] = 0, part[0][1] = *hi > *lo ? *lo : O[2];
    part[1][0] = *hi, part[1][1] = O[2];
    return *hi > *lo ? 2 : 1;
}

/* ---- nests -------------------------------------------------------------- */

void cg_nest_init(Nest *ns, const Shape *shape)
{
    memset(ns, 0, sizeof *ns);
    ns->rank = shape->rank > 0 ? shape->rank : 1;
    ns->ext[0] = 1;
    for (int i = 0; i < shape->rank; i++)
        ns->ext[i] = shape_dim(shape, i);
    ns->ext0_batch = shape_has_batch(shape);
}

int cg_nest_operand(Nest *ns, const Shape *s)
{
    int op = ns->nops++;
    int64_t st[QK_MAX_RANK];
    shape_strides(s, st);
    for (int i = 0; i < ns->rank; i++) {
        int j = i - (ns->rank - s->rank);
        int64_t dim = j >= 0 ? s->d[j] : 1;
        bool walks = j >= 0 && (dim == DIM_BATCH || (dim != 1 && dim == ns->ext[i]));
        ns->st[op][i] = walks ? st[j] : 0;
    }
    ns->base[op] = 0;
    return op;
}

int cg_nest_operand_strided(Nest *ns, const int64_t *strides, int64_t base)
{
    int op = ns->nops++;
    for (int i = 0; i < ns->rank; i++)
        ns->st[op][i] = strides[i];
    ns->base[op] = base;
    return op;
}

int cg_nest_coords(Nest *ns)
{
    int first = ns->nops;
    for (int k = 0; k < ns->rank; k++) {
        int op = ns->nops++;
        for (int i = 0; i < ns->rank; i++)
            ns->st[op][i] = i == k;
        ns->base[op] = 0;
    }
    return first;
}

void cg_nest_collapse(Nest *ns)
{
    /* drop size-1 dims (the batch dim stays, even at extent 1) */
    int r = 0;
    for (int i = 0; i < ns->rank; i++) {
        if (ns->ext[i] == 1 && !(i == 0 && ns->ext0_batch) && ns->rank > 1)
            continue;
        ns->ext[r] = ns->ext[i];
        for (int op = 0; op < ns->nops; op++)
            ns->st[op][r] = ns->st[op][i];
        r++;
    }
    if (r == 0) {
        r = 1;
        ns->ext[0] = 1;
        for (int op = 0; op < ns->nops; op++)
            ns->st[op][0] = 0;
    }
    ns->rank = r;
    /* merge dim i into dim i-1 when every operand walks them as one */
    for (int i = ns->rank - 1; i >= 1; i--) {
        bool ok = true;
        for (int op = 0; op < ns->nops && ok; op++)
            ok = ns->st[op][i - 1] == ns->st[op][i] * ns->ext[i];
        if (!ok)
            continue;
        ns->ext[i - 1] *= ns->ext[i];
        for (int op = 0; op < ns->nops; op++)
            ns->st[op][i - 1] = ns->st[op][i];
        for (int k = i; k < ns->rank - 1; k++) {
            ns->ext[k] = ns->ext[k + 1];
            for (int op = 0; op < ns->nops; op++)
                ns->st[op][k] = ns->st[op][k + 1];
        }
        ns->rank--;
    }
}

static void nest_level(Cg *cg, const Nest *ns, int k, LLVMValueRef *off, NestBody body, void *ctx)
{
    if (k == ns->rank) {
        body(cg, ctx, off);
        return;
    }
    CgLoop l;
    char name[16];
    snprintf(name, sizeof name, "i%d", k);
    LLVMValueRef iv = cg_for_begin(cg, &l, cg_i64(cg, 0), cg_i64(cg, ns->ext[k]), cg_i64(cg, 1), name);
    if (k == ns->rank - 1)
        l.interleave = ns->interleave;
    LLVMValueRef inner[CG_NEST_OPS];
    for (int op = 0; op < ns->nops; op++)
        inner[op] = ns->st[op][k] ? LLVMBuildNSWAdd(cg->b, off[op], LLVMBuildNSWMul(cg->b, iv, cg_i64(cg, ns->st[op][k]), ""), "")
                                  : off[op];
    nest_level(cg, ns, k + 1, inner, body, ctx);
    cg_for_end(cg, &l);
}

void cg_nest_emit(Cg *cg, const Nest *ns, NestBody body, void *ctx)
{
    CgLoop par;
    LLVMValueRef off[CG_NEST_OPS];
    if (!cg->t->gpu) {
        /* CPU: the outermost dim is the parallel loop, the rest nested */
        LLVMValueRef i0 = cg_par_begin(cg, &par, ns->ext0_batch ? 0 : ns->ext[0], ns->ext0_batch ? ns->ext[0] : 0);
        if (ns->rank == 1)
            par.interleave = ns->interleave;
        for (int op = 0; op < ns->nops; op++)
            off[op] = LLVMBuildNSWAdd(cg->b, cg_i64(cg, ns->base[op]),
                                      LLVMBuildNSWMul(cg->b, i0, cg_i64(cg, ns->st[op][0]), ""), "");
        nest_level(cg, ns, 1, off, body, ctx);
        cg_par_end(cg, &par);
        return;
    }
    /* GPU: one flat parallel index, decomposed by the (constant) extents */
    int64_t inner = 1;
    for (int k = 1; k < ns->rank; k++)
        inner *= ns->ext[k];
    int64_t total = inner * ns->ext[0];
    LLVMValueRef idx = cg_par_begin(cg, &par, ns->ext0_batch ? 0 : total, ns->ext0_batch ? total : 0);
    for (int op = 0; op < ns->nops; op++)
        off[op] = cg_i64(cg, ns->base[op]);
    LLVMValueRef rest = idx;
    for (int k = ns->rank - 1; k >= 0; k--) {
        LLVMValueRef ik = rest;
        if (k > 0) {
            LLVMValueRef e = cg_i64(cg, ns->ext[k]);
            ik = LLVMBuildURem(cg->b, rest, e, "");
            rest = LLVMBuildUDiv(cg->b, rest, e, "");
        }
        for (int op = 0; op < ns->nops; op++)
            if (ns->st[op][k])
                off[op] = LLVMBuildNSWAdd(cg->b, off[op], LLVMBuildNSWMul(cg->b, ik, cg_i64(cg, ns->st[op][k]), ""), "");
    }
    body(cg, ctx, off);
    cg_par_end(cg, &par);
}

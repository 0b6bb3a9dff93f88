/* k_einsum.c — Einsum: a loop nest over the output, each element summing
 * the operands' products over the labels the output omits (nested loops
 * with each operand's stride per label, ir_einsum_plan). Floats accumulate
 * in f32 (f64 for f64) with reassociation allowed, integers in 64 bits. */
#include "cg.h"

typedef struct EinCtx {
    const Node *n;
    DType dt;
    EinsumPlan e;
    LLVMValueRef y, x[2], acc;
    LLVMTypeRef at;
} EinCtx;

static LLVMValueRef load_at(Cg *cg, EinCtx *c, int k, LLVMValueRef off)
{
    LLVMValueRef v = cg_load(cg, c->dt, c->x[k], off);
    if (LLVMTypeOf(v) == c->at)
        return v;
    if (dtype_is_float(c->dt))
        return LLVMBuildFPExt(cg->b, v, c->at, "");
    return dtype_is_unsigned_int(c->dt) ? LLVMBuildZExt(cg->b, v, c->at, "") : LLVMBuildSExt(cg->b, v, c->at, "");
}

static void sum_loops(Cg *cg, EinCtx *c, int q, LLVMValueRef *off)
{
    LLVMBuilderRef b = cg->b;
    if (q == c->e.nred) {
        LLVMValueRef p = load_at(cg, c, 0, off[0]);
        if (c->n->nin > 1) {
            LLVMValueRef p1 = load_at(cg, c, 1, off[1]);
            p = dtype_is_float(c->dt) ? LLVMBuildFMul(b, p, p1, "") : LLVMBuildMul(b, p, p1, "");
        }
        LLVMValueRef a = LLVMBuildLoad2(b, c->at, c->acc, "");
        LLVMValueRef s = dtype_is_float(c->dt) ? LLVMBuildFAdd(b, a, p, "") : LLVMBuildAdd(b, a, p, "");
        if (dtype_is_float(c->dt))
            LLVMSetFastMathFlags(s, LLVMFastMathAllowReassoc);
        LLVMBuildStore(b, s, c->acc);
        return;
    }
    int l = c->e.red[q];
    CgLoop lp;
    LLVMValueRef i = cg_for_begin(cg, &lp, cg_i64(cg, 0), cg_i64(cg, c->e.size[l]), cg_i64(cg, 1), "s");
    LLVMValueRef o2[2];
    for (int k = 0; k < c->n->nin; k++)
        o2[k] = LLVMBuildNSWAdd(b, off[k], LLVMBuildNSWMul(b, i, cg_i64(cg, c->e.st[k][l]), ""), "");
    sum_loops(cg, c, q + 1, o2);
    cg_for_end(cg, &lp);
}

static void ein_body(Cg *cg, void *vctx, LLVMValueRef *off)
{
    EinCtx *c = vctx;
    LLVMBuildStore(cg->b, dtype_is_float(c->dt) ? LLVMConstReal(c->at, 0) : LLVMConstInt(c->at, 0, 0), c->acc);
    LLVMValueRef o[2] = {off[1], c->n->nin > 1 ? off[2] : cg_i64(cg, 0)};
    sum_loops(cg, c, 0, o);
    LLVMValueRef r = LLVMBuildLoad2(cg->b, c->at, c->acc, "");
    LLVMTypeRef ct = cg_calc_type(cg, c->dt);
    if (LLVMTypeOf(r) != ct)
        r = dtype_is_float(c->dt) ? LLVMBuildFPTrunc(cg->b, r, ct, "") : LLVMBuildTrunc(cg->b, r, ct, "");
    cg_store(cg, c->dt, c->y, off[0], r);
}

CgResult cg_k_einsum(Cg *cg, const Node *n)
{
    EinCtx c = {.n = n, .dt = n->out[0]->dtype, .y = cg->arg[n->nin]};
    Shape s[2];
    const Shape *sp[2] = {NULL, NULL};
    for (int k = 0; k < n->nin; k++) {
        s[k] = n->in[k]->shape;
        if (s[k].rank && s[k].d[0] == DIM_BATCH) /* the strides only matter (its size is the output's): any */
            s[k].d[0] = 2;                        /* size but 1, which the plan takes for a broadcast dim */
        sp[k] = &s[k];
        c.x[k] = cg->arg[k];
    }
    ir_einsum_plan(n, sp, &c.e);
    c.at = dtype_is_float(c.dt) ? (cg_calc_type(cg, c.dt) == cg->f64 ? cg->f64 : cg->f32) : cg->i64;
    c.acc = cg_alloca(cg, c.at, "acc");
    const Shape *ys = &n->out[0]->shape;
    Nest ns;
    cg_nest_init(&ns, ys);
    cg_nest_operand(&ns, ys);
    for (int k = 0; k < n->nin; k++) {
        int64_t st[QK_MAX_RANK];
        for (int i = 0; i < ys->rank; i++)
            st[i] = c.e.st[k][n->a.ein[2][i]];
        cg_nest_operand_strided(&ns, st, 0);
    }
    cg_nest_collapse(&ns);
    cg_nest_emit(cg, &ns, ein_body, &c);
    return CG_DONE;
}

/* k_reduce.c — the reduction family: Reduce* over any set of axes,
 * ArgMax/ArgMin, CumSum, and the fused normalizations
 * (Layer/Instance/GroupNormalization), as ir/reduce.c and ir/norm.c define
 * them.
 *
 * Reduce*: a loop nest over the output's elements (the kept dims; the
 * parallel loop is the outermost), each running nested loops over the
 * reduced dims. Floats accumulate in f64 with reassociation allowed, so a
 * reduction along a contiguous dim vectorizes (a different summation order
 * than the interpreter's, in the same precision); integers accumulate in
 * 64 bits, or for L2, LogSum and LogSumExp in double in the interpreter's
 * order (so the result truncates alike). Normalizations: one work item per group
 * of elements normalized together, in three sweeps (sum, squared
 * deviations, normalize). */
#include <math.h>

#include "cg.h"

/* Float adds and multiplies that LLVM may reorder (vectorized reductions). */
static LLVMValueRef fassoc(LLVMValueRef v)
{
    if (LLVMIsAInstruction(v))
        LLVMSetFastMathFlags(v, LLVMFastMathAllowReassoc);
    return v;
}

static LLVMValueRef fadd_r(Cg *cg, LLVMValueRef a, LLVMValueRef b) { return fassoc(LLVMBuildFAdd(cg->b, a, b, "")); }

/* ---- Reduce* ------------------------------------------------------------------ */

typedef struct RedCtx {
    const Node *n;
    DType dt;
    bool fl, un;
    LLVMTypeRef at;               /* accumulator */
    LLVMValueRef x, y, acc, mx;
    int nr;                       /* reduced dims */
    int64_t ext[QK_MAX_RANK], st[QK_MAX_RANK];
    int64_t count;
    int64_t smin;                 /* a signed integer type's least value */
} RedCtx;

/* for each element of the reduced dims: body(ctx, input offset) */
typedef void (*RedBody)(Cg *cg, RedCtx *c, LLVMValueRef off);

static void red_loops(Cg *cg, RedCtx *c, int k, LLVMValueRef off, RedBody body)
{
    if (k == c->nr) {
        body(cg, c, off);
        return;
    }
    CgLoop l;
    LLVMValueRef i = cg_for_begin(cg, &l, cg_i64(cg, 0), cg_i64(cg, c->ext[k]), cg_i64(cg, 1), "r");
    red_loops(cg, c, k + 1, LLVMBuildNSWAdd(cg->b, off, LLVMBuildNSWMul(cg->b, i, cg_i64(cg, c->st[k]), ""), ""), body);
    cg_for_end(cg, &l);
}

static LLVMValueRef load_acc(Cg *cg, RedCtx *c, LLVMValueRef off)
{
    LLVMValueRef v = cg_load(cg, c->dt, c->x, off);
    if (c->fl)
        return LLVMTypeOf(v) == c->at ? v : LLVMBuildFPExt(cg->b, v, c->at, "");
    if (c->at == cg->f64) /* integers summed in double (L2, LogSum, LogSumExp) */
        return c->un ? LLVMBuildUIToFP(cg->b, v, c->at, "") : LLVMBuildSIToFP(cg->b, v, c->at, "");
    if (LLVMTypeOf(v) == c->at)
        return v;
    return c->un ? LLVMBuildZExt(cg->b, v, c->at, "") : LLVMBuildSExt(cg->b, v, c->at, "");
}

static void max_body(Cg *cg, RedCtx *c, LLVMValueRef off)
{
    LLVMValueRef v = load_acc(cg, c, off), a = LLVMBuildLoad2(cg->b, c->at, c->mx, "");
    LLVMBuildStore(cg->b, c->at != cg->i64 ? cg_fmax_nan(cg, a, v) : LLVMBuildSelect(cg->b, LLVMBuildICmp(cg->b, c->un ? LLVMIntUGT : LLVMIntSGT, v, a, ""), v, a, ""),
                   c->mx);
}

/* a + b in the accumulator: floats reassociable (vectorized sums), but
 * integers summed in double in order, as the interpreter sums them */
static LLVMValueRef acc_add(Cg *cg, RedCtx *c, LLVMValueRef a, LLVMValueRef b)
{
    if (c->at == cg->i64)
        return LLVMBuildAdd(cg->b, a, b, "");
    return c->fl ? fadd_r(cg, a, b) : LLVMBuildFAdd(cg->b, a, b, "");
}

static void red_body(Cg *cg, RedCtx *c, LLVMValueRef off)
{
    LLVMBuilderRef b = cg->b;
    LLVMValueRef v = load_acc(cg, c, off), a = LLVMBuildLoad2(b, c->at, c->acc, ""), r;
    switch (c->n->op) {
    case OP_REDUCE_PROD: r = c->fl ? fassoc(LLVMBuildFMul(b, a, v, "")) : LLVMBuildMul(b, a, v, ""); break;
    case OP_REDUCE_MAX:
        r = c->fl ? cg_fmax_nan(cg, a, v) : LLVMBuildSelect(b, LLVMBuildICmp(b, c->un ? LLVMIntUGT : LLVMIntSGT, v, a, ""), v, a, "");
        break;
    case OP_REDUCE_MIN:
        r = c->fl ? cg_fmin_nan(cg, a, v) : LLVMBuildSelect(b, LLVMBuildICmp(b, c->un ? LLVMIntULT : LLVMIntSLT, v, a, ""), v, a, "");
        break;
    case OP_REDUCE_L1:
        if (c->fl) {
            LLVMTypeRef t = c->at;
            v = cg_intrin(cg, "llvm.fabs", &t, 1, &v, 1);
        } else if (!c->un) {
            v = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, v, LLVMConstInt(c->at, 0, 0), ""), LLVMBuildNeg(b, v, ""), v, "");
        }
        r = c->fl ? fadd_r(cg, a, v) : LLVMBuildAdd(b, a, v, "");
        break;
    case OP_REDUCE_L2: case OP_REDUCE_SUM_SQUARE:
        v = c->at == cg->i64 ? LLVMBuildMul(b, v, v, "") : fassoc(LLVMBuildFMul(b, v, v, ""));
        r = acc_add(cg, c, a, v);
        break;
    case OP_REDUCE_LOG_SUM_EXP: {
        LLVMValueRef dlt = LLVMBuildFSub(b, v, LLVMBuildLoad2(b, c->at, c->mx, ""), "");
        LLVMValueRef e = c->at == cg->f64 ? LLVMBuildFPExt(b, cg_exp(cg, LLVMBuildFPTrunc(b, dlt, cg->f32, "")), cg->f64, "")
                                          : cg_exp(cg, dlt);
        r = acc_add(cg, c, a, e);
        break;
    }
    default: /* Sum, Mean, LogSum */
        r = acc_add(cg, c, a, v);
        break;
    }
    LLVMBuildStore(b, r, c->acc);
}

static void reduce_nest_body(Cg *cg, void *vctx, LLVMValueRef *off)
{
    RedCtx *c = vctx;
    LLVMBuilderRef b = cg->b;
    OpKind op = c->n->op;
    bool logexp = op == OP_REDUCE_LOG_SUM_EXP;
    /* integers whose result is a float function: computed in f64 */
    LLVMTypeRef at = c->at;
    LLVMValueRef init;
    if (op == OP_REDUCE_PROD)
        init = c->fl ? LLVMConstReal(at, 1) : LLVMConstInt(at, 1, 0);
    else if (op == OP_REDUCE_MAX) /* an empty Max/Min gives the type's least/largest (sign-extended) */
        init = c->fl ? LLVMConstReal(at, -INFINITY) : LLVMConstInt(at, c->un ? 0 : (unsigned long long)c->smin, 0);
    else if (op == OP_REDUCE_MIN)
        init = c->fl ? LLVMConstReal(at, INFINITY) : LLVMConstInt(at, c->un ? ~0ull : (unsigned long long)~c->smin, 0);
    else
        init = at != cg->i64 ? LLVMConstReal(at, 0) : LLVMConstInt(at, 0, 0);
    if (logexp) {
        LLVMBuildStore(b, LLVMConstReal(at, -INFINITY), c->mx);
        red_loops(cg, c, 0, off[1], max_body);
    }
    LLVMBuildStore(b, init, c->acc);
    red_loops(cg, c, 0, off[1], red_body);
    LLVMValueRef r = LLVMBuildLoad2(b, c->at, c->acc, "");
    bool fl = c->at != cg->i64;
    LLVMTypeRef ft = LLVMTypeOf(r);
    switch (op) {
    case OP_REDUCE_MEAN:
        r = fl ? LLVMBuildFDiv(b, r, LLVMConstReal(ft, (double)c->count), "")
               : c->count ? (c->un ? LLVMBuildUDiv(b, r, cg_i64(cg, c->count), "") : LLVMBuildSDiv(b, r, cg_i64(cg, c->count), ""))
                          : cg_i64(cg, 0);
        break;
    case OP_REDUCE_L2: r = cg_intrin(cg, "llvm.sqrt", &ft, 1, &r, 1); break;
    case OP_REDUCE_LOG_SUM:
    case OP_REDUCE_LOG_SUM_EXP: {
        LLVMValueRef l = ft == cg->f64 ? LLVMBuildFPExt(b, cg_log(cg, LLVMBuildFPTrunc(b, r, cg->f32, "")), cg->f64, "")
                                       : cg_log(cg, r);
        if (op == OP_REDUCE_LOG_SUM) {
            r = l;
        } else { /* an infinite maximum is the result (x - mx was NaN) */
            LLVMValueRef mx = LLVMBuildLoad2(b, ft, c->mx, ""), amx = cg_intrin(cg, "llvm.fabs", &ft, 1, &mx, 1);
            r = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOEQ, amx, LLVMConstReal(ft, INFINITY), ""), mx,
                                LLVMBuildFAdd(b, l, mx, ""), "");
        }
        if (op == OP_REDUCE_LOG_SUM_EXP && c->count == 0)
            r = LLVMConstReal(ft, -INFINITY);
        break;
    }
    default: break;
    }
    /* into the output's type */
    DType yt = c->n->out[0]->dtype;
    if (dtype_is_float(yt)) {
        LLVMTypeRef ct = cg_calc_type(cg, yt);
        if (LLVMTypeOf(r) != ct)
            r = ct == cg->f64 ? LLVMBuildFPExt(b, r, ct, "") : LLVMBuildFPTrunc(b, r, ct, "");
    } else if (fl) {
        LLVMTypeRef ovl[2] = {cg_calc_type(cg, yt), LLVMTypeOf(r)};
        r = cg_intrin(cg, dtype_is_unsigned_int(yt) ? "llvm.fptoui.sat" : "llvm.fptosi.sat", ovl, 2, &r, 1);
    } else if (LLVMTypeOf(r) != cg_calc_type(cg, yt)) {
        r = LLVMBuildTrunc(b, r, cg_calc_type(cg, yt), "");
    }
    cg_store(cg, yt, c->y, off[0], r);
}

/* Nest over the output (as the kept dims) with the input walking them;
 * body(ctx, off) with off[0] the output's and off[1] the input's offset. */
static void over_kept(Cg *cg, const Shape *xs, const bool *red, NestBody body, void *ctx, int64_t *ext, int64_t *st,
                      int *nr)
{
    Shape xs1 = *xs;
    bool batch = shape_has_batch(xs);
    if (batch)
        xs1.d[0] = 1;
    int64_t xst[QK_MAX_RANK];
    shape_strides(&xs1, xst);
    Shape kept = {.rank = 0, .bmul = xs->bmul};
    int64_t kst[QK_MAX_RANK];
    *nr = 0;
    for (int i = 0; i < xs->rank; i++) {
        if (red[i]) {
            ext[*nr] = xs->d[i], st[(*nr)++] = xst[i];
        } else {
            kst[kept.rank] = xst[i];
            kept.d[kept.rank++] = xs->d[i];
        }
    }
    if (kept.rank == 0)
        kept.rank = 1, kept.d[0] = 1, kst[0] = 0;
    Nest ns;
    cg_nest_init(&ns, &kept);
    cg_nest_operand(&ns, &kept);
    cg_nest_operand_strided(&ns, kst, 0);
    cg_nest_collapse(&ns);
    cg_nest_emit(cg, &ns, body, ctx);
}

CgResult cg_k_reduce(Cg *cg, const Node *n)
{
    const Shape *xs = &n->in[0]->shape;
    DType dt = n->in[0]->dtype;
    RedCtx c = {.n = n, .dt = dt, .fl = dtype_is_float(dt), .un = dtype_is_unsigned_int(dt), .x = cg->arg[0],
                .y = cg->arg[n->nin]};
    /* floats in f64 (f32 sums drift from the f64 oracle over long reductions);
     * integers in i64, but in double for the ops whose result is a float
     * function (L2, LogSum, LogSumExp), as the interpreter computes them */
    bool int_f = n->op == OP_REDUCE_L2 || n->op == OP_REDUCE_LOG_SUM || n->op == OP_REDUCE_LOG_SUM_EXP;
    c.at = c.fl || int_f ? cg->f64 : cg->i64;
    c.smin = c.fl || c.un ? 0 : dtype_size(dt) == 8 ? INT64_MIN : -((int64_t)1 << (8 * dtype_size(dt) - 1));
    c.acc = cg_alloca(cg, c.at, "acc");
    c.mx = cg_alloca(cg, c.at, "mx");
    bool red[QK_MAX_RANK];
    if (!ir_reduce_axes(n, xs, red, cg->d))
        return CG_FAIL;
    c.count = 1;
    for (int i = 0; i < xs->rank; i++)
        if (red[i])
            c.count *= xs->d[i];
    over_kept(cg, xs, red, reduce_nest_body, &c, c.ext, c.st, &c.nr);
    return CG_DONE;
}

/* ---- ArgMax / ArgMin ---------------------------------------------------------- */

typedef struct ArgCtx {
    const Node *n;
    DType dt;
    LLVMValueRef x, y, best, bi;
    int64_t len, st;
} ArgCtx;

static void arg_body(Cg *cg, void *vctx, LLVMValueRef *off)
{
    ArgCtx *c = vctx;
    LLVMBuilderRef b = cg->b;
    bool fl = dtype_is_float(c->dt), un = dtype_is_unsigned_int(c->dt), mx = c->n->op == OP_ARG_MAX;
    bool last = c->n->a.select_last;
    LLVMTypeRef ct = cg_calc_type(cg, c->dt);
    LLVMBuildStore(b, cg_load(cg, c->dt, c->x, off[1]), c->best);
    LLVMBuildStore(b, cg_i64(cg, 0), c->bi);
    CgLoop l;
    LLVMValueRef j = cg_for_begin(cg, &l, cg_i64(cg, 1), cg_i64(cg, c->len), cg_i64(cg, 1), "j");
    LLVMValueRef v = cg_load(cg, c->dt, c->x, LLVMBuildNSWAdd(b, off[1], LLVMBuildNSWMul(b, j, cg_i64(cg, c->st), ""), ""));
    LLVMValueRef bv = LLVMBuildLoad2(b, ct, c->best, ""), take;
    if (fl) {
        /* NaN is the extreme: the first (last) NaN wins */
        LLVMValueRef vn = LLVMBuildFCmp(b, LLVMRealUNO, v, v, ""), bn = LLVMBuildFCmp(b, LLVMRealUNO, bv, bv, "");
        LLVMValueRef better = LLVMBuildFCmp(b, mx ? (last ? LLVMRealOGE : LLVMRealOGT) : (last ? LLVMRealOLE : LLVMRealOLT), v, bv, "");
        take = LLVMBuildSelect(b, bn, last ? vn : LLVMConstInt(cg->i1, 0, 0), LLVMBuildOr(b, vn, better, ""), "");
    } else {
        LLVMIntPredicate p = mx ? (last ? (un ? LLVMIntUGE : LLVMIntSGE) : (un ? LLVMIntUGT : LLVMIntSGT))
                                : (last ? (un ? LLVMIntULE : LLVMIntSLE) : (un ? LLVMIntULT : LLVMIntSLT));
        take = LLVMBuildICmp(b, p, v, bv, "");
    }
    LLVMBuildStore(b, LLVMBuildSelect(b, take, v, bv, ""), c->best);
    LLVMBuildStore(b, LLVMBuildSelect(b, take, j, LLVMBuildLoad2(b, cg->i64, c->bi, ""), ""), c->bi);
    cg_for_end(cg, &l);
    LLVMBuildStore(b, LLVMBuildLoad2(b, cg->i64, c->bi, ""), LLVMBuildInBoundsGEP2(b, cg->i64, c->y, &off[0], 1, ""));
}

CgResult cg_k_argreduce(Cg *cg, const Node *n)
{
    const Shape *xs = &n->in[0]->shape;
    ArgCtx c = {.n = n, .dt = n->in[0]->dtype, .x = cg->arg[0], .y = cg->arg[1]};
    c.best = cg_alloca(cg, cg_calc_type(cg, c.dt), "best");
    c.bi = cg_alloca(cg, cg->i64, "bi");
    bool red[QK_MAX_RANK] = {0};
    red[n->a.axis] = true;
    int64_t ext[QK_MAX_RANK], st[QK_MAX_RANK];
    int nr;
    c.len = xs->d[n->a.axis];
    Shape xs1 = *xs;
    if (shape_has_batch(&xs1))
        xs1.d[0] = 1;
    int64_t xst[QK_MAX_RANK];
    shape_strides(&xs1, xst);
    c.st = xst[n->a.axis];
    over_kept(cg, xs, red, arg_body, &c, ext, st, &nr);
    return CG_DONE;
}

/* ---- CumSum -------------------------------------------------------------------- */

CgResult cg_k_cumsum(Cg *cg, const Node *n)
{
    const Shape *xs = &n->in[0]->shape;
    DType dt = n->in[0]->dtype;
    int ax = (int)n->a.axis;
    int64_t outer = 1, len = xs->d[ax], inner = 1;
    for (int i = 0; i < ax; i++)
        outer *= shape_dim(xs, i);
    for (int i = ax + 1; i < xs->rank; i++)
        inner *= xs->d[i];
    bool batch = shape_has_batch(xs), fl = dtype_is_float(dt);
    LLVMBuilderRef b = cg->b;
    LLVMTypeRef ct = cg_calc_type(cg, dt);
    CgLoop par, l;
    LLVMValueRef line = cg_par_begin(cg, &par, batch ? 0 : outer * inner, batch ? outer * inner : 0);
    LLVMValueRef o = LLVMBuildSDiv(b, line, cg_i64(cg, inner), ""), i = LLVMBuildSRem(b, line, cg_i64(cg, inner), "");
    LLVMValueRef base = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, o, cg_i64(cg, len * inner), ""), i, "");
    LLVMValueRef acc = cg_alloca(cg, ct, "acc");
    LLVMBuildStore(b, fl ? LLVMConstReal(ct, 0) : LLVMConstInt(ct, 0, 0), acc);
    LLVMValueRef jj = cg_for_begin(cg, &l, cg_i64(cg, 0), cg_i64(cg, len), cg_i64(cg, 1), "j");
    LLVMValueRef j = n->a.reverse ? LLVMBuildNSWSub(b, cg_i64(cg, len - 1), jj, "") : jj;
    LLVMValueRef p = LLVMBuildNSWAdd(b, base, LLVMBuildNSWMul(b, j, cg_i64(cg, inner), ""), "");
    LLVMValueRef a = LLVMBuildLoad2(b, ct, acc, "");
    LLVMValueRef s = fl ? LLVMBuildFAdd(b, a, cg_load(cg, dt, cg->arg[0], p), "") : LLVMBuildAdd(b, a, cg_load(cg, dt, cg->arg[0], p), "");
    cg_store(cg, dt, cg->arg[n->nin], p, n->a.exclusive ? a : s);
    LLVMBuildStore(b, s, acc);
    cg_for_end(cg, &l);
    cg_par_end(cg, &par);
    return CG_DONE;
}

/* ---- Layer/Instance/GroupNormalization ----------------------------------------- */

CgResult cg_k_norm(Cg *cg, const Node *n)
{
    const Shape *xs = &n->in[0]->shape;
    DType dt = n->in[0]->dtype;
    bool batch = shape_has_batch(xs);
    LLVMBuilderRef b = cg->b;
    LLVMTypeRef ct = cg_calc_type(cg, dt) == cg->f64 ? cg->f64 : cg->f32;
    /* groups: `groups` items (per batch item when batched) of `glen` elements */
    int64_t groups, glen, S = 1, cpg = 1;
    if (n->op == OP_LAYER_NORM) {
        groups = 1, glen = 1;
        for (int i = 0; i < xs->rank; i++) {
            int64_t dd = shape_dim(xs, i);
            *(i < n->a.axis ? &groups : &glen) *= dd;
        }
    } else {
        int64_t G = n->op == OP_INSTANCE_NORM ? xs->d[1] : n->a.group;
        for (int i = 2; i < xs->rank; i++)
            S *= xs->d[i];
        cpg = xs->d[1] / G;
        groups = (batch ? 1 : xs->d[0]) * G, glen = cpg * S;
    }
    int64_t G = n->op == OP_LAYER_NORM ? 1 : (n->op == OP_INSTANCE_NORM ? xs->d[1] : n->a.group);
    LLVMValueRef X = cg->arg[0], SC = n->nin > 1 && n->in[1] ? cg->arg[1] : NULL, BI = n->nin > 2 && n->in[2] ? cg->arg[2] : NULL;
    LLVMValueRef Y = cg->arg[n->nin];
    CgLoop par, l;
    LLVMValueRef g = cg_par_begin(cg, &par, batch ? 0 : groups, batch ? groups : 0);
    LLVMValueRef base = LLVMBuildNSWMul(b, g, cg_i64(cg, glen), "");
    LLVMValueRef sum = cg_alloca(cg, ct, "sum"), sq = cg_alloca(cg, ct, "sq");
    LLVMBuildStore(b, LLVMConstReal(ct, 0), sum);
    LLVMValueRef j = cg_for_begin(cg, &l, cg_i64(cg, 0), cg_i64(cg, glen), cg_i64(cg, 1), "j");
    LLVMValueRef x = cg_load(cg, dt, X, LLVMBuildNSWAdd(b, base, j, ""));
    if (LLVMTypeOf(x) != ct)
        x = LLVMBuildFPExt(b, x, ct, "");
    LLVMBuildStore(b, fadd_r(cg, LLVMBuildLoad2(b, ct, sum, ""), x), sum);
    cg_for_end(cg, &l);
    LLVMValueRef mean = LLVMBuildFDiv(b, LLVMBuildLoad2(b, ct, sum, ""), LLVMConstReal(ct, (double)(glen ? glen : 1)), "mean");
    LLVMBuildStore(b, LLVMConstReal(ct, 0), sq);
    j = cg_for_begin(cg, &l, cg_i64(cg, 0), cg_i64(cg, glen), cg_i64(cg, 1), "j");
    x = cg_load(cg, dt, X, LLVMBuildNSWAdd(b, base, j, ""));
    if (LLVMTypeOf(x) != ct)
        x = LLVMBuildFPExt(b, x, ct, "");
    LLVMValueRef dv = LLVMBuildFSub(b, x, mean, "");
    LLVMBuildStore(b, fadd_r(cg, LLVMBuildLoad2(b, ct, sq, ""), fassoc(LLVMBuildFMul(b, dv, dv, ""))), sq);
    cg_for_end(cg, &l);
    LLVMValueRef var = LLVMBuildFDiv(b, LLVMBuildLoad2(b, ct, sq, ""), LLVMConstReal(ct, (double)(glen ? glen : 1)), "");
    LLVMValueRef ve = LLVMBuildFAdd(b, var, LLVMConstReal(ct, n->a.eps), "");
    LLVMValueRef inv = LLVMBuildFDiv(b, LLVMConstReal(ct, 1), cg_intrin(cg, "llvm.sqrt", &ct, 1, &ve, 1), "inv");
    /* the parameters: LayerNorm's broadcast over the normalized dims;
     * Instance/GroupNorm's per channel (or per group) */
    LLVMValueRef grp = n->op == OP_LAYER_NORM ? NULL : LLVMBuildSRem(b, g, cg_i64(cg, G), "");
    Shape inner = {.rank = n->op == OP_LAYER_NORM ? xs->rank - (int)n->a.axis : 0};
    for (int i = 0; i < inner.rank; i++)
        inner.d[i] = xs->d[n->a.axis + i];
    j = cg_for_begin(cg, &l, cg_i64(cg, 0), cg_i64(cg, glen), cg_i64(cg, 1), "j");
    LLVMValueRef xi = LLVMBuildNSWAdd(b, base, j, "");
    x = cg_load(cg, dt, X, xi);
    if (LLVMTypeOf(x) != ct)
        x = LLVMBuildFPExt(b, x, ct, "");
    LLVMValueRef v = LLVMBuildFMul(b, LLVMBuildFSub(b, x, mean, ""), inv, "");
    for (int k = 1; k <= 2; k++) {
        LLVMValueRef P = k == 1 ? SC : BI;
        if (!P)
            continue;
        const Value *pv = n->in[k];
        LLVMValueRef pi;
        if (n->op != OP_LAYER_NORM) {
            pi = n->op == OP_GROUP_NORM && n->a.mode
                     ? grp
                     : LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, grp, cg_i64(cg, cpg), ""), LLVMBuildSDiv(b, j, cg_i64(cg, S), ""), "");
        } else if (shape_numel(&pv->shape) == glen) {
            pi = j;
        } else { /* broadcast: the parameter's offset from j's coordinates */
            int64_t pst[QK_MAX_RANK];
            Shape ps = pv->shape;
            int64_t s0[QK_MAX_RANK];
            shape_strides(&ps, s0);
            pi = cg_i64(cg, 0);
            LLVMValueRef rest = j;
            for (int i = inner.rank - 1; i >= 0; i--) {
                int pj = i - (inner.rank - ps.rank);
                pst[i] = pj < 0 || ps.d[pj] == 1 ? 0 : s0[pj];
                LLVMValueRef c = LLVMBuildSRem(b, rest, cg_i64(cg, inner.d[i]), "");
                rest = LLVMBuildSDiv(b, rest, cg_i64(cg, inner.d[i]), "");
                if (pst[i])
                    pi = LLVMBuildNSWAdd(b, pi, LLVMBuildNSWMul(b, c, cg_i64(cg, pst[i]), ""), "");
            }
        }
        LLVMValueRef p = cg_load(cg, pv->dtype, P, pi);
        if (LLVMTypeOf(p) != ct)
            p = ct == cg->f64 ? LLVMBuildFPExt(b, p, ct, "") : LLVMBuildFPTrunc(b, p, ct, "");
        v = k == 1 ? LLVMBuildFMul(b, v, p, "") : LLVMBuildFAdd(b, v, p, "");
    }
    LLVMTypeRef yt = cg_calc_type(cg, dt);
    if (LLVMTypeOf(v) != yt)
        v = LLVMBuildFPTrunc(b, v, yt, "");
    cg_store(cg, dt, Y, xi, v);
    cg_for_end(cg, &l);
    /* LayerNorm's mean and 1/std outputs (f32) */
    for (int k = 1; k < n->nout && n->op == OP_LAYER_NORM; k++) {
        if (!n->out[k])
            continue;
        LLVMValueRef s = k == 1 ? mean : inv;
        if (LLVMTypeOf(s) != cg->f32)
            s = LLVMBuildFPTrunc(b, s, cg->f32, "");
        cg_store(cg, DT_F32, cg->arg[n->nin + k], g, s);
    }
    cg_par_end(cg, &par);
    return CG_DONE;
}

/* k_pool.c — MaxPool (with optional argmax indices), AveragePool and
 * GlobalAveragePool, 1-D to 3-D (seen as 3-D like convolutions).
 *
 * A window's positions are p = o*S - P + j*D for j in [0, K). Positions
 * inside the input contribute; for AveragePool with count_include_pad the
 * divisor also counts positions inside the padding (p in [-P_begin,
 * I + P_end)), never the ceil_mode overhang beyond it. The parallel loop is
 * over output planes (CPU) or output elements (GPU); the same per-output
 * code serves both. On CPUs, MaxPool without indices runs row-wise instead
 * (maxpool_rows: output rows, vectorized along them). */
#include <math.h>

#include "cg.h"

typedef struct PoolDesc {
    bool batch;
    int64_t N_static, C;
    int64_t I[3], O[3], K[3], S[3], P[3], PE[3], D[3];
} PoolDesc;

static void describe(const Node *n, PoolDesc *p)
{
    const Shape *xs = &n->in[0]->shape, *ys = &n->out[0]->shape;
    const Attrs *a = &n->a;
    p->batch = shape_has_batch(xs);
    p->N_static = p->batch ? 1 : xs->d[0];
    p->C = xs->d[1];
    int off = 3 - a->nsp;
    for (int i = 0; i < 3; i++) {
        int j = i - off;
        bool real = j >= 0;
        p->I[i] = real ? xs->d[2 + j] : 1;
        p->O[i] = real ? ys->d[2 + j] : 1;
        p->K[i] = real ? a->kernel[j] : 1;
        p->S[i] = real ? a->strides[j] : 1;
        p->P[i] = real ? a->pads[j] : 0;
        p->PE[i] = real ? a->pads[a->nsp + j] : 0;
        p->D[i] = real ? a->dilations[j] : 1;
    }
}

static LLVMValueRef coord(Cg *cg, const PoolDesc *p, int dim, LLVMValueRef o, LLVMValueRef j)
{
    LLVMBuilderRef b = cg->b;
    return LLVMBuildNSWSub(b, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, o, cg_i64(cg, p->S[dim]), ""),
                                              LLVMBuildNSWMul(b, j, cg_i64(cg, p->D[dim]), ""), ""),
                           cg_i64(cg, p->P[dim]), "");
}

static LLVMValueRef in_range(Cg *cg, LLVMValueRef v, int64_t lo, int64_t hi)
{
    LLVMBuilderRef b = cg->b;
    return LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntSGE, v, cg_i64(cg, lo), ""),
                        LLVMBuildICmp(b, LLVMIntSLT, v, cg_i64(cg, hi), ""), "");
}

/* The lowest value of a dtype, as its calc type (max pooling's start). */
static LLVMValueRef lowest(Cg *cg, DType t)
{
    if (dtype_is_float(t))
        return LLVMConstReal(cg_calc_type(cg, t), -INFINITY);
    if (t == DT_I8)
        return LLVMConstInt(cg->i8, (unsigned long long)-128, 1);
    return LLVMConstInt(cg_calc_type(cg, t), 0, 0);
}

/* Compute output element (plane, od, oh, ow) and store it at yi. */
static void pool_one(Cg *cg, const Node *n, const PoolDesc *p, LLVMValueRef plane, LLVMValueRef o[3], LLVMValueRef yi)
{
    LLVMBuilderRef b = cg->b;
    DType dt = n->in[0]->dtype;
    bool is_max = n->op == OP_MAXPOOL;
    bool want_idx = is_max && n->nout > 1 && n->out[1];
    LLVMValueRef X = cg->arg[0], Y = cg->arg[1], IDX = want_idx ? cg->arg[2] : NULL;
    int64_t iplane = p->I[0] * p->I[1] * p->I[2];
    LLVMValueRef xbase = LLVMBuildNSWMul(b, plane, cg_i64(cg, iplane), "");
    LLVMTypeRef ct = cg_calc_type(cg, dt);
    LLVMValueRef acc = cg_alloca(cg, ct, "acc");
    LLVMValueRef cnt = cg_alloca(cg, cg->i64, "cnt");
    LLVMValueRef arg = cg_alloca(cg, cg->i64, "argmax");
    LLVMValueRef nanarg = cg_alloca(cg, cg->i64, "nanarg"); /* the first NaN, if only NaNs come */
    LLVMBuildStore(b, is_max ? lowest(cg, dt) : LLVMConstReal(ct, 0), acc);
    LLVMBuildStore(b, cg_i64(cg, 0), cnt);
    LLVMBuildStore(b, cg_i64(cg, -1), arg);
    LLVMBuildStore(b, cg_i64(cg, -1), nanarg);

    CgLoop l[3];
    LLVMValueRef pos[3], inside = NULL, inpad = NULL;
    for (int d = 0; d < 3; d++) {
        static const char *names[] = {"jd", "jh", "jw"};
        LLVMValueRef j = cg_for_begin(cg, &l[d], cg_i64(cg, 0), cg_i64(cg, p->K[d]), cg_i64(cg, 1), names[d]);
        pos[d] = coord(cg, p, d, o[d], j);
        LLVMValueRef r = in_range(cg, pos[d], 0, p->I[d]);
        LLVMValueRef rp = in_range(cg, pos[d], -p->P[d], p->I[d] + p->PE[d]);
        inside = inside ? LLVMBuildAnd(b, inside, r, "") : r;
        inpad = inpad ? LLVMBuildAnd(b, inpad, rp, "") : rp;
    }
    if (!is_max && n->a.count_include_pad) {
        LLVMValueRef c = LLVMBuildLoad2(b, cg->i64, cnt, "");
        LLVMBuildStore(b, LLVMBuildSelect(b, inpad, LLVMBuildNSWAdd(b, c, cg_i64(cg, 1), ""), c, ""), cnt);
    }
    CgIf in;
    cg_if_begin(cg, &in, inside);
    LLVMValueRef flat = LLVMBuildNSWAdd(
        b, LLVMBuildNSWMul(b, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, pos[0], cg_i64(cg, p->I[1]), ""), pos[1], ""),
                           cg_i64(cg, p->I[2]), ""),
        pos[2], "");
    LLVMValueRef x = cg_load(cg, dt, X, LLVMBuildNSWAdd(b, xbase, flat, ""));
    LLVMValueRef a = LLVMBuildLoad2(b, ct, acc, "");
    if (is_max) {
        /* NaNs are skipped (as the interpreter and ONNX Runtime); the first
         * real position always counts, so a window of -inf has an argmax */
        bool fl = dtype_is_float(dt);
        LLVMValueRef gt = fl ? LLVMBuildFCmp(b, LLVMRealOGT, x, a, "")
                             : LLVMBuildICmp(b, dt == DT_I8 ? LLVMIntSGT : LLVMIntUGT, x, a, "");
        LLVMValueRef cur = LLVMBuildLoad2(b, cg->i64, arg, "");
        LLVMValueRef first = LLVMBuildICmp(b, LLVMIntSLT, cur, cg_i64(cg, 0), "");
        LLVMValueRef isnan = fl ? LLVMBuildFCmp(b, LLVMRealUNO, x, x, "") : LLVMConstInt(cg->i1, 0, 0);
        LLVMValueRef take = LLVMBuildAnd(b, LLVMBuildOr(b, gt, first, ""), LLVMBuildNot(b, isnan, ""), "");
        LLVMBuildStore(b, LLVMBuildSelect(b, take, x, a, ""), acc);
        LLVMValueRef index;
        if (n->a.storage_order == 0) {
            index = LLVMBuildNSWAdd(b, xbase, flat, "");
        } else { /* column-major within the plane: w, then h, then d slowest... reversed */
            LLVMValueRef cm = LLVMBuildNSWAdd(
                b, LLVMBuildNSWMul(b, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, pos[2], cg_i64(cg, p->I[1]), ""), pos[1], ""),
                                   cg_i64(cg, p->I[0]), ""),
                pos[0], "");
            index = LLVMBuildNSWAdd(b, xbase, cm, "");
        }
        LLVMBuildStore(b, LLVMBuildSelect(b, take, index, cur, ""), arg);
        LLVMValueRef na = LLVMBuildLoad2(b, cg->i64, nanarg, "");
        LLVMValueRef first_nan = LLVMBuildAnd(b, isnan, LLVMBuildICmp(b, LLVMIntSLT, na, cg_i64(cg, 0), ""), "");
        LLVMBuildStore(b, LLVMBuildSelect(b, first_nan, index, na, ""), nanarg);
    } else {
        LLVMBuildStore(b, LLVMBuildFAdd(b, a, x, ""), acc);
        if (!n->a.count_include_pad)
            LLVMBuildStore(b, LLVMBuildNSWAdd(b, LLVMBuildLoad2(b, cg->i64, cnt, ""), cg_i64(cg, 1), ""), cnt);
    }
    cg_if_end(cg, &in);
    for (int d = 2; d >= 0; d--)
        cg_for_end(cg, &l[d]);
    LLVMValueRef r = LLVMBuildLoad2(b, ct, acc, "");
    LLVMValueRef ai = LLVMBuildLoad2(b, cg->i64, arg, "");
    if (!is_max) { /* a window wholly in the padding: 0/0 = NaN, as the interpreter */
        LLVMValueRef c = LLVMBuildLoad2(b, cg->i64, cnt, "");
        r = LLVMBuildFDiv(b, r, LLVMBuildSIToFP(b, c, ct, ""), "");
    } else if (dtype_is_float(dt)) { /* only NaNs: NaN at the first one */
        LLVMValueRef na = LLVMBuildLoad2(b, cg->i64, nanarg, "");
        LLVMValueRef only_nan = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntSLT, ai, cg_i64(cg, 0), ""),
                                             LLVMBuildICmp(b, LLVMIntSGE, na, cg_i64(cg, 0), ""), "");
        r = LLVMBuildSelect(b, only_nan, LLVMConstReal(ct, NAN), r, "");
        ai = LLVMBuildSelect(b, only_nan, na, ai, "");
    }
    cg_store(cg, dt, Y, yi, r);
    if (IDX) /* the plane offset (n*C + c)*H*W is already in xbase */
        cg_store(cg, DT_I64, IDX, yi, ai);
}

/* Whether every window reaches the input along every dim (pads smaller
 * than the kernel do; a window wholly in the padding is pool_one's). */
static bool windows_touch(const PoolDesc *p)
{
    for (int d = 0; d < 3; d++)
        for (int64_t o = 0; o < p->O[d]; o++) {
            bool any = false;
            for (int64_t j = 0; j < p->K[d] && !any; j++) {
                int64_t x = o * p->S[d] - p->P[d] + j * p->D[d];
                any = x >= 0 && x < p->I[d];
            }
            if (!any)
                return false;
        }
    return true;
}

/* CPU MaxPool without indices, row-wise: an output row starts at the
 * type's start value (NaN for floats, the lowest integer), then each tap
 * whose input row exists folds its input row into it over the output
 * positions where the tap lands inside (cg_tap_range: no bounds checks, no
 * padded copy), so the inner loop runs along the row and vectorizes. The
 * same result as pool_one: taps come in the window's order, a value is
 * taken when strictly greater or when the kept one is NaN (so NaNs are
 * skipped, the first of equal values stays, and only NaNs give a NaN). */
static void maxpool_rows(Cg *cg, const Node *n, const PoolDesc *p)
{
    LLVMBuilderRef b = cg->b;
    DType dt = n->in[0]->dtype;
    bool fl = dtype_is_float(dt);
    LLVMTypeRef ct = cg_calc_type(cg, dt);
    LLVMValueRef start = fl ? LLVMConstReal(ct, NAN) : lowest(cg, dt);
    int64_t iplane = p->I[0] * p->I[1] * p->I[2], oplane = p->O[0] * p->O[1] * p->O[2];
    int64_t rows = p->O[0] * p->O[1];
    CgLoop par, li, l0, l1, l2, lw;
    LLVMValueRef r = cg_par_begin(cg, &par, p->batch ? 0 : p->N_static * p->C * rows, p->batch ? p->C * rows : 0);
    LLVMValueRef plane = LLVMBuildUDiv(b, r, cg_i64(cg, rows), "plane"), rr = LLVMBuildURem(b, r, cg_i64(cg, rows), "");
    LLVMValueRef o0 = LLVMBuildUDiv(b, rr, cg_i64(cg, p->O[1]), "od"), o1 = LLVMBuildURem(b, rr, cg_i64(cg, p->O[1]), "oh");
    LLVMValueRef yrow = cg_gep(cg, dt, cg->arg[1], LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, plane, cg_i64(cg, oplane), ""),
                                                                   LLVMBuildNSWMul(b, rr, cg_i64(cg, p->O[2]), ""), ""));
    LLVMValueRef xplane = cg_gep(cg, dt, cg->arg[0], LLVMBuildNSWMul(b, plane, cg_i64(cg, iplane), ""));
    LLVMValueRef i = cg_for_begin(cg, &li, cg_i64(cg, 0), cg_i64(cg, p->O[2]), cg_i64(cg, 1), "init");
    cg_store(cg, dt, yrow, i, start);
    cg_for_end(cg, &li);
    LLVMValueRef j0 = cg_for_begin(cg, &l0, cg_i64(cg, 0), cg_i64(cg, p->K[0]), cg_i64(cg, 1), "j0");
    LLVMValueRef j1 = cg_for_begin(cg, &l1, cg_i64(cg, 0), cg_i64(cg, p->K[1]), cg_i64(cg, 1), "j1");
    LLVMValueRef id = coord(cg, p, 0, o0, j0), ih = coord(cg, p, 1, o1, j1);
    CgIf inside;
    cg_if_begin(cg, &inside, LLVMBuildAnd(b, in_range(cg, id, 0, p->I[0]), in_range(cg, ih, 0, p->I[1]), ""));
    /* x index of output position ow for tap j2: xrow + ow*S */
    LLVMValueRef xrow0 = LLVMBuildNSWMul(b, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, id, cg_i64(cg, p->I[1]), ""), ih, ""),
                                         cg_i64(cg, p->I[2]), "");
    LLVMValueRef j2 = cg_for_begin(cg, &l2, cg_i64(cg, 0), cg_i64(cg, p->K[2]), cg_i64(cg, 1), "j2");
    LLVMValueRef lo, hi;
    cg_tap_range(cg, p->I[2], p->O[2], p->S[2], p->P[2], p->D[2], j2, &lo, &hi);
    LLVMValueRef xrow = cg_gep(cg, dt, xplane, LLVMBuildNSWAdd(b, xrow0, coord(cg, p, 2, cg_i64(cg, 0), j2), ""));
    LLVMValueRef ow = cg_for_begin(cg, &lw, lo, hi, cg_i64(cg, 1), "ow");
    LLVMValueRef x = cg_load(cg, dt, xrow, LLVMBuildNSWMul(b, ow, cg_i64(cg, p->S[2]), ""));
    LLVMValueRef a = cg_load(cg, dt, yrow, ow), take;
    if (fl)
        take = LLVMBuildOr(b, LLVMBuildFCmp(b, LLVMRealOGT, x, a, ""),
                           LLVMBuildAnd(b, LLVMBuildFCmp(b, LLVMRealUNO, a, a, ""), LLVMBuildFCmp(b, LLVMRealORD, x, x, ""), ""),
                           "");
    else
        take = LLVMBuildICmp(b, dt == DT_I8 ? LLVMIntSGT : LLVMIntUGT, x, a, "");
    cg_store(cg, dt, yrow, ow, LLVMBuildSelect(b, take, x, a, ""));
    cg_for_end(cg, &lw);
    cg_for_end(cg, &l2);
    cg_if_end(cg, &inside);
    cg_for_end(cg, &l1);
    cg_for_end(cg, &l0);
    cg_par_end(cg, &par);
}

bool cg_k_pool(Cg *cg, const Node *n)
{
    PoolDesc p;
    describe(n, &p);
    LLVMBuilderRef b = cg->b;
    int64_t oplane = p.O[0] * p.O[1] * p.O[2];
    int64_t planes = p.N_static * p.C;
    LLVMValueRef o[3];
    if (cg->t->gpu) {
        CgLoop par;
        LLVMValueRef idx = cg_par_begin(cg, &par, p.batch ? 0 : planes * oplane, p.batch ? p.C * oplane : 0);
        LLVMValueRef plane = LLVMBuildUDiv(b, idx, cg_i64(cg, oplane), ""), pos = LLVMBuildURem(b, idx, cg_i64(cg, oplane), "");
        o[2] = LLVMBuildURem(b, pos, cg_i64(cg, p.O[2]), "");
        LLVMValueRef t = LLVMBuildUDiv(b, pos, cg_i64(cg, p.O[2]), "");
        o[1] = LLVMBuildURem(b, t, cg_i64(cg, p.O[1]), "");
        o[0] = LLVMBuildUDiv(b, t, cg_i64(cg, p.O[1]), "");
        pool_one(cg, n, &p, plane, o, idx);
        cg_par_end(cg, &par);
        return true;
    }
    if (n->op == OP_MAXPOOL && !(n->nout > 1 && n->out[1]) && windows_touch(&p)) {
        maxpool_rows(cg, n, &p);
        return true;
    }
    CgLoop par, l0, l1, l2;
    LLVMValueRef plane = cg_par_begin(cg, &par, p.batch ? 0 : planes, p.batch ? p.C : 0);
    o[0] = cg_for_begin(cg, &l0, cg_i64(cg, 0), cg_i64(cg, p.O[0]), cg_i64(cg, 1), "od");
    o[1] = cg_for_begin(cg, &l1, cg_i64(cg, 0), cg_i64(cg, p.O[1]), cg_i64(cg, 1), "oh");
    o[2] = cg_for_begin(cg, &l2, cg_i64(cg, 0), cg_i64(cg, p.O[2]), cg_i64(cg, 1), "ow");
    LLVMValueRef yi = LLVMBuildNSWAdd(
        b, LLVMBuildNSWMul(b, plane, cg_i64(cg, oplane), ""),
        LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, o[0], cg_i64(cg, p.O[1]), ""), o[1], ""),
                                           cg_i64(cg, p.O[2]), ""),
                        o[2], ""),
        "");
    pool_one(cg, n, &p, plane, o, yi);
    cg_for_end(cg, &l2);
    cg_for_end(cg, &l1);
    cg_for_end(cg, &l0);
    cg_par_end(cg, &par);
    return true;
}

/* GlobalAveragePool: the mean of each (n, c) plane. */
bool cg_k_global_pool(Cg *cg, const Node *n)
{
    const Shape *xs = &n->in[0]->shape;
    DType dt = n->in[0]->dtype;
    bool batch = shape_has_batch(xs);
    int64_t planes = (batch ? 1 : xs->d[0]) * xs->d[1], size = 1;
    for (int i = 2; i < xs->rank; i++)
        size *= xs->d[i];
    LLVMBuilderRef b = cg->b;
    LLVMTypeRef ct = cg_calc_type(cg, dt);
    CgLoop par, l;
    LLVMValueRef plane = cg_par_begin(cg, &par, batch ? 0 : planes, batch ? xs->d[1] : 0);
    bool mx = n->op == OP_GLOBAL_MAXPOOL, fl = dtype_is_float(dt);
    /* GlobalAveragePool sums in f64 like the interpreter, in an order LLVM
     * may change (reassociable adds: the sum vectorizes, as Reduce*'s) */
    LLVMTypeRef at = mx ? ct : cg->f64;
    LLVMValueRef acc = cg_alloca(cg, at, "acc");
    /* GlobalMaxPool: from the least value (NaN wins); GlobalAveragePool: a sum */
    LLVMValueRef init = !mx ? LLVMConstReal(at, 0) : fl ? LLVMConstReal(ct, -INFINITY)
                      : LLVMConstInt(ct, dt == DT_I8 ? (unsigned long long)-128 : 0, dt == DT_I8);
    LLVMBuildStore(b, init, acc);
    LLVMValueRef base = LLVMBuildNSWMul(b, plane, cg_i64(cg, size), "");
    LLVMValueRef i = cg_for_begin(cg, &l, cg_i64(cg, 0), cg_i64(cg, size), cg_i64(cg, 1), "i");
    LLVMValueRef x = cg_load(cg, dt, cg->arg[0], LLVMBuildNSWAdd(b, base, i, ""));
    LLVMValueRef a = LLVMBuildLoad2(b, at, acc, ""), r;
    if (!mx) {
        r = LLVMBuildFAdd(b, a, LLVMBuildFPExt(b, x, cg->f64, ""), "");
        LLVMSetFastMathFlags(r, LLVMFastMathAllowReassoc);
    } else if (fl)
        r = cg_fmax_nan(cg, x, a);
    else
        r = LLVMBuildSelect(b, LLVMBuildICmp(b, dt == DT_I8 ? LLVMIntSGT : LLVMIntUGT, x, a, ""), x, a, "");
    LLVMBuildStore(b, r, acc);
    cg_for_end(cg, &l);
    r = LLVMBuildLoad2(b, at, acc, "");
    if (!mx)
        r = LLVMBuildFPTrunc(b, LLVMBuildFDiv(b, r, LLVMConstReal(at, (double)size), ""), ct, "");
    cg_store(cg, dt, cg->arg[1], plane, r);
    cg_par_end(cg, &par);
    return true;
}

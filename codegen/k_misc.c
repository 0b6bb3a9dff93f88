/* k_misc.c — Softmax and BatchNormalization (inference and training).
 *
 * Softmax: the input seen as [outer, R, inner] (R = the reduced dims
 * [axis, axis2) together); each (outer, inner) line is reduced in three
 * sweeps: max, sum of exp(x - max) (written to y), scale by 1/sum. On CPUs
 * all three vectorize along a contiguous line (inner = 1): the max in
 * vectors of the target's lanes, the sum in any order (reassociable adds),
 * exp interleaved so that several of its polynomial chains overlap.
 * BatchNormalization: the parallel loop is over (n, c) planes for
 * inference; in training mode over channels, each computing its batch mean
 * and variance (in f64) before normalizing and updating the running
 * statistics. */
#include "cg.h"

/* max(X[base .. base + R)) of f32, a NaN if there is one (which NaN: any),
 * W lanes at a time: the order of a max does not change it (the sign of a
 * zero maximum aside, which neither Softmax nor Hardmax can see). */
static LLVMValueRef line_max(Cg *cg, LLVMValueRef X, LLVMValueRef base, int64_t R, int W)
{
    LLVMBuilderRef b = cg->b;
    LLVMTypeRef vt = LLVMVectorType(cg->f32, (unsigned)W);
    int64_t nv = R / W * W;
    LLVMValueRef acc = cg_alloca(cg, vt, "vmax");
    LLVMValueRef v0 = LLVMBuildLoad2(b, vt, cg_gep(cg, DT_F32, X, base), "");
    LLVMSetAlignment(v0, 4);
    LLVMBuildStore(b, v0, acc);
    CgLoop l;
    LLVMValueRef r = cg_for_begin(cg, &l, cg_i64(cg, W), cg_i64(cg, nv), cg_i64(cg, W), "rv");
    LLVMValueRef v = LLVMBuildLoad2(b, vt, cg_gep(cg, DT_F32, X, LLVMBuildNSWAdd(b, base, r, "")), "");
    LLVMSetAlignment(v, 4);
    LLVMBuildStore(b, cg_fmax_nan(cg, LLVMBuildLoad2(b, vt, acc, ""), v), acc);
    cg_for_end(cg, &l);
    LLVMValueRef a = LLVMBuildLoad2(b, vt, acc, "");
    LLVMValueRef m = LLVMBuildExtractElement(b, a, cg_i32(cg, 0), "");
    for (int i = 1; i < W; i++)
        m = cg_fmax_nan(cg, m, LLVMBuildExtractElement(b, a, cg_i32(cg, i), ""));
    LLVMValueRef mx = cg_alloca(cg, cg->f32, "max");
    LLVMBuildStore(b, m, mx);
    r = cg_for_begin(cg, &l, cg_i64(cg, nv), cg_i64(cg, R), cg_i64(cg, 1), "rt");
    LLVMValueRef x = cg_load(cg, DT_F32, X, LLVMBuildNSWAdd(b, base, r, ""));
    LLVMBuildStore(b, cg_fmax_nan(cg, LLVMBuildLoad2(b, cg->f32, mx, ""), x), mx);
    cg_for_end(cg, &l);
    return LLVMBuildLoad2(b, cg->f32, mx, "");
}

bool cg_k_softmax(Cg *cg, const Node *n)
{
    const Shape *xs = &n->in[0]->shape;
    DType dt = n->in[0]->dtype;
    bool batch = shape_has_batch(xs);
    int64_t outer = 1, R = 1, inner = 1;
    for (int i = 0; i < xs->rank; i++) {
        int64_t d = shape_dim(xs, i);
        if (i < n->a.axis)
            outer *= d;
        else if (i < n->a.axis2)
            R *= d;
        else
            inner *= d;
    }
    LLVMBuilderRef b = cg->b;
    LLVMTypeRef ct = cg_calc_type(cg, dt);
    bool f64 = ct == cg->f64;
    LLVMValueRef X = cg->arg[0], Y = cg->arg[1];
    CgLoop par, l;
    LLVMValueRef line = cg_par_begin(cg, &par, batch ? 0 : outer * inner, batch ? outer * inner : 0);
    LLVMValueRef o = LLVMBuildUDiv(b, line, cg_i64(cg, inner), ""), in = LLVMBuildURem(b, line, cg_i64(cg, inner), "");
    LLVMValueRef base = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, o, cg_i64(cg, R * inner), ""), in, "base");
    LLVMValueRef st = cg_i64(cg, inner);
    LLVMValueRef mx = cg_alloca(cg, ct, "max"), sum = cg_alloca(cg, ct, "sum");

    LLVMValueRef r;
    int W = cg_lanes32(cg->t);
    if (dt == DT_F32 && inner == 1 && !cg->t->gpu && R >= 2 * W) {
        LLVMBuildStore(b, line_max(cg, X, base, R, W), mx);
    } else {
        LLVMBuildStore(b, cg_load(cg, dt, X, base), mx);
        r = cg_for_begin(cg, &l, cg_i64(cg, 1), cg_i64(cg, R), cg_i64(cg, 1), "r");
        LLVMValueRef x = cg_load(cg, dt, X, LLVMBuildNSWAdd(b, base, LLVMBuildNSWMul(b, r, st, ""), ""));
        LLVMBuildStore(b, cg_fmax_nan(cg, LLVMBuildLoad2(b, ct, mx, ""), x), mx);
        cg_for_end(cg, &l);
    }

    LLVMValueRef m = LLVMBuildLoad2(b, ct, mx, "m");
    if (n->op == OP_HARDMAX) { /* 1 at the first maximum (the first NaN if any: np.argmax), else 0 */
        LLVMValueRef found = cg_alloca(cg, cg->i1, "found");
        LLVMBuildStore(b, LLVMConstInt(cg->i1, 0, 0), found);
        r = cg_for_begin(cg, &l, cg_i64(cg, 0), cg_i64(cg, R), cg_i64(cg, 1), "r");
        LLVMValueRef idx = LLVMBuildNSWAdd(b, base, LLVMBuildNSWMul(b, r, st, ""), "");
        LLVMValueRef f = LLVMBuildLoad2(b, cg->i1, found, "");
        LLVMValueRef xv = cg_load(cg, dt, X, idx);
        LLVMValueRef is_max = LLVMBuildOr(b, LLVMBuildFCmp(b, LLVMRealOEQ, xv, m, ""), LLVMBuildFCmp(b, LLVMRealUNO, xv, xv, ""), "");
        LLVMValueRef hit = LLVMBuildAnd(b, LLVMBuildNot(b, f, ""), is_max, "");
        cg_store(cg, dt, Y, idx, LLVMBuildSelect(b, hit, LLVMConstReal(ct, 1), LLVMConstReal(ct, 0), ""));
        LLVMBuildStore(b, LLVMBuildOr(b, f, hit, ""), found);
        cg_for_end(cg, &l);
        cg_par_end(cg, &par);
        return true;
    }
    LLVMBuildStore(b, LLVMConstReal(ct, 0), sum);
    r = cg_for_begin(cg, &l, cg_i64(cg, 0), cg_i64(cg, R), cg_i64(cg, 1), "r");
    LLVMValueRef idx = LLVMBuildNSWAdd(b, base, LLVMBuildNSWMul(b, r, st, ""), "");
    LLVMValueRef d = LLVMBuildFSub(b, cg_load(cg, dt, X, idx), m, "");
    LLVMValueRef e = f64 ? LLVMBuildFPExt(b, cg_exp(cg, LLVMBuildFPTrunc(b, d, cg->f32, "")), cg->f64, "") : cg_exp(cg, d);
    /* f16/bf16 outputs: keep the unrounded exp in the sum, round once at the end */
    LLVMValueRef acc = LLVMBuildFAdd(b, LLVMBuildLoad2(b, ct, sum, ""), e, "");
    LLVMSetFastMathFlags(acc, LLVMFastMathAllowReassoc); /* a sum in any order: it vectorizes */
    LLVMBuildStore(b, acc, sum);
    if ((dt == DT_F32 || dt == DT_F64) && n->op == OP_SOFTMAX)
        cg_store(cg, dt, Y, idx, e);
    l.interleave = 4; /* exp's chain: several vectors in flight */
    cg_for_end(cg, &l);

    LLVMValueRef s = LLVMBuildLoad2(b, ct, sum, "s");
    if (n->op == OP_LOG_SOFTMAX) { /* y = x - m - ln(s) */
        LLVMValueRef ls = f64 ? LLVMBuildFPExt(b, cg_log(cg, LLVMBuildFPTrunc(b, s, cg->f32, "")), cg->f64, "") : cg_log(cg, s);
        r = cg_for_begin(cg, &l, cg_i64(cg, 0), cg_i64(cg, R), cg_i64(cg, 1), "r");
        LLVMValueRef idx = LLVMBuildNSWAdd(b, base, LLVMBuildNSWMul(b, r, st, ""), "");
        cg_store(cg, dt, Y, idx, LLVMBuildFSub(b, LLVMBuildFSub(b, cg_load(cg, dt, X, idx), m, ""), ls, ""));
        cg_for_end(cg, &l);
        cg_par_end(cg, &par);
        return true;
    }
    r = cg_for_begin(cg, &l, cg_i64(cg, 0), cg_i64(cg, R), cg_i64(cg, 1), "r");
    idx = LLVMBuildNSWAdd(b, base, LLVMBuildNSWMul(b, r, st, ""), "");
    LLVMValueRef ev;
    if (dt == DT_F32 || dt == DT_F64) {
        ev = cg_load(cg, dt, Y, idx);
    } else {
        LLVMValueRef dd = LLVMBuildFSub(b, cg_load(cg, dt, X, idx), m, "");
        ev = cg_exp(cg, dd);
    }
    cg_store(cg, dt, Y, idx, LLVMBuildFDiv(b, ev, s, ""));
    cg_for_end(cg, &l);
    cg_par_end(cg, &par);
    return true;
}

static LLVMValueRef load_f64(Cg *cg, DType t, LLVMValueRef p, LLVMValueRef i)
{
    LLVMValueRef v = cg_load(cg, t, p, i);
    return LLVMTypeOf(v) == cg->f64 ? v : LLVMBuildFPExt(cg->b, v, cg->f64, "");
}

static LLVMValueRef to_calc(Cg *cg, DType t, LLVMValueRef v)
{
    return cg_calc_type(cg, t) == cg->f64 ? v : LLVMBuildFPTrunc(cg->b, v, cg->f32, "");
}

bool cg_k_batchnorm(Cg *cg, const Node *n)
{
    const Shape *xs = &n->in[0]->shape;
    DType dt = n->in[0]->dtype, pt = n->in[1]->dtype;
    bool batch = shape_has_batch(xs);
    int64_t N = batch ? 1 : xs->d[0], C = xs->d[1], S = 1;
    for (int i = 2; i < xs->rank; i++)
        S *= xs->d[i];
    LLVMBuilderRef b = cg->b;
    LLVMValueRef X = cg->arg[0], SC = cg->arg[1], BI = cg->arg[2], ME = cg->arg[3], VA = cg->arg[4];
    LLVMValueRef Y = cg->arg[5];
    LLVMValueRef eps = LLVMConstReal(cg->f64, n->a.eps);

    if (!n->a.training) {
        /* y = (x - mean) / sqrt(var + eps) * scale + B, per (n, c) plane */
        CgLoop par, l;
        LLVMValueRef nc = cg_par_begin(cg, &par, batch ? 0 : N * C, batch ? C : 0);
        LLVMValueRef c = LLVMBuildURem(b, nc, cg_i64(cg, C), "c");
        LLVMTypeRef ct = cg_calc_type(cg, dt);
        LLVMValueRef mean = to_calc(cg, dt, load_f64(cg, pt, ME, c));
        LLVMValueRef sd = LLVMBuildFAdd(b, load_f64(cg, pt, VA, c), eps, "");
        LLVMTypeRef f64t = cg->f64;
        sd = to_calc(cg, dt, cg_intrin(cg, "llvm.sqrt", &f64t, 1, &sd, 1));
        LLVMValueRef scale = to_calc(cg, dt, load_f64(cg, pt, SC, c)), bias = to_calc(cg, dt, load_f64(cg, pt, BI, c));
        (void)ct;
        LLVMValueRef base = LLVMBuildNSWMul(b, nc, cg_i64(cg, S), "");
        LLVMValueRef i = cg_for_begin(cg, &l, cg_i64(cg, 0), cg_i64(cg, S), cg_i64(cg, 1), "i");
        LLVMValueRef xi = LLVMBuildNSWAdd(b, base, i, "");
        LLVMValueRef v = LLVMBuildFDiv(b, LLVMBuildFSub(b, cg_load(cg, dt, X, xi), mean, ""), sd, "");
        v = LLVMBuildFAdd(b, LLVMBuildFMul(b, v, scale, ""), bias, "");
        cg_store(cg, dt, Y, xi, v);
        cg_for_end(cg, &l);
        cg_par_end(cg, &par);
        return true;
    }

    /* training: batch statistics per channel */
    CgLoop par, ln, ls;
    LLVMValueRef c = cg_par_begin(cg, &par, C, 0);
    LLVMValueRef nval = batch ? cg->batch : cg_i64(cg, N);
    LLVMValueRef sum = cg_alloca(cg, cg->f64, "sum"), sq = cg_alloca(cg, cg->f64, "sq");
    LLVMValueRef cnt = LLVMBuildSIToFP(b, LLVMBuildNSWMul(b, nval, cg_i64(cg, S), ""), cg->f64, "cnt");
    for (int pass = 0; pass < 3; pass++) {
        LLVMValueRef mean = NULL, var = NULL;
        if (pass == 0) {
            LLVMBuildStore(b, LLVMConstReal(cg->f64, 0), sum);
        } else {
            mean = LLVMBuildFDiv(b, LLVMBuildLoad2(b, cg->f64, sum, ""), cnt, "mean");
            if (pass == 1)
                LLVMBuildStore(b, LLVMConstReal(cg->f64, 0), sq);
            else
                var = LLVMBuildFDiv(b, LLVMBuildLoad2(b, cg->f64, sq, ""), cnt, "var");
        }
        LLVMValueRef sdv = NULL, scale = NULL, bias = NULL;
        if (pass == 2) {
            LLVMValueRef ve = LLVMBuildFAdd(b, var, eps, "");
            LLVMTypeRef f64t = cg->f64;
            sdv = cg_intrin(cg, "llvm.sqrt", &f64t, 1, &ve, 1);
            scale = load_f64(cg, pt, SC, c);
            bias = load_f64(cg, pt, BI, c);
        }
        LLVMValueRef nn = cg_for_begin(cg, &ln, cg_i64(cg, 0), nval, cg_i64(cg, 1), "n");
        LLVMValueRef base = LLVMBuildNSWMul(b, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, nn, cg_i64(cg, C), ""), c, ""),
                                            cg_i64(cg, S), "");
        LLVMValueRef i = cg_for_begin(cg, &ls, cg_i64(cg, 0), cg_i64(cg, S), cg_i64(cg, 1), "s");
        LLVMValueRef xi = LLVMBuildNSWAdd(b, base, i, "");
        LLVMValueRef x = load_f64(cg, dt, X, xi);
        if (pass == 0) {
            LLVMBuildStore(b, LLVMBuildFAdd(b, LLVMBuildLoad2(b, cg->f64, sum, ""), x, ""), sum);
        } else if (pass == 1) {
            LLVMValueRef dd = LLVMBuildFSub(b, x, mean, "");
            LLVMBuildStore(b, LLVMBuildFAdd(b, LLVMBuildLoad2(b, cg->f64, sq, ""), LLVMBuildFMul(b, dd, dd, ""), ""), sq);
        } else {
            LLVMValueRef v = LLVMBuildFDiv(b, LLVMBuildFSub(b, x, mean, ""), sdv, "");
            v = LLVMBuildFAdd(b, LLVMBuildFMul(b, v, scale, ""), bias, "");
            cg_store(cg, dt, Y, xi, to_calc(cg, dt, v));
        }
        cg_for_end(cg, &ls);
        cg_for_end(cg, &ln);
        if (pass == 2) {
            LLVMValueRef mom = LLVMConstReal(cg->f64, n->a.momentum), one_m = LLVMConstReal(cg->f64, 1.0 - (double)n->a.momentum);
            if (n->nout > 1 && n->out[1]) {
                LLVMValueRef rm = LLVMBuildFAdd(b, LLVMBuildFMul(b, load_f64(cg, pt, ME, c), mom, ""),
                                                LLVMBuildFMul(b, mean, one_m, ""), "");
                cg_store(cg, n->out[1]->dtype, cg->arg[6], c, to_calc(cg, n->out[1]->dtype, rm));
            }
            if (n->nout > 2 && n->out[2]) {
                LLVMValueRef rv = LLVMBuildFAdd(b, LLVMBuildFMul(b, load_f64(cg, pt, VA, c), mom, ""),
                                                LLVMBuildFMul(b, var, one_m, ""), "");
                cg_store(cg, n->out[2]->dtype, cg->arg[7], c, to_calc(cg, n->out[2]->dtype, rv));
            }
        }
    }
    cg_par_end(cg, &par);
    return true;
}

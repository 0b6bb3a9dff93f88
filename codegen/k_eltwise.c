/* k_eltwise.c — the elementwise family (every E row of ops.def, emitted
 * from the op's expression: ir/expr.h), Cast, copies (materialized views),
 * Transpose, Concat.
 *
 * All but Concat are one strided loop nest (loop.c): the output walks
 * contiguously, inputs with their broadcast or permuted strides; after
 * collapsing, the innermost loop is usually unit-stride and vectorizes
 * (the math functions are branch-free IR, mathfn.c). */
#include <math.h>

#include "cg.h"
#include "ir/expr.h"

/* ---- Cast ----------------------------------------------------------------- */

typedef struct CastCtx {
    LLVMValueRef y, x;
    DType dx, dy;
} CastCtx;

static void cast_body(Cg *cg, void *vctx, LLVMValueRef *off)
{
    CastCtx *c = vctx;
    /* loads widen exactly, the store rounds once */
    cg_store(cg, c->dy, c->y, off[0], cg_convert(cg, cg_load(cg, c->dx, c->x, off[1]), c->dx, c->dy));
}

bool cg_k_cast(Cg *cg, const Node *n)
{
    CastCtx c = {cg->arg[n->nin], cg->arg[0], n->in[0]->dtype, n->out[0]->dtype};
    Nest ns;
    cg_nest_init(&ns, &n->out[0]->shape);
    cg_nest_operand(&ns, &n->out[0]->shape);
    cg_nest_operand(&ns, &n->in[0]->shape);
    cg_nest_collapse(&ns);
    cg_nest_emit(cg, &ns, cast_body, &c);
    return true;
}

/* ---- the elementwise family: an op's expression (ir/expr.h) as IR ------- */

/* The LLVM types of the domains in one kernel: floats in f32 (f64 when an
 * operand or the result is f64), integers at the widest integer operand's
 * width (the result's when wider), bools as i1. Literals and parameters
 * meeting integers are converted as Cast does, then saturated to that
 * width (so a bound beyond the type clamps nothing, as in the interpreter). */
typedef struct EltCtx {
    const Node *n;
    Expr e;
    int nops;
    int idx[15];                 /* operand k of the expression: node input idx[k] */
    LLVMValueRef ptr[15], y;
    DType dt[15], dy;
    bool in_const[15];           /* a one-element constant operand: baked in */
    double const_val[15];
    LLVMTypeRef ft, it;          /* the F and I/U domain types */
} EltCtx;

static LLVMTypeRef dom_type(Cg *cg, const EltCtx *c, XDom d)
{
    return d == XD_F ? c->ft : d == XD_B ? cg->i1 : c->it;
}

/* A compile-time number as a constant of domain d. */
static LLVMValueRef lit(Cg *cg, const EltCtx *c, double v, XDom d)
{
    if (d == XD_F || d == XD_NONE)
        return LLVMConstReal(c->ft, v);
    if (d == XD_B)
        return LLVMConstInt(cg->i1, v != 0, 0); /* NaN is nonzero */
    unsigned w = LLVMGetIntTypeWidth(c->it);
    if (isnan(v))
        v = 0;
    v = trunc(v);
    if (d == XD_U) {
        double hi = w >= 64 ? 18446744073709551615.0 : ldexp(1, (int)w) - 1;
        unsigned long long u = v <= 0 ? 0 : v >= hi ? (w >= 64 ? ~0ull : (1ull << w) - 1) : (unsigned long long)v;
        return LLVMConstInt(c->it, u, 0);
    }
    double hi = ldexp(1, (int)w - 1) - 1, lo = -ldexp(1, (int)w - 1);
    long long k = v >= hi ? (w >= 64 ? INT64_MAX : (long long)hi) : v <= lo ? (w >= 64 ? INT64_MIN : (long long)lo)
                                                                       : (long long)v;
    return LLVMConstInt(c->it, (unsigned long long)k, 1);
}

/* Convert a value between domains (ints to floats, to bool, ...). */
static LLVMValueRef conv(Cg *cg, const EltCtx *c, LLVMValueRef v, XDom from, XDom to)
{
    LLVMBuilderRef b = cg->b;
    if (from == to || from == XD_NONE)
        return v;
    LLVMTypeRef t = dom_type(cg, c, to);
    if (to == XD_B)
        return from == XD_F ? LLVMBuildFCmp(b, LLVMRealUNE, v, LLVMConstReal(c->ft, 0), "")
                            : LLVMBuildICmp(b, LLVMIntNE, v, LLVMConstInt(LLVMTypeOf(v), 0, 0), "");
    if (from == XD_B)
        return to == XD_F ? LLVMBuildUIToFP(b, v, t, "") : LLVMBuildZExt(b, v, t, "");
    if (to == XD_F)
        return from == XD_U ? LLVMBuildUIToFP(b, v, t, "") : LLVMBuildSIToFP(b, v, t, "");
    if (from == XD_F) {
        LLVMTypeRef ovl[2] = {t, c->ft};
        return cg_intrin(cg, to == XD_U ? "llvm.fptoui.sat" : "llvm.fptosi.sat", ovl, 2, &v, 1);
    }
    return v; /* I <-> U: the same bits */
}

/* Transcendentals run in f32 (f64 values are narrowed and widened). */
static LLVMValueRef f32_fn(Cg *cg, LLVMValueRef v, LLVMValueRef (*f)(Cg *, LLVMValueRef))
{
    if (LLVMTypeOf(v) == cg->f64)
        return LLVMBuildFPExt(cg->b, f(cg, LLVMBuildFPTrunc(cg->b, v, cg->f32, "")), cg->f64, "");
    return f(cg, v);
}

static LLVMValueRef cg_sqrt_(Cg *cg, LLVMValueRef x)
{
    LLVMTypeRef t = LLVMTypeOf(x);
    return cg_intrin(cg, "llvm.sqrt", &t, 1, &x, 1);
}

static LLVMValueRef int_div(Cg *cg, LLVMValueRef a, LLVMValueRef d, bool is_unsigned);

/* Integer remainder with the sign of a (C) or of b (Python); x % 0 = 0. */
static LLVMValueRef int_rem(Cg *cg, LLVMValueRef a, LLVMValueRef d, bool is_unsigned, bool py)
{
    LLVMBuilderRef b = cg->b;
    LLVMTypeRef t = LLVMTypeOf(a);
    LLVMValueRef zero = LLVMConstInt(t, 0, 0), one = LLVMConstInt(t, 1, 0);
    LLVMValueRef dz = LLVMBuildICmp(b, LLVMIntEQ, d, zero, "");
    if (is_unsigned)
        return LLVMBuildSelect(b, dz, zero, LLVMBuildURem(b, a, LLVMBuildSelect(b, dz, one, d, ""), ""), "");
    LLVMValueRef m1 = LLVMBuildICmp(b, LLVMIntEQ, d, LLVMConstAllOnes(t), "");
    LLVMValueRef safe = LLVMBuildSelect(b, LLVMBuildOr(b, dz, m1, ""), one, d, "");
    LLVMValueRef r = LLVMBuildSRem(b, a, safe, ""); /* x % 1 = 0 = x % -1 */
    if (py) {
        LLVMValueRef fix = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntNE, r, zero, ""),
                                        LLVMBuildICmp(b, LLVMIntNE, LLVMBuildICmp(b, LLVMIntSLT, r, zero, ""),
                                                      LLVMBuildICmp(b, LLVMIntSLT, d, zero, ""), ""), "");
        r = LLVMBuildSelect(b, fix, LLVMBuildAdd(b, r, d, ""), r, "");
    }
    return LLVMBuildSelect(b, dz, zero, r, "");
}

/* a^e for integers: exact wrapping repeated squaring over e's 64 bits;
 * negative e: 0 unless |a| = 1. a_unsigned, e_unsigned: the domains of a
 * and e (an unsigned e is never negative, an unsigned a never -1). */
static LLVMValueRef int_pow(Cg *cg, LLVMValueRef a, LLVMValueRef e, bool a_unsigned, bool e_unsigned)
{
    LLVMBuilderRef b = cg->b;
    LLVMTypeRef t = LLVMTypeOf(a);
    LLVMValueRef e64 = LLVMTypeOf(e) == cg->i64 ? e : e_unsigned ? LLVMBuildZExt(b, e, cg->i64, "")
                                                               : LLVMBuildSExt(b, e, cg->i64, "");
    LLVMValueRef r = LLVMConstInt(t, 1, 0), base = a;
    for (int i = 0; i < 64; i++) {
        LLVMValueRef bit = LLVMBuildTrunc(b, LLVMBuildLShr(b, e64, cg_i64(cg, i), ""), cg->i1, "");
        r = LLVMBuildSelect(b, bit, LLVMBuildMul(b, r, base, ""), r, "");
        base = LLVMBuildMul(b, base, base, "");
    }
    if (e_unsigned)
        return r;
    LLVMValueRef one = LLVMConstInt(t, 1, 0), zero = LLVMConstInt(t, 0, 0);
    LLVMValueRef odd = LLVMBuildTrunc(b, e64, cg->i1, "");
    LLVMValueRef m1 = a_unsigned ? zero : LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntEQ, a, LLVMConstAllOnes(t), ""),
                                                           LLVMBuildSelect(b, odd, LLVMConstAllOnes(t), one, ""), zero, "");
    LLVMValueRef neg = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntEQ, a, one, ""), one, m1, "");
    return LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, e64, cg_i64(cg, 0), ""), neg, r, "");
}

/* pow of floats, with the exponents models use spelled out */
static LLVMValueRef float_pow(Cg *cg, LLVMValueRef a, LLVMValueRef e, bool e_const, double ek)
{
    LLVMBuilderRef b = cg->b;
    LLVMTypeRef t = LLVMTypeOf(a);
    if (e_const) {
        if (ek == 1)
            return a;
        if (ek == 2)
            return LLVMBuildFMul(b, a, a, "");
        if (ek == 3)
            return LLVMBuildFMul(b, LLVMBuildFMul(b, a, a, ""), a, "");
        if (ek == 0.5)
            return LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOEQ, a, LLVMConstReal(t, -INFINITY), ""),
                                   LLVMConstReal(t, INFINITY), cg_sqrt_(cg, a), ""); /* C's pow(-inf, 0.5) */
        if (ek == -1)
            return LLVMBuildFDiv(b, LLVMConstReal(t, 1.0), a, "");
    }
    if (t == cg->f64) {
        LLVMValueRef r = cg_pow(cg, LLVMBuildFPTrunc(b, a, cg->f32, ""), LLVMBuildFPTrunc(b, e, cg->f32, ""));
        return LLVMBuildFPExt(b, r, cg->f64, "");
    }
    return cg_pow(cg, a, e);
}

static LLVMValueRef fmod_f(Cg *cg, LLVMValueRef a, LLVMValueRef d)
{
    if (LLVMTypeOf(a) == cg->f64)
        return LLVMBuildFPExt(cg->b, cg_fmod(cg, LLVMBuildFPTrunc(cg->b, a, cg->f32, ""),
                                             LLVMBuildFPTrunc(cg->b, d, cg->f32, "")), cg->f64, "");
    return cg_fmod(cg, a, d);
}

static LLVMValueRef emit_node(Cg *cg, const EltCtx *c, const XNode *x, XDom cd, LLVMValueRef a, LLVMValueRef bb,
                              LLVMValueRef cc, bool b_const, double b_val)
{
    LLVMBuilderRef b = cg->b;
    bool fl = cd == XD_F, u = cd == XD_U || cd == XD_B;
    LLVMTypeRef t = dom_type(cg, c, cd);
    switch (x->op) {
    case XK_NEG: return fl ? LLVMBuildFNeg(b, a, "") : LLVMBuildNeg(b, a, "");
    case XK_NOT: return LLVMBuildNot(b, a, "");
    case XK_ADD: return fl ? LLVMBuildFAdd(b, a, bb, "") : LLVMBuildAdd(b, a, bb, "");
    case XK_SUB: return fl ? LLVMBuildFSub(b, a, bb, "") : LLVMBuildSub(b, a, bb, "");
    case XK_MUL: return fl ? LLVMBuildFMul(b, a, bb, "") : LLVMBuildMul(b, a, bb, "");
    case XK_DIV: return fl ? LLVMBuildFDiv(b, a, bb, "") : int_div(cg, a, bb, u);
    case XK_LT: return fl ? LLVMBuildFCmp(b, LLVMRealOLT, a, bb, "") : LLVMBuildICmp(b, u ? LLVMIntULT : LLVMIntSLT, a, bb, "");
    case XK_LE: return fl ? LLVMBuildFCmp(b, LLVMRealOLE, a, bb, "") : LLVMBuildICmp(b, u ? LLVMIntULE : LLVMIntSLE, a, bb, "");
    case XK_GT: return fl ? LLVMBuildFCmp(b, LLVMRealOGT, a, bb, "") : LLVMBuildICmp(b, u ? LLVMIntUGT : LLVMIntSGT, a, bb, "");
    case XK_GE: return fl ? LLVMBuildFCmp(b, LLVMRealOGE, a, bb, "") : LLVMBuildICmp(b, u ? LLVMIntUGE : LLVMIntSGE, a, bb, "");
    case XK_EQ: return fl ? LLVMBuildFCmp(b, LLVMRealOEQ, a, bb, "") : LLVMBuildICmp(b, LLVMIntEQ, a, bb, "");
    case XK_NE: return fl ? LLVMBuildFCmp(b, LLVMRealUNE, a, bb, "") : LLVMBuildICmp(b, LLVMIntNE, a, bb, "");
    case XK_AND: return LLVMBuildAnd(b, a, bb, "");
    case XK_OR: return LLVMBuildOr(b, a, bb, "");
    case XK_SELECT: return LLVMBuildSelect(b, a, bb, cc, "");
    case XK_EXP: return f32_fn(cg, a, cg_exp);
    case XK_LOG: return f32_fn(cg, a, cg_log);
    case XK_LOG1P: return f32_fn(cg, a, cg_log1p);
    case XK_SQRT: return cg_sqrt_(cg, a);
    case XK_ERF: return f32_fn(cg, a, cg_erf);
    case XK_TANH: return f32_fn(cg, a, cg_tanh);
    case XK_SIGMOID: return f32_fn(cg, a, cg_sigmoid);
    case XK_SIN: return f32_fn(cg, a, cg_sin);
    case XK_COS: return f32_fn(cg, a, cg_cos);
    case XK_TAN: return f32_fn(cg, a, cg_tan);
    case XK_FLOOR: return cg_floor(cg, a); /* exact in f64 too: no narrowing */
    case XK_CEIL: return cg_ceil(cg, a);
    case XK_RNE: return cg_rne(cg, a);
    case XK_ABS:
        if (fl)
            return cg_intrin(cg, "llvm.fabs", &t, 1, &a, 1);
        if (u)
            return a;
        return LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, a, LLVMConstInt(t, 0, 0), ""), LLVMBuildNeg(b, a, ""), a, "");
    case XK_SIGN: {
        if (fl) {
            LLVMValueRef one = LLVMConstReal(t, 1), m1 = LLVMConstReal(t, -1), z = LLVMConstReal(t, 0);
            LLVMValueRef r = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, a, z, ""), one,
                                             LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLT, a, z, ""), m1, z, ""), "");
            return LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealUNO, a, a, ""), a, r, "");
        }
        LLVMValueRef z = LLVMConstInt(t, 0, 0);
        if (u)
            return LLVMBuildZExt(b, LLVMBuildICmp(b, LLVMIntNE, a, z, ""), t, "");
        return LLVMBuildSub(b, LLVMBuildZExt(b, LLVMBuildICmp(b, LLVMIntSGT, a, z, ""), t, ""),
                            LLVMBuildZExt(b, LLVMBuildICmp(b, LLVMIntSLT, a, z, ""), t, ""), "");
    }
    case XK_ISNAN: return LLVMBuildFCmp(b, LLVMRealUNO, a, a, "");
    case XK_ISINF: {
        LLVMTypeRef at = LLVMTypeOf(a);
        return LLVMBuildFCmp(b, LLVMRealOEQ, cg_intrin(cg, "llvm.fabs", &at, 1, &a, 1), LLVMConstReal(at, INFINITY), "");
    }
    case XK_MIN:
        if (fl)
            return cg_fmin_nan(cg, a, bb);
        return LLVMBuildSelect(b, LLVMBuildICmp(b, u ? LLVMIntULE : LLVMIntSLE, a, bb, ""), a, bb, "");
    case XK_MAX:
        if (fl)
            return cg_fmax_nan(cg, a, bb);
        return LLVMBuildSelect(b, LLVMBuildICmp(b, u ? LLVMIntUGE : LLVMIntSGE, a, bb, ""), a, bb, "");
    case XK_POW:
        return fl ? float_pow(cg, a, bb, b_const, b_val) : int_pow(cg, a, bb, u, (XDom)c->e.x[x->b].dom == XD_U);
    case XK_FMOD: return fl ? fmod_f(cg, a, bb) : int_rem(cg, a, bb, u, false);
    case XK_PYMOD: {
        if (!fl)
            return int_rem(cg, a, bb, u, true);
        LLVMValueRef r = fmod_f(cg, a, bb), z = LLVMConstReal(t, 0);
        LLVMValueRef fix = LLVMBuildAnd(b, LLVMBuildFCmp(b, LLVMRealONE, r, z, ""),
                                        LLVMBuildXor(b, LLVMBuildFCmp(b, LLVMRealOLT, r, z, ""),
                                                     LLVMBuildFCmp(b, LLVMRealOLT, bb, z, ""), ""), "");
        LLVMValueRef cs[2] = {z, bb}; /* numpy's mod: a zero takes the sign of b too */
        LLVMValueRef zb = cg_intrin(cg, "llvm.copysign", &t, 1, cs, 2);
        return LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOEQ, r, z, ""), zb,
                               LLVMBuildSelect(b, fix, LLVMBuildFAdd(b, r, bb, ""), r, ""), "");
    }
    default: return a;
    }
}

/* The domain node i computes in (its operands are converted to it); as
 * expr.c decides it. */
static XDom node_dom(const Expr *e, int i)
{
    const XNode *x = &e->x[i];
    switch (x->op) {
    case XK_NOT: case XK_AND: case XK_OR: return XD_B;
    case XK_LT: case XK_LE: case XK_GT: case XK_GE: case XK_EQ: case XK_NE: {
        XDom a = (XDom)e->x[x->a].dom, b = (XDom)e->x[x->b].dom;
        if (a == XD_F || b == XD_F)
            return XD_F;
        if (a == XD_I || b == XD_I)
            return XD_I;
        if (a == XD_U || b == XD_U)
            return XD_U;
        return XD_B;
    }
    case XK_ISNAN: case XK_ISINF: return XD_F;
    default: return (XDom)x->dom;
    }
}

static void elt_body(Cg *cg, void *vctx, LLVMValueRef *off)
{
    EltCtx *c = vctx;
    const Expr *e = &c->e;
    LLVMValueRef v[EXPR_MAX];
    for (int i = 0; i < e->n; i++) {
        const XNode *x = &e->x[i];
        XDom d = (XDom)x->dom;
        if (x->op == XK_IN) {
            int k = x->arg;
            if (c->in_const[k]) {
                v[i] = lit(cg, c, c->const_val[k], d);
                continue;
            }
            LLVMValueRef ld = cg_load(cg, c->dt[k], c->ptr[k], off[1 + k]);
            if (d == XD_B)
                ld = LLVMBuildICmp(cg->b, LLVMIntNE, ld, LLVMConstInt(LLVMTypeOf(ld), 0, 0), "");
            else if (d == XD_F && LLVMTypeOf(ld) != c->ft)
                ld = LLVMBuildFPExt(cg->b, ld, c->ft, "");
            else if (d != XD_F && LLVMTypeOf(ld) != c->it)
                ld = d == XD_U ? LLVMBuildZExt(cg->b, ld, c->it, "") : LLVMBuildSExt(cg->b, ld, c->it, "");
            v[i] = ld;
            continue;
        }
        if (x->op == XK_CONST || x->op == XK_PARAM) {
            v[i] = lit(cg, c, x->op == XK_CONST ? x->k : c->n->a.p[x->arg], d);
            continue;
        }
        XDom cd = node_dom(e, i);
        XDom da = x->op == XK_SELECT ? XD_B : cd, db = cd;
        if (x->op == XK_POW && cd != XD_F)
            db = (XDom)e->x[x->b].dom == XD_U ? XD_U : XD_I;
        LLVMValueRef a = x->a >= 0 ? conv(cg, c, v[x->a], (XDom)e->x[x->a].dom, da) : NULL;
        LLVMValueRef b = x->b >= 0 ? conv(cg, c, v[x->b], (XDom)e->x[x->b].dom, db) : NULL;
        LLVMValueRef cc = x->c >= 0 ? conv(cg, c, v[x->c], (XDom)e->x[x->c].dom, cd) : NULL;
        /* a constant exponent (Pow's b baked in, or a literal) is spelled out */
        bool b_const = false;
        double b_val = 0;
        if (x->b >= 0) {
            const XNode *xb = &e->x[x->b];
            if (xb->op == XK_CONST)
                b_const = true, b_val = xb->k;
            else if (xb->op == XK_PARAM)
                b_const = true, b_val = c->n->a.p[xb->arg];
            else if (xb->op == XK_IN && c->in_const[xb->arg])
                b_const = true, b_val = c->const_val[xb->arg];
        }
        v[i] = emit_node(cg, c, x, cd, a, b, cc, b_const, b_val);
    }
    /* the result into the output's type */
    LLVMValueRef r = v[e->n - 1];
    XDom rd = (XDom)e->x[e->n - 1].dom, yd = expr_dom(c->dy);
    if (yd == XD_F) {
        r = conv(cg, c, r, rd, XD_F);
        LLVMTypeRef yt = cg_calc_type(cg, c->dy);
        if (LLVMTypeOf(r) != yt)
            r = yt == cg->f64 ? LLVMBuildFPExt(cg->b, r, yt, "") : LLVMBuildFPTrunc(cg->b, r, yt, "");
        cg_store(cg, c->dy, c->y, off[0], r);
        return;
    }
    if (yd == XD_B) {
        r = conv(cg, c, r, rd, XD_B);
        cg_store(cg, c->dy, c->y, off[0], LLVMBuildZExt(cg->b, r, cg->i8, ""));
        return;
    }
    LLVMTypeRef yt = cg_calc_type(cg, c->dy);
    if (rd == XD_F) {
        LLVMTypeRef ovl[2] = {yt, c->ft};
        r = cg_intrin(cg, yd == XD_U ? "llvm.fptoui.sat" : "llvm.fptosi.sat", ovl, 2, &r, 1);
    } else {
        r = conv(cg, c, r, rd, yd);
        unsigned rw = LLVMGetIntTypeWidth(LLVMTypeOf(r)), yw = LLVMGetIntTypeWidth(yt);
        if (rw > yw)
            r = LLVMBuildTrunc(cg->b, r, yt, "");
        else if (rw < yw)
            r = rd == XD_U || rd == XD_B ? LLVMBuildZExt(cg->b, r, yt, "") : LLVMBuildSExt(cg->b, r, yt, "");
    }
    cg_store(cg, c->dy, c->y, off[0], r);
}

CgResult cg_k_eltwise(Cg *cg, const Node *n)
{
    EltCtx c = {.n = n, .y = cg->arg[n->nin], .dy = n->out[0]->dtype};
    char err[128];
    if (!expr_of_node(n, &c.e, err, sizeof err)) {
        diag_error(cg->d, n->loc, "internal error: %s", err);
        return CG_FAIL;
    }
    for (int k = 0; k < n->nin; k++) {
        OpRole r;
        if (op_role(n->op, k, &r) && r.constant)
            continue;
        if (c.nops == 15 || !n->in[k]) {
            diag_error(cg->d, n->loc, "internal error: operand %d is missing", k);
            return CG_FAIL;
        }
        c.idx[c.nops++] = k;
    }
    bool f64 = c.dy == DT_F64;
    unsigned iw = dtype_is_float(c.dy) || c.dy == DT_BOOL ? 8 : (unsigned)dtype_size(c.dy) * 8;
    Nest ns;
    cg_nest_init(&ns, &n->out[0]->shape);
    cg_nest_operand(&ns, &n->out[0]->shape);
    for (int k = 0; k < c.nops; k++) {
        const Value *v = n->in[c.idx[k]];
        c.dt[k] = v->dtype;
        c.ptr[k] = cg->arg[c.idx[k]];
        f64 |= v->dtype == DT_F64;
        if (!dtype_is_float(v->dtype) && v->dtype != DT_BOOL && (unsigned)dtype_size(v->dtype) * 8 > iw)
            iw = (unsigned)dtype_size(v->dtype) * 8;
        /* a one-element constant is baked into the code (a scale, Pow's 2) */
        if (v->kind == VAL_CONST && shape_numel(&v->shape) == 1 && v->data && !v->sym) {
            Tensor t = {v->dtype, v->shape, v->data};
            c.in_const[k] = true;
            c.const_val[k] = dtype_is_float(v->dtype) ? tensor_load_f(&t, 0) : (double)tensor_load_i(&t, 0);
            /* integers beyond 2^53 are not exact in a double: read them at run time */
            if (!dtype_is_float(v->dtype) && fabs(c.const_val[k]) >= 9007199254740992.0)
                c.in_const[k] = false;
        }
        cg_nest_operand(&ns, &v->shape);
    }
    c.ft = f64 ? cg->f64 : cg->f32;
    c.it = LLVMIntTypeInContext(cg->ctx, iw);
    expr_type(&c.e, c.dt);
    /* a math function is a long chain of dependent multiply-adds: give the
     * out-of-order core several independent vectors per iteration */
    for (int i = 0; i < c.e.n; i++)
        if (c.e.x[i].op >= XK_EXP && c.e.x[i].op <= XK_TAN)
            ns.interleave = 2;
    cg_nest_collapse(&ns);
    cg_nest_emit(cg, &ns, elt_body, &c);
    return CG_DONE;
}

static LLVMValueRef int_div(Cg *cg, LLVMValueRef a, LLVMValueRef d, bool is_unsigned)
{
    /* truncating; x/0 = 0; INT_MIN/-1 = INT_MIN (no trap, no UB) */
    LLVMBuilderRef b = cg->b;
    LLVMTypeRef t = LLVMTypeOf(a);
    LLVMValueRef zero = LLVMConstInt(t, 0, 0), one = LLVMConstInt(t, 1, 0);
    LLVMValueRef dz = LLVMBuildICmp(b, LLVMIntEQ, d, zero, "");
    if (is_unsigned)
        return LLVMBuildSelect(b, dz, zero, LLVMBuildUDiv(b, a, LLVMBuildSelect(b, dz, one, d, ""), ""), "");
    unsigned w = LLVMGetIntTypeWidth(t);
    LLVMValueRef mn = LLVMConstInt(t, 1ull << (w - 1), 0), m1 = LLVMConstAllOnes(t);
    LLVMValueRef ovf = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntEQ, a, mn, ""), LLVMBuildICmp(b, LLVMIntEQ, d, m1, ""), "");
    LLVMValueRef safe = LLVMBuildSelect(b, LLVMBuildOr(b, dz, ovf, ""), one, d, "");
    LLVMValueRef q = LLVMBuildSDiv(b, a, safe, "");
    q = LLVMBuildSelect(b, ovf, mn, q, "");
    return LLVMBuildSelect(b, dz, zero, q, "");
}

/* ---- copies ------------------------------------------------------------- */

typedef struct CopyCtx {
    DType dt;
    LLVMValueRef y, x;
} CopyCtx;

static void copy_body(Cg *cg, void *vctx, LLVMValueRef *off)
{
    CopyCtx *c = vctx;
    /* raw element copy: no conversion of f16/bf16 */
    LLVMTypeRef t = cg_mem_type(cg, c->dt);
    LLVMValueRef v = LLVMBuildLoad2(cg->b, t, LLVMBuildInBoundsGEP2(cg->b, t, c->x, &off[1], 1, ""), "");
    LLVMBuildStore(cg->b, v, LLVMBuildInBoundsGEP2(cg->b, t, c->y, &off[0], 1, ""));
}

/* Identity and views whose result must be materialized (graph outputs). */
bool cg_k_copy(Cg *cg, const Node *n)
{
    const Shape *ys = &n->out[0]->shape;
    Shape flat = {.rank = 1, .d = {shape_numel(ys)}};
    if (shape_has_batch(ys))
        flat = (Shape){.rank = 2, .d = {DIM_BATCH, shape_numel(ys)}};
    CopyCtx c = {n->out[0]->dtype, cg->arg[n->nin], cg->arg[0]};
    Nest ns;
    cg_nest_init(&ns, &flat);
    cg_nest_operand(&ns, &flat);
    cg_nest_operand(&ns, &flat);
    cg_nest_collapse(&ns);
    cg_nest_emit(cg, &ns, copy_body, &c);
    return true;
}

bool cg_k_transpose(Cg *cg, const Node *n)
{
    const Shape *xs = &n->in[0]->shape, *ys = &n->out[0]->shape;
    int64_t xst[QK_MAX_RANK], st[QK_MAX_RANK];
    shape_strides(xs, xst);
    for (int k = 0; k < ys->rank; k++)
        st[k] = xst[n->a.ints[k]];
    CopyCtx c = {n->out[0]->dtype, cg->arg[1], cg->arg[0]};
    Nest ns;
    cg_nest_init(&ns, ys);
    cg_nest_operand(&ns, ys);
    cg_nest_operand_strided(&ns, st, 0);
    cg_nest_collapse(&ns);
    cg_nest_emit(cg, &ns, copy_body, &c);
    return true;
}

/* Concat: the output seen as [outer, total, inner] along the axis; each
 * (outer, axis position) row copies `inner` elements from the input that
 * holds that position. */
bool cg_k_concat(Cg *cg, const Node *n)
{
    const Shape *ys = &n->out[0]->shape;
    int axis = (int)n->a.axis;
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < axis; i++)
        outer *= shape_dim(ys, i);
    for (int i = axis + 1; i < ys->rank; i++)
        inner *= ys->d[i];
    int64_t total = ys->d[axis];
    bool batch = shape_has_batch(ys);
    DType dt = n->out[0]->dtype;
    LLVMTypeRef t = cg_mem_type(cg, dt);
    LLVMValueRef y = cg->arg[n->nin];
    LLVMBuilderRef b = cg->b;

    CgLoop par;
    LLVMValueRef row = cg_par_begin(cg, &par, batch ? 0 : outer * total, batch ? outer * total : 0);
    LLVMValueRef o = LLVMBuildSDiv(b, row, cg_i64(cg, total), "o");
    LLVMValueRef a = LLVMBuildSRem(b, row, cg_i64(cg, total), "a");
    LLVMValueRef yoff = LLVMBuildNSWMul(b, row, cg_i64(cg, inner), "");
    int64_t start = 0;
    for (int k = 0; k < n->nin; k++) {
        int64_t len = n->in[k]->shape.d[axis];
        if (len == 0)
            continue;
        LLVMValueRef in_range = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntSGE, a, cg_i64(cg, start), ""),
                                             LLVMBuildICmp(b, LLVMIntSLT, a, cg_i64(cg, start + len), ""), "");
        CgIf cond;
        cg_if_begin(cg, &cond, in_range);
        /* source row: (o * len + a - start) * inner */
        LLVMValueRef srow = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, o, cg_i64(cg, len), ""),
                                            LLVMBuildNSWSub(b, a, cg_i64(cg, start), ""), "");
        LLVMValueRef xoff = LLVMBuildNSWMul(b, srow, cg_i64(cg, inner), "");
        CgLoop l;
        LLVMValueRef i = cg_for_begin(cg, &l, cg_i64(cg, 0), cg_i64(cg, inner), cg_i64(cg, 1), "i");
        LLVMValueRef xi = LLVMBuildNSWAdd(b, xoff, i, ""), yi = LLVMBuildNSWAdd(b, yoff, i, "");
        LLVMValueRef v = LLVMBuildLoad2(b, t, LLVMBuildInBoundsGEP2(b, t, cg->arg[k], &xi, 1, ""), "");
        LLVMBuildStore(b, v, LLVMBuildInBoundsGEP2(b, t, y, &yi, 1, ""));
        cg_for_end(cg, &l);
        cg_if_end(cg, &cond);
        start += len;
    }
    cg_par_end(cg, &par);
    return true;
}

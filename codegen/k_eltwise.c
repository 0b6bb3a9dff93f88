/* k_eltwise.c — elementwise kernels and data movement: unary ops and Cast,
 * broadcast binary ops, copies (materialized views), Transpose, Concat.
 *
 * All but Concat are one strided loop nest (loop.c): the output walks
 * contiguously, inputs with their broadcast or permuted strides; after
 * collapsing, the innermost loop is usually unit-stride and vectorizes. */
#include <math.h>

#include "cg.h"

/* ---- unary -------------------------------------------------------------- */

typedef struct UnCtx {
    const Node *n;
    LLVMValueRef y, x;
    DType dx, dy;
} UnCtx;

/* Integer bounds of a float range for Clip on an integer type. */
static LLVMValueRef int_bound(Cg *cg, DType t, double v, bool lo)
{
    double tmin, tmax;
    switch (t) {
    case DT_I8: tmin = -128, tmax = 127; break;
    case DT_U8: case DT_BOOL: tmin = 0, tmax = 255; break;
    case DT_I16: tmin = -32768, tmax = 32767; break;
    case DT_U16: tmin = 0, tmax = 65535; break;
    case DT_I32: tmin = -2147483648.0, tmax = 2147483647.0; break;
    case DT_U32: tmin = 0, tmax = 4294967295.0; break;
    case DT_I64: tmin = -9223372036854775808.0, tmax = 9223372036854775807.0; break;
    default: tmin = 0, tmax = 18446744073709551615.0; break;
    }
    /* as the interpreter: truncate toward zero, saturate, NaN -> 0 */
    double b = isnan(v) ? 0 : v < tmin ? tmin : v > tmax ? tmax : trunc(v);
    (void)lo;
    LLVMTypeRef it = cg_calc_type(cg, t);
    if (dtype_is_unsigned_int(t))
        return LLVMConstInt(it, b >= 18446744073709551615.0 ? ~0ull : (unsigned long long)b, 0);
    return LLVMConstInt(it, b >= 9223372036854775807.0 ? (unsigned long long)INT64_MAX : (unsigned long long)(long long)b,
                        1);
}

/* Transcendentals run in f32 (f64 values are narrowed and widened). */
static LLVMValueRef in_f32(Cg *cg, LLVMValueRef v, LLVMValueRef (*f)(Cg *, LLVMValueRef))
{
    if (LLVMTypeOf(v) == cg->f64)
        return LLVMBuildFPExt(cg->b, f(cg, LLVMBuildFPTrunc(cg->b, v, cg->f32, "")), cg->f64, "");
    return f(cg, v);
}

static void unary_body(Cg *cg, void *vctx, LLVMValueRef *off)
{
    UnCtx *c = vctx;
    const Node *n = c->n;
    LLVMBuilderRef b = cg->b;
    LLVMValueRef x = cg_load(cg, c->dx, c->x, off[1]), y = x;
    bool fl = dtype_is_float(c->dx);
    LLVMTypeRef t = LLVMTypeOf(x);
    switch (n->op) {
    case OP_RELU: {
        LLVMValueRef zero = fl ? LLVMConstReal(t, 0) : LLVMConstInt(t, 0, 0);
        LLVMValueRef neg = fl ? LLVMBuildFCmp(b, LLVMRealOLT, x, zero, "") : LLVMBuildICmp(b, LLVMIntSLT, x, zero, "");
        y = LLVMBuildSelect(b, neg, zero, x, "");
        break;
    }
    case OP_LEAKY_RELU:
        y = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLT, x, LLVMConstReal(t, 0), ""),
                            LLVMBuildFMul(b, x, LLVMConstReal(t, n->a.alpha), ""), x, "");
        break;
    case OP_CLIP:
        if (fl) {
            LLVMValueRef lo = LLVMConstReal(t, n->a.lo), hi = LLVMConstReal(t, n->a.hi);
            y = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLT, x, lo, ""), lo, x, "");
            y = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, y, hi, ""), hi, y, "");
        } else {
            bool u = dtype_is_unsigned_int(c->dx);
            LLVMValueRef lo = int_bound(cg, c->dx, n->a.lo, true), hi = int_bound(cg, c->dx, n->a.hi, false);
            y = LLVMBuildSelect(b, LLVMBuildICmp(b, u ? LLVMIntULT : LLVMIntSLT, x, lo, ""), lo, x, "");
            y = LLVMBuildSelect(b, LLVMBuildICmp(b, u ? LLVMIntUGT : LLVMIntSGT, y, hi, ""), hi, y, "");
        }
        break;
    case OP_SIGMOID: y = in_f32(cg, x, cg_sigmoid); break;
    case OP_TANH: y = in_f32(cg, x, cg_tanh); break;
    case OP_CAST: y = cg_convert(cg, x, c->dx, c->dy); break;
    default: break;
    }
    cg_store(cg, c->dy, c->y, off[0], y);
}

bool cg_k_unary(Cg *cg, const Node *n)
{
    UnCtx c = {n, cg->arg[n->nin], cg->arg[0], n->in[0]->dtype, n->out[0]->dtype};
    /* Cast from f16 to f32 and back must not go through the calc type's
     * rounding twice: loads widen exactly, stores round once. */
    Nest ns;
    cg_nest_init(&ns, &n->out[0]->shape);
    cg_nest_operand(&ns, &n->out[0]->shape);
    cg_nest_operand(&ns, &n->in[0]->shape);
    cg_nest_collapse(&ns);
    cg_nest_emit(cg, &ns, unary_body, &c);
    return true;
}

/* ---- binary ------------------------------------------------------------- */

typedef struct BinCtx {
    const Node *n;
    DType dt;
    LLVMValueRef y, a, bb;
    bool half;  /* f16 computed in half (Target.f16_arith) */
} BinCtx;

/* f16 elements as LLVM half values, for targets with fp16 arithmetic.
 * For + - * / of two halves, rounding the exact result to half directly or
 * via f32 gives the same bits (f32 has more than 2*11+2 bits), and max/min
 * are exact: computing in half changes speed, not results. */
static LLVMValueRef load_half(Cg *cg, LLVMValueRef p, LLVMValueRef idx)
{
    LLVMValueRef v = LLVMBuildLoad2(cg->b, cg->i16, cg_gep(cg, DT_F16, p, idx), "");
    return LLVMBuildBitCast(cg->b, v, cg->f16, "");
}

static void store_half(Cg *cg, LLVMValueRef p, LLVMValueRef idx, LLVMValueRef v)
{
    LLVMBuildStore(cg->b, LLVMBuildBitCast(cg->b, v, cg->i16, ""), cg_gep(cg, DT_F16, p, idx));
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

static void binary_body(Cg *cg, void *vctx, LLVMValueRef *off)
{
    BinCtx *c = vctx;
    LLVMBuilderRef b = cg->b;
    LLVMValueRef x = c->half ? load_half(cg, c->a, off[1]) : cg_load(cg, c->dt, c->a, off[1]);
    LLVMValueRef y = c->half ? load_half(cg, c->bb, off[2]) : cg_load(cg, c->dt, c->bb, off[2]), r;
    bool fl = dtype_is_float(c->dt), u = dtype_is_unsigned_int(c->dt);
    switch (c->n->op) {
    case OP_ADD: r = fl ? LLVMBuildFAdd(b, x, y, "") : LLVMBuildAdd(b, x, y, ""); break;
    case OP_SUB: r = fl ? LLVMBuildFSub(b, x, y, "") : LLVMBuildSub(b, x, y, ""); break;
    case OP_MUL: r = fl ? LLVMBuildFMul(b, x, y, "") : LLVMBuildMul(b, x, y, ""); break;
    case OP_DIV: r = fl ? LLVMBuildFDiv(b, x, y, "") : int_div(cg, x, y, u); break;
    case OP_MAX:
        r = fl ? cg_fmax_nan(cg, x, y)
               : LLVMBuildSelect(b, LLVMBuildICmp(b, u ? LLVMIntUGT : LLVMIntSGT, x, y, ""), x, y, "");
        break;
    case OP_MIN:
        r = fl ? cg_fmin_nan(cg, x, y)
               : LLVMBuildSelect(b, LLVMBuildICmp(b, u ? LLVMIntULT : LLVMIntSLT, x, y, ""), x, y, "");
        break;
    default: r = x; break;
    }
    if (c->half)
        store_half(cg, c->y, off[0], r);
    else
        cg_store(cg, c->dt, c->y, off[0], r);
}

bool cg_k_binary(Cg *cg, const Node *n)
{
    BinCtx c = {n, n->out[0]->dtype, cg->arg[2], cg->arg[0], cg->arg[1], false};
    c.half = c.dt == DT_F16 && cg->t->f16_arith;
    Nest ns;
    cg_nest_init(&ns, &n->out[0]->shape);
    cg_nest_operand(&ns, &n->out[0]->shape);
    cg_nest_operand(&ns, &n->in[0]->shape);
    cg_nest_operand(&ns, &n->in[1]->shape);
    cg_nest_collapse(&ns);
    cg_nest_emit(cg, &ns, binary_body, &c);
    return true;
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
        outer *= ys->d[i] == DIM_BATCH ? 1 : ys->d[i];
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

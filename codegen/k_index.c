/* k_index.c — data movement: Slice, Expand, Tile, Pad, DepthToSpace,
 * SpaceToDepth, Trilu (index maps), Split, Gather, GatherElements,
 * GatherND, and the generated tensors (Shape, Size, ConstantOfShape,
 * Range) when they are not folded.
 *
 * Every kernel is one loop nest over the output (loop.c). Slice and Expand
 * read the input with constant strides (unit-stride rows vectorize); the
 * other index maps compute the input position per dim from the output
 * coordinates, as ir_index_map / ir_space_map define them; gathers read
 * their positions from the index tensor (negative ones wrapped, out of
 * range ones clamped, as the interpreter does). Elements move as raw
 * bytes, so every dtype (quantized ones included) takes the same code. */
#include <math.h>
#include <string.h>

#include "cg.h"

typedef struct IdxCtx {
    const Node *n;
    LLVMTypeRef t;                 /* the element as raw bits */
    LLVMValueRef y, x, idx;
    int coord;                     /* the first coordinate operand */
    int rank;
    Shape xs, ys;                  /* xs: the input aligned to the output's rank (Expand) */
    int64_t xst[QK_MAX_RANK];
    LLVMValueRef pad;              /* Pad's value, as raw bits */
} IdxCtx;

static LLVMValueRef ld(Cg *cg, LLVMTypeRef t, LLVMValueRef p, LLVMValueRef i)
{
    return LLVMBuildLoad2(cg->b, t, LLVMBuildInBoundsGEP2(cg->b, t, p, &i, 1, ""), "");
}

static void st(Cg *cg, LLVMTypeRef t, LLVMValueRef p, LLVMValueRef i, LLVMValueRef v)
{
    LLVMBuildStore(cg->b, v, LLVMBuildInBoundsGEP2(cg->b, t, p, &i, 1, ""));
}

static LLVMValueRef smin(Cg *cg, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildSelect(cg->b, LLVMBuildICmp(cg->b, LLVMIntSLT, a, b, ""), a, b, "");
}

static LLVMValueRef smax(Cg *cg, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildSelect(cg->b, LLVMBuildICmp(cg->b, LLVMIntSGT, a, b, ""), a, b, "");
}

/* ((v mod m) + m) mod m for a constant m > 0 */
static LLVMValueRef pos_mod(Cg *cg, LLVMValueRef v, int64_t m)
{
    LLVMValueRef mm = cg_i64(cg, m);
    LLVMValueRef r = LLVMBuildSRem(cg->b, v, mm, "");
    return LLVMBuildSelect(cg->b, LLVMBuildICmp(cg->b, LLVMIntSLT, r, cg_i64(cg, 0), ""), LLVMBuildNSWAdd(cg->b, r, mm, ""),
                           r, "");
}

/* ---- Slice, Expand: strided copies ------------------------------------- */

typedef struct CopyCtx {
    LLVMTypeRef t;
    LLVMValueRef y, x;
} CopyCtx;

static void copy_body(Cg *cg, void *vctx, LLVMValueRef *off)
{
    CopyCtx *c = vctx;
    st(cg, c->t, c->y, off[0], ld(cg, c->t, c->x, off[1]));
}

static void strided_copy(Cg *cg, const Node *n, const int64_t *strides, int64_t base)
{
    CopyCtx c = {cg_mem_type(cg, n->out[0]->dtype), cg->arg[n->nin], cg->arg[0]};
    Nest ns;
    cg_nest_init(&ns, &n->out[0]->shape);
    cg_nest_operand(&ns, &n->out[0]->shape);
    cg_nest_operand_strided(&ns, strides, base);
    cg_nest_collapse(&ns);
    cg_nest_emit(cg, &ns, copy_body, &c);
}

/* ---- Tile, Pad, the space ops, Trilu: positions per dim ---------------- */

static void map_body(Cg *cg, void *vctx, LLVMValueRef *off)
{
    IdxCtx *c = vctx;
    const Node *n = c->n;
    LLVMBuilderRef b = cg->b;
    LLVMValueRef o[QK_MAX_RANK];
    for (int i = 0; i < c->rank; i++)
        o[i] = off[c->coord + i];
    LLVMValueRef src = cg_i64(cg, 0), outside = LLVMConstInt(cg->i1, 0, 0);
    switch (n->op) {
    case OP_DEPTH_TO_SPACE:
    case OP_SPACE_TO_DEPTH: {
        int64_t bs = n->a.blocksize, C = c->xs.d[1];
        LLVMValueRef ic, ih, iw, cc = o[1], h = o[2], w = o[3], B = cg_i64(cg, bs);
        if (n->op == OP_DEPTH_TO_SPACE) {
            LLVMValueRef i = LLVMBuildSRem(b, h, B, ""), j = LLVMBuildSRem(b, w, B, "");
            LLVMValueRef ij = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, i, B, ""), j, "");
            ic = n->a.mode ? LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, cc, cg_i64(cg, bs * bs), ""), ij, "")
                           : LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, ij, cg_i64(cg, C / (bs * bs)), ""), cc, "");
            ih = LLVMBuildSDiv(b, h, B, ""), iw = LLVMBuildSDiv(b, w, B, "");
        } else {
            LLVMValueRef blk = LLVMBuildSDiv(b, cc, cg_i64(cg, C), "");
            ic = LLVMBuildSRem(b, cc, cg_i64(cg, C), "");
            ih = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, h, B, ""), LLVMBuildSDiv(b, blk, B, ""), "");
            iw = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, w, B, ""), LLVMBuildSRem(b, blk, B, ""), "");
        }
        LLVMValueRef pos[4] = {o[0], ic, ih, iw};
        for (int i = 0; i < 4; i++)
            src = LLVMBuildNSWAdd(b, src, LLVMBuildNSWMul(b, pos[i], cg_i64(cg, c->xst[i]), ""), "");
        break;
    }
    case OP_TRILU: {
        LLVMValueRef row = o[c->rank - 2], col = o[c->rank - 1];
        LLVMValueRef dd = LLVMBuildNSWSub(b, col, row, "");
        LLVMValueRef keep = LLVMBuildICmp(b, n->a.mode ? LLVMIntSGE : LLVMIntSLE, dd, cg_i64(cg, n->a.blocksize), "");
        outside = LLVMBuildNot(b, keep, "");
        src = off[1]; /* the same position */
        break;
    }
    default: /* Tile, Pad */
        for (int i = 0; i < c->rank; i++) {
            int64_t dim = shape_dim(&c->xs, i);
            LLVMValueRef p = o[i];
            if (n->op == OP_TILE) {
                if (c->ys.d[i] != c->xs.d[i])
                    p = dim > 0 ? LLVMBuildURem(b, p, cg_i64(cg, dim), "") : cg_i64(cg, 0);
            } else {
                int64_t pb = n->a.pads2[i];
                if (pb == 0 && n->a.pads2[QK_MAX_RANK + i] == 0) {
                    /* this dim is not padded */
                } else {
                    p = LLVMBuildNSWSub(b, p, cg_i64(cg, pb), "");
                    switch (n->a.mode) {
                    case PAD_EDGE: p = smax(cg, smin(cg, p, cg_i64(cg, dim - 1)), cg_i64(cg, 0)); break;
                    case PAD_WRAP: p = pos_mod(cg, p, dim); break;
                    case PAD_REFLECT: {
                        int64_t period = 2 * (dim - 1);
                        if (period <= 0) {
                            p = cg_i64(cg, 0);
                            break;
                        }
                        p = pos_mod(cg, p, period);
                        p = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, p, cg_i64(cg, dim), ""), p,
                                            LLVMBuildNSWSub(b, cg_i64(cg, period), p, ""), "");
                        break;
                    }
                    default: {
                        LLVMValueRef out = LLVMBuildOr(b, LLVMBuildICmp(b, LLVMIntSLT, p, cg_i64(cg, 0), ""),
                                                       LLVMBuildICmp(b, LLVMIntSGE, p, cg_i64(cg, dim), ""), "");
                        outside = LLVMBuildOr(b, outside, out, "");
                        p = smax(cg, smin(cg, p, cg_i64(cg, dim - 1)), cg_i64(cg, 0)); /* a safe address */
                        break;
                    }
                    }
                }
            }
            src = LLVMBuildNSWAdd(b, src, LLVMBuildNSWMul(b, p, cg_i64(cg, c->xst[i]), ""), "");
        }
        break;
    }
    LLVMValueRef v = ld(cg, c->t, c->x, src);
    if (c->pad)
        v = LLVMBuildSelect(b, outside, c->pad, v, "");
    st(cg, c->t, c->y, off[0], v);
}

/* Pad's value in the data's type, as raw bits. */
static LLVMValueRef pad_bits(Cg *cg, const Node *n, DType t)
{
    LLVMTypeRef mt = cg_mem_type(cg, t);
    double v = n->a.value;
    if (t == DT_F32)
        return LLVMConstReal(cg->f32, v);
    if (t == DT_F64)
        return LLVMConstReal(cg->f64, v);
    if (t == DT_F16)
        return LLVMConstInt(mt, f32_to_f16((float)v), 0);
    if (t == DT_BF16)
        return LLVMConstInt(mt, f32_to_bf16((float)v), 0);
    /* integers as Cast does: truncate, saturate */
    double lo = dtype_is_unsigned_int(t) ? 0 : -ldexp(1, 8 * dtype_size(t) - 1);
    double hi = dtype_is_unsigned_int(t) ? ldexp(1, 8 * dtype_size(t)) - 1 : ldexp(1, 8 * dtype_size(t) - 1) - 1;
    double k = v != v ? 0 : v < lo ? lo : v > hi ? hi : (double)(long long)v;
    return LLVMConstInt(mt, (unsigned long long)(long long)k, 1);
}

CgResult cg_k_index(Cg *cg, const Node *n)
{
    const Shape *xs = &n->in[0]->shape, *ys = &n->out[0]->shape;
    IdxCtx c = {.n = n, .t = cg_mem_type(cg, n->out[0]->dtype), .y = cg->arg[n->nin], .x = cg->arg[0],
                .rank = ys->rank, .ys = *ys};
    /* the input right-aligned at the output's rank (Expand broadcasts) */
    c.xs.rank = ys->rank;
    for (int i = 0; i < ys->rank; i++) {
        int j = i - (ys->rank - xs->rank);
        c.xs.d[i] = j < 0 ? 1 : xs->d[j];
    }
    Shape sx = c.xs;
    if (sx.rank && sx.d[0] == DIM_BATCH)
        sx.d[0] = 1; /* strides per batch item */
    shape_strides(&sx, c.xst);
    if (n->op == OP_SLICE || n->op == OP_EXPAND) {
        int64_t strides[QK_MAX_RANK], base = 0;
        for (int i = 0; i < ys->rank; i++) {
            if (n->op == OP_SLICE) {
                strides[i] = c.xst[i] * n->a.steps[i];
                base += c.xst[i] * n->a.starts[i];
            } else {
                strides[i] = c.xs.d[i] == 1 && ys->d[i] != 1 ? 0 : c.xst[i];
                if (c.xs.d[i] == DIM_BATCH && ys->d[i] == DIM_BATCH)
                    strides[i] = c.xst[i];
            }
        }
        strided_copy(cg, n, strides, base);
        return CG_DONE;
    }
    if (n->op == OP_PAD)
        c.pad = pad_bits(cg, n, n->out[0]->dtype);
    if (n->op == OP_TRILU)
        c.pad = LLVMConstNull(c.t);
    Nest ns;
    cg_nest_init(&ns, ys);
    cg_nest_operand(&ns, ys);
    cg_nest_operand(&ns, ys); /* the same position in the input (Trilu) */
    c.coord = cg_nest_coords(&ns);
    cg_nest_collapse(&ns);
    cg_nest_emit(cg, &ns, map_body, &c);
    return CG_DONE;
}

/* ---- Split: rows of the input to the output that holds them ------------- */

CgResult cg_k_split(Cg *cg, const Node *n)
{
    const Shape *xs = &n->in[0]->shape;
    int axis = (int)n->a.axis;
    int64_t outer = 1, inner = 1, total = xs->d[axis];
    for (int i = 0; i < axis; i++)
        outer *= shape_dim(xs, i);
    for (int i = axis + 1; i < xs->rank; i++)
        inner *= xs->d[i];
    bool batch = shape_has_batch(xs);
    LLVMTypeRef t = cg_mem_type(cg, xs->rank ? n->in[0]->dtype : n->in[0]->dtype);
    LLVMBuilderRef b = cg->b;
    CgLoop par;
    LLVMValueRef row = cg_par_begin(cg, &par, batch ? 0 : outer * total, batch ? outer * total : 0);
    LLVMValueRef o = LLVMBuildSDiv(b, row, cg_i64(cg, total), "o");
    LLVMValueRef a = LLVMBuildSRem(b, row, cg_i64(cg, total), "a");
    LLVMValueRef xoff = LLVMBuildNSWMul(b, row, cg_i64(cg, inner), "");
    int64_t start = 0;
    for (int k = 0; k < n->nout; k++) {
        int64_t len = n->a.sizes[k];
        if (len == 0 || !n->out[k]) {
            start += len;
            continue;
        }
        LLVMValueRef in_range = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntSGE, a, cg_i64(cg, start), ""),
                                             LLVMBuildICmp(b, LLVMIntSLT, a, cg_i64(cg, start + len), ""), "");
        CgIf cond;
        cg_if_begin(cg, &cond, in_range);
        LLVMValueRef yrow = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, o, cg_i64(cg, len), ""),
                                            LLVMBuildNSWSub(b, a, cg_i64(cg, start), ""), "");
        LLVMValueRef yoff = LLVMBuildNSWMul(b, yrow, cg_i64(cg, inner), "");
        CgLoop l;
        LLVMValueRef i = cg_for_begin(cg, &l, cg_i64(cg, 0), cg_i64(cg, inner), cg_i64(cg, 1), "i");
        st(cg, t, cg->arg[n->nin + k], LLVMBuildNSWAdd(b, yoff, i, ""), ld(cg, t, cg->arg[0], LLVMBuildNSWAdd(b, xoff, i, "")));
        cg_for_end(cg, &l);
        cg_if_end(cg, &cond);
        start += len;
    }
    cg_par_end(cg, &par);
    return CG_DONE;
}

/* ---- gathers ---------------------------------------------------------------- */

/* An index of dtype t loaded at i, wrapped when negative and clamped into
 * [0, dim). */
static LLVMValueRef load_index(Cg *cg, DType t, LLVMValueRef p, LLVMValueRef i, int64_t dim)
{
    LLVMValueRef k = ld(cg, cg_mem_type(cg, t), p, i);
    if (t != DT_I64)
        k = LLVMBuildSExt(cg->b, k, cg->i64, "");
    k = LLVMBuildSelect(cg->b, LLVMBuildICmp(cg->b, LLVMIntSLT, k, cg_i64(cg, 0), ""),
                        LLVMBuildNSWAdd(cg->b, k, cg_i64(cg, dim), ""), k, "");
    return smax(cg, smin(cg, k, cg_i64(cg, dim > 0 ? dim - 1 : 0)), cg_i64(cg, 0));
}

typedef struct GatherCtx {
    const Node *n;
    LLVMTypeRef t;
    DType it;
    LLVMValueRef y, x, idx;
    int64_t len, stride; /* Gather, GatherElements: the axis' extent and stride */
    int64_t last, bdims;
    int64_t dims[QK_MAX_RANK], xst[QK_MAX_RANK];
} GatherCtx;

static void gather_body(Cg *cg, void *vctx, LLVMValueRef *off)
{
    GatherCtx *c = vctx;
    LLVMBuilderRef b = cg->b;
    LLVMValueRef src = off[1];
    if (c->n->op == OP_GATHER_ND) {
        for (int64_t k = 0; k < c->last; k++) {
            LLVMValueRef pos = load_index(cg, c->it, c->idx, LLVMBuildNSWAdd(b, off[2], cg_i64(cg, k), ""),
                                          c->dims[c->bdims + k]);
            src = LLVMBuildNSWAdd(b, src, LLVMBuildNSWMul(b, pos, cg_i64(cg, c->xst[c->bdims + k]), ""), "");
        }
    } else {
        LLVMValueRef pos = load_index(cg, c->it, c->idx, off[2], c->len);
        src = LLVMBuildNSWAdd(b, src, LLVMBuildNSWMul(b, pos, cg_i64(cg, c->stride), ""), "");
    }
    st(cg, c->t, c->y, off[0], ld(cg, c->t, c->x, src));
}

CgResult cg_k_gather(Cg *cg, const Node *n)
{
    const Shape *xs = &n->in[0]->shape, *is = &n->in[1]->shape, *ys = &n->out[0]->shape;
    GatherCtx c = {.n = n, .t = cg_mem_type(cg, n->out[0]->dtype), .it = n->in[1]->dtype, .y = cg->arg[2],
                   .x = cg->arg[0], .idx = cg->arg[1]};
    Shape xc = *xs;
    if (shape_has_batch(&xc))
        xc.d[0] = 1; /* per batch item: the batch dim's stride is the item's size */
    shape_strides(&xc, c.xst);
    int64_t ist[QK_MAX_RANK];
    Shape ic = *is;
    if (shape_has_batch(&ic))
        ic.d[0] = 1;
    shape_strides(&ic, ist);
    for (int i = 0; i < xs->rank; i++)
        c.dims[i] = xs->d[i];
    /* per output dim: the data's stride and the indices' stride */
    int64_t dst[QK_MAX_RANK] = {0}, idst[QK_MAX_RANK] = {0};
    int r = ys->rank;
    if (n->op == OP_GATHER) {
        int ax = (int)n->a.axis, ir_ = is->rank;
        c.len = xs->d[ax], c.stride = c.xst[ax];
        for (int i = 0; i < r; i++) {
            if (i < ax)
                dst[i] = c.xst[i];
            else if (i < ax + ir_)
                idst[i] = ist[i - ax];
            else
                dst[i] = c.xst[i - ir_ + 1];
        }
    } else if (n->op == OP_GATHER_ELEMENTS) {
        int ax = (int)n->a.axis;
        c.len = xs->d[ax], c.stride = c.xst[ax];
        for (int i = 0; i < r; i++) {
            dst[i] = i == ax ? 0 : c.xst[i];
            idst[i] = ist[i];
        }
    } else { /* GatherND: output [idx dims but the last, data dims from bdims + last] */
        c.bdims = n->a.axis, c.last = is->d[is->rank - 1];
        int nidx = is->rank - 1;
        for (int i = 0; i < r; i++) {
            if (i < nidx) {
                idst[i] = ist[i];
                dst[i] = i < c.bdims ? c.xst[i] : 0;
            } else {
                dst[i] = c.xst[c.bdims + c.last + (i - nidx)];
            }
        }
    }
    Nest ns;
    cg_nest_init(&ns, ys);
    cg_nest_operand(&ns, ys);
    cg_nest_operand_strided(&ns, dst, 0);
    cg_nest_operand_strided(&ns, idst, 0);
    cg_nest_collapse(&ns);
    cg_nest_emit(cg, &ns, gather_body, &c);
    return CG_DONE;
}

/* ---- Shape, Size, ConstantOfShape, Range ---------------------------------- */

CgResult cg_k_shape(Cg *cg, const Node *n)
{
    const Shape *xs = &n->in[0]->shape;
    CgLoop par;
    cg_par_begin(cg, &par, 1, 0);
    LLVMValueRef Y = cg->arg[n->nin];
    if (n->op == OP_SIZE) {
        LLVMValueRef v = cg_i64(cg, shape_numel(xs));
        if (shape_has_batch(xs))
            v = LLVMBuildNSWMul(cg->b, v, cg->batch, "");
        st(cg, cg->i64, Y, cg_i64(cg, 0), v);
    } else {
        for (int64_t i = n->a.starts[0]; i < n->a.ends[0]; i++)
            st(cg, cg->i64, Y, cg_i64(cg, i - n->a.starts[0]),
               xs->d[i] == DIM_BATCH ? LLVMBuildNSWMul(cg->b, cg->batch, cg_i64(cg, shape_rows(xs)), "") : cg_i64(cg, xs->d[i]));
    }
    cg_par_end(cg, &par);
    return CG_DONE;
}

typedef struct FillCtx {
    LLVMTypeRef t;
    LLVMValueRef y, v;
} FillCtx;

static void fill_body(Cg *cg, void *vctx, LLVMValueRef *off)
{
    FillCtx *c = vctx;
    st(cg, c->t, c->y, off[0], c->v);
}

CgResult cg_k_fill(Cg *cg, const Node *n)
{
    DType t = n->out[0]->dtype;
    FillCtx c = {cg_mem_type(cg, t), cg->arg[n->nin], NULL};
    if (t == DT_F32) {
        float f;
        memcpy(&f, &n->a.fill, 4);
        c.v = LLVMConstReal(cg->f32, f);
    } else if (t == DT_F64) {
        double f;
        memcpy(&f, &n->a.fill, 8);
        c.v = LLVMConstReal(cg->f64, f);
    } else {
        c.v = LLVMConstInt(c.t, n->a.fill, 0);
    }
    Nest ns;
    cg_nest_init(&ns, &n->out[0]->shape);
    cg_nest_operand(&ns, &n->out[0]->shape);
    cg_nest_collapse(&ns);
    cg_nest_emit(cg, &ns, fill_body, &c);
    return CG_DONE;
}

CgResult cg_k_range(Cg *cg, const Node *n)
{
    DType t = n->out[0]->dtype;
    int64_t len = n->out[0]->shape.d[0];
    CgLoop par;
    LLVMValueRef i = cg_par_begin(cg, &par, len, 0);
    LLVMValueRef v;
    if (dtype_is_float(t)) {
        LLVMValueRef fi = LLVMBuildSIToFP(cg->b, i, cg->f64, "");
        v = LLVMBuildFAdd(cg->b, LLVMConstReal(cg->f64, n->a.p[0]),
                          LLVMBuildFMul(cg->b, fi, LLVMConstReal(cg->f64, n->a.p[2]), ""), "");
        v = cg_calc_type(cg, t) == cg->f64 ? v : LLVMBuildFPTrunc(cg->b, v, cg->f32, "");
        cg_store(cg, t, cg->arg[n->nin], i, v);
    } else {
        v = LLVMBuildAdd(cg->b, cg_i64(cg, (int64_t)n->a.p[0]), LLVMBuildMul(cg->b, i, cg_i64(cg, (int64_t)n->a.p[2]), ""), "");
        LLVMTypeRef mt = cg_mem_type(cg, t);
        if (mt != cg->i64)
            v = LLVMBuildTrunc(cg->b, v, mt, "");
        st(cg, mt, cg->arg[n->nin], i, v);
    }
    cg_par_end(cg, &par);
    return CG_DONE;
}

/* ---- Resize: nearest and multilinear, ir_resize_map computed inline ------- */

typedef struct ResizeCtx {
    const Node *n;
    DType dt;
    LLVMValueRef y, x;
    int rank, coord;
    Shape xs, ys;
    int64_t xst[QK_MAX_RANK];
} ResizeCtx;

/* floor of an f64 known to be small (|v| < 2^52) */
static LLVMValueRef floor64(Cg *cg, LLVMValueRef v)
{
    LLVMValueRef t = LLVMBuildFPToSI(cg->b, v, cg->i64, "");
    LLVMValueRef tf = LLVMBuildSIToFP(cg->b, t, cg->f64, "");
    return LLVMBuildSelect(cg->b, LLVMBuildFCmp(cg->b, LLVMRealOLT, v, tf, ""), LLVMBuildNSWSub(cg->b, t, cg_i64(cg, 1), ""),
                           t, "");
}

static LLVMValueRef fc64(Cg *cg, double v) { return LLVMConstReal(cg->f64, v); }

/* ir_resize_coord in IR (f64) */
static LLVMValueRef resize_coord(Cg *cg, const Node *n, int64_t lin, int64_t lout, double s, LLVMValueRef o)
{
    LLVMBuilderRef b = cg->b;
    LLVMValueRef x = LLVMBuildSIToFP(b, o, cg->f64, "");
    double outw = s * (double)lin;
    LLVMValueRef hp = LLVMBuildFSub(b, LLVMBuildFDiv(b, LLVMBuildFAdd(b, x, fc64(cg, 0.5), ""), fc64(cg, s), ""), fc64(cg, 0.5), "");
    switch (n->a.coord) {
    case COORD_ASYMMETRIC: return LLVMBuildFDiv(b, x, fc64(cg, s), "");
    case COORD_PYTORCH_HALF_PIXEL: return outw == 1 ? fc64(cg, -0.5) : hp;
    case COORD_ALIGN_CORNERS:
        return outw == 1 ? fc64(cg, 0) : LLVMBuildFDiv(b, LLVMBuildFMul(b, x, fc64(cg, (double)(lin - 1)), ""), fc64(cg, outw - 1), "");
    case COORD_TF_HALF_PIXEL: return LLVMBuildFDiv(b, LLVMBuildFAdd(b, x, fc64(cg, 0.5), ""), fc64(cg, s), "");
    case COORD_HALF_PIXEL_SYMMETRIC: {
        double adj = (double)lout / outw, center = (double)lin / 2;
        return LLVMBuildFAdd(b, hp, fc64(cg, center * (1 - adj)), "");
    }
    default: return hp;
    }
}

static void resize_body(Cg *cg, void *vctx, LLVMValueRef *off)
{
    ResizeCtx *c = vctx;
    const Node *n = c->n;
    LLVMBuilderRef b = cg->b;
    LLVMValueRef idx[QK_MAX_RANK][4], w[QK_MAX_RANK][4];
    int nt[QK_MAX_RANK], total = 1;
    for (int i = 0; i < c->rank; i++) {
        LLVMValueRef o = off[c->coord + i];
        int64_t lin = c->xs.d[i] == DIM_BATCH ? 1 : c->xs.d[i], lout = c->ys.d[i] == DIM_BATCH ? 1 : c->ys.d[i];
        double s = n->a.scales[i];
        if ((lin == lout && s == 1) || c->xs.d[i] == DIM_BATCH) {
            nt[i] = 1, idx[i][0] = o, w[i][0] = fc64(cg, 1);
            continue;
        }
        LLVMValueRef x = resize_coord(cg, n, lin, lout, s, o);
        /* |x| is bounded by the sizes: floor through an integer */
        LLVMValueRef lim = fc64(cg, 4.0 * (double)(lin + lout) + 16);
        x = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, x, lim, ""), lim, x, "");
        x = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLT, x, LLVMBuildFNeg(b, lim, ""), ""), LLVMBuildFNeg(b, lim, ""), x, "");
        LLVMValueRef f = floor64(cg, x), r = LLVMBuildFSub(b, x, LLVMBuildSIToFP(b, f, cg->f64, ""), "");
        LLVMValueRef exact = LLVMBuildFCmp(b, LLVMRealOEQ, r, fc64(cg, 0), "");
        f = LLVMBuildSelect(b, exact, LLVMBuildNSWSub(b, f, cg_i64(cg, 1), ""), f, "");
        r = LLVMBuildSelect(b, exact, fc64(cg, 1), r, "");
        LLVMValueRef first;
        if (n->a.mode == RESIZE_NEAREST) {
            LLVMValueRef hi;
            switch (n->a.nearest) {
            case NEAREST_FLOOR: hi = LLVMBuildFCmp(b, LLVMRealOEQ, r, fc64(cg, 1), ""); break;
            case NEAREST_CEIL: hi = LLVMConstInt(cg->i1, 1, 0); break;
            case NEAREST_ROUND_PREFER_CEIL: hi = LLVMBuildFCmp(b, LLVMRealOGE, r, fc64(cg, 0.5), ""); break;
            default: hi = LLVMBuildFCmp(b, LLVMRealOGT, r, fc64(cg, 0.5), ""); break;
            }
            first = LLVMBuildNSWAdd(b, f, LLVMBuildZExt(b, hi, cg->i64, ""), "");
            nt[i] = 1, w[i][0] = fc64(cg, 1);
        } else if (n->a.mode == RESIZE_LINEAR) {
            first = f, nt[i] = 2;
            w[i][0] = LLVMBuildFSub(b, fc64(cg, 1), r, ""), w[i][1] = r;
        } else {
            double A = n->a.cubic_a;
            LLVMValueRef q = LLVMBuildFSub(b, fc64(cg, 1), r, "");
            LLVMValueRef r1 = LLVMBuildFAdd(b, r, fc64(cg, 1), ""), q1 = LLVMBuildFAdd(b, q, fc64(cg, 1), "");
            /* the four cubic coefficients, as ir_resize_taps */
            LLVMValueRef t;
            t = LLVMBuildFAdd(b, LLVMBuildFMul(b, LLVMBuildFSub(b, LLVMBuildFMul(b, fc64(cg, A), r1, ""), fc64(cg, 5 * A), ""), r1, ""), fc64(cg, 8 * A), "");
            w[i][0] = LLVMBuildFSub(b, LLVMBuildFMul(b, t, r1, ""), fc64(cg, 4 * A), "");
            t = LLVMBuildFSub(b, LLVMBuildFMul(b, fc64(cg, A + 2), r, ""), fc64(cg, A + 3), "");
            w[i][1] = LLVMBuildFAdd(b, LLVMBuildFMul(b, LLVMBuildFMul(b, t, r, ""), r, ""), fc64(cg, 1), "");
            t = LLVMBuildFSub(b, LLVMBuildFMul(b, fc64(cg, A + 2), q, ""), fc64(cg, A + 3), "");
            w[i][2] = LLVMBuildFAdd(b, LLVMBuildFMul(b, LLVMBuildFMul(b, t, q, ""), q, ""), fc64(cg, 1), "");
            t = LLVMBuildFAdd(b, LLVMBuildFMul(b, LLVMBuildFSub(b, LLVMBuildFMul(b, fc64(cg, A), q1, ""), fc64(cg, 5 * A), ""), q1, ""), fc64(cg, 8 * A), "");
            w[i][3] = LLVMBuildFSub(b, LLVMBuildFMul(b, t, q1, ""), fc64(cg, 4 * A), "");
            first = LLVMBuildNSWSub(b, f, cg_i64(cg, 1), "");
            nt[i] = 4;
        }
        LLVMValueRef sum = fc64(cg, 0);
        for (int t = 0; t < nt[i]; t++) {
            LLVMValueRef k = LLVMBuildNSWAdd(b, first, cg_i64(cg, t), "");
            if (n->a.exclude_outside) {
                LLVMValueRef out = LLVMBuildOr(b, LLVMBuildICmp(b, LLVMIntSLT, k, cg_i64(cg, 0), ""),
                                               LLVMBuildICmp(b, LLVMIntSGE, k, cg_i64(cg, lin), ""), "");
                w[i][t] = LLVMBuildSelect(b, out, fc64(cg, 0), w[i][t], "");
                sum = LLVMBuildFAdd(b, sum, w[i][t], "");
            }
            idx[i][t] = smax(cg, smin(cg, k, cg_i64(cg, lin - 1)), cg_i64(cg, 0));
        }
        if (n->a.exclude_outside && nt[i] > 1)
            for (int t = 0; t < nt[i]; t++)
                w[i][t] = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealONE, sum, fc64(cg, 0), ""),
                                          LLVMBuildFDiv(b, w[i][t], sum, ""), w[i][t], "");
        total *= nt[i];
    }
    bool fl = dtype_is_float(c->dt);
    LLVMValueRef v = fc64(cg, 0);
    for (int t = 0; t < total; t++) {
        LLVMValueRef wt = NULL, o = cg_i64(cg, 0);
        for (int i = c->rank - 1, rem = t; i >= 0; i--) {
            int k = rem % nt[i];
            rem /= nt[i];
            if (nt[i] > 1)
                wt = wt ? LLVMBuildFMul(b, wt, w[i][k], "") : w[i][k];
            o = LLVMBuildNSWAdd(b, o, LLVMBuildNSWMul(b, idx[i][k], cg_i64(cg, c->xst[i]), ""), "");
        }
        LLVMValueRef e = cg_load(cg, c->dt, c->x, o);
        e = fl ? (LLVMTypeOf(e) == cg->f64 ? e : LLVMBuildFPExt(b, e, cg->f64, ""))
               : (dtype_is_unsigned_int(c->dt) ? LLVMBuildUIToFP(b, e, cg->f64, "") : LLVMBuildSIToFP(b, e, cg->f64, ""));
        v = total == 1 ? e : LLVMBuildFAdd(b, v, wt ? LLVMBuildFMul(b, wt, e, "") : e, "");
    }
    LLVMTypeRef ct = cg_calc_type(cg, c->dt);
    if (fl) {
        if (ct != cg->f64)
            v = LLVMBuildFPTrunc(b, v, ct, "");
    } else {
        v = cg_rne(cg, v);
        LLVMTypeRef ovl[2] = {ct, cg->f64};
        v = cg_intrin(cg, dtype_is_unsigned_int(c->dt) ? "llvm.fptoui.sat" : "llvm.fptosi.sat", ovl, 2, &v, 1);
    }
    cg_store(cg, c->dt, c->y, off[0], v);
}

CgResult cg_k_resize(Cg *cg, const Node *n)
{
    const Shape *xs = &n->in[0]->shape, *ys = &n->out[0]->shape;
    ResizeCtx c = {.n = n, .dt = n->in[0]->dtype, .y = cg->arg[n->nin], .x = cg->arg[0], .rank = ys->rank,
                   .xs = *xs, .ys = *ys};
    Shape sx = *xs;
    if (sx.rank && sx.d[0] == DIM_BATCH)
        sx.d[0] = 1;
    shape_strides(&sx, c.xst);
    Nest ns;
    cg_nest_init(&ns, ys);
    cg_nest_operand(&ns, ys);
    c.coord = cg_nest_coords(&ns);
    cg_nest_collapse(&ns);
    cg_nest_emit(cg, &ns, resize_body, &c);
    return CG_DONE;
}

/* infer.c — the shape rule of every op (see ops.h for the semantics).
 *
 * ir_infer_node() is pure: it reads the node's inputs and attributes and
 * writes output types and normalized attributes to the caller's storage.
 * passes/shape_infer.c applies it to the graph; ir_verify() re-runs it to
 * check that a pass left shapes consistent.
 *
 * The symbolic batch dim (DIM_BATCH) may only ever be the leading dim of a
 * tensor; a rule that would move it elsewhere, merge it with other dims or
 * reduce over it reports an error suggesting a fixed batch (--batch N). */
#include "oprules.h"

#include <string.h>

#define ERR(...) diag_error(d, n->loc, __VA_ARGS__)

const char *ir_sh(const Shape *s, char *buf) { return shape_str(s, buf, 96); }
#define sh ir_sh


/* The input's type must be known: a value whose producer failed has none. */
static bool known(const Node *n, int i, Diag *d)
{
    const Value *v = n->in[i];
    if (!v || v->dtype == DT_UNDEF || v->shape.rank == RANK_UNKNOWN)
        return ERR("input %d has no known type", i);
    return true;
}

/* Normalize an axis in [-rank, rank) (or [-rank, rank] when `incl`). */
bool ir_norm_axis(const Node *n, int64_t *axis, int rank, bool incl, const char *what, Diag *d)
{
    int64_t hi = incl ? rank : rank - 1;
    if (*axis < -rank || *axis > hi)
        return ERR("%s %lld is out of range for rank %d", what, (long long)*axis, rank);
    if (*axis < 0)
        *axis += rank;
    return true;
}

/* Output extent of a sliding window; 0 when the window never fits. */
/* Output extent of a sliding window; 0 when the window never fits, -1
 * when it is too large to represent. Computed in 128 bits: the operands
 * come from the model file. */
static int64_t window_out(int64_t in, int64_t k, int64_t s, int64_t dil, int64_t pb, int64_t pe, bool ceil_mode)
{
    __int128 span = (__int128)(k - 1) * dil + 1;
    __int128 num = (__int128)in + pb + pe - span;
    if (num < 0)
        return 0;
    __int128 out = (ceil_mode ? (num + s - 1) / s : num / s) + 1;
    /* with ceil_mode, a last window starting inside the end padding is dropped */
    if (ceil_mode && (out - 1) * s >= (__int128)in + pb)
        out--;
    return out > INT64_MAX ? -1 : (int64_t)out;
}

/* Resolve auto_pad into explicit pads for spatial extent `in`. */
static void auto_pads(Attrs *a, int i, int64_t in)
{
    int64_t k = a->kernel[i], s = a->strides[i], dil = a->dilations[i];
    /* attributes are bounded by window_shape's check before this runs */
    int64_t span = (k - 1) * dil + 1;
    if (a->auto_pad == AUTOPAD_VALID) {
        a->pads[i] = a->pads[a->nsp + i] = 0;
    } else if (a->auto_pad == AUTOPAD_SAME_UPPER || a->auto_pad == AUTOPAD_SAME_LOWER) {
        int64_t out = (in + s - 1) / s;
        int64_t total = (out - 1) * s + span - in;
        if (total < 0)
            total = 0;
        int64_t small = total / 2, big = total - small;
        a->pads[i] = a->auto_pad == AUTOPAD_SAME_UPPER ? small : big;
        a->pads[a->nsp + i] = a->auto_pad == AUTOPAD_SAME_UPPER ? big : small;
    }
}

/* Spatial output shape of Conv/pools: x is [N, C, sp...]. */
static bool window_shape(const Node *n, Attrs *a, const Shape *x, int64_t out_c, Shape *y, Diag *d)
{
    char b[96];
    if (x->rank != 2 + a->nsp)
        return ERR("input %s has rank %d; %d spatial dims need rank %d", sh(x, b), x->rank, a->nsp, 2 + a->nsp);
    for (int i = 1; i < x->rank; i++)
        if (x->d[i] == DIM_BATCH)
            return ERR("only the leading dim may be the batch");
    *y = *x;
    y->d[1] = out_c;
    for (int i = 0; i < a->nsp; i++) {
        /* bounds that keep every window computation inside int64 */
        const int64_t lim = (int64_t)1 << 31;
        if (a->kernel[i] > lim || a->strides[i] > lim || a->dilations[i] > lim || a->pads[i] > lim ||
            a->pads[a->nsp + i] > lim || x->d[2 + i] > ((int64_t)1 << 40))
            return ERR("window attributes or spatial dims too large (kernel %lld, stride %lld, dilation %lld, "
                       "pads %lld+%lld, size %lld)", (long long)a->kernel[i], (long long)a->strides[i],
                       (long long)a->dilations[i], (long long)a->pads[i], (long long)a->pads[a->nsp + i],
                       (long long)x->d[2 + i]);
        if (a->auto_pad != AUTOPAD_NOTSET)
            auto_pads(a, i, x->d[2 + i]);
        int64_t o = window_out(x->d[2 + i], a->kernel[i], a->strides[i], a->dilations[i], a->pads[i],
                               a->pads[a->nsp + i], a->ceil_mode);
        if (o <= 0)
            return ERR("the window (kernel %lld, dilation %lld) does not fit spatial dim %d of size %lld with "
                       "pads %lld+%lld", (long long)a->kernel[i], (long long)a->dilations[i], i,
                       (long long)x->d[2 + i], (long long)a->pads[i], (long long)a->pads[a->nsp + i]);
        y->d[2 + i] = o;
    }
    a->auto_pad = AUTOPAD_NOTSET;
    return true;
}

static bool reshape_shape(const Node *n, Attrs *a, const Shape *x, Shape *y, Diag *d)
{
    char b[96];
    y->rank = a->nints;
    y->bmul = 0;
    int neg = -1;
    bool batch = shape_has_batch(x);
    int64_t per = shape_numel(x); /* per batch item when batch */
    int64_t known_prod = 1, rows = 0; /* rows: the target's batch multiple (k for k*N), 0: none */
    for (int i = 0; i < a->nints; i++) {
        int64_t t = a->ints[i];
        if (t == -1) {
            if (neg >= 0)
                return ERR("the target shape has more than one -1");
            neg = i;
            continue;
        }
        if (t < -1 && !dim_is_sym_batch(t))
            return ERR("target dim %d is %lld", i, (long long)t);
        int64_t k = 0;
        if (t == 0 && !a->allowzero) {
            if (i >= x->rank)
                return ERR("target dim %d is 0 (copy) but the input has rank %d", i, x->rank);
            t = x->d[i];
            if (t == DIM_BATCH)
                k = shape_rows(x);
        }
        if (dim_is_sym_batch(t))
            k = t - DIM_SYM_BATCH_BASE;
        if (k) {
            if (i != 0)
                return ERR("the batch dim would move to position %d; compile with a fixed batch (--batch N)", i);
            rows = k;
            y->d[i] = DIM_BATCH;
            continue;
        }
        y->d[i] = t;
        if (!checked_mul(known_prod, t, &known_prod))
            return ERR("target shape overflows");
    }
    if (rows && !batch)
        return ERR("the target holds the batch size but the input %s has no batch dim", sh(x, b));
    if (batch && !rows) {
        /* the batch can only survive as a -1 in the leading position: it
         * absorbs the batch, merged with the dims after it (x.view(-1, C)) */
        if (neg == 0 && known_prod > 0 && per % known_prod == 0) {
            y->d[0] = DIM_BATCH;
            y->bmul = per / known_prod;
            return true;
        }
        return ERR("reshaping %s to this target moves the batch dim away from the front; compile with a fixed "
                   "batch (--batch N)", sh(x, b));
    }
    if (rows) {
        y->bmul = rows;
        if (!checked_mul(known_prod, rows, &known_prod))
            return ERR("target shape overflows");
    }
    if (neg >= 0) {
        if (known_prod == 0 || per % known_prod != 0)
            return ERR("cannot reshape %s: %lld elements do not divide by %lld", sh(x, b), (long long)per,
                       (long long)known_prod);
        y->d[neg] = per / known_prod;
    } else if (known_prod != per) {
        return ERR("cannot reshape %s (%lld elements%s) into %lld elements", sh(x, b), (long long)per,
                   batch ? " per batch item" : "", (long long)known_prod);
    }
    return true;
}

static bool matmul_shape(const Node *n, const Shape *A, const Shape *B, Shape *y, Diag *d)
{
    char b1[96], b2[96];
    if (A->rank < 1 || B->rank < 1)
        return ERR("MatMul operands must have rank >= 1");
    Shape a = *A, bb = *B;
    bool va = a.rank == 1, vb = bb.rank == 1;
    if (va) { /* [K] -> [1, K] */
        a.rank = 2, a.d[1] = a.d[0], a.d[0] = 1;
    }
    if (vb) { /* [K] -> [K, 1] */
        bb.rank = 2, bb.d[1] = 1;
    }
    int64_t M = a.d[a.rank - 2], K = a.d[a.rank - 1], K2 = bb.d[bb.rank - 2], N = bb.d[bb.rank - 1];
    if (K == DIM_BATCH || K2 == DIM_BATCH || N == DIM_BATCH || (M == DIM_BATCH && a.rank > 2))
        return ERR("the batch dim cannot be a matrix dim here");
    if (K != K2)
        return ERR("inner dims differ: %s @ %s", sh(A, b1), sh(B, b2));
    Shape pa = {.rank = a.rank - 2, .bmul = A->bmul}, pb = {.rank = bb.rank - 2, .bmul = B->bmul}, p;
    memcpy(pa.d, a.d, sizeof(int64_t) * (size_t)pa.rank);
    memcpy(pb.d, bb.d, sizeof(int64_t) * (size_t)pb.rank);
    if (!shape_broadcast(&pa, &pb, &p))
        return ERR("batch dims do not broadcast: %s @ %s", sh(A, b1), sh(B, b2));
    if (M == DIM_BATCH && p.rank > 0)
        return ERR("the batch dim cannot be a matrix dim here");
    *y = p;
    if (M == DIM_BATCH)
        y->bmul = shape_rows(A);
    if (!va)
        y->d[y->rank++] = M;
    if (!vb)
        y->d[y->rank++] = N;
    if (y->rank > QK_MAX_RANK)
        return ERR("result rank too large");
    return true;
}

bool infer_concat(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    char b1[96], b2[96];
    const Shape *s0 = &n->in[0]->shape;
    if (!ir_norm_axis(n, &a->axis, s0->rank, false, "axis", d))
        return false;
    *y = *s0;
    *dt = n->in[0]->dtype;
    for (int i = 1; i < n->nin; i++) {
        const Shape *s = &n->in[i]->shape;
        if (n->in[i]->dtype != *dt)
            return ERR("input %d is %s, input 0 is %s", i, dtype_name(n->in[i]->dtype), dtype_name(*dt));
        if (s->rank != s0->rank)
            return ERR("input %d has rank %d, input 0 rank %d", i, s->rank, s0->rank);
        if (shape_rows(s) != shape_rows(s0))
            return ERR("inputs %s and %s merge the batch differently", sh(s0, b1), sh(s, b2));
        for (int k = 0; k < s->rank; k++)
            if (k != a->axis && s->d[k] != s0->d[k])
                return ERR("inputs %s and %s differ outside axis %lld", sh(s0, b1), sh(s, b2), (long long)a->axis);
        if (s->d[a->axis] == DIM_BATCH || s0->d[a->axis] == DIM_BATCH)
            return ERR("concatenating along the batch dim; compile with a fixed batch (--batch N)");
        if (!checked_add(y->d[a->axis], s->d[a->axis], &y->d[a->axis]))
            return ERR("size overflows");
    }
    return true;
}

/* ---- quantized ops (docs/quantization.md) ------------------------------- */

static bool is_q8(DType t) { return t == DT_U8 || t == DT_I8; }

/* Input i is a quantization parameter: a scalar (or [1]) or, when `len` >
 * 0, possibly a 1-D tensor of `len` values. Absent (optional) is fine. */
static bool qparam(const Node *n, int i, DType want, int64_t len, const char *what, Diag *d)
{
    const Value *v = i < n->nin ? n->in[i] : NULL;
    char b[96];
    if (!v)
        return true;
    if (want != DT_UNDEF && v->dtype != want)
        return ERR("%s must be %s, not %s", what, dtype_name(want), dtype_name(v->dtype));
    if (shape_has_batch(&v->shape))
        return ERR("%s cannot have a batch dim", what);
    int64_t cnt = shape_numel(&v->shape);
    if (cnt == 1 && v->shape.rank <= 1)
        return true;
    if (len > 0 && v->shape.rank == 1 && cnt == len)
        return true;
    if (len > 0)
        return ERR("%s must be a scalar or hold %lld values, not %s", what, (long long)len, sh(&v->shape, b));
    return ERR("%s must be a scalar, not %s", what, sh(&v->shape, b));
}

static DType zp_type(const Node *n, int i, DType def) { return i < n->nin && n->in[i] ? n->in[i]->dtype : def; }

/* MatMulInteger/ConvInteger: i32, or with qkc's dequantizing epilogue
 * (in[4] bias i32 or f32, in[5] scale f32, each a scalar or one per column
 * / output channel) f32. */
static bool int_dequant(const Node *n, int64_t cols, DType *dt, Diag *d)
{
    bool deq = n->nin > 5 && n->in[5];
    if (!deq && ((n->nin > 4 && n->in[4]) || n->a.act != ACT_NONE))
        return ERR("%s", "a bias or an activation needs the dequantization scale (input 5)");
    DType bt = n->nin > 4 && n->in[4] && n->in[4]->dtype == DT_F32 ? DT_F32 : DT_I32;
    if (deq && (!qparam(n, 4, bt, cols, "the bias", d) || !qparam(n, 5, DT_F32, cols, "the scale", d)))
        return false;
    *dt = deq ? DT_F32 : DT_I32;
    return true;
}

/* Conv-like shape rule shared by Conv, ConvInteger and QLinearConv. */
static bool conv_shape(const Node *n, Attrs *a, const Value *x, const Value *w, const Value *bias, DType bias_type,
                       Shape *y, Diag *d)
{
    char b1[96], b2[96];
    const Shape *xs = &x->shape, *ws = &w->shape;
    if (ws->rank < 3 || ws->rank > 5)
        return ERR("weight %s must have 1 to 3 spatial dims", sh(ws, b1));
    if (a->nsp == 0)
        a->nsp = ws->rank - 2;
    if (a->nsp != ws->rank - 2)
        return ERR("weight %s has %d spatial dims, the attributes %d", sh(ws, b1), ws->rank - 2, a->nsp);
    for (int i = 0; i < a->nsp; i++) {
        if (a->kernel[i] && a->kernel[i] != ws->d[2 + i])
            return ERR("kernel_shape disagrees with the weight %s", sh(ws, b1));
        a->kernel[i] = ws->d[2 + i];
    }
    if (ws->d[0] == DIM_BATCH || xs->rank < 2 || xs->d[1] == DIM_BATCH)
        return ERR("bad operand shapes %s, %s", sh(xs, b1), sh(ws, b2));
    if (a->group < 1 || ws->d[0] % a->group != 0)
        return ERR("%lld output channels do not divide into %lld groups", (long long)ws->d[0], (long long)a->group);
    if (xs->d[1] != ws->d[1] * a->group)
        return ERR("input has %lld channels; the weight %s with group %lld needs %lld", (long long)xs->d[1],
                   sh(ws, b1), (long long)a->group, (long long)(ws->d[1] * a->group));
    if (bias) {
        const Shape *bs = &bias->shape;
        if (bias->dtype != bias_type || bs->rank != 1 || bs->d[0] != ws->d[0])
            return ERR("bias must be %s[%lld], not %s%s", dtype_name(bias_type), (long long)ws->d[0],
                       dtype_name(bias->dtype), sh(bs, b1));
    }
    a->ceil_mode = 0;
    return window_shape(n, a, xs, ws->d[0], y, d);
}

/* DynamicQuantizeLinear: y u8 of x's shape, its scale (f32) and zero
 * point (u8) as scalars. */
bool infer_dql(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    (void)a;
    if (n->in[0]->dtype != DT_F32)
        return ERR("DynamicQuantizeLinear of %s is not supported (f32 only)", dtype_name(n->in[0]->dtype));
    dt[0] = DT_U8;
    y[0] = n->in[0]->shape;
    dt[1] = DT_F32, dt[2] = DT_U8;
    y[1] = y[2] = (Shape){.rank = 0};
    return true;
}

bool infer_quant(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    const Value *x = n->in[0];
    const Shape *xs = &x->shape;
    /* an activation on quantized values is a clamp (relu, clip); qkc's
     * dequantizing epilogue of MatMulInteger/ConvInteger (scale operand
     * given) applies any activation, in float */
    bool float_epilogue = (n->op == OP_MATMUL_INTEGER || n->op == OP_CONV_INTEGER) && n->nin > 5 && n->in[5];
    if (a->act != ACT_NONE && a->act != ACT_RELU && a->act != ACT_CLIP && !float_epilogue)
        return ERR("a quantized op can carry relu or clip, not %s", act_name[a->act]);
    switch (n->op) {
    case OP_QUANTIZE:
    case OP_DEQUANTIZE: {
        bool q = n->op == OP_QUANTIZE;
        if (q ? !dtype_is_float(x->dtype) : !(is_q8(x->dtype) || x->dtype == DT_I32))
            return ERR("%s of %s is not supported", op_info[n->op].name, dtype_name(x->dtype));
        /* per axis only when the scale has more than one value; a per-tensor
         * scale ignores axis (as ONNX does) */
        int64_t len = 0;
        bool per_axis = n->in[1] && shape_numel(&n->in[1]->shape) > 1;
        if (per_axis) {
            if (!ir_norm_axis(n, &a->axis, xs->rank, false, "axis", d))
                return false;
            len = xs->d[a->axis] == DIM_BATCH ? 0 : xs->d[a->axis];
            if (len == 0)
                return ERR("a per-axis scale cannot run along the batch dim");
        }
        DType zt = q ? zp_type(n, 2, DT_U8) : x->dtype;
        if (q && !is_q8(zt))
            return ERR("zero point of %s: QuantizeLinear produces u8 or i8", dtype_name(zt));
        if (!qparam(n, 1, DT_F32, len, "scale", d) || !qparam(n, 2, zt, len, "zero point", d))
            return false;
        const Value *sv = n->in[1], *zv = n->nin > 2 ? n->in[2] : NULL;
        if (zv && shape_numel(&zv->shape) != shape_numel(&sv->shape))
            return ERR("scale and zero point differ in length");
        *dt = q ? zt : DT_F32;
        *y = *xs;
        return true;
    }
    case OP_MATMUL_INTEGER:
    case OP_QLINEAR_MATMUL: {
        bool ql = n->op == OP_QLINEAR_MATMUL;
        const Value *A = n->in[0], *B = n->in[ql ? 3 : 1];
        if (!B || !is_q8(A->dtype) || !is_q8(B->dtype))
            return ERR("operands must be u8 or i8, not %s and %s", dtype_name(A->dtype), B ? dtype_name(B->dtype) : "none");
        if (!matmul_shape(n, &A->shape, &B->shape, y, d))
            return false;
        int64_t M = A->shape.rank >= 2 ? A->shape.d[A->shape.rank - 2] : 1, N = B->shape.rank >= 2 ? B->shape.d[B->shape.rank - 1] : 1;
        if (M == DIM_BATCH)
            M = 0;
        if (!ql) {
            if (!qparam(n, 2, A->dtype, M, "a_zero_point", d) || !qparam(n, 3, B->dtype, N, "b_zero_point", d))
                return false;
            return int_dequant(n, N, dt, d);
        }
        DType yt = zp_type(n, 7, DT_U8);
        if (!is_q8(yt))
            return ERR("y_zero_point must be u8 or i8");
        if (!qparam(n, 1, DT_F32, M, "a_scale", d) || !qparam(n, 2, A->dtype, M, "a_zero_point", d) ||
            !qparam(n, 4, DT_F32, N, "b_scale", d) || !qparam(n, 5, B->dtype, N, "b_zero_point", d) ||
            !qparam(n, 6, DT_F32, 0, "y_scale", d) || !qparam(n, 7, yt, 0, "y_zero_point", d))
            return false;
        if (n->nin > 8 && n->in[8] &&
            (n->in[8]->dtype != DT_I32 || n->in[8]->shape.rank != 1 || n->in[8]->shape.d[0] != y->d[y->rank - 1]))
            return ERR("bias must be i32[%lld]", (long long)y->d[y->rank - 1]);
        *dt = yt;
        return true;
    }
    case OP_CONV_INTEGER:
    case OP_QLINEAR_CONV: {
        bool ql = n->op == OP_QLINEAR_CONV;
        const Value *W = n->in[ql ? 3 : 1];
        if (!W || !is_q8(x->dtype) || !is_q8(W->dtype))
            return ERR("operands must be u8 or i8, not %s and %s", dtype_name(x->dtype), W ? dtype_name(W->dtype) : "none");
        const Value *bias = ql && n->nin > 8 ? n->in[8] : NULL;
        if (!conv_shape(n, a, x, W, bias, DT_I32, y, d))
            return false;
        int64_t M = W->shape.d[0];
        if (!ql) {
            if (!qparam(n, 2, x->dtype, 0, "x_zero_point", d) || !qparam(n, 3, W->dtype, M, "w_zero_point", d))
                return false;
            return int_dequant(n, M, dt, d);
        }
        DType yt = zp_type(n, 7, DT_U8);
        if (!is_q8(yt))
            return ERR("y_zero_point must be u8 or i8");
        if (!qparam(n, 1, DT_F32, 0, "x_scale", d) || !qparam(n, 2, x->dtype, 0, "x_zero_point", d) ||
            !qparam(n, 4, DT_F32, M, "w_scale", d) || !qparam(n, 5, W->dtype, M, "w_zero_point", d) ||
            !qparam(n, 6, DT_F32, 0, "y_scale", d) || !qparam(n, 7, yt, 0, "y_zero_point", d))
            return false;
        *dt = yt;
        return true;
    }
    case OP_QLINEAR_ADD: {
        const Value *B = n->in[3];
        char b1[96], b2[96];
        if (!B || !is_q8(x->dtype) || B->dtype != x->dtype)
            return ERR("operands must be both u8 or both i8, not %s and %s", dtype_name(x->dtype),
                       B ? dtype_name(B->dtype) : "none");
        if (!shape_broadcast(xs, &B->shape, y))
            return ERR("shapes %s and %s do not broadcast", sh(xs, b1), sh(&B->shape, b2));
        if (!qparam(n, 1, DT_F32, 0, "a_scale", d) || !qparam(n, 2, x->dtype, 0, "a_zero_point", d) ||
            !qparam(n, 4, DT_F32, 0, "b_scale", d) || !qparam(n, 5, x->dtype, 0, "b_zero_point", d) ||
            !qparam(n, 6, DT_F32, 0, "y_scale", d) || !qparam(n, 7, x->dtype, 0, "y_zero_point", d))
            return false;
        *dt = x->dtype;
        return true;
    }
    case OP_QLINEAR_GAP: {
        char b1[96];
        if (!is_q8(x->dtype) || xs->rank < 3)
            return ERR("needs a u8 or i8 input of rank >= 3, got %s%s", dtype_name(x->dtype), sh(xs, b1));
        if (!qparam(n, 1, DT_F32, 0, "x_scale", d) || !qparam(n, 2, x->dtype, 0, "x_zero_point", d) ||
            !qparam(n, 3, DT_F32, 0, "y_scale", d) || !qparam(n, 4, x->dtype, 0, "y_zero_point", d))
            return false;
        *y = *xs;
        for (int i = 2; i < y->rank; i++)
            y->d[i] = 1;
        *dt = x->dtype;
        return true;
    }
    default:
        return ERR("no shape rule for %s", op_info[n->op].name);
    }
}


/* ---- constant inputs that determine shapes ------------------------------ */

static bool need_const(const Node *n, int k, const char *what, Diag *d)
{
    const Value *v = n->in[k];
    if (v->kind == VAL_CONST)
        return true;
    if (v->kind == VAL_INPUT)
        return ERR("input '%s' (%s) must be a constant because it determines shapes; fix it at compile time "
                   "with --bind %s=FILE.npy", v->name, what, v->name);
    return ERR("'%s' (%s) must be known at compile time because it determines shapes, but it is computed "
               "from run-time data (a graph input's values, not only its shape)", v->name, what);
}

bool ir_const_ints(const Node *n, int k, const char *what, int64_t *out, int max, int *cnt, int64_t batch, Diag *d)
{
    *cnt = -1;
    if (!ir_has_in(n, k))
        return true;
    const Value *v = n->in[k];
    if (!need_const(n, k, what, d))
        return false;
    if (v->dtype != DT_I64 && v->dtype != DT_I32)
        return ERR("'%s' (%s) must be int64, not %s", v->name, what, dtype_name(v->dtype));
    if (v->shape.rank > 1)
        return ERR("'%s' (%s) must be 1-D", v->name, what);
    int64_t c = shape_numel(&v->shape);
    if (c > max)
        return ERR("'%s' (%s) has %lld values; at most %d are supported", v->name, what, (long long)c, max);
    for (int64_t i = 0; i < c; i++) {
        out[i] = v->dtype == DT_I64 ? ((const int64_t *)v->data)[i] : ((const int32_t *)v->data)[i];
        int64_t s = v->sym ? v->sym[i] : 0;
        if (s == 0)
            continue;
        if (s == 1 && out[i] == 0 && batch) {
            out[i] = batch;
            continue;
        }
        if (s > 1 && out[i] == 0 && batch == DIM_SYM_BATCH && s < ((int64_t)1 << 40)) {
            out[i] = DIM_SYM_BATCH_BASE + s; /* k * N: a batch merged with k rows */
            continue;
        }
        return ERR("'%s' (%s) element %lld is %lld*N%+lld with N the batch size, which a tensor shape cannot "
                   "hold; compile with a fixed batch (--batch N)", v->name, what, (long long)i, (long long)s,
                   (long long)out[i]);
    }
    *cnt = (int)c;
    return true;
}

bool ir_const_scalar(const Node *n, int k, const char *what, double *out, Diag *d)
{
    const Value *v = n->in[k];
    if (!need_const(n, k, what, d))
        return false;
    if (shape_numel(&v->shape) != 1)
        return ERR("'%s' (%s) must hold one value", v->name, what);
    if (v->sym && v->sym[0])
        return ERR("'%s' (%s) depends on the batch size; compile with a fixed batch (--batch N)", v->name, what);
    const void *p = v->data;
    switch (v->dtype) {
    case DT_F32: *out = *(const float *)p; break;
    case DT_F64: *out = *(const double *)p; break;
    case DT_F16: *out = f16_to_f32(*(const uint16_t *)p); break;
    case DT_BF16: *out = bf16_to_f32(*(const uint16_t *)p); break;
    case DT_I8: *out = *(const int8_t *)p; break;
    case DT_U8: case DT_BOOL: *out = *(const uint8_t *)p; break;
    case DT_I16: *out = *(const int16_t *)p; break;
    case DT_U16: *out = *(const uint16_t *)p; break;
    case DT_I32: *out = *(const int32_t *)p; break;
    case DT_U32: *out = *(const uint32_t *)p; break;
    case DT_I64: *out = (double)*(const int64_t *)p; break;
    case DT_U64: *out = (double)*(const uint64_t *)p; break;
    default: return ERR("'%s' (%s): unsupported type", v->name, what);
    }
    return true;
}

/* ---- the rules of the other ops, as named in ops.def --------------------- */

bool infer_identity(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    (void)n, (void)a, (void)dt, (void)y, (void)d;
    return true;
}

bool infer_reshape(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    (void)dt;
    if (ir_has_in(n, 1) && !ir_const_ints(n, 1, "shape", a->ints, QK_MAX_RANK, &a->nints, DIM_SYM_BATCH, d))
        return false;
    if (a->nints < 0)
        return ERR("the target shape is missing");
    return reshape_shape(n, a, &n->in[0]->shape, y, d);
}

bool infer_flatten(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    (void)dt;
    char b1[96];
    const Shape *xs = &n->in[0]->shape;
    if (!ir_norm_axis(n, &a->axis, xs->rank, true, "axis", d))
        return false;
    Shape lo = {.rank = (int)a->axis, .bmul = xs->bmul}, hi = {.rank = xs->rank - (int)a->axis};
    memcpy(lo.d, xs->d, sizeof(int64_t) * (size_t)lo.rank);
    memcpy(hi.d, xs->d + a->axis, sizeof(int64_t) * (size_t)hi.rank);
    int64_t l = shape_numel(&lo), h = shape_numel(&hi);
    if (l < 0 || h < 0)
        return ERR("size overflows");
    y->rank = 2;
    y->d[0] = l, y->d[1] = h;
    y->bmul = 0;
    if (shape_has_batch(xs)) {
        if (a->axis == 0)
            return ERR("flattening %s at axis 0 moves the batch dim; compile with a fixed batch (--batch N)",
                       sh(xs, b1));
        y->d[0] = DIM_BATCH;
        y->bmul = l; /* the batch's rows times the dims merged into it */
    }
    return true;
}

bool infer_squeeze(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    (void)dt;
    char b1[96];
    const Shape *xs = &n->in[0]->shape;
    if (ir_has_in(n, 1) && !ir_const_ints(n, 1, "axes", a->ints, QK_MAX_RANK, &a->nints, 0, d))
        return false;
    bool drop[QK_MAX_RANK] = {0};
    if (a->nints <= 0) {
        for (int i = 0; i < xs->rank; i++)
            drop[i] = xs->d[i] == 1;
    }
    for (int i = 0; i < a->nints; i++) {
        if (!ir_norm_axis(n, &a->ints[i], xs->rank, false, "axis", d))
            return false;
        if (xs->d[a->ints[i]] == DIM_BATCH)
            return ERR("cannot squeeze the batch dim; compile with --batch 1");
        if (xs->d[a->ints[i]] != 1)
            return ERR("axis %lld of %s is not 1", (long long)a->ints[i], sh(xs, b1));
        drop[a->ints[i]] = true;
    }
    if (a->nints < 0)
        a->nints = 0;
    y->rank = 0;
    for (int i = 0; i < xs->rank; i++)
        if (!drop[i])
            y->d[y->rank++] = xs->d[i];
    return true;
}

bool infer_unsqueeze(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    (void)dt;
    const Shape *xs = &n->in[0]->shape;
    if (ir_has_in(n, 1) && !ir_const_ints(n, 1, "axes", a->ints, QK_MAX_RANK, &a->nints, 0, d))
        return false;
    if (a->nints <= 0)
        return ERR("Unsqueeze needs axes");
    int r = xs->rank + a->nints;
    if (r > QK_MAX_RANK)
        return ERR("result rank %d exceeds %d", r, QK_MAX_RANK);
    bool ins[QK_MAX_RANK] = {0};
    for (int i = 0; i < a->nints; i++) {
        if (!ir_norm_axis(n, &a->ints[i], r, false, "axis", d))
            return false;
        if (ins[a->ints[i]])
            return ERR("axis %lld repeats", (long long)a->ints[i]);
        ins[a->ints[i]] = true;
    }
    y->rank = r;
    for (int i = 0, k = 0; i < r; i++)
        y->d[i] = ins[i] ? 1 : xs->d[k++];
    if (shape_has_batch(xs) && y->d[0] != DIM_BATCH)
        return ERR("a new leading dim would move the batch dim; compile with a fixed batch (--batch N)");
    return true;
}

bool infer_cast(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    (void)n, (void)y;
    if (a->to == DT_UNDEF || dtype_size(a->to) == 0)
        return ERR("Cast needs a target type");
    dt[0] = a->to;
    return true;
}

bool infer_matmul(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    (void)a;
    char b1[96];
    const Value *x = n->in[0], *w = n->in[1];
    if (!w || w->dtype != x->dtype)
        return ERR("operand types differ: %s and %s", dtype_name(x->dtype), w ? dtype_name(w->dtype) : "none");
    if (!dtype_is_float(x->dtype))
        return ERR("MatMul of %s is not supported", dtype_name(x->dtype));
    if (!matmul_shape(n, &x->shape, &w->shape, y, d))
        return false;
    if (ir_has_in(n, 2)) {
        const Shape *bs = &n->in[2]->shape;
        if (n->in[2]->dtype != dt[0] || bs->rank != 1 || y->rank < 1 || bs->d[0] != y->d[y->rank - 1])
            return ERR("bias must be %s[%lld], not %s%s", dtype_name(dt[0]), (long long)y->d[y->rank - 1],
                       dtype_name(n->in[2]->dtype), sh(bs, b1));
    }
    return true;
}

bool infer_gemm(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    char b1[96], b2[96];
    const Value *x = n->in[0], *w = n->in[1];
    const Shape *xs = &x->shape;
    if (w->dtype != dt[0])
        return ERR("operand types differ: %s and %s", dtype_name(dt[0]), dtype_name(w->dtype));
    if (!dtype_is_float(dt[0]))
        return ERR("Gemm of %s is not supported", dtype_name(dt[0]));
    if (xs->rank != 2 || w->shape.rank != 2)
        return ERR("Gemm operands must be 2-D, got %s and %s", sh(xs, b1), sh(&w->shape, b2));
    int64_t M = a->trans_a ? xs->d[1] : xs->d[0], K = a->trans_a ? xs->d[0] : xs->d[1];
    int64_t K2 = a->trans_b ? w->shape.d[1] : w->shape.d[0], N = a->trans_b ? w->shape.d[0] : w->shape.d[1];
    if (K == DIM_BATCH || K2 == DIM_BATCH || N == DIM_BATCH)
        return ERR("the batch dim cannot be an inner or column dim of Gemm; compile with --batch N");
    if (K != K2)
        return ERR("inner dims differ: %s%s @ %s%s", sh(xs, b1), a->trans_a ? "^T" : "", sh(&w->shape, b2),
                   a->trans_b ? "^T" : "");
    y->rank = 2, y->d[0] = M, y->d[1] = N;
    if (ir_has_in(n, 2)) {
        Shape bc;
        if (n->in[2]->dtype != dt[0])
            return ERR("C is %s, A is %s", dtype_name(n->in[2]->dtype), dtype_name(dt[0]));
        if (!shape_broadcast(&n->in[2]->shape, y, &bc) || !shape_eq(&bc, y))
            return ERR("C %s does not broadcast to %s", sh(&n->in[2]->shape, b1), sh(y, b2));
    }
    return true;
}

bool infer_conv(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    const Value *x = n->in[0], *w = n->in[1];
    if (w->dtype != dt[0] || !dtype_is_float(dt[0]))
        return ERR("Conv of %s and %s is not supported", dtype_name(dt[0]), dtype_name(w->dtype));
    return conv_shape(n, a, x, w, ir_has_in(n, 2) ? n->in[2] : NULL, dt[0], y, d);
}

bool infer_pool(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    char b1[96];
    const Shape *xs = &n->in[0]->shape;
    if (n->op == OP_AVGPOOL ? !dtype_is_float(dt[0]) : !(dtype_is_float(dt[0]) || dt[0] == DT_I8 || dt[0] == DT_U8))
        return ERR("%s of %s is not supported", op_info[n->op].name, dtype_name(dt[0]));
    if (xs->rank < 2)
        return ERR("input %s needs rank >= 3", sh(xs, b1));
    if (!window_shape(n, a, xs, xs->d[1], y, d))
        return false;
    if (n->nout > 1 && n->out[1]) {
        dt[1] = DT_I64;
        y[1] = y[0];
    }
    return true;
}

bool infer_gpool(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    (void)a;
    char b1[96];
    const Shape *xs = &n->in[0]->shape;
    bool ok = n->op == OP_GLOBAL_MAXPOOL ? (dtype_is_float(dt[0]) || dt[0] == DT_I8 || dt[0] == DT_U8)
                                         : dtype_is_float(dt[0]);
    if (!ok || xs->rank < 3)
        return ERR("needs a %s input of rank >= 3, got %s%s", n->op == OP_GLOBAL_MAXPOOL ? "float or 8-bit" : "float",
                   dtype_name(dt[0]), sh(xs, b1));
    for (int i = 2; i < y->rank; i++)
        y->d[i] = 1;
    return true;
}

bool infer_softmax(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    (void)y;
    const Shape *xs = &n->in[0]->shape;
    if (!dtype_is_float(dt[0]))
        return ERR("%s needs a float type, not %s", op_info[n->op].name, dtype_name(dt[0]));
    if (xs->rank == 0)
        return ERR("%s of a scalar", op_info[n->op].name);
    if (!ir_norm_axis(n, &a->axis, xs->rank, false, "axis", d))
        return false;
    if (a->axis2 == AXIS_END)
        a->axis2 = xs->rank;
    else if (a->axis2 == AXIS_NEXT)
        a->axis2 = a->axis + 1;
    if (a->axis2 <= a->axis || a->axis2 > xs->rank)
        return ERR("bad %s range [%lld, %lld)", op_info[n->op].name, (long long)a->axis, (long long)a->axis2);
    if (shape_has_batch(xs) && a->axis == 0)
        return ERR("%s over the batch dim; compile with a fixed batch (--batch N)", op_info[n->op].name);
    return true;
}

bool infer_batchnorm(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    (void)a;
    char b1[96];
    const Shape *xs = &n->in[0]->shape;
    if (!dtype_is_float(dt[0]) || xs->rank < 2)
        return ERR("needs a float input of rank >= 2, got %s%s", dtype_name(dt[0]), sh(xs, b1));
    int64_t C = xs->d[1];
    for (int i = 1; i < 5; i++) {
        const Value *p = n->in[i];
        if (!p || p->shape.rank != 1 || p->shape.d[0] != C || !dtype_is_float(p->dtype))
            return ERR("input %d must be a float vector of %lld channels", i, (long long)C);
    }
    for (int i = 1; i < n->nout; i++) {
        dt[i] = n->in[BN_MEAN]->dtype;
        y[i] = n->in[BN_MEAN]->shape;
    }
    return true;
}

bool infer_transpose(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    (void)dt;
    const Shape *xs = &n->in[0]->shape;
    if (a->nints < 0 || (a->nints == 0 && xs->rank > 0)) {
        a->nints = xs->rank;
        for (int i = 0; i < xs->rank; i++)
            a->ints[i] = xs->rank - 1 - i;
    }
    if (a->nints != xs->rank)
        return ERR("perm has %d entries for rank %d", a->nints, xs->rank);
    bool seen[QK_MAX_RANK] = {0};
    for (int i = 0; i < a->nints; i++) {
        if (!ir_norm_axis(n, &a->ints[i], xs->rank, false, "perm entry", d))
            return false;
        if (seen[a->ints[i]])
            return ERR("perm is not a permutation");
        seen[a->ints[i]] = true;
        y->d[i] = xs->d[a->ints[i]];
    }
    if (shape_has_batch(xs) && a->ints[0] != 0) {
        int to = 0;
        while (a->ints[to] != 0)
            to++;
        return ERR("the transpose moves the batch dim to position %d; the batch must stay the leading dim of "
                   "every tensor, so compile with a fixed batch: --batch N (e.g. --batch 1)", to);
    }
    return true;
}

bool ir_infer_node(const Node *n, Attrs *a, DType *out_dt, Shape *out_shape, Diag *d)
{
    const OpInfo *oi = &op_info[n->op];
    *a = n->a;
    for (int i = 0; i < n->nout; i++) {
        out_dt[i] = DT_UNDEF;
        out_shape[i] = (Shape){.rank = RANK_UNKNOWN};
    }
    if ((unsigned)n->op >= OP_COUNT)
        return ERR("unknown op %d", (int)n->op);
    if (n->nin < oi->min_in || (oi->max_in >= 0 && n->nin > oi->max_in))
        return ERR("%d inputs; %s takes %d to %d", n->nin, oi->name, oi->min_in, oi->max_in);
    for (int i = 0; i < n->nin; i++)
        if (n->in[i] && !known(n, i, d))
            return false;
    /* absent inputs must be optional, or constants already read into the
     * attributes ('!') */
    for (int i = 0; i < n->nin || (i == 0 && oi->min_in > 0); i++) {
        OpRole r;
        bool known_role = op_role(n->op, i, &r);
        if ((i >= n->nin || !n->in[i]) && (!known_role || !(r.optional || r.constant)))
            return ERR("input %d (%s) is required", i, known_role ? r.name : "?");
    }
    if (n->nin > 0 && n->in[0]) {
        out_dt[0] = n->in[0]->dtype;
        out_shape[0] = n->in[0]->shape;
    }
    /* a merged batch (rows > 1) only through ops that treat the leading
     * dim as rows */
    for (int i = 0; i < n->nin; i++)
        if (n->in[i] && shape_rows(&n->in[i]->shape) > 1 && !op_has(n->op, OPF_ROWS)) {
            char b1[96];
            return ERR("input %d is %s: the batch merged with other dims, which %s cannot take; compile with a "
                       "fixed batch (--batch N)", i, sh(&n->in[i]->shape, b1), oi->name);
        }
    if (!op_rules[n->op].infer(n, a, out_dt, out_shape, d))
        return false;
    for (int i = 0; i < n->nout; i++)
        if (n->out[i] && out_shape[i].rank > QK_MAX_RANK)
            return ERR("output %d has rank %d; at most %d is supported", i, out_shape[i].rank, QK_MAX_RANK);
    return true;
}

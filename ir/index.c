/* index.c — data movement by index maps, and the generated tensors: shape
 * rules and reference semantics of Split, Slice, Gather, GatherElements,
 * GatherND, Expand, Tile, Pad, DepthToSpace, SpaceToDepth, Trilu, Shape,
 * Size, ConstantOfShape and Range.
 *
 * Slice, Expand, Tile, Pad and the space ops are *index maps*: every output
 * element reads one input element (or the pad value) at a position computed
 * per dim (ir_index_map below); codegen builds the same maps. Gather and
 * friends read positions from an index tensor at run time: a negative index
 * counts from the end, one out of range is clamped (ONNX leaves it
 * undefined; a compiled kernel must not read outside the tensor). */
#include "interp_impl.h"
#include "oprules.h"

#include <math.h>
#include <string.h>

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* ---- Split --------------------------------------------------------------- */

bool infer_split(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    const Shape *xs = &n->in[0]->shape;
    if (ir_has_in(n, 1) && !ir_const_ints(n, 1, "split", a->sizes, QK_MAX_OUTPUTS, &a->nsizes, 0, d))
        return false;
    if (!ir_norm_axis(n, &a->axis, xs->rank, false, "axis", d))
        return false;
    int64_t len = xs->d[a->axis];
    if (len == DIM_BATCH)
        return IERR("splitting along the batch dim; compile with a fixed batch (--batch N)");
    if (a->nsizes < 0) { /* equal parts; the last one smaller (opset 18) */
        int64_t part = (len + n->nout - 1) / n->nout;
        a->nsizes = n->nout;
        for (int i = 0; i < n->nout; i++)
            a->sizes[i] = clamp64(len - part * i, 0, part);
    }
    if (a->nsizes != n->nout)
        return IERR("split has %d sizes for %d outputs", a->nsizes, n->nout);
    int64_t total = 0;
    for (int i = 0; i < a->nsizes; i++) {
        if (a->sizes[i] < 0)
            return IERR("split size %d is negative", i);
        total += a->sizes[i];
    }
    if (total != len)
        return IERR("split sizes add up to %lld, the axis has %lld", (long long)total, (long long)len);
    for (int i = 0; i < n->nout; i++) {
        dt[i] = dt[0];
        y[i] = *xs;
        y[i].d[a->axis] = a->sizes[i];
    }
    return true;
}

bool interp_split(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    const Tensor *x = in[0];
    (void)d;
    int64_t ax = n->a.axis, outer = 1, inner = 1, len = x->shape.d[ax];
    for (int i = 0; i < ax; i++)
        outer *= x->shape.d[i];
    for (int i = (int)ax + 1; i < x->shape.rank; i++)
        inner *= x->shape.d[i];
    size_t es = (size_t)dtype_size(x->dtype);
    int64_t start = 0;
    for (int k = 0; k < n->nout; k++) {
        int64_t part = n->a.sizes[k];
        if (out[k])
            for (int64_t o = 0; o < outer; o++)
                memcpy((char *)out[k]->data + (size_t)(o * part * inner) * es,
                       (const char *)x->data + (size_t)((o * len + start) * inner) * es, (size_t)(part * inner) * es);
        start += part;
    }
    return true;
}

/* ---- index maps ----------------------------------------------------------- */

/* Slice: starts/ends/steps per dim after normalization (the whole dim where
 * not sliced); the output extent per dim. */
bool infer_slice(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    (void)dt;
    const Shape *xs = &n->in[0]->shape;
    int64_t st[QK_MAX_RANK], en[QK_MAX_RANK], sp[QK_MAX_RANK], ax[QK_MAX_RANK];
    int ns = -1, ne = -1, nax = -1, nsp = -1;
    if (ir_has_in(n, 1)) { /* opset >= 10: inputs */
        if (!ir_const_ints(n, 1, "starts", st, QK_MAX_RANK, &ns, 0, d) ||
            !ir_const_ints(n, 2, "ends", en, QK_MAX_RANK, &ne, 0, d) ||
            !ir_const_ints(n, 3, "axes", ax, QK_MAX_RANK, &nax, 0, d) ||
            !ir_const_ints(n, 4, "steps", sp, QK_MAX_RANK, &nsp, 0, d))
            return false;
        if (ne != ns || (nax >= 0 && nax != ns) || (nsp >= 0 && nsp != ns))
            return IERR("starts, ends, axes and steps must have one length");
    } else if (a->nsizes >= 0) { /* opset < 10 attributes, per ints[] axis; not yet normalized */
        ns = a->nsizes;
        memcpy(st, a->starts, sizeof st);
        memcpy(en, a->ends, sizeof en);
        nax = a->nints;
        memcpy(ax, a->ints, sizeof ax);
    } else { /* normalized already */
        for (int i = 0; i < xs->rank; i++) {
            int64_t dim = xs->d[i] == DIM_BATCH ? 1 : xs->d[i], s = a->steps[i];
            int64_t cnt = s > 0 ? (a->ends[i] - a->starts[i] + s - 1) / s : (a->starts[i] - a->ends[i] - s - 1) / -s;
            y->d[i] = xs->d[i] == DIM_BATCH ? DIM_BATCH : cnt < 0 ? 0 : cnt;
            (void)dim;
        }
        return true;
    }
    int64_t S[QK_MAX_RANK], E[QK_MAX_RANK], P[QK_MAX_RANK];
    bool seen[QK_MAX_RANK] = {0};
    for (int i = 0; i < xs->rank; i++)
        S[i] = 0, E[i] = xs->d[i], P[i] = 1;
    for (int i = 0; i < ns; i++) {
        int64_t axis = nax >= 0 ? ax[i] : i;
        if (!ir_norm_axis(n, &axis, xs->rank, false, "axis", d))
            return false;
        if (seen[axis])
            return IERR("axis %lld repeats", (long long)axis);
        seen[axis] = true;
        int64_t step = nsp >= 0 ? sp[i] : 1, dim = xs->d[axis];
        if (step == 0)
            return IERR("a step is 0");
        if (dim == DIM_BATCH) {
            if (st[i] == 0 && step == 1 && en[i] >= INT32_MAX)
                continue; /* the whole batch */
            return IERR("slicing the batch dim; compile with a fixed batch (--batch N)");
        }
        /* numpy: negative counts from the end, then clamp */
        int64_t s = st[i] < 0 ? st[i] + dim : st[i], e = en[i] < 0 ? en[i] + dim : en[i];
        if (step > 0)
            s = clamp64(s, 0, dim), e = clamp64(e, 0, dim);
        else
            s = clamp64(s, -1, dim - 1), e = clamp64(e, -1, dim - 1);
        S[axis] = s, E[axis] = e, P[axis] = step;
    }
    for (int i = 0; i < xs->rank; i++) {
        a->starts[i] = S[i], a->ends[i] = E[i], a->steps[i] = P[i];
        if (xs->d[i] == DIM_BATCH) {
            a->starts[i] = 0, a->ends[i] = 1, a->steps[i] = 1; /* kept whole (per batch item) */
            y->d[i] = DIM_BATCH;
            continue;
        }
        int64_t cnt = P[i] > 0 ? (E[i] - S[i] + P[i] - 1) / P[i] : (S[i] - E[i] - P[i] - 1) / -P[i];
        y->d[i] = cnt < 0 ? 0 : cnt;
    }
    a->nints = -1;
    a->nsizes = -1;
    return true;
}

/* Expand: numpy broadcasting of x and the target, both ways. */
bool infer_expand(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    (void)dt;
    char b1[96], b2[96];
    if (ir_has_in(n, 1) && !ir_const_ints(n, 1, "shape", a->sizes, QK_MAX_RANK, &a->nsizes, DIM_BATCH, d))
        return false;
    if (a->nsizes < 0)
        return IERR("the target shape is missing");
    Shape t = {.rank = a->nsizes};
    for (int i = 0; i < a->nsizes; i++) {
        if (a->sizes[i] < 0 && a->sizes[i] != DIM_BATCH)
            return IERR("target dim %d is %lld", i, (long long)a->sizes[i]);
        t.d[i] = a->sizes[i];
    }
    if (!shape_broadcast(&n->in[0]->shape, &t, y))
        return IERR("%s does not expand to %s", ir_sh(&n->in[0]->shape, b1), ir_sh(&t, b2));
    return true;
}

/* Tile: each dim repeated. */
bool infer_tile(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    (void)dt;
    const Shape *xs = &n->in[0]->shape;
    if (ir_has_in(n, 1) && !ir_const_ints(n, 1, "repeats", a->sizes, QK_MAX_RANK, &a->nsizes, 0, d))
        return false;
    if (a->nsizes != xs->rank)
        return IERR("%d repeats for rank %d", a->nsizes, xs->rank);
    for (int i = 0; i < xs->rank; i++) {
        if (a->sizes[i] < 0)
            return IERR("repeat %d is negative", i);
        if (xs->d[i] == DIM_BATCH) {
            if (a->sizes[i] != 1)
                return IERR("tiling the batch dim; compile with a fixed batch (--batch N)");
            continue;
        }
        if (!checked_mul(xs->d[i], a->sizes[i], &y->d[i]))
            return IERR("the result is too large");
    }
    return true;
}

/* Pad: pads per dim into pads2 (begins then ends at QK_MAX_RANK), from the
 * raw [begins of axes, ends of axes] list. */
bool infer_pad(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    const Shape *xs = &n->in[0]->shape;
    int r = xs->rank;
    int64_t ax[QK_MAX_RANK];
    int nax = -1;
    if (ir_has_in(n, 1) && !ir_const_ints(n, 1, "pads", a->sizes, 2 * QK_MAX_RANK, &a->nsizes, 0, d))
        return false;
    if (ir_has_in(n, 2)) {
        if (n->in[2]->dtype != dt[0])
            return IERR("constant_value is %s, the data %s", dtype_name(n->in[2]->dtype), dtype_name(dt[0]));
        if (!ir_const_scalar(n, 2, "constant_value", &a->value, d))
            return false;
    }
    if (ir_has_in(n, 3) && !ir_const_ints(n, 3, "axes", ax, QK_MAX_RANK, &nax, 0, d))
        return false;
    if (a->nsizes >= 0) { /* raw pads: normalize */
        int na = nax >= 0 ? nax : r;
        if (a->nsizes != 2 * na)
            return IERR("%d pads for %d axes", a->nsizes, na);
        int64_t raw[2 * QK_MAX_RANK];
        memcpy(raw, a->sizes, sizeof raw);
        memset(a->pads2, 0, sizeof a->pads2);
        for (int i = 0; i < na; i++) {
            int64_t axis = nax >= 0 ? ax[i] : i;
            if (!ir_norm_axis(n, &axis, r, false, "axis", d))
                return false;
            a->pads2[axis] = raw[i];
            a->pads2[QK_MAX_RANK + axis] = raw[na + i];
        }
        a->nsizes = -1;
    }
    if (dt[0] == DT_BOOL && a->mode == PAD_CONSTANT && a->value != 0 && a->value != 1)
        return IERR("a bool pad value must be 0 or 1");
    for (int i = 0; i < r; i++) {
        int64_t b = a->pads2[i], e = a->pads2[QK_MAX_RANK + i];
        if (xs->d[i] == DIM_BATCH) {
            if (b || e)
                return IERR("padding the batch dim; compile with a fixed batch (--batch N)");
            continue;
        }
        int64_t o = xs->d[i] + b + e;
        if (o < 0)
            return IERR("pads %lld, %lld remove more than dim %d's %lld", (long long)b, (long long)e, i,
                        (long long)xs->d[i]);
        if (a->mode == PAD_REFLECT && (b > 0 || e > 0) && (xs->d[i] < 2 || b >= xs->d[i] || e >= xs->d[i]))
            return IERR("reflect pads of dim %d (%lld, %lld) must be smaller than its size %lld", i, (long long)b,
                        (long long)e, (long long)xs->d[i]);
        if ((a->mode == PAD_EDGE || a->mode == PAD_WRAP) && (b > 0 || e > 0) && xs->d[i] == 0)
            return IERR("%s padding of an empty dim", a->mode == PAD_EDGE ? "edge" : "wrap");
        y->d[i] = o;
    }
    return true;
}

/* DepthToSpace / SpaceToDepth on [N, C, H, W]. */
bool infer_space(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    (void)dt;
    char b1[96];
    const Shape *xs = &n->in[0]->shape;
    int64_t bs = a->blocksize;
    if (xs->rank != 4 || bs < 1)
        return IERR("needs a 4-D input and a positive blocksize, got %s", ir_sh(xs, b1));
    if (xs->d[1] == DIM_BATCH || xs->d[2] == DIM_BATCH || xs->d[3] == DIM_BATCH)
        return IERR("only the leading dim may be the batch");
    if (n->op == OP_DEPTH_TO_SPACE) {
        if (xs->d[1] % (bs * bs))
            return IERR("%lld channels do not divide by blocksize^2 = %lld", (long long)xs->d[1], (long long)(bs * bs));
        y->d[1] = xs->d[1] / (bs * bs), y->d[2] = xs->d[2] * bs, y->d[3] = xs->d[3] * bs;
    } else {
        if (xs->d[2] % bs || xs->d[3] % bs)
            return IERR("the spatial dims of %s do not divide by blocksize %lld", ir_sh(xs, b1), (long long)bs);
        y->d[1] = xs->d[1] * bs * bs, y->d[2] = xs->d[2] / bs, y->d[3] = xs->d[3] / bs;
    }
    return true;
}

bool infer_trilu(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    (void)dt, (void)y;
    if (ir_has_in(n, 1)) {
        double k;
        if (!ir_const_scalar(n, 1, "k", &k, d))
            return false;
        a->blocksize = (int64_t)k;
    }
    const Shape *xs = &n->in[0]->shape;
    if (xs->rank < 2 || xs->d[xs->rank - 1] == DIM_BATCH || xs->d[xs->rank - 2] == DIM_BATCH)
        return IERR("needs rank >= 2 with the batch dim leading");
    return true;
}

/* The input position of output position o along dim i, or -1 for the pad
 * value: the index map of a Slice, Expand, Tile or Pad (per dim). */
int64_t ir_index_map(const Node *n, const Shape *xs, const Shape *ys, int i, int64_t o)
{
    int64_t dim = xs->d[i];
    switch (n->op) {
    case OP_SLICE: return n->a.starts[i] + o * n->a.steps[i];
    case OP_EXPAND: {
        int j = i - (ys->rank - xs->rank);
        (void)j;
        return dim == 1 ? 0 : o;
    }
    case OP_TILE: return dim ? o % dim : 0;
    case OP_PAD: {
        int64_t p = o - n->a.pads2[i];
        if (p >= 0 && p < dim)
            return p;
        switch (n->a.mode) {
        case PAD_EDGE: return p < 0 ? 0 : dim - 1;
        case PAD_REFLECT: {
            int64_t period = 2 * (dim - 1);
            if (period <= 0)
                return 0;
            p = ((p % period) + period) % period;
            return p < dim ? p : period - p;
        }
        case PAD_WRAP: return ((p % dim) + dim) % dim;
        default: return -1;
        }
    }
    default: return o;
    }
}

/* Expand: the input seen right-aligned at the output's rank. */
static void aligned(const Shape *xs, int rank, Shape *out)
{
    out->rank = rank;
    for (int i = 0; i < rank; i++) {
        int j = i - (rank - xs->rank);
        out->d[i] = j < 0 ? 1 : xs->d[j];
    }
}

static bool interp_index(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    const Tensor *x = in[0];
    Tensor *y = out[0];
    (void)d;
    Shape xs = x->shape;
    if (n->op == OP_EXPAND)
        aligned(&x->shape, y->shape.rank, &xs);
    int64_t xst[QK_MAX_RANK];
    shape_strides(&xs, xst);
    size_t es = (size_t)dtype_size(x->dtype);
    int r = y->shape.rank;
    /* the pad value in the data's type */
    uint8_t padv[8] = {0};
    if (n->op == OP_PAD) {
        Tensor pv = {x->dtype, {0}, padv};
        if (dtype_is_float(x->dtype))
            interp_stf(&pv, 0, n->a.value);
        else
            interp_stu(&pv, 0, dtype_is_unsigned_int(x->dtype) ? interp_f2u(x->dtype, n->a.value)
                                                                : (uint64_t)interp_f2s(x->dtype, n->a.value));
    }
    for (int64_t f = 0, ne = tensor_numel(y); f < ne; f++) {
        int64_t rest = f, off = 0;
        bool pad = false;
        for (int i = r - 1; i >= 0; i--) {
            int64_t o = rest % y->shape.d[i];
            rest /= y->shape.d[i];
            int64_t p = ir_index_map(n, &xs, &y->shape, i, o);
            if (p < 0)
                pad = true;
            else
                off += p * xst[i];
        }
        memcpy((char *)y->data + (size_t)f * es, pad ? (const void *)padv : (const char *)x->data + (size_t)off * es, es);
    }
    return true;
}

bool interp_slice(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    return interp_index(n, in, out, d);
}

bool interp_expand(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    return interp_index(n, in, out, d);
}

bool interp_tile(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    return interp_index(n, in, out, d);
}

bool interp_pad(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    return interp_index(n, in, out, d);
}

/* The input channel, row and column of DepthToSpace/SpaceToDepth output
 * element (c, h, w) (C: the input's channels). */
void ir_space_map(const Node *n, int64_t C, int64_t c, int64_t h, int64_t w, int64_t *ic, int64_t *ih, int64_t *iw)
{
    int64_t bs = n->a.blocksize;
    if (n->op == OP_DEPTH_TO_SPACE) {
        int64_t i = h % bs, j = w % bs, Cy = C / (bs * bs);
        *ic = n->a.mode ? c * bs * bs + i * bs + j : (i * bs + j) * Cy + c; /* CRD : DCR */
        *ih = h / bs, *iw = w / bs;
    } else {
        int64_t blk = c / C, i = blk / bs, j = blk % bs;
        *ic = c % C, *ih = h * bs + i, *iw = w * bs + j;
    }
}

static bool interp_space(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    const Tensor *x = in[0];
    Tensor *y = out[0];
    (void)d;
    size_t es = (size_t)dtype_size(x->dtype);
    const int64_t *xd = x->shape.d, *yd = y->shape.d;
    for (int64_t b = 0; b < yd[0]; b++)
        for (int64_t c = 0; c < yd[1]; c++)
            for (int64_t h = 0; h < yd[2]; h++)
                for (int64_t w = 0; w < yd[3]; w++) {
                    int64_t ic, ih, iw;
                    ir_space_map(n, xd[1], c, h, w, &ic, &ih, &iw);
                    int64_t src = ((b * xd[1] + ic) * xd[2] + ih) * xd[3] + iw, dst = ((b * yd[1] + c) * yd[2] + h) * yd[3] + w;
                    memcpy((char *)y->data + (size_t)dst * es, (const char *)x->data + (size_t)src * es, es);
                }
    return true;
}

bool interp_depth_to_space(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    return interp_space(n, in, out, d);
}

bool interp_space_to_depth(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    return interp_space(n, in, out, d);
}

bool interp_trilu(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    const Tensor *x = in[0];
    Tensor *y = out[0];
    (void)d;
    int r = x->shape.rank;
    int64_t R = x->shape.d[r - 2], C = x->shape.d[r - 1], k = n->a.blocksize;
    size_t es = (size_t)dtype_size(x->dtype);
    for (int64_t f = 0, ne = tensor_numel(x); f < ne; f++) {
        int64_t col = f % C, row = f / C % R;
        bool keep = n->a.mode ? col - row >= k : col - row <= k;
        if (keep)
            memcpy((char *)y->data + (size_t)f * es, (const char *)x->data + (size_t)f * es, es);
        else
            memset((char *)y->data + (size_t)f * es, 0, es);
    }
    return true;
}

/* ---- Gather, GatherElements, GatherND ------------------------------------ */

static bool index_type(const Node *n, int k, Diag *d)
{
    DType t = n->in[k]->dtype;
    if (t != DT_I64 && t != DT_I32)
        return IERR("indices must be int32 or int64, not %s", dtype_name(t));
    return true;
}

bool infer_gather(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    (void)dt;
    const Shape *xs = &n->in[0]->shape, *is = &n->in[1]->shape;
    if (!index_type(n, 1, d) || !ir_norm_axis(n, &a->axis, xs->rank, false, "axis", d))
        return false;
    if (xs->d[a->axis] == DIM_BATCH)
        return IERR("gathering along the batch dim; compile with a fixed batch (--batch N)");
    if (xs->rank - 1 + is->rank > QK_MAX_RANK)
        return IERR("result rank %d exceeds %d", xs->rank - 1 + is->rank, QK_MAX_RANK);
    if (shape_has_batch(is) && a->axis != 0)
        return IERR("batched indices need the gather axis to be 0 (the batch must stay leading); compile with a "
                    "fixed batch (--batch N)");
    if (shape_has_batch(xs) && is->rank == 0 && a->axis == 0)
        return IERR("a scalar index along the batch dim; compile with a fixed batch (--batch N)");
    y->rank = 0;
    for (int i = 0; i < a->axis; i++)
        y->d[y->rank++] = xs->d[i];
    for (int i = 0; i < is->rank; i++)
        y->d[y->rank++] = is->d[i];
    for (int i = (int)a->axis + 1; i < xs->rank; i++)
        y->d[y->rank++] = xs->d[i];
    if (shape_has_batch(is) && shape_has_batch(xs))
        return IERR("both the data and the indices have a batch dim");
    y->bmul = shape_has_batch(is) ? is->bmul : xs->bmul;
    return true;
}

/* An index read from t, wrapped when negative and clamped into [0, dim). */
static int64_t read_index(const Tensor *t, int64_t i, int64_t dim)
{
    int64_t v = interp_ldi(t, i);
    if (v < 0)
        v += dim;
    return clamp64(v, 0, dim > 0 ? dim - 1 : 0);
}

bool interp_gather(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    const Tensor *x = in[0], *idx = in[1];
    Tensor *y = out[0];
    (void)d;
    int64_t ax = n->a.axis, outer = 1, inner = 1, len = x->shape.d[ax], ni = tensor_numel(idx);
    for (int i = 0; i < ax; i++)
        outer *= x->shape.d[i];
    for (int i = (int)ax + 1; i < x->shape.rank; i++)
        inner *= x->shape.d[i];
    size_t es = (size_t)dtype_size(x->dtype);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < ni; j++) {
            int64_t k = read_index(idx, j, len);
            memcpy((char *)y->data + (size_t)((o * ni + j) * inner) * es,
                   (const char *)x->data + (size_t)((o * len + k) * inner) * es, (size_t)inner * es);
        }
    return true;
}

bool infer_gather_elements(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    (void)dt;
    char b1[96], b2[96];
    const Shape *xs = &n->in[0]->shape, *is = &n->in[1]->shape;
    if (!index_type(n, 1, d) || !ir_norm_axis(n, &a->axis, xs->rank, false, "axis", d))
        return false;
    if (is->rank != xs->rank)
        return IERR("indices %s and data %s differ in rank", ir_sh(is, b1), ir_sh(xs, b2));
    for (int i = 0; i < xs->rank; i++)
        if (i != a->axis && is->d[i] != xs->d[i] && !(xs->d[i] != DIM_BATCH && is->d[i] != DIM_BATCH && is->d[i] <= xs->d[i]))
            return IERR("indices %s do not fit data %s", ir_sh(is, b1), ir_sh(xs, b2));
    if (xs->d[a->axis] == DIM_BATCH || (shape_has_batch(is) != shape_has_batch(xs)))
        return IERR("the batch dims of data and indices must agree; compile with a fixed batch (--batch N)");
    *y = *is;
    return true;
}

bool interp_gather_elements(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    const Tensor *x = in[0], *idx = in[1];
    Tensor *y = out[0];
    (void)d;
    int r = x->shape.rank;
    int64_t ax = n->a.axis, xst[QK_MAX_RANK];
    shape_strides(&x->shape, xst);
    size_t es = (size_t)dtype_size(x->dtype);
    for (int64_t f = 0, ne = tensor_numel(y); f < ne; f++) {
        int64_t rest = f, off = 0;
        for (int i = r - 1; i >= 0; i--) {
            int64_t c = rest % y->shape.d[i];
            rest /= y->shape.d[i];
            off += (i == ax ? read_index(idx, f, x->shape.d[i]) : c) * xst[i];
        }
        memcpy((char *)y->data + (size_t)f * es, (const char *)x->data + (size_t)off * es, es);
    }
    return true;
}

bool infer_gather_nd(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    (void)dt;
    char b1[96], b2[96];
    const Shape *xs = &n->in[0]->shape, *is = &n->in[1]->shape;
    int64_t b = a->axis;
    if (n->in[1]->dtype != DT_I64)
        return IERR("indices must be int64");
    if (is->rank < 1 || b < 0 || b >= is->rank || b >= xs->rank)
        return IERR("batch_dims %lld does not fit data %s and indices %s", (long long)b, ir_sh(xs, b1), ir_sh(is, b2));
    int64_t last = is->d[is->rank - 1];
    if (last == DIM_BATCH || last < 1 || last > xs->rank - b)
        return IERR("the last dim of indices %s must be 1..%lld", ir_sh(is, b1), (long long)(xs->rank - b));
    for (int i = 0; i < b; i++)
        if (is->d[i] != xs->d[i])
            return IERR("the batch dims of data %s and indices %s differ", ir_sh(xs, b1), ir_sh(is, b2));
    for (int i = (int)b; i < xs->rank; i++)
        if (xs->d[i] == DIM_BATCH)
            return IERR("indexing into the batch dim; compile with a fixed batch (--batch N)");
    y->rank = 0;
    for (int i = 0; i < is->rank - 1; i++)
        y->d[y->rank++] = is->d[i];
    for (int i = (int)(b + last); i < xs->rank; i++)
        y->d[y->rank++] = xs->d[i];
    if (y->rank > QK_MAX_RANK)
        return IERR("result rank too large");
    return true;
}

bool interp_gather_nd(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    const Tensor *x = in[0], *idx = in[1];
    Tensor *y = out[0];
    (void)d;
    int64_t b = n->a.axis, last = idx->shape.d[idx->shape.rank - 1];
    int64_t nb = 1, ni = 1, inner = 1, xst[QK_MAX_RANK];
    shape_strides(&x->shape, xst);
    for (int i = 0; i < b; i++)
        nb *= idx->shape.d[i];
    for (int i = (int)b; i < idx->shape.rank - 1; i++)
        ni *= idx->shape.d[i];
    for (int i = (int)(b + last); i < x->shape.rank; i++)
        inner *= x->shape.d[i];
    size_t es = (size_t)dtype_size(x->dtype);
    int64_t bstride = b > 0 ? xst[b - 1] : 0;
    for (int64_t bi = 0; bi < nb; bi++)
        for (int64_t j = 0; j < ni; j++) {
            int64_t row = (bi * ni + j) * last, off = bi * bstride;
            for (int64_t k = 0; k < last; k++)
                off += read_index(idx, row + k, x->shape.d[b + k]) * xst[b + k];
            memcpy((char *)y->data + (size_t)((bi * ni + j) * inner) * es, (const char *)x->data + (size_t)off * es,
                   (size_t)inner * es);
        }
    return true;
}

/* ---- Shape, Size, ConstantOfShape, Range ---------------------------------- */

bool infer_shape(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    (void)d;
    int r = n->in[0]->shape.rank;
    int64_t s = a->starts[0], e = a->ends[0];
    s = s < 0 ? s + r : s, e = e < 0 ? e + r : e;
    s = clamp64(s, 0, r), e = clamp64(e, 0, r);
    a->starts[0] = s, a->ends[0] = e > s ? e : s;
    dt[0] = DT_I64;
    y->rank = 1;
    y->d[0] = a->ends[0] - s;
    return true;
}

bool interp_shape(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    (void)d;
    for (int64_t i = 0; i < out[0]->shape.d[0]; i++)
        ((int64_t *)out[0]->data)[i] = in[0]->shape.d[n->a.starts[0] + i];
    return true;
}

bool infer_size(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    (void)n, (void)a, (void)d;
    dt[0] = DT_I64;
    y->rank = 0;
    return true;
}

bool interp_size(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    (void)n, (void)d;
    *(int64_t *)out[0]->data = tensor_numel(in[0]);
    return true;
}

bool infer_constant_of_shape(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    if (ir_has_in(n, 0) && !ir_const_ints(n, 0, "shape", a->sizes, QK_MAX_RANK, &a->nsizes, DIM_BATCH, d))
        return false;
    if (a->nsizes < 0)
        return IERR("the shape is missing");
    y->rank = a->nsizes;
    for (int i = 0; i < a->nsizes; i++) {
        if (a->sizes[i] < 0 && !(i == 0 && a->sizes[i] == DIM_BATCH))
            return IERR("dim %d is %lld", i, (long long)a->sizes[i]);
        y->d[i] = a->sizes[i];
    }
    if (dtype_size(a->to) == 0)
        return IERR("the value's type is not supported");
    dt[0] = a->to;
    return true;
}

bool interp_constant_of_shape(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    (void)in, (void)d;
    size_t es = (size_t)dtype_size(out[0]->dtype);
    for (int64_t i = 0, ne = tensor_numel(out[0]); i < ne; i++)
        memcpy((char *)out[0]->data + (size_t)i * es, &n->a.fill, es);
    return true;
}

bool infer_range(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    static const char *const what[3] = {"start", "limit", "delta"};
    DType t = DT_UNDEF;
    for (int k = 0; k < 3; k++) {
        if (!ir_has_in(n, k))
            continue;
        if (t != DT_UNDEF && n->in[k]->dtype != t)
            return IERR("start, limit and delta must have one type");
        t = n->in[k]->dtype;
        if (!ir_const_scalar(n, k, what[k], &a->p[k], d))
            return false;
    }
    if (t != DT_UNDEF)
        a->to = t;
    if (a->to == DT_UNDEF || a->to == DT_BOOL)
        return IERR("Range needs numbers");
    if (a->p[2] == 0)
        return IERR("delta is 0");
    double cnt = ceil((a->p[1] - a->p[0]) / a->p[2]);
    if (!(cnt < 1e12))
        return IERR("the range is too long");
    dt[0] = a->to;
    y->rank = 1;
    y->d[0] = cnt > 0 ? (int64_t)cnt : 0;
    return true;
}

bool interp_range(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    (void)in, (void)d;
    Tensor *y = out[0];
    for (int64_t i = 0; i < y->shape.d[0]; i++) {
        if (dtype_is_float(y->dtype))
            interp_stf(y, i, n->a.p[0] + (double)i * n->a.p[2]);
        else
            interp_stu(y, i, (uint64_t)((int64_t)n->a.p[0] + i * (int64_t)n->a.p[2]));
    }
    return true;
}

/* resize.c — Resize (and Upsample, imported as Resize): shape rule and
 * reference semantics, nearest and (multi)linear.
 *
 * Each output coordinate maps back to an input coordinate by the
 * coordinate_transformation_mode (ONNX's formulas, with `scale` the given
 * scale, or output/input length when sizes are given); then, as ONNX's
 * reference does, it takes 1 (nearest, by nearest_mode), 2 (linear) or 4
 * (cubic, coefficient A) neighbours with their weights, positions beyond
 * the input reading its edge (exclude_outside: weighing 0, the rest
 * renormalized); dims combine as a product of their taps
 * (ir_resize_taps, which the kernels compute alike). */
#include "interp_impl.h"
#include "oprules.h"

#include <math.h>
#include <string.h>

bool infer_resize(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    (void)dt;
    char b[96];
    const Shape *xs = &n->in[0]->shape;
    int r = xs->rank;
    int64_t axes[QK_MAX_RANK];
    int nax = a->nints;
    if (nax > 0)
        memcpy(axes, a->ints, sizeof axes);
    else
        for (int i = 0; i < r; i++)
            axes[i] = i;
    int na = nax > 0 ? nax : r;
    for (int i = 0; i < na; i++)
        if (!ir_norm_axis(n, &axes[i], r, false, "axis", d))
            return false;
    double sc[QK_MAX_RANK];
    int64_t sz[QK_MAX_RANK];
    int nsc = -1, nsz = -1;
    if (ir_has_in(n, 2)) { /* scales */
        const Value *v = n->in[2];
        if (v->kind != VAL_CONST)
            return IERR("scales must be a constant; compile with --bind %s=FILE.npy if it is an input", v->name);
        if (!dtype_is_float(v->dtype) || v->shape.rank != 1)
            return IERR("scales must be a 1-D float tensor");
        nsc = (int)shape_numel(&v->shape);
        if (nsc > QK_MAX_RANK)
            return IERR("too many scales");
        Tensor t = {v->dtype, v->shape, v->data};
        for (int i = 0; i < nsc; i++)
            sc[i] = interp_ldf(&t, i);
        if (nsc == 0)
            nsc = -1; /* an empty scales with sizes (opset 13) */
    }
    if (ir_has_in(n, 3) && !ir_const_ints(n, 3, "sizes", sz, QK_MAX_RANK, &nsz, 0, d))
        return false;
    if (nsc < 0 && nsz < 0 && a->nsizes <= -2) { /* Upsample 7/8: scales attribute */
        nsc = -2 - a->nsizes;
        for (int i = 0; i < nsc; i++)
            sc[i] = a->scales[i];
    }
    if (nsc < 0 && nsz < 0) {
        /* normalized already (the inputs were read and dropped): the
         * output's dims are in sizes[] */
        if (a->nsizes != r)
            return IERR("scales or sizes are required");
        for (int i = 0; i < r; i++)
            y->d[i] = xs->d[i] == DIM_BATCH ? DIM_BATCH : a->sizes[i];
        return true;
    }
    if ((nsc >= 0) == (nsz >= 0))
        return IERR("give exactly one of scales and sizes");
    int cnt = nsc >= 0 ? nsc : nsz;
    if (cnt != na)
        return IERR("%d %s for %d axes", cnt, nsc >= 0 ? "scales" : "sizes", na);
    for (int i = 0; i < r; i++)
        a->scales[i] = 1;
    for (int i = 0; i < na; i++) {
        int ax = (int)axes[i];
        int64_t in = xs->d[ax];
        if (in == DIM_BATCH) {
            if ((nsc >= 0 && sc[i] != 1) || nsz >= 0)
                return IERR("resizing the batch dim; compile with a fixed batch (--batch N)");
            continue;
        }
        if (nsc >= 0) {
            if (!(sc[i] > 0) || !(sc[i] < 1e6))
                return IERR("scale %d is %g", i, sc[i]);
            a->scales[ax] = sc[i];
            y->d[ax] = (int64_t)floor((double)in * sc[i]); /* ONNX: floor(input * scale) */
        } else {
            if (sz[i] < 0)
                return IERR("size %d is negative", i);
            y->d[ax] = sz[i];
            a->scales[ax] = in ? (double)sz[i] / (double)in : 1;
        }
        if (y->d[ax] > 0 && in == 0)
            return IERR("resizing an empty dim of %s", ir_sh(xs, b));
    }
    a->nints = -1;
    a->nsizes = r;
    for (int i = 0; i < r; i++)
        a->sizes[i] = y->d[i];
    return true;
}

/* The input coordinate of output coordinate o along dim i (ONNX's
 * formulas; `out_len` the scale times the input length, not rounded). */
double ir_resize_coord(const Node *n, const Shape *xs, const Shape *ys, int i, int64_t o)
{
    int64_t lin = xs->d[i], lout = ys->d[i];
    double s = n->a.scales[i], outw = s * (double)lin, x = (double)o;
    (void)lout;
    switch (n->a.coord) {
    case COORD_ASYMMETRIC: return x / s;
    case COORD_PYTORCH_HALF_PIXEL: return outw == 1 ? -0.5 : (x + 0.5) / s - 0.5;
    case COORD_ALIGN_CORNERS: return outw == 1 ? 0 : x * (double)(lin - 1) / (outw - 1);
    case COORD_TF_HALF_PIXEL: return (x + 0.5) / s;
    case COORD_HALF_PIXEL_SYMMETRIC: {
        double adj = (double)lout / outw, center = (double)lin / 2;
        return center * (1 - adj) + (x + 0.5) / s - 0.5;
    }
    default: return (x + 0.5) / s - 0.5; /* half_pixel */
    }
}

int ir_resize_taps(const Node *n, const Shape *xs, const Shape *ys, int i, int64_t o, int64_t *idx, double *w)
{
    int64_t lin = xs->d[i], lout = ys->d[i];
    if (lin == lout && n->a.scales[i] == 1) {
        idx[0] = o, w[0] = 1;
        return 1;
    }
    double x = ir_resize_coord(n, xs, ys, i, o), f = floor(x), r = x - f;
    if (r == 0) /* an exact position: the right-hand neighbour of the pair below it */
        f -= 1, r = 1;
    int nt;
    int64_t first;
    if (n->a.mode == RESIZE_NEAREST) {
        bool hi;
        switch (n->a.nearest) {
        case NEAREST_FLOOR: hi = r == 1; break;
        case NEAREST_CEIL: hi = true; break;
        case NEAREST_ROUND_PREFER_CEIL: hi = r >= 0.5; break;
        default: hi = r > 0.5; break; /* round_prefer_floor */
        }
        first = (int64_t)f + hi, nt = 1, w[0] = 1;
    } else if (n->a.mode == RESIZE_LINEAR) {
        first = (int64_t)f, nt = 2, w[0] = 1 - r, w[1] = r;
    } else { /* cubic, coefficient A */
        double A = n->a.cubic_a, q = 1 - r;
        w[0] = ((A * (r + 1) - 5 * A) * (r + 1) + 8 * A) * (r + 1) - 4 * A;
        w[1] = ((A + 2) * r - (A + 3)) * r * r + 1;
        w[2] = ((A + 2) * q - (A + 3)) * q * q + 1;
        w[3] = ((A * (q + 1) - 5 * A) * (q + 1) + 8 * A) * (q + 1) - 4 * A;
        first = (int64_t)f - 1, nt = 4;
    }
    double sum = 0;
    for (int t = 0; t < nt; t++) {
        int64_t k = first + t;
        if (n->a.exclude_outside && (k < 0 || k >= lin))
            w[t] = 0;
        sum += w[t];
        idx[t] = k < 0 ? 0 : k >= lin ? lin - 1 : k; /* the edge beyond the input */
    }
    if (n->a.exclude_outside && sum != 0)
        for (int t = 0; t < nt; t++)
            w[t] /= sum;
    return nt;
}

bool interp_resize(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    const Tensor *x = in[0];
    Tensor *y = out[0];
    (void)d;
    int r = x->shape.rank;
    int64_t xst[QK_MAX_RANK];
    shape_strides(&x->shape, xst);
    bool fl = dtype_is_float(x->dtype);
    for (int64_t f = 0, ne = tensor_numel(y); f < ne; f++) {
        int64_t c[QK_MAX_RANK], rest = f;
        for (int i = r - 1; i >= 0; i--) {
            c[i] = rest % y->shape.d[i];
            rest /= y->shape.d[i];
        }
        /* the product of each dim's taps */
        int64_t idx[QK_MAX_RANK][4];
        double w[QK_MAX_RANK][4];
        int nt[QK_MAX_RANK], total = 1;
        for (int i = 0; i < r; i++) {
            nt[i] = ir_resize_taps(n, &x->shape, &y->shape, i, c[i], idx[i], w[i]);
            total *= nt[i];
        }
        double v = -0.0; /* the identity of +: a nearest -0 stays -0 */
        for (int t = 0; t < total; t++) {
            double wt = 1;
            int64_t off = 0;
            for (int i = r - 1, rem = t; i >= 0; i--) {
                int k = rem % nt[i];
                rem /= nt[i];
                wt *= w[i][k];
                off += idx[i][k] * xst[i];
            }
            v += wt * (fl ? interp_ldf(x, off) : (double)interp_ldi(x, off));
        }
        if (fl)
            interp_stf_once(y, f, v);
        else
            interp_stu(y, f, dtype_is_unsigned_int(y->dtype) ? interp_f2u(y->dtype, nearbyint(v))
                                                             : (uint64_t)interp_f2s(y->dtype, nearbyint(v)));
    }
    return true;
}

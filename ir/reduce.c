/* reduce.c — the reduction family: Reduce* over any set of axes, ArgMax
 * and ArgMin along one axis, CumSum. Shape rules and reference semantics.
 *
 * Each Reduce op is a map, a combine and a final step (red_kind below):
 * floats accumulate in double, integers in 64 bits (wrapping like the
 * type); an empty reduction gives the combine's identity (Sum 0, Prod 1,
 * Max -inf or the type's least, Min the opposite, Mean NaN, LogSum and
 * LogSumExp -inf). Max and Min return NaN when any element is NaN;
 * ArgMax/ArgMin take a NaN as the extreme, the first (or with
 * select_last_index the last) one found. LogSumExp subtracts the maximum
 * first. Mean of integers truncates the quotient. */
#include "interp_impl.h"
#include "oprules.h"

#include <math.h>
#include <string.h>

/* The axes a Reduce node reduces, as flags per input dim (after shape
 * inference normalized them into ints[]). */
bool ir_reduce_axes(const Node *n, const Shape *xs, bool *red, Diag *d)
{
    memset(red, 0, sizeof(bool) * QK_MAX_RANK);
    if (n->a.nints <= 0) {
        if (n->a.noop_empty && n->a.nints == 0)
            return true;
        for (int i = 0; i < xs->rank; i++)
            red[i] = true;
        return true;
    }
    for (int i = 0; i < n->a.nints; i++) {
        int64_t ax = n->a.ints[i];
        if (ax < 0 || ax >= xs->rank)
            return diag_error(d, n->loc, "axis %lld out of range for rank %d", (long long)ax, xs->rank);
        red[ax] = true;
    }
    return true;
}

bool infer_reduce(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    const Shape *xs = &n->in[0]->shape;
    char b[96];
    if (ir_has_in(n, 1) && !ir_const_ints(n, 1, "axes", a->ints, QK_MAX_RANK, &a->nints, 0, d))
        return false;
    if (dt[0] == DT_BOOL || dt[0] == DT_UNDEF)
        return IERR("%s is not defined for %s", op_info[n->op].name, dtype_name(dt[0]));
    bool red[QK_MAX_RANK] = {0};
    if (a->nints <= 0) {
        if (a->noop_empty) { /* no axes: the identity */
            a->nints = 0;
            return true;
        }
        a->nints = xs->rank; /* no axes: all of them */
        for (int i = 0; i < xs->rank; i++)
            a->ints[i] = i;
    }
    for (int i = 0; i < a->nints; i++) {
        if (!ir_norm_axis(n, &a->ints[i], xs->rank, false, "axis", d))
            return false;
        if (red[a->ints[i]])
            return IERR("axis %lld repeats", (long long)a->ints[i]);
        red[a->ints[i]] = true;
        if (xs->d[a->ints[i]] == DIM_BATCH)
            return IERR("reducing %s over the batch dim; compile with a fixed batch (--batch N)", ir_sh(xs, b));
    }
    /* axes in increasing order, so equal nodes print and key alike */
    int k = 0;
    for (int i = 0; i < xs->rank; i++)
        if (red[i])
            a->ints[k++] = i;
    y->rank = 0;
    for (int i = 0; i < xs->rank; i++) {
        if (!red[i])
            y->d[y->rank++] = xs->d[i];
        else if (a->keepdims)
            y->d[y->rank++] = 1;
    }
    return true;
}

/* The geometry of an output element's reduction: the input offset of its
 * first element, and the reduced dims' extents and strides. */
typedef struct RedGeom {
    int nr;
    int64_t ext[QK_MAX_RANK], st[QK_MAX_RANK];
    int nk;
    int64_t kext[QK_MAX_RANK], kst[QK_MAX_RANK]; /* kept dims, in order */
    int64_t count;
} RedGeom;

static void red_geom(const Shape *xs, const bool *red, RedGeom *g)
{
    int64_t st[QK_MAX_RANK];
    shape_strides(xs, st);
    memset(g, 0, sizeof *g);
    g->count = 1;
    for (int i = 0; i < xs->rank; i++) {
        if (red[i]) {
            g->ext[g->nr] = xs->d[i], g->st[g->nr++] = st[i];
            g->count *= xs->d[i];
        } else {
            g->kext[g->nk] = xs->d[i], g->kst[g->nk++] = st[i];
        }
    }
}

/* Input offset of the j-th element (row-major) of the reduced dims. */
static int64_t red_off(const RedGeom *g, int64_t j)
{
    int64_t off = 0;
    for (int k = g->nr - 1; k >= 0; k--) {
        off += j % g->ext[k] * g->st[k];
        j /= g->ext[k];
    }
    return off;
}

/* Input offset of output element o (the kept dims in order). */
static int64_t kept_off(const RedGeom *g, int64_t o)
{
    int64_t off = 0;
    for (int k = g->nk - 1; k >= 0; k--) {
        off += o % g->kext[k] * g->kst[k];
        o /= g->kext[k];
    }
    return off;
}

static double red_float(OpKind op, const Tensor *x, const RedGeom *g, int64_t base)
{
    double acc;
    switch (op) {
    case OP_REDUCE_PROD: acc = 1; break;
    case OP_REDUCE_MAX: acc = -INFINITY; break;
    case OP_REDUCE_MIN: acc = INFINITY; break;
    default: acc = 0; break;
    }
    double mx = -INFINITY;
    if (op == OP_REDUCE_LOG_SUM_EXP)
        for (int64_t j = 0; j < g->count; j++) {
            double v = interp_ldf(x, base + red_off(g, j));
            mx = isnan(v) || isnan(mx) ? NAN : v > mx ? v : mx;
        }
    for (int64_t j = 0; j < g->count; j++) {
        double v = interp_ldf(x, base + red_off(g, j));
        switch (op) {
        case OP_REDUCE_SUM: case OP_REDUCE_MEAN: case OP_REDUCE_LOG_SUM: acc += v; break;
        case OP_REDUCE_PROD: acc *= v; break;
        case OP_REDUCE_MAX: acc = isnan(v) || isnan(acc) ? NAN : v > acc ? v : acc; break;
        case OP_REDUCE_MIN: acc = isnan(v) || isnan(acc) ? NAN : v < acc ? v : acc; break;
        case OP_REDUCE_L1: acc += fabs(v); break;
        case OP_REDUCE_L2: case OP_REDUCE_SUM_SQUARE: acc += v * v; break;
        case OP_REDUCE_LOG_SUM_EXP: acc += exp(v - mx); break;
        default: break;
        }
    }
    switch (op) {
    case OP_REDUCE_MEAN: return acc / (double)g->count;
    case OP_REDUCE_L2: return sqrt(acc);
    case OP_REDUCE_LOG_SUM: return log(acc);
    case OP_REDUCE_LOG_SUM_EXP: /* an infinite maximum is the result (x - mx would be NaN) */
        return !g->count ? -INFINITY : isinf(mx) ? mx : mx + log(acc);
    default: return acc;
    }
}

/* Integers: exact (wrapping) sums and products; the log ones in double. */
static void red_int(OpKind op, const Tensor *x, Tensor *y, int64_t o, const RedGeom *g, int64_t base)
{
    DType t = x->dtype;
    bool u = dtype_is_unsigned_int(t);
    if (op == OP_REDUCE_L2 || op == OP_REDUCE_LOG_SUM || op == OP_REDUCE_LOG_SUM_EXP) {
        double v = 0, mx = -INFINITY;
        for (int64_t j = 0; j < g->count; j++) {
            double e = u ? (double)interp_ldu(x, base + red_off(g, j)) : (double)interp_ldi(x, base + red_off(g, j));
            mx = e > mx ? e : mx;
        }
        for (int64_t j = 0; j < g->count; j++) {
            double e = u ? (double)interp_ldu(x, base + red_off(g, j)) : (double)interp_ldi(x, base + red_off(g, j));
            v += op == OP_REDUCE_L2 ? e * e : op == OP_REDUCE_LOG_SUM ? e : exp(e - mx);
        }
        v = op == OP_REDUCE_L2 ? sqrt(v) : op == OP_REDUCE_LOG_SUM ? log(v) : mx + log(v);
        interp_stu(y, o, u ? interp_f2u(t, v) : (uint64_t)interp_f2s(t, v));
        return;
    }
    uint64_t acc = op == OP_REDUCE_PROD ? 1 : 0;
    int bits = 8 * dtype_size(t);
    if (op == OP_REDUCE_MAX)
        acc = u ? 0 : (uint64_t)(bits == 64 ? INT64_MIN : -((int64_t)1 << (bits - 1)));
    if (op == OP_REDUCE_MIN)
        acc = u ? (bits == 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1)
                : (uint64_t)(bits == 64 ? INT64_MAX : ((int64_t)1 << (bits - 1)) - 1);
    for (int64_t j = 0; j < g->count; j++) {
        uint64_t v = interp_ldu(x, base + red_off(g, j));
        int64_t sv = (int64_t)v, sa = (int64_t)acc;
        switch (op) {
        case OP_REDUCE_SUM: case OP_REDUCE_MEAN: acc += v; break;
        case OP_REDUCE_PROD: acc *= v; break;
        case OP_REDUCE_MAX: acc = (u ? v > acc : sv > sa) ? v : acc; break;
        case OP_REDUCE_MIN: acc = (u ? v < acc : sv < sa) ? v : acc; break;
        case OP_REDUCE_L1: acc += u || sv >= 0 ? v : 0 - v; break;
        case OP_REDUCE_SUM_SQUARE: acc += v * v; break;
        default: break;
        }
    }
    if (op == OP_REDUCE_MEAN)
        acc = g->count == 0 ? 0 : u ? acc / (uint64_t)g->count : (uint64_t)((int64_t)acc / g->count);
    interp_stu(y, o, acc);
}

bool interp_reduce(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    const Tensor *x = in[0];
    Tensor *y = out[0];
    bool red[QK_MAX_RANK];
    if (!ir_reduce_axes(n, &x->shape, red, d))
        return false;
    if (x->dtype != y->dtype)
        return diag_error(d, n->loc, "%s: output type %s, input %s", op_info[n->op].name, dtype_name(y->dtype),
                          dtype_name(x->dtype));
    RedGeom g;
    red_geom(&x->shape, red, &g);
    int64_t ny = tensor_numel(y);
    for (int64_t o = 0; o < ny; o++) {
        int64_t base = kept_off(&g, o);
        if (dtype_is_float(x->dtype))
            interp_stf_once(y, o, red_float(n->op, x, &g, base));
        else
            red_int(n->op, x, y, o, &g, base);
    }
    return true;
}

/* ---- ArgMax / ArgMin ------------------------------------------------------ */

bool infer_argreduce(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    const Shape *xs = &n->in[0]->shape;
    if (dt[0] == DT_BOOL)
        return IERR("%s is not defined for bool", op_info[n->op].name);
    if (!ir_norm_axis(n, &a->axis, xs->rank, false, "axis", d))
        return false;
    if (xs->d[a->axis] == DIM_BATCH)
        return IERR("%s over the batch dim; compile with a fixed batch (--batch N)", op_info[n->op].name);
    if (xs->d[a->axis] == 0)
        return IERR("%s over an empty axis", op_info[n->op].name);
    *y = *xs;
    if (a->keepdims) {
        y->d[a->axis] = 1;
    } else {
        y->rank--;
        for (int i = (int)a->axis; i < y->rank; i++)
            y->d[i] = xs->d[i + 1];
    }
    dt[0] = DT_I64;
    return true;
}

bool interp_argreduce(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    const Tensor *x = in[0];
    Tensor *y = out[0];
    int64_t ax = n->a.axis, outer = 1, len = x->shape.d[ax], inner = 1;
    (void)d;
    for (int i = 0; i < ax; i++)
        outer *= x->shape.d[i];
    for (int i = (int)ax + 1; i < x->shape.rank; i++)
        inner *= x->shape.d[i];
    bool mx = n->op == OP_ARG_MAX, fl = dtype_is_float(x->dtype), u = dtype_is_unsigned_int(x->dtype);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t base = o * len * inner + i, best = 0;
            for (int64_t j = 1; j < len; j++) {
                int64_t p = base + j * inner, q = base + best * inner;
                bool take;
                if (fl) {
                    double v = interp_ldf(x, p), b = interp_ldf(x, q);
                    if (isnan(b))
                        take = isnan(v) && n->a.select_last;
                    else if (isnan(v))
                        take = true;
                    else
                        take = mx ? (v > b || (v == b && n->a.select_last)) : (v < b || (v == b && n->a.select_last));
                } else if (u) {
                    uint64_t v = interp_ldu(x, p), b = interp_ldu(x, q);
                    take = mx ? (v > b || (v == b && n->a.select_last)) : (v < b || (v == b && n->a.select_last));
                } else {
                    int64_t v = interp_ldi(x, p), b = interp_ldi(x, q);
                    take = mx ? (v > b || (v == b && n->a.select_last)) : (v < b || (v == b && n->a.select_last));
                }
                if (take)
                    best = j;
            }
            ((int64_t *)y->data)[o * inner + i] = best;
        }
    return true;
}

/* ---- CumSum ---------------------------------------------------------------- */

bool infer_cumsum(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    (void)y;
    if (ir_has_in(n, 1)) {
        double ax;
        if (!ir_const_scalar(n, 1, "axis", &ax, d))
            return false;
        a->axis = (int64_t)ax;
    }
    const Shape *xs = &n->in[0]->shape;
    if (dt[0] == DT_BOOL)
        return IERR("CumSum is not defined for bool");
    if (xs->rank == 0)
        return IERR("CumSum of a scalar");
    if (!ir_norm_axis(n, &a->axis, xs->rank, false, "axis", d))
        return false;
    if (xs->d[a->axis] == DIM_BATCH)
        return IERR("CumSum along the batch dim; compile with a fixed batch (--batch N)");
    return true;
}

bool interp_cumsum(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    const Tensor *x = in[0];
    Tensor *y = out[0];
    (void)d;
    int64_t ax = n->a.axis, outer = 1, len = x->shape.d[ax], inner = 1;
    for (int i = 0; i < ax; i++)
        outer *= x->shape.d[i];
    for (int i = (int)ax + 1; i < x->shape.rank; i++)
        inner *= x->shape.d[i];
    bool fl = dtype_is_float(x->dtype);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            double sf = 0;
            uint64_t si = 0;
            for (int64_t jj = 0; jj < len; jj++) {
                int64_t j = n->a.reverse ? len - 1 - jj : jj, p = (o * len + j) * inner + i;
                if (n->a.exclusive) {
                    if (fl)
                        interp_stf(y, p, sf);
                    else
                        interp_stu(y, p, si);
                }
                if (fl)
                    sf += interp_ldf(x, p);
                else
                    si += interp_ldu(x, p);
                if (!n->a.exclusive) {
                    if (fl)
                        interp_stf(y, p, sf);
                    else
                        interp_stu(y, p, si);
                }
            }
        }
    return true;
}
